#!/usr/bin/env bash
# runtools tool list, show and exec against a scripted API server on a unix
# socket: the requests each command sends (typed parameters, overrides, the
# tool looked up only for --param, nothing sent when a parameter is bad),
# what it prints and every exit status.  No secretd and no root needed; the
# real daemon's side is test_runtools_tools.sh.
# Owns its temp folder and the server it starts.
. "$top_srcdir/tests/e2e/lib.sh"

# Answers the tools routes from fixed tools; the custom-crm execution
# echoes the request body as its result.  Every request is logged, one
# line each: "METHOD PATH BODY".
SERVER='
import json, os, socketserver, sys
from http.server import BaseHTTPRequestHandler
sock, log = sys.argv[1], sys.argv[2]
CRM = {"name": "custom-crm", "description": "CRM lookups", "type": "http",
  "allow": "members", "timeoutMs": 10000,
  "actions": [{"name": "lookup_customer", "description": "By email",
    "params": [
      {"name": "email", "type": "string", "required": True, "in": "path"},
      {"name": "limit", "type": "number", "required": False, "in": "query"},
      {"name": "exact", "type": "boolean", "required": False, "in": "query"}]},
    {"name": "ping", "params": []}],
  "credentials": [{"slot": "apiKey", "defaultSecret": "SHARED_CRM_KEY"}]}
ENV = {"name": "env_dump", "type": "exec", "allow": "admins",
  "timeoutMs": 5000,
  "actions": [{"name": "run", "description": "print",
    "params": [{"name": "verbose", "type": "boolean", "required": False,
      "in": "stdin"}]}],
  "credentials": [{"slot": "token", "defaultSecret": "GITHUB_TOKEN"},
    {"slot": "crm", "defaultSecret": "SHARED_CRM_KEY"}]}
ERRORS = {"down": (502, "upstream_failed", "cannot connect to crm.example"),
  "late": (504, "timeout", "the tool did not answer within 10 s"),
  "admins": (403, "forbidden", "this tool is for admins"),
  "badact": (400, "invalid_request", "unknown action"),
  "huge": (413, "too_large", "request body too large")}
def error(status, code, msg):
  return status, {"error": {"code": code, "message": msg,
    "requestId": "req-7"}}
class H(BaseHTTPRequestHandler):
  protocol_version = "HTTP/1.1"
  def log_message(self, *a):
    pass
  def reply(self, status, obj):
    body = json.dumps(obj).encode()
    self.send_response(status)
    self.send_header("Content-Type", "application/json")
    self.send_header("X-Request-Id", "req-7")
    self.send_header("Content-Length", str(len(body)))
    self.send_header("Connection", "close")
    self.end_headers()
    self.wfile.write(body)
  def record(self, body):
    with open(log, "a") as f:
      f.write("%s %s %s\n" % (self.command, self.path, body))
  def do_GET(self):
    self.record("")
    p = self.path
    if p == "/v1/tools":
      return self.reply(200, {"tools": [CRM], "nextCursor": "p/2"})
    if p == "/v1/tools?cursor=p%2F2":
      return self.reply(200, {"tools": [ENV], "nextCursor": None})
    if p == "/v1/tools/custom-crm":
      return self.reply(200, CRM)
    if p == "/v1/tools/env_dump":
      return self.reply(200, ENV)
    return self.reply(*error(404, "not_found", "no such tool"))
  def do_POST(self):
    body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
    self.record(body.decode())
    tool = self.path.split("/")[3]
    if tool in ERRORS:
      return self.reply(*error(*ERRORS[tool]))
    req = json.loads(body)
    if tool == "custom-crm":
      return self.reply(200, {"tool": tool, "action": req["action"],
        "ok": True, "result": req, "status": 200, "durationMs": 3,
        "credentials": [{"slot": "apiKey", "name": "SHARED_CRM_KEY",
          "scope": "org", "version": 2}], "redactions": 0})
    if tool == "env_dump":
      return self.reply(200, {"tool": tool, "action": "run", "ok": False,
        "result": "line 1\nline 2 [REDACTED:token]", "exitCode": 3,
        "durationMs": 4, "credentials": [], "redactions": 1,
        "stderr": "warning: [REDACTED:crm]\n"})
    if tool == "http_fail":
      return self.reply(200, {"tool": tool, "action": "get", "ok": False,
        "result": {"error": "no such customer"}, "status": 404})
    if tool == "ctl":
      return self.reply(200, {"tool": tool, "action": "get", "ok": True,
        "result": "a\x1b[2Jb\tc", "exitCode": 0, "stderr": "d\x07e"})
    if tool == "scalar":
      return self.reply(200, {"tool": tool, "action": "get", "ok": True,
        "result": 42, "status": 200})
    return self.reply(*error(404, "not_found", "no such tool"))
