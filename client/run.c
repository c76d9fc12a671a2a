/*
 * runtools run: start a command with secrets in its environment.
 *
 * The values are revealed through the API (so policy decides), put into
 * the command's environment only (never into an argv), and wiped from
 * this process once the command has started.  By default the command's
 * standard output and error go through pipes and every value is replaced
 * by a marker; standard input, the exit status and signals pass through.
 * With --no-mask runtools replaces itself with the command (no pipes).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "cli.h"

#define MASK_MARKER	"<concealed by runtools>"
#define CHUNK		65536
#define IDLE_MS		100	/* a partial line on a terminal waits this
				   long for the rest of the line */

extern char **environ;

struct run_var {
	char		*var;		/* environment variable, allocated */
	char		*name;		/* secret name, allocated */
	int		 org_only;	/* :org given, or --org-wide */
	char		*value;		/* revealed; wiped */
	size_t		 value_len;
};

struct cli_run {
	struct run_var	*vars;
	size_t		 nvars;
	size_t		 nexplicit;	/* vars[0..nexplicit) from the line */
	char		**allow;	/* --allow-env, in argv */
	size_t		 nallow;
	const char	*category;
	int		 org_wide;
	int		 no_mask;
	char		**argv;		/* COMMAND ARGS..., in argv */
};

/*
 * Variables that change how a program is found, loaded or interpreted:
 * set from a secret they would let whoever writes that secret run code in
 * the command.  A name ending in '*' is a prefix.
 */
static const char *const dangerous[] = {
	"LD_*", "DYLD_*", "GCONV_PATH", "GLIBC_TUNABLES", "HOSTALIASES",
	"LOCPATH", "NLSPATH", "MALLOC_*", "RESOLV_HOST_CONF", "TMPDIR",
	"PATH", "IFS", "ENV", "BASH_ENV", "BASH_FUNC_*", "BASHOPTS",
	"SHELLOPTS", "CDPATH", "GLOBIGNORE", "PS4", "PROMPT_COMMAND",
	"ZDOTDIR", "HOME", "SHELL",
	"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE",
	"PYTHONINSPECT", "PYTHONBREAKPOINT", "PYTHONWARNINGS",
	"PYTHONEXECUTABLE", "PERL5OPT", "PERL5LIB", "PERLLIB", "PERL5DB",
	"RUBYOPT", "RUBYLIB", "NODE_OPTIONS", "NODE_PATH",
	"JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS",
	"CLASSPATH", "LUA_INIT", "LUA_PATH", "LUA_CPATH", "PHPRC",
	"PHP_INI_SCAN_DIR", "OPENSSL_CONF", "OPENSSL_ENGINES",
	"GIT_SSH", "GIT_SSH_COMMAND", "GIT_EXEC_PATH", "GIT_ASKPASS",
	"SSH_ASKPASS", "EDITOR", "VISUAL", "PAGER", "BROWSER",
	NULL
};

int
run_var_dangerous(const char *var)
{
	size_t i, n;

	for (i = 0; dangerous[i] != NULL; i++) {
		n = strlen(dangerous[i]);
		if (dangerous[i][n - 1] == '*' ?
		    strncmp(var, dangerous[i], n - 1) == 0 :
		    strcmp(var, dangerous[i]) == 0)
			return 1;
	}
	return 0;
}

static int
valid_var(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (i > 0 && s[i] >= '0' && s[i] <= '9')))
			return 0;
	return i > 0 && i <= 255;
}

static int
allowed(const struct cli_run *r, const char *var)
{
	size_t i;

	if (!run_var_dangerous(var))
		return 1;
	for (i = 0; i < r->nallow; i++)
		if (strcmp(r->allow[i], var) == 0)
			return 1;
	return 0;
}

static struct run_var *
find_var(const struct cli_run *r, const char *var)
{
	size_t i;

	for (i = 0; i < r->nvars; i++)
		if (strcmp(r->vars[i].var, var) == 0)
			return &r->vars[i];
	return NULL;
}

static int
add_var(struct cli_run *r, const char *var, size_t vlen, const char *name,
    int org_only, char *err, size_t len)
{
	struct run_var *p;
	char *v, *n;

	if ((v = strndup(var, vlen)) == NULL || (n = strdup(name)) == NULL ||
	    (p = realloc(r->vars, (r->nvars + 1) * sizeof(*p))) == NULL) {
		free(v);
		snprintf(err, len, "out of memory");
		return -1;
	}
	r->vars = p;
	p[r->nvars++] = (struct run_var){ v, n, org_only, NULL, 0 };
	return 0;
}

