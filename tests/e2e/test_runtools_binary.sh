#!/usr/bin/env bash
# Values from files exactly, binary values and name-prefix listing, against
# a real secretd as real users: --file keeps every byte (NULs, invalid
# UTF-8, a final newline) and reveal gives them back byte for byte;
# "valueBase64" over the API (POST and reveal), with both fields, neither
# or invalid base64 refused and nothing stored; "prefix" listing with
# pagination, and prefixes that are not name characters refused.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/runtools-lib.sh"

e2e_setup
secretd_start

A=$E2E_ALICE B=$E2E_BOB
OUT=$E2E_DIR/out ERR=$E2E_DIR/err
W=$E2E_DIR/work
mkdir -m 0755 "$W"

rt() {
	local user=$1
	shift
	rtx "$user" RUNTOOLS_URL="unix:$E2E_SOCK" -- "$@"
}

same() {
	ok "$(cmp -s "$1" "$2"; echo $?)" "$3: $(cmp "$1" "$2" 2>&1 | head -c 160)"
}

# --- --file: binary, byte for byte ----------------------------------------

head -c 4096 /dev/urandom >"$W/bin"
# NULs at the start, the middle and the end, and a byte never in UTF-8.
printf '\000\377\000' | dd of="$W/bin" bs=1 seek=0 conv=notrunc 2>/dev/null
printf '\000\000' | dd of="$W/bin" bs=1 seek=2000 conv=notrunc 2>/dev/null
printf '\000' | dd of="$W/bin" bs=1 seek=4095 conv=notrunc 2>/dev/null
chmod 0644 "$W/bin"
is "$(stat -c %s "$W/bin")" 4096 "the binary file has 4096 bytes"

rt "$A" secret set KEYSTORE --file "$W/bin"
rc_is 0 "set --file of 4 KiB of random bytes with NULs"
is "$(cat "$OUT")" "created KEYSTORE (user, version 1)" "set --file reports created"
rt "$A" secret get KEYSTORE --reveal
rc_is 0 "get --reveal of the binary secret"
same "$OUT" "$W/bin" "reveal writes the 4096 bytes back, byte for byte"

out=$(api "$A" POST /v1/secrets/KEYSTORE/reveal)
is "$(status_of "$out")" 200 "reveal over the API: 200"
is "$(body_of "$out" | jq -c '.value')" null "binary reveal: \"value\" is null"
body_of "$out" | jq -j .valueBase64 | base64 -d >"$W/api.bin"
same "$W/api.bin" "$W/bin" "binary reveal: valueBase64 decodes to the bytes"
is "$(body_of "$out" | jq -r '.name + " " + (.version|tostring)')" \
    "KEYSTORE 1" "binary reveal keeps the metadata"

head -c 1000 /dev/urandom >"$W/bin2"
printf '\000' >>"$W/bin2"
chmod 0644 "$W/bin2"
rt "$A" secret rotate KEYSTORE --file "$W/bin2"
rc_is 0 "rotate --file"
is "$(cat "$OUT")" "rotated KEYSTORE (user, version 2)" "rotate --file reports rotated"
rt "$A" secret get KEYSTORE --reveal
same "$OUT" "$W/bin2" "rotate --file: the new bytes come back exactly"

# --- --file: text keeps its final newline; stdin still drops one ----------

printf 'line one\nline two\n' >"$W/text"
chmod 0644 "$W/text"
rt "$A" secret set TEXTFILE --file "$W/text"
rc_is 0 "set --file of a text file"
rt "$A" secret get TEXTFILE --reveal
same "$OUT" "$W/text" "--file keeps the final newline"
is "$(api "$A" POST /v1/secrets/TEXTFILE/reveal | sed '$d' | jq -c '[.value, .valueBase64]')" \
    '["line one\nline two\n",null]' "text reveal: \"value\" only"

rtx "$A" RUNTOOLS_URL="unix:$E2E_SOCK" -- secret set STDINVAL < "$W/text"
rc_is 0 "set from standard input"
rt "$A" secret get STDINVAL --reveal
printf 'line one\nline two' >"$W/want"
same "$OUT" "$W/want" "standard input still drops one final newline"

printf 'a\n\n' >"$W/nl2"
chmod 0644 "$W/nl2"
rt "$A" secret set NL2 --file "$W/nl2"
rt "$A" secret get NL2 --reveal
same "$OUT" "$W/nl2" "--file keeps two final newlines"

