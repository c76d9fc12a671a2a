/*
 * The messages between secretd and secretd-frontend, each defined once: a
 * struct whose members are its fields in wire order, and one encoder and
 * one decoder in msg.c that both processes use.  A decoder reads the whole
 * message or fails: exact lengths, NUL-terminated strings, nothing left
 * over, and every field checked against its rule in proto.c, so neither
 * side relies on the other's checks.  -1 means malformed, which is fatal
 * to the sender.
 *
 * Secret bytes (a value, a bearer token) are never copied into these
 * structs: a decoded one points into the reader's buffer, which the
 * channel wipes, and one being encoded points at its holder's memory.
 */
#ifndef SECRETD_MSG_H
#define SECRETD_MSG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc.h"
#include "proto.h"

/*
 * Every secret and token request starts with this.  A unix connection
 * gets its session (IMSG_CONN_UNIX) before its first request, token or
 * not: the broker keys failed tokens on that session's uid.
 */
struct msg_auth {
	uint8_t		 kind;			/* enum auth_kind */
	const char	*token;			/* AUTH_TOKEN only; on the
						   wire only then */
	uint64_t	 session;		/* AUTH_TOKEN: 0 over TLS */
	char		 source[SOURCE_MAX_LEN + 1];	/* the TLS peer's
							   address, or
							   "unix" */
	char		 request_id[REQUEST_ID_LEN + 1];	/* what the
							   client got as
							   X-Request-Id;
							   the broker
							   checks it */
};

/* IMSG_HELLO: the front-end's first message. */
struct msg_hello {
	uint32_t	 version;		/* PROTO_VERSION */
};

/* IMSG_CONFIG: the broker's answer to HELLO. */
struct msg_config {
	char		 user[ID_MAX_LEN + 1];	/* frontend_user */
	char		 chroot_dir[PATH_MAX];	/* absolute */
	uint8_t		 have_tls;
	const uint8_t	*cert_pem;		/* 1 to PEM_MAX bytes with TLS,
						   none without */
	size_t		 cert_len;
	const uint8_t	*key_pem;		/* as cert_pem */
	size_t		 key_len;
	uint32_t	 max_conns;		/* each limit at least 1 */
	uint32_t	 max_conns_uid;
	uint32_t	 max_conns_addr;
	uint32_t	 timeout_s;
	uint8_t		 seccomp_debug;
	char		 listen[LISTEN_MAX];	/* host:port; "": no TLS */
	char		 mcp_origins[MCP_ORIGINS_MAX];	/* one space
						   between; "": none */
};

/*
 * IMSG_RELOAD: what a SIGHUP changed that the front-end holds, sent
 * unasked.  With TLS, the certificate and key as the files hold them now.
 */
struct msg_reload {
	uint8_t		 have_tls;
	const uint8_t	*cert_pem;		/* as in msg_config */
	size_t		 cert_len;
	const uint8_t	*key_pem;
	size_t		 key_len;
	uint32_t	 max_conns_uid;		/* each at least 1 */
	uint32_t	 max_conns_addr;
};

/*
 * IMSG_CONN_UNIX has no fields, only the client's socket; its reply is a
 * session.
 */
struct msg_session {
	uint64_t	 session;		/* never 0 */
	char		 user_id[ID_MAX_LEN + 1];	/* "": the uid has no
							   valid name */
	uint8_t		 role;			/* enum rt_role */
};

/* IMSG_CONN_CLOSE; no reply. */
struct msg_conn_close {
	uint64_t	 session;
};

/* IMSG_SECRET_LIST; the reply is a msg_secret_page. */
struct msg_secret_list {
	struct msg_auth	 auth;
	uint8_t		 flags;			/* LIST_FLAGS */
	char		 category[CATEGORY_MAX_LEN + 1];	/* "": any */
	char		 user_id[ID_MAX_LEN + 1];	/* "": none given */
	uint32_t	 limit;			/* 0: LIST_DEFAULT_LIMIT */
	char		 cursor[CURSOR_MAX_LEN + 1];	/* "": first page */
	char		 prefix[NAME_MAX_LEN + 1];	/* names starting with
							   it; "": any */
};

/*
 * A page of a list: u32 n, n records, the next page's cursor ("": no
 * more).  The encoder takes the records as an array; the decoder hands
 * each to a callback as it reads it, so a page needs no array.
 */
