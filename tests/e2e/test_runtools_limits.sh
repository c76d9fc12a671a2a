#!/usr/bin/env bash
# runtools and the daemon's limits: "token list" follows every page (more
# tokens than the server's default page of 100), in text and --json; a
# per-user quota (secrets, live tokens) is reported with the server's own
# message and exit status 4, and nothing is stored.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/runtools-lib.sh"

A=$E2E_ALICE B=$E2E_BOB ADM=$E2E_ADMIN
OUT=$E2E_DIR/out ERR=$E2E_DIR/err
NTOK=105	# over one default page

rt() {
	local user=$1
	shift
	rtx "$user" RUNTOOLS_URL="unix:$E2E_SOCK" -- "$@"
}

# api_ids USER: every token id USER may list, walking the API's pages.
api_ids() {
	local cursor="" q page
	while :; do
		q="/v1/tokens?limit=1000"
		[ -n "$cursor" ] && q="$q&cursor=$cursor"
		page=$(api "$1" GET "$q" | sed '$d')
		jq -r '.tokens[].id' <<<"$page"
		cursor=$(jq -r '.nextCursor // empty | @uri' <<<"$page")
		[ -n "$cursor" ] || break
	done | sort
}

e2e_setup "max_tokens_per_user = $NTOK" "quota_user_secrets = 2"
secretd_start

# Alice fills her token cap over one kept-alive connection.
urls=$(printf 'http://localhost/v1/tokens %.0s' $(seq 1 "$NTOK"))
# shellcheck disable=SC2086
runuser -u "$A" -- curl -s -m 60 --unix-socket "$E2E_SOCK" \
    -H 'Content-Type: application/json' -d '{"description":"many"}' $urls |
    jq -r '.token // empty' >"$E2E_DIR/toks"
is "$(wc -l <"$E2E_DIR/toks")" "$NTOK" "fixture: alice made $NTOK tokens"
is "$(api "$A" GET /v1/tokens | sed '$d' | jq -r '.nextCursor | type')" string \
    "the API's first page (default limit) has a nextCursor"

# --- token list over pages ---
rt "$A" token list
rc_is 0 "token list over several pages"
is "$(head -n 1 "$OUT" | tr -s ' ')" "ID USER ROLE CREATED EXPIRES SCOPES DESCRIPTION" \
    "token list: one header"
is "$(sed 1d "$OUT" | awk '{ print $1 }' | sort)" "$(api_ids "$A")" \
    "token list: a row for every one of alice's $NTOK tokens, each once"
rt "$A" --json token list
rc_is 0 "token list --json over several pages"
is "$(jq -c 'keys' "$OUT")" '["nextCursor","tokens"]' \
    "--json: the pages merged into one {tokens, nextCursor}"
is "$(jq -c '[.nextCursor, (.tokens | length)]' "$OUT")" "[null,$NTOK]" \
    "--json: nextCursor null, all $NTOK tokens"
is "$(jq -r '.tokens[].id' "$OUT" | sort)" "$(api_ids "$A")" \
    "--json: the same tokens as the API's pages"
rt "$B" token list
is "$rc $(sed 1d "$OUT" | wc -l)" "0 0" "bob lists none of alice's tokens"

# --- quotas: exit 4 with the server's message ---
rt "$A" token create --description "one too many"
rc_is 4 "token create past max_tokens_per_user exits 4"
want=$(api "$A" POST /v1/tokens '{}' | sed '$d' | jq -r '.error.code + ": " + .error.message')
ok "$([[ $want == quota_exceeded:* ]] && [ "$(cat "$ERR")" = "runtools: token create: ${want#quota_exceeded: }" ]; echo $?)" \
    "token create prints the server's message: $(head -c 200 "$ERR")"
is "$(api_ids "$A" | wc -l)" "$NTOK" "the refused token create stored nothing"

rt "$A" secret set Q_ONE one
rt "$A" secret set Q_TWO two
rc_is 0 "two secrets fit alice's quota of 2"
rt "$A" secret set Q_THREE < <(echo three)
rc_is 4 "secret set past quota_user_secrets exits 4"
want=$(api "$A" POST /v1/secrets '{"name":"Q_THREE","value":"x"}' | sed '$d' |
    jq -r '.error.code + ": " + .error.message')
ok "$([[ $want == quota_exceeded:* ]] && [ "$(cat "$ERR")" = "runtools: set Q_THREE: ${want#quota_exceeded: }" ]; echo $?)" \
    "secret set prints the server's message: $(head -c 200 "$ERR")"
is "$(version "$A" Q_THREE)" 404 "the refused set stored nothing"
rt "$A" secret set Q_TWO rotated
rc_is 0 "a rotation within the quota still works"
rt "$B" secret set Q_THREE bobs
rc_is 0 "bob is not held to alice's quota"

secretd_finish
done_testing
