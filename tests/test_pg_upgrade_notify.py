"""A ``pg_upgrade`` at start keeps systemd's start timeout from ending it (issue #17).

The unit has ``TimeoutStartSec=300``; upgrading a big cluster after ``apt full-upgrade`` can take
longer, and systemd would kill the start half-way. While the upgrade runs, the appliance sends
``EXTEND_TIMEOUT_USEC=`` to ``$NOTIFY_SOCKET`` again and again. Here the socket is a datagram
socket of the test's own; the upgrade is real: ``pg_upgrade`` of an initdb'd cluster with
data, by this machine's PostgreSQL (only one major is installed here, so 15 → 15, which
pg_upgrade does as it does 15 → 17; the cross-major upgrade in a booted root is
tests/test_pg_upgrade_root.py, slow).
"""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance import pg_upgrade, sdnotify
from appliance.embedded_postgres import EmbeddedPostgres, find_bin_dir
from tests.helpers import service_account, short_tempdir

EXTEND = 1.5


@pytest.fixture
def cluster() -> Iterator[EmbeddedPostgres]:
    bin_dir = find_bin_dir("")
    assert bin_dir is not None
    base = short_tempdir("fxu")
    postgres = EmbeddedPostgres(base, bin_dir, service_account())
    postgres.prepare_socket_dir()
    postgres.initdb()
    try:
        yield postgres
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def notify_socket(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[socket.socket]:
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setattr(sdnotify, "EXTEND_SECONDS", EXTEND)  # a ping every 0.5 s
    try:
        yield sock
    finally:
        sock.close()


class Listener:
    """What arrives on the socket, with the time, read as it comes (its queue holds ten)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.got = sock, list[tuple[float, str]]()
        self.sock.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.got.append((time.monotonic(), self.sock.recv(4096).decode()))
            except TimeoutError:
                continue

    def stop(self) -> list[tuple[float, str]]:
        self._stop.set()
        self._thread.join()
        return self.got


def test_the_start_timeout_is_extended_while_pg_upgrade_runs(
    cluster: EmbeddedPostgres, notify_socket: socket.socket
) -> None:
    bin_dir = cluster.bin_dir
    major = pg_upgrade.server_major(bin_dir)
    assert major is not None
    listener = Listener(notify_socket)
    started = time.monotonic()
    pg_upgrade.run_upgrade(cluster, major, major, bin_dir)
    ended = time.monotonic()
    time.sleep(1.2)  # more than a ping's interval: none may come once it is done
    pings = listener.stop()
    assert {text for _, text in pings} == {f"EXTEND_TIMEOUT_USEC={int(EXTEND * 1e6)}"}
    assert pings[-1][0] <= ended, "a ping after the upgrade had ended"
    # systemd's deadline was never closer than the extension: a ping at least that often, from
    # the start of the upgrade to its end
    times = [started] + [t for t, _ in pings] + [ended]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(pings) >= 2 and max(gaps) < EXTEND, (len(pings), ended - started, max(gaps))
    # the upgrade itself happened: a new cluster in place, the old one kept beside it
    data_dir = cluster.pgdata.parent
    assert (data_dir / f"postgres.pg{major}-old" / "PG_VERSION").is_file()
    assert (cluster.pgdata / "PG_VERSION").is_file()
    assert not (data_dir / pg_upgrade.NEW_NAME).exists()
    check = subprocess.run(
        [str(bin_dir / "pg_controldata"), str(cluster.pgdata)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Database cluster state:               shut down" in check.stdout


def test_nothing_is_sent_or_started_without_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    before = threading.active_count()
    with sdnotify.start_timeout_extended():
        assert threading.active_count() == before
