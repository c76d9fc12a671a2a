#!/usr/bin/env bash
# Benchmark driver: runs a real secretd on a temporary state folder beside
# its floors (evhttp, bare LMDB, curl) and prints one table of ours,
# baseline and ratio.  Reports speeds and goals; never fails on a speed.
#   run-bench.sh           full run (1,000,000 secrets, 10,000 idle conns)
#   run-bench.sh --quick   CI smoke run: small sizes, every scenario once
# Scenario 9 (the PostgreSQL store) runs when PostgreSQL is installed and
# secretd is built with libpq; a note says why when it does not.
# Exits non-zero only when the harness cannot measure (a program fails to
# start, or a scenario gets no answer at all).  Needs root.
set -uo pipefail

quick=0
[ "${1:-}" = --quick ] && quick=1
B=${BENCH_BUILDDIR:-$(pwd)}
SECRETD=$B/secretd
RUNTOOLS=$B/runtools
LOADGEN=$B/tests/bench/loadgen
FLOOR_HTTP=$B/tests/bench/floor_http
FLOOR_STORE=$B/tests/bench/floor_store
BULKLOAD=$B/tests/bench/bulkload
SRCDIR=${BENCH_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: skipped: needs root (secretd drops privileges to its" \
	    "front-end user)"
	exit 0
fi
for p in "$SECRETD" "$RUNTOOLS" "$LOADGEN" "$FLOOR_HTTP" "$FLOOR_STORE" \
    "$BULKLOAD"; do
	[ -x "$p" ] || { echo "bench: $p is not built"; exit 1; }
done

if [ $quick -eq 1 ]; then
	DUR=1 WARM=0.2 SMALL=1000 BIG=20000 IDLE=500 RUNS=5 STARTS=1 REPS=1
else
	DUR=4 WARM=0.5 SMALL=1000 BIG=1000000 IDLE=10000 RUNS=50 STARTS=3 REPS=3
fi
CONNS=64		# "many connections"
HS_CONNS=8		# concurrent handshakes: enough to fill 2 cores
NAME=BENCH_REVEAL	# the secret revealed in scenarios 1, 2, 6 and 7
ORG=bench

# Every connection is a descriptor in loadgen and in the server.
ulimit -Hn 65536 2>/dev/null
ulimit -Sn "$(ulimit -Hn)"

W=$(mktemp -d -t secretd-bench.XXXXXX)
chmod 0755 "$W"
CONF=$W/secretd.conf
SOCK=$W/secretd.sock
FSOCK=$W/floor.sock
broken=0
notes=()
SECRETD_PID=
FLOOR_PID=
PG_NODE_PIDS=()		# scenario 9's daemons, by node number

note() { notes+=("$*"); }
harness_fail() { note "HARNESS: $*"; broken=1; }

port() {
	local p
	while :; do
		# Below the kernel's ephemeral range: no client holds it.
		p=$((20000 + RANDOM % 12000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}
PORT=$(port)
FPORT=$(port)

cleanup() {
	[ -n "$SECRETD_PID" ] && kill -TERM "$SECRETD_PID" 2>/dev/null &&
	    wait "$SECRETD_PID" 2>/dev/null
	[ -n "$FLOOR_PID" ] && kill -TERM "$FLOOR_PID" 2>/dev/null &&
	    wait "$FLOOR_PID" 2>/dev/null
	pg_nodes_stop
	# after the daemons: scenario 9's cluster (pglib.sh)
	declare -F pg_cleanup >/dev/null && pg_cleanup
	rm -rf "$W"
}
trap cleanup EXIT

# kv LINE KEY: the value of KEY in a key=value line.
kv() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }

now_ns() { date +%s%N; }

declare -A R		# results: R[name]=key=value lines, one per run

# lg NAME LOADGEN_ARGS...: one loadgen run, its line kept as R[NAME].
lg() {
	local name=$1 out n e
	shift
	if ! out=$("$LOADGEN" "$@" 2>>"$W/loadgen.err"); then
		harness_fail "$name: loadgen failed: $(tail -n 1 "$W/loadgen.err")"
		return 1
	fi
	R[$name]+="${R[$name]:+$'\n'}$out"
	n=$(kv "$out" n)
	e=$(kv "$out" errors)
	[ "${n:-0}" -gt 0 ] || harness_fail "$name: no request was answered"
	[ "${e:-0}" -eq 0 ] || note "$name: $e requests failed (non-2xx or" \
	    "dropped connection)"
	return 0
}

# median: the median of the numbers on standard input, one a line.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# get NAME KEY: a field of a recorded result; the median over its runs.
get() {
	local line
	printf '%s\n' "${R[$1]:-}" | while read -r line; do
		[ -n "$line" ] && kv "$line" "$2"
	done | median
}

# --- the daemon -------------------------------------------------------------

frontend_pid() {
	local i p
	for i in $(seq 1 100); do
		p=$(pgrep -P "$SECRETD_PID" -f secretd-frontend | head -n 1)
		[ -n "$p" ] && { echo "$p"; return; }
		sleep 0.02
	done
}

# daemon_start: start secretd and time it to its first answered request
# (a list, which needs the broker and the store); READY_MS holds the time.
daemon_start() {
	local t0 out
	rm -f "$SOCK"
	t0=$(now_ns)
	"$SECRETD" -f -c "$CONF" >>"$W/secretd.log" 2>&1 &
	SECRETD_PID=$!
	if ! out=$("$LOADGEN" -u "$SOCK" -r list -T "$t0" -R "$SECRETD_PID" \
	    2>>"$W/loadgen.err"); then
		echo "bench: secretd did not start:"
		tail -n 20 "$W/secretd.log"
		exit 1
	fi
	READY_MS=$(kv "$out" ready_ms)
	FE_PID=$(frontend_pid)
	[ -n "$FE_PID" ] || harness_fail "no secretd-frontend under $SECRETD_PID"
}

daemon_stop() {
	kill -TERM "$SECRETD_PID" 2>/dev/null
	wait "$SECRETD_PID" 2>/dev/null
	SECRETD_PID=
}

# startup NAME: median of STARTS timed starts; leaves the daemon running.
startup() {
	local i times=()
	for i in $(seq 1 "$STARTS"); do
		[ -n "$SECRETD_PID" ] && daemon_stop
		daemon_start
		times+=("$READY_MS")
	done
	R[$1]="ready_ms=$(printf '%s\n' "${times[@]}" | median)"
}

floor_start() {
	local t0 out
	rm -f "$FSOCK"
	t0=$(now_ns)
	"$FLOOR_HTTP" -b "$W/reveal.json" -u "$FSOCK" -l "127.0.0.1:$FPORT" \
	    -c "$W/state/tls.crt" -k "$W/state/tls.key" 2>>"$W/floor.log" &
	FLOOR_PID=$!
	out=$("$LOADGEN" -u "$FSOCK" -r list -T "$t0" -R "$FLOOR_PID" \
	    2>>"$W/loadgen.err") || { echo "bench: floor_http did not start";
	    cat "$W/floor.log"; exit 1; }
	FLOOR_READY_MS=$(kv "$out" ready_ms)
}

floor_stop() {
	kill -TERM "$FLOOR_PID" 2>/dev/null
	wait "$FLOOR_PID" 2>/dev/null
	FLOOR_PID=
}

# floor_startup: the floor's start-up, timed like the daemon's (median).
floor_startup() {
	local i times=()
	for i in $(seq 1 "$STARTS"); do
		[ -n "$FLOOR_PID" ] && floor_stop
		floor_start
		times+=("$FLOOR_READY_MS")
	done
	R[floor_start]="ready_ms=$(printf '%s\n' "${times[@]}" | median)"
}

hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

bulkload() {
	local out
	out=$("$BULKLOAD" -d "$W/state" -k "$W/state/root.key" -o "$ORG" \
	    -u root "$@" 2>>"$W/bulkload.err") ||
	    { harness_fail "bulkload: $(tail -n 1 "$W/bulkload.err")"; return; }
	note "bulkload $*: $out"
}

setup() {
	getent passwd secretd >/dev/null ||
	    useradd --system --no-create-home --shell /usr/sbin/nologin secretd
	cat >"$CONF" <<EOF
state_dir = state
socket = secretd.sock
listen = 127.0.0.1:$PORT
org = $ORG
admin_group = root
frontend_user = secretd
max_connections_per_uid = 16384
max_connections_per_address = 16384
quota_user_secrets = 1000000
quota_user_bytes = 1G
EOF
	"$SECRETD" init -c "$CONF" >"$W/init.log" 2>&1 ||
	    { echo "bench: secretd init failed:"; cat "$W/init.log"; exit 1; }
}

# After the first start: the revealed secret, a token for TLS, the body
# the HTTP floor answers with.
seed() {
	curl -sf --unix-socket "$SOCK" -H 'Content-Type: application/json' \
	    --data-binary "{\"name\":\"$NAME\",\"value\":\"$(printf 'v%.0s' \
	    $(seq 1 32))\"}" http://localhost/v1/secrets >/dev/null ||
	    { echo "bench: cannot create $NAME"; exit 1; }
	curl -sf --unix-socket "$SOCK" -X POST \
	    "http://localhost/v1/secrets/$NAME/reveal" >"$W/reveal.json" ||
	    { echo "bench: cannot reveal $NAME"; exit 1; }
	TOKEN=$(curl -sf --unix-socket "$SOCK" -H \
	    'Content-Type: application/json' --data-binary \
	    '{"description":"benchmark"}' http://localhost/v1/tokens |
	    grep -o '"token" *: *"rts_[^"]*"' | sed 's/.*"\(rts_[^"]*\)"/\1/')
	[ -n "$TOKEN" ] || { echo "bench: cannot create a token"; exit 1; }
}

# --- scenarios --------------------------------------------------------------

U=(-d "$DUR" -w "$WARM")

scale_at() {	# scale_at TAG KEYS: scenario 5 at the current store size
	local i
	for i in $(seq 1 "$REPS"); do
		lg "reveal_$1" -u "$SOCK" -c "$CONNS" -n bulk -K "$2" "${U[@]}"
		lg "list_$1" -u "$SOCK" -r list "${U[@]}"
		store_floor "store_get_$1" -m get -k "$2"
	done
	R[hwm_$1]="broker_kb=$(hwm_kb "$SECRETD_PID") fe_kb=$(hwm_kb "$FE_PID")"
	note "5: broker with $2 secrets now: $(awk '/^Rss(Anon|File):/ {
	    printf "%s %.1f MiB ", $1, $2 / 1024 }' "/proc/$SECRETD_PID/status")" \
	    "(file pages are the LMDB map)"
}

# store_floor NAME ARGS...: one floor_store run on a fresh LMDB folder.
store_floor() {
	local name=$1 out
	shift
	rm -rf "$W/fs"
	if out=$("$FLOOR_STORE" -d "$W/fs" -t "$DUR" "$@" \
	    2>>"$W/loadgen.err"); then
		R[$name]+="${R[$name]:+$'\n'}$out"
	else
		harness_fail "floor_store $*: $(tail -n 1 "$W/loadgen.err")"
	fi
	rm -rf "$W/fs"
}

writes() {	# scenario 4
	lg write_1 -u "$SOCK" -r create -n bench_w "${U[@]}"
	lg write_64 -u "$SOCK" -r create -n bench_w -c "$CONNS" "${U[@]}"
	store_floor store_put -m put
}

# Scenarios 1 to 4, ours right after its floor, so drift hits both alike.
# CPU per request counts every process of ours (broker and front-end)
# against the floor's one.
rounds() {
	local i OURS="$SECRETD_PID,$FE_PID"
	for i in $(seq 1 "$REPS"); do
		lg reveal_1 -u "$SOCK" -n "$NAME" -P "$OURS" "${U[@]}"
		lg floor_1 -u "$FSOCK" -n "$NAME" -P "$FLOOR_PID" "${U[@]}"
		lg reveal_64 -u "$SOCK" -n "$NAME" -c "$CONNS" -P "$OURS" \
		    "${U[@]}"
		lg floor_64 -u "$FSOCK" -n "$NAME" -c "$CONNS" \
		    -P "$FLOOR_PID" "${U[@]}"
		lg tls_64 -t "127.0.0.1:$PORT" -a "$TOKEN" -n "$NAME" \
		    -c "$CONNS" "${U[@]}"
		lg ftls_64 -t "127.0.0.1:$FPORT" -n "$NAME" -c "$CONNS" "${U[@]}"
		lg hs_full -t "127.0.0.1:$PORT" -r health -N -c "$HS_CONNS" \
		    "${U[@]}"
		lg fhs_full -t "127.0.0.1:$FPORT" -r health -N -c "$HS_CONNS" \
		    "${U[@]}"
		lg hs_res -t "127.0.0.1:$PORT" -r health -N -S -c "$HS_CONNS" \
		    "${U[@]}"
		lg fhs_res -t "127.0.0.1:$FPORT" -r health -N -S \
		    -c "$HS_CONNS" "${U[@]}"
		writes
	done
	R[floor_hwm]="kb=$(hwm_kb "$FLOOR_PID")"
}

# Scenario 1 again under audit_sync = all: what syncing every read's audit
# line before its reply costs.  The daemon is restarted around it.
audit_all() {
	local i
	daemon_stop
	echo "audit_sync = all" >>"$CONF"
	daemon_start
	for i in $(seq 1 "$REPS"); do
		lg reveal_all_1 -u "$SOCK" -n "$NAME" "${U[@]}"
		lg reveal_all_64 -u "$SOCK" -n "$NAME" -c "$CONNS" "${U[@]}"
	done
	daemon_stop
	sed -i '/^audit_sync = all$/d' "$CONF"
	daemon_start
}

# Scenario 6.  A daemon that refuses some of the idle connections is
# compared with the floor holding as many as it held, and its RSS at the
# full count is projected from the per-connection cost, said so in the row.
idle_conns() {
	local base held
	base=$(rss_kb "$FE_PID")
	lg idle -u "$SOCK" -n "$NAME" -i "$IDLE" -R "$FE_PID" "${U[@]}"
	held=$(get idle idle_open)
	[ "${held:-0}" -gt 0 ] || held=$IDLE
	lg fidle -u "$FSOCK" -n "$NAME" -i "$held" -R "$FLOOR_PID" "${U[@]}"
	IDLE_HELD=$held
	R[idle_goal]="kb=$(get idle rss_kb)"
	[ "$held" -eq "$IDLE" ] && return
	note "6: secretd held $held of $IDLE idle connections and refused" \
	    "the rest (its connection limit); the 64 MiB row is projected" \
	    "from its per-connection RSS"
	R[idle_goal]="kb=$(awk -v b="$base" -v r="$(get idle rss_kb)" \
	    -v h="$held" -v n="$IDLE" 'BEGIN { printf "%.0f", b + (r - b) * n / h }')"
}

# runtools and curl making the same reveal; median wall time in ms.
client_floor() {	# scenario 7
	local rt=("$RUNTOOLS" secret get "$NAME" --reveal)
	local cu=(curl -s --unix-socket "$SOCK" -X POST
	    "http://localhost/v1/secrets/$NAME/reveal")
	export RUNTOOLS_URL=unix:$SOCK
	"${rt[@]}" >/dev/null 2>"$W/rt.err" ||
	    { harness_fail "runtools failed: $(head -n 1 "$W/rt.err")"; return; }
	if command -v hyperfine >/dev/null; then
		hyperfine -N -w 3 -r "$RUNS" --export-csv "$W/hf.csv" \
		    "${rt[*]}" "${cu[*]}" >/dev/null 2>&1 ||
		    { harness_fail "hyperfine failed"; return; }
		R[cli]=$(awk -F, 'NR == 2 { r = $4 } NR == 3 { c = $4 }
		    END { printf "rt_ms=%.3f curl_ms=%.3f", r * 1000, c * 1000 }' \
		    "$W/hf.csv")
		CLI_TOOL="hyperfine, $RUNS runs each, median"
	else
		R[cli]="rt_ms=$(wall_ms "${rt[@]}") curl_ms=$(wall_ms "${cu[@]}")"
		CLI_TOOL="a loop of $RUNS runs each, median"
	fi
}

wall_ms() {
	local i t
	for i in $(seq 1 "$RUNS"); do
		t=$(now_ns)
		"$@" >/dev/null 2>&1
		echo $(( $(now_ns) - t ))
	done | median | awk '{ printf "%.3f", $1 / 1e6 }'
}

# Scenario 9: the PostgreSQL store.  The loads of scenarios 1 and 4 on
# daemons whose store is a throwaway cluster with fsync on (pglib.sh: an
# unprivileged owner, a unix socket in a temporary folder), compared with
# this run's LMDB figures; then two nodes on that one database, with half
# the writers each.
[ -r "$SRCDIR/tests/e2e/pglib.sh" ] && . "$SRCDIR/tests/e2e/pglib.sh"
PG_CLUSTER=bench
PG_RAN=0

# pg_missing: why scenario 9 cannot run here, or nothing.
pg_missing() {
	local p
	declare -F pg_bin_find >/dev/null ||
	    { echo "no $SRCDIR/tests/e2e/pglib.sh (set BENCH_SRCDIR)"; return; }
	PG_BIN=$(pg_bin_find)
	for p in initdb pg_ctl postgres psql pgbench; do
		[ -n "$PG_BIN" ] && [ -x "$PG_BIN/$p" ] && continue
		echo "PostgreSQL's $p is not installed (Debian: postgresql)"
		return
	done
	case $(ldd "$SECRETD" 2>/dev/null) in
	*libpq.so*) ;;
	*) echo "secretd is built without libpq (configure --with-postgresql)" ;;
	esac
}

