"""Small helpers shared by tests (fixtures are in conftest.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from appliance.children import Account, lookup_account
from appliance.preflight import create_account

REPO = Path(__file__).resolve().parent.parent
APPLIANCE = [sys.executable, "-m", "appliance.cli"]


def service_account() -> Account | None:
    if os.geteuid() != 0:
        return None
    return lookup_account("ferrex") or create_account("ferrex")


def short_tempdir(prefix: str) -> Path:
    """Unix socket paths must stay under 108 bytes, and the service account must get in."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


class RunningAppliance:
    """``ferrex-appliance serve`` as a real child process, the way systemd or a user runs it."""

    def __init__(
        self, data_dir: Path, env: dict[str, str] | None = None, *, new_session: bool = False
    ) -> None:
        """``new_session``: its own process group, as a terminal or ``timeout`` gives it."""
        self.data_dir = data_dir
        self.log_path = data_dir.parent / f"appliance-{time.monotonic_ns()}.log"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("FERREX_")}
        full_env.update({"FERREX_LOG_LEVEL": "info"})
        full_env.update(env or {})
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [*APPLIANCE, "serve", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=REPO,
            start_new_session=new_session,
        )
        self.base_url = ""

    def log_lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"msg": line})
        return out

    def wait_ready(self, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.log_lines():
                if entry.get("msg") == "ferrex appliance ready":
                    self.base_url = entry["listen"][0]
                    return self.base_url
            if self.proc.poll() is not None:
                raise AssertionError(f"appliance exited: {self.log_path.read_text()}")
            time.sleep(0.05)
        raise AssertionError(f"appliance not ready in {timeout}s: {self.log_path.read_text()}")

    def get(self, path: str, timeout: float = 5) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._log.close()

    def postmaster_pid(self) -> int:
        return int((self.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])


def _live_processes() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of /proc/PID/stat after the command name) of every process that is
    not a zombie."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            yield int(entry.name), fields


def live_children(pid: int) -> list[int]:
    """PIDs (not zombies) whose parent is ``pid``: Postgres, Redis, walk worker processes."""
    return [child for child, fields in _live_processes() if int(fields[1]) == pid]


def alive(pid: int) -> bool:
    """Running and not a zombie (reaped or not, a dead process is not alive)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def live_processes_mentioning(text: str) -> list[int]:
    """PIDs (not zombies) whose command line mentions ``text``, e.g. a data dir."""
    return [pid for pid, _ in _live_processes() if text in cmdline(pid)]


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def psql(dsn: str, query: str) -> str:
    """One query through the real psql client; unaligned, tuples only."""
    result = subprocess.run(
        ["psql", dsn, "-v", "ON_ERROR_STOP=1", "-At", "-c", query],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if result.returncode != 0:
        raise AssertionError(f"psql failed: {result.stderr}")
    return result.stdout.strip()


def embedded_dsn(data_dir: Path) -> str:
    return f"postgresql://ferrex@/ferrex?host={data_dir / 'run'}&port=5432"


def http_json(
    method: str, url: str, body: object = None, token: str | None = None, timeout: float = 10
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def admin_token(base_url: str, password: str = "correct horse battery") -> str:
    """Claim a fresh appliance from this machine (a local address) and log in."""
    status, body = http_json(
        "POST", base_url + "/api/v1/setup/claim", {"username": "admin", "password": password}
    )
    assert status == 201, body
    status, body = http_json(
        "POST",
        base_url + "/api/v1/auth/login",
        {
            "username": "admin",
            "password": password,
            "device": {"id": "test-runner", "name": "test runner", "platform": "linux"},
        },
    )
    assert status == 200, body
    return str(body["access_token"])


def make_series_tree(root: Path, shows: int, seasons: int, episodes: int) -> int:
    """Empty episode files in the layout Jellyfin users have; returns how many."""
    count = 0
    for show in range(shows):
        name = f"Show {show:03d} (20{show % 20:02d})"
        for season in range(1, seasons + 1):
            folder = root / name / f"Season {season:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            for episode in range(1, episodes + 1):
                (folder / f"{name} - S{season:02d}E{episode:02d}.mkv").touch()
                count += 1
    return count
