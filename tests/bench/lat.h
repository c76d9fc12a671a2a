/*
 * Latency recording shared by the benchmark programs: every sample is
 * kept, so percentiles are exact.  Measures only; never judges a speed.
 */
#ifndef BENCH_LAT_H
#define BENCH_LAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct lat {
	uint64_t	*ns;
	size_t		 n;
	size_t		 cap;
};

uint64_t now_ns(void);
void	 lat_add(struct lat *, uint64_t ns);
void	 lat_free(struct lat *);
/* Sorts the samples, then prints n= rps= p50_us= p99_us= p999_us= max_us=. */
void	 lat_print(struct lat *, double elapsed_s, FILE *);

#endif
