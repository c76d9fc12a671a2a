#!/usr/bin/env bash
# runtools mcp with the official MCP TypeScript SDK (@modelcontextprotocol/
# sdk) as the client: tests/e2e/mcp_sdk_client.mjs starts `runtools mcp`
# as a real local user over stdio, initializes, lists the tools and calls
# an http tool (against tests/e2e/upstream.py) and an exec tool.  The SDK
# is installed from npm into a cache folder outside the source tree
# (MCP_SDK_CACHE); where npm cannot reach its registry, the test skips.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/tools_lib.sh"
require_root
for c in python3 openssl jq; do
	command -v "$c" >/dev/null ||
	    { echo "1..0 # SKIP $c is not installed"; exit 0; }
done
mcp_sdk_setup

e2e_setup
tools_setup
tool_custom_crm
tool crm <<EOF
type = http
base_url = $BASE
ca_file = $UP/ca.crt
slot apiKey
	secret = SHARED_CRM_KEY
	header = X-Api-Key: {}
action post
	method = POST
	path = /echo/items
	param name string required body
	param count number body
EOF
tool env <<EOF
type = exec
command = $BIN/env_stdin.py
slot apiKey
	secret = SHARED_CRM_KEY
	env = CRM_KEY
action run
	param leak string
EOF
secretd_start

ALICE_KEY=crm-alice-key-abcdef
api "$E2E_ALICE" POST /v1/secrets "{\"name\":\"SHARED_CRM_KEY\",\"value\":\"$ALICE_KEY\"}" >/dev/null

echo "# @modelcontextprotocol/sdk $SDK_VERSION"
UP0=$(up_count)
out=$("$NODE" "$top_srcdir/tests/e2e/mcp_sdk_client.mjs" "$CACHE" \
    runuser -u "$E2E_ALICE" -- "$RUNTOOLS" --url "unix:$E2E_SOCK" mcp \
    2>"$E2E_DIR/sdk.err")
is "$?" 0 "the SDK client connects, lists, calls and closes"
[ -s "$E2E_DIR/sdk.err" ] && sed 's/^/# /' "$E2E_DIR/sdk.err" | head -n 20

is "$(printf '%s' "$out" | jq -c '[.serverVersion.name, .capabilities.tools.listChanged]')" \
    '["secretd",false]' "initialize: serverInfo and the tools capability"
is "$(printf '%s' "$out" | jq -c '[.tools[].name] | sort')" \
    '["crm__post","custom-crm__lookup_customer","env__run"]' "tools/list: the names"
is "$(printf '%s' "$out" | jq -cS '.tools[] | select(.name == "crm__post") | .inputSchema')" \
    '{"additionalProperties":false,"properties":{"count":{"type":"number"},"name":{"type":"string"}},"required":["name"],"type":"object"}' \
    "tools/list: an input schema as the tool declares it"
is "$(printf '%s' "$out" | jq -c '[.http.isError, .http.structuredContent.headers.Authorization, .http.structuredContent.path]')" \
    '[false,"[REDACTED:apiKey]","/echo/customers/person%40example.com"]' \
    "http tool: the result, redacted, as structuredContent"
is "$(printf '%s' "$out" | jq -r '.http.content[0].text | fromjson | .headers.Authorization')" \
    '[REDACTED:apiKey]' "http tool: the same as text"
is "$(grep -F '/echo/customers/' "$UP/log" | tail -n 1 | jq -r '.headers[] | select(.[0] == "Authorization") | .[1]')" \
    "Bearer $ALICE_KEY" "the upstream got the credential"
is "$(printf '%s' "$out" | jq -c '[.exec.isError, .exec.structuredContent.env.CRM_KEY]')" \
    '[false,"[REDACTED:apiKey]"]' "exec tool: its environment's key, redacted"
ok "$(printf '%s' "$out" | grep -qF "$ALICE_KEY"; [ $? -ne 0 ]; echo $?)" \
    "the value reaches the SDK nowhere"
is "$(printf '%s' "$out" | jq -c '.badArgs.thrown.code')" -32602 \
    "arguments against the schema: the SDK gets -32602"
is "$(printf '%s' "$out" | jq -c '.unknown.thrown.code')" -32602 "an unknown tool: -32602"
is "$(printf '%s' "$out" | jq -c .ping)" '{}' "ping after the errors"
is "$(($(up_count) - UP0))" 1 "only the good http call reached the upstream"

ok "$(! grep -qE 'Sanitizer|runtime error' "$E2E_DIR/sdk.err"; echo $?)" \
    "runtools mcp logged no sanitizer report, at exit included"
secretd_finish
done_testing
