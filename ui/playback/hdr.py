"""HDR at the sink: what the negotiated caps carry, and whether the output can present it.

The decoders keep 10-bit formats (P010_10LE, I420_10LE), ``colorimetry=bt2100-pq`` (or
``bt2100-hlg``) and the ``mastering-display-info``/``content-light-level`` caps fields. A sink
that can show HDR gets them unchanged, with no tone mapping. One that cannot (X11 sinks, and
waylandsink before GStreamer 1.26, which has no Wayland colour-management support and so shows
everything as sRGB) gets the picture tone-mapped to SDR on the GPU (``ui.playback.tonemap``,
``HDR10 → SDR (tone-mapped)``), or converted flat where GL is missing, and the badge says which.
"""

from __future__ import annotations

from dataclasses import dataclass

from ui.playback.gst import Gst, GstVideo

# Sinks that present HDR signals given the right caps: none in GStreamer 1.22. waylandsink
# gained wp_color_management_v1 (colorimetry + mastering display to the compositor) in 1.26.
_HDR_SINKS: dict[str, tuple[int, int]] = {"waylandsink": (1, 26)}
# Consumers of raw frames that take any caps unchanged (tests, frame grabbers, encoders).
_PASSTHROUGH_SINKS = {"appsink", "fakesink", "fakevideosink"}


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
    """Text for the player's badge, e.g. ``HDR10`` or ``HDR10 → SDR``; empty for SDR files."""
    reason: str
    """Why, for the badge's tooltip."""


def sink_presents_hdr(sink_factory: str) -> tuple[bool, str]:
    if sink_factory in _PASSTHROUGH_SINKS:
        return True, f"{sink_factory} receives the decoder's HDR frames unchanged"
    needed = _HDR_SINKS.get(sink_factory)
    major, minor, _micro, _nano = Gst.version()
    if needed is not None and (major, minor) >= needed:
        return True, f"{sink_factory} passes colorimetry and mastering data to the compositor"
    if needed is not None:
        return False, (
            f"{sink_factory} in GStreamer {major}.{minor} has no Wayland colour "
            f"management (needs {needed[0]}.{needed[1]})"
        )
    return False, f"{sink_factory} shows 8-bit SDR only"


def hdr_status(
    source_hdr: str | None, sink_factory: str, *, tone_mapped: bool = False
) -> HdrStatus:
    """``tone_mapped``: the GL tone-mapping filter (``ui.playback.tonemap``) is in the path."""
    source = source_hdr or "SDR"
    if source == "SDR":
        return HdrStatus(source, False, "", "")
    presented, reason = sink_presents_hdr(sink_factory)
    if presented:
        return HdrStatus(source, True, source, reason)
    if tone_mapped:
        return HdrStatus(
            source,
            False,
            f"{source} → SDR (tone-mapped)",
            reason
            + (
                "; tone-mapped to SDR BT.709 on the GPU (Hable curve, peak from the stream's "
                "MaxCLL or mastering display)"
            ),
        )
    return HdrStatus(
        source,
        False,
        f"{source} → SDR",
        reason + "; the picture is converted to SDR without tone mapping",
    )