class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
  daemon_threads = True
srv = S(sock, H)
print("listening", flush=True)
srv.serve_forever()
'

W=$(mktemp -d /tmp/runtools-tool-cli.XXXXXX)
SOCK=$W/api.sock LOG=$W/requests OUT=$W/out ERR=$W/err
SPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

python3 -c "$SERVER" "$SOCK" "$LOG" >"$W/server.out" 2>&1 &
SPID=$!
for i in $(seq 1 100); do grep -q listening "$W/server.out" && break; sleep 0.05; done
ok "$(grep -q listening "$W/server.out"; echo $?)" "the scripted API server is up"

# rt ARGS...: runtools against it, with a clean environment; stdout in
# $OUT, stderr in $ERR, exit status in $rc.  The request log starts empty.
rt() {
	: >"$LOG"
	timeout -k 5 20 env -i PATH=/usr/bin:/bin HOME=/nonexistent \
	    RUNTOOLS_URL="unix:$SOCK" "$RUNTOOLS" "$@" >"$OUT" 2>"$ERR"
	rc=$?
}
rc_is() {
	is "$rc" "$1" "$2"
	[ "$rc" = "$1" ] || echo "#   stderr: $(head -c 500 "$ERR")"
}
# requests: the request log, method and path only, on one line
requests() { cut -d' ' -f1,2 "$LOG" | paste -sd' '; }
# sent FILTER: jq FILTER over the body of the one POST
sent() { grep '^POST ' "$LOG" | cut -d' ' -f3- | jq -c "$1"; }

# --- tool list and show ---------------------------------------------------

rt tool list
rc_is 0 "tool list"
is "$(requests)" "GET /v1/tools GET /v1/tools?cursor=p%2F2" \
    "tool list follows nextCursor to the last page"
is "$(head -n 1 "$OUT" | tr -s ' ')" "NAME TYPE ACTIONS SLOTS DESCRIPTION" \
    "tool list: a table with a header"
is "$(sed -n 2p "$OUT" | tr -s ' ')" \
    "custom-crm http lookup_customer, ping apiKey=SHARED_CRM_KEY CRM lookups" \
    "tool list: name, type, actions, SLOT=default secret, description"
is "$(sed -n 3p "$OUT" | tr -s ' ')" \
    "env_dump exec run token=GITHUB_TOKEN, crm=SHARED_CRM_KEY" \
    "tool list: the second page's tool, every slot"

rt tool list --json
rc_is 0 "tool list --json"
is "$(jq -c '[(.tools | map(.name)), .nextCursor]' "$OUT")" \
    '[["custom-crm","env_dump"],null]' \
    "tool list --json: the pages merged, nextCursor null"

rt tool show custom-crm
rc_is 0 "tool show NAME"
is "$(cat "$OUT")" "name: custom-crm
description: CRM lookups
type: http
allow: members
timeoutMs: 10000
credentials:
  apiKey: SHARED_CRM_KEY
actions:
  lookup_customer: By email
    email: string, required, in path
    limit: number, optional, in query
    exact: boolean, optional, in query
  ping" "tool show: slots, actions and each parameter's type and place"
is "$(requests)" "GET /v1/tools/custom-crm" "tool show: GET /v1/tools/NAME"

rt tool show env_dump --json
rc_is 0 "tool show --json"
is "$(jq -c '[.name, .type, .timeoutMs, (.credentials | length)]' "$OUT")" \
    '["env_dump","exec",5000,2]' "tool show --json: the tool object"

rt tool show nosuch
rc_is 3 "tool show of a missing tool exits 3"
is "$(cat "$ERR")" "runtools: tool show nosuch: no such tool" \
    "tool show: the server's message"

rt tool show a/b
rc_is 2 "tool show with a bad name exits 2"
is "$(cat "$LOG")" "" "a bad tool name: nothing sent"

