#!/usr/bin/env bash
# secretd -n on a tools folder: every error of every file named FILE:LINE
# and a non-zero exit; the shipped examples pass and are listed.  Runs
# no daemon and needs no root.
. "$top_srcdir/tests/e2e/lib.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/secretd-tools.XXXXXX")
trap 'rm -rf "$dir"' EXIT
chmod 0755 "$dir"
conf=$dir/secretd.conf
# secretd -n looks these up: names every system has, so no root is needed.
users='admin_group = root\nfrontend_user = nobody\nrunner_user = daemon\n'
printf "state_dir = state\\n$users" >"$conf"
tools=$dir/tools.d

check() { "$SECRETD" -n -c "$conf" "$@"; }

out=$(check 2>&1); rc=$?
is "$rc $out" "0 configuration OK, 0 tools" \
    "no tools folder beside the config: OK, no tools"

mkdir -m 0755 "$tools"
cat >"$tools/crm.tool" <<'TOOL'
type = http
base_url = https://crm.example.com
timeout = 10 minutes
slot apiKey
	secret = SHARED_CRM_KEY
	header = Authorization: Bearer {}
action lookup
	method = GET
	path = /customers/{email}
TOOL
cat >"$tools/run.tool" <<'TOOL'
type = exec
command = /usr/bin/env
action list
	param verbose bool query
TOOL
printf 'not a tool\n' >"$tools/README"
chmod 0644 "$tools"/*
out=$(check 2>&1); rc=$?
ok "$([ "$rc" -ne 0 ]; echo $?)" "two bad files: secretd -n fails (exit $rc)"
is "$(printf '%s\n' "$out" | grep -c "^$tools/")" 3 \
    "three errors in two files, each on its own line"
is "$(printf '%s\n' "$out" | grep -F "$tools/crm.tool:3: ")" \
    "$tools/crm.tool:3: timeout: bad value \"10 minutes\": expected 1ms to 300s, with the unit ms or s" \
    "the first file's bad value, at its line"
is "$(printf '%s\n' "$out" | grep -F "$tools/crm.tool:9: ")" \
    "$tools/crm.tool:9: action lookup: path names {email}, which is not a path parameter" \
    "the first file's undeclared path parameter, at the path's line"
is "$(printf '%s\n' "$out" | grep -F "$tools/run.tool:")" \
    "$tools/run.tool:4: param verbose: exec tools take their parameters on stdin; query is for http tools" \
    "the second file's error, at its line"
is "$(printf '%s\n' "$out" | tail -n 1)" "secretd: $tools: 3 errors" \
    "a last line counts the errors"

rm -f "$tools"/*.tool
cp "$top_srcdir/contrib/tools.d/custom-crm.tool" \
    "$top_srcdir/contrib/tools.d/github.tool" \
    "$top_srcdir/contrib/tools.d/github.py" "$tools/"
chmod 0644 "$tools"/*.tool
chmod 0755 "$tools/github.py"
out=$(check 2>&1); rc=$?
is "$rc $out" "0 configuration OK, 2 tools" "the shipped examples pass"
out=$(check -v 2>/dev/null)
is "$(printf '%s\n' "$out" | grep '^# tool ')" \
"# tool custom-crm: http https://crm.example.com/api, members, timeout 10000ms, max_result 65536; slots apiKey=SHARED_CRM_KEY; actions lookup_customer
# tool github: exec $tools/github.py, members, timeout 20000ms, max_result 16384; slots token=GITHUB_TOKEN; actions whoami, repo" \
    "-v lists each tool: type, target, slots and actions"
is "$(printf '%s\n' "$out" | grep '^tools_dir = ')" "tools_dir = $tools" \
    "-v prints the tools folder in the effective config"

chmod 0664 "$tools/github.tool"
out=$(check 2>&1); rc=$?
is "$rc $(printf '%s\n' "$out" | head -n 1)" \
    "1 $tools/github.tool: writable by group or others; refusing it" \
    "a group-writable tool file fails the check"
chmod 0644 "$tools/github.tool"

# Every exec tool runs as the runner's user: a command, or a CA file,
# that anyone but root and us could rewrite is refused, and so is one in
# such a folder; a sticky folder such as /tmp is fine.
chmod 0775 "$tools/github.py"
out=$(check 2>&1); rc=$?
is "$rc $(printf '%s\n' "$out" | head -n 1)" \
    "1 $tools/github.tool:12: command: $tools/github.py: writable by group or others; refusing it" \
    "a group-writable command fails the check, at the command's line"
chmod 0755 "$tools/github.py"
mkdir -m 0777 "$dir/open"
printf 'type = exec\ncommand = %s/open/run\naction go\n' "$dir" \
    >"$tools/open.tool"
chmod 0644 "$tools/open.tool"
out=$(check 2>&1); rc=$?
is "$rc $(printf '%s\n' "$out" | head -n 1)" \
    "1 $tools/open.tool:2: command: $dir/open: writable by group or others; refusing it" \
    "a command in a world-writable folder fails, though it does not exist yet"
chmod 1777 "$dir/open"
out=$(check 2>&1); rc=$?
is "$rc $out" "0 configuration OK, 3 tools" "in a sticky folder, it passes"
rm -f "$tools/open.tool"
rmdir "$dir/open"
printf 'type = http\nbase_url = https://x.example\nca_file = %s/ca.pem\naction go\n\tmethod = GET\n\tpath = /\n' \
    "$dir" >"$tools/ca.tool"
touch "$dir/ca.pem"
chmod 0666 "$dir/ca.pem"
chmod 0644 "$tools/ca.tool"
out=$(check 2>&1); rc=$?
is "$rc $(printf '%s\n' "$out" | head -n 1)" \
    "1 $tools/ca.tool:3: ca_file: $dir/ca.pem: writable by group or others; refusing it" \
    "a world-writable CA file fails the check"
rm -f "$tools/ca.tool" "$dir/ca.pem"

# The examples of secretd.tools(5), as built, are tools that load.
rm -f "$tools"/*
awk -v dir="$tools" '
	/^\.Sh / { ex = ($2 == "EXAMPLES") }
	ex && /^\.Bd -literal/ { n++; f = sprintf("%s/man%d.tool", dir, n); next }
	ex && /^\.Ed/ { close(f); f = ""; next }
	f != "" { print > f }
' "$top_builddir/man/secretd.tools.5"
chmod 0644 "$tools"/*.tool
out=$(check 2>&1); rc=$?
is "$rc $out" "0 configuration OK, 3 tools" \
    "the three examples of secretd.tools(5) load"

printf "state_dir = state\\ntools_dir = %s\\ntool_max_concurrent = 0\\n$users" \
    "$tools" >"$conf"
out=$(check 2>&1); rc=$?
is "$rc $out" "1 $conf:3: tool_max_concurrent: bad value \"0\": expected a number from 1 to 256
secretd: $conf: 1 error" \
    "a bad tool_max_concurrent names its line"

done_testing
