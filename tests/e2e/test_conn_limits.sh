#!/usr/bin/env bash
# One local user cannot take the connections other users need: with
# max_connections_per_uid = 8, a user holding 8 half-sent requests gets a
# JSON 429 on one more, token or not, while another user is served; the
# count frees as the held connections close, and a flood of refusals is
# logged as a count, not line by line.
# Owns its temp state folder, its daemon and the holder process it starts.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE B=$E2E_BOB
CAP=8

# Opens N unix connections to PATH, each with a request head that never
# ends, writes its pid to PIDFILE, says "ready" and waits to be killed.
HOLD='
import os, socket, sys, time
path, n, pidfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
held = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b"GET /v1/secrets HTTP/1.1\r\nHost: localhost\r\n")
    held.append(s)
with open(pidfile, "w") as f:
    f.write("%d\n" % os.getpid())
print("ready", flush=True)
time.sleep(120)
'

# fe_conns: how many sockets the front-end holds open.
fe_conns() {
	find "/proc/$(frontend_pid)/fd" -lname 'socket:*' 2>/dev/null | wc -l
}

# hold USER N: USER holds N half-sent requests until unhold; returns once
# the front-end has accepted them all.
hold() {
	local before end
	before=$(fe_conns)
	: >"$E2E_DIR/hold.pid"
	chmod 0666 "$E2E_DIR/hold.pid"
	runuser -u "$1" -- python3 -c "$HOLD" "$E2E_SOCK" "$2" \
	    "$E2E_DIR/hold.pid" >"$E2E_DIR/hold.out" 2>&1 &
	HOLD_RUNUSER=$!
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
	wait "$HOLD_RUNUSER" 2>/dev/null
}

# refusals: the broker log's lines about refusals over the per-uid cap.
refusals() {
	grep -c 'refused [0-9]* connections\? over max_connections_per_uid' \
	    "$E2E_DIR/secretd.log"
}

e2e_setup "max_connections_per_uid = $CAP"
secretd_start
api "$A" POST /v1/secrets '{"name":"MINE","value":"v"}' >/dev/null
TA=$(token_create "$A" '{"description":"alice"}')
ok "$([ -n "$TA" ]; echo $?)" "fixture: alice has a secret and a token"

ok "$(hold "$A" "$CAP"; echo $?)" \
    "alice holds $CAP half-sent requests (the front-end accepted them all)"

out=$(apix "$A" GET /v1/secrets)
is_error "$out" 429 rate_limited "alice's request on connection $((CAP + 1)) is a JSON 429"
is "$(body_of "$out" | jq -r .error.message)" "too many connections from this user" \
    "the 429 says why"
rid=$(header X-Request-Id)
is "$rid" "$(body_of "$out" | jq -r .error.requestId)" \
    "the 429 carries X-Request-Id, the same as its requestId"
is "$(header Connection)" close "the 429 closes the connection"
out=$(apix "$A" GET /v1/secrets - -H "Authorization: Bearer $TA")
is_error "$out" 429 rate_limited "a token does not lift alice's per-uid cap"

out=$(api "$B" GET /v1/secrets)
is "$(status_of "$out")" 200 "bob is served while alice is at her cap"
out=$(api "$B" POST /v1/secrets '{"name":"BOBS","value":"b"}')
is "$(status_of "$out")" 201 "bob can write while alice is at her cap"
is "$(status_of "$(api root GET /v1/health)")" 200 "health answers as root"

# A flood of refusals is counted, not logged once per connection.
for i in $(seq 1 30); do api "$A" GET /v1/health >/dev/null; done
n=$(refusals)
ok "$([ "$n" -ge 1 ] && [ "$n" -le 3 ]; echo $?)" \
    "32 refusals make $n log line(s) over max_connections_per_uid"
ok "$(grep -q "over max_connections_per_uid, the last from uid $(id -u "$A")" \
    "$E2E_DIR/secretd.log"; echo $?)" "the log line names alice's uid"

unhold
end=$((SECONDS + 5))
while [ "$SECONDS" -lt "$end" ]; do
	[ "$(status_of "$(api "$A" GET /v1/secrets/MINE)")" = 200 ] && break
	sleep 0.1
done
is "$(status_of "$(api "$A" GET /v1/secrets/MINE)")" 200 \
    "once her held connections close, alice is served again"

# Exactly the cap: CAP - 1 held and one more request is served.
ok "$(hold "$A" $((CAP - 1)); echo $?)" "alice holds $((CAP - 1)) half-sent requests"
is "$(status_of "$(api "$A" GET /v1/secrets/MINE)")" 200 \
    "her connection number $CAP is still served"
unhold

secretd_finish
done_testing
