"""ffprobe's JSON → ``sync.media_info.MediaInfo``: pure functions, no processes, no I/O.

Kept apart from the process handling in ``analyze`` so every quirk of ffprobe's output
(strings for numbers, ``0/0`` frame rates, tags in any case, Matroska's ``DURATION``/``BPS``
tags) is tested on plain dicts, and HDR formats no encoder here can produce (Dolby Vision,
HDR10+) are tested on the JSON ffprobe prints for them.

HDR detection, in order:

1. a ``DOVI configuration record`` in the stream's side data (MP4 ``dvcC``/``dvvC``, Matroska
   block addition mapping), or Dolby Vision RPU side data on the first frame → ``DolbyVision``,
   with ``hdr_fallback`` from the base-layer compatibility id;
2. ``color_transfer`` ``smpte2084`` (PQ) → ``HDR10``, or ``HDR10+`` when the first frame carries
   SMPTE 2094-40 dynamic metadata;
3. ``color_transfer`` ``arib-std-b67`` → ``HLG``;
4. otherwise ``SDR``.

Mastering display and content light metadata come from the stream's side data when the
container stores them (Matroska ``MasteringMetadata``, MP4 ``mdcv``/``clli``) and otherwise from
the first frame's side data (the HEVC SEI messages), which is why ``analyze`` decodes one frame
of PQ streams.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from sync.languages import normalize_language
from sync.media_info import (
    AudioTrack,
    Chapter,
    ContentLight,
    DolbyVision,
    HdrFormat,
    MasteringDisplay,
    MediaInfo,
    SubtitleTrack,
    VideoTrack,
)

Json = dict[str, Any]

PQ = "smpte2084"
HLG = "arib-std-b67"
MASTERING = "Mastering display metadata"
CONTENT_LIGHT = "Content light level metadata"
DOVI_CONFIG = "DOVI configuration record"
DOVI_FRAME = frozenset({"Dolby Vision RPU Data", "Dolby Vision Metadata"})
HDR10_PLUS = "HDR Dynamic Metadata SMPTE2094-40 (HDR10+)"

_DOVI_FALLBACK: dict[int, HdrFormat] = {1: "HDR10", 2: "SDR", 4: "HLG", 6: "HDR10"}
_PIX_FMT_DEPTH = re.compile(r"p0?(\d{1,2})(?:le|be)$")
_CLOCK = re.compile(r"^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$")


# --- scalar helpers: ffprobe prints many numbers as strings, and "N/A" where unknown ---


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            if "/" in value:
                num, den = value.split("/", 1)
                return float(num) / float(den) if float(den) else None
            return float(value)
        except ValueError:
            return None
    return None


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value.strip() and value != "unknown":
        return value
    return None


def _tag(stream: Json, name: str) -> str | None:
    """A tag, whatever its case (Matroska writers differ: ``title``, ``TITLE``)."""
    tags = stream.get("tags")
    if not isinstance(tags, dict):
        return None
    for key, value in tags.items():
        if isinstance(key, str) and key.lower() == name:
            return _str(value)
    return None


def _flag(stream: Json, name: str) -> bool:
    disposition = stream.get("disposition")
    return isinstance(disposition, dict) and disposition.get(name) == 1


def _clock(text: str | None) -> float | None:
    """Matroska's ``DURATION`` tag, ``00:01:02.500000000`` → 62.5."""
    match = _CLOCK.match(text or "")
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def frame_rate(stream: Json) -> float | None:
    """``avg_frame_rate``, falling back to ``r_frame_rate``; ``0/0`` means unknown."""
    for key in ("avg_frame_rate", "r_frame_rate"):
        value = stream.get(key)
        if isinstance(value, str) and "/" in value:
            num, _, den = value.partition("/")
            if num.isdigit() and den.isdigit() and int(num) and int(den):
                return round(float(Fraction(int(num), int(den))), 3)
    return None


def bit_depth(stream: Json) -> int | None:
    """``bits_per_raw_sample`` where the decoder reports it (H.264), else from the pixel format
    (``yuv420p10le`` → 10, ``p010le`` → 10, ``yuv420p`` → 8)."""
    raw = _int(stream.get("bits_per_raw_sample"))
    if raw:
        return raw
    pix_fmt = _str(stream.get("pix_fmt"))
    if pix_fmt is None:
        return None
    match = _PIX_FMT_DEPTH.search(pix_fmt)
    if match:
        return int(match.group(1))
    if pix_fmt.startswith(("yuv", "yuvj", "nv", "gray")) or pix_fmt in {"rgb24", "bgr24"}:
        return 8
    return None


