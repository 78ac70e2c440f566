"""``player-memory``: the player's RSS and PSS over a scripted session, before and after.

Issue #18, item 5: the player's RSS was 822 MB after a few minutes of browsing and playing; the
budget is 300 MB. Each variant runs in a fresh process under Xvfb (Mesa llvmpipe), in process with
the player's real parts: Qt and a GL context (vispy on PyQt6), the library grid
(``ui.grid.view.GridView``: atlases, title strips, demand plan) over 30k generated cards, the real
``ImageService`` (fetch, disk cache, decode in threads, decoded-RGBA memory LRU) whose HTTP is an
in-process transport answering generated JPEG posters at the width asked, and the real playback
``Engine`` (playbin, fakesinks with ``sync``) playing a generated 1080p H.264 clip. RSS and PSS
(``/proc/self/smaps_rollup``) are sampled after each step:

``start`` (imports, QApplication) · ``gl`` (the GL context: Mesa's own, not ours) · ``grid``
(attached, scrolled a page at a time to the end and back, posters loaded) · ``details`` (the
selected card flipped) · ``released`` (the player's screen took the window: what the app does
on ``PlayerStarted``, ``ui.grid.residency.release_offscreen``) · ``play`` (peak while playing)
· ``back`` (left playback, the grid shown again). RSS by mapping (``/proc/self/smaps``: a
library, ``[heap]``, ``[anon]``) is kept for each step.

The cards come a page at a time, made when read, as the app's ``ReplicaSource`` decodes them,
and the grid's ``CardWindow`` keeps its last 16 pages.

**before** is none of the levers in :data:`LEVERS`, **after** all of them (the defaults), in
separate processes of the same run; ``FERREX_PMEM_LEVERS=1`` also runs "after" without each
lever (``after-NAME``). A last run (after, with ``tracemalloc``; its RSS is not reported since
tracing costs memory) attributes Python objects. Not driven here: login and the home screen
(the appliance's UI round-trips; the home rows are ``PosterGrid`` views released like the grid).
"""

from __future__ import annotations

import gc
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import BenchError, Figure, Result

REPO = Path(__file__).resolve().parent.parent
BUDGET_MIB = 300.0


LEVERS = {
    "lru": "decoded-poster LRU 16 MB (was 256 MB)",
    "atlas": "atlases sized to the slots they need (was the next square power of two)",
    "arenas": "glibc's malloc arenas capped at 2 (ui.memtrim.limit_arenas)",
    "release": "the grid's atlases and decoded posters released for playback (ui.grid.residency)",
    "trim": "malloc_trim after each release and after playback (ui.memtrim.trim)",
    "decoder": "decoder threads and playback queues capped (ui.playback.engine)",
}
"""What "after" has and "before" has not. ``FERREX_PMEM_LEVERS=1`` also runs "after" once
without each of them (variant ``after-NAME``), to measure what each one is worth."""


def levers_of(variant: str) -> frozenset[str]:
    if variant == "before":
        return frozenset()
    if variant == "after":
        return frozenset(LEVERS)
    off = variant.removeprefix("after-")
    if off not in LEVERS:
        raise ValueError(f"unknown variant {variant!r}")
    return frozenset(LEVERS) - {off}


@dataclass(frozen=True)
class Params:
    items: int = 30_000
    play_s: float = 30.0
    size: str = "1920x1080"


def _rollup() -> dict[str, float]:
    """MiB from /proc/self/smaps_rollup (Rss, Pss, Pss_Anon, Pss_File)."""
    out: dict[str, float] = {}
    with open("/proc/self/smaps_rollup", encoding="ascii") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].rstrip(":") in ("Rss", "Pss", "Pss_Anon", "Pss_File"):
                out[parts[0].rstrip(":").lower()] = int(parts[1]) / 1024.0
    return out


