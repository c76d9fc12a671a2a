/*
 * The launcher: a child forked before the runner loads its filter, so the
 * runner proper never needs fork or execve.  For each exec tool it gets
 * a socket from the runner, forks a supervisor for it, and forgets it.
 * The supervisor starts the command in a session of its own, feeds its
 * stdin, captures stdout and stderr within their caps, and kills the
 * whole process group at the timeout or once the command has exited.
 * It holds the environment's values only until the fork.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "runner.h"

#define JOB_READ_MS	10000	/* for the runner to send a whole job */
#define EXIT_GRACE_MS	200	/* output after the command exited */
#define TICK_MS		20	/* without pidfd: how often to look */
#define TOOL_NPROC	1024	/* tasks of the runner's uid, at a fork */
#define TOOL_AS		(4ULL << 30)
#define TOOL_FSIZE	(64ULL << 20)
#define TOOL_NOFILE	1024

static int landlock;		/* each tool gets a domain of its own */

struct job {
	uint32_t	 timeout_ms;
	uint32_t	 max_out;
	char		 command[PATH_MAX];
	char		*argv[TOOL_ARGS_MAX + 2];
	char		*envp[LAUNCH_ENV_MAX + 1];
	size_t		 envlen[LAUNCH_ENV_MAX];
	size_t		 nenv;
	uint8_t		*in;		/* stdin */
	size_t		 in_len;
	size_t		 in_off;
	void		*filter;	/* BPF stacked on the command */
	size_t		 filter_len;
	int		 domain;	/* its Landlock ruleset; -1: none */
	pid_t		 supervisor;
};

struct capture {
	uint8_t		*out;
	size_t		 out_len;
	uint8_t		*err;
	size_t		 err_len;
	int		 err_truncated;
	int		 how;
	int		 status;
	int		 errnum;
};

static long long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void
job_wipe_env(struct job *j)
{
	size_t i;

	for (i = 0; i < j->nenv; i++) {
		wfree(j->envp[i], j->envlen[i] + 1);
		j->envp[i] = NULL;
	}
	j->nenv = 0;
}

static void
job_free(struct job *j)
{
	size_t i;

	job_wipe_env(j);
	for (i = 0; j->argv[i] != NULL; i++) {
		free(j->argv[i]);
		j->argv[i] = NULL;
	}
	wfree(j->in, j->in_len);
	j->in = NULL;
	j->in_len = 0;
	free(j->filter);
	j->filter = NULL;
	if (j->domain != -1)
		close(j->domain);
	j->domain = -1;
}

static int
add_env(struct job *j, const void *p, size_t n)
{
	char *s;

	if (j->nenv == LAUNCH_ENV_MAX || memchr(p, '\0', n) != NULL ||
	    memchr(p, '=', n) == NULL || (s = wmalloc(n + 1)) == NULL)
		return -1;
	memcpy(s, p, n);
	s[n] = '\0';
	j->envp[j->nenv] = s;
	j->envlen[j->nenv++] = n;
	return 0;
}

