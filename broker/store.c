/*
 * The broker's sealed store: the LMDB environment, its transactions
 * (reused read transaction, durable group commits) and the secret and
 * token records.  Never syncs lazily (no MDB_NOSYNC) and never exits:
 * every failure is an enum store_err for the caller to act on.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "store_int.h"

#define MAPSIZE_LIMIT	(1ULL << 40)
#define WRITE_TRIES	32

static size_t initial_mapsize = STORE_MAPSIZE;

static const char *const store_errs[] = {
	[ST_OK] = "success",
	[ST_NOTFOUND] = "no such record",
	[ST_CORRUPT] = "a record failed to open or decode",
	[ST_BADKEY] = "the root key does not open this store",
	[ST_INVALID] = "invalid field",
	[ST_IO] = "store I/O error",
	[ST_NOMEM] = "out of memory",
	[ST_EXISTS] = "already exists",
	[ST_QUOTA] = "over quota",
	[ST_DAMAGED] = "the data file is damaged: restore it from a backup",
	[ST_FULL] = "no space left for the store",
	[ST_BUSY] = "every store reader slot is in use",
	[ST_NOVERSION] = "that version is not kept",
	[ST_CONFLICT] = "that version is the current one",
};

const char *
store_strerror(int e)
{
	if (e < 0 || (size_t)e >= sizeof(store_errs) / sizeof(store_errs[0]))
		return "unknown store error";
	return store_errs[e];
}

/* The one place LMDB (and errno) codes become store errors. */
int
store_mdb_err(int rc)
{
	switch (rc) {
	case 0:
		return ST_OK;
	case MDB_NOTFOUND:
		return ST_NOTFOUND;
	case MDB_KEYEXIST:
		return ST_EXISTS;
	case MDB_BAD_VALSIZE:
		return ST_INVALID;
	case ENOMEM:
		return ST_NOMEM;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
	case MDB_MAP_FULL:
		log_warnx("%s: %s", __func__, mdb_strerror(rc));
		return ST_FULL;
	case MDB_READERS_FULL:
		log_warnx("%s: %s", __func__, mdb_strerror(rc));
		return ST_BUSY;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
		log_warnx("%s: %s", __func__, mdb_strerror(rc));
		return ST_CORRUPT;
	default:
		log_warnx("%s: %s", __func__, mdb_strerror(rc));
		return ST_IO;
	}
}

/* Lets the tests start with a tiny map to exercise its growth. */
void
store_set_initial_mapsize(size_t sz)
{
	initial_mapsize = sz;
}

static void
rtxn_drop(struct store *st)
{
	if (st->rtxn != NULL)
		mdb_txn_abort(st->rtxn);
	st->rtxn = NULL;
}

static int
map_adopt(struct store *st, size_t sz)
{
	MDB_envinfo info;
	int rc;

	rtxn_drop(st);
	if ((rc = mdb_env_set_mapsize(st->env, sz)) != 0 ||
	    (rc = mdb_env_info(st->env, &info)) != 0)
		return rc;
	st->mapsize = info.me_mapsize;
	return 0;
}

/* MDB_MAP_FULL: double the map; only done with no transaction open. */
static int
map_grow(struct store *st)
{
	size_t sz = st->mapsize * 2;

	if (sz > MAPSIZE_LIMIT || map_adopt(st, sz) != 0)
		return -1;
	log_info("%s: map grown to %zu KiB", __func__, st->mapsize >> 10);
	return 0;
}

/*
 * Whether a failed transaction may be retried: a full map is grown, a
 * map another process grew is adopted, dead readers are cleared once.
 */
static int
txn_recover(struct store *st, int rc, int *checked)
{
	int dead;

	if (rc == MDB_MAP_FULL)
		return map_grow(st);
	if (rc == MDB_MAP_RESIZED)
		return map_adopt(st, 0) == 0 ? 0 : -1;
	if (rc == MDB_READERS_FULL && !(*checked)++) {
		mdb_reader_check(st->env, &dead);
		return 0;
	}
	return -1;
}

