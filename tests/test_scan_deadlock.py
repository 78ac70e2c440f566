"""No lock-order deadlock between scan jobs, enrichment, lease heartbeats and metadata edits
(issue 19, item 2).

The sync feed's triggers used to take its ordering lock AFTER a statement had locked its rows,
so a MetadataEnrich holding an item's row could wait for the lock while the FolderScan holding
the lock waited for that row ("deadlock detected", a job rolled back and retried). Migration 0015
takes the lock before any row. Here the real appliance runs for about 40 s with everything at
once: forced and plain rescans of two libraries while files, NFOs and episodes come and go, the
enrichment of every new item (each has an NFO), lease renewals every 1.5 s, and title edits
through the API; then Postgres's messages (the appliance logs them) and the jobs must show no
deadlock and no failure.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from tests.helpers import RunningAppliance, admin_token, embedded_dsn, http_json, psql, wait_for
from tests.scankit import touch

pytestmark = pytest.mark.slow

STRESS_SECONDS = 40.0
ENV = {
    "FERREX_SCAN_ANALYZE": "false",
    "FERREX_SCAN_LEASE_TTL_SECONDS": "3",  # a renewal every 1.5 s per running job
    "FERREX_SCAN_HOUSEKEEPING_SECONDS": "1",
    "FERREX_SCAN_WATCH_DEBOUNCE_MS": "200",
}


def film(root: Path, name: str) -> None:
    touch(root, f"{name}/{name}.mkv")
    touch(
        root,
        f"{name}/movie.nfo",
        f"<movie><title>{name} NFO</title><plot>Plot.</plot></movie>".encode(),
    )


def episode(root: Path, show: str, season: int, number: int) -> None:
    stem = f"{show}/Season {season:02d}/{show} - S{season:02d}E{number:02d}"
    touch(root, f"{stem}.mkv")
    touch(
        root,
        f"{stem}.nfo",
        f"<episodedetails><title>E{number}</title><plot>Plot.</plot></episodedetails>".encode(),
    )


def test_concurrent_scans_enrichment_heartbeats_and_edits_never_deadlock(workdir: Path) -> None:
    rng = random.Random(19)
    films, shows = workdir / "films", workdir / "shows"
    for n in range(200):
        film(films, f"Film {n:03d} ({1950 + n % 70})")
    for s in range(12):
        show = f"Show {s:02d} ({2000 + s})"
        touch(shows, f"{show}/tvshow.nfo", f"<tvshow><title>{show}</title></tvshow>".encode())
        for season in (1, 2):
            for number in range(1, 9):
                episode(shows, show, season, number)

    data_dir = workdir / "var"
    app = RunningAppliance(data_dir, env=ENV)
    try:
        base = app.wait_ready()
        token = admin_token(base)
        dsn = embedded_dsn(data_dir)
        library_ids = []
        for name, kind, root in (("Films", "movies", films), ("Shows", "series", shows)):
            status, body = http_json(
                "POST",
                base + "/api/v1/libraries",
                {"name": name, "kind": kind, "roots": [str(root)]},
                token,
            )
            assert status == 201, body
            library_ids.append(body["id"])

        deadline = time.monotonic() + STRESS_SECONDS
        added, edits, round_no = 200, 0, 0
        while time.monotonic() < deadline:
            round_no += 1
            for _ in range(8):  # new films and episodes: new items to index and enrich
                film(films, f"New {added:04d} ({1950 + added % 70})")
                added += 1
            for s in rng.sample(range(12), 4):
                episode(
                    shows, f"Show {s:02d} ({2000 + s})", rng.choice((1, 2, 3)), rng.randrange(9, 40)
                )
            for path in rng.sample(sorted(films.glob("*/*.mkv")), 2):  # and some go away
                path.unlink()
            for library_id in library_ids:
                http_json(
                    "POST",
                    f"{base}/api/v1/libraries/{library_id}/scan",
                    {"force": round_no % 3 == 0},
                    token,
                )
            ids = psql(
                dsn,
                "SELECT id FROM media_items WHERE present AND kind IN "
                "('movie', 'series', 'season', 'episode') "
                "ORDER BY random() LIMIT 6",
            ).split()
            for item_id in ids:
                status, body = http_json(
                    "PATCH",
                    f"{base}/api/v1/metadata/items/{item_id}",
                    {"title": f"Edited {edits}"},
                    token,
                )
                assert status in (200, 404), (status, body)
                edits += 1
            time.sleep(0.2)

        assert wait_for(
            lambda: (
                psql(
                    dsn, "SELECT count(*) FROM jobs WHERE state IN ('ready', 'deferred', 'leased')"
                )
                == "0"
            ),
            90,
            0.2,
        )
        log = app.log_path.read_text(errors="replace")
        assert "deadlock detected" not in log
        assert psql(dsn, "SELECT count(*) FROM jobs WHERE last_error ILIKE '%deadlock%'") == "0"
        assert psql(dsn, "SELECT count(*) FROM jobs WHERE state = 'failed'") == "0"
        # it did what it says: many jobs of every stage, renewals, edits
        kinds = dict(
            line.split("|")
            for line in psql(dsn, "SELECT kind, count(*) FROM jobs GROUP BY kind").splitlines()
        )
        assert int(kinds["folder_scan"]) >= 10 and int(kinds["metadata_enrich"]) >= 10, kinds
        assert edits >= 60
    finally:
        app.stop()
