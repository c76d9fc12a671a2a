#!/usr/bin/env bash
# Tool-scoped tokens end to end: a token made with {"scopes":["tools:…"]}
# lists, shows and runs only those tools (the upstream gets the
# credential, the caller a redacted result) and is refused 403 on every
# secret route, the version routes, the token routes, metrics and tools
# outside its scopes, over TLS and the unix socket.  Bad scopes are 400
# and store nothing; the scopes survive a restart; revocation ends it.
. "$top_srcdir/tests/e2e/lib.sh"
require_root
for c in python3 openssl jq; do
	command -v "$c" >/dev/null ||
	    { echo "1..0 # SKIP $c is not installed"; exit 0; }
done

e2e_setup
. "$top_srcdir/tests/e2e/tools_lib.sh"
tools_setup
http_tool crm
http_tool github
http_tool other
exec_tool env env_stdin.py
secretd_start

ORG_KEY=crm-org-key-0123456789
ALICE_KEY=crm-alice-key-abcdef
api "$E2E_ADMIN" POST /v1/secrets "{\"name\":\"SHARED_CRM_KEY\",\"value\":\"$ORG_KEY\",\"orgWide\":true}" >/dev/null
api "$E2E_ALICE" POST /v1/secrets "{\"name\":\"SHARED_CRM_KEY\",\"value\":\"$ALICE_KEY\"}" >/dev/null
api "$E2E_ALICE" POST /v1/secrets '{"name":"ALICE_ONLY","value":"alice-private-55555"}' >/dev/null

# --- making one ---
out=$(api "$E2E_ALICE" POST /v1/tokens '{"description":"agent","scopes":["tools:crm","tools:env"]}')
is "$(status_of "$out")" 201 "alice makes a token scoped to crm and env"
is "$(body_of "$out" | jq -c .scopes)" '["tools:crm","tools:env"]' \
    "the created token shows its scopes"
TOK=$(body_of "$out" | jq -r .token)
TOK_ID=$(body_of "$out" | jq -r .id)
FULL=$(token_create "$E2E_ALICE" '{"description":"full"}')
ok "$([ -n "$FULL" ]; echo $?)" "alice makes an unscoped token too"

out=$(tls "$TOK" GET /v1/whoami)
is "$(status_of "$out")" 200 "whoami answers a scoped token"
is "$(body_of "$out" | jq -c .scopes)" '["tools:crm","tools:env"]' \
    "whoami shows its scopes"
is "$(tls "$FULL" GET /v1/whoami | sed '$d' | jq -c .scopes)" null \
    "an unscoped token's scopes are null"

# --- what it may do ---
out=$(tls "$TOK" GET /v1/tools)
is "$(status_of "$out")" 200 "a scoped token lists tools"
is "$(body_of "$out" | jq -c '[.tools[].name]')" '["crm","env"]' \
    "the list holds its tools only"
is "$(tls "$FULL" GET /v1/tools | sed '$d' | jq -c '[.tools[].name]')" \
    '["crm","env","github","other"]' "an unscoped token lists every tool"
is "$(status_of "$(tls "$TOK" GET /v1/tools/crm)")" 200 "it shows crm"
out=$(tls "$TOK" POST /v1/tools/crm/execute '{"action":"echo","params":{"echo":"header:Authorization"}}')
is "$(status_of "$out")" 200 "it runs crm"
is "$(up_header Authorization)" "Bearer $ALICE_KEY" \
    "the upstream got alice's credential"
ok "$(! body_of "$out" | grep -q "$ALICE_KEY"; echo $?)" \
    "the result holds no credential"
ok "$(body_of "$out" | jq -e '.redactions >= 1' >/dev/null; echo $?)" \
    "the result was redacted"
out=$(tls "$TOK" POST /v1/tools/env/execute '{"action":"run"}')
is "$(status_of "$out")" 200 "it runs the exec tool env"
is "$(audit_lines ".op == \"exec\" and .tokenId == \"$TOK_ID\"" | wc -l)" 2 \
    "both runs are audited under the token's id"

# credentialOverrides would let a token scoped to crm send any other of
# alice's secrets to crm's upstream: the scope is about tools and the
# secrets their own slots name, so a scoped token may not override.
n0=$(up_count)
out=$(tls "$TOK" POST /v1/tools/crm/execute '{"action":"echo","params":{"echo":"header:Authorization"},"credentialOverrides":{"apiKey":"ALICE_ONLY"}}')
is "$(status_of "$out")" 403 "a scoped token may not override a credential"
ok "$(body_of "$out" | jq -r .error.message | grep -q credentialOverrides
    echo $?)" "the refusal names credentialOverrides"
ok "$(! body_of "$out" | grep -q alice-private; echo $?)" \
    "the refusal holds no secret"
