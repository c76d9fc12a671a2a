/*
 * JSON in and out: body checks (nesting depth and string count before the
 * parser sees the bytes, then exactly the fields a route accepts) and the
 * API's record shapes.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "frontend.h"
#include "tool.h"

/*
 * jansson has no depth limit, so count brackets outside strings first.
 * Returns 0, or -1 when the text nests deeper than maxdepth or holds more
 * than maxstrings strings.  Malformed text is left to the parser.
 */
int
json_scan_limits(const char *s, size_t n, int maxdepth, size_t maxstrings)
{
	size_t i, strings = 0;
	int depth = 0, in_str = 0, esc = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
			if (++strings > maxstrings)
				return -1;
		} else if (c == '{' || c == '[') {
			if (++depth > maxdepth)
				return -1;
		} else if ((c == '}' || c == ']') && depth > 0)
			depth--;
	}
	return 0;
}

static int
type_ok(json_t *v, json_type want)
{
	if (want == JSON_TRUE)
		return json_is_boolean(v);
	if (want == JSON_NULL)		/* a string, or null */
		return json_is_string(v) || json_is_null(v);
	return json_typeof(v) == want;
}

static const char *
type_name(json_type t)
{
	switch (t) {
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_TRUE:
		return "a boolean";
	case JSON_NULL:
		return "a string or null";
	case JSON_ARRAY:
		return "a list";
	default:
		return "of another type";
	}
}

static int
check_fields(json_t *o, const struct json_field *f, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	int i, known;

	json_object_foreach(o, key, v) {
		known = 0;
		for (i = 0; f[i].name != NULL; i++)
			if (strcmp(key, f[i].name) == 0)
				known = 1;
		if (!known) {
			snprintf(err, errlen, "unknown field \"%.64s\"", key);
			return -1;
		}
	}
	for (i = 0; f[i].name != NULL; i++) {
		if ((v = json_object_get(o, f[i].name)) == NULL) {
			if (f[i].required) {
				snprintf(err, errlen, "\"%s\" is required",
				    f[i].name);
				return -1;
			}
			continue;
		}
		if (!type_ok(v, f[i].type)) {
			snprintf(err, errlen, "\"%s\" must be %s", f[i].name,
			    type_name(f[i].type));
			return -1;
		}
	}
	return 0;
}

/* Any JSON value within the limits; NULL when there is none. */
json_t *
json_parse_any(const char *s, size_t n)
{
	if (json_scan_limits(s, n, JSON_DEPTH_MAX, JSON_STRINGS_MAX) == -1)
		return NULL;
	return json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    NULL);
}

/*
 * Parse a body that must be one JSON object with only the listed fields,
 * each of its type.  NULL with a message in err otherwise.
 */
json_t *
json_parse_body(const char *s, size_t n, const struct json_field *fields,
    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o;

	if (json_scan_limits(s, n, JSON_DEPTH_MAX, JSON_STRINGS_MAX) == -1) {
		snprintf(err, errlen, "JSON nested deeper than %d or too many "
		    "strings", JSON_DEPTH_MAX);
		return NULL;
	}
	o = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (o == NULL) {
		snprintf(err, errlen, "malformed JSON at offset %d",
		    jerr.position);
		return NULL;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "the body must be a JSON object");
		json_decref(o);
		return NULL;
	}
	if (check_fields(o, fields, err, errlen) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static char *
put_digits(char *p, unsigned v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
	return p;
}

/* 10000-01-01T00:00:00Z: below it a year has four digits. */
#define JSON_TIME_Y10K	253402300800ULL

/*
 * The UTC calendar fields of t (before year 10000), tm_year the year
 * itself, without gmtime_r(3), which takes the time-zone lock and was a
 * twentieth of a list page.  Days are counted in 400-year eras of
 * 146097 days that begin on 1 March, so that the leap day ends a year.
 */
static void
utc_fields(uint64_t t, struct tm *tm)
{
	uint64_t days = t / 86400, secs = t % 86400;
	uint64_t z, era, doe, yoe, doy, mp, y;

	tm->tm_hour = (int)(secs / 3600);
	tm->tm_min = (int)(secs / 60 % 60);
	tm->tm_sec = (int)(secs % 60);
	z = days + 719468;		/* days from 0000-03-01 */
	era = z / 146097;
	doe = z - era * 146097;		/* [0, 146096] */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);	/* from 1 March */
	mp = (5 * doy + 2) / 153;	/* March is 0 */
	tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->tm_mon = (int)(mp < 10 ? mp + 2 : mp - 10);
	tm->tm_year = (int)(y + (tm->tm_mon <= 1));
}

/*
 * RFC 3339 in UTC, the only form the API emits.  Written digit by digit:
 * strftime(3) was a tenth of the front-end's time on a list page.
 */
