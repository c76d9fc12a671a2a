#!/bin/bash
# A backup edited by someone without the root key.  Secret records are
# sealed, and an edit makes restore refuse the file; token records hold
# their owner and role in the clear, so one byte turns a member's token
# into an admin's and restore takes it.  That check is marked TODO until
# token records are authenticated under the root key like secrets.
. "${top_srcdir:?}/tests/e2e/lib.sh"

require_root
if ! command -v mdb_dump >/dev/null 2>&1 || ! command -v mdb_load >/dev/null 2>&1; then
	echo "1..0 # SKIP mdb_dump and mdb_load (lmdb-utils) are not installed"
	exit 0
fi
e2e_setup
secretd_start
A=$E2E_ALICE
tok=$(token_create "$A" '{"description":"member token"}')
ok "$([ -n "$tok" ]; echo $?)" "alice makes a member token"
is "$(status_of "$(tls "$tok" GET /v1/metrics)")" 403 "before: her token may not read the metrics"
"$SECRETD" -c "$E2E_CONF" backup "$E2E_DIR/b.mdb" >/dev/null
is "$?" 0 "a backup is taken"
secretd_stop

# The token record's role byte, after its format byte and three strings
# (id, user, org), each a big-endian 16-bit length and its bytes.
mdb_dump -n -s tokens "$E2E_DIR/b.mdb" >"$E2E_DIR/tokens.dump"
python3 - "$E2E_DIR/tokens.dump" <<'PY'
import sys
p = sys.argv[1]
out, data, val = [], False, False
for l in open(p).read().split("\n"):
    if l == "HEADER=END":
        data = True
    elif data and l.startswith(" "):
        if val:
            b = bytearray.fromhex(l.strip())
            i = 1
            for _ in range(3):
                i += 2 + (b[i] << 8 | b[i + 1])
            b[i] = 1
            l = " " + b.hex()
        val = not val
    out.append(l)
open(p, "w").write("\n".join(out))
PY
mdb_load -n -s tokens -f "$E2E_DIR/tokens.dump" "$E2E_DIR/b.mdb" 2>/dev/null
"$SECRETD" -c "$E2E_CONF" restore "$E2E_DIR/b.mdb" >"$E2E_DIR/restore.out" 2>&1
rc=$?
secretd_start
st=$(status_of "$(tls "$tok" GET /v1/metrics)")
# A TODO check: reported, never counted as a failure (lib.sh's ok would).
tap_n=$((tap_n + 1))
if [ "$rc" -ne 0 ] || [ "$st" = 403 ]; then r=ok; else r="not ok"; fi
echo "$r $tap_n - a backup edited without the root key is refused, or the token stays a member's (restore exit $rc, metrics $st) # TODO token records are not authenticated"
secretd_finish
done_testing
