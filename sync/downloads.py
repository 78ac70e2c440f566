"""Downloads to the player's data dir (issue 22, item 1): resumable, verified, never a half file
that looks complete.

Layout, under ``<data dir>/downloads/``::

    downloads.json                  the manifest: what is local (complete files only)
    <item id>/<file name>           a verified file, with its sidecar subtitles beside it
    <item id>/<file name>.part      bytes received so far (never played, never listed)
    <item id>/<file name>.part.json the server's ETag, size and SHA-256 of what .part holds

A transfer appends to ``.part`` and resumes with ``Range: bytes=N-`` and ``If-Range: ETAG``
after a kill or a network drop (a file that changed on the server answers 200: the ``.part``
starts over). When every byte is there the size and the SHA-256 (the server's ``Repr-Digest``,
RFC 9530) are checked; only then is the file fsynced and renamed into place (atomic on one
file system) and recorded in the manifest. A ``.part`` whose digest is wrong (a corrupted disk
block, bytes of another version) is deleted and fetched again, once.

Why a JSON manifest rather than a table in the replica's LMDB: the replica is a cache of the
server that is rebuilt from a snapshot when it is damaged or the server asks for one, while
downloads are files the user chose to keep; the manifest lives next to them, survives a
rebuild, is small (one entry per download) and readable by a person. It is written to a
temporary file and renamed, so it is the old list or the new one, never half of one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import msgspec
import trio

from sync.client_errors import ApiError, ServerUnreachable
from sync.connection import ServerConnection
from sync.media_types import ItemDetails, MediaFileOut

CHUNK = 1 << 20
PIPELINE = 4
"""Chunks received ahead of the one being written (4 MiB at most in memory)."""
RETRIES = 5
"""Network drops one transfer survives (resuming where it stopped) before it gives up."""
MANIFEST = "downloads.json"
CHECKSUM_TIMEOUT_S = 3600.0
_DIGEST = re.compile(r"sha-256=:([A-Za-z0-9+/=]+):")
_SUBTITLE_EXT = {"application/x-subrip": "srt", "text/vtt": "vtt", "text/x-ssa": "ass"}

Progress = Callable[[str, int, int], None]
"""(file name, bytes held, total bytes): called as a transfer advances."""


class DownloadError(Exception):
    """A download that cannot complete (the message says why)."""


class LocalFile(msgspec.Struct, kw_only=True):
    file_id: uuid.UUID
    path: str
    """Relative to the downloads dir."""
    size_bytes: int
    sha256: str
    etag: str
    subtitles: list[str] = []
    """Sidecar subtitle files beside it (relative paths)."""


class Download(msgspec.Struct, kw_only=True):
    item_id: uuid.UUID
    title: str
    kind: str
    files: list[LocalFile]
    downloaded_at: datetime
    series_id: uuid.UUID | None = None
    """An episode's series (smart downloads keep the next ones of it)."""
    watched: bool = False
    """The server said so on the last refresh (remove-after-watching, eviction order)."""
    stale: bool = False
    """The file changed on the server since: still whole and playable, a fresh copy is due."""

    @property
    def size_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)


class _PartInfo(msgspec.Struct, kw_only=True):
    etag: str
    size_bytes: int
    sha256: str


def downloads_dir(root: Path) -> Path:
    return root / "downloads"


