#!/usr/bin/env bash
# GET /v1/metrics and /v1/health against the real daemon: admins only
# (403 for a member, 401 without a token over TLS), over the unix socket
# and over TLS; the whole reply parsed by prometheus_client's parser of
# the text format; counters that move by exactly what known requests
# did (reveals by scope, denials, failed authentications by reason, group
# commits and their sizes, HTTP requests by route template, tool
# executions); front-end and runner restarts counted with the broker's
# counters kept; no secret, user, org or token name anywhere in the
# output; and /v1/health 503 naming the audit log while it cannot be
# written (on a small loop-mounted file system this test fills), ok
# again once a line is written.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE B=$E2E_BOB C=$E2E_ADMIN
PARSE=$top_srcdir/tests/e2e/prom_parse.py
MOUNT=

teardown() {
	local l
	secretd_stop
	if [ -n "$MOUNT" ]; then
		umount "$MOUNT" 2>/dev/null || umount -l "$MOUNT" 2>/dev/null
		losetup -j "$MOUNT.img" -O NAME -n 2>/dev/null |
		    while read -r l; do losetup -d "$l" 2>/dev/null; done
	fi
	e2e_teardown
}

# A Python with prometheus_client (Debian: python3-prometheus-client).
PY=
for p in /usr/bin/python3 python3; do
	"$p" -c 'import prometheus_client.parser' 2>/dev/null && { PY=$p; break; }
done

e2e_setup "tools_dir = tools.d"
trap teardown EXIT
ok "$([ -n "$PY" ]; echo $?)" "prometheus_client is installed"

# The audit log on its own 2 MiB file system, to fill later.
LOOP_WHY=
AFS=$E2E_DIR/afs
if ! command -v mkfs.ext4 >/dev/null || ! command -v losetup >/dev/null; then
	LOOP_WHY="mkfs.ext4 or losetup is not installed"
elif mkdir -p "$AFS" &&
    dd if=/dev/zero of="$AFS.img" bs=1024 count=2048 status=none &&
    mkfs.ext4 -q -F -m 0 "$AFS.img" >"$E2E_DIR/mkfs.log" 2>&1 &&
    mount -o loop "$AFS.img" "$AFS" 2>>"$E2E_DIR/mkfs.log"; then
	MOUNT=$AFS
	echo "audit_log = afs/audit.log" >>"$E2E_CONF"
else
	LOOP_WHY="no loop device: $(tr '\n' ' ' <"$E2E_DIR/mkfs.log" | head -c 200)"
fi

# An exec tool: "good" prints JSON and exits 0, "bad" exits 3.
mkdir -m 0755 "$E2E_DIR/bin" "$E2E_DIR/tools.d"
cat >"$E2E_DIR/bin/mtool.sh" <<'EOF'
#!/bin/sh
case $(cat) in
*'"bad"'*) echo "bad" >&2; exit 3 ;;
esac
echo '{"fine":true}'
EOF
chmod 0755 "$E2E_DIR/bin/mtool.sh"
cat >"$E2E_DIR/tools.d/mtool.tool" <<EOF
description = counts for the metrics test
type = exec
command = $E2E_DIR/bin/mtool.sh
slot key
	secret = ZQXTOOLKEY
	env = KEY
action good
	description = exits 0
action bad
	description = exits 3
EOF
secretd_start

RAW=$E2E_DIR/raw.all
: >"$RAW"
n_snap=0

# fetch WHO: GET /v1/metrics as WHO (a user, or tls:TOKEN); sets ST, CT and
# M (the parsed samples' file); PARSED is 0 when the parser took it all.
fetch() {
	local out
	out=$(apix "$1" GET /v1/metrics)
	ST=$(status_of "$out")
	CT=$(header Content-Type)
	n_snap=$((n_snap + 1))
	M=$E2E_DIR/m$n_snap
	body_of "$out" >"$M.txt"
	cat "$M.txt" >>"$RAW"
	"${PY:-false}" "$PARSE" <"$M.txt" >"$M" 2>"$M.err"
	PARSED=$?
}

