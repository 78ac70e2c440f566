"""The unit file must be one systemd accepts, and keep the properties the appliance relies on."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO

UNIT = REPO / "systemd" / "ferrex.service"


def verify(unit_text: str, root: Path) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify`` in a scratch root holding the unit, its ExecStart and the
    distribution's units (sysinit.target & co.), so it can run on a machine without the package."""
    system_units = next(
        p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()
    )
    shutil.copytree(system_units, root / "usr/lib/systemd/system", symlinks=True)
    exec_start = root / "opt/ferrex/venv/bin/ferrex-appliance"
    exec_start.parent.mkdir(parents=True)
    exec_start.write_text("#!/bin/sh\n")
    exec_start.chmod(0o755)
    target = root / "etc/systemd/system/ferrex.service"
    target.parent.mkdir(parents=True)
    target.write_text(unit_text)
    return subprocess.run(
        ["systemd-analyze", f"--root={root}", "verify", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_systemd_analyze_accepts_the_unit(tmp_path: Path) -> None:
    result = verify(UNIT.read_text(), tmp_path)
    assert result.returncode == 0, result.stderr
    complaints = [line for line in result.stderr.splitlines() if "ferrex.service" in line]
    assert complaints == []


def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    result = verify(UNIT.read_text().replace("WatchdogSec=", "WatchdogSecs="), tmp_path)
    assert "Unknown key 'WatchdogSecs'" in result.stderr


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Type", "notify"),
        ("User", "ferrex"),
        ("StateDirectory", "ferrex"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("ReadWritePaths", "/var/lib/ferrex"),
        ("KillMode", "mixed"),
        ("StateDirectoryMode", "0700"),
        ("UMask", "0077"),
    ],
)
def test_unit_keeps_readiness_identity_and_hardening(key: str, value: str) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    assert parser["Service"][key] == value
    assert int(parser["Service"]["WatchdogSec"]) >= 10
