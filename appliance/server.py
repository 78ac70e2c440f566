"""The appliance process: start the children, migrate, serve, and shut down in order.

Shutdown order on SIGTERM/SIGINT: stop accepting and let in-flight requests finish (bounded by
``server.shutdown_grace_seconds``), cancel background work, close the pools, then stop Redis and
Postgres (fast shutdown). A second signal skips the grace period. Whatever way this function is
left, the children are stopped in a shielded scope; if the process is killed outright, the
kernel's parent-death signal stops them (see ``appliance.children``).
"""

from __future__ import annotations

import logging
import shutil
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve

from appliance import config as config_mod
from appliance import datadir_lock, discovery, filemodes, memtrim, pg_upgrade, sdnotify
from appliance.api import server_settings
from appliance.api.app import create_app
from appliance.api.routing import deny_all
from appliance.asyncio_bridge import asyncio_loop
from appliance.auth.keys import KEY_FILE, load_or_create_server_key
from appliance.auth.service import AuthService
from appliance.config import Config, ConfigError
from appliance.metadata.enrich import settings_from_config
from appliance.orchestration.budget import WorkloadBudget, workload_limits
from appliance.preflight import Plan, create_account
from appliance.redis_client import RedisClient
from appliance.scan.pipeline import PipelineSettings
from appliance.scan.runtime import ScanRuntime
from appliance.state import AppState
from appliance.supervisor import Supervisor
from appliance.syncfeed import SyncNotifier
from store import auth_users, cluster, server_state
from store.db import Database
from store.gate import ServiceGate
from store.migrate import migrate

log = logging.getLogger(__name__)
KEEP_ALIVE_SECONDS = 5.0


class StartupFailed(Exception):
    """Start-up could not complete; the message is one line for the terminal."""


def prepare_disk(config: Config, plan: Plan) -> None:
    """Create what the first start needs: data dir, service account, config file, cluster."""
    location = plan.location
    location.data_dir.mkdir(mode=filemodes.DATA_DIR_MODE, parents=True, exist_ok=True)
    plan.lock_fd = datadir_lock.acquire(location.data_dir)  # held until the process exits
    if plan.create_account:
        account = create_account(plan.create_account)
        log.info("created service account for postgres and redis", extra={"account": account.name})
        plan.account = account
        for server in (plan.postgres, plan.redis):
            if server is not None:
                server.account = account
    if plan.account is not None:
        log.info(
            "running as root: postgres and redis run as an unprivileged account",
            extra={"account": plan.account.name},
        )
    filemodes.secure_data_dir(location.data_dir, plan.account)
    filemodes.secure_existing(
        location.data_dir, location.config_file, (server_settings.FILE_NAME, KEY_FILE)
    )
    if not location.config_exists:
        try:
            filemodes.write_private(location.config_file, config_mod.render(config).encode("utf-8"))
            log.info("wrote default config", extra={"path": str(location.config_file)})
        except OSError as exc:  # e.g. /etc/ferrex read-only under ProtectSystem=strict
            log.warning(
                "cannot write the config file; running with defaults and environment",
                extra={"path": str(location.config_file), "error": exc.strerror},
            )
    if plan.postgres is not None:
        plan.postgres.prepare_socket_dir()
        if not plan.postgres.initialized:
            plan.postgres.initdb()
        else:  # made by an older PostgreSQL (an OS upgrade): pg_upgrade it first
            pg_upgrade.upgrade(plan.postgres)
    elif plan.redis is not None:
        plan.redis.socket_dir.mkdir(mode=0o700, exist_ok=True)


def undo_first_start(plan: Plan) -> None:
    """A first start that failed leaves nothing behind: the user fixes the cause and retries."""
    if not plan.data_dir_exists:
        shutil.rmtree(plan.location.data_dir, ignore_errors=True)


