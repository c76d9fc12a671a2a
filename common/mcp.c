/*
 * The Model Context Protocol over our tools, as pure functions on jansson
 * values.  Everything a client sends is checked here against what the
 * tool list declares, so a malformed or schema-violating call is answered
 * with a JSON-RPC error and never reaches the daemon.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"

#define META_VERSION	"io.modelcontextprotocol/protocolVersion"
#define META_CLIENT	"io.modelcontextprotocol/clientInfo"

static const char *const rev_names[] = {
	[MCP_2024_11_05] = "2024-11-05",
	[MCP_2025_03_26] = "2025-03-26",
	[MCP_2025_06_18] = "2025-06-18",
	[MCP_2025_11_25] = "2025-11-25",
	[MCP_2026_07_28] = "2026-07-28",
};

const char *
mcp_rev_name(enum mcp_rev r)
{
	if (r <= MCP_REV_NONE || r > MCP_REV_NEWEST)
		return "";
	return rev_names[r];
}

enum mcp_rev
mcp_rev_parse(const char *s)
{
	int r;

	if (s == NULL)
		return MCP_REV_NONE;
	for (r = MCP_2024_11_05; r <= MCP_REV_NEWEST; r++)
		if (strcmp(s, rev_names[r]) == 0)
			return r;
	return MCP_REV_NONE;
}

enum mcp_rev
mcp_rev_negotiate(const char *requested)
{
	enum mcp_rev r = mcp_rev_parse(requested);

	if (r == MCP_REV_NONE || mcp_rev_is_stateless(r))
		return MCP_REV_NEWEST_INIT;
	return r;
}

/* 2025-03-26 added JSON-RPC batches and 2025-06-18 removed them. */
int
mcp_rev_has_batches(enum mcp_rev r)
{
	return r == MCP_2025_03_26;
}

int
mcp_rev_has_structured(enum mcp_rev r)
{
	return r >= MCP_2025_06_18;
}

int
mcp_rev_is_stateless(enum mcp_rev r)
{
	return r >= MCP_2026_07_28;
}

json_t *
mcp_rev_list(void)
{
	json_t *a;
	int r;

	if ((a = json_array()) == NULL)
		return NULL;
	for (r = MCP_REV_NEWEST; r >= MCP_2024_11_05; r--)
		json_array_append_new(a, json_string(rev_names[r]));
	return a;
}

json_t *
jrpc_result(json_t *id, json_t *result)
{
	return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id",
	    id != NULL ? id : json_null(), "result", result);
}

json_t *
jrpc_error(json_t *id, int code, const char *message, json_t *data)
{
	json_t *e;

	e = json_pack("{s:i,s:s}", "code", code, "message", message);
	if (e != NULL && data != NULL)
		json_object_set(e, "data", data);
	json_decref(data);
	return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id",
	    id != NULL ? id : json_null(), "error", e);
}

json_t *
jrpc_parse(const char *text, size_t len, json_t **reply)
{
	json_error_t je;
	json_t *m;

	*reply = NULL;
	if ((m = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) != NULL)
		return m;
	*reply = jrpc_error(NULL, JRPC_PARSE_ERROR, "parse error: not JSON",
	    NULL);
	return NULL;
}

/* JSON-RPC ids are strings or numbers; MCP also forbids null. */
static int
jrpc_valid_id(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id);
}

enum jrpc_kind
jrpc_classify(json_t *m, struct jrpc_msg *out, json_t **reply)
{
	json_t *v, *id, *method, *params;

	memset(out, 0, sizeof(*out));
	*reply = NULL;
	if (json_is_array(m)) {
		if (json_array_size(m) > 0)
			return out->kind = JRPC_BATCH;
		*reply = jrpc_error(NULL, JRPC_INVALID_REQUEST,
		    "invalid request: an empty batch", NULL);
		return out->kind = JRPC_INVALID;
	}
	id = json_object_get(m, "id");
	v = json_object_get(m, "jsonrpc");
	if (!json_is_object(m) || !json_is_string(v) ||
	    strcmp(json_string_value(v), "2.0") != 0) {
		*reply = jrpc_error(jrpc_valid_id(id) ? id : NULL,
		    JRPC_INVALID_REQUEST, "invalid request: not a JSON-RPC "
		    "2.0 message", NULL);
		return out->kind = JRPC_INVALID;
	}
	method = json_object_get(m, "method");
	params = json_object_get(m, "params");
	if (method == NULL && id != NULL && (json_object_get(m,
	    "result") != NULL || json_object_get(m, "error") != NULL)) {
		out->id = id;
		return out->kind = JRPC_RESPONSE;
	}
	if (!json_is_string(method) || (id != NULL && !jrpc_valid_id(id)) ||
	    (params != NULL && !json_is_object(params))) {
		*reply = jrpc_error(jrpc_valid_id(id) ? id : NULL,
		    JRPC_INVALID_REQUEST, "invalid request: method must be "
		    "a string, id a string or integer, params an object",
		    NULL);
		return out->kind = JRPC_INVALID;
	}
	out->id = id;
	out->method = json_string_value(method);
	out->params = params;
	return out->kind = id != NULL ? JRPC_REQUEST : JRPC_NOTIFICATION;
}

