#!/usr/bin/env bash
# The whole policy table of DESIGN section 2 over the wire, every row, column
# and caller, for both org_reveal settings, then through bearer tokens.
# Owns its temp state folders and daemons; never talks to anything but them.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE
B=$E2E_BOB
C=$E2E_ADMIN
cases=0
MODE=

# allow WHO METHOD PATH BODY STATUS FILTER NAME [CURL_ARGS...]: the call
# is answered STATUS and the jq FILTER holds on its body.
allow() {
	local who=$1 m=$2 p=$3 body=$4 st=$5 f=$6 name=$7 out got
	shift 7
	cases=$((cases + 1))
	out=$(apix "$who" "$m" "$p" "$body" "$@")
	got="$(status_of "$out") $(body_of "$out" | jq -c "$f" 2>/dev/null)"
	is "$got" "$st true" "$name [$MODE]"
	[ "$got" = "$st true" ] || echo "#   body: $(body_of "$out" | head -c 300)"
}

# deny WHO METHOD PATH BODY STATUS CODE NAME [CURL_ARGS...]: the call gets
# that JSON error, and every secret's metadata is the same afterwards.
deny() {
	local who=$1 m=$2 p=$3 body=$4 st=$5 code=$6 name=$7 before after out
	shift 7
	cases=$((cases + 1))
	before=$(snapshot)
	out=$(apix "$who" "$m" "$p" "$body" "$@")
	after=$(snapshot)
	expect_error "$out" "$st" "$code" "$name [$MODE]"
	ok "$([ -n "$before" ] && [ "$after" = "$before" ]; echo $?)" \
	    "  and the store is unchanged [$MODE]"
}

# expect_error OUTPUT STATUS CODE NAME: is_error, where STATUS and CODE may
# list alternatives ("403|404" "forbidden|not_found") when either is right.
expect_error() {
	local out=$1 name=$4 i sts codes
	IFS='|' read -ra sts <<<"$2"
	IFS='|' read -ra codes <<<"$3"
	for i in "${!sts[@]}"; do
		if [ "$(status_of "$out")" = "${sts[$i]}" ]; then
			is_error "$out" "${sts[$i]}" "${codes[$i]}" "$name"
			return
		fi
	done
	is_error "$out" "${sts[0]}" "${codes[0]}" "$name"
}

# norm_err OUTPUT NAME: status, error code, error keys and message with the
# secret's name blanked, to compare two denials.
norm_err() {
	printf '%s %s\n' "$(status_of "$1")" "$(body_of "$1" | jq -c --arg n "$2" \
	    '{code: .error.code, keys: (.error | keys),
	      message: (.error.message | gsub($n; "NAME"))}' 2>/dev/null)"
}

# hidden WHO METHOD PATHFMT BODYFMT NAME STATUS CODE TEXT: asked about the
# existing NAME (printf'd into PATHFMT and BODYFMT), WHO gets the very
# answer it gets for a missing name, that answer is STATUS/CODE, and the
# store is unchanged.
hidden() {
	local who=$1 m=$2 pf=$3 bf=$4 name=$5 st=$6 code=$7 before after
	local out1 out2 p1 p2 b1 b2
	shift 7
	cases=$((cases + 1))
	# shellcheck disable=SC2059
	{
		p1=$(printf "$pf" "$name"); p2=$(printf "$pf" NO_SUCH_NAME_9)
		b1=$(printf "$bf" "$name"); b2=$(printf "$bf" NO_SUCH_NAME_9)
	}
	before=$(snapshot)
	out1=$(apix "$who" "$m" "$p1" "$b1")
	after=$(snapshot)
	out2=$(apix "$who" "$m" "$p2" "$b2")
	expect_error "$out1" "$st" "$code" "$* [$MODE]"
	is "$(norm_err "$out1" "$name")" "$(norm_err "$out2" NO_SUCH_NAME_9)" \
	    "  and it is the very answer for a missing name [$MODE]"
	ok "$([ -n "$before" ] && [ "$after" = "$before" ]; echo $?)" \
	    "  and the store is unchanged [$MODE]"
}

