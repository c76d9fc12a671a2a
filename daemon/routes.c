/*
 * The routes of the HTTP API: path, method and query checks, then JSON to
 * IPC request and IPC reply to JSON.  Every decision is the broker's;
 * nothing here grants or refuses access, it only validates shapes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "log.h"
#include "frontend.h"
#include "tool.h"

enum path_kind {
	P_HEALTH, P_SECRETS, P_SECRET, P_REVEAL, P_VERSIONS, P_ROLLBACK,
	P_TOKENS, P_TOKEN, P_TOOLS, P_TOOL_ONE, P_TOOL, P_WHOAMI,
	P_METRICS, P_MCP, P_NONE
};

typedef void (*route_fn)(struct fe_req *);

#define BODY_RPC	2	/* a JSON-RPC message, parsed or not */

struct route {
	enum path_kind		 kind;
	enum http_method	 method;
	const char		*const *query;	/* allowed query keys */
	const struct json_field	*fields;	/* NULL: no body */
	int			 body_required;	/* 1, or BODY_RPC: any JSON */
	int			 public;	/* no identity needed */
	route_fn		 fn;
};

static void	secrets_list(struct fe_req *);
static void	secret_put(struct fe_req *);
static void	secret_get(struct fe_req *);
static void	secret_versions(struct fe_req *);
static void	secret_rollback(struct fe_req *);
static void	token_create(struct fe_req *);
static void	token_list(struct fe_req *);
static void	token_revoke(struct fe_req *);
static void	whoami(struct fe_req *);
static void	health(struct fe_req *);

static const char *const q_none[] = { NULL };
static const char *const q_list[] = { "category", "secretScope", "all",
	"user_id", "limit", "cursor", "prefix", NULL };
static const char *const q_one[] = { "orgWide", "user_id", NULL };
static const char *const q_reveal[] = { "orgWide", "user_id", "version",
	NULL };
static const char *const q_page[] = { "limit", "cursor", NULL };

static const struct json_field f_put[] = {
	{ "name", JSON_STRING, 1 },
	{ "value", JSON_STRING, 0 },
	{ "valueBase64", JSON_STRING, 0 },
	{ "category", JSON_STRING, 0 },
	{ "description", JSON_STRING, 0 },
	{ "orgWide", JSON_TRUE, 0 },
	{ "expiresAt", JSON_NULL, 0 },	/* a date, or null: none */
	{ NULL, 0, 0 }
};
static const struct json_field f_reveal[] = {
	{ "orgWide", JSON_TRUE, 0 },
	{ NULL, 0, 0 }
};
static const struct json_field f_rollback[] = {
	{ "version", JSON_INTEGER, 1 },
	{ "orgWide", JSON_TRUE, 0 },
	{ NULL, 0, 0 }
};
/* A token's lifetime is ttlSeconds from now; absent: it never expires. */
static const struct json_field f_token[] = {
	{ "description", JSON_STRING, 0 },
	{ "role", JSON_STRING, 0 },
	{ "ttlSeconds", JSON_INTEGER, 0 },
	{ "scopes", JSON_ARRAY, 0 },
	{ NULL, 0, 0 }
};
static const struct json_field f_tool[] = {
	{ "action", JSON_STRING, 1 },
	{ "params", JSON_OBJECT, 0 },
	{ "credentialOverrides", JSON_OBJECT, 0 },
	{ NULL, 0, 0 }
};

static const struct route routes[] = {
	{ P_HEALTH, HTTP_GET, q_none, NULL, 0, 1, health },
	{ P_SECRETS, HTTP_GET, q_list, NULL, 0, 0, secrets_list },
	{ P_SECRETS, HTTP_POST, q_one, f_put, 1, 0, secret_put },
	{ P_SECRET, HTTP_GET, q_one, NULL, 0, 0, secret_get },
	{ P_SECRET, HTTP_DELETE, q_one, NULL, 0, 0, secret_get },
	{ P_REVEAL, HTTP_POST, q_reveal, f_reveal, 0, 0, secret_get },
	{ P_VERSIONS, HTTP_GET, q_one, NULL, 0, 0, secret_versions },
	{ P_ROLLBACK, HTTP_POST, q_one, f_rollback, 1, 0, secret_rollback },
	{ P_TOKENS, HTTP_POST, q_none, f_token, 0, 0, token_create },
	{ P_TOKENS, HTTP_GET, q_page, NULL, 0, 0, token_list },
	{ P_TOKEN, HTTP_DELETE, q_none, NULL, 0, 0, token_revoke },
	{ P_TOOLS, HTTP_GET, q_page, NULL, 0, 0, tools_list },
	{ P_TOOL_ONE, HTTP_GET, q_none, NULL, 0, 0, tool_show },
	{ P_TOOL, HTTP_POST, q_none, f_tool, 1, 0, tool_execute },
	{ P_WHOAMI, HTTP_GET, q_none, NULL, 0, 0, whoami },
	{ P_METRICS, HTTP_GET, q_none, NULL, 0, 0, metrics_get },
	/* one JSON-RPC message, whatever its shape; no GET stream */
	{ P_MCP, HTTP_POST, q_none, NULL, BODY_RPC, 0, mcp_post },
	{ P_MCP, HTTP_DELETE, q_none, NULL, 0, 0, mcp_delete },
};
#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

