/*
 * libruntools API calls for secrets and tokens: one function per route,
 * the JSON each sends and the structs each fills, and the member and
 * paging helpers the tool calls (rttools.c) share.  Inputs are checked
 * before anything is sent; revealed values land only in memory that is
 * wiped.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "b64.h"
#include "proto.h"
#include "runtools.h"
#include "rtclient.h"

#define LIST_MAX_PAGES	100000

static const struct rt_list_opts no_list_opts;
static const struct rt_set_opts no_set_opts;
static const struct rt_get_opts no_get_opts;
static const struct rt_delete_opts no_delete_opts;
static const struct rt_token_opts no_token_opts;
static const struct rt_token_list_opts no_token_list_opts;

/* A string member copied, NULL when absent or null; -1 on another type. */
int
rt_dup_str(json_t *o, const char *key, char **dst)
{
	json_t *v = json_object_get(o, key);

	*dst = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || (*dst = strdup(json_string_value(v))) == NULL)
		return -1;
	return 0;
}

void
rt_secret_clear(struct rt_secret *s)
{
	if (s == NULL)
		return;
	free(s->name);
	free(s->scope);
	free(s->user_id);
	free(s->org_id);
	free(s->category);
	free(s->description);
	free(s->created_at);
	free(s->updated_at);
	free(s->expires_at);
	free(s->created_by);
	free(s->updated_by);
	rt_secret_value_free(s->value, s->value_len);
	memset(s, 0, sizeof(*s));
}

void
rt_secret_list_clear(struct rt_secret_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->count; i++)
		rt_secret_clear(&l->secrets[i]);
	free(l->secrets);
	free(l->next_cursor);
	memset(l, 0, sizeof(*l));
}

void
rt_token_clear(struct rt_token *t)
{
	size_t i;

	if (t == NULL)
		return;
	if (t->secret != NULL)
		rt_wipe_free(t->secret, strlen(t->secret));
	free(t->id);
	free(t->user_id);
	free(t->org_id);
	free(t->role);
	free(t->description);
	free(t->created_at);
	free(t->expires_at);
	for (i = 0; i < t->nscopes; i++)
		free(t->scopes[i]);
	free(t->scopes);
	memset(t, 0, sizeof(*t));
}

void
rt_token_list_clear(struct rt_token_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->count; i++)
		rt_token_clear(&l->tokens[i]);
	free(l->tokens);
	free(l->next_cursor);
	memset(l, 0, sizeof(*l));
}

/* "value", or "valueBase64" for bytes that are not text. */
static int
parse_value(json_t *o, struct rt_secret *s)
{
	json_t *v = json_object_get(o, "value"),
	    *b = json_object_get(o, "valueBase64");
	size_t n;
	long d;

	if (json_is_string(b)) {
		n = json_string_length(b);
		if (n > B64_ENC_LEN(VALUE_MAX_LEN) ||
		    (s->value = malloc(B64_DEC_MAX(n) + 1)) == NULL)
			return -1;
		if ((d = b64_decode(json_string_value(b), n,
		    (uint8_t *)s->value)) <= 0) {
			rt_secret_value_free(s->value, B64_DEC_MAX(n) + 1);
			s->value = NULL;
			return -1;
		}
		s->value_len = (size_t)d;
		s->value[d] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s->value_len = json_string_length(v);
	if ((s->value = malloc(s->value_len + 1)) == NULL)
		return -1;
	memcpy(s->value, json_string_value(v), s->value_len + 1);
	return 0;
}

int
rt_parse_secret(json_t *o, struct rt_secret *s, int with_value)
{
	json_t *v;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(o) ||
	    rt_dup_str(o, "name", &s->name) ||
	    rt_dup_str(o, "scope", &s->scope) ||
	    rt_dup_str(o, "userId", &s->user_id) ||
	    rt_dup_str(o, "orgId", &s->org_id) ||
	    rt_dup_str(o, "category", &s->category) ||
	    rt_dup_str(o, "description", &s->description) ||
	    rt_dup_str(o, "createdAt", &s->created_at) ||
	    rt_dup_str(o, "updatedAt", &s->updated_at) ||
	    rt_dup_str(o, "createdBy", &s->created_by) ||
	    rt_dup_str(o, "updatedBy", &s->updated_by) ||
	    rt_dup_str(o, "expiresAt", &s->expires_at) ||
	    s->name == NULL || s->scope == NULL)
		goto fail;
	v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		goto fail;
	s->version = (unsigned long)json_integer_value(v);
	if (with_value && parse_value(o, s) == -1)
		goto fail;
	return 0;
 fail:
	rt_secret_clear(s);
	return -1;
}

