# The tool setup several end-to-end tests share, sourced after lib.sh and
# e2e_setup: the loopback HTTPS upstream (tests/e2e/upstream.py), a tools
# folder, and the helpers that write tools into it and look at what the
# upstream received.  The caller starts the daemon afterwards.

TOOLS=$E2E_DIR/tools.d
BIN=$E2E_DIR/bin
UP=$E2E_DIR/up

# upstream_start: the upstream on a port of its own; sets UP_PID, UP_PORT,
# BASE (its URL) and a trap that stops it with the daemon.
upstream_start() {
	mkdir -p "$TOOLS" "$BIN" "$UP"
	chmod 0755 "$TOOLS" "$BIN" "$UP"
	cp "$top_srcdir"/tests/e2e/tools/* "$BIN"/
	chmod 0755 "$BIN"/*
	python3 "$top_srcdir/tests/e2e/upstream.py" --dir "$UP" \
	    --log "$UP/log" >"$UP/out" 2>"$UP/err" &
	UP_PID=$!
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
	trap 'kill "$UP_PID" 2>/dev/null; e2e_teardown' EXIT
}

tool() {	# tool NAME: the file's text on stdin
	cat >"$TOOLS/$1.tool"
	chmod 0644 "$TOOLS/$1.tool"
}

# http_tool NAME [TIMEOUT]: an http tool on the upstream whose one slot
# sends SHARED_CRM_KEY as a bearer token; actions echo (query echo, fmt)
# and slow (query s, seconds).
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

exec_tool() {	# exec_tool NAME SCRIPT [TIMEOUT]
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

last_upstream() {	# the upstream's last request, as JSON
	tail -n 1 "$UP/log"
}
up_count() { wc -l <"$UP/log"; }
up_header() {	# up_header NAME: that header of the upstream's last request
	last_upstream | jq -r --arg h "$1" '.headers[] | select(.[0] == $h) | .[1]'
}
