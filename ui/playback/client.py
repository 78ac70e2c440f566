"""The server calls playback needs (item details, tickets, progress, watched, next episode),
decoded into the shared wire types of ``sync.media_types``, over the player's one
:class:`~sync.connection.ServerConnection`: the app's (borrowed: its tokens, refreshed on 401 for
every caller at once), or one of its own (``StreamingClient.open``, closed with the client).
Errors are :mod:`sync.client_errors` classes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import msgspec

from sync.client_errors import NotFound, ServerUnreachable
from sync.connection import ServerConnection
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
    local: bool = False
    """``uri`` is the downloaded copy on this device (``ui.playback.local``), not a stream."""

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
    """Playback's calls on a connection. ``StreamingClient(connection)`` borrows one (its
    ``aclose`` leaves it open); ``StreamingClient.open(url, token)`` owns a new one and closes it
    with ``aclose`` / ``async with``."""

    def __init__(self, connection: ServerConnection, *, owned: bool = False) -> None:
        self.connection = connection
        self.owned = owned

    @classmethod
    def open(
        cls, base_url: str, token: str, *, device_id: str | None = None, timeout_s: float = 10.0
    ) -> StreamingClient:
        return cls(
            ServerConnection(
                base_url, access_token=token, device_id=device_id, timeout_s=timeout_s
            ),
            owned=True,
        )

    @property
    def base_url(self) -> str:
        return self.connection.base_url

    @property
    def device_id(self) -> str | None:
        return self.connection.device_id

    async def __aenter__(self) -> StreamingClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self.owned:
            await self.connection.aclose()

    async def _call(self, method: str, path: str, body: msgspec.Struct | None = None) -> bytes:
        return (await self.connection.request(method, path, body)).content

    async def details(self, item_id: uuid.UUID) -> ItemDetails:
        raw = await self._call("GET", f"/media/items/{item_id}")
        return msgspec.json.decode(raw, type=ItemDetails)

    async def ticket(self, file_id: uuid.UUID) -> TicketOut:
        raw = await self._call("POST", "/stream/tickets", TicketIn(file_id=file_id))
        return msgspec.json.decode(raw, type=TicketOut)

    async def stream_info(
        self, item_id: uuid.UUID, file_id: uuid.UUID | None = None, *, from_start: bool = False
    ) -> StreamInfo:
        details = await self.details(item_id)
        files = [f for f in details.files if f.present and (file_id is None or f.id == file_id)]
        if not files:
            raise NotFound(
                404, "file_missing", f"{details.item.title}: no playable file on the server"
            )
        file = files[0]
        ticket = await self.ticket(file.id)
        query = ticket.url.split("?", 1)[1] if "?" in ticket.url else ""
        sidecars = []
        externals = [
            t for t in (file.media_info.subtitles if file.media_info else []) if t.external
        ]
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
            response = await self.connection.send(
                "HEAD", url, headers=self.connection.auth_headers()
            )
        except ServerUnreachable:
            return None
        return response.status_code

    async def put_progress(self, item_id: uuid.UUID, body: ProgressIn) -> WatchUpdate:
        raw = await self._call("PUT", f"/media/items/{item_id}/progress", body)
        return msgspec.json.decode(raw, type=WatchUpdate)

    async def mark_watched(self, item_id: uuid.UUID, when: datetime | None = None) -> WatchUpdates:
        body = MarkIn(client_ts=when or datetime.now(UTC), device_id=self.device_id)
        raw = await self._call("POST", f"/media/items/{item_id}/watched", body)
        return msgspec.json.decode(raw, type=WatchUpdates)

    async def next_episode(self, item: MediaItemOut) -> MediaItemOut | None:
        """What plays after ``item``: one request; the server applies the rule
        (sync/episode_order.py). None after the last episode or for anything but an episode."""
        if item.kind != "episode":
            return None
        raw = await self._call("GET", f"/media/items/{item.id}/next")
        following = msgspec.json.decode(raw, type=ItemList).items
        return following[0] if following else None

    def ws_url(self) -> str:
        return self.connection.ws_url()

    def with_ticket(self, url: str, ticket: str) -> str:
        return f"{url}{'&' if '?' in url else '?'}ticket={quote(ticket)}"