int
store_rtxn(struct store *st, MDB_txn **txn)
{
	int rc = 0, i, checked = 0;

	for (i = 0; i < 2; i++) {
		if (st->rtxn == NULL)
			rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &st->rtxn);
		else
			rc = mdb_txn_renew(st->rtxn);
		if (rc == 0) {
			*txn = st->rtxn;
			return ST_OK;
		}
		rtxn_drop(st);
		if (txn_recover(st, rc, &checked) == -1)
			break;
	}
	return store_mdb_err(rc);
}

void
store_rtxn_done(struct store *st)
{
	if (st->rtxn != NULL)
		mdb_txn_reset(st->rtxn);
}

/*
 * Runs fn in one write transaction and commits it durably.  A full map
 * is grown and the whole transaction retried; a full reader table is
 * cleaned of dead readers and retried once.
 */
int
store_write(struct store *st, store_txn_fn fn, void *arg)
{
	MDB_txn *txn;
	int rc, err, i, checked = 0;

	for (i = 0; i < WRITE_TRIES; i++) {
		err = ST_OK;
		if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) == 0) {
			rc = fn(st, txn, arg, &err);
			if (rc == 0 && err == ST_OK)
				rc = mdb_txn_commit(txn);
			else
				mdb_txn_abort(txn);
		}
		if (rc == 0) {
			st->full = 0;
			return err;
		}
		if (txn_recover(st, rc, &checked) == -1)
			break;
	}
	if ((err = store_mdb_err(rc)) == ST_FULL)
		st->full = 1;
	return err;
}

/* Room on the store's file system for a few pages of writes. */
#define STORE_ROOM_MIN	(256 * 1024)

/*
 * Whether the store is out of space: its last write failed for lack of
 * it and none has succeeded since, unless the file system has room
 * again (space freed by an operator shows before the next write).
 */
int
store_full(struct store *st)
{
	struct statvfs sv;

	if (!st->full)
		return 0;
	if (st->mapsize * 2 <= MAPSIZE_LIMIT && st->dir != NULL &&
	    statvfs(st->dir, &sv) == 0 &&
	    (uint64_t)sv.f_bavail * sv.f_frsize >= STORE_ROOM_MIN)
		st->full = 0;
	return st->full;
}

int
meta_get_u32(MDB_txn *txn, MDB_dbi db, const char *name, uint32_t *out)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	const uint8_t *p;
	int rc;

	if ((rc = mdb_get(txn, db, &k, &v)) != 0)
		return rc;
	if (v.mv_size != 4)
		return MDB_CORRUPTED;
	p = v.mv_data;
	*out = be32_get(p);
	return 0;
}

int
meta_put_u32(MDB_txn *txn, MDB_dbi db, const char *name, uint32_t val)
{
	uint8_t b[4];
	MDB_val k = { strlen(name), (void *)name }, v = { 4, b };

	be32_put(b, val);
	return mdb_put(txn, db, &k, &v, 0);
}

/*
 * Parses and authenticates one record.  The value is opened into out;
 * when out is NULL the record's tag is checked without opening the value
 * (record_verify): metadata is only ever returned from a record that
 * authenticates, and a read of metadata never decrypts a value.
 */
int
store_record_open(struct store *st, MDB_txn *txn, const MDB_val *k,
    const MDB_val *v, struct secret_meta *meta, uint8_t *out)
{
	struct record_view rv;
	const uint8_t *key;

	if (record_parse(v->mv_data, v->mv_size, k->mv_data, k->mv_size,
	    &rv) == -1) {
		log_warnx("%s: a record does not decode", __func__);
		return ST_CORRUPT;
	}
	if ((key = keyring_find(st, txn, rv.key_id)) == NULL) {
		log_warnx("%s: %s: data key %u is not in the keyring",
		    __func__, rv.meta.name, rv.key_id);
		return ST_CORRUPT;
	}
	if ((out != NULL ? record_open(&rv, k->mv_data, k->mv_size, key,
	    out) : record_verify(&rv, k->mv_data, k->mv_size, key)) == -1) {
		log_warnx("%s: %s: record fails to open", __func__,
		    rv.meta.name);
		return ST_CORRUPT;
	}
	if (meta != NULL)
		*meta = rv.meta;
	return ST_OK;
}

