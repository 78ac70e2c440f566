"""``replica``: the player's LMDB replica on a synthetic library of ``--replica-items`` movies.

* **snapshot apply**: ``Replica.apply_snapshot`` of the whole library from frames in memory (one
  write transaction: items, cards, watch, images, the packed columns, sorted lists, children).
  Baseline: the same ItemRecords msgpack-encoded and put into a bare LMDB database in one
  transaction (no cards, no indexes).
* **delta**: ``apply_changes`` of a page of 100 random changes (upserts, deletions, watch
  states) on the full library.
* **cold open + first 150 cards**: in a fresh process (page cache warm): ``Replica.open`` then
  ``cards(limit=150)``, title order. Baseline, also in a fresh process: ``lmdb.open`` of the same
  environment and a raw cursor scan over the same 150 card keys (no decoding). The ratio is what
  the replica's checks, view and decoding add.
* **sort/filter**: ``Replica.query`` over all items (numpy over the packed facets), p50/p99.
* **reader RSS**: the fresh process after open, the first page and a 30k-row sort: resident
  memory, and how much of it is the shared, file-backed map (RssFile) versus private (RssAnon).
* **end to end** (``--replica-e2e``): the appliance app on a throwaway Postgres seeded with the
  same number of movies, served over HTTP by hypercorn; a separate client process times
  ``SyncClient.snapshot`` (download + apply) and, after 100 watch-state changes on the server,
  ``pull_changes``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lmdb
import msgspec

from bench.common import BenchError, Figure, Result
from sync.feed_types import ItemFrame
from sync.query import IN_PROGRESS, UNWATCHED, MediaQuery, MediaQueryBuilder, SortBy, SortOrder
from sync.replica import Replica
from tests.feedkit import World, batches, world

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Params:
    items: int = 30_000
    rounds: int = 3
    samples: int = 100
    e2e: bool = True


def _queries() -> dict[str, MediaQuery]:
    return {
        "all by title": MediaQueryBuilder().limit(150).build(),
        "movies by year desc": MediaQueryBuilder().movies_only()
        .sort_by(SortBy.YEAR, SortOrder.DESC).limit(150).build(),
        "genre+year by rating": MediaQueryBuilder().genres("Drama", "Crime")
        .year_range(1980, 2010).sort_by(SortBy.RATING, SortOrder.DESC).limit(150).build(),
        "unwatched, recently added": MediaQueryBuilder().watch_status(UNWATCHED)
        .sort_by(SortBy.DATE_ADDED, SortOrder.DESC).limit(150).build(),
        "in progress, last watched": MediaQueryBuilder().watch_status(IN_PROGRESS)
        .sort_by(SortBy.LAST_WATCHED, SortOrder.DESC).limit(150).build(),
        "4K HDR by rating": MediaQueryBuilder().min_height(2160).hdr()
        .sort_by(SortBy.RATING, SortOrder.DESC).limit(150).build(),
        "fuzzy search": MediaQueryBuilder().search("matrx").limit(150).build(),
    }


def _library(items: int) -> World:
    w = world(2024, movies=items, shows=0)
    films = next(iter(w.libraries))
    for n, item_id in enumerate(list(w.items)[: items // 10]):
        w.set_watch(item_id, 0.0 if n % 2 else 600.0, n % 3 == 0,
                    w.items[item_id].added_at)
    assert films
    return w


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


COLD_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
mode, path = sys.argv[1], sys.argv[2]
if mode == "replica":
    from sync.replica import Replica
    from sync.query import MediaQueryBuilder, SortBy, SortOrder
    t0 = time.perf_counter()
    r = Replica.open(path)
    cards = r.cards(limit=150)
    elapsed = time.perf_counter() - t0
    assert len(cards) == 150
    r.query(MediaQueryBuilder().sort_by(SortBy.YEAR, SortOrder.DESC).limit(150).build())
else:
    import lmdb
    t0 = time.perf_counter()
    env = lmdb.open(path, readonly=True, max_dbs=16)
    db = env.open_db(b"cards", create=False)
    with env.begin(buffers=True) as txn:
        cur = txn.cursor(db=db)
        keys = [bytes.fromhex(k) for k in sys.argv[3].split(",")]
        n = sum(len(cur.get(k) or b"") > 0 for k in keys)
    elapsed = time.perf_counter() - t0
    assert n == 150
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
kb = lambda name: int(status.get(name, "0 kB").split()[0])
print(json.dumps({"ms": elapsed * 1000, "rss_kb": kb("VmRSS"), "anon_kb": kb("RssAnon"),
                  "file_kb": kb("RssFile")}))
"""


def _cold(mode: str, path: Path, keys: str = "") -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", COLD_CHILD, mode, str(path), keys],
                          capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    if done.returncode != 0:
        raise BenchError(f"cold open child failed: {done.stderr.strip()[-500:]}")
    out: dict[str, float] = json.loads(done.stdout)
    return out


