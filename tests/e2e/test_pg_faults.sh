#!/usr/bin/env bash
# The PostgreSQL store when the database or the node fails, on a durable
# cluster (fsync on) with store_timeout = 1s:
# - PostgreSQL stopped under load: reads answer 503 within the timeout,
#   writes within two (a commit out when they came, then their own);
#   never a 404 for a secret that exists nor an old value; health
#   still answers; once the cluster is back the same daemon serves again.
# - the node SIGKILLed during writes: every acknowledged write is there
#   after a restart.
# - pg_ctl stop -m immediate during writes: no acknowledged write is lost
#   and the node recovers by itself when the cluster is back.
# - a primary with a streaming standby: the primary stopped, the standby
#   promoted, the node carries on through a multi-host connection string
#   (target_session_attrs=read-write); the time it took is printed.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/pglib.sh"

A=$E2E_ALICE
TIMEOUT_S=1
# what a 503 may take beyond store_timeout: the reply's way back on a
# host shared with other builds
SLACK_S=0.5
WRITERS=4

require_root
pg_require_store
E2E_PG_CLUSTER=p E2E_PG_DURABLE=1 e2e_setup "store_timeout = ${TIMEOUT_S}s"
secretd_start
STOP=$E2E_DIR/stop
LOAD=$E2E_DIR/load
mkdir -m 0755 "$LOAD"

LOAD_PIDS=()
teardown() {
	touch "$STOP"
	[ "${#LOAD_PIDS[@]}" -gt 0 ] && wait "${LOAD_PIDS[@]}" 2>/dev/null
	e2e_teardown
}
trap teardown EXIT

# request METHOD PATH [BODY]: as alice over the unix socket; prints the
# body, then "STATUS SECONDS".
request() {
	local args=(-s -m 10 -w '\n%{http_code} %{time_total}' -X "$1" \
	    --unix-socket "$E2E_SOCK")
	[ -n "${3:-}" ] &&
	    args+=(-H 'Content-Type: application/json' --data-binary "$3")
	runuser -u "$A" -- curl "${args[@]}" "http://localhost$2"
}

# writer TAG: creates TAG_1, TAG_2, ... one after another until $STOP
# exists; a line "NAME STATUS SECONDS" each in $LOAD/TAG.
writer() {
	local tag=$1 i=0
	while [ ! -e "$STOP" ]; do
		i=$((i + 1))
		echo "${tag}_$i $(request POST /v1/secrets \
		    "{\"name\":\"${tag}_$i\",\"value\":\"value-of-${tag}_$i\"}" |
		    tail -n 1)" >>"$LOAD/$tag"
	done
}

# reader NAME TAG: reveals NAME one after another until $STOP exists; a
# line "STATUS SECONDS VALUE" each in $LOAD/TAG.
reader() {
	local out
	while [ ! -e "$STOP" ]; do
		out=$(request POST "/v1/secrets/$1/reveal")
		echo "$(printf '%s\n' "$out" | tail -n 1)" \
		    "$(printf '%s\n' "$out" | sed '$d' | jq -r '.value // "-"' 2>/dev/null)" \
		    >>"$LOAD/$2"
	done
}

# load_start TAG: WRITERS writers TAG_w1.. in the background
load_start() {
	local w
	rm -f "$STOP"
	LOAD_PIDS=()
	for w in $(seq 1 "$WRITERS"); do
		writer "$1w$w" &
		LOAD_PIDS+=($!)
	done
}

load_stop() {
	touch "$STOP"
	wait "${LOAD_PIDS[@]}" 2>/dev/null
}

# acked TAG: the names the writers of TAG saw acknowledged (201)
acked() { cat "$LOAD/$1"w* 2>/dev/null | awk '$2 == 201 { print $1 }'; }

