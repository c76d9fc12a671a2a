/*
 * Group commit for the broker's store: a batch of writes applied in one
 * write transaction of the engine and one durable commit.  An op's own
 * refusal (invalid, missing) never aborts the others; an engine failure
 * fails all.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "store_int.h"

/*
 * One group commit.  The body may run more than once (store_engine.h)
 * and ops are both its input and its output (a put fills meta): saved
 * holds them as the caller gave them, and every run after the first
 * starts again from it.
 */
struct commit {
	struct store_op	*ops;
	size_t		 n;
	uint64_t	 now;
	struct store_op	*saved;
	unsigned int	 runs;
	void		(*done)(void *, int);
	void		*arg;
};

static int
terminated(const char *s, size_t size)
{
	return strnlen(s, size) < size;
}

static int
put_valid(const struct store_op *op)
{
	const struct secret_meta *m = &op->meta;

	if (!terminated(m->name, sizeof(m->name)) ||
	    !terminated(m->user_id, sizeof(m->user_id)) ||
	    !terminated(m->org_id, sizeof(m->org_id)) ||
	    !terminated(m->category, sizeof(m->category)) ||
	    !terminated(m->updated_by, sizeof(m->updated_by)) ||
	    (op->has_description &&
	    !terminated(m->description, sizeof(m->description))))
		return 0;
	if (m->category[0] != '\0' && !valid_category(m->category))
		return 0;
	if (!valid_id(m->updated_by, strlen(m->updated_by)))
		return 0;
	return op->keep <= VERSIONS_MAX &&
	    op->value != NULL && op->value_len > 0 &&
	    op->value_len <= VALUE_MAX_LEN;
}

/* How many versions a write keeps, the new one included: 0 means 1. */
static uint32_t
op_keep(const struct store_op *op)
{
	return op->keep == 0 ? 1 : op->keep;
}

static int
op_skey(const struct store_op *op, struct skey *k)
{
	const struct secret_meta *m = &op->meta;

	if (!terminated(m->name, sizeof(m->name)) ||
	    !terminated(m->user_id, sizeof(m->user_id)) ||
	    !terminated(m->org_id, sizeof(m->org_id)))
		return -1;
	return skey_of_meta(k, m);
}

/*
 * Fills the final metadata from the caller's fields and the existing
 * record.  The result, fed back as input, gives the same result: that
 * is what lets store_write retry the whole batch after growing the map.
 */
static void
put_meta(struct store_op *op, const struct secret_meta *old, uint64_t now)
{
	struct secret_meta *m = &op->meta;

	if (old != NULL) {
		m->version = old->version + 1;
		m->created_at = old->created_at;
		memcpy(m->created_by, old->created_by, sizeof(m->created_by));
		if (m->category[0] == '\0')
			memcpy(m->category, old->category,
			    sizeof(m->category));
		if (!op->has_description)
			memcpy(m->description, old->description,
			    sizeof(m->description));
		if (!op->has_expires)
			m->expires_at = old->expires_at;
	} else {
		m->version = 1;
		m->created_at = now;
		memcpy(m->created_by, m->updated_by, sizeof(m->created_by));
		if (m->category[0] == '\0')
			strncpy(m->category, "custom", sizeof(m->category));
		if (!op->has_description)
			m->description[0] = '\0';
		if (!op->has_expires)
			m->expires_at = 0;
	}
	m->updated_at = now;
}

#define USAGE_LEN	12		/* be32 count, be64 bytes */

static int	usage_key(struct skey *, const struct secret_meta *);

/* What a record takes against its owner's bytes: value and description. */
static int64_t
record_bytes(const struct record_view *rv)
{
	return (int64_t)(rv->ct_len - SEAL_TAG_LEN) +
	    (int64_t)strlen(rv->meta.description);
}

/* The count a record adds to, and what it adds to its bytes (verify). */
int
usage_of_record(const struct record_view *rv, struct skey *k,
    uint64_t *bytes)
{
	*bytes = (uint64_t)record_bytes(rv);
	return usage_key(k, &rv->meta);
}

/* A stored count's figures; v has passed its check. */
void
usage_decode(const MDB_val *v, struct store_usage *u)
{
	const uint8_t *p = v->mv_data;

	u->count = be32_get(p);
	u->bytes = (uint64_t)be32_get(p + 4) << 32 | be32_get(p + 8);
}

/* An untagged count as a schema 2 or 3 store kept it. */
int
usage_value_check(const MDB_val *k, const MDB_val *v)
{
	(void)k;
	return v->mv_size == USAGE_LEN ? 0 : -1;
}

