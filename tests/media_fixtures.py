"""Real media files for the analysis tests, generated once per session with ffmpeg.

Loaded with ``pytest_plugins = ["tests.media_fixtures"]`` by the modules that need it (kept out
of conftest.py so that only those modules pay the ~2 s of encoding). Everything is tiny (320x240,
1 s, ultrafast presets) because what is tested is what ffprobe reports, not picture quality.

Dolby Vision cannot be encoded with Debian's ffmpeg, so ``dv.mp4`` is an HDR10 HEVC MP4 with a
``dvvC`` box (profile 8.1, HDR10-compatible base layer) spliced into its sample entry: exactly
the record a real profile 8 file carries, which is all ffprobe (and the HDR detection) reads.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SIZE = "320x240"
RATE = 24
SECONDS = 1
HDR10_X265 = (
    "hdr10=1:repeat-headers=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc"
    ":master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)"
    "L(10000000,1):max-cll=1000,400"
)
HLG_X265 = "colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc"
PQ_X265 = "colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc"
SRT = "1\n00:00:00,000 --> 00:00:00,800\nHello\n\n"
CHAPTERS = (
    ";FFMETADATA1\ntitle=Multi\n"
    "[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=500\ntitle=Opening\n"
    "[CHAPTER]\nTIMEBASE=1/1000\nSTART=500\nEND=1000\ntitle=Ending\n"
)


@dataclass(frozen=True)
class MediaFiles:
    root: Path
    sdr_mp4: Path  # H.264 + AAC stereo (eng) + mov_text (fre)
    hdr10_mkv: Path  # HEVC Main 10, PQ, mastering display + max-cll in SEI
    hlg_mkv: Path  # HEVC Main 10, ARIB STD-B67
    dv_mp4: Path  # HEVC Main 10, PQ, DOVI configuration record profile 8.1
    multi_mkv: Path  # H.264 + AAC (eng) + AC-3 5.1 (ger, default) + SRT (spa, forced) + chapters
    empty_mkv: Path
    text_mkv: Path
    truncated_mkv: Path  # first 2 KB of multi.mkv: headers readable, no frame
    truncated_mp4: Path  # first 2 KB of sdr.mp4: no moov atom


def _ffmpeg(*args: str | Path) -> None:
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")


def _video() -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate={RATE}"]


def _sine(frequency: int) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate=48000"]


def _hevc(x265_params: str, transfer: str) -> list[str]:
    return [
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p10le",
        "-x265-params",
        f"log-level=error:{x265_params}",
        "-color_primaries",
        "bt2020",
        "-color_trc",
        transfer,
        "-colorspace",
        "bt2020nc",
    ]


def _boxes(data: bytes | bytearray, start: int, end: int) -> Iterator[tuple[int, int, bytes]]:
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size < 8:
            return
        yield pos, size, kind
        pos += size


def add_dovi_record(
    src: Path, dst: Path, *, profile: int = 8, level: int = 4, compat_id: int = 1
) -> None:
    """Copy an HEVC MP4 whose moov follows mdat (ffmpeg's default, so no chunk offset moves),
    adding a Dolby Vision configuration box to the video sample entry."""
    flags = (profile << 9) | (level << 3) | 0b101  # rpu present, no enhancement layer, base layer
    payload = bytes([1, 0]) + struct.pack(">H", flags) + bytes([compat_id << 4]) + bytes(19)
    box = struct.pack(">I4s", 8 + len(payload), b"dvvC" if profile > 7 else b"dvcC") + payload
    add_sample_entry_box(src, dst, box)


def add_sample_entry_box(src: Path, dst: Path, box: bytes) -> None:
    """Copy an HEVC MP4 whose moov follows mdat, adding ``box`` (a whole box) at the end of the
    video sample entry, where ``dvvC``, ``mdcv`` and ``clli`` live."""
    data = bytearray(src.read_bytes())
    # (box, bytes between its header and its first child): stsd has version/flags/count,
    # a visual sample entry has 78 bytes of fields.
    path = [
        (b"moov", 0),
        (b"trak", 0),
        (b"mdia", 0),
        (b"minf", 0),
        (b"stbl", 0),
        (b"stsd", 8),
        (b"hvc1", 78),
    ]
    chain: list[int] = []
    start, end = 0, len(data)
    for wanted, skip in path:
        for pos, size, kind in _boxes(data, start, end):
            if kind == wanted or (wanted == b"hvc1" and kind == b"hev1"):
                chain.append(pos)
                start, end = pos + 8 + skip, pos + size
                break
        else:
            raise ValueError(f"{src}: no {wanted!r} box")
    data[end:end] = box
    for pos in chain:
        (size,) = struct.unpack(">I", data[pos : pos + 4])
        data[pos : pos + 4] = struct.pack(">I", size + len(box))
    dst.write_bytes(bytes(data))


def generate(root: Path) -> MediaFiles:
    """Write every fixture file under ``root``."""
    srt = root / "source.srt"
    srt.write_text(SRT, encoding="utf-8")
    chapters = root / "chapters.txt"
    chapters.write_text(CHAPTERS, encoding="utf-8")
    limit = ["-t", str(SECONDS)]

    sdr_mp4 = root / "sdr.mp4"
    _ffmpeg(
        *_video(),
        *_sine(440),
        "-i",
        srt,
        *limit,
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-map",
        "2:s",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-ac",
        "2",
        "-c:s",
        "mov_text",
        "-metadata:s:a:0",
        "language=eng",
        "-metadata:s:s:0",
        "language=fre",
        sdr_mp4,
    )

    hdr10_mkv = root / "hdr10.mkv"
    _ffmpeg(*_video(), *limit, *_hevc(HDR10_X265, "smpte2084"), hdr10_mkv)

    hlg_mkv = root / "hlg.mkv"
    _ffmpeg(*_video(), *limit, *_hevc(HLG_X265, "arib-std-b67"), hlg_mkv)

    pq_mp4 = root / "pq.mp4"
    _ffmpeg(*_video(), *limit, *_hevc(PQ_X265, "smpte2084"), "-tag:v", "hvc1", pq_mp4)
    dv_mp4 = root / "dv.mp4"
    add_dovi_record(pq_mp4, dv_mp4)

    multi_mkv = root / "multi.mkv"
    _ffmpeg(
        *_video(),
        *_sine(440),
        *_sine(880),
        "-i",
        srt,
        "-i",
        chapters,
        *limit,
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-map",
        "2:a",
        "-map",
        "3:s",
        "-map_chapters",
        "4",
        "-map_metadata",
        "4",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a:0",
        "aac",
        "-ac:a:0",
        "2",
        "-c:a:1",
        "ac3",
        "-ac:a:1",
        "6",
        "-c:s",
        "srt",
        "-metadata:s:a:0",
        "language=eng",
        "-metadata:s:a:0",
        "title=English Stereo",
        "-metadata:s:a:1",
        "language=ger",
        "-metadata:s:a:1",
        "title=Deutsch 5.1",
        "-metadata:s:s:0",
        "language=spa",
        "-disposition:a:0",
        "0",
        "-disposition:a:1",
        "default",
        "-disposition:s:0",
        "forced",
        multi_mkv,
    )
    for name in (
        "multi.en.srt",
        "multi.pt-BR.forced.srt",
        "multi.English.sdh.ass",
        "multi.vtt",
        "other.en.srt",
    ):
        (root / name).write_text(SRT, encoding="utf-8")

    empty_mkv = root / "empty.mkv"
    empty_mkv.touch()
    text_mkv = root / "text.mkv"
    text_mkv.write_text("This is a shopping list, not a movie.\n" * 20, encoding="utf-8")
    truncated_mkv = root / "truncated.mkv"
    truncated_mkv.write_bytes(multi_mkv.read_bytes()[:2048])
    truncated_mp4 = root / "truncated.mp4"
    truncated_mp4.write_bytes(sdr_mp4.read_bytes()[:2048])
    for scratch in (srt, chapters, pq_mp4):
        scratch.unlink()
    return MediaFiles(
        root=root,
        sdr_mp4=sdr_mp4,
        hdr10_mkv=hdr10_mkv,
        hlg_mkv=hlg_mkv,
        dv_mp4=dv_mp4,
        multi_mkv=multi_mkv,
        empty_mkv=empty_mkv,
        text_mkv=text_mkv,
        truncated_mkv=truncated_mkv,
        truncated_mp4=truncated_mp4,
    )


@pytest.fixture(scope="session")
def media_files(tmp_path_factory: pytest.TempPathFactory) -> MediaFiles:
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.fail("ffmpeg/ffprobe not installed: run scripts/deps.sh (Debian package ffmpeg)")
    return generate(tmp_path_factory.mktemp("media"))
