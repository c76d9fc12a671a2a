#!/usr/bin/env bash
# Tool execution end to end: the real daemon with its runner, real users,
# an HTTPS upstream on loopback (tests/e2e/upstream.py) that records what
# it got and echoes the credential back in every encoding, and exec tools
# (tests/e2e/tools/).  What is checked: each slot resolves to the caller's
# own secret, else the org's; overrides and the object form; the caller
# never sees a value while the upstream got it; the policy; every refusal
# with nothing sent upstream; failures, timeouts and a runner killed
# mid-run; the runner's confinement; the audit lines.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/tools_lib.sh"
require_root
for c in python3 openssl jq base64 xxd; do
	command -v "$c" >/dev/null ||
	    { echo "1..0 # SKIP $c is not installed"; exit 0; }
done

e2e_setup "org_reveal = admins" "tool_max_concurrent = 4" "tool_max_per_user = 3"
AUDIT=$E2E_DIR/state/audit.log
tools_setup
DOWN_PORT=$(free_port)

tool crm <<EOF
description = The test upstream
type = http
timeout = 3s
base_url = $BASE
ca_file = $UP/ca.crt
slot apiKey
	secret = SHARED_CRM_KEY
	header = Authorization: Bearer {}
action echo
	method = GET
	path = /echo
	param echo string query
	param fmt string query
action post
	method = POST
	path = /echo/items
	param name string required body
	param count number body
	param flag bool body
action slow
	method = GET
	path = /slow
	param s number query
action redirect
	method = GET
	path = /redirect
	param to string required query
action big
	method = GET
	path = /big
	param n number required query
action status
	method = GET
	path = /status/{code}
	param code string required
EOF
tool_custom_crm
tool slowcrm <<EOF
type = http
timeout = 10s
base_url = $BASE
ca_file = $UP/ca.crt
slot apiKey
	secret = SHARED_CRM_KEY
	header = X-Api-Key: {}
action slow
	method = GET
	path = /slow
	param s number query
EOF
tool admin-only <<EOF
type = http
allow = admins
base_url = $BASE
ca_file = $UP/ca.crt
slot apiKey
	secret = SHARED_CRM_KEY
	header = X-Api-Key: {}
action echo
	method = GET
	path = /echo
EOF
tool down <<EOF
type = http
base_url = https://localhost:$DOWN_PORT
ca_file = $UP/ca.crt
slot apiKey
	secret = SHARED_CRM_KEY
	header = X-Api-Key: {}
action echo
	method = GET
	path = /echo
EOF
tool in-query <<EOF
type = http
base_url = $BASE
ca_file = $UP/ca.crt
slot apiKey
	secret = SHARED_CRM_KEY
	query = api_key
action echo
	method = GET
	path = /echo
	param echo string query
EOF
tool in-basic <<EOF
type = http
base_url = $BASE
ca_file = $UP/ca.crt
slot apiKey
	secret = SHARED_CRM_KEY
	basic = api:{}
action echo
	method = GET
	path = /echo
	param echo string query
EOF
exec_tool env env_stdin.py
exec_tool exit3 exit3.sh
exec_tool flood flood.sh
exec_tool forker forker.sh
exec_tool sleeper sleeper.sh 30s

secretd_start

ORG_KEY=crm-org-key-0123456789
ALICE_KEY=crm-alice-key-abcdef
OTHER_KEY=other-alice-987654
PRIVATE=alice-private-55555

put() {	# put USER BODY
	api "$1" POST /v1/secrets "$2" >/dev/null
}
put "$E2E_ADMIN" "{\"name\":\"SHARED_CRM_KEY\",\"value\":\"$ORG_KEY\",\"orgWide\":true}"
put "$E2E_ALICE" "{\"name\":\"SHARED_CRM_KEY\",\"value\":\"$ALICE_KEY\"}"
put "$E2E_ALICE" "{\"name\":\"OTHER_KEY\",\"value\":\"$OTHER_KEY\"}"
put "$E2E_ALICE" "{\"name\":\"ALICE_ONLY\",\"value\":\"$PRIVATE\"}"

