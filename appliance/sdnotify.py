"""systemd's notify protocol (Type=notify, WatchdogSec) spoken directly: it is one datagram
to $NOTIFY_SOCKET, not worth a dependency."""

from __future__ import annotations

import os
import socket

import trio


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
