/*
 * A fault for the end-to-end tests, preloaded into the broker: the first
 * 256-byte malloc after the file $FAILALLOC_FLAG appears fails, and the
 * file is removed, so exactly one allocation fails when the test says.
 * 256 bytes is what an IPC message starts with.  Test code only.
 */
#include <stdlib.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);

void *
malloc(size_t n)
{
	const char *flag;

	if (n == 256 && (flag = getenv("FAILALLOC_FLAG")) != NULL &&
	    unlink(flag) == 0)
		return NULL;
	return __libc_malloc(n);
}
