/*
 * HTTP over the unix socket and TLS: connections and their identity,
 * request ids, limits, and JSON replies.  Routes live in routes.c; this
 * file never interprets a secret, it only frames requests and replies.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "log.h"
#include "frontend.h"

#define CONN_BUCKETS	256
#define ACCEPT_PAUSE_S	1
#define REFUSAL_LOG_S	10	/* one log line per cap per this often */
#define REFUSED_WAIT_MS	500	/* for a refused client's request */
#define REFUSED_MAX	32	/* refused connections waiting at once */

enum session_state {
	SESS_NONE,		/* not asked yet */
	SESS_PENDING,		/* IMSG_CONN_UNIX in flight */
	SESS_READY
};

struct listener {
	struct evhttp		*http;
	struct evconnlistener	*lev;
	struct event		*resume;
	SSL_CTX			*ctx;	/* NULL: the unix socket */
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;		/* in a bucket or attaching */
	struct bufferevent	*bev;
	struct guard		*guard;		/* answers bad framing */
	struct evhttp_connection *evcon;
	struct listener		*l;
	struct event		*deadline;
	enum session_state	 sess;
	uint64_t		 session;
	struct bc_pending	*auth;		/* IMSG_CONN_UNIX in flight */
	struct fe_req		*active;	/* the request being served */
	struct peer		*peer;		/* its count in peers.c */
	int			 refused;	/* over its uid's cap: a 429 */
	char			 source[64];
};
TAILQ_HEAD(conn_list, conn);

/* Connections refused over one cap, logged as a count, not one by one. */
struct refusals {
	const char		*cap;		/* the config key */
	unsigned long long	 n;		/* since the last line */
	time_t			 logged;	/* monotonic seconds; 0: never */
};

static struct event_base *base;
static struct listener	 listeners[2];
static struct conn_list	 conns[CONN_BUCKETS];
static struct conn_list	 attaching;
static struct event	*ev_attach;
static uint32_t		 nconns;
static uint32_t		 ntls;		/* of nconns, over TLS */
static uint32_t		 nrefused;	/* of them, refused */
static struct timeval	 request_tv;
static const struct timeval refused_tv = { 0, REFUSED_WAIT_MS * 1000 };
static struct refusals	 over_total = { "max_connections", 0, 0 };
static struct refusals	 over_uid = { "max_connections_per_uid", 0, 0 };
static struct refusals	 over_addr = { "max_connections_per_address", 0, 0 };

static struct conn_list *
bucket(const struct evhttp_connection *evcon)
{
	return &conns[((uintptr_t)evcon >> 4) % CONN_BUCKETS];
}

static struct conn *
conn_find(const struct evhttp_connection *evcon)
{
	struct conn *c;

	TAILQ_FOREACH(c, bucket(evcon), entry)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

static int
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
static void
conn_shutdown(struct conn *c)
{
	int fd;

	if (conn_unix(c) && (fd = bufferevent_getfd(c->bev)) != -1)
		shutdown(fd, SHUT_RDWR);
}

/* The time a connection has for its next request; a refused one, less. */
static void
conn_deadline(struct conn *c)
{
	event_add(c->deadline, c->refused ? &refused_tv : &request_tv);
}

static void
conn_free(struct conn *c)
{
	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->refused)
		nrefused--;
	peer_release(c->peer);
	guard_free(c->guard);
	free(c);
}

/*
 * Past the deadline a request still being read (or an idle keep-alive) is
 * cut off; one waiting for the broker gets a 503 and the late reply is
 * dropped.
 */
static void
deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct conn *c = arg;
	struct fe_req *fr = c->active;

	if (fr == NULL) {
		log_debug("%s: connection from %s timed out", __func__,
		    c->source);
		evhttp_connection_free(c->evcon);
		return;
	}
	bc_cancel(fr->pending);
	fr->pending = NULL;
	if (c->auth != NULL) {
		bc_cancel(c->auth);
		c->auth = NULL;
		c->sess = SESS_NONE;
	}
	http_reply_error(fr, 503, "unavailable",
	    "the broker did not answer in time");
}

static void
fe_req_free(struct fe_req *fr)
{
	if (fr->body != NULL)
		json_decref(fr->body);
	explicit_bzero(fr->token, sizeof(fr->token));
	free(fr);
}

/*
 * The client is gone: whatever the broker still answers for it is
 * dropped, and its unix session is closed at the broker.
 */
