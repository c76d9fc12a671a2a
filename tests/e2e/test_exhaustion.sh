#!/usr/bin/env bash
# Resource exhaustion: a full LMDB reader table (503, then served once the
# slots are free or their holder is dead), a store whose file system is
# full (507, /v1/health 503 degraded, served again once space is freed) and an
# audit log whose file system fills while the daemon runs (every request
# 503, nothing committed, served again once space is back).  The two file
# systems are small loop-mounted ext4 images this test makes; without
# loop devices those parts are skipped.
. "$top_srcdir/tests/e2e/lib.sh"
lmdb_only "an LMDB reader table and the file system of data.mdb"

A=$E2E_ALICE
HOLD=$top_builddir/tests/e2e/holdreaders
MOUNTS=()
HOLDER=

teardown() {
	local m img
	[ -n "$HOLDER" ] && kill -KILL "$HOLDER" 2>/dev/null && wait "$HOLDER" 2>/dev/null
	secretd_stop
	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		img=$m.img
		losetup -j "$img" -O NAME -n 2>/dev/null | while read -r l; do
			losetup -d "$l" 2>/dev/null
		done
	done
	e2e_teardown
}

# loopfs NAME KIB: an ext4 file system of KIB KiB on $E2E_DIR/NAME.
loopfs() {
	local d=$E2E_DIR/$1
	mkdir -p "$d" &&
	    dd if=/dev/zero of="$d.img" bs=1024 count="$2" status=none &&
	    mkfs.ext4 -q -F -m 0 "$d.img" >"$E2E_DIR/mkfs.log" 2>&1 &&
	    mount -o loop "$d.img" "$d" 2>>"$E2E_DIR/mkfs.log" &&
	    MOUNTS+=("$d")
}

# fill DIR: a filler file takes every free block of DIR's file system.
fill() {
	dd if=/dev/zero of="$1/filler" bs=4096 status=none 2>/dev/null
	sync -f "$1"
}

unfill() {
	rm -f "$1/filler"
	sync -f "$1"
}

put() { api "$A" POST /v1/secrets "{\"name\":\"$1\",\"value\":\"$2\"}"; }
version_of() { api "$A" GET "/v1/secrets/$1" | sed '$d' | jq -r .version; }
health() {
	curl -s -m "$E2E_TIMEOUT" -w '\n%{http_code}' --unix-socket "$E2E_SOCK" \
	    http://localhost/v1/health
}
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }

e2e_setup
trap teardown EXIT
LOOP=
if ! command -v mkfs.ext4 >/dev/null || ! command -v losetup >/dev/null; then
	LOOP_WHY="mkfs.ext4 or losetup is not installed"
elif loopfs sfs 4096 && loopfs afs 2048; then
	LOOP=1
	cp -a "$E2E_DIR/state" "$E2E_DIR/sfs/state"
	sed -i -e 's|^state_dir = .*|state_dir = sfs/state|' "$E2E_CONF"
	echo "audit_log = afs/audit.log" >>"$E2E_CONF"
else
	LOOP_WHY="no loop device: $(tr '\n' ' ' <"$E2E_DIR/mkfs.log" | head -c 200)"
fi
STATE=$E2E_DIR/state
[ -n "$LOOP" ] && STATE=$E2E_DIR/sfs/state
AUDIT=$STATE/audit.log
[ -n "$LOOP" ] && AUDIT=$E2E_DIR/afs/audit.log
secretd_start
out=$(put R1 one)
is "$(status_of "$out")" 201 "a first secret"

# --- the reader table: every slot held before the broker's first read ---
coproc HOLDC { exec "$HOLD" "$STATE"; }
HOLDER=$HOLDC_PID
read -r -t 10 nslots <&"${HOLDC[0]}"
ok "$([ "${nslots:-0}" -gt 0 ]; echo $?)" "a reader holds every free slot ($nslots)"
out=$(api "$A" GET /v1/secrets/R1)
is_error "$out" 503 unavailable "readers table full: a read is answered 503"
out=$(api "$A" GET '/v1/secrets?limit=5')
is_error "$out" 503 unavailable "readers table full: a list is answered 503"
ok "$(audit_lines '.op == "get" and .name == "R1" and .outcome == "unavailable"' \
    "$AUDIT" | grep -q .; echo $?)" \
    "the refusal is audited"
out=$(put R2 two)
is "$(status_of "$out")" 201 "readers table full: a write needs no reader slot"
eval "exec ${HOLDC[1]}>&-"
wait "$HOLDER" 2>/dev/null
HOLDER=
out=$(api "$A" GET /v1/secrets/R1)
is "$(status_of "$out")" 200 "slots released: the read is served"

