#!/usr/bin/env bash
# runtools mcp end to end: a Python MCP client (tests/e2e/mcp_client.py)
# starts `runtools mcp` as a real local user over the unix socket of the
# real daemon, whose tools call the loopback test upstream and the exec
# test tools.  What is checked: each protocol revision's initialize,
# tools/list exactly as the tools declare, calls of an http and an exec
# tool (redacted, the upstream got the credential, structuredContent),
# what a member may see, the filters, and each kind of error with the
# server still answering after it.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/tools_lib.sh"
require_root
for c in python3 openssl jq; do
	command -v "$c" >/dev/null ||
	    { echo "1..0 # SKIP $c is not installed"; exit 0; }
done

e2e_setup "org_reveal = admins"
tools_setup
tool_custom_crm
tool crm <<EOF
description = The test upstream
type = http
timeout = 5s
base_url = $BASE
ca_file = $UP/ca.crt
slot apiKey
	secret = SHARED_CRM_KEY
	header = X-Api-Key: {}
action echo
	description = Echo the request
	method = GET
	path = /echo
	param echo string query
action post
	description = Post an item
	method = POST
	path = /echo/items
	param name string required body
	param count number body
	param flag bool body
EOF
tool slow <<EOF
type = http
timeout = 2s
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
tool nokey <<EOF
type = http
base_url = $BASE
ca_file = $UP/ca.crt
slot apiKey
	secret = NO_SUCH_SECRET
	header = X-Api-Key: {}
action echo
	method = GET
	path = /echo
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
tool env <<EOF
type = exec
command = $BIN/env_stdin.py
timeout = 5s
slot apiKey
	secret = SHARED_CRM_KEY
	env = CRM_KEY
action run
	description = Print the environment
	param leak string
EOF

secretd_start

ORG_KEY=crm-org-key-0123456789
ALICE_KEY=crm-alice-key-abcdef
OTHER_KEY=other-alice-987654
api "$E2E_ADMIN" POST /v1/secrets "{\"name\":\"SHARED_CRM_KEY\",\"value\":\"$ORG_KEY\",\"orgWide\":true}" >/dev/null
api "$E2E_ALICE" POST /v1/secrets "{\"name\":\"SHARED_CRM_KEY\",\"value\":\"$ALICE_KEY\"}" >/dev/null
api "$E2E_ALICE" POST /v1/secrets "{\"name\":\"OTHER_KEY\",\"value\":\"$OTHER_KEY\"}" >/dev/null

# mcp USER [MCP ARGS...]: the messages on stdin, sent by the Python client
# to `runtools mcp` run as USER; prints what the server wrote.
mcp() {
	local user=$1; shift
	python3 "$top_srcdir/tests/e2e/mcp_client.py" --timeout 20 -- \
	    runuser -u "$user" -- "$RUNTOOLS" --url "unix:$E2E_SOCK" mcp "$@" \
	    2>>"$E2E_DIR/mcp.err"
}
# reply OUT ID: the reply with that id (a string id is given quoted).
reply() { printf '%s\n' "$1" | jq -c "select(type == \"object\" and .id == $2)"; }
init() {	# init REVISION [CLIENT]: the initialize request, id 0
	printf '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"%s","capabilities":{},"clientInfo":{"name":"%s","version":"1"}}}\n' \
	    "$1" "${2:-e2e-py}"
	echo '{"jsonrpc":"2.0","method":"notifications/initialized"}'
}
call() {	# call ID NAME ARGUMENTS
	printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"%s","arguments":%s}}\n' \
	    "$1" "$2" "$3"
}
LIST='{"jsonrpc":"2.0","id":1,"method":"tools/list"}'

# --- initialize, each revision ---
for rev in 2024-11-05 2025-03-26 2025-06-18 2025-11-25; do
	out=$(init "$rev" | mcp "$E2E_ALICE")
	is "$(reply "$out" 0 | jq -c '.result | [.protocolVersion, .serverInfo.name, .capabilities]')" \
	    "[\"$rev\",\"secretd\",{\"tools\":{\"listChanged\":false}}]" \
	    "initialize $rev: answered with $rev, serverInfo secretd, tools capability"
