/*
 * Framing guard: watches each connection's input as it arrives, before
 * evhttp parses it, and answers what libevent would refuse with its own
 * HTML page in our JSON error shape.  It never changes or reads a body.
 */
#include "config.h"

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "log.h"
#include "frontend.h"

#define CHUNK_LINE_MAX	64		/* "hex size" and nothing else */
#define LINGER_MAX	(1024 * 1024)	/* body bytes read after a refusal */
#define ALLOWED		"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

enum guard_state {
	G_HEAD,			/* request line and headers */
	G_BODY,			/* Content-Length bytes still to come */
	G_CHUNK_SIZE,		/* a chunk-size line */
	G_CHUNK_DATA,		/* chunk bytes still to come */
	G_TRAILER,		/* trailer lines after the last chunk */
	G_REFUSED		/* answered; reading only to close cleanly */
};

struct guard {
	struct bufferevent	*bev;
	struct evbuffer_cb_entry *cb;
	struct event		*close_ev;
	bufferevent_event_cb	 evhttp_eventcb;
	void			*evhttp_arg;
	enum guard_state	 state;
	size_t			 pos;		/* input not yet scanned */
	size_t			 headlen;
	int			 lines;
	int			 ncl;		/* Content-Length headers */
	int			 nte;		/* Transfer-Encoding headers */
	int			 chunked;
	int			 nobody;	/* HEAD: libevent reads no body */
	uint64_t		 cl;
	uint64_t		 left;		/* body or chunk bytes to come */
	uint64_t		 total;		/* chunked body so far */
	int			 eof;
};

/* A head is at most HEADERS_MAX: one line fits, and is copied here. */
static char	 line[HEADERS_MAX + 1];

static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"
};

/*
 * evhttp frees the connection as if the client had closed it; that frees
 * the guard (close_cb in http.c), so nothing touches it afterwards.
 */
static void
close_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct guard *g = arg;

	g->evhttp_eventcb(g->bev, BEV_EVENT_EOF | BEV_EVENT_READING,
	    g->evhttp_arg);
}

/*
 * Closing with unread input would reset a TCP connection and could lose
 * the reply, so the declared body is read and dropped (up to LINGER_MAX)
 * until the client stops; the request deadline bounds the wait.
 */
static void
refused_maybe_close(struct guard *g)
{
	if (evbuffer_get_length(bufferevent_get_output(g->bev)) == 0 &&
	    (g->left == 0 || g->eof))
		event_active(g->close_ev, 0, 0);
}

static void
refused_readcb(struct bufferevent *bev, void *arg)
{
	struct guard *g = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);

	evbuffer_drain(in, n);
	g->left -= n < g->left ? n : g->left;
	refused_maybe_close(g);
}

static void
refused_writecb(struct bufferevent *bev, void *arg)
{
	refused_maybe_close(arg);
}

static void
refused_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct guard *g = arg;

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_WRITING)) {
		g->eof = 1;
		bufferevent_disable(bev, EV_READ);
		refused_maybe_close(g);
	} else
		event_active(g->close_ev, 0, 0);
}

/*
 * Answer in the shape http.c uses.  The unparsed input is dropped so the
 * bad request never reaches evhttp, and the guard takes the connection's
 * callbacks until the reply is out.
 */
static void
refuse(struct guard *g, struct evbuffer *in, int code, const char *msg)
{
	char id[REQID_LEN + 1], *body;

	http_request_id(id);
	log_debug("request %s: %d %s (framing)", id, code, msg);
	g->state = G_REFUSED;
	if (g->chunked)
		g->left = LINGER_MAX;
	else
		g->left = g->ncl != 1 ? 0 : g->cl < LINGER_MAX ? g->cl :
		    LINGER_MAX;
	g->left -= g->left < evbuffer_get_length(in) - g->pos ?
	    g->left : evbuffer_get_length(in) - g->pos;
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_getcb(g->bev, NULL, NULL, &g->evhttp_eventcb,
	    &g->evhttp_arg);
	bufferevent_setcb(g->bev, refused_readcb, refused_writecb,
	    refused_eventcb, g);
	bufferevent_enable(g->bev, EV_READ | EV_WRITE);
	if ((body = http_error_body(id, code == 413 ? "too_large" :
	    code == 405 ? "method_not_allowed" : "invalid_request",
	    msg)) == NULL || evbuffer_add_printf(bufferevent_get_output(g->bev),
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\nCache-Control: no-store\r\n"
	    "X-Request-Id: %s\r\n%sConnection: close\r\n"
	    "Content-Length: %zu\r\n\r\n%s\n", code,
	    code == 413 ? "Payload Too Large" : code == 405 ?
	    "Method Not Allowed" : "Bad Request", id,
	    code == 405 ? "Allow: " ALLOWED "\r\n" : "", strlen(body) + 1,
	    body) == -1)
		event_active(g->close_ev, 0, 0);
	free(body);
}

