/*
 * The broker <-> front-end protocol: message types, the records and rules
 * both sides share.  Each message's fields are defined once, as a struct
 * in msg.h with its encoder and decoder in msg.c.  Bump PROTO_VERSION
 * whenever a message type or a field list changes.
 */
#ifndef SECRETD_PROTO_H
#define SECRETD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION	8

#define NAME_MAX_LEN	128		/* secret names */
#define TOOL_NAME_MAX	64		/* [A-Za-z0-9_-]{1,64} */
#define ID_MAX_LEN	64		/* user and org ids */
#define CATEGORY_MAX_LEN 15
#define DESC_MAX_LEN	1024
#define VALUE_MAX_LEN	(64 * 1024)
#define TOKEN_ID_LEN	16		/* hex chars of a token id */
#define TOKEN_STR_MAX	96		/* "rts_" + encoded secret */
#define TOKEN_PREFIX	"rts_"
#define TOKEN_B64_LEN	43		/* 32 random bytes, base64url, no
					   padding */
#define TOKEN_LEN	(4 + TOKEN_ID_LEN + 1 + TOKEN_B64_LEN)
#define TOKEN_TTL_MAX	(10ULL * 366 * 24 * 3600)	/* ten years */
#define TOKEN_CURSOR_MAX_LEN (ID_MAX_LEN + 1 + TOKEN_ID_LEN)
#define CURSOR_MAX_LEN	(2 * (ID_MAX_LEN + NAME_MAX_LEN) + 16)
#define LIST_MAX_LIMIT	1000
#define LIST_DEFAULT_LIMIT 100
#define EXPIRES_MAX	253402300799ULL	/* 9999-12-31T23:59:59Z */
#define SOURCE_MAX_LEN	64		/* an auth block's source */
#define REQUEST_ID_LEN	16		/* hex chars of X-Request-Id */
#define MSG_LEN		256		/* a reply's message, NUL included */
#define PEM_MAX		(64 * 1024)	/* IMSG_CONFIG's certificate, key */
#define VERSIONS_MAX	100		/* versions_kept's upper bound */
#define MCP_ORIGINS_MAX	1024		/* mcp_allowed_origins, NUL
					   included */
#define LISTEN_MAX	256		/* host:port, NUL included */
#define TOKEN_SCOPES_MAX 32		/* "tools:NAME" scopes of a token */
#define SCOPE_ALL_TOOLS	"*"		/* the tool of "tools:*" */

/* Who sends each, and its fields: msg.h. */
enum imsg_type {
	IMSG_NONE = 0,
	IMSG_HELLO,		/* fe->b, first and once */
	IMSG_CONFIG,		/* b->fe, the answer to HELLO */
	IMSG_CONN_UNIX,		/* fe->b + fd: a unix client; reply */
	IMSG_CONN_CLOSE,	/* fe->b; no reply */
	IMSG_SECRET_LIST,	/* fe->b; reply */
	IMSG_SECRET_PUT,	/* fe->b; reply */
	IMSG_SECRET_GET,	/* fe->b; reply */
	IMSG_SECRET_REVEAL,	/* fe->b; reply */
	IMSG_SECRET_DELETE,	/* fe->b; reply */
	IMSG_TOKEN_CREATE,	/* fe->b; reply */
	IMSG_TOKEN_LIST,	/* fe->b; reply */
	IMSG_TOKEN_REVOKE,	/* fe->b; reply */
	IMSG_PING,		/* fe->b; reply: msg_health */
	IMSG_REPLY,		/* b->fe, with the request's id */
	IMSG_TOOL_LIST,		/* fe->b; reply (tool.h) */
	IMSG_TOOL_GET,		/* fe->b; reply (tool.h) */
	IMSG_TOOL_EXEC,		/* fe->b; reply (tool.h) */
	IMSG_WHOAMI,		/* fe->b, an auth block only; reply */
	IMSG_SECRET_VERSIONS,	/* fe->b; reply */
	IMSG_SECRET_ROLLBACK,	/* fe->b; reply */
	IMSG_RELOAD,		/* b->fe, after SIGHUP; no reply */
	IMSG_METRICS,		/* fe->b, an auth block only; reply:
				   msg_metrics */
	IMSG_MAX
};

