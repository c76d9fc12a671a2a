/*
 * exec tools, the runner's side: builds the environment (the slot
 * variables and PATH, HOME, LANG only) and the JSON for stdin, hands them
 * to the launcher over a socket of this execution's own, and waits for
 * what the command printed.  The runner itself never forks or execs.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "runner.h"

static int launcher = -1;

void
exec_init(int fd)
{
	launcher = fd;
}

/* One message carrying one descriptor; the launcher gone is fatal. */
static void
pass_socket(int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *cmsg;
	struct msghdr mh;
	struct iovec iov;
	char b = 'J';

	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = &b;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	cmsg = CMSG_FIRSTHDR(&mh);
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	while (sendmsg(launcher, &mh, MSG_NOSIGNAL) == -1)
		if (errno != EINTR)
			runner_fatalx("%s: the launcher is gone: %s",
			    __func__, strerror(errno));
}

/* Sends and frees (wiping) one message. */
static int
send_msg(int s, struct ipc_msg *m)
{
	ssize_t n;
	int rc = -1;

	if (ipc_msg_finish(m) == 0) {
		while ((n = send(s, m->buf, m->len, MSG_NOSIGNAL)) == -1 &&
		    errno == EINTR)
			;
		rc = n == (ssize_t)m->len ? 0 : -1;
	}
	ipc_msg_free(m);
	return rc;
}

static int
send_env(int s, const struct execution *ex, struct tool_out *o)
{
	static const char *fixed[] = { TOOL_PATH_ENV, TOOL_HOME_ENV,
	    TOOL_LANG_ENV };
	const struct tool_slot *sl;
	struct ipc_msg m;
	struct wbuf e;
	uint32_t i;
	int rc;

	for (i = 0; i < ex->rq->ncreds; i++) {
		sl = tool_slot(&ex->rq->tool, ex->rq->creds[i].slot);
		if (strlen((const char *)ex->rendered[i]) !=
		    ex->rendered_len[i]) {
			tool_out_set(o, RUN_REFUSED, "slot %s: the value holds "
			    "a NUL byte, which an environment variable cannot "
			    "carry", sl->name);
			return -1;
		}
		memset(&e, 0, sizeof(e));
		wb_str(&e, sl->target);
		wb_str(&e, "=");
		wb_add(&e, ex->rendered[i], ex->rendered_len[i]);
		ipc_msg_init(&m, LAUNCH_ENV, 0);
		ipc_put_bytes(&m, e.p, e.len);
		rc = e.err ? -1 : send_msg(s, &m);
		if (e.err)
			ipc_msg_free(&m);
		wb_free(&e);
		if (rc == -1)
			return -1;
	}
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		ipc_msg_init(&m, LAUNCH_ENV, 0);
		ipc_put_bytes(&m, fixed[i], strlen(fixed[i]));
		if (send_msg(s, &m) == -1)
			return -1;
	}
	return 0;
}

static int
send_job(int s, const struct execution *ex, struct tool_out *o)
{
	const struct tool *t = &ex->rq->tool;
	struct ipc_msg m;
	struct wbuf in;
	size_t off, n;
	uint32_t i;

	ipc_msg_init(&m, LAUNCH_EXEC, 0);
	ipc_put_u32(&m, t->timeout_ms);
	ipc_put_u32(&m, t->max_result);
	ipc_put_str(&m, t->command);
	ipc_put_u32(&m, t->nargs);
	for (i = 0; i < t->nargs; i++)
		ipc_put_str(&m, t->args[i]);
	if (send_msg(s, &m) == -1 || send_env(s, ex, o) == -1)
		return -1;
	if (params_json(ex, 1, &in) == -1) {
		tool_out_set(o, RUN_REFUSED, "a string parameter is not "
		    "valid UTF-8");
		return -1;
	}
	if (in.len > LAUNCH_STDIN_MAX) {
		wb_free(&in);
		tool_out_set(o, RUN_REFUSED, "the parameters are over %d "
		    "bytes as JSON", LAUNCH_STDIN_MAX);
		return -1;
	}
	for (off = 0; off < in.len; off += n) {
		n = in.len - off > LAUNCH_STDIN_CHUNK ? LAUNCH_STDIN_CHUNK :
		    in.len - off;
		ipc_msg_init(&m, LAUNCH_STDIN, 0);
		ipc_put_bytes(&m, in.p + off, n);
		if (send_msg(s, &m) == -1) {
			wb_free(&in);
			return -1;
		}
	}
	wb_free(&in);
	ipc_msg_init(&m, LAUNCH_GO, 0);
	return send_msg(s, &m);
}

