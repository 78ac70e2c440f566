"""An audio track switched while a resumed play is still landing never freezes the player.

The resume seek runs just after the first frame, and that is when someone picks another audio
track (or a test does): playbin 1.22 deadlocked about one such switch in thirty, the UI
thread stuck for ever in the flushing seek that follows the switch (seen under Xvfb in
``tests/test_player_download_play.py``: a stall with no output until CI's limit). The engine
now makes the switch once the pipeline has settled (``Engine._switch``). Here the switch comes
at that moment, many times over, on the engine alone (file:// and real-time fake sinks): each
call returns at once and the track is the one asked for soon after."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.media_fixtures import _ffmpeg
from tests.playbackkit import H264, _sine
from ui.playback.engine import Engine
from ui.playback.gst import Gst, element

pytestmark = pytest.mark.slow

TRIES = 60


def _two_tracks(path: Path) -> Path:
    _ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=24"),
        *_sine(440),
        *_sine(880),
        *("-t", "6", "-map", "0:v", "-map", "1:a", "-map", "2:a"),
        *H264,
        *("-c:a", "aac", "-ac", "1"),
        path,
    )
    return path


def _sink() -> Gst.Element:
    sink = element("fakesink")
    sink.set_property("sync", True)  # real time, as a player's sinks
    return sink


def _first_frame(engine: Engine, timeout_s: float) -> bool:
    """Read the bus (what the session's thread does) until the first frame is shown."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        event = engine.next_event(0.05)
        if event is not None and event.kind == "first_frame":
            return True
    return False


def test_switching_audio_while_the_resume_lands_never_blocks(tmp_path: Path) -> None:
    uri = _two_tracks(tmp_path / "two.mkv").as_uri()
    for attempt in range(TRIES):
        engine = Engine(video_sink=_sink(), audio_sink=_sink())
        engine.load(uri, start_s=2.5)
        assert _first_frame(engine, 15), f"no first frame (try {attempt})"
        returned = threading.Event()

        def switch(engine: Engine = engine, returned: threading.Event = returned) -> None:
            engine.select_audio(1)
            returned.set()

        # in a thread of its own: the old deadlock would hang the test, not fail it
        threading.Thread(target=switch, daemon=True).start()
        if not returned.wait(5):
            # left as it is: closing a deadlocked pipeline blocks too
            pytest.fail(f"select_audio blocked: the pipeline deadlocked (try {attempt})")
        deadline = time.monotonic() + 10
        while engine.audio_track != 1 and time.monotonic() < deadline:
            engine.next_event(0.05)
        assert engine.audio_track == 1, f"the switch was never made (try {attempt})"
        engine.close()