json_t *
mcp_reply(const struct mcp_request *req, json_t *result)
{
	if (result != NULL && mcp_rev_is_stateless(req->rev))
		json_object_set_new(result, "resultType",
		    json_string("complete"));
	return jrpc_result(req->id, result);
}

static json_t *
capabilities(void)
{
	return json_pack("{s:{s:b}}", "tools", "listChanged", 0);
}

static json_t *
server_info(const struct mcp_server_info *si)
{
	return json_pack("{s:s,s:s}", "name", si->name, "version",
	    si->version);
}

/* "mcp:" and clientInfo.name, printable ASCII, cut to the header's 64. */
static void
client_label(struct mcp_session *s, const json_t *client_info)
{
	const char *name = json_string_value(json_object_get(client_info,
	    "name"));
	size_t i, n;

	n = (size_t)snprintf(s->client, sizeof(s->client), "mcp:%s",
	    name != NULL && *name != '\0' ? name : "unknown");
	if (n >= sizeof(s->client))
		n = sizeof(s->client) - 1;
	for (i = 0; i < n; i++)
		if (s->client[i] < 0x20 || s->client[i] > 0x7e)
			s->client[i] = '?';
}

static enum mcp_step
step_initialize(struct mcp_session *s, const struct mcp_server_info *si,
    struct mcp_request *req, json_t *params, json_t **reply)
{
	json_t *v = json_object_get(params, "protocolVersion");

	if (!json_is_string(v)) {
		*reply = jrpc_error(req->id, JRPC_INVALID_PARAMS, "invalid "
		    "params: initialize needs a protocolVersion string",
		    NULL);
		return MCP_STEP_REPLY;
	}
	if (s->rev != MCP_REV_NONE) {
		*reply = jrpc_error(req->id, JRPC_INVALID_REQUEST,
		    "invalid request: already initialized", NULL);
		return MCP_STEP_REPLY;
	}
	s->rev = req->rev = mcp_rev_negotiate(json_string_value(v));
	client_label(s, json_object_get(params, "clientInfo"));
	*reply = mcp_reply(req, json_pack("{s:s,s:o,s:o}", "protocolVersion",
	    mcp_rev_name(s->rev), "capabilities", capabilities(),
	    "serverInfo", server_info(si)));
	return MCP_STEP_REPLY;
}

static json_t *
discover_result(const struct mcp_server_info *si)
{
	return json_pack("{s:o,s:o,s:o}", "supportedVersions", mcp_rev_list(),
	    "capabilities", capabilities(), "serverInfo", server_info(si));
}

/*
 * The revision a request speaks: the one its _meta names (2026-07-28
 * requests carry it, and need no initialize), else the session's.
 */
static int
request_rev(struct mcp_session *s, const struct jrpc_msg *m,
    struct mcp_request *req, json_t **reply)
{
	json_t *meta = json_object_get(m->params, "_meta");
	json_t *v = json_object_get(meta, META_VERSION);
	enum mcp_rev r;

	if (v == NULL) {
		req->rev = s->rev;
		return 0;
	}
	r = mcp_rev_parse(json_string_value(v));
	if (!mcp_rev_is_stateless(r)) {
		*reply = jrpc_error(req->id, MCP_UNSUPPORTED_VERSION,
		    "unsupported protocol version", json_pack("{s:[s],s:O}",
		    "supported", mcp_rev_name(MCP_REV_NEWEST), "requested",
		    v));
		return -1;
	}
	req->rev = r;
	if ((v = json_object_get(meta, META_CLIENT)) != NULL)
		client_label(s, v);
	return 0;
}

