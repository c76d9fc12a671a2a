/*
 * HTTP on a connection: each request's head and body, who asks (a bearer
 * token, or the session the broker opens from a unix socket), request
 * ids, and every reply.  Routes live in routes.c, the head reader in
 * httpread.c, the connection itself in conn.c; this file never
 * interprets a secret, it only frames requests and replies.
 */
#include "config.h"

#include <sys/random.h>
#include <sys/uio.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "frontend.h"
#include "conn.h"

/*
 * A request head takes 10 KiB; an idle keep-alive connection holds none,
 * so that thousands of them cost little.  A few spare heads are kept for
 * the next requests.  A head may hold a bearer token: wiped when put back.
 */
#define HEADS_SPARE	64

static struct http_head	*spare_heads[HEADS_SPARE];
static size_t		 nspare;

static struct http_head *
head_get(struct conn *c)
{
	if (c->head == NULL) {
		if (nspare > 0)
			c->head = spare_heads[--nspare];
		else if ((c->head = malloc(sizeof(*c->head))) == NULL)
			return NULL;
		c->head->len = 0;
		hr_reset(c->head);
	}
	c->req.head = c->head;
	return c->head;
}

static void
head_put(struct conn *c)
{
	struct http_head *h = c->head;

	if (h == NULL)
		return;
	explicit_bzero(h->buf, h->len < sizeof(h->buf) ? h->len :
	    sizeof(h->buf));
	explicit_bzero((char *)h + sizeof(h->buf), sizeof(*h) -
	    sizeof(h->buf));
	if (nspare < HEADS_SPARE)
		spare_heads[nspare++] = h;
	else
		free(h);
	c->head = c->req.head = NULL;
}

static void
fe_req_clear(struct fe_req *fr)
{
	if (fr->body != NULL)
		json_decref(fr->body);
	mcp_ctx_free(fr->mcp);
	explicit_bzero(fr->token, sizeof(fr->token));
	memset(fr, 0, sizeof(*fr));
}

/*
 * The connection ends: whatever the broker still answers for it is
 * dropped, its unix session is closed at the broker, and its head goes
 * back.
 */
void
http_conn_end(struct conn *c)
{
	struct msg_conn_close cc;
	struct ipc_msg m;

	bc_cancel(c->auth);
	bc_cancel(c->req.pending);
	fe_req_clear(&c->req);
	if (c->sess == SESS_READY) {
		bc_msg_init(&m, IMSG_CONN_CLOSE);
		cc.session = c->session;
		msg_conn_close_put(&m, &cc);
		bc_send_oneway(&m);
	}
	explicit_bzero(&c->session, sizeof(c->session));
	head_put(c);
}

/*
 * The deadline passed while the broker had the request: it gets a 503
 * and the late reply is dropped.
 */
/* A request the broker may take longer with: a tool's execution. */
void
http_wait_longer(struct fe_req *fr, unsigned int seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	event_add(fr->conn->deadline, &tv);
}

void
http_timeout(struct conn *c)
{
	struct fe_req *fr = &c->req;

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

/*
 * Request ids name requests in logs and replies; they guard nothing, so
 * they come from a pool refilled 4 KiB at a time rather than from one
 * getrandom(2) per request.
 */
void
http_request_id(char *out)
{
	static const char hex[] = "0123456789abcdef";
	static uint8_t pool[4096];
	static size_t left;
	uint8_t *rnd;
	size_t i;

	if (left < REQUEST_ID_LEN / 2) {
		if (getrandom(pool, sizeof(pool), 0) != sizeof(pool))
			fatal("%s: getrandom", __func__);
		left = sizeof(pool);
	}
	rnd = pool + sizeof(pool) - left;
	left -= REQUEST_ID_LEN / 2;
	for (i = 0; i < REQUEST_ID_LEN / 2; i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 0xf];
	}
	out[REQUEST_ID_LEN] = '\0';
}

static void
wipe_ref(const void *data, size_t len, void *arg)
{
	explicit_bzero((void *)(uintptr_t)data, len);
	free(arg);
}

