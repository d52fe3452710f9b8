#!/usr/bin/env bash
# Every benchmark in one run: the load cases against guildgate, a bare route, guildgate
# with its guard removed, HAProxy and nginx (wrk as the load generator), the durable
# destructive write, the memory case, one instance against two on PostgreSQL and Redis,
# then the criterion micro-benchmarks. Installs wrk, haproxy, nginx, postgresql and
# redis-server from Debian's packages when missing. Options go to the load run:
#   ./scripts/bench.sh [--seconds 5] [--connections 1,16,64,256] [--out target/bench]
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The SSE case holds 10,000 streams open, each a descriptor on both ends.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
cargo build --release --locked -p guildgate --bin guildgate -p guildgate-bench --bin guildgate-bench
target/release/guildgate-bench run "$@"
cargo bench --locked -p guildgate-bench --bench hot_path
