#!/usr/bin/env bash
# API fuzzing with schemathesis against a served instance on SQLite: every operation,
# with a learner's and a regulator's token. Fails on any server error or any response
# that does not match the OpenAPI document.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/redress}
PORT=${FUZZ_PORT:-18931}
WORK=$(mktemp -d)
export DATABASE_URL="sqlite://$WORK/fuzz.db?mode=rwc"
export REDRESS_BIND="127.0.0.1:$PORT"
export REDRESS_ATTACHMENTS_DIR="$WORK/files"
export REDRESS_LOG_LEVEL=warn
export REDRESS_LOGIN_MAX_FAILURES_PER_ADDRESS=100000
export REDRESS_LOGIN_MAX_FAILURES_PER_ACCOUNT=100000
command -v schemathesis >/dev/null || python3 -m pip install -q schemathesis

PASS="fuzzing passphrase 42"
for role in admin regulator learner; do
  REDRESS_ADMIN_PASSWORD="$PASS" "$BIN" admin create-account --email "$role@fuzz.example.com" --role "$role" >/dev/null
done
"$BIN" serve 2>"$WORK/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

token() {
  curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$1@fuzz.example.com\",\"password\":\"$PASS\"}" \
    | python3 -c 'import sys, json; print(json.load(sys.stdin)["access_token"])'
}
REG=$(token regulator)
# Something to find: an institution and a case.
INST=$(curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/institutions" -H "authorization: Bearer $REG" \
  -H 'content-type: application/json' \
  -d '{"name":"Fuzz Online","credit_code":"91350100M000100Y43","filing_number":"F-1","region_code":"350100"}' \
  | python3 -c 'import sys, json; print(json.load(sys.stdin)["id"])')
LEARNER=$(token learner)
curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/complaints" -H "authorization: Bearer $LEARNER" \
  -H 'content-type: application/json' \
  -d "{\"institution_id\":\"$INST\",\"category\":\"refund\",\"title\":\"t\",\"narrative\":\"n\",\"desired_remedy\":\"full_refund\"}" >/dev/null

status=0
for who in learner regulator; do
  TOKEN=$(token "$who")
  echo "--- schemathesis as $who"
  schemathesis run "http://127.0.0.1:$PORT/openapi.json" \
    --url "http://127.0.0.1:$PORT/api/v1" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    -H "Authorization: Bearer $TOKEN" \
    --max-examples "${FUZZ_EXAMPLES:-25}" \
    --seed 1 \
    --no-color || status=1
done
if grep -q "panicked" "$WORK/server.log"; then echo "the server panicked:"; grep -A3 panicked "$WORK/server.log"; status=1; fi
exit $status
