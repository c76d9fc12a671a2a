#!/usr/bin/env bash
# Every `runtools secret` line of the reference document, run exactly as
# printed and in document order: first as an admin (all succeed), then as a
# plain member (org-wide ones fail with exit 4, private ones succeed and stay
# invisible to another member).  State is checked through the HTTP API.
. "$top_srcdir/tests/e2e/lib.sh"

# The reference document ships beside the source tree, not in it.
DOC=${RUNTOOLS_DOC:-$top_srcdir/../shared/reference/runtools-secrets-docs.txt}
if [ ! -r "$DOC" ]; then
	echo "1..0 # SKIP reference document not found (set RUNTOOLS_DOC)"
	exit 0
fi

# Commands exactly as printed: lines starting with `runtools secret` or an
# `echo ... | runtools secret` pipeline, with their backslash-continued
# lines; each record ends with a NUL.
extract_commands() {
	awk '
	!cont && (/^runtools secret / || /^echo .*\| *runtools secret /) { cont = 1; text = "" }
	cont {
		text = text $0
		if ($0 ~ /\\$/) { text = text "\n"; next }
		printf "%s%c", text, 0; cont = 0
	}' "$DOC"
}

# The one-line form of a command, to name it and look up what it must do.
oneline() {
	printf '%s' "$1" | sed -e ':a' -e 'N' -e '$!ba' -e 's/ *\\\n */ /g' | tr -s ' '
}

e2e_setup
secretd_start

mapfile -d '' -t cmds < <(extract_commands)
ok $(( ${#cmds[@]} >= 12 ? 0 : 1 )) "the document yields its ${#cmds[@]} runtools commands"

# run_as USER CMD: the command exactly as printed, with runtools on PATH.
run_as() {
	local user=$1 cmd=$2
	runuser -u "$user" -- env PATH="$top_builddir:$PATH" \
	    RUNTOOLS_URL="unix:$E2E_SOCK" HOME=/nonexistent \
	    bash -c "$cmd" >"$E2E_DIR/out" 2>"$E2E_DIR/err"
}

# meta USER NAME [orgWide]: "version category description" or the status.
meta() {
	local q=""
	[ "${3:-}" = org ] && q="?orgWide=true"
	local out; out=$(api "$1" GET "/v1/secrets/$2$q")
	if [ "$(status_of "$out")" = 200 ]; then
		body_of "$out" | jq -r '[.scope, (.version|tostring), .category, .description] | join(" ")'
	else
		status_of "$out"
	fi
}

reveal() {
	local q=""
	[ "${3:-}" = org ] && q="?orgWide=true"
	body_of "$(api "$1" POST "/v1/secrets/$2/reveal$q")" | jq -r .value
}

# check_admin INDEX CMD: the store state each command of the document must leave.
check_admin() {
	local u=$E2E_ADMIN cmd=$2 rc=$3
	case "$cmd" in
	'runtools secret set ANTHROPIC_API_KEY "sk-ant-xxx" --category provider')
		is "$rc $(meta $u ANTHROPIC_API_KEY)" "0 user 1 provider " "admin: $cmd"
		is "$(reveal $u ANTHROPIC_API_KEY)" "sk-ant-xxx" "admin: value stored as given" ;;
	'runtools secret set GITHUB_TOKEN "ghp_xxx" --category tool --description "GitHub fallback token"')
		is "$rc $(meta $u GITHUB_TOKEN)" "0 user 1 tool GitHub fallback token" "admin: $cmd" ;;
	'runtools secret set SHARED_CRM_KEY "crm_xxx" --category tool --org-wide')
		is "$rc $(meta $u SHARED_CRM_KEY org)" "0 org 1 tool " "admin: $cmd"
		is "$(meta $u SHARED_CRM_KEY)" "404" "admin: org-wide set made no user secret" ;;
	'echo "new-secret-value" | runtools secret rotate ANTHROPIC_API_KEY')
		is "$rc $(meta $u ANTHROPIC_API_KEY)" "0 user 2 provider " "admin: $cmd"
		is "$(reveal $u ANTHROPIC_API_KEY)" "new-secret-value" "admin: rotated value, newline dropped" ;;
	'runtools secret list')
		is "$rc $(grep -cE '^(ANTHROPIC_API_KEY|GITHUB_TOKEN|SHARED_CRM_KEY) ' "$E2E_DIR/out")" "0 3" "admin: $cmd shows own and org secrets" ;;
	'runtools secret list --user-only')
		is "$rc $(grep -cE '^(ANTHROPIC_API_KEY|GITHUB_TOKEN) ' "$E2E_DIR/out") $(grep -c '^SHARED_CRM_KEY ' "$E2E_DIR/out")" "0 2 0" "admin: $cmd" ;;
	'runtools secret list --org-only')
		is "$rc $(grep -cE '^(ANTHROPIC_API_KEY|GITHUB_TOKEN) ' "$E2E_DIR/out") $(grep -c '^SHARED_CRM_KEY ' "$E2E_DIR/out")" "0 0 1" "admin: $cmd" ;;
	'runtools secret list --all-org')
		is "$rc $(grep -c '^ALICE_PRIVATE ' "$E2E_DIR/out") $(grep -c '^SHARED_CRM_KEY ' "$E2E_DIR/out")" "0 1 1" "admin: $cmd includes other users' secrets" ;;
	'runtools secret get ANTHROPIC_API_KEY --reveal')
		is "$rc $(cat "$E2E_DIR/out")" "0 new-secret-value" "admin: $cmd prints the value alone" ;;
	'runtools secret get SHARED_CRM_KEY --org-wide --reveal')
		is "$rc $(cat "$E2E_DIR/out")" "0 crm_xxx" "admin: $cmd" ;;
	'runtools secret delete ANTHROPIC_API_KEY')
		is "$rc $(meta $u ANTHROPIC_API_KEY)" "0 404" "admin: $cmd" ;;
	'runtools secret delete SHARED_CRM_KEY --org-wide')
		is "$rc $(meta $u SHARED_CRM_KEY org)" "0 404" "admin: $cmd" ;;
	*)
		ok 1 "admin: no expectation written for: $cmd" ;;
	esac
}

