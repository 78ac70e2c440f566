"""``coldstart``: seconds from spawning ``ferrex-appliance serve`` until ``GET /health`` is 200.

Each repeat uses a fresh temp dir: the first start finds no data dir (it creates one, runs initdb
and the migrations), the second start reuses it. After each start the appliance gets SIGTERM and
the time until it has exited (Postgres and Redis stopped) is the shutdown figure.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bench.common import BenchError, Figure, Result, make_temp_dir, median

START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0


@dataclass(frozen=True)
class Params:
    starts: int


def _command() -> list[str]:
    script = Path(sys.executable).with_name("ferrex-appliance")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "appliance.cli"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment() -> dict[str, str]:
    """No inherited FERREX_* setting may change what is measured (an external DSN, say)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERREX_")}
    env["FERREX_LOG_LEVEL"] = "warning"
    return env


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _log_tail(log_path: Path) -> str:
    lines = log_path.read_text(errors="replace").strip().splitlines()
    return " | ".join(lines[-5:]) or "(no output)"


def _start_and_stop(data_dir: Path, log: IO[bytes], log_path: Path) -> tuple[float, float]:
    """One start until healthy, then SIGTERM until exit: (start seconds, shutdown seconds)."""
    port = _free_port()
    argv = [*_command(), "serve", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}"]
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=_environment(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        while not _healthy(port):
            if proc.poll() is not None:
                raise BenchError(f"appliance exited ({proc.returncode}): {_log_tail(log_path)}")
            if time.perf_counter() - started > START_TIMEOUT:
                raise BenchError(
                    f"/health not 200 after {START_TIMEOUT:.0f} s: " + _log_tail(log_path)
                )
            time.sleep(0.01)
        start_s = time.perf_counter() - started
        stopping = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=STOP_TIMEOUT)
        stop_s = time.perf_counter() - stopping
        if code != 0:
            raise BenchError(f"appliance exited with {code} on SIGTERM: {_log_tail(log_path)}")
        return start_s, stop_s
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def run(params: Params) -> Result:
    samples: dict[str, list[float]] = {"empty": [], "existing": [], "shutdown": []}
    for _ in range(params.starts):
        tmp = make_temp_dir()
        log_path = tmp / "appliance.log"
        try:
            with log_path.open("wb") as log:
                for kind in ("empty", "existing"):
                    start_s, stop_s = _start_and_stop(tmp / "data", log, log_path)
                    samples[kind].append(start_s)
                    samples["shutdown"].append(stop_s)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    pairs = zip(samples["existing"], samples["empty"], strict=True)
    figures = [
        Figure("start, empty data dir (baseline)", median(samples["empty"]), "s"),
        Figure("start, existing data dir", median(samples["existing"]), "s"),
        Figure("start: existing / empty", median([e / f for e, f in pairs]), "x"),
        Figure("shutdown after SIGTERM", median(samples["shutdown"]), "s"),
    ]
    summary = (
        f"spawn until GET /health is 200, median of {params.starts} starts each; "
        "shutdown: SIGTERM until exit, median of all starts"
    )
    return Result("coldstart", summary, figures, {"starts": params.starts}, samples)
