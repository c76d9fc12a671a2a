#!/usr/bin/env bash
# SIGHUP against a real daemon: org_reveal and admin_group change live, a
# new TLS certificate is presented to new handshakes while a kept-alive
# connection goes on, a new tool is listed, a bad config or tool file is
# refused whole with every error logged, a restart-only key is logged and
# kept while the rest applies, and a moved audit log is opened afresh.
# Then secretd -n with several errors, --help and --version of both
# programs, timestamped log lines, how a killed front-end is logged, and a
# daemon started without a store.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE
B=$E2E_BOB
C=$E2E_ADMIN
RELOAD_GROUP=secretd-e2e-reload

e2e_setup "tools_dir = tools.d" "org_reveal = admins"
getent group "$RELOAD_GROUP" >/dev/null || groupadd "$RELOAD_GROUP"
usermod -a -G "$RELOAD_GROUP" "$B"
mkdir -m 0755 "$E2E_DIR/tools.d"
LOG=$E2E_DIR/secretd.log
secretd_start

# set_key KEY VALUE: KEY's line in the config, added when missing.
set_key() {
	if grep -q "^$1 = " "$E2E_CONF"; then
		sed -i "s|^$1 = .*|$1 = $2|" "$E2E_CONF"
	else
		echo "$1 = $2" >>"$E2E_CONF"
	fi
}

# hup: SIGHUP, then wait for the reload's closing line (applied or
# refused); prints the log lines it wrote.
hup() {
	local before n end
	before=$(wc -l <"$LOG")
	n=$(grep -cE 'reloaded |reload: refused' "$LOG")
	kill -HUP "$SECRETD_PID"
	end=$((SECONDS + 10))
	while [ "$SECONDS" -lt "$end" ] &&
	    [ "$(grep -cE 'reloaded |reload: refused' "$LOG")" -eq "$n" ]; do
		sleep 0.05
	done
	sleep 0.2	# the front-end's own lines follow the broker's
	tail -n +"$((before + 1))" "$LOG"
}

reveal_org() {
	status_of "$(api "$1" POST '/v1/secrets/ORG_SECRET/reveal?orgWide=true')"
}

role_of() {
	body_of "$(api "$1" GET /v1/whoami)" | jq -r .role
}

st=$(status_of "$(api root POST /v1/secrets \
    '{"name":"ORG_SECRET","value":"org-v","orgWide":true}')")
is "$st" 201 "seed: root creates an org secret"
is "$(reveal_org "$A")" 403 "org_reveal = admins: member $A may not reveal it"

# --- org_reveal, both ways ---
set_key org_reveal members
out=$(hup)
ok "$(printf '%s\n' "$out" | grep -qE "reloaded $E2E_CONF: changed org_reveal; 0 tools; .*audit log reopened"; echo $?)" \
    "org_reveal = members: one line says what was reloaded"
is "$(reveal_org "$A")" 200 "org_reveal = members after SIGHUP: member $A reveals it"
set_key org_reveal admins
hup >/dev/null
is "$(reveal_org "$A")" 403 "org_reveal = admins again after SIGHUP: refused again"

# --- admin_group ---
is "$(role_of "$B") $(role_of "$C")" "member admin" \
    "before: $B is a member, $C an admin"
set_key admin_group "$RELOAD_GROUP"
out=$(hup)
ok "$(printf '%s\n' "$out" | grep -q "changed admin_group"; echo $?)" \
    "admin_group: the reload line names it"
is "$(role_of "$B") $(role_of "$C")" "admin member" \
    "admin_group = $RELOAD_GROUP after SIGHUP: $B is an admin, $C a member"
set_key admin_group "$E2E_ADMIN_GROUP"
hup >/dev/null
is "$(role_of "$B") $(role_of "$C")" "member admin" "admin_group back: roles back"

# --- a new TLS certificate and key ---
fingerprint() {
	openssl s_client -connect "127.0.0.1:$E2E_PORT" -servername 127.0.0.1 \
	    </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256
}
old_fp=$(openssl x509 -in "$E2E_CA" -noout -fingerprint -sha256)
is "$(fingerprint)" "$old_fp" "before: the handshake presents the first certificate"
cp "$E2E_CA" "$E2E_DIR/old.crt"
cp "$E2E_DIR/state/tls.key" "$E2E_DIR/old.key"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$E2E_DIR/new.key" -out "$E2E_DIR/new.crt" -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
new_fp=$(openssl x509 -in "$E2E_DIR/new.crt" -noout -fingerprint -sha256)
ok "$([ -n "$new_fp" ] && [ "$new_fp" != "$old_fp" ]; echo $?)" \
    "a new self-signed pair is made"

