#!/usr/bin/env bash
# /v1/mcp end to end: an MCP client over Streamable HTTP (Python's
# http.client over TLS with the test CA, tests/e2e/mcp_http.py) with a
# tool-scoped token.  initialize in each revision, the session id it
# requires afterwards (400 without, 404 unknown or another caller's),
# tools/list (the scoped tools only), tools/call of an http tool (the
# upstream got the credential, the result is redacted, the audit line
# names the client), the JSON-RPC errors, a tool timeout as isError,
# Origin, no token, GET, DELETE, and the server serving after each; then
# a unix-socket caller with curl.
. "$top_srcdir/tests/e2e/lib.sh"
require_root
for c in python3 openssl jq; do
	command -v "$c" >/dev/null ||
	    { echo "1..0 # SKIP $c is not installed"; exit 0; }
done

e2e_setup "mcp_allowed_origins = https://agent.example"
. "$top_srcdir/tests/e2e/tools_lib.sh"
tools_setup
http_tool crm
http_tool github
http_tool slowcrm 1s
secretd_start

ALICE_KEY=crm-alice-key-abcdef
api "$E2E_ALICE" POST /v1/secrets "{\"name\":\"SHARED_CRM_KEY\",\"value\":\"$ALICE_KEY\"}" >/dev/null
TOK=$(token_create "$E2E_ALICE" '{"description":"agent","scopes":["tools:crm","tools:slowcrm"]}')
TOK_ID=$(tls "$TOK" GET /v1/whoami | sed '$d' | jq -r .tokenId)
OTHER=$(token_create "$E2E_ALICE" '{"description":"another agent","scopes":["tools:crm"]}')
MCP=$E2E_URL/v1/mcp

# mcp [options] [BODY]: status, session id, content type, body (a line each)
mcp() { python3 "$top_srcdir/tests/e2e/mcp_http.py" "$MCP" "$E2E_CA" "$@"; }
st() { sed -n 1p <<<"$1"; }
sid() { sed -n 2p <<<"$1"; }
ctype() { sed -n 3p <<<"$1"; }
jbody() { sed -n '4,$p' <<<"$1"; }
init_body() {	# init_body REVISION
	printf '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"%s","capabilities":{},"clientInfo":{"name":"e2e-client","version":"1.0"}}}' "$1"
}
rpc() {	# rpc ID METHOD [PARAMS]
	printf '{"jsonrpc":"2.0","id":%s,"method":"%s","params":%s}' "$1" "$2" "${3:-{\}}"
}
serving() {	# serving LABEL: a ping on session S still answers
	is "$(jbody "$(mcp --token "$TOK" --session "$S" "$(rpc 99 ping)")" | jq -c .result)" \
	    '{}' "the server still serves after $1"
}

# --- initialize, in each revision ---
for rev in 2024-11-05 2025-03-26 2025-06-18 2025-11-25; do
	out=$(mcp --token "$TOK" "$(init_body "$rev")")
	is "$(st "$out") $(jbody "$out" | jq -r .result.protocolVersion)" "200 $rev" \
	    "initialize $rev: 200, that revision"
	ok "$(grep -Eq '^[0-9a-f]{32}$' <<<"$(sid "$out")"; echo $?)" \
	    "initialize $rev: an Mcp-Session-Id of 128 random bits"
done
is "$(ctype "$out")" application/json "the answer is application/json, not a stream"
is "$(jbody "$out" | jq -r '.result.serverInfo.name + " " + (.result.capabilities.tools | type)')" \
    "secretd object" "serverInfo and the tools capability"
out=$(mcp --token "$TOK" "$(init_body 1999-01-01)")
is "$(jbody "$out" | jq -r .result.protocolVersion)" 2025-11-25 \
    "an unknown revision is answered with the newest that has initialize"
out=$(mcp --token "$TOK" "$(init_body 2025-06-18)")
S=$(sid "$out")
out=$(mcp --token "$TOK" --session "$S" --version 2025-06-18 \
    '{"jsonrpc":"2.0","method":"notifications/initialized"}')
is "$(st "$out")|$(jbody "$out")" "202|" "notifications/initialized: 202, no body"

