/*
 * Redaction (runner/redact.c) and the encoders it searches for
 * (runner/encode.c): each encoding of a value is replaced by one marker,
 * overlapping values by one marker named after the longer, values at the
 * edges of a buffer, counts, what is left when a stream is cut short, and
 * a marker that would spell a value.  Expected encodings come from
 * libsodium, jansson or literals, never from the code under test.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "runner.h"
#include "tap.h"

/* A value with a space, '/', '+', '"', '\', a control byte and é. */
static const char nasty[] = "s3cr/t+k \"q\"\\\x01\xc3\xa9&=?#@x";

struct buf {
	char	*p;
	size_t	 len;
};

static struct buf
run(struct redactor *r, const char *text, size_t n, uint32_t *count,
    int *rc)
{
	struct buf b;
	uint8_t *out;
	size_t outlen;

	*rc = redact_apply(r, (const uint8_t *)text, n, &out, &outlen, count);
	b.p = calloc(1, outlen + 1);
	if (out != NULL)
		memcpy(b.p, out, outlen);
	b.len = outlen;
	wfree(out, outlen + 1);
	return b;
}

/* Redacts "<" + enc + ">" and checks for exactly one marker. */
static void
one(struct redactor *r, const char *enc, size_t n, const char *what)
{
	char *text, want[64];
	uint32_t count;
	struct buf b;
	int rc;

	text = malloc(n + 2);
	text[0] = '<';
	memcpy(text + 1, enc, n);
	text[n + 1] = '>';
	b = run(r, text, n + 2, &count, &rc);
	snprintf(want, sizeof(want), "<[REDACTED:apiKey]>");
	ok(rc == 0 && count == 1 && strcmp(b.p, want) == 0,
	    "%s: one marker, nothing else changed (count %u, got %.80s)",
	    what, count, b.p);
	free(b.p);
	free(text);
}

static char *
jansson_escape(const char *v, size_t flags)
{
	json_t *s = json_stringn(v, strlen(v));
	char *d = json_dumps(s, JSON_ENCODE_ANY | flags), *inner;
	size_t n = strlen(d);

	inner = strndup(d + 1, n - 2);
	free(d);
	json_decref(s);
	return inner;
}

static char *
sodium_b64(const char *v, size_t n, int variant)
{
	size_t len = sodium_base64_ENCODED_LEN(n, variant);
	char *o = malloc(len);

	sodium_bin2base64(o, len, (const unsigned char *)v, n, variant);
	return o;
}

/* A second, plain percent-encoder for the expected strings. */
static char *
pct(const char *v, int lower, int plus)
{
	char *o = malloc(strlen(v) * 3 + 1), *q = o;
	const unsigned char *p;

	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (strchr("-._~", *p) != NULL || (*p >= '0' && *p <= '9') ||
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			*q++ = (char)*p;
		else if (*p == ' ' && plus)
			*q++ = '+';
		else
			q += sprintf(q, lower ? "%%%02x" : "%%%02X", *p);
	}
	*q = '\0';
	return o;
}

