/*
 * runtools: the command-line client of secretd, built on libruntools.
 * It never takes a token from argv, and writes a revealed value only to
 * standard output, wiping every copy it held.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "runtools.h"
#include "cli.h"

static int have_token;

static int
exit_code(enum rt_error e)
{
	switch (e) {
	case RT_E_OK:
		return 0;
	case RT_E_USAGE:
	case RT_E_INVALID:
		return EXIT_USAGE;
	case RT_E_NOTFOUND:
		return EXIT_NOTFOUND;
	case RT_E_AUTH:
		return EXIT_AUTH;
	default:
		return EXIT_SERVER;
	}
}

/* "runtools: <what failed>: <server message>", one line on stderr. */
static int
fail(rt_client *c, enum rt_error e, const char *what, const char *name)
{
	const struct rt_error_info *ei = rt_client_last_error(c);

	fprintf(stderr, "runtools: %s%s", what, name ? " " : "");
	if (name != NULL)
		out_clean(stderr, name);
	fprintf(stderr, ": ");
	out_clean(stderr, ei->message[0] ? ei->message : rt_strerror(e));
	if (ei->http_status == 401 && !have_token)
		fprintf(stderr, " (set RUNTOOLS_TOKEN or RUNTOOLS_TOKEN_FILE)");
	fprintf(stderr, "\n");
	return exit_code(e);
}

static void
print_json(rt_client *c)
{
	size_t len;
	const char *body = rt_client_last_json(c, &len);

	out_json(body, len);
}

int
cli_fail(rt_client *c, enum rt_error e, const char *what, const char *name)
{
	return fail(c, e, what, name);
}

void
cli_print_json(rt_client *c)
{
	print_json(c);
}

/*
 * After a 404 for a user secret: when the org has a secret of that name,
 * say so, since the caller most likely meant it.  1 when it said so.
 */
static int
org_hint(rt_client *c, const struct cli *cl, const char *verb)
{
	struct rt_get_opts o = { 1, NULL, 0, 0 };
	struct rt_secret m;

	if (cl->org_wide || cl->user != NULL ||
	    rt_secrets_get(c, cl->name, &o, &m) != RT_E_OK)
		return 0;
	rt_secret_clear(&m);
	fprintf(stderr, "runtools: %s %s: you have no user secret %s, but "
	    "the org has one: add --org-wide\n", verb, cl->name, cl->name);
	return 1;
}

/* set and rotate end alike: the value is wiped once it has been sent. */
static int
save(rt_client *c, struct cli *cl, const struct rt_set_opts *o,
    const char *verb)
{
	struct rt_secret m;
	int created;
	enum rt_error e;

	e = rt_secrets_set(c, cl->name, cl->value, cl->value_len, o,
	    &created, &m);
	cli_free(cl);
	if (e != RT_E_OK)
		return fail(c, e, verb, cl->name);
	if (cl->json)
		print_json(c);
	else {
		printf("%s ", created ? "created" : "rotated");
		out_clean(stdout, m.name);
		printf(" (%s, version %lu)\n", m.scope ? m.scope : "-",
		    m.version);
	}
	rt_secret_clear(&m);
	return 0;
}

static int
cmd_set(rt_client *c, struct cli *cl)
{
	struct rt_set_opts o = { cl->category, cl->description, cl->org_wide,
	    cl->user, cl->has_expires ? cl->expires : NULL };
	char err[256];

	if (cl->value == NULL && (cl->value_file != NULL ?
	    read_value_file(cl->value_file, &cl->value, &cl->value_len, err,
	    sizeof(err)) : read_value(STDIN_FILENO, &cl->value,
	    &cl->value_len, err, sizeof(err))) == -1) {
		fprintf(stderr, "runtools: set %s: %s\n", cl->name, err);
		return EXIT_USAGE;
	}
	return save(c, cl, &o, "set");
}

