"""A real appliance serving a generated library for the playback tests (one per session: the
playback modules load it with ``pytest_plugins = ["tests.playbackkit"]``).

The library is made with ffmpeg once (a few seconds on two cores), scanned and analysed by the
appliance like any user's: movies (an H.264/AAC clip with an SRT sidecar; an MKV with two audio
tracks at 440 Hz and 880 Hz, an embedded SRT, a sidecar SRT and chapters; a 10-bit HEVC HDR10
clip) and a series of two episodes for "play next episode".
"""

from __future__ import annotations

import os
import shutil
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    RunningAppliance,
    admin_token,
    http_json,
    live_processes_mentioning,
    short_tempdir,
    wait_for,
)
from tests.media_fixtures import HDR10_X265, _ffmpeg, _hevc

CLIP_S = 6
MULTI_S = 6
# Shown over a black picture: the player's overlay draws few bright pixels for the embedded
# track, many for the sidecar, none when subtitles are off.
EMBEDDED_TEXT = "Hi"
SIDECAR_TEXT = "Sidecar subtitles: a much longer line"


def _srt(text: str, seconds: int) -> str:
    return "".join(
        f"{i + 1}\n00:00:{i:02d},000 --> 00:00:{i:02d},900\n{text}\n\n" for i in range(seconds)
    )


def encode_two_language_film(
    out: Path, seconds: int, video: str, embedded: Path, *, chapters: Path | None = None
) -> Path:
    """``video`` (a lavfi source) with audio at 440 Hz (eng) and 880 Hz (ger), the ``embedded``
    SRT as a Spanish track and, if given, ``chapters`` (ffmetadata): a film with tracks to
    switch between."""
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        video,
        *_sine(440),
        *_sine(880),
        "-i",
        embedded,
        *(("-i", chapters) if chapters is not None else ()),
        "-t",
        str(seconds),
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-map",
        "2:a",
        "-map",
        "3:s",
        *(("-map_chapters", "4") if chapters is not None else ()),
        *H264,
        "-c:a",
        "aac",
        "-ac",
        "1",
        "-c:s",
        "srt",
        "-metadata:s:a:0",
        "language=eng",
        "-metadata:s:a:1",
        "language=ger",
        "-metadata:s:s:0",
        "language=spa",
        out,
    )
    return out


def _testsrc(size: str = "320x240", rate: int = 24) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}"]


def _sine(frequency: int) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate=48000"]


H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "24", "-pix_fmt", "yuv420p"]


def make_clip(path: Path, seconds: int, size: str = "320x240") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _ffmpeg(
        *_testsrc(size),
        *_sine(440),
        "-t",
        str(seconds),
        *H264,
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-movflags",
        "+faststart",
        path,
    )
    return path