run() {	# run USER TOOL BODY: the response, its status on the last line
	api "$1" POST "/v1/tools/$2/execute" "$3"
}

# every encoding of a value the upstream echoes
encodings() {
	local v=$1
	printf '%s\n' "$v"
	printf '%s' "$v" | base64 -w0; echo
	printf '%s' "$v" | base64 -w0 | tr '+/' '-_' | tr -d '='; echo
	printf '%s' "$v" | xxd -p | tr -d '\n'; echo
	printf '%s' "$v" | xxd -p | tr -d '\n' | tr a-f A-F; echo
}
# leaks TEXT VALUE...: how many encodings of the values TEXT holds
leaks() {
	local text=$1 v e n=0
	shift
	for v in "$@"; do
		while read -r e; do
			[ -n "$e" ] && case $text in *"$e"*) n=$((n + 1));; esac
		done < <(encodings "$v"; encodings "Bearer $v"; encodings "api:$v")
	done
	echo "$n"
}

# --- resolution: own, then org; overrides; the object form ---
out=$(run "$E2E_ALICE" crm '{"action":"echo"}')
is "$(status_of "$out")" 200 "alice runs crm.echo"
is "$(up_header Authorization)" "Bearer $ALICE_KEY" \
    "the upstream got alice's own SHARED_CRM_KEY"
is "$(body_of "$out" | jq -c '.credentials')" \
    '[{"slot":"apiKey","name":"SHARED_CRM_KEY","scope":"user","version":1}]' \
    "the answer names the slot's secret, scope and version"
is "$(body_of "$out" | jq -r '[.tool,.action,.ok,.status] | join(" ")')" \
    "crm echo true 200" "tool, action, ok and status"
ok "$(body_of "$out" | jq -e '.durationMs >= 0 and .redactions >= 1' >/dev/null; echo $?)" \
    "durationMs and redactions are there"

out=$(run "$E2E_BOB" crm '{"action":"echo"}')
is "$(up_header Authorization)" "Bearer $ORG_KEY" \
    "bob has none of his own: the upstream got the org's"
is "$(body_of "$out" | jq -r '.credentials[0].scope')" org "bob's slot used the org secret"

run "$E2E_ALICE" crm '{"action":"echo","credentialOverrides":{"apiKey":"OTHER_KEY"}}' >/dev/null
is "$(up_header Authorization)" "Bearer $OTHER_KEY" \
    "an override picks another name"
out=$(run "$E2E_ALICE" crm '{"action":"echo","credentialOverrides":{"apiKey":{"name":"SHARED_CRM_KEY","orgWide":true}}}')
is "$(up_header Authorization)" "Bearer $ORG_KEY" \
    "the object form forces the org secret"
is "$(body_of "$out" | jq -r '.credentials[0].scope')" org "and says so"

# --- the documentation's call, as printed ---
out=$(run "$E2E_ALICE" custom-crm '{"action":"lookup_customer","params":{"email":"person@example.com"},"credentialOverrides":{"apiKey":"SHARED_CRM_KEY"}}')
is "$(status_of "$out")" 200 "custom-crm lookup_customer as the documentation prints it"
is "$(last_upstream | jq -r '.path')" "/echo/customers/person%40example.com" \
    "the path parameter is URL-encoded into the path"

