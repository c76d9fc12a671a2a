/*
 * http tools: one HTTPS request to the tool's own host with libcurl, on
 * the execution's thread with a blocking easy handle of its own.  It
 * builds the URL, headers and body from the action and the values, and
 * never follows a redirect, uses a proxy, or speaks plain http to
 * anything but loopback.  Every buffer that held a value is wiped,
 * libcurl's and OpenSSL's own included (their allocators wipe on free).
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <malloc.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "log.h"
#include "runner.h"

#define USER_AGENT	"secretd-runner/" PACKAGE_VERSION

/* Allocators that wipe a block before it goes back. */
static void
zfree(void *p)
{
	if (p != NULL) {
		explicit_bzero(p, malloc_usable_size(p));
		free(p);
	}
}

static void *
zrealloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (p == NULL)
		return malloc(n);
	if (n == 0) {
		zfree(p);
		return NULL;
	}
	old = malloc_usable_size(p);
	if ((q = malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	zfree(p);
	return q;
}

static char *
zstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *q;

	if ((q = malloc(n)) != NULL)
		memcpy(q, s, n);
	return q;
}

static void *
ossl_malloc(size_t n, const char *file, int line)
{
	return malloc(n);
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
	return zrealloc(p, n);
}

static void
ossl_free(void *p, const char *file, int line)
{
	zfree(p);
}

/*
 * Before anything allocates: the wiping allocators, OpenSSL's config and
 * libcurl, then one name lookup so that the resolver's configuration and
 * modules are loaded before the filter forbids loading code.
 */
void
http_init(void)
{
	struct addrinfo hints, *res = NULL;

	if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free))
		fatalx("%s: OpenSSL allocated before start-up", __func__);
	if (!OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG |
	    OPENSSL_INIT_NO_ATEXIT, NULL))
		fatalx("%s: OPENSSL_init_ssl", __func__);
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, zfree,
	    zrealloc, zstrdup, calloc) != CURLE_OK)
		fatalx("%s: curl_global_init", __func__);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo("localhost", "443", &hints, &res) == 0)
		freeaddrinfo(res);
}

static int
addr_is_loopback(const struct sockaddr *sa, size_t len)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET && len >= sizeof(*s4))
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6 && len >= sizeof(*s6))
		return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
		    s6->sin6_addr.s6_addr[12] == 127);
	return 0;
}

/* A JSON string as jansson writes it, quotes included; -1: not UTF-8. */
static int
wb_json_string(struct wbuf *b, const char *s)
{
	json_t *j;
	char *d;

	if ((j = json_string(s)) == NULL)
		return -1;
	d = json_dumps(j, JSON_ENCODE_ANY);
	json_decref(j);
	if (d == NULL)
		return -1;
	wb_str(b, d);
	free(d);
	return 0;
}

/*
 * The parameters as a JSON object, keeping their types: a number's text
 * goes in as it is (already checked against JSON's grammar), a bool as
 * true or false.  With only_body, the PARAM_BODY ones; with action,
 * wrapped as {"action": ..., "params": {...}} (what exec tools read).
 */
static int
params_object(const struct execution *ex, int only_body, struct wbuf *b)
{
	const struct run_param *p;
	const struct tool_param *tp;
	uint32_t i;
	int first = 1;

	wb_str(b, "{");
	for (i = 0; i < ex->rq->nparams; i++) {
		p = &ex->rq->params[i];
		tp = action_param(ex->action, p->name);
		if (only_body && tp->place != PARAM_BODY)
			continue;
		if (!first)
			wb_str(b, ",");
		first = 0;
		if (wb_json_string(b, p->name) == -1)
			return -1;
		wb_str(b, ":");
		if (p->type == PARAM_STRING) {
			if (wb_json_string(b, p->value) == -1)
				return -1;
		} else
			wb_str(b, p->value);
	}
	wb_str(b, "}");
	return 0;
}

