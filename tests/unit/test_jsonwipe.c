/*
 * jansson's wiping allocator: once installed it is the free jansson
 * calls, and it still frees blocks from before it was installed and text
 * a caller releases with free(3), as the front-end's replies are.  A
 * wrong free aborts the program (glibc, ASan), and the plan goes missing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonwipe.h"
#include "tap.h"

int
main(void)
{
	json_malloc_t m;
	json_free_t f;
	json_t *before, *after;
	char *s;

	before = json_pack("{s:s}", "value", "allocated before");
	json_get_alloc_funcs(&m, &f);
	ok(before != NULL && m == malloc && f == free,
	    "jansson starts on plain malloc and free");

	jsonwipe_init();
	json_get_alloc_funcs(&m, &f);
	ok(m == malloc && f != NULL && f != free,
	    "installed: plain malloc and a free of its own");

	json_decref(before);
	after = json_pack("{s:s}", "value", "s3cret");
	s = after != NULL ? json_dumps(after, JSON_COMPACT) : NULL;
	ok(s != NULL && strcmp(s, "{\"value\":\"s3cret\"}") == 0,
	    "a block from before is freed; JSON is built and encoded after");
	json_decref(after);
	free(s);
	return done_testing();
}
