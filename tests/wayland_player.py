"""The player's window on a Wayland compositor, run as its own process by
tests/test_playback_wayland.py (the test session's own QApplication is on Xvfb, and Qt picks
its platform once per process).

``python -m tests.wayland_player BASE TOKEN URI`` with ``QT_QPA_PLATFORM=wayland`` and the
compositor's ``WAYLAND_DISPLAY``: a ``PlayerView`` (the real player screen: overlay sink from
``overlay_sink``, ``VideoSurface``, controls bar) plays URI. It prints one JSON line per
state the test asks about and reads commands from stdin: ``resize W H``, ``state``, ``quit``.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading

import trio
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication, QStackedWidget

from ui.playback.client import StreamingClient
from ui.playback.engine import Engine
from ui.playback.gst import element
from ui.playback.progress import MemoryQueue, Queued, RestProgressSink
from ui.playback.session import PlaybackSession
from ui.playback.wayland import leave, without_client_frame
from ui.playback.widget import PlayerView, overlay_sink


def main(base: str, token: str, uri: str) -> int:
    without_client_frame()  # as ui.app does
    app = QApplication([])
    sink, note = overlay_sink()
    if os.environ.get("FERREX_TEST_SINK_ASKS"):
        # A sink not given the display: it must get Qt's on the bus (need-context).
        sink, note = element("waylandsink"), "waylandsink (asks for the display)"
    audio = element("fakesink")
    audio.set_property("sync", True)
    engine = Engine(video_sink=sink, audio_sink=audio)
    client = StreamingClient.open(base, token)
    session = PlaybackSession(engine, client, Queued(RestProgressSink(client), MemoryQueue()))
    window = QStackedWidget()  # as in the app: the player is a screen of the window's stack
    window.setWindowTitle("ferrex-wayland-test")
    view = PlayerView(session, sink, hide_after_ms=600_000)  # the bar stays for the shots
    window.addWidget(view)
    window.setCurrentWidget(view)
    window.resize(640, 440)  # the largest size the test asks for: placed on the screen whole
    window.show()
    seen: list[str] = []
    commands: queue.Queue[str] = queue.Queue()

    def say(**fields: object) -> None:
        print(json.dumps(fields), flush=True)

    def read() -> None:
        for line in sys.stdin:
            commands.put(line.strip())
        commands.put("quit")

    def state() -> None:
        say(
            platform=app.platformName(),
            note=note,
            seen=seen,
            playing=engine.playing,
            view=[view.width(), view.height()],
            video=list(view.video.rectangle or ()),
            bar=[
                view.controls.x(),
                view.controls.y(),
                view.controls.width(),
                view.controls.height(),
            ],
            bar_visible=view.controls.isVisible(),
            surface=int(view.video.winId()),
        )

    def tick() -> None:
        while (event := engine.next_event(0.001)) is not None:
            if event.kind == "error":
                say(error=str(event.error))
            seen.append(event.kind if event.kind != "state" else event.state)
        try:
            command = commands.get_nowait()
        except queue.Empty:
            return
        if command.startswith("resize"):
            _, width, height = command.split()
            window.resize(int(width), int(height))
            QTimer.singleShot(300, state)
        elif command == "state":
            state()
        elif command == "quit":
            engine.close()
            app.quit()

    threading.Thread(target=read, daemon=True).start()
    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    engine.load(uri)
    code = app.exec()
    trio.run(client.aclose)
    return code


if __name__ == "__main__":
    leave(main(*sys.argv[1:4]))  # as ferrex-player does on Wayland
