#!/usr/bin/env bash
# The TLS listener's protocol policy, each refusal first shown possible for
# this client against a permissive openssl s_server on the same certificate.
# Owns its temp state folder, daemon and that s_server; loopback only.
. "$top_srcdir/tests/e2e/lib.sh"

# Client-side, allow the old protocols; the server must be the one saying no.
LEGACY='DEFAULT:@SECLEVEL=0'
CBC_ONLY="$(openssl ciphers -v 'ALL:@SECLEVEL=0' |
    awk '$2 != "TLSv1.3" && $6 != "Mac=AEAD" { print $1 }' | paste -sd:):@SECLEVEL=0"

# hs PORT ARGS...: one handshake with openssl s_client, stdin closed; prints
# "PROTOCOL CIPHER" when it completed, "failed" otherwise.
hs() {
	local port=$1 out
	shift
	out=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$port" \
	    -servername localhost "$@" 2>&1)
	local proto cipher
	# "New, <version>, Cipher is <suite>" comes right after the handshake;
	# the session block with the exact protocol may not (TLS 1.3 sends it
	# with a ticket after the client already closed).
	cipher=$(printf '%s\n' "$out" | awk '/^New, / { print $5; exit }')
	proto=$(printf '%s\n' "$out" | awk '/^ *Protocol *:/ { print $3; exit }')
	[ -n "$proto" ] ||
	    proto=$(printf '%s\n' "$out" | awk '/^New, / { sub(/,$/, "", $2); print $2; exit }')
	if [ -n "$proto" ] && [ -n "$cipher" ] && [ "$cipher" != "(NONE)" ]; then
		echo "$proto $cipher"
	else
		echo failed
	fi
}

# reneg PORT: asks for a TLS 1.2 renegotiation; prints "renegotiated" when
# a second handshake completed.
reneg() {
	local out
	out=$( (sleep 1; printf 'R\n'; sleep 2) | timeout 10 openssl s_client \
	    -connect "127.0.0.1:$1" -tls1_2 -verify_return_error \
	    -CAfile "$E2E_CA" -servername localhost 2>&1)
	if printf '%s\n' "$out" | sed -n '/^RENEGOTIATING/,$p' |
	    grep -q '^verify return:1'; then
		echo renegotiated
	else
		echo refused
	fi
}

e2e_setup
secretd_start
P=$E2E_PORT

# A permissive server with the same certificate: what this client can do.
CP=$(free_port)
openssl s_server -accept "127.0.0.1:$CP" -cert "$E2E_CA" \
    -key "$E2E_DIR/state/tls.key" -cipher 'ALL:@SECLEVEL=0' \
    -client_renegotiation -www </dev/null >"$E2E_DIR/s_server.log" 2>&1 &
CONTROL_PID=$!
stop_control() { kill "$CONTROL_PID" 2>/dev/null; wait "$CONTROL_PID" 2>/dev/null; }
trap 'stop_control; e2e_teardown' EXIT
for _ in $(seq 1 50); do
	[ "$(hs "$CP" -tls1_3)" != failed ] && break
	sleep 0.1
done

c=$(hs "$CP" -tls1 -cipher "$LEGACY")
ok "$([[ $c == TLSv1\ * ]]; echo $?)" "control: this client can speak TLS 1.0 ($c)"
is "$(hs "$P" -tls1 -cipher "$LEGACY")" failed "a TLS 1.0 handshake with the daemon fails"
c=$(hs "$CP" -tls1_1 -cipher "$LEGACY")
ok "$([[ $c == TLSv1.1\ * ]]; echo $?)" "control: this client can speak TLS 1.1 ($c)"
is "$(hs "$P" -tls1_1 -cipher "$LEGACY")" failed "a TLS 1.1 handshake with the daemon fails"

c=$(hs "$CP" -tls1_2 -cipher "$CBC_ONLY")
ok "$([[ $c == TLSv1.2\ * ]]; echo $?)" "control: this client can negotiate a CBC suite in TLS 1.2 ($c)"
is "$(hs "$P" -tls1_2 -cipher "$CBC_ONLY")" failed \
    "a TLS 1.2 client offering only CBC suites is refused"
is "$(hs "$P" -tls1_2 -cipher 'AES128-GCM-SHA256:AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:@SECLEVEL=0')" \
    failed "a TLS 1.2 client offering AEAD without ECDHE is refused"

c=$(hs "$P" -tls1_2)
ok "$([[ $c =~ ^TLSv1\.2\ ECDHE-(RSA|ECDSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$ ]]; echo $?)" \
    "TLS 1.2 works, with an ECDHE + AEAD suite ($c)"
c=$(hs "$P" -tls1_3)
ok "$([[ $c == TLSv1.3\ TLS_* ]]; echo $?)" "TLS 1.3 works ($c)"
out=$(curl -s -w '\n%{http_code}' --tlsv1.3 --cacert "$E2E_CA" "$E2E_URL/v1/health")
is "$(status_of "$out") $(body_of "$out" | jq -c .)" '200 {"status":"ok"}' \
    "an HTTPS request over TLS 1.3, certificate verified for 127.0.0.1"
out=$(curl -s -w '\n%{http_code}' --tlsv1.2 --tls-max 1.2 --cacert "$E2E_CA" \
    "$E2E_URL/v1/health")
is "$(status_of "$out")" 200 "an HTTPS request over TLS 1.2"

# Server preference: the same suite whichever order the client offers.
fwd='ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384'
rev=$(echo "$fwd" | tr ':' '\n' | tac | paste -sd:)
c1=$(hs "$P" -tls1_2 -cipher "$fwd")
c2=$(hs "$P" -tls1_2 -cipher "$rev")
ok "$([ "$c1" != failed ] && [ "$c1" = "$c2" ]; echo $?)" \
    "the server's cipher preference wins ($c1 / $c2)"

out=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$P" -tls1_2 -comp 2>&1)
is "$(printf '%s\n' "$out" | grep -m1 '^Compression:')" "Compression: NONE" \
    "no TLS compression, even when the client offers it"

is "$(reneg "$CP")" renegotiated "control: this client can renegotiate"
is "$(reneg "$P")" refused "a client-initiated renegotiation is refused"
out=$(curl -s -w '\n%{http_code}' --tlsv1.3 --cacert "$E2E_CA" "$E2E_URL/v1/health")
is "$(status_of "$out")" 200 "the daemon still serves after the refused handshakes"

secretd_finish

done_testing
