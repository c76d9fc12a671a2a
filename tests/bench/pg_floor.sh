#!/usr/bin/env bash
# The floor under the PostgreSQL store: what a round trip, a point read
# of a sealed record, a pipelined batch of 64 reads and a durable
# transaction cost on this host, through a unix socket, measured with
# pgbench on throwaway clusters (tests/e2e/pglib.sh) over the table
# layout docs/POSTGRESQL.md proposes.  The engine cannot beat these
# numbers; they size its batching.  Prints one line a measure; needs root
# (the clusters run as an unprivileged user).
#   tests/bench/pg_floor.sh [SECONDS]   (each measure; default 5)
set -uo pipefail

DUR=${1:-5}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
export top_srcdir=$SRC top_builddir=${BENCH_BUILDDIR:-$SRC}
. "$SRC/tests/e2e/lib.sh"
. "$SRC/tests/e2e/pglib.sh"
require_root
pg_require
PGBENCH=$PG_BIN/pgbench
W=$PG_ROOT/scripts
mkdir -p "$W"

# The secrets table as the engine would hold it: 10,000 records of 300
# bytes (a small value sealed, with its metadata) under one owner.
schema() {
	pg_psql "$1" <<'EOF'
CREATE SCHEMA secretd;
CREATE TABLE secretd.secrets (
	org	text COLLATE "C" NOT NULL,
	scope	"char" NOT NULL,
	owner	text COLLATE "C" NOT NULL,
	name	text COLLATE "C" NOT NULL,
	version	integer NOT NULL,
	record	bytea NOT NULL,
	PRIMARY KEY (org, scope, owner, name));
INSERT INTO secretd.secrets
	SELECT 'acme', 'u', 'alice', 'S' || i, 1,
	    decode(repeat(md5(i::text), 19), 'hex')
	FROM generate_series(1, 10000) i;
VACUUM ANALYZE secretd.secrets;
EOF
}

get='SELECT record FROM secretd.secrets WHERE org = '"'acme'"' AND scope = '"'u'"' AND owner = '"'alice'"' AND name = '"'S'"' || :n;'
upd='UPDATE secretd.secrets SET version = version + 1, record = record WHERE org = '"'acme'"' AND scope = '"'u'"' AND owner = '"'alice'"' AND name = '"'S'"' || :n;'
lock64='SELECT version FROM secretd.secrets WHERE org = '"'acme'"' AND scope = '"'u'"' AND owner = '"'alice'"' AND name = ANY (:names) ORDER BY name FOR UPDATE;'

names1="ARRAY['S' || :n]"
names64="ARRAY(SELECT 'S' || (:b * 64 + i) FROM generate_series(1, 64) i)"

echo 'SELECT 1;' >"$W/roundtrip.sql"
{ echo '\set n random(1, 10000)'; echo "$get"; } >"$W/get.sql"
{
	for i in $(seq 64); do echo "\\set n$i random(1, 10000)"; done
	echo '\startpipeline'
	for i in $(seq 64); do echo "${get//:n/:n$i}"; done
	echo '\endpipeline'
} >"$W/get64.sql"
{
	echo '\set n random(1, 10000)'
	echo 'BEGIN;'
	echo "${lock64//:names/$names1}"
	echo "$upd"
	echo 'COMMIT;'
} >"$W/rotate1.sql"
# a group commit of 64 rotations: the lock phase in one round trip, the
# writes and COMMIT pipelined in a second
{
	echo '\set b random(0, 155)'
	echo '\startpipeline'
	echo 'BEGIN;'
	echo "${lock64//:names/$names64}"
	echo '\endpipeline'
	echo '\startpipeline'
	for i in $(seq 64); do echo "${upd//:n/(:b * 64 + $i)}"; done
	echo 'COMMIT;'
	echo '\endpipeline'
} >"$W/rotate64.sql"
# the same 64 rows from every client: the locks, taken in key order,
# queue the transactions behind each other and never deadlock
sed 's/random(0, 155)/random(0, 0)/' "$W/rotate64.sql" >"$W/rotate64same.sql"