# --- the session is required afterwards, and is the caller's own ---
out=$(mcp --token "$TOK" "$(rpc 2 tools/list)")
is "$(st "$out")" 400 "tools/list without Mcp-Session-Id: 400"
out=$(mcp --token "$TOK" --session 0123456789abcdef0123456789abcdef "$(rpc 2 tools/list)")
is "$(st "$out")" 404 "an unknown session: 404"
out=$(mcp --token "$OTHER" --session "$S" "$(rpc 2 tools/list)")
is "$(st "$out")" 404 "another token with this session: 404, as unknown"
out=$(mcp --token "$TOK" --session "$S" --version 2025-11-25 "$(rpc 2 tools/list)")
is "$(st "$out")" 400 "an MCP-Protocol-Version not the session's: 400"
out=$(mcp --token "$TOK" --session "$S" --version 2099-99-99 "$(rpc 2 tools/list)")
is "$(st "$out")" 400 "an unsupported MCP-Protocol-Version: 400"
serving "the session refusals"

# --- tools/list: the scoped tools only ---
out=$(mcp --token "$TOK" --session "$S" --version 2025-06-18 "$(rpc 3 tools/list)")
is "$(st "$out")" 200 "tools/list: 200"
is "$(jbody "$out" | jq -c '[.result.tools[].name]')" \
    '["crm__echo","crm__slow","slowcrm__echo","slowcrm__slow"]' \
    "tools/list holds the scoped tools' actions only"
is "$(jbody "$out" | jq -c '.result.tools[] | select(.name == "crm__slow") | .inputSchema')" \
    '{"type":"object","properties":{"s":{"type":"number"}},"required":["s"],"additionalProperties":false}' \
    "an input schema from the action's declared params"

# --- tools/call: the credential goes upstream, never back ---
n0=$(up_count)
out=$(mcp --token "$TOK" --session "$S" \
    "$(rpc 4 tools/call '{"name":"crm__echo","arguments":{"echo":"header:Authorization"}}')")
is "$(st "$out") $(jbody "$out" | jq -r .result.isError)" "200 false" \
    "tools/call crm__echo: a result, not an error"
is "$(up_header Authorization)" "Bearer $ALICE_KEY" "the upstream got alice's credential"
ok "$(! grep -q "$ALICE_KEY" <<<"$out"; echo $?)" "the result holds no credential"
ok "$(jbody "$out" | jq -r '.result.content[0].text' | grep -q 'REDACTED:apiKey'; echo $?)" \
    "the result was redacted"
is "$(jbody "$out" | jq -r '.result.structuredContent | type')" object \
    "2025-06-18: the JSON result is structuredContent too"
line=$(audit_lines ".op == \"exec\" and .tokenId == \"$TOK_ID\"" | tail -n 1)
is "$(jq -r '[.client, .tool, .outcome] | join("|")' <<<"$line")" \
    "mcp:e2e-client|crm|ok" "the audit line names the MCP client, tool and outcome"
is "$(up_count)" "$((n0 + 1))" "one call, one upstream request"

# --- errors of the right kind, the server serving after each ---
out=$(mcp --token "$TOK" --session "$S" '{"jsonrpc":"2.0","id":5,"method":')
is "$(st "$out") $(jbody "$out" | jq -r .error.code)" "400 -32700" "malformed JSON: -32700"
serving "malformed JSON"
out=$(mcp --token "$TOK" --session "$S" "$(rpc 6 resources/list)")
is "$(jbody "$out" | jq -r '[.id, .error.code] | join(" ")')" "6 -32601" \
    "an unknown method: -32601"
