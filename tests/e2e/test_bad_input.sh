#!/usr/bin/env bash
# Hostile and broken input (DESIGN sections 3 and 8): the right 4xx JSON
# error each time, the daemon serving on and the store unchanged.
# Owns its temp state folder and daemon; never talks to anything but them.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE
REQUEST_TIMEOUT=10	# the daemon's per-request timeout, in seconds
no_reqid=""

# bad WHO METHOD PATH BODY "STATUS CODE[|STATUS CODE...]" NAME [CURL_ARGS...]:
# the answer is one of the listed JSON errors, and the store is unchanged
# (which also shows the daemon still serves).
bad() {
	local who=$1 m=$2 p=$3 body=$4 want=$5 name=$6 before after out got
	shift 6
	before=$(snapshot)
	out=$(apix "$who" "$m" "$p" "$body" "$@")
	after=$(snapshot)
	got="$(status_of "$out") $(body_of "$out" | jq -r 'if (.error | type) == "object" and
	    (.error.message | type) == "string" and (.error.requestId | type) == "string"
	    then .error.code else "bad-error-shape" end' 2>/dev/null || echo not-json)"
	[ -n "$(header X-Request-Id)" ] || no_reqid="$no_reqid $name;"
	if [[ "|$want|" == *"|$got|"* ]]; then
		ok 0 "$name: $got"
	else
		ok 1 "$name"
		echo "#   got:  $got $(body_of "$out" | head -c 200)"
		echo "#   want: $want"
	fi
	ok "$([[ $before == *'"name"'* ]] && [ "$after" = "$before" ]; echo $?)" \
	    "  and the daemon serves on, the store unchanged"
}

# put NAME_JSON: a create body with that (already JSON-encoded) name.
put() { printf '{"name":%s,"value":"v"}' "$1"; }

# raw WHO: send stdin as one HTTP request over the unix socket as WHO, print
# the response's status line and body (half-close after sending).
raw() {
	runuser -u "$1" -- socat -t 5 - "UNIX-CONNECT:$E2E_SOCK"
}

e2e_setup
secretd_start
api "$A" POST /v1/secrets '{"name":"KEEP","value":"k","category":"tool"}' >/dev/null
api root POST /v1/secrets '{"name":"ORG_KEEP","value":"o","orgWide":true}' >/dev/null
ok "$([[ $(snapshot) == *KEEP*ORG_KEEP* || $(snapshot) == *ORG_KEEP*KEEP* ]]; echo $?)" \
    "fixture: a user and an org secret"

# --- names ---
long=$(printf 'N%.0s' $(seq 1 129))
bad "$A" POST /v1/secrets "$(put '"../x"')" "400 invalid_request" "name ../x"
bad "$A" POST /v1/secrets "$(put '"%2e%2e"')" "400 invalid_request" "name %2e%2e"
bad "$A" POST /v1/secrets "$(put '".."')" "400 invalid_request" "name .."
bad "$A" POST /v1/secrets "$(put '"a/b"')" "400 invalid_request" "name a/b"
bad "$A" POST /v1/secrets "$(put '""')" "400 invalid_request" "empty name"
bad "$A" POST /v1/secrets "$(put "\"$long\"")" "400 invalid_request" "name of 129 characters"
bad "$A" POST /v1/secrets "$(put '"A\u0000B"')" "400 invalid_request" "name with NUL"
bad "$A" POST /v1/secrets "$(put '"NAÏVE"')" "400 invalid_request" "non-ASCII name"
bad "$A" POST /v1/secrets "$(put '"KEEP\u00e9"')" "400 invalid_request" "an existing name plus a non-ASCII letter"
bad "$A" POST /v1/secrets "$(put '"1ABC"')" "400 invalid_request" "name starting with a digit"
bad "$A" POST /v1/secrets "$(put '"A-B"')" "400 invalid_request" "name with a dash"
bad "$A" POST /v1/secrets "$(put '"KEEP "')" "400 invalid_request" "name with a trailing space"
bad "$A" POST /v1/secrets "$(put 42)" "400 invalid_request" "name that is a number"
bad "$A" GET '/v1/secrets/%2e%2e' - "400 invalid_request" "GET /v1/secrets/%2e%2e"
bad "$A" GET '/v1/secrets/../x' - "400 invalid_request|404 not_found" \
    "GET /v1/secrets/../x (path as is)" --path-as-is
