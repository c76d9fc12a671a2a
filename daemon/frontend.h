/*
 * secretd-frontend: the unprivileged network side.  It parses HTTP, TLS and
 * JSON and asks the broker for every decision; it never holds a key, never
 * opens the store and never links broker code.
 */
#ifndef SECRETD_FRONTEND_H
#define SECRETD_FRONTEND_H

#include <sys/queue.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "ipc.h"
#include "msg.h"
#include "proto.h"

#define FE_IPC_FD	3	/* channel to the broker */
#define FE_UNIX_FD	4	/* listening API socket */
#define FE_TLS_FD	5	/* listening TLS socket, when configured */

#define HEADERS_MAX	(8 * 1024)	/* request line and headers */
#define HEADERS_N_MAX	64		/* header lines in one request */
#define BODY_MAX	(128 * 1024)
#define JSON_DEPTH_MAX	16
#define JSON_STRINGS_MAX 256	/* our bodies have a handful of fields */

struct fe_config {
	char		 user[ID_MAX_LEN + 1];
	char		 chroot_dir[PATH_MAX];
	int		 have_tls;
	uint8_t		*cert_pem;
	size_t		 cert_len;
	uint8_t		*key_pem;	/* wiped once the SSL_CTX holds it */
	size_t		 key_len;
	uint32_t	 max_conns;
	uint32_t	 max_conns_uid;		/* per unix peer uid */
	uint32_t	 max_conns_addr;	/* per TLS peer address */
	uint32_t	 timeout_s;
	int		 seccomp_debug;
	char		 listen[LISTEN_MAX];	/* host:port; "": no TLS */
	/* mcp_allowed_origins, one space between them */
	char		 mcp_origins[MCP_ORIGINS_MAX];
};

struct passwd;
struct ssl_ctx_st;
struct event_base;
struct evbuffer;
struct bc_pending;
struct conn;
struct route;
struct peer;
struct mcp_ctx;

/*
 * Who holds a connection, for the per-peer caps only: a unix peer's uid
 * or a TLS peer's address.  Never an identity; that is the broker's.
 */
enum peer_kind {
	PEER_UID = 1,
	PEER_INET,		/* one IPv4 address */
	PEER_INET6,		/* one IPv6 /64 */
	PEER_LOOPBACK		/* every loopback address, as one */
};

struct peer_key {
	uint8_t		 kind;		/* enum peer_kind */
	uint8_t		 len;		/* bytes of b in use */
	uint8_t		 b[16];
};

/* What a route needs from the query string, already validated. */
struct fe_query {
	uint8_t		 list_flags;
	char		 category[CATEGORY_MAX_LEN + 1];
	char		 user_id[ID_MAX_LEN + 1];
	uint32_t	 limit;
	char		 cursor[CURSOR_MAX_LEN + 1];
	int		 org_wide;
	char		 prefix[NAME_MAX_LEN + 1];	/* "": any name */
	uint32_t	 version;		/* a kept version; 0: none */
};

enum http_method {
	HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE,
	HTTP_OPTIONS, HTTP_OTHER
};

struct http_header {
	const char	*name;
	const char	*value;
};

/*
 * One request head, read into its connection's fixed buffer: every
 * pointer here points into buf, so a request costs no allocation.
 */
struct http_head {
	char			 buf[HEADERS_MAX];
	size_t			 len;		/* of buf in use */
	int			 lines;		/* read so far */
	enum http_method	 method;
	char			*path;
	char			*query;		/* NULL: none */
	int			 minor;		/* HTTP/1.minor */
	struct http_header	 h[HEADERS_N_MAX];
	int			 nh;
	uint64_t		 clen;		/* Content-Length */
	int			 has_clen;
	int			 chunked;
	int			 close;		/* Connection: close */
	int			 keepalive;	/* Connection: keep-alive */
	int			 expect;	/* Expect: 100-continue */
	int			 continued;	/* and 100 Continue was sent */
};

/* One HTTP request from arrival to reply; one per connection. */
struct fe_req {
	struct conn		*conn;
	struct http_head	*head;
	char			 id[REQUEST_ID_LEN + 1];
	const struct route	*route;
	char			 arg[NAME_MAX_LEN + 1];	/* {name} or {id} */
	struct fe_query		 q;
	json_t			*body;
	int			 has_token;
	char			 token[TOKEN_STR_MAX + 1];
	struct bc_pending	*pending;
	const char		*allow;		/* a 405's Allow header */
	int			 close;		/* the reply ends the connection */
	int			 checked;	/* route and query already seen */
	struct timespec		 started;	/* its head was read */
	struct mcp_ctx		*mcp;		/* /v1/mcp's state, or NULL */
	char			 xheader[96];	/* "Name: value\r\n" the reply
						   adds, or "" */
};

/* A field a request body may hold. */
struct json_field {
	const char	*name;
	json_type	 type;		/* JSON_TRUE means any boolean */
	int		 required;
};

/* frontend.c */
extern struct fe_config fe_conf;
void	 fe_broker_gone(void);
void	 fe_reload(const struct msg_reload *);

/* sandbox.c */
int	 sandbox_fds(void);
void	 sandbox_drop(struct fe_config *, const struct passwd *);
void	 sandbox_seccomp(int debug);

/* tls.c */
struct ssl_ctx_st *tls_ctx_new(struct fe_config *);
void	 tls_reload(const uint8_t *cert, size_t, const uint8_t *key,
	    size_t);

