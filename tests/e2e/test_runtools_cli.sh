#!/usr/bin/env bash
# Every command and flag of runtools against a real secretd over the unix
# socket, run as real users: text and --json output (checked against the
# API's own answers), every exit code, and values that must round-trip
# byte for byte.  The reference document's commands have their own test.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/runtools-lib.sh"

e2e_setup
secretd_start

A=$E2E_ALICE B=$E2E_BOB ADM=$E2E_ADMIN
OUT=$E2E_DIR/out ERR=$E2E_DIR/err
W=$E2E_DIR/work
mkdir -m 0755 "$W"

# rt USER ARGS...: the same over the test daemon's socket.
rt() {
	local user=$1
	shift
	rtx "$user" RUNTOOLS_URL="unix:$E2E_SOCK" -- "$@"
}

# err_like REGEX NAME: stderr is one line matching REGEX.
err_like() {
	local n
	n=$(wc -l <"$ERR")
	ok "$([ "$n" -ge 1 ] && head -n 1 "$ERR" | grep -qE -- "$1"; echo $?)" \
	    "$2: $(head -n 1 "$ERR" | head -c 160)"
}

# The API's view, for cross-checks: body of a GET/POST as USER.
api_body() {
	local out
	out=$(api "$@")
	body_of "$out"
}
api_status() {
	local out
	out=$(api "$@")
	status_of "$out"
}

# stored USER NAME [QUERY] FILE: the value the API reveals, raw, into FILE:
# "value" when it is text, else the bytes of "valueBase64" ("value" null).
# FILE.shape gets which of the two the API used: text, base64 or neither.
stored() {
	local user=$1 name=$2 q=${3:-} f=$4
	api "$user" POST "/v1/secrets/$name/reveal$q" | sed '$d' >"$f.json"
	jq -r 'if (.value | type) == "string" and (has("valueBase64") | not)
	    then "text" elif .value == null and (.valueBase64 | type) == "string"
	    then "base64" else "neither" end' "$f.json" >"$f.shape" 2>/dev/null ||
	    echo neither >"$f.shape"
	case $(cat "$f.shape") in
	text) jq -j .value "$f.json" >"$f" ;;
	base64) jq -j .valueBase64 "$f.json" | base64 -d >"$f" ;;
	*) : >"$f" ;;
	esac
}

# is_text FILE: whether FILE is UTF-8 without NUL, so revealed as "value".
is_text() {
	[ "$(tr -d '\000' <"$1" | wc -c)" = "$(wc -c <"$1")" ] &&
	    iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1
}

# keys JSONFILE FILTER: the sorted key list of FILTER's object.
keys() { jq -c "$2 | keys" "$1" 2>/dev/null || echo not-json; }

META_KEYS='["category","createdAt","createdBy","description","name","orgId","scope","updatedAt","updatedBy","userId","version"]'
TOKEN_KEYS='["createdAt","description","expiresAt","id","orgId","role","scopes","userId"]'

# --- set, with every flag -------------------------------------------------

rt "$A" secret set S_ARG "plain value"
rc_is 0 "set NAME VALUE"
is "$(cat "$OUT")" "created S_ARG (user, version 1)" "set prints what it created"
stored "$A" S_ARG "" "$W/v"
is "$(cat "$W/v")" "plain value" "set: the VALUE argument is stored"
is "$(api_body "$A" GET /v1/secrets/S_ARG | jq -r '[.scope,.userId,.category,.description]|join(",")')" \
    "user,$A,custom," "set: default category custom, no description, own user secret"

rt "$A" secret set S_IN --category provider --description "the desc" < <(printf 'from stdin\n')
rc_is 0 "set NAME with the value on stdin, --category, --description"
stored "$A" S_IN "" "$W/v"
is "$(od -An -c "$W/v" | tr -s ' ')" "$(printf 'from stdin' | od -An -c | tr -s ' ')" \
    "set: stdin value stored without its trailing newline"
is "$(api_body "$A" GET /v1/secrets/S_IN | jq -r '[.category,.description,.version]|join(",")')" \
    "provider,the desc,1" "set: --category and --description stored"

rt "$A" secret set S_IN "second"
rc_is 0 "set on an existing name rotates"
is "$(cat "$OUT")" "rotated S_IN (user, version 2)" "set prints the rotation"
is "$(api_body "$A" GET /v1/secrets/S_IN | jq -r '[.category,.description,.version]|join(",")')" \
    "provider,the desc,2" "set without flags keeps category and description"
rt "$A" secret set S_IN "third" --category tool --description "new desc"
is "$rc $(api_body "$A" GET /v1/secrets/S_IN | jq -r '[.category,.description,.version]|join(",")')" \
    "0 tool,new desc,3" "set with flags on an existing name changes them"

for c in provider tool agent workflow custom; do
	rt "$A" secret set "CAT_$c" v --category "$c"
	is "$rc $(api_body "$A" GET "/v1/secrets/CAT_$c" | jq -r .category)" "0 $c" \
	    "set --category $c"