bad "$A" GET '/v1/secrets/a%2Fb' - "400 invalid_request|404 not_found" "GET /v1/secrets/a%2Fb"
bad "$A" GET '/v1/secrets/KEEP%00x' - "400 invalid_request" "GET a name with %00"
bad "$A" GET '/v1/secrets/NA%C3%8FVE' - "400 invalid_request" "GET a non-ASCII name"
bad "$A" GET "/v1/secrets/$long" - "400 invalid_request" "GET a name of 129 characters"
bad "$A" DELETE '/v1/secrets/%2e%2e' - "400 invalid_request" "DELETE /v1/secrets/%2e%2e"
bad "$A" DELETE '/v1/secrets/KEEP%00' - "400 invalid_request" "DELETE KEEP%00 (must not delete KEEP)"
bad "$A" POST '/v1/secrets/KEEP%20/reveal' - "400 invalid_request" "reveal 'KEEP ' (a name with a space)"
out=$(api "$A" POST /v1/secrets "$(put "\"${long%N}\"")")
is "$(status_of "$out")" 201 "control: a name of 128 characters is accepted"
api "$A" DELETE "/v1/secrets/${long%N}" >/dev/null

# --- categories, values, descriptions, fields ---
bad "$A" POST /v1/secrets '{"name":"X","value":"v","category":"secret"}' \
    "400 invalid_request" "unknown category"
bad "$A" POST /v1/secrets '{"name":"X","value":"v","category":"Tool"}' \
    "400 invalid_request" "category in the wrong case"
bad "$A" POST /v1/secrets '{"name":"X","value":""}' "400 invalid_request" "empty value"
bad "$A" POST /v1/secrets '{"name":"KEEP","value":""}' "400 invalid_request" \
    "empty value for an existing name (no rotate)"
head -c 65537 /dev/zero | tr '\0' 'v' >"$E2E_DIR/v65537"
bad "$A" POST /v1/secrets "{\"name\":\"KEEP\",\"value\":\"$(cat "$E2E_DIR/v65537")\"}" \
    "413 too_large|400 invalid_request" "value of 64 KiB + 1 byte"
bad "$A" POST /v1/secrets "{\"name\":\"KEEP\",\"value\":\"$(head -c 65536 "$E2E_DIR/v65537")\",\"description\":\"$(head -c 1025 "$E2E_DIR/v65537")\"}" \
    "413 too_large|400 invalid_request" "description of 1 KiB + 1 byte"
bad "$A" POST /v1/secrets '{"name":"X","value":7}' "400 invalid_request" "value that is a number"
bad "$A" POST /v1/secrets '{"name":"X","value":null}' "400 invalid_request" "value null"
bad "$A" POST /v1/secrets '{"value":"v"}' "400 invalid_request" "name missing"
bad "$A" POST /v1/secrets '{"name":"X"}' "400 invalid_request" "value missing"
bad "$A" POST /v1/secrets '{"name":"X","value":"v","color":"red"}' \
    "400 invalid_request" "unknown field"
bad "$A" POST /v1/secrets '{"name":"X","value":"v","orgwide":true}' \
    "400 invalid_request" "a field name in the wrong case"
bad "$A" POST /v1/secrets '{"name":"X","value":"v","orgWide":"yes"}' \
    "400 invalid_request" "orgWide that is not a boolean"
bad "$A" POST /v1/secrets '{"name":"X","value":"v","name":"KEEP"}' \
    "400 invalid_request" "a field given twice"
bad "$A" POST /v1/tokens '{"description":"t","ttlSeconds":-5}' \
    "400 invalid_request" "token with a negative lifetime"
bad "$A" GET '/v1/secrets?colour=red' - "400 invalid_request" "unknown query option"
bad "$A" GET '/v1/secrets?all=maybe' - "400 invalid_request" "all= neither true nor false"
head -c 65536 /dev/zero | tr '\0' 'v' >"$E2E_DIR/v65536"
out=$(api "$A" POST /v1/secrets "{\"name\":\"BIG\",\"value\":\"$(cat "$E2E_DIR/v65536")\"}")
is "$(status_of "$out")" 201 "control: a value of exactly 64 KiB is accepted"
out=$(api "$A" POST /v1/secrets/BIG/reveal)
is "$(body_of "$out" | jq -j .value | md5sum)" "$(md5sum <"$E2E_DIR/v65536")" \
    "control: and comes back whole"
api "$A" DELETE /v1/secrets/BIG >/dev/null

# --- bodies ---
# From a file: one argument of that size is more than exec passes on.
{ printf '{"name":"KEEP","value":"'; head -c 140000 /dev/zero | tr '\0' 'v'; printf '"}'; } \
    >"$E2E_DIR/big.json"