# A client that keeps one connection: a request, then another once told.
cat >"$E2E_DIR/keepalive.py" <<'PY'
import http.client, os, ssl, sys, time
d, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.create_default_context(cafile=d + "/old.crt")
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
for i in (1, 2):
    c.request("GET", "/v1/health")
    r = c.getresponse()
    r.read()
    print("request %d: %d" % (i, r.status), flush=True)
    if i == 1:
        open(d + "/ka-ready", "w").close()
        end = time.time() + 8
        while not os.path.exists(d + "/ka-go") and time.time() < end:
            time.sleep(0.02)
print("same socket: %s" % (c.sock is not None), flush=True)
PY
python3 "$E2E_DIR/keepalive.py" "$E2E_DIR" "$E2E_PORT" >"$E2E_DIR/ka.out" 2>&1 &
ka=$!
end=$((SECONDS + 10))
while [ ! -e "$E2E_DIR/ka-ready" ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.05; done
cat "$E2E_DIR/new.crt" >"$E2E_CA"
cat "$E2E_DIR/new.key" >"$E2E_DIR/state/tls.key"
out=$(hup)
ok "$(printf '%s\n' "$out" | grep -q "TLS certificate sent to the front-end"; echo $?)" \
    "new pair: the reload line says the certificate went to the front-end"
ok "$(printf '%s\n' "$out" | grep -q "new TLS handshakes present the new certificate"; echo $?)" \
    "new pair: the front-end took it"
is "$(fingerprint)" "$new_fp" "after SIGHUP: a new handshake presents the new certificate"
st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$E2E_DIR/new.crt" "$E2E_URL/v1/health")
is "$st" 200 "after SIGHUP: a client trusting only the new certificate is served"
touch "$E2E_DIR/ka-go"
wait "$ka"
is "$(cat "$E2E_DIR/ka.out")" "request 1: 200
request 2: 200
same socket: True" "the connection opened before the reload still works, on the old certificate"

# A certificate with a key that is not its own is not taken.
cat "$E2E_DIR/old.key" >"$E2E_DIR/state/tls.key"
out=$(hup)
printf '%s\n' "$out" | grep -qE "reload: tls_key does not match tls_cert .*; the front-end keeps its certificate"
r=$?
ok "$r" "a mismatched pair: the broker says the front-end keeps the old certificate, and why"
[ "$r" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
is "$(fingerprint)" "$new_fp" "a mismatched pair: handshakes still present the last good certificate"
is "$(status_of "$(api "$A" GET /v1/whoami)")" 200 "a mismatched pair: the daemon keeps serving"
# The refused pair is still on disk when the front-end next starts (a
# crash, an OOM kill): the new one must come up and serve, not die at
# every start until the broker gives up and the daemon exits.
fe=$(frontend_pid)
before=$(wc -l <"$LOG")
kill -KILL "$fe"
end=$((SECONDS + 8)) st=000
while [ "$SECONDS" -lt "$end" ]; do
	nfe=$(frontend_pid)
	if [ -n "$nfe" ] && [ "$nfe" != "$fe" ]; then
		st=$(status_of "$(api "$A" GET /v1/whoami)")
		[ "$st" = 200 ] && break
	fi
	sleep 0.2
done
is "$st" 200 "a mismatched pair on disk: a front-end started again serves the unix socket"
ok "$(tail -n +"$((before + 1))" "$LOG" | grep -q "tls_key does not match tls_cert.*TLS disabled"; echo $?)" \
    "a mismatched pair on disk: the broker says why TLS is off"
ok "$(kill -0 "$SECRETD_PID" 2>/dev/null; echo $?)" "a mismatched pair on disk: the daemon lives on"
cat "$E2E_DIR/new.key" >"$E2E_DIR/state/tls.key"
fe=$(frontend_pid)
out=$(hup)
ok "$(printf '%s\n' "$out" | grep -q "the TLS listener is not served .*taken when the front-end starts again"; echo $?)" \
    "the good pair back, SIGHUP: a front-end without TLS says when it takes it"
is "$(frontend_pid) $(printf '%s\n' "$out" | grep -c 'killed by signal')" "$fe 0" \
    "  and lives on (no sandbox violation from a TLS set up late)"
# The front-end that started without TLS takes the good pair at its next start.
fe=$(frontend_pid)
kill -KILL "$fe"
end=$((SECONDS + 8))
while [ "$SECONDS" -lt "$end" ]; do
	nfe=$(frontend_pid)
	[ -n "$nfe" ] && [ "$nfe" != "$fe" ] && [ "$(fingerprint)" = "$new_fp" ] && break
	sleep 0.2
done
is "$(fingerprint)" "$new_fp" "the good pair back: a front-end started again presents it"

# A pair that matches but that OpenSSL refuses to serve (a key under its
# security level): the broker cannot tell, the front-end can.  One
# started with it on disk serves the socket without TLS, and lives.
openssl req -x509 -newkey rsa:1024 -nodes -keyout "$E2E_DIR/weak.key" \
    -out "$E2E_DIR/weak.crt" -days 2 -subj /CN=127.0.0.1 2>/dev/null
cat "$E2E_DIR/weak.crt" >"$E2E_CA"
cat "$E2E_DIR/weak.key" >"$E2E_DIR/state/tls.key"
out=$(hup)
if printf '%s\n' "$out" | grep -q "the new certificate was not taken"; then
	fe=$(frontend_pid)
	before=$(wc -l <"$LOG")
	kill -KILL "$fe"
	end=$((SECONDS + 8)) st=000
	while [ "$SECONDS" -lt "$end" ]; do
		nfe=$(frontend_pid)
		if [ -n "$nfe" ] && [ "$nfe" != "$fe" ]; then
			st=$(status_of "$(api "$A" GET /v1/whoami)")
			[ "$st" = 200 ] && break
		fi
		sleep 0.2
	done
	is "$st" 200 "a pair OpenSSL refuses on disk: a front-end started again serves the unix socket"
	sleep 1
	ok "$(tail -n +"$((before + 1))" "$LOG" | grep -q "the TLS listener is not served"; echo $?)" \
	    "  and says the TLS listener is not served"
	is "$(tail -n +"$((before + 1))" "$LOG" | grep -c 'front-end pid [0-9]* exited with status 1')" 0 \
	    "  no front-end died on it"
else
	ok 0 "# SKIP this OpenSSL serves a 1024-bit RSA key"
	ok 0 "# SKIP"
	ok 0 "# SKIP"
fi
cat "$E2E_DIR/new.crt" >"$E2E_CA"
cat "$E2E_DIR/new.key" >"$E2E_DIR/state/tls.key"
hup >/dev/null
fe=$(frontend_pid)
kill -KILL "$fe"
end=$((SECONDS + 8))
while [ "$SECONDS" -lt "$end" ]; do
	nfe=$(frontend_pid)
	[ -n "$nfe" ] && [ "$nfe" != "$fe" ] && [ "$(fingerprint)" = "$new_fp" ] && break
	sleep 0.2
done
is "$(fingerprint)" "$new_fp" "the good pair back again: TLS is served again"

# --- a new tool ---
st=$(status_of "$(api "$A" GET /v1/tools/reload-crm)")
is "$st" 404 "before: no tool reload-crm"
cat >"$E2E_DIR/tools.d/reload-crm.tool" <<'TOOL'
type = http
allow = members
base_url = https://crm.example.com/api
slot apiKey
	secret = SHARED_CRM_KEY
	header = Authorization: Bearer {}
action lookup
	method = GET
	path = /customers/{email}
	param email string required
TOOL
chmod 0644 "$E2E_DIR/tools.d/reload-crm.tool"
out=$(hup)
ok "$(printf '%s\n' "$out" | grep -q "; 1 tool; "; echo $?)" "new tool: the reload line counts 1 tool"
is "$(body_of "$(api "$A" GET /v1/tools)" | jq -r '[.tools[].name] | join(",")')" \
    reload-crm "after SIGHUP: the new tool is listed"

# --- a bad config, then a bad tool file: refused whole ---
cp "$E2E_CONF" "$E2E_DIR/good.conf"
set_key org_reveal sometimes
echo "no_such_key = 1" >>"$E2E_CONF"
set_key max_tokens_per_user 5
rv_line=$(grep -n '^org_reveal' "$E2E_CONF" | cut -d: -f1)
uk_line=$(grep -n '^no_such_key' "$E2E_CONF" | cut -d: -f1)
out=$(hup)
ok "$(printf '%s\n' "$out" | grep -qF "reload: $E2E_CONF:$rv_line: org_reveal: bad value \"sometimes\""; echo $?)" \
    "bad config: the bad value is logged at its line"
ok "$(printf '%s\n' "$out" | grep -qF "reload: $E2E_CONF:$uk_line: unknown key \"no_such_key\""; echo $?)" \
    "bad config: the unknown key is logged at its line too"
