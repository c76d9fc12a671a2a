/*
 * Authentication of the store's records that are not sealed: token
 * records and usage counts.  They are kept in the clear (a token record
 * is looked up on every request and holds nothing secret), but an edit
 * to one would change who a token is or what quota an owner has left,
 * so each value carries a keyed BLAKE2b tag over its database's name,
 * its key and itself: a record can be neither altered nor moved under
 * another key, nor into another database.
 *
 * The MAC key is derived from the token key, not the root key: a root
 * key rotation keeps the token key (tokens are known only by their
 * keyed hash), so it keeps the MAC key and every tag stays valid.
 *
 * A tag does not stop a record being replaced by an older one it had
 * under the same key, nor a record being removed: what is in a backup
 * is what it was when taken.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "log.h"
#include "store_int.h"

#define MACKEY_LABEL	"secretd record mac key v1"

_Static_assert(STORE_MAC_LEN >= crypto_generichash_BYTES_MIN &&
    STORE_MAC_LEN <= crypto_generichash_BYTES_MAX, "a BLAKE2b output");

/* The MAC key of the token key in st->token_key; kept read-only. */
int
store_mac_derive(struct store *st)
{
	int rc;

	if (st->mac_key == NULL &&
	    (st->mac_key = sodium_malloc(crypto_generichash_KEYBYTES)) == NULL)
		return ST_NOMEM;
	sodium_mprotect_readwrite(st->mac_key);
	rc = crypto_generichash(st->mac_key, crypto_generichash_KEYBYTES,
	    (const uint8_t *)MACKEY_LABEL, sizeof(MACKEY_LABEL) - 1,
	    st->token_key, crypto_generichash_KEYBYTES);
	sodium_mprotect_readonly(st->mac_key);
	return rc == 0 ? ST_OK : ST_IO;
}

/* db's name, the key (each with its length) and the value. */
static void
mac_compute(struct store *st, const char *db, const MDB_val *k,
    const uint8_t *v, size_t vlen, uint8_t tag[STORE_MAC_LEN])
{
	crypto_generichash_state s;
	uint8_t len[3];
	size_t dlen = strlen(db);

	len[0] = (uint8_t)dlen;
	len[1] = (uint8_t)(k->mv_size >> 8);
	len[2] = (uint8_t)k->mv_size;
	crypto_generichash_init(&s, st->mac_key, crypto_generichash_KEYBYTES,
	    STORE_MAC_LEN);
	crypto_generichash_update(&s, len, 1);
	crypto_generichash_update(&s, (const uint8_t *)db, dlen);
	crypto_generichash_update(&s, len + 1, 2);
	crypto_generichash_update(&s, k->mv_data, k->mv_size);
	crypto_generichash_update(&s, v, vlen);
	crypto_generichash_final(&s, tag, STORE_MAC_LEN);
	sodium_memzero(&s, sizeof(s));
}

/*
 * Writes value (len bytes) and its tag under k in db (named name):
 * len + STORE_MAC_LEN bytes.
 */
int
store_mac_put(struct store *st, struct kv_txn *txn, enum kv_table db, const char *name,
    const MDB_val *k, const uint8_t *value, size_t len)
{
	MDB_val v = { len + STORE_MAC_LEN, NULL };
	int rc;

	if (k->mv_size > UINT16_MAX)
		return MDB_BAD_VALSIZE;
	if ((rc = kv_put(txn, db, (MDB_val *)k, &v, KV_RESERVE)) != 0)
		return rc;
	memcpy(v.mv_data, value, len);
	mac_compute(st, name, k, value, len, (uint8_t *)v.mv_data + len);
	return 0;
}

/*
 * Whether the value v stored under k in the database named name carries
 * its tag; *len is then the length of the value without it.
 */
int
store_mac_check(struct store *st, const char *name, const MDB_val *k,
    const MDB_val *v, size_t *len)
{
	uint8_t tag[STORE_MAC_LEN];
	int rc;

	if (v->mv_size < STORE_MAC_LEN || k->mv_size > UINT16_MAX)
		return -1;
	*len = v->mv_size - STORE_MAC_LEN;
	mac_compute(st, name, k, v->mv_data, *len, tag);
	rc = crypto_verify_32(tag, (const uint8_t *)v->mv_data + *len);
	return rc == 0 ? 0 : -1;
}

/*
 * Schema 4: tags every value of db (named name), written before tags
 * were; check says whether an untagged value is one the database holds.
 */
int
store_mac_add_all(struct store *st, struct kv_txn *txn, enum kv_table db,
    const char *name, int (*check)(const MDB_val *k, const MDB_val *v))
{
	uint8_t kb[SKEY_MAX], vb[TOKEN_ENC_MAX + STORE_MAC_LEN];
	struct kv_cursor *c;
	MDB_val k, v, kc;
	int rc;

	if ((rc = kv_cursor_open(txn, db, &c)) != 0)
		return rc;
	for (rc = kv_cursor_get(c, &k, &v, KV_FIRST); rc == 0;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT)) {
		if (k.mv_size > sizeof(kb) || v.mv_size > sizeof(vb) ||
		    check(&k, &v) == -1) {
			log_warnx("%s: %s: a record does not decode", __func__,
			    name);
			rc = MDB_CORRUPTED;
			break;
		}
		/* both point into the map, which the put may change */
		memcpy(kb, k.mv_data, k.mv_size);
		memcpy(vb, v.mv_data, v.mv_size);
		kc.mv_size = k.mv_size;
		kc.mv_data = kb;
		mac_compute(st, name, &kc, vb, v.mv_size, vb + v.mv_size);
		v.mv_size += STORE_MAC_LEN;
		v.mv_data = vb;
		if ((rc = kv_cursor_put(c, &v, 0)) != 0)
			break;
	}
	kv_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}
