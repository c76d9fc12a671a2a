/*
 * libruntools internals shared by its transport (rtclient.c) and its API
 * calls (rtsecrets.c).  Not installed; applications use runtools.h only.
 */
#ifndef RTCLIENT_H
#define RTCLIENT_H

#include <stddef.h>

#include <jansson.h>

#include "runtools.h"

#define RT_PATH_MAX	4096

/* rtclient.c */
void		 rt_wipe_free(void *, size_t);
enum rt_error	 rt_set_error(rt_client *, enum rt_error, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 rt_set_last_json(rt_client *, char *, size_t);
char		*rt_dump_json(json_t *, size_t *);
enum rt_error	 rt_request(rt_client *, const char *method, const char *path,
		    json_t *body, json_t **out);
int		 rt_query_add(rt_client *, char *path, size_t, const char *k,
		    const char *v);

#endif