is "$(up_count)" "$n0" "the override reached no upstream"
out=$(tls "$TOK" POST /v1/tools/crm/execute '{"action":"echo","credentialOverrides":{"apiKey":{"name":"SHARED_CRM_KEY","orgWide":true}}}')
is "$(status_of "$out")" 403 "nor point it at the org's secret"
is "$(up_count)" "$n0" "that reached no upstream either"
out=$(tls "$FULL" POST /v1/tools/crm/execute '{"action":"echo","params":{"echo":"header:Authorization"},"credentialOverrides":{"apiKey":"ALICE_ONLY"}}')
is "$(status_of "$out")" 200 "an unscoped token still overrides"
is "$(up_header Authorization)" "Bearer alice-private-55555" \
    "and the upstream got the override"

# --- X-RunTools-Client: the agent's name in the audit line ---
out=$(apix "tls:$TOK" POST /v1/tools/crm/execute '{"action":"echo"}' \
    -H 'X-RunTools-Client: Claude Code 2.0 (agent-7)')
is "$(status_of "$out")" 200 "a run with X-RunTools-Client"
is "$(audit_lines ".op == \"exec\" and .tokenId == \"$TOK_ID\"" | tail -n 1 |
    jq -r '[.client, .tool, .outcome] | join("|")')" \
    "Claude Code 2.0 (agent-7)|crm|ok" "its audit line names the client"
is "$(audit_lines '.op == "exec"' | head -n 1 | jq -r 'has("client")')" false \
    "a run without the header has no client field"
n0=$(up_count)
for bad in "$(printf 'x%.0s' $(seq 65))" $'bell\a' 'caf\xc3\xa9'; do
	out=$(apix "tls:$TOK" POST /v1/tools/crm/execute '{"action":"echo"}' \
	    -H "X-RunTools-Client: $(printf "$bad")")
	is_error "$out" 400 invalid_request "X-RunTools-Client ${bad:0:10}...: 400"
done
is "$(up_count)" "$n0" "a bad client name runs nothing"

# --- what it may not do ---
n0=$(up_count)
for spec in "GET /v1/tools/github" "POST /v1/tools/github/execute" \
    "GET /v1/tools/nosuch" "POST /v1/tools/nosuch/execute"; do
	out=$(tls "$TOK" ${spec% *} "${spec#* }" \
	    "$([ "${spec% *}" = POST ] && echo '{"action":"echo"}')")
	is_error "$out" 403 forbidden "outside its scopes: $spec is 403"
done
ok "$(body_of "$out" | jq -r .error.message | grep -q 'tools:nosuch'; echo $?)" \
    "the refusal names the missing scope"
is "$(up_count)" "$n0" "nothing reached the upstream"

before=$(snapshot)
for spec in "GET /v1/secrets" "GET /v1/secrets?all=true" \
    "GET /v1/secrets/SHARED_CRM_KEY" "GET /v1/secrets/SHARED_CRM_KEY?orgWide=true" \
    "POST /v1/secrets/SHARED_CRM_KEY/reveal" "POST /v1/secrets/ALICE_ONLY/reveal" \
    "POST /v1/secrets/NOSUCH/reveal" "DELETE /v1/secrets/ALICE_ONLY" \
    "GET /v1/secrets/SHARED_CRM_KEY/versions" \
    "GET /v1/tokens" "DELETE /v1/tokens/$TOK_ID" "GET /v1/metrics"; do
	out=$(tls "$TOK" ${spec% *} "${spec#* }")
	is_error "$out" 403 forbidden "a scoped token: $spec is 403"
done
ok "$(body_of "$out" | jq -r .error.message | grep -q 'scoped to tools'; echo $?)" \
    "the refusal says the token is scoped"
is_error "$(tls "$TOK" POST /v1/secrets '{"name":"NEW_ONE","value":"0123456789"}')" \
    403 forbidden "a scoped token: POST /v1/secrets is 403"
is_error "$(tls "$TOK" POST /v1/secrets/SHARED_CRM_KEY/rollback '{"version":1}')" \
    403 forbidden "a scoped token: rollback is 403"
is_error "$(tls "$TOK" POST /v1/tokens '{"description":"wider"}')" \
    403 forbidden "a scoped token cannot make a token"
is_error "$(tls "$TOK" POST /v1/tokens '{"scopes":["tools:crm"]}')" \
    403 forbidden "not even one as narrow as itself"
is "$(snapshot)" "$before" "the store is unchanged"
# over the unix socket the token wins over the peer, as for any token
out=$(apix "$E2E_ALICE" GET /v1/secrets - -H "Authorization: Bearer $TOK")
is_error "$out" 403 forbidden "over the unix socket too, the scoped token is refused secrets"
is "$(status_of "$(api "$E2E_ALICE" GET /v1/secrets)")" 200 \
    "alice herself, without the token, still lists them"

