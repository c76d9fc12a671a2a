/*
 * runtools internals: the parsed command line, input handling and output
 * shared by the CLI's files and its unit test.  The library (runtools.h)
 * never depends on anything here.
 */
#ifndef RUNTOOLS_CLI_H
#define RUNTOOLS_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "paths.h"
#include "proto.h"
#include "runtools.h"

#define EXIT_SERVER	1	/* server or network error */
#define EXIT_USAGE	2	/* bad command line or input */
#define EXIT_NOTFOUND	3
#define EXIT_AUTH	4	/* unauthenticated or forbidden */
#define EXIT_TOOL	5	/* tool exec: the tool ran and reported failure */

#define TOKEN_FILE_MAX	4096
#define PARAMS_JSON_MAX	(128 * 1024)	/* the API's body limit */
#define TOKEN_TTL_DEFAULT (30ULL * 24 * 3600)	/* token create: 30 days */
#define PROFILE_NAME_MAX 64
#define PROFILE_PATH_MAX 4096

enum cli_group {
	GROUP_NONE = 0,
	GROUP_SECRET,
	GROUP_TOKEN,
	GROUP_TOOL
};

enum cli_cmd {
	CMD_NONE = 0,
	CMD_SECRET_SET,
	CMD_SECRET_ROTATE,
	CMD_SECRET_LIST,
	CMD_SECRET_GET,
	CMD_SECRET_DELETE,
	CMD_TOKEN_CREATE,
	CMD_TOKEN_LIST,
	CMD_TOKEN_REVOKE,
	CMD_TOOL_LIST,
	CMD_TOOL_SHOW,
	CMD_TOOL_EXEC,
	CMD_RUN,		/* run.c */
	CMD_SECRET_EXPORT,
	CMD_SECRET_IMPORT,
	CMD_WHOAMI,
	CMD_SECRET_VERSIONS,
	CMD_SECRET_ROLLBACK,
	CMD_MCP			/* mcp.c */
};

struct cli_run;

struct cli {
	enum cli_group	 group;
	enum cli_cmd	 cmd;
	int		 help;		/* --help at this level */
	int		 version;
	const char	*url;
	const char	*ca_file;
	int		 json;
	const char	*name;		/* secret name */
	const char	*id;		/* token id */
	char		*value;		/* VALUE argument, copied; wipe */
	size_t		 value_len;
	const char	*category;
	const char	*description;
	const char	*user;
	const char	*role;
	unsigned long long ttl;
	int		 org_wide;
	int		 reveal;
	enum rt_list_scope scope;
	int		 all;
	const char	*tool;		/* tool name */
	const char	*action;
	struct rt_param	*params;	/* --param; names allocated, values
					   in argv, types set once the tool
					   is known */
	size_t		 nparams;
	const char	*params_json;	/* --params-json FILE, "-": stdin */
	struct rt_credential_override *creds;	/* --credential; allocated */
	size_t		 ncreds;
	unsigned int	 seen;		/* OPT_* bits given */
	struct cli_run	*run;		/* runtools run; run.c */
	const char	*format;	/* export, import: --format */
	const char	*file;		/* import: FILE, "-": stdin */
	int		 dry_run;
	const char	*profile;	/* --profile NAME; profile.c */
	int		 no_expiry;	/* token create: --no-expiry, --ttl never */
	char		 expires[32];	/* secret set/rotate --expires; "":
					   none */
	int		 has_expires;
	unsigned long long expiring;	/* secret list --expiring, seconds */
	int		 has_expiring;
	const char	*output;	/* token create --output FILE */
	const char	**scopes;	/* token create --scope, in argv */
	size_t		 nscopes;
	int		 force;
	const char	*value_file;	/* set, rotate: --file PATH */
	unsigned long	 limit;		/* list: --limit N; 0: all */
	const char	*prefix;	/* list: --prefix P */
	unsigned long	 secret_version; /* get --reveal, rollback:
					   --version N; 0: none */
	const char	**mcp_tools;	/* mcp --tool; allocated, names in
					   argv */
	size_t		 nmcp_tools;
};

