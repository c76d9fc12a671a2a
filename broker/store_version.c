/*
 * The kept old versions of each secret: one database of their sealed
 * records, stored verbatim as they were when current, keyed by the
 * storage key, a NUL (which no name holds, so one name's versions never
 * mix with a longer name's) and the big-endian version.  The record's
 * additional data binds name, owner, scope, org and version as before,
 * so a version moved to another key fails to open.  The current record
 * stays alone in the secrets database: reads and lists never come here.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "log.h"
#include "store_int.h"

struct vkey {
	uint8_t		 buf[SKEY_MAX + 5];
	size_t		 len;
};

static void
vkey_build(struct vkey *vk, const struct skey *sk, uint32_t version)
{
	memcpy(vk->buf, sk->buf, sk->len);
	vk->buf[sk->len] = '\0';
	be32_put(vk->buf + sk->len + 1, version);
	vk->len = sk->len + 5;
}

/* Whether k is one of sk's versions; its version in *version. */
static int
vkey_of(const MDB_val *k, const struct skey *sk, uint32_t *version)
{
	const uint8_t *p = k->mv_data;

	if (k->mv_size != sk->len + 5 || memcmp(p, sk->buf, sk->len) != 0 ||
	    p[sk->len] != '\0')
		return 0;
	*version = be32_get(p + sk->len + 1);
	return 1;
}

/* Drops sk's versions older than cut. */
static int
drop_below(struct store *st, struct kv_txn *txn, const struct skey *sk,
    uint64_t cut)
{
	struct vkey start;
	struct kv_cursor *c;
	MDB_val k, v;
	uint32_t version;
	int rc;

	vkey_build(&start, sk, 0);
	if ((rc = kv_cursor_open(txn, KV_VERSIONS, &c)) != 0)
		return rc;
	/* from the start each time: a cursor after a delete is LMDB's
	   least certain state, and few versions go at once */
	for (;;) {
		k.mv_size = start.len;
		k.mv_data = start.buf;
		if ((rc = kv_cursor_get(c, &k, &v, KV_SET_RANGE)) != 0)
			break;
		if (!vkey_of(&k, sk, &version) || version >= cut)
			break;
		if ((rc = kv_cursor_del(c)) != 0)
			break;
	}
	kv_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * The record old (version old_version) is about to be replaced by the
 * next version: keep it, sealed as it is, and drop what falls outside
 * the keep newest (the new current one included).
 */
int
version_keep(struct store *st, struct kv_txn *txn, const struct skey *sk,
    const MDB_val *old, uint32_t old_version, uint32_t keep)
{
	struct vkey vk;
	MDB_val k, v = *old;
	int rc;

	if (keep > 1) {
		vkey_build(&vk, sk, old_version);
		k.mv_size = vk.len;
		k.mv_data = vk.buf;
		if ((rc = kv_put(txn, KV_VERSIONS, &k, &v, 0)) != 0)
			return rc;
	}
	/* the versions kept now are old_version + 2 - keep and newer */
	if ((uint64_t)old_version + 2 <= keep)
		return 0;
	return drop_below(st, txn, sk, (uint64_t)old_version + 2 - keep);
}

int
version_drop_all(struct store *st, struct kv_txn *txn, const struct skey *sk)
{
	return drop_below(st, txn, sk, UINT64_MAX);
}

/* Opens kept version into out (VALUE_MAX_LEN bytes); *len its length. */
int
version_open(struct store *st, struct kv_txn *txn, const struct skey *sk,
    uint32_t version, struct secret_meta *meta, uint8_t *out, size_t *len)
{
	struct record_view rv;
	struct vkey vk;
	MDB_val k, v, skv = { sk->len, (void *)sk->buf };
	int rc, ret;

	vkey_build(&vk, sk, version);
	k.mv_size = vk.len;
	k.mv_data = vk.buf;
	if ((rc = kv_get(txn, KV_VERSIONS, &k, &v)) == MDB_NOTFOUND)
		return ST_NOVERSION;
	if (rc != 0)
		return store_mdb_err(rc);
	if (record_parse(v.mv_data, v.mv_size, sk->buf, sk->len, &rv) == -1 ||
	    rv.meta.version != version)
		return ST_CORRUPT;
	if ((ret = store_record_open(st, txn, &skv, &v, meta, out)) != ST_OK)
		return ret;
	*len = rv.ct_len - SEAL_TAG_LEN;
	return ST_OK;
}

/*
 * For the store's walk: a kept version decodes under its secret's
 * storage key (returned in skey, pointing into k), names the version its
 * key does, and is older than that secret's current record.  NULL, or
 * what is wrong.
 */
const char *
version_record_check(struct kv_txn *txn, const MDB_val *k, const MDB_val *v,
    struct record_view *rv, MDB_val *skey)
{
	struct record_view cur;
	const uint8_t *p = k->mv_data;
	MDB_val cv;
	size_t n;
	int rc;

	if (k->mv_size < 6 || (n = k->mv_size - 5) > SKEY_MAX || p[n] != '\0')
		return "has a malformed key";
	skey->mv_size = n;
	skey->mv_data = (void *)p;
	if (record_parse(v->mv_data, v->mv_size, p, n, rv) == -1)
		return "does not decode";
	if (rv->meta.version != be32_get(p + n + 1))
		return "names another version than its key";
	if ((rc = kv_get(txn, KV_SECRETS, skey, &cv)) == MDB_NOTFOUND)
		return "is a version of a secret that does not exist";
	if (rc != 0)
		return "could not be compared with its secret (read failed)";
	if (record_parse(cv.mv_data, cv.mv_size, p, n, &cur) == -1 ||
	    cur.meta.version <= rv->meta.version)
		return "is not older than its secret's current version";
	return NULL;
}

/* The current record of name, authenticated; its value left sealed. */
static int
current_get(struct store *st, struct kv_txn *txn, const struct skey *sk,
    MDB_val *v, struct secret_meta *meta)
{
	MDB_val k = { sk->len, (void *)sk->buf };
	int rc;

	if ((rc = kv_get(txn, KV_SECRETS, &k, v)) != 0)
		return store_mdb_err(rc);
	return store_record_open(st, txn, &k, v, meta, NULL);
}

static void
version_of(struct secret_version *out, const struct secret_meta *m)
{
	out->version = m->version;
	out->created_at = m->updated_at;
	memcpy(out->created_by, m->updated_by, sizeof(out->created_by));
}

/* The kept versions older than cur, newest first, into out[*n..max). */
static int
versions_walk(struct store *st, struct kv_txn *txn, const struct skey *sk,
    const struct secret_meta *cur, struct secret_version *out, size_t max,
    size_t *n)
{
	struct secret_meta m;
	struct secret_version t;
	struct vkey vk;
	struct kv_cursor *c;
	MDB_val k, v, skv = { sk->len, (void *)sk->buf };
	size_t first = *n, room = max - *n, i;
	uint32_t version;
	int rc, ret = ST_OK;

	if (*n >= max)
		return ST_OK;
	if ((rc = kv_cursor_open(txn, KV_VERSIONS, &c)) != 0)
		return store_mdb_err(rc);
	/* engines walk forwards only: from the oldest version that fits */
	vkey_build(&vk, sk, cur->version > room ? cur->version - room : 0);
	k.mv_size = vk.len;
	k.mv_data = vk.buf;
	for (rc = kv_cursor_get(c, &k, &v, KV_SET_RANGE); rc == 0 && *n < max;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT)) {
		if (!vkey_of(&k, sk, &version) || version >= cur->version)
			break;
		if ((ret = store_record_open(st, txn, &skv, &v, &m, NULL)) !=
		    ST_OK)
			break;
		if (m.version != version) {
			ret = ST_CORRUPT;
			break;
		}
		version_of(&out[(*n)++], &m);
	}
	kv_cursor_close(c);
	if (ret == ST_OK && rc != 0 && rc != MDB_NOTFOUND)
		ret = store_mdb_err(rc);
	for (i = 0; i < (*n - first) / 2; i++) {
		t = out[first + i];
		out[first + i] = out[*n - 1 - i];
		out[*n - 1 - i] = t;
	}
	return ret;
}

