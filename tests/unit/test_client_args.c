/*
 * runtools without a server: command-line parsing of every documented
 * command, the stdin value rule, token files, the default URL, and the
 * library's refusals that happen before anything is sent.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "cli.h"
#include "runtools.h"
#include "tap.h"

static char tmpdir[256];
static char err[512];

/* Parses a space-separated command line; words are writable copies. */
static int
parse(struct cli *c, const char *line)
{
	static char buf[1024];
	static char *argv[64];
	int argc = 0;
	char *p;

	snprintf(buf, sizeof(buf), "runtools %s", line);
	for (p = strtok(buf, " "); p != NULL && argc < 63; p = strtok(NULL, " "))
		argv[argc++] = p;
	argv[argc] = NULL;
	err[0] = '\0';
	return cli_parse(argc, argv, c, err, sizeof(err));
}

static int
parse_ok(struct cli *c, const char *line)
{
	int rv = parse(c, line);

	if (rv != 0)
		printf("# %s: %s\n", line, err);
	return rv == 0;
}

static void
test_document_lines(void)
{
	struct cli c;

	ok(parse_ok(&c, "secret set ANTHROPIC_API_KEY sk-ant-xxx --category "
	    "provider") && c.cmd == CMD_SECRET_SET &&
	    strcmp(c.name, "ANTHROPIC_API_KEY") == 0 &&
	    c.value_len == 10 && memcmp(c.value, "sk-ant-xxx", 10) == 0 &&
	    strcmp(c.category, "provider") == 0 && !c.org_wide,
	    "set NAME VALUE --category: flags after positionals");
	cli_free(&c);
	ok(parse_ok(&c, "secret set GITHUB_TOKEN ghp_xxx --category tool "
	    "--description fallback") && strcmp(c.description, "fallback") == 0,
	    "set --description");
	cli_free(&c);
	ok(parse_ok(&c, "secret set SHARED_CRM_KEY crm_xxx --category tool "
	    "--org-wide") && c.org_wide, "set --org-wide");
	cli_free(&c);
	ok(parse_ok(&c, "secret rotate ANTHROPIC_API_KEY") &&
	    c.cmd == CMD_SECRET_ROTATE && c.value == NULL,
	    "rotate NAME takes no value argument");
	ok(parse_ok(&c, "secret list") && c.cmd == CMD_SECRET_LIST &&
	    c.scope == RT_LIST_ANY && !c.all, "list");
	ok(parse_ok(&c, "secret list --user-only") && c.scope == RT_LIST_USER,
	    "list --user-only is secretScope=user");
	ok(parse_ok(&c, "secret list --org-only") && c.scope == RT_LIST_ORG,
	    "list --org-only is secretScope=org");
	ok(parse_ok(&c, "secret list --all-org") && c.all, "list --all-org");
	ok(parse_ok(&c, "secret get ANTHROPIC_API_KEY --reveal") &&
	    c.cmd == CMD_SECRET_GET && c.reveal && !c.org_wide, "get --reveal");
	ok(parse_ok(&c, "secret get SHARED_CRM_KEY --org-wide --reveal") &&
	    c.reveal && c.org_wide, "get --org-wide --reveal");
	ok(parse_ok(&c, "secret delete ANTHROPIC_API_KEY") &&
	    c.cmd == CMD_SECRET_DELETE && !c.org_wide, "delete");
	ok(parse_ok(&c, "secret delete SHARED_CRM_KEY --org-wide") &&
	    c.org_wide, "delete --org-wide");
}

static void
test_options(void)
{
	struct cli c;

	ok(parse_ok(&c, "--json secret --url unix:/a set --category tool X v") &&
	    c.json && strcmp(c.url, "unix:/a") == 0 &&
	    strcmp(c.category, "tool") == 0 && strcmp(c.name, "X") == 0,
	    "options before the group, the command and the name");
	cli_free(&c);
	ok(parse_ok(&c, "secret list --json --ca-file ca.pem") && c.json &&
	    strcmp(c.ca_file, "ca.pem") == 0, "global options after the command");
	ok(parse_ok(&c, "secret get X --user alice") &&
	    strcmp(c.user, "alice") == 0, "get --user ID");
	setenv("POSIXLY_CORRECT", "1", 1);
	ok(parse_ok(&c, "secret get X --reveal") && c.reveal,
	    "flags after the name even with POSIXLY_CORRECT");
	unsetenv("POSIXLY_CORRECT");
	ok(parse_ok(&c, "secret set X -- -v-") && c.value_len == 3 &&
	    memcmp(c.value, "-v-", 3) == 0, "-- lets a value start with '-'");
	cli_free(&c);
	ok(parse_ok(&c, "token create --description ci --role admin --ttl 3600")
	    && c.cmd == CMD_TOKEN_CREATE && c.ttl == 3600 &&
	    strcmp(c.role, "admin") == 0 && strcmp(c.description, "ci") == 0,
	    "token create --description --role --ttl");
	ok(parse_ok(&c, "token list") && c.cmd == CMD_TOKEN_LIST, "token list");
	ok(parse_ok(&c, "token revoke 0123abcd") && c.cmd == CMD_TOKEN_REVOKE &&
	    strcmp(c.id, "0123abcd") == 0, "token revoke ID");
}

