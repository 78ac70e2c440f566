"""The trio-asyncio loop the appliance runs asyncpg and redis-py on.

trio-asyncio turns errors that asyncio reports through the loop's exception handler (for
example asyncpg noticing a connection that was cancelled mid-statement) into exceptions that end
the whole process when the loop closes. Those reports are worth a log line, never a crash.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio_asyncio

log = logging.getLogger(__name__)


def _log_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    exc = context.get("exception")
    log.error(
        context.get("message", "asyncio error"),
        extra={"error": repr(exc)} if exc is not None else {},
    )


@asynccontextmanager
async def asyncio_loop() -> AsyncIterator[asyncio.AbstractEventLoop]:
    async with trio_asyncio.open_loop() as loop:
        loop.set_exception_handler(_log_error)
        yield loop
