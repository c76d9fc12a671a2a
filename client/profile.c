/*
 * runtools client configuration: named profiles (server URL, CA file, token
 * file) in $XDG_CONFIG_HOME/runtools/config, else ~/.config/runtools/config.
 *
 *	# comment
 *	default = work
 *
 *	[profile work]
 *	url = https://secrets.example:8443
 *	ca_file = ~/.config/runtools/work-ca.pem
 *	token_file = ~/.config/runtools/work-token
 *
 * A profile is chosen by --profile, else RUNTOOLS_PROFILE, else "default".
 * Its values come after the command line and the environment, before the
 * built-in defaults.  The file must not be writable by anyone but its
 * owner (the caller, or root); errors name FILE:LINE.
 *
 * Also token create's lifetime options, checked with the command line:
 * 30 days unless told otherwise, none with --ttl never or --no-expiry.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define LINE_MAX_LEN	4096

static const char *
home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if ((home == NULL || *home == '\0') &&
	    (pw = getpwuid(getuid())) != NULL)
		home = pw->pw_dir;
	return home != NULL && *home != '\0' ? home : NULL;
}

/* The config file's path; -1 when there is no home to put it in. */
int
profile_config_path(char *path, size_t size)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home;
	int n;

	/* XDG: a relative XDG_CONFIG_HOME is invalid and ignored */
	if (xdg != NULL && *xdg == '/')
		n = snprintf(path, size, "%s/runtools/config", xdg);
	else if ((home = home_dir()) != NULL)
		n = snprintf(path, size, "%s/.config/runtools/config", home);
	else
		return -1;
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
profile_valid_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > PROFILE_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