static void
test_usage_errors(void)
{
	static const char *bad[] = {
		"", "secret", "token", "bogus", "secret bogus",
		"secret set", "secret set X v extra", "secret get",
		"secret get X Y", "secret list X", "token revoke",
		"secret get 1X", "secret get a/b", "secret get ../x",
		"secret set X v --category nope", "secret list --foo",
		"secret list --user-only --org-only",
		"secret list --org-only --all-org", "secret set X v --reveal",
		"secret get X --reveal --user bob", "secret get X --org-wide "
		"--user bob", "secret get X --user a/b", "secret get X --url",
		"token create --role root", "token create --ttl 0",
		"token create --ttl -5", "token create --ttl 12x",
		"token list --org-wide", "secret rotate X v",
		"secret rollback X", "secret rollback X --version 0",
		"secret rollback X --version -1",
		"secret rollback X --version x",
		"secret rollback X --version 4294967296", "secret versions",
		"secret get X --version 2", "secret versions X --reveal",
		"secret rollback X --version 2 --reveal",
	};
	struct cli c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(parse(&c, bad[i]) == -1 && err[0] != '\0',
		    "usage error: 'runtools %s' (%s)", bad[i], err);
}

static void
test_help(void)
{
	struct cli c;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	ok(parse_ok(&c, "--help") && c.help && c.group == GROUP_NONE,
	    "runtools --help");
	ok(parse_ok(&c, "secret --help") && c.help && c.group == GROUP_SECRET &&
	    c.cmd == CMD_NONE, "runtools secret --help");
	ok(parse_ok(&c, "secret set -h") && c.help && c.cmd == CMD_SECRET_SET,
	    "runtools secret set -h");
	ok(parse_ok(&c, "token revoke --help") && c.help &&
	    c.cmd == CMD_TOKEN_REVOKE, "runtools token revoke --help");
	ok(parse_ok(&c, "--version") && c.version, "runtools --version");
	ok(parse_ok(&c, "secret --version") && c.version,
	    "runtools secret --version: runtools' own");
	ok(parse_ok(&c, "secret get K --reveal --version 7") && !c.version &&
	    c.secret_version == 7 && c.reveal,
	    "secret get --reveal --version 7: a kept version");
	ok(parse_ok(&c, "secret rollback K --version 4294967295") &&
	    c.cmd == CMD_SECRET_ROLLBACK && c.secret_version == 4294967295UL,
	    "secret rollback --version 4294967295");
	ok(parse_ok(&c, "secret versions K --org-wide") &&
	    c.cmd == CMD_SECRET_VERSIONS && c.org_wide,
	    "secret versions K --org-wide");
	parse(&c, "secret get --help");
	f = open_memstream(&out, &len);
	cli_usage(f, &c);
	fclose(f);
	ok(strstr(out, "secret get NAME [--reveal [--version N]]") != NULL &&
	    strstr(out, "4 unauthenticated or forbidden") != NULL,
	    "command help shows its synopsis and the exit codes");
	free(out);
	parse(&c, "tool exec --help");
	f = open_memstream(&out, &len);
	cli_usage(f, &c);
	fclose(f);
	ok(strstr(out, "tool exec NAME ACTION [--param K=V]...") != NULL &&
	    strstr(out, "5 the tool\nran and reported failure") != NULL,
	    "tool exec help shows its synopsis and exit status 5");
	free(out);
	parse(&c, "tool --help");
	f = open_memstream(&out, &len);
	cli_usage(f, &c);
	fclose(f);
	ok(strstr(out, "runtools tool list\n") != NULL &&
	    strstr(out, "runtools tool show NAME\n") != NULL &&
	    strstr(out, "runtools tool exec NAME") != NULL &&
	    strstr(out, "secret set") == NULL,
	    "tool --help lists the three tool commands only");
	free(out);
}

static void
test_value_wiped_from_argv(void)
{
	char a0[] = "runtools", a1[] = "secret", a2[] = "set", a3[] = "K",
	    a4[] = "hunter2";
	char *argv[] = { a0, a1, a2, a3, a4, NULL };
	struct cli c;

	ok(cli_parse(5, argv, &c, err, sizeof(err)) == 0 &&
	    c.value_len == 7 && memcmp(c.value, "hunter2", 7) == 0 &&
	    memcmp(a4, "\0\0\0\0\0\0\0", 7) == 0,
	    "VALUE is copied and wiped from argv");
	cli_free(&c);
}