static int
tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* Stricter than libevent, never looser: both must frame alike. */
static const char *
check_request_line(struct guard *g, char *s, size_t len, int *code)
{
	struct evhttp_uri *uri;
	char *target, *version;
	size_t i;

	*code = 400;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			return "control character in the request line";
	if ((target = memchr(s, ' ', len)) == NULL ||
	    (version = strchr(target + 1, ' ')) == NULL ||
	    strchr(version + 1, ' ') != NULL)
		return "malformed request line";
	*target++ = '\0';
	*version++ = '\0';
	if (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0"))
		return "only HTTP/1.0 and HTTP/1.1 are served";
	if (*target != '/')
		return "the request target must be a path";
	if ((uri = evhttp_uri_parse_with_flags(target,
	    EVHTTP_URI_NONCONFORMANT)) == NULL)
		return "malformed request target";
	evhttp_uri_free(uri);
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(s, methods[i]) == 0)
			break;
	if (i == sizeof(methods) / sizeof(methods[0])) {
		*code = 405;
		return "method not supported";
	}
	g->nobody = strcmp(s, "HEAD") == 0;
	return NULL;
}

/* Trim optional white space around a header value. */
static char *
ows_trim(char *v)
{
	size_t n;

	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = '\0';
	return v;
}

/*
 * A header or trailer line.  Folded lines and names with white space are
 * refused: a proxy in front might read them differently than libevent.
 */
static const char *
check_header(struct guard *g, char *s, size_t len, int *code)
{
	char *colon, *v;
	size_t i;

	*code = 400;
	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] < ' ' && s[i] != '\t') ||
		    s[i] == 0x7f)
			return "control character in a header";
	if ((colon = memchr(s, ':', len)) == NULL || colon == s)
		return "malformed header line";
	for (v = s; v < colon; v++)
		if (!tchar((unsigned char)*v))
			return "malformed header name";
	*colon = '\0';
	v = ows_trim(colon + 1);
	if (g->state != G_HEAD)
		return NULL;
	if (strcasecmp(s, "Transfer-Encoding") == 0) {
		g->nte++;
		if (strcasecmp(v, "chunked") != 0)
			return "only Transfer-Encoding: chunked is accepted";
		g->chunked = 1;
	} else if (strcasecmp(s, "Content-Length") == 0) {
		g->ncl++;
		if (*v == '\0' || strspn(v, "0123456789") != strlen(v) ||
		    strlen(v) > 18)
			return "malformed Content-Length";
		g->cl = strtoull(v, NULL, 10);
	}
	if (g->ncl + g->nte > 1)
		return "more than one Content-Length or Transfer-Encoding";
	return NULL;
}

/* The words http.c uses for the same limit. */
static const char *
body_too_large(void)
{
	static char msg[64];

	snprintf(msg, sizeof(msg), "body over %d bytes", BODY_MAX);
	return msg;
}

/* Where the body starts, what it is, and whether it is too large. */
static const char *
head_done(struct guard *g, int *code)
{
	*code = 413;
	if (g->ncl == 1 && g->cl > BODY_MAX && !g->nobody)
		return body_too_large();
	g->left = 0;
	if (g->nobody || (g->ncl == 0 && g->nte == 0))
		g->state = G_HEAD;
	else if (g->chunked) {
		g->state = G_CHUNK_SIZE;
		g->total = 0;
	} else {
		g->left = g->cl;
		g->state = g->cl > 0 ? G_BODY : G_HEAD;
	}
	return NULL;
}

/*
 * The next complete line at offset off of src, copied to line[] without
 * its end.  Returns its length plus end, 0 if incomplete, -1 if longer
 * than max.
 */
static ssize_t
next_line(struct evbuffer *src, size_t off, size_t max, size_t *len)
{
	struct evbuffer_ptr p;
	size_t eol;

	if (evbuffer_ptr_set(src, &p, off, EVBUFFER_PTR_SET) == -1)
		return 0;
	p = evbuffer_search_eol(src, &p, &eol, EVBUFFER_EOL_CRLF);
	if (p.pos == -1)
		return evbuffer_get_length(src) - off > max ? -1 : 0;
	*len = p.pos - off;
	if (*len > max)
		return -1;
	if (evbuffer_ptr_set(src, &p, off, EVBUFFER_PTR_SET) == -1 ||
	    evbuffer_copyout_from(src, &p, line, *len) != (ev_ssize_t)*len)
		return -1;
	line[*len] = '\0';
	return *len + eol;
}