# --- bad scopes: 400, nothing stored ---
ntok() { api "$E2E_ALICE" GET /v1/tokens | sed '$d' | jq '.tokens | length'; }
n0=$(ntok)
many=$(for i in $(seq 33); do printf '"tools:t%d",' "$i"; done)
for bad in '"tools:crm"' '[]' '["crm"]' '["secrets:FOO"]' '["tools:"]' \
    '["tools:-x"]' '["tools:a b"]' '["tools:crm","tools:crm"]' '[1]' \
    "[\"tools:$(printf 'x%.0s' $(seq 65))\"]" "[${many%,}]" \
    '["tools:crm\u0000x"]' '["TOOLS:crm"]'; do
	is_error "$(api "$E2E_ALICE" POST /v1/tokens "{\"scopes\":$bad}")" \
	    400 invalid_request "scopes $bad: 400"
done
is "$(ntok)" "$n0" "no token was stored"
out=$(api "$E2E_ALICE" POST /v1/tokens '{"scopes":["tools:not-yet-defined"]}')
is "$(status_of "$out")" 201 "a scope naming a tool not defined (yet) is accepted"
UNDEF=$(body_of "$out" | jq -r .token)
is "$(tls "$UNDEF" GET /v1/tools | sed '$d' | jq '.tools | length')" 0 \
    "and lists no tool"
out=$(api "$E2E_ALICE" POST /v1/tokens '{"scopes":["tools:*"]}')
is "$(status_of "$out")" 201 "tools:* is accepted"
ALL=$(body_of "$out" | jq -r .token)
is "$(tls "$ALL" GET /v1/tools | sed '$d' | jq -c '[.tools[].name]')" \
    '["crm","env","github","other"]' "tools:* lists every tool"
is_error "$(tls "$ALL" GET /v1/secrets)" 403 forbidden "tools:* still lists no secret"
is_error "$(tls "$ALL" POST /v1/tokens '{}')" 403 forbidden "tools:* makes no token"

# --- listing shows the scopes; a restart keeps them ---
is "$(api "$E2E_ALICE" GET /v1/tokens | sed '$d' | jq -c --arg id "$TOK_ID" \
    '.tokens[] | select(.id == $id) | .scopes')" '["tools:crm","tools:env"]' \
    "token list shows the scopes"
secretd_stop
secretd_start
is "$(tls "$TOK" GET /v1/tools | sed '$d' | jq -c '[.tools[].name]')" '["crm","env"]' \
    "after a restart the token still lists only its tools"
is_error "$(tls "$TOK" GET /v1/secrets)" 403 forbidden \
    "and is still refused secrets"
is "$(status_of "$(tls "$FULL" GET /v1/secrets)")" 200 \
    "the unscoped token still lists secrets"

# --- runtools token create --scope, token list ---
. "$top_srcdir/tests/e2e/runtools-lib.sh"
OUT=$E2E_DIR/out ERR=$E2E_DIR/err
rt() { local u=$1; shift; rtx "$u" RUNTOOLS_URL="unix:$E2E_SOCK" -- "$@"; }
rt "$E2E_ALICE" token create --description cli-agent --scope tools:crm --scope tools:github
rc_is 0 "runtools token create --scope twice"
CLI_TOK=$(cat "$OUT")
ok "$(grep -q 'scoped to tools' "$ERR"; echo $?)" "its note says it is scoped to tools"
is "$(tls "$CLI_TOK" GET /v1/whoami | sed '$d' | jq -c .scopes)" \
    '["tools:crm","tools:github"]' "the token carries both scopes"
rt "$E2E_ALICE" token list
rc_is 0 "runtools token list"
is "$(head -n 1 "$OUT" | tr -s ' ')" "ID USER ROLE CREATED EXPIRES SCOPES DESCRIPTION" \
    "token list has a SCOPES column"
ok "$(grep cli-agent "$OUT" | grep -q 'tools:crm, tools:github'; echo $?)" \
    "the scoped token's row names its scopes"
ok "$(grep -w full "$OUT" | grep -qw all; echo $?)" "an unscoped token's scopes read all"
rt "$E2E_ALICE" --json token list
is "$(jq -c '[.tokens[] | select(.description == "cli-agent") | .scopes][0]' "$OUT")" \
    '["tools:crm","tools:github"]' "token list --json shows the scopes"
n0=$(ntok)
for bad in crm tools: tools:-x secrets:FOO; do
	rt "$E2E_ALICE" token create --scope "$bad"
	rc_is 2 "runtools token create --scope $bad: a usage error"
done
is "$(ntok)" "$n0" "and no token was made"

# --- revocation ---
is "$(status_of "$(api "$E2E_ALICE" DELETE "/v1/tokens/$TOK_ID")")" 200 \
    "alice revokes the scoped token"
is_error "$(tls "$TOK" GET /v1/tools)" 401 unauthenticated "the revoked token is refused"

secretd_finish
done_testing