static char *
trim(char *s)
{
	char *e;

	s += strspn(s, " \t");
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* As secretd.conf: '#' or ';' after white space starts a comment. */
static void
cut_comment(char *v)
{
	char *e;

	for (e = v; *e != '\0'; e++)
		if ((*e == '#' || *e == ';') && e > v &&
		    isspace((unsigned char)e[-1])) {
			*e = '\0';
			return;
		}
}

/* ~/x: under the home folder; relative: next to the config file. */
static int
expand_path(const char *conf, const char *v, char *out, size_t size)
{
	const char *home, *slash;
	int n;

	if (*v == '/')
		n = snprintf(out, size, "%s", v);
	else if (v[0] == '~' && (v[1] == '/' || v[1] == '\0')) {
		if ((home = home_dir()) == NULL)
			return -1;
		n = snprintf(out, size, "%s%s", home, v + 1);
	} else if ((slash = strrchr(conf, '/')) != NULL)
		n = snprintf(out, size, "%.*s/%s", (int)(slash - conf), conf,
		    v);
	else
		n = snprintf(out, size, "%s", v);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int
check_file(int fd, const char *path, char *err, size_t len)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, len, "%s is not a regular file", path);
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, len, "%s is not owned by you; refusing to use "
		    "it", path);
		return -1;
	}
	if (st.st_mode & 022) {
		snprintf(err, len, "%s has mode %04o and can be changed by "
		    "others; refusing to use it (run: chmod go-w %s)", path,
		    (unsigned int)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

struct parse_state {
	const char	*path;
	const char	*want;		/* the profile asked for, or NULL */
	char		 def[PROFILE_NAME_MAX + 1];
	unsigned int	 def_line;
	char		 section[PROFILE_NAME_MAX + 1];	/* "": top */
	unsigned int	 keys;		/* keys seen in this section */
	char		(*seen)[PROFILE_NAME_MAX + 1];
	size_t		 nseen;
	struct cli_profile *p;
	int		 found;
};

static const char *const keys[] = { "url", "ca_file", "token_file" };

static int
section_line(struct parse_state *s, char *l, char *err, size_t len,
    unsigned int ln)
{
	char *e = strchr(l, ']'), *name, (*np)[PROFILE_NAME_MAX + 1];
	size_t i;

	if (e == NULL || *trim(e + 1) != '\0') {
		snprintf(err, len, "%s:%u: a section is [profile NAME]",
		    s->path, ln);
		return -1;
	}
	*e = '\0';
	name = trim(l + 1);
	if (strncmp(name, "profile", 7) != 0 ||
	    (name[7] != ' ' && name[7] != '\t')) {
		snprintf(err, len, "%s:%u: unknown section [%.64s]; a section "
		    "is [profile NAME]", s->path, ln, name);
		return -1;
	}
	name = trim(name + 7);
	if (!profile_valid_name(name)) {
		snprintf(err, len, "%s:%u: invalid profile name '%.64s': use "
		    "1 to %d letters, digits, '-', '_' and '.'", s->path, ln,
		    name, PROFILE_NAME_MAX);
		return -1;
	}
	for (i = 0; i < s->nseen; i++)
		if (strcmp(s->seen[i], name) == 0) {
			snprintf(err, len, "%s:%u: profile %s is defined "
			    "twice", s->path, ln, name);
			return -1;
		}
	if ((np = realloc(s->seen, (s->nseen + 1) * sizeof(*np))) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	s->seen = np;
	snprintf(np[s->nseen++], sizeof(*np), "%s", name);
	snprintf(s->section, sizeof(s->section), "%s", name);
	s->keys = 0;
	if (s->want == NULL && s->def[0] != '\0')
		s->want = s->def;
	if (s->want != NULL && strcmp(s->want, name) == 0) {
		s->found = 1;
		snprintf(s->p->name, sizeof(s->p->name), "%s", name);
	}
	return 0;
}

static int
key_line(struct parse_state *s, char *l, char *err, size_t len,
    unsigned int ln)
{
	char *eq = strchr(l, '='), *k, *v, *dst;
	size_t i;

	if (eq == NULL) {
		snprintf(err, len, "%s:%u: expected KEY = VALUE or [profile "
		    "NAME]", s->path, ln);
		return -1;
	}
	*eq = '\0';
	k = trim(l);
	v = eq + 1;
	cut_comment(v);
	v = trim(v);
	if (s->section[0] == '\0') {
		if (strcmp(k, "default") != 0) {
			snprintf(err, len, "%s:%u: unknown setting '%.64s' "
			    "before any [profile NAME] (only 'default' may "
			    "come first)", s->path, ln, k);
			return -1;
		}
		if (s->def[0] != '\0') {
			snprintf(err, len, "%s:%u: default is given twice",
			    s->path, ln);
			return -1;
		}
		if (!profile_valid_name(v)) {
			snprintf(err, len, "%s:%u: invalid profile name "
			    "'%.64s'", s->path, ln, v);
			return -1;
		}
		snprintf(s->def, sizeof(s->def), "%s", v);
		s->def_line = ln;
		return 0;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i]) == 0)
			break;
	if (i == sizeof(keys) / sizeof(keys[0])) {
		snprintf(err, len, "%s:%u: unknown setting '%.64s' (known: "
		    "url, ca_file, token_file)", s->path, ln, k);
		return -1;
	}
	if (s->keys & (1u << i)) {
		snprintf(err, len, "%s:%u: %s is given twice in profile %s",
		    s->path, ln, k, s->section);
		return -1;
	}
	s->keys |= 1u << i;
	if (*v == '\0') {
		snprintf(err, len, "%s:%u: %s has no value", s->path, ln, k);
		return -1;
	}
	if (!s->found || strcmp(s->p->name, s->section) != 0)
		return 0;
	dst = i == 0 ? s->p->url : i == 1 ? s->p->ca_file : s->p->token_file;
	if ((i == 0 ? snprintf(dst, PROFILE_PATH_MAX, "%s", v) < 0 ||
	    strlen(v) >= PROFILE_PATH_MAX :
	    expand_path(s->path, v, dst, PROFILE_PATH_MAX) == -1)) {
		snprintf(err, len, "%s:%u: %s is too long", s->path, ln, k);
		return -1;
	}
	return 0;
}

static int
parse_file(FILE *f, struct parse_state *s, char *err, size_t len)
{
	char line[LINE_MAX_LEN + 2], *l;
	unsigned int ln = 0;
	size_t n;

	while (fgets(line, sizeof(line), f) != NULL) {
		ln++;
		n = strlen(line);
		if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
			snprintf(err, len, "%s:%u: line longer than %d bytes",
			    s->path, ln, LINE_MAX_LEN);
			return -1;
		}
		l = trim(line);
		if (*l == '\0' || *l == '#' || *l == ';')
			continue;
		if (*l == '[' ? section_line(s, l, err, len, ln) == -1 :
		    key_line(s, l, err, len, ln) == -1)
			return -1;
	}
	if (ferror(f)) {
		snprintf(err, len, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Reads path and fills p with the profile want (NULL: the file's default,
 * if any).  A missing file is fine unless a profile was asked for.
 * 0: done (p->name empty when no profile applies), -1: err says why.
 */
int
profile_load(const char *path, const char *want, struct cli_profile *p,
    char *err, size_t len)
{
	struct parse_state s;
	FILE *f;
	int fd, rv = -1;

	memset(p, 0, sizeof(*p));
	memset(&s, 0, sizeof(s));
	s.path = path;
	s.want = want;
	s.p = p;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT && want == NULL)
			return 0;
		if (errno == ENOENT)
			snprintf(err, len, "profile %s: no config file %s",
			    want, path);
		else
			snprintf(err, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (check_file(fd, path, err, len) == -1) {
		close(fd);
		return -1;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (parse_file(f, &s, err, len) == -1)
		goto done;
	if (want != NULL && !s.found) {
		snprintf(err, len, "%s: no profile %s", path, want);
		goto done;
	}
	if (want == NULL && s.def[0] != '\0' && !s.found) {
		snprintf(err, len, "%s:%u: the default profile %s is not "
		    "defined", path, s.def_line, s.def);
		goto done;
	}
	rv = 0;
 done:
	if (rv == -1)
		memset(p, 0, sizeof(*p));
	free(s.seen);
	fclose(f);
	return rv;
}

/* --profile, else RUNTOOLS_PROFILE, else the file's default. */
int
profile_select(const char *opt, struct cli_profile *p, char *err,
    size_t len)
{
	const char *want = opt, *env = getenv("RUNTOOLS_PROFILE");
	char path[4096];

	memset(p, 0, sizeof(*p));
	if (want == NULL && env != NULL && *env != '\0') {
		if (!profile_valid_name(env)) {
			snprintf(err, len, "RUNTOOLS_PROFILE: invalid profile "
			    "name '%.64s'", env);
			return -1;
		}
		want = env;
	}
	if (profile_config_path(path, sizeof(path)) == -1) {
		if (want == NULL)
			return 0;
		snprintf(err, len, "profile %s: no home folder for the config "
		    "file", want);
		return -1;
	}
	return profile_load(path, want, p, err, len);
}

/*
 * The token: RUNTOOLS_TOKEN, else RUNTOOLS_TOKEN_FILE, else the profile's
 * token_file (which must exist), else ~/.config/runtools/token.
 */
int
profile_token(const struct cli_profile *p, char **token, char *err,
    size_t len)
{
	const char *env = getenv("RUNTOOLS_TOKEN");
	const char *file = getenv("RUNTOOLS_TOKEN_FILE");

	if ((env == NULL || *env == '\0') && (file == NULL || *file == '\0') &&
	    p->token_file[0] != '\0')
		return token_file_read(p->token_file, 1, token, err, len);
	return cli_token(token, err, len);
}

/*
 * SECONDS, or N with s, m, h or d; "never" sets *never (which a lifetime
 * given as well contradicts).  0 or -1.
 */
int
ttl_parse(const char *arg, unsigned long long *ttl, int *never)
{
	unsigned long long v, mul = 1;
	char *ep;

	if (strcmp(arg, "never") == 0) {
		*ttl = 0;
		*never = 1;
		return 0;
	}
	if (*arg < '1' || *arg > '9')
		return -1;
	errno = 0;
	v = strtoull(arg, &ep, 10);
	if (errno)
		return -1;
	switch (*ep) {
	case '\0':
	case 's':
		break;
	case 'm':
		mul = 60;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'd':
		mul = 24 * 3600;
		break;
	default:
		return -1;
	}
	if (*ep != '\0' && ep[1] != '\0')
		return -1;
	if (v > LLONG_MAX / mul)
		return -1;
	*ttl = v * mul;
	return 0;
}

/* After parsing token create: conflicts, and the default lifetime. */
int
token_opts_check(struct cli *c, char *err, size_t len)
{
	if (c->no_expiry && c->ttl != 0) {
		snprintf(err, len, "no expiry (--no-expiry, --ttl never) and a "
		    "--ttl lifetime exclude each other");
		return -1;
	}
	if (c->force && c->output == NULL) {
		snprintf(err, len, "--force only applies to --output FILE");
		return -1;
	}
	if (c->output != NULL && c->json) {
		snprintf(err, len, "--output and --json exclude each other: "
		    "the JSON holds the token");
		return -1;
	}
	if (c->output != NULL && *c->output == '\0') {
		snprintf(err, len, "invalid value for --output");
		return -1;
	}
	if (!c->no_expiry && c->ttl == 0)
		c->ttl = TOKEN_TTL_DEFAULT;
	return 0;
}

/*
 * --expires: "never" (no expiry), a duration from now as --ttl takes it,
 * or a date, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, which the server checks.
 * buf gets what the API's expiresAt takes ("" for none).  0 or -1.
 */
int
expires_parse(const char *arg, char *buf, size_t len)
{
	unsigned long long ttl;
	struct tm tm;
	time_t t;
	size_t n = strlen(arg), i;
	int never = 0;

	if (ttl_parse(arg, &ttl, &never) == 0) {
		if (never) {
			buf[0] = '\0';
			return 0;
		}
		t = time(NULL) + (time_t)ttl;
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			return -1;
		return 0;
	}
	if ((n != 10 && n != 20) || n >= len)
		return -1;
	for (i = 0; i < n; i++)
		if (!((arg[i] >= '0' && arg[i] <= '9') || arg[i] == '-' ||
		    arg[i] == ':' || arg[i] == 'T' || arg[i] == 'Z'))
			return -1;
	memcpy(buf, arg, n + 1);
	return 0;
}
