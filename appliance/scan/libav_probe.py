"""libav in-process (PyAV): the document ``ffprobe -show_format -show_streams -show_chapters``
prints, and ``-show_frames`` of the first frame for PQ video, built without a process per file.

Runs in the analysis worker processes (``appliance.scan.analyzers``), never in the appliance
process: a demuxer or decoder that crashes on a broken file takes down only that worker.

Why build ffprobe's document rather than ``MediaInfo`` directly: one mapping
(``appliance.scan.probe_json``) and one set of checks (``analyze.check_streams``) serve both
sources, so the two can differ only in what libav reports, which
``tests/test_analyze_differential.py`` compares field by field on real files. The numbers are
written as ffprobe writes them (durations ``%f`` in seconds, ratios ``num/den``), so the same
rounding applies.

What PyAV does not expose, and where it comes from instead:

- Stream (container) side data: the Dolby Vision configuration record (MP4 ``dvcC``/``dvvC``,
  Matroska block addition mapping) and stream-level mastering display / content light metadata
  (Matroska ``MasteringMetadata``, MP4 ``mdcv``/``clli``). PyAV 18 has no accessor for
  ``AVCodecParameters.coded_side_data``; libav's own ``av_dump_format`` prints it
  (``container.dumps_format()``, the ``Side data:`` lines of ``ffmpeg -i``, a format many tools
  parse). It prints mastering primaries with 4 decimals, which is exact for the P3, BT.2020 and
  D65 coordinates real masters use (the unit is 0.00002). No file is handed to ffprobe.
- ``bits_per_raw_sample``: the pixel format's component depth (libav's pixdesc) instead.
- Colour names: PyAV gives the ITU-T H.273 code points; the tables below are libavutil's names.
- A codec without a decoder in PyAV's build: its name from the dump's stream line.

Frame side data (HEVC SEI: mastering display, content light, HDR10+, Dolby Vision RPU) comes
from decoding the first frame of the main video stream, only for PQ video as with ffprobe
(about 1-5 ms for the fixtures; one keyframe of a 4K film costs tens of ms, still far below an
ffprobe start).
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import av.logging
from av.container import InputContainer
from av.sidedata.sidedata import SideData
from av.sidedata.sidedata import Type as FrameData

from appliance.scan.analyze import (
    AnalysisFailed,
    check_streams,
    finish,
    inspect_file,
    open_failed,
)
from appliance.scan.probe_json import (
    CONTENT_LIGHT,
    DOVI_CONFIG,
    HDR10_PLUS,
    MASTERING,
    needs_frame_probe,
)
from sync.media_info import AnalysisError, MediaInfo

Json = dict[str, Any]

RETIRE_AFTER = 2000
"""Files a worker analyses before it leaves for a fresh one (see ``count_file``)."""
MAX_FIRST_FRAME_PACKETS = 64
"""Packets fed to the decoder before the first frame must have come (a few for B-frame delay)."""

COLOR_RANGES = {1: "tv", 2: "pc"}
COLOR_PRIMARIES = {
    1: "bt709",
    4: "bt470m",
    5: "bt470bg",
    6: "smpte170m",
    7: "smpte240m",
    8: "film",
    9: "bt2020",
    10: "smpte428",
    11: "smpte431",
    12: "smpte432",
    22: "ebu3213",
}
COLOR_TRANSFERS = {
    1: "bt709",
    4: "gamma22",
    5: "gamma28",
    6: "smpte170m",
    7: "smpte240m",
    8: "linear",
    9: "log100",
    10: "log316",
    11: "iec61966-2-4",
    12: "bt1361e",
    13: "iec61966-2-1",
    14: "bt2020-10",
    15: "bt2020-12",
    16: "smpte2084",
    17: "smpte428",
    18: "arib-std-b67",
}
COLOR_SPACES = {
    0: "gbr",
    1: "bt709",
    4: "fcc",
    5: "bt470bg",
    6: "smpte170m",
    7: "smpte240m",
    8: "ycgco",
    9: "bt2020nc",
    10: "bt2020c",
    11: "smpte2085",
    12: "chroma-derived-nc",
    13: "chroma-derived-c",
    14: "ictcp",
}
"""libavutil's ``av_color_*_name`` for the H.273 code points; 2 (unspecified) is absent, as
ffprobe's ``unknown`` maps to None."""

DISPOSITIONS = {
    "default": 0x1,
    "dub": 0x2,
    "original": 0x4,
    "comment": 0x8,
    "forced": 0x40,
    "hearing_impaired": 0x80,
    "visual_impaired": 0x100,
    "attached_pic": 0x400,
}
"""``AV_DISPOSITION_*`` under ffprobe's names."""

