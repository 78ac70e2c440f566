"""MetadataEnrich: what each item is (NFO, TMDB), for the items a scan created or that nothing
described yet (see :mod:`appliance.metadata.enrich`).

FolderScan parses file names itself, so the job has one payload, ``{"item_ids": [...]}``. (The
``{"file_ids": [...]}`` name-parsing stage of 0.1.0 is gone; migration 0014 deletes such jobs.)
"""

from __future__ import annotations

from appliance.metadata import enrich
from appliance.metadata.enrich import MetadataSettings
from appliance.orchestration.dispatcher import JobContext


async def handle(
    ctx: JobContext, metadata: MetadataSettings | None = None, frames: bool = False
) -> None:
    """``frames``: media analysis runs, so episodes may get a frame grab as their thumbnail."""
    if metadata is None:  # queued while metadata was on; nothing to do now
        await ctx.commit()
        return
    await enrich.handle_items(ctx, metadata, frames=frames)