/* -1 when a string parameter is not UTF-8; wb_free the buffer. */
int
params_json(const struct execution *ex, int with_action, struct wbuf *b)
{
	memset(b, 0, sizeof(*b));
	if (with_action) {
		wb_str(b, "{\"action\":");
		if (wb_json_string(b, ex->rq->action) == -1)
			goto fail;
		wb_str(b, ",\"params\":");
	}
	if (params_object(ex, !with_action, b) == -1)
		goto fail;
	if (with_action)
		wb_str(b, "}\n");
	if (b->err)
		goto fail;
	return 0;
fail:
	wb_free(b);
	return -1;
}

static int
action_has_body(const struct tool_action *a)
{
	uint32_t i;

	for (i = 0; i < a->nparams; i++)
		if (a->params[i].place == PARAM_BODY)
			return 1;
	return 0;
}

/* The action's path with each {param} percent-encoded; -1: refused. */
static int
url_path(const struct execution *ex, struct wbuf *b, char *err,
    size_t errlen)
{
	const struct run_param *p;
	const char *s, *close;
	char name[TOOL_FIELD_MAX + 1];
	size_t n;

	for (s = ex->action->path; *s != '\0'; s++) {
		if (*s != '{') {
			wb_add(b, s, 1);
			continue;
		}
		close = strchr(s, '}');
		n = (size_t)(close - s - 1);
		memcpy(name, s + 1, n);
		name[n] = '\0';
		p = exec_param(ex, name);
		if (strcmp(p->value, ".") == 0 || strcmp(p->value, "..") == 0) {
			snprintf(err, errlen, "params.%s: '.' and '..' cannot "
			    "be a path segment", name);
			return -1;
		}
		wb_pct(b, (const uint8_t *)p->value, strlen(p->value));
		s = close;
	}
	return 0;
}

/*
 * base_url + the path + the query: query parameters, then query slots.
 * NULL with err set when a value cannot go in; the result is a wbuf's
 * buffer (wfree it with *capp).
 */
static char *
http_url(const struct execution *ex, size_t *capp, char *err,
    size_t errlen)
{
	const struct tool *t = &ex->rq->tool;
	const struct run_param *p;
	const struct tool_slot *sl;
	struct wbuf b;
	size_t n;
	uint32_t i;
	int q = 0;

	memset(&b, 0, sizeof(b));
	n = strlen(t->base_url);
	if (n > 0 && t->base_url[n - 1] == '/')
		n--;
	wb_add(&b, t->base_url, n);
	if (url_path(ex, &b, err, errlen) == -1)
		goto fail;
	for (i = 0; i < ex->rq->nparams; i++) {
		p = &ex->rq->params[i];
		if (action_param(ex->action, p->name)->place != PARAM_QUERY)
			continue;
		wb_str(&b, q++ ? "&" : "?");
		wb_str(&b, p->name);
		wb_str(&b, "=");
		wb_pct(&b, (const uint8_t *)p->value, strlen(p->value));
	}
	for (i = 0; i < ex->rq->ncreds; i++) {
		sl = tool_slot(t, ex->rq->creds[i].slot);
		if (sl->place != SLOT_QUERY)
			continue;
		wb_str(&b, q++ ? "&" : "?");
		wb_str(&b, sl->target);
		wb_str(&b, "=");
		wb_pct(&b, ex->rendered[i], ex->rendered_len[i]);
	}
	if (b.err) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	*capp = b.cap;
	return b.p;
fail:
	wb_free(&b);
	return NULL;
}

struct http_ctx {
	struct tool_out	*out;
	size_t		 cap;		/* max_result */
	int		 too_large;
	int		 plain;		/* base_url is http:// */
	int		 refused_addr;
};

static size_t
body_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_ctx *c = arg;
	struct tool_out *o = c->out;
	size_t n = size * nmemb;

	if (n > c->cap - o->out_len) {
		c->too_large = 1;
		return 0;
	}
	memcpy(o->out + o->out_len, p, n);
	o->out_len += n;
	return n;
}

