/*
 * The tools folder parser: good files of both types read into the
 * struct tool the runner gets, each bad file refused with its FILE:LINE
 * message, every error of a file reported, and the folder rules (names,
 * modes, owners, links, sorting, a missing folder).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tooldef.h"
#include "tap.h"
#include "testutil.h"

#define F	"/etc/secretd/tools.d/t.tool"

static char *tmpdir;

/* Parses text as file F (or file), its errors into *out. */
static int
parse(const char *file, const char *text, struct tool *t, char **out)
{
	size_t len = 0;
	FILE *mem;
	int n;

	*out = NULL;
	if ((mem = open_memstream(out, &len)) == NULL)
		return -1;
	n = tool_parse_buf(file, text, strlen(text), t, mem);
	fclose(mem);
	return n;
}

static const char crm[] =
    "# custom-crm.tool\n"
    "description = Look up customers in the CRM\n"
    "type = http                       # http | exec\n"
    "allow = members\n"
    "timeout = 10s\n"
    "max_result = 64K\n"
    "base_url = https://crm.example.com/api/v1/\n"
    "ca_file = /etc/secretd/crm-ca.pem\n"
    "allow_plain_http = no\n"
    "\n"
    "slot apiKey\n"
    "    secret = SHARED_CRM_KEY\n"
    "    header = Authorization: Bearer {}\n"
    "slot other\n"
    "\tsecret = OTHER_KEY\n"
    "\tquery = api_key: x-{}\n"
    "slot login\n"
    "\tsecret = CRM_LOGIN\n"
    "\tbasic = api:{}\n"
    "\n"
    "action lookup_customer\n"
    "    description = Find a customer by email\n"
    "    method = GET\n"
    "    path = /customers/{email}\n"
    "    param email string required\n"
    "    param limit number\n"
    "    param verbose bool body\n"
    "action create\n"
    "    method = POST\n"
    "    path = /customers\n"
    "    param name string required\n"
    "    param age number query\n"
    "    param vip boolean\n"
    "action remove\n"
    "    method = DELETE\n"
    "    path = /customers/{id}/notes/{note}\n"
    "    param id string path\n"
    "    param note number\n"
    "    param why string\n";

static void
test_good_http(void)
{
	struct tool *t = calloc(1, sizeof(*t));
	const struct tool_action *a;
	char *errs;
	int n;

	n = parse("/etc/secretd/tools.d/custom-crm.tool", crm, t, &errs);
	if (!ok(n == 0, "an http tool with every key loads"))
		fprintf(stderr, "# %s", errs);
	ok(strcmp(t->name, "custom-crm") == 0 && t->type == TOOL_HTTP &&
	    t->allow == TOOL_ALLOW_MEMBERS && t->timeout_ms == 10000 &&
	    t->max_result == 65536 && t->allow_plain_http == 0,
	    "name from the file; type, allow, timeout and max_result read");
	ok(strcmp(t->base_url, "https://crm.example.com/api/v1") == 0,
	    "base_url loses its trailing '/': %s", t->base_url);
	ok(strcmp(t->ca_file, "/etc/secretd/crm-ca.pem") == 0,
	    "ca_file read");
	ok(t->nslots == 3 && t->slots[0].place == SLOT_HEADER &&
	    strcmp(t->slots[0].target, "Authorization") == 0 &&
	    strcmp(t->slots[0].tmpl, "Bearer {}") == 0 &&
	    strcmp(t->slots[0].secret, "SHARED_CRM_KEY") == 0,
	    "header slot: name, template and default secret");
	ok(t->slots[1].place == SLOT_QUERY &&
	    strcmp(t->slots[1].target, "api_key") == 0 &&
	    strcmp(t->slots[1].tmpl, "x-{}") == 0,
	    "query slot with a template");
	ok(t->slots[2].place == SLOT_BASIC && t->slots[2].target[0] == '\0' &&
	    strcmp(t->slots[2].tmpl, "api:{}") == 0,
	    "basic slot: the whole value is the template");
	a = tool_action(t, "lookup_customer");
	ok(a != NULL && strcmp(a->method, "GET") == 0 &&
	    strcmp(a->path, "/customers/{email}") == 0 &&
	    strcmp(a->description, "Find a customer by email") == 0 &&
	    a->nparams == 3, "action read with its three params");
	ok(a != NULL && a->params[0].place == PARAM_PATH &&
	    a->params[0].required && a->params[0].type == PARAM_STRING,
	    "a param named in the path goes in the path");
	ok(a != NULL && a->params[1].place == PARAM_QUERY &&
	    !a->params[1].required && a->params[1].type == PARAM_NUMBER,
	    "other params of a GET go in the query");
	ok(a != NULL && a->params[2].place == PARAM_BODY &&
	    a->params[2].type == PARAM_BOOL, "an explicit placement is kept");
	a = tool_action(t, "create");
	ok(a != NULL && a->params[0].place == PARAM_BODY &&
	    a->params[1].place == PARAM_QUERY &&
	    a->params[2].place == PARAM_BODY &&
	    a->params[2].type == PARAM_BOOL,
	    "params of a POST go in the body unless placed; boolean is bool");
	a = tool_action(t, "remove");
	ok(a != NULL && a->params[0].place == PARAM_PATH &&
	    a->params[1].place == PARAM_PATH && a->params[1].required &&
	    a->params[2].place == PARAM_QUERY,
	    "path params are required; a DELETE's others go in the query");
	free(errs);
	free(t);
}

