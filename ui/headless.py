"""``ferrex-player sync`` and ``ferrex-player offline ...``: the replica without a window.

For users (fill the replica before a trip, browse it on a headless box) and for tests. Everything
lives in the player data dir (``$FERREX_PLAYER_DATA``, else ``$XDG_DATA_HOME/ferrex-player``,
see ``sync.player_paths``), shared with the desktop player: the same replica, the same stored
login (OS keyring or encrypted file), the same device id.

Exit status: 0 done, 1 failed (the message says why), 2 bad usage, 3 server unreachable,
4 login refused or needed.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from sync.auth_types import TokenPair
from sync.client import SyncClient, SyncResult
from sync.client_errors import (
    ApiError,
    AuthExpired,
    FerrexClientError,
    Forbidden,
    ServerUnreachable,
)
from sync.connection import normalize_url
from sync.downloads import prune
from sync.episode_labels import item_label
from sync.feed_types import Card, FrameError
from sync.player_paths import ENV_VAR, data_dir, replica_dir
from sync.query import MediaQueryBuilder, SortBy, SortOrder, WatchStatus
from sync.replica import Replica
from sync.replica_read import ReplicaDamaged
from ui.net.client import ApiClient
from ui.net.credentials import CredentialStore, StoredTokens
from ui.settings.store import SettingsStore

EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_AUTH = 1, 2, 3, 4
SORTS = {
    "title": SortBy.TITLE,
    "year": SortBy.YEAR,
    "added": SortBy.DATE_ADDED,
    "rating": SortBy.RATING,
    "runtime": SortBy.RUNTIME,
    "release": SortBy.RELEASE_DATE,
    "watched": SortBy.LAST_WATCHED,
}


class CliError(Exception):
    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


def _common(parser: argparse.ArgumentParser, default: object) -> None:
    """--server and --data-dir, the same on the window and on every command. On a command
    their default is SUPPRESS, so ``ferrex-player --server URL sync`` keeps the URL given
    before the command name."""
    parser.add_argument(
        "--server",
        default=default,
        metavar="URL",
        help="the server (e.g. http://ferrex.local:8420; default: the last one)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default,
        metavar="DIR",
        help=f"player data dir (default: ${ENV_VAR}, else XDG data dir)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The one parser of ``ferrex-player``: the window (no command, or ``gui``) and every
    headless command, so ``--help`` lists them all."""
    parser = argparse.ArgumentParser(
        prog="ferrex-player",
        description="Ferrex desktop player. Without a command it opens "
        "the window;\nsync and offline work without one, on the same data dir (the same "
        "replica, stored login and device id).\n\n" + (__doc__ or "").rsplit("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands (default: gui)")
    gui = sub.add_parser("gui", help="open the player window (the default)")
    _common(gui, argparse.SUPPRESS)
    sync = sub.add_parser("sync", help="fill or update the replica from a server")
    _common(sync, argparse.SUPPRESS)
    sync.add_argument("--user", help="log in as (default: the last user on this server)")
    sync.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin and log in",
    )
    sync.add_argument(
        "--follow",
        type=float,
        metavar="SECONDS",
        help="then keep pulling changes as the server announces them",
    )

    offline = sub.add_parser("offline", help="use the replica, no server needed")
    _common(offline, argparse.SUPPRESS)
    osub = offline.add_subparsers(dest="action", required=True)
    ls = osub.add_parser("ls", help="browse, search and filter the replica")
    ls.add_argument("--library", help="library name (default: all)")
    ls.add_argument("--query", help="title search (substring or fuzzy, 3+ characters)")
    ls.add_argument("--genre", action="append", default=[], help="repeat for several (any)")
    ls.add_argument("--all-genres", action="store_true", help="items must have every --genre")
    ls.add_argument("--year", help="A-B, A- or -B")
    ls.add_argument(
        "--kind",
        action="append",
        default=[],
        choices=["movie", "series", "season", "episode"],
        help="default: movies and series",
    )
    status = ls.add_mutually_exclusive_group()
    status.add_argument("--unwatched", action="store_true")
    status.add_argument("--in-progress", action="store_true")
    status.add_argument("--watched", action="store_true")
    ls.add_argument("--sort", choices=list(SORTS), default="title")
    ls.add_argument("--desc", action="store_true")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--offset", type=int, default=0)
    ls.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    show = osub.add_parser("show", help="one item's details, from the replica")
    show.add_argument("item_id")
    progress = osub.add_parser("progress", help="record a playback position (queued)")
    progress.add_argument("item_id")
    progress.add_argument("seconds", type=float)
    progress.add_argument("--duration", type=float)
    progress.add_argument("--completed", action="store_true")
    for name in ("watched", "unwatched"):
        mark = osub.add_parser(name, help=f"mark {name} (queued; a series: all its episodes)")
        mark.add_argument("item_id")
    osub.add_parser("pending", help="actions not yet delivered to the server")
    osub.add_parser("status", help="what the replica holds")
    for action in osub.choices.values():
        _common(action, argparse.SUPPRESS)
    discover = sub.add_parser(
        "discover",
        help="list the Ferrex appliances on the local network (mDNS / DNS-SD)",
        description="Listen for appliances announcing _ferrex._tcp on the LAN and list them: "
        "name, URL, version, and whether they still wait for their first admin (unclaimed).",
    )
    discover.add_argument(
        "--timeout",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="how long to listen (default: 3)",
    )
    discover.add_argument(
        "--json", action="store_true", help="one JSON document instead of a table"
    )
    download = sub.add_parser(
        "download",
        help="download a film or an episode for offline play (resumes, verifies)",
        description="Download ITEM_ID's file and sidecar subtitles into the data dir's "
        "downloads/ (as NAME.part until every byte is there and the server's SHA-256 "
        "matches); run it again after an interruption to resume. Needs a login (sync).",
    )
    _common(download, argparse.SUPPRESS)
    download.add_argument("item_id", metavar="ITEM_ID")
    download.add_argument(
        "--limit-rate",
        type=int,
        metavar="BYTES_PER_S",
        help="transfer at most this many bytes a second",
    )
    download.add_argument(
        "--next",
        type=int,
        metavar="N",
        help="ITEM_ID is a season or a series: download its next N unwatched episodes",
    )
    download.add_argument("--quiet", action="store_true", help="no progress bar")
    downloads = sub.add_parser(
        "downloads",
        help="list downloads (state, size, space); remove, follow, unfollow, sync",
    )
    _common(downloads, argparse.SUPPRESS)
    downloads.add_argument("--json", action="store_true", help="one JSON document")
    dsub = downloads.add_subparsers(dest="action")
    remove = dsub.add_parser("remove", help="delete a download's files (or drop it from the queue)")
    _common(remove, argparse.SUPPRESS)
    remove.add_argument("item_id", metavar="ITEM_ID")
    follow = dsub.add_parser(
        "follow", help="smart downloads: keep a series' next N unwatched episodes local"
    )
    _common(follow, argparse.SUPPRESS)
    follow.add_argument("series_id", metavar="SERIES_ID")
    follow.add_argument("--keep", type=int, default=3, metavar="N", help="default: 3")
    follow.add_argument("--quiet", action="store_true", help="no progress bar")
    unfollow = dsub.add_parser("unfollow", help="stop smart downloads of a series")
    _common(unfollow, argparse.SUPPRESS)
    unfollow.add_argument("series_id", metavar="SERIES_ID")
    dsync = dsub.add_parser(
        "sync",
        help="check downloads against the server (revoked, watched, changed files, smart "
        "downloads, failed ones) and run the queue",
    )
    _common(dsync, argparse.SUPPRESS)
    dsync.add_argument("--quiet", action="store_true", help="no progress bar")
    snapshot = sub.add_parser(
        "snapshot",
        help="save the frame the player would show on an SDR display (PNG)",
        description="Render one frame of SOURCE (a file path or URL) offscreen through the "
        "player's video path (HDR10/HLG tone-mapped to SDR BT.709 on the GPU) at the video's "
        "resolution, e.g. for a bug report.",
    )
    snapshot.add_argument("source", metavar="SOURCE", help="a file path or URL")
    snapshot.add_argument(
        "--at",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="position of the frame (default: 0)",
    )
    snapshot.add_argument("--out", type=Path, required=True, metavar="FRAME.png")
    snapshot.add_argument(
        "--desat",
        type=float,
        default=None,
        metavar="X",
        help="highlight desaturation threshold in 100-nit units "
        "(default: the player's, 2; 0 turns it off)",
    )
    snapshot.add_argument(
        "--no-tonemap",
        action="store_true",
        help="the plain 8-bit conversion instead, for comparison",
    )
    return parser


