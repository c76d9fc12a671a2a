/*
 * A JSON writer for the fixed reply shapes that carry secret metadata
 * (list, get, reveal, create): jansson's object tree cost more than the
 * rest of a list page together.  Output is byte for byte what jansson's
 * compact, order-preserving dump gives for the same object (a unit test
 * holds them to it).  Buffers may hold a value: wiped whenever freed.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

#define JW_MIN	512

static void
jw_grow(struct jw *w, size_t more)
{
	size_t cap;
	char *nb;

	if (w->err)
		return;
	if (more > SIZE_MAX / 2 - w->len) {
		w->err = 1;
		return;
	}
	for (cap = w->cap ? w->cap : JW_MIN; cap < w->len + more + 1;)
		cap *= 2;
	/* Not realloc: the old copy may hold a value and is wiped first. */
	if ((nb = malloc(cap)) == NULL) {
		w->err = 1;
		return;
	}
	if (w->buf != NULL) {
		memcpy(nb, w->buf, w->len);
		explicit_bzero(w->buf, w->cap);
		free(w->buf);
	}
	w->buf = nb;
	w->cap = cap;
}

void
jw_init(struct jw *w, size_t hint)
{
	memset(w, 0, sizeof(*w));
	jw_grow(w, hint);
}

void
jw_raw(struct jw *w, const char *s, size_t n)
{
	if (w->len + n + 1 > w->cap)
		jw_grow(w, n);
	if (w->err)
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

void
jw_lit(struct jw *w, const char *s)
{
	jw_raw(w, s, strlen(s));
}

/*
 * Length of the UTF-8 sequence at s (at most n bytes), or 0 when it is
 * not one jansson accepts: no overlong forms, no surrogates, nothing
 * above U+10FFFF.
 */
size_t
jw_utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (len > n)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * A string, quoted and escaped; text that is not UTF-8 is an error.
 * Printable ASCII, nearly all of what metadata holds, is copied in runs
 * without a call per byte.
 */
void
jw_str(struct jw *w, const char *str, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str;
	size_t i, run, k;
	char esc[6];

	jw_raw(w, "\"", 1);
	for (i = 0; i < n && !w->err; i += run) {
		for (run = 0; i + run < n; run += k) {
			unsigned char ch = s[i + run];

			if (ch >= 0x20 && ch < 0x80 && ch != '"' &&
			    ch != '\\') {
				k = 1;
				continue;
			}
			if (ch < 0x80)
				break;
			if ((k = jw_utf8_len(s + i + run, n - i - run)) == 0) {
				w->err = 1;
				return;
			}
		}
		if (run > 0) {
			jw_raw(w, str + i, run);
			continue;
		}
		esc[0] = '\\';
		switch (s[i]) {
		case '"':  esc[1] = '"'; k = 2; break;
		case '\\': esc[1] = '\\'; k = 2; break;
		case '\b': esc[1] = 'b'; k = 2; break;
		case '\f': esc[1] = 'f'; k = 2; break;
		case '\n': esc[1] = 'n'; k = 2; break;
		case '\r': esc[1] = 'r'; k = 2; break;
		case '\t': esc[1] = 't'; k = 2; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[s[i] >> 4];
			esc[5] = hex[s[i] & 0xf];
			k = 6;
			break;
		}
		jw_raw(w, esc, k);
		run = 1;
	}
	jw_raw(w, "\"", 1);
}

void
jw_cstr(struct jw *w, const char *s)
{
	jw_str(w, s, strlen(s));
}

/* "key": with the comma before it unless it opens its object. */
void
jw_key(struct jw *w, const char *key, int first)
{
	if (!first)
		jw_raw(w, ",", 1);
	jw_cstr(w, key);
	jw_raw(w, ":", 1);
}

void
jw_u64(struct jw *w, uint64_t v)
{
	char d[24];
	int n;

	n = snprintf(d, sizeof(d), "%llu", (unsigned long long)v);
	jw_raw(w, d, (size_t)n);
}

/* The metadata fields, in json_meta()'s order, without the braces. */
void
jw_meta_fields(struct jw *w, const struct secret_meta *m)
{
	char t[32];

	jw_key(w, "name", 1);
	jw_cstr(w, m->name);
	jw_key(w, "scope", 0);
	jw_lit(w, m->scope == SCOPE_ORG ? "\"org\"" : "\"user\"");
	jw_key(w, "userId", 0);
	if (m->scope == SCOPE_ORG)
		jw_lit(w, "null");
	else
		jw_cstr(w, m->user_id);
	jw_key(w, "orgId", 0);
	jw_cstr(w, m->org_id);
	jw_key(w, "category", 0);
	jw_cstr(w, m->category);
	jw_key(w, "description", 0);
	jw_cstr(w, m->description);
	jw_key(w, "version", 0);
	jw_u64(w, m->version);
	jw_key(w, "createdAt", 0);
	jw_cstr(w, json_time(m->created_at, t, sizeof(t)));
	jw_key(w, "updatedAt", 0);
	jw_cstr(w, json_time(m->updated_at, t, sizeof(t)));
	jw_key(w, "createdBy", 0);
	jw_cstr(w, m->created_by);
	jw_key(w, "updatedBy", 0);
	jw_cstr(w, m->updated_by);
}

/* The text, NUL-terminated, for the caller to free; NULL on any error. */
char *
jw_finish(struct jw *w)
{
	if (!w->err && w->len + 1 > w->cap)
		jw_grow(w, 1);
	if (w->err) {
		jw_discard(w);
		return NULL;
	}
	w->buf[w->len] = '\0';
	return w->buf;
}

void
jw_discard(struct jw *w)
{
	if (w->buf != NULL) {
		explicit_bzero(w->buf, w->cap);
		free(w->buf);
	}
	memset(w, 0, sizeof(*w));
}

/* One record's metadata, with its value when val is not NULL. */
char *
jw_meta_text(const struct secret_meta *m, const void *val, size_t len)
{
	struct jw w;

	jw_init(&w, 320 + (val != NULL ? len + len / 8 + 16 : 0));
	jw_raw(&w, "{", 1);
	jw_meta_fields(&w, m);
	if (val != NULL) {
		jw_key(&w, "value", 0);
		jw_str(&w, val, len);
	}
	jw_raw(&w, "}", 1);
	return jw_finish(&w);
}