FRAME_SIDE_DATA = {
    FrameData.DYNAMIC_HDR_PLUS: HDR10_PLUS,
    FrameData.DOVI_RPU_BUFFER: "Dolby Vision RPU Data",
    FrameData.DOVI_METADATA: "Dolby Vision Metadata",
}

_STREAM_LINE = re.compile(r"^\s*Stream #\d+:(\d+)\S*: (\w+): ([^\s,]+)")
_DOVI = re.compile(r"DOVI configuration record: (.*)$")
# FFmpeg 8 writes "Mastering display metadata: ...", older versions "... Metadata, ..."
_MASTERING = re.compile(
    r"Mastering display metadata[,:] has_primaries:(\d) has_luminance:(\d) "
    r"r\(([\d.]+),\s*([\d.]+)\) g\(([\d.]+),\s*([\d.]+)\) b\(([\d.]+),?\s*([\d.]+)\) "
    r"wp\(([\d.]+),\s*([\d.]+)\) min_luminance=([\d.]+), max_luminance=([\d.]+)",
    re.IGNORECASE,
)
_CONTENT_LIGHT = re.compile(
    r"Content light level metadata[,:] MaxCLL=(\d+), MaxFALL=(\d+)", re.IGNORECASE
)
_DOVI_KEYS = {
    "profile": "dv_profile",
    "level": "dv_level",
    "rpu flag": "rpu_present_flag",
    "el flag": "el_present_flag",
    "bl flag": "bl_present_flag",
    "compatibility id": "dv_bl_signal_compatibility_id",
}


def init_worker() -> None:
    """Once per worker process: errors only (what ffprobe's ``-v error`` shows), every one
    kept (PyAV drops a message equal to the previous one, which would hide the second of two
    truncated files), and PyAV imported before the first file arrives."""
    av.logging.set_level(av.logging.ERROR)
    av.logging.set_skip_repeated(False)


_files_done = 0  # this worker process's count, for count_file


def count_file() -> bool:
    """After each file (trio-parallel's ``retire``): whether this worker should leave, so that
    whatever libav leaks on odd files cannot grow for ever."""
    global _files_done
    _files_done += 1
    return _files_done >= RETIRE_AFTER


def analyze_file(path: str) -> MediaInfo | AnalysisError:
    """The worker's entry point. Never raises for a bad file: an ``AnalysisError`` comes back
    instead (an exception would have to be pickled across the pipe)."""
    if av.logging.get_level() is None:  # a pool opened without init_worker
        init_worker()
    try:
        return analyze_path(Path(path))
    except AnalysisFailed as exc:
        return exc.error
    except Exception as exc:  # a PyAV quirk on a strange file must fail that file only
        return AnalysisError(
            path=path, code="analysis_failed", reason=f"{type(exc).__name__}: {exc}"
        )


def analyze_path(path: Path) -> MediaInfo:
    """Analyse one file in this process; ``AnalysisFailed`` as ``analyze.analyze`` raises."""
    path, sidecars = inspect_file(path)
    container, warnings = _open(path)
    try:
        doc = describe(container)
        video = check_streams(path, doc, warnings)
        frame_doc = None
        if video is not None and needs_frame_probe(video):
            frame_doc = first_frame(container, int(video["index"]), warnings)
    finally:
        container.close()
    return finish(doc, frame_doc, warnings, sidecars)


def _messages(logs: list[tuple[int, str, str]]) -> list[str]:
    lines: list[str] = []
    for _level, _name, message in logs:
        line = message.strip()
        if line and line not in lines:
            lines.append(line)
    return lines


def _open(path: Path) -> tuple[InputContainer, list[str]]:
    """Open with the demuxer and read the stream info (``avformat_find_stream_info``, as
    ffprobe does). The ``file:`` prefix: a name like ``concat:a|b.mkv`` is a plain file."""
    url = "file:" + os.fsdecode(path)
    with av.logging.Capture() as logs:
        try:
            container = av.open(url, metadata_errors="replace")
        except av.error.FileNotFoundError:
            raise AnalysisFailed(path, "file not found", "not_found") from None
        except av.error.PermissionError:
            raise AnalysisFailed(path, "permission denied", "unreadable") from None
        except av.error.FFmpegError as exc:
            messages = [*_messages(logs), exc.strerror or str(exc)]
            raise open_failed(
                path, messages, "libav could not open it", "analysis_failed"
            ) from None
    return container, _messages(logs)


