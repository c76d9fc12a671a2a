#!/usr/bin/env bash
# A compromised front-end: tests/e2e/hostile_frontend runs in place of
# secretd-frontend and attacks the broker (descriptors of every kind,
# guessed and stale session handles, messages out of state).  The broker
# must refuse each, kill it for every malformed one, open sessions only for
# live clients, stay up, and serve real clients once the real front-end is
# back.  Owns its temp state folder, its daemon and the clients it starts,
# which are the only processes it kills, by pid.
. "$top_srcdir/tests/e2e/lib.sh"

HOSTILE=$top_builddir/tests/e2e/hostile_frontend
FRONTEND=$top_builddir/secretd-frontend
A=$E2E_ALICE
B=$E2E_BOB
CLIENTS=

# as_user USER CMD...: exec CMD as USER, so that $! is CMD's own pid.
as_user() {
	local u=$1; shift
	exec setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" \
	    --init-groups -- "$@"
}

clients_stop() {
	local p
	for p in $CLIENTS; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	CLIENTS=
}

# answer REQ TEXT: what the hostile front-end waits for, made whole at once.
answer() {
	echo "$2" >"$H/tmp-ack.$1"
	mv "$H/tmp-ack.$1" "$H/ack.$1"
}

# serve_requests: the hostile front-end asks, from its chroot, for
#   live       a client of $A that connects and holds (answer: its pid)
#   closed     a client of $B that connects and closes (answer: its pid)
#   hangup P   that live client P close its connection (answer: gone)
serve_requests() {
	local f req cmd arg p
	for f in "$H"/req.*; do
		[ -e "$f" ] || continue
		req=${f#"$H/req."}
		read -r cmd arg <"$f"
		rm -f "$f"
		case $cmd in
		live)
			(as_user "$A" socat -u "UNIX-CONNECT:$E2E_SOCK" - \
			    >/dev/null 2>&1) &
			CLIENTS="$CLIENTS $!"
			answer "$req" "$!"
			;;
		closed)
			(as_user "$B" socat -u /dev/null \
			    "UNIX-CONNECT:$E2E_SOCK" >/dev/null 2>&1) &
			p=$!
			wait "$p"
			answer "$req" "$p"
			;;
		hangup)
			case " $CLIENTS " in
			*" $arg "*)
				kill -TERM "$arg"
				wait "$arg"
				answer "$req" gone
				;;
			*)	answer "$req" "not a client of this test" ;;
			esac
			;;
		*)	answer "$req" "unknown request" ;;
		esac
	done
}

starttime() { awk '{ print $22 }' "/proc/$1/stat" 2>/dev/null; }

e2e_setup
trap 'clients_stop; e2e_teardown' EXIT
H=$E2E_DIR/hostile
RESULTS=$H/results
AUDIT=$E2E_DIR/state/audit.log
mkdir "$H"
: >"$RESULTS"
chown secretd "$H"
chmod 0755 "$H"

# Not secretd_start: its health probe would connect as root, and the
# hostile front-end accepts whatever is in the listener's backlog.
t0=$SECONDS
SECRETD_FRONTEND=$HOSTILE SECRETD_HOSTILE_DIR=$H \
    SECRETD_HOSTILE_NEXT=$FRONTEND SECRETD_HOSTILE_USER=$A \
    "$SECRETD" -f -c "$E2E_CONF" >>"$E2E_DIR/secretd.log" 2>&1 &
SECRETD_PID=$!
broker_start=$(starttime "$SECRETD_PID")
end=$((SECONDS + 120))
while [ "$SECONDS" -lt "$end" ] && ! grep -qx done "$RESULTS"; do
	kill -0 "$SECRETD_PID" 2>/dev/null || break
	serve_requests
	sleep 0.02
done
echo "# the attacks took $((SECONDS - t0)) s"

plan=$(awk '$1 == "plan" { print $2; exit }' "$RESULTS")
ok "$([ -n "$plan" ] && grep -qx done "$RESULTS"; echo $?)" \
    "the hostile front-end ran every one of its ${plan:-?} steps"
