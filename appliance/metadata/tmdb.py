"""TMDB v3 client and provider: search, details with ``append_to_response``, seasons.

* Auth: a v4 read access token (a JWT, sent as ``Authorization: Bearer``) or a v3 API key
  (``api_key`` query parameter); never logged, never part of a cache key.
* Every GET goes through the Postgres ``provider_cache`` first (``cache_days``), so a rescan
  does not query TMDB again for items it already knows.
* 429 waits for ``Retry-After`` (capped); 5xx, timeouts and connection errors retry with
  exponential backoff; 404 is "nothing"; 401 and other 4xx raise :class:`TmdbError`.
* Matching: normalised titles (case, accents, punctuation, leading articles, ``&``), the
  original title too, year +-1, ties broken by popularity then votes. An id from the NFO, the
  file name or an "identify" choice is used without searching.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import trio

from store import metadata
from store.db import Database
from store.metadata import Fields, Person

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.themoviedb.org/3"
DEFAULT_IMAGE_BASE = "https://image.tmdb.org/t/p/"
_ARTICLES = re.compile(r"^(the|a|an|le|la|les|l|der|die|das|el|los|las|il|lo|de|het)\s+")
MATCH_THRESHOLD = 70.0


class TmdbError(Exception):
    """TMDB refused the request (bad key, bad request): retrying will not help."""


@dataclass(frozen=True)
class TmdbSettings:
    api_key: str
    base_url: str = DEFAULT_BASE_URL
    language: str = "en-US"
    region: str = ""
    timeout_seconds: float = 10.0
    max_attempts: int = 4
    backoff_seconds: float = 0.5
    max_retry_after_seconds: float = 30.0
    cache_days: int = 30
    concurrency: int = 8


@dataclass
class Match:
    tmdb_id: int
    title: str
    original_title: str | None
    year: int | None
    score: float
    popularity: float
    votes: int
    overview: str | None = None
    poster_path: str | None = None


def normalise(title: str) -> str:
    text = unicodedata.normalize("NFKD", title)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("&", " and ")
    text = re.sub(r"[^\w\s]", " ", text)
    text = " ".join(text.split())
    return _ARTICLES.sub("", text)


def _year(date: str | None) -> int | None:
    if date and len(date) >= 4 and date[:4].isdigit():
        return int(date[:4])
    return None


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def rank(results: list[dict[str, Any]], title: str, year: int | None, kind: str) -> list[Match]:
    """Candidates best first; ``score`` is 0-120 (title similarity up to 100, year +20)."""
    wanted = normalise(title)
    matches: list[Match] = []
    for r in results:
        name = r.get("title") if kind == "movie" else r.get("name")
        original = r.get("original_title") if kind == "movie" else r.get("original_name")
        date = r.get("release_date") if kind == "movie" else r.get("first_air_date")
        if not name or not isinstance(r.get("id"), int):
            continue
        similarity = max(
            difflib.SequenceMatcher(None, wanted, normalise(candidate)).ratio()
            for candidate in (name, original or name)
        )
        score = 100.0 if similarity == 1.0 else similarity * 80.0
        found_year = _year(date)
        if year is not None and found_year is not None:
            gap = abs(found_year - year)
            score += 20.0 if gap == 0 else 10.0 if gap == 1 else -30.0
        matches.append(
            Match(
                r["id"],
                name,
                original,
                found_year,
                score,
                float(r.get("popularity") or 0),
                int(r.get("vote_count") or 0),
                r.get("overview"),
                r.get("poster_path"),
            )
        )
    matches.sort(key=lambda m: (-m.score, -m.popularity, -m.votes))
    return matches


class TmdbClient:
    def __init__(self, db: Database, http: httpx.AsyncClient, settings: TmdbSettings) -> None:
        self.db = db
        self.http = http
        self.settings = settings
        self.requests = 0  # HTTP requests made (tests and the bench count them)
        self._image_base: str | None = None

    @staticmethod
    def open_http(settings: TmdbSettings) -> httpx.AsyncClient:
        headers = {"Accept": "application/json", "User-Agent": "Ferrex"}
        if _is_bearer(settings.api_key):
            headers["Authorization"] = f"Bearer {settings.api_key}"
        return httpx.AsyncClient(
            timeout=settings.timeout_seconds,
            headers=headers,
            follow_redirects=True,
            limits=httpx.Limits(max_connections=settings.concurrency),
        )

    def _url(self, path: str, params: dict[str, Any]) -> tuple[str, str]:
        """(cache key without the key, URL with it)."""
        query = sorted((k, str(v)) for k, v in params.items() if v not in (None, ""))
        key = f"tmdb:{path}?{urllib.parse.urlencode(query)}"
        if not _is_bearer(self.settings.api_key):
            query.append(("api_key", self.settings.api_key))
        return key, f"{self.settings.base_url.rstrip('/')}{path}?{urllib.parse.urlencode(query)}"

    async def get(self, path: str, **params: Any) -> dict[str, Any] | None:
        key, url = self._url(path, params)
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=self.settings.cache_days)
        cached = await metadata.cache_get(self.db, key, since)
        if cached is not None:
            body: dict[str, Any] = msgspec.json.decode(cached)
            return body or None
        result = await self._fetch(url, path)
        # 404s are cached as {} too: a rescan must not ask again for what does not exist
        await metadata.cache_put(self.db, key, msgspec.json.encode(result or {}).decode())
        return result

    async def _fetch(self, url: str, path: str) -> dict[str, Any] | None:
        s = self.settings
        for attempt in range(1, s.max_attempts + 1):
            last = attempt == s.max_attempts
            self.requests += 1
            try:
                response = await self.http.get(url)
            except httpx.TransportError as exc:  # timeouts, refused connections
                if last:
                    raise
                log.info(
                    "tmdb request failed; retrying",
                    extra={"path": path, "error": type(exc).__name__},
                )
                await trio.sleep(s.backoff_seconds * 2 ** (attempt - 1))
                continue
            if response.status_code == 200:
                data = response.json()
                return data if isinstance(data, dict) else None
            if response.status_code == 404:
                return None
            if response.status_code == 429 and not last:
                wait = _retry_after(response.headers.get("Retry-After"), s.backoff_seconds)
                await trio.sleep(min(wait, s.max_retry_after_seconds))
                continue
            if response.status_code >= 500 and not last:
                await trio.sleep(s.backoff_seconds * 2 ** (attempt - 1))
                continue
            if response.status_code in (429,) or response.status_code >= 500:
                raise httpx.HTTPStatusError(
                    f"TMDB {response.status_code} for {path}",
                    request=response.request,
                    response=response,
                )
            raise TmdbError(f"TMDB {response.status_code} for {path}")
        raise AssertionError("unreachable")

    async def image_base(self) -> str:
        if self._image_base is None:
            config = await self.get("/configuration")
            images = (config or {}).get("images") or {}
            self._image_base = images.get("secure_base_url") or DEFAULT_IMAGE_BASE
        return self._image_base

    def _common(self) -> dict[str, Any]:
        return {"language": self.settings.language}

    async def search(self, kind: str, title: str, year: int | None) -> list[Match]:
        params: dict[str, Any] = {"query": title, "include_adult": "false", **self._common()}
        if kind == "movie":
            params["region"] = self.settings.region
            params["year"] = year
            data = await self.get("/search/movie", **params)
        else:
            params["first_air_date_year"] = year
            data = await self.get("/search/tv", **params)
        results = list((data or {}).get("results") or [])
        if not results and year is not None:  # a wrong year in the file name: search without
            return await self.search(kind, title, None)
        return rank(results, title, year, kind)

    async def details(self, kind: str, tmdb_id: int) -> dict[str, Any] | None:
        if kind == "movie":
            return await self.get(
                f"/movie/{tmdb_id}",
                **self._common(),
                append_to_response="credits,images,release_dates,external_ids",
                include_image_language="en,null",
            )
        return await self.get(
            f"/tv/{tmdb_id}",
            **self._common(),
            append_to_response="credits,images,content_ratings,external_ids",
            include_image_language="en,null",
        )

    async def season(self, tmdb_id: int, number: int) -> dict[str, Any] | None:
        return await self.get(f"/tv/{tmdb_id}/season/{number}", **self._common())

    async def find_imdb(self, imdb_id: str, kind: str) -> int | None:
        data = await self.get(f"/find/{imdb_id}", external_source="imdb_id", **self._common())
        results = (data or {}).get("movie_results" if kind == "movie" else "tv_results") or []
        return int(results[0]["id"]) if results else None


def _is_bearer(key: str) -> bool:
    return key.startswith("eyJ") and key.count(".") == 2


def _retry_after(value: str | None, default: float) -> float:
    try:
        return max(0.0, float(value)) if value else default
    except ValueError:
        return default


@dataclass
class Described:
    fields: Fields
    tmdb_id: int | None
    images: dict[str, str] = field(default_factory=dict)  # kind -> URL
    season: dict[str, Any] | None = None


def _certification(details: dict[str, Any], kind: str, region: str) -> str | None:
    country = (region or "US").upper()
    if kind == "movie":
        for entry in (details.get("release_dates") or {}).get("results") or []:
            if entry.get("iso_3166_1") == country:
                for release in entry.get("release_dates") or []:
                    if release.get("certification"):
                        return str(release["certification"])
        return None
    for entry in (details.get("content_ratings") or {}).get("results") or []:
        if entry.get("iso_3166_1") == country and entry.get("rating"):
            return str(entry["rating"])
    return None


def _people(credits: dict[str, Any] | None, limit: int = 30) -> list[Person]:
    people: list[Person] = []
    for c in ((credits or {}).get("cast") or [])[:limit]:
        people.append(
            Person(
                c.get("name") or "?",
                "actor",
                c.get("character") or None,
                c.get("profile_path"),
                {"tmdb": str(c.get("id"))},
            )
        )
    for c in (credits or {}).get("crew") or []:
        job = c.get("job")
        kind = {"Director": "director", "Screenplay": "writer", "Writer": "writer"}.get(job or "")
        if kind:
            people.append(
                Person(
                    c.get("name") or "?",
                    kind,
                    None,
                    c.get("profile_path"),
                    {"tmdb": str(c.get("id"))},
                )
            )
    return people


def _best_logo(details: dict[str, Any]) -> str | None:
    logos = (details.get("images") or {}).get("logos") or []
    return str(logos[0]["file_path"]) if logos and logos[0].get("file_path") else None


def fields_from_details(
    details: dict[str, Any], kind: str, region: str, image_base: str
) -> Described:
    movie = kind == "movie"
    f = Fields()
    f.title = details.get("title" if movie else "name")
    f.original_title = details.get("original_title" if movie else "original_name")
    date = details.get("release_date" if movie else "first_air_date")
    f.release_date = _date(date)
    f.year = _year(date)
    f.overview = details.get("overview") or None
    f.tagline = details.get("tagline") or None
    f.genres = [g["name"] for g in details.get("genres") or [] if g.get("name")]
    companies = details.get("production_companies" if movie else "networks") or []
    f.studios = [c["name"] for c in companies if c.get("name")]
    if details.get("vote_average") is not None and details.get("vote_count"):
        f.rating = float(details["vote_average"])
        f.ratings = {"tmdb": {"value": f.rating, "votes": int(details["vote_count"])}}
    f.mpaa = _certification(details, kind, region)
    runtime = details.get("runtime") if movie else (details.get("episode_run_time") or [None])[0]
    f.runtime_minutes = int(runtime) if runtime else None
    collection = details.get("belongs_to_collection")
    f.collection = collection.get("name") if isinstance(collection, dict) else None
    f.external_ids = {"tmdb": str(details["id"])}
    ext = details.get("external_ids") or {}
    if ext.get("imdb_id") or details.get("imdb_id"):
        f.external_ids["imdb"] = str(ext.get("imdb_id") or details.get("imdb_id"))
    if ext.get("tvdb_id"):
        f.external_ids["tvdb"] = str(ext["tvdb_id"])
    f.people = _people(details.get("credits"))
    for p in f.people:
        if p.thumb_url:
            p.thumb_url = f"{image_base}w185{p.thumb_url}"
    images: dict[str, str] = {}
    if details.get("poster_path"):
        images["poster"] = f"{image_base}w780{details['poster_path']}"
    if details.get("backdrop_path"):
        images["backdrop"] = f"{image_base}w1280{details['backdrop_path']}"
    if logo := _best_logo(details):
        images["logo"] = f"{image_base}w500{logo}"
    return Described(f, int(details["id"]), images)


def fields_from_season(season: dict[str, Any], image_base: str) -> Described:
    f = Fields(overview=season.get("overview") or None, release_date=_date(season.get("air_date")))
    images = (
        {"poster": f"{image_base}w780{season['poster_path']}"} if season.get("poster_path") else {}
    )
    return Described(f, None, images, season)


def fields_from_episode(
    season: dict[str, Any], numbers: list[int], image_base: str
) -> Described | None:
    episodes = {e.get("episode_number"): e for e in season.get("episodes") or []}
    found = [episodes[n] for n in numbers if n in episodes]
    if not found:
        return None
    first = found[0]
    f = Fields()
    f.title = " / ".join(e.get("name") or "" for e in found) or None
    f.overview = "\n\n".join(e["overview"] for e in found if e.get("overview")) or None
    f.release_date = _date(first.get("air_date"))
    runtimes = [e["runtime"] for e in found if e.get("runtime")]
    f.runtime_minutes = sum(runtimes) if runtimes else None
    if first.get("vote_average") is not None and first.get("vote_count"):
        f.rating = float(first["vote_average"])
        f.ratings = {"tmdb": {"value": f.rating, "votes": int(first["vote_count"])}}
    if first.get("id"):
        f.external_ids = {"tmdb": str(first["id"])}
    f.people = [
        Person(
            c.get("name") or "?",
            "guest",
            c.get("character") or None,
            f"{image_base}w185{c['profile_path']}" if c.get("profile_path") else None,
            {"tmdb": str(c.get("id"))},
        )
        for c in (first.get("guest_stars") or [])[:20]
    ]
    images = {"thumb": f"{image_base}w780{first['still_path']}"} if first.get("still_path") else {}
    return Described(f, None, images)
