/*
 * The LMDB engine: the store's tables as LMDB databases in one
 * environment in the state folder, a reused read transaction, durable
 * write transactions (never MDB_NOSYNC) and the map that grows when
 * full.  Opening checks the data file and walks every record first.
 */
#include "config.h"

#include <sys/stat.h>

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

#define WRITE_TRIES	32

/* The read view handed out by rtxn: st->rtxn, as a kv_txn. */
struct lmdb_state {
	struct lmdb_txn	 r;
};

struct lmdb_cursor {
	struct kv_cursor h;
	MDB_cursor	*c;
};

static const struct kv_engine lmdb_kv;
static size_t initial_mapsize = STORE_MAPSIZE;

/* Lets the tests start with a tiny map to exercise its growth. */
void
store_set_initial_mapsize(size_t sz)
{
	initial_mapsize = sz;
}

void
kv_lmdb_wrap(struct lmdb_txn *t, struct store *st, MDB_txn *txn, int write)
{
	t->h.e = &lmdb_kv;
	t->h.st = st;
	t->h.write = write;
	t->txn = txn;
}

/* The LMDB database of a table (also for store_check.c's own reads). */
MDB_dbi
kv_lmdb_dbi(const struct store *st, enum kv_table tb)
{
	switch (tb) {
	case KV_SECRETS:
		return st->db_secrets;
	case KV_VERSIONS:
		return st->db_versions;
	case KV_TOKENS:
		return st->db_tokens;
	case KV_TOKEN_IDS:
		return st->db_token_ids;
	case KV_TOKEN_OWNERS:
		return st->db_token_owners;
	case KV_TOKEN_CHILDREN:
		return st->db_token_children;
	case KV_USAGE:
		return st->db_usage;
	case KV_KEYRING:
		return st->db_keyring;
	case KV_META:
	default:
		return st->db_meta;
	}
}

static MDB_txn *
mtxn(struct kv_txn *t)
{
	return ((struct lmdb_txn *)t)->txn;
}

static int
lmdb_get(struct kv_txn *t, enum kv_table tb, const MDB_val *k, MDB_val *v)
{
	return mdb_get(mtxn(t), kv_lmdb_dbi(t->st, tb), (MDB_val *)k, v);
}

static int
lmdb_put(struct kv_txn *t, enum kv_table tb, const MDB_val *k, MDB_val *v,
    unsigned int flags)
{
	return mdb_put(mtxn(t), kv_lmdb_dbi(t->st, tb), (MDB_val *)k, v,
	    (flags & KV_RESERVE) ? MDB_RESERVE : 0);
}

static int
lmdb_del(struct kv_txn *t, enum kv_table tb, const MDB_val *k)
{
	return mdb_del(mtxn(t), kv_lmdb_dbi(t->st, tb), (MDB_val *)k, NULL);
}

static int
lmdb_cursor_open(struct kv_txn *t, enum kv_table tb, struct kv_cursor **cp)
{
	struct lmdb_cursor *c;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ENOMEM;
	if ((rc = mdb_cursor_open(mtxn(t), kv_lmdb_dbi(t->st, tb), &c->c)) != 0) {
		free(c);
		return rc;
	}
	c->h.e = &lmdb_kv;
	c->h.txn = t;
	*cp = &c->h;
	return 0;
}

static int
lmdb_cursor_get(struct kv_cursor *kc, MDB_val *k, MDB_val *v, enum kv_op op)
{
	struct lmdb_cursor *c = (struct lmdb_cursor *)kc;

	switch (op) {
	case KV_FIRST:
		return mdb_cursor_get(c->c, k, v, MDB_FIRST);
	case KV_SET_RANGE:
		return mdb_cursor_get(c->c, k, v, MDB_SET_RANGE);
	case KV_NEXT:
	default:
		return mdb_cursor_get(c->c, k, v, MDB_NEXT);
	}
}

