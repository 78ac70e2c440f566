"""MetadataEnrich: what each file is (title, year, season, episodes…) from its name, and then
what each item is (NFO, TMDB).

Two stages behind one job type: ``{"file_ids": [...]}`` parses names before IndexUpsert (pure
CPU, a batch of files per job; FolderScan now parses new files itself, so only jobs queued by
earlier versions take this path); ``{"item_ids": [...]}`` runs the metadata providers on items that
IndexUpsert created (see :mod:`appliance.metadata.enrich`).
"""

from __future__ import annotations

import uuid
from typing import Any

from appliance.metadata import enrich
from appliance.metadata.enrich import MetadataSettings
from appliance.orchestration.dispatcher import JobContext
from appliance.scan.file_columns import parse_columns
from store import media_index, queue
from store.db import Connection
from store.paths import from_db
from store.queue import NewJob, Priority


async def handle(ctx: JobContext, metadata: MetadataSettings | None = None) -> None:
    job = ctx.job
    if "item_ids" in job.payload:
        if metadata is None:  # queued while metadata was on; nothing to do now
            await ctx.commit()
            return
        await enrich.handle_items(ctx, metadata)
        return
    file_ids = [uuid.UUID(i) for i in job.payload["file_ids"]]
    files = await media_index.files_by_id(ctx.db, file_ids)
    parsed_rows: list[tuple[uuid.UUID, dict[str, Any], str | None, int | None, str | None]] = []
    for row in files:
        columns = parse_columns(from_db(row["path"]), row["library_kind"], list(row["roots"]))
        parsed_rows.append((row["id"], *columns))

    async def write(conn: Connection) -> None:
        await media_index.save_parsed(conn, parsed_rows)
        if parsed_rows:
            await queue.enqueue(conn, [NewJob(
                "index_upsert", job.library_id,
                {"file_ids": [str(r[0]) for r in parsed_rows]},
                Priority(job.priority), scan_id=job.scan_id,
            )])

    await ctx.commit(write)
