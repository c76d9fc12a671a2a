/*
 * libruntools against a scripted HTTP server on a unix socket: the exact
 * request each call sends (method, path, query, body, token header) and
 * how each answer, error and malformed reply comes back to the caller.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "runtools.h"
#include "tap.h"

#define META(name, scope, user, ver) \
	"{\"name\":\"" name "\",\"scope\":\"" scope "\",\"userId\":" user \
	",\"orgId\":\"acme\",\"category\":\"tool\",\"description\":\"d\"," \
	"\"version\":" #ver ",\"createdAt\":\"2026-11-26T10:57:12Z\"," \
	"\"updatedAt\":\"2026-11-26T10:58:00Z\",\"createdBy\":\"alice\"," \
	"\"updatedBy\":\"alice\"}"

#define CRM_TOOL \
	"{\"name\":\"custom-crm\",\"description\":\"CRM\",\"type\":\"http\"," \
	"\"allow\":\"members\",\"timeoutMs\":10000,\"actions\":[{\"name\":" \
	"\"lookup_customer\",\"description\":\"by email\",\"params\":[" \
	"{\"name\":\"email\",\"type\":\"string\",\"required\":true," \
	"\"in\":\"path\"},{\"name\":\"limit\",\"type\":\"number\"," \
	"\"required\":false,\"in\":\"query\"}]}],\"credentials\":[{" \
	"\"slot\":\"apiKey\",\"defaultSecret\":\"SHARED_CRM_KEY\"}]}"
#define EXEC_TOOL \
	"{\"name\":\"env_dump\",\"type\":\"exec\",\"allow\":\"admins\"," \
	"\"timeoutMs\":300000,\"actions\":[{\"name\":\"run\",\"params\":[" \
	"{\"name\":\"verbose\",\"type\":\"boolean\",\"in\":\"stdin\"}]}]," \
	"\"credentials\":[]}"

/* The server's answers, in the order the calls below make requests. */
static const struct reply {
	int		 status;
	const char	*body;
} replies[] = {
	{ 201, META("K", "org", "null", 1) },				/* 0 */
	{ 200, META("K", "user", "\"alice\"", 2) },
	{ 200, META("K", "org", "null", 1) },
	{ 200, META("K", "user", "\"bob\"", 3) },
	{ 200, "{\"name\":\"K\",\"scope\":\"org\",\"userId\":null,"
	    "\"version\":1,\"value\":null,\"valueBase64\":\"YQBiIgo=\"}" },
	{ 200, "{\"secrets\":[],\"nextCursor\":null}" },			/* 5 */
	{ 200, "{\"secrets\":[" META("A", "user", "\"alice\"", 1) ","
	    META("B", "org", "null", 1) "],\"nextCursor\":\"c/1\"}" },
	{ 200, "{\"secrets\":[" META("C", "user", "\"bob\"", 4) "],"
	    "\"nextCursor\":null}" },
	{ 200, "{\"deleted\":true,\"name\":\"K\",\"scope\":\"org\"}" },
	{ 201, "{\"token\":\"rts_secret\",\"id\":\"0a1b\",\"userId\":\"alice\","
	    "\"orgId\":\"acme\",\"role\":\"member\",\"description\":\"ci\","
	    "\"createdAt\":\"x\",\"expiresAt\":\"y\"}" },
	{ 200, "{\"tokens\":[{\"id\":\"0a1b\",\"userId\":\"alice\","	/* 10 */
	    "\"role\":\"member\",\"expiresAt\":null},{\"id\":\"0c2d\","
	    "\"role\":\"admin\",\"expiresAt\":\"z\"}]}" },
	{ 200, "{\"revoked\":true,\"id\":\"0a1b\"}" },
	{ 404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no such "
	    "secret\",\"requestId\":\"req-body\"}}" },
	{ 403, "{\"error\":{\"code\":\"forbidden\",\"message\":\"admins "
	    "only\",\"requestId\":\"r\"}}" },
	{ 401, "{\"error\":{\"code\":\"unauthenticated\",\"message\":\"m\","
	    "\"requestId\":\"r\"}}" },
	{ 400, "{\"error\":{\"code\":\"invalid_request\",\"message\":\"m\"," /* 15 */
	    "\"requestId\":\"r\"}}" },
	{ 429, "" },
	{ 503, "{\"error\":{\"code\":\"unavailable\",\"message\":\"broker "
	    "down\",\"requestId\":\"r\"}}" },
	{ 500, "not json" },
	{ 200, "not json" },
	{ 200, "{\"secrets\":7}" },					/* 20 */
	{ 201, NULL },		/* the 64 KiB set: answers its own meta */
	{ 200, NULL },		/* the 64 KiB reveal: answers the value */
	{ 200, "{\"status\":\"ok\"}" },
	{ 200, "{\"tools\":[" CRM_TOOL "],\"nextCursor\":\"t/1\"}" },
	{ 200, "{\"tools\":[" EXEC_TOOL "],\"nextCursor\":null}" },	/* 25 */
	{ 200, "{\"tools\":[],\"nextCursor\":null}" },
	{ 200, CRM_TOOL },
	{ 200, "{\"tool\":\"custom-crm\",\"action\":\"lookup_customer\","
	    "\"ok\":true,\"result\":{\"id\":7,\"email\":\"a@b\"},"
	    "\"status\":200,\"durationMs\":12,\"credentials\":[{\"slot\":"
	    "\"apiKey\",\"name\":\"SHARED_CRM_KEY\",\"scope\":\"org\","
	    "\"version\":3}],\"redactions\":1}" },
	{ 200, "{\"tool\":\"env_dump\",\"action\":\"run\",\"ok\":false,"
	    "\"result\":\"plain\\u0000text\",\"exitCode\":3,\"durationMs\":5,"
	    "\"credentials\":[],\"redactions\":0,\"stderr\":\"boom\\n\"}" },
	{ 504, "{\"error\":{\"code\":\"timeout\",\"message\":\"the tool "	/* 30 */
	    "did not answer in 10 s\",\"requestId\":\"r\"}}" },
	{ 502, "{\"error\":{\"code\":\"upstream_failed\",\"message\":"
	    "\"connection refused\",\"requestId\":\"r\"}}" },
	{ 200, "{\"tool\":\"t\",\"action\":\"a\",\"ok\":true,\"result\":42}" },
	{ 200, "{\"tool\":\"t\",\"action\":\"a\",\"result\":\"x\"}" },
	{ 200, "{\"name\":\"t\",\"type\":\"http\",\"actions\":{}}" },
	{ 201, META("B", "user", "\"alice\"", 1) },			/* 35 */
	{ 200, META("B", "user", "\"alice\"", 2) },
	{ 200, "{\"name\":\"B\",\"scope\":\"user\",\"userId\":\"alice\","
	    "\"version\":2,\"value\":null,\"valueBase64\":\"/wBh/g==\"}" },
	{ 200, "{\"name\":\"B\",\"scope\":\"user\",\"userId\":\"alice\","
	    "\"version\":2,\"value\":null,\"valueBase64\":\"/wB=\"}" },
};
#define NREPLIES	(sizeof(replies) / sizeof(replies[0]))

