/*
 * Request body checks of the front-end: nesting depth and string count are
 * refused before parsing, and a body must be one object holding only the
 * route's fields with their types.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "jsonwipe.h"
#include "tap.h"

static const struct json_field fields[] = {
	{ "name", JSON_STRING, 1 },
	{ "value", JSON_STRING, 1 },
	{ "orgWide", JSON_TRUE, 0 },
	{ "ttlSeconds", JSON_INTEGER, 0 },
	{ NULL, 0, 0 }
};

static char *
nested(int depth)
{
	char *s = malloc(2 * (size_t)depth + 1);
	int i;

	for (i = 0; i < depth; i++) {
		s[i] = '[';
		s[2 * depth - 1 - i] = ']';
	}
	s[2 * depth] = '\0';
	return s;
}

static int
parses(const char *body)
{
	char err[160];
	json_t *o;

	o = json_parse_body(body, strlen(body), fields, err, sizeof(err));
	json_decref(o);
	return o != NULL;
}

static void
depth_tests(void)
{
	char *s;

	s = nested(JSON_DEPTH_MAX);
	ok(json_scan_limits(s, strlen(s), JSON_DEPTH_MAX, 10) == 0,
	    "depth %d is accepted", JSON_DEPTH_MAX);
	free(s);
	s = nested(JSON_DEPTH_MAX + 1);
	ok(json_scan_limits(s, strlen(s), JSON_DEPTH_MAX, 10) == -1,
	    "depth %d is refused", JSON_DEPTH_MAX + 1);
	free(s);
	s = nested(1000);
	ok(json_scan_limits(s, strlen(s), JSON_DEPTH_MAX, 10) == -1,
	    "depth 1000 is refused");
	ok(!parses(s), "a body nested 1000 deep does not parse");
	free(s);
	s = "{\"name\":\"[[[[[[[[[[[[[[[[[\",\"value\":\"{{{{{{{{{{{{{{{\"}";
	ok(json_scan_limits(s, strlen(s), 2, 10) == 0,
	    "brackets inside strings do not count");
	s = "{\"a\":\"\\\"[[[[\",\"b\":[[[]]]}";
	ok(json_scan_limits(s, strlen(s), 4, 10) == 0 &&
	    json_scan_limits(s, strlen(s), 3, 10) == -1,
	    "an escaped quote does not end a string");
	s = "[\"a\",\"b\",\"c\",\"d\"]";
	ok(json_scan_limits(s, strlen(s), 4, 4) == 0 &&
	    json_scan_limits(s, strlen(s), 4, 3) == -1,
	    "the string count is limited");
	s = "]]]][[[[[";
	ok(json_scan_limits(s, strlen(s), 4, 10) == -1,
	    "stray closing brackets do not buy depth");
}

static void
field_tests(void)
{
	char err[160];
	json_t *o;
	const char *b;

	ok(parses("{\"name\":\"A\",\"value\":\"v\"}"), "required fields parse");
	ok(parses("{\"name\":\"A\",\"value\":\"v\",\"orgWide\":false,"
	    "\"ttlSeconds\":5}"), "optional fields of the right type parse");
	ok(!parses("{\"name\":\"A\",\"value\":\"v\",\"extra\":1}"),
	    "an unknown field is refused");
	ok(!parses("{\"name\":\"A\"}"), "a missing required field is refused");
	ok(!parses("{\"name\":\"A\",\"value\":7}"), "a number for a string "
	    "field is refused");
	ok(!parses("{\"name\":\"A\",\"value\":\"v\",\"orgWide\":\"yes\"}"),
	    "a string for a boolean field is refused");
	ok(!parses("{\"name\":\"A\",\"value\":\"v\",\"ttlSeconds\":1.5}"),
	    "a real for an integer field is refused");
	ok(!parses("[\"name\",\"value\"]"), "an array body is refused");
	ok(!parses("\"name\""), "a string body is refused");
	ok(!parses("{\"name\":\"A\",\"value\":\"v\""), "malformed JSON is "
	    "refused");
	ok(!parses("{\"name\":\"A\",\"value\":\"v\"} x"), "trailing bytes "
	    "are refused");
	ok(!parses("{\"name\":\"A\",\"name\":\"B\",\"value\":\"v\"}"),
	    "a duplicate field is refused");
	ok(!parses("{\"name\":\"A\",\"value\":\"\xff\"}"), "invalid UTF-8 is "
	    "refused");
	b = "{\"name\":\"A\",\"value\":\"a\\u0000b\"}";
	o = json_parse_body(b, strlen(b), fields, err, sizeof(err));
	ok(o != NULL && json_string_length(json_object_get(o, "value")) == 3,
	    "a value may hold NUL and keeps its length");
	json_decref(o);
	b = "{\"name\":\"A\",\"value\":\"v\",\"bogus\":true}";
	o = json_parse_body(b, strlen(b), fields, err, sizeof(err));
	ok(o == NULL && strstr(err, "bogus") != NULL,
	    "the error names the unknown field");
}

int
main(void)
{
	char buf[32];

	jsonwipe_init();
	depth_tests();
	field_tests();
	ok(strcmp(json_time(1795604232, buf, sizeof(buf)),
	    "2026-11-25T10:57:12Z") == 0, "times are RFC 3339 UTC");
	ok(strcmp(json_time(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z") == 0,
	    "time zero is the epoch");
	return done_testing();
}