static const char echo[] =
    "type = exec\n"
    "allow = admins\n"
    "command = bin/echo-env\n"
    "arg = --json\n"
    "arg = second argument, with spaces\n"
    "arg = --\n"
    "timeout = 1500ms\n"
    "max_result = 100\n"
    "slot token\n"
    "\tsecret = GITHUB_TOKEN\n"
    "\tenv = GH_TOKEN\n"
    "slot pass\n"
    "\tsecret = DB_PASSWORD\n"
    "\tenv = PGPASSWORD: {}\n"
    "slot url\n"
    "\tsecret = DB_HOST\n"
    "\tenv = DATABASE_URL: postgres://app:{}@db/app\n"
    "action run\n"
    "action query\n"
    "\tdescription = Runs one query\n"
    "\tparam sql string required\n"
    "\tparam rows number body\n";

static void
test_good_exec(void)
{
	struct tool *t = calloc(1, sizeof(*t));
	char *errs;
	int n;

	n = parse("/srv/tools/echo_env.tool", echo, t, &errs);
	if (!ok(n == 0, "an exec tool loads"))
		fprintf(stderr, "# %s", errs);
	ok(strcmp(t->name, "echo_env") == 0 && t->type == TOOL_EXEC &&
	    t->allow == TOOL_ALLOW_ADMINS && t->timeout_ms == 1500 &&
	    t->max_result == 100, "type, admins, 1500ms and 100 bytes read");
	ok(strcmp(t->command, "/srv/tools/bin/echo-env") == 0,
	    "a relative command is taken from the tools folder: %s",
	    t->command);
	ok(t->nargs == 3 && strcmp(t->args[0], "--json") == 0 &&
	    strcmp(t->args[1], "second argument, with spaces") == 0 &&
	    strcmp(t->args[2], "--") == 0, "arguments kept in order, whole");
	ok(t->nslots == 3 && t->slots[0].place == SLOT_ENV &&
	    strcmp(t->slots[0].target, "GH_TOKEN") == 0 &&
	    strcmp(t->slots[0].tmpl, "{}") == 0 &&
	    strcmp(t->slots[1].tmpl, "{}") == 0 &&
	    strcmp(t->slots[2].tmpl, "postgres://app:{}@db/app") == 0,
	    "env slots, with and without a template");
	ok(t->nactions == 2 && t->actions[0].nparams == 0 &&
	    t->actions[1].nparams == 2 &&
	    t->actions[1].params[0].place == PARAM_BODY &&
	    t->actions[1].params[0].required &&
	    t->actions[1].params[1].place == PARAM_BODY &&
	    t->actions[0].method[0] == '\0' && t->actions[0].path[0] == '\0',
	    "exec actions: params on stdin, no method or path");
	free(errs);
	free(t);
}

/* Defaults, and a parsed tool crosses IPC unchanged. */
static void
test_defaults_and_ipc(void)
{
	struct tool *t = calloc(1, sizeof(*t)), *u = calloc(1, sizeof(*u));
	struct ipc_reader r;
	struct ipc_msg m;
	char *errs;
	int same = 0;

	ok(parse(F, "type = http\nbase_url = https://h.example:8443\n"
	    "action a\n method = GET\n path = /\n", t, &errs) == 0 &&
	    t->allow == TOOL_ALLOW_MEMBERS &&
	    t->timeout_ms == TOOL_TIMEOUT_DEFAULT_MS &&
	    t->max_result == TOOL_RESULT_DEFAULT && t->nslots == 0 &&
	    t->description[0] == '\0',
	    "defaults: members, 10 s, 64 KiB, no slot needed");
	free(errs);
	free(t);
	t = calloc(1, sizeof(*t));
	if (parse(F, crm, t, &errs) == 0) {
		ipc_msg_init(&m, IMSG_RUN_EXEC, 1);
		tool_put(&m, t);
		same = ipc_msg_finish(&m) == 0 &&
		    ipc_parse(m.buf, m.len, &r) == 0 && tool_get(&r, u) == 0 &&
		    ipc_end(&r) == 0 && memcmp(t, u, sizeof(*t)) == 0;
		ipc_msg_free(&m);
	}
	ok(same, "a parsed tool survives tool_put and tool_get");
	free(errs);
	free(t);
	free(u);
}