static char dir[80], sock[100];
static char *bigvalue;		/* 64 KiB of text every JSON escape meets */
static size_t biglen = 65536;
static int served;

static char *
request_file(int n)
{
	static char path[400];

	snprintf(path, sizeof(path), "%s/req-%d", dir, n);
	return path;
}

/* Reads one request (headers, then Content-Length bytes) into buf. */
static ssize_t
read_request(int fd, char *buf, size_t size)
{
	size_t len = 0, need = 0;
	ssize_t n;
	char *end, *cl;

	while (len < size - 1) {
		if ((n = read(fd, buf + len, size - 1 - len)) <= 0)
			return -1;
		len += n;
		buf[len] = '\0';
		if (need == 0 && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			need = end + 4 - buf;
			if ((cl = strcasestr(buf, "\r\ncontent-length:")) != NULL
			    && cl < end)
				need += strtoul(cl + 17, NULL, 10);
		}
		if (need != 0 && len >= need)
			return len;
	}
	return -1;
}

static void
big_reply(int n, char **body)
{
	json_t *o;

	if (n == 21)
		*body = strdup(META("BIG", "user", "\"alice\"", 1));
	else {
		o = json_object();
		json_object_set_new(o, "name", json_string("BIG"));
		json_object_set_new(o, "version", json_integer(1));
		json_object_set_new(o, "scope", json_string("user"));
		json_object_set_new(o, "value", json_stringn(bigvalue,
		    biglen));
		*body = json_dumps(o, JSON_COMPACT);
		json_decref(o);
	}
}

static void
serve_one(int lfd, int n, char *req, size_t size)
{
	char head[256], *body, *big = NULL;
	ssize_t len;
	FILE *f;
	int fd;

	if ((fd = accept(lfd, NULL, NULL)) == -1 ||
	    (len = read_request(fd, req, size)) == -1)
		_exit(2);
	if ((f = fopen(request_file(n), "w")) == NULL)
		_exit(3);
	fwrite(req, 1, len, f);
	fclose(f);
	if (replies[n].body == NULL)
		big_reply(n, &big);
	body = big ? big : (char *)replies[n].body;
	snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: "
	    "application/json\r\nX-Request-Id: req-%d\r\nConnection: close\r\n"
	    "Content-Length: %zu\r\n\r\n", replies[n].status, n, strlen(body));
	if (write(fd, head, strlen(head)) == -1 ||
	    (*body != '\0' && write(fd, body, strlen(body)) == -1))
		_exit(4);
	free(big);
	close(fd);
}