# pg_node_conf N [LINES...]: node N's config; its state folder keeps the
# root key (node 1's, shared) and TLS pair, the database everything else.
pg_node_conf() {
	local n=$1
	shift
	{
		echo "state_dir = pgstate$n"
		echo "socket = pg$n.sock"
		sed -n '/^\(org\|admin_group\|frontend_user\|max_\|quota_\)/p' \
		    "$CONF"
		echo "store = postgresql"
		echo "postgresql = $(pg_conninfo "$PG_CLUSTER" secretd)"
		printf '%s\n' "$@"
	} >"$W/pg$n.conf"
	"$SECRETD" init -c "$W/pg$n.conf" >>"$W/init.log" 2>&1 ||
	    { harness_fail "9: secretd init on PostgreSQL (node $n): $(tail \
	    -n 1 "$W/init.log")"; return 1; }
}

# pg_node_start N: start node N; returns once it answers a list.
pg_node_start() {
	local n=$1 t0
	rm -f "$W/pg$n.sock"
	t0=$(now_ns)
	"$SECRETD" -f -c "$W/pg$n.conf" >>"$W/secretd-pg$n.log" 2>&1 &
	PG_NODE_PIDS[$n]=$!
	"$LOADGEN" -u "$W/pg$n.sock" -r list -T "$t0" -R "${PG_NODE_PIDS[$n]}" \
	    >/dev/null 2>>"$W/loadgen.err" && return 0
	harness_fail "9: secretd on PostgreSQL (node $n) did not start: $(tail \
	    -n 1 "$W/secretd-pg$n.log")"
	return 1
}

