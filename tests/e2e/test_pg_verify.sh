#!/usr/bin/env bash
# secretd verify on a PostgreSQL store, on a throwaway cluster: a healthy
# store verifies; a row altered or removed with psql behind secretd's
# back is found and named (table, key, what is wrong), verify exits 1,
# and the database is left as it was: one byte of a secret's record, a
# token record, a usage count, a usage count that no longer agrees with
# the secrets it counts (a secret's row deleted), a token's id entry
# deleted, a kept version's record.  Each damage is undone before the
# next, and verify passes again.  The wrong root key is refused; verify
# runs beside a serving daemon.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/pglib.sh"

A=$E2E_ALICE
B=$E2E_BOB

require_root
pg_require
pg_init a && pg_start a ||
    { echo "Bail out! no PostgreSQL cluster"; exit 1; }
pg_psql a -c 'CREATE DATABASE secretd'
CONNINFO=$(pg_conninfo a secretd)
e2e_setup "store = postgresql" "postgresql = $CONNINFO" "versions_kept = 3"

sql() { "$PG_PSQL" -X -q -Atc "$1" "$CONNINFO"; }
# db_state: every row of every table of the schema, as one digest
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
# verify: its exit status; its output in verify.out, and in verifies.log
verify() {
	local rc
	"$SECRETD" verify -c "$E2E_CONF" >"$E2E_DIR/verify.out" 2>&1
	rc=$?
	cat "$E2E_DIR/verify.out" >>"$E2E_DIR/verifies.log"
	echo "$rc"
}
# flip TABLE WHERE: xor the last byte of the value of the rows WHERE
# names with 1 (twice undoes it).
flip() {
	sql "UPDATE secretd.$1 SET v = set_byte(v, length(v) - 1,
	    get_byte(v, length(v) - 1) # 1) WHERE $2" >/dev/null
}
# damaged LABEL TABLE WORDS: verify fails, names TABLE and says WORDS,
# and leaves the database as it was.
damaged() {
	local before rc
	before=$(db_state)
	rc=$(verify)
	is "$rc" 1 "[$1] verify exits 1"
	ok "$(grep -q "^first bad record: table $2, key \".*\": .*$3" \
	    "$E2E_DIR/verify.out"; echo $?)" \
	    "[$1] it names the table $2 and says \"$3\""
	grep '^first bad record' "$E2E_DIR/verify.out" | sed 's/^/# /'
	is "$(db_state)" "$before" "[$1] the database is unchanged"
}
healthy() {
	is "$(verify)" 0 "[$1] verify passes again"
}

secretd_start
for i in 1 2 3; do
	api "$A" POST /v1/secrets "{\"name\":\"a_$i\",\"value\":\"alice-$i\"}" >/dev/null
	api "$B" POST /v1/secrets "{\"name\":\"b_$i\",\"value\":\"bob-$i\"}" >/dev/null
done
for i in 2 3; do
	api "$A" POST /v1/secrets "{\"name\":\"a_1\",\"value\":\"alice-1.$i\"}" >/dev/null
done
TA=$(token_create "$A" '{"description":"alice"}')
TB=$(token_create "$B" '{"description":"bob"}')
ok "$([ -n "$TA" ] && [ -n "$TB" ]; echo $?)" "two tokens made"
secretd_finish "filled"

is "$(sql 'SELECT count(*) FROM secretd.secrets')" 6 "six secrets in the database"
is "$(sql 'SELECT count(*) FROM secretd.versions')" 2 "two kept versions"

# --- healthy ---
rc=$(verify)
is "$rc" 0 "verify of a healthy store: exit 0"
sed 's/^/# /' "$E2E_DIR/verify.out"
ok "$(grep -q '^secrets  *6 records$' "$E2E_DIR/verify.out" &&
    grep -q '^tokens  *2 records$' "$E2E_DIR/verify.out" &&
    grep -q '^usage  *2 records$' "$E2E_DIR/verify.out"; echo $?)" \
    "it counts the rows of every table"