static pid_t
server_start(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	static char req[256 * 1024];
	pid_t pid;
	size_t i;
	int lfd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(lfd, 8) == -1) {
		perror("server");
		exit(1);
	}
	if ((pid = fork()) == 0) {
		/* a client may close once it has read Content-Length bytes */
		signal(SIGPIPE, SIG_IGN);
		for (i = 0; i < NREPLIES; i++)
			serve_one(lfd, i, req, sizeof(req));
		_exit(0);
	}
	close(lfd);
	return pid;
}

/* The request the server saw for call n: request line and body. */
static char *
seen(int n, char **body)
{
	static char buf[256 * 1024];
	FILE *f = fopen(request_file(n), "r");
	size_t len;
	char *e;

	*body = NULL;
	if (f == NULL)
		return "";
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	if ((e = strstr(buf, "\r\n\r\n")) != NULL)
		*body = e + 4;
	served = n + 1;
	return buf;
}

static int
line_is(int n, const char *want)
{
	char *body, *req = seen(n, &body);
	size_t wl = strlen(want);

	if (strncmp(req, want, wl) == 0 && strncmp(req + wl, "\r\n", 2) == 0)
		return 1;
	printf("# request %d: %.*s\n", n, (int)strcspn(req, "\r"), req);
	return 0;
}

static int
body_is(int n, const char *want)
{
	char *body;
	json_t *a, *b;
	int same;

	seen(n, &body);
	a = body ? json_loads(body, JSON_ALLOW_NUL, NULL) : NULL;
	b = json_loads(want, 0, NULL);
	same = a != NULL && b != NULL && json_equal(a, b);
	if (!same)
		printf("# body %d: %s\n", n, body ? body : "(none)");
	json_decref(a);
	json_decref(b);
	return same;
}

static void
test_secrets(rt_client *c)
{
	struct rt_set_opts so = { "tool", "d", 1, NULL, NULL };
	struct rt_get_opts go = { 1, NULL, 0, 0 };
	struct rt_secret s;
	const char *raw;
	size_t len;
	int created = -1;

	ok(rt_secrets_set(c, "K", "v a\"l\nue", 8, &so, &created, &s) ==
	    RT_E_OK && created == 1 && s.version == 1 &&
	    strcmp(s.scope, "org") == 0 && s.user_id == NULL,
	    "set: 201 is created, meta parsed, org secret has no user");
	rt_secret_clear(&s);
	ok(line_is(0, "POST /v1/secrets HTTP/1.1") && body_is(0,
	    "{\"name\":\"K\",\"value\":\"v a\\\"l\\nue\",\"category\":\"tool\","
	    "\"description\":\"d\",\"orgWide\":true}"),
	    "set: POST /v1/secrets with name, value, category, description, "
	    "orgWide");
	so = (struct rt_set_opts){ NULL, NULL, 0, "bob", NULL };
	ok(rt_secrets_set(c, "K", "w", 1, &so, &created, &s) == RT_E_OK &&
	    created == 0 && s.version == 2, "set: 200 is a rotation");
	rt_secret_clear(&s);
	ok(line_is(1, "POST /v1/secrets?user_id=bob HTTP/1.1") &&
	    body_is(1, "{\"name\":\"K\",\"value\":\"w\"}"),
	    "set: rotation sends only name and value, user_id in the query");
	ok(rt_secrets_get(c, "K", &go, &s) == RT_E_OK && s.value == NULL &&
	    strcmp(s.updated_at, "2026-11-26T10:58:00Z") == 0 &&
	    line_is(2, "GET /v1/secrets/K?orgWide=true HTTP/1.1"),
	    "get: GET /v1/secrets/NAME?orgWide=true, no value");
	rt_secret_clear(&s);
	go = (struct rt_get_opts){ 0, "bob", 0, 0 };
	ok(rt_secrets_get(c, "K", &go, &s) == RT_E_OK &&
	    strcmp(s.user_id, "bob") == 0 &&
	    line_is(3, "GET /v1/secrets/K?user_id=bob HTTP/1.1"),
	    "get: user_id in the query");
	rt_secret_clear(&s);
	go = (struct rt_get_opts){ 1, NULL, 1, 0 };
	ok(rt_secrets_get(c, "K", &go, &s) == RT_E_OK && s.value_len == 5 &&
	    memcmp(s.value, "a\0b\"\n", 5) == 0 &&
	    line_is(4, "POST /v1/secrets/K/reveal?orgWide=true HTTP/1.1"),
	    "reveal: POST .../reveal, value bytes exact (NUL included)");
	raw = rt_client_last_json(c, &len);
	ok(raw != NULL && len == strlen(replies[4].body) &&
	    memcmp(raw, replies[4].body, len) == 0,
	    "reveal: the raw JSON is the server's, unchanged");
	rt_secret_clear(&s);
}