def main(args: Sequence[str]) -> int:
    parser = build_parser()
    try:
        ns = parser.parse_args(list(args))
    except SystemExit as exc:  # argparse printed the usage error
        return int(exc.code or 0) and EXIT_USAGE
    if ns.command == "discover":
        return _discover(ns)
    if ns.command == "snapshot":
        return _snapshot(ns)
    root = ns.data_dir or data_dir()
    try:
        if ns.command == "sync":
            return trio.run(_sync, ns, root)
        if ns.command == "download":
            from ui.downloads_cli import download

            return trio.run(download, ns, root)
        if ns.command == "downloads":
            from ui.downloads_cli import downloads

            return trio.run(downloads, ns, root)
        return _offline(ns, root)
    except CliError as exc:
        print(f"ferrex-player: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130


# --- snapshot ------------------------------------------------------------------------------


def _snapshot(ns: argparse.Namespace) -> int:
    from ui.playback.snapshot import SnapshotError, snapshot

    try:
        frame = snapshot(ns.source, ns.at, ns.out, tonemap=not ns.no_tonemap, desat=ns.desat)
    except SnapshotError as exc:
        print(f"ferrex-player: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{ns.out}: {frame.width}x{frame.height}, {frame.params.describe()}")
    return 0


# --- discover ------------------------------------------------------------------------------


def _discover(ns: argparse.Namespace) -> int:
    """Exit 0 with the appliances found (none found is not an error: the list is empty)."""
    from ui.net.discovery import discover

    if not 0 < ns.timeout <= 600:
        print("ferrex-player: --timeout must be between 0 and 600 seconds", file=sys.stderr)
        return EXIT_USAGE
    try:
        found = discover(ns.timeout)
    except OSError as exc:  # no usable network interface
        print(f"ferrex-player: cannot listen for appliances: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    if ns.json:
        print(
            json.dumps(
                [
                    {
                        "name": f.name,
                        "url": f.url,
                        "server_id": f.server_id,
                        "version": f.version,
                        "claimed": f.claimed,
                        "addresses": list(f.addresses),
                        "port": f.port,
                        "api_path": f.api_path,
                    }
                    for f in found
                ],
                indent=2,
            )
        )
        return 0
    if not found:
        print("no appliances found", file=sys.stderr)
    for f in found:
        badge = "" if f.claimed else "   (unclaimed: set it up from the player)"
        print(f"{f.name:<24} {f.url:<28} {f.version}{badge}")
    return 0


# --- sync ----------------------------------------------------------------------------------


async def _sync(ns: argparse.Namespace, root: Path) -> int:
    async with connect(ns, root) as api:
        return await _sync_with(api, root, ns)


@asynccontextmanager
async def connect(ns: argparse.Namespace, root: Path) -> AsyncIterator[ApiClient]:
    """The stored login (or a new one with ``--password-stdin``) on ``--server`` (default:
    the last one), as an API client whose rotated tokens are saved as they come."""
    settings = SettingsStore(root)
    state = settings.load_state()
    server: str | None = ns.server or state.last_server
    if not server:
        raise CliError("no server yet: name one with --server URL", EXIT_USAGE)
    try:
        url = normalize_url(server)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    credentials = CredentialStore(root)
    entry = state.server(url)
    named: str | None = getattr(ns, "user", None)
    user = named or (entry.last_user if entry else None)
    tokens: StoredTokens | None = None
    if getattr(ns, "password_stdin", False):
        if not named:
            raise CliError("--password-stdin needs --user NAME", EXIT_USAGE)
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on stdin", EXIT_USAGE)
        tokens = await _login(url, named, password, state.device_id, credentials)
        state.remember_user(url, named)
        settings.save_state(state)
    elif user:
        tokens = await credentials.load(url, user)
    if tokens is None or not tokens.has_session or user is None:
        raise CliError(
            f"not logged in to {url}: run ferrex-player sync --server {url} --user "
            "NAME --password-stdin",
            EXIT_AUTH,
        )

    async def saved(pair: TokenPair) -> None:
        """Refresh tokens are single-use: the rotated pair is saved before it is used."""
        assert tokens is not None and user is not None
        tokens.access_token, tokens.refresh_token = pair.access_token, pair.refresh_token
        await credentials.save(url, user, tokens)

    async with ApiClient(
        url,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        device_id=state.device_id,
        on_tokens=saved,
    ) as api:
        yield api


async def _sync_with(api: ApiClient, root: Path, ns: argparse.Namespace) -> int:
    replica = Replica.open(replica_dir(root))
    try:
        client = SyncClient(replica, api, progress=lambda msg: print(msg, file=sys.stderr))
        try:
            result = await client.sync()
            print(_summary(result, replica))
            if not replica.needs_snapshot:
                for gone in prune(root, lambda item_id: replica.item(item_id) is not None):
                    print(f"removed download: {gone.title} (no longer on the server for you)")
            if ns.follow:
                await client.follow(stop_after=ns.follow)
                print(f"followed: at sequence {replica.cursor}")
        except ServerUnreachable as exc:
            raise CliError(f"server unreachable: {exc}", EXIT_UNREACHABLE) from None
        except (AuthExpired, Forbidden) as exc:
            raise CliError(
                f"{exc} (log in again with --user NAME --password-stdin)", EXIT_AUTH
            ) from None
        except (FerrexClientError, FrameError) as exc:
            raise CliError(str(exc)) from None
    finally:
        replica.close()
    return 0


async def _login(
    url: str, username: str, password: str, device_id: str, credentials: CredentialStore
) -> StoredTokens:
    from ui.domains.auth import device_info

    device_key = await credentials.device_key(url, username)
    async with ApiClient(url, device_id=device_id) as api:
        try:
            pair = await api.login(username, password, device_info(device_id), device_key)
        except ApiError as exc:
            raise CliError(f"login refused: {exc}", EXIT_AUTH) from None
        except FerrexClientError as exc:
            raise CliError(f"server unreachable: {exc}", EXIT_UNREACHABLE) from None
    tokens = StoredTokens(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        scope=pair.scope,
        device_key=pair.device_key or device_key or "",
    )
    await credentials.save(url, username, tokens)
    return tokens


def _summary(result: SyncResult, replica: Replica) -> str:
    queued = len(replica.pending_actions())
    what = (
        "snapshot"
        if result.mode == "snapshot"
        else f"{result.changed} change(s) in {result.pages} page(s)"
    )
    return (
        f"synced: {what}, at sequence {result.seq}; {replica.count()} titles in "
        f"{len(replica.libraries())} libraries; {result.flushed} offline action(s) "
        f"delivered, {queued} still queued; {result.seconds:.2f} s"
    )


# --- offline -------------------------------------------------------------------------------


def _offline(ns: argparse.Namespace, root: Path) -> int:
    replica = Replica.open(replica_dir(root))
    try:
        if ns.server:
            _same_server(ns.server, root, replica)
        if ns.action == "ls":
            return _ls(ns, replica)
        if ns.action == "show":
            return _show(replica, _item_id(ns.item_id))
        if ns.action == "status":
            print(
                f"cursor {replica.cursor}, server {replica.server_id or '-'}, user "
                f"{replica.user_id or '-'}, {replica.count()} titles, "
                f"{len(replica.pending_actions())} queued action(s)"
                + (", needs a snapshot" if replica.needs_snapshot else "")
            )
            return 0
        if ns.action == "pending":
            for queued in replica.pending_actions():
                print(
                    f"{queued.seq}\t{type(queued.action).__name__}\t{queued.action.item_id}\t"
                    f"{queued.action.client_ts.isoformat()}"
                )
            return 0
        item_id = _item_id(ns.item_id)
        card = replica.item(item_id)
        if card is None:
            raise CliError(f"no item {item_id} in the replica")
        try:
            if ns.action == "progress":
                if card.kind not in ("movie", "episode"):
                    raise CliError(f"a {card.kind} has no progress; mark it instead", EXIT_USAGE)
                seq = replica.record_progress(item_id, ns.seconds, ns.duration, ns.completed)
            else:
                seq = replica.mark(item_id, ns.action == "watched")
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        print(f"queued #{seq}: {ns.action} {card.title}")
        return 0
    finally:
        replica.close()


def _same_server(server: str, root: Path, replica: Replica) -> None:
    """``offline --server URL``: the data dir holds one replica; refuse to answer from it for
    another server than the one asked about."""
    try:
        url = normalize_url(server)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    entry = SettingsStore(root).load_state().server(url)
    if replica.server_id is None or entry is None or entry.server_id != replica.server_id:
        raise CliError(
            f"the replica in {root} is not of {url}: run ferrex-player sync "
            f"--server {url} --data-dir {root}"
        )


def _item_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise CliError(f"{text!r} is not an item id (a UUID)", EXIT_USAGE) from None


def _years(text: str) -> tuple[int | None, int | None]:
    start, sep, end = text.partition("-")
    try:
        low = int(start) if start.strip() else None
        high = int(end) if end.strip() else None if sep else low
    except ValueError:
        raise CliError(f"--year {text!r}: expected A-B, A- or -B", EXIT_USAGE) from None
    return low, high


def _ls(ns: argparse.Namespace, replica: Replica) -> int:
    if replica.needs_snapshot:
        raise CliError("the replica is empty: run ferrex-player sync --server URL first")
    try:
        builder = MediaQueryBuilder().kinds(*(ns.kind or ["movie", "series"]))
        if ns.library:
            libs = {lib.name.casefold(): lib for lib in replica.libraries()}
            lib = libs.get(ns.library.casefold())
            if lib is None:
                names = ", ".join(sorted(lib.name for lib in libs.values())) or "none"
                raise CliError(f"no library {ns.library!r} (libraries: {names})", EXIT_USAGE)
            builder = builder.library(lib.id)
        if ns.query:
            builder = builder.search(ns.query)
        if ns.genre:
            builder = builder.genres(*ns.genre, match="all" if ns.all_genres else "any")
        if ns.year:
            builder = builder.year_range(*_years(ns.year))
        for flag, status in (
            (ns.unwatched, WatchStatus.UNWATCHED),
            (ns.in_progress, WatchStatus.IN_PROGRESS),
            (ns.watched, WatchStatus.WATCHED),
        ):
            if flag:
                builder = builder.watch_status(status)
        builder = builder.sort_by(SORTS[ns.sort], SortOrder.DESC if ns.desc else SortOrder.ASC)
        query = builder.limit(ns.limit).offset(ns.offset).build()
        with replica.view() as view:
            cards, total = view.query(query)
            rows = [(card, view.watch(card.id)) for card in cards]
    except ReplicaDamaged as exc:
        raise CliError(
            f"the replica is damaged ({exc}): run ferrex-player sync --server URL to rebuild it"
        ) from None
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if ns.json:
        print(json.dumps({"total": total, "items": [_card_json(c, w) for c, w in rows]}))
        return 0
    for card, watch in rows:
        mark = (
            "watched"
            if watch and watch.completed
            else (f"at {watch.position_s:.0f}s" if watch and watch.position_s > 0 else "")
        )
        print(
            f"{card.id}  {card.year or '':>4}  {card.kind:<7}  {card.label}"
            + (f"  [{mark}]" if mark else "")
        )
    print(f"{len(rows)} of {total}", file=sys.stderr)
    return 0


def _card_json(card: Card, watch: object) -> dict[str, object]:
    from sync.media_types import WatchStateOut

    state = watch if isinstance(watch, WatchStateOut) else None
    return {
        "id": str(card.id),
        "title": card.title,
        "label": card.label,
        "year": card.year,
        "kind": card.kind,
        "series_title": card.series_title,
        "season_number": card.season_number,
        "episode_numbers": list(card.episode_numbers or []),
        "library_id": str(card.library_id),
        "position_s": state.position_s if state else 0.0,
        "completed": state.completed if state else False,
    }


def _show(replica: Replica, item_id: uuid.UUID) -> int:
    item = replica.item(item_id)
    if item is None:
        raise CliError(f"no item {item_id} in the replica")
    watch = replica.watch(item_id)
    label = item_label(
        item.kind, item.title, item.series_title, item.season_number, item.episode_numbers
    )
    print(f"{label} ({item.year or '?'}) — {item.kind}")
    if item.genres:
        print("genres: " + ", ".join(item.genres))
    if item.rating is not None:
        print(f"rating: {item.rating}")
    if item.overview:
        print(item.overview)
    for f in item.files:
        print(f"file: {f.file_name} {f.width or '?'}x{f.height or '?'} {f.hdr or 'SDR'}")
    print(
        "watch: "
        + (
            "never played"
            if watch is None
            else f"{watch.position_s:.0f}s, completed={watch.completed}"
        )
    )
    return 0
