#!/usr/bin/env bash
# Shared limits that must not let one caller hurt another: failed-auth
# limits that never refuse a valid token and key unix callers on their
# uid; tokens found by id among thousands, capped per user, bounded by
# and revoked with the token they were made with; per-user and per-org
# secret quotas that store nothing when refused; audit_sync = all.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE B=$E2E_BOB C=$E2E_ADMIN

# restart_with LINES...: the same state folder under a changed config.
restart_with() {
	secretd_stop
	sed -i '/^# limits$/,$d' "$E2E_CONF"
	{ echo "# limits"; local l; for l in "$@"; do echo "$l"; done; } \
	    >>"$E2E_CONF"
	secretd_start
}

# bad_token ID: a well-formed token that verifies for nobody.
bad_token() {
	echo "rts_${1}_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
}

# as_token USER TOKEN METHOD PATH: a token request over the unix socket.
as_token() {
	apix "$1" "$3" "$4" - -H "Authorization: Bearer $2"
}

id_of() { echo "$1" | cut -d_ -f2; }

e2e_setup "# limits" "max_tokens_per_user = 4" "quota_user_secrets = 3" \
    "quota_user_bytes = 100" "quota_org_secrets = 2" "quota_org_bytes = 1K"
secretd_start

# --- failed-authentication limits ---------------------------------------
TA=$(token_create "$A" '{"description":"alice"}')
TB=$(token_create "$B" '{"description":"bob"}')
ok "$([ -n "$TA" ] && [ -n "$TB" ]; echo $?)" "alice and bob have tokens"
codes=
for i in $(seq 1 12); do
	codes="$codes $(status_of "$(as_token "$A" "$(bad_token 0123456789abcdef)" GET /v1/secrets)")"
done
is "$(echo "$codes" | awk '{print $1, $10, $11, $12}')" "401 401 429 429" \
    "alice's failed tokens: 401 ten times, then 429"
is "$(status_of "$(as_token "$A" "$TA" GET /v1/secrets)")" 200 \
    "alice's own valid token still passes her full bucket"
is "$(status_of "$(as_token "$B" "$TB" GET /v1/secrets)")" 200 \
    "bob's valid token over the unix socket is not refused for alice's failures"
is_error "$(as_token "$B" "$(bad_token 1123456789abcdef)" GET /v1/secrets)" \
    401 unauthenticated "bob's first bad token is a 401, not a 429: his own bucket"
# Twelve guesses at bob's token id, over TLS from this address.
guess="rts_$(id_of "$TB")_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
for i in $(seq 1 12); do last=$(tls "$guess" GET /v1/secrets); done
is_error "$last" 429 rate_limited "guesses at a known token id end in 429"
is "$(status_of "$(tls "$TB" GET /v1/secrets)")" 200 \
    "the owner of the guessed id is not locked out, from the same address"
is "$(status_of "$(tls "$TA" GET /v1/secrets)")" 200 \
    "another valid token from the guessers' address passes"
ok "$(audit_lines '.op == "connect" and .outcome == "ok" and (.uid | type) == "number"' |
    grep -q . && ! audit_lines '.source == "unix"' | grep -q .; echo $?)" \
    "audit lines name a unix caller by uid, not a shared source"

# --- tokens made with tokens --------------------------------------------
T1=$(token_create "$C" '{"description":"root of a tree"}')
out=$(tls "$T1" POST /v1/tokens '{"description":"child","ttlSeconds":3600}')
T2=$(body_of "$out" | jq -r '.token // empty')
exp2=$(body_of "$out" | jq -r '.expiresAt // empty')
is "$(status_of "$out")" 201 "a token makes a child token over TLS"
out=$(tls "$T2" POST /v1/tokens '{"description":"grandchild"}')
T3=$(body_of "$out" | jq -r '.token // empty')
is "$(body_of "$out" | jq -r .expiresAt)" "$exp2" \
    "a child asked to never expire expires with its parent"
