#!/usr/bin/env bash
# secretd rotate-root-key on a PostgreSQL store shared by two nodes, on a
# throwaway cluster.  Refused while a node of this state folder runs and
# for a bad new key, changing nothing.  With every node stopped, one
# transaction seals the keyring, the token key and the audit key under
# the new key: the old key no longer opens the database, the new one
# does (verify), every value reveals on both nodes (the second node reads
# the first's key file, now the new key), a token made before still
# works, and a node started with the old key is refused and says so.
# An interrupted rotation (the commit made, root.key.new left) is
# finished by the next run.  With the key as a systemd credential the new
# key is given and the credential left to the operator.  Kills only the processes it started, by pid.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/pglib.sh"

A=$E2E_ALICE

require_root
pg_require
pg_init a && pg_start a ||
    { echo "Bail out! no PostgreSQL cluster"; exit 1; }
pg_psql a -c 'CREATE DATABASE secretd'
CONNINFO=$(pg_conninfo a secretd)
e2e_setup "store = postgresql" "postgresql = $CONNINFO"
ST=$E2E_DIR/state
CONF1=$E2E_CONF
SOCK1=$E2E_SOCK

sql() { "$PG_PSQL" -X -q -Atc "$1" "$CONNINFO"; }
db_state() {
	local t
	for t in secrets versions tokens token_ids token_owners \
	    token_children usage keyring meta; do
		printf '%s ' "$t"
		sql "SELECT count(*) || ' ' ||
		    coalesce(md5(string_agg(k::text || v::text, ','
		    ORDER BY k)), '') FROM secretd.$t"
	done
}
sum() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
# node NAME KEYFILE: a node's config on the same database, no TLS.
node() {
	{
		echo "state_dir = $1"
		echo "socket = $1.sock"
		echo "root_key_file = $2"
		echo "org = $E2E_ORG"
		echo "admin_group = $E2E_ADMIN_GROUP"
		echo "frontend_user = secretd"
		echo "store = postgresql"
		echo "postgresql = $CONNINFO"
	} >"$E2E_DIR/$1.conf"
	mkdir -p -m 0700 "$E2E_DIR/$1"
}
start() { E2E_CONF=$1 E2E_SOCK=$2 secretd_start; }
# reveal SOCKET NAME [TOKEN]: the value, or the status when it is not 200.
reveal() {
	local out args=()
	[ -n "${3:-}" ] && args=(-H "Authorization: Bearer $3")
	out=$(runuser -u "$A" -- curl -s -m "$E2E_TIMEOUT" -w '\n%{http_code}' \
	    "${args[@]}" -X POST --unix-socket "$1" \
	    "http://localhost/v1/secrets/$2/reveal")
	[ "$(status_of "$out")" = 200 ] || { status_of "$out"; return; }
	body_of "$out" | jq -r '.value'
}
# check_values SOCKET: the names of FILE's secrets that do not reveal.
check_values() {
	local name value
	while read -r name value; do
		[ "$(reveal "$1" "$name")" = "$value" ] || echo "$name"
	done <"$E2E_DIR/values"
}
rotate() {
	"$SECRETD" rotate-root-key -c "$CONF1" "$@" >"$E2E_DIR/rotate.out" 2>&1
	local rc=$?
	cat "$E2E_DIR/rotate.out" >>"$E2E_DIR/rotates.log"
	return "$rc"
}

node second state/root.key
node oldkey old.key

start "$CONF1" "$SOCK1"
for i in $(seq 1 12); do
	api "$A" POST /v1/secrets "{\"name\":\"s_$i\",\"value\":\"value-$i\"}" >/dev/null
	echo "s_$i value-$i"
done >"$E2E_DIR/values"
TOKEN=$(token_create "$A" '{"description":"before the rotation"}')
ok "$([ -n "$TOKEN" ]; echo $?)" "a token for $A"
is "$(check_values "$SOCK1")" "" "every value reveals before the rotation"

# --- refused while the node runs ---
key0=$(sum "$ST/root.key")
before=$(db_state)
rotate
is "$?" 1 "rotate-root-key beside the running daemon: exit 1"
ok "$(grep -q 'stop it first' "$E2E_DIR/rotate.out"; echo $?)" \
    "it says to stop the daemon first"
is "$(sum "$ST/root.key")" "$key0" "the root key is unchanged"
is "$(db_state)" "$before" "the database is unchanged"
secretd_finish "before the rotation"

# --- a bad new key ---
head -c 16 /dev/urandom >"$E2E_DIR/short.key"
chmod 0400 "$E2E_DIR/short.key"
rotate --new-key "$E2E_DIR/short.key"
is "$?" 1 "a new key of 16 bytes: exit 1"
is "$(sum "$ST/root.key")" "$key0" "the root key is unchanged"
is "$(db_state)" "$before" "the database is unchanged"

# --- the rotation ---
cp "$ST/root.key" "$E2E_DIR/old.key"
rotate
rc=$?
sed 's/^/# /' "$E2E_DIR/rotate.out"
is "$rc" 0 "rotate-root-key with every node stopped: exit 0"
ok "$(grep -q 'secretd must be stopped on every node' "$E2E_DIR/rotate.out";
    echo $?)" "it says every node must be stopped"