/* "scopes": null (unscoped) or a list of strings. */
static int
parse_scopes(json_t *o, struct rt_token *t)
{
	json_t *a = json_object_get(o, "scopes"), *v;
	size_t i;

	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    (t->scopes = calloc(json_array_size(a), sizeof(*t->scopes))) ==
	    NULL)
		return -1;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) ||
		    (t->scopes[i] = strdup(json_string_value(v))) == NULL)
			return -1;
		t->nscopes++;
	}
	return 0;
}

static int
parse_token(json_t *o, struct rt_token *t, int with_secret)
{
	memset(t, 0, sizeof(*t));
	if (!json_is_object(o) ||
	    rt_dup_str(o, "id", &t->id) ||
	    rt_dup_str(o, "userId", &t->user_id) ||
	    rt_dup_str(o, "orgId", &t->org_id) ||
	    rt_dup_str(o, "role", &t->role) ||
	    rt_dup_str(o, "description", &t->description) ||
	    rt_dup_str(o, "createdAt", &t->created_at) ||
	    rt_dup_str(o, "expiresAt", &t->expires_at) || t->id == NULL ||
	    parse_scopes(o, t) == -1)
		goto fail;
	if (with_secret &&
	    (rt_dup_str(o, "token", &t->secret) || t->secret == NULL))
		goto fail;
	return 0;
 fail:
	rt_token_clear(t);
	return -1;
}

enum rt_error
rt_bad_response(rt_client *c)
{
	return rt_set_error(c, RT_E_PROTOCOL,
	    "response from the server is not the API's shape");
}

static enum rt_error
check_name(rt_client *c, const char *name)
{
	if (name == NULL || !valid_secret_name(name, strlen(name)))
		return rt_set_error(c, RT_E_USAGE, "invalid secret name: use "
		    "letters, digits and '_', not starting with a digit, "
		    "at most %d characters", NAME_MAX_LEN);
	return RT_E_OK;
}

static enum rt_error
check_user(rt_client *c, const char *user_id)
{
	if (user_id != NULL && !valid_id(user_id, strlen(user_id)))
		return rt_set_error(c, RT_E_USAGE, "invalid user id");
	return RT_E_OK;
}

static enum rt_error
check_category(rt_client *c, const char *category)
{
	if (category != NULL && !valid_category(category))
		return rt_set_error(c, RT_E_USAGE, "invalid category: use "
		    "provider, tool, agent, workflow or custom");
	return RT_E_OK;
}

static enum rt_error
check_description(rt_client *c, const char *d)
{
	if (d != NULL && strlen(d) > DESC_MAX_LEN)
		return rt_set_error(c, RT_E_USAGE,
		    "description is longer than %d bytes", DESC_MAX_LEN);
	return RT_E_OK;
}

static enum rt_error
check_value(rt_client *c, const char *value, size_t len)
{
	if (value == NULL || len == 0)
		return rt_set_error(c, RT_E_USAGE, "the value is empty");
	if (len > VALUE_MAX_LEN)
		return rt_set_error(c, RT_E_USAGE,
		    "the value is larger than %d bytes", VALUE_MAX_LEN);
	return RT_E_OK;
}

/* "/v1/secrets/NAME[/reveal]" plus orgWide and user_id. */
enum rt_error
rt_secret_path(rt_client *c, char *path, size_t size, const char *name,
    const char *suffix, int org_wide, const char *user_id)
{
	enum rt_error e;
	int n;

	if ((e = check_name(c, name)) != RT_E_OK ||
	    (e = check_user(c, user_id)) != RT_E_OK)
		return e;
	n = snprintf(path, size, "/v1/secrets/%s%s", name, suffix);
	if (n < 0 || (size_t)n >= size ||
	    (org_wide && rt_query_add(c, path, size, "orgWide", "true")) ||
	    (user_id && rt_query_add(c, path, size, "user_id", user_id)))
		return rt_set_error(c, RT_E_USAGE, "request path too long");
	return RT_E_OK;
}

int
rt_set_member(json_t *o, const char *key, json_t *v)
{
	return v == NULL || json_object_set_new(o, key, v) == -1 ? -1 : 0;
}

