/*
 * Broker stubs: the front-end's end of the IPC channel.  Many requests are
 * in flight at once, matched to their replies by id.  Anything malformed
 * from the broker means the broker is gone; this file never decides.
 */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "frontend.h"

#define BC_BUCKETS	64
#define HELLO_TIMEOUT_MS 10000

struct bc_pending {
	TAILQ_ENTRY(bc_pending) entry;
	uint32_t	 id;
	uint32_t	 type;
	bc_cb		 cb;		/* NULL once cancelled */
	void		*arg;
};
TAILQ_HEAD(bc_list, bc_pending);

static struct ipc_chan	 chan;
static struct bc_list	 pending[BC_BUCKETS];
static struct event	*ev_read, *ev_write, *ev_flush, *ev_gone;
static uint32_t		 next_id = 1;
static int		 up;

static void	bc_gone(const char *);

/* Wait for the channel during the blocking start-up exchange. */
static void
hello_wait(short what)
{
	struct pollfd pfd = { .fd = chan.fd, .events = what };
	int n;

	do
		n = poll(&pfd, 1, HELLO_TIMEOUT_MS);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		fatal("%s: poll", __func__);
	if (n == 0)
		fatalx("%s: broker did not answer", __func__);
}

static uint8_t *
copy_bytes(const void *p, size_t n)
{
	uint8_t *c;

	if ((c = malloc(n + 1)) == NULL)
		fatal("%s", __func__);
	memcpy(c, p, n);
	c[n] = '\0';
	return c;
}

static void
read_config(struct ipc_reader *r, struct fe_config *conf)
{
	struct msg_config c;

	if (r->hdr.type != IMSG_CONFIG || msg_config_get(r, &c) == -1)
		fatalx("%s: malformed IMSG_CONFIG", __func__);
	memcpy(conf->user, c.user, sizeof(conf->user));
	memcpy(conf->chroot_dir, c.chroot_dir, sizeof(conf->chroot_dir));
	conf->have_tls = c.have_tls;
	conf->cert_len = c.cert_len;
	conf->key_len = c.key_len;
	conf->max_conns = c.max_conns;
	conf->max_conns_uid = c.max_conns_uid;
	conf->max_conns_addr = c.max_conns_addr;
	conf->timeout_s = c.timeout_s;
	conf->seccomp_debug = c.seccomp_debug;
	memcpy(conf->listen, c.listen, sizeof(conf->listen));
	memcpy(conf->mcp_origins, c.mcp_origins, sizeof(conf->mcp_origins));
	conf->cert_pem = copy_bytes(c.cert_pem, c.cert_len);
	conf->key_pem = copy_bytes(c.key_pem, c.key_len);
	/* The receive buffer is the channel's own writable memory. */
	explicit_bzero((void *)(uintptr_t)c.key_pem, c.key_len);
}

/* HELLO/CONFIG before anything else runs; every failure is fatal. */
void
bc_hello(int fd, struct fe_config *conf)
{
	struct msg_hello hello = { PROTO_VERSION };
	struct ipc_msg m;
	struct ipc_reader *r;
	int i, rc;

	for (i = 0; i < BC_BUCKETS; i++)
		TAILQ_INIT(&pending[i]);
	if (ipc_chan_init(&chan, fd) == -1)
		fatal("%s: channel", __func__);
	ipc_msg_init(&m, IMSG_HELLO, 0);
	msg_hello_put(&m, &hello);
	if (ipc_chan_send(&chan, &m) == -1)
		fatalx("%s: cannot queue hello", __func__);
	while ((rc = ipc_chan_flush(&chan)) == 0)
		hello_wait(POLLOUT);
	if (rc == -1)
		fatal("%s: send", __func__);
	for (;;) {
		hello_wait(POLLIN);
		rc = ipc_chan_recv(&chan, NULL, &r);
		if (rc == IPC_READY)
			break;
		if (rc == IPC_EOF)
			fatalx("%s: broker closed the channel", __func__);
		if (rc == IPC_ERROR)
			fatal("%s: receive", __func__);
	}
	read_config(r, conf);
	up = 1;
}

static void
flush(void)
{
	switch (ipc_chan_flush(&chan)) {
	case 1:
		break;
	case 0:
		event_add(ev_write, NULL);
		break;
	default:
		/* Not now: the caller may still hold what bc_gone() frees. */
		log_warn("%s: send", __func__);
		event_active(ev_gone, 0, 0);
		break;
	}
}

static void
write_cb(evutil_socket_t fd, short ev, void *arg)
{
	if (up)
		flush();
}

static void
flush_cb(evutil_socket_t fd, short ev, void *arg)
{
	if (up && !event_pending(ev_write, EV_WRITE, NULL))
		flush();
}

static struct bc_pending *
pending_take(uint32_t id)
{
	struct bc_list *l = &pending[id % BC_BUCKETS];
	struct bc_pending *p;

	TAILQ_FOREACH(p, l, entry)
		if (p->id == id) {
			TAILQ_REMOVE(l, p, entry);
			return p;
		}
	return NULL;
}

