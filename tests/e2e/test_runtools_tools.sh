#!/usr/bin/env bash
# runtools tool list, show and exec against a real secretd with exec tools,
# run as real users: which secret fills a slot (the caller's own first,
# else the org's; an override; :org), that no value reaches the caller
# while the tool did get it, members using org secrets they cannot reveal,
# a private secret of another user answering like a missing one, an
# admins-only tool, typed parameters as the tool receives them, and every
# exit status.  The tool files follow the draft format of secretd.tools(5);
# write_tool is the one place to adapt when that format changes.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/runtools-lib.sh"

RUNNER_USER=secretd-e2e-runner
require_root
getent passwd "$RUNNER_USER" >/dev/null ||
    useradd --system --no-create-home --shell /usr/sbin/nologin "$RUNNER_USER"
e2e_setup "tools_dir = tools.d" "runner_user = $RUNNER_USER"

A=$E2E_ALICE B=$E2E_BOB ADM=$E2E_ADMIN
OUT=$E2E_DIR/out ERR=$E2E_DIR/err
BIN=$E2E_DIR/bin
mkdir -m 0755 "$BIN" "$E2E_DIR/tools.d"

# The tool's command: prints, as JSON, the request it read on stdin, the
# SHA-256 of the credential it was given (a transform redaction does not
# undo: how the test learns which secret the tool got) and the credential
# itself (which must come back redacted).  "fail" exits 3 after a line on
# stderr; "text" prints plain text.
cat >"$BIN/dump.sh" <<'EOF'
#!/bin/sh
in=$(cat)
action=$(printf %s "$in" | sed -n 's/.*"action" *: *"\([a-z]*\)".*/\1/p')
case $action in
fail)
	echo "boom: the tool failed with $CRM_KEY" >&2
	exit 3 ;;
text)
	printf 'plain text\nsecond line'
	exit 0 ;;
esac
hash=$(printf %s "$CRM_KEY" | sha256sum | cut -d' ' -f1)
printf '{"stdin":%s,"keyHash":"%s","key":"%s"}\n' "$in" "$hash" "$CRM_KEY"
EOF
chmod 0755 "$BIN/dump.sh"

# write_tool NAME ALLOW: an exec tool running dump.sh with one slot, apiKey
# (default secret SHARED_CRM_KEY, in the variable CRM_KEY), and the actions
# run (email string required, limit number, exact boolean), fail and text.
write_tool() {
	cat >"$E2E_DIR/tools.d/$1.tool" <<EOF
description = prints what it was given
type = exec
allow = $2
timeout = 10s
command = $BIN/dump.sh
slot apiKey
	secret = SHARED_CRM_KEY
	env = CRM_KEY
action run
	description = look at the request
	param email string required
	param limit number
	param exact boolean
action fail
	description = exit non-zero
action text
	description = print text
EOF
}
write_tool dump members
write_tool admin-dump admins
secretd_start

rt() {
	local user=$1
	shift
	rtx "$user" RUNTOOLS_URL="unix:$E2E_SOCK" -- "$@"
}
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }

ALICE_CRM=alice-crm-$RANDOM$RANDOM
ORG_CRM=org-crm-$RANDOM$RANDOM
ORG_OTHER=org-other-$RANDOM$RANDOM
ALICE_ONLY=alice-only-$RANDOM$RANDOM
rcs=
rt "$A" secret set SHARED_CRM_KEY < <(printf %s "$ALICE_CRM"); rcs+=$rc
rt "$ADM" secret set SHARED_CRM_KEY --org-wide < <(printf %s "$ORG_CRM"); rcs+=$rc
rt "$ADM" secret set OTHER_KEY --org-wide < <(printf %s "$ORG_OTHER"); rcs+=$rc
rt "$A" secret set ALICE_ONLY < <(printf %s "$ALICE_ONLY"); rcs+=$rc
is "$rcs" 0000 \
    "secrets in place: alice's and the org's SHARED_CRM_KEY, OTHER_KEY, ALICE_ONLY"

# no_value FILE NAME: FILE holds none of the values, raw.
no_value() {
	local v
	for v in "$ALICE_CRM" "$ORG_CRM" "$ORG_OTHER" "$ALICE_ONLY"; do
		grep -qF -- "$v" "$1" && { ok 1 "$2: a value leaked"; return; }
	done
	ok 0 "$2"
}

# --- list and show ----------------------------------------------------------

