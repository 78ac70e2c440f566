"""Media analysis with ffprobe: run it on a file, return ``MediaInfo``.

The MediaAnalyze job no longer uses this path: it reads files with libav in worker processes
(``appliance.scan.analyzers``, ``appliance.scan.libav_probe``; 10x+ the files/s, see
``bench analyze``), which build the same JSON document ffprobe prints and share every check and
mapping below. This path stays as the reference the differential test compares against, for
the bench's baseline, and as the fallback where PyAV (``av``) is not installed. The notes below
explain why ffprobe's view of a file is the one both follow.

Why ffprobe rather than GStreamer's Discoverer:

- HDR: ffprobe prints the stream and frame side data an HDR badge needs (mastering display,
  content light level, the Dolby Vision configuration record, HDR10+ dynamic metadata) as plain
  fields; Discoverer exposes colorimetry as caps strings and has no Dolby Vision or HDR10+
  reporting.
- One stable JSON document (``-print_format json``) with the container's own stream indexes,
  dispositions (default/forced/hearing impaired) and tags, which map one-to-one onto what a
  player later selects with ``-map 0:N`` when it transcodes, and ffmpeg is what transcodes.
- A short-lived subprocess: a file that crashes or hangs the demuxer takes down only that process
  (killed at the deadline), never the appliance; Discoverer runs in-process through PyGObject.
- Installation: one Debian package (``ffmpeg``, also on Raspberry Pi OS) and no GObject
  introspection stack in the venv.

Two calls per file: ``-show_format -show_streams -show_chapters`` always, then, only for PQ
video, ``-show_frames`` of the first frame of the main video stream, because HDR10+ dynamic
metadata and (for most MKV/HEVC encodes) the mastering display metadata exist only in SEI
messages that ffprobe reports once it has decoded a frame. SDR and HLG files cost one call.

Every failure, whatever its cause (0-byte file, text named ``.mkv``, truncated before the
headers, ffprobe missing, deadline passed), is an ``AnalysisFailed`` carrying an
``AnalysisError`` the job records on the item; the scan goes on.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import msgspec
import trio

from appliance.scan.probe_json import main_video_stream, media_info, needs_frame_probe
from appliance.scan.sidecars import find_sidecar_subtitles
from sync.media_info import AnalysisError, AnalysisErrorCode, MediaInfo, SubtitleTrack

__all__ = ["AnalysisFailed", "analyze", "find_sidecar_subtitles"]

FFPROBE_PACKAGE = "ffmpeg"
"""The Debian package that ships ffprobe; named in the error when it is missing."""

BASE_ARGS = ("-hide_banner", "-v", "error", "-print_format", "json")
STREAM_ARGS = ("-show_format", "-show_streams", "-show_chapters")
MAX_WARNINGS = 10
TRUNCATION_MESSAGES = ("ended prematurely", "partial file")
"""What ffprobe says (Matroska, MP4) when the file stops early but the headers were readable."""

_ADDRESS = re.compile(r"^\[[^\]]* @ 0x[0-9a-f]+\]\s*")


class AnalysisFailed(Exception):
    """The file could not be analysed; ``error`` is what the job stores on the item."""

    def __init__(self, path: Path, reason: str, code: AnalysisErrorCode = "ffprobe_failed"):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.code: AnalysisErrorCode = code

    @property
    def error(self) -> AnalysisError:
        return AnalysisError(path=os.fsdecode(self.path), code=self.code, reason=self.reason)


def inspect_file(path: Path) -> tuple[Path, list[SubtitleTrack]]:
    """Blocking checks ffprobe or libav would answer badly or never (a FIFO blocks them until
    the deadline), then the absolute path and the sidecar subtitles. Runs in a worker thread
    (ffprobe) or in the analysis worker process (libav, ``appliance.scan.libav_probe``)."""
    path = path.absolute()
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise AnalysisFailed(path, "file not found", "not_found") from None
    except PermissionError:
        raise AnalysisFailed(path, "permission denied", "unreadable") from None
    except OSError as exc:
        raise AnalysisFailed(path, f"cannot stat: {exc.strerror}", "unreadable") from None
    if not stat.S_ISREG(info.st_mode):
        raise AnalysisFailed(path, "not a regular file", "not_a_file")
    if info.st_size == 0:
        raise AnalysisFailed(path, "empty file (0 bytes)", "empty_file")
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise AnalysisFailed(path, "permission denied", "unreadable") from None
    except OSError as exc:
        raise AnalysisFailed(path, f"cannot open: {exc.strerror}", "unreadable") from None
    return path, find_sidecar_subtitles(path)


def _messages(stderr: bytes, url: str) -> list[str]:
    """ffprobe's complaints, one per line, without the ``[matroska @ 0x55...]`` addresses and
    the file name (the error records the path once)."""
    lines: list[str] = []
    for raw in stderr.decode("utf-8", "replace").splitlines():
        line = _ADDRESS.sub("", raw).removeprefix(url + ": ").strip()
        if line and line not in lines:
            lines.append(line)
    return lines


def open_failed(
    path: Path, messages: list[str], fallback: str, code: AnalysisErrorCode
) -> AnalysisFailed:
    """The error for a file the demuxer could not open, from its messages (ffprobe's stderr
    or libav's log, the same words): ``invalid_data`` for what is not media or is cut before
    its headers, ``unreadable`` for permissions, else ``code`` (the prober's own failure)."""
    reason = "; ".join(messages[-3:]) or fallback
    if any(
        "Invalid data" in m
        or "ended prematurely" in m
        or "moov atom not found" in m
        or "Input/output error" in m
        for m in messages
    ):
        return AnalysisFailed(path, f"not a readable media file: {reason}", "invalid_data")
    if any("Permission denied" in m for m in messages):
        return AnalysisFailed(path, reason, "unreadable")
    return AnalysisFailed(path, reason, code)


def check_streams(path: Path, doc: dict[str, Any], warnings: list[str]) -> dict[str, Any] | None:
    """Refuse a document with neither audio nor video, or whose video cannot be decoded because
    the file stops early; return the main video stream (None for audio-only files)."""
    streams = [s for s in doc.get("streams") or [] if isinstance(s, dict)]
    if not any(s.get("codec_type") in ("video", "audio") for s in streams):
        reason = "; ".join(warnings[-3:]) or "none found"
        raise AnalysisFailed(path, f"no audio or video stream: {reason}", "no_streams")
    video = main_video_stream(streams)
    if (
        video is not None
        and not video.get("pix_fmt")
        and any(marker in line for line in warnings for marker in TRUNCATION_MESSAGES)
    ):
        # A download cut off early: the headers list the streams but no frame can be decoded.
        # One cut off late still plays, so it is analysed, with the demuxer's words as a warning.
        raise AnalysisFailed(path, "truncated: " + "; ".join(warnings[-3:]), "truncated")
    return video


def finish(
    doc: dict[str, Any],
    frame_doc: dict[str, Any] | None,
    warnings: list[str],
    sidecars: list[SubtitleTrack],
) -> MediaInfo:
    """The ``MediaInfo`` of a checked document, with the sidecar subtitles and the warnings."""
    info = media_info(doc, frame_doc)
    info.subtitles.extend(sidecars)
    info.warnings = warnings[:MAX_WARNINGS]
    return info


async def _kill(process: trio.Process) -> None:
    process.kill()  # no grace period: ffprobe holds nothing worth flushing


async def _ffprobe(
    ffprobe: str, path: Path, args: tuple[str, ...]
) -> tuple[dict[str, Any], list[str]]:
    """Run ffprobe on an absolute ``path``, return its JSON document and stderr lines.

    Cancel to kill it. The ``file:`` prefix makes a name like ``-x.mkv`` or ``concat:a|b`` a
    plain local file, never an option or a protocol.
    """
    url = "file:" + os.fsdecode(path)
    argv = [ffprobe, *BASE_ARGS, *args, url]
    try:
        result = await trio.run_process(
            argv,
            stdin=b"",
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            deliver_cancel=_kill,
        )
    except (FileNotFoundError, PermissionError):
        raise AnalysisFailed(
            path,
            f"{ffprobe!r} not found: install the Debian package {FFPROBE_PACKAGE!r}",
            "ffprobe_missing",
        ) from None
    messages = _messages(result.stderr, url)
    if result.returncode != 0:
        raise open_failed(
            path, messages, f"ffprobe exited with status {result.returncode}", "ffprobe_failed"
        )
    try:
        # Tags and file names need not be UTF-8; ffprobe passes their bytes through.
        doc = msgspec.json.decode(result.stdout.decode("utf-8", "replace"))
    except msgspec.DecodeError as exc:
        raise AnalysisFailed(path, f"unparsable ffprobe output: {exc}", "ffprobe_failed") from None
    if not isinstance(doc, dict):
        raise AnalysisFailed(path, "unexpected ffprobe output", "ffprobe_failed")
    return doc, messages


# The timeout is a parameter (not the caller's cancel scope) because a timeout is an analysis
# result to record on the item, not a cancellation of the job.
async def analyze(
    path: Path,
    *,
    ffprobe: str = "ffprobe",
    timeout: float = 30,  # noqa: ASYNC109
) -> MediaInfo:
    """Analyse one media file; raise ``AnalysisFailed`` (never anything else for a bad file,
    never hang past ``timeout`` seconds of ffprobe time) when it cannot be analysed.

    The frame probe for PQ video shares the deadline; if it fails or runs out of time the
    stream-level result is returned with a warning (the HDR format is then known from the
    transfer characteristics, only HDR10+ and SEI-only metadata are missing).
    """
    path, sidecars = await trio.to_thread.run_sync(inspect_file, path)
    deadline = trio.current_time() + timeout
    try:
        with trio.fail_at(deadline):
            doc, warnings = await _ffprobe(ffprobe, path, STREAM_ARGS)
    except trio.TooSlowError:
        raise AnalysisFailed(path, f"ffprobe took longer than {timeout:g} s", "timeout") from None
    video = check_streams(path, doc, warnings)
    frame_doc: dict[str, Any] | None = None
    if video is not None and needs_frame_probe(video):
        frame_args = (
            "-show_frames",
            "-read_intervals",
            "%+#1",
            "-select_streams",
            str(video.get("index", "v:0")),
            "-show_entries",
            "frame=color_transfer,side_data_list",
        )
        with trio.move_on_at(deadline) as scope:
            try:
                frame_doc, _ = await _ffprobe(ffprobe, path, frame_args)
            except AnalysisFailed as exc:
                warnings.append(f"first-frame probe failed: {exc.reason}")
        if scope.cancelled_caught:
            warnings.append("first-frame probe timed out")
    return finish(doc, frame_doc, warnings, sidecars)
