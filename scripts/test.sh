#!/usr/bin/env bash
# The whole test suite: unit tests, the HTTP integration tests (a real server on loopback
# over a temporary SQLite database), the binary's CLI tests, then the documented REST
# quickstart walked against a release build. Needs only cargo and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
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
