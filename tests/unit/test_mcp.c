/*
 * The MCP module on its own: revision negotiation, JSON-RPC messages,
 * the MCP tools a tool list becomes, the checks a tools/call passes
 * before anything is executed, and the results an execution becomes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcp.h"
#include "tap.h"

/* The shape GET /v1/tools answers (daemon/tools.c). */
static const char tools_text[] =
    "{\"tools\":["
    "{\"name\":\"custom-crm\",\"description\":\"CRM\",\"type\":\"http\","
    "\"allow\":\"members\",\"timeoutMs\":10000,\"actions\":["
    "{\"name\":\"lookup_customer\",\"description\":\"Find one\","
    "\"params\":[{\"name\":\"email\",\"type\":\"string\",\"required\":true,"
    "\"in\":\"path\"},{\"name\":\"limit\",\"type\":\"number\","
    "\"required\":false,\"in\":\"query\"},{\"name\":\"verbose\","
    "\"type\":\"boolean\",\"required\":false,\"in\":\"query\"}]},"
    "{\"name\":\"ping\",\"description\":\"\",\"params\":[]}],"
    "\"credentials\":[{\"slot\":\"apiKey\",\"defaultSecret\":\"CRM\"}]},"
    "{\"name\":\"gh\",\"description\":\"GitHub\",\"type\":\"exec\","
    "\"allow\":\"admins\",\"timeoutMs\":3000,\"actions\":["
    "{\"name\":\"whoami\",\"description\":\"Who\",\"params\":[]}],"
    "\"credentials\":[{\"slot\":\"token\",\"defaultSecret\":\"GH\"}]}],"
    "\"nextCursor\":null}";

static const struct mcp_server_info si = { "secretd", "1.2.3" };

static json_t *
load(const char *s)
{
	return json_loads(s, 0, NULL);
}

static int
json_eq_text(const json_t *j, const char *text)
{
	json_t *want = load(text);
	int eq = want != NULL && json_equal((json_t *)j, want);

	if (!eq) {
		char *got = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENCODE_ANY);

		printf("# got  %s\n# want %s\n", got ? got : "NULL", text);
		free(got);
	}
	json_decref(want);
	return eq;
}

static long
error_code(const json_t *reply)
{
	return (long)json_integer_value(json_object_get(json_object_get(reply,
	    "error"), "code"));
}

/* One message through a session; the reply, or NULL for no reply. */
static json_t *
step(struct mcp_session *s, const char *text, enum mcp_step *st,
    struct mcp_request *req, json_t **msg)
{
	json_t *reply = NULL;

	*msg = load(text);
	*st = mcp_step(s, &si, *msg, req, &reply);
	return reply;
}

static void
test_revisions(void)
{
	json_t *l;

	ok(mcp_rev_negotiate("2025-06-18") == MCP_2025_06_18 &&
	    mcp_rev_negotiate("2025-11-25") == MCP_2025_11_25 &&
	    mcp_rev_negotiate("2025-03-26") == MCP_2025_03_26 &&
	    mcp_rev_negotiate("2024-11-05") == MCP_2024_11_05,
	    "initialize answers each revision we speak with itself");
	ok(mcp_rev_negotiate("2099-01-01") == MCP_2025_11_25 &&
	    mcp_rev_negotiate("") == MCP_2025_11_25,
	    "an unknown revision is answered with our newest");
	ok(mcp_rev_negotiate("2026-07-28") == MCP_2025_11_25,
	    "initialize never answers 2026-07-28, which has no initialize");
	ok(mcp_rev_has_batches(MCP_2025_03_26) &&
	    !mcp_rev_has_batches(MCP_2025_06_18) &&
	    !mcp_rev_has_batches(MCP_2024_11_05),
	    "batches only in 2025-03-26");
	ok(!mcp_rev_has_structured(MCP_2025_03_26) &&
	    mcp_rev_has_structured(MCP_2025_06_18) &&
	    mcp_rev_has_structured(MCP_2026_07_28),
	    "structuredContent from 2025-06-18 on");
	l = mcp_rev_list();
	ok(json_eq_text(l, "[\"2026-07-28\",\"2025-11-25\",\"2025-06-18\","
	    "\"2025-03-26\",\"2024-11-05\"]"), "the revisions, newest first");
	json_decref(l);
}

