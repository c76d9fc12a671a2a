/*
 * libruntools tool calls: list and describe the tools the operator
 * defined, and run one action with typed parameters and credential
 * overrides.  Only secret names travel, never values; a tool's result
 * and stderr are wiped when released.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proto.h"
#include "tool.h"
#include "runtools.h"
#include "rtclient.h"

#define TOOL_CURSOR_MAX	1024
#define EXEC_MARGIN_S	30		/* beyond the tool's own timeout */
#define EXEC_TIMEOUT_MAX_MS (24UL * 3600 * 1000)

static const struct rt_tool_list_opts no_tool_list_opts;
static const struct rt_exec_opts no_exec_opts;

void
rt_tool_clear(struct rt_tool *t)
{
	size_t i, j;

	if (t == NULL)
		return;
	for (i = 0; i < t->nactions; i++) {
		struct rt_tool_action *a = &t->actions[i];

		for (j = 0; j < a->nparams; j++) {
			free(a->params[j].name);
			free(a->params[j].type);
			free(a->params[j].in);
		}
		free(a->params);
		free(a->name);
		free(a->description);
	}
	for (i = 0; i < t->nslots; i++) {
		free(t->slots[i].slot);
		free(t->slots[i].default_secret);
	}
	free(t->actions);
	free(t->slots);
	free(t->name);
	free(t->description);
	free(t->type);
	free(t->allow);
	memset(t, 0, sizeof(*t));
}

void
rt_tool_list_clear(struct rt_tool_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->count; i++)
		rt_tool_clear(&l->tools[i]);
	free(l->tools);
	free(l->next_cursor);
	memset(l, 0, sizeof(*l));
}

void
rt_exec_result_clear(struct rt_exec_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->ncredentials; i++) {
		free(r->credentials[i].slot);
		free(r->credentials[i].name);
		free(r->credentials[i].scope);
	}
	free(r->credentials);
	free(r->tool);
	free(r->action);
	rt_wipe_free(r->result, r->result == NULL ? 0 : r->result_len + 1);
	rt_wipe_free(r->stderr_text, r->stderr_text == NULL ? 0 :
	    r->stderr_len + 1);
	memset(r, 0, sizeof(*r));
	r->status = -1;
	r->exit_code = -1;
}

/*
 * An optional array member into *items of size bytes each; fn fills one
 * and cleans up after itself when it fails.  *count counts those filled,
 * even on failure, for the caller's clear.
 */
static int
parse_array(json_t *o, const char *key, size_t size, rt_item_fn fn,
    void **items, size_t *count)
{
	json_t *arr = json_object_get(o, key), *v;
	size_t i;

	*items = NULL;
	*count = 0;
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return -1;
	if (json_array_size(arr) == 0)
		return 0;
	if ((*items = calloc(json_array_size(arr), size)) == NULL)
		return -1;
	json_array_foreach(arr, i, v) {
		if (fn(v, (char *)*items + i * size) == -1)
			return -1;
		(*count)++;
	}
	return 0;
}

/* An optional non-negative integer member; -1 on another type. */
static int
get_count(json_t *o, const char *key, unsigned long *dst)
{
	json_t *v = json_object_get(o, key);

	*dst = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*dst = (unsigned long)json_integer_value(v);
	return 0;
}

static enum rt_param_type
param_kind(const char *type)
{
	if (type == NULL)
		return RT_PARAM_OTHER;
	if (strcmp(type, "string") == 0)
		return RT_PARAM_STRING;
	if (strcmp(type, "number") == 0)
		return RT_PARAM_NUMBER;
	if (strcmp(type, "boolean") == 0)
		return RT_PARAM_BOOLEAN;
	return RT_PARAM_OTHER;
}

static int
param_item(json_t *o, void *item)
{
	struct rt_tool_param *p = item;
	json_t *req;

	if (!json_is_object(o) || rt_dup_str(o, "name", &p->name) ||
	    rt_dup_str(o, "type", &p->type) || rt_dup_str(o, "in", &p->in) ||
	    p->name == NULL)
		goto fail;
	req = json_object_get(o, "required");
	if (req != NULL && !json_is_boolean(req))
		goto fail;
	p->required = json_is_true(req);
	p->kind = param_kind(p->type);
	return 0;
 fail:
	free(p->name);
	free(p->type);
	free(p->in);
	memset(p, 0, sizeof(*p));
	return -1;
}

