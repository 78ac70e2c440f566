"""What screens show, independent of where it came from (the replica or the server).

Cards and details arrive in two shapes (``sync.feed_types`` records from the replica, ``sync.
media_types`` answers from the API); screens get one shape so offline and online look the same.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sync.episode_labels import item_label
from sync.feed_types import Card, FileSummary, ItemRecord
from sync.media_info import MediaInfo
from sync.media_types import ItemDetails, MediaFileOut, MediaItemOut, WatchStateOut


@dataclass(frozen=True)
class LibraryView:
    id: uuid.UUID
    name: str
    kind: str


@dataclass(frozen=True)
class CardView:
    id: uuid.UUID
    library_id: uuid.UUID
    kind: str
    title: str
    year: int | None = None
    poster_image_id: str | None = None
    placeholder_color: str | None = None
    parent_id: uuid.UUID | None = None
    progress: float | None = None
    """0..1 of the runtime played, for the progress bar under a poster."""
    watched: bool = False
    subtitle: str = ""
    series_title: str | None = None
    season_number: int | None = None
    episode_numbers: tuple[int, ...] = ()
    still_image_id: str | None = None
    """An episode's still: its card is landscape and shows the still whole."""

    @property
    def label(self) -> str:
        """The caption every view shows: "Show · S01E02 · Title" for an episode."""
        return item_label(
            self.kind, self.title, self.series_title, self.season_number, self.episode_numbers
        )

    @property
    def landscape(self) -> bool:
        return self.kind == "episode"


@dataclass(frozen=True)
class FileView:
    id: uuid.UUID
    name: str
    resolution: str = ""
    video_codec: str = ""
    hdr: str | None = None
    container: str = ""
    duration_s: float | None = None
    size_bytes: int = 0
    audio: tuple[str, ...] = ()
    subtitles: tuple[str, ...] = ()
    height: int | None = None
    bit_depth: int | None = None
    edition: str = ""
    """What the file's name says (Director's Cut): versions of a film may differ."""
    present: bool = True
    part: int | None = None


@dataclass(frozen=True)
class PersonView:
    name: str
    role: str = ""
    kind: str = "actor"


@dataclass(frozen=True)
class DetailView:
    id: uuid.UUID
    library_id: uuid.UUID
    kind: str
    title: str
    year: int | None = None
    overview: str = ""
    tagline: str = ""
    genres: tuple[str, ...] = ()
    rating: float | None = None
    runtime_minutes: int | None = None
    mpaa: str = ""
    poster_image_id: str | None = None
    backdrop_image_id: str | None = None
    placeholder_color: str | None = None
    parent_id: uuid.UUID | None = None
    season_number: int | None = None
    episode_numbers: tuple[int, ...] = ()
    series_id: uuid.UUID | None = None
    series_title: str | None = None
    still_image_id: str | None = None
    people: tuple[PersonView, ...] = ()
    files: tuple[FileView, ...] = ()
    children: tuple[CardView, ...] = field(default=())
    position_s: float = 0.0
    duration_s: float | None = None
    watched: bool = False

    @property
    def label(self) -> str:
        """The heading: "Show · S01E02 · Title" for an episode, else the title."""
        return item_label(
            self.kind, self.title, self.series_title, self.season_number, self.episode_numbers
        )

    @property
    def resumable(self) -> bool:
        return self.position_s > 0 and not self.watched

    @property
    def hdr(self) -> str | None:
        return next((f.hdr for f in self.files if f.hdr and f.hdr != "SDR"), None)


def resolution_label(height: int | None, width: int | None = None) -> str:
    if not height:
        return ""
    if height >= 2000 or (width or 0) >= 3800:
        return "4K"
    if height >= 1000 or (width or 0) >= 1900:
        return "1080p"
    if height >= 700:
        return "720p"
    return f"{height}p"


def _progress(watch: WatchStateOut | None) -> tuple[float | None, bool]:
    if watch is None:
        return None, False
    fraction = (
        watch.position_s / watch.duration_s
        if watch.duration_s and watch.position_s > 0 and not watch.completed
        else None
    )
    return fraction, watch.completed


def card_from_replica(card: Card, watch: WatchStateOut | None = None) -> CardView:
    progress, watched = _progress(watch)
    return CardView(
        id=card.id,
        library_id=card.library_id,
        kind=card.kind,
        title=card.title,
        year=card.year,
        poster_image_id=card.poster_image_id,
        placeholder_color=card.placeholder_color,
        parent_id=card.parent_id,
        progress=progress,
        watched=watched,
        series_title=card.series_title,
        season_number=card.season_number,
        episode_numbers=tuple(card.episode_numbers or ()),
        still_image_id=card.still_image_id,
    )


