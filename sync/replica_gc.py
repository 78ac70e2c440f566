"""The cyclic garbage collector paused while a snapshot is prepared and applied.

A 30k-item snapshot allocates millions of containers that all stay alive until the write
transaction commits (prepared items, sort keys, index lists); every collection then walks all
of them again for nothing, which was a quarter of the CPU time of preparing and of applying
(bench/README.md, replica). Nothing those steps allocate forms a reference cycle, and reference
counting frees everything as usual; cycles created elsewhere meanwhile are collected when the
last pause ends. Pauses nest and may overlap across threads (the client prepares in one thread
and applies in another): the collector runs again only after the last one, and only if it was
running before the first.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
