"""GL views give their memory back while they are off screen (issue 18, item 5).

A hidden library grid or home row keeps its atlases (10-70 MB of textures, which a software GL
driver such as Mesa's llvmpipe keeps in the player's own memory) and the image service its
decoded posters, so that coming back from a card's details is instant. Two things end that:

* playback starts (:func:`release_offscreen`, called by the app on ``PlayerStarted``): the
  decoder's frames and libav are the largest thing the player ever holds, so what is not on
  screen goes first, then the emptied heap pages are handed back to the system
  (``ui.memtrim``);
* a view stays hidden for :data:`HIDDEN_RELEASE_S` (another screen left open): that view's
  atlases go (``PosterGrid`` arms the timer on its hide event).

A released view makes its atlases again on its next draw, its posters from the image caches
(decoded again from the disk cache when the memory one was emptied), drawn at once without a
second fade-in. Views and caches register themselves here weakly; nothing here knows Qt.
"""

from __future__ import annotations

import gc
import weakref
from typing import Protocol

from ui import memtrim

HIDDEN_RELEASE_S = 60.0


class OffscreenView(Protocol):
    def is_shown(self) -> bool:
        """True while the view is on screen (then it keeps its memory)."""

    def release_gpu(self) -> bool:
        """Drop the view's atlases and pending decoded posters; True if there were any."""


class DecodedCache(Protocol):
    def release_memory(self) -> int:
        """Drop every decoded image held in memory; returns the bytes dropped."""


_views: weakref.WeakSet[OffscreenView] = weakref.WeakSet()
_caches: weakref.WeakSet[DecodedCache] = weakref.WeakSet()


def track_view(view: OffscreenView) -> None:
    _views.add(view)


def track_cache(cache: DecodedCache) -> None:
    _caches.add(cache)


def release_offscreen(trim: bool = True) -> int:
    """Release every registered view that is not on screen and, when none is on screen, the
    decoded posters of every registered cache; then a full collection (what the released GL
    objects left in reference cycles) and ``malloc_trim``. Returns the number of views
    released."""
    views = list(_views)
    released = sum(1 for view in views if not view.is_shown() and view.release_gpu())
    if not any(view.is_shown() for view in views):
        for cache in list(_caches):
            cache.release_memory()
    gc.collect()
    if trim:
        memtrim.trim()
    return released
