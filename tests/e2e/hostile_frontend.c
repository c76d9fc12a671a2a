/*
 * A hostile secretd-frontend for tests/e2e/test_hostile_frontend.sh.  It
 * starts as the real one does (hello, config, chroot, drop to
 * frontend_user), then plays an attacker with code execution in the
 * front-end: descriptors of every kind, guessed and stale session handles,
 * messages out of state.  It installs no seccomp filter and keeps fork and
 * file writes, so it may do more than a compromised front-end could.
 *
 * The broker kills it for every malformed message, so its progress lives
 * in a results file that each incarnation appends to: "sent N" before a
 * step, "ok N" or "not ok N" after it; a fatal step's result is written by
 * the next incarnation, which finds its predecessor gone.  When every step
 * has a result, the next incarnation execs the real front-end on the same
 * descriptors, before saying hello.  It asks the test script for live
 * clients through request files in the shared folder.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "tool.h"
#include "proto.h"

#define FD_CHAN		3	/* as the broker hands them over */
#define FD_UNIX		4
#define FD_TLS		5

/* The shared folder, the real front-end, the live clients' user. */
#define ENV_DIR		"SECRETD_HOSTILE_DIR"
#define ENV_NEXT	"SECRETD_HOSTILE_NEXT"
#define ENV_USER	"SECRETD_HOSTILE_USER"

#define REPLY_WAIT_MS	5000
#define KILL_WAIT_MS	3000	/* the kill for a fatal message */
#define ASK_WAIT_MS	15000
#define ACCEPT_WAIT_MS	10000
#define HANGUP_WAIT_MS	3000
#define POLL_STEP_MS	50
/*
 * The broker's restart backoff starts over after a front-end lived 10 s;
 * one such front-end halfway keeps later restarts, and the test, short.
 */
#define LONG_LIFE_MS	10500

#define STEPS_MAX	64
#define API_PATH_LEN	sizeof(((struct sockaddr_un *)0)->sun_path)
#define WHY_LEN		256

struct hostile {
	int		 dir;		/* the folder shared with the script */
	int		 out;		/* its results file, append only */
	struct ipc_chan	 chan;
	int		 chan_dead;
	uint32_t	 id;		/* last request id */
	struct timespec	 born;
	char		 user[ID_MAX_LEN + 1];
	uid_t		 user_uid;
	char		 fe_user[ID_MAX_LEN + 1];
	uid_t		 fe_uid;
	char		 chroot_dir[PATH_MAX];
	char		 api_path[API_PATH_LEN];
	int		 tls;		/* fd 5 is the TLS listener */
	int		 devnull;	/* opened before chroot */
	int		 selfconn;	/* to the API socket, made as root */
	unsigned int	 asked;		/* requests to the script */
	int		 live_fd;	/* the first live client */
	pid_t		 live_pid;
	uint64_t	 live_h;
	uint64_t	 twice_h;	/* the same connection, passed again */
	int		 held_fd;	/* the second, kept to the end */
	uint64_t	 held_h;
	int		 held_here;	/* held_h was opened here */
};

struct reply {
	struct ipc_reader *r;		/* positioned after the message */
	uint32_t	 status;
	char		 msg[MSG_LEN];
};

/* What earlier incarnations left in the results file. */
struct progress {
	int		 plan;
	int		 finished;
	int		 result[STEPS_MAX];
	pid_t		 sent[STEPS_MAX];
	uint64_t	 held;
};

struct step {
	const char	*desc;
	/* A check answers 0 (ok), 1 (skip) or -1 (not ok). */
	int		(*check)(struct hostile *, char *, size_t);
	/* An attack builds its message: 0 to send it, 1 skip, -1 failed. */
	int		(*attack)(struct hostile *, struct ipc_msg *, char *,
			    size_t);
	int		 flags;
};
#define S_LONG_LIFE	0x1	/* live past the backoff reset first */
#define S_SELFCONN	0x2	/* needs a connection made as root */

static long long
ms_since(struct timespec t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - t.tv_sec) * 1000 +
	    (now.tv_nsec - t.tv_nsec) / 1000000;
}

static void
nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static uint64_t
random_u64(void)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		fatal("%s: getrandom", __func__);
	return v;
}

/* One line to the results file, in one write so lines never interleave. */
static void
emit(struct hostile *h, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("%s: format", __func__);
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	log_info("%.*s", n, line);
	line[n++] = '\n';
	if (write(h->out, line, (size_t)n) != n)
		fatal("%s: results file", __func__);
}

static void
result(struct hostile *h, int rv, size_t n, const char *desc,
    const char *why)
{
	if (rv == 1)
		emit(h, "ok %zu - %s # SKIP %s", n, desc, why);
	else
		emit(h, "%sok %zu - %s%s%s%s", rv == 0 ? "" : "not ", n, desc,
		    *why ? " (" : "", why, *why ? ")" : "");
}

static int
is_listener(int fd)
{
	socklen_t len = sizeof(int);
	int v;

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 &&
	    v == 1;
}

