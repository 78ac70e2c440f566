"""Scanning on the real appliance: crashes, live changes, fairness, and two processes sharing
one database. Real files, real Postgres, real inotify; analysis is off (no media here) and the
lease TTL is short so that recovery after a kill takes seconds, not the production 30 s."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import Backends
from tests.helpers import (
    RunningAppliance,
    admin_token,
    alive,
    cmdline,
    embedded_dsn,
    http_json,
    live_children,
    live_processes_mentioning,
    make_series_tree,
    psql,
    wait_for,
)

pytestmark = pytest.mark.slow

FAST_SCAN = {
    "FERREX_SCAN_ANALYZE": "false",
    "FERREX_SCAN_LEASE_TTL_SECONDS": "3",
    "FERREX_SCAN_HOUSEKEEPING_SECONDS": "1",
    "FERREX_SCAN_WATCH_DEBOUNCE_MS": "200",
}


def add_library(
    data_dir: Path, name: str, kind: str, root: Path, env: dict[str, str] | None = None
) -> None:
    import subprocess

    from tests.helpers import APPLIANCE, REPO

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FERREX_")}
    full_env.update(env or {})
    subprocess.run(
        [
            *APPLIANCE,
            "library",
            "add",
            name,
            "--kind",
            kind,
            str(root),
            "--data-dir",
            str(data_dir),
        ],
        check=True,
        capture_output=True,
        env=full_env,
        cwd=REPO,
        timeout=60,
    )


def scan_state(dsn: str, library: str) -> str:
    return psql(
        dsn,
        "SELECT s.state FROM scans s JOIN libraries l ON l.id = s.library_id "
        f"WHERE l.name = '{library}' ORDER BY s.started_at DESC LIMIT 1",
    )


def present_titles(dsn: str, kind: str = "movie") -> set[str]:
    rows = psql(dsn, f"SELECT title FROM media_items WHERE kind = '{kind}' AND present")
    return set(rows.splitlines()) if rows else set()


def test_kill9_mid_scan_then_restart_indexes_every_file_exactly_once(workdir: Path) -> None:
    media = workdir / "shows"
    total = make_series_tree(media, shows=40, seasons=5, episodes=15)  # 3000 files
    data_dir = workdir / "var"
    app = RunningAppliance(data_dir, env=FAST_SCAN)
    app.wait_ready()
    dsn = embedded_dsn(data_dir)
    add_library(data_dir, "Shows", "series", media)
    assert wait_for(
        lambda: int(psql(dsn, "SELECT count(*) FROM media_files")) > 0, 60, interval=0.02
    )
    children = live_children(app.proc.pid)
    assert any("multiprocessing" in cmdline(pid) for pid in children), "walks run in workers"
    app.proc.kill()  # mid-scan: jobs are leased, results half written
    app.stop()
    assert wait_for(lambda: not live_processes_mentioning(str(data_dir)), 15)
    assert wait_for(lambda: not any(alive(pid) for pid in children), 15), (
        "no child (walk workers included) outlives the appliance"
    )

    again = RunningAppliance(data_dir, env=FAST_SCAN)
    try:
        again.wait_ready()
        assert wait_for(lambda: scan_state(dsn, "Shows") == "completed", 120, interval=0.25)
        counts = psql(
            dsn,
            "SELECT count(*), count(DISTINCT path), count(item_id) FROM media_files WHERE present",
        )
        assert counts == f"{total}|{total}|{total}", "every file indexed, once, and linked"
        assert psql(dsn, "SELECT count(*) FROM media_items WHERE kind = 'episode'") == str(total)
        assert psql(dsn, "SELECT count(*) FROM media_items WHERE kind = 'series'") == "40"
        assert (
            psql(dsn, "SELECT count(*) FROM jobs WHERE state IN ('ready', 'deferred', 'leased')")
            == "0"
        ), "no job lost or stuck"
    finally:
        assert again.stop() == 0


class EventReader(threading.Thread):
    """Reads the SSE stream of a running appliance into a list, until told to stop."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        self.events: list[tuple[str, str]] = []
        self.response: object = None

    def run(self) -> None:
        with urllib.request.urlopen(self.request, timeout=60) as response:
            self.response = response
            kind = ""
            for raw in response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    self.events.append((kind, line[6:]))

    def types(self) -> list[str]:
        return [kind for kind, _ in self.events]