#define HTTP	"type = http\nbase_url = https://h.example\n"
#define ACT	"action a\n\tmethod = GET\n\tpath = /x\n"
#define EXEC	"type = exec\ncommand = /bin/true\n"

/* Each file has one error: where, and what it says. */
static const struct bad {
	const char	*text;
	const char	*want;		/* after F ":" */
} bad[] = {
	{ HTTP "colour = red\n" ACT, "3: unknown key \"colour\"" },
	{ "type = http\ntype = exec\nbase_url = https://h\n" ACT,
	  "2: duplicate key \"type\" (first set on line 1)" },
	{ HTTP "allow members\n" ACT, "3: syntax error: expected \"key = "
	  "value\", \"slot NAME\", \"action NAME\" or \"param NAME TYPE "
	  "...\"" },
	{ HTTP ACT "= GET\n", "6: syntax error: no key before '='" },
	{ "type = ftp\n" ACT, "1: type: bad value \"ftp\": expected http or "
	  "exec" },
	{ HTTP "allow = everyone\n" ACT, "3: allow: bad value \"everyone\"" },
	{ HTTP "timeout = 10\n" ACT, "3: timeout: bad value \"10\": expected "
	  "1ms to 300s" },
	{ HTTP "timeout = 301s\n" ACT, "3: timeout: bad value \"301s\"" },
	{ HTTP "timeout = 0ms\n" ACT, "3: timeout: bad value \"0ms\"" },
	{ HTTP "timeout = 99999999999s\n" ACT,
	  "3: timeout: bad value \"99999999999s\"" },
	{ HTTP "max_result = 129K\n" ACT,
	  "3: max_result: bad value \"129K\": expected 1 to 131072 bytes" },
	{ HTTP "max_result = 1M\n" ACT, "3: max_result: bad value \"1M\"" },
	{ HTTP "allow_plain_http = maybe\n" ACT,
	  "3: allow_plain_http: bad value \"maybe\": expected yes or no" },
	{ "type = http\n\nbase_url = http://127.0.0.1:8080\n" ACT,
	  "3: base_url is plain http; set allow_plain_http = yes" },
	{ "type = http\nallow_plain_http = yes\n"
	  "base_url = http://10.0.0.1\n" ACT,
	  "3: plain http is allowed to 127.0.0.1, [::1] or localhost only" },
	{ "type = http\nbase_url = https://h/x?y=1\n" ACT,
	  "2: base_url holds '?'" },
	{ "type = http\nbase_url = https://h:99999/\n" ACT,
	  "2: base_url: bad host or port \"h:99999\"" },
	{ "type = http\nbase_url = ftp://h\n" ACT,
	  "2: base_url must start with https://" },
	{ HTTP ACT "timeout = 5s\n",
	  "6: timeout is a tool-level key; put it before the first slot" },
	{ HTTP "secret = X\n" ACT, "3: secret belongs in a slot block, not "
	  "before the first slot or action" },
	{ HTTP "slot k\n\tsecret = K\n\tmethod = GET\n\theader = X: {}\n" ACT,
	  "5: method belongs in an action block, not in a slot" },
	{ HTTP ACT "\tsecret = K\n", "6: secret belongs in a slot block, not "
	  "in an action" },
	{ HTTP "slot k\n\tsecret = K\n" ACT, "3: slot k: no placement; give "
	  "one of header, query or basic" },
	{ HTTP "slot k\n\tsecret = K\n\theader = X-Key\n\tquery = key\n" ACT,
	  "6: query: slot k already gets its value by header on line 5" },
	{ HTTP "slot k\n\theader = X-Key\n" ACT,
	  "3: slot k: no secret; give the name" },
	{ HTTP "slot k\n\tsecret = 9lives\n\theader = X: {}\n" ACT,
	  "4: secret: \"9lives\" is not a secret name" },
	{ HTTP "slot k\n\tsecret = K\n\theader = Authorization: Bearer\n" ACT,
	  "5: slot k: the value template must hold exactly one {}" },
	{ HTTP "slot k\n\tsecret = K\n\theader = X: {}{}\n" ACT,
	  "5: slot k: the value template must hold exactly one {}" },
	{ HTTP "slot k\n\tsecret = K\n\theader = Bad Name: {}\n" ACT,
	  "5: slot k: bad header name \"Bad Name\"" },
	{ HTTP "slot k\n\tsecret = K\n\tquery = a&b\n" ACT,
	  "5: slot k: bad query parameter name \"a&b\"" },
	{ HTTP "slot k\n\tsecret = K\n\tenv = KEY\n" ACT,
	  "5: slot k: http tools put a value in a header, query or basic "
	  "auth, not env" },
	{ EXEC "slot k\n\tsecret = K\n\theader = X: {}\n" "action a\n",
	  "5: slot k: exec tools put a value in an environment variable" },
	{ EXEC "slot k\n\tsecret = K\n\tenv = PATH\n" "action a\n",
	  "5: slot k: bad variable name \"PATH\"" },
	{ EXEC "slot k\n\tsecret = K\n" "action a\n",
	  "3: slot k: no placement; give env = VARIABLE" },
	{ HTTP "slot 1k\n\tsecret = K\n\theader = X\n" ACT,
	  "3: slot \"1k\": a name is 1 to 64 letters" },
	{ HTTP "slot k\n\tsecret = K\n\theader = X\nslot k\n\tsecret = L\n"
	  "\tquery = q\n" ACT, "6: slot k given twice (first on line 3)" },
	{ HTTP "slot\n" ACT, "3: slot: expected \"slot NAME\"" },
	{ HTTP "slot a b\n" ACT, "3: slot: expected \"slot NAME\"" },
	{ HTTP ACT ACT, "6: action a given twice (first on line 3)" },
	{ HTTP "description = no actions\n", "1: no action; a tool needs at "
	  "least one \"action NAME\" block" },
	{ HTTP "action a\n\tpath = /x\n", "3: action a: no method" },
	{ HTTP "action a\n\tmethod = GET\n", "3: action a: no path" },
	{ HTTP "action a\n\tmethod = FETCH\n\tpath = /\n",
	  "4: method: bad value \"FETCH\": expected GET, POST, PUT, PATCH or "
	  "DELETE" },
	{ HTTP "action a\n\tmethod = get\n\tpath = /\n",
	  "4: method: bad value \"get\"" },
	{ HTTP "action a\n\tmethod = GET\n\tpath = x/y\n",
	  "5: action a: path must start with '/'" },
	{ HTTP "action a\n\tmethod = GET\n\tpath = /c/{id}\n",
	  "5: action a: path names {id}, which is not a path parameter" },
	{ HTTP "action a\n\tmethod = GET\n\tpath = /c/{id\n"
	  "\tparam id string\n", "5: action a: unbalanced '{' in path" },
	{ HTTP "action a\n\tmethod = GET\n\tpath = /c/{id}}\n"
	  "\tparam id string\n", "5: action a: unbalanced '}' in path" },
	{ HTTP "action a\n\tmethod = GET\n\tpath = /c\n"
	  "\tparam id string required path\n",
	  "6: param id: placed in the path, but the path has no {id}" },
	{ HTTP "action a\n\tmethod = GET\n\tpath = /c/{id}\n"
	  "\tparam id string query\n",
	  "6: param id: the path holds {id}, so it is a path parameter" },
	{ HTTP ACT "\tparam n int\n", "6: param n: bad type \"int\": expected "
	  "string, number or bool" },
	{ HTTP ACT "\tparam n string optional\n",
	  "6: param n: unexpected \"optional\"" },
	{ HTTP ACT "\tparam n string query body\n",
	  "6: param n: unexpected \"body\"" },
	{ HTTP ACT "\tparam n string\n\tparam n number\n",
	  "7: param n given twice (first on line 6)" },
	{ HTTP ACT "\tparam n\n", "6: param: expected \"param NAME TYPE" },
	{ HTTP ACT "\tparam 2n string\n", "6: param \"2n\": a name is" },
	{ HTTP "param n string\n" ACT, "3: param: outside an action" },
	{ EXEC "action a\n\tmethod = GET\n", "4: method: exec tools take no "
	  "method or path" },
	{ EXEC "action a\n\tparam q string query\n", "4: param q: exec tools "
	  "take their parameters on stdin; query is for http tools" },
	{ EXEC "base_url = https://h\naction a\n",
	  "3: base_url: only http tools take it" },
	{ HTTP "arg = -v\n" ACT, "3: arg: only exec tools take it" },
	{ "type = exec\n\naction a\n", "1: command: missing; exec tools need "
	  "one" },
	{ "\n# no url\ntype = http\n" ACT, "3: base_url: missing; http tools "
	  "need one" },
	{ "description = d\n" ACT, "1: type: missing; give type = http or "
	  "type = exec" },
	{ HTTP "description =\n" ACT, "3: description: no value" },
	{ HTTP "description = tab\there\n" ACT,
	  "3: description: holds a control character" },
	{ HTTP "description = caf\xe9\n" ACT, "3: not valid UTF-8" },
	{ HTTP "description = \xc0\xaf\n" ACT, "3: not valid UTF-8" },
	{ EXEC "command = /bin/x\n" "action a\n",
	  "3: duplicate key \"command\"" },
	{ HTTP "slot a\n\tsecret = A\n\theader = X-Key\nslot b\n\tsecret = B\n"
	  "\theader = x-key: {}\n" ACT,
	  "1: slots a and b put their values in the same place" },
	{ EXEC "ca_file = /x.pem\n" "action a\n",
	  "3: ca_file: only http tools take it" },
	{ HTTP "slot k\n\tsecret = K\n\tbasic =\n" ACT, "5: basic: no value" },
	{ HTTP "slot k\n\tsecret = K\n\theader = : {}\n" ACT,
	  "5: header: no name before ':'" },
	{ HTTP "slot k\n\tsecret = K\n\theader = X:\n" ACT,
	  "5: header: empty template; write {} where the value goes" },
	{ HTTP "action a\n\tmethod = GET\n\tpath = /\n\tdescription = d\n"
	  "\tdescription = e\n",
	  "7: duplicate key \"description\" (first set on line 6)" },
};

