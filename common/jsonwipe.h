/*
 * The jansson allocator of the programs whose JSON holds values and
 * tokens (the front-end and runtools): what jansson frees is wiped first.
 * The broker never links jansson, so this stays out of libcommon.a.
 */
#ifndef SECRETD_JSONWIPE_H
#define SECRETD_JSONWIPE_H

/* Before the first JSON text that may hold a secret is parsed or built. */
void	 jsonwipe_init(void);

#endif
