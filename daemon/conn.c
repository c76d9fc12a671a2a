/*
 * Connections on the unix and TLS listeners: accepting them, the caps on
 * what all peers and each peer may hold, their bufferevents, the deadline
 * of each, and closing them.  What a connection carries is http.c's: this
 * file never reads a request.
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "log.h"
#include "frontend.h"
#include "conn.h"

#define ACCEPT_PAUSE_S	1
#define REFUSAL_LOG_S	10	/* one log line per cap per this often */
#define REFUSED_WAIT_MS	500	/* for a refused client's request */
#define REFUSED_MAX	32	/* refused connections waiting at once */

struct listener {
	struct evconnlistener	*lev;
	struct event		*resume;
	SSL_CTX			*ctx;	/* NULL: the unix socket */
};

/* Connections refused over one cap, logged as a count, not one by one. */
struct refusals {
	const char		*cap;		/* the config key */
	unsigned long long	 n;		/* since the last line */
	time_t			 logged;	/* monotonic seconds; 0: never */
};

static struct event_base *base;
static struct listener	 listeners[2];
static uint32_t		 nconns;
static uint32_t		 ntls;		/* of nconns, over TLS */
static uint32_t		 nrefused;	/* of them, refused */
static struct timeval	 request_tv;
static const struct timeval refused_tv = { 0, REFUSED_WAIT_MS * 1000 };
static struct refusals	 over_total = { "max_connections", 0, 0 };
static struct refusals	 over_uid = { "max_connections_per_uid", 0, 0 };
static struct refusals	 over_addr = { "max_connections_per_address", 0, 0 };

int
conn_unix(const struct conn *c)
{
	return c->l->ctx == NULL;
}

/*
 * The broker keeps its own duplicate of each unix connection it was
 * passed, so closing ours no longer ends it: the client sees EOF only
 * once the socket itself is shut down.  Every path that drops a unix
 * connection comes through here first.
 */
void
conn_shutdown(struct conn *c)
{
	if (conn_unix(c) && c->fd != -1)
		shutdown(c->fd, SHUT_RDWR);
}

/* The time a connection has for its next request; a refused one, less. */
void
conn_deadline(struct conn *c)
{
	event_add(c->deadline, c->refused ? &refused_tv : &request_tv);
}

static void
conn_free(struct conn *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	else if (c->fd != -1)
		close(c->fd);
	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->refused)
		nrefused--;
	peer_release(c->peer);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

/*
 * The client is gone, or its connection is done: http.c drops what it
 * still waits for and the connection is freed.
 */
static void
conn_close(struct conn *c)
{
	nconns--;
	if (!conn_unix(c))
		ntls--;
	conn_shutdown(c);
	http_conn_end(c);
	conn_free(c);
}

/*
 * Past the deadline a request still being read (or an idle keep-alive,
 * or a reply that does not leave) is cut off; one waiting for the broker
 * is http.c's to answer.
 */
static void
deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct conn *c = arg;

	if (c->state != C_ACTIVE) {
		log_debug("%s: connection from %s timed out", __func__,
		    c->source);
		conn_close(c);
		return;
	}
	http_timeout(c);
}

static void
conn_source(struct conn *c, const struct sockaddr *sa)
{
	const void *a = NULL;

	snprintf(c->source, sizeof(c->source), conn_unix(c) ? "unix" : "?");
	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (a != NULL && inet_ntop(sa->sa_family, a, c->source,
	    sizeof(c->source)) == NULL)
		snprintf(c->source, sizeof(c->source), "?");
}

static void
refusal_log(struct refusals *r, const struct peer_key *k)
{
	struct timespec now;
	char who[64];

	r->n++;
	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		now.tv_sec = 0;
	if (r->logged != 0 && now.tv_sec - r->logged < REFUSAL_LOG_S)
		return;
	if (k != NULL)
		log_warnx("refused %llu connection%s over %s, the last from "
		    "%s", r->n, r->n == 1 ? "" : "s", r->cap,
		    peer_key_str(k, who, sizeof(who)));
	else
		log_warnx("refused %llu connection%s over %s", r->n,
		    r->n == 1 ? "" : "s", r->cap);
	r->n = 0;
	r->logged = now.tv_sec > 0 ? now.tv_sec : 1;
}

/*
 * A unix client over its cap is still read, briefly and for a bounded
 * number of them, to be answered with a JSON 429: closed before its
 * request arrives, its write would fail and it would never see why.  A
 * TLS client over its cap is closed before its handshake.
 */
static int
conn_refuse_peer(struct conn *c, const struct peer_key *k)
{
	refusal_log(conn_unix(c) ? &over_uid : &over_addr, k);
	if (!conn_unix(c) || nrefused >= REFUSED_MAX) {
		conn_shutdown(c);
		return -1;
	}
	c->refused = 1;
	nrefused++;
	return 0;
}

/*
 * Counted against the front-end's cap and against its peer's: a unix
 * uid, or a TLS address.  TLS clients may fill only three quarters of
 * the cap, so that however many addresses a flood comes from, local
 * users still get in.  -1: to be closed at once (a unix socket is
 * already shut down).
 */
