"""One appliance per data directory.

Two appliances on one data dir would each start "their" Postgres on the same cluster and stop
the other's as an orphan. An exclusive ``flock`` on ``<data>/ferrex.lock``, held for the life of
the process (the kernel drops it when the process dies, even by SIGKILL), makes the second one
refuse to start with a clear message instead.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from appliance.config import ConfigError

LOCK_NAME = "ferrex.lock"


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def acquire(data_dir: Path) -> int:
    """Take the lock; returns the fd to keep open. ConfigError if another process holds it."""
    path = data_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(
            f"data_dir: {data_dir} is in use by another ferrex-appliance{_holder(path)}"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def check_free(data_dir: Path) -> None:
    """Preflight: fail early if a running appliance holds the data dir; takes nothing."""
    if (data_dir / LOCK_NAME).exists():
        os.close(acquire(data_dir))