def _raw_put(frames: list[Any], path: Path) -> float:
    enc = msgspec.msgpack.Encoder()
    env = lmdb.open(str(path), map_size=2 << 30, max_dbs=4)
    db = env.open_db(b"items")
    t0 = time.perf_counter()
    with env.begin(write=True) as txn:
        for frame in frames:
            if isinstance(frame, ItemFrame):
                txn.put(frame.item.id.bytes, enc.encode(frame.item), db=db)
    elapsed = time.perf_counter() - t0
    env.close()
    return elapsed


def run(params: Params) -> Result:
    tmp = Path(tempfile.mkdtemp(prefix="fxbr"))
    try:
        return _run(params, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(params: Params, tmp: Path) -> Result:
    figures: list[Figure] = []
    samples: dict[str, list[float]] = {}
    w = _library(params.items)
    frames = w.snapshot_frames()
    snap, raw = [], []
    for n in range(params.rounds):
        path = tmp / f"r{n}"
        replica = Replica.open(path)
        t0 = time.perf_counter()
        replica.apply_snapshot(batches(frames, 1000))
        snap.append(time.perf_counter() - t0)
        replica.close()
        raw.append(_raw_put(frames, tmp / f"raw{n}"))
    samples["snapshot apply s"], samples["raw put s"] = snap, raw
    figures += [Figure(f"snapshot apply, {params.items} items", statistics.median(snap), "s"),
                Figure("raw LMDB put of the same records (baseline)", statistics.median(raw),
                       "s"),
                Figure("snapshot apply / raw put", statistics.median(snap) /
                       statistics.median(raw), "x")]

    path = tmp / "r0"
    replica = Replica.open(path)
    deltas = []
    for _ in range(max(10, params.rounds * 5)):
        page = w.random_changes(100)
        t0 = time.perf_counter()
        replica.apply_changes(page)
        deltas.append((time.perf_counter() - t0) * 1000)
    samples["delta 100 ms"] = deltas
    figures += [Figure("delta of 100 changes: p50", statistics.median(deltas), "ms"),
                Figure("delta of 100 changes: max", max(deltas), "ms")]

    warm = []
    for _ in range(params.samples):
        t0 = time.perf_counter()
        replica.cards(limit=150)
        warm.append((time.perf_counter() - t0) * 1000)
    first = [c.id.bytes.hex() for c in replica.cards(limit=150)]
    for name, q in _queries().items():
        times = []
        for _ in range(params.samples):
            t0 = time.perf_counter()
            replica.query(q)
            times.append((time.perf_counter() - t0) * 1000)
        samples[f"query {name} ms"] = times
        figures += [Figure(f"query {name}: p50", statistics.median(times), "ms"),
                    Figure(f"query {name}: p99", _pct(times, 0.99), "ms")]
    samples["first 150 cards, open replica ms"] = warm
    figures.append(Figure("first 150 cards, replica already open: p50",
                          statistics.median(warm), "ms"))
    replica.close()

    cold, base = [], []
    rss: dict[str, float] = {}
    for _ in range(max(3, params.rounds)):
        rss = _cold("replica", path)
        cold.append(rss["ms"])
        base.append(_cold("raw", path, ",".join(first))["ms"])
    samples["cold open + 150 cards ms"], samples["raw scan 150 ms"] = cold, base
    figures += [Figure("cold open + first 150 cards (new process)", statistics.median(cold),
                       "ms"),
                Figure("raw LMDB open + cursor over the same 150 keys (baseline)",
                       statistics.median(base), "ms"),
                Figure("cold open / raw scan", statistics.median(cold) / statistics.median(base),
                       "x"),
                Figure("reader RSS", rss["rss_kb"] / 1024, "MiB"),
                Figure("reader RSS: file-backed (the shared map)", rss["file_kb"] / 1024, "MiB"),
                Figure("reader RSS: private", rss["anon_kb"] / 1024, "MiB"),
                Figure("replica size on disk", (path / "data.mdb").stat().st_size / 2**20,
                       "MiB")]
    if params.e2e:
        from bench.replica_e2e import end_to_end

        e2e_figures, e2e_samples = end_to_end(params.items, params.rounds, tmp)
        figures += e2e_figures
        samples.update(e2e_samples)
    return Result("replica", f"{params.items} synthetic movies (10 % with watch state); "
                  f"{params.rounds} snapshot rounds, {params.samples} samples per query",
                  figures, params=dataclasses.asdict(params), samples=samples)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.replica [--items N] [--rounds N] [--samples N] [--no-e2e]``."""
    import argparse

    from bench.run import print_result, save_result

    parser = argparse.ArgumentParser(prog="python -m bench.replica")
    parser.add_argument("--items", type=int, default=Params.items)
    parser.add_argument("--rounds", type=int, default=Params.rounds)
    parser.add_argument("--samples", type=int, default=Params.samples)
    parser.add_argument("--no-e2e", action="store_true")
    args = parser.parse_args(argv)
    started = time.time()
    try:
        result = run(Params(args.items, args.rounds, args.samples, not args.no_e2e))
    except BenchError as exc:
        print(f"bench: replica: error: {exc}", file=sys.stderr)
        return 1
    print_result(result)
    print(f"  -> {save_result(result, started)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