def test_live_changes_show_up_within_seconds_and_events_stream(workdir: Path) -> None:
    media = workdir / "films"
    (media / "Heat (1995)").mkdir(parents=True)
    (media / "Heat (1995)" / "Heat (1995).mkv").touch()
    (media / "Up (2009)").mkdir()
    (media / "Up (2009)" / "Up (2009).mkv").touch()
    data_dir = workdir / "var"
    app = RunningAppliance(data_dir, env=FAST_SCAN)
    try:
        base = app.wait_ready()
        token = admin_token(base)
        reader = EventReader(base + "/api/v1/events", token)
        reader.start()
        status, library = http_json(
            "POST",
            base + "/api/v1/libraries",
            {"name": "Films", "kind": "movies", "roots": [str(media)], "scan_interval_minutes": 0},
            token=token,
        )
        assert status == 201, library
        dsn = embedded_dsn(data_dir)
        assert wait_for(lambda: present_titles(dsn) == {"Heat", "Up"}, 30)
        assert wait_for(lambda: "scan.completed" in reader.types(), 10), reader.types()
        assert "scan.started" in reader.types() and "library.created" in reader.types()

        (media / "Alien (1979).mkv").touch()  # added
        assert wait_for(lambda: "Alien" in present_titles(dsn), 10), "added file appears"
        (media / "Up (2009)" / "Up (2009).mkv").unlink()  # deleted
        assert wait_for(lambda: "Up" not in present_titles(dsn), 10), "deleted file goes"
        heat_id = psql(dsn, "SELECT id FROM media_items WHERE title = 'Heat'")
        (media / "Heat (1995)").rename(media / "Heat (1995) [moved]")  # folder moved
        time.sleep(1)
        assert wait_for(
            lambda: (
                psql(
                    dsn, "SELECT count(*) FROM media_files WHERE present AND path LIKE '%[moved]%'"
                )
                == "1"
            ),
            10,
        )
        # the file is re-linked by the upsert that follows the walk: present again within seconds,
        # and the same item (watch state and metadata stay with it)
        assert wait_for(lambda: "Heat" in present_titles(dsn), 10), "a moved film keeps its item"
        assert psql(dsn, "SELECT id FROM media_items WHERE title = 'Heat' AND present") == heat_id
        (media / "Alien (1979).mkv").rename(media / "Brazil (1985).mkv")  # renamed
        assert wait_for(lambda: present_titles(dsn) == {"Heat", "Brazil"}, 10), present_titles(dsn)
    finally:
        assert app.stop() == 0


def test_small_library_finishes_while_huge_one_is_still_scanning(workdir: Path) -> None:
    big = workdir / "big"
    make_series_tree(big, shows=100, seasons=10, episodes=20)  # 20,000 files
    small = workdir / "small"
    make_series_tree(small, shows=1, seasons=5, episodes=10)  # 50 files
    data_dir = workdir / "var"
    app = RunningAppliance(data_dir, env=FAST_SCAN)
    try:
        app.wait_ready()
        dsn = embedded_dsn(data_dir)
        add_library(data_dir, "Big", "series", big)
        add_library(data_dir, "Small", "series", small)
        assert wait_for(lambda: scan_state(dsn, "Small") == "completed", 120, interval=0.2)
        assert scan_state(dsn, "Big") == "running", "the big one is far from done"
        assert (
            psql(
                dsn,
                "SELECT count(*) FROM media_items i JOIN libraries l "
                "ON l.id = i.library_id WHERE l.name = 'Small' "
                "AND i.kind = 'episode'",
            )
            == "50"
        )
        stopping = time.monotonic()
        assert app.stop() == 0, "SIGTERM in the middle of a big scan is an orderly stop"
        assert time.monotonic() - stopping < 10
    finally:
        app.stop()


def test_two_processes_share_one_database_and_survive_one_dying(
    workdir: Path, backends: Backends
) -> None:
    database = f"shared_{uuid.uuid4().hex[:8]}"
    psql(backends.postgres.maintenance_dsn, f'CREATE DATABASE "{database}"')
    env = {
        **FAST_SCAN,
        "FERREX_DATABASE_DSN": backends.dsn(database),
        "FERREX_REDIS_URL": backends.redis.url,
    }
    media = workdir / "shows"
    total = make_series_tree(media, shows=40, seasons=5, episodes=15)
    first = RunningAppliance(workdir / "a", env=env)
    second = RunningAppliance(workdir / "b", env=env)
    dsn = backends.dsn(database)
    try:
        first.wait_ready()
        second.wait_ready()
        assert not (workdir / "a" / "postgres").exists(), "external database: no child cluster"
        token = admin_token(first.base_url)
        status, _ = http_json(
            "POST",
            first.base_url + "/api/v1/libraries",
            {
                "name": "Shows",
                "kind": "series",
                "roots": [str(media)],
                "watch": False,
                "scan_interval_minutes": 0,
            },
            token=token,
        )
        assert status == 201
        assert wait_for(
            lambda: int(psql(dsn, "SELECT count(*) FROM jobs WHERE state = 'completed'")) > 0,
            60,
            interval=0.02,
        )
        first.proc.kill()  # one node dies holding leases; the other must finish the work
        first.stop()
        assert wait_for(lambda: scan_state(dsn, "Shows") == "completed", 120, interval=0.25)
        assert (
            psql(dsn, "SELECT count(*), count(DISTINCT path) FROM media_files WHERE present")
            == f"{total}|{total}"
        )
        assert psql(dsn, "SELECT count(*) FROM media_items WHERE kind = 'episode'") == str(total)
        assert (
            psql(dsn, "SELECT count(*) FROM jobs WHERE state IN ('ready', 'deferred', 'leased')")
            == "0"
        )
    finally:
        assert second.stop() == 0
        first.stop()