static void
test_jsonrpc(void)
{
	struct jrpc_msg m;
	json_t *msg, *reply;
	static const char *const invalid[] = {
		"{\"id\":1,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}",
		"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\","
		    "\"params\":[1]}",
		"[]", "5", "\"x\"",
	};
	size_t i;

	msg = jrpc_parse("{\"jsonrpc\":", 11, &reply);
	ok(msg == NULL && json_eq_text(reply, "{\"jsonrpc\":\"2.0\","
	    "\"id\":null,\"error\":{\"code\":-32700,\"message\":"
	    "\"parse error: not JSON\"}}"), "broken JSON: -32700, id null");
	json_decref(reply);
	msg = jrpc_parse("{\"a\":1,\"a\":2}", 13, &reply);
	ok(msg == NULL && error_code(reply) == -32700,
	    "duplicate keys are refused as a parse error");
	json_decref(reply);

	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		msg = load(invalid[i]);
		ok(jrpc_classify(msg, &m, &reply) == JRPC_INVALID &&
		    error_code(reply) == -32600, "invalid request: %s",
		    invalid[i]);
		json_decref(reply);
		json_decref(msg);
	}
	msg = load("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"x\","
	    "\"params\":{}}");
	ok(jrpc_classify(msg, &m, &reply) == JRPC_REQUEST && reply == NULL &&
	    strcmp(m.method, "x") == 0 && json_is_string(m.id),
	    "a request with a string id");
	json_decref(msg);
	msg = load("{\"jsonrpc\":\"2.0\",\"method\":\"n\"}");
	ok(jrpc_classify(msg, &m, &reply) == JRPC_NOTIFICATION &&
	    m.id == NULL, "a notification has no id");
	json_decref(msg);
	msg = load("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}");
	ok(jrpc_classify(msg, &m, &reply) == JRPC_RESPONSE,
	    "a response is told apart");
	json_decref(msg);
	msg = load("[{\"jsonrpc\":\"2.0\",\"method\":\"n\"}]");
	ok(jrpc_classify(msg, &m, &reply) == JRPC_BATCH, "a batch");
	json_decref(msg);
	msg = json_integer(7);
	reply = jrpc_error(msg, -32601, "method not found",
	    json_pack("{s:s}", "method", "m"));
	json_decref(msg);
	ok(json_eq_text(reply, "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":"
	    "{\"code\":-32601,\"message\":\"method not found\",\"data\":"
	    "{\"method\":\"m\"}}}"), "an error object with data");
	json_decref(reply);
}

