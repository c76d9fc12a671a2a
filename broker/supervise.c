/*
 * The front-end's life: fork+exec with the channel on fd 3 and the
 * listeners on fd 4 and 5, and its restart with backoff when it dies.
 * The child gets those descriptors, stdin, and its log pipe as stdout
 * and stderr, never the store, the key or the audit log.  The spawning
 * and backoff below serve the runner too (runner.c).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "log.h"

#define FD_CHAN		3	/* then the unix listener, then TLS */
#define FD_MOVE_MIN	16	/* above every fixed child descriptor */

extern char **environ;

/* What a child must not inherit from our environment. */
static const char *env_drop[] = {
	"CREDENTIALS_DIRECTORY", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID",
	"LISTEN_FDNAMES", "SECRETD_FRONTEND", "SECRETD_RUNNER", NULL
};

struct timespec
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

long long
ms_between(struct timespec a, struct timespec b)
{
	return (long long)(b.tv_sec - a.tv_sec) * 1000 +
	    (b.tv_nsec - a.tv_nsec) / 1000000;
}

/* A helper program: $env, else next to our own binary (a build tree,
 * where it may sit in a sibling folder), else the installed one. */
void
exe_resolve_path(const char *name, const char *envname, char *buf,
    size_t len)
{
	char self[PATH_MAX], *slash;
	const char *env;
	ssize_t n;

	if ((env = getenv(envname)) != NULL && *env != '\0')
		snprintf(buf, len, "%s", env);
	else {
		buf[0] = '\0';
		if ((n = readlink("/proc/self/exe", self,
		    sizeof(self) - 1)) > 0) {
			self[n] = '\0';
			if ((slash = strrchr(self, '/')) != NULL) {
				*slash = '\0';
				snprintf(buf, len, "%s/%s", self, name);
			}
		}
		if (buf[0] == '\0' || access(buf, X_OK) == -1)
			snprintf(buf, len, "%s/%s", SECRETD_LIBEXEC_DIR, name);
	}
	if (access(buf, X_OK) == -1)
		fatal("%s: %s", __func__, buf);
}

static int
dir_is_empty(const char *path)
{
	struct dirent *de;
	DIR *d;
	int empty = 1;

	if ((d = opendir(path)) == NULL)
		fatal("%s: %s", __func__, path);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/* <state_dir>/empty: root-owned, 0555 and empty, the front-end's root. */
void
fe_prepare_chroot(const char *state_dir, char *buf, size_t len)
{
	struct stat st;

	if ((size_t)snprintf(buf, len, "%s/empty", state_dir) >= len)
		fatalx("%s: path too long", __func__);
	if (mkdir(buf, 0555) == -1 && errno != EEXIST)
		fatal("%s: mkdir %s", __func__, buf);
	if (lstat(buf, &st) == -1)
		fatal("%s: %s", __func__, buf);
	if (!S_ISDIR(st.st_mode))
		fatalx("%s: %s is not a directory", __func__, buf);
	if (geteuid() == 0 && (st.st_uid != 0 || st.st_gid != 0) &&
	    chown(buf, 0, 0) == -1)
		fatal("%s: chown %s", __func__, buf);
	if ((st.st_mode & 07777) != 0555 && chmod(buf, 0555) == -1)
		fatal("%s: chmod %s", __func__, buf);
	if (!dir_is_empty(buf))
		fatalx("%s: %s is not empty", __func__, buf);
}

char **
child_env(void)
{
	char **env;
	size_t n = 0, i, j, k;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 1, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0, k = 0; i < n; i++) {
		for (j = 0; env_drop[j] != NULL; j++)
			if (strncmp(environ[i], env_drop[j],
			    strlen(env_drop[j])) == 0 &&
			    environ[i][strlen(env_drop[j])] == '=')
				break;
		if (env_drop[j] == NULL)
			env[k++] = environ[i];
	}
	return env;
}

/*
 * After fork: only async-signal-safe calls until exec.  With drop, the
 * child takes the runner's ids and no_new_privs before it execs, so the
 * runner's code never runs with ours.
 */
