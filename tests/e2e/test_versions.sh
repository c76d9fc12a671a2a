#!/usr/bin/env bash
# Kept versions of a secret against the real daemon with real users:
# listing, revealing and rolling back to a kept version, the policy rows
# they follow, bad input that changes nothing, delete and re-create,
# restart, and `secretd verify` with versions in the store.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE
B=$E2E_BOB
C=$E2E_ADMIN
TS_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'

# call WHO METHOD PATH [BODY]: sets OUT, ST and BODY.
call() {
	OUT=$(apix "$@")
	ST=$(status_of "$OUT")
	BODY=$(body_of "$OUT")
}

jqis() {
	local f=$1 want=$2; shift 2
	is "$(printf '%s\n' "$BODY" | jq -c "$f" 2>&1)" "$want" "$*"
}

err() {
	local st=$1 code=$2; shift 2
	is_error "$OUT" "$st" "$code" "$*"
}

# versions WHO NAME [QUERY]: the version numbers listed, newest first.
versions() {
	apix "$1" GET "/v1/secrets/$2/versions${3:+?$3}" | sed '$d' |
	    jq -c '[.versions[].version]' 2>/dev/null
}

# reveal WHO NAME VERSION [QUERY]: the value of that version.
reveal() {
	apix "$1" POST "/v1/secrets/$2/reveal?version=$3${4:+&$4}" | sed '$d' |
	    jq -r '.value' 2>/dev/null
}

e2e_setup "versions_kept = 3" "org_reveal = admins"
secretd_start

# --- keep N: 3 kept of 6 written ---
call "$A" POST /v1/secrets '{"name":"DB_PASS","value":"val-1"}'
is "$ST" 201 "create DB_PASS: 201"
for i in 2 3 4 5 6; do
	call "$A" POST /v1/secrets "{\"name\":\"DB_PASS\",\"value\":\"val-$i\"}"
	is "$ST $(printf '%s' "$BODY" | jq -c .version)" "200 $i" \
	    "rotation $((i - 1)) of 5: version $i"
done
call "$A" GET /v1/secrets/DB_PASS/versions
is "$ST" 200 "GET versions: 200"
jqis '[.name, .scope, .userId]' "[\"DB_PASS\",\"user\",\"$A\"]" \
    "versions: name, scope and owner"
jqis '[.versions[].version]' '[6,5,4]' \
    "versions_kept = 3: only the last 3 listed, newest first"
jqis '[.versions[].current]' '[true,false,false]' "only the newest is current"
jqis '[.versions[] | keys] | unique' \
    '[["createdAt","createdBy","current","version"]]' \
    "each version has exactly version, createdAt, createdBy, current"
jqis "[.versions[].createdAt | test(\"$TS_RE\")] | all" true \
    "createdAt is RFC 3339 UTC seconds"
jqis '[.versions[].createdBy] | unique' "[\"$A\"]" "createdBy: who wrote each version"
jqis '[.versions[]] | map(has("value") or has("valueBase64")) | any' false \
    "no value in a listing"

for i in 6 5 4; do
	call "$A" POST "/v1/secrets/DB_PASS/reveal?version=$i"
	is "$ST $(printf '%s' "$BODY" | jq -c '[.value, .version]')" \
	    "200 [\"val-$i\",$i]" "reveal version $i: its exact value"
done
for i in 3 1; do
	call "$A" POST "/v1/secrets/DB_PASS/reveal?version=$i"
	err 404 not_found "reveal version $i (dropped): 404"
done
is "$(printf '%s' "$BODY" | jq -r .error.message)" \
    "version 1 of this secret is not kept (it never existed, or is older than the last 3: versions_kept)" \
    "the 404 says the version is not kept and names versions_kept"
call "$A" POST "/v1/secrets/DB_PASS/reveal?version=7"
err 404 not_found "reveal version 7 (never existed): 404"
call "$A" POST "/v1/secrets/NO_SUCH/reveal?version=1"
err 404 not_found "reveal a version of a missing secret: 404"
is "$(printf '%s' "$BODY" | jq -r .error.message)" "no such secret" \
    "... saying no such secret"

# binary values: every byte of each kept version
head -c 300 /dev/urandom >"$E2E_DIR/b1"
head -c 300 /dev/urandom >"$E2E_DIR/b2"
b1=$(base64 -w0 "$E2E_DIR/b1")
b2=$(base64 -w0 "$E2E_DIR/b2")
call "$A" POST /v1/secrets "{\"name\":\"BIN\",\"valueBase64\":\"$b1\"}"
call "$A" POST /v1/secrets "{\"name\":\"BIN\",\"valueBase64\":\"$b2\"}"
call "$A" POST "/v1/secrets/BIN/reveal?version=1"
is "$(printf '%s' "$BODY" | jq -r .valueBase64)" "$b1" \
    "a binary value's old version: every byte"
