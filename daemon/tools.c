/*
 * The tool routes (DESIGN section 6): GET /v1/tools, GET /v1/tools/{tool}
 * and POST /v1/tools/{tool}/execute.  The body is checked and flattened
 * here into typed parameters and overrides; whether the tool, action,
 * slots and secrets exist, and whether the caller may use them, is the
 * broker's to decide.  No credential value ever reaches this process.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "log.h"
#include "tool.h"

/* The broker answers by the tool's timeout; this is only the backstop. */
#define EXEC_WAIT_S	(TOOL_TIMEOUT_MAX_MS / 1000 + 10)

static const char *
param_type_name(uint8_t t)
{
	return t == PARAM_NUMBER ? "number" : t == PARAM_BOOL ? "boolean" :
	    "string";
}

static const char *
param_place_name(const struct tool *t, uint8_t p)
{
	if (t->type == TOOL_EXEC)
		return "stdin";
	return p == PARAM_PATH ? "path" : p == PARAM_QUERY ? "query" :
	    "body";
}

/* What a caller may know of a tool: not its URL, command or CA file. */
static json_t *
json_tool(const struct tool *t)
{
	json_t *o, *acts, *creds, *params;
	uint32_t i, j;

	acts = json_array();
	creds = json_array();
	for (i = 0; i < t->nactions; i++) {
		const struct tool_action *a = &t->actions[i];

		params = json_array();
		for (j = 0; j < a->nparams; j++)
			json_array_append_new(params, json_pack(
			    "{s:s,s:s,s:b,s:s}", "name", a->params[j].name,
			    "type", param_type_name(a->params[j].type),
			    "required", a->params[j].required,
			    "in", param_place_name(t, a->params[j].place)));
		json_array_append_new(acts, json_pack("{s:s,s:s,s:o}",
		    "name", a->name, "description", a->description,
		    "params", params));
	}
	for (i = 0; i < t->nslots; i++)
		json_array_append_new(creds, json_pack("{s:s,s:s}", "slot",
		    t->slots[i].name, "defaultSecret", t->slots[i].secret));
	o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:o,s:o}", "name", t->name,
	    "description", t->description, "type",
	    t->type == TOOL_HTTP ? "http" : "exec", "allow",
	    t->allow == TOOL_ALLOW_ADMINS ? "admins" : "members",
	    "timeoutMs", (json_int_t)t->timeout_ms, "actions", acts,
	    "credentials", creds);
	return o;
}

/*
 * A IMSG_TOOL_LIST reply's page as GET /v1/tools shows it:
 * {"tools": [...], "nextCursor": ...}.  NULL when the reply is malformed
 * (*bad set) or memory ran out.
 */
json_t *
tool_page_json(struct ipc_reader *r, int *bad)
{
	struct tool *t;
	const char *next;
	uint8_t more;
	json_t *a;

	*bad = 0;
	if ((t = malloc(sizeof(*t))) == NULL || (a = json_array()) == NULL) {
		free(t);
		return NULL;
	}
	for (;;) {
		if (ipc_get_u8(r, &more) == -1 || more > 1)
			goto bad;
		if (!more)
			break;
		if (tool_get(r, t) == -1)
			goto bad;
		json_array_append_new(a, json_tool(t));
	}
	if (ipc_get_str(r, &next, NULL) == -1 || ipc_end(r) == -1)
		goto bad;
	free(t);
	return json_pack("{s:o,s:o}", "tools", a, "nextCursor",
	    *next == '\0' ? json_null() : json_string(next));
bad:
	*bad = 1;
	free(t);
	json_decref(a);
	return NULL;
}

static int
list_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	json_t *o;
	int bad;

	if (!reply_ok(fr, st, msg))
		return 0;
	if ((o = tool_page_json(r, &bad)) == NULL && bad)
		return bad_reply(fr);
	if (o == NULL) {
		http_reply_status(fr, RT_INTERNAL, "out of memory");
		return 0;
	}
	http_reply_json(fr, 200, o);
	return 0;
}

void
tools_list(struct fe_req *fr)
{
	struct tool_list_req lr;
	struct ipc_msg m;

	memset(&lr, 0, sizeof(lr));
	if (fr->q.cursor[0] != '\0' &&
	    !valid_tool_name(fr->q.cursor, strlen(fr->q.cursor))) {
		http_reply_error(fr, 400, "invalid_request", "invalid cursor");
		return;
	}
	http_auth(fr, &lr.auth);
	lr.limit = fr->q.limit;
	snprintf(lr.cursor, sizeof(lr.cursor), "%s", fr->q.cursor);
	bc_msg_init(&m, IMSG_TOOL_LIST);
	tool_list_req_put(&m, &lr);
	send_request(fr, &m, list_reply);
}

static int
show_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	struct tool *t;

	if (!reply_ok(fr, st, msg))
		return 0;
	if ((t = malloc(sizeof(*t))) == NULL) {
		http_reply_status(fr, RT_INTERNAL, "out of memory");
		return 0;
	}
	if (tool_get(r, t) == -1 || ipc_end(r) == -1) {
		free(t);
		return bad_reply(fr);
	}
	http_reply_json(fr, 200, json_tool(t));
	free(t);
	return 0;
}

