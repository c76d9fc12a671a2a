/*
 * IPC framing: message building, strict parsing and a SOCK_SEQPACKET
 * channel with descriptor passing.  A datagram's boundaries are the
 * message's, so a descriptor always belongs to exactly one message.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"

void
ipc_msg_init(struct ipc_msg *m, uint32_t type, uint32_t id)
{
	struct ipc_hdr h = { .type = type, .len = 0, .id = id, .flags = 0 };

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->cap = 256;
	if ((m->buf = malloc(m->cap)) == NULL) {
		m->err = 1;
		m->cap = 0;
		return;
	}
	memcpy(m->buf, &h, sizeof(h));
	m->len = IPC_HDR_LEN;
}

/*
 * A message that is never sent: puts only add up its length, and fail
 * past IPC_MAX_MSG as they would.  How much fits is thus measured by the
 * encoders themselves.
 */
void
ipc_msg_measure(struct ipc_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->measure = 1;
	m->len = IPC_HDR_LEN;
}

void
ipc_msg_free(struct ipc_msg *m)
{
	if (m->buf != NULL) {
		explicit_bzero(m->buf, m->cap);
		free(m->buf);
	}
	if (m->fd != -1)
		close(m->fd);
	m->buf = NULL;
	m->fd = -1;
	m->len = m->cap = 0;
}

void
ipc_msg_set_fd(struct ipc_msg *m, int fd)
{
	m->fd = fd;
}

/* Room for need bytes (at most IPC_MAX_MSG), the old buffer wiped. */
static int
grow(struct ipc_msg *m, size_t need)
{
	uint8_t *nb;
	size_t ncap;

	ncap = m->cap ? m->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > IPC_MAX_MSG)
		ncap = IPC_MAX_MSG;
	/* Grow by copy so the old buffer can be wiped. */
	if ((nb = malloc(ncap)) == NULL) {
		m->err = 1;
		return -1;
	}
	if (m->buf != NULL) {
		memcpy(nb, m->buf, m->len);
		explicit_bzero(m->buf, m->cap);
		free(m->buf);
	}
	m->buf = nb;
	m->cap = ncap;
	return 0;
}

/*
 * Room for a message of len bytes in all, taken at once: a large reply
 * whose size is known is not grown (and copied, and wiped) by doubling.
 */
void
ipc_msg_reserve(struct ipc_msg *m, size_t len)
{
	if (m->err || m->measure || m->buf == NULL || len <= m->cap)
		return;
	if (len > IPC_MAX_MSG)
		len = IPC_MAX_MSG;
	if (len > m->cap)
		(void)grow(m, len);
}

static void
put(struct ipc_msg *m, const void *p, size_t n)
{
	if (m->err)
		return;
	if (n > IPC_MAX_MSG - m->len) {
		m->err = 1;
		return;
	}
	if (m->measure) {
		m->len += n;
		return;
	}
	if (m->len + n > m->cap && grow(m, m->len + n) == -1)
		return;
	if (n > 0)
		memcpy(m->buf + m->len, p, n);
	m->len += n;
}

/*
 * Back to an earlier length, as if the later puts never happened: a
 * reply can try one more record and drop it when it does not fit.
 */
void
ipc_msg_rewind(struct ipc_msg *m, size_t len)
{
	if (m->buf == NULL || len < IPC_HDR_LEN || len > m->len)
		return;
	explicit_bzero(m->buf + len, m->len - len);
	m->len = len;
	m->err = 0;
}

void
ipc_put_u8(struct ipc_msg *m, uint8_t v)
{
	put(m, &v, sizeof(v));
}

void
ipc_put_u32(struct ipc_msg *m, uint32_t v)
{
	put(m, &v, sizeof(v));
}

void
ipc_put_u64(struct ipc_msg *m, uint64_t v)
{
	put(m, &v, sizeof(v));
}

void
ipc_put_str(struct ipc_msg *m, const char *s)
{
	size_t n;

	if (s == NULL)
		s = "";
	n = strlen(s);
	if (n >= IPC_MAX_MSG) {
		m->err = 1;
		return;
	}
	ipc_put_u32(m, (uint32_t)n + 1);
	put(m, s, n + 1);
}

void
ipc_put_bytes(struct ipc_msg *m, const void *p, size_t n)
{
	if (n >= IPC_MAX_MSG) {
		m->err = 1;
		return;
	}
	ipc_put_u32(m, (uint32_t)n);
	put(m, p, n);
}