: >"$W/empty"
chmod 0644 "$W/empty"
rt "$A" secret set EMPTYF --file "$W/empty"
rc_is 2 "an empty --file is a usage error"
is "$(version "$A" EMPTYF)" 404 "nothing stored for an empty file"
rt "$A" secret set MISSINGF --file "$W/nonexistent"
rc_is 2 "a missing --file is a usage error"
rt "$A" secret set BOTHF VALUE --file "$W/text"
rc_is 2 "VALUE and --file together are refused"
is "$(version "$A" BOTHF)" 404 "nothing stored for VALUE with --file"
head -c 65537 /dev/zero >"$W/big"
chmod 0644 "$W/big"
rt "$A" secret set BIGF --file "$W/big"
rc_is 2 "a --file over 64 KiB is refused"
head -c 65536 /dev/urandom >"$W/max"
chmod 0644 "$W/max"
rt "$A" secret set MAXF --file "$W/max"
rc_is 0 "a 64 KiB binary --file is stored"
rt "$A" secret get MAXF --reveal
same "$OUT" "$W/max" "the 64 KiB binary value comes back exactly"

# A file other users cannot read is read as the caller, not as anyone else.
chmod 0600 "$W/bin"
rt "$B" secret set STOLEN --file "$W/bin"
rc_is 2 "--file is opened as the caller (bob cannot read alice's file)"

# --- valueBase64 over the API ---------------------------------------------

out=$(api "$A" POST /v1/secrets '{"name":"B64","valueBase64":"AP8AYWJj"}')
is "$(status_of "$out")" 201 "POST valueBase64: 201"
is "$(body_of "$out" | jq -c 'has("value") or has("valueBase64")')" false \
    "the POST reply has no value"
out=$(api "$A" POST /v1/secrets/B64/reveal)
is "$(body_of "$out" | jq -c '[.value, .valueBase64]')" '[null,"AP8AYWJj"]' \
    "reveal gives the same base64 back"
out=$(api "$A" POST /v1/secrets '{"name":"B64TXT","valueBase64":"aGVsbG8="}')
is "$(status_of "$out")" 201 "POST valueBase64 of text: 201"
is "$(api "$A" POST /v1/secrets/B64TXT/reveal | sed '$d' | jq -c '[.value, .valueBase64]')" \
    '["hello",null]' "text sent as base64 is revealed as \"value\""
out=$(api "$A" POST /v1/secrets '{"name":"B64","valueBase64":"AQID"}')
is "$(status_of "$out")" 200 "POST valueBase64 rotates: 200"
is "$(body_of "$out" | jq .version)" 2 "rotated to version 2"

before=$(snapshot)
is_error "$(api "$A" POST /v1/secrets '{"name":"BOTH","value":"x","valueBase64":"eA=="}')" \
    400 invalid_request "value and valueBase64 together: 400"
is_error "$(api "$A" POST /v1/secrets '{"name":"NEITHER"}')" \
    400 invalid_request "neither value nor valueBase64: 400"
for bad in 'eA' 'eA=' 'e===' '====' 'eA==eA==' 'eB==' 'e A=' 'eA==\n' '!!!!' \
    'eA=A' 'AAAA-___'; do
	is_error "$(api "$A" POST /v1/secrets "{\"name\":\"BADB64\",\"valueBase64\":\"$bad\"}")" \
	    400 invalid_request "invalid base64 '$bad': 400"
done
is_error "$(api "$A" POST /v1/secrets '{"name":"EMPTYB64","valueBase64":""}')" \
    400 invalid_request "empty valueBase64: 400"
is_error "$(api "$A" POST /v1/secrets '{"name":"NUMB64","valueBase64":12}')" \
    400 invalid_request "valueBase64 not a string: 400"
big=$(head -c 65537 /dev/zero | base64 -w0)
is_error "$(api "$A" POST /v1/secrets "{\"name\":\"BIGB64\",\"valueBase64\":\"$big\"}")" \
    413 too_large "valueBase64 over 64 KiB decoded: 413"
is "$(snapshot)" "$before" "nothing was stored by the refused requests"

# --- prefix listing --------------------------------------------------------

# bob: 120 names starting with PFX_, 130 around them (before and after
# in key order, and names the prefix is itself a prefix of in part).
for i in $(seq -w 1 120); do echo "PFX_$i"; done >"$W/match"
{ for i in $(seq -w 1 60); do echo "PFW_$i"; echo "PFY_$i"; done
  for i in $(seq 1 10); do echo "PF$i"; done; } >"$W/other"
