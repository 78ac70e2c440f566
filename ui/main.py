"""``ferrex-player`` entry point: the desktop app, or a headless sub-command (sync, offline)."""

from __future__ import annotations

import sys

from sync.extras import require_extra


def main(argv: list[str] | None = None) -> int:
    # one line naming `pip install 'ferrex[player]'` rather than a traceback on PyQt6 or lmdb
    require_extra("player", "ferrex-player")
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in {"sync", "offline"}:
        from ui.headless import main as headless_main

        return headless_main(args)
    from ui.app import run

    return run(args)