/* --secret NAME or --env VAR=NAME */
static int
opt_var(struct cli_run *r, int env, const char *arg, char *err, size_t len)
{
	const char *eq = env ? strchr(arg, '=') : NULL, *name;
	char var[256];
	size_t n;

	if (env && eq == NULL) {
		snprintf(err, len, "--env takes VAR=NAME: '%.64s'", arg);
		return -1;
	}
	n = env ? (size_t)(eq - arg) : strlen(arg);
	name = env ? eq + 1 : arg;
	if (n == 0 || n >= sizeof(var)) {
		snprintf(err, len, "invalid variable name '%.64s'", arg);
		return -1;
	}
	memcpy(var, arg, n);
	var[n] = '\0';
	if (!valid_var(var)) {
		snprintf(err, len, "invalid variable name '%.64s': use "
		    "letters, digits and '_', not starting with a digit", var);
		return -1;
	}
	if (!valid_secret_name(name, strlen(name))) {
		snprintf(err, len, "invalid secret name '%.*s': use letters, "
		    "digits and '_', not starting with a digit, at most %d "
		    "characters", NAME_MAX_LEN, name, NAME_MAX_LEN);
		return -1;
	}
	if (find_var(r, var) != NULL) {
		snprintf(err, len, "variable %s is given twice", var);
		return -1;
	}
	return add_var(r, var, n, name, r->org_wide, err, len);
}

static int
add_allow(struct cli_run *r, char *arg, char *err, size_t len)
{
	char **p;

	if (!valid_var(arg)) {
		snprintf(err, len, "invalid variable name for --allow-env "
		    "'%.64s'", arg);
		return -1;
	}
	if ((p = realloc(r->allow, (r->nallow + 1) * sizeof(*p))) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	r->allow = p;
	p[r->nallow++] = arg;
	return 0;
}

enum {
	RO_URL = 0x100, RO_CAFILE, RO_HELP, RO_SECRET, RO_ENV, RO_CATEGORY,
	RO_ORGWIDE, RO_ALLOWENV, RO_NOMASK, RO_PROFILE
};

static const struct option run_longopts[] = {
	{ "url",	required_argument,	NULL, RO_URL },
	{ "ca-file",	required_argument,	NULL, RO_CAFILE },
	{ "help",	no_argument,		NULL, RO_HELP },
	{ "secret",	required_argument,	NULL, RO_SECRET },
	{ "env",	required_argument,	NULL, RO_ENV },
	{ "category",	required_argument,	NULL, RO_CATEGORY },
	{ "org-wide",	no_argument,		NULL, RO_ORGWIDE },
	{ "allow-env",	required_argument,	NULL, RO_ALLOWENV },
	{ "no-mask",	no_argument,		NULL, RO_NOMASK },
	{ "profile",	required_argument,	NULL, RO_PROFILE },
	{ NULL,		0,			NULL, 0 }
};

static int
run_opt(struct cli *c, struct cli_run *r, int ch, char *arg, char *err,
    size_t len)
{
	switch (ch) {
	case RO_URL:
		c->url = arg;
		break;
	case RO_CAFILE:
		c->ca_file = arg;
		break;
	case 'h':
	case RO_HELP:
		c->help = 1;
		break;
	case RO_SECRET:
	case RO_ENV:
		return opt_var(r, ch == RO_ENV, arg, err, len);
	case RO_CATEGORY:
		if (!valid_category(arg)) {
			snprintf(err, len, "invalid value for --category");
			return -1;
		}
		r->category = arg;
		break;
	case RO_ORGWIDE:
		r->org_wide = 1;
		break;
	case RO_ALLOWENV:
		return add_allow(r, arg, err, len);
	case RO_NOMASK:
		r->no_mask = 1;
		break;
	case RO_PROFILE:
		if (!profile_valid_name(arg)) {
			snprintf(err, len, "invalid value for --profile");
			return -1;
		}
		c->profile = arg;
		break;
	}
	return 0;
}

/*
 * argv[0] is "run".  Options end at "--" or at the first word that is not
 * one; the rest is the command, left where it is in argv.
 */
int
run_parse(int argc, char **argv, struct cli *c, char *err, size_t len)
{
	struct cli_run *r;
	size_t i;
	int ch;

	c->cmd = CMD_RUN;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	c->run = r;
	if (c->json) {
		snprintf(err, len, "--json is not an option of 'run'");
		return -1;
	}
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:h", run_longopts, NULL)) !=
	    -1) {
		if (ch == '?' || ch == ':') {
			snprintf(err, len, ch == '?' ? "unknown option '%s'" :
			    "option '%s' needs a value", argv[optind - 1]);
			return -1;
		}
		if (run_opt(c, r, ch, optarg, err, len) == -1)
			return -1;
	}
	if (c->help)
		return 0;
	/* --org-wide applies to every --secret and --env, wherever given */
	for (i = 0; i < r->nvars; i++)
		r->vars[i].org_only = r->org_wide;
	r->nexplicit = r->nvars;
	if (optind >= argc) {
		snprintf(err, len, "missing COMMAND; usage: runtools run "
		    "[--secret NAME]... [--env VAR=NAME]... [--category C] "
		    "-- COMMAND [ARGS...]");
		return -1;
	}
	if (r->nvars == 0 && r->category == NULL) {
		snprintf(err, len, "nothing to run with: give --secret, --env "
		    "or --category");
		return -1;
	}
	for (i = 0; i < r->nvars; i++)
		if (!allowed(r, r->vars[i].var)) {
			snprintf(err, len, "refusing to set %s, which changes "
			    "how programs are loaded or run; name it with "
			    "--allow-env %s to set it anyway", r->vars[i].var,
			    r->vars[i].var);
			return -1;
		}
	r->argv = argv + optind;
	return 0;
}