/* Bytes that are not text travel as "valueBase64". */
static int
set_base64(json_t *body, const char *value, size_t len)
{
	char *t;
	int rc;

	if ((t = malloc(B64_ENC_LEN(len) + 1)) == NULL)
		return -1;
	b64_encode(value, len, t);
	rc = rt_set_member(body, "valueBase64",
	    json_stringn(t, B64_ENC_LEN(len)));
	rt_secret_value_free(t, B64_ENC_LEN(len) + 1);
	return rc;
}

static json_t *
set_body(const char *name, const char *value, size_t len,
    const struct rt_set_opts *o)
{
	json_t *body;

	if ((body = json_object()) == NULL)
		return NULL;
	if (rt_set_member(body, "name", json_string(name)) ||
	    (valid_utf8_text(value, len) ?
	    rt_set_member(body, "value", json_stringn(value, len)) :
	    set_base64(body, value, len)) ||
	    (o->category && rt_set_member(body, "category",
	    json_string(o->category))) ||
	    (o->description && rt_set_member(body, "description",
	    json_string(o->description))) ||
	    (o->org_wide && rt_set_member(body, "orgWide", json_true())) ||
	    (o->expires_at && rt_set_member(body, "expiresAt",
	    *o->expires_at != '\0' ? json_string(o->expires_at) :
	    json_null()))) {
		json_decref(body);
		return NULL;
	}
	return body;
}

static enum rt_error
set_check(rt_client *c, const char *name, const char *value, size_t len,
    const struct rt_set_opts *o)
{
	enum rt_error e;

	if ((e = check_name(c, name)) != RT_E_OK ||
	    (e = check_value(c, value, len)) != RT_E_OK ||
	    (e = check_user(c, o->user_id)) != RT_E_OK ||
	    (e = check_category(c, o->category)) != RT_E_OK ||
	    (e = check_description(c, o->description)) != RT_E_OK)
		return e;
	if (o->org_wide && o->user_id != NULL)
		return rt_set_error(c, RT_E_USAGE,
		    "an org-wide secret has no user");
	return RT_E_OK;
}

enum rt_error
rt_secrets_set(rt_client *c, const char *name, const char *value,
    size_t len, const struct rt_set_opts *o, int *created,
    struct rt_secret *meta)
{
	char path[RT_PATH_MAX] = "/v1/secrets";
	json_t *body, *root;
	enum rt_error e;

	if (o == NULL)
		o = &no_set_opts;
	if (created != NULL)
		*created = 0;
	if (meta != NULL)
		memset(meta, 0, sizeof(*meta));
	if ((e = set_check(c, name, value, len, o)) != RT_E_OK)
		return e;
	if (o->user_id &&
	    rt_query_add(c, path, sizeof(path), "user_id", o->user_id))
		return rt_set_error(c, RT_E_USAGE, "request path too long");
	/* jansson refuses strings that are not UTF-8 */
	if ((body = set_body(name, value, len, o)) == NULL)
		return rt_set_error(c, RT_E_USAGE, "the value and description "
		    "must be valid UTF-8 text (the API carries them as JSON "
		    "strings)");
	e = rt_request(c, "POST", path, body, &root);
	json_decref(body);
	if (e != RT_E_OK)
		return e;
	if (created != NULL)
		*created = rt_client_last_error(c)->http_status == 201;
	if (meta != NULL && rt_parse_secret(root, meta, 0) == -1)
		e = rt_bad_response(c);
	json_decref(root);
	return e;
}

enum rt_error
rt_secrets_get(rt_client *c, const char *name, const struct rt_get_opts *o,
    struct rt_secret *out)
{
	char path[RT_PATH_MAX];
	json_t *root;
	enum rt_error e;

	if (o == NULL)
		o = &no_get_opts;
	memset(out, 0, sizeof(*out));
	if (o->version != 0 && !o->reveal)
		return rt_set_error(c, RT_E_USAGE, "a version is revealed, "
		    "not read as metadata");
	e = rt_secret_path(c, path, sizeof(path), name,
	    o->reveal ? "/reveal" : "", o->org_wide, o->user_id);
	if (e == RT_E_OK && o->version != 0)
		e = rt_version_query(c, path, sizeof(path), o->version);
	if (e != RT_E_OK)
		return e;
	e = rt_request(c, o->reveal ? "POST" : "GET", path, NULL, &root);
	if (e != RT_E_OK)
		return e;
	if (rt_parse_secret(root, out, o->reveal) == -1)
		e = rt_bad_response(c);
	json_decref(root);
	return e;
}

