"""Which version of a film Play starts: the best one this player can decode.

A film may lie on the server as several files (``Film - 1080p.mkv``, ``Film - 2160p HDR.mkv``,
``Film - Director's Cut.mkv``). The rule, in order, kept simple so a user can predict it:

1. only files that are present and whose video this GStreamer can decode: a decoder element
   for the codec (H.264, HEVC, AV1, VP9 ...) is in the registry and, for 10-bit video, one
   that outputs a 10-bit format (software ``avdec_h265`` does, an 8-bit-only hardware
   decoder does not); a file not analysed yet counts as decodable (the server has not said);
2. SDR before HDR when the output cannot present HDR (``hdr.sink_presents_hdr``, i.e. no
   passthrough in ``hdr_route``: X11 sinks, waylandsink before GStreamer 1.28, a compositor
   without colour management, an SDR display): tone-mapping costs more than it gives, and an SDR
   master looks right; with an HDR-capable output HDR is not held back;
3. the highest resolution, then the largest file (higher bit rate), then the name.

Nothing decodable: the first present file, so the player's own error explains what is missing.
The user can always pick another version in the details view.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

CODEC_CAPS = {
    "h264": "video/x-h264",
    "hevc": "video/x-h265",
    "h265": "video/x-h265",
    "av1": "video/x-av1",
    "vp9": "video/x-vp9",
    "vp8": "video/x-vp8",
    "mpeg2video": "video/mpeg, mpegversion=(int)2, systemstream=(boolean)false",
    "mpeg4": "video/mpeg, mpegversion=(int)4, systemstream=(boolean)false",
    "vc1": "video/x-wmv, wmvversion=(int)3, format=(string)WVC1",
}
TEN_BIT = ("10LE", "10BE", "P010", "P012", "12LE")


class Version(Protocol):
    """What the choice reads of a file (``ui.domains.views.FileView``)."""

    @property
    def present(self) -> bool: ...
    @property
    def video_codec(self) -> str: ...
    @property
    def bit_depth(self) -> int | None: ...
    @property
    def height(self) -> int | None: ...
    @property
    def hdr(self) -> str | None: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class Decoders:
    """What this player can decode and show; ``probe()`` asks GStreamer's registry."""

    codecs: frozenset[str]
    """Codec names (as the server reports them) with a video decoder."""
    ten_bit: frozenset[str]
    """Of those, the ones with a decoder that outputs 10-bit frames."""
    hdr_output: bool = False

    def can_decode(self, codec: str, bit_depth: int | None) -> bool:
        if not codec:
            return True  # not analysed yet
        codec = codec.lower()
        if codec not in CODEC_CAPS:
            return codec in self.codecs
        if codec not in self.codecs:
            return False
        return (bit_depth or 8) <= 8 or codec in self.ten_bit


@functools.cache
def probe(sink_factory: str = "autovideosink") -> Decoders:
    """The registry's video decoders (once per process: the registry does not change)."""
    from ui.playback.gst import Gst
    from ui.playback.hdr import sink_presents_hdr

    decoders = Gst.ElementFactory.list_get_elements(
        Gst.ELEMENT_FACTORY_TYPE_DECODER | Gst.ELEMENT_FACTORY_TYPE_MEDIA_VIDEO, Gst.Rank.MARGINAL
    )
    codecs, ten = set(), set()
    for codec, caps in CODEC_CAPS.items():
        found = Gst.ElementFactory.list_filter(
            decoders, Gst.Caps.from_string(caps), Gst.PadDirection.SINK, False
        )
        if not found:
            continue
        codecs.add(codec)
        for factory in found:
            outputs = [
                t.get_caps().to_string()
                for t in factory.get_static_pad_templates()
                if t.direction == Gst.PadDirection.SRC
            ]
            if any(mark in o for o in outputs for mark in TEN_BIT) or "ANY" in outputs:
                ten.add(codec)
                break
    return Decoders(frozenset(codecs), frozenset(ten), sink_presents_hdr(sink_factory)[0])


def available() -> Decoders:
    """``probe()``, or every codec allowed when GStreamer cannot be asked (a build without
    playback still lists the versions; the server's first choice is then kept)."""
    try:
        from ui.playback.hdr_route import window_sink

        return probe(window_sink())
    except (ImportError, ValueError, AttributeError):
        return Decoders(frozenset(CODEC_CAPS), frozenset(CODEC_CAPS), False)


def best(files: Sequence[Version], decoders: Decoders) -> Version | None:
    """The version Play starts (see the module's docstring for the rule)."""
    present = [f for f in files if f.present]
    playable = [f for f in present if decoders.can_decode(f.video_codec, f.bit_depth)]
    if not playable:
        return present[0] if present else None

    def rank(f: Version) -> tuple[int, int, int, str]:
        sdr_first = 0 if decoders.hdr_output or not f.hdr else 1
        return (sdr_first, -(f.height or 0), -f.size_bytes, f.name)

    return min(playable, key=rank)


def label(f: Version, resolution: str, edition: str = "") -> str:
    """One line per version: ``1080p · HEVC 10-bit · HDR10 · Director's Cut · 4.2 GB``."""
    codec = f.video_codec.upper() + (f" {f.bit_depth}-bit" if (f.bit_depth or 8) > 8 else "")
    size = (
        f"{f.size_bytes / 1e9:.1f} GB"
        if f.size_bytes >= 1e8
        else f"{f.size_bytes / 1e6:.1f} MB"
        if f.size_bytes >= 1e5
        else f"{f.size_bytes / 1e3:.0f} KB"
    )
    parts = [resolution, codec, f.hdr or "SDR", edition, size]
    return " · ".join(p for p in parts if p)
