"""Run the Ferrex benchmarks: ``.venv/bin/python -m bench.run [all|bridge|coldstart|analyze|scan]``.

Prints a table per benchmark and writes ``bench/results/<benchmark>-<time>.json`` (git-ignored).
Each benchmark reports ratios to a baseline measured in the same run; compare ratios across
machines, absolute figures only on the same machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    analyze,
    auth,
    bridge,
    coldstart,
    firstscan,
    grid,
    images,
    media,
    memory,
    naming,
    playback,
    player_memory,
    replica,
    scan,
)
from bench.common import BenchError, Result

RESULTS = Path(__file__).resolve().parent / "results"
FORMATS = {
    "qps": "{:,.0f}",
    "s": "{:.3f}",
    "us": "{:.1f}",
    "x": "{:.2f}",
    "n": "{:,.0f}",
    "files/s": "{:,.0f}",
    "posters/s": "{:,.1f}",
    "items/s": "{:,.1f}",
    "req/s": "{:,.1f}",
    "ms": "{:.2f}",
    "%": "{:.1f}",
    "uploads/s": "{:,.0f}",
    "MiB": "{:,.0f}",
}


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def sizes(text: str) -> tuple[int, ...]:
    values = tuple(positive(part) for part in text.split(",") if part.strip())
    if not values:
        raise argparse.ArgumentTypeError("expected N[,N...]")
    return values


def trigger_variants(text: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    if not values or any(v not in ("on", "off") for v in values):
        raise argparse.ArgumentTypeError("expected on|off[,on|off...]")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "benchmark",
        nargs="?",
        default="all",
        choices=[
            "all",
            "bridge",
            "coldstart",
            "analyze",
            "auth",
            "scan",
            "images",
            "media",
            "grid",
            "replica",
            "playback",
            "naming",
            "firstscan",
            "memory",
            "player-memory",
        ],
    )
    parser.add_argument(
        "--rounds", type=positive, default=5, help="bridge, analyze: rounds (default 5)"
    )
    parser.add_argument(
        "--queries",
        type=positive,
        default=3000,
        help="bridge: queries per mode per round (default 3000)",
    )
    parser.add_argument(
        "--concurrency",
        type=positive,
        default=8,
        help="bridge: concurrent tasks and pool size (default 8)",
    )
    parser.add_argument(
        "--starts", type=positive, default=3, help="coldstart: starts of each kind (default 3)"
    )
    parser.add_argument(
        "--logins", type=positive, default=10, help="auth: logins per round (default 10)"
    )
    parser.add_argument(
        "--requests",
        type=positive,
        default=1000,
        help="auth: requests per route mode per round (default 1000)",
    )
    parser.add_argument(
        "--files",
        type=sizes,
        default=(30_000, 3_000),
        help="scan: generated files per tree, comma-separated (default 30000,3000)",
    )
    parser.add_argument(
        "--raw-rounds",
        type=positive,
        default=3,
        help="scan: raw walk + COPY rounds before and after the scans (default 3)",
    )
    parser.add_argument(
        "--rescans",
        type=positive,
        default=3,
        help="scan: unchanged rescans after the full scan (default 3)",
    )
    parser.add_argument(
        "--walk-processes",
        type=int,
        default=-1,
        help="scan: worker processes for the walks (-1: from the CPU count, as "
        "the appliance; 0: a thread)",
    )
    parser.add_argument(
        "--sync-triggers",
        type=trigger_variants,
        default=("on",),
        help="scan: full scan + rescans per entry on an emptied index, with the "
        "sync feed's triggers on or off, e.g. on,off,on (default on)",
    )
    parser.add_argument(
        "--firstscan-rounds",
        type=positive,
        default=1,
        help="firstscan: first scans per appliance, analysis off (default 1)",
    )
    parser.add_argument(
        "--firstscan-media",
        type=int,
        default=40,
        help="firstscan: real media files for the analysis-on figure (0: skip)",
    )
    parser.add_argument(
        "--firstscan-compare",
        metavar="DIR",
        help="firstscan: also run the appliance of this checkout (e.g. a git "
        "worktree of an earlier commit), alternating, on the same tree",
    )
    parser.add_argument(
        "--firstscan-profile",
        choices=("small", "large", "stock", "auto"),
        default="small",
        help="firstscan: the appliance's memory.profile (default small, what a 2 GB board "
        "gets; auto: this machine's)",
    )
    parser.add_argument(
        "--play-seconds",
        type=float,
        default=30.0,
        help="player-memory: seconds of playback in the session (default 30)",
    )
    parser.add_argument(
        "--memory-idle",
        type=float,
        default=60.0,
        help="memory: seconds idle after the scan before the idle figure "
        "(default 60; sizes from --files)",
    )
    parser.add_argument(
        "--memory-compare",
        metavar="DIR",
        help="memory: also run the appliance of this checkout (a git worktree of an "
        "earlier commit) with the after settings, in the same run",
    )
    parser.add_argument(
        "--items",
        type=positive,
        default=200,
        help="images: movies enriched against the fake TMDB (default 200)",
    )
    parser.add_argument(
        "--latency-ms",
        type=positive,
        default=50,
        help="images: fake TMDB latency per request (default 50)",
    )
    parser.add_argument(
        "--media-items",
        type=positive,
        default=30_000,
        help="media: movies in the queried library (default 30000)",
    )
    parser.add_argument(
        "--samples", type=positive, default=200, help="media: requests per query (default 200)"
    )
    parser.add_argument(
        "--stream-mb",
        type=positive,
        default=256,
        help="media: size of the streamed file in MiB (default 256)",
    )
    parser.add_argument(
        "--grid-size",
        default="3840x2160",
        help="grid: framebuffer WxH (default 3840x2160: 160+ posters on screen)",
    )
    parser.add_argument(
        "--gl-backend",
        default="pyqt6",
        choices=["pyqt6", "egl"],
        help="grid: Qt under X (Xvfb here) or headless EGL",
    )
    parser.add_argument(
        "--script-scale",
        type=float,
        default=1.0,
        help="grid: shorten the scripted scroll (llvmpipe at 4K: 0.15)",
    )
    parser.add_argument(
        "--replica-items",
        type=positive,
        default=30_000,
        help="replica: synthetic movies in the replica (default 30000)",
    )
    parser.add_argument(
        "--naming-names",
        type=positive,
        default=20_000,
        help="naming: generated library paths (default 20000; plus guessit's "
        "corpus when installed)",
    )
    parser.add_argument(
        "--replica-no-e2e",
        action="store_true",
        help="replica: skip the end-to-end part (needs Postgres)",
    )
    return parser


def machine() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpus": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "commit": commit,
    }


def print_result(result: Result) -> None:
    print(f"\n{result.benchmark}: {result.summary}")
    width = max(len(f.name) for f in result.figures)
    for figure in result.figures:
        value = FORMATS.get(figure.unit, "{:.3g}").format(figure.value)
        print(f"  {figure.name:<{width}}  {value:>10}  {figure.unit}")


def report(name: str, produce: Callable[[], Result]) -> int:
    """Run one benchmark, print and save its result; 1 (with the reason on stderr) if it
    could not be measured. Shared by ``bench.run`` and the modules' own ``main``."""
    started = time.time()
    try:
        result = produce()
    except BenchError as exc:
        print(f"bench: {name}: error: {exc}", file=sys.stderr)
        return 1
    print_result(result)
    print(f"  -> {save_result(result, started)}")
    return 0


