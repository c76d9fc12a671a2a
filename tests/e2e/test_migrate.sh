#!/usr/bin/env bash
# secretd migrate, both ways, on a throwaway PostgreSQL cluster: 10,000
# secrets loaded into LMDB with the bench's loader, a rotated secret, an
# org secret and a token made over the API, copied to the database, every
# value revealed by a daemon running on it, copied back into a new LMDB
# store and revealed again.  Refusals leave the destination as it was: a
# running daemon, a database holding another root key's store, a
# destination that is not empty, an existing data.mdb without --force.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/pglib.sh"

require_root
pg_require
N=${MIGRATE_N:-10000}
BULKLOAD=$top_builddir/tests/bench/bulkload
VALUE=$(printf 'v%.0s' $(seq 32))	# what bulkload seals

pg_init a && pg_start a ||
    { echo "Bail out! no PostgreSQL cluster"; exit 1; }
pg_psql a -c 'CREATE DATABASE secretd' -c 'CREATE DATABASE other'
CONNINFO=$(pg_conninfo a secretd)
# alice holds all the loaded secrets and still writes one more
e2e_setup "postgresql = $CONNINFO" "store_timeout = 10s" \
    "quota_user_secrets = 100000"
A=$E2E_ALICE

# migrate ARGS...: its output, also kept in migrate.log for the end
migrate() {
	local rc
	"$SECRETD" migrate -c "$E2E_CONF" "$@" >"$E2E_DIR/m.out" 2>&1
	rc=$?
	cat "$E2E_DIR/m.out" >>"$E2E_DIR/migrate.log"
	cat "$E2E_DIR/m.out"
	return "$rc"
}
# timed ARGS...: migrate, its time in milliseconds left in $MS
timed() {
	local t0 rc
	t0=$(date +%s%N)
	migrate "$@"
	rc=$?
	MS=$((($(date +%s%N) - t0) / 1000000))
	return "$rc"
}
# sql QUERY: one query on database secretd, unaligned, tuples only
sql() { "$PG_PSQL" -X -q -Atc "$1" "$CONNINFO"; }
# use ENGINE: the config's store = line
use() {
	sed -i '/^store = /d' "$E2E_CONF"
	echo "store = $1" >>"$E2E_CONF"
}
# db_state: every row of the database's secretd schema, as a digest
db_state() {
	sql "SELECT count(*) FROM pg_namespace WHERE nspname = 'secretd'" ||
	    echo "no answer $RANDOM$RANDOM"
	sql "SELECT c.relname FROM pg_class c
	    JOIN pg_namespace n ON n.oid = c.relnamespace
	    WHERE n.nspname = 'secretd' AND c.relkind = 'r'
	    ORDER BY 1" | while read -r t; do
		printf '%s ' "$t"
		sql "SELECT count(*) || ' ' ||
		    coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '')
		    FROM secretd.$t t"
	done
}
# reveal_all: reveals bulk_0 .. bulk_N-1 as alice over one connection;
# prints how many came back 200 with the loaded value
reveal_all() {
	local cfg=$E2E_DIR/reveal.curl i
	for ((i = 0; i < N; i++)); do
		printf 'url = "http://localhost/v1/secrets/bulk_%08d/reveal"\n' "$i"
	done >"$cfg"
	chmod 0644 "$cfg"
	runuser -u "$A" -- curl -s -m 300 -X POST --unix-socket "$E2E_SOCK" \
	    -w '\n' -K "$cfg" |
	    jq -r --arg v "$VALUE" 'select(.value == $v) | .name' | sort -u |
	    wc -l
}
# verified LABEL: secretd verify on the configured store, timed; every
# secret walked
verified() {
	local t0 rc
	t0=$(date +%s%N)
	"$SECRETD" verify -c "$E2E_CONF" >"$E2E_DIR/verify.out" 2>&1
	rc=$?
	MS=$((($(date +%s%N) - t0) / 1000000))
	cat "$E2E_DIR/verify.out" >>"$E2E_DIR/migrate.log"
	is "$rc" 0 "verify of the store on $1: exit 0"
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$E2E_DIR/verify.out"
	is "$(awk '$1 == "secrets" { print $2 }' "$E2E_DIR/verify.out")" \
	    "$2" "it opened all $2 secrets [$1]"
	echo "# verify on $1 of $2 secrets: $MS ms"
}
# check_small LABEL: the secrets made over the API, as they were
check_small() {
	local out
	out=$(api "$A" POST /v1/secrets/ROTATED/reveal)
	is "$(body_of "$out" | jq -c '[.value, .version]')" '["third",3]' \
	    "the rotated secret's current value and version [$1]"
	out=$(api "$A" GET /v1/secrets/ROTATED/versions)
	is "$(body_of "$out" | jq -c '[.versions[].version]')" '[3,2,1]' \
	    "its kept versions [$1]"
	out=$(api "$A" POST '/v1/secrets/ROTATED/reveal?version=1')
	is "$(body_of "$out" | jq -r .value)" first \
	    "a kept version still opens [$1]"
	out=$(api root POST '/v1/secrets/ORG_KEY/reveal?orgWide=true')
	is "$(body_of "$out" | jq -r .value)" org-value \
	    "the org secret [$1]"
	out=$(tls "$TOKEN" GET /v1/whoami)
	is "$(status_of "$out") $(body_of "$out" | jq -r .userId)" "200 $A" \
	    "the token made before the copy still authenticates [$1]"
}

