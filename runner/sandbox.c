/*
 * The runner's confinement.  The broker starts it already under its own
 * uid with no_new_privs; here it checks that, closes what it must not
 * hold, and loads three seccomp filters: the runner proper's allow-list,
 * the launcher's deny-list (which every exec tool inherits), and a small
 * one stacked on each tool that keeps it in its process group.  Each
 * tool also gets a Landlock domain of its own, which keeps tools of the
 * same uid apart.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <seccomp.h>

#include "log.h"
#include "runner.h"

static int
sock_type(int fd)
{
	socklen_t len = sizeof(int);
	int v;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == -1)
		return -1;
	return v;
}

static void
limit(int res, rlim_t v, const char *name)
{
	struct rlimit rl = { v, v };

	if (setrlimit(res, &rl) == -1)
		fatal("%s: setrlimit %s", __func__, name);
}

/*
 * stdin on /dev/null, stdout and stderr kept (the broker's log), the
 * channel on fd 3, nothing else; no core dumps, not dumpable (so other
 * processes of our uid, tools included, cannot read our memory through
 * /proc), no_new_privs whatever the broker did.
 */
void
sandbox_start(void)
{
	int fd;

	if ((fd = open("/dev/null", O_RDWR)) == -1)
		fatal("%s: /dev/null", __func__);
	if (fd != STDIN_FILENO && dup2(fd, STDIN_FILENO) == -1)
		fatal("%s: dup2", __func__);
	if (fcntl(STDOUT_FILENO, F_GETFD) == -1)
		dup2(fd, STDOUT_FILENO);
	if (fcntl(STDERR_FILENO, F_GETFD) == -1)
		dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO && fd != RUNNER_IPC_FD)
		close(fd);
	if (sock_type(RUNNER_IPC_FD) != SOCK_SEQPACKET)
		fatalx("%s: fd %d is not the broker channel", __func__,
		    RUNNER_IPC_FD);
	closefrom(RUNNER_IPC_FD + 1);
	if (fcntl(RUNNER_IPC_FD, F_SETFD, FD_CLOEXEC) == -1)
		fatal("%s: FD_CLOEXEC", __func__);
	limit(RLIMIT_CORE, 0, "RLIMIT_CORE");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("%s: PR_SET_DUMPABLE", __func__);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("%s: PR_SET_NO_NEW_PRIVS", __func__);
}

/* Development only: say which call the filter refused, then go on. */
static void
sigsys_handler(int sig, siginfo_t *si, void *ctx)
{
	char msg[64] = "secretd-runner: seccomp refused syscall ";
	char num[12];
	size_t len = strlen(msg), i = sizeof(num);
	unsigned int n = (unsigned int)si->si_syscall;

	do {
		num[--i] = '0' + n % 10;
		n /= 10;
	} while (n > 0 && i > 0);
	memcpy(msg + len, num + i, sizeof(num) - i);
	len += sizeof(num) - i;
	msg[len++] = '\n';
	if (write(STDERR_FILENO, msg, len) == -1)
		return;
}

static void
rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned int nargs,
    const struct scmp_arg_cmp *args)
{
	int rc;

	if ((rc = seccomp_rule_add_array(ctx, action, nr, nargs, args)) < 0)
		fatalx("seccomp: rule for syscall %d: %s", nr, strerror(-rc));
}

static void
rules(scmp_filter_ctx ctx, uint32_t action, const int *nr, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		rule(ctx, action, nr[i], 0, NULL);
}

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const int runner_allow[] = {
	/* the channel, the launcher, pipes, sockets once open */
	SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(write),
	SCMP_SYS(writev), SCMP_SYS(close), SCMP_SYS(lseek),
	SCMP_SYS(fstat), SCMP_SYS(statx), SCMP_SYS(fcntl),
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(sendto),
	SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg), SCMP_SYS(connect),
	SCMP_SYS(bind), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(shutdown),
	SCMP_SYS(ppoll),
	/* memory (mmap and mprotect below), threads, time, randomness */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(mlock), SCMP_SYS(munlock), SCMP_SYS(futex),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(exit),
	SCMP_SYS(exit_group), SCMP_SYS(gettid), SCMP_SYS(getpid),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(sched_yield),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(getrandom),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(uname), SCMP_SYS(restart_syscall),
#ifdef __NR_newfstatat
	SCMP_SYS(newfstatat),
#endif
#ifdef __NR_poll
	SCMP_SYS(poll),
#endif
};

