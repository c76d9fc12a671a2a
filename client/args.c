/*
 * runtools command line: options, per-command help, and the inputs that do
 * not come from argv (value from stdin, token, default URL).  Never sends
 * anything, and never keeps a value or token in memory it frees unwiped.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "tool.h"
#include "cli.h"

/* getopt_long returns these; none may be 1, '?', ':', 'h' or 'V' */
enum {
	OPT_URL = 0x0002,
	OPT_CAFILE = 0x0004,
	OPT_JSON = 0x0008,
	OPT_HELP = 0x0010,
	OPT_VERSION = 0x0020,
	OPT_CATEGORY = 0x0040,
	OPT_DESCRIPTION = 0x0080,
	OPT_ORGWIDE = 0x0100,
	OPT_USER = 0x0200,
	OPT_REVEAL = 0x0400,
	OPT_USERONLY = 0x0800,
	OPT_ORGONLY = 0x1000,
	OPT_ALLORG = 0x2000,
	OPT_ROLE = 0x4000,
	OPT_TTL = 0x8000,
	OPT_PARAM = 0x10000,
	OPT_PARAMSJSON = 0x20000,
	OPT_CREDENTIAL = 0x40000,
	OPT_FORMAT = 0x80000,
	OPT_DRYRUN = 0x100000,
	OPT_FILE = 0x200000,
	OPT_LIMIT = 0x400000,
	OPT_PREFIX = 0x800000,
	/* profile.c, tokenout.c */
	OPT_PROFILE = 0x1000000,
	OPT_NOEXPIRY = 0x2000000,
	OPT_OUTPUT = 0x4000000,
	OPT_FORCE = 0x8000000,
	OPT_EXPIRES = 0x10000000,
	OPT_EXPIRING = 0x20000000,
	OPT_SECVERSION = 0x40000000,	/* --version N after get, rollback */
	OPT_TOKENSCOPE = 0x80000000U	/* token create --scope; getopt_long
					   returns it as a negative int */
};
#define OPT_GLOBAL	(OPT_URL | OPT_CAFILE | OPT_JSON | OPT_HELP | \
			 OPT_VERSION | OPT_PROFILE)
#define OPT_SCOPES	(OPT_USERONLY | OPT_ORGONLY | OPT_ALLORG)
#define MAX_POS		2

static const struct option longopts[] = {
	{ "url",		required_argument,	NULL, OPT_URL },
	{ "ca-file",		required_argument,	NULL, OPT_CAFILE },
	{ "json",		no_argument,		NULL, OPT_JSON },
	{ "help",		no_argument,		NULL, OPT_HELP },
	{ "version",		no_argument,		NULL, OPT_VERSION },
	{ "category",		required_argument,	NULL, OPT_CATEGORY },
	{ "description",	required_argument,	NULL, OPT_DESCRIPTION },
	{ "org-wide",		no_argument,		NULL, OPT_ORGWIDE },
	{ "user",		required_argument,	NULL, OPT_USER },
	{ "reveal",		no_argument,		NULL, OPT_REVEAL },
	{ "user-only",		no_argument,		NULL, OPT_USERONLY },
	{ "org-only",		no_argument,		NULL, OPT_ORGONLY },
	{ "all-org",		no_argument,		NULL, OPT_ALLORG },
	{ "role",		required_argument,	NULL, OPT_ROLE },
	{ "ttl",		required_argument,	NULL, OPT_TTL },
	{ "expires",		required_argument,	NULL, OPT_EXPIRES },
	{ "expiring",		required_argument,	NULL, OPT_EXPIRING },
	{ "param",		required_argument,	NULL, OPT_PARAM },
	{ "params-json",	required_argument,	NULL, OPT_PARAMSJSON },
	{ "credential",		required_argument,	NULL, OPT_CREDENTIAL },
	{ "format",		required_argument,	NULL, OPT_FORMAT },
	{ "dry-run",		no_argument,		NULL, OPT_DRYRUN },
	{ "profile",		required_argument,	NULL, OPT_PROFILE },
	{ "no-expiry",		no_argument,		NULL, OPT_NOEXPIRY },
	{ "output",		required_argument,	NULL, OPT_OUTPUT },
	{ "force",		no_argument,		NULL, OPT_FORCE },
	{ "file",		required_argument,	NULL, OPT_FILE },
	{ "limit",		required_argument,	NULL, OPT_LIMIT },
	{ "prefix",		required_argument,	NULL, OPT_PREFIX },
	{ "scope",		required_argument,	NULL,
	  (int)OPT_TOKENSCOPE },
	{ NULL,			0,			NULL, 0 }
};
#define NLONGOPTS	(sizeof(longopts) / sizeof(longopts[0]))

/*
 * After "secret get" and "secret rollback", --version N names a kept
 * version of the secret; anywhere else --version prints runtools' own.
 */
static int
takes_secret_version(enum cli_cmd cmd)
{
	return cmd == CMD_SECRET_GET || cmd == CMD_SECRET_ROLLBACK;
}