# The fixture: each caller's own secret OWN_<user>, valued v-<user>, and
# one org secret.
seed() {
	local u st
	for u in "$A" "$B" "$C" root; do
		st=$(api "$u" POST /v1/secrets \
		    "{\"name\":\"OWN_$u\",\"value\":\"v-$u\",\"category\":\"tool\"}" |
		    tail -n 1)
		is "$st" 201 "seed: $u creates OWN_$u [$MODE]"
	done
	st=$(api root POST /v1/secrets \
	    '{"name":"ORG_SECRET","value":"org-v","orgWide":true}' | tail -n 1)
	is "$st" 201 "seed: root creates the org secret [$MODE]"
}

# row_own WHO: every operation on the caller's own user secret is allowed.
row_own() {
	local u=$1 t=${1}
	allow "$u" GET /v1/secrets - 200 \
	    "[.secrets[] | select(.name == \"OWN_$t\" and .scope == \"user\" and .userId == \"$t\")] | length == 1" \
	    "list: $u sees his own secret"
	allow "$u" GET "/v1/secrets/OWN_$t" - 200 \
	    ".userId == \"$t\" and .scope == \"user\" and (has(\"value\") | not)" \
	    "get metadata: $u, own secret"
	allow "$u" POST /v1/secrets "{\"name\":\"NEW_$t\",\"value\":\"n1\"}" 201 \
	    ".version == 1 and .userId == \"$t\"" "create: $u, own secret"
	allow "$u" POST /v1/secrets "{\"name\":\"NEW_$t\",\"value\":\"n2\"}" 200 \
	    ".version == 2 and .userId == \"$t\"" "rotate: $u, own secret"
	allow "$u" POST "/v1/secrets/OWN_$t/reveal" - 200 \
	    ".value == \"v-$t\"" "reveal: $u, own secret"
	allow "$u" POST "/v1/secrets/NEW_$t/reveal" - 200 \
	    '.value == "n2" and .version == 2' "reveal after rotate: $u, the new value"
	allow "$u" DELETE "/v1/secrets/NEW_$t" - 200 \
	    ". == {\"deleted\":true,\"name\":\"NEW_$t\",\"scope\":\"user\"}" \
	    "delete: $u, own secret"
	deny "$u" GET "/v1/secrets/NEW_$t" - 404 not_found \
	    "after delete: $u's secret is gone"
}

# row_other_admin ADMIN TARGET: an admin lists, reads, creates, rotates and
# deletes another user's secret, but never reveals it.
row_other_admin() {
	local u=$1 t=$2
	allow "$u" GET "/v1/secrets?user_id=$t" - 200 \
	    "[.secrets[] | select(.scope == \"user\") | .userId] | unique == [\"$t\"] and any(.[]; true)" \
	    "list user_id=: admin $u lists $t's secrets"
	allow "$u" GET "/v1/secrets?user_id=$t" - 200 \
	    "any(.secrets[]; .name == \"OWN_$t\")" \
	    "list user_id=: admin $u sees OWN_$t"
	allow "$u" GET '/v1/secrets?all=true' - 200 \
	    "any(.secrets[]; .name == \"OWN_$t\" and .userId == \"$t\") and any(.secrets[]; .scope == \"org\")" \
	    "list all=true: admin $u sees $t's and the org's secrets"
	allow "$u" GET "/v1/secrets/OWN_$t?user_id=$t" - 200 \
	    ".userId == \"$t\" and .name == \"OWN_$t\" and (has(\"value\") | not)" \
	    "get metadata user_id=: admin $u, $t's secret"
	allow "$u" POST "/v1/secrets?user_id=$t" "{\"name\":\"ADM_$u\",\"value\":\"a1\"}" 201 \
	    ".userId == \"$t\" and .createdBy == \"$u\" and .version == 1" \
	    "create user_id=: admin $u, for $t"
	allow "$u" POST "/v1/secrets?user_id=$t" "{\"name\":\"ADM_$u\",\"value\":\"a2\"}" 200 \
	    ".userId == \"$t\" and .updatedBy == \"$u\" and .version == 2" \
	    "rotate user_id=: admin $u, $t's secret"
	deny "$u" POST "/v1/secrets/OWN_$t/reveal?user_id=$t" - 403 forbidden \
	    "reveal user_id=: admin $u may not reveal $t's secret"
	deny "$u" POST "/v1/secrets/ADM_$u/reveal?user_id=$t" - 403 forbidden \
	    "reveal user_id=: not even one admin $u wrote for $t"
	allow "$t" POST "/v1/secrets/ADM_$u/reveal" - 200 '.value == "a2"' \
	    "  while its owner $t reveals it"
	allow "$u" DELETE "/v1/secrets/ADM_$u?user_id=$t" - 200 \
	    ". == {\"deleted\":true,\"name\":\"ADM_$u\",\"scope\":\"user\"}" \
	    "delete user_id=: admin $u, $t's secret"
}

