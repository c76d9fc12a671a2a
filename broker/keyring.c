/*
 * Keys of the broker's store: the root key file, the keys derived from it,
 * and the keyring of data keys (rotation and online rewrap).  Every key
 * lives in sodium_malloc memory and is wiped when freed; no key is ever
 * logged or written anywhere but sealed into the keyring database.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "store_int.h"

/* crypto_kdf contexts: one per use of the root key */
#define KDF_WRAP	"sdkeywrp"
#define KDF_TOKEN	"sdtokenh"
#define KDF_CHECK	"sdkcheck"
#define KDF_AUDIT	"sdauditc"
#define KEYCHECK_MSG	"secretd store root key check v1"

/*
 * Token hashes are keyed with a key derived from the root key.  A root
 * key rotation cannot hash again the tokens it knows only by their hash,
 * so it keeps the token key, sealed under the new root key like a data
 * key of id 0 (no data key has it), in the meta database.  A store never
 * rotated has none there and derives it.
 */
#define TOKENKEY_ID	0
#define META_TOKENKEY	"tokenkey"
/*
 * The audit log's chain key likewise: lines chained before a rotation
 * must verify after it, and the chain goes on across it.  Its id is one
 * no data key may take (store_rotate_data_key stops below it).
 */
#define AUDITKEY_ID	UINT32_MAX
#define META_AUDITKEY	"auditkey"
#define META_KEYCHECK	"keycheck"

_Static_assert(DATA_KEY_LEN == crypto_generichash_KEYBYTES,
    "the token key is wrapped like a data key");
_Static_assert(DATA_KEY_LEN == STORE_AUDIT_KEY_LEN,
    "the audit chain key is wrapped like a data key");

int
rootkey_load(const char *path, uint8_t **key, char *err, size_t errlen)
{
	struct stat sb;
	uint8_t *k = NULL, extra;
	ssize_t n;
	int fd, ret = ST_IO;

	*key = NULL;
	if (sodium_init() == -1) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return ST_IO;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ST_IO;
	}
	if (fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	ret = ST_INVALID;
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: root key is not a regular file",
		    path);
		goto fail;
	}
	if (sb.st_mode & 077) {
		snprintf(err, errlen, "%s: root key is accessible by group "
		    "or others (mode %04o); it must be 0400 or 0600", path,
		    (unsigned)(sb.st_mode & 07777));
		goto fail;
	}
	if (sb.st_size != ROOT_KEY_LEN) {
		snprintf(err, errlen, "%s: root key must be exactly %d bytes, "
		    "not %lld", path, ROOT_KEY_LEN, (long long)sb.st_size);
		goto fail;
	}
	if ((k = sodium_malloc(ROOT_KEY_LEN)) == NULL) {
		snprintf(err, errlen, "out of memory");
		ret = ST_NOMEM;
		goto fail;
	}
	/* the size may change under us: read exactly 32 bytes, then EOF */
	if ((n = read(fd, k, ROOT_KEY_LEN)) != ROOT_KEY_LEN ||
	    read(fd, &extra, 1) != 0) {
		snprintf(err, errlen, "%s: root key must be exactly %d bytes",
		    path, ROOT_KEY_LEN);
		goto fail;
	}
	close(fd);
	sodium_mprotect_readonly(k);
	*key = k;
	return ST_OK;
fail:
	sodium_free(k);
	close(fd);
	return ret;
}

