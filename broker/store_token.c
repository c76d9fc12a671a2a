/*
 * Token records and their indexes: by keyed hash (authentication), by id
 * (revocation), by owner (listing, the per-user cap) and by parent (a
 * revoked token takes the tokens made with it).  Every lookup goes
 * through an index; nothing here scans a bounded prefix and gives up.
 * The store keeps only a token's hash, never the token.
 *
 * A token record carries a tag (store_mac.c) over its hash and itself; a
 * record without a valid one is refused wherever it is read.  The
 * indexes carry none: every entry leads to a tagged record, and is
 * checked against it (id, owner, parent) before it is acted on, so an
 * edited index can hide a token but never make an operation reach
 * another one.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_int.h"

/* org \0 user \0 id */
#define OKEY_MAX	(ID_MAX_LEN + 1 + ID_MAX_LEN + 1 + TOKEN_ID_LEN)
#define CKEY_LEN	(2 * TOKEN_ID_LEN)

struct okey {
	uint8_t		 buf[OKEY_MAX];
	size_t		 len;
};

/* user NULL: the org's prefix; id NULL: the user's prefix. */
static int
okey_build(struct okey *k, const char *org, const char *user, const char *id)
{
	size_t ol = strlen(org), ul = user ? strlen(user) : 0;

	if (!valid_id(org, ol) || (user != NULL && !valid_id(user, ul)) ||
	    (id != NULL && (user == NULL || !valid_token_id(id, strlen(id)))))
		return -1;
	memcpy(k->buf, org, ol + 1);
	k->len = ol + 1;
	if (user == NULL)
		return 0;
	memcpy(k->buf + k->len, user, ul + 1);
	k->len += ul + 1;
	if (id != NULL) {
		memcpy(k->buf + k->len, id, TOKEN_ID_LEN);
		k->len += TOKEN_ID_LEN;
	}
	return 0;
}

static void
ckey_build(uint8_t k[CKEY_LEN], const char *parent, const char *id)
{
	memcpy(k, parent, TOKEN_ID_LEN);
	memcpy(k + TOKEN_ID_LEN, id, TOKEN_ID_LEN);
}

/*
 * A token record as stored (k its hash, v its value): whether it carries
 * its tag and decodes.  Exposed for the store's walk.
 */
const char *
token_record_check(struct store *st, const MDB_val *k, const MDB_val *v,
    struct token_meta *t, char parent[TOKEN_ID_LEN + 1])
{
	size_t len;

	if (k->mv_size != TOKEN_HASH_LEN)
		return "has a bad length";
	if (store_mac_check(st, "tokens", k, v, &len) == -1)
		return "fails its MAC (edited without the root key)";
	if (token_decode(v->mv_data, len, t, parent) == -1)
		return "does not decode";
	return NULL;
}

/* An untagged record as a store before schema 4 kept it. */
int
token_value_check(const MDB_val *k, const MDB_val *v)
{
	struct token_meta t;
	char parent[TOKEN_ID_LEN + 1];

	return k->mv_size == TOKEN_HASH_LEN &&
	    token_decode(v->mv_data, v->mv_size, &t, parent) == 0 ? 0 : -1;
}

/* The record of the token hashed to hash. */
static int
token_record_get(struct store *st, struct kv_txn *txn, const uint8_t *hash,
    struct token_meta *t, char parent[TOKEN_ID_LEN + 1])
{
	MDB_val k = { TOKEN_HASH_LEN, (void *)hash }, v;
	const char *why;
	int rc;

	if ((rc = kv_get(txn, KV_TOKENS, &k, &v)) != 0)
		return rc;
	if ((why = token_record_check(st, &k, &v, t, parent)) != NULL) {
		log_warnx("%s: the token record of hash %02x%02x%02x%02x... "
		    "%s: refused; restore the store from a backup", __func__,
		    hash[0], hash[1], hash[2], hash[3], why);
		return MDB_CORRUPTED;
	}
	return 0;
}