static void
close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;
	struct ipc_msg m;

	TAILQ_REMOVE(bucket(evcon), c, entry);
	nconns--;
	if (!conn_unix(c))
		ntls--;
	conn_shutdown(c);
	bc_cancel(c->auth);
	if (c->active != NULL) {
		bc_cancel(c->active->pending);
		fe_req_free(c->active);
	}
	if (c->sess == SESS_READY) {
		bc_msg_init(&m, IMSG_CONN_CLOSE);
		ipc_put_u64(&m, c->session);
		bc_send_oneway(&m);
	}
	explicit_bzero(&c->session, sizeof(c->session));
	conn_free(c);
}

static void
conn_source(struct conn *c)
{
	char *addr = NULL;
	ev_uint16_t port;

	if (conn_unix(c)) {
		snprintf(c->source, sizeof(c->source), "unix");
		return;
	}
	evhttp_connection_get_peer(c->evcon, &addr, &port);
	snprintf(c->source, sizeof(c->source), "%s", addr != NULL ? addr :
	    "?");
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
	int fd = bufferevent_getfd(c->bev);

	if (nconns >= fe_conf.max_conns || (!conn_unix(c) &&
	    ntls >= fe_conf.max_conns - fe_conf.max_conns / 4)) {
		refusal_log(&over_total, NULL);
		conn_shutdown(c);
		return -1;
	}
	if (peer_key_get(fd, conn_unix(c), &k) == -1) {
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

/*
 * libevent 2.1 has no hook for a new connection, only for its
 * bufferevent (bevcb).  Right after the accept callback returns, the
 * bufferevent's callback argument is the evhttp connection; a reference
 * held since bevcb keeps the bufferevent valid even if evhttp already
 * dropped it (its callbacks are then cleared).
 */
static void
attach_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct bufferevent *bev;
	struct conn *c;
	void *evcon;

	while ((c = TAILQ_FIRST(&attaching)) != NULL) {
		TAILQ_REMOVE(&attaching, c, entry);
		bev = c->bev;
		bufferevent_getcb(bev, NULL, NULL, NULL, &evcon);
		if (evcon == NULL) {
			conn_shutdown(c);
			conn_free(c);	/* the guard leaves bev first */
		}
		bufferevent_decref(bev);
		if (evcon == NULL)
			continue;
		c->evcon = evcon;
		if (conn_admit(c) == -1) {
			conn_free(c);
			evhttp_connection_free(evcon);
			continue;
		}
		nconns++;
		if (!conn_unix(c))
			ntls++;
		TAILQ_INSERT_TAIL(bucket(c->evcon), c, entry);
		conn_source(c);
		evhttp_connection_set_closecb(c->evcon, close_cb, c);
		conn_deadline(c);
	}
}

static struct bufferevent *
bev_cb(struct event_base *b, void *arg)
{
	struct listener *l = arg;
	struct bufferevent *bev;
	struct conn *c;
	SSL *ssl;

	if (l->ctx == NULL)
		bev = bufferevent_socket_new(b, -1, BEV_OPT_CLOSE_ON_FREE);
	else {
		if ((ssl = SSL_new(l->ctx)) == NULL)
			return NULL;
		bev = bufferevent_openssl_socket_new(b, -1, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (bev == NULL)
			SSL_free(ssl);
		else
			bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	}
	if (bev == NULL || (c = calloc(1, sizeof(*c))) == NULL)
		return bev;
	if ((c->deadline = evtimer_new(b, deadline_cb, c)) == NULL) {
		free(c);
		return bev;
	}
	/* Unguarded (out of memory), libevent still refuses bad framing. */
	if ((c->guard = guard_new(bev)) == NULL)
		log_warnx("%s: connection without a framing guard", __func__);
	c->bev = bev;
	c->l = l;
	bufferevent_incref(bev);
	TAILQ_INSERT_TAIL(&attaching, c, entry);
	event_active(ev_attach, 0, 0);
	return bev;
}

void
http_request_id(char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t rnd[REQID_LEN / 2];
	size_t i;

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		fatal("%s: getrandom", __func__);
	for (i = 0; i < sizeof(rnd); i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 0xf];
	}
	out[REQID_LEN] = '\0';
}

static void
wipe_ref(const void *data, size_t len, void *arg)
{
	explicit_bzero((void *)(uintptr_t)data, len);
	free(arg);
}

/*
 * Send and forget the request.  It is detached first, and the deadline
 * for the connection's next request armed, because libevent may free the
 * connection while the reply goes out.
 */
static void
send_reply(struct fe_req *fr, int code, char *body)
{
	struct evhttp_request *req = fr->req;
	struct evkeyvalq *h;
	struct evbuffer *out;
	struct conn *c = fr->conn;

	if (req == NULL) {
		free(body);
		fe_req_free(fr);
		return;
	}
	h = evhttp_request_get_output_headers(req);
	out = evhttp_request_get_output_buffer(req);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (body != NULL && (evbuffer_add_reference(out, body, strlen(body),
	    wipe_ref, body) == -1 || evbuffer_add(out, "\n", 1) == -1)) {
		free(body);
		code = 500;
	}
	fr->req = NULL;
	c->active = NULL;
	conn_deadline(c);
	evhttp_send_reply(req, code, NULL, NULL);
	fe_req_free(fr);
}

/* Replies may carry a revealed value: the text is wiped once sent. */
void
http_reply_json(struct fe_req *fr, int code, json_t *o)
{
	char *s = NULL;

	if (o != NULL) {
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
	}
	if (s == NULL) {
		http_reply_error(fr, 500, "internal", "cannot encode reply");
		return;
	}
	send_reply(fr, code, s);
}

/* The one error shape (DESIGN section 3); guard.c sends it too. */
char *
http_error_body(const char *id, const char *ecode, const char *msg)
{
	json_t *o;
	char *s;

	o = json_pack("{s:{s:s,s:s,s:s}}", "error", "code", ecode,
	    "message", msg, "requestId", id);
	s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) :
	    NULL;
	json_decref(o);
	return s;
}