/* Makes a new directory entry durable: fsync of the folder holding path. */
int
sync_dir_of(const char *path)
{
	char buf[PATH_MAX];
	int fd, ret;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return -1;
	if ((fd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

/*
 * Writes key to path, a new file (never over an existing one), 0400,
 * durably: the file's data and its directory entry.  A failure leaves
 * no file.
 */
int
rootkey_write(const char *path, const uint8_t *key, char *err, size_t errlen)
{
	int fd, ret = ST_IO;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0400);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == EEXIST ? ST_EXISTS : ST_IO;
	}
	if (fchmod(fd, 0400) == -1 ||
	    write(fd, key, ROOT_KEY_LEN) != ROOT_KEY_LEN || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (close(fd) == -1 || sync_dir_of(path) == -1) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	return ST_OK;
fail:
	if (fd != -1)
		close(fd);
	unlink(path);
	return ret;
}

int
rootkey_generate(const char *path, char *err, size_t errlen)
{
	uint8_t *k;
	int ret;

	if (sodium_init() == -1) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return ST_IO;
	}
	if ((k = sodium_malloc(ROOT_KEY_LEN)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ST_NOMEM;
	}
	randombytes_buf(k, ROOT_KEY_LEN);
	ret = rootkey_write(path, k, err, errlen);
	sodium_free(k);
	return ret;
}

void
rootkey_free(uint8_t *key)
{
	sodium_free(key);
}

int
keyring_keycheck(const uint8_t *root_key, uint8_t out[32])
{
	uint8_t sub[32];
	int ret;

	ret = crypto_kdf_derive_from_key(sub, sizeof(sub), 1, KDF_CHECK,
	    root_key);
	if (ret == 0)
		ret = crypto_generichash(out, 32, (const uint8_t *)KEYCHECK_MSG,
		    sizeof(KEYCHECK_MSG) - 1, sub, sizeof(sub));
	sodium_memzero(sub, sizeof(sub));
	return ret == 0 ? 0 : -1;
}

/* The store keeps only keys derived from the root key, never the key. */
int
keyring_derive(struct store *st, const uint8_t *root_key)
{
	st->wrap_key = sodium_malloc(DATA_KEY_LEN);
	st->token_key = sodium_malloc(crypto_generichash_KEYBYTES);
	st->audit_key = sodium_malloc(STORE_AUDIT_KEY_LEN);
	if (st->wrap_key == NULL || st->token_key == NULL ||
	    st->audit_key == NULL)
		return ST_NOMEM;
	if (crypto_kdf_derive_from_key(st->wrap_key, DATA_KEY_LEN, 1,
	    KDF_WRAP, root_key) != 0 ||
	    crypto_kdf_derive_from_key(st->token_key,
	    crypto_generichash_KEYBYTES, 1, KDF_TOKEN, root_key) != 0 ||
	    keyring_audit_key(root_key, st->audit_key) == -1)
		return ST_IO;
	sodium_mprotect_noaccess(st->wrap_key);
	sodium_mprotect_readonly(st->token_key);
	sodium_mprotect_readonly(st->audit_key);
	return store_mac_derive(st);
}

/* The chain key of a store never rotated: derived from its root key. */
int
keyring_audit_key(const uint8_t *root_key, uint8_t out[STORE_AUDIT_KEY_LEN])
{
	return crypto_kdf_derive_from_key(out, STORE_AUDIT_KEY_LEN, 1,
	    KDF_AUDIT, root_key) == 0 ? 0 : -1;
}

const uint8_t *
store_audit_key(struct store *st)
{
	return st->audit_key;
}

void
store_token_hash(struct store *st, const char *token,
    uint8_t out[TOKEN_HASH_LEN])
{
	crypto_generichash(out, TOKEN_HASH_LEN, (const uint8_t *)token,
	    strlen(token), st->token_key, crypto_generichash_KEYBYTES);
}

static MDB_val
id_val(uint8_t b[4], uint32_t id)
{
	MDB_val v = { 4, b };

	be32_put(b, id);
	return v;
}

/* Seals a fresh random data key under id into the keyring database. */
static int
keyring_add(struct store *st, struct kv_txn *txn, uint32_t id)
{
	uint8_t *dk, idb[4], wrapped[WRAPPED_KEY_LEN];
	MDB_val k = id_val(idb, id), v = { sizeof(wrapped), wrapped }, old;
	int rc;

	if ((dk = sodium_malloc(DATA_KEY_LEN)) == NULL)
		return ENOMEM;
	crypto_aead_xchacha20poly1305_ietf_keygen(dk);
	sodium_mprotect_readonly(st->wrap_key);
	datakey_wrap(wrapped, id, st->wrap_key, dk);
	sodium_mprotect_noaccess(st->wrap_key);
	sodium_free(dk);
	if ((rc = kv_get(txn, KV_KEYRING, &k, &old)) == 0)
		return MDB_KEYEXIST;
	if (rc != MDB_NOTFOUND ||
	    (rc = kv_put(txn, KV_KEYRING, &k, &v, 0)) != 0)
		return rc;
	return meta_put_u32(txn, "active", id);
}

int
keyring_init(struct store *st, struct kv_txn *txn)
{
	return keyring_add(st, txn, 1);
}

static int
keyring_unwrap_all(struct store *st, struct kv_txn *txn, struct data_key *keys,
    size_t n)
{
	struct kv_cursor *c;
	MDB_val k, v;
	const uint8_t *p;
	size_t i = 0;
	int rc, ret = ST_OK;

	if ((rc = kv_cursor_open(txn, KV_KEYRING, &c)) != 0)
		return store_mdb_err(rc);
	sodium_mprotect_readonly(st->wrap_key);
	for (rc = kv_cursor_get(c, &k, &v, KV_FIRST); rc == 0;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT)) {
		p = k.mv_data;
		if (i == n || k.mv_size != 4) {
			ret = ST_CORRUPT;
			break;
		}
		keys[i].id = be32_get(p);
		if (datakey_unwrap(keys[i].key, keys[i].id, st->wrap_key,
		    v.mv_data, v.mv_size) == -1) {
			log_warnx("%s: data key %u does not open", __func__,
			    keys[i].id);
			ret = ST_CORRUPT;
			break;
		}
		i++;
	}
	sodium_mprotect_noaccess(st->wrap_key);
	kv_cursor_close(c);
	if (ret == ST_OK && rc != MDB_NOTFOUND)
		ret = store_mdb_err(rc);
	if (ret == ST_OK && i != n)
		ret = ST_CORRUPT;
	return ret;
}

/*
 * A derived key the store keeps (the token or the audit chain key), when
 * a root key rotation left one; else the one derived stays.
 */
static int
keptkey_load(struct store *st, struct kv_txn *txn, const char *name, uint32_t id,
    uint8_t *key)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	int rc, ret;

	if ((rc = kv_get(txn, KV_META, &k, &v)) == MDB_NOTFOUND)
		return ST_OK;
	if (rc != 0)
		return store_mdb_err(rc);
	sodium_mprotect_readwrite(key);
	sodium_mprotect_readonly(st->wrap_key);
	ret = datakey_unwrap(key, id, st->wrap_key, v.mv_data,
	    v.mv_size) == 0 ? ST_OK : ST_CORRUPT;
	sodium_mprotect_noaccess(st->wrap_key);
	sodium_mprotect_readonly(key);
	if (ret != ST_OK)
		log_warnx("%s: the kept %s does not open", __func__, name);
	return ret;
}