pg_nodes_stop() {
	local p
	for p in "${PG_NODE_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	PG_NODE_PIDS=()
}

# pg_rtt: a round trip to the cluster (pgbench, SELECT 1, 1 connection),
# the least a read that waits for the database costs.
pg_rtt() {
	local out
	echo 'SELECT 1;' >"$W/rtt.sql"
	if out=$("$PG_BIN/pgbench" -n -M prepared -T "$DUR" -c 1 \
	    -f "$W/rtt.sql" "$(pg_conninfo "$PG_CLUSTER")" 2>&1); then
		R[pg_rtt]="us=$(sed -n \
		    's/^latency average = \([0-9.]*\) ms$/\1/p' <<<"$out" |
		    awk '{ printf "%.1f", $1 * 1000 }')"
	else
		note "9: pgbench failed: $(tail -n 1 <<<"$out")"
	fi
}

# pg_two_nodes: CONNS writers, half on each node, at once; the sum of
# the two nodes' rates.
pg_two_nodes() {
	local half=$((CONNS / 2)) a e=0 n=0 rps=0 i out
	"$LOADGEN" -u "$W/pg1.sock" -r create -n bench_a -c "$half" "${U[@]}" \
	    >"$W/two1.out" 2>>"$W/loadgen.err" &
	a=$!
	"$LOADGEN" -u "$W/pg2.sock" -r create -n bench_b -c "$half" "${U[@]}" \
	    >"$W/two2.out" 2>>"$W/loadgen.err" ||
	    { wait "$a"; harness_fail "9: two nodes: loadgen failed"; return; }
	wait "$a" || { harness_fail "9: two nodes: loadgen failed"; return; }
	for i in 1 2; do
		out=$(cat "$W/two$i.out")
		rps=$(awk -v a="$rps" -v b="$(kv "$out" rps)" \
		    'BEGIN { printf "%.1f", a + b }')
		n=$((n + $(kv "$out" n)))
		e=$((e + $(kv "$out" errors)))
	done
	R[pg_two]+="${R[pg_two]:+$'\n'}rps=$rps"
	[ "$n" -gt 0 ] || harness_fail "9: two nodes: no request was answered"
	[ "$e" -eq 0 ] || note "9: two nodes: $e requests failed"
}