enum auth_kind {
	AUTH_SESSION = 1,
	AUTH_TOKEN = 2
};

enum rt_role {
	ROLE_MEMBER = 0,
	ROLE_ADMIN = 1
};

enum rt_scope {
	SCOPE_USER = 0,
	SCOPE_ORG = 1
};

/* IMSG_SECRET_LIST flags */
#define LIST_ALL	0x01	/* all=true */
#define LIST_SCOPE_USER	0x02	/* secretScope=user */
#define LIST_SCOPE_ORG	0x04	/* secretScope=org */
#define LIST_FLAGS	(LIST_ALL | LIST_SCOPE_USER | LIST_SCOPE_ORG)

enum rt_status {
	RT_OK = 0,
	RT_CREATED,
	RT_INVALID,		/* 400 invalid_request */
	RT_UNAUTH,		/* 401 unauthenticated */
	RT_FORBIDDEN,		/* 403 forbidden */
	RT_NOTFOUND,		/* 404 not_found */
	RT_TOOLARGE,		/* 413 too_large */
	RT_RATELIMIT,		/* 429 rate_limited */
	RT_QUOTA,		/* 403 quota_exceeded */
	RT_INTERNAL,		/* 500 internal */
	RT_UNAVAILABLE,		/* 503 unavailable */
	RT_UPSTREAM,		/* 502 upstream_failed: a tool's upstream */
	RT_TIMEOUT,		/* 504 upstream_timeout */
	RT_NOSPACE,		/* 507 insufficient_storage: the store is
				   out of space */
	RT_CONFLICT,		/* 409 conflict: e.g. a rollback to the
				   current version */
	RT_MAX
};

struct secret_meta {
	char		name[NAME_MAX_LEN + 1];
	uint8_t		scope;
	char		user_id[ID_MAX_LEN + 1];	/* "" for org secrets */
	char		org_id[ID_MAX_LEN + 1];
	char		category[CATEGORY_MAX_LEN + 1];
	char		description[DESC_MAX_LEN + 1];
	uint32_t	version;
	uint64_t	created_at;			/* unix seconds */
	uint64_t	updated_at;
	char		created_by[ID_MAX_LEN + 1];
	char		updated_by[ID_MAX_LEN + 1];
	uint64_t	expires_at;			/* 0: none; a reminder
							   to rotate, not
							   enforced */
};

/* One kept version of a secret: when and by whom it was written. */
struct secret_version {
	uint32_t	version;
	uint64_t	created_at;
	char		created_by[ID_MAX_LEN + 1];
};

/*
 * What a tool-scoped token may reach: the tools named (valid_tool_name,
 * or SCOPE_ALL_TOOLS for every tool), and nothing else.  n == 0 is an
 * unscoped token, which the scopes do not limit.
 */
struct token_scopes {
	uint8_t		n;
	char		tool[TOKEN_SCOPES_MAX][TOOL_NAME_MAX + 1];
};

struct token_meta {
	char		id[TOKEN_ID_LEN + 1];
	char		user_id[ID_MAX_LEN + 1];
	char		org_id[ID_MAX_LEN + 1];
	uint8_t		role;
	char		description[DESC_MAX_LEN + 1];
	uint64_t	created_at;
	uint64_t	expires_at;			/* 0: never */
	struct token_scopes scopes;
};

/* Validation both sides apply; the broker never trusts the front-end's. */
int	 valid_secret_name(const char *, size_t);
int	 valid_category(const char *);
int	 valid_id(const char *, size_t);
int	 valid_token_id(const char *, size_t);
int	 valid_request_id(const char *);
int	 valid_token(const char *);
int	 valid_bearer(const char *, size_t);
int	 valid_printable(const char *, size_t max);
int	 valid_secret_meta(const struct secret_meta *);
int	 valid_token_meta(const struct token_meta *);
int	 valid_token_scopes(const struct token_scopes *);
int	 token_scopes_allow(const struct token_scopes *, const char *tool);
const char *rt_status_code(enum rt_status);
int	 rt_status_http(enum rt_status);

#endif
