/*
 * The tools folder: NAME.tool files turned into struct tool, each error
 * named by file and line.  It reads definitions only; it never opens,
 * runs or connects to what a tool names (the runner does, and the
 * rules every side applies are tool_check() in common/tool.c).
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tooldef.h"

#define LINE_MAX_LEN	(PATH_MAX + 64)

enum block { B_TOOL, B_SLOT, B_ACTION };

enum {
	K_DESCRIPTION, K_TYPE, K_ALLOW, K_TIMEOUT, K_MAX_RESULT, K_BASE_URL,
	K_CA_FILE, K_PLAIN_HTTP, K_COMMAND, K_ARG,
	K_SECRET, K_HEADER, K_QUERY, K_BASIC, K_ENV,
	K_ADESCRIPTION, K_METHOD, K_PATH,
	K_MAX
};

/* Where each key was set, per block; 0: not set. */
struct block_lines {
	size_t		 line;		/* the block's header; the tool's
					   first line for B_TOOL */
	size_t		 seen[K_MAX];
	uint8_t		 failed[K_MAX];	/* its line had an error */
	int		 bad;		/* a line of it failed */
	int		 bad_header;	/* "slot NAME" or "action NAME" did */
};

struct action_lines {
	struct block_lines b;
	size_t		 param[TOOL_PARAMS_MAX];
	uint8_t		 placed[TOOL_PARAMS_MAX];	/* given explicitly */
};

struct tparse {
	const char	*file;
	size_t		 dirlen;	/* file's folder: file[0..dirlen) */
	FILE		*errs;
	int		 nerr;
	size_t		 lineno;
	struct tool	*t;
	enum block	 block;
	struct block_lines head;
	struct block_lines slots[TOOL_SLOTS_MAX];
	struct action_lines acts[TOOL_ACTIONS_MAX];
	/* A block past the limits is read here, for its errors only. */
	struct tool_slot spare_slot;
	struct tool_action spare_action;
	struct block_lines spare_slot_lines;
	struct action_lines spare_action_lines;
	struct tool_slot *slot;
	struct tool_action *act;
	struct block_lines *cur;	/* lines of the open block */
	struct action_lines *cur_act;
};

typedef int (*setter)(struct tparse *, const char *key, char *val);

static int set_description(struct tparse *, const char *, char *);
static int set_type(struct tparse *, const char *, char *);
static int set_allow(struct tparse *, const char *, char *);
static int set_timeout(struct tparse *, const char *, char *);
static int set_max_result(struct tparse *, const char *, char *);
static int set_base_url(struct tparse *, const char *, char *);
static int set_path(struct tparse *, const char *, char *);
static int set_plain_http(struct tparse *, const char *, char *);
static int set_arg(struct tparse *, const char *, char *);
static int set_secret(struct tparse *, const char *, char *);
static int set_place(struct tparse *, const char *, char *);
static int set_method(struct tparse *, const char *, char *);
static int set_url_path(struct tparse *, const char *, char *);

static const struct key {
	const char	*name;
	enum block	 block;
	int		 repeat;
	setter		 set;
} keys[K_MAX] = {
	[K_DESCRIPTION] =	{ "description", B_TOOL, 0, set_description },
	[K_TYPE] =		{ "type", B_TOOL, 0, set_type },
	[K_ALLOW] =		{ "allow", B_TOOL, 0, set_allow },
	[K_TIMEOUT] =		{ "timeout", B_TOOL, 0, set_timeout },
	[K_MAX_RESULT] =	{ "max_result", B_TOOL, 0, set_max_result },
	[K_BASE_URL] =		{ "base_url", B_TOOL, 0, set_base_url },
	[K_CA_FILE] =		{ "ca_file", B_TOOL, 0, set_path },
	[K_PLAIN_HTTP] =	{ "allow_plain_http", B_TOOL, 0,
				  set_plain_http },
	[K_COMMAND] =		{ "command", B_TOOL, 0, set_path },
	[K_ARG] =		{ "arg", B_TOOL, 1, set_arg },
	[K_SECRET] =		{ "secret", B_SLOT, 0, set_secret },
	[K_HEADER] =		{ "header", B_SLOT, 0, set_place },
	[K_QUERY] =		{ "query", B_SLOT, 0, set_place },
	[K_BASIC] =		{ "basic", B_SLOT, 0, set_place },
	[K_ENV] =		{ "env", B_SLOT, 0, set_place },
	[K_ADESCRIPTION] =	{ "description", B_ACTION, 0,
				  set_description },
	[K_METHOD] =		{ "method", B_ACTION, 0, set_method },
	[K_PATH] =		{ "path", B_ACTION, 0, set_url_path },
};

static void __attribute__((format(printf, 3, 4)))
perr_at(struct tparse *p, size_t line, const char *fmt, ...)
{
	va_list ap;

	p->nerr++;
	if (p->errs == NULL)
		return;
	if (line > 0)
		fprintf(p->errs, "%s:%zu: ", p->file, line);
	else
		fprintf(p->errs, "%s: ", p->file);
	va_start(ap, fmt);
	vfprintf(p->errs, fmt, ap);
	va_end(ap);
	fputc('\n', p->errs);
}