static int
env_open(struct store *st, const char *dir, int create, unsigned int flags)
{
	MDB_envinfo info;
	int rc;

	if ((rc = mdb_env_create(&st->env)) != 0)
		goto fail;
	if ((rc = mdb_env_set_maxdbs(st->env, STORE_MAXDBS)) != 0)
		goto fail;
	/* an existing store keeps the size it has grown to */
	if (create && (rc = mdb_env_set_mapsize(st->env, initial_mapsize)) != 0)
		goto fail;
	if ((rc = mdb_env_open(st->env, dir, MDB_NOTLS | flags, 0600)) != 0)
		goto fail;
	if ((rc = mdb_env_info(st->env, &info)) != 0)
		goto fail;
	st->mapsize = info.me_mapsize;
	if (!(flags & MDB_RDONLY) && st->mapsize < initial_mapsize &&
	    (rc = map_adopt(st, initial_mapsize)) != 0)
		goto fail;
	return ST_OK;
fail:
	log_warnx("%s: %s: %s", __func__, dir, mdb_strerror(rc));
	return store_mdb_err(rc);
}

static int
dbis_open(struct store *st, MDB_txn *txn, unsigned int flags)
{
	int rc;

	if ((rc = mdb_dbi_open(txn, "secrets", flags, &st->db_secrets)) ||
	    (rc = mdb_dbi_open(txn, "tokens", flags, &st->db_tokens)) ||
	    (rc = mdb_dbi_open(txn, "keyring", flags, &st->db_keyring)) ||
	    (rc = mdb_dbi_open(txn, "meta", flags, &st->db_meta)))
		return rc;
	return 0;
}

/* The databases schema 2 added; created when a store is upgraded. */
static int
dbis_open_v2(struct store *st, MDB_txn *txn, unsigned int flags)
{
	int rc;

	if ((rc = mdb_dbi_open(txn, "token_ids", flags,
	    &st->db_token_ids)) ||
	    (rc = mdb_dbi_open(txn, "token_owners", flags,
	    &st->db_token_owners)) ||
	    (rc = mdb_dbi_open(txn, "token_children", flags,
	    &st->db_token_children)) ||
	    (rc = mdb_dbi_open(txn, "usage", flags, &st->db_usage)))
		return rc;
	return 0;
}

/* The database schema 3 added; created when a store is upgraded. */
static int
dbis_open_v3(struct store *st, MDB_txn *txn, unsigned int flags)
{
	return mdb_dbi_open(txn, "versions", flags, &st->db_versions);
}

static int
create_txn(struct store *st, MDB_txn *txn, void *arg, int *err)
{
	const uint8_t *check = arg;
	MDB_val k = { 8, "keycheck" }, v = { 32, (void *)check };
	int rc;

	if ((rc = dbis_open(st, txn, MDB_CREATE)) != 0 ||
	    (rc = dbis_open_v2(st, txn, MDB_CREATE)) != 0 ||
	    (rc = dbis_open_v3(st, txn, MDB_CREATE)) != 0 ||
	    (rc = meta_put_u32(txn, st->db_meta, "schema", STORE_SCHEMA)) ||
	    (rc = mdb_put(txn, st->db_meta, &k, &v, 0)) != 0)
		return rc;
	return keyring_init(st, txn);
}

static struct store *
store_alloc(const uint8_t *root_key, int *ret)
{
	struct store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		*ret = ST_NOMEM;
		return NULL;
	}
	if ((*ret = keyring_derive(st, root_key)) != ST_OK)
		return st;
	st->scratch = sodium_malloc(VALUE_MAX_LEN);
	st->reveal = sodium_malloc(VALUE_MAX_LEN);
	if (st->scratch == NULL || st->reveal == NULL)
		*ret = ST_NOMEM;
	return st;
}

