/*
 * The front-end's privilege drop, in one fixed order, each step fatal:
 * close descriptors, chroot, drop groups and ids, resource limits,
 * no_new_privs, then the seccomp allow-list.  Nothing here ever relaxes.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "log.h"
#include "frontend.h"

#define FD_RESERVE	64	/* listeners, channel, epoll, passed dups */
#define FD_RESERVE_MIN	24	/* ...when the hard limit is low */

static int
sock_opt(int fd, int opt)
{
	socklen_t len = sizeof(int);
	int v;

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) == -1)
		return -1;
	return v;
}

/*
 * 0-2 stay what the broker gave (stderr is its log), on /dev/null when
 * closed; stdin is never read.  Returns whether fd 5 is a TLS listener.
 */
int
sandbox_fds(void)
{
	int fd, tls;

	if ((fd = open("/dev/null", O_RDWR)) == -1)
		fatal("%s: /dev/null", __func__);
	if (fd != STDIN_FILENO && dup2(fd, STDIN_FILENO) == -1)
		fatal("%s: dup2", __func__);
	if (fcntl(STDOUT_FILENO, F_GETFD) == -1)
		dup2(fd, STDOUT_FILENO);
	if (fcntl(STDERR_FILENO, F_GETFD) == -1)
		dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO && fd != FE_IPC_FD && fd != FE_UNIX_FD &&
	    fd != FE_TLS_FD)
		close(fd);
	if (sock_opt(FE_IPC_FD, SO_TYPE) != SOCK_SEQPACKET)
		fatalx("%s: fd %d is not the broker channel", __func__,
		    FE_IPC_FD);
	if (sock_opt(FE_UNIX_FD, SO_ACCEPTCONN) != 1)
		fatalx("%s: fd %d is not a listening socket", __func__,
		    FE_UNIX_FD);
	tls = sock_opt(FE_TLS_FD, SO_ACCEPTCONN) == 1;
	closefrom(tls ? FE_TLS_FD + 1 : FE_TLS_FD);
	return tls;
}

static void
limit(int res, rlim_t v, const char *name)
{
	struct rlimit rl = { v, v };

	if (setrlimit(res, &rl) == -1)
		fatal("%s: setrlimit %s", __func__, name);
}

/*
 * Raising the descriptor limit needs CAP_SYS_RESOURCE (root may lack it
 * under systemd); lowering never does.  Without it we take the hard limit
 * we have, say so, and serve as many connections as it allows (never more
 * than the broker said), rather than die: a front-end that dies here
 * would only be started again into the same limit.  Under 2 * FD_RESERVE
 * our own share shrinks towards FD_RESERVE_MIN.
 */
static void
limit_nofile(struct fe_config *conf)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)conf->max_conns + FD_RESERVE, reserve, conns;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("%s: getrlimit", __func__);
	if (rl.rlim_max >= want || geteuid() == 0) {
		rl.rlim_cur = rl.rlim_max = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return;
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
			fatal("%s: getrlimit", __func__);
	}
	if (rl.rlim_max < FD_RESERVE_MIN + 8)
		fatalx("%s: descriptor limit %llu is too low, at least %d are "
		    "needed", __func__, (unsigned long long)rl.rlim_max,
		    FD_RESERVE_MIN + 8);
	reserve = rl.rlim_max / 2;
	if (reserve > FD_RESERVE)
		reserve = FD_RESERVE;
	if (reserve < FD_RESERVE_MIN)
		reserve = FD_RESERVE_MIN;
	conns = rl.rlim_max - reserve;
	if (conns > conf->max_conns)
		conns = conf->max_conns;
	log_warnx("%s: asked for a descriptor limit of %llu, the hard limit "
	    "is %llu and cannot be raised: lowered to %llu, serving %llu "
	    "connections, not %u", __func__, (unsigned long long)want,
	    (unsigned long long)rl.rlim_max, (unsigned long long)rl.rlim_max,
	    (unsigned long long)conns, conf->max_conns);
	conf->max_conns = (uint32_t)conns;
	limit(RLIMIT_NOFILE, rl.rlim_max, "RLIMIT_NOFILE");
}

/*
 * A zero file size limit would kill the process on its first log line
 * when the broker's stderr is a regular file; only then is it left out.
 */
static void
limit_rest(void)
{
	struct stat st;

	limit(RLIMIT_CORE, 0, "RLIMIT_CORE");
	limit(RLIMIT_NPROC, 0, "RLIMIT_NPROC");
	if (fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode))
		log_debug("%s: stderr is a file, RLIMIT_FSIZE left alone",
		    __func__);
	else
		limit(RLIMIT_FSIZE, 0, "RLIMIT_FSIZE");
}

static void
drop_ids(const struct passwd *pw)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (pw->pw_uid == 0)
		fatalx("%s: frontend_user %s is root", __func__, pw->pw_name);
	if (setgroups(0, NULL) == -1)
		fatal("%s: setgroups", __func__);
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1)
		fatal("%s: setresgid", __func__);
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("%s: setresuid", __func__);
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1)
		fatal("%s: getresuid", __func__);
	if (ru != pw->pw_uid || eu != pw->pw_uid || su != pw->pw_uid ||
	    rg != pw->pw_gid || eg != pw->pw_gid || sg != pw->pw_gid)
		fatalx("%s: ids did not change", __func__);
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1)
		fatalx("%s: root could be regained", __func__);
}

