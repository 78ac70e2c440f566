"""The one ImageService of the GL views (library grid and home carousels), made on first use for
the current server and shared through a :class:`~ui.images.mux.DemandMux`, so every view's demand
plan reaches the same caches and the same workers."""

from __future__ import annotations

from ui.domains.core import DomainRegistry
from ui.images.mux import DemandMux
from ui.images.service import ImageService


class GridImages:
    def __init__(self, registry: DomainRegistry) -> None:
        self.registry = registry
        self.service: ImageService | None = None
        self.mux: DemandMux | None = None

    def get(self) -> tuple[ImageService, DemandMux] | None:
        """The service and its mux, or None before there is a server and a local store."""
        services = self.registry.services
        api, store = services.api, services.store
        if api is None or store is None:
            return None
        if self.service is None or self.mux is None or self.service.base_url != api.base_url:
            service = ImageService(
                api.base_url, lambda: api.access_token, store.directory / "grid-cache"
            )
            self.service, self.mux = service, DemandMux(service)
            self.registry.context.spawn(service.run, "poster images")
        return self.service, self.mux

    @property
    def pending(self) -> int:
        return self.service.pending if self.service is not None else 0