done

rt "$ADM" secret set ORG_ONE "org value" --org-wide --category agent --description "shared"
rc_is 0 "set --org-wide as admin"
is "$(cat "$OUT")" "created ORG_ONE (org, version 1)" "set --org-wide prints the org scope"
is "$(api_body "$A" GET '/v1/secrets/ORG_ONE?orgWide=true' | jq -r '[.scope,(.userId|tostring),.category,.description]|join(",")')" \
    "org,null,agent,shared" "the org secret is visible to a member with its metadata"
is "$(version "$ADM" ORG_ONE)" 404 "set --org-wide made no user secret"

rt "$ADM" secret set FOR_ALICE "given by admin" --user "$A" --category tool
rc_is 0 "set --user ID as admin"
is "$(api_body "$A" GET /v1/secrets/FOR_ALICE | jq -r '[.userId,.createdBy,.category]|join(",")')" \
    "$A,$ADM,tool" "set --user writes that user's secret, created by the admin"
stored "$A" FOR_ALICE "" "$W/v"
is "$(cat "$W/v")" "given by admin" "the user can reveal what the admin set"

# A member writing another user's secret gets what the API answers.
want=$(api_status "$B" POST "/v1/secrets?user_id=$A" '{"name":"S_ARG","value":"x"}')
rt "$B" secret set S_ARG "bob was here" --user "$A"
is "$want $rc" "403 4" "set --user as a member: API 403, exit 4"
err_like '^runtools: set S_ARG: .+' "set --user as a member: one-line message"
stored "$A" S_ARG "" "$W/v"
is "$(cat "$W/v")" "plain value" "the refused set --user left the value alone"

rt "$A" secret set ORG_ONE "member try" --org-wide
rc_is 4 "set --org-wide as a member exits 4"
err_like '^runtools: set ORG_ONE: .+' "set --org-wide as a member: one-line message"
is "$(version "$A" ORG_ONE '?orgWide=true')" 1 "the refused org-wide set changed nothing"

rt "$A" --json secret set J_SET "json value" --category workflow
rc_is 0 "set --json"
is "$(keys "$OUT" .)" "$META_KEYS" "set --json prints the metadata object, exact keys"
is "$(jq -S . "$OUT")" "$(api_body "$A" GET /v1/secrets/J_SET | jq -S .)" \
    "set --json equals the API's metadata"
ok "$(! grep -q 'json value' "$OUT"; echo $?)" "set --json does not echo the value"

# --- rotate ----------------------------------------------------------------

rt "$A" secret rotate S_IN < <(printf 'rotated value\n')
rc_is 0 "rotate NAME (stdin)"
is "$(cat "$OUT")" "rotated S_IN (user, version 4)" "rotate prints the new version"
is "$(api_body "$A" GET /v1/secrets/S_IN | jq -r '[.category,.description,.version]|join(",")')" \
    "tool,new desc,4" "rotate keeps category and description"
stored "$A" S_IN "" "$W/v"
is "$(od -An -c "$W/v" | tr -s ' ')" "$(printf 'rotated value' | od -An -c | tr -s ' ')" \
    "rotate stores the stdin value without its trailing newline"

rt "$A" secret rotate NO_SUCH < <(echo nope)
rc_is 3 "rotate of a missing secret exits 3"
err_like '^runtools: rotate NO_SUCH: .+' "rotate missing: one-line message"
is "$(version "$A" NO_SUCH)" 404 "rotate of a missing secret did not create it"

rt "$ADM" secret rotate ORG_ONE --org-wide < <(echo 'org v2')
is "$rc $(api_body "$A" GET '/v1/secrets/ORG_ONE?orgWide=true' | jq -r '[.version,.category,.description]|join(",")')" \
    "0 2,agent,shared" "rotate --org-wide as admin keeps the org metadata"
rt "$ADM" secret rotate FOR_ALICE --user "$A" < <(echo 'admin v2')
rc_is 0 "rotate --user ID as admin"
stored "$A" FOR_ALICE "" "$W/v"
is "$(cat "$W/v") $(version "$A" FOR_ALICE)" "admin v2 2" "rotate --user rotated that user's secret"

rt "$A" secret rotate S_IN extra < <(echo x)
rc_is 2 "rotate takes no VALUE argument"
is "$(version "$A" S_IN)" 4 "the refused rotate changed nothing"

rt "$A" secret rotate ORG_ONE --org-wide < <(echo member)
rc_is 4 "rotate --org-wide as a member exits 4"
is "$(version "$A" ORG_ONE '?orgWide=true')" 2 "the refused org rotation changed nothing"

rt "$A" --json secret rotate J_SET < <(echo x)
is "$rc $(keys "$OUT" .) $(jq -r .version "$OUT")" "0 $META_KEYS 2" "rotate --json: metadata, version 2"

# --- get -------------------------------------------------------------------

