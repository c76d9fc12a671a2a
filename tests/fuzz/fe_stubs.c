/*
 * The front-end's HTTP and broker-channel calls, replaced for the fuzz
 * targets that link daemon/routes.c: a route handler runs as it would,
 * and the IPC request it builds is finished, parsed back and dropped
 * instead of sent.  No network, no event loop.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

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
http_put_auth(struct fe_req *fr, struct ipc_msg *m)
{
	ipc_put_u8(m, AUTH_SESSION);
	ipc_put_u64(m, 1);
	ipc_put_str(m, "unix");
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

/*
 * What would go to the broker must be a message the broker's reader
 * accepts; a handler that built a malformed one is a bug, so abort.
 */
struct bc_pending *
bc_request(struct ipc_msg *m, bc_cb cb, void *arg)
{
	struct ipc_reader r;

	if (ipc_msg_finish(m) == 0 && ipc_parse(m->buf, m->len, &r) == -1)
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
