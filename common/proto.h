/*
 * The broker <-> front-end protocol: message types, their fields in order,
 * and the records both sides exchange.  Bump PROTO_VERSION whenever a
 * message type or a field list changes.
 *
 * Every secret or token request from the front-end starts with an auth
 * block:  u8 kind, then
 *           AUTH_SESSION: u64 session
 *           AUTH_TOKEN:   str token, u64 session (the unix connection's
 *                         session; 0 over TLS)
 *         str source (the TLS peer's address; "unix" on the unix socket,
 *         where the broker keys failed-auth limits on the session's uid).
 * A unix-socket connection gets its session (IMSG_CONN_UNIX) before its
 * first request, whether or not that request carries a token.
 * Every reply is IMSG_REPLY with the request's id:  u32 status (enum
 * rt_status), str message (empty when OK), then, on RT_OK / RT_CREATED,
 * the fields listed for the request.
 */
#ifndef SECRETD_PROTO_H
#define SECRETD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

#define PROTO_VERSION	2

#define NAME_MAX_LEN	128		/* secret names */
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

enum imsg_type {
	IMSG_NONE = 0,
	IMSG_HELLO,		/* fe->b: u32 version */
	IMSG_CONFIG,		/* b->fe, reply to HELLO: see below */
	IMSG_CONN_UNIX,		/* fe->b + fd: client socket; reply:
				   u64 session, str userId ("" when the
				   uid has no valid name), u8 role */
	IMSG_CONN_CLOSE,	/* fe->b: u64 session; no reply */
	IMSG_SECRET_LIST,	/* fe->b: auth, u8 list flags, str category,
				   str user_id, u32 limit, str cursor;
				   reply: u32 n, n * meta, str nextCursor */
	IMSG_SECRET_PUT,	/* fe->b: auth, str name, bytes value,
				   str category, u8 has_description,
				   str description, u8 orgWide, str user_id;
				   reply: u8 created, meta */
	IMSG_SECRET_GET,	/* fe->b: auth, str name, u8 orgWide,
				   str user_id; reply: meta */
	IMSG_SECRET_REVEAL,	/* same request; reply: meta, bytes value */
	IMSG_SECRET_DELETE,	/* same request; reply: str name, u8 scope */
	IMSG_TOKEN_CREATE,	/* fe->b: auth, u8 role, str description,
				   u64 ttl seconds (0: none);
				   reply: str token, token meta */
	IMSG_TOKEN_LIST,	/* fe->b: auth, u32 limit (0: default),
				   str cursor; reply: u32 n, n * token meta,
				   str nextCursor */
	IMSG_TOKEN_REVOKE,	/* fe->b: auth, str id; reply: token meta */
	IMSG_PING,		/* fe->b: nothing; reply: nothing */
	IMSG_REPLY,		/* b->fe */
	IMSG_MAX
};

/*
 * IMSG_CONFIG: str frontend_user, str chroot_dir, u8 have_tls,
 * bytes tls_cert_pem, bytes tls_key_pem, u32 max_connections,
 * u32 max_connections_per_uid, u32 max_connections_per_address,
 * u32 request_timeout_s, u8 seccomp_debug.
 */

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
};

struct token_meta {
	char		id[TOKEN_ID_LEN + 1];
	char		user_id[ID_MAX_LEN + 1];
	char		org_id[ID_MAX_LEN + 1];
	uint8_t		role;
	char		description[DESC_MAX_LEN + 1];
	uint64_t	created_at;
	uint64_t	expires_at;			/* 0: never */
};

void	 proto_put_meta(struct ipc_msg *, const struct secret_meta *);
int	 proto_get_meta(struct ipc_reader *, struct secret_meta *);
void	 proto_put_token_meta(struct ipc_msg *, const struct token_meta *);
int	 proto_get_token_meta(struct ipc_reader *, struct token_meta *);

/* Validation both sides apply; the broker never trusts the front-end's. */
int	 valid_secret_name(const char *, size_t);
int	 valid_category(const char *);
int	 valid_id(const char *, size_t);
int	 valid_token_id(const char *, size_t);
int	 valid_token(const char *);
int	 valid_bearer(const char *, size_t);
int	 valid_printable(const char *, size_t max);
int	 valid_secret_meta(const struct secret_meta *);
int	 valid_token_meta(const struct token_meta *);
const char *rt_status_code(enum rt_status);
int	 rt_status_http(enum rt_status);

#endif