call "$A" POST "/v1/secrets/BIN/reveal?version=2"
is "$(printf '%s' "$BODY" | jq -r .valueBase64)" "$b2" \
    "a binary value's current version by number: every byte"

# --- rollback ---
call "$A" POST /v1/secrets/DB_PASS/rollback '{"version":4}'
is "$ST" 200 "rollback to version 4: 200"
jqis '[.name, .version, .updatedBy, .createdBy]' "[\"DB_PASS\",7,\"$A\",\"$A\"]" \
    "rollback makes a new version 7"
jqis 'has("value")' false "the rollback's answer holds no value"
call "$A" POST /v1/secrets/DB_PASS/reveal
is "$(printf '%s' "$BODY" | jq -c '[.value, .version]')" '["val-4",7]' \
    "the current version 7 holds version 4's bytes"
is "$(versions "$A" DB_PASS)" '[7,6,5]' "versions after rollback: 7, 6, 5"
is "$(reveal "$A" DB_PASS 6)" val-6 "version 6 is still kept, unchanged"
ok "$(audit_lines '.op == "rollback" and .outcome == "ok" and .fromVersion == 4 and .version == 7' | grep -q .; echo $?)" \
    "the audit log has the rollback with fromVersion 4 and version 7"
ok "$(audit_lines '.op == "reveal" and .version == 5' | grep -q .; echo $?)" \
    "the audit log has the reveal of version 5 with its version"
ok "$(grep -qE 'val-[0-9]' "$E2E_DIR/state/audit.log"; echo $((! $?)))" \
    "the audit log holds no value"

call "$A" POST /v1/secrets/DB_PASS/rollback '{"version":7}'
err 409 conflict "rollback to the current version: 409"
call "$A" POST /v1/secrets/DB_PASS/rollback '{"version":4}'
err 404 not_found "rollback to a version no longer kept: 404"
call "$A" POST /v1/secrets/NO_SUCH/rollback '{"version":1}'
err 404 not_found "rollback of a missing secret: 404"
is "$(versions "$A" DB_PASS)" '[7,6,5]' "refused rollbacks changed nothing"

# --- bad input: 400, nothing changes ---
before=$(snapshot; apix "$A" GET /v1/secrets/DB_PASS/versions | sed '$d')
for v in 0 -1 abc 4294967296 99999999999 '' 5x '%2B5' '1&version=2'; do
	call "$A" POST "/v1/secrets/DB_PASS/reveal?version=$v"
	err 400 invalid_request "reveal ?version=$v: 400"
done
call "$A" POST /v1/secrets/DB_PASS/rollback
err 400 invalid_request "rollback without a body: 400"
for b in '{}' '{"version":"5"}' '{"version":0}' '{"version":-1}' \
    '{"version":5.0}' '{"version":4294967296}' '{"version":99999999999999999999}' \
    '{"version":null}' '{"version":5,"value":"x"}' '[5]' 'version=5'; do
	call "$A" POST /v1/secrets/DB_PASS/rollback "$b"
	err 400 invalid_request "rollback with body $b: 400"
done
call "$A" GET "/v1/secrets/DB_PASS/versions?version=5"
err 400 invalid_request "GET versions takes no version: 400"
call "$A" DELETE /v1/secrets/DB_PASS/versions
err 405 method_not_allowed "DELETE on versions: 405"
after=$(snapshot; apix "$A" GET /v1/secrets/DB_PASS/versions | sed '$d')
is "$after" "$before" "after every bad request: the store and the versions are unchanged"

# --- policy ---
call "$C" POST /v1/secrets '{"name":"ORG_KEY","value":"org-1","orgWide":true}'
call "$C" POST /v1/secrets '{"name":"ORG_KEY","value":"org-2","orgWide":true}'
call "$C" POST /v1/secrets '{"name":"ORG_KEY","value":"org-3","orgWide":true}'
is "$ST" 200 "admin rotates the org secret twice"
is "$(versions "$A" ORG_KEY orgWide=true)" '[3,2,1]' \
    "a member lists the org secret's versions (she may read its metadata)"
call "$A" POST "/v1/secrets/ORG_KEY/reveal?version=1&orgWide=true"
err 403 forbidden "org_reveal = admins: a member cannot reveal an old org version"
call "$A" POST "/v1/secrets/ORG_KEY/reveal?version=3&orgWide=true"
err 403 forbidden "... nor the current one by number"
is "$(reveal "$C" ORG_KEY 1 orgWide=true)" org-1 "the admin reveals org version 1"
call "$A" POST "/v1/secrets/ORG_KEY/rollback?orgWide=true" '{"version":1}'
err 403 forbidden "a member cannot roll back an org secret (query orgWide)"
call "$A" POST /v1/secrets/ORG_KEY/rollback '{"version":1,"orgWide":true}'
err 403 forbidden "a member cannot roll back an org secret (body orgWide)"
is "$(versions "$C" ORG_KEY orgWide=true)" '[3,2,1]' "the refused rollbacks changed nothing"
ok "$(audit_lines '.op == "rollback" and .outcome == "forbidden" and .fromVersion == 1' | grep -q .; echo $?)" \
    "a refused rollback has its audit line too, with fromVersion 1"
