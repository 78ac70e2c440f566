"""``ferrex-player download ITEM_ID`` and ``ferrex-player downloads [--json] | remove ITEM_ID``
(issue 22, item 1): the downloads manager without a window, on the same data dir and stored
login as ``sync``. The work is :mod:`sync.downloads`; this module is the command line: the
progress bar, the exit statuses (those of :mod:`ui.headless`) and the listing."""

from __future__ import annotations

import argparse
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
from sync.downloads import DownloadError, Manifest, download_item, downloads_dir, dumps
from ui.headless import EXIT_AUTH, EXIT_FAILED, EXIT_UNREACHABLE, CliError, _item_id, connect

BAR = 30


class Bar:
    """One line on stderr, redrawn at most 10 times a second: name, bar, percent, rate."""

    def __init__(self) -> None:
        self.shown = 0.0
        self.started = time.monotonic()
        self.first: int | None = None

    def __call__(self, name: str, held: int, total: int) -> None:
        now = time.monotonic()
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


async def download(ns: argparse.Namespace, root: Path) -> int:
    item_id = _item_id(ns.item_id)
    async with connect(ns, root) as api:
        try:
            done = await download_item(
                api, root, item_id, progress=None if ns.quiet else Bar(), rate_limit=ns.limit_rate
            )
        except ServerUnreachable as exc:
            raise CliError(
                f"server unreachable: {exc}; run the command again to resume", EXIT_UNREACHABLE
            ) from None
        except AuthExpired as exc:
            raise CliError(
                f"{exc} (log in again with ferrex-player sync --user NAME --password-stdin)",
                EXIT_AUTH,
            ) from None
        except Forbidden as exc:
            raise CliError(f"not allowed to download: {exc}", EXIT_FAILED) from None
        except NotFound as exc:
            raise CliError(f"no item {item_id} on the server ({exc})") from None
        except (DownloadError, FerrexClientError) as exc:
            raise CliError(str(exc), EXIT_FAILED) from None
    print(
        f"downloaded: {done.title} ({done.size_bytes / 1e6:.1f} MB, "
        f"{sum(len(f.subtitles) for f in done.files)} subtitle file(s)) in "
        f"{downloads_dir(root) / str(item_id)}"
    )
    return 0


def downloads(ns: argparse.Namespace, root: Path) -> int:
    manifest = Manifest(root)
    if ns.action == "remove":
        item_id: uuid.UUID = _item_id(ns.item_id)
        gone = manifest.remove(item_id)
        if gone is None:
            raise CliError(f"no download of {item_id}")
        print(f"removed: {gone.title} ({gone.size_bytes / 1e6:.1f} MB)")
        return 0
    found = list(manifest.load().values())
    if ns.json:
        print(dumps(found, root))
        return 0
    for d in found:
        print(f"{d.item_id}  {d.size_bytes / 1e6:9.1f} MB  {d.kind:<7}  {d.title}")
    print(
        f"{len(found)} download(s), {sum(d.size_bytes for d in found) / 1e6:.1f} MB in "
        f"{downloads_dir(root)}",
        file=sys.stderr,
    )
    return 0
