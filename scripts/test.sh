#!/usr/bin/env bash
# Install Ferrex with its dev tools into .venv, then lint, type-check and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[dev]'   # dev = appliance + player + the test tools
.venv/bin/ruff check .
# formatting is checked like lint (ruff format; pre-commit runs the same)
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/pytest "$@"