# A secret of another user, for --all-org to find.
api "$E2E_ALICE" POST /v1/secrets '{"name":"ALICE_PRIVATE","value":"a"}' >/dev/null

for i in "${!cmds[@]}"; do
	run_as "$E2E_ADMIN" "${cmds[$i]}"
	rc=$?
	[ "$rc" -eq 0 ] || echo "# stderr: $(cat "$E2E_DIR/err")"
	check_admin "$i" "$(oneline "${cmds[$i]}")" "$rc"
done

# The same document as a plain member, with the org secret in place so
# that every org-wide command meets an existing record (org_reveal =
# admins: members may not reveal it).
api "$E2E_ADMIN" POST /v1/secrets '{"name":"SHARED_CRM_KEY","value":"crm_xxx","category":"tool","orgWide":true}' >/dev/null
for i in "${!cmds[@]}"; do
	cmd=$(oneline "${cmds[$i]}")
	run_as "$E2E_ALICE" "${cmds[$i]}"
	rc=$?
	case "$cmd" in
	*--org-wide*|*--all-org*)
		# Org-wide writes, org reveals (org_reveal = admins) and
		# listing every user's secrets are for admins only.
		is "$rc" 4 "member: $cmd is refused with exit 4"
		ok $(grep -q '^runtools: .\+: .\+' "$E2E_DIR/err"; echo $?) "member: clear message: $(head -c 200 "$E2E_DIR/err")" ;;
	*)
		is "$rc" 0 "member: $cmd succeeds" ;;
	esac
done
is "$(meta "$E2E_ADMIN" SHARED_CRM_KEY org)" "org 1 tool " "member: the org secret is unchanged"
is "$(meta "$E2E_ALICE" GITHUB_TOKEN)" "user 1 tool GitHub fallback token" "member: private secret kept"
is "$(meta "$E2E_BOB" GITHUB_TOKEN)" "404" "another member cannot see it"
out=$(api "$E2E_BOB" GET /v1/secrets)
is "$(body_of "$out" | jq '[.secrets[] | select(.userId == "'"$E2E_ALICE"'")] | length')" 0 \
    "another member's list does not show it"

secretd_finish

done_testing