/* Everything that needs root or the real file system, before hello. */
static void
setup(struct hostile *h)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	struct passwd *pw;
	const char *dir, *user;

	memset(h, 0, sizeof(*h));
	h->devnull = h->selfconn = h->live_fd = h->held_fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &h->born);
	/* First, before any open can take descriptor 5's number. */
	h->tls = is_listener(FD_TLS);
	if ((dir = getenv(ENV_DIR)) == NULL || (user = getenv(ENV_USER)) ==
	    NULL)
		fatalx("%s: %s and %s must be set", __func__, ENV_DIR,
		    ENV_USER);
	if ((h->dir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("%s: %s", __func__, dir);
	if ((h->out = openat(h->dir, "results", O_WRONLY | O_APPEND |
	    O_CREAT | O_CLOEXEC, 0644)) == -1)
		fatal("%s: results file", __func__);
	snprintf(h->user, sizeof(h->user), "%s", user);
	if ((pw = getpwnam(user)) == NULL)
		fatalx("%s: no user %s", __func__, user);
	h->user_uid = pw->pw_uid;
	memset(&sun, 0, sizeof(sun));
	if (getsockname(FD_UNIX, (struct sockaddr *)&sun, &len) == -1 ||
	    sun.sun_family != AF_UNIX || sun.sun_path[0] == '\0')
		fatalx("%s: fd %d is not the API socket", __func__, FD_UNIX);
	memcpy(h->api_path, sun.sun_path, sizeof(h->api_path) - 1);
}

static int
send_msg(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	struct pollfd pfd = { .fd = FD_CHAN, .events = POLLOUT };
	int rc;

	if (ipc_chan_send(&h->chan, m) == -1) {
		ipc_msg_free(m);
		snprintf(why, len, "message could not be built");
		return -1;
	}
	while ((rc = ipc_chan_flush(&h->chan)) == 0)
		if (poll(&pfd, 1, REPLY_WAIT_MS) == 0)
			break;
	if (rc != 1) {
		h->chan_dead = 1;
		snprintf(why, len, "channel write failed: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The broker's next message within ms: an IPC_* code. */
static int
recv_msg(struct hostile *h, int ms, struct ipc_reader **rp)
{
	struct pollfd pfd = { .fd = FD_CHAN, .events = POLLIN };
	struct timespec t0;
	long long left;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if ((rc = ipc_chan_recv(&h->chan, NULL, rp)) != IPC_AGAIN)
			break;
		if ((left = ms - ms_since(t0)) <= 0)
			break;
		poll(&pfd, 1, (int)left);
	}
	if (rc == IPC_EOF || rc == IPC_ERROR)
		h->chan_dead = 1;
	return rc;
}

static int
await(struct hostile *h, uint32_t id, struct reply *rep, char *why,
    size_t len)
{
	struct ipc_reader *r;
	struct msg_reply hdr;

	switch (recv_msg(h, REPLY_WAIT_MS, &r)) {
	case IPC_READY:
		break;
	case IPC_EOF:
		snprintf(why, len, "the broker closed the channel");
		return -1;
	case IPC_AGAIN:
		snprintf(why, len, "no reply in %d ms", REPLY_WAIT_MS);
		return -1;
	default:
		snprintf(why, len, "channel: %s", strerror(errno));
		return -1;
	}
	if (r->hdr.type != IMSG_REPLY || r->hdr.id != id) {
		snprintf(why, len, "unexpected message type %u id %u, want "
		    "the reply to %u", r->hdr.type, r->hdr.id, id);
		return -1;
	}
	if (msg_reply_get(r, &hdr) == -1) {
		snprintf(why, len, "malformed reply");
		return -1;
	}
	rep->status = hdr.status;
	memcpy(rep->msg, hdr.message, sizeof(rep->msg));
	rep->r = r;
	return 0;
}

static uint32_t
msg_start(struct hostile *h, struct ipc_msg *m, uint32_t type)
{
	ipc_msg_init(m, type, ++h->id);
	return h->id;
}

static int
call(struct hostile *h, struct ipc_msg *m, struct reply *rep, char *why,
    size_t len)
{
	uint32_t id = h->id;

	if (send_msg(h, m, why, len) == -1)
		return -1;
	return await(h, id, rep, why, len);
}

/* A list of the caller's secrets under a handle (and maybe a token). */
static void
put_list(struct ipc_msg *m, uint64_t handle, const char *token)
{
	struct msg_secret_list l;

	memset(&l, 0, sizeof(l));
	l.auth.kind = token != NULL ? AUTH_TOKEN : AUTH_SESSION;
	l.auth.token = token;
	l.auth.session = handle;
	snprintf(l.auth.source, sizeof(l.auth.source), "unix");
	msg_secret_list_put(m, &l);
}

/* List the caller's secrets under a handle; the reply's status. */
static int
list_as(struct hostile *h, uint64_t handle, struct reply *rep, char *why,
    size_t len)
{
	struct ipc_msg m;

	msg_start(h, &m, IMSG_SECRET_LIST);
	put_list(&m, handle, NULL);
	return call(h, &m, rep, why, len);
}

static int
ping(struct hostile *h, char *why, size_t len)
{
	struct ipc_msg m;
	struct reply rep;

	msg_start(h, &m, IMSG_PING);
	if (call(h, &m, &rep, why, len) == -1)
		return -1;
	if (rep.status != RT_OK) {
		snprintf(why, len, "ping answered %s",
		    rt_status_code(rep.status));
		return -1;
	}
	return 0;
}

static void
hello(struct hostile *h)
{
	struct msg_hello hi = { PROTO_VERSION };
	struct msg_config c;
	struct ipc_reader *r;
	struct ipc_msg m;
	char why[WHY_LEN];

	if (ipc_chan_init(&h->chan, FD_CHAN) == -1)
		fatal("%s: channel", __func__);
	ipc_msg_init(&m, IMSG_HELLO, 0);
	msg_hello_put(&m, &hi);
	if (send_msg(h, &m, why, sizeof(why)) == -1)
		fatalx("%s: %s", __func__, why);
	if (recv_msg(h, REPLY_WAIT_MS, &r) != IPC_READY)
		fatalx("%s: no config from the broker", __func__);
	if (r->hdr.type != IMSG_CONFIG || msg_config_get(r, &c) == -1)
		fatalx("%s: malformed IMSG_CONFIG", __func__);
	/* Only where to go and who to be; the rest is the real one's. */
	memcpy(h->fe_user, c.user, sizeof(h->fe_user));
	memcpy(h->chroot_dir, c.chroot_dir, sizeof(h->chroot_dir));
}

/*
 * The real front-end's drop: chroot to the empty folder, no groups,
 * frontend_user's ids for good, no core, no_new_privs.  Left out on
 * purpose: its seccomp filter, RLIMIT_NPROC (the abstract-socket attack
 * forks) and RLIMIT_FSIZE (results go to a file).
 */
static void
drop(struct hostile *h)
{
	struct rlimit core = { 0, 0 };
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	if ((pw = getpwnam(h->fe_user)) == NULL)
		fatalx("%s: no user %s", __func__, h->fe_user);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	endpwent();
	if (uid == 0)
		fatalx("%s: frontend_user is root", __func__);
	if (chroot(h->chroot_dir) == -1 || chdir("/") == -1)
		fatal("%s: chroot %s", __func__, h->chroot_dir);
	if (setgroups(0, NULL) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		fatal("%s: ids", __func__);
	if (setuid(0) != -1)
		fatalx("%s: root could be regained", __func__);
	h->fe_uid = uid;
	if (setrlimit(RLIMIT_CORE, &core) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("%s: limits", __func__);
}

/* Ask the test script for something; its answer goes to ans. */
static int
ask(struct hostile *h, const char *cmd, char *ans, size_t anslen,
    char *why, size_t len)
{
	char tmp[64], req[64], ack[64];
	struct timespec t0;
	ssize_t n;
	int fd;

	h->asked++;
	snprintf(tmp, sizeof(tmp), "tmp.%d.%u", (int)getpid(), h->asked);
	snprintf(req, sizeof(req), "req.%d.%u", (int)getpid(), h->asked);
	snprintf(ack, sizeof(ack), "ack.%d.%u", (int)getpid(), h->asked);
	if ((fd = openat(h->dir, tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0644)) == -1 || dprintf(fd, "%s\n", cmd) < 0 ||
	    close(fd) == -1 || renameat(h->dir, tmp, h->dir, req) == -1) {
		snprintf(why, len, "request %s: %s", cmd, strerror(errno));
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((fd = openat(h->dir, ack, O_RDONLY | O_CLOEXEC)) == -1) {
		if (ms_since(t0) > ASK_WAIT_MS) {
			snprintf(why, len, "no answer to %s", cmd);
			return -1;
		}
		nap_ms(20);
	}
	n = read(fd, ans, anslen - 1);
	close(fd);
	unlinkat(h->dir, ack, 0);
	ans[n > 0 ? n : 0] = '\0';
	ans[strcspn(ans, "\n")] = '\0';
	return 0;
}

static int
accept_wait(int lfd, int ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	struct timespec t0;
	long long left;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((left = ms - ms_since(t0)) > 0) {
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) != -1)
			return fd;
	}
	return -1;
}

/*
 * Accept, from the API listener, the connection the process pid made;
 * others left in the backlog by earlier incarnations are dropped.
 */
static int
accept_from(pid_t pid, struct ucred *cred, char *why, size_t len)
{
	struct timespec t0;
	socklen_t clen;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((fd = accept_wait(FD_UNIX, ACCEPT_WAIT_MS -
	    (int)ms_since(t0))) != -1) {
		clen = sizeof(*cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &clen) == 0 &&
		    cred->pid == pid)
			return fd;
		close(fd);
	}
	snprintf(why, len, "no connection from pid %d", (int)pid);
	return -1;
}

/* A client of the script's making, as the live user, accepted here. */
static int
client(struct hostile *h, const char *kind, pid_t *pidp, char *why,
    size_t len)
{
	struct ucred cred;
	char ans[32];
	int fd;

	if (ask(h, kind, ans, sizeof(ans), why, len) == -1)
		return -1;
	if ((*pidp = (pid_t)strtol(ans, NULL, 10)) <= 0) {
		snprintf(why, len, "the script answered %s: %s", kind, ans);
		return -1;
	}
	if ((fd = accept_from(*pidp, &cred, why, len)) == -1)
		return -1;
	if (strcmp(kind, "live") == 0 && cred.uid != h->user_uid) {
		snprintf(why, len, "the live client is uid %u, not %s",
		    (unsigned)cred.uid, h->user);
		close(fd);
		return -1;
	}
	return fd;
}

/* Pass a copy of fd in IMSG_CONN_UNIX; our own copy stays open. */
static int
pass(struct hostile *h, int fd, struct reply *rep, char *why, size_t len)
{
	struct ipc_msg m;
	int copy;

	if ((copy = dup(fd)) == -1) {
		snprintf(why, len, "dup: %s", strerror(errno));
		return -1;
	}
	msg_start(h, &m, IMSG_CONN_UNIX);
	msg_conn_unix_put(&m, copy);
	return call(h, &m, rep, why, len);
}

/* A session for the live user, member role, exactly. */
static int
session_for(struct hostile *h, int fd, uint64_t *handle, char *why,
    size_t len)
{
	struct msg_session sess;
	struct reply rep;

	if (pass(h, fd, &rep, why, len) == -1)
		return -1;
	if (rep.status != RT_OK) {
		snprintf(why, len, "refused: %s: %s",
		    rt_status_code(rep.status), rep.msg);
		return -1;
	}
	if (msg_session_get(rep.r, &sess) == -1) {
		snprintf(why, len, "malformed session reply");
		return -1;
	}
	*handle = sess.session;
	snprintf(why, len, "session for %s, role %s", sess.user_id,
	    sess.role == ROLE_ADMIN ? "admin" : "member");
	if (strcmp(sess.user_id, h->user) != 0 || sess.role != ROLE_MEMBER)
		return -1;
	return 0;
}

/* What an attacker here holds: no root, no groups, an empty root. */
static int
c_sandboxed(struct hostile *h, char *why, size_t len)
{
	uid_t r, e, s;

	if (getresuid(&r, &e, &s) == -1 || r != h->fe_uid || e != h->fe_uid ||
	    s != h->fe_uid) {
		snprintf(why, len, "uids %u %u %u", (unsigned)r, (unsigned)e,
		    (unsigned)s);
		return -1;
	}
	if (getgroups(0, NULL) != 0) {
		snprintf(why, len, "supplementary groups remain");
		return -1;
	}
	if (access("/etc/passwd", F_OK) != -1 || errno != ENOENT) {
		snprintf(why, len, "/etc/passwd is visible");
		return -1;
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		snprintf(why, len, "no_new_privs is off");
		return -1;
	}
	snprintf(why, len, "uid %u", (unsigned)h->fe_uid);
	return 0;
}

static int
c_live_session(struct hostile *h, char *why, size_t len)
{
	if ((h->live_fd = client(h, "live", &h->live_pid, why, len)) == -1)
		return -1;
	return session_for(h, h->live_fd, &h->live_h, why, len);
}

static int
need_live(struct hostile *h, char *why, size_t len)
{
	if (h->live_h != 0)
		return 0;
	snprintf(why, len, "no live session in this front-end");
	return -1;
}

static int
c_session_serves(struct hostile *h, char *why, size_t len)
{
	struct reply rep;

	if (need_live(h, why, len) == -1 ||
	    list_as(h, h->live_h, &rep, why, len) == -1)
		return -1;
	if (rep.status == RT_OK)
		return 0;
	snprintf(why, len, "%s: %s", rt_status_code(rep.status), rep.msg);
	return -1;
}

/*
 * The metrics are the broker's to refuse, whoever the front-end says
 * asks: the live member's session gets 403, a guessed handle 401.
 */
static int
c_metrics(struct hostile *h, char *why, size_t len)
{
	uint64_t handles[2];
	uint32_t want[2] = { RT_FORBIDDEN, RT_UNAUTH };
	struct msg_auth a;
	struct ipc_msg m;
	struct reply rep;
	size_t i;

	if (need_live(h, why, len) == -1)
		return -1;
	handles[0] = h->live_h;
	handles[1] = random_u64();
	for (i = 0; i < 2; i++) {
		memset(&a, 0, sizeof(a));
		a.kind = AUTH_SESSION;
		a.session = handles[i];
		snprintf(a.source, sizeof(a.source), "unix");
		msg_start(h, &m, IMSG_METRICS);
		msg_auth_put(&m, &a);
		if (call(h, &m, &rep, why, len) == -1)
			return -1;
		if (rep.status != want[i]) {
			snprintf(why, len, "metrics under %s answered %s",
			    i == 0 ? "a member's session" : "a guessed handle",
			    rt_status_code(rep.status));
			return -1;
		}
	}
	return 0;
}

/* Each guess must get RT_UNAUTH, and must not be the live handle. */
static int
guesses(struct hostile *h, const uint64_t *v, size_t n, char *why,
    size_t len)
{
	struct reply rep;
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i] == h->live_h && v[i] != 0)
			continue;
		if (list_as(h, v[i], &rep, why, len) == -1)
			return -1;
		if (rep.status != RT_UNAUTH) {
			snprintf(why, len, "handle %#" PRIx64 " got %s",
			    v[i], rt_status_code(rep.status));
			return -1;
		}
	}
	snprintf(why, len, "%zu handles", n);
	return 0;
}

