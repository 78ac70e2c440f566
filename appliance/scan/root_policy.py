"""Folders that must never be a library root, whatever the account running the appliance may read.

A library root is walked, indexed and streamed to every user who may see the library, so a root
on the operating system's own folders would publish configuration (``/etc``), kernel interfaces
(``/proc``, ``/sys``: reading some files there blocks or has side effects) or the appliance's
own state (its database, keys and tokens in the data dir). Refused, after resolving symlinks:

* ``/`` and any root that contains the data dir or a system folder (``/var`` holds ``/var/lib``);
* the data dir and anything under it;
* anything under a system folder (:data:`SYSTEM_FOLDERS`): the OS, its configuration, boot
  files, kernel interfaces, runtime state, other services' state and logs. ``/home``, ``/srv``,
  ``/mnt``, ``/media``, ``/opt``, ``/tmp`` and the like stay allowed: that is where media lives;
* anything on a pseudo or system filesystem (:data:`PSEUDO_FILESYSTEMS`), found from
  ``/proc/self/mountinfo`` (the last mount on the deepest mount point wins, as the kernel
  stacks them; an automount point counts as autofs until its disk is mounted on it).

Runtime tmpfs mounts (``/run``, ``/run/user/N``, ``/dev/shm``) lie under system folders and are
refused as such; a tmpfs elsewhere (``/tmp``, a RAM disk under ``/srv``) is the admin's choice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SYSTEM_FOLDERS = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/lost+found",
    "/proc",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
    "/var/backups",
    "/var/cache",
    "/var/lib",
    "/var/log",
    "/var/mail",
    "/var/run",
    "/var/spool",
)
PSEUDO_FILESYSTEMS = frozenset(
    {
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "debugfs",
        "devpts",
        "devtmpfs",
        "efivarfs",
        "fusectl",
        "hugetlbfs",
        "mqueue",
        "nsfs",
        "proc",
        "pstore",
        "rpc_pipefs",
        "securityfs",
        "selinuxfs",
        "sysfs",
        "tracefs",
    }
)
MOUNTINFO = Path("/proc/self/mountinfo")


@dataclass(frozen=True)
class Mount:
    mount_point: str
    fs_type: str


def _inside(a: str, b: str) -> bool:
    return a == b or a.startswith(b.rstrip("/") + "/")


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes."""
    for code in ("040", "011", "012", "134"):
        field = field.replace("\\" + code, chr(int(code, 8)))
    return field


def parse_mountinfo(text: str) -> list[Mount]:
    """(mount point, filesystem type) of each line, in the kernel's order."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields[6:]:
            continue
        dash = fields.index("-", 6)
        if len(fields) > dash + 1:
            mounts.append(Mount(_unescape(fields[4]), fields[dash + 1]))
    return mounts


def read_mounts() -> list[Mount]:
    try:
        return parse_mountinfo(MOUNTINFO.read_text(errors="replace"))
    except OSError:
        return []  # no /proc (a container without it): the folder rules still apply


def mount_of(path: str, mounts: list[Mount]) -> Mount | None:
    """The mount a (resolved) path lies on: the deepest mount point, the last one stacked."""
    best: Mount | None = None
    for mount in mounts:
        if _inside(path, mount.mount_point) and (
            best is None or len(mount.mount_point) >= len(best.mount_point)
        ):
            best = mount
    return best


def _variants(folder: str) -> set[str]:
    return {folder, os.path.realpath(folder)}


def refusal(path: str, data_dir: Path | None, mounts: list[Mount]) -> str | None:
    """Why a resolved root must not be a library root, or None when it may be."""
    if path == "/":
        return "is the whole filesystem"
    if data_dir is not None:
        for data in _variants(os.path.abspath(data_dir)):
            if _inside(path, data):
                return f"is inside the appliance's data directory {data}"
            if _inside(data, path):
                return f"contains the appliance's data directory {data}"
    for folder in SYSTEM_FOLDERS:
        for system in _variants(folder):
            if _inside(path, system):
                return f"is a system folder ({folder}); media cannot live there"
            if _inside(system, path):
                return f"contains the system folder {folder}"
    mount = mount_of(path, mounts)
    if mount is not None:
        if mount.fs_type in PSEUDO_FILESYSTEMS:
            return (
                f"is on a {mount.fs_type} filesystem ({mount.mount_point}), not a disk with media"
            )
    return None
