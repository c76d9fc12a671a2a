/*
 * runtools mcp: a Model Context Protocol server over standard input and
 * output, one JSON-RPC message a line, serving the caller's tools through
 * the daemon.  Standard output carries protocol messages only; every note
 * goes to standard error.  The protocol itself is common/mcp.c's.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcp.h"
#include "tool.h"
#include "cli.h"

enum {
	MO_URL = 0x100,
	MO_CAFILE,
	MO_PROFILE,
	MO_HELP,
	MO_TOOL,
	MO_CREDENTIAL
};

static const struct option mcp_longopts[] = {
	{ "url",		required_argument,	NULL, MO_URL },
	{ "ca-file",		required_argument,	NULL, MO_CAFILE },
	{ "profile",		required_argument,	NULL, MO_PROFILE },
	{ "help",		no_argument,		NULL, MO_HELP },
	{ "tool",		required_argument,	NULL, MO_TOOL },
	{ "credential",		required_argument,	NULL, MO_CREDENTIAL },
	{ NULL,			0,			NULL, 0 }
};

static const struct mcp_server_info server = { "secretd", PACKAGE_VERSION };

/* One server's state: the session, the offered tools, the overrides. */
struct mcp_server {
	rt_client		*rt;
	struct mcp_session	 session;
	struct mcp_filter	 filter;
	json_t			*tools;		/* the GET /v1/tools body */
	json_t			*overrides;	/* --credential */
};

static int
add_tool(struct cli *c, const char *arg, char *err, size_t len)
{
	const char **t;

	if (!valid_tool_name(arg, strlen(arg))) {
		snprintf(err, len, "invalid tool name '%.*s' for --tool",
		    TOOL_NAME_MAX, arg);
		return -1;
	}
	if ((t = reallocarray(c->mcp_tools, c->nmcp_tools + 1,
	    sizeof(*t))) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	c->mcp_tools = t;
	t[c->nmcp_tools++] = arg;
	return 0;
}

static int
mcp_opt(struct cli *c, int ch, const char *arg, char *err, size_t len)
{
	switch (ch) {
	case MO_URL:
		c->url = arg;
		break;
	case MO_CAFILE:
		c->ca_file = arg;
		break;
	case MO_PROFILE:
		if (!profile_valid_name(arg)) {
			snprintf(err, len, "invalid value for --profile");
			return -1;
		}
		c->profile = arg;
		break;
	case 'h':
	case MO_HELP:
		c->help = 1;
		break;
	case MO_TOOL:
		return add_tool(c, arg, err, len);
	case MO_CREDENTIAL:
		return cli_add_credential(c, arg, err, len);
	}
	return 0;
}

/* argv[0] is "mcp"; it takes options only. */
int
mcp_parse(int argc, char **argv, struct cli *c, char *err, size_t len)
{
	int ch;

	c->cmd = CMD_MCP;
	if (c->json) {
		snprintf(err, len, "--json is not an option of 'mcp'");
		return -1;
	}
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:h", mcp_longopts, NULL)) !=
	    -1) {
		if (ch == '?' || ch == ':') {
			snprintf(err, len, ch == '?' ? "unknown option '%s'" :
			    "option '%s' needs a value", argv[optind - 1]);
			return -1;
		}
		if (mcp_opt(c, ch, optarg, err, len) == -1)
			return -1;
	}
	if (!c->help && optind < argc) {
		snprintf(err, len, "mcp takes no arguments: '%.64s'",
		    argv[optind]);
		return -1;
	}
	return 0;
}

/* {"slot": "NAME"} or {"slot": {"name": "NAME", "orgWide": true}} */
static json_t *
overrides_json(const struct cli *cl)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < cl->ncreds; i++)
		json_object_set_new(o, cl->creds[i].slot, cl->creds[i].org_wide ?
		    json_pack("{s:s,s:b}", "name", cl->creds[i].name,
		    "orgWide", 1) : json_string(cl->creds[i].name));
	return o;
}

static void
note(const char *what, const rt_client *rt)
{
	const struct rt_error_info *ei = rt_client_last_error(rt);

	fprintf(stderr, "runtools mcp: %s: ", what);
	out_clean(stderr, ei->message[0] != '\0' ? ei->message :
	    rt_strerror(ei->code));
	fprintf(stderr, "\n");
}