/* Feeds data through a pipe into read_value. */
static int
value_from(const void *data, size_t n, char **v, size_t *len)
{
	int fd[2], rv;
	pid_t pid;

	if (pipe(fd) == -1)
		return -2;
	if ((pid = fork()) == 0) {
		close(fd[0]);
		if (write(fd[1], data, n) != (ssize_t)n)
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	rv = read_value(fd[0], v, len, err, sizeof(err));
	close(fd[0]);
	waitpid(pid, NULL, 0);
	return rv;
}

static int
value_is(const char *in, size_t n, const char *want, size_t wn)
{
	char *v;
	size_t len;
	int same;

	if (value_from(in, n, &v, &len) != 0)
		return 0;
	same = len == wn && memcmp(v, want, wn) == 0 && v[len] == '\0';
	rt_secret_value_free(v, len);
	return same;
}

static void
test_stdin_value(void)
{
	char *big, *v;
	size_t i, len;

	ok(value_is("v\n", 2, "v", 1), "stdin: one trailing newline dropped");
	ok(value_is("v", 1, "v", 1), "stdin: no newline, nothing dropped");
	ok(value_is("v\n\n", 3, "v\n", 2), "stdin: only one newline dropped");
	ok(value_is("a\r\n", 3, "a\r", 2), "stdin: a carriage return is kept");
	ok(value_is(" a \"b\"\n\tc \n", 11, " a \"b\"\n\tc ", 10),
	    "stdin: spaces, quotes, inner newlines and tabs kept");
	ok(value_from("\n", 1, &v, &len) == -1 && strstr(err, "empty"),
	    "stdin: a lone newline is an empty value, refused");
	ok(value_from("", 0, &v, &len) == -1 && strstr(err, "empty"),
	    "stdin: nothing at all is refused");
	big = malloc(VALUE_MAX_LEN + 2);
	for (i = 0; i < VALUE_MAX_LEN + 2; i++)
		big[i] = (char)(i * 7);
	ok(value_from(big, VALUE_MAX_LEN, &v, &len) == 0 &&
	    len == VALUE_MAX_LEN && memcmp(v, big, len) == 0,
	    "stdin: 64 KiB of bytes, NUL included, read exactly");
	if (len == VALUE_MAX_LEN)
		rt_secret_value_free(v, len);
	big[VALUE_MAX_LEN] = '\n';
	ok(value_from(big, VALUE_MAX_LEN + 1, &v, &len) == 0 &&
	    len == VALUE_MAX_LEN, "stdin: 64 KiB plus a newline fits");
	if (len == VALUE_MAX_LEN)
		rt_secret_value_free(v, len);
	big[VALUE_MAX_LEN] = 'x';
	ok(value_from(big, VALUE_MAX_LEN + 1, &v, &len) == -1 &&
	    strstr(err, "larger"), "stdin: 64 KiB + 1 byte is refused");
	free(big);
}

static char *
write_file(const char *name, const char *text, mode_t mode)
{
	static char path[1024];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, text, strlen(text)) == -1)
		perror(path);
	close(fd);
	chmod(path, mode);
	return path;
}

static void
test_token_file(void)
{
	char *t, *path;

	path = write_file("tok", "rts_abc\n", 0600);
	ok(token_file_read(path, 1, &t, err, sizeof(err)) == 0 && t != NULL &&
	    strcmp(t, "rts_abc") == 0, "token file 0600: token read, newline "
	    "stripped");
	free(t);
	path = write_file("tok", "rts_abc\n", 0400);
	ok(token_file_read(path, 1, &t, err, sizeof(err)) == 0 && t != NULL,
	    "token file 0400 accepted");
	free(t);
	path = write_file("tok", "rts_abc\n", 0644);
	ok(token_file_read(path, 1, &t, err, sizeof(err)) == -1 && t == NULL &&
	    strstr(err, "0644") && strstr(err, "chmod 600"),
	    "token file 0644 refused with a clear message: %s", err);
	path = write_file("tok", "rts_abc\n", 0640);
	ok(token_file_read(path, 1, &t, err, sizeof(err)) == -1,
	    "token file 0640 refused");
	path = write_file("tok", "rts a\n", 0600);
	ok(token_file_read(path, 1, &t, err, sizeof(err)) == -1,
	    "token file with inner white space refused");
	path = write_file("tok", "\n", 0600);
	ok(token_file_read(path, 1, &t, err, sizeof(err)) == -1,
	    "empty token file refused");
	snprintf(err, sizeof(err), "%s/none", tmpdir);
	path = strdup(err);
	ok(token_file_read(path, 0, &t, err, sizeof(err)) == 0 && t == NULL,
	    "missing default token file: no token, no error");
	ok(token_file_read(path, 1, &t, err, sizeof(err)) == -1,
	    "missing RUNTOOLS_TOKEN_FILE is an error");
	free(path);

	path = write_file("tok", "rts_file\n", 0600);
	setenv("RUNTOOLS_TOKEN_FILE", path, 1);
	setenv("RUNTOOLS_TOKEN", "rts_env", 1);
	ok(cli_token(&t, err, sizeof(err)) == 0 && strcmp(t, "rts_env") == 0,
	    "RUNTOOLS_TOKEN wins over the token file");
	free(t);
	unsetenv("RUNTOOLS_TOKEN");
	ok(cli_token(&t, err, sizeof(err)) == 0 && strcmp(t, "rts_file") == 0,
	    "RUNTOOLS_TOKEN_FILE is read");
	free(t);
	chmod(path, 0604);
	ok(cli_token(&t, err, sizeof(err)) == -1, "RUNTOOLS_TOKEN_FILE readable "
	    "by others is refused");
	unsetenv("RUNTOOLS_TOKEN_FILE");
	setenv("HOME", tmpdir, 1);
	ok(cli_token(&t, err, sizeof(err)) == 0 && t == NULL,
	    "no token anywhere: none sent");
}

