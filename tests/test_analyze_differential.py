"""The in-process analysis (libav in the analysis worker processes) against ffprobe, field by
field, on real files: the fixture set plus odd ones (stream-level HDR boxes, Dolby Vision in
Matroska, MPEG-TS, WebM, an MP3 with cover art, a file cut short late, noise, odd names).

Both sides are real: the system's ffprobe (Debian's FFmpeg) and PyAV's bundled libav, each
building the same JSON document that one mapping (``probe_json``) turns into ``MediaInfo``. Any
difference is a field one of them reports and the other does not, which is what this catches.
"""

from __future__ import annotations

import os
import random
import struct
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from appliance.scan.analyze import AnalysisFailed, analyze
from appliance.scan.analyzers import Analyzers

if TYPE_CHECKING:  # imported by pytest as a plugin; importing it first defeats assert rewriting
    from tests.media_fixtures import MediaFiles

pytest_plugins = ["tests.media_fixtures"]

VERSION_DIFFERENCES = {"song.mp3": {".duration_s", ".bitrate"}}
"""Where Debian's FFmpeg 5.1 (ffprobe) and PyAV's newer libav read a file differently, and
libav is right: an MP3's duration without the encoder delay and padding its LAME header
declares (1.000 s for the 1 s tone, ffprobe 1.032 s), and so its overall bitrate."""

BT2020_MASTERING = (35400, 14600, 8500, 39850, 6550, 2300, 15635, 16450)  # R, G, B, white; /50000
"""Stream-level mastering display in the ``mdcv`` box, unlike the SEI's P3 values."""


def _ffmpeg(*args: str | Path) -> None:
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", *map(str, args)]
    subprocess.run(command, capture_output=True, check=True, timeout=60)


def _mdcv_clli() -> bytes:
    red_x, red_y, green_x, green_y, blue_x, blue_y, white_x, white_y = BT2020_MASTERING
    # the box stores G, B, R (as the HEVC SEI does); luminance in 0.0001 cd/m²
    mdcv = struct.pack(
        ">8H2I", green_x, green_y, blue_x, blue_y, red_x, red_y, white_x, white_y, 4000 * 10000, 50
    )
    clli = struct.pack(">2H", 4000, 1000)
    return (
        struct.pack(">I4s", 8 + len(mdcv), b"mdcv")
        + mdcv
        + struct.pack(">I4s", 8 + len(clli), b"clli")
        + clli
    )


def _bits(fields: list[tuple[int, int]]) -> bytes:
    """(value, width) fields, most significant bit first, zero-padded to a byte."""
    out, acc, count = bytearray(), 0, 0
    for value, width in fields:
        acc, count = (acc << width) | value, count + width
        while count >= 8:
            count -= 8
            out.append((acc >> count) & 0xFF)
    if count:
        out.append((acc << (8 - count)) & 0xFF)
    return bytes(out)


def _escape(rbsp: bytes) -> bytes:
    """HEVC emulation prevention: a 3 after two zero bytes that precede a byte <= 3."""
    out, zeros = bytearray(), 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def make_hdr10_plus(root: Path) -> Path:
    """PQ HEVC whose first access unit carries an SMPTE 2094-40 (HDR10+) SEI: Debian's x265 is
    built without HDR10+ support, so the SEI (ITU-T T.35, one window, one percentile, no tone
    mapping) is written here and put before the first slice of the raw stream, which is then
    remuxed into Matroska. No B-frames, so the first packet gives the first frame."""
    t35 = _bits(
        [
            (0xB5, 8),
            (0x003C, 16),
            (0x0001, 16),
            (4, 8),
            (1, 8),  # US, SMPTE, 2094-40 v1
            (1, 2),
            (400, 27),
            (0, 1),  # one window, 400 cd/m² target, no peak table
            (1000, 17),
            (1000, 17),
            (1000, 17),
            (100, 17),  # maxscl r/g/b, average
            (1, 4),
            (50, 7),
            (500, 17),
            (0, 10),  # one percentile, bright pixels
            (0, 1),
            (0, 1),
            (0, 1),
        ]
    )  # no mastering peak table, tone or saturation maps
    sei = bytes([4, len(t35)]) + t35 + b"\x80"  # payload type 4, size; rbsp trailing bits
    nal = b"\x00\x00\x00\x01" + bytes([39 << 1, 1]) + _escape(sei)  # prefix SEI NAL unit
    raw = root / "plus.hevc"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=24",
        "-t",
        "1",
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p10le",
        "-x265-params",
        "log-level=error:bframes=0:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc",
        "-color_primaries",
        "bt2020",
        "-color_trc",
        "smpte2084",
        "-colorspace",
        "bt2020nc",
        "-f",
        "hevc",
        raw,
    )
    data = raw.read_bytes()
    at = 0
    while (data[data.index(b"\x00\x00\x01", at) + 3] >> 1) & 0x3F >= 32:  # not a slice yet
        at = data.index(b"\x00\x00\x01", at) + 3
    at = data.index(b"\x00\x00\x01", at)
    at -= 1 if data[at - 1] == 0 else 0  # the 4-byte start code
    raw.write_bytes(data[:at] + nal + data[at:])
    plus = root / "hdr10plus.mkv"
    _ffmpeg("-fflags", "+genpts", "-r", "24", "-i", raw, "-c", "copy", plus)
    raw.unlink()
    return plus