/* Reads the tool list again; the old one stays if that fails. */
static int
refresh_tools(struct mcp_server *s)
{
	struct rt_tool_list l;
	const char *text;
	size_t len;
	json_t *t;

	if (rt_tools_list(s->rt, &l) != RT_E_OK)
		return -1;
	rt_tool_list_clear(&l);
	text = rt_client_last_json(s->rt, &len);
	if (text == NULL || (t = json_loadb(text, len, 0, NULL)) == NULL)
		return -1;
	json_decref(s->tools);
	s->tools = t;
	return 0;
}

/* Our error shape, from what the library kept of a refused call. */
static json_t *
error_reply(rt_client *rt)
{
	const struct rt_error_info *ei = rt_client_last_error(rt);
	const char *text;
	size_t len;
	json_t *j;

	text = rt_client_last_json(rt, &len);
	if (text != NULL && (j = json_loadb(text, len, 0, NULL)) != NULL) {
		if (json_is_object(json_object_get(j, "error")))
			return j;
		json_decref(j);
	}
	return json_pack("{s:{s:s,s:s}}", "error", "code", ei->error_code,
	    "message", ei->message[0] != '\0' ? ei->message :
	    rt_strerror(ei->code));
}

/* The call's credentialOverrides as the library takes them; strings
 * borrowed from the body. */
static size_t
call_overrides(const json_t *body, struct rt_credential_override *o)
{
	const char *slot;
	json_t *v;
	size_t n = 0;

	json_object_foreach(json_object_get(body, "credentialOverrides"),
	    slot, v) {
		if (n == TOOL_SLOTS_MAX)
			break;
		o[n].slot = slot;
		o[n].org_wide = json_is_object(v);
		o[n].name = json_string_value(json_is_object(v) ?
		    json_object_get(v, "name") : v);
		n++;
	}
	return n;
}

/* The daemon's answer to the call: its status, and its body. */
static long
execute(struct mcp_server *s, const struct mcp_call *call, json_t **body)
{
	struct rt_credential_override ov[TOOL_SLOTS_MAX];
	struct rt_exec_opts o;
	struct rt_exec_result r;
	const char *text;
	char *params;
	size_t len;
	long status = 0;

	*body = NULL;
	memset(&o, 0, sizeof(o));
	if ((params = json_dumps(json_object_get(call->body, "params"),
	    JSON_COMPACT)) == NULL)
		return 0;
	o.params_json = params;
	o.overrides = ov;
	o.noverrides = call_overrides(call->body, ov);
	o.timeout_ms = call->timeout_ms > 0 ? (unsigned long)call->timeout_ms :
	    0;
	if (rt_client_set_name(s->rt, s->session.client) == -1)
		rt_client_set_name(s->rt, NULL);
	if (rt_tools_execute(s->rt, call->tool, call->action, &o, &r) ==
	    RT_E_OK) {
		rt_exec_result_clear(&r);
		text = rt_client_last_json(s->rt, &len);
		*body = text != NULL ? json_loadb(text, len, 0, NULL) : NULL;
		status = 200;
	} else {
		/* status 0: the daemon did not answer; the error says why */
		status = rt_client_last_error(s->rt)->http_status;
		*body = error_reply(s->rt);
		if (status == 0)
			note("executing a tool", s->rt);
	}
	explicit_bzero(params, strlen(params));
	free(params);
	return status;
}

static json_t *
serve_call(struct mcp_server *s, const struct mcp_request *req)
{
	struct mcp_call call;
	json_t *reply, *body;
	long status;

	if (mcp_call_to_execute(req, s->tools, &s->filter, s->overrides,
	    &call, &reply) == -1) {
		/* a tool added since the last list is found on a new one */
		if (refresh_tools(s) == -1)
			return reply;
		json_decref(reply);
		if (mcp_call_to_execute(req, s->tools, &s->filter,
		    s->overrides, &call, &reply) == -1)
			return reply;
	}
	status = execute(s, &call, &body);
	mcp_call_clear(&call);
	reply = mcp_call_reply(req, status, body);
	json_decref(body);
	return reply;
}

/* One message, not a batch: its reply, or NULL when none is due. */
static json_t *
serve_one(struct mcp_server *s, json_t *msg)
{
	struct mcp_request req;
	json_t *reply = NULL;

	switch (mcp_step(&s->session, &server, msg, &req, &reply)) {
	case MCP_STEP_NONE:
	case MCP_STEP_REPLY:
		return reply;
	case MCP_STEP_LIST:
		if (refresh_tools(s) == -1) {
			note("listing the tools", s->rt);
			return jrpc_error(req.id, JRPC_INTERNAL_ERROR,
			    "internal error: the tools could not be listed",
			    NULL);
		}
		return mcp_list_reply(&req, s->tools, &s->filter);
	case MCP_STEP_CALL:
		return serve_call(s, &req);
	}
	return NULL;
}