/* The record of token id: its hash, metadata and parent. */
static int
token_by_id(struct store *st, struct kv_txn *txn, const char *id,
    uint8_t hash[TOKEN_HASH_LEN], struct token_meta *t,
    char parent[TOKEN_ID_LEN + 1])
{
	MDB_val k = { TOKEN_ID_LEN, (void *)id }, v;
	int rc;

	if ((rc = kv_get(txn, KV_TOKEN_IDS, &k, &v)) != 0)
		return rc;
	if (v.mv_size != TOKEN_HASH_LEN)
		return MDB_CORRUPTED;
	memcpy(hash, v.mv_data, TOKEN_HASH_LEN);
	if ((rc = token_record_get(st, txn, hash, t, parent)) != 0)
		return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
	/* an id entry leading to another token's record */
	if (strcmp(t->id, id) != 0) {
		log_warnx("%s: token %s: its id entry leads to token %s: "
		    "refused; restore the store from a backup", __func__, id,
		    t->id);
		return MDB_CORRUPTED;
	}
	return 0;
}

/* Whether an owner index key k is the one of t's record. */
static int
owner_entry_matches(const MDB_val *k, const struct token_meta *t)
{
	struct okey ok;

	if (okey_build(&ok, t->org_id, t->user_id, t->id) == -1 ||
	    ok.len != k->mv_size || memcmp(ok.buf, k->mv_data, ok.len) != 0) {
		log_warnx("token %s: an owner entry not its own: refused; "
		    "restore the store from a backup", t->id);
		return 0;
	}
	return 1;
}

static int
del_key(struct kv_txn *txn, enum kv_table db, void *key, size_t len)
{
	MDB_val k = { len, key };
	int rc = kv_del(txn, db, &k);

	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* One token out of the record and all three indexes. */
static int
token_remove(struct store *st, struct kv_txn *txn, const char *id,
    struct token_meta *out)
{
	struct token_meta t;
	uint8_t hash[TOKEN_HASH_LEN], ck[CKEY_LEN];
	char parent[TOKEN_ID_LEN + 1], idc[TOKEN_ID_LEN + 1];
	struct okey ok;
	int rc;

	memcpy(idc, id, sizeof(idc));
	if ((rc = token_by_id(st, txn, idc, hash, &t, parent)) != 0)
		return rc;
	if (okey_build(&ok, t.org_id, t.user_id, t.id) == -1)
		return MDB_CORRUPTED;
	if ((rc = del_key(txn, KV_TOKENS, hash, TOKEN_HASH_LEN)) != 0 ||
	    (rc = del_key(txn, KV_TOKEN_IDS, idc, TOKEN_ID_LEN)) != 0 ||
	    (rc = del_key(txn, KV_TOKEN_OWNERS, ok.buf, ok.len)) != 0)
		return rc;
	if (parent[0] != '\0') {
		ckey_build(ck, parent, idc);
		if ((rc = del_key(txn, KV_TOKEN_CHILDREN, ck,
		    CKEY_LEN)) != 0)
			return rc;
	}
	if (out != NULL)
		*out = t;
	return 0;
}

/* Appends the ids of parent's children to a growing list. */
static int
children_of(struct store *st, struct kv_txn *txn, const char *parent,
    char (**ids)[TOKEN_ID_LEN + 1], size_t *n, size_t *cap)
{
	char (*nids)[TOKEN_ID_LEN + 1], id[TOKEN_ID_LEN + 1];
	char its_parent[TOKEN_ID_LEN + 1];
	struct token_meta t;
	uint8_t hash[TOKEN_HASH_LEN];
	struct kv_cursor *c;
	MDB_val k = { TOKEN_ID_LEN, (void *)parent }, v;
	int rc;

	if ((rc = kv_cursor_open(txn, KV_TOKEN_CHILDREN, &c)) != 0)
		return rc;
	for (rc = kv_cursor_get(c, &k, &v, KV_SET_RANGE); rc == 0;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT)) {
		if (k.mv_size != CKEY_LEN ||
		    memcmp(k.mv_data, parent, TOKEN_ID_LEN) != 0)
			break;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			if ((nids = reallocarray(*ids, *cap,
			    sizeof(**ids))) == NULL) {
				rc = ENOMEM;
				break;
			}
			*ids = nids;
		}
		memcpy(id, (const uint8_t *)k.mv_data + TOKEN_ID_LEN,
		    TOKEN_ID_LEN);
		id[TOKEN_ID_LEN] = '\0';
		/* an entry naming another's token as a child: never revoked */
		if ((rc = token_by_id(st, txn, id, hash, &t,
		    its_parent)) == 0 && strncmp(its_parent, parent,
		    TOKEN_ID_LEN) != 0) {
			log_warnx("%s: token %s: a child entry under %.16s, "
			    "not its parent: refused; restore the store from "
			    "a backup", __func__, id, parent);
			rc = MDB_CORRUPTED;
		}
		if (rc != 0 && rc != MDB_NOTFOUND)
			break;
		memcpy((*ids)[(*n)++], id, sizeof(id));
	}
	kv_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Revokes op->token.id (within op->token.org_id) and, breadth first,
 * every token made with it or with one of those.
 */