# snap: fetch as the admin over the unix socket, which must succeed whole.
snap() {
	fetch "$C"
	[ "$ST" = 200 ] && [ "$PARSED" = 0 ] ||
	    echo "# snapshot $n_snap: $ST $(head -c 300 "$M.err")"
}

# v FILE SAMPLE: a sample's value in a parsed snapshot; 0 when absent.
v() {
	awk -v k="$2" 'index($0, k " ") == 1 { print $NF; f = 1 } END {
	    if (!f) print 0 }' "$1"
}

# delta SAMPLE: its change from snapshot $S0 to $S1.
delta() { echo $(($(v "$S1" "$1") - $(v "$S0" "$1"))); }

rev() { api "$1" POST "/v1/secrets/$2/reveal$3" | tail -n 1; }
put() { api "$1" POST "/v1/secrets$3" "$2" | tail -n 1; }

# --- who may read them ---
ADMIN_TOK=$(token_create "$C" '{"role":"admin","description":"scraper"}')
MEMBER_TOK=$(token_create "$A" '{"description":"member"}')
fetch "$C"
is "$ST" 200 "an admin over the unix socket gets the metrics"
is "$CT" "text/plain; version=0.0.4; charset=utf-8" \
    "in Prometheus' text format 0.0.4"
is "$PARSED $(head -c 300 "$M.err")" "0 " \
    "the whole reply parses with prometheus_client, every family with HELP and TYPE"
fetch "tls:$ADMIN_TOK"
is "$ST $PARSED" "200 0" "an admin token over TLS gets them, and they parse"
ok "$(grep -q '^secretd_start_time_seconds{} [1-9]' "$M"; echo $?)" \
    "the broker's start time is there"
out=$(api "$A" GET /v1/metrics)
is_error "$out" 403 forbidden "a member over the unix socket: 403"
out=$(tls "$MEMBER_TOK" GET /v1/metrics)
is_error "$out" 403 forbidden "a member's token over TLS: 403"
out=$(tls "" GET /v1/metrics)
is_error "$out" 401 unauthenticated "no token over TLS: 401"
out=$(tls "rts_00000000000000ff_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq" GET /v1/metrics)
is_error "$out" 401 unauthenticated "an unknown token over TLS: 401"
out=$(api "$C" POST /v1/metrics '{}')
is "$(status_of "$out")" 405 "POST /v1/metrics: 405"

# --- reveals, denials, commits, the store and HTTP requests ---
snap; S0=$M
sts=$(put "$A" '{"name":"ZQXALICESECRET","value":"alice-value-1"}')
sts+=" $(rev "$A" ZQXALICESECRET) $(rev "$A" ZQXALICESECRET) $(rev "$A" ZQXALICESECRET)"
sts+=" $(put "$C" '{"name":"ZQXORGSECRET","value":"org-value-1","orgWide":true}')"
sts+=" $(rev "$C" ZQXORGSECRET '?orgWide=true') $(rev "$C" ZQXORGSECRET '?orgWide=true')"
sts+=" $(put "$A" '{"name":"ZQXDENIED","value":"nope-1","orgWide":true}')"
is "$sts" "201 200 200 200 201 200 200 403" "the known requests answer as expected"
snap; S1=$M
is "$(delta 'secretd_reveals_total{scope=user}') $(delta 'secretd_reveals_total{scope=org}')" \
    "3 2" "3 user and 2 org reveals: the reveal counters move by 3 and 2"
is "$(delta 'secretd_policy_denials_total{}')" 1 "one 403: denials +1"
is "$(delta 'secretd_group_commits_total{}') $(delta 'secretd_group_commit_writes_sum{}') $(delta 'secretd_group_commit_writes_bucket{le=1}')" \
    "2 2 2" "two writes one after the other: 2 commits of one write each"
is "$(v "$S1" 'secretd_store_secrets{}')" 2 "the store holds 2 secrets"
ok "$([ "$(v "$S1" 'secretd_store_size_bytes{}')" -gt 0 ]; echo $?)" \
    "the store's size in bytes is there"
