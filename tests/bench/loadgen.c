/*
 * Load generator for the benchmarks: HTTP/1.1 keep-alive (or a new
 * connection per request, to count TLS handshakes) over a unix socket or
 * TLS 1.3, every latency recorded, one key=value line on stdout.
 * A measuring tool only: it never verifies the server's certificate.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "loadgen.h"
#include "log.h"

static void	usage(void) __attribute__((noreturn));
static void	conn_open(struct conn *);
static void	conn_step(struct conn *);
static void	conn_send(struct conn *);
static void	idle_fill(struct lg *);
static void	maybe_start(struct lg *);

static void
conn_event(evutil_socket_t fd, short what, void *arg)
{
	conn_step(arg);
}

static void
conn_wait(struct conn *c, short what)
{
	if (c->evset)
		event_del(&c->ev);
	event_assign(&c->ev, c->lg->base, c->fd, what, conn_event, c);
	c->evset = 1;
	if (event_add(&c->ev, NULL) == -1)
		fatalx("%s: event_add", __func__);
}

static void
conn_close(struct conn *c)
{
	if (c->evset)
		event_del(&c->ev);
	c->evset = 0;
	if (c->ssl != NULL) {
		if (c->state != CS_HANDSHAKE && c->state != CS_CONNECT)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->state = CS_CLOSED;
	c->inlen = 0;
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_open(arg);
}

/* Open again shortly: a full listen queue or a refused connection. */
static void
conn_retry(struct conn *c)
{
	struct timeval tv = { 0, 2000 };

	conn_close(c);
	if (event_base_once(c->lg->base, -1, EV_TIMEOUT, retry_cb, c, &tv) == -1)
		fatalx("%s: event_base_once", __func__);
}

static void
conn_fail(struct conn *c, const char *why)
{
	struct lg *lg = c->lg;

	log_debug("%s: connection %d: %s", __func__, c->idx, why);
	if (c->idle) {
		if (c->state == CS_IDLE)
			lg->idle_open--;
		else
			lg->idle_inflight--;
		lg->idle_failed++;
		/* A refusal while opening: the server is at its limit. */
		if (lg->phase == PH_SETUP) {
			lg->idle_failed += lg->nidle - lg->idle_next;
			lg->idle_next = lg->nidle;
		}
		lg->idle_progress = now_ns();
		conn_close(c);
		idle_fill(lg);
		maybe_start(lg);
		return;
	}
	lg->nerr++;
	if (lg->nerr >= 1000 && lg->lat.n == 0)
		fatalx("%s: 1000 errors and no answer; last: %s", __func__, why);
	if (lg->phase == PH_DONE)
		conn_close(c);
	else
		conn_retry(c);
}

static void
conn_open(struct conn *c)
{
	struct lg *lg = c->lg;
	int one = 1;

	c->fd = socket(lg->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		fatal("%s: socket", __func__);
	if (lg->addr.ss_family != AF_UNIX)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (lg->per_conn && !c->idle)
		c->t0 = now_ns();
	c->state = CS_CONNECT;
	if (connect(c->fd, (struct sockaddr *)&lg->addr, lg->addrlen) == 0) {
		conn_step(c);
		return;
	}
	if (errno == EINPROGRESS) {
		conn_wait(c, EV_WRITE);
		return;
	}
	if (errno == EAGAIN) {		/* the listen queue is full */
		conn_retry(c);
		return;
	}
	conn_fail(c, strerror(errno));
}

/* Plain or TLS I/O: >0 bytes, 0 end of stream, -1 error, else EV_ to wait. */
#define IO_WAIT_READ	(-2)
#define IO_WAIT_WRITE	(-3)

static ssize_t
conn_io(struct conn *c, int wr, void *buf, size_t len)
{
	ssize_t r;
	int n;

	if (c->ssl == NULL) {
		r = wr ? send(c->fd, buf, len, MSG_NOSIGNAL) :
		    recv(c->fd, buf, len, 0);
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			return wr ? IO_WAIT_WRITE : IO_WAIT_READ;
		return r;
	}
	n = wr ? SSL_write(c->ssl, buf, (int)len) :
	    SSL_read(c->ssl, buf, (int)len);
	if (n > 0)
		return n;
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_READ:
		return IO_WAIT_READ;
	case SSL_ERROR_WANT_WRITE:
		return IO_WAIT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		ERR_clear_error();
		return -1;
	}
}

