#!/usr/bin/env bash
# The README's test command: sets up .venv if needed, then runs every test (slow ones included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -q -rs "$@"