/* An error of the line being read; the open block is not checked again. */
static int __attribute__((format(printf, 2, 3)))
perr(struct tparse *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	perr_at(p, p->lineno, "%s", msg);
	p->cur->bad = 1;
	return -1;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int
plain_text(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Well-formed UTF-8: no overlong form, surrogate or code point past
 * U+10FFFF, so that every value can go into JSON as it is. */
static int
utf8_ok(const unsigned char *s)
{
	unsigned int c, min;
	int n, i;

	while (*s != '\0') {
		if (*s < 0x80) {
			s++;
			continue;
		}
		if ((*s & 0xe0) == 0xc0) {
			n = 1;
			c = *s & 0x1f;
			min = 0x80;
		} else if ((*s & 0xf0) == 0xe0) {
			n = 2;
			c = *s & 0x0f;
			min = 0x800;
		} else if ((*s & 0xf8) == 0xf0) {
			n = 3;
			c = *s & 0x07;
			min = 0x10000;
		} else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (s[i] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		s += n + 1;
	}
	return 1;
}

/* Copies val into dst of size dstlen, or says it is too long. */
static int
copy(struct tparse *p, const char *key, char *dst, size_t dstlen,
    const char *val)
{
	size_t n = strlen(val);

	if (n >= dstlen)
		return perr(p, "%s: too long (at most %zu bytes)", key,
		    dstlen - 1);
	memcpy(dst, val, n + 1);
	return 0;
}

static int
set_description(struct tparse *p, const char *key, char *val)
{
	char *dst = p->block == B_TOOL ? p->t->description :
	    p->act->description;

	if (!plain_text(val))
		return perr(p, "%s: holds a control character", key);
	return copy(p, key, dst, TOOL_DESC_MAX + 1, val);
}

static int
set_type(struct tparse *p, const char *key, char *val)
{
	if (strcmp(val, "http") == 0)
		p->t->type = TOOL_HTTP;
	else if (strcmp(val, "exec") == 0)
		p->t->type = TOOL_EXEC;
	else
		return perr(p, "%s: bad value \"%s\": expected http or exec",
		    key, val);
	return 0;
}

static int
set_allow(struct tparse *p, const char *key, char *val)
{
	if (strcmp(val, "members") == 0)
		p->t->allow = TOOL_ALLOW_MEMBERS;
	else if (strcmp(val, "admins") == 0)
		p->t->allow = TOOL_ALLOW_ADMINS;
	else
		return perr(p, "%s: bad value \"%s\": expected members or "
		    "admins", key, val);
	return 0;
}

static int
set_plain_http(struct tparse *p, const char *key, char *val)
{
	if (strcmp(val, "yes") == 0)
		p->t->allow_plain_http = 1;
	else if (strcmp(val, "no") == 0)
		p->t->allow_plain_http = 0;
	else
		return perr(p, "%s: bad value \"%s\": expected yes or no",
		    key, val);
	return 0;
}

/* Up to nine decimal digits; *end is left after them. */
static int
digits(const char *s, unsigned long *v, const char **end)
{
	size_t i;

	*v = 0;
	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i == 9)
			return -1;
		*v = *v * 10 + (unsigned long)(s[i] - '0');
	}
	*end = s + i;
	return i == 0 ? -1 : 0;
}

static int
set_timeout(struct tparse *p, const char *key, char *val)
{
	const char *unit;
	unsigned long n, ms;

	if (digits(val, &n, &unit) == -1)
		goto bad;
	if (strcmp(unit, "ms") == 0)
		ms = n;
	else if (strcmp(unit, "s") == 0 && n <= TOOL_TIMEOUT_MAX_MS / 1000)
		ms = n * 1000;
	else
		goto bad;
	if (ms == 0 || ms > TOOL_TIMEOUT_MAX_MS)
		goto bad;
	p->t->timeout_ms = (uint32_t)ms;
	return 0;
bad:
	return perr(p, "%s: bad value \"%s\": expected 1ms to %ds, with "
	    "the unit ms or s", key, val, TOOL_TIMEOUT_MAX_MS / 1000);
}

static int
set_max_result(struct tparse *p, const char *key, char *val)
{
	const char *unit;
	unsigned long n;

	if (digits(val, &n, &unit) == -1)
		goto bad;
	if (strcmp(unit, "K") == 0 && n <= TOOL_RESULT_MAX / 1024)
		n *= 1024;
	else if (*unit != '\0')
		goto bad;
	if (n == 0 || n > TOOL_RESULT_MAX)
		goto bad;
	p->t->max_result = (uint32_t)n;
	return 0;
bad:
	return perr(p, "%s: bad value \"%s\": expected 1 to %d bytes (or "
	    "1K to %dK)", key, val, TOOL_RESULT_MAX, TOOL_RESULT_MAX / 1024);
}

/* Checked whole, with the type and allow_plain_http, at the end. */
static int
set_base_url(struct tparse *p, const char *key, char *val)
{
	size_t n = strlen(val);

	/* The action's path brings its own '/'. */
	while (n > 0 && val[n - 1] == '/' && (n < 3 || val[n - 2] != '/'))
		val[--n] = '\0';
	return copy(p, key, p->t->base_url, sizeof(p->t->base_url), val);
}

/* command and ca_file: absolute, or relative to the tools folder. */
static int
set_path(struct tparse *p, const char *key, char *val)
{
	char *dst = strcmp(key, "command") == 0 ? p->t->command :
	    p->t->ca_file;
	int n;

	if (!plain_text(val))
		return perr(p, "%s: holds a control character", key);
	if (val[0] == '/')
		return copy(p, key, dst, PATH_MAX, val);
	if (p->file[0] != '/')
		return perr(p, "%s: \"%s\" is relative, and the tools folder "
		    "is not an absolute path; give an absolute path", key,
		    val);
	n = snprintf(dst, PATH_MAX, "%.*s/%s", (int)p->dirlen, p->file, val);
	if (n < 0 || n >= PATH_MAX) {
		dst[0] = '\0';
		return perr(p, "%s: too long (at most %d bytes with the "
		    "folder)", key, PATH_MAX - 1);
	}
	return 0;
}

static int
set_arg(struct tparse *p, const char *key, char *val)
{
	if (p->t->nargs == TOOL_ARGS_MAX)
		return perr(p, "%s: more than %d arguments", key,
		    TOOL_ARGS_MAX);
	if (!plain_text(val))
		return perr(p, "%s: holds a control character", key);
	if (copy(p, key, p->t->args[p->t->nargs], TOOL_ARG_MAX + 1, val) ==
	    -1)
		return -1;
	p->t->nargs++;
	return 0;
}

static int
set_secret(struct tparse *p, const char *key, char *val)
{
	if (!valid_secret_name(val, strlen(val)))
		return perr(p, "%s: \"%s\" is not a secret name: letters, "
		    "digits and '_', not starting with a digit, at most %d",
		    key, val, NAME_MAX_LEN);
	return copy(p, key, p->slot->secret, sizeof(p->slot->secret), val);
}

/*
 * header = NAME[: TEMPLATE], query = NAME[: TEMPLATE], env =
 * NAME[: TEMPLATE], basic = TEMPLATE; the template defaults to "{}".
 */
static int
set_place(struct tparse *p, const char *key, char *val)
{
	static const struct {
		const char	*key;
		uint8_t		 place;
		int		 k;
	} places[] = {
		{ "header", SLOT_HEADER, K_HEADER },
		{ "query", SLOT_QUERY, K_QUERY },
		{ "basic", SLOT_BASIC, K_BASIC },
		{ "env", SLOT_ENV, K_ENV },
	};
	struct tool_slot *s = p->slot;
	const char *tmpl = val;
	char *colon, *e;
	size_t i, j;

	for (i = 0; strcmp(places[i].key, key) != 0; i++)
		;
	for (j = 0; j < sizeof(places) / sizeof(places[0]); j++)
		if (j != i && p->cur->seen[places[j].k] != 0)
			return perr(p, "%s: slot %s already gets its value "
			    "by %s on line %zu; give one placement only", key,
			    s->name, places[j].key,
			    p->cur->seen[places[j].k]);
	s->place = places[i].place;
	if (s->place != SLOT_BASIC) {
		if ((colon = strchr(val, ':')) != NULL) {
			for (e = colon; e > val && is_space(e[-1]); e--)
				;
			*e = '\0';
			for (tmpl = colon + 1; is_space(*tmpl); tmpl++)
				;
		} else
			tmpl = "{}";
		if (*val == '\0')
			return perr(p, "%s: no name before ':'", key);
		if (copy(p, key, s->target, sizeof(s->target), val) == -1)
			return -1;
	}
	if (*tmpl == '\0')
		return perr(p, "%s: empty template; write {} where the value "
		    "goes", key);
	return copy(p, key, s->tmpl, sizeof(s->tmpl), tmpl);
}

static int
set_method(struct tparse *p, const char *key, char *val)
{
	static const char *const methods[] = {
		"GET", "POST", "PUT", "PATCH", "DELETE"
	};
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(val, methods[i]) == 0)
			return copy(p, key, p->act->method,
			    sizeof(p->act->method), val);
	return perr(p, "%s: bad value \"%s\": expected GET, POST, PUT, PATCH "
	    "or DELETE", key, val);
}