/* The keys in the keyring database: a walk, the same on every engine. */
static int
keyring_count(struct kv_txn *txn, size_t *n)
{
	struct kv_cursor *c;
	MDB_val k, v;
	int rc;

	*n = 0;
	if ((rc = kv_cursor_open(txn, KV_KEYRING, &c)) != 0)
		return store_mdb_err(rc);
	for (rc = kv_cursor_get(c, &k, &v, KV_FIRST); rc == 0;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT))
		(*n)++;
	kv_cursor_close(c);
	return rc == MDB_NOTFOUND ? ST_OK : store_mdb_err(rc);
}

/* Replaces the in-memory keyring with the one committed in txn. */
int
keyring_load(struct store *st, struct kv_txn *txn)
{
	struct data_key *keys;
	uint32_t active;
	size_t i, n;
	int rc, ret;

	if ((ret = keyring_count(txn, &n)) != ST_OK)
		return ret;
	if (n == 0)
		return ST_CORRUPT;
	if ((rc = meta_get_u32(txn, "active", &active)) != 0)
		return rc == MDB_NOTFOUND ? ST_CORRUPT : store_mdb_err(rc);
	if ((keys = sodium_allocarray(n, sizeof(*keys))) == NULL)
		return ST_NOMEM;
	if ((ret = keyring_unwrap_all(st, txn, keys, n)) != ST_OK ||
	    (ret = keptkey_load(st, txn, META_TOKENKEY, TOKENKEY_ID,
	    st->token_key)) != ST_OK ||
	    (ret = store_mac_derive(st)) != ST_OK ||
	    (ret = keptkey_load(st, txn, META_AUDITKEY, AUDITKEY_ID,
	    st->audit_key)) != ST_OK)
		goto fail;
	for (i = 0; i < n && keys[i].id != active; i++)
		;
	if (i == n) {
		log_warnx("%s: active data key %u is not in the keyring",
		    __func__, active);
		ret = ST_CORRUPT;
		goto fail;
	}
	sodium_mprotect_readonly(keys);
	keyring_free(st);
	st->ring.keys = keys;
	st->ring.n = n;
	st->ring.active = active;
	return ST_OK;
fail:
	sodium_free(keys);
	return ret;
}

static const struct data_key *
keyring_lookup(struct store *st, uint32_t id)
{
	size_t i;

	for (i = 0; i < st->ring.n; i++)
		if (st->ring.keys[i].id == id)
			return &st->ring.keys[i];
	return NULL;
}

