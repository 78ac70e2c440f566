"""The server calls playback needs (item details, tickets, progress, watched, next episode), over
httpx under trio, decoded into the shared wire types of ``sync.media_types``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import msgspec

from sync.media_info import SubtitleTrack
from sync.media_types import (
    ItemDetails,
    ItemList,
    MarkIn,
    MediaFileOut,
    MediaItemOut,
    ProgressIn,
    TicketIn,
    TicketOut,
    WatchUpdate,
    WatchUpdates,
)


class ServerError(Exception):
    """The server answered with an error; ``status`` and its ``code`` say which."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class Unreachable(Exception):
    """No answer from the server (connection refused, reset, timeout)."""


@dataclass(frozen=True)
class Sidecar:
    number: int
    """Index among the file's external subtitles (the server's ``/subtitles/{n}``)."""
    track: SubtitleTrack
    url: str


@dataclass(frozen=True)
class StreamInfo:
    """Everything the engine needs to start one item: where, from where, with what."""

    details: ItemDetails
    file: MediaFileOut
    uri: str
    """Absolute stream URL with the ticket."""
    ticket: TicketOut
    sidecars: list[Sidecar]
    resume_s: float
    """Saved position, 0 when never played or completed."""

    @property
    def item(self) -> MediaItemOut:
        return self.details.item

    @property
    def hdr(self) -> str:
        info = self.file.media_info
        return (info.video.hdr or "SDR") if info and info.video else "SDR"

    @property
    def duration_s(self) -> float | None:
        info = self.file.media_info
        return info.duration_s if info else None


class StreamingClient:
    def __init__(self, base_url: str, token: str, *, device_id: str | None = None,
                 timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.device_id = device_id
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s,
                                       headers={"Authorization": f"Bearer {token}"})

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, body: msgspec.Struct | None = None) -> bytes:
        try:
            response = await self._http.request(
                method, path, content=msgspec.json.encode(body) if body is not None else None,
                headers={"Content-Type": "application/json"} if body is not None else None)
        except httpx.TransportError as exc:
            raise Unreachable(f"{self.base_url}: {exc!r}") from exc
        if response.status_code >= 400:
            try:
                error = msgspec.json.decode(response.content)["error"]
                code, message = str(error.get("code")), str(error.get("message"))
            except (msgspec.DecodeError, KeyError, TypeError):
                code, message = "http_error", response.text[:200]
            raise ServerError(response.status_code, code, message)
        return response.content

    async def details(self, item_id: uuid.UUID) -> ItemDetails:
        raw = await self._call("GET", f"/api/v1/media/items/{item_id}")
        return msgspec.json.decode(raw, type=ItemDetails)

    async def ticket(self, file_id: uuid.UUID) -> TicketOut:
        raw = await self._call("POST", "/api/v1/stream/tickets", TicketIn(file_id=file_id))
        return msgspec.json.decode(raw, type=TicketOut)

    async def stream_info(self, item_id: uuid.UUID, file_id: uuid.UUID | None = None,
                          *, from_start: bool = False) -> StreamInfo:
        details = await self.details(item_id)
        files = [f for f in details.files if f.present and (file_id is None or f.id == file_id)]
        if not files:
            raise ServerError(404, "file_missing", f"{details.item.title}: no playable file on "
                              "the server")
        file = files[0]
        ticket = await self.ticket(file.id)
        query = ticket.url.split("?", 1)[1] if "?" in ticket.url else ""
        sidecars = []
        externals = [t for t in (file.media_info.subtitles if file.media_info else [])
                     if t.external]
        for number, track in enumerate(externals):
            # the server sends each sidecar's URL (never its path on the server)
            url = self.base_url + (track.url or f"/api/v1/stream/{file.id}/subtitles/{number}")
            sidecars.append(Sidecar(number, track, f"{url}?{query}" if query else url))
        watch = details.item.watch
        resume = 0.0
        if watch is not None and not watch.completed and not from_start:
            resume = watch.position_s
        return StreamInfo(details, file, self.base_url + ticket.url, ticket, sidecars, resume)

    async def probe(self, url: str) -> int | None:
        """HTTP status of a stream URL (HEAD), None when the server does not answer: tells a
        deleted file (404) from a network drop after GStreamer reported a bare flow error."""
        try:
            response = await self._http.head(url)
        except httpx.TransportError:
            return None
        return response.status_code

    async def put_progress(self, item_id: uuid.UUID, body: ProgressIn) -> WatchUpdate:
        raw = await self._call("PUT", f"/api/v1/media/items/{item_id}/progress", body)
        return msgspec.json.decode(raw, type=WatchUpdate)

    async def mark_watched(self, item_id: uuid.UUID, when: datetime | None = None
                           ) -> WatchUpdates:
        body = MarkIn(client_ts=when or datetime.now(UTC), device_id=self.device_id)
        raw = await self._call("POST", f"/api/v1/media/items/{item_id}/watched", body)
        return msgspec.json.decode(raw, type=WatchUpdates)

    async def next_episode(self, item: MediaItemOut) -> MediaItemOut | None:
        """What plays after ``item``: one request; the server applies the rule
        (sync/episode_order.py). None after the last episode or for anything but an episode."""
        if item.kind != "episode":
            return None
        raw = await self._call("GET", f"/api/v1/media/items/{item.id}/next")
        following = msgspec.json.decode(raw, type=ItemList).items
        return following[0] if following else None

    def ws_url(self) -> str:
        scheme = "wss" if self.base_url.startswith("https") else "ws"
        return scheme + self.base_url[self.base_url.index(":"):] + "/api/v1/ws"

    def with_ticket(self, url: str, ticket: str) -> str:
        return f"{url}{'&' if '?' in url else '?'}ticket={quote(ticket)}"