static void
test_lists(rt_client *c)
{
	struct rt_list_opts lo = { "tool", RT_LIST_ORG, 1, "bob", 5, "a/b",
	    "GH_" };
	struct rt_secret_list l;
	const char *raw;
	json_t *j;
	size_t len;

	ok(rt_secrets_list(c, &lo, &l) == RT_E_OK && l.count == 0 &&
	    l.next_cursor == NULL && line_is(5, "GET /v1/secrets?category=tool"
	    "&secretScope=org&all=true&user_id=bob&prefix=GH_&limit=5"
	    "&cursor=a%2Fb HTTP/1.1"), "list: every query option, cursor escaped");
	rt_secret_list_clear(&l);
	lo = (struct rt_list_opts){ NULL, RT_LIST_USER, 0, NULL, 0, NULL,
	    NULL };
	ok(rt_secrets_list_all(c, &lo, &l) == RT_E_OK && l.count == 3 &&
	    strcmp(l.secrets[0].name, "A") == 0 &&
	    strcmp(l.secrets[2].name, "C") == 0 && l.secrets[2].version == 4 &&
	    line_is(6, "GET /v1/secrets?secretScope=user HTTP/1.1") &&
	    line_is(7, "GET /v1/secrets?secretScope=user&cursor=c%2F1 "
	    "HTTP/1.1"), "list all: follows nextCursor over two pages");
	raw = rt_client_last_json(c, &len);
	j = raw ? json_loads(raw, 0, NULL) : NULL;
	ok(j != NULL && json_array_size(json_object_get(j, "secrets")) == 3 &&
	    json_is_null(json_object_get(j, "nextCursor")),
	    "list all: JSON is the pages merged, nextCursor null");
	json_decref(j);
	rt_secret_list_clear(&l);
}

static void
test_delete_tokens(rt_client *c)
{
	struct rt_delete_opts d = { 1, NULL };
	struct rt_token_opts to = { "ci", "member", 60, NULL, 0 };
	struct rt_token t;
	struct rt_token_list tl;

	ok(rt_secrets_delete(c, "K", &d) == RT_E_OK &&
	    line_is(8, "DELETE /v1/secrets/K?orgWide=true HTTP/1.1"),
	    "delete: DELETE /v1/secrets/NAME?orgWide=true");
	ok(rt_tokens_create(c, &to, &t) == RT_E_OK &&
	    strcmp(t.secret, "rts_secret") == 0 && strcmp(t.id, "0a1b") == 0 &&
	    line_is(9, "POST /v1/tokens HTTP/1.1") && body_is(9,
	    "{\"description\":\"ci\",\"role\":\"member\",\"ttlSeconds\":60}"),
	    "token create: body and the token shown once");
	rt_token_clear(&t);
	ok(rt_tokens_list(c, &tl) == RT_E_OK && tl.count == 2 &&
	    tl.tokens[0].expires_at == NULL &&
	    strcmp(tl.tokens[1].role, "admin") == 0 &&
	    tl.tokens[0].secret == NULL && line_is(10, "GET /v1/tokens "
	    "HTTP/1.1"), "token list: parsed, null expiry is NULL");
	rt_token_list_clear(&tl);
	ok(rt_tokens_revoke(c, "0a1b") == RT_E_OK &&
	    line_is(11, "DELETE /v1/tokens/0a1b HTTP/1.1"),
	    "token revoke: DELETE /v1/tokens/ID");
}

static void
test_errors(rt_client *c)
{
	const struct rt_error_info *ei = rt_client_last_error(c);
	static const enum rt_error want[] = { RT_E_AUTH, RT_E_AUTH,
	    RT_E_INVALID, RT_E_RATELIMIT, RT_E_UNAVAILABLE, RT_E_SERVER,
	    RT_E_PROTOCOL };
	struct rt_secret s;
	struct rt_secret_list l;
	size_t i;

	ok(rt_secrets_get(c, "K", NULL, &s) == RT_E_NOTFOUND &&
	    ei->http_status == 404 && strcmp(ei->message, "no such secret") == 0
	    && strcmp(ei->error_code, "not_found") == 0 &&
	    strcmp(ei->request_id, "req-12") == 0,
	    "404: not found, server message, code and X-Request-Id kept");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ok(rt_secrets_get(c, "K", NULL, &s) == want[i] &&
		    ei->code == want[i] && ei->message[0] != '\0',
		    "HTTP %d maps to %s", replies[13 + i].status,
		    rt_strerror(want[i]));
	ok(ei->http_status == 200 && strstr(ei->message, "JSON") != NULL,
	    "a 2xx that is not JSON is a protocol error: %s", ei->message);
	ok(rt_secrets_list(c, NULL, &l) == RT_E_PROTOCOL && l.count == 0,
	    "a list without an array is a protocol error");
}