/* A tagged count (k the owner prefix, v as stored): NULL or why not. */
const char *
usage_record_check(struct store *st, const MDB_val *k, const MDB_val *v)
{
	size_t len;

	if (store_mac_check(st, "usage", k, v, &len) == -1)
		return "fails its MAC (edited without the root key)";
	return len == USAGE_LEN ? NULL : "has a bad length";
}

/* An owner's count; none is zero.  A count failing its tag is damage. */
int
usage_read(struct store *st, struct kv_txn *txn, const struct skey *k,
    struct store_usage *u)
{
	MDB_val kv = { k->len, (void *)k->buf }, v;
	const char *why;
	int rc;

	memset(u, 0, sizeof(*u));
	if ((rc = kv_get(txn, KV_USAGE, &kv, &v)) == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if ((why = usage_record_check(st, &kv, &v)) != NULL) {
		log_warnx("%s: a usage count %s: refused; restore the store "
		    "from a backup", __func__, why);
		return MDB_CORRUPTED;
	}
	usage_decode(&v, u);
	return 0;
}

static int
usage_key(struct skey *k, const struct secret_meta *m)
{
	return skey_prefix(k, m->org_id, m->scope,
	    m->scope == SCOPE_ORG ? NULL : m->user_id);
}

/* Adds count secrets and bytes of values to m's owner (may be negative). */
int
usage_add(struct store *st, struct kv_txn *txn, const struct secret_meta *m,
    int64_t count, int64_t bytes)
{
	struct store_usage u;
	struct skey k;
	uint8_t b[USAGE_LEN];
	MDB_val kv;
	int rc;

	if (usage_key(&k, m) == -1)
		return MDB_BAD_VALSIZE;
	if ((rc = usage_read(st, txn, &k, &u)) != 0)
		return rc;
	u.count = (int64_t)u.count + count < 0 ? 0 : u.count + count;
	u.bytes = (int64_t)u.bytes + bytes < 0 ? 0 : u.bytes + bytes;
	kv.mv_size = k.len;
	kv.mv_data = k.buf;
	if (u.count == 0) {
		rc = kv_del(txn, KV_USAGE, &kv);
		return rc == MDB_NOTFOUND ? 0 : rc;
	}
	be32_put(b, (uint32_t)u.count);
	be32_put(b + 4, (uint32_t)(u.bytes >> 32));
	be32_put(b + 8, (uint32_t)u.bytes);
	return store_mac_put(st, txn, KV_USAGE, "usage", &kv, b,
	    sizeof(b));
}

/* Whether adding count and bytes keeps m's owner within the op's limits. */
static int
within_quota(struct store *st, struct kv_txn *txn, const struct store_op *op,
    int64_t count, int64_t bytes, int *ok)
{
	struct store_usage u;
	struct skey k;
	int rc;

	*ok = 1;
	if (op->max_count == 0 && op->max_bytes == 0)
		return 0;
	if (usage_key(&k, &op->meta) == -1)
		return MDB_BAD_VALSIZE;
	if ((rc = usage_read(st, txn, &k, &u)) != 0)
		return rc;
	/* Only growth is refused: an owner over a lowered quota may shrink. */
	if (op->max_count != 0 && count > 0 &&
	    u.count + (uint64_t)count > op->max_count)
		*ok = 0;
	if (op->max_bytes != 0 && bytes > 0 &&
	    u.bytes + (uint64_t)bytes > op->max_bytes)
		*ok = 0;
	return 0;
}


/* Schema 1 stores kept no counts: count every record once. */
int
usage_build(struct store *st, struct kv_txn *txn)
{
	struct record_view rv;
	struct kv_cursor *c;
	MDB_val k, v;
	int rc;

	if ((rc = kv_cursor_open(txn, KV_SECRETS, &c)) != 0)
		return rc;
	for (rc = kv_cursor_get(c, &k, &v, KV_FIRST); rc == 0;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT)) {
		if (record_parse(v.mv_data, v.mv_size, k.mv_data, k.mv_size,
		    &rv) == -1) {
			rc = MDB_CORRUPTED;
			break;
		}
		if ((rc = usage_add(st, txn, &rv.meta, 1,
		    record_bytes(&rv))) != 0)
			break;
	}
	kv_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
op_put_secret(struct store *st, struct kv_txn *txn, struct store_op *op,
    uint64_t now)
{
	const struct data_key *active;
	struct secret_meta old;
	struct record_view orv;
	uint8_t menc[META_ENC_MAX];
	struct skey sk;
	MDB_val k, v;
	size_t mlen;
	int64_t dcount = 1, dbytes = 0;
	int rc, ok;

	if (!put_valid(op) || op_skey(op, &sk) == -1) {
		op->result = ST_INVALID;
		return 0;
	}
	k.mv_size = sk.len;
	k.mv_data = sk.buf;
	if ((rc = kv_get(txn, KV_SECRETS, &k, &v)) == 0) {
		if ((op->result = store_record_open(st, txn, &k, &v, &old,
		    NULL)) != ST_OK)
			return 0;
		if (old.version == UINT32_MAX) {
			op->result = ST_INVALID;
			return 0;
		}
		if (record_parse(v.mv_data, v.mv_size, k.mv_data, k.mv_size,
		    &orv) == -1) {
			op->result = ST_CORRUPT;
			return 0;
		}
		dcount = 0;
		dbytes = -record_bytes(&orv);
		put_meta(op, &old, now);
	} else if (rc == MDB_NOTFOUND) {
		op->created = 1;
		put_meta(op, NULL, now);
	} else
		return rc;
	/* the description is final only now: a rotation may keep it */
	dbytes += (int64_t)op->value_len +
	    (int64_t)strlen(op->meta.description);
	if ((rc = within_quota(st, txn, op, dcount, dbytes, &ok)) != 0)
		return rc;
	if (!ok) {
		op->result = ST_QUOTA;
		op->created = 0;
		return 0;
	}
	if ((mlen = meta_encode(&op->meta, menc, sizeof(menc))) == 0) {
		op->result = ST_INVALID;
		return 0;
	}
	/* the replaced record goes to the kept versions as it is */
	if (!op->created && (rc = version_keep(st, txn, &sk, &v,
	    op->meta.version - 1, op_keep(op))) != 0)
		return rc;
	if ((rc = usage_add(st, txn, &op->meta, dcount, dbytes)) != 0)
		return rc;
	v.mv_size = record_len(mlen, op->value_len);
	if ((rc = kv_put(txn, KV_SECRETS, &k, &v, KV_RESERVE)) != 0)
		return rc;
	/* only now: opening the old record may have reloaded the keyring */
	active = keyring_active(st);
	record_seal(v.mv_data, &sk, menc, mlen, active->id, active->key,
	    op->value, op->value_len);
	return 0;
}

static int
op_delete_secret(struct store *st, struct kv_txn *txn, struct store_op *op)
{
	struct record_view rv;
	struct skey sk;
	MDB_val k, v;
	int rc;

	if (op_skey(op, &sk) == -1) {
		op->result = ST_INVALID;
		return 0;
	}
	k.mv_size = sk.len;
	k.mv_data = sk.buf;
	if ((rc = kv_get(txn, KV_SECRETS, &k, &v)) == MDB_NOTFOUND) {
		op->result = ST_NOTFOUND;
		return 0;
	}
	if (rc != 0)
		return rc;
	/* the value need not open to be deleted, but its metadata must */
	if (record_parse(v.mv_data, v.mv_size, sk.buf, sk.len, &rv) == -1) {
		op->result = ST_CORRUPT;
		return 0;
	}
	op->meta = rv.meta;
	if ((rc = usage_add(st, txn, &rv.meta, -1, -record_bytes(&rv))) != 0 ||
	    (rc = version_drop_all(st, txn, &sk)) != 0)
		return rc;
	return kv_del(txn, KV_SECRETS, &k);
}

/*
 * A kept version's value becomes the next version: opened into the
 * store's guarded scratch buffer and sealed again by the put, all in
 * this transaction, so the value never leaves the broker's store code.
 */
static int
op_rollback_secret(struct store *st, struct kv_txn *txn, struct store_op *op,
    uint64_t now)
{
	struct secret_meta cur, m;
	struct skey sk;
	MDB_val k, v;
	size_t len = 0;
	int rc;

	if (op_skey(op, &sk) == -1 || op->from_version == 0) {
		op->result = ST_INVALID;
		return 0;
	}
	k.mv_size = sk.len;
	k.mv_data = sk.buf;
	if ((rc = kv_get(txn, KV_SECRETS, &k, &v)) == MDB_NOTFOUND) {
		op->result = ST_NOTFOUND;
		return 0;
	}
	if (rc != 0)
		return rc;
	if ((op->result = store_record_open(st, txn, &k, &v, &cur, NULL)) !=
	    ST_OK)
		return 0;
	if (op->from_version == cur.version) {
		op->result = ST_CONFLICT;
		return 0;
	}
	if (op->from_version > cur.version ||
	    (uint64_t)op->from_version + op_keep(op) <= cur.version) {
		op->result = ST_NOVERSION;
		return 0;
	}
	if ((op->result = version_open(st, txn, &sk, op->from_version, &m,
	    st->scratch, &len)) != ST_OK)
		return 0;
	/* the value changes, nothing else: category, description and
	   expiry stay the current version's */
	op->meta.category[0] = '\0';
	op->has_description = 0;
	op->has_expires = 0;
	op->value = st->scratch;
	op->value_len = len;
	rc = op_put_secret(st, txn, op, now);
	sodium_memzero(st->scratch, len);
	op->value = NULL;
	op->value_len = 0;
	return rc;
}

static int
commit_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	struct commit *cm = arg;
	struct store_op *op;
	size_t i;
	int rc = 0, missed = 0;