static void
test_default_url(void)
{
	char url[4200], want[4200], *conf;

	conf = write_file("a.conf", "# x\nsocket_mode = 0660\n"
	    "socket = /srv/s.sock\n", 0644);
	ok(default_url(conf, url, sizeof(url)) == 0 &&
	    strcmp(url, "unix:/srv/s.sock") == 0, "default URL: config socket");
	conf = write_file("b.conf", "socket=dev/s.sock   # local\n", 0644);
	snprintf(want, sizeof(want), "unix:%s/dev/s.sock", tmpdir);
	ok(default_url(conf, url, sizeof(url)) == 0 && strcmp(url, want) == 0,
	    "default URL: relative socket is relative to the config, comment "
	    "dropped (%s)", url);
	conf = write_file("c.conf", "state_dir = x\n", 0644);
	ok(default_url(conf, url, sizeof(url)) == 0 &&
	    strcmp(url, "unix:" SECRETD_SOCKET) == 0,
	    "default URL: config without socket uses the built-in path");
	ok(default_url("/nonexistent/x.conf", url, sizeof(url)) == 0 &&
	    strcmp(url, "unix:" SECRETD_SOCKET) == 0,
	    "default URL: no config uses the built-in path");
}

static void
test_output_clean(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	out_clean(f, "a\033[2Jb\nc\xc3\xa9");
	fclose(f);
	ok(strcmp(out, "a?[2Jb?c\xc3\xa9") == 0,
	    "server text: control characters replaced, UTF-8 kept");
	free(out);
}

static void
test_tool_commands(void)
{
	struct cli c;

	ok(parse_ok(&c, "tool list") && c.group == GROUP_TOOL &&
	    c.cmd == CMD_TOOL_LIST, "tool list");
	ok(parse_ok(&c, "tool list --json") && c.json, "tool list --json");
	ok(parse_ok(&c, "tool show custom-crm") && c.cmd == CMD_TOOL_SHOW &&
	    strcmp(c.tool, "custom-crm") == 0, "tool show NAME (with '-')");
	ok(parse_ok(&c, "tool exec custom-crm lookup_customer") &&
	    c.cmd == CMD_TOOL_EXEC && strcmp(c.tool, "custom-crm") == 0 &&
	    strcmp(c.action, "lookup_customer") == 0 && c.nparams == 0 &&
	    c.ncreds == 0 && c.params_json == NULL, "tool exec NAME ACTION");
	ok(parse_ok(&c, "tool exec custom-crm lookup_customer --param "
	    "email=person@example.com --param note=a=b --param empty= "
	    "--json") && c.json && c.nparams == 3 &&
	    strcmp(c.params[0].name, "email") == 0 &&
	    strcmp(c.params[0].value, "person@example.com") == 0 &&
	    strcmp(c.params[1].name, "note") == 0 &&
	    strcmp(c.params[1].value, "a=b") == 0 &&
	    strcmp(c.params[2].value, "") == 0,
	    "--param K=V, repeated: split at the first '=', empty allowed");
	cli_free(&c);
	ok(c.params == NULL && c.nparams == 0, "cli_free releases --param");
	ok(parse_ok(&c, "tool exec t a --credential apiKey=SHARED_CRM_KEY "
	    "--credential backup=ORG_KEY:org") && c.ncreds == 2 &&
	    strcmp(c.creds[0].slot, "apiKey") == 0 &&
	    strcmp(c.creds[0].name, "SHARED_CRM_KEY") == 0 &&
	    !c.creds[0].org_wide && strcmp(c.creds[1].slot, "backup") == 0 &&
	    strcmp(c.creds[1].name, "ORG_KEY") == 0 && c.creds[1].org_wide,
	    "--credential SLOT=SECRET and SLOT=SECRET:org");
	cli_free(&c);
	ok(parse_ok(&c, "--url unix:/x tool exec --params-json - t a") &&
	    strcmp(c.params_json, "-") == 0 && strcmp(c.tool, "t") == 0,
	    "--params-json - before the arguments");
	ok(parse_ok(&c, "tool exec t a --params-json p.json --param k=1") &&
	    strcmp(c.params_json, "p.json") == 0 && c.nparams == 1,
	    "--params-json FILE with --param");
	cli_free(&c);
	ok(parse_ok(&c, "tool exec --help") && c.help &&
	    c.cmd == CMD_TOOL_EXEC, "tool exec --help");
}