static void
conn_ready(struct conn *c)
{
	struct lg *lg = c->lg;

	if (c->idle || lg->per_conn || lg->phase == PH_RUN) {
		conn_send(c);
		return;
	}
	c->state = CS_PARKED;
	if (c->evset)
		event_del(&c->ev);
	c->evset = 0;
	lg->nready++;
	maybe_start(lg);
}

static void
conn_handshake(struct conn *c)
{
	int r;

	if ((r = SSL_connect(c->ssl)) == 1) {
		c->lg->nhandshakes++;
		if (SSL_session_reused(c->ssl))
			c->lg->nresumed++;
		conn_ready(c);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		conn_wait(c, EV_READ);
		break;
	case SSL_ERROR_WANT_WRITE:
		conn_wait(c, EV_WRITE);
		break;
	default:
		ERR_clear_error();
		conn_fail(c, "TLS handshake failed");
	}
}

static void
conn_connected(struct conn *c)
{
	struct lg *lg = c->lg;
	socklen_t sl = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1 || err) {
		if (err == EAGAIN)
			conn_retry(c);
		else
			conn_fail(c, strerror(err));
		return;
	}
	if (lg->ctx == NULL) {
		conn_ready(c);
		return;
	}
	if ((c->ssl = SSL_new(lg->ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1)
		fatalx("%s: SSL_new", __func__);
	if (c->sess != NULL && SSL_set_session(c->ssl, c->sess) != 1)
		fatalx("%s: SSL_set_session", __func__);
	c->state = CS_HANDSHAKE;
	conn_handshake(c);
}

static void
conn_send(struct conn *c)
{
	ssize_t r;

	if (c->state != CS_WRITE) {
		if (c->lg->nkeys > 0 && !c->idle)
			build_request(c->lg, c);
		c->state = CS_WRITE;
		c->reqoff = 0;
		if (!c->lg->per_conn || c->idle)
			c->t0 = now_ns();
	}
	while (c->reqoff < c->reqlen) {
		r = conn_io(c, 1, c->req + c->reqoff, c->reqlen - c->reqoff);
		if (r == IO_WAIT_READ || r == IO_WAIT_WRITE) {
			conn_wait(c, r == IO_WAIT_READ ? EV_READ : EV_WRITE);
			return;
		}
		if (r <= 0) {
			conn_fail(c, "write failed");
			return;
		}
		c->reqoff += (size_t)r;
	}
	c->state = CS_READ;
	c->inlen = 0;
	conn_wait(c, EV_READ);
}

static void
conn_response(struct conn *c, int status, int closing)
{
	struct lg *lg = c->lg;
	uint64_t t = now_ns();

	if (status < 200 || status > 299) {
		log_debug("%s: status %d", __func__, status);
		conn_fail(c, "non-2xx status");
		return;
	}
	if (c->idle) {
		c->state = CS_IDLE;
		lg->idle_inflight--;
		lg->idle_open++;
		lg->idle_progress = now_ns();
		conn_wait(c, EV_READ);
		idle_fill(lg);
		maybe_start(lg);
		return;
	}
	if (lg->phase == PH_RUN && c->t0 >= lg->t_measure)
		lat_add(&lg->lat, t - c->t0);
	if (lg->per_conn && lg->resume && c->ssl != NULL) {
		if (c->sess != NULL)
			SSL_SESSION_free(c->sess);
		c->sess = SSL_get1_session(c->ssl);
	}
	if (lg->phase != PH_RUN) {
		conn_close(c);
	} else if (lg->per_conn || closing) {
		conn_close(c);
		conn_open(c);
	} else
		conn_send(c);
}

static void
conn_read(struct conn *c)
{
	int status = 0, closing = 0, r;
	ssize_t n;

	for (;;) {
		if (c->incap - c->inlen < 16384) {
			if (c->incap >= IN_MAX) {
				conn_fail(c, "response too large");
				return;
			}
			c->incap = c->incap ? c->incap * 2 : 32768;
			if ((c->in = realloc(c->in, c->incap)) == NULL)
				fatal("%s: realloc", __func__);
		}
		n = conn_io(c, 0, c->in + c->inlen, c->incap - c->inlen);
		if (n == IO_WAIT_READ || n == IO_WAIT_WRITE) {
			conn_wait(c, n == IO_WAIT_READ ? EV_READ : EV_WRITE);
			return;
		}
		if (n <= 0) {
			conn_fail(c, n == 0 ? "closed by server" : "read failed");
			return;
		}
		c->inlen += (size_t)n;
		if ((r = parse_response(c, &status, &closing)) == -1) {
			conn_fail(c, "unparsable response");
			return;
		}
		if (r == 1) {
			conn_response(c, status, closing);
			return;
		}
	}
}

/* An idle connection became readable: the server closed it. */
static void
conn_idle_event(struct conn *c)
{
	char b[512];
	ssize_t n;

	n = conn_io(c, 0, b, sizeof(b));
	if (n == IO_WAIT_READ || n == IO_WAIT_WRITE) {
		conn_wait(c, n == IO_WAIT_READ ? EV_READ : EV_WRITE);
		return;
	}
	conn_fail(c, "idle connection closed");
}

static void
conn_step(struct conn *c)
{
	switch (c->state) {
	case CS_CONNECT:
		conn_connected(c);
		break;
	case CS_HANDSHAKE:
		conn_handshake(c);
		break;
	case CS_WRITE:
		conn_send(c);
		break;
	case CS_READ:
		conn_read(c);
		break;
	case CS_IDLE:
		conn_idle_event(c);
		break;
	default:
		fatalx("%s: event in state %d", __func__, c->state);
	}
}

static void
idle_fill(struct lg *lg)
{
	while (lg->idle_next < lg->nidle && lg->idle_inflight < IDLE_INFLIGHT) {
		lg->idle_inflight++;
		conn_open(&lg->conns[lg->nconns + lg->idle_next++]);
	}
}

/* The CPU time of the -P processes together; -1 when one is gone. */
static long long
cpu_total(struct lg *lg)
{
	long long sum = 0, us;
	int i;

	for (i = 0; i < lg->ncpu_pid; i++) {
		if ((us = read_cpu_us(lg->cpu_pid[i])) == -1)
			return -1;
		sum += us;
	}
	return sum;
}

static void
mark_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;

	lg->cpu_start = cpu_total(lg);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;

	if (lg->phase != PH_RUN)
		fatalx("%s: setup did not finish in %d s (%d of %d idle "
		    "connections open)", __func__, SETUP_TIMEOUT_S,
		    lg->idle_open, lg->nidle);
	lg->phase = PH_DONE;
	lg->t_end = now_ns();
	lg->cpu_end = cpu_total(lg);
	event_base_loopbreak(lg->base);
}

