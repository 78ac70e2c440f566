"""Frame grabs follow analysis: an episode's thumbnail is grabbed once its duration is known.

ImageFetch grabs a frame at 30 % of an episode's duration, which MediaAnalyze measures. In a
first scan the metadata stage usually queues ImageFetch before the episode's analysis has run
(they run side by side), so the grab was skipped and thumbnails appeared only after a forced
rescan. Now the analysis that records a duration queues one ImageFetch for that episode when
the metadata stage has already been through it and no thumbnail exists; ImageFetch in turn
grabs nothing for an item that has a thumbnail by then, so the two paths never grab twice.
A film with no poster that TMDB did not describe is chained the same way: its poster is made
from a representative frame (:mod:`appliance.metadata.frame_poster`).
"""

from __future__ import annotations

import uuid

from store import frame_grabs, queue
from store.db import Connection
from store.queue import Job, NewJob, Priority


def frame_job(
    library_id: uuid.UUID | None, scan_id: uuid.UUID | None, item_id: uuid.UUID
) -> NewJob:
    return NewJob(
        "image_fetch",
        library_id,
        {"item_ids": [str(item_id)]},
        Priority.P3,
        f"image_fetch:frame:{item_id}",
        scan_id=scan_id,
    )


async def after_analysis(conn: Connection, job: Job, file_id: uuid.UUID) -> None:
    """In MediaAnalyze's transaction, after the analysis is saved."""
    item_id = await frame_grabs.wants_frame(conn, file_id)
    if item_id is not None:
        await queue.enqueue(conn, [frame_job(job.library_id, job.scan_id, item_id)])