static void
test_tool_usage_errors(void)
{
	static const char *bad[] = {
		"tool", "tool bogus", "tool list x", "tool show",
		"tool show a b", "tool exec", "tool exec t",
		"tool exec t a b", "tool show a/b", "tool show ../x",
		"tool show a.b", "tool exec t 1a", "tool exec t a-b",
		"tool exec a%2fb x",
		"tool show "
		"x2345678901234567890123456789012345678901234567890123456789012345",
		"tool exec t a --param", "tool exec t a --param k",
		"tool exec t a --param =v", "tool exec t a --param 1k=v",
		"tool exec t a --param a-b=v",
		"tool exec t a --param k=1 --param k=2",
		"tool exec t a --credential", "tool exec t a --credential k",
		"tool exec t a --credential k=", "tool exec t a --credential =S",
		"tool exec t a --credential k=1S",
		"tool exec t a --credential k=S:user",
		"tool exec t a --credential k=S:org:org",
		"tool exec t a --credential k=S: ",
		"tool exec t a --credential k=a/b",
		"tool exec t a --credential k=A --credential k=B:org",
		"tool exec t a --params-json", "tool exec t a --params-json=",
		"tool list --param k=v", "tool show t --credential k=S",
		"tool exec t a --org-wide", "tool exec t a --reveal",
		"secret list --param k=v", "token list --params-json x",
	};
	struct cli c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ok(parse(&c, bad[i]) == -1 && err[0] != '\0' &&
		    c.params == NULL && c.creds == NULL,
		    "usage error: 'runtools %s' (%s)", bad[i], err);
	}
}

static void
test_tool_param_types(void)
{
	struct rt_tool_param params[] = {
		{ "email", "string", RT_PARAM_STRING, 1, "path" },
		{ "limit", "number", RT_PARAM_NUMBER, 0, "query" },
		{ "exact", "boolean", RT_PARAM_BOOLEAN, 0, "query" },
		{ "when", "date", RT_PARAM_OTHER, 0, "body" },
	};
	struct rt_tool_action actions[] = {
		{ "lookup_customer", "d", params, 4 },
		{ "ping", NULL, NULL, 0 },
	};
	struct rt_tool t = { "custom-crm", NULL, "http", "members", 1000,
	    actions, 2, NULL, 0 };
	struct rt_tool none = { "empty", NULL, "exec", "members", 1000, NULL,
	    0, NULL, 0 };
	struct cli c;

	ok(parse_ok(&c, "tool exec custom-crm lookup_customer --param "
	    "limit=5 --param exact=true --param email=x --param when=now") &&
	    cli_param_types(&c, &t, err, sizeof(err)) == 0 &&
	    c.params[0].type == RT_PARAM_NUMBER &&
	    c.params[1].type == RT_PARAM_BOOLEAN &&
	    c.params[2].type == RT_PARAM_STRING &&
	    c.params[3].type == RT_PARAM_OTHER,
	    "each --param takes the type the action declares");
	cli_free(&c);
	ok(parse_ok(&c, "tool exec custom-crm lookup_customer --param "
	    "email=x --param colour=red") &&
	    cli_param_types(&c, &t, err, sizeof(err)) == -1 &&
	    strstr(err, "no parameter colour") != NULL &&
	    strstr(err, "email, limit, exact, when") != NULL,
	    "an unknown --param is named, with the known ones: %s", err);
	cli_free(&c);
	ok(parse_ok(&c, "tool exec custom-crm lookup --param email=x") &&
	    cli_param_types(&c, &t, err, sizeof(err)) == -1 &&
	    strstr(err, "no action lookup") != NULL &&
	    strstr(err, "lookup_customer, ping") != NULL,
	    "an unknown action is named, with the known ones: %s", err);
	cli_free(&c);
	ok(parse_ok(&c, "tool exec custom-crm ping --param email=x") &&
	    cli_param_types(&c, &t, err, sizeof(err)) == -1 &&
	    strstr(err, "parameters: none") != NULL,
	    "an action without parameters says so: %s", err);
	cli_free(&c);
	ok(parse_ok(&c, "tool exec empty run --param k=v") &&
	    cli_param_types(&c, &none, err, sizeof(err)) == -1 &&
	    strstr(err, "actions: none") != NULL,
	    "a tool without actions says so: %s", err);
	cli_free(&c);
}

/* What the library refuses of a --param list before it sends anything. */
static void
test_tool_exec_refusals(void)
{
	struct rt_param p[] = {
		{ "limit", "12x", RT_PARAM_NUMBER },
	};
	struct rt_exec_opts o = { NULL, 0, p, 1, NULL, 0, 0 };
	struct rt_exec_result r;
	rt_client *c;

	/* a socket that is not there: anything sent would be a network
	   error, not a usage error */
	if ((c = rt_client_new("unix:/nonexistent/secretd.sock", NULL,
	    NULL)) == NULL) {
		ok(0, "client");
		return;
	}
	ok(rt_tools_execute(c, "t", "a", &o, &r) == RT_E_USAGE &&
	    strstr(rt_client_last_error(c)->message, "limit") != NULL,
	    "a bad number is refused before sending: %s",
	    rt_client_last_error(c)->message);
	p[0] = (struct rt_param){ "exact", "1", RT_PARAM_BOOLEAN };
	ok(rt_tools_execute(c, "t", "a", &o, &r) == RT_E_USAGE,
	    "a bad boolean is refused before sending: %s",
	    rt_client_last_error(c)->message);
	p[0] = (struct rt_param){ "email", "x", RT_PARAM_STRING };
	o.params_json = "{\"email\":\"y\"}";
	ok(rt_tools_execute(c, "t", "a", &o, &r) == RT_E_USAGE,
	    "a name in both --params-json and --param is refused: %s",
	    rt_client_last_error(c)->message);
	p[0] = (struct rt_param){ "limit", "5", RT_PARAM_NUMBER };
	ok(rt_tools_execute(c, "t", "a", &o, &r) == RT_E_NETWORK,
	    "good params get as far as the network: %s",
	    rt_client_last_error(c)->message);
	rt_client_free(c);
}