static int
set_url_path(struct tparse *p, const char *key, char *val)
{
	return copy(p, key, p->act->path, sizeof(p->act->path), val);
}

/* "slot NAME" and "action NAME": a new block, checked at the end. */
static int
open_block(struct tparse *p, enum block b, const char *word, char *name)
{
	struct tool *t = p->t;
	uint32_t i, n = b == B_SLOT ? t->nslots : t->nactions;
	uint32_t max = b == B_SLOT ? TOOL_SLOTS_MAX : TOOL_ACTIONS_MAX;

	p->block = b;
	if (n == max) {
		if (b == B_SLOT) {
			memset(&p->spare_slot, 0, sizeof(p->spare_slot));
			memset(&p->spare_slot_lines, 0,
			    sizeof(p->spare_slot_lines));
			p->slot = &p->spare_slot;
			p->cur = &p->spare_slot_lines;
		} else {
			memset(&p->spare_action, 0, sizeof(p->spare_action));
			memset(&p->spare_action_lines, 0,
			    sizeof(p->spare_action_lines));
			p->act = &p->spare_action;
			p->cur_act = &p->spare_action_lines;
			p->cur = &p->cur_act->b;
		}
		p->cur->line = p->lineno;
		return perr(p, "%s %s: more than %u %ss", word, name, max,
		    word);
	}
	if (b == B_SLOT) {
		p->slot = &t->slots[t->nslots++];
		p->cur = &p->slots[n];
	} else {
		p->act = &t->actions[t->nactions++];
		p->cur_act = &p->acts[n];
		p->cur = &p->cur_act->b;
	}
	p->cur->line = p->lineno;
	snprintf(b == B_SLOT ? p->slot->name : p->act->name,
	    TOOL_FIELD_MAX + 1, "%s", name);
	p->cur->bad_header = 1;
	if (*name == '\0' || strpbrk(name, " \t") != NULL)
		return perr(p, "%s: expected \"%s NAME\"", word, word);
	if (!valid_field_name(name, strlen(name)))
		return perr(p, "%s \"%s\": a name is 1 to %d letters, digits "
		    "and '_', not starting with a digit", word, name,
		    TOOL_FIELD_MAX);
	for (i = 0; i < n; i++)
		if (strcmp(b == B_SLOT ? t->slots[i].name :
		    t->actions[i].name, name) == 0)
			return perr(p, "%s %s given twice (first on line %zu)",
			    word, name, b == B_SLOT ? p->slots[i].line :
			    p->acts[i].b.line);
	p->cur->bad_header = 0;
	return 0;
}

