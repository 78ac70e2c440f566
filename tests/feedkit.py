"""Synthetic browse sets as feed frames, for replica tests and the replica benchmark.

A :class:`World` is the server's truth in miniature (libraries, items, this user's watch state);
``snapshot()`` renders it as the frames ``GET /sync/snapshot`` sends, and the mutators return the
frames a changes page would carry, so a test can check "snapshot + deltas == fresh snapshot".
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sync.feed_types import (
    FEED_SCHEMA,
    EndFrame,
    FileSummary,
    Frame,
    HeaderFrame,
    ItemFrame,
    ItemRecord,
    LibraryFrame,
    LibraryInfo,
    Tombstone,
    WatchFrame,
)
from sync.media_types import ImageRef, PersonOut, WatchStateOut

GENRES = [
    "Drama",
    "Comedy",
    "Action",
    "Thriller",
    "Science Fiction",
    "Horror",
    "Romance",
    "Documentary",
    "Animation",
    "Crime",
    "Fantasy",
    "Mystery",
]
WORDS = [
    "Matrix",
    "Night",
    "Return",
    "Star",
    "River",
    "Ghost",
    "Empire",
    "Silent",
    "Golden",
    "Last",
    "City",
    "Winter",
    "Fire",
    "Shadow",
    "Dream",
    "Ocean",
    "Iron",
    "Blue",
    "Lost",
    "Garden",
    "Storm",
    "Echo",
    "Stone",
    "Glass",
    "Wolf",
    "Paper",
    "Moon",
    "Crimson",
]
T0 = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class World:
    rng: random.Random
    server_id: str = "srv-test"
    user_id: uuid.UUID = field(default_factory=uuid.uuid4)
    libraries: dict[uuid.UUID, LibraryInfo] = field(default_factory=dict)
    items: dict[uuid.UUID, ItemRecord] = field(default_factory=dict)
    watch: dict[uuid.UUID, WatchStateOut] = field(default_factory=dict)
    seq: int = 0

    def library(self, name: str, kind: str = "movies") -> LibraryInfo:
        lib = LibraryInfo(
            id=uuid.UUID(int=self.rng.getrandbits(128)),
            name=name,
            kind="movies" if kind == "movies" else "series",
        )
        self.libraries[lib.id] = lib
        return lib

    def _id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128))

    def title(self) -> str:
        n = self.rng.randint(1, 3)
        words = self.rng.sample(WORDS, n)
        if self.rng.random() < 0.1:
            words.insert(0, "The")
        return " ".join(words)

    def movie(self, library_id: uuid.UUID, title: str | None = None) -> ItemRecord:
        rng = self.rng
        title = title or self.title()
        year = rng.randint(1950, 2024) if rng.random() > 0.05 else None
        poster = f"{rng.getrandbits(64):016x}"
        record = ItemRecord(
            id=self._id(),
            library_id=library_id,
            kind="movie",
            title=title,
            original_title=title.upper() if rng.random() < 0.1 else None,
            sort_title=title[4:] + ", The" if title.startswith("The ") else title,
            year=year,
            release_date=date(year, rng.randint(1, 12), 1) if year else None,
            rating=round(rng.uniform(1, 10), 1) if rng.random() > 0.1 else None,
            runtime_minutes=rng.randint(70, 200) if rng.random() > 0.1 else None,
            genres=rng.sample(GENRES, rng.randint(0, 3)),
            added_at=T0 + timedelta(minutes=rng.randint(0, 500_000)),
            overview="An overview. " * rng.randint(1, 8),
            people=[
                PersonOut(id=self._id(), name=f"Actor {i}", kind="cast", role=f"Role {i}")
                for i in range(rng.randint(0, 4))
            ],
            images=[ImageRef(kind="poster", image_id=poster)],
            poster_image_id=poster,
            placeholder_color=f"#{rng.getrandbits(24):06x}",
            blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
            files=[
                FileSummary(
                    id=self._id(),
                    file_name=f"{title}.mkv",
                    size_bytes=rng.randint(10**8, 10**10),
                    duration_s=5400.0,
                    container="matroska",
                    video_codec="hevc",
                    width=3840 if rng.random() < 0.2 else 1920,
                    height=2160 if rng.random() < 0.2 else 1080,
                    hdr=rng.choice([None, None, None, "HDR10", "DolbyVision"]),
                    audio=["eng aac 2.0"],
                )
            ],
        )
        self.items[record.id] = record
        return record

    def series(self, library_id: uuid.UUID, seasons: int, episodes: int) -> list[ItemRecord]:
        show = self.movie(library_id)
        show.kind = "series"
        show.files = []
        out = [show]
        for s in range(1, seasons + 1):
            season = ItemRecord(
                id=self._id(),
                library_id=library_id,
                kind="season",
                parent_id=show.id,
                title=f"Season {s}",
                sort_title=f"Season {s}",
                season_number=s,
                added_at=show.added_at,
            )
            self.items[season.id] = season
            out.append(season)
            for e in range(1, episodes + 1):
                ep = ItemRecord(
                    id=self._id(),
                    library_id=library_id,
                    kind="episode",
                    parent_id=season.id,
                    title=f"{show.title} {s}x{e}",
                    sort_title=f"{show.title} {s:02d}x{e:02d}",
                    season_number=s,
                    episode_numbers=[e],
                    added_at=show.added_at,
                    runtime_minutes=45,
                    air_date=date(2020, 1, 1) + timedelta(e),
                )
                self.items[ep.id] = ep
                out.append(ep)
        return out

    def set_watch(
        self, item_id: uuid.UUID, position: float, completed: bool, when: datetime
    ) -> WatchStateOut:
        state = WatchStateOut(
            position_s=position,
            duration_s=5400.0,
            completed=completed,
            play_count=1 if completed else 0,
            last_played_at=when,
            client_ts=when,
        )
        self.watch[item_id] = state
        return state

    def snapshot_frames(self) -> list[Frame]:
        self.seq += 1
        frames: list[Frame] = [
            HeaderFrame(schema=FEED_SCHEMA, server_id=self.server_id, user_id=self.user_id)
        ]
        frames += [LibraryFrame(library=lib) for lib in self.libraries.values()]
        frames += [ItemFrame(item=item) for item in self.items.values()]
        frames += [WatchFrame(item_id=i, state=s) for i, s in self.watch.items()]
        frames.append(EndFrame(seq=self.seq))
        return frames

    def random_changes(self, count: int) -> list[Frame]:
        """A changes page: ``count`` random upserts, deletions and watch changes."""
        rng = self.rng
        frames: list[Frame] = []
        touched: set[uuid.UUID] = set()
        for _ in range(count):
            roll = rng.random()
            ids = [i for i in self.items if i not in touched]
            if roll < 0.3 or not ids:
                lib = rng.choice(list(self.libraries))
                record = self.movie(lib)
                touched.add(record.id)
                frames.append(ItemFrame(item=record))
            elif roll < 0.55:
                item = self.items[rng.choice(ids)]
                item.title = self.title()
                item.sort_title = item.title
                item.rating = round(rng.uniform(1, 10), 1)
                item.year = rng.randint(1950, 2024)
                item.genres = rng.sample(GENRES, rng.randint(0, 3))
                touched.add(item.id)
                frames.append(ItemFrame(item=item))
            elif roll < 0.7:
                parents = {i.parent_id for i in self.items.values()}
                victim = rng.choice([i for i in ids if i not in parents] or ids)
                for gone in self._subtree(victim):
                    self.items.pop(gone, None)
                    had_watch = self.watch.pop(gone, None) is not None
                    touched.add(gone)
                    frames.append(Tombstone(entity="item", id=gone))
                    if had_watch:
                        frames.append(Tombstone(entity="watch", id=gone))
            elif roll < 0.9:
                target = rng.choice(ids)
                when = T0 + timedelta(days=rng.randint(0, 900), seconds=rng.randint(0, 10**5))
                state = self.set_watch(
                    target, rng.choice([0.0, 120.0, 5300.0]), rng.random() < 0.4, when
                )
                touched.add(target)
                frames.append(WatchFrame(item_id=target, state=state))
            elif roll > 0.98 and len(self.libraries) > 1 and not touched:
                gone_lib = rng.choice(list(self.libraries))
                del self.libraries[gone_lib]
                for item_id in [i for i, r in self.items.items() if r.library_id == gone_lib]:
                    del self.items[item_id]
                    self.watch.pop(item_id, None)
                    touched.add(item_id)
                # the replica must drop the library's items even without their tombstones
                frames.append(Tombstone(entity="library", id=gone_lib))
            elif roll > 0.96:
                lib = self.library(f"Library {self.seq}")
                frames.append(LibraryFrame(library=lib))
                for _ in range(rng.randint(0, 3)):
                    record = self.movie(lib.id)
                    touched.add(record.id)
                    frames.append(ItemFrame(item=record))
            else:
                target = rng.choice(ids)
                if target in self.watch:
                    del self.watch[target]
                    touched.add(target)
                    frames.append(Tombstone(entity="watch", id=target))
        self.seq += 1
        frames.append(EndFrame(seq=self.seq))
        return frames

    def _subtree(self, item_id: uuid.UUID) -> list[uuid.UUID]:
        out = [item_id]
        for child in [i.id for i in self.items.values() if i.parent_id == item_id]:
            out.extend(self._subtree(child))
        return out


def world(seed: int, movies: int = 40, shows: int = 3) -> World:
    w = World(rng=random.Random(seed))
    films = w.library("Films")
    tv = w.library("Shows", kind="series")
    for _ in range(movies):
        w.movie(films.id)
    for _ in range(shows):
        w.series(tv.id, seasons=2, episodes=3)
    return w


def batches(frames: list[Frame], size: int = 500) -> list[list[Frame]]:
    return [frames[i : i + size] for i in range(0, len(frames), size)]