/*
 * While setting up: a server at its connection limit may leave further
 * connections unanswered.  Count those as refused rather than wait.
 */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;
	struct conn *c;
	int i;

	if (lg->phase != PH_SETUP || lg->idle_inflight == 0 ||
	    now_ns() - lg->idle_progress < IDLE_STALL_S * 1000000000ULL)
		return;
	log_debug("%s: idle connections stalled at %d open", __func__,
	    lg->idle_open);
	lg->idle_failed += lg->nidle - lg->idle_next;
	lg->idle_next = lg->nidle;
	for (i = lg->nconns; i < lg->nconns + lg->nidle; i++) {
		c = &lg->conns[i];
		if (c->state != CS_IDLE && c->state != CS_CLOSED) {
			conn_close(c);
			lg->idle_inflight--;
			lg->idle_failed++;
		}
	}
	maybe_start(lg);
}

static void
maybe_start(struct lg *lg)
{
	struct timeval tv;
	double secs = lg->warmup + lg->duration;
	int i;

	if (lg->phase != PH_SETUP || lg->idle_next < lg->nidle ||
	    lg->idle_inflight > 0 || (!lg->per_conn && lg->nready < lg->nconns))
		return;
	lg->phase = PH_RUN;
	evtimer_del(lg->tick);
	lg->t_measure = now_ns() + (uint64_t)(lg->warmup * 1e9);
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	evtimer_del(lg->timer);
	evtimer_add(lg->timer, &tv);
	tv.tv_sec = (time_t)lg->warmup;
	tv.tv_usec = (suseconds_t)((lg->warmup - (double)tv.tv_sec) * 1e6);
	evtimer_add(lg->mark, &tv);
	for (i = 0; i < lg->nconns; i++) {
		if (lg->per_conn)
			conn_open(&lg->conns[i]);
		else
			conn_send(&lg->conns[i]);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen -u socket | -t host:port "
	    "[-r reveal|create|list|health] [-n name [-K keys]] [-a token]\n"
	    "\t[-c conns] [-d seconds] [-w warmup] [-N] [-S] [-i idle] "
	    "[-R pid] [-P pid,...] [-T t0_ns] [-v]\n");
	exit(2);
}