static void
test_params_json_file(void)
{
	char *text, *path, *big;
	size_t len;
	int fd;

	path = write_file("p.json", "{\"a\":1}\n", 0600);
	ok(read_params_json(path, &text, &len, err, sizeof(err)) == 0 &&
	    len == 8 && memcmp(text, "{\"a\":1}\n", 8) == 0,
	    "--params-json FILE read whole");
	rt_secret_value_free(text, len);
	path = write_file("p.json", "", 0600);
	ok(read_params_json(path, &text, &len, err, sizeof(err)) == -1 &&
	    strstr(err, "empty") != NULL, "an empty file is refused: %s",
	    err);
	ok(read_params_json("/nonexistent/p.json", &text, &len, err,
	    sizeof(err)) == -1 && strstr(err, "/nonexistent/p.json") != NULL,
	    "a missing file is named: %s", err);
	big = malloc(PARAMS_JSON_MAX + 2);
	memset(big, ' ', PARAMS_JSON_MAX + 1);
	big[PARAMS_JSON_MAX + 1] = '\0';
	path = write_file("p.json", big, 0600);
	ok(read_params_json(path, &text, &len, err, sizeof(err)) == -1 &&
	    strstr(err, "larger") != NULL, "over 128 KiB is refused: %s", err);
	free(big);
	path = write_file("p.json", "{}", 0600);
	fd = dup(STDIN_FILENO);
	if (freopen(path, "r", stdin) != NULL) {
		ok(read_params_json("-", &text, &len, err, sizeof(err)) == 0 &&
		    len == 2 && memcmp(text, "{}", 2) == 0,
		    "--params-json - reads standard input");
		rt_secret_value_free(text, len);
	} else
		ok(0, "--params-json - reads standard input");
	dup2(fd, STDIN_FILENO);
	close(fd);
}

/* runtools run: options, the command left in argv, refused variables. */
static void
test_run(void)
{
	static const char *bad[] = {
		"run", "run --secret X", "run -- true", "run --secret 1X -- true",
		"run --env X -- true", "run --env 1V=X -- true",
		"run --env V=a/b -- true", "run --secret X --env X=Y -- true",
		"run --secret LD_PRELOAD -- true", "run --env PATH=X -- true",
		"run --env LD_ANY=X -- true", "run --env BASH_ENV=X -- true",
		"run --env PYTHONPATH=X --allow-env PATH -- true",
		"run --category nope -- true", "run --allow-env a-b --secret X -- "
		"true", "--json run --secret X -- true", "run --reveal -- true",
	};
	static const char *danger[] = { "LD_PRELOAD", "LD_AUDIT", "PATH",
	    "BASH_ENV", "ENV", "IFS", "PYTHONPATH", "PYTHONSTARTUP",
	    "NODE_OPTIONS", "PERL5OPT", "PERL5LIB", "RUBYOPT", "BASH_FUNC_x%%" };
	static const char *fine[] = { "API_KEY", "LD", "PATHS", "MY_PATH",
	    "ENVIRONMENT", "NODE_ENV", "HOME_DIR" };
	struct cli c;
	size_t i;

	ok(parse_ok(&c, "run --secret API_KEY --env DB=PROD_DB --category "
	    "provider -- sh -c x --secret Y") && c.cmd == CMD_RUN &&
	    c.run != NULL, "run with --secret, --env, --category");
	cli_free(&c);
	ok(c.run == NULL, "cli_free frees the run options");
	ok(parse_ok(&c, "--url unix:/x run --org-wide --no-mask --secret A "
	    "printenv A") && c.cmd == CMD_RUN && strcmp(c.url, "unix:/x") == 0,
	    "run without --, global options before it");
	cli_free(&c);
	ok(parse_ok(&c, "run --env PYTHONPATH=X --allow-env PYTHONPATH -- "
	    "true"), "run --allow-env lets a refused variable be set");
	cli_free(&c);
	ok(parse_ok(&c, "run --help") && c.help && c.cmd == CMD_RUN,
	    "run --help");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ok(parse(&c, bad[i]) == -1 && err[0] != '\0',
		    "usage error: 'runtools %s' (%s)", bad[i], err);
		cli_free(&c);
	}
	for (i = 0; i < sizeof(danger) / sizeof(danger[0]); i++)
		ok(run_var_dangerous(danger[i]), "%s is refused", danger[i]);
	for (i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
		ok(!run_var_dangerous(fine[i]), "%s is not", fine[i]);
}

