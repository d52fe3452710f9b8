#!/usr/bin/env bash
# The whole test suite: unit tests, the HTTP integration tests (a real server on loopback
# over a temporary SQLite database, then again over a throwaway PostgreSQL server), the
# binary's CLI tests, the dashboard and status widget in headless Chromium, then the
# documented REST quickstart walked against a release build. What is missing (Chromium,
# tesseract, PostgreSQL, Redis, a Python verifier) is installed from Debian's packages or
# PyPI.
# Needs cargo, python3 and apt-get.
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
# The integration suite runs twice: on SQLite (the embedded default), then on a throwaway
# PostgreSQL server on a loopback port, stopped again when this script exits.
# Redis backs the shared rate limits; its tests start their own redis-server.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v redis-server >/dev/null 2>&1; then
  echo "installing postgresql and redis-server for the scale-out tests"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql redis-server >/dev/null
fi
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PG_DIR=$(mktemp -d)
PG_PORT=${GUILDGATE_TEST_PG_PORT:-55432}
AS_PG=()
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root: the Debian package's postgres user runs it.
  chown postgres "$PG_DIR"
  AS_PG=(runuser -u postgres --)
fi
stop_postgres() {
  "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap stop_postgres EXIT
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync >/dev/null
# A scratch server: no fsync (its data is thrown away), enough connections for the tests.
"${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -o \
  "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null
run_suite() {
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
  else
    cargo test --workspace --locked --no-fail-fast
  fi
}
echo "== the suite on SQLite"
run_suite
echo "== the suite on PostgreSQL (127.0.0.1:$PG_PORT)"
GUILDGATE_TEST_POSTGRES="postgres://postgres@127.0.0.1:$PG_PORT/postgres" run_suite
# A clean-clone CI run (.ci/run sets GUILDGATE_DROP_SPENT_BUILDS=1) has a few GB of disk:
# the test build (~1.7 GB), the fuzz build (~1.1 GB) and the release build (~1.3 GB) would
# not all fit at once, and a full disk shows up as a failed link. Each is removed once the
# steps that use it are done; on a developer's machine they are kept for the next run.
drop_spent_build() {
  if [ "${GUILDGATE_DROP_SPENT_BUILDS:-0}" = 1 ]; then
    rm -rf "$1"
    echo "removed $1 (no later step uses it); free disk: $(df -h . | awk 'NR==2 {print $4}')"
  fi
}
drop_spent_build target/debug
# Every fuzz target for a short bounded time (GUILDGATE_FUZZ_SECONDS each, 0 skips). On
# stable Rust without a sanitizer, which libFuzzer's coverage guidance still drives; the
# long runs in docs/reliability.md use nightly with AddressSanitizer.
FUZZ_SECONDS=${GUILDGATE_FUZZ_SECONDS:-20}
if [ "$FUZZ_SECONDS" != 0 ]; then
  if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz (crates.io) for the bounded fuzz runs"
    cargo install --quiet --locked cargo-fuzz
  fi
  FUZZ_LOG=$(mktemp)
  for target in $(cd fuzz && cargo fuzz list); do
    echo "== fuzz $target for ${FUZZ_SECONDS}s"
    # A crash fails the run; its input is left in fuzz/artifacts/$target.
    if ! (cd fuzz && cargo fuzz run --sanitizer none "$target" -- \
      -max_total_time="$FUZZ_SECONDS" -print_final_stats=1) >"$FUZZ_LOG" 2>&1; then
      tail -40 "$FUZZ_LOG"
      exit 1
    fi
    grep -E "^stat::number_of_executed_units" "$FUZZ_LOG" || true
  done
  drop_spent_build fuzz/target
fi
cargo build --release --locked --bin guildgate
if [ -f ../shared/checks/quickstart.py ]; then
  python3 ../shared/checks/quickstart.py target/release/guildgate
else
  echo "../shared/checks/quickstart.py not found: skipping the quickstart walk"
fi
# Schemathesis (PyPI) against the release build's /openapi.json: no 5xx, every response
# documented and matching its schema.
echo "== schemathesis against /openapi.json"
GUILDGATE_SCHEMATHESIS_EXAMPLES=${GUILDGATE_SCHEMATHESIS_EXAMPLES:-10} \
  scripts/schemathesis.sh target/release/guildgate