def save_result(result: Result, started: float) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started))
    path = RESULTS / f"{result.benchmark}-{stamp}.json"
    document = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "machine": machine(),
        **dataclasses.asdict(result),
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    benchmarks: dict[str, Callable[[], Result]] = {
        "bridge": lambda: bridge.run(bridge.Params(args.rounds, args.queries, args.concurrency)),
        "coldstart": lambda: coldstart.run(coldstart.Params(args.starts)),
        "scan": lambda: scan.run(
            scan.Params(
                args.files,
                args.raw_rounds,
                args.rescans,
                walk_processes=args.walk_processes,
                sync_triggers=args.sync_triggers,
            )
        ),
        "analyze": lambda: analyze.run(analyze.Params(args.rounds)),
        "auth": lambda: auth.run(auth.Params(args.rounds, args.logins, args.requests)),
        "images": lambda: images.run(
            images.Params(args.rounds, items=args.items, latency_ms=args.latency_ms)
        ),
        "media": lambda: media.run(media.Params(args.media_items, args.samples, args.stream_mb)),
        "grid": lambda: grid.run(
            grid.Params(
                width=int(args.grid_size.lower().split("x")[0]),
                height=int(args.grid_size.lower().split("x")[1]),
                backend=args.gl_backend,
                script_scale=args.script_scale,
            )
        ),
        "replica": lambda: replica.run(
            replica.Params(items=args.replica_items, e2e=not args.replica_no_e2e)
        ),
        "playback": lambda: playback.run(playback.Params(rounds=args.rounds)),
        "naming": lambda: naming.run(naming.Params(rounds=args.rounds, names=args.naming_names)),
        "firstscan": lambda: firstscan.run(
            firstscan.Params(
                files=args.files[0],
                rounds=args.firstscan_rounds,
                media_files=args.firstscan_media,
                compare=args.firstscan_compare,
                profile=args.firstscan_profile,
            )
        ),
        "memory": lambda: memory.run(
            memory.Params(
                files=tuple(sorted(args.files)),
                idle=args.memory_idle,
                compare=args.memory_compare,
            )
        ),
        "player-memory": lambda: player_memory.run(player_memory.Params(play_s=args.play_seconds)),
    }
    names = list(benchmarks) if args.benchmark == "all" else [args.benchmark]
    for name in names:
        print(f"running {name} ...", flush=True)
        if report(name, benchmarks[name]):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