static const char *const placements[] = {
	[PARAM_PATH] = "path", [PARAM_QUERY] = "query", [PARAM_BODY] = "body"
};

/* NAME TYPE [required] [path|query|body] into prm; place 0: not given. */
static int
read_param(struct tparse *p, char *rest, struct tool_param *prm)
{
	static const char *const types[] = {
		[PARAM_STRING] = "string", [PARAM_NUMBER] = "number",
		[PARAM_BOOL] = "bool"
	};
	char *word[5], *s, *save;
	size_t n = 0, i, j;

	for (s = strtok_r(rest, " \t", &save); s != NULL && n < 5;
	    s = strtok_r(NULL, " \t", &save))
		word[n++] = s;
	if (n < 2 || s != NULL)
		return perr(p, "param: expected \"param NAME TYPE [required] "
		    "[path|query|body]\"");
	if (!valid_field_name(word[0], strlen(word[0])))
		return perr(p, "param \"%s\": a name is 1 to %d letters, "
		    "digits and '_', not starting with a digit", word[0],
		    TOOL_FIELD_MAX);
	memcpy(prm->name, word[0], strlen(word[0]) + 1);
	for (i = PARAM_STRING; i <= PARAM_BOOL; i++)
		if (strcmp(word[1], types[i]) == 0)
			prm->type = (uint8_t)i;
	if (strcmp(word[1], "boolean") == 0)
		prm->type = PARAM_BOOL;
	if (prm->type == 0)
		return perr(p, "param %s: bad type \"%s\": expected string, "
		    "number or bool", word[0], word[1]);
	for (i = 2; i < n; i++) {
		if (strcmp(word[i], "required") == 0 && !prm->required) {
			prm->required = 1;
			continue;
		}
		for (j = PARAM_PATH; j <= PARAM_BODY; j++)
			if (strcmp(word[i], placements[j]) == 0 &&
			    prm->place == 0)
				break;
		if (j > PARAM_BODY)
			return perr(p, "param %s: unexpected \"%s\": after "
			    "the type come required and one of path, query "
			    "or body, each once", word[0], word[i]);
		prm->place = (uint8_t)j;
	}
	return 0;
}

/* param NAME TYPE [required] [path|query|body], in an action. */
static int
add_param(struct tparse *p, char *rest)
{
	struct tool_action *a = p->act;
	struct tool_param prm;
	uint32_t i;

	if (p->block != B_ACTION)
		return perr(p, "param: outside an action; write it under an "
		    "\"action NAME\" line");
	memset(&prm, 0, sizeof(prm));
	if (read_param(p, rest, &prm) == -1)
		return -1;
	if (p->t->type == TOOL_EXEC && prm.place != 0 &&
	    prm.place != PARAM_BODY)
		return perr(p, "param %s: exec tools take their parameters "
		    "on stdin; %s is for http tools", prm.name,
		    placements[prm.place]);
	for (i = 0; i < a->nparams; i++)
		if (strcmp(a->params[i].name, prm.name) == 0)
			return perr(p, "param %s given twice (first on line "
			    "%zu)", prm.name, p->cur_act->param[i]);
	if (a->nparams == TOOL_PARAMS_MAX)
		return perr(p, "param %s: more than %d parameters in action "
		    "%s", prm.name, TOOL_PARAMS_MAX, a->name);
	p->cur_act->param[a->nparams] = p->lineno;
	p->cur_act->placed[a->nparams] = prm.place != 0;
	a->params[a->nparams++] = prm;
	return 0;
}

static int
set_key(struct tparse *p, char *key, char *val)
{
	const struct key *k = NULL;
	size_t i, other = K_MAX;

	for (i = 0; i < K_MAX; i++)
		if (strcmp(keys[i].name, key) == 0) {
			if (keys[i].block == p->block)
				k = &keys[i];
			else
				other = i;
		}
	if (k == NULL && other == K_MAX)
		return perr(p, "unknown key \"%s\"", key);
	if (k == NULL && keys[other].block == B_TOOL)
		return perr(p, "%s is a tool-level key; put it before the "
		    "first slot or action", key);
	if (k == NULL)
		return perr(p, "%s belongs in %s block, not %s", key,
		    keys[other].block == B_SLOT ? "a slot" : "an action",
		    p->block == B_TOOL ? "before the first slot or action" :
		    p->block == B_SLOT ? "in a slot" : "in an action");
	i = (size_t)(k - keys);
	if (p->cur->seen[i] != 0 && !k->repeat)
		return perr(p, "duplicate key \"%s\" (first set on line %zu)",
		    key, p->cur->seen[i]);
	if (p->cur->seen[i] == 0)
		p->cur->seen[i] = p->lineno;
	if ((*val == '\0' && perr(p, "%s: no value", key) == -1) ||
	    k->set(p, key, val) == -1) {
		p->cur->failed[i] = 1;
		return -1;
	}
	return 0;
}