ok "$([ "$(sum "$ST/root.key")" != "$key0" ]; echo $?)" "root.key is a new key"
ok "$(ls "$ST"/root.key.old-* >/dev/null 2>&1; echo $?)" \
    "the old key is kept aside"
ok "$([ ! -e "$ST/root.key.new" ]; echo $?)" "no root.key.new is left"
is "$(sql 'SELECT count(*) FROM secretd.secrets')" 12 \
    "the secrets' rows are all there"
changed=$(diff <(echo "$before") <(db_state) | grep '^>' | cut -d' ' -f2 | tr '\n' ' ')
is "$changed" "keyring meta " "only the keyring and meta changed"

"$SECRETD" verify -c "$CONF1" >"$E2E_DIR/verify.out" 2>&1
is "$?" 0 "verify with the new key: exit 0"
"$SECRETD" verify -c "$E2E_DIR/oldkey.conf" >"$E2E_DIR/verify.out" 2>&1
is "$?" 1 "verify with the old key: exit 1"

# --- both nodes with the new key; one with the old key is refused ---
start "$CONF1" "$SOCK1"
is "$(check_values "$SOCK1")" "" "every value reveals on the first node"
is "$(reveal "$SOCK1" s_3 "$TOKEN")" value-3 \
    "the token made before the rotation works"
api "$A" POST /v1/secrets '{"name":"after","value":"written-after"}' >/dev/null
secretd_finish "first node, new key"

start "$E2E_DIR/second.conf" "$E2E_DIR/second.sock"
is "$(check_values "$E2E_DIR/second.sock")" "" \
    "every value reveals on the second node"
is "$(reveal "$E2E_DIR/second.sock" after)" written-after \
    "and the one written after the rotation"
is "$(reveal "$E2E_DIR/second.sock" s_1 "$TOKEN")" value-1 \
    "the token works there too"
secretd_finish "second node, new key"

timeout 20 "$SECRETD" -f -c "$E2E_DIR/oldkey.conf" >"$E2E_DIR/oldkey.log" 2>&1
rc=$?
is "$rc" 1 "a node started with the old key exits 1"
sed 's/^/# /' "$E2E_DIR/oldkey.log" | tail -n 3
ok "$(grep -q 'root key does not open' "$E2E_DIR/oldkey.log"; echo $?)" \
    "it says the root key does not open the store"
ok "$(! curl -s -m 2 -o /dev/null --unix-socket "$E2E_DIR/oldkey.sock" \
    http://localhost/v1/health 2>/dev/null; echo $?)" "and serves nothing"

# --- an interrupted rotation: committed, root.key.new left behind ---
head -c 32 /dev/urandom >"$E2E_DIR/next.key"
chmod 0400 "$E2E_DIR/next.key"
rotate --new-key "$E2E_DIR/next.key"
is "$?" 0 "a second rotation, to a given key: exit 0"
is "$(sum "$ST/root.key")" "$(sum "$E2E_DIR/next.key")" "root.key is that key"
# undo step 3 by hand: the key that opens the database back as .new
mv "$ST/root.key" "$ST/root.key.new"
cp "$E2E_DIR/old.key" "$ST/root.key"
rotate
rc=$?
sed 's/^/# /' "$E2E_DIR/rotate.out"
is "$rc" 0 "the next run finishes the interrupted rotation: exit 0"
ok "$(grep -q 'finished an interrupted rotation' "$E2E_DIR/rotate.out";
    echo $?)" "it says so"
is "$(sum "$ST/root.key")" "$(sum "$E2E_DIR/next.key")" \
    "root.key is the key the database opens with"
start "$CONF1" "$SOCK1"
is "$(check_values "$SOCK1")" "" "every value reveals"
secretd_finish "after the interrupted rotation"
# --- the key as a systemd credential: the operator's file to replace ---
mkdir -m 0700 "$E2E_DIR/creds"
cp "$ST/root.key" "$E2E_DIR/creds/root.key"
cred0=$(sum "$E2E_DIR/creds/root.key")
head -c 32 /dev/urandom >"$E2E_DIR/cred-new.key"
chmod 0400 "$E2E_DIR/cred-new.key"
CREDENTIALS_DIRECTORY=$E2E_DIR/creds rotate --new-key "$E2E_DIR/cred-new.key"
rc=$?
sed 's/^/# /' "$E2E_DIR/rotate.out"
is "$rc" 0 "a rotation with the key as a credential: exit 0"
ok "$(grep -q 'on every node, each given the new credential first' \
    "$E2E_DIR/rotate.out"; echo $?)" "it says to give every node the new credential"
is "$(sum "$E2E_DIR/creds/root.key")" "$cred0" "the credential file is left alone"
cp "$E2E_DIR/cred-new.key" "$E2E_DIR/creds/root.key"
CREDENTIALS_DIRECTORY=$E2E_DIR/creds "$SECRETD" verify -c "$CONF1" \
    >"$E2E_DIR/verify.out" 2>&1
is "$?" 0 "verify with the new credential: exit 0"
"$SECRETD" verify -c "$CONF1" >"$E2E_DIR/verify.out" 2>&1
is "$?" 1 "verify with the key file it replaced: exit 1"
ok "$(! grep -qE 'Sanitizer|runtime error' "$E2E_DIR/rotates.log" \
    "$E2E_DIR/oldkey.log"; echo $?)" "no command logged a sanitizer report"

done_testing