/* What AddressSanitizer and UBSan need to run threads and report. */
static const int runner_allow_sanitizer[] = {
	SCMP_SYS(sigaltstack), SCMP_SYS(prctl), SCMP_SYS(rt_sigaction),
	SCMP_SYS(tgkill), SCMP_SYS(readlinkat), SCMP_SYS(prlimit64),
#ifdef __NR_getrlimit
	SCMP_SYS(getrlimit),
#endif
#ifdef __NR_readlink
	SCMP_SYS(readlink),
#endif
};

static void
allow1(scmp_filter_ctx ctx, int nr, struct scmp_arg_cmp a)
{
	rule(ctx, SCMP_ACT_ALLOW, nr, 1, &a);
}

static void
allow2(scmp_filter_ctx ctx, int nr, struct scmp_arg_cmp a,
    struct scmp_arg_cmp b)
{
	struct scmp_arg_cmp args[2] = { a, b };

	rule(ctx, SCMP_ACT_ALLOW, nr, 2, args);
}

static void
runner_rules(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp noexec_mmap =
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	struct scmp_arg_cmp rdonly = SCMP_A2(SCMP_CMP_MASKED_EQ,
	    O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | O_TMPFILE, O_RDONLY);

	rules(ctx, SCMP_ACT_ALLOW, runner_allow, NELEM(runner_allow));
	allow1(ctx, SCMP_SYS(mmap), noexec_mmap);
	allow1(ctx, SCMP_SYS(mprotect), noexec_mmap);
	/* CA files, the resolver's and OpenSSL's configuration: read. */
	allow1(ctx, SCMP_SYS(openat), rdonly);
	/* Upstream connections and name lookups only. */
	allow1(ctx, SCMP_SYS(socket),
	    SCMP_A0(SCMP_CMP_EQ, AF_INET));
	allow1(ctx, SCMP_SYS(socket),
	    SCMP_A0(SCMP_CMP_EQ, AF_INET6));
	allow2(ctx, SCMP_SYS(socket),
	    SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
	    SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE));
	/* Other local sockets are refused, so glibc skips nscd. */
	rule(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
	    (struct scmp_arg_cmp[]){ SCMP_A0(SCMP_CMP_EQ, AF_UNIX) });
	/* Each exec tool's socket to the launcher; libcurl's wake-ups. */
	allow1(ctx, SCMP_SYS(socketpair),
	    SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* Threads, never processes: clone3 hides its flags, so glibc is
	 * told it does not exist and falls back to clone. */
	allow1(ctx, SCMP_SYS(clone),
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL);
#ifdef __SANITIZE_ADDRESS__
	rules(ctx, SCMP_ACT_ALLOW, runner_allow_sanitizer,
	    NELEM(runner_allow_sanitizer));
#else
	(void)runner_allow_sanitizer;
#endif
}

static scmp_filter_ctx
filter_new(uint32_t def)
{
	uint32_t arch = seccomp_arch_native();
	scmp_filter_ctx ctx;

	if (arch != SCMP_ARCH_X86_64 && arch != SCMP_ARCH_AARCH64)
		fatalx("seccomp: no filter for this architecture (0x%x)",
		    arch);
	if ((ctx = seccomp_init(def)) == NULL)
		fatalx("seccomp_init");
	return ctx;
}

static void
filter_load(scmp_filter_ctx ctx)
{
	int rc;

	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("seccomp_load: %s", strerror(-rc));
	seccomp_release(ctx);
}

/*
 * pledge("stdio rpath inet dns unix-pair thread"): read and write the
 * channel, the launcher's socket and pipes; make TCP connections and name
 * lookups (UDP, netlink route queries); open files read-only (CA files,
 * resolver and OpenSSL configuration); make socketpairs to hand exec
 * tools to the launcher; start threads; allocate memory that is never
 * executable; read the clock and the kernel's random generator.  No
 * fork, no exec, no writing a file, no other kind of socket, no ptrace,
 * nothing else.  A refused call kills the process (debug: logged).
 */
void
sandbox_runner(int debug)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;

	if (debug) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sigsys_handler;
		sa.sa_flags = SA_SIGINFO;
		if (sigaction(SIGSYS, &sa, NULL) == -1)
			fatal("%s: sigaction", __func__);
		log_warnx("%s: debug: refused syscalls are logged, not fatal",
		    __func__);
	}
	ctx = filter_new(debug ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS);
	runner_rules(ctx);
	filter_load(ctx);
}

