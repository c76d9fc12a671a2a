/*
 * LMDB's behaviour for the engine hooks request.c and the poll loop
 * call, until the store dispatches through its engines: the commit is
 * done before it returns, no read ever misses, no descriptors, no timer.
 */
#include "config.h"

#include <poll.h>

#include "store.h"

int
store_commit_start(struct store *st, struct store_op *ops, size_t n,
    void (*done)(void *, int), void *arg)
{
	done(arg, store_commit(st, ops, n));
	return ST_OK;
}

int
store_pollfds(struct store *st, struct pollfd *pfd, int max)
{
	(void)st;
	(void)pfd;
	(void)max;
	return 0;
}

void
store_io(struct store *st, const struct pollfd *pfd, int n)
{
	(void)st;
	(void)pfd;
	(void)n;
}

int
store_timeout_ms(struct store *st)
{
	(void)st;
	return -1;
}

uint64_t
store_wave(struct store *st)
{
	(void)st;
	return 0;
}

void
store_run_begin(struct store *st, uint64_t wave, int last)
{
	(void)st;
	(void)wave;
	(void)last;
}

int
store_run_missed(struct store *st)
{
	(void)st;
	return 0;
}

int
store_wave_ready(struct store *st, uint64_t wave)
{
	(void)st;
	(void)wave;
	return 1;
}
