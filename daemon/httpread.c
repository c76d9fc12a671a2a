/*
 * The one HTTP/1.1 request reader: request line and headers, a line at a
 * time, into a connection's fixed buffer, refusing every framing the API
 * never needs.  It never allocates, never answers and never reads a body.
 */
#include "config.h"

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "frontend.h"

#define CLEN_DIGITS_MAX	18	/* far above BODY_MAX, far below overflow */

static const struct {
	const char		*name;
	enum http_method	 m;
} methods[] = {
	{ "GET", HTTP_GET }, { "HEAD", HTTP_HEAD }, { "POST", HTTP_POST },
	{ "PUT", HTTP_PUT }, { "PATCH", HTTP_PATCH },
	{ "DELETE", HTTP_DELETE }, { "OPTIONS", HTTP_OPTIONS }
};

/* Headers that mean one thing only when given once. */
static const char *const singletons[] = {
	"Host", "Authorization", "Content-Type", "Expect"
};

struct refusal {
	int		 code;
	const char	*err;
};

void
hr_reset(struct http_head *h)
{
	h->len = 0;
	h->lines = 0;
	h->method = HTTP_OTHER;
	h->path = h->query = NULL;
	h->minor = 1;
	h->nh = 0;
	h->clen = 0;
	h->has_clen = h->chunked = h->close = h->keepalive = h->expect = 0;
	h->continued = 0;
}

static int
tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int
token(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!tchar((unsigned char)s[i]))
			return 0;
	return n > 0;
}

static enum http_method
method(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(s, methods[i].name) == 0)
			return methods[i].m;
	return HTTP_OTHER;
}

/*
 * origin-form only: a path and an optional query, printable ASCII.  A
 * fragment is never sent by a client that means well.
 */
static const char *
target(struct http_head *h, char *t)
{
	char *q;
	size_t i;

	if (*t != '/')
		return "the request target must be a path";
	for (i = 0; t[i] != '\0'; i++)
		if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] >= 0x7f ||
		    t[i] == '#')
			return "malformed request target";
	if ((q = strchr(t, '?')) != NULL) {
		*q++ = '\0';
		h->query = q;
	}
	h->path = t;
	return NULL;
}

/* METHOD SP target SP HTTP/1.x, exactly one space between. */
static const char *
request_line(struct http_head *h, char *s, size_t len)
{
	char *t, *v;
	const char *err;

	if ((t = memchr(s, ' ', len)) == NULL ||
	    (v = strchr(t + 1, ' ')) == NULL || strchr(v + 1, ' ') != NULL)
		return "malformed request line";
	*t++ = '\0';
	*v++ = '\0';
	if (!token(s, strlen(s)))
		return "malformed method";
	h->method = method(s);
	if (strcmp(v, "HTTP/1.1") == 0)
		h->minor = 1;
	else if (strcmp(v, "HTTP/1.0") == 0)
		h->minor = 0;
	else
		return "only HTTP/1.0 and HTTP/1.1 are served";
	if ((err = target(h, t)) != NULL)
		return err;
	return NULL;
}

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

/* Connection is a list; only close and keep-alive mean anything here. */
static void
connection(struct http_head *h, const char *v)
{
	size_t n;

	while (*v != '\0') {
		v += strspn(v, " \t,");
		n = strcspn(v, " \t,");
		if (n == 5 && strncasecmp(v, "close", n) == 0)
			h->close = 1;
		else if (n == 10 && strncasecmp(v, "keep-alive", n) == 0)
			h->keepalive = 1;
		v += n;
	}
}

/*
 * The headers that frame the body.  Two lengths, or a length and a
 * transfer coding, are how one request is smuggled inside another.
 */
static int
framing(struct http_head *h, const char *k, const char *v,
    struct refusal *r)
{
	size_t n = strlen(v);

	r->code = 400;
	if (strcasecmp(k, "Content-Length") == 0) {
		if (h->has_clen || h->chunked)
			r->err = "more than one Content-Length or "
			    "Transfer-Encoding";
		else if (n == 0 || n > CLEN_DIGITS_MAX ||
		    strspn(v, "0123456789") != n)
			r->err = "malformed Content-Length";
		else {
			h->has_clen = 1;
			h->clen = strtoull(v, NULL, 10);
		}
	} else if (strcasecmp(k, "Transfer-Encoding") == 0) {
		if (h->has_clen || h->chunked)
			r->err = "more than one Content-Length or "
			    "Transfer-Encoding";
		else if (strcasecmp(v, "chunked") != 0)
			r->err = "only Transfer-Encoding: chunked is known";
		else
			h->chunked = 1;
	} else if (strcasecmp(k, "Connection") == 0)
		connection(h, v);
	else if (strcasecmp(k, "Expect") == 0) {
		if (strcasecmp(v, "100-continue") == 0)
			h->expect = h->minor == 1;
		else {
			r->code = 417;
			r->err = "only Expect: 100-continue is understood";
		}
	}
	return r->err == NULL ? 0 : -1;
}