void
sandbox_drop(struct fe_config *conf, const struct passwd *pw)
{
	if (geteuid() == 0) {
		if (chroot(conf->chroot_dir) == -1 || chdir("/") == -1)
			fatal("%s: chroot %s", __func__, conf->chroot_dir);
		limit_nofile(conf);
		drop_ids(pw);
	} else {
		log_warnx("%s: not started as root: no chroot, ids unchanged",
		    __func__);
		limit_nofile(conf);
	}
	limit_rest();
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("%s: PR_SET_DUMPABLE", __func__);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("%s: PR_SET_NO_NEW_PRIVS", __func__);
}

/* Development only: say which call the filter refused, then go on. */
static void
sigsys_handler(int sig, siginfo_t *si, void *ctx)
{
	char msg[64] = "secretd-frontend: seccomp refused syscall ";
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
		return;	/* nowhere left to say it */
}

static const int allow_always[] = {
	SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(recvfrom),
	SCMP_SYS(recvmsg), SCMP_SYS(write), SCMP_SYS(writev),
	SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg),
	SCMP_SYS(close),
	SCMP_SYS(shutdown), SCMP_SYS(accept), SCMP_SYS(accept4),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt), SCMP_SYS(fcntl), SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_ctl), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
	SCMP_SYS(getrandom), SCMP_SYS(brk), SCMP_SYS(munmap),
	SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(futex),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(getpid),
	SCMP_SYS(fstat), SCMP_SYS(exit), SCMP_SYS(exit_group),
#ifdef __NR_epoll_wait
	SCMP_SYS(epoll_wait),
#endif
#ifdef __NR_newfstatat
	SCMP_SYS(newfstatat),
#endif
};

/* What AddressSanitizer and UBSan need to print a report and abort. */
static const int allow_sanitizer[] = {
	SCMP_SYS(gettid), SCMP_SYS(sigaltstack), SCMP_SYS(prctl),
	SCMP_SYS(sched_yield), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(rt_sigaction), SCMP_SYS(tgkill), SCMP_SYS(readlinkat),
#ifdef __NR_readlink
	SCMP_SYS(readlink),
#endif
};

static void
rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned int nargs,
    const struct scmp_arg_cmp *args)
{
	int rc;

	if ((rc = seccomp_rule_add_array(ctx, action, nr, nargs, args)) < 0)
		fatalx("sandbox_seccomp: rule for syscall %d: %s", nr,
		    strerror(-rc));
}

static void
allow_list(scmp_filter_ctx ctx, const int *nr, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		rule(ctx, SCMP_ACT_ALLOW, nr[i], 0, NULL);
}

static void
add_rules(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp noexec =
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	struct scmp_arg_cmp fionread = SCMP_A1(SCMP_CMP_EQ, FIONREAD);

	allow_list(ctx, allow_always,
	    sizeof(allow_always) / sizeof(allow_always[0]));
	/* Memory, never executable. */
	rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, &noexec);
	rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, &noexec);
	/* libevent asks how much a socket holds before reading. */
	rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &fionread);
	/* Libraries may try files; in the empty chroot they fail anyway. */
	rule(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0, NULL);
#ifdef __NR_open
	rule(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0, NULL);
#endif
#ifdef __SANITIZE_ADDRESS__
	allow_list(ctx, allow_sanitizer,
	    sizeof(allow_sanitizer) / sizeof(allow_sanitizer[0]));
#else
	(void)allow_sanitizer;
#endif
}

/*
 * pledge("stdio unix inet sendfd"): serve the listeners and the broker
 * channel that are already open — accept, read, write and shut down
 * sockets, read a client's peer uid or address (getsockopt SO_PEERCRED,
 * getpeername: only to cap its connections), pass a client's descriptor to
 * the broker, wait in epoll, allocate memory that is never executable, read
 * the clock and the kernel's random generator.  No files, no new sockets,
 * no exec, no fork, no ptrace, nothing else.
 */
void
sandbox_seccomp(int debug)
{
	scmp_filter_ctx ctx;
	struct sigaction sa;
	uint32_t arch = seccomp_arch_native();
	int rc;

	if (arch != SCMP_ARCH_X86_64 && arch != SCMP_ARCH_AARCH64)
		fatalx("%s: no filter for this architecture (0x%x)", __func__,
		    arch);
	if (debug) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sigsys_handler;
		sa.sa_flags = SA_SIGINFO;
		if (sigaction(SIGSYS, &sa, NULL) == -1)
			fatal("%s: sigaction", __func__);
		log_warnx("%s: debug: refused syscalls are logged, not fatal",
		    __func__);
	}
	if ((ctx = seccomp_init(debug ? SCMP_ACT_TRAP :
	    SCMP_ACT_KILL_PROCESS)) == NULL)
		fatalx("%s: seccomp_init", __func__);
	add_rules(ctx);
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("%s: seccomp_load: %s", __func__, strerror(-rc));
	seccomp_release(ctx);
}
