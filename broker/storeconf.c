/*
 * Where the store lives, from the config: the one place a struct
 * store_conf is built, for the daemon, init, the key commands and
 * migrate.  For PostgreSQL it reads the password (postgresql_password_file,
 * else the systemd credential pg.password when there is one) into
 * sodium_malloc memory, wiped when the conf is cleared.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "secretd.h"
#include "store_engine.h"
#include "storeconf.h"

#define PG_PASSWORD_MAX	1024	/* libpq's own limit is lower */

static int __attribute__((format(printf, 3, 4)))
serr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * The password file whole, one trailing newline dropped.  Like the root
 * key it must be a regular file only its owner may read: the password
 * opens every sealed record's row to whoever holds it.
 */
static int
password_read(const char *path, char **out, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return serr(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return serr(err, errlen, "%s: not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return serr(err, errlen, "%s: mode %04o lets others read it; "
		    "it must be 0600 or stricter", path,
		    (unsigned)(st.st_mode & 07777));
	}
	if ((buf = sodium_malloc(PG_PASSWORD_MAX + 1)) == NULL) {
		close(fd);
		return serr(err, errlen, "%s: out of memory", path);
	}
	while (len < PG_PASSWORD_MAX + 1 &&
	    (n = read(fd, buf + len, PG_PASSWORD_MAX + 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			serr(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		len += (size_t)n;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len == 0 || len > PG_PASSWORD_MAX ||
	    memchr(buf, '\0', len) != NULL) {
		serr(err, errlen, "%s: expected one password of 1 to %d bytes "
		    "and no NUL", path, PG_PASSWORD_MAX);
		goto fail;
	}
	buf[len] = '\0';
	close(fd);
	*out = buf;
	return 0;
 fail:
	sodium_free(buf);
	close(fd);
	return -1;
}

/* The configured file, else the credential if systemd passed one. */
static int
password_load(const struct secretd_config *cfg, char **out, char *err,
    size_t errlen)
{
	char path[PATH_MAX];
	const char *cred;
	int n;

	*out = NULL;
	if (cfg->pg_password_file[0] != '\0')
		return password_read(cfg->pg_password_file, out, err, errlen);
	if ((cred = getenv("CREDENTIALS_DIRECTORY")) == NULL || *cred == '\0')
		return 0;
	n = snprintf(path, sizeof(path), "%s/%s", cred, PG_PASSWORD_FILE);
	if (n < 0 || (size_t)n >= sizeof(path))
		return serr(err, errlen, "$CREDENTIALS_DIRECTORY: too long");
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	return password_read(path, out, err, errlen);
}

int
store_conf_make(const struct secretd_config *cfg, int engine,
    struct store_conf *sc, char *err, size_t errlen)
{
	char *password;

	memset(sc, 0, sizeof(*sc));
	sc->engine = engine;
	sc->dir = cfg->state_dir;
	sc->timeout_ms = cfg->store_timeout_ms;
	if (engine != STORE_POSTGRESQL)
		return 0;
	if (cfg->postgresql[0] == '\0')
		return serr(err, errlen, "%s: no postgresql connection string "
		    "is set", cfg->path);
	sc->conninfo = cfg->postgresql;
	if (password_load(cfg, &password, err, errlen) == -1)
		return -1;
	sc->password = password;
	return 0;
}

int
store_conf_engine(const struct secretd_config *cfg)
{
	return cfg->store_pg ? STORE_POSTGRESQL : STORE_LMDB;
}

const char *
store_conf_where(const struct store_conf *sc)
{
	return sc->engine == STORE_POSTGRESQL ? "the PostgreSQL database" :
	    sc->dir;
}

void
store_conf_clear(struct store_conf *sc)
{
	/* sodium_free wipes it. */
	sodium_free((char *)sc->password);
	memset(sc, 0, sizeof(*sc));
}
