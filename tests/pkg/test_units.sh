#!/usr/bin/env bash
# The systemd units this build generates: systemd-analyze verify finds
# nothing to say, `security --offline` rates the service 1.5 or better,
# and the units name this build's paths and reload with SIGHUP.  The
# commands are pointed at the built secretd for verify (it checks that
# they exist); the manual pages are not installed yet, so it skips them.
: "${top_builddir:?}" "${top_srcdir:?}"
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

# The system call filter, applied line by line as systemd does (an allow
# list, then ~ lines take out of it and later lines add back), lets
# through every call the daemon makes: those strace -f saw the broker,
# the front-end, the runner, the launcher and the exec tools make in a
# run of tests/e2e/test_tools.sh, and landlock_add_rule.
NEEDED="accept4 access arch_prctl bind brk chdir chmod chroot
    clock_nanosleep clone clone3 close close_range connect dup2
    epoll_create1 epoll_ctl epoll_wait execve exit exit_group fallocate
    fchmod fcntl fdatasync flock fstatfs fsync ftruncate futex getcwd
    getdents64 getegid geteuid getgid getpeername getpgid getpgrp getpid
    getppid getrandom getresgid getresuid getsid getsockname getsockopt
    gettid getuid ioctl kill landlock_add_rule landlock_create_ruleset
    landlock_restrict_self listen lseek madvise mkdir mlock mmap
    mprotect munlock munmap newfstatat openat pidfd_open pipe2 poll
    prctl pread64 prlimit64 pwrite64 read readlink readlinkat readv
    recvfrom recvmsg rseq rt_sigaction rt_sigprocmask rt_sigreturn
    rt_sigsuspend seccomp sendmmsg sendmsg sendto set_robust_list
    set_tid_address setgid setgroups setresgid setresuid setsid
    setsockopt setuid shutdown signalfd4 socket socketpair statfs
    sysinfo umask uname unlink wait4 write writev"
expand() {
	systemd-analyze syscall-filter "$1" 2>/dev/null |
	    awk 'NR > 1 && $1 !~ /^#/ && NF { print $1 }' |
	    while read -r s; do
		case $s in @*) expand "$s" ;; *) echo "$s" ;; esac
	    done
}
: >"$TMP/allowed"
while IFS= read -r line; do
	list=${line#SystemCallFilter=}
	deny=0
	case $list in "~"*) deny=1; list=${list#"~"} ;; esac
	for t in $list; do
		case $t in @*) expand "$t" ;; *) echo "$t" ;; esac
	done | sort -u >"$TMP/these"
	if [ $deny -eq 1 ]; then
		comm -23 "$TMP/allowed" "$TMP/these" >"$TMP/next"
	else
		sort -u "$TMP/allowed" "$TMP/these" >"$TMP/next"
	fi
	mv "$TMP/next" "$TMP/allowed"
done < <(grep '^SystemCallFilter=' "$TMP/secretd.service")
missing=$(printf '%s\n' $NEEDED | sort -u | comm -23 - "$TMP/allowed" | paste -sd' ')
[ -z "$missing" ] && [ -s "$TMP/allowed" ]
ok $? "the unit's system call filter allows every call the daemon makes${missing:+ (refused: $missing)}"
# ...and refuses what none of them needs.
refused=$(printf '%s\n' mount ptrace setpriority sched_setaffinity kexec_load | sort |
    comm -12 - "$TMP/allowed" | paste -sd' ')
[ -z "$refused" ]
ok $? "it refuses mount, ptrace, setpriority, sched_setaffinity and kexec_load${refused:+ (allowed: $refused)}"

# The shipped network drop-in, merged into the unit as systemd would
# read it, is valid too; its exposure is reported, not bounded.
mkdir -p "$TMP/net"
grep -v '^#\|^\[Service\]$\|^$' "$top_srcdir/contrib/systemd/network.conf" \
    >"$TMP/net/dropin"
awk 'FNR == NR { d = d $0 "\n"; next } /^\[Install\]/ { printf "%s", d } { print }' \
    "$TMP/net/dropin" "$TMP/secretd.service" >"$TMP/net/secretd.service"
cp "$TMP/secretd.socket" "$TMP/net/"
out=$(cd "$TMP/net" && systemd-analyze verify --man=no ./secretd.service 2>&1)
[ $? -eq 0 ] && [ -z "$out" ] && grep -q '^PrivateNetwork=no$' "$TMP/net/secretd.service"
ok $? "the unit with network.conf passes verify"
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/#   /'
net=$(systemd-analyze security --offline=true "$TMP/net/secretd.service" \
    2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "# exposure with network.conf: ${net:-none}"

echo "1..$n"
[ "$failed" -eq 0 ]
