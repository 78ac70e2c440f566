"""TMDB enrichment against a local fake TMDB server: matching, fields, images, cache, failures."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
import trio

from appliance.config import MetadataSection
from appliance.metadata import tmdb
from appliance.metadata.enrich import MetadataSettings, settings_from_config
from appliance.metadata.tmdb import TmdbClient, TmdbSettings
from appliance.orchestration.dispatcher import Dispatcher
from appliance.redis_client import RedisClient
from appliance.scan.pipeline import PipelineSettings, handlers
from appliance.scan.service import ScanService
from store import libraries, metadata
from store.db import Database
from tests import tmdbfake
from tests.authkit import Harness as AuthHarness
from tests.scankit import running_pipeline
from tests.test_metadata import MOVIE_NFO, Harness, jpeg, write


def test_rank_normalises_titles_years_and_ties() -> None:
    results = [
        {"id": 1, "title": "Heat", "release_date": "1986-03-14", "popularity": 5},
        {"id": 2, "title": "Heat", "release_date": "1995-12-15", "popularity": 40},
        {"id": 3, "title": "Heat Wave", "release_date": "1995-01-01", "popularity": 90},
    ]
    assert tmdb.rank(results, "heat", 1995, "movie")[0].tmdb_id == 2
    assert tmdb.rank(results, "Heat", 1996, "movie")[0].tmdb_id == 2  # year +-1
    assert tmdb.rank(results, "Heat", None, "movie")[0].tmdb_id == 2  # tie: popularity
    assert (
        tmdb.normalise("The Lord of the Rings: The Two Towers")
        == "lord of the rings the two towers"
    )
    assert tmdb.normalise("Amélie & Co.") == "amelie and co"
    original = [
        {
            "id": 7,
            "title": "Amélie",
            "original_title": "Le Fabuleux Destin d'Amélie Poulain",
            "release_date": "2001-04-25",
        }
    ]
    best = tmdb.rank(original, "Le fabuleux destin d'Amelie Poulain", 2001, "movie")[0]
    assert best.score >= 100
    tv = [
        {"id": 9, "name": "The Office", "first_air_date": "2005-03-24", "popularity": 1},
        {"id": 8, "name": "The Office", "first_air_date": "2001-07-09", "popularity": 2},
    ]
    assert tmdb.rank(tv, "Office", 2005, "tv")[0].tmdb_id == 9


@pytest.fixture
def fake() -> Iterator[tmdbfake.FakeTmdb]:
    with tmdbfake.running() as server:
        yield server


def tmdb_settings(fake: tmdbfake.FakeTmdb, **overrides: object) -> TmdbSettings:
    values: dict[str, object] = dict(
        api_key="v3key", base_url=fake.api, backoff_seconds=0.01, timeout_seconds=2.0
    )
    values.update(overrides)
    return TmdbSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def harness(db: Database, tmp_path: Path, fake: tmdbfake.FakeTmdb) -> AsyncIterator[Harness]:
    data_dir = tmp_path / "data"
    settings = PipelineSettings(
        analyze=False,
        metadata=MetadataSettings(data_dir=data_dir, tmdb=tmdb_settings(fake, max_attempts=2)),
    )
    async with running_pipeline(db, settings) as pipeline:
        yield Harness(db, pipeline.service, data_dir)


async def test_movies_from_tmdb_with_nfo_first(
    harness: Harness, tmp_path: Path, fake: tmdbfake.FakeTmdb
) -> None:
    root = tmp_path / "films"
    write(root, "Heat (1995)/Heat (1995).mkv")
    write(root, "The Matrix (1999)/The Matrix (1999).mkv")
    write(root, "The Matrix (1999)/movie.nfo", MOVIE_NFO)  # has tmdb id 603 and its own plot
    write(root, "The Matrix (1999)/poster.jpg", jpeg(400, 600))
    write(
        root,
        "Le Fabuleux Destin d'Amelie Poulain (2001)/Le Fabuleux Destin d'Amelie Poulain (2001).mkv",
    )
    write(root, "Nowhere To Be Found (1979)/Nowhere To Be Found (1979).mkv")
    library = await libraries.create(harness.db, "Films", "movies", [str(root)])
    await harness.scan(library.id)

    heat = await harness.item(library.id, "movie", "Heat")
    assert heat["metadata_source"] == "tmdb" and heat["metadata_error"] is None
    assert heat["year"] == 1995 and heat["release_date"] == dt.date(1995, 12, 15)
    assert heat["overview"] == "Obsessive master thief McCauley."
    assert heat["tagline"] == "A Los Angeles crime saga"
    assert heat["genres"] == ["Action", "Crime"] and heat["studios"] == ["Regency Enterprises"]
    assert heat["rating"] == pytest.approx(7.9)
    assert heat["ratings"]["tmdb"] == {"value": 7.9, "votes": 7000}
    assert heat["mpaa"] == "R" and heat["runtime_minutes"] == 170
    assert heat["external_ids"]["tmdb"] == "949" and heat["external_ids"]["imdb"] == "tt0113277"
    assert heat["people"] == [
        ("Al Pacino", "actor", "Vincent Hanna"),
        ("Robert De Niro", "actor", "Neil McCauley"),
        ("Michael Mann", "director", None),
    ]
    assert set(heat["images"]) == {"poster", "backdrop", "logo"}
    poster = await metadata.image(harness.db, heat["images"]["poster"])
    assert poster is not None and poster.source_path is None  # downloaded: kept in the cache
    assert (harness.data_dir / "images" / "originals" / poster.id[:2] / poster.id).exists()

    matrix = await harness.item(library.id, "movie", "The Matrix")
    assert matrix["metadata_source"] == "nfo+tmdb"
    assert matrix["overview"] == "A hacker learns the truth."  # the NFO wins
    assert matrix["genres"] == ["Action", "Science Fiction"]  # the NFO's
    assert matrix["collection"] == "The Matrix Collection"
    # Heat 1, Amelie 1 and the unknown film 2 (again without the year); none for The Matrix:
    # its NFO had the id
    assert fake.count("/3/search/movie") == 4
    matrix_poster = await metadata.image(harness.db, matrix["images"]["poster"])
    assert matrix_poster is not None and matrix_poster.source_path  # local art wins

    amelie = await harness.item(library.id, "movie", "Amélie")  # matched on original title
    assert amelie["original_title"] == "Le Fabuleux Destin d'Amélie Poulain"
    missing = await harness.item(library.id, "movie", "Nowhere To Be Found")
    assert missing["metadata_source"] is None and missing["year"] == 1979

    # a rescan asks TMDB nothing again: described items are not queued, the rest hit the cache
    before = len(fake.requests)
    await harness.scan(library.id, force=True)
    assert len(fake.requests) == before
    assert all(key is None or key == "v3key" for _, key in fake.auth)
    assert all(auth is None for auth, _ in fake.auth)


async def test_series_seasons_and_episodes(
    harness: Harness, tmp_path: Path, fake: tmdbfake.FakeTmdb
) -> None:
    root = tmp_path / "shows"
    write(root, "Breaking Bad (2008)/Season 01/Breaking Bad - S01E01.mkv")
    write(root, "Breaking Bad (2008)/Season 01/Breaking Bad - S01E02.mkv")
    library = await libraries.create(harness.db, "Shows", "series", [str(root)])
    await harness.scan(library.id)
    series = await harness.item(library.id, "series", "Breaking Bad")
    assert series["metadata_source"] == "tmdb" and series["mpaa"] == "TV-MA"
    assert series["studios"] == ["AMC"] and series["runtime_minutes"] == 47
    assert series["external_ids"] == {"tmdb": "1396", "imdb": "tt0903747", "tvdb": "81189"}
    assert set(series["images"]) == {"poster", "backdrop"}
    season = await harness.item(library.id, "season", "Season 1")
    assert season["overview"] == "High school chemistry teacher Walter White."
    assert set(season["images"]) == {"poster"}
    pilot = await harness.item(library.id, "episode", "Pilot")
    assert pilot["overview"] == "Walter is diagnosed." and pilot["runtime_minutes"] == 58
    assert pilot["release_date"] == dt.date(2008, 1, 20)
    assert pilot["people"] == [("Guest One", "guest", "Doctor")]
    assert set(pilot["images"]) == {"thumb"}
    second = await harness.item(library.id, "episode", "Cat's in the Bag...")
    assert second["images"] == {}
    assert fake.count("/3/tv/1396/season/1") == 1  # once for the season and both episodes


async def test_failures_keep_the_parsed_title_and_retry_later(
    harness: Harness, tmp_path: Path, fake: tmdbfake.FakeTmdb
) -> None:
    root = tmp_path / "films"
    write(root, "Heat (1995)/Heat (1995).mkv")
    fake.fail = [500] * 20  # max_attempts=2: configuration and search both fail
    library = await libraries.create(harness.db, "Films", "movies", [str(root)])
    await harness.scan(library.id)
    heat = await harness.item(library.id, "movie", "Heat")
    assert heat["metadata_source"] is None and heat["year"] == 1995
    assert heat["metadata_error"].startswith("tmdb:")
    fake.fail = []
    await harness.scan(library.id, force=True)  # not described yet: tried again
    heat = await harness.item(library.id, "movie", "Heat")
    assert heat["metadata_source"] == "tmdb" and heat["metadata_error"] is None


async def test_client_retries_429_5xx_and_timeouts(db: Database, fake: tmdbfake.FakeTmdb) -> None:
    settings = tmdb_settings(fake, timeout_seconds=0.5)
    async with TmdbClient.open_http(settings) as http:
        client = TmdbClient(db, http, settings)
        fake.fail = [429]
        fake.retry_after = "1"
        start = trio.current_time()
        assert (await client.details("movie", 949) or {})["title"] == "Heat"
        assert trio.current_time() - start >= 1.0  # waited for Retry-After
        fake.fail = [500, 503]
        assert (await client.details("movie", 603) or {})["title"] == "The Matrix"
        fake.slow_next = 1.5
        assert (await client.details("movie", 7001) or {})["id"] == 7001
        assert await client.details("movie", 123456) is None  # 404: nothing
        before = client.requests
        assert await client.details("movie", 123456) is None  # and cached as nothing
        assert (await client.details("movie", 949) or {})["title"] == "Heat"  # cached
        assert client.requests == before
        fake.fail = [500] * 10
        with pytest.raises(httpx.HTTPStatusError):
            await client.details("movie", 2001)
        fake.fail = [401]
        with pytest.raises(tmdb.TmdbError):
            await client.details("tv", 1396)
    bearer = tmdb_settings(fake, api_key="eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJ4In0.sig")
    fake.fail = []
    async with TmdbClient.open_http(bearer) as http:
        assert await TmdbClient(db, http, bearer).season(1396, 1) is not None
    auth, key = fake.auth[-1]
    assert auth == f"Bearer {bearer.api_key}" and key is None


async def test_search_without_year_when_the_year_is_wrong(
    db: Database, fake: tmdbfake.FakeTmdb
) -> None:
    settings = tmdb_settings(fake)
    async with TmdbClient.open_http(settings) as http:
        matches = await TmdbClient(db, http, settings).search("movie", "Heat", 1994)
    assert matches[0].tmdb_id == 949  # 1994 finds nothing; without the year, 1995 is +-1


async def test_identify_lists_candidates_and_the_choice_survives(
    db: Database, redis: RedisClient, tmp_path: Path, fake: tmdbfake.FakeTmdb
) -> None:
    h = AuthHarness(db, redis, tmp_path / "data")
    h.state.config = msgspec.structs.replace(
        h.state.config, metadata=MetadataSection(tmdb_api_key="v3key", tmdb_base_url=fake.api)
    )
    await h.claim()
    token = await h.token()
    settings = PipelineSettings(
        analyze=False, metadata=settings_from_config(h.state.config, tmp_path / "data")
    )
    dispatcher = Dispatcher(
        db, handlers(settings), bus=h.state.bus, idle_poll_seconds=0.05, housekeeping_seconds=0.5
    )
    service = ScanService(db, h.state.bus, wake_dispatcher=dispatcher.wake)
    scanner = Harness(db, service, tmp_path / "data")
    root = tmp_path / "films"
    write(root, "Heat (1986)/Heat (1986).mkv")
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        library = await libraries.create(db, "Films", "movies", [str(root)])
        await scanner.scan(library.id)
        heat = await scanner.item(library.id, "movie", "Heat")
        assert heat["year"] == 1986 and heat["external_ids"]["tmdb"] == "2001"  # best by year
        path = f"/api/v1/metadata/items/{heat['id']}/identify"

        listed = await h.call("GET", path, token=token)
        assert listed.status == 200, listed.body
        assert [c["tmdb_id"] for c in listed.body["items"]] == [2001]
        other_year = await h.call("GET", f"{path}?year=1995", token=token)
        assert other_year.body["items"][0]["tmdb_id"] == 949
        assert other_year.body["items"][0]["poster_url"].endswith("/w342/heat-poster.jpg")

        chosen = await h.call("POST", path, {"tmdb_id": 949}, token=token)
        assert chosen.status == 200, chosen.body
        assert chosen.body["year"] == 1995 and chosen.body["external_ids"]["tmdb"] == "949"
        assert chosen.body["overview"] == "Obsessive master thief McCauley."
        assert set(chosen.body["images"]) == {"poster", "backdrop", "logo"}

        await scanner.scan(library.id, force=True)
        refreshed = await h.call(
            "POST", f"/api/v1/metadata/items/{heat['id']}/refresh", token=token
        )
        assert refreshed.body["external_ids"]["tmdb"] == "949"  # not searched again
        assert refreshed.body["year"] == 1995
        season_like = await h.call(
            "GET", f"/api/v1/metadata/items/{uuid.uuid4()}/identify", token=token
        )
        assert season_like.status == 404
        nursery.cancel_scope.cancel()

    h.state.config = msgspec.structs.replace(h.state.config, metadata=MetadataSection())
    off = await h.call("GET", path, token=token)
    assert off.status == 409 and off.code == "tmdb_not_configured"
