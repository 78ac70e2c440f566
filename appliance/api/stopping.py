"""Long-lived responses end when the appliance starts to stop.

Hypercorn's graceful shutdown waits for every open response, and an event stream (SSE or the
player's WebSocket) never ends by itself, so one connected player used to hold SIGTERM for the
whole ``server.shutdown_grace_seconds``. Streams wait through :func:`unless_stopping` instead and
end as soon as ``AppState.stopping`` is set (clients reconnect, to the next appliance), while
ordinary requests in flight are left to finish within the grace period.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio

T = TypeVar("T")


async def unless_stopping(stopping: trio.Event, wait: Callable[[], Awaitable[T]]) -> T | None:
    """``await wait()``, or None as soon as ``stopping`` is set (``wait`` is then cancelled)."""
    if stopping.is_set():
        return None
    result: list[T] = []
    async with trio.open_nursery() as nursery:

        async def run() -> None:
            result.append(await wait())
            nursery.cancel_scope.cancel()

        async def watch() -> None:
            await stopping.wait()
            nursery.cancel_scope.cancel()

        nursery.start_soon(run)
        nursery.start_soon(watch)
    return result[0] if result else None
