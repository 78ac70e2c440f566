"""Who may read the data dir and the config: the appliance's account only.

The data dir holds the server key, Postgres, Redis and the settings set through the API; the
config file may hold a TMDB key. So the data dir is 0700 and the files the appliance writes are
0600, and a start tightens what an older version (or a careless ``cp``) left wider, saying so in
the log. One exception: run by hand as root, the embedded Postgres and Redis run as the service
account, which must be able to *enter* the data dir (their own folders inside are theirs); then
the data dir is ``root:<account>`` 0710 (enter, not list; still nothing for others).

A config file outside the data dir (``/etc/ferrex/ferrex.toml``) is installed ``root:ferrex``
0640 by the package: the group is how the service reads it, so only the bits for others are
removed there.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from appliance.children import Account

log = logging.getLogger(__name__)
DATA_DIR_MODE = 0o700
SHARED_DATA_DIR_MODE = 0o710  # root-run appliance, children under a service account
PRIVATE_FILE_MODE = 0o600


def data_dir_mode(account: Account | None) -> int:
    return SHARED_DATA_DIR_MODE if account is not None else DATA_DIR_MODE


def _owned(info: os.stat_result) -> bool:
    return os.geteuid() in (0, info.st_uid)


def secure_data_dir(data_dir: Path, account: Account | None) -> None:
    """Create (if needed) and tighten the data dir; a wider one is narrowed with a log line."""
    data_dir.mkdir(mode=DATA_DIR_MODE, parents=True, exist_ok=True)
    info = data_dir.stat()
    if not _owned(info):
        return  # someone else's folder that we may write to: not ours to chmod
    want = data_dir_mode(account)
    if account is not None and account.gid >= 0 and info.st_gid != account.gid:
        os.chown(data_dir, -1, account.gid)
    mode = stat.S_IMODE(info.st_mode)
    if mode != want:
        data_dir.chmod(want)
        if mode & 0o077 & ~want:
            log.warning(
                "data dir was readable by others; tightened",
                extra={"path": str(data_dir), "mode": f"{mode:o}", "now": f"{want:o}"},
            )


def tighten_file(path: Path, *, keep_group: bool = False) -> None:
    """Remove read/write for others (and the group unless ``keep_group``) from an existing file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode) or not _owned(info):
        return
    mode = stat.S_IMODE(info.st_mode)
    want = mode & (0o750 if keep_group else 0o700)
    if want == mode:
        return
    try:
        path.chmod(want)
    except OSError as exc:  # e.g. /etc read-only under ProtectSystem=strict
        log.warning(
            "file is readable by others and cannot be tightened",
            extra={"path": str(path), "mode": f"{mode:o}", "error": exc.strerror},
        )
        return
    log.warning(
        "file was readable by others; tightened",
        extra={"path": str(path), "mode": f"{mode:o}", "now": f"{want:o}"},
    )


def secure_existing(data_dir: Path, config_file: Path, private_names: tuple[str, ...]) -> None:
    """At start-up: the config file and the named files in the data dir, narrowed if wider."""
    inside = config_file.parent.resolve() == data_dir.resolve()
    tighten_file(config_file, keep_group=not inside)
    for name in private_names:
        tighten_file(data_dir / name)


def write_private(path: Path, data: bytes) -> None:
    """Write ``path`` atomically (temp file, fsync, rename) with mode 0600 from the start."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fd, PRIVATE_FILE_MODE)  # an older .tmp may have had another mode
        fh.write(data)
        fh.flush()
        os.fsync(fd)
    os.replace(tmp, path)
