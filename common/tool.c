/*
 * Tool definitions and the broker <-> runner messages: the rules a tool
 * must follow, and one encoder and one decoder per message.  The tools
 * folder parser, the broker and the runner all apply tool_check(), so a
 * definition that reaches the runner is one the parser would accept.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tool.h"

/* [A-Za-z0-9_][A-Za-z0-9_-]{0,63}: no leading '-', never an option. */
int
valid_tool_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > TOOL_NAME_MAX || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/*
 * A client's name goes into the audit log as it came: printable ASCII
 * (an agent's name may hold spaces), no control byte, bounded.
 */
int
valid_client(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > TOOL_CLIENT_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* [A-Za-z_][A-Za-z0-9_]{0,63}: slots, actions, params, variables. */
int
valid_field_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > TOOL_FIELD_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '_' || (c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9'))
			continue;
		return 0;
	}
	return 1;
}

/* No control character: descriptions, arguments, paths. */
static int
plain_text(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* An HTTP header name: RFC 9110 token characters. */
static int
header_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (strchr("!#$%&'*+-.^_`|~", *s) == NULL &&
		    !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

/* A query parameter name we never need to encode. */
static int
query_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (strchr("-._~", *s) == NULL &&
		    !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

/* Exactly one "{}" and nothing that could end a header line. */
static int
slot_template(const char *t)
{
	const char *p = strstr(t, "{}");

	return p != NULL && strstr(p + 2, "{}") == NULL && plain_text(t);
}

/* A port: 1 to 65535, no sign and no leading zero. */
static int
port_ok(const char *s, size_t n)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5 || s[0] == '0')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v <= 65535;
}

/*
 * host[:port] with host a DNS name or IPv4 address (letters, digits, '-'
 * and '.') or a bracketed IPv6 address: nothing the runner and libcurl
 * could read as two different hosts.
 */
static int
authority_ok(const char *h, size_t n)
{
	size_t end;

	if (n > 0 && h[0] == '[') {
		for (end = 1; end < n && h[end] != ']'; end++)
			if (strchr("0123456789abcdefABCDEF:.", h[end]) == NULL)
				return 0;
		if (end == n || end < 3)
			return 0;
		end++;
	} else {
		for (end = 0; end < n && h[end] != ':'; end++)
			if (!((h[end] >= 'A' && h[end] <= 'Z') ||
			    (h[end] >= 'a' && h[end] <= 'z') ||
			    (h[end] >= '0' && h[end] <= '9') ||
			    h[end] == '-' || h[end] == '.'))
				return 0;
		if (end == 0 || h[0] == '.' || h[0] == '-')
			return 0;
	}
	if (end == n)
		return 1;
	return h[end] == ':' && port_ok(h + end + 1, n - end - 1);
}

/*
 * An http(s) base URL: no user info, query or fragment, no character a
 * URL would need encoded; plain http only when allowed, and only to
 * loopback.
 */
static int
base_url_ok(const char *url, int plain_allowed, char *err, size_t errlen)
{
	const char *host, *end, *p;
	size_t hlen;
	int plain;

	if (strncmp(url, "https://", 8) == 0) {
		host = url + 8;
		plain = 0;
	} else if (strncmp(url, "http://", 7) == 0) {
		host = url + 7;
		plain = 1;
	} else {
		snprintf(err, errlen, "base_url must start with https://");
		return 0;
	}
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("@?#\\\"<>{}|^`", *p) != NULL) {
			snprintf(err, errlen, "base_url holds '%c'; give the "
			    "scheme, host, port and path only", *p);
			return 0;
		}
	end = strchr(host, '/');
	hlen = end != NULL ? (size_t)(end - host) : strlen(host);
	if (hlen == 0) {
		snprintf(err, errlen, "base_url has no host");
		return 0;
	}
	if (!authority_ok(host, hlen)) {
		snprintf(err, errlen, "base_url: bad host or port \"%.*s\"",
		    (int)(hlen > 128 ? 128 : hlen), host);
		return 0;
	}
	if (plain) {
		if (!plain_allowed) {
			snprintf(err, errlen, "base_url is plain http; set "
			    "allow_plain_http = yes (loopback only) or use "
			    "https");
			return 0;
		}
		if (!((hlen >= 9 && strncmp(host, "127.0.0.1", 9) == 0 &&
		    (hlen == 9 || host[9] == ':')) ||
		    (hlen >= 9 && strncmp(host, "localhost", 9) == 0 &&
		    (hlen == 9 || host[9] == ':')) ||
		    (hlen >= 5 && strncmp(host, "[::1]", 5) == 0 &&
		    (hlen == 5 || host[5] == ':')))) {
			snprintf(err, errlen, "plain http is allowed to "
			    "127.0.0.1, [::1] or localhost only");
			return 0;
		}
	}
	return 1;
}

