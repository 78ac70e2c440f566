"""The HDR route (issue 18, item 3): passthrough > GL tone mapping > plain conversion.

The decision table with the facts written out (every reason a user may read in the badge's
tooltip), then the facts as probed on this machine: GStreamer 1.22 and a headless weston 10,
whose registry has no ``wp_color_manager_v1``, so an HDR10 film is tone-mapped and the reason
names both. Passthrough itself needs GStreamer 1.28 and weston 16: shown in a Debian sid root
by ``scripts/hdr-passthrough-sid.sh`` (docs/playback.md, "HDR passthrough"), too slow for CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ui.playback.hdr import hdr_status
from ui.playback.hdr_check import main as hdr_check
from ui.playback.hdr_route import Decision, Facts, Route, decide, probe_facts
from ui.playback.wlcolor import CompositorColor, OutputColor, ProbeError, probe

HDR_OUTPUT = OutputColor("st2084_pq", "bt2020", 0.005, 10000, 203, target_max_nits=1000)
SDR_OUTPUT = OutputColor("gamma22", "srgb", 0.2, 80, 80)
ABLE = CompositorColor(
    globals=frozenset({"wl_compositor", "wl_output", "wp_color_manager_v1"}),
    version=1,
    features=frozenset({"parametric", "set_mastering_display_primaries", "set_luminances"}),
    transfers=frozenset({"srgb", "gamma22", "st2084_pq", "hlg"}),
    primaries=frozenset({"srgb", "bt2020"}),
    outputs=(HDR_OUTPUT,),
)
SID = Facts(gst=(1, 28), sink="waylandsink", platform="wayland", compositor=ABLE)
"""GStreamer 1.28 on a colour-managed compositor with an HDR display: everything able."""


def test_passthrough_when_gstreamer_compositor_and_display_are_able() -> None:
    decision = decide("HDR10", SID)
    assert decision.route is Route.PASSTHROUGH
    assert "PQ, BT.2020, peak 1000 nits" in decision.reason
    status = hdr_status("HDR10", decision)
    assert status.presented and status.badge == "HDR10 · passthrough"
    assert status.reason.startswith("HDR10 · passthrough: waylandsink gives the compositor")
    # HLG has its own transfer function, Dolby Vision (profile 8) its HDR10 base layer
    assert decide("HLG", SID).passthrough and decide("DolbyVision", SID).passthrough


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (replace(SID, gst=(1, 22)), "GStreamer 1.22's waylandsink has no colour management"),
        (replace(SID, gst=(1, 26)), "GStreamer 1.26's waylandsink has no colour management"),
        (
            replace(SID, compositor=CompositorColor(globals=frozenset({"wl_compositor"}))),
            "compositor has no colour management",
        ),
        (
            replace(SID, compositor=replace(ABLE, features=frozenset({"icc_v2_v4"}))),
            "takes no parametric image descriptions",
        ),
        (
            replace(SID, compositor=replace(ABLE, transfers=frozenset({"srgb", "hlg"}))),
            "compositor cannot take PQ (ST 2084) content",
        ),
        (
            replace(SID, compositor=replace(ABLE, primaries=frozenset({"srgb"}))),
            "compositor cannot take BT.2020 primaries",
        ),
        (
            replace(SID, compositor=replace(ABLE, outputs=(SDR_OUTPUT,))),
            "display is SDR (gamma 2.2, BT.709, peak 80 nits, reference white 80)",
        ),
        (
            replace(SID, compositor=None, probe_error="cannot connect to the Wayland display"),
            "compositor's colour management unknown: cannot connect to the Wayland display",
        ),
        (
            replace(SID, sink="xvimagesink", platform="xcb", compositor=None),
            "xvimagesink on the X11 session shows SDR only, HDR needs waylandsink",
        ),
    ],
)
def test_anything_missing_tone_maps_and_says_why(facts: Facts, reason: str) -> None:
    decision = decide("HDR10", facts)
    assert decision.route is Route.TONEMAP and reason in decision.reason, decision.reason
    status = hdr_status("HDR10", decision)
    assert not status.presented and status.badge == "HDR10 → SDR (tone mapped)"
    assert status.reason.startswith(f"HDR10 → SDR (tone mapped: {decision.reason})")


def test_every_blocker_is_named_and_hlg_needs_its_own_transfer_function() -> None:
    old = replace(SID, gst=(1, 22), compositor=replace(ABLE, outputs=(SDR_OUTPUT,)))
    reason = decide("HDR10", old).reason
    assert "GStreamer 1.22" in reason and "display is SDR" in reason
    pq_only = replace(SID, compositor=replace(ABLE, transfers=frozenset({"st2084_pq"})))
    assert decide("HDR10", pq_only).passthrough
    hlg = decide("HLG", pq_only)
    assert hlg.route is Route.TONEMAP and "cannot take HLG content" in hlg.reason


def test_headroom_makes_an_hdr_display_and_a_failed_description_does_not() -> None:
    extended = OutputColor("gamma22", "srgb", 0.01, 600, 200)  # 3x above reference white
    assert extended.hdr and not SDR_OUTPUT.hdr and HDR_OUTPUT.hdr
    assert not OutputColor(failed="no_output: gone").hdr
    assert decide("HDR10", replace(SID, compositor=replace(ABLE, outputs=(extended,)))).passthrough
    two = replace(SID, compositor=replace(ABLE, outputs=(SDR_OUTPUT, HDR_OUTPUT)))
    assert decide("HDR10", two).passthrough  # the compositor maps PQ for the SDR one


def test_without_gl_a_plain_conversion_says_what_to_install() -> None:
    decision = decide("HDR10", replace(SID, gst=(1, 22), gl=False))
    assert decision.route is Route.CONVERT and "install gstreamer1.0-gl" in decision.reason
    status = hdr_status("HDR10", decision)
    assert status.badge == "HDR10 → SDR" and status.reason.startswith(
        "HDR10 → SDR (not tone mapped: GStreamer 1.22"
    )


def test_sdr_films_and_frame_consumers() -> None:
    assert decide("SDR", SID).route is decide(None, SID).route is Route.SDR
    assert hdr_status("SDR", decide("SDR", SID)).badge == ""
    grabber = decide("HDR10", replace(SID, sink="appsink", gst=(1, 22), compositor=None))
    assert grabber.passthrough and "appsink receives the decoder's frames" in grabber.reason
    assert hdr_status("HDR10", Decision(Route.SDR, "")).badge == ""


# --- this machine: GStreamer 1.22, weston 10 ------------------------------------------------


@pytest.fixture(scope="module")
def weston() -> Iterator[dict[str, str]]:
    assert shutil.which("weston"), "weston is not installed (scripts/deps.sh installs it)"
    runtime = Path(tempfile.mkdtemp(prefix="fxhdr"))
    runtime.chmod(0o700)
    socket = "ferrex-hdr-route"
    with (runtime / "weston.log").open("wb") as log:
        proc = subprocess.Popen(
            ["weston", "--backend=headless-backend.so", "--use-pixman", f"--socket={socket}"],
            env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while not (runtime / socket).exists():
            assert proc.poll() is None and time.monotonic() < deadline, (
                runtime / "weston.log"
            ).read_text()
            time.sleep(0.05)
        yield {"XDG_RUNTIME_DIR": str(runtime), "WAYLAND_DISPLAY": socket}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(runtime, ignore_errors=True)


def test_headless_weston_10_here_means_tone_mapping(
    weston: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in weston.items():
        monkeypatch.setenv(key, value)
    # a player on this Wayland session: the suite's own QApplication (on Xvfb) is not it
    monkeypatch.delitem(sys.modules, "PyQt6.QtGui", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    color = probe()
    # the probe talked to weston: its registry, with outputs, and no colour manager
    assert {"wl_compositor", "wl_output", "xdg_wm_base"} <= color.globals
    assert color.version == 0 and not color.outputs
    facts = probe_facts("waylandsink")
    assert facts.platform == "wayland" and facts.gl and facts.compositor is not None
    decision = decide("HDR10", facts)
    assert decision.route is Route.TONEMAP, decision
    if facts.gst < (1, 28):
        assert f"GStreamer {facts.gst[0]}.{facts.gst[1]}'s waylandsink has no colour" in (
            decision.reason
        )
    assert "compositor has no colour management" in decision.reason
    assert hdr_status("HDR10", decision).badge == "HDR10 → SDR (tone mapped)"
    # what a bug report would show
    assert hdr_check(["--sink", "waylandsink"]) == 0
    out = capsys.readouterr().out
    assert "no wp_color_manager_v1 among its" in out and "route: tonemap" in out
    assert "status: HDR10 → SDR (tone mapped: " in out


def test_no_compositor_is_a_probe_error() -> None:
    with pytest.raises(ProbeError, match="cannot connect"):
        probe("ferrex-no-such-display")
