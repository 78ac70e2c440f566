"""The replica bench's measurements, with nothing but ``sync`` and the test suite's frame kit:
``python -m bench.replica_core ITEMS ROUNDS SAMPLES`` prints them as JSON, so they can also be
taken on a machine that has only lmdb, msgspec and numpy (see ``bench/replica.py``)."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lmdb
import msgspec

from sync.feed_types import Frame, ItemFrame
from sync.query import IN_PROGRESS, UNWATCHED, MediaQuery, MediaQueryBuilder, SortBy, SortOrder
from sync.replica import Replica
from sync.replica_prepare import prepare_batch
from tests.feedkit import World, batches, world

REPO = Path(__file__).resolve().parent.parent


def queries() -> dict[str, MediaQuery]:
    return {
        "all by title": MediaQueryBuilder().limit(150).build(),
        "movies by year desc": MediaQueryBuilder()
        .movies_only()
        .sort_by(SortBy.YEAR, SortOrder.DESC)
        .limit(150)
        .build(),
        "genre+year by rating": MediaQueryBuilder()
        .genres("Drama", "Crime")
        .year_range(1980, 2010)
        .sort_by(SortBy.RATING, SortOrder.DESC)
        .limit(150)
        .build(),
        "unwatched, recently added": MediaQueryBuilder()
        .watch_status(UNWATCHED)
        .sort_by(SortBy.DATE_ADDED, SortOrder.DESC)
        .limit(150)
        .build(),
        "in progress, last watched": MediaQueryBuilder()
        .watch_status(IN_PROGRESS)
        .sort_by(SortBy.LAST_WATCHED, SortOrder.DESC)
        .limit(150)
        .build(),
        "4K HDR by rating": MediaQueryBuilder()
        .min_height(2160)
        .hdr()
        .sort_by(SortBy.RATING, SortOrder.DESC)
        .limit(150)
        .build(),
        "fuzzy search": MediaQueryBuilder().search("matrx").limit(150).build(),
    }


def library(items: int) -> World:
    w = world(2024, movies=items, shows=0)
    for n, item_id in enumerate(list(w.items)[: items // 10]):
        w.set_watch(item_id, 0.0 if n % 2 else 600.0, n % 3 == 0, w.items[item_id].added_at)
    return w


COLD_CHILD = """
import json, sys, time
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


def cold(mode: str, path: Path, keys: str = "") -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", COLD_CHILD, mode, str(path), keys],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold open child failed: {done.stderr.strip()[-500:]}")
    out: dict[str, float] = json.loads(done.stdout)
    return out


def raw_put(frames: list[Frame], path: Path) -> float:
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


def _timed(fn: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def measure(items: int, rounds: int, samples: int, tmp: Path) -> dict[str, Any]:
    """Samples in seconds (snapshot) or milliseconds (everything else), plus the reader RSS."""
    out: dict[str, Any] = {"samples": {}}
    s = out["samples"]
    w = library(items)
    frames = w.snapshot_frames()
    s["snapshot apply s"], s["raw put s"] = [], []
    s["snapshot prepare s"], s["snapshot apply prepared s"] = [], []
    for n in range(rounds):
        replica = Replica.open(tmp / f"r{n}")
        t0 = time.perf_counter()
        replica.apply_snapshot(batches(frames, 1000))
        s["snapshot apply s"].append(time.perf_counter() - t0)
        replica.close()
        s["raw put s"].append(raw_put(frames, tmp / f"raw{n}"))
        # as SyncClient does it: prepared while the body streams, then applied
        t0 = time.perf_counter()
        prepared = [prepare_batch(b) for b in batches(frames, 1000)]
        s["snapshot prepare s"].append(time.perf_counter() - t0)
        replica = Replica.open(tmp / f"p{n}")
        t0 = time.perf_counter()
        replica.apply_snapshot(prepared)
        s["snapshot apply prepared s"].append(time.perf_counter() - t0)
        replica.close()
    path = tmp / "r0"
    replica = Replica.open(path)
    pages = [w.random_changes(100) for _ in range(max(10, rounds * 5))]
    s["delta 100 ms"] = []
    for page in pages:
        t0 = time.perf_counter()
        replica.apply_changes(page)
        s["delta 100 ms"].append((time.perf_counter() - t0) * 1000)
    s["first 150 cards, open replica ms"] = _timed(lambda: replica.cards(limit=150), samples)
    for name, q in queries().items():
        s[f"query {name} ms"] = _timed(lambda q=q: replica.query(q), samples)
    first = ",".join(c.id.bytes.hex() for c in replica.cards(limit=150))
    replica.close()
    s["cold open + 150 cards ms"], s["raw scan 150 ms"] = [], []
    for _ in range(max(3, rounds)):
        rss = cold("replica", path)
        s["cold open + 150 cards ms"].append(rss["ms"])
        s["raw scan 150 ms"].append(cold("raw", path, first)["ms"])
    out["rss"] = rss
    out["size_mib"] = (path / "data.mdb").stat().st_size / 2**20
    return out


def main(argv: list[str]) -> int:
    items, rounds, samples = (int(a) for a in argv)
    tmp = Path(tempfile.mkdtemp(prefix="fxbr"))
    try:
        result = measure(items, rounds, samples, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    medians = {k: statistics.median(v) for k, v in result["samples"].items()}
    print(json.dumps({**result, "medians": medians}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
