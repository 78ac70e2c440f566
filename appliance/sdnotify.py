"""systemd's notify protocol (Type=notify, WatchdogSec) spoken directly: it is one datagram
to $NOTIFY_SOCKET, not worth a dependency."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import trio

EXTEND_SECONDS = 60.0
"""What each ``EXTEND_TIMEOUT_USEC`` asks for, counted from when it is sent; it is sent again
every third of it, so two may be lost before systemd's clock runs out."""


def notify(state: str) -> bool:
    """Send e.g. ``READY=1``; False (and nothing happens) when not run under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        # Never block the event loop: if the receiver's queue is full, this ping is dropped.
        sock.setblocking(False)
        try:
            sock.connect(address)
            sock.send(state.encode())
        except OSError:
            return False
    return True


async def announce(state: str, patience: float = 5.0) -> bool:
    """Send a state change (READY=1, STOPPING=1) that must not be lost: unlike a watchdog
    ping it is retried while the receiver's queue is full, without blocking the event loop."""
    if not os.environ.get("NOTIFY_SOCKET"):
        return False
    deadline = trio.current_time() + patience
    while not notify(state):
        if trio.current_time() >= deadline:
            return False
        await trio.sleep(0.05)  # the queue drains on the receiver's side; nothing to wait on
    return True


def watchdog_interval() -> float | None:
    """Half of $WATCHDOG_USEC in seconds, if systemd asked for watchdog pings for this PID."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1e6 / 2
    except ValueError:
        return None


async def watchdog_loop(interval: float) -> None:
    while True:
        notify("WATCHDOG=1")
        await trio.sleep(interval)


@contextmanager
def start_timeout_extended() -> Iterator[None]:
    """While the block runs, keep telling systemd that the start goes on.

    For a blocking step of the start that can outlast the unit's ``TimeoutStartSec`` (300 s)
    on a big cluster: ``pg_upgrade`` after an OS upgrade, the statistics gathered after it.
    ``EXTEND_TIMEOUT_USEC=`` sets the start's deadline to :data:`EXTEND_SECONDS` from now; a
    thread repeats it every third of that until the block ends (the step's own timeout bounds
    a step that hangs). Not under systemd: nothing, no thread.
    """
    if not os.environ.get("NOTIFY_SOCKET"):
        yield
        return
    seconds = EXTEND_SECONDS
    message = f"EXTEND_TIMEOUT_USEC={int(seconds * 1_000_000)}"
    done = threading.Event()

    def keep_extending() -> None:
        while True:
            notify(message)
            if done.wait(seconds / 3):
                return

    thread = threading.Thread(target=keep_extending, name="sd-extend-timeout", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
