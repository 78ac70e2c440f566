"""Hand memory the player freed back to the system after a large release (leaving playback,
dropping a grid's atlases and decoded posters).

CPython and GStreamer free those buffers, but glibc keeps the emptied pages in its arenas, so the
player's RSS stays at its high-water mark for as long as it runs. One ``malloc_trim(0)`` returns
them (a few ms). The player may not import ``appliance/`` (where the server's periodic trim lives),
hence this small copy. Elsewhere than glibc there is nothing to call, and nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
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


def trim() -> bool:
    """Return free heap pages to the system now; True when something could be called."""
    call = _malloc_trim()
    if call is None:
        return False
    call(0)
    return True


M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas (``MALLOC_ARENA_MAX``). Each thread that allocates (decode
    workers, GStreamer's streaming threads, Mesa's rasteriser threads) otherwise gets its own
    arena of up to 64 MB, and what is freed there is kept there. Call once at start, before the
    threads; True when glibc took it."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, count))