static void
test_refused_before_sending(rt_client *c)
{
	static const char *names[] = { "../x", "%2e%2e", "a/b", "", "1A",
	    "K?x=1", "K#", "K\n" };
	struct rt_secret s;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ok(rt_secrets_get(c, names[i], NULL, &s) == RT_E_USAGE,
		    "bad name %zu (%.*s) refused before sending", i,
		    (int)strcspn(names[i], "\n"), names[i]);
	ok(rt_secrets_delete(c, "a/b", NULL) == RT_E_USAGE,
	    "delete refuses a bad name");
	ok(rt_tokens_revoke(c, "../x") == RT_E_USAGE,
	    "revoke refuses a bad id");
	ok(rt_secrets_set(c, "K", "", 0, NULL, NULL, NULL) == RT_E_USAGE,
	    "empty value refused");
	ok(rt_secrets_set(c, "K", bigvalue, 65537, NULL, NULL, NULL) ==
	    RT_E_USAGE, "value over 64 KiB refused");
	ok(rt_secrets_set(c, "K", "v", 1, &(struct rt_set_opts){ "nope",
	    NULL, 0, NULL, NULL }, NULL, NULL) == RT_E_USAGE, "bad category refused");
	ok(rt_secrets_set(c, "K", "v", 1, &(struct rt_set_opts){ NULL,
	    NULL, 1, "bob", NULL }, NULL, NULL) == RT_E_USAGE,
	    "org-wide with a user refused");
}

static void
test_big_value(rt_client *c)
{
	struct rt_get_opts go = { 0, NULL, 1, 0 };
	struct rt_secret s;
	char *body;
	json_t *j;
	int created;

	ok(rt_secrets_set(c, "BIG", bigvalue, biglen, NULL, &created, NULL) ==
	    RT_E_OK && created == 1, "64 KiB text value sent");
	seen(21, &body);
	j = body ? json_loads(body, 0, NULL) : NULL;
	ok(j != NULL && json_string_length(json_object_get(j, "value")) ==
	    biglen && memcmp(json_string_value(json_object_get(j, "value")),
	    bigvalue, biglen) == 0, "64 KiB: the JSON sent carries it exactly");
	json_decref(j);
	ok(rt_secrets_get(c, "BIG", &go, &s) == RT_E_OK &&
	    s.value_len == biglen && memcmp(s.value, bigvalue, biglen) == 0,
	    "64 KiB: revealed back byte for byte (%s)",
	    rt_client_last_error(c)->message);
	rt_secret_clear(&s);
}

/* Bytes that are not text (not UTF-8, or holding NUL) go as valueBase64. */
static void
test_binary_value(rt_client *c)
{
	struct rt_get_opts go = { 0, NULL, 1, 0 };
	struct rt_secret s;
	int created = -1;

	ok(rt_secrets_set(c, "B", "\xff\xfe", 2, NULL, &created, NULL) ==
	    RT_E_OK && created == 1 && line_is(35, "POST /v1/secrets HTTP/1.1")
	    && body_is(35, "{\"name\":\"B\",\"valueBase64\":\"//4=\"}"),
	    "a value that is not UTF-8 is sent as valueBase64, without value");
	ok(rt_secrets_set(c, "B", "a\0b", 3, NULL, &created, NULL) ==
	    RT_E_OK && created == 0 &&
	    body_is(36, "{\"name\":\"B\",\"valueBase64\":\"YQBi\"}"),
	    "a UTF-8 value holding NUL is sent as valueBase64");
	ok(rt_secrets_get(c, "B", &go, &s) == RT_E_OK && s.value_len == 4 &&
	    memcmp(s.value, "\xff\0a\xfe", 5) == 0 &&
	    line_is(37, "POST /v1/secrets/B/reveal HTTP/1.1"),
	    "reveal: value null and valueBase64 decode to the exact bytes");
	rt_secret_clear(&s);
	ok(rt_secrets_get(c, "B", &go, &s) == RT_E_PROTOCOL &&
	    s.value == NULL &&
	    line_is(38, "POST /v1/secrets/B/reveal HTTP/1.1"),
	    "reveal: a valueBase64 that is not canonical base64 is a "
	    "protocol error (%s)",
	    rt_client_last_error(c)->message);
	rt_secret_clear(&s);
}