# pg_group_commits NAME LOADGEN_ARGS...: lg, and how many writes each
# transaction carried: its rows in secretd.commits (one a group commit,
# kept a day) against the writes answered in the warm-up and the run.
pg_group_commits() {
	local name=$1 c0 c1 db last
	db=$(pg_conninfo "$PG_CLUSTER" secretd)
	c0=$("$PG_PSQL" -X -Atc 'SELECT count(*) FROM secretd.commits' "$db")
	lg "$@" || return
	c1=$("$PG_PSQL" -X -Atc 'SELECT count(*) FROM secretd.commits' "$db")
	[ -n "$c0" ] && [ -n "$c1" ] && [ "$c1" -gt "$c0" ] || return 0
	last=$(printf '%s\n' "${R[$name]}" | tail -n 1)
	R[${name}_txn]+="${R[${name}_txn]:+$'\n'}$(awk -v c="$((c1 - c0))" \
	    -v r="$(kv "$last" rps)" -v d="$DUR" -v w="$WARM" 'BEGIN {
	    printf "per_txn=%.1f txn_s=%.0f", r * (d + w) / c, c / (d + w) }')"
}

pg_store() {
	local why i ours t0=$SECONDS
	why=$(pg_missing)
	if [ -n "$why" ]; then
		note "9: skipped: $why"
		return
	fi
	PG_RAN=1
	pg_require
	trap cleanup EXIT		# pg_require set the tests' own
	pg_init "$PG_CLUSTER" durable && pg_start "$PG_CLUSTER" &&
	    pg_psql "$PG_CLUSTER" -c 'CREATE DATABASE secretd' ||
	    { harness_fail "9: no PostgreSQL cluster: $(tail -n 1 \
	    "$(pg_dir "$PG_CLUSTER")/server.log")"; return; }
	pg_node_conf 1 && pg_node_start 1 || return
	curl -sf --unix-socket "$W/pg1.sock" \
	    -H 'Content-Type: application/json' --data-binary \
	    "{\"name\":\"$NAME\",\"value\":\"$(printf 'v%.0s' $(seq 1 32))\"}" \
	    http://localhost/v1/secrets >/dev/null ||
	    { harness_fail "9: cannot create $NAME on PostgreSQL"; return; }
	pg_rtt
	# CPU per reveal: the node's broker and front-end, and the cluster's
	# every process (the node is its only client)
	ours="${PG_NODE_PIDS[1]},$(pgrep -P "${PG_NODE_PIDS[1]}" -f \
	    secretd-frontend | head -n 1),$(pg_pid "$PG_CLUSTER"),$(pgrep -d , \
	    -P "$(pg_pid "$PG_CLUSTER")")"
	for i in $(seq 1 "$REPS"); do
		lg pg_reveal_1 -u "$W/pg1.sock" -n "$NAME" -P "$ours" "${U[@]}"
		lg pg_reveal_64 -u "$W/pg1.sock" -n "$NAME" -c "$CONNS" \
		    -P "$ours" "${U[@]}"
		lg pg_write_1 -u "$W/pg1.sock" -r create -n bench_w "${U[@]}"
		pg_group_commits pg_write_64 -u "$W/pg1.sock" -r create \
		    -n bench_w -c "$CONNS" "${U[@]}"
	done
	pg_node_conf 2 "root_key_file = $W/pgstate1/root.key" &&
	    pg_node_start 2 || return
	for i in $(seq 1 "$REPS"); do
		pg_two_nodes
	done
	pg_nodes_stop
	pg_cleanup
	note "9: $CONNS clients on PostgreSQL: about $(get pg_write_64_txn \
	    per_txn) writes a transaction, $(get pg_write_64_txn txn_s)" \
	    "transactions/s; the scenario took $((SECONDS - t0)) s"
}