static int
get_exec(struct ipc_reader *r, struct job *j)
{
	uint32_t n, i;
	const char *s;
	size_t len;

	if (ipc_get_u32(r, &j->timeout_ms) == -1 ||
	    ipc_get_u32(r, &j->max_out) == -1 ||
	    ipc_get_strbuf(r, j->command, sizeof(j->command)) == -1 ||
	    ipc_get_u32(r, &n) == -1 || n > TOOL_ARGS_MAX ||
	    j->max_out > TOOL_RESULT_MAX || j->command[0] != '/' ||
	    (j->argv[0] = strdup(j->command)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (ipc_get_str(r, &s, &len) == -1 ||
		    (j->argv[i + 1] = strdup(s)) == NULL)
			return -1;
	return ipc_end(r);
}

static int
get_stdin(struct ipc_reader *r, struct job *j)
{
	const void *p;
	uint8_t *nb;
	size_t n;

	if (ipc_get_bytes(r, &p, &n) == -1 || ipc_end(r) == -1 ||
	    n > LAUNCH_STDIN_MAX - j->in_len)
		return -1;
	if ((nb = wmalloc(j->in_len + n)) == NULL)
		return -1;
	if (j->in_len > 0)
		memcpy(nb, j->in, j->in_len);
	memcpy(nb + j->in_len, p, n);
	wfree(j->in, j->in_len);
	j->in = nb;
	j->in_len += n;
	return 0;
}

/* EXEC, ENV..., STDIN..., GO: anything else ends the supervisor. */
static int
read_job(int s, struct job *j)
{
	struct ipc_reader r;
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	long long end = now_ms() + JOB_READ_MS;
	const void *p;
	uint8_t *buf;
	ssize_t n;
	size_t len;
	int rc = -1, have_exec = 0;

	if ((buf = wmalloc(IPC_MAX_MSG)) == NULL)
		return -1;
	for (;;) {
		if (poll(&pfd, 1, (int)(end - now_ms() > 0 ? end - now_ms() :
		    0)) <= 0)
			break;
		if ((n = recv(s, buf, IPC_MAX_MSG, 0)) <= 0 ||
		    ipc_parse(buf, (size_t)n, &r) == -1)
			break;
		if (r.hdr.type == LAUNCH_EXEC && !have_exec) {
			if (get_exec(&r, j) == -1)
				break;
			have_exec = 1;
		} else if (r.hdr.type == LAUNCH_ENV && have_exec) {
			if (ipc_get_bytes(&r, &p, &len) == -1 ||
			    ipc_end(&r) == -1 || add_env(j, p, len) == -1)
				break;
		} else if (r.hdr.type == LAUNCH_STDIN && have_exec) {
			if (get_stdin(&r, j) == -1)
				break;
		} else if (r.hdr.type == LAUNCH_GO && have_exec) {
			rc = ipc_end(&r);
			break;
		} else
			break;
		explicit_bzero(buf, (size_t)n);
	}
	wfree(buf, IPC_MAX_MSG);
	return rc;
}

static void
limit(int res, rlim_t v)
{
	struct rlimit rl = { v, v };

	setrlimit(res, &rl);
}

/* In the child, between fork and execve: async-signal-safe calls only. */
static void __attribute__((noreturn))
child(struct job *j, int in, int out, int err, int ep)
{
	struct sigaction sa;
	sigset_t none;
	rlim_t cpu;
	int e, i;

	/* It dies with its supervisor, whoever kills that. */
	if (setsid() == -1 || prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
	    getppid() != j->supervisor || dup2(in, STDIN_FILENO) == -1 ||
	    dup2(out, STDOUT_FILENO) == -1 || dup2(err, STDERR_FILENO) == -1 ||
	    chdir("/") == -1)
		goto fail;
	/* Everything else closes at execve; ep tells the parent it did. */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == -1)
		for (i = 3; i < 1024; i++)
			fcntl(i, F_SETFD, FD_CLOEXEC);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 1; i < NSIG; i++)
		sigaction(i, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	cpu = j->timeout_ms / 1000 + 2;
	limit(RLIMIT_CORE, 0);
	limit(RLIMIT_NPROC, TOOL_NPROC);
	limit(RLIMIT_AS, TOOL_AS);
	limit(RLIMIT_FSIZE, TOOL_FSIZE);
	limit(RLIMIT_NOFILE, TOOL_NOFILE);
	limit(RLIMIT_CPU, cpu);
	if (sandbox_tool_enter(j->domain) == -1)
		goto fail;
	sandbox_tool_apply(j->filter, j->filter_len);
	execve(j->command, j->argv, j->envp);
fail:
	e = errno;
	if (write(ep, &e, sizeof(e)) == -1)
		_exit(126);
	_exit(127);
}

static int
nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl == -1 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/*
 * Forks the command with pipes on 0, 1 and 2; the pipe ends we keep are
 * non-blocking.  Returns the pid, or -1 with c->how and errnum set.
 */
static pid_t
spawn(struct job *j, struct capture *c, int fds[3])
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int ep[2] = { -1, -1 }, e;
	ssize_t n;
	pid_t pid = -1;

	j->supervisor = getpid();
	if (sandbox_tool_filter(j->supervisor, &j->filter,
	    &j->filter_len) == -1) {
		c->how = DONE_FAILED;
		c->errnum = EINVAL;
		return -1;
	}
	if (landlock && (j->domain = sandbox_tool_domain()) == -1) {
		c->how = DONE_FAILED;
		c->errnum = errno;
		return -1;
	}
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    pipe2(err, O_CLOEXEC) == -1 || pipe2(ep, O_CLOEXEC) == -1 ||
	    (pid = fork()) == -1) {
		c->how = DONE_FAILED;
		c->errnum = errno;
		pid = -1;
		goto done;
	}
	if (pid == 0)
		child(j, in[0], out[1], err[1], ep[1]);
	close(ep[1]);
	ep[1] = -1;
	/* The parent has no more use for the values. */
	job_wipe_env(j);
	while ((n = read(ep[0], &e, sizeof(e))) == -1 && errno == EINTR)
		;
	if (n == sizeof(e)) {
		waitpid(pid, NULL, 0);
		c->how = DONE_NOEXEC;
		c->errnum = e;
		pid = -1;
		goto done;
	}
	fds[0] = in[1];
	fds[1] = out[0];
	fds[2] = err[0];
	in[1] = out[0] = err[0] = -1;
	if (nonblock(fds[0]) == -1 || nonblock(fds[1]) == -1 ||
	    nonblock(fds[2]) == -1)
		log_warn("%s: O_NONBLOCK", __func__);
