#!/usr/bin/env bash
# Debian's chromium and chromium-driver, for the report page's browser test (tests/results/test_report.py,
# selenium, headless). Does nothing when both are installed; where apt-get or root is missing it says
# so and the test skips with that reason.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
  echo "setup-browser: no apt-get or not root: chromium not installed, the browser test will skip" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
