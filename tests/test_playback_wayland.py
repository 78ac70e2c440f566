"""Wayland: a headless weston (Debian's weston 10, headless backend with the pixman renderer)
as the compositor, the engine playing the appliance's stream into it through waylandsink, and
a frame read back with weston's screenshooter (enabled by ``--debug``).

What it shows: waylandsink presents our stream on a Wayland compositor (wl_shm buffers; there
is no GPU here, so no dmabuf), and for HDR10 it gets 8-bit RGB: GStreamer 1.22's waylandsink
has no colour-management protocol and its shm formats are 8-bit, so the player converts to SDR
and says so with the badge. And the player itself on Wayland (``QT_QPA_PLATFORM=wayland``, in
its own process: tests/wayland_player.py): the video is a subsurface inside the player's
window, under the controls bar, and follows a resize (see ``ui.playback.wayland``).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio
from PIL import Image

from tests.playbackkit import Served
from ui.playback.client import StreamInfo, StreamingClient
from ui.playback.engine import Engine
from ui.playback.gst import element
from ui.playback.hdr import hdr_status, video_caps
from ui.playback.hdr_route import decide, probe_facts
from ui.playback.wayland import NO_CLIENT_FRAME

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
        done = subprocess.run(
            ["weston-screenshooter"],
            cwd=self.runtime,
            capture_output=True,
            env={**os.environ, **self.env()},
            timeout=10,
            check=False,
        )
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
            [
                "weston",
                "--backend=headless-backend.so",
                "--use-pixman",
                f"--socket={socket}",
                "--width=1024",
                "--height=768",
                "--idle-time=0",
                "--debug",
            ],
            env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
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
    served: Served, weston: Weston
) -> None:
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
        badge = hdr_status(hdr.hdr, decide(hdr.hdr, probe_facts("waylandsink")))
        assert badge.badge == "HDR10 → SDR (tone mapped)" and "colour management" in badge.reason
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Player:
    """tests/wayland_player.py in its own process, a line protocol on stdin/stdout."""

    def __init__(self, weston: Weston, served: Served, uri: str, **extra: str) -> None:
        env = {**os.environ, **weston.env(), "QT_QPA_PLATFORM": "wayland", **extra}
        env.pop("DISPLAY", None)  # Qt must not fall back to the session's Xvfb
        env.pop(NO_CLIENT_FRAME, None)  # the player sets it itself (as ui.app does)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.wayland_player", served.base, served.token, uri],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.errors: list[str] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(
            target=self._read, args=(self.proc.stdout, self.lines.put), daemon=True
        ).start()
        threading.Thread(
            target=self._read, args=(self.proc.stderr, self.errors.append), daemon=True
        ).start()

    @staticmethod
    def _read(stream: Any, put: Any) -> None:
        for line in stream:
            put(line.rstrip("\n"))

    def ask(self, command: str, timeout: float = 10.0) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0 and self.proc.poll() is None, "\n".join(self.errors[-30:])
            try:
                answer: dict[str, Any] = json.loads(self.lines.get(timeout=left))
            except queue.Empty:
                continue
            assert "error" not in answer, answer
            return answer

    def wait_playing(self) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while "PLAYING" not in (state := self.ask("state"))["seen"]:
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
        return state

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


BAR = 20  # ControlsBar's #141414


def find_bar(frame: np.ndarray) -> tuple[int, int, int, int]:
    """The controls bar on the screen (x, y, width, height): the rows of weston's screen
    below its panel mostly in the bar's colour."""
    dark = (np.abs(frame - BAR) <= 4).all(axis=2)
    dark[:40] = False  # weston's panel
    rows = np.nonzero(dark.sum(axis=1) >= 100)[0]
    assert rows.size, "no controls bar on the screen"
    top, bottom = int(rows.min()), int(rows.max())
    cols = np.nonzero(dark[top : bottom + 1].sum(axis=0) >= 10)[0]
    return int(cols.min()), top, int(cols.max() - cols.min() + 1), bottom - top + 1


def saturated(region: np.ndarray) -> float:
    return float(((region.max(axis=2) - region.min(axis=2)) > 100).mean())


def bars_of_testsrc(region: np.ndarray) -> set[str]:
    """Which of testsrc2's colour bars are in ``region`` (each pure to within 40)."""
    colours = {
        "red": (255, 0, 0),
        "green": (0, 255, 0),
        "yellow": (255, 255, 0),
        "blue": (0, 0, 255),
        "magenta": (255, 0, 255),
        "cyan": (0, 255, 255),
    }
    found = set()
    for name, rgb in colours.items():
        if ((np.abs(region - np.array(rgb)) <= 40).all(axis=2)).mean() > 0.02:
            found.add(name)
    return found


