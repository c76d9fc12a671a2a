# Throwaway PostgreSQL clusters for the tests of the PostgreSQL store.
# Sourced after lib.sh, never run.  Each cluster lives in a folder of its
# own under one temporary root, belongs to an unprivileged user (the
# server refuses to run as root), and listens only on a unix socket in
# that folder: no TCP port is opened, so tests never collide on ports
# and nothing leaves the host.  The test runs psql (and secretd) as root.
# Peer authentication lets in only root and the cluster's owner, both as
# the superuser postgres, with no password; everyone may reach the socket
# (folder 0711, socket 0777), so a broker that kept only the capabilities
# of the shipped unit (no CAP_DAC_OVERRIDE) connects as a deployment's
# broker does to /run/postgresql.
#
#   pg_require                 skip the test when the server is absent;
#                              else make the owner and the root, trap EXIT
#   pg_require_store           skip the test when secretd has no
#                              PostgreSQL store; else pg_require, and
#                              e2e_setup's daemons run on PostgreSQL
#   pg_init NAME [durable]     initdb a cluster (durable: fsync on)
#   pg_start NAME              start it and wait until it accepts
#   pg_stop NAME [fast|immediate]
#   pg_psql NAME ARGS...       psql as the superuser, -X -q, stops on error
#   pg_psql_db NAME DB ARGS... the same in database DB
#   pg_conninfo NAME [DB]      a libpq connection string for it
#   pg_createdb NAME DB        a new database in it
#   pg_dir NAME / pg_pid NAME  its folder (the socket's too), postmaster pid
#   pg_gone PID                until that process has exited (5 s at most)
#   pg_standby PRIMARY NAME    a streaming standby of a running primary
#   pg_promote NAME            promote a standby and wait until it writes
#   pg_wait_replay PRIMARY STANDBY  until the standby replayed all WAL
#   pg_cleanup                 stop every cluster, remove the root (only
#                              in the shell whose pg_require made it: a
#                              subshell's exit leaves them running)
#
# Fast settings by default: fsync and full_page_writes off (a crash of
# the server process still loses nothing: the kernel keeps what was
# written), synchronous_commit on, so a commit that returned is in the
# WAL the server wrote.  Pass durable to pg_init where a test checks that
# acknowledged writes survive: fsync and full_page_writes stay on.

PG_OWNER=secretd-pgtest
PG_ROOT=
PG_ROOT_SHELL=
PG_CLUSTERS=()

# The server's programs: $PG_BIN, pg_config's bindir, or the newest of
# Debian's versioned folders.
pg_bin_find() {
	local d
	if [ -n "${PG_BIN:-}" ]; then
		echo "$PG_BIN"
		return
	fi
	if command -v pg_config >/dev/null 2>&1 &&
	    d=$(pg_config --bindir 2>/dev/null) && [ -x "$d/initdb" ]; then
		echo "$d"
		return
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	done
}

pg_require() {
	PG_BIN=$(pg_bin_find)
	local p
	for p in initdb pg_ctl postgres pg_basebackup psql createdb; do
		if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/$p" ]; then
			echo "1..0 # SKIP PostgreSQL's $p is not installed" \
			    "(Debian: postgresql)"
			exit 0
		fi
	done
	PG_PSQL=$PG_BIN/psql
	getent passwd "$PG_OWNER" >/dev/null ||
	    useradd --system --no-create-home --shell /usr/sbin/nologin \
	    "$PG_OWNER" || { echo "Bail out! useradd $PG_OWNER failed"; exit 1; }
	PG_CLUSTERS=()
	PG_ROOT=$(mktemp -d /tmp/secretd-pg.XXXXXX)
	PG_ROOT_SHELL=$BASHPID
	chmod 0755 "$PG_ROOT"
	trap e2e_teardown EXIT
}

pg_require_store() {
	if ! secretd_has_pg; then
		echo "1..0 # SKIP secretd was built without the PostgreSQL" \
		    "store (configure --with-postgresql; Debian: libpq-dev)"
		exit 0
	fi
	pg_require
	E2E_STORE=postgresql
}

pg_as() { runuser -u "$PG_OWNER" -- "$@"; }
pg_dir() { echo "$PG_ROOT/$1"; }
pg_pid() { head -n 1 "$PG_ROOT/$1/data/postmaster.pid" 2>/dev/null; }

# pg_ctl stop returns once the pid file is gone, a moment before the
# process is; an exited process no one has reaped yet counts as gone.
pg_gone() {
	local st end=$((SECONDS + 5))
	while [ "$SECONDS" -lt "$end" ]; do
		st=$(ps -o stat= -p "$1" 2>/dev/null)
		case $st in
		''|Z*) return 0 ;;
		esac
		sleep 0.05
	done
	return 1
}

pg_conninfo() {
	echo "host=$PG_ROOT/$1 port=5432 user=postgres dbname=${2:-postgres}"
}