static int
c_handle_zero(struct hostile *h, char *why, size_t len)
{
	uint64_t v = 0;

	return guesses(h, &v, 1, why, len);
}

static int
c_handle_random(struct hostile *h, char *why, size_t len)
{
	uint64_t v[16];
	size_t i;

	for (i = 0; i < 16; i++)
		v[i] = random_u64();
	return guesses(h, v, 16, why, len);
}

/* Small numbers, and the live handle's low bits alone, as a slot. */
static int
c_handle_slots(struct hostile *h, char *why, size_t len)
{
	uint64_t v[34];
	size_t i;

	for (i = 0; i < 32; i++)
		v[i] = i + 1;
	v[32] = h->live_h & 0xffff;
	v[33] = h->live_h & 0xffffffff;
	return guesses(h, v, 34, why, len);
}

static int
c_handle_bitflip(struct hostile *h, char *why, size_t len)
{
	uint64_t v[64];
	size_t i;

	if (need_live(h, why, len) == -1)
		return -1;
	for (i = 0; i < 64; i++)
		v[i] = h->live_h ^ (1ULL << i);
	return guesses(h, v, 64, why, len);
}

/* No reply to CONN_CLOSE: the next message must answer the ping. */
static int
c_close_unknown(struct hostile *h, char *why, size_t len)
{
	struct ipc_msg m;

	msg_start(h, &m, IMSG_CONN_CLOSE);
	msg_conn_close_put(&m, &(struct msg_conn_close){ random_u64() });
	if (send_msg(h, &m, why, len) == -1)
		return -1;
	return ping(h, why, len);
}

