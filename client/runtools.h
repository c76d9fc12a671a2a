/*
 * libruntools: a small C client for the secretd HTTP API (unix socket or
 * HTTPS).  It never prints and never exits; every call returns an rt_error
 * and leaves the details in rt_client_last_error().
 */
#ifndef RUNTOOLS_H
#define RUNTOOLS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rt_client rt_client;

enum rt_error {
	RT_E_OK = 0,
	RT_E_USAGE,		/* bad argument; nothing was sent */
	RT_E_NETWORK,		/* connect, TLS or timeout failure */
	RT_E_SERVER,		/* 5xx (but 503) or an unexpected status */
	RT_E_NOTFOUND,		/* 404 */
	RT_E_AUTH,		/* 401 or 403 (forbidden, quota_exceeded) */
	RT_E_INVALID,		/* 400, 405, 409, 413, 415: refused */
	RT_E_RATELIMIT,		/* 429 */
	RT_E_UNAVAILABLE,	/* 503: broker down or audit log unwritable */
	RT_E_PROTOCOL,		/* the response is not the API's shape */
	RT_E_NOMEM
};

struct rt_error_info {
	enum rt_error	 code;
	long		 http_status;		/* 0: no response */
	char		 error_code[32];	/* the API's "code", or "" */
	char		 message[512];		/* server's or local message */
	char		 request_id[128];	/* X-Request-Id, or "" */
};

/*
 * Secret metadata.  Strings are owned by the struct; user_id is NULL for
 * org secrets, any other field is NULL when the server left it out.
 * value/value_len are set only by a reveal (from "value", or decoded
 * from "valueBase64"); value is NUL-terminated but may also hold NUL
 * bytes and any other bytes.  Release with rt_secret_clear().
 */
struct rt_secret {
	char		*name;
	char		*scope;			/* "user" or "org" */
	char		*user_id;
	char		*org_id;
	char		*category;
	char		*description;
	unsigned long	 version;
	char		*created_at;
	char		*updated_at;
	char		*created_by;
	char		*updated_by;
	char		*expires_at;			/* NULL: none */
	char		*value;
	size_t		 value_len;
};

struct rt_secret_list {
	struct rt_secret *secrets;
	size_t		 count;
	char		*next_cursor;		/* NULL on the last page */
};

enum rt_list_scope {
	RT_LIST_ANY = 0,
	RT_LIST_USER,				/* secretScope=user */
	RT_LIST_ORG				/* secretScope=org */
};

struct rt_list_opts {
	const char	*category;		/* NULL: any */
	enum rt_list_scope scope;
	int		 all;			/* all=true (admin) */
	const char	*user_id;		/* another user's (admin) */
	unsigned int	 limit;			/* 0: server default */
	const char	*cursor;		/* from next_cursor */
	const char	*prefix;		/* names starting with it;
						   NULL: any */
};

struct rt_set_opts {
	const char	*category;		/* NULL: default / unchanged */
	const char	*description;		/* NULL: none / unchanged */
	int		 org_wide;
	const char	*user_id;		/* another user's (admin) */
	const char	*expires_at;		/* NULL: unchanged; "": none;
						   else YYYY-MM-DD[THH:MM:SSZ] */
};

struct rt_get_opts {
	int		 org_wide;
	const char	*user_id;		/* metadata of another user's */
	int		 reveal;		/* POST .../reveal */
	unsigned long	 version;		/* with reveal: a kept
						   version; 0: the
						   current one */
};

/* One kept version of a secret (rt_secrets_versions), newest first. */
struct rt_version {
	unsigned long	 version;
	char		*created_at;
	char		*created_by;		/* who wrote it */
	int		 current;
};

struct rt_version_list {
	char		*name;
	char		*scope;			/* "user" or "org" */
	struct rt_version *versions;
	size_t		 count;
};

/* Which secret rt_secrets_versions and rt_secrets_rollback act on. */
struct rt_version_opts {
	int		 org_wide;
	const char	*user_id;		/* another user's (admin) */
};

struct rt_delete_opts {
	int		 org_wide;
	const char	*user_id;
};

/* A token; secret is set only by rt_tokens_create (shown once). */
struct rt_token {
	char		*secret;		/* "rts_..." */
	char		*id;
	char		*user_id;
	char		*org_id;
	char		*role;
	char		*description;
	char		*created_at;
	char		*expires_at;		/* NULL: never */
	char		**scopes;		/* "tools:NAME"; NULL: an
						   unscoped token */
	size_t		 nscopes;
};

struct rt_token_list {
	struct rt_token	*tokens;
	size_t		 count;
	char		*next_cursor;		/* NULL on the last page */
};

