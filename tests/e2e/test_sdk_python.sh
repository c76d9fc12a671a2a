#!/usr/bin/env bash
# The Python SDK (sdk/python) against a real secretd: its tests
# (sdk/python/tests/test_e2e.py, unittest, printed as TAP by tap.py) run
# as real users over the unix socket and over TLS with a token, with the
# documentation's custom-crm tool pointed at tests/e2e/upstream.py; the
# documentation's lines in Python (sdk/python/examples/docs.py) run as an
# admin; and the package builds a wheel when the build tools are there.
. "$top_srcdir/tests/e2e/lib.sh"
require_root

SDK=$top_srcdir/sdk/python
[ -f "$SDK/runtools/__init__.py" ] ||
    { echo "1..0 # SKIP sdk/python is not in this tree"; exit 0; }
# Debian's python3 (another one earlier in root's PATH may not be
# reachable by the test users).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)
[ -n "$PY" ] || { echo "1..0 # SKIP python3 is not installed"; exit 0; }
for c in openssl jq; do
	command -v "$c" >/dev/null ||
	    { echo "1..0 # SKIP $c is not installed"; exit 0; }
done

e2e_setup "org_reveal = admins"
A=$E2E_ALICE B=$E2E_BOB ADM=$E2E_ADMIN
TOOLS=$E2E_DIR/tools.d UP=$E2E_DIR/up
mkdir -p "$TOOLS" "$UP"
chmod 0755 "$TOOLS" "$UP"

# The tools' upstream: HTTPS on loopback with a CA of its own.
"$PY" "$top_srcdir/tests/e2e/upstream.py" --dir "$UP" --log "$UP/log" \
    >"$UP/out" 2>"$UP/err" &
UP_PID=$!
trap 'kill "$UP_PID" 2>/dev/null; e2e_teardown' EXIT
for _ in $(seq 100); do
	grep -q '^port ' "$UP/out" 2>/dev/null && break
	sleep 0.1
done
UP_PORT=$(sed -n 's/^port //p' "$UP/out")
[ -n "$UP_PORT" ] || { echo "Bail out! upstream did not start: $(cat "$UP/err")"; exit 1; }
touch "$UP/log"
chmod 0644 "$UP/ca.crt" "$UP/log"

# The documentation's tool as shipped, and a slow one for timeouts.
sed -e "s#^base_url = .*#base_url = https://localhost:$UP_PORT/echo#" \
    -e "s#^\#ca_file = .*#ca_file = $UP/ca.crt#" \
    "$top_srcdir/contrib/tools.d/custom-crm.tool" >"$TOOLS/custom-crm.tool"
cat >"$TOOLS/slowcrm.tool" <<EOT
type = http
timeout = 10s
base_url = https://localhost:$UP_PORT
ca_file = $UP/ca.crt
slot apiKey
	secret = SHARED_CRM_KEY
	header = X-Api-Key: {}
action slow
	method = GET
	path = /slow
	param s number query