def card_from_api(item: MediaItemOut) -> CardView:
    progress, watched = _progress(item.watch)
    return CardView(
        id=item.id,
        library_id=item.library_id,
        kind=item.kind,
        title=item.title,
        year=item.year,
        parent_id=item.parent_id,
        progress=progress,
        watched=watched,
        series_title=item.series_title,
        season_number=item.season_number,
        episode_numbers=tuple(item.episode_numbers or ()),
    )


def _file_from_info(file: MediaFileOut) -> FileView:
    info: MediaInfo | None = file.media_info
    video = info.video if info is not None else None
    return FileView(
        id=file.id,
        name=file.file_name,
        size_bytes=file.size_bytes,
        resolution=resolution_label(
            video.height if video else None, video.width if video else None
        ),
        video_codec=(video.codec if video else "") or "",
        hdr=(video.hdr if video and video.hdr != "SDR" else None),
        container=(info.container if info else "") or "",
        duration_s=info.duration_s if info else None,
        audio=tuple(
            f"{a.language or 'und'} {a.codec} {a.channels or ''}ch".strip()
            for a in (info.audio if info else [])
        ),
        subtitles=tuple(
            f"{s.language or 'und'} {s.codec}" + (" (forced)" if s.forced else "")
            for s in (info.subtitles if info else [])
        ),
        height=video.height if video else None,
        bit_depth=video.bit_depth if video else None,
        edition=file.edition or "",
        present=file.present,
        part=file.part,
    )


def _file_from_summary(f: FileSummary) -> FileView:
    return FileView(
        id=f.id,
        name=f.file_name,
        size_bytes=f.size_bytes,
        resolution=resolution_label(f.height, f.width),
        video_codec=f.video_codec or "",
        hdr=f.hdr,
        container=f.container or "",
        duration_s=f.duration_s,
        audio=tuple(f.audio),
        subtitles=tuple(f.subtitles),
        height=f.height,
        part=f.part,
    )


def detail_from_api(d: ItemDetails) -> DetailView:
    item = d.item
    images = {i.kind: i.image_id for i in d.images}
    watch = item.watch
    return DetailView(
        id=item.id,
        library_id=item.library_id,
        kind=item.kind,
        title=item.title,
        year=item.year,
        overview=d.overview or "",
        tagline=d.tagline or "",
        genres=tuple(item.genres),
        rating=item.rating,
        runtime_minutes=item.runtime_minutes,
        mpaa=d.mpaa or "",
        poster_image_id=images.get("poster") or images.get("thumb"),
        backdrop_image_id=images.get("backdrop"),
        parent_id=item.parent_id,
        season_number=item.season_number,
        episode_numbers=tuple(item.episode_numbers or ()),
        series_id=item.series_id,
        series_title=item.series_title,
        still_image_id=images.get("thumb") if item.kind == "episode" else None,
        people=tuple(PersonView(name=p.name, role=p.role or "", kind=p.kind) for p in d.people),
        files=tuple(_file_from_info(f) for f in d.files),
        children=tuple(card_from_api(c) for c in d.children),
        position_s=watch.position_s if watch else 0.0,
        duration_s=watch.duration_s if watch else None,
        watched=bool(watch and watch.completed),
    )


def detail_from_replica(
    r: ItemRecord, children: list[CardView], watch: WatchStateOut | None
) -> DetailView:
    images = {i.kind: i.image_id for i in r.images}
    return DetailView(
        id=r.id,
        library_id=r.library_id,
        kind=r.kind,
        title=r.title,
        year=r.year,
        overview=r.overview or "",
        tagline=r.tagline or "",
        genres=tuple(r.genres),
        rating=r.rating,
        runtime_minutes=r.runtime_minutes,
        mpaa=r.mpaa or "",
        poster_image_id=r.poster_image_id or images.get("poster") or images.get("thumb"),
        backdrop_image_id=r.backdrop_image_id or images.get("backdrop"),
        placeholder_color=r.placeholder_color,
        parent_id=r.parent_id,
        season_number=r.season_number,
        episode_numbers=tuple(r.episode_numbers or ()),
        series_id=r.series_id,
        series_title=r.series_title,
        still_image_id=images.get("thumb") if r.kind == "episode" else None,
        people=tuple(PersonView(name=p.name, role=p.role or "", kind=p.kind) for p in r.people),
        files=tuple(_file_from_summary(f) for f in r.files),
        children=tuple(children),
        position_s=watch.position_s if watch else 0.0,
        duration_s=watch.duration_s if watch else None,
        watched=bool(watch and watch.completed),
    )
