#!/usr/bin/env bash
# A damaged data.mdb is refused at start with a message naming the file
# and asking for a restore from backup, or served whole: never a signal,
# never a partial list or a 404 for a stored secret.  `secretd verify`
# exits non-zero on every damaged copy and 0 on the intact one.  Each
# damage is made here, on a copy of a stopped daemon's state folder.
. "$top_srcdir/tests/e2e/lib.sh"
lmdb_only "damages the LMDB file data.mdb"

A=$E2E_ALICE
N=25
PAGES="python3 $top_srcdir/tests/e2e/mdbpages.py"
command -v python3 >/dev/null ||
    { echo "1..0 # SKIP needs python3"; exit 0; }

e2e_setup
secretd_start
# values large enough that the secrets need several leaves and a branch
PAD=$(head -c 450 /dev/zero | tr '\0' x)
for i in $(seq 1 $N); do
	out=$(api "$A" POST /v1/secrets "{\"name\":\"s_$i\",\"value\":\"v$i-$PAD\"}")
	[ "$(status_of "$out")" = 201 ] ||
	    { echo "Bail out! could not store s_$i: $out"; exit 1; }
done
secretd_stop
is "$?" 0 "the daemon that made the store stops cleanly"
cp -a "$E2E_DIR/state" "$E2E_DIR/intact"
DATA=$E2E_DIR/state/data.mdb
PS=$(python3 -c 'import struct,sys;print(struct.unpack_from("<I",open(sys.argv[1],"rb").read(),40)[0])' "$E2E_DIR/intact/data.mdb")
SIZE=$(stat -c %s "$E2E_DIR/intact/data.mdb")
$PAGES "$E2E_DIR/intact/data.mdb" >"$E2E_DIR/pages"
page_of() { awk -v t="$1" -v d="$2" '$2 == t && $3 == d { print $1; exit }' "$E2E_DIR/pages"; }
BRANCH=$(page_of branch secrets)
LEAF=$(page_of leaf secrets)
MAINLEAF=$(page_of leaf main)
ok "$([ -n "$BRANCH" ] && [ -n "$LEAF" ] && [ -n "$MAINLEAF" ]; echo $?)" \
    "the store has a branch and leaf pages (psize $PS, $SIZE bytes)"

# flip OFFSET...: invert the byte at each offset of data.mdb
flip() {
	python3 - "$DATA" "$@" <<'PY'
import sys
f = open(sys.argv[1], 'r+b')
for o in sys.argv[2:]:
    f.seek(int(o)); b = f.read(1); f.seek(int(o)); f.write(bytes([b[0] ^ 0xff]))
PY
}
zero_page() { dd if=/dev/zero of="$DATA" bs="$PS" seek="$1" count=1 conv=notrunc status=none; }

# served_whole: every secret reveals its value and the list holds all N.
served_whole() {
	local i out bad=0 n
	n=$(body_of "$(api "$A" GET '/v1/secrets?limit=1000')" |
	    jq -r '.secrets | length' 2>/dev/null)
	[ "$n" = "$N" ] || { echo "list:$n"; bad=1; }
	for i in $(seq 1 $N); do
		out=$(api "$A" POST "/v1/secrets/s_$i/reveal")
		[ "$(status_of "$out") $(body_of "$out" | jq -r .value 2>/dev/null)" = \
		    "200 v$i-$PAD" ] || { echo "s_$i:$(status_of "$out")"; bad=1; }
	done
	return $bad
}

TABLE=""
# try NAME DAMAGE...: a fresh copy, damaged by the command, then started.
try() {
	local name=$1; shift
	rm -rf "$E2E_DIR/state"
	cp -a "$E2E_DIR/intact" "$E2E_DIR/state"
	"$@"
	: >"$E2E_DIR/secretd.log"
	"$SECRETD" -f -c "$E2E_CONF" >>"$E2E_DIR/secretd.log" 2>&1 &
	SECRETD_PID=$!
	local end=$((SECONDS + 10)) up=0 rc outcome
	while [ "$SECONDS" -lt "$end" ]; do
		if curl -s -m 1 -o /dev/null --unix-socket "$E2E_SOCK" \
		    http://localhost/v1/health 2>/dev/null; then
			up=1; break
		fi
		kill -0 "$SECRETD_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ "$up" = 1 ]; then
		missing=$(served_whole)
		ok "$?" "[$name] served: every one of the $N secrets, whole ${missing:+(wrong: $(echo $missing | head -c 300))}"
		kill -0 "$SECRETD_PID" 2>/dev/null
		ok "$?" "[$name] the daemon is still running after serving"
		secretd_stop
		rc=$?
		ok "$([ "$rc" -lt 128 ]; echo $?)" "[$name] no signal (exit $rc)"
		outcome="served all $N"
	else
		wait "$SECRETD_PID"
		rc=$?
		SECRETD_PID=
		ok "$([ "$rc" -ne 0 ] && [ "$rc" -lt 128 ]; echo $?)" \
		    "[$name] refused at start, exit $rc, no signal"
		grep -q "data.mdb.*restore it from a backup" "$E2E_DIR/secretd.log"
		ok "$?" "[$name] the refusal names data.mdb and says to restore from backup"
		grep "damaged" "$E2E_DIR/secretd.log" | head -n 2 | sed 's/^/# /'
		outcome="refused (exit $rc)"
	fi
	"$SECRETD" verify -c "$E2E_CONF" >"$E2E_DIR/verify.out" 2>&1
	rc=$?
	sed 's/^/#   /' "$E2E_DIR/verify.out" | grep -E "damaged|bad|intact|verify" | head -n 3
	if [ "$name" = intact ]; then
		is "$rc" 0 "[$name] secretd verify exits 0"
	else
		ok "$([ "$rc" -ne 0 ] && [ "$rc" -lt 128 ]; echo $?)" \
		    "[$name] secretd verify exits non-zero without a signal ($rc)"
	fi
	TABLE="$TABLE# $(printf '%-24s %-22s verify %s' "$name" "$outcome" "$rc")
"
}

try intact true
try trunc-mid truncate -s $((SIZE / 2 + 100)) "$DATA"
try trunc-last-page truncate -s $((SIZE - PS)) "$DATA"
try trunc-one-page truncate -s "$PS" "$DATA"
try trunc-meta-pages truncate -s $((2 * PS)) "$DATA"
try meta0-magic flip 17
try meta0-last-page flip 136
try meta1-root flip $((PS + 128))
try meta1-txnid flip $((PS + 144 + 2))
try branch-node flip $((BRANCH * PS + PS - 12)) $((BRANCH * PS + PS - 40))
try branch-header flip $((BRANCH * PS + 12))
try leaf-secret flip $((LEAF * PS + PS - 16))
try leaf-main flip $((MAINLEAF * PS + PS - 20))
try zero-leaf zero_page "$LEAF"
try zero-branch zero_page "$BRANCH"

echo "# pattern                  outcome                verify exit"
printf '%s' "$TABLE"
done_testing
