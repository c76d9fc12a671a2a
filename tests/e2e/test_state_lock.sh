#!/usr/bin/env bash
# One daemon a state folder: a second secretd on the same state_dir but
# another socket is refused at start, naming the first one's pid; init is
# refused beside a daemon; rotate-key and rewrap run beside it, one at a
# time; the lock is held by the daemon, daemonized too, and by none of
# its children.  Kills only the processes this test started, by pid.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE

e2e_setup
ST=$E2E_DIR/state
STATE=$(cd "$ST" && pwd -P)

create() {
	runuser -u "$A" -- curl -s -m "$E2E_TIMEOUT" -o /dev/null \
	    -w '%{http_code}' --unix-socket "$1" \
	    -H 'Content-Type: application/json' \
	    --data-binary "{\"name\":\"$2\",\"value\":\"$3\"}" \
	    http://localhost/v1/secrets
}
# reveal SOCKET NAME: the value, or the status when it is not 200.
reveal() {
	local out
	out=$(runuser -u "$A" -- curl -s -m "$E2E_TIMEOUT" -w '\n%{http_code}' \
	    -X POST --unix-socket "$1" "http://localhost/v1/secrets/$2/reveal")
	[ "$(status_of "$out")" = 200 ] || { status_of "$out"; return; }
	body_of "$out" | jq -r '.value'
}
# state_listing: every file of the state folder with mode, size, mtime
# and content hash.
state_listing() {
	(cd "$ST" && find . -printf '%p %m %u %s %T@\n' | sort &&
	    find . -type f -exec sha256sum {} + | sort)
}
# holds_lock PID: PID has the state folder's lock file open.
holds_lock() {
	ls -l "/proc/$1/fd" 2>/dev/null | grep -qF -- "-> $STATE/lock"
}

secretd_start
FIRST=$SECRETD_PID
is "$(create "$E2E_SOCK" one v-one)" 201 "the first daemon stores a secret"
is "$(tr -d '\n' <"$ST/lock")" "$FIRST" "the lock file names the daemon's pid"

# --- a second daemon: same state_dir, another socket and port ---
CONF2=$E2E_DIR/second.conf
SOCK2=$E2E_DIR/second.sock
PORT2=$(free_port)
sed -e 's/^socket = .*/socket = second.sock/' \
    -e "s/^listen = .*/listen = 127.0.0.1:$PORT2/" "$E2E_CONF" >"$CONF2"
before=$(snapshot)
"$SECRETD" -f -c "$CONF2" >"$E2E_DIR/second.log" 2>&1 &
second=$!
for _ in $(seq 100); do
	kill -0 "$second" 2>/dev/null || break
	sleep 0.05
done
if kill -0 "$second" 2>/dev/null; then
	ok 1 "a second daemon on the same state folder exits at start (still running)"
	# Ours: stop it by its pid.
	kill -TERM "$second"
	wait "$second"
	ok 1 "the second daemon exits non-zero"
else
	ok 0 "a second daemon on the same state folder exits at start"
	wait "$second"
	rc=$?
	ok "$([ "$rc" -ne 0 ]; echo $?)" "the second daemon exits non-zero ($rc)"
fi
ok "$(grep -qF "state folder $STATE is in use by secretd pid $FIRST" \
    "$E2E_DIR/second.log"; echo $?)" \
    "it says the state folder is in use by secretd pid $FIRST: $(head -n 1 "$E2E_DIR/second.log")"
ok "$([ ! -e "$SOCK2" ]; echo $?)" "the second daemon made no socket"
is "$(reveal "$E2E_SOCK" one)" v-one "the first daemon still serves its data"
is "$(create "$E2E_SOCK" two v-two)" 201 "the first daemon still writes"
is "$(snapshot | grep -v '"two"')" "$before" "the first daemon's data is untouched"
ok "$(kill -0 "$FIRST"; echo $?)" "the first daemon still runs"

# --- the children do not hold the lock ---
fe=$(frontend_pid)
runner=$(pgrep -P "$FIRST" -f secretd-runner | head -n 1)
ok "$(holds_lock "$FIRST"; echo $?)" "the broker holds the lock file open"
ok "$([ -n "$fe" ] && ! holds_lock "$fe"; echo $?)" \
    "the front-end (pid ${fe:-none}) does not hold the lock file"
ok "$([ -n "$runner" ] && ! holds_lock "$runner"; echo $?)" \
    "the runner (pid ${runner:-none}) does not hold the lock file"

# --- init beside the daemon ---
before=$(state_listing)
sleep 1.1	# a rewritten file would show a new mtime
"$SECRETD" init -c "$E2E_CONF" >"$E2E_DIR/init.out" 2>&1
rc=$?
ok "$([ "$rc" -ne 0 ]; echo $?)" "init on a running state folder refuses (exit $rc)"
ok "$(grep -qF "in use by secretd pid $FIRST" "$E2E_DIR/init.out"; echo $?)" \
    "init names the daemon's pid: $(head -n 1 "$E2E_DIR/init.out")"
is "$(state_listing)" "$before" "init changed nothing in the state folder"

# --- rotate-key and rewrap run beside the daemon ---
"$SECRETD" rotate-key -c "$E2E_CONF" >"$E2E_DIR/rotate.out" 2>&1
is "$?" 0 "rotate-key runs beside the daemon: $(head -n 1 "$E2E_DIR/rotate.out")"
"$SECRETD" rewrap -c "$E2E_CONF" >"$E2E_DIR/rewrap.out" 2>&1
is "$?" 0 "rewrap runs beside the daemon: $(head -n 1 "$E2E_DIR/rewrap.out")"
is "$(reveal "$E2E_SOCK" one) $(reveal "$E2E_SOCK" two)" "v-one v-two" \
    "the daemon reads what rewrap re-sealed"