static void
test_session(void)
{
	struct mcp_session s;
	struct mcp_request req;
	enum mcp_step st;
	json_t *msg, *reply;

	memset(&s, 0, sizeof(s));
	reply = step(&s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"tools/list\"}", &st, &req, &msg);
	ok(st == MCP_STEP_REPLY && error_code(reply) == -32600,
	    "tools/list before initialize: invalid request");
	json_decref(reply);
	json_decref(msg);
	reply = step(&s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}",
	    &st, &req, &msg);
	ok(st == MCP_STEP_REPLY && json_eq_text(reply, "{\"jsonrpc\":\"2.0\","
	    "\"id\":2,\"result\":{}}"), "ping is answered before initialize");
	json_decref(reply);
	json_decref(msg);

	reply = step(&s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":"
	    "\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
	    "\"capabilities\":{},\"clientInfo\":{\"name\":\"claude-code\","
	    "\"version\":\"2\"}}}", &st, &req, &msg);
	ok(json_eq_text(reply, "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":"
	    "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":"
	    "{\"listChanged\":false}},\"serverInfo\":{\"name\":\"secretd\","
	    "\"version\":\"1.2.3\"}}}"), "initialize 2025-06-18");
	ok(s.rev == MCP_2025_06_18 && strcmp(s.client, "mcp:claude-code") ==
	    0, "the session keeps the revision and the client's name");
	json_decref(reply);
	json_decref(msg);
	reply = step(&s, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":"
	    "\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\"}}",
	    &st, &req, &msg);
	ok(error_code(reply) == -32600 && s.rev == MCP_2025_06_18,
	    "a second initialize is refused");
	json_decref(reply);
	json_decref(msg);
	reply = step(&s, "{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"notifications/initialized\"}", &st, &req, &msg);
	ok(st == MCP_STEP_NONE && reply == NULL && s.initialized,
	    "notifications/initialized: no reply");
	json_decref(msg);
	reply = step(&s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":"
	    "\"resources/list\"}", &st, &req, &msg);
	ok(error_code(reply) == -32601, "an unknown method: -32601");
	json_decref(reply);
	json_decref(msg);
	reply = step(&s, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":"
	    "\"tools/list\",\"params\":{\"cursor\":\"100\"}}", &st, &req,
	    &msg);
	ok(st == MCP_STEP_LIST && reply == NULL && strcmp(req.cursor, "100")
	    == 0 && req.rev == MCP_2025_06_18, "tools/list is the caller's");
	json_decref(msg);
	reply = step(&s, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":"
	    "\"tools/call\",\"params\":{\"name\":\"x\",\"arguments\":[]}}",
	    &st, &req, &msg);
	ok(error_code(reply) == -32602, "arguments not an object: -32602");
	json_decref(reply);
	json_decref(msg);
	reply = step(&s, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":"
	    "\"tools/call\",\"params\":{\"name\":\"a__b\"}}", &st, &req,
	    &msg);
	ok(st == MCP_STEP_CALL && strcmp(req.name, "a__b") == 0 &&
	    req.arguments == NULL, "tools/call is the caller's");
	json_decref(msg);

	memset(&s, 0, sizeof(s));
	reply = step(&s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"initialize\",\"params\":{\"protocolVersion\":\"2031-01-01\","
	    "\"clientInfo\":{\"name\":\"b\\nad\\u00e9\"}}}", &st, &req,
	    &msg);
	ok(strcmp(json_string_value(json_object_get(json_object_get(reply,
	    "result"), "protocolVersion")), "2025-11-25") == 0,
	    "initialize with an unknown revision answers 2025-11-25");
	ok(strcmp(s.client, "mcp:b?ad??") == 0,
	    "the client's name is cut to printable ASCII");
	json_decref(reply);
	json_decref(msg);
}

