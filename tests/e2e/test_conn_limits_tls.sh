#!/usr/bin/env bash
# One TLS client address cannot take the connections other clients need:
# with max_connections_per_address = 8, 127.0.0.1 holding 8 connections
# that never finish their handshake is closed at once on a ninth, while a
# client from 127.0.0.2 is served; the count frees as they close.
# Owns its temp state folder, its daemon and the holder process it starts.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE
CAP=8

# Opens N TCP connections to HOST:PORT from SRC and sends nothing (a TLS
# handshake that never starts), writes its pid to PIDFILE, says "ready"
# and waits to be killed.
HOLD='
import os, socket, sys, time
host, port, src, n, pidfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    int(sys.argv[4]), sys.argv[5]
held = [socket.create_connection((host, port), source_address=(src, 0))
    for i in range(n)]
with open(pidfile, "w") as f:
    f.write("%d\n" % os.getpid())
print("ready", flush=True)
time.sleep(120)
'

fe_conns() {
	find "/proc/$(frontend_pid)/fd" -lname 'socket:*' 2>/dev/null | wc -l
}

# hold SRC N: N connections from SRC until unhold; returns once the
# front-end has accepted them all.
hold() {
	local before end
	before=$(fe_conns)
	python3 -c "$HOLD" 127.0.0.1 "$E2E_PORT" "$1" "$2" "$E2E_DIR/hold.pid" \
	    >"$E2E_DIR/hold.out" 2>&1 &
	end=$((SECONDS + 5))
	while [ "$SECONDS" -lt "$end" ]; do
		grep -q ready "$E2E_DIR/hold.out" &&
		    [ "$(fe_conns)" -ge $((before + $2)) ] && return 0
		sleep 0.05
	done
	return 1
}

unhold() {
	local pid
	pid=$(cat "$E2E_DIR/hold.pid" 2>/dev/null)
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# from SRC TOKEN PATH: GET over TLS from source address SRC; prints the
# body, then the status (000: no HTTP answer), then curl's exit code.
from() {
	local args=(-s -m "$E2E_TIMEOUT" -w '\n%{http_code}' --cacert "$E2E_CA" \
	    --interface "$1")
	[ -n "$2" ] && args+=(-H "Authorization: Bearer $2")
	local rc=0
	curl "${args[@]}" "$E2E_URL$3" || rc=$?
	printf '\n%s\n' "$rc"
}

e2e_setup "max_connections_per_address = $CAP"
secretd_start
TA=$(token_create "$A" '{"description":"alice tls"}')
ok "$([ -n "$TA" ]; echo $?)" "fixture: alice has a token"
is "$(from 127.0.0.2 "$TA" /v1/secrets | sed -n '$!p' | tail -n 1)" 200 \
    "control: a client from 127.0.0.2 is served over TLS"

ok "$(hold 127.0.0.1 "$CAP"; echo $?)" \
    "127.0.0.1 holds $CAP connections that never start TLS"
out=$(from 127.0.0.1 "$TA" /v1/secrets)
is "$(printf '%s\n' "$out" | sed -n '$!p' | tail -n 1)" 000 \
    "a ninth connection from 127.0.0.1 gets no HTTP answer"
rc=$(printf '%s\n' "$out" | tail -n 1)
ok "$([ "$rc" -ne 0 ] && [ "$rc" -ne 28 ]; echo $?)" \
    "it is closed at once, not left to time out (curl exit $rc)"
is "$(from 127.0.0.2 "$TA" /v1/secrets | sed -n '$!p' | tail -n 1)" 200 \
    "a client from 127.0.0.2 is still served"
is "$(from 127.0.0.2 "" /v1/health | sed -n '$!p' | tail -n 1)" 200 \
    "health from 127.0.0.2 answers"
is "$(status_of "$(api "$A" GET /v1/secrets)")" 200 \
    "the unix socket is not held to the TLS address's cap"
ok "$(grep -q 'over max_connections_per_address, the last from 127\.0\.0\.1' \
    "$E2E_DIR/secretd.log"; echo $?)" "the refusal is logged with the address"

unhold
end=$((SECONDS + 5))
while [ "$SECONDS" -lt "$end" ]; do
	[ "$(from 127.0.0.1 "$TA" /v1/secrets | sed -n '$!p' | tail -n 1)" = 200 ] &&
	    break
	sleep 0.1
done
is "$(from 127.0.0.1 "$TA" /v1/secrets | sed -n '$!p' | tail -n 1)" 200 \
    "once they close, 127.0.0.1 is served again"

secretd_finish
done_testing