/*
 * The API has no rotate-only call: a GET first makes a rotation of a
 * missing secret exit 3 instead of creating it.  Should the secret vanish
 * in between, the POST creates it and the output says "created".
 */
static int
cmd_rotate(rt_client *c, struct cli *cl)
{
	struct rt_get_opts g = { cl->org_wide, cl->user, 0, 0 };
	struct rt_set_opts o = { NULL, NULL, cl->org_wide, cl->user,
	    cl->has_expires ? cl->expires : NULL };
	struct rt_secret m;
	char err[256];
	enum rt_error e;

	if ((cl->value_file != NULL ? read_value_file(cl->value_file,
	    &cl->value, &cl->value_len, err, sizeof(err)) :
	    read_value(STDIN_FILENO, &cl->value, &cl->value_len, err,
	    sizeof(err))) == -1) {
		fprintf(stderr, "runtools: rotate %s: %s\n", cl->name, err);
		return EXIT_USAGE;
	}
	if ((e = rt_secrets_get(c, cl->name, &g, &m)) != RT_E_OK) {
		cli_free(cl);
		if (e == RT_E_NOTFOUND && !org_hint(c, cl, "rotate"))
			fprintf(stderr, "runtools: rotate %s: no such secret "
			    "(create it with 'runtools secret set')\n",
			    cl->name);
		return e == RT_E_NOTFOUND ? EXIT_NOTFOUND :
		    fail(c, e, "rotate", cl->name);
	}
	rt_secret_clear(&m);
	return save(c, cl, &o, "rotate");
}

/*
 * --expiring: keep the secrets whose expiry falls within secs from now,
 * or has passed.  expiresAt strings sort as times.
 */
static void
keep_expiring(struct rt_secret_list *l, unsigned long long secs)
{
	char until[32];
	struct tm tm;
	time_t t = time(NULL) + (time_t)secs;
	size_t i, k = 0;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		until[0] = '\0';
	for (i = 0; i < l->count; i++) {
		if (l->secrets[i].expires_at != NULL &&
		    strcmp(l->secrets[i].expires_at, until) <= 0) {
			l->secrets[k++] = l->secrets[i];
			continue;
		}
		rt_secret_clear(&l->secrets[i]);
	}
	l->count = k;
}

static int
cmd_list(rt_client *c, struct cli *cl)
{
	struct rt_list_opts o = { cl->category, cl->scope, cl->all, cl->user,
	    (unsigned int)cl->limit, NULL, cl->prefix };
	struct rt_secret_list l;
	enum rt_error e;

	/* --limit N: one page of N, the first in name order. */
	if ((e = cl->limit ? rt_secrets_list(c, &o, &l) :
	    rt_secrets_list_all(c, &o, &l)) != RT_E_OK)
		return fail(c, e, "list", NULL);
	if (cl->has_expiring)
		keep_expiring(&l, cl->expiring);
	if (cl->json)
		print_json(c);
	else
		out_secret_table(&l, cl->all || cl->user != NULL);
	if (cl->limit && l.next_cursor != NULL)
		fprintf(stderr, "runtools: list: more than %lu secrets; "
		    "raise --limit or narrow --prefix\n", cl->limit);
	rt_secret_list_clear(&l);
	return 0;
}

static int
cmd_get(rt_client *c, struct cli *cl)
{
	struct rt_get_opts o = { cl->org_wide, cl->user, cl->reveal,
	    cl->secret_version };
	struct rt_secret s;
	enum rt_error e;
	int rv = 0;

	if ((e = rt_secrets_get(c, cl->name, &o, &s)) != RT_E_OK) {
		/* a version's 404 may say it is not kept: keep that */
		if (e == RT_E_NOTFOUND && !cl->secret_version &&
		    org_hint(c, cl, cl->reveal ? "reveal" : "get"))
			return EXIT_NOTFOUND;
		return fail(c, e, cl->reveal ? "reveal" : "get", cl->name);
	}
	fflush(stdout);
	if (cl->json)
		print_json(c);
	else if (!cl->reveal)
		out_secret_meta(&s);
	else if (out_write(STDOUT_FILENO, s.value, s.value_len) == -1 ||
	    (isatty(STDOUT_FILENO) && out_write(STDOUT_FILENO, "\n", 1))) {
		fprintf(stderr, "runtools: reveal %s: writing the value: %s\n",
		    cl->name, strerror(errno));
		rv = EXIT_SERVER;
	}
	rt_secret_clear(&s);
	return rv;
}

