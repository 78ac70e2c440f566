"""Playing what is on this device (issue 22, item 2): the downloaded copy of a film or an
episode, online too (no bytes over the network) and offline with no server call failing it.

:class:`LocalMedia` answers "is this file here, whole?" from the downloads manifest
(``sync.downloads``: only verified files are ever listed) and builds what a play needs from the
replica when the server is away: the item, the file's tracks (its ``FileSummary``), the resume
position (the replica's watch state, which includes what was played offline and not yet
delivered). :class:`LocalFirstClient` is the Streaming domain's client: the same calls as
:class:`~ui.playback.client.StreamingClient`, with the local copy first; so a playback
session, and the next episode it opens, never needs to know where the bytes come from.

Progress goes where any playback's goes (the WebSocket with the replica's offline queue
behind it): offline, every heartbeat is queued and the next sync delivers it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast, get_args
from urllib.parse import unquote, urlsplit

import trio

from sync.client_errors import ServerUnreachable
from sync.connection import ServerConnection
from sync.downloads import Download, LocalFile, Manifest
from sync.feed_types import FileSummary, ItemRecord
from sync.languages import normalize_language
from sync.media_info import AudioTrack, HdrFormat, MediaInfo, SubtitleTrack, VideoTrack
from sync.media_types import (
    ItemDetails,
    MediaFileOut,
    MediaItemOut,
    TicketOut,
    WatchStateOut,
)
from ui.playback.client import Sidecar, StreamInfo, StreamingClient

_CODEC_OF_EXT = {"srt": "subrip", "vtt": "webvtt", "ass": "ass", "ssa": "ass"}
_NO_LIBRARY = uuid.UUID(int=0)


@dataclass(frozen=True)
class LocalCopy:
    """One verified file of a download, on this device's disk."""

    item_id: uuid.UUID
    file_id: uuid.UUID
    path: Path
    size_bytes: int
    subtitles: tuple[Path, ...]
    download: Download


