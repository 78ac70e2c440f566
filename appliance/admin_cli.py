"""Admin commands that talk to the appliance's database directly: ``library``, ``scan``.

They run on the appliance host with access to its data directory (the same trust as editing
its config), so they need no API token. The running appliance's dispatcher picks up the queued
work within a second; these commands only queue it and watch the ``scans`` table.
"""

from __future__ import annotations

import shutil
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

import trio

from appliance import opsdb
from appliance.config import Config, ConfigError, Location
from appliance.embedded_postgres import DATABASE, PORT, SUPERUSER
from appliance.events import InProcEventBus
from appliance.scan.library_names import LibraryNameError, clean_name
from appliance.scan.roots import RootError, validate_roots
from appliance.scan.service import ScanService, progress_data
from store import libraries, scans
from store.db import Database
from store.gate import Unavailable
from store.libraries import Library, NameTaken


def dsn_for(config: Config, location: Location) -> str:
    if config.database.dsn:
        return config.database.dsn
    socket_dir = location.data_dir / "run"
    pidfile = location.data_dir / "postgres" / "postmaster.pid"
    if not pidfile.exists():
        raise ConfigError(
            f"data_dir: the appliance is not running on {location.data_dir} "
            "(start it with `ferrex-appliance serve`)"
        )
    return f"postgresql://{SUPERUSER}@/{DATABASE}?host={socket_dir}&port={PORT}"


@asynccontextmanager
async def connect(config: Config, location: Location) -> AsyncIterator[Database]:
    async with opsdb.connect(dsn_for(config, location)) as db:
        yield db


async def find_library(db: Database, name_or_id: str) -> Library:
    all_libraries = await libraries.list_all(db)
    try:
        wanted = uuid.UUID(name_or_id)
        matches = [lib for lib in all_libraries if lib.id == wanted]
    except ValueError:
        matches = [lib for lib in all_libraries if lib.name.casefold() == name_or_id.casefold()]
    if len(matches) != 1:
        names = ", ".join(lib.name for lib in all_libraries) or "none yet"
        raise ConfigError(f"library {name_or_id!r}: not found (libraries: {names})")
    return matches[0]


def render_bar(data: dict[str, object], width: int) -> str:
    done = int(data["jobs_done"]) + int(data["jobs_failed"])  # type: ignore[call-overload]
    total = done + int(data["jobs_queued"])  # type: ignore[call-overload]
    fraction = done / total if total else 0.0
    bar_width = max(10, min(40, width - 60))
    filled = int(bar_width * fraction)
    eta = data.get("eta_s")
    eta_text = f" ETA {int(eta) // 60}:{int(eta) % 60:02d}" if isinstance(eta, float) else ""
    rate = data.get("rate_jobs_per_s")
    rate_text = f" {rate} jobs/s" if rate is not None else ""
    return (
        f"[{'#' * filled}{'.' * (bar_width - filled)}] {fraction:4.0%} "
        f"{done}/{total} jobs, {data['folders_walked']} folders, "
        f"{data['files_found']} files, {data['errors']} errors{rate_text}{eta_text}"
    )


async def scan_command(
    config: Config,
    location: Location,
    library_name: str,
    *,
    force: bool,
    wait: bool,
    out: TextIO = sys.stderr,
) -> int:
    async with connect(config, location) as db:
        library = await find_library(db, library_name)
        service = ScanService(db, InProcEventBus())
        scan, created = await service.start_or_join(library.id, trigger="cli", force=force)
        print(
            f"scan {scan.id} of {library.name} "
            f"{'started' if created else 'already running: following it'}",
            file=out,
        )
        if not wait:
            return 0
        try:
            return await _watch(db, scan.id, out)
        except Unavailable as exc:
            # the appliance (and its embedded Postgres) stopped under us: the scan is durable
            print(
                f"\nstopped watching: the appliance's database went away ({exc.reason}). "
                "The scan is kept and goes on when the appliance "
                f"runs again (`ferrex-appliance scan {library.name} --wait` to watch it).",
                file=out,
            )
            return 1


async def _watch(db: Database, scan_id: uuid.UUID, out: TextIO) -> int:
    """The live progress bar until the scan ends; its exit status."""
    interactive = out.isatty()
    last_line = ""
    previous: tuple[float, int] | None = None
    while True:
        current = await scans.get(db, scan_id)
        if current is None:
            print("scan disappeared (library deleted?)", file=out)
            return 1
        counts = await scans.job_counts(db, scan_id)
        done = counts.get("completed", 0) + counts.get("failed", 0)
        now = time.monotonic()
        rate = None
        if previous is not None and now > previous[0]:
            rate = (done - previous[1]) / (now - previous[0])
        previous = (now, done)
        line = render_bar(progress_data(current, counts, rate), shutil.get_terminal_size().columns)
        if interactive:
            print("\r" + line.ljust(len(last_line)), end="", file=out, flush=True)
        elif line.split("]")[1] != last_line.split("]")[-1]:
            print(line, file=out, flush=True)
        last_line = line
        if current.state in ("completed", "cancelled", "failed"):
            if interactive:
                print(file=out)
            print(
                f"scan {current.state}: {current.files_found} files in "
                f"{current.folders_walked} folders, {current.errors} errors",
                file=out,
            )
            return 0 if current.state == "completed" else 1
        await trio.sleep(0.5)


async def library_add(
    config: Config, location: Location, name: str, kind: str, roots: list[str]
) -> int:
    """The API's rules (name, roots, the data dir and system folders refused), checked here
    too since this path writes to the database directly."""
    try:
        clean_name_ = clean_name(name)
    except LibraryNameError as exc:
        raise ConfigError(str(exc)) from None
    async with connect(config, location) as db:
        others = [(lib.name, root) for lib in await libraries.list_all(db) for root in lib.roots]
        try:
            clean = await trio.to_thread.run_sync(validate_roots, roots, others, location.data_dir)
        except RootError as exc:
            raise ConfigError(str(exc)) from None
        try:
            library = await libraries.create(db, clean_name_, kind, clean)
        except NameTaken:
            raise ConfigError(
                f"name: another library is already called {clean_name_!r} (names ignore case)"
            ) from None
        await ScanService(db, InProcEventBus()).start(library.id, trigger="initial")
        print(f"library {library.name} ({library.id}) added; first scan queued")
    return 0


async def library_list(config: Config, location: Location) -> int:
    async with connect(config, location) as db:
        for lib in await libraries.list_all(db):
            state = "paused" if lib.paused else "active"
            print(f"{lib.id}  {lib.kind:7} {lib.name}  [{state}]  {', '.join(lib.roots)}")
    return 0