void
tool_show(struct fe_req *fr)
{
	struct tool_get_req g;
	struct ipc_msg m;

	http_auth(fr, &g.auth);
	if (strlen(fr->arg) >= sizeof(g.name)) {
		http_reply_error(fr, 400, "invalid_request",
		    "invalid tool name");
		return;
	}
	memcpy(g.name, fr->arg, strlen(fr->arg) + 1);
	bc_msg_init(&m, IMSG_TOOL_GET);
	tool_get_req_put(&m, &g);
	send_request(fr, &m, show_reply);
}

/* Text as a JSON string: bytes that are not UTF-8 become U+FFFD. */
static json_t *
json_text(const uint8_t *s, size_t n)
{
	json_t *j;
	char *buf;
	size_t i, o = 0, k;

	if ((j = json_stringn((const char *)s, n)) != NULL)
		return j;
	if ((buf = malloc(n * 3 + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i += k) {
		if (s[i] != 0 && (k = jw_utf8_len(s + i, n - i)) > 0) {
			memcpy(buf + o, s + i, k);
			o += k;
			continue;
		}
		memcpy(buf + o, "\xef\xbf\xbd", 3);
		o += 3;
		k = 1;
	}
	j = json_stringn(buf, o);
	free(buf);
	return j;
}

/*
 * A IMSG_TOOL_EXEC reply as the execute route shows it.  NULL when the
 * reply is malformed (*bad set) or memory ran out.
 */
json_t *
exec_result_json(struct ipc_reader *r, int *bad)
{
	struct tool_exec_reply *x;
	json_t *o, *creds, *res = NULL;
	uint32_t i;

	*bad = 0;
	if ((x = malloc(sizeof(*x))) == NULL)
		return NULL;
	if (tool_exec_reply_get(r, x) == -1) {
		free(x);
		*bad = 1;
		return NULL;
	}
	if (x->res.result_is_json)
		res = json_loadb((const char *)x->res.result,
		    x->res.result_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (res == NULL)
		res = json_text(x->res.result, x->res.result_len);
	creds = json_array();
	for (i = 0; i < x->ncreds; i++)
		json_array_append_new(creds, json_pack("{s:s,s:s,s:s,s:I}",
		    "slot", x->creds[i].slot, "name", x->creds[i].name,
		    "scope", x->creds[i].scope == SCOPE_ORG ? "org" : "user",
		    "version", (json_int_t)x->creds[i].version));
	o = json_pack("{s:s,s:s,s:b,s:o*}", "tool", x->tool, "action",
	    x->action, "ok", x->res.ok, "result", res);
	if (o != NULL) {
		json_object_set_new(o, x->type == TOOL_HTTP ? "status" :
		    "exitCode", json_integer((json_int_t)x->res.status));
		json_object_set_new(o, "durationMs",
		    json_integer((json_int_t)x->res.duration_ms));
		json_object_set_new(o, "credentials", creds);
		json_object_set_new(o, "redactions",
		    json_integer((json_int_t)x->res.redactions));
		if (x->type == TOOL_EXEC)
			json_object_set_new(o, "stderr",
			    json_text(x->res.stderr_buf, x->res.stderr_len));
	} else
		json_decref(creds);
	free(x);
	return o;
}

static int
exec_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	json_t *o;
	int bad;

	if (!reply_ok(fr, st, msg))
		return 0;
	if ((o = exec_result_json(r, &bad)) == NULL && bad)
		return bad_reply(fr);
	http_reply_json(fr, 200, o);
	return 0;
}

/* One parameter as the body gives it: a string, number or boolean. */
static int
body_param(const char *key, json_t *v, struct run_param *p, char *err,
    size_t errlen)
{
	if (!valid_field_name(key, strlen(key))) {
		snprintf(err, errlen, "params: invalid parameter name");
		return -1;
	}
	snprintf(p->name, sizeof(p->name), "%s", key);
	switch (json_typeof(v)) {
	case JSON_STRING:
		if (json_string_length(v) > TOOL_PARAM_VALUE_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			snprintf(err, errlen, "params.%s: over %d bytes or "
			    "holds a NUL", key, TOOL_PARAM_VALUE_MAX);
			return -1;
		}
		p->type = PARAM_STRING;
		memcpy(p->value, json_string_value(v),
		    json_string_length(v) + 1);
		return 0;
	case JSON_INTEGER:
		p->type = PARAM_NUMBER;
		snprintf(p->value, sizeof(p->value), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return 0;
	case JSON_REAL:
		p->type = PARAM_NUMBER;
		snprintf(p->value, sizeof(p->value), "%.17g",
		    json_real_value(v));
		return 0;
	case JSON_TRUE:
	case JSON_FALSE:
		p->type = PARAM_BOOL;
		snprintf(p->value, sizeof(p->value), "%s",
		    json_is_true(v) ? "true" : "false");
		return 0;
	default:
		snprintf(err, errlen, "params.%s: must be a string, number "
		    "or boolean", key);
		return -1;
	}
}

/* "NAME", or {"name": "NAME", "orgWide": true} for the org's only. */
static int
body_override(const char *slot, json_t *v, struct tool_override *o,
    char *err, size_t errlen)
{
	json_t *name = v, *org = NULL;
	const char *k;
	json_t *e;

	if (!valid_field_name(slot, strlen(slot))) {
		snprintf(err, errlen, "credentialOverrides: invalid slot "
		    "name");
		return -1;
	}
	snprintf(o->slot, sizeof(o->slot), "%s", slot);
	if (json_is_object(v)) {
		json_object_foreach(v, k, e)
			if (strcmp(k, "name") != 0 &&
			    strcmp(k, "orgWide") != 0) {
				snprintf(err, errlen, "credentialOverrides."
				    "%s: unknown field", slot);
				return -1;
			}
		name = json_object_get(v, "name");
		org = json_object_get(v, "orgWide");
		if (org != NULL && !json_is_boolean(org)) {
			snprintf(err, errlen, "credentialOverrides.%s."
			    "orgWide: must be a boolean", slot);
			return -1;
		}
	}
	if (!json_is_string(name) || !valid_secret_name(
	    json_string_value(name), json_string_length(name))) {
		snprintf(err, errlen, "credentialOverrides.%s: must be a "
		    "secret name or {\"name\", \"orgWide\"}", slot);
		return -1;
	}
	snprintf(o->name, sizeof(o->name), "%s", json_string_value(name));
	o->org_wide = org != NULL && json_is_true(org);
	return 0;
}

static int
exec_body(json_t *b, const char *tool, struct tool_exec_req *x, char *err,
    size_t errlen)
{
	json_t *action, *params, *over, *v;
	const char *k;

	action = json_object_get(b, "action");
	if (!valid_field_name(json_string_value(action),
	    json_string_length(action))) {
		snprintf(err, errlen, "action: invalid action name");
		return -1;
	}
	if (!valid_tool_name(tool, strlen(tool))) {
		snprintf(err, errlen, "invalid tool name");
		return -1;
	}
	memcpy(x->tool, tool, strlen(tool) + 1);
	snprintf(x->action, sizeof(x->action), "%s",
	    json_string_value(action));
	if ((params = json_object_get(b, "params")) != NULL) {
		if (json_object_size(params) > TOOL_PARAMS_MAX) {
			snprintf(err, errlen, "params: more than %d",
			    TOOL_PARAMS_MAX);
			return -1;
		}
		json_object_foreach(params, k, v)
			if (body_param(k, v, &x->params[x->nparams++], err,
			    errlen) == -1)
				return -1;
	}
	if ((over = json_object_get(b, "credentialOverrides")) != NULL) {
		if (json_object_size(over) > TOOL_SLOTS_MAX) {
			snprintf(err, errlen, "credentialOverrides: more than "
			    "%d", TOOL_SLOTS_MAX);
			return -1;
		}
		json_object_foreach(over, k, v)
			if (body_override(k, v,
			    &x->overrides[x->noverrides++], err, errlen) == -1)
				return -1;
	}
	return 0;
}

/*
 * An execute body (as POST .../execute takes it) of tool to the broker,
 * with the client's name for the audit line; the reply goes to cb.  -1
 * with the reason in err when the body breaks a rule, and nothing sent.
 */
int
tool_exec_send(struct fe_req *fr, json_t *body, const char *tool,
    const char *client, int (*cb)(void *, enum rt_status, const char *,
    struct ipc_reader *), char *err, size_t errlen)
{
	struct tool_exec_req *x;
	struct ipc_msg m;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (exec_body(body, tool, x, err, errlen) == -1) {
		free(x);
		return -1;
	}
	if (client != NULL)
		snprintf(x->client, sizeof(x->client), "%s", client);
	http_auth(fr, &x->auth);
	bc_msg_init(&m, IMSG_TOOL_EXEC);
	tool_exec_req_put(&m, x);
	free(x);
	http_wait_longer(fr, EXEC_WAIT_S);
	send_request(fr, &m, cb);
	return 0;
}

/* X-RunTools-Client names the agent in the audit line; optional. */
void
tool_execute(struct fe_req *fr)
{
	const char *client = hr_header(fr->head, "X-RunTools-Client");
	char err[256];

	if (client != NULL && !valid_client(client, strlen(client))) {
		http_reply_error(fr, 400, "invalid_request",
		    "X-RunTools-Client must be 1 to %d printable ASCII "
		    "characters", TOOL_CLIENT_MAX);
		return;
	}
	if (tool_exec_send(fr, fr->body, fr->arg, client, exec_reply, err,
	    sizeof(err)) == -1)
		http_reply_error(fr, 400, "invalid_request", "%s", err);
}