static void
wipe_values(struct cli_run *r)
{
	size_t i;

	for (i = 0; i < r->nvars; i++) {
		if (r->vars[i].value != NULL)
			rt_secret_value_free(r->vars[i].value,
			    r->vars[i].value_len);
		r->vars[i].value = NULL;
		r->vars[i].value_len = 0;
	}
}

void
run_free(struct cli *c)
{
	struct cli_run *r = c->run;
	size_t i;

	if (r == NULL)
		return;
	wipe_values(r);
	for (i = 0; i < r->nvars; i++) {
		free(r->vars[i].var);
		free(r->vars[i].name);
	}
	free(r->vars);
	free(r->allow);
	free(r);
	c->run = NULL;
}

/* --- revealing ------------------------------------------------------------ */

static int
exit_of(enum rt_error e)
{
	switch (e) {
	case RT_E_USAGE:
	case RT_E_INVALID:
		return EXIT_USAGE;
	case RT_E_NOTFOUND:
		return EXIT_NOTFOUND;
	case RT_E_AUTH:
		return EXIT_AUTH;
	default:
		return EXIT_SERVER;
	}
}

static int
fail(rt_client *c, enum rt_error e, const char *what, const char *name,
    int org)
{
	const struct rt_error_info *ei = rt_client_last_error(c);

	fprintf(stderr, "runtools: run: %s%s%s%s: ", what, name ? " " : "",
	    name ? name : "", org ? " (org)" : "");
	out_clean(stderr, ei->message[0] ? ei->message : rt_strerror(e));
	fprintf(stderr, "; nothing was run\n");
	return exit_of(e);
}

/* The caller's secret NAME, else the org's (the org's only with org). */
static enum rt_error
reveal(rt_client *c, struct run_var *v, int *org)
{
	struct rt_get_opts o = { 0, NULL, 1, 0 };
	struct rt_secret s;
	enum rt_error e = RT_E_NOTFOUND;

	*org = v->org_only;
	if (!v->org_only)
		e = rt_secrets_get(c, v->name, &o, &s);
	if (e == RT_E_NOTFOUND) {
		*org = 1;
		o.org_wide = 1;
		e = rt_secrets_get(c, v->name, &o, &s);
	}
	if (e != RT_E_OK)
		return e;
	v->value = s.value;
	v->value_len = s.value_len;
	s.value = NULL;
	s.value_len = 0;
	rt_secret_clear(&s);
	return RT_E_OK;
}

/*
 * --category C: every secret of C listed for the caller, the caller's
 * own before the org's of the same name, unless a --secret or --env
 * already sets that variable.
 */