done:
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
	close(err[0]);
	close(err[1]);
	close(ep[0]);
	close(ep[1]);
	return pid;
}

/* stdout: over max_out is the end (-1); stderr: the rest is dropped. */
static int
drain(int *fd, int is_err, struct capture *c, size_t max_out)
{
	uint8_t scratch[4096];
	ssize_t n;

	for (;;) {
		if (is_err && c->err_len < TOOL_STDERR_MAX)
			n = read(*fd, c->err + c->err_len,
			    TOOL_STDERR_MAX - c->err_len);
		else if (is_err)
			n = read(*fd, scratch, sizeof(scratch));
		else
			n = read(*fd, c->out + c->out_len,
			    max_out + 1 - c->out_len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			close(*fd);
			*fd = -1;
			break;
		}
		if (is_err && c->err_len == TOOL_STDERR_MAX)
			c->err_truncated = 1;
		else if (is_err)
			c->err_len += (size_t)n;
		else if ((c->out_len += (size_t)n) > max_out)
			return -1;
	}
	explicit_bzero(scratch, sizeof(scratch));
	return 0;
}

static void
feed(int *fd, struct job *j)
{
	ssize_t n;

	while (j->in_off < j->in_len) {
		n = write(*fd, j->in + j->in_off, j->in_len - j->in_off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1)
			break;	/* EPIPE: the command reads no more */
		j->in_off += (size_t)n;
	}
	close(*fd);
	*fd = -1;
}

static void
kill_group(pid_t pgid)
{
	kill(-pgid, SIGKILL);
}

/* The command being supervised. */
struct proc {
	pid_t		 pid;		/* also its process group */
	int		 fds[3];	/* its stdin (ours to write), stdout,
					   stderr */
	int		 pidfd;		/* -1: look every TICK_MS */
	int		 job;		/* the runner's socket */
	int		 exited;
	long long	 end;		/* the timeout */
	long long	 grace;		/* after it exited */
};