ok "$(printf '%s\n' "$out" | grep -q "reload: refused, 2 errors .* still running on the old configuration unchanged"; echo $?)" \
    "bad config: one line says the reload was refused and the old one kept"
ok "$(! printf '%s\n' "$out" | grep -q "reloaded "; echo $?)" "bad config: nothing says reloaded"
is "$(reveal_org "$A")" 403 "bad config: still serving with org_reveal = admins"
is "$(status_of "$(api "$A" GET /v1/tools/reload-crm)")" 200 \
    "bad config: the tools are unchanged"
cp "$E2E_DIR/good.conf" "$E2E_CONF"
set_key org_reveal members
printf 'type = http\nbase_url = ftp://x\n' >"$E2E_DIR/tools.d/broken.tool"
chmod 0644 "$E2E_DIR/tools.d/broken.tool"
out=$(hup)
ok "$(printf '%s\n' "$out" | grep -qF "reload: $E2E_DIR/tools.d/broken.tool:2: "; echo $?)" \
    "bad tool file: its error is logged at its line"
ok "$(printf '%s\n' "$out" | grep -q "reload: refused"; echo $?)" \
    "bad tool file: the whole reload is refused"
is "$(reveal_org "$A")" 403 "bad tool file: the good config change beside it is not applied either"
rm -f "$E2E_DIR/tools.d/broken.tool"
cp "$E2E_DIR/good.conf" "$E2E_CONF"