static const struct option *
secret_version_opts(void)
{
	static struct option o[NLONGOPTS];
	size_t i;

	memcpy(o, longopts, sizeof(o));
	for (i = 0; o[i].name != NULL; i++)
		if (strcmp(o[i].name, "version") == 0) {
			o[i].has_arg = required_argument;
			o[i].val = OPT_SECVERSION;
		}
	return o;
}

static const struct cmdinfo {
	enum cli_group	 group;
	enum cli_cmd	 cmd;
	const char	*word;
	unsigned int	 allowed;
	int		 min_pos, max_pos;
	const char	*synopsis;
	const char	*help;
} cmds[] = {
	{ GROUP_SECRET, CMD_SECRET_SET, "set",
	  OPT_CATEGORY | OPT_DESCRIPTION | OPT_ORGWIDE | OPT_USER | OPT_FILE |
	  OPT_EXPIRES, 1, 2,
	  "secret set NAME [VALUE | --file PATH] [--category C] "
	  "[--description D] [--org-wide] [--user ID] [--expires WHEN]",
	  "Create NAME, or rotate it if it exists (version + 1).  Without "
	  "VALUE the\nvalue is read from standard input, and one trailing "
	  "newline is dropped:\nthe safe way, since a VALUE argument stays "
	  "in shell history and is\nvisible to other users until runtools "
	  "has read it.\nCategories: provider, tool, agent, workflow, "
	  "custom (default).\n--org-wide shares it with the organisation "
	  "(admins only); --user ID sets\nanother user's secret (admins "
	  "only).  --expires 30d, 12h, YYYY-MM-DD or never records\nwhen "
	  "it should be rotated (a reminder; nothing is refused after it)."
	  "\nPrints \"created NAME (SCOPE, version N)\".\n--file PATH "
	  "stores the file's bytes exactly, a final newline included; any "
	  "bytes\n(certificates, keystores) may be stored this way." },
	{ GROUP_SECRET, CMD_SECRET_ROTATE, "rotate",
	  OPT_ORGWIDE | OPT_USER | OPT_FILE | OPT_EXPIRES, 1, 1,
	  "secret rotate NAME [--file PATH] [--org-wide] [--user ID] "
	  "[--expires WHEN]",
	  "Replace the value of an existing secret with one read from "
	  "standard input\n(one trailing newline dropped), or from --file "
	  "PATH byte for byte,\nkeeping its category and description (and "
	  "expiry, unless --expires gives\na new one).  Exits 3 if NAME "
	  "does not exist." },
	{ GROUP_SECRET, CMD_SECRET_LIST, "list",
	  OPT_SCOPES | OPT_CATEGORY | OPT_USER | OPT_LIMIT | OPT_PREFIX |
	  OPT_EXPIRING, 0, 0,
	  "secret list [--user-only|--org-only|--all-org] [--category C] "
	  "[--user ID] [--prefix P] [--limit N] [--expiring 7d]",
	  "List metadata (never values) of your secrets and the org's.\n"
	  "--user-only: your own; --org-only: the org's; --all-org: every "
	  "user's and\nthe org's (admins); --user ID: that user's (admins).\n"
	  "--prefix P: only names starting with P; --limit N: the first N "
	  "(1 to 1000)\nonly, with a note on standard error when there "
	  "are more.\n--expiring 7d: only those whose expiry falls within "
	  "7 days (or has passed)." },
	{ GROUP_SECRET, CMD_SECRET_GET, "get",
	  OPT_REVEAL | OPT_ORGWIDE | OPT_USER | OPT_SECVERSION, 1, 1,
	  "secret get NAME [--reveal [--version N]] [--org-wide] [--user ID]",
	  "Print a secret's metadata.  --reveal prints the value alone "
	  "instead (with a\ntrailing newline only on a terminal); policy "
	  "decides who may reveal.\n--version N with --reveal prints kept "
	  "version N instead of the current one\n(see 'secret versions').\n"
	  "--org-wide selects the org secret; --user ID another user's "
	  "(admins)." },
	{ GROUP_SECRET, CMD_SECRET_VERSIONS, "versions",
	  OPT_ORGWIDE | OPT_USER, 1, 1,
	  "secret versions NAME [--org-wide] [--user ID]",
	  "List the kept versions of a secret, newest first: version, when "
	  "and by whom\nit was written, and which is current.  The server "
	  "keeps versions_kept of\neach (secretd.conf(5)); a delete drops "
	  "them all." },
	{ GROUP_SECRET, CMD_SECRET_ROLLBACK, "rollback",
	  OPT_ORGWIDE | OPT_USER | OPT_SECVERSION, 1, 1,
	  "secret rollback NAME --version N [--org-wide] [--user ID]",
	  "Make kept version N's value current again, as a new version "
	  "(the value\nnever leaves the server).  Who may rotate the secret "
	  "may roll it back.\nPrints \"rolled back NAME to version N "
	  "(SCOPE, version M)\".  Exits 2 when N\nis already the current "
	  "version, 3 when it is not kept." },
	{ GROUP_SECRET, CMD_SECRET_DELETE, "delete", OPT_ORGWIDE | OPT_USER,
	  1, 1, "secret delete NAME [--org-wide] [--user ID]",
	  "Delete a secret.  Prints \"deleted NAME\"." },
	{ GROUP_TOKEN, CMD_TOKEN_CREATE, "create",
	  OPT_DESCRIPTION | OPT_ROLE | OPT_TTL | OPT_NOEXPIRY | OPT_OUTPUT |
	  OPT_FORCE | OPT_TOKENSCOPE, 0, 0,
	  "token create [--description D] [--role member|admin] "
	  "[--ttl N[s|m|h|d]|never] [--no-expiry] [--scope tools:NAME]... "
	  "[--output FILE [--force]]",
	  "Create an API token and print it once on standard output; "
	  "details go to\nstandard error.  Only admins may create admin "
	  "tokens.\n--ttl sets its lifetime in seconds, or with a unit "
	  "(30d, 12h, 90m); the\ndefault is 30 days.  --ttl never or "
	  "--no-expiry: it never expires.\n--output FILE writes the token "
	  "to FILE (mode 0600, missing folders\ncreated 0700) instead of "
	  "standard output; an existing FILE is refused\nunless --force is "
	  "given.  Use FILE as RUNTOOLS_TOKEN_FILE or a profile's\n"
	  "token_file.\n--scope tools:NAME (repeatable; tools:* for every "
	  "tool) makes a token that may\nonly list, show and run those "
	  "tools: no secret, no other token.  Give it\nto a remote agent "
	  "for /v1/mcp." },
	{ GROUP_TOKEN, CMD_TOKEN_LIST, "list", 0, 0, 0, "token list",
	  "List the tokens you may manage (never their secrets), following "
	  "every page." },
	{ GROUP_TOKEN, CMD_TOKEN_REVOKE, "revoke", 0, 1, 1, "token revoke ID",
	  "Revoke a token by its id.  Prints \"revoked ID\"." },
	{ GROUP_TOOL, CMD_TOOL_LIST, "list", 0, 0, 0, "tool list",
	  "List the tools you may run, following every page: name, type, "
	  "actions, and\neach credential slot with its default secret "
	  "(SLOT=SECRET)." },
	{ GROUP_TOOL, CMD_TOOL_SHOW, "show", 0, 1, 1, "tool show NAME",
	  "Describe a tool: its type, who may run it, its timeout, its "
	  "credential slots\nwith their default secrets, and each action "
	  "with its parameters (type,\nrequired or optional, and where "
	  "each goes)." },
	{ GROUP_TOOL, CMD_TOOL_EXEC, "exec",
	  OPT_PARAM | OPT_PARAMSJSON | OPT_CREDENTIAL, 2, 2,
	  "tool exec NAME ACTION [--param K=V]... [--params-json FILE|-] "
	  "[--credential SLOT=SECRET[:org]]...",
	  "Run ACTION of tool NAME on the server with the secrets its "
	  "credential slots\nname; no secret value comes to this host.\n"
	  "--param K=V gives parameter K, converted to the type the tool "
	  "declares\n(the tool is looked up first; an unknown parameter or "
	  "a bad number or\nboolean stops before anything runs).  "
	  "--params-json reads a JSON object\nof parameters from FILE, or "
	  "from standard input with -; it may be\ncombined with --param, "
	  "but a name given twice is an error.\n--credential SLOT=SECRET "
	  "fills SLOT from your secret SECRET, else the\norg's; "
	  "SLOT=SECRET:org from the org's only.\n"
	  "Prints the result (JSON indented, text as it came) on standard "
	  "output and,\nfor exec tools, what the command wrote to its "
	  "standard error on standard\nerror; --json prints the whole "
	  "response.  Exits 5 when the tool ran but\nreported failure "
	  "(an HTTP error status, or a non-zero exit)." },
	{ GROUP_NONE, CMD_RUN, "run", 0, 0, 0,
	  "run [--secret NAME]... [--env VAR=NAME]... [--category C] "
	  "[--org-wide] [--allow-env VAR]... [--no-mask] -- COMMAND [ARGS...]",
	  "Start COMMAND with secrets in its environment: --secret NAME sets "
	  "NAME,\n--env VAR=NAME sets VAR to secret NAME, --category C every "
	  "secret of C\nyou may reveal.  Your secret comes first, else the "
	  "org's of that name;\n--org-wide takes the org's only.  A refused "
	  "reveal stops before COMMAND runs.\nVariables that change how "
	  "programs are loaded or run (LD_*, PATH, BASH_ENV,\nPYTHONPATH, "
	  "NODE_OPTIONS, ...; see runtools(1)) are refused unless named\n"
	  "with --allow-env VAR.  Every value COMMAND writes on standard "
	  "output or\nerror is replaced by <concealed by runtools>; "
	  "--no-mask runs it unfiltered.\nExits with COMMAND's status (dies "
	  "of its signal); 126 or 127 when it\ncannot be run." },
	{ GROUP_SECRET, CMD_SECRET_EXPORT, "export",
	  OPT_SCOPES | OPT_CATEGORY | OPT_FORMAT, 0, 0,
	  "secret export [--format dotenv|env|json] "
	  "[--user-only|--org-only|--all-org] [--category C]",
	  "Write the values you may reveal, selected as 'secret list' "
	  "selects them, on\nstandard output: dotenv (default) NAME=\"...\" "
	  "lines that 'secret import' reads\nback byte for byte; env: "
	  "export NAME='...' lines for a POSIX shell; json:\nan object of "
	  "names and values.  Each name once: your user secret wins over\n"
	  "the org secret of the same name.  A secret you may list but not "
	  "reveal (an\norg secret when only admins reveal, another user's) "
	  "is skipped with a note\non standard error; nothing is written if "
	  "any other error occurs." },
	{ GROUP_SECRET, CMD_SECRET_IMPORT, "import",
	  OPT_FORMAT | OPT_ORGWIDE | OPT_CATEGORY | OPT_DRYRUN, 1, 1,
	  "secret import FILE|- [--format dotenv|json] [--org-wide] "
	  "[--category C] [--dry-run]",
	  "Create or rotate secrets from a .env file (or a JSON object of "
	  "names and\nstring values; the default for a FILE ending in "
	  ".json).  The whole file is\nread and checked first: a malformed "
	  "line is reported with its number and\nnothing is written.  Each "
	  "value is compared with the current one where you\nmay reveal it; "
	  "prints \"created\", \"rotated\" or \"unchanged\" for each name.\n"
	  "--category applies to the secrets created; --dry-run says what "
	  "would change\nand changes nothing." },
	{ GROUP_NONE, CMD_MCP, "mcp", 0, 0, 0,
	  "mcp [--tool NAME]... [--credential SLOT=SECRET[:org]]...",
	  "Serve your tools to an agent as a Model Context Protocol server "
	  "over standard\ninput and output (newline-delimited JSON-RPC), "
	  "for an agent host to start:\n  {\"mcpServers\": {\"secretd\": "
	  "{\"command\": \"runtools\", \"args\": [\"mcp\"]}}}\n"
	  "Each action of each tool you may run becomes one MCP tool named "
	  "TOOL__ACTION,\nwith an input schema from its parameters; a call "
	  "runs on the server with\nthe credentials its slots name, and no "
	  "secret value comes to this host.\n--tool NAME offers only the "
	  "tools named (an unknown one stops at start);\n--credential "
	  "SLOT=SECRET[:org] fills SLOT in every call of a tool that has\n"
	  "it.  Nothing but protocol messages is written on standard "
	  "output; notes go\nto standard error.  Exits 0 at the end of "
	  "standard input." },
	{ GROUP_NONE, CMD_WHOAMI, "whoami", 0, 0, 0, "whoami",
	  "Print who the server takes you to be: user, uid (over the unix "
	  "socket),\nrole, org, and how you authenticated (unix peer "
	  "credentials, or the token\nid and its expiry)." },
};
#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static const char *group_words[] = { "", "secret", "token", "tool" };

