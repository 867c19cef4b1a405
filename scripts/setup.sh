#!/usr/bin/env bash
# Creates .venv and installs the project with its test extras; torch==2.13.0 goes first so
# that pip never resolves a multi-GB CUDA build. sktime is only read for the two segmentation series in
# its wheel (the quality benchmark's tssb corpus): installed without its dependencies, whose pins would
# take pandas back. Re-running is cheap: it skips when neither this file nor pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.installed-$(cat pyproject.toml scripts/setup.sh | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q torch==2.13.0
  .venv/bin/pip install -q -e '.[test,quality]'
  .venv/bin/pip install -q --no-deps sktime==1.2.0
  rm -f .venv/.installed-*
  touch "$stamp"
fi
