# Shared by the end-to-end tests: a real secretd on a temporary state
# folder, real local users, and TAP output.  Sourced, never run.
# Needs root (useradd, privilege drop); without it the test is skipped.

: "${top_builddir:?}" "${top_srcdir:?}"
SECRETD=$top_builddir/secretd
RUNTOOLS=$top_builddir/runtools
E2E_ORG=acme
E2E_ADMIN_GROUP=secretd-e2e-admins
E2E_ADMIN=e2e_carol		# in the admin group
E2E_ALICE=e2e_alice		# members
E2E_BOB=e2e_bob

E2E_TIMEOUT=${E2E_TIMEOUT:-20}	# seconds any one request may take

# The store every daemon of the test runs on: lmdb (the default) or
# postgresql, where each daemon gets a database of its own in one
# throwaway cluster per test script (make check-pg).
E2E_STORE=${SECRETD_TEST_STORE:-lmdb}
case $E2E_STORE in
lmdb|postgresql) ;;
*)	echo "Bail out! SECRETD_TEST_STORE=$E2E_STORE: lmdb or postgresql"
	exit 1 ;;
esac

tap_n=0
tap_failed=0

ok() {
	local cond=$1; shift
	tap_n=$((tap_n + 1))
	if [ "$cond" -eq 0 ]; then
		echo "ok $tap_n - $*"
	else
		echo "not ok $tap_n - $*"
		tap_failed=$((tap_failed + 1))
	fi
}

# is ACTUAL EXPECTED NAME
is() {
	local got=$1 want=$2; shift 2
	if [ "$got" = "$want" ]; then
		ok 0 "$*"
	else
		ok 1 "$*"
		echo "#   got:  $got" | head -c 2000
		echo
		echo "#   want: $want"
	fi
}

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

# lmdb_only REASON: the rest of the script checks what only the LMDB store
# has; on another store it is skipped with REASON (the whole script when
# nothing ran yet) and the script ends here.
lmdb_only() {
	[ "$E2E_STORE" = lmdb ] && return 0
	if [ "$tap_n" -eq 0 ]; then
		echo "1..0 # SKIP $E2E_STORE store: $*"
		exit 0
	fi
	tap_n=$((tap_n + 1))
	echo "ok $tap_n # SKIP $E2E_STORE store: $*"
	done_testing
	exit
}

# lmdb_cases N REASON: true on LMDB; on another store, N cases skipped
# with REASON and false, for a part of a script: if lmdb_cases 2 "..."
lmdb_cases() {
	local n=$1 i
	shift
	[ "$E2E_STORE" = lmdb ] && return 0
	for ((i = 0; i < n; i++)); do
		tap_n=$((tap_n + 1))
		echo "ok $tap_n # SKIP $E2E_STORE store: $*"
	done
	return 1
}

require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # SKIP end-to-end tests need root (useradd, privilege drop)"
		exit 0
	fi
}

e2e_users() {
	getent group "$E2E_ADMIN_GROUP" >/dev/null || groupadd "$E2E_ADMIN_GROUP"
	getent passwd secretd >/dev/null ||
	    useradd --system --no-create-home --shell /usr/sbin/nologin secretd
	getent passwd secretd-runner >/dev/null ||
	    useradd --system --no-create-home --shell /usr/sbin/nologin \
	    secretd-runner
	local u
	for u in "$E2E_ALICE" "$E2E_BOB" "$E2E_ADMIN"; do
		getent passwd "$u" >/dev/null ||
		    useradd --no-create-home --shell /bin/sh "$u"
	done
	usermod -a -G "$E2E_ADMIN_GROUP" "$E2E_ADMIN"
}