static int
path_in(char *buf, size_t len, const char *dir, const char *file)
{
	int n = snprintf(buf, len, "%s/%s", dir, file);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Creates a store in dir; an existing data file is never touched. */
int
store_create(const char *dir, const uint8_t *root_key)
{
	char data[PATH_MAX], lock[PATH_MAX];
	uint8_t check[32];
	struct store *st = NULL;
	int fd, ret;

	if (sodium_init() == -1)
		return ST_IO;
	if (path_in(data, sizeof(data), dir, "data.mdb") == -1 ||
	    path_in(lock, sizeof(lock), dir, "lock.mdb") == -1)
		return ST_INVALID;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("%s: %s", __func__, dir);
		return ST_IO;
	}
	fd = open(data, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		if (errno == EEXIST)
			return ST_EXISTS;
		log_warn("%s: %s", __func__, data);
		return ST_IO;
	}
	close(fd);
	if (keyring_keycheck(root_key, check) == -1) {
		ret = ST_IO;
		goto fail;
	}
	if ((st = store_alloc(root_key, &ret)) == NULL || ret != ST_OK)
		goto fail;
	if ((ret = env_open(st, dir, 1, 0)) != ST_OK)
		goto fail;
	if ((ret = store_write(st, create_txn, check)) != ST_OK)
		goto fail;
	if (sync_dir_of(data) == -1) {
		log_warn("%s: %s", __func__, dir);
		ret = ST_IO;
		goto fail;
	}
	store_close(st);
	return ST_OK;
fail:
	store_close(st);
	unlink(data);
	unlink(lock);
	return ret;
}

/* The store's schema (*schema: what it is) and the root key's check. */
static int
meta_check(MDB_txn *txn, MDB_dbi db, const uint8_t *root_key,
    uint32_t *schemap)
{
	uint8_t check[32];
	MDB_val k = { 8, "keycheck" }, v;
	uint32_t schema;
	int rc;

	if ((rc = meta_get_u32(txn, db, "schema", &schema)) != 0 ||
	    (rc = mdb_get(txn, db, &k, &v)) != 0) {
		log_warnx("%s: not a secretd store: %s", __func__,
		    mdb_strerror(rc));
		return rc == MDB_NOTFOUND ? ST_CORRUPT : store_mdb_err(rc);
	}
	if (schema < 1 || schema > STORE_SCHEMA) {
		log_warnx("%s: unknown store schema %u", __func__, schema);
		return ST_CORRUPT;
	}
	*schemap = schema;
	if (keyring_keycheck(root_key, check) == -1)
		return ST_IO;
	if (v.mv_size != sizeof(check) ||
	    sodium_memcmp(v.mv_data, check, sizeof(check)) != 0) {
		log_warnx("%s: the root key does not open this store",
		    __func__);
		return ST_BADKEY;
	}
	return ST_OK;
}

/*
 * Checks the key in a read-only, lock-free look at the data file, so that
 * a wrong key changes not one byte, not even in LMDB's lock file.  A
 * writer in another process could at worst make this look fail.
 */