# row_other_member MEMBER TARGET: nothing of another user's secret, not
# even that it exists.
row_other_member() {
	local u=$1 t=$2
	allow "$u" GET /v1/secrets - 200 \
	    "all(.secrets[]; .scope == \"org\" or .userId == \"$u\")" \
	    "list: member $u sees no other user's secret"
	deny "$u" GET "/v1/secrets?user_id=$t" - 403 forbidden \
	    "list user_id=: member $u may not list $t's"
	deny "$u" GET '/v1/secrets?all=true' - 403 forbidden \
	    "list all=true: member $u may not"
	hidden "$u" GET "/v1/secrets/%s?user_id=$t" - "OWN_$t" 404 not_found \
	    "get metadata user_id=: member $u, $t's secret"
	hidden "$u" GET "/v1/secrets/%s" - "OWN_$t" 404 not_found \
	    "get metadata: member $u asking for $t's name finds nothing of his"
	# Writing into another user's namespace: refused, or that namespace
	# does not exist for a member; either way alike for any name.
	hidden "$u" POST "/v1/secrets?user_id=$t" '{"name":"%s","value":"x"}' \
	    "OWN_$t" "403|404" "forbidden|not_found" \
	    "rotate user_id=: member $u, $t's secret"
	deny "$u" POST "/v1/secrets?user_id=$t" '{"name":"MEMBER_NEW","value":"x"}' \
	    "403|404" "forbidden|not_found" "create user_id=: member $u, for $t"
	hidden "$u" POST "/v1/secrets/%s/reveal?user_id=$t" - "OWN_$t" 404 not_found \
	    "reveal user_id=: member $u, $t's secret"
	hidden "$u" POST "/v1/secrets/%s/reveal" - "OWN_$t" 404 not_found \
	    "reveal: member $u asking for $t's name"
	hidden "$u" DELETE "/v1/secrets/%s?user_id=$t" - "OWN_$t" 404 not_found \
	    "delete user_id=: member $u, $t's secret"
}

# row_org_admin ADMIN: everything on org secrets.
row_org_admin() {
	local u=$1
	allow "$u" GET '/v1/secrets?secretScope=org' - 200 \
	    'any(.secrets[]; .name == "ORG_SECRET" and .userId == null)' \
	    "list secretScope=org: admin $u"
	allow "$u" GET '/v1/secrets/ORG_SECRET?orgWide=true' - 200 \
	    '.scope == "org" and (has("value") | not)' "get metadata: admin $u, org secret"
	allow "$u" POST /v1/secrets "{\"name\":\"ORG_$u\",\"value\":\"o1\",\"orgWide\":true}" 201 \
	    '.scope == "org" and .version == 1' "create orgWide: admin $u"
	allow "$u" POST /v1/secrets "{\"name\":\"ORG_$u\",\"value\":\"o2\",\"orgWide\":true}" 200 \
	    '.scope == "org" and .version == 2' "rotate orgWide: admin $u"
	allow "$u" POST '/v1/secrets/ORG_SECRET/reveal?orgWide=true' - 200 \
	    '.value == "org-v"' "reveal orgWide: admin $u"
	allow "$u" DELETE "/v1/secrets/ORG_$u?orgWide=true" - 200 \
	    ". == {\"deleted\":true,\"name\":\"ORG_$u\",\"scope\":\"org\"}" \
	    "delete orgWide: admin $u"
}