struct msg_secret_page {
	uint32_t		 n;
	const struct secret_meta *metas;	/* encoder only */
	char			 next[CURSOR_MAX_LEN + 1];
};
typedef int (*msg_meta_cb)(void *, const struct secret_meta *);

/* IMSG_SECRET_PUT; the reply is a msg_secret_written. */
struct msg_secret_write {
	struct msg_auth	 auth;
	char		 name[NAME_MAX_LEN + 1];
	const uint8_t	*value;			/* 1 to VALUE_MAX_LEN bytes */
	size_t		 value_len;
	char		 category[CATEGORY_MAX_LEN + 1];	/* "": keep, or
							   custom */
	uint8_t		 has_description;
	char		 description[DESC_MAX_LEN + 1];	/* "" without */
	uint8_t		 org_wide;
	char		 user_id[ID_MAX_LEN + 1];	/* "": the caller */
	uint8_t		 has_expires;		/* 0: keep the old one */
	uint64_t	 expires_at;		/* 0: none */
};

struct msg_secret_written {
	uint8_t		 created;		/* 0: rotated */
	struct secret_meta meta;
};

/*
 * IMSG_SECRET_GET, IMSG_SECRET_REVEAL, IMSG_SECRET_DELETE,
 * IMSG_SECRET_VERSIONS and IMSG_SECRET_ROLLBACK.  GET's reply is a
 * secret_meta, REVEAL's a msg_secret_value, DELETE's a
 * msg_secret_deleted, VERSIONS' a msg_secret_versions, ROLLBACK's a
 * msg_secret_written.  version is a kept version to reveal (0: the
 * current one) or to roll back to (at least 1), and 0 for the others.
 */
struct msg_secret_ref {
	struct msg_auth	 auth;
	char		 name[NAME_MAX_LEN + 1];
	uint8_t		 org_wide;
	char		 user_id[ID_MAX_LEN + 1];	/* "": the caller */
	uint32_t	 version;
};

/* The kept versions of a secret: its current record, then newest first. */
struct msg_secret_versions {
	struct secret_meta meta;
	uint32_t	 n;			/* 1 to VERSIONS_MAX; v[0] is
						   meta's version */
	struct secret_version v[VERSIONS_MAX];
};

struct msg_secret_value {
	struct secret_meta meta;
	const uint8_t	*value;			/* 1 to VALUE_MAX_LEN bytes */
	size_t		 value_len;
};

struct msg_secret_deleted {
	char		 name[NAME_MAX_LEN + 1];
	uint8_t		 scope;			/* enum rt_scope */
};

/* IMSG_TOKEN_CREATE; the reply is a msg_token_created. */
struct msg_token_create {
	struct msg_auth	 auth;
	uint8_t		 role;			/* enum rt_role */
	char		 description[DESC_MAX_LEN + 1];
	uint64_t	 ttl;			/* seconds, at most
						   TOKEN_TTL_MAX; 0: none */
	struct token_scopes scopes;		/* n == 0: unscoped */
};

/* The token string is shown here, once, and nowhere else. */
struct msg_token_created {
	const char	*token;			/* valid_token(), of meta.id */
	struct token_meta meta;
};

/* IMSG_TOKEN_LIST; the reply is a msg_token_page. */
struct msg_token_list {
	struct msg_auth	 auth;
	uint32_t	 limit;			/* 0: LIST_DEFAULT_LIMIT */
	char		 cursor[TOKEN_CURSOR_MAX_LEN + 1];	/* "": first
								   page */
};

struct msg_token_page {
	uint32_t		 n;
	const struct token_meta	*tokens;	/* encoder only */
	char			 next[TOKEN_CURSOR_MAX_LEN + 1];
};
typedef int (*msg_token_cb)(void *, const struct token_meta *);

/* IMSG_TOKEN_REVOKE; the reply is the revoked token's token_meta. */
struct msg_token_revoke {
	struct msg_auth	 auth;
	char		 id[TOKEN_ID_LEN + 1];
};

/*
 * IMSG_WHOAMI carries only an auth block (msg_auth_put, then
 * msg_auth_get and msg_empty_get); this is its reply: the principal the
 * broker found, and how.  A unix peer has its uid and no token; a token
 * has its id and expiry and no uid, whichever listener it came over.
 */