	if (cm->runs++ > 0)
		memcpy(cm->ops, cm->saved, cm->n * sizeof(*cm->ops));
	/*
	 * An op whose read is not there yet (KV_AGAIN) does not stop the
	 * run: the ops after it go on to their own first miss, so that one
	 * round trip fetches what the whole batch needs, not one op's.
	 * The run's writes are thrown away and it runs again.
	 */
	for (i = 0; i < cm->n && (rc == 0 || rc == KV_AGAIN); i++) {
		if (rc == KV_AGAIN)
			missed = 1;
		op = &cm->ops[i];
		op->result = ST_OK;
		op->created = 0;
		op->revoked = 0;
		switch (op->kind) {
		case STORE_PUT_SECRET:
			rc = op_put_secret(st, txn, op, cm->now);
			break;
		case STORE_DELETE_SECRET:
			rc = op_delete_secret(st, txn, op);
			break;
		case STORE_ROLLBACK_SECRET:
			rc = op_rollback_secret(st, txn, op, cm->now);
			break;
		case STORE_PUT_TOKEN:
			rc = token_op_put(st, txn, op, cm->now);
			break;
		case STORE_DELETE_TOKEN:
			rc = token_op_delete(st, txn, op);
			break;
		default:
			op->result = ST_INVALID;
			rc = 0;
			break;
		}
	}
	return rc == 0 && missed ? KV_AGAIN : rc;
}

