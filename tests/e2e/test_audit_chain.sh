#!/bin/bash
# The audit log against a real daemon: one JSON object a line with the
# request id the client got, the caller (uid and user, or token id, never
# the token), no value; a keyed hash chain that `secretd audit verify`
# checks, naming the first line altered, removed, swapped, inserted or
# added by hand; names that try to break a line; a damaged end at start;
# and rotation: move, SIGHUP, a new file that names the old one's end.
. "${top_srcdir:?}/tests/e2e/lib.sh"

e2e_setup
secretd_start
A=$E2E_ALICE
LOG=$E2E_DIR/state/audit.log
VALUE=audit-value-7f3a9c1e
CHAIN_RE='^[0-9a-f]{64}$'

verify() {
	"$SECRETD" -c "$E2E_CONF" audit verify "$@" 2>&1
}

# fields FILE PY-EXPR: python3 evaluates EXPR over `recs`, the file's lines
# as parsed JSON (a line that does not parse makes it print PARSE-ERROR).
fields() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
recs = []
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    try:
        recs.append(json.loads(line))
    except ValueError as e:
        print("PARSE-ERROR line %d: %s" % (n, e)); sys.exit(0)
print(eval(sys.argv[2]))
EOF
}

# --- requests whose lines are checked ---
apix "$A" POST /v1/secrets "{\"name\":\"AUDITED\",\"value\":\"$VALUE\"}" >/dev/null
rid_create=$(header X-Request-Id)
apix "$A" POST /v1/secrets/AUDITED/reveal >/dev/null
rid_reveal=$(header X-Request-Id)
apix "$E2E_BOB" POST "/v1/secrets/AUDITED/reveal?user_id=$A" >/dev/null
rid_bob=$(header X-Request-Id)
TOKEN=$(token_create "$A" '{"description":"audit test"}')
TOKEN_ID=${TOKEN:4:16}
out=$(apix "tls:$TOKEN" POST /v1/secrets/AUDITED/reveal)
is "$(status_of "$out")" 200 "a token caller reveals over TLS"
rid_token=$(header X-Request-Id)
out=$(apix "tls:rts_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" GET /v1/secrets)
is "$(status_of "$out")" 401 "a bad token is refused"
rid_badtok=$(header X-Request-Id)
ok "$([[ $rid_create =~ ^[0-9a-f]{16}$ && $rid_token =~ ^[0-9a-f]{16}$ ]]; echo $?)" \
    "the client got a 16-hex X-Request-Id ($rid_create)"

# Names that try to end a string or a line, or carry other scripts.
forged=0
for n in 'a"b' $'x\ny' 'q\"},{"op":"reveal' $'\u2028LS' 'NAMÉ_ü' $'tab\there' '\\' ; do
	body=$(jq -nc --arg n "$n" '{name:$n,value:"forged-value"}')
	out=$(apix "$A" POST /v1/secrets "$body")
	[ "$(status_of "$out")" = 400 ] || forged=$((forged + 1))
	out=$(apix "$A" GET "/v1/secrets/$(jq -rn --arg n "$n" '$n|@uri')")
	[ "$(status_of "$out")" = 400 ] || forged=$((forged + 1))
done
is "$forged" 0 "names with quotes, newlines, tabs or non-ASCII letters are refused 400"

# --- every line is JSON with its fields ---
is "$(fields "$LOG" 'len(recs) > 5')" True "the log parses line by line as JSON"
is "$(fields "$LOG" 'recs[0]["op"] + " " + str(recs[0]["previous"]) + " " + recs[0]["reason"]')" \
    "chain_start None a new log" "a new log starts with a chain start record naming no previous value"
is "$(fields "$LOG" '[k for r in recs if r["op"] != "chain_start" for k in
    ("time","seq","requestId","source","user","role","op","scope","owner","name","outcome","chain")
    if k not in r]')" "[]" "every record has time, seq, requestId, source, user, role, op, scope, owner, name, outcome, chain"
is "$(fields "$LOG" 'all(__import__("re").fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]) for r in recs)')" \
    True "every time is RFC 3339 UTC with milliseconds"
is "$(fields "$LOG" 'all(__import__("re").fullmatch(r"[0-9a-f]{64}", r["chain"]) for r in recs)')" \
    True "every line ends with a 64-hex chain value"