static const char *
method_name(enum http_method m)
{
	switch (m) {
	case HTTP_GET:
		return "GET";
	case HTTP_POST:
		return "POST";
	case HTTP_DELETE:
		return "DELETE";
	default:
		return "";
	}
}

static int
has_prefix(const char *s, const char *p, const char **rest)
{
	size_t n = strlen(p);

	if (strncmp(s, p, n) != 0)
		return 0;
	*rest = s + n;
	return 1;
}

static int
has_suffix(const char *s, const char *suf, size_t *stem)
{
	size_t n = strlen(s), m = strlen(suf);

	if (n < m || strcmp(s + n - m, suf) != 0)
		return 0;
	*stem = n - m;
	return 1;
}

/* Too long to be valid: leave it empty, which no argument may be. */
static void
copy_arg(char *raw, size_t rawlen, const char *s, size_t n)
{
	if (n >= rawlen)
		n = 0;
	memcpy(raw, s, n);
	raw[n] = '\0';
}

/* The raw (still percent-encoded) path argument goes to raw. */
static enum path_kind
path_kind(const char *path, char *raw, size_t rawlen)
{
	const char *rest;
	size_t n;

	if (strcmp(path, "/v1/health") == 0)
		return P_HEALTH;
	if (strcmp(path, "/v1/secrets") == 0)
		return P_SECRETS;
	if (strcmp(path, "/v1/tokens") == 0)
		return P_TOKENS;
	if (strcmp(path, "/v1/tools") == 0)
		return P_TOOLS;
	if (strcmp(path, "/v1/whoami") == 0)
		return P_WHOAMI;
	if (strcmp(path, "/v1/metrics") == 0)
		return P_METRICS;
	if (strcmp(path, "/v1/mcp") == 0)
		return P_MCP;
	if (has_prefix(path, "/v1/secrets/", &rest)) {
		if (has_suffix(rest, "/reveal", &n)) {
			copy_arg(raw, rawlen, rest, n);
			return P_REVEAL;
		}
		if (has_suffix(rest, "/versions", &n)) {
			copy_arg(raw, rawlen, rest, n);
			return P_VERSIONS;
		}
		if (has_suffix(rest, "/rollback", &n)) {
			copy_arg(raw, rawlen, rest, n);
			return P_ROLLBACK;
		}
		copy_arg(raw, rawlen, rest, strlen(rest));
		return P_SECRET;
	}
	/* A secret name is decoded and refused; an id has one segment. */
	if (has_prefix(path, "/v1/tokens/", &rest) &&
	    strchr(rest, '/') == NULL) {
		copy_arg(raw, rawlen, rest, strlen(rest));
		return P_TOKEN;
	}
	if (has_prefix(path, "/v1/tools/", &rest)) {
		if (has_suffix(rest, "/execute", &n)) {
			copy_arg(raw, rawlen, rest, n);
			return P_TOOL;
		}
		copy_arg(raw, rawlen, rest, strlen(rest));
		return P_TOOL_ONE;
	}
	return P_NONE;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode n bytes of src into dst (at least n + 1 bytes); in a
 * query, '+' is a space.  A '%' not followed by two hex digits stays as
 * it is.  Returns the decoded length; dst is NUL-terminated, so a caller
 * that reads it as a string must compare that length with strlen.
 */
static size_t
pct_decode(const char *src, size_t n, char *dst, int plus)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (src[i] == '%' && i + 2 < n &&
		    (hi = hexval(src[i + 1])) != -1 &&
		    (lo = hexval(src[i + 2])) != -1) {
			dst[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (plus && src[i] == '+')
			dst[o++] = ' ';
		else
			dst[o++] = src[i];
	}
	dst[o] = '\0';
	return o;
}

/* Decode one path argument; it must be a whole, valid name or id. */
static int
path_arg(enum path_kind k, const char *raw, char *arg, size_t arglen)
{
	char d[3 * NAME_MAX_LEN + 8];
	size_t n;
	int ok;

	n = pct_decode(raw, strlen(raw), d, 0);
	if (k == P_TOKEN)
		ok = valid_token_id(d, n);
	else if (k == P_TOOL || k == P_TOOL_ONE)
		ok = valid_tool_name(d, n);
	else
		ok = valid_secret_name(d, n);
	if (ok && n < arglen)
		memcpy(arg, d, n + 1);
	return ok && n < arglen ? 0 : -1;
}

const struct route *
route_match(const char *path, enum http_method method, char *arg,
    size_t arglen, int *code, const char **allow, char *err, size_t errlen)
{
	static char allowbuf[32];
	char raw[3 * NAME_MAX_LEN + 8];
	const struct route *r = NULL;
	enum path_kind k;
	size_t i;

	if ((k = path_kind(path, raw, sizeof(raw))) == P_NONE) {
		*code = 404;
		snprintf(err, errlen, "no such route");
		return NULL;
	}
	allowbuf[0] = '\0';
	for (i = 0; i < NROUTES; i++) {
		if (routes[i].kind != k)
			continue;
		if (routes[i].method == method)
			r = &routes[i];
		if (allowbuf[0] != '\0')
			strncat(allowbuf, ", ", sizeof(allowbuf) -
			    strlen(allowbuf) - 1);
		strncat(allowbuf, method_name(routes[i].method),
		    sizeof(allowbuf) - strlen(allowbuf) - 1);
	}
	if (r == NULL) {
		*code = 405;
		*allow = allowbuf;
		snprintf(err, errlen, "method not allowed; use %s", allowbuf);
		return NULL;
	}
	arg[0] = '\0';
	if (k != P_HEALTH && k != P_SECRETS && k != P_TOKENS &&
	    k != P_TOOLS && k != P_WHOAMI && k != P_METRICS && k != P_MCP &&
	    path_arg(k, raw, arg, arglen) == -1) {
		*code = 400;
		if (k == P_TOKEN)
			snprintf(err, errlen, "invalid token id");
		else if (k == P_TOOL || k == P_TOOL_ONE)
			snprintf(err, errlen, "invalid tool name: letters, "
			    "digits, - and _, not starting with -, at most %d",
			    TOOL_NAME_MAX);
		else
			snprintf(err, errlen, "invalid name: letters, digits "
			    "and _, not starting with a digit, at most %d",
			    NAME_MAX_LEN);
		return NULL;
	}
	return r;
}

/* For the metrics: routes by index, and the label each one is counted
   under, a template that names no secret, token or tool. */
size_t
route_count(void)
{
	return NROUTES;
}

const struct route *
route_at(size_t i)
{
	return &routes[i];
}

size_t
route_index(const struct route *r)
{
	return (size_t)(r - routes);
}

const char *
route_method(const struct route *r)
{
	return method_name(r->method);
}

const char *
route_template(const struct route *r)
{
	switch (r->kind) {
	case P_HEALTH:
		return "/v1/health";
	case P_SECRETS:
		return "/v1/secrets";
	case P_SECRET:
		return "/v1/secrets/{name}";
	case P_REVEAL:
		return "/v1/secrets/{name}/reveal";
	case P_VERSIONS:
		return "/v1/secrets/{name}/versions";
	case P_ROLLBACK:
		return "/v1/secrets/{name}/rollback";
	case P_TOKENS:
		return "/v1/tokens";
	case P_TOKEN:
		return "/v1/tokens/{id}";
	case P_TOOLS:
		return "/v1/tools";
	case P_TOOL_ONE:
		return "/v1/tools/{tool}";
	case P_TOOL:
		return "/v1/tools/{tool}/execute";
	case P_WHOAMI:
		return "/v1/whoami";
	case P_METRICS:
		return "/v1/metrics";
	case P_MCP:
		return "/v1/mcp";
	case P_NONE:
		break;
	}
	return "unmatched";
}

static int
parse_bool(const char *v, int *out)
{
	if (strcmp(v, "true") == 0)
		*out = 1;
	else if (strcmp(v, "false") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int
parse_limit(const char *v, uint32_t *out)
{
	unsigned long n = 0;
	size_t i;

	if (*v == '\0' || strlen(v) > 4)
		return -1;
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (unsigned long)(v[i] - '0');
	}
	if (n < 1 || n > LIST_MAX_LIMIT)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

/* A kept version: 1 to 4294967295, digits only. */
static int
parse_version(const char *v, uint32_t *out)
{
	uint64_t n = 0;
	size_t i;

	if (*v == '\0' || strlen(v) > 10)
		return -1;
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (n < 1 || n > UINT32_MAX)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

/* A token cursor is shorter than a secret one; both are opaque. */
static size_t
cursor_max(const struct route *r)
{
	if (r->kind == P_TOOLS)
		return TOOL_NAME_MAX;
	return r->kind == P_TOKENS ? TOKEN_CURSOR_MAX_LEN : CURSOR_MAX_LEN;
}

static int
query_value(const struct route *r, struct fe_query *q, const char *k,
    const char *v)
{
	int b;

	if (strcmp(k, "category") == 0) {
		if (!valid_category(v))
			return -1;
		snprintf(q->category, sizeof(q->category), "%s", v);
	} else if (strcmp(k, "secretScope") == 0) {
		if (strcmp(v, "user") == 0)
			q->list_flags |= LIST_SCOPE_USER;
		else if (strcmp(v, "org") == 0)
			q->list_flags |= LIST_SCOPE_ORG;
		else
			return -1;
	} else if (strcmp(k, "all") == 0) {
		if (parse_bool(v, &b) == -1)
			return -1;
		q->list_flags |= b ? LIST_ALL : 0;
	} else if (strcmp(k, "user_id") == 0) {
		if (!valid_id(v, strlen(v)))
			return -1;
		snprintf(q->user_id, sizeof(q->user_id), "%s", v);
	} else if (strcmp(k, "limit") == 0)
		return parse_limit(v, &q->limit);
	else if (strcmp(k, "cursor") == 0) {
		if (v[0] != '\0' && !valid_printable(v, cursor_max(r)))
			return -1;
		snprintf(q->cursor, sizeof(q->cursor), "%s", v);
	} else if (strcmp(k, "orgWide") == 0)
		return parse_bool(v, &q->org_wide);
	else if (strcmp(k, "version") == 0)
		return parse_version(v, &q->version);
	else if (strcmp(k, "prefix") == 0) {
		/* a name's first characters: itself a valid name */
		if (!valid_secret_name(v, strlen(v)))
			return -1;
		snprintf(q->prefix, sizeof(q->prefix), "%s", v);
	}
	return 0;
}

static int
query_index(const struct route *r, const char *k)
{
	int i;

	for (i = 0; r->query[i] != NULL; i++)
		if (strcmp(r->query[i], k) == 0)
			return i;
	return -1;
}

/*
 * One key=value of a query, decoded in place.  A key is never encoded in
 * our API; a value that decodes to a NUL would be cut short, so it is
 * refused rather than read as less than it says.
 */
static int
query_pair(const struct route *r, char *kv, struct fe_query *q,
    unsigned int *seen, char *err, size_t errlen)
{
	char *v;
	size_t n;
	int i;

	if ((v = strchr(kv, '=')) == NULL || v == kv) {
		snprintf(err, errlen, "malformed query string");
		return -1;
	}
	*v++ = '\0';
	if ((i = query_index(r, kv)) == -1) {
		snprintf(err, errlen, "unknown query parameter \"%.32s\"", kv);
		return -1;
	}
	if (*seen & (1U << i)) {
		snprintf(err, errlen, "query parameter %s given twice", kv);
		return -1;
	}
	*seen |= 1U << i;
	n = strlen(v);
	if (pct_decode(v, n, v, 1) != strlen(v) ||
	    query_value(r, q, kv, v) == -1) {
		snprintf(err, errlen, "invalid value for %s", kv);
		return -1;
	}
	return 0;
}

/*
 * Every key known to the route, at most once, with a valid value.  The
 * query is decoded in place: it belongs to the request's head buffer.
 */
int
route_parse_query(const struct route *r, char *query, struct fe_query *q,
    char *err, size_t errlen)
{
	unsigned int seen = 0;
	char *kv;

	memset(q, 0, sizeof(*q));
	q->limit = LIST_DEFAULT_LIMIT;
	if (query == NULL || *query == '\0')
		return 0;
	while ((kv = strsep(&query, "&")) != NULL)
		if (query_pair(r, kv, q, &seen, err, errlen) == -1)
			return -1;
	return 0;
}

const struct json_field *
route_fields(const struct route *r)
{
	return r->fields;
}

int
route_body_required(const struct route *r)
{
	return r->body_required != 0;
}

int
route_body_rpc(const struct route *r)
{
	return r->body_required == BODY_RPC;
}

int
route_public(const struct route *r)
{
	return r->public;
}

void
route_run(struct fe_req *fr)
{
	fr->route->fn(fr);
}

void
send_request(struct fe_req *fr, struct ipc_msg *m, bc_cb cb)
{
	log_debug("request %s: ipc type %u", fr->id, m->buf != NULL ?
	    ((const struct ipc_hdr *)(const void *)m->buf)->type : 0);
	if ((fr->pending = bc_request(m, cb, fr)) == NULL)
		http_reply_status(fr, RT_UNAVAILABLE,
		    "the broker is unavailable");
}

/* The broker broke the protocol: this request fails, the caller ends. */
int
bad_reply(struct fe_req *fr)
{
	http_reply_status(fr, RT_UNAVAILABLE, "the broker is unavailable");
	return -1;
}

/* Common start of every reply: 1 when the fields follow. */
int
reply_ok(struct fe_req *fr, enum rt_status st, const char *msg)
{
	fr->pending = NULL;
	if (st == RT_OK || st == RT_CREATED)
		return 1;
	http_reply_status(fr, st, msg);
	return 0;
}

/*
 * Degraded is 503: a node that cannot write its store or its audit log
 * refuses writes (or everything), and a load balancer should send the
 * traffic elsewhere.  The body names the part.
 */
static int
health_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	struct msg_health h;
	json_t *o;

	fr->pending = NULL;
	if (st != RT_OK) {
		http_reply_json(fr, 503, json_pack("{s:s}", "status",
		    "unavailable"));
		return 0;
	}
	if (msg_health_get(r, &h) == -1)
		return bad_reply(fr);
	if (!h.store_full && !h.audit_failing) {
		http_reply_json(fr, 200, json_pack("{s:s}", "status", "ok"));
		return 0;
	}
	o = json_pack("{s:s}", "status", "degraded");
	if (o != NULL && h.store_full)
		json_object_set_new(o, "store", json_string("full"));
	if (o != NULL && h.audit_failing)
		json_object_set_new(o, "audit", json_string("unwritable"));
	http_reply_json(fr, 503, o);
	return 0;
}

static void
health(struct fe_req *fr)
{
	struct ipc_msg m;

	if (!bc_up()) {
		http_reply_json(fr, 503, json_pack("{s:s}", "status",
		    "unavailable"));
		return;
	}
	bc_msg_init(&m, IMSG_PING);
	if ((fr->pending = bc_request(&m, health_reply, fr)) == NULL)
		http_reply_json(fr, 503, json_pack("{s:s}", "status",
		    "unavailable"));
}

/* A page being written out as its records are read. */
struct page_out {
	struct jw	 w;
	int		 first;
};

static int
list_each(void *arg, const struct secret_meta *meta)
{
	struct page_out *o = arg;

	jw_lit(&o->w, o->first ? "{" : ",{");
	o->first = 0;
	jw_meta_fields(&o->w, meta);
	jw_raw(&o->w, "}", 1);
	return 0;
}

/* A page of up to LIST_MAX_LIMIT records: written out directly. */
static int
list_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	struct msg_secret_page pg;
	struct page_out o;

	if (!reply_ok(fr, st, msg))
		return 0;
	/* Its JSON is about three times its size on the wire; each record
	 * takes room for its longest escaping before it writes. */
	jw_init(&o.w, 64 + 3 * (r->len - r->off) + JW_META_ROOM);
	o.first = 1;
	jw_lit(&o.w, "{\"secrets\":[");
	if (msg_secret_page_get(r, &pg, list_each, &o) == -1) {
		jw_discard(&o.w);
		return bad_reply(fr);
	}
	jw_lit(&o.w, "],\"nextCursor\":");
	if (pg.next[0] == '\0')
		jw_lit(&o.w, "null");
	else
		jw_cstr(&o.w, pg.next);
	jw_raw(&o.w, "}", 1);
	http_reply_text(fr, 200, jw_finish(&o.w));
	return 0;
}

static void
secrets_list(struct fe_req *fr)
{
	struct msg_secret_list l;
	struct ipc_msg m;

	memset(&l, 0, sizeof(l));
	http_auth(fr, &l.auth);
	l.flags = fr->q.list_flags;
	memcpy(l.category, fr->q.category, sizeof(l.category));
	memcpy(l.user_id, fr->q.user_id, sizeof(l.user_id));
	l.limit = fr->q.limit;
	memcpy(l.cursor, fr->q.cursor, sizeof(l.cursor));
	memcpy(l.prefix, fr->q.prefix, sizeof(l.prefix));
	bc_msg_init(&m, IMSG_SECRET_LIST);
	msg_secret_list_put(&m, &l);
	send_request(fr, &m, list_reply);
}

static int
put_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	struct msg_secret_written w;

	if (!reply_ok(fr, st, msg))
		return 0;
	if (msg_secret_written_get(r, &w) == -1)
		return bad_reply(fr);
	http_reply_text(fr, w.created ? 201 : 200,
	    jw_meta_text(&w.meta, NULL, 0));
	return 0;
}

/*
 * "value" (text) or "valueBase64" (any bytes), exactly one; the decoded
 * bytes go to *buf, which the caller wipes and frees.
 */
static int
put_value(struct fe_req *fr, const uint8_t **val, size_t *len,
    uint8_t **buf)
{
	json_t *v = json_object_get(fr->body, "value"),
	    *b = json_object_get(fr->body, "valueBase64");
	size_t n;
	long d;

	*buf = NULL;
	if ((v == NULL) == (b == NULL)) {
		http_reply_error(fr, 400, "invalid_request", "give exactly one "
		    "of \"value\" and \"valueBase64\"");
		return -1;
	}
	if (v != NULL) {
		*val = (const uint8_t *)json_string_value(v);
		*len = json_string_length(v);
	} else {
		n = json_string_length(b);
		if (n > B64_ENC_LEN(VALUE_MAX_LEN)) {
			*len = VALUE_MAX_LEN + 1;
			goto check;
		}
		if ((*buf = malloc(B64_DEC_MAX(n) + 1)) == NULL) {
			http_reply_error(fr, 500, "internal", "out of memory");
			return -1;
		}
		if ((d = b64_decode(json_string_value(b), n, *buf)) == -1) {
			explicit_bzero(*buf, B64_DEC_MAX(n) + 1);
			free(*buf);
			*buf = NULL;
			http_reply_error(fr, 400, "invalid_request",
			    "valueBase64 is not padded standard base64");
			return -1;
		}
		*val = *buf;
		*len = (size_t)d;
	}
 check:
	if (*len == 0) {
		http_reply_error(fr, 400, "invalid_request",
		    "the value is empty");
		return -1;
	}
	if (*len > VALUE_MAX_LEN) {
		http_reply_error(fr, 413, "too_large", "the value is over %d "
		    "bytes", VALUE_MAX_LEN);
		return -1;
	}
	return 0;
}

/* The body's checks, with the answer a client gets for each. */
static int
put_body(struct fe_req *fr, struct msg_secret_write *w, uint8_t **buf)
{
	json_t *b = fr->body, *name = json_object_get(b, "name"), *e;
	const char *cat, *desc;
	int has_desc;

	*buf = NULL;
	if (!valid_secret_name(json_string_value(name),
	    json_string_length(name))) {
		http_reply_error(fr, 400, "invalid_request", "invalid name");
		return -1;
	}
	if (put_value(fr, &w->value, &w->value_len, buf) == -1)
		return -1;
	if (json_text_field(b, "category", CATEGORY_MAX_LEN, &cat) == -1 ||
	    (cat != NULL && !valid_category(cat))) {
		http_reply_error(fr, 400, "invalid_request",
		    "unknown category");
		return -1;
	}
	if ((has_desc = json_text_field(b, "description", DESC_MAX_LEN,
	    &desc)) == -1) {
		http_reply_error(fr, 400, "invalid_request", "the description "
		    "is over %d bytes or holds a NUL", DESC_MAX_LEN);
		return -1;
	}
	memcpy(w->name, json_string_value(name), json_string_length(name));
	if (cat != NULL)
		memcpy(w->category, cat, strlen(cat));
	w->has_description = (uint8_t)has_desc;
	if (has_desc)
		memcpy(w->description, desc, strlen(desc));
	if ((e = json_object_get(b, "expiresAt")) != NULL) {
		w->has_expires = 1;
		if (json_is_string(e) && (json_parse_time(json_string_value(e),
		    &w->expires_at) == -1 || w->expires_at > EXPIRES_MAX ||
		    w->expires_at == 0)) {
			http_reply_error(fr, 400, "invalid_request", "expiresAt "
			    "must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, or "
			    "null");
			return -1;
		}
	}
	return 0;
}

static void
secret_put(struct fe_req *fr)
{
	struct msg_secret_write w;
	struct ipc_msg m;
	uint8_t *buf;

	memset(&w, 0, sizeof(w));
	if (put_body(fr, &w, &buf) == 0) {
		http_auth(fr, &w.auth);
		w.org_wide = fr->q.org_wide ||
		    json_is_true(json_object_get(fr->body, "orgWide"));
		memcpy(w.user_id, fr->q.user_id, sizeof(w.user_id));
		bc_msg_init(&m, IMSG_SECRET_PUT);
		msg_secret_write_put(&m, &w);
		send_request(fr, &m, put_reply);
	}
	if (buf != NULL) {
		explicit_bzero(buf, w.value_len);
		free(buf);
	}
}

static int
get_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	struct msg_secret_value v;

	if (!reply_ok(fr, st, msg))
		return 0;
	memset(&v, 0, sizeof(v));
	if (fr->route->kind == P_REVEAL ? msg_secret_value_get(r, &v) == -1 :
	    msg_secret_meta_get(r, &v.meta) == -1)
		return bad_reply(fr);
	http_reply_text(fr, 200, jw_meta_text(&v.meta, v.value, v.value_len));
	return 0;
}

