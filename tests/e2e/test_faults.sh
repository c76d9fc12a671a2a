#!/usr/bin/env bash
# Crashes under load: SIGKILL the front-end, then the broker, while a client
# writes and reads; no wrong answer, no acknowledged write lost.
# Kills only the daemon processes this test started, by pid.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE
now_ms() { date +%s%3N; }

# client PREFIX SECONDS: as alice, create PREFIX_i with value PREFIX-v-i and
# reveal it, until SECONDS pass or $E2E_DIR/stop exists.  Logs one line per
# request: "ms op name status ok|WRONG".  Acknowledged writes (201) go to
# $E2E_DIR/acked.
client() {
	local prefix=$1 until=$(($(now_ms) + $2 * 1000)) i=0 t st out v
	while [ "$(now_ms)" -lt "$until" ] && [ ! -e "$E2E_DIR/stop" ]; do
		i=$((i + 1))
		t=$(now_ms)
		st=$(runuser -u "$A" -- curl -s -m 5 -o /dev/null -w '%{http_code}' \
		    --unix-socket "$E2E_SOCK" -H 'Content-Type: application/json' \
		    --data-binary "{\"name\":\"${prefix}_$i\",\"value\":\"$prefix-v-$i\"}" \
		    http://localhost/v1/secrets)
		case $st in
		201) echo "${prefix}_$i $prefix-v-$i" >>"$E2E_DIR/acked"
		     echo "$t create ${prefix}_$i $st ok" ;;
		503|000) echo "$t create ${prefix}_$i $st ok" ;;
		*) echo "$t create ${prefix}_$i $st WRONG" ;;
		esac
		[ "$st" = 201 ] || continue
		t=$(now_ms)
		out=$(runuser -u "$A" -- curl -s -m 5 -w '\n%{http_code}' -X POST \
		    --unix-socket "$E2E_SOCK" \
		    "http://localhost/v1/secrets/${prefix}_$i/reveal")
		st=$(status_of "$out")
		v=$(body_of "$out" | jq -r '.value // empty' 2>/dev/null)
		case $st in
		200) [ "$v" = "$prefix-v-$i" ] &&
		     echo "$t reveal ${prefix}_$i $st ok" ||
		     echo "$t reveal ${prefix}_$i $st WRONG" ;;
		503|000) echo "$t reveal ${prefix}_$i $st ok" ;;
		*) echo "$t reveal ${prefix}_$i $st WRONG" ;;
		esac
	done >>"$E2E_DIR/client.log"
}

# health_ok: /v1/health answers 200 right now.
health_ok() {
	[ "$(curl -s -m 1 -o /dev/null -w '%{http_code}' --unix-socket "$E2E_SOCK" \
	    http://localhost/v1/health)" = 200 ]
}

# all_acked_present: every acknowledged write reveals its value; prints
# the ones that do not.
all_acked_present() {
	local name value out
	while read -r name value; do
		out=$(api "$A" POST "/v1/secrets/$name/reveal")
		[ "$(status_of "$out") $(body_of "$out" | jq -r .value)" = "200 $value" ] ||
		    echo "$name:$(status_of "$out")"
	done <"$E2E_DIR/acked"
}

e2e_setup
secretd_start
: >"$E2E_DIR/acked"
: >"$E2E_DIR/client.log"

# --- SIGKILL the front-end, three times, under load ---
client F 9 &
CLIENT=$!
sleep 1
for k in 1 2 3; do
	fe=$(frontend_pid)
	t0=$(now_ms)
	kill -KILL "$fe"
	back=""
	while [ $(($(now_ms) - t0)) -lt 5000 ]; do
		nfe=$(frontend_pid)
		if [ -n "$nfe" ] && [ "$nfe" != "$fe" ] && health_ok; then
			back=$(($(now_ms) - t0))
			break
		fi
		sleep 0.02
	done
	ok "$([ -n "$back" ] && [ "$back" -le 1000 ]; echo $?)" \
	    "front-end kill $k: a new front-end serves within 1 s (${back:-no}${back:+ ms})"
	recovered=$(now_ms)
	sleep 1.5
done
touch "$E2E_DIR/stop"
wait "$CLIENT"
rm -f "$E2E_DIR/stop"

is "$(grep -c WRONG "$E2E_DIR/client.log")" 0 \
    "front-end kills: no wrong answer ($(grep -c . "$E2E_DIR/client.log") requests)"
late=$(awk -v r="$((recovered + 200))" '$1 > r' "$E2E_DIR/client.log")
ok "$([ -n "$late" ] && ! printf '%s\n' "$late" | grep -qv ' 20[01] ok$'; echo $?)" \
    "front-end kills: every request after the last recovery succeeds ($(printf '%s\n' "$late" | grep -c .) requests)"
n_acked=$(grep -c . "$E2E_DIR/acked")
ok "$([ "$n_acked" -ge 20 ]; echo $?)" "front-end kills: the client had $n_acked writes acknowledged"
is "$(all_acked_present | head -n 5)" "" "front-end kills: every acknowledged write is there"

# --- SIGKILL the broker under load ---
fe=$(frontend_pid)
: >"$E2E_DIR/client.log"
client G 6 &
CLIENT=$!
sleep 1.5
kill -KILL "$SECRETD_PID"
wait "$SECRETD_PID" 2>/dev/null
killed=$(now_ms)
SECRETD_PID=
sleep 0.5
out=$(curl -s -m 3 -w '\n%{http_code}' --unix-socket "$E2E_SOCK" http://localhost/v1/health)
st=$(status_of "$out")
ok "$([ "$st" = 503 ] || [ "$st" = 000 ]; echo $?)" \
    "broker killed: /v1/health says 503 or the connection closes ($st)"
if [ "$st" = 503 ]; then
	is_error "$(api "$A" GET /v1/secrets)" 503 unavailable \
	    "broker killed: an API request gets 503 unavailable"
fi
wait "$CLIENT"
is "$(grep -c WRONG "$E2E_DIR/client.log")" 0 \
    "broker killed: no wrong answer ($(grep -c . "$E2E_DIR/client.log") requests)"
after=$(awk -v k="$killed" '$1 > k' "$E2E_DIR/client.log")
# Without requests after the kill the check below would pass on nothing.
ok "$(printf '%s\n' "$after" | grep -q .; echo $?)" \
    "broker killed: the client kept asking ($(printf '%s\n' "$after" | grep -c .) requests after the kill)"
is "$(printf '%s\n' "$after" | grep -cE ' 20[01] ok$')" 0 \
    "broker killed: no request succeeds without the broker"
grep WRONG "$E2E_DIR/client.log" | head -n 5 | sed 's/^/# /'

# An orphaned front-end is what systemd's control-group kill would end.
[ -n "$fe" ] && kill -0 "$fe" 2>/dev/null && kill -KILL "$fe"
secretd_start
ok "$(health_ok; echo $?)" "broker restarted: it serves again"
n_acked=$(grep -c . "$E2E_DIR/acked")
ok "$(grep -q '^G_' "$E2E_DIR/acked"; echo $?)" \
    "broker killed: the client had writes acknowledged before the kill ($(grep -c '^G_' "$E2E_DIR/acked"))"
is "$(all_acked_present | head -n 5)" "" \
    "broker restarted: all $n_acked acknowledged writes are there with their values"
out=$(api "$A" POST /v1/secrets '{"name":"AFTER_RESTART","value":"x"}')
is "$(status_of "$out")" 201 "broker restarted: new writes work"

secretd_finish

done_testing
