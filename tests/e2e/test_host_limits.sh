#!/usr/bin/env bash
# Limits the host imposes: a hard descriptor limit below what the daemon
# asks for, without CAP_SYS_RESOURCE, is taken with a warning and the
# daemon serves; a front-end or runner that can never start makes the
# broker give up and exit non-zero with the cause in its log; a broker
# killed with SIGKILL takes its front-end and runner with it at once, so
# that a new daemon can bind the socket and the port.  Owns its temp state
# folder and the daemons it starts, which are the only processes it kills,
# by pid.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE
LOW=64			# hard RLIMIT_NOFILE: below the old floor of 80
GIVE_UP_S=45		# 10 failed starts under backoff take about 17 s

now_ms() { date +%s%3N; }

# alive PID: running, not a zombie waiting for its reaper.
alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# health_within S: 0 once /v1/health answers 200 as $A, within S seconds.
health_within() {
	local end=$((SECONDS + $1))
	while [ "$SECONDS" -lt "$end" ]; do
		[ "$(status_of "$(api "$A" GET /v1/health)")" = 200 ] &&
		    return 0
		sleep 0.1
	done
	return 1
}

# no_caps CMD...: exec CMD without CAP_SYS_RESOURCE, as the shipped unit
# runs it; in a background subshell, so that $! is the daemon.
no_caps() {
	exec setpriv --bounding-set=-sys_resource --inh-caps=-sys_resource -- "$@"
}