rt "$A" secret get S_IN
rc_is 0 "get NAME"
api_body "$A" GET /v1/secrets/S_IN >"$W/meta.json"
jq -r 'to_entries[] | "\(.key): \(.value // "-")"' "$W/meta.json" | sort >"$W/want"
sort "$OUT" >"$W/got"
ok "$(cmp -s "$W/got" "$W/want"; echo $?)" "get prints every metadata field as key: value, as the API has it"
is "$(head -n 1 "$OUT")" "name: S_IN" "get: the name comes first"
ok "$(! grep -q 'rotated value' "$OUT"; echo $?)" "get without --reveal does not print the value"

rt "$A" --json secret get S_IN
is "$(keys "$OUT" .)" "$META_KEYS" "get --json: exact metadata keys"
is "$(jq -S . "$OUT")" "$(jq -S . "$W/meta.json")" "get --json equals the API's metadata"
is "$(jq -r '[(.version|type),(.userId|type),(.createdAt|test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"))]|join(",")' "$OUT" 2>/dev/null | tr -d '\n')" \
    "number,string,true" "get --json: types of version, userId and timestamps"

rt "$A" secret get S_IN --reveal
rc_is 0 "get --reveal"
ok "$(cmp -s "$OUT" <(printf 'rotated value'); echo $?)" \
    "get --reveal prints the value alone, without a newline when stdout is no terminal"
rt "$A" --json secret get S_IN --reveal
is "$(keys "$OUT" .)" "$(jq -c '. + ["value"] | sort' <<<"$META_KEYS")" "get --reveal --json: metadata plus value"
is "$(jq -S . "$OUT")" "$(api_body "$A" POST /v1/secrets/S_IN/reveal | jq -S .)" \
    "get --reveal --json equals the API's reveal"

# On a terminal the value gets a newline (script(1) provides the terminal).
timeout -k 5 "$E2E_TIMEOUT" runuser -u "$A" -- env -i PATH="$top_builddir:/usr/bin:/bin" \
    HOME=/nonexistent RUNTOOLS_URL="unix:$E2E_SOCK" \
    script -qec "runtools secret get S_IN --reveal" /dev/null >"$OUT" 2>"$ERR" </dev/null
ok "$(cmp -s "$OUT" <(printf 'rotated value\r\n'); echo $?)" "get --reveal on a terminal ends the value with a newline"

rt "$A" secret get ORG_ONE --org-wide
is "$rc $(grep -E '^(scope|userId|version): ' "$OUT" | tr '\n' ' ')" "0 scope: org userId: - version: 2 " \
    "get --org-wide prints the org secret's metadata"
rt "$A" --json secret get ORG_ONE --org-wide
is "$(jq -S . "$OUT")" "$(api_body "$A" GET '/v1/secrets/ORG_ONE?orgWide=true' | jq -S .)" \
    "get --org-wide --json equals the API's metadata"
rt "$ADM" secret get ORG_ONE --org-wide --reveal
is "$rc $(cat "$OUT")" "0 org v2" "get --org-wide --reveal as admin"
rt "$A" secret get ORG_ONE --org-wide --reveal
rc_is 4 "get --org-wide --reveal as a member exits 4 (org_reveal = admins)"
is "$(wc -c <"$OUT")" 0 "the refused reveal printed nothing on stdout"

rt "$ADM" --json secret get S_IN --user "$A"
is "$rc $(jq -r .userId "$OUT")" "0 $A" "get --user ID as admin shows that user's metadata"
is "$(jq -S . "$OUT")" "$(api_body "$ADM" GET "/v1/secrets/S_IN?user_id=$A" | jq -S .)" \
    "get --user --json equals the API's answer"
rt "$ADM" secret get S_IN --user "$A" --reveal
rc_is 2 "get --user --reveal is refused before sending (only owners reveal)"
want=$(api_status "$B" GET "/v1/secrets/S_IN?user_id=$A")
rt "$B" secret get S_IN --user "$A"
case $want in 403) w=4 ;; 404) w=3 ;; *) w="?$want" ;; esac
is "$rc" "$w" "get --user as a member exits as the API answers ($want)"
rt "$B" secret get S_IN
rc_is 3 "another member's own namespace has no such secret: exit 3"
err_like '^runtools: get S_IN: .+' "get missing: one-line message"
rt "$B" secret get S_IN --reveal
rc_is 3 "reveal of a missing secret exits 3"
rt "$B" --json secret get S_IN
is "$rc $(wc -c <"$OUT")" "3 0" "get --json of a missing secret: exit 3, nothing on stdout"
err_like '^runtools: get S_IN: .+' "get --json of a missing secret: the message on stderr"

# --- list ------------------------------------------------------------------

rt "$B" secret set BOB_ONE "b" --category tool --description "bob's, with spaces"
rt "$B" secret set BOB_CTRL "b" --description "$(printf 'ctl\033[31mred\tx')"

