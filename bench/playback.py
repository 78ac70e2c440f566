"""``playback``: from "play" to the first frame, and CPU while playing 1080p H.264, against a
real appliance on loopback.

Setup: a 1080p24 H.264/AAC clip (ffmpeg testsrc2, x264 ultrafast, key frame every second)
in a movie library of a real ``ferrex-appliance serve`` (throwaway data dir, claimed, scanned
and analysed). The player side is the player's own code: ``StreamingClient`` and ``Engine``
(playbin, souphttpsrc with a ticket), a video fakesink that keeps the clock (``sync``), so
decoding and conversion cost what they cost in the player but nothing is drawn.

* **first frame**: ``stream_info`` (item details + a new ticket, what the Play button does)
  then ``Engine.load`` until the first buffer reaches the video sink, per round; median.
  **engine only** is the part after ``stream_info``. **local file (baseline)**: the same
  engine on ``file://`` of the same clip. Target: <= 500 ms over loopback.
* **CPU while playing**: process CPU seconds (all threads: souphttpsrc, demux, avdec_h264
  threads, audio) over wall seconds while playing ``--play-seconds`` in real time; from the
  appliance and, as the baseline, from the local file. 1.0 = one core busy.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import trio

from bench.common import BenchError, Figure, Result, make_temp_dir


@dataclass(frozen=True)
class Params:
    rounds: int = 7
    play_seconds: float = 10.0
    clip_seconds: int = 14


def _clip(path: Path, seconds: int) -> None:
    path.parent.mkdir(parents=True)
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=24",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            str(seconds),
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
            "-movflags",
            "+faststart",
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )


def _engine() -> object:
    from ui.playback.engine import Engine
    from ui.playback.gst import element

    video, audio = element("fakesink"), element("fakesink")
    video.set_property("sync", True)
    audio.set_property("sync", True)
    return Engine(video_sink=video, audio_sink=audio)


def _first_frame(engine: object, uri: str, timeout: float = 20.0) -> float:
    from ui.playback.engine import Engine

    assert isinstance(engine, Engine)
    started = time.monotonic()
    engine.load(uri)
    while time.monotonic() - started < timeout:
        event = engine.next_event(0.05)
        if event is None:
            continue
        if event.kind == "error":
            raise BenchError(f"playback failed: {event.error}")
        if event.kind == "first_frame":
            return event.at - started
    raise BenchError(f"no first frame in {timeout:.0f} s")


def _cpu_while_playing(engine: object, uri: str, seconds: float) -> tuple[float, list[str]]:
    from ui.playback.engine import Engine

    assert isinstance(engine, Engine)
    _first_frame(engine, uri)
    wall0, cpu0 = time.monotonic(), time.process_time()
    while time.monotonic() - wall0 < seconds:
        event = engine.next_event(0.1)
        if event is not None and event.kind in ("eos", "error"):
            raise BenchError(f"playback ended early ({event.kind}): use a longer clip")
    cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    decoders = engine.decoders
    engine.stop()
    return cpu, decoders


def run(params: Params) -> Result:
    if shutil.which("ffmpeg") is None:
        raise BenchError("ffmpeg is not installed (Debian package ffmpeg)")
    if params.play_seconds >= params.clip_seconds - 1:
        raise BenchError("--play-seconds must be shorter than the clip")
    from tests.helpers import RunningAppliance, admin_token, http_json, wait_for
    from ui.playback.client import StreamingClient

    tmp = make_temp_dir()
    app = None
    try:
        clip = tmp / "films" / "Bench (2024)" / "Bench (2024).mp4"
        _clip(clip, params.clip_seconds)
        app = RunningAppliance(tmp / "var", env={"FERREX_MEDIA_PEAK_HOURS": ""})
        base = app.wait_ready()
        token = admin_token(base)
        status, body = http_json(
            "POST",
            base + "/api/v1/libraries",
            {"name": "Films", "kind": "movies", "roots": [str(tmp / "films")]},
            token=token,
        )
        if status != 201:
            raise BenchError(f"library: {status} {body}")
        found: list[uuid.UUID] = []

        def analysed() -> bool:
            status, page = http_json(
                "POST", base + "/api/v1/media/query", {"kinds": ["movie"]}, token=token
            )
            if status != 200 or not page["items"]:
                return False
            item = page["items"][0]["id"]
            _, details = http_json("GET", f"{base}/api/v1/media/items/{item}", token=token)
            if details["files"] and details["files"][0]["media_info"]:
                found.append(uuid.UUID(item))
                return True
            return False

        if not wait_for(analysed, 120, interval=0.3):
            raise BenchError("the clip was not analysed in 120 s")
        item_id = found[0]

        async def stream_uri() -> tuple[str, float]:
            client = StreamingClient.open(base, token)
            try:
                started = time.monotonic()
                info = await client.stream_info(item_id, from_start=True)
                return info.uri, time.monotonic() - started
            finally:
                await client.aclose()

        engine = _engine()
        local = clip.resolve().as_uri()
        _first_frame(engine, local)  # warm the registry and the page cache
        total, engine_only, baseline = [], [], []
        for _ in range(params.rounds):
            uri, info_s = trio.run(stream_uri)
            frame_s = _first_frame(engine, uri)
            total.append(info_s + frame_s)
            engine_only.append(frame_s)
            baseline.append(_first_frame(engine, local))
        uri, _ = trio.run(stream_uri)
        cpu_http, decoders = _cpu_while_playing(engine, uri, params.play_seconds)
        cpu_local, _ = _cpu_while_playing(engine, local, params.play_seconds)
        engine.close()  # type: ignore[attr-defined]
    finally:
        if app is not None:
            app.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    med = statistics.median
    return Result(
        benchmark="playback",
        summary=(
            f"1080p24 H.264/AAC from a real appliance on loopback, {params.rounds} "
            f"rounds; CPU over {params.play_seconds:.0f} s of real-time playback "
            f"(decoder: {', '.join(decoders) or '?'})"
        ),
        figures=[
            Figure("play -> first frame (median)", med(total), "s"),
            Figure("play -> first frame (max)", max(total), "s"),
            Figure("  engine only (median)", med(engine_only), "s"),
            Figure("  local file (baseline)", med(baseline), "s"),
            Figure("  appliance / local", med(engine_only) / med(baseline), "x"),
            Figure("CPU while playing (appliance)", cpu_http, "cores"),
            Figure("CPU while playing (local file)", cpu_local, "cores"),
            Figure("  appliance / local", cpu_http / cpu_local, "x"),
        ],
        params={
            "rounds": params.rounds,
            "play_seconds": params.play_seconds,
            "clip_seconds": params.clip_seconds,
            "decoders": decoders,
        },
        samples={
            "first_frame_s": total,
            "engine_only_s": engine_only,
            "local_first_frame_s": baseline,
        },
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.playback`` (until ``bench.run`` lists it)."""
    from bench.run import report

    parser = argparse.ArgumentParser(
        prog="python -m bench.playback",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=Params.rounds)
    parser.add_argument("--play-seconds", type=float, default=Params.play_seconds)
    args = parser.parse_args(argv)
    params = Params(rounds=max(1, args.rounds), play_seconds=args.play_seconds)
    return report("playback", lambda: run(params))


if __name__ == "__main__":
    sys.exit(main())
