"""One ImageService shared by several views on screen at once (the home carousels).

The service keeps a single wanted set, replaced on every ``set_demand``; views that each replaced
it would cancel one another's work. Each view gets a :class:`DemandChannel` instead: the mux hands
the service the union of the channels' plans (best priority per image, Visible > Preload >
Background) and routes decoded posters to every channel that asked for them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from ui.images.types import PosterProvider, PosterRequest, ReadyPoster


class DemandMux:
    def __init__(self, service: PosterProvider) -> None:
        self.service = service
        self.channels: list[DemandChannel] = []

    def channel(self) -> DemandChannel:
        channel = DemandChannel(self)
        self.channels.append(channel)
        return channel

    def remove(self, channel: DemandChannel) -> None:
        if channel in self.channels:
            self.channels.remove(channel)
            self.update()

    def update(self) -> None:
        merged: dict[str, PosterRequest] = {}
        for channel in self.channels:
            for request in channel.wanted:
                best = merged.get(request.image_id)
                if best is None or request.priority < best.priority:
                    merged[request.image_id] = request
        # stable sort: within a priority the channels' own plan order is kept
        self.service.set_demand(sorted(merged.values(), key=lambda r: r.priority))

    def pump(self) -> None:
        for ready in self.service.take_ready(1 << 16):
            for channel in self.channels:
                if ready.image_id in channel.wanted_ids:
                    channel.ready[ready.image_id] = ready


class DemandChannel:
    """A PosterProvider for one view, fed through the mux."""

    def __init__(self, mux: DemandMux) -> None:
        self.mux = mux
        self.wanted: list[PosterRequest] = []
        self.wanted_ids: set[str] = set()
        self.ready: OrderedDict[str, ReadyPoster] = OrderedDict()

    def set_demand(self, wanted: Sequence[PosterRequest]) -> None:
        self.wanted = list(wanted)
        self.wanted_ids = {r.image_id for r in self.wanted}
        for image_id in list(self.ready):
            if image_id not in self.wanted_ids:
                del self.ready[image_id]
        self.mux.update()

    def take_ready(self, limit: int) -> list[ReadyPoster]:
        self.mux.pump()
        out: list[ReadyPoster] = []
        while self.ready and len(out) < limit:
            out.append(self.ready.popitem(last=False)[1])
        return out