/*
 * Data key id into *key.  Another process (an admin command, another
 * node) may have rotated: the keyring is reloaded once.  ST_NOTFOUND: id
 * is not in it; a failed reload is its own error (ST_BUSY while the
 * engine fetches the keyring), never taken for a missing key.
 */
int
keyring_find(struct store *st, struct kv_txn *txn, uint32_t id,
    const uint8_t **key)
{
	const struct data_key *dk;
	int ret;

	if ((dk = keyring_lookup(st, id)) == NULL) {
		log_debug("%s: data key %u unknown, reloading the keyring",
		    __func__, id);
		if ((ret = keyring_load(st, txn)) != ST_OK)
			return ret;
		if ((dk = keyring_lookup(st, id)) == NULL)
			return ST_NOTFOUND;
	}
	*key = dk->key;
	return ST_OK;
}

const struct data_key *
keyring_active(struct store *st)
{
	return keyring_lookup(st, st->ring.active);
}

void
keyring_free(struct store *st)
{
	sodium_free(st->ring.keys);
	st->ring.keys = NULL;
	st->ring.n = 0;
}

uint32_t
store_active_key_id(struct store *st)
{
	return st->ring.active;
}

static int
rotate_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	uint32_t *new_id = arg;
	struct kv_cursor *c;
	MDB_val k, v, last = { 0, NULL };
	int rc;

	if ((rc = kv_cursor_open(txn, KV_KEYRING, &c)) != 0)
		return rc;
	/* engines walk forwards only: the last id is the highest */
	for (rc = kv_cursor_get(c, &k, &v, KV_FIRST); rc == 0;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT))
		last = k;
	kv_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return rc;
	if ((k = last).mv_size == 0)
		return MDB_NOTFOUND;
	if (k.mv_size != 4 || be32_get(k.mv_data) >= AUDITKEY_ID - 1) {
		*err = ST_CORRUPT;
		return 0;
	}
	*new_id = be32_get(k.mv_data) + 1;
	return keyring_add(st, txn, *new_id);
}

int
store_rotate_data_key(struct store *st, uint32_t *new_id)
{
	struct kv_txn *txn;
	int ret;

	if ((ret = store_write(st, rotate_txn, new_id)) != ST_OK)
		return ret;
	if ((ret = store_rtxn(st, &txn)) != ST_OK)
		return ret;
	ret = keyring_load(st, txn);
	store_rtxn_done(st);
	if (ret == ST_OK)
		log_info("%s: data key %u is now active", __func__, *new_id);
	return ret;
}

struct rekey {
	uint8_t		*wrap_key;	/* derived from the new root key */
	uint8_t		 check[32];	/* the new root key's check */
	size_t		 n;		/* data keys wrapped again */
};

/* Every data key, the token and audit keys sealed again, under the new key. */
static int
rekey_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	struct rekey *rk = arg;
	uint8_t *dk, wrapped[WRAPPED_KEY_LEN];
	MDB_val k, v, nv = { sizeof(wrapped), wrapped };
	MDB_val tk = { sizeof(META_TOKENKEY) - 1, META_TOKENKEY };
	MDB_val ak = { sizeof(META_AUDITKEY) - 1, META_AUDITKEY };
	MDB_val ck = { sizeof(META_KEYCHECK) - 1, META_KEYCHECK };
	MDB_val cv = { sizeof(rk->check), rk->check };
	struct kv_cursor *c;
	int rc;

	rk->n = 0;
	if ((dk = sodium_malloc(DATA_KEY_LEN)) == NULL)
		return ENOMEM;
	if ((rc = kv_cursor_open(txn, KV_KEYRING, &c)) != 0) {
		sodium_free(dk);
		return rc;
	}
	sodium_mprotect_readonly(st->wrap_key);
	for (rc = kv_cursor_get(c, &k, &v, KV_FIRST); rc == 0;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT)) {
		if (k.mv_size != 4 || datakey_unwrap(dk, be32_get(k.mv_data),
		    st->wrap_key, v.mv_data, v.mv_size) == -1) {
			*err = ST_CORRUPT;
			break;
		}
		datakey_wrap(wrapped, be32_get(k.mv_data), rk->wrap_key, dk);
		if ((rc = kv_cursor_put(c, &nv, 0)) != 0)
			break;
		rk->n++;
	}
	sodium_mprotect_noaccess(st->wrap_key);
	kv_cursor_close(c);
	sodium_free(dk);
	if (*err != ST_OK)
		return 0;
	if (rc != MDB_NOTFOUND)
		return rc;
	datakey_wrap(wrapped, TOKENKEY_ID, rk->wrap_key, st->token_key);
	if ((rc = kv_put(txn, KV_META, &tk, &nv, 0)) != 0)
		return rc;
	datakey_wrap(wrapped, AUDITKEY_ID, rk->wrap_key, st->audit_key);
	if ((rc = kv_put(txn, KV_META, &ak, &nv, 0)) != 0)
		return rc;
	return kv_put(txn, KV_META, &ck, &cv, 0);
}