static int
copy_out(uint8_t **dst, size_t *len, size_t *cap, const void *src,
    size_t n)
{
	*cap = n + 1;
	if ((*dst = wmalloc(*cap)) == NULL)
		return -1;
	memcpy(*dst, src, n);
	*len = n;
	return 0;
}

static void
outcome_of(const struct execution *ex, struct ipc_reader *r,
    struct tool_out *o)
{
	const struct tool *t = &ex->rq->tool;
	uint32_t status, errnum;
	uint8_t how, trunc;
	const void *out, *err;
	size_t out_len, err_len;

	if (ipc_get_u8(r, &how) == -1 || ipc_get_u32(r, &status) == -1 ||
	    ipc_get_u32(r, &errnum) == -1 || ipc_get_u8(r, &trunc) == -1 ||
	    ipc_get_bytes(r, &out, &out_len) == -1 ||
	    ipc_get_bytes(r, &err, &err_len) == -1 || ipc_end(r) == -1 ||
	    out_len > t->max_result || err_len > TOOL_STDERR_MAX ||
	    trunc > 1) {
		tool_out_set(o, RUN_INTERNAL, "a malformed answer from the "
		    "launcher");
		return;
	}
	if (copy_out(&o->err, &o->err_len, &o->err_cap, err, err_len) == -1 ||
	    copy_out(&o->out, &o->out_len, &o->out_cap, out, out_len) == -1) {
		tool_out_set(o, RUN_INTERNAL, "out of memory");
		return;
	}
	o->err_truncated = trunc;
	switch (how) {
	case DONE_EXITED:
		o->outcome = RUN_OK;
		if (WIFEXITED(status))
			o->status = (uint32_t)WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			o->status = 128 + (uint32_t)WTERMSIG(status);
		o->ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		break;
	case DONE_TIMEOUT:
		tool_out_set(o, RUN_TIMEOUT, "the command did not finish "
		    "within %u ms", t->timeout_ms);
		break;
	case DONE_TOO_LARGE:
		tool_out_set(o, RUN_TOO_LARGE, "the command printed more "
		    "than %u bytes", t->max_result);
		break;
	case DONE_NOEXEC:
		tool_out_set(o, RUN_UPSTREAM, "cannot execute %s: %s",
		    t->command, strerror((int)errnum));
		break;
	default:
		tool_out_set(o, RUN_INTERNAL, "cannot start the command: %s",
		    strerror((int)errnum));
		break;
	}
}

void
exec_run(const struct execution *ex, struct tool_out *o)
{
	struct pollfd pfd;
	struct ipc_reader r;
	uint8_t *buf = NULL;
	ssize_t n;
	int sv[2] = { -1, -1 }, rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		tool_out_set(o, RUN_INTERNAL, "socketpair: %s",
		    strerror(errno));
		return;
	}
	pass_socket(sv[1]);
	close(sv[1]);
	if (send_job(sv[0], ex, o) == -1) {
		if (o->outcome == RUN_OK)
			tool_out_set(o, RUN_INTERNAL, "cannot hand the "
			    "command to the launcher");
		goto done;
	}
	pfd.fd = sv[0];
	pfd.events = POLLIN;
	while ((rc = poll(&pfd, 1, (int)ex->rq->tool.timeout_ms +
	    LAUNCH_SLACK_MS)) == -1 && errno == EINTR)
		;
	if (rc <= 0) {
		tool_out_set(o, RUN_INTERNAL, "the launcher did not answer");
		goto done;
	}
	if ((buf = wmalloc(IPC_MAX_MSG)) == NULL) {
		tool_out_set(o, RUN_INTERNAL, "out of memory");
		goto done;
	}
	if ((n = recv(sv[0], buf, IPC_MAX_MSG, 0)) <= 0 ||
	    ipc_parse(buf, (size_t)n, &r) == -1 ||
	    r.hdr.type != LAUNCH_DONE) {
		tool_out_set(o, RUN_INTERNAL, "the launcher could not run "
		    "the command");
		goto done;
	}
	outcome_of(ex, &r, o);
done:
	wfree(buf, IPC_MAX_MSG);
	close(sv[0]);
}