/*
 * The head's lines are checked once each, as they complete.  0: go on,
 * -1: refused.
 */
static int
head_line(struct guard *g, struct evbuffer *in)
{
	const char *err;
	size_t len;
	ssize_t n;
	int code;

	if (g->lines == 0 && g->headlen == 0)
		g->ncl = g->nte = g->chunked = g->nobody = 0;
	n = next_line(in, g->pos, g->headlen < HEADERS_MAX ? HEADERS_MAX -
	    g->headlen : 0, &len);
	if (n == 0)
		return 1;
	if (n == -1) {
		snprintf(line, sizeof(line), "request headers over %d bytes",
		    HEADERS_MAX);
		refuse(g, in, 413, line);
		return -1;
	}
	g->pos += n;
	g->headlen += n;
	if (g->lines++ == 0)
		err = check_request_line(g, line, len, &code);
	else if (len == 0)
		err = head_done(g, &code);
	else
		err = check_header(g, line, len, &code);
	if (err != NULL) {
		refuse(g, in, code, err);
		return -1;
	}
	if (len == 0)
		g->lines = g->headlen = 0;
	return 0;
}

/*
 * Chunk sizes are tracked so that a chunked body over BODY_MAX is refused
 * in JSON too, and the next request's head is found.  libevent skips
 * empty lines where it expects a size (the end of the previous chunk);
 * so does this.
 */
static int
chunk_line(struct guard *g, struct evbuffer *in)
{
	const char *err = "malformed chunk size";
	size_t len, max;
	ssize_t n;
	int code = 400;

	max = g->state == G_TRAILER ? HEADERS_MAX : CHUNK_LINE_MAX;
	if ((n = next_line(in, g->pos, max, &len)) == 0)
		return 1;
	if (n == -1) {
		refuse(g, in, 400, "chunk line too long");
		return -1;
	}
	g->pos += n;
	if (g->state == G_TRAILER) {
		err = len == 0 ? NULL : check_header(g, line, len, &code);
		if (len == 0)
			g->state = G_HEAD;
	} else if (len == 0)
		err = NULL;
	else if (len <= 8 && strspn(line, "0123456789abcdefABCDEF") == len) {
		g->left = strtoull(line, NULL, 16);
		g->total += g->left;
		err = NULL;
		if (g->total > BODY_MAX) {
			code = 413;
			err = body_too_large();
		}
		g->state = g->left > 0 ? G_CHUNK_DATA : G_TRAILER;
	}
	if (err != NULL) {
		refuse(g, in, code, err);
		return -1;
	}
	return 0;
}

/*
 * Runs as bytes are added to the input, before evhttp's read callback;
 * evhttp only ever removes whole lines or body bytes already scanned.
 */
static void
in_cb(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	struct guard *g = arg;
	size_t n;
	int r = 0;

	g->pos -= info->n_deleted < g->pos ? info->n_deleted : g->pos;
	if (info->n_added == 0 || g->state == G_REFUSED)
		return;
	while (r == 0 && g->pos < evbuffer_get_length(in)) {
		switch (g->state) {
		case G_HEAD:
			r = head_line(g, in);
			break;
		case G_CHUNK_SIZE:
		case G_TRAILER:
			r = chunk_line(g, in);
			break;
		case G_BODY:
		case G_CHUNK_DATA:
			n = evbuffer_get_length(in) - g->pos;
			if (n > g->left)
				n = g->left;
			g->pos += n;
			if ((g->left -= n) == 0)
				g->state = g->state == G_BODY ? G_HEAD :
				    G_CHUNK_SIZE;
			break;
		case G_REFUSED:
			return;
		}
	}
}

/*
 * libevent 2.1 has no hook for its own refusals, and its filter
 * bufferevents report a reply written before the socket has it (evhttp
 * then shuts the socket down on Connection: close), so the guard watches
 * the connection's own input buffer instead.
 */
struct guard *
guard_new(struct bufferevent *bev)
{
	struct guard *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->bev = bev;
	if ((g->close_ev = event_new(bufferevent_get_base(bev), -1, 0,
	    close_cb, g)) == NULL)
		goto fail;
	if ((g->cb = evbuffer_add_cb(bufferevent_get_input(bev), in_cb,
	    g)) == NULL)
		goto fail;
	return g;
fail:
	if (g->close_ev != NULL)
		event_free(g->close_ev);
	free(g);
	return NULL;
}

/* Before its bufferevent goes. */
void
guard_free(struct guard *g)
{
	if (g == NULL)
		return;
	evbuffer_remove_cb_entry(bufferevent_get_input(g->bev), g->cb);
	event_free(g->close_ev);
	free(g);
}