# --- the table --------------------------------------------------------------

rows=()

# row LABEL OURS BASE UNIT [GOAL]: GOAL is ">= X" or "<= X" on the ratio.
row() {
	rows+=("$1|$2|$3|$4|${5:-}")
}

fmt() {		# fmt VALUE UNIT
	[ -n "$1" ] || { echo "n/a"; return; }
	awk -v v="$1" -v u="$2" 'BEGIN {
		if (u == "rps") printf "%.0f/s", v
		else if (u == "us" && v >= 10000) printf "%.1f ms", v / 1000
		else if (u == "us" && v < 100) printf "%.1f us", v
		else if (u == "us") printf "%.0f us", v
		else if (u == "ms") printf "%.1f ms", v
		else if (u == "kb") printf "%.1f MiB", v / 1024
		else printf "%s", v }'
}

print_table() {
	local r label o b u g ratio verdict
	printf '%-54s %10s %10s %6s  %s\n' scenario ours baseline ratio goal
	printf '%s\n' "$(printf '%.0s-' $(seq 1 102))"
	for r in "${rows[@]}"; do
		IFS='|' read -r label o b u g <<<"$r"
		ratio=n/a
		[ -n "$o" ] && [ -n "$b" ] &&
		    ratio=$(awk -v o="$o" -v b="$b" 'BEGIN {
		    if (b > 0) printf "%.2f", o / b; else print "n/a" }')
		verdict=
		if [ -n "$g" ] && [ "$ratio" != n/a ]; then
			verdict=$(awk -v r="$ratio" -v g="$g" 'BEGIN {
			    split(g, a, " ")
			    ok = (a[1] == ">=") ? (r >= a[2]) : (r <= a[2])
			    printf "%s %s", g, ok ? "met" : "MISSED" }')
		elif [ -n "$g" ]; then
			verdict="$g n/a"
		fi
		printf '%-54s %10s %10s %6s  %s\n' "$label" "$(fmt "$o" "$u")" \
		    "$(fmt "$b" "$u")" "$ratio" "$verdict"
	done
}

