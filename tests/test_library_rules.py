"""Library roots and names (issue 20, items 8 and 13): system folders, the data dir and pseudo
filesystems are refused as roots (API create and update, and ``ferrex-appliance library add``),
and names are bounded, printable and unique regardless of case (also after upgrading a database
that already holds duplicates)."""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from appliance.redis_client import RedisClient
from appliance.scan import root_policy
from store.db import Database
from store.migrate import discover
from store.sql import sql
from tests.authkit import Harness
from tests.helpers import REPO
from tests.scankit import scans_api


@pytest.fixture
async def h(db: Database, redis: RedisClient, tmp_path: Path) -> Harness:
    return await scans_api(db, redis, tmp_path / "data")


@pytest.fixture
async def admin(h: Harness) -> str:
    return await h.token()


def folder(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


async def add(h: Harness, token: str, name: str, roots: list[str]) -> tuple[int, str | None, str]:
    reply = await h.call(
        "POST", "/api/v1/libraries", {"name": name, "kind": "movies", "roots": roots}, token=token
    )
    message = reply.body["error"]["message"] if reply.code else ""
    return reply.status, reply.code, message


# --- roots ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("root", "why"),
    [
        ("/", "whole filesystem"),
        ("/etc", "system folder (/etc)"),
        ("/proc", "system folder (/proc)"),
        ("/proc/self", "system folder (/proc)"),
        ("/sys/kernel", "system folder (/sys)"),
        ("/usr/share", "system folder (/usr)"),
        ("/var", "contains the system folder /var/"),
        ("/dev", "system folder (/dev)"),
        ("{data}", "inside the appliance's data directory"),
        ("{data}/postgres", "inside the appliance's data directory"),
        ("{tmp}", "contains the appliance's data directory"),
        ("{tmp}/etc-link", "system folder (/etc)"),
    ],
)
async def test_system_folders_and_the_data_dir_are_refused(
    h: Harness, admin: str, tmp_path: Path, root: str, why: str
) -> None:
    data = tmp_path / "data"
    (data / "postgres").mkdir(parents=True, exist_ok=True)
    (tmp_path / "etc-link").symlink_to("/etc")
    status, code, message = await add(h, admin, "Films", [root.format(data=data, tmp=tmp_path)])
    assert (status, code) == (422, "invalid_root"), message
    assert why in message


async def test_updating_roots_applies_the_same_rules(
    h: Harness, admin: str, tmp_path: Path
) -> None:
    reply = await h.call(
        "POST",
        "/api/v1/libraries",
        {"name": "Films", "kind": "movies", "roots": [folder(tmp_path, "films")]},
        token=admin,
    )
    assert reply.status == 201, reply.body
    base = f"/api/v1/libraries/{reply.body['id']}"
    for bad in ("/etc", str(tmp_path / "data"), "/"):
        refused = await h.call("PATCH", base, {"roots": [bad]}, token=admin)
        assert (refused.status, refused.code) == (422, "invalid_root"), refused.body
    assert (await h.call("GET", base, token=admin)).body["roots"] == [str(tmp_path / "films")]
    moved = await h.call("PATCH", base, {"roots": [folder(tmp_path, "movies")]}, token=admin)
    assert moved.status == 200, "an ordinary folder is still fine"


