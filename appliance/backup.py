"""``ferrex-appliance backup DEST`` and ``restore SRC``.

A backup is a directory (written as ``DEST.partial`` and renamed when complete)::

    manifest.json    format, Ferrex version, schema version, server id, sha256 of each file
    database.dump    pg_dump -Fc of the appliance's database (libraries, index, users, devices,
                     watch state, metadata and the image-cache index: one consistent snapshot)
    ferrex.toml      the config file in use, if there is one
    server.key       the auth HMAC key (mode 0600): sessions and tokens stay valid

Image files (originals and resized variants under ``<data>/images``) are not in it: originals are
read again from the media folders or fetched again, variants are rendered on demand.

``backup`` dumps from the running appliance's socket, or starts the embedded cluster briefly
under the data dir's lock when it is stopped. ``restore`` needs the appliance stopped; it creates
the data dir and cluster if there are none, replaces the database (refusing one that holds users
or libraries unless ``--force``), and refuses a backup whose schema is newer than this Ferrex.
The next start applies any newer migrations (see ``store.migrate``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from appliance import __version__, opsdb
from appliance.auth.keys import KEY_FILE
from appliance.config import Config, ConfigError, Location
from store import operations, server_state
from store.db import Database
from store.migrate import discover

FORMAT = 1
MANIFEST = "manifest.json"
DUMP = "database.dump"
CONFIG = "ferrex.toml"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _run_tool(argv: list[str], what: str) -> None:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ConfigError(
            f"{what}: {argv[0]} not found (apt-get install postgresql-client)"
        ) from None
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-3:])
        raise ConfigError(f"{what} failed ({result.returncode}): {tail}")


async def _facts(dsn: str) -> tuple[int, str | None]:
    async with opsdb.connect(dsn) as db:
        return await operations.schema_version(db), await server_state.get(db, "server_id")


def backup(config: Config, location: Location, dest: Path) -> dict[str, Any]:
    dest = dest.absolute()
    if dest.exists() or dest.is_symlink():
        raise ConfigError(f"backup: {dest} exists; name a new directory")
    partial = dest.with_name(dest.name + ".partial")
    if partial.exists():
        raise ConfigError(f"backup: {partial} exists (an interrupted backup?); remove it first")
    partial.mkdir(mode=0o700, parents=True)
    try:
        with opsdb.database(config, location) as access:
            schema, server_id = trio.run(_facts, access.dsn)
            _run_tool(
                [
                    access.tool("pg_dump"),
                    "-Fc",
                    "--no-owner",
                    "-d",
                    access.dsn,
                    "-f",
                    str(partial / DUMP),
                ],
                "pg_dump",
            )
            running = access.running
        if location.config_file.is_file():
            shutil.copy2(location.config_file, partial / CONFIG)
        key = location.data_dir / KEY_FILE
        if key.is_file():
            shutil.copy2(key, partial / KEY_FILE)
            (partial / KEY_FILE).chmod(0o600)
        files = {p.name: _sha256(p) for p in sorted(partial.iterdir())}
        manifest = {
            "format": FORMAT,
            "ferrex_version": __version__,
            "schema_version": schema,
            "server_id": server_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "taken_from": "running appliance" if running else "stopped appliance",
            "config_file": str(location.config_file) if (partial / CONFIG).exists() else None,
            "files": files,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        partial.rename(dest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def read_manifest(src: Path) -> dict[str, Any]:
    path = src / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"restore: {src} is not a Ferrex backup (no {MANIFEST})") from None
    except ValueError as exc:
        raise ConfigError(f"restore: {path} is not valid JSON ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise ConfigError(f"restore: backup format {manifest.get('format')!r} is not {FORMAT}")
    for name, digest in manifest.get("files", {}).items():
        if not (src / name).is_file() or _sha256(src / name) != digest:
            raise ConfigError(f"restore: {src / name} is missing or damaged (checksum)")
    if DUMP not in manifest.get("files", {}):
        raise ConfigError(f"restore: {src} holds no {DUMP}")
    known = max((m.version for m in discover()), default=0)
    if int(manifest.get("schema_version", 0)) > known:
        raise ConfigError(
            f"restore: the backup's database schema is at version {manifest['schema_version']}, "
            f"newer than this Ferrex {__version__} (knows up to {known}); upgrade Ferrex first"
        )
    return manifest


async def refuse_if_in_use(db: Database) -> None:
    """ConfigError unless the database holds no users and no libraries. A database the
    migrations never reached counts as empty (see ``operations.in_use``); one that cannot be
    counted (damaged, unreadable) is not known to be empty, so replacing it needs --force too."""
    try:
        users, libraries = await operations.in_use(db)
    except Exception as exc:
        raise ConfigError(
            "restore: cannot tell whether the database in this data dir holds users or "
            f"libraries ({type(exc).__name__}: {exc}); pass --force to replace it with the "
            "backup"
        ) from exc
    if users or libraries:
        raise ConfigError(
            f"restore: the database in this data dir holds {users} user(s) and "
            f"{libraries} librar{'y' if libraries == 1 else 'ies'}; "
            "pass --force to replace them with the backup"
        )


async def _check_target(dsn: str, maintenance_dsn: str, force: bool) -> None:
    """Refuse to replace a database that is in use, unless forced; then empty it."""
    from appliance.asyncio_bridge import asyncio_loop
    from store.cluster import ensure_database

    async with asyncio_loop():
        created = await ensure_database(maintenance_dsn)
    if not created and not force:
        async with opsdb.connect(dsn) as db:
            await refuse_if_in_use(db)
    async with asyncio_loop():
        await operations.recreate_database(maintenance_dsn)


def restore(
    config: Config, location: Location, src: Path, *, force: bool = False
) -> dict[str, Any]:
    src = src.absolute()
    if not src.is_dir():
        raise ConfigError(f"restore: {src} is not a directory")
    manifest = read_manifest(src)
    with opsdb.database(config, location, want_stopped=True, create=True) as access:
        trio.run(_check_target, access.dsn, access.maintenance_dsn, force)
        _run_tool(
            [
                access.tool("pg_restore"),
                "--no-owner",
                "--no-acl",
                "--exit-on-error",
                "-d",
                access.dsn,
                str(src / DUMP),
            ],
            "pg_restore",
        )
        data_dir = location.data_dir
        if (src / KEY_FILE).is_file():
            target = data_dir / KEY_FILE
            tmp = target.with_name(KEY_FILE + ".restore")
            shutil.copyfile(src / KEY_FILE, tmp)
            tmp.chmod(0o600)
            opsdb.give_to_owner(tmp, data_dir)
            os.replace(tmp, target)
        manifest["config_restored"] = False
        if (src / CONFIG).is_file():
            if location.config_exists:
                print(
                    f"kept the config in use ({location.config_file}); the backup's is "
                    f"{src / CONFIG}",
                    file=sys.stderr,
                )
            else:
                shutil.copyfile(src / CONFIG, location.config_file)
                location.config_file.chmod(0o640)
                if location.config_file.parent == data_dir:
                    opsdb.give_to_owner(location.config_file, data_dir)
                manifest["config_restored"] = True
    return manifest
