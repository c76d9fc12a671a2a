/*
 * The runner's life, as supervise.c keeps the front-end's: fork+exec of
 * secretd-runner with its channel on fd 3, already switched to the
 * runner's own user with no_new_privs, so none of its code runs with our
 * ids.  It says hello, gets its limits, then takes executions and returns
 * their results (tools.c).  A runner that breaks the protocol is killed;
 * one that dies fails the executions it held and starts again with
 * backoff.  The broker itself never opens a network connection or runs a
 * tool.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"

static int
no_fds(uint32_t type)
{
	(void)type;
	return 0;
}

/*
 * Where the runner is and who it runs as.  Its user must be neither
 * root nor the front-end's, so that a compromised front-end cannot
 * signal or trace the process that holds credential values.
 */
void
runner_init(struct broker *b)
{
	struct runner *r = &b->run;
	struct passwd *pw;
	uid_t fe_uid = (uid_t)-1;

	memset(r, 0, sizeof(*r));
	r->pid = -1;
	r->log.fd = -1;
	r->log.tag = "runner";
	exe_resolve_path(SECRETD_RUNNER_NAME, "SECRETD_RUNNER", r->path,
	    sizeof(r->path));
	if (geteuid() != 0)
		return;
	if ((pw = getpwnam(b->cfg->frontend_user)) != NULL)
		fe_uid = pw->pw_uid;
	if ((pw = getpwnam(b->cfg->runner_user)) == NULL)
		fatalx("runner_user %s: no such user", b->cfg->runner_user);
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		fatalx("runner_user %s must not be root", b->cfg->runner_user);
	if (pw->pw_uid == fe_uid)
		fatalx("runner_user and frontend_user must be different users");
	r->uid = pw->pw_uid;
	r->gid = pw->pw_gid;
	r->drop = 1;
}

void
runner_start(struct broker *b)
{
	struct runner *r = &b->run;
	char cause[160];
	pid_t pid;

	restart_begin(&r->restart);
	r->started = now_mono();
	if ((pid = child_launch(r->path, SECRETD_RUNNER_NAME, b->verbose,
	    &r->log, NULL, 0, r, &r->chan, cause, sizeof(cause))) == -1) {
		restart_schedule(b, &r->restart, r->started, "runner", -1,
		    cause);
		return;
	}
	r->chan_open = 1;
	r->pid = pid;
	r->state = RUN_NEW;
	log_debug("%s: runner %s started, pid %d", __func__, r->path,
	    (int)pid);
}

static void
disconnect(struct broker *b, const char *why)
{
	struct runner *r = &b->run;

	if (r->chan_open)
		ipc_chan_close(&r->chan);
	r->chan_open = 0;
	r->state = RUN_DOWN;
	tool_exec_abort_all(b, RT_UPSTREAM, why);
}

/* A runner that broke the protocol is not trusted to say more. */
void
runner_kill(struct broker *b, const char *why)
{
	struct runner *r = &b->run;
	int sent = restart_signal(&r->restart, r->pid, SIGKILL, why);

	if (b->stopping)
		log_debug("%s: runner pid %d: %s", __func__, (int)r->pid, why);
	else
		log_warnx("%s: runner pid %d: %s%s", __func__, (int)r->pid,
		    why, sent ? "; killing it" : "");
	disconnect(b, "the tool runner stopped during the execution");
}

/* 1 when pid was the runner's. */
int
runner_reaped(struct broker *b, pid_t pid, int status)
{
	struct runner *r = &b->run;
	char cause[160];

	if (pid != r->pid)
		return 0;
	child_ended("runner", pid, status, &r->restart, b->stopping);
	r->pid = -1;
	disconnect(b, "the tool runner stopped during the execution");
	restart_cause(&r->restart, status, cause, sizeof(cause));
	if (!b->stopping) {
		metrics.runner_restarts++;
		restart_schedule(b, &r->restart, r->started, "runner", status,
		    cause);
	}
	return 1;
}

