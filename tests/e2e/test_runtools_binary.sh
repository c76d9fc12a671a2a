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

secretd_finish
done_testing