static enum mcp_step
step_request(struct mcp_session *s, const struct mcp_server_info *si,
    const struct jrpc_msg *m, struct mcp_request *req, json_t **reply)
{
	json_t *v;

	if (strcmp(m->method, "initialize") == 0)
		return step_initialize(s, si, req, m->params, reply);
	if (request_rev(s, m, req, reply) == -1)
		return MCP_STEP_REPLY;
	if (strcmp(m->method, "server/discover") == 0) {
		*reply = mcp_reply(req, discover_result(si));
		return MCP_STEP_REPLY;
	}
	/* 2026-07-28 removed ping; earlier clients may ping at any time. */
	if (strcmp(m->method, "ping") == 0 && !mcp_rev_is_stateless(req->rev)) {
		*reply = jrpc_result(req->id, json_object());
		return MCP_STEP_REPLY;
	}
	if (strcmp(m->method, "tools/list") != 0 &&
	    strcmp(m->method, "tools/call") != 0) {
		*reply = jrpc_error(req->id, JRPC_METHOD_NOT_FOUND,
		    "method not found", json_pack("{s:s}", "method",
		    m->method));
		return MCP_STEP_REPLY;
	}
	if (req->rev == MCP_REV_NONE) {
		*reply = jrpc_error(req->id, JRPC_INVALID_REQUEST, "invalid "
		    "request: send initialize first", NULL);
		return MCP_STEP_REPLY;
	}
	if (strcmp(m->method, "tools/list") == 0) {
		v = json_object_get(m->params, "cursor");
		if (v != NULL && !json_is_string(v)) {
			*reply = jrpc_error(req->id, JRPC_INVALID_PARAMS,
			    "invalid params: cursor must be a string", NULL);
			return MCP_STEP_REPLY;
		}
		req->cursor = json_string_value(v);
		return MCP_STEP_LIST;
	}
	v = json_object_get(m->params, "name");
	req->arguments = json_object_get(m->params, "arguments");
	if (!json_is_string(v) || (req->arguments != NULL &&
	    !json_is_object(req->arguments))) {
		*reply = jrpc_error(req->id, JRPC_INVALID_PARAMS, "invalid "
		    "params: tools/call needs a name string and an arguments "
		    "object", NULL);
		return MCP_STEP_REPLY;
	}
	req->name = json_string_value(v);
	return MCP_STEP_CALL;
}

enum mcp_step
mcp_step(struct mcp_session *s, const struct mcp_server_info *si,
    json_t *msg, struct mcp_request *req, json_t **reply)
{
	struct jrpc_msg m;

	memset(req, 0, sizeof(*req));
	switch (jrpc_classify(msg, &m, reply)) {
	case JRPC_INVALID:
		return MCP_STEP_REPLY;
	case JRPC_BATCH:
		*reply = jrpc_error(NULL, JRPC_INVALID_REQUEST, "invalid "
		    "request: a batch inside a batch", NULL);
		return MCP_STEP_REPLY;
	case JRPC_RESPONSE:
		return MCP_STEP_NONE;
	case JRPC_NOTIFICATION:
		if (strcmp(m.method, "notifications/initialized") == 0 &&
		    s->rev != MCP_REV_NONE)
			s->initialized = 1;
		return MCP_STEP_NONE;
	case JRPC_REQUEST:
		break;
	}
	req->id = m.id;
	req->rev = s->rev;
	return step_request(s, si, &m, req, reply);
}

static int
filter_has(const struct mcp_filter *f, const char *tool)
{
	size_t i;

	if (f == NULL || f->ntools == 0)
		return 1;
	for (i = 0; i < f->ntools; i++)
		if (strcmp(f->tools[i], tool) == 0)
			return 1;
	return 0;
}

const char *
mcp_filter_missing(const json_t *tools_json, const struct mcp_filter *f)
{
	json_t *tools = json_object_get(tools_json, "tools"), *t;
	size_t i, j;
	int found;

	for (i = 0; f != NULL && i < f->ntools; i++) {
		found = 0;
		json_array_foreach(tools, j, t)
			if (json_is_string(json_object_get(t, "name")) &&
			    strcmp(json_string_value(json_object_get(t,
			    "name")), f->tools[i]) == 0)
				found = 1;
		if (!found)
			return f->tools[i];
	}
	return "";
}