static int
lmdb_cursor_put(struct kv_cursor *kc, MDB_val *v, unsigned int flags)
{
	struct lmdb_cursor *c = (struct lmdb_cursor *)kc;
	uint8_t kb[512];
	MDB_val k, cur;
	int rc;

	/* the current key points into the map, which the put may change */
	if ((rc = mdb_cursor_get(c->c, &k, &cur, MDB_GET_CURRENT)) != 0)
		return rc;
	if (k.mv_size > sizeof(kb))
		return MDB_BAD_VALSIZE;
	memcpy(kb, k.mv_data, k.mv_size);
	k.mv_data = kb;
	return mdb_cursor_put(c->c, &k, v, MDB_CURRENT |
	    ((flags & KV_RESERVE) ? MDB_RESERVE : 0));
}

static int
lmdb_cursor_del(struct kv_cursor *kc)
{
	return mdb_cursor_del(((struct lmdb_cursor *)kc)->c, 0);
}

static void
lmdb_cursor_close(struct kv_cursor *kc)
{
	struct lmdb_cursor *c = (struct lmdb_cursor *)kc;

	mdb_cursor_close(c->c);
	free(c);
}

static const struct kv_engine lmdb_kv = {
	.name = "lmdb",
	.get = lmdb_get,
	.put = lmdb_put,
	.del = lmdb_del,
	.cursor_open = lmdb_cursor_open,
	.cursor_get = lmdb_cursor_get,
	.cursor_put = lmdb_cursor_put,
	.cursor_del = lmdb_cursor_del,
	.cursor_close = lmdb_cursor_close,
};

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

	if (sz > STORE_MAPSIZE_LIMIT || map_adopt(st, sz) != 0)
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

static int
lmdb_rtxn(struct store *st, struct kv_txn **txn)
{
	struct lmdb_state *ls = st->eng_data;
	int rc = 0, i, checked = 0;

	for (i = 0; i < 2; i++) {
		if (st->rtxn == NULL)
			rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &st->rtxn);
		else
			rc = mdb_txn_renew(st->rtxn);
		if (rc == 0) {
			kv_lmdb_wrap(&ls->r, st, st->rtxn, 0);
			*txn = &ls->r.h;
			return ST_OK;
		}
		rtxn_drop(st);
		if (txn_recover(st, rc, &checked) == -1)
			break;
	}
	return store_mdb_err(rc);
}

static void
lmdb_rtxn_done(struct store *st)
{
	if (st->rtxn != NULL)
		mdb_txn_reset(st->rtxn);
}

/*
 * Runs fn in one write transaction and commits it durably.  A full map
 * is grown and the whole transaction retried; a full reader table is
 * cleaned of dead readers and retried once.
 */