# Another key operation under way: a holder of the maintenance lock that
# wrote its pid, as rotate-key and rewrap do.
rm -f "$E2E_DIR/held"
(
	exec 9<>"$ST/maintenance.lock"
	flock -n 9 || exit 1
	echo "$BASHPID" >"$ST/maintenance.lock"
	: >"$E2E_DIR/held"
	exec sleep 60
) &
holder=$!
for _ in $(seq 100); do [ -e "$E2E_DIR/held" ] && break; sleep 0.05; done
"$SECRETD" rewrap -c "$E2E_CONF" >"$E2E_DIR/rewrap2.out" 2>&1
rc=$?
ok "$([ "$rc" -ne 0 ]; echo $?)" "a rewrap beside another key operation refuses (exit $rc)"
ok "$(grep -qF "in use by secretd pid $holder" "$E2E_DIR/rewrap2.out"; echo $?)" \
    "it names the other's pid: $(head -n 1 "$E2E_DIR/rewrap2.out")"
"$SECRETD" rotate-key -c "$E2E_CONF" >"$E2E_DIR/rotate2.out" 2>&1
rc=$?
ok "$([ "$rc" -ne 0 ] && grep -qF "in use by secretd pid $holder" \
    "$E2E_DIR/rotate2.out"; echo $?)" \
    "so does rotate-key (exit $rc): $(head -n 1 "$E2E_DIR/rotate2.out")"
kill -TERM "$holder"
wait "$holder" 2>/dev/null
"$SECRETD" rewrap -c "$E2E_CONF" >"$E2E_DIR/rewrap3.out" 2>&1
is "$?" 0 "once it finished, rewrap runs: $(head -n 1 "$E2E_DIR/rewrap3.out")"

# Two at once: each either runs or refuses, never both refused.
"$SECRETD" rewrap -c "$E2E_CONF" >"$E2E_DIR/c1.out" 2>&1 &
c1=$!
"$SECRETD" rotate-key -c "$E2E_CONF" >"$E2E_DIR/c2.out" 2>&1 &
c2=$!
wait "$c1"; r1=$?
wait "$c2"; r2=$?
ok "$( { [ "$r1" -eq 0 ] || grep -q "is in use by" "$E2E_DIR/c1.out"; } &&
    { [ "$r2" -eq 0 ] || grep -q "is in use by" "$E2E_DIR/c2.out"; } &&
    [ $((r1 + r2)) -lt 2 ]; echo $?)" \
    "rewrap and rotate-key at once: each ran or was refused ($r1 $r2):" \
    "$(cat "$E2E_DIR/c1.out" "$E2E_DIR/c2.out" | tr '\n' ' ')"

# --- once the first stops, the second starts ---
secretd_finish first
E2E_CONF=$CONF2 E2E_SOCK=$SOCK2 secretd_start
SECOND=$SECRETD_PID
E2E_SOCK=$SOCK2
is "$(reveal "$SOCK2" one) $(reveal "$SOCK2" two)" "v-one v-two" \
    "after the first stopped, the second daemon starts and serves the data"
is "$(tr -d '\n' <"$ST/lock")" "$SECOND" "the lock file names the second daemon"
secretd_finish second

# --- daemonized: the lock survives daemon()'s fork ---
"$SECRETD" -c "$CONF2" >"$E2E_DIR/bg.log" 2>&1
is "$?" 0 "the daemon starts in the background"
for _ in $(seq 200); do
	curl -s -m 1 -o /dev/null --unix-socket "$SOCK2" \
	    http://localhost/v1/health 2>/dev/null && break
	sleep 0.05
done
bg=$(tr -d '\n' <"$ST/lock")
# What the test stops at the end: the pid in the lock file, or else the
# process running this binary on this test's own config.
bgrun=$(pgrep -xf "$SECRETD -c $CONF2" | head -n 1)
ok "$([ -n "$bg" ] && [ "$(cat "/proc/$bg/comm" 2>/dev/null)" = secretd ] &&
    holds_lock "$bg"; echo $?)" \
    "the lock file names the running, daemonized broker (pid ${bg:-none}), which holds it"
"$SECRETD" -f -c "$E2E_CONF" >"$E2E_DIR/third.log" 2>&1 &
third=$!
for _ in $(seq 100); do kill -0 "$third" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$third" 2>/dev/null; then
	kill -TERM "$third"
	wait "$third"
	ok 1 "a daemon beside the daemonized one exits at start (still running)"
else
	wait "$third"
	rc=$?
	ok "$([ "$rc" -ne 0 ] && grep -qF "in use by secretd pid $bg" \
	    "$E2E_DIR/third.log"; echo $?)" \
	    "a daemon beside the daemonized one refuses, naming it (exit $rc)"
fi
# The daemonized broker is ours: stop it by its pid.
[ -n "$bg" ] && [ "$(cat "/proc/$bg/comm" 2>/dev/null)" = secretd ] ||
    bg=$bgrun
if [ -n "$bg" ]; then
	kill -TERM "$bg"
	for _ in $(seq 200); do kill -0 "$bg" 2>/dev/null || break; sleep 0.05; done
fi
ok "$([ -n "$bg" ] && ! kill -0 "$bg" 2>/dev/null; echo $?)" \
    "the daemonized broker (pid ${bg:-none}) stopped on SIGTERM"

done_testing