int
token_op_delete(struct store *st, struct kv_txn *txn, struct store_op *op)
{
	char (*ids)[TOKEN_ID_LEN + 1] = NULL, parent[TOKEN_ID_LEN + 1];
	struct token_meta t;
	uint8_t hash[TOKEN_HASH_LEN];
	size_t n = 0, cap = 0, i;
	int rc;

	op->revoked = 0;
	if (strnlen(op->token.id, sizeof(op->token.id)) != TOKEN_ID_LEN ||
	    !valid_token_id(op->token.id, TOKEN_ID_LEN) ||
	    strnlen(op->token.org_id, sizeof(op->token.org_id)) ==
	    sizeof(op->token.org_id)) {
		op->result = ST_INVALID;
		return 0;
	}
	rc = token_by_id(st, txn, op->token.id, hash, &t, parent);
	if (rc == MDB_NOTFOUND || (rc == 0 &&
	    strcmp(t.org_id, op->token.org_id) != 0)) {
		op->result = ST_NOTFOUND;
		return 0;
	}
	if (rc != 0)
		return rc;
	op->token = t;
	if ((rc = children_of(st, txn, t.id, &ids, &n, &cap)) != 0)
		goto done;
	if ((rc = token_remove(st, txn, t.id, NULL)) != 0)
		goto done;
	op->revoked = 1;
	/* ids grows while it is walked: each child's children join it */
	for (i = 0; i < n; i++) {
		if ((rc = children_of(st, txn, ids[i], &ids, &n, &cap)) != 0)
			break;
		if ((rc = token_remove(st, txn, ids[i], NULL)) == MDB_NOTFOUND)
			rc = 0;
		else if (rc != 0)
			break;
		else
			op->revoked++;
	}
done:
	free(ids);
	return rc;
}

/* The ids of the user's owner entries, prefix pre, in key order. */
static int
owned_ids(struct kv_txn *txn, const struct okey *pre,
    char (**ids)[TOKEN_ID_LEN + 1], size_t *n)
{
	struct kv_cursor *c;
	MDB_val k, v;
	size_t cap = 0;
	void *ni;
	int rc;

	if ((rc = kv_cursor_open(txn, KV_TOKEN_OWNERS, &c)) != 0)
		return rc;
	k.mv_size = pre->len;
	k.mv_data = (void *)pre->buf;
	for (rc = kv_cursor_get(c, &k, &v, KV_SET_RANGE); rc == 0;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT)) {
		if (k.mv_size != pre->len + TOKEN_ID_LEN ||
		    memcmp(k.mv_data, pre->buf, pre->len) != 0)
			break;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((ni = reallocarray(*ids, cap,
			    sizeof(**ids))) == NULL) {
				rc = ENOMEM;
				break;
			}
			*ids = ni;
		}
		memcpy((*ids)[*n], (const uint8_t *)k.mv_data + pre->len,
		    TOKEN_ID_LEN);
		(*ids)[(*n)++][TOKEN_ID_LEN] = '\0';
	}
	kv_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Counts the user's live tokens; expired ones are removed on the way, so
 * they neither count nor pile up.
 *
 * The owner entries first, then the records: an engine that fetches
 * (PostgreSQL) runs the body again after each page of entries, and the
 * records, thousands of MACs for a busy user, are checked only once the
 * entries are all there.  A record still to fetch does not end the
 * count: the others are asked for too, so the body runs again once for
 * all of them, not once per token.
 */
