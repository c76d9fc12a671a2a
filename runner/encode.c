/*
 * The encodings a credential value may travel in: percent-encoding, JSON
 * string escaping, hex and base64.  URLs are built with them (http.c) and
 * redaction searches for each (redact.c).  Every function measures when
 * out is NULL, so callers allocate exactly and nothing is reallocated.
 */
#include "config.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "runner.h"

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

static int
unreserved(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* Everything but RFC 3986's unreserved characters and those in keep. */
size_t
pct_encode(const uint8_t *in, size_t n, char *out, const char *keep,
    int flags)
{
	const char *hx = (flags & PCT_LOWER) ? hex_lower : hex_upper;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		uint8_t c = in[i];

		if (unreserved(c) || (c != '\0' && keep != NULL &&
		    strchr(keep, c) != NULL)) {
			if (out != NULL)
				out[o] = (char)c;
			o++;
		} else if (c == ' ' && (flags & PCT_PLUS)) {
			if (out != NULL)
				out[o] = '+';
			o++;
		} else {
			if (out != NULL) {
				out[o] = '%';
				out[o + 1] = hx[c >> 4];
				out[o + 2] = hx[c & 0xf];
			}
			o += 3;
		}
	}
	return o;
}

/* The length of the UTF-8 sequence at in, and its code point; 0: bad. */
static size_t
utf8_decode(const uint8_t *in, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c;

	if (in[0] < 0x80) {
		*cp = in[0];
		return 1;
	}
	if ((in[0] & 0xe0) == 0xc0) {
		len = 2;
		c = in[0] & 0x1f;
	} else if ((in[0] & 0xf0) == 0xe0) {
		len = 3;
		c = in[0] & 0x0f;
	} else if ((in[0] & 0xf8) == 0xf0) {
		len = 4;
		c = in[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((in[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (in[i] & 0x3f);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static size_t
put_u(char *out, size_t o, uint32_t u, const char *hx)
{
	if (out != NULL) {
		out[o] = '\\';
		out[o + 1] = 'u';
		out[o + 2] = hx[(u >> 12) & 0xf];
		out[o + 3] = hx[(u >> 8) & 0xf];
		out[o + 4] = hx[(u >> 4) & 0xf];
		out[o + 5] = hx[u & 0xf];
	}
	return 6;
}

static size_t
put_c(char *out, size_t o, const char *s, size_t n)
{
	if (out != NULL)
		memcpy(out + o, s, n);
	return n;
}

/*
 * The inside of a JSON string holding in, as encoders write it: jansson
 * (flags 0, JE_ASCII, JE_SLASH), Python's json (JE_ASCII | JE_LOWER |
 * JE_DEL), JavaScript (JE_LOWER), PHP (JE_SLASH | JE_ASCII | JE_LOWER).
 * Bytes that are not UTF-8 are copied as they are.
 */
size_t
json_escape(const uint8_t *in, size_t n, char *out, int flags)
{
	const char *hx = (flags & JE_LOWER) ? hex_lower : hex_upper;
	size_t i = 0, o = 0, len;
	uint32_t cp, u;
	uint8_t c;

	while (i < n) {
		c = in[i];
		if (c == '"')
			o += put_c(out, o, "\\\"", 2);
		else if (c == '\\')
			o += put_c(out, o, "\\\\", 2);
		else if (c == '/' && (flags & JE_SLASH))
			o += put_c(out, o, "\\/", 2);
		else if (c == '\b')
			o += put_c(out, o, "\\b", 2);
		else if (c == '\f')
			o += put_c(out, o, "\\f", 2);
		else if (c == '\n')
			o += put_c(out, o, "\\n", 2);
		else if (c == '\r')
			o += put_c(out, o, "\\r", 2);
		else if (c == '\t')
			o += put_c(out, o, "\\t", 2);
		else if (c < 0x20 || (c == 0x7f && (flags & JE_DEL)))
			o += put_u(out, o, c, hx);
		else if (c >= 0x80 && (flags & JE_ASCII) &&
		    (len = utf8_decode(in + i, n - i, &cp)) > 0) {
			if (cp >= 0x10000) {
				u = cp - 0x10000;
				o += put_u(out, o, 0xd800 | (u >> 10), hx);
				o += put_u(out, o, 0xdc00 | (u & 0x3ff), hx);
			} else
				o += put_u(out, o, cp, hx);
			i += len;
			continue;
		} else {
			if (out != NULL)
				out[o] = (char)c;
			o++;
		}
		i++;
	}
	return o;
}

size_t
hex_encode(const uint8_t *in, size_t n, char *out, int upper)
{
	const char *hx = upper ? hex_upper : hex_lower;
	size_t i;

	if (out != NULL)
		for (i = 0; i < n; i++) {
			out[2 * i] = hx[in[i] >> 4];
			out[2 * i + 1] = hx[in[i] & 0xf];
		}
	return 2 * n;
}

/*
 * variant: one of libsodium's sodium_base64_VARIANT_*.  out needs one
 * byte more than the length returned, for the NUL libsodium writes.
 */
size_t
b64_encode(const uint8_t *in, size_t n, char *out, int variant)
{
	size_t len = sodium_base64_ENCODED_LEN(n, variant);

	if (out != NULL)
		sodium_bin2base64(out, len, in, n, variant);
	return len - 1;
}

/* Memory that may hold a value: freed only after it is wiped. */
void *
wmalloc(size_t n)
{
	return malloc(n == 0 ? 1 : n);
}

void
wfree(void *p, size_t n)
{
	if (p == NULL)
		return;
	sodium_memzero(p, n);
	free(p);
}

/*
 * A growing buffer for text that may hold a value (URLs, header lines,
 * environment strings): it grows by copy so the old block can be wiped,
 * and is wiped when freed.  After a failed allocation every call is a
 * no-op and err stays set, so callers check once at the end.
 */
static void
wb_reserve(struct wbuf *b, size_t more)
{
	size_t ncap;
	char *np;

	if (b->err)
		return;
	if (more > SIZE_MAX / 2 - b->len) {
		b->err = 1;
		return;
	}
	if (b->len + more + 1 <= b->cap)
		return;
	ncap = b->cap == 0 ? 256 : b->cap;
	while (ncap < b->len + more + 1)
		ncap *= 2;
	if ((np = wmalloc(ncap)) == NULL) {
		b->err = 1;
		return;
	}
	if (b->len > 0)
		memcpy(np, b->p, b->len);
	wfree(b->p, b->cap);
	b->p = np;
	b->cap = ncap;
}

void
wb_add(struct wbuf *b, const void *s, size_t n)
{
	wb_reserve(b, n);
	if (b->err)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
wb_str(struct wbuf *b, const char *s)
{
	wb_add(b, s, strlen(s));
}

/* Percent-encoded: everything but the unreserved characters. */
void
wb_pct(struct wbuf *b, const uint8_t *s, size_t n)
{
	size_t len = pct_encode(s, n, NULL, NULL, 0);

	wb_reserve(b, len);
	if (b->err)
		return;
	pct_encode(s, n, b->p + b->len, NULL, 0);
	b->len += len;
	b->p[b->len] = '\0';
}

void
wb_free(struct wbuf *b)
{
	wfree(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}
