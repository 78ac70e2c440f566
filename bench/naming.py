"""``naming``: file-name parser throughput (names/s) and agreement with guessit's corpus.

The parser runs in the scan's walk worker processes once per new file, so a first scan of a big
library spends a real share of its CPU here. Each round parses the same set with the current
parser and with the parser of a baseline commit (``BASELINE``, loaded from git into a module of
its own), in alternating order (ABBA), with both parsers' caches emptied first: a round is a
first scan of that set.

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
import random
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
REPO = Path(__file__).resolve().parent.parent

Job = tuple[str, naming.LibraryKind]


@dataclass(frozen=True)
class Params:
    rounds: int
    names: int = 20_000


def load_baseline(commit: str = BASELINE) -> types.ModuleType:
    """``appliance/scan/naming.py`` as it was at ``commit``, as a module of its own."""
    try:
        source = subprocess.run(["git", "show", f"{commit}:appliance/scan/naming.py"], cwd=REPO,
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BenchError(f"baseline parser {commit} not readable from git: {exc}") from None
    name = f"_bench_naming_{commit}"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # msgspec resolves the Structs' annotations through it
    exec(compile(source, f"{commit}:appliance/scan/naming.py", "exec"), module.__dict__)
    return module


_WORDS = ("the", "last", "dark", "river", "night", "city", "of", "blue", "king", "house", "war",
          "star", "lost", "girl", "man", "red", "black", "summer", "road", "fire", "world",
          "little", "secret", "moon", "shadow", "a", "and", "ghost", "island", "time", "heart")
_TAGS = ("1080p.BluRay.x264-GRP", "2160p.UHD.BluRay.x265.10bit.HDR.DTS-HD.MA.5.1-GRP",
         "720p.WEB-DL.DDP5.1.H.264-GRP", "1080p.WEBRip.x264.AAC5.1-[YTS.MX]", "DVDRip.XviD-GRP",
         "2160p.WEB-DL.DV.HDR.DDP5.1.Atmos.H.265-GRP")


def _title(rnd: random.Random) -> str:
    words = [rnd.choice(_WORDS) for _ in range(rnd.randint(1, 4))]
    return " ".join(w.capitalize() for w in words)


def generated(count: int, seed: int = 21) -> list[Job]:
    """``count`` library paths in the usual shapes; shows repeat as in a real library."""
    rnd = random.Random(seed)
    shows = [(_title(rnd), rnd.randint(1990, 2024)) for _ in range(max(1, count // 40))]
    out: list[Job] = []
    while len(out) < count:
        title, year = _title(rnd), rnd.randint(1950, 2024)
        dotted = title.replace(" ", ".")
        shape = rnd.randrange(12)
        if shape == 0:
            out.append((f"Movies/{title} ({year})/{title} ({year}).mkv", "movies"))
        elif shape == 1:
            out.append((f"Movies/{title} ({year}) [tmdbid-{rnd.randint(1, 99999)}]/"
                        f"{title} ({year}) - {rnd.choice(['1080p', '2160p HDR', 'Remux'])}.mkv",
                        "movies"))
        elif shape == 2:
            out.append((f"Movies/{dotted}.{year}.{rnd.choice(_TAGS)}.mkv", "movies"))
        elif shape == 3:
            out.append((f"Movies/{title} ({year})/{title} ({year}) - cd{rnd.randint(1, 2)}.avi",
                        "movies"))
        elif shape == 4:
            out.append((f"Movies/{title} ({year})/Trailers/Trailer {rnd.randint(1, 3)}.mkv",
                        "movies"))
        elif shape == 5:
            out.append((f"Movies/{title} ({year}) - Director's Cut.mkv", "movies"))
        else:
            show, first = rnd.choice(shows)
            season, episode = rnd.randint(1, 9), rnd.randint(1, 24)
            show_dotted = show.replace(" ", ".")
            if shape in (6, 7, 8):
                out.append((f"TV/{show} ({first})/Season {season:02}/"
                            f"{show} - S{season:02}E{episode:02} - {title}.mkv", "series"))
            elif shape == 9:
                out.append((f"TV/{show}/Season {season}/{show_dotted}.S{season:02}E{episode:02}."
                            f"{rnd.choice(_TAGS)}.mkv", "series"))
            elif shape == 10:
                out.append((f"Anime/{show}/[SubsPlease] {show} - {episode + 12 * season:02} "
                            f"(1080p) [{rnd.getrandbits(32):08X}].mkv", "series"))
            else:
                out.append((f"TV/{show}/Season {season}/{show} {season}x{episode:02}.avi",
                            "series"))
    return out


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


def _rate(module: types.ModuleType, jobs: list[Job]) -> float:
    _clear_caches(module)
    parse: Callable[..., Any] = module.parse_name
    started = time.perf_counter()
    for path, kind in jobs:
        parse(path, kind)
    return len(jobs) / (time.perf_counter() - started)


def run(params: Params) -> Result:
    old = load_baseline()
    jobs = generated(params.names) + corpus_jobs()
    samples: dict[str, list[float]] = {"current": [], "baseline": []}
    for index in range(params.rounds):
        order = [("current", naming), ("baseline", old)]
        if index % 2:
            order.reverse()
        for label, module in order:
            samples[label].append(_rate(module, jobs))
    current, baseline = median(samples["current"]), median(samples["baseline"])
    figures = [Figure("names/s, current parser", current, "files/s"),
               Figure(f"names/s, baseline parser ({BASELINE})", baseline, "files/s"),
               Figure("speed, current / baseline", current / baseline, "x")]
    if len(jobs) > params.names:
        for label, parse in (("current", naming.parse_name), ("baseline", old.parse_name)):
            report = naming_corpus.measure(parse)
            figures.append(Figure(f"guessit corpus, all fields right, {label}",
                                  100 * report.whole_rate, "%"))
            for field in naming_corpus.FIELDS:
                figures.append(Figure(f"  {field}, {label}", 100 * report.rate(field), "%"))
    return Result(
        benchmark="naming",
        summary=(f"{len(jobs):,} names ({params.names:,} generated, {len(jobs) - params.names:,}"
                 f" from guessit's corpus) x {params.rounds} rounds, caches emptied per round"),
        figures=figures,
        params={"rounds": params.rounds, "names": params.names, "baseline": BASELINE,
                "corpus_entries": len(jobs) - params.names},
        samples=samples,
    )