static int
c_close_neighbour(struct hostile *h, char *why, size_t len)
{
	const uint64_t flips[] = { 1, 1ULL << 40, 1ULL << 63 };
	struct ipc_msg m;
	size_t i;

	if (need_live(h, why, len) == -1)
		return -1;
	for (i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		msg_start(h, &m, IMSG_CONN_CLOSE);
		msg_conn_close_put(&m,
		    &(struct msg_conn_close){ h->live_h ^ flips[i] });
		if (send_msg(h, &m, why, len) == -1)
			return -1;
	}
	return c_session_serves(h, why, len);
}

static int
c_twice(struct hostile *h, char *why, size_t len)
{
	if (need_live(h, why, len) == -1 ||
	    session_for(h, h->live_fd, &h->twice_h, why, len) == -1)
		return -1;
	if (h->twice_h == h->live_h) {
		snprintf(why, len, "the same handle as the first pass");
		return -1;
	}
	return 0;
}

static int
c_second_session(struct hostile *h, char *why, size_t len)
{
	pid_t pid;

	if ((h->held_fd = client(h, "live", &pid, why, len)) == -1 ||
	    session_for(h, h->held_fd, &h->held_h, why, len) == -1)
		return -1;
	if (h->held_h == h->live_h) {
		snprintf(why, len, "the same handle as the first session");
		return -1;
	}
	h->held_here = 1;
	emit(h, "note held %016" PRIx64, h->held_h);
	return 0;
}

/* Poll a handle until it gets 401, for at most HANGUP_WAIT_MS. */
static int
until_unauth(struct hostile *h, uint64_t handle, struct timespec t0,
    char *why, size_t len)
{
	struct reply rep;

	for (;;) {
		if (list_as(h, handle, &rep, why, len) == -1)
			return -1;
		if (rep.status == RT_UNAUTH) {
			snprintf(why, len, "401 after %lld ms: %s",
			    ms_since(t0), rep.msg);
			return 0;
		}
		if (ms_since(t0) > HANGUP_WAIT_MS)
			break;
		nap_ms(POLL_STEP_MS);
	}
	snprintf(why, len, "handle %#" PRIx64 " still %s %d ms after the "
	    "hang-up", handle, rt_status_code(rep.status), HANGUP_WAIT_MS);
	return -1;
}

