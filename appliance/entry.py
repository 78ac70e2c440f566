"""``ferrex-appliance`` console script: checks that the ``appliance`` extra is installed before
importing the server (whose first missing library would otherwise end in a traceback)."""

from __future__ import annotations

from sync.extras import require_extra


def main() -> int:
    require_extra("appliance", "ferrex-appliance")
    from appliance.cli import main as cli_main

    return cli_main()
