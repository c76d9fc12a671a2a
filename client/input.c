/*
 * runtools inputs that do not come from argv: a value from standard input,
 * the bearer token (environment or a private file), the default URL and
 * the parameters JSON of a tool execution.
 * Every buffer that held a value or token is wiped before it is freed.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "proto.h"
#include "cli.h"

/* Reads fd to EOF or max bytes (+1 to detect more); wipes on growth. */
static ssize_t
read_all(int fd, char **out, size_t max, int line)
{
	size_t len = 0, cap = 0;
	char *p = NULL, *np;
	ssize_t n;

	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			if (cap > max + 1)
				cap = max + 1;
			if ((np = malloc(cap + 1)) == NULL)
				goto fail;
			if (len)
				memcpy(np, p, len);
			if (p != NULL)
				rt_secret_value_free(p, len);
			p = np;
		}
		n = read(fd, p + len, line ? 1 : cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		len += n;
		if (len > max || (line && p[len - 1] == '\n'))
			break;
	}
	p[len] = '\0';
	*out = p;
	return len;
 fail:
	if (p != NULL)
		rt_secret_value_free(p, len);
	return -1;
}

static struct termios tty_saved;
static int tty_fd = -1;

static void
tty_restore(int sig)
{
	tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* One line from a terminal with echo off, so the value stays off screen. */
static ssize_t
read_tty(int fd, char **out, size_t max)
{
	struct termios t;
	struct sigaction sa, osa[3];
	static const int sigs[] = { SIGINT, SIGTERM, SIGTSTP };
	ssize_t n;
	int i;

	if (tcgetattr(fd, &tty_saved) == -1)
		return read_all(fd, out, max, 1);
	tty_fd = fd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_restore;
	for (i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &osa[i]);
	t = tty_saved;
	t.c_lflag &= ~ECHO;
	tcsetattr(fd, TCSAFLUSH, &t);
	fprintf(stderr, "value (input hidden): ");
	fflush(stderr);
	n = read_all(fd, out, max, 1);
	tcsetattr(fd, TCSAFLUSH, &tty_saved);
	fprintf(stderr, "\n");
	for (i = 0; i < 3; i++)
		sigaction(sigs[i], &osa[i], NULL);
	return n;
}

/*
 * The value from fd, whole and byte for byte, except that exactly one
 * trailing newline is dropped (so "echo v |" stores "v").  Empty and
 * oversized values are refused.  Free with rt_secret_value_free().
 */
int
read_value(int fd, char **value, size_t *len, char *err, size_t errlen)
{
	char *p;
	ssize_t n;

	*value = NULL;
	*len = 0;
	n = isatty(fd) ? read_tty(fd, &p, VALUE_MAX_LEN + 1) :
	    read_all(fd, &p, VALUE_MAX_LEN + 1, 0);
	if (n == -1) {
		snprintf(err, errlen, "reading the value from standard input: "
		    "%s", strerror(errno));
		return -1;
	}
	if (n > 0 && p[n - 1] == '\n')
		p[--n] = '\0';
	if (n == 0 || n > VALUE_MAX_LEN) {
		snprintf(err, errlen, n == 0 ? "the value from standard input "
		    "is empty" : "the value from standard input is larger "
		    "than %d bytes", VALUE_MAX_LEN);
		rt_secret_value_free(p, n);
		return -1;
	}
	*value = p;
	*len = n;
	return 0;
}

/*
 * The value from the file at path, every byte of it, a final newline
 * included.  Empty and oversized files are refused.
 */
int
read_value_file(const char *path, char **value, size_t *len, char *err,
    size_t errlen)
{
	char *p;
	ssize_t n;
	int fd;

	*value = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = read_all(fd, &p, VALUE_MAX_LEN + 1, 0);
	close(fd);
	if (n == -1) {
		snprintf(err, errlen, "reading %s: %s", path, strerror(errno));
		return -1;
	}
	if (n == 0 || n > VALUE_MAX_LEN) {
		snprintf(err, errlen, n == 0 ? "%s is empty" : "%s is larger "
		    "than %d bytes", path, VALUE_MAX_LEN);
		rt_secret_value_free(p, n);
		return -1;
	}
	*value = p;
	*len = n;
	return 0;
}

/*
 * The text of --params-json: a file, or standard input for "-", up to
 * the API's body limit.  Free with rt_secret_value_free(); whether it is
 * a JSON object is for the library to say.
 */
int
read_params_json(const char *path, char **text, size_t *len, char *err,
    size_t errlen)
{
	int fd, stdin_ = strcmp(path, "-") == 0;
	ssize_t n;
	char *p;

	*text = NULL;
	*len = 0;
	if (stdin_)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = read_all(fd, &p, PARAMS_JSON_MAX, 0);
	if (!stdin_)
		close(fd);
	if (n == -1) {
		snprintf(err, errlen, "reading %s: %s", stdin_ ?
		    "standard input" : path, strerror(errno));
		return -1;
	}
	if (n == 0 || n > PARAMS_JSON_MAX) {
		snprintf(err, errlen, n == 0 ? "%s is empty; --params-json "
		    "takes a JSON object" : "%s is larger than %d KiB",
		    stdin_ ? "standard input" : path, PARAMS_JSON_MAX / 1024);
		rt_secret_value_free(p, n);
		return -1;
	}
	*text = p;
	*len = n;
	return 0;
}

static int
token_file_check(int fd, const char *path, char *err, size_t len)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		snprintf(err, len, "token file %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, len, "token file %s is not a regular file", path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, len, "token file %s is not owned by you; "
		    "refusing to use it", path);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, len, "token file %s has mode %04o and can be read "
		    "by others; refusing to use it (run: chmod 600 %s)", path,
		    (unsigned int)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/* Strips surrounding whitespace in place, so "token\n" files work. */
static char *
trim(char *s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)s[*len - 1]))
		s[--(*len)] = '\0';
	while (*s != '\0' && isspace((unsigned char)*s)) {
		s++;
		(*len)--;
	}
	return s;
}