static void __attribute__((noreturn))
child_exec(const char *path, char *const argv[], char *const envp[],
    int fds[3], int nfds, int logfd, const struct runner *drop)
{
	struct sigaction sa;
	sigset_t none;
	int i, moved[3];

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 1; i < NSIG; i++)
		sigaction(i, &sa, NULL);
	/* Move out of the way first: a source may sit on a target number. */
	for (i = 0; i < nfds; i++)
		if ((moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC,
		    FD_MOVE_MIN)) == -1)
			_exit(126);
	if ((logfd = fcntl(logfd, F_DUPFD_CLOEXEC, FD_MOVE_MIN)) == -1)
		_exit(126);
	for (i = 0; i < nfds; i++)
		if (dup2(moved[i], FD_CHAN + i) == -1)
			_exit(126);
	if (dup2(logfd, STDOUT_FILENO) == -1 ||
	    dup2(logfd, STDERR_FILENO) == -1)
		_exit(126);
	closefrom(FD_CHAN + nfds);
	if (drop != NULL && drop->drop &&
	    (setgroups(1, &drop->gid) == -1 ||
	    setresgid(drop->gid, drop->gid, drop->gid) == -1 ||
	    setresuid(drop->uid, drop->uid, drop->uid) == -1))
		_exit(126);
	if (drop != NULL && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		_exit(126);
	execve(path, argv, envp);
	_exit(127);
}

/* fork+exec path with fds on 3.. and logfd as stdout and stderr. */
pid_t
child_spawn(const char *path, char *const argv[], int fds[3], int nfds,
    int logfd, const struct runner *drop)
{
	char **envp;
	pid_t pid;

	if ((envp = child_env()) == NULL)
		return -1;
	if ((pid = fork()) == 0)
		child_exec(path, argv, envp, fds, nfds, logfd, drop);
	free(envp);
	return pid;
}

/* Too many failed starts in a row: stop everything and exit non-zero. */
static void
give_up(struct broker *b, struct restart *r, const char *what)
{
	log_warnx("%s: the %s failed to start %u times in a row, the last "
	    "time: %s; giving up", __func__, what, r->failures, r->cause);
	r->pending = 0;
	b->exit_status = 1;
	if (!b->stopping) {
		fe_stop(b);
		runner_stop(b);
	}
}

/*
 * A dead child starts again, after a backoff that doubles while it keeps
 * dying young; one that lived BACKOFF_RESET_S was healthy and starts over
 * at once.  A start failed when the child never said hello, or when it
 * exited with an error of its own accord before it was healthy (a fatal
 * error while it sets up its sandbox); one killed by a signal after its
 * hello (by us for a protocol error, or by an operator) is no failed
 * start.  START_FAILURES_MAX failed starts in a row and the broker gives
 * up: it exits non-zero so that the service manager sees the unit fail
 * rather than a silent loop.  status: waitpid's, -1 when the child could
 * not even be spawned; cause: what went wrong, for the log.
 */
void
restart_schedule(struct broker *b, struct restart *r, struct timespec started,
    const char *what, int status, const char *cause)
{
	struct timespec now = now_mono();
	unsigned int delay;
	int healthy, failed;

	healthy = ms_between(started, now) >= BACKOFF_RESET_S * 1000;
	if (healthy)
		r->backoff_ms = 0;
	failed = status == -1 || !r->ready || (!healthy &&
	    WIFEXITED(status) && WEXITSTATUS(status) != 0);
	if (!failed)
		r->failures = 0;
	else {
		r->failures++;
		snprintf(r->cause, sizeof(r->cause), "%s", cause);
		if (r->failures >= START_FAILURES_MAX) {
			give_up(b, r, what);
			return;
		}
	}
	delay = r->backoff_ms;
	r->backoff_ms = r->backoff_ms == 0 ? 100 : r->backoff_ms * 2;
	if (r->backoff_ms > BACKOFF_MAX_MS)
		r->backoff_ms = BACKOFF_MAX_MS;
	r->at = now;
	r->at.tv_sec += delay / 1000;
	r->at.tv_nsec += (long)(delay % 1000) * 1000000;
	if (r->at.tv_nsec >= 1000000000) {
		r->at.tv_sec++;
		r->at.tv_nsec -= 1000000000;
	}
	r->pending = 1;
	if (delay > 0)
		log_info("%s: restarting the %s in %u ms", __func__, what,
		    delay);
	else
		log_info("%s: starting a new %s now", __func__, what);
}