serving "an unknown method"
n0=$(up_count)
for args in '{"nope":1}' '{"echo":7}' '{}'; do
	tool=crm__echo; [ "$args" = '{}' ] && tool=crm__slow
	out=$(mcp --token "$TOK" --session "$S" \
	    "$(rpc 7 tools/call "{\"name\":\"$tool\",\"arguments\":$args}")")
	is "$(jbody "$out" | jq -r .error.code)" -32602 "$tool $args breaks the schema: -32602"
done
out=$(mcp --token "$TOK" --session "$S" \
    "$(rpc 8 tools/call '{"name":"github__echo","arguments":{}}')")
is "$(jbody "$out" | jq -r .error.code)" -32602 "a tool outside the token's scopes: -32602, unknown"
is "$(up_count)" "$n0" "no refused call reached the upstream"
serving "refused calls"
out=$(mcp --token "$TOK" --session "$S" \
    "$(rpc 9 tools/call '{"name":"slowcrm__slow","arguments":{"s":5}}')")
is "$(st "$out") $(jbody "$out" | jq -r .result.isError)" "200 true" \
    "a tool that times out: an isError result"
ok "$(jbody "$out" | jq -r '.result.content[0].text' | grep -qi 'time'; echo $?)" \
    "which says it timed out"
serving "a timeout"

# --- the transport's refusals ---
out=$(mcp --token "$TOK" --session "$S" --origin https://evil.example "$(rpc 10 ping)")
is "$(st "$out")" 403 "a foreign Origin: 403"
out=$(mcp --token "$TOK" --session "$S" --origin "https://127.0.0.1:$E2E_PORT" "$(rpc 10 ping)")
is "$(st "$out")" 200 "our own address as Origin: 200"
out=$(mcp --token "$TOK" --session "$S" --origin https://agent.example "$(rpc 10 ping)")
is "$(st "$out")" 200 "an Origin in mcp_allowed_origins: 200"
out=$(mcp "$(init_body 2025-06-18)")
is "$(st "$out")" 401 "no token: 401"
out=$(mcp --token "rts_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$(init_body 2025-06-18)")
is "$(st "$out")" 401 "a bad token: 401"
out=$(mcp --token "$TOK" --session "$S" --method GET)
is "$(st "$out")" 405 "GET (no server stream): 405"
out=$(apix "tls:$TOK" GET /v1/mcp -)
is "$(header Allow)" "POST, DELETE" "the 405 names POST and DELETE"
serving "the transport's refusals"

# --- stateless 2026-07-28: no initialize, no session ---
out=$(mcp --token "$TOK" --version 2026-07-28 \
    '{"jsonrpc":"2.0","id":11,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}')
is "$(st "$out") $(jbody "$out" | jq -r '.result.tools | length')" "200 4" \
    "2026-07-28: tools/list with no session"

# --- DELETE ends the session ---
out=$(mcp --token "$OTHER" --session "$S" --method DELETE)
is "$(st "$out")" 404 "another caller cannot end it"
out=$(mcp --token "$TOK" --session "$S" --method DELETE)
is "$(st "$out")" 200 "DELETE with the session: 200"
out=$(mcp --token "$TOK" --session "$S" "$(rpc 12 ping)")
is "$(st "$out")" 404 "the ended session: 404"

# --- one caller opening sessions by the hundred pushes out only its own ---
out=$(mcp --token "$OTHER" "$(init_body 2025-06-18)")
V=$(sid "$out")
sleep 2	# V is then the session used longest ago
out=$(mcp --token "$TOK" --repeat 300 "$(init_body 2025-06-18)")
is "$(st "$out")" 200 "a caller opens 300 sessions"
F=$(sid "$out")
out=$(mcp --token "$OTHER" --session "$V" "$(rpc 16 ping)")
is "$(st "$out") $(jbody "$out" | jq -c .result)" "200 {}" \
    "another caller's session outlives the flood"
out=$(mcp --token "$TOK" --session "$F" "$(rpc 17 ping)")
is "$(st "$out")" 200 "the flooder's newest session still serves"

# --- the unix socket: the kernel's word, no token ---
out=$(apix "$E2E_ALICE" POST /v1/mcp "$(init_body 2025-11-25)")
US=$(header Mcp-Session-Id)
is "$(status_of "$out")" 200 "initialize over the unix socket"
out=$(apix "$E2E_ALICE" POST /v1/mcp "$(rpc 13 tools/list)" -H "Mcp-Session-Id: $US")
is "$(body_of "$out" | jq -c '[.result.tools[].name | split("__")[0]] | unique')" \
    '["crm","github","slowcrm"]' "alice herself (unscoped) lists every tool"
out=$(apix "$E2E_BOB" POST /v1/mcp "$(rpc 14 tools/list)" -H "Mcp-Session-Id: $US")
is "$(status_of "$out")" 404 "bob cannot use alice's session"
out=$(apix "$E2E_ALICE" POST /v1/mcp "$(rpc 15 tools/call '{"name":"github__echo","arguments":{}}')" \
    -H "Mcp-Session-Id: $US")
is "$(body_of "$out" | jq -r .result.isError)" false "alice runs github over the unix socket"
is "$(audit_lines '.op == "exec"' | tail -n 1 | jq -r '.client + " " + .user')" \
    "mcp:e2e-client $E2E_ALICE" "audited as alice, with the client"

is "$(status_of "$(api "$E2E_ALICE" GET /v1/health)")" 200 "the daemon is healthy at the end"
secretd_finish
done_testing