# --- redaction: the caller never sees a value ---
for spec in "crm|header:Authorization" "in-query|query:api_key" "in-basic|basic"; do
	t=${spec%%|*} w=${spec#*|}
	out=$(api "$E2E_BOB" POST "/v1/tools/$t/execute" \
	    "{\"action\":\"echo\",\"params\":{\"echo\":\"$w\"}}")
	body=$(body_of "$out")
	is "$(status_of "$out")" 200 "$t: echo of the credential answered"
	is "$(leaks "$body" "$ORG_KEY")" 0 "$t: no encoding of the value reaches the caller"
	n=$(grep -o '\[REDACTED:apiKey\]' <<<"$body" | wc -l)
	ok "$([ "$n" -ge 8 ] && [ "$n" -eq "$(jq -r .redactions <<<"$body")" ]; echo $?)" \
	    "$t: redactions ($n markers) counted right"
	sent=$ORG_KEY
	[ "$t" = in-basic ] && sent=$(printf 'api:%s' "$ORG_KEY" | base64 -w0)
	ok "$(grep -qF "$sent" <<<"$(last_upstream)"; echo $?)" \
	    "$t: while the upstream did get the value"
done
out=$(run "$E2E_BOB" crm '{"action":"echo","params":{"echo":"header:Authorization","fmt":"text"}}')
is "$(body_of "$out" | jq -r '.result | type')" string "a text answer is a string result"
is "$(leaks "$(body_of "$out")" "$ORG_KEY")" 0 "and holds no encoding of the value"

out=$(run "$E2E_ALICE" crm '{"action":"post","params":{"name":"item-zebra-42","count":3,"flag":true}}')
is "$(last_upstream | jq -c '.body | fromjson')" '{"name":"item-zebra-42","count":3,"flag":true}' \
    "body parameters keep their JSON types"

# --- policy ---
out=$(api "$E2E_BOB" POST '/v1/secrets/SHARED_CRM_KEY/reveal?orgWide=true')
is "$(status_of "$out")" 403 "bob may not reveal the org secret (org_reveal = admins)"
out=$(run "$E2E_BOB" crm '{"action":"echo"}')
is "$(status_of "$out")" 200 "yet he may use it in a tool"
n0=$(up_count)
missing=$(run "$E2E_BOB" crm '{"action":"echo","credentialOverrides":{"apiKey":"NO_SUCH_KEY"}}')
other=$(run "$E2E_BOB" crm '{"action":"echo","credentialOverrides":{"apiKey":"ALICE_ONLY"}}')
is "$(status_of "$other")" 404 "bob naming alice's private secret: 404"
is "$(body_of "$other" | jq -r .error.message | sed 's/ALICE_ONLY/X/')" \
    "$(body_of "$missing" | jq -r .error.message | sed 's/NO_SUCH_KEY/X/')" \
    "exactly the answer a missing name gets"
out=$(run "$E2E_ALICE" admin-only '{"action":"echo"}')
is "$(status_of "$out")" 403 "an admins-only tool refuses a member"
out=$(run "$E2E_ADMIN" admin-only '{"action":"echo"}')
is "$(status_of "$out")" 200 "and serves an admin"
is "$(up_header X-Api-Key)" "$ORG_KEY" "the admin used the org key"
n0=$(up_count)

# --- refusals: 4xx naming the field, nothing sent upstream ---
refuse() {	# refuse STATUS TOOL BODY WORD NAME
	local out
	out=$(run "$E2E_ALICE" "$2" "$3")
	is "$(status_of "$out")" "$1" "$5: $1"
	ok "$(body_of "$out" | jq -r .error.message | grep -qF -- "$4"; echo $?)" \
	    "$5: the message names $4"
}
refuse 404 nosuch '{"action":"echo"}' nosuch "unknown tool"
refuse 400 crm '{"action":"nope"}' action "unknown action"
refuse 400 crm '{"action":"echo","credentialOverrides":{"noSlot":"X"}}' noSlot "unknown slot"
refuse 400 crm '{"action":"post","params":{"name":5}}' params.name "a number for a string"
refuse 400 crm '{"action":"post","params":{}}' params.name "a required parameter missing"
refuse 400 crm '{"action":"echo","params":{"bogus":"x"}}' params.bogus "an undeclared parameter"
refuse 400 crm '{"action":"echo","params":{"echo":{"a":1}}}' params.echo "an object parameter"
refuse 404 crm '{"action":"echo","credentialOverrides":{"apiKey":"NO_SUCH_KEY"}}' NO_SUCH_KEY "a missing secret"
refuse 400 crm '{"params":{}}' action "no action"
is "$(up_count)" "$n0" "none of the refused calls reached the upstream"
out=$(api "$E2E_ALICE" GET /v1/tools/custom-crm)
is "$(body_of "$out" | jq -r '.name,.type,.credentials[0].defaultSecret,.actions[0].params[0].in' | tr '\n' ' ')" \
    "custom-crm http SHARED_CRM_KEY path " "GET /v1/tools/custom-crm describes it"
out=$(api "$E2E_ALICE" GET /v1/tools)
ok "$(body_of "$out" | jq -e '[.tools[].name] | index("crm") != null and index("admin-only") == null' >/dev/null; echo $?)" \
    "GET /v1/tools lists what alice may run, not the admins' tool"
out=$(api "$E2E_ALICE" GET '/v1/tools?limit=2')
is "$(body_of "$out" | jq -r '(.tools | length), .nextCursor' | tr '\n' ' ')" \
    "2 custom-crm " "a page of two, then a cursor"
out=$(api "$E2E_ALICE" GET '/v1/tools?limit=2&cursor=custom-crm')
is "$(body_of "$out" | jq -r '.tools[0].name')" down "the cursor starts the next page"
out=$(api "$E2E_ALICE" GET '/v1/tools/admin-only')
is "$(status_of "$out")" 403 "GET of an admins-only tool: 403 for a member"
out=$(api "$E2E_ALICE" GET '/v1/tools/-x')
is "$(status_of "$out")" 400 "a tool name starting with - is refused"

# --- upstream failures ---
out=$(run "$E2E_ALICE" down '{"action":"echo"}')
is "$(status_of "$out")" 502 "an upstream that is down: 502"
is "$(body_of "$out" | jq -r .error.code)" upstream_failed "code upstream_failed"
out=$(run "$E2E_ALICE" crm "{\"action\":\"redirect\",\"params\":{\"to\":\"https://127.0.0.2:$UP_PORT/echo\"}}")
is "$(status_of "$out")" 502 "a redirect to another host: 502"
out=$(run "$E2E_ALICE" crm '{"action":"status","params":{"code":"503"}}')
is "$(body_of "$out" | jq -r '[.ok,.status] | join(" ")')" "false 503" \
    "an upstream error status is reported, ok false"
out=$(run "$E2E_ALICE" crm '{"action":"big","params":{"n":10485760}}')
is "$(status_of "$out")" 502 "a 10 MiB answer over max_result: 502"

t0=$(date +%s%N)
run "$E2E_ALICE" crm '{"action":"slow","params":{"s":30}}' >"$E2E_DIR/slow.out" &
slow=$!
sleep 0.3
out=$(run "$E2E_BOB" crm '{"action":"echo"}')
t1=$(date +%s%N)
is "$(status_of "$out")" 200 "another execution is served while one hangs"
ok "$([ $(( (t1 - t0) / 1000000 )) -lt 2500 ]; echo $?)" "without waiting for it"
wait "$slow"
t2=$(date +%s%N)
is "$(status_of "$(cat "$E2E_DIR/slow.out")")" 504 "the hanging upstream: 504 at the tool's timeout"
ok "$([ $(( (t2 - t0) / 1000000 )) -lt 8000 ]; echo $?)" "within the timeout and its grace"

# One caller cannot hold every execution: alice's fourth at once is 429,
# while bob is still served.
for i in 1 2 3; do
	run "$E2E_ALICE" crm '{"action":"slow","params":{"s":2}}' >"$E2E_DIR/hog.$i.out" &
	eval "hog$i=\$!"
done
sleep 0.5
out=$(run "$E2E_ALICE" crm '{"action":"echo"}')
is "$(status_of "$out")" 429 "a user past tool_max_per_user: 429"
is "$(body_of "$out" | jq -r .error.code)" rate_limited "code rate_limited"
out=$(run "$E2E_BOB" crm '{"action":"echo"}')
is "$(status_of "$out")" 200 "another user is served meanwhile"
wait "$hog1" "$hog2" "$hog3"
out=$(run "$E2E_ALICE" crm '{"action":"echo"}')
is "$(status_of "$out")" 200 "and alice again once hers have ended"

# --- exec tools ---
out=$(run "$E2E_ALICE" env '{"action":"run","params":{"leak":"CRM_KEY"}}')
is "$(status_of "$out")" 200 "an exec tool runs"
is "$(body_of "$out" | jq -r '.result.env | keys | join(",")')" "CRM_KEY,HOME,LANG,PATH" \
    "its environment: the slot's variable and PATH, HOME, LANG only"
is "$(body_of "$out" | jq -r '.result.env.CRM_KEY')" "[REDACTED:apiKey]" \
    "the value it printed is redacted"
is "$(body_of "$out" | jq -r '.result.stdin.action')" run \
    "it got {action, params} on stdin"
is "$(leaks "$(body_of "$out")" "$ALICE_KEY")" 0 "no encoding of the value in stdout or stderr"
ok "$(body_of "$out" | jq -e '.exitCode == 0 and (.stderr | contains("[REDACTED:apiKey]"))' >/dev/null; echo $?)" \
    "exitCode 0, and stderr is redacted too"
out=$(run "$E2E_ALICE" exit3 '{"action":"run"}')
is "$(body_of "$out" | jq -r '[.ok,.exitCode] | join(" ")')" "false 3" "a non-zero exit: ok false, exitCode 3"
ok "$(body_of "$out" | jq -e '.stderr | contains("oops")' >/dev/null; echo $?)" "its stderr is returned"
out=$(run "$E2E_ALICE" flood '{"action":"run"}')
is "$(status_of "$out")" 502 "an exec tool printing 10 MiB: 502"
t0=$(date +%s%N)
out=$(run "$E2E_ALICE" forker '{"action":"run"}')
t1=$(date +%s%N)
is "$(status_of "$out")" 200 "a tool whose child outlives it is answered"
ok "$([ $(( (t1 - t0) / 1000000 )) -lt 4000 ]; echo $?)" "without waiting for the child"
sleep 0.5
ok "$(! pgrep -u secretd-runner -f 'sleep 300' >/dev/null; echo $?)" \
    "and the child was killed with its process group"

# --- the runner: its confinement, then killed during an execution ---
RUNNER=$(pgrep -P "$SECRETD_PID" -f secretd-runner | head -n 1)
ok "$([ -n "$RUNNER" ]; echo $?)" "the runner runs, a child of the broker"
st=/proc/$RUNNER/status
is "$(awk '/^Uid:/ {print $2}' "$st")" "$(id -u secretd-runner)" "the runner runs as secretd-runner"
is "$(awk '/^CapEff:/ {print $2}' "$st")" 0000000000000000 "CapEff 0"
is "$(awk '/^NoNewPrivs:/ {print $2}' "$st")" 1 "NoNewPrivs 1"
is "$(awk '/^Seccomp:/ {print $2}' "$st")" 2 "Seccomp 2"
is "$(ls -l "/proc/$RUNNER/fd" | grep -c -e "$E2E_DIR/state" -e 'data.mdb' -e root.key)" 0 \
    "it holds no store, key or state descriptor"

run "$E2E_ALICE" sleeper "{\"action\":\"run\",\"params\":{\"pidfile\":\"/tmp/x\"}}" >"$E2E_DIR/kill.out" &
victim=$!
sleep 1
kill -KILL "$RUNNER"
wait "$victim"
is "$(status_of "$(cat "$E2E_DIR/kill.out")")" 502 "the runner killed mid-run: the caller gets 502"
new=
for _ in $(seq 50); do
	new=$(pgrep -P "$SECRETD_PID" -f secretd-runner | head -n 1)
	[ -n "$new" ] && [ "$new" != "$RUNNER" ] && break
	sleep 0.1
done
ok "$([ -n "$new" ] && [ "$new" != "$RUNNER" ]; echo $?)" "a new runner is started"
out=
for _ in $(seq 30); do
	out=$(run "$E2E_ALICE" crm '{"action":"echo"}')
	[ "$(status_of "$out")" = 200 ] && break
	sleep 0.1
done
is "$(status_of "$out")" 200 "and the next execution works"

# --- the front-end restarted while executions are in flight ---
# A new front-end numbers its requests from 1 again: the answer to an
# execution the old one asked for must not reach a request of the new one.
fe_pid() { pgrep -P "$SECRETD_PID" -f secretd-frontend | head -n 1; }
fe_restart() {	# kills the front-end, waits for the next one to serve
	local old new _
	old=$(fe_pid)
	kill -KILL "$old"
	for _ in $(seq 100); do
		new=$(fe_pid)
		[ -n "$new" ] && [ "$new" != "$old" ] &&
		    [ "$(status_of "$(api "$E2E_BOB" GET /v1/health)")" = 200 ] &&
		    break
		sleep 0.05
	done
}
fe_restart
run "$E2E_ALICE" slowcrm '{"action":"slow","params":{"s":3}}' >"$E2E_DIR/orphan.out" &
orphan=$!
sleep 0.5
fe_restart
for i in 1 2 3; do
	run "$E2E_BOB" slowcrm '{"action":"slow","params":{"s":4}}' >"$E2E_DIR/fe.$i.out" &
	eval "fe_$i=\$!"
done
wrong=0 good=0
for i in 1 2 3; do
	eval "wait \$fe_$i"
	out=$(cat "$E2E_DIR/fe.$i.out")
	[ "$(status_of "$out")" = 200 ] &&
	    [ "$(body_of "$out" | jq -r '.credentials[0].scope')" = org ] &&
	    good=$((good + 1))
	[ "$(body_of "$out" | jq -r '.credentials[0].scope' 2>/dev/null)" = user ] &&
	    wrong=$((wrong + 1))
done
wait "$orphan"
is "$wrong" 0 "no answer to an execution of the old front-end reaches a request of the new one"
is "$good" 3 "each of bob's executions gets its own answer"

# --- the audit lines ---
ok "$(audit_lines ".user == \"$E2E_ALICE\" and .op == \"exec\" and .name == \"crm\" and
    .outcome == \"ok\" and .tool == \"crm\" and .action == \"echo\" and
    .creds == [{\"slot\":\"apiKey\",\"name\":\"SHARED_CRM_KEY\",\"scope\":\"user\",\"version\":1}] and
    (.ms | type) == \"number\" and .status == 200 and (.redactions | type) == \"number\"" |
    grep -q .; echo $?)" \
    "an execution's audit line: caller, tool, action, slot, secret, scope, version"
ok "$(audit_lines ".user == \"$E2E_BOB\" and .op == \"exec\" and .outcome == \"ok\" and
    .tool == \"crm\" and .action == \"echo\" and
    .creds == [{\"slot\":\"apiKey\",\"name\":\"SHARED_CRM_KEY\",\"scope\":\"org\",\"version\":1}]" |
    grep -q .; echo $?)" \
    "bob's names the org secret"
ok "$(audit_lines '.op == "exec" and .outcome == "not_found" and .tool == "crm"' |
    grep -q .; echo $?)" \
    "a refused execution is audited"
ok "$(audit_lines '.op == "exec" and .outcome == "upstream_timeout" and .tool == "crm" and
    .action == "slow"' | grep -q .; echo $?)" \
    "a timeout is audited"
ok "$(audit_lines '.op == "exec" and .outcome == "upstream_failed" and .tool == "sleeper"' |
    grep -q .; echo $?)" \
    "the execution the runner took down is audited"
ok "$(audit_lines ".user == \"$E2E_ALICE\" and .op == \"exec\" and .outcome == \"unavailable\" and
    .tool == \"slowcrm\" and .action == \"slow\"" | grep -q .; echo $?)" \
    "the execution whose front-end went away is audited"
is "$(leaks "$(cat "$AUDIT")" "$ORG_KEY" "$ALICE_KEY" "$OTHER_KEY")" 0 \
    "the audit log holds no value"
ok "$(! grep -q 'person@example.com\|item-zebra-42' "$AUDIT"; echo $?)" "and no parameter"

secretd_finish
done_testing
