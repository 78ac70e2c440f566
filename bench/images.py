"""``images``: variant generation (posters/s) and TMDB enrichment (items/s).

**Variants.** A 2000x3000 JPEG poster, resized to w342 the way the image cache does it
(``appliance.metadata.images.render``: JPEG draft mode, so the decoder scales by 1/2..1/8 in the
DCT, then LANCZOS, WebP q82), one at a time and on 2 threads (the cache's default worker count).
Baseline in the same run: the naive Pillow path (full decode, LANCZOS to 342 wide, JPEG q82).

**Enrichment.** ``--items`` movie items in a throwaway Postgres, enriched by the real provider
chain (``appliance.metadata.enrich.describe``: NFO lookup, then TMDB search + details) against
the tests' local fake TMDB server answering every request after ``--latency-ms`` (50: a realistic
round trip to api.themoviedb.org). Cold: empty response cache; warm: the same again (a rescan:
every answer from the Postgres cache). Baseline in the same run: bare sequential GETs to the same
server (what one-request-at-a-time would get; a movie needs 2 requests plus the one-off
configuration).
"""

from __future__ import annotations

import io
import statistics
import time
from dataclasses import dataclass

import httpx
import trio
import trio_asyncio
from PIL import Image

from appliance.metadata import images
from appliance.metadata.enrich import MetadataSettings, describe
from appliance.metadata.tmdb import TmdbSettings
from appliance.scan import identity
from bench.common import BenchError, Figure, Result, make_temp_dir, median, throwaway_postgres
from store import libraries, metadata
from store.db import Database
from store.gate import ServiceGate
from store.media_index import ItemRow, upsert_items
from store.migrate import migrate
from store.sql import sql
from tests import tmdbfake

CLEAR_CACHE = sql("DELETE FROM provider_cache")


@dataclass(frozen=True)
class Params:
    rounds: int
    posters: int = 20
    items: int = 200
    latency_ms: int = 50


