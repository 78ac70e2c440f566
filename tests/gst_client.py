"""A real media client for the streaming tests: GStreamer's playbin (souphttpsrc for http URLs)
plays a URL to the end, seeking once on the way, with fake sinks that keep the real clock.

Run with the system Python that has PyGObject (Debian's python3-gi), not the venv:
``/usr/bin/python3 tests/gst_client.py URL --seek 2.0``. Prints one JSON line: what happened.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--seek", type=float, default=None, help="seconds to seek to once playing")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    Gst.init(None)
    playbin = Gst.ElementFactory.make("playbin", None)
    playbin.set_property("uri", args.url)
    playbin.set_property("video-sink", Gst.ElementFactory.make("fakesink", None))
    playbin.set_property("audio-sink", Gst.ElementFactory.make("fakesink", None))
    for sink in (playbin.get_property("video-sink"), playbin.get_property("audio-sink")):
        sink.set_property("sync", True)
    errors: list[str] = []
    result: dict[str, object] = {"eos": False, "seeked": False, "errors": errors}
    bus = playbin.get_bus()
    playbin.set_state(Gst.State.PLAYING)
    started = time.monotonic()
    deadline = started + args.timeout
    seek_done = args.seek is None
    while time.monotonic() < deadline:
        msg = bus.timed_pop_filtered(100 * Gst.MSECOND, Gst.MessageType.ANY)
        if msg is None:
            continue
        if msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            errors.append(f"{err.message} | {debug}")
            break
        if msg.type == Gst.MessageType.EOS:
            result["eos"] = True
            break
        if msg.type == Gst.MessageType.ASYNC_DONE and not seek_done:
            # Prerolled and playing: seek (flushing, to a key frame) and note where we land.
            ok = playbin.seek_simple(
                Gst.Format.TIME,
                Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT,
                int(args.seek * Gst.SECOND),
            )
            seek_done = True
            result["seeked"] = bool(ok)
            result["seek_requested_at"] = time.monotonic() - started
        if (
            msg.type == Gst.MessageType.ASYNC_DONE
            and seek_done
            and "after_seek" not in result
            and result["seeked"]
        ):
            found, position = playbin.query_position(Gst.Format.TIME)
            if found:
                result["after_seek"] = position / Gst.SECOND
        if msg.type == Gst.MessageType.DURATION_CHANGED or "duration" not in result:
            found, duration = playbin.query_duration(Gst.Format.TIME)
            if found:
                result["duration"] = duration / Gst.SECOND
    result["elapsed"] = time.monotonic() - started
    playbin.set_state(Gst.State.NULL)
    print(json.dumps(result))
    return 0 if result["eos"] else 1


if __name__ == "__main__":
    sys.exit(main())
