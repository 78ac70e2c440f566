"""The four job types and their handlers, assembled for the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from appliance.metadata.enrich import MetadataSettings
from appliance.orchestration.dispatcher import Handler
from appliance.scan import folder_scan, image_fetch, metadata_enrich
from appliance.scan.analyzers import Analyzers
from appliance.scan.walkers import Walkers


@dataclass(frozen=True)
class PipelineSettings:
    analyze: bool = True
    """Run ffprobe on new and changed files (off: faster scans, no technical info)."""
    metadata: MetadataSettings | None = None
    """NFO/local art (and TMDB) for indexed items, and the image cache; None: names only.
    Artwork comes only from here: without it no ImageFetch jobs are queued (each would cost a
    claim and a commit for nothing)."""


def handlers(
    settings: PipelineSettings = PipelineSettings(),
    walkers: Walkers = folder_scan.IN_THREAD,
    analyzers: Analyzers | None = None,
) -> dict[str, Handler]:
    """``walkers``: where FolderScan walks (worker processes once the caller opened them);
    ``analyzers``: where MediaAnalyze reads files (default: one worker process)."""
    providers: tuple[image_fetch.ImageProvider, ...] = ()
    if settings.metadata is not None and settings.metadata.images:
        from appliance.metadata import art

        providers = (art.make_provider(settings.metadata),)
    table: dict[str, Handler] = {
        "folder_scan": partial(
            folder_scan.handle,
            analyze=settings.analyze,
            metadata=settings.metadata is not None,
            remote=settings.metadata is not None and settings.metadata.tmdb is not None,
            images=bool(providers),
            walkers=walkers,
        ),
        "metadata_enrich": partial(
            metadata_enrich.handle, metadata=settings.metadata, frames=settings.analyze
        ),
        "image_fetch": image_fetch.make_handler(providers),
    }
    if settings.analyze:
        from appliance.scan import media_analyze

        table["media_analyze"] = partial(
            media_analyze.handle,
            analyzers=analyzers or Analyzers(),
            frames=bool(providers)
            and settings.metadata is not None
            and settings.metadata.frame_grabs,
        )
    return table