static void
test_tool_lists(rt_client *c)
{
	struct rt_tool_list_opts lo = { 1, "x y" };
	struct rt_tool_list l;
	struct rt_tool t;
	const struct rt_tool_action *a;
	const char *raw;
	json_t *j;
	size_t len;

	ok(rt_tools_list(c, &l) == RT_E_OK && l.count == 2 &&
	    line_is(24, "GET /v1/tools HTTP/1.1") &&
	    line_is(25, "GET /v1/tools?cursor=t%2F1 HTTP/1.1"),
	    "tool list: follows nextCursor over two pages");
	a = l.count == 2 ? &l.tools[0].actions[0] : NULL;
	ok(a != NULL && strcmp(l.tools[0].name, "custom-crm") == 0 &&
	    strcmp(l.tools[0].type, "http") == 0 &&
	    strcmp(l.tools[0].allow, "members") == 0 &&
	    l.tools[0].timeout_ms == 10000 && l.tools[0].nactions == 1 &&
	    strcmp(a->name, "lookup_customer") == 0 && a->nparams == 2 &&
	    a->params[0].required && a->params[0].kind == RT_PARAM_STRING &&
	    strcmp(a->params[0].in, "path") == 0 && !a->params[1].required &&
	    a->params[1].kind == RT_PARAM_NUMBER && l.tools[0].nslots == 1 &&
	    strcmp(l.tools[0].slots[0].slot, "apiKey") == 0 &&
	    strcmp(l.tools[0].slots[0].default_secret, "SHARED_CRM_KEY") == 0,
	    "tool list: actions, typed params and slots parsed");
	ok(l.count == 2 && l.tools[1].description == NULL &&
	    l.tools[1].nslots == 0 && l.tools[1].timeout_ms == 300000 &&
	    l.tools[1].actions[0].params[0].kind == RT_PARAM_BOOLEAN &&
	    !l.tools[1].actions[0].params[0].required,
	    "tool list: no description, no slots, a boolean param");
	raw = rt_client_last_json(c, &len);
	j = raw ? json_loads(raw, 0, NULL) : NULL;
	ok(j != NULL && json_array_size(json_object_get(j, "tools")) == 2 &&
	    json_is_null(json_object_get(j, "nextCursor")),
	    "tool list: JSON is the pages merged, nextCursor null");
	json_decref(j);
	rt_tool_list_clear(&l);
	ok(rt_tools_list_page(c, &lo, &l) == RT_E_OK && l.count == 0 &&
	    line_is(26, "GET /v1/tools?limit=1&cursor=x%20y HTTP/1.1"),
	    "tool list page: limit and cursor in the query");
	rt_tool_list_clear(&l);
	ok(rt_tools_get(c, "custom-crm", &t) == RT_E_OK &&
	    strcmp(t.description, "CRM") == 0 && t.nactions == 1 &&
	    line_is(27, "GET /v1/tools/custom-crm HTTP/1.1"),
	    "tool get: GET /v1/tools/NAME");
	rt_tool_clear(&t);
}

static void
test_tool_execute(rt_client *c)
{
	const struct rt_error_info *ei = rt_client_last_error(c);
	struct rt_param p[] = {
		{ "limit", "5", RT_PARAM_NUMBER },
		{ "ratio", "-2.5e1", RT_PARAM_NUMBER },
		{ "exact", "true", RT_PARAM_BOOLEAN },
		{ "note", "x=y", RT_PARAM_STRING },
		{ "other", "1", RT_PARAM_OTHER },
	};
	struct rt_credential_override ov[] = {
		{ "apiKey", "SHARED_CRM_KEY", 0 },
		{ "backup", "ORG_KEY", 1 },
	};
	struct rt_exec_opts o = { "{\"email\":\"a@b\"}", 0, p, 5, ov, 2,
	    10000 };
	struct rt_exec_result r;

	ok(rt_tools_execute(c, "custom-crm", "lookup_customer", &o, &r) ==
	    RT_E_OK && r.ok && r.result_is_json && r.status == 200 &&
	    r.exit_code == -1 && r.duration_ms == 12 && r.redactions == 1 &&
	    r.stderr_text == NULL && strcmp(r.result,
	    "{\"id\":7,\"email\":\"a@b\"}") == 0,
	    "execute: ok, status, JSON result as compact text");
	ok(r.ncredentials == 1 && strcmp(r.credentials[0].slot, "apiKey") ==
	    0 && strcmp(r.credentials[0].name, "SHARED_CRM_KEY") == 0 &&
	    strcmp(r.credentials[0].scope, "org") == 0 &&
	    r.credentials[0].version == 3, "execute: which secret each slot "
	    "used");
	ok(line_is(28, "POST /v1/tools/custom-crm/execute HTTP/1.1") &&
	    body_is(28, "{\"action\":\"lookup_customer\",\"params\":{"
	    "\"email\":\"a@b\",\"limit\":5,\"ratio\":-25.0,\"exact\":true,"
	    "\"note\":\"x=y\",\"other\":\"1\"},\"credentialOverrides\":{"
	    "\"apiKey\":\"SHARED_CRM_KEY\",\"backup\":{\"name\":\"ORG_KEY\","
	    "\"orgWide\":true}}}"),
	    "execute: params typed and merged, overrides in both forms");
	rt_exec_result_clear(&r);
	ok(rt_tools_execute(c, "env_dump", "run", NULL, &r) == RT_E_OK &&
	    !r.ok && !r.result_is_json && r.result_len == 10 &&
	    memcmp(r.result, "plain\0text", 10) == 0 && r.exit_code == 3 &&
	    r.status == -1 && r.stderr_len == 5 &&
	    strcmp(r.stderr_text, "boom\n") == 0 && r.ncredentials == 0,
	    "execute: ok false, text result byte for byte, exit code, stderr");
	ok(body_is(29, "{\"action\":\"run\",\"params\":{}}"),
	    "execute: no params is an empty object, no overrides member");
	rt_exec_result_clear(&r);
	ok(rt_tools_execute(c, "env_dump", "run", NULL, &r) == RT_E_SERVER &&
	    ei->http_status == 504 && strcmp(ei->error_code, "timeout") == 0,
	    "execute: 504 is a server error with the API's code");
	ok(rt_tools_execute(c, "env_dump", "run", NULL, &r) == RT_E_SERVER &&
	    ei->http_status == 502 &&
	    strcmp(ei->error_code, "upstream_failed") == 0 &&
	    strcmp(ei->message, "connection refused") == 0,
	    "execute: 502 keeps the server's code and message");
	ok(rt_tools_execute(c, "t", "a", NULL, &r) == RT_E_OK &&
	    r.result_is_json && strcmp(r.result, "42") == 0,
	    "execute: a scalar JSON result");
	rt_exec_result_clear(&r);
	ok(rt_tools_execute(c, "t", "a", NULL, &r) == RT_E_PROTOCOL &&
	    r.result == NULL && line_is(33, "POST /v1/tools/t/execute "
	    "HTTP/1.1"), "execute: an answer without ok is a protocol error");
}