ok "$(grep -q '^store the PostgreSQL database is intact$' \
    "$E2E_DIR/verify.out"; echo $?)" "it says the store is intact"

# --- one byte of a secret's record ---
W="name = 'a_2'"
flip secrets "$W"
damaged "secret byte" secrets "does not authenticate with its data key"
ok "$(grep -q '^first bad record: table secrets, key ".*a_2"' \
    "$E2E_DIR/verify.out"; echo $?)" "[secret byte] the key names a_2"
flip secrets "$W"
healthy "secret byte"

# --- a kept version's record ---
W="name = 'a_1'"
flip versions "k = (SELECT k FROM secretd.versions ORDER BY k LIMIT 1)"
damaged "version byte" versions "does not authenticate with its data key"
flip versions "k = (SELECT k FROM secretd.versions ORDER BY k LIMIT 1)"
healthy "version byte"

# --- a token record ---
W="k = (SELECT k FROM secretd.tokens ORDER BY k LIMIT 1)"
flip tokens "$W"
damaged "token record" tokens "fails its MAC"
flip tokens "$W"
healthy "token record"

# --- a usage count ---
W="k = (SELECT k FROM secretd.usage ORDER BY k LIMIT 1)"
flip usage "$W"
damaged "usage count" usage "fails its MAC"
flip usage "$W"
healthy "usage count"

# --- a secret's row deleted: its owner's count no longer agrees ---
saved=$(sql "SELECT encode(k, 'hex') || ' ' || encode(v, 'hex')
    FROM secretd.secrets WHERE name = 'b_3'")
sql "DELETE FROM secretd.secrets WHERE name = 'b_3'"
damaged "secret deleted" usage "counts 3 secrets, .*the secrets table holds 2"
sql "INSERT INTO secretd.secrets (k, v, org, scope, owner, name)
    SELECT decode('${saved% *}', 'hex'), decode('${saved#* }', 'hex'),
    org, scope, owner, 'b_3' FROM secretd.secrets WHERE name = 'b_2'"
healthy "secret deleted"

# --- a token's id entry deleted ---
saved=$(sql "SELECT encode(k, 'hex') || ' ' || encode(v, 'hex')
    FROM secretd.token_ids ORDER BY k LIMIT 1")
sql "DELETE FROM secretd.token_ids WHERE k = decode('${saved% *}', 'hex')"
damaged "token id entry deleted" tokens "is not the one its id entry leads to"
sql "INSERT INTO secretd.token_ids (k, v)
    VALUES (decode('${saved% *}', 'hex'), decode('${saved#* }', 'hex'))"
healthy "token id entry deleted"

# --- the wrong root key: refused, nothing read as damage ---
head -c 32 /dev/urandom >"$E2E_DIR/other.key"
chmod 0400 "$E2E_DIR/other.key"
sed 's|^state_dir = .*|&\nroot_key_file = other.key|' "$E2E_CONF" \
    >"$E2E_DIR/other.conf"
"$SECRETD" verify -c "$E2E_DIR/other.conf" >"$E2E_DIR/verify.out" 2>&1
is "$?" 1 "verify under another root key: exit 1"
ok "$(grep -q 'root key does not open this store' "$E2E_DIR/verify.out";
    echo $?)" "it says the root key does not open the store"

# --- the daemon serves the store it verified, and verify runs beside it ---
secretd_start
is "$(apix "$A" POST /v1/secrets/a_2/reveal | sed '$d' | jq -r .value)" \
    alice-2 "after the damage was undone a_2 reveals"
is "$(verify)" 0 "verify beside the running daemon: exit 0"
secretd_finish "served"
cat "$E2E_DIR/verify.out" >>"$E2E_DIR/verifies.log"
ok "$(! grep -qE 'Sanitizer|runtime error' "$E2E_DIR/verifies.log"; echo $?)" \
    "no verify logged a sanitizer report"

done_testing
