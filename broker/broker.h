/*
 * What the broker's own files share: its state and their prototypes,
 * grouped by file.  Only broker/ includes this; nothing here may ever be
 * linked into the front-end.
 */
#ifndef SECRETD_BROKER_H
#define SECRETD_BROKER_H

#include <sys/types.h>
#include <limits.h>
#include <stdint.h>
#include <time.h>

#include "ipc.h"
#include "msg.h"
#include "policy.h"
#include "proto.h"
#include "secretd.h"
#include "store.h"
#include "tool.h"
#include "tooldef.h"

#define MAX_CONNECTIONS		16384	/* front-end client connections */
#define FD_SPARE		64	/* the broker's own descriptors */
#define FD_SPARE_MIN		32	/* ...when the hard limit is low */
#define FD_MIN			48	/* below this the broker refuses */
#define SESSIONS_MAX		(2 * MAX_CONNECTIONS)
#define REQUEST_TIMEOUT_S	10
#define BATCH_MAX		256	/* messages drained per loop turn */
#define CHAN_QUEUE_MAX		4096	/* replies waiting for the front-end */
#define BACKOFF_MAX_MS		5000
#define BACKOFF_RESET_S		10	/* a front-end this old was healthy */
#define HELLO_TIMEOUT_S		10	/* a new front-end must say hello */
#define STOP_GRACE_S		5	/* front-end's time to finish on stop */
#define START_FAILURES_MAX	10	/* failed starts in a row: give up */
#define HANGUP_EXIT_MS		50	/* a child that hung up, to exit */

enum fe_state {
	FE_DOWN,		/* not running, maybe restart pending */
	FE_NEW,			/* started, no HELLO yet */
	FE_READY		/* HELLO answered */
};

struct listeners {
	int		 unix_fd;
	int		 tls_fd;		/* -1: no TLS listener */
	char		 unix_path[108];	/* what accepted peers
						   must be connected to */
	int		 unix_owned;		/* we bound it: unlink */
};

/* A child's stdout and stderr, read a line at a time into our log. */
struct childlog {
	int		 fd;
	const char	*tag;			/* prefix; NULL: none */
	char		 buf[1024];
	size_t		 len;
};

/* When a dead child starts again: backoff doubles while it keeps dying. */
struct restart {
	unsigned int	 backoff_ms;
	int		 pending;
	struct timespec	 at;
	int		 ready;		/* this start said hello */
	unsigned int	 failures;	/* failed starts in a row */
	char		 cause[160];	/* the last one's */
	char		 kill_why[96];	/* why we killed this start */
	int		 kill_sig;	/* the signal we sent it; 0: none */
};

enum run_state {
	RUN_DOWN,		/* not running, maybe restart pending */
	RUN_NEW,		/* started, no hello yet */
	RUN_READY
};

/* The runner: its process, channel and log, and the executions out. */
struct runner {
	char		 path[PATH_MAX];
	uid_t		 uid;			/* to drop to; with drop */
	gid_t		 gid;
	int		 drop;
	pid_t		 pid;			/* -1: none to reap */
	enum run_state	 state;
	struct ipc_chan	 chan;
	int		 chan_open;
	struct timespec	 started;
	struct restart	 restart;
	struct childlog	 log;
	uint32_t	 next_id;
	uint32_t	 inflight;
};

struct broker {
	struct secretd_config	*cfg;
	struct store		*store;
	int			 verbose;
	struct listeners	 lis;
	uint32_t		 max_conns;	/* what our descriptors allow */
	char			 frontend_path[PATH_MAX];
	char			 chroot_dir[PATH_MAX];

	pid_t			 fe_pid;	/* -1: none to reap */
	enum fe_state		 fe_state;
	struct ipc_chan		 chan;
	int			 chan_open;
	struct timespec		 fe_started;
	struct restart		 restart;

	int			 stopping;
	int			 exit_status;	/* non-zero: we gave up */
	struct timespec		 stop_deadline;

	struct childlog		 felog;		/* the front-end's output */

	struct toolset		*tools;
	struct runner		 run;
};

/* One request being handled: who asks, and what the audit line says. */
struct req {
	struct broker		*b;
	struct ipc_reader	*r;
	uint32_t		 id;
	uint32_t		 type;
	struct msg_auth		 auth;		/* token: into the reader */
	struct principal	 p;
	int			 authed;
	const char		*op;
	int			 scope;
	char			 owner[ID_MAX_LEN + 1];
	char			 name[NAME_MAX_LEN + 1];
	int			 has_uid;	/* a unix caller: */
	uid_t			 uid;		/* ...the kernel's uid */
	uint32_t		 version;	/* the secret's; 0: none */
	uint32_t		 from_version;	/* a rollback's source; 0: none */
	const struct audit_tool	*tool;		/* an execution's fields */
	char			 client[TOOL_CLIENT_MAX + 1];	/* an
					   execution's client; "": none */
};

/* A write waiting for this turn's group commit. */
struct pending {
	struct req		 q;
	uint8_t			*value;		/* our copy, wiped */
	size_t			 value_len;
	char			 token[TOKEN_STR_MAX + 1];
	int			 orphan;	/* its front-end is gone */
};