/* Each refused before anything is sent: the replies stay in step. */
static void
test_tool_refusals(rt_client *c)
{
	static const struct {
		const char *json, *value;
		enum rt_param_type type;
		const char *what;
	} bad[] = {
		{ NULL, "12x", RT_PARAM_NUMBER, "a number with a suffix" },
		{ NULL, " 5", RT_PARAM_NUMBER, "a number with a space" },
		{ NULL, "5.", RT_PARAM_NUMBER, "a number ending in '.'" },
		{ NULL, "05", RT_PARAM_NUMBER, "a number with a leading 0" },
		{ NULL, "0x10", RT_PARAM_NUMBER, "a hex number" },
		{ NULL, "NaN", RT_PARAM_NUMBER, "NaN" },
		{ NULL, "1e400", RT_PARAM_NUMBER, "a real out of range" },
		{ NULL, "99999999999999999999", RT_PARAM_NUMBER,
		    "an integer over 64 bits" },
		{ NULL, "", RT_PARAM_NUMBER, "an empty number" },
		{ NULL, "yes", RT_PARAM_BOOLEAN, "yes as a boolean" },
		{ NULL, "True", RT_PARAM_BOOLEAN, "True as a boolean" },
		{ NULL, "\xff", RT_PARAM_STRING, "a string not UTF-8" },
		{ "[1]", "v", RT_PARAM_STRING, "params JSON not an object" },
		{ "{\"a\":", "v", RT_PARAM_STRING, "params JSON cut short" },
		{ "{\"a\":1,\"a\":2}", "v", RT_PARAM_STRING,
		    "a key twice in the params JSON" },
		{ "{\"k\":1}", "v", RT_PARAM_STRING,
		    "a key in the JSON and as a param" },
	};
	struct rt_credential_override ov[] = {
		{ "apiKey", "A", 0 }, { "apiKey", "B", 1 }, { "a-b", "A", 0 },
		{ "apiKey", "1BAD", 0 },
	};
	struct rt_param twice[] = {
		{ "k", "1", RT_PARAM_STRING }, { "k", "2", RT_PARAM_STRING },
	};
	struct rt_param p;
	struct rt_exec_opts o;
	struct rt_exec_result r;
	struct rt_tool t;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = (struct rt_param){ "k", bad[i].value, bad[i].type };
		o = (struct rt_exec_opts){ bad[i].json, 0, &p, 1, NULL, 0, 0 };
		ok(rt_tools_execute(c, "t", "a", &o, &r) == RT_E_USAGE,
		    "refused before sending: %s (%s)", bad[i].what,
		    rt_client_last_error(c)->message);
	}
	o = (struct rt_exec_opts){ NULL, 0, twice, 2, NULL, 0, 0 };
	ok(rt_tools_execute(c, "t", "a", &o, &r) == RT_E_USAGE &&
	    strstr(rt_client_last_error(c)->message, "twice") != NULL,
	    "a param given twice is refused");
	o = (struct rt_exec_opts){ NULL, 0, NULL, 0, ov, 2, 0 };
	ok(rt_tools_execute(c, "t", "a", &o, &r) == RT_E_USAGE,
	    "a slot overridden twice is refused");
	o = (struct rt_exec_opts){ NULL, 0, NULL, 0, ov + 2, 1, 0 };
	ok(rt_tools_execute(c, "t", "a", &o, &r) == RT_E_USAGE,
	    "a bad slot name is refused");
	o = (struct rt_exec_opts){ NULL, 0, NULL, 0, ov + 3, 1, 0 };
	ok(rt_tools_execute(c, "t", "a", &o, &r) == RT_E_USAGE,
	    "a bad secret name in an override is refused");
	ok(rt_tools_execute(c, "a/b", "a", NULL, &r) == RT_E_USAGE &&
	    rt_tools_execute(c, "..", "a", NULL, &r) == RT_E_USAGE &&
	    rt_tools_execute(c, "", "a", NULL, &r) == RT_E_USAGE &&
	    rt_tools_get(c, "a b", &t) == RT_E_USAGE &&
	    rt_tools_get(c, "x?y", &t) == RT_E_USAGE,
	    "bad tool names are refused");
	ok(rt_tools_execute(c, "t", "1a", NULL, &r) == RT_E_USAGE &&
	    rt_tools_execute(c, "t", "a/b", NULL, &r) == RT_E_USAGE &&
	    rt_tools_execute(c, "t", NULL, NULL, &r) == RT_E_USAGE,
	    "bad action names are refused");
}