static const struct cmdinfo *
cmd_info(enum cli_cmd cmd)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (cmds[i].cmd == cmd)
			return &cmds[i];
	return NULL;
}

static const char *
opt_name(unsigned int bit)
{
	size_t i;

	if (bit == OPT_SECVERSION)
		return "version";
	for (i = 0; longopts[i].name != NULL; i++)
		if ((unsigned int)longopts[i].val == bit)
			return longopts[i].name;
	return "?";
}

/* "secret set " for "Try 'runtools secret set --help'". */
const char *
cli_help_words(const struct cli *c)
{
	static char buf[64];
	const struct cmdinfo *ci = cmd_info(c->cmd);

	snprintf(buf, sizeof(buf), "%s%s%s%s", group_words[c->group],
	    c->group != GROUP_NONE ? " " : "", ci != NULL ? ci->word : "",
	    ci != NULL ? " " : "");
	return buf;
}

static const char usage_common[] =
"Options, accepted anywhere on the line:\n"
"  --url URL        unix:/path/to.sock or https://host:port\n"
"  --ca-file FILE   trust only this CA certificate for https\n"
"                   (default: RUNTOOLS_CA_FILE)\n"
"  --profile NAME   take the URL, CA file and token file of profile NAME\n"
"                   in ~/.config/runtools/config (default:\n"
"                   RUNTOOLS_PROFILE, else the file's 'default = NAME')\n"
"  --json           print the API's JSON objects unchanged\n"
"  -h, --help       help for any command\n"
"  -V, --version    print the version\n"
"\n"
"Environment: RUNTOOLS_URL, by default the socket named in\n"
"  " SECRETD_CONF_FILE ", else\n"
"  unix:" SECRETD_SOCKET ";\n"
"RUNTOOLS_TOKEN, RUNTOOLS_TOKEN_FILE (default ~/.config/runtools/token;\n"
"mode 0600, owned by you); RUNTOOLS_CA_FILE; RUNTOOLS_PROFILE.\n"
"Options win over the environment, which wins over the profile.\n"
"\n"
"Exit status: 0 ok, 1 server or network error, 2 usage or invalid input,\n"
"3 not found, 4 unauthenticated or forbidden (or over a quota), 5 the tool\n"
"ran and reported failure (tool exec).\n";

