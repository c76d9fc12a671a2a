#!/usr/bin/env bash
# An attacker who can write the PostgreSQL database but has no root key
# (a DBA, a stolen backup, a compromised replica) edits rows behind
# secretd's back.  No edit makes the daemon answer a value to the wrong
# caller or under the wrong name, or accept a token as another user's:
# two secrets' records swapped, a user's record copied under another
# owner's key, the plain columns (org, owner, name) edited, two token
# records swapped, a token id entry pointed at another user's token,
# markers in secretd.commits for batches not yet made (they would say a
# write was committed that never was).
# Each is refused (no value in the answer) and verify names the damage;
# undone, everything serves again.  Known holes, kept as TODO: an older
# record of a secret put back at its own key is answered, and a revoked
# token's rows put back make it work again (verify passes): nothing
# outside the database remembers which rows are the newest.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/pglib.sh"

A=$E2E_ALICE
B=$E2E_BOB

require_root
pg_require_store
pg_init a && pg_start a ||
    { echo "Bail out! no PostgreSQL cluster"; exit 1; }
pg_psql a -c 'CREATE DATABASE secretd'
CONNINFO=$(pg_conninfo a secretd)
e2e_setup "store = postgresql" "postgresql = $CONNINFO"

sql() { "$PG_PSQL" -X -q -Atc "$1" "$CONNINFO"; }
# row TABLE WHERE: the row's k and v in hex, "K V"
row() { sql "SELECT encode(k, 'hex') || ' ' || encode(v, 'hex')
    FROM secretd.$1 WHERE $2"; }
# setv TABLE KHEX VHEX
setv() { sql "UPDATE secretd.$1 SET v = decode('$3', 'hex')
    WHERE k = decode('$2', 'hex')" >/dev/null; }
# todo COND NAME: a known hole (nothing outside the database remembers
# what was removed from it or which record is the newest); reported as
# TODO, so that closing it shows as an unexpected pass.
todo() {
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2 # TODO rollback of rows is not detected"
	else
		echo "not ok $tap_n - $2 # TODO rollback of rows is not detected"
	fi
}
verify() {
	"$SECRETD" verify -c "$E2E_CONF" >"$E2E_DIR/verify.out" 2>&1
	echo $?
}
# reveal WHO NAME: the reply body and status of revealing NAME as WHO
reveal() { api "$1" POST "/v1/secrets/$2/reveal"; }
# leaks LABEL REPLY VALUE...: the reply carries none of the VALUEs and
# is not a success
refused() {
	local label=$1 reply=$2 v st
	shift 2
	st=$(status_of "$reply")
	ok "$([ "${st:0:1}" != 2 ]; echo $?)" "[$label] refused (HTTP $st)"
	for v in "$@"; do
		ok "$(! printf '%s' "$reply" | grep -q -- "$v"; echo $?)" \
		    "[$label] the answer does not carry $v"
	done
}

secretd_start
api "$A" POST /v1/secrets '{"name":"a_1","value":"alice-one"}' >/dev/null
api "$A" POST /v1/secrets '{"name":"a_2","value":"alice-two"}' >/dev/null
api "$B" POST /v1/secrets '{"name":"b_1","value":"bob-one"}' >/dev/null
TA=$(token_create "$A" '{"description":"alice"}')
TB=$(token_create "$B" '{"description":"bob"}')
ok "$([ -n "$TA" ] && [ -n "$TB" ]; echo $?)" "two tokens made"
is "$(verify)" 0 "a healthy store verifies"

A1=$(row secrets "name = 'a_1'")
A2=$(row secrets "name = 'a_2'")
B1=$(row secrets "name = 'b_1'")

# --- two of alice's records swapped ---
setv secrets "${A1% *}" "${A2#* }"
setv secrets "${A2% *}" "${A1#* }"
refused "a_1 <-> a_2" "$(reveal "$A" a_1)" alice-two alice-one
refused "a_1 <-> a_2" "$(reveal "$A" a_2)" alice-one alice-two
is "$(verify)" 1 "[a_1 <-> a_2] verify exits 1"
setv secrets "${A1% *}" "${A1#* }"
setv secrets "${A2% *}" "${A2#* }"

# --- alice's record copied over bob's ---
setv secrets "${B1% *}" "${A1#* }"
refused "a_1 over b_1" "$(reveal "$B" b_1)" alice-one
is "$(verify)" 1 "[a_1 over b_1] verify exits 1"
setv secrets "${B1% *}" "${B1#* }"

# --- alice's record under a new key of bob's: the name stolen ---
bk=$(sql "SELECT encode(convert_to(org, 'UTF8') || '\\x00'::bytea ||
    convert_to(scope, 'UTF8') || '\\x00'::bytea ||
    convert_to(owner, 'UTF8') || '\\x00'::bytea ||
    convert_to('stolen', 'UTF8'), 'hex') FROM secretd.secrets
    WHERE name = 'b_1'")
sql "INSERT INTO secretd.secrets (k, v, org, scope, owner, name)
    SELECT decode('$bk', 'hex'), v, org, scope, '$B', 'stolen'
    FROM secretd.secrets WHERE name = 'a_1'" >/dev/null
refused "a_1 as bob's stolen" "$(reveal "$B" stolen)" alice-one
list=$(api "$B" GET /v1/secrets)
ok "$(! printf '%s' "$list" | grep -q alice-one; echo $?)" \
    "[a_1 as bob's stolen] bob's list carries no value of alice's"
is "$(verify)" 1 "[a_1 as bob's stolen] verify exits 1"
sql "DELETE FROM secretd.secrets WHERE k = decode('$bk', 'hex')" >/dev/null

# --- the plain columns say bob: the key still says alice ---
sql "UPDATE secretd.secrets SET owner = '$B', name = 'b_1x'
    WHERE name = 'a_2'" >/dev/null
refused "columns edited" "$(reveal "$B" b_1x)" alice-two
is "$(body_of "$(reveal "$A" a_2)" | jq -r .value)" alice-two \
    "[columns edited] alice's a_2 still reveals to alice"
sql "UPDATE secretd.secrets SET owner = '$A', name = 'a_2'
    WHERE name = 'b_1x'" >/dev/null

# --- two token records swapped: alice's token is not bob's ---
TKA=$(sql "SELECT encode(k, 'hex') FROM secretd.tokens ORDER BY k LIMIT 1")
TKB=$(sql "SELECT encode(k, 'hex') FROM secretd.tokens ORDER BY k OFFSET 1 LIMIT 1")
VA=$(sql "SELECT encode(v, 'hex') FROM secretd.tokens WHERE k = decode('$TKA', 'hex')")
VB=$(sql "SELECT encode(v, 'hex') FROM secretd.tokens WHERE k = decode('$TKB', 'hex')")
setv tokens "$TKA" "$VB"
setv tokens "$TKB" "$VA"
for t in "$TA" "$TB"; do
	r=$(apix "tls:$t" GET /v1/whoami)
	st=$(status_of "$r")
	is "$st" 401 "[tokens swapped] a token whose record was swapped is refused"
	r=$(apix "tls:$t" POST /v1/secrets/b_1/reveal)
	refused "tokens swapped" "$r" bob-one
	r=$(apix "tls:$t" POST /v1/secrets/a_1/reveal)
	refused "tokens swapped" "$r" alice-one
done
is "$(verify)" 1 "[tokens swapped] verify exits 1"
setv tokens "$TKA" "$VA"
setv tokens "$TKB" "$VB"

# --- a token id entry pointed at the other token: revoking alice's own
# token id must not revoke bob's ---
IA=$(api "$A" GET /v1/tokens | sed '$d' | jq -r '.tokens[0].id // empty')
IB=$(api "$B" GET /v1/tokens | sed '$d' | jq -r '.tokens[0].id // empty')
ok "$([ -n "$IA" ] && [ -n "$IB" ]; echo $?)" "both tokens have ids"
ida=$(row token_ids "k = convert_to('$IA', 'UTF8')")
idb=$(row token_ids "k = convert_to('$IB', 'UTF8')")
if [ -n "$ida" ] && [ -n "$idb" ]; then
	setv token_ids "${ida% *}" "${idb#* }"
	r=$(api "$A" DELETE "/v1/tokens/$IA")
	ok "$([ "$(status_of "$r")" != 200 ] &&
	    [ "$(status_of "$r")" != 204 ]; echo $?)" \
	    "[id entry redirected] revoking alice's id is refused ($(status_of "$r"))"
	is "$(status_of "$(apix "tls:$TB" GET /v1/whoami)")" 200 \
	    "[id entry redirected] bob's token still works"
	setv token_ids "${ida% *}" "${ida#* }"
else
	ok 1 "token_ids rows keyed by the token id (found: '$ida' '$idb')"
fi

# --- an older record of a_1 put back at its own key (a rollback) ---
api "$A" POST /v1/secrets '{"name":"a_1","value":"alice-one-v2"}' >/dev/null
NOW1=$(row secrets "name = 'a_1'")
setv secrets "${A1% *}" "${A1#* }"
r=$(reveal "$A" a_1)
todo "$([ "$(body_of "$r" | jq -r '.value // empty')" != alice-one ]; echo $?)" \
    "[rollback] a_1's older record is not answered (HTTP $(status_of "$r"))"
setv secrets "${NOW1% *}" "${NOW1#* }"
api "$A" POST /v1/secrets '{"name":"a_1","value":"alice-one"}' >/dev/null

# --- a revoked token's rows put back ---
TC=$(token_create "$A" '{"description":"to revoke"}')
IC=$(api "$A" GET /v1/tokens | sed '$d' | jq -r --arg a "$IA" \
    '[.tokens[].id | select(. != $a)][0] // empty')
for t in tokens token_ids token_owners usage; do
	sql "SELECT encode(k, 'hex') || ' ' || encode(v, 'hex')
	    FROM secretd.$t ORDER BY k" >"$E2E_DIR/before.$t"
done
is "$(status_of "$(api "$A" DELETE "/v1/tokens/$IC")")" 200 "the token is revoked"
is "$(status_of "$(apix "tls:$TC" GET /v1/whoami)")" 401 "the revoked token is refused"
for t in tokens token_ids token_owners usage; do
	while read -r k v; do
		sql "INSERT INTO secretd.$t (k, v) VALUES (decode('$k', 'hex'),
		    decode('$v', 'hex')) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v" >/dev/null
	done <"$E2E_DIR/before.$t"
