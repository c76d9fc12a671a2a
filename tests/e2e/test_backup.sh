#!/usr/bin/env bash
# secretd backup, restore and rotate-root-key on a real daemon.  A backup
# taken while a writer keeps storing secrets holds every write
# acknowledged before it started, with its value, once restored into
# another state folder under the same root key and served from there.
# A backup is 0600 and never overwrites a file without --force.  A restore
# is refused beside a daemon, with the wrong root key, and for a
# truncated or foreign file, and while another process has the store
# open, each time with the store unchanged; a
# replaced store is kept aside.  rotate-root-key is refused beside a
# daemon and for a bad new key, changing nothing; afterwards the old key
# no longer opens the store, the new one does, every value reveals and a
# token made before still works.  An interrupted rotation is finished by
# the next run.  Kills only the processes this test started, by pid.
. "$top_srcdir/tests/e2e/lib.sh"
lmdb_only "backup and restore copy the LMDB file (secretd migrate moves a store between engines)"

A=$E2E_ALICE
K=20		# acknowledged writes before the backup starts

e2e_setup
ST=$E2E_DIR/state
ST2=$E2E_DIR/state2
CONF1=$E2E_CONF
SOCK1=$E2E_SOCK

# A second instance: its own state folder and socket, no TLS, the first
# instance's root key.
CONF2=$E2E_DIR/second.conf
SOCK2=$E2E_DIR/second.sock
{
	echo "state_dir = state2"
	echo "socket = second.sock"
	echo "root_key_file = state/root.key"
	echo "org = $E2E_ORG"
	echo "admin_group = $E2E_ADMIN_GROUP"
	echo "frontend_user = secretd"
} >"$CONF2"
mkdir -m 0700 "$ST2"
# The same, under another root key.
head -c 32 /dev/urandom >"$E2E_DIR/other.key"
chmod 0400 "$E2E_DIR/other.key"
sed 's|^root_key_file = .*|root_key_file = other.key|' "$CONF2" >"$E2E_DIR/other.conf"

sum() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
# reveal SOCKET NAME [TOKEN]: the value, or the status when it is not 200.
reveal() {
	local out args=()
	[ -n "${3:-}" ] && args=(-H "Authorization: Bearer $3")
	out=$(runuser -u "$A" -- curl -s -m "$E2E_TIMEOUT" -w '\n%{http_code}' \
	    "${args[@]}" -X POST --unix-socket "$1" \
	    "http://localhost/v1/secrets/$2/reveal")
	[ "$(status_of "$out")" = 200 ] || { status_of "$out"; return; }
	body_of "$out" | jq -r '.value'
}
# check_values SOCKET FILE: every "NAME VALUE" line of FILE reveals so;
# prints the names that do not.
check_values() {
	local name value
	while read -r _ _ name value; do
		[ "$(reveal "$1" "$name")" = "$value" ] || echo "$name"
	done <"$2"
}
# start CONF SOCK / stop: the daemon of one instance.
start() { E2E_CONF=$1 E2E_SOCK=$2 secretd_start; }

start "$CONF1" "$SOCK1"
for i in 1 2 3; do
	api "$A" POST /v1/secrets "{\"name\":\"seed_$i\",\"value\":\"seed-$i\"}" >/dev/null
	echo "0 0 seed_$i seed-$i"
done >"$E2E_DIR/seeds"
TOKEN=$(token_create "$A" '{"description":"before the backup"}')
ok "$([ -n "$TOKEN" ]; echo $?)" "a token for $A"

