#!/usr/bin/env bash
# On the PostgreSQL store a request whose read is not fetched yet runs
# again once it is; the runs thrown away leave no trace.  A reveal with a
# token (two waves: the token, then the record) is answered once, with one
# audit line and one count, concurrent ones too; an unknown token counts
# one failed authentication a request, so the rate limit starts at the
# eleventh, not sooner.  Reads that each need the one before (a page of
# tokens: owner entries, ids, records; a tool's credential slots: the
# user's secret, else the org's) go out together, so a page of 20 tokens
# and a tool with 3 slots answer within the runs a request may make.
# With the database stopped, health, whoami and
# metrics over the unix socket answer at once, reads and writes 503 within
# store_timeout with one audit line each, and nothing stored changes; once
# it is back, the same daemon serves again.  A commit that waits past
# store_timeout for a row another session holds answers 503 once,
# changes nothing, and the next commit goes through.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/pglib.sh"
. "$top_srcdir/tests/e2e/tools_lib.sh"

A=$E2E_ALICE C=$E2E_ADMIN
UNKNOWN=rts_00000000000000ee_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq

require_root
if ! ldd "$SECRETD" 2>/dev/null | grep -q 'libpq\.so'; then
	echo "1..0 # SKIP secretd was built without the PostgreSQL store"
	exit 0
fi
pg_require
pg_init r && pg_start r ||
    { echo "Bail out! PostgreSQL cluster r did not start"; exit 1; }
e2e_setup "store = postgresql" "postgresql = $(pg_conninfo r)" \
    "store_timeout = 1s" "tools_dir = tools.d"
tools_setup
# Three slots, each naming an org secret: each looks for alice's own
# secret of that name first, then the org's.
tool env3 <<EOF
type = exec
command = $BIN/env_stdin.py
timeout = 5s
slot one
	secret = RPL_ORG_1
	env = ONE
slot two
	secret = RPL_ORG_2
	env = TWO
slot three
	secret = RPL_ORG_3
	env = THREE
action run
	param leak string
EOF
secretd_start
PID=$SECRETD_PID

# n_audit FILTER: how many audit lines FILTER (a jq condition) selects.
n_audit() { audit_lines "$1" | wc -l; }
# metric NAME{LABELS}: its value in the admin's /v1/metrics; 0 if absent.
metric() {
	api "$C" GET /v1/metrics | awk -v k="$1" \
	    'index($0, k " ") == 1 { print $NF; f = 1 } END { if (!f) print 0 }'
}
ms_now() { echo $(($(date +%s%N) / 1000000)); }

out=$(api "$A" POST /v1/secrets '{"name":"RPL","value":"replay-value-1"}')
is "$(status_of "$out")" 201 "alice creates RPL on PostgreSQL"
TOK=$(token_create "$A" '{"description":"replay"}')
ok "$([ -n "$TOK" ]; echo $?)" "alice makes a token"

# --- one answer, one audit line, one count, whatever the runs ---
r0=$(metric 'secretd_reveals_total{scope="user"}')
a0=$(n_audit '.op == "reveal" and .name == "RPL"')
out=$(tls "$TOK" POST /v1/secrets/RPL/reveal)
is "$(status_of "$out") $(body_of "$out" | jq -r .value)" "200 replay-value-1" \
    "a reveal with a token (the token, then the record, fetched) answers once"
is "$(n_audit '.op == "reveal" and .name == "RPL"')" $((a0 + 1)) \
    "it wrote one audit line"
pids=()
for i in 1 2 3 4 5 6 7 8; do
	tls "$TOK" POST /v1/secrets/RPL/reveal >"$E2E_DIR/rev.$i" &
	pids+=($!)
done
wait "${pids[@]}"
sts=$(for i in 1 2 3 4 5 6 7 8; do status_of "$(cat "$E2E_DIR/rev.$i")"; done |
    sort -u | tr '\n' ' ')
is "$sts" "200 " "8 concurrent reveals with the token all answer 200"
is "$(n_audit '.op == "reveal" and .name == "RPL"')" $((a0 + 9)) \
    "they wrote one audit line each"
is "$(metric 'secretd_reveals_total{scope="user"}')" $((r0 + 9)) \
    "and were counted once each"

# --- reads that depend on each other, many at once ---
for i in $(seq 2 20); do
	token_create "$A" "{\"description\":\"page $i\"}" >/dev/null
done
out=$(tls "$TOK" GET /v1/tokens)
is "$(status_of "$out") $(body_of "$out" | jq '.tokens | length')" "200 20" \
    "a page of alice's 20 tokens, with a token, answers 200"
is "$(body_of "$out" | jq -r '[.tokens[].description] | unique | length')" 20 \
    "and lists each of them"
out=$(api "$C" GET "/v1/tokens?limit=7")
is "$(status_of "$out") $(body_of "$out" | jq '.tokens | length')" "200 7" \
    "the admin's page of 7 of the org's tokens answers 200"
sts=
for i in 1 2 3; do
	sts+="$(status_of "$(api "$C" POST /v1/secrets \
	    "{\"name\":\"RPL_ORG_$i\",\"value\":\"org-value-$i-abcdef\",\"orgWide\":true}")") "
done
is "$sts" "201 201 201 " "the admin stores the three org secrets"
out=$(tls "$TOK" POST /v1/tools/env3/execute '{"action":"run","params":{"leak":"TWO"}}')
is "$(status_of "$out")" 200 \
    "a tool with 3 credential slots, with a token, answers 200"