def _bitrate(stream: Json) -> int | None:
    """``bit_rate`` (MP4), else Matroska's ``BPS`` statistics tag (mkvmerge writes it)."""
    return (
        _int(stream.get("bit_rate")) or _int(_tag(stream, "bps")) or _int(_tag(stream, "bps-eng"))
    )


# --- side data ---


def _side_data(entries: Any) -> dict[str, Json]:
    """``side_data_list`` by type; the first of each type wins."""
    found: dict[str, Json] = {}
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("side_data_type"), str):
                found.setdefault(entry["side_data_type"], entry)
    return found


def _mastering(entry: Json | None) -> MasteringDisplay | None:
    if entry is None:
        return None
    keys = (
        "red_x",
        "red_y",
        "green_x",
        "green_y",
        "blue_x",
        "blue_y",
        "white_point_x",
        "white_point_y",
        "min_luminance",
        "max_luminance",
    )
    values = {key: _float(entry.get(key)) for key in keys}
    if all(value is None for value in values.values()):
        return None
    return MasteringDisplay(**values)


def _content_light(entry: Json | None) -> ContentLight | None:
    if entry is None:
        return None
    cll = ContentLight(
        max_cll=_int(entry.get("max_content")), max_fall=_int(entry.get("max_average"))
    )
    return None if cll.max_cll is None and cll.max_fall is None else cll


def _dovi(entry: Json | None) -> DolbyVision | None:
    if entry is None:
        return None

    def flag(key: str) -> bool | None:
        value = _int(entry.get(key))
        return None if value is None else bool(value)

    return DolbyVision(
        profile=_int(entry.get("dv_profile")),
        level=_int(entry.get("dv_level")),
        rpu_present=flag("rpu_present_flag"),
        el_present=flag("el_present_flag"),
        bl_present=flag("bl_present_flag"),
        bl_compat_id=_int(entry.get("dv_bl_signal_compatibility_id")),
    )


def _transfer_format(transfer: str | None, dynamic: bool) -> HdrFormat:
    if transfer == PQ:
        return "HDR10+" if dynamic else "HDR10"
    if transfer == HLG:
        return "HLG"
    return "SDR"


def hdr_format(
    stream: Json, frame: Json | None = None
) -> tuple[HdrFormat, HdrFormat | None, DolbyVision | None]:
    """(format, fallback for Dolby Vision, DOVI config) of a video stream and its first frame."""
    stream_side = _side_data(stream.get("side_data_list"))
    frame_side = _side_data((frame or {}).get("side_data_list"))
    transfer = _str(stream.get("color_transfer")) or _str((frame or {}).get("color_transfer"))
    dynamic = HDR10_PLUS in frame_side or HDR10_PLUS in stream_side
    base = _transfer_format(transfer, dynamic)
    dovi = _dovi(stream_side.get(DOVI_CONFIG))
    if dovi is not None and dovi.rpu_present is not False:
        fallback = _DOVI_FALLBACK.get(dovi.bl_compat_id or 0)
        if fallback == "HDR10" and dynamic:
            fallback = "HDR10+"
        return "DolbyVision", fallback, dovi
    if DOVI_FRAME & frame_side.keys():
        return "DolbyVision", base, dovi
    return base, None, dovi


# --- streams ---


def main_video_stream(streams: list[Json]) -> Json | None:
    """The first video stream that is not cover art (``attached_pic``)."""
    for stream in streams:
        if stream.get("codec_type") == "video" and not _flag(stream, "attached_pic"):
            return stream
    return None


def needs_frame_probe(stream: Json | None) -> bool:
    """Whether decoding the first frame can tell more: PQ streams carry HDR10+ dynamic metadata
    and often their mastering/content light metadata only in SEI messages."""
    return stream is not None and _str(stream.get("color_transfer")) == PQ


