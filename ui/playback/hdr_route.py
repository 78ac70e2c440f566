"""How an HDR film reaches the screen here: passthrough > GL tone mapping > plain conversion.

Decided once per sink from facts probed at run time (``probe_facts``), each with a reason a
user can act on:

* **passthrough**: the decoder's 10-bit frames go to waylandsink unchanged, with their caps
  (``colorimetry=bt2100-pq``, ``mastering-display-info``, ``content-light-level``), and
  waylandsink (GStreamer >= 1.28; colour management landed in 1.27.1) gives the video surface a
  parametric image description (PQ or HLG, BT.2020, mastering luminance, MaxCLL/MaxFALL). It
  needs all of: waylandsink (a Wayland session, ``QT_QPA_PLATFORM=wayland``), GStreamer >= 1.28,
  a compositor with ``wp_color_manager_v1`` taking parametric descriptions with the stream's
  transfer function and BT.2020 primaries, and an HDR display (an output whose own image
  description is PQ/HLG or has headroom above reference white: ``ui.playback.wlcolor``);
* **tone mapping**: anything else with the GL elements installed (``ui.playback.tonemap``);
* **plain conversion**: no GL; the picture looks flat, and the reason says which package helps.

Sinks that hand frames to code rather than a screen (appsink, fakesink: tests, frame grabbers)
count as passthrough: they get the decoder's frames as they are.

The facts are plain data, so the decision table is tested without a compositor
(``tests/test_hdr_route.py``); ``python -m ui.playback.hdr_check`` prints them for a bug report.
"""

from __future__ import annotations

import enum
import functools
import os
import sys
from dataclasses import dataclass

from ui.playback.wlcolor import CompositorColor, ProbeError

PASSTHROUGH_GST = (1, 28)
"""The first GStreamer whose waylandsink sets image descriptions (wp_color_management_v1)."""
CODE_SINKS = frozenset({"appsink", "fakesink", "fakevideosink"})
"""Consumers of raw frames that take any caps unchanged (tests, frame grabbers, encoders)."""
HLG_SOURCES = frozenset({"HLG"})
"""Sources whose signal is HLG; the rest that are HDR (HDR10, HDR10+, Dolby Vision's HDR10
base layer) are PQ."""


class Route(enum.Enum):
    SDR = "sdr"
    """An SDR film: nothing to decide."""
    PASSTHROUGH = "passthrough"
    TONEMAP = "tonemap"
    CONVERT = "convert"


@dataclass(frozen=True)
class Facts:
    """What the decision reads; ``probe_facts`` fills it, tests write it."""

    gst: tuple[int, int]
    """GStreamer's major and minor version."""
    sink: str
    """The video sink's factory (``waylandsink``, ``xvimagesink`` ...)."""
    platform: str = ""
    """Qt's platform (``wayland``, ``xcb``, ``offscreen``), or what the environment says."""
    compositor: CompositorColor | None = None
    """The compositor's colour management (probed on Wayland only); None: not probed."""
    probe_error: str = ""
    gl: bool = True
    """The GL tone-mapping elements are installed (gstreamer1.0-gl)."""


@dataclass(frozen=True)
class Decision:
    route: Route
    reason: str
    """Why, in words (``compositor has no colour management`` ...)."""

    @property
    def passthrough(self) -> bool:
        return self.route is Route.PASSTHROUGH


def _gst_text(gst: tuple[int, int]) -> str:
    return f"{gst[0]}.{gst[1]}"


