/*
 * The broker's sealed store: the engine it runs on (kv_lmdb.c, or
 * kv_pg.c), its read views and write transactions, and the secret
 * records.  Never exits: every failure is an enum store_err for the
 * caller to act on.
 */
#include "config.h"

#include <sys/statvfs.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "store_int.h"

#define READ_POLL_FDS	8	/* an engine's descriptors, offline */

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

/* The one place engine (LMDB, errno, KV_*) codes become store errors. */
int
store_mdb_err(int rc)
{
	switch (rc) {
	case 0:
		return ST_OK;
	case KV_AGAIN:		/* the run is thrown away and made again */
	case KV_UNAVAILABLE:	/* the database is out of reach: 503 */
		return ST_BUSY;
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

int
store_rtxn(struct store *st, struct kv_txn **txn)
{
	return st->eng->rtxn(st, txn);
}

void
store_rtxn_done(struct store *st)
{
	st->eng->rtxn_done(st);
}

/* Runs fn in one write transaction, committed durably before return. */
int
store_write(struct store *st, store_txn_fn fn, void *arg)
{
	return st->eng->write(st, fn, arg);
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
	if (st->mapsize * 2 <= STORE_MAPSIZE_LIMIT && st->dir != NULL &&
	    statvfs(st->dir, &sv) == 0 &&
	    (uint64_t)sv.f_bavail * sv.f_frsize >= STORE_ROOM_MIN)
		st->full = 0;
	return st->full;
}

int
meta_get_u32(struct kv_txn *txn, const char *name, uint32_t *out)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	const uint8_t *p;
	int rc;

	if ((rc = kv_get(txn, KV_META, &k, &v)) != 0)
		return rc;
	if (v.mv_size != 4)
		return MDB_CORRUPTED;
	p = v.mv_data;
	*out = be32_get(p);
	return 0;
}

int
meta_put_u32(struct kv_txn *txn, const char *name, uint32_t val)
{
	uint8_t b[4];
	MDB_val k = { strlen(name), (void *)name }, v = { 4, b };

	be32_put(b, val);
	return kv_put(txn, KV_META, &k, &v, 0);
}

/* A new store's first records: its schema, the root key's check, key 1. */
int
store_seed(struct store *st, struct kv_txn *txn)
{
	MDB_val k = { 8, "keycheck" }, v = { sizeof(st->keycheck),
	    st->keycheck };
	int rc;

	if ((rc = meta_put_u32(txn, "schema", STORE_SCHEMA)) != 0 ||
	    (rc = kv_put(txn, KV_META, &k, &v, 0)) != 0)
		return rc;
	return keyring_init(st, txn);
}

/*
 * Whether the meta values "schema" and "keycheck" (as stored) are of a
 * store this secretd reads and the root key opens; *schema: what it is.
 */
int
store_meta_verify(struct store *st, const MDB_val *schema_v,
    const MDB_val *check_v, uint32_t *schema)
{
	if (schema_v->mv_size != 4) {
		log_warnx("%s: not a secretd store: a bad schema", __func__);
		return ST_CORRUPT;
	}
	*schema = be32_get(schema_v->mv_data);
	if (*schema < 1 || *schema > STORE_SCHEMA) {
		log_warnx("%s: unknown store schema %u", __func__, *schema);
		return ST_CORRUPT;
	}
	if (check_v->mv_size != sizeof(st->keycheck) ||
	    sodium_memcmp(check_v->mv_data, st->keycheck,
	    sizeof(st->keycheck)) != 0) {
		log_warnx("%s: the root key does not open this store",
		    __func__);
		return ST_BADKEY;
	}
	return ST_OK;
}

/*
 * Parses and authenticates one record.  The value is opened into out;
 * when out is NULL the record's tag is checked without opening the value
 * (record_verify): metadata is only ever returned from a record that
 * authenticates, and a read of metadata never decrypts a value.
 */
int
store_record_open(struct store *st, struct kv_txn *txn, const MDB_val *k,
    const MDB_val *v, struct secret_meta *meta, uint8_t *out)
{
	struct record_view rv;
	const uint8_t *key;
	int ret;

	if (record_parse(v->mv_data, v->mv_size, k->mv_data, k->mv_size,
	    &rv) == -1) {
		log_warnx("%s: a record does not decode", __func__);
		return ST_CORRUPT;
	}
	if ((ret = keyring_find(st, txn, rv.key_id, &key)) == ST_NOTFOUND) {
		log_warnx("%s: %s: data key %u is not in the keyring",
		    __func__, rv.meta.name, rv.key_id);
		return ST_CORRUPT;
	}
	if (ret != ST_OK)
		return ret;
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
	if (keyring_keycheck(root_key, st->keycheck) == -1) {
		*ret = ST_IO;
		return st;
	}
	st->scratch = sodium_malloc(VALUE_MAX_LEN);
	st->reveal = sodium_malloc(VALUE_MAX_LEN);
	if (st->scratch == NULL || st->reveal == NULL)
		*ret = ST_NOMEM;
	return st;
}

static const struct store_engine *
engine_of(int engine)
{
	switch (engine) {
	case STORE_LMDB:
		return &store_lmdb_engine;
#ifdef HAVE_LIBPQ
	case STORE_POSTGRESQL:
		return &store_pg_engine;
#endif
	default:
		log_warnx("store: engine %d is not built into this secretd",
		    engine);
		return NULL;
	}
}

/* Creates a store where conf says; an existing one is never touched. */
int
store_create_conf(const struct store_conf *conf, const uint8_t *root_key)
{
	const struct store_engine *eng;
	struct store *st;
	int ret;

	if (sodium_init() == -1)
		return ST_IO;
	if ((eng = engine_of(conf->engine)) == NULL)
		return ST_INVALID;
	if ((st = store_alloc(root_key, &ret)) != NULL && ret == ST_OK) {
		st->eng = eng;
		ret = eng->create(st, conf);
	}
	store_close(st);
	return ret;
}

int
store_open_conf(struct store **stp, const struct store_conf *conf,
    const uint8_t *root_key)
{
	const struct store_engine *eng;
	struct store *st;
	int ret;

	*stp = NULL;
	if (sodium_init() == -1)
		return ST_IO;
	if ((eng = engine_of(conf->engine)) == NULL)
		return ST_INVALID;
	if ((st = store_alloc(root_key, &ret)) == NULL || ret != ST_OK)
		goto fail;
	st->eng = eng;
	if ((ret = eng->open(st, conf)) != ST_OK)
		goto fail;
	*stp = st;
	return ST_OK;
fail:
	store_close(st);
	return ret;
}

static void
conf_lmdb(struct store_conf *conf, const char *dir)
{
	memset(conf, 0, sizeof(*conf));
	conf->engine = STORE_LMDB;
	conf->dir = dir;
}

/* Creates an LMDB store in dir; an existing data file is never touched. */
int
store_create(const char *dir, const uint8_t *root_key)
{
	struct store_conf conf;

	conf_lmdb(&conf, dir);
	return store_create_conf(&conf, root_key);
}

int
store_open(struct store **stp, const char *dir, const uint8_t *root_key)
{
	struct store_conf conf;

	conf_lmdb(&conf, dir);
	return store_open_conf(stp, &conf, root_key);
}

/*
 * secretd verify: read-only, beside a running broker or not.  Checks the
 * file, the key, the schema and the keyring, then opens every value.
 */
int
store_verify(const char *dir, const uint8_t *root_key,
    struct store_report *r)
{
	struct store *st;
	int ret;

	memset(r, 0, sizeof(*r));
	if (sodium_init() == -1)
		return ST_IO;
	if ((st = store_alloc(root_key, &ret)) != NULL && ret == ST_OK) {
		st->eng = &store_lmdb_engine;
		ret = store_verify_lmdb(st, dir, r);
	}
	store_close(st);
	return ret;
}

/* A read of the walk of a store that may miss: run until answered. */
struct offline_read {
	struct store	*st;
	int		 timeout_ms;
};

static int
offline_run(void *arg, store_read_fn fn, void *fnarg)
{
	struct offline_read *o = arg;

	return store_read_run(o->st, fn, fnarg, o->timeout_ms);
}

/*
 * secretd verify on the store conf names.  LMDB checks its file as
 * well (store_verify); a database is trusted with its pages, its
 * records walked as LMDB's are, every value opened.
 */
int
store_verify_conf(const struct store_conf *conf, const uint8_t *root_key,
    struct store_report *r)
{
	struct offline_read o;
	struct walk_engine we;
	struct store *st;
	int ret;

	if (conf->engine == STORE_LMDB)
		return store_verify(conf->dir, root_key, r);
	memset(r, 0, sizeof(*r));
	if ((ret = store_open_conf(&st, conf, root_key)) != ST_OK)
		return ret;
	r->schema = st->schema;
	r->active_key = st->ring.active;
	r->nkeys = st->ring.n;
	walk_tables_all(r);
	memset(&we, 0, sizeof(we));
	o.st = st;
	o.timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : 5000;
	we.run = offline_run;
	we.arg = &o;
	ret = store_records_walk(st, &we, 1, r);
	if (ret != ST_OK && r->bad_why[0] != '\0')
		log_warnx("store: damaged: a record in %s (key \"%s\") %s",
		    r->bad_db, r->bad_key, r->bad_why);
	store_close(st);
	return ret;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->eng != NULL)
		st->eng->close(st);
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
	return st->eng->count_secrets(st);
}

