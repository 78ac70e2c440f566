"""The .deb installed for real: ``apt-get install ./ferrex-appliance_*.deb`` into a minimal Debian
root, then that root booted with its own systemd, where the service runs as it would on a Pi.

Per suite, each with its own package (``build-deb.sh --suite``): Debian 13 "trixie" (Python 3.13,
PostgreSQL 17, Redis 8) by default, as in CI; Debian 12 "bookworm" too with
``FERREX_PACKAGE_SUITES=bookworm,trixie`` (CI time: each suite costs a package build and a root,
3-6 min here; bookworm's package still boots in CI in tests/test_pg_upgrade_root.py).

Why a debootstrap root and not ``dpkg --root`` / ``dpkg -x``, by measurement on the dev machine
(2 cores shared with other work at load 4-12): making the root takes 35-40 s once (debootstrap
minbase + systemd + the Depends' .debs, cached as a tarball keyed by what shapes it:
packaging/test-root.sh), unpacking it into tmpfs ~5 s, apt installing the package with its ~340
dependencies 26 s idle, 50-75 s at load 9 (65 s on disk rather than tmpfs), the whole module
46 s idle with the cache (2-3.5 min at load 9), plus ~40 s while the cache is cold (a fresh CI
machine). For that it checks what the cheaper ways cannot: that the Depends line pulls in
everything the installed copy needs (the root has nothing else), that the maintainer scripts work
in a chroot where systemd is not PID 1 (account, data dir, enabled but not started), and, booted
with systemd-nspawn, that systemd starts the unit and sees READY=1, /health answers, stop is
clean, remove keeps the data, a reinstall (postinst starting the unit) finds it, purge deletes it,
and a backup restores onto a fresh install. ``dpkg --root`` runs maintainer scripts chrooted
into the same kind of root anyway, and ``dpkg -x`` runs none.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest

from tests.debpkg import built_deb
from tests.debroot import Container, ThrowawayRoot, root_tarball
from tests.helpers import live_processes_mentioning

# the build xz-compresses ~155 MB, 100 MB of it PyAV's bundled FFmpeg libraries: about
# 1.5 CPU-minutes, more than the default per-test timeout on a loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SUITES = os.environ.get("FERREX_PACKAGE_SUITES", "trixie").split(",")
PYTHON = {"bookworm": "3.11", "trixie": "3.13"}  # each suite's python3.X, which the venv uses
DEB_IN_ROOT = "/srv/ferrex-appliance.deb"  # not /tmp: the booted root mounts a tmpfs there
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module", params=SUITES)
def suite(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def depends(suite: str) -> tuple[str, ...]:
    return ("postgresql", "redis-server", "ffmpeg", f"python{PYTHON[suite]}", "systemd", "passwd")


@pytest.fixture(scope="module")
def root(suite: str) -> Iterator[ThrowawayRoot]:
    made = ThrowawayRoot(root_tarball(suite))
    try:
        yield made
    finally:
        made.close()


def installed(root: ThrowawayRoot, *packages: str) -> dict[str, bool]:
    result = root.chroot(
        "dpkg-query -W -f='${Package} ${db:Status-Status}\\n' "
        + " ".join(packages)
        + " 2>/dev/null || true"
    )
    states = dict(line.split() for line in result.stdout.splitlines() if len(line.split()) == 2)
    return {p: states.get(p) == "installed" for p in packages}


@pytest.fixture(scope="module")
def install(root: ThrowawayRoot, suite: str) -> str:
    deb = built_deb(suite)
    assert installed(root, *depends(suite)[:4]) == dict.fromkeys(depends(suite)[:4], False)
    copied = root.host("cp", str(deb), str(root.path) + DEB_IN_ROOT)
    assert copied.returncode == 0, copied.stderr
    started = time.monotonic()
    result = root.chroot(
        f"apt-get install -y -q --no-install-recommends "
        f"-o Dpkg::Options::=--force-unsafe-io {DEB_IN_ROOT}",
        timeout=600,
    )
    print(f"\napt-get install: {time.monotonic() - started:.1f} s")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    return result.stdout + result.stderr


def test_apt_pulls_in_every_dependency(root: ThrowawayRoot, install: str, suite: str) -> None:
    assert installed(root, "ferrex-appliance", *depends(suite)) == dict.fromkeys(
        ("ferrex-appliance", *depends(suite)), True
    )
    # every shipped file is on disk as the package's md5sums say
    verify = root.chroot("dpkg --verify ferrex-appliance")
    assert verify.returncode == 0 and verify.stdout == "", verify


def test_postinst_in_a_chroot_without_systemd(
    root: ThrowawayRoot, install: str, suite: str
) -> None:
    passwd = root.chroot("getent passwd ferrex").stdout.strip().split(":")
    assert passwd[0] == "ferrex" and int(passwd[2]) < 1000, passwd
    assert passwd[5:] == ["/var/lib/ferrex", "/usr/sbin/nologin"]
    modes = root.chroot("stat -c '%n %U:%G %a' /var/lib/ferrex /etc/ferrex/ferrex.toml").stdout
    assert modes.splitlines() == [
        "/var/lib/ferrex ferrex:ferrex 700",
        "/etc/ferrex/ferrex.toml root:ferrex 640",
    ]
    wants = root.file("/etc/systemd/system/multi-user.target.wants/ferrex.service")
    # trixie's deb-systemd-helper names the unit by its /usr path (/lib is a link to usr/lib)
    assert wants.is_symlink() and str(wants.readlink()) in (
        "/lib/systemd/system/ferrex.service",
        "/usr/lib/systemd/system/ferrex.service",
    )
    # enabled, not started: no systemd to start it, and nothing else may
    assert live_processes_mentioning("/opt/ferrex/venv") == []
    assert "System has not been booted with systemd" not in install
    assert root.file(
        f"/opt/ferrex/venv/lib/python{PYTHON[suite]}/site-packages/appliance/__pycache__"
    ).is_dir()


def test_installed_cli_runs(root: ThrowawayRoot, install: str, suite: str) -> None:
    out = root.chroot("""
        cd /
        ferrex-appliance version
        /opt/ferrex/venv/bin/python -c 'import appliance; print(appliance.__file__)'
        ferrex-appliance check-config >/dev/null && echo config-ok
    """)
    assert out.returncode == 0, out
    assert out.stdout.split() == [
        "ferrex-appliance",
        "0.1.0",
        f"/opt/ferrex/venv/lib/python{PYTHON[suite]}/site-packages/appliance/__init__.py",
        "config-ok",
    ]
    # the venv is the suite's own interpreter, and the compiled wheels load in it
    out = root.chroot("""/opt/ferrex/venv/bin/python -c '