def _mappings(top: int = 10) -> list[tuple[str, float]]:
    """RSS (MiB) of ``/proc/self/smaps`` grouped by what is mapped (a file's name, ``[heap]``,
    ``[anon]`` for anonymous memory: malloc's arenas past the heap, Mesa's and GStreamer's
    buffers, thread stacks), largest first: where the memory is, beyond Python's own objects."""
    sizes: dict[str, float] = {}
    name = "[anon]"
    with open("/proc/self/smaps", encoding="utf-8", errors="replace") as f:
        for line in f:
            first = line.split(None, 1)[0] if line.strip() else ""
            if "-" in first and not first.endswith(":"):
                parts = line.split(None, 5)
                path = parts[5].strip() if len(parts) > 5 else ""
                name = os.path.basename(path) if path.startswith("/") else (path or "[anon]")
            elif first == "Rss:":
                sizes[name] = sizes.get(name, 0.0) + int(line.split()[1]) / 1024.0
    ranked = sorted(sizes.items(), key=lambda kv: -kv[1])
    return [(n, round(v, 1)) for n, v in ranked[:top]]


def _make_clip(path: Path, seconds: float) -> None:
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=1920x1080:rate=24:duration={seconds + 2}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds + 2}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            str(path),
        ],
        check=True,
    )


