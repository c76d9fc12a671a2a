/*
 * The store's struct store_conf (store_engine.h), built from the config
 * in one place: storeconf.c.
 */
#ifndef SECRETD_STORECONF_H
#define SECRETD_STORECONF_H

#include <stddef.h>

struct secretd_config;
struct store_conf;

/* engine: STORE_LMDB or STORE_POSTGRESQL, whatever `store` says (migrate
 * opens both); the password, if any, is read now. */
int	 store_conf_make(const struct secretd_config *, int engine,
	    struct store_conf *, char *err, size_t errlen);
/* The engine `store` names. */
int	 store_conf_engine(const struct secretd_config *);
/* For messages: the state folder, or "the PostgreSQL database". */
const char *store_conf_where(const struct store_conf *);
/* Wipes and frees the password. */
void	 store_conf_clear(struct store_conf *);

#endif
