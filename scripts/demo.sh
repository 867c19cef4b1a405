#!/usr/bin/env bash
# README command 1: creates the environment if needed, then runs the whole product on this
# machine (jobs/demo.py: local Ray + S3 store, sample corpus, train, segment, DuckDB summary).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python jobs/demo.py "$@"