static int
param_in_path(const char *path, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = strchr(path, '{'); p != NULL; p = strchr(p + 1, '{'))
		if (strncmp(p + 1, name, n) == 0 && p[1 + n] == '}')
			return 1;
	return 0;
}

/* Every {name} in the path must be a PARAM_PATH parameter. */
static int
path_ok(const struct tool_action *a, char *err, size_t errlen)
{
	const char *p = a->path, *close;
	char name[TOOL_FIELD_MAX + 1];
	uint32_t i;
	size_t n;

	if (p[0] != '/' || !plain_text(p) || strpbrk(p, " ?#") != NULL) {
		snprintf(err, errlen, "action %s: path must start with '/' "
		    "and hold no space, '?' or '#'", a->name);
		return 0;
	}
	while ((p = strpbrk(p, "{}")) != NULL) {
		if (*p == '}' || (close = strchr(p, '}')) == NULL ||
		    (n = (size_t)(close - p - 1)) == 0 || n > TOOL_FIELD_MAX) {
			snprintf(err, errlen, "action %s: unbalanced '%c' in "
			    "path", a->name, *p);
			return 0;
		}
		memcpy(name, p + 1, n);
		name[n] = '\0';
		for (i = 0; i < a->nparams; i++)
			if (strcmp(a->params[i].name, name) == 0 &&
			    a->params[i].place == PARAM_PATH)
				break;
		if (i == a->nparams) {
			snprintf(err, errlen, "action %s: path names {%s}, "
			    "which is not a path parameter", a->name, name);
			return 0;
		}
		p = close + 1;
	}
	return 1;
}

/* One action of tool t: name, description, parameters, method and path. */
int
tool_check_action(const struct tool *t, const struct tool_action *a,
    char *err, size_t errlen)
{
	static const char *methods[] = {
		"GET", "POST", "PUT", "PATCH", "DELETE", NULL
	};
	uint32_t i, j;
	int m;

	if (!valid_field_name(a->name, strlen(a->name))) {
		snprintf(err, errlen, "action name must be letters, digits "
		    "and '_', starting with a letter or '_'");
		return -1;
	}
	if (!plain_text(a->description)) {
		snprintf(err, errlen, "action %s: description holds a "
		    "control character", a->name);
		return -1;
	}
	if (a->nparams > TOOL_PARAMS_MAX) {
		snprintf(err, errlen, "action %s: more than %d parameters",
		    a->name, TOOL_PARAMS_MAX);
		return -1;
	}
	for (i = 0; i < a->nparams; i++) {
		const struct tool_param *p = &a->params[i];

		if (!valid_field_name(p->name, strlen(p->name)) ||
		    p->type < PARAM_STRING || p->type > PARAM_BOOL ||
		    p->required > 1 || p->place < PARAM_PATH ||
		    p->place > PARAM_BODY) {
			snprintf(err, errlen, "action %s: bad parameter "
			    "'%s'", a->name, p->name);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(a->params[j].name, p->name) == 0) {
				snprintf(err, errlen, "action %s: parameter "
				    "%s given twice", a->name, p->name);
				return -1;
			}
		if (t->type == TOOL_EXEC && p->place != PARAM_BODY) {
			snprintf(err, errlen, "action %s: exec tools take "
			    "parameters on stdin only", a->name);
			return -1;
		}
		if (p->place == PARAM_PATH) {
			if (!p->required) {
				snprintf(err, errlen, "action %s: path "
				    "parameter %s must be required", a->name,
				    p->name);
				return -1;
			}
			if (!param_in_path(a->path, p->name)) {
				snprintf(err, errlen, "action %s: path "
				    "parameter %s is not in the path",
				    a->name, p->name);
				return -1;
			}
		}
	}
	if (t->type == TOOL_EXEC) {
		if (a->method[0] != '\0' || a->path[0] != '\0') {
			snprintf(err, errlen, "action %s: exec tools take no "
			    "method or path", a->name);
			return -1;
		}
		return 0;
	}
	for (m = 0; methods[m] != NULL; m++)
		if (strcmp(a->method, methods[m]) == 0)
			break;
	if (methods[m] == NULL) {
		snprintf(err, errlen, "action %s: method must be GET, POST, "
		    "PUT, PATCH or DELETE", a->name);
		return -1;
	}
	return path_ok(a, err, errlen) ? 0 : -1;
}

