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
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.common import BenchError, Figure, Result
from bench.replica_core import measure


@dataclass(frozen=True)
class Params:
    items: int = 30_000
    rounds: int = 3
    samples: int = 100
    e2e: bool = True


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def run(params: Params) -> Result:
    tmp = Path(tempfile.mkdtemp(prefix="fxbr"))
    try:
        return _run(params, tmp)
    except RuntimeError as exc:
        raise BenchError(str(exc)) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def figures_of(measured: dict[str, object], items: int) -> list[Figure]:
    s: dict[str, list[float]] = measured["samples"]  # type: ignore[assignment]
    rss: dict[str, float] = measured["rss"]  # type: ignore[assignment]
    med = {k: statistics.median(v) for k, v in s.items()}
    figures = [
        Figure(f"snapshot apply, {items} items", med["snapshot apply s"], "s"),
        Figure("raw LMDB put of the same records (baseline)", med["raw put s"], "s"),
        Figure("snapshot apply / raw put", med["snapshot apply s"] / med["raw put s"], "x"),
        Figure("  prepare (overlaps the download in SyncClient)", med["snapshot prepare s"], "s"),
        Figure(
            "  apply of the prepared batches (the write transaction)",
            med["snapshot apply prepared s"],
            "s",
        ),
        Figure("delta of 100 changes: p50", med["delta 100 ms"], "ms"),
        Figure("delta of 100 changes: max", max(s["delta 100 ms"]), "ms"),
        Figure(
            "first 150 cards, replica already open: p50",
            med["first 150 cards, open replica ms"],
            "ms",
        ),
    ]
    for key, values in s.items():
        if key.startswith("query "):
            name = key[len("query ") : -len(" ms")]
            figures += [
                Figure(f"query {name}: p50", med[key], "ms"),
                Figure(f"query {name}: p99", _pct(values, 0.99), "ms"),
            ]
    figures += [
        Figure("cold open + first 150 cards (new process)", med["cold open + 150 cards ms"], "ms"),
        Figure(
            "raw LMDB open + cursor over the same 150 keys (baseline)", med["raw scan 150 ms"], "ms"
        ),
        Figure(
            "cold open / raw scan", med["cold open + 150 cards ms"] / med["raw scan 150 ms"], "x"
        ),
        Figure("reader RSS", rss["rss_kb"] / 1024, "MiB"),
        Figure("reader RSS: file-backed (the shared map)", rss["file_kb"] / 1024, "MiB"),
        Figure("reader RSS: private", rss["anon_kb"] / 1024, "MiB"),
        Figure("replica size on disk", float(measured["size_mib"]), "MiB"),  # type: ignore[arg-type]
    ]
    return figures


def _run(params: Params, tmp: Path) -> Result:
    measured = measure(params.items, params.rounds, params.samples, tmp)
    figures = figures_of(measured, params.items)
    samples: dict[str, list[float]] = dict(measured["samples"])
    if params.e2e:
        from bench.replica_e2e import end_to_end

        e2e_figures, e2e_samples = end_to_end(params.items, params.rounds, tmp)
        figures += e2e_figures
        samples.update(e2e_samples)
    return Result(
        "replica",
        f"{params.items} synthetic movies (10 % with watch state); "
        f"{params.rounds} snapshot rounds, {params.samples} samples per query",
        figures,
        params=dataclasses.asdict(params),
        samples=samples,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.replica [--items N] [--rounds N] [--samples N] [--no-e2e]``."""
    import argparse

    from bench.run import report

    parser = argparse.ArgumentParser(prog="python -m bench.replica")
    parser.add_argument("--items", type=int, default=Params.items)
    parser.add_argument("--rounds", type=int, default=Params.rounds)
    parser.add_argument("--samples", type=int, default=Params.samples)
    parser.add_argument("--no-e2e", action="store_true")
    args = parser.parse_args(argv)
    params = Params(args.items, args.rounds, args.samples, not args.no_e2e)
    return report("replica", lambda: run(params))


if __name__ == "__main__":
    sys.exit(main())