static void
make_bigvalue(void)
{
	static const char set[] = "ab \"\\\n\t\r/'{}\x01\x1f\x7f\xc3\xa9";
	size_t i = 0, n = sizeof(set) - 1;

	bigvalue = malloc(biglen + 2);
	while (i < biglen) {
		/* keep the two-byte é whole */
		if (set[i % n] == '\xc3' && i + 1 < biglen) {
			bigvalue[i++] = '\xc3';
			bigvalue[i++] = '\xa9';
			continue;
		}
		bigvalue[i] = (set[i % n] & 0x80) ? 'z' : set[i % n];
		i++;
	}
	bigvalue[biglen] = 'x';
}

static void
test_client_new(void)
{
	static const char *bad[] = { "http://x", "unix:", "https://", "ftp://x",
	    "x", "https://a b" };
	rt_client *c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		c = rt_client_new(bad[i], NULL, NULL);
		ok(c == NULL && errno == EINVAL, "URL '%s' refused", bad[i]);
		rt_client_free(c);
	}
	c = rt_client_new("unix:/x", "rts_a\r\nX-Evil: 1", NULL);
	ok(c == NULL && errno == EINVAL, "a token with CR LF is refused");
	rt_client_free(c);
	c = rt_client_new("https://127.0.0.1:1", "rts_a", "ca.pem");
	ok(c != NULL, "https URL with a CA file accepted");
	rt_client_free(c);
}

/* X-RunTools-Client: printable ASCII, at most 64 bytes, or none. */
static void
test_client_name(rt_client *c)
{
	static const char *bad[] = {
		"a\r\nX-Evil: 1", "tab\there", "caf\xc3\xa9",
		"mcp:0123456789012345678901234567890123456789012345678901234567890"
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ok(rt_client_set_name(c, bad[i]) == -1 && errno == EINVAL,
		    "client name %zu refused", i);
	}
	ok(rt_client_set_name(c, "mcp:012345678901234567890123456789012345678"
	    "901234567890123456789") == 0, "a name of 64 bytes is taken");
	ok(rt_client_set_name(c, NULL) == 0 && rt_client_set_name(c, "") == 0,
	    "NULL or \"\" sends none");
	ok(rt_client_set_name(c, "mcp:claude-code") == 0, "a name is taken");
}

int
main(void)
{
	const char *t = getenv("TMPDIR");
	struct rt_secret s;
	rt_client *c;
	char *body, *req, url[320];
	int status;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/test_client_lib.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	make_bigvalue();
	/* the server frees what jansson allocates with free() */
	pid = server_start();
	rt_harden_memory();
	test_client_new();
	snprintf(url, sizeof(url), "unix:%s", sock);
	c = rt_client_new(url, "rts_tok", NULL);
	test_secrets(c);
	req = seen(0, &body);
	ok(strstr(req, "\r\nAuthorization: Bearer rts_tok\r\n") != NULL,
	    "the token travels as a Bearer header");
	test_lists(c);
	test_delete_tokens(c);
	test_errors(c);
	test_refused_before_sending(c);
	test_big_value(c);
	ok(rt_health(c) == RT_E_OK && line_is(23, "GET /v1/health HTTP/1.1"),
	    "health");
	test_tool_lists(c);
	test_tool_refusals(c);
	test_tool_execute(c);
	ok(rt_tools_get(c, "t", &(struct rt_tool){ 0 }) == RT_E_PROTOCOL &&
	    line_is(34, "GET /v1/tools/t HTTP/1.1"),
	    "a tool whose actions are not an array is a protocol error");
	test_client_name(c);
	test_binary_value(c);
	req = seen(34, &body);
	ok(strstr(req, "X-RunTools-Client") == NULL,
	    "no X-RunTools-Client before a client name is given");
	req = seen(NREPLIES - 1, &body);
	ok(strstr(req, "\r\nX-RunTools-Client: mcp:claude-code\r\n") != NULL,
	    "then it travels on every request");
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    served == (int)NREPLIES, "the server answered all %zu requests, "
	    "each in the order of the calls (status %d)", NREPLIES, status);
	ok(rt_secrets_get(c, "K", NULL, &s) == RT_E_NETWORK &&
	    strstr(rt_client_last_error(c)->message, sock) != NULL,
	    "no server: network error naming the socket (%s)",
	    rt_client_last_error(c)->message);
	rt_client_free(c);
	free(bigvalue);
	if (fork() == 0)
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
	wait(NULL);
	return done_testing();
}
