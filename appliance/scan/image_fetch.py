"""ImageFetch: posters, backdrops and thumbnails for new items.

The job type, its queueing (P3, one job per indexed batch, behind all scanning work) and its
place in the pipeline exist here; finding and caching the images is the metadata issue's work
(local artwork, then TMDB). Until a provider is configured there is nothing to fetch, and the
job completes without doing anything, which is the truthful outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from appliance.metadata.providers import ImageProvider
from appliance.orchestration.dispatcher import JobContext

__all__ = ["ImageProvider", "make_handler"]


def make_handler(
    providers: Sequence[ImageProvider] = (),
) -> Callable[[JobContext], Awaitable[None]]:
    async def handle(ctx: JobContext) -> None:
        item_ids: list[str] = ctx.job.payload.get("item_ids", [])
        for provider in providers:
            await provider(ctx, item_ids)

    return handle