static int
live_tokens(struct store *st, struct kv_txn *txn, const char *org,
    const char *user, uint64_t now, size_t *live)
{
	char (*ids)[TOKEN_ID_LEN + 1] = NULL, parent[TOKEN_ID_LEN + 1];
	struct token_meta t;
	uint8_t hash[TOKEN_HASH_LEN];
	struct okey pre, ok;
	MDB_val k;
	size_t n = 0, nexp = 0, i;
	int rc, again = 0;

	*live = 0;
	if (okey_build(&pre, org, user, NULL) == -1)
		return MDB_BAD_VALSIZE;
	if ((rc = owned_ids(txn, &pre, &ids, &n)) != 0)
		goto done;
	for (i = 0; i < n; i++) {
		if ((rc = token_by_id(st, txn, ids[i], hash, &t,
		    parent)) == KV_AGAIN) {
			again = 1;
			continue;
		}
		if (rc != 0)
			break;
		if (okey_build(&ok, org, user, ids[i]) == -1)
			rc = MDB_CORRUPTED;
		k.mv_size = ok.len;
		k.mv_data = ok.buf;
		if (rc != 0 || !owner_entry_matches(&k, &t)) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (t.expires_at == 0 || t.expires_at > now)
			(*live)++;
		else	/* ids[] is walked ahead of nexp: reused for these */
			memmove(ids[nexp++], ids[i], sizeof(ids[i]));
	}
	if (rc == MDB_NOTFOUND || rc == 0)
		rc = again ? KV_AGAIN : 0;
	for (i = 0; rc == 0 && i < nexp; i++)
		rc = token_remove(st, txn, ids[i], NULL);
done:
	free(ids);
	return rc;
}