static int
delete_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	struct msg_secret_deleted d;

	if (!reply_ok(fr, st, msg))
		return 0;
	if (msg_secret_deleted_get(r, &d) == -1)
		return bad_reply(fr);
	http_reply_json(fr, 200, json_pack("{s:b,s:s,s:s}", "deleted", 1,
	    "name", d.name, "scope", d.scope == SCOPE_ORG ? "org" : "user"));
	return 0;
}

/* GET, DELETE and reveal carry the same request. */
static void
secret_get(struct fe_req *fr)
{
	struct msg_secret_ref ref;
	struct ipc_msg m;
	uint32_t type;
	bc_cb cb;

	if (fr->route->kind == P_REVEAL) {
		type = IMSG_SECRET_REVEAL;
		cb = get_reply;
	} else if (fr->route->method == HTTP_DELETE) {
		type = IMSG_SECRET_DELETE;
		cb = delete_reply;
	} else {
		type = IMSG_SECRET_GET;
		cb = get_reply;
	}
	memset(&ref, 0, sizeof(ref));
	http_auth(fr, &ref.auth);
	memcpy(ref.name, fr->arg, sizeof(ref.name));
	ref.org_wide = fr->q.org_wide || (fr->body != NULL &&
	    json_is_true(json_object_get(fr->body, "orgWide")));
	memcpy(ref.user_id, fr->q.user_id, sizeof(ref.user_id));
	if (fr->route->kind == P_REVEAL)
		ref.version = fr->q.version;
	bc_msg_init(&m, type);
	msg_secret_ref_put(&m, &ref);
	send_request(fr, &m, cb);
}