def _dump(container: InputContainer) -> str:
    """``av_dump_format``'s text (printed at info level, so the threshold is lowered for it)."""
    av.logging.set_level(av.logging.INFO)
    try:
        return str(cast(Any, container).dumps_format())  # not in PyAV's type stubs
    finally:
        av.logging.set_level(av.logging.ERROR)


def _dumped_streams(text: str) -> Iterator[tuple[int, str, list[str]]]:
    """(index, codec name, side data lines) per ``Stream #0:N`` block of the dump."""
    index, codec, lines = -1, "", list[str]()
    for line in text.splitlines():
        match = _STREAM_LINE.match(line)
        if match:
            if index >= 0:
                yield index, codec, lines
            index, codec, lines = int(match.group(1)), match.group(3), []
        elif index >= 0:
            lines.append(line.strip())
    if index >= 0:
        yield index, codec, lines


def stream_side_data(lines: list[str]) -> list[Json]:
    """ffprobe's ``side_data_list`` entries for the dump's side data lines of one stream."""
    found: list[Json] = []
    for line in lines:
        if match := _DOVI.search(line):
            entry: Json = {"side_data_type": DOVI_CONFIG}
            for part in match.group(1).split(","):
                key, _, value = part.partition(":")
                name = _DOVI_KEYS.get(key.strip())
                if name and value.strip().isdigit():
                    entry[name] = int(value)
            found.append(entry)
        elif match := _MASTERING.search(line):
            has_primaries, has_luminance, *values = match.groups()
            entry = {"side_data_type": MASTERING}
            if has_primaries == "1":
                entry.update(
                    zip(
                        (
                            "red_x",
                            "red_y",
                            "green_x",
                            "green_y",
                            "blue_x",
                            "blue_y",
                            "white_point_x",
                            "white_point_y",
                        ),
                        values[:8],
                        strict=True,
                    )
                )
            if has_luminance == "1":
                entry["min_luminance"], entry["max_luminance"] = values[8:]
            found.append(entry)
        elif match := _CONTENT_LIGHT.search(line):
            found.append(
                {
                    "side_data_type": CONTENT_LIGHT,
                    "max_content": int(match.group(1)),
                    "max_average": int(match.group(2)),
                }
            )
    return found


def _seconds(value: int | None, time_base: Fraction | None) -> str | None:
    """As ffprobe prints a time: ``%f`` seconds; None where libav has no value."""
    if value is None or time_base is None:
        return None
    return f"{float(value * time_base):f}"


def _ratio(value: Fraction | None) -> str:
    return "0/0" if not value else f"{value.numerator}/{value.denominator}"


def _disposition(flags: int) -> Json:
    return {name: int(bool(flags & bit)) for name, bit in DISPOSITIONS.items()}


def _stream(stream: Any, dumped_codec: str | None, side: list[Json]) -> Json:
    kind = stream.type
    context = stream.codec_context
    entry: Json = {
        "index": stream.index,
        "codec_type": kind,
        "disposition": _disposition(int(stream.disposition)),
        "tags": dict(stream.metadata),
    }
    codec = getattr(getattr(context, "codec", None), "canonical_name", None) or dumped_codec
    if codec:
        entry["codec_name"] = codec
    if stream.duration is not None:
        entry["duration"] = _seconds(stream.duration, stream.time_base)
    if side:
        entry["side_data_list"] = side
    if context is None:
        return entry
    if context.profile:
        entry["profile"] = context.profile
    if context.bit_rate:
        entry["bit_rate"] = str(context.bit_rate)
    if kind == "video":
        entry.update(
            width=context.width,
            height=context.height,
            level=context.level,
            avg_frame_rate=_ratio(stream.average_rate),
            r_frame_rate=_ratio(stream.base_rate),
        )
        pix_fmt = context.pix_fmt
        if pix_fmt:
            entry["pix_fmt"] = pix_fmt
            entry["bits_per_raw_sample"] = str(av.VideoFormat(pix_fmt).components[0].bits)
        for key, table, code in (
            ("color_range", COLOR_RANGES, context.color_range),
            ("color_primaries", COLOR_PRIMARIES, context.color_primaries),
            ("color_transfer", COLOR_TRANSFERS, context.color_trc),
            ("color_space", COLOR_SPACES, context.colorspace),
        ):
            if int(code) in table:
                entry[key] = table[int(code)]
    elif kind == "audio":
        entry.update(sample_rate=str(context.sample_rate), channels=context.channels)
        layout = context.layout.name if context.channels else None
        if layout:
            entry["channel_layout"] = layout
    return entry


