/*
 * The store_conf the config makes (storeconf.c): the engine and its
 * string, and the PostgreSQL password from postgresql_password_file or
 * the credential pg.password, refused when others may read it.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "secretd.h"
#include "store_engine.h"
#include "storeconf.h"
#include "tap.h"
#include "testutil.h"

static char *dir;

static void
put(const char *name, const void *data, size_t len, mode_t mode)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) == -1 ||
	    write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) == -1 ||
	    close(fd) == -1) {
		perror(path);
		exit(1);
	}
}

/* The conf for cfg, the error kept in err; -1 or 0 as store_conf_make. */
static int
make(struct secretd_config *cfg, int engine, struct store_conf *sc,
    char *err, size_t errlen)
{
	err[0] = '\0';
	return store_conf_make(cfg, engine, sc, err, errlen);
}

int
main(void)
{
	struct secretd_config cfg;
	struct store_conf sc;
	char err[512], want[PATH_MAX + 128];

	if (sodium_init() == -1 || (dir = tu_mkdtemp("storeconf")) == NULL)
		return 1;
	unsetenv("CREDENTIALS_DIRECTORY");
	config_defaults(&cfg);
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", dir);

	ok(make(&cfg, STORE_LMDB, &sc, err, sizeof(err)) == 0 &&
	    sc.engine == STORE_LMDB && strcmp(sc.dir, dir) == 0 &&
	    sc.conninfo == NULL && sc.password == NULL &&
	    sc.timeout_ms == 5000, "lmdb: the state folder, no password");
	store_conf_clear(&sc);

	ok(make(&cfg, STORE_POSTGRESQL, &sc, err, sizeof(err)) == -1 &&
	    strstr(err, "no postgresql connection string") != NULL,
	    "postgresql without a string: %s", err);

	snprintf(cfg.postgresql, sizeof(cfg.postgresql), "host=/tmp dbname=s");
	ok(make(&cfg, STORE_POSTGRESQL, &sc, err, sizeof(err)) == 0 &&
	    strcmp(sc.conninfo, cfg.postgresql) == 0 && sc.password == NULL,
	    "postgresql, no file, no credential: no password");
	store_conf_clear(&sc);

	snprintf(cfg.pg_password_file, sizeof(cfg.pg_password_file),
	    "%s/pw", dir);
	put("pw", "s3cret\n", 7, 0600);
	ok(make(&cfg, STORE_POSTGRESQL, &sc, err, sizeof(err)) == 0 &&
	    sc.password != NULL && strcmp(sc.password, "s3cret") == 0,
	    "the file's password, its newline dropped");
	store_conf_clear(&sc);
	ok(sc.password == NULL, "clear forgets it");

	put("pw", "s3cret\r\n", 8, 0400);
	ok(make(&cfg, STORE_POSTGRESQL, &sc, err, sizeof(err)) == 0 &&
	    strcmp(sc.password, "s3cret") == 0, "CRLF too, mode 0400");
	store_conf_clear(&sc);

	put("pw", "s3cret\n", 7, 0640);
	snprintf(want, sizeof(want), "%s/pw: mode 0640 lets others read it; "
	    "it must be 0600 or stricter", dir);
	ok(make(&cfg, STORE_POSTGRESQL, &sc, err, sizeof(err)) == -1 &&
	    strcmp(err, want) == 0 && sc.password == NULL,
	    "a group-readable file is refused: %s", err);

	put("pw", "\n", 1, 0600);
	ok(make(&cfg, STORE_POSTGRESQL, &sc, err, sizeof(err)) == -1 &&
	    strstr(err, "expected one password") != NULL,
	    "an empty password is refused: %s", err);
	put("pw", "a\0b\n", 4, 0600);
	ok(make(&cfg, STORE_POSTGRESQL, &sc, err, sizeof(err)) == -1 &&
	    strstr(err, "expected one password") != NULL,
	    "a NUL byte is refused: %s", err);

	snprintf(want, sizeof(want), "%s/pw", dir);
	unlink(want);
	ok(make(&cfg, STORE_POSTGRESQL, &sc, err, sizeof(err)) == -1 &&
	    strstr(err, "No such file") != NULL,
	    "a file that is not there is refused: %s", err);

	/* The credential, when no file is set. */
	cfg.pg_password_file[0] = '\0';
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	put("pg.password", "from-systemd", 12, 0400);
	ok(make(&cfg, STORE_POSTGRESQL, &sc, err, sizeof(err)) == 0 &&
	    sc.password != NULL && strcmp(sc.password, "from-systemd") == 0,
	    "the credential pg.password when no file is set");
	store_conf_clear(&sc);
	ok(make(&cfg, STORE_LMDB, &sc, err, sizeof(err)) == 0 &&
	    sc.password == NULL, "lmdb never reads it");
	store_conf_clear(&sc);

	tu_rm_rf(dir);
	return done_testing();
}
