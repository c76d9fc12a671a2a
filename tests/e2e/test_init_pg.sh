#!/usr/bin/env bash
# secretd init with store = postgresql on a throwaway cluster: the root
# key and TLS pair in the state folder, the store in the database and no
# data.mdb; init again, and a second node's init with the same key, keep
# the store as it is; a fresh key against that database, or a database
# that cannot be reached, is refused and leaves nothing behind.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/pglib.sh"

require_root
pg_require
pg_init a && pg_start a ||
    { echo "Bail out! no PostgreSQL cluster"; exit 1; }
pg_psql a -c 'CREATE DATABASE secretd'
CONNINFO=$(pg_conninfo a secretd)

dir=$(mktemp -d /tmp/secretd-initpg.XXXXXX)
trap 'rm -rf "$dir"; e2e_teardown' EXIT
chmod 0755 "$dir"

# conf NAME [LINES...]: a node's config, its state folder NAME
conf() {
	local name=$1
	shift
	{
		echo "state_dir = $name"
		echo "socket = $name.sock"
		echo "store = postgresql"
		echo "postgresql = $CONNINFO"
		printf '%s\n' "$@"
	} >"$dir/$name.conf"
}
sql() { "$PG_PSQL" -X -q -Atc "$1" "$CONNINFO"; }
# db_state: the rows of every table of the schema, as a digest
db_state() {
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
# init NAME: its output, also kept in inits.log for the end
init() {
	local rc
	"$SECRETD" init -c "$dir/$1.conf" >"$dir/init.out" 2>&1
	rc=$?
	cat "$dir/init.out" >>"$dir/inits.log"
	cat "$dir/init.out"
	return "$rc"
}

conf node1
out=$(init node1); rc=$?
is "$rc" 0 "init on an empty database: exit 0"
echo "$out" | sed 's/^/# /'
ok "$([ -f "$dir/node1/root.key" ] && [ -f "$dir/node1/tls.crt" ]; echo $?)" \
    "the root key and the TLS pair are in the state folder"
ok "$([ ! -e "$dir/node1/data.mdb" ]; echo $?)" "no data.mdb"
is "$(sql "SELECT count(*) FROM secretd.meta WHERE k = 'keycheck'::bytea")" 1 \
    "the store's key check is in the database"
is "$(sql 'SELECT count(*) > 0 FROM secretd.keyring')" t \
    "and its sealed keyring"
key=$(sha256sum <"$dir/node1/root.key")
before=$(db_state)

out=$(init node1); rc=$?
is "$rc" 0 "init again: exit 0"
is "$(sha256sum <"$dir/node1/root.key")" "$key" "the root key is kept"
is "$(db_state)" "$before" "the store is kept as it was"

conf node2 "root_key_file = $dir/node1/root.key"
out=$(init node2); rc=$?
is "$rc" 0 "a second node with the same key: exit 0"
ok "$([ -f "$dir/node2/tls.crt" ] && [ ! -e "$dir/node2/root.key" ]; echo $?)" \
    "it makes its own TLS pair and no root key"
is "$(db_state)" "$before" "the store is still as it was"

mkdir -m 0700 "$dir/creds"
cp "$dir/node1/root.key" "$dir/creds/root.key"
conf node3
out=$(CREDENTIALS_DIRECTORY=$dir/creds init node3); rc=$?
is "$rc" 0 "a node given the key as a systemd credential: exit 0"
ok "$([ ! -e "$dir/node3/root.key" ]; echo $?)" \
    "it uses the credential and makes no root key"

# The layout's own version: an older one names the command that brings
# it up to date, a newer one says to upgrade this node.
layout=$(sql "SELECT version FROM secretd.schema_version")
sql "UPDATE secretd.schema_version SET version = $((layout - 1))"
out=$("$SECRETD" verify -c "$dir/node1.conf" 2>&1); rc=$?
ok "$([ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q 'run secretd init on one'; echo $?)" \
    "an older layout is refused, naming secretd init (exit $rc)"
sql "UPDATE secretd.schema_version SET version = $((layout + 1))"
out=$("$SECRETD" verify -c "$dir/node1.conf" 2>&1); rc=$?
ok "$([ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q 'upgrade secretd on this node'; echo $?)" \
    "a newer layout is refused: this node's secretd is the older (exit $rc)"
sql "UPDATE secretd.schema_version SET version = $layout"
"$SECRETD" verify -c "$dir/node1.conf" >/dev/null 2>&1
is "$?" 0 "with its own layout back, the store verifies"

conf other
out=$(init other); rc=$?
is "$rc" 1 "a fresh root key against that database: exit 1"
is "$(printf '%s\n' "$out" | tail -n 1)" \
    "secretd: init: the PostgreSQL database already holds a store sealed under another root key; refusing it" \
    "it says why"
ok "$([ ! -e "$dir/other" ]; echo $?)" "and leaves no state folder behind"
is "$(db_state)" "$before" "the database is unchanged"

sed -i "s|^postgresql = .*|postgresql = host=$dir/nowhere dbname=secretd connect_timeout=2|" \
    "$dir/other.conf"
out=$(init other); rc=$?
is "$rc" 1 "a database that cannot be reached: exit 1"
ok "$([ ! -e "$dir/other" ]; echo $?)" "and no state folder is left"
ok "$(! grep -qE 'Sanitizer|runtime error' "$dir/inits.log"; echo $?)" \
    "no init logged a sanitizer report"

done_testing
