/*
 * Fuzz target "runmsg": the tool messages, as either side receives them
 * from a peer that may be hostile: broker <-> runner, and the front-end's
 * tool requests and the broker's answer to an execution.  The first byte
 * picks the decoder, the rest is the message body behind a correct
 * header.  A message a decoder takes
 * must encode back to the very same bytes, and its tool must pass
 * tool_check().
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "fuzz.h"

#define DECODERS	7

static struct run_request rq;
static struct tool t;
static struct tool_exec_req xr;
static struct tool_exec_reply xp;

/* The decoded message, encoded again, must be the input. */
static void
same_bytes(struct ipc_msg *m, const uint8_t *body, size_t n)
{
	if (ipc_msg_finish(m) == -1 || m->len != IPC_HDR_LEN + n ||
	    memcmp(m->buf + IPC_HDR_LEN, body, n) != 0)
		abort();
	ipc_msg_free(m);
}

static void
one(uint8_t which, const uint8_t *body, size_t n, const uint8_t *msg,
    size_t len)
{
	struct tool_list_req lr;
	struct tool_get_req gr;
	struct run_result rs;
	struct ipc_reader r;
	struct ipc_msg m;
	char err[256];

	if (ipc_parse(msg, len, &r) == -1)
		abort();
	switch (which % DECODERS) {
	case 0:
		if (tool_get(&r, &t) == -1 || ipc_end(&r) == -1)
			return;
		if (tool_check(&t, err, sizeof(err)) != 0)
			abort();
		ipc_msg_init(&m, IMSG_RUN_EXEC, 1);
		tool_put(&m, &t);
		break;
	case 1:
		if (run_request_get(&r, &rq) == -1)
			return;
		if (tool_check(&rq.tool, err, sizeof(err)) != 0 ||
		    run_request_check(&rq, err, sizeof(err)) != 0)
			abort();
		ipc_msg_init(&m, IMSG_RUN_EXEC, 1);
		run_request_put(&m, &rq);
		break;
	case 3:
		if (tool_list_req_get(&r, &lr) == -1)
			return;
		ipc_msg_init(&m, IMSG_TOOL_LIST, 1);
		tool_list_req_put(&m, &lr);
		break;
	case 4:
		if (tool_get_req_get(&r, &gr) == -1)
			return;
		ipc_msg_init(&m, IMSG_TOOL_GET, 1);
		tool_get_req_put(&m, &gr);
		break;
	case 5:
		if (tool_exec_req_get(&r, &xr) == -1)
			return;
		if (xr.nparams > TOOL_PARAMS_MAX ||
		    xr.noverrides > TOOL_SLOTS_MAX)
			abort();
		ipc_msg_init(&m, IMSG_TOOL_EXEC, 1);
		tool_exec_req_put(&m, &xr);
		break;
	case 6:
		if (tool_exec_reply_get(&r, &xp) == -1)
			return;
		if (xp.res.outcome != RUN_OK || xp.ncreds > TOOL_SLOTS_MAX)
			abort();
		ipc_msg_init(&m, IMSG_REPLY, 1);
		tool_exec_reply_put(&m, &xp);
		break;
	default:
		if (run_result_get(&r, &rs) == -1)
			return;
		if (rs.result_len > TOOL_RESULT_MAX ||
		    rs.stderr_len > TOOL_STDERR_MAX ||
		    memchr(rs.message, '\0', sizeof(rs.message)) == NULL)
			abort();
		ipc_msg_init(&m, IMSG_RUN_RESULT, 1);
		run_result_put(&m, &rs);
		break;
	}
	same_bytes(&m, body, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_hdr h;
	uint8_t *msg;
	size_t len;

	if (size < 1 || size - 1 > IPC_MAX_MSG - IPC_HDR_LEN)
		return 0;
	len = IPC_HDR_LEN + size - 1;
	if ((msg = malloc(len)) == NULL)
		return 0;
	memset(&h, 0, sizeof(h));
	h.type = data[0] % DECODERS == 2 ? IMSG_RUN_RESULT : IMSG_RUN_EXEC;
	h.len = (uint32_t)len;
	h.id = 1;
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + IPC_HDR_LEN, data + 1, size - 1);
	one(data[0], msg + IPC_HDR_LEN, size - 1, msg, len);
	free(msg);
	return 0;
}