/* A new start: not ready until its hello, nothing killed it yet. */
void
restart_begin(struct restart *r)
{
	r->ready = 0;
	r->kill_why[0] = '\0';
	r->kill_sig = 0;
}

/*
 * Whether child pid has exited (and waits to be reaped), looking for up
 * to wait_ms.  A child that dies closes its channel just before it
 * exits, so a hang-up is given that moment before we signal it.
 */
int
child_gone(pid_t pid, int wait_ms)
{
	struct timespec pause = { 0, 1000000 };
	siginfo_t si;
	int i;

	for (i = 0; pid > 0; i++) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG |
		    WNOWAIT) == -1)
			return errno == ECHILD;
		if (si.si_pid == pid)
			return 1;
		if (i >= wait_ms)
			return 0;
		nanosleep(&pause, NULL);
	}
	return 0;
}

/*
 * Signal a child, remembering that we did and why, for child_ended; one
 * that has already exited is left alone, its end not put down to us.
 * Returns whether the signal went.
 */
int
restart_signal(struct restart *r, pid_t pid, int sig, const char *why)
{
	if (pid <= 0 || child_gone(pid, 0))
		return 0;
	r->kill_sig = sig;
	snprintf(r->kill_why, sizeof(r->kill_why), "%s", why);
	if (kill(pid, sig) == -1) {
		if (errno != ESRCH)
			log_warn("%s: kill %d", __func__, (int)pid);
		return 0;
	}
	return 1;
}

/*
 * One line for how a child ended: its exit status, or the signal that
 * killed it and whether that signal was ours (and why we sent it), so an
 * operator can tell an outside kill or a crash from our own.
 */
void
child_ended(const char *what, pid_t pid, int status,
    const struct restart *r, int stopping)
{
	const char *name;

	if (WIFEXITED(status)) {
		(stopping ? log_info : log_warnx)("%s pid %d exited with "
		    "status %d%s", what, (int)pid, WEXITSTATUS(status),
		    r->ready ? "" : " before its hello");
		return;
	}
	if ((name = sigabbrev_np(WTERMSIG(status))) == NULL)
		name = "unknown";
	if (r->kill_sig == WTERMSIG(status))
		(stopping ? log_info : log_warnx)("%s pid %d killed by "
		    "signal %d (SIG%s), sent by the broker: %s", what,
		    (int)pid, WTERMSIG(status), name, r->kill_why);
	else
		log_warnx("%s pid %d killed by signal %d (SIG%s), not sent "
		    "by the broker%s%s", what, (int)pid, WTERMSIG(status),
		    name, WCOREDUMP(status) ? ", core dumped" : "",
		    r->ready ? "" : ", before its hello");
}

/* Why a child died, for restart_schedule: our kill, its exit or signal. */
void
restart_cause(const struct restart *r, int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status) && WTERMSIG(status) == r->kill_sig &&
	    r->kill_why[0] != '\0')
		snprintf(buf, len, "killed: %s", r->kill_why);
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d%s", WTERMSIG(status),
		    r->ready ? "" : " before its hello");
	else
		snprintf(buf, len, "exited with status %d%s",
		    WEXITSTATUS(status), r->ready ? "" : " before its hello");
}

int
restart_due(const struct restart *r, struct timespec now)
{
	return r->pending && ms_between(now, r->at) <= 0;
}

static void
schedule_restart(struct broker *b, int status, const char *cause)
{
	restart_schedule(b, &b->restart, b->fe_started, "front-end", status,
	    cause);
}

/*
 * Starts a child (argv[0] name) with its channel on fd 3, extra descriptors after it and
 * a new log pipe as stdout and stderr; with drop, as the runner's user.
 * Returns its pid with chan ready, or -1 with the cause logged and in
 * cause.
 */
