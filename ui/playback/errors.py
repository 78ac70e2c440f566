"""What went wrong, in words a user can act on: which Debian package brings a missing codec,
whether the network dropped (worth a retry at the same position) or the file is gone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ErrorKind = Literal["missing_codec", "network", "file_gone", "unauthorized", "other"]

# Caps name (and a distinguishing field) -> (what it is, the Debian package that decodes it).
# gstreamer1.0-libav wraps FFmpeg's decoders (avdec_h264, avdec_h265, avdec_ac3, avdec_aac ...).
_PACKAGES: list[tuple[str, str, str]] = [
    ("video/x-h264", "H.264 video", "gstreamer1.0-libav"),
    ("video/x-h265", "HEVC (H.265) video", "gstreamer1.0-libav"),
    ("video/x-av1", "AV1 video", "gstreamer1.0-libav"),
    ("video/x-vp9", "VP9 video", "gstreamer1.0-plugins-good"),
    ("video/x-vp8", "VP8 video", "gstreamer1.0-plugins-good"),
    ("video/mpeg", "MPEG video", "gstreamer1.0-libav"),
    ("audio/x-ac3", "Dolby Digital (AC-3) audio", "gstreamer1.0-libav"),
    ("audio/x-eac3", "Dolby Digital Plus (E-AC-3) audio", "gstreamer1.0-libav"),
    ("audio/x-dts", "DTS audio", "gstreamer1.0-libav"),
    ("audio/x-true-hd", "Dolby TrueHD audio", "gstreamer1.0-libav"),
    ("audio/mpeg", "AAC/MP3 audio", "gstreamer1.0-libav"),
    ("audio/x-flac", "FLAC audio", "gstreamer1.0-plugins-good"),
    ("audio/x-opus", "Opus audio", "gstreamer1.0-plugins-base"),
    ("audio/x-vorbis", "Vorbis audio", "gstreamer1.0-plugins-base"),
    ("subpicture/x-pgs", "PGS (Blu-ray) subtitles", "gstreamer1.0-plugins-bad"),
    ("subpicture/x-dvd", "DVD subtitles", "gstreamer1.0-plugins-bad"),
    ("video/x-matroska", "the Matroska container", "gstreamer1.0-plugins-good"),
    ("video/quicktime", "the MP4 container", "gstreamer1.0-plugins-good"),
    ("urisource-http", "HTTP streaming (souphttpsrc)", "gstreamer1.0-plugins-good"),
    ("urisource-https", "HTTPS streaming (souphttpsrc)", "gstreamer1.0-plugins-good"),
]


@dataclass(frozen=True)
class MissingPlugin:
    detail: str
    """GStreamer's installer detail, e.g. ``gstreamer|1.0|...|decoder-video/x-h265``."""
    description: str
    """GStreamer's own words, e.g. ``H.265 (Main 10 Profile) decoder``."""


@dataclass(frozen=True)
class PlaybackError:
    kind: ErrorKind
    message: str
    """One sentence for the user."""
    debug: str = ""
    """GStreamer's debug string, for the log."""
    package: str | None = None
    """For ``missing_codec``: ``apt install`` this."""

    @property
    def retryable(self) -> bool:
        return self.kind == "network"


def package_for(detail: str) -> tuple[str, str]:
    """(what, Debian package) for a missing-plugin detail or a caps string."""
    for prefix, what, package in _PACKAGES:
        if prefix in detail:
            return what, package
    return "this format", "gstreamer1.0-plugins-bad gstreamer1.0-libav"


def missing_codec(plugins: list[MissingPlugin], debug: str = "") -> PlaybackError:
    if plugins:
        what, package = package_for(plugins[0].detail)
        described = plugins[0].description
    else:
        what, package = package_for(debug)
        described = what
    return PlaybackError(
        "missing_codec",
        f"Cannot play {what}: no decoder is installed ({described}). "
        f"Install the Debian package {package} (sudo apt install {package}).",
        debug,
        package,
    )


_HTTP_STATUS = re.compile(
    r"\((\d{3})\)|status[ =:]+(\d{3})|\b(\d{3}) (?:Not Found|Gone|"
    r"Unauthorized|Forbidden)",
    re.IGNORECASE,
)


def http_status(text: str) -> int | None:
    """souphttpsrc puts the reason and code in its message/debug: ``Not Found (404), URL: ...``."""
    found = _HTTP_STATUS.search(text)
    if not found:
        return None
    return int(next(g for g in found.groups() if g))


def from_http_status(status: int, debug: str = "") -> PlaybackError | None:
    if status in (404, 410):
        return PlaybackError(
            "file_gone",
            "This file is no longer on the server (it was moved, "
            "renamed or deleted); rescan the library.",
            debug,
        )
    if status in (401, 403):
        return PlaybackError("unauthorized", "The server refused the stream: sign in again.", debug)
    if status == 503:
        return PlaybackError(
            "network",
            "The library's folder is offline on the server (an unmounted disk?); retrying.",
            debug,
        )
    if status >= 500:
        return PlaybackError("network", f"The server failed ({status}); retrying.", debug)
    return None