void
http_reply_error(struct fe_req *fr, int code, const char *ecode,
    const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (code >= 500)
		log_warnx("request %s: %d %s", fr->id, code, msg);
	else
		log_debug("request %s: %d %s", fr->id, code, msg);
	send_reply(fr, code, http_error_body(fr->id, ecode, msg));
}

void
http_reply_status(struct fe_req *fr, enum rt_status st, const char *msg)
{
	http_reply_error(fr, rt_status_http(st), rt_status_code(st), "%s",
	    msg != NULL && *msg != '\0' ? msg : rt_status_code(st));
}

/* A token over the unix socket still names the connection's session. */
void
http_put_auth(struct fe_req *fr, struct ipc_msg *m)
{
	struct conn *c = fr->conn;

	if (fr->has_token) {
		ipc_put_u8(m, AUTH_TOKEN);
		ipc_put_str(m, fr->token);
		ipc_put_u64(m, conn_unix(c) ? c->session : 0);
	} else {
		ipc_put_u8(m, AUTH_SESSION);
		ipc_put_u64(m, fr->conn->session);
	}
	ipc_put_str(m, fr->conn->source);
}

static int
session_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct conn *c = arg;
	struct fe_req *fr = c->active;
	const char *user;
	uint8_t role;

	c->auth = NULL;
	if (st == RT_OK && (ipc_get_u64(r, &c->session) == -1 ||
	    ipc_get_str(r, &user, NULL) == -1 || ipc_get_u8(r, &role) == -1 ||
	    ipc_end(r) == -1))
		return -1;
	if (st != RT_OK) {
		c->sess = SESS_NONE;
		http_reply_status(fr, st, msg);
		return 0;
	}
	c->sess = SESS_READY;
	/* A uid without a valid name may still use a token. */
	log_debug("%s: unix connection is %s", __func__, *user != '\0' ?
	    user : "a uid without a valid name");
	route_run(fr);
	return 0;
}

/* A unix client's identity is its socket: the broker reads the creds. */
static void
session_start(struct fe_req *fr)
{
	struct conn *c = fr->conn;
	struct ipc_msg m;
	int fd;

	fd = fcntl(bufferevent_getfd(c->bev), F_DUPFD_CLOEXEC, 0);
	if (fd == -1) {
		http_reply_error(fr, 503, "unavailable", "out of descriptors");
		return;
	}
	bc_msg_init(&m, IMSG_CONN_UNIX);
	ipc_msg_set_fd(&m, fd);
	if ((c->auth = bc_request(&m, session_reply, c)) == NULL) {
		http_reply_status(fr, RT_UNAVAILABLE, NULL);
		return;
	}
	c->sess = SESS_PENDING;
}

