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

#include "b64.h"
#include "frontend.h"

#define JW_MIN	512
#define JW_TIME_MAX	32	/* json_time()'s buffer, as json.c sizes it */

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

/* Room for n more bytes and the final NUL; 0 once anything failed. */
static int
jw_room(struct jw *w, size_t n)
{
	if (!w->err && (n > SIZE_MAX / 2 || w->len + n + 1 > w->cap))
		jw_grow(w, n);
	return !w->err;
}

/* The most a string of n bytes takes quoted: \u00XX for every byte. */
#define JW_STR_MAX(n)	(6 * (n) + 2)

/*
 * Writes s quoted and escaped at d, which has JW_STR_MAX(n) bytes of
 * room; the end of what it wrote, or NULL when s is not UTF-8.
 * Printable ASCII, nearly all of what metadata holds, is copied as is.
 */
static char *
jw_esc(char *d, const char *str, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str;
	size_t i, k;

	*d++ = '"';
	for (i = 0; i < n; i += k) {
		unsigned char ch = s[i];

		k = 1;
		if (ch >= 0x20 && ch < 0x80 && ch != '"' && ch != '\\') {
			*d++ = (char)ch;
			continue;
		}
		if (ch >= 0x80) {
			if ((k = jw_utf8_len(s + i, n - i)) == 0)
				return NULL;
			memcpy(d, s + i, k);
			d += k;
			continue;
		}
		*d++ = '\\';
		switch (ch) {
		case '"':  *d++ = '"'; break;
		case '\\': *d++ = '\\'; break;
		case '\b': *d++ = 'b'; break;
		case '\f': *d++ = 'f'; break;
		case '\n': *d++ = 'n'; break;
		case '\r': *d++ = 'r'; break;
		case '\t': *d++ = 't'; break;
		default:
			memcpy(d, "u00", 3);
			d[3] = hex[ch >> 4];
			d[4] = hex[ch & 0xf];
			d += 5;
			break;
		}
	}
	*d++ = '"';
	return d;
}

/* A string, quoted and escaped; text that is not UTF-8 is an error. */
void
jw_str(struct jw *w, const char *str, size_t n)
{
	char *end;

	if (n > (SIZE_MAX / 2 - 2) / 6) {
		w->err = 1;
		return;
	}
	if (!jw_room(w, JW_STR_MAX(n)))
		return;
	if ((end = jw_esc(w->buf + w->len, str, n)) == NULL) {
		w->err = 1;
		return;
	}
	w->len = (size_t)(end - w->buf);
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

/* A literal at d; the end of it. */
#define JW_LIT(d, s)	(memcpy((d), (s), sizeof(s) - 1), (d) + sizeof(s) - 1)

/* The decimal digits of v at d; the end of them. */
static char *
jw_dec(char *d, uint64_t v)
{
	char t[20];
	size_t n = 0;

	do {
		t[sizeof(t) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	memcpy(d, t + sizeof(t) - n, n);
	return d + n;
}

/* A json_time() string, quoted: digits and -:TZ, nothing to escape. */
static char *
jw_time(char *d, uint64_t t)
{
	char b[JW_TIME_MAX];
	size_t n;

	json_time(t, b, sizeof(b));
	n = strlen(b);
	*d++ = '"';
	memcpy(d, b, n);
	d += n;
	*d++ = '"';
	return d;
}

/*
 * The metadata fields, in json_meta()'s order, without the braces.  A
 * list page writes 100 of these: the room for the longest escaping of
 * every field is taken once, then written without a check per piece.
 */
void
jw_meta_fields(struct jw *w, const struct secret_meta *m)
{
	const char *f[7] = { m->name, m->user_id, m->org_id, m->category,
	    m->description, m->created_by, m->updated_by };
	size_t n[7], room = 180 + 3 * (JW_TIME_MAX + 2) + 20, i;
	char *d;

	for (i = 0; i < 7; i++) {
		n[i] = strlen(f[i]);
		room += JW_STR_MAX(n[i]);
	}
	if (!jw_room(w, room))
		return;
	d = w->buf + w->len;
	d = JW_LIT(d, "\"name\":");
	if ((d = jw_esc(d, f[0], n[0])) == NULL)
		goto bad;
	if (m->scope == SCOPE_ORG)
		d = JW_LIT(d, ",\"scope\":\"org\",\"userId\":null");
	else {
		d = JW_LIT(d, ",\"scope\":\"user\",\"userId\":");
		if ((d = jw_esc(d, f[1], n[1])) == NULL)
			goto bad;
	}
	d = JW_LIT(d, ",\"orgId\":");
	if ((d = jw_esc(d, f[2], n[2])) == NULL)
		goto bad;
	d = JW_LIT(d, ",\"category\":");
	if ((d = jw_esc(d, f[3], n[3])) == NULL)
		goto bad;
	d = JW_LIT(d, ",\"description\":");
	if ((d = jw_esc(d, f[4], n[4])) == NULL)
		goto bad;
	d = JW_LIT(d, ",\"version\":");
	d = jw_dec(d, m->version);
	d = JW_LIT(d, ",\"createdAt\":");
	d = jw_time(d, m->created_at);
	d = JW_LIT(d, ",\"updatedAt\":");
	d = jw_time(d, m->updated_at);
	d = JW_LIT(d, ",\"createdBy\":");
	if ((d = jw_esc(d, f[5], n[5])) == NULL)
		goto bad;
	d = JW_LIT(d, ",\"updatedBy\":");
	if ((d = jw_esc(d, f[6], n[6])) == NULL)
		goto bad;
	/* Only a secret that has one shows it: the documented shape of the
	 * others stays exactly as it was. */
	if (m->expires_at != 0) {
		d = JW_LIT(d, ",\"expiresAt\":");
		d = jw_time(d, m->expires_at);
	}
	w->len = (size_t)(d - w->buf);
	return;
bad:
	w->err = 1;
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

/*
 * One record's metadata, with its value when val is not NULL: "value"
 * when the bytes are UTF-8 without NUL, else "value":null and
 * "valueBase64".
 */
char *
jw_meta_text(const struct secret_meta *m, const void *val, size_t len)
{
	struct jw w;
	int text = val != NULL && valid_utf8_text(val, len);

	jw_init(&w, 320 + (val == NULL ? 0 : text ? len + len / 8 + 16 :
	    B64_ENC_LEN(len) + 40));
	jw_raw(&w, "{", 1);
	jw_meta_fields(&w, m);
	if (text) {
		jw_key(&w, "value", 0);
		jw_str(&w, val, len);
	} else if (val != NULL) {
		jw_lit(&w, ",\"value\":null,\"valueBase64\":\"");
		if (jw_room(&w, B64_ENC_LEN(len))) {
			b64_encode(val, len, w.buf + w.len);
			w.len += B64_ENC_LEN(len);
		}
		jw_raw(&w, "\"", 1);
	}
	jw_raw(&w, "}", 1);
	return jw_finish(&w);
}
