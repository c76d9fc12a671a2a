/*
 * A fault for the end-to-end tests, preloaded into the broker: the first
 * 256-byte malloc after the file $FAILALLOC_FLAG appears fails, and the
 * file is removed, so exactly one allocation fails when the test says.
 * 256 bytes is what an IPC message starts with.  Only the broker is
 * hit: the front-end inherits the preload, and its seccomp filter would
 * kill it for the unlink.  Test code only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);

void *
malloc(size_t n)
{
	const char *flag;

	if (n == 256 && strcmp(program_invocation_short_name, "secretd") == 0 &&
	    (flag = getenv("FAILALLOC_FLAG")) != NULL && unlink(flag) == 0)
		return NULL;
	return __libc_malloc(n);
}