build_rows() {
	row "1 reveal unix, 1 conn: req/s (vs HTTP floor)" \
	    "$(get reveal_1 rps)" "$(get floor_1 rps)" rps ">= 0.8"
	row "1 reveal unix, 1 conn: p99" \
	    "$(get reveal_1 p99_us)" "$(get floor_1 p99_us)" us "<= 2"
	row "1 reveal unix, $CONNS conns: req/s" \
	    "$(get reveal_64 rps)" "$(get floor_64 rps)" rps ">= 0.8"
	row "1 reveal unix, $CONNS conns: p99" \
	    "$(get reveal_64 p99_us)" "$(get floor_64 p99_us)" us "<= 2"
	row "1 reveal unix, 1 conn: CPU per reveal (broker+front-end)" \
	    "$(get reveal_1 cpu_us_per_req)" "$(get floor_1 cpu_us_per_req)" \
	    us "<= 2"
	row "1 reveal unix, $CONNS conns: CPU per reveal" \
	    "$(get reveal_64 cpu_us_per_req)" \
	    "$(get floor_64 cpu_us_per_req)" us "<= 2"
	row "1 reveal unix, 1 conn, audit_sync=all (vs writes)" \
	    "$(get reveal_all_1 rps)" "$(get reveal_1 rps)" rps
	row "1 reveal unix, $CONNS conns, audit_sync=all (vs writes)" \
	    "$(get reveal_all_64 rps)" "$(get reveal_64 rps)" rps
	row "2 reveal TLS 1.3 keep-alive, $CONNS conns: req/s" \
	    "$(get tls_64 rps)" "$(get ftls_64 rps)" rps ">= 0.8"
	row "2 reveal TLS 1.3 keep-alive, $CONNS conns: p99" \
	    "$(get tls_64 p99_us)" "$(get ftls_64 p99_us)" us "<= 2"
	row "3 TLS new conns/s, full handshake" \
	    "$(get hs_full rps)" "$(get fhs_full rps)" rps
	row "3 TLS new conns/s, resumed ($(get hs_res resumed)/$(get hs_res handshakes) resumed)" \
	    "$(get hs_res rps)" "$(get fhs_res rps)" rps
	row "4 create/rotate durable, 1 client (vs LMDB commit)" \
	    "$(get write_1 rps)" "$(get store_put rps)" rps
	row "4 create/rotate durable, $CONNS clients (vs LMDB)" \
	    "$(get write_64 rps)" "$(get store_put rps)" rps
	row "4 writes: $CONNS clients vs 1 client (group commit)" \
	    "$(get write_64 rps)" "$(get write_1 rps)" rps ">= 10"
	row "5 reveal $SMALL secrets, $CONNS conns (vs HTTP floor)" \
	    "$(get reveal_small rps)" "$(get floor_64 rps)" rps
	row "5 reveal $BIG secrets (vs $SMALL secrets)" \
	    "$(get reveal_big rps)" "$(get reveal_small rps)" rps ">= 0.9"
	row "5 list page of 100, $SMALL secrets: p50 (vs floor)" \
	    "$(get list_small p50_us)" "$(get floor_1 p50_us)" us "<= 3"
	row "5 list page of 100, $BIG secrets: p50 (vs $SMALL)" \
	    "$(get list_big p50_us)" "$(get list_small p50_us)" us
	row "5 LMDB get floor, $BIG keys (vs $SMALL keys)" \
	    "$(get store_get_big rps)" "$(get store_get_small rps)" rps
	row "5 broker VmHWM, $SMALL secrets (vs floor_http)" \
	    "$(get hwm_small broker_kb)" "$(get floor_hwm kb)" kb
	row "5 broker VmHWM, $BIG secrets (vs $SMALL)" \
	    "$(get hwm_big broker_kb)" "$(get hwm_small broker_kb)" kb
	row "5 front-end VmHWM, $SMALL secrets (vs floor_http)" \
	    "$(get hwm_small fe_kb)" "$(get floor_hwm kb)" kb
	row "5 front-end VmHWM, $BIG secrets (vs $SMALL)" \
	    "$(get hwm_big fe_kb)" "$(get hwm_small fe_kb)" kb
	local proj=
	[ "${IDLE_HELD:-$IDLE}" -eq "$IDLE" ] || proj=" (projected)"
	row "6 front-end RSS, ${IDLE_HELD:-?} idle conns (vs floor, as many)" \
	    "$(get idle rss_kb)" "$(get fidle rss_kb)" kb
	row "6 front-end RSS at $IDLE idle$proj vs 64 MiB" \
	    "$(get idle_goal kb)" 65536 kb "<= 1"
	row "6 reveal p99 with ${IDLE_HELD:-?} idle conns (vs floor)" \
	    "$(get idle p99_us)" "$(get fidle p99_us)" us
	row "7 runtools get --reveal wall time (vs curl)" \
	    "$(get cli rt_ms)" "$(get cli curl_ms)" ms "<= 1.3"
	row "8 startup to first request, $SMALL secrets (vs floor)" \
	    "$(get start_small ready_ms)" "$(get floor_start ready_ms)" ms
	row "8 startup to first request, $BIG secrets (vs floor)" \
	    "$(get start_big ready_ms)" "$(get floor_start ready_ms)" ms
	row "8 startup, $BIG secrets vs 100 ms goal" \
	    "$(get start_big ready_ms)" 100 ms "<= 1"
	[ $PG_RAN -eq 1 ] || return 0
	row "9 reveal unix, 1 conn: req/s, PostgreSQL vs LMDB" \
	    "$(get pg_reveal_1 rps)" "$(get reveal_1 rps)" rps
	row "9 reveal unix, 1 conn: p50 on PostgreSQL (vs round trip)" \
	    "$(get pg_reveal_1 p50_us)" "$(get pg_rtt us)" us
	row "9 reveal unix, $CONNS conns: req/s, PostgreSQL vs LMDB" \
	    "$(get pg_reveal_64 rps)" "$(get reveal_64 rps)" rps ">= 0.5"
	row "9 reveal unix, $CONNS conns: p99, PostgreSQL vs LMDB" \
	    "$(get pg_reveal_64 p99_us)" "$(get reveal_64 p99_us)" us
	row "9 reveal unix, $CONNS conns: CPU/reveal incl. PostgreSQL" \
	    "$(get pg_reveal_64 cpu_us_per_req)" \
	    "$(get reveal_64 cpu_us_per_req)" us
	row "9 create/rotate durable, 1 client, PostgreSQL vs LMDB" \
	    "$(get pg_write_1 rps)" "$(get write_1 rps)" rps
	row "9 create/rotate durable, $CONNS clients, PostgreSQL vs LMDB" \
	    "$(get pg_write_64 rps)" "$(get write_64 rps)" rps ">= 1"
	row "9 writes, 2 nodes x $((CONNS / 2)) clients, one database (vs 1)" \
	    "$(get pg_two rps)" "$(get pg_write_64 rps)" rps
}