static int
action_item(json_t *o, void *item)
{
	struct rt_tool_action *a = item;
	void *params = NULL;
	size_t i;
	int rc;

	if (!json_is_object(o) || rt_dup_str(o, "name", &a->name) ||
	    rt_dup_str(o, "description", &a->description) || a->name == NULL)
		goto fail;
	rc = parse_array(o, "params", sizeof(*a->params), param_item, &params,
	    &a->nparams);
	a->params = params;
	if (rc == 0)
		return 0;
 fail:
	for (i = 0; i < a->nparams; i++) {
		free(a->params[i].name);
		free(a->params[i].type);
		free(a->params[i].in);
	}
	free(a->params);
	free(a->name);
	free(a->description);
	memset(a, 0, sizeof(*a));
	return -1;
}

static int
slot_item(json_t *o, void *item)
{
	struct rt_tool_slot *s = item;

	if (json_is_object(o) && rt_dup_str(o, "slot", &s->slot) == 0 &&
	    rt_dup_str(o, "defaultSecret", &s->default_secret) == 0 &&
	    s->slot != NULL)
		return 0;
	free(s->slot);
	free(s->default_secret);
	memset(s, 0, sizeof(*s));
	return -1;
}

static int
parse_tool(json_t *o, struct rt_tool *t)
{
	void *actions = NULL, *slots = NULL;
	int rc;

	memset(t, 0, sizeof(*t));
	if (!json_is_object(o) || rt_dup_str(o, "name", &t->name) ||
	    rt_dup_str(o, "description", &t->description) ||
	    rt_dup_str(o, "type", &t->type) ||
	    rt_dup_str(o, "allow", &t->allow) ||
	    get_count(o, "timeoutMs", &t->timeout_ms) ||
	    t->name == NULL || t->type == NULL ||
	    !json_is_array(json_object_get(o, "actions")))
		goto fail;
	rc = parse_array(o, "actions", sizeof(*t->actions), action_item,
	    &actions, &t->nactions);
	t->actions = actions;
	if (rc == -1)
		goto fail;
	rc = parse_array(o, "credentials", sizeof(*t->slots), slot_item,
	    &slots, &t->nslots);
	t->slots = slots;
	if (rc == 0)
		return 0;
 fail:
	rt_tool_clear(t);
	return -1;
}

static int
tool_item(json_t *o, void *t)
{
	return parse_tool(o, t);
}

static int
parse_tool_list(json_t *root, struct rt_tool_list *out)
{
	void *items = NULL;
	int rc;

	rc = rt_parse_page(root, "tools", sizeof(*out->tools), tool_item,
	    &items, &out->count, &out->next_cursor);
	out->tools = items;
	return rc;
}

static enum rt_error
tool_list_path(rt_client *c, char *path, size_t size, const void *opts,
    const char *cursor)
{
	const struct rt_tool_list_opts *o = opts;

	snprintf(path, size, "/v1/tools");
	return rt_page_query(c, path, size, o->limit, cursor,
	    TOOL_CURSOR_MAX);
}

enum rt_error
rt_tools_list_page(rt_client *c, const struct rt_tool_list_opts *o,
    struct rt_tool_list *out)
{
	json_t *root;
	enum rt_error e;

	if (o == NULL)
		o = &no_tool_list_opts;
	memset(out, 0, sizeof(*out));
	if ((e = rt_page_get(c, tool_list_path, o, o->cursor, "tools",
	    &root)) != RT_E_OK)
		return e;
	if (parse_tool_list(root, out) == -1) {
		rt_tool_list_clear(out);
		e = rt_bad_response(c);
	}
	json_decref(root);
	return e;
}

enum rt_error
rt_tools_list(rt_client *c, struct rt_tool_list *out)
{
	json_t *root;
	enum rt_error e;

	memset(out, 0, sizeof(*out));
	if ((e = rt_pages_all(c, tool_list_path, &no_tool_list_opts, NULL,
	    "tools", &root)) != RT_E_OK)
		return e;
	if (parse_tool_list(root, out) == -1) {
		rt_tool_list_clear(out);
		e = rt_bad_response(c);
	}
	json_decref(root);
	return e;
}