R='route=/v1/secrets/{name}/reveal'
is "$(delta "secretd_http_requests_total{code=200,method=POST,$R}")" 5 \
    "HTTP requests by route template: reveal 200 +5"
is "$(delta 'secretd_http_requests_total{code=201,method=POST,route=/v1/secrets}') $(delta 'secretd_http_requests_total{code=403,method=POST,route=/v1/secrets}')" \
    "2 1" "POST /v1/secrets: 201 +2, 403 +1"
is "$(delta 'secretd_http_requests_total{code=200,method=GET,route=/v1/metrics}')" 1 \
    "the previous scrape is counted once"
is "$(delta "secretd_http_request_duration_seconds_count{method=POST,$R}")" 5 \
    "the reveal route's latency histogram counts 5 more"
api "$C" GET /v1/nosuchroute >/dev/null
api "$C" GET /v1/secrets/ZQXALICESECRET >/dev/null
snap; S0=$S1 S1=$M
is "$(delta 'secretd_http_requests_total{code=404,method=any,route=unmatched}')" 1 \
    "a path no route matches is counted as unmatched"

# --- failed authentications, by reason ---
S0=$S1
badtok() { printf 'rts_%016x_%s' "$1" ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq; }
is "$(status_of "$(tls "$(badtok 1)" GET /v1/secrets)")" 401 "an unknown token: 401"
SHORT=$(token_create "$A" '{"description":"short","ttlSeconds":1}')
sleep 2.2
is "$(status_of "$(tls "$SHORT" GET /v1/secrets)")" 401 "an expired token: 401"
n401=0 n429=0
for i in $(seq 2 13); do
	st=$(status_of "$(runuser -u "$B" -- curl -s -m "$E2E_TIMEOUT" \
	    -w '\n%{http_code}' -H "Authorization: Bearer $(badtok "$i")" \
	    --unix-socket "$E2E_SOCK" http://localhost/v1/secrets)")
	case $st in 401) n401=$((n401 + 1)) ;; 429) n429=$((n429 + 1)) ;; esac
done
ok "$([ "$n429" -gt 0 ] && [ $((n401 + n429)) = 12 ]; echo $?)" \
    "bad tokens from one user: $n401 refused 401, then $n429 rate limited 429"
snap; S1=$M
is "$(delta 'secretd_auth_failures_total{reason=bad_token}') $(delta 'secretd_auth_failures_total{reason=expired}') $(delta 'secretd_auth_failures_total{reason=rate_limited}')" \
    "$((n401 + 1)) 1 $n429" "failed authentications by reason: bad token, expired, rate limited"

# --- tool executions, by tool and outcome ---
S0=$S1
sts=$(put "$A" '{"name":"ZQXTOOLKEY","value":"tool-key-value-1"}')
for a in good good bad; do
	out=$(api "$A" POST /v1/tools/mtool/execute "{\"action\":\"$a\"}")
	sts+=" $(status_of "$out"):$(body_of "$out" | jq -r .ok)"
done
is "$sts" "201 200:true 200:true 200:false" "the tool ran twice well and failed once"
snap; S1=$M
is "$(delta 'secretd_tool_executions_total{outcome=ok,tool=mtool}') $(delta 'secretd_tool_executions_total{outcome=failed,tool=mtool}') $(delta 'secretd_tool_executions_total{outcome=error,tool=mtool}')" \
    "2 1 0" "tool executions: ok +2, failed +1, error +0"

# --- front-end and runner restarts ---
S0=$S1
FE=$(frontend_pid)
fe_start=$(v "$S0" 'secretd_frontend_start_time_seconds{}')
sleep 1.1	# the new front-end's start time is a later second
kill -KILL "$FE"
end=$((SECONDS + 15))
until nfe=$(frontend_pid); [ -n "$nfe" ] && [ "$nfe" != "$FE" ] &&
    [ "$(status_of "$(api "$C" GET /v1/health)")" = 200 ] ||
    [ "$SECONDS" -ge "$end" ]; do sleep 0.1; done