pid_t
child_launch(const char *path, const char *name, int verbose,
    struct childlog *log, const int *extra, int nextra,
    const struct runner *drop, struct ipc_chan *chan, char *cause,
    size_t causelen)
{
	char *argv[3] = { (char *)name, NULL, NULL };
	int sv[2], fds[3], logfd, i;
	pid_t pid;

	if (verbose)
		argv[1] = (char *)"-v";
	if ((logfd = childlog_open(log)) == -1) {
		snprintf(cause, causelen, "log pipe: %s", strerror(errno));
		goto fail;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(cause, causelen, "socketpair: %s", strerror(errno));
		close(logfd);
		goto fail;
	}
	fds[0] = sv[1];
	for (i = 0; i < nextra && i < 2; i++)
		fds[1 + i] = extra[i];
	if ((pid = child_spawn(path, argv, fds, 1 + i, logfd, drop)) == -1) {
		snprintf(cause, causelen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		close(logfd);
		goto fail;
	}
	close(sv[1]);
	close(logfd);
	if (ipc_chan_init(chan, sv[0]) == -1)
		fatal("%s: ipc_chan_init", __func__);
	return pid;
fail:
	log_warnx("%s: %s: %s", __func__, path, cause);
	return -1;
}

void
fe_start(struct broker *b)
{
	int extra[2] = { b->lis.unix_fd, b->lis.tls_fd };
	char cause[160];
	pid_t pid;

	restart_begin(&b->restart);
	b->fe_started = now_mono();
	if ((pid = child_launch(b->frontend_path, SECRETD_FRONTEND_NAME,
	    b->verbose, &b->felog, extra, b->lis.tls_fd != -1 ? 2 : 1, NULL,
	    &b->chan, cause, sizeof(cause))) == -1) {
		schedule_restart(b, -1, cause);
		return;
	}
	b->chan_open = 1;
	b->fe_pid = pid;
	b->fe_state = FE_NEW;
	log_debug("%s: front-end %s started, pid %d", __func__,
	    b->frontend_path, (int)pid);
}

static void
fe_disconnect(struct broker *b)
{
	if (b->chan_open)
		ipc_chan_close(&b->chan);
	b->chan_open = 0;
	b->fe_state = FE_DOWN;
	session_clear();
	broker_fe_gone();
	tool_exec_abort_all(b, RT_UNAVAILABLE, "the front-end went away");
}

/* A front-end that broke the protocol is not trusted to say more. */
void
fe_kill(struct broker *b, const char *why)
{
	int sent = restart_signal(&b->restart, b->fe_pid, SIGKILL, why);

	if (b->stopping)
		log_debug("%s: front-end pid %d: %s", __func__,
		    (int)b->fe_pid, why);
	else
		log_warnx("%s: front-end pid %d: %s%s", __func__,
		    (int)b->fe_pid, why, sent ? "; killing it" : "");
	fe_disconnect(b);
}

void
fe_reap(struct broker *b)
{
	char cause[160];
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (runner_reaped(b, pid, status) || pid != b->fe_pid)
			continue;
		child_ended("front-end", pid, status, &b->restart,
		    b->stopping);
		b->fe_pid = -1;
		fe_disconnect(b);
		restart_cause(&b->restart, status, cause, sizeof(cause));
		if (!b->stopping) {
			metrics.frontend_restarts++;
			schedule_restart(b, status, cause);
		}
	}
}