static void
test_stateless(void)
{
	struct mcp_session s;
	struct mcp_request req;
	enum mcp_step st;
	json_t *msg, *reply;

	memset(&s, 0, sizeof(s));
	reply = step(&s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"server/discover\",\"params\":{\"_meta\":{"
	    "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}}}",
	    &st, &req, &msg);
	ok(json_eq_text(reply, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{"
	    "\"resultType\":\"complete\",\"supportedVersions\":["
	    "\"2026-07-28\",\"2025-11-25\",\"2025-06-18\",\"2025-03-26\","
	    "\"2024-11-05\"],\"capabilities\":{\"tools\":{\"listChanged\":"
	    "false}},\"serverInfo\":{\"name\":\"secretd\",\"version\":"
	    "\"1.2.3\"}}}"), "server/discover");
	json_decref(reply);
	json_decref(msg);
	reply = step(&s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
	    "\"tools/list\",\"params\":{\"_meta\":{"
	    "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
	    "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"new\"}}}}",
	    &st, &req, &msg);
	ok(st == MCP_STEP_LIST && req.rev == MCP_2026_07_28 &&
	    s.rev == MCP_REV_NONE && strcmp(s.client, "mcp:new") == 0,
	    "a 2026-07-28 request needs no initialize");
	json_decref(msg);
	reply = step(&s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":"
	    "\"tools/list\",\"params\":{\"_meta\":{"
	    "\"io.modelcontextprotocol/protocolVersion\":\"2030-01-01\"}}}",
	    &st, &req, &msg);
	ok(json_eq_text(reply, "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{"
	    "\"code\":-32022,\"message\":\"unsupported protocol version\","
	    "\"data\":{\"supported\":[\"2026-07-28\"],\"requested\":"
	    "\"2030-01-01\"}}}"), "an unknown per-request revision: -32022");
	json_decref(reply);
	json_decref(msg);
	reply = step(&s, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\","
	    "\"params\":{\"_meta\":{"
	    "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}}}",
	    &st, &req, &msg);
	ok(error_code(reply) == -32601, "2026-07-28 has no ping");
	json_decref(reply);
	json_decref(msg);
}

static void
test_tools(void)
{
	struct mcp_request req = { .rev = MCP_2025_06_18 };
	const char *only[] = { "gh" }, *bad[] = { "gh", "nope" };
	struct mcp_filter f = { only, 1 }, fb = { bad, 2 };
	json_t *tl = load(tools_text), *t, *r;

	t = mcp_tools_from_list(tl, NULL);
	ok(json_array_size(t) == 3, "one MCP tool per tool action");
	ok(json_eq_text(json_array_get(t, 0), "{\"name\":"
	    "\"custom-crm__lookup_customer\",\"title\":"
	    "\"custom-crm lookup_customer\",\"description\":\"CRM: Find one\","
	    "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"email\":{"
	    "\"type\":\"string\"},\"limit\":{\"type\":\"number\"},\"verbose\":"
	    "{\"type\":\"boolean\"}},\"required\":[\"email\"],"
	    "\"additionalProperties\":false}}"),
	    "name, description and input schema from the declared params");
	ok(json_eq_text(json_array_get(t, 1), "{\"name\":"
	    "\"custom-crm__ping\",\"title\":\"custom-crm ping\","
	    "\"description\":\"CRM\",\"inputSchema\":{\"type\":\"object\","
	    "\"properties\":{},\"additionalProperties\":false}}"),
	    "an action without params takes an empty object");
	json_decref(t);
	t = mcp_tools_from_list(tl, &f);
	ok(json_array_size(t) == 1 && strcmp(json_string_value(
	    json_object_get(json_array_get(t, 0), "name")), "gh__whoami") ==
	    0, "the filter keeps the named tools only");
	json_decref(t);
	ok(strcmp(mcp_filter_missing(tl, &f), "") == 0 &&
	    strcmp(mcp_filter_missing(tl, &fb), "nope") == 0,
	    "a filtered name the list lacks is named");
	r = load("{\"tools\":5}");
	ok(mcp_tools_from_list(r, NULL) == NULL, "not a tool list: NULL");
	json_decref(r);

	req.id = json_integer(9);
	r = mcp_list_reply(&req, tl, NULL);
	t = json_object_get(json_object_get(r, "result"), "tools");
	ok(json_array_size(t) == 3 && json_object_get(json_object_get(r,
	    "result"), "nextCursor") == NULL, "tools/list: one page, no cursor");
	json_decref(r);
	req.rev = MCP_2025_03_26;
	r = mcp_list_reply(&req, tl, NULL);
	t = json_object_get(json_object_get(r, "result"), "tools");
	ok(json_object_get(json_array_get(t, 0), "title") == NULL,
	    "no title before 2025-06-18");
	json_decref(r);
	req.cursor = "7";
	r = mcp_list_reply(&req, tl, NULL);
	ok(error_code(r) == -32602, "an unknown cursor: -32602");
	json_decref(r);
	json_decref(req.id);
	json_decref(tl);
}

static void
test_paging(void)
{
	struct mcp_request req = { .rev = MCP_2025_11_25 };
	json_t *tl, *acts, *r, *res;
	char name[32];
	int i;

	acts = json_array();
	for (i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "a%02d", i);
		json_array_append_new(acts, json_pack("{s:s,s:s,s:[]}", "name",
		    name, "description", "", "params"));
	}
	tl = json_pack("{s:[]}", "tools");
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		json_array_append_new(json_object_get(tl, "tools"), json_pack(
		    "{s:s,s:s,s:O,s:[]}", "name", name, "description", "",
		    "actions", acts, "credentials"));
	}
	req.id = json_integer(1);
	r = mcp_list_reply(&req, tl, NULL);
	res = json_object_get(r, "result");
	ok(json_array_size(json_object_get(res, "tools")) == MCP_PAGE_SIZE &&
	    strcmp(json_string_value(json_object_get(res, "nextCursor")),
	    "100") == 0, "128 tools: a first page of 100 and a cursor");
	json_decref(r);
	req.cursor = "100";
	r = mcp_list_reply(&req, tl, NULL);
	res = json_object_get(r, "result");
	ok(json_array_size(json_object_get(res, "tools")) == 28 &&
	    json_object_get(res, "nextCursor") == NULL &&
	    strcmp(json_string_value(json_object_get(json_array_get(
	    json_object_get(res, "tools"), 0), "name")), "t6__a04") == 0,
	    "the last page follows on");
	json_decref(r);
	json_decref(req.id);
	json_decref(tl);
	json_decref(acts);
}