static void
test_encoders(void)
{
	const char *v = "a b/?#@\xc3\xa9~";
	char out[256];
	size_t n;

	n = pct_encode((const uint8_t *)v, strlen(v), out, NULL, 0);
	out[n] = '\0';
	ok(strcmp(out, "a%20b%2F%3F%23%40%C3%A9~") == 0,
	    "pct_encode: all but unreserved, upper hex (%s)", out);
	ok(pct_encode((const uint8_t *)v, strlen(v), NULL, NULL, 0) == n,
	    "pct_encode: measuring gives the length written");
	n = pct_encode((const uint8_t *)v, strlen(v), out, "/", PCT_LOWER |
	    PCT_PLUS);
	out[n] = '\0';
	ok(strcmp(out, "a+b/%3f%23%40%c3%a9~") == 0,
	    "pct_encode: lower hex, '+' for space, '/' kept (%s)", out);
	n = json_escape((const uint8_t *)"\xf0\x9f\x98\x80\x7f/", 6, out,
	    JE_ASCII | JE_LOWER | JE_DEL | JE_SLASH);
	out[n] = '\0';
	ok(strcmp(out, "\\ud83d\\ude00\\u007f\\/") == 0,
	    "json_escape: surrogate pair, DEL and slash escaped (%s)", out);
	n = json_escape((const uint8_t *)"\xff\xc3", 2, out, JE_ASCII);
	ok(n == 2 && memcmp(out, "\xff\xc3", 2) == 0,
	    "json_escape: bytes that are not UTF-8 are copied");
	n = hex_encode((const uint8_t *)"\x00\xab", 2, out, 1);
	out[n] = '\0';
	ok(strcmp(out, "00AB") == 0, "hex_encode: upper case (%s)", out);
	n = b64_encode((const uint8_t *)"ab?", 3, out,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	out[n] = '\0';
	ok(strcmp(out, "YWI_") == 0, "b64_encode: base64url (%s)", out);
}

static void
test_json_like_jansson(void)
{
	static const size_t jflags[] = { 0, JSON_ENSURE_ASCII,
	    JSON_ESCAPE_SLASH, JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH };
	static const int eflags[] = { 0, JE_ASCII, JE_SLASH,
	    JE_ASCII | JE_SLASH };
	char out[256], *want;
	size_t i, n;

	for (i = 0; i < 4; i++) {
		n = json_escape((const uint8_t *)nasty, strlen(nasty), out,
		    eflags[i]);
		out[n] = '\0';
		want = jansson_escape(nasty, jflags[i]);
		ok(strcmp(out, want) == 0, "json_escape matches jansson "
		    "with flags 0x%zx (%s)", jflags[i], out);
		free(want);
	}
}

static struct redactor *
slot_redactor(const char *v, size_t n, const char *tmpl)
{
	struct redactor *r = redact_new();

	if (redact_add(r, "apiKey", (const uint8_t *)v, n, tmpl) == -1)
		abort();
	return r;
}

static void
test_every_encoding(void)
{
	static const int variants[] = {
		sodium_base64_VARIANT_ORIGINAL,
		sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
		sodium_base64_VARIANT_URLSAFE,
		sodium_base64_VARIANT_URLSAFE_NO_PADDING
	};
	static const char *vnames[] = { "base64", "base64 without padding",
	    "base64url", "base64url without padding" };
	struct redactor *r = slot_redactor(nasty, strlen(nasty), "{}");
	char *e, hex[128];
	size_t i;

	one(r, nasty, strlen(nasty), "raw");
	e = jansson_escape(nasty, 0);
	one(r, e, strlen(e), "JSON-escaped as jansson writes it");
	free(e);
	e = jansson_escape(nasty, JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH);
	one(r, e, strlen(e), "JSON-escaped with \\/ and \\uXXXX");
	free(e);
	/* What Python's json.dumps writes. */
	e = "s3cr/t+k \\\"q\\\"\\\\\\u0001\\u00e9&=?#@x";
	one(r, e, strlen(e), "JSON-escaped as Python writes it");
	e = pct(nasty, 0, 0);
	one(r, e, strlen(e), "percent-encoded, upper hex");
	free(e);
	e = pct(nasty, 1, 0);
	one(r, e, strlen(e), "percent-encoded, lower hex");
	free(e);
	e = pct(nasty, 0, 1);
	one(r, e, strlen(e), "percent-encoded, '+' for space");
	free(e);
	for (i = 0; i < 4; i++) {
		e = sodium_b64(nasty, strlen(nasty), variants[i]);
		one(r, e, strlen(e), vnames[i]);
		free(e);
	}
	sodium_bin2hex(hex, sizeof(hex), (const unsigned char *)nasty,
	    strlen(nasty));
	one(r, hex, strlen(hex), "hex, lower case");
	for (i = 0; hex[i] != '\0'; i++)
		if (hex[i] >= 'a' && hex[i] <= 'f')
			hex[i] = (char)(hex[i] - 'a' + 'A');
	one(r, hex, strlen(hex), "hex, upper case");
	redact_free(r);

	/* A value with a NUL byte and bytes that are not text. */
	r = slot_redactor("\x00\xff\x10zz\x00", 6, "{}");
	one(r, "\x00\xff\x10zz\x00", 6, "binary value, raw");
	e = sodium_b64("\x00\xff\x10zz\x00", 6,
	    sodium_base64_VARIANT_ORIGINAL);
	one(r, e, strlen(e), "binary value, base64");
	free(e);
	redact_free(r);
}

static void
test_rendered(void)
{
	struct redactor *r = slot_redactor("tok123xyz", 9, "Bearer {}");
	uint32_t count;
	struct buf b;
	char *e;
	int rc;

	b = run(r, "Authorization: Bearer tok123xyz\n", 32, &count, &rc);
	ok(rc == 0 && count == 1 &&
	    strcmp(b.p, "Authorization: [REDACTED:apiKey]\n") == 0,
	    "rendered form \"Bearer {}\": the whole of it is one marker (%s)",
	    b.p);
	free(b.p);
	e = sodium_b64("Bearer tok123xyz", 16,
	    sodium_base64_VARIANT_ORIGINAL);
	one(r, e, strlen(e), "rendered form, base64");
	free(e);
	e = "Bearer%20tok123xyz";
	one(r, e, strlen(e), "rendered form, percent-encoded");
	e = "Bearer+tok123xyz";
	one(r, e, strlen(e), "rendered form, form-encoded");
	redact_free(r);

	/* Basic auth: base64 of "user:" + value. */
	r = slot_redactor("pa55word!", 9, "api:{}");
	e = sodium_b64("api:pa55word!", 13, sodium_base64_VARIANT_ORIGINAL);
	one(r, e, strlen(e), "basic auth: base64 of the rendered user:value");
	free(e);
	redact_free(r);
}

/* Base64 of the value between other bytes, at each alignment. */
static void
test_b64_alignment(void)
{
	static const char *pre[] = { "", "x", "xy", "xyz" };
	const char *v = "Zm9vYmFyLongerValue";
	struct redactor *r = slot_redactor(v, strlen(v), NULL);
	char text[128], *e;
	uint32_t count;
	struct buf b;
	size_t i;
	int rc;

	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "%s%s\n", pre[i], v);
		e = sodium_b64(text, strlen(text),
		    sodium_base64_VARIANT_ORIGINAL);
		b = run(r, e, strlen(e), &count, &rc);
		ok(rc == 0 && count == 1 && strstr(b.p, "[REDACTED:apiKey]")
		    != NULL && strlen(b.p) <= strlen("[REDACTED:apiKey]") + 8,
		    "base64 of %zu byte(s) + value + newline: the value's "
		    "characters are redacted (%s)", strlen(pre[i]), b.p);
		free(b.p);
		free(e);
	}
	redact_free(r);
	r = slot_redactor("short", 5, NULL);
	e = sodium_b64("xshort", 6, sodium_base64_VARIANT_ORIGINAL);
	b = run(r, e, strlen(e), &count, &rc);
	ok(rc == 0 && count == 0, "a value under 8 bytes is not searched for "
	    "at other base64 alignments (%s)", b.p);
	free(b.p);
	free(e);
	redact_free(r);
}

