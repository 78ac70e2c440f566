"""Metadata (issue 4): Kodi NFO files and local artwork through the real scan pipeline."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
from PIL import Image

from appliance.events import InProcEventBus
from appliance.metadata import art, blurhash, images, nfo
from appliance.metadata.enrich import MetadataSettings
from appliance.orchestration.dispatcher import Dispatcher
from appliance.scan.pipeline import PipelineSettings, handlers
from appliance.scan.service import ScanService
from store import libraries, media_index, metadata
from store.db import Database
from tests.scankit import ScanHarness, running_pipeline

MOVIE_NFO = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<movie>
  <title>The Matrix</title>
  <originaltitle>The Matrix (orig)</originaltitle>
  <sorttitle>Matrix 1</sorttitle>
  <year>1999</year>
  <premiered>1999-03-31</premiered>
  <plot>A hacker learns the truth.</plot>
  <tagline>Welcome to the Real World.</tagline>
  <runtime>136</runtime>
  <genre>Action</genre>
  <genre>Science Fiction</genre>
  <studio>Warner Bros.</studio>
  <mpaa>Rated R</mpaa>
  <ratings>
    <rating name="imdb" max="10"><value>8.7</value><votes>1900000</votes></rating>
    <rating name="themoviedb" max="10" default="true"><value>8.2</value>
      <votes>24000</votes></rating>
  </ratings>
  <uniqueid type="tmdb" default="true">603</uniqueid>
  <uniqueid type="imdb">tt0133093</uniqueid>
  <set><name>The Matrix Collection</name></set>
  <director>Lana Wachowski</director>
  <actor><name>Keanu Reeves</name><role>Neo</role><thumb>http://x/keanu.jpg</thumb></actor>
  <actor><name>Carrie-Anne Moss</name><role>Trinity</role></actor>
</movie>
https://www.themoviedb.org/movie/603-the-matrix
"""


