/*
 * Temporary folders and file reads for the unit tests.  Never asserts:
 * each test decides what a failed fixture means for its own plan.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* A new 0700 folder $TMPDIR/PREFIX.XXXXXX, or NULL with errno set. */
char *
tu_mkdtemp(const char *prefix)
{
	const char *t = getenv("TMPDIR");
	char buf[PATH_MAX];
	int n;

	n = snprintf(buf, sizeof(buf), "%s/%s.XXXXXX",
	    t != NULL ? t : P_tmpdir, prefix);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (mkdtemp(buf) == NULL)
		return NULL;
	return strdup(buf);
}

/* Like tu_mkdtemp(), for tests that cannot run at all without it. */
char *
tu_tmpdir(const char *prefix)
{
	char *d;

	if ((d = tu_mkdtemp(prefix)) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	return d;
}

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

/* Removes a folder and all below it, without following links. */
void
tu_rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * The whole file, NUL-terminated so text can be compared with strcmp();
 * its length in *len when len is not NULL.  NULL if it cannot be read.
 */
char *
tu_slurp(const char *path, size_t *len)
{
	FILE *fp;
	char *buf;
	long n;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	if ((buf = calloc(1, n + 1)) != NULL &&
	    fread(buf, 1, n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	if (buf != NULL && len != NULL)
		*len = n;
	return buf;
}
