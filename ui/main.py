"""``ferrex-player`` entry point."""

from __future__ import annotations

import sys


def main() -> int:
    # The player application is built by the player-shell issue; until then say so plainly.
    print("ferrex-player: the desktop player is not built yet", file=sys.stderr)
    return 1