static int
add_category(rt_client *c, struct cli_run *r, char *err, size_t len)
{
	struct rt_list_opts o = { r->category, r->org_wide ? RT_LIST_ORG :
	    RT_LIST_ANY, 0, NULL, 0, NULL, NULL };
	struct rt_secret_list l;
	struct run_var *v;
	enum rt_error e;
	size_t i;
	int user, rv = 0;

	if ((e = rt_secrets_list_all(c, &o, &l)) != RT_E_OK)
		return fail(c, e, "list category", r->category, 0);
	for (i = 0; i < l.count && rv == 0; i++) {
		user = l.secrets[i].scope != NULL &&
		    strcmp(l.secrets[i].scope, "user") == 0;
		if ((v = find_var(r, l.secrets[i].name)) != NULL) {
			if (v - r->vars >= (ptrdiff_t)r->nexplicit && user)
				v->org_only = 0;
			continue;
		}
		if (!allowed(r, l.secrets[i].name)) {
			snprintf(err, len, "refusing to set %s (category %s), "
			    "which changes how programs are loaded or run; name "
			    "it with --allow-env %s to set it anyway",
			    l.secrets[i].name, r->category, l.secrets[i].name);
			rv = EXIT_USAGE;
			break;
		}
		if (add_var(r, l.secrets[i].name, strlen(l.secrets[i].name),
		    l.secrets[i].name, !user, err, len) == -1)
			rv = EXIT_SERVER;
	}
	rt_secret_list_clear(&l);
	if (rv != 0) {
		fprintf(stderr, "runtools: run: %s\n", err);
		return rv;
	}
	return 0;
}

