#!/usr/bin/env bash
# The whole test suite: unit tests, the HTTP integration tests (a real server on loopback
# over a temporary SQLite database), the binary's CLI tests, then the documented REST
# quickstart walked against a release build, and the dashboard and status widget in
# headless Chromium (installed from Debian's packages when missing). Needs cargo, python3
# and apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
# The dashboard's and the status widget's browser tests drive Debian's headless Chromium
# through chromedriver; the widget test reads its screenshot with tesseract's OCR.
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1 \
  || ! command -v tesseract >/dev/null 2>&1; then
  echo "installing chromium, chromium-driver and tesseract-ocr for the browser tests"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver \
    tesseract-ocr >/dev/null
fi
# The shard webhook test checks signatures with the Standard Webhooks reference verifier
# from PyPI.
if ! python3 -c 'import standardwebhooks' >/dev/null 2>&1; then
  echo "installing the standardwebhooks verifier (PyPI) for the webhook signature test"
  python3 -m pip install --quiet --user standardwebhooks 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages standardwebhooks 2>/dev/null \
    || {
      SUDO=""
      if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pip >/dev/null
      python3 -m pip install --quiet --break-system-packages standardwebhooks
    }
fi
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
cargo build --release --locked --bin guildgate
if [ -f ../shared/checks/quickstart.py ]; then
  python3 ../shared/checks/quickstart.py target/release/guildgate
else
  echo "../shared/checks/quickstart.py not found: skipping the quickstart walk"
fi