# --- a key that needs a restart, beside one that does not ---
mode_before=$(stat -c %a "$E2E_SOCK")
set_key socket_mode 0600
set_key org_reveal members
out=$(hup)
ok "$(printf '%s\n' "$out" | grep -q "reload: socket_mode changed, which takes a restart; the old value is kept"; echo $?)" \
    "socket_mode changed: logged as needing a restart"
ok "$(printf '%s\n' "$out" | grep -q "reloaded .*changed org_reveal;"; echo $?)" \
    "socket_mode changed: the rest is applied, and says so"
ok "$(! printf '%s\n' "$out" | grep -q "reloaded .*socket_mode"; echo $?)" \
    "socket_mode changed: not among what was applied"
is "$(reveal_org "$A")" 200 "socket_mode changed: org_reveal = members applies"
is "$(stat -c %a "$E2E_SOCK")" "$mode_before" "socket_mode changed: the socket keeps its mode"
cp "$E2E_DIR/good.conf" "$E2E_CONF"
hup >/dev/null

# --- a quota and a connection cap, live ---
set_key quota_user_secrets 1
set_key max_connections_per_uid 3
out=$(hup)
ok "$(printf '%s\n' "$out" | grep -q "reloaded .*changed max_connections_per_uid, quota_user_secrets;"; echo $?)" \
    "quota and cap: the reload line names both"
ok "$(printf '%s\n' "$out" | grep -q "fe_reload: at most 3 connections per uid"; echo $?)" \
    "max_connections_per_uid = 3: the front-end took it"
is "$(status_of "$(api "$A" POST /v1/secrets '{"name":"Q1","value":"v-Q1"}')")" 201 \
    "quota_user_secrets = 1: a first secret for $A"
snap=$(snapshot)
is_error "$(api "$A" POST /v1/secrets '{"name":"Q2","value":"v-Q2"}')" 403 \
    quota_exceeded "quota_user_secrets = 1 after SIGHUP: a second one is refused"
