#!/usr/bin/env bash
# The README's test command: sets up .venv (and the Debian packages of scripts/setup-debian.sh) if needed, lints
# (ruff), then runs every test (slow ones included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-clasp.sh
bash scripts/setup-debian.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q -rs "$@"