# table_rows FILE: the table's cells as "name|scope|category|version|updated|description"
# lines, cut at the header's column offsets; "misaligned" when a cell does
# not start exactly at its header's offset.
table_rows() {
	awk '
	NR == 1 {
		for (i = 1; i <= length($0); i++)
			if (substr($0, i, 1) != " " && (i == 1 || substr($0, i - 1, 1) == " "))
				off[++n] = i
		if (n != 6) { print "bad header: " $0; exit }
		next
	}
	{
		line = ""
		for (k = 1; k <= n; k++) {
			if (k > 1 && length($0) < off[k]) {
				# only an empty last column may be left off
				if (k < n) print "misaligned: " $0
				line = line "|"
				continue
			}
			if (k > 1 && (substr($0, off[k] - 1, 1) != " " || substr($0, off[k], 1) == " "))
				print "misaligned: " $0
			cell = k < n ? substr($0, off[k], off[k + 1] - off[k]) : substr($0, off[k])
			if (k < n) sub(/ +$/, "", cell)
			line = line (k > 1 ? "|" : "") cell
		}
		print line
	}' "$1" | sort
}

# api_rows USER QUERY [OWNERS]: the same cells from the API's list.
api_rows() {
	api_body "$1" GET "/v1/secrets?limit=1000${2:+&$2}" | jq -r --arg o "${3:-}" \
	    '.secrets[] | [.name, (if $o != "" and .userId != null then "\(.scope):\(.userId)" else .scope end),
	    .category, (.version|tostring), .updatedAt,
	    (.description | gsub("[\u0000-\u001f\u007f]"; "?"))] | join("|")' | sort
}

rt "$B" secret list
rc_is 0 "list"
is "$(head -n 1 "$OUT" | tr -s ' ')" "NAME SCOPE CATEGORY VERSION UPDATED DESCRIPTION" "list: header"
is "$(table_rows "$OUT")" "$(api_rows "$B" "")" \
    "list: every row's cells start at the header's offsets and match the API"
is "$(table_rows "$OUT" | cut -d'|' -f1,2 | tr '\n' ' ')" "BOB_CTRL|user BOB_ONE|user ORG_ONE|org " \
    "list: a member sees their own secrets and the org's"
is "$(grep -c ' $' "$OUT")" 0 "list: no trailing blanks"
ok "$(! grep -q $'\033' "$OUT"; echo $?)" "list: control characters of a description are not printed"
ok "$(grep -q '^ORG_ONE ' "$OUT"; echo $?)" "list shows the org's secrets too"

rt "$B" secret list --user-only
is "$rc $(table_rows "$OUT")" "0 $(api_rows "$B" secretScope=user)" "list --user-only: own secrets only, as the API"
ok "$(! grep -q '^ORG_ONE ' "$OUT"; echo $?)" "list --user-only leaves the org secret out"
rt "$B" secret list --org-only
is "$rc $(table_rows "$OUT")" "0 $(api_rows "$B" secretScope=org)" "list --org-only: the org's secrets only, as the API"
rt "$A" secret list --category tool
is "$rc $(table_rows "$OUT" | cut -d'|' -f1 | tr '\n' ' ')" \
    "0 $(api_rows "$A" category=tool | cut -d'|' -f1 | tr '\n' ' ')" "list --category filters as the API"
is "$(table_rows "$OUT" | cut -d'|' -f3 | sort -u)" tool "list --category tool shows only tool secrets"
rt "$A" secret list --category tool --user-only
is "$rc $(table_rows "$OUT" | cut -d'|' -f1,2 | tr '\n' ' ')" \
    "0 $(api_rows "$A" 'category=tool&secretScope=user' | cut -d'|' -f1,2 | tr '\n' ' ')" \
    "list --category with --user-only"

rt "$ADM" secret list --all-org
rc_is 0 "list --all-org as admin"
is "$(table_rows "$OUT")" "$(api_rows "$ADM" all=true owners)" \
    "list --all-org: every user's and the org's, SCOPE user:ID, aligned"
ok "$(grep -qE "^BOB_ONE +user:$B " "$OUT" && grep -qE "^S_IN +user:$A " "$OUT"; echo $?)" \
    "list --all-org names each secret's owner"
rt "$ADM" secret list --user "$A"
is "$rc $(table_rows "$OUT")" "0 $(api_rows "$ADM" "user_id=$A" owners)" "list --user ID as admin"
rt "$A" secret list --all-org
rc_is 4 "list --all-org as a member exits 4"
err_like '^runtools: list: .+' "list --all-org as a member: one-line message"

rt "$B" --json secret list
rc_is 0 "list --json"
is "$(keys "$OUT" .)" '["nextCursor","secrets"]' "list --json: {secrets, nextCursor}"
is "$(jq -c '[.secrets[] | keys] | unique' "$OUT")" "[$META_KEYS]" "list --json: every item has the metadata keys exactly"
is "$(jq -c .nextCursor "$OUT")" null "list --json: nextCursor null"
is "$(jq -S '.secrets | sort_by(.scope, .name)' "$OUT")" \
    "$(api_body "$B" GET '/v1/secrets?limit=1000' | jq -S '.secrets | sort_by(.scope, .name)')" \
    "list --json equals the API's list"
