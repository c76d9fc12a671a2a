/*
 * Fuzz target "client": libruntools reading what a server answers.  A
 * thread serves one canned HTTP response on a unix socket, and the
 * library makes a real call to it, so the body goes through the same
 * transport, JSON and shape checks (rtclient.c, rtsecrets.c, rttools.c)
 * as against secretd.  Input: one byte choosing the call, one the status,
 * one the length of an X-Request-Id value, that value, then the body.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "runtools.h"
#include "testutil.h"
#include "fuzz.h"

static const int statuses[] = {
	200, 201, 400, 401, 403, 404, 405, 413, 429, 500, 503, 204, 302, 418,
	502, 504
};
#define NSTATUS	(sizeof(statuses) / sizeof(statuses[0]))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *resp;		/* the whole HTTP response to serve */
static size_t resp_len;
static rt_client *client;
static char *dir, sock[108];
static int lfd = -1;

static void
cleanup(void)
{
	rt_client_free(client);
	unlink(sock);
	rmdir(dir);
	free(dir);
}

/* Reads the request up to the end of its body, so closing loses nothing. */
static void
drain(int fd)
{
	char buf[8192], *end, *cl;
	size_t have = 0, need = 0;
	ssize_t n;

	while (have < sizeof(buf) - 1 &&
	    (n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		have += (size_t)n;
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		if (need == 0) {
			cl = strcasestr(buf, "\r\nContent-Length:");
			need = (size_t)(end + 4 - buf) +
			    (cl != NULL && cl < end ? strtoul(cl + 17, NULL,
			    10) : 0);
		}
		if (have >= need)
			return;
	}
}

static void *
serve(void *arg)
{
	size_t off;
	ssize_t n;
	int fd;

	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			continue;
		drain(fd);
		pthread_mutex_lock(&lock);
		for (off = 0; off < resp_len; off += (size_t)n)
			if ((n = write(fd, resp + off, resp_len - off)) <= 0)
				break;
		pthread_mutex_unlock(&lock);
		shutdown(fd, SHUT_WR);
		close(fd);
	}
	return NULL;
}

