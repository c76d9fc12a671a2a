/*
 * libruntools: the kept versions of a secret.  Listing shows metadata
 * only; a rollback sends a version's number, never its value, which the
 * server copies itself.  A version to reveal rides on rt_secrets_get.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "runtools.h"
#include "rtclient.h"

static const struct rt_version_opts no_version_opts;

/* "?version=N" (or "&version=N") for a reveal; N from 1 to 2^32 - 1. */
enum rt_error
rt_version_query(rt_client *c, char *path, size_t size, unsigned long version)
{
	char v[24];

	if (version < 1 || version > UINT32_MAX)
		return rt_set_error(c, RT_E_USAGE, "a version is a number "
		    "from 1 to %lu", (unsigned long)UINT32_MAX);
	snprintf(v, sizeof(v), "%lu", version);
	if (rt_query_add(c, path, size, "version", v))
		return rt_set_error(c, RT_E_USAGE, "request path too long");
	return RT_E_OK;
}

void
rt_version_list_clear(struct rt_version_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->count; i++) {
		free(l->versions[i].created_at);
		free(l->versions[i].created_by);
	}
	free(l->versions);
	free(l->name);
	free(l->scope);
	memset(l, 0, sizeof(*l));
}

static int
parse_version(json_t *o, struct rt_version *v)
{
	json_t *n = json_object_get(o, "version"),
	    *cur = json_object_get(o, "current");

	memset(v, 0, sizeof(*v));
	if (!json_is_object(o) || !json_is_integer(n) ||
	    json_integer_value(n) < 1 || !json_is_boolean(cur) ||
	    rt_dup_str(o, "createdAt", &v->created_at) ||
	    rt_dup_str(o, "createdBy", &v->created_by) ||
	    v->created_at == NULL || v->created_by == NULL)
		return -1;
	v->version = (unsigned long)json_integer_value(n);
	v->current = json_is_true(cur);
	return 0;
}

static int
parse_versions(json_t *root, struct rt_version_list *l)
{
	json_t *a = json_object_get(root, "versions"), *o;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    rt_dup_str(root, "name", &l->name) ||
	    rt_dup_str(root, "scope", &l->scope) ||
	    l->name == NULL || l->scope == NULL ||
	    (l->versions = calloc(json_array_size(a),
	    sizeof(*l->versions))) == NULL)
		return -1;
	json_array_foreach(a, i, o) {
		if (parse_version(o, &l->versions[i]) == -1) {
			free(l->versions[i].created_at);
			free(l->versions[i].created_by);
			return -1;
		}
		l->count++;
	}
	return 0;
}

enum rt_error
rt_secrets_versions(rt_client *c, const char *name,
    const struct rt_version_opts *o, struct rt_version_list *out)
{
	char path[RT_PATH_MAX];
	json_t *root;
	enum rt_error e;

	if (o == NULL)
		o = &no_version_opts;
	memset(out, 0, sizeof(*out));
	e = rt_secret_path(c, path, sizeof(path), name, "/versions",
	    o->org_wide, o->user_id);
	if (e != RT_E_OK)
		return e;
	if ((e = rt_request(c, "GET", path, NULL, &root)) != RT_E_OK)
		return e;
	if (parse_versions(root, out) == -1) {
		rt_version_list_clear(out);
		e = rt_bad_response(c);
	}
	json_decref(root);
	return e;
}

enum rt_error
rt_secrets_rollback(rt_client *c, const char *name, unsigned long version,
    const struct rt_version_opts *o, struct rt_secret *meta)
{
	char path[RT_PATH_MAX];
	json_t *body, *root;
	enum rt_error e;

	if (o == NULL)
		o = &no_version_opts;
	if (meta != NULL)
		memset(meta, 0, sizeof(*meta));
	if (version < 1 || version > UINT32_MAX)
		return rt_set_error(c, RT_E_USAGE, "a version is a number "
		    "from 1 to %lu", (unsigned long)UINT32_MAX);
	e = rt_secret_path(c, path, sizeof(path), name, "/rollback",
	    o->org_wide, o->user_id);
	if (e != RT_E_OK)
		return e;
	if ((body = json_pack("{s:I}", "version", (json_int_t)version)) ==
	    NULL)
		return rt_set_error(c, RT_E_NOMEM, "out of memory");
	e = rt_request(c, "POST", path, body, &root);
	json_decref(body);
	if (e != RT_E_OK)
		return e;
	if (meta != NULL && rt_parse_secret(root, meta, 0) == -1)
		e = rt_bad_response(c);
	json_decref(root);
	return e;
}