static void
test_bad(void)
{
	struct tool *t = calloc(1, sizeof(*t));
	char want[512], *errs;
	size_t i;
	int n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), "%s:%s", F, bad[i].want);
		n = parse(F, bad[i].text, t, &errs);
		if (!ok(n == 1 && errs != NULL &&
		    strncmp(errs, want, strlen(want)) == 0 &&
		    strchr(errs, '\n') == errs + strlen(errs) - 1,
		    "%s", bad[i].want))
			fprintf(stderr, "# %d errors:\n%s", n,
			    errs != NULL ? errs : "");
		free(errs);
	}
	free(t);
}

static int
has_line(const char *errs, const char *line)
{
	const char *s = strstr(errs, line);

	return s != NULL && (s == errs || s[-1] == '\n') &&
	    s[strlen(line)] == '\n';
}

/* Limits a table cannot show, and files with many errors. */
static void
test_generated(void)
{
	struct tool *t = calloc(1, sizeof(*t));
	char *buf = malloc(TOOL_FILE_MAX + 2), *errs, want[256];
	size_t at;
	int i, n;

	at = (size_t)snprintf(buf, 4096, EXEC);
	for (i = 0; i < TOOL_ARGS_MAX + 1; i++)
		at += (size_t)snprintf(buf + at, 64, "arg = a%d\n", i);
	snprintf(buf + at, 64, "action a\n");
	n = parse(F, buf, t, &errs);
	ok(n == 1 && strcmp(errs, F ":19: arg: more than 16 arguments\n") ==
	    0, "a 17th argument is refused at its line");
	free(errs);

	at = (size_t)snprintf(buf, 4096, HTTP);
	for (i = 0; i < TOOL_SLOTS_MAX + 1; i++)
		at += (size_t)snprintf(buf + at, 128, "slot s%d\n\tsecret = "
		    "S%d\n\theader = X-%d\n", i, i, i);
	snprintf(buf + at, 64, ACT);
	n = parse(F, buf, t, &errs);
	ok(n == 1 && strcmp(errs, F ":27: slot s8: more than 8 slots\n") ==
	    0, "a ninth slot is refused at its line");
	free(errs);

	at = (size_t)snprintf(buf, 4096, HTTP);
	for (i = 0; i < TOOL_ACTIONS_MAX + 1; i++)
		at += (size_t)snprintf(buf + at, 128, "action a%d\n\tmethod = "
		    "GET\n\tpath = /\n", i);
	n = parse(F, buf, t, &errs);
	ok(n == 1 && strcmp(errs, F ":51: action a16: more than 16 "
	    "actions\n") == 0, "a 17th action is refused at its line");
	free(errs);

	at = (size_t)snprintf(buf, 4096, HTTP "action a\n\tmethod = GET\n"
	    "\tpath = /\n");
	for (i = 0; i < TOOL_PARAMS_MAX + 1; i++)
		at += (size_t)snprintf(buf + at, 128, "\tparam p%d string\n",
		    i);
	n = parse(F, buf, t, &errs);
	ok(n == 1 && strcmp(errs, F ":22: param p16: more than 16 parameters "
	    "in action a\n") == 0, "a 17th parameter is refused at its line");
	free(errs);

	at = (size_t)snprintf(buf, 4096, HTTP "description = ");
	memset(buf + at, 'd', PATH_MAX + 64);
	at += PATH_MAX + 64;
	snprintf(buf + at, 64, "\n" ACT);
	n = parse(F, buf, t, &errs);
	ok(n == 1 && strcmp(errs, F ":3: line too long (at most 4160 "
	    "bytes)\n") == 0, "a line too long is refused at its line");
	free(errs);

	at = (size_t)snprintf(buf, 4096, HTTP "description = ");
	memset(buf + at, 'd', TOOL_DESC_MAX + 1);
	at += TOOL_DESC_MAX + 1;
	snprintf(buf + at, 64, "\n" ACT);
	n = parse(F, buf, t, &errs);
	ok(n == 1 && strcmp(errs, F ":3: description: too long (at most 512 "
	    "bytes)\n") == 0, "a description over 512 bytes is refused");
	free(errs);

	memcpy(buf, HTTP "# \0\n" ACT, sizeof(HTTP "# \0\n" ACT));
	errs = NULL;
	{
		size_t len = 0;
		FILE *mem = open_memstream(&errs, &len);

		n = tool_parse_buf(F, buf, sizeof(HTTP "# \0\n" ACT) - 1, t,
		    mem);
		fclose(mem);
	}
	ok(n == 1 && strcmp(errs, F ":3: NUL byte in line\n") == 0,
	    "a NUL byte is refused at its line, even in a comment");
	free(errs);

	/* Every error of a file, each at its own line. */
	n = parse(F, "type = http\n"
	    "colour = red\n"
	    "timeout = soon\n"
	    "base_url = https://h.example\n"
	    "slot k\n"
	    "\tsecret = 1x\n"
	    "\theader = X\n"
	    "action a\n"
	    "\tmethod = GET\n"
	    "\tpath = /c/{id}\n"
	    "action b\n"
	    "\tmethod = PUT\n"
	    "\tpath = /d\n"
	    "\tparam q string query body\n"
	    "action c\n"
	    "\tpath = /\n", t, &errs);
	ok(n == 6, "a file with six errors reports six: %d", n);
	ok(has_line(errs, F ":2: unknown key \"colour\"") &&
	    strstr(errs, F ":3: timeout: bad value \"soon\"") != NULL &&
	    strstr(errs, F ":6: secret: \"1x\" is not a secret") != NULL &&
	    strstr(errs, F ":10: action a: path names {id}") != NULL &&
	    strstr(errs, F ":14: param q: unexpected \"body\"") != NULL &&
	    has_line(errs, F ":15: action c: no method"),
	    "each error names its own line");
	free(errs);

	n = parse("/t/bad.name.tool", HTTP ACT, t, &errs);
	ok(n == 1 && strcmp(errs, "/t/bad.name.tool: a tool file is named "
	    "NAME.tool, NAME being 1 to 64 letters, digits, '-' or '_'\n") ==
	    0, "a file name that is no tool name is refused, without a line");
	free(errs);

	n = parse("rel/x.tool", "type = exec\ncommand = run.sh\naction a\n", t,
	    &errs);
	snprintf(want, sizeof(want), "rel/x.tool:2: command: \"run.sh\" is "
	    "relative, and the tools folder is not an absolute path");
	ok(n >= 1 && strncmp(errs, want, strlen(want)) == 0,
	    "a relative command needs an absolute tools folder");
	free(errs);

	n = parse(F, "", t, &errs);
	ok(n == 2 && has_line(errs, F ":1: type: missing; give type = http "
	    "or type = exec") && strstr(errs, F ":1: no action") != NULL,
	    "an empty file: no type and no action, at line 1");
	free(errs);
	free(buf);
	free(t);
}

