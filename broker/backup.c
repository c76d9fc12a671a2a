/*
 * secretd backup and restore.  A backup is a compacted copy of the LMDB
 * store made from one read transaction of an environment opened beside
 * the running daemon: LMDB lets processes share an environment, and a
 * reader never waits for the daemon's writers nor they for it (its
 * snapshot only keeps its pages from reuse until the copy ends).  The
 * copy stays sealed: without the root key it opens nothing, so backup
 * never reads the key.  A restore checks a copy whole under the
 * configured root key before it replaces anything, and never runs beside
 * a daemon.  Both are generic over the store's databases.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "broker.h"

#define STORE_FILE	"data.mdb"
#define LMDB_LOCK_FILE	"lock.mdb"
#define COPY_TRIES	4
#define COPY_BUF	(1024 * 1024)
#define SUMMARY_DBS	64	/* named databases a summary counts */

/* One line on standard error, prefixed with the command; returns 1. */
int
cmd_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "secretd: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int
path_join(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * Keeps path under a second name, path.WHAT-20261127T201500Z (and .N
 * after it when that is taken), a hard link made durable; *out is it.
 */
int
link_aside(const char *path, const char *what, char *out, size_t len)
{
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	int i, n;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; i < 100; i++) {
		n = i == 0 ? snprintf(out, len, "%s.%s-%s", path, what, stamp) :
		    snprintf(out, len, "%s.%s-%s.%d", path, what, stamp, i);
		if (n < 0 || (size_t)n >= len) {
			errno = ENAMETOOLONG;
			break;
		}
		if (link(path, out) == 0)
			return sync_dir_of(out);
		if (errno != EEXIST)
			break;
	}
	out[0] = '\0';
	return -1;
}

/*
 * What a copy holds: each named database and its records, and how many
 * secrets, read from the copy itself (no lock file: nothing else has it).
 */
static int
copy_summary(const char *path, char *out, size_t outlen, size_t *secrets)
{
	MDB_env *env;
	MDB_txn *txn = NULL;
	MDB_cursor *c = NULL;
	MDB_dbi main_db, dbi;
	MDB_stat ms;
	MDB_val k, v;
	char name[128];
	size_t used = 0;
	int rc;

	*secrets = 0;
	out[0] = '\0';
	if ((rc = mdb_env_create(&env)) != 0)
		return rc;
	if ((rc = mdb_env_set_maxdbs(env, SUMMARY_DBS)) != 0 ||
	    (rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY |
	    MDB_NOLOCK | MDB_NOTLS, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &main_db)) != 0 ||
	    (rc = mdb_cursor_open(txn, main_db, &c)) != 0)
		goto done;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size >= sizeof(name))
			continue;
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		if (mdb_dbi_open(txn, name, 0, &dbi) != 0 ||
		    mdb_stat(txn, dbi, &ms) != 0)
			continue;
		if (strcmp(name, "secrets") == 0)
			*secrets = ms.ms_entries;
		if (used < outlen)
			used += snprintf(out + used, outlen - used, "%s%s %zu",
			    used ? ", " : "", name, (size_t)ms.ms_entries);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
done:
	if (c != NULL)
		mdb_cursor_close(c);
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

/*
 * Opens the live store read-only, with LMDB's lock file so that the
 * daemon's writers see our reader and leave its pages alone.  The data
 * file must hold every page its meta page names: a copy of a truncated
 * file would fault on the first missing page.
 */
static int
live_open(const char *dir, MDB_env **envp, const char **why)
{
	char data[PATH_MAX];
	MDB_env *env;
	MDB_envinfo info;
	MDB_stat ms;
	struct stat sb;
	int rc;

	*envp = NULL;
	*why = NULL;
	if (path_join(data, sizeof(data), dir, STORE_FILE) == -1)
		return ENAMETOOLONG;
	/* LMDB would make an empty store of a missing one */
	if (stat(data, &sb) == -1)
		return errno;
	if ((rc = mdb_env_create(&env)) != 0)
		return rc;
	if ((rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600)) != 0 ||
	    (rc = mdb_env_info(env, &info)) != 0 ||
	    (rc = mdb_env_stat(env, &ms)) != 0) {
		mdb_env_close(env);
		return rc;
	}
	if ((uint64_t)sb.st_size < ((uint64_t)info.me_last_pgno + 1) *
	    ms.ms_psize) {
		*why = "it is shorter than the pages its meta page names "
		    "(truncated): restore it from a backup";
		mdb_env_close(env);
		return MDB_CORRUPTED;
	}
	*envp = env;
	return 0;
}

