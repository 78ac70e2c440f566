"""HDR passthrough in a Debian sid root (issue 18, item 3): ``scripts/hdr-passthrough-sid.sh``.

GStreamer 1.28.8's waylandsink on weston 16 (headless, GL renderer, colour management on, the
output in PQ/BT.2020), driven by the player's own route and Engine, must give the video surface
an image description with the PQ transfer function, BT.2020 primaries and the clip's mastering
luminance (0.005-1000 nits) and light levels, and the sink must get 10-bit frames.

Needs root (debootstrap, chroot), as the packaging tests do. The first run debootstraps sid and
installs ~200 packages (4.5 min here, cached as a tarball after that: 10 s a run). The mirror
this workplace reaches serves a sid frozen on 2026-10-30 (its apt is told to accept the expired
Release date), so the root is the same from run to run.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1200),
]


def test_sid_root_passes_hdr10_through_to_the_compositor(tmp_path: Path) -> None:
    run = subprocess.run(
        ["bash", str(REPO / "scripts" / "hdr-passthrough-sid.sh"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=1100,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    check = (tmp_path / "check.log").read_text()
    assert "GStreamer 1.28" in check and "route: passthrough" in check, check
    assert "badge: HDR10 · passthrough" in check
    assert "colorimetry=(string)bt2100-pq" in check and "content-light-level" in check
    assert "passthrough: 10-bit HDR frames and metadata at the sink" in check
    trace = (tmp_path / "excerpt.txt").read_text()
    for request in (
        "set_tf_named(11)",  # st2084_pq
        "set_primaries_named(6)",  # bt2020
        "set_mastering_luminance(50, 1000)",  # the clip's L(10000000,50): 0.005-1000 nits
        "set_max_cll(1000)",
        "set_max_fall(400)",
        "wp_color_management_surface_v1",
    ):
        assert request in trace, trace
    assert ".ready(" in trace and ".set_image_description(" in trace, trace
