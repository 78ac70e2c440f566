"""The GStreamer side of playback: one ``playbin`` reading the server's stream URL (souphttpsrc,
the ticket in the query string because GStreamer cannot send an Authorization header).

No GLib main loop runs under Qt, so nothing here uses signals that need one: the caller pulls
bus messages with ``next_event(timeout)`` (blocking, meant for ``trio.to_thread``), and every
control method is a plain GStreamer call, which GStreamer allows from any thread. The engine
keeps the small state machine a player needs: preroll, then the resume seek, then PLAYING; the
first frame at the sink is noticed by a pad probe that posts an application message, so every
event arrives through the bus in order.

Decoders are chosen by decodebin's ranks, so a VA-API or V4L2 decoder (rank primary or higher
when its plugin is installed) is used before the software avdec_* ones; ``decoders`` reports
which one ran.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ui.playback.errors import (
    MissingPlugin,
    PlaybackError,
    from_http_status,
    http_status,
    missing_codec,
)
from ui.playback.gst import SECOND, Gst, GstPbutils, GstVideo, element, has_element

EventKind = Literal[
    "ready",
    "first_frame",
    "eos",
    "error",
    "warning",
    "buffering",
    "seeked",
    "tracks",
    "chapters",
    "state",
]
TrackKind = Literal["audio", "text"]

DECODER_THREADS = 8
"""The most threads a software video decoder (``avdec_*``) gets; 0 leaves GStreamer's default.
GStreamer's default is one per CPU, and libav's frame threading holds a frame and a decoding
context per thread: playing 1080p H.264 here cost +72 MiB with 1 thread, +86 with 2, +128 with
8 and +184 with 17 (what a 16-core machine gets); 4K 10-bit frames are four times the size.
So a decoder gets the threads its stream needs (:func:`decoder_threads`), no more. Hardware
decoders, preferred by rank, have no such property."""
PIXELS_PER_THREAD = 1920 * 1080 * 30
"""Decoding work one thread keeps up with: 1080p at 30 frames a second (H.264 or HEVC on one
desktop core, with room to spare)."""

# playbin's GstPlayFlags
FLAG_VIDEO, FLAG_AUDIO, FLAG_TEXT = 0x1, 0x2, 0x4
FIRST_FRAME = "ferrex-first-frame"


@dataclass(frozen=True)
class EngineEvent:
    kind: EventKind
    error: PlaybackError | None = None
    percent: int = 100
    state: str = ""
    at: float = 0.0
    """time.monotonic() when it happened (first_frame: when the buffer reached the sink)."""


@dataclass(frozen=True)
class Track:
    index: int
    kind: TrackKind
    language: str | None = None
    title: str | None = None
    codec: str | None = None


@dataclass(frozen=True)
class Chapter:
    start_s: float
    end_s: float | None
    title: str | None


@dataclass
class _Pending:
    start_s: float = 0.0
    play: bool = True
    prerolled: bool = False
    seeking: bool = False
    switches: dict[str, int] = field(default_factory=dict)
    """Track switches (``current-audio``/``current-text`` -> index) asked for while a seek or
    a state change was under way: made once the pipeline settles (``Engine._switch``)."""


@dataclass
class Loaded:
    uri: str
    suburi: str | None
    started_at: float
    decoders: list[str] = field(default_factory=list)


class Engine:
    """One playbin. ``video_sink``/``audio_sink``/``text_sink`` default to what playbin picks
    (autovideosink ...); the player passes its overlay sink, tests pass appsinks."""

    def __init__(
        self,
        video_sink: Gst.Element | None = None,
        audio_sink: Gst.Element | None = None,
        text_sink: Gst.Element | None = None,
    ) -> None:
        self.playbin = element("playbin", "ferrex-playbin")
        if video_sink is not None:
            self.playbin.set_property("video-sink", video_sink)
        if audio_sink is not None:
            self.playbin.set_property("audio-sink", audio_sink)
        if text_sink is not None:
            self.playbin.set_property("text-sink", text_sink)
        if has_element("scaletempo"):
            # Keeps the pitch when the speed changes.
            self.playbin.set_property("audio-filter", element("scaletempo"))
        self.video_sink = video_sink
        self.bus = self.playbin.get_bus()
        self.window_handle: int | None = None
        """The native window the video sink draws into, given again whenever the sink asks
        (``prepare-window-handle``: after a reset to NULL it has forgotten it)."""
        self.render_rectangle: tuple[int, int, int, int] | None = None
        """Where in that window the video goes (waylandsink embedded as a subsurface needs it
        with the handle; the X11 sinks fill the window)."""
        self.need_context: Callable[[Gst.Message], bool] | None = None
        """Answers a sink's ``need-context`` on the streaming thread (waylandsink asking for
        the application's ``wl_display``, see ``ui.playback.wayland``)."""
        self.bus.set_sync_handler(self._on_sync_message)
        self.loaded: Loaded | None = None
        self._pending = _Pending()
        self._missing: list[MissingPlugin] = []
        self._chapters: list[Chapter] = []
        self._rate = 1.0
        self._lock = threading.Lock()
        self._probe_id: int | None = None
        self._probe_pad: Gst.Pad | None = None
        self.playbin.connect("deep-element-added", self._on_element_added)

    def _on_sync_message(self, _bus: Gst.Bus, message: Gst.Message) -> Gst.BusSyncReply:
        """Runs on the streaming thread, as GstVideoOverlay asks."""
        handle = self.window_handle
        if handle is not None and GstVideo.is_video_overlay_prepare_window_handle_message(message):
            source = message.src
            if isinstance(source, GstVideo.VideoOverlay):
                source.set_window_handle(handle)
                if self.render_rectangle is not None:
                    source.set_render_rectangle(*self.render_rectangle)
        elif self.need_context is not None and message.type == Gst.MessageType.NEED_CONTEXT:
            self.need_context(message)
        return Gst.BusSyncReply.PASS

    # --- loading ---------------------------------------------------------------------------

    def load(
        self, uri: str, *, start_s: float = 0.0, suburi: str | None = None, play: bool = True
    ) -> None:
        """Open ``uri`` and preroll; then seek to ``start_s`` (resume) and play if asked.
        The events ``ready`` and ``first_frame`` tell when that has happened. A sidecar given
        as ``suburi`` is listed first among the text tracks (index 0) and shown."""
        self.playbin.set_state(Gst.State.NULL)
        self.playbin.set_property("uri", uri)
        self.playbin.set_property("suburi", suburi)
        flags = int(self.playbin.get_property("flags"))
        self.playbin.set_property("flags", flags | FLAG_TEXT | FLAG_AUDIO | FLAG_VIDEO)
        with self._lock:
            self._pending = _Pending(start_s=max(0.0, start_s), play=play)
            self._missing = []
            self._chapters = []
            self._rate = 1.0
        self.loaded = Loaded(uri, suburi, time.monotonic())
        self._arm_first_frame()
        result = self.playbin.set_state(Gst.State.PAUSED)
        if result == Gst.StateChangeReturn.NO_PREROLL and play:
            self.playbin.set_state(Gst.State.PLAYING)

    def stop(self) -> None:
        self.playbin.set_state(Gst.State.NULL)
        self._disarm_first_frame()

    def close(self) -> None:
        self.stop()
        self.loaded = None

    # --- transport -------------------------------------------------------------------------

    def play(self) -> None:
        with self._lock:
            self._pending.play = True
            ready = self._pending.prerolled
        if ready:
            self.playbin.set_state(Gst.State.PLAYING)

    def pause(self) -> None:
        with self._lock:
            self._pending.play = False
        self.playbin.set_state(Gst.State.PAUSED)

    @property
    def playing(self) -> bool:
        _, state, pending = self.playbin.get_state(0)
        return bool(state == Gst.State.PLAYING or pending == Gst.State.PLAYING)

    def seek(self, position_s: float, *, accurate: bool = False) -> bool:
        duration = self.duration()
        if duration is not None:
            position_s = min(position_s, max(0.0, duration - 0.1))
        position_s = max(0.0, position_s)
        flags = Gst.SeekFlags.FLUSH | (
            Gst.SeekFlags.ACCURATE
            if accurate
            else Gst.SeekFlags.KEY_UNIT | Gst.SeekFlags.SNAP_BEFORE
        )
        with self._lock:
            self._pending.seeking = True
        return bool(
            self.playbin.seek(
                self._rate,
                Gst.Format.TIME,
                flags,
                Gst.SeekType.SET,
                int(position_s * SECOND),
                Gst.SeekType.NONE,
                -1,
            )
        )

    def seek_relative(self, delta_s: float) -> bool:
        return self.seek((self.position() or 0.0) + delta_s)

    def set_rate(self, rate: float) -> bool:
        """Playback speed (0.25-4): a flushing seek to where we are with the new rate."""
        if not 0.25 <= rate <= 4.0:
            raise ValueError(f"speed must be between 0.25 and 4, got {rate}")
        self._rate = rate
        return self.seek(self.position() or 0.0, accurate=True)

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def volume(self) -> float:
        return float(self.playbin.get_property("volume"))

    @volume.setter
    def volume(self, value: float) -> None:
        self.playbin.set_property("volume", min(1.5, max(0.0, value)))

    @property
    def muted(self) -> bool:
        return bool(self.playbin.get_property("mute"))

    @muted.setter
    def muted(self, value: bool) -> None:
        self.playbin.set_property("mute", value)

    def position(self) -> float | None:
        found, value = self.playbin.query_position(Gst.Format.TIME)
        return value / SECOND if found and value >= 0 else None

    def duration(self) -> float | None:
        found, value = self.playbin.query_duration(Gst.Format.TIME)
        return value / SECOND if found and value > 0 else None

    # --- tracks, subtitles, chapters --------------------------------------------------------

    def tracks(self, kind: TrackKind) -> list[Track]:
        count = int(self.playbin.get_property(f"n-{kind}"))
        found = []
        for index in range(count):
            tags = self.playbin.emit(f"get-{kind}-tags", index)
            found.append(
                Track(
                    index,
                    kind,
                    _tag(tags, Gst.TAG_LANGUAGE_CODE),
                    _tag(tags, Gst.TAG_TITLE),
                    _tag(tags, Gst.TAG_AUDIO_CODEC if kind == "audio" else Gst.TAG_SUBTITLE_CODEC),
                )
            )
        return found

    @property
    def audio_track(self) -> int:
        return int(self.playbin.get_property("current-audio"))

    def select_audio(self, index: int) -> None:
        count = int(self.playbin.get_property("n-audio"))
        if not 0 <= index < count:
            raise IndexError(f"no audio track {index} (this file has {count})")
        self._switch("current-audio", index)

    def _flush_to_here(self) -> None:
        """After a track switch: without a flush, what the old track already queued (a second
        or so) plays first, and a text track waits for its next packet in the file."""
        position = self.position()
        with self._lock:
            prerolled = self._pending.prerolled
        if position is not None and prerolled:
            self.seek(position, accurate=True)

    @property
    def subtitle_track(self) -> int | None:
        """The embedded (or loaded sidecar) text track shown, None when subtitles are off."""
        if not int(self.playbin.get_property("flags")) & FLAG_TEXT:
            return None
        current = int(self.playbin.get_property("current-text"))
        return current if current >= 0 else None

    def select_subtitle(self, index: int | None) -> None:
        flags = int(self.playbin.get_property("flags"))
        if index is None:
            self.playbin.set_property("flags", flags & ~FLAG_TEXT)
            return
        count = int(self.playbin.get_property("n-text"))
        if not 0 <= index < count:
            raise IndexError(f"no subtitle track {index} (this file has {count})")
        self.playbin.set_property("flags", flags | FLAG_TEXT)
        self._switch("current-text", index)

    def _switch(self, track: str, index: int) -> None:
        """Switch ``track`` (playbin's ``current-audio``/``current-text``) and flush to here;
        while a seek or a state change is under way (the resume seek just after the first
        frame, a seek the user made), only once it is over (:meth:`next_event` looks on each
        turn). playbin 1.22 deadlocks otherwise: the streaming thread that forwards the new
        track's sticky events through the input-selector waits on a sink still prerolling,
        and the flushing seek waits on that thread for ever, on the caller's thread (the UI)."""
        settled = self._settled()
        with self._lock:
            self._pending.switches.pop(track, None)
            if not settled:
                self._pending.switches[track] = index
                return
        if index != int(self.playbin.get_property(track)):
            self.playbin.set_property(track, index)
            self._flush_to_here()

    def _settled(self) -> bool:
        """Prerolled, no seek of ours under way and no state change pending."""
        with self._lock:
            if not self._pending.prerolled or self._pending.seeking:
                return False
        result, _state, pending = self.playbin.get_state(0)
        done = (Gst.StateChangeReturn.SUCCESS, Gst.StateChangeReturn.NO_PREROLL)  # live: no preroll
        return bool(result in done and pending == Gst.State.VOID_PENDING)

    def _apply_switches(self) -> None:
        with self._lock:
            if not self._pending.switches:
                return
        if not self._settled():
            return
        with self._lock:
            switches, self._pending.switches = self._pending.switches, {}
        for track, index in switches.items():
            if index != int(self.playbin.get_property(track)):
                self.playbin.set_property(track, index)
                self._flush_to_here()

    def reload_with_subtitles(self, suburi: str | None) -> None:
        """playbin takes one sidecar (``suburi``) and only before it starts: reopen at the same
        position with another one, keeping play/pause. (The audio track goes back to the
        default: setting ``current-audio`` while the resume seek is under way can deadlock
        playbin 1.22 on the next state change.)"""
        if self.loaded is None:
            raise RuntimeError("nothing loaded")
        position = self.position() or 0.0
        with self._lock:
            play = self._pending.play
        self.load(self.loaded.uri, start_s=position, suburi=suburi, play=play)

    def chapters(self) -> list[Chapter]:
        with self._lock:
            return list(self._chapters)

    def skip_chapter(self, direction: int) -> bool:
        """Next (+1) or previous (-1) chapter; previous restarts the current one after 3 s."""
        chapters = self.chapters()
        if not chapters:
            return False
        here = self.position() or 0.0
        if direction > 0:
            later = [c.start_s for c in chapters if c.start_s > here + 0.5]
            return self.seek(later[0], accurate=True) if later else False
        earlier = [c.start_s for c in chapters if c.start_s < here - 3.0]
        return self.seek(earlier[-1] if earlier else 0.0, accurate=True)

    @property
    def decoders(self) -> list[str]:
        return list(self.loaded.decoders) if self.loaded else []

    def current_video_caps(self) -> Gst.Caps | None:
        """What was negotiated at the video sink."""
        sink = self.video_sink or self.playbin.get_property("video-sink")
        if sink is None:
            return None
        pad = sink.get_static_pad("sink")
        if pad is None and isinstance(sink, Gst.Bin):
            pad = next(iter(_sink_pads(sink)), None)
        return pad.get_current_caps() if pad is not None else None

    # --- the bus ---------------------------------------------------------------------------

    def next_event(self, timeout_s: float) -> EngineEvent | None:
        """Block up to ``timeout_s`` for the next bus message that matters; run the
        preroll/resume state machine on the way. Call from one thread at a time."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._apply_switches()  # a track switch that waited for the pipeline to settle
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            msg = self.bus.timed_pop(int(left * SECOND))
            if msg is None:
                return None
            event = self._handle(msg)
            if event is not None:
                return event

    def _handle(self, msg: Gst.Message) -> EngineEvent | None:
        now = time.monotonic()
        kind = msg.type
        if kind == Gst.MessageType.APPLICATION:
            structure = msg.get_structure()
            if structure is not None and structure.get_name() == FIRST_FRAME:
                ok, at = structure.get_double("at")
                return EngineEvent("first_frame", at=at if ok else now)
            return None
        if kind == Gst.MessageType.ELEMENT and GstPbutils.is_missing_plugin_message(msg):
            missing = MissingPlugin(
                GstPbutils.missing_plugin_message_get_installer_detail(msg) or "",
                GstPbutils.missing_plugin_message_get_description(msg) or "",
            )
            self._missing.append(missing)
            # playbin goes on without a stream it cannot decode: without video that is no
            # film (an error), without one audio or subtitle track it is a warning.
            fatal = "decoder-video" in missing.detail or "urisource" in missing.detail
            return EngineEvent(
                "error" if fatal else "warning", error=missing_codec([missing]), at=now
            )
        if kind == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            return EngineEvent("error", error=self._classify(err, debug or ""), at=now)
        if kind == Gst.MessageType.EOS:
            return EngineEvent("eos", at=now)
        if kind == Gst.MessageType.BUFFERING:
            percent = int(msg.parse_buffering())
            with self._lock:
                play = self._pending.play and self._pending.prerolled
            if play:  # the usual dance: pause while the buffer fills, resume at 100 %
                self.playbin.set_state(Gst.State.PAUSED if percent < 100 else Gst.State.PLAYING)
            return EngineEvent("buffering", percent=percent, at=now)
        if kind == Gst.MessageType.TOC:
            toc, _updated = msg.parse_toc()
            with self._lock:
                self._chapters = _flatten_toc(toc)
            return EngineEvent("chapters", at=now)
        if kind == Gst.MessageType.STREAM_COLLECTION or (kind == Gst.MessageType.STREAMS_SELECTED):
            return EngineEvent("tracks", at=now)
        if kind == Gst.MessageType.STATE_CHANGED and msg.src == self.playbin:
            _old, new, _pending = msg.parse_state_changed()
            return EngineEvent("state", state=Gst.Element.state_get_name(new), at=now)
        if kind == Gst.MessageType.ASYNC_DONE and msg.src == self.playbin:
            return self._async_done(now)
        return None

    def _async_done(self, now: float) -> EngineEvent | None:
        with self._lock:
            pending = self._pending
            if not pending.prerolled:
                pending.prerolled = True
                if pending.start_s > 0:
                    pending.seeking = True
                    start = pending.start_s
                else:
                    start = None
            elif pending.seeking:
                pending.seeking = False
                return EngineEvent("seeked", at=now)
            else:
                return None
        if start is not None:
            # Resume: to the key frame before the saved position, then PLAYING once landed.
            self._arm_first_frame()
            self.playbin.seek_simple(
                Gst.Format.TIME,
                Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT | Gst.SeekFlags.SNAP_BEFORE,
                int(start * SECOND),
            )
        if pending.play:
            self.playbin.set_state(Gst.State.PLAYING)
        return EngineEvent("ready", at=now)

    def _classify(self, err: Any, debug: str) -> PlaybackError:
        text = f"{err.message} | {debug}"
        if (
            self._missing
            or err.matches(Gst.CoreError.quark(), Gst.CoreError.MISSING_PLUGIN)
            or err.matches(Gst.StreamError.quark(), Gst.StreamError.CODEC_NOT_FOUND)
        ):
            return missing_codec(self._missing, text)
        if err.domain == Gst.ResourceError.quark() or "souphttpsrc" in debug:
            status = http_status(text)
            if status is not None:
                mapped = from_http_status(status, text)
                if mapped is not None:
                    return mapped
            if err.matches(Gst.ResourceError.quark(), Gst.ResourceError.NOT_FOUND):
                return PlaybackError("file_gone", "This file is no longer on the server.", text)
            return PlaybackError(
                "network", "Lost the connection to the server; retrying at the same position.", text
            )
        return PlaybackError("other", f"Playback failed: {err.message}", text)

    # --- first frame -----------------------------------------------------------------------

    def _arm_first_frame(self) -> None:
        self._disarm_first_frame()
        sink = self.video_sink
        pad = sink.get_static_pad("sink") if sink is not None else None
        if pad is None and isinstance(sink, Gst.Bin):
            pad = next(iter(_sink_pads(sink)), None)
        if pad is None:
            return
        with self._lock:
            self._probe_pad = pad
            self._probe_id = pad.add_probe(Gst.PadProbeType.BUFFER, self._on_first_buffer)

    def _disarm_first_frame(self) -> None:
        with self._lock:
            pad, probe = self._probe_pad, self._probe_id
            self._probe_pad = self._probe_id = None
        if pad is not None and probe is not None:
            pad.remove_probe(probe)

    def _on_first_buffer(self, pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        with self._lock:
            # The preroll frame before a resume seek does not count.
            if self._pending.start_s > 0 and not self._pending.prerolled:
                return Gst.PadProbeReturn.OK
            if self._probe_id != info.id:
                return Gst.PadProbeReturn.REMOVE  # a stale probe (re-armed meanwhile)
            self._probe_id = self._probe_pad = None
        structure = Gst.Structure.new_empty(FIRST_FRAME)
        structure.set_value("at", time.monotonic())
        self.bus.post(Gst.Message.new_application(self.playbin, structure))
        return Gst.PadProbeReturn.REMOVE

    def _on_element_added(self, _bin: Gst.Bin, _sub: Gst.Bin, elem: Gst.Element) -> None:
        factory = elem.get_factory()
        if factory is None or self.loaded is None:
            return
        klass = factory.get_metadata("klass") or ""
        if "Decoder" in klass and "Bin" not in klass:
            hardware = "Hardware" in klass
            self.loaded.decoders.append(factory.get_name() + (" (hardware)" if hardware else ""))
            pad = elem.get_static_pad("sink")
            if DECODER_THREADS and elem.find_property("max-threads") is not None and pad:
                # the stream's size arrives as caps, before the decoder opens its codec
                pad.add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, _size_threads, elem)


def decoder_threads(width: int, height: int, fps: float) -> int:
    """Threads for a software decoder of a ``width`` x ``height`` stream at ``fps``: one per
    :data:`PIXELS_PER_THREAD` of work (1080p24 one, 1080p60 two, 4K30 four), at most
    :data:`DECODER_THREADS` and the CPUs."""
    work = max(1, width) * max(1, height) * (fps if fps > 0 else 30.0)
    wanted = -(-int(work) // PIXELS_PER_THREAD)
    return max(1, min(wanted, DECODER_THREADS, os.cpu_count() or 1))


def _size_threads(pad: Gst.Pad, info: Gst.PadProbeInfo, decoder: Gst.Element) -> Gst.PadProbeReturn:
    """On a decoder's sink pad: set its ``max-threads`` from the stream's caps (read when the
    codec is opened, right after this event)."""
    event = info.get_event()
    if event is None or event.type != Gst.EventType.CAPS:
        return Gst.PadProbeReturn.OK
    structure = event.parse_caps().get_structure(0)
    if structure is None:
        return Gst.PadProbeReturn.OK
    ok_w, width = structure.get_int("width")
    ok_h, height = structure.get_int("height")
    ok_f, num, den = structure.get_fraction("framerate")
    if ok_w and ok_h:
        fps = num / den if ok_f and den else 0.0
        decoder.set_property("max-threads", decoder_threads(width, height, fps))
    return Gst.PadProbeReturn.OK


def _tag(tags: Gst.TagList | None, name: str) -> str | None:
    if tags is None:
        return None
    found, value = tags.get_string(name)
    return str(value) if found else None


def _flatten_toc(toc: Gst.Toc) -> list[Chapter]:
    chapters: list[Chapter] = []

    def walk(entries: list[Gst.TocEntry]) -> None:
        for entry in entries:
            if entry.get_entry_type() == Gst.TocEntryType.CHAPTER:
                ok, start, stop = entry.get_start_stop_times()
                if ok:
                    tags = entry.get_tags()
                    chapters.append(
                        Chapter(
                            start / SECOND,
                            stop / SECOND if stop >= 0 else None,
                            _tag(tags, Gst.TAG_TITLE),
                        )
                    )
            walk(entry.get_sub_entries())

    walk(toc.get_entries())
    return sorted(chapters, key=lambda c: c.start_s)


def _sink_pads(bin_: Gst.Bin) -> list[Gst.Pad]:
    pads: list[Gst.Pad] = []
    iterator = bin_.iterate_sink_pads()
    while True:
        result, pad = iterator.next()
        if result != Gst.IteratorResult.OK:
            return pads
        pads.append(pad)


def set_window_handle(sink: Gst.Element, handle: int) -> bool:
    """Give an overlay sink (xvimagesink, ximagesink, glimagesink, waylandsink) the native
    window to draw into; False if this sink cannot draw into a foreign window."""
    if not isinstance(sink, GstVideo.VideoOverlay):
        return False
    sink.set_window_handle(handle)
    return True
