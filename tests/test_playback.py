"""Playback against a real appliance: the engine (GStreamer playbin over souphttpsrc with a
ticket) driven by a ``PlaybackSession`` under trio, with sinks that keep the real clock and let
the test see what reached them (decoded audio samples, subtitle text, video caps).

What a user relies on: it plays to the end and is then marked watched (and the next episode
starts); seeking lands where asked; a saved position is resumed; the audio track and the
subtitles (embedded, sidecar, off) can be switched while playing and the switch is heard/seen;
progress reaches the server over the WebSocket; errors say what to do (missing codec, file
gone) and a network drop is retried at the same position; HDR10 keeps 10-bit PQ colorimetry
and its mastering/content-light metadata all the way to the sink.
"""

from __future__ import annotations

import itertools
import ssl
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio

from sync.connection import ServerConnection
from tests.playbackkit import Served
from ui.playback.client import StreamingClient
from ui.playback.engine import Engine
from ui.playback.gst import Gst, element
from ui.playback.progress import MemoryQueue, Queued, RestProgressSink, WsProgressSink
from ui.playback.session import PlaybackSession, RetryPolicy

pytest_plugins = ["tests.playbackkit"]
pytestmark = pytest.mark.slow


@dataclass
class Seen:
    """Buffers that reached a sink, with when they arrived (appended from streaming threads)."""

    buffers: list[tuple[float, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def since(self, t: float) -> list[bytes]:
        with self.lock:
            return [data for at, data in self.buffers if at >= t]


def watched_sink(caps: str | None = None) -> tuple[Gst.Element, Seen]:
    """A real-time sink (a bin: capsfilter -> fakesink with sync) that records its buffers."""
    seen = Seen()
    sink = element("fakesink")
    sink.set_property("sync", True)
    target: Gst.Element = sink
    if caps is not None:
        target = Gst.Bin.new(None)
        names = ["audioconvert", "audioresample"] if caps.startswith("audio") else ["videoconvert"]
        capsfilter = element("capsfilter")
        capsfilter.set_property("caps", Gst.Caps.from_string(caps))
        chain = [*map(element, names), capsfilter, sink]
        for part in chain:
            target.add(part)
        for a, b in itertools.pairwise(chain):
            a.link(b)
        target.add_pad(Gst.GhostPad.new("sink", chain[0].get_static_pad("sink")))

    def probe(_pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        buffer = info.get_buffer()
        ok, mapped = buffer.map(Gst.MapFlags.READ)
        if ok:
            with seen.lock:
                seen.buffers.append((time.monotonic(), bytes(mapped.data)))
            buffer.unmap(mapped)
        return Gst.PadProbeReturn.OK

    sink.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)
    return target, seen


W, H = 320, 240


def text_pixels(frames: list[bytes]) -> int:
    """Bright pixels of the brightest frame: subtitle text drawn over the black picture.

    The most of any frame in the window, not the last one's: the cues leave a 100 ms gap every
    second, and a window ending in a gap would read as "no subtitle".
    """
    assert frames, "no video frame reached the sink"
    return max(int((np.frombuffer(f, dtype=np.uint8)[: W * H] > 160).sum()) for f in frames)


def dominant_hz(chunks: list[bytes], rate: int = 48000) -> float:
    samples = np.frombuffer(b"".join(chunks), dtype="<i2").astype(np.float64)
    assert len(samples) > rate // 10, "no audio reached the sink"
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


@dataclass
class Player:
    session: PlaybackSession
    client: StreamingClient
    sink: Queued
    video: Seen
    audio: Seen


@pytest.fixture
async def player(served: Served) -> AsyncIterator[Player]:
    video, video_seen = watched_sink(f"video/x-raw,format=GRAY8,width={W},height={H}")
    audio, audio_seen = watched_sink("audio/x-raw,format=S16LE,channels=1,rate=48000")
    engine = Engine(video_sink=video, audio_sink=audio)
    client = StreamingClient.open(served.base, served.token, device_id="test-runner")
    sink = Queued(WsProgressSink(client.connection), MemoryQueue())
    session = PlaybackSession(engine, client, sink, autoplay_next=True, up_next_s=1.5)
    async with sink, trio.open_nursery() as nursery:
        await nursery.start(session.run)
        try:
            yield Player(session, client, sink, video_seen, audio_seen)
        finally:
            with trio.CancelScope(shield=True):
                await session.close()
                await sink.aclose()
                await client.aclose()
            engine.close()


def watch_of(served: Served, key: str) -> dict[str, Any]:
    return served.details(key)["item"].get("watch") or {}


async def poll(predicate: Any, timeout: float) -> bool:
    with trio.move_on_after(timeout):
        while not predicate():
            await trio.sleep(0.1)
        return True
    return False


async def test_plays_to_eos_marks_watched_and_starts_the_next_episode(
    served: Served, player: Player
) -> None:
    session = player.session
    await session.open(served.item_id("e1"))
    status = await session.wait_for(lambda s: s.first_frame_s is not None, 20)
    assert status.error is None and status.decoders, status
    await session.wait_for(lambda s: s.finished, 20)
    # The "Up next" card counts down (1.5 s here, 10 s in the app), then the next episode
    # starts on its own, from the start, with its own stream.
    card = (await session.wait_for(lambda s: s.up_next is not None, 10)).up_next
    assert card is not None and card.item_id == served.item_id("e2")
    assert "S01E02" in card.label and card.seconds_left == 2
    await session.wait_for(lambda s: s.item_id == served.item_id("e2") and s.playing, 20)
    kinds = [e.kind for e in session.events]
    assert "first_frame" in kinds
    assert await poll(lambda: watch_of(served, "e1").get("completed"), 10), watch_of(served, "e1")
    state = watch_of(served, "e1")
    assert state["play_count"] >= 1 and state["position_s"] == pytest.approx(2, abs=0.3)


async def test_seek_lands_where_asked_and_resume_starts_at_the_saved_position(
    served: Served, player: Player
) -> None:
    item = served.item_id("clip")
    session = player.session
    await session.open(item, from_start=True)
    await session.wait_for(lambda s: s.first_frame_s is not None and s.playing, 20)
    session.seek(4.0)
    await session.wait_for(lambda s: any(e.kind == "seeked" for e in session.events), 10)
    await trio.sleep(0.3)
    position = session.engine.position()
    assert position is not None and 3.9 <= position <= 4.8, position
    session.pause()
    # The pause heartbeat went over the WebSocket and the server stored the position.
    assert await poll(lambda: watch_of(served, "clip").get("position_s", 0) >= 3.9, 10)
    assert player.sink.stats.sent >= 2 and not len(player.sink.queue)
    await session.close()  # the stop heartbeat carries where it was paused
    saved = watch_of(served, "clip")["position_s"]
    assert 3.9 <= saved <= 5.0, saved
    video_before = len(player.video.buffers)
    session2 = PlaybackSession(session.engine, player.client, player.sink)
    async with trio.open_nursery() as nursery:
        await nursery.start(session2.run)
        info = await session2.open(item)
        assert info.resume_s == pytest.approx(saved, abs=0.01)
        await session2.wait_for(lambda s: s.first_frame_s is not None and s.playing, 20)
        await trio.sleep(0.3)
        position = session2.engine.position()
        # Key-frame seek (one per second) to at or before the saved position.
        assert position is not None and saved - 1.1 <= position <= saved + 0.8, (position, saved)
        assert len(player.video.buffers) > video_before
        await session2.close()


async def test_audio_and_subtitle_switching_is_heard_and_seen(
    served: Served, player: Player
) -> None:
    session = player.session
    info = await session.open(served.item_id("multi"), from_start=True)
    assert [a.language for a in info.file.media_info.audio] == ["eng", "ger"]  # type: ignore[union-attr]
    assert [s.number for s in info.sidecars] == [0]
    await session.wait_for(lambda s: s.first_frame_s is not None and s.playing, 20)
    engine = session.engine
    assert [t.language for t in engine.tracks("audio")] == ["en", "de"]
    assert [round(c.start_s) for c in engine.chapters()] == [0, 3]

    assert [t.language for t in engine.tracks("text")] == ["es"]
    await trio.sleep(0.8)
    assert abs(dominant_hz(player.audio.since(time.monotonic() - 0.5)) - 440) < 20
    embedded = text_pixels(player.video.since(time.monotonic() - 0.3))
    assert embedded > 10, "the embedded subtitle is drawn over the picture"

    session.select_audio(1)
    session.select_subtitle(None)
    switched = time.monotonic()
    await trio.sleep(0.8)
    assert abs(dominant_hz(player.audio.since(switched + 0.4)) - 880) < 20
    assert text_pixels(player.video.since(switched + 0.4)) == 0, "subtitles are off"

    # The sidecar from the server's subtitle endpoint: reopened at the same position.
    before = engine.position() or 0.0
    session.select_subtitle("sidecar:0")
    reloaded = time.monotonic()
    await session.wait_for(
        lambda s: any(e.kind == "first_frame" and e.at > reloaded for e in session.events), 10
    )
    # The subtitle stream prerolls after the first video frame; under load that takes a while.
    sidecar = 0
    with trio.move_on_after(8):
        while sidecar <= 3 * embedded:
            await trio.sleep(0.2)
            sidecar = text_pixels(player.video.since(time.monotonic() - 0.3))
    assert sidecar > 3 * embedded, (sidecar, embedded)
    position = engine.position()
    assert position is not None and position >= before - 1.1, (position, before)
    assert [label for label, _ in session.subtitle_choices()] == ["Off", "spa", "eng (file)"]

    assert session.skip_chapter(forward=True)
    await trio.sleep(0.3)
    assert (engine.position() or 0) >= 2.9


async def test_hdr10_reaches_the_sink_as_10_bit_pq_with_its_metadata(served: Served) -> None:
    client = StreamingClient.open(served.base, served.token)
    try:
        info = await client.stream_info(served.item_id("hdr"))
    finally:
        await client.aclose()
    assert info.hdr == "HDR10"
    sink = element("fakesink")
    engine = Engine(video_sink=sink, audio_sink=element("fakesink"))
    try:
        engine.load(info.uri, play=False)
        while (event := await trio.to_thread.run_sync(engine.next_event, 10.0)) is not None:
            if event.kind in ("ready", "error"):
                break
        assert event is not None and event.kind == "ready", event
        caps = engine.current_video_caps()
        assert caps is not None
        s = caps.get_structure(0)
        assert s.get_string("format") in ("I420_10LE", "P010_10LE"), caps.to_string()
        assert s.get_string("colorimetry") == "bt2100-pq", caps.to_string()
        # G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1), MaxCLL 1000/400
        assert s.get_string("mastering-display-info") == (
            "34000:16000:13250:34500:7500:3000:15635:16450:10000000:1"
        )
        assert s.get_string("content-light-level") == "1000:400"
    finally:
        engine.close()


async def test_progress_is_queued_offline_and_sent_when_the_server_answers(served: Served) -> None:
    """The WebSocket to a port nobody listens on: heartbeats are queued (latest per item),
    then delivered once a reachable sink takes over."""
    item = served.item_id("clip")
    client = StreamingClient.open(served.base, served.token)
    queue = MemoryQueue()
    nobody = ServerConnection("http://127.0.0.1:9", access_token=served.token)
    dead = Queued(WsProgressSink(nobody, timeout_s=1), queue)
    from ui.playback.progress import heartbeat

    try:
        async with dead:
            assert not await dead.send(heartbeat(item, 1.0, 6.0, "tick"))
            assert not await dead.send(heartbeat(item, 2.5, 6.0, "pause"))
        assert dead.stats.queued == 2 and len(queue) == 1
        alive = Queued(RestProgressSink(client), queue)
        assert await alive.flush()
        assert alive.stats.flushed == 1 and len(queue) == 0
        assert watch_of(served, "clip")["position_s"] == pytest.approx(2.5)
    finally:
        await client.aclose()
        await nobody.aclose()


async def test_missing_codec_names_the_debian_package(served: Served, player: Player) -> None:
    registry = Gst.Registry.get()
    hidden = [
        f
        for f in registry.get_feature_list(Gst.ElementFactory)
        if "Decoder" in (f.get_metadata("klass") or "")
        and any(
            "video/x-h264" in t.get_caps().to_string()
            for t in f.get_static_pad_templates()
            if t.direction == Gst.PadDirection.SINK
        )
    ]
    ranks = {f: f.get_rank() for f in hidden}
    assert hidden, "no H.264 decoder to hide"
    for factory in hidden:
        factory.set_rank(Gst.Rank.NONE)
    try:
        session = player.session
        await session.open(served.item_id("e2"), from_start=True)
        status = await session.wait_for(lambda s: s.error is not None, 20)
    finally:
        for factory, rank in ranks.items():
            factory.set_rank(rank)
    assert status.error is not None and status.error.kind == "missing_codec", status.error
    assert status.error.package == "gstreamer1.0-libav"
    assert "H.264" in status.error.message and "apt install" in status.error.message


async def test_file_gone_on_the_server_is_said_plainly(served: Served, player: Player) -> None:
    """The stream info (and ticket) was fetched, then the file was deleted on the server."""
    session = player.session
    info = await player.client.stream_info(served.item_id("gone"))
    served.paths["gone"].unlink()
    session.start(info)
    status = await session.wait_for(lambda s: s.error is not None, 20)
    assert status.error is not None and status.error.kind == "file_gone", status.error
    assert "no longer on the server" in status.error.message
    assert not status.retrying, "a deleted file is not retried"


async def test_player_and_streaming_domains_start_a_session_from_a_play_message(
    served: Served,
) -> None:
    from ui.domains.core import DomainRegistry
    from ui.domains.player import PlayerDomain, PlayerStarted, StopPlayback, play_message
    from ui.domains.services import Services
    from ui.domains.streaming import StreamingDomain
    from ui.net.client import ApiClient

    api = ApiClient(served.base, access_token=served.token, device_id="test-runner")
    services = Services(api=api)
    video = element("fakesink")
    video.set_property("sync", True)
    services.extra["video_sink"] = lambda: video
    registry = DomainRegistry(services)
    player = registry.register(PlayerDomain)
    registry.register(StreamingDomain)
    started: list[PlayerStarted] = []
    registry.listen(lambda e: started.append(e) if isinstance(e, PlayerStarted) else None)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(registry.run)
            detail = type("Detail", (), {"id": served.item_id("clip")})()
            registry.post(play_message(detail, from_start=True))
            assert await poll(lambda: bool(started), 15)
            session = started[0].session
            status = await session.wait_for(lambda s: s.first_frame_s is not None, 20)
            assert status.title == "Clip" and status.error is None
            assert started[0].sink is video
            registry.post(StopPlayback())
            assert await poll(
                lambda: isinstance(player, PlayerDomain) and player.session is None, 10
            )
            nursery.cancel_scope.cancel()
    finally:
        await api.aclose()


async def splice(one: trio.abc.Stream, other: trio.abc.Stream) -> None:
    """Copy bytes both ways between two streams until either side ends or breaks (the relays
    below: the plain TCP proxy and the TLS front)."""
    async with trio.open_nursery() as nursery:

        async def pipe(a: trio.abc.Stream, b: trio.abc.Stream) -> None:
            try:
                while data := await a.receive_some(65536):
                    await b.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
            nursery.cancel_scope.cancel()

        nursery.start_soon(pipe, one, other)
        nursery.start_soon(pipe, other, one)


class LocalRelay:
    """Listens on a free port of 127.0.0.1 (``port`` once started) and hands each connection
    to :meth:`_relay`, which carries it to the appliance at ``upstream_port``."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._relay, listeners)

    async def _relay(self, client: trio.SocketStream) -> None:
        raise NotImplementedError


class Proxy(LocalRelay):
    """A TCP relay between the player and the appliance that can drop every connection and
    refuse new ones for a while: a network drop, with real sockets on both sides."""

    def __init__(self, upstream_port: int) -> None:
        super().__init__(upstream_port)
        self.down = False
        self.scopes: set[trio.CancelScope] = set()

    async def _relay(self, client: trio.SocketStream) -> None:
        if self.down:
            await client.aclose()
            return
        with trio.CancelScope() as scope:
            self.scopes.add(scope)
            try:
                upstream = await trio.open_tcp_stream("127.0.0.1", self.upstream_port)
                async with client, upstream:
                    await splice(client, upstream)
            except OSError:
                pass
            finally:
                self.scopes.discard(scope)

    def cut(self) -> None:
        self.down = True
        for scope in list(self.scopes):
            scope.cancel()


async def test_network_drop_is_retried_at_the_same_position(served: Served) -> None:
    from urllib.parse import urlsplit

    proxy = Proxy(urlsplit(served.base).port or 80)
    video, _ = watched_sink()
    audio = element("fakesink")
    audio.set_property("sync", True)
    engine = Engine(video_sink=video, audio_sink=audio)
    async with trio.open_nursery() as nursery:
        await nursery.start(proxy.serve)
        client = StreamingClient.open(f"http://127.0.0.1:{proxy.port}", served.token)
        sink = Queued(RestProgressSink(client), MemoryQueue())
        session = PlaybackSession(
            engine, client, sink, retry=RetryPolicy(attempts=8, first_delay_s=0.5, max_delay_s=1.0)
        )
        await nursery.start(session.run)
        try:
            await session.open(served.item_id("heavy"), from_start=True)
            await session.wait_for(lambda s: s.playing and s.position_s >= 2.0, 20)
            proxy.cut()
            # playbin may already hold the whole file; a seek needs a new range request.
            session.seek(5.0)
            try:
                status = await session.wait_for(lambda s: s.retrying > 0, 20)
            except trio.TooSlowError:
                raise AssertionError(
                    (
                        [e.kind for e in session.events],
                        session.status,
                        served.paths["heavy"].stat().st_size,
                    )
                ) from None
            assert status.error is not None and status.error.kind == "network", status.error
            kept = status.position_s
            assert kept >= 4.0, kept
            await trio.sleep(1.5)
            proxy.down = False  # the network is back
            resumed = await session.wait_for(lambda s: s.error is None and s.playing, 20)
            assert resumed.position_s >= kept - 1.1, (resumed.position_s, kept)
            await session.wait_for(lambda s: s.finished, 20)
        finally:
            await session.close()
            await client.aclose()
            engine.close()
            nursery.cancel_scope.cancel()


async def test_speed_volume_and_mute(served: Served, player: Player) -> None:
    session = player.session
    await session.open(served.item_id("clip"), from_start=True)
    await session.wait_for(lambda s: s.first_frame_s is not None and s.playing, 20)
    engine = session.engine
    assert session.faster(up=True) == 1.25
    session.set_speed(2.0)
    await trio.sleep(0.3)
    start, t0 = engine.position() or 0.0, time.monotonic()
    await trio.sleep(1.0)
    advanced = (engine.position() or 0.0) - start
    assert 1.5 <= advanced / (time.monotonic() - t0) <= 2.5, advanced
    with pytest.raises(ValueError, match=r"between 0\.25 and 4"):
        session.set_speed(10)
    volume = session.change_volume(-0.25)
    assert volume == pytest.approx(0.75) and engine.playbin.get_property("volume") == 0.75
    assert session.toggle_mute() and engine.playbin.get_property("mute")


def test_mpv_hand_off_says_plainly_when_mpv_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.playback.external import MpvMissing, mpv_path, play_in_mpv

    monkeypatch.setenv("PATH", "/nonexistent")
    assert mpv_path() is None

    async def attempt() -> None:
        client = StreamingClient.open("http://127.0.0.1:9", "t")
        try:
            await play_in_mpv("http://127.0.0.1:9/x", uuid.uuid4(), 0.0, RestProgressSink(client))
        finally:
            await client.aclose()

    with pytest.raises(MpvMissing, match=r"mpv is not installed.*apt install mpv"):
        trio.run(attempt)


# --- the one client: closed on every path, refreshed on 401, wss ---------------------------------


def sockets_to(port: int) -> int:
    """This process's established TCP connections to ``port`` (/proc: the sockets themselves,
    not what a client object believes)."""
    import os

    ours = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            ours.add(target[8:-1])
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            remote, state, inode = fields[2], fields[3], fields[9]
            if state == "01" and int(remote.rsplit(":", 1)[1], 16) == port and inode in ours:
                count += 1
    return count


async def test_stream_info_failure_closes_the_client(served: Served) -> None:
    """A play that fails (no such item) leaves no connection open: an own client is closed by
    its ``async with``; the Streaming domain borrows the app's connection, so failed plays
    leave nothing behind (each used to open a client of its own and never close it)."""
    from urllib.parse import urlsplit

    from sync.client_errors import NotFound
    from ui.domains.core import DomainRegistry
    from ui.domains.services import Services
    from ui.domains.streaming import RequestStream, StreamFailed, StreamingDomain
    from ui.net.client import ApiClient

    port = urlsplit(served.base).port or 80
    before = sockets_to(port)
    with pytest.raises(NotFound):
        async with StreamingClient.open(served.base, served.token) as client:
            await client.details(served.item_id("clip"))  # a kept-alive connection
            assert sockets_to(port) == before + 1
            await client.stream_info(uuid.uuid4())
    assert client.connection.closed and sockets_to(port) == before

    api = ApiClient(served.base, access_token=served.token, device_id="test-runner")
    registry = DomainRegistry(Services(api=api))
    registry.register(StreamingDomain)
    failed: list[StreamFailed] = []
    registry.listen(lambda e: failed.append(e) if isinstance(e, StreamFailed) else None)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(registry.run)
            for n in range(1, 4):  # one after another: the pool's one connection serves all
                registry.post(RequestStream(uuid.uuid4()))
                assert await poll(lambda n=n: len(failed) == n, 10)
            assert sockets_to(port) <= before + 1, "only the app's own keep-alive connection"
            nursery.cancel_scope.cancel()
    finally:
        await api.aclose()
    assert sockets_to(port) == before


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost that is its own CA (cert and key paths)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ferrex test appliance")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "appliance.pem", folder / "appliance.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class TlsFront(LocalRelay):
    """TLS in front of the appliance (as a reverse proxy would terminate it): https and wss."""

    def __init__(self, upstream_port: int, context: ssl.SSLContext) -> None:
        super().__init__(upstream_port)
        self.context = context

    async def _relay(self, raw: trio.SocketStream) -> None:
        client = trio.SSLStream(raw, self.context, server_side=True)
        try:
            await client.do_handshake()
            upstream = await trio.open_tcp_stream("127.0.0.1", self.upstream_port)
        except (trio.BrokenResourceError, OSError):
            await raw.aclose()
            return
        async with client, upstream:
            await splice(client, upstream)


async def test_progress_heartbeats_over_wss_with_the_session_refreshed(
    served: Served, tmp_path: Path
) -> None:
    """An appliance behind TLS: untrusted, the handshake fails and the heartbeat is queued;
    trusted through the player's CA file, heartbeats go over wss:// and are acknowledged, the
    expired access token refreshed once at the WebSocket handshake (401) and the REST calls
    over https on the same connection."""
    from urllib.parse import urlsplit

    from ui.domains.auth import device_info
    from ui.net.client import ApiClient
    from ui.playback.progress import SinkUnavailable, heartbeat

    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    front = TlsFront(urlsplit(served.base).port or 80, context)
    item = served.item_id("clip")
    async with trio.open_nursery() as nursery:
        await nursery.start(front.serve)
        url = f"https://127.0.0.1:{front.port}"
        async with ServerConnection(url, access_token=served.token) as untrusting:
            async with WsProgressSink(untrusting, timeout_s=5) as sink:
                assert sink.url == f"wss://127.0.0.1:{front.port}/api/v1/ws"
                with pytest.raises(SinkUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
                    await sink.send(heartbeat(item, 1.0, 6.0, "tick"))
        async with ApiClient(url, ca_file=str(cert)) as api:
            await api.login("admin", "correct horse battery", device_info("wss-player"))
            api.access_token = "fxs_" + "x" * 43  # expired, as after a night away
            ws = WsProgressSink(api)
            queued = Queued(ws, MemoryQueue())
            async with queued:
                assert await queued.send(heartbeat(item, 2.0, 6.0, "tick"))
                assert await queued.send(heartbeat(item, 3.25, 6.0, "pause"))
            assert queued.stats.sent == 2 and queued.stats.queued == 0, queued.last_error
            assert api.refreshes == 1
            assert not ws.connected  # closed with the block
            details = await StreamingClient(api).details(item)
            assert details.item.watch is not None
            assert details.item.watch.position_s == pytest.approx(3.25)
        nursery.cancel_scope.cancel()
