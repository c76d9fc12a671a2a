#!/usr/bin/env bash
# The systemd units this build generates: systemd-analyze verify finds
# nothing to say, `security --offline` rates the service 1.5 or better,
# and the units name this build's paths and reload with SIGHUP.  The
# commands are pointed at the built secretd for verify (it checks that
# they exist); the manual pages are not installed yet, so it skips them.
: "${top_builddir:?}"
MAX_EXPOSURE=1.5

n=0 failed=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"
	else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "1..0 # SKIP systemd-analyze is not installed"
	exit 0
fi
B=$top_builddir
mk() { sed -n "s|^$1 = ||p" "$B/Makefile" | head -n 1; }
sbindir=$(mk sbindir); prefix=$(mk prefix); exec_prefix=$(mk exec_prefix)
sbindir=${sbindir//\$\{exec_prefix\}/$exec_prefix}
sbindir=${sbindir//\$\{prefix\}/$prefix}
localstatedir=$(mk localstatedir); localstatedir=${localstatedir//\$\{prefix\}/$prefix}
runstatedir=$(mk runstatedir); runstatedir=${runstatedir//\$\{localstatedir\}/$localstatedir}

TMP=$(mktemp -d /tmp/secretd-units.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
svc=$B/contrib/systemd/secretd.service
sock=$B/contrib/systemd/secretd.socket
sed "s|$sbindir/secretd|$B/secretd|g" "$svc" >"$TMP/secretd.service"
cp "$sock" "$TMP/secretd.socket"

grep -q "^ExecStart=$sbindir/secretd -f\$" "$svc"
ok $? "the service starts $sbindir/secretd"
grep -q "^ReadWritePaths=-$localstatedir/lib/secretd -$runstatedir/secretd\$" "$svc"
ok $? "the service writes only under $localstatedir/lib/secretd and $runstatedir/secretd"
grep -q "^ListenStream=$runstatedir/secretd/secretd.sock\$" "$sock"
ok $? "the socket is $runstatedir/secretd/secretd.sock"
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$svc"
ok $? "reload sends SIGHUP to the main process"

out=$(cd "$TMP" && systemd-analyze verify --man=no ./secretd.service \
    ./secretd.socket 2>&1)
rc=$?
[ $rc -eq 0 ] && [ -z "$out" ]
ok $? "systemd-analyze verify: no complaint"
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/#   /'

# A unit with a made-up directive must fail verify, so the check above
# can fail.
mkdir -p "$TMP/bad"
sed 's/^UMask=.*/&\nNoSuchHardening=yes/' "$TMP/secretd.service" \
    >"$TMP/bad/secretd.service"
cp "$TMP/secretd.socket" "$TMP/bad/"
out=$(cd "$TMP/bad" && systemd-analyze verify --man=no ./secretd.service 2>&1)
printf '%s\n' "$out" | grep -q NoSuchHardening
ok $? "verify does report an unknown directive"

score=$(systemd-analyze security --offline=true "$TMP/secretd.service" \
    2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "# exposure: ${score:-none}"
[ -n "$score" ] && awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'
ok $? "systemd-analyze security rates the service $score (at most $MAX_EXPOSURE)"

# Without the hardening the same analysis gives a worse score: it does
# measure this unit.
grep -v '^Protect\|^Private\|^Restrict\|^SystemCall\|^Capability' \
    "$TMP/secretd.service" >"$TMP/bad/soft.service"
soft=$(systemd-analyze security --offline=true "$TMP/bad/soft.service" \
    2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
[ -n "$soft" ] && awk -v s="$soft" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s > m) }'
ok $? "the unit without its hardening rates ${soft:-none}, worse"

echo "1..$n"
[ "$failed" -eq 0 ]
