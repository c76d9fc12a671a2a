#!/usr/bin/env bash
# runtools secret versions, secret get --reveal --version N and secret
# rollback against the real daemon as real users: output, --json, exit
# codes, the org secret and policy refusals, and bad arguments that send
# nothing and change nothing.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/runtools-lib.sh"

e2e_setup "versions_kept = 3" "org_reveal = admins"
secretd_start
OUT=$E2E_DIR/out ERR=$E2E_DIR/err
A=$E2E_ALICE
C=$E2E_ADMIN

rt() {
	local user=$1
	shift
	rtx "$user" RUNTOOLS_URL="unix:$E2E_SOCK" -- "$@"
}
# setv USER NAME VALUE [ARGS...]: set from stdin, as the docs say.
setv() {
	local user=$1 name=$2 value=$3
	shift 3
	printf '%s\n' "$value" | timeout -k 5 "$E2E_TIMEOUT" runuser -u "$user" \
	    -- env -i PATH="$top_builddir:/usr/bin:/bin" HOME=/nonexistent \
	    RUNTOOLS_URL="unix:$E2E_SOCK" runtools secret set "$name" "$@" \
	    >/dev/null 2>&1
}

for i in 1 2 3 4 5; do setv "$A" TOK "tok-$i"; done
is "$(version "$A" TOK)" 5 "alice's TOK is at version 5"

# --- versions ---
rt "$A" secret versions TOK
rc_is 0 "secret versions: exit 0"
is "$(head -n 1 "$OUT" | tr -s ' ')" "VERSION CREATED CREATED BY CURRENT" \
    "secret versions: a header row"
is "$(sed 1d "$OUT" | awk '{print $1}' | tr '\n' ' ')" "5 4 3 " \
    "secret versions: the 3 kept, newest first"
is "$(sed 1d "$OUT" | awk '{print $3, $4}' | tr '\n' '|')" "$A current|$A |$A |" \
    "secret versions: who wrote each; the newest is current"
rt "$A" secret versions TOK --json
is "$(jq -c '[.versions[] | [.version, .current]]' "$OUT")" \
    '[[5,true],[4,false],[3,false]]' "secret versions --json: the API's object"
rt "$A" secret versions NOPE
rc_is 3 "secret versions of a missing secret: exit 3"

# --- reveal a version ---
rt "$A" secret get TOK --reveal --version 4
rc_is 0 "get --reveal --version 4: exit 0"
is "$(cat "$OUT")" tok-4 "get --reveal --version 4 prints that value alone"
rt "$A" secret get TOK --version 3 --reveal
is "$(cat "$OUT")" tok-3 "--version may come before --reveal"
rt "$A" secret get TOK --reveal --version 2
rc_is 3 "a version no longer kept: exit 3"
ok "$(grep -q 'version 2 of this secret is not kept' "$ERR"; echo $?)" \
    "... saying the version is not kept"
rt "$A" secret get TOK --reveal --version 4 --json
is "$(jq -c '[.version, .value]' "$OUT")" '[4,"tok-4"]' "--json: the version's object"

# --- rollback ---
rt "$A" secret rollback TOK --version 3
rc_is 0 "secret rollback --version 3: exit 0"
is "$(cat "$OUT")" "rolled back TOK to version 3 (user, version 6)" \
    "secret rollback says what it made"
rt "$A" secret get TOK --reveal
is "$(cat "$OUT")" tok-3 "the current value is version 3's"
rt "$A" secret rollback TOK --version 6
rc_is 2 "rollback to the current version: exit 2 (409)"
ok "$(grep -q 'already the current one' "$ERR"; echo $?)" "... saying it is current"
rt "$A" secret rollback TOK --version 1
rc_is 3 "rollback to a version not kept: exit 3"
rt "$A" secret rollback TOK --version 5 --json
is "$(jq -c '[.name, .version]' "$OUT")" '["TOK",7]' "rollback --json: the new version's metadata"
is "$(version "$A" TOK)" 7 "two rollbacks: version 7"

# --- org secret and policy ---
setv "$C" SHARED org-1 --org-wide
setv "$C" SHARED org-2 --org-wide
rt "$A" secret versions SHARED --org-wide
is "$rc $(sed 1d "$OUT" | awk '{print $1}' | tr '\n' ' ')" "0 2 1 " \
    "a member lists the org secret's versions"
rt "$A" secret versions SHARED
rc_is 3 "without --org-wide: exit 3"
ok "$(grep -q 'add --org-wide' "$ERR"; echo $?)" "... with the --org-wide hint"
rt "$A" secret get SHARED --org-wide --reveal --version 1
rc_is 4 "org_reveal = admins: a member cannot reveal an org version (exit 4)"
rt "$A" secret rollback SHARED --org-wide --version 1
rc_is 4 "a member cannot roll back an org secret (exit 4)"
is "$(version "$A" SHARED '?orgWide=true')" 2 "the refused rollback changed nothing"
rt "$C" secret rollback SHARED --org-wide --version 1
is "$rc $(cat "$OUT")" "0 rolled back SHARED to version 1 (org, version 3)" \
    "the admin rolls the org secret back"
rt "$C" secret get SHARED --org-wide --reveal --version 3
is "$(cat "$OUT")" org-1 "org version 3 holds version 1's value"

# --- bad arguments: nothing sent, nothing changed ---
before=$(api "$A" GET /v1/secrets/TOK/versions)
for args in "--version 0" "--version -1" "--version abc" "--version 4294967296" \
    "--version" ""; do
	# shellcheck disable=SC2086
	rt "$A" secret rollback TOK $args
	rc_is 2 "secret rollback TOK $args: usage error, exit 2"
done
rt "$A" secret get TOK --version 5
rc_is 2 "get --version without --reveal: exit 2"
rt "$A" secret versions TOK --reveal
rc_is 2 "versions does not take --reveal: exit 2"
is "$(api "$A" GET /v1/secrets/TOK/versions)" "$before" \
    "after the bad arguments the versions are unchanged"
rt "$A" --version
is "$rc $(cut -d' ' -f1 "$OUT")" "0 runtools" "--version before a command is runtools' own"

secretd_finish
done_testing