static enum req_kind
parse_kind(const char *s)
{
	if (strcmp(s, "reveal") == 0)
		return REQ_REVEAL;
	if (strcmp(s, "create") == 0)
		return REQ_CREATE;
	if (strcmp(s, "list") == 0)
		return REQ_LIST;
	if (strcmp(s, "health") == 0)
		return REQ_HEALTH;
	usage();
}

static void
run(struct lg *lg)
{
	struct timeval tv = { SETUP_TIMEOUT_S, 0 }, sec = { 1, 0 };
	int i;

	if ((lg->base = event_base_new()) == NULL ||
	    (lg->timer = evtimer_new(lg->base, timer_cb, lg)) == NULL ||
	    (lg->tick = event_new(lg->base, -1, EV_PERSIST, tick_cb,
	    lg)) == NULL ||
	    (lg->mark = evtimer_new(lg->base, mark_cb, lg)) == NULL)
		fatalx("%s: libevent", __func__);
	if ((lg->conns = calloc((size_t)(lg->nconns + lg->nidle),
	    sizeof(*lg->conns))) == NULL)
		fatal("%s: calloc", __func__);
	for (i = 0; i < lg->nconns + lg->nidle; i++) {
		lg->conns[i].lg = lg;
		lg->conns[i].idx = i;
		lg->conns[i].fd = -1;
		lg->conns[i].idle = i >= lg->nconns;
		build_request(lg, &lg->conns[i]);
	}
	evtimer_add(lg->timer, &tv);
	evtimer_add(lg->tick, &sec);
	/* Measured connections first: they must get in under a limit. */
	if (!lg->per_conn)
		for (i = 0; i < lg->nconns; i++)
			conn_open(&lg->conns[i]);
	lg->idle_progress = now_ns();
	idle_fill(lg);
	maybe_start(lg);
	if (event_base_dispatch(lg->base) == -1)
		fatalx("%s: event_base_dispatch", __func__);
}

