"""How big the embedded Postgres may be: its memory settings, chosen by the machine's RAM.

Postgres's own defaults (128 MB of shared buffers, JIT, parallel query workers, three autovacuum
workers) are made for a database server, not for a 1-2 GB board that also runs the appliance,
Redis and the walks: there they cost more than the appliance itself. The ``small`` profile keeps
the whole process tree within 200 MB idle; ``large`` gives a NAS's RAM to the page cache that
Postgres reads through. The settings are passed as ``-c`` options at every start, so a move to
another machine (or more RAM) is followed without editing ``postgresql.conf``.
"""

from __future__ import annotations

import os

MIB = 1024 * 1024
SMALL_BELOW = 3 * 1024 * MIB
"""Under ``auto``, less RAM than this gets the small profile (a Pi with 1 or 2 GB)."""
STOCK_CONNECTIONS = 50
"""What the appliance always passed before profiles existed."""
SPARE_CONNECTIONS = 10
"""Beyond the pool: the maintenance pool (2), admin commands, a backup's pg_dump, psql."""
MMAP_THRESHOLD = 128 * 1024
"""glibc's initial mmap threshold, fixed (see :func:`malloc_tunables`)."""


def total_ram_bytes() -> int:
    """Physical RAM of this machine (not a container's limit: Postgres sizes for the host)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def resolve_profile(profile: str, ram_bytes: int) -> str:
    if profile == "auto":
        return "small" if ram_bytes < SMALL_BELOW else "large"
    return profile


def _mb(value: int) -> str:
    return f"{max(1, value // MIB)}MB"


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def postgres_settings(profile: str, ram_bytes: int, pool_max: int) -> dict[str, str]:
    """The ``-c`` settings for ``profile`` (``memory.profile``) on a machine with ``ram_bytes``.

    ``pool_max`` (``database.pool_max``) bounds what the appliance opens; max_connections
    leaves room beside it. ``stock`` is exactly what was passed before (Postgres's defaults).
    """
    connections = max(20, pool_max + SPARE_CONNECTIONS)
    chosen = resolve_profile(profile, ram_bytes)
    if chosen == "stock":
        return {"max_connections": str(max(STOCK_CONNECTIONS, connections))}
    common = {
        "max_connections": str(connections),
        "jit": "off",  # llvmjit costs a backend ~20 MB when loaded; the queries are OLTP
        "max_parallel_workers_per_gather": "0",  # no extra worker processes per query
        "max_parallel_maintenance_workers": "0",
    }
    if chosen == "small":
        return common | {
            "shared_buffers": "32MB",
            "huge_pages": "off",  # no reservation a 1 GB board cannot spare
            "wal_buffers": "1MB",
            "work_mem": "2MB",
            "maintenance_work_mem": "16MB",
            "temp_buffers": "2MB",
            "autovacuum_max_workers": "1",
            "effective_cache_size": _mb(ram_bytes // 4),
        }
    if chosen == "large":
        return common | {
            "shared_buffers": _mb(_clamp(ram_bytes // 16, 128 * MIB, 1024 * MIB)),
            "work_mem": "4MB",
            "maintenance_work_mem": _mb(_clamp(ram_bytes // 32, 64 * MIB, 512 * MIB)),
            "effective_cache_size": _mb(ram_bytes // 2),
        }
    raise ValueError(f"unknown memory profile {profile!r}")


def malloc_tunables(profile: str, ram_bytes: int) -> str | None:
    """``GLIBC_TUNABLES`` for the Postgres server and its backends; None for ``stock``.

    A scan's backend binds thousands of rows per statement: Postgres's memory contexts grow to
    tens of MB and are freed after it, but glibc raises its mmap threshold after the first large
    free (up to 32 MB), so the next large blocks come from the heap and stay in the process:
    an idle backend kept 20-35 MB that no statement used any more, and the scan's six to eight
    backends were most of the tree's peak. A fixed threshold (setting it turns the dynamic one
    off) maps every block over 128 KiB on its own and unmaps it when freed. Measured (``bench
    memory``, 30k files, small profile): backends at the scan's peak about 155-185 → 105 MiB.
    """
    if resolve_profile(profile, ram_bytes) == "stock":
        return None
    return f"glibc.malloc.mmap_threshold={MMAP_THRESHOLD}"


def command_options(settings: dict[str, str]) -> list[str]:
    """``-c name=value`` for each setting, in a stable order."""
    out: list[str] = []
    for name in sorted(settings):
        out += ["-c", f"{name}={settings[name]}"]
    return out