/* One credential slot of tool t: where its value goes, by tool type. */
int
tool_check_slot(const struct tool *t, const struct tool_slot *s, char *err,
    size_t errlen)
{
	if (!valid_field_name(s->name, strlen(s->name))) {
		snprintf(err, errlen, "slot name must be letters, digits and "
		    "'_', starting with a letter or '_'");
		return -1;
	}
	if (!valid_secret_name(s->secret, strlen(s->secret))) {
		snprintf(err, errlen, "slot %s: secret must be a valid "
		    "secret name", s->name);
		return -1;
	}
	if (!slot_template(s->tmpl)) {
		snprintf(err, errlen, "slot %s: the value template must hold "
		    "exactly one {} and no control character", s->name);
		return -1;
	}
	if (s->place == SLOT_ENV && t->type != TOOL_EXEC) {
		snprintf(err, errlen, "slot %s: http tools put a value in a "
		    "header, query or basic auth, not env", s->name);
		return -1;
	}
	if (s->place != SLOT_ENV && t->type != TOOL_HTTP) {
		snprintf(err, errlen, "slot %s: exec tools put a value in an "
		    "environment variable (env) only", s->name);
		return -1;
	}
	switch (s->place) {
	case SLOT_HEADER:
		if (header_name(s->target))
			return 0;
		snprintf(err, errlen, "slot %s: bad header name \"%s\"",
		    s->name, s->target);
		return -1;
	case SLOT_QUERY:
		if (query_name(s->target))
			return 0;
		snprintf(err, errlen, "slot %s: bad query parameter name "
		    "\"%s\": letters, digits, '-', '.', '_' or '~'", s->name,
		    s->target);
		return -1;
	case SLOT_BASIC:
		if (s->target[0] == '\0')
			return 0;
		snprintf(err, errlen, "slot %s: basic auth takes no name",
		    s->name);
		return -1;
	case SLOT_ENV:
		if (valid_field_name(s->target, strlen(s->target)) &&
		    strcmp(s->target, "PATH") != 0 &&
		    strcmp(s->target, "HOME") != 0 &&
		    strcmp(s->target, "LANG") != 0)
			return 0;
		snprintf(err, errlen, "slot %s: bad variable name \"%s\": "
		    "letters, digits and '_', not PATH, HOME or LANG",
		    s->name, s->target);
		return -1;
	}
	snprintf(err, errlen, "slot %s: no placement", s->name);
	return -1;
}

/* Everything but the slots and actions. */
int
tool_check_head(const struct tool *t, char *err, size_t errlen)
{
	uint32_t i;

	if (!valid_tool_name(t->name, strlen(t->name))) {
		snprintf(err, errlen, "tool name must be 1 to %d letters, "
		    "digits, '-' or '_'", TOOL_NAME_MAX);
		return -1;
	}
	if (!plain_text(t->description)) {
		snprintf(err, errlen, "description holds a control "
		    "character");
		return -1;
	}
	if (t->allow > TOOL_ALLOW_ADMINS) {
		snprintf(err, errlen, "allow must be members or admins");
		return -1;
	}
	if (t->timeout_ms == 0 || t->timeout_ms > TOOL_TIMEOUT_MAX_MS) {
		snprintf(err, errlen, "timeout must be between 1 ms and %d s",
		    TOOL_TIMEOUT_MAX_MS / 1000);
		return -1;
	}
	if (t->max_result == 0 || t->max_result > TOOL_RESULT_MAX) {
		snprintf(err, errlen, "max_result must be between 1 byte and "
		    "%d KiB", TOOL_RESULT_MAX / 1024);
		return -1;
	}
	if (t->allow_plain_http > 1) {
		snprintf(err, errlen, "allow_plain_http must be yes or no");
		return -1;
	}
	switch (t->type) {
	case TOOL_HTTP:
		if (!base_url_ok(t->base_url, t->allow_plain_http, err,
		    errlen))
			return -1;
		if (t->command[0] != '\0' || t->nargs != 0) {
			snprintf(err, errlen, "http tools take no command or "
			    "arguments");
			return -1;
		}
		if (!plain_text(t->ca_file) || (t->ca_file[0] != '\0' &&
		    t->ca_file[0] != '/')) {
			snprintf(err, errlen, "ca_file must be an absolute "
			    "path");
			return -1;
		}
		break;
	case TOOL_EXEC:
		if (t->command[0] != '/' || !plain_text(t->command)) {
			snprintf(err, errlen, "command must be an absolute "
			    "path");
			return -1;
		}
		if (t->base_url[0] != '\0' || t->ca_file[0] != '\0' ||
		    t->allow_plain_http) {
			snprintf(err, errlen, "exec tools take no base_url, "
			    "ca_file or allow_plain_http");
			return -1;
		}
		if (t->nargs > TOOL_ARGS_MAX) {
			snprintf(err, errlen, "more than %d arguments",
			    TOOL_ARGS_MAX);
			return -1;
		}
		for (i = 0; i < t->nargs; i++)
			if (!plain_text(t->args[i])) {
				snprintf(err, errlen, "argument %u holds a "
				    "control character", i + 1);
				return -1;
			}
		break;
	default:
		snprintf(err, errlen, "type must be http or exec");
		return -1;
	}
	return 0;
}