rt "$A" tool list
rc_is 0 "tool list as a member"
is "$(awk 'NR > 1 { print $1 }' "$OUT" | paste -sd' ')" "dump" \
    "a member sees the members' tool, not the admins' one"
is "$(awk '$1 == "dump" { print $2, $3, $4, $5, $6 }' "$OUT")" \
    "exec run, fail, text apiKey=SHARED_CRM_KEY" \
    "tool list: type, actions and the slot's default secret"
rt "$ADM" tool list
is "$(awk 'NR > 1 { print $1 }' "$OUT" | sort | paste -sd' ')" \
    "admin-dump dump" "an admin sees both tools"
rt "$A" tool list --json
is "$(jq -S . "$OUT")" "$(body_of "$(api "$A" GET /v1/tools)" | jq -S .)" \
    "tool list --json equals the API's answer"

rt "$A" tool show dump
rc_is 0 "tool show"
is "$(grep -E '^(type|allow|timeoutMs):|^  apiKey' "$OUT" | paste -sd' ')" \
    "type: exec allow: members timeoutMs: 10000   apiKey: SHARED_CRM_KEY" \
    "tool show: type, allow, timeout and the slot"
is "$(grep -A3 '^  run' "$OUT" | paste -sd'|')" \
    "  run: look at the request|    email: string, required, in stdin|    limit: number, optional, in stdin|    exact: boolean, optional, in stdin" \
    "tool show: each parameter's type, whether required, and where it goes"
rt "$A" tool show nosuch
rc_is 3 "tool show of a missing tool exits 3"
rt "$A" tool show admin-dump
ok "$([ "$rc" = 3 ] || [ "$rc" = 4 ]; echo $?)" \
    "tool show of an admins-only tool, as a member: exit 3 or 4 ($rc)"

# --- which secret fills the slot -------------------------------------------

rt "$A" tool exec dump run --param email=person@example.com --param limit=5 \
    --param exact=true
rc_is 0 "tool exec as alice"
is "$(jq -r .keyHash "$OUT")" "$(sha "$ALICE_CRM")" \
    "alice's own SHARED_CRM_KEY reached the tool"
is "$(jq -r .key "$OUT")" "[REDACTED:apiKey]" "and comes back redacted"
no_value "$OUT" "no value on stdout"
no_value "$ERR" "no value on stderr"
is "$(jq -c .stdin "$OUT")" \
    '{"action":"run","params":{"email":"person@example.com","limit":5,"exact":true}}' \
    "the tool read the action and typed parameters on stdin"

rt "$A" tool exec dump run --param email=a@b --json
rc_is 0 "tool exec --json"
is "$(jq -c '[.tool, .action, .ok, .exitCode, .credentials]' "$OUT")" \
    "[\"dump\",\"run\",true,0,[{\"slot\":\"apiKey\",\"name\":\"SHARED_CRM_KEY\",\"scope\":\"user\",\"version\":1}]]" \
    "--json: the slot used alice's user secret, version 1"
ok "$(jq -e '.redactions >= 1' "$OUT" >/dev/null; echo $?)" \
    "--json: the redaction is counted"
no_value "$OUT" "--json: no value in the whole answer"

rt "$B" tool exec dump run --param email=a@b
rc_is 0 "tool exec as bob, who has no SHARED_CRM_KEY of his own"
is "$(jq -r .keyHash "$OUT")" "$(sha "$ORG_CRM")" "the org's SHARED_CRM_KEY reached the tool"
rt "$B" secret get SHARED_CRM_KEY --org-wide --reveal
rc_is 4 "while bob may not reveal it (org_reveal = admins)"

rt "$A" tool exec dump run --param email=a@b --credential apiKey=SHARED_CRM_KEY:org
rc_is 0 "--credential apiKey=SHARED_CRM_KEY:org"
is "$(jq -r .keyHash "$OUT")" "$(sha "$ORG_CRM")" ":org forces the org secret over alice's own"

rt "$A" tool exec dump run --param email=a@b --credential apiKey=OTHER_KEY --json
rc_is 0 "--credential apiKey=OTHER_KEY"
is "$(jq -c '.credentials[0] | [.name, .scope]' "$OUT")" '["OTHER_KEY","org"]' \
    "an override names another secret; alice has none, so the org's"
is "$(jq -r .result.keyHash "$OUT")" "$(sha "$ORG_OTHER")" "and the tool got its value"