def video_track(stream: Json, frame: Json | None = None) -> VideoTrack:
    stream_side = _side_data(stream.get("side_data_list"))
    frame_side = _side_data((frame or {}).get("side_data_list"))
    hdr, fallback, dovi = hdr_format(stream, frame)
    return VideoTrack(
        index=_int(stream.get("index")),
        codec=_str(stream.get("codec_name")),
        profile=_str(stream.get("profile")),
        level=_int(stream.get("level")),
        width=_int(stream.get("width")),
        height=_int(stream.get("height")),
        frame_rate=frame_rate(stream),
        bit_depth=bit_depth(stream),
        pix_fmt=_str(stream.get("pix_fmt")),
        color_range=_str(stream.get("color_range")),
        color_primaries=_str(stream.get("color_primaries")),
        color_transfer=_str(stream.get("color_transfer")),
        color_space=_str(stream.get("color_space")),
        hdr=hdr,
        hdr_fallback=fallback,
        mastering_display=_mastering(stream_side.get(MASTERING) or frame_side.get(MASTERING)),
        content_light=_content_light(
            stream_side.get(CONTENT_LIGHT) or frame_side.get(CONTENT_LIGHT)
        ),
        dolby_vision=dovi,
        bitrate=_bitrate(stream),
        language=normalize_language(_tag(stream, "language")),
        title=_tag(stream, "title"),
        default=_flag(stream, "default"),
    )


def audio_track(stream: Json) -> AudioTrack:
    tag = _tag(stream, "language")
    return AudioTrack(
        index=_int(stream.get("index")),
        codec=_str(stream.get("codec_name")),
        profile=_str(stream.get("profile")),
        channels=_int(stream.get("channels")),
        channel_layout=_str(stream.get("channel_layout")),
        sample_rate=_int(stream.get("sample_rate")),
        bitrate=_bitrate(stream),
        language=normalize_language(tag),
        language_tag=tag,
        title=_tag(stream, "title"),
        default=_flag(stream, "default"),
        forced=_flag(stream, "forced"),
        commentary=_flag(stream, "comment"),
        visual_impaired=_flag(stream, "visual_impaired"),
    )


def subtitle_track(stream: Json) -> SubtitleTrack:
    tag = _tag(stream, "language")
    return SubtitleTrack(
        index=_int(stream.get("index")),
        codec=_str(stream.get("codec_name")),
        language=normalize_language(tag),
        language_tag=tag,
        title=_tag(stream, "title"),
        default=_flag(stream, "default"),
        forced=_flag(stream, "forced"),
        hearing_impaired=_flag(stream, "hearing_impaired"),
        external=False,
    )


def _chapters(entries: Any) -> list[Chapter]:
    if not isinstance(entries, list):
        return []
    return [
        Chapter(
            start_s=_float(entry.get("start_time")),
            end_s=_float(entry.get("end_time")),
            title=_tag(entry, "title"),
        )
        for entry in entries
        if isinstance(entry, dict)
    ]


def _duration(fmt: Json, streams: list[Json]) -> float | None:
    """The container's duration, else the longest stream's (``duration`` or Matroska's
    ``DURATION`` tag)."""
    duration = _float(fmt.get("duration"))
    if duration is not None:
        return duration
    candidates = [_float(s.get("duration")) or _clock(_tag(s, "duration")) for s in streams]
    known = [value for value in candidates if value is not None]
    return max(known) if known else None


def media_info(doc: Json, frame_doc: Json | None = None) -> MediaInfo:
    """``doc`` from ``-show_format -show_streams -show_chapters``; ``frame_doc`` from
    ``-show_frames`` of the main video stream's first frame, or None."""
    fmt = doc.get("format") if isinstance(doc.get("format"), dict) else {}
    assert isinstance(fmt, dict)
    streams = [s for s in doc.get("streams") or [] if isinstance(s, dict)]
    video = main_video_stream(streams)
    frames = (frame_doc or {}).get("frames")
    frame = frames[0] if isinstance(frames, list) and frames else None
    frame = frame if isinstance(frame, dict) else None
    return MediaInfo(
        container=_str(fmt.get("format_name")),
        duration_s=_duration(fmt, streams),
        bitrate=_int(fmt.get("bit_rate")),
        size_bytes=_int(fmt.get("size")),
        title=_tag(fmt, "title"),
        video=video_track(video, frame) if video is not None else None,
        audio=[audio_track(s) for s in streams if s.get("codec_type") == "audio"],
        subtitles=[subtitle_track(s) for s in streams if s.get("codec_type") == "subtitle"],
        chapters=_chapters(doc.get("chapters")),
    )
