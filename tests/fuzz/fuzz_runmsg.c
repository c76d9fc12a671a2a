/*
 * Fuzz target "runmsg": the broker <-> runner messages, as either side
 * receives them from a peer that may be hostile.  The first byte picks
 * the decoder (tool_get, run_request_get, run_result_get), the rest is
 * the message body behind a correct header.  A message a decoder takes
 * must encode back to the very same bytes, and its tool must pass
 * tool_check().
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "fuzz.h"

static struct run_request rq;
static struct tool t;

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
	struct run_result rs;
	struct ipc_reader r;
	struct ipc_msg m;
	char err[256];

	if (ipc_parse(msg, len, &r) == -1)
		abort();
	switch (which % 3) {
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
	h.type = data[0] % 3 == 2 ? IMSG_RUN_RESULT : IMSG_RUN_EXEC;
	h.len = (uint32_t)len;
	h.id = 1;
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + IPC_HDR_LEN, data + 1, size - 1);
	one(data[0], msg + IPC_HDR_LEN, size - 1, msg, len);
	free(msg);
	return 0;
}
