"""The media API's SQL in one namespace (``from store import media_query as mq``), for the
routes and tests that use several parts; each part lives in the module of its job:

- :mod:`store.media_browse`: the media query (filters, sort keys, keyset pages, totals);
- :mod:`store.media_details`: an item, its children, files, people and images;
- :mod:`store.media_home`: continue watching, next up, recently added, the next episode;
- :mod:`store.watch_state`: progress and watched/unwatched writes;
- :mod:`store.media_stream`: the file to stream and a playback ticket's login.
"""

from __future__ import annotations

from store.media_browse import SORT_KEYS, Filters, count, query, query_visible
from store.media_details import children, item, item_files, item_images, item_people
from store.media_home import continue_watching, next_episode, next_up, recently_added
from store.media_stream import stream_file, ticket_login
from store.watch_state import get_state, playable_below, save_progress, set_state

__all__ = [
    "SORT_KEYS",
    "Filters",
    "children",
    "continue_watching",
    "count",
    "get_state",
    "item",
    "item_files",
    "item_images",
    "item_people",
    "next_episode",
    "next_up",
    "playable_below",
    "query",
    "query_visible",
    "recently_added",
    "save_progress",
    "set_state",
    "stream_file",
    "ticket_login",
]
