/*
 * The input rules both processes apply, and the status table.  Each rule
 * is written once, here; the broker re-checks everything it receives.
 */
#include "config.h"

#include <string.h>

#include "proto.h"
#include "tool.h"

static const char *categories[] = {
	"provider", "tool", "agent", "workflow", "custom", NULL
};

/* ^[A-Za-z_][A-Za-z0-9_]{0,127}$ */
int
valid_secret_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '_' || (c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9'))
			continue;
		return 0;
	}
	return 1;
}

int
valid_category(const char *s)
{
	int i;

	for (i = 0; categories[i] != NULL; i++)
		if (strcmp(s, categories[i]) == 0)
			return 1;
	return 0;
}

/* User and org ids: what Linux user names allow, no separators. */
int
valid_id(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > ID_MAX_LEN || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		    c == '.' || (c == '$' && i == n - 1))
			continue;
		return 0;
	}
	return 1;
}

/* A token id: exactly TOKEN_ID_LEN lowercase hex digits. */
int
valid_token_id(const char *s, size_t n)
{
	size_t i;

	if (n != TOKEN_ID_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* What the front-end's http_request_id() makes: lowercase hex. */
int
valid_request_id(const char *s)
{
	size_t i;

	for (i = 0; i < REQUEST_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

static int
is_b64url(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' ||
		    s[i] == '_'))
			return 0;
	return 1;
}

/* A bearer token exactly as the broker makes them: "rts_" id "_" secret. */
int
valid_token(const char *t)
{
	const char *p = t + sizeof(TOKEN_PREFIX) - 1;

	return strnlen(t, TOKEN_LEN + 1) == TOKEN_LEN &&
	    strncmp(t, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1) == 0 &&
	    valid_token_id(p, TOKEN_ID_LEN) && p[TOKEN_ID_LEN] == '_' &&
	    is_b64url(p + TOKEN_ID_LEN + 1, TOKEN_B64_LEN);
}

/*
 * A bearer token as a client may present one: "rts_" and token
 * characters, at most TOKEN_STR_MAX.  Whether it is one of ours is for
 * valid_token() and then the store to say.
 */
int
valid_bearer(const char *t, size_t n)
{
	size_t p = sizeof(TOKEN_PREFIX) - 1;

	return n > p && n <= TOKEN_STR_MAX &&
	    strncmp(t, TOKEN_PREFIX, p) == 0 && is_b64url(t + p, n - p);
}

/* 1 to max visible ASCII characters: no space, control or 8-bit byte. */
int
valid_printable(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1), i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * The records' rules.  Their strings are fixed-size fields: a length of
 * the whole field (no NUL) is over every limit, so each check fails on it.
 */
#define FIELD_LEN(f)	strnlen((f), sizeof(f))

/* A secret's metadata as the store keeps it and a reply shows it. */
int
valid_secret_meta(const struct secret_meta *m)
{
	int owner;

	if (m->scope == SCOPE_ORG)
		owner = m->user_id[0] == '\0';
	else
		owner = m->scope == SCOPE_USER &&
		    valid_id(m->user_id, FIELD_LEN(m->user_id));
	return owner && valid_secret_name(m->name, FIELD_LEN(m->name)) &&
	    valid_id(m->org_id, FIELD_LEN(m->org_id)) &&
	    FIELD_LEN(m->category) < sizeof(m->category) &&
	    valid_category(m->category) &&
	    FIELD_LEN(m->description) <= DESC_MAX_LEN && m->version >= 1 &&
	    valid_id(m->created_by, FIELD_LEN(m->created_by)) &&
	    valid_id(m->updated_by, FIELD_LEN(m->updated_by)) &&
	    m->expires_at <= EXPIRES_MAX;
}

/* A token's metadata, as the store keeps it and a reply shows it. */
int
valid_token_meta(const struct token_meta *t)
{
	return valid_token_id(t->id, FIELD_LEN(t->id)) &&
	    valid_id(t->user_id, FIELD_LEN(t->user_id)) &&
	    valid_id(t->org_id, FIELD_LEN(t->org_id)) &&
	    (t->role == ROLE_MEMBER || t->role == ROLE_ADMIN) &&
	    FIELD_LEN(t->description) <= DESC_MAX_LEN &&
	    valid_token_scopes(&t->scopes);
}

/* Each scope a tool name or "*", NUL-terminated, none twice. */
int
valid_token_scopes(const struct token_scopes *s)
{
	size_t i, j, len;

	if (s->n > TOKEN_SCOPES_MAX)
		return 0;
	for (i = 0; i < s->n; i++) {
		len = FIELD_LEN(s->tool[i]);
		if (len == sizeof(s->tool[i]) ||
		    (strcmp(s->tool[i], SCOPE_ALL_TOOLS) != 0 &&
		    !valid_tool_name(s->tool[i], len)))
			return 0;
		for (j = 0; j < i; j++)
			if (strcmp(s->tool[i], s->tool[j]) == 0)
				return 0;
	}
	return 1;
}

/* Whether scopes reach tool; an unscoped token's reach every tool. */
int
token_scopes_allow(const struct token_scopes *s, const char *tool)
{
	size_t i;

	if (s->n == 0)
		return 1;
	if (tool == NULL)
		return 0;
	for (i = 0; i < s->n && i < TOKEN_SCOPES_MAX; i++)
		if (strcmp(s->tool[i], SCOPE_ALL_TOOLS) == 0 ||
		    strcmp(s->tool[i], tool) == 0)
			return 1;
	return 0;
}

static const struct {
	const char	*code;
	int		 http;
} statuses[RT_MAX] = {
	[RT_OK] = { "ok", 200 },
	[RT_CREATED] = { "created", 201 },
	[RT_INVALID] = { "invalid_request", 400 },
	[RT_UNAUTH] = { "unauthenticated", 401 },
	[RT_FORBIDDEN] = { "forbidden", 403 },
	[RT_NOTFOUND] = { "not_found", 404 },
	[RT_TOOLARGE] = { "too_large", 413 },
	[RT_RATELIMIT] = { "rate_limited", 429 },
	[RT_QUOTA] = { "quota_exceeded", 403 },
	[RT_INTERNAL] = { "internal", 500 },
	[RT_UNAVAILABLE] = { "unavailable", 503 },
	[RT_UPSTREAM] = { "upstream_failed", 502 },
	[RT_TIMEOUT] = { "upstream_timeout", 504 },
	[RT_NOSPACE] = { "insufficient_storage", 507 },
	[RT_CONFLICT] = { "conflict", 409 },
};

const char *
rt_status_code(enum rt_status s)
{
	return (unsigned)s < RT_MAX ? statuses[s].code : "internal";
}

int
rt_status_http(enum rt_status s)
{
	return (unsigned)s < RT_MAX ? statuses[s].http : 500;
}