done
out=$(init 2099-01-01 | mcp "$E2E_ALICE")
is "$(reply "$out" 0 | jq -r .result.protocolVersion)" 2025-11-25 \
    "initialize with an unknown revision: our newest that has initialize"
is "$(printf '%s\n' "$out" | tail -n 1)" '{"exit": 0}' "end of input: exit 0"
out=$(init 2026-07-28 | mcp "$E2E_ALICE")
is "$(reply "$out" 0 | jq -r .result.protocolVersion)" 2025-11-25 \
    "initialize naming 2026-07-28, which has none: 2025-11-25"

# 2026-07-28: no initialize; the revision comes with each request.
META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"e2e-stateless"},"io.modelcontextprotocol/clientCapabilities":{}}'
out=$(mcp "$E2E_ALICE" <<EOF
{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{$META}}
{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{$META,"name":"crm__echo","arguments":{"echo":"header:X-Api-Key"}}}
{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2031-01-01"}}}
EOF
)
is "$(reply "$out" 1 | jq -c '.result | [.resultType, .supportedVersions[0], .serverInfo.name]')" \
    '["complete","2026-07-28","secretd"]' "server/discover lists 2026-07-28 first"
is "$(reply "$out" 2 | jq -c '.result | [.resultType, .isError, (.structuredContent | type)]')" \
    '["complete",false,"object"]' "2026-07-28: a call without initialize"
is "$(reply "$out" 3 | jq -c '[.error.code, .error.data.requested]')" '[-32022,"2031-01-01"]' \
    "2026-07-28: an unknown per-request revision is -32022"

# --- one 2025-06-18 session: list, calls, and errors between them ---
UP0=$(up_count)
out=$( { init 2025-06-18; cat <<EOF
{"jsonrpc":"2.0","id":"before","method":"ping"}
$LIST
$(call 2 custom-crm__lookup_customer '{"email":"person@example.com"}')
$(call 3 env__run '{}')
{"jsonrpc":"2.0","id":4,"method":
{"jsonrpc":"2.0","id":5,"method":"resources/list"}
$(call 6 crm__post '{"count":1}')
$(call 7 crm__post '{"name":"x","bogus":1}')
$(call 8 crm__post '{"name":5}')
$(call 9 crm__nope '{}')
$(call 10 slow__slow '{"s":30}')
$(call 11 nokey__echo '{}')
$(call 12 admin-only__echo '{}')
!big 1100000
$(call 13 crm__post '{"name":"item-1","count":2,"flag":true}')
{"jsonrpc":"2.0","id":14,"method":"ping"}
[{"jsonrpc":"2.0","id":15,"method":"ping"}]
EOF
} | mcp "$E2E_ALICE")

is "$(reply "$out" '"before"' | jq -c .result)" '{}' "ping before tools: answered"
is "$(reply "$out" 1 | jq -c '[.result.tools[].name] | sort')" \
    '["crm__echo","crm__post","custom-crm__lookup_customer","env__run","nokey__echo","slow__slow"]' \
    "tools/list: one tool per action a member may run, TOOL__ACTION"
is "$(reply "$out" 1 | jq -cS '.result.tools[] | select(.name == "crm__post") | .inputSchema')" \
    '{"additionalProperties":false,"properties":{"count":{"type":"number"},"flag":{"type":"boolean"},"name":{"type":"string"}},"required":["name"],"type":"object"}' \
    "crm__post: the input schema of its declared params"
is "$(reply "$out" 1 | jq -cS '.result.tools[] | select(.name == "custom-crm__lookup_customer") | [.description, .inputSchema]')" \
    '["Look up customers in the CRM: Find a customer by email",{"additionalProperties":false,"properties":{"email":{"type":"string"}},"required":["email"],"type":"object"}]' \
    "custom-crm__lookup_customer: the documentation's tool, described"
is "$(reply "$out" 1 | jq -cS '.result.tools[] | select(.name == "env__run") | .inputSchema')" \
    '{"additionalProperties":false,"properties":{"leak":{"type":"string"}},"type":"object"}' \
    "env__run: no required member when no param is required"
is "$(reply "$out" 1 | jq -r '.result.nextCursor // "none"')" none "one page"

r2=$(reply "$out" 2)
is "$(printf '%s' "$r2" | jq -c '[.result.isError, (.result.content | length), .result.content[0].type]')" \
    '[false,1,"text"]' "http tool: one text item, not an error"
is "$(printf '%s' "$r2" | jq -r '.result.structuredContent.headers.Authorization')" \
    '[REDACTED:apiKey]' "http tool: structuredContent holds the credential redacted"
is "$(printf '%s' "$r2" | jq -r '.result.content[0].text | fromjson | .path')" \
    /echo/customers/person%40example.com "the text item is the result serialised"
ok "$(printf '%s\n' "$out" | grep -qF -e "$ALICE_KEY" -e "$ORG_KEY"; [ $? -ne 0 ]; echo $?)" \
    "no value anywhere in what the server wrote"
is "$(grep -F '/echo/customers/' "$UP/log" | tail -n 1 | jq -r '.headers[] | select(.[0] == "Authorization") | .[1]')" \
    "Bearer $ALICE_KEY" "the upstream got alice's own key"

r3=$(reply "$out" 3)
is "$(printf '%s' "$r3" | jq -c '[.result.isError, .result.structuredContent.env.CRM_KEY, .result.structuredContent.stdin.action]')" \
    '[false,"[REDACTED:apiKey]","run"]' "exec tool: the key in its environment, redacted"

is "$(reply "$out" null | head -n 1 | jq -c '[.error.code, .id]')" '[-32700,null]' \
    "malformed JSON: -32700 with id null"
is "$(reply "$out" 5 | jq -c .error.code)" -32601 "unknown method: -32601"
is "$(reply "$out" 6 | jq -c '[.error.code, .error.message]')" '[-32602,"arguments.name: required"]' \
    "a missing required argument: -32602 naming it"
is "$(reply "$out" 7 | jq -c '[.error.code, .error.message]')" '[-32602,"arguments.bogus: unknown parameter"]' \
    "an unknown argument: -32602"
is "$(reply "$out" 8 | jq -c .error.code)" -32602 "a wrong type: -32602"
is "$(reply "$out" 9 | jq -c .error.code)" -32602 "an unknown tool: -32602"
is "$(reply "$out" 10 | jq -c '[.result.isError, (.result.content[0].text | test("504"))]')" \
    '[true,true]' "a tool that times out: isError with the daemon's message"
is "$(reply "$out" 11 | jq -c '[.result.isError, (.result.content[0].text | test("NO_SUCH_SECRET|apiKey"))]')" \
    '[true,true]' "a missing secret: isError naming it"
is "$(reply "$out" 12 | jq -c .error.code)" -32602 "a member calling an admins-only tool: unknown tool"
is "$(reply "$out" null | sed -n 2p | jq -c '[.error.code, .error.message]')" \
    '[-32600,"invalid request: a message over 1 MiB"]' "a line over 1 MiB: refused"
is "$(reply "$out" 13 | jq -c '[.result.isError, (.result.structuredContent.body | fromjson)]')" \
    '[false,{"name":"item-1","count":2,"flag":true}]' \
    "after every error the server still serves: typed body params arrive"
is "$(reply "$out" 14 | jq -c .result)" '{}' "ping at the end"
is "$(reply "$out" null | sed -n 3p | jq -c .error.code)" -32600 \
    "a batch in 2025-06-18, which removed them: -32600"
is "$(printf '%s\n' "$out" | grep -c '^NOTJSON')" 0 "nothing but JSON on standard output"
is "$(printf '%s\n' "$out" | tail -n 1)" '{"exit": 0}' "exit 0"
# Calls 2, 3 (exec: not upstream), 10, 13 reached the upstream; no refused one.
is "$(($(up_count) - UP0))" 3 "no refused call reached the upstream"

# --- requests before initialize, batches, structuredContent by revision ---
out=$( { echo "$LIST"; init 2025-03-26; cat <<EOF
[{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"},$(call 3 crm__echo '{}')]
$(call 4 crm__echo '{}')
EOF
} | mcp "$E2E_ALICE")
is "$(reply "$out" 1 | jq -c '[.error.code, .error.message]')" \
    '[-32600,"invalid request: send initialize first"]' "tools/list before initialize: -32600"
is "$(printf '%s\n' "$out" | jq -c 'select(type == "array") | [.[].id]')" '[2,3]' \
    "2025-03-26: a batch is answered with a batch"
is "$(reply "$out" 4 | jq -c '[.result.isError, (.result | has("structuredContent"))]')" \
    '[false,false]' "2025-03-26: no structuredContent, text only"

# --- who sees what, filters and overrides ---
out=$(echo "$LIST" | { init 2025-06-18; cat; } | mcp "$E2E_ADMIN")
is "$(reply "$out" 1 | jq -c '[.result.tools[].name | select(startswith("admin-only"))]')" \
    '["admin-only__echo"]' "an admin sees the admins-only tool"
out=$(echo "$LIST" | { init 2025-06-18; cat; } | mcp "$E2E_ALICE" --tool crm --tool env)
is "$(reply "$out" 1 | jq -c '[.result.tools[].name] | sort')" '["crm__echo","crm__post","env__run"]' \
    "--tool: only the tools named"
out=$(call 2 custom-crm__lookup_customer '{"email":"a@b"}' | { init 2025-06-18; cat; } |
    mcp "$E2E_ALICE" --tool crm)
is "$(reply "$out" 2 | jq -c .error.code)" -32602 "--tool: another tool cannot be called"
out=$(echo "$LIST" | mcp "$E2E_ALICE" --tool nosuch)
is "$(printf '%s\n' "$out" | tail -n 1)" '{"exit": 3}' "--tool naming no tool: exit 3 at start"
is "$(grep -c 'nosuch' "$E2E_DIR/mcp.err")" 1 "and the name on standard error"
out=$(echo "$LIST" | mcp "$E2E_BOB" --tool admin-only)
is "$(printf '%s\n' "$out" | tail -n 1)" '{"exit": 3}' "--tool naming a tool the member may not run: exit 3"
out=$(call 2 crm__echo '{}' | { init 2025-06-18; cat; } |
    mcp "$E2E_ALICE" --credential apiKey=OTHER_KEY)
is "$(up_header X-Api-Key)" "$OTHER_KEY" "--credential: the override reaches the upstream"
out=$(call 2 crm__echo '{}' | { init 2025-06-18; cat; } | mcp "$E2E_BOB")
is "$(up_header X-Api-Key)" "$ORG_KEY" "bob, with no key of his own: the org's"

# --- the daemon goes away during a session, and comes back ---
out=$(call 2 crm__echo '{}' | { init 2025-06-18; cat; cat <<EOF
!run kill -TERM $SECRETD_PID; while kill -0 $SECRETD_PID 2>/dev/null; do sleep 0.1; done
$(call 3 crm__echo '{}')
{"jsonrpc":"2.0","id":4,"method":"ping"}
EOF
} | mcp "$E2E_ALICE")
wait "$SECRETD_PID" 2>/dev/null
is "$(reply "$out" 2 | jq -c .result.isError)" false "a call while the daemon runs"
is "$(reply "$out" 3 | jq -c '[.error.code, (.error.data.message | test("connect"))]')" \
    '[-32603,true]' "the daemon gone: -32603, saying why"
is "$(reply "$out" 4 | jq -c .result)" '{}' "and the server still answers"
is "$(printf '%s\n' "$out" | tail -n 1)" '{"exit": 0}' "exit 0 at the end of input"
secretd_start

# --- the audit log ---
ok "$(audit_lines ".user == \"$E2E_ALICE\" and .op == \"exec\" and .outcome == \"ok\" and
    .tool == \"custom-crm\" and .action == \"lookup_customer\"" | grep -q .; echo $?)" \
    "the audit log has the execution"
if audit_lines 'has("client")' | grep -q .; then
	ok "$(audit_lines ".tool == \"custom-crm\" and .client == \"mcp:e2e-py\"" |
	    grep -q .; echo $?)" "the audit line names the MCP client"
else
	echo "ok $((tap_n += 1)) - the audit line names the MCP client # SKIP the daemon does not record X-RunTools-Client yet"
fi

ok "$(! grep -qE 'Sanitizer|runtime error' "$E2E_DIR/mcp.err"; echo $?)" \
    "runtools mcp logged no sanitizer report, at exit included"
secretd_finish
done_testing
