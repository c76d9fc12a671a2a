/*
 * libruntools transport: one libcurl handle per client speaking HTTP/1.1
 * over a unix socket or verified HTTPS, and the API's error mapping.  It
 * never prints or exits, and wipes every buffer that held a token or value.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "jsonwipe.h"
#include "proto.h"
#include "runtools.h"
#include "rtclient.h"

#define RESPONSE_MAX	(32 * 1024 * 1024)
#define TOKEN_MAX	512
#define SUN_PATH_MAX	107
#define CONNECT_TIMEOUT	10L
#define REQUEST_TIMEOUT	60L

struct buf {
	char		*p;
	size_t		 len;
	size_t		 cap;
};

struct rt_client {
	CURL		*curl;
	char		*base;		/* scheme://authority, no slash */
	char		*sock;		/* unix socket path, or NULL */
	char		*auth_header;	/* "Authorization: Bearer ..." */
	char		 client_header[96];	/* "X-RunTools-Client: ..." or
					   "" */
	struct buf	 resp;		/* body being received */
	char		*last;		/* previous call's body */
	size_t		 last_len;
	struct rt_error_info err;
	char		 curl_err[CURL_ERROR_SIZE];
	long		 timeout;	/* the next call's, in seconds */
};

void
rt_wipe_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

void
rt_secret_value_free(char *value, size_t len)
{
	/* the library always allocates one NUL after the value */
	rt_wipe_free(value, value == NULL ? 0 : len + 1);
}

void
rt_harden_memory(void)
{
	jsonwipe_init();
}

const char *
rt_strerror(enum rt_error e)
{
	switch (e) {
	case RT_E_OK:
		return "success";
	case RT_E_USAGE:
		return "invalid argument";
	case RT_E_NETWORK:
		return "cannot reach the server";
	case RT_E_SERVER:
		return "server error";
	case RT_E_NOTFOUND:
		return "not found";
	case RT_E_AUTH:
		return "not allowed";
	case RT_E_INVALID:
		return "request refused as invalid";
	case RT_E_RATELIMIT:
		return "rate limited";
	case RT_E_UNAVAILABLE:
		return "service unavailable";
	case RT_E_PROTOCOL:
		return "unexpected response from the server";
	case RT_E_NOMEM:
		return "out of memory";
	}
	return "unknown error";
}

enum rt_error
rt_set_error(rt_client *c, enum rt_error e, const char *fmt, ...)
{
	va_list ap;

	c->err.code = e;
	if (fmt == NULL)
		snprintf(c->err.message, sizeof(c->err.message), "%s",
		    rt_strerror(e));
	else {
		va_start(ap, fmt);
		vsnprintf(c->err.message, sizeof(c->err.message), fmt, ap);
		va_end(ap);
	}
	return e;
}

const struct rt_error_info *
rt_client_last_error(const rt_client *c)
{
	return &c->err;
}

const char *
rt_client_last_json(const rt_client *c, size_t *len)
{
	if (len != NULL)
		*len = c->last_len;
	return c->last;
}

/* Replaces the last body with one the caller allocated (or NULL). */
void
rt_set_last_json(rt_client *c, char *body, size_t len)
{
	rt_wipe_free(c->last, c->last_len);
	c->last = body;
	c->last_len = len;
}

/* Grows by copying so that no realloc leaves an unwiped old block. */
static int
buf_append(struct buf *b, const void *data, size_t n)
{
	size_t need, cap;
	char *p;

	if (n > RESPONSE_MAX || b->len + n > RESPONSE_MAX)
		return -1;
	need = b->len + n + 1;
	if (need > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < need)
			cap *= 2;
		if ((p = malloc(cap)) == NULL)
			return -1;
		if (b->len)
			memcpy(p, b->p, b->len);
		rt_wipe_free(b->p, b->cap);
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;

	if (buf_append(b, ptr, size * nmemb) == -1)
		return 0;
	return size * nmemb;
}

static size_t
header_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct rt_error_info *err = arg;
	const char *key = "X-Request-Id:";
	size_t n = size * nmemb, klen = strlen(key), i;
	char *d = err->request_id;

	if (n <= klen || strncasecmp(ptr, key, klen) != 0)
		return n;
	ptr += klen;
	n -= klen;
	while (n > 0 && (*ptr == ' ' || *ptr == '\t')) {
		ptr++;
		n--;
	}
	for (i = 0; i < n && i < sizeof(err->request_id) - 1; i++) {
		if ((unsigned char)ptr[i] < 0x21 || ptr[i] == 0x7f)
			break;
		d[i] = ptr[i];
	}
	d[i] = '\0';
	return size * nmemb;
}

