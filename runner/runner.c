/*
 * secretd-runner: start-up, the broker channel and the executions.  The
 * main thread alone reads and writes the channel; each execution runs on
 * a thread of its own, at most max_concurrent at once (the rest wait in
 * order), and hands its redacted result back through a list and a
 * wake-up pipe.  A malformed message from the broker ends the process; so
 * does the channel closing.
 *
 * Threads rather than libcurl's multi interface: an execution is one
 * blocking sequence (name lookup, connect, TLS, request and response, or
 * a wait on the launcher for an exec tool) that a thread states plainly,
 * with the timeout libcurl or the launcher enforces; a slow upstream
 * holds its own thread only; easy handles with CURLOPT_NOSIGNAL, OpenSSL
 * 3 and jansson are safe on threads; and one execution's buffers are its
 * thread's alone until the main thread sends and wipes them.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "log.h"
#include "runner.h"

#define READY_WAIT_MS	30000	/* for the broker's READY */
#define THREAD_STACK	(1024 * 1024)

static struct ipc_chan	 chan;
static int		 wake[2] = { -1, -1 };
static uint32_t		 max_concurrent;
static uint32_t		 running;
static struct execution	*waiting, **waiting_tail = &waiting;
static uint32_t		 nwaiting;

/* Finished executions, pushed by workers, taken by the main thread. */
static pthread_mutex_t	 done_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct execution	*done_list;

/* Every execution not yet answered, so a duplicate id is caught. */
static struct execution	*inflight;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: secretd-runner [-v]\n"
	    "(started by secretd with its channel on fd %d)\n",
	    RUNNER_IPC_FD);
	exit(2);
}

/*
 * After the filter is loaded and threads run, exit(3) would run atexit
 * handlers under other threads' feet; the process just ends.
 */
void
runner_exit(int code)
{
	_exit(code);
}

void
runner_fatalx(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s", msg);
	runner_exit(1);
}

static void *
worker(void *arg)
{
	struct execution *ex = arg;
	char c = 0;

	execution_run(ex);
	pthread_mutex_lock(&done_mtx);
	ex->next = done_list;
	done_list = ex;
	pthread_mutex_unlock(&done_mtx);
	if (write(wake[1], &c, 1) == -1 && errno != EAGAIN)
		runner_fatalx("%s: wake-up pipe: %s", __func__,
		    strerror(errno));
	return NULL;
}

static void
send_result(struct execution *ex)
{
	struct ipc_msg m;

	ipc_msg_init(&m, IMSG_RUN_RESULT, ex->id);
	run_result_put(&m, &ex->rs);
	if (ipc_chan_send(&chan, &m) == -1)
		runner_fatalx("%s: cannot queue the result of %u", __func__,
		    ex->id);
}

static void
inflight_remove(struct execution *ex)
{
	struct execution **pp;

	for (pp = &inflight; *pp != NULL; pp = &(*pp)->all_next)
		if (*pp == ex) {
			*pp = ex->all_next;
			break;
		}
	ex->all_next = NULL;
}

/* An execution that cannot start gets its answer at once. */
static void
refuse(struct execution *ex, const char *why)
{
	inflight_remove(ex);
	memset(&ex->rs, 0, sizeof(ex->rs));
	ex->rs.outcome = RUN_INTERNAL;
	snprintf(ex->rs.message, sizeof(ex->rs.message), "%s", why);
	send_result(ex);
	execution_free(ex);
}

static void
start(struct execution *ex)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) != 0
	    || pthread_attr_setstacksize(&attr, THREAD_STACK) != 0)
		runner_fatalx("%s: pthread_attr", __func__);
	if ((rc = pthread_create(&t, &attr, worker, ex)) != 0) {
		log_warnx("%s: execution %u: %s", __func__, ex->id,
		    strerror(rc));
		refuse(ex, "the runner cannot start another execution");
	} else
		running++;
	pthread_attr_destroy(&attr);
}

static void
start_waiting(void)
{
	struct execution *ex;

	while (running < max_concurrent && waiting != NULL) {
		ex = waiting;
		if ((waiting = ex->next) == NULL)
			waiting_tail = &waiting;
		nwaiting--;
		ex->next = NULL;
		start(ex);
	}
}

static int
id_in_flight(uint32_t id)
{
	struct execution *ex;

	for (ex = inflight; ex != NULL; ex = ex->all_next)
		if (ex->id == id)
			return 1;
	return 0;
}

static void
handle_exec(struct ipc_reader *r)
{
	struct execution *ex;

	if ((ex = calloc(1, sizeof(*ex))) == NULL ||
	    (ex->rq = malloc(sizeof(*ex->rq))) == NULL)
		runner_fatalx("%s: out of memory", __func__);
	ex->id = r->hdr.id;
	if (run_request_get(r, ex->rq) == -1)
		runner_fatalx("%s: malformed execution %u from the broker",
		    __func__, ex->id);
	if (id_in_flight(ex->id))
		runner_fatalx("%s: execution id %u is already in flight",
		    __func__, ex->id);
	ex->action = tool_action(&ex->rq->tool, ex->rq->action);
	ex->all_next = inflight;
	inflight = ex;
	if (execution_take_values(ex) == -1) {
		refuse(ex, "out of guarded memory");
		return;
	}
	if (running < max_concurrent) {
		start(ex);
		return;
	}
	if (nwaiting >= RUNNER_QUEUE_MAX) {
		refuse(ex, "too many executions waiting");
		return;
	}
	*waiting_tail = ex;
	waiting_tail = &ex->next;
	nwaiting++;
}

