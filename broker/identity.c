/*
 * Who is on the other end of a unix-socket connection, as the kernel says
 * (SO_PEERCRED on the socket the front-end passed us), and the sessions
 * that remember it.  It must never take a uid or a name from the
 * front-end.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stddef.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "log.h"

#define NSS_BUF		16384
#define GROUPS_MAX	1024

/*
 * Sessions live in a fixed table.  A handle is 64 random bits whose low
 * bits are replaced by its slot, so a lookup is one compare, and the
 * remaining random bits keep one connection from guessing another's.
 * Each session keeps our own copy of its client's connection: when the
 * client hangs up, the session ends, whatever the front-end says.
 */
#define SLOT_BITS	15
#define SLOT_MASK	((1ULL << SLOT_BITS) - 1)
_Static_assert(SESSIONS_MAX <= (1 << SLOT_BITS), "session slots fit the handle");

#define HANGUPS_PER_TURN 256

struct session {
	uint64_t	 handle;		/* 0: free slot */
	int		 fd;			/* the client's connection */
	uid_t		 uid;
	int		 named;			/* p holds a principal */
	struct principal p;
};

static struct session sessions[SESSIONS_MAX];
static uint32_t free_slots[SESSIONS_MAX];
static size_t nfree;
static int sessions_ready;
static int watch_fd = -1;		/* epoll: our copies' hang-ups */

/*
 * The descriptor must be a client's connection accepted on our API
 * socket: a connected unix stream socket (not the listener), whose own
 * address is the API path, from a process that is neither us nor the
 * front-end.  -1: the front-end passed something else, which only a
 * broken or hostile front-end does.  1: a client we cannot place (its
 * pid is 0 when it lives in a pid namespace outside ours), refused but
 * no fault of the front-end's.
 */
static int
check_socket(const struct broker *b, int fd, struct ucred *cred, char *err,
    size_t errlen)
{
	struct sockaddr_un sun;
	struct sockaddr_storage peer;
	socklen_t len = sizeof(sun), plen = sizeof(peer), clen = sizeof(*cred);
	int v;
	socklen_t vlen = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &vlen) == -1 ||
	    v != AF_UNIX) {
		snprintf(err, errlen, "not a unix socket");
		return -1;
	}
	vlen = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vlen) == -1 ||
	    v != SOCK_STREAM) {
		snprintf(err, errlen, "not a stream socket");
		return -1;
	}
	vlen = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vlen) == -1 ||
	    v != 0) {
		snprintf(err, errlen, "a listening socket");
		return -1;
	}
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) == -1) {
		snprintf(err, errlen, "not connected");
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == -1 ||
	    sun.sun_family != AF_UNIX || len <= offsetof(struct sockaddr_un,
	    sun_path) || strncmp(sun.sun_path, b->lis.unix_path,
	    sizeof(sun.sun_path)) != 0) {
		snprintf(err, errlen, "not a connection to the API socket");
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &clen) == -1 ||
	    clen != sizeof(*cred)) {
		snprintf(err, errlen, "no peer credentials");
		return -1;
	}
	if (cred->pid == getpid() || (b->fe_pid > 0 &&
	    cred->pid == b->fe_pid)) {
		snprintf(err, errlen, "peer pid %d is not a client",
		    (int)cred->pid);
		return -1;
	}
	if (cred->pid == 0) {
		snprintf(err, errlen, "the client's pid is not visible to us");
		return 1;
	}
	return 0;
}