static int
versions_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	struct msg_secret_versions *l;
	json_t *a, *o;
	char t[32];
	uint32_t i;

	if (!reply_ok(fr, st, msg))
		return 0;
	if ((l = malloc(sizeof(*l))) == NULL) {
		http_reply_error(fr, 500, "internal", "out of memory");
		return 0;
	}
	if (msg_secret_versions_get(r, l) == -1) {
		free(l);
		return bad_reply(fr);
	}
	a = json_array();
	for (i = 0; a != NULL && i < l->n; i++)
		json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:b}",
		    "version", (json_int_t)l->v[i].version,
		    "createdAt", json_time(l->v[i].created_at, t, sizeof(t)),
		    "createdBy", l->v[i].created_by, "current", i == 0));
	o = json_pack("{s:s,s:s,s:o,s:o}", "name", l->meta.name,
	    "scope", l->meta.scope == SCOPE_ORG ? "org" : "user",
	    "userId", l->meta.scope == SCOPE_ORG ? json_null() :
	    json_string(l->meta.user_id), "versions", a);
	free(l);
	http_reply_json(fr, 200, o);
	return 0;
}

/* The kept versions of a secret, as GET selects it. */
static void
secret_versions(struct fe_req *fr)
{
	struct msg_secret_ref ref;
	struct ipc_msg m;

	memset(&ref, 0, sizeof(ref));
	http_auth(fr, &ref.auth);
	memcpy(ref.name, fr->arg, sizeof(ref.name));
	ref.org_wide = fr->q.org_wide;
	memcpy(ref.user_id, fr->q.user_id, sizeof(ref.user_id));
	bc_msg_init(&m, IMSG_SECRET_VERSIONS);
	msg_secret_ref_put(&m, &ref);
	send_request(fr, &m, versions_reply);
}