struct rt_token_list_opts {
	unsigned int	 limit;			/* 0: server default */
	const char	*cursor;		/* from next_cursor */
};

struct rt_token_opts {
	const char	*description;		/* NULL: none */
	const char	*role;			/* NULL, "member" or "admin" */
	unsigned long long ttl_seconds;		/* 0: no expiry */
	const char	*const *scopes;		/* "tools:NAME" or "tools:*":
						   a token for those tools
						   only; none: unscoped */
	size_t		 nscopes;
};

/* Who the server takes the caller to be (GET /v1/whoami). */
struct rt_whoami {
	char		*user_id;
	long long	 uid;			/* unix peer; -1 otherwise */
	char		*role;			/* "member" or "admin" */
	char		*org_id;
	char		*auth;			/* "unix" or "token" */
	char		*token_id;		/* NULL unless a token */
	char		*token_expires_at;	/* NULL: not a token, or
						   never */
};

/*
 * Tools the operator defined (GET /v1/tools).  Strings are owned by the
 * struct and are as the server sent them; a missing optional string is
 * NULL.  Release with rt_tool_clear() / rt_tool_list_clear().
 */
enum rt_param_type {
	RT_PARAM_OTHER = 0,			/* a type this library does
						   not know: sent as text */
	RT_PARAM_STRING,
	RT_PARAM_NUMBER,
	RT_PARAM_BOOLEAN
};

struct rt_tool_param {
	char		*name;
	char		*type;			/* "string", "number", ... */
	enum rt_param_type kind;		/* type, parsed */
	int		 required;
	char		*in;			/* "path", "query", "body",
						   "stdin" */
};

struct rt_tool_action {
	char		*name;
	char		*description;
	struct rt_tool_param *params;
	size_t		 nparams;
};

struct rt_tool_slot {
	char		*slot;			/* "apiKey" */
	char		*default_secret;	/* "SHARED_CRM_KEY" */
};

struct rt_tool {
	char		*name;
	char		*description;
	char		*type;			/* "http" or "exec" */
	char		*allow;			/* "members" or "admins" */
	unsigned long	 timeout_ms;		/* 0: not given */
	struct rt_tool_action *actions;
	size_t		 nactions;
	struct rt_tool_slot *slots;		/* "credentials" */
	size_t		 nslots;
};

struct rt_tool_list {
	struct rt_tool	*tools;
	size_t		 count;
	char		*next_cursor;		/* NULL on the last page */
};

struct rt_tool_list_opts {
	unsigned int	 limit;			/* 0: server default */
	const char	*cursor;		/* from next_cursor */
};

/*
 * One parameter of an execution given as text, converted to its type:
 * RT_PARAM_NUMBER must be a JSON number (integers within 64 bits),
 * RT_PARAM_BOOLEAN "true" or "false"; anything else is sent as a string.
 */
struct rt_param {
	const char	*name;
	const char	*value;
	enum rt_param_type type;
};

/* Slot uses secret name: the caller's own first, else the org's; with
 * org_wide, the org's only. */
struct rt_credential_override {
	const char	*slot;
	const char	*name;
	int		 org_wide;
};

struct rt_exec_opts {
	const char	*params_json;		/* a JSON object's text, or
						   NULL */
	size_t		 params_json_len;	/* 0: strlen(params_json) */
	const struct rt_param *params;		/* added to params_json; a
						   name in both is refused */
	size_t		 nparams;
	const struct rt_credential_override *overrides;
	size_t		 noverrides;
	unsigned long	 timeout_ms;		/* the tool's timeoutMs; 0:
						   the longest a tool may
						   take.  A margin is added. */
};

/* Which secret served a slot; never its value. */
struct rt_exec_credential {
	char		*slot;
	char		*name;
	char		*scope;			/* "user" or "org" */
	unsigned long	 version;
};

/*
 * An execution's answer.  result is the tool's result as compact JSON
 * text when result_is_json, else its text (the JSON string's bytes, NUL-
 * terminated, which may also hold NULs); NULL when the server sent none.
 * status (http tools) and exit_code (exec tools) are -1 when absent.
 * Release with rt_exec_result_clear(), which wipes result and stderr.
 */
struct rt_exec_result {
	char		*tool;
	char		*action;
	int		 ok;
	char		*result;
	size_t		 result_len;
	int		 result_is_json;
	long		 status;
	long		 exit_code;
	unsigned long	 duration_ms;
	struct rt_exec_credential *credentials;
	size_t		 ncredentials;
	unsigned long	 redactions;
	char		*stderr_text;		/* exec tools; NULL: none */
	size_t		 stderr_len;
};