for n in $(seq 1 "${plan:-0}"); do
	line=$(grep -E "^(not )?ok $n - " "$RESULTS")
	count=$(printf '%s\n' "$line" | grep -c .)
	if [ "$count" -ne 1 ]; then
		ok 1 "hostile step $n has one result, not $count"
		continue
	fi
	case $line in
	ok*)	ok 0 "hostile: ${line#* - }" ;;
	*)	ok 1 "hostile: ${line#* - }" ;;
	esac
done

# Each fatal attack was the last thing its process sent, and the broker
# said why it killed that process, with SIGKILL, and reaped it.
log=$E2E_DIR/secretd.log
n_fatal=0
unlogged=
while read -r n pid last; do
	n_fatal=$((n_fatal + 1))
	[ "$n" = "$last" ] &&
	    grep -qE "front-end pid $pid: .*; killing it" "$log" &&
	    grep -qE "front-end pid $pid killed by signal 9 \(SIGKILL\), sent by the broker: " "$log" ||
	    unlogged="$unlogged $n"
done < <(awk '$1 == "sent" { last[$4] = $2; if ($5 == "fatal") f[$2] = $4 }
    END { for (n in f) print n, f[n], last[f[n]] }' "$RESULTS" | sort -n)
ok "$([ "$n_fatal" -gt 0 ] && [ -z "$unlogged" ]; echo $?)" \
    "the broker logged killing the front-end with SIGKILL, and that the SIGKILL was its own, after each of $n_fatal fatal attacks${unlogged:+ (not after step$unlogged)}"
ok "$(grep -qE "front-end pid [0-9]+ killed by signal 9 \(SIGKILL\), sent by the broker: protocol violation: malformed message type [0-9]+" "$log"; echo $?)" \
    "the line for a front-end killed over a malformed message names the message's type"
ok "$([ -n "$broker_start" ] && [ "$(starttime "$SECRETD_PID")" = "$broker_start" ]; echo $?)" \
    "the broker stayed up through every attack (pid $SECRETD_PID)"

# --- real clients, through the real front-end the last one became ---
end=$((SECONDS + 15))
until [ "$(status_of "$(api "$A" GET /v1/health)")" = 200 ]; do
	[ "$SECONDS" -lt "$end" ] || break
	sleep 0.1
done
fe=$(frontend_pid)
is "$(readlink "/proc/$fe/exe" 2>/dev/null)" "$(readlink -f "$FRONTEND")" \
    "the front-end is the real secretd-frontend again (pid ${fe:-none})"
out=$(api "$A" POST /v1/secrets '{"name":"AFTER_ATTACKS","value":"kept"}')
is "$(status_of "$out")" 201 "after the attacks: $A creates a secret over the unix socket"
out=$(api "$A" POST /v1/secrets/AFTER_ATTACKS/reveal)
is "$(status_of "$out") $(body_of "$out" | jq -r .value 2>/dev/null)" "200 kept" \
    "after the attacks: $A reveals it over the unix socket"
token=$(token_create "$A" '{"description":"after the attacks"}')
ok "$([ -n "$token" ]; echo $?)" "after the attacks: $A creates a token"
out=$(tls "$token" GET /v1/secrets)
is "$(status_of "$out") $(body_of "$out" | jq -r '[.secrets[].name] | join(",")' 2>/dev/null)" \
    "200 AFTER_ATTACKS" "after the attacks: the token lists $A's secret over TLS"

# --- who got a session, as the audit log says ---
sessions=$(audit_lines '.op == "connect" and .outcome == "ok"' "$AUDIT" 2>/dev/null |
    jq -r '"\(.user) \(.role)"')
ok "$(printf '%s\n' "$sessions" | grep -q "^$A "; echo $?)" \
    "audit: the live client $A got sessions ($(printf '%s\n' "$sessions" | grep -c "^$A "))"
is "$(printf '%s\n' "$sessions" | grep -E '^root | admin$' | head -n 3)" "" \
    "audit: no session was ever opened for root or an admin"
is "$(printf '%s\n' "$sessions" | grep -v "^$A " | head -n 3)" "" \
    "audit: no session for anyone but the live client $A"

clients_stop
secretd_finish
if [ "$tap_failed" -ne 0 ]; then
	sed 's/^/# results: /' "$RESULTS"
	grep -E 'killing it|killed by|hostile-frontend' "$log" | tail -n 40 |
	    sed 's/^/# log: /'
fi

done_testing