static int
conn_admit(struct conn *c)
{
	struct peer_key k;

	if (nconns >= fe_conf.max_conns || (!conn_unix(c) &&
	    ntls >= fe_conf.max_conns - fe_conf.max_conns / 4)) {
		refusal_log(&over_total, NULL);
		conn_shutdown(c);
		return -1;
	}
	if (peer_key_get(c->fd, conn_unix(c), &k) == -1) {
		log_warn("%s: the peer of a new connection", __func__);
		conn_shutdown(c);
		return -1;
	}
	switch (peer_hold(&k, conn_unix(c) ? fe_conf.max_conns_uid :
	    fe_conf.max_conns_addr, &c->peer)) {
	case 1:
		return 0;
	case 0:
		return conn_refuse_peer(c, &k);
	default:
		log_warnx("%s: out of memory", __func__);
		conn_shutdown(c);
		return -1;
	}
}

/* Once the last reply is out (and, over TLS, its unread body read). */
void
conn_maybe_close(struct conn *c)
{
	if (c->state == C_CLOSE && evbuffer_get_length(
	    bufferevent_get_output(c->bev)) == 0 && (c->linger == 0 ||
	    c->eof))
		conn_close(c);
}

/*
 * Closing a TCP connection with unread input resets it and can lose the
 * reply; on a unix socket the client's next write of its body fails with
 * EPIPE, and a client that stops there never reads the reply either.  So
 * a refused request's declared body is read and dropped first (up to
 * LINGER_MAX); the deadline bounds the wait.
 */
void
conn_linger(struct conn *c, uint64_t declared)
{
	size_t have = evbuffer_get_length(bufferevent_get_input(c->bev));

	c->linger = 0;
	if (declared > have)
		c->linger = declared - have < LINGER_MAX ? declared - have :
		    LINGER_MAX;
	evbuffer_drain(bufferevent_get_input(c->bev), have);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	http_input(arg);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	conn_maybe_close(arg);
}

/*
 * EOF ends reading, not the connection: requests already read are still
 * answered (a client may half-close after its last request).  Any error
 * ends it.
 */
static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_CONNECTED)		/* the TLS handshake is done */
		return;
	if (!(what & BEV_EVENT_EOF) || (what & BEV_EVENT_WRITING)) {
		conn_close(c);
		return;
	}
	c->eof = 1;
	bufferevent_disable(bev, EV_READ);
	if (c->state == C_CLOSE)
		conn_maybe_close(c);
	else if (c->state != C_ACTIVE)
		http_input(c);
}

static struct bufferevent *
conn_bev(struct conn *c)
{
	struct bufferevent *bev;
	SSL *ssl;

	if (conn_unix(c))
		return bufferevent_socket_new(base, c->fd,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if ((ssl = SSL_new(c->l->ctx)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, c->fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL)
		SSL_free(ssl);
	else
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/*
 * A connection without its state is closed, never half-served: the
 * client sees the connection end, not an answer in another shape.
 */
static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("%s: out of memory for a connection", __func__);
		if (l->ctx == NULL)
			shutdown(fd, SHUT_RDWR);
		close(fd);
		return;
	}
	c->fd = fd;
	c->l = l;
	if (conn_admit(c) == -1) {
		conn_free(c);
		return;
	}
	if ((c->deadline = evtimer_new(base, deadline_cb, c)) == NULL ||
	    (c->bev = conn_bev(c)) == NULL) {
		log_warnx("%s: out of memory for a connection", __func__);
		conn_shutdown(c);
		conn_free(c);
		return;
	}
	nconns++;
	if (!conn_unix(c))
		ntls++;
	conn_source(c, sa);
	c->req.conn = c;
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, HEADERS_MAX + BODY_MAX);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	conn_deadline(c);
}

static void
resume_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct listener *l = arg;

	evconnlistener_enable(l->lev);
}

/* Out of descriptors: stop accepting for a moment instead of spinning. */
static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct listener *l = arg;
	struct timeval tv = { ACCEPT_PAUSE_S, 0 };

	log_warn("%s: accept", __func__);
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
	    errno == ENOMEM) {
		evconnlistener_disable(lev);
		evtimer_add(l->resume, &tv);
	}
}

/* The socket already listens: the sandbox has no listen(2). */
static void
listener_init(struct listener *l, int fd, SSL_CTX *ctx)
{
	l->ctx = ctx;
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    (l->lev = evconnlistener_new(base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd)) == NULL)
		fatalx("%s: cannot listen on fd %d", __func__, fd);
	if ((l->resume = evtimer_new(base, resume_cb, l)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	evconnlistener_set_error_cb(l->lev, accept_error_cb);
}

/* The unix listener, and the TLS one when there is a certificate. */
void
conn_listen(struct event_base *b, SSL_CTX *ctx, int unix_fd, int tls_fd)
{
	base = b;
	peers_init();
	request_tv.tv_sec = fe_conf.timeout_s;
	listener_init(&listeners[0], unix_fd, NULL);
	if (tls_fd != -1)
		listener_init(&listeners[1], tls_fd, ctx);
}

/*
 * The TLS listener's context for connections accepted from now on; 0
 * when it took ctx, -1 when there is no TLS listener.
 */
int
conn_tls_swap(SSL_CTX *ctx)
{
	struct listener *l = &listeners[1];

	if (l->lev == NULL || l->ctx == NULL)
		return -1;
	SSL_CTX_free(l->ctx);
	l->ctx = ctx;
	return 0;
}

/*
 * The broker is gone: close the listeners now, so that a new daemon can
 * bind the socket and the port while we finish.
 */
void
conn_unlisten(void)
{
	size_t i;

	for (i = 0; i < sizeof(listeners) / sizeof(listeners[0]); i++) {
		if (listeners[i].lev == NULL)
			continue;
		evtimer_del(listeners[i].resume);
		evconnlistener_free(listeners[i].lev);
		listeners[i].lev = NULL;
	}
}
