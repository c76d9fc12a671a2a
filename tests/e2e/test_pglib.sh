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

# --- lib.sh's store switch ---
# lmdb_only: nothing ran yet, the script is skipped; something ran, the
# rest is one skipped case after it; on LMDB it goes on.
is "$(E2E_STORE=postgresql; tap_n=0; lmdb_only "why"; echo went on)" \
    "1..0 # SKIP postgresql store: why" "lmdb_only first: the script is skipped"
is "$(E2E_STORE=postgresql; tap_n=0; tap_failed=0; ok 0 first
    lmdb_only "why"; echo went on)" "ok 1 - first
ok 2 # SKIP postgresql store: why
1..2" "lmdb_only after a case: the rest is one skip and the plan"
is "$(E2E_STORE=lmdb; lmdb_only "why"; echo went on)" "went on" \
    "lmdb_only on LMDB: the script goes on"
is "$(E2E_STORE=postgresql; tap_n=4; lmdb_cases 2 "why" || echo not run)" \
    "ok 5 # SKIP postgresql store: why
ok 6 # SKIP postgresql store: why
not run" "lmdb_cases elsewhere: that many cases skipped, the part not run"
is "$(E2E_STORE=lmdb; tap_n=4; lmdb_cases 2 "why" && echo run)" "run" \
    "lmdb_cases on LMDB: the part runs"
is "$(SECRETD_TEST_STORE=sqlite bash -c '. "$top_srcdir/tests/e2e/lib.sh"')" \
    "Bail out! SECRETD_TEST_STORE=sqlite: lmdb or postgresql" \
    "an unknown SECRETD_TEST_STORE bails out"

# e2e_pg_store as e2e_setup calls it, in a child with a cluster of its
# own; psql stands in for a secretd linked with libpq.
SWITCH=$(mktemp -d)
(
	SECRETD=$PG_PSQL
	PG_ROOT=
	for d in one two; do
		E2E_DIR=$(mktemp -d /tmp/secretd-e2e.XXXXXX)
		E2E_CONF=$E2E_DIR/secretd.conf
		e2e_pg_store >"$SWITCH/$d.out" 2>&1 || exit 5
		cp "$E2E_CONF" "$SWITCH/$d.conf"
		rm -rf "$E2E_DIR"
	done
	echo "$PG_ROOT" >"$SWITCH/root"
	pg_pid e2e >"$SWITCH/pid"
	for d in one two; do
		"$PG_PSQL" -X -Atc 'SELECT current_database()' \
		    "$(sed -n 's/^postgresql = //p' "$SWITCH/$d.conf")" \
		    >"$SWITCH/$d.db" 2>&1
	done
	pg_cleanup
)
is "$?" 0 "e2e_pg_store for two state folders: $(cat "$SWITCH/one.out" "$SWITCH/two.out")"
is "$(sed -n 1p "$SWITCH/one.conf")" "store = postgresql" \
    "the config names the PostgreSQL store"
ok "$(grep -q '^postgresql = host=/tmp/secretd-pg\.[^ ]*/e2e port=5432 user=postgres dbname=e2e_' \
    "$SWITCH/one.conf"; echo $?)" \
    "and a connection string to the test's cluster, on its socket"
ok "$(grep -qx 'e2e_[A-Za-z0-9]*' "$SWITCH/one.db" &&
    grep -qx 'e2e_[A-Za-z0-9]*' "$SWITCH/two.db" &&
    ! cmp -s "$SWITCH/one.db" "$SWITCH/two.db"; echo $?)" \
    "each state folder has a database of its own: $(cat "$SWITCH/one.db" "$SWITCH/two.db" | paste -sd' ')"
ok "$([ -s "$SWITCH/pid" ] && pg_gone "$(cat "$SWITCH/pid")" &&
    [ ! -e "$(cat "$SWITCH/root")" ]; echo $?)" \
    "one cluster served both, and the child's cleanup removed it"
rm -rf "$SWITCH"

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