static int
precheck(const char *dir, const uint8_t *root_key)
{
	MDB_env *env;
	MDB_txn *txn = NULL;
	MDB_dbi db;
	uint32_t schema;
	int rc, ret;

	if ((rc = mdb_env_create(&env)) != 0)
		return store_mdb_err(rc);
	if ((rc = mdb_env_set_maxdbs(env, STORE_MAXDBS)) != 0 ||
	    (rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS,
	    0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", 0, &db)) != 0) {
		log_warnx("%s: %s: %s", __func__, dir, mdb_strerror(rc));
		ret = rc == MDB_NOTFOUND ? ST_CORRUPT : store_mdb_err(rc);
	} else
		ret = meta_check(txn, db, root_key, &schema);
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return ret;
}

/*
 * Schema 1 to 2: index the tokens and count every owner's usage.  2 to
 * 3: an empty database of old versions (a store before it kept none).
 * 3 to 4: a tag on every token record and usage count; the counts a
 * schema 1 store gets are written tagged already.  Whether a record was
 * edited before it is tagged cannot be told (see secretd(8)).
 */
static int
upgrade_txn(struct store *st, MDB_txn *txn, void *arg, int *err)
{
	const uint32_t *from = arg;
	int rc;

	if (*from < 2 && ((rc = dbis_open_v2(st, txn, MDB_CREATE)) != 0 ||
	    (rc = token_index_build(st, txn)) != 0 ||
	    (rc = usage_build(st, txn)) != 0))
		return rc;
	if ((rc = dbis_open_v3(st, txn, MDB_CREATE)) != 0)
		return rc;
	if (*from < STORE_SCHEMA_MAC && ((rc = store_mac_add_all(st, txn,
	    st->db_tokens, "tokens", token_value_check)) != 0 ||
	    (*from >= 2 && (rc = store_mac_add_all(st, txn, st->db_usage,
	    "usage", usage_value_check)) != 0)))
		return rc;
	return meta_put_u32(txn, st->db_meta, "schema", STORE_SCHEMA);
}

static int
store_upgrade(struct store *st, const char *dir, uint32_t from)
{
	int ret;

	if ((ret = store_write(st, upgrade_txn, &from)) != ST_OK) {
		log_warnx("%s: %s: %s", __func__, dir, store_strerror(ret));
		return ret;
	}
	st->schema = STORE_SCHEMA;
	log_info("%s: %s: store upgraded to schema %d", __func__, dir,
	    STORE_SCHEMA);
	return ST_OK;
}

/* Opens the databases and checks the key and schema; *schema: found. */
static int
open_txn(struct store *st, const uint8_t *root_key, uint32_t *schema)
{
	MDB_txn *txn;
	int rc, ret;

	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
		return store_mdb_err(rc);
	if ((rc = dbis_open(st, txn, 0)) != 0)
		ret = rc == MDB_NOTFOUND ? ST_CORRUPT : store_mdb_err(rc);
	else if ((ret = meta_check(txn, st->db_meta, root_key, schema)) ==
	    ST_OK && ((*schema >= 2 && (rc = dbis_open_v2(st, txn, 0)) != 0) ||
	    (*schema >= 3 && (rc = dbis_open_v3(st, txn, 0)) != 0)))
		ret = rc == MDB_NOTFOUND ? ST_CORRUPT : store_mdb_err(rc);
	if (ret == ST_OK)
		ret = keyring_load(st, txn);
	st->schema = *schema;
	if (ret != ST_OK) {
		mdb_txn_abort(txn);
		return ret;
	}
	/* committing keeps the database handles opened in it */
	if ((rc = mdb_txn_commit(txn)) != 0)
		return store_mdb_err(rc);
	return ST_OK;
}

/*
 * Walks every record once in a read transaction: headers at open
 * (open_values 0), every value opened by verify.  The file must hold
 * every page the snapshot may name.
 */
static int
store_walk_all(struct store *st, const char *data, uint32_t psize,
    int open_values, struct store_report *r)
{
	MDB_envinfo info;
	MDB_stat ms;
	MDB_txn *txn;
	struct stat sb;
	int rc, ret, faulted = 0;

	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
		return store_mdb_err(rc);
	if ((rc = mdb_env_info(st->env, &info)) != 0 ||
	    (rc = mdb_env_stat(st->env, &ms)) != 0) {
		mdb_txn_abort(txn);
		return store_mdb_err(rc);
	}
	if (stat(data, &sb) == -1) {
		log_warn("%s", data);
		mdb_txn_abort(txn);
		return ST_IO;
	}
	if (ms.ms_psize != psize) {
		snprintf(r->file_why, sizeof(r->file_why),
		    "its page size %u is not LMDB's %u", psize, ms.ms_psize);
		ret = ST_DAMAGED;
	} else if ((uint64_t)sb.st_size < ((uint64_t)info.me_last_pgno + 1) *
	    psize) {
		snprintf(r->file_why, sizeof(r->file_why),
		    "it is shorter than the pages its meta page names "
		    "(truncated)");
		ret = ST_DAMAGED;
	} else if ((ret = store_walk(st, txn, open_values, store_map_addr(sb.st_ino),
	    sb.st_size, r, &faulted)) != ST_OK && r->bad_why[0] != '\0')
		ret = ST_DAMAGED;
	if (ret == ST_DAMAGED)
		log_warnx("%s: damaged: %s%s%s%s%s%s%s; restore it from a "
		    "backup", data, r->file_why,
		    r->bad_why[0] ? "a record in " : "", r->bad_db,
		    r->bad_why[0] ? " (key \"" : "", r->bad_key,
		    r->bad_why[0] ? "\") " : "", r->bad_why);
	/* after a fault LMDB's state is unknown: the env is closed as is */
	if (!faulted)
		mdb_txn_abort(txn);
	return ret;
}

int
store_open(struct store **stp, const char *dir, const uint8_t *root_key)
{
	char data[PATH_MAX];
	struct store *st;
	struct store_report rep;
	struct stat sb;
	uint64_t last_pg;
	uint32_t schema = 0, psize;
	off_t size;
	int ret;

	*stp = NULL;
	memset(&rep, 0, sizeof(rep));
	if (sodium_init() == -1)
		return ST_IO;
	/* LMDB would create a missing store: refuse first */
	if (path_in(data, sizeof(data), dir, "data.mdb") == -1)
		return ST_INVALID;
	if (stat(data, &sb) == -1) {
		log_warn("%s: %s", __func__, data);
		return errno == ENOENT ? ST_NOTFOUND : ST_IO;
	}
	/* before LMDB maps it: a short file would fault on first read */
	if ((ret = store_file_check(data, NULL, &last_pg, &psize, &size)) !=
	    ST_OK)
		return ret;
	if ((ret = precheck(dir, root_key)) != ST_OK)
		return ret;
	if ((st = store_alloc(root_key, &ret)) == NULL || ret != ST_OK)
		goto fail;
	if ((st->dir = strdup(dir)) == NULL) {
		ret = ST_NOMEM;
		goto fail;
	}
	if ((ret = env_open(st, dir, 0, 0)) != ST_OK)
		goto fail;
	if ((ret = open_txn(st, root_key, &schema)) != ST_OK)
		goto fail;
	if ((ret = store_walk_all(st, data, psize, 0, &rep)) != ST_OK)
		goto fail;
	if (schema != STORE_SCHEMA &&
	    (ret = store_upgrade(st, dir, schema)) != ST_OK)
		goto fail;
	*stp = st;
	return ST_OK;
fail:
	store_close(st);
	return ret;
}

/*
 * secretd verify: read-only, beside a running broker or not.  Checks the
 * file, the key, the schema and the keyring, then opens every value.
 */
int
store_verify(const char *dir, const uint8_t *root_key,
    struct store_report *r)
{
	char data[PATH_MAX];
	struct store *st;
	uint64_t last_pg;
	uint32_t psize, schema = 0;
	off_t size;
	int ret;

	memset(r, 0, sizeof(*r));
	if (sodium_init() == -1)
		return ST_IO;
	if (path_in(data, sizeof(data), dir, "data.mdb") == -1)
		return ST_INVALID;
	if ((ret = store_file_check(data, r, &last_pg, &psize, &size)) !=
	    ST_OK)
		return ret;
	if ((ret = precheck(dir, root_key)) != ST_OK)
		return ret;
	if ((st = store_alloc(root_key, &ret)) == NULL || ret != ST_OK)
		goto done;
	if ((ret = env_open(st, dir, 0, MDB_RDONLY)) != ST_OK ||
	    (ret = open_txn(st, root_key, &schema)) != ST_OK)
		goto done;
	r->schema = schema;
	r->active_key = st->ring.active;
	r->nkeys = st->ring.n;
	ret = store_walk_all(st, data, psize, 1, r);
done:
	store_close(st);
	return ret;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	rtxn_drop(st);
	if (st->env != NULL)
		mdb_env_close(st->env);
	keyring_free(st);
	free(st->dir);
	sodium_free(st->wrap_key);
	sodium_free(st->token_key);
	sodium_free(st->mac_key);
	sodium_free(st->audit_key);
	sodium_free(st->scratch);
	sodium_free(st->reveal);
	free(st);
}

void
store_value_free(struct secret_value *v)
{
	if (v == NULL)
		return;
	if (v->data != NULL)
		sodium_memzero(v->data, v->len);
	v->data = NULL;
	v->len = 0;
}

size_t
store_count_secrets(struct store *st)
{
	MDB_txn *txn;
	MDB_stat ms;
	size_t n = 0;

	if (store_rtxn(st, &txn) != ST_OK)
		return 0;
	if (mdb_stat(txn, st->db_secrets, &ms) == 0)
		n = ms.ms_entries;
	store_rtxn_done(st);
	return n;
}

/* The data file's size on disk, for operators; 0 when unknown. */
uint64_t
store_size_bytes(struct store *st)
{
	struct stat sb;
	int fd;

	if (mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &sb) == -1)
		return 0;
	return (uint64_t)sb.st_size;
}

