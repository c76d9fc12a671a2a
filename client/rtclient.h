/*
 * libruntools internals shared by its transport (rtclient.c) and its API
 * calls (rtsecrets.c, rtversions.c, rttools.c).  Not installed;
 * applications use runtools.h only.
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
void		 rt_call_timeout(rt_client *, long seconds);

/* rtsecrets.c */
/* Builds a list route's path for one page; opts is the route's. */
typedef enum rt_error (*rt_page_path_fn)(rt_client *, char *, size_t,
    const void *opts, const char *cursor);
/* Fills one item of a list from its JSON object. */
typedef int (*rt_item_fn)(json_t *, void *);

int		 rt_dup_str(json_t *, const char *key, char **);
int		 rt_set_member(json_t *, const char *key, json_t *);
enum rt_error	 rt_bad_response(rt_client *);
enum rt_error	 rt_page_query(rt_client *, char *path, size_t,
		    unsigned int limit, const char *cursor, size_t cursor_max);
int		 rt_parse_page(json_t *root, const char *key, size_t,
		    rt_item_fn, void **items, size_t *count, char **next);
enum rt_error	 rt_page_get(rt_client *, rt_page_path_fn, const void *opts,
		    const char *cursor, const char *key, json_t **root);
int		 rt_parse_secret(json_t *, struct rt_secret *,
		    int with_value);
enum rt_error	 rt_secret_path(rt_client *, char *path, size_t,
		    const char *name, const char *suffix, int org_wide,
		    const char *user_id);
enum rt_error	 rt_pages_all(rt_client *, rt_page_path_fn, const void *opts,
		    const char *from, const char *key, json_t **root);

/* rtversions.c */
enum rt_error	 rt_version_query(rt_client *, char *path, size_t,
		    unsigned long version);

#endif