void
cli_usage(FILE *f, const struct cli *c)
{
	const struct cmdinfo *ci = cmd_info(c->cmd);
	size_t i;

	if (ci != NULL) {
		fprintf(f, "usage: runtools %s\n\n%s\n\n%s", ci->synopsis,
		    ci->help, usage_common);
		return;
	}
	fprintf(f, "usage: runtools [options] %s%sCOMMAND [ARGS]\n\n"
	    "Commands:\n", group_words[c->group],
	    c->group != GROUP_NONE ? " " : "");
	for (i = 0; i < NCMDS; i++)
		if (c->group == GROUP_NONE || c->group == cmds[i].group)
			fprintf(f, "  runtools %s\n", cmds[i].synopsis);
	fprintf(f, "\n%s", usage_common);
}

/* --param NAME=VALUE; the type is set once the tool is known. */
static int
add_param(struct cli *c, const char *arg, char *err, size_t len)
{
	const char *eq = strchr(arg, '=');
	struct rt_param *p;
	size_t i, n;
	char *name;

	if (eq == NULL || !valid_field_name(arg, (size_t)(eq - arg))) {
		snprintf(err, len, "--param takes NAME=VALUE, NAME letters, "
		    "digits and '_', not starting with a digit: '%.64s'", arg);
		return -1;
	}
	n = (size_t)(eq - arg);
	for (i = 0; i < c->nparams; i++)
		if (strlen(c->params[i].name) == n &&
		    strncmp(c->params[i].name, arg, n) == 0) {
			snprintf(err, len, "--param %.*s is given twice",
			    (int)n, arg);
			return -1;
		}
	if ((name = strndup(arg, n)) == NULL ||
	    (p = realloc(c->params, (c->nparams + 1) * sizeof(*p))) == NULL) {
		free(name);
		snprintf(err, len, "out of memory");
		return -1;
	}
	c->params = p;
	p[c->nparams++] = (struct rt_param){ name, eq + 1, RT_PARAM_STRING };
	return 0;
}