/*
 * A reply is out: the connection reads its next request, from what is
 * already buffered first, or ends once the reply has left.  Inside
 * http_input the loop goes on by itself; from a broker reply, the
 * buffered input is read again from the event loop, never from here.
 */
static void
request_done(struct conn *c, int close)
{
	uint64_t declared = 0;

	/* A client told to wait for 100 Continue that never got it sends
	 * no body: there is nothing to wait for. */
	if (c->state == C_BODY && !(c->head->expect && !c->head->continued))
		declared = c->head->chunked ? LINGER_MAX : c->head->clen;
	fe_req_clear(&c->req);
	c->req.conn = c;
	c->req.head = c->head;
	conn_deadline(c);
	if (close) {
		conn_linger(c, declared);
		c->state = C_CLOSE;
		if (c->linger == 0)
			bufferevent_disable(c->bev, EV_READ);
		else if (!c->eof)
			bufferevent_enable(c->bev, EV_READ);
		return;
	}
	/* Idle until the next byte: the head goes back. */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
		head_put(c);
	else
		hr_reset(c->head);
	c->state = C_HEAD;
	if (c->busy)
		return;
	if (!c->eof)
		bufferevent_enable(c->bev, EV_READ);
	bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
	    BEV_TRIG_DEFER_CALLBACKS);
}

static const char *
reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

/*
 * Whether the connection serves another request after this reply: not
 * when the request asked to close, nor when its body was never read.
 */
static int
reply_closes(const struct fe_req *fr)
{
	const struct conn *c = fr->conn;
	const struct http_head *h = fr->head;

	return fr->close || c->state != C_ACTIVE || h->close ||
	    (h->minor == 0 && !h->keepalive);
}

/*
 * A reply on a unix socket with nothing queued before it goes out in one
 * writev(2) from here: through the output buffer it would cost a write
 * event switched on and off, two epoll_ctl(2), and a loop turn.  What the
 * socket does not take is queued as usual.  0 when sent or queued.
 */
static int
send_direct(struct conn *c, const char *head, size_t hlen, char *body,
    size_t blen)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct iovec iov[3];
	size_t total = hlen, done;
	ssize_t n;
	int niov = 1;

	iov[0].iov_base = (void *)(uintptr_t)head;
	iov[0].iov_len = hlen;
	if (body != NULL) {
		iov[1].iov_base = body;
		iov[1].iov_len = blen;
		iov[2].iov_base = (void *)(uintptr_t)"\n";
		iov[2].iov_len = 1;
		niov = 3;
		total += blen + 1;
	}
	if ((n = writev(c->fd, iov, niov)) == -1)
		n = 0;		/* queued: the write event reports errors */
	done = (size_t)n;
	if (done < hlen && evbuffer_add(out, head + done, hlen - done) == -1)
		return -1;
	if (body == NULL)
		return 0;
	done = done > hlen ? done - hlen : 0;
	if (done < blen) {
		explicit_bzero(body, done);
		if (evbuffer_add_reference(out, body + done, blen - done,
		    wipe_ref, body) == -1) {
			explicit_bzero(body, blen);
			free(body);
			return -1;
		}
		body = NULL;
	}
	if (done < blen + 1 && evbuffer_add(out, "\n", 1) == -1)
		return -1;
	if (body != NULL) {
		explicit_bzero(body, blen);
		free(body);
	}
	return 0;
}

/*
 * The one place a response is written: every reply, success or refusal,
 * leaves through here with its request id.  The body may hold a revealed
 * value: it is wiped once sent.
 */
