#!/usr/bin/env bash
# The Debian packages, end to end: build them from a clean copy of the
# tree (the committed tree plus uncommitted changes to tracked files),
# check them with lintian, install them, find the users and every file at
# the paths configure gave, check the installed config and units, run the
# installed daemon as root (systemd is not PID 1 here) with runtools as a
# local user against it, rotate its audit log, run it as the unit does
# (a network namespace of its own, sockets passed in), purge the packages
# and find only the state folder left, as documented.  Reinstalling keeps
# that state.  Needs root, dpkg-buildpackage, debhelper and lintian
# (contrib/install-deps.sh --packaging); skipped with the reason without.
: "${top_srcdir:?}"
set -u
MAX_EXPOSURE=1.5
SOCK=/run/secretd/secretd.sock
STATE=/var/lib/secretd
CLIENT=secretd-pkgtest

n=0 failed=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"
	else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
is() {
	if [ "$1" = "$2" ]; then ok 0 "$3"
	else ok 1 "$3"; echo "#   got:  $1"; echo "#   want: $2"; fi
}
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
bail() { echo "Bail out! $1"; exit 1; }
comment() { sed 's/^/#   /'; }

[ "$(id -u)" -eq 0 ] || skip_all "needs root: it installs and purges packages"
for c in dpkg-buildpackage dh lintian apt-get git; do
	command -v "$c" >/dev/null 2>&1 ||
	    skip_all "$c is not installed (contrib/install-deps.sh --packaging)"
done
git -C "$top_srcdir" rev-parse --git-dir >/dev/null 2>&1 ||
    skip_all "$top_srcdir is not a git checkout to copy the tree from"
for p in secretd runtools libruntools-dev; do
	dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null |
	    grep -q '^installed$' &&
	    skip_all "the package $p is installed already; this test would purge it"
done
for p in "$STATE" /etc/secretd; do
	[ -e "$p" ] && skip_all "$p exists already; this test would take it over"
done

# What the test made goes again; users that were there stay.
pre_users=
for u in secretd secretd-runner; do
	getent passwd "$u" >/dev/null && pre_users="$pre_users $u"
done
pre_admin=0
getent group secretd-admin >/dev/null && pre_admin=1
TMP=$(mktemp -d /tmp/secretd-pkg.XXXXXX)
chmod 0755 "$TMP"
DAEMON_PID=
cleanup() {
	[ -n "$DAEMON_PID" ] && kill -TERM "$DAEMON_PID" 2>/dev/null &&
	    wait "$DAEMON_PID" 2>/dev/null
	apt-get purge -y -q secretd runtools libruntools-dev >/dev/null 2>&1
	rm -rf "$STATE" /run/secretd /etc/secretd
	getent passwd "$CLIENT" >/dev/null && userdel "$CLIENT"
	for u in secretd secretd-runner; do
		case " $pre_users " in *" $u "*) ;; *)
			getent passwd "$u" >/dev/null && userdel "$u" 2>/dev/null ;;
		esac
	done
	[ "$pre_admin" -eq 1 ] || groupdel secretd-admin 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# --- build from a clean copy ------------------------------------------
rev=$(git -C "$top_srcdir" stash create 2>/dev/null)
git -C "$top_srcdir" archive --prefix=secretd/ "${rev:-HEAD}" |
    tar -x -C "$TMP" || bail "git archive failed"
start=$SECONDS
(cd "$TMP/secretd" && DEB_BUILD_OPTIONS='nocheck parallel=2' \
    dpkg-buildpackage -us -uc -b) >"$TMP/build.log" 2>&1
rc=$?
echo "# dpkg-buildpackage took $((SECONDS - start)) s"
[ $rc -eq 0 ] || { tail -n 30 "$TMP/build.log" | comment; }
ok $rc "dpkg-buildpackage -us -uc -b builds from a clean copy"
[ $rc -eq 0 ] || bail "no packages to test"
debs=()
for p in secretd runtools libruntools-dev; do
	f=$(ls "$TMP"/${p}_*.deb 2>/dev/null | head -n 1)
	[ -n "$f" ]
	ok $? "package $p is built"
	[ -n "$f" ] && debs+=("$f")
done
dpkg-deb -f "$TMP"/secretd_*.deb Depends | grep -q 'systemd-sysusers'
ok $? "secretd depends on a sysusers implementation"