/* Two slots may not put their values in the same place. */
static int
same_target(const struct tool_slot *a, const struct tool_slot *b)
{
	if (a->place != b->place)
		return 0;
	if (a->place == SLOT_HEADER)
		return strcasecmp(a->target, b->target) == 0;
	return strcmp(a->target, b->target) == 0;
}

int
tool_check(const struct tool *t, char *err, size_t errlen)
{
	uint32_t i, j;

	if (tool_check_head(t, err, errlen) == -1)
		return -1;
	if (t->nslots > TOOL_SLOTS_MAX) {
		snprintf(err, errlen, "more than %d credential slots",
		    TOOL_SLOTS_MAX);
		return -1;
	}
	for (i = 0; i < t->nslots; i++) {
		if (tool_check_slot(t, &t->slots[i], err, errlen) == -1)
			return -1;
		for (j = 0; j < i; j++) {
			if (strcmp(t->slots[j].name, t->slots[i].name) == 0) {
				snprintf(err, errlen, "slot %s given twice",
				    t->slots[i].name);
				return -1;
			}
			if (same_target(&t->slots[j], &t->slots[i])) {
				snprintf(err, errlen, "slots %s and %s put "
				    "their values in the same place",
				    t->slots[j].name, t->slots[i].name);
				return -1;
			}
		}
	}
	if (t->nactions == 0 || t->nactions > TOOL_ACTIONS_MAX) {
		snprintf(err, errlen, "a tool needs 1 to %d actions",
		    TOOL_ACTIONS_MAX);
		return -1;
	}
	for (i = 0; i < t->nactions; i++) {
		if (tool_check_action(t, &t->actions[i], err, errlen) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(t->actions[j].name,
			    t->actions[i].name) == 0) {
				snprintf(err, errlen, "action %s given twice",
				    t->actions[i].name);
				return -1;
			}
	}
	return 0;
}

const struct tool_action *
tool_action(const struct tool *t, const char *name)
{
	uint32_t i;

	for (i = 0; i < t->nactions && i < TOOL_ACTIONS_MAX; i++)
		if (strcmp(t->actions[i].name, name) == 0)
			return &t->actions[i];
	return NULL;
}

const struct tool_slot *
tool_slot(const struct tool *t, const char *name)
{
	uint32_t i;

	for (i = 0; i < t->nslots && i < TOOL_SLOTS_MAX; i++)
		if (strcmp(t->slots[i].name, name) == 0)
			return &t->slots[i];
	return NULL;
}

const struct tool_param *
action_param(const struct tool_action *a, const char *name)
{
	uint32_t i;

	for (i = 0; i < a->nparams && i < TOOL_PARAMS_MAX; i++)
		if (strcmp(a->params[i].name, name) == 0)
			return &a->params[i];
	return NULL;
}

/*
 * tool: str name, str description, u8 type, u8 allow, u32 timeout_ms,
 * u32 max_result, str base_url, str ca_file, u8 allow_plain_http,
 * str command, u32 nargs, nargs * str, u32 nslots, nslots * (str name,
 * str secret, u8 place, str target, str tmpl), u32 nactions, nactions *
 * (str name, str description, str method, str path, u32 nparams,
 * nparams * (str name, u8 type, u8 required, u8 place)).
 */
void
tool_put(struct ipc_msg *m, const struct tool *t)
{
	uint32_t i, j;

	ipc_put_str(m, t->name);
	ipc_put_str(m, t->description);
	ipc_put_u8(m, t->type);
	ipc_put_u8(m, t->allow);
	ipc_put_u32(m, t->timeout_ms);
	ipc_put_u32(m, t->max_result);
	ipc_put_str(m, t->base_url);
	ipc_put_str(m, t->ca_file);
	ipc_put_u8(m, t->allow_plain_http);
	ipc_put_str(m, t->command);
	ipc_put_u32(m, t->nargs);
	for (i = 0; i < t->nargs; i++)
		ipc_put_str(m, t->args[i]);
	ipc_put_u32(m, t->nslots);
	for (i = 0; i < t->nslots; i++) {
		const struct tool_slot *s = &t->slots[i];

		ipc_put_str(m, s->name);
		ipc_put_str(m, s->secret);
		ipc_put_u8(m, s->place);
		ipc_put_str(m, s->target);
		ipc_put_str(m, s->tmpl);
	}
	ipc_put_u32(m, t->nactions);
	for (i = 0; i < t->nactions; i++) {
		const struct tool_action *a = &t->actions[i];

		ipc_put_str(m, a->name);
		ipc_put_str(m, a->description);
		ipc_put_str(m, a->method);
		ipc_put_str(m, a->path);
		ipc_put_u32(m, a->nparams);
		for (j = 0; j < a->nparams; j++) {
			ipc_put_str(m, a->params[j].name);
			ipc_put_u8(m, a->params[j].type);
			ipc_put_u8(m, a->params[j].required);
			ipc_put_u8(m, a->params[j].place);
		}
	}
}

