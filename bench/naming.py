"""``naming``: file-name parser throughput (names/s) and agreement with guessit's corpus.

The parser runs in the scan's walk worker processes once per new file, so a first scan of a big
library spends a real share of its CPU here. Each round parses the same set with the current
parser and with the parser of a baseline commit (``BASELINE``, loaded from git into a module of
its own), chunk by chunk (2,000 names, in ABBA order, each parser's faster run of the two
kept), with the parsers' caches emptied before each chunk: a chunk is a first scan of a few
shows' and films' worth of files. Times are CPU time of this process (``process_time``): the
machines these run on are shared.

The set: ``--naming-names`` generated paths in the shapes a library holds (Plex/Jellyfin movie
folders with versions, parts, ids and extras; scene release names; series in season folders,
scene episodes, fansub releases), with names repeating as a real library repeats its show
folders, plus every usable entry of guessit's annotated corpus (``tests/naming_corpus.py``).
Each path is parsed with its library's kind, as the scan does.

Figures: names/s for both, the ratio (current over baseline: 1.0 = the same speed), and the
corpus agreement (whole entries and per field, kind guessed) of both parsers.
"""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.scan import naming
from bench.common import BenchError, Figure, Result, median
from tests import naming_corpus

#: The parser before issue 21's work: the baseline of the speed ratio.
BASELINE = "d0ad081"
#: Names per timed chunk (each chunk starts from empty caches: a few shows' worth of files).
CHUNK = 2_000
REPO = Path(__file__).resolve().parent.parent

Job = naming_corpus.Job


@dataclass(frozen=True)
class Params:
    rounds: int
    names: int = 20_000


def load_baseline(commit: str = BASELINE) -> types.ModuleType:
    """``appliance/scan/naming.py`` as it was at ``commit``, as a module of its own."""
    try:
        source = subprocess.run(
            ["git", "show", f"{commit}:appliance/scan/naming.py"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BenchError(f"baseline parser {commit} not readable from git: {exc}") from None
    name = f"_bench_naming_{commit}"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # msgspec resolves the Structs' annotations through it
    exec(compile(source, f"{commit}:appliance/scan/naming.py", "exec"), module.__dict__)
    return module


def corpus_jobs() -> list[Job]:
    try:
        entries = list(naming_corpus.entries())
    except ModuleNotFoundError:  # guessit is a dev dependency
        return []
    return [(e.path, "movies" if e.expected["type"] == "movie" else "series") for e in entries]


def _clear_caches(module: types.ModuleType) -> None:
    for value in vars(module).values():
        if isinstance(value, functools._lru_cache_wrapper):
            value.cache_clear()


def _seconds(module: types.ModuleType, jobs: list[Job]) -> float:
    """CPU seconds to parse ``jobs`` from empty caches."""
    _clear_caches(module)
    parse: Callable[..., Any] = module.parse_name
    started = time.process_time()
    for path, kind in jobs:
        parse(path, kind)
    return time.process_time() - started


def _round(modules: dict[str, types.ModuleType], jobs: list[Job], chunk: int) -> dict[str, float]:
    """Names/s of each parser over ``jobs``, timed in chunks: each chunk is parsed A B B A
    and each parser keeps its faster run, so a neighbour's burst on a shared machine (the
    other run of the pair) does not decide the figure."""
    spent = dict.fromkeys(modules, 0.0)
    labels = list(modules)
    for start in range(0, len(jobs), chunk):
        part = jobs[start : start + chunk]
        times: dict[str, list[float]] = {label: [] for label in labels}
        for label in [*labels, *reversed(labels)]:
            times[label].append(_seconds(modules[label], part))
        for label in labels:
            spent[label] += min(times[label])
    return {label: len(jobs) / spent[label] for label in labels}


def run(params: Params) -> Result:
    old = load_baseline()
    jobs = naming_corpus.generated(params.names) + corpus_jobs()
    samples: dict[str, list[float]] = {"current": [], "baseline": []}
    for index in range(params.rounds):
        modules = {"current": naming, "baseline": old}
        if index % 2:
            modules = {"baseline": old, "current": naming}
        for label, rate in _round(modules, jobs, CHUNK).items():
            samples[label].append(rate)
    current, baseline = median(samples["current"]), median(samples["baseline"])
    figures = [
        Figure("names/s, current parser", current, "files/s"),
        Figure(f"names/s, baseline parser ({BASELINE})", baseline, "files/s"),
        Figure("speed, current / baseline", current / baseline, "x"),
    ]
    if len(jobs) > params.names:
        for label, parse in (("current", naming.parse_name), ("baseline", old.parse_name)):
            report = naming_corpus.measure(parse)
            figures.append(
                Figure(f"guessit corpus, all fields right, {label}", 100 * report.whole_rate, "%")
            )
            for field in naming_corpus.FIELDS:
                figures.append(Figure(f"  {field}, {label}", 100 * report.rate(field), "%"))
    return Result(
        benchmark="naming",
        summary=(
            f"{len(jobs):,} names ({params.names:,} generated, {len(jobs) - params.names:,}"
            f" from guessit's corpus) x {params.rounds} rounds; CPU time, chunks of "
            f"{CHUNK:,} from empty caches, ABBA"
        ),
        figures=figures,
        params={
            "rounds": params.rounds,
            "names": params.names,
            "baseline": BASELINE,
            "corpus_entries": len(jobs) - params.names,
        },
        samples=samples,
    )
