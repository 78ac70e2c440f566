"""Operator commands on real appliance processes: ``status``, ``backup`` and ``restore``.

Backup -> wipe -> restore must keep the appliance's identity (server id, server key), its
libraries, its users (a password still logs in) and their watch state (progress and watched marks,
as the API reports them); restore refuses what would lose data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from appliance import datadir_lock
from tests.helpers import (
    APPLIANCE,
    REPO,
    RunningAppliance,
    admin_token,
    embedded_dsn,
    http_json,
    live_processes_mentioning,
    psql,
    wait_for,
)

pytestmark = pytest.mark.slow

ENV = {"FERREX_SCAN_ANALYZE": "false"}
PASSWORD = "correct horse battery"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FERREX_")}
    full_env.update(ENV)
    full_env.update(env or {})
    return subprocess.run(
        [*APPLIANCE, *args], capture_output=True, text=True, env=full_env, cwd=REPO, timeout=180
    )


@pytest.fixture
def root(workdir: Path) -> Path:
    return workdir


def snapshot(data_dir: Path) -> dict[str, str]:
    dsn = embedded_dsn(data_dir)
    return {
        "server_id": psql(dsn, "SELECT value #>> '{}' FROM server_state WHERE key = 'server_id'"),
        "libraries": psql(dsn, "SELECT id, name, kind, roots FROM libraries ORDER BY id"),
        "users": psql(dsn, "SELECT id, username, role, password_hash FROM users ORDER BY id"),
        "items": psql(dsn, "SELECT id, title FROM media_items ORDER BY id"),
        "devices": psql(dsn, "SELECT id, user_id, name FROM devices ORDER BY id"),
        "watch": psql(
            dsn,
            "SELECT user_id, item_id, position_s, duration_s, completed, "
            "play_count, client_ts, device_id FROM watch_state ORDER BY item_id",
        ),
        "key": (data_dir / "server.key").read_bytes().hex(),
    }


def test_status_backup_restore_round_trip(root: Path) -> None:
    media = root / "films"
    for title in ("Alien (1979)", "Heat (1995)"):
        (media / title).mkdir(parents=True)
        (media / title / f"{title}.mkv").write_bytes(b"\0" * 64)
    source, backup = root / "a", root / "backup"

    app = RunningAppliance(source, env=ENV)
    try:
        base = app.wait_ready()
        listen = {"FERREX_SERVER_LISTEN": base.removeprefix("http://")}
        token = admin_token(base, PASSWORD)
        added = cli(
            "library", "add", "--data-dir", str(source), "Films", "--kind", "movies", str(media)
        )
        assert added.returncode == 0, added.stderr
        dsn = embedded_dsn(source)
        assert wait_for(
            lambda: (
                psql(dsn, "SELECT count(*) FROM media_items") == "2"
                and psql(dsn, "SELECT state FROM scans") == "completed"
            ),
            60,
        )

        status = cli("status", "--data-dir", str(source), env=listen)
        assert status.returncode == 0, status.stdout + status.stderr
        text = status.stdout
        assert f"running (pid {app.proc.pid})" in text
        assert "http:       ok, health ok" in text
        assert "postgres:   ok, schema" in text and "redis:      ok" in text
        assert "users:      1" in text and "libraries:  1" in text
        assert "Films (movies, 2 items): last scan completed (initial)" in text
        assert "job queue:  completed" in text
        report = json.loads(cli("status", "--json", "--data-dir", str(source), env=listen).stdout)
        assert report["libraries"][0]["name"] == "Films" and report["queue"]["completed"] >= 1

        # watch state: Alien half-way through, Heat marked watched
        items = {
            title: psql(dsn, f"SELECT id FROM media_items WHERE title = '{title}'")
            for title in ("Alien", "Heat")
        }
        code, body = http_json(
            "PUT",
            f"{base}/api/v1/media/items/{items['Alien']}/progress",
            {"position_s": 2712.5, "duration_s": 7020.0, "client_ts": "2026-11-24T08:00:00Z"},
            token,
        )
        assert code == 200 and body["applied"], body
        code, body = http_json(
            "POST",
            f"{base}/api/v1/media/items/{items['Heat']}/watched",
            {"client_ts": "2026-11-24T08:01:00Z"},
            token,
        )
        assert code == 200 and body["updates"][0]["state"]["completed"], body
        watch_before = {
            title: http_json("GET", f"{base}/api/v1/media/items/{item_id}", token=token)[1]["item"][
                "watch"
            ]
            for title, item_id in items.items()
        }
        assert watch_before["Alien"]["position_s"] == 2712.5
        assert not watch_before["Alien"]["completed"] and watch_before["Heat"]["completed"]

        # taken from the running appliance, through its socket
        made = cli("backup", "--data-dir", str(source), str(backup))
        assert made.returncode == 0, made.stderr
        again = cli("backup", "--data-dir", str(source), str(backup))
        assert again.returncode == 2 and "exists" in again.stderr
        before = snapshot(source)
    finally:
        assert app.stop() == 0

    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["server_id"] == before["server_id"]
    assert manifest["taken_from"] == "running appliance"
    assert sorted(manifest["files"]) == ["database.dump", "ferrex.toml", "server.key"]
    assert (backup / "server.key").stat().st_mode & 0o777 == 0o600
    stopped = cli("status", "--data-dir", str(source))
    assert stopped.returncode == 3 and "not running" in stopped.stdout

    # wipe: the data dir goes entirely (cluster, key, config), as on a new SD card
    config_before = (source / "ferrex.toml").read_bytes()
    shutil.rmtree(source)
    target = source
    restored = cli("restore", "--data-dir", str(target), str(backup))
    assert restored.returncode == 0, restored.stderr
    assert (target / "ferrex.toml").read_bytes() == config_before
    datadir_lock.check_free(target)  # the brief cluster is gone and the lock released
    app = RunningAppliance(target, env=ENV)
    try:
        base = app.wait_ready()
        assert snapshot(target) == before
        code, body = http_json(
            "POST",
            base + "/api/v1/auth/login",
            {
                "username": "admin",
                "password": PASSWORD,
                "device": {"id": "after-restore", "name": "x", "platform": "linux"},
            },
        )
        assert code == 200, body
        token = body["access_token"]
        libraries = http_json("GET", base + "/api/v1/libraries", token=token)[1]
        assert [lib["name"] for lib in libraries["libraries"]] == ["Films"], libraries
        watch_after = {
            title: http_json("GET", f"{base}/api/v1/media/items/{item_id}", token=token)[1]["item"][
                "watch"
            ]
            for title, item_id in items.items()
        }
        assert watch_after == watch_before
        cw = http_json("GET", base + "/api/v1/media/continue-watching", token=token)[1]
        assert [i["id"] for i in cw["items"]] == [items["Alien"]]
        busy = cli("restore", "--data-dir", str(target), str(backup))
        assert busy.returncode == 2 and "in use by a running ferrex-appliance" in busy.stderr
    finally:
        assert app.stop() == 0

    # a database with users and libraries is not replaced unless asked
    refused = cli("restore", "--data-dir", str(target), str(backup))
    assert refused.returncode == 2 and "--force" in refused.stderr, refused.stderr
    forced = cli("restore", "--force", "--data-dir", str(target), str(backup))
    assert forced.returncode == 0, forced.stderr

    # a backup of a stopped appliance: the embedded cluster runs only for the dump
    offline = root / "offline"
    made = cli("backup", "--data-dir", str(target), str(offline))
    assert made.returncode == 0, made.stderr
    assert json.loads((offline / "manifest.json").read_text())["taken_from"] == (
        "stopped appliance"
    )
    assert live_processes_mentioning(str(target)) == []
    datadir_lock.check_free(target)


def test_restore_refuses_newer_schema_and_damage(root: Path) -> None:
    backup = root / "backup"
    backup.mkdir()
    (backup / "database.dump").write_bytes(b"not a dump")
    manifest = {
        "format": 1,
        "schema_version": 9999,
        "server_id": "x",
        "files": {"database.dump": __import__("hashlib").sha256(b"not a dump").hexdigest()},
    }
    (backup / "manifest.json").write_text(json.dumps(manifest))
    newer = cli("restore", "--data-dir", str(root / "d"), str(backup))
    assert newer.returncode == 2
    assert "schema is at version 9999, newer than this Ferrex" in newer.stderr
    assert not (root / "d").exists()

    (backup / "database.dump").write_bytes(b"changed")
    damaged = cli("restore", "--data-dir", str(root / "d"), str(backup))
    assert damaged.returncode == 2 and "damaged" in damaged.stderr
    missing = cli("restore", "--data-dir", str(root / "d"), str(root))
    assert missing.returncode == 2 and "not a Ferrex backup" in missing.stderr
