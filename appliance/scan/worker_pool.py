"""A trio-parallel worker pool held for the life of a block: the walk workers
(``appliance.scan.walkers``) and the analysis workers (``appliance.scan.analyzers``) open and
close theirs the same way, here.

Why not plain ``async with trio_parallel.open_worker_context(...)``: closing waits for the
workers, and a worker killed from outside (SIGKILL, the OOM killer) while they close makes the
close raise ``BrokenWorkerError``, which would replace the block's own outcome (a stop, a
failure) or fail a block that went well. Both pools' workers only read files, so nothing they
held needs saving: that error is logged and the block's own outcome goes on. A
``BrokenWorkerError`` raised by the block itself (a worker died under a job) is not swallowed.

No resource tracker: multiprocessing's spawn starts one more interpreter beside the workers
(``multiprocessing.resource_tracker``, ~7 MB PSS, and it outlives them) to unlink named
semaphores and shared memory that a crashed process leaves behind. The workers use neither
(plain pipes, pickled calls), so :func:`skip_resource_tracker` hands spawn a sink instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import trio_parallel

log = logging.getLogger(__name__)

GRACE_SECONDS = 5.0
"""How long closing waits for a worker to leave before it is killed."""


def skip_resource_tracker() -> None:
    """Keep multiprocessing from starting its resource-tracker process in this process.

    Spawn (``popen_spawn_posix``) asks the tracker for its pipe before every start and passes
    it to the child; the tracker is started on the first ask unless one is known to run (a
    write to its pipe succeeds). Giving it ``/dev/null`` as that pipe satisfies the check in
    CPython 3.11-3.13 without a process; a child that registered a semaphore would write into
    the void, so nothing in this process may rely on the tracker's clean-up (nothing does:
    trio-parallel's workers talk over pipes). A tracker already running is left alone.
    """
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker
    with tracker._lock:  # type: ignore[attr-defined]
        if getattr(tracker, "_fd", None) is None:
            tracker._fd = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)  # type: ignore[attr-defined]


@asynccontextmanager
async def worker_pool(
    what: str,
    *,
    idle_timeout: float,
    init: Callable[[], object] = bool,
    retire: Callable[[], bool] = bool,
) -> AsyncIterator[trio_parallel.WorkerContext]:
    """Worker processes (spawned on first use) for the life of the block; ``what`` names them
    in the log ("walk", "analysis")."""
    skip_resource_tracker()
    manager = trio_parallel.open_worker_context(
        idle_timeout=idle_timeout, grace_period=GRACE_SECONDS, init=init, retire=retire
    )
    context = await manager.__aenter__()
    try:
        yield context
    except BaseException as exc:  # a stop (Cancelled) or a failure: closed, then re-raised
        await _close(manager, exc, what)
        raise
    await _close(manager, None, what)


async def _close(
    manager: AbstractAsyncContextManager[object], exc: BaseException | None, what: str
) -> None:
    try:
        await manager.__aexit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)
    except trio_parallel.BrokenWorkerError as broken:
        log.warning("%s workers did not exit cleanly", what, extra={"error": str(broken)})
