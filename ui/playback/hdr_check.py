"""``python -m ui.playback.hdr_check [--play FILE]``: the HDR route here, the facts behind it,
and (with ``--play``) a file played through the player's own pipeline for that route.

For bug reports ("why is my HDR film tone-mapped?") and for the Debian sid demonstration of
passthrough (``scripts/hdr-passthrough-sid.sh``). It needs only GStreamer through PyGObject (no
Qt, no server): ``--play`` uses the player's ``Engine`` (one playbin) with the sink the player
window would use on this platform, installs the tone-mapping filter exactly as a playback
session does (``tonemap.install``: none for passthrough), plays, and prints the caps negotiated
at the sink. Exit status 0 when the route's promise holds at the sink: for passthrough, 10-bit
frames with the stream's HDR colorimetry and metadata; otherwise, that something played.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ui.playback import tonemap
from ui.playback.engine import Engine
from ui.playback.gst import element
from ui.playback.hdr import hdr_status, video_caps
from ui.playback.hdr_route import Decision, Facts, Route, decide, probe_facts, window_sink


def describe(facts: Facts) -> list[str]:
    lines = [
        f"GStreamer {facts.gst[0]}.{facts.gst[1]}, sink {facts.sink}, "
        f"platform {facts.platform or 'none'}, GL tone mapping "
        + ("available" if facts.gl else "missing"),
    ]
    color = facts.compositor
    if color is None:
        lines.append(
            "compositor: not asked" + (f" ({facts.probe_error})" if facts.probe_error else "")
        )
    elif not color.version:
        lines.append(f"compositor: no wp_color_manager_v1 among its {len(color.globals)} globals")
    else:
        lines.append(
            f"compositor: wp_color_manager_v1 v{color.version}; features "
            f"{', '.join(sorted(color.features))}; transfer functions "
            f"{', '.join(sorted(color.transfers))}; primaries {', '.join(sorted(color.primaries))}"
        )
        lines.extend(
            f"output {i}: {o.describe()}" + (" (HDR)" if o.hdr else " (SDR)")
            for i, o in enumerate(color.outputs)
        )
    return lines


def _play(path: Path, sink_name: str, source: str, decision: Decision, seconds: float) -> int:
    sink = element(sink_name)
    audio = element("fakesink")
    audio.set_property("sync", True)
    engine = Engine(video_sink=sink, audio_sink=audio)
    mapped = tonemap.install(engine.playbin, source, decision.passthrough)
    print(f"pipeline: playbin → {'tone-mapping filter → ' if mapped else ''}{sink_name}")
    engine.load(path.resolve().as_uri())
    framed = False
    deadline = time.monotonic() + seconds + 10.0
    shown_until: float | None = None
    while time.monotonic() < deadline:
        event = engine.next_event(0.05)
        if event is not None and event.kind == "error":
            print(f"error: {event.error}")
            engine.close()
            return 1
        if event is not None and event.kind == "first_frame" and not framed:
            framed = True
            shown_until = time.monotonic() + seconds
        if shown_until is not None and time.monotonic() >= shown_until:
            break
    caps = engine.current_video_caps()
    engine.close()
    if not framed or caps is None:
        print("no frame reached the sink")
        return 1
    print(f"caps at {sink_name}: {caps.to_string()}")
    seen = video_caps(caps)
    if not decision.passthrough:
        return 0
    held = (
        seen is not None
        and seen.depth >= 10
        and seen.is_hdr
        and (seen.mastering_display is not None or source != "HDR10")
    )
    print(
        "passthrough: "
        + ("10-bit HDR frames and metadata at the sink" if held else "HDR lost before the sink")
    )
    return 0 if held else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.playback.hdr_check", description=__doc__)
    parser.add_argument("--sink", help="video sink factory (default: the player window's)")
    parser.add_argument("--source", default="HDR10", help="HDR10, HLG or DolbyVision")
    parser.add_argument("--play", type=Path, metavar="FILE", help="play FILE through the route")
    parser.add_argument("--seconds", type=float, default=2.0, help="how long to play")
    args = parser.parse_args(argv)
    sink = args.sink or window_sink()
    facts = probe_facts(sink)
    decision = decide(args.source, facts)
    for line in describe(facts):
        print(line)
    status = hdr_status(args.source, decision)
    print(f"route: {decision.route.value}")
    print(f"badge: {status.badge}")
    print(f"status: {status.reason}")
    if args.play is None:
        return 0
    if decision.route is Route.SDR:
        return 0
    return _play(args.play, sink, args.source, decision, args.seconds)


if __name__ == "__main__":
    sys.exit(main())
