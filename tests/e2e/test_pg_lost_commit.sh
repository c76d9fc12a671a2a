#!/usr/bin/env bash
# A COMMIT that ran on the server but whose answer never came back (the
# connection cut just then, by tests/e2e/pgcut.py relaying the cluster's
# socket): the broker reconnects, its marker in secretd.commits says the
# batch committed, and the write is answered as it was made (201, its
# version), once, with the front-end still up; the secret is stored once.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/pglib.sh"

A=$E2E_ALICE
CUT=$top_srcdir/tests/e2e/pgcut.py

require_root
pg_require_store
pg_init a && pg_start a ||
    { echo "Bail out! no PostgreSQL cluster"; exit 1; }
pg_psql a -c 'CREATE DATABASE secretd'
RELAY=$(mktemp -d /tmp/secretd-pgcut.XXXXXX)
chmod 0755 "$RELAY"
python3 "$CUT" "$RELAY/.s.PGSQL.5432" "$(pg_dir a)/.s.PGSQL.5432" \
    "$RELAY/cut" &
CUT_PID=$!
for i in $(seq 50); do [ -S "$RELAY/.s.PGSQL.5432" ] && break; sleep 0.1; done
CONNINFO="host=$RELAY port=5432 user=postgres dbname=secretd"
e2e_setup "store = postgresql" "postgresql = $CONNINFO"
trap 'e2e_teardown; kill "$CUT_PID" 2>/dev/null; wait "$CUT_PID" 2>/dev/null;
    rm -rf "$RELAY"' EXIT
sql() { "$PG_PSQL" -X -q -Atc "$1" "$(pg_conninfo a secretd)"; }

secretd_start
is "$(status_of "$(api "$A" POST /v1/secrets '{"name":"first","value":"one"}')")" \
    201 "a write through the relay"
fe=$(frontend_pid)
: >"$RELAY/cut"
r=$(api "$A" POST /v1/secrets '{"name":"lost","value":"two"}')
ok "$([ ! -e "$RELAY/cut" ]; echo $?)" "the relay cut a COMMIT's answer"
is "$(status_of "$r")" 201 "the write whose COMMIT's answer was lost: 201"
is "$(body_of "$r" | jq -r .version)" 1 "with its version"
is "$(frontend_pid)" "$fe" "the front-end did not exit"
ok "$(! grep -q 'malformed reply' "$E2E_DIR/secretd.log"; echo $?)" \
    "no reply the front-end cannot read"
is "$(sql "SELECT count(*) FROM secretd.secrets WHERE name = 'lost'")" 1 \
    "the secret is stored once"
is "$(body_of "$(api "$A" POST /v1/secrets/lost/reveal)" | jq -r .value)" \
    two "and reveals"
secretd_finish "lost commit"

done_testing