# --- a writer: sequential writes, each acknowledged one recorded ---
ACKS=$E2E_DIR/acks
: >"$ACKS"
(
	i=0
	while [ ! -e "$E2E_DIR/stop" ] && [ "$i" -lt 2000 ]; do
		i=$((i + 1))
		v="w$i-$RANDOM$RANDOM"
		code=$(runuser -u "$A" -- curl -s -m "$E2E_TIMEOUT" -o /dev/null \
		    -w '%{http_code}' --unix-socket "$SOCK1" \
		    -H 'Content-Type: application/json' \
		    --data-binary "{\"name\":\"w_$i\",\"value\":\"$v\"}" \
		    http://localhost/v1/secrets)
		[ "$code" = 201 ] && echo "$i $(date +%s.%N) w_$i $v" >>"$ACKS"
	done
) &
writer=$!
for _ in $(seq 600); do
	[ "$(wc -l <"$ACKS")" -ge "$K" ] && break
	sleep 0.05
done
# What was acknowledged before the backup started.
cp "$ACKS" "$E2E_DIR/acked"
NACKED=$(wc -l <"$E2E_DIR/acked")
ok "$([ "$NACKED" -ge "$K" ]; echo $?)" "the writer had $NACKED writes acknowledged"
BK=$E2E_DIR/backups/one.mdb
mkdir -p "$E2E_DIR/backups"
t0=$(date +%s%N)
"$SECRETD" backup -c "$CONF1" "$BK" >"$E2E_DIR/backup.out" 2>&1
rc=$?
t1=$(date +%s%N)
# more writes after it
for _ in $(seq 200); do
	[ "$(wc -l <"$ACKS")" -ge $((NACKED + 3)) ] && break
	sleep 0.05
done
touch "$E2E_DIR/stop"
wait "$writer"
is "$rc" 0 "backup under write load exits 0 in $(( (t1 - t0) / 1000000 )) ms: $(cat "$E2E_DIR/backup.out")"
NALL=$(wc -l <"$ACKS")
ok "$([ "$NALL" -gt "$NACKED" ]; echo $?)" \
    "the writer kept writing during and after the backup ($NALL acknowledged in all)"
is "$(stat -c '%a %u' "$BK")" "600 0" "the backup file is 0600, owned by root"
ok "$(grep -qE "^backup $BK: [0-9]+ bytes, [0-9]+ secrets" "$E2E_DIR/backup.out"; echo $?)" \
    "backup prints the size and the number of secrets"
ok "$(! ls "$E2E_DIR/backups" | grep -q tmp; echo $?)" "no temporary file is left beside it"
n=$(sed -n 's/.* bytes, \([0-9]*\) secrets.*/\1/p' "$E2E_DIR/backup.out")
ok "$([ "${n:-0}" -ge $((NACKED + 3)) ]; echo $?)" \
    "it counts at least the $((NACKED + 3)) secrets stored before it started ($n)"

# --- no overwrite without --force ---
before=$(sum "$BK")
"$SECRETD" backup -c "$CONF1" "$BK" >"$E2E_DIR/b2.out" 2>&1
rc=$?
ok "$([ "$rc" -ne 0 ] && grep -q "exists; --force" "$E2E_DIR/b2.out"; echo $?)" \
    "a backup over an existing file is refused (exit $rc): $(cat "$E2E_DIR/b2.out")"
is "$(sum "$BK")" "$before" "the existing file is unchanged"
"$SECRETD" -c "$CONF1" backup --force "$E2E_DIR/backups/two.mdb" >/dev/null 2>&1 &&
    "$SECRETD" -c "$CONF1" backup --force "$E2E_DIR/backups/two.mdb" >"$E2E_DIR/b3.out" 2>&1
is "$?" 0 "--force replaces it (and secretd -c FILE backup works): $(cat "$E2E_DIR/b3.out")"

# --- restore beside the running daemon ---
before=$(sum "$ST/data.mdb")
"$SECRETD" restore -c "$CONF1" "$BK" >"$E2E_DIR/r1.out" 2>&1
rc=$?
ok "$([ "$rc" -ne 0 ] && grep -qF "in use by secretd pid $SECRETD_PID" "$E2E_DIR/r1.out"; echo $?)" \
    "restore beside the running daemon is refused, naming it (exit $rc): $(head -n 1 "$E2E_DIR/r1.out")"
is "$(sum "$ST/data.mdb")" "$before" "the running daemon's store is unchanged"
ok "$(! ls "$ST" | grep -q 'replaced\|restore-'; echo $?)" "nothing was put aside or left behind"
secretd_finish first
"$SECRETD" backup -c "$CONF1" "$E2E_DIR/backups/stopped.mdb" >"$E2E_DIR/b4.out" 2>&1
rc=$?
n=$(sed -n 's/.* bytes, \([0-9]*\) secrets.*/\1/p' "$E2E_DIR/b4.out")
ok "$([ "$rc" -eq 0 ] && [ "${n:-0}" -eq $((NALL + 3)) ]; echo $?)" \
    "a backup of the stopped daemon's store holds all $((NALL + 3)) secrets (exit $rc, $n)"

# --- restore into another state folder, served from there ---
"$SECRETD" restore -c "$CONF2" "$BK" >"$E2E_DIR/r2.out" 2>&1
is "$?" 0 "restore into an empty state folder: $(tr '\n' ' ' <"$E2E_DIR/r2.out")"
is "$(stat -c '%a %u' "$ST2/data.mdb")" "600 0" "the restored data.mdb is 0600, owned by root"
ok "$(! ls "$ST2" | grep -q 'restore-'; echo $?)" "no temporary folder is left"
"$SECRETD" verify -c "$CONF2" >"$E2E_DIR/v2.out" 2>&1
ok "$(grep -q "is intact" "$E2E_DIR/v2.out"; echo $?)" \
    "secretd verify: the restored store is intact"
start "$CONF2" "$SOCK2"
missing=$(check_values "$SOCK2" "$E2E_DIR/acked" | tr '\n' ' ')
is "$missing" "" "every one of the $NACKED writes acknowledged before the backup reveals its value from the restored store"
is "$(check_values "$SOCK2" "$E2E_DIR/seeds" | tr '\n' ' ')" "" "so do the secrets stored before the writer"
is "$(reveal "$SOCK2" seed_1 "$TOKEN")" seed-1 "the token made before the backup works on the restored store"
E2E_SOCK=$SOCK2 snapshot >"$E2E_DIR/snap2"
secretd_finish second
SUM2=$(sum "$ST2/data.mdb")

# --- refusals: the wrong root key, a truncated file, not a store ---
"$SECRETD" restore -c "$E2E_DIR/other.conf" "$BK" >"$E2E_DIR/r3.out" 2>&1
rc=$?
ok "$([ "$rc" -ne 0 ] && grep -q "root key .* does not open this backup; nothing was replaced" "$E2E_DIR/r3.out"; echo $?)" \
    "restore with the wrong root key is refused (exit $rc): $(tail -n 1 "$E2E_DIR/r3.out")"
is "$(sum "$ST2/data.mdb")" "$SUM2" "the store is unchanged"
SIZE=$(stat -c %s "$BK")
head -c $((SIZE / 2)) "$BK" >"$E2E_DIR/half.mdb"
"$SECRETD" restore -c "$CONF2" "$E2E_DIR/half.mdb" >"$E2E_DIR/r4.out" 2>&1
rc=$?
ok "$([ "$rc" -ne 0 ] && grep -q "not a whole secretd store.*nothing was replaced" "$E2E_DIR/r4.out"; echo $?)" \
    "a truncated backup is refused (exit $rc): $(tail -n 1 "$E2E_DIR/r4.out")"
head -c 65536 /dev/urandom >"$E2E_DIR/noise.mdb"
"$SECRETD" restore -c "$CONF2" "$E2E_DIR/noise.mdb" >"$E2E_DIR/r5.out" 2>&1
rc=$?
ok "$([ "$rc" -ne 0 ] && grep -q "nothing was replaced" "$E2E_DIR/r5.out"; echo $?)" \
    "a file that is no LMDB store is refused (exit $rc): $(tail -n 1 "$E2E_DIR/r5.out")"
"$SECRETD" restore -c "$CONF2" "$E2E_DIR/absent.mdb" >"$E2E_DIR/r6.out" 2>&1
ok "$([ "$?" -ne 0 ]; echo $?)" "a missing file is refused: $(tail -n 1 "$E2E_DIR/r6.out")"
is "$(sum "$ST2/data.mdb")" "$SUM2" "after all of them the store is unchanged"
ok "$(! ls "$ST2" | grep -q 'replaced\|restore-'; echo $?)" "and nothing was put aside or left behind"

# --- another LMDB user of the store (as a backup or verify under way) ---
coproc HOLDC { exec "$top_builddir/tests/e2e/holdreaders" "$ST2"; }
holder=$HOLDC_PID
read -r -t 10 nslots <&"${HOLDC[0]}"
"$SECRETD" restore -c "$CONF2" "$BK" >"$E2E_DIR/r8.out" 2>&1
rc=$?
ok "$([ "$rc" -ne 0 ] && grep -q "open in another process.*nothing was replaced" "$E2E_DIR/r8.out"; echo $?)" \
    "restore while another process has the store open is refused (exit $rc): $(grep "secretd: restore" "$E2E_DIR/r8.out")"
is "$(sum "$ST2/data.mdb")" "$SUM2" "the store is unchanged"
# Ours: closing its stdin lets it go.
eval "exec ${HOLDC[1]}>&-"
wait "$holder" 2>/dev/null

# --- a restore over a store keeps the replaced one aside ---
"$SECRETD" restore -c "$CONF2" "$E2E_DIR/backups/two.mdb" >"$E2E_DIR/r7.out" 2>&1
is "$?" 0 "restore over a store: $(tr '\n' ' ' <"$E2E_DIR/r7.out")"
aside=$(ls "$ST2" | grep '^data\.mdb\.replaced-[0-9]\{8\}T[0-9]\{6\}Z$')
ok "$([ -n "$aside" ] && grep -qF "kept as $ST2/$aside" "$E2E_DIR/r7.out"; echo $?)" \
    "the replaced store is kept as $aside, and the output says where"
is "$(sum "$ST2/$aside")" "$SUM2" "it is the store that was there"
is "$(sum "$ST2/data.mdb")" "$(sum "$E2E_DIR/backups/two.mdb")" "data.mdb is the backup"

# --- rotate-root-key ---
start "$CONF1" "$SOCK1"
cp "$ST/root.key" "$E2E_DIR/k0"
state_sums() { sum "$ST/root.key"; sum "$ST/data.mdb"; ls "$ST" | grep root.key; }
before=$(state_sums)
"$SECRETD" rotate-root-key -c "$CONF1" >"$E2E_DIR/k1.out" 2>&1
rc=$?
ok "$([ "$rc" -ne 0 ] && grep -qF "in use by secretd pid $SECRETD_PID" "$E2E_DIR/k1.out"; echo $?)" \
    "rotate-root-key beside the running daemon is refused (exit $rc): $(head -n 1 "$E2E_DIR/k1.out")"
is "$(state_sums)" "$before" "the key and the store are unchanged"
secretd_finish "before the rotation"

before=$(state_sums)
head -c 31 /dev/urandom >"$E2E_DIR/short.key"
chmod 0400 "$E2E_DIR/short.key"
head -c 32 /dev/urandom >"$E2E_DIR/group.key"
chmod 0440 "$E2E_DIR/group.key"
for k in short group; do
	"$SECRETD" rotate-root-key -c "$CONF1" --new-key "$E2E_DIR/$k.key" \
	    >"$E2E_DIR/k-$k.out" 2>&1
	rc=$?
	ok "$([ "$rc" -ne 0 ] && grep -q "nothing was changed" "$E2E_DIR/k-$k.out"; echo $?)" \
	    "a $k --new-key is refused (exit $rc): $(tail -n 1 "$E2E_DIR/k-$k.out")"
done
"$SECRETD" rotate-root-key -c "$CONF1" --new-key "$E2E_DIR/k0" >"$E2E_DIR/k-same.out" 2>&1
ok "$([ "$?" -ne 0 ]; echo $?)" "the current key as --new-key is refused: $(tail -n 1 "$E2E_DIR/k-same.out")"
is "$(state_sums)" "$before" "after the refusals the key and the store are unchanged"

"$SECRETD" rotate-root-key -c "$CONF1" >"$E2E_DIR/k2.out" 2>&1
is "$?" 0 "rotate-root-key with a generated key: $(tr '\n' ' ' <"$E2E_DIR/k2.out")"
old=$(ls "$ST" | grep '^root\.key\.old-')
is "$(sum "$ST/$old")" "$(sum "$E2E_DIR/k0")" "the old key is kept aside as $old"
ok "$([ "$(sum "$ST/root.key")" != "$(sum "$E2E_DIR/k0")" ]; echo $?)" "root.key holds a new key"
is "$(stat -c '%a %s' "$ST/root.key")" "400 32" "the new key file is 0400, 32 bytes"
ok "$([ ! -e "$ST/root.key.new" ]; echo $?)" "no root.key.new is left"
sed "s|^state_dir = .*|&\nroot_key_file = k0|" "$CONF1" >"$E2E_DIR/old.conf"
"$SECRETD" verify -c "$E2E_DIR/old.conf" >"$E2E_DIR/k3.out" 2>&1
rc=$?
ok "$([ "$rc" -ne 0 ] && grep -q "root key does not open this store" "$E2E_DIR/k3.out"; echo $?)" \
    "the old key no longer opens the store (exit $rc)"
"$SECRETD" verify -c "$CONF1" >"$E2E_DIR/k4.out" 2>&1
ok "$(grep -q "is intact" "$E2E_DIR/k4.out"; echo $?)" "the new one does: secretd verify is clean"
start "$CONF1" "$SOCK1"
is "$(check_values "$SOCK1" "$ACKS" | tr '\n' ' ')" "" "every one of the $NALL written values reveals after the rotation"
is "$(check_values "$SOCK1" "$E2E_DIR/seeds" | tr '\n' ' ')" "" "so do the seeded ones"
is "$(reveal "$SOCK1" seed_2 "$TOKEN")" seed-2 "the token made before the rotation still works"
secretd_finish "after the rotation"
# The audit chain's key is kept across the rotation: the lines written
# before it verify with the new key, and the daemon's chain went on.
"$SECRETD" -c "$CONF1" audit verify "$ST/audit.log" >"$E2E_DIR/av.out" 2>&1
rc=$?
ok "$([ "$rc" -eq 0 ] && grep -q "audit log intact" "$E2E_DIR/av.out"; echo $?)" \
    "audit verify with the new root key passes over lines from before and after the rotation (exit $rc): $(tail -n 1 "$E2E_DIR/av.out")"
is "$(audit_lines '.op == "chain_start"' "$ST/audit.log" | wc -l)" 1 \
    "no new chain segment started at the rotation (one chain start, the log's first)"

# --- an interrupted rotation, either side of its commit ---
cp "$ST/root.key" "$E2E_DIR/k1"
# Before the commit: a root.key.new that never sealed anything.
head -c 32 /dev/urandom >"$ST/root.key.new"
chmod 0400 "$ST/root.key.new"
head -c 32 /dev/urandom >"$E2E_DIR/new.key"
chmod 0400 "$E2E_DIR/new.key"
"$SECRETD" rotate-root-key -c "$CONF1" --new-key "$E2E_DIR/new.key" >"$E2E_DIR/k5.out" 2>&1
rc=$?
ok "$([ "$rc" -eq 0 ] && grep -q "never committed" "$E2E_DIR/k5.out"; echo $?)" \
    "a root.key.new from a rotation that never committed is removed and the rotation done (exit $rc)"
is "$(sum "$ST/root.key")" "$(sum "$E2E_DIR/new.key")" "root.key is the --new-key file's key"
# After the commit, before the rename: the store opens only with
# root.key.new, root.key is still the old key.
mv "$ST/root.key" "$ST/root.key.new"
cp "$E2E_DIR/k1" "$ST/root.key"
chmod 0400 "$ST/root.key"
"$SECRETD" -f -c "$CONF1" >"$E2E_DIR/k6.out" 2>&1 &
p=$!
for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$p" 2>/dev/null; then
	kill -TERM "$p"; wait "$p"
	ok 1 "the daemon refuses to start with the old key (it started)"
else
	wait "$p"
	ok "$(grep -q "root key does not open.*run secretd rotate-root-key to finish it" \
	    "$E2E_DIR/k6.out"; echo $?)" \
	    "the daemon refuses to start with the old key, pointing at the interrupted rotation: $(tail -n 1 "$E2E_DIR/k6.out")"
fi
"$SECRETD" rotate-root-key -c "$CONF1" >"$E2E_DIR/k7.out" 2>&1
rc=$?
ok "$([ "$rc" -eq 0 ] && grep -q "finished an interrupted rotation" "$E2E_DIR/k7.out"; echo $?)" \
    "the next run finishes the interrupted rotation (exit $rc)"
is "$(sum "$ST/root.key")" "$(sum "$E2E_DIR/new.key")" "root.key is the key the store was sealed under"
start "$CONF1" "$SOCK1"
is "$(check_values "$SOCK1" "$E2E_DIR/seeds" | tr '\n' ' ')" "" "the daemon starts and every seeded value reveals"
secretd_finish "after the interrupted rotation"

# --- the root key as a systemd credential: the files are the operator's ---
CREDS=$E2E_DIR/creds
mkdir -m 0700 "$CREDS"
install -m 0400 "$ST/root.key" "$CREDS/root.key"
before=$(state_sums)
CREDENTIALS_DIRECTORY=$CREDS "$SECRETD" rotate-root-key -c "$CONF1" >"$E2E_DIR/c1.out" 2>&1
rc=$?
ok "$([ "$rc" -ne 0 ] && grep -q "systemd credential.*--new-key" "$E2E_DIR/c1.out"; echo $?)" \
    "with a credential, rotate-root-key wants --new-key (exit $rc)"
head -c 32 /dev/urandom >"$E2E_DIR/cred.key"
chmod 0400 "$E2E_DIR/cred.key"
CREDENTIALS_DIRECTORY=$CREDS "$SECRETD" rotate-root-key -c "$CONF1" \
    --new-key "$E2E_DIR/cred.key" >"$E2E_DIR/c2.out" 2>&1
is "$?" 0 "with a credential and --new-key it rotates: $(tr '\n' ' ' <"$E2E_DIR/c2.out")"
is "$(ls "$ST" | grep root.key)" "$(echo "$before" | sed -n '3,$p')" \
    "no key file in the state folder was moved or added"
CREDENTIALS_DIRECTORY=$CREDS "$SECRETD" verify -c "$CONF1" >"$E2E_DIR/c3.out" 2>&1
ok "$([ "$?" -ne 0 ]; echo $?)" "the old credential no longer opens the store"
CREDENTIALS_DIRECTORY=$CREDS "$SECRETD" rotate-root-key -c "$CONF1" \
    --new-key "$E2E_DIR/cred.key" >"$E2E_DIR/c5.out" 2>&1
rc=$?
ok "$([ "$rc" -eq 0 ] && grep -q "already opens with .* only" "$E2E_DIR/c5.out"; echo $?)" \
    "run again before the credential is replaced, it says the store already opens with the new key (exit $rc)"
install -m 0400 "$E2E_DIR/cred.key" "$CREDS/new.key"
mv "$CREDS/new.key" "$CREDS/root.key"
CREDENTIALS_DIRECTORY=$CREDS "$SECRETD" verify -c "$CONF1" >"$E2E_DIR/c4.out" 2>&1
ok "$(grep -q "is intact" "$E2E_DIR/c4.out"; echo $?)" "the replaced credential does"
ok "$(! grep -lE 'Sanitizer|runtime error' "$E2E_DIR"/*.out; echo $?)" \
    "no command printed a sanitizer report, refused ones included"

done_testing