/*
 * The kept versions of a secret, newest (the current one, whose metadata
 * goes to cur) first, at most max of them (versions_kept): ST_NOTFOUND
 * when the secret does not exist.
 * Every record listed authenticates; no value is opened.
 */
int
store_secret_versions(struct store *st, const char *org, int scope,
    const char *owner, const char *name, struct secret_meta *cur,
    struct secret_version *out, size_t max, size_t *n)
{
	struct skey sk;
	struct kv_txn *txn;
	MDB_val v;
	int ret;

	*n = 0;
	if (max < 1 || skey_build(&sk, org, scope, owner, name) == -1)
		return ST_INVALID;
	if ((ret = store_rtxn(st, &txn)) != ST_OK)
		return ret;
	if ((ret = current_get(st, txn, &sk, &v, cur)) == ST_OK) {
		version_of(&out[(*n)++], cur);
		ret = versions_walk(st, txn, &sk, cur, out, max, n);
	}
	store_rtxn_done(st);
	if (ret != ST_OK)
		*n = 0;
	return ret;
}

/*
 * Reveals one kept version (the current one too) into the store's
 * guarded buffer, as store_secret_get does.  A version outside the keep
 * newest is not kept, even if not yet dropped.
 */
int
store_secret_version_get(struct store *st, const char *org, int scope,
    const char *owner, const char *name, uint32_t version, uint32_t keep,
    struct secret_meta *meta, struct secret_value *val)
{
	struct secret_meta cur, m;
	struct record_view rv;
	struct skey sk;
	struct kv_txn *txn;
	MDB_val v, skv;
	int ret;

	val->data = NULL;
	val->len = 0;
	if (skey_build(&sk, org, scope, owner, name) == -1)
		return ST_INVALID;
	skv.mv_size = sk.len;
	skv.mv_data = sk.buf;
	if ((ret = store_rtxn(st, &txn)) != ST_OK)
		return ret;
	if ((ret = current_get(st, txn, &sk, &v, &cur)) != ST_OK)
		goto done;
	if (version == cur.version) {
		if (record_parse(v.mv_data, v.mv_size, sk.buf, sk.len,
		    &rv) == -1) {
			ret = ST_CORRUPT;
			goto done;
		}
		val->len = rv.ct_len - SEAL_TAG_LEN;
		ret = store_record_open(st, txn, &skv, &v, &m, st->reveal);
	} else if (version > cur.version ||
	    (uint64_t)version + keep <= cur.version)
		ret = ST_NOVERSION;
	else
		ret = version_open(st, txn, &sk, version, &m, st->reveal,
		    &val->len);
done:
	store_rtxn_done(st);
	if (ret == ST_OK) {
		val->data = st->reveal;
		*meta = m;
	} else {
		sodium_memzero(st->reveal, VALUE_MAX_LEN);
		val->len = 0;
	}
	return ret;
}