struct msg_whoami {
	char		 user_id[ID_MAX_LEN + 1];
	char		 org_id[ID_MAX_LEN + 1];
	uint8_t		 role;			/* enum rt_role */
	uint8_t		 auth;			/* enum auth_kind */
	uint32_t	 uid;			/* AUTH_SESSION only; else 0 */
	char		 token_id[TOKEN_ID_LEN + 1];	/* AUTH_TOKEN only */
	uint64_t	 token_expires;		/* AUTH_TOKEN; 0: never */
	struct token_scopes scopes;		/* AUTH_TOKEN; n == 0:
						   unscoped */
};

/*
 * IMSG_PING's reply: what the broker cannot write.  /v1/health answers
 * degraded, naming the part, when either is set.
 */
struct msg_health {
	uint8_t		 store_full;		/* the last write found no
						   space */
	uint8_t		 audit_failing;		/* the last audit write or
						   sync failed */
};

/*
 * IMSG_METRICS carries only an auth block; its reply, to an admin, is
 * the broker's counters since it started (the front-end's own HTTP
 * counters live in the front-end).  Counters only grow; the front-end
 * writes them out in Prometheus' text format.
 */
enum metrics_auth_fail {
	MAUTH_BAD_TOKEN,			/* unknown, revoked, malformed */
	MAUTH_EXPIRED,
	MAUTH_RATE_LIMITED,			/* refused 429 unchecked */
	MAUTH_MAX
};

enum metrics_tool_outcome {
	MTOOL_OK,				/* ran and reported success */
	MTOOL_FAILED,				/* ran and reported failure */
	MTOOL_TIMEOUT,
	MTOOL_ERROR,				/* upstream or runner failed,
						   result withheld, aborted */
	MTOOL_MAX
};

#define METRICS_BATCH_BUCKETS	9	/* batch sizes up to 1, 2, 4 ... 256 */
#define METRICS_TOOLS_MAX	512	/* tools with counters in one reply */

/* One tool's executions, by outcome. */
struct msg_tool_count {
	char		 tool[TOOL_NAME_MAX + 1];
	uint64_t	 outcomes[MTOOL_MAX];
};
typedef int (*msg_tool_count_cb)(void *, const struct msg_tool_count *);

struct msg_metrics {
	uint64_t	 start_time;		/* unix seconds */
	uint64_t	 reveals[2];		/* by enum rt_scope */
	uint64_t	 denials;		/* 403 by policy */
	uint64_t	 auth_failures[MAUTH_MAX];
	uint64_t	 commits;		/* group commits */
	uint64_t	 batch_buckets[METRICS_BATCH_BUCKETS];	/* commits of
						   up to 2^i writes and
						   more than 2^(i-1); they
						   add up to commits */
	uint64_t	 batch_writes;		/* writes in those commits */
	uint64_t	 store_bytes;		/* the data file */
	uint64_t	 secrets;
	uint64_t	 frontend_restarts;
	uint64_t	 runner_restarts;
	uint64_t	 audit_failures;	/* writes and syncs */
	struct msg_health health;
	uint32_t	 ntools;		/* at most METRICS_TOOLS_MAX,
						   names in strictly
						   increasing order */
	const struct msg_tool_count *tools;	/* encoder only */
};

/*
 * IMSG_REPLY starts with this; on RT_OK and RT_CREATED the reply to the
 * request follows, on any other status nothing does.  IMSG_PING and its
 * reply carry nothing.
 */
struct msg_reply {
	uint32_t	 status;		/* enum rt_status */
	char		 message[MSG_LEN];	/* "" on success */
};

void	 msg_hello_put(struct ipc_msg *, const struct msg_hello *);
int	 msg_hello_get(struct ipc_reader *, struct msg_hello *);
void	 msg_config_put(struct ipc_msg *, const struct msg_config *);
int	 msg_config_get(struct ipc_reader *, struct msg_config *);
void	 msg_reload_put(struct ipc_msg *, const struct msg_reload *);
int	 msg_reload_get(struct ipc_reader *, struct msg_reload *);
void	 msg_conn_unix_put(struct ipc_msg *, int fd);
int	 msg_conn_unix_get(struct ipc_reader *, int *fd);
void	 msg_session_put(struct ipc_msg *, const struct msg_session *);
int	 msg_session_get(struct ipc_reader *, struct msg_session *);
void	 msg_conn_close_put(struct ipc_msg *, const struct msg_conn_close *);
int	 msg_conn_close_get(struct ipc_reader *, struct msg_conn_close *);

