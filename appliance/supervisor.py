"""Keep one embedded server (Postgres or Redis) running, and say when it is not.

The supervisor owns the child for its whole life: it starts it, waits until it answers, opens the
service's gate, and on an unexpected exit closes the gate at once (requests then get 503), logs
it, and restarts with exponential backoff. ``stop()`` is the only way it ends on purpose.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

import trio

from appliance.children import Child
from store.gate import ServiceGate

log = logging.getLogger(__name__)


class StartError(Exception):
    """The server could not be started; the message carries its last output lines."""


class EmbeddedServer(Protocol):
    name: str
    stop_signal: int
    stop_timeout: float

    def spawn(self) -> Child: ...

    async def wait_ready(self, child: Child) -> None:
        """Return once the server answers; raise StartError if the child exits first."""
        ...


class Supervisor:
    BACKOFF_FIRST = 0.5
    BACKOFF_MAX = 30.0
    START_TIMEOUT = 60.0

    def __init__(
        self,
        server: EmbeddedServer,
        gate: ServiceGate,
        on_restart: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.server = server
        self.gate = gate
        self.on_restart = on_restart
        self.child: Child | None = None
        self.restarts = 0
        self._stopping = False

    async def _start_once(self, nursery: trio.Nursery) -> Child:
        child = self.server.spawn()
        self.child = child
        nursery.start_soon(child.forward_output)
        try:
            with trio.fail_after(self.START_TIMEOUT):
                await self.server.wait_ready(child)
        except (StartError, trio.TooSlowError) as exc:
            await child.stop(self.server.stop_signal, self.server.stop_timeout)
            await trio.sleep(0.05)  # let the output forwarder drain the last lines
            tail = " | ".join(child.tail)
            detail = f"{exc}; last output: {tail}" if tail else str(exc)
            raise StartError(f"{self.server.name} did not start: {detail}") from exc
        return child

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start (raising StartError if the first start fails), then keep it alive."""
        async with trio.open_nursery() as nursery:
            child = await self._start_once(nursery)
            self.gate.open()
            task_status.started()
            while True:
                code = await child.wait()
                if self._stopping:
                    return
                self.gate.close(f"{self.server.name} exited with status {code}, restarting")
                log.error(
                    "embedded server died; restarting",
                    extra={"child": self.server.name, "status": code},
                )
                restarted = await self._restart(nursery)
                if restarted is None:
                    return
                child = restarted

    async def _restart(self, nursery: trio.Nursery) -> Child | None:
        delay = self.BACKOFF_FIRST
        while True:
            await trio.sleep(delay)
            if self._stopping:
                return None
            try:
                child = await self._start_once(nursery)
            except StartError as exc:
                log.error(str(exc), extra={"child": self.server.name, "retry_in_s": delay})
                delay = min(delay * 2, self.BACKOFF_MAX)
                continue
            self.restarts += 1
            if self.on_restart is not None:
                await self.on_restart()
            self.gate.open()
            log.warning("embedded server restarted", extra={"child": self.server.name})
            return child

    async def stop(self) -> None:
        """Stop the child on purpose (fast shutdown); safe to call from a shielded scope."""
        self._stopping = True
        self.gate.close("shutting down")
        if self.child is not None:
            await self.child.stop(self.server.stop_signal, self.server.stop_timeout)