is "$(snapshot)" "$snap" "  and the store is unchanged"
cp "$E2E_DIR/good.conf" "$E2E_CONF"
hup >/dev/null
is "$(status_of "$(api "$A" POST /v1/secrets '{"name":"Q2","value":"v-Q2"}')")" 201 \
    "quota back to its default after SIGHUP: the second one is stored"

# --- the audit log moved away, as logrotate does ---
AUDIT=$E2E_DIR/state/audit.log
mv "$AUDIT" "$AUDIT.1"
n_old=$(wc -l <"$AUDIT.1")
hup >/dev/null
api "$C" POST '/v1/secrets/ORG_SECRET/reveal?orgWide=true' >/dev/null
ok "$([ -s "$AUDIT" ] && grep -q . "$AUDIT"; echo $?)" \
    "audit log moved away, SIGHUP: the next request writes to a new file at the configured path"
is "$(wc -l <"$AUDIT.1")" "$n_old" "  and nothing more to the moved file"
is "$(stat -c %a "$AUDIT")" 600 "  the new file is 0600"

# --- every line of the foreground log is stamped ---
stamp='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z '
is "$(grep -cvE "$stamp" "$LOG")" 0 \
    "every one of $(wc -l <"$LOG") foreground log lines starts with an ISO 8601 UTC time with ms"
ok "$(grep -qE "${stamp}secretd\[[0-9]+\]: secretd-frontend\[[0-9]+\]: " "$LOG"; echo $?)" \
    "the front-end's lines are stamped once, by the broker"

# --- the front-end killed from outside ---
fe=$(frontend_pid)
skip=$(wc -l <"$LOG")
# at once, or after a backoff: the front-end was killed above not long ago
RESTART_RE="starting a new front-end|restarting the front-end in"
kill -KILL "$fe"
end=$((SECONDS + 10))
until tail -n +"$((skip + 1))" "$LOG" | grep -q "front-end pid $fe killed" &&
    tail -n +"$((skip + 1))" "$LOG" | grep -qE "$RESTART_RE" ||
    [ "$SECONDS" -ge "$end" ]; do sleep 0.05; done
line=$(grep -n "front-end pid $fe killed" "$LOG" | head -n 1)
ok "$(printf '%s\n' "$line" | grep -q "killed by signal 9 (SIGKILL), not sent by the broker"; echo $?)" \
    "kill -9 of the front-end: logged as SIGKILL not sent by the broker"
echo "# ${line#*: }"
restart=$(grep -nE "$RESTART_RE" "$LOG" |
    awk -F: -v s="$skip" '$1 > s { print $1; exit }')
ok "$([ -n "$restart" ] && [ "${line%%:*}" -lt "$restart" ]; echo $?)" \
    "  before the restart line"
end=$((SECONDS + 10))
until [ "$(status_of "$(api "$A" GET /v1/whoami)")" = 200 ] || [ "$SECONDS" -ge "$end" ]; do
	sleep 0.05
done
is "$(reveal_org "$C")" 200 "a new front-end serves"
is "$(fingerprint)" "$new_fp" "  and presents the reloaded certificate"

# --- the runner ended from outside: SIGTERM, which the broker never sends it ---
run=$(pgrep -P "$SECRETD_PID" -f secretd-runner | head -n 1)
kill -TERM "$run"
end=$((SECONDS + 10))
until grep -q "runner pid $run " "$LOG" || [ "$SECONDS" -ge "$end" ]; do sleep 0.05; done
line=$(grep "runner pid $run " "$LOG" | head -n 1)
echo "# ${line#*]: }"
ok "$(printf '%s\n' "$line" | grep -qF "runner pid $run killed by signal 15 (SIGTERM), not sent by the broker"; echo $?)" \
    "the runner ended from outside: one line says how, and not by the broker"

secretd_finish reload

