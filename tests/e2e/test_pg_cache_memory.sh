#!/usr/bin/env bash
# On the PostgreSQL store the broker keeps the answers of its reads for a
# while (the wave cache).  A list reads a page of whole records, up to
# 64 of them; an ordinary user with large secrets who lists them again
# and again, from cursors of her choosing (each a new page to fetch),
# must not make the broker hold more than a bounded amount of memory:
# its peak resident size grows by less than 200 MiB over 1500 lists of
# pages of about 4 MiB each, and every list is answered.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/pglib.sh"

A=$E2E_ALICE
LISTS=1500

require_root
pg_require_store
pg_init a && pg_start a ||
    { echo "Bail out! no PostgreSQL cluster"; exit 1; }
pg_psql a -c 'CREATE DATABASE secretd'
CONNINFO=$(pg_conninfo a secretd)
e2e_setup "store = postgresql" "postgresql = $CONNINFO" \
    "quota_user_bytes = 100M" "quota_user_secrets = 1000"

# A sanitizer build keeps freed memory aside for a while: keep that small
# here, so that the peak measures what the broker holds.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SECRETD_PID/status"; }

secretd_start
made=0
for i in $(seq -w 1 64); do
	printf '{"name":"s_%s","value":"%s"}' "$i" \
	    "$(head -c 45000 /dev/urandom | base64 -w0)" >"$E2E_DIR/body"
	chmod 0644 "$E2E_DIR/body"
	st=$(runuser -u "$A" -- curl -s -o /dev/null -w '%{http_code}' \
	    --unix-socket "$E2E_SOCK" -X POST \
	    -H 'Content-Type: application/json' \
	    --data-binary @"$E2E_DIR/body" http://localhost/v1/secrets)
	[ "$st" = 201 ] && made=$((made + 1))
done
is "$made" 64 "alice stores 64 secrets of 60 KB"
c=$(api "$A" GET '/v1/secrets?limit=1' | sed '$d' | jq -r .nextCursor)
pre=${c%"$(printf s_01 | od -An -tx1 | tr -d ' \n')"}
ok "$([ -n "$pre" ] && [ "$pre" != "$c" ]; echo $?)" \
    "a cursor is the hex of her key's prefix and the name"

before=$(kib VmRSS)
# each cursor s_00N starts a page before all 64 records: a new fetch
seq 1 "$LISTS" | xargs -P 8 -I{} sh -c "runuser -u $A -- curl -s \
    -o /dev/null -w '%{http_code}\n' --unix-socket $E2E_SOCK \
    \"http://localhost/v1/secrets?limit=1&cursor=$pre\$(printf s_00{} |
    od -An -tx1 | tr -d ' \n')\"" >"$E2E_DIR/codes"
peak=$(kib VmHWM)
is "$(grep -c '^200$' "$E2E_DIR/codes")" "$LISTS" "every list is answered"
grown=$(((peak - before) / 1024))
echo "# resident: $((before / 1024)) MiB before, peak $((peak / 1024)) MiB"
ok "$([ "$grown" -lt 200 ]; echo $?)" \
    "the broker's peak grew by $grown MiB (less than 200)"
secretd_finish "lists"

done_testing