static int
cmd_versions(rt_client *c, struct cli *cl)
{
	struct rt_version_opts o = { cl->org_wide, cl->user };
	struct rt_version_list l;
	enum rt_error e;

	if ((e = rt_secrets_versions(c, cl->name, &o, &l)) != RT_E_OK) {
		if (e == RT_E_NOTFOUND && org_hint(c, cl, "versions"))
			return EXIT_NOTFOUND;
		return fail(c, e, "versions", cl->name);
	}
	if (cl->json)
		print_json(c);
	else
		out_version_table(&l);
	rt_version_list_clear(&l);
	return 0;
}

static int
cmd_rollback(rt_client *c, struct cli *cl)
{
	struct rt_version_opts o = { cl->org_wide, cl->user };
	struct rt_secret m;
	enum rt_error e;

	if ((e = rt_secrets_rollback(c, cl->name, cl->secret_version, &o,
	    &m)) != RT_E_OK)
		return fail(c, e, "rollback", cl->name);
	if (cl->json)
		print_json(c);
	else {
		printf("rolled back ");
		out_clean(stdout, m.name);
		printf(" to version %lu (%s, version %lu)\n",
		    cl->secret_version, m.scope ? m.scope : "-", m.version);
	}
	rt_secret_clear(&m);
	return 0;
}

static int
cmd_delete(rt_client *c, struct cli *cl)
{
	struct rt_delete_opts o = { cl->org_wide, cl->user };
	enum rt_error e;

	if ((e = rt_secrets_delete(c, cl->name, &o)) != RT_E_OK) {
		if (e == RT_E_NOTFOUND && org_hint(c, cl, "delete"))
			return EXIT_NOTFOUND;
		return fail(c, e, "delete", cl->name);
	}
	if (cl->json)
		print_json(c);
	else
		printf("deleted %s\n", cl->name);
	return 0;
}

static int
cmd_token_list(rt_client *c, struct cli *cl)
{
	struct rt_token_list l;
	enum rt_error e;

	if ((e = rt_tokens_list(c, &l)) != RT_E_OK)
		return fail(c, e, "token list", NULL);
	if (cl->json)
		print_json(c);
	else
		out_token_table(&l);
	rt_token_list_clear(&l);
	return 0;
}

static int
cmd_token_revoke(rt_client *c, struct cli *cl)
{
	enum rt_error e;

	if ((e = rt_tokens_revoke(c, cl->id)) != RT_E_OK)
		return fail(c, e, "token revoke", cl->id);
	if (cl->json)
		print_json(c);
	else
		printf("revoked %s\n", cl->id);
	return 0;
}

static int
cmd_tool_list(rt_client *c, struct cli *cl)
{
	struct rt_tool_list l;
	enum rt_error e;

	if ((e = rt_tools_list(c, &l)) != RT_E_OK)
		return fail(c, e, "tool list", NULL);
	if (cl->json)
		print_json(c);
	else
		out_tool_table(&l);
	rt_tool_list_clear(&l);
	return 0;
}

static int
cmd_tool_show(rt_client *c, struct cli *cl)
{
	struct rt_tool t;
	enum rt_error e;

	if ((e = rt_tools_get(c, cl->tool, &t)) != RT_E_OK)
		return fail(c, e, "tool show", cl->tool);
	if (cl->json)
		print_json(c);
	else
		out_tool(&t);
	rt_tool_clear(&t);
	return 0;
}