class Manifest:
    """What is local, by item id (``downloads.json``)."""

    def __init__(self, root: Path) -> None:
        self.dir = downloads_dir(root)
        self.path = self.dir / MANIFEST

    def load(self) -> dict[uuid.UUID, Download]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        items = msgspec.json.decode(data, type=list[Download])
        return {d.item_id: d for d in items}

    def save(self, downloads: dict[uuid.UUID, Download]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        ordered = sorted(downloads.values(), key=lambda d: d.downloaded_at)
        _atomic_write(self.path, msgspec.json.format(msgspec.json.encode(ordered)))

    def add(self, download: Download) -> None:
        found = self.load()
        found[download.item_id] = download
        self.save(found)

    def remove(self, item_id: uuid.UUID) -> Download | None:
        """Forget the item and delete its files (partial ones too)."""
        found = self.load()
        gone = found.pop(item_id, None)
        folder = self.dir / str(item_id)
        if folder.is_dir():
            for child in folder.iterdir():
                child.unlink(missing_ok=True)
            folder.rmdir()
        if gone is not None:
            self.save(found)
        return gone


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _hash_prefix(path: Path) -> tuple[hashlib._Hash, int]:
    """SHA-256 state of what ``path`` holds, and its size (worker thread)."""
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb", buffering=0) as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        pass
    return digest, size


def _open(path: Path, mode: str) -> BinaryIO:
    return open(path, "ab" if mode == "ab" else "wb")  # the caller closes it


def _write(out: BinaryIO, digest: hashlib._Hash, chunk: bytes) -> None:
    out.write(chunk)
    out.flush()  # on disk as .part at once (a kill -9 keeps every chunk written)
    digest.update(chunk)


def _sync(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())


def _sha256_of(header: str | None) -> str | None:
    m = _DIGEST.search(header or "")
    if m is None:
        return None
    try:
        raw = base64.b64decode(m.group(1), validate=True)
    except ValueError:
        return None
    return raw.hex() if len(raw) == 32 else None


@dataclass
class Transfer:
    """One file's transfer into ``dest`` (via ``dest.part``)."""

    connection: ServerConnection
    file_id: uuid.UUID
    dest: Path
    progress: Progress | None = None
    rate_limit: int | None = None
    """Bytes per second at most (a slow link, the tests' way to be killed mid-transfer)."""
    _hashed: tuple[str, int] | None = field(default=None, init=False)
    """(SHA-256, size) of the ``.part`` this run completed, hashed while it was written."""

    @property
    def part(self) -> Path:
        return self.dest.with_name(self.dest.name + ".part")

    @property
    def info_path(self) -> Path:
        return self.dest.with_name(self.dest.name + ".part.json")

    async def run(self) -> LocalFile:
        # The server hashes a file on its first download: ask first, with time for a large
        # file to be read, so the download itself starts at once.
        await self.connection.request(
            "GET", f"/media/files/{self.file_id}/checksum", timeout_s=CHECKSUM_TIMEOUT_S
        )
        for attempt in (1, 2):
            info = await self._fetch()
            if await self._verified(info):
                return await self._commit(info)
            self._discard()  # corrupted or mixed bytes: start over, once
            if attempt == 2:
                break
        raise DownloadError(
            f"{self.dest.name}: the checksum does not match the server's after a fresh download"
        )

    def _read_info(self) -> _PartInfo | None:
        try:
            return msgspec.json.decode(self.info_path.read_bytes(), type=_PartInfo)
        except (FileNotFoundError, msgspec.DecodeError, msgspec.ValidationError):
            return None

    def _discard(self) -> None:
        self.part.unlink(missing_ok=True)
        self.info_path.unlink(missing_ok=True)

    async def _fetch(self) -> _PartInfo:
        """Every byte into ``.part``, resuming across network drops; the server's facts."""
        drops = 0
        while True:
            try:
                return await self._fetch_once()
            except ServerUnreachable:
                drops += 1
                if drops > RETRIES:
                    raise
                await trio.sleep(min(0.5 * 2**drops, 8.0))

    async def _fetch_once(self) -> _PartInfo:
        info = self._read_info()
        held = self.part.stat().st_size if self.part.exists() and info else 0
        if info is not None and held == info.size_bytes:
            return info  # complete already (killed between the last byte and the rename)
        headers = {}
        if info is not None and held > 0:
            headers = {"Range": f"bytes={held}-", "If-Range": info.etag}
        path = f"/media/files/{self.file_id}/download"
        try:
            async with self.connection.stream("GET", path, headers=headers) as response:
                total = int(response.headers.get("Content-Length", "0"))
                sha = _sha256_of(response.headers.get("Repr-Digest"))
                etag = response.headers.get("ETag", "")
                if sha is None or not etag:
                    raise DownloadError(f"{self.dest.name}: the server sent no checksum")
                if response.status_code == 206:
                    size = int(response.headers["Content-Range"].rsplit("/", 1)[1])
                    mode = "ab"
                else:  # 200: the whole file (first time, or it changed on the server)
                    size, held, mode = total, 0, "wb"
                info = _PartInfo(etag=etag, size_bytes=size, sha256=sha)
                self.dest.parent.mkdir(parents=True, exist_ok=True)
                _atomic_write(self.info_path, msgspec.json.encode(info))
                await self._receive(response.aiter_bytes(CHUNK), mode, held, size)
        except ApiError as exc:
            if exc.status == 416:  # .part longer than the file: not ours, start over
                self._discard()
                return await self._fetch_once()
            raise
        return info

    async def _receive(self, chunks: AsyncIterator[bytes], mode: str, held: int, size: int) -> None:
        """Append the answer to ``.part``, hashing as it goes (a resumed ``.part``'s bytes
        are hashed from the disk first), so the check needs no second read of the file.

        Receiving and writing overlap: this task reads the network while a writer task
        writes and hashes the chunks before it in a worker thread (both release the GIL),
        at most :data:`PIPELINE` chunks apart. A drop mid-way leaves in ``.part`` exactly the
        chunks written (the resume hashes them from the disk)."""
        if mode == "wb":
            digest = hashlib.sha256()
        else:
            digest, on_disk = await trio.to_thread.run_sync(_hash_prefix, self.part)
            if on_disk != held:
                raise DownloadError(f"{self.part.name} changed while resuming")
        start = trio.current_time()
        sent = 0
        written = held
        out = await trio.to_thread.run_sync(_open, self.part, mode)
        send, receive = trio.open_memory_channel[bytes](PIPELINE)
        failed: list[Exception] = []
        """The first error of either side, raised as it is after both stopped (not as an
        exception group: the callers catch a network drop by its class)."""

        async def writer(scope: trio.CancelScope) -> None:
            nonlocal written
            try:
                async with receive:
                    async for chunk in receive:
                        await trio.to_thread.run_sync(_write, out, digest, chunk)
                        written += len(chunk)
                        if self.progress is not None:
                            self.progress(self.dest.name, written, size)
            except Exception as exc:  # a full disk: stop receiving too
                failed.append(exc)
                scope.cancel()

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(writer, nursery.cancel_scope)
                async with send:
                    try:
                        async for chunk in chunks:
                            await send.send(chunk)
                            sent += len(chunk)
                            if self.rate_limit:
                                ahead = sent / self.rate_limit - (trio.current_time() - start)
                                if ahead > 0:
                                    await trio.sleep(ahead)
                    except Exception as exc:  # a network drop: the chunks before are written
                        failed.append(exc)
            if failed:
                raise failed[0]
            await trio.to_thread.run_sync(_sync, out)
        finally:
            out.close()
        if written < size:
            raise ServerUnreachable(self.connection.base_url, "the answer ended early")
        self._hashed = (digest.hexdigest(), written)

    async def _verified(self, info: _PartInfo) -> bool:
        hashed, self._hashed = self._hashed, None
        if hashed is None:  # complete before this run: read it back
            digest, size = await trio.to_thread.run_sync(_hash_prefix, self.part)
            hashed = (digest.hexdigest(), size)
        return hashed == (info.sha256, info.size_bytes)

    async def _commit(self, info: _PartInfo) -> LocalFile:
        os.replace(self.part, self.dest)
        _fsync_dir(self.dest.parent)
        self.info_path.unlink(missing_ok=True)
        return LocalFile(
            file_id=self.file_id,
            path="",
            size_bytes=info.size_bytes,
            sha256=info.sha256,
            etag=info.etag,
        )


def chosen_files(details: ItemDetails) -> list[MediaFileOut]:
    """The files to take: every part of the first version the server lists."""
    present = [f for f in details.files if f.present]
    if not present:
        return []
    version = present[0].version
    return [f for f in present if f.version == version]


async def _subtitles(connection: ServerConnection, file: MediaFileOut, folder: Path) -> list[Path]:
    """The file's sidecar subtitles beside it, named like the player expects
    (``Name.eng.srt``); one that cannot be fetched is skipped, not fatal."""
    tracks = file.media_info.subtitles if file.media_info else []
    stem = Path(file.file_name).stem
    saved: list[Path] = []
    for n, track in enumerate(t for t in tracks if t.external and t.url):
        path = (track.url or "").removeprefix("/api/v1")
        try:
            response = await connection.request("GET", path)
        except ApiError:
            continue
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        ext = _SUBTITLE_EXT.get(kind, "srt")
        label = track.language or str(n)
        dest = folder / f"{stem}.{label}.{ext}"
        if dest in saved:
            dest = folder / f"{stem}.{label}.{n}.{ext}"
        await trio.to_thread.run_sync(_atomic_write, dest, response.content)
        saved.append(dest)
    return saved


async def download_item(
    connection: ServerConnection,
    root: Path,
    item_id: uuid.UUID,
    *,
    progress: Progress | None = None,
    rate_limit: int | None = None,
    details: ItemDetails | None = None,
) -> Download:
    """Download a film or an episode (its files and sidecar subtitles) into ``root``'s
    downloads dir and record it in the manifest; resumes what an earlier run left. A copy
    already there (a stale one) is replaced file by file as each new file is verified, and
    its files that the new version does not have are deleted once the manifest names the new
    one."""
    if details is None:
        details = await connection.call("GET", f"/media/items/{item_id}", ItemDetails)
    if details.item.kind not in ("movie", "episode"):
        raise DownloadError(
            f"a {details.item.kind} has no file of its own: download its episodes (its next "
            "unwatched ones: ferrex-player download ID --next N)"
        )
    files = chosen_files(details)
    if not files:
        raise DownloadError(f"{details.item.title}: no file of it is on the server's disks")
    manifest = Manifest(root)
    folder = manifest.dir / str(item_id)  # made by the first transfer that gets an answer
    local: list[LocalFile] = []
    for file in files:
        name = Path(file.file_name).name
        if name in ("", ".", "..") or name.startswith(".") or name.endswith(".part"):
            raise DownloadError(f"refusing the file name {file.file_name!r}")
        transfer = Transfer(connection, file.id, folder / name, progress, rate_limit)
        done = await transfer.run()
        subtitles = await _subtitles(connection, file, folder)
        done.path = f"{item_id}/{name}"
        done.subtitles = [f"{item_id}/{p.name}" for p in subtitles]
        local.append(done)
    download = Download(
        item_id=item_id,
        title=_label(details),
        kind=details.item.kind,
        files=local,
        downloaded_at=datetime.now(UTC),
        series_id=details.item.series_id,
    )
    manifest.add(download)
    _drop_others(folder, download)
    return download


def _drop_others(folder: Path, download: Download) -> None:
    """Delete what the item's folder holds besides ``download``'s files (an older version's
    file and subtitles after a replacement; never a ``.part`` of a transfer under way)."""
    keep = {Path(f.path).name for f in download.files}
    keep |= {Path(s).name for f in download.files for s in f.subtitles}
    for child in folder.iterdir() if folder.is_dir() else ():
        if child.name not in keep and ".part" not in child.name:
            child.unlink(missing_ok=True)


def _label(details: ItemDetails) -> str:
    from sync.episode_labels import item_label

    item = details.item
    return item_label(
        item.kind, item.title, item.series_title, item.season_number, item.episode_numbers
    )


def as_json(download: Download, root: Path) -> dict[str, object]:
    base = downloads_dir(root)
    return {
        "item_id": str(download.item_id),
        "title": download.title,
        "kind": download.kind,
        "size_bytes": download.size_bytes,
        "downloaded_at": download.downloaded_at.isoformat(),
        "files": [
            {
                "file_id": str(f.file_id),
                "path": str(base / f.path),
                "size_bytes": f.size_bytes,
                "sha256": f.sha256,
                "subtitles": [str(base / s) for s in f.subtitles],
            }
            for f in download.files
        ],
    }


def dumps(downloads: list[Download], root: Path) -> str:
    return json.dumps([as_json(d, root) for d in downloads])


def prune(root: Path, visible: Callable[[uuid.UUID], bool]) -> list[Download]:
    """Delete the downloads of items the user may no longer see (a library taken away, an
    item gone from the server): run after a sync, with the replica as the judge."""
    manifest = Manifest(root)
    gone = [d for d in manifest.load().values() if not visible(d.item_id)]
    for download in gone:
        manifest.remove(download.item_id)
    return gone