static struct commit *
commit_new(struct store_op *ops, size_t n, void (*done)(void *, int),
    void *arg)
{
	struct commit *cm;

	if ((cm = calloc(1, sizeof(*cm))) == NULL ||
	    (cm->saved = calloc(n, sizeof(*ops))) == NULL) {
		free(cm);
		return NULL;
	}
	memcpy(cm->saved, ops, n * sizeof(*ops));
	cm->ops = ops;
	cm->n = n;
	cm->now = (uint64_t)time(NULL);
	cm->done = done;
	cm->arg = arg;
	return cm;
}

static void
commit_free(struct commit *cm)
{
	/* the ops name token hashes: not left in freed memory */
	sodium_memzero(cm->saved, cm->n * sizeof(*cm->saved));
	free(cm->saved);
	free(cm);
}

/* Failed as a whole: every op's result is the commit's error. */
static void
commit_failed(struct store_op *ops, size_t n, int ret)
{
	size_t i;

	log_warnx("store_commit: %zu writes failed: %s", n,
	    store_strerror(ret));
	for (i = 0; i < n; i++) {
		ops[i].result = ret;
		ops[i].created = 0;
	}
}

/* The engine's answer to a started commit. */
static void
commit_done(void *arg, int status)
{
	struct commit *cm = arg;

	if (status != ST_OK)
		commit_failed(cm->ops, cm->n, status);
	cm->done(cm->arg, status);
	commit_free(cm);
}

/*
 * Applies every op in one transaction and one durable commit.  Returns
 * ST_OK when the commit is on disk (each op's own outcome is in its
 * result); otherwise every op's result is the commit's error.
 */
int
store_commit(struct store *st, struct store_op *ops, size_t n)
{
	struct commit *cm;
	int ret;

	if (n == 0)
		return ST_OK;
	if ((cm = commit_new(ops, n, NULL, NULL)) == NULL)
		ret = ST_NOMEM;
	else
		ret = store_write(st, commit_txn, cm);
	if (ret != ST_OK)
		commit_failed(ops, n, ret);
	if (cm != NULL)
		commit_free(cm);
	return ret;
}

/*
 * The same, without waiting for the engine: done(arg, status) runs once
 * the commit is durable or failed (on LMDB before this returns), with
 * the ops' results as store_commit leaves them.  ops must stay until
 * then.  An error returned here means done will not run.
 */
int
store_commit_start(struct store *st, struct store_op *ops, size_t n,
    void (*done)(void *, int), void *arg)
{
	struct commit *cm;
	int ret;

	if (n == 0) {
		done(arg, ST_OK);
		return ST_OK;
	}
	if ((cm = commit_new(ops, n, done, arg)) == NULL) {
		commit_failed(ops, n, ST_NOMEM);
		return ST_NOMEM;
	}
	if ((ret = st->eng->write_start(st, commit_txn, cm, commit_done,
	    cm)) != ST_OK) {
		commit_failed(ops, n, ret);
		commit_free(cm);
	}
	return ret;
}