/*
 * --param values take the types the tool declares, so the tool is looked
 * up first; its timeout then bounds the wait.  Without --param the
 * server alone checks the call.
 */
static int
exec_types(rt_client *c, struct cli *cl, struct rt_exec_opts *o)
{
	struct rt_tool t;
	char err[1024];
	enum rt_error e;
	int rv = 0;

	if (cl->nparams == 0)
		return 0;
	if ((e = rt_tools_get(c, cl->tool, &t)) != RT_E_OK)
		return fail(c, e, "tool exec", cl->tool);
	if (cli_param_types(cl, &t, err, sizeof(err)) == -1) {
		fprintf(stderr, "runtools: tool exec %s: ", cl->tool);
		out_clean(stderr, err);
		fprintf(stderr, "\n");
		rv = EXIT_USAGE;
	}
	o->timeout_ms = t.timeout_ms;
	rt_tool_clear(&t);
	return rv;
}

static int
exec_outcome(const struct cli *cl, const struct rt_exec_result *r)
{
	if (r->ok)
		return 0;
	if (!cl->json) {
		fprintf(stderr, "runtools: tool exec %s %s: the tool reported "
		    "failure", cl->tool, cl->action);
		if (r->status >= 0)
			fprintf(stderr, " (HTTP status %ld)", r->status);
		else if (r->exit_code >= 0)
			fprintf(stderr, " (exit code %ld)", r->exit_code);
		fprintf(stderr, "\n");
	}
	return EXIT_TOOL;
}

static int
cmd_tool_exec(rt_client *c, struct cli *cl)
{
	struct rt_exec_opts o = { NULL, 0, cl->params, cl->nparams,
	    cl->creds, cl->ncreds, 0 };
	struct rt_exec_result r;
	char err[512], *json = NULL;
	size_t jlen = 0;
	enum rt_error e;
	int rv;

	if (cl->params_json != NULL && read_params_json(cl->params_json,
	    &json, &jlen, err, sizeof(err)) == -1) {
		fprintf(stderr, "runtools: tool exec %s: --params-json ",
		    cl->tool);
		out_clean(stderr, err);
		fprintf(stderr, "\n");
		return EXIT_USAGE;
	}
	o.params_json = json;
	o.params_json_len = jlen;
	if ((rv = exec_types(c, cl, &o)) != 0)
		goto done;
	if ((e = rt_tools_execute(c, cl->tool, cl->action, &o, &r)) !=
	    RT_E_OK) {
		rv = fail(c, e, "tool exec", cl->tool);
		goto done;
	}
	if (cl->json)
		print_json(c);
	else if (out_exec_result(&r) == -1) {
		fprintf(stderr, "runtools: tool exec %s: writing the result: "
		    "%s\n", cl->tool, strerror(errno));
		rv = EXIT_SERVER;
	}
	if (rv == 0)
		rv = exec_outcome(cl, &r);
	rt_exec_result_clear(&r);
 done:
	if (json != NULL)
		rt_secret_value_free(json, jlen);
	return rv;
}

