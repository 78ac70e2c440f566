"""guessit's annotated release names as a corpus for our file-name parser.

guessit (a dev dependency only, never imported by the appliance) ships thousands of real release
names with hand-checked answers in YAML files inside its package. This module reads them and
compares :func:`appliance.scan.naming.parse_name` with those answers for the fields our model
has, so the parser is measured against an independent set rather than names we chose ourselves.

What is compared, and how (see :func:`compare`):

* ``kind``: guessit's ``type`` (movie/episode) against our kind with the library kind *guessed*;
  every other field is compared with the library kind *given* (a library in Ferrex is typed, so
  that is how the scan calls the parser).
* ``title`` (the series name for episodes), ``year``, ``season``, ``episode`` (our list),
  ``date`` (our ``air_date``), ``part``/``cd`` (our ``part``), ``edition``.
  Titles compare on letters and digits only, case-folded, accents kept: punctuation differs
  between any two parsers (``S.H.I.E.L.D`` / ``S H I E L D``) and the metadata search ignores it.
  A country or year that guessit splits off a series name (``The Office (US)``) may stay in ours:
  that is how Plex and Jellyfin name such shows. An edition matches when guessit's word is in ours
  (``Special`` / ``Special Edition``).

What is left out, and why (counted in :class:`Report`):

* entries whose answer is a negative (``-name``: "must not match") or needs guessit options
  (``-T title``, ``--type``, ``--exclude``): they test guessit's configuration, not names;
* Windows paths (backslashes): our paths come from a Linux file system;
* sample files (``other: Sample``): the scan drops them by design (``kind: ignored``);
* names guessit types as neither movie nor episode, and fields we do not model (codecs, sources,
  languages, release groups, episode titles, ``episode_count``...); multi-season entries
  (``season: [1, 2]``) for the season field, since an item of ours has one season; the edition
  of an episode (our editions are the films').

Names that are not video files (``.srt``, ``.torrent``, no extension) are read as the video they
describe: the extension is replaced by ``.mkv`` (the walker only hands video files to the parser).
"""

from __future__ import annotations

import datetime as _dt
import os
import random
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from appliance.scan.naming import VIDEO_EXTENSIONS, LibraryKind, parse_name

#: guessit's files of whole release names (its ``rules/`` files hold mostly fragments).
CORPUS_FILES = (
    "movies.yml",
    "episodes.yml",
    "various.yml",
    "rules/episodes.yml",
    "rules/part.yml",
    "rules/cd.yml",
    "rules/edition.yml",
    "rules/title.yml",
    "rules/date.yml",
)
Job = tuple[str, LibraryKind]  # a path and its library's kind, as the scan parses it
FIELDS = ("kind", "title", "year", "season", "episode", "date", "part", "edition")

#: Name shapes our model leaves out on purpose, each with why. Entries matching one are still
#: parsed and counted (``Report.outside``), but the floors of the corpus test hold for the rest.
OUTSIDE_MODEL: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "season/episode words in non-Latin scripts (第3話, сезон) or Hungarian/Turkish/Swedish",
        re.compile(
            r"[\u3040-\u30ff\u4e00-\u9fff\u0400-\u04ff]|évad|\bsezon\b|säsong|avsnitt", re.I
        ),
    ),
    (
        "counts and spelled-out numbers: 1of4, 14.of.21, Saison VII/sept, Part III, Part.Two",
        re.compile(
            r"[0-9][ ._]?of[ ._]?[0-9]|saison[ ._](?:[ivx]+|sept)\b|part[ ._](?:[ivx]+|two)"
            r"\b|\bcapitulo\b.*\bde\b|\bdi[ ._][0-9]|\bvon\b|\bvan\b|\bdin\b",
            re.I,
        ),
    ),
    (
        "'Part N' inside a title without a separator: TMDB titles keep it (The Godfather Part 3)",
        re.compile(
            r"^(?:[^/]*/)*[^/.]+ Part [0-9]+\.[a-z0-9]+$|\.Part\.[0-9]\.HDTV|Part\.1\.and", re.I
        ),
    ),
    (
        "season box discs (S07D1) and whole-series packs (1xAll, Seasons 1 to 5, Season.1-3)",
        re.compile(
            r"s[0-9]{2}d[0-9]|[0-9]xall|seasons?[ ._][0-9]+[ ._]?(?:&|to|-)[ ._]?[0-9]"
            r"|season[ ._][0-9]+&",
            re.I,
        ),
    ),
)


@dataclass(frozen=True)
class Entry:
    source: str  # the YAML file it came from
    name: str  # as guessit's file spells it
    path: str  # what we parse (a video extension added where the name had none)
    expected: dict[str, Any]