/* base_url hosts and ports, the rule tool.c keeps for every side. */
static void
test_base_urls(void)
{
	static const struct {
		const char	*url;
		int		 plain;
		int		 good;
	} urls[] = {
		{ "https://crm.example.com", 0, 1 },
		{ "https://crm.example.com:8443/api", 0, 1 },
		{ "https://192.0.2.1/x", 0, 1 },
		{ "https://[2001:db8::1]:443/x", 0, 1 },
		{ "http://127.0.0.1:8080", 1, 1 },
		{ "http://[::1]:8080/x", 1, 1 },
		{ "http://localhost", 1, 1 },
		{ "http://localhost.evil.example", 1, 0 },
		{ "http://127.0.0.1.evil.example", 1, 0 },
		{ "https://h:0", 0, 0 },
		{ "https://h:65536", 0, 0 },
		{ "https://h:08", 0, 0 },
		{ "https://h:", 0, 0 },
		{ "https://h:x", 0, 0 },
		{ "https://a_b.example", 0, 0 },
		{ "https://h%2e.example", 0, 0 },
		{ "https://[::1", 0, 0 },
		{ "https://[]", 0, 0 },
		{ "https://[::1]x", 0, 0 },
		{ "https://-h.example", 0, 0 },
		{ "https://user@h", 0, 0 },
		{ "https:///x", 0, 0 },
	};
	struct tool *t = calloc(1, sizeof(*t));
	char text[512], *errs;
	size_t i;
	int n;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		snprintf(text, sizeof(text), "type = http\nbase_url = %s\n"
		    "allow_plain_http = %s\n" ACT, urls[i].url,
		    urls[i].plain ? "yes" : "no");
		n = parse(F, text, t, &errs);
		if (!ok((n == 0) == urls[i].good, "base_url %s is %s",
		    urls[i].url, urls[i].good ? "taken" : "refused"))
			fprintf(stderr, "# %s", errs);
		free(errs);
	}
	free(t);
}

