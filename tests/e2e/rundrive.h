/*
 * rundrive: the broker's side of secretd-runner's channel, for
 * tests/e2e/test_runner.sh.  rundrive.c starts the runner and speaks on
 * its channel, builds tools and requests, and checks results and the
 * processes; rundrive_http.c and rundrive_exec.c hold the cases for each
 * kind of tool.
 */
#ifndef RUNDRIVE_H
#define RUNDRIVE_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ipc.h"
#include "proto.h"
#include "tool.h"

#define WAIT_MS		15000	/* for any one answer */
#define STASH_MAX	64

/* A header value: '/', '+', space, quotes, backslash, é, &=?#@~. */
#define V_NASTY		"s3cr/t+k \"q\"\\\xc3\xa9&=?#@~x"
#define V_PLAIN		"rtk-Plain-0123456789-abcdefXYZ"
#define V_EXEC		"exec-Key-0123456789"
#define V_EXEC2		"t0ken/Two+\xc3\xa9"
#define V_LONG		"LongValue-0123456789abcdef0123456789abcdef0123456789" \
			"abcdefgh-end"

struct rundrive_opts {
	const char	*runner;
	const char	*user;
	const char	*dir;
	const char	*ca;
	const char	*tools;
	const char	*log;		/* upstream.py's requests */
	int		 port;
	int		 plain_port;
	int		 down_port;
	uint8_t		 debug;		/* -g: READY asks for seccomp debug */
	uid_t		 uid;
	gid_t		 gid;
};

extern struct rundrive_opts o;
extern char url_https[128], url_plain[128], url_down[128];

struct got {
	uint32_t	 id;
	struct run_result rs;		/* result and stderr_buf: copies */
	long long	 at;		/* ms, monotonic, when it came */
};

struct runner {
	pid_t		 pid;
	struct ipc_chan	 chan;
	char		 log[PATH_MAX];
	struct got	*stash[STASH_MAX];
	int		 nstash;
	int		 dead;
};

/* What a test changes in the runner's world. */
struct spawn {
	int		 as_root;	/* skip the drop to the user */
	const char	*hosts;		/* a file bind-mounted on /etc/hosts */
	const char	*env[4];	/* more variables */
};

/* rundrive.c: TAP, time, the runner's process and its channel */
int	 ok(int, const char *, ...) __attribute__((format(printf, 2, 3)));
long long now_ms(void);
void	 nap_ms(int);
void	 bail(const char *) __attribute__((noreturn));
void	 runner_spawn_with(struct runner *, const struct spawn *,
	    const char *tag);
int	 runner_exit_within(struct runner *, int ms);
void	 runner_kill(struct runner *);
int	 handshake(struct runner *, uint32_t max, uint8_t debug);
uint32_t submit(struct runner *, const struct run_request *);
struct got *wait_for(struct runner *, uint32_t id, int ms);
struct got *run(struct runner *, const struct run_request *);
void	 got_free(struct got *);
pid_t	 child_of(pid_t);
int	 gone_within(pid_t, int ms);

/* rundrive.c: tools and requests */
void	 exec_tool(struct tool *, const char *name, const char *script);
void	 echo_tool(struct tool *, const char *url, uint8_t place);
void	 add_slot(struct tool *, const char *name, uint8_t place,
	    const char *target, const char *tmpl);
struct tool_action *add_action(struct tool *, const char *name,
	    const char *method, const char *path);
void	 add_param(struct tool_action *, const char *name, uint8_t type,
	    uint8_t place, uint8_t required);
struct run_request *request(const struct tool *, const char *action);
void	 param(struct run_request *, const char *name, uint8_t type,
	    const char *value);
void	 cred(struct run_request *, const char *slot, const char *value);

/* rundrive.c: checks */
char	*b64(const char *, int variant);
const char *leak_of(const void *, size_t, const char *value);
void	 no_leak(const struct got *, const char *value,
	    const char *rendered, const char *what);
size_t	 upstream_count(void);
json_t	*upstream_last(void);
const char *req_str(json_t *, const char *key);
const char *req_header(json_t *, const char *name);
int	 is_result(const struct got *, uint8_t outcome, int ok,
	    uint32_t status);
const char *desc(const struct got *);
json_t	*result_json(const struct got *);
const char *jstr(json_t *, const char *key1, const char *key2);
void	 is_str(const char *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/* rundrive_http.c */
void	 http_header_slot(struct runner *);
void	 http_query_slot(struct runner *);
void	 http_basic_slot(struct runner *);
void	 http_params(struct runner *);
void	 http_refusals(struct runner *);
void	 http_redirects(struct runner *);
void	 http_big(struct runner *);
void	 http_timeout(struct runner *);
void	 http_connect_failures(struct runner *);
void	 http_plain(struct runner *);
void	 http_resolver(void);
void	 http_no_proxy(void);

/* rundrive_exec.c */
void	 exec_env(struct runner *);
void	 exec_outcomes(struct runner *);
void	 exec_stderr_cut(struct runner *);
void	 exec_peek(struct runner *);
void	 exec_peek_sibling(struct runner *);
void	 exec_signals(struct runner *);
void	 many_at_once(struct runner *);

#endif