static int
token_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

/* 0: no header; 1: a well-formed bearer token; -1: anything else. */
static int
bearer(struct fe_req *fr)
{
	const char *v, *t;
	size_t n, i;

	v = evhttp_find_header(evhttp_request_get_input_headers(fr->req),
	    "Authorization");
	if (v == NULL)
		return 0;
	if (strncasecmp(v, "Bearer ", 7) != 0)
		return -1;
	for (t = v + 7; *t == ' '; t++)
		;
	n = strlen(t);
	if (n <= 4 || n > TOKEN_STR_MAX || strncmp(t, "rts_", 4) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (!token_char(t[i]))
			return -1;
	memcpy(fr->token, t, n + 1);
	fr->has_token = 1;
	return 1;
}

/*
 * TLS needs a token.  A unix connection has its session before its first
 * request is routed, token or not: the broker limits failed tokens by the
 * session's uid.  A token, when present, still wins over the session.
 */
static void
authenticate(struct fe_req *fr)
{
	struct conn *c = fr->conn;
	int tok;

	if ((tok = bearer(fr)) == -1) {
		http_reply_error(fr, 401, "unauthenticated",
		    "malformed Authorization header");
		return;
	}
	if (!conn_unix(c)) {
		if (tok)
			route_run(fr);
		else
			http_reply_error(fr, 401, "unauthenticated",
			    "a bearer token is required");
	} else if (c->sess == SESS_READY)
		route_run(fr);
	else if (c->sess == SESS_NONE)
		session_start(fr);
	else
		http_reply_error(fr, 500, "internal", "session in progress");
}

static int
json_media_type(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Parse the body once; its bytes are wiped as soon as jansson has them. */
static int
read_body(struct fe_req *fr)
{
	struct evhttp_request *req = fr->req;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const struct json_field *fields = route_fields(fr->route);
	size_t len = evbuffer_get_length(in);
	char err[160];
	char *p;

	if (len == 0) {
		if (!route_body_required(fr->route))
			return 0;
		http_reply_error(fr, 400, "invalid_request",
		    "a JSON object body is required");
		return -1;
	}
	if (fields == NULL) {
		http_reply_error(fr, 400, "invalid_request",
		    "this route takes no body");
		return -1;
	}
	if (!json_media_type(evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Content-Type"))) {
		http_reply_error(fr, 415, "unsupported_media_type",
		    "the body must be application/json");
		return -1;
	}
	if ((p = (char *)evbuffer_pullup(in, -1)) == NULL) {
		http_reply_error(fr, 500, "internal", "out of memory");
		return -1;
	}
	fr->body = json_parse_body(p, len, fields, err, sizeof(err));
	explicit_bzero(p, len);
	evbuffer_drain(in, len);
	if (fr->body == NULL) {
		http_reply_error(fr, 400, "invalid_request", "%s", err);
		return -1;
	}
	return 0;
}

static int
header_count(struct evkeyvalq *h, const char *name)
{
	struct evkeyval *kv;
	int n = 0;

	TAILQ_FOREACH(kv, h, next)
		if (strcasecmp(kv->key, name) == 0)
			n++;
	return n;
}

static size_t
headers_size(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evkeyval *kv;
	size_t n = strlen(evhttp_request_get_uri(req)) + 16;

	TAILQ_FOREACH(kv, h, next)
		n += strlen(kv->key) + strlen(kv->value) + 4;
	return n;
}

/*
 * Sizes, and framing that could smuggle a second request, are refused
 * before anything is parsed; the connection is not reused after that.
 * guard.c refuses most of these on the raw head already, before libevent
 * could answer them in its own words; these checks stay as the second
 * line, and for a connection that runs without a guard.
 */
static int
framing_ok(struct fe_req *fr)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(fr->req);
	const char *ecode = "too_large";
	char msg[64];
	int code = 413;

	if (headers_size(fr->req) > HEADERS_MAX)
		snprintf(msg, sizeof(msg), "request headers over %d bytes",
		    HEADERS_MAX);
	else if (evbuffer_get_length(evhttp_request_get_input_buffer(
	    fr->req)) > BODY_MAX)
		snprintf(msg, sizeof(msg), "body over %d bytes", BODY_MAX);
	else if (header_count(h, "Content-Length") + header_count(h,
	    "Transfer-Encoding") > 1) {
		code = 400;
		ecode = "invalid_request";
		snprintf(msg, sizeof(msg),
		    "more than one Content-Length or Transfer-Encoding");
	} else
		return 1;
	evhttp_add_header(evhttp_request_get_output_headers(fr->req),
	    "Connection", "close");
	http_reply_error(fr, code, ecode, "%s", msg);
	return 0;
}

static void
dispatch(struct fe_req *fr)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(fr->req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	const char *allow = NULL;
	char err[160];
	int code = 404;

	if (fr->conn->refused) {
		evhttp_add_header(evhttp_request_get_output_headers(fr->req),
		    "Connection", "close");
		http_reply_error(fr, 429, "rate_limited",
		    "too many connections from this user");
		return;
	}
	if (!framing_ok(fr))
		return;
	if (path == NULL || (fr->route = route_match(path,
	    evhttp_request_get_command(fr->req), fr->arg, sizeof(fr->arg),
	    &code, &allow, err, sizeof(err))) == NULL) {
		if (code == 405)
			evhttp_add_header(evhttp_request_get_output_headers(
			    fr->req), "Allow", allow);
		http_reply_error(fr, code, code == 405 ? "method_not_allowed" :
		    code == 404 ? "not_found" : "invalid_request", "%s", err);
		return;
	}
	if (route_parse_query(fr->route, evhttp_uri_get_query(uri), &fr->q,
	    err, sizeof(err)) == -1) {
		http_reply_error(fr, 400, "invalid_request", "%s", err);
		return;
	}
	if (read_body(fr) == -1)
		return;
	if (route_public(fr->route))
		route_run(fr);
	else
		authenticate(fr);
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct conn *c = conn_find(evcon);
	struct fe_req *fr;

	if (c == NULL || c->active != NULL ||
	    (fr = calloc(1, sizeof(*fr))) == NULL) {
		log_warnx("%s: request without a connection slot", __func__);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	conn_deadline(c);
	fr->req = req;
	fr->conn = c;
	c->active = fr;
	http_request_id(fr->id);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "X-Request-Id", fr->id);
	log_debug("request %s: %s %s", fr->id, c->source,
	    evhttp_request_get_uri(req));
	dispatch(fr);
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
	struct listener *l = lev == listeners[0].lev ? &listeners[0] :
	    &listeners[1];
	struct timeval tv = { ACCEPT_PAUSE_S, 0 };

	log_warn("%s: accept", __func__);
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
	    errno == ENOMEM) {
		evconnlistener_disable(lev);
		evtimer_add(l->resume, &tv);
	}
}

static void
listener_init(struct listener *l, int fd, SSL_CTX *ctx)
{
	struct evhttp_bound_socket *bs;

	l->ctx = ctx;
	if ((l->http = evhttp_new(base)) == NULL)
		fatalx("%s: evhttp_new", __func__);
	evhttp_set_max_headers_size(l->http, EVHTTP_HEADERS_MAX);
	evhttp_set_max_body_size(l->http, EVHTTP_BODY_MAX);
	evhttp_set_timeout(l->http, (int)fe_conf.timeout_s);
	evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(l->http, "application/json");
	evhttp_set_gencb(l->http, request_cb, l);
	evhttp_set_bevcb(l->http, bev_cb, l);
	/* The listener drains accept() until EAGAIN: it must not block. */
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    (bs = evhttp_accept_socket_with_handle(l->http, fd)) == NULL)
		fatalx("%s: cannot listen on fd %d", __func__, fd);
	l->lev = evhttp_bound_socket_get_listener(bs);
	if ((l->resume = evtimer_new(base, resume_cb, l)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	evconnlistener_set_error_cb(l->lev, accept_error_cb);
}

void
http_init(struct event_base *b, SSL_CTX *ctx, int unix_fd, int tls_fd)
{
	int i;

	base = b;
	for (i = 0; i < CONN_BUCKETS; i++)
		TAILQ_INIT(&conns[i]);
	TAILQ_INIT(&attaching);
	peers_init();
	request_tv.tv_sec = fe_conf.timeout_s;
	if ((ev_attach = event_new(base, -1, 0, attach_cb, NULL)) == NULL)
		fatalx("%s: event_new", __func__);
	listener_init(&listeners[0], unix_fd, NULL);
	if (tls_fd != -1)
		listener_init(&listeners[1], tls_fd, ctx);
}
