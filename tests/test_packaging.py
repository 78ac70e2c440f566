"""The Debian package: built once by ``packaging/build-deb.sh`` for this machine's architecture,
then checked with dpkg-deb and lintian, its sysusers/tmpfiles entries applied to a scratch root,
its maintainer scripts' purge rule exercised in a private mount namespace, and its venv run from
the extracted tree at /opt/ferrex (bind-mounted in a private mount namespace: nothing is
installed on this machine's root)."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import signal
import subprocess
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO, live_processes_mentioning, short_tempdir

pytestmark = pytest.mark.slow


def arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("deb")
    result = subprocess.run(["bash", str(REPO / "packaging" / "build-deb.sh"), "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.name == f"ferrex-appliance_0.1.0-1_{arch()}.deb" and path.is_file()
    return path


@pytest.fixture(scope="module")
def tree(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("extracted")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    root.chmod(0o755)
    return root


def field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_control_metadata(deb: Path) -> None:
    assert field(deb, "Package") == "ferrex-appliance"
    assert field(deb, "Architecture") == arch()
    depends = [d.strip() for d in field(deb, "Depends").split(",")]
    for wanted in ("postgresql", "redis-server", "ffmpeg", "systemd", "passwd",
                   "python3 (>= 3.11)", "python3.11"):
        assert wanted in depends, depends
    info = subprocess.run(["dpkg-deb", "-I", str(deb)], capture_output=True, text=True,
                          check=True).stdout
    for name in ("conffiles", "postinst", "prerm", "postrm", "md5sums"):
        assert name in info
    conffiles = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True,
                               check=True).stdout
    assert b"/etc/ferrex/ferrex.toml" in conffiles


def test_contents(deb: Path) -> None:
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    paths = {line.split()[5].removeprefix(".") for line in listing}
    owners = {line.split()[1] for line in listing}
    assert owners == {"root/root"}
    for wanted in ("/opt/ferrex/venv/bin/ferrex-appliance", "/opt/ferrex/venv/pyvenv.cfg",
                   "/lib/systemd/system/ferrex.service", "/usr/lib/sysusers.d/ferrex.conf",
                   "/usr/lib/tmpfiles.d/ferrex.conf", "/etc/ferrex/ferrex.toml",
                   "/usr/bin/ferrex-appliance", "/usr/share/doc/ferrex-appliance/copyright",
                   "/opt/ferrex/venv/lib/python3.11/site-packages/appliance/cli.py",
                   "/opt/ferrex/venv/lib/python3.11/site-packages/store/migrations/"
                   "0001_server_state.sql"):
        assert wanted in paths, wanted
    allowed = ("/opt/ferrex/", "/lib/systemd/system/", "/usr/lib/sysusers.d/",
               "/usr/lib/tmpfiles.d/", "/etc/ferrex/", "/usr/bin/", "/usr/share/doc/",
               "/usr/share/lintian/")
    stray = [p for p in paths if p.rstrip("/") and not p.startswith(allowed)
             and p not in ("/etc/", "/lib/", "/lib/systemd/", "/opt/", "/usr/", "/usr/lib/",
                           "/usr/share/")]
    assert stray == []
    assert not [p for p in paths if "__pycache__" in p or "/var/lib/ferrex" in p]


def test_unit_and_config_agree(tree: Path) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((tree / "lib/systemd/system/ferrex.service").read_text())
    exec_start = parser["Service"]["ExecStart"].split()
    assert exec_start == ["/opt/ferrex/venv/bin/ferrex-appliance", "serve", "--config",
                          "/etc/ferrex/ferrex.toml"]
    assert (tree / exec_start[0].lstrip("/")).stat().st_mode & 0o111
    config = tomllib.loads((tree / "etc/ferrex/ferrex.toml").read_text())
    assert config["data_dir"] == "/var/lib/ferrex" == parser["Service"]["ReadWritePaths"]
    launcher = (tree / "opt/ferrex/venv/bin/ferrex-appliance").read_text()
    assert launcher.startswith("#!/opt/ferrex/venv/bin/python\n")
    assert os.readlink(tree / "opt/ferrex/venv/bin/python3") == "/usr/bin/python3.11"
    # nothing names the build's staging dir
    leaked = subprocess.run(["grep", "-rlF", "/tmp/ferrex-deb.", str(tree)],
                            capture_output=True, text=True)
    assert leaked.stdout == ""


def test_lintian_finds_no_errors(deb: Path) -> None:
    result = subprocess.run(["lintian", "--no-tag-display-limit", str(deb)],
                            capture_output=True, text=True, timeout=300)
    lines = (result.stdout + result.stderr).splitlines()
    errors = [line for line in lines if line.startswith("E:")]
    assert errors == [], "\n".join(lines)


def test_sysusers_and_tmpfiles_entries(tree: Path, tmp_path: Path) -> None:
    """Applied to a scratch root, as postinst applies them to the real one."""
    scratch = tmp_path / "root"
    (scratch / "etc").mkdir(parents=True)
    subprocess.run(["systemd-sysusers", f"--root={scratch}",
                    str(tree / "usr/lib/sysusers.d/ferrex.conf")], check=True)
    passwd = (scratch / "etc/passwd").read_text()
    entry = next(line for line in passwd.splitlines() if line.startswith("ferrex:"))
    uid = int(entry.split(":")[2])
    assert entry.endswith(":/var/lib/ferrex:/usr/sbin/nologin") and uid < 1000
    subprocess.run(["systemd-tmpfiles", f"--root={scratch}", "--create",
                    str(tree / "usr/lib/tmpfiles.d/ferrex.conf")], check=True)
    info = (scratch / "var/lib/ferrex").stat()
    assert (info.st_uid, info.st_mode & 0o777) == (uid, 0o750)


def in_namespace(script: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """``script`` in a private mount namespace (mounts there are invisible outside)."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) for a private mount namespace")
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-ec", script],
                          capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]


