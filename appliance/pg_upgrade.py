"""The embedded cluster across a PostgreSQL major upgrade (Debian 12 → 13: PostgreSQL 15 → 17).

``apt full-upgrade`` to trixie installs ``postgresql-17`` and leaves ``postgresql-15`` installed
until the admin removes it; :func:`appliance.embedded_postgres.find_bin_dir` then picks 17 while
the data dir says 15 (``PG_VERSION``). A server never starts on a data dir of another major (17
would refuse; an older server must never see newer files), so at start the appliance:

* data major == server major: nothing to do;
* data older, its binaries still installed: ``pg_upgrade`` into a fresh cluster next to it
  (copy mode unless the admin asks for ``ferrex-appliance upgrade-db --link``), then the fresh
  one takes the place of ``postgres/`` and the old one is kept as ``postgres.pg<old>-old/`` until
  the new server has started and the schema is migrated (:func:`finish`);
* data older, its binaries gone: refuse with one line naming the package to install and the
  command to run; the data dir is not touched;
* data newer than every installed server: refuse (a downgrade is not something pg_upgrade does).

Not Debian's ``pg_upgradecluster``: the embedded cluster is none of Debian's clusters (no
/etc/postgresql/<major>/<name>), and it runs as the service account without a TCP port.
"""

from __future__ import annotations

import copy
import logging
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from appliance import sdnotify
from appliance.children import run_blocking
from appliance.config import ConfigError
from appliance.embedded_postgres import PORT, SUPERUSER, EmbeddedPostgres
from appliance.supervisor import StartError

log = logging.getLogger(__name__)

DEBIAN_BIN = "/usr/lib/postgresql/{major}/bin"
NEW_NAME = "postgres.upgrade-new"
OLD_NAME = "postgres.pg{major}-old"
UPGRADE_PORT = 50432  # pg_upgrade's own default: names the sockets of its temporary servers


