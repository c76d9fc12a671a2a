#!/usr/bin/env bash
# One TLS client address cannot take the connections other clients need.
# In a network namespace of its own (so that it may give its loopback
# interface addresses of its own): with max_connections_per_address = 8,
# 10.77.0.2 holding 8 connections that never start TLS is closed at once
# on a ninth while 10.77.0.3 is served; every loopback address counts as
# one peer, so 127.0.0.2 cannot add to what 127.0.0.1 holds; and under a
# low descriptor limit the daemon still serves, keeping a quarter of its
# connections for unix clients however many TLS addresses a flood uses.
. "$top_srcdir/tests/e2e/lib.sh"

require_root
if [ -z "${E2E_IN_NETNS:-}" ]; then
	if ! unshare --net -- true 2>/dev/null; then
		echo "1..0 # SKIP cannot make a network namespace (unshare --net)"
		exit 0
	fi
	exec env E2E_IN_NETNS=1 unshare --net -- "$BASH" "$0" "$@"
fi
ip link set lo up
ip addr add 10.77.0.2/32 dev lo
ip addr add 10.77.0.3/32 dev lo

A=$E2E_ALICE
CAP=8

# Opens N TCP connections to 127.0.0.1:PORT from SRC and sends nothing
# (a TLS handshake that never starts), writes its pid to PIDFILE, says
# "ready" and waits to be killed.  Sources may be a list, used in turn.
HOLD='
import os, socket, sys, time
port, srcs, n, pidfile = int(sys.argv[1]), sys.argv[2].split(","), \
    int(sys.argv[3]), sys.argv[4]
held = [socket.create_connection(("127.0.0.1", port),
    source_address=(srcs[i % len(srcs)], 0)) for i in range(n)]
with open(pidfile, "w") as f:
    f.write("%d\n" % os.getpid())
print("ready", flush=True)
time.sleep(120)
'

fe_conns() {
	find "/proc/$(frontend_pid)/fd" -lname 'socket:*' 2>/dev/null | wc -l
}

# hold SRCS N: N connections from SRCS until unhold; returns once the
# front-end has seen them all (accepted, or accepted and closed).
hold() {
	python3 -c "$HOLD" "$E2E_PORT" "$1" "$2" "$E2E_DIR/hold.pid" \
	    >"$E2E_DIR/hold.out" 2>&1 &
	local end=$((SECONDS + 5))
	while [ "$SECONDS" -lt "$end" ]; do
		grep -q ready "$E2E_DIR/hold.out" && { sleep 0.3; return 0; }
		sleep 0.05
	done
	return 1
}

unhold() {
	local pid
	pid=$(cat "$E2E_DIR/hold.pid" 2>/dev/null)
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$E2E_DIR/hold.pid"
}

# from SRC TOKEN PATH: GET over TLS from source address SRC; prints the
# status (000: no HTTP answer), then curl's exit code.
from() {
	local args=(-s -o /dev/null -m "$E2E_TIMEOUT" -w '%{http_code}' \
	    --cacert "$E2E_CA" --interface "$1")
	[ -n "$2" ] && args+=(-H "Authorization: Bearer $2")
	local rc=0 code
	code=$(curl "${args[@]}" "$E2E_URL$3") || rc=$?
	printf '%s %s\n' "$code" "$rc"
}

e2e_setup "max_connections_per_address = $CAP"
secretd_start
TA=$(token_create "$A" '{"description":"alice tls"}')
ok "$([ -n "$TA" ]; echo $?)" "fixture: alice has a token"
is "$(from 10.77.0.2 "$TA" /v1/secrets | cut -d' ' -f1)" 200 \
    "control: a client from 10.77.0.2 is served over TLS"

ok "$(hold 10.77.0.2 "$CAP"; echo $?)" \
    "10.77.0.2 holds $CAP connections that never start TLS"
out=$(from 10.77.0.2 "$TA" /v1/secrets)
is "${out% *}" 000 "a ninth connection from 10.77.0.2 gets no HTTP answer"
rc=${out#* }
ok "$([ "$rc" -ne 0 ] && [ "$rc" -ne 28 ]; echo $?)" \
    "it is closed at once, not left to time out (curl exit $rc)"
is "$(from 10.77.0.3 "$TA" /v1/secrets | cut -d' ' -f1)" 200 \
    "a client from 10.77.0.3 is still served"
is "$(status_of "$(api "$A" GET /v1/secrets)")" 200 \
    "the unix socket is not held to the TLS address's cap"
ok "$(grep -q 'over max_connections_per_address, the last from 10\.77\.0\.2' \
    "$E2E_DIR/secretd.log"; echo $?)" "the refusal is logged with the address"
unhold
end=$((SECONDS + 5))
while [ "$SECONDS" -lt "$end" ]; do
	[ "$(from 10.77.0.2 "$TA" /v1/secrets | cut -d' ' -f1)" = 200 ] && break
	sleep 0.1
done
is "$(from 10.77.0.2 "$TA" /v1/secrets | cut -d' ' -f1)" 200 \
    "once they close, 10.77.0.2 is served again"

ok "$(hold 127.0.0.1,127.0.0.3,127.0.0.4,127.0.0.5 "$CAP"; echo $?)" \
    "four loopback addresses hold $CAP connections between them"
is "$(from 127.0.0.2 "$TA" /v1/secrets | cut -d' ' -f1)" 000 \
    "a fifth loopback address is refused: loopback is one peer"
is "$(from 10.77.0.3 "$TA" /v1/secrets | cut -d' ' -f1)" 200 \
    "another address is still served"
unhold
secretd_finish "per-address cap"

# 128 descriptors leave the front-end 64 connections (the broker keeps
# 64 for itself), 48 of them for TLS.
sed -i '/^max_connections_per_address/d' "$E2E_CONF"
echo "max_connections_per_address = 1000" >>"$E2E_CONF"
prlimit --nofile=128:128 "$SECRETD" -f -c "$E2E_CONF" \
    >>"$E2E_DIR/secretd.log" 2>&1 &
SECRETD_PID=$!
end=$((SECONDS + 10))
until curl -s -m 1 -o /dev/null --unix-socket "$E2E_SOCK" \
    http://localhost/v1/health || [ "$SECONDS" -ge "$end" ]; do sleep 0.1; done
is "$(status_of "$(api "$A" GET /v1/secrets)")" 200 \
    "under a hard limit of 128 descriptors the daemon serves"
ok "$(grep -q 'serving 64 connections' "$E2E_DIR/secretd.log"; echo $?)" \
    "and says how many connections it can serve"
srcs=$(seq -f '10.77.1.%g' 1 80 | paste -sd,)
for i in $(seq 1 80); do ip addr add "10.77.1.$i/32" dev lo; done
ok "$(hold "$srcs" 80; echo $?)" "80 TLS addresses try to hold a connection each"
held=$(fe_conns)
ok "$([ "$held" -ge 48 ] && [ "$held" -le 51 ]; echo $?)" \
    "TLS got three quarters of the 64 and no more ($held sockets, 3 of them ours)"
is "$(status_of "$(api "$A" GET /v1/secrets)") $(status_of "$(api "$E2E_BOB" GET /v1/secrets)")" \
    "200 200" "unix clients are still served"
unhold
secretd_finish "low descriptor limit"
done_testing
