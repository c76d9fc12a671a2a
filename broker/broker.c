/*
 * The broker's side of the channel: the dispatch table with the state
 * each message is permitted in, and the loop turn that runs again the
 * requests whose store reads were answered, drains the channel, then
 * commits the turn's writes.  Anything malformed is fatal to the
 * front-end, never to the broker.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "broker.h"
#include "log.h"

#define PERMIT_NEW	0x1
#define PERMIT_READY	0x2

static const struct {
	uint32_t	 type;
	int		 permit;
	int		 (*fn)(struct req *);
} handlers[] = {
	{ IMSG_HELLO,		PERMIT_NEW,	h_hello },
	{ IMSG_CONN_UNIX,	PERMIT_READY,	h_conn_unix },
	{ IMSG_CONN_CLOSE,	PERMIT_READY,	h_conn_close },
	{ IMSG_SECRET_LIST,	PERMIT_READY,	h_list },
	{ IMSG_SECRET_PUT,	PERMIT_READY,	h_put },
	{ IMSG_SECRET_GET,	PERMIT_READY,	h_read },
	{ IMSG_SECRET_REVEAL,	PERMIT_READY,	h_read },
	{ IMSG_SECRET_DELETE,	PERMIT_READY,	h_delete },
	{ IMSG_SECRET_VERSIONS,	PERMIT_READY,	h_versions },
	{ IMSG_SECRET_ROLLBACK,	PERMIT_READY,	h_rollback },
	{ IMSG_TOKEN_CREATE,	PERMIT_READY,	h_token_create },
	{ IMSG_TOKEN_LIST,	PERMIT_READY,	h_token_list },
	{ IMSG_TOKEN_REVOKE,	PERMIT_READY,	h_token_revoke },
	{ IMSG_PING,		PERMIT_READY,	h_ping },
	{ IMSG_TOOL_LIST,	PERMIT_READY,	h_tool_list },
	{ IMSG_TOOL_GET,	PERMIT_READY,	h_tool_get },
	{ IMSG_TOOL_EXEC,	PERMIT_READY,	h_tool_exec },
	{ IMSG_WHOAMI,		PERMIT_READY,	h_whoami },
	{ IMSG_METRICS,		PERMIT_READY,	h_metrics },
};
#define NHANDLERS	(sizeof(handlers) / sizeof(handlers[0]))

static int
fd_allowed(uint32_t type)
{
	return type == IMSG_CONN_UNIX;
}

/* Loop turns so far: a request parked in this one waits for the next. */
static uint64_t turn;

