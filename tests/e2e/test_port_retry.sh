#!/usr/bin/env bash
# The end-to-end library copes with a TLS port another process takes
# between free_port and the daemon's bind: secretd_start writes a new port
# into the config and starts the daemon again.
. "$top_srcdir/tests/e2e/lib.sh"

e2e_setup
# Another process takes the port the config names.
python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("held", flush=True)
time.sleep(120)' "$E2E_PORT" >"$E2E_DIR/hold.out" 2>&1 &
HOLD_PID=$!
trap 'kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null; e2e_teardown' EXIT
for i in $(seq 1 100); do grep -q held "$E2E_DIR/hold.out" && break; sleep 0.05; done
TAKEN=$E2E_PORT

# It bails out when the daemon does not start.
secretd_start
ok 0 "secretd_start succeeds though its first port was taken"
ok "$([ "$E2E_PORT" != "$TAKEN" ]; echo $?)" "the config names a new port ($TAKEN -> $E2E_PORT)"
ok "$(grep -q 'Address already in use' "$E2E_DIR/secretd.log"; echo $?)" \
    "the first start failed with Address already in use"
out=$(tls "" GET /v1/health)
is "$(status_of "$out")" 200 "the daemon serves TLS on the new port"
secretd_finish
done_testing
