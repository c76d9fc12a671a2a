/*
 * Latency samples and their percentiles for the benchmark programs.
 * Keeps every sample (no histogram buckets), so p999 is not an estimate.
 */
#include "config.h"

#include <stdlib.h>
#include <time.h>

#include "lat.h"
#include "log.h"

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void
lat_add(struct lat *l, uint64_t ns)
{
	uint64_t *p;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 65536;
		if ((p = reallocarray(l->ns, cap, sizeof(*p))) == NULL)
			fatal("%s: reallocarray", __func__);
		l->ns = p;
		l->cap = cap;
	}
	l->ns[l->n++] = ns;
}

void
lat_free(struct lat *l)
{
	free(l->ns);
	l->ns = NULL;
	l->n = l->cap = 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile in microseconds; 0 when nothing was recorded. */
static double
pct_us(const struct lat *l, double q)
{
	size_t i;

	if (l->n == 0)
		return 0;
	i = (size_t)(q * (double)l->n);
	if (i >= l->n)
		i = l->n - 1;
	return (double)l->ns[i] / 1000.0;
}

void
lat_print(struct lat *l, double elapsed_s, FILE *fp)
{
	qsort(l->ns, l->n, sizeof(*l->ns), cmp_u64);
	fprintf(fp, "n=%zu rps=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f "
	    "max_us=%.1f", l->n, elapsed_s > 0 ? (double)l->n / elapsed_s : 0,
	    pct_us(l, 0.50), pct_us(l, 0.99), pct_us(l, 0.999),
	    l->n ? (double)l->ns[l->n - 1] / 1000.0 : 0);
}
