"""Installs that fit their users: ``ferrex[player]`` in a fresh venv pulls no server library, and
``ferrex[appliance]`` (what the .deb and scripts/appliance.sh install) nothing of Qt, vispy or
PyGObject. Both venvs resolve against the package index for real (no --no-deps), from the one
wheel that the tracked files build; a pip cache under ~/.cache/ferrex/pip keeps reruns to about a
minute (the first run downloads PyQt6 and builds PyGObject and pycairo once).

Each side must also be complete: every module of the appliance (and store) imports in the
appliance venv, the player's modules import in the player venv, and each console script starts
there, while the other side's script refuses in one line naming the extra to install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import REPO

# a cold cache downloads ~150 MB and compiles PyGObject; a warm one takes about a minute
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CACHE = Path(os.environ.get("FERREX_PIP_CACHE", Path.home() / ".cache" / "ferrex" / "pip"))

SERVER_LIBRARIES = {
    "asyncpg",
    "redis",
    "hypercorn",
    "quart",
    "quart-trio",
    "trio-asyncio",
    "trio-parallel",
    "argon2-cffi",
    "argon2-cffi-bindings",
    "inotify-simple",
}
PLAYER_LIBRARIES = {
    "pyqt6",
    "pyqt6-qt6",
    "pyqt6-sip",
    "vispy",
    "pygobject",
    "pycairo",
    "pyopengl",
    "keyring",
    "lmdb",
    "numpy",
}

LIST_DISTRIBUTIONS = (
    "import importlib.metadata as m, json, re; "
    "print(json.dumps(sorted({re.sub(r'[-_.]+', '-', d.metadata['Name']).lower() "
    "for d in m.distributions()})))"
)
# every module of the given packages, imported: a library the extra forgot fails here
IMPORT_ALL = """
import importlib, pkgutil, sys
failed = []
for top in sys.argv[1:]:
    package = importlib.import_module(top)
    for info in pkgutil.walk_packages(package.__path__, top + "."):
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            failed.append(f"{info.name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def run(*args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env, cwd="/"
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project wheel from the tracked (and untracked, not ignored) files, as build-deb.sh
    makes it, so that nothing of the working tree's .venv or egg-info leaks in."""
    src = tmp_path_factory.mktemp("src")
    files = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    built = run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--cache-dir",
        CACHE,
        "-w",
        out,
        src,
    )
    assert built.returncode == 0, built.stderr
    (found,) = out.glob("ferrex-*.whl")
    return found


def make_venv(root: Path, wheel: Path, extra: str) -> Path:
    venv = root / extra
    made = run(sys.executable, "-m", "venv", venv)
    assert made.returncode == 0, made.stderr
    installed = run(
        venv / "bin" / "python",
        "-m",
        "pip",
        "install",
        "-q",
        "--cache-dir",
        CACHE,
        f"{wheel}[{extra}]",
    )
    assert installed.returncode == 0, f"pip install ferrex[{extra}]:\n{installed.stderr[-4000:]}"
    return venv


@pytest.fixture(scope="module")
def venvs(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One fresh venv per extra, installed side by side (pip mostly waits on the network)."""
    root = tmp_path_factory.mktemp("venvs")
    with ThreadPoolExecutor(2) as pool:
        futures = {
            extra: pool.submit(make_venv, root, wheel, extra) for extra in ("appliance", "player")
        }
        return {extra: future.result() for extra, future in futures.items()}


def distributions(venv: Path) -> set[str]:
    listed = run(venv / "bin" / "python", "-c", LIST_DISTRIBUTIONS)
    assert listed.returncode == 0, listed.stderr
    return set(json.loads(listed.stdout))


def test_player_install_has_no_server_library(venvs: dict[str, Path]) -> None:
    installed = distributions(venvs["player"])
    assert {"ferrex", "pyqt6", "vispy", "pygobject", "lmdb", "numpy"} <= installed, installed
    assert not installed & SERVER_LIBRARIES, sorted(installed & SERVER_LIBRARIES)


def test_appliance_install_has_nothing_of_the_player(venvs: dict[str, Path]) -> None:
    installed = distributions(venvs["appliance"])
    assert {"ferrex", "asyncpg", "redis", "hypercorn", "quart-trio"} <= installed, installed
    assert not installed & PLAYER_LIBRARIES, sorted(installed & PLAYER_LIBRARIES)


def test_appliance_modules_all_import(venvs: dict[str, Path]) -> None:
    imported = run(venvs["appliance"] / "bin" / "python", "-c", IMPORT_ALL, "appliance", "store")
    assert imported.returncode == 0, imported.stdout + imported.stderr


def test_player_modules_all_import(venvs: dict[str, Path]) -> None:
    imported = run(venvs["player"] / "bin" / "python", "-c", IMPORT_ALL, "ui", "sync")
    assert imported.returncode == 0, imported.stdout + imported.stderr


def test_console_scripts_start_with_their_extra(venvs: dict[str, Path]) -> None:
    version = run(venvs["appliance"] / "bin" / "ferrex-appliance", "version")
    assert version.returncode == 0 and "0.1.0" in version.stdout, version
    helped = run(venvs["appliance"] / "bin" / "ferrex-appliance", "--help")
    assert helped.returncode == 0 and "serve" in helped.stdout, helped
    sync_help = run(venvs["player"] / "bin" / "ferrex-player", "sync", "--help")
    assert sync_help.returncode == 0 and "--server" in sync_help.stdout, sync_help


@pytest.mark.parametrize(
    ("venv", "script", "extra"),
    [
        ("appliance", "ferrex-player", "player"),
        ("player", "ferrex-appliance", "appliance"),
    ],
)
def test_console_script_without_its_extra_says_so_in_one_line(
    venvs: dict[str, Path], venv: str, script: str, extra: str
) -> None:
    refused = run(venvs[venv] / "bin" / script, "version")
    assert refused.returncode == 2, refused
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert f"pip install 'ferrex[{extra}]'" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
