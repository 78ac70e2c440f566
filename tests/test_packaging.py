"""The Debian package as built by ``packaging/build-deb.sh`` for this machine's architecture:
control data, contents, the unit and config it ships, lintian, and the maintainer scripts' syntax.
Installing it (apt-get into a minimal Debian 12 root, then booting that root with systemd) is
tests/test_package_install.py; both share one build per session (tests/debpkg.py)."""

from __future__ import annotations

import configparser
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.debpkg import built_deb, host_arch

# the build xz-compresses ~155 MB, 100 MB of it PyAV's bundled FFmpeg libraries: about
# 1.5 CPU-minutes, more than the default per-test timeout on a loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def deb() -> Path:
    return built_deb()


@pytest.fixture(scope="module")
def tree(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("extracted")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    root.chmod(0o755)
    return root


def field(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_control_metadata(deb: Path) -> None:
    assert field(deb, "Package") == "ferrex-appliance"
    assert field(deb, "Architecture") == host_arch()
    depends = [d.strip() for d in field(deb, "Depends").split(",")]
    for wanted in (
        "postgresql",
        "redis-server",
        "ffmpeg",
        "systemd",
        "passwd",
        "python3 (>= 3.11)",
        "python3.11",
    ):
        assert wanted in depends, depends
    info = subprocess.run(
        ["dpkg-deb", "-I", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    for name in ("conffiles", "postinst", "prerm", "postrm", "md5sums"):
        assert name in info
    conffiles = subprocess.run(
        ["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=True
    ).stdout
    assert b"/etc/ferrex/ferrex.toml" in conffiles


def test_contents(deb: Path) -> None:
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    paths = {line.split()[5].removeprefix(".") for line in listing}
    owners = {line.split()[1] for line in listing}
    assert owners == {"root/root"}
    for wanted in (
        "/opt/ferrex/venv/bin/ferrex-appliance",
        "/opt/ferrex/venv/pyvenv.cfg",
        "/lib/systemd/system/ferrex.service",
        "/usr/lib/sysusers.d/ferrex.conf",
        "/usr/lib/tmpfiles.d/ferrex.conf",
        "/etc/ferrex/ferrex.toml",
        "/usr/bin/ferrex-appliance",
        "/usr/share/doc/ferrex-appliance/copyright",
        "/opt/ferrex/venv/lib/python3.11/site-packages/appliance/cli.py",
        "/opt/ferrex/venv/lib/python3.11/site-packages/store/migrations/0001_server_state.sql",
    ):
        assert wanted in paths, wanted
    allowed = (
        "/opt/ferrex/",
        "/lib/systemd/system/",
        "/usr/lib/sysusers.d/",
        "/usr/lib/tmpfiles.d/",
        "/etc/ferrex/",
        "/usr/bin/",
        "/usr/share/doc/",
        "/usr/share/lintian/",
    )
    stray = [
        p
        for p in paths
        if p.rstrip("/")
        and not p.startswith(allowed)
        and p
        not in ("/etc/", "/lib/", "/lib/systemd/", "/opt/", "/usr/", "/usr/lib/", "/usr/share/")
    ]
    assert stray == []
    assert not [p for p in paths if "__pycache__" in p or "/var/lib/ferrex" in p]


def test_unit_and_config_agree(tree: Path) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((tree / "lib/systemd/system/ferrex.service").read_text())
    exec_start = parser["Service"]["ExecStart"].split()
    assert exec_start == [
        "/opt/ferrex/venv/bin/ferrex-appliance",
        "serve",
        "--config",
        "/etc/ferrex/ferrex.toml",
    ]
    assert (tree / exec_start[0].lstrip("/")).stat().st_mode & 0o111
    config = tomllib.loads((tree / "etc/ferrex/ferrex.toml").read_text())
    assert config["data_dir"] == "/var/lib/ferrex" == parser["Service"]["ReadWritePaths"]
    launcher = (tree / "opt/ferrex/venv/bin/ferrex-appliance").read_text()
    assert launcher.startswith("#!/opt/ferrex/venv/bin/python\n")
    assert os.readlink(tree / "opt/ferrex/venv/bin/python3") == "/usr/bin/python3.11"
    # nothing names the build's staging dir
    leaked = subprocess.run(
        ["grep", "-rlF", "/tmp/ferrex-deb.", str(tree)], capture_output=True, text=True
    )
    assert leaked.stdout == ""


def test_venv_holds_the_appliance_extra_and_nothing_of_the_player(tree: Path) -> None:
    site = tree / "opt/ferrex/venv/lib/python3.11/site-packages"
    top = {p.name.lower().removesuffix(".py") for p in site.iterdir()}  # inotify_simple.py
    for wanted in (
        "asyncpg",
        "redis",
        "hypercorn",
        "quart_trio",
        "argon2",
        "inotify_simple",
        "trio_parallel",
        "pil",
    ):
        assert wanted in top, wanted
    assert not {"pyqt6", "vispy", "gi", "numpy", "lmdb", "opengl", "keyring"} & top, sorted(top)
    # the operator's manual travels with the package (the README points into docs/)
    assert (tree / "opt/ferrex/README.md").is_file()
    assert (tree / "opt/ferrex/docs/operations.md").is_file()


def test_lintian_finds_no_errors(deb: Path) -> None:
    result = subprocess.run(
        ["lintian", "--no-tag-display-limit", str(deb)], capture_output=True, text=True, timeout=300
    )
    lines = (result.stdout + result.stderr).splitlines()
    errors = [line for line in lines if line.startswith("E:")]
    assert errors == [], "\n".join(lines)


def test_maintainer_scripts_parse(deb: Path, tmp_path: Path) -> None:
    """What they do is tests/test_package_install.py; a syntax error here fails faster."""
    control = tmp_path / "control"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(control)], check=True)
    for script in ("postinst", "prerm", "postrm"):
        subprocess.run(["sh", "-n", str(control / script)], check=True)