# measure CLUSTER SCRIPT CLIENTS LABEL
measure() {
	local out lat tps
	out=$("$PGBENCH" -n -M prepared -T "$DUR" -c "$3" -j 1 \
	    -f "$W/$2" "$(pg_conninfo "$1")" 2>&1) ||
	    { echo "pgbench $2 failed: $out" >&2; return 1; }
	lat=$(sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p' <<<"$out")
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
	MEASURED=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
	printf '%-52s %9.1f us %10.0f /s\n' "$4" "$(echo "$lat * 1000" | bc)" "$tps"
}

pg_init fast && pg_start fast && schema fast >/dev/null || exit 1
pg_init durable durable && pg_start durable && schema durable >/dev/null ||
    exit 1
printf '%-52s %12s %12s\n' measure latency rate
measure fast roundtrip.sql 1 "round trip (SELECT 1), 1 connection"
measure fast get.sql 1 "point read of a record, 1 connection"
measure fast get64.sql 1 "64 point reads pipelined, 1 connection (batches)"
measure fast get.sql 8 "point read of a record, 8 connections"
measure durable rotate1.sql 1 "rotation alone, durable (BEGIN/lock/UPDATE/COMMIT)"
measure durable rotate64.sql 1 "64 rotations in one transaction, durable (batches)"
measure durable rotate64.sql 2 "64 rotations a transaction, 2 nodes at once"
FIRST64="name = ANY (ARRAY(SELECT 'S' || i FROM generate_series(1, 64) i))"
pg_psql durable -c "UPDATE secretd.secrets SET version = 0 WHERE $FIRST64"
measure durable rotate64same.sql 4 "the same 64 rows rotated by 4 nodes at once"
echo "  $MEASURED transactions committed; the 64 rows' versions now:" \
    "$(pg_psql durable -Atc "SELECT string_agg(DISTINCT version::text, ',') FROM secretd.secrets WHERE $FIRST64")"
# The same host's LMDB floor beside it, when the bench programs are built
FLOOR_STORE=$top_builddir/tests/bench/floor_store
lmdb() {
	local out
	out=$("$FLOOR_STORE" -d "$PG_ROOT/lmdb" -t "$DUR" "$@" 2>&1) ||
	    { echo "floor_store $*: $out" >&2; return 1; }
	rm -rf "$PG_ROOT/lmdb"
	printf '%-52s %9s us %10.0f /s\n' "$LABEL" \
	    "$(sed -n 's/.*p50_us=\([0-9.]*\).*/\1/p' <<<"$out")" \
	    "$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' <<<"$out")"
}
if [ -x "$FLOOR_STORE" ]; then
	LABEL="LMDB: put + durable commit (p50)" lmdb -m put -b 1
	LABEL="LMDB: 64 puts a durable commit (p50; puts/s)" lmdb -m put -b 64
	LABEL="LMDB: get, 10,000 keys (p50)" lmdb -m get -k 10000
else
	echo "(no LMDB floor: build tests/bench/floor_store, set BENCH_BUILDDIR)"
fi
echo "fsync of this file system (pg_test_fsync, open_datasync/fdatasync):"
(cd "$(pg_dir durable)" && pg_as "$PG_BIN/pg_test_fsync" -s 2 -f "$(pg_dir durable)/fsync.test" 2>&1 |
    sed -n 's/^ *\(fdatasync\|open_datasync\) *\([0-9.]*\) ops\/sec *\([0-9]*\) usecs\/op/  \1 \2 ops\/s, \3 us/p' | head -n 2)

# Failover as the store will see it: a standby promoted, then reached
# through a multi-host connection string (psql's own start included).
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
pg_init primary && pg_start primary && pg_standby primary standby &&
    pg_start standby && pg_wait_replay primary standby || exit 1
MULTI="host=$(pg_dir primary),$(pg_dir standby) port=5432 user=postgres dbname=postgres target_session_attrs=read-write connect_timeout=2"
t=$(date +%s%N); pg_stop primary fast
echo "failover: primary stopped (-m fast) in $(ms_since "$t") ms"
t=$(date +%s%N); pg_promote standby
echo "failover: standby promoted (pg_ctl promote -w, polls every 100 ms) in $(ms_since "$t") ms"
t=$(date +%s%N)
"$PG_PSQL" -X -q -c 'CREATE TABLE failover (v int); INSERT INTO failover VALUES (1)' "$MULTI" &&
    echo "failover: first write through the multi-host string in $(ms_since "$t") ms"