static int
put(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, fp);
	fclose(fp);
	return chmod(path, mode);
}

/* Loads dir, errors into *out. */
static int
load(const char *dir, struct toolset *ts, char **out)
{
	size_t len = 0;
	FILE *mem;
	int n;

	*out = NULL;
	if ((mem = open_memstream(out, &len)) == NULL)
		return -1;
	n = tools_load(dir, ts, mem);
	fclose(mem);
	return n;
}

static void
test_folder(void)
{
	struct toolset ts;
	char dir[PATH_MAX], path[PATH_MAX + 64], want[PATH_MAX + 256];
	char *errs;
	int n;

	snprintf(dir, sizeof(dir), "%s/tools.d", tmpdir);
	n = load(dir, &ts, &errs);
	ok(n == 0 && ts.n == 0 && errs[0] == '\0',
	    "a missing folder is an empty set, no error");
	free(errs);
	tools_free(&ts);

	mkdir(dir, 0755);
	put(dir, "zeta.tool", HTTP ACT, 0644);
	put(dir, "a-b.tool", EXEC "action run\n", 0600);
	put(dir, "a.tool", HTTP ACT, 0444);
	put(dir, "README", "not a tool\n", 0644);
	put(dir, ".hidden.tool", "garbage\n", 0644);
	put(dir, "x.tool~", "garbage\n", 0644);
	put(dir, "x.tool.bak", "garbage\n", 0644);
	n = load(dir, &ts, &errs);
	ok(n == 0 && ts.n == 3, "three tools; other files and dotfiles are "
	    "not read: %d errors, %zu tools", n, ts.n);
	ok(ts.n == 3 && strcmp(ts.tools[0]->name, "a") == 0 &&
	    strcmp(ts.tools[1]->name, "a-b") == 0 &&
	    strcmp(ts.tools[2]->name, "zeta") == 0,
	    "the set is sorted by tool name");
	ok(tools_find(&ts, "a-b") != NULL &&
	    tools_find(&ts, "a-b")->type == TOOL_EXEC &&
	    tools_find(&ts, "zeta") == ts.tools[2] &&
	    tools_find(&ts, "b") == NULL && tools_find(&ts, "") == NULL,
	    "tools_find finds each tool and nothing else");
	free(errs);
	tools_free(&ts);
	ok(ts.n == 0 && ts.tools == NULL, "tools_free empties the set");

	put(dir, "open.tool", HTTP ACT, 0664);
	put(dir, "world.tool", HTTP ACT, 0646);
	put(dir, "broken.tool", HTTP "colour = red\n" ACT, 0644);
	mkdir(strcat(strcpy(path, dir), "/sub.tool"), 0755);
	snprintf(path, sizeof(path), "%s/link.tool", dir);
	n = symlink("a.tool", path) == 0 ? load(dir, &ts, &errs) : -1;
	ok(n == 5 && ts.n == 3, "five bad files, the good three still "
	    "load: %d errors, %zu tools", n, ts.n);
	snprintf(want, sizeof(want), "%s/open.tool: writable by group or "
	    "others; refusing it", dir);
	ok(has_line(errs, want), "a group-writable file is refused");
	snprintf(want, sizeof(want), "%s/world.tool: writable by group or "
	    "others; refusing it", dir);
	ok(has_line(errs, want), "a world-writable file is refused");
	snprintf(want, sizeof(want), "%s/broken.tool:3: unknown key "
	    "\"colour\"", dir);
	ok(has_line(errs, want), "a file's error names the folder, file and "
	    "line");
	snprintf(want, sizeof(want), "%s/sub.tool: not a regular file", dir);
	ok(has_line(errs, want), "a folder named x.tool is refused");
	snprintf(want, sizeof(want), "%s/link.tool: a symbolic link; "
	    "refusing it", dir);
	ok(has_line(errs, want), "a symbolic link is refused");
	free(errs);
	tools_free(&ts);

	if (geteuid() == 0) {
		snprintf(path, sizeof(path), "%s/broken.tool", dir);
		put(dir, "broken.tool", HTTP ACT, 0644);
		ok(chown(path, 4242, 4242) == 0 && load(dir, &ts, &errs) == 5,
		    "a file another user owns is refused");
		snprintf(want, sizeof(want), "%s/broken.tool: owned by uid "
		    "4242, neither root nor us; refusing it", dir);
		ok(has_line(errs, want), "... saying whose it is");
		free(errs);
		tools_free(&ts);
	} else {
		snprintf(path, sizeof(path), "%s/a.tool", dir);
		chmod(path, 0);
		ok(load(dir, &ts, &errs) == 6, "an unreadable file is an "
		    "error");
		snprintf(want, sizeof(want), "%s/a.tool: Permission denied",
		    dir);
		ok(has_line(errs, want), "... naming it");
		free(errs);
		tools_free(&ts);
	}

	chmod(dir, 0775);
	n = load(dir, &ts, &errs);
	snprintf(want, sizeof(want), "%s: writable by group or others; "
	    "refusing it", dir);
	ok(n == 1 && ts.n == 0 && has_line(errs, want),
	    "a group-writable folder is refused whole");
	free(errs);
	tools_free(&ts);

	snprintf(path, sizeof(path), "%s/file", tmpdir);
	put(tmpdir, "file", "x", 0644);
	n = load(path, &ts, &errs);
	snprintf(want, sizeof(want), "%s: Not a directory", path);
	ok(n == 1 && has_line(errs, want), "a file is not a tools folder");
	free(errs);
	tools_free(&ts);
}