/* "unix:/path" or "https://host[:port][/prefix]"; sets the transport. */
static int
client_url(rt_client *c, const char *url)
{
	const char *path;
	size_t n;

	if (strncmp(url, "unix:", 5) == 0) {
		path = url + 5;
		n = strlen(path);
		if (n == 0 || n > SUN_PATH_MAX)
			return -1;
		if ((c->base = strdup("http://localhost")) == NULL ||
		    (c->sock = strdup(path)) == NULL)
			return -1;
		if (curl_easy_setopt(c->curl, CURLOPT_UNIX_SOCKET_PATH,
		    path) != CURLE_OK ||
		    curl_easy_setopt(c->curl, CURLOPT_PROXY, "") != CURLE_OK)
			return -1;
		return 0;
	}
	if (strncmp(url, "https://", 8) != 0 || !valid_printable(url, 2048))
		return -1;
	n = strlen(url);
	while (n > 8 && url[n - 1] == '/')
		n--;
	if (n == 8 || (c->base = strndup(url, n)) == NULL)
		return -1;
	return 0;
}

static int
client_tls(rt_client *c, const char *ca_file)
{
	CURL *h = c->curl;

	if (curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK)
		return -1;
	if (ca_file == NULL)
		return 0;
	/* a private CA replaces, not extends, the system's trust */
	if (curl_easy_setopt(h, CURLOPT_CAINFO, ca_file) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CAPATH, NULL) != CURLE_OK)
		return -1;
	return 0;
}

static int
client_curl(rt_client *c, int https)
{
	CURL *h = c->curl;

#if LIBCURL_VERSION_NUM >= 0x075500
	if (curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
	    https ? "https" : "http") != CURLE_OK)
		return -1;
#else
	if (curl_easy_setopt(h, CURLOPT_PROTOCOLS,
	    https ? CURLPROTO_HTTPS : CURLPROTO_HTTP) != CURLE_OK)
		return -1;
#endif
	if (curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_1_1) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
	    CONNECT_TIMEOUT) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, REQUEST_TIMEOUT) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT,
	    "runtools/" PACKAGE_VERSION) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->resp) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, &c->err) != CURLE_OK)
		return -1;
	return 0;
}

rt_client *
rt_client_new(const char *url, const char *token, const char *ca_file)
{
	rt_client *c;
	int https;

	if (url == NULL || (token != NULL && !valid_printable(token,
	    TOKEN_MAX))) {
		errno = EINVAL;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->timeout = REQUEST_TIMEOUT;
	if ((c->curl = curl_easy_init()) == NULL)
		goto nomem;
	https = strncmp(url, "unix:", 5) != 0;
	if (client_url(c, url) == -1 || (https && client_tls(c, ca_file) == -1))
		goto invalid;
	if (client_curl(c, https) == -1)
		goto nomem;
	if (token != NULL && asprintf(&c->auth_header,
	    "Authorization: Bearer %s", token) == -1) {
		c->auth_header = NULL;
		goto nomem;
	}
	return c;
 invalid:
	rt_client_free(c);
	errno = EINVAL;
	return NULL;
 nomem:
	rt_client_free(c);
	errno = ENOMEM;
	return NULL;
}

void
rt_client_free(rt_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c->base);
	free(c->sock);
	if (c->auth_header != NULL)
		rt_wipe_free(c->auth_header, strlen(c->auth_header));
	rt_wipe_free(c->resp.p, c->resp.cap);
	rt_wipe_free(c->last, c->last_len);
	free(c);
}

int
rt_client_set_name(rt_client *c, const char *name)
{
	size_t i, n = name != NULL ? strlen(name) : 0;

	if (n > RT_CLIENT_NAME_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++)
		if (name[i] < 0x20 || name[i] > 0x7e) {
			errno = EINVAL;
			return -1;
		}
	if (n == 0)
		c->client_header[0] = '\0';
	else
		snprintf(c->client_header, sizeof(c->client_header),
		    "X-RunTools-Client: %s", name);
	return 0;
}

