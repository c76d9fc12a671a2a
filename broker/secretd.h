/*
 * The privileged broker: configuration, lifecycle, and the prototypes of
 * its files.  Store and key code are in store.h.
 */
#ifndef SECRETD_H
#define SECRETD_H

#include <sys/types.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>

#include "paths.h"
#include "proto.h"

#define SECRETD_USER	"secretd"
#define RUNNER_USER	"secretd-runner"

struct secretd_config {
	char		 path[PATH_MAX];	/* the config file */
	char		 state_dir[PATH_MAX];
	char		 root_key_file[PATH_MAX];
	char		 socket_path[108];	/* sun_path */
	mode_t		 socket_mode;
	char		 listen[LISTEN_MAX];	/* host:port, "" = no TLS */
	char		 listen_host[256];	/* listen split for getaddrinfo */
	char		 listen_port[6];
	char		 tls_cert[PATH_MAX];
	char		 tls_key[PATH_MAX];
	char		 org[ID_MAX_LEN + 1];
	char		 admin_group[64];
	int		 org_reveal_members;	/* org_reveal = members */
	char		 frontend_user[64];
	char		 audit_log[PATH_MAX];
	int		 audit_sync_all;	/* audit_sync = all */
	int		 audit_syslog;		/* audit_syslog = yes */
	uint64_t	 max_conns_per_uid;
	uint64_t	 max_conns_per_address;
	uint64_t	 max_tokens_per_user;
	uint64_t	 quota_user_secrets;
	uint64_t	 quota_user_bytes;
	uint64_t	 quota_org_secrets;
	uint64_t	 quota_org_bytes;
	char		 tools_dir[PATH_MAX];	/* one NAME.tool a tool */
	char		 mcp_allowed_origins[MCP_ORIGINS_MAX];	/* origins
					   /v1/mcp takes, one space
					   between; "": its own only */
	char		 runner_user[64];	/* secretd-runner drops to */
	uint64_t	 tool_max_concurrent;	/* executions at once */
	uint64_t	 tool_max_per_user;	/* one caller's at once */
	uint64_t	 versions_kept;	/* of each secret, the current
					   one included */
	int		 store_timeout_ms;	/* a read or commit past
					   it: 503 */
};

/* config.c */
void	 config_defaults(struct secretd_config *);
#define CONFIG_USERS	0x1	/* the users and group named must exist */
int	 config_parse(const char *path, struct secretd_config *, int flags,
	    char *err, size_t errlen, FILE *errs);
int	 config_load(const char *path, struct secretd_config *,
	    char *err, size_t errlen);
void	 config_print(const struct secretd_config *, FILE *);
void	 config_reload_diff(struct secretd_config *next,
	    const struct secretd_config *cur, char *live, size_t,
	    char *restart, size_t);

/* statelock.c: the state folder's locks, see there. */
#define STATELOCK_FILE		"lock"
#define STATELOCK_MAINT_FILE	"maintenance.lock"
enum statelock_use {
	STATELOCK_DAEMON,	/* the broker: "lock" */
	STATELOCK_ONLINE,	/* rotate-key, rewrap: "maintenance.lock" */
	STATELOCK_OFFLINE,	/* init (restore, migrate): both */
};
struct statelock {
	int		 fd;		/* "lock", or -1 */
	int		 mfd;		/* "maintenance.lock", or -1 */
};
int	 statelock_take(struct statelock *, const char *state_dir,
	    enum statelock_use, char *err, size_t errlen);
void	 statelock_mark(struct statelock *);
void	 statelock_release(struct statelock *);
int	 statelock_path(const char *dir, const char *name, char *, size_t);

/* init.c */
int	 secretd_init(const struct secretd_config *, char *err, size_t);

#endif