rt "$A" tool exec dump run --param email=a@b --credential apiKey=ALICE_ONLY
is "$rc $(jq -r .keyHash "$OUT")" "0 $(sha "$ALICE_ONLY")" \
    "alice may use her own private secret"

rt "$B" tool exec dump run --param email=a@b --credential apiKey=ALICE_ONLY
rc_b=$rc err_b=$(sed 's/ALICE_ONLY/NAME/g' "$ERR")
rt "$B" tool exec dump run --param email=a@b --credential apiKey=NO_SUCH_KEY
err_n=$(sed 's/NO_SUCH_KEY/NAME/g' "$ERR")
is "$rc_b $err_b" "$rc $err_n" \
    "bob naming alice's secret gets exactly the answer for a missing one"
ok "$([ "$rc" != 0 ]; echo $?)" "which is an error (exit $rc)"
no_value "$OUT" "nothing of alice's secret for bob"

# --- parameters ------------------------------------------------------------

printf '{"email": "j@k", "exact": true}' >"$E2E_DIR/p.json"
chmod 0644 "$E2E_DIR/p.json"
rt "$A" tool exec dump run --params-json "$E2E_DIR/p.json" --param limit=-1.5
rc_is 0 "--params-json FILE with --param"
is "$(jq -c .stdin.params "$OUT")" '{"email":"j@k","exact":true,"limit":-1.5}' \
    "the tool got the JSON object and the typed --param"
# Parameters are strings, numbers and booleans: the server refuses more.
printf '{"email": "j@k", "extra": {"list": [1]}}' >"$E2E_DIR/p.json"
rt "$A" tool exec dump run --params-json "$E2E_DIR/p.json"
rc_is 2 "a nested object parameter is refused"

rt "$A" tool exec dump run --param email=a@b --param limit=many
rc_is 2 "a bad number exits 2 before anything runs"
rt "$A" tool exec dump run --param colour=red
rc_is 2 "an unknown parameter exits 2"
rt "$A" tool exec dump nosuch --param email=a@b
rc_is 2 "an unknown action (with --param) exits 2"
rt "$A" tool exec dump nosuch
ok "$([ "$rc" = 2 ] || [ "$rc" = 3 ]; echo $?)" \
    "an unknown action (checked by the server) exits 2 or 3 ($rc)"
rt "$A" tool exec dump run
rc_is 2 "a missing required parameter is refused by the server: exit 2"
rt "$A" tool exec nosuch run
rc_is 3 "an unknown tool exits 3"

# --- output and exit status --------------------------------------------------

rt "$A" tool exec dump fail
rc_is 5 "a command that exits non-zero: exit 5"
ok "$(grep -q '^boom: the tool failed with \[REDACTED:apiKey\]$' "$ERR"; echo $?)" \
    "its stderr on standard error, redacted"
ok "$(grep -q 'the tool reported failure (exit code 3)' "$ERR"; echo $?)" \
    "then the failure, with the exit code"
no_value "$ERR" "no value in the failing tool's stderr"

rt "$A" tool exec dump text
rc_is 0 "a text result"
is "$(od -An -c "$OUT" | tr -s ' ')" "$(printf 'plain text\nsecond line' | od -An -c | tr -s ' ')" \
    "a text result is printed byte for byte"

rt "$A" tool exec admin-dump run --param email=a@b
ok "$([ "$rc" = 3 ] || [ "$rc" = 4 ]; echo $?)" \
    "an admins-only tool refuses a member: exit 3 or 4 ($rc)"
rt "$ADM" tool exec admin-dump run --param email=a@b --json
is "$rc $(jq -c '.credentials[0] | [.name, .scope]' "$OUT")" '0 ["SHARED_CRM_KEY","org"]' \
    "an admin runs it, with the org's key (the admin has none of his own)"

# --- over TLS with a token ---------------------------------------------------

CA=$E2E_DIR/ca.pem
install -m 0644 "$E2E_CA" "$CA"
rtx "$A" RUNTOOLS_URL="unix:$E2E_SOCK" -- token create --description "tools tls"
TOK=$(cat "$OUT")
rtx "$B" RUNTOOLS_TOKEN="$TOK" -- --url "$E2E_URL" --ca-file "$CA" \
    tool exec dump run --param email=a@b
rc_is 0 "tool exec over TLS with alice's token (run as bob)"
is "$(jq -r .keyHash "$OUT")" "$(sha "$ALICE_CRM")" \
    "the token decides: alice's own key reached the tool"

secretd_finish
done_testing