/*
 * One line, NUL-free.  A '#' at the start or after white space begins
 * a comment, as in secretd.conf.
 */
static void
parse_line(struct tparse *p, char *line)
{
	char *s, *e, *word, *rest;

	for (s = line; *s != '\0'; s++)
		if (*s == '#' && (s == line || is_space(s[-1]))) {
			*s = '\0';
			break;
		}
	for (e = line + strlen(line); e > line && is_space(e[-1]); e--)
		;
	*e = '\0';
	for (word = line; is_space(*word); word++)
		;
	if (*word == '\0')
		return;
	if (p->head.line == 0)
		p->head.line = p->lineno;
	if (!utf8_ok((const unsigned char *)word)) {
		perr(p, "not valid UTF-8");
		return;
	}
	for (e = word; *e != '\0' && *e != '=' && !is_space(*e); e++)
		;
	for (rest = e; is_space(*rest); rest++)
		;
	if (*rest == '=') {
		*e = '\0';
		if (*word == '\0') {
			perr(p, "syntax error: no key before '='");
			return;
		}
		for (rest++; is_space(*rest); rest++)
			;
		set_key(p, word, rest);
		return;
	}
	*e = '\0';
	if (strcmp(word, "slot") == 0)
		open_block(p, B_SLOT, word, rest);
	else if (strcmp(word, "action") == 0)
		open_block(p, B_ACTION, word, rest);
	else if (strcmp(word, "param") == 0)
		add_param(p, rest);
	else
		perr(p, "syntax error: expected \"key = value\", \"slot "
		    "NAME\", \"action NAME\" or \"param NAME TYPE ...\"");
}

/* The key set on the earliest line among those given, else 0. */
static size_t
first_of(const struct block_lines *b, const int *k, size_t n)
{
	size_t i, line = 0;

	for (i = 0; i < n; i++)
		if (b->seen[k[i]] != 0 && (line == 0 || b->seen[k[i]] < line))
			line = b->seen[k[i]];
	return line;
}

/* Nobody but root and us may change what the broker obeys. */
static const char *
trusted(const struct stat *st)
{
	static char why[64];

	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others; refusing it";
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(why, sizeof(why), "owned by uid %u, neither root "
		    "nor us; refusing it", (unsigned)st->st_uid);
		return why;
	}
	return NULL;
}

/*
 * A command or CA file, and every folder above it: nobody but root and
 * us may change it.  Every exec tool runs as the runner's user, so a
 * command that user (or anyone else) could rewrite would hand every
 * later run's credentials, whoever asks, to whoever rewrote it; a CA
 * file so, the upstream's.  A world-writable folder with the sticky bit
 * (/tmp) is fine: others cannot replace what is in it.  A path that does
 * not exist yet is judged by the folders above it that do.
 */
static const char *
path_trusted(const char *path)
{
	static char why[PATH_MAX + 96];
	char buf[PATH_MAX], *slash;
	const char *w;
	struct stat st;
	int file = 1;

	snprintf(buf, sizeof(buf), "%s", path);
	for (;;) {
		if (stat(buf[0] != '\0' ? buf : "/", &st) == 0) {
			if (file && !S_ISREG(st.st_mode))
				w = "not a regular file; refusing it";
			else if (!file && (st.st_mode & S_ISVTX) &&
			    st.st_uid == 0)
				w = NULL;
			else
				w = trusted(&st);
			if (w != NULL) {
				snprintf(why, sizeof(why), "%s: %s",
				    buf[0] != '\0' ? buf : "/", w);
				return why;
			}
		} else if (errno != ENOENT) {
			snprintf(why, sizeof(why), "%s: %s", buf[0] != '\0' ?
			    buf : "/", strerror(errno));
			return why;
		}
		if (buf[0] == '\0' || (slash = strrchr(buf, '/')) == NULL)
			return NULL;
		*slash = '\0';
		file = 0;
	}
}