# lost TAG: the acknowledged names of TAG whose value is not revealed
lost() {
	local n out
	for n in $(acked "$1"); do
		out=$(request POST "/v1/secrets/$n/reveal")
		[ "$(printf '%s\n' "$out" | sed '$d' | jq -r .value 2>/dev/null)" = \
		    "value-of-$n" ] || echo "$n:$(printf '%s\n' "$out" | tail -n 1)"
	done
}

# until_served SECONDS: until a write is acknowledged; prints how long
# that took in ms, nothing when it never was.
until_served() {
	local t0 end i=0
	t0=$(date +%s%N)
	end=$((SECONDS + $1))
	while [ "$SECONDS" -lt "$end" ]; do
		i=$((i + 1))
		if [ "$(request POST /v1/secrets \
		    "{\"name\":\"PROBE_$RANDOM$i\",\"value\":\"p\"}" | tail -n 1 |
		    cut -d' ' -f1)" = 201 ]; then
			echo $(( ($(date +%s%N) - t0) / 1000000 ))
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# === PostgreSQL stopped under load ===
request POST /v1/secrets '{"name":"STEADY","value":"old-value"}' >/dev/null
out=$(request POST /v1/secrets '{"name":"STEADY","value":"new-value"}')
is "$(printf '%s\n' "$out" | tail -n 1 | cut -d' ' -f1)" 200 \
    "STEADY rotated to new-value before the outage"
PID_BEFORE=$SECRETD_PID
load_start out
reader STEADY reads &
LOAD_PIDS+=($!)
sleep 1
pg_stop p fast
ok $? "PostgreSQL stopped (-m fast) under load"
sleep $((TIMEOUT_S + 1))
out=$(curl -s -m 3 -w '\n%{http_code}' --unix-socket "$E2E_SOCK" \
    http://localhost/v1/health)
hst=$(status_of "$out")
ok "$([ "$hst" = 200 ] || [ "$hst" = 503 ]; echo $?)" \
    "health answers while the database is down ($hst: $(body_of "$out" | head -c 200))"
out=$(request POST /v1/secrets/STEADY/reveal)
is "$(printf '%s\n' "$out" | tail -n 1 | cut -d' ' -f1)" 503 \
    "a reveal while the database is down: 503"
pg_start p
ok $? "PostgreSQL started again"
ms=$(until_served 20)
ok $? "the same daemon serves writes again (${ms:-never} ms after the start)"
sleep 1
load_stop
is "$SECRETD_PID $(kill -0 "$SECRETD_PID" 2>/dev/null && echo alive)" \
    "$PID_BEFORE alive" "secretd was not restarted"

R=$LOAD/reads
echo "# reads under the outage: $(wc -l <"$R"); by status: $(cut -d' ' -f1 "$R" | sort | uniq -c | paste -sd' ')"
is "$(awk '!(($1 == 200 && $3 == "new-value") || $1 == 503)' "$R" | head -n 3)" "" \
    "every reveal answered 200 with the current value or 503 (no 404, no old value)"
ok "$(grep -q '^503 ' "$R"; echo $?)" "reveals met the outage (503s)"
echo "# the slowest 503: a reveal $(awk '$1 == 503 { print $2 }' "$R" | sort -n | tail -n 1) s," \
    "a write $(cat "$LOAD"/outw* | awk '$2 == 503 { print $3 }' | sort -n | tail -n 1) s"
is "$(awk -v t="$TIMEOUT_S" -v s="$SLACK_S" '$1 == 503 && $2 > t + s' "$R" | head -n 3)" "" \
    "every refused reveal came within store_timeout (${TIMEOUT_S}s + ${SLACK_S}s)"
W=$(cat "$LOAD"/outw*)
is "$(printf '%s\n' "$W" | awk '$2 != 201 && $2 != 503' | head -n 3)" "" \
    "every write answered 201 or 503"
# a write that came while a group commit was out waits for that one's
# deadline, then its own commit's
is "$(printf '%s\n' "$W" | awk -v t="$TIMEOUT_S" -v s="$SLACK_S" '$2 == 503 && $3 > 2 * t + s' | head -n 3)" "" \
    "every refused write came within two store_timeouts (${SLACK_S}s more)"
ok "$([ -n "$(acked out)" ]; echo $?)" "writes were acknowledged ($(acked out | wc -l))"
is "$(lost out)" "" "every acknowledged write is there"
out=$(request POST /v1/secrets/STEADY/reveal)
is "$(printf '%s\n' "$out" | sed '$d' | jq -r .value)" new-value \
    "STEADY reveals new-value after the outage"

# === the node SIGKILLed during writes ===
load_start kill
sleep 1.5
FE=$(frontend_pid)
kill -KILL "$SECRETD_PID"
wait "$SECRETD_PID" 2>/dev/null
SECRETD_PID=
[ -n "$FE" ] && pg_gone "$FE"
load_stop
secretd_start
n=$(acked kill | wc -l)
ok "$([ "$n" -gt 0 ]; echo $?)" "writes were acknowledged before the SIGKILL ($n)"
is "$(lost kill)" "" "after the SIGKILL and a restart every acknowledged write is there"

# === pg_ctl stop -m immediate during writes ===
PID_BEFORE=$SECRETD_PID
load_start imm
sleep 1.5
PGPID=$(pg_pid p)
pg_stop p immediate
ok $? "PostgreSQL stopped with -m immediate during writes"
pg_gone "$PGPID"
sleep 1
pg_start p
ok $? "PostgreSQL recovers and starts"
ms=$(until_served 20)
ok $? "the node recovers by itself (${ms:-never} ms after the start)"
load_stop
is "$SECRETD_PID $(kill -0 "$SECRETD_PID" 2>/dev/null && echo alive)" \
    "$PID_BEFORE alive" "secretd was not restarted"
n=$(acked imm | wc -l)
ok "$([ "$n" -gt 0 ]; echo $?)" "writes were acknowledged around the crash ($n)"
is "$(lost imm)" "" "no acknowledged write was lost"

# === failover to a promoted standby ===
pg_standby p s && pg_start s
ok $? "a streaming standby of the primary runs"
secretd_stop
is "$?" 0 "the node stops to take a multi-host connection string"
MULTI="host=$(pg_dir p),$(pg_dir s) port=5432 user=postgres dbname=$E2E_PGDB target_session_attrs=read-write"
sed -i "s|^postgresql = .*|postgresql = $MULTI|" "$E2E_CONF"
secretd_start
out=$(request POST /v1/secrets '{"name":"BEFORE_FAILOVER","value":"replicated"}')
is "$(printf '%s\n' "$out" | tail -n 1 | cut -d' ' -f1)" 201 \
    "a write through the multi-host string reaches the primary"
pg_wait_replay p s
ok $? "the standby replayed it"
PID_BEFORE=$SECRETD_PID
t0=$(date +%s%N)
pg_stop p fast
t1=$(date +%s%N)
pg_promote s
ok $? "the primary stopped, the standby promoted"
t2=$(date +%s%N)
ms=$(until_served 30)
ok $? "the node writes to the promoted standby"
if [ -n "$ms" ]; then
	echo "# failover: primary stop $(( (t1 - t0) / 1000000 )) ms," \
	    "promote $(( (t2 - t1) / 1000000 )) ms, then the node's first" \
	    "acknowledged write $ms ms; in all $(( (t2 - t0) / 1000000 + ms )) ms"
fi
is "$SECRETD_PID $(kill -0 "$SECRETD_PID" 2>/dev/null && echo alive)" \
    "$PID_BEFORE alive" "secretd was not restarted"
out=$(request POST /v1/secrets/BEFORE_FAILOVER/reveal)
is "$(printf '%s\n' "$out" | sed '$d' | jq -r .value)" replicated \
    "the secret written before the failover is revealed"
is "$(lost imm)" "" "and every write acknowledged before"
is "$(pg_psql_db s "$E2E_PGDB" -Atc 'SELECT pg_is_in_recovery()')" f \
    "the node's database is the promoted standby"

secretd_finish
done_testing