/* A batch is served only in a revision that has them (2025-03-26). */
static json_t *
serve_batch(struct mcp_server *s, json_t *batch)
{
	json_t *replies, *m, *r;
	size_t i;

	if (!mcp_rev_has_batches(s->session.rev))
		return jrpc_error(NULL, JRPC_INVALID_REQUEST, "invalid "
		    "request: batches are not part of this protocol revision",
		    NULL);
	replies = json_array();
	json_array_foreach(batch, i, m)
		if ((r = serve_one(s, m)) != NULL)
			json_array_append_new(replies, r);
	if (json_array_size(replies) == 0) {
		json_decref(replies);
		return NULL;
	}
	return replies;
}

static json_t *
serve_line(struct mcp_server *s, const char *line, size_t len)
{
	struct jrpc_msg m;
	json_t *msg, *reply;

	if ((msg = jrpc_parse(line, len, &reply)) == NULL)
		return reply;
	if (jrpc_classify(msg, &m, &reply) == JRPC_BATCH)
		reply = serve_batch(s, msg);
	else if (m.kind != JRPC_INVALID)
		reply = serve_one(s, msg);
	json_decref(msg);
	return reply;
}

static int
send_reply(json_t *reply)
{
	char *text;
	int rc = 0;

	if (reply == NULL)
		return 0;
	if ((text = json_dumps(reply, JSON_COMPACT)) == NULL ||
	    fputs(text, stdout) == EOF || putchar('\n') == EOF ||
	    fflush(stdout) == EOF)
		rc = -1;
	json_decref(reply);
	free(text);
	return rc;
}

/*
 * Reads one line of at most MCP_LINE_MAX bytes into buf; a longer one
 * is read to its end and *over set.  -1 at the end of input.
 */
static int
read_line(char *buf, size_t *len, int *over)
{
	int ch;

	*len = 0;
	*over = 0;
	while ((ch = getc_unlocked(stdin)) != EOF && ch != '\n') {
		if (*len < MCP_LINE_MAX)
			buf[(*len)++] = (char)ch;
		else
			*over = 1;
	}
	if (ch == EOF && *len == 0 && !*over)
		return -1;
	return 0;
}

static int
blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

static int
serve(struct mcp_server *s)
{
	char *line;
	size_t len;
	int over, rc = 0;
	json_t *reply;

	if ((line = malloc(MCP_LINE_MAX)) == NULL) {
		fprintf(stderr, "runtools mcp: out of memory\n");
		return EXIT_SERVER;
	}
	while (rc == 0 && read_line(line, &len, &over) == 0) {
		if (over)
			reply = jrpc_error(NULL, JRPC_INVALID_REQUEST,
			    "invalid request: a message over 1 MiB", NULL);
		else if (blank(line, len))
			reply = NULL;
		else
			reply = serve_line(s, line, len);
		explicit_bzero(line, len);
		if (send_reply(reply) == -1) {
			fprintf(stderr, "runtools mcp: writing standard "
			    "output: %s\n", strerror(errno));
			rc = EXIT_SERVER;
		}
	}
	free(line);
	if (rc == 0 && ferror(stdin)) {
		fprintf(stderr, "runtools mcp: reading standard input: %s\n",
		    strerror(errno));
		rc = EXIT_SERVER;
	}
	return rc;
}

int
cmd_mcp(rt_client *rt, struct cli *cl)
{
	struct mcp_server s;
	const char *missing;
	long status;
	int rv;

	memset(&s, 0, sizeof(s));
	s.rt = rt;
	s.filter.tools = cl->mcp_tools;
	s.filter.ntools = cl->nmcp_tools;
	/* a closed standard output is an error to report, not a signal */
	signal(SIGPIPE, SIG_IGN);
	if (refresh_tools(&s) == -1) {
		note("listing the tools", rt);
		status = rt_client_last_error(rt)->http_status;
		return status == 401 || status == 403 ? EXIT_AUTH :
		    EXIT_SERVER;
	}
	if (*(missing = mcp_filter_missing(s.tools, &s.filter)) != '\0') {
		fprintf(stderr, "runtools mcp: --tool %s: no such tool among "
		    "those you may run\n", missing);
		json_decref(s.tools);
		return EXIT_NOTFOUND;
	}
	s.overrides = overrides_json(cl);
	rv = serve(&s);
	json_decref(s.tools);
	json_decref(s.overrides);
	return rv;
}