# row_org_member MEMBER: reads org secrets, reveals them only when
# org_reveal = members, never writes them.
row_org_member() {
	local u=$1
	allow "$u" GET '/v1/secrets?secretScope=org' - 200 \
	    'any(.secrets[]; .name == "ORG_SECRET" and .scope == "org")' \
	    "list secretScope=org: member $u"
	allow "$u" GET '/v1/secrets/ORG_SECRET?orgWide=true' - 200 \
	    '.scope == "org" and (has("value") | not)' "get metadata: member $u, org secret"
	deny "$u" POST /v1/secrets '{"name":"ORG_SECRET","value":"evil","orgWide":true}' \
	    403 forbidden "rotate orgWide: member $u"
	deny "$u" POST /v1/secrets '{"name":"ORG_BY_MEMBER","value":"x","orgWide":true}' \
	    403 forbidden "create orgWide: member $u"
	if [ "$MODE" = members ]; then
		allow "$u" POST '/v1/secrets/ORG_SECRET/reveal?orgWide=true' - 200 \
		    '.value == "org-v"' "reveal orgWide: member $u (org_reveal = members)"
	else
		deny "$u" POST '/v1/secrets/ORG_SECRET/reveal?orgWide=true' - 403 forbidden \
		    "reveal orgWide: member $u (org_reveal = admins)"
	fi
	deny "$u" DELETE '/v1/secrets/ORG_SECRET?orgWide=true' - 403 forbidden \
	    "delete orgWide: member $u"
}

policy_table() {
	seed
	row_own "$A"
	row_own "$B"
	row_own "$C"
	row_own root
	row_other_member "$A" "$B"
	row_other_member "$B" "$A"
	row_other_admin "$C" "$A"
	row_other_admin root "$B"
	row_org_member "$A"
	row_org_member "$B"
	row_org_admin "$C"
	row_org_admin root
}

