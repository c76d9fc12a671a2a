#!/usr/bin/env bash
# The front-end's own HTTP/1.1 reader, spoken to byte by byte: pipelined
# requests answered in order, a bad request after a good one in the same
# write answered in our JSON, Expect: 100-continue, HTTP/1.0, Connection:
# close, and framing the API never needs refused in JSON with a request id.
# Owns its temp state folder and daemon; only the test users connect.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE

# talk PATH PART...: one unix connection; each PART (\r\n written as
# escapes) is sent in one write, the next once an answer has come.  The
# answers are read until EOF (or 5 s of silence) and printed in order, one
# per line: "STATUS CODE" (CODE the JSON error code, "-" when none, "noid"
# appended when X-Request-Id is missing), then "eof" or "open".
TALK='
import socket, sys, json
path, parts = sys.argv[1], sys.argv[2:]
parts = [p.encode().decode("unicode_escape").encode("latin-1") for p in parts]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.settimeout(5)
buf = b""
out = []
def fill():
    global buf
    d = s.recv(65536)
    if not d:
        raise EOFError
    buf += d
def response(head_only):
    global buf
    while b"\r\n\r\n" not in buf:
        fill()
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    st = lines[0].split()[1].decode()
    n, rid = 0, False
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        k = k.strip().lower()
        if k == b"content-length":
            n = int(v)
        if k == b"x-request-id" and v.strip():
            rid = True
    if head_only or st == "100":
        n = 0
    while len(buf) < n:
        fill()
    body, buf = buf[:n], buf[n:]
    code = "-"
    try:
        code = json.loads(body)["error"]["code"]
    except Exception:
        pass
    return st + " " + code + ("" if rid or st == "100" else " noid")
try:
    for i, p in enumerate(parts):
        s.sendall(p)
        if i + 1 < len(parts):
            out.append(response(p.startswith(b"HEAD ")))
    head_only = parts[-1].startswith(b"HEAD ")
    while True:
        out.append(response(head_only))
        head_only = False
except EOFError:
    out.append("eof")
except socket.timeout:
    out.append("open")
print("\n".join(out))
'

talk() {
	runuser -u "$A" -- python3 -c "$TALK" "$E2E_SOCK" "$@" | paste -sd' '
}

H='Host: localhost\r\n'
GET="GET /v1/secrets/MINE HTTP/1.1\r\n$H\r\n"
HEALTH="GET /v1/health HTTP/1.1\r\n$H\r\n"
NOPE="GET /v1/secrets/NOPE HTTP/1.1\r\n$H\r\n"
CLOSE="GET /v1/health HTTP/1.1\r\n${H}Connection: close\r\n\r\n"
BODY='{"name":"CONT","value":"v"}'
POST="POST /v1/secrets HTTP/1.1\r\n${H}Content-Type: application/json\r\n"

e2e_setup
secretd_start
api "$A" POST /v1/secrets '{"name":"MINE","value":"v"}' >/dev/null
is "$(status_of "$(api "$A" GET /v1/secrets/MINE)")" 200 "fixture: alice has a secret"

# --- pipelining ---
is "$(talk "$GET$NOPE$CLOSE")" "200 - 404 not_found 200 - eof" \
    "three requests in one write: three answers, in order"
is "$(talk "$NOPE$GET")" "404 not_found 200 - open" \
    "two requests in one write: both answered, the connection kept"
is "$(talk "$GET$(printf 'POST /v1/secrets HTTP/1.1\\r\\n%sContent-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n%s' "$H" "${#BODY}" "$BODY")$CLOSE")" \
    "200 - 201 - 200 - eof" "a request with a body between two, in one write"
# A refused request's body holds a whole request: it must be dropped with
# the refusal, never answered as a request of its own.
is "$(talk "POST /v1/nowhere HTTP/1.1\r\n${H}Content-Length: $(printf "$NOPE" | wc -c)\r\n\r\n$NOPE$HEALTH")" \
    "404 not_found 200 - open" \
    "a refused request's body is dropped, not read as the next request"
is "$(talk "${HEALTH}BOGUS\r\n\r\n")" "200 - 400 invalid_request eof" \
    "a bad request after a good one in the same write: 200, then our JSON 400"
is "$(talk "${HEALTH}GET /v1/health HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx$HEALTH")" \
    "200 - 400 invalid_request eof" \
    "a smuggling attempt after a good request: 400, and the rest is not read"

# --- Expect: 100-continue ---
BODY='{"name":"CONT2","value":"v"}'
is "$(talk "${POST}Content-Length: ${#BODY}\r\nExpect: 100-continue\r\n\r\n" "$BODY")" \
    "100 - 201 - open" "Expect: 100-continue: 100 Continue, then the answer"
is "$(talk "${POST}Content-Length: 200000\r\nExpect: 100-continue\r\n\r\n")" \
    "413 too_large eof" "Expect with a body over 128 KiB: 413 instead of 100"
is "$(talk "POST /v1/nowhere HTTP/1.1\r\n${H}Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")" \
    "404 not_found eof" "Expect on a route that does not exist: 404 instead of 100"
is "$(talk "${POST}Content-Length: 5\r\nExpect: something-else\r\n\r\n")" \
    "417 expectation_failed eof" "an Expect we do not know: 417"

# --- versions and Connection ---
is "$(talk "GET /v1/health HTTP/1.0\r\n\r\n")" "200 - eof" \
    "HTTP/1.0: answered, then closed"
is "$(talk "GET /v1/health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n$HEALTH")" \
    "200 - 200 - open" "HTTP/1.0 with keep-alive: the connection serves on"
is "$(talk "$CLOSE$HEALTH")" "200 - eof" \
    "Connection: close: answered, and what follows is not read"
is "$(talk "GET /v1/health HTTP/2.0\r\n$H\r\n")" "400 invalid_request eof" \
    "HTTP/2.0 in a request line: 400"
is "$(talk "HEAD /v1/health HTTP/1.1\r\n$H\r\n" "$HEALTH")" "405 - 200 - open" \
    "HEAD: 405 without a body, and the connection serves on"

# --- framing the API never needs ---
is "$(talk "${POST}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")" \
    "411 length_required eof" "a chunked body: 411"
is "$(talk "GET /v1/health HTTP/1.1\r\n${H}X-A: 1\r\n folded\r\n\r\n")" \
    "400 invalid_request eof" "an obs-folded header: 400"
is "$(talk "GET /v1/health HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n")" \
    "400 invalid_request eof" "NUL in a header: 400"
is "$(talk "GET /v1/health HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n")" \
    "400 invalid_request eof" "a bare CR in a header: 400"
is "$(talk "GET /v1/health HTTP/1.1\n$H\r\n")" "400 invalid_request eof" \
    "a line ending in LF alone: 400"
is "$(talk "GET  /v1/health HTTP/1.1\r\n$H\r\n")" "400 invalid_request eof" \
    "two spaces in the request line: 400"
is "$(talk "GET /v1/health HTTP/1.1\r\n${H}Host: other\r\n\r\n")" \
    "400 invalid_request eof" "Host given twice: 400"
is "$(talk "\r\n$HEALTH")" "200 - open" "an empty line before a request is skipped"
is "$(talk "GET /v1/secrets?limit=1%00 HTTP/1.1\r\n$H\r\n")" \
    "400 invalid_request open" "a query value with an encoded NUL: 400"

is "$(api "$A" GET /v1/health | tail -n 1)" 200 "the daemon serves on after all of it"
secretd_finish
done_testing