static void
test_token_create_opts(void)
{
	static const char *bad[] = {
		"token create --ttl 5 --no-expiry",
		"token create --no-expiry --ttl 1d", "token create --force",
		"token create --output x --json", "token create --ttl 5dd",
		"token create --ttl d", "token create --ttl 0d",
		"token create --ttl never5", "token create --ttl 5w",
		"token create --ttl 99999999999999999999",
		"token create --ttl 9999999999999999d",
		"secret list --output x", "secret list --no-expiry",
		"token list --force", "--profile a/b secret list",
		"secret list --profile", "token create --ttl never --ttl 60",
		"--profile x token create --no-expiry --force",
		"run --profile a/b --secret X -- true",
	};
	struct cli c;
	size_t i;

	ok(parse_ok(&c, "token create") && c.ttl == TOKEN_TTL_DEFAULT &&
	    c.ttl == 30 * 24 * 3600 && !c.no_expiry && c.output == NULL,
	    "token create: 30 days by default");
	ok(parse_ok(&c, "token create --ttl never") && c.ttl == 0 &&
	    c.no_expiry, "--ttl never: no expiry");
	ok(parse_ok(&c, "token create --no-expiry") && c.ttl == 0 &&
	    c.no_expiry, "--no-expiry");
	ok(parse_ok(&c, "token create --ttl never --no-expiry") &&
	    c.ttl == 0, "--ttl never with --no-expiry agree");
	ok(parse_ok(&c, "token create --ttl 60 --ttl 120") && c.ttl == 120,
	    "the last --ttl wins");
	ok(parse_ok(&c, "token create --ttl 30d") && c.ttl == 2592000,
	    "--ttl 30d");
	ok(parse_ok(&c, "token create --ttl 12h") && c.ttl == 43200,
	    "--ttl 12h");
	ok(parse_ok(&c, "token create --ttl 90m") && c.ttl == 5400,
	    "--ttl 90m");
	ok(parse_ok(&c, "token create --ttl 45s") && c.ttl == 45,
	    "--ttl 45s");
	ok(parse_ok(&c, "token create --output dir/tok --force") &&
	    strcmp(c.output, "dir/tok") == 0 && c.force,
	    "token create --output FILE --force");
	ok(parse_ok(&c, "--profile work secret list") &&
	    strcmp(c.profile, "work") == 0, "--profile before the command");
	ok(parse_ok(&c, "secret get X --profile a.b-c_1") &&
	    strcmp(c.profile, "a.b-c_1") == 0, "--profile after it");
	ok(parse_ok(&c, "run --profile p --secret X -- true") &&
	    strcmp(c.profile, "p") == 0, "run --profile");
	cli_free(&c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(parse(&c, bad[i]) == -1 && err[0] != '\0',
		    "usage error: 'runtools %s' (%s)", bad[i], err);
}

/* conf_file TEXT MODE: writes the config file, returns its path. */
static const char *
conf_file(const char *text, mode_t mode)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/config", tmpdir);
	unlink(path);
	if ((f = fopen(path, "w")) == NULL)
		return path;
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static int
load_err(const char *text, const char *want, const char *msg)
{
	struct cli_profile p;
	const char *path = conf_file(text, 0600);
	char expect[1024];

	snprintf(expect, sizeof(expect), "%s%s", path, msg);
	err[0] = '\0';
	return profile_load(path, want, &p, err, sizeof(err)) == -1 &&
	    strncmp(err, expect, strlen(expect)) == 0 && p.name[0] == '\0';
}

static void
test_profiles(void)
{
	struct cli_profile p;
	const char *path;
	char want[1024], xdg[512];

	path = conf_file("# profiles\n\n default = b  # the usual\n"
	    "[profile a]\nurl = unix:/a.sock\n"
	    "[ profile   b ]\n  url=https://h:1 ; comment\n"
	    "ca_file = ca.pem\ntoken_file = ~/tok\n; end\n", 0644);
	setenv("HOME", "/home/x", 1);
	ok(profile_load(path, NULL, &p, err, sizeof(err)) == 0 &&
	    strcmp(p.name, "b") == 0 && strcmp(p.url, "https://h:1") == 0 &&
	    strcmp(p.token_file, "/home/x/tok") == 0,
	    "the default profile, comments and blanks (%s)", err);
	snprintf(want, sizeof(want), "%s/ca.pem", tmpdir);
	ok(strcmp(p.ca_file, want) == 0, "a relative path is next to the "
	    "config file: %s", p.ca_file);
	ok(profile_load(path, "a", &p, err, sizeof(err)) == 0 &&
	    strcmp(p.name, "a") == 0 && strcmp(p.url, "unix:/a.sock") == 0 &&
	    p.ca_file[0] == '\0' && p.token_file[0] == '\0',
	    "a named profile, its unset values empty");
	ok(profile_load(path, "c", &p, err, sizeof(err)) == -1 &&
	    strstr(err, "no profile c") != NULL, "an unknown profile: %s",
	    err);
	snprintf(xdg, sizeof(xdg), "%s", tmpdir);
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	ok(profile_config_path(want, sizeof(want)) == 0 &&
	    strcmp(want, "/xdg/runtools/config") == 0,
	    "$XDG_CONFIG_HOME/runtools/config");
	setenv("XDG_CONFIG_HOME", "relative", 1);
	ok(profile_config_path(want, sizeof(want)) == 0 &&
	    strcmp(want, "/home/x/.config/runtools/config") == 0,
	    "a relative XDG_CONFIG_HOME is ignored: ~/.config/runtools/config");
	unsetenv("XDG_CONFIG_HOME");

	path = conf_file("[profile a]\nurl = unix:/a\n", 0600);
	ok(profile_load(path, NULL, &p, err, sizeof(err)) == 0 &&
	    p.name[0] == '\0' && p.url[0] == '\0',
	    "no default and none asked for: no profile");
	snprintf(want, sizeof(want), "%s/missing", tmpdir);
	ok(profile_load(want, NULL, &p, err, sizeof(err)) == 0 &&
	    p.name[0] == '\0', "a missing file, no profile asked for: fine");
	ok(profile_load(want, "a", &p, err, sizeof(err)) == -1 &&
	    strstr(err, "no config file") != NULL,
	    "a missing file with a profile asked for: %s", err);

	path = conf_file("[profile a]\nurl = unix:/a\n", 0620);
	ok(profile_load(path, "a", &p, err, sizeof(err)) == -1 &&
	    strstr(err, "has mode 0620") != NULL,
	    "a group-writable file is refused: %s", err);
	path = conf_file("[profile a]\nurl = unix:/a\n", 0602);
	ok(profile_load(path, NULL, &p, err, sizeof(err)) == -1,
	    "a world-writable file is refused, even unused");

	ok(load_err("[profile a]\nurl\n", NULL, ":2: expected KEY = VALUE"),
	    "no '=': FILE:LINE (%s)", err);
	ok(load_err("\n\nurl = x\n", NULL, ":3: unknown setting 'url'"),
	    "a setting before any profile (%s)", err);
	ok(load_err("[profile a]\nuser = x\n", NULL, ":2: unknown setting"),
	    "an unknown setting (%s)", err);
	ok(load_err("[profile a]\n[profile a]\n", NULL, ":2: profile a is "
	    "defined twice"), "a profile twice (%s)", err);
	ok(load_err("[profile a]\nurl = x\nurl = y\n", "a", ":3: url is given "
	    "twice"), "a setting twice (%s)", err);
	ok(load_err("[profile a]\nca_file =   # none\n", NULL, ":2: ca_file "
	    "has no value"), "an empty value (%s)", err);
	ok(load_err("[profile a\n", NULL, ":1: a section is"),
	    "an unclosed section (%s)", err);
	ok(load_err("[profile a] x\n", NULL, ":1: a section is"),
	    "text after a section (%s)", err);
	ok(load_err("[profiles a]\n", NULL, ":1: unknown section"),
	    "an unknown section (%s)", err);
	ok(load_err("[profile]\n", NULL, ":1: unknown section"),
	    "a section without a name (%s)", err);
	ok(load_err("[profile a b]\n", NULL, ":1: invalid profile name"),
	    "a name with a blank (%s)", err);
	ok(load_err("default = a\ndefault = a\n[profile a]\n", NULL,
	    ":2: default is given twice"), "default twice (%s)", err);
	ok(load_err("default = z\n[profile a]\n", NULL, ":1: the default "
	    "profile z is not defined"), "an undefined default (%s)", err);
	ok(load_err("[profile a]\ndefault = a\n", NULL, ":2: unknown setting"),
	    "default inside a profile (%s)", err);
	{
		char big[6000];

		memset(big, 'x', sizeof(big));
		memcpy(big, "[profile a]\nurl = ", 18);
		big[sizeof(big) - 2] = '\n';
		big[sizeof(big) - 1] = '\0';
		ok(load_err(big, NULL, ":2: line longer than"),
		    "a line too long (%s)", err);
	}
	setenv("RUNTOOLS_PROFILE", "a/b", 1);
	ok(profile_select(NULL, &p, err, sizeof(err)) == -1 &&
	    strstr(err, "RUNTOOLS_PROFILE") != NULL,
	    "an invalid RUNTOOLS_PROFILE: %s", err);
	unsetenv("RUNTOOLS_PROFILE");
	(void)xdg;
}

int
main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_client_args.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	rt_harden_memory();
	test_document_lines();
	test_options();
	test_usage_errors();
	test_help();
	test_value_wiped_from_argv();
	test_stdin_value();
	test_token_file();
	test_default_url();
	test_output_clean();
	test_tool_commands();
	test_tool_usage_errors();
	test_tool_param_types();
	test_tool_exec_refusals();
	test_params_json_file();
	test_run();
	test_token_create_opts();
	test_profiles();
	if (fork() == 0)
		execlp("rm", "rm", "-rf", tmpdir, (char *)NULL);
	wait(NULL);
	return done_testing();
}