free_port() {
	local p
	while :; do
		# Below the kernel's ephemeral range (32768 up), where a
		# client's connection could take the port between this check
		# and the daemon's bind.
		p=$((20000 + RANDOM % 12000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# e2e_setup [extra config lines...]: state folder, config, users.
e2e_setup() {
	require_root
	e2e_users
	E2E_DIR=$(mktemp -d /tmp/secretd-e2e.XXXXXX)
	chmod 0755 "$E2E_DIR"
	E2E_PORT=$(free_port)
	E2E_SOCK=$E2E_DIR/secretd.sock
	E2E_CONF=$E2E_DIR/secretd.conf
	{
		echo "state_dir = state"
		echo "socket = secretd.sock"
		echo "listen = 127.0.0.1:$E2E_PORT"
		echo "org = $E2E_ORG"
		echo "admin_group = $E2E_ADMIN_GROUP"
		echo "frontend_user = secretd"
	} >"$E2E_CONF"
	E2E_URL=https://127.0.0.1:$E2E_PORT
	E2E_CA=$E2E_DIR/state/tls.crt
	trap e2e_teardown EXIT
	# The store's lines before the test's, which a test may cut off to
	# write others; a test that names its store in them keeps it.
	[ "$E2E_STORE" = postgresql ] &&
	    ! printf '%s\n' "$@" | grep -qE '^(store|postgresql) *=' &&
	    e2e_pg_store
	local l
	for l in "$@"; do echo "$l"; done >>"$E2E_CONF"
	"$SECRETD" init -c "$E2E_CONF" >"$E2E_DIR/init.log" 2>&1 ||
	    { echo "Bail out! secretd init failed: $(cat "$E2E_DIR/init.log")"; exit 1; }
}

# secretd_has_pg: whether this secretd was built with the PostgreSQL store.
secretd_has_pg() {
	ldd "$SECRETD" 2>/dev/null | grep -q 'libpq\.so'
}

# e2e_pg_store: a PostgreSQL store for this state folder, a database of
# its own in the test's cluster $E2E_PG_CLUSTER (default e2e), which the
# first call makes and starts (pglib.sh; durable when E2E_PG_DURABLE is
# set) and e2e_teardown stops; its config lines go into $E2E_CONF.
e2e_pg_store() {
	local cl=${E2E_PG_CLUSTER:-e2e}
	if ! secretd_has_pg; then
		echo "Bail out! the PostgreSQL store was asked for, but" \
		    "$SECRETD was built without libpq (configure --with-postgresql)"
		exit 1
	fi
	if [ -z "${PG_ROOT:-}" ]; then
		declare -F pg_require >/dev/null ||
		    . "$top_srcdir/tests/e2e/pglib.sh"
		pg_require
	fi
	if [[ " ${PG_CLUSTERS[*]} " != *" $cl "* ]]; then
		pg_init "$cl" ${E2E_PG_DURABLE:+durable} && pg_start "$cl" ||
		    { echo "Bail out! PostgreSQL cluster $cl did not start"; exit 1; }
	fi
	E2E_PGDB=e2e_${E2E_DIR##*.}
	pg_createdb "$cl" "$E2E_PGDB" ||
	    { echo "Bail out! createdb $E2E_PGDB failed"; exit 1; }
	{
		echo "store = postgresql"
		echo "postgresql = $(pg_conninfo "$cl" "$E2E_PGDB")"
	} >>"$E2E_CONF"
}

# secretd_start: run the daemon in the foreground and wait until it serves.
# When another process took the TLS port between free_port and the
# daemon's bind, a new port goes into the config (E2E_PORT and E2E_URL
# follow) and the daemon starts again, a few times.
secretd_start() {
	local try end skip
	for try in 1 2 3 4 5; do
		skip=1
		[ -f "$E2E_DIR/secretd.log" ] &&
		    skip=$(($(wc -c <"$E2E_DIR/secretd.log") + 1))
		"$SECRETD" -f -c "$E2E_CONF" >>"$E2E_DIR/secretd.log" 2>&1 &
		SECRETD_PID=$!
		end=$((SECONDS + 10))
		while [ "$SECONDS" -lt "$end" ]; do
			if curl -s -m 1 -o /dev/null --unix-socket "$E2E_SOCK" \
			    http://localhost/v1/health 2>/dev/null; then
				return 0
			fi
			kill -0 "$SECRETD_PID" 2>/dev/null || break
			sleep 0.05
		done
		kill -0 "$SECRETD_PID" 2>/dev/null && break
		wait "$SECRETD_PID" 2>/dev/null
		SECRETD_PID=
		tail -c +"$skip" "$E2E_DIR/secretd.log" |
		    grep -q "cannot listen on .*Address already in use" || break
		grep -q "^listen = 127\.0\.0\.1:$E2E_PORT\$" "$E2E_CONF" || break
		E2E_PORT=$(free_port)
		sed -i "s/^listen = 127\.0\.0\.1:.*/listen = 127.0.0.1:$E2E_PORT/" \
		    "$E2E_CONF"
		E2E_URL=https://127.0.0.1:$E2E_PORT
		echo "# port taken at bind; retrying on $E2E_PORT"
	done
	echo "Bail out! secretd did not start: $(tail -n 20 "$E2E_DIR/secretd.log")"
	exit 1
}

# secretd_stop: SIGTERM the daemon; returns its exit status.
secretd_stop() {
	local rc
	[ -n "${SECRETD_PID:-}" ] || return 0
	kill -TERM "$SECRETD_PID" 2>/dev/null
	wait "$SECRETD_PID" 2>/dev/null
	rc=$?
	SECRETD_PID=
	return "$rc"
}

# secretd_finish [LABEL]: SIGTERM the daemon, assert it exits 0 and that
# its log holds no sanitizer report, those written at exit included.
secretd_finish() {
	secretd_stop
	is "$?" 0 "SIGTERM: the daemon exits 0${1:+ [$1]}"
	ok "$(! grep -qE 'Sanitizer|runtime error' "$E2E_DIR/secretd.log"; echo $?)" \
	    "the daemon logged no sanitizer report, at exit included${1:+ [$1]}"
}

frontend_pid() {
	pgrep -P "$SECRETD_PID" -f secretd-frontend | head -n 1
}

e2e_teardown() {
	secretd_stop
	# after the daemon: a PostgreSQL store's clusters (pglib.sh)
	declare -F pg_cleanup >/dev/null && pg_cleanup
	[ -n "${E2E_DIR:-}" ] && rm -rf "$E2E_DIR"
}

# api USER METHOD PATH [BODY]: a request over the unix socket as USER.
# Prints the body, then a last line with the HTTP status.
api() {
	local user=$1 method=$2 path=$3 body=${4:-}
	local args=(-s -m "$E2E_TIMEOUT" -w '\n%{http_code}' -X "$method" \
	    --unix-socket "$E2E_SOCK")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	runuser -u "$user" -- curl "${args[@]}" "http://localhost$path"
}

# tls TOKEN METHOD PATH [BODY]: a request over TLS with a bearer token.
tls() {
	local token=$1 method=$2 path=$3 body=${4:-}
	local args=(-s -m "$E2E_TIMEOUT" -w '\n%{http_code}' -X "$method" \
	    --cacert "$E2E_CA")
	[ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	curl "${args[@]}" "$E2E_URL$path"
}

# status_of OUTPUT / body_of OUTPUT split what api and tls print.
status_of() { printf '%s\n' "$1" | tail -n 1; }
body_of() { printf '%s\n' "$1" | sed '$d'; }

# --- Helpers for requests whose headers matter, tokens and store state. ---

# apix WHO METHOD PATH [BODY [CURL_ARGS...]]: like api (WHO a user name) or
# tls (WHO "tls:TOKEN", "tls:" for none), with extra curl arguments; the
# response headers are left in $E2E_DIR/hdr.  With BODY "-" no body is sent.
apix() {
	local who=$1 method=$2 path=$3 body=${4:--}
	shift 3; [ $# -gt 0 ] && shift
	local args=(-s -m "$E2E_TIMEOUT" -w '\n%{http_code}' -D "$E2E_DIR/hdr" \
	    -X "$method")
	[ "$body" != - ] &&
	    args+=(-H 'Content-Type: application/json' --data-binary "$body")
	: >"$E2E_DIR/hdr"
	chmod 0666 "$E2E_DIR/hdr"
	case $who in
	tls:*)
		[ -n "${who#tls:}" ] &&
		    args+=(-H "Authorization: Bearer ${who#tls:}")
		curl "${args[@]}" --cacert "$E2E_CA" "$@" "$E2E_URL$path"
		;;
	*)
		runuser -u "$who" -- curl "${args[@]}" --unix-socket "$E2E_SOCK" \
		    "$@" "http://localhost$path"
		;;
	esac
}

# header NAME: the value of a header of the last apix response.
header() {
	tr -d '\r' <"$E2E_DIR/hdr" |
	    awk -v h="$(echo "$1" | tr 'A-Z' 'a-z')" -F': ' \
	    'tolower($1) == h { sub(/^[^:]*: /, ""); print; exit }'
}

# is_error OUTPUT STATUS CODE NAME: OUTPUT (of api/tls/apix) is STATUS with
# the JSON error object {"error":{"code":CODE,"message","requestId"}}.
is_error() {
	local out=$1 st=$2 code=$3; shift 3
	local got
	got=$(status_of "$out")
	got="$got $(body_of "$out" | jq -r 'if (.error | type) == "object" and
	    (.error.message | type) == "string" and
	    (.error.requestId | type) == "string" and
	    (.error.requestId | length) > 0
	    then .error.code else "bad-error-shape" end' 2>/dev/null ||
	    echo not-json)"
	is "$got" "$st $code" "$*"
}

# token_create USER BODY: POST /v1/tokens over the unix socket as USER;
# prints the created token string (empty on failure).
token_create() {
	api "$1" POST /v1/tokens "$2" | sed '$d' | jq -r '.token // empty'
}

# snapshot: every secret's metadata, as root sees it with all=true, sorted;
# what "the store is unchanged" is compared on.
snapshot() {
	local out cursor="" q page
	while :; do
		q="/v1/secrets?all=true&limit=1000"
		[ -n "$cursor" ] && q="$q&cursor=$cursor"
		out=$(api root GET "$q")
		# A failed snapshot never equals another one.
		[ "$(status_of "$out")" = 200 ] ||
		    { echo "snapshot failed $RANDOM$RANDOM: $out"; return; }
		page=$(body_of "$out")
		printf '%s\n' "$page" | jq -c '.secrets[]'
		cursor=$(printf '%s\n' "$page" |
		    jq -r '.nextCursor // empty | @uri')
		[ -n "$cursor" ] || break
	done | sort
}

# foreign_token: an admin token made by a second, short-lived daemon of
# another org, on its own state folder and port.
foreign_token() {
	(
		E2E_ORG=e2eother
		SECRETD_PID=
		e2e_setup >&2
		secretd_start >&2
		token_create root '{"description":"org B admin","role":"admin"}'
	)
}

# audit_lines FILTER [FILE]: the audit log's records (one JSON object a
# line) that FILTER, a jq condition, selects; compact, one a line.
audit_lines() {
	jq -c "select($1)" "${2:-$E2E_DIR/state/audit.log}"
}
