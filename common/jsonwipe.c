/*
 * jansson copies every string it parses or builds, so a value outlives
 * its request in blocks jansson frees.  This allocator wipes each block
 * before freeing it.  It allocates with plain malloc, so a block from
 * before it was installed, or one a caller frees with free(3), is still
 * freed correctly.
 */
#include "config.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonwipe.h"

/* The whole block malloc handed out covers every byte jansson wrote. */
static void
wipe_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

void
jsonwipe_init(void)
{
	json_set_alloc_funcs(malloc, wipe_free);
}
