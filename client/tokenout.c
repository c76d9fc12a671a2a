/*
 * runtools token create: the token written to a private file with --output
 * instead of standard output (its options are checked in profile.c).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "cli.h"

/* Each missing folder above path, mode 0700. */
static int
make_parents(const char *path, char *err, size_t len)
{
	char buf[4096], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		snprintf(err, len, "%s: %s", path, strerror(ENAMETOOLONG));
		return -1;
	}
	for (p = buf + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(buf, 0700) == -1 && errno != EEXIST) {
			snprintf(err, len, "creating folder %s: %s", buf,
			    strerror(errno));
			return -1;
		}
		*p = '/';
	}
	return 0;
}

struct token_out {
	const char	*path;
	char		 tmp[4200];	/* with --force: renamed over path */
	int		 fd;
};

/*
 * The file is created (empty, 0600) before the token exists, so that a
 * token is never made only to be lost.  Without --force an existing file
 * is refused; with it, a new file replaces it once written.
 */
static int
out_open(struct token_out *o, const char *path, int force, char *err,
    size_t len)
{
	struct stat st;

	o->path = path;
	o->tmp[0] = '\0';
	o->fd = -1;
	if (!force && lstat(path, &st) == 0) {
		snprintf(err, len, "%s exists; refusing to overwrite it (add "
		    "--force to replace it)", path);
		return -1;
	}
	if (make_parents(path, err, len) == -1)
		return -1;
	if (force) {
		if (snprintf(o->tmp, sizeof(o->tmp), "%s.XXXXXX", path) >=
		    (int)sizeof(o->tmp)) {
			snprintf(err, len, "%s: %s", path,
			    strerror(ENAMETOOLONG));
			return -1;
		}
		o->fd = mkostemp(o->tmp, O_CLOEXEC);
	} else
		o->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC | O_NOCTTY, 0600);
	if (o->fd == -1) {
		snprintf(err, len, errno == EEXIST ? "%s exists; refusing to "
		    "overwrite it (add --force to replace it)" : "%s: %s",
		    path, strerror(errno));
		o->tmp[0] = '\0';
		return -1;
	}
	if (fchmod(o->fd, 0600) == -1) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void
out_abort(struct token_out *o)
{
	if (o->fd != -1)
		close(o->fd);
	o->fd = -1;
	unlink(o->tmp[0] != '\0' ? o->tmp : o->path);
}

static int
out_commit(struct token_out *o, const char *token, char *err, size_t len)
{
	int fd = o->fd;

	o->fd = -1;
	if (out_write(fd, token, strlen(token)) == -1 ||
	    out_write(fd, "\n", 1) == -1 || fsync(fd) == -1) {
		snprintf(err, len, "writing %s: %s", o->path, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) == -1) {
		snprintf(err, len, "writing %s: %s", o->path, strerror(errno));
		return -1;
	}
	if (o->tmp[0] != '\0' && rename(o->tmp, o->path) == -1) {
		snprintf(err, len, "replacing %s: %s", o->path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The token alone on stdout (so it can be redirected), details on stderr;
 * with --output, the token goes to the file only.
 */
int
cmd_token_create(rt_client *c, struct cli *cl)
{
	struct rt_token_opts o = { cl->description, cl->role, cl->ttl,
	    cl->scopes, cl->nscopes };
	struct token_out out;
	struct rt_token t;
	char err[4400];
	enum rt_error e;
	int rv = 0;

	if (cl->output != NULL &&
	    out_open(&out, cl->output, cl->force, err, sizeof(err)) == -1) {
		if (out.fd != -1)
			out_abort(&out);
		fprintf(stderr, "runtools: token create: ");
		out_clean(stderr, err);
		fprintf(stderr, "\n");
		return EXIT_USAGE;
	}
	if ((e = rt_tokens_create(c, &o, &t)) != RT_E_OK) {
		if (cl->output != NULL)
			out_abort(&out);
		return cli_fail(c, e, "token create", NULL);
	}
	fflush(stdout);
	if (cl->output != NULL) {
		if (out_commit(&out, t.secret, err, sizeof(err)) == -1) {
			out_abort(&out);
			fprintf(stderr, "runtools: token create: ");
			out_clean(stderr, err);
			/* a token no one can see is no use: take it back */
			fprintf(stderr, "; token %s %s\n", t.id,
			    rt_tokens_revoke(c, t.id) == RT_E_OK ? "revoked" :
			    "could not be revoked: revoke it yourself");
			rv = EXIT_SERVER;
		} else {
			fprintf(stderr, "token %s (%s%s, expires %s) written "
			    "to ", t.id, t.role ? t.role : "-",
			    t.nscopes ? ", scoped to tools" : "",
			    t.expires_at ? t.expires_at : "never");
			out_clean(stderr, cl->output);
			fprintf(stderr, "\n");
		}
	} else if (cl->json)
		cli_print_json(c);
	else {
		out_write(STDOUT_FILENO, t.secret, strlen(t.secret));
		out_write(STDOUT_FILENO, "\n", 1);
		fprintf(stderr, "token %s (%s%s, expires %s); it is shown "
		    "only once\n", t.id, t.role ? t.role : "-",
		    t.nscopes ? ", scoped to tools" : "",
		    t.expires_at ? t.expires_at : "never");
	}
	rt_token_clear(&t);
	return rv;
}