static void
reap_done(void)
{
	struct execution *list, *ex;
	char buf[64];

	while (read(wake[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&done_mtx);
	list = done_list;
	done_list = NULL;
	pthread_mutex_unlock(&done_mtx);
	while ((ex = list) != NULL) {
		list = ex->next;
		inflight_remove(ex);
		send_result(ex);
		execution_free(ex);
		running--;
	}
	start_waiting();
}

static void
read_channel(void)
{
	struct ipc_reader *r;
	int rc;

	for (;;) {
		rc = ipc_chan_recv(&chan, NULL, &r);
		if (rc == IPC_AGAIN)
			return;
		if (rc == IPC_EOF) {
			log_info("the broker closed the channel; exiting");
			runner_exit(0);
		}
		if (rc != IPC_READY)
			runner_fatalx("%s: bad message from the broker",
			    __func__);
		if (r->hdr.type != IMSG_RUN_EXEC)
			runner_fatalx("%s: unexpected message type %u from "
			    "the broker", __func__, r->hdr.type);
		handle_exec(r);
	}
}

static void
loop(void)
{
	struct pollfd pfd[2];

	for (;;) {
		pfd[0].fd = chan.fd;
		pfd[0].events = POLLIN | (ipc_chan_pending(&chan) ?
		    POLLOUT : 0);
		pfd[1].fd = wake[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			runner_fatalx("%s: poll: %s", __func__,
			    strerror(errno));
		}
		if (pfd[1].revents & POLLIN)
			reap_done();
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			read_channel();
		if (ipc_chan_pending(&chan) && ipc_chan_flush(&chan) == -1) {
			log_info("the broker channel is gone; exiting");
			runner_exit(0);
		}
	}
}

/* HELLO, then wait for READY: the concurrency bound and debug flag. */
static int
handshake(void)
{
	struct ipc_reader *r;
	struct ipc_msg m;
	struct pollfd pfd;
	uint8_t debug;
	int rc;

	ipc_msg_init(&m, IMSG_RUN_HELLO, 0);
	ipc_put_u32(&m, PROTO_VERSION);
	if (ipc_chan_send(&chan, &m) == -1)
		fatalx("%s: cannot queue HELLO", __func__);
	for (;;) {
		if (ipc_chan_pending(&chan) && ipc_chan_flush(&chan) == -1)
			fatalx("%s: the broker channel is gone", __func__);
		pfd.fd = chan.fd;
		pfd.events = POLLIN | (ipc_chan_pending(&chan) ? POLLOUT : 0);
		if ((rc = poll(&pfd, 1, READY_WAIT_MS)) == 0)
			fatalx("%s: no READY from the broker", __func__);
		if (rc == -1 && errno != EINTR)
			fatal("%s: poll", __func__);
		if (rc <= 0 || !(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		rc = ipc_chan_recv(&chan, NULL, &r);
		if (rc == IPC_AGAIN)
			continue;
		if (rc == IPC_EOF) {
			log_info("the broker closed the channel; exiting");
			runner_exit(0);
		}
		if (rc != IPC_READY || r->hdr.type != IMSG_RUN_READY ||
		    ipc_get_u32(r, &max_concurrent) == -1 ||
		    ipc_get_u8(r, &debug) == -1 || ipc_end(r) == -1 ||
		    max_concurrent == 0 ||
		    max_concurrent > RUNNER_CONCURRENT_MAX || debug > 1)
			fatalx("%s: malformed READY from the broker",
			    __func__);
		return debug;
	}
}

static void *
nothing(void *arg)
{
	return arg;
}

/*
 * glibc installs its own signal handlers when the first thread starts;
 * one thread started and joined now keeps rt_sigaction off the filter.
 */
static void
threads_warm(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, nothing, NULL) != 0 ||
	    pthread_join(t, NULL) != 0)
		fatalx("%s: cannot start a thread", __func__);
}

/* Every allocation libcurl, OpenSSL and jansson make is wiped on free. */
static void *
json_alloc(size_t n)
{
	return malloc(n);
}

static void
json_wfree(void *p)
{
	if (p != NULL)
		wfree(p, malloc_usable_size(p));
}

int
main(int argc, char *argv[])
{
	int ch, verbose = 0, debug, launcher_fd;

	while ((ch = getopt(argc, argv, "v")) != -1) {
		switch (ch) {
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("secretd-runner", LOG_TO_PIPE, verbose);
	if (geteuid() == 0 || getuid() == 0)
		fatalx("must not run as root");
	sandbox_start();
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	json_set_alloc_funcs(json_alloc, json_wfree);
	json_object_seed(0);	/* reads /dev/urandom: before any thread */
	http_init();
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal");

	launcher_start(&launcher_fd);
	exec_init(launcher_fd);
	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("pipe2");
	if (ipc_chan_init(&chan, RUNNER_IPC_FD) == -1)
		fatal("ipc_chan_init");
	debug = handshake();
	threads_warm();
	sandbox_runner(debug);
	log_info("running, at most %u executions at once", max_concurrent);
	loop();
}
