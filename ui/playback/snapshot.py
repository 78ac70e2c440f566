"""``ferrex-player snapshot SOURCE --at SECONDS --out FRAME.png``: the frame the player would
show on an SDR display, rendered offscreen through the player's own tone-mapping filter
(``ui.playback.tonemap``) at the video's resolution; for bug reports and for the tests that hold
the tone mapping against ffmpeg's reference.

Offscreen GL: GStreamer 1.22's GL needs a display connection (its EGL "surfaceless" window
arrived in 1.24), so with neither ``DISPLAY`` nor ``WAYLAND_DISPLAY`` set the command starts a
private ``Xvfb`` for its own lifetime (Mesa's llvmpipe renders when there is no GPU).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ui.playback.tonemap import DEFAULT_DESAT, MODE_SDR, ToneMapFilter, ToneMapParams

TIMEOUT_S = 60.0


class SnapshotError(RuntimeError):
    """The source could not be opened, decoded or seeked, or the GL filter failed."""


@dataclass(frozen=True)
class Frame:
    width: int
    height: int
    rgb: bytes  # packed RGB, 3 bytes a pixel, rows without padding
    params: ToneMapParams


@contextlib.contextmanager
def _display() -> Iterator[None]:
    """A display for GL: the session's, else a private Xvfb (``-displayfd`` picks a free one)."""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        yield
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise SnapshotError("no display for GL: set DISPLAY, or install xvfb")
    read, write = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0", "64x64x24"],
        pass_fds=(write,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise SnapshotError("Xvfb did not start")
        os.environ["DISPLAY"] = f":{number}"
        yield
    finally:
        os.environ.pop("DISPLAY", None)
        proc.terminate()
        proc.wait(10)


def snapshot(
    source: str, at_s: float, out: Path, *, tonemap: bool = True, desat: float | None = None
) -> Frame:
    """``ferrex-player snapshot``: render and write ``out`` (PNG)."""
    with _display():
        frame = render(source, at_s, tonemap=tonemap, desat=desat)
    write_png(frame, out)
    return frame


def _uri(source: str) -> str:
    if "://" in source:
        return source
    path = Path(source)
    if not path.exists():
        raise SnapshotError(f"{source}: no such file")
    return path.resolve().as_uri()


def render(source: str, at_s: float, *, tonemap: bool = True, desat: float | None = None) -> Frame:
    """Decode ``source`` at ``at_s`` seconds (the nearest frame at or before it, accurately
    seeked) through the tone-mapping filter; ``tonemap=False`` is the old flat conversion
    (videoconvert to 8-bit RGB), kept for comparisons. Needs a display (see ``_display``)."""
    from ui.playback.gst import Gst, element

    pipeline = Gst.Pipeline.new("snapshot")
    decode = element("uridecodebin")
    decode.set_property("uri", _uri(source))
    filt = ToneMapFilter(desat=DEFAULT_DESAT if desat is None else desat) if tonemap else None
    head = filt.bin if filt is not None else element("videoconvert")
    caps = element("capsfilter")
    caps.set_property("caps", Gst.Caps.from_string("video/x-raw,format=RGB"))
    sink = element("appsink")
    sink.set_property("sync", False)
    for part in (decode, head, caps, sink):
        pipeline.add(part)
    head.link(caps)
    caps.link(sink)
    target = head.get_static_pad("sink")

    def on_pad(_dec: Gst.Element, pad: Gst.Pad) -> None:
        current = pad.get_current_caps() or pad.query_caps(None)
        if (
            current.to_string().startswith("video/")
            and target is not None
            and not target.is_linked()
        ):
            pad.link(target)

    decode.connect("pad-added", on_pad)
    try:
        if pipeline.set_state(Gst.State.PAUSED) == Gst.StateChangeReturn.FAILURE:
            raise SnapshotError(f"{source}: cannot open")
        _wait_preroll(pipeline, source)
        if at_s > 0:
            flags = Gst.SeekFlags.FLUSH | Gst.SeekFlags.ACCURATE
            if not pipeline.seek_simple(Gst.Format.TIME, flags, int(at_s * Gst.SECOND)):
                raise SnapshotError(f"{source}: cannot seek to {at_s} s")
            _wait_preroll(pipeline, source)
        sample = sink.emit("pull-preroll")
        if sample is None:
            raise SnapshotError(f"{source}: no video frame at {at_s} s")
        structure = sample.get_caps().get_structure(0)
        width, height = structure.get_value("width"), structure.get_value("height")
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        if not ok:
            raise SnapshotError("cannot map the frame")
        try:
            data = bytes(info.data)
        finally:
            buf.unmap(info)
        stride = (width * 3 + 3) & ~3
        rows = b"".join(data[y * stride : y * stride + width * 3] for y in range(height))
        params = filt.params if filt is not None else ToneMapParams(MODE_SDR, 0.0, 0.0)
        return Frame(width, height, rows, params)
    finally:
        pipeline.set_state(Gst.State.NULL)


def _wait_preroll(pipeline: object, source: str) -> None:
    from ui.playback.gst import Gst

    assert isinstance(pipeline, Gst.Pipeline)
    bus = pipeline.get_bus()
    types = Gst.MessageType.ASYNC_DONE | Gst.MessageType.ERROR | Gst.MessageType.EOS
    msg = bus.timed_pop_filtered(int(TIMEOUT_S * Gst.SECOND), types)
    if msg is None:
        raise SnapshotError(f"{source}: no frame within {TIMEOUT_S:.0f} s")
    if msg.type == Gst.MessageType.ERROR:
        err, debug = msg.parse_error()
        raise SnapshotError(f"{source}: {err.message} ({debug})")
    if msg.type == Gst.MessageType.EOS:
        raise SnapshotError(f"{source}: ended before a frame")


def write_png(frame: Frame, out: Path) -> None:
    """PNG through Qt's image writer (PyQt6 is the player's own dependency)."""
    from PyQt6.QtGui import QImage

    image = QImage(
        frame.rgb, frame.width, frame.height, frame.width * 3, QImage.Format.Format_RGB888
    )
    if not image.save(str(out), "PNG"):
        raise SnapshotError(f"cannot write {out}")