is "$(fields "$LOG" '[r["seq"] for r in recs] == list(range(1, len(recs) + 1))')" True \
    "sequence numbers count the lines from 1"
is "$(fields "$LOG" 'all(list(r)[-1] == "chain" for r in recs)')" True "chain is each line's last field"

line_of() {
	fields "$LOG" "[r for r in recs if r.get('requestId') == '$1']"
}
is "$(fields "$LOG" "[(r['op'],r['name'],r['outcome'],r['version'],r['uid'],r['user']) for r in recs if r.get('requestId') == '$rid_create']")" \
    "[('put', 'AUDITED', 'created', 1, $(id -u "$A"), '$A')]" \
    "the create's line has the client's X-Request-Id: op put, created, version 1, uid and user"
is "$(fields "$LOG" "[(r['op'],r['scope'],r['owner'],r['outcome'],r['version'],r['role']) for r in recs if r.get('requestId') == '$rid_reveal']")" \
    "[('reveal', 'user', '$A', 'ok', 1, 'member')]" "the reveal's line: op, scope, owner, outcome, version, role"
is "$(fields "$LOG" "[(r['user'],r['owner'],r['outcome']) for r in recs if r.get('requestId') == '$rid_bob']")" \
    "[('$E2E_BOB', '$A', 'not_found')]" "bob's refused reveal of alice's secret is audited (not_found, as he is answered)"
is "$(fields "$LOG" "[(r['tokenId'],r['user'],'uid' in r,r['source']) for r in recs if r.get('requestId') == '$rid_token']")" \
    "[('$TOKEN_ID', '$A', False, '127.0.0.1')]" "a token caller's line names the token id and peer, no uid"
is "$(fields "$LOG" "[(r['outcome'],r['user'],'tokenId' in r) for r in recs if r.get('requestId') == '$rid_badtok']")" \
    "[('unauthenticated', None, False)]" "a refused token: unauthenticated, no user, no token id"
