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
from collections.abc import Callable
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

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.log_path = data_dir.parent / f"appliance-{time.monotonic_ns()}.log"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("FERREX_")}
        full_env.update({"FERREX_LOG_LEVEL": "info"})
        full_env.update(env or {})
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [*APPLIANCE, "serve", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0"],
            stdout=self._log, stderr=subprocess.STDOUT, env=full_env, cwd=REPO,
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


def live_processes_mentioning(text: str) -> list[int]:
    """PIDs (not zombies) whose command line mentions ``text``, e.g. a data dir."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
