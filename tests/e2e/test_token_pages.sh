#!/usr/bin/env bash
# GET /v1/tokens in pages, like secrets: limit 1 to 1000, an opaque cursor
# (printable, no spaces, at most TOKEN_CURSOR_MAX_LEN) and nextCursor,
# null on the last page.  Walking limit=2 pages lists every token once, for
# an admin (the org's) and a member (her own), over the socket and TLS.
# Owns its temp state folder and daemon.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE B=$E2E_BOB C=$E2E_ADMIN
TOKEN_CURSOR_MAX_LEN=81	# ID_MAX_LEN + 1 + TOKEN_ID_LEN in proto.h

# walk WHO LIMIT: every page of GET /v1/tokens?limit=LIMIT as WHO (a user,
# or tls:TOKEN); prints one line per page: its size and whether it has a
# nextCursor, then the ids, sorted, as one JSON array on the last line.
walk() {
	local who=$1 limit=$2 q out page cursor="" ids="" n=0
	while :; do
		q="/v1/tokens?limit=$limit"
		[ -n "$cursor" ] && q="$q&cursor=$cursor"
		out=$(apix "$who" GET "$q")
		[ "$(status_of "$out")" = 200 ] || { echo "status $(status_of "$out")"; return; }
		page=$(body_of "$out")
		echo "$(jq '.tokens | length' <<<"$page") $(jq -r 'if .nextCursor == null
		    then "last" elif (.nextCursor | type) == "string" then "more"
		    else "bad" end' <<<"$page")"
		ids="$ids $(jq -r '.tokens[].id' <<<"$page")"
		cursor=$(jq -r '.nextCursor // empty | @uri' <<<"$page")
		n=$((n + 1))
		[ -n "$cursor" ] && [ "$n" -lt 50 ] || break
	done
	printf '%s\n' $ids | sed '/^$/d' | sort | jq -R . | jq -sc .
}

ids_of() { printf '%s\n' "$@" | cut -d_ -f2 | sort | jq -R . | jq -sc .; }

e2e_setup
secretd_start

ta=() tb=() tc=()
for i in 1 2 3 4 5; do ta+=("$(token_create "$A" "{\"description\":\"a$i\"}")"); done
for i in 1 2; do tb+=("$(token_create "$B" "{\"description\":\"b$i\"}")"); done
tc+=("$(token_create "$C" '{"description":"c1","role":"admin"}')")
ok "$(n=0; for t in "${ta[@]}" "${tb[@]}" "${tc[@]}"; do [ -n "$t" ] && n=$((n + 1)); done
    [ "$n" = 8 ]; echo $?)" "fixture: alice has 5 tokens, bob 2, carol (admin) 1"

# --- one page ---
out=$(api "$A" GET '/v1/tokens?limit=2')
is "$(status_of "$out")" 200 "GET /v1/tokens?limit=2: 200"
is "$(body_of "$out" | jq -c 'keys')" '["nextCursor","tokens"]' \
    "the page is {tokens, nextCursor}"
is "$(body_of "$out" | jq '.tokens | length')" 2 "limit=2 gives 2 tokens"
is "$(body_of "$out" | jq -r '.nextCursor | type')" string \
    "and a nextCursor when more follow"
out=$(api "$A" GET /v1/tokens)
is "$(body_of "$out" | jq -c '[(.tokens | length), .nextCursor]')" '[5,null]' \
    "without limit (default 100): all 5 of alice's, nextCursor null"

# --- walking the pages ---
pages=$(walk "$A" 2)
is "$(head -n -1 <<<"$pages" | paste -sd,)" "2 more,2 more,1 last" \
    "alice's 5 tokens in pages of 2: 2, 2, 1, nextCursor null on the last"
is "$(tail -n 1 <<<"$pages")" "$(ids_of "${ta[@]}")" \
    "the pages list each of alice's tokens exactly once"
pages=$(walk "$C" 2)
is "$(head -n -1 <<<"$pages" | paste -sd,)" "2 more,2 more,2 more,2 last" \
    "the admin's 8 org tokens in pages of 2"
is "$(tail -n 1 <<<"$pages")" "$(ids_of "${ta[@]}" "${tb[@]}" "${tc[@]}")" \
    "the admin's pages list every org token exactly once"
pages=$(walk "$C" 3)
is "$(tail -n 1 <<<"$pages")" "$(ids_of "${ta[@]}" "${tb[@]}" "${tc[@]}")" \
    "pages of 3 list the same tokens"
pages=$(walk "tls:${tb[0]}" 1)
is "$(head -n -1 <<<"$pages" | paste -sd,)" "1 more,1 last" \
    "over TLS, bob's 2 tokens in pages of 1"
is "$(tail -n 1 <<<"$pages")" "$(ids_of "${tb[@]}")" "bob's pages list only his tokens"
pages=$(walk "$C" 1000)
is "$(head -n -1 <<<"$pages")" "8 last" "limit=1000 is one page"

# A cursor is the caller's own: bob's cursor does not show him alice's.
cur=$(api "$C" GET '/v1/tokens?limit=1' | sed '$d' | jq -r '.nextCursor | @uri')
out=$(api "$B" GET "/v1/tokens?limit=10&cursor=$cur")
ok "$([ "$(status_of "$out")" != 200 ] || [ "$(body_of "$out" |
    jq -c --argjson mine "$(ids_of "${tb[@]}")" '[.tokens[].id] - $mine')" = "[]" ];
    echo $?)" "a member's page from an admin's cursor holds only her own tokens"

# --- refused queries ---
long=$(printf 'c%.0s' $(seq 1 $((TOKEN_CURSOR_MAX_LEN + 1))))
for q in limit=0 limit=1001 limit=-1 limit=abc limit= "cursor=a%20b" \
    "cursor=a%00b" "cursor=$long" "limit=2&limit=3" category=tool all=true; do
	is_error "$(api "$A" GET "/v1/tokens?$q")" 400 invalid_request \
	    "GET /v1/tokens?${q:0:40}: 400"
done
ok "$(status=$(status_of "$(api "$A" GET "/v1/tokens?cursor=${long%c}")")
    [ "$status" = 200 ] || [ "$status" = 400 ]; echo $?)" \
    "a cursor of exactly $TOKEN_CURSOR_MAX_LEN characters passes the front-end"

secretd_finish
done_testing