static const char *
str_member(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* MCP tool names: 1 to 128 of [A-Za-z0-9_.-]. */
static int
mcp_name(char *out, size_t len, const char *tool, const char *action)
{
	size_t i, n;

	n = (size_t)snprintf(out, len, "%s__%s", tool, action);
	if (*tool == '\0' || *action == '\0' || n > MCP_NAME_MAX || n >= len)
		return -1;
	for (i = 0; i < n; i++)
		if (!((out[i] >= 'A' && out[i] <= 'Z') || (out[i] >= 'a' &&
		    out[i] <= 'z') || (out[i] >= '0' && out[i] <= '9') ||
		    out[i] == '_' || out[i] == '.' || out[i] == '-'))
			return -1;
	return 0;
}

/* {"type":"object","properties":{...},"required":[...],
 * "additionalProperties":false} from the action's declared params. */
static json_t *
input_schema(const json_t *action)
{
	json_t *props, *req, *p, *type, *schema;
	size_t i;

	props = json_object();
	req = json_array();
	json_array_foreach(json_object_get(action, "params"), i, p) {
		type = json_object_get(p, "type");
		if (!json_is_string(type) || !json_is_string(json_object_get(p,
		    "name")))
			continue;
		json_object_set_new(props, str_member(p, "name"),
		    json_pack("{s:O}", "type", type));
		if (json_is_true(json_object_get(p, "required")))
			json_array_append_new(req, json_string(str_member(p,
			    "name")));
	}
	schema = json_pack("{s:s,s:o}", "type", "object", "properties",
	    props);
	if (json_array_size(req) > 0)
		json_object_set(schema, "required", req);
	json_decref(req);
	json_object_set_new(schema, "additionalProperties", json_false());
	return schema;
}

static json_t *
mcp_tool(const json_t *tool, const json_t *action, const char *name)
{
	char desc[2 * TOOL_DESC_MAX + 8], title[MCP_NAME_MAX + 2];
	const char *td = str_member(tool, "description");
	const char *ad = str_member(action, "description");

	snprintf(desc, sizeof(desc), "%s%s%s", td, *td && *ad ? ": " : "",
	    ad);
	snprintf(title, sizeof(title), "%s %s", str_member(tool, "name"),
	    str_member(action, "name"));
	return json_pack("{s:s,s:s,s:s,s:o}", "name", name, "title", title,
	    "description", desc, "inputSchema", input_schema(action));
}

/*
 * Calls fn for each offered tool action; stops at fn's non-zero.  A name
 * over 128 characters is not offered; nor is one an earlier tool action
 * already gave (tool "a__b" action "c" after tool "a" action "b__c"), so
 * a name always calls what tools/list described under it.
 */
typedef int (*action_fn)(const json_t *tool, const json_t *action,
    const char *name, void *arg);

static int
each_action(const json_t *tools_json, const struct mcp_filter *f,
    action_fn fn, void *arg)
{
	char name[MCP_NAME_MAX + TOOL_FIELD_MAX];
	json_t *t, *a, *seen;
	size_t i, j;
	int rc = 0;

	if ((seen = json_object()) == NULL)
		return 0;
	json_array_foreach(json_object_get(tools_json, "tools"), i, t) {
		if (!filter_has(f, str_member(t, "name")))
			continue;
		json_array_foreach(json_object_get(t, "actions"), j, a) {
			if (mcp_name(name, sizeof(name), str_member(t, "name"),
			    str_member(a, "name")) == -1 ||
			    json_object_get(seen, name) != NULL)
				continue;
			json_object_set_new(seen, name, json_true());
			if ((rc = fn(t, a, name, arg)) != 0)
				goto done;
		}
	}
done:
	json_decref(seen);
	return rc;
}

static int
append_tool(const json_t *tool, const json_t *action, const char *name,
    void *arg)
{
	json_array_append_new(arg, mcp_tool(tool, action, name));
	return 0;
}

json_t *
mcp_tools_from_list(const json_t *tools_json, const struct mcp_filter *f)
{
	json_t *out;

	if (!json_is_array(json_object_get(tools_json, "tools")) ||
	    (out = json_array()) == NULL)
		return NULL;
	each_action(tools_json, f, append_tool, out);
	return out;
}

/* A cursor is the decimal index of the page's first tool. */
static int
parse_cursor(const char *cursor, size_t ntools, size_t *from)
{
	char *end;
	unsigned long v;

	*from = 0;
	if (cursor == NULL)
		return 0;
	if (*cursor < '0' || *cursor > '9' || strlen(cursor) > MCP_CURSOR_MAX)
		return -1;
	v = strtoul(cursor, &end, 10);
	if (*end != '\0' || v == 0 || v >= ntools)
		return -1;
	*from = v;
	return 0;
}

json_t *
mcp_list_reply(const struct mcp_request *req, const json_t *tools_json,
    const struct mcp_filter *f)
{
	char next[24];
	json_t *all, *page, *t;
	size_t from, i;

	if ((all = mcp_tools_from_list(tools_json, f)) == NULL)
		return jrpc_error(req->id, JRPC_INTERNAL_ERROR, "internal "
		    "error: the tool list could not be read", NULL);
	if (parse_cursor(req->cursor, json_array_size(all), &from) == -1) {
		json_decref(all);
		return jrpc_error(req->id, JRPC_INVALID_PARAMS, "invalid "
		    "params: unknown cursor", NULL);
	}
	page = json_array();
	for (i = from; i < json_array_size(all) && i < from + MCP_PAGE_SIZE;
	    i++) {
		t = json_array_get(all, i);
		if (!mcp_rev_has_structured(req->rev))
			json_object_del(t, "title");
		json_array_append(page, t);
	}
	t = json_pack("{s:o}", "tools", page);
	if (i < json_array_size(all)) {
		snprintf(next, sizeof(next), "%zu", i);
		json_object_set_new(t, "nextCursor", json_string(next));
	}
	json_decref(all);
	return mcp_reply(req, t);
}

struct find {
	const char	*name;
	const json_t	*tool;
	const json_t	*action;
};

static int
match_name(const json_t *tool, const json_t *action, const char *name,
    void *arg)
{
	struct find *fd = arg;

	if (strcmp(name, fd->name) != 0)
		return 0;
	fd->tool = tool;
	fd->action = action;
	return 1;
}

static int
type_matches(const char *type, const json_t *v)
{
	if (strcmp(type, "number") == 0)
		return json_is_number(v);
	if (strcmp(type, "boolean") == 0)
		return json_is_boolean(v);
	return json_is_string(v) && json_string_length(v) <=
	    TOOL_PARAM_VALUE_MAX && strlen(json_string_value(v)) ==
	    json_string_length(v);
}

/* The arguments against the action's input schema; -1 and why not. */
static int
check_arguments(const json_t *action, const json_t *args, char *why,
    size_t len)
{
	json_t *schema, *props, *p, *v;
	const char *k;
	size_t i;
	int rc = -1;

	schema = input_schema(action);
	props = json_object_get(schema, "properties");
	json_object_foreach((json_t *)args, k, v) {
		if ((p = json_object_get(props, k)) == NULL) {
			snprintf(why, len, "arguments.%s: unknown parameter",
			    k);
			goto done;
		}
		if (!type_matches(str_member(p, "type"), v)) {
			snprintf(why, len, "arguments.%s: must be a %s%s", k,
			    str_member(p, "type"), json_is_string(v) ?
			    " of at most 4096 bytes and no NUL" : "");
			goto done;
		}
	}
	json_array_foreach(json_object_get(schema, "required"), i, p)
		if (json_object_get(args, json_string_value(p)) == NULL) {
			snprintf(why, len, "arguments.%s: required",
			    json_string_value(p));
			goto done;
		}
	rc = 0;
done:
	json_decref(schema);
	return rc;
}

/* The overrides for the slots this tool has; the others are its
 * siblings', and the daemon would refuse them. */
static json_t *
tool_overrides(const json_t *tool, const json_t *overrides)
{
	json_t *out, *c, *v;
	size_t i;

	out = json_object();
	json_array_foreach(json_object_get(tool, "credentials"), i, c)
		if ((v = json_object_get(overrides, str_member(c, "slot"))) !=
		    NULL)
			json_object_set(out, str_member(c, "slot"), v);
	return out;
}

int
mcp_call_to_execute(const struct mcp_request *req, const json_t *tools_json,
    const struct mcp_filter *f, const json_t *overrides, struct mcp_call *call,
    json_t **reply)
{
	struct find fd = { req->name, NULL, NULL };
	char why[256];
	json_t *args, *ov, *to;

	memset(call, 0, sizeof(*call));
	*reply = NULL;
	if (req->name == NULL ||
	    each_action(tools_json, f, match_name, &fd) == 0) {
		*reply = jrpc_error(req->id, JRPC_INVALID_PARAMS, "invalid "
		    "params: unknown tool", json_pack("{s:s}", "name",
		    req->name != NULL ? req->name : ""));
		return -1;
	}
	args = req->arguments != NULL ? json_incref(req->arguments) :
	    json_object();
	if (check_arguments(fd.action, args, why, sizeof(why)) == -1) {
		*reply = jrpc_error(req->id, JRPC_INVALID_PARAMS, why,
		    json_pack("{s:s}", "name", req->name));
		json_decref(args);
		return -1;
	}
	snprintf(call->tool, sizeof(call->tool), "%s", str_member(fd.tool,
	    "name"));
	snprintf(call->action, sizeof(call->action), "%s",
	    str_member(fd.action, "name"));
	to = json_object_get(fd.tool, "timeoutMs");
	call->timeout_ms = json_is_integer(to) ? (long)json_integer_value(to) :
	    0;
	call->body = json_pack("{s:s,s:o}", "action", call->action, "params",
	    args);
	ov = tool_overrides(fd.tool, overrides);
	if (json_object_size(ov) > 0)
		json_object_set(call->body, "credentialOverrides", ov);
	json_decref(ov);
	return 0;
}

void
mcp_call_clear(struct mcp_call *call)
{
	json_decref(call->body);
	memset(call, 0, sizeof(*call));
}

/* The result as text: a string as it is, anything else as JSON. */
static char *
result_text(const json_t *result)
{
	if (result == NULL || json_is_null(result))
		return strdup("");
	if (json_is_string(result))
		return strndup(json_string_value(result),
		    json_string_length(result));
	return json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
}

static json_t *
tool_result(const char *text, int is_error)
{
	return json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text",
	    "text", text, "isError", is_error);
}