# stale readers: their holder dies holding them; the broker clears them
coproc HOLDC { exec "$HOLD" "$STATE"; }
HOLDER=$HOLDC_PID
read -r -t 10 nslots <&"${HOLDC[0]}"
kill -KILL "$HOLDER"; wait "$HOLDER" 2>/dev/null; HOLDER=
out=$(api "$A" GET /v1/secrets/R1)
is "$(status_of "$out")" 200 "a holder killed with its slots held: reads are still served"

if [ -z "$LOOP" ]; then
	for i in $(seq 1 13); do skip "$LOOP_WHY"; done
	secretd_finish
	done_testing
	exit
fi

# --- the store's file system fills ---
big=$(head -c 36000 /dev/zero | tr '\0' x)
fill "$E2E_DIR/sfs"
out=$(put S_BIG "$big")
is_error "$out" 507 insufficient_storage "store's disk full: a write is answered 507"
out=$(health)
is "$(status_of "$out") $(body_of "$out" | jq -c .)" \
    '503 {"status":"degraded","store":"full"}' "health says 503: the store is full"
out=$(api "$A" GET /v1/secrets/R1)
is "$(status_of "$out")" 200 "store's disk full: reads are still served"
unfill "$E2E_DIR/sfs"
out=$(health)
is "$(status_of "$out") $(body_of "$out" | jq -c .)" '200 {"status":"ok"}' \
    "space freed: health is ok again"
out=$(put S_BIG "$big")
is "$(status_of "$out")" 201 "space freed: the write is served"

# --- the audit log's file system fills while the daemon runs ---
# Over TLS with a token: a unix connection is audited when it opens, so
# these requests reach the group commit itself.
TOK=$(token_create "$A" '{"description":"exhaustion"}')
tput() { tls "$TOK" POST /v1/secrets "{\"name\":\"$1\",\"value\":\"$2\"}"; }
v0=$(version_of R1)
fill "$E2E_DIR/afs"
# the log's last block may still take a few lines
k=0 first=
for i in $(seq 1 40); do
	st=$(status_of "$(tput R1 "a$i")")
	[ "$st" = 200 ] && k=$((k + 1)) && continue
	first=$st
	break
done
is "$first" 503 "audit disk full: a write is refused 503 (after $k that fit)"
bad=0
for i in 1 2 3 4 5; do
	st=$(status_of "$(tput R1 "b$i")")
	[ "$st" = 503 ] || { bad=$((bad + 1)); echo "# put R1: $st"; }
	st=$(status_of "$(tput "N_$i" new)")
	[ "$st" = 503 ] || { bad=$((bad + 1)); echo "# put N_$i: $st"; }
done
is "$bad" 0 "audit disk full: every write is refused 503"
# A read is served only while its own line still fits in the log's last
# block, and then with that line written; once none fits, it is refused.
bad=0 first=
for i in $(seq 1 60); do
	n0=$(wc -l <"$AUDIT")
	st=$(status_of "$(tls "$TOK" GET /v1/secrets/R1)")
	if [ "$st" = 200 ]; then
		[ "$(wc -l <"$AUDIT")" -gt "$n0" ] ||
		    { bad=$((bad + 1)); echo "# get $i served without its line"; }
		continue
	fi
	first=$st
	break
done
is "$first $bad" "503 0" \
    "audit disk full: a read is served only with its audit line, then refused 503"
unfill "$E2E_DIR/afs"
is "$(version_of R1)" $((v0 + k)) \
    "space back: the refused writes changed nothing (version $v0 + $k)"
out=$(api "$A" GET /v1/secrets/N_1)
is_error "$out" 404 not_found "a refused create left no secret"
out=$(tput R1 after)
is "$(status_of "$out")" 200 "space back: a write is served"
ok "$(tail -n 1 "$AUDIT" |
    jq -e '.op == "put" and .name == "R1" and .outcome == "ok"' >/dev/null; echo $?)" \
    "and its audit line is written"
ok "$(python3 -c 'import json, sys
[json.loads(l) for l in open(sys.argv[1], "rb")]' "$AUDIT" 2>&1 >/dev/null | tail -n 1 |
    tee "$E2E_DIR/badlines" | grep -q .; [ $? -ne 0 ]; echo $?)" \
    "every audit line is whole JSON (no partial line, no zeros) $(cat "$E2E_DIR/badlines")"
"$SECRETD" -c "$E2E_CONF" audit verify "$AUDIT" >"$E2E_DIR/verify.out" 2>&1
is "$? $(tail -n 1 "$E2E_DIR/verify.out" | cut -d: -f1)" "0 audit log intact" \
    "the chain verifies across the refused and cut-back lines"
[ "$(tail -c 1 "$AUDIT" | xxd -p)" = 0a ]
ok $? "the audit log ends with a newline"

secretd_finish
done_testing
