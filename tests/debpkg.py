"""The Debian package, built once per test session by ``packaging/build-deb.sh`` (about 25 s):
tests/test_packaging.py checks it, tests/test_package_install.py installs it."""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.helpers import REPO


def host_arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()


@functools.cache
def built_deb() -> Path:
    out = Path(tempfile.mkdtemp(prefix="ferrex-deb-out."))
    atexit.register(shutil.rmtree, out, True)
    result = subprocess.run(["bash", str(REPO / "packaging" / "build-deb.sh"), "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.name == f"ferrex-appliance_0.1.0-1_{host_arch()}.deb" and path.is_file()
    return path
