"""The Debian package, built once per test session and suite by ``packaging/build-deb.sh``
(1.5-3 min on the loaded 2-core machine): tests/test_packaging.py checks this machine's suite's,
tests/test_package_install.py installs each suite's, tests/test_pg_upgrade_root.py bookworm's."""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.helpers import REPO


def host_arch() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def host_suite() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip('"')
    return ""


@functools.cache
def built_deb(suite: str | None = None) -> Path:
    """``suite``: the Debian release it is for (None: this machine's)."""
    out = Path(tempfile.mkdtemp(prefix="ferrex-deb-out."))
    atexit.register(shutil.rmtree, out, True)
    argv = ["bash", str(REPO / "packaging" / "build-deb.sh"), "--out", str(out)]
    if suite is not None:
        argv += ["--suite", suite]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.name == f"ferrex-appliance_0.1.0-1_{host_arch()}.deb" and path.is_file()
    return path