static void
setup(void)
{
	struct sockaddr_un sun;
	pthread_t t;
	char url[128];

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((dir = tu_mkdtemp("secretd-fuzz")) == NULL ||
	    snprintf(sock, sizeof(sock), "%s/s", dir) >= (int)sizeof(sock) ||
	    (lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	snprintf(url, sizeof(url), "unix:%s", sock);
	if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(lfd, 16) == -1 ||
	    pthread_create(&t, NULL, serve, NULL) != 0 ||
	    (client = rt_client_new(url, "rts_fuzz", NULL)) == NULL)
		goto fail;
	atexit(cleanup);
	return;
 fail:
	perror("fuzz_client: setup");
	exit(1);
}

static void
respond_with(int status, const uint8_t *rid, size_t ridlen,
    const uint8_t *body, size_t len)
{
	char head[512];
	size_t i, hlen;

	hlen = (size_t)snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\nX-Request-Id: ", status, len);
	/* A header value cannot hold a line break; curl would split it. */
	for (i = 0; i < ridlen && hlen < sizeof(head) - 8; i++)
		head[hlen++] = rid[i] == '\r' || rid[i] == '\n' ? ' ' : rid[i];
	memcpy(head + hlen, "\r\n\r\n", 4);
	hlen += 4;
	pthread_mutex_lock(&lock);
	free(resp);
	if ((resp = malloc(hlen + len + 1)) != NULL) {
		memcpy(resp, head, hlen);
		memcpy(resp + hlen, body, len);
		resp_len = hlen + len;
	} else
		resp_len = 0;
	pthread_mutex_unlock(&lock);
}

/* What a parsed tool must hold, whatever the server sent. */
static void
check_tool(const struct rt_tool *t)
{
	size_t i, j;

	if (t->name == NULL || t->type == NULL ||
	    (t->nactions > 0 && t->actions == NULL) ||
	    (t->nslots > 0 && t->slots == NULL))
		abort();
	for (i = 0; i < t->nactions; i++) {
		if (t->actions[i].name == NULL)
			abort();
		for (j = 0; j < t->actions[i].nparams; j++)
			if (t->actions[i].params[j].name == NULL)
				abort();
	}
	for (i = 0; i < t->nslots; i++)
		if (t->slots[i].slot == NULL)
			abort();
}

/* A result is NUL-terminated, and JSON again when it says it is. */
static void
check_result(const struct rt_exec_result *r)
{
	json_t *v;

	if (r->result != NULL && r->result[r->result_len] != '\0')
		abort();
	if (r->stderr_text != NULL && r->stderr_text[r->stderr_len] != '\0')
		abort();
	if (r->result != NULL && r->result_is_json) {
		if ((v = json_loadb(r->result, r->result_len, JSON_DECODE_ANY |
		    JSON_ALLOW_NUL, NULL)) == NULL)
			abort();
		json_decref(v);
	}
	if (r->ncredentials > 0 && (r->credentials == NULL ||
	    r->credentials[0].slot == NULL))
		abort();
}

static void
call_tools(int which)
{
	static const struct rt_param params[] = {
		{ "email", "a@b", RT_PARAM_STRING },
		{ "limit", "5", RT_PARAM_NUMBER },
		{ "exact", "true", RT_PARAM_BOOLEAN },
	};
	static const struct rt_credential_override ov[] = {
		{ "apiKey", "SHARED_CRM_KEY", 1 },
	};
	struct rt_exec_opts eo = { "{\"note\":[1,{\"a\":null}]}", 0, params,
	    3, ov, 1, 1000 };
	struct rt_tool_list_opts tlo = { 0, NULL };
	struct rt_tool_list l;
	struct rt_tool t;
	struct rt_exec_result r;
	size_t i;

	memset(&l, 0, sizeof(l));
	switch (which) {
	case 11:
	case 12:
		if ((which == 11 ? rt_tools_list_page(client, &tlo, &l) :
		    rt_tools_list(client, &l)) == RT_E_OK)
			for (i = 0; i < l.count; i++)
				check_tool(&l.tools[i]);
		rt_tool_list_clear(&l);
		break;
	case 13:
		if (rt_tools_get(client, "custom-crm", &t) == RT_E_OK) {
			check_tool(&t);
			rt_tool_clear(&t);
		}
		break;
	default:
		if (rt_tools_execute(client, "custom-crm", "lookup_customer",
		    &eo, &r) == RT_E_OK)
			check_result(&r);
		rt_exec_result_clear(&r);
		break;
	}
}

static void
call(int which)
{
	struct rt_get_opts go = { 0, NULL, which == 2, 0 };
	struct rt_list_opts lo = { NULL, RT_LIST_ANY, 0, NULL, 0, NULL, NULL };
	struct rt_set_opts so = { NULL, NULL, 0, NULL, NULL };
	struct rt_token_opts to = { NULL, NULL, 0, NULL, 0 };
	struct rt_token_list_opts tlo = { 0, NULL };
	struct rt_delete_opts dopts = { 0, NULL };
	struct rt_secret s;
	struct rt_secret_list l;
	struct rt_token t;
	struct rt_token_list tl;
	int created;

	memset(&l, 0, sizeof(l));
	memset(&tl, 0, sizeof(tl));
	switch (which) {
	case 0:
		rt_health(client);
		break;
	case 1:
	case 2:
		if (rt_secrets_get(client, "GITHUB_TOKEN", &go, &s) == RT_E_OK)
			rt_secret_clear(&s);
		break;
	case 3:
		rt_secrets_list(client, &lo, &l);
		rt_secret_list_clear(&l);
		break;
	case 4:
		rt_secrets_list_all(client, &lo, &l);
		rt_secret_list_clear(&l);
		break;
	case 5:
		if (rt_secrets_set(client, "GITHUB_TOKEN", "v", 1, &so,
		    &created, &s) == RT_E_OK)
			rt_secret_clear(&s);
		break;
	case 6:
		rt_secrets_delete(client, "GITHUB_TOKEN", &dopts);
		break;
	case 7:
		if (rt_tokens_create(client, &to, &t) == RT_E_OK)
			rt_token_clear(&t);
		break;
	case 8:
		rt_tokens_list(client, &tl);
		rt_token_list_clear(&tl);
		break;
	case 9:
		rt_tokens_list_page(client, &tlo, &tl);
		rt_token_list_clear(&tl);
		break;
	case 10:
		rt_tokens_revoke(client, "0123456789abcdef");
		break;
	default:
		call_tools(which);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct rt_error_info *e;
	size_t ridlen;

	if (size < 3)
		return 0;
	if (client == NULL)
		setup();
	ridlen = data[2] < size - 3 ? data[2] : size - 3;
	respond_with(statuses[data[1] % NSTATUS], data + 3, ridlen,
	    data + 3 + ridlen, size - 3 - ridlen);
	call(data[0] % 15);
	e = rt_client_last_error(client);
	if (memchr(e->request_id, '\0', sizeof(e->request_id)) == NULL ||
	    memchr(e->message, '\0', sizeof(e->message)) == NULL)
		abort();
	rt_client_last_json(client, NULL);
	return 0;
}
