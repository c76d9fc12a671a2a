/*
 * The parked requests' bookkeeping (broker/park.c): the copy outlives
 * the message it was made from, requests come back oldest first once
 * their wave is ready or their deadline passed, never in the turn that
 * parked them, the last run comes after PARK_RUNS_MAX - 1 or at the
 * deadline, and the queue is bounded.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "broker.h"
#include "tap.h"

/* Waves up to this one have their answers in. */
static uint64_t ready_upto;

static int
ready(void *arg, uint64_t wave)
{
	(void)arg;
	return wave <= ready_upto;
}

static void
put(const char *msg, uint64_t wave, long long deadline, uint64_t turn)
{
	struct parked p;

	if (park_copy(&p, msg, strlen(msg) + 1) == -1)
		abort();
	p.wave = wave;
	p.deadline = deadline;
	p.turn = turn;
	if (park_put(&p) == -1)
		abort();
}

/* The message of the next request due, "" for none; its copy wiped. */
static const char *
take(long long now, uint64_t turn)
{
	static char out[64];
	struct parked p;

	if (park_take(now, turn, ready, NULL, &p) != 1)
		return "";
	snprintf(out, sizeof(out), "%s", (const char *)p.msg);
	park_wipe(&p);
	return out;
}

static void
test_copy(void)
{
	char msg[] = "PUT with a value";
	struct parked p;

	ok(park_copy(&p, msg, sizeof(msg)) == 0 && p.len == sizeof(msg) &&
	    p.msg != (uint8_t *)msg && memcmp(p.msg, msg, sizeof(msg)) == 0,
	    "the copy holds the message's bytes in its own memory");
	memset(msg, 'x', sizeof(msg) - 1);
	ok(memcmp(p.msg, "PUT with a value", sizeof(msg)) == 0,
	    "the copy outlives the receive buffer it came from");
	park_wipe(&p);
	ok(p.msg == NULL && p.len == 0, "a wiped copy is gone");
}

static void
test_order(void)
{
	ready_upto = 10;
	put("a", 1, 1000, 1);
	put("b", 1, 1000, 1);
	put("c", 1, 1000, 2);
	ok(park_count() == 3, "three requests parked");
	ok(strcmp(take(0, 1), "") == 0,
	    "none comes back in the turn that parked it");
	ok(strcmp(take(0, 2), "a") == 0 && strcmp(take(0, 2), "b") == 0,
	    "the next turn: oldest first");
	ok(strcmp(take(0, 2), "") == 0,
	    "one parked in turn 2 waits for turn 3");
	ok(strcmp(take(0, 3), "c") == 0 && park_count() == 0,
	    "then it comes back, and the queue is empty");
}

static void
test_waves(void)
{
	ready_upto = 4;
	put("old wave 5", 5, 1000, 1);
	put("wave 4", 4, 1000, 1);
	ok(strcmp(take(0, 2), "wave 4") == 0,
	    "a request whose wave is ready passes one whose wave is not");
	ok(strcmp(take(999, 2), "") == 0 && park_count() == 1,
	    "a wave not ready before the deadline keeps its request parked");
	ok(strcmp(take(1000, 2), "old wave 5") == 0,
	    "at its deadline it comes back, wave ready or not");
}

static void
test_last_run(void)
{
	struct parked p = { .deadline = 1000 };

	ok(!park_last_run(&p, 0), "a first replay before the deadline is "
	    "not the last");
	p.runs = PARK_RUNS_MAX - 2;
	ok(!park_last_run(&p, 999), "run %d is not the last",
	    PARK_RUNS_MAX - 1);
	p.runs = PARK_RUNS_MAX - 1;
	ok(park_last_run(&p, 0), "run %d is the last", PARK_RUNS_MAX);
	p.runs = 0;
	ok(park_last_run(&p, 1000), "a run at the deadline is the last");
}

static void
test_timeout(void)
{
	ready_upto = 0;
	ok(park_timeout_ms(0) == -1, "nothing parked: no timer");
	put("late", 1, 700, 1);
	put("early", 1, 300, 1);
	ok(park_timeout_ms(100) == 200, "the timer is the earliest deadline");
	ok(park_timeout_ms(500) == 0, "a deadline passed: poll at once");
	park_clear();
	ok(park_count() == 0 && park_timeout_ms(0) == -1,
	    "a front-end gone: every parked request dropped");
}

static void
test_bound(void)
{
	struct parked p;
	size_t i;
	int full;

	for (i = 0; i < PARK_MAX; i++)
		put("x", 1, 1000, 1);
	if (park_copy(&p, "y", 2) == -1)
		abort();
	full = park_put(&p);
	ok(full == -1 && park_count() == PARK_MAX,
	    "the queue holds %d requests, no more", PARK_MAX);
	park_wipe(&p);
	park_clear();
}

int
main(void)
{
	if (sodium_init() == -1)
		return 1;
	test_copy();
	test_order();
	test_waves();
	test_last_run();
	test_timeout();
	test_bound();
	return done_testing();
}