def _poster_transport() -> Any:
    """An httpx transport answering /api/v1/images/{id}?w=W with a generated JPEG (2:3)."""
    import httpx
    from PIL import Image

    made: dict[tuple[int, int], bytes] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        image_id = request.url.path.rsplit("/", 1)[-1]
        width = int(request.url.params.get("w", "300"))
        key = (int(image_id[:6], 16) % 64, width)
        body = made.get(key)
        if body is None:
            shade = key[0] * 4
            picture = Image.new("RGB", (width, width * 3 // 2), (shade, 255 - shade, 90))
            buffer = io.BytesIO()
            picture.save(buffer, "JPEG", quality=85)
            body = made[key] = buffer.getvalue()
        return httpx.Response(200, content=body, headers={"Content-Type": "image/jpeg"})

    return httpx.MockTransport(handler)


class PagedCards:
    """The library as the app's ``ReplicaSource`` gives it: a count, and each page of cards
    made when it is read (the replica decodes them from LMDB), kept by the grid's
    ``CardWindow`` for its last 16 pages. (A list of all 30k cards made up front, as this bench
    had, is 14 MiB of Python objects the player never holds.)"""

    def __init__(self, items: int) -> None:
        self.items = items

    def count(self) -> int:
        return self.items

    def page(self, offset: int, limit: int) -> list[Any]:
        import uuid

        from sync.feed_types import Card
        from tests.grid_kit import LIBRARY, placeholder

        return [
            Card(
                uuid.UUID(int=1000 + i),
                LIBRARY,
                "movie",
                f"Generated film {i}",
                1950 + i % 70,
                placeholder(i),
                f"{i:064x}",
            )
            for i in range(offset, min(self.items, offset + limit))
        ]


def child(variant: str, items: int, play_s: float, size: str, trace: bool) -> dict[str, Any]:
    """One session in this process; returns the samples (MiB) and the attribution."""
    if trace:
        import tracemalloc

        tracemalloc.start(1)
    levers = levers_of(variant)
    steps: dict[str, dict[str, float]] = {}
    maps: dict[str, list[tuple[str, float]]] = {}
    info: dict[str, Any] = {}
    import numpy  # noqa: F401
    import trio
    from OpenGL import GL  # type: ignore[import-untyped]
    from PyQt6.QtWidgets import QApplication
    from vispy import app, gloo

    from ui import memtrim
    from ui.grid import atlas, residency
    from ui.grid.renderer import use_instancing_gl
    from ui.grid.titles import PillowTitles
    from ui.grid.view import GridView
    from ui.images import service as images
    from ui.playback import engine as engines
    from ui.playback.gst import element

    if "arenas" in levers:
        memtrim.limit_arenas()
    atlas.TIGHT = "atlas" in levers
    engines.DECODER_THREADS = engines.DECODER_THREADS if "decoder" in levers else 0
    memory_bytes = images.MEMORY_BYTES if "lru" in levers else 256 * 1024 * 1024
    width, height = (int(v) for v in size.lower().split("x"))
    qt = QApplication.instance() or QApplication(sys.argv[:1])

    def sample(step: str) -> None:
        steps[step] = _rollup()
        maps[step] = _mappings()
        if trace and step in ("details", "released", "back"):
            import tracemalloc

            stats = tracemalloc.take_snapshot().statistics("filename")
            info[f"python_mib_{step}"] = sum(s.size for s in stats) / 2**20
            info[f"python_top_{step}"] = [
                f"{s.size / 2**20:.1f} MiB {s.traceback[0].filename.replace(str(REPO), '')}"
                for s in stats[:8]
            ]

    sample("start")
    use_instancing_gl()
    app.use_app("pyqt6")
    canvas = app.Canvas(size=(64, 64), show=True, vsync=False)
    for _ in range(5):
        app.process_events()
    canvas.set_current()
    max_texture = int(GL.glGetIntegerv(GL.GL_MAX_TEXTURE_SIZE))
    fbo = gloo.FrameBuffer(color=gloo.RenderBuffer((height, width, 4)))
    with fbo:
        GL.glClear(GL.GL_COLOR_BUFFER_BIT)
    GL.glFinish()
    sample("gl")
    work = Path(tempfile.mkdtemp(prefix="ferrex-pmem-"))
    clip = work / "clip.mp4"
    _make_clip(clip, play_s)
    info["renderer"] = GL.glGetString(GL.GL_RENDERER).decode()

    async def session() -> None:
        service = images.ImageService(
            "http://bench",
            lambda: "t",
            work / "cache",
            memory_bytes=memory_bytes,
            transport=_poster_transport(),
        )
        view = GridView(PagedCards(items), PillowTitles(), service)
        view.resize(width, height, 1.0)
        with fbo:
            view.attach_gl(max_texture)
        shown = [True]

        class Screen:
            """The grid as the app's ``PosterGrid`` offers it to ``ui.grid.residency``."""

            def is_shown(self) -> bool:
                return shown[0]

            def release_gpu(self) -> bool:
                with fbo:
                    return view.release_gl()

        screen = Screen()
        residency.track_view(screen)
        clock = [1000.0]
        last: float | None = None

        async def frames(n: int, settle: bool = False) -> None:
            nonlocal last
            for _ in range(n):
                t0 = time.perf_counter()
                with fbo:
                    view.frame(clock[0], (width, height), last)
                GL.glFinish()
                last = time.perf_counter() - t0
                clock[0] += 1 / 60
                await trio.sleep(0.005)
                if settle and not service.pending and not view.animating:
                    break

        async with trio.open_nursery() as nursery:
            nursery.start_soon(service.run)
            await frames(120, settle=True)
            pages = min(40, items // max(1, view.layout.columns * 4))
            for _ in range(pages):  # down a page at a time, posters loading on the way
                view.key_press("PageDown")
                await frames(25)
            view.key_press("End")
            await frames(60)
            view.key_press("Home")
            await frames(120, settle=True)
            sample("grid")
            assert view.renderer is not None
            posters, titles = view.renderer.poster_grid, view.renderer.title_grid
            info["atlas_mib"] = (
                posters.texture_w * posters.texture_h * 4 + titles.texture_w * titles.texture_h
            ) / 2**20
            info["atlas"] = (
                f"posters {posters.texture_w}x{posters.texture_h} "
                f"({posters.capacity} slots), titles "
                f"{titles.texture_w}x{titles.texture_h}"
            )
            info["image_lru_mib"] = service.memory.bytes / 2**20
            info["decoded"] = service.stats.decoded
            view.key_press("Return")
            await frames(60)
            sample("details")

            shown[0] = False  # the player's screen takes the window
            if "release" in levers:  # what the app does on PlayerStarted
                residency.release_offscreen(trim="trim" in levers)
            sample("released")
            sink = element("fakesink")
            sink.set_property("sync", True)
            audio = element("fakesink")
            audio.set_property("sync", True)
            engine: engines.Engine | None = engines.Engine(video_sink=sink, audio_sink=audio)
            assert engine is not None
            engine.load(clip.as_uri())
            peak: dict[str, float] = {}
            until = time.monotonic() + play_s
            while time.monotonic() < until:
                await trio.sleep(0.5)
                now = _rollup()
                if now["rss"] > peak.get("rss", 0.0):
                    peak = now
                    maps["play"] = _mappings()
            steps["play"] = peak
            info["decoders"] = engine.loaded.decoders if engine.loaded is not None else []
            engine.close()
            engine = None  # the session ends: its playbin and decoders go with it
            gc.collect()
            if "trim" in levers:  # PlaybackSession.close
                memtrim.trim()
            shown[0] = True
            view.key_press("Escape")
            if view.renderer is None:  # PosterGrid.on_draw
                with fbo:
                    view.attach_gl(max_texture)
            await frames(120, settle=True)
            sample("back")
            nursery.cancel_scope.cancel()

    trio.run(session)
    qt.quit()
    shutil.rmtree(work, ignore_errors=True)
    return {"variant": variant, "steps": steps, "maps": maps, **info}


def _run_child(variant: str, p: Params, trace: bool = False) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.player_memory",
        variant,
        str(p.items),
        str(p.play_s),
        p.size,
        "1" if trace else "0",
    ]
    if not os.environ.get("DISPLAY"):
        if shutil.which("xvfb-run") is None:
            raise BenchError("player-memory needs an X display or xvfb-run")
        command = ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24", *command]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, check=False, timeout=600
    )
    if done.returncode != 0:
        raise BenchError(f"player-memory {variant} failed: {done.stderr.strip()[-800:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def run(p: Params) -> Result:
    names = ["before", "after"]
    if os.environ.get("FERREX_PMEM_LEVERS") == "1":
        names += [f"after-{lever}" for lever in LEVERS]
    runs = {name: _run_child(name, p) for name in names}
    traced = _run_child("after", p, trace=True)
    figures: list[Figure] = []
    after = runs["after"]["steps"]
    for name, r in runs.items():
        steps = r["steps"]
        peak = max(s["rss"] for s in steps.values())
        figures.append(Figure(f"{name}: peak RSS (budget {BUDGET_MIB:.0f})", peak, "MiB"))
        figures.append(Figure(f"{name}: peak PSS", max(s["pss"] for s in steps.values()), "MiB"))
        if name.startswith("after-"):  # what the lever is worth: "after" without it, minus "after"
            for step in ("grid", "play", "back"):
                figures.append(
                    Figure(
                        f"{name}: {step} RSS, more than after",
                        round(steps[step]["rss"] - after[step]["rss"], 1),
                        "MiB",
                    )
                )
            continue
        for step, s in steps.items():
            figures.append(Figure(f"{name}: {step} RSS", round(s["rss"], 1), "MiB"))
            figures.append(Figure(f"{name}: {step} PSS", round(s["pss"], 1), "MiB"))
        figures.append(
            Figure(
                f"{name}: Mesa/llvmpipe context (gl - start)",
                steps["gl"]["rss"] - steps["start"]["rss"],
                "MiB",
            )
        )
        figures.append(Figure(f"{name}: atlases ({r['atlas']})", r["atlas_mib"], "MiB"))
        figures.append(
            Figure(f"{name}: decoded-image LRU ({r['decoded']} decoded)", r["image_lru_mib"], "MiB")
        )
        figures.append(
            Figure(
                f"{name}: playing (play - released) with {', '.join(r['decoders'])}",
                steps["play"]["rss"] - steps["released"]["rss"],
                "MiB",
            )
        )
    for step in ("details", "released", "back"):
        figures.append(
            Figure(
                f"after: Python objects (tracemalloc, at {step})",
                traced[f"python_mib_{step}"],
                "MiB",
            )
        )
    top = "; ".join(traced["python_top_back"][:4])
    summary = (
        f"player session under Xvfb ({runs['after']['renderer']}), {p.items} cards, "
        f"{p.size}, play {p.play_s:.0f} s; python top: {top}"
    )
    return Result(
        "player-memory",
        summary,
        figures,
        params={
            "items": p.items,
            "play_s": p.play_s,
            "size": p.size,
            "levers": LEVERS,
            "mappings": {name: r["maps"] for name, r in runs.items()},
            "python_top": {k: v for k, v in traced.items() if k.startswith("python_top")},
        },
        samples={name: [r["steps"][s]["rss"] for s in r["steps"]] for name, r in runs.items()},
    )


if __name__ == "__main__":
    variant_, items_, play_, size_, trace_ = sys.argv[1:6]
    print(json.dumps(child(variant_, int(items_), float(play_), size_, trace_ == "1")))