def make_library(root: Path) -> dict[str, Path]:
    films, shows = root / "films", root / "shows"
    clip = make_clip(films / "Clip (2020)" / "Clip (2020).mp4", CLIP_S)
    (clip.parent / "Clip (2020).en.srt").write_text(_srt(SIDECAR_TEXT, CLIP_S))

    multi_dir = films / "Multi (2021)"
    multi_dir.mkdir(parents=True)
    embedded = root / "embedded.srt"
    embedded.write_text(_srt(EMBEDDED_TEXT, MULTI_S))
    chapters = root / "chapters.txt"
    chapters.write_text(
        ";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=3000\n"
        "title=Opening\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=3000\nEND=6000\n"
        "title=Ending\n"
    )
    multi = multi_dir / "Multi (2021).mkv"
    encode_two_language_film(
        multi, MULTI_S, "color=c=black:size=320x240:rate=24", embedded, chapters=chapters
    )
    (multi_dir / "Multi (2021).en.srt").write_text(_srt(SIDECAR_TEXT, MULTI_S))

    gone = make_clip(films / "Gone (2018)" / "Gone (2018).mp4", 1)
    # a film played to its end under Xvfb (back to its details, watched)
    ending = make_clip(films / "Credits (2015)" / "Credits (2015).mp4", 3)
    # Lossless 640x480: several MB a second, more than playbin buffers ahead, so a network
    # drop mid-play leaves bytes to fetch.
    heavy = films / "Heavy (2017)" / "Heavy (2017).mp4"
    heavy.parent.mkdir(parents=True)
    _ffmpeg(
        *_testsrc("640x480"),
        "-t",
        "8",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-qp",
        "0",
        "-g",
        "24",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        heavy,
    )

    hdr = films / "Bright (2022)" / "Bright (2022).mkv"
    hdr.parent.mkdir(parents=True)
    _ffmpeg(*_testsrc(), "-t", "1", *_hevc(HDR10_X265, "smpte2084"), hdr)

    # two versions of one film (issue 21, item 5): the details list both, Play picks 480p
    low = make_clip(films / "Twice (2016)" / "Twice (2016) - 240p.mp4", 2)
    high = make_clip(films / "Twice (2016)" / "Twice (2016) - 480p.mp4", 2, "854x480")

    season = shows / "Show (2019)" / "Season 01"
    episodes = [make_clip(season / f"Show - S01E0{n}.mp4", 2) for n in (1, 2)]
    for scratch in (embedded, chapters):
        scratch.unlink()
    return {
        "clip": clip,
        "multi": multi,
        "hdr": hdr,
        "e1": episodes[0],
        "e2": episodes[1],
        "gone": gone,
        "heavy": heavy,
        "films": films,
        "shows": shows,
        "v240": low,
        "v480": high,
        "ending": ending,
    }


@dataclass
class Served:
    app: RunningAppliance
    base: str
    token: str
    paths: dict[str, Path]
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Details of each generated file's item, by the keys of ``paths``."""

    def item_id(self, key: str) -> uuid.UUID:
        return uuid.UUID(self.items[key]["item"]["id"])

    def details(self, key: str) -> dict[str, Any]:
        status, body = http_json(
            "GET", f"{self.base}/api/v1/media/items/{self.item_id(key)}", token=self.token
        )
        assert status == 200, body
        return dict(body)


def _find(base: str, token: str, path: Path) -> dict[str, Any] | None:
    kinds = ["episode"] if "shows" in path.parts else ["movie"]
    status, page = http_json(
        "POST", base + "/api/v1/media/query", {"kinds": kinds, "limit": 50}, token=token
    )
    if status != 200:
        return None
    for item in page["items"]:
        status, details = http_json("GET", f"{base}/api/v1/media/items/{item['id']}", token=token)
        for file in details.get("files", []):
            if file["file_name"] == path.name and file["media_info"]:
                return dict(details)
    return None


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    root = short_tempdir("fxp")
    try:
        paths = make_library(root / "media")
        app = RunningAppliance(
            root / "var",
            env={"FERREX_MEDIA_PEAK_HOURS": "", "FERREX_SERVER_SHUTDOWN_GRACE_SECONDS": "2"},
        )
        base = app.wait_ready()
        token = admin_token(base)
        for name, kind in (("films", "movies"), ("shows", "series")):
            status, body = http_json(
                "POST",
                base + "/api/v1/libraries",
                {"name": name.title(), "kind": kind, "roots": [str(paths[name])]},
                token=token,
            )
            assert status == 201, body
        served = Served(app, base, token, paths)
        for key in ("clip", "multi", "hdr", "e1", "e2", "gone", "heavy", "v240", "v480", "ending"):

            def found(key: str = key) -> bool:
                details = _find(base, token, paths[key])
                if details is not None:
                    served.items[key] = details
                return details is not None

            assert wait_for(found, 90, interval=0.3), app.log_path.read_text()[-3000:]
        yield served
        app.stop()
    finally:
        for pid in live_processes_mentioning(str(root)):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)
