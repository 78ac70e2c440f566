"""Builds the registry with every domain: the eight core ones and the two of playback.

The contract for the two playback modules: ``ui.domains.player`` defines ``PlayerDomain`` and
``play_message(detail: DetailView, from_start: bool) -> DomainMessage`` (the detail view's
Play/Resume button posts what it returns); ``ui.domains.streaming`` defines
``StreamingDomain``. Both subclass :class:`~ui.domains.core.Domain` with a message base class
whose ``domain`` is ``DomainName.PLAYER`` / ``DomainName.STREAMING``, and keep any service of
their own in ``Services.extra``. Playback is part of the player (GStreamer comes with the
``player`` extra), so both are imported like the others, not looked for at run time.
"""

from __future__ import annotations

from collections.abc import Callable

from ui.domains.auth import AuthDomain
from ui.domains.core import Domain, DomainContext, DomainRegistry
from ui.domains.library import LibraryDomain
from ui.domains.media import MediaDomain
from ui.domains.metadata import MetadataDomain
from ui.domains.player import PlayerDomain
from ui.domains.search import SearchDomain
from ui.domains.services import Services
from ui.domains.settings import SettingsDomain
from ui.domains.streaming import StreamingDomain
from ui.domains.ui import UiDomain
from ui.domains.user_mgmt import UserMgmtDomain

CORE_DOMAINS: tuple[Callable[[DomainContext], Domain], ...] = (
    AuthDomain,
    LibraryDomain,
    MediaDomain,
    MetadataDomain,
    SettingsDomain,
    UiDomain,
    UserMgmtDomain,
    SearchDomain,
)
PLAYBACK_DOMAINS: tuple[Callable[[DomainContext], Domain], ...] = (PlayerDomain, StreamingDomain)


def build_registry(services: Services) -> DomainRegistry:
    registry = DomainRegistry(services)
    for domain in (*CORE_DOMAINS, *PLAYBACK_DOMAINS):
        registry.register(domain)
    return registry
