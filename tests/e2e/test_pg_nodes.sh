#!/usr/bin/env bash
# Two secretd nodes on one PostgreSQL database: two state folders holding
# the same root key, two sockets, two TLS ports, one store.  A secret set
# on A is revealed on B; 64 concurrent rotations of one secret, split over
# both nodes, end with version 1 + the number acknowledged and the value
# of the one acknowledged last (the highest version); a token made on A
# works on B, and once revoked on A the very next request on B is refused.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/pglib.sh"

A=$E2E_ALICE
N=64

require_root
pg_require_store
e2e_setup
secretd_start
A_SOCK=$E2E_SOCK
A_URL=$E2E_URL

# Node B: its own folder, state folder, socket, port and audit log; the
# same root key (and TLS pair) copied from A's, the same database.
B_DIR=$E2E_DIR/b
mkdir -m 0755 "$B_DIR"
mkdir -m 0700 "$B_DIR/state"
cp -p "$E2E_DIR/state/root.key" "$E2E_DIR/state/tls.crt" \
    "$E2E_DIR/state/tls.key" "$B_DIR/state/"
B_PORT=$(free_port)
sed -e "s/^listen = .*/listen = 127.0.0.1:$B_PORT/" "$E2E_CONF" >"$B_DIR/secretd.conf"
B_SOCK=$B_DIR/secretd.sock
B_URL=https://127.0.0.1:$B_PORT
"$SECRETD" -f -c "$B_DIR/secretd.conf" >"$B_DIR/secretd.log" 2>&1 &
B_PID=$!
end=$((SECONDS + 10))
until curl -s -m 1 -o /dev/null --unix-socket "$B_SOCK" \
    http://localhost/v1/health 2>/dev/null; do
	if [ "$SECONDS" -ge "$end" ] || ! kill -0 "$B_PID" 2>/dev/null; then
		echo "Bail out! node B did not start: $(tail -n 20 "$B_DIR/secretd.log")"
		exit 1
	fi
	sleep 0.05
done

teardown() {
	if [ -n "${B_PID:-}" ]; then
		kill -TERM "$B_PID" 2>/dev/null
		wait "$B_PID" 2>/dev/null
	fi
	e2e_teardown
}
trap teardown EXIT

# on NODE CMD...: CMD (api, apix, tls) against node a or b
on() {
	local E2E_SOCK E2E_URL
	case $1 in
	a) E2E_SOCK=$A_SOCK E2E_URL=$A_URL ;;
	b) E2E_SOCK=$B_SOCK E2E_URL=$B_URL ;;
	esac
	shift
	"$@"
}
value_of() { printf '%s\n' "$1" | sed '$d' | jq -r '.value // empty'; }

# --- a secret set on A is revealed on B ---
out=$(on a api "$A" POST /v1/secrets '{"name":"SHARED_ONE","value":"set-on-a"}')
is "$(status_of "$out")" 201 "node A: alice creates SHARED_ONE"
out=$(on b api "$A" POST /v1/secrets/SHARED_ONE/reveal)
is "$(status_of "$out") $(value_of "$out")" "200 set-on-a" \
    "node B reveals the value set on A"
out=$(on b api "$A" POST /v1/secrets '{"name":"SHARED_ONE","value":"set-on-b"}')
is "$(status_of "$out") $(body_of "$out" | jq -c .version)" "200 2" \
    "node B rotates it: version 2"
out=$(on a api "$A" POST /v1/secrets/SHARED_ONE/reveal)
is "$(status_of "$out") $(value_of "$out")" "200 set-on-b" \
    "node A reveals the value B wrote, at once"
is "$(on b api "$A" GET '/v1/secrets?secretScope=user' | sed '$d' |
    jq -c '[.secrets[].name]')" '["SHARED_ONE"]' "node B lists it"
ok "$(grep -q SHARED_ONE "$E2E_DIR/state/audit.log" &&
    grep -q SHARED_ONE "$B_DIR/state/audit.log"; echo $?)" \
    "each node wrote its own audit log"

# --- 64 concurrent rotations, split over both nodes ---
out=$(on a api "$A" POST /v1/secrets '{"name":"ROTATED","value":"rot-0"}')
is "$(status_of "$out")" 201 "ROTATED created at version 1"
RD=$E2E_DIR/rot
mkdir -m 0777 "$RD"
pids=()
for i in $(seq 1 "$N"); do
	node=a
	[ $((i % 2)) -eq 0 ] && node=b
	on $node api "$A" POST /v1/secrets \
	    "{\"name\":\"ROTATED\",\"value\":\"rot-$i\"}" >"$RD/$i" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
acked=0 other=
: >"$RD/acked"
for i in $(seq 1 "$N"); do
	st=$(tail -n 1 "$RD/$i")
	case $st in
	200)	acked=$((acked + 1))
		echo "$(sed '$d' "$RD/$i" | jq -r .version) rot-$i" >>"$RD/acked" ;;
	503)	;;
	*)	other="$other $i:$st" ;;
	esac
done
echo "# $acked of $N rotations acknowledged"
is "$other" "" "every rotation was acknowledged (200) or refused with 503"
ok "$([ "$acked" -gt 0 ]; echo $?)" "rotations were acknowledged ($acked)"
is "$(cut -d' ' -f1 "$RD/acked" | sort -n | paste -sd' ')" \
    "$(seq 2 $((acked + 1)) | paste -sd' ')" \
    "the acknowledged versions are 2 .. 1 + $acked, each once"
last=$(sort -n "$RD/acked" | tail -n 1)
for node in a b; do
	out=$(on $node api "$A" POST /v1/secrets/ROTATED/reveal)
	is "$(status_of "$out") $(body_of "$out" | jq -r '"\(.version) \(.value)"')" \
	    "200 $last" \
	    "node $node: version 1 + $acked with the last acknowledged value"
done
is "$(on b api "$A" GET /v1/secrets/ROTATED/versions | sed '$d' |
    jq -c '.versions[0].version')" $((acked + 1)) \
    "node B lists version $((acked + 1)) as the newest"

# --- a token made on A, revoked on A, refused on B at once ---
out=$(on a api "$A" POST /v1/tokens '{"description":"two nodes"}')
is "$(status_of "$out")" 201 "node A: alice creates a token"
TOKEN=$(body_of "$out" | jq -r '.token // empty')
TID=$(body_of "$out" | jq -r '.id // empty')
out=$(on b tls "$TOKEN" POST /v1/secrets/SHARED_ONE/reveal)
is "$(status_of "$out") $(value_of "$out")" "200 set-on-b" \
    "the token made on A works on B"
out=$(on b tls "$TOKEN" GET /v1/secrets)
is "$(status_of "$out")" 200 "and again (B has seen it)"
out=$(on a api "$A" DELETE "/v1/tokens/$TID")
is "$(status_of "$out")" 200 "node A revokes it"
out=$(on b tls "$TOKEN" POST /v1/secrets/SHARED_ONE/reveal)
on b is_error "$out" 401 unauthenticated "the very next request on B is refused"
out=$(on a tls "$TOKEN" GET /v1/secrets)
on a is_error "$out" 401 unauthenticated "and on A"
out=$(on b api "$A" GET /v1/tokens)
is "$(body_of "$out" | jq -c '[.tokens[].id]')" '[]' \
    "node B lists no token for alice"

kill -TERM "$B_PID"
wait "$B_PID"
is "$?" 0 "node B exits 0 on SIGTERM"
B_PID=
ok "$(! grep -qE 'Sanitizer|runtime error' "$B_DIR/secretd.log"; echo $?)" \
    "node B logged no sanitizer report"
secretd_finish "node A"
done_testing