void	 msg_secret_list_put(struct ipc_msg *, const struct msg_secret_list *);
int	 msg_secret_list_get(struct ipc_reader *, struct msg_secret_list *);
void	 msg_secret_page_put(struct ipc_msg *, const struct msg_secret_page *);
int	 msg_secret_page_get(struct ipc_reader *, struct msg_secret_page *,
	    msg_meta_cb, void *);
size_t	 msg_secret_page_fit(const struct secret_meta *, size_t,
	    size_t *);
void	 msg_secret_write_put(struct ipc_msg *,
	    const struct msg_secret_write *);
int	 msg_secret_write_get(struct ipc_reader *, struct msg_secret_write *);
void	 msg_secret_written_put(struct ipc_msg *,
	    const struct msg_secret_written *);
int	 msg_secret_written_get(struct ipc_reader *,
	    struct msg_secret_written *);
void	 msg_secret_ref_put(struct ipc_msg *, const struct msg_secret_ref *);
int	 msg_secret_ref_get(struct ipc_reader *, struct msg_secret_ref *);
void	 msg_secret_meta_put(struct ipc_msg *, const struct secret_meta *);
int	 msg_secret_meta_get(struct ipc_reader *, struct secret_meta *);
void	 msg_secret_value_put(struct ipc_msg *,
	    const struct msg_secret_value *);
int	 msg_secret_value_get(struct ipc_reader *, struct msg_secret_value *);
void	 msg_secret_versions_put(struct ipc_msg *,
	    const struct msg_secret_versions *);
int	 msg_secret_versions_get(struct ipc_reader *,
	    struct msg_secret_versions *);
void	 msg_secret_deleted_put(struct ipc_msg *,
	    const struct msg_secret_deleted *);
int	 msg_secret_deleted_get(struct ipc_reader *,
	    struct msg_secret_deleted *);

void	 msg_token_create_put(struct ipc_msg *, const struct msg_token_create *);
int	 msg_token_create_get(struct ipc_reader *, struct msg_token_create *);
void	 msg_token_created_put(struct ipc_msg *,
	    const struct msg_token_created *);
int	 msg_token_created_get(struct ipc_reader *,
	    struct msg_token_created *);
void	 msg_token_list_put(struct ipc_msg *, const struct msg_token_list *);
int	 msg_token_list_get(struct ipc_reader *, struct msg_token_list *);
void	 msg_token_page_put(struct ipc_msg *, const struct msg_token_page *);
int	 msg_token_page_get(struct ipc_reader *, struct msg_token_page *,
	    msg_token_cb, void *);
size_t	 msg_token_page_fit(const struct token_meta *, size_t);
void	 msg_token_revoke_put(struct ipc_msg *, const struct msg_token_revoke *);
int	 msg_token_revoke_get(struct ipc_reader *, struct msg_token_revoke *);
void	 msg_token_meta_put(struct ipc_msg *, const struct token_meta *);
int	 msg_token_meta_get(struct ipc_reader *, struct token_meta *);

void	 msg_whoami_put(struct ipc_msg *, const struct msg_whoami *);
int	 msg_whoami_get(struct ipc_reader *, struct msg_whoami *);

void	 msg_health_put(struct ipc_msg *, const struct msg_health *);
int	 msg_health_get(struct ipc_reader *, struct msg_health *);
void	 msg_metrics_put(struct ipc_msg *, const struct msg_metrics *);
int	 msg_metrics_get(struct ipc_reader *, struct msg_metrics *,
	    msg_tool_count_cb, void *);

int	 msg_empty_get(struct ipc_reader *);
void	 msg_auth_put(struct ipc_msg *, const struct msg_auth *);
int	 msg_auth_get(struct ipc_reader *, struct msg_auth *);
void	 msg_reply_put(struct ipc_msg *, const struct msg_reply *);
int	 msg_reply_get(struct ipc_reader *, struct msg_reply *);

#endif
