"""Start child processes that can never outlive the appliance, and wait for them under trio.

Three guarantees the embedded Postgres and Redis rely on:

* ``PR_SET_PDEATHSIG``: if the appliance dies, even by SIGKILL, the kernel signals the child.
  The signal is tied to the *thread* that forked, so we fork from trio's main thread
  (``subprocess.Popen`` directly) rather than trio's ``open_process``, which forks in a worker
  thread that may exit while the child is still running.
* Each child gets its own session, so a Ctrl-C in the terminal reaches only the appliance, which
  then stops the children in order instead of all of them at once.
* When started as root, children run as an unprivileged account (Postgres refuses root).
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import logging
import os
import pwd
import signal
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_prctl = _libc.prctl


@dataclass(frozen=True)
class Account:
    """The unprivileged account children run as (None = same as the appliance)."""

    name: str
    uid: int
    gid: int


def lookup_account(name: str) -> Account | None:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return Account(name, entry.pw_uid, entry.pw_gid)


def _make_preexec(death_signal: int) -> Callable[[], None]:
    parent = os.getpid()

    def preexec() -> None:  # runs in the forked child, after the uid switch, before exec
        _prctl(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
        # The parent may have died between fork and prctl: then nobody would signal us.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


class Child:
    """A running child process: pid, an awaitable exit, and its output forwarded to logging."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes]) -> None:
        self.name = name
        self.popen = popen
        self.pid = popen.pid
        self._pidfd = os.pidfd_open(popen.pid)
        self.returncode: int | None = None
        self._fd_waiter = False
        self.tail: collections.deque[str] = collections.deque(maxlen=8)

    async def wait(self) -> int:
        """Wait for exit without a thread: the pidfd becomes readable when the child exits.

        Several tasks may wait (the supervisor and a stop()); only one may block on the fd, the
        others check back shortly.
        """
        while self.returncode is None:
            if self._fd_waiter:
                await trio.sleep(0.02)
                continue
            self._fd_waiter = True
            try:
                await trio.lowlevel.wait_readable(self._pidfd)
            finally:
                self._fd_waiter = False
            self.returncode = self.popen.wait()
            trio.lowlevel.notify_closing(self._pidfd)
            os.close(self._pidfd)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None and self.popen.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    async def stop(self, sig: int, grace_seconds: float) -> int:
        """Ask politely with ``sig``; SIGKILL after ``grace_seconds``. Always reaps the child."""
        self.send_signal(sig)
        with trio.move_on_after(grace_seconds):
            return await self.wait()
        log.warning("child did not stop in time, killing", extra={"child": self.name})
        self.send_signal(signal.SIGKILL)
        return await self.wait()

    async def forward_output(self) -> None:
        """Log the child's stdout/stderr lines: errors loudly, the rest at debug (quiet logs)."""
        assert self.popen.stdout is not None
        stream = trio.lowlevel.FdStream(os.dup(self.popen.stdout.fileno()))
        self.popen.stdout.close()
        buffer = b""
        async with stream:
            while True:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for raw in lines:
                    self._line(raw)
        if buffer:
            self._line(buffer)

    def _line(self, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            self.tail.append(line)
            _log_child_line(self.name, line)


_LOUD = ("ERROR", "FATAL", "PANIC", "# WARNING", "Failed", "FAILED")


# Start-up advice about the host that a Pi owner cannot act on; keep it out of the journal.
_KNOWN_NOISE = ("Memory overcommit must be enabled",)


def _log_child_line(name: str, line: str) -> None:
    loud = any(word in line for word in _LOUD) and not any(n in line for n in _KNOWN_NOISE)
    level = logging.WARNING if loud else logging.DEBUG
    log.log(level, line, extra={"child": name})


def _drop_privileges(account: Account | None, env: dict[str, str]) -> dict[str, Any]:
    """Popen arguments that switch to ``account`` when we are root; none otherwise."""
    if account is None or os.geteuid() != 0 or account.uid == 0:
        return {"user": None, "group": None, "extra_groups": None}
    env["HOME"] = "/"
    env["USER"] = env["LOGNAME"] = account.name
    return {"user": account.uid, "group": account.gid, "extra_groups": []}


# systemd's notify/watchdog variables are the appliance's own: a child that inherited them
# (Debian's postgres speaks sd_notify) would announce READY for the service, or be refused noisily.
_SERVICE_MANAGER_VARS = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


def _child_env(base: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in base.items() if k not in _SERVICE_MANAGER_VARS}


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    account: Account | None = None,
    death_signal: int = signal.SIGTERM,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Child:
    """Fork+exec from the calling (trio main) thread; see the module docstring for why."""
    child_env = _child_env(dict(os.environ if env is None else env))
    ids = _drop_privileges(account, child_env)
    popen = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_make_preexec(death_signal),
        env=child_env,
        cwd=str(cwd) if cwd else None,
        user=ids["user"],
        group=ids["group"],
        extra_groups=ids["extra_groups"],
    )
    return Child(name, popen)


def run_blocking(
    argv: Sequence[str], *, account: Account | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """One-shot helper (initdb): same privilege drop, output captured for error messages."""
    env = _child_env(dict(os.environ))
    ids = _drop_privileges(account, env)
    return subprocess.run(
        list(argv),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd="/",
        user=ids["user"],
        group=ids["group"],
        extra_groups=ids["extra_groups"],
    )