static void
test_names(void)
{
	struct mcp_request req = { .rev = MCP_2025_06_18 };
	struct mcp_call c;
	char tool[65], action[65];
	json_t *tl, *t, *reply;

	/* "a" "b__c" and "a__b" "c" are both a__b__c: the first is kept */
	tl = load("{\"tools\":[{\"name\":\"a\",\"description\":\"first\","
	    "\"actions\":[{\"name\":\"b__c\",\"description\":\"\","
	    "\"params\":[]}],\"credentials\":[]},{\"name\":\"a__b\","
	    "\"description\":\"second\",\"actions\":[{\"name\":\"c\","
	    "\"description\":\"\",\"params\":[]}],\"credentials\":[]}]}");
	t = mcp_tools_from_list(tl, NULL);
	ok(json_array_size(t) == 1 && strcmp(json_string_value(json_object_get(
	    json_array_get(t, 0), "description")), "first") == 0,
	    "two tool actions with one MCP name: the first only is offered");
	json_decref(t);
	req.id = json_integer(1);
	req.name = "a__b__c";
	ok(mcp_call_to_execute(&req, tl, NULL, NULL, &c, &reply) == 0 &&
	    strcmp(c.tool, "a") == 0 && strcmp(c.action, "b__c") == 0,
	    "and a call of that name runs the one listed");
	mcp_call_clear(&c);
	json_decref(tl);

	memset(tool, 't', 64);
	tool[64] = '\0';
	memset(action, 'a', 64);
	action[64] = '\0';
	tl = json_pack("{s:[{s:s,s:s,s:[{s:s,s:s,s:[]},{s:s,s:s,s:[]}],"
	    "s:[]}]}", "tools", "name", tool, "description", "", "actions",
	    "name", action, "description", "", "params", "name", action + 2,
	    "description", "", "params", "credentials");
	t = mcp_tools_from_list(tl, NULL);
	ok(json_array_size(t) == 1 && json_string_length(json_object_get(
	    json_array_get(t, 0), "name")) == 128,
	    "a name over 128 characters is not offered; one of 128 is");
	json_decref(t);
	json_decref(tl);
	json_decref(req.id);
}

static void
call(const json_t *tl, const char *name, const char *args,
    const json_t *ov, struct mcp_call *c, json_t **reply, int *rc)
{
	struct mcp_request req = { .rev = MCP_2025_06_18 };
	json_t *a = args != NULL ? load(args) : NULL;

	req.id = json_integer(1);
	req.name = name;
	req.arguments = a;
	*rc = mcp_call_to_execute(&req, tl, NULL, ov, c, reply);
	json_decref(a);
	json_decref(req.id);
}

