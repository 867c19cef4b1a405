#!/usr/bin/env bash
# Creates .venv and installs the project with its test extras; torch==2.13.0 goes first so
# that pip never resolves a multi-GB CUDA build. Re-running is cheap: it skips when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q torch==2.13.0
  .venv/bin/pip install -q -e '.[test,quality]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
