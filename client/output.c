/*
 * runtools output: aligned tables, "key: value" metadata, raw JSON and a
 * tool's result.  Text that came from the server is printed with control
 * characters replaced, so a description cannot drive the terminal; a
 * tool's output is written byte for byte, except to a terminal.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

#define NCOLS	7

static const char *
nz(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

void
out_clean(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* Display width: UTF-8 code points (continuation bytes do not count). */
static size_t
width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

int
out_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

void
out_json(const char *body, size_t len)
{
	fflush(stdout);
	if (body != NULL)
		out_write(STDOUT_FILENO, body, len);
	if (body == NULL || len == 0 || body[len - 1] != '\n')
		out_write(STDOUT_FILENO, "\n", 1);
}

/*
 * Rows of NCOLS cells, padded to align; no trailing blanks.  A cell left
 * NULL is empty.
 */
static void
table(const char *(*rows)[NCOLS], size_t nrows)
{
	size_t w[NCOLS] = { 0 }, r, i, last, cw;

	for (r = 0; r < nrows; r++)
		for (i = 0; i < NCOLS; i++) {
			if (rows[r][i] == NULL)
				rows[r][i] = "";
			if ((cw = width(rows[r][i])) > w[i])
				w[i] = cw;
		}
	for (r = 0; r < nrows; r++) {
		for (last = NCOLS - 1; last > 0 && *rows[r][last] == '\0';)
			last--;
		for (i = 0; i <= last; i++) {
			out_clean(stdout, rows[r][i]);
			if (i < last)
				printf("%*s", (int)(w[i] - width(rows[r][i]) +
				    2), "");
		}
		printf("\n");
	}
}

void
out_secret_table(const struct rt_secret_list *l, int owners)
{
	const char *(*rows)[NCOLS];
	char (*cells)[2][96];
	size_t i;

	rows = calloc(l->count + 1, sizeof(*rows));
	cells = calloc(l->count + 1, sizeof(*cells));
	if (rows == NULL || cells == NULL) {
		free(rows);
		free(cells);
		fprintf(stderr, "runtools: out of memory\n");
		return;
	}
	rows[0][0] = "NAME";
	rows[0][1] = "SCOPE";
	rows[0][2] = "CATEGORY";
	rows[0][3] = "VERSION";
	rows[0][4] = "UPDATED";
	rows[0][5] = "DESCRIPTION";
	/* Expiry, last, and only when a listed secret has one. */
	for (i = 0; i < l->count; i++)
		if (l->secrets[i].expires_at != NULL)
			rows[0][6] = "EXPIRES";
	for (i = 0; i < l->count; i++) {
		const struct rt_secret *s = &l->secrets[i];

		/* who owns a user secret matters once others' are listed */
		if (owners && s->user_id != NULL)
			snprintf(cells[i][0], sizeof(cells[i][0]), "%s:%s",
			    nz(s->scope), s->user_id);
		else
			snprintf(cells[i][0], sizeof(cells[i][0]), "%s",
			    nz(s->scope));
		snprintf(cells[i][1], sizeof(cells[i][1]), "%lu", s->version);
		rows[i + 1][0] = nz(s->name);
		rows[i + 1][1] = cells[i][0];
		rows[i + 1][2] = nz(s->category);
		rows[i + 1][3] = cells[i][1];
		rows[i + 1][4] = nz(s->updated_at);
		rows[i + 1][5] = s->description ? s->description : "";
		rows[i + 1][6] = s->expires_at ? s->expires_at : "";
	}
	table(rows, l->count + 1);
	free(rows);
	free(cells);
}

static void
kv(const char *k, const char *v)
{
	printf("%s: ", k);
	out_clean(stdout, nz(v));
	printf("\n");
}

void
out_secret_meta(const struct rt_secret *s)
{
	kv("name", s->name);
	kv("scope", s->scope);
	kv("userId", s->user_id);
	kv("orgId", s->org_id);
	kv("category", s->category);
	kv("description", s->description);
	printf("version: %lu\n", s->version);
	kv("createdAt", s->created_at);
	kv("updatedAt", s->updated_at);
	kv("createdBy", s->created_by);
	kv("updatedBy", s->updated_by);
	if (s->expires_at != NULL)
		kv("expiresAt", s->expires_at);
}