enum rt_error
rt_secrets_delete(rt_client *c, const char *name,
    const struct rt_delete_opts *o)
{
	char path[RT_PATH_MAX];
	json_t *root;
	enum rt_error e;

	if (o == NULL)
		o = &no_delete_opts;
	e = rt_secret_path(c, path, sizeof(path), name, "", o->org_wide,
	    o->user_id);
	if (e != RT_E_OK)
		return e;
	if ((e = rt_request(c, "DELETE", path, NULL, &root)) != RT_E_OK)
		return e;
	if (!json_is_true(json_object_get(root, "deleted")))
		e = rt_bad_response(c);
	json_decref(root);
	return e;
}

/* The paging part of a list's query: limit, then cursor. */
enum rt_error
rt_page_query(rt_client *c, char *path, size_t size, unsigned int limit,
    const char *cursor, size_t cursor_max)
{
	char n[16];

	if (limit > LIST_MAX_LIMIT)
		return rt_set_error(c, RT_E_USAGE,
		    "limit must be 1 to %d", LIST_MAX_LIMIT);
	if (cursor != NULL && strlen(cursor) > cursor_max)
		return rt_set_error(c, RT_E_USAGE, "cursor too long");
	snprintf(n, sizeof(n), "%u", limit);
	if ((limit && rt_query_add(c, path, size, "limit", n)) ||
	    (cursor && rt_query_add(c, path, size, "cursor", cursor)))
		return rt_set_error(c, RT_E_USAGE, "request path too long");
	return RT_E_OK;
}

static enum rt_error
list_path(rt_client *c, char *path, size_t size, const void *opts,
    const char *cursor)
{
	const struct rt_list_opts *o = opts;
	enum rt_error e;
	int bad = 0;

	if ((e = check_category(c, o->category)) != RT_E_OK ||
	    (e = check_user(c, o->user_id)) != RT_E_OK)
		return e;
	snprintf(path, size, "/v1/secrets");
	bad |= o->category && rt_query_add(c, path, size, "category",
	    o->category);
	bad |= o->scope == RT_LIST_USER && rt_query_add(c, path, size,
	    "secretScope", "user");
	bad |= o->scope == RT_LIST_ORG && rt_query_add(c, path, size,
	    "secretScope", "org");
	bad |= o->all && rt_query_add(c, path, size, "all", "true");
	bad |= o->user_id && rt_query_add(c, path, size, "user_id",
	    o->user_id);
	if (o->prefix != NULL && !valid_secret_name(o->prefix,
	    strlen(o->prefix)))
		return rt_set_error(c, RT_E_USAGE, "invalid name prefix");
	bad |= o->prefix && rt_query_add(c, path, size, "prefix", o->prefix);
	if (bad)
		return rt_set_error(c, RT_E_USAGE, "request path too long");
	return rt_page_query(c, path, size, o->limit, cursor, CURSOR_MAX_LEN);
}

static enum rt_error
token_list_path(rt_client *c, char *path, size_t size, const void *opts,
    const char *cursor)
{
	const struct rt_token_list_opts *o = opts;

	snprintf(path, size, "/v1/tokens");
	return rt_page_query(c, path, size, o->limit, cursor,
	    TOKEN_CURSOR_MAX_LEN);
}

static int
secret_item(json_t *o, void *s)
{
	return rt_parse_secret(o, s, 0);
}

static int
token_item(json_t *o, void *t)
{
	return parse_token(o, t, 0);
}

/*
 * A page's key array into *items, size bytes each (*count of them
 * filled, even on failure, for the caller's clear), and its nextCursor.
 */
int
rt_parse_page(json_t *root, const char *key, size_t size, rt_item_fn fn,
    void **items, size_t *count, char **next)
{
	json_t *arr = json_object_get(root, key), *v;
	size_t i;

	if (!json_is_array(arr) || rt_dup_str(root, "nextCursor", next) == -1)
		return -1;
	if (json_array_size(arr) == 0)
		return 0;
	if ((*items = calloc(json_array_size(arr), size)) == NULL)
		return -1;
	json_array_foreach(arr, i, v) {
		if (fn(v, (char *)*items + i * size) == -1)
			return -1;
		(*count)++;
	}
	return 0;
}

static int
parse_list(json_t *root, struct rt_secret_list *out)
{
	void *items = NULL;
	int rc;

	rc = rt_parse_page(root, "secrets", sizeof(*out->secrets), secret_item,
	    &items, &out->count, &out->next_cursor);
	out->secrets = items;
	return rc;
}

