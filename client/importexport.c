/*
 * runtools secret export, secret import and whoami.  Export reveals
 * everything first and writes only when every reveal it needs has
 * answered; import parses the whole file and reads every current value
 * before its first write.  Values go only to standard output (export)
 * or the server (import), and every copy is wiped.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

#define IMPORT_MAX	(16 * 1024 * 1024)

enum plan { PLAN_CREATE, PLAN_ROTATE, PLAN_SAME };

static void
note(const char *name, const char *scope, const char *why)
{
	fprintf(stderr, "runtools: export: skipped ");
	out_clean(stderr, name);
	fprintf(stderr, " (%s): ", scope);
	out_clean(stderr, why);
	fprintf(stderr, "\n");
}

static int
taken(const struct dotenv *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->e[i].name, name) == 0)
			return 1;
	return 0;
}

/* One secret's value into d; 1 when skipped, -1 on a hard error. */
static int
export_one(rt_client *c, const struct rt_secret *s, struct dotenv *d,
    int *rv)
{
	struct rt_get_opts o = { strcmp(s->scope, "org") == 0, NULL, 1, 0 };
	struct dotenv_entry *n;
	struct rt_secret v;
	enum rt_error e;

	if ((e = rt_secrets_get(c, s->name, &o, &v)) == RT_E_AUTH ||
	    e == RT_E_NOTFOUND) {
		note(s->name, s->scope, rt_client_last_error(c)->message);
		return 1;
	}
	if (e != RT_E_OK) {
		*rv = cli_fail(c, e, "export: reveal", s->name);
		return -1;
	}
	if ((n = realloc(d->e, (d->n + 1) * sizeof(*n))) == NULL) {
		rt_secret_clear(&v);
		fprintf(stderr, "runtools: export: out of memory\n");
		*rv = EXIT_SERVER;
		return -1;
	}
	d->e = n;
	n = &d->e[d->n++];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", s->name);
	n->value = v.value;
	n->len = v.value_len;
	v.value = NULL;
	v.value_len = 0;
	rt_secret_clear(&v);
	return 0;
}

/*
 * Your own user secrets first, then the org's not shadowed by one of
 * them: the order in which tools and 'runtools run' resolve a name.
 */
static int
export_collect(rt_client *c, const struct rt_secret_list *l,
    const char *me, struct dotenv *d)
{
	const struct rt_secret *s;
	size_t i;
	int pass, rv = 0;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < l->count; i++) {
			s = &l->secrets[i];
			if (s->scope == NULL || s->name == NULL ||
			    (strcmp(s->scope, "org") == 0) != pass)
				continue;
			if (!pass && (s->user_id == NULL ||
			    strcmp(s->user_id, me) != 0)) {
				note(s->name, s->user_id ? s->user_id : "user",
				    "only its owner can reveal it");
				continue;
			}
			if (pass && taken(d, s->name)) {
				note(s->name, "org", "your user secret of "
				    "that name is exported instead");
				continue;
			}
			if (export_one(c, s, d, &rv) == -1)
				return rv;
		}
	return 0;
}

static int
export_json(const struct dotenv *d)
{
	json_t *o = json_object();
	char *text = NULL;
	size_t i, len = 0;
	int rv = -1;

	for (i = 0; o != NULL && i < d->n; i++)
		if (json_object_set_new(o, d->e[i].name,
		    json_stringn(d->e[i].value, d->e[i].len)) == -1)
			goto done;
	if (o == NULL || (text = json_dumps(o, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER)) == NULL)
		goto done;
	len = strlen(text);
	rv = out_write(STDOUT_FILENO, text, len) == -1 ||
	    out_write(STDOUT_FILENO, "\n", 1) == -1 ? -1 : 0;
 done:
	if (text != NULL)
		rt_secret_value_free(text, len);
	json_decref(o);
	return rv;
}

/* Through a buffer of our own, wiped once it is flushed. */
static int
export_write(const struct dotenv *d, const char *format)
{
	static char buf[8192];
	size_t i;
	int rv = 0;

	if (strcmp(format, "json") == 0)
		return export_json(d);
	fflush(stdout);
	setvbuf(stdout, buf, _IOFBF, sizeof(buf));
	for (i = 0; i < d->n && rv == 0; i++)
		rv = strcmp(format, "env") == 0 ?
		    env_write(stdout, d->e[i].name, d->e[i].value,
		    d->e[i].len) : dotenv_write(stdout, d->e[i].name,
		    d->e[i].value, d->e[i].len);
	if (fflush(stdout) == EOF)
		rv = -1;
	setvbuf(stdout, NULL, _IOFBF, BUFSIZ);
	explicit_bzero(buf, sizeof(buf));
	return rv;
}

int
cmd_export(rt_client *c, struct cli *cl)
{
	struct rt_list_opts o = { cl->category, cl->scope, cl->all, NULL, 0,
	    NULL, NULL };
	const char *format = cl->format ? cl->format : cl->json ? "json" :
	    "dotenv";
	struct rt_secret_list l;
	struct rt_whoami w;
	struct dotenv d;
	enum rt_error e;
	int rv;

	if ((e = rt_whoami(c, &w)) != RT_E_OK)
		return cli_fail(c, e, "export", NULL);
	if ((e = rt_secrets_list_all(c, &o, &l)) != RT_E_OK) {
		rt_whoami_clear(&w);
		return cli_fail(c, e, "export: list", NULL);
	}
	memset(&d, 0, sizeof(d));
	rv = export_collect(c, &l, w.user_id, &d);
	if (rv == 0 && export_write(&d, format) == -1) {
		fprintf(stderr, "runtools: export: writing: %s\n",
		    strerror(errno));
		rv = EXIT_SERVER;
	}
	dotenv_free(&d);
	rt_secret_list_clear(&l);
	rt_whoami_clear(&w);
	return rv;
}

