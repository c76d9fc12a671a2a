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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "cli.h"

/* getopt_long returns these; none may be 1, '?', ':' or 'h' */
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
	OPT_TTL = 0x8000
};
#define OPT_GLOBAL	(OPT_URL | OPT_CAFILE | OPT_JSON | OPT_HELP | OPT_VERSION)
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
	{ NULL,			0,			NULL, 0 }
};

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
	  OPT_CATEGORY | OPT_DESCRIPTION | OPT_ORGWIDE | OPT_USER, 1, 2,
	  "secret set NAME [VALUE] [--category C] [--description D] "
	  "[--org-wide] [--user ID]",
	  "Create NAME, or rotate it if it exists (version + 1).  Without "
	  "VALUE the\nvalue is read from standard input, and one trailing "
	  "newline is dropped:\nthe safe way, since a VALUE argument stays "
	  "in shell history and is\nvisible to other users until runtools "
	  "has read it.\nCategories: provider, tool, agent, workflow, "
	  "custom (default).\n--org-wide shares it with the organisation "
	  "(admins only); --user ID sets\nanother user's secret (admins "
	  "only).  Prints \"created NAME (SCOPE, version N)\"." },
	{ GROUP_SECRET, CMD_SECRET_ROTATE, "rotate", OPT_ORGWIDE | OPT_USER,
	  1, 1, "secret rotate NAME [--org-wide] [--user ID]",
	  "Replace the value of an existing secret with one read from "
	  "standard input\n(one trailing newline dropped), keeping its "
	  "category and description.\nExits 3 if NAME does not exist." },
	{ GROUP_SECRET, CMD_SECRET_LIST, "list",
	  OPT_SCOPES | OPT_CATEGORY | OPT_USER, 0, 0,
	  "secret list [--user-only|--org-only|--all-org] [--category C] "
	  "[--user ID]",
	  "List metadata (never values) of your secrets and the org's.\n"
	  "--user-only: your own; --org-only: the org's; --all-org: every "
	  "user's and\nthe org's (admins); --user ID: that user's (admins)." },
	{ GROUP_SECRET, CMD_SECRET_GET, "get",
	  OPT_REVEAL | OPT_ORGWIDE | OPT_USER, 1, 1,
	  "secret get NAME [--reveal] [--org-wide] [--user ID]",
	  "Print a secret's metadata.  --reveal prints the value alone "
	  "instead (with a\ntrailing newline only on a terminal); policy "
	  "decides who may reveal.\n--org-wide selects the org secret; "
	  "--user ID another user's (admins)." },
	{ GROUP_SECRET, CMD_SECRET_DELETE, "delete", OPT_ORGWIDE | OPT_USER,
	  1, 1, "secret delete NAME [--org-wide] [--user ID]",
	  "Delete a secret.  Prints \"deleted NAME\"." },
	{ GROUP_TOKEN, CMD_TOKEN_CREATE, "create",
	  OPT_DESCRIPTION | OPT_ROLE | OPT_TTL, 0, 0,
	  "token create [--description D] [--role member|admin] "
	  "[--ttl SECONDS]",
	  "Create an API token and print it once on standard output; "
	  "details go to\nstandard error.  Only admins may create admin "
	  "tokens." },
	{ GROUP_TOKEN, CMD_TOKEN_LIST, "list", 0, 0, 0, "token list",
	  "List the tokens you may manage (never their secrets), following "
	  "every page." },
	{ GROUP_TOKEN, CMD_TOKEN_REVOKE, "revoke", 0, 1, 1, "token revoke ID",
	  "Revoke a token by its id.  Prints \"revoked ID\"." },
};
#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static const char *group_words[] = { "", "secret", "token" };

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
"  --json           print the API's JSON objects unchanged\n"
"  -h, --help       help for any command\n"
"  --version        print the version\n"
"\n"
"Environment: RUNTOOLS_URL, by default the socket named in\n"
"  " SECRETD_CONF_FILE ", else\n"
"  unix:" SECRETD_SOCKET ";\n"
"RUNTOOLS_TOKEN, RUNTOOLS_TOKEN_FILE (default ~/.config/runtools/token;\n"
"mode 0600, owned by you).\n"
"\n"
"Exit status: 0 ok, 1 server or network error, 2 usage or invalid input,\n"
"3 not found, 4 unauthenticated or forbidden (or over a quota).\n";

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

static int
opt_value(struct cli *c, int opt, const char *arg, char *err, size_t len)
{
	char *ep;

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
	case OPT_TTL:
		errno = 0;
		c->ttl = strtoull(arg, &ep, 10);
		if (*arg < '1' || *arg > '9' || *ep != '\0' || errno ||
		    c->ttl > LLONG_MAX)
			goto bad;
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
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, stop ? "+:h" : "-:h", longopts,
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
			snprintf(err, len, "--%s is not an option of '%s %s'",
			    opt_name(bit), group_words[ci->group], ci->word);
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
	else if (strcmp(word, "help") == 0)
		c->help = 1;
	else {
		snprintf(err, len, "unknown command '%s'", word);
		return -1;
	}
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
	if (parse_group(c, argv[i], err, len) == -1 || c->help)
		return c->help ? 0 : -1;
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
	if (find_cmd(c, argv[i], err, len) == -1 ||
	    parse_opts(argc - i, argv + i, 0, c, pos, &npos, err, len) == -1)
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
	if (c->value != NULL)
		rt_secret_value_free(c->value, c->value_len);
	c->value = NULL;
	c->value_len = 0;
}
