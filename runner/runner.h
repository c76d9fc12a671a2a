/*
 * secretd-runner: runs operator-defined tools with the credential values
 * the broker resolved, and hands back results with every value redacted.
 * It never sees the store or the key; it holds a value only for the
 * length of one execution, in memory that is wiped before it is freed.
 */
#ifndef SECRETD_RUNNER_H
#define SECRETD_RUNNER_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "tool.h"

#define RUNNER_IPC_FD		3	/* channel to the broker */
#define RUNNER_CONCURRENT_MAX	256	/* what READY may ask for */
#define RUNNER_QUEUE_MAX	256	/* executions waiting for a slot */

#define TOOL_PATH_ENV	"PATH=/usr/local/bin:/usr/bin:/bin"
#define TOOL_HOME_ENV	"HOME=/nonexistent"
#define TOOL_LANG_ENV	"LANG=C.UTF-8"

struct wbuf;

/*
 * One execution, from the EXEC message to its RESULT.  vals hold the
 * values and rendered the slots' templates with them (NUL-ended, in
 * sodium_malloc memory); rq->creds[].value point into vals.  rs.result
 * and rs.stderr_buf are out_buf and err_buf, already redacted.
 */
struct execution {
	uint32_t	 id;
	struct run_request *rq;
	uint8_t		*vals[TOOL_SLOTS_MAX];
	uint8_t		*rendered[TOOL_SLOTS_MAX];
	size_t		 rendered_len[TOOL_SLOTS_MAX];
	const struct tool_action *action;
	struct run_result rs;
	uint8_t		*out_buf;
	uint8_t		*err_buf;
	struct execution *next;		/* waiting, or done */
	struct execution *all_next;	/* not yet answered */
};

/*
 * What a tool produced, before redaction.  out and err may hold values:
 * they are wiped before they are freed (wfree).
 */
struct tool_out {
	uint8_t		 outcome;		/* enum run_outcome */
	char		 message[256];		/* no value in it */
	uint8_t		 ok;
	uint32_t	 status;
	uint8_t		*out;
	size_t		 out_len;
	size_t		 out_cap;
	uint8_t		*err;
	size_t		 err_len;
	size_t		 err_cap;
	int		 err_truncated;	/* err was cut by us */
};

/* runner.c */
void	 runner_exit(int) __attribute__((noreturn));
void	 runner_fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* execution.c */
int	 execution_take_values(struct execution *);
void	 execution_run(struct execution *);
void	 execution_free(struct execution *);
void	 tool_out_set(struct tool_out *, uint8_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
const struct run_param *exec_param(const struct execution *, const char *);

/* http.c */
void	 http_init(void);
void	 http_run(const struct execution *, struct tool_out *);
int	 params_json(const struct execution *, int with_action,
	    struct wbuf *);

/* exec.c */
void	 exec_init(int launcher_fd);
void	 exec_run(const struct execution *, struct tool_out *);

/*
 * exec.c <-> launcher.c, over a socketpair of each execution's own whose
 * one end the runner passes to the launcher.  The runner sends EXEC, ENV
 * and STDIN pieces, then GO; the launcher's supervisor for it answers
 * one DONE.  Same binary on both sides, so no version.
 */
enum launch_imsg {
	LAUNCH_EXEC = 1,	/* u32 timeout_ms, u32 max_out, str command,
				   u32 nargs, nargs * str */
	LAUNCH_ENV,		/* bytes "NAME=value", no NUL */
	LAUNCH_STDIN,		/* bytes: the next piece of stdin */
	LAUNCH_GO,
	LAUNCH_DONE		/* u8 how, u32 wait status, u32 errno,
				   u8 err_truncated, bytes out, bytes err */
};

enum launch_how {
	DONE_EXITED = 1,	/* wait status says how */
	DONE_TIMEOUT,
	DONE_TOO_LARGE,
	DONE_NOEXEC,		/* execve failed: errno */
	DONE_FAILED		/* pipes, fork: errno */
};

#define LAUNCH_STDIN_CHUNK	(64 * 1024)
#define LAUNCH_STDIN_MAX	(1024 * 1024)
#define LAUNCH_ENV_MAX		(TOOL_SLOTS_MAX + 3)
#define LAUNCH_SLACK_MS		10000	/* past the timeout: stuck */

/* launcher.c */
pid_t	 launcher_start(int *fd);

/* sandbox.c */
void	 sandbox_start(void);
void	 sandbox_runner(int debug);
void	 sandbox_launcher(pid_t runner);
int	 sandbox_tool_filter(pid_t supervisor, void **prog, size_t *len);
void	 sandbox_tool_apply(const void *prog, size_t len);
int	 sandbox_landlock_abi(void);
int	 sandbox_tool_domain(void);
int	 sandbox_tool_enter(int);

/* encode.c: each returns the length written; out NULL: only measure. */
#define PCT_LOWER	0x1	/* %2f rather than %2F */
#define PCT_PLUS	0x2	/* space as '+' (forms) */
size_t	 pct_encode(const uint8_t *, size_t, char *out, const char *keep,
	    int flags);
#define JE_SLASH	0x1	/* '/' as \/ */
#define JE_ASCII	0x2	/* non-ASCII as \uXXXX (surrogate pairs) */
#define JE_LOWER	0x4	/* \u00e9 rather than \u00E9 */
#define JE_DEL		0x8	/* 0x7f as \u007F */
#define JE_COMBOS	0x10	/* how many combinations of the above */
size_t	 json_escape(const uint8_t *, size_t, char *out, int flags);
size_t	 hex_encode(const uint8_t *, size_t, char *out, int upper);
size_t	 b64_encode(const uint8_t *, size_t, char *out, int variant);
void	*wmalloc(size_t);
void	 wfree(void *, size_t);

struct wbuf {
	char		*p;		/* NUL-ended */
	size_t		 len;
	size_t		 cap;
	int		 err;		/* an allocation failed */
};
void	 wb_add(struct wbuf *, const void *, size_t);
void	 wb_str(struct wbuf *, const char *);
void	 wb_pct(struct wbuf *, const uint8_t *, size_t);
void	 wb_free(struct wbuf *);

/* redact.c */
struct redactor;
struct redactor *redact_new(void);
void	 redact_free(struct redactor *);
int	 redact_add(struct redactor *, const char *label, const uint8_t *,
	    size_t, const char *tmpl);
size_t	 redact_needles(const struct redactor *);
int	 redact_apply(struct redactor *, const uint8_t *, size_t,
	    uint8_t **out, size_t *outlen, uint32_t *count);
size_t	 redact_tail(struct redactor *, const uint8_t *, size_t);
int	 redact_holds(struct redactor *, const uint8_t *, size_t, int cut);

#endif