/* Only the version's number travels; the broker copies its value. */
static void
secret_rollback(struct fe_req *fr)
{
	struct msg_secret_ref ref;
	struct ipc_msg m;
	json_int_t v;

	v = json_integer_value(json_object_get(fr->body, "version"));
	if (v < 1 || v > (json_int_t)UINT32_MAX) {
		http_reply_error(fr, 400, "invalid_request", "\"version\" "
		    "must be a kept version, 1 to %u", UINT32_MAX);
		return;
	}
	memset(&ref, 0, sizeof(ref));
	http_auth(fr, &ref.auth);
	memcpy(ref.name, fr->arg, sizeof(ref.name));
	ref.org_wide = fr->q.org_wide ||
	    json_is_true(json_object_get(fr->body, "orgWide"));
	memcpy(ref.user_id, fr->q.user_id, sizeof(ref.user_id));
	ref.version = (uint32_t)v;
	bc_msg_init(&m, IMSG_SECRET_ROLLBACK);
	msg_secret_ref_put(&m, &ref);
	send_request(fr, &m, put_reply);
}

static int
token_create_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	struct msg_token_created t;
	json_t *o, *meta;

	if (!reply_ok(fr, st, msg))
		return 0;
	if (msg_token_created_get(r, &t) == -1)
		return bad_reply(fr);
	o = json_pack("{s:s}", "token", t.token);
	if ((meta = json_token(&t.meta)) == NULL || o == NULL ||
	    json_object_update(o, meta) == -1) {
		json_decref(o);
		o = NULL;
	}
	json_decref(meta);
	http_reply_json(fr, 201, o);
	return 0;
}