char *
json_time(uint64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (len < sizeof("1970-01-01T00:00:00Z")) {
		snprintf(buf, len, "1970-01-01T00:00:00Z");
		return buf;
	}
	if (t < JSON_TIME_Y10K) {
		utc_fields(t, &tm);
		tm.tm_year -= 1900;
	} else if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(buf, len, "1970-01-01T00:00:00Z");
		return buf;
	}
	if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
		if (strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			snprintf(buf, len, "1970-01-01T00:00:00Z");
		return buf;
	}
	put_digits(buf, (unsigned)(tm.tm_year + 1900), 4);
	buf[4] = '-';
	put_digits(buf + 5, (unsigned)tm.tm_mon + 1, 2);
	buf[7] = '-';
	put_digits(buf + 8, (unsigned)tm.tm_mday, 2);
	buf[10] = 'T';
	put_digits(buf + 11, (unsigned)tm.tm_hour, 2);
	buf[13] = ':';
	put_digits(buf + 14, (unsigned)tm.tm_min, 2);
	buf[16] = ':';
	put_digits(buf + 17, (unsigned)tm.tm_sec, 2);
	buf[19] = 'Z';
	buf[20] = '\0';
	return buf;
}

/* A string field that the IPC can carry: no NUL inside, at most max. */
int
json_text_field(json_t *body, const char *key, size_t max, const char **out)
{
	json_t *v = json_object_get(body, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	*out = json_string_value(v);
	return 1;
}

#define SCOPE_TOOLS	"tools:"

/* A token's scopes as "tools:NAME" strings; null for an unscoped token. */
json_t *
json_scopes(const struct token_scopes *s)
{
	json_t *a;
	char buf[sizeof(SCOPE_TOOLS) + TOOL_NAME_MAX];
	size_t i;

	if (s->n == 0)
		return json_null();
	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < s->n && i < TOKEN_SCOPES_MAX; i++) {
		snprintf(buf, sizeof(buf), SCOPE_TOOLS "%s", s->tool[i]);
		if (json_array_append_new(a, json_string(buf)) == -1) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/*
 * A request's "scopes": 1 to TOKEN_SCOPES_MAX distinct strings, each
 * "tools:" and a tool name or "*".  No other kind of scope exists yet,
 * so any other is refused rather than ignored.  A tool that is not
 * defined now is accepted: a reload may add it.
 */
int
json_scopes_parse(json_t *a, struct token_scopes *s, char *err, size_t len)
{
	const char *v, *tool;
	json_t *e;
	size_t i, j;

	memset(s, 0, sizeof(*s));
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > TOKEN_SCOPES_MAX) {
		snprintf(err, len, "scopes must be a list of 1 to %d scopes",
		    TOKEN_SCOPES_MAX);
		return -1;
	}
	json_array_foreach(a, i, e) {
		if (!json_is_string(e) ||
		    strncmp(v = json_string_value(e), SCOPE_TOOLS,
		    strlen(SCOPE_TOOLS)) != 0) {
			snprintf(err, len, "scope %zu: the only kind of scope "
			    "is tools:NAME (or tools:*)", i + 1);
			return -1;
		}
		tool = v + strlen(SCOPE_TOOLS);
		if (strlen(v) != json_string_length(e) ||
		    (strcmp(tool, SCOPE_ALL_TOOLS) != 0 &&
		    !valid_tool_name(tool, strlen(tool)))) {
			snprintf(err, len, "scope %zu: tools: must be followed "
			    "by a tool name (1 to %d letters, digits, '-' or "
			    "'_') or *", i + 1, TOOL_NAME_MAX);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(s->tool[j], tool) == 0) {
				snprintf(err, len, "scope %zu: tools:%s is "
				    "given twice", i + 1, tool);
				return -1;
			}
		snprintf(s->tool[i], sizeof(s->tool[i]), "%s", tool);
		s->n++;
	}
	return 0;
}

json_t *
json_token(const struct token_meta *t)
{
	char c[32], e[32];

	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "id", t->id,
	    "userId", t->user_id, "orgId", t->org_id,
	    "role", t->role == ROLE_ADMIN ? "admin" : "member",
	    "description", t->description,
	    "createdAt", json_time(t->created_at, c, sizeof(c)),
	    "expiresAt", t->expires_at == 0 ? json_null() :
	    json_string(json_time(t->expires_at, e, sizeof(e))),
	    "scopes", json_scopes(&t->scopes));
}

static int
digits(const char *s, int n, unsigned *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

/*
 * "YYYY-MM-DD" (midnight) or "YYYY-MM-DDTHH:MM:SSZ", UTC only, to unix
 * seconds.  Days from the civil date by the usual era arithmetic, so no
 * time zone file is read.
 */
int
json_parse_time(const char *s, uint64_t *out)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31,
	    30, 31, 30, 31 };
	unsigned y, mo, d, h = 0, mi = 0, se = 0, era, yoe, doy, doe;
	size_t n = strlen(s);
	uint64_t days;

	if ((n != 10 && n != 20) || digits(s, 4, &y) == -1 || s[4] != '-' ||
	    digits(s + 5, 2, &mo) == -1 || s[7] != '-' ||
	    digits(s + 8, 2, &d) == -1)
		return -1;
	if (n == 20 && (s[10] != 'T' || digits(s + 11, 2, &h) == -1 ||
	    s[13] != ':' || digits(s + 14, 2, &mi) == -1 || s[16] != ':' ||
	    digits(s + 17, 2, &se) == -1 || s[19] != 'Z'))
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !(y % 4 == 0 &&
	    (y % 100 != 0 || y % 400 == 0))) || h > 23 || mi > 59 || se > 59)
		return -1;
	if (mo <= 2)
		y--;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = (uint64_t)era * 146097 + doe - 719468;
	*out = days * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}