snap; S1=$M
is "$(delta 'secretd_frontend_restarts_total{}')" 1 "front-end killed: restarts +1"
is "$(v "$S1" 'secretd_reveals_total{scope=user}') $(v "$S1" 'secretd_group_commits_total{}')" \
    "$(v "$S0" 'secretd_reveals_total{scope=user}') $(v "$S0" 'secretd_group_commits_total{}')" \
    "the broker's counters are kept across it"
is "$(v "$S1" "secretd_http_requests_total{code=200,method=POST,$R}")" 0 \
    "the new front-end's HTTP counters start at zero"
ok "$([ "$(v "$S1" 'secretd_frontend_start_time_seconds{}')" -gt "$fe_start" ]; echo $?)" \
    "and its start time says when they started"
S0=$S1
RUN=$(pgrep -P "$SECRETD_PID" -f secretd-runner | head -n 1)
kill -KILL "$RUN"
end=$((SECONDS + 15))
until nrun=$(pgrep -P "$SECRETD_PID" -f secretd-runner | head -n 1);
    [ -n "$nrun" ] && [ "$nrun" != "$RUN" ] || [ "$SECONDS" -ge "$end" ]; do
	sleep 0.1
done
snap; S1=$M
is "$(delta 'secretd_runner_restarts_total{}') $(delta 'secretd_frontend_restarts_total{}')" \
    "1 0" "runner killed: runner restarts +1, front-end restarts +0"

# --- nothing names a secret, a user, the org or a token ---
leaks=
for w in ZQX "$A" "$B" "$C" "$E2E_ORG" "${ADMIN_TOK:4:16}" "${MEMBER_TOK:4:16}"; do
	grep -qF -- "$w" "$RAW" && leaks+=" $w"
done
is "$leaks" "" "$n_snap replies hold no secret, user, org or token name"

# --- health names the audit log while it cannot be written ---
health() {
	local out
	out=$(curl -s -m "$E2E_TIMEOUT" -w '\n%{http_code}' \
	    --unix-socket "$E2E_SOCK" http://localhost/v1/health)
	echo "$(status_of "$out") $(body_of "$out" | jq -c .)"
}
is "$(health)" '200 {"status":"ok"}' "health: ok"
# outage WHAT: fill the audit log's disk, then repeat WHAT (a write or a
# read) until the log refuses one: that request is answered 503 and health
# names the audit log; space back, the next request is served and health
# is ok again, and the one failure is counted.
outage() {
	local st i n503=0 body=
	S0=$M
	dd if=/dev/zero of="$AFS/filler" bs=4096 status=none 2>/dev/null
	sync -f "$AFS"
	# The log's last block still takes a few lines first.
	for i in $(seq 1 200); do
		if [ "$1" = write ]; then
			st=$(tls "$ADMIN_TOK" POST /v1/secrets \
			    "{\"name\":\"ZQXFILL\",\"value\":\"v-$i-v\"}" | tail -n 1)
		else
			st=$(tls "$ADMIN_TOK" GET /v1/secrets/ZQXALICESECRET'?user_id='"$A" |
			    tail -n 1)
		fi
		[ "$st" = 503 ] && { n503=1; break; }
	done
	is "$n503" 1 "audit disk full: a $1 is refused 503"
	is "$(health)" '503 {"status":"degraded","audit":"unwritable"}' \
	    "health after a refused $1: 503 degraded, naming the audit log"
	rm -f "$AFS/filler"
	sync -f "$AFS"
	is "$(status_of "$(tls "$ADMIN_TOK" GET /v1/secrets/ZQXORGSECRET'?orgWide=true')")" \
	    200 "space back: a read is served with its line"
	is "$(health)" '200 {"status":"ok"}' "health: ok again"
	snap; S1=$M
	is "$(delta 'secretd_audit_write_failures_total{}') $(v "$S1" 'secretd_degraded{part=audit}')" \
	    "1 0" "one audit failure counted, and the audit log is not degraded now"
}
if [ -z "$MOUNT" ]; then
	for i in $(seq 1 10); do
		tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $LOOP_WHY"
	done
else
	outage write
	outage read
fi

secretd_finish
done_testing