/*
 * The compacted copy into fd, from the start.  The daemon may grow the
 * map meanwhile (adopted, then the copy starts again) or fill the reader
 * table (dead readers cleared, then again).
 */
static int
copy_store(MDB_env *env, int fd)
{
	int rc = 0, i, dead;

	for (i = 0; i < COPY_TRIES; i++) {
		if (ftruncate(fd, 0) == -1 || lseek(fd, 0, SEEK_SET) == -1)
			return errno;
		if ((rc = mdb_env_copyfd2(env, fd, MDB_CP_COMPACT)) == 0)
			return 0;
		if (rc == MDB_MAP_RESIZED)
			rc = mdb_env_set_mapsize(env, 0) == 0 ? rc : EIO;
		else if (rc == MDB_READERS_FULL)
			mdb_reader_check(env, &dead);
		else
			break;
	}
	return rc;
}

/*
 * Puts tmp in place as file: never over an existing file unless forced,
 * and durably (the folder synced after the rename).
 */
static int
put_in_place(const char *tmp, const char *file, int force)
{
	if (force ? rename(tmp, file) : renameat2(AT_FDCWD, tmp, AT_FDCWD,
	    file, RENAME_NOREPLACE))
		return -1;
	return sync_dir_of(file);
}

int
backup_run(const struct secretd_config *cfg, const char *file, int force)
{
	char tmp[PATH_MAX], summary[512];
	const char *why;
	struct stat sb;
	MDB_env *env;
	size_t secrets;
	int fd, rc;

	if (lstat(file, &sb) == 0 && (S_ISDIR(sb.st_mode) || !force))
		return cmd_fail("backup", "%s %s", file, S_ISDIR(sb.st_mode) ?
		    "is a folder" : "exists; --force replaces it");
	if ((rc = live_open(cfg->state_dir, &env, &why)) != 0)
		return cmd_fail("backup", "%s/%s: %s", cfg->state_dir,
		    STORE_FILE, why != NULL ? why : rc > 0 ? strerror(rc) :
		    mdb_strerror(rc));
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", file) >=
	    sizeof(tmp)) {
		mdb_env_close(env);
		return cmd_fail("backup", "%s: path too long", file);
	}
	/* a new file, 0600 whatever the umask, in the target's folder */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		rc = errno;
		mdb_env_close(env);
		return cmd_fail("backup", "%s: %s", tmp, strerror(rc));
	}
	if (fchmod(fd, 0600) == -1)
		rc = errno;
	else
		rc = copy_store(env, fd);
	mdb_env_close(env);
	if (rc == 0 && (fsync(fd) == -1 || fstat(fd, &sb) == -1))
		rc = errno;
	if (close(fd) == -1 && rc == 0)
		rc = errno;
	if (rc == 0)
		rc = copy_summary(tmp, summary, sizeof(summary), &secrets);
	if (rc != 0) {
		unlink(tmp);
		return cmd_fail("backup", "copying %s/%s to %s: %s",
		    cfg->state_dir, STORE_FILE, tmp, rc > 0 ? strerror(rc) :
		    mdb_strerror(rc));
	}
	if (put_in_place(tmp, file, force) == -1) {
		rc = errno;
		unlink(tmp);
		return cmd_fail("backup", "%s: %s", file, rc == EEXIST ?
		    "exists; --force replaces it" : strerror(rc));
	}
	printf("backup %s: %lld bytes, %zu secret%s (%s); it opens only with "
	    "the root key in use now\n", file, (long long)sb.st_size, secrets,
	    secrets == 1 ? "" : "s", summary);
	return 0;
}