rt "$ADM" --json secret list --all-org --category tool
is "$(jq -S '.secrets | sort_by(.scope, .userId, .name)' "$OUT")" \
    "$(api_body "$ADM" GET '/v1/secrets?limit=1000&all=true&category=tool' | jq -S '.secrets | sort_by(.scope, .userId, .name)')" \
    "list --all-org --category --json equals the API's list"

# More secrets than one page (default 100): every page is followed.
for i in $(seq 1 130); do
	api "$ADM" POST /v1/secrets "$(printf '{"name":"PAGE_%03d","value":"p"}' "$i")" >/dev/null
done
rt "$ADM" --json secret list --user-only
is "$rc $(jq '[.secrets[] | select(.name | startswith("PAGE_"))] | length' "$OUT") $(jq -c .nextCursor "$OUT")" \
    "0 130 null" "list --json follows every page and merges them"
rt "$ADM" secret list --user-only
is "$(grep -c '^PAGE_' "$OUT")" 130 "list (table) follows every page"

# --- delete ----------------------------------------------------------------

rt "$A" secret delete S_ARG
is "$rc $(cat "$OUT") $(version "$A" S_ARG)" "0 deleted S_ARG 404" "delete NAME"
rt "$A" secret delete S_ARG
rc_is 3 "delete of a missing secret exits 3"
err_like '^runtools: delete S_ARG: .+' "delete missing: one-line message"
rt "$A" secret delete ORG_ONE --org-wide
rc_is 4 "delete --org-wide as a member exits 4"
is "$(version "$A" ORG_ONE '?orgWide=true')" 2 "the refused delete kept the org secret"
rt "$ADM" --json secret delete ORG_ONE --org-wide
is "$rc $(jq -c -S . "$OUT")" '0 {"deleted":true,"name":"ORG_ONE","scope":"org"}' \
    "delete --org-wide --json as admin: the API's object"
is "$(version "$A" ORG_ONE '?orgWide=true')" 404 "the org secret is gone"
want=$(api_status "$B" DELETE "/v1/secrets/FOR_ALICE?user_id=$A")
rt "$B" secret delete FOR_ALICE --user "$A"
case $want in 403) w=4 ;; 404) w=3 ;; *) w="?$want" ;; esac
is "$rc $(version "$A" FOR_ALICE)" "$w 2" "delete --user as a member exits as the API answers ($want), nothing deleted"
rt "$ADM" secret delete FOR_ALICE --user "$A"
is "$rc $(version "$A" FOR_ALICE)" "0 404" "delete --user ID as admin deletes that user's secret"
rt "$A" --json secret delete J_SET
is "$rc $(jq -c -S . "$OUT")" '0 {"deleted":true,"name":"J_SET","scope":"user"}' "delete --json"

# --- values round-trip exactly ---------------------------------------------

# roundtrip NAME EXPECTED_FILE LABEL: reveal through runtools and the API
# both give exactly the bytes of EXPECTED_FILE.
# The API reveals text as "value", other bytes (NUL, not UTF-8) as
# "valueBase64" with "value" null.
roundtrip() {
	local shape=base64
	is_text "$2" && shape=text
	rt "$A" secret get "$1" --reveal
	ok "$([ "$rc" = 0 ] && cmp -s "$OUT" "$2"; echo $?)" "$3: get --reveal gives the exact bytes"
	stored "$A" "$1" "" "$W/api"
	ok "$(cmp -s "$W/api" "$2" && [ "$(cat "$W/api.shape")" = "$shape" ]; echo $?)" \
	    "$3: the API stored the exact bytes (revealed as $shape; got $(cat "$W/api.shape"))"
}

rt "$A" secret set V_DASH -- "-starts with a dash --json"
printf '%s' "-starts with a dash --json" >"$W/e"
roundtrip V_DASH "$W/e" "a VALUE after -- may start with a dash"

# shellcheck disable=SC2016 # the $ and backquotes are part of the value
printf '%s' '  two  words, "double" and '"'"'single'"'"' quotes, back\slash \\n \t $HOME `x` ' >"$W/e"
rt "$A" secret set V_ARG "$(cat "$W/e")"
roundtrip V_ARG "$W/e" "spaces, quotes and backslashes as VALUE"
rt "$A" secret set V_IN < <(printf '%s\n' "$(cat "$W/e")")
roundtrip V_IN "$W/e" "spaces, quotes and backslashes on stdin"

printf 'line one\nline two\n\n' >"$W/e"
rt "$A" secret set V_NL_ARG $'line one\nline two\n\n'
roundtrip V_NL_ARG "$W/e" "a VALUE argument with inner and trailing newlines is kept exactly"