/* Milliseconds poll may sleep before fe_tick has work; -1: forever. */
int
fe_poll_timeout(struct broker *b)
{
	struct timespec now = now_mono();
	long long ms = -1, t;

	if (b->restart.pending && !b->stopping) {
		t = ms_between(now, b->restart.at);
		ms = t < 0 ? 0 : t;
	}
	if (b->fe_state == FE_NEW && !b->stopping) {
		t = HELLO_TIMEOUT_S * 1000 - ms_between(b->fe_started, now);
		if (t < 0)
			t = 0;
		if (ms == -1 || t < ms)
			ms = t;
	}
	if (b->stopping && b->fe_pid != -1) {
		t = ms_between(now, b->stop_deadline);
		if (t < 0)
			t = 0;
		if (ms == -1 || t < ms)
			ms = t;
	}
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

void
fe_tick(struct broker *b)
{
	struct timespec now = now_mono();

	if (b->stopping) {
		if (b->fe_pid != -1 && ms_between(now, b->stop_deadline) <= 0) {
			log_warnx("%s: front-end did not stop in time",
			    __func__);
			restart_signal(&b->restart, b->fe_pid, SIGKILL,
			    "it did not stop in time");
			b->stop_deadline.tv_sec += STOP_GRACE_S;
		}
		return;
	}
	/* A front-end that never says hello is stuck; start a fresh one. */
	if (b->fe_state == FE_NEW &&
	    ms_between(b->fe_started, now) >= HELLO_TIMEOUT_S * 1000)
		fe_kill(b, "no hello in time");
	if (b->fe_pid == -1 && restart_due(&b->restart, now)) {
		b->restart.pending = 0;
		fe_start(b);
	}
}

void
fe_stop(struct broker *b)
{
	b->stopping = 1;
	b->restart.pending = 0;
	b->stop_deadline = now_mono();
	b->stop_deadline.tv_sec += STOP_GRACE_S;
	restart_signal(&b->restart, b->fe_pid, SIGTERM, "stopping");
}

/* IMSG_HELLO: the front-end's first and only hello gets its config. */
int
h_hello(struct req *q)
{
	struct broker *b = q->b;
	struct msg_hello h;
	struct msg_config c;
	struct ipc_msg m;
	uint8_t *cert = NULL, *key = NULL;
	size_t certlen = 0, keylen = 0;
	int tls = b->lis.tls_fd != -1;
	const char *dbg, *why;

	if (msg_hello_get(q->r, &h) == -1)
		return -1;
	if (h.version != PROTO_VERSION) {
		log_warnx("%s: protocol version %u, want %u", __func__,
		    h.version, PROTO_VERSION);
		return -1;
	}
	/* Read now, not kept: the front-end cannot read it after chroot. */
	if (tls && (pem_read(b->cfg->tls_cert, &cert, &certlen) == -1 ||
	    pem_read(b->cfg->tls_key, &key, &keylen) == -1)) {
		log_warn("%s: TLS certificate or key; TLS disabled", __func__);
		tls = 0;
	} else if (tls && tls_pair_check(cert, certlen, key, keylen,
	    &why) == -1) {
		/* changed on disk since start, and refused by a reload */
		log_warnx("%s: %s (%s, %s); TLS disabled", __func__, why,
		    b->cfg->tls_cert, b->cfg->tls_key);
		tls = 0;
	}
	dbg = getenv("SECRETD_SECCOMP_DEBUG");
	memset(&c, 0, sizeof(c));
	snprintf(c.user, sizeof(c.user), "%s", b->cfg->frontend_user);
	snprintf(c.chroot_dir, sizeof(c.chroot_dir), "%s", b->chroot_dir);
	c.have_tls = (uint8_t)tls;
	if (tls) {
		c.cert_pem = cert;
		c.cert_len = certlen;
		c.key_pem = key;
		c.key_len = keylen;
	}
	c.max_conns = b->max_conns;
	c.max_conns_uid = (uint32_t)b->cfg->max_conns_per_uid;
	c.max_conns_addr = (uint32_t)b->cfg->max_conns_per_address;
	c.timeout_s = REQUEST_TIMEOUT_S;
	snprintf(c.listen, sizeof(c.listen), "%s", b->cfg->listen);
	snprintf(c.mcp_origins, sizeof(c.mcp_origins), "%s",
	    b->cfg->mcp_allowed_origins);
	c.seccomp_debug = dbg != NULL && strcmp(dbg, "1") == 0;
	ipc_msg_init(&m, IMSG_CONFIG, q->id);
	msg_config_put(&m, &c);
	if (key != NULL) {
		sodium_memzero(key, keylen);
		free(key);
	}
	free(cert);
	chan_send(b, &m);
	b->fe_state = FE_READY;
	b->restart.ready = 1;
	return 0;
}