static int
reveal_all(rt_client *c, struct cli_run *r)
{
	char err[512];
	enum rt_error e;
	size_t i;
	int org, rv;

	if (r->category != NULL && (rv = add_category(c, r, err,
	    sizeof(err))) != 0)
		return rv;
	for (i = 0; i < r->nvars; i++) {
		struct run_var *v = &r->vars[i];

		e = reveal(c, v, &org);
		if (e == RT_E_AUTH && org && i >= r->nexplicit) {
			/* listed, but only admins may reveal it: skipped */
			fprintf(stderr, "runtools: run: skipping org secret %s "
			    "of category %s: not allowed to reveal it\n",
			    v->name, r->category);
			continue;
		}
		if (e == RT_E_NOTFOUND) {
			fprintf(stderr, "runtools: run: no such secret %s%s; "
			    "nothing was run\n", v->name, v->org_only ?
			    " in the org" : "");
			return EXIT_NOTFOUND;
		}
		if (e != RT_E_OK)
			return fail(c, e, "reveal", v->name, org);
		if (memchr(v->value, '\0', v->value_len) != NULL) {
			fprintf(stderr, "runtools: run: secret %s holds a NUL "
			    "byte, which an environment variable cannot; "
			    "nothing was run\n", v->name);
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* --- the environment --------------------------------------------------- */

struct env {
	char		**envp;
	char		**own;		/* "VAR=value" strings; wiped */
	size_t		 nown;
	size_t		*ownlen;
};

static void
env_free(struct env *e)
{
	size_t i;

	for (i = 0; i < e->nown; i++) {
		explicit_bzero(e->own[i], e->ownlen[i]);
		free(e->own[i]);
	}
	free(e->own);
	free(e->ownlen);
	free(e->envp);
	memset(e, 0, sizeof(*e));
}

static int
env_set(const struct cli_run *r, const char *entry)
{
	size_t i, n;

	for (i = 0; i < r->nvars; i++) {
		if (r->vars[i].value == NULL)
			continue;
		n = strlen(r->vars[i].var);
		if (strncmp(entry, r->vars[i].var, n) == 0 && entry[n] == '=')
			return 1;
	}
	return 0;
}

/* This process's environment, with every revealed secret set. */
static int
env_build(const struct cli_run *r, struct env *e)
{
	size_t i, n = 0, k = 0, vl;
	char *s;

	memset(e, 0, sizeof(*e));
	while (environ[n] != NULL)
		n++;
	if ((e->envp = calloc(n + r->nvars + 1, sizeof(char *))) == NULL ||
	    (e->own = calloc(r->nvars + 1, sizeof(char *))) == NULL ||
	    (e->ownlen = calloc(r->nvars + 1, sizeof(size_t))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++)
		if (!env_set(r, environ[i]))
			e->envp[k++] = environ[i];
	for (i = 0; i < r->nvars; i++) {
		if (r->vars[i].value == NULL)
			continue;
		vl = strlen(r->vars[i].var);
		if ((s = malloc(vl + 1 + r->vars[i].value_len + 1)) == NULL)
			goto nomem;
		memcpy(s, r->vars[i].var, vl);
		s[vl] = '=';
		memcpy(s + vl + 1, r->vars[i].value, r->vars[i].value_len);
		s[vl + 1 + r->vars[i].value_len] = '\0';
		e->own[e->nown] = s;
		e->ownlen[e->nown++] = vl + 1 + r->vars[i].value_len + 1;
		e->envp[k++] = s;
	}
	return 0;
 nomem:
	env_free(e);
	fprintf(stderr, "runtools: run: out of memory\n");
	return -1;
}

/* --- masking -------------------------------------------------------------- */

struct masker {
	const struct run_var **v;	/* values to mask, longest first */
	size_t		 n;
	size_t		 maxlen;
	unsigned char	 first[256];	/* a value starts with this byte */
};

struct stream {
	int		 in;		/* read end of the command's pipe */
	int		 out;		/* our stdout or stderr */
	int		 tty;		/* line by line */
	int		 broken;	/* our side cannot be written */
	unsigned char	*raw;		/* read, not yet masked */
	size_t		 rawlen;
	char		*pend;		/* masked, not yet written */
	size_t		 pendlen, pendcap;
};

static int
by_len(const void *a, const void *b)
{
	const struct run_var *x = *(const struct run_var *const *)a;
	const struct run_var *y = *(const struct run_var *const *)b;

	return x->value_len < y->value_len ? 1 :
	    x->value_len > y->value_len ? -1 : 0;
}

static int
masker_init(struct masker *m, const struct cli_run *r)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	if ((m->v = calloc(r->nvars + 1, sizeof(*m->v))) == NULL)
		return -1;
	for (i = 0; i < r->nvars; i++) {
		if (r->vars[i].value == NULL || r->vars[i].value_len == 0)
			continue;
		m->v[m->n++] = &r->vars[i];
		m->first[(unsigned char)r->vars[i].value[0]] = 1;
		if (r->vars[i].value_len > m->maxlen)
			m->maxlen = r->vars[i].value_len;
	}
	qsort(m->v, m->n, sizeof(*m->v), by_len);
	return 0;
}

static int
pend_add(struct stream *s, const void *p, size_t n)
{
	char *b;
	size_t cap;

	if (n == 0)
		return 0;
	if (s->pendlen + n > s->pendcap) {
		cap = s->pendcap ? s->pendcap : CHUNK;
		while (cap < s->pendlen + n)
			cap *= 2;
		if ((b = realloc(s->pend, cap)) == NULL)
			return -1;
		s->pend = b;
		s->pendcap = cap;
	}
	memcpy(s->pend + s->pendlen, p, n);
	s->pendlen += n;
	return 0;
}

/*
 * Masks what was read into pend.  Unless final, a tail that could still
 * become a value (a proper prefix of one) stays in raw for the next read,
 * so a value split across writes is masked all the same.
 */
static int
mask(const struct masker *m, struct stream *s, int final)
{
	const unsigned char *b = s->raw;
	size_t i = 0, start = 0, rem, j, hit;

	while (i < s->rawlen) {
		if (!m->first[b[i]]) {
			i++;
			continue;
		}
		rem = s->rawlen - i;
		hit = 0;
		for (j = 0; j < m->n; j++) {
			const struct run_var *v = m->v[j];

			if (!final && rem < v->value_len &&
			    memcmp(b + i, v->value, rem) == 0)
				goto hold;
			if (hit == 0 && rem >= v->value_len &&
			    memcmp(b + i, v->value, v->value_len) == 0)
				hit = v->value_len;
		}
		if (hit == 0) {
			i++;
			continue;
		}
		if (pend_add(s, b + start, i - start) == -1 ||
		    pend_add(s, MASK_MARKER, sizeof(MASK_MARKER) - 1) == -1)
			return -1;
		i += hit;
		start = i;
	}
 hold:
	if (pend_add(s, b + start, i - start) == -1)
		return -1;
	explicit_bzero(s->raw, i);
	memmove(s->raw, s->raw + i, s->rawlen - i);
	s->rawlen -= i;
	return 0;
}

/* Writes pend: on a terminal whole lines only, unless all. */
static void
flush_pend(struct stream *s, int all)
{
	size_t n = s->pendlen;

	if (s->tty && !all) {
		while (n > 0 && s->pend[n - 1] != '\n')
			n--;
	}
	if (n == 0)
		return;
	if (!s->broken && out_write(s->out, s->pend, n) == -1) {
		/* as if the command wrote there itself: it sees EPIPE */
		s->broken = 1;
		close(s->in);
		s->in = -1;
	}
	memmove(s->pend, s->pend + n, s->pendlen - n);
	s->pendlen -= n;
}

/* Reads once; 0 at end of file. */
static ssize_t
pump(const struct masker *m, struct stream *s)
{
	ssize_t n;

	do
		n = read(s->in, s->raw + s->rawlen, CHUNK);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return n == -1 && errno == EAGAIN ? -1 : 0;
	s->rawlen += n;
	if (mask(m, s, 0) == -1)
		return 0;
	flush_pend(s, 0);
	return n;
}

static void
stream_end(const struct masker *m, struct stream *s)
{
	mask(m, s, 1);
	flush_pend(s, 1);
	if (s->in != -1)
		close(s->in);
	s->in = -1;
}

/* --- the child ------------------------------------------------------------ */

static volatile sig_atomic_t child_pid;
static const int fwd_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
    SIGUSR2 };
#define NFWD	(sizeof(fwd_sigs) / sizeof(fwd_sigs[0]))
static int fwd_ignored[NFWD];	/* ignored when runtools started: the
				   command inherits that, nothing is sent */

/*
 * A signal some process sent to runtools goes on to the command.  One the
 * terminal sent (Ctrl-C, hangup) has reached the command already, since
 * both are in the foreground process group: it is not sent twice.
 */
static void
on_signal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)uc;
	if (child_pid > 0 && (si == NULL || si->si_code != SI_KERNEL))
		kill(child_pid, sig);
	errno = saved;
}