out=$(tls "$T2" POST /v1/tokens '{"description":"long","ttlSeconds":864000}')
T4=$(body_of "$out" | jq -r '.token // empty')
is "$(body_of "$out" | jq -r .expiresAt)" "$exp2" \
    "a child asked to outlive its parent expires with it"
is "$(status_of "$(tls "$T3" GET /v1/secrets)")" 200 "the grandchild works"
out=$(api "$C" DELETE "/v1/tokens/$(id_of "$T1")")
is "$(status_of "$out")" 200 "the root token is revoked"
# Over the unix socket as carol: the TLS address's failure count is full.
is "$(status_of "$(as_token "$C" "$T2" GET /v1/secrets)") $(status_of "$(as_token "$C" "$T3" GET /v1/secrets)") $(status_of "$(as_token "$C" "$T4" GET /v1/secrets)")" \
    "401 401 401" "revoking it revoked every token made from it"
is "$(api "$C" GET /v1/tokens | sed '$d' | jq -r --arg a "$(id_of "$T2")" \
    --arg b "$(id_of "$T3")" '[.tokens[] | select(.id == $a or .id == $b)] | length')" 0 \
    "the revoked tree is gone from the token list"

# --- per-user token cap ---------------------------------------------------
for i in 2 3 4; do token_create "$A" "{\"description\":\"a$i\"}" >/dev/null; done
before=$(api "$A" GET /v1/tokens | sed '$d' | jq -c '[.tokens[].id] | sort')
is_error "$(api "$A" POST /v1/tokens '{"description":"fifth"}')" 403 \
    quota_exceeded "a fifth live token for alice is refused (cap 4)"
is "$(api "$A" GET /v1/tokens | sed '$d' | jq -c '[.tokens[].id] | sort')" \
    "$before" "the refusal stored no token"
is "$(status_of "$(api "$B" POST /v1/tokens '{"description":"bob2"}')")" 201 \
    "bob is not held to alice's cap"
api "$A" DELETE "/v1/tokens/$(id_of "$TA")" >/dev/null
is "$(status_of "$(api "$A" POST /v1/tokens '{"description":"again"}')")" 201 \
    "after a revoke alice may make one again"

# --- secret quotas ----------------------------------------------------------
for n in Q1 Q2 Q3; do api "$A" POST /v1/secrets "{\"name\":\"$n\",\"value\":\"v-$n\"}" >/dev/null; done
snap=$(snapshot)
is_error "$(api "$A" POST /v1/secrets '{"name":"Q4","value":"v"}')" 403 \
    quota_exceeded "a fourth secret for alice is refused (quota 3)"
big=$(head -c 120 /dev/zero | tr '\0' x)
is_error "$(api "$A" POST /v1/secrets "{\"name\":\"Q1\",\"value\":\"$big\"}")" \
    403 quota_exceeded "a rotation past alice's 100 bytes is refused"
is "$(snapshot)" "$snap" "refused puts leave the store unchanged"
is "$(api "$A" POST /v1/secrets/Q1/reveal | sed '$d' | jq -r .value)" v-Q1 \
    "the refused rotation kept the old value"
is "$(status_of "$(api "$B" POST /v1/secrets '{"name":"Q4","value":"v"}')")" 201 \
    "bob is not held to alice's quota"
api "$A" DELETE /v1/secrets/Q3 >/dev/null
is "$(status_of "$(api "$A" POST /v1/secrets '{"name":"Q4","value":"v"}')")" 201 \
    "after a delete alice may store one again"
for n in O1 O2; do api "$C" POST /v1/secrets "{\"name\":\"$n\",\"value\":\"o\",\"orgWide\":true}" >/dev/null; done
is_error "$(api root POST /v1/secrets '{"name":"O3","value":"o","orgWide":true}')" \
    403 quota_exceeded "a third org secret is refused (org quota 2), whoever writes it"
is "$(status_of "$(api "$C" POST /v1/secrets '{"name":"C1","value":"c"}')")" 201 \
    "the admin's own user secrets are counted apart from the org's"