/* The shipped examples load from a copy made with safe modes. */
static void
test_contrib(void)
{
	static const char *files[] = { "custom-crm.tool", "github.tool" };
	const char *top = getenv("top_srcdir");
	struct toolset ts;
	const struct tool *t;
	char dir[PATH_MAX], src[PATH_MAX + 64], *text, *errs;
	size_t i;
	int n;

	snprintf(dir, sizeof(dir), "%s/contrib", tmpdir);
	mkdir(dir, 0755);
	for (i = 0; i < 2; i++) {
		snprintf(src, sizeof(src), "%s/contrib/tools.d/%s",
		    top != NULL ? top : ".", files[i]);
		text = tu_slurp(src, NULL);
		put(dir, files[i], text != NULL ? text : "", 0644);
		free(text);
	}
	n = load(dir, &ts, &errs);
	if (!ok(n == 0 && ts.n == 2, "contrib/tools.d loads without error"))
		fprintf(stderr, "# %s", errs);
	t = tools_find(&ts, "custom-crm");
	ok(t != NULL && strcmp(t->base_url, "https://crm.example.com/api") ==
	    0 && t->nslots == 1 && strcmp(t->slots[0].name, "apiKey") == 0 &&
	    strcmp(t->slots[0].secret, "SHARED_CRM_KEY") == 0 &&
	    strcmp(t->slots[0].tmpl, "Bearer {}") == 0 &&
	    tool_action(t, "lookup_customer") != NULL &&
	    tool_action(t, "lookup_customer")->params[0].place == PARAM_PATH,
	    "custom-crm is the documentation's tool");
	t = tools_find(&ts, "github");
	snprintf(src, sizeof(src), "%s/github.py", dir);
	ok(t != NULL && t->type == TOOL_EXEC && strcmp(t->command, src) == 0 &&
	    t->slots[0].place == SLOT_ENV, "github runs github.py beside it");
	free(errs);
	tools_free(&ts);
}

int
main(void)
{
	if ((tmpdir = tu_mkdtemp("test_tooldef")) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return done_testing();
	}
	test_good_http();
	test_good_exec();
	test_defaults_and_ipc();
	test_bad();
	test_generated();
	test_base_urls();
	test_folder();
	test_contrib();
	tu_rm_rf(tmpdir);
	free(tmpdir);
	return done_testing();
}
