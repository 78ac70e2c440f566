"""The downloads manager in the app (issue 22): ``sync.download_manager.DownloadManager`` on
the player data dir, hosted by the Streaming domain (the player has ten domains by design;
downloads are the other half of "where the bytes come from"), running in the registry's
nursery, which is the app's.

It is made on the first login (offline too: the list, the space and removals work without a
server; a transfer started offline fails with the reason and is queued again by the next
refresh), follows the Auth domain's connection (a new server, a refreshed token), and stops on
logout. Every change the manager reports (a state, a removal, progress at most 4 times a
second) becomes one :class:`DownloadsChanged` broadcast, computed in the service's own task,
so the screens only ever render an event and a transfer never waits on a repaint.

After each sync (and each login with the server there) the manager's ``refresh`` runs: what
the user may no longer see is removed, watched ones too when "remove after watching" is on,
changed files are marked stale and replaced, failed ones retried, smart downloads topped up.

Smart downloads (issue 22, item 4): :meth:`DownloadService.follow` keeps the next N unwatched
episodes of a series on the device (the manager's ``follow``, saved beside the downloads); the
series is topped up at once when the server is there, and by every refresh after that, which
also removes the watched ones when "remove after watching" is on. The follows go out with the
states in ``DownloadsChanged``, so a series' details show whether it is followed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import trio

from sync.client_errors import ApiError, FerrexClientError, ServerUnreachable
from sync.download_manager import DownloadManager, DownloadState
from sync.download_policy import SpaceInfo, policy_for
from sync.downloads import downloads_dir
from ui.domains.core import CrossDomainEvent, DomainContext
from ui.settings.model import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DownloadsChanged(CrossDomainEvent):
    """Every download and queue entry (``DownloadManager.states``), the space figures and the
    series followed with smart downloads (series id, episodes kept)."""

    states: tuple[DownloadState, ...]
    space: SpaceInfo
    follows: tuple[tuple[uuid.UUID, int], ...] = ()

    def of(self, item_id: object) -> DownloadState | None:
        return next((s for s in self.states if s.item_id == item_id), None)

    def keeps(self, series_id: uuid.UUID) -> int | None:
        """How many unwatched episodes of the series are kept here; None: not followed."""
        return next((keep for s, keep in self.follows if s == series_id), None)


class DownloadService:
    def __init__(self, ctx: DomainContext) -> None:
        self.ctx = ctx
        self.manager: DownloadManager | None = None
        self.last: DownloadsChanged | None = None
        self._scope: trio.CancelScope | None = None
        self._changed = trio.Event()
        self._refresh_wanted = False
        self._refreshing = False
        self._top_ups: set[uuid.UUID] = set()
        self._topping_up = False

    # --- lifecycle ---------------------------------------------------------------------------

    def ensure(self) -> DownloadManager | None:
        """The manager (made once, on the data dir), on the app's current connection; None
        where there is no data dir (a registry built by a test without a settings store)."""
        services = self.ctx.services
        if services.store is None:
            return None
        if self.manager is None:
            root = services.store.directory
            settings = services.settings.downloads
            policy = policy_for(
                downloads_dir(root), settings.limit_bytes, settings.remove_after_watching
            )
            self.manager = DownloadManager(root, services.api, policy)
            self.manager.subscribe(self._changed_now)
        api = services.api
        self.manager.connection = api if api is not None and api.access_token else None
        return self.manager

    @property
    def running(self) -> bool:
        return self._scope is not None

    def start(self) -> None:
        """Run the queue and publish its changes, in the registry's nursery, until :meth:`stop`."""
        manager = self.ensure()
        if manager is None or self._scope is not None:
            return
        scope = trio.CancelScope()
        self._scope = scope

        async def run() -> None:
            with scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._publish_changes)
                    await manager.run()

        self.ctx.spawn(run, "downloads")
        self._changed_now()

    def stop(self) -> None:
        scope, self._scope = self._scope, None
        if scope is not None:
            scope.cancel()  # a transfer under way resumes from its .part next time

    def apply_settings(self, settings: Settings) -> None:
        if self.manager is None:
            return
        self.manager.policy.limit_bytes = settings.downloads.limit_bytes
        self.manager.policy.remove_after_watching = settings.downloads.remove_after_watching
        self._changed_now()  # the limit shown changes at once

    # --- changes -----------------------------------------------------------------------------

    def _changed_now(self) -> None:
        self._changed.set()

    async def _publish_changes(self) -> None:
        while True:
            await self._changed.wait()
            self._changed = trio.Event()
            await self.publish()

    async def publish(self) -> DownloadsChanged | None:
        manager = self.manager
        if manager is None:
            return None
        # on trio's thread: the manager's queue changes under its tasks, never under a reader
        # (two small JSON files and a statvfs)
        follows = tuple(manager.policy.smart.items())
        event = DownloadsChanged(tuple(manager.states()), manager.space(), follows)
        self.last = event
        await self.ctx.emit(event)
        return event

    # --- refresh after a sync ----------------------------------------------------------------

    def refresh_soon(self) -> None:
        """Run the manager's refresh (one at a time; a request while one runs runs once more
        after it, so the last sync is always judged)."""
        if self.manager is None or not self.running or self.manager.connection is None:
            return
        self._refresh_wanted = True
        if self._refreshing:
            return
        self._refreshing = True

        async def refresh() -> None:
            try:
                while self._refresh_wanted and self.manager is not None:
                    self._refresh_wanted = False
                    report = await self.manager.refresh()
                    removed = [*report.revoked, *report.watched_removed]
                    if removed:
                        log.info("downloads removed on refresh: %s", ", ".join(removed))
            finally:
                self._refreshing = False

        self.ctx.spawn(refresh, "downloads refresh")

    # --- smart downloads ---------------------------------------------------------------------

    def follow(self, series_id: uuid.UUID, keep: int | None) -> None:
        """Keep the next ``keep`` unwatched episodes of the series here (None: stop following;
        what is here stays). Saved at once, offline too; topped up now when the server is
        there, else by the first refresh it is back for."""
        manager = self.ensure()
        if manager is None:
            return
        if keep is None:
            manager.unfollow(series_id)
            return
        manager.follow(series_id, keep)
        self.start()
        self._top_up_soon(series_id)

    def _top_up_soon(self, series_id: uuid.UUID) -> None:
        """Queue the series' next unwatched episodes (one task at a time; a series asked for
        while it runs is done after, with its count as it is then)."""
        if self.manager is None or self.manager.connection is None:
            return
        self._top_ups.add(series_id)
        if self._topping_up:
            return
        self._topping_up = True

        async def top_up() -> None:
            try:
                while self._top_ups and self.manager is not None:
                    series = self._top_ups.pop()
                    keep = self.manager.policy.smart.get(series)
                    if keep is None:
                        continue  # unfollowed meanwhile
                    try:
                        await self.manager.enqueue_next_unwatched(series, keep)
                    except ServerUnreachable:
                        self._top_ups.clear()
                        return  # the refresh when the server is back tops every series up
                    except (FerrexClientError, ValueError) as exc:
                        text = exc.message if isinstance(exc, ApiError) else str(exc)
                        await self.ctx.notice(f"Cannot keep episodes downloaded: {text}", "error")
            finally:
                self._topping_up = False

        self.ctx.spawn(top_up, "downloads top-up")