/* The front-end keeps its copy and never says CONN_CLOSE. */
static int
c_hangup(struct hostile *h, char *why, size_t len)
{
	struct timespec t0;
	char cmd[32], ans[32];

	if (need_live(h, why, len) == -1)
		return -1;
	snprintf(cmd, sizeof(cmd), "hangup %d", (int)h->live_pid);
	if (ask(h, cmd, ans, sizeof(ans), why, len) == -1)
		return -1;
	if (strcmp(ans, "gone") != 0) {
		snprintf(why, len, "the script answered %s: %s", cmd, ans);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (h->twice_h != 0 && until_unauth(h, h->twice_h, t0, why,
	    len) == -1)
		return -1;
	return until_unauth(h, h->live_h, t0, why, len);
}

static int
c_other_alive(struct hostile *h, char *why, size_t len)
{
	struct reply rep;

	if (h->held_h == 0) {
		snprintf(why, len, "no second session");
		return -1;
	}
	if (list_as(h, h->held_h, &rep, why, len) == -1)
		return -1;
	if (rep.status == RT_OK)
		return 0;
	snprintf(why, len, "%s: %s", rt_status_code(rep.status), rep.msg);
	return -1;
}

/* A refusal is an ordinary 401 reply, and the channel goes on. */
static int
refused(struct hostile *h, int fd, char *why, size_t len)
{
	struct reply rep;
	char msg[WHY_LEN];

	if (pass(h, fd, &rep, why, len) == -1)
		return -1;
	if (rep.status != RT_UNAUTH) {
		snprintf(why, len, "answered %s", rt_status_code(rep.status));
		return -1;
	}
	snprintf(msg, sizeof(msg), "%s", rep.msg);
	if (ping(h, why, len) == -1)
		return -1;
	snprintf(why, len, "401: %s", msg);
	return 0;
}

static int
c_repass(struct hostile *h, char *why, size_t len)
{
	if (h->live_fd == -1) {
		snprintf(why, len, "no hung-up connection in this front-end");
		return -1;
	}
	return refused(h, h->live_fd, why, len);
}

static int
c_closed_client(struct hostile *h, char *why, size_t len)
{
	pid_t pid;
	int fd, rv;

	if ((fd = client(h, "closed", &pid, why, len)) == -1)
		return -1;
	rv = refused(h, fd, why, len);
	close(fd);
	return rv;
}

static int
c_ping(struct hostile *h, char *why, size_t len)
{
	return ping(h, why, len);
}

/* A token present wins: a bad one never falls back to the session. */
static int
c_token_guess(struct hostile *h, char *why, size_t len)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_";
	char token[4 + 43 + 1] = "rts_";
	struct ipc_msg m;
	struct reply rep;
	size_t i;

	if (!h->held_here) {
		snprintf(why, len, "no live session in this front-end");
		return -1;
	}
	for (i = 4; i < sizeof(token) - 1; i++)
		token[i] = b64[random_u64() % 64];
	token[i] = '\0';
	msg_start(h, &m, IMSG_SECRET_LIST);
	put_list(&m, h->held_h, token);
	if (call(h, &m, &rep, why, len) == -1)
		return -1;
	if (rep.status == RT_UNAUTH)
		return 0;
	snprintf(why, len, "answered %s", rt_status_code(rep.status));
	return -1;
}

static int
c_stale(struct hostile *h, char *why, size_t len)
{
	struct reply rep;

	if (h->held_h == 0) {
		snprintf(why, len, "no session was noted");
		return -1;
	}
	if (h->held_here) {
		snprintf(why, len, "the front-end that opened it was never "
		    "killed");
		return -1;
	}
	if (list_as(h, h->held_h, &rep, why, len) == -1)
		return -1;
	if (rep.status == RT_UNAUTH) {
		snprintf(why, len, "401: %s", rep.msg);
		return 0;
	}
	snprintf(why, len, "answered %s", rt_status_code(rep.status));
	return -1;
}

static int
conn_msg(struct hostile *h, struct ipc_msg *m, int fd, char *why,
    size_t len)
{
	if (fd == -1) {
		snprintf(why, len, "no descriptor to pass: %s",
		    strerror(errno));
		return -1;
	}
	msg_start(h, m, IMSG_CONN_UNIX);
	msg_conn_unix_put(m, fd);
	return 0;
}

static int
a_listener(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	return conn_msg(h, m, dup(FD_UNIX), why, len);
}

static int
no_tls(struct hostile *h, char *why, size_t len)
{
	if (h->tls)
		return 0;
	snprintf(why, len, "no TLS listener configured");
	return 1;
}

static int
a_tls_listener(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	if (no_tls(h, why, len))
		return 1;
	return conn_msg(h, m, dup(FD_TLS), why, len);
}

static int
a_channel(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	return conn_msg(h, m, dup(FD_CHAN), why, len);
}

/* The other end stays open, so the pair is alive when checked. */
static int
a_socketpair(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return conn_msg(h, m, -1, why, len);
	return conn_msg(h, m, sv[0], why, len);
}

static int
a_pipe(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		return conn_msg(h, m, -1, why, len);
	return conn_msg(h, m, p[0], why, len);
}