/* A session the client no longer needs is closed at the broker too. */
static int
cancelled_reply(struct bc_pending *p, enum rt_status st, struct ipc_reader *r)
{
	struct msg_session s;
	struct msg_conn_close c;
	struct ipc_msg m;

	if (p->type != IMSG_CONN_UNIX || st != RT_OK)
		return 0;
	if (msg_session_get(r, &s) == -1)
		return -1;
	c.session = s.session;
	bc_msg_init(&m, IMSG_CONN_CLOSE);
	msg_conn_close_put(&m, &c);
	bc_send_oneway(&m);
	return 0;
}

static int
dispatch(struct ipc_reader *r)
{
	struct bc_pending *p;
	struct msg_reply rep;
	struct msg_reload rl;
	int rc;

	if (r->hdr.type == IMSG_RELOAD) {
		if (msg_reload_get(r, &rl) == -1)
			return -1;
		fe_reload(&rl);
		return 0;
	}
	if (r->hdr.type != IMSG_REPLY || (p = pending_take(r->hdr.id)) == NULL)
		return -1;
	if (msg_reply_get(r, &rep) == -1) {
		free(p);
		return -1;
	}
	if (p->cb == NULL)
		rc = cancelled_reply(p, rep.status, r);
	else
		rc = p->cb(p->arg, rep.status, rep.message, r);
	free(p);
	return rc;
}

static void
read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct ipc_reader *r;
	int rc;

	while (up) {
		rc = ipc_chan_recv(&chan, NULL, &r);
		if (rc == IPC_AGAIN)
			return;
		if (rc == IPC_EOF) {
			bc_gone("broker closed the channel");
			return;
		}
		if (rc == IPC_ERROR) {
			bc_gone(errno == EPROTO ? "malformed message" :
			    strerror(errno));
			return;
		}
		if (dispatch(r) == -1) {
			log_warnx("%s: malformed reply type %u id %u", __func__,
			    r->hdr.type, r->hdr.id);
			bc_gone("malformed reply");
			return;
		}
	}
}

static void
gone_cb(evutil_socket_t fd, short ev, void *arg)
{
	bc_gone("send failed");
}

/*
 * Every waiting request gets its failure now and every later one fails at
 * once; the process then exits so a restarted broker starts afresh.
 */
static void
bc_gone(const char *why)
{
	struct bc_pending *p;
	int i;

	if (!up)
		return;
	up = 0;
	log_warnx("%s: %s", __func__, why);
	event_del(ev_read);
	event_del(ev_write);
	event_del(ev_flush);
	ipc_chan_close(&chan);
	for (i = 0; i < BC_BUCKETS; i++)
		while ((p = TAILQ_FIRST(&pending[i])) != NULL) {
			TAILQ_REMOVE(&pending[i], p, entry);
			if (p->cb != NULL)
				p->cb(p->arg, RT_UNAVAILABLE,
				    "the broker is unavailable", NULL);
			free(p);
		}
	fe_broker_gone();
}

void
bc_start(struct event_base *base)
{
	if ((ev_read = event_new(base, chan.fd, EV_READ | EV_PERSIST,
	    read_cb, NULL)) == NULL ||
	    (ev_flush = event_new(base, -1, 0, flush_cb, NULL)) == NULL ||
	    (ev_write = event_new(base, chan.fd, EV_WRITE, write_cb,
	    NULL)) == NULL ||
	    (ev_gone = event_new(base, -1, 0, gone_cb, NULL)) == NULL ||
	    event_add(ev_read, NULL) == -1)
		fatalx("%s: cannot create events", __func__);
}

int
bc_up(void)
{
	return up;
}

void
bc_msg_init(struct ipc_msg *m, uint32_t type)
{
	if (++next_id == 0)
		next_id = 1;
	ipc_msg_init(m, type, next_id);
}

static int
queue(struct ipc_msg *m)
{
	if (!up) {
		ipc_msg_free(m);
		return -1;
	}
	if (ipc_chan_send(&chan, m) == -1) {
		log_warnx("%s: message too large", __func__);
		ipc_msg_free(m);
		return -1;
	}
	/* Sent after this loop turn's other requests: one sendmmsg(2). */
	event_active(ev_flush, 0, 0);
	return 0;
}

/*
 * Queue a request built with bc_msg_init(); cb runs once with the reply,
 * or with RT_UNAVAILABLE and no reader when the broker goes away.
 * NULL: not sent (broker gone); the message is freed either way.
 */
struct bc_pending *
bc_request(struct ipc_msg *m, bc_cb cb, void *arg)
{
	struct bc_pending *p;
	struct ipc_hdr h;

	if (m->buf == NULL || (p = calloc(1, sizeof(*p))) == NULL) {
		ipc_msg_free(m);
		return NULL;
	}
	memcpy(&h, m->buf, sizeof(h));
	p->id = h.id;
	p->type = h.type;
	p->cb = cb;
	p->arg = arg;
	if (queue(m) == -1) {
		free(p);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&pending[p->id % BC_BUCKETS], p, entry);
	return p;
}

int
bc_send_oneway(struct ipc_msg *m)
{
	return queue(m);
}

/* The reply, when it comes, is read and dropped. */
void
bc_cancel(struct bc_pending *p)
{
	if (p == NULL)
		return;
	p->cb = NULL;
	p->arg = NULL;
}
