#!/usr/bin/env bash
# The store's keys in secretd.conf: store, postgresql,
# postgresql_password_file and store_timeout.  secretd -n names every
# mistake at its line and exits 1; a host name draws a warning only; -v
# prints the keys and never a password; init and migrate refuse a bad
# config before they create anything.  Runs no daemon and no database.
. "$top_srcdir/tests/e2e/lib.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/secretd-confstore.XXXXXX")
trap 'rm -rf "$dir"' EXIT
chmod 0755 "$dir"
conf=$dir/secretd.conf
users='admin_group = root\nfrontend_user = nobody\nrunner_user = daemon\n'
pw=$dir/pg.password
printf 'correct-horse-battery\n' >"$pw"
chmod 0600 "$pw"

# write LINES...: the config, the users every system has, then LINES
write() {
	printf "state_dir = state\\n$users" >"$conf"
	printf '%s\n' "$@" >>"$conf"
	chmod 0644 "$conf"
}
check() { "$SECRETD" -n -c "$conf" "$@"; }

# A secretd built without libpq has no PostgreSQL store to offer.
if ! grep -q '^#define HAVE_LIBPQ 1' "$top_builddir/config.h"; then
	write 'store = postgresql' 'postgresql = host=/run/postgresql'
	out=$(check 2>&1); rc=$?
	is "$rc $(printf '%s\n' "$out" | head -n 1)" \
	    "1 $conf:5: store: this secretd was built without libpq, so without the PostgreSQL store (configure --with-postgresql)" \
	    "without libpq, store = postgresql is refused"
	echo "# built without libpq: the PostgreSQL keys' checks are skipped"
	done_testing
	exit
fi

write 'store = postgresql'
out=$(check 2>&1); rc=$?
is "$rc $(printf '%s\n' "$out" | head -n 1)" \
    "1 $conf:5: store: postgresql needs the connection string: postgresql = host=... dbname=..." \
    "store = postgresql without a connection string: exit 1, at its line"

write 'store = sqlite'
out=$(check 2>&1); rc=$?
is "$rc $(printf '%s\n' "$out" | head -n 1)" \
    "1 $conf:5: store: bad value \"sqlite\": expected lmdb or postgresql" \
    "an unknown engine is named"

write 'store = postgresql' \
    'postgresql = host=/run/postgresql dbname=secretd password=hunter2'
out=$(check 2>&1); rc=$?
is "$rc $(printf '%s\n' "$out" | head -n 1)" \
    "1 $conf:6: postgresql: holds a password; put it in postgresql_password_file (mode 0600) or the credential pg.password instead" \
    "a password inside the connection string is refused"
is "$(printf '%s\n' "$out" | grep -c hunter2)" 0 \
    "the refusal does not repeat the password"

write 'postgresql = postgresql://secretd:hunter2@10.0.0.1/secretd'
out=$(check 2>&1); rc=$?
is "$rc $(printf '%s\n' "$out" | head -n 1)" \
    "1 $conf:5: postgresql: holds a password; put it in postgresql_password_file (mode 0600) or the credential pg.password instead" \
    "a password inside a URI is refused too"

write "postgresql = host='/run/postgresql dbname=secretd"
out=$(check 2>&1); rc=$?
is "$rc $(printf '%s\n' "$out" | head -n 1)" \
    "1 $conf:5: postgresql: unterminated quoted string in connection info string" \
    "a string libpq cannot parse: libpq's own words"

write 'store = postgresql' 'postgresql = host=/run/postgresql dbname=secretd' \
    "postgresql_password_file = $pw"
chmod 0644 "$pw"
out=$(check 2>&1); rc=$?
is "$rc $(printf '%s\n' "$out" | head -n 1)" \
    "1 $conf:7: postgresql_password_file: $pw: mode 0644 lets others read it; it must be 0600 or stricter" \
    "a password file others may read is refused"
chmod 0640 "$pw"
out=$(check 2>&1); rc=$?
ok "$([ "$rc" -eq 1 ]; echo $?)" "a group-readable one too (exit $rc)"
chmod 0600 "$pw"
out=$(check 2>&1); rc=$?
is "$rc $out" "0 configuration OK, 0 tools" "mode 0600: OK"
rm "$pw"
out=$(check 2>&1); rc=$?
is "$rc $(printf '%s\n' "$out" | head -n 1)" \
    "1 $conf:7: postgresql_password_file: $pw: No such file or directory" \
    "a password file that is not there is refused"
printf 'correct-horse-battery\n' >"$pw"
chmod 0600 "$pw"

write 'store = postgresql' \
    'postgresql = host=db1.example.com,10.0.0.2 dbname=secretd'