is "$(body_of "$out" | jq -r '[.credentials[] | .slot + ":" + .scope] | join(" ")')" \
    "one:org two:org three:org" "each slot resolved to the org's secret"
is "$(body_of "$out" | jq -r '.result.env.TWO')" "[REDACTED:two]" \
    "the tool got the value (it came back redacted)"

# --- a run thrown away is not a failed authentication ---
f0=$(metric 'secretd_auth_failures_total{reason="bad_token"}')
sts=
for i in 1 2 3 4 5 6 7 8 9 10 11; do
	sts+="$(status_of "$(tls "$UNKNOWN" GET /v1/secrets)") "
done
is "$sts" "401 401 401 401 401 401 401 401 401 401 429 " \
    "an unknown token: 401 ten times, then 429 (one failure a request)"
is "$(metric 'secretd_auth_failures_total{reason="bad_token"}')" $((f0 + 10)) \
    "ten bad-token failures counted, not one a run"

# --- the database stopped ---
before=$(snapshot)
pg_stop r fast
ok $? "PostgreSQL stopped"
t0=$(ms_now)
out=$(api "$A" GET /v1/health)
t1=$(ms_now)
is "$(status_of "$out")" 200 "health answers while the database is down"
ok "$([ $((t1 - t0)) -lt 500 ]; echo $?)" "at once ($((t1 - t0)) ms)"
out=$(api "$A" GET /v1/whoami)
is "$(status_of "$out") $(body_of "$out" | jq -r .userId)" "200 $A" \
    "whoami over the unix socket needs no store"
a1=$(n_audit '.op == "reveal" and .name == "RPL" and .outcome == "unavailable"')
t0=$(ms_now)
out=$(api "$A" POST /v1/secrets/RPL/reveal)
t1=$(ms_now)
is_error "$out" 503 unavailable "a reveal while the database is down: 503"
ok "$([ $((t1 - t0)) -ge 900 ] && [ $((t1 - t0)) -lt 2500 ]; echo $?)" \
    "after store_timeout (1 s), not before, not much after ($((t1 - t0)) ms)"
is "$(n_audit '.op == "reveal" and .name == "RPL" and .outcome == "unavailable"')" \
    $((a1 + 1)) "one audit line says unavailable"
out=$(tls "$TOK" POST /v1/secrets/RPL/reveal)
is_error "$out" 503 unavailable "a reveal with a token: 503 too"
w0=$(n_audit '.op == "put" and .name == "RPL"')
out=$(api "$A" POST /v1/secrets '{"name":"RPL","value":"replay-value-2"}')
is_error "$out" 503 unavailable "a rotation while the database is down: 503"
is "$(n_audit '.op == "put" and .name == "RPL"')" $((w0 + 1)) \
    "with one audit line"
out=$(api "$C" GET /v1/metrics)
is "$(status_of "$out")" 200 "metrics over the unix socket still answer"

# --- back ---
pg_start r
ok $? "PostgreSQL started again"
end=$((SECONDS + 15))
until out=$(api "$A" POST /v1/secrets/RPL/reveal) &&
    [ "$(status_of "$out")" = 200 ] || [ "$SECONDS" -ge "$end" ]; do
	sleep 0.2
done
is "$(status_of "$out") $(body_of "$out" | jq -r .value)" "200 replay-value-1" \
    "the same daemon reveals again: the refused rotation changed nothing"
is "$(snapshot)" "$before" "no secret's metadata changed"
is "$SECRETD_PID" "$PID" "secretd was not restarted"
out=$(tls "$TOK" POST /v1/secrets/RPL/reveal)
is "$(status_of "$out")" 200 "the token works again"
out=$(api "$A" POST /v1/secrets '{"name":"RPL","value":"replay-value-3"}')
is "$(status_of "$out")" 200 "a rotation is acknowledged again"
out=$(tls "$TOK" POST /v1/secrets/RPL/reveal)
is "$(body_of "$out" | jq -r .value)" replay-value-3 "and revealed"

# --- a commit past its deadline: 503 once, then the next commit works ---
# Another session holds RPL's row (plain reads still pass): the commit's
# SELECT ... FOR UPDATE waits past store_timeout.
pg_psql r -c "BEGIN; SELECT 1 FROM secretd.secrets WHERE name = 'RPL' FOR UPDATE; SELECT pg_sleep(2.5); COMMIT;" >/dev/null &
holder=$!
sleep 0.5
w0=$(n_audit '.op == "put" and .name == "RPL"')
out=$(api "$A" POST /v1/secrets '{"name":"RPL","value":"replay-value-4"}')
is_error "$out" 503 unavailable "a rotation whose row another session holds: 503"
is "$(n_audit '.op == "put" and .name == "RPL"')" $((w0 + 1)) \
    "answered once, with one audit line"
wait "$holder"
out=$(api "$A" POST /v1/secrets/RPL/reveal)
is "$(body_of "$out" | jq -r .value)" replay-value-3 \
    "the rotation past its deadline changed nothing"
out=$(api "$A" POST /v1/secrets '{"name":"RPL","value":"replay-value-5"}')
is "$(status_of "$out")" 200 "the next commit goes through"
out=$(tls "$TOK" POST /v1/secrets/RPL/reveal)
is "$(body_of "$out" | jq -r .value)" replay-value-5 "and is revealed"

secretd_finish
done_testing
