#!/usr/bin/env bash
# A secret's optional expiry: set over the API and with runtools
# --expires, kept on rotation unless replaced, cleared with null or
# "never", shown only when set, kept across a restart, and found with
# `secret list --expiring`.  A bad date is refused and changes nothing.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/runtools-lib.sh"

e2e_setup
secretd_start
OUT=$E2E_DIR/out ERR=$E2E_DIR/err
A=$E2E_ALICE

rt() {
	local user=$1
	shift
	rtx "$user" RUNTOOLS_URL="unix:$E2E_SOCK" -- "$@"
}
meta() {	# meta NAME FIELD: a field of alice's secret's metadata
	body_of "$(api "$A" GET "/v1/secrets/$1")" | jq -r ".$2"
}
J='Content-Type: application/json'

# --- over the API ---
out=$(api "$A" POST /v1/secrets '{"name":"EXP_API","value":"v1","expiresAt":"2031-01-02"}')
is "$(status_of "$out")" 201 "POST with expiresAt as a date: 201"
is "$(body_of "$out" | jq -r .expiresAt)" 2031-01-02T00:00:00Z "the date is midnight UTC"
out=$(api "$A" POST /v1/secrets '{"name":"EXP_API","value":"v2"}')
is "$(body_of "$out" | jq -r '[.version,.expiresAt] | join(" ")')" "2 2031-01-02T00:00:00Z" \
    "a rotation without expiresAt keeps it"
out=$(api "$A" POST /v1/secrets '{"name":"EXP_API","value":"v3","expiresAt":"2032-05-06T07:08:09Z"}')
is "$(body_of "$out" | jq -r .expiresAt)" 2032-05-06T07:08:09Z "a time replaces it"
for bad in '"2031-13-01"' '"2031-02-30"' '"2031-01-01T25:00:00Z"' '"2031-01-01 10:00"' \
    '"tomorrow"' '"1969-12-31"' '5' 'true' '"10000-01-01"'; do
	out=$(api "$A" POST /v1/secrets "{\"name\":\"EXP_API\",\"value\":\"bad\",\"expiresAt\":$bad}")
	is "$(status_of "$out")" 400 "expiresAt $bad is refused"
done
is "$(meta EXP_API version) $(meta EXP_API expiresAt)" "3 2032-05-06T07:08:09Z" \
    "and none of them changed the secret"
out=$(api "$A" POST /v1/secrets '{"name":"EXP_API","value":"v4","expiresAt":null}')
is "$(body_of "$out" | jq -r 'has("expiresAt")')" false "null clears it, and the key is gone"
is "$(body_of "$(api "$A" GET /v1/secrets/EXP_API)" | jq -c 'keys')" \
    '["category","createdAt","createdBy","description","name","orgId","scope","updatedAt","updatedBy","userId","version"]' \
    "without an expiry the metadata has exactly the documented keys"

# --- with runtools ---
rt "$A" secret set EXP_SOON soon-value --expires 3d
rc_is 0 "set --expires 3d"
soon=$(meta EXP_SOON expiresAt)
want=$(date -u -d '+3 days' +%Y-%m-%d)
ok "$(case $soon in "$want"T*) echo 0;; *) echo 1;; esac)" "expiresAt is three days from now ($soon)"
rt "$A" secret set EXP_LATE late-value --expires 30d
rt "$A" secret set EXP_PAST past-value --expires 2020-01-01
rc_is 0 "set --expires with a past date (a reminder, not a lock)"
rt "$A" secret set EXP_NONE none-value
rt "$A" secret get EXP_SOON
ok "$(grep -q "^expiresAt: $soon$" "$OUT"; echo $?)" "get shows expiresAt"
rt "$A" secret get EXP_NONE
ok "$(! grep -q expiresAt "$OUT"; echo $?)" "and leaves it out when there is none"
rt "$A" secret get EXP_PAST --reveal
is "$(cat "$OUT")" past-value "a past expiry does not stop a reveal"

rt "$A" secret list --expiring 7d
rc_is 0 "list --expiring 7d"
is "$(awk 'NR > 1 {print $1}' "$OUT" | sort | tr '\n' ' ')" "EXP_PAST EXP_SOON " \
    "it lists what expires within 7 days or has expired, nothing else"
ok "$(head -n 1 "$OUT" | grep -q EXPIRES; echo $?)" "with an EXPIRES column"
rt "$A" secret list --expiring 60d --json
rc_is 0 "list --expiring --json"
rt "$A" secret list
ok "$(grep EXP_LATE "$OUT" | grep -q "$(date -u -d '+30 days' +%Y-%m-%d)"; echo $?)" \
    "the plain list shows the expiry"

echo new-value | rt "$A" secret rotate EXP_SOON
rc_is 0 "rotate"
is "$(meta EXP_SOON expiresAt)" "$soon" "rotate keeps the expiry"
echo newer | rt "$A" secret rotate EXP_SOON --expires never
is "$(meta EXP_SOON expiresAt)" null "rotate --expires never clears it"
rt "$A" secret set EXP_BAD x --expires soonish
rc_is 2 "a bad --expires is a usage error"
is "$(version "$A" EXP_BAD)" 404 "and stores nothing"

# --- the store keeps it ---
secretd_stop
secretd_start
is "$(meta EXP_LATE expiresAt | cut -c1-10)" "$(date -u -d '+30 days' +%Y-%m-%d)" \
    "the expiry survives a restart"
is "$(meta EXP_NONE expiresAt)" null "and so does its absence"

secretd_finish
done_testing
