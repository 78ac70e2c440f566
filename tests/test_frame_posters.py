"""Art without the network (issue 21, item 2): a film with no local art and no TMDB gets a
poster made from a representative frame in its first scan, never a black one, in 2:3; a local
poster added later replaces it."""

from __future__ import annotations

import io
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import trio
from PIL import Image, ImageStat

from appliance.metadata import frame_poster, images
from appliance.metadata.enrich import MetadataSettings
from appliance.scan.pipeline import PipelineSettings
from store import libraries, media_index, metadata
from store.db import Database
from store.sql import sql
from tests.scankit import running_pipeline

POSTER_ID = sql("SELECT image_id FROM item_images WHERE item_id = $1 AND kind = 'poster'")
ASPECT = sql("SELECT placeholder->>'aspect' FROM media_items WHERE id = $1")


def black_then_content(target: Path) -> None:
    """4 s of 320x240 H.264: black for the first 1.5 s (37 %), then a test pattern. The old
    single grab at 30 % would be black; so would the first three poster samples."""
    target.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "color=black:size=320x240:rate=24:duration=1.5",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=24:duration=2.5",
        "-filter_complex",
        "[0:v][1:v]concat=n=2:v=1:a=0[v]",
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-g",
        "12",
        str(target),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


async def poster_of(db: Database, data_dir: Path, item_id: uuid.UUID) -> tuple[str, bytes]:
    rows = [r for r in await metadata.item_image_sources(db, [item_id]) if r["kind"] == "poster"]
    assert rows, "the film has a poster"
    image_id = await db.fetchval(POSTER_ID, item_id)
    store = images.ImageStore(db, data_dir)
    source = rows[0]["source_path"]
    path = Path(source) if source else store.original_path(image_id)
    data = await trio.to_thread.run_sync(path.read_bytes)
    return rows[0]["source"], data


def test_black_and_flat_frames_are_refused() -> None:
    def jpeg(colour: tuple[int, int, int]) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (160, 90), colour).save(out, "JPEG")
        return out.getvalue()

    assert frame_poster.score(jpeg((0, 0, 0))) is None, "black"
    assert frame_poster.score(jpeg((10, 10, 12))) is None, "a fade"
    assert frame_poster.score(jpeg((120, 40, 200))) is None, "one flat colour"
    poster = Image.open(io.BytesIO(frame_poster.compose(jpeg((120, 40, 200)))))
    assert poster.size == frame_poster.POSTER_SIZE
    assert poster.getpixel((300, 450)) != (0, 0, 0), "the frame itself, not squashed away"


@pytest.mark.slow  # ffmpeg over a real file
async def test_first_scan_without_network_makes_a_poster_from_a_frame(
    db: Database, tmp_path: Path
) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg not installed: run scripts/deps.sh")
    root = tmp_path / "films"
    film = root / "Some Film (2011)" / "Some Film (2011).mp4"
    black_then_content(film)
    library = await libraries.create(db, "Films", "movies", [str(root)])
    data_dir = tmp_path / "d"
    settings = PipelineSettings(analyze=True, metadata=MetadataSettings(data_dir=data_dir))
    async with running_pipeline(db, settings) as harness:
        await harness.scan(library.id)
        (item_id,) = [
            r["id"] for r in await media_index.items(db, library.id) if r["kind"] == "movie"
        ]
        source, data = await poster_of(db, data_dir, item_id)
        assert source == "frame"
        with Image.open(io.BytesIO(data)) as im:
            assert abs(im.width / im.height - 2 / 3) < 0.01, im.size
            grey = ImageStat.Stat(im.convert("L"))
            assert grey.mean[0] > 40 and grey.stddev[0] > 20, "a real frame, not black"
        placeholder = await db.fetchval(ASPECT, item_id)
        assert abs(float(placeholder) - 2 / 3) < 0.01

        # a forced rescan keeps it (no second poster); a local poster.jpg then replaces it
        await harness.scan(library.id, force=True)
        assert (await poster_of(db, data_dir, item_id))[0] == "frame"
        local = film.parent / "poster.jpg"
        Image.new("RGB", (200, 300), (200, 30, 30)).save(local, "JPEG")
        await harness.scan(library.id)
        source, data = await poster_of(db, data_dir, item_id)
        assert (source, data) == ("local", local.read_bytes())
