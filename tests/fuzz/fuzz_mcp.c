/*
 * Fuzz target "mcp": what an MCP client sends (common/mcp.c).  Each line
 * of the input is one message to one session, as runtools mcp reads
 * them; tools/list and tools/call are answered from a fixed tool list,
 * and a call's own arguments stand in for the daemon's answer.  Every
 * reply must be one JSON-RPC 2.0 response with an id and exactly one of
 * result and error, on one line; an accepted call must name an offered
 * tool action, with only parameters its schema declares.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcp.h"
#include "fuzz.h"

static const char tools_text[] =
    "{\"tools\":["
    "{\"name\":\"crm\",\"description\":\"CRM\",\"type\":\"http\","
    "\"timeoutMs\":10000,\"actions\":["
    "{\"name\":\"lookup\",\"description\":\"Find\",\"params\":["
    "{\"name\":\"email\",\"type\":\"string\",\"required\":true},"
    "{\"name\":\"n\",\"type\":\"number\",\"required\":false},"
    "{\"name\":\"b\",\"type\":\"boolean\",\"required\":false}]},"
    "{\"name\":\"x__y\",\"description\":\"\",\"params\":[]}],"
    "\"credentials\":[{\"slot\":\"apiKey\",\"defaultSecret\":\"K\"}]},"
    "{\"name\":\"crm__x\",\"description\":\"\",\"actions\":["
    "{\"name\":\"y\",\"description\":\"\",\"params\":[]}],"
    "\"credentials\":[]}]}";

static const struct mcp_server_info si = { "secretd", "0" };

static void
check_reply(json_t *r)
{
	json_t *one;
	size_t i;
	char *text;

	if (r == NULL)
		return;
	if (json_is_array(r)) {
		json_array_foreach(r, i, one)
			check_reply(one);
		return;
	}
	if (!json_is_object(r) || strcmp(json_string_value(json_object_get(r,
	    "jsonrpc")), "2.0") != 0 || json_object_get(r, "id") == NULL ||
	    (json_object_get(r, "result") != NULL) ==
	    (json_object_get(r, "error") != NULL))
		abort();
	if ((text = json_dumps(r, JSON_COMPACT)) == NULL ||
	    strchr(text, '\n') != NULL)
		abort();
	free(text);
}

static void
check_call(const struct mcp_call *c)
{
	json_t *params = json_object_get(c->body, "params");
	const char *k;
	json_t *v;

	if (strcmp(json_string_value(json_object_get(c->body, "action")),
	    c->action) != 0 || !json_is_object(params))
		abort();
	if (strcmp(c->tool, "crm") == 0 && strcmp(c->action, "lookup") == 0) {
		if (!json_is_string(json_object_get(params, "email")))
			abort();
		json_object_foreach(params, k, v)
			if (strcmp(k, "email") != 0 && strcmp(k, "n") != 0 &&
			    strcmp(k, "b") != 0)
				abort();
	} else if (json_object_size(params) != 0)
		abort();
}

static json_t *
serve(struct mcp_session *s, const json_t *tools, const json_t *ov,
    json_t *msg)
{
	static const long statuses[] = { 200, 404, 504, 401, 500 };
	struct mcp_request req;
	struct mcp_call call;
	json_t *reply = NULL;
	size_t i;

	switch (mcp_step(s, &si, msg, &req, &reply)) {
	case MCP_STEP_NONE:
	case MCP_STEP_REPLY:
		return reply;
	case MCP_STEP_LIST:
		return mcp_list_reply(&req, tools, NULL);
	case MCP_STEP_CALL:
		break;
	}
	if (mcp_call_to_execute(&req, tools, NULL, ov, &call, &reply) == -1)
		return reply;
	check_call(&call);
	mcp_call_clear(&call);
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		reply = mcp_call_reply(&req, statuses[i], req.arguments);
		check_reply(reply);
		json_decref(reply);
	}
	return mcp_call_reply(&req, 200, req.arguments);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t *tools, *ov;
	struct mcp_session s;
	struct jrpc_msg m;
	const char *p = (const char *)data, *end = p + size, *nl;
	json_t *msg, *reply, *batch, *one;
	size_t i;

	if (tools == NULL) {
		tools = json_loads(tools_text, 0, NULL);
		ov = json_pack("{s:s,s:s}", "apiKey", "OTHER", "nope", "X");
	}
	memset(&s, 0, sizeof(s));
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((msg = jrpc_parse(p, (size_t)(nl - p), &reply)) != NULL) {
			if (jrpc_classify(msg, &m, &reply) == JRPC_BATCH) {
				batch = json_array();
				json_array_foreach(msg, i, one)
					json_array_append_new(batch,
					    serve(&s, tools, ov, one));
				reply = batch;
			} else if (m.kind != JRPC_INVALID)
				reply = serve(&s, tools, ov, msg);
			json_decref(msg);
		}
		check_reply(reply);
		json_decref(reply);
	}
	return 0;
}