static void
test_overlaps(void)
{
	struct redactor *r = redact_new();
	uint32_t count;
	struct buf b;
	int rc;

	redact_add(r, "a", (const uint8_t *)"secret", 6, NULL);
	redact_add(r, "b", (const uint8_t *)"secret123", 9, NULL);
	b = run(r, "secret123 secret", 16, &count, &rc);
	ok(rc == 0 && count == 2 &&
	    strcmp(b.p, "[REDACTED:b] [REDACTED:a]") == 0,
	    "a value inside a longer one: the longer is named (%s)", b.p);
	free(b.p);
	redact_free(r);

	r = redact_new();
	redact_add(r, "a", (const uint8_t *)"abcdef12", 8, NULL);
	redact_add(r, "b", (const uint8_t *)"def12345", 8, NULL);
	b = run(r, "<abcdef12345>", 13, &count, &rc);
	ok(rc == 0 && count == 1 && strcmp(b.p, "<[REDACTED:a]>") == 0,
	    "two values that overlap: one marker over both (%s)", b.p);
	free(b.p);
	redact_free(r);

	r = slot_redactor("SECRET", 6, NULL);
	b = run(r, "SECRETSECRET", 12, &count, &rc);
	ok(rc == 0 && count == 2 &&
	    strcmp(b.p, "[REDACTED:apiKey][REDACTED:apiKey]") == 0,
	    "two adjacent occurrences: two markers (%s)", b.p);
	free(b.p);
	redact_free(r);

	r = slot_redactor("abab", 4, NULL);
	b = run(r, "xababab", 7, &count, &rc);
	ok(rc == 0 && strstr(b.p, "abab") == NULL && count == 1,
	    "a value overlapping itself: no whole copy is left (%s)", b.p);
	free(b.p);
	redact_free(r);
}

static void
test_edges(void)
{
	struct redactor *r = slot_redactor("K3yValue", 8, NULL);
	uint32_t count;
	struct buf b;
	int rc;

	b = run(r, "K3yValue tail", 13, &count, &rc);
	ok(rc == 0 && count == 1 && strcmp(b.p, "[REDACTED:apiKey] tail") ==
	    0, "a value at the start of the buffer (%s)", b.p);
	free(b.p);
	b = run(r, "head K3yValue", 13, &count, &rc);
	ok(rc == 0 && count == 1 && strcmp(b.p, "head [REDACTED:apiKey]") ==
	    0, "a value at the end of the buffer (%s)", b.p);
	free(b.p);
	b = run(r, "K3yValue", 8, &count, &rc);
	ok(rc == 0 && count == 1 && strcmp(b.p, "[REDACTED:apiKey]") == 0,
	    "a buffer that is exactly the value (%s)", b.p);
	free(b.p);
	b = run(r, "K3yValu", 7, &count, &rc);
	ok(rc == 0 && count == 0 && strcmp(b.p, "K3yValu") == 0,
	    "a buffer shorter than the value is left as it is");
	free(b.p);
	b = run(r, "", 0, &count, &rc);
	ok(rc == 0 && count == 0 && b.len == 0, "an empty buffer");
	free(b.p);
	redact_free(r);
}

