#!/usr/bin/env bash
# An allocation that fails while the broker builds a reply must not crash
# it: the request is answered by the front-end's deadline, and the broker
# serves the next one.
. "$top_srcdir/tests/e2e/lib.sh"

SHIM=$top_builddir/tests/e2e/failalloc.so
require_root
if ldd "$SECRETD" | grep -q libasan; then
	echo "1..0 # SKIP a malloc shim cannot be preloaded beside ASan"
	exit 0
fi
[ -f "$SHIM" ] || { echo "Bail out! $SHIM was not built"; exit 1; }

e2e_setup
FLAG=$E2E_DIR/failalloc
LD_PRELOAD=$SHIM FAILALLOC_FLAG=$FLAG secretd_start
bpid=$SECRETD_PID
api root POST /v1/secrets '{"name":"KEPT","value":"v1"}' >/dev/null

: >"$FLAG"
out=$(api root GET /v1/secrets/KEPT)
ok "$([ ! -e "$FLAG" ]; echo $?)" "the broker met the failing allocation"
is_error "$out" 503 unavailable "the request it could not answer gets a 503"
ok "$(kill -0 "$bpid" 2>/dev/null; echo $?)" "the broker is still running"
ok "$(grep -q 'could not be built' "$E2E_DIR/secretd.log"; echo $?)" \
    "the broker logged the reply it could not build"
out=$(api root GET /v1/secrets/KEPT)
is "$(status_of "$out") $(body_of "$out" | jq -r .name)" "200 KEPT" \
    "the next request is served"

secretd_finish
done_testing