static void
on_child(int sig)
{
	(void)sig;
}

static void
sig_setup(sigset_t *old)
{
	struct sigaction sa;
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < NFWD; i++)
		sigaddset(&set, fwd_sigs[i]);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, old);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < NFWD; i++) {
		struct sigaction was;

		if (sigaction(fwd_sigs[i], NULL, &was) == 0 &&
		    was.sa_handler == SIG_IGN) {
			fwd_ignored[i] = 1;
			continue;
		}
		sigaction(fwd_sigs[i], &sa, NULL);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_child;	/* only to interrupt poll */
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int
exec_status(int err)
{
	return err == ENOENT || err == ENOTDIR ? 127 : 126;
}

static void
exec_failed(const char *cmd, int err)
{
	fprintf(stderr, "runtools: run: cannot run ");
	out_clean(stderr, cmd);
	fprintf(stderr, ": %s\n", strerror(err));
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void
child(char **argv, char **envp, int out, int errfd, int report,
    const sigset_t *old)
{
	struct sigaction sa;
	size_t i;
	int e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < NFWD; i++)
		if (!fwd_ignored[i])
			sigaction(fwd_sigs[i], &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigprocmask(SIG_SETMASK, old, NULL);
	if (dup2(out, STDOUT_FILENO) == -1 || dup2(errfd, STDERR_FILENO) == -1)
		e = errno;
	else {
		execvpe(argv[0], argv, envp);
		e = errno;
	}
	(void)!write(report, &e, sizeof(e));
	_exit(127);
}

/* The command's end: exit with its status, or die of its signal. */
static int
child_status(int st)
{
	struct rlimit rl = { 0, 0 };
	sigset_t set;
	int sig;

	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (!WIFSIGNALED(st))
		return EXIT_SERVER;
	sig = WTERMSIG(st);
	fflush(stdout);
	fflush(stderr);
	setrlimit(RLIMIT_CORE, &rl);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	return 128 + sig;
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl == -1 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Reads both pipes until the command has ended and they are drained. */
static void
relay(const struct masker *m, struct stream *s, pid_t pid, int *st)
{
	struct pollfd p[2];
	int exited = 0, i, n, timeout;
	pid_t w;

	for (;;) {
		timeout = (s[0].pendlen || s[1].pendlen) ? IDLE_MS : 250;
		n = 0;
		for (i = 0; i < 2; i++)
			if (s[i].in != -1) {
				p[n].fd = s[i].in;
				p[n].events = POLLIN;
				p[n].revents = 0;
				n++;
			}
		if (n == 0 && exited)
			break;
		if (n > 0 && (i = poll(p, n, exited ? 0 : timeout)) > 0) {
			for (i = 0; i < 2; i++)
				if (s[i].in != -1 && pump(m, &s[i]) == 0)
					stream_end(m, &s[i]);
			continue;
		}
		if (n > 0 && i == 0 && exited)
			break;		/* drained */
		if (n > 0 && i == 0)
			for (i = 0; i < 2; i++)
				flush_pend(&s[i], 1);
		if (!exited) {
			if (n == 0)
				w = waitpid(pid, st, 0);
			else
				w = waitpid(pid, st, WNOHANG);
			if (w == pid)
				exited = 1;
			else if (w == -1 && errno != EINTR) {
				*st = 0;
				exited = 1;
			}
		}
	}
	for (i = 0; i < 2; i++)
		if (s[i].in != -1)
			stream_end(m, &s[i]);
		else
			flush_pend(&s[i], 1);
}

static int
run_masked(struct cli_run *r, struct env *e)
{
	struct stream s[2];
	struct masker m;
	sigset_t old;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, rep[2] = { -1, -1 };
	int st = 0, ex = 0, i;
	ssize_t n;
	pid_t pid;

	memset(s, 0, sizeof(s));
	if (masker_init(&m, r) == -1 ||
	    (s[0].raw = malloc(CHUNK + m.maxlen)) == NULL ||
	    (s[1].raw = malloc(CHUNK + m.maxlen)) == NULL) {
		fprintf(stderr, "runtools: run: out of memory\n");
		env_free(e);
		return EXIT_SERVER;
	}
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1 ||
	    pipe2(rep, O_CLOEXEC) == -1) {
		fprintf(stderr, "runtools: run: pipe: %s\n", strerror(errno));
		env_free(e);
		return EXIT_SERVER;
	}
	fflush(NULL);
	sig_setup(&old);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "runtools: run: fork: %s\n", strerror(errno));
		env_free(e);
		return EXIT_SERVER;
	}
	if (pid == 0)
		child(r->argv, e->envp, out[1], err[1], rep[1], &old);
	child_pid = pid;
	/* The command has its copy: ours goes. */
	env_free(e);
	close(out[1]);
	close(err[1]);
	close(rep[1]);
	sigprocmask(SIG_SETMASK, &old, NULL);
	do
		n = read(rep[0], &ex, sizeof(ex));
	while (n == -1 && errno == EINTR);
	close(rep[0]);
	if (n == sizeof(ex)) {
		close(out[0]);
		close(err[0]);
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		exec_failed(r->argv[0], ex);
		free(m.v);
		free(s[0].raw);
		free(s[1].raw);
		return exec_status(ex);
	}
	s[0].in = out[0];
	s[0].out = STDOUT_FILENO;
	s[1].in = err[0];
	s[1].out = STDERR_FILENO;
	for (i = 0; i < 2; i++) {
		s[i].tty = isatty(s[i].out);
		set_nonblock(s[i].in);
	}
	relay(&m, s, pid, &st);
	child_pid = 0;
	for (i = 0; i < 2; i++) {
		explicit_bzero(s[i].raw, CHUNK + m.maxlen);
		free(s[i].raw);
		free(s[i].pend);
	}
	free(m.v);
	wipe_values(r);
	return child_status(st);
}

/*
 * --no-mask: runtools becomes the command; the environment array exists
 * only until the exec (the values are then only in the command).
 */
static int
run_exec(struct cli_run *r, struct env *e)
{
	int err;

	fflush(NULL);
	execvpe(r->argv[0], r->argv, e->envp);
	err = errno;
	env_free(e);
	wipe_values(r);
	exec_failed(r->argv[0], err);
	return exec_status(err);
}

int
cmd_run(rt_client **cp, struct cli *cl)
{
	struct cli_run *r = cl->run;
	struct env e;
	int rv;

	/* no other process of the user reads the values from this one */
	prctl(PR_SET_DUMPABLE, 0);
	if ((rv = reveal_all(*cp, r)) != 0) {
		wipe_values(r);
		return rv;
	}
	/* the connection and its buffers go before the command starts */
	rt_client_free(*cp);
	*cp = NULL;
	if (env_build(r, &e) == -1) {
		wipe_values(r);
		return EXIT_SERVER;
	}
	if (r->no_mask)
		return run_exec(r, &e);
	/* the values stay here only to be masked, and go when it ends */
	return run_masked(r, &e);
}
