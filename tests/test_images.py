"""Poster images: byte-bounded LRU, disk cache, decode, the per-frame upload budget (fake clock)
and the ImageService against a real local HTTP server serving real JPEGs."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import trio
from PIL import Image

from sync.contract import standard_image_width
from ui.grid.demand import Priority
from ui.images.budget import UploadBudget
from ui.images.decode import DecodeError, decode_to
from ui.images.disk import DiskCache
from ui.images.lru import ByteLRU
from ui.images.service import ImageService
from ui.images.types import PosterRequest

TOKEN = "test-token"


def image_id(i: int) -> str:
    return f"{i:064x}"


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (400, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=95)
    return out.getvalue()


# --- pure parts ----------------------------------------------------------------------------------


def test_byte_lru_evicts_by_bytes_least_recent_first() -> None:
    lru: ByteLRU[str, bytes] = ByteLRU(100, len)
    assert lru.put("a", b"x" * 40) == [] and lru.put("b", b"x" * 40) == []
    assert lru.get("a") is not None  # a is now the most recent
    assert lru.put("c", b"x" * 40) == ["b"]
    assert "a" in lru and "c" in lru and lru.bytes == 80
    assert lru.put("huge", b"x" * 101) == [] and "huge" not in lru  # larger than the cache
    assert lru.get("b") is None and lru.misses == 1


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_upload_budget_fills_the_frame_then_backs_off() -> None:
    clock = FakeClock()
    budget = UploadBudget(max_per_frame=6, frame_budget_s=0.00833, clock=clock)
    uploaded: list[int] = []

    def upload(item: int) -> None:
        clock.t += 0.0002  # each upload costs 0.2 ms
        uploaded.append(item)

    # light frames (4 ms of 8.33): the configured maximum
    budget.frame_interval(0.004)
    assert budget.run(range(100), upload) == 6
    # frames at 7 ms (84 % of the budget): fewer
    for _ in range(20):
        budget.frame_interval(0.007)
    backed = budget.allowance()
    assert 1 <= backed < 6
    # frames over budget: one a frame, never zero (a slow machine still gets its posters)
    for _ in range(20):
        budget.frame_interval(0.012)
    assert budget.allowance() == 1
    assert budget.run(range(100), upload) == 1
    # and back to the maximum once frames are light again
    for _ in range(20):
        budget.frame_interval(0.003)
    assert budget.allowance() == 6
    assert budget.total_uploads == 7


def test_upload_budget_time_box_stops_expensive_uploads() -> None:
    clock = FakeClock()
    budget = UploadBudget(max_per_frame=16, frame_budget_s=0.01, clock=clock)
    budget.frame_interval(0.002)

    def slow(item: int) -> None:
        clock.t += 0.0015  # 1.5 ms each; the time box is 40 % of 10 ms = 4 ms

    done = budget.run(range(100), slow)
    assert budget.last_allowance > done  # stopped by time, not by the count
    assert 2 <= done <= 3 and clock.t <= 0.004 + 0.0015  # overruns by at most one upload
    first = budget.last_allowance
    for _ in range(5):
        budget.run(range(100), slow)
    assert budget.upload_s == pytest.approx(0.0015, rel=0.1)  # learned the real cost
    assert budget.allowance() < first  # and allows fewer from the start
    assert budget.allowance() == 2  # 4 ms box / 1.5 ms


def test_disk_cache_round_trip_and_trim(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "img", max_bytes=2500)
    cache.write(image_id(1), 342, b"a" * 1000)
    cache.write(image_id(2), 342, b"b" * 1000)
    assert cache.read(image_id(1), 342) == b"a" * 1000
    assert cache.read(image_id(1), 500) is None
    cache.write(image_id(3), 342, b"c" * 1000)  # over: the oldest goes
    kept = {i for i in (1, 2, 3) if cache.read(image_id(i), 342) is not None}
    assert len(kept) == 2 and 3 in kept
    assert not list((tmp_path / "img").glob("*/*.tmp"))
    with pytest.raises(ValueError):
        cache.path("../../etc/passwd", 92)
    reopened = DiskCache(tmp_path / "img", max_bytes=2500)
    assert reopened.bytes == 2000


def test_decode_crops_to_the_slot_and_refuses_garbage() -> None:
    wide = io.BytesIO()
    im = Image.new("RGB", (900, 600), (255, 0, 0))
    im.paste((0, 0, 255), (200, 0, 700, 600))  # blue middle, red edges
    im.save(wide, "PNG")
    out = decode_to(wide.getvalue(), 100, 150)
    assert out.shape == (150, 100, 4)
    # cover crop keeps the centre (blue), the red sides are cut away
    assert tuple(out[75, 50, :3]) == (0, 0, 255) and tuple(out[75, 2, :3]) == (0, 0, 255)
    with pytest.raises(DecodeError):
        decode_to(b"not an image", 10, 10)
    assert standard_image_width(170) == 185 and standard_image_width(340) == 342
    assert standard_image_width(5000) == 1920


# --- the service against a real HTTP server ---------------------------------------------------


@dataclass
class FakeAppliance:
    """Serves ``GET /api/v1/images/<id>?w=`` like the appliance: bearer token, JPEG bytes."""

    images: dict[str, bytes]
    slow: set[str] = field(default_factory=set)
    requests: list[tuple[str, int]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0


@pytest.fixture
def appliance() -> Iterator[FakeAppliance]:
    state = FakeAppliance({image_id(i): jpeg((20 * i % 256, 100, 200)) for i in range(40)})

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            ident = url.path.rsplit("/", 1)[-1]
            width = int(parse_qs(url.query).get("w", ["0"])[0])
            state.requests.append((ident, width))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self.send_response(401)
                self.end_headers()
                return
            if ident in state.slow:
                state.release.wait(10)
            body = state.images.get(ident)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def request(i: int, priority: Priority = Priority.VISIBLE) -> PosterRequest:
    return PosterRequest(image_id(i), 170, 255, priority)


async def wait_ready(service: ImageService, n: int, timeout: float = 10.0) -> dict[str, object]:
    got: dict[str, object] = {}
    with trio.fail_after(timeout):
        while len(got) < n:
            for ready in service.take_ready(100):
                got[ready.image_id] = ready
            await trio.sleep(0.01)
    return got


async def test_service_fetches_decodes_in_priority_order_and_caches(
    appliance: FakeAppliance, tmp_path: Path
) -> None:
    service = ImageService(
        f"http://127.0.0.1:{appliance.port}", lambda: TOKEN, tmp_path / "c", fetchers=1
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(service.run)
        await trio.sleep(0.01)  # the workers are waiting before the first demand
        wanted = [
            request(5, Priority.BACKGROUND),
            request(1),
            request(2),
            request(3, Priority.PRELOAD),
        ]
        service.set_demand(wanted)
        got = await wait_ready(service, 4)
        # one fetcher: the order of the requests is the priority order, then plan order
        assert [r[0] for r in appliance.requests] == [image_id(i) for i in (1, 2, 3, 5)]
        # the standard width at or above the on-screen width (170 → 185)
        assert {w for _, w in appliance.requests} == {185}
        poster = got[image_id(1)]
        rgba = poster.rgba  # type: ignore[attr-defined]
        assert rgba.shape == (255, 170, 4)
        assert np.abs(rgba[128, 85, :3].astype(int) - (20, 100, 200)).max() < 8
        # asked again: straight from memory, no request, ready at once
        service.set_demand([request(1)])
        assert [r.image_id for r in service.take_ready(10)] == [image_id(1)]
        assert len(appliance.requests) == 4 and service.stats.memory_hits == 1
        nursery.cancel_scope.cancel()
    # a new service (next start of the player) finds the variants on disk
    again = ImageService(f"http://127.0.0.1:{appliance.port}", lambda: TOKEN, tmp_path / "c")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(again.run)
        await trio.sleep(0.01)  # the workers are waiting before the first demand
        again.set_demand([request(2), request(3)])
        await wait_ready(again, 2)
        assert len(appliance.requests) == 4 and again.stats.disk_hits == 2
        nursery.cancel_scope.cancel()


async def test_service_cancels_what_scrolled_away_and_survives_errors(
    appliance: FakeAppliance, tmp_path: Path
) -> None:
    appliance.slow.add(image_id(7))
    appliance.images[image_id(8)] = b"this is not a jpeg"
    service = ImageService(
        f"http://127.0.0.1:{appliance.port}", lambda: TOKEN, tmp_path / "c", fetchers=2
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(service.run)
        await trio.sleep(0.01)  # the workers are waiting before the first demand
        service.set_demand([request(7)])
        with trio.fail_after(5):
            while not appliance.requests:
                await trio.sleep(0.01)
        # scrolled away before the slow poster arrived: its download is cancelled
        service.set_demand([request(9), request(8), request(404)])
        got = await wait_ready(service, 1)
        assert list(got) == [image_id(9)]
        with trio.fail_after(5):
            while service.stats.cancelled < 1 or service.pending:
                await trio.sleep(0.01)
        appliance.release.set()
        await trio.sleep(0.2)
        assert service.take_ready(10) == []  # nothing for 7 (cancelled), 8 (garbage), 404
        assert service.stats.failed == 2
        # a bad token is an error for that image, not a crash
        nursery.cancel_scope.cancel()
    bad = ImageService(f"http://127.0.0.1:{appliance.port}", lambda: "wrong", tmp_path / "d")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(bad.run)
        await trio.sleep(0.01)  # the workers are waiting before the first demand
        bad.set_demand([request(1)])
        with trio.fail_after(5):
            while bad.stats.failed < 1:
                await trio.sleep(0.01)
        assert bad.take_ready(10) == []
        nursery.cancel_scope.cancel()
