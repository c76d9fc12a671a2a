#!/usr/bin/env bash
# /v1/mcp with the official MCP TypeScript SDK (@modelcontextprotocol/sdk)
# as the client, over Streamable HTTP and TLS with a tool-scoped token
# (tests/e2e/mcp_sdk_http_client.mjs): it initializes, lists the scoped
# tools, calls an http tool against tests/e2e/upstream.py (redacted; the
# upstream got the credential), breaks a schema, reaches outside its
# scopes, times a tool out, pings and ends its session.  The SDK comes
# from npm into a cache folder outside the tree; without registry access
# the test skips.
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
http_tool crm
http_tool github
http_tool slowcrm 1s
secretd_start

ALICE_KEY=crm-alice-key-abcdef
api "$E2E_ALICE" POST /v1/secrets "{\"name\":\"SHARED_CRM_KEY\",\"value\":\"$ALICE_KEY\"}" >/dev/null
TOK=$(token_create "$E2E_ALICE" '{"description":"sdk agent","scopes":["tools:crm","tools:slowcrm"]}')
TOK_ID=$(tls "$TOK" GET /v1/whoami | sed '$d' | jq -r .tokenId)

echo "# @modelcontextprotocol/sdk $SDK_VERSION"
UP0=$(up_count)
out=$(NODE_EXTRA_CA_CERTS=$E2E_CA "$NODE" "$top_srcdir/tests/e2e/mcp_sdk_http_client.mjs" \
    "$CACHE" "$E2E_URL/v1/mcp" "$TOK" 2>"$E2E_DIR/sdk.err")
is "$?" 0 "the SDK client connects over HTTPS, lists, calls and ends its session"
[ -s "$E2E_DIR/sdk.err" ] && sed 's/^/# /' "$E2E_DIR/sdk.err" | head -n 20
echo "# negotiated $(printf '%s' "$out" | jq -r .protocolVersion)"

is "$(printf '%s' "$out" | jq -c '[.serverVersion.name, .capabilities.tools.listChanged]')" \
    '["secretd",false]' "initialize: serverInfo and the tools capability"
ok "$(printf '%s' "$out" | jq -e '.sessionId | test("^[0-9a-f]{32}$")' >/dev/null; echo $?)" \
    "the SDK holds the Mcp-Session-Id we issued"
is "$(printf '%s' "$out" | jq -c '[.tools[].name]')" \
    '["crm__echo","crm__slow","slowcrm__echo","slowcrm__slow"]' \
    "tools/list: the scoped tools only"
is "$(printf '%s' "$out" | jq -c '[.http.isError, .http.structuredContent.headers.Authorization]')" \
    '[false,"[REDACTED:apiKey]"]' "http tool: the result, redacted, as structuredContent"
is "$(grep -F '/echo' "$UP/log" | tail -n 1 | jq -r '.headers[] | select(.[0] == "Authorization") | .[1]')" \
    "Bearer $ALICE_KEY" "the upstream got the credential"
ok "$(printf '%s' "$out" | grep -qF "$ALICE_KEY"; [ $? -ne 0 ]; echo $?)" \
    "the value reaches the SDK nowhere"
is "$(printf '%s' "$out" | jq -c '.badArgs.thrown.code')" -32602 \
    "arguments against the schema: the SDK gets -32602"
is "$(printf '%s' "$out" | jq -c '.outside.thrown.code')" -32602 \
    "a tool outside the token's scopes: -32602, as unknown"
is "$(printf '%s' "$out" | jq -c '.timeout.isError')" true "a tool that times out: isError"
is "$(printf '%s' "$out" | jq -c .ping)" '{}' "ping after the errors"
is "$(audit_lines ".op == \"exec\" and .tokenId == \"$TOK_ID\"" | jq -r .client | sort -u)" \
    "mcp:sdk-http-e2e" "every call is audited with the SDK client's name"
is "$(($(up_count) - UP0))" 2 "only the good call and the slow one reached the upstream"
S=$(printf '%s' "$out" | jq -r .sessionId)
out=$(apix "tls:$TOK" POST /v1/mcp '{"jsonrpc":"2.0","id":1,"method":"ping"}' \
    -H "Mcp-Session-Id: $S")
is "$(status_of "$out")" 404 "the session the SDK ended is gone"

secretd_finish
done_testing