def test_maintainer_scripts(tree: Path, deb: Path, tmp_path: Path) -> None:
    control = tmp_path / "control"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(control)], check=True)
    for script in ("postinst", "prerm", "postrm"):
        subprocess.run(["sh", "-n", str(control / script)], check=True)
    # data survives remove and goes on purge; /var/lib, /run and /etc/systemd are scratch here
    result = in_namespace(f"""
        mount -t tmpfs none /var/lib; mount -t tmpfs none /run; mount -t tmpfs none /etc/systemd
        mkdir -p /var/lib/ferrex/postgres; touch /var/lib/ferrex/server.key
        sh {control}/postrm remove; test -e /var/lib/ferrex/server.key; echo kept
        sh {control}/postrm purge; test ! -e /var/lib/ferrex; echo purged
    """, timeout=60)
    assert result.returncode == 0 and result.stdout.split() == ["kept", "purged"], result


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = short_tempdir("fxp") / "var"
    yield path
    for pid in live_processes_mentioning(str(path)):
        os.kill(pid, signal.SIGKILL)


def test_installed_venv_serves_from_opt(tree: Path, data_dir: Path) -> None:
    """The extracted tree's /opt/ferrex mounted at /opt/ferrex: version, then serve with the
    package's config file, /health, SIGTERM; the external config file is never written."""
    version = in_namespace(f"""
        mount -t tmpfs none /opt; mkdir /opt/ferrex; mount --bind {tree}/opt/ferrex /opt/ferrex
        cd /; env -i PATH=/usr/bin:/bin /opt/ferrex/venv/bin/ferrex-appliance version
        env -i /opt/ferrex/venv/bin/python -c 'import appliance, lmdb, msgspec, asyncpg, argon2
print(appliance.__file__)'
    """, timeout=60)
    assert version.returncode == 0, version
    assert version.stdout.split() == [
        "ferrex-appliance", "0.1.0",
        "/opt/ferrex/venv/lib/python3.11/site-packages/appliance/__init__.py"]

    config = tree / "etc/ferrex/ferrex.toml"
    config_before = config.read_bytes()
    log_path = data_dir.parent / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-ec",
             f"mount -t tmpfs none /opt; mkdir /opt/ferrex; "
             f"mount --bind {tree}/opt/ferrex /opt/ferrex; cd /; "
             f"exec env -i PATH=/usr/bin:/bin FERREX_SCAN_ANALYZE=false "
             f"/opt/ferrex/venv/bin/ferrex-appliance serve --config {config} "
             f"--data-dir {data_dir} --listen 127.0.0.1:0"],
            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        base = ""
        while not base and time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()
            for line in log_path.read_text(errors="replace").splitlines():
                if '"ferrex appliance ready"' in line:
                    base = json.loads(line)["listen"][0]
            time.sleep(0.1)
        assert base, log_path.read_text()
        with urllib.request.urlopen(base + "/health", timeout=10) as response:
            assert json.loads(response.read())["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log_path.read_text()
    assert config.read_bytes() == config_before
    assert not (data_dir / "ferrex.toml").exists()
    assert (data_dir / "server.key").is_file() and (data_dir / "postgres/PG_VERSION").is_file()
