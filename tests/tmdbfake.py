"""A local HTTP server speaking TMDB v3's JSON shapes (no test reaches the internet).

Runs in a thread (http.server); answers search/movie, search/tv, movie/{id} and tv/{id} with
append_to_response, tv/{id}/season/{n}, find/{imdb id}, configuration, and serves images under
/t/p/{size}/{file}. ``fail`` queues statuses to answer the next requests with (429 carries
Retry-After), ``latency`` delays every answer, ``requests`` logs the paths asked.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import unicodedata
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image


def jpeg(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG", quality=85)
    return out.getvalue()


MOVIES: dict[int, dict[str, Any]] = {
    949: {
        "id": 949,
        "title": "Heat",
        "original_title": "Heat",
        "release_date": "1995-12-15",
        "overview": "Obsessive master thief McCauley.",
        "tagline": "A Los Angeles crime saga",
        "runtime": 170,
        "popularity": 40.5,
        "vote_average": 7.9,
        "vote_count": 7000,
        "genres": [{"id": 28, "name": "Action"}, {"id": 80, "name": "Crime"}],
        "production_companies": [{"id": 1, "name": "Regency Enterprises"}],
        "belongs_to_collection": None,
        "imdb_id": "tt0113277",
        "poster_path": "/heat-poster.jpg",
        "backdrop_path": "/heat-backdrop.jpg",
        "credits": {
            "cast": [
                {
                    "id": 1158,
                    "name": "Al Pacino",
                    "character": "Vincent Hanna",
                    "profile_path": "/pacino.jpg",
                    "order": 0,
                },
                {
                    "id": 380,
                    "name": "Robert De Niro",
                    "character": "Neil McCauley",
                    "profile_path": None,
                    "order": 1,
                },
            ],
            "crew": [{"id": 638, "name": "Michael Mann", "job": "Director"}],
        },
        "images": {"logos": [{"file_path": "/heat-logo.png"}], "posters": [], "backdrops": []},
        "release_dates": {
            "results": [
                {"iso_3166_1": "US", "release_dates": [{"certification": "R", "type": 3}]},
                {"iso_3166_1": "GB", "release_dates": [{"certification": "15", "type": 3}]},
            ]
        },
        "external_ids": {"imdb_id": "tt0113277"},
    },
    2001: {
        "id": 2001,
        "title": "Heat",
        "original_title": "Heat",
        "release_date": "1986-03-14",
        "overview": "Burt Reynolds.",
        "popularity": 5.0,
        "vote_count": 100,
        "vote_average": 5.0,
        "genres": [],
        "poster_path": None,
        "backdrop_path": None,
    },
    603: {
        "id": 603,
        "title": "The Matrix",
        "original_title": "The Matrix",
        "release_date": "1999-03-30",
        "overview": "TMDB's plot.",
        "tagline": "TMDB tagline",
        "runtime": 136,
        "popularity": 80.0,
        "vote_average": 8.2,
        "vote_count": 24000,
        "genres": [{"id": 878, "name": "Science Fiction"}],
        "production_companies": [{"id": 79, "name": "Village Roadshow"}],
        "belongs_to_collection": {"id": 2344, "name": "The Matrix Collection"},
        "poster_path": "/matrix-poster.jpg",
        "backdrop_path": None,
        "credits": {"cast": [], "crew": []},
        "images": {"logos": []},
        "release_dates": {"results": []},
        "external_ids": {"imdb_id": "tt0133093"},
    },
    7001: {
        "id": 7001,
        "title": "Amélie",
        "original_title": "Le Fabuleux Destin d'Amélie Poulain",
        "release_date": "2001-04-25",
        "overview": "Amélie.",
        "popularity": 30.0,
        "vote_count": 9000,
        "vote_average": 7.9,
        "genres": [],
        "poster_path": None,
        "backdrop_path": None,
    },
}
SHOWS: dict[int, dict[str, Any]] = {
    1396: {
        "id": 1396,
        "name": "Breaking Bad",
        "original_name": "Breaking Bad",
        "first_air_date": "2008-01-20",
        "overview": "A chemistry teacher.",
        "popularity": 300.0,
        "vote_average": 8.9,
        "vote_count": 12000,
        "episode_run_time": [47],
        "genres": [{"id": 18, "name": "Drama"}],
        "networks": [{"id": 174, "name": "AMC"}],
        "poster_path": "/bb-poster.jpg",
        "backdrop_path": "/bb-backdrop.jpg",
        "credits": {
            "cast": [
                {
                    "id": 17419,
                    "name": "Bryan Cranston",
                    "character": "Walter White",
                    "profile_path": None,
                }
            ],
            "crew": [],
        },
        "images": {"logos": []},
        "content_ratings": {"results": [{"iso_3166_1": "US", "rating": "TV-MA"}]},
        "external_ids": {"imdb_id": "tt0903747", "tvdb_id": 81189},
    },
}
SEASONS: dict[tuple[int, int], dict[str, Any]] = {
    (1396, 1): {
        "id": 3572,
        "season_number": 1,
        "name": "Season 1",
        "air_date": "2008-01-20",
        "overview": "High school chemistry teacher Walter White.",
        "poster_path": "/bb-s1.jpg",
        "episodes": [
            {
                "id": 62085,
                "episode_number": 1,
                "season_number": 1,
                "name": "Pilot",
                "air_date": "2008-01-20",
                "overview": "Walter is diagnosed.",
                "runtime": 58,
                "vote_average": 8.3,
                "vote_count": 200,
                "still_path": "/bb-s1e1.jpg",
                "guest_stars": [{"id": 1, "name": "Guest One", "character": "Doctor"}],
            },
            {
                "id": 62086,
                "episode_number": 2,
                "season_number": 1,
                "name": "Cat's in the Bag...",
                "air_date": "2008-01-27",
                "overview": "Walt and Jesse.",
                "runtime": 48,
                "still_path": None,
                "guest_stars": [],
            },
        ],
    },
}


def _norm(text: str) -> str:
    """Like TMDB's search: case- and accent-insensitive."""
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[^\w]+", " ", text.lower()).strip()