/* Keys the other type of tool takes, then what this type needs. */
static void
finish_head(struct tparse *p)
{
	static const int http_only[] = { K_BASE_URL, K_CA_FILE, K_PLAIN_HTTP };
	static const int exec_only[] = { K_COMMAND, K_ARG };
	struct tool *t = p->t;
	char err[256], name[sizeof(t->name)];
	const char *why;
	const int *other;
	size_t i, n, line;
	int bad = 0;

	if (t->type == 0) {
		if (p->head.seen[K_TYPE] == 0)
			perr_at(p, p->head.line, "type: missing; give type = "
			    "http or type = exec");
		return;
	}
	other = t->type == TOOL_HTTP ? exec_only : http_only;
	n = t->type == TOOL_HTTP ? 2 : 3;
	for (i = 0; i < n; i++)
		if ((line = p->head.seen[other[i]]) != 0) {
			perr_at(p, line, "%s: only %s tools take it",
			    keys[other[i]].name,
			    t->type == TOOL_HTTP ? "exec" : "http");
			bad = 1;
		}
	if (t->type == TOOL_HTTP && p->head.seen[K_BASE_URL] == 0) {
		perr_at(p, p->head.line, "base_url: missing; http tools need "
		    "one");
		bad = 1;
	}
	if (t->type == TOOL_EXEC && p->head.seen[K_COMMAND] == 0) {
		perr_at(p, p->head.line, "command: missing; exec tools need "
		    "one");
		bad = 1;
	}
	/* What the rules below judge, when its own line failed. */
	if (bad || p->head.failed[K_BASE_URL] || p->head.failed[K_CA_FILE] ||
	    p->head.failed[K_PLAIN_HTTP] || p->head.failed[K_COMMAND])
		return;
	/* The file name was judged already; check the rest. */
	memcpy(name, t->name, sizeof(name));
	snprintf(t->name, sizeof(t->name), "tool");
	if (tool_check_head(t, err, sizeof(err)) == -1) {
		line = p->head.seen[t->type == TOOL_HTTP ? K_BASE_URL :
		    K_COMMAND];
		perr_at(p, line != 0 ? line : p->head.line, "%s", err);
	} else if (t->type == TOOL_EXEC && (why = path_trusted(t->command)) !=
	    NULL)
		perr_at(p, p->head.seen[K_COMMAND], "command: %s", why);
	else if (t->ca_file[0] != '\0' && (why = path_trusted(t->ca_file)) !=
	    NULL)
		perr_at(p, p->head.seen[K_CA_FILE], "ca_file: %s", why);
	memcpy(t->name, name, sizeof(name));
}

static void
finish_slot(struct tparse *p, struct tool_slot *s, struct block_lines *b)
{
	static const int places[] = { K_HEADER, K_QUERY, K_BASIC, K_ENV };
	char err[256];
	size_t line = first_of(b, places, 4);
	int bad = b->bad;

	/* A block whose header failed is judged no further. */
	if (b->bad_header)
		return;
	if (line == 0) {
		perr_at(p, b->line, "slot %s: no placement; give %s", s->name,
		    p->t->type == TOOL_EXEC ? "env = VARIABLE" :
		    "one of header, query or basic");
		bad = 1;
	}
	if (b->seen[K_SECRET] == 0) {
		perr_at(p, b->line, "slot %s: no secret; give the name of "
		    "the secret it uses by default", s->name);
		bad = 1;
	}
	if (bad || p->t->type == 0)
		return;
	if (tool_check_slot(p->t, s, err, sizeof(err)) == -1)
		perr_at(p, line, "%s", err);
}

static int
in_path(const char *path, const char *name)
{
	size_t n = strlen(name);
	const char *s;

	for (s = strchr(path, '{'); s != NULL; s = strchr(s + 1, '{'))
		if (strncmp(s + 1, name, n) == 0 && s[1 + n] == '}')
			return 1;
	return 0;
}

/*
 * Where each parameter goes unless it says: a {name} in the path is a
 * path parameter (always required), else the query of a GET or DELETE
 * and the JSON body of the rest.  Exec tools take everything on stdin.
 */
static int
place_params(struct tparse *p, struct tool_action *a, struct action_lines *al)
{
	struct tool_param *prm;
	uint32_t i;
	int ok = 1, inpath, get;

	get = strcmp(a->method, "GET") == 0 || strcmp(a->method, "DELETE") == 0;
	for (i = 0; i < a->nparams; i++) {
		prm = &a->params[i];
		if (p->t->type == TOOL_EXEC) {
			prm->place = PARAM_BODY;
			continue;
		}
		inpath = in_path(a->path, prm->name);
		if (!al->placed[i])
			prm->place = inpath ? PARAM_PATH : get ? PARAM_QUERY :
			    PARAM_BODY;
		else if (prm->place == PARAM_PATH && !inpath) {
			perr_at(p, al->param[i], "param %s: placed in the "
			    "path, but the path has no {%s}", prm->name,
			    prm->name);
			ok = 0;
		} else if (prm->place != PARAM_PATH && inpath) {
			perr_at(p, al->param[i], "param %s: the path holds "
			    "{%s}, so it is a path parameter", prm->name,
			    prm->name);
			ok = 0;
		}
		if (prm->place == PARAM_PATH)
			prm->required = 1;
	}
	return ok;
}

static void
finish_action(struct tparse *p, struct tool_action *a,
    struct action_lines *al)
{
	static const int http_keys[] = { K_METHOD, K_PATH };
	struct block_lines *b = &al->b;
	char err[256];
	size_t i, line;
	int bad = b->bad;

	if (p->t->type == 0 || b->bad_header)
		return;
	if (p->t->type == TOOL_EXEC) {
		for (i = 0; i < 2; i++)
			if ((line = b->seen[http_keys[i]]) != 0) {
				perr_at(p, line, "%s: exec tools take no "
				    "method or path", keys[http_keys[i]].name);
				bad = 1;
			}
	} else
		for (i = 0; i < 2; i++)
			if (b->seen[http_keys[i]] == 0) {
				perr_at(p, b->line, "action %s: no %s", a->name,
				    keys[http_keys[i]].name);
				bad = 1;
			}
	if (bad)
		return;
	if (!place_params(p, a, al))
		return;
	if (tool_check_action(p->t, a, err, sizeof(err)) == -1)
		perr_at(p, b->seen[K_PATH] != 0 ? b->seen[K_PATH] : b->line,
		    "%s", err);
}

