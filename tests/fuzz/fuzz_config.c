/*
 * Fuzz target "config": a secretd.conf through config_load(), which reads
 * a file, so each input is written to one temporary file first.  A
 * loaded config must print (config_print) without fault.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secretd.h"
#include "testutil.h"
#include "fuzz.h"

static char *dir, path[4096];

static void
cleanup(void)
{
	unlink(path);
	rmdir(dir);
	free(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct secretd_config cfg;
	char err[512];
	FILE *f;

	if (dir == NULL) {
		if ((dir = tu_mkdtemp("secretd-fuzz")) == NULL) {
			perror("mkdtemp");
			exit(1);
		}
		snprintf(path, sizeof(path), "%s/secretd.conf", dir);
		atexit(cleanup);
	}
	if ((f = fopen(path, "we")) == NULL)
		return 0;
	if (fwrite(data, 1, size, f) != size) {
		fclose(f);
		return 0;
	}
	fclose(f);
	/* A refusal must come with a whole message. */
	memset(err, 'x', sizeof(err));
	if (config_load(path, &cfg, err, sizeof(err)) == 0) {
		if ((f = fopen("/dev/null", "we")) != NULL) {
			config_print(&cfg, f);
			fclose(f);
		}
	} else if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	return 0;
}