int
token_op_put(struct store *st, struct kv_txn *txn, struct store_op *op,
    uint64_t now)
{
	uint8_t enc[TOKEN_ENC_MAX], ck[CKEY_LEN];
	MDB_val k, v = { 0, enc }, e = { 0, "" }, pv;
	struct okey ok;
	size_t plen, live;
	int rc;

	plen = strnlen(op->token_parent, sizeof(op->token_parent));
	if (!valid_token_meta(&op->token) ||
	    (plen != 0 && !valid_token_id(op->token_parent, plen)) ||
	    okey_build(&ok, op->token.org_id, op->token.user_id,
	    op->token.id) == -1 ||
	    (v.mv_size = token_encode(&op->token, op->token_parent, enc,
	    sizeof(enc))) == 0) {
		op->result = ST_INVALID;
		return 0;
	}
	/* A token made with a token revoked in the meantime is not made. */
	if (plen != 0) {
		k.mv_size = TOKEN_ID_LEN;
		k.mv_data = op->token_parent;
		if ((rc = kv_get(txn, KV_TOKEN_IDS, &k, &pv)) ==
		    MDB_NOTFOUND) {
			op->result = ST_NOTFOUND;
			return 0;
		}
		if (rc != 0)
			return rc;
	}
	if (op->max_count != 0) {
		if ((rc = live_tokens(st, txn, op->token.org_id,
		    op->token.user_id, now, &live)) != 0)
			return rc;
		if (live >= op->max_count) {
			op->result = ST_QUOTA;
			return 0;
		}
	}
	/* Checked before anything is written: a refusal changes nothing. */
	k.mv_size = TOKEN_HASH_LEN;
	k.mv_data = op->token_hash;
	if ((rc = kv_get(txn, KV_TOKENS, &k, &pv)) == 0) {
		op->result = ST_EXISTS;
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return rc;
	k.mv_size = TOKEN_ID_LEN;
	k.mv_data = op->token.id;
	if ((rc = kv_get(txn, KV_TOKEN_IDS, &k, &pv)) == 0) {
		op->result = ST_EXISTS;
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return rc;
	e.mv_size = TOKEN_HASH_LEN;
	e.mv_data = op->token_hash;
	if ((rc = kv_put(txn, KV_TOKEN_IDS, &k, &e, 0)) != 0)
		return rc;
	k.mv_size = TOKEN_HASH_LEN;
	k.mv_data = op->token_hash;
	if ((rc = store_mac_put(st, txn, KV_TOKENS, "tokens", &k, enc,
	    v.mv_size)) != 0)
		return rc;
	k.mv_size = ok.len;
	k.mv_data = ok.buf;
	e.mv_size = 0;
	e.mv_data = "";
	if ((rc = kv_put(txn, KV_TOKEN_OWNERS, &k, &e, 0)) != 0)
		return rc;
	if (plen == 0)
		return 0;
	ckey_build(ck, op->token_parent, op->token.id);
	k.mv_size = CKEY_LEN;
	k.mv_data = ck;
	return kv_put(txn, KV_TOKEN_CHILDREN, &k, &e, 0);
}

int
store_token_lookup(struct store *st, const uint8_t *hash,
    struct token_meta *out)
{
	char parent[TOKEN_ID_LEN + 1];
	struct kv_txn *txn;
	int ret;

	if ((ret = store_rtxn(st, &txn)) != ST_OK)
		return ret;
	ret = store_mdb_err(token_record_get(st, txn, hash, out, parent));
	store_rtxn_done(st);
	return ret;
}

/* Token id of org, through the id index. */
int
store_token_find(struct store *st, const char *org, const char *id,
    struct token_meta *out)
{
	char parent[TOKEN_ID_LEN + 1];
	uint8_t hash[TOKEN_HASH_LEN];
	struct kv_txn *txn;
	int rc, ret;

	if (org == NULL || !valid_id(org, strlen(org)) || id == NULL ||
	    !valid_token_id(id, strlen(id)))
		return ST_INVALID;
	if ((ret = store_rtxn(st, &txn)) != ST_OK)
		return ret;
	rc = token_by_id(st, txn, id, hash, out, parent);
	store_rtxn_done(st);
	if (rc == 0 && strcmp(out->org_id, org) != 0)
		rc = MDB_NOTFOUND;
	return store_mdb_err(rc);
}

/* A token cursor is "user/id", the last token of the previous page. */
static int
cursor_key(struct okey *k, const char *org, const char *cursor)
{
	char user[ID_MAX_LEN + 1];
	const char *slash;
	size_t ul;

	if ((slash = strchr(cursor, '/')) == NULL ||
	    (ul = (size_t)(slash - cursor)) > ID_MAX_LEN)
		return -1;
	memcpy(user, cursor, ul);
	user[ul] = '\0';
	return okey_build(k, org, user, slash + 1);
}

/*
 * A page of org's tokens (user NULL or "") or of one user's, in
 * (user, id) order, after cursor when given.  next_cursor is "" on the
 * last page.
 */
int
store_token_list(struct store *st, const char *org, const char *user,
    const char *cursor, struct token_meta *out, size_t max, size_t *n,
    char *next_cursor, size_t next_cursor_len)
{
	char id[TOKEN_ID_LEN + 1], parent[TOKEN_ID_LEN + 1];
	uint8_t hash[TOKEN_HASH_LEN];
	struct okey pre, start;
	struct kv_txn *txn;
	struct kv_cursor *c;
	MDB_val k, v;
	size_t seen = 0;
	int rc, ret, again = 0;

	*n = 0;
	next_cursor[0] = '\0';
	if (user != NULL && user[0] == '\0')
		user = NULL;
	if (org == NULL || okey_build(&pre, org, user, NULL) == -1 ||
	    max == 0)
		return ST_INVALID;
	start = pre;
	if (cursor != NULL && cursor[0] != '\0' &&
	    (cursor_key(&start, org, cursor) == -1 ||
	    start.len < pre.len || memcmp(start.buf, pre.buf, pre.len) != 0))
		return ST_INVALID;
	if ((ret = store_rtxn(st, &txn)) != ST_OK)
		return ret;
	if ((rc = kv_cursor_open(txn, KV_TOKEN_OWNERS, &c)) != 0) {
		store_rtxn_done(st);
		return store_mdb_err(rc);
	}
	k.mv_size = start.len;
	k.mv_data = start.buf;
	rc = kv_cursor_get(c, &k, &v, KV_SET_RANGE);
	/* the cursor's own token was on the previous page */
	if (rc == 0 && start.len != pre.len && k.mv_size == start.len &&
	    memcmp(k.mv_data, start.buf, start.len) == 0)
		rc = kv_cursor_get(c, &k, &v, KV_NEXT);
	for (; rc == 0; rc = kv_cursor_get(c, &k, &v, KV_NEXT)) {
		if (k.mv_size < pre.len + TOKEN_ID_LEN ||
		    memcmp(k.mv_data, pre.buf, pre.len) != 0)
			break;
		if (seen == max) {
			if (!again)
				snprintf(next_cursor, next_cursor_len, "%s/%s",
				    out[*n - 1].user_id, out[*n - 1].id);
			break;
		}
		seen++;
		memcpy(id, (const uint8_t *)k.mv_data + k.mv_size -
		    TOKEN_ID_LEN, TOKEN_ID_LEN);
		id[TOKEN_ID_LEN] = '\0';
		/*
		 * A token whose record is still being fetched: the rest of
		 * the page is read all the same, so that every fetch the
		 * page needs goes out in one wave, not one per token.
		 */
		if ((rc = token_by_id(st, txn, id, hash, &out[*n],
		    parent)) == KV_AGAIN) {
			again = 1;
			continue;
		}
		if (rc != 0)
			break;
		if (!owner_entry_matches(&k, &out[*n])) {
			rc = MDB_CORRUPTED;
			break;
		}
		(*n)++;
	}
	if (again && (rc == 0 || rc == MDB_NOTFOUND))
		rc = KV_AGAIN;
	ret = rc == 0 || rc == MDB_NOTFOUND ? ST_OK : store_mdb_err(rc);
	kv_cursor_close(c);
	store_rtxn_done(st);
	return ret;
}

/*
 * Schema 1 stores had token records only: index them (no parents).  Run
 * before the records are tagged (schema 4).
 */
int
token_index_build(struct store *st, struct kv_txn *txn)
{
	char parent[TOKEN_ID_LEN + 1];
	struct token_meta t;
	struct okey ok;
	struct kv_cursor *c;
	MDB_val k, v, ik, e;
	int rc;

	if ((rc = kv_cursor_open(txn, KV_TOKENS, &c)) != 0)
		return rc;
	for (rc = kv_cursor_get(c, &k, &v, KV_FIRST); rc == 0;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT)) {
		if (token_decode(v.mv_data, v.mv_size, &t, parent) == -1 ||
		    okey_build(&ok, t.org_id, t.user_id, t.id) == -1) {
			rc = MDB_CORRUPTED;
			break;
		}
		ik.mv_size = TOKEN_ID_LEN;
		ik.mv_data = t.id;
		if ((rc = kv_put(txn, KV_TOKEN_IDS, &ik, &k, 0)) != 0)
			break;
		ik.mv_size = ok.len;
		ik.mv_data = ok.buf;
		e.mv_size = 0;
		e.mv_data = "";
		if ((rc = kv_put(txn, KV_TOKEN_OWNERS, &ik, &e, 0)) != 0)
			break;
	}
	kv_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static const char absent[] = "is absent";
static const char unreadable[] =
    "could not be checked: the store did not answer";

/* For the walk: a read's answer as a reason, NULL when it was found. */
static const char *
read_failed(int rc)
{
	if (rc == 0)
		return NULL;
	return rc == MDB_NOTFOUND ? absent : unreadable;
}

/*
 * For the store's walk (schema 4): a tagged token record k, v that its
 * id and owner entries (and its parent's child entry) lead to, or an
 * index entry k, v of database name that leads to a token record
 * naming it.  NULL when it does, else why not.
 */
const char *
token_links_check(struct store *st, struct kv_txn *txn, const char *name,
    const MDB_val *k, const MDB_val *v)
{
	char parent[TOKEN_ID_LEN + 1], id[TOKEN_ID_LEN + 1];
	uint8_t hash[TOKEN_HASH_LEN], ck[CKEY_LEN];
	struct token_meta t;
	struct okey ok;
	const char *why;
	MDB_val ik, iv;

	if (strcmp(name, "tokens") == 0) {
		if ((why = token_record_check(st, k, v, &t, parent)) != NULL)
			return why;
		ik.mv_size = TOKEN_ID_LEN;
		ik.mv_data = t.id;
		if ((why = read_failed(kv_get(txn, KV_TOKEN_IDS, &ik,
		    &iv))) != NULL)
			return why != absent ? why :
			    "is not the one its id entry leads to";
		if (iv.mv_size != TOKEN_HASH_LEN ||
		    memcmp(iv.mv_data, k->mv_data, TOKEN_HASH_LEN) != 0)
			return "is not the one its id entry leads to";
		if (okey_build(&ok, t.org_id, t.user_id, t.id) == -1)
			return "does not decode";
		ik.mv_size = ok.len;
		ik.mv_data = ok.buf;
		if ((why = read_failed(kv_get(txn, KV_TOKEN_OWNERS, &ik,
		    &iv))) != NULL)
			return why != absent ? why : "has no owner entry";
		if (parent[0] == '\0')
			return NULL;
		ckey_build(ck, parent, t.id);
		ik.mv_size = CKEY_LEN;
		ik.mv_data = ck;
		why = read_failed(kv_get(txn, KV_TOKEN_CHILDREN, &ik, &iv));
		return why != absent ? why :
		    "has no child entry under its parent";
	}
	/* an index entry: the id it names, then that token's record */
	if (strcmp(name, "token_ids") == 0) {
		if (k->mv_size != TOKEN_ID_LEN || v->mv_size != TOKEN_HASH_LEN)
			return "has a bad length";
		memcpy(id, k->mv_data, TOKEN_ID_LEN);
	} else if (strcmp(name, "token_owners") == 0) {
		if (k->mv_size < TOKEN_ID_LEN || v->mv_size != 0)
			return "has a bad length";
		memcpy(id, (const uint8_t *)k->mv_data + k->mv_size -
		    TOKEN_ID_LEN, TOKEN_ID_LEN);
	} else if (strcmp(name, "token_children") == 0) {
		if (k->mv_size != CKEY_LEN || v->mv_size != 0)
			return "has a bad length";
		memcpy(id, (const uint8_t *)k->mv_data + TOKEN_ID_LEN,
		    TOKEN_ID_LEN);
	} else
		return "is in an unknown database";
	id[TOKEN_ID_LEN] = '\0';
	if (!valid_token_id(id, TOKEN_ID_LEN))
		return "names no token id";
	switch (token_by_id(st, txn, id, hash, &t, parent)) {
	case 0:
		break;
	case MDB_NOTFOUND:
		return "names a token that has no record";
	case KV_AGAIN:
	case KV_UNAVAILABLE:
		return unreadable;
	default:
		return "leads to a token record that is not its token's";
	}
	if (strcmp(name, "token_owners") == 0 && !owner_entry_matches(k, &t))
		return "is not its token's owner";
	if (strcmp(name, "token_children") == 0 &&
	    memcmp(parent, k->mv_data, TOKEN_ID_LEN) != 0)
		return "names a child of another token";
	return NULL;
}