class FakeTmdb:
    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.fail: list[int] = []
        self.retry_after = "1"
        self.slow_next = 0.0
        self.requests: list[str] = []
        self.auth: list[tuple[str | None, str | None]] = []  # (Authorization, api_key)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.images = {
            name: jpeg(300, 450, color)
            for name, color in {
                "heat-poster.jpg": (200, 100, 0),
                "heat-backdrop.jpg": (0, 0, 0),
                "heat-logo.png": (1, 1, 1),
                "matrix-poster.jpg": (0, 255, 0),
                "bb-poster.jpg": (255, 255, 0),
                "bb-backdrop.jpg": (10, 10, 10),
                "bb-s1.jpg": (0, 0, 200),
                "bb-s1e1.jpg": (100, 100, 100),
                "pacino.jpg": (5, 5, 5),
            }.items()
        }

    @property
    def api(self) -> str:
        return self.base + "/3"

    def count(self, prefix: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r.startswith(prefix))

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        if path == "/3/configuration":
            return 200, {
                "images": {
                    "base_url": self.base + "/t/p/",
                    "secure_base_url": self.base + "/t/p/",
                    "poster_sizes": ["w92", "w154", "w342", "w780", "original"],
                    "backdrop_sizes": ["w300", "w780", "w1280", "original"],
                },
                "change_keys": [],
            }
        if path in ("/3/search/movie", "/3/search/tv"):
            movie = path.endswith("movie")
            wanted = _norm(query.get("query", ""))
            year = query.get("year" if movie else "first_air_date_year")
            pool = MOVIES.values() if movie else SHOWS.values()
            results = []
            for item in pool:
                names = [
                    item.get("title" if movie else "name", ""),
                    item.get("original_title" if movie else "original_name", ""),
                ]
                date = item.get("release_date" if movie else "first_air_date", "")
                if any(wanted and wanted in _norm(n) for n in names) and (
                    not year or date.startswith(year)
                ):
                    keep = (
                        "id",
                        "title",
                        "original_title",
                        "release_date",
                        "name",
                        "original_name",
                        "first_air_date",
                        "overview",
                        "popularity",
                        "vote_count",
                        "vote_average",
                        "poster_path",
                        "backdrop_path",
                    )
                    results.append({k: item[k] for k in keep if k in item})
            return 200, {
                "page": 1,
                "results": results,
                "total_pages": 1,
                "total_results": len(results),
            }
        if m := re.fullmatch(r"/3/movie/(\d+)", path):
            return (
                (200, MOVIES[int(m[1])])
                if int(m[1]) in MOVIES
                else (
                    404,
                    {
                        "success": False,
                        "status_code": 34,
                        "status_message": "The resource you requested could not be found.",
                    },
                )
            )
        if m := re.fullmatch(r"/3/tv/(\d+)/season/(\d+)", path):
            key = (int(m[1]), int(m[2]))
            return (200, SEASONS[key]) if key in SEASONS else (404, {"status_code": 34})
        if m := re.fullmatch(r"/3/tv/(\d+)", path):
            return (200, SHOWS[int(m[1])]) if int(m[1]) in SHOWS else (404, {"status_code": 34})
        if m := re.fullmatch(r"/3/find/(tt\d+)", path):
            movies = [v for v in MOVIES.values() if v.get("imdb_id") == m[1]]
            shows = [
                v for v in SHOWS.values() if (v.get("external_ids") or {}).get("imdb_id") == m[1]
            ]
            return 200, {"movie_results": movies, "tv_results": shows}
        return 404, {"status_code": 34}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                with fake.lock:
                    fake.requests.append(url.path)
                    fake.auth.append((self.headers.get("Authorization"), query.get("api_key")))
                    status = fake.fail.pop(0) if fake.fail else None
                    slow, fake.slow_next = fake.slow_next, 0.0
                time.sleep(fake.latency + slow)
                if status is not None:
                    body = json.dumps({"status_code": 25, "status_message": "failure"}).encode()
                    self.send_response(status)
                    if status == 429:
                        self.send_header("Retry-After", fake.retry_after)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if url.path.startswith("/t/p/"):
                    name = url.path.rsplit("/", 1)[1]
                    data = fake.images.get(name)
                    self.send_response(200 if data else 404)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(data or b"")))
                    self.end_headers()
                    self.wfile.write(data or b"")
                    return
                code, payload = fake.answer(url.path, query)
                body = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


@contextmanager
def running(latency: float = 0.0) -> Iterator[FakeTmdb]:
    fake = FakeTmdb(latency)
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