static void
send_reply_typed(struct fe_req *fr, int code, const char *ctype, char *body)
{
	struct conn *c = fr->conn;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t len = body != NULL ? strlen(body) : 0;
	int close = reply_closes(fr), n;
	char head[512];

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nCache-Control: no-store\r\n"
	    "X-Request-Id: %s\r\nContent-Length: %zu\r\n%s%s%s%s%s\r\n",
	    code, reason(code), ctype, fr->id, body != NULL ? len + 1 : 0,
	    fr->xheader,
	    fr->allow != NULL ? "Allow: " : "", fr->allow != NULL ?
	    fr->allow : "", fr->allow != NULL ? "\r\n" : "", close ?
	    "Connection: close\r\n" : fr->head->minor == 0 ?
	    "Connection: keep-alive\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head)) {
		close = 1;
		n = 0;
	}
	metrics_request_done(fr, code);
	if (body != NULL && (n == 0 || fr->head->method == HTTP_HEAD)) {
		explicit_bzero(body, len);
		free(body);
		body = NULL;
	}
	if (conn_unix(c) && !close && evbuffer_get_length(out) == 0) {
		if (send_direct(c, head, (size_t)n, body, len) == -1)
			close = 1;
		request_done(c, close);
		return;
	}
	if (evbuffer_add(out, head, (size_t)n) == -1)
		close = 1;
	if (body != NULL &&
	    evbuffer_add_reference(out, body, len, wipe_ref, body) == 0)
		evbuffer_add(out, "\n", 1);
	else if (body != NULL) {
		explicit_bzero(body, len);
		free(body);
	}
	request_done(c, close);
}

static void
send_reply(struct fe_req *fr, int code, char *body)
{
	send_reply_typed(fr, code, "application/json", body);
}

/* A body that is not JSON (the metrics), of the given media type. */
void
http_reply_typed(struct fe_req *fr, int code, const char *ctype, char *body)
{
	if (body == NULL) {
		http_reply_error(fr, 500, "internal", "cannot encode reply");
		return;
	}
	send_reply_typed(fr, code, ctype, body);
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

/* A reply with no body at all: 202 to an MCP notification. */
void
http_reply_empty(struct fe_req *fr, int code)
{
	send_reply(fr, code, NULL);
}

/* A body already encoded (jsonw.c); NULL when that failed. */
void
http_reply_text(struct fe_req *fr, int code, char *body)
{
	if (body == NULL) {
		http_reply_error(fr, 500, "internal", "cannot encode reply");
		return;
	}
	send_reply(fr, code, body);
}

/* The one error shape (DESIGN section 3). */
static char *
error_body(const char *id, const char *ecode, const char *msg)
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
	send_reply(fr, code, error_body(fr->id, ecode, msg));
}

void
http_reply_status(struct fe_req *fr, enum rt_status st, const char *msg)
{
	http_reply_error(fr, rt_status_http(st), rt_status_code(st), "%s",
	    msg != NULL && *msg != '\0' ? msg : rt_status_code(st));
}

/* A framing refusal: the connection is not read as HTTP again. */
static void
refuse(struct fe_req *fr, int code, const char *msg)
{
	const char *ecode;

	switch (code) {
	case 411:
		ecode = "length_required";
		break;
	case 413:
	case 431:
		ecode = "too_large";
		break;
	case 417:
		ecode = "expectation_failed";
		break;
	case 429:
		ecode = "rate_limited";
		break;
	case 500:
		ecode = "internal";
		break;
	default:
		ecode = "invalid_request";
		break;
	}
	fr->close = 1;
	http_reply_error(fr, code, ecode, "%s", msg);
}

/* A token over the unix socket still names the connection's session. */
void
http_auth(struct fe_req *fr, struct msg_auth *a)
{
	struct conn *c = fr->conn;

	memset(a, 0, sizeof(*a));
	a->kind = fr->has_token ? AUTH_TOKEN : AUTH_SESSION;
	a->token = fr->has_token ? fr->token : NULL;
	a->session = !fr->has_token || conn_unix(c) ? c->session : 0;
	snprintf(a->source, sizeof(a->source), "%s", c->source);
	memcpy(a->request_id, fr->id, sizeof(a->request_id));
}

