/*
 * Requests parked while the store fetches what one of their reads
 * missed: a copy of each message in guarded memory (a PUT carries a
 * value), the store wave it arrived in, its deadline and how often it
 * ran.  Kept in arrival order; knows nothing of handlers or the store,
 * whose answer to "is this wave ready" it is handed.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include <sodium.h>

#include "broker.h"

static struct parked park[PARK_MAX];
static size_t npark;

/* A copy of msg that outlives the channel's receive buffer. */
int
park_copy(struct parked *p, const void *msg, size_t len)
{
	memset(p, 0, sizeof(*p));
	if ((p->msg = sodium_malloc(len)) == NULL)
		return -1;
	memcpy(p->msg, msg, len);
	p->len = len;
	return 0;
}

/* sodium_free wipes the copy before it gives the pages back. */
void
park_wipe(struct parked *p)
{
	if (p->msg != NULL)
		sodium_free(p->msg);
	memset(p, 0, sizeof(*p));
}

/* Queue p, which the queue then owns; -1: no room (p stays the caller's). */
int
park_put(const struct parked *p)
{
	if (npark == PARK_MAX)
		return -1;
	park[npark++] = *p;
	return 0;
}

size_t
park_count(void)
{
	return npark;
}

static int
park_due(const struct parked *p, long long now, uint64_t turn,
    int (*ready)(void *, uint64_t), void *arg)
{
	/* Parked this turn: its fetches have not even been sent. */
	if (p->turn >= turn)
		return 0;
	return now >= p->deadline || ready(arg, p->wave);
}

/*
 * Take the oldest request that is due (its wave's answers are in, or
 * its deadline passed) into *out; 0: none is.  A request put back
 * during the same turn is not due again until the next one.
 */
int
park_take(long long now, uint64_t turn,
    int (*ready)(void *, uint64_t), void *arg, struct parked *out)
{
	size_t i;

	for (i = 0; i < npark; i++) {
		if (!park_due(&park[i], now, turn, ready, arg))
			continue;
		*out = park[i];
		memmove(&park[i], &park[i + 1], (npark - i - 1) *
		    sizeof(park[0]));
		npark--;
		memset(&park[npark], 0, sizeof(park[npark]));
		return 1;
	}
	return 0;
}

/* Whether the next run of p is its last: deadline passed or runs spent. */
int
park_last_run(const struct parked *p, long long now)
{
	return p->runs + 1 >= PARK_RUNS_MAX || now >= p->deadline;
}

/* Milliseconds until the earliest deadline; -1: nothing parked. */
int
park_timeout_ms(long long now)
{
	long long ms = -1, t;
	size_t i;

	for (i = 0; i < npark; i++) {
		t = park[i].deadline - now;
		if (t < 0)
			t = 0;
		if (ms == -1 || t < ms)
			ms = t;
	}
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* The front-end that sent them is gone: no one waits for the answers. */
void
park_clear(void)
{
	size_t i;

	for (i = 0; i < npark; i++)
		park_wipe(&park[i]);
	npark = 0;
}