class LocalMedia:
    """The downloads under ``root`` (the player data dir) and the replica beside them.

    ``usable``: a further say on a file id (the download manager's: not stale, not being
    replaced); by default every file the manifest lists is usable."""

    def __init__(
        self,
        root: Path,
        replica: Any = None,
        usable: Callable[[uuid.UUID], bool] | None = None,
    ) -> None:
        self.manifest = Manifest(root)
        self.replica = replica
        self.usable = usable

    def downloads(self) -> dict[uuid.UUID, Download]:
        try:
            return self.manifest.load()
        except (OSError, ValueError):  # an unreadable manifest: nothing is local
            return {}

    def find(self, item_id: uuid.UUID, file_id: uuid.UUID | None = None) -> LocalCopy | None:
        """The item's downloaded file (``file_id``, or its first part), when it is on disk
        with the size it was verified at; None otherwise (play streams it)."""
        download = self.downloads().get(item_id)
        if download is None or not download.files:
            return None
        chosen: LocalFile | None
        if file_id is None:
            chosen = download.files[0]
        else:
            chosen = next((f for f in download.files if f.file_id == file_id), None)
        if chosen is None:
            return None
        if self.usable is not None and not self.usable(chosen.file_id):
            return None
        path = self.manifest.dir / chosen.path
        try:
            if not path.is_file() or path.stat().st_size != chosen.size_bytes:
                return None
        except OSError:
            return None
        subtitles = tuple(
            p for p in (self.manifest.dir / s for s in chosen.subtitles) if p.is_file()
        )
        return LocalCopy(item_id, chosen.file_id, path, chosen.size_bytes, subtitles, download)

    def downloaded_file(self, item_id: uuid.UUID) -> uuid.UUID | None:
        """Which of the item's files is here (what Play should pick), if any."""
        copy = self.find(item_id)
        return copy.file_id if copy is not None else None

    # --- the replica's side ----------------------------------------------------------------

    def _record(self, item_id: uuid.UUID) -> ItemRecord | None:
        if self.replica is None or getattr(self.replica, "needs_snapshot", True):
            return None
        try:
            record: ItemRecord | None = self.replica.item(item_id)
        except (KeyError, AttributeError):
            return None
        return record

    def watch(self, item_id: uuid.UUID) -> WatchStateOut | None:
        if self.replica is None:
            return None
        try:
            state: WatchStateOut | None = self.replica.watch(item_id)
        except (KeyError, AttributeError):
            return None
        return state

    def item(self, item_id: uuid.UUID) -> MediaItemOut | None:
        record = self._record(item_id)
        return _item_of(record, self.watch(item_id)) if record is not None else None

    def details(self, copy: LocalCopy) -> ItemDetails:
        """The item and its file as the server would describe them, from the replica (or,
        when the replica does not hold it, from what the manifest recorded)."""
        record = self._record(copy.item_id)
        watch = self.watch(copy.item_id)
        if record is None:
            download = copy.download
            item = MediaItemOut(
                id=copy.item_id,
                library_id=_NO_LIBRARY,
                kind=cast(Any, download.kind),
                title=download.title,
                sort_title=download.title,
                added_at=download.downloaded_at,
                watch=watch,
            )
            file = MediaFileOut(
                id=copy.file_id,
                file_name=copy.path.name,
                size_bytes=copy.size_bytes,
                present=True,
                media_info=MediaInfo(subtitles=sidecar_tracks(copy)),
                stream_url="",
            )
            return ItemDetails(item=item, files=[file])
        files = [_file_of(f, copy if f.id == copy.file_id else None) for f in record.files]
        if not any(f.id == copy.file_id for f in files):
            files.insert(
                0,
                MediaFileOut(
                    id=copy.file_id,
                    file_name=copy.path.name,
                    size_bytes=copy.size_bytes,
                    present=True,
                    media_info=MediaInfo(subtitles=sidecar_tracks(copy)),
                    stream_url="",
                ),
            )
        return ItemDetails(
            item=_item_of(record, watch),
            overview=record.overview,
            tagline=record.tagline,
            studios=record.studios,
            mpaa=record.mpaa,
            files=files,
            people=record.people,
            images=record.images,
        )

    def next_episode(self, item: MediaItemOut) -> MediaItemOut | None:
        """The replica's next episode, when it is downloaded (offline nothing else plays)."""
        if item.kind != "episode" or self.replica is None:
            return None
        try:
            card = self.replica.next_episode(item.id)
        except (KeyError, AttributeError):
            return None
        if card is None or self.find(card.id) is None:
            return None
        return self.item(card.id)

    def stream_info(
        self, copy: LocalCopy, details: ItemDetails, *, from_start: bool = False
    ) -> StreamInfo:
        """What the engine needs to play ``copy``: a ``file://`` URI, the sidecars beside it,
        the resume position (the replica's, else the details')."""
        file = next((f for f in details.files if f.id == copy.file_id), None)
        if file is None:
            file = MediaFileOut(
                id=copy.file_id,
                file_name=copy.path.name,
                size_bytes=copy.size_bytes,
                present=True,
                stream_url="",
            )
        tracks = sidecar_tracks(copy, file.media_info.subtitles if file.media_info else [])
        sidecars = [
            Sidecar(n, track, path.as_uri())
            for n, (track, path) in enumerate(zip(tracks, copy.subtitles, strict=True))
        ]
        info = file.media_info or MediaInfo()
        embedded = [t for t in info.subtitles if not t.external]
        file = MediaFileOut(
            id=file.id,
            file_name=file.file_name,
            size_bytes=file.size_bytes,
            version=file.version,
            part=file.part,
            edition=file.edition,
            extra_kind=file.extra_kind,
            present=True,
            media_info=MediaInfo(
                container=info.container,
                duration_s=info.duration_s,
                bitrate=info.bitrate,
                size_bytes=info.size_bytes,
                title=info.title,
                video=info.video,
                audio=info.audio,
                subtitles=[*embedded, *tracks],
                chapters=info.chapters,
            ),
            stream_url=file.stream_url,
        )
        watch = self.watch(copy.item_id) or details.item.watch
        resume = 0.0
        if watch is not None and not watch.completed and not from_start:
            resume = watch.position_s
        uri = copy.path.as_uri()
        ticket = TicketOut(ticket="", expires_at=datetime.now(UTC), url=uri)
        return StreamInfo(details, file, uri, ticket, sidecars, resume, local=True)


def sidecar_tracks(
    copy: LocalCopy, known: list[SubtitleTrack] | None = None
) -> list[SubtitleTrack]:
    """A track for each sidecar file beside the copy (``Name.eng.srt``, as
    ``sync.downloads`` names them), with the server's title/forced flags where it listed a
    sidecar of the same language."""
    stem = copy.path.stem
    spare = [t for t in (known or []) if t.external]
    tracks: list[SubtitleTrack] = []
    for path in copy.subtitles:
        rest = path.name[len(stem) + 1 :] if path.name.startswith(stem + ".") else path.name
        parts = rest.split(".")
        label, ext = parts[0], parts[-1].lower()
        language = normalize_language(label) if not label.isdigit() else None
        same = next((t for t in spare if t.language == language), None)
        if same is not None:
            spare.remove(same)
        tracks.append(
            SubtitleTrack(
                codec=_CODEC_OF_EXT.get(ext, ext),
                language=language,
                title=same.title if same else None,
                forced=same.forced if same else None,
                hearing_impaired=same.hearing_impaired if same else None,
                external=True,
            )
        )
    return tracks


def _split(summary: str) -> tuple[str | None, list[str]]:
    """``"eng aac stereo"`` → (``"eng"``, ``["aac", "stereo"]``); a summary without a
    language (the replica's ``concat_ws`` leaves it out) starts with the codec."""
    words = summary.split()
    if len(words) >= 2 and normalize_language(words[0]) == words[0]:
        return words[0], words[1:]
    return None, words


