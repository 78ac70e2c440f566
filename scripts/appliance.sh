#!/usr/bin/env bash
# Install Ferrex into .venv and run the appliance with the embedded Postgres and Redis.
# Extra arguments go to `ferrex-appliance serve` (e.g. --listen 127.0.0.1:8420).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[appliance]'   # the server only: nothing of Qt, vispy, PyGObject
exec .venv/bin/ferrex-appliance serve "$@"