static int
run(rt_client *c, struct cli *cl)
{
	switch (cl->cmd) {
	case CMD_SECRET_SET:
		return cmd_set(c, cl);
	case CMD_SECRET_ROTATE:
		return cmd_rotate(c, cl);
	case CMD_SECRET_LIST:
		return cmd_list(c, cl);
	case CMD_SECRET_GET:
		return cmd_get(c, cl);
	case CMD_SECRET_DELETE:
		return cmd_delete(c, cl);
	case CMD_SECRET_VERSIONS:
		return cmd_versions(c, cl);
	case CMD_SECRET_ROLLBACK:
		return cmd_rollback(c, cl);
	case CMD_TOKEN_CREATE:
		return cmd_token_create(c, cl);
	case CMD_TOKEN_LIST:
		return cmd_token_list(c, cl);
	case CMD_TOKEN_REVOKE:
		return cmd_token_revoke(c, cl);
	case CMD_TOOL_LIST:
		return cmd_tool_list(c, cl);
	case CMD_TOOL_SHOW:
		return cmd_tool_show(c, cl);
	case CMD_TOOL_EXEC:
		return cmd_tool_exec(c, cl);
	case CMD_SECRET_EXPORT:
		return cmd_export(c, cl);
	case CMD_SECRET_IMPORT:
		return cmd_import(c, cl);
	case CMD_WHOAMI:
		return cmd_whoami(c, cl);
	case CMD_MCP:
		return cmd_mcp(c, cl);
	case CMD_RUN:
	case CMD_NONE:
		break;
	}
	return EXIT_USAGE;
}

static rt_client *
connect_client(const struct cli *cl, int *rv)
{
	char url[4200], err[4400], *token = NULL;
	const char *u = cl->url ? cl->url : getenv("RUNTOOLS_URL");
	const char *ca = cl->ca_file ? cl->ca_file : getenv("RUNTOOLS_CA_FILE");
	struct cli_profile p;
	rt_client *c;

	/* options, then the environment, then the profile, then defaults */
	if (profile_select(cl->profile, &p, err, sizeof(err)) == -1) {
		fprintf(stderr, "runtools: ");
		out_clean(stderr, err);
		fprintf(stderr, "\n");
		*rv = EXIT_USAGE;
		return NULL;
	}
	if ((u == NULL || *u == '\0') && p.url[0] != '\0')
		u = p.url;
	if ((ca == NULL || *ca == '\0') && p.ca_file[0] != '\0')
		ca = p.ca_file;
	if ((u == NULL || *u == '\0') &&
	    default_url(SECRETD_CONF_FILE, url, sizeof(url)) == 0)
		u = url;
	if (profile_token(&p, &token, err, sizeof(err)) == -1) {
		fprintf(stderr, "runtools: %s\n", err);
		*rv = EXIT_AUTH;
		return NULL;
	}
	have_token = token != NULL;
	if (ca != NULL && *ca == '\0')
		ca = NULL;
	c = rt_client_new(u, token, ca);
	if (token != NULL)
		rt_secret_value_free(token, strlen(token));
	if (c == NULL && errno == EINVAL) {
		fprintf(stderr, "runtools: invalid URL '");
		out_clean(stderr, u);
		fprintf(stderr, "': use unix:/path/to.sock or "
		    "https://host:port\n");
		*rv = EXIT_USAGE;
	} else if (c == NULL) {
		fprintf(stderr, "runtools: %s\n", strerror(errno));
		*rv = EXIT_SERVER;
	}
	return c;
}

int
main(int argc, char **argv)
{
	struct cli cl;
	rt_client *c;
	char err[512];
	int rv;

	if (cli_parse(argc, argv, &cl, err, sizeof(err)) == -1) {
		fprintf(stderr, "runtools: %s\nTry 'runtools %s--help'.\n",
		    err, cli_help_words(&cl));
		return EXIT_USAGE;
	}
	if (cl.version) {
		printf("runtools %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (cl.help) {
		cli_usage(stdout, &cl);
		return 0;
	}
	rt_harden_memory();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "runtools: cannot initialise libcurl\n");
		return EXIT_SERVER;
	}
	if ((c = connect_client(&cl, &rv)) == NULL) {
		cli_free(&cl);
		return rv;
	}
	rv = cl.cmd == CMD_RUN ? cmd_run(&c, &cl) : run(c, &cl);
	cli_free(&cl);
	rt_client_free(c);
	curl_global_cleanup();
	if (fflush(stdout) == EOF && rv == 0) {
		fprintf(stderr, "runtools: writing output: %s\n",
		    strerror(errno));
		rv = EXIT_SERVER;
	}
	return rv;
}