static void
finish(struct tparse *p)
{
	struct tool *t = p->t;
	char err[256];
	uint32_t i;

	if (p->head.line == 0)
		p->head.line = 1;
	finish_head(p);
	for (i = 0; i < t->nslots; i++)
		finish_slot(p, &t->slots[i], &p->slots[i]);
	if (t->nactions == 0)
		perr_at(p, p->head.line, "no action; a tool needs at least one "
		    "\"action NAME\" block");
	for (i = 0; i < t->nactions; i++)
		finish_action(p, &t->actions[i], &p->acts[i]);
	/* Rules that span blocks, such as two slots in one header. */
	if (p->nerr == 0 && tool_check(t, err, sizeof(err)) == -1)
		perr_at(p, p->head.line, "%s", err);
}

/* The tool's name from its file's: NAME.tool. */
static void
name_from_file(struct tparse *p)
{
	const char *slash = strrchr(p->file, '/');
	const char *base = slash != NULL ? slash + 1 : p->file;
	size_t n, sl = strlen(TOOL_SUFFIX);

	p->dirlen = slash != NULL ? (size_t)(slash - p->file) : 0;
	n = strlen(base);
	if (n <= sl || strcmp(base + n - sl, TOOL_SUFFIX) != 0 ||
	    !valid_tool_name(base, n - sl)) {
		perr_at(p, 0, "a tool file is named NAME%s, NAME being 1 to "
		    "%d letters, digits, '-' or '_'", TOOL_SUFFIX,
		    TOOL_NAME_MAX);
		snprintf(p->t->name, sizeof(p->t->name), "tool");
		return;
	}
	memcpy(p->t->name, base, n - sl);
	p->t->name[n - sl] = '\0';
}

int
tool_parse_buf(const char *file, const char *buf, size_t len,
    struct tool *t, FILE *errs)
{
	struct tparse *p;
	char *line;
	const char *s = buf, *end = buf + len, *nl;
	size_t n;
	int nerr;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (line = malloc(LINE_MAX_LEN + 1)) == NULL) {
		free(p);
		if (errs != NULL)
			fprintf(errs, "%s: out of memory\n", file);
		return 1;
	}
	memset(t, 0, sizeof(*t));
	t->allow = TOOL_ALLOW_MEMBERS;
	t->timeout_ms = TOOL_TIMEOUT_DEFAULT_MS;
	t->max_result = TOOL_RESULT_DEFAULT;
	p->file = file;
	p->errs = errs;
	p->t = t;
	p->block = B_TOOL;
	p->cur = &p->head;
	name_from_file(p);
	if (len > TOOL_FILE_MAX) {
		perr_at(p, 0, "larger than %d KiB", TOOL_FILE_MAX / 1024);
		goto done;
	}
	while (s < end) {
		p->lineno++;
		nl = memchr(s, '\n', (size_t)(end - s));
		n = (size_t)((nl != NULL ? nl : end) - s);
		if (n > LINE_MAX_LEN)
			perr(p, "line too long (at most %d bytes)",
			    LINE_MAX_LEN);
		else if (memchr(s, '\0', n) != NULL)
			perr(p, "NUL byte in line");
		else {
			memcpy(line, s, n);
			line[n] = '\0';
			parse_line(p, line);
		}
		s += n + (nl != NULL);
	}
	finish(p);
done:
	nerr = p->nerr;
	free(line);
	free(p);
	return nerr;
}


static void __attribute__((format(printf, 3, 4)))
ferr(FILE *errs, const char *file, const char *fmt, ...)
{
	va_list ap;

	if (errs == NULL)
		return;
	fprintf(errs, "%s: ", file);
	va_start(ap, fmt);
	vfprintf(errs, fmt, ap);
	va_end(ap);
	fputc('\n', errs);
}

