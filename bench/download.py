"""``download``: the player's verified, resumable download against a raw HTTP GET of the same
file from the same appliance, in the same run (issue 22).

Setup: a ``--mb`` MB file in a movie library of a real ``ferrex-appliance serve`` on loopback
(throwaway data dir, claimed, scanned). Each round, alternating:

* **raw GET (baseline)**: httpx streaming ``/api/v1/stream/{file}`` and dropping the bytes,
  the cheapest a client can fetch the file.
* **download**: ``DownloadManager.download`` as ``ferrex-player download`` runs it: the item's
  details, the space check, the checksum request, the transfer into ``.part`` (received while
  the chunks before are written and hashed, fsynced), the SHA-256 check, the rename and the
  manifest. The download is removed between rounds.

Figures: MB/s (median over ``--rounds``), download / raw, and CPU seconds per GB on each side:
the client (this process) and the appliance (its process tree without Postgres and Redis). The
first download, which makes the server hash the file, is reported apart. Run:
``.venv/bin/python -m bench.download --mb 512``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import trio

from bench.common import BenchError, Figure, Result, make_temp_dir


@dataclass(frozen=True)
class Params:
    mb: int = 256
    rounds: int = 5


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its descendants, less Postgres and Redis."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    stats: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        stats[int(entry)] = (comm, (int(fields[11]) + int(fields[12])) / tick)
    total = 0.0
    for p, (comm, cpu) in stats.items():
        q = p
        while q and q != pid:
            q = parents.get(q, 0)
        if q == pid and not comm.startswith(("postgres", "redis")):
            total += cpu
    return total


def run(params: Params) -> Result:
    import httpx

    from sync.connection import ServerConnection
    from sync.download_manager import DownloadManager
    from sync.download_policy import DownloadPolicy
    from tests.helpers import RunningAppliance, admin_token, http_json, wait_for

    tmp = make_temp_dir()
    app = None
    try:
        film = tmp / "films" / "Bench (2024)" / "Bench (2024).mkv"
        film.parent.mkdir(parents=True)
        with open(film, "wb") as f:
            for _ in range(params.mb):
                f.write(os.urandom(1 << 20))
        app = RunningAppliance(tmp / "var", env={"FERREX_MEDIA_PEAK_HOURS": ""})
        base = app.wait_ready()
        token = admin_token(base)
        status, body = http_json(
            "POST",
            base + "/api/v1/libraries",
            {"name": "Films", "kind": "movies", "roots": [str(tmp / "films")]},
            token=token,
        )
        if status != 201:
            raise BenchError(f"library: {status} {body}")
        found: list[tuple[uuid.UUID, uuid.UUID]] = []

        def indexed() -> bool:
            status, page = http_json(
                "POST", base + "/api/v1/media/query", {"kinds": ["movie"]}, token=token
            )
            if status != 200 or not page["items"]:
                return False
            item = page["items"][0]["id"]
            _, details = http_json("GET", f"{base}/api/v1/media/items/{item}", token=token)
            if details.get("files"):
                found.append((uuid.UUID(item), uuid.UUID(details["files"][0]["id"])))
                return True
            return False

        if not wait_for(indexed, 120, interval=0.3):
            raise BenchError("the file was not indexed in 120 s")
        item_id, file_id = found[0]
        player = tmp / "player"
        server_pid = app.proc.pid

        async def raw() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                async with client.stream(
                    "GET", f"/api/v1/stream/{file_id}", headers={"Authorization": f"Bearer {token}"}
                ) as r:
                    async for _ in r.aiter_bytes(1 << 20):
                        pass

        async def download() -> None:
            async with ServerConnection(base, access_token=token, timeout_s=60) as conn:
                downloads = DownloadManager(player, conn, DownloadPolicy())
                await downloads.download(item_id)
                await downloads.remove(item_id)

        def measure(fn: object) -> tuple[float, float, float]:
            cpu0, srv0, t0 = _cpu_self(), _tree_cpu(server_pid), time.monotonic()
            trio.run(fn)  # type: ignore[arg-type]
            return (time.monotonic() - t0, _cpu_self() - cpu0, _tree_cpu(server_pid) - srv0)

        first = measure(download)  # the server hashes the file now
        trio.run(raw)  # warm the page cache for both
        samples: dict[str, list[float]] = {
            k: [] for k in ("raw_s", "raw_cpu", "raw_srv", "dl_s", "dl_cpu", "dl_srv")
        }
        for _ in range(params.rounds):
            for name, fn in (("raw", raw), ("dl", download)):
                wall, cpu, srv = measure(fn)
                samples[f"{name}_s"].append(wall)
                samples[f"{name}_cpu"].append(cpu)
                samples[f"{name}_srv"].append(srv)
    finally:
        if app is not None:
            app.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    med = statistics.median
    gb = params.mb / 1024
    mbs = params.mb * 1.048576
    return Result(
        benchmark="download",
        summary=f"{params.mb} MiB file from a real appliance on loopback, {params.rounds} "
        "rounds each, page cache warm",
        figures=[
            Figure("raw GET (baseline)", mbs / med(samples["raw_s"]), "MB/s"),
            Figure("download (verified)", mbs / med(samples["dl_s"]), "MB/s"),
            Figure("  download / raw (time)", med(samples["dl_s"]) / med(samples["raw_s"]), "x"),
            Figure("first download (server hashes)", mbs / first[0], "MB/s"),
            Figure("client CPU, raw GET", med(samples["raw_cpu"]) / gb, "s/GB"),
            Figure("client CPU, download", med(samples["dl_cpu"]) / gb, "s/GB"),
            Figure("appliance CPU, raw GET", med(samples["raw_srv"]) / gb, "s/GB"),
            Figure("appliance CPU, download", med(samples["dl_srv"]) / gb, "s/GB"),
            Figure("appliance CPU, first download", first[2] / gb, "s/GB"),
        ],
        params={"mb": params.mb, "rounds": params.rounds},
        samples={**samples, "first": list(first)},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.download", description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=256, help="file size in MiB (default 256)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    from bench.run import report

    return report("download", lambda: run(Params(args.mb, args.rounds)))


if __name__ == "__main__":
    sys.exit(main())
