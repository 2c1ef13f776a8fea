#!/usr/bin/env bash
# The HTTP API against its own OpenAPI document: schemathesis (PyPI) sends
# generated requests, valid and invalid, to a demo node and checks that none
# gets a 5xx, that statuses and content types are the documented ones, and
# that every response matches its schema.
#
# Usage: scripts/api-contract.sh STIGMER_BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/debug/stigmer}
version=4.32.5
venv=target/schemathesis-$version
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$version"
fi

scratch=$(mktemp -d)
node_pid=
cleanup() {
  if [ -n "$node_pid" ]; then
    kill -9 "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# A living community to answer with, on ports the system picks.
"$binary" demo --data-dir "$scratch/demo" --listen 127.0.0.1:0 --p2p-port 0 \
  >"$scratch/stdout" 2>/dev/null &
node_pid=$!
api=
for _ in $(seq 100); do
  api=$(sed -n 's/^api //p' "$scratch/stdout" | head -n 1)
  [ -n "$api" ] && break
  sleep 0.2
done
[ -n "$api" ] || { echo "api-contract: the demo node did not start"; exit 1; }
# Let the community grow a little first.
sleep 5

"$venv/bin/schemathesis" run "$api/api/v1/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --exclude-path /api/v1/events \
  --phases examples,coverage,fuzzing \
  --max-examples 40 \
  --workers 2 \
  --seed 1 \
  --request-timeout 40 \
  --report-dir target/schemathesis