@dataclass
class Report:
    """Agreement per field: ``checked[f]`` entries had an answer for f, ``agreed[f]`` matched.

    Only entries our model covers count here; those in :data:`OUTSIDE_MODEL` are counted in
    ``outside`` (by reason) and ``outside_report``."""

    entries: int = 0
    outside: dict[str, int] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)
    agreed: dict[str, int] = field(default_factory=dict)
    whole: int = 0  # entries whose every compared field matched
    misses: list[tuple[Entry, str, object, object]] = field(default_factory=list)

    def rate(self, name: str) -> float:
        return self.agreed.get(name, 0) / max(1, self.checked.get(name, 0))

    @property
    def whole_rate(self) -> float:
        return self.whole / max(1, self.entries)

    def lines(self) -> list[str]:
        out = [
            f"entries compared: {self.entries}, all fields right: {self.whole} "
            f"({100 * self.whole_rate:.1f} %)"
        ]
        for name in FIELDS:
            out.append(
                f"  {name:<8} {self.agreed.get(name, 0):>5}/{self.checked.get(name, 0):<5}"
                f" {100 * self.rate(name):5.1f} %"
            )
        out.append("excluded: " + ", ".join(f"{k} {v}" for k, v in sorted(self.excluded.items())))
        out.append(
            "outside our model (parsed, not in the figures above): "
            + ", ".join(f"{v} x {k}" for k, v in sorted(self.outside.items()))
        )
        return out


def _yaml_entries(text: str) -> list[tuple[str, Any]]:
    import yaml  # type: ignore[import-untyped]  # schemathesis's dependency; no stubs here

    data = yaml.safe_load(text) or {}
    items = list(data.items())
    # Several names may share one answer: a key with no value takes the next key's answer.
    last: Any = None
    for i in range(len(items) - 1, -1, -1):
        if items[i][1] is None:
            items[i] = (items[i][0], last)
        else:
            last = items[i][1]
    return [(str(k), v) for k, v in items]


def entries(excluded: dict[str, int] | None = None) -> Iterator[Entry]:
    """Every usable entry of guessit's corpus; ``excluded`` counts the others by reason."""
    skipped = excluded if excluded is not None else {}
    root = resources.files("guessit") / "test"
    for source in CORPUS_FILES:
        items = _yaml_entries((root / source).read_text(encoding="utf-8"))
        default: dict[str, Any] = {}
        for name, expected in items:
            if name == "__default__":
                default = dict(expected or {})
                continue
            answer = {**default, **(expected or {})}
            reason = _exclusion(name, answer)
            if reason is not None:
                skipped[reason] = skipped.get(reason, 0) + 1
                continue
            yield Entry(source, name, _as_video(name, answer), answer)


def _exclusion(name: str, answer: dict[str, Any]) -> str | None:
    if name[:1] in "-+ ":
        return "negative or span-only entry"
    if answer.get("options"):
        return "needs guessit options"
    if "\\" in name:
        return "windows path"
    if answer.get("type") not in ("movie", "episode"):
        return "neither movie nor episode"
    if "Sample" in _as_list(answer.get("other")):
        return "sample file (dropped by design)"
    return None


def _as_video(name: str, answer: dict[str, Any]) -> str:
    stem, ext = os.path.splitext(name)
    if ext.lower() in VIDEO_EXTENSIONS:
        return name
    container = str(answer.get("container", "")).lower()
    if container and ext.lower() == "." + container:
        return stem + ".mkv"
    return name + ".mkv"


def _norm(text: object) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFC", str(text)).casefold() if ch.isalnum())


def _as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def expected_fields(entry: Entry) -> dict[str, Any]:
    """guessit's answer in our terms, only for the fields we model."""
    ans = entry.expected
    out: dict[str, Any] = {"kind": ans["type"]}
    if isinstance(ans.get("title"), str):
        out["title"] = ans["title"]
    if isinstance(ans.get("year"), int):
        out["year"] = ans["year"]
    if ans["type"] == "episode":
        if isinstance(ans.get("season"), int):
            out["season"] = ans["season"]
        if ans.get("episode") is not None:
            out["episode"] = sorted(int(e) for e in _as_list(ans["episode"]))
        if isinstance(ans.get("date"), _dt.date):
            out["date"] = ans["date"].isoformat()
    part = ans.get("cd", ans.get("part"))
    if isinstance(part, int):
        out["part"] = part
    if ans.get("edition") is not None and ans["type"] == "movie":
        out["edition"] = [str(e) for e in _as_list(ans["edition"])]
    return out


def _agrees(
    name: str, want: Any, got: Any, guessed: Any, ans: dict[str, Any]
) -> tuple[bool, object]:
    if name == "kind":
        return guessed.kind == want, guessed.kind
    if name == "title":
        mine = _norm(got.title or "")
        extras = [_norm(want)]
        for key in ("country", "year", "alternative_title"):
            if ans.get(key) is not None:
                extras.append(_norm(want) + _norm(ans[key]))
        return mine in extras, got.title
    if name == "year":
        return got.year == want, got.year
    if name == "season":
        return got.season == want, got.season
    if name == "episode":
        return sorted(got.episodes or []) == want, got.episodes
    if name == "date":
        return got.air_date == want, got.air_date
    if name == "part":
        return got.part == want, got.part
    if name == "edition":
        mine = _norm(got.edition or "").replace("alternate", "alternative")
        return bool(mine) and any(_norm(e) in mine for e in want), got.edition
    raise KeyError(name)


