#!/usr/bin/env bash
# The Debian packages the tests and the quality benchmark read: chromium and chromium-driver, for the report
# page's browser test (tests/results/test_report.py, selenium, headless), and opencv-doc, whose sample
# photographs draw the tune corpora sample-520 and -521 (pipelines/sample/render.py) and whose Megamind.avi
# joins the test corpus real-cuts. Installs what is missing; where apt-get or root is missing it says so and
# the tests that need a package skip with that reason.
set -euo pipefail
missing=()
command -v chromium >/dev/null && command -v chromedriver >/dev/null || missing+=(chromium chromium-driver)
[ -d /usr/share/doc/opencv-doc/examples/data ] || missing+=(opencv-doc)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
  echo "setup-debian: no apt-get or not root: ${missing[*]} not installed, the tests that need them will skip" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