# --- secretd -n: every error at once ---
mkdir -m 0755 "$E2E_DIR/check"
conf=$E2E_DIR/check/secretd.conf
cat >"$conf" <<EOF
state_dir = state
org_reveal = everyone
socket_mode = 9999
frontend_user = e2e_no_such_user
admin_group = $E2E_ADMIN_GROUP
bogus = 1
max_tokens_per_user = 0
EOF
out=$("$SECRETD" -n -c "$conf" 2>&1); rc=$?
ok "$([ "$rc" -ne 0 ]; echo $?)" "secretd -n on a config with five errors: non-zero exit ($rc)"
is "$out" "$conf:2: org_reveal: bad value \"everyone\": expected admins or members
$conf:3: socket_mode: bad mode \"9999\": expected octal like 0666
$conf:6: unknown key \"bogus\"
$conf:7: max_tokens_per_user: bad value \"0\": expected a number from 1 to 1000000
$conf:4: frontend_user: no user \"e2e_no_such_user\" on this system
secretd: $conf: 5 errors" "secretd -n: every error, each FILE:LINE: message, the missing user last, then a count"
printf 'state_dir = state\nfrontend_user = secretd\nadmin_group = e2e-no-such-group\n' >"$conf"
out=$("$SECRETD" -n -c "$conf" 2>&1); rc=$?
ok "$([ "$rc" -ne 0 ] && printf '%s\n' "$out" | grep -qxF "$conf:3: admin_group: no group \"e2e-no-such-group\" on this system"; echo $?)" \
    "secretd -n: a missing admin_group names the key"
printf 'state_dir = state\nfrontend_user = secretd\nadmin_group = %s\nrunner_user = e2e-no-runner\n' \
    "$E2E_ADMIN_GROUP" >"$conf"
out=$("$SECRETD" -n -c "$conf" 2>&1); rc=$?
ok "$([ "$rc" -ne 0 ] && printf '%s\n' "$out" | grep -qxF "$conf:4: runner_user: no user \"e2e-no-runner\" on this system"; echo $?)" \
    "secretd -n: a missing runner_user names the key"
printf 'state_dir = state\nfrontend_user = secretd\nadmin_group = %s\n' \
    "$E2E_ADMIN_GROUP" >"$conf"
out=$("$SECRETD" -n -c "$conf" 2>&1); rc=$?
is "$rc $out" "0 configuration OK, 0 tools" "secretd -n: the same config with existing users is OK"

# --- no store ---
printf 'state_dir = nostore\nsocket = nostore.sock\n' >"$conf"
out=$("$SECRETD" -f -c "$conf" 2>&1); rc=$?
ok "$([ "$rc" -ne 0 ]; echo $?)" "secretd without a store exits non-zero ($rc)"
is "$(printf '%s\n' "$out" | wc -l)" 1 "  with one line"
ok "$(printf '%s\n' "$out" | grep -qF "no store in $E2E_DIR/check/nostore: run \"secretd init -c $conf\" first"; echo $?)" \
    "  that says to run secretd init: $out"
ok "$([ ! -e "$E2E_DIR/check/nostore.sock" ]; echo $?)" "  and binds nothing"

# --- a certificate and a key that are not a pair, at start ---
cat "$E2E_DIR/old.key" >"$E2E_DIR/state/tls.key"
t0=$SECONDS
out=$(timeout 60 "$SECRETD" -f -c "$E2E_CONF" 2>&1); rc=$?
ok "$([ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ $((SECONDS - t0)) -le 3 ]; echo $?)" \
    "a mismatched pair at start: secretd exits non-zero at once ($rc, $((SECONDS - t0)) s)"
ok "$(printf '%s\n' "$out" | grep -q "tls_key does not match tls_cert"; echo $?)" \
    "  saying why"
ok "$(! printf '%s\n' "$out" | grep -q "secretd-frontend"; echo $?)" \
    "  before any front-end is started"
cat "$E2E_DIR/new.key" >"$E2E_DIR/state/tls.key"

# --- --help and --version ---
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
for prog in secretd runtools; do
	bin=$top_builddir/$prog
	for o in --version -V; do
		out=$("$bin" "$o" 2>"$E2E_DIR/err"); rc=$?
		is "$rc $out $(wc -c <"$E2E_DIR/err")" "0 $prog $version 0" \
		    "$prog $o: \"$prog $version\" on stdout, exit 0"
	done
	for o in --help -h; do
		out=$("$bin" "$o" 2>"$E2E_DIR/err"); rc=$?
		ok "$([ "$rc" -eq 0 ] && [ ! -s "$E2E_DIR/err" ] &&
		    printf '%s\n' "$out" | head -n 1 | grep -q "^usage: $prog "; echo $?)" \
		    "$prog $o: usage on stdout, exit 0"
	done
	"$bin" --no-such-option >/dev/null 2>&1
	is "$?" 2 "$prog --no-such-option: exit 2"
done

done_testing
