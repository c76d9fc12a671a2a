#!/usr/bin/env bash
# A uid without a user name (a container's) is identified over the unix
# socket by the id uid-N, as a member: it stores and reveals its own
# secrets, another nameless uid sees none of them, and the audit log names
# it.  No passwd entry may claim such an id: a real user named like one is
# identified by its own uid-N instead, never by the one its name spells.
# Owns its temp state folder, its daemon and the user it adds.
. "$top_srcdir/tests/e2e/lib.sh"

U1=4242		# uids with no passwd entry
U2=4243
FAKE=uid-$U1	# a real user whose name spells U1's id
FAKE_UID=4251

require_root
command -v setpriv >/dev/null ||
    { echo "1..0 # SKIP setpriv (util-linux) is not installed"; exit 0; }
for u in "$U1" "$U2" "$FAKE_UID"; do
	if getent passwd "$u" >/dev/null; then
		echo "1..0 # SKIP uid $u has a passwd entry on this host"
		exit 0
	fi
done
if getent passwd "$FAKE" >/dev/null; then
	echo "1..0 # SKIP a user named $FAKE exists on this host"
	exit 0
fi
e2e_setup
useradd --no-create-home --shell /usr/sbin/nologin -u "$FAKE_UID" "$FAKE" ||
    { echo "Bail out! useradd $FAKE failed"; exit 1; }
trap 'userdel "$FAKE" 2>/dev/null; e2e_teardown' EXIT
secretd_start
AUDIT=$E2E_DIR/state/audit.log

# as_uid UID METHOD PATH [BODY]: like api, as a bare uid (gid the same).
as_uid() {
	local uid=$1 method=$2 path=$3 body=${4:-}
	local args=(-s -m "$E2E_TIMEOUT" -w '\n%{http_code}' -X "$method" \
	    --unix-socket "$E2E_SOCK")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	setpriv --reuid="$uid" --regid="$uid" --clear-groups -- \
	    curl "${args[@]}" "http://localhost$path"
}

# --- a nameless uid is a member named uid-N ---
out=$(as_uid "$U1" GET /v1/whoami)
is "$(status_of "$out")" 200 "whoami as a nameless uid: 200"
is "$(body_of "$out" | jq -c '[.userId,.uid,.role,.orgId,.auth]')" \
    "[\"uid-$U1\",$U1,\"member\",\"$E2E_ORG\",\"unix\"]" \
    "whoami: user uid-$U1, its uid, member, the org, unix"

out=$(as_uid "$U1" POST /v1/secrets '{"name":"BOX_KEY","value":"box-value-1"}')
is "$(status_of "$out")" 201 "a nameless uid stores its own secret"
is "$(body_of "$out" | jq -r '.userId // .secret.userId // empty')" "uid-$U1" \
    "the secret belongs to uid-$U1"
out=$(as_uid "$U1" POST /v1/secrets/BOX_KEY/reveal)
is "$(status_of "$out")" 200 "a nameless uid reveals its own secret"
is "$(body_of "$out" | jq -r .value)" box-value-1 "the value comes back"
out=$(as_uid "$U1" GET /v1/secrets)
is "$(body_of "$out" | jq -r '[.secrets[].name] | join(",")')" BOX_KEY \
    "it lists its own secret"
ok "$(audit_lines ".user == \"uid-$U1\" and .op == \"reveal\" and .outcome == \"ok\"" |
    grep -q .; echo $?)" \
    "the audit line of the reveal names uid-$U1"
ok "$(audit_lines ".user == \"uid-$U1\" and .op == \"put\" and .owner == \"uid-$U1\" and
    .name == \"BOX_KEY\" and .outcome == \"created\"" | grep -q .; echo $?)" \
    "the audit line of the create names uid-$U1"
ok "$(audit_lines ".user == \"uid-$U1\" and .op == \"connect\" and .uid == $U1 and
    .source == \"uid:$U1\"" | grep -q .; echo $?)" \
    "the connection's audit line names uid-$U1 and its uid"

# --- another nameless uid sees nothing of it ---
out=$(as_uid "$U2" POST /v1/secrets/BOX_KEY/reveal)
is "$(status_of "$out")" 404 "another nameless uid cannot reveal it (404)"
out=$(as_uid "$U2" GET /v1/secrets/BOX_KEY)
is "$(status_of "$out")" 404 "nor read its metadata (404)"
out=$(as_uid "$U2" GET /v1/secrets)
is "$(body_of "$out" | jq -r '[.secrets[].name] | join(",")')" "" \
    "nor list it"
out=$(as_uid "$U2" GET "/v1/secrets?user_id=uid-$U1")
ok "$([ "$(status_of "$out")" = 403 ] || [ "$(body_of "$out" |
    jq -r '[.secrets[].name] | join(",")')" = "" ]; echo $?)" \
    "nor list it with user_id=uid-$U1 ($(status_of "$out"))"
out=$(as_uid "$U2" POST /v1/secrets/BOX_KEY/reveal?user_id=uid-$U1)
ok "$([ "$(status_of "$out")" = 403 ] || [ "$(status_of "$out")" = 404 ]; echo $?)" \
    "nor reveal it with user_id=uid-$U1 ($(status_of "$out"))"

# --- a real user named uid-N is not uid N ---
out=$(api "$FAKE" GET /v1/whoami)
is "$(body_of "$out" | jq -c '[.userId,.uid,.role]')" \
    "[\"uid-$FAKE_UID\",$FAKE_UID,\"member\"]" \
    "a user named $FAKE is identified by its own uid: uid-$FAKE_UID"
out=$(api "$FAKE" POST /v1/secrets/BOX_KEY/reveal)
is "$(status_of "$out")" 404 "and cannot reveal uid-$U1's secret (404)"
out=$(api "$FAKE" GET /v1/secrets)
is "$(body_of "$out" | jq -r '[.secrets[].name] | join(",")')" "" \
    "nor list it"

# --- an admin sees it as uid-N's, and cannot reveal it ---
out=$(api "$E2E_ADMIN" GET "/v1/secrets?user_id=uid-$U1")
is "$(body_of "$out" | jq -r '[.secrets[].name] | join(",")')" BOX_KEY \
    "an admin lists it with user_id=uid-$U1"
out=$(api "$E2E_ADMIN" POST "/v1/secrets/BOX_KEY/reveal?user_id=uid-$U1")
is "$(status_of "$out")" 403 "an admin cannot reveal it (owner only)"

# --- the same uid later: the same id, its secret still there ---
out=$(as_uid "$U1" DELETE /v1/secrets/BOX_KEY)
ok "$([ "$(status_of "$out")" = 204 ] || [ "$(status_of "$out")" = 200 ]; echo $?)" \
    "a nameless uid deletes its own secret ($(status_of "$out"))"

[ "$tap_failed" -ne 0 ] && grep "uid-" "$AUDIT" | head -n 20 | sed "s/^/# audit: /"
secretd_finish
done_testing