/* A client that already hung up gets no session. */
static int
client_gone(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

static int
in_admin_group(const char *group, const char *user, gid_t gid)
{
	struct group gr, *grp = NULL;
	gid_t *groups;
	char *buf;
	int i, n = GROUPS_MAX, found = 0;

	if (group[0] == '\0')
		return 0;
	if ((buf = malloc(NSS_BUF)) == NULL)
		return 0;
	if (getgrnam_r(group, &gr, buf, NSS_BUF, &grp) != 0 || grp == NULL) {
		free(buf);
		return 0;
	}
	if ((groups = calloc(GROUPS_MAX, sizeof(*groups))) != NULL &&
	    getgrouplist(user, gid, groups, &n) != -1) {
		for (i = 0; i < n; i++)
			if (groups[i] == grp->gr_gid)
				found = 1;
	} else
		log_warnx("%s: group list of %s unavailable", __func__, user);
	free(groups);
	free(buf);
	return found;
}

/*
 * A user name of the reserved form "uid-" DIGITS: such ids are derived
 * from uids (uid_id()), so no passwd entry may claim one.
 */
int
reserved_uid_id(const char *name)
{
	size_t i;

	if (strncmp(name, UID_ID_PREFIX, sizeof(UID_ID_PREFIX) - 1) != 0)
		return 0;
	name += sizeof(UID_ID_PREFIX) - 1;
	for (i = 0; name[i] != '\0'; i++)
		if (name[i] < '0' || name[i] > '9')
			return 0;
	return i > 0;
}

/*
 * The principal of a kernel-vouched uid.  A uid with no passwd entry (a
 * container's, say), a name that is not a valid id, or a name of the
 * reserved form uid-N is identified by the id "uid-" UID, always a
 * member: its user id stands for the uid and nothing else, and there is
 * no group list to consult.  -1 only when the user database itself
 * fails: then the uid is not guessed at (it may well have a name).
 */
static int
principal_of(const struct broker *b, uid_t uid, struct principal *p,
    char *err, size_t errlen)
{
	struct passwd pw, *pwp = NULL;
	char *buf;
	int e, rv = -1;

	memset(p, 0, sizeof(*p));
	if ((buf = malloc(NSS_BUF)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(p->org_id, sizeof(p->org_id), "%s", b->cfg->org);
	e = getpwuid_r(uid, &pw, buf, NSS_BUF, &pwp);
	if (e != 0 && e != ENOENT && e != ESRCH) {
		snprintf(err, errlen, "user database: uid %u: %s",
		    (unsigned)uid, strerror(e));
		goto fail;
	}
	if (pwp == NULL || !valid_id(pw.pw_name, strlen(pw.pw_name)) ||
	    reserved_uid_id(pw.pw_name)) {
		if (pwp != NULL)
			log_debug("uid %u: user name is not a usable id, "
			    "identified as %s%u", (unsigned)uid,
			    UID_ID_PREFIX, (unsigned)uid);
		snprintf(p->user_id, sizeof(p->user_id), "%s%u",
		    UID_ID_PREFIX, (unsigned)uid);
		p->role = ROLE_MEMBER;
		rv = 0;
		goto fail;
	}
	snprintf(p->user_id, sizeof(p->user_id), "%s", pw.pw_name);
	p->role = uid == 0 || in_admin_group(b->cfg->admin_group,
	    pw.pw_name, pw.pw_gid) ? ROLE_ADMIN : ROLE_MEMBER;
	rv = 0;
fail:
	explicit_bzero(buf, NSS_BUF);
	free(buf);
	return rv;
}

static void
session_drop(struct session *s)
{
	if (s->fd != -1) {
		epoll_ctl(watch_fd, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
	}
	explicit_bzero(s, sizeof(*s));
	s->fd = -1;
}

static void
sessions_reset(void)
{
	size_t i;

	if (!sessions_ready) {
		for (i = 0; i < SESSIONS_MAX; i++)
			sessions[i].fd = -1;
		if ((watch_fd = epoll_create1(EPOLL_CLOEXEC)) == -1)
			fatal("%s: epoll_create1", __func__);
	}
	for (i = 0; i < SESSIONS_MAX; i++) {
		if (sessions[i].handle != 0)
			session_drop(&sessions[i]);
		free_slots[i] = (uint32_t)(SESSIONS_MAX - 1 - i);
	}
	nfree = SESSIONS_MAX;
	sessions_ready = 1;
}

/* Readable when a watched client hung up; the event loop polls it. */
int
session_watch_fd(void)
{
	if (!sessions_ready)
		sessions_reset();
	return watch_fd;
}

static struct session *
session_find(uint64_t h)
{
	struct session *s;

	if (h == 0 || (h & SLOT_MASK) >= SESSIONS_MAX)
		return NULL;
	s = &sessions[h & SLOT_MASK];
	return s->handle == h ? s : NULL;
}

/* Takes fd: it is watched, and closed when the session ends. */
static int
session_add(int fd, uid_t uid, const struct principal *p, uint64_t *handle)
{
	struct epoll_event ev;
	uint32_t slot;
	uint64_t h;

	if (!sessions_ready)
		sessions_reset();
	if (nfree == 0)
		return -1;
	slot = free_slots[nfree - 1];
	do {
		randombytes_buf(&h, sizeof(h));
		h = (h & ~SLOT_MASK) | slot;
	} while (h == slot);		/* the random part must not be zero */
	/* Hang-up and error are always reported; nothing else is asked. */
	memset(&ev, 0, sizeof(ev));
	ev.events = 0;
	ev.data.u64 = h;
	if (epoll_ctl(watch_fd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		log_warn("%s: epoll_ctl", __func__);
		return -1;
	}
	nfree--;
	sessions[slot].handle = h;
	sessions[slot].fd = fd;
	sessions[slot].uid = uid;
	sessions[slot].named = p != NULL;
	if (p != NULL)
		sessions[slot].p = *p;
	*handle = h;
	return 0;
}

/*
 * The principal of a live session: 0; -1 no such session (msg says
 * why); a session whose uid the user database could not look up
 * authenticates no one.
 */
int
session_get(uint64_t h, struct principal *p, uid_t *uid, char *msg,
    size_t msglen)
{
	struct session *s;

	if ((s = session_find(h)) == NULL) {
		snprintf(msg, msglen, "unknown session");
		return -1;
	}
	if (uid != NULL)
		*uid = s->uid;
	if (p == NULL)
		return 0;
	if (!s->named) {
		snprintf(msg, msglen, "uid %u: the user database failed",
		    (unsigned)s->uid);
		return -1;
	}
	*p = s->p;
	return 0;
}

void
session_del(uint64_t h)
{
	struct session *s;

	if ((s = session_find(h)) == NULL)
		return;
	session_drop(s);
	free_slots[nfree++] = (uint32_t)(h & SLOT_MASK);
}

/* Sessions whose client hung up end now, told by the kernel. */
void
session_hangups(void)
{
	struct epoll_event ev[HANGUPS_PER_TURN];
	int i, n;

	if ((n = epoll_wait(watch_fd, ev, HANGUPS_PER_TURN, 0)) == -1) {
		if (errno != EINTR)
			log_warn("%s: epoll_wait", __func__);
		return;
	}
	for (i = 0; i < n; i++) {
		log_debug("%s: a unix client hung up", __func__);
		session_del(ev[i].data.u64);
	}
}

/* A dead front-end's connections are gone, and so are their sessions. */
void
session_clear(void)
{
	sessions_reset();
}

/*
 * IMSG_CONN_UNIX: the kernel, not the front-end, says who this is.  A
 * descriptor that is not a client's connection to our socket is fatal;
 * a client already gone, or out of sessions, is an ordinary refusal.
 * A uid without a usable name is identified as uid-N (principal_of());
 * one the user database failed on still gets a session, so that a token
 * can be rate-limited by it, but the session alone authenticates no one.
 */
int
h_conn_unix(struct req *q)
{
	struct msg_session sess;
	struct ipc_msg m;
	struct ucred cred;
	char err[MSG_LEN];
	int fd, named, rv;

	if (msg_conn_unix_get(q->r, &fd) == -1)
		return -1;
	q->op = "connect";
	snprintf(q->auth.source, sizeof(q->auth.source), "unix");
	if ((rv = check_socket(q->b, fd, &cred, err, sizeof(err))) == -1) {
		log_warnx("%s: passed descriptor: %s", __func__, err);
		close(fd);
		return -1;
	}
	if (rv == 1 || client_gone(fd)) {
		close(fd);
		respond(q, NULL, RT_UNAUTH, rv == 1 ? err :
		    "the client has hung up");
		return 0;
	}
	snprintf(q->auth.source, sizeof(q->auth.source), "uid:%u",
	    (unsigned)cred.uid);
	q->has_uid = 1;
	q->uid = cred.uid;
	if (!(named = principal_of(q->b, cred.uid, &q->p, err,
	    sizeof(err)) == 0))
		log_debug("%s: %s", __func__, err);
	q->authed = named;
	memset(&sess, 0, sizeof(sess));
	if (session_add(fd, cred.uid, named ? &q->p : NULL,
	    &sess.session) == -1) {
		close(fd);
		respond(q, NULL, RT_UNAVAILABLE, "too many sessions");
		return 0;
	}
	if (named) {
		memcpy(sess.user_id, q->p.user_id, sizeof(sess.user_id));
		sess.role = (uint8_t)q->p.role;
	}
	reply_init(&m, q->id, RT_OK, "");
	msg_session_put(&m, &sess);
	respond(q, &m, RT_OK, "");
	return 0;
}

int
h_conn_close(struct req *q)
{
	struct msg_conn_close c;

	if (msg_conn_close_get(q->r, &c) == -1)
		return -1;
	session_del(c.session);
	return 0;
}

/*
 * Who the caller is, as authenticate() found it: the principal, and
 * either the session's uid (read from the kernel) or the token's id and
 * expiry.  A token wins over the session it came on, so it reports no uid.
 */
int
h_whoami(struct req *q)
{
	struct msg_whoami w;
	struct ipc_msg m;
	char msg[MSG_LEN] = "";
	uid_t uid = 0;
	int rv;

	q->op = "whoami";
	if (msg_auth_get(q->r, &q->auth) == -1 || msg_empty_get(q->r) == -1)
		return -1;
	if ((rv = authenticate(q, msg, sizeof(msg))) != RT_OK ||
	    (rv = scope_permits(q, OP_WHOAMI, NULL, msg, sizeof(msg))) !=
	    RT_OK || (q->auth.kind == AUTH_SESSION &&
	    session_get(q->auth.session, NULL, &uid, msg, sizeof(msg)) ==
	    -1)) {
		respond(q, NULL, rv != RT_OK ? rv : RT_UNAUTH, msg);
		return 0;
	}
	memset(&w, 0, sizeof(w));
	snprintf(w.user_id, sizeof(w.user_id), "%s", q->p.user_id);
	snprintf(w.org_id, sizeof(w.org_id), "%s", q->p.org_id);
	snprintf(q->owner, sizeof(q->owner), "%s", q->p.user_id);
	w.role = (uint8_t)q->p.role;
	w.auth = q->auth.kind;
	if (q->auth.kind == AUTH_SESSION)
		w.uid = (uint32_t)uid;
	else {
		snprintf(w.token_id, sizeof(w.token_id), "%s", q->p.token_id);
		w.token_expires = q->p.token_expires;
		w.scopes = q->p.scopes;
	}
	reply_init(&m, q->id, RT_OK, "");
	msg_whoami_put(&m, &w);
	respond(q, &m, RT_OK, "");
	return 0;
}
