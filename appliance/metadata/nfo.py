"""Kodi-style NFO files: ``movie.nfo``/``<file>.nfo``, ``tvshow.nfo``, ``<episode>.nfo``.

An NFO is either XML (``<movie>``, ``<tvshow>``, ``<episodedetails>``) or the "URL only" variant
holding just a TMDB/IMDb/TVDB link, possibly after the XML. Malformed XML is logged and ignored:
whatever IDs a URL in it carries are still used, nothing else.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import msgspec

log = logging.getLogger(__name__)

MAX_NFO_BYTES = 1 << 20
ROOTS = ("movie", "tvshow", "episodedetails")

_TMDB_URL = re.compile(r"themoviedb\.org/(movie|tv)/(\d+)")
_IMDB_URL = re.compile(r"imdb\.com/title/(tt\d+)")
_TVDB_URL = re.compile(r"thetvdb\.com/\S*?(?:series|id)[=/](\d+)")


class Actor(msgspec.Struct, kw_only=True):
    name: str
    role: str | None = None
    thumb: str | None = None
    order: int = 0


class Nfo(msgspec.Struct, kw_only=True, omit_defaults=True):
    kind: str | None = None  # the XML root: movie, tvshow, episodedetails; None for URL-only
    title: str | None = None
    original_title: str | None = None
    sort_title: str | None = None
    year: int | None = None
    premiered: dt.date | None = None
    plot: str | None = None
    tagline: str | None = None
    runtime_minutes: int | None = None
    genres: list[str] = msgspec.field(default_factory=list)
    studios: list[str] = msgspec.field(default_factory=list)
    mpaa: str | None = None
    rating: float | None = None
    ratings: dict[str, dict[str, float]] = msgspec.field(default_factory=dict)
    ids: dict[str, str] = msgspec.field(default_factory=dict)
    actors: list[Actor] = msgspec.field(default_factory=list)
    directors: list[str] = msgspec.field(default_factory=list)
    collection: str | None = None
    season: int | None = None
    episode: int | None = None
    url_only: bool = False


def _text(el: ET.Element, tag: str) -> str | None:
    child = el.find(tag)
    if child is None or child.text is None:
        return None
    text = child.text.strip()
    return text or None


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    m = re.match(r"\s*(\d+)", text)
    return int(m.group(1)) if m else None


def _float(text: str | None) -> float | None:
    try:
        return float(text.replace(",", ".")) if text else None
    except ValueError:
        return None


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def ids_from_text(text: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    if m := _TMDB_URL.search(text):
        ids["tmdb"] = m.group(2)
    if m := _IMDB_URL.search(text):
        ids["imdb"] = m.group(1)
    if m := _TVDB_URL.search(text):
        ids["tvdb"] = m.group(1)
    return ids


def _split(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        for part in re.split(r"\s*/\s*", value):  # "Action / Comedy" in one element, as Kodi writes
            if part and part not in out:
                out.append(part)
    return out


def _from_xml(root: ET.Element) -> Nfo:
    nfo = Nfo(kind=root.tag)
    nfo.title = _text(root, "title")
    nfo.original_title = _text(root, "originaltitle")
    nfo.sort_title = _text(root, "sorttitle")
    nfo.year = _int(_text(root, "year"))
    nfo.premiered = _date(
        _text(root, "premiered") or _text(root, "aired") or _text(root, "releasedate")
    )
    if nfo.year is None and nfo.premiered is not None:
        nfo.year = nfo.premiered.year
    nfo.plot = _text(root, "plot") or _text(root, "outline")
    nfo.tagline = _text(root, "tagline")
    nfo.runtime_minutes = _int(_text(root, "runtime"))
    nfo.genres = _split(
        [g.text.strip() for g in root.findall("genre") if g.text and g.text.strip()]
    )
    nfo.studios = _split(
        [s.text.strip() for s in root.findall("studio") if s.text and s.text.strip()]
    )
    nfo.mpaa = _text(root, "mpaa")
    nfo.season = _int(_text(root, "season"))
    nfo.episode = _int(_text(root, "episode"))
    ratings = root.find("ratings")
    if ratings is not None:
        for r in ratings.findall("rating"):
            value = _float(_text(r, "value"))
            if value is None:
                continue
            name = (r.get("name") or "default").lower()
            entry: dict[str, float] = {"value": value}
            votes = _int(_text(r, "votes"))
            if votes is not None:
                entry["votes"] = votes
            nfo.ratings[name] = entry
            if r.get("default") == "true" or nfo.rating is None:
                nfo.rating = value
    old_rating = _float(_text(root, "rating"))  # the pre-v17 single <rating>
    if old_rating is not None and nfo.rating is None:
        nfo.rating = old_rating
    for uid in root.findall("uniqueid"):
        uid_type = (uid.get("type") or "").lower()
        if uid.text and uid.text.strip() and uid_type in ("tmdb", "imdb", "tvdb"):
            nfo.ids[uid_type] = uid.text.strip()
    legacy = {"tmdbid": "tmdb", "imdbid": "imdb", "tvdbid": "tvdb"}
    for tag, kind in legacy.items():
        if kind not in nfo.ids and (legacy_id := _text(root, tag)):
            nfo.ids[kind] = legacy_id
    if "imdb" not in nfo.ids and (plain_id := _text(root, "id")) and plain_id.startswith("tt"):
        nfo.ids["imdb"] = plain_id
    for n, actor in enumerate(root.findall("actor")):
        actor_name = _text(actor, "name")
        if actor_name:
            order = _int(_text(actor, "order"))
            nfo.actors.append(
                Actor(
                    name=actor_name,
                    role=_text(actor, "role"),
                    thumb=_text(actor, "thumb"),
                    order=order if order is not None else n,
                )
            )
    nfo.directors = [d.text.strip() for d in root.findall("director") if d.text and d.text.strip()]
    collection = root.find("set")
    if collection is not None:
        nfo.collection = _text(collection, "name") or (collection.text or "").strip() or None
    return nfo


def parse(data: bytes, source: str = "<nfo>") -> Nfo | None:
    """The NFO in ``data``; None when it holds nothing usable (logged, never raised)."""
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.strip()
    if not stripped:
        return None
    if stripped.startswith("<"):
        # Kodi allows a URL after the closing tag; keep only the XML document itself
        end = max(
            (
                stripped.rfind(f"</{tag}>") + len(tag) + 3
                for tag in ROOTS
                if f"</{tag}>" in stripped
            ),
            default=len(stripped),
        )
        try:
            root = ET.fromstring(stripped[:end])
        except ET.ParseError as exc:
            log.warning("malformed NFO ignored", extra={"path": source, "error": str(exc)})
            ids = ids_from_text(text)
            return Nfo(ids=ids, url_only=True) if ids else None
        if root.tag not in ROOTS:
            log.warning("NFO with unknown root ignored", extra={"path": source, "root": root.tag})
            return None
        nfo = _from_xml(root)
        for kind, value in ids_from_text(stripped[end:]).items():
            nfo.ids.setdefault(kind, value)
        return nfo
    ids = ids_from_text(text)
    return Nfo(ids=ids, url_only=True) if ids else None


def read(path: Path) -> Nfo | None:
    """Blocking: run in a worker thread."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_NFO_BYTES)
    except OSError as exc:
        log.warning("NFO unreadable", extra={"path": str(path), "error": str(exc)})
        return None
    return parse(data, str(path))