/* Plain http goes to loopback addresses only, whatever a name says. */
static curl_socket_t
open_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct http_ctx *c = arg;

	if (c->plain && !addr_is_loopback(&a->addr, a->addrlen)) {
		c->refused_addr = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static int
same_origin(const char *a, const char *b)
{
	static const CURLUPart parts[] = { CURLUPART_SCHEME, CURLUPART_HOST,
	    CURLUPART_PORT };
	CURLU *ua, *ub;
	char *pa, *pb;
	size_t i;
	int same = 0;

	ua = curl_url();
	ub = curl_url();
	if (ua == NULL || ub == NULL ||
	    curl_url_set(ua, CURLUPART_URL, a, 0) != CURLUE_OK ||
	    curl_url_set(ub, CURLUPART_URL, b, 0) != CURLUE_OK)
		goto done;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		pa = pb = NULL;
		if (curl_url_get(ua, parts[i], &pa, CURLU_DEFAULT_PORT) !=
		    CURLUE_OK || curl_url_get(ub, parts[i], &pb,
		    CURLU_DEFAULT_PORT) != CURLUE_OK ||
		    strcasecmp(pa, pb) != 0) {
			curl_free(pa);
			curl_free(pb);
			goto done;
		}
		curl_free(pa);
		curl_free(pb);
	}
	same = 1;
done:
	curl_url_cleanup(ua);
	curl_url_cleanup(ub);
	return same;
}

/* Header, basic-auth and query slots; NULL headers are fine. */
static int
add_slots(const struct execution *ex, CURL *h, struct curl_slist **hdrs,
    struct tool_out *o)
{
	const struct tool_slot *s;
	struct curl_slist *nl;
	struct wbuf line;
	uint32_t i;
	int basic = 0;

	for (i = 0; i < ex->rq->ncreds; i++) {
		s = tool_slot(&ex->rq->tool, ex->rq->creds[i].slot);
		if (s->place == SLOT_HEADER) {
			if (strcspn((const char *)ex->rendered[i], "\r\n") !=
			    ex->rendered_len[i]) {
				tool_out_set(o, RUN_REFUSED, "slot %s: the "
				    "value holds CR, LF or NUL, which a header "
				    "cannot carry", s->name);
				return -1;
			}
			memset(&line, 0, sizeof(line));
			wb_str(&line, s->target);
			wb_str(&line, ": ");
			wb_add(&line, ex->rendered[i], ex->rendered_len[i]);
			nl = line.err ? NULL : curl_slist_append(*hdrs,
			    line.p);
			wb_free(&line);
			if (nl == NULL) {
				tool_out_set(o, RUN_INTERNAL, "out of memory");
				return -1;
			}
			*hdrs = nl;
		} else if (s->place == SLOT_BASIC) {
			if (basic++ || strlen((const char *)ex->rendered[i]) !=
			    ex->rendered_len[i]) {
				tool_out_set(o, RUN_REFUSED, "slot %s: basic "
				    "auth takes one slot and no NUL byte",
				    s->name);
				return -1;
			}
			curl_easy_setopt(h, CURLOPT_HTTPAUTH,
			    (long)CURLAUTH_BASIC);
			curl_easy_setopt(h, CURLOPT_USERPWD, ex->rendered[i]);
		}
	}
	return 0;
}

static void
set_common(CURL *h, const struct tool *t, struct http_ctx *c, char *errbuf)
{
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500	/* 7.85: the _STR options */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, c->plain ? "http,https" :
	    "https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, c->plain ?
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS) : (long)CURLPROTO_HTTPS);
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (t->ca_file[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_file);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	/* Decoded, so redaction sees what the upstream meant. */
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)t->timeout_ms);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)t->max_result);
	curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_cb);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
}

/* The method, and the JSON body when the action takes body params. */
static int
set_method(const struct execution *ex, CURL *h, struct curl_slist **hdrs,
    struct wbuf *body, struct tool_out *o)
{
	const char *m = ex->action->method;
	struct curl_slist *nl;