/* VERSION CREATED CREATED BY, and "current" on the newest. */
void
out_version_table(const struct rt_version_list *l)
{
	const char *(*rows)[NCOLS];
	char (*cells)[24];
	size_t i;

	rows = calloc(l->count + 1, sizeof(*rows));
	cells = calloc(l->count + 1, sizeof(*cells));
	if (rows == NULL || cells == NULL) {
		free(rows);
		free(cells);
		fprintf(stderr, "runtools: out of memory\n");
		return;
	}
	rows[0][0] = "VERSION";
	rows[0][1] = "CREATED";
	rows[0][2] = "CREATED BY";
	rows[0][3] = "CURRENT";
	for (i = 0; i < l->count; i++) {
		const struct rt_version *v = &l->versions[i];

		snprintf(cells[i], sizeof(cells[i]), "%lu", v->version);
		rows[i + 1][0] = cells[i];
		rows[i + 1][1] = nz(v->created_at);
		rows[i + 1][2] = nz(v->created_by);
		rows[i + 1][3] = v->current ? "current" : "";
	}
	table(rows, l->count + 1);
	free(rows);
	free(cells);
}

/* "a, b, c" of n names, or "-"; NULL when out of memory. */
static char *
join(size_t n, const char *(*name)(const void *, size_t, char *, size_t),
    const void *arg)
{
	char one[256], *buf;
	size_t len = 2, i;

	for (i = 0; i < n; i++)
		len += strlen(name(arg, i, one, sizeof(one))) + 2;
	if ((buf = malloc(len)) == NULL)
		return NULL;
	snprintf(buf, len, "%s", n ? "" : "-");
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(buf, ", ");
		strcat(buf, name(arg, i, one, sizeof(one)));
	}
	return buf;
}

static const char *
scope_at(const void *arg, size_t i, char *buf, size_t len)
{
	const struct rt_token *t = arg;

	return nz(t->scopes[i]);
}

void
out_token_table(const struct rt_token_list *l)
{
	const char *(*rows)[NCOLS];
	char **scopes;
	size_t i;

	if ((rows = calloc(l->count + 1, sizeof(*rows))) == NULL) {
		fprintf(stderr, "runtools: out of memory\n");
		return;
	}
	rows[0][0] = "ID";
	rows[0][1] = "USER";
	rows[0][2] = "ROLE";
	rows[0][3] = "CREATED";
	rows[0][4] = "EXPIRES";
	rows[0][5] = "SCOPES";
	rows[0][6] = "DESCRIPTION";
	if ((scopes = calloc(l->count + 1, sizeof(*scopes))) == NULL) {
		free(rows);
		fprintf(stderr, "runtools: out of memory\n");
		return;
	}
	for (i = 0; i < l->count; i++) {
		const struct rt_token *t = &l->tokens[i];

		scopes[i] = t->nscopes == 0 ? NULL : join(t->nscopes,
		    scope_at, t);
		rows[i + 1][0] = nz(t->id);
		rows[i + 1][1] = nz(t->user_id);
		rows[i + 1][2] = nz(t->role);
		rows[i + 1][3] = nz(t->created_at);
		rows[i + 1][4] = t->expires_at ? t->expires_at : "never";
		/* an unscoped token reaches every route its role does */
		rows[i + 1][5] = scopes[i] != NULL ? scopes[i] : "all";
		rows[i + 1][6] = t->description ? t->description : "";
	}
	table(rows, l->count + 1);
	for (i = 0; i < l->count; i++)
		free(scopes[i]);
	free(scopes);
	free(rows);
}

static const char *
action_name(const void *arg, size_t i, char *buf, size_t len)
{
	const struct rt_tool *t = arg;

	return nz(t->actions[i].name);
}

static const char *
slot_name(const void *arg, size_t i, char *buf, size_t len)
{
	const struct rt_tool *t = arg;

	snprintf(buf, len, "%s=%s", nz(t->slots[i].slot),
	    nz(t->slots[i].default_secret));
	return buf;
}