static int
lmdb_write(struct store *st, store_txn_fn fn, void *arg)
{
	struct lmdb_txn t;
	MDB_txn *txn;
	int rc, err, i, checked = 0;

	for (i = 0; i < WRITE_TRIES; i++) {
		err = ST_OK;
		if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) == 0) {
			kv_lmdb_wrap(&t, st, txn, 1);
			rc = fn(st, &t.h, arg, &err);
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

/* The group commit: LMDB commits at once, done is called before return. */
static int
lmdb_write_start(struct store *st, store_txn_fn fn, void *arg,
    store_done_fn done, void *done_arg)
{
	done(done_arg, lmdb_write(st, fn, arg));
	return ST_OK;
}

static void
lmdb_close(struct store *st)
{
	rtxn_drop(st);
	if (st->env != NULL)
		mdb_env_close(st->env);
	st->env = NULL;
	free(st->eng_data);
	st->eng_data = NULL;
}

static int
lmdb_state_new(struct store *st)
{
	if (st->eng_data == NULL &&
	    (st->eng_data = calloc(1, sizeof(struct lmdb_state))) == NULL)
		return ST_NOMEM;
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
create_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	int rc;

	(void)arg;
	(void)err;
	if ((rc = dbis_open(st, mtxn(txn), MDB_CREATE)) != 0 ||
	    (rc = dbis_open_v2(st, mtxn(txn), MDB_CREATE)) != 0 ||
	    (rc = dbis_open_v3(st, mtxn(txn), MDB_CREATE)) != 0)
		return rc;
	return store_seed(st, txn);
}

static int
path_in(char *buf, size_t len, const char *dir, const char *file)
{
	int n = snprintf(buf, len, "%s/%s", dir, file);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Creates a store in conf->dir; an existing data file is never touched. */
static int
lmdb_create(struct store *st, const struct store_conf *conf)
{
	char data[PATH_MAX], lock[PATH_MAX];
	const char *dir = conf->dir;
	int fd, ret;

	if (dir == NULL)
		return ST_INVALID;
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
	if ((ret = lmdb_state_new(st)) != ST_OK)
		goto fail;
	if ((ret = env_open(st, dir, 1, 0)) != ST_OK)
		goto fail;
	if ((ret = lmdb_write(st, create_txn, NULL)) != ST_OK)
		goto fail;
	if (sync_dir_of(data) == -1) {
		log_warn("%s: %s", __func__, dir);
		ret = ST_IO;
		goto fail;
	}
	return ST_OK;
fail:
	lmdb_close(st);
	unlink(data);
	unlink(lock);
	return ret;
}

/* The store's schema (*schema: what it is) and the root key's check. */
static int
meta_check(struct store *st, MDB_txn *txn, MDB_dbi db, uint32_t *schema)
{
	MDB_val sk = { 6, "schema" }, k = { 8, "keycheck" }, sv, v;
	int rc;

	if ((rc = mdb_get(txn, db, &sk, &sv)) != 0 ||
	    (rc = mdb_get(txn, db, &k, &v)) != 0) {
		log_warnx("%s: not a secretd store: %s", __func__,
		    mdb_strerror(rc));
		return rc == MDB_NOTFOUND ? ST_CORRUPT : store_mdb_err(rc);
	}
	return store_meta_verify(st, &sv, &v, schema);
}

/*
 * Checks the key in a read-only, lock-free look at the data file, so that
 * a wrong key changes not one byte, not even in LMDB's lock file.  A
 * writer in another process could at worst make this look fail.
 */
static int
precheck(struct store *st, const char *dir)
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
		ret = meta_check(st, txn, db, &schema);
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
upgrade_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	const uint32_t *from = arg;
	int rc;

	if (*from < 2 && ((rc = dbis_open_v2(st, mtxn(txn), MDB_CREATE)) != 0 ||
	    (rc = token_index_build(st, txn)) != 0 ||
	    (rc = usage_build(st, txn)) != 0))
		return rc;
	if ((rc = dbis_open_v3(st, mtxn(txn), MDB_CREATE)) != 0)
		return rc;
	if (*from < STORE_SCHEMA_MAC && ((rc = store_mac_add_all(st, txn,
	    KV_TOKENS, "tokens", token_value_check)) != 0 ||
	    (*from >= 2 && (rc = store_mac_add_all(st, txn, KV_USAGE,
	    "usage", usage_value_check)) != 0)))
		return rc;
	(void)err;
	return meta_put_u32(txn, "schema", STORE_SCHEMA);
}

static int
store_upgrade(struct store *st, const char *dir, uint32_t from)
{
	int ret;

	if ((ret = lmdb_write(st, upgrade_txn, &from)) != ST_OK) {
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
open_txn(struct store *st, uint32_t *schema)
{
	struct lmdb_txn t;
	MDB_txn *txn;
	int rc, ret;

	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
		return store_mdb_err(rc);
	if ((rc = dbis_open(st, txn, 0)) != 0)
		ret = rc == MDB_NOTFOUND ? ST_CORRUPT : store_mdb_err(rc);
	else if ((ret = meta_check(st, txn, st->db_meta, schema)) ==
	    ST_OK && ((*schema >= 2 && (rc = dbis_open_v2(st, txn, 0)) != 0) ||
	    (*schema >= 3 && (rc = dbis_open_v3(st, txn, 0)) != 0)))
		ret = rc == MDB_NOTFOUND ? ST_CORRUPT : store_mdb_err(rc);
	kv_lmdb_wrap(&t, st, txn, 0);
	if (ret == ST_OK)
		ret = keyring_load(st, &t.h);
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

static int
lmdb_open(struct store *st, const struct store_conf *conf)
{
	char data[PATH_MAX];
	const char *dir = conf->dir;
	struct store_report rep;
	struct stat sb;
	uint64_t last_pg;
	uint32_t schema = 0, psize;
	off_t size;
	int ret;

	memset(&rep, 0, sizeof(rep));
	if (dir == NULL)
		return ST_INVALID;
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
	if ((ret = precheck(st, dir)) != ST_OK)
		return ret;
	if ((ret = lmdb_state_new(st)) != ST_OK)
		return ret;
	if ((st->dir = strdup(dir)) == NULL)
		return ST_NOMEM;
	if ((ret = env_open(st, dir, 0, 0)) != ST_OK ||
	    (ret = open_txn(st, &schema)) != ST_OK ||
	    (ret = store_walk_all(st, data, psize, 0, &rep)) != ST_OK)
		return ret;
	if (schema != STORE_SCHEMA &&
	    (ret = store_upgrade(st, dir, schema)) != ST_OK)
		return ret;
	return ST_OK;
}

/*
 * secretd verify: read-only, beside a running broker or not.  Checks the
 * file, the key, the schema and the keyring, then opens every value.
 * st is fresh from store_alloc; the caller closes it.
 */
int
store_verify_lmdb(struct store *st, const char *dir, struct store_report *r)
{
	char data[PATH_MAX];
	uint64_t last_pg;
	uint32_t psize, schema = 0;
	off_t size;
	int ret;

	if (path_in(data, sizeof(data), dir, "data.mdb") == -1)
		return ST_INVALID;
	if ((ret = store_file_check(data, r, &last_pg, &psize, &size)) !=
	    ST_OK)
		return ret;
	if ((ret = precheck(st, dir)) != ST_OK)
		return ret;
	if ((ret = lmdb_state_new(st)) != ST_OK ||
	    (ret = env_open(st, dir, 0, MDB_RDONLY)) != ST_OK ||
	    (ret = open_txn(st, &schema)) != ST_OK)
		return ret;
	r->schema = schema;
	r->active_key = st->ring.active;
	r->nkeys = st->ring.n;
	return store_walk_all(st, data, psize, 1, r);
}

static size_t
lmdb_count_secrets(struct store *st)
{
	struct kv_txn *t;
	MDB_stat ms;
	size_t n = 0;

	if (lmdb_rtxn(st, &t) != ST_OK)
		return 0;
	if (mdb_stat(mtxn(t), st->db_secrets, &ms) == 0)
		n = ms.ms_entries;
	lmdb_rtxn_done(st);
	return n;
}

/* The data file's size on disk, for operators; 0 when unknown. */
static uint64_t
lmdb_size_bytes(struct store *st)
{
	struct stat sb;
	int fd;

	if (st->env == NULL || mdb_env_get_fd(st->env, &fd) != 0 ||
	    fstat(fd, &sb) == -1)
		return 0;
	return (uint64_t)sb.st_size;
}

/* LMDB answers every read at once: no waves, nothing to poll. */
static uint64_t
lmdb_wave(struct store *st)
{
	(void)st;
	return 0;
}

static void
lmdb_run_begin(struct store *st, uint64_t w, int last)
{
	(void)st;
	(void)w;
	(void)last;
}

static int
lmdb_run_missed(struct store *st)
{
	(void)st;
	return 0;
}

static int
lmdb_wave_ready(struct store *st, uint64_t w)
{
	(void)st;
	(void)w;
	return 1;
}

static int
lmdb_pollfds(struct store *st, struct pollfd *pfd, int max)
{
	(void)st;
	(void)pfd;
	(void)max;
	return 0;
}

static void
lmdb_io(struct store *st, const struct pollfd *pfd, int n)
{
	(void)st;
	(void)pfd;
	(void)n;
}

static int
lmdb_timeout_ms(struct store *st)
{
	(void)st;
	return -1;
}

const struct store_engine store_lmdb_engine = {
	.name = "lmdb",
	.kv = &lmdb_kv,
	.create = lmdb_create,
	.open = lmdb_open,
	.close = lmdb_close,
	.rtxn = lmdb_rtxn,
	.rtxn_done = lmdb_rtxn_done,
	.write = lmdb_write,
	.write_start = lmdb_write_start,
	.wave = lmdb_wave,
	.run_begin = lmdb_run_begin,
	.run_missed = lmdb_run_missed,
	.wave_ready = lmdb_wave_ready,
	.pollfds = lmdb_pollfds,
	.io = lmdb_io,
	.timeout_ms = lmdb_timeout_ms,
	.count_secrets = lmdb_count_secrets,
	.size_bytes = lmdb_size_bytes,
};