done
r=$(apix "tls:$TC" GET /v1/whoami)
todo "$([ "$(status_of "$r")" = 401 ]; echo $?)" \
    "[un-revoke] the revoked token stays refused (HTTP $(status_of "$r"))"
todo "$([ "$(verify)" = 1 ]; echo $?)" "[un-revoke] verify exits 1"

# --- markers of batches not yet made: a write is not "settled" by them ---
node=$(sql "SELECT node FROM secretd.commits ORDER BY batch DESC LIMIT 1")
last=$(sql "SELECT max(batch) FROM secretd.commits WHERE node = '$node'")
ok "$([ -n "$node" ] && [ -n "$last" ]; echo $?)" "the daemon's commits carry markers"
sql "INSERT INTO secretd.commits (node, batch) SELECT '$node', b
    FROM generate_series($last + 1, $last + 20) AS b" >/dev/null
before=$(sql "SELECT count(*) FROM secretd.secrets")
r=$(api "$A" POST /v1/secrets '{"name":"a_forged","value":"never-stored"}')
st=$(status_of "$r")
ok "$([ "${st:0:1}" != 2 ]; echo $?)" \
    "[forged markers] a write they would settle is not answered as done (HTTP $st)"
is "$(sql "SELECT count(*) FROM secretd.secrets")" "$before" \
    "[forged markers] and nothing was stored"
ok "$(! grep -q 'malformed reply' "$E2E_DIR/secretd.log"; echo $?)" \
    "[forged markers] no reply the front-end cannot read (it would exit)"
ok "$(grep -q 'secretd.commits was edited' "$E2E_DIR/secretd.log"; echo $?)" \
    "[forged markers] the log says the markers were edited"
sql "DELETE FROM secretd.commits WHERE node = '$node' AND batch > $last" >/dev/null
r=$(api "$A" POST /v1/secrets '{"name":"a_forged","value":"stored"}')
is "$(status_of "$r")" 201 "[forged markers] once they are gone, the write is made"
api "$A" DELETE /v1/secrets/a_forged >/dev/null

# --- everything undone: all serves, verify passes ---
is "$(body_of "$(reveal "$A" a_1)" | jq -r .value)" alice-one "a_1 reveals"
is "$(body_of "$(reveal "$B" b_1)" | jq -r .value)" bob-one "b_1 reveals"
is "$(status_of "$(apix "tls:$TA" GET /v1/whoami)")" 200 "alice's token works"
is "$(verify)" 0 "the undone store verifies"
secretd_finish "tampered"

done_testing