# --- the run ----------------------------------------------------------------

t_begin=$(now_ns)
setup
bulkload -n "$SMALL" -p bulk
startup start_small
seed
scale_at small "$SMALL"
floor_startup
rounds
audit_all
idle_conns
client_floor
pg_store
floor_stop
daemon_stop
bulkload -n "$((BIG - SMALL))" -s "$SMALL" -p bulk
startup start_big
scale_at big "$BIG"
daemon_stop
build_rows

echo
echo "secretd benchmark ($([ $quick -eq 1 ] && echo quick || echo full)):" \
    "$(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' \
    /proc/cpuinfo), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' \
    /proc/meminfo), Linux $(uname -r)"
echo "each figure: median of $REPS run(s) of ${DUR}s (+${WARM}s warm-up);" \
    "ratio = ours / baseline"
grep -q __asan_init "$SECRETD" && echo "sanitizer build (ASan/UBSan):" \
    "speeds and memory here say nothing about a release build"
echo
print_table
echo
echo "client floor: ${CLI_TOOL:-n/a}; TLS handshakes with $HS_CONNS concurrent clients"
for n in "${notes[@]}"; do echo "note: $n"; done
echo "bench: finished in $(( ($(now_ns) - t_begin) / 1000000000 )) s"
[ $broken -eq 0 ]
