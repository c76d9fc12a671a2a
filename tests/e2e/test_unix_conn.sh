#!/usr/bin/env bash
# Unix-socket connections from first request to close.  The broker keeps
# its own copy of every client connection it is passed, so a connection the
# front-end drops (after Connection: close, after a framing refusal, at the
# idle timeout) is really closed only if the front-end shuts the socket
# down: the client sees EOF at once, and a write after it fails.  Every
# connection has its session before its first request, token or not: a
# uid without a user name is served as uid-N (test_nameless_uid.sh) and may
# use a token on the same connection.
# Owns its temp state folder and daemon; only the test users connect.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE
REQUEST_TIMEOUT=10	# the daemon's per-request timeout, in seconds
NONAME_UID=54321	# a uid with no passwd entry

# converse [uid=N] PATH WAIT REQUEST...: one unix connection (as uid N when
# given, else as the caller); each REQUEST (\r\n written as escapes) is
# sent once the previous response has been read whole.  Prints each
# response's status, then "eof SECONDS" (from the last response read to
# the server's EOF) and whether a write after it found the socket "closed"
# or still "open"; or "timeout" when no EOF came within WAIT seconds.
CONVERSE='
import os, socket, sys, time
args = sys.argv[1:]
uid = int(args.pop(0)[4:]) if args[0].startswith("uid=") else None
path, wait = args[0], float(args[1])
reqs = [r.encode().decode("unicode_escape").encode("latin-1")
    for r in args[2:]]
if uid is not None:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.settimeout(wait)
buf = b""
def fill():
    global buf
    d = s.recv(65536)
    if not d:
        raise EOFError
    buf += d
def response():
    global buf
    while b"\r\n\r\n" not in buf:
        fill()
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    n = 0
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(buf) < n:
        fill()
    buf = buf[n:]
    return lines[0].split()[1].decode()
out = []
try:
    for r in reqs:
        s.sendall(r)
        out.append(response())
    t = time.monotonic()
    try:
        while True:
            fill()
    except EOFError:
        out.append("eof %.1f" % (time.monotonic() - t))
    try:
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        out.append("open")
    except BrokenPipeError:
        out.append("closed")
except socket.timeout:
    out.append("timeout")
except EOFError:
    out.append("early-eof")
except OSError as e:
    out.append("error-%d" % e.errno)
print(" ".join(out))
'

# as USER ARGS...: converse as a test user.
as() {
	local user=$1
	shift
	runuser -u "$user" -- python3 -c "$CONVERSE" "$@"
}

# prompt OUTPUT: "STATUSES eof closed" with the EOF within two seconds.
prompt() {
	printf '%s\n' "$1" | sed -E 's/eof (0|1)\.[0-9] /eof /'
}

GET='GET /v1/secrets HTTP/1.1\r\nHost: localhost\r\n'
CLOSE='Connection: close\r\n'

e2e_setup
secretd_start
api "$A" POST /v1/secrets '{"name":"MINE","value":"v"}' >/dev/null
TA=$(token_create "$A" '{"description":"alice"}')
ok "$([ -n "$TA" ]; echo $?)" "fixture: alice has a secret and a token"
BEARER="Authorization: Bearer $TA\\r\\n"

# --- EOF as soon as the front-end drops a connection ---
out=$(as "$A" "$E2E_SOCK" 5 "$GET$CLOSE\r\n")
is "$(prompt "$out")" "200 eof closed" \
    "Connection: close: the answer, then EOF at once, the socket closed ($out)"
out=$(as "$A" "$E2E_SOCK" 5 "$GET\r\n" \
    "GET /v1/secrets/MINE HTTP/1.1\r\nHost: localhost\r\n$CLOSE\r\n")
is "$(prompt "$out")" "200 200 eof closed" \
    "a kept-alive session, then Connection: close: EOF at once ($out)"
out=$(as "$A" "$E2E_SOCK" 5 "$GET\r\n" \
    "$GET${CLOSE}Content-Length: 1\r\nContent-Length: 2\r\n\r\nxy")
is "$(prompt "$out")" "200 400 eof closed" \
    "a framing refusal after a session: the 400, then EOF at once ($out)"
out=$(as "$A" "$E2E_SOCK" 5 "$GET$BEARER$CLOSE\r\n")
is "$(prompt "$out")" "200 eof closed" \
    "a token request over the socket, Connection: close: EOF at once ($out)"
out=$(as "$A" "$E2E_SOCK" $((REQUEST_TIMEOUT + 8)) "$GET\r\n")
got=$(printf '%s\n' "$out" | awk '{ print $1, $2, $4 }')
secs=$(printf '%s\n' "$out" | awk '{ print int($3) }')
ok "$([ "$got" = "200 eof closed" ] && [ "$secs" -ge $((REQUEST_TIMEOUT - 2)) ] &&
    [ "$secs" -le $((REQUEST_TIMEOUT + 3)) ]; echo $?)" \
    "an idle kept-alive session ends with EOF at the ${REQUEST_TIMEOUT} s timeout ($out)"
is "$(status_of "$(api "$A" GET /v1/secrets/MINE)")" 200 \
    "the daemon serves on after the dropped connections"

# --- a session for every unix connection, token or not ---
getent passwd "$NONAME_UID" >/dev/null &&
    echo "Bail out! uid $NONAME_UID has a passwd entry on this host"
out=$(python3 -c "$CONVERSE" "uid=$NONAME_UID" "$E2E_SOCK" 5 "$GET\r\n" \
    "$GET$BEARER$CLOSE\r\n")
first=${out%% *}
is "$first" 200 "a uid without a name is served by its session, as uid-$NONAME_UID"
is "$(prompt "${out#* }")" "200 eof closed" \
    "the same connection may still use a token ($out)"
out=$(python3 -c "$CONVERSE" "uid=$NONAME_UID" "$E2E_SOCK" 5 \
    "$GET$BEARER$CLOSE\r\n")
is "$(prompt "$out")" "200 eof closed" \
    "a token as the first request of such a connection works ($out)"
out=$(python3 -c "$CONVERSE" "uid=$NONAME_UID" "$E2E_SOCK" 5 \
    "GET /v1/secrets HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer rts_nope\r\n$CLOSE\r\n")
is "$(prompt "$out")" "401 eof closed" "a bad token from such a uid is a 401 ($out)"

secretd_finish
done_testing