static void
test_calls(void)
{
	static const char *const refused[] = {
		"{\"email\":5}",
		"{\"email\":\"a\",\"limit\":\"5\"}",
		"{\"email\":\"a\",\"verbose\":1}",
		"{\"email\":\"a\",\"other\":true}",
		"{\"limit\":1}",
		"{\"email\":null}",
		"{\"email\":[\"a\"]}",
		"{\"email\":\"a\\u0000b\"}",
	};
	struct mcp_call c;
	json_t *tl = load(tools_text), *reply, *ov;
	char *big;
	size_t i;
	int rc;

	ov = load("{\"apiKey\":{\"name\":\"OTHER\",\"orgWide\":true},"
	    "\"nope\":\"X\"}");
	call(tl, "custom-crm__lookup_customer", "{\"email\":\"a@b\","
	    "\"limit\":2.5,\"verbose\":true}", ov, &c, &reply, &rc);
	ok(rc == 0 && reply == NULL && strcmp(c.tool, "custom-crm") == 0 &&
	    strcmp(c.action, "lookup_customer") == 0 && c.timeout_ms == 10000,
	    "a call names its tool and action");
	ok(json_eq_text(c.body, "{\"action\":\"lookup_customer\",\"params\":"
	    "{\"email\":\"a@b\",\"limit\":2.5,\"verbose\":true},"
	    "\"credentialOverrides\":{\"apiKey\":{\"name\":\"OTHER\","
	    "\"orgWide\":true}}}"),
	    "the execute body, with the overrides of the tool's own slots");
	mcp_call_clear(&c);
	call(tl, "custom-crm__ping", NULL, NULL, &c, &reply, &rc);
	ok(rc == 0 && json_eq_text(c.body, "{\"action\":\"ping\","
	    "\"params\":{}}"), "no arguments: empty params, no overrides");
	mcp_call_clear(&c);

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		call(tl, "custom-crm__lookup_customer", refused[i], NULL, &c,
		    &reply, &rc);
		ok(rc == -1 && error_code(reply) == -32602 && c.body == NULL,
		    "refused before execution: %s", refused[i]);
		json_decref(reply);
	}
	call(tl, "custom-crm__lookup_customer", NULL, NULL, &c, &reply, &rc);
	ok(rc == -1 && strcmp(json_string_value(json_object_get(
	    json_object_get(reply, "error"), "message")), "arguments.email: "
	    "required") == 0, "a missing required parameter is named");
	json_decref(reply);
	big = malloc(4200);
	memset(big, 'x', 4200);
	memcpy(big, "{\"email\":\"", 10);
	memcpy(big + 10 + 4097, "\"}", 3);	/* 4097 bytes */
	call(tl, "custom-crm__lookup_customer", big, NULL, &c, &reply, &rc);
	ok(rc == -1 && error_code(reply) == -32602,
	    "a string over 4096 bytes is refused");
	json_decref(reply);
	free(big);
	call(tl, "custom-crm__nope", "{}", NULL, &c, &reply, &rc);
	ok(rc == -1 && error_code(reply) == -32602, "an unknown tool: -32602");
	json_decref(reply);
	call(tl, "custom-crm", "{}", NULL, &c, &reply, &rc);
	ok(rc == -1 && error_code(reply) == -32602, "a bare tool name: -32602");
	json_decref(reply);
	json_decref(ov);
	json_decref(tl);
}