static int
session_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct conn *c = arg;
	struct fe_req *fr = &c->req;
	struct msg_session s;

	c->auth = NULL;
	if (st == RT_OK && msg_session_get(r, &s) == -1)
		return -1;
	if (st != RT_OK) {
		c->sess = SESS_NONE;
		http_reply_status(fr, st, msg);
		return 0;
	}
	c->session = s.session;
	c->sess = SESS_READY;
	/* A uid without a valid name may still use a token. */
	log_debug("%s: unix connection is %s", __func__, s.user_id[0] != '\0' ?
	    s.user_id : "a uid without a valid name");
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

	fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
	if (fd == -1) {
		http_reply_error(fr, 503, "unavailable", "out of descriptors");
		return;
	}
	bc_msg_init(&m, IMSG_CONN_UNIX);
	msg_conn_unix_put(&m, fd);
	if ((c->auth = bc_request(&m, session_reply, c)) == NULL) {
		http_reply_status(fr, RT_UNAVAILABLE, NULL);
		return;
	}
	c->sess = SESS_PENDING;
}

/* 0: no header; 1: a well-formed bearer token; -1: anything else. */
static int
bearer(struct fe_req *fr)
{
	const char *v, *t;
	size_t n;

	v = hr_header(fr->head, "Authorization");
	if (v == NULL)
		return 0;
	if (strncasecmp(v, "Bearer ", 7) != 0)
		return -1;
	for (t = v + 7; *t == ' '; t++)
		;
	n = strlen(t);
	if (!valid_bearer(t, n))
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

/*
 * A JSON-RPC message: any JSON within the limits.  One that does not
 * parse still reaches its route, with no body, to be answered in
 * JSON-RPC's own terms.
 */
static int
read_rpc_body(struct fe_req *fr, struct evbuffer *in, size_t len)
{
	char *p;

	if (!json_media_type(hr_header(fr->head, "Content-Type"))) {
		evbuffer_drain(in, len);
		http_reply_error(fr, 415, "unsupported_media_type",
		    "the body must be application/json");
		return -1;
	}
	if ((p = (char *)evbuffer_pullup(in, len)) == NULL) {
		evbuffer_drain(in, len);
		http_reply_error(fr, 500, "internal", "out of memory");
		return -1;
	}
	fr->body = json_parse_any(p, len);
	explicit_bzero(p, len);
	evbuffer_drain(in, len);
	return 0;
}

/*
 * Parse the body once; its bytes are wiped as soon as jansson has them.
 * The body leaves the input whatever the answer, so that the next
 * request starts where it should.
 */
static int
read_body(struct fe_req *fr, struct evbuffer *in)
{
	const struct json_field *fields = route_fields(fr->route);
	size_t len = fr->head->clen;
	char err[160];
	char *p = NULL;

	if (len == 0 && !route_body_required(fr->route))
		return 0;
	if (len > 0 && route_body_rpc(fr->route))
		return read_rpc_body(fr, in, len);
	if (len > 0 && fields != NULL && json_media_type(hr_header(fr->head,
	    "Content-Type")) && (p = (char *)evbuffer_pullup(in, len)) != NULL)
		fr->body = json_parse_body(p, len, fields, err, sizeof(err));
	if (p != NULL)
		explicit_bzero(p, len);
	evbuffer_drain(in, len);
	if (len == 0)
		http_reply_error(fr, 400, "invalid_request",
		    "a JSON object body is required");
	else if (fields == NULL)
		http_reply_error(fr, 400, "invalid_request",
		    "this route takes no body");
	else if (!json_media_type(hr_header(fr->head, "Content-Type")))
		http_reply_error(fr, 415, "unsupported_media_type",
		    "the body must be application/json");
	else if (p == NULL)
		http_reply_error(fr, 500, "internal", "out of memory");
	else if (fr->body == NULL)
		http_reply_error(fr, 400, "invalid_request", "%s", err);
	else
		return 0;
	return -1;
}

/* Route and query, known from the head alone. */
static int
request_check(struct fe_req *fr)
{
	struct http_head *h = fr->head;
	const char *allow = NULL;
	char err[160];
	int code = 404;

	fr->checked = 1;
	if ((fr->route = route_match(h->path, h->method, fr->arg,
	    sizeof(fr->arg), &code, &allow, err, sizeof(err))) == NULL) {
		if (code == 405)
			fr->allow = allow;
		http_reply_error(fr, code, code == 405 ? "method_not_allowed" :
		    code == 404 ? "not_found" : "invalid_request", "%s", err);
		return -1;
	}
	if (route_parse_query(fr->route, h->query, &fr->q, err,
	    sizeof(err)) == -1) {
		http_reply_error(fr, 400, "invalid_request", "%s", err);
		return -1;
	}
	return 0;
}

/* What the head alone says is refused, before its body is waited for. */
static int
head_check(struct fe_req *fr)
{
	struct conn *c = fr->conn;
	char msg[64];

	if (c->refused)
		refuse(fr, 429, "too many connections from this user");
	else if (fr->head->chunked)
		refuse(fr, 411, "a body needs a Content-Length");
	else if (fr->head->clen > BODY_MAX) {
		snprintf(msg, sizeof(msg), "body over %d bytes", BODY_MAX);
		refuse(fr, 413, msg);
	} else
		return 0;
	return -1;
}

static void
request_start(struct conn *c)
{
	struct fe_req *fr = &c->req;
	const struct http_head *h = c->head;

	http_request_id(fr->id);
	metrics_request_start(fr);
	if (h->path != NULL)
		log_debug("request %s: %s %s%s%s", fr->id, c->source, h->path,
		    h->query != NULL ? "?" : "", h->query != NULL ? h->query :
		    "");
}

/*
 * A head, whole or refused.  With Expect: 100-continue the route is
 * checked before the client sends its body, and 100 Continue goes out
 * only when the head is acceptable.  0: wait for more input.
 */
static int
head_input(struct conn *c, struct evbuffer *in)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct fe_req *fr = &c->req;
	const char *err;
	int code;

	if (evbuffer_get_length(in) == 0)
		return 0;
	if (head_get(c) == NULL) {
		log_warnx("%s: out of memory for a request", __func__);
		c->state = C_CLOSE;
		conn_shutdown(c);
		return 0;
	}
	switch (hr_read(c->head, in, &code, &err)) {
	case HR_MORE:
		return 0;
	case HR_ERROR:
		request_start(c);
		refuse(fr, code, err);
		return 0;
	case HR_DONE:
		break;
	}
	request_start(c);
	if (head_check(fr) == -1)
		return 0;
	c->state = C_BODY;
	if (c->head->expect && evbuffer_get_length(in) < c->head->clen) {
		if (request_check(fr) == -1)
			return 0;	/* the body unread: closes */
		bufferevent_write(c->bev, cont, sizeof(cont) - 1);
		c->head->continued = 1;
	}
	return 1;
}