/* audit.c */
#define AUDIT_KEY_LEN	32
#define AUDIT_HASH_LEN	32
#define AUDIT_TIME_LEN	24	/* 2006-01-02T15:04:05.000Z */

/* A tool execution's own audit fields. */
struct audit_tool {
	const char	*tool;
	const char	*action;
	const struct tool_cred_use *creds;	/* those resolved so far */
	uint32_t	 ncreds;
	int		 has_result;
	uint32_t	 ms;
	uint32_t	 status;
	uint32_t	 redactions;
};

/* One decision.  Strings may be NULL: the field is null or left out. */
struct audit_rec {
	const char	*request_id;	/* untrusted: checked */
	const char	*source;
	int		 has_uid;
	uid_t		 uid;
	const char	*user;		/* NULL: not authenticated */
	const char	*token_id;	/* a token caller's; NULL: none */
	int		 role;		/* -1: not authenticated */
	const char	*op;
	int		 scope;		/* -1: none */
	const char	*owner;
	const char	*name;
	const char	*outcome;
	uint32_t	 version;	/* 0: none */
	uint32_t	 from_version;	/* a rollback's source; 0: none */
	const struct audit_tool *tool;	/* NULL: not an execution */
	const char	*client;	/* the agent's name; NULL or "": none */
};
int	 audit_open(const char *path);
void	 audit_syslog_open(void);
int	 audit_start(const uint8_t *audit_key);
int	 audit_log(const struct audit_rec *);
int	 audit_reserve(size_t);
int	 audit_sync(void);
int	 audit_reopen(void);
int	 audit_writable(void);
void	 audit_close(void);

/* auditchain.c */
struct audit_line {
	char		 time[AUDIT_TIME_LEN + 1];
	uint64_t	 seq;
	const char	*body;		/* the line up to its chain field */
	size_t		 body_len;
	uint8_t		 chain[AUDIT_HASH_LEN];
	int		 is_start;	/* a chain start record */
	int		 has_previous;	/* ...that names the chain before */
	uint8_t		 previous[AUDIT_HASH_LEN];
};
uint8_t	*auditchain_key(const uint8_t *audit_key);
void	 auditchain_hash(const uint8_t *key,
	    const uint8_t prev[AUDIT_HASH_LEN], const char *body, size_t,
	    uint8_t out[AUDIT_HASH_LEN]);
int	 auditchain_parse(const char *, size_t, struct audit_line *);
int	 auditchain_follows(const uint8_t *key,
	    const uint8_t prev[AUDIT_HASH_LEN], const struct audit_line *);
void	 auditchain_start_prev(const struct audit_line *,
	    uint8_t prev[AUDIT_HASH_LEN]);

/* auditverify.c */
int	 audit_verify(const uint8_t *root_key, char *const files[], int n);

/* identity.c */
#define UID_ID_PREFIX	"uid-"	/* the id of a uid without a usable name */
int	 reserved_uid_id(const char *);
int	 session_get(uint64_t, struct principal *, uid_t *, char *msg,
	    size_t);
void	 session_del(uint64_t);
int	 session_watch_fd(void);
void	 session_hangups(void);
void	 session_clear(void);
int	 h_conn_unix(struct req *);
int	 h_conn_close(struct req *);
int	 h_whoami(struct req *);

/* token.c */
int	 token_auth(struct broker *, const char *token, const char *ratekey,
	    struct principal *, char *msg, size_t);
int	 token_make(struct broker *, const struct principal *, uint8_t role,
	    const char *desc, uint64_t ttl, const struct token_scopes *,
	    struct store_op *, char *tok, size_t, char *msg, size_t);
int	 h_token_create(struct req *);
int	 h_token_list(struct req *);
int	 h_token_revoke(struct req *);

/* listen.c */
void	 listen_setup(const struct secretd_config *, struct listeners *);
void	 listen_close(struct listeners *);
void	 notify_systemd(const char *);

/* childlog.c */
int	 childlog_open(struct childlog *);
void	 childlog_read(struct childlog *);
void	 childlog_close(struct childlog *);

/* supervise.c */
struct timespec now_mono(void);
long long ms_between(struct timespec, struct timespec);
void	 exe_resolve_path(const char *name, const char *env, char *,
	    size_t);
char	**child_env(void);
pid_t	 child_spawn(const char *path, char *const argv[], int fds[3],
	    int nfds, int logfd, const struct runner *drop);
pid_t	 child_launch(const char *path, const char *name, int verbose,
	    struct childlog *,
	    const int *extra, int nextra, const struct runner *drop,
	    struct ipc_chan *, char *cause, size_t);
void	 restart_schedule(struct broker *, struct restart *,
	    struct timespec started, const char *what, int status,
	    const char *cause);
void	 restart_begin(struct restart *);
void	 restart_cause(const struct restart *, int status, char *, size_t);
int	 child_gone(pid_t, int wait_ms);
int	 restart_signal(struct restart *, pid_t, int sig, const char *why);
void	 child_ended(const char *what, pid_t, int status,
	    const struct restart *, int stopping);