static int
open_value(struct store *st, MDB_txn *txn, const MDB_val *k,
    const MDB_val *v, struct secret_meta *meta, struct secret_value *val)
{
	struct record_view rv;
	int ret;

	if (record_parse(v->mv_data, v->mv_size, k->mv_data, k->mv_size,
	    &rv) == -1)
		return ST_CORRUPT;
	/*
	 * Values open into one guarded buffer made at open time: a
	 * sodium_malloc per reveal costs eight system calls on the hot path.
	 */
	val->len = rv.ct_len - SEAL_TAG_LEN;
	val->data = st->reveal;
	if ((ret = store_record_open(st, txn, k, v, meta, val->data)) != ST_OK)
		store_value_free(val);
	return ret;
}

int
store_secret_get(struct store *st, const char *org, int scope,
    const char *owner, const char *name, struct secret_meta *meta,
    struct secret_value *val)
{
	struct secret_meta m;
	struct skey sk;
	MDB_txn *txn;
	MDB_val k, v;
	int rc, ret;

	if (val != NULL) {
		val->data = NULL;
		val->len = 0;
	}
	if (skey_build(&sk, org, scope, owner, name) == -1)
		return ST_INVALID;
	if ((ret = store_rtxn(st, &txn)) != ST_OK)
		return ret;
	k.mv_size = sk.len;
	k.mv_data = sk.buf;
	if ((rc = mdb_get(txn, st->db_secrets, &k, &v)) != 0)
		ret = store_mdb_err(rc);
	else if (val != NULL)
		ret = open_value(st, txn, &k, &v, &m, val);
	else
		ret = store_record_open(st, txn, &k, &v, &m, NULL);
	store_rtxn_done(st);
	if (ret == ST_OK && meta != NULL)
		*meta = m;
	return ret;
}

/* One owner's usage as quotas count it; none yet is zero. */
int
store_usage_get(struct store *st, const char *org, int scope,
    const char *owner, struct store_usage *u)
{
	struct skey k;
	MDB_txn *txn;
	int ret;

	memset(u, 0, sizeof(*u));
	if (skey_prefix(&k, org, scope, scope == SCOPE_ORG ? NULL : owner) ==
	    -1)
		return ST_INVALID;
	if ((ret = store_rtxn(st, &txn)) != ST_OK)
		return ret;
	ret = store_mdb_err(usage_read(st, txn, &k, u));
	store_rtxn_done(st);
	return ret;
}