rt "$A" secret set V_NL_IN < <(printf 'inner\nnewline\n\n\n')
printf 'inner\nnewline\n\n' >"$W/e"
roundtrip V_NL_IN "$W/e" "stdin with three trailing newlines: exactly one dropped"
rt "$A" secret set V_NONL < <(printf 'no newline at all')
printf 'no newline at all' >"$W/e"
roundtrip V_NONL "$W/e" "stdin without a trailing newline: nothing dropped"
rt "$A" secret set V_ONLY_NL < <(printf '\n\n')
printf '\n' >"$W/e"
roundtrip V_ONLY_NL "$W/e" "stdin of two newlines stores one"
rt "$A" secret set V_CRLF < <(printf 'crlf\r\n')
printf 'crlf\r' >"$W/e"
roundtrip V_CRLF "$W/e" "only the newline is dropped, a carriage return is kept"

rt "$A" secret set V_UTF8 < <(printf 'h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x94\x91 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\n')
printf 'h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x94\x91 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e' >"$W/e"
roundtrip V_UTF8 "$W/e" "UTF-8 text"
rt "$A" secret set V_CTRL < <(printf 'nul\0inside\x01\x1f\x7f')
printf 'nul\0inside\x01\x1f\x7f' >"$W/e"
roundtrip V_CTRL "$W/e" "a NUL and other control bytes"
printf 'bad \xff utf8 \xc3\x28 \xed\xa0\x80 \xc0\xaf' >"$W/e"
rt "$A" secret set V_NOTUTF8 < <(cat "$W/e"; echo)
is "$rc $(cat "$OUT")" "0 created V_NOTUTF8 (user, version 1)" \
    "a value that is not UTF-8 is stored, not refused"
roundtrip V_NOTUTF8 "$W/e" "a value that is not UTF-8"
rt "$A" secret rotate V_NOTUTF8 < <(printf 'now text\n')
printf 'now text' >"$W/e"
is "$rc $(version "$A" V_NOTUTF8)" "0 2" "rotate of a binary value to text"
roundtrip V_NOTUTF8 "$W/e" "a binary value rotated to text"

# 64 KiB exactly: every printable ASCII byte, tab, CR, LF, NUL and
# multi-byte UTF-8, repeated.  (Mostly printable: a value's JSON escapes
# must fit the 128 KiB body limit; see the control-character case below.)
{
	printf '%b' "$(printf '\\%03o' $(seq 32 126))"
	printf '\t\r\n\0\xc3\xa9\xe2\x9c\x93\xf0\x9f\x94\x91'
} >"$W/block"
bs=$(wc -c <"$W/block")
for _ in $(seq 1 $((65536 / bs))); do cat "$W/block"; done >"$W/big"
n=$(wc -c <"$W/big")
head -c $((65536 - n)) /dev/zero | tr '\0' x >>"$W/big"
is "$(wc -c <"$W/big")" 65536 "the 64 KiB test value is 65536 bytes"
rt "$A" secret set V_BIG <"$W/big"
rc_is 0 "set 64 KiB from stdin (no trailing newline)"
roundtrip V_BIG "$W/big" "64 KiB"
is "$(rt "$A" secret get V_BIG --reveal; sha256sum <"$OUT")" "$(sha256sum <"$W/big")" "64 KiB: sha256 of the revealed value"
rt "$A" secret rotate V_BIG < <(cat "$W/big"; echo)
is "$rc $(version "$A" V_BIG)" "0 2" "rotate with 64 KiB plus a newline on stdin"
roundtrip V_BIG "$W/big" "64 KiB through rotate"
tr -d '\0' <"$W/big" >"$W/bigarg"
rt "$A" secret set V_BIGARG "$(cat "$W/bigarg")"
roundtrip V_BIGARG "$W/bigarg" "$(wc -c <"$W/bigarg") bytes as a VALUE argument"

# Refused inputs leave the stored value and version unchanged.
# refused LABEL REGEX: exit 2, a message matching REGEX, and V_BIG still
# holds $W/big at version 2.
refused() {
	rc_is 2 "$1 is refused with exit 2"
	err_like "^runtools: .*$2" "$1: one-line message"
	stored "$A" V_BIG "" "$W/api"
	ok "$(cmp -s "$W/api" "$W/big" && [ "$(version "$A" V_BIG)" = 2 ]; echo $?)" \
	    "$1: the stored value is unchanged"
}
rt "$A" secret set V_BIG < <(:)
refused "an empty value on stdin" 'empty'
rt "$A" secret set V_BIG < <(echo)
refused "a lone newline on stdin" 'empty'
rt "$A" secret set V_BIG ""
refused "an empty VALUE argument" 'empty'
rt "$A" secret set V_BIG < <(cat "$W/big"; printf x)
refused "65537 bytes on stdin" 'larger than 65536'
rt "$A" secret set V_BIG < <(cat "$W/big"; printf '\n\n')
refused "64 KiB plus two newlines on stdin (one is kept)" 'larger than 65536'
rt "$A" secret set V_BIG "$(head -c 65537 /dev/zero | tr '\0' a)"
refused "a 65537-byte VALUE argument" 'larger than 65536'
rt "$A" secret rotate V_BIG < <(:)
refused "an empty value for rotate" 'empty'
rt "$A" secret set V_BIG v --description "$(head -c 1025 /dev/zero | tr '\0' d)"
refused "a description over 1 KiB" 'description'
rt "$A" secret set V_BIG < <(head -c 65536 /dev/zero | tr '\0' '\001')
refused "64 KiB of control characters (escaped, its JSON body exceeds 128 KiB)" '(413|131072|too large)'