/* Copies the backup into tmpdir/data.mdb, 0600, durably. */
static int
copy_in(const char *file, const char *dst)
{
	struct stat sb;
	uint8_t *buf;
	ssize_t n, w, off;
	int in, out = -1, rc = 0;

	if ((in = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return errno;
	if (fstat(in, &sb) == -1)
		rc = errno;
	else if (!S_ISREG(sb.st_mode))
		rc = EINVAL;
	if (rc != 0) {
		close(in);
		return rc;
	}
	if ((buf = malloc(COPY_BUF)) == NULL ||
	    (out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		rc = errno;
		goto done;
	}
	while (rc == 0 && (n = read(in, buf, COPY_BUF)) != 0) {
		if (n == -1) {
			rc = errno;
			break;
		}
		for (off = 0; off < n; off += w)
			if ((w = write(out, buf + off, (size_t)(n - off))) ==
			    -1) {
				rc = errno;
				break;
			}
	}
	if (rc == 0 && fsync(out) == -1)
		rc = errno;
done:
	free(buf);
	if (out != -1 && close(out) == -1 && rc == 0)
		rc = errno;
	close(in);
	return rc;
}

/* Why a copy was refused, for an operator who must find a good one. */
static int
refuse_copy(const char *file, const char *keypath, int ret,
    const struct store_report *r)
{
	if (ret == ST_BADKEY)
		return cmd_fail("restore", "%s: the configured root key (%s) "
		    "does not open this backup; nothing was replaced", file,
		    keypath);
	if (r->file_why[0] != '\0')
		return cmd_fail("restore", "%s: not a whole secretd store: %s; "
		    "nothing was replaced", file, r->file_why);
	if (r->bad_why[0] != '\0')
		return cmd_fail("restore", "%s: a record in %s (key \"%s\") "
		    "%s; nothing was replaced", file, r->bad_db, r->bad_key,
		    r->bad_why);
	return cmd_fail("restore", "%s: %s; nothing was replaced", file,
	    store_strerror(ret));
}

/*
 * Any LMDB user of the store holds a read lock on the lock file's first
 * byte while its environment is open.  Taking it for writing proves none
 * is open (a backup or verify may run without the state lock), and
 * holding it keeps new ones waiting, until the restored store is opened
 * here first, which makes LMDB start the lock file afresh: its shared
 * state must never describe the replaced file.
 */
static int
lmdb_users_lock(const char *dir, int *fdp)
{
	char path[PATH_MAX];
	struct flock fl;
	int fd;

	*fdp = -1;
	if (path_join(path, sizeof(path), dir, LMDB_LOCK_FILE) == -1)
		return ENAMETOOLONG;
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1)
		return errno;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 1;
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		close(fd);
		return errno == EACCES || errno == EAGAIN ? EBUSY : errno;
	}
	*fdp = fd;
	return 0;
}

/*
 * The copy takes the place of data.mdb in one rename: data.mdb is the
 * old store or the new one at every instant.  The old one is first
 * linked aside under aside, and the copy gets its owner and mode.
 */
static int
swap_in(const char *dir, const char *copy, char *aside, size_t asidelen)
{
	char data[PATH_MAX];
	struct stat sb;
	int have_old, rc;

	aside[0] = '\0';
	if (path_join(data, sizeof(data), dir, STORE_FILE) == -1)
		return ENAMETOOLONG;
	if (stat(data, &sb) == 0)
		have_old = 1;
	else if (errno == ENOENT && stat(dir, &sb) == 0)
		have_old = 0;
	else
		return errno;
	if (chown(copy, sb.st_uid, sb.st_gid) == -1 ||
	    chmod(copy, have_old ? sb.st_mode & 0600 : 0600) == -1)
		return errno;
	if (have_old && link_aside(data, "replaced", aside, asidelen) == -1)
		return errno;
	if (rename(copy, data) == -1) {
		rc = errno;
		if (have_old)
			unlink(aside);
		aside[0] = '\0';
		return rc;
	}
	/* in place now, whatever the sync says */
	if (sync_dir_of(data) == -1)
		fprintf(stderr, "secretd: restore: %s: fsync: %s\n", dir,
		    strerror(errno));
	return 0;
}

static void
tmpdir_remove(const char *tmpdir)
{
	char path[PATH_MAX];

	if (path_join(path, sizeof(path), tmpdir, STORE_FILE) == 0)
		unlink(path);
	if (path_join(path, sizeof(path), tmpdir, LMDB_LOCK_FILE) == 0)
		unlink(path);
	rmdir(tmpdir);
}

static void
report_print(const char *what, const struct store_report *r)
{
	size_t i, secrets = 0;

	for (i = 0; i < r->ndb; i++)
		if (strcmp(r->db[i].name, "secrets") == 0)
			secrets = r->db[i].n;
	printf("%s: %zu secret%s, schema %u, %zu data key%s; every record "
	    "opens with the root key\n", what, secrets, secrets == 1 ? "" : "s",
	    r->schema, r->nkeys, r->nkeys == 1 ? "" : "s");
}

/*
 * After the copy is in place: the store checked where it now lies, which
 * opens it first and so starts LMDB's lock file anew.
 */
static int
restore_finish(const struct secretd_config *cfg, const char *file,
    const uint8_t *key, const char *aside)
{
	struct store_report r;
	int ret;

	ret = store_verify(cfg->state_dir, key, &r);
	printf("restored %s into %s/%s\n", file, cfg->state_dir, STORE_FILE);
	if (aside[0] != '\0')
		printf("the replaced store is kept as %s; delete it when you "
		    "no longer need it\n", aside);
	if (ret != ST_OK)
		return cmd_fail("restore", "%s: %s", cfg->state_dir,
		    store_strerror(ret));
	report_print("restored store", &r);
	return 0;
}

/* The backup copied into tmpdir as copy and checked whole there. */
static int
copy_check(const char *file, const char *tmpdir, const char *copy,
    const uint8_t *key, const char *keypath)
{
	struct store_report r;
	int rc, ret;

	if ((rc = copy_in(file, copy)) != 0)
		return cmd_fail("restore", "%s: %s; nothing was replaced",
		    file, strerror(rc));
	if ((ret = store_verify(tmpdir, key, &r)) != ST_OK)
		return refuse_copy(file, keypath, ret, &r);
	report_print("checked the backup", &r);
	if (r.schema < STORE_SCHEMA_MAC)
		fprintf(stderr, "secretd: restore: warning: %s is of schema "
		    "%u, older than MACs on token records: whether its tokens "
		    "or usage counts were edited cannot be told; they are "
		    "trusted from its next open on\n", file, r.schema);
	fflush(stdout);
	return 0;
}

int
backup_restore(const struct secretd_config *cfg, const char *file)
{
	struct statelock lk;
	char keypath[PATH_MAX], tmpdir[PATH_MAX], copy[PATH_MAX];
	char aside[PATH_MAX + 64], err[512];
	uint8_t *key = NULL;
	int rc, lfd = -1, status = 1;

	err[0] = '\0';

	/* no daemon, rotate-key or rewrap on the folder meanwhile */
	if (statelock_take(&lk, cfg->state_dir, STATELOCK_OFFLINE, err,
	    sizeof(err)) == -1)
		return cmd_fail("restore", "%s; stop it first", err);
	statelock_mark(&lk);
	if (root_key_path(cfg, keypath, sizeof(keypath)) == -1 ||
	    rootkey_load(keypath, &key, err, sizeof(err)) != ST_OK) {
		cmd_fail("restore", "%s", key == NULL && err[0] ? err :
		    "root key path too long");
		goto out;
	}
	/* a folder on the store's file system, so the swap is a rename */
	if (path_join(tmpdir, sizeof(tmpdir), cfg->state_dir,
	    "restore-XXXXXX") == -1 || mkdtemp(tmpdir) == NULL) {
		cmd_fail("restore", "%s: %s", cfg->state_dir, strerror(errno));
		goto out;
	}
	if (path_join(copy, sizeof(copy), tmpdir, STORE_FILE) == -1 ||
	    copy_check(file, tmpdir, copy, key, keypath) != 0)
		goto clean;
	if ((rc = lmdb_users_lock(cfg->state_dir, &lfd)) != 0) {
		cmd_fail("restore", "%s: %s; nothing was replaced",
		    cfg->state_dir, rc == EBUSY ? "the store is open in "
		    "another process (a backup or verify?); try again when it "
		    "is done" : strerror(rc));
		goto clean;
	}
	if ((rc = swap_in(cfg->state_dir, copy, aside, sizeof(aside))) != 0) {
		cmd_fail("restore", "%s/%s: %s; nothing was replaced",
		    cfg->state_dir, STORE_FILE, strerror(rc));
		goto clean;
	}
	status = restore_finish(cfg, file, key, aside);
clean:
	if (lfd != -1)
		close(lfd);
	tmpdir_remove(tmpdir);
out:
	rootkey_free(key);
	statelock_release(&lk);
	return status;
}
