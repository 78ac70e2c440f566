"""One playback session under trio: stream info from the server, the engine, resume, heartbeats
every 10 s and on pause/seek/stop, watched at the end and the next episode, retries when the
network drops.

The controls (``play``, ``pause``, ``seek`` ...) are plain methods, safe to call from Qt key
handlers on the trio thread (qtrio): they act on the engine at once and leave the heartbeat to
the sender task, so a slow server never blocks a key press. ``run`` owns the two tasks (the bus
pump, which waits on the GStreamer bus in a worker thread 100 ms at a time, and the heartbeat
sender) and ends when the session is closed.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import trio

from sync.client_errors import ApiError, FerrexClientError, NotFound, ServerUnreachable
from sync.episode_labels import episode_label
from sync.media_types import MediaItemOut
from ui import memtrim
from ui.playback import tonemap
from ui.playback.client import StreamInfo, StreamingClient
from ui.playback.engine import Engine, EngineEvent
from ui.playback.errors import PlaybackError, from_http_status
from ui.playback.hdr import HdrStatus, hdr_status
from ui.playback.hdr_route import Decision, Route, decide, probe_facts
from ui.playback.progress import BeatEvent, ProgressSink, heartbeat

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0
UP_NEXT_S = 10.0
"""The "Up next" countdown after an episode, as the players people know have it."""
POSITION_EVERY_S = 0.25
"""How often the shown position follows the playing video."""
SPEEDS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


@dataclass(frozen=True)
class SeekSteps:
    """←/→ and Shift+←/→ (seconds); configurable in the player's settings."""

    small: float = 10.0
    large: float = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    first_delay_s: float = 0.5
    max_delay_s: float = 8.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay_s, self.first_delay_s * 2.0**attempt))


@dataclass(frozen=True)
class UpNext:
    """The card at the end of an episode: what plays next and in how many whole seconds."""

    item_id: uuid.UUID
    label: str
    """``Show · S01E02 · Title`` (``sync.episode_labels``)."""
    seconds_left: int


@dataclass
class Status:
    """What the player shows; replaced (not mutated) on each change and handed to
    ``on_status``."""

    title: str = ""
    item_id: uuid.UUID | None = None
    position_s: float = 0.0
    duration_s: float | None = None
    playing: bool = False
    buffering: int = 100
    hdr: HdrStatus | None = None
    error: PlaybackError | None = None
    warning: PlaybackError | None = None
    """Something playback goes on without (an audio track it cannot decode)."""
    retrying: int = 0
    """Attempt number while reconnecting after a network drop; 0 otherwise."""
    finished: bool = False
    next_item: uuid.UUID | None = None
    up_next: UpNext | None = None
    """Set while the "Up next" countdown runs (``play_next_now`` / ``cancel_next``)."""
    ended: bool = False
    """Nothing more plays in this session (a film's end, the last episode, the countdown
    cancelled): the player screen goes back to where Play was pressed."""
    first_frame_s: float | None = None
    """Seconds from ``open`` to the first frame at the sink."""
    decoders: list[str] = field(default_factory=list)