static int
get_count(struct ipc_reader *r, uint32_t *n, uint32_t max)
{
	return ipc_get_u32(r, n) == -1 || *n > max ? -1 : 0;
}

static int
get_action(struct ipc_reader *r, struct tool_action *a)
{
	uint32_t j;

	if (ipc_get_strbuf(r, a->name, sizeof(a->name)) == -1 ||
	    ipc_get_strbuf(r, a->description, sizeof(a->description)) == -1 ||
	    ipc_get_strbuf(r, a->method, sizeof(a->method)) == -1 ||
	    ipc_get_strbuf(r, a->path, sizeof(a->path)) == -1 ||
	    get_count(r, &a->nparams, TOOL_PARAMS_MAX) == -1)
		return -1;
	for (j = 0; j < a->nparams; j++)
		if (ipc_get_strbuf(r, a->params[j].name,
		    sizeof(a->params[j].name)) == -1 ||
		    ipc_get_u8(r, &a->params[j].type) == -1 ||
		    ipc_get_u8(r, &a->params[j].required) == -1 ||
		    ipc_get_u8(r, &a->params[j].place) == -1)
			return -1;
	return 0;
}

int
tool_get(struct ipc_reader *r, struct tool *t)
{
	char err[256];
	uint32_t i;

	memset(t, 0, sizeof(*t));
	if (ipc_get_strbuf(r, t->name, sizeof(t->name)) == -1 ||
	    ipc_get_strbuf(r, t->description, sizeof(t->description)) == -1 ||
	    ipc_get_u8(r, &t->type) == -1 ||
	    ipc_get_u8(r, &t->allow) == -1 ||
	    ipc_get_u32(r, &t->timeout_ms) == -1 ||
	    ipc_get_u32(r, &t->max_result) == -1 ||
	    ipc_get_strbuf(r, t->base_url, sizeof(t->base_url)) == -1 ||
	    ipc_get_strbuf(r, t->ca_file, sizeof(t->ca_file)) == -1 ||
	    ipc_get_u8(r, &t->allow_plain_http) == -1 ||
	    ipc_get_strbuf(r, t->command, sizeof(t->command)) == -1 ||
	    get_count(r, &t->nargs, TOOL_ARGS_MAX) == -1)
		return -1;
	for (i = 0; i < t->nargs; i++)
		if (ipc_get_strbuf(r, t->args[i], sizeof(t->args[i])) == -1)
			return -1;
	if (get_count(r, &t->nslots, TOOL_SLOTS_MAX) == -1)
		return -1;
	for (i = 0; i < t->nslots; i++) {
		struct tool_slot *s = &t->slots[i];

		if (ipc_get_strbuf(r, s->name, sizeof(s->name)) == -1 ||
		    ipc_get_strbuf(r, s->secret, sizeof(s->secret)) == -1 ||
		    ipc_get_u8(r, &s->place) == -1 ||
		    ipc_get_strbuf(r, s->target, sizeof(s->target)) == -1 ||
		    ipc_get_strbuf(r, s->tmpl, sizeof(s->tmpl)) == -1)
			return -1;
	}
	if (get_count(r, &t->nactions, TOOL_ACTIONS_MAX) == -1)
		return -1;
	for (i = 0; i < t->nactions; i++)
		if (get_action(r, &t->actions[i]) == -1)
			return -1;
	return tool_check(t, err, sizeof(err));
}

static int
param_value_ok(const struct run_param *p)
{
	const char *v = p->value, *s;

	switch (p->type) {
	case PARAM_STRING:
		return 1;
	case PARAM_BOOL:
		return strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
	case PARAM_NUMBER:
		/* JSON's number grammar, so the text can go into JSON. */
		s = v;
		if (*s == '-')
			s++;
		if (*s == '0')
			s++;
		else if (*s >= '1' && *s <= '9')
			while (*s >= '0' && *s <= '9')
				s++;
		else
			return 0;
		if (*s == '.') {
			if (*++s < '0' || *s > '9')
				return 0;
			while (*s >= '0' && *s <= '9')
				s++;
		}
		if (*s == 'e' || *s == 'E') {
			s++;
			if (*s == '+' || *s == '-')
				s++;
			if (*s < '0' || *s > '9')
				return 0;
			while (*s >= '0' && *s <= '9')
				s++;
		}
		return *s == '\0';
	}
	return 0;
}

