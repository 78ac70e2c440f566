"""``ferrex-player`` entry point: the desktop app (no command, or ``gui``), or a headless command
(``sync``, ``offline``, ``discover``, ``snapshot``, ``download``,
``downloads``). One parser (``ui.headless.build_parser``)
serves them all, so ``--help`` lists every command and each takes ``--server`` and
``--data-dir``."""

from __future__ import annotations

import sys

from sync.extras import require_extra


def main(argv: list[str] | None = None) -> int:
    # one line naming `pip install 'ferrex[player]'` rather than a traceback on PyQt6 or lmdb
    require_extra("player", "ferrex-player")
    args = sys.argv[1:] if argv is None else argv
    from ui.headless import build_parser
    from ui.headless import main as headless_main

    try:
        ns = build_parser().parse_args(args)
    except SystemExit as exc:  # --help printed (0), or a usage error explained (2)
        return int(exc.code or 0)
    if ns.command in {"sync", "offline", "discover", "snapshot", "download", "downloads"}:
        return headless_main(args)
    from ui import memtrim
    from ui.app import run

    memtrim.limit_arenas()  # before Qt, GStreamer and the decode workers start their threads
    code = run(args)
    from ui.playback.wayland import leave, on_wayland

    if on_wayland():  # Qt's Wayland teardown can hang on waylandsink's reader (see leave)
        leave(code)
    return code