# --- exec: what is sent -----------------------------------------------------

rt tool exec custom-crm lookup_customer --param email=person@example.com \
    --param limit=5 --param exact=true
rc_is 0 "tool exec with typed --param"
is "$(requests)" "GET /v1/tools/custom-crm POST /v1/tools/custom-crm/execute" \
    "--param: the tool is looked up, then executed"
is "$(sent .)" \
    '{"action":"lookup_customer","params":{"email":"person@example.com","limit":5,"exact":true}}' \
    "--param values sent as the declared string, number and boolean"
is "$(jq -c .params "$OUT")" \
    '{"email":"person@example.com","limit":5,"exact":true}' \
    "the result (the echoed request) is on stdout as JSON"
ok "$([ "$(wc -l <"$OUT")" -gt 3 ]; echo $?)" "a JSON result is indented"
is "$(cat "$ERR")" "" "nothing on stderr when the tool succeeds"

rt tool exec custom-crm lookup_customer --param limit=-2.5e1 --param exact=false \
    --param email=
rc_is 0 "tool exec: a negative real, false, an empty string"
is "$(sent '.params | [.limit, (.limit | type), .exact, .email]')" \
    '[-25,"number",false,""]' \
    "a real number, false and an empty string sent as such"

printf '{"email": "a@b", "extra": {"nested": [1, 2]}}' >"$W/p.json"
rt tool exec custom-crm lookup_customer --params-json "$W/p.json" --param limit=7
rc_is 0 "tool exec --params-json FILE --param"
is "$(sent .params)" '{"email":"a@b","extra":{"nested":[1,2]},"limit":7}' \
    "--params-json and --param merged"

: >"$LOG"
timeout 20 env -i HOME=/nonexistent RUNTOOLS_URL="unix:$SOCK" "$RUNTOOLS" \
    tool exec custom-crm ping --params-json - <<<'{"n": 1.5}' >"$OUT" 2>"$ERR"
rc=$?
rc_is 0 "tool exec --params-json - (standard input)"
is "$(requests)" "POST /v1/tools/custom-crm/execute" \
    "without --param the tool is not looked up"
is "$(sent .)" '{"action":"ping","params":{"n":1.5}}' \
    "--params-json -: the object from standard input"

rt tool exec custom-crm ping --credential apiKey=MY_CRM_KEY \
    --credential backup=SHARED_CRM_KEY:org
rc_is 0 "tool exec --credential SLOT=SECRET and SLOT=SECRET:org"
is "$(sent .credentialOverrides)" \
    '{"apiKey":"MY_CRM_KEY","backup":{"name":"SHARED_CRM_KEY","orgWide":true}}' \
    "overrides: a name, and the org form with orgWide true"

rt tool exec custom-crm ping
is "$(sent .)" '{"action":"ping","params":{}}' \
    "no params: an empty object, no credentialOverrides"

# --- exec: refused before anything runs ----------------------------------

# refused WANT-RC STDERR-REGEX NAME ARGS...: exit status, message, and no
# execution sent.
refused() {
	local want=$1 re=$2 name=$3
	shift 3
	rt "$@"
	rc_is "$want" "$name"
	ok "$(grep -qE -- "$re" "$ERR"; echo $?)" \
	    "$name: says why: $(head -n 1 "$ERR" | head -c 200)"
	is "$(grep -c '^POST' "$LOG")" 0 "$name: no execution sent"
}
refused 2 "parameter limit is a number.*'abc'" "a bad number" \
    tool exec custom-crm lookup_customer --param email=x --param limit=abc
refused 2 "parameter limit is a number" "a number with a space" \
    tool exec custom-crm lookup_customer --param "limit= 5"
refused 2 "parameter exact is a boolean: give true or false, not 'yes'" \
    "a bad boolean" tool exec custom-crm lookup_customer --param exact=yes
refused 2 "has no parameter colour; its parameters: email, limit, exact" \
    "an unknown parameter" tool exec custom-crm lookup_customer --param colour=red
refused 2 "has no action lookup; its actions: lookup_customer, ping" \
    "an unknown action, with --param" tool exec custom-crm lookup --param email=x
refused 2 "parameter email is given twice" "a name in --params-json and --param" \
    tool exec custom-crm lookup_customer --params-json "$W/p.json" --param email=x
