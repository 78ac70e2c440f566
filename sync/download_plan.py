"""Which episodes "download the next N unwatched" means (issue 22, items 1 and 4), asked of the
server so its watch state decides (the replica may lag; the server has every device's plays).

The episodes of a season, or of a series (every season's, specials left out unless the season
asked for is the specials season), in running order (:func:`sync.episode_order.order_key`);
the first ``count`` the user has not completed. Not "after the last one watched": an episode
skipped earlier in the run is still unwatched and comes first, which is what someone who
takes "the next three" on a trip expects to find on the device.
"""

from __future__ import annotations

import uuid

from sync.connection import ServerConnection
from sync.episode_order import SPECIALS, order_key
from sync.media_types import ItemDetails, MediaItemOut


class NotAParent(ValueError):
    """``--next`` on a film or an episode: it has no episodes to choose from."""


async def episodes_of(connection: ServerConnection, parent_id: uuid.UUID) -> list[MediaItemOut]:
    """Every episode under a season or a series, in running order."""
    details = await connection.call("GET", f"/media/items/{parent_id}", ItemDetails)
    kind = details.item.kind
    if kind == "season":
        episodes = [c for c in details.children if c.kind == "episode"]
    elif kind == "series":
        episodes = []
        for season in details.children:
            if season.kind == "episode":  # a series with episodes straight below it
                episodes.append(season)
                continue
            if season.kind != "season" or season.season_number == SPECIALS:
                continue
            inner = await connection.call("GET", f"/media/items/{season.id}", ItemDetails)
            episodes.extend(c for c in inner.children if c.kind == "episode")
    else:
        raise NotAParent(f"a {kind} has no episodes: download it by its own id")
    return sorted(episodes, key=order_key)


def unwatched(episodes: list[MediaItemOut]) -> list[MediaItemOut]:
    return [e for e in episodes if e.watch is None or not e.watch.completed]


async def next_unwatched(
    connection: ServerConnection, parent_id: uuid.UUID, count: int
) -> list[MediaItemOut]:
    return unwatched(await episodes_of(connection, parent_id))[: max(0, count)]