def make_odd_files(media: MediaFiles, root: Path) -> list[Path]:
    """Files beyond the fixture set, each for a case the two sources could read differently."""
    from tests.media_fixtures import add_dovi_record, add_sample_entry_box

    root.mkdir()
    video = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25"]
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    files: list[Path] = []

    # HDR10 HEVC MP4 with mdcv/clli boxes (stream side data) beside the SEI: the box wins
    hevc = root / "hdr10-sei.mp4"
    _ffmpeg(
        *video,
        "-t",
        "1",
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p10le",
        "-x265-params",
        "log-level=error:hdr10=1:repeat-headers=1:master-display=G(13250,34500)"
        "B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400",
        "-color_primaries",
        "bt2020",
        "-color_trc",
        "smpte2084",
        "-colorspace",
        "bt2020nc",
        "-tag:v",
        "hvc1",
        hevc,
    )
    boxes = root / "hdr10-boxes.mp4"
    add_sample_entry_box(hevc, boxes, _mdcv_clli())
    hevc.unlink()
    files += [boxes, make_hdr10_plus(root)]

    # Dolby Vision in Matroska (BlockAdditionMapping), profile 8.4 with an HLG base layer
    dv_hlg = root / "dv-hlg.mp4"
    add_dovi_record(media.dv_mp4, dv_hlg, level=6, compat_id=4)
    dv_mkv = root / "dv.mkv"
    _ffmpeg("-i", dv_hlg, "-c", "copy", dv_mkv)
    files += [dv_hlg, dv_mkv]

    # MPEG-TS with a language descriptor; WebM VP9 + Opus; MP3 with cover art (audio only)
    ts = root / "clip.ts"
    _ffmpeg(
        *video,
        *tone,
        "-t",
        "1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "ac3",
        "-metadata:s:a:0",
        "language=fra",
        ts,
    )
    webm = root / "clip.webm"
    _ffmpeg(
        *video,
        *tone,
        "-t",
        "1",
        "-c:v",
        "libvpx-vp9",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-c:a",
        "libopus",
        "-metadata:s:a:0",
        "language=jpn",
        webm,
    )
    mp3 = root / "song.mp3"
    _ffmpeg(
        *tone,
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=64x64:rate=1",
        "-t",
        "1",
        "-map",
        "0",
        "-map",
        "1",
        "-frames:v",
        "1",
        "-c:a",
        "libmp3lame",
        "-c:v",
        "mjpeg",
        "-disposition:v",
        "attached_pic",
        "-metadata",
        "title=Song",
        mp3,
    )
    files += [ts, webm, mp3]

    # dispositions the player shows: hearing impaired, commentary, visual impaired
    flags = root / "flags.mkv"
    _ffmpeg(
        "-i",
        media.multi_mkv,
        "-map",
        "0",
        "-c",
        "copy",
        "-disposition:a:0",
        "comment",
        "-disposition:a:1",
        "visual_impaired+default",
        "-disposition:s:0",
        "hearing_impaired",
        "-metadata:s:s:0",
        "language=pt-BR",
        flags,
    )
    files.append(flags)

    # cut late: the headers and the first frames are there, the rest is missing
    data = media.multi_mkv.read_bytes()
    late = root / "cut-late.mkv"
    late.write_bytes(data[: len(data) * 7 // 10])
    files.append(late)

    # names ffprobe and libav must take as plain local files
    for name in (b"-x concat:a|b.mp4", b"caf\xe9 \xff.mp4", "Amélie (2001).mp4".encode()):
        odd = root / os.fsdecode(name)
        odd.write_bytes(media.sdr_mp4.read_bytes())
        files.append(odd)

    # noise under media extensions, and a directory named like a film
    rng = random.Random(11)
    for index, suffix in enumerate([".mkv", ".mp4", ".ts", ".avi", ".webm", ".m2ts"]):
        noise = root / f"noise{index}{suffix}"
        noise.write_bytes(rng.randbytes(rng.randrange(1, 40_000)))
        files.append(noise)
    folder = root / "folder.mkv"
    folder.mkdir()
    files.append(folder)
    return files


@pytest.fixture(scope="module")
def all_files(media_files: MediaFiles, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    fixtures = [
        media_files.sdr_mp4,
        media_files.hdr10_mkv,
        media_files.hlg_mkv,
        media_files.dv_mp4,
        media_files.multi_mkv,
        media_files.empty_mkv,
        media_files.text_mkv,
        media_files.truncated_mkv,
        media_files.truncated_mp4,
    ]
    return fixtures + make_odd_files(media_files, tmp_path_factory.mktemp("odd") / "files")


@pytest.fixture
async def analyzers() -> AsyncIterator[Analyzers]:
    pool = Analyzers(2)
    assert pool.in_process, "PyAV (av) is not installed: pip install -e '.[appliance]'"
    async with pool.open():
        yield pool


def _outcome(result: object) -> Any:
    if isinstance(result, AnalysisFailed):
        return {"error": result.code, "reason": result.reason}
    return msgspec.to_builtins(result)


def _differences(left: Any, right: Any, where: str = "") -> list[str]:
    """Every path at which two decoded documents differ, with both values."""
    if isinstance(left, dict) and isinstance(right, dict):
        found: list[str] = []
        for key in sorted(left.keys() | right.keys()):
            found += _differences(left.get(key), right.get(key), f"{where}.{key}")
        return found
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [
            d
            for i, (a, b) in enumerate(zip(left, right, strict=True))
            for d in _differences(a, b, f"{where}[{i}]")
        ]
    return [] if left == right else [f"{where or '.'}: ffprobe {left!r}, libav {right!r}"]


async def _both(pool: Analyzers, path: Path) -> tuple[Any, Any]:
    """(ffprobe's answer, libav's answer) for one file."""
    try:
        ffprobe = _outcome(await analyze(path, timeout=20))
    except AnalysisFailed as exc:
        ffprobe = _outcome(exc)
    try:
        libav = _outcome(await pool.analyze(path))
    except AnalysisFailed as exc:
        libav = _outcome(exc)
    return ffprobe, libav


async def test_libav_and_ffprobe_give_the_same_answers(
    all_files: list[Path], analyzers: Analyzers
) -> None:
    mismatches: dict[str, list[str]] = {}
    outcomes: dict[str, Any] = {}
    for path in all_files:
        ffprobe, libav = await _both(analyzers, path)
        outcomes[path.name] = libav
        allowed = VERSION_DIFFERENCES.get(path.name, set())
        if diff := [d for d in _differences(ffprobe, libav) if d.split(":")[0] not in allowed]:
            mismatches[os.fsdecode(path.name)] = diff
    assert mismatches == {}

    # and the answers are the ones expected, so that agreeing on nothing could not pass
    def video(name: str) -> dict[str, Any]:
        found: dict[str, Any] = outcomes[name]["video"]
        return found

    assert {
        name: video(name)["hdr"]
        for name in (
            "sdr.mp4",
            "hdr10.mkv",
            "hlg.mkv",
            "dv.mp4",
            "dv.mkv",
            "hdr10-boxes.mp4",
            "hdr10plus.mkv",
        )
    } == {
        "sdr.mp4": "SDR",
        "hdr10.mkv": "HDR10",
        "hlg.mkv": "HLG",
        "dv.mp4": "DolbyVision",
        "dv.mkv": "DolbyVision",
        "hdr10-boxes.mp4": "HDR10",
        "hdr10plus.mkv": "HDR10+",
    }
    assert (video("dv.mkv")["hdr_fallback"], video("dv.mkv")["dolby_vision"]["level"]) == ("HLG", 6)
    boxes = video("hdr10-boxes.mp4")
    assert (
        boxes["mastering_display"]["red_x"],
        boxes["mastering_display"]["max_luminance"],
        boxes["content_light"]["max_cll"],
    ) == (0.708, 4000.0, 4000)
    assert video("hdr10.mkv")["mastering_display"]["max_luminance"] == 1000.0
    assert video("hdr10.mkv")["bit_depth"] == 10
    multi = outcomes["multi.mkv"]
    assert [(a["language"], a["title"]) for a in multi["audio"]] == [
        ("eng", "English Stereo"),
        ("ger", "Deutsch 5.1"),
    ]
    assert [c["title"] for c in multi["chapters"]] == ["Opening", "Ending"]
    flags = outcomes["flags.mkv"]
    assert [(a["commentary"], a["visual_impaired"]) for a in flags["audio"]] == [
        (True, False),
        (False, True),
    ]
    assert (flags["subtitles"][0]["hearing_impaired"], flags["subtitles"][0]["language"]) == (
        True,
        "por",
    )
    song = outcomes["song.mp3"]
    assert (song["video"], song["audio"][0]["codec"], song["title"]) == (None, "mp3", "Song")
    assert song["duration_s"] == 1.0
    assert outcomes["clip.ts"]["audio"][0]["language"] == "fre"
    assert (video("clip.webm")["codec"], outcomes["clip.webm"]["audio"][0]["codec"]) == (
        "vp9",
        "opus",
    )
    assert outcomes["cut-late.mkv"]["video"]["pix_fmt"] == "yuv420p"  # plays: analysed
    assert {
        name: outcomes[name].get("error")
        for name in ("empty.mkv", "text.mkv", "truncated.mkv", "truncated.mp4", "folder.mkv")
    } == {
        "empty.mkv": "empty_file",
        "text.mkv": "invalid_data",
        "truncated.mkv": "truncated",
        "truncated.mp4": "invalid_data",
        "folder.mkv": "not_a_file",
    }
    odd = [p.name for p in all_files if p.name.startswith(("-x", "caf", "Am"))]
    assert len(odd) == 3 and all(outcomes[name]["video"]["codec"] == "h264" for name in odd)