static enum rt_error
check_tool(rt_client *c, const char *name)
{
	if (name == NULL || !valid_tool_name(name, strlen(name)))
		return rt_set_error(c, RT_E_USAGE, "invalid tool name: use 1 "
		    "to %d letters, digits, '-' and '_'", TOOL_NAME_MAX);
	return RT_E_OK;
}

enum rt_error
rt_tools_get(rt_client *c, const char *name, struct rt_tool *out)
{
	char path[RT_PATH_MAX];
	json_t *root;
	enum rt_error e;

	memset(out, 0, sizeof(*out));
	if ((e = check_tool(c, name)) != RT_E_OK)
		return e;
	snprintf(path, sizeof(path), "/v1/tools/%s", name);
	if ((e = rt_request(c, "GET", path, NULL, &root)) != RT_E_OK)
		return e;
	if (parse_tool(root, out) == -1)
		e = rt_bad_response(c);
	json_decref(root);
	return e;
}

/*
 * A number exactly as JSON writes one, read by jansson so that the
 * grammar, the range and the locale are its own: nothing around it, an
 * integer within 64 bits, a real that is finite.
 */
static json_t *
number_value(const char *s)
{
	size_t n = strlen(s);
	json_t *v;

	if (n == 0 || !(*s == '-' || (*s >= '0' && *s <= '9')) ||
	    s[n - 1] < '0' || s[n - 1] > '9')
		return NULL;
	if ((v = json_loadb(s, n, JSON_DECODE_ANY, NULL)) != NULL &&
	    !json_is_number(v)) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

/* One --param-style value as its declared type, or NULL with the error. */
static json_t *
param_value(rt_client *c, const struct rt_param *p)
{
	json_t *v = NULL;

	switch (p->type) {
	case RT_PARAM_NUMBER:
		if ((v = number_value(p->value)) == NULL)
			rt_set_error(c, RT_E_USAGE, "parameter %s is a number "
			    "(such as 42, -2.5 or 1e3), not '%.64s'", p->name,
			    p->value);
		return v;
	case RT_PARAM_BOOLEAN:
		if (strcmp(p->value, "true") == 0)
			return json_true();
		if (strcmp(p->value, "false") == 0)
			return json_false();
		rt_set_error(c, RT_E_USAGE, "parameter %s is a boolean: give "
		    "true or false, not '%.64s'", p->name, p->value);
		return NULL;
	default:
		if ((v = json_string(p->value)) == NULL)
			rt_set_error(c, RT_E_USAGE, "parameter %s is not valid "
			    "UTF-8 text", p->name);
		return v;
	}
}

/* Whether params[i]'s name is also that of an earlier one. */
static int
param_listed(const struct rt_exec_opts *o, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (strcmp(o->params[j].name, o->params[i].name) == 0)
			return 1;
	return 0;
}

/* The params object: params_json's members, then each of params. */
static enum rt_error
exec_params(rt_client *c, const struct rt_exec_opts *o, json_t **out)
{
	json_error_t jerr;
	json_t *params, *v;
	size_t i, len;

	*out = NULL;
	if (o->params_json != NULL) {
		len = o->params_json_len ? o->params_json_len :
		    strlen(o->params_json);
		params = json_loadb(o->params_json, len,
		    JSON_REJECT_DUPLICATES, &jerr);
		if (params == NULL)
			return rt_set_error(c, RT_E_USAGE, "parameters JSON, "
			    "line %d column %d: %s", jerr.line, jerr.column,
			    jerr.text);
		if (!json_is_object(params)) {
			json_decref(params);
			return rt_set_error(c, RT_E_USAGE, "parameters JSON "
			    "must be an object {\"name\": value, ...}");
		}
	} else if ((params = json_object()) == NULL)
		return rt_set_error(c, RT_E_NOMEM, NULL);
	for (i = 0; i < o->nparams; i++) {
		const struct rt_param *p = &o->params[i];

		if (p->name == NULL || p->value == NULL ||
		    !valid_field_name(p->name, strlen(p->name))) {
			json_decref(params);
			return rt_set_error(c, RT_E_USAGE, "invalid parameter "
			    "name: use letters, digits and '_', not starting "
			    "with a digit");
		}
		if (json_object_get(params, p->name) != NULL) {
			json_decref(params);
			return rt_set_error(c, RT_E_USAGE, "parameter %s is "
			    "given twice%s", p->name, param_listed(o, i) ? "" :
			    ": in the parameters JSON and on its own");
		}
		if ((v = param_value(c, p)) == NULL) {
			json_decref(params);
			return RT_E_USAGE;
		}
		if (json_object_set_new(params, p->name, v) == -1) {
			json_decref(params);
			return rt_set_error(c, RT_E_NOMEM, NULL);
		}
	}
	*out = params;
	return RT_E_OK;
}

/* {"slot": "NAME"} or, to force the org secret, {"slot": {"name",
 * "orgWide": true}}. */
static enum rt_error
exec_overrides(rt_client *c, const struct rt_exec_opts *o, json_t **out)
{
	json_t *ov, *v;
	size_t i;

	*out = NULL;
	if ((ov = json_object()) == NULL)
		return rt_set_error(c, RT_E_NOMEM, NULL);
	for (i = 0; i < o->noverrides; i++) {
		const struct rt_credential_override *r = &o->overrides[i];

		if (r->slot == NULL ||
		    !valid_field_name(r->slot, strlen(r->slot)) ||
		    r->name == NULL ||
		    !valid_secret_name(r->name, strlen(r->name))) {
			json_decref(ov);
			return rt_set_error(c, RT_E_USAGE, "invalid credential "
			    "override: a slot name (letters, digits, '_') and "
			    "a secret name");
		}
		if (json_object_get(ov, r->slot) != NULL) {
			json_decref(ov);
			return rt_set_error(c, RT_E_USAGE, "slot %s is "
			    "overridden twice", r->slot);
		}
		v = r->org_wide ? json_pack("{s:s,s:b}", "name", r->name,
		    "orgWide", 1) : json_string(r->name);
		if (rt_set_member(ov, r->slot, v) == -1) {
			json_decref(ov);
			return rt_set_error(c, RT_E_NOMEM, NULL);
		}
	}
	*out = ov;
	return RT_E_OK;
}

static enum rt_error
exec_body(rt_client *c, const char *action, const struct rt_exec_opts *o,
    json_t **out)
{
	json_t *body, *params, *ov;
	enum rt_error e;

	*out = NULL;
	if ((e = exec_params(c, o, &params)) != RT_E_OK)
		return e;
	if ((e = exec_overrides(c, o, &ov)) != RT_E_OK) {
		json_decref(params);
		return e;
	}
	if ((body = json_object()) == NULL ||
	    rt_set_member(body, "action", json_string(action)) ||
	    json_object_set(body, "params", params) == -1 ||
	    (json_object_size(ov) > 0 &&
	    json_object_set(body, "credentialOverrides", ov) == -1)) {
		json_decref(body);
		body = NULL;
		e = rt_set_error(c, RT_E_NOMEM, NULL);
	}
	json_decref(params);
	json_decref(ov);
	*out = body;
	return e;
}

/* A copy of n bytes and a NUL, in memory the result's clear wipes. */
static char *
copy_bytes(const char *s, size_t n)
{
	char *p;

	if ((p = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Any JSON value (a number or null too) as compact text. */
static char *
dump_value(json_t *v, size_t *len)
{
	size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;
	size_t n;
	char *p;

	if ((n = json_dumpb(v, NULL, 0, flags)) == 0 ||
	    (p = malloc(n + 1)) == NULL)
		return NULL;
	if (json_dumpb(v, p, n, flags) != n) {
		rt_wipe_free(p, n + 1);
		return NULL;
	}
	p[n] = '\0';
	*len = n;
	return p;
}

/* The result member: a string is the tool's text, anything else JSON. */
static int
parse_result_value(json_t *v, struct rt_exec_result *r)
{
	if (v == NULL)
		return 0;
	if (json_is_string(v)) {
		r->result_len = json_string_length(v);
		r->result = copy_bytes(json_string_value(v), r->result_len);
	} else {
		r->result_is_json = 1;
		r->result = dump_value(v, &r->result_len);
	}
	return r->result == NULL ? -1 : 0;
}

/* An optional integer member into *dst (-1 when absent). */
static int
get_code(json_t *o, const char *key, long *dst)
{
	json_t *v = json_object_get(o, key);

	*dst = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 0x7fffffff)
		return -1;
	*dst = (long)json_integer_value(v);
	return 0;
}

static int
credential_item(json_t *o, void *item)
{
	struct rt_exec_credential *cr = item;

	if (json_is_object(o) && rt_dup_str(o, "slot", &cr->slot) == 0 &&
	    rt_dup_str(o, "name", &cr->name) == 0 &&
	    rt_dup_str(o, "scope", &cr->scope) == 0 &&
	    get_count(o, "version", &cr->version) == 0 && cr->slot != NULL)
		return 0;
	free(cr->slot);
	free(cr->name);
	free(cr->scope);
	memset(cr, 0, sizeof(*cr));
	return -1;
}

static int
parse_exec_result(json_t *o, struct rt_exec_result *r)
{
	json_t *ok = json_object_get(o, "ok"), *err;
	void *creds = NULL;
	int rc;

	rt_exec_result_clear(r);
	if (!json_is_boolean(ok) || rt_dup_str(o, "tool", &r->tool) ||
	    rt_dup_str(o, "action", &r->action) ||
	    get_code(o, "status", &r->status) ||
	    get_code(o, "exitCode", &r->exit_code) ||
	    get_count(o, "durationMs", &r->duration_ms) ||
	    get_count(o, "redactions", &r->redactions) ||
	    parse_result_value(json_object_get(o, "result"), r) == -1)
		goto fail;
	r->ok = json_is_true(ok);
	err = json_object_get(o, "stderr");
	if (err != NULL && !json_is_null(err)) {
		if (!json_is_string(err))
			goto fail;
		r->stderr_len = json_string_length(err);
		if ((r->stderr_text = copy_bytes(json_string_value(err),
		    r->stderr_len)) == NULL)
			goto fail;
	}
	rc = parse_array(o, "credentials", sizeof(*r->credentials),
	    credential_item, &creds, &r->ncredentials);
	r->credentials = creds;
	if (rc == 0)
		return 0;
 fail:
	rt_exec_result_clear(r);
	return -1;
}

/* Long enough for the tool's own timeout, and then some. */
static long
exec_timeout(unsigned long timeout_ms)
{
	if (timeout_ms == 0)
		timeout_ms = TOOL_TIMEOUT_MAX_MS;
	if (timeout_ms > EXEC_TIMEOUT_MAX_MS)
		timeout_ms = EXEC_TIMEOUT_MAX_MS;
	return (long)((timeout_ms + 999) / 1000) + EXEC_MARGIN_S;
}

enum rt_error
rt_tools_execute(rt_client *c, const char *tool, const char *action,
    const struct rt_exec_opts *o, struct rt_exec_result *out)
{
	char path[RT_PATH_MAX];
	json_t *body, *root;
	enum rt_error e;

	if (o == NULL)
		o = &no_exec_opts;
	memset(out, 0, sizeof(*out));
	out->status = -1;
	out->exit_code = -1;
	if ((e = check_tool(c, tool)) != RT_E_OK)
		return e;
	if (action == NULL || !valid_field_name(action, strlen(action)))
		return rt_set_error(c, RT_E_USAGE, "invalid action name: use "
		    "letters, digits and '_', not starting with a digit");
	if ((e = exec_body(c, action, o, &body)) != RT_E_OK)
		return e;
	snprintf(path, sizeof(path), "/v1/tools/%s/execute", tool);
	rt_call_timeout(c, exec_timeout(o->timeout_ms));
	e = rt_request(c, "POST", path, body, &root);
	json_decref(body);
	if (e != RT_E_OK)
		return e;
	if (parse_exec_result(root, out) == -1)
		e = rt_bad_response(c);
	json_decref(root);
	return e;
}
