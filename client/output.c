/*
 * runtools output: aligned tables, "key: value" metadata and raw JSON.
 * Text that came from the server is printed with control characters
 * replaced, so a description cannot drive the terminal.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define NCOLS	6

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

/* Rows of NCOLS cells, padded to align; no trailing blanks. */
static void
table(const char *(*rows)[NCOLS], size_t nrows)
{
	size_t w[NCOLS] = { 0 }, r, i, last, cw;

	for (r = 0; r < nrows; r++)
		for (i = 0; i < NCOLS; i++)
			if ((cw = width(rows[r][i])) > w[i])
				w[i] = cw;
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
}

void
out_token_table(const struct rt_token_list *l)
{
	const char *(*rows)[NCOLS];
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
	rows[0][5] = "DESCRIPTION";
	for (i = 0; i < l->count; i++) {
		const struct rt_token *t = &l->tokens[i];

		rows[i + 1][0] = nz(t->id);
		rows[i + 1][1] = nz(t->user_id);
		rows[i + 1][2] = nz(t->role);
		rows[i + 1][3] = nz(t->created_at);
		rows[i + 1][4] = t->expires_at ? t->expires_at : "never";
		rows[i + 1][5] = t->description ? t->description : "";
	}
	table(rows, l->count + 1);
	free(rows);
}