/* A loopback TCP connection to the TLS listener's port. */
static int
tcp_connect(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(ss);
	int fd;

	if (getsockname(FD_TLS, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET && sin->sin_addr.s_addr ==
	    htonl(INADDR_ANY))
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
		sin6->sin6_addr = in6addr_loopback;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
a_tcp_client(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	if (no_tls(h, why, len))
		return 1;
	return conn_msg(h, m, tcp_connect(), why, len);
}

static in_port_t
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_port;
	return ((const struct sockaddr_in6 *)ss)->sin6_port;
}

/* The server side of our own connection, accepted from fd 5. */
static int
a_tcp_accepted(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	struct sockaddr_storage mine, peer;
	socklen_t ml = sizeof(mine), pl;
	int c, fd;

	if (no_tls(h, why, len))
		return 1;
	if ((c = tcp_connect()) == -1 ||
	    getsockname(c, (struct sockaddr *)&mine, &ml) == -1)
		return conn_msg(h, m, -1, why, len);
	while ((fd = accept_wait(FD_TLS, ACCEPT_WAIT_MS)) != -1) {
		pl = sizeof(peer);
		if (getpeername(fd, (struct sockaddr *)&peer, &pl) == 0 &&
		    port_of(&peer) == port_of(&mine))
			break;
		close(fd);
	}
	return conn_msg(h, m, fd, why, len);
}

static int
a_devnull(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	return conn_msg(h, m, dup(h->devnull), why, len);
}

/*
 * An abstract-namespace socket named like the API socket, whose client
 * is a child: only the name tells it from a real connection.
 */
static int
a_abstract(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	struct sockaddr_un sun;
	socklen_t sl;
	size_t n;
	pid_t pid;
	int lfd, c, fd = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = strnlen(h->api_path, sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path + 1, h->api_path, n);
	sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sl) == -1 ||
	    listen(lfd, 1) == -1 || (pid = fork()) == -1)
		return conn_msg(h, m, -1, why, len);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		closefrom(STDERR_FILENO + 1);
		if ((c = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
		    connect(c, (struct sockaddr *)&sun, sl) == -1)
			_exit(1);
		for (;;)
			pause();
	}
	fd = accept_wait(lfd, ACCEPT_WAIT_MS);
	close(lfd);
	return conn_msg(h, m, fd, why, len);
}

static int
a_selfconn(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	struct ucred cred;
	int fd;

	if (h->selfconn == -1) {
		snprintf(why, len, "this front-end made no connection before "
		    "its drop");
		return -1;
	}
	if ((fd = accept_from(getpid(), &cred, why, len)) == -1)
		return -1;
	return conn_msg(h, m, fd, why, len);
}

static int
a_hello(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	msg_start(h, m, IMSG_HELLO);
	msg_hello_put(m, &(struct msg_hello){ PROTO_VERSION });
	return 0;
}

static int
a_config(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	struct msg_config c = { .user = "root", .chroot_dir = "/",
	    .max_conns = 1, .max_conns_uid = 1, .max_conns_addr = 1,
	    .timeout_s = 1 };

	/* Well-formed: only its direction makes it fatal. */
	msg_start(h, m, IMSG_CONFIG);
	msg_config_put(m, &c);
	return 0;
}

static int
a_reply(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	msg_start(h, m, IMSG_REPLY);
	msg_reply_put(m, &(struct msg_reply){ RT_OK, "" });
	return 0;
}

static int
a_unknown(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	msg_start(h, m, IMSG_MAX);
	return 0;
}

static int
a_fd_on_ping(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		return conn_msg(h, m, -1, why, len);
	msg_start(h, m, IMSG_PING);
	ipc_msg_set_fd(m, p[0]);
	return 0;
}

/* IMSG_METRICS holds an auth block and nothing after it. */
static int
a_metrics_leftover(struct hostile *h, struct ipc_msg *m, char *why,
    size_t len)
{
	struct msg_auth a;

	memset(&a, 0, sizeof(a));
	a.kind = AUTH_SESSION;
	a.session = h->held_h;
	snprintf(a.source, sizeof(a.source), "unix");
	msg_start(h, m, IMSG_METRICS);
	msg_auth_put(m, &a);
	ipc_put_u8(m, 0);
	return 0;
}

/*
 * A field outside its rule: the real front-end checks every name before
 * it asks, so the broker need not answer one that breaks the rule.
 */
static int
a_bad_name(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	struct msg_secret_ref ref;

	memset(&ref, 0, sizeof(ref));
	ref.auth.kind = AUTH_SESSION;
	ref.auth.session = h->held_h;
	snprintf(ref.auth.source, sizeof(ref.auth.source), "unix");
	snprintf(ref.name, sizeof(ref.name), "../etc");
	msg_start(h, m, IMSG_SECRET_GET);
	msg_secret_ref_put(m, &ref);
	return 0;
}

/* A reference to a secret as the real front-end sends it, of type t. */
static void
ref_msg(struct hostile *h, struct ipc_msg *m, uint32_t t, uint32_t version)
{
	struct msg_secret_ref ref;

	memset(&ref, 0, sizeof(ref));
	ref.auth.kind = AUTH_SESSION;
	ref.auth.session = h->held_h;
	snprintf(ref.auth.source, sizeof(ref.auth.source), "unix");
	snprintf(ref.name, sizeof(ref.name), "SOME_SECRET");
	ref.version = version;
	msg_start(h, m, t);
	msg_secret_ref_put(m, &ref);
}

/* A version only a reveal or a rollback carries, on a delete. */
static int
a_delete_version(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	(void)why;
	(void)len;
	ref_msg(h, m, IMSG_SECRET_DELETE, 3);
	return 0;
}

/* A rollback names the version to copy; the front-end never sends 0. */
static int
a_rollback_no_version(struct hostile *h, struct ipc_msg *m, char *why,
    size_t len)
{
	(void)why;
	(void)len;
	ref_msg(h, m, IMSG_SECRET_ROLLBACK, 0);
	return 0;
}

/* The same for a tool execution: a tool name no tool file can have. */
static int
a_bad_tool(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	static struct tool_exec_req x;

	(void)why;
	(void)len;
	memset(&x, 0, sizeof(x));
	x.auth.kind = AUTH_SESSION;
	x.auth.session = h->held_h;
	snprintf(x.auth.source, sizeof(x.auth.source), "unix");
	snprintf(x.tool, sizeof(x.tool), "../../bin/sh");
	snprintf(x.action, sizeof(x.action), "run");
	msg_start(h, m, IMSG_TOOL_EXEC);
	tool_exec_req_put(m, &x);
	return 0;
}

/* An execution whose client name would forge an audit line. */
static int
a_bad_client(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	static struct tool_exec_req x;

	(void)why;
	(void)len;
	memset(&x, 0, sizeof(x));
	x.auth.kind = AUTH_SESSION;
	x.auth.session = h->held_h;
	snprintf(x.auth.source, sizeof(x.auth.source), "unix");
	snprintf(x.client, sizeof(x.client), "agent\n{\"op\":\"forged\"}");
	snprintf(x.tool, sizeof(x.tool), "crm");
	snprintf(x.action, sizeof(x.action), "echo");
	msg_start(h, m, IMSG_TOOL_EXEC);
	tool_exec_req_put(m, &x);
	return 0;
}