def jpeg(width: int, height: int, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG", quality=90)
    return out.getvalue()


def near(color: str, rgb: tuple[int, int, int]) -> bool:
    """JPEG shifts colours a little."""
    got = bytes.fromhex(color.lstrip("#"))
    return all(abs(a - b) <= 4 for a, b in zip(got, rgb, strict=True))


def write(root: Path, relative: str, content: bytes = b"\0" * 64) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


# ---- NFO parsing -------------------------------------------------------------------------------


def test_nfo_movie_fields() -> None:
    found = nfo.parse(MOVIE_NFO)
    assert found is not None and found.kind == "movie" and not found.url_only
    assert found.title == "The Matrix"
    assert found.original_title == "The Matrix (orig)"
    assert found.sort_title == "Matrix 1"
    assert found.year == 1999
    assert found.premiered == dt.date(1999, 3, 31)
    assert found.plot == "A hacker learns the truth."
    assert found.tagline == "Welcome to the Real World."
    assert found.runtime_minutes == 136
    assert found.genres == ["Action", "Science Fiction"]
    assert found.studios == ["Warner Bros."]
    assert found.mpaa == "Rated R"
    assert found.rating == 8.2  # the default="true" one
    assert found.ratings["imdb"] == {"value": 8.7, "votes": 1900000}
    assert found.ids == {"tmdb": "603", "imdb": "tt0133093"}
    assert found.collection == "The Matrix Collection"
    assert found.directors == ["Lana Wachowski"]
    assert [(a.name, a.role, a.thumb) for a in found.actors] == [
        ("Keanu Reeves", "Neo", "http://x/keanu.jpg"),
        ("Carrie-Anne Moss", "Trinity", None),
    ]


def test_blurhash_matches_the_reference_encoder() -> None:
    # worked by hand from the reference: size flag 0, max AC 0, DC 0xff0000 in base 83
    assert blurhash.encode([(255, 0, 0)] * 64, 8, 8, 1, 1) == "00TI:j"
    grey = blurhash.encode([(128, 128, 128)] * 64, 8, 8)
    assert grey[0] == "L" and len(grey) == 28  # 4x3: flag, max, DC (4), 11 AC x 2
    assert grey[2:6] == "".join(blurhash._base83(0x808080, 4))


def test_nfo_url_only_malformed_and_legacy() -> None:
    url_only = nfo.parse(b"https://www.themoviedb.org/movie/27205-inception\n")
    assert url_only is not None and url_only.url_only and url_only.ids == {"tmdb": "27205"}
    imdb = nfo.parse(b"\xef\xbb\xbfhttp://www.imdb.com/title/tt1375666/")
    assert imdb is not None and imdb.ids == {"imdb": "tt1375666"}
    assert nfo.parse(b"<movie><title>Broken</title><plot>no end") is None
    # malformed XML that still carries a link: the link's id is used, nothing else
    broken = nfo.parse(b"<movie><title>x</titl>\nhttps://www.imdb.com/title/tt0000001/")
    assert broken is not None and broken.url_only and broken.ids == {"imdb": "tt0000001"}
    assert nfo.parse(b"") is None and nfo.parse(b"just words") is None
    assert nfo.parse(b"<html><body/></html>") is None
    legacy = nfo.parse(
        b"<tvshow><title>Lost</title><rating>8.3</rating><tvdbid>73739</tvdbid>"
        b"<genre>Drama / Mystery</genre><premiered>2004-09-22</premiered></tvshow>"
    )
    assert legacy is not None and legacy.kind == "tvshow"
    assert legacy.rating == 8.3 and legacy.ids == {"tvdb": "73739"}
    assert legacy.genres == ["Drama", "Mystery"] and legacy.year == 2004
    episode = nfo.parse(
        b"<episodedetails><title>Pilot</title><season>1</season>"
        b"<episode>1</episode><aired>2008-01-20</aired></episodedetails>"
    )
    assert episode is not None and (episode.season, episode.episode) == (1, 1)
    assert episode.premiered == dt.date(2008, 1, 20)


# ---- through the scan pipeline -----------------------------------------------------------------


class Harness(ScanHarness):
    """The shared pipeline harness, plus the metadata of one item as a plain dict."""

    def __init__(self, db: Database, service: ScanService, data_dir: Path) -> None:
        super().__init__(db, service)
        self.data_dir = data_dir

    async def item(self, library_id: uuid.UUID, kind: str, title: str) -> dict[str, Any]:
        rows = [
            r
            for r in await media_index.items(self.db, library_id)
            if r["kind"] == kind and r["title"] == title
        ]
        assert len(rows) == 1, (kind, title, await media_index.items(self.db, library_id))
        row = await metadata.item(self.db, rows[0]["id"])
        assert row is not None
        data = msgspec.structs.asdict(row)
        for key in ("ratings", "external_ids", "images", "placeholder"):
            data[key] = msgspec.json.decode(data[key]) if data[key] else None
        data["people"] = [
            (p.name, p.kind, p.role) for p in await metadata.item_people(self.db, rows[0]["id"])
        ]
        return data


@pytest.fixture
async def harness(db: Database, tmp_path: Path) -> AsyncIterator[Harness]:
    data_dir = tmp_path / "data"
    settings = PipelineSettings(analyze=False, metadata=MetadataSettings(data_dir=data_dir))
    async with running_pipeline(db, settings) as pipeline:
        yield Harness(pipeline.db, pipeline.service, data_dir)


@pytest.mark.slow  # a whole library scan with analysis and artwork: 4-7 s
async def test_movie_library_nfo_and_art(harness: Harness, tmp_path: Path) -> None:
    root = tmp_path / "films"
    write(root, "The Matrix (1999)/The Matrix (1999).mkv")
    write(root, "The Matrix (1999)/movie.nfo", MOVIE_NFO)
    write(root, "The Matrix (1999)/poster.jpg", jpeg(400, 600, (10, 200, 10)))
    write(root, "The Matrix (1999)/fanart.jpg", jpeg(1920, 1080))
    write(root, "The Matrix (1999)/logo.png", b"not a png at all")  # corrupt: recorded
    write(root, "Inception (2010)/Inception (2010).mkv")
    write(
        root,
        "Inception (2010)/Inception (2010).nfo",
        b"https://www.themoviedb.org/movie/27205-inception",
    )
    write(root, "Inception (2010)/Inception (2010)-poster.webp", b"")  # empty: recorded
    write(root, "Broken (2001)/Broken (2001).mkv")
    write(root, "Broken (2001)/movie.nfo", b"<movie><title>Oops</title><plot>unclosed")
    write(root, "Loose (2005).mkv")
    write(root, "poster.jpg", jpeg(50, 75))  # at the root: belongs to no film
    library = await libraries.create(harness.db, "Films", "movies", [str(root)])
    await harness.scan(library.id)

    matrix = await harness.item(library.id, "movie", "The Matrix")
    assert matrix["sort_title"] == "matrix 1"
    assert matrix["original_title"] == "The Matrix (orig)"
    assert matrix["year"] == 1999
    assert matrix["overview"] == "A hacker learns the truth."
    assert matrix["tagline"] == "Welcome to the Real World."
    assert matrix["genres"] == ["Action", "Science Fiction"]
    assert matrix["studios"] == ["Warner Bros."]
    assert matrix["rating"] == pytest.approx(8.2)
    assert matrix["ratings"]["imdb"] == {"value": 8.7, "votes": 1900000}
    assert matrix["mpaa"] == "Rated R"
    assert matrix["runtime_minutes"] == 136
    assert matrix["release_date"] == dt.date(1999, 3, 31)
    assert matrix["collection"] == "The Matrix Collection"
    assert matrix["external_ids"]["tmdb"] == "603"
    assert matrix["external_ids"]["imdb"] == "tt0133093"
    assert matrix["metadata_source"] == "nfo"
    assert matrix["people"] == [
        ("Keanu Reeves", "actor", "Neo"),
        ("Carrie-Anne Moss", "actor", "Trinity"),
        ("Lana Wachowski", "director", None),
    ]
    assert set(matrix["images"]) == {"poster", "backdrop"}
    assert near(matrix["placeholder"]["color"], (10, 200, 10))
    assert matrix["placeholder"]["image_id"] == matrix["images"]["poster"]
    assert matrix["placeholder"]["aspect"] == pytest.approx(400 / 600, abs=1e-3)
    assert len(matrix["placeholder"]["blurhash"]) == 28  # 4x3 components
    assert matrix["placeholder"]["blurhash"][0] == "L"
    poster = await metadata.image(harness.db, matrix["images"]["poster"])
    assert poster is not None and (poster.width, poster.height) == (400, 600)
    assert (poster.source_path or "").endswith("The Matrix (1999)/poster.jpg")
    # local art is not copied; the w342 poster and w780 backdrop variants exist ahead of time
    assert not (harness.data_dir / "images" / "originals").exists()
    variants = sorted(
        p.name.split("-w")[1] for p in (harness.data_dir / "images" / "variants").rglob("*.webp")
    )
    assert variants == ["342.webp", "780.webp"]

    inception = await harness.item(library.id, "movie", "Inception")
    assert inception["external_ids"]["tmdb"] == "27205"  # URL-only NFO: ids, nothing else
    assert inception["metadata_source"] is None and inception["overview"] is None
    assert inception["images"] == {}

    broken = await harness.item(library.id, "movie", "Broken")  # malformed: parsed name kept
    assert broken["metadata_source"] is None and broken["overview"] is None
    loose = await harness.item(library.id, "movie", "Loose")
    assert loose["images"] == {} and loose["placeholder"] is None

    errors = {Path(r.source).name for r in await metadata.image_errors(harness.db)}
    assert errors == {"logo.png", "Inception (2010)-poster.webp"}


async def test_one_poster_file_in_many_film_folders(harness: Harness, tmp_path: Path) -> None:
    """The image stage writes a batch in one statement per table: the same poster bytes next
    to several films (one image id) still give each film its poster and placeholder, and a
    batch with an unreadable image keeps the readable ones."""
    root = tmp_path / "films"
    poster = jpeg(200, 300, (30, 60, 200))
    titles = ["Alpha (2001)", "Beta (2002)", "Gamma (2003)"]
    for title in titles:
        write(root, f"{title}/{title}.mkv")
        write(
            root,
            f"{title}/movie.nfo",
            f"<movie><title>{title[:-7]} NFO</title><genre>Drama</genre></movie>".encode(),
        )
        write(root, f"{title}/poster.jpg", poster)
    write(root, "Delta (2004)/Delta (2004).mkv")
    write(root, "Delta (2004)/poster.jpg", b"garbage")
    library = await libraries.create(harness.db, "Films", "movies", [str(root)])
    await harness.scan(library.id)

    ids = set()
    for title in titles:
        film = await harness.item(library.id, "movie", f"{title[:-7]} NFO")
        assert film["genres"] == ["Drama"] and film["metadata_source"] == "nfo"
        assert set(film["images"]) == {"poster"}
        assert film["placeholder"]["image_id"] == film["images"]["poster"]
        assert near(film["placeholder"]["color"], (30, 60, 200))
        ids.add(film["images"]["poster"])
    assert len(ids) == 1  # one original, known by its bytes
    stored = await metadata.image(harness.db, ids.pop())
    assert stored is not None and (stored.width, stored.height) == (200, 300)
    delta = await harness.item(library.id, "movie", "Delta")
    assert delta["images"] == {} and delta["placeholder"] is None
    errors = {Path(r.source).parent.name for r in await metadata.image_errors(harness.db)}
    assert errors == {"Delta (2004)"}


@pytest.mark.slow  # a whole library scan with analysis and artwork: about 4 s
async def test_series_library_nfo_and_art(harness: Harness, tmp_path: Path) -> None:
    root = tmp_path / "shows"
    show = "Breaking Bad (2008)"
    write(
        root,
        f"{show}/tvshow.nfo",
        b"<tvshow><title>Breaking Bad</title><plot>A teacher turns.</plot>"
        b"<genre>Drama</genre><genre>Crime</genre><mpaa>TV-MA</mpaa><premiered>2008-01-20"
        b"</premiered><studio>AMC</studio><uniqueid type='tvdb'>81189</uniqueid>"
        b"<uniqueid type='tmdb'>1396</uniqueid>"
        b"<actor><name>Bryan Cranston</name><role>Walter White</role></actor></tvshow>",
    )
    write(root, f"{show}/poster.jpg", jpeg(680, 1000))
    write(root, f"{show}/fanart.jpg", jpeg(1280, 720))
    write(root, f"{show}/season01-poster.jpg", jpeg(340, 500, (0, 0, 255)))
    write(root, f"{show}/Season 01/Breaking Bad - S01E01 - Pilot.mkv")
    write(
        root,
        f"{show}/Season 01/Breaking Bad - S01E01 - Pilot.nfo",
        b"<episodedetails><title>Pilot</title><season>1</season><episode>1</episode>"
        b"<plot>Walt is diagnosed.</plot><aired>2008-01-20</aired><runtime>58</runtime>"
        b"<rating>8.9</rating></episodedetails>",
    )
    write(root, f"{show}/Season 01/Breaking Bad - S01E01 - Pilot-thumb.jpg", jpeg(640, 360))
    write(root, f"{show}/Season 01/Breaking Bad - S01E02.mkv")
    write(root, f"{show}/Season 01/Breaking Bad - S01E02.nfo", b"<episodedetails><title>")
    library = await libraries.create(harness.db, "Shows", "series", [str(root)])
    await harness.scan(library.id)

    series = await harness.item(library.id, "series", "Breaking Bad")
    assert series["overview"] == "A teacher turns."
    assert series["genres"] == ["Drama", "Crime"]
    assert series["mpaa"] == "TV-MA" and series["studios"] == ["AMC"]
    assert series["release_date"] == dt.date(2008, 1, 20)
    assert series["external_ids"]["tvdb"] == "81189"
    assert series["external_ids"]["tmdb"] == "1396"
    assert series["people"] == [("Bryan Cranston", "actor", "Walter White")]
    assert set(series["images"]) == {"poster", "backdrop"}

    season = await harness.item(library.id, "season", "Season 1")
    assert set(season["images"]) == {"poster"}
    assert near(season["placeholder"]["color"], (0, 0, 255))

    pilot = await harness.item(library.id, "episode", "Pilot")
    assert pilot["overview"] == "Walt is diagnosed." and pilot["runtime_minutes"] == 58
    assert pilot["rating"] == pytest.approx(8.9)
    assert pilot["release_date"] == dt.date(2008, 1, 20)
    assert set(pilot["images"]) == {"thumb"}
    second = await harness.item(library.id, "episode", "Episode 2")  # malformed NFO: ignored
    assert second["metadata_source"] is None and second["images"] == {}

    # a rescan keeps everything and does not duplicate people
    await harness.scan(library.id, force=True)
    again = await harness.item(library.id, "series", "Breaking Bad")
    assert again["people"] == series["people"] and again["images"] == series["images"]


@pytest.mark.slow  # encodes a clip and grabs a frame with ffmpeg: about 4 s
async def test_episode_without_art_gets_a_frame_grab(db: Database, tmp_path: Path) -> None:
    root = tmp_path / "shows"
    episode = root / "Show (2020)" / "Season 01" / "Show - S01E01.mkv"
    episode.parent.mkdir(parents=True)
    await trio.run_process(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=10:duration=3",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            str(episode),
        ]
    )
    write(root, "Show (2020)/Season 01/Show - S01E02.mkv", b"not a video")
    data_dir = tmp_path / "data"
    settings = MetadataSettings(data_dir=data_dir)
    bus = InProcEventBus()
    # with analysis on: the frame is taken at 30% of the duration MediaAnalyze measured
    dispatcher = Dispatcher(
        db,
        handlers(PipelineSettings(analyze=True, metadata=settings)),
        bus=bus,
        idle_poll_seconds=0.05,
        housekeeping_seconds=0.5,
    )
    service = ScanService(db, bus, wake_dispatcher=dispatcher.wake)
    h = Harness(db, service, data_dir)
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        library = await libraries.create(db, "Shows", "series", [str(root)])
        await h.scan(library.id)
        nursery.cancel_scope.cancel()
    rows = [
        r
        for r in await metadata.items_for_metadata(
            db, [r["id"] for r in await media_index.items(db, library.id)]
        )
        if r.kind == "episode"
    ]
    store = images.store_for(db, data_dir)
    found, errors = await art.collect(store, rows, settings)  # what ImageFetch does
    assert [(f.kind, f.source, f.original.width, f.original.height) for f in found] == [
        ("thumb", "frame", 320, 240)
    ]
    assert errors == []
    assert (
        data_dir
        / "images"
        / "originals"
        / found[0].original.image_id[:2]
        / found[0].original.image_id
    ).exists()  # generated: kept in the cache