refused 2 "--param email is given twice" "--param given twice" \
    tool exec custom-crm lookup_customer --param email=x --param email=y
printf '[1, 2]' >"$W/array.json"
refused 2 "must be an object" "--params-json not an object" \
    tool exec custom-crm ping --params-json "$W/array.json"
printf '{"a": 1, "a": 2}' >"$W/dup.json"
refused 2 "duplicate" "--params-json with a key twice" \
    tool exec custom-crm ping --params-json "$W/dup.json"
refused 2 "$W/none.json: No such file" "--params-json of a missing file" \
    tool exec custom-crm ping --params-json "$W/none.json"
refused 2 "--credential takes SLOT=SECRET" "--credential with a bad suffix" \
    tool exec custom-crm ping --credential apiKey=K:user
refused 2 "--credential apiKey is given twice" "a slot overridden twice" \
    tool exec custom-crm ping --credential apiKey=A --credential apiKey=B:org
refused 3 "no such tool" "--param for a missing tool" \
    tool exec nosuch run --param k=v

# --- exec: output and exit status ----------------------------------------

rt tool exec env_dump run
rc_is 5 "an exec tool that exits non-zero: exit status 5"
is "$(od -An -c "$OUT" | tr -s ' ')" \
    "$(printf 'line 1\nline 2 [REDACTED:token]' | od -An -c | tr -s ' ')" \
    "a text result is written byte for byte, nothing added"
is "$(head -n 1 "$ERR")" "warning: [REDACTED:crm]" \
    "the command's stderr goes to standard error"
is "$(sed -n 2p "$ERR")" \
    "runtools: tool exec env_dump run: the tool reported failure (exit code 3)" \
    "then a line saying the tool failed, with its exit code"

rt tool exec env_dump run --json
rc_is 5 "--json: exit status 5 too"
is "$(jq -c '[.ok, .exitCode, .stderr, .redactions]' "$OUT")" \
    '[false,3,"warning: [REDACTED:crm]\n",1]' "--json prints the whole response"
is "$(cat "$ERR")" "" "--json: nothing on standard error"

rt tool exec http_fail get
rc_is 5 "an http tool answered with an error status: exit status 5"
is "$(jq -c . "$OUT")" '{"error":"no such customer"}' \
    "its result on stdout"
is "$(cat "$ERR")" \
    "runtools: tool exec http_fail get: the tool reported failure (HTTP status 404)" \
    "the failure names the HTTP status"

rt tool exec scalar get
rc_is 0 "a scalar JSON result"
is "$(cat "$OUT")" "42" "printed as JSON"

rt tool exec ctl get
is "$(od -An -c "$OUT" | tr -s ' ')" \
    "$(printf 'a\033[2Jb\tc' | od -An -c | tr -s ' ')" \
    "into a file, control characters in a text result are kept"
if command -v script >/dev/null; then
	: >"$LOG"
	TERM=dumb timeout 20 script -qec "env -i HOME=/nonexistent \
	    RUNTOOLS_URL=unix:$SOCK $RUNTOOLS tool exec ctl get" /dev/null \
	    >"$OUT" 2>"$ERR"
	is "$(tr -d '\r' <"$OUT" | od -An -c | tr -s ' ')" \
	    "$(printf 'd?e\na?[2Jb\tc\n' | od -An -c | tr -s ' ')" \
	    "on a terminal, control characters but tab are shown as '?' and a newline ends each"
else
	ok 0 "# SKIP script(1) is missing; no terminal to write to"
fi

# api_error TOOL WANT-RC MESSAGE NAME
api_error() {
	rt tool exec "$1" get
	rc_is "$2" "$4: exit status $2"
	is "$(cat "$ERR")" "runtools: tool exec $1: $3" "$4: the server's message"
	is "$(cat "$OUT")" "" "$4: nothing on stdout"
}
api_error down 1 "cannot connect to crm.example" "502 upstream failed"
api_error late 1 "the tool did not answer within 10 s" "504 timeout"
api_error admins 4 "this tool is for admins" "403 forbidden"
api_error badact 2 "unknown action" "400 invalid request"
api_error huge 2 "request body too large" "413 too large"
api_error nosuch 3 "no such tool" "404 not found"

done_testing
