"""What the appliance knows about a media file's streams, shared with the player (msgspec).

The MediaAnalyze job fills these from ffprobe (``appliance.scan.analyze``) and stores them on the
item; the player shows them as tech info and an HDR badge. Field names are part of the wire
format: add fields, never rename them. Every field is keyword-only and optional (``None`` =
not reported by the file), so older stored documents keep decoding.

Conventions: languages are ISO 639-2/B codes (``eng``, ``ger``; see ``sync.languages``), with the
tag as found kept in ``language_tag``; codec names are ffprobe's (``h264``, ``hevc``, ``aac``,
``subrip``, ``ass``, ``webvtt``, ``mov_text``, ``hdmv_pgs_subtitle``); durations are seconds,
bitrates bits per second.
"""

from __future__ import annotations

from typing import Literal

import msgspec

HdrFormat = Literal["SDR", "HDR10", "HDR10+", "HLG", "DolbyVision"]
"""``DolbyVision`` wins over the others when a DOVI configuration record is present; ``HDR10+``
means PQ with SMPTE 2094-40 dynamic metadata; ``HDR10`` is PQ (SMPTE 2084) transfer; ``HLG`` is
ARIB STD-B67 transfer; anything else is ``SDR``."""

AnalysisErrorCode = Literal[
    "not_found",  # the path vanished between the walk and the analysis
    "not_a_file",  # a directory, FIFO, socket or device: never handed to ffprobe
    "unreadable",  # permission denied
    "empty_file",  # 0 bytes
    "invalid_data",  # ffprobe could not open it: not media, or truncated before the headers
    "truncated",  # the headers are there but the file ends before the video can be decoded
    "no_streams",  # ffprobe opened it but found neither video nor audio
    "timeout",  # ffprobe ran past the deadline and was killed
    "ffprobe_missing",  # a problem of the machine, not of the file: retry after installing
    "ffprobe_failed",  # anything else ffprobe reported (exit status, unparsable output)
    "analysis_failed",  # anything else libav reported (the in-process analysis)
    "crashed",  # the analysis worker process died on this file, twice (a demuxer crash)
]


class MasteringDisplay(msgspec.Struct, kw_only=True):
    """SMPTE ST 2086 mastering display colour volume: CIE 1931 xy and cd/m²."""

    red_x: float | None = None
    red_y: float | None = None
    green_x: float | None = None
    green_y: float | None = None
    blue_x: float | None = None
    blue_y: float | None = None
    white_point_x: float | None = None
    white_point_y: float | None = None
    min_luminance: float | None = None
    max_luminance: float | None = None


class ContentLight(msgspec.Struct, kw_only=True):
    """CTA-861.3 content light level, cd/m²."""

    max_cll: int | None = None
    """Maximum content light level (brightest pixel)."""
    max_fall: int | None = None
    """Maximum frame-average light level."""


class DolbyVision(msgspec.Struct, kw_only=True):
    """The stream's DOVI configuration record (``dvcC``/``dvvC``, Matroska block addition)."""

    profile: int | None = None
    """5 (IPT, no fallback), 7 (dual layer), 8 (single layer with a fallback), 9 (AVC)..."""
    level: int | None = None
    rpu_present: bool | None = None
    el_present: bool | None = None
    bl_present: bool | None = None
    bl_compat_id: int | None = None
    """Base-layer compatibility: 0 none, 1 HDR10, 2 SDR, 4 HLG, 6 Blu-ray HDR10."""


class VideoTrack(msgspec.Struct, kw_only=True):
    index: int | None = None
    """Stream index in the container (``ffmpeg -map 0:INDEX``)."""
    codec: str | None = None
    profile: str | None = None
    level: int | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
    """Average frame rate, frames per second (23.976 for 24000/1001)."""
    bit_depth: int | None = None
    pix_fmt: str | None = None
    color_range: str | None = None
    color_primaries: str | None = None
    color_transfer: str | None = None
    color_space: str | None = None
    hdr: HdrFormat | None = None
    hdr_fallback: HdrFormat | None = None
    """For Dolby Vision: what a player without DV shows (the base layer); else None."""
    mastering_display: MasteringDisplay | None = None
    content_light: ContentLight | None = None
    dolby_vision: DolbyVision | None = None
    bitrate: int | None = None
    language: str | None = None
    title: str | None = None
    default: bool | None = None


class AudioTrack(msgspec.Struct, kw_only=True):
    index: int | None = None
    codec: str | None = None
    profile: str | None = None
    channels: int | None = None
    channel_layout: str | None = None
    sample_rate: int | None = None
    bitrate: int | None = None
    language: str | None = None
    """ISO 639-2/B, None when undetermined."""
    language_tag: str | None = None
    """The tag as found in the file (``deu``, ``en-US``), for display and debugging."""
    title: str | None = None
    default: bool | None = None
    forced: bool | None = None
    commentary: bool | None = None
    visual_impaired: bool | None = None


class SubtitleTrack(msgspec.Struct, kw_only=True):
    index: int | None = None
    """Stream index for embedded tracks; None for sidecar files."""
    path: str | None = None
    """Sidecar file path, as stored on the appliance; the API never sends it (None), it sends
    ``url`` instead."""
    url: str | None = None
    """For sidecar files, in API answers: where the player fetches it
    (``/api/v1/stream/{file_id}/subtitles/{n}``, relative to the server); None otherwise."""
    codec: str | None = None
    """ffprobe's name for embedded tracks; for sidecars the same names by file extension
    (``.srt`` subrip, ``.ass``/``.ssa`` ass, ``.vtt`` webvtt)."""
    language: str | None = None
    language_tag: str | None = None
    title: str | None = None
    default: bool | None = None
    forced: bool | None = None
    hearing_impaired: bool | None = None
    external: bool = False


class Chapter(msgspec.Struct, kw_only=True):
    start_s: float | None = None
    end_s: float | None = None
    title: str | None = None


class MediaInfo(msgspec.Struct, kw_only=True):
    container: str | None = None
    """ffprobe's demuxer name, e.g. ``matroska,webm`` or ``mov,mp4,m4a,3gp,3g2,mj2``."""
    duration_s: float | None = None
    bitrate: int | None = None
    size_bytes: int | None = None
    title: str | None = None
    video: VideoTrack | None = None
    """The main video stream (the first one that is not cover art); None for audio files."""
    audio: list[AudioTrack] = []
    subtitles: list[SubtitleTrack] = []
    """Embedded tracks first, in stream order, then sidecar files."""
    chapters: list[Chapter] = []
    warnings: list[str] = []
    """What ffprobe complained about while still producing a result (a damaged tail, say)."""


class AnalysisError(msgspec.Struct, kw_only=True):
    """Recorded on the item when analysis fails; the scan goes on."""

    path: str | None = None
    code: AnalysisErrorCode | None = None
    reason: str | None = None
    """One line for a human: what went wrong and, where there is one, what to do."""
