"""The media API on a real appliance process: a generated H.264/AAC file is scanned and analysed,
found with a query, streamed to a real HTTP client (ranges, HEAD, 416) and played by a real media
client, GStreamer's playbin over souphttpsrc with a playback-ticket URL, to EOS with a seek."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.helpers import (
    REPO,
    RunningAppliance,
    admin_token,
    http_json,
    wait_for,
)

pytestmark = pytest.mark.slow
SYSTEM_PYTHON = "/usr/bin/python3"
SECONDS = 6


def _has_gst() -> bool:
    probe = [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('Gst', '1.0')"]
    return (
        os.path.exists(SYSTEM_PYTHON) and subprocess.run(probe, capture_output=True).returncode == 0
    )


def make_clip(folder: Path) -> Path:
    folder.mkdir(parents=True)
    clip = folder / "Clip (2020).mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=24",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            str(SECONDS),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "24",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-movflags",
            "+faststart",
            str(clip),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    (folder / "Clip (2020).en.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHi\n")
    return clip


def request(
    base: str, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def test_real_clients_stream_and_gstreamer_plays_to_eos_with_a_seek(workdir: Path) -> None:
    clip = make_clip(workdir / "films" / "Clip (2020)")
    app = RunningAppliance(workdir / "var", env={"FERREX_MEDIA_PEAK_HOURS": ""})
    try:
        base = app.wait_ready()
        token = admin_token(base)
        status, library = http_json(
            "POST",
            base + "/api/v1/libraries",
            {"name": "Films", "kind": "movies", "roots": [str(workdir / "films")]},
            token=token,
        )
        assert status == 201, library

        found: dict[str, Any] = {}

        def analysed() -> bool:
            status, page = http_json(
                "POST",
                base + "/api/v1/media/query",
                {"kinds": ["movie"], "search": "clip"},
                token=token,
            )
            if status != 200 or not page["items"]:
                return False
            status, details = http_json(
                "GET", base + f"/api/v1/media/items/{page['items'][0]['id']}", token=token
            )
            if details["files"] and details["files"][0]["media_info"]:
                found.update(details)
                return True
            return False

        assert wait_for(analysed, 90, interval=0.3), app.log_path.read_text()[-3000:]
        file = found["files"][0]
        info = file["media_info"]
        assert info["video"]["codec"] == "h264" and info["audio"][0]["codec"] == "aac"
        size = clip.stat().st_size
        payload = clip.read_bytes()
        auth = {"Authorization": f"Bearer {token}"}
        url = f"/api/v1/stream/{file['id']}"

        # A real HTTP client: HEAD, ranges, 416.
        status, headers, body = request(base, "HEAD", url, auth)
        assert status == 200 and body == b"" and headers["content-length"] == str(size)
        assert headers["content-type"] == "video/mp4" and headers["accept-ranges"] == "bytes"
        status, headers, body = request(base, "GET", url, {**auth, "Range": "bytes=100-1099"})
        assert status == 206 and body == payload[100:1100]
        assert headers["content-range"] == f"bytes 100-1099/{size}"
        status, headers, body = request(base, "GET", url, {**auth, "Range": "bytes=-1000"})
        assert status == 206 and body == payload[-1000:]
        status, headers, _ = request(base, "GET", url, {**auth, "Range": f"bytes={size}-"})
        assert status == 416 and headers["content-range"] == f"bytes */{size}"
        status, _, body = request(base, "GET", url, auth)
        assert status == 200 and body == payload

        status, ticket = http_json(
            "POST", base + "/api/v1/stream/tickets", {"file_id": file["id"]}, token=token
        )
        assert status == 201, ticket
        status, _, body = request(
            base, "GET", ticket["url"].replace(url, url + "/subtitles/0") + "&format=vtt"
        )
        assert status == 200 and body.startswith(b"WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.000")
        assert request(base, "GET", url)[0] == 401, "no ticket, no token"

        assert _has_gst(), "GStreamer's Python bindings are missing: run scripts/deps.sh --test"
        started = time.monotonic()
        played = subprocess.run(
            [
                SYSTEM_PYTHON,
                str(REPO / "tests" / "gst_client.py"),
                base + ticket["url"],
                "--seek",
                "3.0",
                "--timeout",
                "60",
            ],
            capture_output=True,
            text=True,
            timeout=90,
        )
        elapsed = time.monotonic() - started
        assert played.returncode == 0, played.stdout + played.stderr
        result = json.loads(played.stdout.strip().splitlines()[-1])
        assert result["eos"] and result["seeked"] and not result["errors"], result
        assert result["after_seek"] >= 2.5, result
        assert abs(result["duration"] - SECONDS) < 0.5, result
        # Real-time playback: the seek skipped ~3 of the 6 seconds.
        assert result["elapsed"] < SECONDS - 1.5, (result, elapsed)
        ranged = [e for e in app.log_lines() if e.get("path") == url and e.get("status") == 206]
        assert ranged, "GStreamer asked for a byte range when it seeked"
    finally:
        app.stop()
