"""Where the player keeps its files: one data dir, shared by the desktop app and the headless CLI.

``$FERREX_PLAYER_DATA`` when set (tests, portable installs, several profiles side by side), else
``$XDG_DATA_HOME/ferrex-player``, else ``~/.local/share/ferrex-player`` (the XDG default). The
replica lives in ``replica/`` below it so the player's other files (settings, login state) never
share a directory with LMDB's lock and data files.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "FERREX_PLAYER_DATA"
APP_DIR = "ferrex-player"


def data_dir() -> Path:
    explicit = os.environ.get(ENV_VAR, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    # The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / APP_DIR


def replica_dir(root: Path | None = None) -> Path:
    return (root or data_dir()) / "replica"