static void
test_counts_and_json(void)
{
	struct redactor *r = slot_redactor("p\"w/d\xc3\xa9-long", 12,
	    "Bearer {}");
	const char *body = "{\"raw\":\"p\\\"w/d\xc3\xa9-long\","
	    "\"ascii\":\"p\\\"w\\/d\\u00e9-long\","
	    "\"hdr\":\"Bearer p\\\"w/d\xc3\xa9-long\"}";
	json_error_t jerr;
	uint32_t count;
	struct buf b;
	json_t *j;
	int rc;

	b = run(r, body, strlen(body), &count, &rc);
	j = json_loadb(b.p, b.len, 0, &jerr);
	ok(rc == 0 && count == 3, "three occurrences in three encodings: "
	    "count 3 (%u)", count);
	ok(j != NULL && strcmp(json_string_value(json_object_get(j, "hdr")),
	    "[REDACTED:apiKey]") == 0, "JSON stays JSON when values inside "
	    "strings are redacted (%s)", b.p);
	json_decref(j);
	free(b.p);
	redact_free(r);
}

static void
test_tail(void)
{
	struct redactor *r = slot_redactor("SECRET", 6, NULL);
	uint32_t count;
	struct buf b;
	size_t n;
	int rc;

	n = redact_tail(r, (const uint8_t *)"log: SEC", 8);
	ok(n == 5, "a stream cut inside a value loses the value's first "
	    "bytes (%zu kept)", n);
	n = redact_tail(r, (const uint8_t *)"log: SECRET", 11);
	ok(n == 11, "a whole value at the end is left for redaction");
	n = redact_tail(r, (const uint8_t *)"log: ok", 7);
	ok(n == 7, "a stream that ends in no value start is kept whole");
	redact_free(r);

	/* Cutting one start may leave the start of another form. */
	r = redact_new();
	redact_add(r, "a", (const uint8_t *)"SECRET", 6, NULL);
	redact_add(r, "b", (const uint8_t *)"XYZW", 4, NULL);
	n = redact_tail(r, (const uint8_t *)"x SECXY", 7);
	ok(n == 2, "cut repeatedly until no form starts at the end (%zu)", n);
	b = run(r, "x SECRETXY", 10, &count, &rc);
	n = redact_tail(r, (const uint8_t *)b.p, b.len);
	ok(n == b.len - 2 && strncmp(b.p, "x [REDACTED:a]", n) == 0,
	    "redacted first, then cut: a whole value stays a marker (%.*s)",
	    (int)n, b.p);
	free(b.p);
	ok(redact_holds(r, (const uint8_t *)"zz SECR", 7, 1) &&
	    !redact_holds(r, (const uint8_t *)"zz SECR", 7, 0) &&
	    redact_holds(r, (const uint8_t *)"SECRET zz", 9, 0) &&
	    !redact_holds(r, (const uint8_t *)"nothing", 7, 1),
	    "redact_holds: a whole form, or the start of one when cut");
	redact_free(r);
}

static void
test_marker_spells_value(void)
{
	struct redactor *r = redact_new();
	uint32_t count;
	struct buf b;
	int rc;

	redact_add(r, "k", (const uint8_t *)"ab", 2, NULL);
	redact_add(r, "z", (const uint8_t *)"]x", 2, NULL);
	b = run(r, "abx", 3, &count, &rc);
	ok(rc == -1 && b.len == 0, "a marker that would spell a value with "
	    "the text after it: refused, nothing returned");
	free(b.p);
	redact_free(r);

	r = slot_redactor("e", 1, NULL);
	b = run(r, "hello", 5, &count, &rc);
	ok(rc == 0 && count == 1 && strcmp(b.p, "h[REDACTED:apiKey]llo") == 0,
	    "a one-byte value: redacted where it appears; its letter inside "
	    "a marker is no leak (%s)", b.p);
	free(b.p);
	redact_free(r);
}

static void
test_dedup(void)
{
	struct redactor *r = slot_redactor("abcXYZ09", 8, "{}");
	size_t n = redact_needles(r);

	/*
	 * raw; base64 with and without padding (base64url is the same);
	 * 2 hex; 3 base64 cores (the same in both alphabets).  Every JSON
	 * and percent form is the raw one.
	 */
	ok(n == 8, "an alphanumeric value: forms that are equal are "
	    "searched once (%zu forms)", n);
	redact_free(r);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_encoders();
	test_json_like_jansson();
	test_every_encoding();
	test_rendered();
	test_b64_alignment();
	test_overlaps();
	test_edges();
	test_counts_and_json();
	test_tail();
	test_marker_spells_value();
	test_dedup();
	return done_testing();
}
