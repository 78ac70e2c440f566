"""Wayland: a headless weston (Debian's weston 10, headless backend with the pixman renderer)
as the compositor, the engine playing the appliance's stream into it through waylandsink, and
a frame read back with weston's screenshooter (enabled by ``--debug``).

What it shows: waylandsink presents our stream on a Wayland compositor (wl_shm buffers; there
is no GPU here, so no dmabuf), and for HDR10 it gets 8-bit RGB: GStreamer 1.22's waylandsink
has no colour-management protocol and its shm formats are 8-bit, so the player converts to SDR
and says so with the badge. What it cannot show here: the subsurface of the player's own Qt
window (PyQt6 does not hand out the wl_surface; see ``ui.playback.widget``); the sink makes its
own toplevel, which the compositor shows fullscreen.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import trio
from PIL import Image

from tests.playbackkit import Served
from ui.playback.client import StreamInfo, StreamingClient
from ui.playback.engine import Engine
from ui.playback.gst import element
from ui.playback.hdr import hdr_status, video_caps

pytest_plugins = ["tests.playbackkit"]
pytestmark = pytest.mark.slow


@dataclass
class Weston:
    runtime: Path
    socket: str
    proc: subprocess.Popen[bytes]
    log: Path

    def env(self) -> dict[str, str]:
        return {"XDG_RUNTIME_DIR": str(self.runtime), "WAYLAND_DISPLAY": self.socket}

    def screenshot(self) -> np.ndarray:
        before = set(self.runtime.glob("wayland-screenshot-*.png"))
        done = subprocess.run(["weston-screenshooter"], cwd=self.runtime, capture_output=True,
                              env={**os.environ, **self.env()}, timeout=10, check=False)
        assert done.returncode == 0, done.stderr
        shots = sorted(set(self.runtime.glob("wayland-screenshot-*.png")) - before)
        assert shots, "weston-screenshooter wrote no file"
        return np.asarray(Image.open(shots[-1]).convert("RGB")).astype(np.int16)


@pytest.fixture(scope="module")
def weston() -> Iterator[Weston]:
    assert shutil.which("weston"), "weston is not installed (scripts/deps.sh installs it)"
    runtime = Path(tempfile.mkdtemp(prefix="fxwl"))
    runtime.chmod(0o700)
    log = runtime / "weston.log"
    socket = "ferrex-test"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["weston", "--backend=headless-backend.so", "--use-pixman", f"--socket={socket}",
             "--width=640", "--height=480", "--idle-time=0", "--debug"],
            env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)}, stdout=out,
            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while not (runtime / socket).exists():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield Weston(runtime, socket, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(runtime, ignore_errors=True)


def stream(served: Served, key: str) -> StreamInfo:
    async def fetch() -> StreamInfo:
        client = StreamingClient.open(served.base, served.token)
        try:
            return await client.stream_info(served.item_id(key), from_start=True)
        finally:
            await client.aclose()

    return trio.run(fetch)


def play(weston: Weston, uri: str, seconds: float) -> tuple[Engine, list[str]]:
    os.environ.update(weston.env())  # waylandsink connects to $WAYLAND_DISPLAY
    sink = element("waylandsink")
    sink.set_property("fullscreen", True)
    audio = element("fakesink")
    audio.set_property("sync", True)
    engine = Engine(video_sink=sink, audio_sink=audio)
    engine.load(uri)
    kinds: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        event = engine.next_event(0.05)
        if event is not None:
            kinds.append(event.kind)
            assert event.kind != "error", event.error
    return engine, kinds


def test_waylandsink_presents_the_stream_on_a_headless_weston(
        served: Served, weston: Weston) -> None:
    saved = {k: os.environ.get(k) for k in ("XDG_RUNTIME_DIR", "WAYLAND_DISPLAY")}
    try:
        background = weston.screenshot()
        engine, kinds = play(weston, stream(served, "clip").uri, 1.5)
        try:
            assert "first_frame" in kinds
            frame = weston.screenshot()
        finally:
            engine.close()
        # testsrc2 is colourful; weston's background is grey.
        saturated = (frame.max(axis=2) - frame.min(axis=2)) > 100
        assert saturated.mean() > 0.2, "the video is on the compositor's screen"
        assert ((background.max(axis=2) - background.min(axis=2)) > 100).mean() < 0.05

        hdr = stream(served, "hdr")
        engine, kinds = play(weston, hdr.uri, 0.8)
        try:
            caps = video_caps(engine.current_video_caps())
        finally:
            engine.close()
        assert caps is not None and caps.depth == 8 and not caps.is_hdr, caps
        badge = hdr_status(hdr.hdr, "waylandsink")
        assert badge.badge == "HDR10 → SDR" and "colour management" in badge.reason
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