int
ipc_msg_finish(struct ipc_msg *m)
{
	struct ipc_hdr h;

	if (m->err || m->buf == NULL)
		return -1;
	memcpy(&h, m->buf, sizeof(h));
	h.len = (uint32_t)m->len;
	h.flags = m->fd != -1 ? IPC_F_FD : 0;
	memcpy(m->buf, &h, sizeof(h));
	return 0;
}

int
ipc_parse(const void *buf, size_t n, struct ipc_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (n < IPC_HDR_LEN || n > IPC_MAX_MSG)
		return -1;
	memcpy(&r->hdr, buf, sizeof(r->hdr));
	if (r->hdr.len != n || (r->hdr.flags & ~IPC_F_FD) != 0)
		return -1;
	r->buf = buf;
	r->len = n;
	r->off = IPC_HDR_LEN;
	return 0;
}

static int
get(struct ipc_reader *r, void *p, size_t n)
{
	if (n > r->len - r->off)
		return -1;
	memcpy(p, r->buf + r->off, n);
	r->off += n;
	return 0;
}

int
ipc_get_u8(struct ipc_reader *r, uint8_t *v)
{
	return get(r, v, sizeof(*v));
}

int
ipc_get_u32(struct ipc_reader *r, uint32_t *v)
{
	return get(r, v, sizeof(*v));
}

int
ipc_get_u64(struct ipc_reader *r, uint64_t *v)
{
	return get(r, v, sizeof(*v));
}

int
ipc_get_bytes(struct ipc_reader *r, const void **p, size_t *n)
{
	uint32_t len;
	size_t save = r->off;

	if (ipc_get_u32(r, &len) == -1)
		return -1;
	if (len > r->len - r->off) {
		r->off = save;
		return -1;
	}
	*p = r->buf + r->off;
	*n = len;
	r->off += len;
	return 0;
}

/* A string is its length (NUL included), its bytes, then exactly one NUL. */
int
ipc_get_str(struct ipc_reader *r, const char **s, size_t *n)
{
	const void *p;
	size_t len, save = r->off;
	const char *c;

	if (ipc_get_bytes(r, &p, &len) == -1)
		return -1;
	c = p;
	if (len == 0 || c[len - 1] != '\0' || memchr(c, '\0', len - 1)) {
		r->off = save;
		return -1;
	}
	*s = c;
	if (n != NULL)
		*n = len - 1;
	return 0;
}

int
ipc_get_strbuf(struct ipc_reader *r, char *dst, size_t dstlen)
{
	const char *s;
	size_t n, save = r->off;

	if (ipc_get_str(r, &s, &n) == -1)
		return -1;
	if (n >= dstlen) {
		r->off = save;
		return -1;
	}
	memcpy(dst, s, n + 1);
	return 0;
}

int
ipc_end(struct ipc_reader *r)
{
	return r->off == r->len ? 0 : -1;
}

int
ipc_chan_init(struct ipc_chan *c, int fd)
{
	int fl;

	memset(c, 0, sizeof(*c));
	c->fd = fd;
	TAILQ_INIT(&c->out);
	c->cur.fd = -1;
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	if ((c->rbuf = malloc(IPC_MAX_MSG)) == NULL)
		return -1;
	return 0;
}

static void
release_current(struct ipc_chan *c)
{
	if (c->cur.fd != -1)
		close(c->cur.fd);
	c->cur.fd = -1;
	if (c->rbuf != NULL && c->cur.len > 0)
		explicit_bzero(c->rbuf, c->cur.len);
	c->cur.len = 0;
}

void
ipc_chan_close(struct ipc_chan *c)
{
	struct ipc_msg *m;

	while ((m = TAILQ_FIRST(&c->out)) != NULL) {
		TAILQ_REMOVE(&c->out, m, entry);
		ipc_msg_free(m);
		free(m);
	}
	release_current(c);
	free(c->rbuf);
	c->rbuf = NULL;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->queued = 0;
}

/*
 * Queue a finished copy of the message; the caller's message is emptied
 * (its buffer and descriptor now belong to the channel).
 */
int
ipc_chan_send(struct ipc_chan *c, struct ipc_msg *m)
{
	struct ipc_msg *q;

	if (ipc_msg_finish(m) == -1)
		return -1;
	if ((q = malloc(sizeof(*q))) == NULL)
		return -1;
	*q = *m;
	m->buf = NULL;
	m->fd = -1;
	m->len = m->cap = 0;
	TAILQ_INSERT_TAIL(&c->out, q, entry);
	c->queued++;
	return 0;
}