cat "$W/match" "$W/other" | while read -r n; do
	status_of "$(api "$B" POST /v1/secrets "{\"name\":\"$n\",\"value\":\"v\"}")"
done | sort | uniq -c | tr -s ' ' >"$W/posts"
is "$(cat "$W/posts")" " 250 201" "bob created 250 secrets"
api "$A" POST /v1/secrets '{"name":"PFX_ALICE","value":"v"}' >/dev/null
api root POST /v1/secrets '{"name":"PFX_ORG","value":"v","orgWide":true}' >/dev/null

# pages USER QUERY: every name over the pages of QUERY, one a line; the
# number of pages in $npages.
pages() {
	local cursor="" out q
	npages=0
	: >"$W/names"
	while :; do
		q="$2"
		[ -n "$cursor" ] && q="$q&cursor=$cursor"
		out=$(api "$1" GET "$q")
		[ "$(status_of "$out")" = 200 ] || { echo "page failed: $out"; return; }
		npages=$((npages + 1))
		body_of "$out" | jq -r '.secrets[] | .name' >>"$W/names"
		cursor=$(body_of "$out" | jq -r '.nextCursor // empty | @uri')
		[ -n "$cursor" ] || break
		[ "$npages" -lt 20 ] || break
	done
}

pages "$B" "/v1/secrets?prefix=PFX_&limit=50&secretScope=user"
is "$npages" 3 "prefix PFX_ with limit 50: 3 pages"
is "$(sort "$W/names" | tr '\n' ' ')" "$(sort "$W/match" | tr '\n' ' ')" \
    "the 3 pages hold exactly the 120 PFX_ names, each once"
pages "$B" "/v1/secrets?prefix=PFX_&limit=50"
is "$npages" 3 "prefix PFX_ with the org's secrets too: 3 pages"
is "$(wc -l <"$W/names")" 121 "bob's 120 and the org's PFX_ORG"
ok "$(grep -qx PFX_ORG "$W/names"; echo $?)" "the org's PFX_ORG is listed"
ok "$(! grep -qx PFX_ALICE "$W/names"; echo $?)" "alice's PFX_ALICE is not listed to bob"
pages root "/v1/secrets?all=true&prefix=PFX_&limit=50"
is "$(sort "$W/names" | tr '\n' ' ')" \
    "$(sort "$W/match" <(echo PFX_ALICE) <(echo PFX_ORG) | tr '\n' ' ')" \
    "all=true with a prefix: every user's and the org's PFX_ names"
is "$npages" 3 "all=true with a prefix: 3 pages of 50"
pages root "/v1/secrets?all=true&prefix=PFX_&limit=7&secretScope=user"
is "$(wc -l <"$W/names") $(sort -u "$W/names" | wc -l)" "121 121" \
    "all users, prefix, pages of 7: 121 names, none twice"
pages "$B" "/v1/secrets?prefix=PFX_1&limit=1000"
is "$(tr '\n' ' ' <"$W/names")" "$(seq -f 'PFX_%03g' 100 120 | tr '\n' ' ')" \
    "prefix PFX_1: PFX_100 to PFX_120, in name order"
pages "$B" "/v1/secrets?prefix=PF1"
is "$(tr '\n' ' ' <"$W/names")" "PF1 PF10 " "prefix PF1: PF1 and PF10"
pages "$B" "/v1/secrets?prefix=NONE_SUCH"
is "$(wc -l <"$W/names")" 0 "a prefix nothing starts with: an empty list"

for bad in 'PF-' 'PF%20' '1PF' 'P%2FF' 'PF%00' "$(printf 'P%.0s' $(seq 1 129))" ''; do
	is_error "$(api "$B" GET "/v1/secrets?prefix=$bad")" 400 invalid_request \
	    "prefix '${bad:0:20}': 400"
done

rt "$B" secret list --user-only --prefix PFX_ --limit 50
rc_is 0 "runtools secret list --prefix --limit"
is "$(grep -c '^PFX_' "$OUT")" 50 "--limit 50: 50 rows"
ok "$(grep -q 'raise --limit' "$ERR"; echo $?)" "--limit says there are more"
rt "$B" secret list --user-only --prefix PFX_1
is "$(grep -c '^PFX_1' "$OUT")" 21 "--prefix PFX_1: 21 rows, every page"
rt "$B" secret list --prefix 'P-X'
rc_is 2 "--prefix with a non-name character: usage error"
rt "$B" secret list --limit 0
rc_is 2 "--limit 0: usage error"

secretd_finish
done_testing
