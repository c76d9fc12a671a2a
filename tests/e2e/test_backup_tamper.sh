#!/bin/bash
# A backup or a stopped daemon's store edited by someone without the root
# key.  Token records and usage counts carry a MAC under a key of the
# store's token key: one byte changed in a member's token record (to make
# it an admin's), an admin's record copied under a member token's hash,
# or a usage count changed, and `secretd restore` refuses the backup
# naming the record, and the daemon refuses to start on such a store
# (as on any record that fails to authenticate), `secretd verify` too.
. "${top_srcdir:?}/tests/e2e/lib.sh"
lmdb_only "the backup is an LMDB file, tampered with mdb_ tools"

require_root
if ! command -v mdb_dump >/dev/null 2>&1 || ! command -v mdb_load >/dev/null 2>&1; then
	echo "1..0 # SKIP mdb_dump and mdb_load (lmdb-utils) are not installed"
	exit 0
fi
e2e_setup
secretd_start
A=$E2E_ALICE
tok=$(token_create "$A" '{"description":"member token"}')
adm=$(token_create root '{"description":"admin token","role":"admin"}')
ok "$([ -n "$tok" ] && [ -n "$adm" ]; echo $?)" "alice makes a member token, root an admin one"
is "$(status_of "$(api "$A" POST /v1/secrets '{"name":"S1","value":"abcd"}')")" 201 \
    "alice stores a secret (a usage count)"
is "$(status_of "$(tls "$tok" GET /v1/metrics)")" 403 "before: her token may not read the metrics"
is "$(status_of "$(tls "$adm" GET /v1/metrics)")" 200 "the admin token may"
"$SECRETD" -c "$E2E_CONF" backup "$E2E_DIR/b.mdb" >/dev/null
is "$?" 0 "a backup is taken"
secretd_stop
cp -a "$E2E_DIR/state" "$E2E_DIR/intact"

# dump_edit MODE DB FILE: edits a dump of DB in place.  role: every
# member record made an admin's (the role byte, after the format byte and
# three strings id, user, org, each a big-endian 16-bit length and its
# bytes); move: the admin's record under the member's hash, alone;
# count: the first usage count's low byte changed.
dump_edit() {
	python3 - "$@" <<'PY'
import sys
mode, db, p = sys.argv[1:4]
head, pairs, data, key = [], [], False, None
for l in open(p).read().split("\n"):
    if not data:
        head.append(l)
        data = l == "HEADER=END"
    elif l.startswith(" "):
        if key is None:
            key = l
        else:
            pairs.append([key, l])
            key = None
    elif l:
        tail = l
def role_at(v):
    i = 1
    for _ in range(3):
        i += 2 + (v[i] << 8 | v[i + 1])
    return i
if mode == "role":
    for pr in pairs:
        v = bytearray.fromhex(pr[1].strip())
        if v[role_at(v)] == 0:
            v[role_at(v)] = 1
        pr[1] = " " + v.hex()
elif mode == "move":
    vals = {bytearray.fromhex(v.strip())[role_at(bytearray.fromhex(v.strip()))]: (k, v) for k, v in pairs}
    pairs = [[vals[0][0], vals[1][1]]]
elif mode == "count":
    v = bytearray.fromhex(pairs[0][1].strip())
    v[3] ^= 1
    pairs[0][1] = " " + v.hex()
out = head + [x for pr in pairs for x in pr] + [tail, ""]
open(p, "w").write("\n".join(out))
PY
}

# tamper FILE DB MODE [-n]: MODE applied to DB of the store FILE (a
# backup with -n, else the state folder).
tamper() {
	local where=$1 db=$2 mode=$3 n=${4:-}
	mdb_dump $n -s "$db" "$where" >"$E2E_DIR/$db.dump" &&
	    dump_edit "$mode" "$db" "$E2E_DIR/$db.dump" &&
	    mdb_load $n -s "$db" -f "$E2E_DIR/$db.dump" "$where" 2>/dev/null
}

# The backup: restore refuses it and replaces nothing.
tamper "$E2E_DIR/b.mdb" tokens role -n
ok "$?" "the backup's member token record is edited into an admin's"
rm -f "$E2E_DIR/b.mdb-lock"
before=$(sha256sum <"$E2E_DIR/state/data.mdb")
"$SECRETD" -c "$E2E_CONF" restore "$E2E_DIR/b.mdb" >"$E2E_DIR/restore.out" 2>&1
rc=$?
sed 's/^/# /' "$E2E_DIR/restore.out" | head -n 3
ok "$([ "$rc" -ne 0 ] && [ "$rc" -lt 128 ]; echo $?)" "restore refuses the edited backup (exit $rc)"
grep -q 'a record in tokens (key ".*") fails its MAC' "$E2E_DIR/restore.out"
ok "$?" "the refusal names the token record and says it fails its MAC"
is "$(sha256sum <"$E2E_DIR/state/data.mdb")" "$before" "the store in place is unchanged"
secretd_start
is "$(status_of "$(tls "$tok" GET /v1/metrics)")" 403 "after: her token is still a member's"
is "$(status_of "$(tls "$adm" GET /v1/metrics)")" 200 "and the admin's still an admin's"
secretd_finish

# try NAME DB MODE: the stopped daemon's store edited in place; the
# daemon must refuse to start, naming the record, and verify fail; then
# the intact store is put back.
try() {
	local name=$1 db=$2 mode=$3 rc
	tamper "$E2E_DIR/state" "$db" "$mode"
	ok "$?" "[$name] the store is edited in place"
	: >"$E2E_DIR/start.log"
	"$SECRETD" -f -c "$E2E_CONF" >"$E2E_DIR/start.log" 2>&1 &
	SECRETD_PID=$!
	local end=$((SECONDS + 10))
	while [ "$SECONDS" -lt "$end" ] && kill -0 "$SECRETD_PID" 2>/dev/null &&
	    ! curl -s -m 1 -o /dev/null --unix-socket "$E2E_SOCK" \
	    http://localhost/v1/health 2>/dev/null; do
		sleep 0.05
	done
	if kill -0 "$SECRETD_PID" 2>/dev/null; then
		ok 1 "[$name] the daemon refuses to start (it serves: $(status_of "$(tls "$tok" GET /v1/metrics)"))"
		secretd_stop
	else
		wait "$SECRETD_PID"
		rc=$?
		SECRETD_PID=
		ok "$([ "$rc" -ne 0 ] && [ "$rc" -lt 128 ]; echo $?)" \
		    "[$name] the daemon refuses to start (exit $rc)"
	fi
	grep -q "a record in $db (key .*) fails its MAC.*restore it from a backup" "$E2E_DIR/start.log"
	ok "$?" "[$name] its log names the $db record and asks for a restore"
	grep "damaged" "$E2E_DIR/start.log" | head -n 1 | sed 's/^/# /'
	"$SECRETD" verify -c "$E2E_CONF" >"$E2E_DIR/verify.out" 2>&1
	rc=$?
	ok "$([ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] &&
	    grep -q "$db" "$E2E_DIR/verify.out"; echo $?)" \
	    "[$name] secretd verify fails ($rc) and names $db"
	rm -rf "$E2E_DIR/state"
	cp -a "$E2E_DIR/intact" "$E2E_DIR/state"
}

try role tokens role
try moved tokens move
try count usage count

# The store put back serves as before.
secretd_start
is "$(status_of "$(tls "$tok" GET /v1/metrics)")" 403 "the intact store: her token is a member's"
is "$(status_of "$(tls "$adm" GET /v1/metrics)")" 200 "and the admin's an admin's"
secretd_finish
done_testing