/* Statuses of a call the tool's caller can act on, as a tool error. */
static int
status_is_tool_error(long status)
{
	return status == 400 || status == 403 || status == 404 ||
	    status == 429 || status == 502 || status == 503 || status == 504;
}

json_t *
mcp_result_from_execute(enum mcp_rev rev, long status, const json_t *reply)
{
	json_t *res, *result, *o, *e;
	const char *msg;
	char *text, buf[700];

	if (status != 200) {
		e = json_object_get(reply, "error");
		msg = str_member(e, "message");
		snprintf(buf, sizeof(buf), "%s (HTTP %ld%s%s)", *msg ? msg :
		    "the daemon refused the call", status,
		    *str_member(e, "code") ? ", " : "", str_member(e, "code"));
		return status_is_tool_error(status) ? tool_result(buf, 1) :
		    NULL;
	}
	o = json_object_get(reply, "ok");
	if (!json_is_boolean(o))
		return NULL;
	result = json_object_get(reply, "result");
	if ((text = result_text(result)) == NULL)
		return NULL;
	if (json_is_true(o)) {
		res = tool_result(text, 0);
		if (json_is_object(result) && mcp_rev_has_structured(rev))
			json_object_set(res, "structuredContent", result);
	} else {
		e = json_object_get(reply, "exitCode");
		snprintf(buf, sizeof(buf), "the tool failed (%s %" 
		    JSON_INTEGER_FORMAT "): ", e != NULL ? "exit code" :
		    "HTTP status", json_integer_value(e != NULL ? e :
		    json_object_get(reply, "status")));
		res = tool_result(buf, 1);
		o = json_array_get(json_object_get(res, "content"), 0);
		json_object_set_new(o, "text", json_sprintf("%s%s", buf, text));
	}
	explicit_bzero(text, strlen(text));
	free(text);
	return res;
}

json_t *
mcp_call_reply(const struct mcp_request *req, long status,
    const json_t *execute_reply)
{
	json_t *r;

	if ((r = mcp_result_from_execute(req->rev, status, execute_reply)) ==
	    NULL)
		return jrpc_error(req->id, JRPC_INTERNAL_ERROR, status == 200 ?
		    "internal error: the daemon's answer could not be read" :
		    "internal error: the daemon could not run the call",
		    json_pack("{s:I,s:s}", "status", (json_int_t)status,
		    "message", str_member(json_object_get(execute_reply,
		    "error"), "message")));
	return mcp_reply(req, r);
}