chmod 0644 "$E2E_DIR/big.json"
bad "$A" POST /v1/secrets - "413 too_large" "body over 128 KiB" \
    -H 'Content-Type: application/json' --data-binary "@$E2E_DIR/big.json"
{ printf '{"name":"KEEP","value":"'; head -c 131000 /dev/zero | tr '\0' 'v'; printf '"}'; } \
    >"$E2E_DIR/big.json"
bad "$A" POST /v1/secrets - "413 too_large" "body just over 128 KiB (131 kB)" \
    -H 'Content-Type: application/json' --data-binary "@$E2E_DIR/big.json"
# The API takes no chunked body, whatever its size (411 before any of it
# is read); a server that reads it would have to refuse this one as 413.
bad "$A" POST /v1/secrets - "413 too_large|411 length_required" \
    "body over 128 KiB, chunked (no Content-Length)" \
    -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    --data-binary "@$E2E_DIR/big.json"
bad "$A" POST /v1/secrets '{"name":"X","value":' "400 invalid_request" "truncated JSON"
bad "$A" POST /v1/secrets 'name=X&value=v' "400 invalid_request" "not JSON"
bad "$A" POST /v1/secrets '["X","v"]' "400 invalid_request" "a JSON array, not an object"
bad "$A" POST /v1/secrets '{"name":"X","value":"v"} {}' "400 invalid_request" \
    "JSON followed by more"
bad "$A" POST /v1/secrets $'{"name":"X","value":"\xff\xfe"}' "400 invalid_request" \
    "a value that is not UTF-8"
deep="{\"name\":\"X\",\"value\":\"v\",\"description\":$(printf '[%.0s' $(seq 1 1000))$(printf ']%.0s' $(seq 1 1000))}"
bad "$A" POST /v1/secrets "$deep" "400 invalid_request" "JSON nested 1000 deep"
deep="$(printf '{"a":%.0s' $(seq 1 1000))1$(printf '}%.0s' $(seq 1 1000))"
bad "$A" POST /v1/secrets "$deep" "400 invalid_request" "objects nested 1000 deep"
bad "$A" POST /v1/secrets - "415 unsupported_media_type" "Content-Type text/plain" \
    --data-binary '{"name":"X","value":"v"}' -H 'Content-Type: text/plain'
bad "$A" POST /v1/secrets - "415 unsupported_media_type" "no Content-Type" \
    --data-binary '{"name":"X","value":"v"}' -H 'Content-Type:'
bad "$A" POST /v1/secrets - "415 unsupported_media_type" "a form post" \
    --data-urlencode 'name=X' --data-urlencode 'value=v'
bad "$A" POST /v1/secrets/KEEP/reveal - "415 unsupported_media_type" \
    "reveal with a non-JSON body" --data-binary x -H 'Content-Type: text/plain'

# --- tokens ---
expired=$(token_create "$A" '{"description":"short","ttlSeconds":1}')
revoked=$(api "$A" POST /v1/tokens '{"description":"to revoke"}' | sed '$d')
api "$A" DELETE "/v1/tokens/$(printf '%s\n' "$revoked" | jq -r .id)" >/dev/null
revoked=$(printf '%s\n' "$revoked" | jq -r .token)
foreign=$(foreign_token)
ok "$([[ $expired == rts_* && $revoked == rts_* && $foreign == rts_* ]]; echo $?)" \
    "tokens to refuse: expired, revoked, from another org"
sleep 1.5
bad tls: GET /v1/secrets - "401 unauthenticated" "TLS without a token"
bad tls: POST /v1/secrets '{"name":"X","value":"v"}' "401 unauthenticated" \
    "TLS create with a malformed token" -H 'Authorization: Bearer not a token'
bad tls: GET /v1/secrets - "401 unauthenticated" "TLS with Authorization: Token ..." \
    -H "Authorization: Token $revoked"
bad "tls:$expired" POST /v1/secrets '{"name":"X","value":"v"}' "401 unauthenticated" "expired token"
bad "tls:$revoked" POST /v1/secrets '{"name":"X","value":"v"}' "401 unauthenticated" "revoked token"
bad "tls:$foreign" POST /v1/secrets '{"name":"X","value":"v","orgWide":true}' \
    "401 unauthenticated" "another org's admin token"

# --- headers and framing ---
pad=$(head -c 9000 /dev/zero | tr '\0' 'h')
bad "$A" GET /v1/secrets - "431 too_large|413 too_large|400 invalid_request" \
    "one header over 8 KiB" -H "X-Pad: $pad"