# --- thousands of tokens: found by id, listed in pages ------------------------
restart_with "max_tokens_per_user = 5000"
# On PostgreSQL each token made counts the user's live tokens row by row
# over the network, so thousands cost minutes: a tenth as many there,
# listed in pages a tenth as long, walks as many pages.
BULK=1030 PAGE=1000
[ "$E2E_STORE" = postgresql ] && BULK=130 PAGE=100
TOTAL=$((4 * BULK))
urls=$(printf 'http://localhost/v1/tokens %.0s' $(seq 1 "$BULK"))
pids=()
for w in 1 2 3 4; do
	# shellcheck disable=SC2086
	curl -s -m 120 --unix-socket "$E2E_SOCK" -H 'Content-Type: application/json' \
	    -d '{"description":"bulk"}' $urls | jq -r '.token // empty' \
	    >"$E2E_DIR/bulk.$w" &
	pids+=($!)
done
wait "${pids[@]}"
cat "$E2E_DIR"/bulk.* >"$E2E_DIR/bulk"
is "$(wc -l <"$E2E_DIR/bulk")" "$TOTAL" "root made $TOTAL tokens"
last=$(tail -n 1 "$E2E_DIR/bulk")
first=$(head -n 1 "$E2E_DIR/bulk")
is "$(status_of "$(api root DELETE "/v1/tokens/$(id_of "$last")")") $(status_of "$(api root DELETE "/v1/tokens/$(id_of "$first")")")" \
    "200 200" "any of them is revoked by id"
is "$(status_of "$(tls "$last" GET /v1/secrets)") $(status_of "$(tls "$first" GET /v1/secrets)")" \
    "401 401" "and no longer works over TLS"
is "$(status_of "$(tls "$(sed -n "$((TOTAL / 2))p" "$E2E_DIR/bulk")" GET /v1/secrets)")" 200 \
    "the others still work"
n=0 pages=0 cursor=
while :; do
	q="/v1/tokens?limit=$PAGE"
	[ -n "$cursor" ] && q="$q&cursor=$cursor"
	page=$(api root GET "$q" | sed '$d')
	n=$((n + $(echo "$page" | jq '.tokens | length')))
	pages=$((pages + 1))
	cursor=$(echo "$page" | jq -r '.nextCursor // empty | @uri')
	[ -n "$cursor" ] && [ "$pages" -lt 20 ] || break
done
ok "$([ "$n" -ge $((TOTAL - 2)) ] && [ "$pages" -ge 5 ]; echo $?)" \
    "an admin's token list walks every page ($n tokens in $pages pages)"

# --- audit_sync = all ---------------------------------------------------------
# syncs_for_reveal TAG: the broker's fdatasync calls during one reveal and
# one get, counted from the moment strace is seen to be attached.
syncs_for_reveal() {
	local out=$E2E_DIR/strace.$1 spid mark end
	strace -qq -e trace=fdatasync,recvmsg -p "$SECRETD_PID" -o "$out" &
	spid=$!
	end=$((SECONDS + 10))
	until grep -q recvmsg "$out" 2>/dev/null || [ "$SECONDS" -ge "$end" ]; do
		api "$A" GET /v1/secrets/Q1 >/dev/null
		sleep 0.1
	done
	sleep 0.3
	mark=$(wc -l <"$out")
	api "$A" POST /v1/secrets/Q1/reveal >/dev/null
	api "$A" GET /v1/secrets/Q1 >/dev/null
	sleep 0.3
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	tail -n "+$((mark + 1))" "$out" | grep -c 'fdatasync('
}
if command -v strace >/dev/null; then
	is "$(syncs_for_reveal writes)" 0 "audit_sync = writes: reads do not sync"
	restart_with "audit_sync = all"
	ok "$([ "$(syncs_for_reveal all)" -ge 2 ]; echo $?)" \
	    "audit_sync = all: each read's audit line is synced before its reply"
	is "$(api "$A" POST /v1/secrets/Q1/reveal | sed '$d' | jq -r .value)" v-Q1 \
	    "reveal answers under audit_sync = all"
else
	ok 1 "strace is needed to watch audit syncs"
fi

secretd_finish
done_testing