is "$(grep -cF -e "${TOKEN#rts_}" -e "${TOKEN:21}" "$LOG")" 0 "the token's secret part is nowhere in the log"
is "$(grep -cF -e "$VALUE" -e "$(printf %s "$VALUE" | base64)" -e forged-value "$LOG")" 0 \
    "no secret value is in the log (raw or base64)"
is "$(fields "$LOG" 'len([r for r in recs if r["op"] == "connect" and r["outcome"] == "ok" and "uid" in r])  > 0')" \
    True "unix connections are audited with their uid"

# --- an untouched log verifies ---
out=$(verify "$LOG"); rc=$?
is "$rc" 0 "audit verify: an untouched log is intact (exit 0)"
N=$(wc -l <"$LOG")
ok "$(printf '%s\n' "$out" | grep -qE "audit log intact: 1 file, $N lines, first 20[0-9-]+T[0-9:.]+Z, last 20"; echo $?)" \
    "audit verify prints the lines and the first and last time ($(printf '%s' "$out" | tail -n 1))"

# --- tampered copies, each caught at its line ---
K=$(grep -n "\"requestId\":\"$rid_reveal\"" "$LOG" | cut -d: -f1)
T=$E2E_DIR/tampered.log
sed "${K}s/\"outcome\":\"ok\"/\"outcome\":\"not_found\"/" "$LOG" >"$T"
out=$(verify "$T"); rc=$?
is "$rc $(printf '%s\n' "$out" | grep -oE "^$T:[0-9]+: altered" )" "1 $T:$K: altered" \
    "a field changed on line $K: exit 1, line $K named as altered"
sed "${K}d" "$LOG" >"$T"
out=$(verify "$T"); rc=$?
is "$rc $(printf '%s\n' "$out" | grep -oE "^$T:[0-9]+: 1 line was removed")" "1 $T:$K: 1 line was removed" \
    "line $K removed: exit 1, the line after it (now $K) named, one line missing"
sed -n "${K}p;$((K + 1))p" "$LOG" | tac >"$E2E_DIR/swapped"
{ head -n $((K - 1)) "$LOG"; cat "$E2E_DIR/swapped"; tail -n +$((K + 2)) "$LOG"; } >"$T"
out=$(verify "$T"); rc=$?
is "$rc $(printf '%s\n' "$out" | grep -oE "^$T:[0-9]+: lines [0-9]+ and [0-9]+ were swapped")" \
    "1 $T:$K: lines $K and $((K + 1)) were swapped" "lines $K and $((K + 1)) swapped: both named"
{ head -n $((K - 1)) "$LOG"; sed -n 2p "$LOG"; tail -n +$K "$LOG"; } >"$T"
out=$(verify "$T"); rc=$?
is "$rc $(printf '%s\n' "$out" | grep -oE "^$T:[0-9]+: line [0-9]+ was inserted")" "1 $T:$K: line $K was inserted" \
    "a copy of line 2 inserted at $K: named as inserted"
cp "$LOG" "$T"
tail -n 1 "$LOG" | sed "s/\"seq\":$N,/\"seq\":$((N + 1)),/" >>"$T"
out=$(verify "$T"); rc=$?
is "$rc $(printf '%s\n' "$out" | grep -oE "^$T:[0-9]+: altered, or not written by secretd")" \
    "1 $T:$((N + 1)): altered, or not written by secretd" "a line appended by hand is caught at line $((N + 1))"
{ tail -n +3 "$LOG"; } >"$T"
out=$(verify "$T"); rc=$?
is "$rc $(printf '%s\n' "$out" | grep -oE "^$T:1: the file does not begin with a chain start")" \
    "1 $T:1: the file does not begin with a chain start" "lines removed from the beginning are caught at line 1"
is "$(sha256sum <"$LOG")" "$(sha256sum <"$LOG")" "verify leaves the log as it was"

# --- restart: the chain goes on from the file's last line ---
secretd_stop
secretd_start
api "$A" GET /v1/secrets/AUDITED >/dev/null
is "$(grep -c '"op":"chain_start"' "$LOG")" 1 "after a restart the chain goes on: no new chain start"
out=$(verify "$LOG"); rc=$?
is "$rc" 0 "after a restart the log verifies ($(printf '%s' "$out" | tail -n 1))"

# --- rotation: move, SIGHUP, the new file names the old one's end ---
mv "$LOG" "$LOG.1"
last=$(tail -n 1 "$LOG.1" | jq -r .chain)
kill -HUP "$SECRETD_PID"
for i in $(seq 50); do [ -s "$LOG" ] && break; sleep 0.1; done
api "$A" GET /v1/secrets/AUDITED >/dev/null
is "$(head -n 1 "$LOG" | jq -r '[.op, .previous, .reason] | join(" ")')" \
    "chain_start $last reopened after rotation" "after SIGHUP the new file starts naming the old file's last chain value"
kill -0 "$SECRETD_PID"
ok $? "the daemon lives on after SIGHUP"
out=$(verify "$LOG.1" "$LOG"); rc=$?
is "$rc" 0 "audit verify old new: intact across the rotation"
ok "$(printf '%s\n' "$out" | grep -q "audit log intact: 2 files"; echo $?)" "the summary counts two files"
out=$(verify "$LOG" "$LOG.1"); rc=$?
is "$rc" 1 "the files in the wrong order are refused"
out=$(verify "$LOG"); rc=$?
is "$rc $(printf '%s\n' "$out" | grep -c "^$LOG:1: continues a chain from a file not given")" "0 1" \
    "the new file alone verifies, saying its start is taken as given"
head -n -1 "$LOG.1" >"$T"
out=$(verify "$T" "$LOG"); rc=$?
is "$rc $(printf '%s\n' "$out" | grep -oE "^$LOG:1: does not follow")" "1 $LOG:1: does not follow" \
    "the old file's last line removed: the new file's start does not follow it"
kill -HUP "$SECRETD_PID"
sleep 0.3
is "$(grep -c '"op":"chain_start"' "$LOG")" 1 "a SIGHUP without a rotation adds no chain start"

# --- a damaged end at start: a new segment, loudly; never a refusal ---
secretd_stop
printf '{"time":"garbage' >>"$LOG"
secretd_start
out=$(api "$A" GET /v1/secrets/AUDITED)
is "$(status_of "$out")" 200 "a daemon over a log with a damaged last line starts and serves"
ok "$(grep -q 'AUDIT LOG DAMAGED' "$E2E_DIR/secretd.log"; echo $?)" "it says so loudly in its own log"
D=$(grep -n 'garbage' "$LOG" | cut -d: -f1)
is "$(sed -n "$((D + 1))p" "$LOG" | jq -r '[.op, (.previous|tostring), .reason] | join(" ")')" \
    "chain_start null the log's last line did not verify" "a new chain segment starts after the damaged line"
is "$(fields "$LOG" 'len(recs)' 2>&1 | grep -c PARSE-ERROR)" 1 "only the damaged line itself is not JSON"
out=$(verify "$LOG.1" "$LOG"); rc=$?
is "$rc $(printf '%s\n' "$out" | grep -oE "^$LOG:$D: not an audit record")" "1 $LOG:$D: not an audit record" \
    "audit verify names the damaged line"

# --- audit_syslog = yes: the same lines to syslog, never waited for ---
# The daemon runs in a mount namespace of its own whose /dev is a folder
# of ours (the devices it needs bound in), so that /dev/log is our
# listener and the host's syslog is left alone.
DEV=$E2E_DIR/dev
mkdir -p "$DEV"
ln -s /proc/self/fd "$DEV/fd"
cat >"$E2E_DIR/ns-secretd" <<EOF
#!/bin/bash
exec unshare -m --propagation private bash -c '
	for n in null zero full random urandom tty; do
		touch "$DEV/\$n" && mount --bind "/dev/\$n" "$DEV/\$n" || exit 1
	done
	mount --bind "$DEV" /dev && exec "\$@"' secretd "$SECRETD" "\$@"
EOF
chmod +x "$E2E_DIR/ns-secretd"
# listener SOCKET OUT read|deaf: a syslog socket that records or never reads.
listener() {
	python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666)
out = open(sys.argv[2], "ab", buffering=0)
while sys.argv[3] == "deaf": time.sleep(60)
while True: out.write(s.recv(65536) + b"\n")' "$@" &
	LISTENER=$!
	for i in $(seq 50); do [ -S "$1" ] && break; sleep 0.1; done
}
secretd_stop
echo "audit_syslog = yes" >>"$E2E_CONF"
listener "$DEV/log" "$E2E_DIR/syslog.out" read
REAL_SECRETD=$SECRETD
SECRETD=$E2E_DIR/ns-secretd
secretd_start
apix "$A" GET /v1/secrets/AUDITED >/dev/null
rid_sys=$(header X-Request-Id)
sleep 0.3
is "$(grep -F "\"requestId\":\"$rid_sys\"" "$E2E_DIR/syslog.out")" \
    "<86>secretd-audit[$SECRETD_PID]: $(grep -F "\"requestId\":\"$rid_sys\"" "$LOG")" \
    "audit_syslog = yes: syslog gets the file's very line, as authpriv.info"