/* A token asked for with a scope that names no tool. */
static int
a_bad_scope(struct hostile *h, struct ipc_msg *m, char *why, size_t len)
{
	struct msg_token_create t;

	(void)why;
	(void)len;
	memset(&t, 0, sizeof(t));
	t.auth.kind = AUTH_SESSION;
	t.auth.session = h->held_h;
	snprintf(t.auth.source, sizeof(t.auth.source), "unix");
	t.role = ROLE_MEMBER;
	t.scopes.n = 1;
	snprintf(t.scopes.tool[0], sizeof(t.scopes.tool[0]), "../secrets");
	msg_start(h, m, IMSG_TOKEN_CREATE);
	msg_token_create_put(m, &t);
	return 0;
}

static const struct step steps[] = {
	{ "it runs chrooted as frontend_user, like the real front-end",
	    c_sandboxed, NULL, 0 },
	{ "a live client's connection gives a session for exactly its user",
	    c_live_session, NULL, 0 },
	{ "that session serves a request", c_session_serves, NULL, 0 },
	{ "metrics under a member's session get 403, under a guessed "
	    "handle 401", c_metrics, NULL, 0 },
	{ "session handle 0 gets 401", c_handle_zero, NULL, 0 },
	{ "random session handles get 401", c_handle_random, NULL, 0 },
	{ "slot numbers as session handles get 401", c_handle_slots, NULL, 0 },
	{ "the live handle with any one bit flipped gets 401",
	    c_handle_bitflip, NULL, 0 },
	{ "CONN_CLOSE for an unknown handle gets no reply", c_close_unknown,
	    NULL, 0 },
	{ "CONN_CLOSE for a live handle's neighbours leaves that session "
	    "alone", c_close_neighbour, NULL, 0 },
	{ "the same connection passed twice gets a second session",
	    c_twice, NULL, 0 },
	{ "a second live client gets a session of its own",
	    c_second_session, NULL, 0 },
	{ "both sessions of a connection end when its client hangs up, "
	    "with no CONN_CLOSE", c_hangup, NULL, 0 },
	{ "the other client's session outlives that hang-up", c_other_alive,
	    NULL, 0 },
	{ "the hung-up connection passed again is refused with 401, "
	    "not fatal", c_repass, NULL, 0 },
	{ "a connection whose client closed before it was passed is refused "
	    "with 401, not fatal", c_closed_client, NULL, 0 },
	{ "the channel still serves after the refusals", c_ping, NULL, 0 },
	{ "a guessed token beside a live session handle gets 401",
	    c_token_guess, NULL, 0 },
	{ "the unix listener passed as a client is fatal", NULL, a_listener,
	    0 },
	{ "a session opened by a killed front-end gets 401 in its successor",
	    c_stale, NULL, 0 },
	{ "the TLS listener passed as a client is fatal", NULL,
	    a_tls_listener, 0 },
	{ "the broker channel passed as a client is fatal", NULL, a_channel,
	    0 },
	{ "a socketpair end passed as a client is fatal", NULL, a_socketpair,
	    0 },
	{ "a pipe passed as a client is fatal", NULL, a_pipe, 0 },
	{ "a TCP connection to the TLS port passed as a client is fatal",
	    NULL, a_tcp_client, 0 },
	{ "the accepted side of a TCP connection passed as a client is "
	    "fatal", NULL, a_tcp_accepted, 0 },
	{ "/dev/null passed as a client is fatal", NULL, a_devnull,
	    S_LONG_LIFE },
	{ "an abstract-namespace connection named like the API socket is "
	    "fatal", NULL, a_abstract, 0 },
	{ "the front-end's own connection, made as root before its drop, "
	    "is fatal", NULL, a_selfconn, S_SELFCONN },
	{ "a second IMSG_HELLO is fatal", NULL, a_hello, 0 },
	{ "IMSG_CONFIG sent to the broker is fatal", NULL, a_config, 0 },
	{ "IMSG_REPLY sent to the broker is fatal", NULL, a_reply, 0 },
	{ "an unknown message type is fatal", NULL, a_unknown, 0 },
	{ "a descriptor on IMSG_PING is fatal", NULL, a_fd_on_ping, 0 },
	{ "a secret name outside the rules is fatal, not refused", NULL,
	    a_bad_name, 0 },
	{ "a tool name outside the rules is fatal, not refused", NULL,
	    a_bad_tool, 0 },
	{ "a client name with a control byte is fatal, not audited", NULL,
	    a_bad_client, 0 },
	{ "a token scope that is no tool name is fatal, not stored", NULL,
	    a_bad_scope, 0 },
	{ "a version on a delete is fatal, not a delete", NULL,
	    a_delete_version, 0 },
	{ "a rollback without a version is fatal", NULL,
	    a_rollback_no_version, 0 },
	{ "IMSG_METRICS with a byte after its auth block is fatal", NULL,
	    a_metrics_leftover, 0 },
};
static const size_t nsteps = sizeof(steps) / sizeof(steps[0]);
_Static_assert(sizeof(steps) / sizeof(steps[0]) <= STEPS_MAX,
    "the progress arrays hold every step");

static void
read_progress(struct hostile *h, struct progress *p)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned int n;
	uint64_t v;
	int fd, pid;
	FILE *f;

	memset(p, 0, sizeof(*p));
	if ((fd = openat(h->dir, "results", O_RDONLY | O_CLOEXEC)) == -1 ||
	    (f = fdopen(fd, "r")) == NULL)
		fatal("%s: results file", __func__);
	while (getline(&line, &cap, f) != -1) {
		if (sscanf(line, "plan %u", &n) == 1)
			p->plan = 1;
		else if (strcmp(line, "done\n") == 0)
			p->finished = 1;
		else if (sscanf(line, "note held %" SCNx64, &v) == 1)
			p->held = v;
		else if (sscanf(line, "sent %u pid %d", &n, &pid) == 2 &&
		    n >= 1 && n <= nsteps)
			p->sent[n - 1] = pid;
		else if ((sscanf(line, "ok %u ", &n) == 1 ||
		    sscanf(line, "not ok %u ", &n) == 1) && n >= 1 &&
		    n <= nsteps)
			p->result[n - 1] = 1;
	}
	free(line);
	fclose(f);
}

