"""The grid's GL side: one program, the poster and title atlases, one instanced draw per frame.

It draws into whatever gloo context is current (a vispy Canvas in a Qt window, or a headless EGL
one in the GPU bench). Instancing needs ``glVertexAttribDivisor``, which vispy gets from PyOpenGL
(``gloo.gl.use_gl('gl+')``); :func:`use_instancing_gl` selects it before the first context.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from vispy import gloo

from ui.grid.atlas import SlotGrid
from ui.grid.shaders import FRAGMENT, VERTEX

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
ATTRS = ("a_rect", "a_uv", "a_color", "a_state", "a_extra")
PACKED = np.dtype([(name, np.float32, 4) for name in ATTRS])
SHADOW_MARGIN = 14.0
CORNER_RADIUS = 9.0


UNBIND_VERTEX = (
    "attribute vec2 a_position; void main() { gl_Position = vec4(a_position, 0.0, 1.0); }"
)
UNBIND_FRAGMENT = "void main() { gl_FragColor = vec4(0.0); }"


def use_instancing_gl() -> None:
    gloo.gl.use_gl("gl+")


@dataclass
class Instances:
    """Per-instance attribute arrays (n rows of 4 float32), filled by the view every frame."""

    rect: F32
    uv: F32
    color: F32
    state: F32
    extra: F32

    @classmethod
    def empty(cls, n: int) -> Instances:
        return cls(*(np.zeros((n, 4), np.float32) for _ in ATTRS))

    def __len__(self) -> int:
        return int(self.rect.shape[0])


class GridRenderer:
    def __init__(self, posters: SlotGrid, titles: SlotGrid, menu: U8, dpr: float = 1.0) -> None:
        self.program = gloo.Program(VERTEX, FRAGMENT)
        self.program["a_corner"] = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
        self.poster_grid, self.title_grid = posters, titles
        self.posters = gloo.Texture2D(
            shape=(posters.texture_h, posters.texture_w, 4), interpolation="linear", format="rgba"
        )
        self.titles = gloo.Texture2D(
            shape=(titles.texture_h, titles.texture_w, 1),
            interpolation="linear",
            format="luminance",
        )
        self.menu = gloo.Texture2D(menu[:, :, None], interpolation="linear", format="luminance")
        self.program["u_posters"] = self.posters
        self.program["u_titles"] = self.titles
        self.program["u_menu"] = self.menu
        self.program["u_margin"] = SHADOW_MARGIN * dpr
        self.program["u_radius"] = CORNER_RADIUS * dpr
        # all five attributes interleaved in one buffer: one upload a frame instead of five
        self._buffer: gloo.VertexBuffer | None = None
        self._packed = np.zeros(0, PACKED)  # the buffer's contents, refilled in place each frame
        self._capacity = 0
        self.draw_calls = 0
        self.dpr = dpr

    def set_menu_rows(self, rows: int) -> None:
        self.program["u_menu_rows"] = float(rows)

    def upload_poster(self, slot: int, rgba: U8) -> None:
        x, y = self.poster_grid.origin(slot)
        self.posters.set_data(rgba, offset=(y, x), copy=False)

    def upload_title(self, slot: int, coverage: U8) -> None:
        x, y = self.title_grid.origin(slot)
        self.titles.set_data(coverage[:, :, None], offset=(y, x), copy=False)

    def flush(self) -> None:
        """Run the queued GL commands (uploads) now rather than at the draw, so an upload's real
        cost (the copy into the texture) is counted where the upload budget measures it."""
        canvas = gloo.get_current_canvas()
        if canvas is not None:
            canvas.context.flush_commands()

    def delete(self) -> None:
        """Delete the textures, the program and the instance buffer, now (a gloo context must
        be current): gloo only queues a deletion until the context's next flush.

        A software driver (Mesa's llvmpipe) keeps a deleted texture's memory for as long as the
        last draw still refers to it, i.e. until the next draw, which for a hidden view is on
        its way back: one point drawn without textures and blended to nothing lets it go now
        (measured: a 64 MB atlas stayed resident after its deletion until such a draw)."""
        for thing in (self.posters, self.titles, self.menu, self.program, self._buffer):
            if thing is not None:
                thing.delete()
        self._buffer, self._packed, self._capacity = None, np.zeros(0, PACKED), 0
        unbind = gloo.Program(UNBIND_VERTEX, UNBIND_FRAGMENT)
        unbind["a_position"] = np.zeros((1, 2), np.float32)
        gloo.set_state(blend=True, blend_func=("zero", "one"))  # leaves every pixel as it was
        unbind.draw("points")
        unbind.delete()
        self.flush()

    def _ensure(self, n: int) -> None:
        if n <= self._capacity:
            return
        self._capacity = 2 ** math.ceil(math.log2(max(n, 64)))
        self._packed = np.zeros(self._capacity, PACKED)
        self._buffer = gloo.VertexBuffer(self._packed, divisor=1)
        for name in ATTRS:
            view = self._buffer[name]
            view.divisor = 1  # vispy reads the divisor off what is bound, the view here
            self.program[name] = view

    def draw(
        self,
        instances: Instances,
        viewport: tuple[int, int],
        background: tuple[float, float, float] = (0.055, 0.06, 0.075),
    ) -> None:
        """One draw call for every card on screen; ``viewport`` is in physical pixels."""
        w, h = viewport
        begin_frame(viewport, background)
        n = len(instances)
        if n == 0:
            return
        self._ensure(n)
        # vispy takes the instance count from the buffers' size, so they keep one size (a power of
        # two) and the rows past n are parked far outside the viewport, where nothing rasterises.
        # The packed array is reused (no per-frame allocation): vispy holds it only until the
        # context's commands are flushed, which program.draw does below.
        packed = self._packed
        for name, data in zip(
            ATTRS,
            (instances.rect, instances.uv, instances.color, instances.state, instances.extra),
            strict=True,
        ):
            packed[name][:n] = data
        packed["a_rect"][n:, 0] = -1e6
        assert self._buffer is not None
        self._buffer.set_data(packed, copy=False)
        self.program["u_viewport"] = (float(w), float(h))
        self.program.draw("triangle_strip")
        self.draw_calls += 1


def begin_frame(viewport: tuple[int, int], background: tuple[float, float, float]) -> None:
    """Viewport, blending and the cleared background every frame of cards starts from; colour
    blends over what is below, alpha stays opaque so a read-back shows the screen."""
    w, h = viewport
    gloo.set_viewport(0, 0, w, h)
    gloo.set_state(
        blend=True,
        depth_test=False,
        cull_face=False,
        blend_func=("src_alpha", "one_minus_src_alpha", "one", "one_minus_src_alpha"),
    )
    gloo.clear(color=(*background, 1.0))
