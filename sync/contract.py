"""Rules the appliance and the player must apply alike, kept once here (both sides import sync/).

A value copied into each side drifts: the player would show an episode as watched that the
server keeps in progress, or ask for image widths the server has no cached variant of. The
next-episode rule has its own module, :mod:`sync.episode_order`.
"""

from __future__ import annotations

COMPLETED_FRACTION = 0.95
"""Playback progress at or past this share of the duration marks an item watched."""


def reaches_completion(position_s: float, duration_s: float | None) -> bool:
    """Whether a position counts as "watched to the end" (the player may also say so itself,
    e.g. when playback reached the credits; that is the caller's ``or``)."""
    return duration_s is not None and position_s >= COMPLETED_FRACTION * duration_s


IMAGE_WIDTHS: tuple[int, ...] = (92, 154, 185, 300, 342, 500, 780, 1280, 1920)
"""The image variant widths the appliance renders and caches (TMDB's sizes). A client asking
for one of these is answered from the variant cache instead of making the server render a new
size; the server rounds any other ``?w=`` up to the next of these."""


def standard_image_width(width: int) -> int:
    """The narrowest standard width at least ``width`` wide (the widest for anything wider)."""
    for standard in IMAGE_WIDTHS:
        if standard >= width:
            return standard
    return IMAGE_WIDTHS[-1]
