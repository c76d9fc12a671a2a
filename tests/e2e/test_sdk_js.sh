#!/usr/bin/env bash
# The JavaScript SDK (sdk/js) against the real daemon: its node --test
# files run as real users over the unix socket and over TLS with tokens,
# with a tool (the documentation's custom-crm and a slow one) pointed at
# tests/e2e/upstream.py.  node's TAP is flattened to one line per test.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/tools_lib.sh"
require_root
SDK=$top_srcdir/sdk/js
[ -f "$SDK/package.json" ] ||
    { echo "1..0 # SKIP sdk/js is not beside the tests"; exit 0; }
NODE=$(command -v node || command -v nodejs) ||
    { echo "1..0 # SKIP node is not installed"; exit 0; }
"$NODE" -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' ||
    { echo "1..0 # SKIP node $("$NODE" --version) is older than 18"; exit 0; }
for c in python3 openssl jq; do
	command -v "$c" >/dev/null ||
	    { echo "1..0 # SKIP $c is not installed"; exit 0; }
done
DOC=${RUNTOOLS_DOC:-$top_srcdir/../shared/reference/runtools-secrets-docs.txt}

e2e_setup "org_reveal = admins"
tools_setup
tool_custom_crm
cat >"$TOOLS/slowcrm.tool" <<TOOL
description = The test upstream, slowly
type = http
timeout = 10s
base_url = $BASE
ca_file = $UP/ca.crt
slot apiKey
	secret = ORG_ONLY
	header = X-Api-Key: {}
action slow
	method = GET
	path = /slow
	param s number query
TOOL
chmod 0644 "$TOOLS"/*.tool

secretd_start

# The daemon's certificate, where the test users can read it.
CA=$E2E_DIR/ca.pem
install -m 0644 "$E2E_CA" "$CA"
# What the member tests look for: alice's own secret, an org secret.
api "$E2E_ALICE" POST /v1/secrets '{"name":"ALICE_ONLY","value":"alice-private"}' >/dev/null
api "$E2E_ADMIN" POST /v1/secrets \
    '{"name":"ORG_ONLY","value":"org-shared-value","category":"tool","orgWide":true}' >/dev/null
ADMIN_TOKEN=$(token_create "$E2E_ADMIN" '{"description":"sdk admin","role":"admin"}')
BOB_TOKEN=$(token_create "$E2E_BOB" '{"description":"sdk bob"}')
ok "$([ -n "$ADMIN_TOKEN" ] && [ -n "$BOB_TOKEN" ]; echo $?)" \
    "tokens for the TLS runs: an admin's and a member's"
CLOSED_PORT=$(free_port)

# flatten: node's TAP on stdin, one "R<TAB>ok|not ok<TAB>name<TAB>directive"
# line per test that has no subtests (a parent's line follows its
# subtests' at less indentation), and "D<TAB>line" for each line of a
# failed test's diagnostics.
flatten() {
	awk '
	function indent(s) { match(s, /^ */); return RLENGTH }
	/^ *---$/ { yaml = 1; next }
	yaml && /^ *\.\.\.$/ { yaml = 0; next }
	yaml { if (diag) print "D\t" $0; next }
	/^ *(not )?ok [0-9]+/ {
		d = indent($0)
		line = substr($0, d + 1)
		leaf = (prev < 0 || prev <= d)
		prev = d
		diag = 0
		if (!leaf)
			next
		res = line ~ /^not ok/ ? "not ok" : "ok"
		sub(/^(not )?ok [0-9]+ *-? */, "", line)
		dir = ""
		if (match(line, / # (SKIP|TODO)( .*)?$/)) {
			dir = substr(line, RSTART + 3)
			line = substr(line, 1, RSTART - 1)
		}
		gsub(/\\#/, "#", line)
		diag = res == "not ok"
		print "R\t" res "\t" line "\t" dir
	}
	BEGIN { prev = -1 }
	'
}

# node_tests LABEL USER VAR=VALUE... -- FILE...: node --test as USER with
# exactly these environment variables; each test becomes one TAP line.
node_tests() {
	local label=$1 user=$2 envs=() f out rc kind res name dir nres=0 nfail=0
	shift 2
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	for f in "$@"; do
		out=$E2E_DIR/node.$label.$(basename "$f").tap
		(cd / && timeout -k 5 300 runuser -u "$user" -- env -i \
		    PATH=/usr/bin:/bin HOME=/nonexistent \
		    SDK_ALICE="$E2E_ALICE" SDK_ALICE_SECRET=ALICE_ONLY \
		    SDK_ORG_SECRET=ORG_ONLY SDK_CLOSED_PORT="$CLOSED_PORT" \
		    RUNTOOLS_DOC="$DOC" "${envs[@]}" \
		    "$NODE" --test --test-reporter=tap "$SDK/test/$f") >"$out" 2>&1
		rc=$?
		while IFS=$'\t' read -r kind res name dir; do
			if [ "$kind" = D ]; then
				echo "#  $res"
				continue
			fi
			nres=$((nres + 1))
			tap_n=$((tap_n + 1))
			[ "$res" = ok ] || { tap_failed=$((tap_failed + 1)); nfail=$((nfail + 1)); }
			echo "$res $tap_n - [js $label] $f: $name${dir:+ # $dir}"
		done < <(flatten <"$out")
		if [ "$nres" -eq 0 ] || { [ "$rc" -ne 0 ] && [ "$nfail" -eq 0 ]; }; then
			ok 1 "[js $label] $f: node --test exited $rc with $nres results"
			sed 's/^/#  /' "$out" | tail -n 40
		fi
		nres=0 nfail=0
	done
}

UNIX=RUNTOOLS_URL=unix:$E2E_SOCK
node_tests "unix admin" "$E2E_ADMIN" SDK_MODE=unix "$UNIX" -- \
    admin.test.mjs errors.test.mjs
node_tests "unix member" "$E2E_BOB" SDK_MODE=unix "$UNIX" -- member.test.mjs
node_tests "tls admin" "$E2E_ADMIN" SDK_MODE=tls RUNTOOLS_URL="$E2E_URL" \
    RUNTOOLS_CA_FILE="$CA" RUNTOOLS_TOKEN="$ADMIN_TOKEN" -- \
    admin.test.mjs errors.test.mjs
node_tests "tls member" "$E2E_ALICE" SDK_MODE=tls RUNTOOLS_URL="$E2E_URL" \
    RUNTOOLS_CA_FILE="$CA" RUNTOOLS_TOKEN="$BOB_TOKEN" -- member.test.mjs

# The documentation's lines as the README runs them: examples/docs.mjs.
out=$(cd / && runuser -u "$E2E_ADMIN" -- env -i PATH=/usr/bin:/bin \
    HOME=/nonexistent RUNTOOLS_URL="unix:$E2E_SOCK" \
    "$NODE" "$SDK/examples/docs.mjs" 2>&1)
is "$?" 0 "examples/docs.mjs runs the documentation's lines as printed"
ok "$(grep -q 'revealed.value: sk-ant-xxx' <<<"$out" &&
    grep -q '"ok": true' <<<"$out"; echo $?)" \
    "examples/docs.mjs shows the revealed value and the tool's answer"
[ "$tap_failed" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#  /' | tail -n 30

secretd_finish
done_testing
