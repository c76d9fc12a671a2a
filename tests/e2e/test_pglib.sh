#!/usr/bin/env bash
# The PostgreSQL test harness (pglib.sh) does what the store's tests will
# lean on: a cluster of an unprivileged user on a unix socket only, kept
# data across an immediate stop, a streaming standby that is promoted and
# found by a multi-host connection string, and nothing left behind.
# Starts and stops only its own clusters, by their data folders and pids.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/pglib.sh"

require_root
pg_require

owner_of_pid() { ps -o user= -p "$1" 2>/dev/null | tr -d ' '; }
# tcp_listeners PID: the TCP sockets PID listens on, one a line
tcp_listeners() { ss -Htlnp 2>/dev/null | grep "pid=$1," || true; }

pg_init a
ok $? "initdb makes a cluster in its own folder"
pg_start a
ok $? "the cluster starts"
is "$(pg_psql a -Atc 'SELECT 1 + 1')" 2 "psql runs a query over the socket"
PID=$(pg_pid a)
is "$(owner_of_pid "$PID")" "$PG_OWNER" "the server runs as $PG_OWNER, not root"
is "$(stat -c '%U %a' "$(pg_dir a)")" "$PG_OWNER 711" \
    "its folder belongs to $PG_OWNER, mode 0711"
is "$(stat -c '%a' "$(pg_dir a)/data")" 700 "its data folder is 0700"
e2e_users
ok "$(! runuser -u "$E2E_ALICE" -- "$PG_PSQL" -X -Atc 'SELECT 1' \
    "$(pg_conninfo a)" >/dev/null 2>&1; echo $?)" \
    "another local user reaches the socket but is refused (peer map)"
pg_createdb a e2e_db
ok $? "pg_createdb makes a database"
is "$("$PG_PSQL" -X -Atc 'SELECT current_database()' "$(pg_conninfo a e2e_db)")" \
    e2e_db "pg_conninfo names it"
( trap pg_cleanup EXIT; true )
is "$(pg_psql a -Atc 'SELECT 2')" 2 "a subshell's exit leaves the cluster running"
ok "$([ -S "$(pg_dir a)/.s.PGSQL.5432" ]; echo $?)" \
    "the socket is in the cluster's folder"
is "$(pg_psql a -Atc 'SHOW listen_addresses')" "" "no TCP address is configured"
is "$(tcp_listeners "$PID")" "" "the server listens on no TCP port"
is "$(pg_psql a -Atc 'SHOW fsync')" off "a fast cluster runs with fsync off"
is "$(pg_psql a -Atc 'SHOW synchronous_commit')" on \
    "synchronous_commit stays on"

pg_psql a -c 'CREATE TABLE t (v text); INSERT INTO t VALUES ($$kept$$)'
ok $? "a committed row"
pg_stop a immediate
ok $? "pg_ctl stop -m immediate"
pg_gone "$PID"
ok $? "the server is gone"
is "$(pg_psql a -Atc 'SELECT 1' 2>/dev/null)" "" "a query now fails"
pg_start a
ok $? "the cluster starts again (crash recovery)"
is "$(pg_psql a -Atc 'SELECT v FROM t')" kept \
    "the row committed before the immediate stop is there"
pg_stop a fast
ok $? "pg_ctl stop -m fast"

pg_init d durable
pg_start d
is "$(pg_psql d -Atc 'SHOW fsync')" on "a durable cluster keeps fsync on"
is "$(pg_psql d -Atc 'SHOW full_page_writes')" on \
    "and full_page_writes on"

pg_init p && pg_start p
ok $? "a primary starts"
pg_psql p -c 'CREATE TABLE t (v text)'
pg_standby p s
ok $? "pg_basebackup makes a standby of it"
pg_start s
ok $? "the standby starts"
is "$(pg_psql s -Atc 'SELECT pg_is_in_recovery()')" t \
    "the standby is in recovery"
ok "$([ -S "$(pg_dir s)/.s.PGSQL.5432" ]; echo $?)" \
    "the standby's socket is in its own folder"
pg_psql p -c 'INSERT INTO t VALUES ($$streamed$$)'
pg_wait_replay p s
ok $? "the standby replays the primary's WAL"
is "$(pg_psql s -Atc 'SELECT v FROM t')" streamed \
    "a row written on the primary is read on the standby"
ok "$(! pg_psql s -c 'INSERT INTO t VALUES (1)' 2>/dev/null; echo $?)" \
    "the standby refuses a write"
MULTI="host=$(pg_dir p),$(pg_dir s) port=5432 user=postgres dbname=postgres target_session_attrs=read-write"
is "$("$PG_PSQL" -X -Atc 'SELECT pg_is_in_recovery()' "$MULTI")" f \
    "the multi-host string reaches the primary while it runs"
pg_stop p fast
pg_promote s
ok $? "the standby is promoted"
is "$(pg_psql s -Atc 'SELECT pg_is_in_recovery()')" f \
    "the promoted standby is out of recovery"
pg_psql s -c 'INSERT INTO t VALUES ($$after$$)'
ok $? "and takes writes"
is "$("$PG_PSQL" -X -Atc 'SELECT string_agg(v, $$,$$ ORDER BY v) FROM t' "$MULTI")" \
    "after,streamed" "the multi-host string now reaches the promoted standby"

# pg_cleanup, as a test's exit runs it: a child that fails halfway
ROOTFILE=$(mktemp)
(
	pg_require
	echo "$PG_ROOT" >"$ROOTFILE"
	pg_init c && pg_start c || exit 9
	pg_pid c >>"$ROOTFILE"
	false || exit 3
)
is "$?" 3 "a test that starts a cluster and fails exits with its status"
CROOT=$(sed -n 1p "$ROOTFILE")
CPID=$(sed -n 2p "$ROOTFILE")
rm -f "$ROOTFILE"
ok "$([ -n "$CPID" ] && pg_gone "$CPID"; echo $?)" "its server is stopped"
ok "$([ -n "$CROOT" ] && [ ! -e "$CROOT" ]; echo $?)" \
    "its folder is removed"

CROOT_OK=$PG_ROOT
PIDS="$(pg_pid d) $(pg_pid s)"
pg_cleanup
ok "$([ ! -e "$CROOT_OK" ]; echo $?)" "pg_cleanup removes every cluster's folder"
LEFT=
for p in $PIDS; do pg_gone "$p" || LEFT="$LEFT $p"; done
is "$LEFT" "" "and stops every server it started"

done_testing
