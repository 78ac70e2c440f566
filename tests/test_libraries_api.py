"""Libraries and scans over HTTP, as an admin and as an ordinary user would use them."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from appliance.redis_client import RedisClient
from store import queue
from store.db import Database
from tests.authkit import Harness
from tests.scankit import scans_api


@pytest.fixture
async def h(db: Database, redis: RedisClient, tmp_path: Path) -> Harness:
    return await scans_api(db, redis, tmp_path / "data")


@pytest.fixture
async def admin(h: Harness) -> str:
    return await h.token()


def media_root(tmp_path: Path, name: str) -> str:
    root = tmp_path / name
    (root / "Heat (1995)").mkdir(parents=True)
    (root / "Heat (1995)" / "Heat (1995).mkv").write_bytes(b"\0")
    return str(root)


async def test_add_library_starts_its_first_scan(h: Harness, admin: str, tmp_path: Path) -> None:
    root = media_root(tmp_path, "films")
    reply = await h.call(
        "POST",
        "/api/v1/libraries",
        {
            "name": "Films",
            "kind": "movies",
            "roots": [root + "/"],
        },
        token=admin,
    )
    assert reply.status == 201, reply.body
    library = reply.body
    assert library["roots"] == [root], "roots are normalised"
    assert library["watch"] is True and library["scan_interval_minutes"] == 360
    scans = (await h.call("GET", "/api/v1/scans", token=admin)).body["scans"]
    assert [(s["library_id"], s["trigger"], s["state"]) for s in scans] == [
        (library["id"], "initial", "running")
    ]
    assert scans[0]["jobs"] == {"ready": 1}, "the root's FolderScan is queued"

    listed = (await h.call("GET", "/api/v1/libraries", token=admin)).body["libraries"]
    assert [lib["name"] for lib in listed] == ["Films"]


@pytest.mark.parametrize(
    ("roots", "message"),
    [
        (["relative/path"], "must be an absolute path"),
        (["{tmp}/nope"], "does not exist"),
        (["{tmp}/file.txt"], "is not a directory"),
        (["{tmp}/films/Heat (1995)"], "overlaps library 'Films'"),
        (["{tmp}/other", "{tmp}/other/sub"], "overlap"),
        ([], "at least one folder"),
    ],
)
async def test_bad_roots_are_422_naming_the_problem(
    h: Harness, admin: str, tmp_path: Path, roots: list[str], message: str
) -> None:
    await h.call(
        "POST",
        "/api/v1/libraries",
        {"name": "Films", "kind": "movies", "roots": [media_root(tmp_path, "films")]},
        token=admin,
    )
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "other" / "sub").mkdir(parents=True)
    reply = await h.call(
        "POST",
        "/api/v1/libraries",
        {"name": "Second", "kind": "series", "roots": [r.format(tmp=tmp_path) for r in roots]},
        token=admin,
    )
    assert reply.status == 422
    assert reply.code == "invalid_root"
    assert message in reply.body["error"]["message"]


async def test_edit_pause_resume_cancel_and_delete(
    h: Harness, admin: str, tmp_path: Path, db: Database
) -> None:
    library = (
        await h.call(
            "POST",
            "/api/v1/libraries",
            {"name": "Films", "kind": "movies", "roots": [media_root(tmp_path, "films")]},
            token=admin,
        )
    ).body
    base = f"/api/v1/libraries/{library['id']}"
    patched = await h.call("PATCH", base, {"name": "Movies", "watch": False}, token=admin)
    assert patched.status == 200 and patched.body["name"] == "Movies"
    assert patched.body["watch"] is False

    paused = await h.call("POST", f"{base}/scan/pause", token=admin)
    assert paused.status == 200 and paused.body["state"] == "paused"
    assert (await h.call("GET", base, token=admin)).body["paused"] is True
    assert await queue.eligible(db) == {}, "a paused library's jobs wait"
    resumed = await h.call("POST", f"{base}/scan/resume", token=admin)
    assert resumed.body["state"] == "running"
    cancelled = await h.call("POST", f"{base}/scan/cancel", token=admin)
    assert cancelled.body["state"] == "cancelled"
    assert cancelled.body["jobs"] == {"failed": 1}
    again = await h.call("POST", f"{base}/scan/cancel", token=admin)
    assert again.status == 409 and again.code == "no_active_scan"

    history = (await h.call("GET", f"{base}/scans", token=admin)).body["scans"]
    assert [s["state"] for s in history] == ["cancelled"]
    rescan = await h.call("POST", f"{base}/scan", {"force": True}, token=admin)
    assert rescan.status == 202 and rescan.body["trigger"] == "manual"

    assert (await h.call("DELETE", base, token=admin)).status == 204
    assert (await h.call("GET", base, token=admin)).status == 404
    assert await queue.counts(db, uuid.UUID(library["id"])) == {}


async def test_ordinary_users_see_but_cannot_manage(h: Harness, admin: str, tmp_path: Path) -> None:
    await h.create_user(admin, "kid", role="user")
    user = await h.token("kid", "user password 1", device="kid-tablet")
    assert (await h.call("GET", "/api/v1/libraries", token=user)).status == 200
    reply = await h.call(
        "POST",
        "/api/v1/libraries",
        {"name": "Mine", "kind": "movies", "roots": [media_root(tmp_path, "mine")]},
        token=user,
    )
    assert reply.status == 403


async def test_unknown_library_is_404(h: Harness, admin: str) -> None:
    reply = await h.call("POST", f"/api/v1/libraries/{uuid.uuid4()}/scan", {}, token=admin)
    assert reply.status == 404 and reply.code == "not_found"