static long long
mono_ms(void)
{
	struct timespec ts = now_mono();

	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t
handler_of(uint32_t type)
{
	size_t i;

	for (i = 0; i < NHANDLERS; i++)
		if (handlers[i].type == type)
			break;
	return i;
}

/*
 * One run of a request's handler against the store's answers of waves
 * >= wave (last: a read still missing answers 503).  -1 with why
 * filled: malformed.  *missed: the run was thrown away.
 */
static int
run_request(struct broker *b, struct ipc_reader *r, size_t i, uint64_t wave,
    int last, int *missed, char *why, size_t whylen)
{
	struct req q;
	int rv;

	memset(&q, 0, sizeof(q));
	q.b = b;
	q.r = r;
	q.id = r->hdr.id;
	q.type = r->hdr.type;
	q.scope = -1;
	store_run_begin(b->store, wave, last);
	run_start();
	rv = handlers[i].fn(&q);
	*missed = run_end(b);
	if (rv == -1) {
		snprintf(why, whylen, "protocol violation: malformed message "
		    "type %u", r->hdr.type);
		return -1;
	}
	if (*missed && last)
		fatalx("%s: the last run of request %u missed a read",
		    __func__, r->hdr.id);
	return 0;
}

/* Keep p (its copy made) until its wave's answers are in. */
static void
park(struct parked *p)
{
	p->runs++;
	p->turn = turn;
	if (park_put(p) == -1)
		fatalx("%s: more requests parked than request_room allows",
		    __func__);
}

/* -1 with why filled: the front-end is to be killed for it. */
static int
dispatch(struct broker *b, struct ipc_reader *r, char *why, size_t whylen)
{
	struct parked p;
	size_t i;
	uint64_t wave = store_wave(b->store);
	int missed, permit = b->fe_state == FE_NEW ? PERMIT_NEW : PERMIT_READY;

	if ((i = handler_of(r->hdr.type)) == NHANDLERS) {
		snprintf(why, whylen, "protocol violation: unknown message "
		    "type %u", r->hdr.type);
		return -1;
	}
	if ((handlers[i].permit & permit) == 0) {
		snprintf(why, whylen, "protocol violation: message type %u "
		    "not permitted now", r->hdr.type);
		return -1;
	}
	if (run_request(b, r, i, wave, 0, &missed, why, whylen) == -1)
		return -1;
	if (!missed)
		return 0;
	/* A new connection's descriptor is the kernel's word on who it
	 * is: its handler needs no store, and a copy could not carry it. */
	if (r->fd != -1)
		fatalx("%s: a message with a descriptor read the store",
		    __func__);
	if (park_copy(&p, r->buf, r->len) == -1)
		fatal("%s: sodium_malloc", __func__);
	p.wave = wave;
	p.deadline = mono_ms() + b->cfg->store_timeout_ms;
	park(&p);
	return 0;
}

static int
wave_ready(void *arg, uint64_t wave)
{
	return store_wave_ready(arg, wave);
}

/*
 * Run again each parked request whose wave's answers came in, or whose
 * deadline passed (then a read still missing answers 503), oldest
 * first; a run that misses again parks it until a later wave.
 */
void
broker_replay(struct broker *b)
{
	struct ipc_reader r;
	struct parked p;
	char why[96];
	long long now = mono_ms();
	int missed;

	turn++;
	while (b->chan_open &&
	    park_take(now, turn, wave_ready, b->store, &p) == 1) {
		if (ipc_parse(p.msg, p.len, &r) == -1)
			fatalx("%s: a parked copy does not parse", __func__);
		/* Reads that keep missing, not a slow database: say which. */
		if (now < p.deadline && park_last_run(&p, now))
			log_warnx("%s: request type %u: its reads missed %u "
			    "times; answered with what the store has", __func__,
			    r.hdr.type, p.runs);
		if (run_request(b, &r, handler_of(r.hdr.type), p.wave,
		    park_last_run(&p, now), &missed, why, sizeof(why)) == -1) {
			park_wipe(&p);
			fe_kill(b, why);
			return;
		}
		if (missed)
			park(&p);
		else
			park_wipe(&p);
	}
}

/*
 * Drain what the front-end sent: reads are answered as they come (or
 * parked when one waits for the store), writes wait for one group
 * commit at the end of the turn.
 */
void
broker_read(struct broker *b)
{
	struct ipc_reader *r;
	char why[96];
	int rv;

	while (b->chan_open && request_room()) {
		rv = ipc_chan_recv(&b->chan, fd_allowed, &r);
		if (rv == IPC_AGAIN)
			break;
		if (rv == IPC_EOF) {
			child_gone(b->fe_pid, HANGUP_EXIT_MS);
			fe_kill(b, b->stopping ? "stopped" :
			    "closed the channel");
			break;
		}
		if (rv == IPC_ERROR) {
			fe_kill(b, errno == EPROTO ? "malformed message" :
			    "channel error");
			break;
		}
		if (dispatch(b, r, why, sizeof(why)) == -1) {
			fe_kill(b, why);
			break;
		}
	}
}

/* The end of every loop turn: held replies, then the group commit. */
void
broker_turn_end(struct broker *b)
{
	release_held(b);
	broker_flush(b);
	batch_commit(b);
	broker_flush(b);
}

/* Milliseconds until the earliest parked request's deadline; -1: none. */
int
broker_poll_timeout(void)
{
	return park_timeout_ms(mono_ms());
}

/* The front-end is gone: its parked requests with it, its writes
 * commit unanswered. */
void
broker_fe_gone(void)
{
	park_clear();
	pend_orphan();
}

void
broker_flush(struct broker *b)
{
	if (b->chan_open && ipc_chan_flush(&b->chan) == -1)
		fe_kill(b, "channel write failed");
}

