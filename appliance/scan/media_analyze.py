"""MediaAnalyze: technical facts of one file (container, codecs, HDR, tracks, subtitles).

A broken, truncated or non-media file is a fact about the file, not a failure of the job: the
error is recorded on the file (shown to the user) and the job completes, so the scan goes on and
the file is not retried forever. Only infrastructure trouble (Postgres down) retries.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec

from appliance.orchestration.dispatcher import JobContext
from appliance.scan import frame_chain
from appliance.scan.analyze import AnalysisFailed
from appliance.scan.analyzers import Analyzers
from store import media_index, scans
from store.db import Connection
from store.paths import from_db


async def handle(ctx: JobContext, *, analyzers: Analyzers, frames: bool = False) -> None:
    """``analyzers``: the worker processes that read the file (libav; a crash there fails
    only this file). ``frames``: ImageFetch grabs episode thumbnails, so a duration now
    known may queue one (:mod:`appliance.scan.frame_chain`)."""
    file_id = uuid.UUID(ctx.job.payload["file_id"])
    stored = await media_index.file_for_analysis(ctx.db, file_id)
    if stored is None:
        await ctx.commit()  # gone since it was queued
        return
    path = Path(from_db(stored))
    info_json: str | None = None
    error: str | None = None
    try:
        info = await analyzers.analyze(path)  # includes sidecar subtitles
        info_json = msgspec.json.encode(info).decode("utf-8", "replace")
    except AnalysisFailed as exc:
        error = f"{exc.error.code}: {exc.error.reason}"

    async def write(conn: Connection) -> None:
        await media_index.save_analysis(conn, file_id, info_json, error)
        if error is not None and ctx.job.scan_id is not None:
            await scans.add_progress(conn, ctx.job.scan_id, 0, 0, 1)  # the scan's error count
        if frames and info_json is not None:
            await frame_chain.after_analysis(conn, ctx.job, file_id)

    await ctx.commit(write)