static void
token_create(struct fe_req *fr)
{
	json_t *b = fr->body, *ttl, *scopes;
	const char *role = NULL, *desc = NULL;
	json_int_t secs = 0;
	struct msg_token_create t;
	struct ipc_msg m;
	char err[MSG_LEN];

	if (b != NULL && (json_text_field(b, "role", 8, &role) == -1 ||
	    (role != NULL && strcmp(role, "member") != 0 &&
	    strcmp(role, "admin") != 0))) {
		http_reply_error(fr, 400, "invalid_request",
		    "role must be member or admin");
		return;
	}
	if (b != NULL && json_text_field(b, "description", DESC_MAX_LEN,
	    &desc) == -1) {
		http_reply_error(fr, 400, "invalid_request", "the description "
		    "is over %d bytes or holds a NUL", DESC_MAX_LEN);
		return;
	}
	if (b != NULL && (ttl = json_object_get(b, "ttlSeconds")) != NULL &&
	    ((secs = json_integer_value(ttl)) < 1 ||
	    (uint64_t)secs > TOKEN_TTL_MAX)) {
		http_reply_error(fr, 400, "invalid_request",
		    "ttlSeconds must be 1 to %llu", TOKEN_TTL_MAX);
		return;
	}
	memset(&t, 0, sizeof(t));
	if (b != NULL && (scopes = json_object_get(b, "scopes")) != NULL &&
	    json_scopes_parse(scopes, &t.scopes, err, sizeof(err)) == -1) {
		http_reply_error(fr, 400, "invalid_request", "%s", err);
		return;
	}
	http_auth(fr, &t.auth);
	t.role = role != NULL && strcmp(role, "admin") == 0 ? ROLE_ADMIN :
	    ROLE_MEMBER;
	if (desc != NULL)
		memcpy(t.description, desc, strlen(desc));
	t.ttl = (uint64_t)secs;
	bc_msg_init(&m, IMSG_TOKEN_CREATE);
	msg_token_create_put(&m, &t);
	send_request(fr, &m, token_create_reply);
}

