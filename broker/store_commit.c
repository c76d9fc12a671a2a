/*
 * Group commit for the broker's store: a batch of writes applied in one
 * LMDB write transaction and one durable commit.  An op's own refusal
 * (invalid, missing) never aborts the others; an LMDB failure fails all.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "log.h"
#include "store_int.h"

struct commit {
	struct store_op	*ops;
	size_t		 n;
	uint64_t	 now;
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
	return op->value != NULL && op->value_len > 0 &&
	    op->value_len <= VALUE_MAX_LEN;
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
	} else {
		m->version = 1;
		m->created_at = now;
		memcpy(m->created_by, m->updated_by, sizeof(m->created_by));
		if (m->category[0] == '\0')
			strncpy(m->category, "custom", sizeof(m->category));
		if (!op->has_description)
			m->description[0] = '\0';
	}
	m->updated_at = now;
}

static int
op_put_secret(struct store *st, MDB_txn *txn, struct store_op *op,
    uint64_t now)
{
	const struct data_key *active;
	struct secret_meta old;
	uint8_t menc[META_ENC_MAX];
	struct skey sk;
	MDB_val k, v;
	size_t mlen;
	int rc;

	if (!put_valid(op) || op_skey(op, &sk) == -1) {
		op->result = ST_INVALID;
		return 0;
	}
	k.mv_size = sk.len;
	k.mv_data = sk.buf;
	if ((rc = mdb_get(txn, st->db_secrets, &k, &v)) == 0) {
		if ((op->result = store_record_open(st, txn, &k, &v, &old,
		    NULL)) != ST_OK)
			return 0;
		if (old.version == UINT32_MAX) {
			op->result = ST_INVALID;
			return 0;
		}
		put_meta(op, &old, now);
	} else if (rc == MDB_NOTFOUND) {
		op->created = 1;
		put_meta(op, NULL, now);
	} else
		return rc;
	if ((mlen = meta_encode(&op->meta, menc, sizeof(menc))) == 0) {
		op->result = ST_INVALID;
		return 0;
	}
	v.mv_size = record_len(mlen, op->value_len);
	if ((rc = mdb_put(txn, st->db_secrets, &k, &v, MDB_RESERVE)) != 0)
		return rc;
	/* only now: opening the old record may have reloaded the keyring */
	active = keyring_active(st);
	record_seal(v.mv_data, &sk, menc, mlen, active->id, active->key,
	    op->value, op->value_len);
	return 0;
}

static int
op_delete_secret(struct store *st, MDB_txn *txn, struct store_op *op)
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
	if ((rc = mdb_get(txn, st->db_secrets, &k, &v)) == MDB_NOTFOUND) {
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
	return mdb_del(txn, st->db_secrets, &k, NULL);
}

static int
op_put_token(struct store *st, MDB_txn *txn, struct store_op *op)
{
	uint8_t enc[TOKEN_ENC_MAX];
	MDB_val k = { TOKEN_HASH_LEN, op->token_hash }, v = { 0, enc };
	int rc;

	if (!valid_token_meta(&op->token) ||
	    (v.mv_size = token_encode(&op->token, enc, sizeof(enc))) == 0) {
		op->result = ST_INVALID;
		return 0;
	}
	rc = mdb_put(txn, st->db_tokens, &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		op->result = ST_EXISTS;
		return 0;
	}
	return rc;
}

static int
op_delete_token(struct store *st, MDB_txn *txn, struct store_op *op)
{
	struct token_meta t;
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if (!terminated(op->token.id, sizeof(op->token.id)) ||
	    !terminated(op->token.org_id, sizeof(op->token.org_id))) {
		op->result = ST_INVALID;
		return 0;
	}
	if ((rc = mdb_cursor_open(txn, st->db_tokens, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (token_decode(v.mv_data, v.mv_size, &t) == -1 ||
		    strcmp(t.id, op->token.id) != 0 ||
		    strcmp(t.org_id, op->token.org_id) != 0)
			continue;
		op->token = t;
		rc = mdb_cursor_del(c, 0);
		break;
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND) {
		op->result = ST_NOTFOUND;
		rc = 0;
	}
	return rc;
}

static int
commit_txn(struct store *st, MDB_txn *txn, void *arg, int *err)
{
	struct commit *cm = arg;
	struct store_op *op;
	size_t i;
	int rc = 0;

	for (i = 0; i < cm->n && rc == 0; i++) {
		op = &cm->ops[i];
		op->result = ST_OK;
		op->created = 0;
		switch (op->kind) {
		case STORE_PUT_SECRET:
			rc = op_put_secret(st, txn, op, cm->now);
			break;
		case STORE_DELETE_SECRET:
			rc = op_delete_secret(st, txn, op);
			break;
		case STORE_PUT_TOKEN:
			rc = op_put_token(st, txn, op);
			break;
		case STORE_DELETE_TOKEN:
			rc = op_delete_token(st, txn, op);
			break;
		default:
			op->result = ST_INVALID;
			break;
		}
	}
	return rc;
}

/*
 * Applies every op in one transaction and one durable commit.  Returns
 * ST_OK when the commit is on disk (each op's own outcome is in its
 * result); otherwise every op's result is the commit's error.
 */
int
store_commit(struct store *st, struct store_op *ops, size_t n)
{
	struct commit cm = { ops, n, (uint64_t)time(NULL) };
	size_t i;
	int ret;

	if (n == 0)
		return ST_OK;
	if ((ret = store_write(st, commit_txn, &cm)) != ST_OK) {
		log_warnx("%s: %zu writes failed: %s", __func__, n,
		    store_strerror(ret));
		for (i = 0; i < n; i++) {
			ops[i].result = ret;
			ops[i].created = 0;
		}
	}
	return ret;
}