/*
 * Checks a request against its tool: a known action, each parameter
 * declared once with its type, every required one present, one value
 * per slot of the tool.  The broker checks before it sends; the runner
 * checks what it received.
 */
int
run_request_check(const struct run_request *rq, char *err, size_t errlen)
{
	const struct tool_action *a;
	const struct tool_param *p;
	uint32_t i, j;

	if ((a = tool_action(&rq->tool, rq->action)) == NULL) {
		snprintf(err, errlen, "unknown action");
		return -1;
	}
	if (rq->nparams > TOOL_PARAMS_MAX || rq->ncreds > TOOL_SLOTS_MAX) {
		snprintf(err, errlen, "too many parameters or credentials");
		return -1;
	}
	for (i = 0; i < rq->nparams; i++) {
		if ((p = action_param(a, rq->params[i].name)) == NULL) {
			snprintf(err, errlen, "params.%s: not a parameter of "
			    "%s", rq->params[i].name, a->name);
			return -1;
		}
		if (p->type != rq->params[i].type ||
		    !param_value_ok(&rq->params[i])) {
			snprintf(err, errlen, "params.%s: must be a %s",
			    p->name, p->type == PARAM_STRING ? "string" :
			    p->type == PARAM_NUMBER ? "number" : "boolean");
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(rq->params[j].name,
			    rq->params[i].name) == 0) {
				snprintf(err, errlen, "params.%s: given "
				    "twice", p->name);
				return -1;
			}
	}
	for (i = 0; i < a->nparams; i++) {
		if (!a->params[i].required)
			continue;
		for (j = 0; j < rq->nparams; j++)
			if (strcmp(rq->params[j].name,
			    a->params[i].name) == 0)
				break;
		if (j == rq->nparams) {
			snprintf(err, errlen, "params.%s: required",
			    a->params[i].name);
			return -1;
		}
	}
	if (rq->ncreds != rq->tool.nslots) {
		snprintf(err, errlen, "one credential per slot");
		return -1;
	}
	for (i = 0; i < rq->ncreds; i++) {
		if (tool_slot(&rq->tool, rq->creds[i].slot) == NULL) {
			snprintf(err, errlen, "credentialOverrides.%s: not a "
			    "slot of %s", rq->creds[i].slot, rq->tool.name);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(rq->creds[j].slot, rq->creds[i].slot) == 0) {
				snprintf(err, errlen, "credentialOverrides.%s: "
				    "given twice", rq->creds[i].slot);
				return -1;
			}
	}
	return 0;
}

void
run_request_put(struct ipc_msg *m, const struct run_request *rq)
{
	uint32_t i;

	tool_put(m, &rq->tool);
	ipc_put_str(m, rq->action);
	ipc_put_u32(m, rq->nparams);
	for (i = 0; i < rq->nparams; i++) {
		ipc_put_str(m, rq->params[i].name);
		ipc_put_u8(m, rq->params[i].type);
		ipc_put_str(m, rq->params[i].value);
	}
	ipc_put_u32(m, rq->ncreds);
	for (i = 0; i < rq->ncreds; i++) {
		ipc_put_str(m, rq->creds[i].slot);
		ipc_put_bytes(m, rq->creds[i].value, rq->creds[i].value_len);
	}
}

int
run_request_get(struct ipc_reader *r, struct run_request *rq)
{
	char err[256];
	const void *v;
	uint32_t i;

	memset(rq, 0, sizeof(*rq));
	if (tool_get(r, &rq->tool) == -1 ||
	    ipc_get_strbuf(r, rq->action, sizeof(rq->action)) == -1 ||
	    get_count(r, &rq->nparams, TOOL_PARAMS_MAX) == -1)
		return -1;
	for (i = 0; i < rq->nparams; i++)
		if (ipc_get_strbuf(r, rq->params[i].name,
		    sizeof(rq->params[i].name)) == -1 ||
		    ipc_get_u8(r, &rq->params[i].type) == -1 ||
		    ipc_get_strbuf(r, rq->params[i].value,
		    sizeof(rq->params[i].value)) == -1)
			return -1;
	if (get_count(r, &rq->ncreds, TOOL_SLOTS_MAX) == -1)
		return -1;
	for (i = 0; i < rq->ncreds; i++) {
		if (ipc_get_strbuf(r, rq->creds[i].slot,
		    sizeof(rq->creds[i].slot)) == -1 ||
		    ipc_get_bytes(r, &v, &rq->creds[i].value_len) == -1 ||
		    rq->creds[i].value_len == 0 ||
		    rq->creds[i].value_len > VALUE_MAX_LEN)
			return -1;
		rq->creds[i].value = v;
	}
	if (ipc_end(r) == -1)
		return -1;
	return run_request_check(rq, err, sizeof(err));
}