static int
is_json_file(const struct cli *cl)
{
	size_t n = strlen(cl->file);

	if (cl->format != NULL)
		return strcmp(cl->format, "json") == 0;
	return n > 5 && strcmp(cl->file + n - 5, ".json") == 0;
}

/*
 * What importing e would do.  A value we may not reveal cannot be
 * compared: it is rotated if it exists.
 */
static int
plan_one(rt_client *c, const struct cli *cl, const struct dotenv_entry *e,
    enum plan *p)
{
	struct rt_get_opts o = { cl->org_wide, NULL, 1, 0 };
	struct rt_secret s;
	enum rt_error err;

	err = rt_secrets_get(c, e->name, &o, &s);
	if (err == RT_E_AUTH) {
		o.reveal = 0;
		err = rt_secrets_get(c, e->name, &o, &s);
	}
	if (err == RT_E_NOTFOUND) {
		*p = PLAN_CREATE;
		return 0;
	}
	if (err != RT_E_OK)
		return cli_fail(c, err, "import: reading", e->name);
	*p = s.value != NULL && s.value_len == e->len &&
	    memcmp(s.value, e->value, e->len) == 0 ? PLAN_SAME : PLAN_ROTATE;
	rt_secret_clear(&s);
	return 0;
}

static int
import_write(rt_client *c, const struct cli *cl, const struct dotenv_entry *e,
    enum plan p)
{
	struct rt_set_opts o = { p == PLAN_CREATE ? cl->category : NULL, NULL,
	    cl->org_wide, NULL, NULL };
	struct rt_secret m;
	enum rt_error err;
	int created;

	if ((err = rt_secrets_set(c, e->name, e->value, e->len, &o, &created,
	    &m)) != RT_E_OK)
		return cli_fail(c, err, "import", e->name);
	printf("%s %s (%s, version %lu)\n", created ? "created" : "rotated",
	    e->name, m.scope ? m.scope : "-", m.version);
	rt_secret_clear(&m);
	return 0;
}

static int
import_apply(rt_client *c, const struct cli *cl, const struct dotenv *d,
    const enum plan *plan)
{
	static const char *const verb[] = { "would create", "would rotate",
	    "unchanged" };
	unsigned int count[3] = { 0, 0, 0 };
	size_t i;
	int rv;

	for (i = 0; i < d->n; i++) {
		if (plan[i] == PLAN_SAME || cl->dry_run)
			printf("%s %s\n", verb[plan[i]], d->e[i].name);
		else if ((rv = import_write(c, cl, &d->e[i], plan[i])) != 0) {
			fflush(stdout);
			fprintf(stderr, "runtools: import: stopped after %u "
			    "of %zu changes\n", count[0] + count[1], d->n -
			    count[2]);
			return rv;
		}
		count[plan[i]]++;
	}
	printf("%u %s, %u %s, %u unchanged%s\n", count[0], cl->dry_run ?
	    "to create" : "created", count[1], cl->dry_run ? "to rotate" :
	    "rotated", count[2], cl->dry_run ? " (dry run: nothing changed)" :
	    "");
	return 0;
}

int
cmd_import(rt_client *c, struct cli *cl)
{
	const char *src = strcmp(cl->file, "-") == 0 ? "standard input" :
	    cl->file;
	struct dotenv d;
	enum plan *plan = NULL;
	char err[512], *text;
	size_t len, i;
	int rv = 0;

	if (cl->format != NULL && strcmp(cl->format, "env") == 0) {
		fprintf(stderr, "runtools: import reads --format dotenv or "
		    "json\n");
		return EXIT_USAGE;
	}
	if (dotenv_read(cl->file, IMPORT_MAX, &text, &len, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "runtools: import: %s\n", err);
		return EXIT_USAGE;
	}
	rv = dotenv_parse(text, len, is_json_file(cl), &d, err, sizeof(err));
	rt_secret_value_free(text, len);
	if (rv == -1) {
		fprintf(stderr, "runtools: import: %s: ", src);
		out_clean(stderr, err);
		fprintf(stderr, "; nothing was imported\n");
		return EXIT_USAGE;
	}
	if (d.n > 0 && (plan = calloc(d.n, sizeof(*plan))) == NULL) {
		fprintf(stderr, "runtools: import: out of memory\n");
		rv = EXIT_SERVER;
	}
	for (i = 0; rv == 0 && i < d.n; i++)
		rv = plan_one(c, cl, &d.e[i], &plan[i]);
	if (rv == 0)
		rv = import_apply(c, cl, &d, plan);
	free(plan);
	dotenv_free(&d);
	return rv;
}

int
cmd_whoami(rt_client *c, struct cli *cl)
{
	struct rt_whoami w;
	enum rt_error e;

	if ((e = rt_whoami(c, &w)) != RT_E_OK)
		return cli_fail(c, e, "whoami", NULL);
	if (cl->json)
		cli_print_json(c);
	else {
		printf("user   %s\n", w.user_id);
		if (w.uid >= 0)
			printf("uid    %lld\n", w.uid);
		printf("role   %s\norg    %s\n", w.role, w.org_id);
		if (strcmp(w.auth, "token") == 0)
			printf("auth   token %s (expires %s)\n", w.token_id ?
			    w.token_id : "-", w.token_expires_at ?
			    w.token_expires_at : "never");
		else
			printf("auth   unix peer credentials\n");
	}
	rt_whoami_clear(&w);
	return 0;
}
