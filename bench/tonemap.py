"""``tonemap``: what the player's GL tone mapping (``ui.playback.tonemap``) costs per frame.

Frames are what the HEVC decoder hands the player for an HDR10 file: I420_10LE with
``colorimetry=bt2100-pq`` and HDR10 metadata, made by ``videotestsrc`` (``--pattern``, default
``smpte``) so decoding is not in the figure. Three pipelines, each ``--frames`` frames after
``--warmup`` ones, ending in ``fakesink sync=false`` in BGRx (what xvimagesink/ximagesink take):

* **source**: the frames alone (``videotestsrc ! fakesink``); subtracted from the others.
* **flat (baseline)**: ``videoconvert`` to BGRx, the old path with no tone mapping.
* **tone-mapped**: the player's filter (videoconvert to ARGB64, upload, glcolorconvert, the
  fragment shader, download, videoconvert to BGRx).

Figures: milliseconds per frame (throughput: stages overlap in their own threads) and the ratio
tone-mapped / flat, both net of the source. Default 1920x1080 (on Mesa's llvmpipe where there is
no GPU); ``--size 3840x2160`` for 4K on a GPU. Run: ``.venv/bin/python -m bench.tonemap``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import dataclass

from bench.result import BenchError, Figure, Result

CAPS = (
    "video/x-raw,format=I420_10LE,width={w},height={h},framerate=24/1,"
    "colorimetry=bt2100-pq,content-light-level=1000:400,"
    "mastering-display-info=34000:16000:13250:34500:7500:3000:15635:16450:10000000:1"
)


@dataclass(frozen=True)
class Params:
    width: int = 1920
    height: int = 1080
    frames: int = 60
    warmup: int = 10
    pattern: str = "smpte"
    threads: int = 1
    """n-threads of the CPU conversions, in both the flat and the tone-mapped pipelines."""
    split: bool = True
    """The tone-mapped input converted in two steps (``ToneMapFilter``'s default); False: one
    single-threaded step, as before."""


def _run(params: Params, middle: str) -> float:
    """Seconds for ``params.frames`` frames through ``middle`` (``None``: source alone)."""
    from ui.playback.gst import Gst, element
    from ui.playback.tonemap import ToneMapFilter

    pipeline = Gst.Pipeline.new("bench")
    src = element("videotestsrc")
    src.set_property("pattern", params.pattern)
    src.set_property("num-buffers", params.frames + params.warmup)
    caps = element("capsfilter")
    caps.set_property("caps", Gst.Caps.from_string(CAPS.format(w=params.width, h=params.height)))
    parts: list[Gst.Element] = [src, caps]
    if middle == "flat":
        convert = element("videoconvert")
        convert.set_property("n-threads", params.threads)
        parts.append(convert)
    elif middle == "tonemap":
        parts.append(ToneMapFilter(threads=params.threads, split=params.split).bin)
    if middle != "source":
        out = element("capsfilter")
        out.set_property("caps", Gst.Caps.from_string("video/x-raw,format=BGRx"))
        parts.append(out)
    sink = element("fakesink")
    sink.set_property("sync", False)
    sink.set_property("signal-handoffs", True)
    parts.append(sink)
    for part in parts:
        pipeline.add(part)
    for a, b in itertools.pairwise(parts):
        if not a.link(b):
            raise BenchError(f"cannot link {a.get_name()} to {b.get_name()}")
    seen = [0]
    started = [0.0]

    def handoff(*_args: object) -> None:
        seen[0] += 1
        if seen[0] == params.warmup:
            started[0] = time.perf_counter()

    sink.connect("handoff", handoff)
    pipeline.set_state(Gst.State.PLAYING)
    try:
        bus = pipeline.get_bus()
        msg = bus.timed_pop_filtered(600 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        ended = time.perf_counter()
        if msg is None or msg.type == Gst.MessageType.ERROR:
            detail = msg.parse_error()[0].message if msg is not None else "timeout"
            raise BenchError(f"{middle}: {detail}")
    finally:
        pipeline.set_state(Gst.State.NULL)
    return ended - started[0]


def run(params: Params) -> Result:
    from ui.playback.snapshot import _display

    with _display():
        from ui.playback.gst import Gst

        source = _run(params, "source")
        flat = _run(params, "flat")
        mapped = _run(params, "tonemap")
    n = params.frames
    flat_ms = max(flat - source, 0.0) / n * 1000
    mapped_ms = max(mapped - source, 0.0) / n * 1000
    major, minor, _micro, _nano = Gst.version()
    return Result(
        benchmark="tonemap",
        summary=(
            f"{params.width}x{params.height} I420_10LE PQ, {n} frames after "
            f"{params.warmup}, {params.threads} conversion thread(s), GStreamer {major}.{minor}"
        ),
        figures=[
            Figure("source alone, per frame", source / n * 1000, "ms"),
            Figure("flat conversion (baseline), per frame", flat_ms, "ms"),
            Figure("tone-mapped (GL), per frame", mapped_ms, "ms"),
            Figure("tone-mapped / flat", mapped_ms / flat_ms if flat_ms else 0.0, "x"),
        ],
        params={
            "width": params.width,
            "height": params.height,
            "frames": n,
            "warmup": params.warmup,
            "pattern": params.pattern,
            "threads": params.threads,
            "split": params.split,
        },
        samples={"wall_s": [source, flat, mapped]},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.tonemap", description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1920x1080", help="WxH (default 1920x1080)")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--pattern", default="smpte")
    parser.add_argument("--threads", type=int, default=1, help="n-threads of the conversions")
    parser.add_argument("--no-split", action="store_true", help="the one-step input conversion")
    args = parser.parse_args(argv)
    width, height = (int(x) for x in args.size.split("x"))
    from bench.run import report

    params = Params(
        width, height, args.frames, args.warmup, args.pattern, args.threads, not args.no_split
    )
    return report("tonemap", lambda: run(params))


if __name__ == "__main__":
    sys.exit(main())