async def test_roots_on_pseudo_filesystems_are_refused(
    h: Harness, admin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read from the mount table (here one that says a folder is a cgroup2 or a runtime tmpfs;
    the real table has such mounts only under system folders, refused anyway)."""
    cgroup, media, runtime = (folder(tmp_path, n) for n in ("cg", "media", "run-like"))
    real = await trio.Path("/proc/self/mountinfo").read_text()
    table = trio.Path(tmp_path / "mountinfo")
    await table.write_text(
        real + f"900 1 0:99 / {cgroup} rw,relatime - cgroup2 cgroup2 rw\n"
        f"901 1 0:98 / {media} rw,relatime - ext4 /dev/sdb1 rw\n"
    )
    monkeypatch.setattr(root_policy, "MOUNTINFO", Path(table))
    status, code, message = await add(h, admin, "Films", [cgroup])
    assert (status, code) == (422, "invalid_root") and "cgroup2 filesystem" in message
    assert (await add(h, admin, "Films", [media]))[0] == 201, "a real disk is fine"
    # An automount point is refused while nothing is mounted on it, fine once the disk is.
    await table.write_text(real + f"902 1 0:97 / {runtime} rw - autofs systemd-1 rw\n")
    assert "autofs filesystem" in (await add(h, admin, "Auto", [runtime]))[2]
    await table.write_text(
        real + f"902 1 0:97 / {runtime} rw - autofs systemd-1 rw\n"
        f"903 902 0:96 / {runtime} rw - nfs4 nas:/media rw\n"
    )
    assert (await add(h, admin, "Auto", [runtime]))[0] == 201


def test_mount_table_parsing() -> None:
    text = (
        "36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw\n"
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    )
    mounts = root_policy.parse_mountinfo(text)
    assert [(m.mount_point, m.fs_type) for m in mounts] == [
        ("/mnt/with space", "ext3"),
        ("/proc", "proc"),
    ]
    assert root_policy.mount_of("/mnt/with space/films", mounts) == mounts[0]
    assert root_policy.mount_of("/procfs", mounts) is None, "a prefix of a name is not a parent"
    assert root_policy.refusal("/srv/media", None, [root_policy.Mount("/srv", "tmpfs")]) is None
    assert root_policy.refusal("/run/user/1000/media", None, []) is not None


async def _cli_add(fresh_dsn: str, data_dir: Path, name: str, roots: list[str]) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERREX_")}
    env["FERREX_DATABASE_DSN"] = fresh_dsn
    result = await trio.run_process(
        [
            sys.executable,
            "-m",
            "appliance.cli",
            "library",
            "add",
            name,
            "--kind",
            "movies",
            *roots,
            "--data-dir",
            str(data_dir),
        ],
        capture_stdout=True,
        capture_stderr=True,
        check=False,
        env=env,
        cwd=REPO,
    )
    return result.returncode, (result.stdout + result.stderr).decode()


async def test_the_cli_applies_the_same_rules(fresh_dsn: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    status, output = await _cli_add(fresh_dsn, data, "Films", ["/etc"])
    assert status != 0 and "system folder (/etc)" in output, output
    status, output = await _cli_add(fresh_dsn, data, "Films", [str(data)])
    assert status != 0 and "data directory" in output, output
    status, output = await _cli_add(fresh_dsn, data, "Films", [folder(tmp_path, "films")])
    assert status == 0, output
    status, output = await _cli_add(fresh_dsn, data, "FILMS", [folder(tmp_path, "more")])
    assert status != 0 and "already called 'FILMS'" in output, output
    status, output = await _cli_add(fresh_dsn, data, "x" * 101, [folder(tmp_path, "more")])
    assert status != 0 and "at most 100 characters" in output, output


# --- names ------------------------------------------------------------------------------------


async def test_names_are_unique_ignoring_case_and_bounded(
    h: Harness, admin: str, tmp_path: Path
) -> None:
    assert (await add(h, admin, "Films", [folder(tmp_path, "a")]))[0] == 201
    status, code, message = await add(h, admin, "  fILMS ", [folder(tmp_path, "b")])
    assert (status, code) == (409, "library_name_taken"), message
    for bad, why in (
        ("x" * 101, "at most 100"),
        ("   ", "must not be empty"),
        ("Kids\x07", "control characters"),
        ("Line\nbreak", "control"),
        ("Films\u202e", "control"),
    ):
        status, code, message = await add(h, admin, bad, [folder(tmp_path, "b")])
        assert (status, code) == (422, "invalid_name") and why in message, (bad, message)
    assert (await add(h, admin, "ü" * 100, [folder(tmp_path, "b")]))[0] == 201

    shows = await h.call(
        "POST",
        "/api/v1/libraries",
        {"name": "Shows", "kind": "series", "roots": [folder(tmp_path, "c")]},
        token=admin,
    )
    base = f"/api/v1/libraries/{shows.body['id']}"
    taken = await h.call("PATCH", base, {"name": "films"}, token=admin)
    assert (taken.status, taken.code) == (409, "library_name_taken"), taken.body
    assert (await h.call("PATCH", base, {"name": "x" * 5000}, token=admin)).status == 422
    renamed = await h.call("PATCH", base, {"name": "SHOWS"}, token=admin)
    assert renamed.status == 200 and renamed.body["name"] == "SHOWS", "its own name, recased"
    listed = (await h.call("GET", "/api/v1/libraries", token=admin)).body["libraries"]
    assert sorted(lib["name"] for lib in listed) == sorted(["Films", "SHOWS", "ü" * 100])


UNCONSTRAIN = """
    DROP INDEX libraries_name_lower;
    ALTER TABLE libraries DROP CONSTRAINT libraries_name_length;
    DROP INDEX people_image;
"""
ADD_RAW = sql(
    "INSERT INTO libraries (name, kind, roots, created_at) VALUES ($1, 'movies', $2, "
    "now() + $3 * interval '1 second')"
)
NAMES = sql("SELECT name FROM libraries ORDER BY created_at")


async def test_the_migration_repairs_names_of_an_old_database(db: Database) -> None:
    """A database from before migration 0012 may hold duplicates and odd names: they are
    renamed (the oldest keeps its name), never refused, and the index is built."""
    migration = next(m for m in discover() if m.name == "library_names")

    def script(text: str) -> Callable[[Any], Awaitable[None]]:
        async def run(conn: Any) -> None:
            await conn.execute(text)

        return run

    await db.run_asyncio(script(UNCONSTRAIN))
    olds = ["Films", "films", "Films (2)", "FILMS", "A\tB\x01", "  ", "y" * 5000, "Y" * 5000]
    for n, name in enumerate(olds):
        await db.execute(ADD_RAW, name, [f"/srv/{n}"], n)
    await db.run_asyncio(script(migration.sql))
    assert [r["name"] for r in await db.fetch(NAMES)] == [
        "Films",
        "films (3)",
        "Films (2)",
        "FILMS (4)",
        "A B",
        "Library",
        "y" * 100,
        "Y" * 96 + " (2)",
    ]
