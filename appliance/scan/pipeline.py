"""The five job types and their handlers, assembled for the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from appliance.metadata.enrich import MetadataSettings
from appliance.orchestration.dispatcher import Handler
from appliance.scan import folder_scan, image_fetch, index_upsert, metadata_enrich
from appliance.scan.walkers import Walkers


@dataclass(frozen=True)
class PipelineSettings:
    analyze: bool = True
    """Run ffprobe on new and changed files (off: faster scans, no technical info)."""
    image_providers: tuple[image_fetch.ImageProvider, ...] = ()
    """Where artwork comes from (the metadata issue adds local art and TMDB). With none,
    no ImageFetch jobs are queued: each would cost a claim and a commit for nothing."""
    metadata: MetadataSettings | None = None
    """NFO/local art (and TMDB) for indexed items, and the image cache; None: names only."""


def handlers(settings: PipelineSettings = PipelineSettings(),
             walkers: Walkers = folder_scan.IN_THREAD) -> dict[str, Handler]:
    """``walkers``: where FolderScan walks (worker processes once the caller opened them)."""
    providers = settings.image_providers
    if settings.metadata is not None and settings.metadata.images:
        from appliance.metadata import art

        providers = (art.make_provider(settings.metadata), *providers)
    table: dict[str, Handler] = {
        "folder_scan": partial(folder_scan.handle, analyze=settings.analyze,
                               metadata=settings.metadata is not None, images=bool(providers),
                               walkers=walkers),
        "metadata_enrich": partial(metadata_enrich.handle, metadata=settings.metadata),
        "index_upsert": partial(index_upsert.handle, images=bool(providers),
                                metadata=settings.metadata is not None),
        "image_fetch": image_fetch.make_handler(providers),
    }
    if settings.analyze:
        from appliance.scan import media_analyze

        table["media_analyze"] = media_analyze.handle
    return table
