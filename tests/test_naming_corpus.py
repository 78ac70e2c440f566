"""The file-name parser against an independent corpus: guessit's annotated release names.

``tests/naming_corpus.py`` reads the YAML files guessit (a dev dependency) ships and scores our
parse per field; what is excluded and why is written there and printed here. The floors below
are what the parser reaches today, so a change that reads names worse fails; raise them when the
parser gets better, never lower them to make a change pass.

guessit is also a live oracle: library paths in the usual shapes, generated at random, must read
the same to both parsers.
"""

from __future__ import annotations

from typing import Any

import pytest

from appliance.scan.naming import LibraryKind, parse_name
from tests import naming_corpus, naming_library

guessit = pytest.importorskip("guessit", reason="dev dependency (pip install -e '.[dev]')")

#: Agreement with guessit's answers per field, over the entries our model covers.
#: kind: with the library kind guessed (the scan always knows it; only `parse-name` guesses).
FLOORS = {
    "kind": 0.935,
    "title": 0.91,
    "year": 0.94,
    "season": 0.955,
    "episode": 0.965,
    "date": 0.84,
    "edition": 0.88,
}
#: The fields that identify an item (title, year, season, episodes), pooled.
IDENTITY_FLOOR = 0.93


@pytest.fixture(scope="module")
def report() -> naming_corpus.Report:
    result = naming_corpus.measure()
    print("\n".join(result.lines()))  # shown with -s / on failure: the figures and exclusions
    return result


def test_corpus_is_loaded_and_exclusions_are_few(report: naming_corpus.Report) -> None:
    assert report.entries >= 900
    assert sum(report.outside.values()) <= 0.08 * report.entries  # "outside our model" stays rare


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_field_agreement_floor(report: naming_corpus.Report, name: str) -> None:
    rate = report.rate(name)
    misses = [
        f"{want!r} != {got!r}: {entry.name}"
        for entry, field, want, got in report.misses
        if field == name
    ][:15]
    assert rate >= FLOORS[name], f"{name}: {100 * rate:.1f} %\n" + "\n".join(misses)


def test_identity_fields_pooled(report: naming_corpus.Report) -> None:
    fields = ("title", "year", "season", "episode")
    agreed = sum(report.agreed.get(f, 0) for f in fields)
    checked = sum(report.checked.get(f, 0) for f in fields)
    assert agreed / checked >= IDENTITY_FLOOR


def test_issue_shapes_agree_with_guessit() -> None:
    """The shapes of issue 21's misses, as guessit reads them (where its reading is ours)."""
    cases: list[tuple[str, LibraryKind, dict[str, Any]]] = [
        ("Some Film part1.mkv", "movies", {"title": "Some Film", "part": 1}),
        ("Show - S01E01 - 720p cd2.mkv", "series", {"title": "Show", "season": 1, "cd": 2}),
        ("S02E04 - Part 2.mkv", "series", {"season": 2, "episode": 4, "part": 2}),
        (
            "[Group] Title [11][Ma10p_1080p][x265_flac].mkv",
            "series",
            {"title": "Title", "episode": 11},
        ),
        ("Show S01xE05.mkv", "series", {"title": "Show", "season": 1, "episode": 5}),
        ("Show 03x01x02x09.mkv", "series", {"title": "Show", "season": 3, "episode": [1, 2, 9]}),
    ]
    for path, kind, answer in cases:
        theirs = guessit.guessit(path, {"type": "movie" if kind == "movies" else "episode"})
        assert {k: theirs.get(k) for k in answer} == answer, path  # the oracle agrees ...
        ours = parse_name(path, kind)  # ... and so do we
        for key, value in answer.items():
            renamed = {"cd": ours.part, "episode": ours.episodes}
            mine: Any = renamed.get(key, getattr(ours, key, None))
            if key == "episode":
                value = value if isinstance(value, list) else [value]
            assert mine == value, (path, key)


def test_generated_library_paths_read_as_guessit_reads_them() -> None:
    """Random library paths (Plex/Jellyfin folders, scene names, season folders, fansubs)."""
    disagreements = []
    jobs = naming_corpus.generated(300, seed=2126)
    compared = 0
    for path, kind in jobs:
        ours = parse_name(path, kind)
        if ours.kind != ("movie" if kind == "movies" else "episode"):
            continue  # extras: guessit has no such notion
        theirs = guessit.guessit(path, {"type": "movie" if kind == "movies" else "episode"})
        compared += 1
        episode = theirs.get("episode")
        want = {
            "title": naming_corpus._norm(theirs.get("title")),
            "year": theirs.get("year"),
            "season": theirs.get("season"),
            "episodes": sorted(episode)
            if isinstance(episode, list)
            else None
            if episode is None
            else [episode],
        }
        got = {
            "title": naming_corpus._norm(ours.title),
            "year": ours.year,
            "season": ours.season,
            "episodes": ours.episodes,
        }
        if kind == "movies":
            del want["season"], want["episodes"], got["season"], got["episodes"]
        if want != got:
            disagreements.append((path, want, got))
    assert compared >= 200
    assert len(disagreements) <= 0.01 * compared, disagreements[:10]


def test_library_paths_read_as_they_were_made() -> None:
    """The second corpus (``tests/naming_library.py``): Plex/Kodi/Jellyfin/Emby library shapes
    and release names over titles that are hard on a parser, every field right."""
    cases = naming_library.cases()
    misses = [
        (path, name, want, got[name])
        for path, kind, answer in cases
        for got in (naming_library.ours(path, kind),)
        for name, want in answer.items()
        if not naming_library.agrees(name, want, got[name])
    ]
    assert len(cases) >= 4000
    wrong_paths = {path for path, *_ in misses}
    assert len(wrong_paths) <= 0.002 * len(cases), misses[:15]


def test_library_paths_without_their_library_kind() -> None:
    """``parse-name`` with no ``--library-kind`` and no library folder (``Movies/``, ``TV/``) in
    the path: the kind is guessed from the rest and every field still reads as made."""
    misses = []
    for path, _kind, answer in naming_library.cases():
        if answer["kind"] == "extra":
            continue
        bare = path.split("/", 1)[1]
        got = naming_library.ours(bare, None)
        misses += [
            (bare, name, want, got[name])
            for name, want in answer.items()
            if not naming_library.agrees(name, want, got[name])
        ]
    assert len(misses) <= 5, misses[:15]


def test_library_paths_against_guessit() -> None:
    """guessit as a second opinion on a spread of the library corpus: wherever guessit reads a
    field as the path was made, so do we, and we read at least as many paths wholly right."""
    cases = naming_library.cases()[::40]
    ours_right = theirs_right = 0
    behind = []
    for path, kind, answer in cases:
        fields = [name for name in answer if name != "kind"]  # guessit has no extras
        theirs = naming_library.theirs(
            guessit.guessit(path, {"type": "movie" if kind == "movies" else "episode"})
        )
        ours = naming_library.ours(path, kind)
        theirs_ok = {f for f in fields if naming_library.agrees(f, answer[f], theirs[f])}
        ours_ok = {f for f in fields if naming_library.agrees(f, answer[f], ours[f])}
        theirs_right += len(theirs_ok) == len(fields)
        ours_right += len(ours_ok) == len(fields)
        behind += [(path, f, answer[f], ours[f]) for f in theirs_ok - ours_ok]
    assert len(cases) >= 100
    assert not behind, behind[:10]
    assert ours_right >= theirs_right