static void
close_fd(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

/* It exited: whatever it left behind goes with its group. */
static void
reaped(struct capture *c, struct proc *p, int st)
{
	p->exited = 1;
	c->how = DONE_EXITED;
	c->status = st;
	kill_group(p->pid);
	p->grace = now_ms() + EXIT_GRACE_MS;
	close_fd(&p->fds[0]);
}

/* One poll and what it brought; -1 when the capture is over. */
static int
step(struct job *j, struct capture *c, struct proc *p, long long now)
{
	struct pollfd pfd[5] = {
		{ p->fds[0], POLLOUT, 0 }, { p->fds[1], POLLIN, 0 },
		{ p->fds[2], POLLIN, 0 }, { p->exited ? -1 : p->pidfd, POLLIN,
		0 }, { p->job, POLLIN, 0 }
	};
	int wait_ms = (int)((p->exited ? p->grace : p->end) - now), st;

	if (p->pidfd == -1 && !p->exited && wait_ms > TICK_MS)
		wait_ms = TICK_MS;
	if (poll(pfd, 5, wait_ms) == -1 && errno != EINTR) {
		kill_group(p->pid);
		c->how = DONE_FAILED;
		c->errnum = errno;
		return -1;
	}
	if (pfd[4].revents != 0) {
		/* The runner is gone: nobody waits for this any more. */
		kill_group(p->pid);
		_exit(0);
	}
	if (pfd[0].revents != 0)
		feed(&p->fds[0], j);
	if (pfd[1].revents != 0 && drain(&p->fds[1], 0, c, j->max_out) == -1) {
		kill_group(p->pid);
		if (!p->exited)
			waitpid(p->pid, &st, 0);
		c->how = DONE_TOO_LARGE;
		return -1;
	}
	if (pfd[2].revents != 0)
		drain(&p->fds[2], 1, c, j->max_out);
	if (!p->exited && waitpid(p->pid, &st, WNOHANG) == p->pid)
		reaped(c, p, st);
	return 0;
}

/*
 * Until the command exits, times out or prints too much; then kills its
 * group, and reads what is left for a short grace at most.
 */
static void
pump(struct job *j, struct capture *c, struct proc *p)
{
	long long now;
	int st;

	p->end = now_ms() + j->timeout_ms;
	if (j->in_len == 0)
		close_fd(&p->fds[0]);
	for (;;) {
		now = now_ms();
		if (!p->exited && now >= p->end) {
			kill_group(p->pid);
			waitpid(p->pid, &st, 0);
			c->how = DONE_TIMEOUT;
			if (p->fds[2] != -1)
				drain(&p->fds[2], 1, c, j->max_out);
			return;
		}
		if (p->exited && (now >= p->grace || (p->fds[1] == -1 &&
		    p->fds[2] == -1)))
			return;
		if (step(j, c, p, now) == -1)
			return;
	}
}

static void
reply(int job, struct capture *c)
{
	struct ipc_msg m;

	ipc_msg_init(&m, LAUNCH_DONE, 0);
	ipc_put_u8(&m, (uint8_t)c->how);
	ipc_put_u32(&m, (uint32_t)c->status);
	ipc_put_u32(&m, (uint32_t)c->errnum);
	ipc_put_u8(&m, (uint8_t)c->err_truncated);
	ipc_put_bytes(&m, c->out, c->how == DONE_EXITED ? c->out_len : 0);
	ipc_put_bytes(&m, c->err, c->err_len);
	if (ipc_msg_finish(&m) == 0 &&
	    send(job, m.buf, m.len, MSG_NOSIGNAL) != (ssize_t)m.len)
		log_warn("%s: send", __func__);
	ipc_msg_free(&m);
}

/* One execution, in its own process; never returns. */
static void __attribute__((noreturn))
supervise(int job)
{
	struct capture c;
	struct proc p;
	struct job j;

	memset(&j, 0, sizeof(j));
	memset(&c, 0, sizeof(c));
	j.domain = -1;
	signal(SIGCHLD, SIG_DFL);
	if (read_job(job, &j) == -1) {
		log_warnx("%s: a malformed job from the runner", __func__);
		_exit(1);
	}
	if ((c.out = wmalloc((size_t)j.max_out + 1)) == NULL ||
	    (c.err = wmalloc(TOOL_STDERR_MAX)) == NULL) {
		c.how = DONE_FAILED;
		c.errnum = ENOMEM;
		c.out_len = 0;
		reply(job, &c);
		_exit(0);
	}
	memset(&p, 0, sizeof(p));
	p.fds[0] = p.fds[1] = p.fds[2] = p.pidfd = -1;
	p.job = job;
	if ((p.pid = spawn(&j, &c, p.fds)) != -1) {
		p.pidfd = (int)syscall(SYS_pidfd_open, p.pid, 0);
		pump(&j, &c, &p);
		close_fd(&p.fds[0]);
		close_fd(&p.fds[1]);
		close_fd(&p.fds[2]);
		close_fd(&p.pidfd);
	}
	job_free(&j);
	reply(job, &c);
	wfree(c.out, (size_t)j.max_out + 1);
	wfree(c.err, TOOL_STDERR_MAX);
	_exit(0);
}

/* Takes one descriptor per message; a malformed message is the end. */
static int
recv_job(int ctl)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *cmsg;
	struct msghdr mh;
	struct iovec iov;
	char b;
	ssize_t n;
	int fd = -1;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &b;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	while ((n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	if (n <= 0)
		return -1;
	cmsg = CMSG_FIRSTHDR(&mh);
	if (cmsg != NULL && cmsg->cmsg_level == SOL_SOCKET &&
	    cmsg->cmsg_type == SCM_RIGHTS &&
	    cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	if (fd == -1 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static void __attribute__((noreturn))
launcher_main(int ctl, pid_t parent)
{
	pid_t pid;
	int job;

	log_setproc("secretd-runner/launcher");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(1);
	if (syscall(SYS_close_range, 3U, (unsigned)ctl - 1, 0) == -1 ||
	    syscall(SYS_close_range, (unsigned)ctl + 1, ~0U, 0) == -1)
		fatal("%s: close_range", __func__);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		fatal("%s: PR_SET_CHILD_SUBREAPER", __func__);
	/* Supervisors and what their commands leave are reaped for us. */
	if (signal(SIGCHLD, SIG_IGN) == SIG_ERR ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("%s: signal", __func__);
	if ((landlock = sandbox_landlock_abi()) == 0)
		log_warnx("%s: the kernel has no Landlock: exec tools, which "
		    "share one uid, are not kept apart from each other",
		    __func__);
	sandbox_launcher(parent);
	for (;;) {
		if ((job = recv_job(ctl)) == -1)
			_exit(0);	/* the runner is gone */
		if ((pid = fork()) == -1) {
			log_warn("%s: fork", __func__);
			close(job);	/* the runner sees it hang up */
			continue;
		}
		if (pid == 0) {
			close(ctl);
			supervise(job);
		}
		close(job);
	}
}

/* Forks the launcher; *fd is the runner's end of its socket. */
pid_t
launcher_start(int *fd)
{
	pid_t parent = getpid(), pid;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("%s: socketpair", __func__);
	if ((pid = fork()) == -1)
		fatal("%s: fork", __func__);
	if (pid == 0) {
		close(sv[0]);
		launcher_main(sv[1], parent);
	}
	close(sv[1]);
	*fd = sv[0];
	return pid;
}
