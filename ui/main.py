"""``ferrex-player`` entry point: the desktop app, or a headless sub-command (sync, offline)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in {"sync", "offline"}:
        from ui.headless import main as headless_main

        return headless_main(args)
    from ui.app import run

    return run(args)