int	 restart_due(const struct restart *, struct timespec now);
void	 fe_prepare_chroot(const char *state_dir, char *, size_t);
void	 fe_start(struct broker *);
void	 fe_kill(struct broker *, const char *why);
void	 fe_reap(struct broker *);
int	 fe_poll_timeout(struct broker *);
void	 fe_tick(struct broker *);
void	 fe_stop(struct broker *);
int	 h_hello(struct req *);

/* runner.c */
void	 runner_init(struct broker *);
void	 runner_start(struct broker *);
void	 runner_kill(struct broker *, const char *why);
int	 runner_reaped(struct broker *, pid_t, int status);
int	 runner_poll_timeout(struct broker *);
void	 runner_tick(struct broker *);
void	 runner_read(struct broker *);
void	 runner_flush(struct broker *);
void	 runner_stop(struct broker *);
int	 runner_send(struct broker *, struct ipc_msg *);
int	 runner_ready(struct broker *);

/* tools.c */
int	 h_tool_list(struct req *);
int	 h_tool_get(struct req *);
int	 h_tool_exec(struct req *);
void	 tool_exec_done(struct broker *, uint32_t exec_id,
	    const struct run_result *);
void	 tool_exec_abort_all(struct broker *, int status, const char *why);
void	 tool_exec_expire(struct broker *);
int	 tool_exec_timeout(struct broker *);

/* reload.c */
void	 broker_reload(struct broker *);

/* metrics.c */
extern struct msg_metrics metrics;
void	 metrics_init(void);
void	 metrics_commit(size_t writes);
void	 metrics_tool(const char *tool, enum metrics_tool_outcome);
void	 metrics_decision(const struct req *, int status);
void	 metrics_health(struct broker *, struct msg_health *);
int	 h_ping(struct req *);
int	 h_metrics(struct req *);

/* broker.c */
void	 broker_read(struct broker *);
void	 broker_replay(struct broker *);
void	 broker_turn_end(struct broker *);
int	 broker_poll_timeout(void);
void	 broker_fe_gone(void);
void	 broker_flush(struct broker *);

/* park.c */
#define PARK_MAX	BATCH_MAX	/* requests waiting for the store */
#define PARK_RUNS_MAX	8		/* runs of one request, its last
					   included */

/* A request whose run missed a read, until its wave's answers are in. */
struct parked {
	uint8_t		*msg;		/* its message, sodium_malloc'd */
	size_t		 len;
	uint64_t	 wave;		/* store_wave() when it arrived */
	long long	 deadline;	/* monotonic ms: the last run then */
	unsigned int	 runs;		/* made so far */
	uint64_t	 turn;		/* the loop turn that parked it */
};
int	 park_copy(struct parked *, const void *msg, size_t len);
void	 park_wipe(struct parked *);
int	 park_put(const struct parked *);
size_t	 park_count(void);
int	 park_take(long long now, uint64_t turn,
	    int (*ready)(void *, uint64_t), void *, struct parked *);
int	 park_last_run(const struct parked *, long long now);
int	 park_timeout_ms(long long now);
void	 park_clear(void);

/* request.c */
void	 chan_send(struct broker *, struct ipc_msg *);
void	 reply_init(struct ipc_msg *, uint32_t id, int status, const char *);
void	 respond(struct req *, struct ipc_msg *, int status, const char *);
void	 release_held(struct broker *);
int	 authenticate(struct req *, char *msg, size_t);
int	 scope_permits(struct req *, enum op, const char *tool, char *msg,
	    size_t);
int	 store_status(int, char *msg, size_t);
struct pending *pend_add(struct req *);
struct store_op *pend_op(struct pending *);
void	 pend_cancel(void);
void	 pend_orphan(void);
int	 request_room(void);
void	 run_start(void);
int	 run_end(struct broker *);
void	 batch_commit(struct broker *);
int	 batch_in_flight(void);
const char *version_missing(struct broker *, uint32_t, char *, size_t);

/* secrets.c */
int	 h_list(struct req *);
int	 h_put(struct req *);
int	 h_read(struct req *);
int	 h_delete(struct req *);
int	 h_versions(struct req *);
int	 h_rollback(struct req *);

/* secretd.c */
int	 pem_read(const char *path, uint8_t **, size_t *);

/* tlspair.c */
int	 tls_pair_check(const uint8_t *cert, size_t, const uint8_t *key,
	    size_t, const char **why);

/* backup.c */
int	 backup_run(const struct secretd_config *, const char *file, int force);
int	 backup_restore(const struct secretd_config *, const char *file);
int	 link_aside(const char *path, const char *what, char *, size_t);
int	 cmd_fail(const char *cmd, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* migrate.c: --to postgresql | lmdb */
int	 migrate(const struct secretd_config *, const char *to, int force);

/* rootkey.c */
int	 root_key_path(const struct secretd_config *, char *, size_t);
int	 rootkey_rotate(const struct secretd_config *, const char *new_key);
const char *rootkey_rotation_hint(const struct secretd_config *);

#endif
