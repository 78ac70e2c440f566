"""The appliance's private redis-server: unix socket only, no persistence (it holds only caches
and rate-limit counters that may be lost on restart)."""

from __future__ import annotations

import os
import platform
import shutil
import signal
from pathlib import Path

import trio

from appliance.children import Account, Child, spawn
from appliance.supervisor import StartError


def find_redis_server(configured: str) -> Path | None:
    if configured:
        path = Path(configured)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").is_file() else None
    )
    return Path(found) if found else None


class EmbeddedRedis:
    name = "redis"
    stop_signal: int = signal.SIGTERM
    stop_timeout = 10.0

    def __init__(self, data_dir: Path, binary: Path, account: Account | None) -> None:
        self.socket_dir = data_dir / "run"
        self.socket = self.socket_dir / "redis.sock"
        self.binary = binary
        self.account = account

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def spawn(self) -> Child:
        self.socket.unlink(missing_ok=True)
        return spawn(
            "redis",
            [
                str(self.binary),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.socket_dir),
                "--loglevel",
                "warning",
                # Redis refuses to start on arm64 kernels it cannot prove free of the
                # copy-on-write bug (older Pi kernels, qemu-user); that bug corrupts only the
                # fork-based saves this Redis never makes (no RDB, no AOF).
                *(
                    ["--ignore-warnings", "ARM64-COW-BUG"]
                    if platform.machine() in ("aarch64", "arm64")
                    else []
                ),
            ],
            account=self.account,
            death_signal=signal.SIGTERM,
        )

    async def wait_ready(self, child: Child) -> None:
        while True:
            if child.popen.poll() is not None:
                raise StartError(f"redis-server exited with status {child.popen.returncode}")
            if self.socket.exists():
                try:
                    stream = await trio.open_unix_socket(str(self.socket))
                except OSError:
                    pass
                else:
                    async with stream:
                        await stream.send_all(b"PING\r\n")
                        if (await stream.receive_some(64)).startswith(b"+PONG"):
                            return
            await trio.sleep(0.05)