/* The data's size on disk (or in the database), for operators. */
uint64_t
store_size_bytes(struct store *st)
{
	return st->eng->size_bytes(st);
}

int
store_pollfds(struct store *st, struct pollfd *pfd, int max)
{
	return st->eng->pollfds(st, pfd, max);
}

void
store_io(struct store *st, const struct pollfd *pfd, int n)
{
	st->eng->io(st, pfd, n);
}

int
store_timeout_ms(struct store *st)
{
	return st->eng->timeout_ms(st);
}

uint64_t
store_wave(struct store *st)
{
	return st->eng->wave(st);
}

void
store_run_begin(struct store *st, uint64_t wave, int last)
{
	st->eng->run_begin(st, wave, last);
}

int
store_run_missed(struct store *st)
{
	return st->eng->run_missed(st);
}

int
store_wave_ready(struct store *st, uint64_t wave)
{
	return st->eng->wave_ready(st, wave);
}

const char *
store_engine_name(struct store *st)
{
	return st->eng->name;
}

static int
open_value(struct store *st, struct kv_txn *txn, const MDB_val *k,
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
	struct kv_txn *txn;
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
	if ((rc = kv_get(txn, KV_SECRETS, &k, &v)) != 0)
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
	struct kv_txn *txn;
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

static int
elapsed_ms(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int)((now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000);
}

/*
 * For offline commands (migrate, verify): fn over a read view of st,
 * run again while a read of it missed, the engine's fetches driven by
 * poll meanwhile; past timeout_ms the last
 * run answers what it has (a miss is then an error).  LMDB never
 * misses.  Returns a store_err.
 */
int
store_read_run(struct store *st, store_read_fn fn, void *arg, int timeout_ms)
{
	struct pollfd pfd[READ_POLL_FDS];
	struct timespec t0;
	struct kv_txn *t;
	uint64_t wave = store_wave(st);
	int rv, rc, n, wait, last = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		store_run_begin(st, wave, last);
		if ((rv = store_rtxn(st, &t)) != ST_OK)
			return rv;
		rc = fn(st, t, arg);
		store_rtxn_done(st);
		if (last || !store_run_missed(st))
			return store_mdb_err(rc);
		while (!store_wave_ready(st, wave) && !last) {
			n = store_pollfds(st, pfd, READ_POLL_FDS);
			wait = timeout_ms - elapsed_ms(&t0);
			if (wait <= 0) {
				last = 1;
				break;
			}
			if ((rc = store_timeout_ms(st)) >= 0 && rc < wait)
				wait = rc;
			if (poll(pfd, (nfds_t)n, wait) == -1 && errno != EINTR)
				return ST_IO;
			store_io(st, pfd, n);
		}
	}
}
