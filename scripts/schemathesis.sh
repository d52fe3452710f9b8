#!/usr/bin/env bash
# Schemathesis (PyPI) against the /openapi.json of a running guildgate: every operation of
# the three APIs is called with generated and mutated inputs, holding every credential
# kind, and each response must be no 5xx, carry a documented status, content type and
# headers, and match its schema (the error envelope included); a method a route does not
# answer must be a 405. Not checked: that every request the schema allows is accepted (the
# request bodies are described as JSON objects; their fields are in docs/).
#   scripts/schemathesis.sh [BINARY]     (default: target/debug/guildgate, built if missing)
# GUILDGATE_SCHEMATHESIS_EXAMPLES sets the examples per operation (default 25).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/debug/guildgate}
if [ ! -x "$BIN" ]; then cargo build --locked --bin guildgate; fi
if ! python3 -m schemathesis.cli --version >/dev/null 2>&1; then
  echo "installing schemathesis (PyPI)"
  python3 -m pip install --quiet --user schemathesis 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages schemathesis
fi
WORK=$(mktemp -d)
SERVER_PID=""
finish() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap finish EXIT
DB="sqlite://$WORK/guildgate.db"
admin() { "$BIN" admin --database "$DB" "$@" --json; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

GUILD=900000000000000001
OWNER=100000000000000001
CAPABILITIES=strikes.read,strikes.write,tickets.read,tickets.write,bans.read,bans.write,mutes.read,mutes.write,messages.purge,servers.read,rcon.run,audit.read
admin guild create --id $GUILD --name Schemathesis --owner $OWNER --tier pro >/dev/null
admin member add --guild $GUILD --user $OWNER --capabilities $CAPABILITIES >/dev/null
MINTED=$(admin token mint --guild $GUILD --user $OWNER --name schemathesis --no-expiry)
GUILD_TOKEN=$(echo "$MINTED" | field '["token"]')
# An open re-auth window, so destructive calls reach their own validation.
admin reauth open --token-id "$(echo "$MINTED" | field '["id"]')" >/dev/null
admin ticket create --guild $GUILD --user 100000000000000002 --subject help >/dev/null
SHARD_SCOPES=read:status,read:roster,read:roster:roles,read:assignments,read:events,read:metrics,read:audit,write:assignments,write:nets,write:archive,write:operation,manage:features,write:rules,write:presets,write:acars,write:clients,read:ready-checks,write:ready-checks,read:uri,write:uri
SHARD_KEY=$(admin shard-key mint --guild $GUILD --name schemathesis --scopes "$SHARD_SCOPES" | field '["key"]')
admin workspace create --name Schemathesis --owner-email owner@example.com >/dev/null
TASKS_SCOPES=users:read,workspaces:read,workspaces:write,folders:read,folders:write,lists:read,lists:write,tasks:read,tasks:write,comments:read,comments:write
TASKS_KEY=$(admin tasks-key mint --workspace 1 --label schemathesis --scopes $TASKS_SCOPES | field '["key"]')

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Limits out of the way: schemathesis sends thousands of calls from one address.
UNLIMITED=1000000000/1000000000/1
env GUILDGATE_LIMIT_PER_IP=$UNLIMITED GUILDGATE_LIMIT_READ=$UNLIMITED \
  GUILDGATE_LIMIT_REVERSIBLE=$UNLIMITED GUILDGATE_LIMIT_DESTRUCTIVE=$UNLIMITED \
  GUILDGATE_LIMIT_AGGREGATE_READ=$UNLIMITED GUILDGATE_LIMIT_AGGREGATE_REVERSIBLE=$UNLIMITED \
  GUILDGATE_LIMIT_AGGREGATE_DESTRUCTIVE=$UNLIMITED \
  "$BIN" serve --database "$DB" --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 100); do
  if curl -fs "$BASE/health" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
PUBLIC_TOKEN=$(curl -fs -H "Authorization: Bearer $SHARD_KEY" "$BASE/api/v1/public-token" | field '["token"]')
export GUILD_TOKEN SHARD_KEY TASKS_KEY PUBLIC_TOKEN
export GUILDGATE_SCHEMATHESIS_EXAMPLES=${GUILDGATE_SCHEMATHESIS_EXAMPLES:-25}
status=0
python3 -m schemathesis.cli --config-file scripts/schemathesis/schemathesis.toml run "$BASE/openapi.json" \
  --no-color --seed 1 --max-examples "$GUILDGATE_SCHEMATHESIS_EXAMPLES" \
  || status=$?
if grep -q "panicked" "$WORK/server.log"; then
  echo "the server panicked:"; grep -B2 -A5 "panicked" "$WORK/server.log" | head -40
  status=1
fi
exit $status