/* curl_slist_free_all does not wipe; the list may hold the token. */
static void
slist_wipe_free(struct curl_slist *l)
{
	struct curl_slist *s;

	for (s = l; s != NULL; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_slist_free_all(l);
}

/* The API's request body limit (secretd's front-end, BODY_MAX). */
#define RT_API_BODY_MAX	(128 * 1024)

static struct curl_slist *
request_headers(rt_client *c, int has_body)
{
	struct curl_slist *l = NULL, *n;
	const char *h[5];
	int i, nh = 0;

	h[nh++] = "Accept: application/json";
	h[nh++] = "Expect:";
	if (has_body)
		h[nh++] = "Content-Type: application/json";
	if (c->auth_header != NULL)
		h[nh++] = c->auth_header;
	if (c->client_header[0] != '\0')
		h[nh++] = c->client_header;
	for (i = 0; i < nh; i++) {
		if ((n = curl_slist_append(l, h[i])) == NULL) {
			slist_wipe_free(l);
			return NULL;
		}
		l = n;
	}
	return l;
}

static int
request_method(rt_client *c, const char *method, const char *body,
    size_t len)
{
	CURL *h = c->curl;

	if (strcmp(method, "POST") == 0)
		return curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
		    (long)len) != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_POSTFIELDS,
		    body != NULL ? body : "") != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL) != CURLE_OK;
	if (curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK)
		return -1;
	return curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
	    strcmp(method, "GET") == 0 ? NULL : method) != CURLE_OK;
}

static enum rt_error
status_error(long status)
{
	switch (status) {
	case 400:
	case 405:
	case 409:
	case 413:
	case 415:
		return RT_E_INVALID;
	case 401:
	case 403:
		return RT_E_AUTH;
	case 404:
		return RT_E_NOTFOUND;
	case 429:
		return RT_E_RATELIMIT;
	case 503:
		return RT_E_UNAVAILABLE;
	}
	return RT_E_SERVER;
}

static void
copy_field(json_t *o, const char *key, char *dst, size_t len)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s != NULL && *s != '\0')
		snprintf(dst, len, "%s", s);
}

/* A non-2xx answer: the API's error object, else the bare status. */
static enum rt_error
response_error(rt_client *c, long status, json_t *root)
{
	json_t *e = json_object_get(root, "error");
	enum rt_error code = status_error(status);

	rt_set_error(c, code, "%s (HTTP %ld)", rt_strerror(code), status);
	if (!json_is_object(e))
		return code;
	copy_field(e, "code", c->err.error_code, sizeof(c->err.error_code));
	copy_field(e, "message", c->err.message, sizeof(c->err.message));
	if (c->err.request_id[0] == '\0')
		copy_field(e, "requestId", c->err.request_id,
		    sizeof(c->err.request_id));
	return code;
}

static enum rt_error
response(rt_client *c, long status, json_t **out)
{
	json_error_t jerr;
	json_t *root = NULL;
	enum rt_error e;

	c->err.http_status = status;
	if (c->resp.len > 0)
		root = json_loadb(c->resp.p, c->resp.len, JSON_ALLOW_NUL, &jerr);
	if (status < 200 || status > 299) {
		e = response_error(c, status, root);
		json_decref(root);
		return e;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return rt_set_error(c, RT_E_PROTOCOL,
		    "response from the server is not a JSON object");
	}
	*out = root;
	return RT_E_OK;
}

static void
call_reset(rt_client *c)
{
	memset(&c->err, 0, sizeof(c->err));
	c->curl_err[0] = '\0';
	if (c->resp.p != NULL)
		explicit_bzero(c->resp.p, c->resp.cap);
	c->resp.len = 0;
	rt_set_last_json(c, NULL, 0);
}

/* Hands the received body over as the call's last JSON. */
static void
call_keep_body(rt_client *c)
{
	char *p;

	if (c->resp.len == 0 || (p = malloc(c->resp.len + 1)) == NULL)
		return;
	memcpy(p, c->resp.p, c->resp.len + 1);
	rt_set_last_json(c, p, c->resp.len);
	explicit_bzero(c->resp.p, c->resp.cap);
	c->resp.len = 0;
}