/*
 * The whole request is here: it is served, and what follows it waits in
 * the input buffer (bounded by its high-water mark) rather than reading
 * being switched off and on around each request, two epoll_ctl(2) each.
 */
static int
body_input(struct conn *c, struct evbuffer *in)
{
	struct fe_req *fr = &c->req;
	uint64_t clen = c->head->clen;

	if (evbuffer_get_length(in) < clen)
		return 0;
	c->state = C_ACTIVE;
	conn_deadline(c);
	/* A refused request's body is dropped, never read as a request;
	 * the reply already reset the head, so its length is kept here. */
	if (!fr->checked && request_check(fr) == -1)
		evbuffer_drain(in, clen);
	else if (read_body(fr, in) == 0) {
		if (route_public(fr->route))
			route_run(fr);
		else
			authenticate(fr);
	}
	return 1;
}

/*
 * Everything buffered is read, request after request, until one waits
 * for the broker, the input runs out, or the connection is to close.
 * May free the connection.
 */
void
http_input(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t n;
	int more = 1;

	c->busy = 1;
	while (more && (c->state == C_HEAD || c->state == C_BODY))
		more = c->state == C_HEAD ? head_input(c, in) :
		    body_input(c, in);
	c->busy = 0;
	if (c->state == C_CLOSE) {
		n = evbuffer_get_length(in);
		evbuffer_drain(in, n);
		c->linger -= n < c->linger ? n : c->linger;
		conn_maybe_close(c);
	} else if (c->eof && c->state != C_ACTIVE) {
		/* What is left can never become a request. */
		c->state = C_CLOSE;
		c->linger = 0;
		conn_maybe_close(c);
	}
}
