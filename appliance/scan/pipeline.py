"""The five job types and their handlers, assembled for the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from appliance.orchestration.dispatcher import Handler
from appliance.scan import folder_scan, image_fetch, index_upsert, metadata_enrich


@dataclass(frozen=True)
class PipelineSettings:
    analyze: bool = True
    """Run ffprobe on new and changed files (off: faster scans, no technical info)."""


def handlers(settings: PipelineSettings = PipelineSettings()) -> dict[str, Handler]:
    table: dict[str, Handler] = {
        "folder_scan": partial(folder_scan.handle, analyze=settings.analyze),
        "metadata_enrich": metadata_enrich.handle,
        "index_upsert": index_upsert.handle,
        "image_fetch": image_fetch.make_handler(),
    }
    if settings.analyze:
        from appliance.scan import media_analyze

        table["media_analyze"] = media_analyze.handle
    return table
