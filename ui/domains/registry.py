"""Builds the registry with every domain. Player and Streaming come from the playback package
and are registered when it is installed in this tree; the other eight always are.

The contract for the two playback modules: ``ui.domains.player`` defines ``PlayerDomain`` and may
define ``play_message(detail: DetailView, from_start: bool) -> DomainMessage`` (the detail
view's Play/Resume button posts what it returns); ``ui.domains.streaming`` defines
``StreamingDomain``. Both subclass :class:`~ui.domains.core.Domain` with a message base class
whose ``domain`` is ``DomainName.PLAYER`` / ``DomainName.STREAMING``, and keep any service of
their own in ``Services.extra``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from ui.domains.auth import AuthDomain
from ui.domains.core import Domain, DomainContext, DomainRegistry
from ui.domains.library import LibraryDomain
from ui.domains.media import MediaDomain
from ui.domains.metadata import MetadataDomain
from ui.domains.search import SearchDomain
from ui.domains.services import Services
from ui.domains.settings import SettingsDomain
from ui.domains.ui import UiDomain
from ui.domains.user_mgmt import UserMgmtDomain

log = logging.getLogger("ferrex.player.domains")
CORE_DOMAINS: tuple[Callable[[DomainContext], Domain], ...] = (
    AuthDomain, LibraryDomain, MediaDomain, MetadataDomain, SettingsDomain, UiDomain,
    UserMgmtDomain, SearchDomain,
)
# module, class: the playback domains (issue: playback) plug in here
PLAYBACK_DOMAINS = (("ui.domains.player", "PlayerDomain"),
                    ("ui.domains.streaming", "StreamingDomain"))


def playback_domains() -> list[Callable[[DomainContext], Domain]]:
    found: list[Callable[[DomainContext], Domain]] = []
    for module_name, class_name in PLAYBACK_DOMAINS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            log.info("%s not present; playback is unavailable", module_name)
            continue
        found.append(getattr(module, class_name))
    return found


def build_registry(services: Services) -> DomainRegistry:
    registry = DomainRegistry(services)
    for domain in (*CORE_DOMAINS, *playback_domains()):
        registry.register(domain)
    return registry