/* conn.c */
void	 conn_unlisten(void);
int	 conn_tls_swap(struct ssl_ctx_st *);
void	 conn_listen(struct event_base *, struct ssl_ctx_st *, int unix_fd,
	    int tls_fd);

/* http.c */
void	 http_reply_json(struct fe_req *, int code, json_t *);
void	 http_reply_text(struct fe_req *, int code, char *);
void	 http_reply_typed(struct fe_req *, int code, const char *ctype,
	    char *);
void	 http_reply_error(struct fe_req *, int code, const char *ecode,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	 http_reply_status(struct fe_req *, enum rt_status, const char *);
void	 http_reply_empty(struct fe_req *, int code);
void	 http_auth(struct fe_req *, struct msg_auth *);
void	 http_request_id(char *);
void	 http_wait_longer(struct fe_req *, unsigned int seconds);

/* peers.c */
void	 peers_init(void);
int	 peer_key_get(int fd, int is_unix, struct peer_key *);
const char *peer_key_str(const struct peer_key *, char *, size_t);
int	 peer_hold(const struct peer_key *, uint32_t max, struct peer **);
void	 peer_release(struct peer *);

/* httpread.c */
enum hr_result { HR_MORE, HR_DONE, HR_ERROR };
void	 hr_reset(struct http_head *);
enum hr_result hr_read(struct http_head *, struct evbuffer *, int *code,
	    const char **err);
const char *hr_header(const struct http_head *, const char *name);

/* routes.c */
const struct route *route_match(const char *path, enum http_method,
	    char *arg, size_t arglen, int *code, const char **allow,
	    char *err, size_t errlen);
int	 route_parse_query(const struct route *, char *query,
	    struct fe_query *, char *err, size_t errlen);
const struct json_field *route_fields(const struct route *);
int	 route_body_required(const struct route *);
int	 route_body_rpc(const struct route *);
int	 route_public(const struct route *);
void	 route_run(struct fe_req *);
struct ipc_msg;
void	 send_request(struct fe_req *, struct ipc_msg *,
	    int (*)(void *, enum rt_status, const char *,
	    struct ipc_reader *));
int	 reply_ok(struct fe_req *, enum rt_status, const char *);
int	 bad_reply(struct fe_req *);
size_t	 route_count(void);
const struct route *route_at(size_t);
size_t	 route_index(const struct route *);
const char *route_template(const struct route *);
const char *route_method(const struct route *);

/* metrics.c */
void	 metrics_init(void);
void	 metrics_request_start(struct fe_req *);
void	 metrics_request_done(const struct fe_req *, int code);
void	 metrics_get(struct fe_req *);

/* mcphttp.c */
void	 mcp_post(struct fe_req *);
void	 mcp_delete(struct fe_req *);
void	 mcp_ctx_free(struct mcp_ctx *);

/* tools.c */
void	 tools_list(struct fe_req *);
void	 tool_show(struct fe_req *);
void	 tool_execute(struct fe_req *);
json_t	*tool_page_json(struct ipc_reader *, int *bad);
json_t	*exec_result_json(struct ipc_reader *, int *bad);
int	 tool_exec_send(struct fe_req *, json_t *body, const char *tool,
	    const char *client, int (*)(void *, enum rt_status,
	    const char *, struct ipc_reader *), char *err, size_t);

/* json.c */
int	 json_scan_limits(const char *, size_t, int maxdepth,
	    size_t maxstrings);
json_t	*json_parse_any(const char *, size_t);
json_t	*json_parse_body(const char *, size_t, const struct json_field *,
	    char *err, size_t errlen);
int	 json_text_field(json_t *, const char *key, size_t max,
	    const char **);
char	*json_time(uint64_t, char *, size_t);
int	 json_parse_time(const char *, uint64_t *);
json_t	*json_token(const struct token_meta *);
json_t	*json_scopes(const struct token_scopes *);
int	 json_scopes_parse(json_t *, struct token_scopes *, char *err,
	    size_t);

/* jsonw.c */
struct jw {
	char		*buf;
	size_t		 len;
	size_t		 cap;
	int		 err;	/* out of memory or text not UTF-8 */
};
void	 jw_init(struct jw *, size_t hint);
void	 jw_raw(struct jw *, const char *, size_t);
void	 jw_lit(struct jw *, const char *);
void	 jw_str(struct jw *, const char *, size_t);
void	 jw_cstr(struct jw *, const char *);
void	 jw_key(struct jw *, const char *, int first);
void	 jw_u64(struct jw *, uint64_t);
/* More than the room jw_meta_fields() takes for the longest record. */
#define JW_META_ROOM	(16 * 1024)
void	 jw_meta_fields(struct jw *, const struct secret_meta *);
char	*jw_meta_text(const struct secret_meta *, const void *, size_t);
char	*jw_finish(struct jw *);
void	 jw_discard(struct jw *);
size_t	 jw_utf8_len(const unsigned char *, size_t);

/* brokerc.c */
typedef int (*bc_cb)(void *arg, enum rt_status, const char *message,
	    struct ipc_reader *);
void	 bc_hello(int fd, struct fe_config *);
void	 bc_start(struct event_base *);
int	 bc_up(void);
void	 bc_msg_init(struct ipc_msg *, uint32_t type);
struct bc_pending *bc_request(struct ipc_msg *, bc_cb, void *arg);
int	 bc_send_oneway(struct ipc_msg *);
void	 bc_cancel(struct bc_pending *);

#endif