int
ipc_chan_pending(struct ipc_chan *c)
{
	return !TAILQ_EMPTY(&c->out);
}

#define SEND_BATCH	32	/* messages per sendmmsg(2) */

union ipc_cmsg {
	struct cmsghdr	hdr;
	char		buf[CMSG_SPACE(sizeof(int))];
};

static void
send_prep(struct msghdr *mh, struct iovec *iov, union ipc_cmsg *cm,
    struct ipc_msg *m)
{
	struct cmsghdr *cmsg;

	memset(mh, 0, sizeof(*mh));
	iov->iov_base = m->buf;
	iov->iov_len = m->len;
	mh->msg_iov = iov;
	mh->msg_iovlen = 1;
	if (m->fd != -1) {
		memset(cm, 0, sizeof(*cm));
		mh->msg_control = cm->buf;
		mh->msg_controllen = sizeof(cm->buf);
		cmsg = CMSG_FIRSTHDR(mh);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &m->fd, sizeof(int));
	}
}

/*
 * Returns 1 when everything is sent, 0 when the socket is full, -1 on
 * error.  What a loop turn queued leaves in one sendmmsg(2) per
 * SEND_BATCH messages rather than one sendmsg(2) each.
 */
int
ipc_chan_flush(struct ipc_chan *c)
{
	struct mmsghdr mm[SEND_BATCH];
	struct iovec iov[SEND_BATCH];
	union ipc_cmsg cm[SEND_BATCH];
	struct ipc_msg *m;
	int i, n;

	while (!TAILQ_EMPTY(&c->out)) {
		n = 0;
		TAILQ_FOREACH(m, &c->out, entry) {
			if (n == SEND_BATCH)
				break;
			send_prep(&mm[n].msg_hdr, &iov[n], &cm[n], m);
			mm[n++].msg_len = 0;
		}
		if ((n = sendmmsg(c->fd, mm, (unsigned)n, MSG_NOSIGNAL)) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR || errno == ENOBUFS)
				return 0;
			return -1;
		}
		for (i = 0; i < n; i++) {
			m = TAILQ_FIRST(&c->out);
			TAILQ_REMOVE(&c->out, m, entry);
			c->queued--;
			ipc_msg_free(m);
			free(m);
		}
	}
	return 1;
}

/* Collect at most one descriptor; any other control data is an error. */
static int
take_fds(struct msghdr *mh, int *fdp)
{
	struct cmsghdr *cmsg;
	int bad = 0, fd;
	size_t i, n;

	for (cmsg = CMSG_FIRSTHDR(mh); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(mh, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS) {
			bad = 1;
			continue;
		}
		n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(int));
			if (*fdp == -1 && !bad)
				*fdp = fd;
			else {
				close(fd);
				bad = 1;
			}
		}
	}
	return bad ? -1 : 0;
}

/*
 * Receive one message.  IPC_READY sets *rp to a reader valid until the
 * next call; IPC_AGAIN means nothing is waiting; IPC_EOF the peer closed;
 * IPC_ERROR a malformed message or a socket error (errno EPROTO for the
 * former).
 */
int
ipc_chan_recv(struct ipc_chan *c, ipc_fd_allowed_cb fd_allowed,
    struct ipc_reader **rp)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	ssize_t n;
	int fd = -1;

	release_current(c);
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = c->rbuf;
	iov.iov_len = IPC_MAX_MSG;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_TRUNC);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return IPC_AGAIN;
		return IPC_ERROR;
	}
	if (n == 0)
		return IPC_EOF;
	if (take_fds(&mh, &fd) == -1 || (mh.msg_flags & (MSG_TRUNC |
	    MSG_CTRUNC)) || ipc_parse(c->rbuf, (size_t)n, &c->cur) == -1)
		goto bad;
	c->cur.fd = fd;
	if (((c->cur.hdr.flags & IPC_F_FD) != 0) != (fd != -1))
		goto bad;
	if (fd != -1 && (fd_allowed == NULL || !fd_allowed(c->cur.hdr.type)))
		goto bad;
	*rp = &c->cur;
	return IPC_READY;
bad:
	if (c->cur.fd == -1 && fd != -1)
		close(fd);
	if (n > 0 && (size_t)n <= IPC_MAX_MSG)
		c->cur.len = (size_t)n;
	release_current(c);
	errno = EPROTO;
	return IPC_ERROR;
}