# give_up ENVVAR LOG: the daemon with ENVVAR naming a program that exits 1
# at once; prints its exit status and how long it ran, or "running" when
# it did not exit in time.
give_up() {
	local var=$1 log=$2 pid end t0 rc
	t0=$SECONDS
	env "$var=$E2E_DIR/never-starts" "$SECRETD" -f -c "$E2E_CONF" \
	    >"$log" 2>&1 &
	pid=$!
	end=$((SECONDS + GIVE_UP_S))
	while [ "$SECONDS" -lt "$end" ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		echo running
		return
	fi
	wait "$pid"
	rc=$?
	echo "$rc $((SECONDS - t0))"
	[ "$rc" -ne 0 ] && ! grep -q "failed to start" "$log" &&
	    tail -n 5 "$log" | sed 's/^/# /' >&2
}

e2e_setup
printf '#!/bin/sh\necho "never-starts: exiting" >&2\nexit 1\n' \
    >"$E2E_DIR/never-starts"
chmod 0755 "$E2E_DIR/never-starts"

# --- a low hard descriptor limit and no CAP_SYS_RESOURCE ---
no_caps prlimit --nofile=$LOW:$LOW "$SECRETD" -f -c "$E2E_CONF" \
    >>"$E2E_DIR/secretd.log" 2>&1 &
SECRETD_PID=$!
ok "$(health_within 10; echo $?)" \
    "hard RLIMIT_NOFILE $LOW without CAP_SYS_RESOURCE: the daemon serves"
out=$(api "$A" POST /v1/secrets '{"name":"LOW_FDS","value":"v1"}')
is "$(status_of "$out")" 201 "hard limit $LOW: a write is acknowledged"
is "$(body_of "$(api "$A" POST /v1/secrets/LOW_FDS/reveal)" | jq -r .value)" v1 \
    "hard limit $LOW: the write reads back"
ok "$(grep -qE "raise_nofile: descriptor limit $LOW .*serving [0-9]+ connections" \
    "$E2E_DIR/secretd.log"; echo $?)" \
    "hard limit $LOW: the broker logs the limit it got and the connections it serves"
ok "$(grep -qE "limit_nofile: .*hard limit is $LOW .*lowered to $LOW" \
    "$E2E_DIR/secretd.log"; echo $?)" \
    "hard limit $LOW: the front-end logs its lowered request"
served=$(grep -oE 'at most [0-9]+ connections' "$E2E_DIR/secretd.log" |
    tail -n 1 | awk '{ print $3 }')
ok "$([ -n "$served" ] && [ "$served" -ge 1 ] && [ "$served" -lt "$LOW" ]; echo $?)" \
    "hard limit $LOW: the front-end serves fewer connections than descriptors (${served:-none})"
fe=$(frontend_pid)
ok "$([ -n "$fe" ] && [ "$(awk '/^Max open files/ { print $5 }' "/proc/$fe/limits")" = "$LOW" ]; echo $?)" \
    "hard limit $LOW: the front-end runs with its hard limit"
secretd_finish "hard limit $LOW"

# --- the hard limit lowered under a running daemon ---
secretd_start
prlimit --pid "$SECRETD_PID" --nofile=100:100
fe=$(frontend_pid)
kill -KILL "$fe"
ok "$(health_within 10; echo $?)" \
    "hard limit lowered to 100 while running: a new front-end serves"
ok "$(grep -qE "limit_nofile: .*hard limit is 100 .*lowered to 100" \
    "$E2E_DIR/secretd.log"; echo $?)" \
    "hard limit lowered to 100: the new front-end logs its lowered request"
is "$(grep -c 'restarting the front-end' "$E2E_DIR/secretd.log")" 0 \
    "hard limit lowered to 100: the front-end did not have to be restarted again"
secretd_finish "hard limit lowered"

# --- a front-end that can never start ---
res=$(give_up SECRETD_FRONTEND "$E2E_DIR/fe-fail.log")
ok "$([ "$res" != running ] && [ "${res%% *}" -ne 0 ]; echo $?)" \
    "a front-end that exits 1 at once: the broker exits non-zero within $GIVE_UP_S s ($res)"
ok "$(grep -qE "the front-end failed to start 10 times in a row, the last time: exited with status 1" \
    "$E2E_DIR/fe-fail.log"; echo $?)" \
    "a front-end that never starts: the broker logs why it gave up"
is "$(grep -c 'failed to start' "$E2E_DIR/fe-fail.log")" 1 \
    "a front-end that never starts: one give-up line"

# --- a runner that can never start ---
res=$(give_up SECRETD_RUNNER "$E2E_DIR/run-fail.log")
ok "$([ "$res" != running ] && [ "${res%% *}" -ne 0 ]; echo $?)" \
    "a runner that exits 1 at once: the broker exits non-zero within $GIVE_UP_S s ($res)"
ok "$(grep -qE "the runner failed to start 10 times in a row, the last time: exited with status 1" \
    "$E2E_DIR/run-fail.log"; echo $?)" \
    "a runner that never starts: the broker logs why it gave up"
ok "$(grep -q "stopped: gave up" "$E2E_DIR/run-fail.log"; echo $?)" \
    "a runner that never starts: the broker stops its front-end, then exits"

# --- the broker killed: its children go at once, a new daemon binds ---
secretd_start
fe=$(frontend_pid)
run=$(pgrep -P "$SECRETD_PID" -f secretd-runner | head -n 1)
ok "$([ -n "$fe" ] && [ -n "$run" ]; echo $?)" \
    "the daemon runs a front-end (${fe:-none}) and a runner (${run:-none})"
t0=$(now_ms)
{ kill -KILL "$SECRETD_PID"; wait "$SECRETD_PID"; } 2>/dev/null
SECRETD_PID=
gone=
while [ $(($(now_ms) - t0)) -lt 2000 ]; do
	if ! alive "$fe" && ! alive "$run"; then
		gone=$(($(now_ms) - t0))
		break
	fi
	sleep 0.01
done
ok "$([ -n "$gone" ] && [ "$gone" -le 200 ]; echo $?)" \
    "broker SIGKILLed: the front-end and the runner are gone within 200 ms (${gone:-not in 2 s}${gone:+ ms})"
# Whatever is left is ours to end, so that the next test starts clean.
for p in $fe $run; do alive "$p" && kill -KILL "$p"; done
"$SECRETD" -f -c "$E2E_CONF" >>"$E2E_DIR/secretd.log" 2>&1 &
SECRETD_PID=$!
ok "$(health_within 5; echo $?)" \
    "broker SIGKILLed: a new daemon started at once binds the socket and the port and serves"
ok "$(! grep -qE 'already running|Address already in use' "$E2E_DIR/secretd.log"; echo $?)" \
    "broker SIGKILLed: the new daemon found nothing holding the socket or the port"
secretd_finish "after the broker was killed"

done_testing