def check_window(
    weston: Weston, state: dict[str, Any]
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A screenshot with the player window in it: the video rectangle, the bar over it."""
    frame = weston.screenshot()
    width, height = state["view"]
    bar_x, bar_y, bar_w, bar_h = find_bar(frame)
    screen_w = frame.shape[1]
    # The whole bar is drawn (over the video's lower part: the render rectangle is the
    # widget's whole size, so without the bar above it, video would be there).
    assert abs(bar_h - state["bar"][3]) <= 2, (bar_h, state)
    assert abs(bar_w - min(width, screen_w - bar_x)) <= 2, (bar_w, bar_x, state)
    bar = frame[bar_y : bar_y + bar_h, bar_x : bar_x + bar_w]
    assert saturated(bar) < 0.01, "the controls are drawn above the video"
    top = bar_y - state["bar"][1]  # the window's top on the screen
    assert top >= 0, (top, state)
    video = frame[top:bar_y, bar_x : bar_x + bar_w]
    picture = video[:, (video.max(axis=(0, 2)) > 60)]  # less the letterbox sides
    assert picture.shape[1] >= 0.6 * bar_w, "the picture fills the video rectangle"
    assert saturated(picture) > 0.5, "the test clip's colours in the window"
    assert {"red", "green", "blue", "yellow"} <= bars_of_testsrc(picture)
    above = frame[max(40, top - 40) : max(40, top - 2), bar_x : bar_x + bar_w]
    assert saturated(above) < 0.01, "no video outside the window"
    return frame, (bar_x, top, bar_w, height)


def settled_window(
    weston: Weston, state: dict[str, Any], timeout: float = 6.0
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """``check_window`` once the compositor shows the new state (a loaded machine takes a
    while to present a resize); its last failure if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check_window(weston, state)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def test_player_window_on_wayland_shows_the_video_under_its_controls_and_follows_a_resize(
    served: Served, weston: Weston
) -> None:
    """The player's own window on a Wayland compositor: waylandsink draws the film as a
    subsurface of the video widget (Qt's wl_display and wl_surface), the controls bar is
    drawn over it, and the video follows the window's new size."""
    player = Player(weston, served, stream(served, "clip").uri)
    try:
        state = player.wait_playing()
        assert state["platform"] == "wayland" and "waylandsink" in state["note"], state
        assert state["surface"], "the video widget's wl_surface"
        time.sleep(0.5)

        # The window opens at its largest size (so weston places it on the screen whole
        # and no later size reaches past the screen's edge).
        first, (left, top, width, _) = settled_window(weston, state)
        assert width == state["view"][0] == 640
        # waylandsink keeps presenting on Qt's display from its own thread: the picture
        # moves on (testsrc2's clock and sweep) shot after shot.
        moved = 0
        previous = first
        for _ in range(6):
            time.sleep(0.3)
            frame = weston.screenshot()
            region = (slice(top, top + 200), slice(left, left + 300))
            moved += int(np.abs(frame[region] - previous[region]).max() > 60)
            previous = frame
        assert moved >= 3, "the video keeps playing in the window"

        small = player.ask("resize 400 300")
        assert small["view"] == [400, 300] and small["video"] == [0, 0, 400, 300], small
        time.sleep(0.6)
        _, (left, top, width, _) = settled_window(weston, small)
        assert width == 400
        bigger = player.ask("resize 560 400")
        assert bigger["view"] == [560, 400] and bigger["video"] == [0, 0, 560, 400], bigger
        time.sleep(0.6)
        after, (left2, top2, width2, _) = settled_window(weston, bigger)
        assert (left2, top2) == (left, top), "the window stayed where it was"
        assert width2 == 560
        # The picture now also covers what was outside the old window.
        grown = after[top + 40 : top + 280, left + width + 20 : left + width2 - 40]
        assert saturated(grown) > 0.3, "the video follows the window's new size"

        # Stress: Qt commits new sizes on its thread while waylandsink presents and moves
        # its subsurface on the streaming thread, both on Qt's wl_display.
        for width, height in ((480, 360), (400, 300), (620, 420), (440, 330)) * 2:
            assert player.ask(f"resize {width} {height}")["video"] == [0, 0, width, height]
        smaller = player.ask("resize 420 320")
        assert smaller["video"] == [0, 0, 420, 320], smaller
        time.sleep(0.6)
        settled_window(weston, smaller)
    finally:
        player.close()
    assert player.proc.returncode == 0, "\n".join(player.errors[-30:])


def test_a_sink_without_the_display_gets_qts_on_the_bus(served: Served, weston: Weston) -> None:
    """A waylandsink not given the display up front asks on the bus (need-context) when it
    gets the window handle; the engine's sync handler answers with Qt's ``wl_display`` (with
    its own connection the sink could not embed into Qt's surface: a protocol error)."""
    player = Player(weston, served, stream(served, "clip").uri, FERREX_TEST_SINK_ASKS="1")
    try:
        state = player.wait_playing()
        assert "asks for the display" in state["note"], state
        time.sleep(0.5)
        settled_window(weston, state)
    finally:
        player.close()
    assert player.proc.returncode == 0, "\n".join(player.errors[-30:])


def test_no_client_side_frame_on_wayland_only() -> None:
    """Qt's client-side frame offsets the controls' pixels (see ``without_client_frame``):
    turned off when Qt will run on Wayland, left alone on X11 and when the user chose."""
    from ui.playback.wayland import without_client_frame

    for env, off in (
        ({"QT_QPA_PLATFORM": "wayland"}, True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, True),
        ({"XDG_SESSION_TYPE": "wayland"}, True),
        ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, False),
        ({"DISPLAY": ":0"}, False),
        ({"QT_QPA_PLATFORM": "wayland", NO_CLIENT_FRAME: "0"}, False),
    ):
        before = dict(env)
        assert without_client_frame(env) is off, before
        assert (env.get(NO_CLIENT_FRAME) == "1") is off or NO_CLIENT_FRAME in before, env
