/*
 * Replays a target's checked-in corpus without a fuzzer, so that any
 * compiler runs the regression cases in `make check`: each file is one
 * input and one TAP case.  A crash in the parser ends the program, which
 * the driver reports as an error.  An empty corpus fails: a replay must
 * never pass on nothing.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "tap.h"

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET names the target's corpus folder"
#endif

static uint8_t *
slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	ssize_t n;
	size_t off = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (off < (size_t)st.st_size &&
	    (n = read(fd, buf + off, (size_t)st.st_size - off)) > 0)
		off += (size_t)n;
	close(fd);
	*len = off;
	return buf;
}

static int
visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int
main(int argc, char *argv[])
{
	const char *top = getenv("top_srcdir");
	struct dirent **names;
	char dir[4096], path[4096 + 256];
	uint8_t *buf;
	size_t len = 0;
	int i, n;

	if (argc > 1)
		snprintf(dir, sizeof(dir), "%s", argv[1]);
	else
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s",
		    top != NULL ? top : ".", FUZZ_TARGET);
	if ((n = scandir(dir, &names, visible, alphasort)) == -1) {
		printf("Bail out! %s: %s\n", dir, strerror(errno));
		return 1;
	}
	ok(n > 0, "%s: the corpus holds inputs", FUZZ_TARGET);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if ((buf = slurp(path, &len)) == NULL)
			ok(0, "%s: read %s", FUZZ_TARGET, names[i]->d_name);
		else {
			LLVMFuzzerTestOneInput(buf, len);
			ok(1, "%s: %s", FUZZ_TARGET, names[i]->d_name);
		}
		free(buf);
		free(names[i]);
	}
	free(names);
	return done_testing();
}
