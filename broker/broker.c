/*
 * The broker's side of the channel: the dispatch table with the state
 * each message is permitted in, and the loop turn that drains the
 * channel, then commits the turn's writes.  Anything malformed is fatal
 * to the front-end, never to the broker.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "broker.h"
#include "log.h"

#define PERMIT_NEW	0x1
#define PERMIT_READY	0x2

static const struct {
	uint32_t	 type;
	int		 permit;
	int		 (*fn)(struct req *);
} handlers[] = {
	{ IMSG_HELLO,		PERMIT_NEW,	h_hello },
	{ IMSG_CONN_UNIX,	PERMIT_READY,	h_conn_unix },
	{ IMSG_CONN_CLOSE,	PERMIT_READY,	h_conn_close },
	{ IMSG_SECRET_LIST,	PERMIT_READY,	h_list },
	{ IMSG_SECRET_PUT,	PERMIT_READY,	h_put },
	{ IMSG_SECRET_GET,	PERMIT_READY,	h_read },
	{ IMSG_SECRET_REVEAL,	PERMIT_READY,	h_read },
	{ IMSG_SECRET_DELETE,	PERMIT_READY,	h_delete },
	{ IMSG_SECRET_VERSIONS,	PERMIT_READY,	h_versions },
	{ IMSG_SECRET_ROLLBACK,	PERMIT_READY,	h_rollback },
	{ IMSG_TOKEN_CREATE,	PERMIT_READY,	h_token_create },
	{ IMSG_TOKEN_LIST,	PERMIT_READY,	h_token_list },
	{ IMSG_TOKEN_REVOKE,	PERMIT_READY,	h_token_revoke },
	{ IMSG_PING,		PERMIT_READY,	h_ping },
	{ IMSG_TOOL_LIST,	PERMIT_READY,	h_tool_list },
	{ IMSG_TOOL_GET,	PERMIT_READY,	h_tool_get },
	{ IMSG_TOOL_EXEC,	PERMIT_READY,	h_tool_exec },
	{ IMSG_WHOAMI,		PERMIT_READY,	h_whoami },
	{ IMSG_METRICS,		PERMIT_READY,	h_metrics },
};

static int
fd_allowed(uint32_t type)
{
	return type == IMSG_CONN_UNIX;
}

/* -1 with why filled: the front-end is to be killed for it. */
static int
dispatch(struct broker *b, struct ipc_reader *r, char *why, size_t whylen)
{
	struct req q;
	size_t i;
	int permit = b->fe_state == FE_NEW ? PERMIT_NEW : PERMIT_READY;

	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].type == r->hdr.type)
			break;
	if (i == sizeof(handlers) / sizeof(handlers[0])) {
		snprintf(why, whylen, "protocol violation: unknown message "
		    "type %u", r->hdr.type);
		return -1;
	}
	if ((handlers[i].permit & permit) == 0) {
		snprintf(why, whylen, "protocol violation: message type %u "
		    "not permitted now", r->hdr.type);
		return -1;
	}
	memset(&q, 0, sizeof(q));
	q.b = b;
	q.r = r;
	q.id = r->hdr.id;
	q.type = r->hdr.type;
	q.scope = -1;
	if (handlers[i].fn(&q) == -1) {
		snprintf(why, whylen, "protocol violation: malformed message "
		    "type %u", r->hdr.type);
		return -1;
	}
	return 0;
}

/*
 * Drain what the front-end sent: reads are answered as they come, writes
 * wait for one group commit at the end of the turn.
 */
void
broker_read(struct broker *b)
{
	struct ipc_reader *r;
	char why[96];
	int rv;

	while (b->chan_open && request_room()) {
		rv = ipc_chan_recv(&b->chan, fd_allowed, &r);
		if (rv == IPC_AGAIN)
			break;
		if (rv == IPC_EOF) {
			child_gone(b->fe_pid, HANGUP_EXIT_MS);
			fe_kill(b, b->stopping ? "stopped" :
			    "closed the channel");
			break;
		}
		if (rv == IPC_ERROR) {
			fe_kill(b, errno == EPROTO ? "malformed message" :
			    "channel error");
			break;
		}
		if (dispatch(b, r, why, sizeof(why)) == -1) {
			fe_kill(b, why);
			break;
		}
	}
	release_held(b);
	broker_flush(b);
	batch_commit(b);
	broker_flush(b);
}

void
broker_flush(struct broker *b)
{
	if (b->chan_open && ipc_chan_flush(&b->chan) == -1)
		fe_kill(b, "channel write failed");
}