/*
 * Seals the keyring under a new root key in one transaction: before its
 * commit the store opens only with the old key, after it only with the
 * new one.  The data keys and the records stay as they are.  ST_OK means
 * committed; the store is then used with the new key.  *n says how many
 * data keys moved.
 */
int
store_rekey(struct store *st, const uint8_t *new_root_key, size_t *n)
{
	struct rekey rk;
	int ret;

	*n = 0;
	memset(&rk, 0, sizeof(rk));
	if ((rk.wrap_key = sodium_malloc(DATA_KEY_LEN)) == NULL)
		return ST_NOMEM;
	if (keyring_keycheck(new_root_key, rk.check) == -1 ||
	    crypto_kdf_derive_from_key(rk.wrap_key, DATA_KEY_LEN, 1, KDF_WRAP,
	    new_root_key) != 0) {
		sodium_free(rk.wrap_key);
		return ST_IO;
	}
	ret = store_write(st, rekey_txn, &rk);
	if (ret != ST_OK) {
		sodium_free(rk.wrap_key);
		return ret;
	}
	/* the data keys in memory are the same; only their seal changed */
	*n = rk.n;
	sodium_free(st->wrap_key);
	st->wrap_key = rk.wrap_key;
	sodium_mprotect_noaccess(st->wrap_key);
	return ST_OK;
}

/* A key of the secrets or the versions database: room for either. */
struct rkey {
	uint8_t		 buf[SKEY_MAX + 5];
	size_t		 len;
};

struct rewrap {
	enum kv_table		 db;		/* secrets, then versions */
	int		 versions;
	struct rkey	 start;	/* the previous batch's last key */
	struct rkey	 pos;
	size_t		 batch;
	size_t		 done;
	int		 end;
};

/* The first record after pos (or the first record when pos is empty). */
static int
next_record(struct kv_cursor *c, const struct rkey *pos, MDB_val *k, MDB_val *v)
{
	int rc;

	if (pos->len == 0)
		return kv_cursor_get(c, k, v, KV_FIRST);
	k->mv_size = pos->len;
	k->mv_data = (void *)pos->buf;
	if ((rc = kv_cursor_get(c, k, v, KV_SET_RANGE)) != 0)
		return rc;
	if (k->mv_size == pos->len && memcmp(k->mv_data, pos->buf,
	    pos->len) == 0)
		rc = kv_cursor_get(c, k, v, KV_NEXT);
	return rc;
}

/*
 * The storage key a record at k is sealed under: k itself in the
 * secrets database; k without its NUL and version in the versions one.
 */
static int
seal_key(const struct rewrap *rw, const MDB_val *k, struct skey *sk)
{
	size_t n = k->mv_size;

	if (rw->versions) {
		if (n < 6 || ((const uint8_t *)k->mv_data)[n - 5] != '\0')
			return -1;
		n -= 5;
	}
	if (n > SKEY_MAX)
		return -1;
	memcpy(sk->buf, k->mv_data, n);
	sk->len = n;
	return 0;
}

/* Seals the record at pos again under the active key, new nonce. */
static int
reseal(struct store *st, struct kv_txn *txn, const struct rewrap *rw,
    const struct skey *sk, const MDB_val *v, int *err)
{
	const struct data_key *active;
	struct secret_meta meta;
	struct record_view rv;
	uint8_t meta_enc[META_ENC_MAX];
	MDB_val k = { rw->pos.len, (void *)rw->pos.buf }, nv,
	    skv = { sk->len, (void *)sk->buf };
	size_t vlen;
	int rc;

	if ((*err = store_record_open(st, txn, &skv, v, &meta, st->scratch)) !=
	    ST_OK)
		return 0;
	if (record_parse(v->mv_data, v->mv_size, sk->buf, sk->len,
	    &rv) == -1) {
		*err = ST_CORRUPT;
		return 0;
	}
	vlen = rv.ct_len - SEAL_TAG_LEN;
	memcpy(meta_enc, rv.meta_enc, rv.meta_len);
	nv.mv_size = record_len(rv.meta_len, vlen);
	/* opening may have reloaded the keyring: look the key up after */
	active = keyring_active(st);
	if ((rc = kv_put(txn, rw->db, &k, &nv, KV_RESERVE)) == 0)
		record_seal(nv.mv_data, sk, meta_enc, rv.meta_len, active->id,
		    active->key, st->scratch, vlen);
	sodium_memzero(st->scratch, vlen);
	return rc;
}