void
out_tool_table(const struct rt_tool_list *l)
{
	const char *(*rows)[NCOLS];
	char **cells;
	size_t i;

	rows = calloc(l->count + 1, sizeof(*rows));
	cells = calloc(2 * l->count + 1, sizeof(*cells));
	if (rows == NULL || cells == NULL)
		goto nomem;
	rows[0][0] = "NAME";
	rows[0][1] = "TYPE";
	rows[0][2] = "ACTIONS";
	rows[0][3] = "SLOTS";
	rows[0][4] = "DESCRIPTION";
	rows[0][5] = "";
	for (i = 0; i < l->count; i++) {
		const struct rt_tool *t = &l->tools[i];

		if ((cells[2 * i] = join(t->nactions, action_name, t)) ==
		    NULL || (cells[2 * i + 1] = join(t->nslots, slot_name,
		    t)) == NULL)
			goto nomem;
		rows[i + 1][0] = nz(t->name);
		rows[i + 1][1] = nz(t->type);
		rows[i + 1][2] = cells[2 * i];
		rows[i + 1][3] = cells[2 * i + 1];
		rows[i + 1][4] = t->description ? t->description : "";
		rows[i + 1][5] = "";
	}
	table(rows, l->count + 1);
	goto done;
 nomem:
	fprintf(stderr, "runtools: out of memory\n");
 done:
	for (i = 0; cells != NULL && i < 2 * l->count; i++)
		free(cells[i]);
	free(cells);
	free(rows);
}

/* Indented "name: text" lines, as YAML would write them. */
static void
item(int indent, const char *name, const char *text)
{
	printf("%*s", indent, "");
	out_clean(stdout, nz(name));
	if (text != NULL && *text != '\0') {
		printf(": ");
		out_clean(stdout, text);
	}
	printf("\n");
}

static void
out_action(const struct rt_tool_action *a)
{
	const struct rt_tool_param *p;
	char what[256];
	size_t i;

	item(2, a->name, a->description);
	for (i = 0; i < a->nparams; i++) {
		p = &a->params[i];
		snprintf(what, sizeof(what), "%s, %s, in %s", nz(p->type),
		    p->required ? "required" : "optional", nz(p->in));
		item(4, p->name, what);
	}
}

void
out_tool(const struct rt_tool *t)
{
	size_t i;

	kv("name", t->name);
	kv("description", t->description);
	kv("type", t->type);
	kv("allow", t->allow);
	printf("timeoutMs: %lu\n", t->timeout_ms);
	printf("credentials:%s\n", t->nslots ? "" : " none");
	for (i = 0; i < t->nslots; i++)
		item(2, t->slots[i].slot, nz(t->slots[i].default_secret));
	printf("actions:%s\n", t->nactions ? "" : " none");
	for (i = 0; i < t->nactions; i++)
		out_action(&t->actions[i]);
}

/*
 * A tool's text as it came: byte for byte into a file or pipe; on a
 * terminal, control characters but newline and tab shown as '?' and a
 * last newline added, so that output cannot drive the terminal.
 */
static int
out_text(int fd, const char *s, size_t len)
{
	char *c;
	size_t i;
	int rv;

	if (!isatty(fd))
		return out_write(fd, s, len);
	if ((c = malloc(len + 2)) == NULL)
		return -1;
	for (i = 0; i < len; i++)
		c[i] = ((unsigned char)s[i] < 0x20 && s[i] != '\n' &&
		    s[i] != '\t') || s[i] == 0x7f ? '?' : s[i];
	if (len == 0 || c[len - 1] != '\n')
		c[len++] = '\n';
	rv = out_write(fd, c, len);
	rt_secret_value_free(c, len);
	return rv;
}

/* JSON text indented by two, and a newline. */
static int
out_pretty(const char *s, size_t len)
{
	size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY;
	json_t *v;
	char *p;
	size_t n;
	int rv = -1;

	if ((v = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    NULL)) == NULL)
		return out_text(STDOUT_FILENO, s, len);
	if ((n = json_dumpb(v, NULL, 0, flags)) > 0 &&
	    (p = malloc(n + 1)) != NULL) {
		if (json_dumpb(v, p, n, flags) == n) {
			p[n] = '\n';
			rv = out_write(STDOUT_FILENO, p, n + 1);
		}
		rt_secret_value_free(p, n);
	}
	json_decref(v);
	return rv;
}

/* What the command wrote to stderr, then the result; -1: a write failed. */
int
out_exec_result(const struct rt_exec_result *r)
{
	fflush(stdout);
	if (r->stderr_text != NULL && r->stderr_len > 0 &&
	    out_text(STDERR_FILENO, r->stderr_text, r->stderr_len) == -1)
		return -1;
	if (r->result == NULL)
		return 0;
	if (r->result_is_json)
		return out_pretty(r->result, r->result_len);
	return out_text(STDOUT_FILENO, r->result, r->result_len);
}