/* The whole of one regular file of ours, or NULL after one error. */
static char *
read_tool_file(int dfd, const char *name, const char *path, size_t *lenp,
    FILE *errs)
{
	struct stat st;
	const char *why;
	char *buf = NULL;
	size_t off = 0;
	ssize_t n;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		ferr(errs, path, "%s", errno == ELOOP ? "a symbolic link; "
		    "refusing it" : strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		ferr(errs, path, "%s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ferr(errs, path, "not a regular file");
		goto fail;
	}
	if ((why = trusted(&st)) != NULL) {
		ferr(errs, path, "%s", why);
		goto fail;
	}
	if (st.st_size > TOOL_FILE_MAX) {
		ferr(errs, path, "larger than %d KiB", TOOL_FILE_MAX / 1024);
		goto fail;
	}
	if ((buf = malloc(TOOL_FILE_MAX + 1)) == NULL) {
		ferr(errs, path, "out of memory");
		goto fail;
	}
	while ((n = read(fd, buf + off, TOOL_FILE_MAX + 1 - off)) > 0)
		if ((off += (size_t)n) > TOOL_FILE_MAX)
			break;
	if (n == -1 || off > TOOL_FILE_MAX) {
		ferr(errs, path, "%s", n == -1 ? strerror(errno) :
		    "grew while read");
		free(buf);
		buf = NULL;
		goto fail;
	}
	*lenp = off;
fail:
	close(fd);
	return buf;
}

static int
load_one(int dfd, const char *dir, const char *name, struct toolset *ts,
    FILE *errs)
{
	char path[PATH_MAX];
	struct tool *t;
	char *buf;
	size_t len = 0;
	int n;

	n = snprintf(path, sizeof(path), "%s%s%s", dir,
	    dir[strlen(dir) - 1] == '/' ? "" : "/", name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		ferr(errs, name, "path too long");
		return 1;
	}
	if ((buf = read_tool_file(dfd, name, path, &len, errs)) == NULL)
		return 1;
	if ((t = malloc(sizeof(*t))) == NULL) {
		ferr(errs, path, "out of memory");
		free(buf);
		return 1;
	}
	n = tool_parse_buf(path, buf, len, t, errs);
	free(buf);
	if (n != 0) {
		free(t);
		return n;
	}
	ts->tools[ts->n++] = t;
	return 0;
}

static int
tool_file(const char *name)
{
	size_t n = strlen(name), sl = strlen(TOOL_SUFFIX);

	return name[0] != '.' && n > sl &&
	    strcmp(name + n - sl, TOOL_SUFFIX) == 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_tools(const void *a, const void *b)
{
	return strcmp((*(struct tool *const *)a)->name,
	    (*(struct tool *const *)b)->name);
}

/* The NAME.tool entries of the folder, sorted; -1 after one error. */
static int
list_folder(DIR *d, const char *dir, char ***namesp, size_t *np, FILE *errs)
{
	struct dirent *de;
	char **names;
	size_t n = 0;
	int nerr = 0;

	if ((names = calloc(TOOLS_MAX, sizeof(*names))) == NULL) {
		ferr(errs, dir, "out of memory");
		return -1;
	}
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
		if (!tool_file(de->d_name))
			continue;
		if (n == TOOLS_MAX) {
			ferr(errs, dir, "more than %d tool files; the rest are "
			    "not read", TOOLS_MAX);
			nerr = 1;
			break;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			ferr(errs, dir, "out of memory");
			nerr = 1;
			break;
		}
		n++;
	}
	if (de == NULL && errno != 0) {
		ferr(errs, dir, "%s", strerror(errno));
		nerr = 1;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	*namesp = names;
	*np = n;
	return nerr;
}

int
tools_load(const char *dir, struct toolset *ts, FILE *errs)
{
	struct stat st;
	const char *why = NULL;
	char **names = NULL;
	size_t i, n = 0;
	DIR *d;
	int dfd, nerr;

	memset(ts, 0, sizeof(*ts));
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		ferr(errs, dir, "%s", strerror(errno));
		return 1;
	}
	if (fstat(dfd, &st) == -1 || (why = trusted(&st)) != NULL) {
		ferr(errs, dir, "%s", why != NULL ? why : strerror(errno));
		close(dfd);
		return 1;
	}
	if ((d = fdopendir(dfd)) == NULL) {
		ferr(errs, dir, "%s", strerror(errno));
		close(dfd);
		return 1;
	}
	nerr = list_folder(d, dir, &names, &n, errs);
	if (nerr == -1) {
		closedir(d);
		return 1;
	}
	if (n > 0 && (ts->tools = calloc(n, sizeof(*ts->tools))) == NULL) {
		ferr(errs, dir, "out of memory");
		nerr++;
	}
	for (i = 0; i < n && ts->tools != NULL; i++)
		nerr += load_one(dirfd(d), dir, names[i], ts, errs);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	if (ts->n > 1)		/* an empty folder has no array to sort */
		qsort(ts->tools, ts->n, sizeof(*ts->tools), cmp_tools);
	return nerr;
}

static int
cmp_key(const void *key, const void *elem)
{
	return strcmp(key, (*(struct tool *const *)elem)->name);
}

const struct tool *
tools_find(const struct toolset *ts, const char *name)
{
	struct tool **t;

	if (ts->n == 0)
		return NULL;
	t = bsearch(name, ts->tools, ts->n, sizeof(*ts->tools), cmp_key);
	return t != NULL ? *t : NULL;
}

void
tools_free(struct toolset *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		free(ts->tools[i]);
	free(ts->tools);
	memset(ts, 0, sizeof(*ts));
}

/* One comment line a tool, for secretd -n -v. */
void
tools_print(const struct toolset *ts, FILE *out)
{
	const struct tool *t;
	size_t i, j;

	for (i = 0; i < ts->n; i++) {
		t = ts->tools[i];
		fprintf(out, "# tool %s: %s %s, %s, timeout %ums, max_result "
		    "%u; slots", t->name, t->type == TOOL_HTTP ? "http" :
		    "exec", t->type == TOOL_HTTP ? t->base_url : t->command,
		    t->allow == TOOL_ALLOW_ADMINS ? "admins" : "members",
		    t->timeout_ms, t->max_result);
		for (j = 0; j < t->nslots; j++)
			fprintf(out, "%s %s=%s", j > 0 ? "," : "",
			    t->slots[j].name, t->slots[j].secret);
		if (t->nslots == 0)
			fprintf(out, " none");
		fprintf(out, "; actions");
		for (j = 0; j < t->nactions; j++)
			fprintf(out, "%s %s", j > 0 ? "," : "",
			    t->actions[j].name);
		fputc('\n', out);
	}
}