def data_major(pgdata: Path) -> int | None:
    """The major version that made ``pgdata`` (its PG_VERSION file), None without one."""
    try:
        text = (pgdata / "PG_VERSION").read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def server_major(bin_dir: Path) -> int | None:
    """The major version of the server in ``bin_dir``: ``postgres --version``."""
    try:
        out = subprocess.run(
            [str(bin_dir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except OSError:
        return None
    found = re.search(r"\(PostgreSQL\) (\d+)", out)
    return int(found.group(1)) if found else None


def old_bin_dir(major: int) -> Path | None:
    """Debian's binaries of ``major`` (package postgresql-<major>), if still installed."""
    path = Path(DEBIAN_BIN.format(major=major))
    wanted = ("postgres", "pg_ctl")
    return path if all((path / name).is_file() for name in wanted) else None


def needed(postgres: EmbeddedPostgres) -> tuple[int, int] | None:
    """(old, new) majors if the data dir must be upgraded first; None if it can start as is.

    Raises ConfigError (one line, what to do) when it can neither start nor be upgraded.
    """
    recover_interrupted(postgres)
    old, new = data_major(postgres.pgdata), server_major(postgres.bin_dir)
    if old is None or new is None or old == new:
        return None
    if old > new:
        raise ConfigError(
            f"database.postgres_bin_dir: the database in {postgres.pgdata} was made by "
            f"PostgreSQL {old} but the newest installed is {new}; apt-get install "
            f"postgresql-{old} (PostgreSQL {new} must not open it)"
        )
    if old_bin_dir(old) is None:
        raise ConfigError(
            f"the database in {postgres.pgdata} was made by PostgreSQL {old} and its server is "
            f"gone (only {new} is installed): apt-get install postgresql-{old}, then run "
            "ferrex-appliance upgrade-db (the data is untouched)"
        )
    return old, new


def recover_interrupted(postgres: EmbeddedPostgres) -> None:
    """A crash between the two renames of :func:`upgrade`: finish the swap."""
    data_dir = postgres.pgdata.parent
    fresh = data_dir / NEW_NAME
    if not postgres.pgdata.exists() and fresh.is_dir() and list(data_dir.glob("postgres.pg*-old")):
        log.warning("completing an interrupted postgres upgrade", extra={"pgdata": str(fresh)})
        fresh.rename(postgres.pgdata)


def upgrade(postgres: EmbeddedPostgres, *, link: bool = False) -> bool:
    """Upgrade the data dir to the installed server if it is older; True if it did."""
    majors = needed(postgres)
    if majors is None:
        return False
    old_bin = old_bin_dir(majors[0])
    assert old_bin is not None  # needed() refused otherwise
    run_upgrade(postgres, *majors, old_bin, link=link)
    return True


def run_upgrade(
    postgres: EmbeddedPostgres, old: int, new: int, old_bin: Path, *, link: bool = False
) -> None:
    """``pg_upgrade`` from ``old_bin``'s cluster in ``postgres.pgdata`` to ``postgres.bin_dir``,
    then the swap; systemd is told the start goes on meanwhile (a big cluster takes minutes)."""
    data_dir = postgres.pgdata.parent
    fresh_dir = data_dir / NEW_NAME
    kept = data_dir / OLD_NAME.format(major=old)
    mode = "link" if link else "copy"
    log.warning(
        "upgrading the embedded postgres cluster",
        extra={
            "from": old,
            "to": new,
            "mode": mode,
            "pgdata": str(postgres.pgdata),
            "old_bin_dir": str(old_bin),
            "new_bin_dir": str(postgres.bin_dir),
        },
    )
    shutil.rmtree(fresh_dir, ignore_errors=True)  # a failed attempt's leftovers
    postgres.prepare_socket_dir()
    postgres.clear_stale_pid()
    fresh = copy.copy(postgres)
    fresh.pgdata = fresh_dir
    # pg_upgrade writes delete_old_cluster.sh into its working directory, which must be writable
    argv = [
        str(postgres.bin_dir / "pg_upgrade"),
        "-b",
        str(old_bin),
        "-B",
        str(postgres.bin_dir),
        "-d",
        str(postgres.pgdata),
        "-D",
        str(fresh_dir),
        "-U",
        SUPERUSER,
        "-s",
        str(postgres.socket_dir),
        "-p",
        str(UPGRADE_PORT),
        "-P",
        str(UPGRADE_PORT),
    ]
    if link:  # copy is the default (the --copy option exists from PostgreSQL 16 on only)
        argv.append("--link")
    script = f"cd {shlex.quote(str(postgres.socket_dir))} && exec {shlex.join(argv)}"
    with sdnotify.start_timeout_extended():
        fresh.initdb()  # same options as the first cluster: pg_upgrade needs matching locale
        result = run_blocking(["sh", "-c", script], account=postgres.account, timeout=3600)
    (postgres.socket_dir / "delete_old_cluster.sh").unlink(missing_ok=True)
    if result.returncode != 0:
        _undo_link(postgres.pgdata)
        shutil.rmtree(fresh_dir, ignore_errors=True)
        lines = [line for line in result.stdout.splitlines() if line.strip()][-4:]
        raise StartError(
            f"pg_upgrade {old} -> {new} failed ({result.returncode}); the old "
            f"cluster is untouched: {' | '.join(lines)}"
        )
    postgres.pgdata.rename(kept)
    fresh_dir.rename(postgres.pgdata)
    log.warning(
        "upgraded the embedded postgres cluster; the old one is kept until the new one "
        "has started and migrated",
        extra={"from": old, "to": new, "mode": mode, "old_cluster": str(kept)},
    )


def _undo_link(pgdata: Path) -> None:
    """--link renames global/pg_control once it starts linking; the old cluster works again
    with the name back as long as the new one never started (pg_upgrade's documentation)."""
    control = pgdata / "global" / "pg_control"
    if not control.exists() and control.with_name("pg_control.old").exists():
        control.with_name("pg_control.old").rename(control)


def finish(postgres: EmbeddedPostgres) -> None:
    """The new server runs and the schema is migrated: gather the planner's statistics (pg_upgrade
    does not carry them over) and remove the kept old cluster."""
    kept = sorted(postgres.pgdata.parent.glob("postgres.pg*-old"))
    if not kept:
        return
    with sdnotify.start_timeout_extended():  # minutes on a big cluster, before READY=1
        result = run_blocking(
            [
                str(postgres.bin_dir / "vacuumdb"),
                "--all",
                "--analyze-only",
                "-h",
                str(postgres.socket_dir),
                "-p",
                str(PORT),
                "-U",
                SUPERUSER,
            ],
            account=postgres.account,
            timeout=3600,
        )
    if result.returncode != 0:
        log.warning(
            "vacuumdb --analyze-only after the upgrade failed",
            extra={"stderr": result.stderr.strip()[-500:]},
        )
    for path in kept:
        shutil.rmtree(path)
        log.warning(
            "removed the old postgres cluster after the upgrade", extra={"old_cluster": str(path)}
        )
