"""HDR at the sink: what the negotiated caps carry, and the badge saying how it is shown.

The decoders keep 10-bit formats (P010_10LE, I420_10LE), ``colorimetry=bt2100-pq`` (or
``bt2100-hlg``) and the ``mastering-display-info``/``content-light-level`` caps fields. Which
route the picture takes to the screen (passthrough to an HDR-capable compositor, GPU tone
mapping to SDR, or a plain conversion) and why is decided in ``ui.playback.hdr_route``; the
badge and its tooltip here say it: ``HDR10 · passthrough``, ``HDR10 → SDR (tone mapped)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ui.playback.gst import Gst, GstVideo
from ui.playback.hdr_route import Decision, Route, decide, probe_facts


@dataclass(frozen=True)
class VideoCaps:
    format: str
    depth: int
    width: int
    height: int
    colorimetry: str
    mastering_display: str | None
    content_light: str | None

    @property
    def transfer(self) -> str:
        if "pq" in self.colorimetry or "smpte2084" in self.colorimetry:
            return "PQ"
        if "hlg" in self.colorimetry or "arib-std-b67" in self.colorimetry:
            return "HLG"
        return "SDR"

    @property
    def is_hdr(self) -> bool:
        return self.transfer != "SDR"


def video_caps(caps: Gst.Caps) -> VideoCaps | None:
    if caps is None or caps.get_size() == 0:
        return None
    info = GstVideo.VideoInfo.new_from_caps(caps)
    if info is None:
        return None
    s = caps.get_structure(0)
    depth = info.finfo.depth[0] if info.finfo is not None else 8
    return VideoCaps(
        format=s.get_string("format") or "",
        depth=int(depth),
        width=info.width,
        height=info.height,
        colorimetry=s.get_string("colorimetry") or "",
        mastering_display=s.get_string("mastering-display-info"),
        content_light=s.get_string("content-light-level"),
    )


@dataclass(frozen=True)
class HdrStatus:
    source: str
    """What the file is: ``SDR``, ``HDR10``, ``HLG``, ``DolbyVision`` (from the server)."""
    presented: bool
    """True: the sink gets (and can show) the HDR signal; False: SDR is shown."""
    badge: str
    """Text for the player's badge, e.g. ``HDR10 · passthrough`` or ``HDR10 → SDR (tone
    mapped)``; empty for SDR files. Short: the controls bar keeps it whole."""
    reason: str
    """Which route and why, for the badge's tooltip and the log: ``HDR10 → SDR (tone mapped:
    compositor has no colour management ...)``."""
    route: Route = Route.SDR


TONEMAP_DETAIL = (
    "tone-mapped to SDR BT.709 on the GPU (Hable curve, peak from the stream's MaxCLL or "
    "mastering display)"
)


def hdr_status(source_hdr: str | None, decision: Decision) -> HdrStatus:
    """The badge for ``decision`` (``hdr_route.decide``); the route is what was installed."""
    source = source_hdr or "SDR"
    route = decision.route
    if source == "SDR" or route is Route.SDR:
        return HdrStatus(source, False, "", "", Route.SDR)
    if route is Route.PASSTHROUGH:
        badge = f"{source} · passthrough"
        return HdrStatus(source, True, badge, f"{badge}: {decision.reason}", route)
    if route is Route.TONEMAP:
        return HdrStatus(
            source,
            False,
            f"{source} → SDR (tone mapped)",
            f"{source} → SDR (tone mapped: {decision.reason}); {TONEMAP_DETAIL}",
            route,
        )
    return HdrStatus(
        source,
        False,
        f"{source} → SDR",
        f"{source} → SDR (not tone mapped: {decision.reason})",
        route,
    )


def sink_presents_hdr(sink_factory: str) -> tuple[bool, str]:
    """Whether an HDR film would pass through ``sink_factory`` here, and why (the version
    choice asks this before anything plays)."""
    decision = decide("HDR10", probe_facts(sink_factory))
    return decision.passthrough, decision.reason