	if (action_has_body(ex->action)) {
		if (params_json(ex, 0, body) == -1) {
			tool_out_set(o, RUN_REFUSED, "a string parameter is "
			    "not valid UTF-8");
			return -1;
		}
		if ((nl = curl_slist_append(*hdrs,
		    "Content-Type: application/json")) == NULL)
			return -1;
		*hdrs = nl;
	} else if (strcmp(m, "GET") != 0 && strcmp(m, "DELETE") != 0)
		wb_str(body, "");
	if (body->err)
		return -1;
	if (body->p != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->p);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)body->len);
	}
	if (strcmp(m, "GET") == 0 && body->p == NULL)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else if (strcmp(m, "POST") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	if ((nl = curl_slist_append(*hdrs, "Expect:")) == NULL)
		return -1;
	*hdrs = nl;
	return 0;
}

/* Strips what a log line or the result message must not hold. */
static void
set_message(struct tool_out *o, uint8_t outcome, const char *prefix,
    const char *text)
{
	char *p;

	tool_out_set(o, outcome, "%s%s", prefix, text);
	for (p = o->message; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

static void
outcome_of(const struct execution *ex, CURL *h, CURLcode rc,
    struct http_ctx *c, const char *errbuf, struct tool_out *o)
{
	const struct tool *t = &ex->rq->tool;
	char *redir = NULL;
	long code = 0;

	if (c->refused_addr && rc != CURLE_OK) {
		tool_out_set(o, RUN_REFUSED, "plain http to an address that "
		    "is not loopback");
		return;
	}
	if (c->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		tool_out_set(o, RUN_TOO_LARGE, "upstream answered more than "
		    "%u bytes", t->max_result);
		return;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		tool_out_set(o, RUN_TIMEOUT, "upstream did not answer within "
		    "%u ms", t->timeout_ms);
		return;
	}
	if (rc != CURLE_OK) {
		set_message(o, rc == CURLE_UNSUPPORTED_PROTOCOL ? RUN_REFUSED :
		    RUN_UPSTREAM, "upstream: ", errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(rc));
		return;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 300 && code < 400 &&
	    curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &redir) == CURLE_OK &&
	    redir != NULL && !same_origin(t->base_url, redir)) {
		tool_out_set(o, RUN_REFUSED, "upstream redirected to another "
		    "host");
		return;
	}
	o->outcome = RUN_OK;
	o->status = (uint32_t)code;
	o->ok = code >= 200 && code < 300;
}

void
http_run(const struct execution *ex, struct tool_out *o)
{
	const struct tool *t = &ex->rq->tool;
	char errbuf[CURL_ERROR_SIZE] = "", err[256];
	struct curl_slist *hdrs = NULL;
	struct http_ctx c;
	struct wbuf body;
	size_t url_cap = 0;
	char *url = NULL;
	CURLcode rc;
	CURL *h = NULL;

	memset(&c, 0, sizeof(c));
	memset(&body, 0, sizeof(body));
	c.out = o;
	c.cap = t->max_result;
	c.plain = strncmp(t->base_url, "http://", 7) == 0;
	o->out_cap = (size_t)t->max_result + 1;
	if ((o->out = wmalloc(o->out_cap)) == NULL ||
	    (h = curl_easy_init()) == NULL) {
		tool_out_set(o, RUN_INTERNAL, "out of memory");
		goto done;
	}
	/* First: even the cleanup of a handle without it touches signals. */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if ((url = http_url(ex, &url_cap, err, sizeof(err))) == NULL) {
		tool_out_set(o, RUN_REFUSED, "%s", err);
		goto done;
	}
	set_common(h, t, &c, errbuf);
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (add_slots(ex, h, &hdrs, o) == -1)
		goto done;
	if (set_method(ex, h, &hdrs, &body, o) == -1) {
		if (o->outcome == RUN_OK)
			tool_out_set(o, RUN_INTERNAL, "out of memory");
		goto done;
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(h);
	outcome_of(ex, h, rc, &c, errbuf, o);
	if (o->outcome != RUN_OK)
		o->out_len = 0;
done:
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	wfree(url, url_cap);
	wb_free(&body);
	explicit_bzero(errbuf, sizeof(errbuf));
}
