"""``grid``: frame times of the poster grid while scrolling a 30k-item library.

The real grid (``ui.grid.view.GridView``: virtual layout, demand plan, upload budget, the one
instanced draw) renders into an offscreen framebuffer of ``--grid-size`` (default 3840x2160 with
170 px posters: 20 columns x 8-9 rows, 160+ posters on screen). Posters come from an in-process
provider that "decodes" instantly, so every frame has uploads waiting and the budget decides.

The script is the same on every machine: the motion clock steps a fixed 120 Hz (so the same
frames are drawn everywhere), the frame's real duration (CPU work + ``glFinish``) is measured and
fed to the upload budget. It holds Down (auto-repeat every 33 ms) for 4 s, glides, holds
Shift+Down for 3 s, glides, presses PageDown five times, End, then Home.

Baseline in the same run: one draw call per card (the same shader and instance data, each card
drawn alone), for fewer frames. Also raw texture upload throughput (poster-sized sub-image uploads
into the atlas, glFinish at the end).

Runs with Qt under X (``--gl-backend pyqt6``; Xvfb + Mesa llvmpipe here) or headless EGL
(``--gl-backend egl``; set ``PYOPENGL_PLATFORM=egl``; Mesa needs ``EGL_PLATFORM=surfaceless``).
``python -m bench.grid`` runs it without the appliance's dependencies (for the GPU machine).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

BUDGET_MS = 1000.0 / 120.0
HZ = 120.0
BUCKETS_MS = (2.0, 4.0, BUDGET_MS, 16.67, 33.3, 66.7)


@dataclass(frozen=True)
class Params:
    items: int = 30_000
    width: int = 3840
    height: int = 2160
    backend: str = "pyqt6"
    baseline_frames: int = 120
    upload_samples: int = 400
    shot: str = ""  # write the last frame as PNG here
    script_scale: float = 1.0  # < 1 shortens every phase (llvmpipe at 4K draws ~2 frames/s)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def histogram(values: list[float]) -> dict[str, int]:
    edges = (0.0, *BUCKETS_MS, float("inf"))
    out: dict[str, int] = {}
    for lo, hi in itertools.pairwise(edges):
        label = f"{lo:.2f}-{hi:.2f} ms" if hi != float("inf") else f">{lo:.2f} ms"
        out[label] = sum(1 for v in values if lo <= v < hi)
    return out


WARMUP = 60  # frames (0.5 s): the first screen of posters arrives; not measured


def _script(scale: float = 1.0) -> list[tuple[int, Callable[[Any], None]]]:
    """(frame number, action on the GridView) at 120 Hz; ``scale`` shortens every phase."""
    actions: list[tuple[int, Callable[[Any], None]]] = []
    f = WARMUP
    hz = HZ * scale

    def hold(start: int, seconds: float, shift: bool) -> int:
        actions.append((start, lambda v: v.key_press("Down", shift=shift)))
        end = start + int(seconds * hz)
        for frame in range(start + 4, end, 4):  # auto-repeat every 33 ms
            actions.append((frame, lambda v: v.key_press("Down", shift=shift, autorepeat=True)))
        actions.append((end, lambda v: v.key_release("Down")))
        return end

    f = hold(f, 4.0, False) + int(1.5 * hz)
    f = hold(f, 3.0, True) + int(1.5 * hz)
    for _ in range(5):
        actions.append((f, lambda v: v.key_press("PageDown")))
        f += int(0.4 * hz)
    actions.append((f, lambda v: v.key_press("End")))
    f += int(1.0 * hz)
    actions.append((f, lambda v: v.key_press("Home")))
    f += int(1.0 * hz)
    actions.append((f, lambda v: None))
    return actions


def measure(p: Params) -> dict[str, Any]:
    from OpenGL import GL
    from vispy import app, gloo

    from tests.grid_kit import GeneratedPosters, make_cards
    from ui.grid.renderer import GridRenderer, Instances, begin_frame, use_instancing_gl
    from ui.grid.source import ListSource
    from ui.grid.titles import PillowTitles
    from ui.grid.view import GridView

    use_instancing_gl()
    app.use_app(p.backend)
    canvas = app.Canvas(size=(64, 64), show=p.backend != "egl", vsync=False)
    for _ in range(5):
        app.process_events()
    canvas.set_current()
    renderer_name = GL.glGetString(GL.GL_RENDERER).decode()
    version = GL.glGetString(GL.GL_VERSION).decode()
    max_texture = int(GL.glGetIntegerv(GL.GL_MAX_TEXTURE_SIZE))
    fbo = gloo.FrameBuffer(color=gloo.RenderBuffer((p.height, p.width, 4)))
    size = (p.width, p.height)

    def make_view() -> tuple[GridView, GeneratedPosters]:
        posters = GeneratedPosters()
        view = GridView(ListSource(make_cards(p.items)), PillowTitles(), posters)
        view.resize(p.width, p.height, 1.0)
        with fbo:
            view.attach_gl(max_texture)
        return view, posters

    def draw(view: GridView, t: float, last: float | None) -> float:
        t0 = time.perf_counter()
        with fbo:
            view.frame(t, size, last)
        canvas.context.flush_commands()
        GL.glFinish()
        return time.perf_counter() - t0

    # --- the grid (one instanced draw) ---------------------------------------------------------
    view, _ = make_view()
    script = _script(p.script_scale)
    total = script[-1][0]
    actions: dict[int, list[Callable[[Any], None]]] = {}
    for frame, action in script:
        actions.setdefault(frame, []).append(action)
    gc_pauses: list[float] = []
    gc_full: list[float] = []
    gc_started = [0.0]

    def gc_probe(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_pauses.append((time.perf_counter() - gc_started[0]) * 1000.0)
            if info.get("generation") == 2:
                gc_full.append(gc_pauses[-1])

    gc.callbacks.append(gc_probe)
    times: list[float] = []
    visible: list[int] = []
    placeholders: list[int] = []
    phases: dict[str, list[float]] = {"upload": [], "build": [], "submit": []}
    last: float | None = None
    uploads_start = titles_start = 0
    started = 0.0
    for frame in range(total):
        for action in actions.get(frame, ()):
            action(view)
        if frame == WARMUP:
            uploads_start, started = view.stats.uploads, time.perf_counter()
            titles_start = view.stats.title_uploads
        last = draw(view, 1000.0 + frame / HZ, last)
        if frame >= WARMUP:
            times.append(last * 1000.0)
            visible.append(view.stats.visible_cards)
            placeholders.append(view.stats.title_placeholders)
            phases["upload"].append(view.stats.upload_s * 1000.0)
            phases["build"].append(view.stats.build_s * 1000.0)
            phases["submit"].append(view.stats.submit_s * 1000.0)
        if frame % 100 == 0:
            print(f"grid: frame {frame}/{total} {last * 1000:.1f} ms", file=sys.stderr, flush=True)
    measured_s = time.perf_counter() - started
    gc.callbacks.remove(gc_probe)
    uploads = view.stats.uploads - uploads_start
    title_uploads = view.stats.title_uploads - titles_start
    assert view.renderer is not None
    draw_calls_per_frame = view.renderer.draw_calls / view.stats.frames
    shot_pixels = None
    if p.shot:
        with fbo:
            shot_pixels = gloo.read_pixels((0, 0, p.width, p.height), out_type=np.uint8)
        canvas.context.flush_commands()

    print("grid: baseline", file=sys.stderr, flush=True)
    # --- baseline: one draw call per card ------------------------------------------------------
    # the classic way: the same shaders with the per-card values as uniforms, one draw per card
    from ui.grid.shaders import FRAGMENT, VERTEX

    per_card_vertex = VERTEX
    for name in ("a_rect", "a_uv", "a_color", "a_state", "a_extra"):
        per_card_vertex = per_card_vertex.replace(
            f"attribute vec4 {name};", f"uniform vec4 {name};"
        )

    class PerCard(GridRenderer):
        def draw(
            self,
            instances: Instances,
            viewport: tuple[int, int],
            background: tuple[float, float, float] = (0.055, 0.06, 0.075),
        ) -> None:
            if not hasattr(self, "single"):
                self.single = gloo.Program(per_card_vertex, FRAGMENT)
                self.single["a_corner"] = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
                for uniform in ("u_posters", "u_titles", "u_menu"):
                    self.single[uniform] = self.program[uniform]
                for uniform in ("u_margin", "u_radius", "u_menu_rows"):
                    self.single[uniform] = self.program[uniform]
            w, h = viewport
            begin_frame(viewport, background)
            self.single["u_viewport"] = (float(w), float(h))
            for i in range(len(instances)):
                self.single["a_rect"] = tuple(instances.rect[i])
                self.single["a_uv"] = tuple(instances.uv[i])
                self.single["a_color"] = tuple(instances.color[i])
                self.single["a_state"] = tuple(instances.state[i])
                self.single["a_extra"] = tuple(instances.extra[i])
                self.single.draw("triangle_strip")
                self.draw_calls += 1

    base_view, _ = make_view()
    assert base_view.renderer is not None
    base_view.renderer.__class__ = PerCard
    base_times: list[float] = []
    last = None
    base_warmup = min(30, p.baseline_frames // 3)
    for frame in range(p.baseline_frames):
        if frame == base_warmup:
            base_view.key_press("Down")
        if frame > base_warmup and frame % 4 == 0:
            base_view.key_press("Down", autorepeat=True)
        last = draw(base_view, 1000.0 + frame / HZ, last)
        if frame >= base_warmup:
            base_times.append(last * 1000.0)

    print("grid: raw uploads", file=sys.stderr, flush=True)
    # --- raw upload throughput ---------------------------------------------------------------
    renderer = view.renderer
    grid = renderer.poster_grid
    tile = np.full((grid.slot_h, grid.slot_w, 4), 128, np.uint8)
    with fbo:
        canvas.context.flush_commands()
    GL.glFinish()
    t0 = time.perf_counter()
    for i in range(p.upload_samples):
        tile[0, 0, 0] = i % 256
        renderer.upload_poster(i % grid.capacity, tile)
        if i % 16 == 15:
            canvas.context.flush_commands()
    canvas.context.flush_commands()
    GL.glFinish()
    raw_upload_s = time.perf_counter() - t0

    result = {
        "gl_renderer": renderer_name,
        "gl_version": version,
        "backend": p.backend,
        "frames": len(times),
        "visible_posters_min": min(visible),
        "visible_posters_median": statistics.median(visible),
        "instances_per_frame": view.stats.instances,
        "draw_calls_per_frame": draw_calls_per_frame,
        "p50_ms": percentile(times, 50),
        "p90_ms": percentile(times, 90),
        "p99_ms": percentile(times, 99),
        "max_ms": max(times),
        "over_budget_share": sum(1 for t in times if t > BUDGET_MS) / len(times),
        "fps_sustained": len(times) / (sum(times) / 1000.0),
        "histogram": histogram(times),
        # CPU parts of a frame (median, p99): uploads incl. title rasterising, instance arrays,
        # GL submission; the rest of a frame's time is the motion/demand step and glFinish
        "gc_pauses": len(gc_pauses),
        "gc_pause_max_ms": max(gc_pauses, default=0.0),
        "gc_full_collections": len(gc_full),
        "gc_full_max_ms": max(gc_full, default=0.0),
        # title strips are made ahead of need; until then a visible card shows a placeholder bar
        "title_uploads_per_s": title_uploads / measured_s,
        "title_placeholder_share": sum(placeholders) / max(1, sum(visible)),
        "frames_with_title_placeholders": sum(1 for n in placeholders if n) / len(placeholders),
        "phases_ms": {k: (percentile(v, 50), percentile(v, 99)) for k, v in phases.items()},
        "uploads_per_s": uploads / measured_s,
        "uploads": uploads,
        "final_selected": view.selected,
        "baseline_p50_ms": percentile(base_times, 50),
        "baseline_p99_ms": percentile(base_times, 99),
        "baseline_draw_calls_per_frame": base_view.renderer.draw_calls / base_view.stats.frames,
        "speedup_p50": percentile(base_times, 50) / percentile(times, 50),
        "raw_uploads_per_s": p.upload_samples / raw_upload_s,
        "poster_texture": f"{grid.slot_w}x{grid.slot_h} RGBA in a {grid.texture_w}x"
        f"{grid.texture_h} atlas",
        "samples_ms": times,
    }
    if shot_pixels is not None:
        from PIL import Image

        Image.fromarray(shot_pixels[:, :, :3]).save(p.shot)
    canvas.close()
    return result


def run(p: Params) -> Any:
    """Entry for ``python -m bench.run grid``."""
    from bench.common import Figure, Result

    r = measure(p)
    figures = [
        Figure("visible posters (median)", float(r["visible_posters_median"]), "n"),
        Figure("draw calls per frame", r["draw_calls_per_frame"], "n"),
        Figure("frame p50", r["p50_ms"], "ms"),
        Figure("frame p99", r["p99_ms"], "ms"),
        Figure("frames over 8.33 ms", r["over_budget_share"] * 100, "%"),
        Figure("uploads while scrolling", r["uploads_per_s"], "uploads/s"),
        Figure("title strips while scrolling", r["title_uploads_per_s"], "strips/s"),
        Figure("visible titles still a placeholder", r["title_placeholder_share"] * 100, "%"),
        Figure("gen-2 GC pauses, longest", r["gc_full_max_ms"], "ms"),
        Figure("raw texture uploads", r["raw_uploads_per_s"], "uploads/s"),
        Figure("baseline (draw per card) p50", r["baseline_p50_ms"], "ms"),
        Figure("instanced / per-card speed-up (p50)", r["speedup_p50"], "x"),
    ]
    samples = {"frame_ms": r.pop("samples_ms")}
    return Result(
        "grid",
        f"{r['frames']} frames of scripted scrolling over {p.items:,} cards "
        f"at {p.width}x{p.height} on {r['gl_renderer']} ({p.backend})",
        figures,
        {**asdict(p), **{k: v for k, v in r.items()}},
        samples,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.grid",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--gl-backend", default="pyqt6", choices=["pyqt6", "egl"])
    parser.add_argument("--grid-size", default="3840x2160")
    parser.add_argument("--items", type=int, default=30_000)
    parser.add_argument("--shot", default="")
    parser.add_argument("--script-scale", type=float, default=1.0)
    parser.add_argument("--baseline-frames", type=int, default=120)
    parser.add_argument("--json", default="", help="write the full result here")
    parser.add_argument("--profile", default="", help="write cProfile's top functions here")
    args = parser.parse_args(argv)
    w, h = (int(x) for x in args.grid_size.lower().split("x"))
    params = Params(
        args.items,
        w,
        h,
        args.gl_backend,
        args.baseline_frames,
        shot=args.shot,
        script_scale=args.script_scale,
    )
    if args.profile:
        import cProfile
        import io
        import pstats

        profiler = cProfile.Profile()
        r = profiler.runcall(measure, params)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        with open(args.profile, "w", encoding="utf-8") as fh:
            fh.write(out.getvalue())
    else:
        r = measure(params)
    r["machine"] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(r, fh, indent=2)
    r.pop("samples_ms")
    print(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
