"""The embedded cluster across the Debian 12 → 13 PostgreSQL upgrade, as it happens on a system.

A bookworm root (packaging/test-root.sh) gets the bookworm package; booted, the appliance makes
its cluster with PostgreSQL 15 and holds an admin, a second user, a library with a scanned movie
and that movie's watch state. Then trixie's PostgreSQL arrives the way ``apt full-upgrade`` brings
it: ``postgresql`` (the metapackage, now depending on postgresql-17) and ``postgresql-17`` from
trixie, with postgresql-15 left installed. Its .debs are fetched while the root is still a chroot
(the booted root has no network) and installed inside the booted system.

1. postgresql-15 removed before the appliance restarts: the unit fails with one line naming the
   package and ``ferrex-appliance upgrade-db``; the data dir is byte for byte what it was.
2. postgresql-15 back: the next start runs pg_upgrade 15 → 17 (the journal says so), keeps the
   old cluster until the new one has started and migrated, then removes it; every user, the
   library and the watch state are there.

Nothing is mocked: PG_VERSION is what PostgreSQL 15's initdb wrote, the servers are Debian's.
Measured on the loaded 2-core dev machine: see docs/operations.md ("PostgreSQL upgrades").
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.debpkg import built_deb
from tests.debroot import Container, ThrowawayRoot, root_tarball

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

DEB_IN_ROOT = "/srv/ferrex-appliance.deb"
PASSWORD = "correct horse battery"
USER_PASSWORD = "second user password"
MOVIE = "/srv/media/Upgrade Test (2020)/Upgrade Test (2020).mkv"
PGDATA = "/var/lib/ferrex/postgres"
SNAPSHOT = f"cd {PGDATA} && find . -printf '%p %s %m %T@\\n' | sort | sha256sum"
TRIXIE_POSTGRES = "postgresql-17 postgresql/trixie"


@pytest.fixture(scope="module")
def box() -> Iterator[Container]:
    root = ThrowawayRoot(root_tarball())
    try:
        copied = root.host("cp", str(built_deb()), str(root.path) + DEB_IN_ROOT)
        assert copied.returncode == 0, copied.stderr
        started = time.monotonic()
        result = root.chroot(
            f"apt-get install -y -q --no-install-recommends "
            f"-o Dpkg::Options::=--force-unsafe-io {DEB_IN_ROOT}",
            timeout=600,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
        resolv = root.host("cp", "/etc/resolv.conf", str(root.path) + "/etc/resolv.conf")
        assert resolv.returncode == 0, resolv.stderr
        fetched = root.chroot(
            f"""
            sed -n 's/^deb \\([^ ]*\\) bookworm main$/deb \\1 trixie main/p' \
                /etc/apt/sources.list > /etc/apt/sources.list.d/trixie.list
            grep -q trixie /etc/apt/sources.list.d/trixie.list
            apt-get update -qq
            apt-get install -y -qq --download-only --no-install-recommends {TRIXIE_POSTGRES}
            rm -f /etc/resolv.conf
        """,
            timeout=600,
        )
        assert fetched.returncode == 0, fetched.stdout[-3000:] + fetched.stderr
        print(f"\ninstall + fetch trixie's postgresql: {time.monotonic() - started:.1f} s")
        yield root.boot()
    finally:
        root.close()


def journal(box: Container) -> list[dict[str, object]]:
    lines = box.ok("journalctl -u ferrex -o cat --no-pager").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def login(box: Container, username: str, password: str) -> str:
    status, body = box.http(
        "POST",
        "/api/v1/auth/login",
        {
            "username": username,
            "password": password,
            "device": {"id": f"{username}-tv", "name": "tv", "platform": "linux"},
        },
    )
    assert status == 200, body
    return str(body["access_token"])


def movie(box: Container, token: str) -> dict[str, object] | None:
    status, page = box.http(
        "POST", "/api/v1/media/query", {"kinds": ["movie"], "limit": 10}, token=token
    )
    assert status == 200, page
    items = page["items"]
    return dict(items[0]) if items else None


@pytest.fixture(scope="module")
def made_by_15(box: Container) -> dict[str, str]:
    """What a user had before the OS upgrade."""
    box.wait_active()
    assert box.ok(f"cat {PGDATA}/PG_VERSION").strip() == "15"
    assert (
        box.http("POST", "/api/v1/setup/claim", {"username": "admin", "password": PASSWORD})[0]
        == 201
    )
    admin = login(box, "admin", PASSWORD)
    status, body = box.http(
        "POST",
        "/api/v1/users",
        {"username": "alice", "password": USER_PASSWORD, "role": "user"},
        token=admin,
    )
    assert status == 201, body
    box.ok(f"""
        mkdir -p "$(dirname '{MOVIE}')"
        ffmpeg -v error -y -f lavfi -i testsrc2=size=160x120:rate=24 -t 2 -c:v mpeg4 '{MOVIE}'
        chmod -R a+rX /srv/media
    """)
    status, library = box.http(
        "POST",
        "/api/v1/libraries",
        {"name": "Movies", "kind": "movies", "roots": ["/srv/media"]},
        token=admin,
    )
    assert status == 201, library
    deadline = time.monotonic() + 180
    while (item := movie(box, admin)) is None and time.monotonic() < deadline:
        time.sleep(1)
    assert item is not None, "the scan found no movie"
    status, marked = box.http("POST", f"/api/v1/media/items/{item['id']}/watched", {}, token=admin)
    assert status == 200, marked
    watched = movie(box, admin)
    assert watched is not None and watched["watch"]["completed"], watched  # type: ignore[index]
    return {
        "server_id": box.http("GET", "/health")[1]["server_id"],
        "library": str(library["id"]),
        "item": str(item["id"]),
    }


def test_refused_with_one_line_when_postgresql_15_is_gone(
    box: Container, made_by_15: dict[str, str]
) -> None:
    box.ok("systemctl stop ferrex")
    before = box.ok(SNAPSHOT)
    # what `apt full-upgrade` to trixie brings, then the admin removes the old server too early
    box.ok(f"apt-get install -y -q --no-install-recommends {TRIXIE_POSTGRES}", timeout=600)
    assert box.ok("ls /usr/lib/postgresql").split() == ["15", "17"]
    box.ok("apt-get remove -y -q postgresql-15")
    assert box.sh("systemctl start ferrex").returncode != 0
    box.ok("systemctl stop ferrex")  # Restart=on-failure would keep trying
    errors = [
        line
        for line in box.ok("journalctl -u ferrex -o cat --no-pager").splitlines()
        if line.startswith("ferrex-appliance: error:")
    ]
    assert errors, box.describe(box.sh("true"))
    assert "PostgreSQL 15" in errors[-1] and "apt-get install postgresql-15" in errors[-1]
    assert "ferrex-appliance upgrade-db" in errors[-1]
    cli = box.sh("ferrex-appliance upgrade-db")
    refused = [line for line in cli.stderr.splitlines() if line.startswith("ferrex-appliance:")]
    assert cli.returncode == 2 and len(refused) == 1, cli
    assert "apt-get install postgresql-15" in refused[0]
    # never opened by PostgreSQL 17, never moved: the same files, sizes, modes and times
    assert box.ok(SNAPSHOT) == before
    assert box.ok(f"cat {PGDATA}/PG_VERSION").strip() == "15"
    assert box.ok("ls /var/lib/ferrex").split().count("postgres") == 1
    assert "postgres.upgrade-new" not in box.ok("ls /var/lib/ferrex")


def test_start_upgrades_15_to_17_and_keeps_everything(
    box: Container, made_by_15: dict[str, str]
) -> None:
    box.ok("apt-get install -y -q --no-install-recommends postgresql-15")  # from apt's cache
    started = time.monotonic()
    box.ok("systemctl start ferrex", timeout=600)
    box.wait_active(timeout=300)
    print(f"\nstart with pg_upgrade 15 -> 17: {time.monotonic() - started:.1f} s")
    entries = journal(box)
    upgrading = [e for e in entries if e.get("msg") == "upgrading the embedded postgres cluster"]
    assert upgrading and upgrading[-1]["from"] == 15 and upgrading[-1]["to"] == 17, entries[-20:]
    assert upgrading[-1]["mode"] == "copy"
    messages = [e.get("msg") for e in entries]
    assert "removed the old postgres cluster after the upgrade" in messages
    assert box.ok(f"cat {PGDATA}/PG_VERSION").strip() == "17"
    assert box.ok("ls /var/lib/ferrex | grep -c '^postgres' || true").strip() == "1"
    running = box.ok(f"readlink /proc/$(head -1 {PGDATA}/postmaster.pid)/exe").strip()
    assert running == "/usr/lib/postgresql/17/bin/postgres", running

    status, health = box.http("GET", "/health")
    assert status == 200 and health["status"] == "ok", health
    assert health["server_id"] == made_by_15["server_id"]
    admin = login(box, "admin", PASSWORD)
    login(box, "alice", USER_PASSWORD)
    status, libraries = box.http("GET", "/api/v1/libraries", token=admin)
    assert status == 200, libraries
    assert [lib["id"] for lib in libraries["libraries"]] == [made_by_15["library"]]
    item = movie(box, admin)
    assert item is not None and str(item["id"]) == made_by_15["item"]
    assert item["watch"]["completed"], item  # type: ignore[index]

    # a later start finds a current cluster: nothing more to do
    box.ok("systemctl restart ferrex")
    box.wait_active()
    assert [e.get("msg") for e in journal(box)].count(
        "upgrading the embedded postgres cluster"
    ) == 1