@dataclass
class Services:
    db: Database
    redis: RedisClient
    pg_gate: ServiceGate
    redis_gate: ServiceGate
    supervisors: dict[str, Supervisor] = field(default_factory=dict)


@asynccontextmanager
async def running_services(config: Config, plan: Plan) -> AsyncIterator[Services]:
    """Children up, pools open, schema migrated; on exit everything closed and stopped.

    Must run inside ``appliance.asyncio_bridge.asyncio_loop()``.
    """
    pg_gate, redis_gate = ServiceGate("postgres"), ServiceGate("redis")
    supervisors: dict[str, Supervisor] = {}
    db_holder: list[Database] = []

    async def pool_reset() -> None:
        if db_holder:
            await db_holder[0].expire_connections()

    async with trio.open_nursery() as nursery:
        try:
            dsn = config.database.dsn
            if plan.postgres is not None:
                supervisors["postgres"] = Supervisor(plan.postgres, pg_gate, on_restart=pool_reset)
                await nursery.start(supervisors["postgres"].run)
                await cluster.ensure_database(plan.postgres.maintenance_dsn)
                dsn = plan.postgres.dsn
            else:
                pg_gate.open()
            redis_url = config.redis.url
            if plan.redis is not None:
                supervisors["redis"] = Supervisor(plan.redis, redis_gate)
                await nursery.start(supervisors["redis"].run)
                redis_url = plan.redis.url
            else:
                redis_gate.open()
            db = await Database.connect(
                dsn,
                pg_gate,
                min_size=config.database.pool_min,
                max_size=config.database.pool_max,
                idle_seconds=config.database.pool_idle_seconds,
                command_timeout=config.database.command_timeout_seconds,
            )
            db_holder.append(db)
            redis = RedisClient(redis_url, redis_gate)
            try:
                applied = await migrate(db)
                if applied:
                    log.info("applied migrations", extra={"versions": [m.version for m in applied]})
                if plan.postgres is not None:  # started and migrated: the old cluster may go
                    await trio.to_thread.run_sync(pg_upgrade.finish, plan.postgres)
                yield Services(db, redis, pg_gate, redis_gate, supervisors)
            finally:
                with trio.CancelScope(shield=True):
                    await redis.close()
                    await db.close()
        finally:
            with trio.CancelScope(shield=True):
                for name in ("redis", "postgres"):
                    if name in supervisors:
                        await supervisors[name].stop()
            nursery.cancel_scope.cancel()


def hypercorn_config(config: Config) -> HypercornConfig:
    hconfig = HypercornConfig()
    host, port = config_mod.parse_listen(config.server.listen)
    hconfig.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    hconfig.graceful_timeout = config.server.shutdown_grace_seconds
    # Until a request head is complete hypercorn's idle timer runs and a trickle does not reset
    # it: this bounds slow heads (slowloris). Bodies: server.body_timeout_seconds (request_body).
    # No read_timeout: it is per read and would cut idle SSE streams and WebSockets.
    hconfig.keep_alive_timeout = KEEP_ALIVE_SECONDS
    hconfig.accesslog = None
    hconfig.errorlog = logging.getLogger("hypercorn.error")
    return hconfig


async def _announce(config: Config, binds: list[str], state: AppState) -> None:
    """The LAN announcement (appliance.discovery) of the port hypercorn bound (listen may say 0)."""
    host, port = config_mod.parse_listen(config.server.listen)
    if binds:  # e.g. "http://0.0.0.0:8420"
        port = int(binds[0].rsplit(":", 1)[1])
    db = state.db

    async def claimed() -> bool:
        return await auth_users.count_admins(db) > 0

    await discovery.announce(
        config.discovery, host, port, state.server_id or "", claimed, state.bus
    )