static int
token_each(void *arg, const struct token_meta *t)
{
	return json_array_append_new(arg, json_token(t));
}

static int
token_list_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	struct msg_token_page pg;
	json_t *a;

	if (!reply_ok(fr, st, msg))
		return 0;
	if ((a = json_array()) == NULL)
		return bad_reply(fr);
	if (msg_token_page_get(r, &pg, token_each, a) == -1) {
		json_decref(a);
		return bad_reply(fr);
	}
	http_reply_json(fr, 200, json_pack("{s:o,s:o}", "tokens", a,
	    "nextCursor", pg.next[0] == '\0' ? json_null() :
	    json_string(pg.next)));
	return 0;
}

static void
token_list(struct fe_req *fr)
{
	struct msg_token_list l;
	struct ipc_msg m;

	memset(&l, 0, sizeof(l));
	http_auth(fr, &l.auth);
	l.limit = fr->q.limit;
	/* The route held the cursor to a token cursor's length. */
	memcpy(l.cursor, fr->q.cursor, sizeof(l.cursor) - 1);
	bc_msg_init(&m, IMSG_TOKEN_LIST);
	msg_token_list_put(&m, &l);
	send_request(fr, &m, token_list_reply);
}

static int
token_revoke_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	struct token_meta t;

	if (!reply_ok(fr, st, msg))
		return 0;
	if (msg_token_meta_get(r, &t) == -1)
		return bad_reply(fr);
	http_reply_json(fr, 200, json_pack("{s:b,s:s}", "revoked", 1,
	    "id", t.id));
	return 0;
}

