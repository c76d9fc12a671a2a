/*
 * What every fuzz target defines, and what its two mains call: libFuzzer's
 * own when built with clang, the corpus replay (replay.c) otherwise.
 */
#ifndef SECRETD_FUZZ_H
#define SECRETD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#endif
