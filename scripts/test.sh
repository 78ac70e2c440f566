#!/usr/bin/env bash
# Install Ferrex with its dev tools into .venv, then lint, type-check and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[dev]'
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/pytest "$@"