/* --scope tools:NAME, as the server takes it; the server checks it too. */
static int
add_scope(struct cli *c, const char *arg, char *err, size_t len)
{
	const char *tool = arg + sizeof("tools:") - 1;
	const char **p;

	if (strncmp(arg, "tools:", sizeof("tools:") - 1) != 0 ||
	    (strcmp(tool, "*") != 0 && !valid_tool_name(tool,
	    strlen(tool)))) {
		snprintf(err, len, "--scope must be tools:NAME (a tool name) "
		    "or tools:*");
		return -1;
	}
	if (c->nscopes == TOKEN_SCOPES_MAX) {
		snprintf(err, len, "at most %d --scope", TOKEN_SCOPES_MAX);
		return -1;
	}
	if ((p = reallocarray(c->scopes, c->nscopes + 1, sizeof(*p))) ==
	    NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	c->scopes = p;
	p[c->nscopes++] = arg;
	return 0;
}

/* --credential SLOT=SECRET or SLOT=SECRET:org */
int
cli_add_credential(struct cli *c, const char *arg, char *err, size_t len)
{
	const char *eq = strchr(arg, '='), *colon;
	struct rt_credential_override *p;
	char *slot = NULL, *name = NULL;
	size_t i, n, nl;
	int org = 0;

	if (eq == NULL || !valid_field_name(arg, (size_t)(eq - arg)))
		goto bad;
	n = (size_t)(eq - arg);
	nl = strlen(eq + 1);
	if ((colon = strchr(eq + 1, ':')) != NULL) {
		if (strcmp(colon, ":org") != 0)
			goto bad;
		org = 1;
		nl = (size_t)(colon - (eq + 1));
	}
	if (!valid_secret_name(eq + 1, nl))
		goto bad;
	for (i = 0; i < c->ncreds; i++)
		if (strlen(c->creds[i].slot) == n &&
		    strncmp(c->creds[i].slot, arg, n) == 0) {
			snprintf(err, len, "--credential %.*s is given twice",
			    (int)n, arg);
			return -1;
		}
	if ((slot = strndup(arg, n)) == NULL ||
	    (name = strndup(eq + 1, nl)) == NULL ||
	    (p = realloc(c->creds, (c->ncreds + 1) * sizeof(*p))) == NULL) {
		free(slot);
		free(name);
		snprintf(err, len, "out of memory");
		return -1;
	}
	c->creds = p;
	p[c->ncreds++] = (struct rt_credential_override){ slot, name, org };
	return 0;
 bad:
	snprintf(err, len, "--credential takes SLOT=SECRET or "
	    "SLOT=SECRET:org (SLOT and SECRET letters, digits and '_', not "
	    "starting with a digit): '%.64s'", arg);
	return -1;
}

static int
opt_value(struct cli *c, int opt, const char *arg, char *err, size_t len)
{
	char *ep;
	int never = 0;

	switch (opt) {
	case OPT_URL:
		c->url = arg;
		break;
	case OPT_CAFILE:
		c->ca_file = arg;
		break;
	case OPT_CATEGORY:
		if (!valid_category(arg))
			goto bad;
		c->category = arg;
		break;
	case OPT_DESCRIPTION:
		if (strlen(arg) > DESC_MAX_LEN)
			goto bad;
		c->description = arg;
		break;
	case OPT_USER:
		if (!valid_id(arg, strlen(arg)))
			goto bad;
		c->user = arg;
		break;
	case OPT_ROLE:
		if (strcmp(arg, "member") != 0 && strcmp(arg, "admin") != 0)
			goto bad;
		c->role = arg;
		break;
	case (int)OPT_TOKENSCOPE:
		return add_scope(c, arg, err, len);
	case OPT_TTL:
		if (ttl_parse(arg, &c->ttl, &c->no_expiry) == -1)
			goto bad;
		break;
	case OPT_EXPIRES:
		if (expires_parse(arg, c->expires, sizeof(c->expires)) == -1)
			goto bad;
		c->has_expires = 1;
		break;
	case OPT_EXPIRING:
		if (ttl_parse(arg, &c->expiring, &never) == -1 || never)
			goto bad;
		c->has_expiring = 1;
		break;
	case OPT_PROFILE:
		if (!profile_valid_name(arg))
			goto bad;
		c->profile = arg;
		break;
	case OPT_OUTPUT:
		c->output = arg;
		break;
	case OPT_PARAM:
		return add_param(c, arg, err, len);
	case OPT_PARAMSJSON:
		if (*arg == '\0')
			goto bad;
		c->params_json = arg;
		break;
	case OPT_CREDENTIAL:
		return cli_add_credential(c, arg, err, len);
	case OPT_FILE:
		if (*arg == '\0')
			goto bad;
		c->value_file = arg;
		break;
	case OPT_LIMIT:
		errno = 0;
		c->limit = strtoul(arg, &ep, 10);
		if (*arg < '1' || *arg > '9' || *ep != '\0' || errno ||
		    c->limit > LIST_MAX_LIMIT)
			goto bad;
		break;
	case OPT_PREFIX:
		if (*arg == '\0' || !valid_secret_name(arg, strlen(arg)))
			goto bad;
		c->prefix = arg;
		break;
	case OPT_SECVERSION:
		errno = 0;
		c->secret_version = strtoul(arg, &ep, 10);
		if (*arg < '1' || *arg > '9' || *ep != '\0' || errno ||
		    c->secret_version > UINT32_MAX)
			goto bad;
		break;
	case OPT_FORMAT:
		if (strcmp(arg, "dotenv") != 0 && strcmp(arg, "env") != 0 &&
		    strcmp(arg, "json") != 0)
			goto bad;
		c->format = arg;
		break;
	}
	return 0;
 bad:
	snprintf(err, len, "invalid value for --%s", opt_name(opt));
	return -1;
}

static void
opt_flag(struct cli *c, int opt)
{
	switch (opt) {
	case OPT_JSON:
		c->json = 1;
		break;
	case OPT_HELP:
		c->help = 1;
		break;
	case OPT_VERSION:
		c->version = 1;
		break;
	case OPT_ORGWIDE:
		c->org_wide = 1;
		break;
	case OPT_REVEAL:
		c->reveal = 1;
		break;
	case OPT_USERONLY:
		c->scope = RT_LIST_USER;
		break;
	case OPT_ORGONLY:
		c->scope = RT_LIST_ORG;
		break;
	case OPT_ALLORG:
		c->all = 1;
		break;
	case OPT_DRYRUN:
		c->dry_run = 1;
		break;
	case OPT_NOEXPIRY:
		c->no_expiry = 1;
		break;
	case OPT_FORCE:
		c->force = 1;
		break;
	}
}

/*
 * The VALUE of "secret set" is copied, and its bytes in argv overwritten,
 * the moment it is seen: argv is what /proc/PID/cmdline and ps show every
 * local user.  Nothing later (a refused option, the wait for the server)
 * happens with the value still there.
 */
static int
take_value(struct cli *c, char *arg, char *err, size_t len)
{
	c->value_len = strlen(arg);
	if ((c->value = strdup(arg)) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	explicit_bzero(arg, c->value_len);
	return 0;
}

static int
add_pos(struct cli *c, char **pos, int *npos, char *arg, char *err,
    size_t len)
{
	if (*npos >= MAX_POS) {
		snprintf(err, len, "too many arguments");
		return -1;
	}
	pos[(*npos)++] = arg;
	if (c->cmd == CMD_SECRET_SET && *npos == 2)
		return take_value(c, arg, err, len);
	return 0;
}

/*
 * Parses options of argv[1..]; argv[0] is the word before them.  With
 * stop, parsing ends at the first non-option (its index is returned);
 * otherwise non-options are collected into pos, in order, even with
 * POSIXLY_CORRECT set.
 */
static int
parse_opts(int argc, char **argv, int stop, struct cli *c, char **pos,
    int *npos, char *err, size_t len)
{
	const struct option *lo = longopts;
	int ch;

	if (!stop && takes_secret_version(c->cmd))
		lo = secret_version_opts();
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, stop ? "+:hV" : "-:hV", lo,
	    NULL)) != -1) {
		if (ch == 1) {
			if (add_pos(c, pos, npos, optarg, err, len) == -1)
				return -1;
			continue;
		}
		if (ch == '?' || ch == ':') {
			snprintf(err, len, ch == '?' ? "unknown option '%s'" :
			    "option '%s' needs a value", argv[optind - 1]);
			return -1;
		}
		if (ch == 'h')
			ch = OPT_HELP;
		else if (ch == 'V')
			ch = OPT_VERSION;
		c->seen |= ch;
		if (optarg != NULL &&
		    opt_value(c, ch, optarg, err, len) == -1)
			return -1;
		opt_flag(c, ch);
	}
	while (!stop && optind < argc)
		if (add_pos(c, pos, npos, argv[optind++], err, len) == -1)
			return -1;
	return optind;
}