int
runner_poll_timeout(struct broker *b)
{
	struct runner *r = &b->run;
	struct timespec now = now_mono();
	long long ms, t;

	ms = tool_exec_timeout(b);
	if (r->restart.pending && !b->stopping) {
		t = ms_between(now, r->restart.at);
		if (t < 0)
			t = 0;
		if (ms == -1 || t < ms)
			ms = t;
	}
	if (r->state == RUN_NEW && !b->stopping) {
		t = HELLO_TIMEOUT_S * 1000 - ms_between(r->started, now);
		if (t < 0)
			t = 0;
		if (ms == -1 || t < ms)
			ms = t;
	}
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

void
runner_tick(struct broker *b)
{
	struct runner *r = &b->run;
	struct timespec now = now_mono();

	if (b->stopping)
		return;
	if (r->state == RUN_NEW &&
	    ms_between(r->started, now) >= HELLO_TIMEOUT_S * 1000)
		runner_kill(b, "no hello in time");
	if (r->pid == -1 && restart_due(&r->restart, now)) {
		r->restart.pending = 0;
		runner_start(b);
	}
}

void
runner_stop(struct broker *b)
{
	struct runner *r = &b->run;

	r->restart.pending = 0;
	/* It holds nothing worth a grace period: executions fail now. */
	restart_signal(&r->restart, r->pid, SIGKILL, "stopping");
}

/* The runner's hello gets its limits; nothing else is read before. */
static int
hello(struct broker *b, struct ipc_reader *rd)
{
	struct ipc_msg m;
	uint32_t version;
	const char *dbg = getenv("SECRETD_SECCOMP_DEBUG");

	if (ipc_get_u32(rd, &version) == -1 || ipc_end(rd) == -1)
		return -1;
	if (version != PROTO_VERSION) {
		log_warnx("%s: runner protocol version %u, want %u", __func__,
		    version, PROTO_VERSION);
		return -1;
	}
	ipc_msg_init(&m, IMSG_RUN_READY, rd->hdr.id);
	ipc_put_u32(&m, (uint32_t)b->cfg->tool_max_concurrent);
	ipc_put_u8(&m, dbg != NULL && strcmp(dbg, "1") == 0);
	if (runner_send(b, &m) == -1)
		return -1;
	b->run.state = RUN_READY;
	b->run.restart.ready = 1;
	log_debug("%s: runner ready", __func__);
	return 0;
}

/* -1 with why filled: the runner is to be killed for it. */
static int
dispatch(struct broker *b, struct ipc_reader *rd, char *why, size_t whylen)
{
	struct run_result res;
	uint32_t want;
	int rv;

	want = b->run.state == RUN_NEW ? IMSG_RUN_HELLO : IMSG_RUN_RESULT;
	if (rd->hdr.type != want) {
		snprintf(why, whylen, "protocol violation: message type %u "
		    "where %u was due", rd->hdr.type, want);
		return -1;
	}
	if (want == IMSG_RUN_HELLO)
		rv = hello(b, rd);
	else if ((rv = run_result_get(rd, &res)) == 0)
		tool_exec_done(b, rd->hdr.id, &res);
	if (rv == -1)
		snprintf(why, whylen, "protocol violation: malformed message "
		    "type %u", rd->hdr.type);
	return rv;
}

void
runner_read(struct broker *b)
{
	struct runner *r = &b->run;
	struct ipc_reader *rd;
	char why[96];
	int rv;

	while (r->chan_open) {
		rv = ipc_chan_recv(&r->chan, no_fds, &rd);
		if (rv == IPC_AGAIN)
			break;
		if (rv == IPC_EOF) {
			child_gone(r->pid, HANGUP_EXIT_MS);
			runner_kill(b, "closed the channel");
			break;
		}
		if (rv == IPC_ERROR) {
			runner_kill(b, errno == EPROTO ? "malformed message" :
			    "channel error");
			break;
		}
		if (dispatch(b, rd, why, sizeof(why)) == -1) {
			runner_kill(b, why);
			break;
		}
	}
	runner_flush(b);
	release_held(b);
	broker_flush(b);
}

void
runner_flush(struct broker *b)
{
	if (b->run.chan_open && ipc_chan_flush(&b->run.chan) == -1)
		runner_kill(b, "channel write failed");
}

/* -1 when the runner cannot take it; m is freed either way. */
int
runner_send(struct broker *b, struct ipc_msg *m)
{
	if (!b->run.chan_open || ipc_chan_send(&b->run.chan, m) == -1) {
		ipc_msg_free(m);
		return -1;
	}
	return 0;
}

int
runner_ready(struct broker *b)
{
	return b->run.chan_open && b->run.state == RUN_READY;
}