/* What no tool may do: the kernel's attack surface and other processes. */
static const int launcher_deny[] = {
	SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
	SCMP_SYS(process_vm_writev), SCMP_SYS(pidfd_getfd), SCMP_SYS(kcmp),
	SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root),
	SCMP_SYS(chroot), SCMP_SYS(move_mount), SCMP_SYS(open_tree),
	SCMP_SYS(fsopen), SCMP_SYS(fsconfig), SCMP_SYS(fsmount),
	SCMP_SYS(fspick), SCMP_SYS(mount_setattr), SCMP_SYS(unshare),
	SCMP_SYS(setns), SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load),
	SCMP_SYS(reboot), SCMP_SYS(init_module), SCMP_SYS(finit_module),
	SCMP_SYS(delete_module), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
	SCMP_SYS(userfaultfd), SCMP_SYS(keyctl), SCMP_SYS(add_key),
	SCMP_SYS(request_key), SCMP_SYS(swapon), SCMP_SYS(swapoff),
	SCMP_SYS(acct), SCMP_SYS(quotactl), SCMP_SYS(syslog),
	SCMP_SYS(settimeofday), SCMP_SYS(clock_settime),
	SCMP_SYS(clock_adjtime), SCMP_SYS(adjtimex), SCMP_SYS(sethostname),
	SCMP_SYS(setdomainname), SCMP_SYS(open_by_handle_at),
	SCMP_SYS(name_to_handle_at), SCMP_SYS(lookup_dcookie),
	SCMP_SYS(vhangup), SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
	SCMP_SYS(io_uring_register), SCMP_SYS(fanotify_init),
#ifdef __NR_iopl
	SCMP_SYS(iopl),
#endif
#ifdef __NR_ioperm
	SCMP_SYS(ioperm),
#endif
#ifdef __NR_modify_ldt
	SCMP_SYS(modify_ldt),
#endif
#ifdef __NR_uselib
	SCMP_SYS(uselib),
#endif
};

/* Calls that name a process to signal (or to get a pidfd for). */
static const int signal_calls[] = {
	SCMP_SYS(kill), SCMP_SYS(tkill), SCMP_SYS(tgkill),
	SCMP_SYS(rt_sigqueueinfo), SCMP_SYS(rt_tgsigqueueinfo),
	SCMP_SYS(pidfd_open)
};

/* No signal to pid (their first argument, an int). */
static void
deny_signals_to(scmp_filter_ctx ctx, pid_t pid)
{
	size_t i;

	for (i = 0; i < NELEM(signal_calls); i++)
		rule(ctx, SCMP_ACT_ERRNO(EPERM), signal_calls[i], 1,
		    (struct scmp_arg_cmp[]){ SCMP_A0(SCMP_CMP_MASKED_EQ,
		    0xffffffffULL, (uint32_t)pid) });
}

/*
 * The launcher and every exec tool: anything but the calls above, which
 * fail with EPERM.  New namespaces are refused at clone too, and clone3
 * (whose flags a filter cannot see) answers ENOSYS so libc uses clone.
 * Turning address randomisation off, and pushing input into a terminal,
 * are refused as well.  Tools run as the runner's user, so they could
 * signal it: kill(-1), and signals to the runner, the launcher and their
 * process group, are refused.  Signals to another tool, or to a runner
 * thread by its id, are refused by each tool's Landlock domain (kernels
 * with Landlock ABI 6 or later; before, at worst the runner dies and is
 * restarted).
 */
void
sandbox_launcher(pid_t runner)
{
	static const unsigned long ns_flags[] = { CLONE_NEWNS, CLONE_NEWUTS,
	    CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
	    CLONE_NEWCGROUP };
	scmp_filter_ctx ctx;
	size_t i;

	ctx = filter_new(SCMP_ACT_ALLOW);
	rules(ctx, SCMP_ACT_ERRNO(EPERM), launcher_deny, NELEM(launcher_deny));
	for (i = 0; i < NELEM(ns_flags); i++)
		rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
		    (struct scmp_arg_cmp[]){ SCMP_A0(SCMP_CMP_MASKED_EQ,
		    ns_flags[i], ns_flags[i]) });
	rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL);
	rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
	    (struct scmp_arg_cmp[]){ SCMP_A0(SCMP_CMP_MASKED_EQ,
	    ADDR_NO_RANDOMIZE, ADDR_NO_RANDOMIZE) });
	rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
	    (struct scmp_arg_cmp[]){ SCMP_A1(SCMP_CMP_EQ, TIOCSTI) });
	rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
	    (struct scmp_arg_cmp[]){ SCMP_A1(SCMP_CMP_EQ, TIOCLINUX) });
	deny_signals_to(ctx, runner);
	deny_signals_to(ctx, getpid());
	rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(kill), 1,
	    (struct scmp_arg_cmp[]){ SCMP_A0(SCMP_CMP_MASKED_EQ,
	    0xffffffffULL, (uint32_t)-1) });
	rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(kill), 1,
	    (struct scmp_arg_cmp[]){ SCMP_A0(SCMP_CMP_MASKED_EQ,
	    0xffffffffULL, (uint32_t)-getpgrp()) });
	filter_load(ctx);
}