# The settings a cluster of the tests runs with; its socket folder is its
# own, so every cluster may keep the default port number.
pg_settings() {
	local dir=$1 durable=$2 sync=off
	[ "$durable" = durable ] && sync=on
	cat <<EOF
listen_addresses = ''
unix_socket_directories = '$dir'
unix_socket_permissions = 0777
port = 5432
max_connections = 40
shared_buffers = 16MB
fsync = $sync
full_page_writes = $sync
synchronous_commit = on
wal_level = replica
max_wal_senders = 4
hot_standby = on
wal_keep_size = 64MB
log_min_messages = warning
log_line_prefix = '%m [%p] '
EOF
}

pg_init() {
	local name=$1 durable=${2:-} dir=$PG_ROOT/$1 nosync=--no-sync
	[ "$durable" = durable ] && nosync=
	mkdir -m 0711 "$dir" && chown "$PG_OWNER:" "$dir" || return 1
	PG_CLUSTERS+=("$name")
	pg_as "$PG_BIN/initdb" -D "$dir/data" -U postgres -A reject -E UTF8 \
	    --locale=C $nosync >"$dir/initdb.log" 2>&1 ||
	    { echo "# initdb $name failed: $(tail -n 5 "$dir/initdb.log")"; return 1; }
	pg_settings "$dir" "$durable" >>"$dir/data/postgresql.conf"
	pg_auth >"$dir/data/pg_hba.conf"
	printf 'tests root postgres\ntests %s postgres\n' "$PG_OWNER" \
	    >>"$dir/data/pg_ident.conf"
}

# Who may connect: root and the owner (a standby's walreceiver), each as
# postgres, over the socket; nobody over TCP (no address is listened on).
pg_auth() {
	printf 'local all all peer map=tests\n'
	printf 'local replication all peer map=tests\n'
}

pg_start() {
	local dir=$PG_ROOT/$1
	pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
	    start >/dev/null 2>&1 ||
	    { echo "# pg_ctl start $1 failed: $(tail -n 5 "$dir/server.log")"; return 1; }
}

pg_stop() {
	local dir=$PG_ROOT/$1
	pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -m "${2:-fast}" -w -t 30 \
	    stop >/dev/null 2>&1
}

pg_createdb() {
	"$PG_BIN/createdb" -h "$PG_ROOT/$1" -p 5432 -U postgres "$2"
}

pg_psql() {
	local name=$1
	shift
	"$PG_PSQL" -X -q -v ON_ERROR_STOP=1 "$(pg_conninfo "$name")" "$@"
}

pg_psql_db() {
	local name=$1 db=$2
	shift 2
	"$PG_PSQL" -X -q -v ON_ERROR_STOP=1 "$(pg_conninfo "$name" "$db")" "$@"
}

# A base backup of PRIMARY that follows it by streaming replication, with
# its own socket folder; start it with pg_start.
pg_standby() {
	local primary=$1 name=$2 dir=$PG_ROOT/$2
	mkdir -m 0711 "$dir" && chown "$PG_OWNER:" "$dir" || return 1
	PG_CLUSTERS+=("$name")
	pg_as "$PG_BIN/pg_basebackup" -d "$(pg_conninfo "$primary")" \
	    -D "$dir/data" -R -X stream -c fast >"$dir/basebackup.log" 2>&1 ||
	    { echo "# pg_basebackup $name failed: $(tail -n 5 "$dir/basebackup.log")"; return 1; }
	# postgresql.conf came from the primary; this file is read after it
	echo "unix_socket_directories = '$dir'" >>"$dir/data/postgresql.auto.conf"
}

pg_promote() {
	pg_as "$PG_BIN/pg_ctl" -D "$PG_ROOT/$1/data" -w -t 30 promote \
	    >/dev/null 2>&1
}

# Until STANDBY has replayed everything PRIMARY has written (10 s at most).
pg_wait_replay() {
	local lsn end=$((SECONDS + 10))
	lsn=$(pg_psql "$1" -Atc 'SELECT pg_current_wal_lsn()') || return 1
	while [ "$SECONDS" -lt "$end" ]; do
		[ "$(pg_psql "$2" -Atc "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] &&
		    return 0
		sleep 0.05
	done
	return 1
}

# Every cluster stopped at once (nothing in them is kept), then the root
# removed.  Called by e2e_teardown, so a test's EXIT trap covers both.
pg_cleanup() {
	local name pid
	[ -n "$PG_ROOT" ] && [ "$PG_ROOT_SHELL" = "$BASHPID" ] || return 0
	for name in "${PG_CLUSTERS[@]}"; do
		pid=$(pg_pid "$name")
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || continue
		pg_stop "$name" immediate ||
		    { kill -KILL "$pid" 2>/dev/null; sleep 0.2; }
	done
	rm -rf "$PG_ROOT"
	PG_ROOT=
	PG_CLUSTERS=()
}