static int
find_cmd(struct cli *c, const char *word, char *err, size_t len)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (cmds[i].group == c->group &&
		    strcmp(cmds[i].word, word) == 0) {
			c->cmd = cmds[i].cmd;
			return 0;
		}
	snprintf(err, len, "unknown command '%s%s%s'", group_words[c->group],
	    c->group != GROUP_NONE ? " " : "", word);
	return -1;
}

static int
check_opts(struct cli *c, char *err, size_t len)
{
	const struct cmdinfo *ci = cmd_info(c->cmd);
	unsigned int bad = c->seen & ~(ci->allowed | OPT_GLOBAL), bit;

	for (bit = 1; bad != 0; bit <<= 1)
		if (bad & bit) {
			snprintf(err, len, "--%s is not an option of '%s%s%s'",
			    opt_name(bit), group_words[ci->group],
			    ci->group != GROUP_NONE ? " " : "", ci->word);
			return -1;
		}
	if (__builtin_popcount(c->seen & OPT_SCOPES) > 1) {
		snprintf(err, len, "choose one of --user-only, --org-only "
		    "and --all-org");
		return -1;
	}
	if (c->org_wide && c->user != NULL) {
		snprintf(err, len, "--org-wide and --user exclude each other");
		return -1;
	}
	if (c->reveal && c->user != NULL) {
		snprintf(err, len, "only its owner can reveal a user secret; "
		    "--reveal does not take --user");
		return -1;
	}
	if (c->cmd == CMD_SECRET_GET && c->secret_version && !c->reveal) {
		snprintf(err, len, "--version N reveals a kept version; give "
		    "--reveal too (or see 'secret versions')");
		return -1;
	}
	if (c->cmd == CMD_SECRET_ROLLBACK && !c->secret_version) {
		snprintf(err, len, "rollback needs --version N, the kept "
		    "version to make current");
		return -1;
	}
	if (c->value != NULL && c->value_file != NULL) {
		snprintf(err, len, "give the value as VALUE or --file, not "
		    "both");
		return -1;
	}
	if (c->cmd == CMD_TOKEN_CREATE)
		return token_opts_check(c, err, len);
	return 0;
}

