#!/usr/bin/env bash
# The `clasp` baseline's own environment (.venv-clasp): claspy pins numpy < 2.3 and calls np.trapz,
# which the project's numpy no longer has, so ClaSP runs in a separate interpreter. Re-running is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv-clasp/bin/python ] || "$PYTHON" -m venv .venv-clasp
[ -f .venv-clasp/.installed-claspy-0.2.8 ] || {
  .venv-clasp/bin/pip install -q 'claspy==0.2.8'
  touch .venv-clasp/.installed-claspy-0.2.8
}