def _source() -> bytes:
    image = Image.new("RGB", (2000, 3000))
    # a gradient with noise-like detail so the encoder has work to do
    pixels = [
        ((x * 7) % 256, (y * 5) % 256, ((x ^ y) * 3) % 256)
        for y in range(0, 3000, 10)
        for x in range(0, 2000, 10)
    ]
    small = Image.new("RGB", (200, 300))
    small.putdata(pixels)
    image = small.resize((2000, 3000), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _naive(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        frame = im.convert("RGB").resize(
            (342, round(im.height * 342 / im.width)), Image.Resampling.LANCZOS
        )
        out = io.BytesIO()
        frame.save(out, "JPEG", quality=82)
        return out.getvalue()


async def _rate(count: int, workers: int, fn: object, data: bytes) -> float:
    limiter = trio.CapacityLimiter(workers)

    async def one() -> None:
        async with limiter:
            await trio.to_thread.run_sync(fn, data)  # type: ignore[arg-type]

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(one)
    return count / (time.perf_counter() - started)


async def _variants(params: Params, samples: dict[str, list[float]]) -> None:
    data = _source()
    for round_no in range(params.rounds):
        modes = [
            ("naive_1", 1, _naive),
            ("render_1", 1, lambda d: images.render(d, 342, "webp")),
            ("render_2", 2, lambda d: images.render(d, 342, "webp")),
            ("render_jpeg_1", 1, lambda d: images.render(d, 342, "jpeg")),
        ]
        shift = round_no % len(modes)
        for (
            key,
            workers,
            fn,
        ) in modes[shift:] + modes[:shift]:
            samples[key].append(await _rate(params.posters, workers, fn, data))


async def _enrich(dsn: str, params: Params, samples: dict[str, list[float]]) -> None:
    for n in range(params.items):
        tmdbfake.MOVIES[100_000 + n] = {
            "id": 100_000 + n,
            "title": f"Bench Film {n:04d}",
            "original_title": "",
            "release_date": "2001-01-01",
            "overview": "A film.",
            "runtime": 90,
            "popularity": 1.0,
            "vote_average": 6.0,
            "vote_count": 10,
            "genres": [{"id": 1, "name": "Drama"}],
            "poster_path": None,
            "backdrop_path": None,
            "credits": {"cast": [{"id": n, "name": f"Actor {n}", "character": "Lead"}]},
            "release_dates": {"results": []},
            "external_ids": {},
        }
    with tmdbfake.running(latency=params.latency_ms / 1000) as fake:
        async with trio_asyncio.open_loop():
            gate = ServiceGate("postgres")
            gate.open()
            db = await Database.connect(dsn, gate, min_size=2, max_size=10)
            try:
                await migrate(db)
                root = make_temp_dir()
                library = await libraries.create(db, "Bench", "movies", [str(root)])
                async with db.transaction() as conn:
                    ids = await upsert_items(
                        conn,
                        library.id,
                        [
                            ItemRow(
                                "movie",
                                None,
                                f"movie:bench film {n:04d}:2001",
                                f"Bench Film {n:04d}",
                                identity.sort_title(f"Bench Film {n:04d}"),
                                2001,
                            )
                            for n in range(params.items)
                        ],
                    )
                rows = await metadata.items_for_metadata(db, [i for i, _ in ids.values()])
                settings = MetadataSettings(
                    data_dir=root, tmdb=TmdbSettings(api_key="bench", base_url=fake.api)
                )
                async with httpx.AsyncClient() as http:
                    for _ in range(params.rounds):
                        started = time.perf_counter()
                        for _ in range(10):
                            await http.get(f"{fake.api}/movie/949")
                        samples["bare_gets"].append(10 / (time.perf_counter() - started))
                        await db.execute(CLEAR_CACHE)
                        started = time.perf_counter()
                        results = await describe(rows, settings, db)
                        samples["cold"].append(len(rows) / (time.perf_counter() - started))
                        if sum(1 for r in results if r.source == "tmdb") != len(rows):
                            raise BenchError("not every bench film was matched on TMDB")
                        started = time.perf_counter()
                        await describe(rows, settings, db)
                        samples["warm"].append(len(rows) / (time.perf_counter() - started))
            finally:
                await db.close()


def run(params: Params) -> Result:
    samples: dict[str, list[float]] = {
        k: []
        for k in ("naive_1", "render_1", "render_2", "render_jpeg_1", "bare_gets", "cold", "warm")
    }
    trio.run(_variants, params, samples)
    with throwaway_postgres() as postgres:
        trio.run(_enrich, postgres.maintenance_dsn, params, samples)

    def ratio(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(samples[a], samples[b], strict=True))

    m = {k: median(v) for k, v in samples.items()}
    return Result(
        benchmark="images",
        summary=(
            f"{params.rounds} rounds: {params.posters} w342 posters from a 2000x3000 JPEG "
            f"per mode; {params.items} movies against a fake TMDB at "
            f"{params.latency_ms} ms latency"
        ),
        figures=[
            Figure("naive Pillow, 1 thread (baseline)", m["naive_1"], "posters/s"),
            Figure("cache render WebP, 1 thread", m["render_1"], "posters/s"),
            Figure("cache render WebP, 2 threads", m["render_2"], "posters/s"),
            Figure("cache render JPEG, 1 thread", m["render_jpeg_1"], "posters/s"),
            Figure("render WebP 1 thread / naive", ratio("render_1", "naive_1"), "x"),
            Figure("render WebP 2 threads / naive", ratio("render_2", "naive_1"), "x"),
            Figure("bare sequential GETs (baseline)", m["bare_gets"], "req/s"),
            Figure("enrichment, cold cache", m["cold"], "items/s"),
            Figure("enrichment, warm cache (rescan)", m["warm"], "items/s"),
            Figure("cold items/s / bare GETs/s", ratio("cold", "bare_gets"), "x"),
        ],
        params={
            "rounds": params.rounds,
            "posters": params.posters,
            "items": params.items,
            "latency_ms": params.latency_ms,
        },
        samples=samples,
    )