def scan_cli(
    data_dir: Path, library: str, *, env: dict[str, str] | None = None, force: bool = False
) -> subprocess.Popen[str]:
    from tests.helpers import APPLIANCE, REPO

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FERREX_")}
    full_env.update(env or {})
    return subprocess.Popen(
        [
            *APPLIANCE,
            "scan",
            library,
            "--wait",
            "--data-dir",
            str(data_dir),
            *(["--force"] if force else []),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=full_env,
        cwd=REPO,
    )


def test_scan_wait_shows_progress_then_the_result(workdir: Path) -> None:
    """``ferrex-appliance scan NAME --wait``: a progress bar while it runs, one closing line
    with what was found, status 0; and if the appliance stops meanwhile, one plain line saying
    the scan is kept (status 1), not a traceback."""
    media = workdir / "shows"
    total = make_series_tree(media, shows=20, seasons=5, episodes=10)  # 1000 files
    data_dir = workdir / "var"
    app = RunningAppliance(data_dir, env=FAST_SCAN)
    try:
        app.wait_ready()
        add_library(data_dir, "Shows", "series", media)
        dsn = embedded_dsn(data_dir)
        assert wait_for(lambda: scan_state(dsn, "Shows") == "completed", 60, interval=0.2)
        cli = scan_cli(data_dir, "Shows")
        output, _ = cli.communicate(timeout=60)
        assert cli.returncode == 0, output
        lines = output.splitlines()
        assert lines[0].startswith("scan ") and lines[0].endswith(" of Shows started")
        assert any(
            line.startswith("[") and " jobs, " in line and " files, " in line for line in lines
        ), output  # the bar (one line per change when not a tty)
        assert lines[-1] == f"scan completed: {total} files in 121 folders, 0 errors", output
    finally:
        assert app.stop() == 0

    # forced, with analysis on: ffprobe for each of the 1000 files keeps the scan running
    slow = {**FAST_SCAN, "FERREX_SCAN_ANALYZE": "true"}
    app = RunningAppliance(data_dir, env=slow)
    try:
        app.wait_ready()
        cli = scan_cli(data_dir, "Shows", env=slow, force=True)
        assert cli.stdout is not None
        assert "started" in cli.stdout.readline()
        app.stop()
        output = cli.stdout.read()
        assert cli.wait(timeout=60) == 1, output
        assert "Traceback" not in output and '"level": "critical"' not in output, output
        assert "stopped watching: the appliance's database went away" in output, output
        assert "The scan is kept and goes on when the appliance runs again" in output
    finally:
        app.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_to_the_whole_process_group_is_an_orderly_stop(
    workdir: Path, sig: signal.Signals
) -> None:
    """A terminal's Ctrl-C, ``timeout`` or ``kill -- -PGID`` signal every process of the
    group, walk workers included: the appliance still stops in order (status 0, nothing
    logged as an error) and its workers end with it."""
    media = workdir / "shows"
    make_series_tree(media, shows=4, seasons=2, episodes=5)
    data_dir = workdir / "var"
    app = RunningAppliance(data_dir, env=FAST_SCAN, new_session=True)
    try:
        app.wait_ready()
        add_library(data_dir, "Shows", "series", media)
        dsn = embedded_dsn(data_dir)
        assert wait_for(lambda: scan_state(dsn, "Shows") == "completed", 60, interval=0.2)
        workers = [p for p in live_children(app.proc.pid) if "multiprocessing" in cmdline(p)]
        assert workers, "the scan walked in worker processes"
        os.killpg(app.proc.pid, sig)
        assert app.proc.wait(timeout=30) == 0
        bad = [e for e in app.log_lines() if e.get("level") in ("error", "critical")]
        assert not bad, bad
        assert wait_for(lambda: not any(alive(pid) for pid in workers), 10)
    finally:
        app.stop()