def _media_info(f: FileSummary, copy: LocalCopy | None) -> MediaInfo:
    """The tracks a replica record lists, as ``MediaInfo`` (enough for the audio and subtitle
    menus, the HDR path and the duration); the sidecars are the downloaded ones."""
    hdr = f.hdr if f.hdr in get_args(HdrFormat) else None
    video = (
        VideoTrack(codec=f.video_codec, width=f.width, height=f.height, hdr=cast(Any, hdr))
        if f.video_codec or f.width
        else None
    )
    audio = []
    for text in f.audio:
        language, rest = _split(text)
        audio.append(
            AudioTrack(
                language=language,
                codec=rest[0] if rest else None,
                channel_layout=rest[1] if len(rest) > 1 else None,
            )
        )
    embedded = []
    for text in f.subtitles:
        if text.endswith("(external)"):
            continue
        language, rest = _split(text)
        embedded.append(SubtitleTrack(language=language, codec=rest[0] if rest else None))
    sidecars = sidecar_tracks(copy) if copy is not None else []
    return MediaInfo(
        container=f.container,
        duration_s=f.duration_s,
        size_bytes=f.size_bytes,
        video=video,
        audio=audio,
        subtitles=[*embedded, *sidecars],
    )


def _file_of(f: FileSummary, copy: LocalCopy | None) -> MediaFileOut:
    return MediaFileOut(
        id=f.id,
        file_name=f.file_name,
        size_bytes=f.size_bytes,
        version=f.version,
        part=f.part,
        present=True,
        media_info=_media_info(f, copy),
        stream_url="",
    )


def _item_of(r: ItemRecord, watch: WatchStateOut | None) -> MediaItemOut:
    return MediaItemOut(
        id=r.id,
        library_id=r.library_id,
        kind=r.kind,
        parent_id=r.parent_id,
        title=r.title,
        original_title=r.original_title,
        sort_title=r.sort_title,
        year=r.year,
        release_date=r.release_date,
        air_date=r.air_date,
        season_number=r.season_number,
        episode_numbers=r.episode_numbers,
        series_id=r.series_id,
        series_title=r.series_title,
        rating=r.rating,
        runtime_minutes=r.runtime_minutes,
        genres=r.genres,
        added_at=r.added_at,
        watch=watch,
    )


class LocalFirstClient(StreamingClient):
    """A :class:`StreamingClient` that plays the downloaded copy when there is one.

    Online it still asks the server for the item's details (one call: the current tracks,
    and whether the file changed there: a copy whose size no longer matches the server's file
    is stale, and the stream is played instead); offline (``online()`` false, or the call
    finds no server) the replica describes it, and nothing else is asked. No playback ticket
    is taken for a local file. The next episode comes from the server, else from the replica
    when it is downloaded."""

    def __init__(
        self, connection: ServerConnection, media: LocalMedia, online: Callable[[], bool]
    ) -> None:
        super().__init__(connection)
        self.media = media
        self.online = online

    async def stream_info(
        self, item_id: uuid.UUID, file_id: uuid.UUID | None = None, *, from_start: bool = False
    ) -> StreamInfo:
        copy = self.media.find(item_id, file_id)
        if copy is None:
            return await super().stream_info(item_id, file_id, from_start=from_start)
        details: ItemDetails | None = None
        if self.online():
            try:
                details = await self.details(item_id)
            except ServerUnreachable:
                details = None
        if details is not None:
            there = next((f for f in details.files if f.id == copy.file_id), None)
            changed = bool(getattr(copy.download, "stale", False)) or (
                there is not None and there.present and there.size_bytes != copy.size_bytes
            )
            if changed:  # changed on the server since it was downloaded: play the current one
                current = file_id if there is not None else None
                try:
                    return await super().stream_info(item_id, current, from_start=from_start)
                except ServerUnreachable:
                    pass  # gone meanwhile: the copy here is whole, play it
            if there is None:
                details = _with_file(details, self.media.details(copy), copy.file_id)
        else:
            details = self.media.details(copy)
        return self.media.stream_info(copy, details, from_start=from_start)

    async def next_episode(self, item: MediaItemOut) -> MediaItemOut | None:
        try:
            return await super().next_episode(item)
        except ServerUnreachable:
            return self.media.next_episode(item)

    async def probe(self, url: str) -> int | None:
        """A local file: 200 while it is there, 404 once it is gone (never the network)."""
        if url.startswith("file:"):
            return 200 if await trio.Path(unquote(urlsplit(url).path)).is_file() else 404
        return await super().probe(url)


def _with_file(details: ItemDetails, local: ItemDetails, file_id: uuid.UUID) -> ItemDetails:
    """The server's details plus the local description of a file it no longer lists."""
    extra = [f for f in local.files if f.id == file_id]
    return ItemDetails(
        item=details.item,
        overview=details.overview,
        tagline=details.tagline,
        studios=details.studios,
        mpaa=details.mpaa,
        edition=details.edition,
        external_ids=details.external_ids,
        files=[*extra, *details.files],
        extras=details.extras,
        people=details.people,
        images=details.images,
        children=details.children,
    )
