"""The appliance as a process: start, health, ordered shutdown, crashes of its parts and itself.

These start the real ``ferrex-appliance serve`` with its embedded Postgres and Redis. They share
one data directory (created by the first start) so only one initdb is paid for.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import (
    APPLIANCE,
    REPO,
    RunningAppliance,
    live_processes_mentioning,
    short_tempdir,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    path = short_tempdir("fxl") / "var"
    yield path
    leftovers = live_processes_mentioning(str(path))
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    assert not leftovers, "a test left appliance processes running"


class NotifyListener(threading.Thread):
    """Plays systemd's side of $NOTIFY_SOCKET: reads every datagram as it arrives."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.path = str(short_tempdir("fxn") / "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue

    def saw(self, message: str, timeout: float = 10) -> bool:
        return wait_for(lambda: message in self.messages, timeout)


@pytest.fixture
def notify_listener() -> Iterator[NotifyListener]:
    listener = NotifyListener()
    listener.start()
    yield listener
    listener.done.set()
    listener.join()
    listener.sock.close()


def test_serve_health_then_sigterm_stops_everything(
    data_dir: Path, notify_listener: NotifyListener
) -> None:
    app = RunningAppliance(
        data_dir,
        env={
            "NOTIFY_SOCKET": notify_listener.path,
            "WATCHDOG_USEC": "400000",
        },
    )
    app.wait_ready()
    assert notify_listener.saw("READY=1")
    assert notify_listener.saw("WATCHDOG=1", timeout=3)

    status, body = app.get("/health")
    assert status == 200
    assert body["status"] == "ok"
    assert body["postgres"]["ok"] and body["postgres"]["embedded"]
    assert body["redis"]["ok"] and body["redis"]["embedded"]
    assert body["disk_free_bytes"] > 0
    assert (data_dir / "ferrex.toml").is_file(), "first start writes the config file"
    children = live_processes_mentioning(str(data_dir / "run"))
    assert len(children) >= 2, "postgres and redis run as children"
    for pid in children:  # only the appliance may speak to systemd for the service
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert not [v for v in environ if v.startswith((b"NOTIFY_SOCKET=", b"WATCHDOG_"))], pid

    started = time.monotonic()
    assert app.stop(signal.SIGTERM, timeout=15) == 0
    assert time.monotonic() - started < 10
    assert notify_listener.saw("STOPPING=1", timeout=3)
    assert wait_for(lambda: not live_processes_mentioning(str(data_dir)), 5), (
        "no child outlives the appliance"
    )


def test_killed_postgres_is_noticed_and_restarted(data_dir: Path) -> None:
    app = RunningAppliance(data_dir)
    try:
        app.wait_ready()
        assert app.get("/health")[0] == 200
        os.kill(app.postmaster_pid(), signal.SIGKILL)

        outage: list[tuple[int, float]] = []

        def unhealthy() -> bool:
            started = time.monotonic()
            status, _ = app.get("/health")
            outage.append((status, time.monotonic() - started))
            return status == 503

        assert wait_for(unhealthy, 5, interval=0.02), "the outage shows in /health"
        assert all(seconds < 2.5 for _, seconds in outage), "requests fail fast, never hang"
        assert wait_for(lambda: app.get("/health")[0] == 200, 30, interval=0.2)
        body = app.get("/health")[1]
        assert body["postgres"]["restarts"] == 1
        assert app.proc.poll() is None, "recovered without restarting the appliance"
    finally:
        assert app.stop() == 0


def test_killed_appliance_takes_children_along_and_restarts_with_data(data_dir: Path) -> None:
    app = RunningAppliance(data_dir)
    app.wait_ready()
    server_id = app.get("/health")[1]["server_id"]
    socket_dir = data_dir / "run"
    subprocess.run(
        [
            "psql",
            "-h",
            str(socket_dir),
            "-U",
            "ferrex",
            "-d",
            "ferrex",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "INSERT INTO server_state (key, value) VALUES ('test_marker', '\"kept\"')",
        ],
        check=True,
        capture_output=True,
    )
    app.proc.kill()
    app.stop()
    assert wait_for(lambda: not live_processes_mentioning(str(data_dir)), 15), (
        "postgres and redis die with the appliance (parent-death signal)"
    )

    again = RunningAppliance(data_dir)
    try:
        again.wait_ready()
        status, body = again.get("/health")
        assert status == 200
        assert body["server_id"] == server_id
        marker = subprocess.run(
            [
                "psql",
                "-h",
                str(socket_dir),
                "-U",
                "ferrex",
                "-d",
                "ferrex",
                "-At",
                "-c",
                "SELECT value FROM server_state WHERE key = 'test_marker'",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        assert marker == '"kept"'
    finally:
        assert again.stop() == 0


def test_stale_postmaster_pid_from_a_crash_does_not_block_start(data_dir: Path) -> None:
    """A power cut leaves postmaster.pid behind; its PID may now belong to something else."""
    pidfile = data_dir / "postgres" / "postmaster.pid"
    assert not pidfile.exists(), "the previous test stopped postgres cleanly"
    impostor = subprocess.Popen(["sleep", "60"])  # a live process that is not postgres
    try:
        pidfile.write_text(f"{impostor.pid}\n{data_dir / 'postgres'}\n0\n5432\n\n\n\nready\n")
        if os.geteuid() == 0:
            owner = (data_dir / "postgres").stat()
            os.chown(pidfile, owner.st_uid, owner.st_gid)
        app = RunningAppliance(data_dir)
        try:
            app.wait_ready()
            assert app.get("/health")[0] == 200
        finally:
            assert app.stop() == 0
    finally:
        impostor.kill()
        impostor.wait()


def test_a_second_appliance_on_the_same_data_dir_is_refused(data_dir: Path) -> None:
    app = RunningAppliance(data_dir)
    try:
        app.wait_ready()
        second = subprocess.run(
            [*APPLIANCE, "serve", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
            env={k: v for k, v in os.environ.items() if not k.startswith("FERREX_")},
        )
        assert second.returncode == 2
        assert f"in use by another ferrex-appliance (pid {app.proc.pid})" in second.stderr
        assert app.get("/health")[0] == 200, "the running one is untouched"
    finally:
        assert app.stop() == 0


def test_a_config_file_that_cannot_be_written_is_not_fatal(data_dir: Path) -> None:
    """Under ProtectSystem=strict /etc is read-only: a deleted /etc/ferrex/ferrex.toml must not
    stop the service from starting with defaults."""
    app = RunningAppliance(data_dir, env={"FERREX_CONFIG": "/proc/ferrex-test/ferrex.toml"})
    try:
        app.wait_ready()
        assert app.get("/health")[0] == 200
        warnings = [e for e in app.log_lines() if e.get("msg", "").startswith("cannot write")]
        assert warnings and warnings[0]["path"] == "/proc/ferrex-test/ferrex.toml"
    finally:
        assert app.stop() == 0