static int
check_tool_pos(struct cli *c, char **pos, int npos, char *err, size_t len)
{
	if (npos > 0 && !valid_tool_name(pos[0], strlen(pos[0]))) {
		snprintf(err, len, "invalid tool name '%.*s': use 1 to %d "
		    "letters, digits, '-' and '_'", TOOL_NAME_MAX, pos[0],
		    TOOL_NAME_MAX);
		return -1;
	}
	if (npos > 1 && !valid_field_name(pos[1], strlen(pos[1]))) {
		snprintf(err, len, "invalid action name '%.*s': use letters, "
		    "digits and '_', not starting with a digit", TOOL_FIELD_MAX,
		    pos[1]);
		return -1;
	}
	c->tool = npos > 0 ? pos[0] : NULL;
	c->action = npos > 1 ? pos[1] : NULL;
	return 0;
}

static int
check_pos(struct cli *c, char **pos, int npos, char *err, size_t len)
{
	const struct cmdinfo *ci = cmd_info(c->cmd);

	if (npos < ci->min_pos || npos > ci->max_pos) {
		snprintf(err, len, "%s arguments; usage: runtools %s",
		    npos < ci->min_pos ? "missing" : "too many", ci->synopsis);
		return -1;
	}
	if (c->group == GROUP_TOKEN) {
		c->id = npos > 0 ? pos[0] : NULL;
		return 0;
	}
	if (c->group == GROUP_TOOL)
		return check_tool_pos(c, pos, npos, err, len);
	if (c->cmd == CMD_SECRET_IMPORT) {
		c->file = pos[0];
		return 0;
	}
	if (npos > 0 && !valid_secret_name(pos[0], strlen(pos[0]))) {
		snprintf(err, len, "invalid secret name '%.*s': use letters, "
		    "digits and '_', not starting with a digit, at most %d "
		    "characters", NAME_MAX_LEN, pos[0], NAME_MAX_LEN);
		return -1;
	}
	c->name = npos > 0 ? pos[0] : NULL;
	return 0;
}

