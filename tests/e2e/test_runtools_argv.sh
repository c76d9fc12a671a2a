#!/usr/bin/env bash
# runtools secret set NAME VALUE must not leave VALUE where every local
# user can read it: while runtools waits on a server that never answers,
# another user reads its /proc/PID/cmdline and finds the name but not the
# value.  No secretd is needed, only a listener that accepts and is silent.
# Owns its temp folder, the listener and the runtools processes it starts.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE B=$E2E_BOB
VALUE=argv-value-$RANDOM$RANDOM

# Accepts every connection on PATH, says "accepted" for each, never answers.
LISTEN='
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
s.listen(16)
print("listening", flush=True)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    print("accepted", flush=True)
'

require_root
e2e_users
W=$(mktemp -d /tmp/secretd-argv.XXXXXX)
chmod 0755 "$W"
SOCK=$W/hang.sock
LPID= RPID=
cleanup() {
	[ -n "$RPID" ] && kill "$RPID" 2>/dev/null
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

python3 -c "$LISTEN" "$SOCK" >"$W/listen.out" 2>&1 &
LPID=$!
for i in $(seq 1 100); do grep -q listening "$W/listen.out" && break; sleep 0.05; done
ok "$(grep -q listening "$W/listen.out"; echo $?)" "a silent listener is up"

# set_waiting N ARGS...: runtools (as alice, exec'd in place so that its pid
# is the one read) with ARGS; returns once the listener has accepted its
# N-th connection, i.e. runtools is waiting for an answer.
set_waiting() {
	local n=$1 i
	shift
	setpriv --reuid="$(id -u "$A")" --regid="$(id -g "$A")" --clear-groups \
	    -- env -i HOME=/nonexistent "$RUNTOOLS" --url "unix:$SOCK" "$@" \
	    >"$W/rt.err" 2>&1 &
	RPID=$!
	for i in $(seq 1 100); do
		[ "$(grep -c accepted "$W/listen.out")" -ge "$n" ] && return 0
		sleep 0.05
	done
	return 1
}

# cmdline PID: the process's arguments as another local user reads them.
cmdline() { runuser -u "$B" -- cat "/proc/$1/cmdline" | tr '\0' ' '; }

stop() { kill "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null; RPID=; }

set_waiting 1 secret set ARGV_X "$VALUE"
ok $? "runtools secret set ARGV_X VALUE is waiting on the silent server"
args=$(cmdline "$RPID")
ok "$([[ $args == *"secret set ARGV_X"* ]]; echo $?)" \
    "another user reads its command line: $args"
ok "$([[ $args == *ARGV_X* ]] && [[ $args != *"$VALUE"* ]]; echo $?)" \
    "the value is not in /proc/PID/cmdline"
ok "$([[ $args == *ARGV_X* ]] && [[ $args != *argv-value* ]]; echo $?)" \
    "nor any part of it"
stop

set_waiting 2 secret set ARGV_Y --category tool "$VALUE" --description d
ok $? "with options around it, runtools is waiting again"
args=$(cmdline "$RPID")
ok "$([[ $args == *"ARGV_Y --category tool"*"--description d"* ]] &&
    [[ $args != *argv-value* ]]; echo $?)" \
    "the value is gone, the options are not: $args"
stop

set_waiting 3 secret set ARGV_Z -- "-$VALUE"
ok $? "a value after -- (it starts with '-'): runtools is waiting"
args=$(cmdline "$RPID")
ok "$([[ $args == *"ARGV_Z --"* ]] && [[ $args != *argv-value* ]]; echo $?)" \
    "a value after -- is gone from /proc/PID/cmdline too: $args"
stop

done_testing