/*
 * The filter stacked on each tool after its setsid(): it may not leave
 * its session or process group, so killing the group at the timeout or
 * at its exit reaches everything it started, nor signal its supervisor
 * to escape that.  Built by the supervisor before it forks, as BPF, so
 * the child only has to hand it to prctl().
 */
int
sandbox_tool_filter(pid_t supervisor, void **progp, size_t *lenp)
{
	scmp_filter_ctx ctx;
	uint8_t *prog = NULL, *np;
	size_t len = 0, cap = 0;
	ssize_t n;
	int p[2], rc = -1;

	ctx = filter_new(SCMP_ACT_ALLOW);
	rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setsid), 0, NULL);
	rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setpgid), 0, NULL);
	deny_signals_to(ctx, supervisor);
	if (pipe2(p, O_CLOEXEC) == -1)
		goto done;
	if (seccomp_export_bpf(ctx, p[1]) < 0) {
		close(p[0]);
		close(p[1]);
		goto done;
	}
	close(p[1]);
	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 4096 : cap * 2;
			if ((np = realloc(prog, cap)) == NULL)
				break;
			prog = np;
		}
		if ((n = read(p[0], prog + len, cap - len)) <= 0) {
			rc = n == 0 && len > 0 &&
			    len % sizeof(struct sock_filter) == 0 ? 0 : -1;
			break;
		}
		len += (size_t)n;
	}
	close(p[0]);
done:
	seccomp_release(ctx);
	if (rc == 0) {
		*progp = prog;
		*lenp = len;
	} else
		free(prog);
	return rc;
}

/* In the child before execve: one async-signal-safe call, fatal. */
void
sandbox_tool_apply(const void *prog, size_t len)
{
	struct sock_fprog fp;

	fp.len = (unsigned short)(len / sizeof(struct sock_filter));
	fp.filter = (struct sock_filter *)(uintptr_t)prog;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp, 0, 0) == -1)
		_exit(126);
}

/*
 * Landlock: each tool in a domain of its own.  Processes of one domain
 * may not read the /proc files of another's (environ, mem, fd: its
 * credential and its output) nor, from ABI 6, signal a process outside
 * it; every tool runs as the runner's user, so the uid cannot keep them
 * apart.  The domain restricts nothing else: below ABI 6 it handles
 * execution only, and allows it everywhere.
 */
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION	(1U << 0)
#endif
#define LL_SCOPE_SIGNAL			(1ULL << 1)

struct ll_ruleset_attr {		/* the kernel's, as of ABI 6 */
	uint64_t	 handled_access_fs;
	uint64_t	 handled_access_net;
	uint64_t	 scoped;
};

/* The ABI version; 0: the kernel has no Landlock, or it is off. */
int
sandbox_landlock_abi(void)
{
	long v;

	v = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	return v < 0 ? 0 : (int)v;
}

/* A ruleset for one tool's domain, built before the fork; -1: none. */
int
sandbox_tool_domain(void)
{
	struct ll_ruleset_attr attr;
	struct landlock_path_beneath_attr pb;
	int abi = sandbox_landlock_abi(), fd, root, e;

	if (abi < 1)
		return -1;
	memset(&attr, 0, sizeof(attr));
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_SIGNAL;
		return (int)syscall(SYS_landlock_create_ruleset, &attr,
		    sizeof(attr), 0);
	}
	attr.handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE;
	if ((fd = (int)syscall(SYS_landlock_create_ruleset, &attr,
	    sizeof(attr.handled_access_fs), 0)) == -1)
		return -1;
	if ((root = open("/", O_PATH | O_CLOEXEC)) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	pb.allowed_access = LANDLOCK_ACCESS_FS_EXECUTE;
	pb.parent_fd = root;
	if (syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &pb,
	    0) == -1) {
		e = errno;
		close(root);
		close(fd);
		errno = e;
		return -1;
	}
	close(root);
	return fd;
}

/* In the child before execve: enters the domain; -1 with errno. */
int
sandbox_tool_enter(int fd)
{
	return fd == -1 ? 0 : (int)syscall(SYS_landlock_restrict_self, fd, 0);
}
