"""The appliance's private Postgres cluster: ``<data>/postgres``, socket in ``<data>/run``.

It listens on no TCP port at all (``listen_addresses=''``) and its socket directory is 0700, so
only the appliance (and root) can connect; that is why ``trust`` authentication is safe here.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import signal
import time
from pathlib import Path

import trio

from appliance.children import Account, Child, run_blocking, spawn
from appliance.pgmemory import STOCK_CONNECTIONS, command_options
from appliance.supervisor import StartError

log = logging.getLogger(__name__)

SUPERUSER = "ferrex"
DATABASE = "ferrex"
PORT = 5432  # only names the socket file (.s.PGSQL.5432); nothing listens on TCP


def find_bin_dir(configured: str) -> Path | None:
    """initdb is not on PATH on Debian; it lives in /usr/lib/postgresql/<major>/bin."""
    if configured:
        path = Path(configured)
        return path if (path / "initdb").is_file() else None
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(on_path).resolve().parent

    def major(initdb: str) -> int:
        name = Path(initdb).parent.parent.name
        return int(name) if name.isdigit() else 0

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=major)
    return Path(candidates[-1]).parent if candidates else None


class EmbeddedPostgres:
    name = "postgres"
    stop_signal: int = signal.SIGINT  # "fast" shutdown: abort transactions, checkpoint, exit
    stop_timeout = 15.0

    def __init__(
        self,
        data_dir: Path,
        bin_dir: Path,
        account: Account | None,
        settings: dict[str, str] | None = None,
        glibc_tunables: str | None = None,
    ) -> None:
        """``settings``: memory settings passed at start (:func:`appliance.pgmemory.
        postgres_settings`); None: Postgres's defaults with 50 connections.
        ``glibc_tunables``: added to the server's ``GLIBC_TUNABLES`` (:func:`appliance.pgmemory.
        malloc_tunables`); None: the environment's."""
        self.pgdata = data_dir / "postgres"
        self.socket_dir = data_dir / "run"
        self.bin_dir = bin_dir
        self.account = account
        self.settings = settings or {"max_connections": str(STOCK_CONNECTIONS)}
        self.glibc_tunables = glibc_tunables

    @property
    def dsn(self) -> str:
        return f"postgresql://{SUPERUSER}@/{DATABASE}?host={self.socket_dir}&port={PORT}"

    @property
    def maintenance_dsn(self) -> str:
        return f"postgresql://{SUPERUSER}@/postgres?host={self.socket_dir}&port={PORT}"

    @property
    def initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").is_file()

    def _chown(self, path: Path) -> None:
        if self.account is not None and os.geteuid() == 0:
            os.chown(path, self.account.uid, self.account.gid)

    def prepare_socket_dir(self) -> None:
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.socket_dir, 0o700)
        self._chown(self.socket_dir)

    def initdb(self) -> None:
        """Create the cluster atomically: initdb into a scratch dir, then rename into place."""
        scratch = self.pgdata.with_name("postgres.initdb-tmp")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(mode=0o700)
        self._chown(scratch)
        log.info("creating embedded postgres cluster", extra={"pgdata": str(self.pgdata)})
        try:
            result = run_blocking(
                [
                    str(self.bin_dir / "initdb"),
                    "-D",
                    str(scratch),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-instructions",
                ],
                account=self.account,
            )
            if result.returncode != 0:
                tail = " | ".join(result.stderr.strip().splitlines()[-3:])
                raise StartError(f"initdb failed ({result.returncode}): {tail}")
            scratch.rename(self.pgdata)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def clear_stale_pid(self) -> None:
        """A postmaster.pid left by a crash blocks start if its PID was reused; remove it.

        If the PID is still a postmaster on *this* data dir (an orphan), stop it first.
        """
        pidfile = self.pgdata / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        if self._is_our_postmaster(pid):
            log.warning("stopping orphaned postgres from a previous run", extra={"pid": pid})
            os.kill(pid, signal.SIGQUIT)
            deadline = time.monotonic() + 10
            while self._is_our_postmaster(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        if not self._is_our_postmaster(pid):
            log.info("removing stale postmaster.pid", extra={"pid": pid})
            pidfile.unlink(missing_ok=True)

    def _is_our_postmaster(self, pid: int) -> bool:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        if state == "Z":  # exited, waiting to be reaped: no longer holds the cluster
            return False
        return bool(argv) and argv[0].endswith(b"postgres") and str(self.pgdata).encode() in argv

    def spawn(self) -> Child:
        self.prepare_socket_dir()
        self.clear_stale_pid()
        return spawn(
            "postgres",
            [
                str(self.bin_dir / "postgres"),
                "-D",
                str(self.pgdata),
                "-k",
                str(self.socket_dir),
                "-p",
                str(PORT),
                "-c",
                "listen_addresses=",
                "-c",
                "unix_socket_permissions=0700",
                "-c",
                "log_min_messages=warning",
                # checkpoints are LOG lines that log_min_messages does not hold back
                "-c",
                "log_checkpoints=off",
                "-c",
                "log_line_prefix=",
                *command_options(self.settings),
            ],
            account=self.account,
            death_signal=signal.SIGQUIT,
            env=self._environment(),
        )

    def _environment(self) -> dict[str, str] | None:
        if not self.glibc_tunables:
            return None
        env = dict(os.environ)
        env["GLIBC_TUNABLES"] = ":".join(
            part for part in (env.get("GLIBC_TUNABLES"), self.glibc_tunables) if part
        )
        return env

    def status(self) -> str:
        """The last line of postmaster.pid says "ready" once connections are accepted."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return ""
        return lines[7].strip() if len(lines) > 7 else ""

    async def wait_ready(self, child: Child) -> None:
        while True:
            if child.popen.poll() is not None:
                raise StartError(f"postgres exited with status {child.popen.returncode}")
            if self.status() == "ready":
                return
            await trio.sleep(0.05)