def describe(container: InputContainer) -> Json:
    """The ``-show_format -show_streams -show_chapters`` document of an open container."""
    dumped = {index: (codec, lines) for index, codec, lines in _dumped_streams(_dump(container))}
    fmt: Json = {"format_name": container.format.name, "tags": dict(container.metadata)}
    if container.duration is not None:
        fmt["duration"] = _seconds(container.duration, Fraction(1, 1_000_000))
    if container.bit_rate:
        fmt["bit_rate"] = str(container.bit_rate)
    size = container.size
    if size >= 0:
        fmt["size"] = str(size)
    streams = []
    for stream in container.streams:
        codec, lines = dumped.get(stream.index, (None, []))
        streams.append(_stream(stream, codec, stream_side_data(lines)))
    chapters = [
        {
            "id": chapter["id"],
            "start_time": _seconds(chapter["start"], chapter["time_base"]),
            "end_time": _seconds(chapter["end"], chapter["time_base"]),
            "tags": dict(chapter["metadata"]),
        }
        for chapter in container.chapters()
    ]
    return {"format": fmt, "streams": streams, "chapters": chapters}


def _rational(num: int, den: int) -> str:
    return f"{num}/{den}"


def _frame_side_data(frame: av.VideoFrame) -> list[Json]:
    """ffprobe's frame ``side_data_list`` for what the HDR detection reads."""
    found: list[Json] = []
    # iterating gives SideData objects (the stubs type it as a Mapping of names)
    for data in cast("Iterable[SideData]", frame.side_data):
        kind = data.type
        raw = bytes(data)
        if kind == FrameData.MASTERING_DISPLAY_METADATA and len(raw) >= 88:
            # AVMasteringDisplayMetadata: display_primaries[3][2] (r, g, b), white_point[2],
            # min_luminance, max_luminance (AVRationals), has_primaries, has_luminance
            values = struct.unpack("=20i2i", raw[:88])
            pairs = [_rational(values[i], values[i + 1]) for i in range(0, 20, 2)]
            entry: Json = {"side_data_type": MASTERING}
            if values[20]:
                entry.update(
                    zip(
                        (
                            "red_x",
                            "red_y",
                            "green_x",
                            "green_y",
                            "blue_x",
                            "blue_y",
                            "white_point_x",
                            "white_point_y",
                        ),
                        pairs[:8],
                        strict=True,
                    )
                )
            if values[21]:
                entry["min_luminance"], entry["max_luminance"] = pairs[8:]
            found.append(entry)
        elif kind == FrameData.CONTENT_LIGHT_LEVEL and len(raw) >= 8:
            max_cll, max_fall = struct.unpack("=2I", raw[:8])
            found.append(
                {"side_data_type": CONTENT_LIGHT, "max_content": max_cll, "max_average": max_fall}
            )
        elif kind in FRAME_SIDE_DATA:
            found.append({"side_data_type": FRAME_SIDE_DATA[kind]})
    return found


def first_frame(container: InputContainer, index: int, warnings: list[str]) -> Json | None:
    """``-show_frames -read_intervals %+#1`` of stream ``index``: its first decoded frame's
    transfer and side data, or None (with a warning) when none decodes."""
    stream = container.streams[index]
    context = stream.codec_context
    if context is None:
        warnings.append("first-frame probe failed: no decoder")
        return None
    context.thread_count = 1  # one frame: decoder threads would cost more than they save
    with av.logging.Capture() as logs:
        try:
            frame = _decode_first(container, stream)
        except av.error.FFmpegError as exc:
            warnings.append(f"first-frame probe failed: {exc.strerror or exc}")
            return None
    if frame is None:
        reason = "; ".join(_messages(logs)[-3:]) or "no frame decoded"
        warnings.append(f"first-frame probe failed: {reason}")
        return None
    entry: Json = {"side_data_list": _frame_side_data(frame)}
    transfer = COLOR_TRANSFERS.get(int(frame.color_trc))
    if transfer:
        entry["color_transfer"] = transfer
    return {"frames": [entry]}


def _decode_first(container: InputContainer, stream: Any) -> av.VideoFrame | None:
    """Decode up to the first keyframe, then flush, as ffprobe's ``%+#1`` does: a decoder with
    a reorder delay (B-frames) would otherwise decode several more frames before giving the
    first (measured on a 4K HEVC encode: 500 ms instead of 100 ms)."""
    context = stream.codec_context
    for count, packet in enumerate(container.demux(stream)):
        for frame in context.decode(packet if packet.size else None):
            if isinstance(frame, av.VideoFrame):
                return frame
        if packet.is_keyframe or count >= MAX_FIRST_FRAME_PACKETS:
            for frame in context.decode(None):  # flush: what it holds comes out now
                if isinstance(frame, av.VideoFrame):
                    return frame
            break
    return None
