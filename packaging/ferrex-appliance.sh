#!/bin/sh
# ferrex-appliance for operators on the host (status, backup, restore, library, scan...): the
# service's config, and with it its data dir, unless FERREX_CONFIG or --config says otherwise.
FERREX_CONFIG="${FERREX_CONFIG:-/etc/ferrex/ferrex.toml}"
export FERREX_CONFIG
exec /opt/ferrex/venv/bin/ferrex-appliance "$@"
