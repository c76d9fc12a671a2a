#!/usr/bin/env bash
# The PostgreSQL store engine (broker/kv_pg.c) on a throwaway cluster:
# tests/unit/test_kv_pg drives it and prints the TAP; this script starts
# the cluster, tells the program how to stop and start it, and removes it.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/pglib.sh"

require_root
PROG=$top_builddir/tests/unit/test_kv_pg
if [ ! -x "$PROG" ]; then
	echo "1..0 # SKIP built without libpq (configure --with-postgresql)"
	exit 0
fi
pg_require
pg_init kv && pg_start kv || { echo "Bail out! no cluster"; exit 1; }
pg_psql kv -c 'CREATE DATABASE secretd' ||
    { echo "Bail out! CREATE DATABASE failed"; exit 1; }
# a role that must give a password (the others are trusted)
sed -i '1i local secretd kvpw scram-sha-256' "$(pg_dir kv)/data/pg_hba.conf"
pg_psql kv -c "CREATE ROLE kvpw LOGIN PASSWORD 'kv-pass-1'" \
    -c 'SELECT pg_reload_conf()' >/dev/null ||
    { echo "Bail out! CREATE ROLE failed"; exit 1; }

# what pg_stop and pg_start run, for the program's system(3)
CTL="runuser -u $PG_OWNER -- $PG_BIN/pg_ctl -D $(pg_dir kv)/data -w -t 30"
KVPG_CONNINFO="$(pg_conninfo kv secretd) connect_timeout=2" \
KVPG_STOP="$CTL -m fast stop >/dev/null" \
KVPG_START="$CTL -l $(pg_dir kv)/server.log start >/dev/null" \
KVPG_PWUSER="host=$(pg_dir kv) port=5432 user=kvpw dbname=secretd" \
KVPG_MULTI="host=$PG_ROOT/none,$(pg_dir kv) port=5432 user=postgres dbname=secretd target_session_attrs=read-write" \
KVPG_PSQL="$PG_PSQL -X -q -v ON_ERROR_STOP=1 '$(pg_conninfo kv secretd)'" \
    "$PROG"