/*
 * A token from a file only its owner (the caller) can read.  A missing
 * file is an error only when required; *token stays NULL otherwise.
 */
int
token_file_read(const char *path, int required, char **token, char *err,
    size_t len)
{
	char *buf = NULL, *t;
	ssize_t n = 0;
	size_t tl;
	int fd, rv = -1;

	*token = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT && !required)
			return 0;
		snprintf(err, len, "token file %s: %s", path, strerror(errno));
		return -1;
	}
	if (token_file_check(fd, path, err, len) == -1)
		goto done;
	if ((n = read_all(fd, &buf, TOKEN_FILE_MAX, 0)) == -1) {
		snprintf(err, len, "token file %s: %s", path, strerror(errno));
		goto done;
	}
	tl = n;
	t = trim(buf, &tl);
	if (!valid_printable(t, TOKEN_FILE_MAX) || (*token = strdup(t)) == NULL) {
		snprintf(err, len, "token file %s does not hold a token", path);
		goto done;
	}
	rv = 0;
 done:
	if (buf != NULL)
		rt_secret_value_free(buf, n);
	close(fd);
	return rv;
}

/* RUNTOOLS_TOKEN, else RUNTOOLS_TOKEN_FILE, else the per-user file. */
int
cli_token(char **token, char *err, size_t len)
{
	const char *env = getenv("RUNTOOLS_TOKEN");
	const char *file = getenv("RUNTOOLS_TOKEN_FILE");
	const char *home = getenv("HOME");
	struct passwd *pw;
	char path[4096];

	*token = NULL;
	if (env != NULL && *env != '\0') {
		if (!valid_printable(env, TOKEN_FILE_MAX)) {
			snprintf(err, len, "RUNTOOLS_TOKEN does not hold a "
			    "token");
			return -1;
		}
		if ((*token = strdup(env)) == NULL) {
			snprintf(err, len, "out of memory");
			return -1;
		}
		return 0;
	}
	if (file != NULL && *file != '\0')
		return token_file_read(file, 1, token, err, len);
	if ((home == NULL || *home == '\0') &&
	    (pw = getpwuid(getuid())) != NULL)
		home = pw->pw_dir;
	if (home == NULL || snprintf(path, sizeof(path),
	    "%s/.config/runtools/token", home) >= (int)sizeof(path))
		return 0;
	return token_file_read(path, 0, token, err, len);
}

/* The value of "socket = ..." in a secretd config, made absolute. */
static int
conf_socket(FILE *f, const char *conf, char *url, size_t size)
{
	char line[1024], *k, *v, *e, dir[4096];
	int n;

	while (fgets(line, sizeof(line), f) != NULL) {
		k = line + strspn(line, " \t");
		if (*k == '#' || strncmp(k, "socket", 6) != 0)
			continue;
		v = k + 6 + strspn(k + 6, " \t");
		if (*v++ != '=')
			continue;
		v += strspn(v, " \t");
		/* as secretd reads it: '#' after white space starts a comment */
		for (e = v; *e != '\0'; e++)
			if (*e == '#' && e > v && isspace((unsigned char)e[-1])) {
				*e = '\0';
				break;
			}
		e = v + strlen(v);
		while (e > v && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (*v == '\0')
			return -1;
		snprintf(dir, sizeof(dir), "%s", conf);
		n = *v == '/' ? snprintf(url, size, "unix:%s", v) :
		    snprintf(url, size, "unix:%s/%s", dirname(dir), v);
		return n < 0 || (size_t)n >= size ? -1 : 0;
	}
	return -1;
}

/* unix: + the socket of the installed config, else the built-in path. */
int
default_url(const char *conf, char *url, size_t size)
{
	FILE *f;
	int rv = -1;

	if ((f = fopen(conf, "re")) != NULL) {
		rv = conf_socket(f, conf, url, size);
		fclose(f);
	}
	if (rv == 0)
		return 0;
	return snprintf(url, size, "unix:%s", SECRETD_SOCKET) >= (int)size ?
	    -1 : 0;
}