/* args.c */
int	 cli_parse(int argc, char **argv, struct cli *, char *err, size_t);
void	 cli_free(struct cli *);
void	 cli_usage(FILE *, const struct cli *);
const char *cli_help_words(const struct cli *);
int	 cli_param_types(struct cli *, const struct rt_tool *, char *err,
	    size_t);
int	 cli_add_credential(struct cli *, const char *arg, char *err, size_t);

/* mcp.c */
int	 mcp_parse(int argc, char **argv, struct cli *, char *err, size_t);
int	 cmd_mcp(rt_client *, struct cli *);

/* run.c */
int	 run_parse(int argc, char **argv, struct cli *, char *err, size_t);
void	 run_free(struct cli *);
int	 run_var_dangerous(const char *var);
int	 cmd_run(rt_client **, struct cli *);

/* profile.c: the client config file and its named profiles */
struct cli_profile {
	char		 name[PROFILE_NAME_MAX + 1];	/* "": none applies */
	char		 url[PROFILE_PATH_MAX];		/* "": not set */
	char		 ca_file[PROFILE_PATH_MAX];
	char		 token_file[PROFILE_PATH_MAX];
};
int	 profile_config_path(char *, size_t);
int	 profile_valid_name(const char *);
int	 profile_load(const char *path, const char *want,
	    struct cli_profile *, char *err, size_t);
int	 profile_select(const char *opt, struct cli_profile *, char *err,
	    size_t);
int	 profile_token(const struct cli_profile *, char **token, char *err,
	    size_t);

/* profile.c, tokenout.c: token create */
int	 ttl_parse(const char *, unsigned long long *, int *never);
int	 expires_parse(const char *, char *, size_t);
int	 token_opts_check(struct cli *, char *err, size_t);
int	 cmd_token_create(rt_client *, struct cli *);

/* input.c */
int	 read_value(int fd, char **value, size_t *len, char *err, size_t);
int	 read_value_file(const char *path, char **value, size_t *len,
	    char *err, size_t);
int	 token_file_read(const char *path, int required, char **token,
	    char *err, size_t);
int	 cli_token(char **token, char *err, size_t);
int	 default_url(const char *conf, char *url, size_t);
int	 read_params_json(const char *path, char **text, size_t *len,
	    char *err, size_t);

/* dotenv.c: a parsed .env or JSON file; values wiped when freed. */
struct dotenv_entry {
	char		 name[NAME_MAX_LEN + 1];
	char		*value;
	size_t		 len;
	unsigned int	 line;
};
struct dotenv {
	struct dotenv_entry *e;
	size_t		 n;
};
int	 dotenv_parse(const char *, size_t, int json, struct dotenv *,
	    char *err, size_t);
void	 dotenv_free(struct dotenv *);
int	 dotenv_read(const char *path, size_t max, char **, size_t *,
	    char *err, size_t);
int	 dotenv_write(FILE *, const char *name, const char *, size_t);
int	 env_write(FILE *, const char *name, const char *, size_t);

/* importexport.c */
int	 cmd_export(rt_client *, struct cli *);
int	 cmd_import(rt_client *, struct cli *);
int	 cmd_whoami(rt_client *, struct cli *);

/* runtools.c */
int	 cli_fail(rt_client *, enum rt_error, const char *what,
	    const char *name);
void	 cli_print_json(rt_client *);

/* output.c */
void	 out_clean(FILE *, const char *);
int	 out_write(int fd, const void *, size_t);
void	 out_json(const char *, size_t);
void	 out_secret_table(const struct rt_secret_list *, int owners);
void	 out_secret_meta(const struct rt_secret *);
void	 out_token_table(const struct rt_token_list *);
void	 out_version_table(const struct rt_version_list *);
void	 out_tool_table(const struct rt_tool_list *);
void	 out_tool(const struct rt_tool *);
int	 out_exec_result(const struct rt_exec_result *);

#endif