static int
singleton_again(const struct http_head *h, const char *k)
{
	size_t i;

	for (i = 0; i < sizeof(singletons) / sizeof(singletons[0]); i++)
		if (strcasecmp(k, singletons[i]) == 0)
			return hr_header(h, k) != NULL;
	return 0;
}

/* name ":" OWS value OWS; no folding, no control characters but HTAB. */
static int
header_line(struct http_head *h, char *s, size_t len, struct refusal *r)
{
	char *colon, *v;
	size_t i;

	r->code = 400;
	if (*s == ' ' || *s == '\t')
		r->err = "folded header lines are not accepted";
	else if ((colon = memchr(s, ':', len)) == NULL ||
	    !token(s, colon - s))
		r->err = "malformed header line";
	if (r->err != NULL)
		return -1;
	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] < ' ' && s[i] != '\t') ||
		    s[i] == 0x7f) {
			r->err = "control character in a header";
			return -1;
		}
	*colon = '\0';
	v = ows_trim(colon + 1);
	if (singleton_again(h, s)) {
		r->err = "a header that may appear once appears twice";
		return -1;
	}
	if (h->nh == HEADERS_N_MAX) {
		r->code = 431;
		r->err = "too many request headers";
		return -1;
	}
	if (framing(h, s, v, r) == -1)
		return -1;
	h->h[h->nh].name = s;
	h->h[h->nh++].value = v;
	return 0;
}

/*
 * The next line, moved from the input into the head buffer: the same
 * work as evbuffer_readln without an allocation for each line.  Returns
 * its length without CRLF, 0 when incomplete (an empty line is 1 byte
 * short of its CRLF: *line is still set), -1 when refused.
 */
static ssize_t
next_line(struct http_head *h, struct evbuffer *in, char **line,
    struct refusal *r)
{
	struct evbuffer_ptr p;
	size_t room = sizeof(h->buf) - h->len, n;
	char *s;

	p = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (p.pos == -1 || (size_t)p.pos + 1 > room) {
		if (p.pos == -1 && evbuffer_get_length(in) < room)
			return 0;
		r->code = 431;
		r->err = "request head over 8 KiB";
		return -1;
	}
	n = (size_t)p.pos + 1;
	s = h->buf + h->len;
	if (evbuffer_remove(in, s, n) != (int)n) {
		r->code = 500;
		r->err = "cannot read the request head";
		return -1;
	}
	h->len += n;
	r->code = 400;
	if (n < 2 || s[n - 2] != '\r')
		r->err = "a line of the request head must end in CRLF";
	else if (memchr(s, '\0', n) != NULL)
		r->err = "NUL in the request head";
	else if (memchr(s, '\r', n - 2) != NULL)
		r->err = "bare CR in the request head";
	if (r->err != NULL)
		return -1;
	s[n - 2] = '\0';
	*line = s;
	return (ssize_t)(n - 2) + 1;
}

/*
 * Reads what the input holds of one head.  HR_MORE: the input is used up
 * and the head is not complete; HR_DONE: complete, the input starts at
 * the body; HR_ERROR: refused with *code and *err, the connection must
 * not be read as HTTP again.
 */
enum hr_result
hr_read(struct http_head *h, struct evbuffer *in, int *code,
    const char **err)
{
	struct refusal r;
	ssize_t n;
	char *line;

	for (;;) {
		r.code = 0;
		r.err = NULL;
		if ((n = next_line(h, in, &line, &r)) == 0)
			return HR_MORE;
		if (n == -1)
			goto fail;
		n--;
		if (h->lines == 0 && n == 0) {
			/* RFC 9112 2.2: an empty line before a request. */
			h->len = 0;
			continue;
		}
		if (h->lines++ == 0) {
			if ((r.err = request_line(h, line, n)) != NULL) {
				r.code = 400;
				goto fail;
			}
		} else if (n == 0)
			return HR_DONE;
		else if (header_line(h, line, n, &r) == -1)
			goto fail;
	}
fail:
	*code = r.code;
	*err = r.err;
	return HR_ERROR;
}

const char *
hr_header(const struct http_head *h, const char *name)
{
	int i;

	for (i = 0; i < h->nh; i++)
		if (strcasecmp(h->h[i].name, name) == 0)
			return h->h[i].value;
	return NULL;
}
