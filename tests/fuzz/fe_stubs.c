/*
 * The front-end's HTTP and broker-channel calls, replaced for the fuzz
 * targets that link daemon/routes.c: a route handler runs as it would,
 * and the IPC request it builds is finished, read back with the broker's
 * own decoder and dropped instead of sent.  No network, no event loop.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "tool.h"

void
http_reply_json(struct fe_req *fr, int code, json_t *o)
{
	char *s;

	/* Encoding is where a reply built from bad input would fail. */
	if (o != NULL && (s = json_dumps(o, JSON_COMPACT)) != NULL)
		free(s);
	json_decref(o);
}

/* A body the JSON writer built: it must be a string, and it is ours. */
void
http_reply_text(struct fe_req *fr, int code, char *body)
{
	if (body == NULL)
		return;
	explicit_bzero(body, strlen(body));
	free(body);
}

void
http_reply_typed(struct fe_req *fr, int code, const char *ctype, char *body)
{
	http_reply_text(fr, code, body);
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
}

void
http_reply_status(struct fe_req *fr, enum rt_status st, const char *msg)
{
	http_reply_error(fr, rt_status_http(st), rt_status_code(st), "%s",
	    msg != NULL ? msg : "");
}

void
http_auth(struct fe_req *fr, struct msg_auth *a)
{
	memset(a, 0, sizeof(*a));
	a->kind = AUTH_SESSION;
	a->session = 1;
	snprintf(a->source, sizeof(a->source), "unix");
}

void
bc_msg_init(struct ipc_msg *m, uint32_t type)
{
	ipc_msg_init(m, type, 1);
}

int
bc_up(void)
{
	return 1;
}

/* The broker's decoder of each request a route may send. */
static int
broker_decodes(struct ipc_reader *r)
{
	union {
		struct msg_secret_list	 list;
		struct msg_secret_write	 write;
		struct msg_secret_ref	 ref;
		struct msg_token_create	 tcreate;
		struct msg_token_list	 tlist;
		struct msg_token_revoke	 trevoke;
		struct tool_list_req	 toollist;
		struct tool_get_req	 toolget;
		struct tool_exec_req	 toolexec;
		struct msg_auth		 auth;
	} u;

	switch (r->hdr.type) {
	case IMSG_SECRET_LIST:
		return msg_secret_list_get(r, &u.list);
	case IMSG_SECRET_PUT:
		return msg_secret_write_get(r, &u.write);
	case IMSG_SECRET_GET:
	case IMSG_SECRET_REVEAL:
	case IMSG_SECRET_DELETE:
	case IMSG_SECRET_VERSIONS:
	case IMSG_SECRET_ROLLBACK:
		return msg_secret_ref_get(r, &u.ref);
	case IMSG_TOKEN_CREATE:
		return msg_token_create_get(r, &u.tcreate);
	case IMSG_TOKEN_LIST:
		return msg_token_list_get(r, &u.tlist);
	case IMSG_TOKEN_REVOKE:
		return msg_token_revoke_get(r, &u.trevoke);
	case IMSG_PING:
		return msg_empty_get(r);
	case IMSG_TOOL_LIST:
		return tool_list_req_get(r, &u.toollist);
	case IMSG_TOOL_GET:
		return tool_get_req_get(r, &u.toolget);
	case IMSG_TOOL_EXEC:
		return tool_exec_req_get(r, &u.toolexec);
	case IMSG_WHOAMI:
	case IMSG_METRICS:
		return msg_auth_get(r, &u.auth) == -1 ? -1 : msg_empty_get(r);
	}
	return -1;
}

/*
 * What would go to the broker must be a message the broker accepts: one
 * it refused would cost the front-end its life, so a handler that built
 * one is a bug, and this aborts.
 */
struct bc_pending *
bc_request(struct ipc_msg *m, bc_cb cb, void *arg)
{
	struct ipc_reader r;

	if (ipc_msg_finish(m) == 0 && (ipc_parse(m->buf, m->len, &r) == -1 ||
	    broker_decodes(&r) == -1))
		abort();
	ipc_msg_free(m);
	return NULL;
}

void
http_wait_longer(struct fe_req *fr, unsigned int seconds)
{
	(void)fr;
	(void)seconds;
}

/* A fuzzed request has no head: no header is ever present. */
const char *
hr_header(const struct http_head *h, const char *name)
{
	return NULL;
}

void
http_reply_empty(struct fe_req *fr, int code)
{
}

/* No listener and no allowed origins: /v1/mcp takes no Origin at all. */
struct fe_config fe_conf;