import sys, asyncpg.protocol.protocol, msgspec, av
print("%d.%d" % sys.version_info[:2], sys.executable)'""")
    assert out.returncode == 0, out
    assert out.stdout.split() == [PYTHON[suite], "/opt/ferrex/venv/bin/python"]


@pytest.fixture(scope="module")
def booted(root: ThrowawayRoot, install: str) -> Container:
    return root.boot()


def journal(box: Container) -> list[dict[str, object]]:
    lines = box.ok("journalctl -u ferrex -o cat --no-pager").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def main_pid(box: Container) -> int:
    return int(box.ok("systemctl show -P MainPID ferrex").strip())


def test_enabled_unit_starts_at_boot_as_ferrex(booted: Container) -> None:
    booted.wait_active()
    status, health = booted.http("GET", "/health")
    assert status == 200 and health["status"] == "ok", health
    assert health["version"] == "0.1.0" and health["postgres"]["embedded"]
    main = main_pid(booted)
    assert booted.ok(f"stat -c %U /proc/{main}").strip() == "ferrex"
    # its Postgres and Redis run as ferrex too (Debian's own postgresql/redis-server services,
    # which the embedded mode does not use, run beside them as postgres/redis)
    children = booted.ok(
        f"for s in /proc/[0-9]*/status; do grep -q '^PPid:\\s*{main}$' $s && "
        "echo $(cat ${s%/status}/comm) $(stat -c %U ${s%/status}); done; true"
    )
    lines = sorted(children.splitlines())
    walkers = [line for line in lines if line.startswith("python")]  # scan.walk_processes
    assert [line for line in lines if line not in walkers] == [
        "postgres ferrex",
        "redis-server ferrex",
    ], children
    assert all(line.endswith(" ferrex") for line in walkers), children
    messages = [entry.get("msg") for entry in journal(booted)]
    assert "ferrex appliance ready" in messages  # structured JSON lines in the journal


def test_stop_is_clean_and_start_keeps_identity(booted: Container) -> None:
    booted.wait_active()
    server_id = booted.http("GET", "/health")[1]["server_id"]
    booted.ok("systemctl stop ferrex")
    show = booted.ok("systemctl show -p Result -p ExecMainCode -p ExecMainStatus ferrex")
    assert sorted(show.split()) == ["ExecMainCode=1", "ExecMainStatus=0", "Result=success"], show
    assert journal(booted)[-1]["msg"] == "stopped"
    assert booted.ok("stat -c %U /proc/[0-9]* 2>/dev/null | grep -x ferrex || true") == ""
    booted.ok("systemctl start ferrex")
    booted.wait_active()
    assert booted.http("GET", "/health")[1]["server_id"] == server_id


def test_remove_keeps_data_purge_deletes_it_backup_restores(booted: Container) -> None:
    booted.wait_active()
    assert (
        booted.http("POST", "/api/v1/setup/claim", {"username": "admin", "password": PASSWORD})[0]
        == 201
    )
    server_id = booted.http("GET", "/health")[1]["server_id"]
    booted.ok("ferrex-appliance backup /root/backup >/dev/null")

    booted.ok("apt-get remove -y -q ferrex-appliance")
    assert booted.sh("systemctl is-active ferrex").stdout.strip() == "inactive"
    booted.ok("test -f /var/lib/ferrex/server.key && test -f /var/lib/ferrex/postgres/PG_VERSION")
    booted.ok("test -f /etc/ferrex/ferrex.toml && test ! -e /opt/ferrex/venv/bin/python")

    # reinstall (the upgrade path): postinst starts the unit, which finds the data
    booted.ok(f"dpkg -i {DEB_IN_ROOT}")
    booted.wait_active()
    assert booted.http("GET", "/health")[1]["server_id"] == server_id

    booted.ok("apt-get purge -y -q ferrex-appliance")
    booted.ok("test ! -e /var/lib/ferrex && test ! -e /etc/ferrex && test ! -e /opt/ferrex/venv")
    assert booted.sh("systemctl is-active ferrex").stdout.strip() == "inactive"

    # a fresh install is a new server; restore brings back the old one and its users
    booted.ok(f"dpkg -i {DEB_IN_ROOT}")
    booted.wait_active()
    assert booted.http("GET", "/health")[1]["server_id"] != server_id
    booted.ok(
        "systemctl stop ferrex; ferrex-appliance restore /root/backup; systemctl start ferrex"
    )
    booted.wait_active()
    assert booted.http("GET", "/health")[1]["server_id"] == server_id
    status, body = booted.http(
        "POST",
        "/api/v1/auth/login",
        {
            "username": "admin",
            "password": PASSWORD,
            "device": {"id": "after-restore", "name": "x", "platform": "linux"},
        },
    )
    assert status == 200, body