static int
parse_token_list(json_t *root, struct rt_token_list *out)
{
	void *items = NULL;
	int rc;

	rc = rt_parse_page(root, "tokens", sizeof(*out->tokens), token_item,
	    &items, &out->count, &out->next_cursor);
	out->tokens = items;
	return rc;
}

/* One page: an object whose key is an array, nextCursor a string or null. */
enum rt_error
rt_page_get(rt_client *c, rt_page_path_fn fn, const void *o,
    const char *cursor, const char *key, json_t **rootp)
{
	char path[RT_PATH_MAX];
	json_t *root, *next;
	enum rt_error e;

	*rootp = NULL;
	if ((e = fn(c, path, sizeof(path), o, cursor)) != RT_E_OK ||
	    (e = rt_request(c, "GET", path, NULL, &root)) != RT_E_OK)
		return e;
	next = json_object_get(root, "nextCursor");
	if (!json_is_array(json_object_get(root, key)) || (next != NULL &&
	    !json_is_null(next) && !json_is_string(next))) {
		json_decref(root);
		return rt_bad_response(c);
	}
	*rootp = root;
	return RT_E_OK;
}

/* Appends one page to merged; *cursor becomes its nextCursor (NULL: last). */
static enum rt_error
page_next(rt_client *c, rt_page_path_fn fn, const void *o, char **cursor,
    const char *key, json_t *merged)
{
	const char *next;
	json_t *root;
	enum rt_error e;

	if ((e = rt_page_get(c, fn, o, *cursor, key, &root)) != RT_E_OK)
		return e;
	next = json_string_value(json_object_get(root, "nextCursor"));
	if (json_array_extend(merged, json_object_get(root, key)) == -1)
		e = rt_set_error(c, RT_E_NOMEM, NULL);
	else if (next != NULL && *cursor != NULL && strcmp(next, *cursor) == 0)
		e = rt_set_error(c, RT_E_PROTOCOL,
		    "the server repeated a page cursor");
	free(*cursor);
	*cursor = NULL;
	if (e == RT_E_OK && next != NULL && (*cursor = strdup(next)) == NULL)
		e = rt_set_error(c, RT_E_NOMEM, NULL);
	json_decref(root);
	return e;
}

/*
 * Every page from cursor from on, merged into one last page
 * {key:[...],"nextCursor":null}, which also becomes the call's JSON.
 */
enum rt_error
rt_pages_all(rt_client *c, rt_page_path_fn fn, const void *o,
    const char *from, const char *key, json_t **rootp)
{
	json_t *merged;
	char *cursor = NULL, *p;
	size_t pages = 0, len;
	enum rt_error e;

	*rootp = NULL;
	if ((merged = json_array()) == NULL ||
	    (from != NULL && (cursor = strdup(from)) == NULL)) {
		json_decref(merged);
		return rt_set_error(c, RT_E_NOMEM, NULL);
	}
	do {
		if (++pages > LIST_MAX_PAGES)
			e = rt_set_error(c, RT_E_PROTOCOL, "too many pages");
		else
			e = page_next(c, fn, o, &cursor, key, merged);
	} while (e == RT_E_OK && cursor != NULL);
	free(cursor);
	if (e == RT_E_OK && ((*rootp = json_pack("{s:O,s:n}", key, merged,
	    "nextCursor")) == NULL || (p = rt_dump_json(*rootp, &len)) == NULL))
		e = rt_set_error(c, RT_E_NOMEM, NULL);
	else if (e == RT_E_OK)
		rt_set_last_json(c, p, len);
	json_decref(merged);
	if (e != RT_E_OK) {
		json_decref(*rootp);
		*rootp = NULL;
	}
	return e;
}

enum rt_error
rt_secrets_list(rt_client *c, const struct rt_list_opts *o,
    struct rt_secret_list *out)
{
	json_t *root;
	enum rt_error e;

	if (o == NULL)
		o = &no_list_opts;
	memset(out, 0, sizeof(*out));
	if ((e = rt_page_get(c, list_path, o, o->cursor, "secrets",
	    &root)) != RT_E_OK)
		return e;
	if (parse_list(root, out) == -1) {
		rt_secret_list_clear(out);
		e = rt_bad_response(c);
	}
	json_decref(root);
	return e;
}

enum rt_error
rt_secrets_list_all(rt_client *c, const struct rt_list_opts *o,
    struct rt_secret_list *out)
{
	json_t *root;
	enum rt_error e;