# Tokens over TLS: members and admins act as themselves; expired, revoked,
# foreign, missing and malformed tokens get 401.
tokens() {
	local ta tc tx tr idr
	ta=$(token_create "$A" '{"description":"alice"}')
	tc=$(token_create "$C" '{"description":"carol","role":"admin"}')
	ok "$([[ $ta == rts_* && $tc == rts_* ]]; echo $?)" "tokens made for alice and carol [$MODE]"
	allow "tls:$ta" GET "/v1/secrets/OWN_$A" - 200 ".userId == \"$A\"" \
	    "member token: get own metadata"
	allow "tls:$ta" POST "/v1/secrets/OWN_$A/reveal" - 200 ".value == \"v-$A\"" \
	    "member token: reveal own"
	hidden "tls:$ta" POST "/v1/secrets/%s/reveal?user_id=$B" - "OWN_$B" 404 not_found \
	    "member token: reveal another user's"
	deny "tls:$ta" GET '/v1/secrets?all=true' - 403 forbidden "member token: all=true"
	deny "tls:$ta" POST /v1/secrets '{"name":"ORG_SECRET","value":"evil","orgWide":true}' \
	    403 forbidden "member token: rotate org secret"
	if [ "$MODE" = members ]; then
		allow "tls:$ta" POST '/v1/secrets/ORG_SECRET/reveal?orgWide=true' - 200 \
		    '.value == "org-v"' "member token: reveal org secret (org_reveal = members)"
	else
		deny "tls:$ta" POST '/v1/secrets/ORG_SECRET/reveal?orgWide=true' - 403 forbidden \
		    "member token: reveal org secret (org_reveal = admins)"
	fi
	allow "tls:$tc" GET '/v1/secrets?all=true' - 200 \
	    "any(.secrets[]; .userId == \"$A\") and any(.secrets[]; .userId == \"$B\")" \
	    "admin token: all=true"
	deny "tls:$tc" POST "/v1/secrets/OWN_$A/reveal?user_id=$A" - 403 forbidden \
	    "admin token: reveal a user's secret"
	allow "tls:$tc" POST '/v1/secrets/ORG_SECRET/reveal?orgWide=true' - 200 \
	    '.value == "org-v"' "admin token: reveal org secret"
	allow "tls:$tc" POST /v1/secrets '{"name":"TLS_ORG","value":"t","orgWide":true}' 201 \
	    ".scope == \"org\" and .createdBy == \"$C\"" "admin token: create org secret"
	allow "tls:$tc" DELETE '/v1/secrets/TLS_ORG?orgWide=true' - 200 '.deleted' \
	    "admin token: delete org secret"
	# A token present wins over the peer's kernel credentials.
	allow "$B" GET "/v1/secrets/OWN_$A" - 200 ".userId == \"$A\"" \
	    "unix socket: bob's connection carrying alice's token acts as alice" \
	    -H "Authorization: Bearer $ta"
	[ "$MODE" = admins ] || return 0

	tx=$(foreign_token)
	ok "$([[ $tx == rts_* ]]; echo $?)" "a token made by a daemon of another org [$MODE]"
	deny "tls:$tx" GET '/v1/secrets?all=true' - 401 unauthenticated "foreign-org token"
	tr=$(token_create "$A" '{"description":"short","ttlSeconds":1}')
	sleep 2.2
	deny "tls:$tr" GET /v1/secrets - 401 unauthenticated "expired token (ttl 1 s)"
	tr=$(api "$A" POST /v1/tokens '{"description":"revoke me"}' | sed '$d')
	idr=$(printf '%s\n' "$tr" | jq -r .id)
	tr=$(printf '%s\n' "$tr" | jq -r .token)
	allow "tls:$tr" GET /v1/secrets - 200 '.secrets | type == "array"' \
	    "the token to revoke works first"
	api "$A" DELETE "/v1/tokens/$idr" >/dev/null
	deny "tls:$tr" GET /v1/secrets - 401 unauthenticated "revoked token"
	deny tls: GET /v1/secrets - 401 unauthenticated "TLS without Authorization"
	deny tls: POST /v1/secrets '{"name":"X","value":"y"}' 401 unauthenticated \
	    "TLS create without Authorization"
	deny tls: GET /v1/secrets - 401 unauthenticated "Authorization: Basic" \
	    -H 'Authorization: Basic ZTJlX2FsaWNlOng='
	deny tls: GET /v1/secrets - 401 unauthenticated "Authorization: Bearer, no token" \
	    -H 'Authorization: Bearer'
	# These two on the unix socket: failures from one address are rate
	# limited, and the TLS ones above come from 127.0.0.1.
	deny "$A" GET /v1/secrets - 401 unauthenticated "a token with a byte added" \
	    -H "Authorization: Bearer ${ta}x"
	deny "$A" GET /v1/secrets - 401 unauthenticated "a token with a byte cut" \
	    -H "Authorization: Bearer ${ta%?}"
	deny tls: GET /v1/secrets - 401 unauthenticated "a token without rts_" \
	    -H "Authorization: Bearer ${ta#rts_}"
	deny "$B" GET "/v1/secrets/OWN_$B" - 401 unauthenticated \
	    "unix socket: a bad token is refused, not replaced by peer credentials" \
	    -H 'Authorization: Bearer rts_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
}

for MODE in admins members; do
	e2e_setup "org_reveal = $MODE"
	secretd_start
	policy_table
	tokens
	secretd_finish "$MODE"
	e2e_teardown
	E2E_DIR=
done
trap - EXIT

echo "# policy cases over the wire: $cases (both org_reveal settings)"
done_testing