static void
cleanup(struct lg *lg)
{
	int i;

	for (i = 0; i < lg->nconns + lg->nidle; i++) {
		conn_close(&lg->conns[i]);
		if (lg->conns[i].sess != NULL)
			SSL_SESSION_free(lg->conns[i].sess);
		free(lg->conns[i].req);
		free(lg->conns[i].in);
	}
	free(lg->conns);
	lat_free(&lg->lat);
	event_free(lg->timer);
	event_free(lg->tick);
	event_free(lg->mark);
	event_base_free(lg->base);
	SSL_CTX_free(lg->ctx);
}

int
main(int argc, char *argv[])
{
	struct lg lg;
	const char *upath = NULL, *hostport = NULL;
	long long t0 = 0;
	long rss = -1, hwm = -1;
	double cpu_per_req = -1;
	pid_t rss_pid = 0;
	char *p;
	int ch, verbose = 0;

	memset(&lg, 0, sizeof(lg));
	lg.kind = REQ_REVEAL;
	lg.name = "BENCH";
	lg.nconns = 1;
	lg.duration = 5;
	lg.rnd = 2463534242U;
	while ((ch = getopt(argc, argv, "a:c:d:i:K:Nn:P:R:r:ST:t:u:vw:")) != -1) {
		switch (ch) {
		case 'a': lg.token = optarg; break;
		case 'c': lg.nconns = atoi(optarg); break;
		case 'd': lg.duration = atof(optarg); break;
		case 'i': lg.nidle = atoi(optarg); break;
		case 'K': lg.nkeys = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'N': lg.per_conn = 1; break;
		case 'n': lg.name = optarg; break;
		case 'P':	/* the servers: their CPU time per request */
			for (p = strtok(optarg, ","); p != NULL;
			    p = strtok(NULL, ",")) {
				if (lg.ncpu_pid == CPU_PIDS || atoi(p) <= 0)
					usage();
				lg.cpu_pid[lg.ncpu_pid++] = (pid_t)atoi(p);
			}
			break;
		case 'R':	/* the server: its RSS; with -T, is it alive */
			rss_pid = (pid_t)atoi(optarg);
			break;
		case 'r': lg.kind = parse_kind(optarg); break;
		case 'S': lg.resume = 1; break;
		case 'T': t0 = atoll(optarg); break;
		case 't': hostport = optarg; break;
		case 'u': upath = optarg; break;
		case 'v': verbose = 1; break;
		case 'w': lg.warmup = atof(optarg); break;
		default: usage();
		}
	}
	if ((upath == NULL) == (hostport == NULL) || lg.nconns < 1 ||
	    lg.nidle < 0 || lg.duration <= 0 || lg.warmup < 0 ||
	    (t0 && upath == NULL))
		usage();
	log_init("loadgen", 1, verbose);
	signal(SIGPIPE, SIG_IGN);	/* a closed peer is an error, not death */
	set_addr(&lg, upath, hostport);
	if (t0)
		return wait_ready(&lg, t0, rss_pid);
	raise_nofile(lg.nconns + lg.nidle);
	if (hostport != NULL)
		lg.ctx = client_ctx();
	run(&lg);
	if (rss_pid > 0)
		read_rss(rss_pid, &rss, &hwm);
	if (lg.ncpu_pid > 0 && lg.cpu_start >= 0 && lg.cpu_end >= 0 &&
	    lg.lat.n > 0)
		cpu_per_req = (double)(lg.cpu_end - lg.cpu_start) /
		    (double)lg.lat.n;
	lat_print(&lg.lat, (double)(lg.t_end - lg.t_measure) / 1e9, stdout);
	printf(" errors=%llu conns=%d handshakes=%llu resumed=%llu "
	    "idle_open=%d idle_failed=%d rss_kb=%ld hwm_kb=%ld "
	    "cpu_us_per_req=%.2f\n",
	    (unsigned long long)lg.nerr, lg.nconns,
	    (unsigned long long)lg.nhandshakes,
	    (unsigned long long)lg.nresumed, lg.idle_open, lg.idle_failed,
	    rss, hwm, cpu_per_req);
	cleanup(&lg);
	return 0;
}