# --- the source: LMDB ---
secretd_start
for v in first second third; do
	api "$A" POST /v1/secrets "{\"name\":\"ROTATED\",\"value\":\"$v\"}" \
	    >/dev/null
done
api root POST /v1/secrets \
    '{"name":"ORG_KEY","value":"org-value","orgWide":true}' >/dev/null
TOKEN=$(token_create "$A" '{"description":"migrated"}')
ok "$([ -n "$TOKEN" ]; echo $?)" "a token for alice"

before=$(db_state)
out=$(migrate --to postgresql 2>&1); rc=$?
is "$rc" 1 "migrate beside a running daemon: exit 1"
ok "$(printf '%s\n' "$out" | grep -q 'stop it first'; echo $?)" \
    "it says to stop the daemon: $out"
is "$(db_state)" "$before" "the database is unchanged"
secretd_stop

"$BULKLOAD" -d "$E2E_DIR/state" -k "$E2E_DIR/state/root.key" -o "$E2E_ORG" \
    -u "$A" -n "$N" -p bulk >"$E2E_DIR/bulkload.log" 2>&1
ok $? "bulkload put $N secrets in the LMDB store"

# A database that holds another root key's store is refused.
other=$E2E_DIR/other.conf
sed -e 's/^state_dir = .*/state_dir = other/' \
    -e "s|^postgresql = .*|postgresql = $(pg_conninfo a other)|" \
    -e 's/^socket = .*/socket = other.sock/' "$E2E_CONF" >"$other"
"$SECRETD" init -c "$other" >"$E2E_DIR/other-init.log" 2>&1 &&
    echo "store = postgresql" >>"$other" &&
    "$SECRETD" init -c "$other" >>"$E2E_DIR/other-init.log" 2>&1
rc=$?
ok "$rc" "another root key's store in database other"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$E2E_DIR/other-init.log"
sed -i "s|^postgresql = .*|postgresql = $(pg_conninfo a other)|" "$E2E_CONF"
out=$(migrate --to postgresql 2>&1); rc=$?
is "$rc" 1 "migrate into another root key's store: exit 1"
ok "$(printf '%s\n' "$out" | grep -q 'another root key'; echo $?)" \
    "it names the other root key: $out"
sed -i "s|^postgresql = .*|postgresql = $CONNINFO|" "$E2E_CONF"

verified lmdb "$((N + 2))"

# --- LMDB to PostgreSQL ---
timed --to postgresql >"$E2E_DIR/out" 2>&1; rc=$?
out=$(cat "$E2E_DIR/out")
is "$rc" 0 "migrate --to postgresql: exit 0"
echo "$out" | sed 's/^/# /'
echo "# migrate --to postgresql of $N secrets: $MS ms"
is "$(printf '%s\n' "$out" | awk '$1 == "secrets" { print $2 }')" \
    "$((N + 2))" "every secret was copied"
is "$(sql 'SELECT count(*) FROM secretd.secrets')" \
    "$((N + 2))" "the database holds them"
is "$(sql "SELECT count(*) FROM secretd.secrets
    WHERE position(convert_to('$VALUE', 'UTF8') in v) > 0")" 0 \
    "no row holds the value in clear"

before=$(db_state)
out=$(migrate --to postgresql 2>&1); rc=$?
is "$rc" 1 "a second migrate into the same database: exit 1"
ok "$(printf '%s\n' "$out" | grep -q 'not empty'; echo $?)" \
    "it says the destination is not empty: $out"
is "$(db_state)" "$before" "the database is unchanged"

use postgresql
verified postgresql "$((N + 2))"
secretd_start
is "$(reveal_all)" "$N" "a daemon on PostgreSQL reveals all $N values"
check_small postgresql
# a write on the copy, to find in the way back
out=$(api "$A" POST /v1/secrets \
    '{"name":"AFTER","value":"made on postgresql"}')
is "$(status_of "$out")" 201 "a new secret written on PostgreSQL"
secretd_stop

# --- PostgreSQL back to LMDB ---
sum=$(sha256sum <"$E2E_DIR/state/data.mdb")
out=$(migrate --to lmdb 2>&1); rc=$?
is "$rc" 1 "migrate --to lmdb over an existing data.mdb: exit 1"
ok "$(printf '%s\n' "$out" | grep -q -- '--force'; echo $?)" \
    "it names --force: $out"
is "$(sha256sum <"$E2E_DIR/state/data.mdb")" "$sum" "data.mdb is unchanged"

timed --to lmdb --force >"$E2E_DIR/out" 2>&1; rc=$?
out=$(cat "$E2E_DIR/out")
is "$rc" 0 "migrate --to lmdb --force: exit 0"
echo "$out" | sed 's/^/# /'
echo "# migrate --to lmdb of $((N + 3)) secrets: $MS ms"
ok "$(ls "$E2E_DIR"/state/data.mdb.migrate-* >/dev/null 2>&1; echo $?)" \
    "the old LMDB store is kept aside"
is "$(printf '%s\n' "$out" | awk '$1 == "secrets" { print $2 }')" \
    "$((N + 3))" "every secret was copied back"

use lmdb
secretd_start
is "$(reveal_all)" "$N" "a daemon on the new LMDB store reveals all $N values"
check_small lmdb
out=$(api "$A" POST /v1/secrets/AFTER/reveal)
is "$(body_of "$out" | jq -r .value)" "made on postgresql" \
    "the secret written on PostgreSQL came back"
secretd_finish lmdb
ok "$(! grep -qE 'Sanitizer|runtime error' "$E2E_DIR/migrate.log"; echo $?)" \
    "no migrate run logged a sanitizer report"

done_testing