/* Compact JSON, NUL-terminated, in plain malloc memory the caller wipes. */
char *
rt_dump_json(json_t *body, size_t *len)
{
	size_t n;
	char *p;

	n = json_dumpb(body, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (n == 0 || (p = malloc(n + 1)) == NULL)
		return NULL;
	if (json_dumpb(body, p, n, JSON_COMPACT | JSON_PRESERVE_ORDER) != n) {
		rt_wipe_free(p, n + 1);
		return NULL;
	}
	p[n] = '\0';
	*len = n;
	return p;
}

/* curl names "localhost port 80" for a unix socket; name the socket. */
static enum rt_error
network_error(rt_client *c, CURLcode cc)
{
	long oserr = 0;

	if (c->sock != NULL && cc == CURLE_COULDNT_CONNECT &&
	    curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &oserr) ==
	    CURLE_OK && oserr != 0)
		return rt_set_error(c, RT_E_NETWORK, "cannot connect to %s: %s",
		    c->sock, strerror((int)oserr));
	return rt_set_error(c, RT_E_NETWORK, "%s", c->curl_err[0] ?
	    c->curl_err : curl_easy_strerror(cc));
}

static enum rt_error
perform(rt_client *c, json_t **out)
{
	CURLcode cc;
	long status = 0;

	cc = curl_easy_perform(c->curl);
	if (cc == CURLE_WRITE_ERROR)
		return rt_set_error(c, RT_E_PROTOCOL,
		    "response from the server is too large");
	if (cc != CURLE_OK)
		return network_error(c, cc);
	if (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE,
	    &status) != CURLE_OK)
		return rt_set_error(c, RT_E_PROTOCOL, NULL);
	return response(c, status, out);
}

/*
 * One API call: path includes the query.  On RT_E_OK *out holds the
 * response object (the caller's reference).
 */
enum rt_error
rt_request(rt_client *c, const char *method, const char *path,
    json_t *body, json_t **out)
{
	struct curl_slist *hdrs = NULL;
	char *url = NULL, *payload = NULL;
	size_t plen = 0, ulen;
	enum rt_error e;

	*out = NULL;
	call_reset(c);
	ulen = strlen(c->base) + strlen(path) + 1;
	if ((url = malloc(ulen)) == NULL ||
	    (body != NULL && (payload = rt_dump_json(body, &plen)) == NULL) ||
	    (hdrs = request_headers(c, body != NULL)) == NULL) {
		e = rt_set_error(c, RT_E_NOMEM, NULL);
		goto done;
	}
	/*
	 * The API refuses a larger body with 413 before reading it; found
	 * here, it is a clear local error rather than a race between that
	 * answer and the rest of the body still being sent.
	 */
	if (plen > RT_API_BODY_MAX) {
		e = rt_set_error(c, RT_E_INVALID, "request body too large: %zu "
		    "bytes, the API takes at most %d", plen, RT_API_BODY_MAX);
		goto done;
	}
	snprintf(url, ulen, "%s%s", c->base, path);
	if (curl_easy_setopt(c->curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, c->timeout) != CURLE_OK ||
	    request_method(c, method, payload, plen)) {
		e = rt_set_error(c, RT_E_USAGE, "cannot set up the request");
		goto done;
	}
	e = perform(c, out);
	call_keep_body(c);
 done:
	c->timeout = REQUEST_TIMEOUT;
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
	slist_wipe_free(hdrs);
	rt_wipe_free(payload, plen + 1);
	free(url);
	return e;
}

/* The next call may take this long (a tool execution); then the default. */
void
rt_call_timeout(rt_client *c, long seconds)
{
	c->timeout = seconds > 0 ? seconds : REQUEST_TIMEOUT;
}

/* Appends ?k=v or &k=v, v percent-encoded; -1 when it does not fit. */
int
rt_query_add(rt_client *c, char *path, size_t size, const char *k,
    const char *v)
{
	size_t len = strlen(path);
	char *esc;
	int n;

	if ((esc = curl_easy_escape(c->curl, v, 0)) == NULL)
		return -1;
	n = snprintf(path + len, size - len, "%c%s=%s",
	    strchr(path, '?') ? '&' : '?', k, esc);
	curl_free(esc);
	if (n < 0 || (size_t)n >= size - len)
		return -1;
	return 0;
}

enum rt_error
rt_health(rt_client *c)
{
	json_t *root;
	enum rt_error e;

	e = rt_request(c, "GET", "/v1/health", NULL, &root);
	json_decref(root);
	return e;
}