	if (o == NULL)
		o = &no_list_opts;
	memset(out, 0, sizeof(*out));
	if ((e = rt_pages_all(c, list_path, o, o->cursor, "secrets",
	    &root)) != RT_E_OK)
		return e;
	if (parse_list(root, out) == -1) {
		rt_secret_list_clear(out);
		e = rt_bad_response(c);
	}
	json_decref(root);
	return e;
}

static json_t *
token_body(const struct rt_token_opts *o)
{
	json_t *body, *scopes;
	size_t i;

	if ((body = json_object()) == NULL)
		return NULL;
	if ((o->description && rt_set_member(body, "description",
	    json_string(o->description))) ||
	    (o->role && rt_set_member(body, "role", json_string(o->role))) ||
	    (o->ttl_seconds && rt_set_member(body, "ttlSeconds",
	    json_integer((json_int_t)o->ttl_seconds)))) {
		json_decref(body);
		return NULL;
	}
	if (o->nscopes > 0) {
		if ((scopes = json_array()) == NULL ||
		    rt_set_member(body, "scopes", scopes)) {
			json_decref(body);
			return NULL;
		}
		for (i = 0; i < o->nscopes; i++)
			if (json_array_append_new(scopes,
			    json_string(o->scopes[i])) == -1) {
				json_decref(body);
				return NULL;
			}
	}
	return body;
}

enum rt_error
rt_tokens_create(rt_client *c, const struct rt_token_opts *o,
    struct rt_token *out)
{
	json_t *body, *root;
	enum rt_error e;

	if (o == NULL)
		o = &no_token_opts;
	memset(out, 0, sizeof(*out));
	if (o->role != NULL && strcmp(o->role, "member") != 0 &&
	    strcmp(o->role, "admin") != 0)
		return rt_set_error(c, RT_E_USAGE,
		    "role must be member or admin");
	if (o->ttl_seconds > LLONG_MAX)
		return rt_set_error(c, RT_E_USAGE, "ttl too large");
	if ((e = check_description(c, o->description)) != RT_E_OK)
		return e;
	if ((body = token_body(o)) == NULL)
		return rt_set_error(c, RT_E_USAGE,
		    "the description must be valid UTF-8 text");
	e = rt_request(c, "POST", "/v1/tokens", body, &root);
	json_decref(body);
	if (e != RT_E_OK)
		return e;
	if (parse_token(root, out, 1) == -1)
		e = rt_bad_response(c);
	json_decref(root);
	return e;
}

enum rt_error
rt_tokens_list_page(rt_client *c, const struct rt_token_list_opts *o,
    struct rt_token_list *out)
{
	json_t *root;
	enum rt_error e;

	if (o == NULL)
		o = &no_token_list_opts;
	memset(out, 0, sizeof(*out));
	if ((e = rt_page_get(c, token_list_path, o, o->cursor, "tokens",
	    &root)) != RT_E_OK)
		return e;
	if (parse_token_list(root, out) == -1) {
		rt_token_list_clear(out);
		e = rt_bad_response(c);
	}
	json_decref(root);
	return e;
}

enum rt_error
rt_tokens_list(rt_client *c, struct rt_token_list *out)
{
	json_t *root;
	enum rt_error e;

	memset(out, 0, sizeof(*out));
	if ((e = rt_pages_all(c, token_list_path, &no_token_list_opts, NULL,
	    "tokens", &root)) != RT_E_OK)
		return e;
	if (parse_token_list(root, out) == -1) {
		rt_token_list_clear(out);
		e = rt_bad_response(c);
	}
	json_decref(root);
	return e;
}

static int
path_safe_id(const char *id)
{
	size_t i, n = strlen(id);

	if (n == 0 || n > ID_MAX_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    id[i] == '_' || id[i] == '-'))
			return 0;
	return 1;
}

enum rt_error
rt_tokens_revoke(rt_client *c, const char *id)
{
	char path[RT_PATH_MAX];
	json_t *root;
	enum rt_error e;

	if (id == NULL || !path_safe_id(id))
		return rt_set_error(c, RT_E_USAGE, "invalid token id");
	snprintf(path, sizeof(path), "/v1/tokens/%s", id);
	if ((e = rt_request(c, "DELETE", path, NULL, &root)) != RT_E_OK)
		return e;
	if (!json_is_true(json_object_get(root, "revoked")))
		e = rt_bad_response(c);
	json_decref(root);
	return e;
}
