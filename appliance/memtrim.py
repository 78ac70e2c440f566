"""Give memory the appliance freed back to the system, now and then.

A first scan builds and drops hundreds of thousands of small objects in the appliance process
(listings, rows, msgspec buffers) over several threads; CPython frees them, but glibc keeps the
emptied pages in its arenas, and the process stays 5-10 MB bigger (at 30k files) for as long
as it runs. On a 1-2 GB board that is worth one ``malloc_trim(0)`` a minute: it returns free
pages at the top of each arena and unused ones in the middle (a few ms, in a worker thread).
Elsewhere than glibc there is nothing to call, and nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

import trio

TRIM_SECONDS = 60.0


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


async def run(seconds: float = TRIM_SECONDS) -> None:
    """For the life of the appliance: trim every ``seconds`` (``memory.trim_seconds``; 0:
    never)."""
    trim = _malloc_trim()
    if trim is None or seconds <= 0:
        return
    while True:
        await trio.sleep(seconds)
        await trio.to_thread.run_sync(trim, 0)