hdrs=()
for i in $(seq 1 200); do hdrs+=(-H "X-Pad-$i: $(head -c 50 /dev/zero | tr '\0' 'h')"); done
bad "$A" GET /v1/secrets - "431 too_large|413 too_large|400 invalid_request" \
    "200 headers of 50 bytes (over 8 KiB)" "${hdrs[@]}"

before=$(snapshot)
smuggle='{"name":"SMUGGLED","value":"s"}'
resp=$(printf 'POST /v1/secrets HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n' \
    "${#smuggle}" "$smuggle" | raw "$A")
line=$(printf '%s\n' "$resp" | head -n 1 | tr -d '\r')
rbody=$(printf '%s\n' "$resp" | tr -d '\r' | sed '1,/^$/d' | head -n 1)
is "$(echo "$line" | awk '{ print $2 }') $(printf '%s\n' "$rbody" | jq -r .error.code 2>/dev/null)" \
    "400 invalid_request" "both Content-Length and Transfer-Encoding: 400 JSON error ($line)"
is "$(snapshot)" "$before" "  and nothing was created"
resp=$(printf 'POST /v1/secrets HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\nContent-Length: 2\r\n\r\n%s' \
    "${#smuggle}" "$smuggle" | raw "$A")
line=$(printf '%s\n' "$resp" | head -n 1 | tr -d '\r')
is "$(echo "$line" | awk '{ print $2 }')" 400 "two different Content-Length headers: 400 ($line)"
is "$(snapshot)" "$before" "  and nothing was created"
resp=$(printf 'GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' | raw "$A")
is "$(printf '%s\n' "$resp" | head -n 1 | tr -d '\r' | awk '{ print $2 }')" 200 \
    "control: a well-formed raw request over socat is served"

# --- a client sending one byte a second ---
# socat ends when the daemon closes the connection; its end time, not the
# writer's, is when the client was cut off.
slow_req='GET /v1/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n'
t0=$(date +%s%3N)
(
	s=$(printf "$slow_req"; echo .)
	s=${s%.}
	for ((i = 0; i < ${#s}; i++)); do
		printf '%s' "${s:i:1}"
		sleep 1
	done 2>/dev/null | timeout $((REQUEST_TIMEOUT + 15)) \
	    socat -t 1 - "UNIX-CONNECT:$E2E_SOCK" >"$E2E_DIR/slow.out" 2>&1
	date +%s%3N >"$E2E_DIR/slow.end"
) &
SLOW=$!
served=0
slowest=0
for _ in $(seq 1 6); do
	sleep 1
	t=$(date +%s%3N)
	st=$(api "$E2E_BOB" GET /v1/secrets | tail -n 1)
	d=$(($(date +%s%3N) - t))
	[ "$st" = 200 ] && served=$((served + 1))
	[ "$d" -gt "$slowest" ] && slowest=$d
done
is "$served" 6 "while a client trickles one byte a second, others are served"
ok "$([ "$slowest" -lt 1000 ]; echo $?)" "  promptly (slowest ${slowest} ms)"
wait "$SLOW"
cut=$(( ($(cat "$E2E_DIR/slow.end") - t0) / 1000 ))
ok "$([ "$cut" -ge $((REQUEST_TIMEOUT - 2)) ] && [ "$cut" -le $((REQUEST_TIMEOUT + 3)) ]; echo $?)" \
    "the slow client is cut off at the ${REQUEST_TIMEOUT} s request timeout (after ${cut} s)"
is "$(head -c 12 "$E2E_DIR/slow.out" | grep -c ' 200')" 0 "  and was never answered 200"
# --- failed authentication is rate limited per source ---
codes=""
for i in $(seq 1 30); do
	fake="rts_$(openssl rand -hex 8)_$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n')"
	out=$(apix "tls:$fake" GET /v1/secrets)
	st=$(status_of "$out")
	codes="$codes $st"
	[ "$st" = 429 ] && break
done
is "$(printf '%s\n' "$codes" | tr ' ' '\n' | sort -u | grep . | paste -sd' ')" "401 429" \
    "guessing tokens from one address: 401s, then 429 ($(echo $codes | wc -w) tries)"
is_error "$out" 429 rate_limited "  the 429 is the JSON error rate_limited"
ok "$([ "$i" -le 21 ]; echo $?)" "  within 20 failures"
is "$(api "$A" GET /v1/secrets | tail -n 1)" 200 \
    "  while a local user on the unix socket is still served"

is "$no_reqid" "" "every refused request's answer carried X-Request-Id"
is "$(api "$A" GET /v1/health | tail -n 1)" 200 "the daemon serves on after all of it"

secretd_finish

done_testing