static int
rewrap_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	struct rewrap *rw = arg;
	struct record_view rv;
	struct skey sk;
	struct kv_cursor *c;
	MDB_val k, v;
	int rc;

	rw->pos = rw->start;
	rw->done = 0;
	rw->end = 0;
	if ((rc = kv_cursor_open(txn, rw->db, &c)) != 0)
		return rc;
	while (rw->done < rw->batch && *err == ST_OK) {
		if ((rc = next_record(c, &rw->pos, &k, &v)) != 0)
			break;
		if (k.mv_size > sizeof(rw->pos.buf) ||
		    seal_key(rw, &k, &sk) == -1) {
			*err = ST_CORRUPT;
			break;
		}
		memcpy(rw->pos.buf, k.mv_data, k.mv_size);
		rw->pos.len = k.mv_size;
		if (record_parse(v.mv_data, v.mv_size, sk.buf, sk.len,
		    &rv) == -1) {
			*err = ST_CORRUPT;
			break;
		}
		if (rv.key_id == st->ring.active)
			continue;
		if ((rc = reseal(st, txn, rw, &sk, &v, err)) != 0)
			break;
		rw->done++;
	}
	kv_cursor_close(c);
	if (rc == MDB_NOTFOUND) {
		rw->end = 1;
		rc = 0;
	}
	return rc;
}

/*
 * Re-seals every record not under the active key, the kept old versions
 * too, batch records per transaction, so readers (this process between
 * batches, others at any time) keep working while it runs.
 */
int
store_rewrap(struct store *st, size_t batch, size_t *rewrapped)
{
	struct rewrap rw;
	int ret, pass;

	*rewrapped = 0;
	if (batch == 0)
		return ST_INVALID;
	for (pass = 0; pass < 2; pass++) {
		memset(&rw, 0, sizeof(rw));
		rw.batch = batch;
		rw.versions = pass == 1;
		rw.db = rw.versions ? KV_VERSIONS : KV_SECRETS;
		do {
			if ((ret = store_write(st, rewrap_txn, &rw)) != ST_OK)
				return ret;
			*rewrapped += rw.done;
			rw.start = rw.pos;
		} while (!rw.end);
	}
	log_info("%s: %zu records re-sealed under data key %u", __func__,
	    *rewrapped, st->ring.active);
	return ST_OK;
}

/* Records of db sealed under key_id; a versions key ends in 5 bytes. */
static int
count_in(struct kv_txn *txn, enum kv_table db, int versions, uint32_t key_id, size_t *n)
{
	struct record_view rv;
	struct kv_cursor *c;
	MDB_val k, v;
	int rc;

	if ((rc = kv_cursor_open(txn, db, &c)) != 0)
		return store_mdb_err(rc);
	for (rc = kv_cursor_get(c, &k, &v, KV_FIRST); rc == 0;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT)) {
		if (versions && k.mv_size < 6)
			break;
		if (record_parse(v.mv_data, v.mv_size, k.mv_data,
		    k.mv_size - (versions ? 5 : 0), &rv) == -1)
			break;
		if (rv.key_id == key_id)
			(*n)++;
	}
	kv_cursor_close(c);
	return rc == MDB_NOTFOUND ? ST_OK : rc == 0 ? ST_CORRUPT :
	    store_mdb_err(rc);
}

int
store_count_by_key(struct store *st, uint32_t key_id, size_t *n)
{
	struct kv_txn *txn;
	int ret;

	*n = 0;
	if ((ret = store_rtxn(st, &txn)) != ST_OK)
		return ret;
	if ((ret = count_in(txn, KV_SECRETS, 0, key_id, n)) == ST_OK)
		ret = count_in(txn, KV_VERSIONS, 1, key_id, n);
	store_rtxn_done(st);
	return ret;
}
