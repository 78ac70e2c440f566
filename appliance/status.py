"""``ferrex-appliance status``: is the appliance up, and what is it doing.

Reads the running appliance's own database and Redis (over their sockets in the data dir) and
its ``/health``; starts nothing. Exit status as ``systemctl status``: 0 running and healthy,
1 running but degraded, 3 not running.
"""

from __future__ import annotations

import json
import socket
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import trio

from appliance import config as config_mod
from appliance import opsdb
from appliance.config import Config, Location
from appliance.embedded_postgres import DATABASE, PORT, SUPERUSER
from store import operations, server_state

NOT_RUNNING = 3


def _redis_ping(path: Path) -> str:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(2)
            conn.connect(str(path))
            conn.sendall(b"PING\r\n")
            reply = conn.recv(64)
    except OSError as exc:
        return f"unreachable ({exc.strerror or exc})"
    return "ok" if reply.startswith(b"+PONG") else f"unexpected reply {reply[:20]!r}"


def _http_health(config: Config) -> tuple[str, dict[str, Any] | None]:
    host, port = config_mod.parse_listen(config.server.listen)
    if port == 0:
        return "not checked (port chosen at start)", None
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1" if host != "::" else "::1"
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/health"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return "ok", json.loads(response.read())
    except urllib.error.HTTPError as err:
        return f"HTTP {err.code}", None
    except (OSError, ValueError) as exc:
        return f"unreachable ({getattr(exc, 'reason', exc)})", None


async def _database_report(dsn: str) -> dict[str, Any]:
    async with opsdb.connect(dsn) as db:
        return {
            "server_id": await server_state.get(db, "server_id"),
            "schema_version": await operations.schema_version(db),
            "users": await operations.user_count(db),
            "libraries": await operations.libraries_with_last_scan(db),
            "queue": await operations.queue_by_state(db),
        }


def collect(config: Config, location: Location) -> dict[str, Any]:
    data_dir = location.data_dir
    pid = opsdb.appliance_running(data_dir) if data_dir.is_dir() else None
    report: dict[str, Any] = {"data_dir": str(data_dir), "running": pid is not None, "pid": pid}
    if pid is None:
        return report
    report["http"], health = _http_health(config)
    if health is not None:
        report["health"] = health.get("status")
    dsn = config.database.dsn or (
        f"postgresql://{SUPERUSER}@/{DATABASE}?host={data_dir / 'run'}&port={PORT}"
    )
    try:
        report.update(trio.run(_database_report, dsn))
        report["postgres"] = "ok"
    except Exception as exc:  # report it; status must not crash on a sick appliance
        report["postgres"] = f"unreachable ({exc})"
    report["redis"] = (
        "external (not checked)"
        if config.redis.url
        else _redis_ping(data_dir / "run" / "redis.sock")
    )
    return report


def _when(value: Any) -> str:
    if not isinstance(value, datetime):
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def render(report: dict[str, Any], out: TextIO) -> None:
    if not report["running"]:
        print(f"ferrex appliance: not running (data dir {report['data_dir']})", file=out)
        return
    pid = f" (pid {report['pid']})" if report["pid"] else ""
    print(f"ferrex appliance: running{pid}, data dir {report['data_dir']}", file=out)
    print(f"  server id:  {report.get('server_id', '-')}", file=out)
    print(
        f"  http:       {report['http']}"
        + (f", health {report['health']}" if "health" in report else ""),
        file=out,
    )
    print(
        f"  postgres:   {report['postgres']}"
        + (f", schema {report['schema_version']}" if "schema_version" in report else ""),
        file=out,
    )
    print(f"  redis:      {report['redis']}", file=out)
    if "users" in report:
        print(f"  users:      {report['users']}", file=out)
        queue = report["queue"]
        print(
            "  job queue:  " + (", ".join(f"{state} {n}" for state, n in queue.items()) or "empty"),
            file=out,
        )
        print(f"  libraries:  {len(report['libraries'])}", file=out)
        for lib in report["libraries"]:
            paused = " [paused]" if lib["paused"] else ""
            if lib["scan_state"] is None:
                scan = "never scanned"
            else:
                scan = (
                    f"last scan {lib['scan_state']} ({lib['scan_trigger']}), started "
                    f"{_when(lib['scan_started_at'])}, finished "
                    f"{_when(lib['scan_finished_at'])}, {lib['scan_files']} files, "
                    f"{lib['scan_errors']} errors"
                )
            print(
                f"    {lib['name']} ({lib['kind']}, {lib['items']} items){paused}: {scan}", file=out
            )


def healthy(report: dict[str, Any]) -> bool:
    return (
        report["running"]
        and report.get("postgres") == "ok"
        and report.get("redis") in ("ok", "external (not checked)")
        and not str(report.get("http", "")).startswith(("unreachable", "HTTP"))
    )


def command(
    config: Config, location: Location, *, as_json: bool = False, out: TextIO = sys.stdout
) -> int:
    report = collect(config, location)
    if as_json:
        print(json.dumps(report, default=str, indent=2), file=out)
    else:
        render(report, out)
    if not report["running"]:
        return NOT_RUNNING
    return 0 if healthy(report) else 1