async def run(config: Config, plan: Plan) -> None:
    """The whole life of ``serve``. Raises StartupFailed/ConfigError for start-up problems."""
    shutdown = trio.Event()
    started = False
    async with trio.open_nursery() as root:

        async def on_signals() -> None:
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    if started and not shutdown.is_set():
                        log.info("shutting down", extra={"signal": signal.Signals(signum).name})
                        shutdown.set()
                        await sdnotify.announce("STOPPING=1")
                    else:  # during start-up, or a second signal: stop now
                        root.cancel_scope.cancel()
                        sdnotify.notify("STOPPING=1")

        root.start_soon(on_signals)
        # Ping from the start: a first start (initdb) can outlast WatchdogSec on a Pi.
        interval = sdnotify.watchdog_interval()
        if interval:
            root.start_soon(partial(sdnotify.watchdog_loop, interval))
        first_start = not plan.data_dir_exists
        try:
            await trio.to_thread.run_sync(prepare_disk, config, plan)
            async with asyncio_loop(), running_services(config, plan) as services:
                state = AppState(
                    config=config,
                    data_dir=plan.location.data_dir,
                    db=services.db,
                    redis=services.redis,
                    pg_gate=services.pg_gate,
                    redis_gate=services.redis_gate,
                    authenticator=deny_all,
                    supervisors=services.supervisors,
                    stopping=shutdown,
                )
                state.server_id = await server_state.ensure_server_id(services.db)
                server_key = await trio.to_thread.run_sync(
                    load_or_create_server_key, plan.location.data_dir
                )
                await trio.to_thread.run_sync(
                    server_settings.apply_saved, plan.location.data_dir, config.auth
                )
                auth = AuthService(
                    services.db, services.redis, config.auth, server_key, plan.location.data_dir
                )
                auth.attach(state)
                scanning = ScanRuntime(
                    services.db,
                    state.bus,
                    PipelineSettings(
                        analyze=config.scan.analyze,
                        metadata=settings_from_config(config, plan.location.data_dir),
                    ),
                    budget=WorkloadBudget(workload_limits(config.scan)),
                    per_library_cap=config.scan.per_library_cap,
                    watch_debounce_ms=config.scan.watch_debounce_ms,
                    lease_ttl=config.scan.lease_ttl_seconds,
                    housekeeping_seconds=config.scan.housekeeping_seconds,
                    walk_processes=config.scan.walk_processes,
                    worker_idle_seconds=config.scan.worker_idle_seconds,
                )
                state.scans = scanning.service
                app = create_app(state)
                async with trio.open_nursery() as work:

                    async def http(task_status: trio.TaskStatus[list[str]]) -> None:
                        await hypercorn_serve(
                            app,
                            hypercorn_config(config),
                            shutdown_trigger=shutdown.wait,
                            task_status=task_status,
                        )
                        work.cancel_scope.cancel()  # stops background work once HTTP drained

                    try:
                        binds = await work.start(http)
                    except OSError as exc:
                        raise ConfigError(
                            f"server.listen: cannot listen on {config.server.listen}: "
                            f"{exc.strerror or exc}"
                        ) from None
                    work.start_soon(auth.housekeeping)
                    work.start_soon(memtrim.run, config.memory.trim_seconds)
                    await work.start(
                        SyncNotifier(
                            services.db,
                            state.bus,
                            config.media.sync_push_interval_ms / 1000,
                            timedelta(days=config.media.sync_retention_days),
                        ).run
                    )
                    await work.start(scanning.run)
                    work.start_soon(partial(_announce, config, binds, state))
                    started = True
                    first_start = False
                    await sdnotify.announce("READY=1")
                    log.info(
                        "ferrex appliance ready",
                        extra={
                            "listen": binds,
                            "data_dir": str(plan.location.data_dir),
                            "server_id": state.server_id,
                        },
                    )
        except BaseException:
            if first_start:
                with trio.CancelScope(shield=True):
                    await trio.to_thread.run_sync(undo_first_start, plan)
            raise
        finally:
            root.cancel_scope.cancel()
    log.info("stopped")