# --- lintian ------------------------------------------------------------
lintian --display-info "$TMP"/secretd_*.changes >"$TMP/lintian.log" 2>&1
grep -q '^[EW]: ' "$TMP/lintian.log"
rc=$?
[ $rc -eq 1 ] || grep '^[EW]: ' "$TMP/lintian.log" | comment
is $rc 1 "lintian: no error and no warning"
grep '^[IP]: ' "$TMP/lintian.log" | comment
# The same check on a package stripped of its manual page must complain,
# so the check above can fail.
mkdir "$TMP/bad"
dpkg-deb -R "$TMP"/secretd_*.deb "$TMP/bad/root"
rm "$TMP/bad/root/usr/share/man/man8/secretd.8.gz"
sed -i '/man8\/secretd\.8\.gz/d' "$TMP/bad/root/DEBIAN/md5sums"
dpkg-deb --root-owner-group -b "$TMP/bad/root" "$TMP/bad/secretd.deb" \
    >/dev/null 2>&1
lintian "$TMP/bad/secretd.deb" 2>&1 | grep -q '^W: secretd: no-manual-page'
ok $? "lintian does warn about a package without its manual page"

# --- install ------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${debs[@]}" >"$TMP/install.log" 2>&1
rc=$?
[ $rc -eq 0 ] || tail -n 30 "$TMP/install.log" | comment
ok $rc "apt-get install ./secretd ./runtools ./libruntools-dev"
[ $rc -eq 0 ] || bail "not installed"
grep -q 'secretd: created the state folder and a new root key' \
    "$TMP/install.log"
ok $? "the first install ran secretd init"

for u in secretd secretd-runner; do
	is "$(getent passwd "$u" | cut -d: -f7)" /usr/sbin/nologin \
	    "system user $u exists and cannot log in"
done
getent group secretd-admin >/dev/null
ok $? "group secretd-admin exists"

# The paths of ./configure --prefix=/usr --sysconfdir=/etc
# --localstatedir=/var, with Debian's unit folder and multiarch libdir.
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for f in /usr/sbin/secretd /usr/libexec/secretd-frontend \
    /usr/libexec/secretd-runner /usr/bin/runtools; do
	[ -x "$f" ]
	ok $? "$f is installed"
done
for f in /etc/secretd/secretd.conf /etc/logrotate.d/secretd \
    /lib/systemd/system/secretd.service /lib/systemd/system/secretd.socket \
    /usr/lib/sysusers.d/secretd.conf /usr/lib/tmpfiles.d/secretd.conf \
    /usr/share/doc/secretd/examples/tools.d/custom-crm.tool \
    /usr/share/doc/secretd/examples/network.conf \
    /usr/share/bash-completion/completions/runtools \
    /usr/share/zsh/vendor-completions/_runtools \
    /usr/share/fish/vendor_completions.d/runtools.fish \
    /usr/include/runtools.h /usr/lib/$ma/libruntools.a \
    /usr/lib/$ma/pkgconfig/runtools.pc; do
	[ -f "$f" ]
	ok $? "$f is installed"
done
[ -d /etc/secretd/tools.d ]
ok $? "/etc/secretd/tools.d is there for tools"
for m in man1/runtools.1 man5/secretd.conf.5 man5/secretd.tools.5 \
    man8/secretd.8 man8/secretd-frontend.8 man8/secretd-runner.8; do
	dpkg -L secretd runtools 2>/dev/null | grep -q "/usr/share/man/$m.gz\$"
	ok $? "manual page $m is packaged"
done
dpkg-query -W -f='${Conffiles}\n' secretd | grep -q ' */etc/secretd/secretd.conf '
ok $? "/etc/secretd/secretd.conf is a conffile"
is "$(stat -c '%a %U' "$STATE" 2>&1)" "700 root" "$STATE is 0700 root"
is "$(stat -c '%a %U' "$STATE/root.key" 2>&1)" "400 root" "the root key is 0400 root"
is "$(stat -c '%a' /run/secretd 2>&1)" 755 "tmpfiles.d made /run/secretd"