out=$(check 2>&1); rc=$?
is "$rc" 0 "a host name is not an error"
is "$(printf '%s\n' "$out" | head -n 1)" \
    "$conf:6: warning: postgresql: host \"db1.example.com\" is a name: libpq looks it up with a blocking getaddrinfo, which stalls the broker; give an address, a socket folder or hostaddr=" \
    "but a warning names it; the address after it draws none"
is "$(printf '%s\n' "$out" | grep -c warning)" 1 "one warning, for the name only"

write 'store = postgresql' \
    'postgresql = host=/run/postgresql,10.0.0.1,::1 port=5432,5432,5433 dbname=secretd target_session_attrs=read-write connect_timeout=2'
out=$(check 2>&1); rc=$?
is "$rc $out" "0 configuration OK, 0 tools" \
    "socket folders and v4/v6 addresses: no warning"
write 'store = postgresql' \
    'postgresql = host=db1.example.com hostaddr=10.0.0.1 sslmode=verify-full dbname=secretd'
out=$(check 2>&1); rc=$?
is "$rc $out" "0 configuration OK, 0 tools" \
    "a name with hostaddr= is not looked up: no warning"

for bad in 50ms 61s 5 5m 0s -1s 99999999999999999999s; do
	write "store_timeout = $bad"
	out=$(check 2>&1); rc=$?
	is "$rc $(printf '%s\n' "$out" | head -n 1)" \
	    "1 $conf:5: store_timeout: bad value \"$bad\": expected a time from 100ms to 60s, with its unit (ms or s)" \
	    "store_timeout = $bad is refused"
done

write 'store = postgresql' 'postgresql = host=/run/postgresql dbname=secretd' \
    "postgresql_password_file = $pw" 'store_timeout = 100ms'
out=$(check -v 2>&1); rc=$?
is "$rc" 0 "-v: exit 0"
is "$(printf '%s\n' "$out" | grep -E '^(store|postgresql)')" \
"store = postgresql
postgresql = host=/run/postgresql dbname=secretd
postgresql_password_file = $pw
store_timeout = 100ms" "-v prints the store's keys"
is "$(printf '%s\n' "$out" | grep -c correct-horse)" 0 \
    "-v never prints the password"
write 'store_timeout = 60s'
out=$(check -v 2>&1)
is "$(printf '%s\n' "$out" | grep -E '^(# )?(store|postgresql)')" \
"store = lmdb
store_timeout = 60s" "the default engine is lmdb"

# A bad config stops init and migrate before they make anything.
write 'store = postgresql'
out=$("$SECRETD" init -c "$conf" 2>&1); rc=$?
is "$rc $out" \
    "1 $conf:5: store: postgresql needs the connection string: postgresql = host=... dbname=..." \
    "init refuses the same config"
ok "$([ ! -e "$dir/state" ]; echo $?)" "init created no state folder"
out=$("$SECRETD" migrate -c "$conf" --to postgresql 2>&1); rc=$?
is "$rc" 1 "migrate refuses it too"
ok "$([ ! -e "$dir/state" ]; echo $?)" "migrate created nothing"

# backup and restore copy LMDB's file: on a database store they name
# PostgreSQL's tools.
write 'store = postgresql' 'postgresql = host=/nonexistent dbname=secretd'
for cmd in "backup $dir/copy.mdb" "restore $dir/copy.mdb"; do
	out=$("$SECRETD" $cmd -c "$conf" 2>&1); rc=$?
	is "$rc $out" "1 secretd: ${cmd%% *}: works on an LMDB store; with store = postgresql back up the database with pg_dump or pg_basebackup (it holds only sealed records, which open with the root key alone: keep that key apart from the dump) and restore it with pg_restore or from the base backup; see secretd(8)" \
	    "${cmd%% *} refuses a PostgreSQL store"
done
ok "$([ ! -e "$dir/copy.mdb" ] && [ ! -e "$dir/state" ]; echo $?)" \
    "and makes nothing"

write
out=$("$SECRETD" migrate -c "$conf" --to sqlite 2>&1); rc=$?
is "$rc $out" "1 secretd: migrate: --to sqlite: expected postgresql or lmdb" \
    "migrate names the engines it knows"
"$SECRETD" migrate -c "$conf" >/dev/null 2>&1; rc=$?
is "$rc" 2 "migrate without --to: usage, exit 2"
out=$("$SECRETD" migrate -c "$conf" --to postgresql --force 2>&1); rc=$?
is "$rc $out" \
    "1 secretd: migrate: --force replaces an LMDB store only; a database is emptied by its operator" \
    "--force with --to postgresql is refused"
out=$("$SECRETD" migrate -c "$conf" --to postgresql 2>&1); rc=$?
is "$rc $out" \
    "1 secretd: migrate: no LMDB store in $dir/state: nothing to migrate" \
    "migrate without a source store says so"
ok "$([ ! -e "$dir/state/data.mdb" ]; echo $?)" "and creates no store"

done_testing