static void
result_put(struct ipc_msg *m, const struct run_result *rs)
{
	ipc_put_u8(m, rs->outcome);
	ipc_put_str(m, rs->message);
	ipc_put_u8(m, rs->ok);
	ipc_put_u32(m, rs->status);
	ipc_put_u32(m, rs->duration_ms);
	ipc_put_u32(m, rs->redactions);
	ipc_put_u8(m, rs->result_is_json);
	ipc_put_bytes(m, rs->result, rs->result_len);
	ipc_put_bytes(m, rs->stderr_buf, rs->stderr_len);
}

void
run_result_put(struct ipc_msg *m, const struct run_result *rs)
{
	result_put(m, rs);
}

static int
result_get(struct ipc_reader *r, struct run_result *rs)
{
	const void *res, *errb;

	memset(rs, 0, sizeof(*rs));
	if (ipc_get_u8(r, &rs->outcome) == -1 ||
	    ipc_get_strbuf(r, rs->message, sizeof(rs->message)) == -1 ||
	    ipc_get_u8(r, &rs->ok) == -1 ||
	    ipc_get_u32(r, &rs->status) == -1 ||
	    ipc_get_u32(r, &rs->duration_ms) == -1 ||
	    ipc_get_u32(r, &rs->redactions) == -1 ||
	    ipc_get_u8(r, &rs->result_is_json) == -1 ||
	    ipc_get_bytes(r, &res, &rs->result_len) == -1 ||
	    ipc_get_bytes(r, &errb, &rs->stderr_len) == -1)
		return -1;
	if (rs->outcome > RUN_INTERNAL || rs->ok > 1 ||
	    rs->result_is_json > 1 || rs->result_len > TOOL_RESULT_MAX ||
	    rs->stderr_len > TOOL_STDERR_MAX)
		return -1;
	if (rs->message[0] != '\0') {
		const char *p;

		for (p = rs->message; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return -1;
	}
	rs->result = res;
	rs->stderr_buf = errb;
	return 0;
}

int
run_result_get(struct ipc_reader *r, struct run_result *rs)
{
	return result_get(r, rs) == -1 || ipc_end(r) == -1 ? -1 : 0;
}

void
tool_list_req_put(struct ipc_msg *m, const struct tool_list_req *lr)
{
	msg_auth_put(m, &lr->auth);
	ipc_put_u32(m, lr->limit);
	ipc_put_str(m, lr->cursor);
}

int
tool_list_req_get(struct ipc_reader *r, struct tool_list_req *lr)
{
	memset(lr, 0, sizeof(*lr));
	if (msg_auth_get(r, &lr->auth) == -1 ||
	    ipc_get_u32(r, &lr->limit) == -1 ||
	    ipc_get_strbuf(r, lr->cursor, sizeof(lr->cursor)) == -1 ||
	    ipc_end(r) == -1)
		return -1;
	if (lr->cursor[0] != '\0' &&
	    !valid_tool_name(lr->cursor, strlen(lr->cursor)))
		return -1;
	return 0;
}

void
tool_get_req_put(struct ipc_msg *m, const struct tool_get_req *g)
{
	msg_auth_put(m, &g->auth);
	ipc_put_str(m, g->name);
}

int
tool_get_req_get(struct ipc_reader *r, struct tool_get_req *g)
{
	memset(g, 0, sizeof(*g));
	if (msg_auth_get(r, &g->auth) == -1 ||
	    ipc_get_strbuf(r, g->name, sizeof(g->name)) == -1 ||
	    !valid_tool_name(g->name, strlen(g->name)))
		return -1;
	return ipc_end(r);
}

void
tool_exec_req_put(struct ipc_msg *m, const struct tool_exec_req *x)
{
	uint32_t i;

	msg_auth_put(m, &x->auth);
	ipc_put_str(m, x->client);
	ipc_put_str(m, x->tool);
	ipc_put_str(m, x->action);
	ipc_put_u32(m, x->nparams);
	for (i = 0; i < x->nparams; i++) {
		ipc_put_str(m, x->params[i].name);
		ipc_put_u8(m, x->params[i].type);
		ipc_put_str(m, x->params[i].value);
	}
	ipc_put_u32(m, x->noverrides);
	for (i = 0; i < x->noverrides; i++) {
		ipc_put_str(m, x->overrides[i].slot);
		ipc_put_str(m, x->overrides[i].name);
		ipc_put_u8(m, x->overrides[i].org_wide);
	}
}

/*
 * The front-end checked all of this; a message that breaks a rule came
 * from a front-end that is not ours any more.  Whether the names exist
 * and the values fit their declared types is the broker's to answer.
 */
int
tool_exec_req_get(struct ipc_reader *r, struct tool_exec_req *x)
{
	uint32_t i, j;

	memset(x, 0, sizeof(*x));
	if (msg_auth_get(r, &x->auth) == -1 ||
	    ipc_get_strbuf(r, x->client, sizeof(x->client)) == -1 ||
	    (x->client[0] != '\0' &&
	    !valid_client(x->client, strlen(x->client))) ||
	    ipc_get_strbuf(r, x->tool, sizeof(x->tool)) == -1 ||
	    !valid_tool_name(x->tool, strlen(x->tool)) ||
	    ipc_get_strbuf(r, x->action, sizeof(x->action)) == -1 ||
	    !valid_field_name(x->action, strlen(x->action)) ||
	    get_count(r, &x->nparams, TOOL_PARAMS_MAX) == -1)
		return -1;
	for (i = 0; i < x->nparams; i++) {
		struct run_param *p = &x->params[i];

		if (ipc_get_strbuf(r, p->name, sizeof(p->name)) == -1 ||
		    !valid_field_name(p->name, strlen(p->name)) ||
		    ipc_get_u8(r, &p->type) == -1 ||
		    p->type < PARAM_STRING || p->type > PARAM_BOOL ||
		    ipc_get_strbuf(r, p->value, sizeof(p->value)) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(x->params[j].name, p->name) == 0)
				return -1;
	}
	if (get_count(r, &x->noverrides, TOOL_SLOTS_MAX) == -1)
		return -1;
	for (i = 0; i < x->noverrides; i++) {
		struct tool_override *o = &x->overrides[i];

		if (ipc_get_strbuf(r, o->slot, sizeof(o->slot)) == -1 ||
		    !valid_field_name(o->slot, strlen(o->slot)) ||
		    ipc_get_strbuf(r, o->name, sizeof(o->name)) == -1 ||
		    !valid_secret_name(o->name, strlen(o->name)) ||
		    ipc_get_u8(r, &o->org_wide) == -1 || o->org_wide > 1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(x->overrides[j].slot, o->slot) == 0)
				return -1;
	}
	return ipc_end(r);
}

void
tool_exec_reply_put(struct ipc_msg *m, const struct tool_exec_reply *x)
{
	uint32_t i;

	ipc_put_str(m, x->tool);
	ipc_put_str(m, x->action);
	ipc_put_u8(m, x->type);
	result_put(m, &x->res);
	ipc_put_u32(m, x->ncreds);
	for (i = 0; i < x->ncreds; i++) {
		ipc_put_str(m, x->creds[i].slot);
		ipc_put_str(m, x->creds[i].name);
		ipc_put_u8(m, x->creds[i].scope);
		ipc_put_u32(m, x->creds[i].version);
	}
}

int
tool_exec_reply_get(struct ipc_reader *r, struct tool_exec_reply *x)
{
	uint32_t i;

	memset(x, 0, sizeof(*x));
	if (ipc_get_strbuf(r, x->tool, sizeof(x->tool)) == -1 ||
	    !valid_tool_name(x->tool, strlen(x->tool)) ||
	    ipc_get_strbuf(r, x->action, sizeof(x->action)) == -1 ||
	    !valid_field_name(x->action, strlen(x->action)) ||
	    ipc_get_u8(r, &x->type) == -1 ||
	    (x->type != TOOL_HTTP && x->type != TOOL_EXEC) ||
	    result_get(r, &x->res) == -1 || x->res.outcome != RUN_OK ||
	    get_count(r, &x->ncreds, TOOL_SLOTS_MAX) == -1)
		return -1;
	for (i = 0; i < x->ncreds; i++) {
		struct tool_cred_use *c = &x->creds[i];

		if (ipc_get_strbuf(r, c->slot, sizeof(c->slot)) == -1 ||
		    !valid_field_name(c->slot, strlen(c->slot)) ||
		    ipc_get_strbuf(r, c->name, sizeof(c->name)) == -1 ||
		    !valid_secret_name(c->name, strlen(c->name)) ||
		    ipc_get_u8(r, &c->scope) == -1 || c->scope > SCOPE_ORG ||
		    ipc_get_u32(r, &c->version) == -1)
			return -1;
	}
	return ipc_end(r);
}