EOT
chmod 0644 "$TOOLS"/*.tool

secretd_start

CA=$E2E_DIR/ca.pem
install -m 0644 "$E2E_CA" "$CA"
CRM_VALUE=crm-org-key-$RANDOM$RANDOM

put() {	# put USER BODY: POST /v1/secrets over the socket, asserting 201
	is "$(status_of "$(api "$1" POST /v1/secrets "$2")")" 201 "set up: $1 $2"
}
put "$ADM" "{\"name\":\"SHARED_CRM_KEY\",\"value\":\"$CRM_VALUE\",\"category\":\"tool\",\"orgWide\":true}"
put "$ADM" '{"name":"ORG_LOCKED","value":"locked-value","orgWide":true}'
put "$A" '{"name":"ALICE_ONLY","value":"alice-private"}'
ATOK=$(token_create "$A" '{"description":"sdk alice"}')
ok "$([ "${ATOK#rts_}" != "$ATOK" ]; echo $?)" "set up: a member token for $A"
DEAD_PORT=$(free_port)

# pysuite USER LABEL VAR=VALUE... -- CLASS...: the SDK's tests as USER;
# each of their TAP lines becomes one of ours.
pysuite() {
	local user=$1 label=$2 envs=() line out
	shift 2
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	out=$E2E_DIR/py.$label
	timeout -k 5 600 runuser -u "$user" -- env -i PATH=/usr/bin:/bin \
	    HOME=/nonexistent LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 \
	    PYTHONPATH="$SDK" \
	    SDKT_SOCK="$E2E_SOCK" SDKT_URL="$E2E_URL" SDKT_CA="$CA" \
	    SDKT_OTHER_CA="$UP/ca.crt" SDKT_ALICE="$A" SDKT_BOB="$B" \
	    SDKT_ADMIN="$ADM" SDKT_ATOK="$ATOK" SDKT_CRM_VALUE="$CRM_VALUE" \
	    SDKT_UPLOG="$UP/log" SDKT_DEAD_PORT="$DEAD_PORT" "${envs[@]}" \
	    "$PY" "$SDK/tests/tap.py" test_e2e "$@" >"$out" 2>&1
	local rc=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok 0 "[$label] ${line#ok - }" ;;
		"not ok - "*) ok 1 "[$label] ${line#not ok - }" ;;
		*) echo "# $line" ;;
		esac
	done <"$out"
	is "$rc" 0 "[$label] the Python suite ran to its end and passed"
}

UNIX=RUNTOOLS_URL=unix:$E2E_SOCK
pysuite "$A" unix "$UNIX" -- UnixMember
pysuite "$B" unix "$UNIX" -- UnixOther
pysuite "$ADM" unix "$UNIX" -- UnixAdmin Docs
# Over TLS as bob, with alice's token: the identity is the token's.
pysuite "$B" tls RUNTOOLS_URL="$E2E_URL" RUNTOOLS_TOKEN="$ATOK" \
    RUNTOOLS_CA_FILE="$CA" -- Tls
pysuite "$A" offline -- Config

# The documentation's lines, as the README runs them, as an admin.
out=$(timeout -k 5 60 runuser -u "$ADM" -- env -i PATH=/usr/bin:/bin \
    HOME=/nonexistent PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$SDK" \
    RUNTOOLS_URL="unix:$E2E_SOCK" "$PY" "$SDK/examples/docs.py" 2>&1)
is "$?" 0 "examples/docs.py exits 0: $(printf '%s' "$out" | tail -n 1)"
printf '%s\n' "$out" | sed 's/^/#   /'
ok "$(printf '%s\n' "$out" | grep -qF "rt.tools.execute('custom-crm', ...): ok=true, credentials=[{\"slot\": \"apiKey\", \"name\": \"SHARED_CRM_KEY\", \"scope\": \"org\""; echo $?)" \
    "docs.py ran custom-crm with the org's SHARED_CRM_KEY"
ok "$(printf '%s\n' "$out" | grep -qF "rt.secrets.delete('SHARED_CRM_KEY', org_wide=True): {\"deleted\": true, \"name\": \"SHARED_CRM_KEY\", \"scope\": \"org\"}"; echo $?)" \
    "docs.py deleted the org's SHARED_CRM_KEY"
ok "$(! printf '%s\n' "$out" | grep -qe sk-ant-xxx -e crm_xxx; echo $?)" \
    "docs.py printed no value"
is "$(status_of "$(api "$ADM" GET /v1/secrets/ANTHROPIC_API_KEY)") $(status_of "$(api "$ADM" GET '/v1/secrets/SHARED_CRM_KEY?orgWide=true')")" \
    "404 404" "the documentation's secrets are gone afterwards"

# No value ever reached the audit log.
ok "$(! grep -qe "$CRM_VALUE" -e locked-value -e alice-private \
    "$E2E_DIR/state/audit.log"; echo $?)" "the audit log holds no value"

# The wheel, with the standard build backend, offline, from a copy.
W=$E2E_DIR/wheel
mkdir -p "$W"
cp -r "$SDK" "$W/src"
chmod -R u+w "$W/src"	# a read-only source tree (distcheck)
rm -rf "$W/src/build" "$W/src"/*.egg-info
if "$PY" -c 'import build, setuptools' 2>/dev/null; then
	(cd "$W/src" && "$PY" -m build --wheel --no-isolation --outdir "$W/dist" .) \
	    >"$W/log" 2>&1
	is "$?" 0 "python3 -m build --wheel --no-isolation builds the wheel"
elif "$PY" -c 'import pip, setuptools' 2>/dev/null; then
	(cd "$W/src" && "$PY" -m pip wheel --no-deps --no-build-isolation \
	    --no-index -w "$W/dist" .) >"$W/log" 2>&1
	is "$?" 0 "pip wheel --no-build-isolation builds the wheel"
else
	ok 0 "# SKIP neither python3-build nor pip with setuptools"
fi
whl=
for f in "$W"/dist/runtools-*.whl; do [ -f "$f" ] && whl=$f; done
if [ -n "$whl" ]; then
	files=$("$PY" -c 'import sys, zipfile; print("\n".join(sorted(n for n in zipfile.ZipFile(sys.argv[1]).namelist() if "dist-info" not in n)))' "$whl")
	is "$(printf '%s' "$files" | tr '\n' ' ')" \
	    "runtools/__init__.py runtools/_client.py runtools/_errors.py runtools/_transport.py runtools/_types.py runtools/py.typed" \
	    "the wheel holds the package and py.typed, no tests or examples"
else
	tail -n 20 "$W/log" 2>/dev/null | sed 's/^/#   /'
fi

kill "$UP_PID" 2>/dev/null
wait "$UP_PID" 2>/dev/null
secretd_finish
done_testing
