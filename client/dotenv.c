/*
 * The files that runtools secret import reads and export writes: .env
 * text (and JSON objects of name -> string) parsed whole into a list of
 * name, value and line before anything is sent, and values written back
 * so that import reads them byte for byte.  Never sends, never prints a
 * value anywhere but the stream it is asked to write; every value copy
 * is wiped when freed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "proto.h"
#include "cli.h"

/* A parse in progress: where we are, and the line each byte is on. */
struct envp {
	const char	*p, *end;
	unsigned int	 line;
	char		*err;
	size_t		 errlen;
};

static int perr(struct envp *, unsigned int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct envp *s, unsigned int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(s->err, s->errlen, "line %u: %s", line, msg);
	return -1;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void
skip_blanks(struct envp *s)
{
	while (s->p < s->end && is_blank(*s->p))
		s->p++;
}

/* At a line's end: "\n", "\r\n" or the end of the text. */
static int
at_eol(const struct envp *s)
{
	return s->p == s->end || *s->p == '\n' ||
	    (*s->p == '\r' && (s->p + 1 == s->end || s->p[1] == '\n'));
}

static void
next_line(struct envp *s)
{
	while (s->p < s->end && *s->p != '\n')
		s->p++;
	if (s->p < s->end) {
		s->p++;
		s->line++;
	}
}

/* After a value: blanks, then a comment or the line's end. */
static int
line_rest(struct envp *s, unsigned int line)
{
	skip_blanks(s);
	if (!at_eol(s) && *s->p != '#')
		return perr(s, line, "unexpected text after the closing quote");
	next_line(s);
	return 0;
}

/* Grows a value by one byte; cap doubles, old copies are wiped. */
static int
val_add(struct dotenv_entry *e, size_t *cap, char c)
{
	char *n;

	if (e->len + 1 >= *cap) {
		*cap = *cap ? *cap * 2 : 64;
		if ((n = malloc(*cap)) == NULL)
			return -1;
		if (e->value != NULL) {
			memcpy(n, e->value, e->len);
			rt_secret_value_free(e->value, e->len);
		}
		e->value = n;
	}
	e->value[e->len++] = c;
	e->value[e->len] = '\0';
	return 0;
}

static int
unescape(char c, char *out)
{
	switch (c) {
	case 'n':
		*out = '\n';
		return 0;
	case 't':
		*out = '\t';
		return 0;
	case 'r':
		*out = '\r';
		return 0;
	case '"':
	case '\\':
		*out = c;
		return 0;
	}
	return -1;
}

/* '...' is taken as it is; "..." knows \n \t \r \" \\.  Both may span
 * lines. */
static int
quoted(struct envp *s, struct dotenv_entry *e)
{
	char q = *s->p++, c, esc[2] = "";
	unsigned int start = s->line;
	size_t cap = 0;

	for (;;) {
		if (s->p == s->end)
			return perr(s, start, "the quote %s opened here is never "
			    "closed", q == '"' ? "\"" : "'");
		if ((c = *s->p++) == q)
			break;
		if (c == '\n')
			s->line++;
		if (q == '"' && c == '\\') {
			esc[0] = s->p < s->end ? *s->p : '?';
			if (s->p == s->end || unescape(*s->p++, &c) == -1)
				return perr(s, s->line, "unknown escape \\%s "
				    "(use \\n \\t \\r \\\" or \\\\)", esc);
		}
		if (val_add(e, &cap, c) == -1)
			return perr(s, s->line, "out of memory");
	}
	return line_rest(s, s->line);
}

/* Up to the line's end or a " #" comment; trailing blanks dropped. */
static int
unquoted(struct envp *s, struct dotenv_entry *e)
{
	const char *v = s->p, *stop;
	size_t cap = 0;

	while (!at_eol(s) && !(*s->p == '#' && s->p > v &&
	    is_blank(s->p[-1])))
		s->p++;
	stop = s->p;
	while (stop > v && is_blank(stop[-1]))
		stop--;
	for (; v < stop; v++)
		if (val_add(e, &cap, *v) == -1)
			return perr(s, s->line, "out of memory");
	next_line(s);
	return 0;
}

static int
take_name(struct envp *s, struct dotenv_entry *e)
{
	const char *n = s->p;
	char shown[NAME_MAX_LEN + 1];

	while (s->p < s->end && !is_blank(*s->p) && *s->p != '=' &&
	    !at_eol(s))
		s->p++;
	if (!valid_secret_name(n, (size_t)(s->p - n))) {
		snprintf(shown, sizeof(shown), "%.*s", (int)(s->p - n) >
		    NAME_MAX_LEN ? NAME_MAX_LEN : (int)(s->p - n), n);
		if (s->p == n)
			return perr(s, s->line, "expected NAME=VALUE");
		return perr(s, s->line, "invalid secret name '%s': use "
		    "letters, digits and '_', not starting with a digit",
		    shown);
	}
	memcpy(e->name, n, (size_t)(s->p - n));
	e->name[s->p - n] = '\0';
	skip_blanks(s);
	if (s->p == s->end || *s->p != '=')
		return perr(s, s->line, "expected NAME=VALUE after '%s'",
		    e->name);
	s->p++;
	skip_blanks(s);
	return 0;
}

/* "export " before a name is allowed, as a shell would read the file. */
static void
skip_export(struct envp *s)
{
	if (s->end - s->p > 7 && memcmp(s->p, "export", 6) == 0 &&
	    is_blank(s->p[6])) {
		s->p += 6;
		skip_blanks(s);
	}
}

static int
entry(struct envp *s, struct dotenv_entry *e)
{
	skip_export(s);
	if (take_name(s, e) == -1)
		return -1;
	if (s->p < s->end && (*s->p == '"' || *s->p == '\''))
		return quoted(s, e);
	return unquoted(s, e);
}

static int
utf8_ok(const unsigned char *p, size_t n)
{
	size_t i = 0, k;
	unsigned int c, min;

	while (i < n) {
		c = p[i++];
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, min = 0x80, c &= 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, min = 0x800, c &= 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, min = 0x10000, c &= 0x07;
		else
			return 0;
		if (n - i < k)
			return 0;
		for (; k > 0; k--, i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (p[i] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
	}
	return 1;
}

/* What every value must be, whichever format it came in. */
static int
check_entry(const struct dotenv *d, const struct dotenv_entry *e,
    char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->e[i].name, e->name) == 0) {
			snprintf(err, errlen, "line %u: %s is also set on "
			    "line %u", e->line, e->name, d->e[i].line);
			return -1;
		}
	if (e->len == 0 || e->len > VALUE_MAX_LEN) {
		snprintf(err, errlen, "line %u: the value of %s is %s", e->line,
		    e->name, e->len == 0 ? "empty (a secret holds 1 byte or "
		    "more)" : "over 64 KiB");
		return -1;
	}
	if (!utf8_ok((const unsigned char *)e->value, e->len)) {
		snprintf(err, errlen, "line %u: the value of %s is not valid "
		    "UTF-8", e->line, e->name);
		return -1;
	}
	return 0;
}

static int
push(struct dotenv *d, struct dotenv_entry *e, char *err, size_t errlen)
{
	struct dotenv_entry *n;

	if (check_entry(d, e, err, errlen) == -1)
		return -1;
	if ((n = realloc(d->e, (d->n + 1) * sizeof(*n))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->e = n;
	d->e[d->n++] = *e;
	memset(e, 0, sizeof(*e));
	return 0;
}

static int
parse_dotenv(const char *buf, size_t len, struct dotenv *d, char *err,
    size_t errlen)
{
	struct envp s = { buf, buf + len, 1, err, errlen };
	struct dotenv_entry e;

	memset(&e, 0, sizeof(e));
	while (s.p < s.end) {
		skip_blanks(&s);
		if (at_eol(&s) || *s.p == '#') {
			next_line(&s);
			continue;
		}
		e.line = s.line;
		if (entry(&s, &e) == -1 || push(d, &e, err, errlen) == -1) {
			rt_secret_value_free(e.value, e.len);
			return -1;
		}
	}
	return 0;
}

static int
parse_json(const char *buf, size_t len, struct dotenv *d, char *err,
    size_t errlen)
{
	struct dotenv_entry e;
	json_error_t je;
	json_t *o, *v;
	const char *k;
	int rv = -1;

	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		snprintf(err, errlen, "line %d: %s", je.line, je.text);
		return -1;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "line 1: expected a JSON object of "
		    "secret names and string values");
		goto done;
	}
	memset(&e, 0, sizeof(e));
	json_object_foreach(o, k, v) {
		if (!valid_secret_name(k, strlen(k)) || !json_is_string(v)) {
			snprintf(err, errlen, "key '%.*s': %s", NAME_MAX_LEN, k,
			    json_is_string(v) ? "invalid secret name" :
			    "the value is not a string");
			goto done;
		}
		snprintf(e.name, sizeof(e.name), "%s", k);
		e.len = json_string_length(v);
		if ((e.value = malloc(e.len + 1)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
		memcpy(e.value, json_string_value(v), e.len + 1);
		if (push(d, &e, err, errlen) == -1) {
			rt_secret_value_free(e.value, e.len);
			goto done;
		}
	}
	rv = 0;
 done:
	json_decref(o);
	return rv;
}

/*
 * The whole of buf, or nothing: on error err says which line and why,
 * and d holds nothing.
 */
int
dotenv_parse(const char *buf, size_t len, int json, struct dotenv *d,
    char *err, size_t errlen)
{
	int rv;

	memset(d, 0, sizeof(*d));
	rv = json ? parse_json(buf, len, d, err, errlen) :
	    parse_dotenv(buf, len, d, err, errlen);
	if (rv == -1)
		dotenv_free(d);
	return rv;
}

void
dotenv_free(struct dotenv *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		rt_secret_value_free(d->e[i].value, d->e[i].len);
	free(d->e);
	memset(d, 0, sizeof(*d));
}

/* A file, or standard input for "-", whole, up to max bytes. */
int
dotenv_read(const char *path, size_t max, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	int fd, in = strcmp(path, "-") == 0;
	size_t len = 0, cap = 0;
	char *p = NULL, *np;
	ssize_t n;

	if ((fd = in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC |
	    O_NOCTTY)) == -1)
		goto fail;
	for (;;) {
		if (len == cap) {
			if (cap > max)
				break;
			cap = cap ? cap * 2 : 8192;
			if ((np = malloc(cap + 1)) == NULL)
				goto fail;
			if (p != NULL) {
				memcpy(np, p, len);
				rt_secret_value_free(p, len);
			}
			p = np;
		}
		if ((n = read(fd, p + len, cap - len)) == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (!in)
		close(fd);
	if (len > max) {
		rt_secret_value_free(p, len);
		snprintf(err, errlen, "%s is larger than %zu MiB", in ?
		    "standard input" : path, max >> 20);
		return -1;
	}
	if (p == NULL && (p = malloc(1)) == NULL)
		goto fail;
	p[len] = '\0';
	*out = p;
	*outlen = len;
	return 0;
 fail:
	snprintf(err, errlen, "%s: %s", in ? "standard input" : path,
	    strerror(errno));
	if (fd != -1 && !in)
		close(fd);
	if (p != NULL)
		rt_secret_value_free(p, len);
	return -1;
}

/* NAME="..." with \n \t \r \" \\ escaped: what dotenv_parse reads back. */
int
dotenv_write(FILE *f, const char *name, const char *v, size_t len)
{
	size_t i;

	fprintf(f, "%s=\"", name);
	for (i = 0; i < len; i++)
		switch (v[i]) {
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '"':
		case '\\':
			fputc('\\', f);
			/* FALLTHROUGH */
		default:
			fputc(v[i], f);
		}
	fputs("\"\n", f);
	return ferror(f) ? -1 : 0;
}

/* export NAME='...' for a POSIX shell: ' becomes '\''. */
int
env_write(FILE *f, const char *name, const char *v, size_t len)
{
	size_t i;

	fprintf(f, "export %s='", name);
	for (i = 0; i < len; i++)
		if (v[i] == '\'')
			fputs("'\\''", f);
		else
			fputc(v[i], f);
	fputs("'\n", f);
	return ferror(f) ? -1 : 0;
}