call "$C" POST "/v1/secrets/ORG_KEY/rollback?orgWide=true" '{"version":1}'
is "$ST $(printf '%s' "$BODY" | jq -c '[.scope, .version]')" '200 ["org",4]' \
    "the admin rolls the org secret back: version 4"
is "$(reveal "$C" ORG_KEY 4 orgWide=true)" org-1 "org version 4 holds version 1's bytes"

call "$B" GET /v1/secrets/DB_PASS/versions
err 404 not_found "bob's own DB_PASS does not exist: 404"
call "$B" GET "/v1/secrets/DB_PASS/versions?user_id=$A"
err 404 not_found "bob cannot list alice's versions: the same 404 as a missing secret"
call "$B" POST "/v1/secrets/DB_PASS/reveal?version=6&user_id=$A"
err 404 not_found "bob cannot reveal alice's old version: 404"
call "$B" POST "/v1/secrets/DB_PASS/rollback?user_id=$A" '{"version":6}'
err 403 forbidden "bob cannot roll back alice's secret: 403, as rotate"
call "$B" POST "/v1/secrets/NO_SUCH/rollback?user_id=$A" '{"version":6}'
err 403 forbidden "... the same 403 for a name alice does not have"
is "$(versions "$C" DB_PASS "user_id=$A")" '[7,6,5]' \
    "an admin lists alice's versions (metadata)"
call "$C" POST "/v1/secrets/DB_PASS/reveal?version=6&user_id=$A"
err 403 forbidden "an admin never reveals a user's old version"
is "$(versions "$A" DB_PASS)" '[7,6,5]' "refused requests changed nothing"

# a token acts as its role
tok=$(token_create "$A" '{"description":"versions test"}')
ok "$([ -n "$tok" ]; echo $?)" "alice makes a member token"
is "$(versions "tls:$tok" DB_PASS)" '[7,6,5]' "over TLS the token lists alice's versions"
is "$(reveal "tls:$tok" DB_PASS 5)" val-5 "the token reveals alice's version 5"
call "tls:$tok" POST "/v1/secrets/ORG_KEY/reveal?version=2&orgWide=true"
err 403 forbidden "the member token cannot reveal an org version"
call "tls:$tok" POST "/v1/secrets/ORG_KEY/rollback?orgWide=true" '{"version":2}'
err 403 forbidden "the member token cannot roll back an org secret"
call "tls:$tok" POST /v1/secrets/DB_PASS/rollback '{"version":5}'
is "$ST $(printf '%s' "$BODY" | jq -c .version)" "200 8" \
    "the token rolls alice's own secret back: version 8"
is "$(reveal "$A" DB_PASS 8)" val-5 "version 8 holds version 5's bytes"

# --- delete removes every version ---
call "$A" DELETE /v1/secrets/DB_PASS
is "$ST" 200 "delete DB_PASS"
call "$A" GET /v1/secrets/DB_PASS/versions
err 404 not_found "versions of a deleted secret: 404"
call "$A" POST /v1/secrets '{"name":"DB_PASS","value":"again"}'
is "$ST $(printf '%s' "$BODY" | jq -c .version)" "201 1" "re-created: version 1"
is "$(versions "$A" DB_PASS)" '[1]' "re-created: no history visible"
call "$A" POST "/v1/secrets/DB_PASS/reveal?version=7"
err 404 not_found "an old version of the deleted secret is gone"
is "$(reveal "$A" DB_PASS 1)" again "version 1 is the new value"

# --- restart, verify ---
call "$A" POST /v1/secrets '{"name":"DB_PASS","value":"again-2"}'
before=$(apix "$A" GET /v1/secrets/ORG_KEY/versions?orgWide=true | sed '$d')
secretd_stop
"$SECRETD" verify -c "$E2E_CONF" >"$E2E_DIR/verify.out" 2>&1
is "$?" 0 "secretd verify is clean with versions in the store"
ok "$(grep -qE 'versions.*[1-9]' "$E2E_DIR/verify.out"; echo $?)" \
    "verify counts the versions database"
secretd_start
is "$(apix "$A" GET /v1/secrets/ORG_KEY/versions?orgWide=true | sed '$d')" \
    "$before" "after a restart the versions are the same"
is "$(reveal "$C" ORG_KEY 2 orgWide=true)" org-2 "after a restart an old version reveals"
is "$(reveal "$A" DB_PASS 1)" again "after a restart alice's version 1 reveals"
secretd_finish
done_testing
