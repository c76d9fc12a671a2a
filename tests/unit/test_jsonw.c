/*
 * The front-end's own JSON writer against jansson: for every string tried
 * (each byte alone, every control character, quotes, backslashes, UTF-8 of
 * each length, malformed UTF-8, random bytes) both must refuse it or both
 * must write the same bytes; and a record's metadata must come out as
 * jansson's compact, order-preserving dump of the same object.  A revealed
 * value is text ("value") only when jansson takes it and it holds no NUL;
 * any other bytes come out as "value": null and "valueBase64".
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend.h"
#include "tap.h"

static uint32_t rnd = 0x9e3779b9U;

static uint32_t
next(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 17;
	rnd ^= rnd << 5;
	return rnd;
}

/* jansson's text for the string, or NULL when it refuses it. */
static char *
ref_str(const char *s, size_t n)
{
	json_t *j;
	char *out;

	if ((j = json_stringn(s, n)) == NULL)
		return NULL;
	out = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(j);
	return out;
}

static char *
our_str(const char *s, size_t n)
{
	struct jw w;

	jw_init(&w, 0);
	jw_str(&w, s, n);
	return jw_finish(&w);
}

/* 1 when both agree on s. */
static int
same(const char *s, size_t n)
{
	char *a = ref_str(s, n), *b = our_str(s, n);
	int eq;

	eq = (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
	free(a);
	free(b);
	return eq;
}

static void
test_bytes(void)
{
	char s[3];
	int c, bad = 0;

	for (c = 0; c < 256; c++) {
		s[0] = 'a';
		s[1] = (char)c;
		s[2] = 'z';
		if (!same(s, 3) || !same(s + 1, 1))
			bad++;
	}
	ok(bad == 0, "each byte alone and between letters: %d differ", bad);
}

static void
test_fixed(void)
{
	static const char *const cases[] = {
		"", "plain", "\"", "\\", "\"\\\"", "a\\\"b", "\b\f\n\r\t",
		"\x01\x1f\x7f", "/slash/", "caf\xc3\xa9",
		"\xe2\x82\xac euro", "\xf0\x9f\x94\x91 key",
		"\xef\xbb\xbf bom", "\xf4\x8f\xbf\xbf max",
		"\xc0\x80 overlong nul", "\xc1\xbf overlong", "\xe0\x80\xaf",
		"\xf0\x80\x80\xaf", "\xed\xa0\x80 surrogate",
		"\xed\xbf\xbf surrogate", "\xf4\x90\x80\x80 too big",
		"\xf5\x80\x80\x80", "\xff", "\xfe", "\x80 lone",
		"\xc3 cut", "\xe2\x82 cut", "\xf0\x9f\x94 cut", "end \xc3",
		"\xc3\xa9\xc3", "mixed \"\xc3\xa9\\\n\x01\xe2\x82\xac\"",
		NULL
	};
	int i, bad = 0;

	for (i = 0; cases[i] != NULL; i++)
		if (!ok(same(cases[i], strlen(cases[i])), "string %d", i))
			bad++;
	ok(same("a\0b", 3) && same("\0", 1), "NUL inside a string");
	(void)bad;
}

/* Random strings drawn mostly from the bytes that matter. */
static void
test_random(void)
{
	static const unsigned char pick[] = {
		'a', 'Z', '0', ' ', '"', '\\', '/', 0, 1, 8, 9, 10, 12, 13,
		0x1f, 0x7f, 0x80, 0xbf, 0xc2, 0xc3, 0xa9, 0xe2, 0x82, 0xac,
		0xed, 0xa0, 0xf0, 0x9f, 0x94, 0x91, 0xf4, 0x8f, 0xff
	};
	char s[64];
	int i, bad = 0, valid = 0;
	size_t j, n;
	char *a;

	for (i = 0; i < 200000; i++) {
		n = next() % sizeof(s);
		for (j = 0; j < n; j++)
			s[j] = (char)(next() % 4 == 0 ? next() & 0xff :
			    pick[next() % sizeof(pick)]);
		if (!same(s, n))
			bad++;
		if ((a = ref_str(s, n)) != NULL)
			valid++;
		free(a);
	}
	ok(bad == 0, "200000 random strings (%d valid UTF-8): %d differ",
	    valid, bad);
}

/* Random strings made of valid pieces: escapes and UTF-8 of each length. */
static void
test_random_valid(void)
{
	static const char *const piece[] = {
		"a", "\"", "\\", "/", "\n", "\x01", "\x1f", "\x7f", "\t",
		"\xc2\x80", "\xc3\xa9", "\xdf\xbf", "\xe0\xa0\x80",
		"\xe2\x82\xac", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
		"\xf0\x9f\x94\x91", "\xf4\x8f\xbf\xbf"
	};
	const size_t np = sizeof(piece) / sizeof(piece[0]);
	char s[128], *a;
	int i, bad = 0, valid = 0;
	size_t n, k;

	for (i = 0; i < 50000; i++) {
		for (n = 0, k = next() % 24; k > 0; k--) {
			const char *p = piece[next() % np];

			memcpy(s + n, p, strlen(p));
			n += strlen(p);
		}
		if (next() % 8 == 0)
			s[n++] = '\0';
		if (!same(s, n))
			bad++;
		if ((a = ref_str(s, n)) != NULL)
			valid++;
		free(a);
	}
	ok(bad == 0 && valid == 50000, "50000 random valid strings: %d "
	    "differ, %d accepted by jansson", bad, valid);
}

static void
test_long(void)
{
	size_t n = 70000, i;
	char *s = malloc(n);

	for (i = 0; i < n; i++)
		s[i] = (char)(i % 7 == 0 ? '"' : i % 5 == 0 ? '\n' : 'x');
	ok(same(s, n), "a 70000-byte string across buffer growth");
	free(s);
}

/* Plain RFC 4648 base64, written here apart from the product's encoder. */
static char *
ref_b64(const void *src, size_t n)
{
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = src;
	char *out, *o;
	size_t i;
	uint32_t v;

	if ((out = o = malloc(n / 3 * 4 + 5)) == NULL)
		return NULL;
	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		*o++ = al[v >> 18];
		*o++ = al[v >> 12 & 63];
		*o++ = al[v >> 6 & 63];
		*o++ = al[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)s[i] << 16;
		*o++ = al[v >> 18];
		*o++ = al[v >> 12 & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		*o++ = al[v >> 18];
		*o++ = al[v >> 12 & 63];
		*o++ = al[v >> 6 & 63];
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/*
 * The shape json_meta() had when jansson built replies, with the value as
 * the API now gives it: text when jansson takes it and it has no NUL, else
 * null and the bytes in base64.
 */
static char *
ref_meta(const struct secret_meta *m, const char *val, size_t len)
{
	char c[32], u[32], *out, *b;
	json_t *o, *t;

	o = json_pack("{s:s,s:s,s:o,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s}",
	    "name", m->name,
	    "scope", m->scope == SCOPE_ORG ? "org" : "user",
	    "userId", m->scope == SCOPE_ORG ? json_null() :
	    json_string(m->user_id),
	    "orgId", m->org_id, "category", m->category,
	    "description", m->description, "version", (json_int_t)m->version,
	    "createdAt", json_time(m->created_at, c, sizeof(c)),
	    "updatedAt", json_time(m->updated_at, u, sizeof(u)),
	    "createdBy", m->created_by, "updatedBy", m->updated_by);
	if (o == NULL)
		return NULL;
	if (val != NULL) {
		t = memchr(val, '\0', len) == NULL ? json_stringn(val, len) :
		    NULL;
		if (t != NULL)
			json_object_set_new(o, "value", t);
		else {
			if ((b = ref_b64(val, len)) == NULL) {
				json_decref(o);
				return NULL;
			}
			json_object_set_new(o, "value", json_null());
			json_object_set_new(o, "valueBase64", json_string(b));
			free(b);
		}
	}
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return out;
}

/*
 * Every byte alone, the fixed malformed cases and random short byte strings
 * as values: text exactly when jansson takes it and it has no NUL, and the
 * same bytes as jansson's dump either way.
 */
static void
test_meta_values(const struct secret_meta *m)
{
	unsigned char s[24];
	char *a, *b;
	size_t n;
	int i, j, bad = 0, text = 0;

	for (i = 0; i < 256 + 20000; i++) {
		if (i < 256) {
			s[0] = (unsigned char)i;
			n = 1;
		} else {
			n = next() % sizeof(s);
			for (j = 0; j < (int)n; j++) {
				/* mostly ASCII, so that text is common */
				s[j] = (unsigned char)(next() % 5 == 0 ?
				    next() : 0x20 + next() % 0x5f);
			}
		}
		a = ref_meta(m, (const char *)s, n);
		b = jw_meta_text(m, s, n);
		if (a == NULL || b == NULL || strcmp(a, b) != 0)
			bad++;
		else if (strstr(b, "\"valueBase64\"") == NULL)
			text++;
		free(a);
		free(b);
	}
	ok(bad == 0 && text > 1000 && text < 256 + 20000 - 1000,
	    "%d values alone and at random: %d differ from jansson (%d text)",
	    256 + 20000, bad, text);
}

static void
test_meta(void)
{
	struct secret_meta m;
	char *a, *b;
	int scope;

	for (scope = SCOPE_USER; scope <= SCOPE_ORG; scope++) {
		memset(&m, 0, sizeof(m));
		snprintf(m.name, sizeof(m.name), "GITHUB_TOKEN");
		m.scope = (uint8_t)scope;
		if (scope == SCOPE_USER)
			snprintf(m.user_id, sizeof(m.user_id), "alice");
		snprintf(m.org_id, sizeof(m.org_id), "acme");
		snprintf(m.category, sizeof(m.category), "tool");
		snprintf(m.description, sizeof(m.description), "%s",
		    "a \"quoted\"\n caf\xc3\xa9 \\ desc");
		m.version = 4294967295U;
		m.created_at = 1795000632;
		m.updated_at = 0;
		snprintf(m.created_by, sizeof(m.created_by), "alice");
		snprintf(m.updated_by, sizeof(m.updated_by), "bob");
		a = ref_meta(&m, NULL, 0);
		b = jw_meta_text(&m, NULL, 0);
		ok(a != NULL && b != NULL && strcmp(a, b) == 0,
		    "metadata, scope %d: %s", scope, b != NULL ? b : "NULL");
		free(a);
		free(b);
		a = ref_meta(&m, "v\x01\"\\\n\xe2\x82\xac", 8);
		b = jw_meta_text(&m, "v\x01\"\\\n\xe2\x82\xac", 8);
		ok(a != NULL && b != NULL && strcmp(a, b) == 0 &&
		    strstr(b, ",\"value\":\"v\\u0001\\\"\\\\\\n\xe2\x82\xac\"}") !=
		    NULL, "metadata with a text value, scope %d", scope);
		free(a);
		free(b);
		a = ref_meta(&m, "v\x01\"\0\xe2\x82\xac", 7);
		b = jw_meta_text(&m, "v\x01\"\0\xe2\x82\xac", 7);
		ok(a != NULL && b != NULL && strcmp(a, b) == 0 &&
		    strstr(b, ",\"value\":null,\"valueBase64\":\"dgEiAOKCrA==\"}") !=
		    NULL, "metadata with a value holding NUL, as base64, "
		    "scope %d", scope);
		free(a);
		free(b);
	}
	a = ref_meta(&m, "bad \xff", 5);
	b = jw_meta_text(&m, "bad \xff", 5);
	ok(a != NULL && b != NULL && strcmp(a, b) == 0 &&
	    strstr(b, ",\"value\":null,\"valueBase64\":\"YmFkIP8=\"}") != NULL,
	    "a value that is not UTF-8 comes out as base64");
	free(a);
	free(b);
	a = ref_meta(&m, "", 0);
	b = jw_meta_text(&m, "", 0);
	ok(a != NULL && b != NULL && strcmp(a, b) == 0 &&
	    strstr(b, ",\"value\":\"\"}") != NULL, "an empty value is text");
	free(a);
	free(b);
	test_meta_values(&m);

	/* The longest escaping of every field fits the room taken once. */
	memset(m.description, '\x01', DESC_MAX_LEN);
	m.description[DESC_MAX_LEN] = '\0';
	m.created_at = m.updated_at = UINT64_MAX;
	a = ref_meta(&m, NULL, 0);
	b = jw_meta_text(&m, NULL, 0);
	ok(a != NULL && b != NULL && strcmp(a, b) == 0,
	    "metadata with a description of %d control characters and the "
	    "largest times", DESC_MAX_LEN);
	free(a);
	free(b);
	memcpy(m.description, "caf\xc3", 5);
	m.description[5] = '\0';
	b = jw_meta_text(&m, NULL, 0);
	ok(b == NULL, "a description that is not UTF-8 is refused");
}

/* json_time() writes its digits itself: held to strftime(3). */
static void
test_time(void)
{
	static const uint64_t fixed[] = {
		0, 59, 86399, 86400, 951782400, 951868799, 1709164800,
		4102444799ULL, 253402300799ULL, 253402300800ULL
	};
	char a[64], b[64];
	struct tm tm;
	time_t tt;
	uint64_t t;
	int i, bad = 0;

	for (i = 0; i < 100000 + (int)(sizeof(fixed) / sizeof(fixed[0]));
	    i++) {
		t = i < (int)(sizeof(fixed) / sizeof(fixed[0])) ? fixed[i] :
		    ((uint64_t)next() << 32 | next()) % 253402300800ULL;
		tt = (time_t)t;
		gmtime_r(&tt, &tm);
		strftime(a, sizeof(a), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_time(t, b, sizeof(b));
		if (strcmp(a, b) != 0)
			bad++;
	}
	ok(bad == 0, "json_time matches strftime over 100000 times: "
	    "%d differ", bad);
}

int
main(void)
{
	test_bytes();
	test_fixed();
	test_random();
	test_random_valid();
	test_long();
	test_meta();
	test_time();
	return done_testing();
}