static void
token_revoke(struct fe_req *fr)
{
	struct msg_token_revoke t;
	struct ipc_msg m;

	memset(&t, 0, sizeof(t));
	http_auth(fr, &t.auth);
	memcpy(t.id, fr->arg, TOKEN_ID_LEN);	/* the route checked it */
	bc_msg_init(&m, IMSG_TOKEN_REVOKE);
	msg_token_revoke_put(&m, &t);
	send_request(fr, &m, token_revoke_reply);
}

static int
whoami_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	struct msg_whoami w;
	char e[32];
	int tok;

	if (!reply_ok(fr, st, msg))
		return 0;
	if (msg_whoami_get(r, &w) == -1)
		return bad_reply(fr);
	tok = w.auth == AUTH_TOKEN;
	http_reply_json(fr, 200, json_pack("{s:s,s:o,s:s,s:s,s:s,s:o,s:o,s:o}",
	    "userId", w.user_id,
	    "uid", tok ? json_null() : json_integer(w.uid),
	    "role", w.role == ROLE_ADMIN ? "admin" : "member",
	    "orgId", w.org_id,
	    "auth", tok ? "token" : "unix",
	    "tokenId", tok ? json_string(w.token_id) : json_null(),
	    "tokenExpiresAt", tok && w.token_expires != 0 ?
	    json_string(json_time(w.token_expires, e, sizeof(e))) :
	    json_null(), "scopes", json_scopes(&w.scopes)));
	return 0;
}

static void
whoami(struct fe_req *fr)
{
	struct msg_auth a;
	struct ipc_msg m;

	memset(&a, 0, sizeof(a));
	http_auth(fr, &a);
	bc_msg_init(&m, IMSG_WHOAMI);
	msg_auth_put(&m, &a);
	send_request(fr, &m, whoami_reply);
}