out=$(secretd -n 2>&1)
rc=$?
[ $rc -eq 0 ] || printf '%s\n' "$out" | comment
ok $rc "secretd -n accepts the installed configuration"
out=$(secretd -n -v 2>&1)
printf '%s\n' "$out" | grep -q "^state_dir = $STATE\$" &&
    printf '%s\n' "$out" | grep -q "^socket = $SOCK\$"
ok $? "the installed secretd defaults to $STATE and $SOCK"

# A program built against libruntools-dev links.
cat >"$TMP/rt.c" <<'EOF'
#include <runtools.h>
int main(void) { return 0; }
EOF
cc -o "$TMP/rt" "$TMP/rt.c" $(pkg-config --cflags --libs runtools) \
    >"$TMP/cc.log" 2>&1
rc=$?
[ $rc -eq 0 ] || comment <"$TMP/cc.log"
ok $rc "a program builds against libruntools with pkg-config"

# --- the installed units -------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
	manopt=
	# Images that leave manual pages out (dpkg path-exclude) cannot show
	# the Documentation= pages.
	[ -f /usr/share/man/man8/secretd.8.gz ] || manopt=--man=no
	out=$(systemd-analyze verify $manopt /lib/systemd/system/secretd.service \
	    /lib/systemd/system/secretd.socket 2>&1)
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" | comment
	[ $rc -eq 0 ] && [ -z "$out" ]
	ok $? "systemd-analyze verify: the installed units are clean${manopt:+ ($manopt)}"
	score=$(systemd-analyze security --offline=true \
	    /lib/systemd/system/secretd.service 2>/dev/null |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	echo "# exposure of the installed service: ${score:-none}"
	[ -n "$score" ] &&
	    awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'
	ok $? "systemd-analyze security rates the installed service ${score:-none} (at most $MAX_EXPOSURE)"
else
	skip "systemd-analyze is not installed"
	skip "systemd-analyze is not installed"
fi

# --- the installed daemon, with runtools as a local user --------------------
getent passwd "$CLIENT" >/dev/null ||
    useradd --no-create-home --shell /bin/sh "$CLIENT"
as_client() { su -s /bin/sh "$CLIENT" -c "cd / && $1"; }
/usr/sbin/secretd -f >"$TMP/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do
	[ -S "$SOCK" ] && curl -s -m 1 -o /dev/null --unix-socket "$SOCK" \
	    http://localhost/v1/health && break
	kill -0 "$DAEMON_PID" 2>/dev/null || break
	sleep 0.1
done
curl -s -m 2 -o /dev/null --unix-socket "$SOCK" http://localhost/v1/health
rc=$?
[ $rc -eq 0 ] || comment <"$TMP/daemon.log"
ok $rc "the installed secretd -f serves on $SOCK"

out=$(as_client "runtools --url unix:$SOCK secret set PKG_TEST_KEY pkg-value-1234" 2>&1)
ok $? "runtools --url unix:$SOCK secret set, as $CLIENT ($out)"
is "$(as_client 'runtools secret get PKG_TEST_KEY --reveal' 2>&1)" \
    pkg-value-1234 "runtools on its default socket reads the value back"
as_client "runtools --url unix:$SOCK secret set 'bad name!' x" >/dev/null 2>&1
rc=$?
[ $rc -ne 0 ]
ok $? "a bad name is refused (exit $rc)"
as_client 'runtools secret get NO_SUCH_KEY --reveal' >/dev/null 2>&1
is $? 3 "a missing secret exits 3"
is "$(as_client 'runtools secret get PKG_TEST_KEY --reveal' 2>&1)" \
    pkg-value-1234 "the refused write left the value as it was"
grep -q "$CLIENT" "$STATE/audit.log" 2>/dev/null &&
    ! grep -q pkg-value-1234 "$STATE/audit.log"
ok $? "the audit log names the caller and holds no value"

if command -v logrotate >/dev/null 2>&1; then
	logrotate -f /etc/logrotate.d/secretd >"$TMP/logrotate.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || comment <"$TMP/logrotate.log"
	ok $rc "logrotate rotates the audit log"
	[ -f "$STATE/audit.log.1" ] && [ -f "$STATE/audit.log" ]
	ok $? "audit.log.1 is the old log, audit.log a new one"
	sleep 0.5
	kill -0 "$DAEMON_PID" 2>/dev/null &&
	    is "$(as_client 'runtools secret get PKG_TEST_KEY --reveal' 2>&1)" \
	    pkg-value-1234 "after the SIGHUP of postrotate the daemon still serves" ||
	    ok 1 "after the SIGHUP of postrotate the daemon still serves"
else
	skip "logrotate is not installed"
	skip "logrotate is not installed"
	skip "logrotate is not installed"
fi

kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
is $? 0 "SIGTERM: the installed daemon exits 0"
DAEMON_PID=

# --- as the unit runs it: no network of its own, sockets passed in ---------
# The unit has PrivateNetwork=yes and takes its sockets from
# secretd.socket, a TLS one included when the admin adds it.  Without
# systemd as PID 1, systemd-socket-activate passes the two sockets, made
# in the host's network, to the installed daemon in a network namespace
# of its own; both must answer.
if command -v systemd-socket-activate >/dev/null 2>&1 &&
    unshare --net true 2>/dev/null; then
	while :; do
		port=$((20000 + RANDOM % 12000))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
	done
	rm -f "$SOCK"
	systemd-socket-activate -l "$SOCK" -l "127.0.0.1:$port" \
	    unshare --net -- /usr/sbin/secretd -f >"$TMP/activate.log" 2>&1 &
	DAEMON_PID=$!
	# systemd-socket-activate makes the socket file after it starts: a
	# connection before that finds no file, one after it waits in the
	# listen queue until the daemon accepts.
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && break
		sleep 0.1
	done
	is "$(curl -s -m 10 --unix-socket "$SOCK" http://localhost/v1/health)" \
	    '{"status":"ok"}' "in a network namespace of its own, the passed unix socket answers"
	is "$(curl -s -m 10 --cacert "$STATE/tls.crt" "https://127.0.0.1:$port/v1/health")" \
	    '{"status":"ok"}' "...and so does the passed TLS socket, on 127.0.0.1:$port"
	grep -q 'using 2 socket(s) from systemd' "$TMP/activate.log"
	ok $? "the daemon took both sockets from LISTEN_FDS"
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID"
	is $? 0 "SIGTERM: it exits 0"
	DAEMON_PID=
	rm -f "$SOCK"
else
	for _ in 1 2 3 4; do
		skip "systemd-socket-activate or network namespaces are missing"
	done
fi

# --- purge ----------------------------------------------------------------
uids=$(for u in secretd secretd-runner; do id -u "$u"; done | paste -sd' ')
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q secretd runtools \
    libruntools-dev >"$TMP/purge.log" 2>&1
rc=$?
[ $rc -eq 0 ] || tail -n 20 "$TMP/purge.log" | comment
ok $rc "apt-get purge of the three packages"
left=
for f in /usr/sbin/secretd /usr/libexec/secretd-frontend /usr/bin/runtools \
    /etc/secretd /etc/logrotate.d/secretd /lib/systemd/system/secretd.service \
    /usr/lib/sysusers.d/secretd.conf /usr/lib/tmpfiles.d/secretd.conf \
    /usr/include/runtools.h /usr/share/doc/secretd \
    /etc/systemd/system/multi-user.target.wants/secretd.service \
    /etc/systemd/system/sockets.target.wants/secretd.socket; do
	[ -e "$f" ] && left="$left $f"
done
is "${left:-none}" none "purge leaves no file of the packages"
[ -f "$STATE/root.key" ] && [ -f "$STATE/data.mdb" ]
ok $? "purge keeps the store and the root key in $STATE, as documented"
grep -q "kept in $STATE" "$TMP/purge.log"
ok $? "purge says where the store was kept"
owned=
for uid in $uids; do
	owned="$owned$(find /etc /var /run /usr /srv /opt /home -xdev \
	    -uid "$uid" 2>/dev/null)"
done
is "${owned:-none}" none "no file is left owned by the secretd users"

# --- a new install keeps the state ----------------------------------------
key=$(sha256sum <"$STATE/root.key")
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${debs[@]}" >"$TMP/install2.log" 2>&1
rc=$?
ok $rc "installing again after the purge"
grep -q 'secretd: kept the existing state' "$TMP/install2.log" &&
    [ "$(sha256sum <"$STATE/root.key")" = "$key" ]
ok $? "the new install keeps the existing root key"

echo "1..$n"
[ "$failed" -eq 0 ]
