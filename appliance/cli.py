"""``ferrex-appliance``: serve, migrate, check-config, version.

Errors a user can fix (a setting, a missing package, a busy port) print one line on stderr and
exit with status 2; anything else is a bug and exits 1 with a traceback in the log.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import trio

from appliance import __version__, logs
from appliance import config as config_mod
from appliance.config import Config, ConfigError, Location
from appliance.supervisor import StartError

EXIT_CONFIG = 2
INTERACTIVE_COMMANDS = frozenset({"scan", "library"})
"""Commands a person runs and reads: at the default level their logs are warnings and errors
only (``log.level = "debug"`` still shows everything)."""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="data directory (env FERREX_DATA_DIR; default ./var, or "
        "$STATE_DIRECTORY under systemd)",
    )
    parser.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="config file (env FERREX_CONFIG; default DATA_DIR/ferrex.toml)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ferrex-appliance", description=__doc__)
    _common(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the appliance (API, Postgres, Redis)")
    _common(serve)
    serve.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default=argparse.SUPPRESS,
        help="address of the HTTP API (config server.listen)",
    )
    for name, text in (
        ("migrate", "apply database migrations and exit"),
        ("check-config", "validate the configuration and print it"),
        (
            "setup-token",
            "print a one-time token to claim a fresh appliance from outside the local network",
        ),
        ("version", "print the version"),
    ):
        _common(commands.add_parser(name, help=text))
    parse_name = commands.add_parser(
        "parse-name", help="show how file names are understood (one JSON object per line and path)"
    )
    parse_name.add_argument(
        "--library-kind",
        choices=("movies", "series"),
        default=None,
        help="kind of library the paths are in (default: guessed per path)",
    )
    parse_name.add_argument("paths", nargs="+", metavar="PATH")
    scan = commands.add_parser("scan", help="scan a library (the appliance must be running)")
    _common(scan)
    scan.add_argument("library", metavar="LIBRARY", help="library name or id")
    scan.add_argument(
        "--force",
        action="store_true",
        help="re-read every folder, even those whose listing did not change",
    )
    scan.add_argument("--wait", action="store_true", help="show progress until the scan ends")
    library = commands.add_parser("library", help="list or add libraries")
    _common(library)
    library_commands = library.add_subparsers(dest="library_command", required=True)
    _common(library_commands.add_parser("list", help="list libraries"))
    add = library_commands.add_parser("add", help="add a library and queue its first scan")
    _common(add)
    add.add_argument("name")
    add.add_argument("--kind", choices=("movies", "series"), required=True)
    add.add_argument("roots", nargs="+", metavar="FOLDER")
    backup = commands.add_parser(
        "backup", help="back up database, config and server key into a new directory"
    )
    _common(backup)
    backup.add_argument("dest", type=Path, metavar="DEST")
    restore = commands.add_parser(
        "restore", help="restore a backup (the appliance must be stopped)"
    )
    _common(restore)
    restore.add_argument("src", type=Path, metavar="SRC")
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace a database that already holds users or libraries",
    )
    upgrade_db = commands.add_parser(
        "upgrade-db",
        help="upgrade the embedded database to the newest installed PostgreSQL "
        "(after an OS upgrade; the appliance must be stopped)",
    )
    _common(upgrade_db)
    upgrade_db.add_argument(
        "--link",
        action="store_true",
        help="pg_upgrade --link: hard links instead of a copy (fast, no "
        "second copy on disk, but the old cluster is unusable once the "
        "new one has started)",
    )
    status = commands.add_parser("status", help="running or not, health, libraries, job queue")
    _common(status)
    status.add_argument("--json", action="store_true", help="one JSON object")
    return parser


def resolve_location(args: argparse.Namespace) -> tuple[Location, dict[str, Any]]:
    """Config file and data dir from flags/env; an external file may name the data dir."""
    cli: dict[str, Any] = {}
    explicit_dir = getattr(args, "data_dir", None) or os.environ.get("FERREX_DATA_DIR")
    config_file = getattr(args, "config", None) or os.environ.get("FERREX_CONFIG")
    if config_file:
        file_path = Path(config_file).absolute()
        data_dir = Path(explicit_dir) if explicit_dir else None
        if data_dir is None and file_path.is_file():
            preliminary = config_mod.load(Location(Path("/"), file_path), environ={})
            data_dir = Path(preliminary.data_dir) if preliminary.data_dir else None
        data_dir = (data_dir or config_mod.default_data_dir()).absolute()
        return Location(data_dir, file_path), cli
    data_dir = (Path(explicit_dir) if explicit_dir else config_mod.default_data_dir()).absolute()
    return Location(data_dir, data_dir / "ferrex.toml"), cli


def load_config(args: argparse.Namespace) -> tuple[Config, Location]:
    location, cli = resolve_location(args)
    if getattr(args, "listen", None):
        cli.setdefault("server", {})["listen"] = args.listen
    return config_mod.load(location, cli=cli), location


def _user_error(exc: BaseException) -> BaseException | None:
    """Find the first ConfigError/StartError, looking inside trio's exception groups."""
    if isinstance(exc, ConfigError | StartError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _user_error(inner)
            if found is not None:
                return found
    cause = exc.__cause__ or exc.__context__
    return _user_error(cause) if isinstance(cause, ConfigError | StartError) else None


def _fail(message: str, code: int = EXIT_CONFIG) -> int:
    print(f"ferrex-appliance: error: {message}", file=sys.stderr)
    return code


def cmd_serve(config: Config, location: Location) -> int:
    from appliance import preflight, server

    plan = preflight.plan(config, location)
    trio.run(server.run, config, plan)
    return 0


def cmd_migrate(config: Config, location: Location) -> int:
    from appliance import preflight, server
    from appliance.asyncio_bridge import asyncio_loop

    plan = preflight.plan(config, location)

    async def run() -> None:
        await trio.to_thread.run_sync(server.prepare_disk, config, plan)
        async with asyncio_loop(), server.running_services(config, plan):
            pass  # running_services applies migrations; logs say which

    trio.run(run)
    print("migrations up to date")
    return 0


def cmd_upgrade_db(args: argparse.Namespace, config: Config, location: Location) -> int:
    """What a start does by itself (copy mode), but on demand and with ``--link``; then the
    migrations, after which the kept old cluster is removed (appliance.pg_upgrade.finish)."""
    from appliance import datadir_lock, pg_upgrade, preflight
    from appliance.opsdb import give_to_owner

    if config.database.dsn:
        return _fail("database.dsn is set: an external server is upgraded by its own admin")
    plan = preflight.plan(config, location)  # refuses (one line) if the old server is gone
    if plan.postgres is None or not plan.postgres.initialized:
        return _fail(f"data_dir: {location.data_dir} holds no database yet")
    lock_fd = datadir_lock.acquire(location.data_dir)  # refuses while the appliance runs
    try:
        give_to_owner(location.data_dir / datadir_lock.LOCK_NAME, location.data_dir)
        upgraded = pg_upgrade.upgrade(plan.postgres, link=args.link)
    finally:
        os.close(lock_fd)
    if not upgraded:
        print("the database already matches the installed PostgreSQL")
    return cmd_migrate(config, location)


def cmd_check_config(config: Config, location: Location) -> int:
    from appliance import preflight

    if location.data_dir.exists() or location.config_exists:
        preflight.check_data_dir(location.data_dir)
    print(
        f"# config file: {location.config_file}"
        f"{'' if location.config_exists else ' (not written yet: defaults)'}"
    )
    print(f"# data dir: {location.data_dir}")
    print(config_mod.render(config), end="")
    return 0


def cmd_parse_name(args: argparse.Namespace) -> int:
    """Needs no config, data dir or database: a user can check names before adding a library."""
    import json

    from appliance.scan.naming import parse_name

    sys.stdout.flush()
    for path in args.paths:
        line = json.dumps(parse_name(path, args.library_kind).to_dict(), ensure_ascii=False)
        sys.stdout.buffer.write(line.encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()
    return 0


def cmd_setup_token(config: Config, location: Location) -> int:
    """Works with the appliance running or not: the token's HMAC goes to a file in the data dir,
    which the server reads when a claim arrives."""
    from datetime import UTC, datetime, timedelta

    from appliance.auth import keys

    location.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # serve fixes group
    minutes = config.auth.setup_token_minutes
    token = keys.create_setup_token(
        location.data_dir, datetime.now(UTC) + timedelta(minutes=minutes)
    )
    print(token)
    print(
        f"valid for {minutes:g} minutes, until an admin exists; send it as setup_token to "
        "POST /api/v1/setup/claim",
        file=sys.stderr,
    )
    return 0


def cmd_scan(args: argparse.Namespace, config: Config, location: Location) -> int:
    from appliance import admin_cli

    return trio.run(
        partial(
            admin_cli.scan_command, config, location, args.library, force=args.force, wait=args.wait
        )
    )


def cmd_library(args: argparse.Namespace, config: Config, location: Location) -> int:
    from appliance import admin_cli

    if args.library_command == "add":
        roots = [os.path.abspath(root) for root in args.roots]
        return trio.run(admin_cli.library_add, config, location, args.name, args.kind, roots)
    return trio.run(admin_cli.library_list, config, location)


def cmd_backup(args: argparse.Namespace, config: Config, location: Location) -> int:
    from appliance import backup

    manifest = backup.backup(config, location, args.dest)
    print(
        f"backup of {manifest['server_id']} (schema {manifest['schema_version']}) "
        f"written to {args.dest}"
    )
    return 0


def cmd_restore(args: argparse.Namespace, config: Config, location: Location) -> int:
    from appliance import backup

    manifest = backup.restore(config, location, args.src, force=args.force)
    print(
        f"restored {manifest['server_id']} (schema {manifest['schema_version']}) "
        f"into {location.data_dir}; start the appliance to apply newer migrations"
    )
    return 0


def cmd_status(args: argparse.Namespace, config: Config, location: Location) -> int:
    from appliance import status

    return status.command(config, location, as_json=args.json)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "version":
        print(f"ferrex-appliance {__version__}")
        return 0
    if args.command == "parse-name":
        return cmd_parse_name(args)
    try:
        config, location = load_config(args)
    except ConfigError as exc:
        return _fail(str(exc))
    level = config.log.level
    if args.command in INTERACTIVE_COMMANDS and level.lower() == "info":
        level = "warning"  # their own lines say what happened; the service's info logs are noise
    logs.setup(level, config.log.format)
    commands: dict[str, Callable[[Config, Location], int]] = {
        "serve": cmd_serve,
        "migrate": cmd_migrate,
        "check-config": cmd_check_config,
        "setup-token": cmd_setup_token,
        "scan": partial(cmd_scan, args),
        "library": partial(cmd_library, args),
        "backup": partial(cmd_backup, args),
        "restore": partial(cmd_restore, args),
        "status": partial(cmd_status, args),
        "upgrade-db": partial(cmd_upgrade_db, args),
    }
    try:
        return commands[args.command](config, location)
    except KeyboardInterrupt:
        return 130
    except BaseException as exc:
        found = _user_error(exc)
        if isinstance(found, ConfigError):
            return _fail(str(found))
        if isinstance(found, StartError):
            return _fail(str(found), 1)
        logging.getLogger(__name__).critical("fatal error", exc_info=exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