/*
 * A step that was sent but has no result stopped its front-end: that is
 * the outcome wanted for an attack, and a failure for a check.
 */
static void
settle(struct hostile *h, struct progress *p)
{
	char why[WHY_LEN];
	size_t i;
	pid_t pid;
	int gone;

	for (i = 0; i < nsteps; i++) {
		if (p->result[i] || (pid = p->sent[i]) == 0)
			continue;
		gone = kill(pid, 0) == -1 && errno == ESRCH;
		if (steps[i].attack != NULL && gone) {
			snprintf(why, sizeof(why), "front-end pid %d killed",
			    (int)pid);
			result(h, 0, i + 1, steps[i].desc, why);
		} else {
			snprintf(why, sizeof(why), "front-end pid %d %s during "
			    "it", (int)pid, gone ? "was stopped" :
			    "is still alive but went silent");
			result(h, -1, i + 1, steps[i].desc, why);
		}
		p->result[i] = 1;
	}
}

static size_t
first_pending(const struct progress *p)
{
	size_t i;

	for (i = 0; i < nsteps; i++)
		if (!p->result[i])
			break;
	return i;
}

/* The attacks that need what the chroot hides, made while still root. */
static void
prepare(struct hostile *h, const struct progress *p)
{
	struct sockaddr_un sun;
	size_t i;

	if ((h->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		fatal("%s: /dev/null", __func__);
	/*
	 * Made by every front-end until that attack ran, so that it runs
	 * even after an attack the broker failed to make fatal.  Those left
	 * over are dropped from the backlog, their clients gone.
	 */
	for (i = 0; i < nsteps; i++)
		if ((steps[i].flags & S_SELFCONN) && !p->result[i])
			break;
	if (i == nsteps)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, h->api_path, sizeof(h->api_path));
	if ((h->selfconn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1 || connect(h->selfconn, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1)
		log_warn("%s: connect %s", __func__, h->api_path);
}

/* After the channel died the broker's kill is on its way; wait for it. */
static void __attribute__((noreturn))
await_kill(struct hostile *h, size_t n, const char *desc)
{
	nap_ms(2000);
	result(h, -1, n, desc, "the channel closed but the front-end was "
	    "not killed");
	exit(1);
}

/* What an answer to an attack says, when there was one. */
static void
describe(struct ipc_reader *r, char *why, size_t len)
{
	struct msg_reply rep;
	struct msg_session sess;

	if (r->hdr.type != IMSG_REPLY || msg_reply_get(r, &rep) == -1) {
		snprintf(why, len, "the broker sent message type %u",
		    r->hdr.type);
		return;
	}
	if (rep.status == RT_OK && msg_session_get(r, &sess) == 0)
		snprintf(why, len, "the broker opened a session for %s, "
		    "role %s, and did not kill the front-end", sess.user_id,
		    sess.role == ROLE_ADMIN ? "admin" : "member");
	else
		snprintf(why, len, "the broker answered %s (%.128s) and did "
		    "not kill the front-end", rt_status_code(rep.status),
		    rep.message);
}

static void
attack(struct hostile *h, size_t i)
{
	const struct step *s = &steps[i];
	struct ipc_reader *r;
	struct ipc_msg m;
	char why[WHY_LEN] = "";
	long long wait;
	int rv;

	if ((s->flags & S_LONG_LIFE) &&
	    (wait = LONG_LIFE_MS - ms_since(h->born)) > 0)
		nap_ms((int)wait);
	if ((rv = s->attack(h, &m, why, sizeof(why))) != 0) {
		result(h, rv, i + 1, s->desc, why);
		return;
	}
	emit(h, "sent %zu pid %d fatal", i + 1, (int)getpid());
	if (send_msg(h, &m, why, sizeof(why)) == -1)
		await_kill(h, i + 1, s->desc);
	switch (recv_msg(h, KILL_WAIT_MS, &r)) {
	case IPC_READY:
		describe(r, why, sizeof(why));
		break;
	case IPC_AGAIN:
		snprintf(why, sizeof(why), "no answer and not killed in %d ms",
		    KILL_WAIT_MS);
		break;
	default:
		await_kill(h, i + 1, s->desc);
	}
	result(h, -1, i + 1, s->desc, why);
}

static void
check(struct hostile *h, size_t i)
{
	char why[WHY_LEN] = "";
	int rv;

	emit(h, "sent %zu pid %d", i + 1, (int)getpid());
	rv = steps[i].check(h, why, sizeof(why));
	result(h, rv, i + 1, steps[i].desc, why);
	if (h->chan_dead) {
		nap_ms(2000);
		exit(1);
	}
}

static void __attribute__((noreturn))
become_real(struct hostile *h, const struct progress *p, char *argv[])
{
	const char *next;

	if (!p->finished)
		emit(h, "done");
	if ((next = getenv(ENV_NEXT)) == NULL)
		fatalx("%s: %s is not set", __func__, ENV_NEXT);
	execv(next, argv);
	fatal("%s: exec %s", __func__, next);
}

int
main(int argc, char *argv[])
{
	struct hostile h;
	struct progress p;
	size_t i;

	log_init("hostile-frontend", LOG_TO_PIPE, 0);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal");
	setup(&h);
	read_progress(&h, &p);
	if (!p.plan)
		emit(&h, "plan %zu", nsteps);
	settle(&h, &p);
	h.held_h = p.held;
	if ((i = first_pending(&p)) == nsteps)
		become_real(&h, &p, argv);
	prepare(&h, &p);
	hello(&h);
	drop(&h);
	for (; i < nsteps; i++) {
		if (steps[i].attack != NULL)
			attack(&h, i);
		else
			check(&h, i);
	}
	/* A fresh start says hello once more, then execs the real one. */
	log_info("every step ran; exiting so the broker starts a new one");
	return 0;
}