Parser = Callable[[str, LibraryKind | None], Any]  # ParsedName, this or an older one


def compare(report: Report, entry: Entry, parse: Parser = parse_name) -> None:
    """Parse one entry both ways (kind guessed, kind given) and score each field it answers.

    ``parse`` is ``parse_name`` or, in the bench, the parser of an older commit."""
    want = expected_fields(entry)
    library: LibraryKind = "movies" if want["kind"] == "movie" else "series"
    guessed = parse(entry.path, None)
    got = parse(entry.path, library)
    report.entries += 1
    whole = True
    for name, value in want.items():
        report.checked[name] = report.checked.get(name, 0) + 1
        ok, mine = _agrees(name, value, got, guessed, entry.expected)
        if ok:
            report.agreed[name] = report.agreed.get(name, 0) + 1
        else:
            whole = False
            report.misses.append((entry, name, value, mine))
    report.whole += whole


def outside_model(entry: Entry) -> str | None:
    for reason, pattern in OUTSIDE_MODEL:
        if pattern.search(entry.name):
            return reason
    return None


def measure(parse: Parser = parse_name) -> Report:
    report = Report()
    for entry in entries(report.excluded):
        reason = outside_model(entry)
        if reason is not None:
            report.outside[reason] = report.outside.get(reason, 0) + 1
            continue
        compare(report, entry, parse)
    return report


_WORDS = (
    "the",
    "last",
    "dark",
    "river",
    "night",
    "city",
    "of",
    "blue",
    "king",
    "house",
    "war",
    "star",
    "lost",
    "girl",
    "man",
    "red",
    "black",
    "summer",
    "road",
    "fire",
    "world",
    "little",
    "secret",
    "moon",
    "shadow",
    "a",
    "and",
    "ghost",
    "island",
    "time",
    "heart",
)
_TAGS = (
    "1080p.BluRay.x264-GRP",
    "2160p.UHD.BluRay.x265.10bit.HDR.DTS-HD.MA.5.1-GRP",
    "720p.WEB-DL.DDP5.1.H.264-GRP",
    "1080p.WEBRip.x264.AAC5.1-[YTS.MX]",
    "DVDRip.XviD-GRP",
    "2160p.WEB-DL.DV.HDR.DDP5.1.Atmos.H.265-GRP",
)


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
            out.append(
                (
                    f"Movies/{title} ({year}) [tmdbid-{rnd.randint(1, 99999)}]/"
                    f"{title} ({year}) - {rnd.choice(['1080p', '2160p HDR', 'Remux'])}.mkv",
                    "movies",
                )
            )
        elif shape == 2:
            out.append((f"Movies/{dotted}.{year}.{rnd.choice(_TAGS)}.mkv", "movies"))
        elif shape == 3:
            out.append(
                (f"Movies/{title} ({year})/{title} ({year}) - cd{rnd.randint(1, 2)}.avi", "movies")
            )
        elif shape == 4:
            out.append(
                (f"Movies/{title} ({year})/Trailers/Trailer {rnd.randint(1, 3)}.mkv", "movies")
            )
        elif shape == 5:
            out.append((f"Movies/{title} ({year}) - Director's Cut.mkv", "movies"))
        else:
            show, first = rnd.choice(shows)
            season, episode = rnd.randint(1, 9), rnd.randint(1, 24)
            show_dotted = show.replace(" ", ".")
            if shape in (6, 7, 8):
                out.append(
                    (
                        f"TV/{show} ({first})/Season {season:02}/"
                        f"{show} - S{season:02}E{episode:02} - {title}.mkv",
                        "series",
                    )
                )
            elif shape == 9:
                out.append(
                    (
                        f"TV/{show}/Season {season}/{show_dotted}.S{season:02}E{episode:02}."
                        f"{rnd.choice(_TAGS)}.mkv",
                        "series",
                    )
                )
            elif shape == 10:
                out.append(
                    (
                        f"Anime/{show}/[SubsPlease] {show} - {episode + 12 * season:02} "
                        f"(1080p) [{rnd.getrandbits(32):08X}].mkv",
                        "series",
                    )
                )
            else:
                out.append(
                    (f"TV/{show}/Season {season}/{show} {season}x{episode:02}.avi", "series")
                )
    return out


if __name__ == "__main__":  # python -m tests.naming_corpus [FIELD]: the figures and the misses
    import sys

    result = measure()
    only = sys.argv[1:]
    for entry, name, want, mine in result.misses:
        if not only or name in only:
            print(f"{name:<8} want {want!r:<30} got {mine!r:<30} {entry.name}")
    print("\n".join(result.lines()))