# --- tokens ----------------------------------------------------------------

rt "$A" token create --description "alice laptop"
rc_is 0 "token create"
tok=$(cat "$OUT")
ok "$([ "$(wc -l <"$OUT")" = 1 ] && grep -qE '^rts_[A-Za-z0-9_-]+$' "$OUT"; echo $?)" \
    "token create prints the token alone on stdout"
tid=$(jq -r '.tokens[] | select(.description == "alice laptop") | .id' <<<"$(api_body "$A" GET /v1/tokens)")
err_like "^token $tid \\(member, expires 20[0-9T:-]+Z\\)" "token create: id, role and expiry (30 days by default) on stderr"
is "$(runuser -u "$B" -- curl -s -m "$E2E_TIMEOUT" --unix-socket "$E2E_SOCK" \
    -H "Authorization: Bearer $tok" http://localhost/v1/secrets/S_IN | jq -r .userId)" "$A" \
    "the created token is alice's (it wins over bob's peer credentials)"

rt "$A" --json token create --description "json one" --ttl 3600
rc_is 0 "token create --json --ttl"
is "$(keys "$OUT" .)" "$(jq -c '. + ["token"] | sort' <<<"$TOKEN_KEYS")" "token create --json: token object keys"
is "$(jq -r '[.userId,.role,.description,(.token|startswith("rts_"))]|join(",")' "$OUT")" \
    "$A,member,json one,true" "token create --json: user, role, description"
is "$(jq -r '((.expiresAt|fromdateiso8601) - (.createdAt|fromdateiso8601))' "$OUT")" 3600 \
    "token create --ttl 3600 expires an hour after creation"
jtid=$(jq -r .id "$OUT")

rt "$A" token create --role admin
rc_is 4 "token create --role admin as a member exits 4"
rt "$ADM" --json token create --role admin --description "admin tok"
is "$rc $(jq -r .role "$OUT")" "0 admin" "token create --role admin as admin"
rt "$A" token create --role root
rc_is 2 "token create --role with a bad role exits 2"
rt "$A" token create --ttl 0
rc_is 2 "token create --ttl 0 exits 2"
rt "$A" token create --ttl abc
rc_is 2 "token create --ttl abc exits 2"

rt "$A" token list
rc_is 0 "token list"
is "$(head -n 1 "$OUT" | tr -s ' ')" "ID USER ROLE CREATED EXPIRES SCOPES DESCRIPTION" "token list: header"
ok "$(grep -qE "^$tid +$A +member +[0-9T:-]+Z +[0-9T:-]+Z +all +alice laptop$" "$OUT"; echo $?)" \
    "token list: a row per token with its fields"
ok "$(! grep -q rts_ "$OUT"; echo $?)" "token list never prints a token secret"
rt "$A" --json token list
is "$(keys "$OUT" .)" '["nextCursor","tokens"]' \
    "token list --json: the pages merged, as secret list does: {tokens, nextCursor}"
is "$(jq -c .nextCursor "$OUT")" null "token list --json: nextCursor null"
is "$(jq -c '[.tokens[] | keys] | unique' "$OUT")" "[$TOKEN_KEYS]" "token list --json: token objects without secrets"
is "$(jq -S '.tokens | sort_by(.id)' "$OUT")" "$(api_body "$A" GET /v1/tokens | jq -S '.tokens | sort_by(.id)')" \
    "token list --json equals the API's list"

rt "$A" token revoke "$tid"
is "$rc $(cat "$OUT")" "0 revoked $tid" "token revoke ID"
is "$(runuser -u "$B" -- curl -s -m "$E2E_TIMEOUT" -o /dev/null -w '%{http_code}' --unix-socket "$E2E_SOCK" \
    -H "Authorization: Bearer $tok" http://localhost/v1/secrets)" 401 "the revoked token no longer works"
rtx "$B" RUNTOOLS_URL="unix:$E2E_SOCK" RUNTOOLS_TOKEN="$tok" -- secret list
rc_is 4 "runtools with a revoked token exits 4"
rt "$A" token revoke "$tid"
rc_is 3 "token revoke of a revoked token exits 3"
rt "$A" --json token revoke "$jtid"
is "$rc $(jq -c -S . "$OUT")" "0 {\"id\":\"$jtid\",\"revoked\":true}" "token revoke --json"
rt "$A" token revoke
rc_is 2 "token revoke without ID exits 2"

# --- global options, environment, help and version --------------------------

