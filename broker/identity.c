/*
 * Who is on the other end of a unix-socket connection, as the kernel says
 * (SO_PEERCRED on the socket the front-end passed us), and the sessions
 * that remember it.  It must never take a uid or a name from the
 * front-end.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <stddef.h>
#include <grp.h>
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
 */
#define SLOT_BITS	15
#define SLOT_MASK	((1ULL << SLOT_BITS) - 1)
_Static_assert(SESSIONS_MAX <= (1 << SLOT_BITS), "session slots fit the handle");

struct session {
	uint64_t	 handle;		/* 0: free slot */
	struct principal p;
};

static struct session sessions[SESSIONS_MAX];
static uint32_t free_slots[SESSIONS_MAX];
static size_t nfree;
static int sessions_ready;

/* The socket must be a stream connection accepted on our API socket. */
static int
check_socket(const struct broker *b, int fd, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	int type;
	socklen_t tlen = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1 ||
	    type != SOCK_STREAM) {
		snprintf(err, errlen, "not a stream socket");
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
	return 0;
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

int
identity_peer(const struct broker *b, int fd, struct principal *p,
    char *err, size_t errlen)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd pw, *pwp = NULL;
	char *buf;
	int rv = -1;

	memset(p, 0, sizeof(*p));
	if (check_socket(b, fd, err, errlen) == -1)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    len != sizeof(cred)) {
		snprintf(err, errlen, "no peer credentials");
		return -1;
	}
	if ((buf = malloc(NSS_BUF)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (getpwuid_r(cred.uid, &pw, buf, NSS_BUF, &pwp) != 0 ||
	    pwp == NULL) {
		snprintf(err, errlen, "uid %u has no user name",
		    (unsigned)cred.uid);
		goto fail;
	}
	if (!valid_id(pw.pw_name, strlen(pw.pw_name))) {
		snprintf(err, errlen, "user name of uid %u is not a valid id",
		    (unsigned)cred.uid);
		goto fail;
	}
	snprintf(p->user_id, sizeof(p->user_id), "%s", pw.pw_name);
	snprintf(p->org_id, sizeof(p->org_id), "%s", b->cfg->org);
	p->role = cred.uid == 0 || in_admin_group(b->cfg->admin_group,
	    pw.pw_name, pw.pw_gid) ? ROLE_ADMIN : ROLE_MEMBER;
	rv = 0;
fail:
	explicit_bzero(buf, NSS_BUF);
	free(buf);
	return rv;
}

static void
sessions_reset(void)
{
	size_t i;

	for (i = 0; i < SESSIONS_MAX; i++) {
		if (sessions[i].handle != 0)
			explicit_bzero(&sessions[i], sizeof(sessions[i]));
		free_slots[i] = (uint32_t)(SESSIONS_MAX - 1 - i);
	}
	nfree = SESSIONS_MAX;
	sessions_ready = 1;
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

int
session_add(const struct principal *p, uint64_t *handle)
{
	uint32_t slot;
	uint64_t h;

	if (!sessions_ready)
		sessions_reset();
	if (nfree == 0)
		return -1;
	slot = free_slots[--nfree];
	do {
		randombytes_buf(&h, sizeof(h));
		h = (h & ~SLOT_MASK) | slot;
	} while (h == slot);		/* the random part must not be zero */
	sessions[slot].handle = h;
	sessions[slot].p = *p;
	*handle = h;
	return 0;
}

int
session_get(uint64_t h, struct principal *p)
{
	struct session *s;

	if ((s = session_find(h)) == NULL)
		return -1;
	*p = s->p;
	return 0;
}

void
session_del(uint64_t h)
{
	struct session *s;

	if ((s = session_find(h)) == NULL)
		return;
	explicit_bzero(s, sizeof(*s));
	free_slots[nfree++] = (uint32_t)(h & SLOT_MASK);
}

/* A dead front-end's connections are gone, and so are their sessions. */
void
session_clear(void)
{
	sessions_reset();
}

/* IMSG_CONN_UNIX: the kernel, not the front-end, says who this is. */
int
h_conn_unix(struct req *q)
{
	struct ipc_msg m;
	char err[MSG_LEN];
	uint64_t h;
	int rv;

	if (q->r->fd == -1 || ipc_end(q->r) == -1)
		return -1;
	q->op = "connect";
	snprintf(q->auth.source, sizeof(q->auth.source), "unix");
	rv = identity_peer(q->b, q->r->fd, &q->p, err, sizeof(err));
	close(q->r->fd);
	q->r->fd = -1;
	if (rv == -1) {
		log_warnx("%s: refused: %s", __func__, err);
		respond(q, NULL, RT_UNAUTH, err);
		return 0;
	}
	q->authed = 1;
	if (session_add(&q->p, &h) == -1) {
		respond(q, NULL, RT_UNAVAILABLE, "too many sessions");
		return 0;
	}
	reply_init(&m, q->id, RT_OK, "");
	ipc_put_u64(&m, h);
	ipc_put_str(&m, q->p.user_id);
	ipc_put_u8(&m, (uint8_t)q->p.role);
	respond(q, &m, RT_OK, "");
	return 0;
}

int
h_conn_close(struct req *q)
{
	uint64_t h;

	if (ipc_get_u64(q->r, &h) == -1 || ipc_end(q->r) == -1)
		return -1;
	session_del(h);
	return 0;
}