def _blockers(source: str, facts: Facts) -> list[str]:
    """Everything that keeps ``source`` from passthrough on this output (empty: nothing)."""
    if facts.sink != "waylandsink":
        session = {"xcb": "X11", "offscreen": "offscreen", "": "this"}.get(
            facts.platform, facts.platform
        )
        return [
            f"{facts.sink} on the {session} session shows SDR only, "
            "HDR needs waylandsink on a Wayland session"
        ]
    found: list[str] = []
    if facts.gst < PASSTHROUGH_GST:
        found.append(
            f"GStreamer {_gst_text(facts.gst)}'s waylandsink has no colour management, "
            f"{_gst_text(PASSTHROUGH_GST)}'s has"
        )
    color = facts.compositor
    if color is None:
        found.append(
            "compositor's colour management unknown"
            + (f": {facts.probe_error}" if facts.probe_error else "")
        )
        return found
    if not color.version:
        found.append("compositor has no colour management, no wp_color_manager_v1 global")
        return found
    if "parametric" not in color.features:
        found.append("compositor's colour management takes no parametric image descriptions")
    transfer = "hlg" if source in HLG_SOURCES else "st2084_pq"
    if transfer not in color.transfers:
        found.append(
            "compositor cannot take "
            + ("HLG" if transfer == "hlg" else "PQ (ST 2084)")
            + " content"
        )
    if "bt2020" not in color.primaries:
        found.append("compositor cannot take BT.2020 primaries")
    if not color.outputs:
        found.append("compositor reports no output")
    elif not any(o.hdr for o in color.outputs):
        shown = "; ".join(o.describe() for o in color.outputs)
        found.append(f"display is SDR ({shown})")
    return found


def decide(source_hdr: str | None, facts: Facts) -> Decision:
    """The route for a film whose HDR format the server reports (``HDR10``, ``HLG``,
    ``DolbyVision``, ``SDR``/None)."""
    source = source_hdr or "SDR"
    if source == "SDR":
        return Decision(Route.SDR, "SDR film")
    if facts.sink in CODE_SINKS:
        return Decision(Route.PASSTHROUGH, f"{facts.sink} receives the decoder's frames unchanged")
    blockers = _blockers(source, facts)
    if not blockers:
        hdr_outputs = [o for o in facts.compositor.outputs if o.hdr] if facts.compositor else []
        display = hdr_outputs[0].describe() if hdr_outputs else "HDR"
        return Decision(
            Route.PASSTHROUGH,
            "waylandsink gives the compositor the stream's transfer function, BT.2020 "
            f"primaries and mastering metadata; display: {display}",
        )
    why = "; ".join(blockers)
    if facts.gl:
        return Decision(Route.TONEMAP, why)
    return Decision(
        Route.CONVERT,
        f"{why}; no GL tone mapping, install gstreamer1.0-gl",
    )


# --- the facts on this machine -------------------------------------------------------------


def _platform() -> str:
    """Qt's platform when the player runs (without importing Qt here: the sid demo has no
    PyQt6), else what the environment points at."""
    qtgui = sys.modules.get("PyQt6.QtGui")
    app = qtgui.QGuiApplication.instance() if qtgui is not None else None
    if app is not None:
        return str(qtgui.QGuiApplication.platformName())  # type: ignore[union-attr]
    if os.environ.get("QT_QPA_PLATFORM"):
        return os.environ["QT_QPA_PLATFORM"].split(":")[0]
    if os.environ.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "xcb" if os.environ.get("DISPLAY") else ""


def window_sink() -> str:
    """The sink the player window draws with on this platform (``widget.overlay_sink``):
    waylandsink on Wayland, an X11 sink (SDR) otherwise."""
    return "waylandsink" if _platform() == "wayland" else "xvimagesink"


@functools.cache
def _compositor(display: str) -> tuple[CompositorColor | None, str]:
    """Once per process and display: the answer does not change while the player runs (an
    output switched to HDR later is seen at the next start)."""
    from ui.playback import wlcolor

    try:
        return wlcolor.probe(display or None), ""
    except ProbeError as exc:
        return None, str(exc)


def probe_facts(sink: str) -> Facts:
    """The facts for ``sink`` here: the compositor is asked only when the sink is waylandsink
    (on X11 nothing about it changes the route)."""
    from ui.playback import tonemap
    from ui.playback.gst import Gst

    major, minor, _micro, _nano = Gst.version()
    compositor, error = (
        _compositor(os.environ.get("WAYLAND_DISPLAY", "")) if sink == "waylandsink" else (None, "")
    )
    return Facts(
        gst=(major, minor),
        sink=sink,
        platform=_platform(),
        compositor=compositor,
        probe_error=error,
        gl=tonemap.available(),
    )