rtx "$A" RUNTOOLS_URL=unix:/nonexistent -- --url "unix:$E2E_SOCK" secret get S_IN --reveal
is "$rc $(cat "$OUT")" "0 rotated value" "--url wins over RUNTOOLS_URL"
rtx "$A" -- --url "unix:$E2E_SOCK" secret get S_IN --reveal
is "$rc $(cat "$OUT")" "0 rotated value" "--url alone"
rtx "$A" -- secret get S_IN --reveal --url "unix:$E2E_SOCK"
is "$rc $(cat "$OUT")" "0 rotated value" "--url after the command's arguments"
rtx "$A" RUNTOOLS_URL="unix:$E2E_SOCK" -- secret get S_IN --reveal
is "$rc $(cat "$OUT")" "0 rotated value" "RUNTOOLS_URL alone"
rt "$A" secret get S_IN --json
is "$rc $(jq -r .name "$OUT")" "0 S_IN" "--json after the command's arguments"

rtx "$A" -- --url unix:/nonexistent secret list
rc_is 1 "an unreachable socket exits 1"
err_like '^runtools: list: .*(/nonexistent|connect)' "unreachable socket: one-line message naming it"
rtx "$A" RUNTOOLS_URL=unix:/nonexistent -- secret get S_IN
rc_is 1 "an unreachable RUNTOOLS_URL exits 1"
rtx "$A" -- --url http://127.0.0.1:1 secret list
rc_is 2 "a plain http URL is refused with exit 2"
rtx "$A" -- --url "ftp:$E2E_SOCK" secret list
rc_is 2 "a URL of another scheme is refused with exit 2"

ver=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
rtx "$A" -- --version
is "$rc $(cat "$OUT")" "0 runtools $ver" "--version"

# Help needs no server: the URL points nowhere.
for words in "" "secret" "token" "secret set" "secret rotate" "secret list" \
    "secret get" "secret delete" "token create" "token list" "token revoke"; do
	# shellcheck disable=SC2086
	rtx "$A" RUNTOOLS_URL=unix:/nonexistent -- $words --help
	ok "$([ "$rc" = 0 ] && [ ! -s "$ERR" ] && head -n 1 "$OUT" | grep -q "^usage: runtools "; echo $?)" \
	    "runtools $words --help: exit 0, usage on stdout"
	case $words in
	*" "*)
		ok "$(head -n 1 "$OUT" | grep -q "^usage: runtools $words"; echo $?)" \
		    "runtools $words --help: that command's synopsis" ;;
	esac
done
rtx "$A" -- secret set -h
ok "$([ "$rc" = 0 ] && grep -q -- '--org-wide' "$OUT" && grep -q -- '--category' "$OUT"; echo $?)" \
    "secret set -h lists its flags"
rtx "$A" -- help
ok "$([ "$rc" = 0 ] && grep -q 'runtools token revoke' "$OUT"; echo $?)" "runtools help lists every command"
rtx "$A" -- --help
ok "$(grep -q 'Exit status' "$OUT" && grep -q RUNTOOLS_TOKEN "$OUT"; echo $?)" "--help documents exit codes and the token variables"

# --- usage errors: exit 2, nothing sent -------------------------------------

before=$(snapshot)
# usage LABEL ARGS...: exit 2, message and hint on stderr, nothing on stdout.
usage() {
	local label=$1
	shift
	rt "$ADM" "$@" </dev/null
	ok "$([ "$rc" = 2 ] && [ ! -s "$OUT" ] && head -n 1 "$ERR" | grep -q '^runtools: ' &&
	    grep -q "^Try 'runtools .*--help'" "$ERR"; echo $?)" \
	    "$label: exit 2 with a usage message (rc $rc: $(head -n 1 "$ERR" | head -c 100))"
}
usage "no command"
usage "an unknown command" frobnicate
usage "an unknown secret command" secret frob
usage "an unknown token command" token frob
usage "a missing secret command" secret
usage "an unknown flag" secret list --bogus
usage "an unknown global flag" --bogus secret list
usage "a --token flag does not exist" secret list --token rts_x
usage "a --token flag does not exist, before the command" --token rts_x secret list
usage "set without NAME" secret set
usage "get without NAME" secret get
usage "delete without NAME" secret delete
usage "rotate without NAME" secret rotate
usage "set with too many arguments" secret set N v extra
usage "an invalid secret name" secret set 1BAD v
usage "a secret name with a dash" secret get BAD-NAME
usage "a bad category" secret set N v --category nope
usage "a bad category for list" secret list --category nope
usage "--user-only with --org-only" secret list --user-only --org-only
usage "--user-only with --all-org" secret list --user-only --all-org
usage "--org-wide with --user" secret get N --org-wide --user "$E2E_ALICE"
usage "a flag of another command" secret list --reveal
usage "--reveal for set" secret set N v --reveal
usage "--category for get" secret get N --category tool
usage "--url without a value" secret list --url
usage "an invalid --user" secret list --user 'a b'
is "$(snapshot)" "$before" "the refused command lines changed nothing in the store"

secretd_finish

done_testing