secretd_stop
kill "$LISTENER"; wait "$LISTENER" 2>/dev/null
rm -f "$DEV/log"
listener "$DEV/log" /dev/null deaf
secretd_start
n0=$(wc -l <"$LOG")
start=$SECONDS
codes=$(runuser -u "$A" -- curl -s -m 60 -o /dev/null -w '%{http_code}\n' \
    --unix-socket "$E2E_SOCK" "http://localhost/v1/secrets/NONE[1-1500]" | sort | uniq -c |
    awk '{print $1 " " $2}')
is "$codes" "1500 404" "a syslog that never reads: 1500 requests are all answered ($((SECONDS - start)) s)"
ok "$([ $(($(wc -l <"$LOG") - n0)) -ge 1500 ]; echo $?)" "and the file has every line"
ok "$(grep -q 'lines not sent to syslog' "$E2E_DIR/secretd.log"; echo $?)" \
    "the lines syslog could not take at once are dropped there, and counted in our log"
secretd_stop
kill "$LISTENER"; wait "$LISTENER" 2>/dev/null
SECRETD=$REAL_SECRETD
sed -i '/^audit_syslog = yes$/d' "$E2E_CONF"
secretd_start

# --- the key matters ---
printf 'x' | dd of="$E2E_DIR/state/root.key" bs=1 seek=0 conv=notrunc 2>/dev/null
out=$(verify "$LOG.1"); rc=$?
is "$rc" 1 "with another root key nothing verifies"

secretd_finish
done_testing
