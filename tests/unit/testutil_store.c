/*
 * Store operations as the store unit tests write them, and a single put
 * committed on its own.  Never checks a result: the tests assert them.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "store_int.h"
#include "testutil.h"

/* A put by OWNER; an org secret has no user_id. */
void
tu_put_op(struct store_op *op, int scope, const char *org, const char *owner,
    const char *name, const char *value, const char *category)
{
	memset(op, 0, sizeof(*op));
	op->kind = STORE_PUT_SECRET;
	op->meta.scope = scope;
	snprintf(op->meta.org_id, sizeof(op->meta.org_id), "%s", org);
	snprintf(op->meta.user_id, sizeof(op->meta.user_id), "%s",
	    scope == SCOPE_ORG ? "" : owner);
	snprintf(op->meta.name, sizeof(op->meta.name), "%s", name);
	snprintf(op->meta.updated_by, sizeof(op->meta.updated_by), "%s",
	    owner);
	snprintf(op->meta.category, sizeof(op->meta.category), "%s",
	    category != NULL ? category : "");
	op->value = (const uint8_t *)value;
	op->value_len = strlen(value);
}

void
tu_del_op(struct store_op *op, int scope, const char *org, const char *owner,
    const char *name)
{
	tu_put_op(op, scope, org, owner, name, "", NULL);
	op->kind = STORE_DELETE_SECRET;
}

/* One put in its own commit: -1 if the commit failed, else its result. */
int
tu_put1(struct store *st, int scope, const char *org, const char *owner,
    const char *name, const char *value, const char *category)
{
	struct store_op op;

	tu_put_op(&op, scope, org, owner, name, value, category);
	if (store_commit(st, &op, 1) != ST_OK)
		return -1;
	return op.result;
}

/* Strips the tag off every value of db: as a store before schema 4. */
int
tu_untag(MDB_txn *txn, const char *db)
{
	uint8_t kb[SKEY_MAX], vb[TOKEN_ENC_MAX];
	MDB_cursor *c;
	MDB_dbi dbi;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_dbi_open(txn, db, 0, &dbi)) != 0 ||
	    (rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size > sizeof(kb) || v.mv_size < STORE_MAC_LEN ||
		    v.mv_size - STORE_MAC_LEN > sizeof(vb)) {
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(kb, k.mv_data, k.mv_size);
		memcpy(vb, v.mv_data, v.mv_size - STORE_MAC_LEN);
		k.mv_data = kb;
		v.mv_data = vb;
		v.mv_size -= STORE_MAC_LEN;
		if ((rc = mdb_cursor_put(c, &k, &v, MDB_CURRENT)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Writes the store's schema number into an LMDB meta database as is. */
int
tu_schema_put(MDB_txn *txn, MDB_dbi db, uint32_t schema)
{
	uint8_t b[4];
	MDB_val k = { 6, "schema" }, v = { 4, b };

	be32_put(b, schema);
	return mdb_put(txn, db, &k, &v, 0);
}
