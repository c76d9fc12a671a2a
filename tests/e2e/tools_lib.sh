# Shared by the tool-execution tests: the HTTPS test upstream
# (tests/e2e/upstream.py) on a loopback port, the tools folder and the
# exec test tools.  Sourced after lib.sh and e2e_setup, never run.

# tools_setup: starts the upstream (UP, UP_PID, UP_PORT, BASE: its URL,
# UP/ca.crt: its CA), makes TOOLS, the folder the daemon reads tools from,
# and BIN, with the exec test tools (tests/e2e/tools/).  The upstream is
# stopped with the daemon at exit.
tools_setup() {
	TOOLS=$E2E_DIR/tools.d
	BIN=$E2E_DIR/bin
	UP=$E2E_DIR/up
	mkdir -p "$TOOLS" "$BIN" "$UP"
	chmod 0755 "$TOOLS" "$BIN" "$UP"
	cp "$top_srcdir"/tests/e2e/tools/* "$BIN"/
	chmod 0755 "$BIN"/*
	python3 "$top_srcdir/tests/e2e/upstream.py" --dir "$UP" \
	    --log "$UP/log" >"$UP/out" 2>"$UP/err" &
	UP_PID=$!
	trap 'kill "$UP_PID" 2>/dev/null; e2e_teardown' EXIT
	for _ in $(seq 100); do
		grep -q '^port ' "$UP/out" 2>/dev/null && break
		sleep 0.1
	done
	UP_PORT=$(sed -n 's/^port //p' "$UP/out")
	[ -n "$UP_PORT" ] ||
	    { echo "Bail out! upstream did not start: $(cat "$UP/err")"; exit 1; }
	chmod 0644 "$UP/ca.crt"
	touch "$UP/log"
	BASE=https://localhost:$UP_PORT
}

# tool NAME: writes tool NAME's file from standard input.
tool() {
	cat >"$TOOLS/$1.tool"
	chmod 0644 "$TOOLS/$1.tool"
}

# tool_custom_crm: the documentation's tool as shipped, pointed at the
# upstream's /echo.
tool_custom_crm() {
	sed -e "s#^base_url = .*#base_url = $BASE/echo#" \
	    -e "s#^\#ca_file = .*#ca_file = $UP/ca.crt#" \
	    "$top_srcdir/contrib/tools.d/custom-crm.tool" | tool custom-crm
}

# The upstream's log: the last request it got (JSON), and how many.
last_upstream() { tail -n 1 "$UP/log"; }
up_count() { wc -l <"$UP/log"; }
# up_header NAME: that header of the upstream's last request.
up_header() {
	last_upstream | jq -r --arg h "$1" '.headers[] | select(.[0] == $h) | .[1]'
}

# http_tool NAME [TIMEOUT]: an http tool on the upstream whose one slot
# sends SHARED_CRM_KEY as a bearer token; actions echo (query echo, fmt)
# and slow (query s, seconds, required).
http_tool() {
	tool "$1" <<EOF
description = The test upstream, as $1
type = http
timeout = ${2:-3s}
base_url = $BASE
ca_file = $UP/ca.crt
slot apiKey
	secret = SHARED_CRM_KEY
	header = Authorization: Bearer {}
action echo
	description = Echo the request back
	method = GET
	path = /echo
	param echo string query
	param fmt string query
action slow
	method = GET
	path = /slow
	param s number required query
EOF
}

# exec_tool NAME SCRIPT [TIMEOUT]: an exec tool running BIN/SCRIPT with
# SHARED_CRM_KEY in CRM_KEY.
exec_tool() {
	tool "$1" <<EOF
type = exec
command = $BIN/$2
timeout = ${3:-5s}
slot apiKey
	secret = SHARED_CRM_KEY
	env = CRM_KEY
action run
	param leak string
	param pidfile string
	param at number
EOF
}

# mcp_sdk_setup: node 18 or later and the official MCP TypeScript SDK,
# installed from npm into a cache folder outside the source tree
# (MCP_SDK_CACHE); sets NODE, CACHE and SDK_VERSION.  Where any of it is
# missing, or npm cannot reach its registry, the whole test skips.
mcp_sdk_setup() {
	NODE=$(command -v node || command -v nodejs) ||
	    { echo "1..0 # SKIP node is not installed"; exit 0; }
	"$NODE" -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' ||
	    { echo "1..0 # SKIP node $("$NODE" --version) is older than 18"; exit 0; }
	command -v npm >/dev/null ||
	    { echo "1..0 # SKIP npm is not installed"; exit 0; }
	CACHE=${MCP_SDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/secretd-tests/mcp-sdk}
	if [ ! -f "$CACHE/node_modules/@modelcontextprotocol/sdk/package.json" ]; then
		mkdir -p "$CACHE"
		# A registry found unreachable in the last half hour is not
		# tried again: where packets are dropped rather than refused,
		# each try would wait out its timeout, in every SDK test of
		# both builds.
		if [ -n "$(find "$CACHE/unreachable" -mmin -30 2>/dev/null)" ]; then
			echo "1..0 # SKIP cannot install @modelcontextprotocol/sdk from npm (no registry access, $(cat "$CACHE/unreachable"))"
			exit 0
		fi
		# Without a registry (CI), fail in seconds rather than retry.
		if ! timeout 90 npm install --prefix "$CACHE" --no-audit \
		    --no-fund --no-save --fetch-retries=1 --fetch-timeout=30000 \
		    @modelcontextprotocol/sdk >"$CACHE/install.log" 2>&1; then
			date -u +'found at %H:%M UTC' >"$CACHE/unreachable"
			echo "1..0 # SKIP cannot install @modelcontextprotocol/sdk from npm (no registry access?)"
			exit 0
		fi
		rm -f "$CACHE/unreachable"
	fi
	SDK_VERSION=$(jq -r .version "$CACHE/node_modules/@modelcontextprotocol/sdk/package.json")
}