/*
 * url is "unix:/path/to.sock" or "https://host[:port]"; token (may be NULL)
 * is sent as a Bearer token; ca_file (may be NULL) replaces the system CAs.
 * Peer and host are always verified.  NULL with errno EINVAL or ENOMEM.
 */
rt_client	*rt_client_new(const char *url, const char *token,
		    const char *ca_file);
void		 rt_client_free(rt_client *);
const struct rt_error_info *rt_client_last_error(const rt_client *);
/*
 * Names the program on whose behalf the calls are made, as the
 * X-RunTools-Client header of every later request, which the server
 * writes into the audit line of a tool execution ("mcp:claude-code").
 * Printable ASCII, at most RT_CLIENT_NAME_MAX bytes; NULL or "" sends
 * none.  -1 with errno EINVAL otherwise.
 */
#define RT_CLIENT_NAME_MAX	64
int		 rt_client_set_name(rt_client *, const char *name);
/* The last response body (the pages merged into one after
 * rt_secrets_list_all or rt_tokens_list); valid until the next call on
 * the client, wiped when replaced. */
const char	*rt_client_last_json(const rt_client *, size_t *len);
const char	*rt_strerror(enum rt_error);

/*
 * Makes jansson wipe every block it frees, so parsed values do not linger
 * in the heap.  Global: call once, before any other jansson use.
 */
void		 rt_harden_memory(void);

enum rt_error	 rt_health(rt_client *);
enum rt_error	 rt_secrets_list(rt_client *, const struct rt_list_opts *,
		    struct rt_secret_list *);
/* Follows nextCursor from opts->cursor until the last page. */
enum rt_error	 rt_secrets_list_all(rt_client *, const struct rt_list_opts *,
		    struct rt_secret_list *);
/* Create or rotate; *created is 1 for a new secret, 0 for a rotation. */
enum rt_error	 rt_secrets_set(rt_client *, const char *name,
		    const char *value, size_t value_len,
		    const struct rt_set_opts *, int *created,
		    struct rt_secret *meta);
enum rt_error	 rt_secrets_get(rt_client *, const char *name,
		    const struct rt_get_opts *, struct rt_secret *);
enum rt_error	 rt_secrets_delete(rt_client *, const char *name,
		    const struct rt_delete_opts *);
/* The kept versions of a secret, newest (the current one) first. */
enum rt_error	 rt_secrets_versions(rt_client *, const char *name,
		    const struct rt_version_opts *, struct rt_version_list *);
/*
 * Makes kept version `version` current again, as a new version; the
 * value stays on the server.  meta (may be NULL) is the new version's.
 */
enum rt_error	 rt_secrets_rollback(rt_client *, const char *name,
		    unsigned long version, const struct rt_version_opts *,
		    struct rt_secret *meta);
enum rt_error	 rt_tokens_create(rt_client *, const struct rt_token_opts *,
		    struct rt_token *);
/* Every token the caller may manage, following nextCursor to the end. */
enum rt_error	 rt_tokens_list(rt_client *, struct rt_token_list *);
/* One page of them. */
enum rt_error	 rt_tokens_list_page(rt_client *,
		    const struct rt_token_list_opts *, struct rt_token_list *);
enum rt_error	 rt_tokens_revoke(rt_client *, const char *id);

/* Every tool the caller may run, following nextCursor to the end. */
enum rt_error	 rt_tools_list(rt_client *, struct rt_tool_list *);
/* One page of them. */
enum rt_error	 rt_tools_list_page(rt_client *,
		    const struct rt_tool_list_opts *, struct rt_tool_list *);
enum rt_error	 rt_tools_get(rt_client *, const char *name,
		    struct rt_tool *);
/*
 * Runs one action of a tool.  RT_E_OK means the tool ran: whether it
 * succeeded is result->ok.  Parameters and overrides are checked, and
 * the body built, before anything is sent.
 */
enum rt_error	 rt_tools_execute(rt_client *, const char *tool,
		    const char *action, const struct rt_exec_opts *,
		    struct rt_exec_result *);

enum rt_error	 rt_whoami(rt_client *, struct rt_whoami *);
void		 rt_whoami_clear(struct rt_whoami *);

/* Wipes then frees a revealed value. */
void		 rt_secret_value_free(char *value, size_t len);
void		 rt_secret_clear(struct rt_secret *);
void		 rt_secret_list_clear(struct rt_secret_list *);
void		 rt_version_list_clear(struct rt_version_list *);
void		 rt_token_clear(struct rt_token *);
void		 rt_token_list_clear(struct rt_token_list *);
void		 rt_tool_clear(struct rt_tool *);
void		 rt_tool_list_clear(struct rt_tool_list *);
void		 rt_exec_result_clear(struct rt_exec_result *);

#ifdef __cplusplus
}
#endif

#endif
