"""Undecodable file names survive the trip through Postgres text columns."""

from __future__ import annotations

import os

from appliance.scan.identity import normalise, sort_title
from store.paths import from_db, to_db


def test_surrogate_escaped_bytes_round_trip_and_keep_prefixes() -> None:
    raw = os.fsdecode(b"/srv/films/Caf\xe9 (2005)/Caf\xe9 (2005).mkv")
    stored = to_db(raw)
    stored.encode("utf-8")  # valid UTF-8: Postgres accepts it
    assert from_db(stored) == raw
    assert stored.startswith(to_db(os.fsdecode(b"/srv/films/Caf\xe9 (2005)")) + "/")
    assert to_db("/srv/films/Amélie (2001).mkv") == "/srv/films/Amélie (2001).mkv"


def test_titles_normalise_to_one_identity() -> None:
    assert normalise("Amélie!") == normalise("amelie") == "amelie"
    assert normalise("The  Matrix: Reloaded") == "the matrix reloaded"
    assert sort_title("The Matrix") == "matrix"
