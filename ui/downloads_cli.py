"""``ferrex-player download ITEM_ID [--next N]`` and ``ferrex-player downloads [--json] | remove
ITEM_ID | follow SERIES_ID --keep N | unfollow SERIES_ID | sync`` (issue 22): the downloads
manager without a window, on the same data dir, settings and stored login as ``sync``. The work
is :class:`sync.download_manager.DownloadManager` (the window uses the same one); this module is
the command line: the progress bar, the exit statuses (those of :mod:`ui.headless`) and the
listing."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

from sync.client_errors import (
    AuthExpired,
    FerrexClientError,
    Forbidden,
    NotFound,
    ServerUnreachable,
)
from sync.connection import ServerConnection
from sync.download_manager import DownloadManager, DownloadState, RefreshReport
from sync.download_plan import NotAParent
from sync.download_policy import SpaceInfo, policy_for
from sync.downloads import DownloadError, as_json, downloads_dir
from ui.headless import EXIT_AUTH, EXIT_FAILED, EXIT_UNREACHABLE, CliError, _item_id, connect
from ui.settings.store import SettingsStore

BAR = 30


class Bar:
    """One line on stderr, redrawn at most 10 times a second: name, bar, percent, rate."""

    def __init__(self) -> None:
        self.shown = 0.0
        self.started = time.monotonic()
        self.first: int | None = None
        self.name = ""

    def __call__(self, name: str, held: int, total: int) -> None:
        now = time.monotonic()
        if name != self.name:  # the next file of a batch: its own line and rate
            self.name, self.first, self.started, self.shown = name, None, now, 0.0
        if self.first is None:
            self.first = held
        if now - self.shown < 0.1 and held < total:
            return
        self.shown = now
        part = held / total if total else 1.0
        rate = (held - self.first) / max(now - self.started, 1e-3)
        filled = int(part * BAR)
        print(
            f"\r{name[:32]:<32} [{'#' * filled}{'.' * (BAR - filled)}] {part:6.1%} "
            f"{held / 1e6:8.1f} MB {rate / 1e6:6.1f} MB/s",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if held >= total:
            print(file=sys.stderr)


def manager(
    root: Path, connection: ServerConnection | None, rate_limit: int | None = None
) -> DownloadManager:
    """The manager with the policy of the settings (limit, remove after watching) and the
    follows stored beside the downloads."""
    settings = SettingsStore(root).load_settings().downloads
    policy = policy_for(downloads_dir(root), settings.limit_bytes, settings.remove_after_watching)
    return DownloadManager(root, connection, policy, rate_limit=rate_limit)


def _cli_error(exc: BaseException, item_id: uuid.UUID) -> CliError:
    if isinstance(exc, ServerUnreachable):
        return CliError(
            f"server unreachable: {exc}; run the command again to resume", EXIT_UNREACHABLE
        )
    if isinstance(exc, AuthExpired):
        return CliError(
            f"{exc} (log in again with ferrex-player sync --user NAME --password-stdin)",
            EXIT_AUTH,
        )
    if isinstance(exc, Forbidden):
        return CliError(f"not allowed to download: {exc}", EXIT_FAILED)
    if isinstance(exc, NotFound):
        return CliError(f"no item {item_id} on the server ({exc})")
    return CliError(str(exc), EXIT_FAILED)


async def download(ns: argparse.Namespace, root: Path) -> int:
    item_id = _item_id(ns.item_id)
    bar = None if ns.quiet else Bar()
    async with connect(ns, root) as api:
        downloads = manager(root, api, rate_limit=ns.limit_rate)
        if ns.next is not None:
            return await _download_next(downloads, item_id, ns.next, bar)
        try:
            done, transferred = await downloads.download(item_id, bar)
        except NotAParent as exc:
            raise CliError(str(exc)) from None
        except (DownloadError, FerrexClientError) as exc:
            raise _cli_error(exc, item_id) from None
    _report_evicted(downloads)
    what = "downloaded" if transferred else "already downloaded"
    print(
        f"{what}: {done.title} ({done.size_bytes / 1e6:.1f} MB, "
        f"{sum(len(f.subtitles) for f in done.files)} subtitle file(s)) in "
        f"{downloads_dir(root) / str(item_id)}"
    )
    return 0


async def _download_next(
    downloads: DownloadManager, parent_id: uuid.UUID, count: int, bar: Bar | None
) -> int:
    if count < 1:
        raise CliError("--next needs at least 1", 2)
    try:
        wanted = await downloads.enqueue_next_unwatched(parent_id, count)
    except NotAParent as exc:
        raise CliError(str(exc), 2) from None
    except FerrexClientError as exc:
        raise _cli_error(exc, parent_id) from None
    if not wanted:
        print("nothing to download: every episode is watched", file=sys.stderr)
        return 0
    states = {s.item_id: s for s in await downloads.drain(bar)}
    _report_evicted(downloads)
    failed = 0
    for item_id in wanted:
        s = states.get(item_id)
        if s is None:
            continue
        if s.state == "failed":
            failed += 1
            print(f"failed: {s.title or item_id}: {s.reason}", file=sys.stderr)
        else:
            print(f"downloaded: {s.title} ({s.size_bytes / 1e6:.1f} MB)")
    if failed:
        unreachable = any(isinstance(e, ServerUnreachable) for e in downloads.errors.values())
        return EXIT_UNREACHABLE if unreachable else EXIT_FAILED
    return 0


def _report_evicted(downloads: DownloadManager) -> None:
    for title in downloads.evicted:
        print(f"removed to make room: {title} (watched)")


def _space_line(info: SpaceInfo) -> str:
    kind = "default limit" if info.default_limit else "limit"
    return (
        f"{info.used_bytes / 1e6:.1f} MB used of a {kind} of {info.limit_bytes / 1e6:.1f} MB, "
        f"{info.free_bytes / 1e9:.1f} GB free on the disk"
    )


def _state_json(s: DownloadState, downloads: DownloadManager) -> dict[str, object]:
    found = {d.item_id: d for d in downloads.downloads()}
    local = found.get(s.item_id)
    row: dict[str, object] = (
        as_json(local, downloads.root)
        if local is not None
        else {"item_id": str(s.item_id), "title": s.title, "kind": s.kind, "files": []}
    )
    row.update(
        state=s.state,
        bytes_held=s.bytes_held,
        bytes_total=s.bytes_total,
        size_bytes=s.size_bytes,
        reason=s.reason,
        watched=s.watched,
    )
    return row


async def downloads(ns: argparse.Namespace, root: Path) -> int:
    action = ns.action or "list"
    if action in ("list", "remove", "unfollow"):
        return await _local(ns, root, action)
    async with connect(ns, root) as api:
        found = manager(root, api)
        if action == "follow":
            series_id = _item_id(ns.series_id)
            if ns.keep < 1:
                raise CliError("--keep needs at least 1", 2)
            found.follow(series_id, ns.keep)
            print(f"following {series_id}: keeping the next {ns.keep} unwatched episode(s)")
        return await _sync(found, ns.quiet)


async def _local(ns: argparse.Namespace, root: Path, action: str) -> int:
    """What needs no server: the listing, remove, unfollow."""
    found = manager(root, None)
    if action == "remove":
        item_id = _item_id(ns.item_id)
        held = {s.item_id: s for s in found.states()}.get(item_id)
        if held is None:
            raise CliError(f"no download of {item_id}")
        await found.remove(item_id)
        print(f"removed: {held.title or item_id} ({held.size_bytes / 1e6:.1f} MB)")
        return 0
    if action == "unfollow":
        series_id = _item_id(ns.series_id)
        if not found.unfollow(series_id):
            raise CliError(f"not following {series_id}")
        print(f"unfollowed {series_id} (its downloads stay)")
        return 0
    states = found.states()
    space = found.space()
    if ns.json:
        print(json.dumps([_state_json(s, found) for s in states]))
        print(_space_line(space), file=sys.stderr)
        return 0
    for s in states:
        size = s.size_bytes or s.bytes_total
        extra = f"  ({s.reason})" if s.state == "failed" else ""
        flag = "  [watched]" if s.watched else ""
        print(
            f"{s.item_id}  {size / 1e6:9.1f} MB  {s.state:<11} {s.kind:<7}  "
            f"{s.title or '?'}{flag}{extra}"
        )
    for series_id, keep in found.policy.smart.items():
        print(f"following {series_id}: next {keep} unwatched")
    print(
        f"{len(states)} download(s) in {downloads_dir(root)}; {_space_line(space)}",
        file=sys.stderr,
    )
    return 0


async def _sync(found: DownloadManager, quiet: bool) -> int:
    """Refresh (prune, stale, watched, smart top-ups, failed again) and run the queue."""
    report = await found.refresh()
    _print_report(report)
    if report.offline:
        raise CliError("server unreachable: nothing checked", EXIT_UNREACHABLE)
    states = await found.drain(None if quiet else Bar())
    _report_evicted(found)
    failed = [s for s in states if s.state == "failed"]
    for s in failed:
        print(f"failed: {s.title or s.item_id}: {s.reason}", file=sys.stderr)
    complete = sum(1 for s in states if s.state in ("complete", "stale"))
    print(f"{complete} download(s) local, {len(failed)} failed; {_space_line(found.space())}")
    return EXIT_FAILED if failed else 0


def _print_report(report: RefreshReport) -> None:
    for title in report.revoked:
        print(f"removed download: {title} (no longer on the server for you)")
    for title in report.watched_removed:
        print(f"removed download: {title} (watched)")
    for title in report.stale:
        print(f"stale: {title} (changed on the server; a fresh copy is queued)")
    for title in report.queued:
        print(f"queued: {title}")
    for title in report.retried:
        print(f"retrying: {title}")