static int
parse_group(struct cli *c, const char *word, char *err, size_t len)
{
	if (strcmp(word, "secret") == 0)
		c->group = GROUP_SECRET;
	else if (strcmp(word, "token") == 0)
		c->group = GROUP_TOKEN;
	else if (strcmp(word, "tool") == 0)
		c->group = GROUP_TOOL;
	else if (strcmp(word, "help") == 0)
		c->help = 1;
	else
		return find_cmd(c, word, err, len);	/* no group: whoami */
	return 0;
}

static int
parse(int argc, char **argv, struct cli *c, char *err, size_t len)
{
	char *pos[MAX_POS];
	int i, n, npos = 0;

	if ((i = parse_opts(argc, argv, 1, c, pos, &npos, err, len)) == -1)
		return -1;
	if (c->help || c->version)
		return 0;
	if (i >= argc) {
		snprintf(err, len, "missing command");
		return -1;
	}
	if (strcmp(argv[i], "run") == 0)
		return run_parse(argc - i, argv + i, c, err, len);
	if (strcmp(argv[i], "mcp") == 0)
		return mcp_parse(argc - i, argv + i, c, err, len);
	if (parse_group(c, argv[i], err, len) == -1 || c->help)
		return c->help ? 0 : -1;
	if (c->group == GROUP_NONE)
		goto cmd;
	if ((n = parse_opts(argc - i, argv + i, 1, c, pos, &npos, err,
	    len)) == -1)
		return -1;
	i += n;
	if (c->help || c->version)
		return 0;
	if (i >= argc) {
		snprintf(err, len, "missing %s command", group_words[c->group]);
		return -1;
	}
	if (find_cmd(c, argv[i], err, len) == -1)
		return -1;
 cmd:
	if (parse_opts(argc - i, argv + i, 0, c, pos, &npos, err, len) == -1)
		return -1;
	if (c->help || c->version)
		return 0;
	if (check_opts(c, err, len) == -1 ||
	    check_pos(c, pos, npos, err, len) == -1)
		return -1;
	return 0;
}

/*
 * 0 when c says what to do (possibly help or version), -1: usage error.
 * A VALUE is kept only when there is something to set.
 */
int
cli_parse(int argc, char **argv, struct cli *c, char *err, size_t len)
{
	int rv;

	memset(c, 0, sizeof(*c));
	rv = parse(argc, argv, c, err, len);
	if (rv == -1 || c->help || c->version)
		cli_free(c);
	return rv;
}

void
cli_free(struct cli *c)
{
	size_t i;

	if (c->value != NULL)
		rt_secret_value_free(c->value, c->value_len);
	c->value = NULL;
	c->value_len = 0;
	for (i = 0; i < c->nparams; i++)
		free((char *)c->params[i].name);
	free(c->params);
	c->params = NULL;
	c->nparams = 0;
	for (i = 0; i < c->ncreds; i++) {
		free((char *)c->creds[i].slot);
		free((char *)c->creds[i].name);
	}
	free(c->creds);
	c->creds = NULL;
	c->ncreds = 0;
	free(c->scopes);
	c->scopes = NULL;
	c->nscopes = 0;
	free(c->mcp_tools);
	c->mcp_tools = NULL;
	c->nmcp_tools = 0;
	run_free(c);
}

/* Appends ", word" (or the first word) to a message, as far as it fits. */
static void
append_word(char *buf, size_t len, int first, const char *word)
{
	size_t n = strlen(buf);

	if (n < len)
		snprintf(buf + n, len - n, "%s%s", first ? " " : ", ", word);
}

/*
 * Gives each --param the type the tool declares for it in the chosen
 * action; an unknown action or parameter is an error naming the known.
 */
int
cli_param_types(struct cli *c, const struct rt_tool *t, char *err,
    size_t len)
{
	const struct rt_tool_action *a = NULL;
	size_t i, j;

	for (i = 0; i < t->nactions && a == NULL; i++)
		if (strcmp(t->actions[i].name, c->action) == 0)
			a = &t->actions[i];
	if (a == NULL) {
		snprintf(err, len, "tool %s has no action %s; its actions:%s",
		    c->tool, c->action, t->nactions ? "" : " none");
		for (i = 0; i < t->nactions; i++)
			append_word(err, len, i == 0, t->actions[i].name);
		return -1;
	}
	for (i = 0; i < c->nparams; i++) {
		for (j = 0; j < a->nparams; j++)
			if (strcmp(a->params[j].name, c->params[i].name) == 0)
				break;
		if (j == a->nparams) {
			snprintf(err, len, "action %s of tool %s has no "
			    "parameter %s; its parameters:%s", c->action,
			    c->tool, c->params[i].name, a->nparams ? "" :
			    " none");
			for (j = 0; j < a->nparams; j++)
				append_word(err, len, j == 0,
				    a->params[j].name);
			return -1;
		}
		c->params[i].type = a->params[j].kind;
	}
	return 0;
}