static void
test_results(void)
{
	json_t *r, *reply;

	reply = load("{\"tool\":\"t\",\"action\":\"a\",\"ok\":true,"
	    "\"result\":{\"auth\":\"[REDACTED:apiKey]\"},\"status\":200}");
	r = mcp_result_from_execute(MCP_2025_06_18, 200, reply);
	ok(json_eq_text(r, "{\"content\":[{\"type\":\"text\",\"text\":"
	    "\"{\\\"auth\\\":\\\"[REDACTED:apiKey]\\\"}\"}],\"isError\":false,"
	    "\"structuredContent\":{\"auth\":\"[REDACTED:apiKey]\"}}"),
	    "a JSON object: text and structuredContent");
	json_decref(r);
	r = mcp_result_from_execute(MCP_2025_03_26, 200, reply);
	ok(json_object_get(r, "structuredContent") == NULL &&
	    json_object_size(r) == 2, "no structuredContent before 2025-06-18");
	json_decref(r);
	json_decref(reply);

	reply = load("{\"ok\":true,\"result\":\"plain text\",\"exitCode\":0}");
	r = mcp_result_from_execute(MCP_2025_11_25, 200, reply);
	ok(json_eq_text(r, "{\"content\":[{\"type\":\"text\",\"text\":"
	    "\"plain text\"}],\"isError\":false}"), "text stays text");
	json_decref(r);
	json_decref(reply);
	reply = load("{\"ok\":true,\"result\":[1,2]}");
	r = mcp_result_from_execute(MCP_2025_11_25, 200, reply);
	ok(json_eq_text(r, "{\"content\":[{\"type\":\"text\",\"text\":"
	    "\"[1,2]\"}],\"isError\":false}"),
	    "a JSON array: text only, structuredContent is an object");
	json_decref(r);
	json_decref(reply);
	reply = load("{\"ok\":false,\"result\":\"boom\",\"exitCode\":3}");
	r = mcp_result_from_execute(MCP_2025_11_25, 200, reply);
	ok(json_eq_text(r, "{\"content\":[{\"type\":\"text\",\"text\":"
	    "\"the tool failed (exit code 3): boom\"}],\"isError\":true}"),
	    "the tool ran and failed: isError");
	json_decref(r);
	json_decref(reply);

	reply = load("{\"error\":{\"code\":\"upstream_timeout\",\"message\":"
	    "\"the tool timed out\",\"requestId\":\"r\"}}");
	r = mcp_result_from_execute(MCP_2025_11_25, 504, reply);
	ok(json_eq_text(r, "{\"content\":[{\"type\":\"text\",\"text\":"
	    "\"the tool timed out (HTTP 504, upstream_timeout)\"}],"
	    "\"isError\":true}"), "504: the daemon's message, isError");
	json_decref(r);
	ok((r = mcp_result_from_execute(MCP_2025_11_25, 404, reply)) != NULL &&
	    json_is_true(json_object_get(r, "isError")), "404: isError");
	json_decref(r);
	ok(mcp_result_from_execute(MCP_2025_11_25, 401, reply) == NULL &&
	    mcp_result_from_execute(MCP_2025_11_25, 500, reply) == NULL,
	    "401 and 500 are no part of the call");
	json_decref(reply);
	{
		struct mcp_request req = { .rev = MCP_2026_07_28 };

		req.id = json_string("x");
		reply = load("{\"ok\":true,\"result\":\"t\"}");
		r = mcp_call_reply(&req, 200, reply);
		ok(json_eq_text(r, "{\"jsonrpc\":\"2.0\",\"id\":\"x\","
		    "\"result\":{\"content\":[{\"type\":\"text\",\"text\":"
		    "\"t\"}],\"isError\":false,\"resultType\":\"complete\"}}"),
		    "2026-07-28 results say resultType complete");
		json_decref(r);
		r = mcp_call_reply(&req, 500, NULL);
		ok(error_code(r) == -32603, "500: an internal error");
		json_decref(r);
		json_decref(reply);
		json_decref(req.id);
	}
}

int
main(void)
{
	test_revisions();
	test_jsonrpc();
	test_session();
	test_stateless();
	test_tools();
	test_paging();
	test_names();
	test_calls();
	test_results();
	return done_testing();
}