class PlaybackSession:
    def __init__(
        self,
        engine: Engine,
        client: StreamingClient,
        sink: ProgressSink,
        *,
        heartbeat_s: float = HEARTBEAT_S,
        steps: SeekSteps | None = None,
        retry: RetryPolicy | None = None,
        autoplay_next: bool = True,
        up_next_s: float = UP_NEXT_S,
        on_status: Callable[[Status], None] | None = None,
    ) -> None:
        self.engine = engine
        self.client = client
        self.sink = sink
        self.heartbeat_s = heartbeat_s
        self.steps = steps or SeekSteps()
        self.retry = retry or RetryPolicy()
        self.autoplay_next = autoplay_next
        self.up_next_s = up_next_s
        self.on_status = on_status
        self.info: StreamInfo | None = None
        self.status = Status()
        self.events: list[EngineEvent] = []
        """Every engine event of the current item (for the UI log and the tests)."""
        self._beats_in, self._beats_out = trio.open_memory_channel[tuple[BeatEvent, bool]](64)
        self._changed = trio.Event()
        self._unsent = 0
        self._all_sent = trio.Event()
        self._opened_at = 0.0
        self._closed = False
        self._suburi: str | None = None
        self._shown_at = 0.0
        self._next_answer: str | None = None
        self._next_answered = trio.Event()
        self.subtitle_choice: str | None = None
        """What ``select_subtitle`` last chose (the loaded sidecar at the start)."""

    # --- lifecycle ---------------------------------------------------------------------------

    async def open(
        self,
        item_id: uuid.UUID,
        *,
        file_id: uuid.UUID | None = None,
        from_start: bool = False,
        play: bool = True,
    ) -> StreamInfo:
        """Ask the server for stream info (file, tracks, HDR, resume position, ticket) and
        start the engine at the resume position."""
        self._opened_at = time.monotonic()
        info = await self.client.stream_info(item_id, file_id, from_start=from_start)
        self.start(info, play=play)
        return info

    def start(self, info: StreamInfo, *, play: bool = True) -> None:
        """Play what ``StreamingClient.stream_info`` (the Streaming domain) found."""
        if not self._opened_at:
            self._opened_at = time.monotonic()
        self.info = info
        self.events = []
        # passthrough > GL tone mapping > plain conversion, from what this sink, GStreamer and
        # the compositor can do (ui.playback.hdr_route); the badge and the log say which, why
        decision = decide(info.hdr, probe_facts(_factory(self.engine)))
        mapped = tonemap.install(self.engine.playbin, info.hdr, decision.passthrough)
        if decision.route is Route.TONEMAP and not mapped:
            decision = Decision(Route.CONVERT, decision.reason)
        hdr = hdr_status(info.hdr, decision)
        if hdr.reason:
            log.info("HDR: %s", hdr.reason)
        self._set(
            Status(
                title=info.item.title,
                item_id=info.item.id,
                position_s=info.resume_s,
                duration_s=info.duration_s,
                hdr=hdr,
            )
        )
        # No sidecar at the start: with a suburi and an embedded text track both linked,
        # playbin 1.22 stalls the video after switching between them (textoverlay waits on
        # the idle pad). Embedded tracks and off switch instantly; a sidecar reopens.
        self._suburi = None
        self.subtitle_choice = (
            "embedded:0"
            if info.file.media_info and any(not t.external for t in info.file.media_info.subtitles)
            else None
        )
        self.engine.load(info.uri, start_s=info.resume_s, suburi=self._suburi, play=play)
        self._beat("start")

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._pump)
            nursery.start_soon(self._send_beats)
            nursery.start_soon(self._tick)
            task_status.started()
            await self._wait_closed()
            nursery.cancel_scope.cancel()

    async def _wait_closed(self) -> None:
        while not self._closed:
            await self._changed.wait()

    async def close(self) -> None:
        """Stop (reporting the position) and end ``run``."""
        if self.info is not None and not self.status.finished:
            self._beat("stop")
        self.engine.stop()
        memtrim.trim()  # the decoders' frames and queues just went back to glibc's arenas
        await self._drain_beats()
        self._closed = True
        self._notify()

    async def wait_for(self, predicate: Callable[[Status], bool], timeout_s: float) -> Status:
        with trio.fail_after(timeout_s):
            while not predicate(self.status):
                await self._changed.wait()
        return self.status

    # --- controls ----------------------------------------------------------------------------

    def play(self) -> None:
        self.engine.play()
        self._set(replace(self.status, playing=True))

    def pause(self) -> None:
        self.engine.pause()
        self._update_position()
        self._set(replace(self.status, playing=False))
        self._beat("pause")

    def toggle(self) -> None:
        if self.engine.playing:
            self.pause()
        else:
            self.play()

    def seek(self, position_s: float) -> None:
        self.engine.seek(position_s)
        self._set(replace(self.status, position_s=max(0.0, position_s)))
        self._beat("seek")

    def step(self, forward: bool, large: bool = False) -> None:
        delta = self.steps.large if large else self.steps.small
        self._update_position()
        self.seek(self.status.position_s + (delta if forward else -delta))

    def set_speed(self, rate: float) -> None:
        self.engine.set_rate(rate)

    def faster(self, up: bool) -> float:
        speeds = list(SPEEDS)
        here = min(range(len(speeds)), key=lambda i: abs(speeds[i] - self.engine.rate))
        rate = speeds[max(0, min(len(speeds) - 1, here + (1 if up else -1)))]
        self.set_speed(rate)
        return rate

    def change_volume(self, delta: float) -> float:
        self.engine.volume = self.engine.volume + delta
        return self.engine.volume

    def toggle_mute(self) -> bool:
        self.engine.muted = not self.engine.muted
        return self.engine.muted

    def select_audio(self, index: int) -> None:
        self.engine.select_audio(index)

    def subtitle_choices(self) -> list[tuple[str, str | None]]:
        """(label, choice) for the menu: off, the embedded tracks, the server's sidecars."""
        info = self.info
        if info is None or info.file.media_info is None:
            return [("Off", None)]
        choices: list[tuple[str, str | None]] = [("Off", None)]
        embedded = [t for t in info.file.media_info.subtitles if not t.external]
        for i, track in enumerate(embedded):
            choices.append((_label(track.language, track.title, track.forced), f"embedded:{i}"))
        for sidecar in info.sidecars:
            track = sidecar.track
            choices.append(
                (
                    _label(track.language, track.title, track.forced) + " (file)",
                    f"sidecar:{sidecar.number}",
                )
            )
        return choices

    def select_subtitle(self, choice: str | None) -> None:
        """``None``: off; ``"embedded:I"``: the file's I-th text track; ``"sidecar:N"``: the
        server's sidecar N (a reopen at the same position; playbin takes a sidecar only at the
        start, and lists it first, before the embedded tracks)."""
        if choice is None:
            self.engine.select_subtitle(None)
            self.subtitle_choice = None
            return
        if self.info is None:
            raise RuntimeError("nothing is playing")
        kind, _, number_text = choice.partition(":")
        number = int(number_text)
        offset = 1 if self._suburi is not None else 0  # playbin lists the sidecar first
        if kind == "embedded":
            self.engine.select_subtitle(number + offset)
            self.subtitle_choice = choice
            return
        sidecar = next((s for s in self.info.sidecars if s.number == number), None)
        if kind != "sidecar" or sidecar is None:
            raise IndexError(f"no subtitle {choice}")
        self.subtitle_choice = choice
        if sidecar.url == self._suburi:
            self.engine.select_subtitle(0)
            return
        if self._suburi is None and self.engine.subtitle_track is None:
            pass  # off before: the sidecar turns subtitles on, as asked
        self._suburi = sidecar.url
        self.engine.reload_with_subtitles(sidecar.url)

    def play_next_now(self) -> None:
        """ "Play now" on the "Up next" card: skip the rest of the countdown."""
        self._answer_next("play")

    def cancel_next(self) -> None:
        """ "Cancel" on the "Up next" card: nothing more plays, the screen goes back."""
        self._answer_next("cancel")

    def _answer_next(self, answer: str) -> None:
        if self.status.up_next is not None and self._next_answer is None:
            self._next_answer = answer
            self._next_answered.set()

    def skip_chapter(self, forward: bool) -> bool:
        moved = self.engine.skip_chapter(1 if forward else -1)
        if moved:
            self._beat("seek")
        return moved

    # --- internals -----------------------------------------------------------------------------

    def _set(self, status: Status) -> None:
        self.status = status
        self._shown_at = time.monotonic()
        if self.on_status is not None:
            self.on_status(status)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def _update_position(self) -> None:
        position = self.engine.position()
        duration = self.engine.duration()
        if position is not None:
            self.status = replace(
                self.status, position_s=position, duration_s=duration or self.status.duration_s
            )

    def _beat(self, event: BeatEvent, completed: bool = False) -> None:
        try:
            self._beats_in.send_nowait((event, completed))
            self._unsent += 1
        except trio.WouldBlock:
            pass  # 64 unsent beats: the next one carries the same position anyway

    async def _drain_beats(self) -> None:
        """Wait (up to 5 s) until every queued heartbeat has been handed to the sink."""
        with trio.move_on_after(5):
            while self._unsent:
                await self._all_sent.wait()

    async def _send_beats(self) -> None:
        async for event, completed in self._beats_out:
            info = self.info
            if info is None:
                self._unsent -= 1
                continue
            if not completed:
                self._update_position()
            position = self.status.position_s
            duration = self.status.duration_s
            if completed and duration:
                position = duration
            beat = heartbeat(info.item.id, position, duration, event, completed=completed)
            try:
                await self.sink.send(beat)
            except ApiError:
                pass  # refused (e.g. the item is gone); nothing to retry
            finally:
                self._unsent -= 1
                if not self._unsent:
                    self._all_sent.set()
                    self._all_sent = trio.Event()

    async def _tick(self) -> None:
        while True:
            await trio.sleep(self.heartbeat_s)
            if self.status.playing and not self.status.error:
                self._beat("tick")

    async def _pump(self) -> None:
        while True:
            event = await trio.to_thread.run_sync(self.engine.next_event, 0.1)
            if event is not None:
                self.events.append(event)
                await self._on_event(event)
            # The screen follows the position while playing (``on_status``, not only the
            # waiters), also while the bus is busy with other messages.
            if self.status.playing and time.monotonic() - self._shown_at >= POSITION_EVERY_S:
                self._update_position()
                self._set(self.status)

    async def _on_event(self, event: EngineEvent) -> None:
        if event.kind == "first_frame":
            self._set(
                replace(
                    self.status,
                    first_frame_s=event.at - self._opened_at,
                    decoders=self.engine.decoders,
                )
            )
        elif event.kind == "state":
            self._set(replace(self.status, playing=event.state == "PLAYING"))
        elif event.kind == "buffering":
            self._set(replace(self.status, buffering=event.percent))
        elif event.kind in ("seeked", "ready", "chapters", "tracks"):
            self._update_position()
            self._notify()
        elif event.kind == "eos":
            await self._finished()
        elif event.kind == "warning" and event.error is not None:
            self._set(replace(self.status, warning=event.error))
        elif event.kind == "error" and event.error is not None:
            await self._failed(await self._explain(event.error))

    async def _finished(self) -> None:
        info = self.info
        assert info is not None
        self._update_position()
        self._set(
            replace(
                self.status,
                playing=False,
                finished=True,
                position_s=self.status.duration_s or self.status.position_s,
            )
        )
        self._beat("stop", completed=True)
        self.engine.stop()
        try:
            following = await self.client.next_episode(info.item)
        except FerrexClientError:
            following = None
        if following is None or not self.autoplay_next:
            self._set(
                replace(
                    self.status,
                    ended=True,
                    next_item=following.id if following is not None else None,
                )
            )
            return
        self._set(replace(self.status, next_item=following.id))
        if await self._count_down(following):
            await self._drain_beats()
            await self.open(following.id)

    async def _count_down(self, following: MediaItemOut) -> bool:
        """The "Up next" card: ``up_next_s`` seconds, shown in whole seconds, unless "Play
        now" or "Cancel" answers first. True: play the next episode."""
        self._next_answer = None
        self._next_answered = trio.Event()
        label = episode_label(
            following.series_title,
            following.season_number,
            following.episode_numbers,
            following.title,
        )
        deadline = trio.current_time() + self.up_next_s
        while (left := deadline - trio.current_time()) > 0:
            shown = math.ceil(left)
            self._set(replace(self.status, up_next=UpNext(following.id, label, shown)))
            with trio.move_on_after(left - (shown - 1)):  # until the next whole second
                await self._next_answered.wait()
            if self._next_answer is not None:
                break
        cancelled = self._next_answer == "cancel"
        self._set(replace(self.status, up_next=None, ended=cancelled))
        return not cancelled

    async def _explain(self, error: PlaybackError) -> PlaybackError:
        """GStreamer often reports only "Internal data stream error" from souphttpsrc; ask the
        server what the stream URL answers now."""
        if error.kind not in ("other", "network") or self.info is None:
            return error
        status = await self.client.probe(self.info.uri)
        if status is None:
            return PlaybackError(
                "network",
                "Lost the connection to the server; retrying at the same position.",
                error.debug,
            )
        return from_http_status(status, error.debug) or error

    async def _failed(self, error: PlaybackError) -> None:
        self.engine.stop()
        if not error.retryable or self.info is None:
            self._set(replace(self.status, error=error, playing=False))
            return
        keep = self.status.position_s
        for attempt in range(self.retry.attempts):
            self._set(replace(self.status, error=error, retrying=attempt + 1, playing=False))
            await trio.sleep(self.retry.delay(attempt))
            try:
                # A fresh ticket: the old one may have expired while we were away.
                info = await self.client.stream_info(self.info.item.id, self.info.file.id)
            except ServerUnreachable:
                continue
            except FerrexClientError as exc:
                gone = PlaybackError(
                    "file_gone" if isinstance(exc, NotFound) else "other", exc.message
                )
                self._set(replace(self.status, error=gone, retrying=0))
                return
            self.info = info
            self.engine.load(info.uri, start_s=keep, suburi=self._suburi)
            self._set(replace(self.status, error=None, retrying=0, position_s=keep))
            return
        self._set(
            replace(
                self.status,
                error=PlaybackError(
                    "network",
                    f"The server is unreachable ({self.retry.attempts} tries); press play "
                    "to try again.",
                    error.debug,
                ),
                retrying=0,
            )
        )


def _label(language: str | None, title: str | None, forced: bool | None) -> str:
    label = title or language or "Unknown"
    return label + (" (forced)" if forced else "")


def _factory(engine: Engine) -> str:
    sink = engine.video_sink
    factory = sink.get_factory() if sink is not None else None
    return factory.get_name() if factory is not None else "autovideosink"
