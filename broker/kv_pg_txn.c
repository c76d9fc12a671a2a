/*
 * Write transactions of the PostgreSQL engine: one SQL transaction per
 * call (one group commit), on the commit connection.
 *
 * BEGIN, then this batch's marker row in secretd.commits, then the body
 * runs against an overlay: its writes stay in memory, and its reads see
 * the overlay first, then the rows fetched in this transaction with FOR
 * UPDATE.  A row not fetched yet answers KV_AGAIN: the engine fetches
 * (and so locks) every row the run missed, in key order, and runs the
 * body again from a fresh overlay.  When a run goes through, the
 * overlay goes out as UPDATE (rows read as present), INSERT (read as
 * absent: another node's insert of the same key then fails with 23505
 * instead of being overwritten), INSERT ... ON CONFLICT (never read) and
 * DELETE, one statement per table and kind taking the rows as arrays,
 * then COMMIT, in one pipeline; done runs on COMMIT's result.
 *
 * A conflict (23505, 40001, 40P01) rolls back and runs the batch again,
 * at most PG_RETRIES times.  A connection lost runs it again once a
 * connection is back, under the same batch number: if the lost COMMIT
 * went through, the marker's INSERT fails with 23505 and the batch is
 * known to be in.  Past the store's timeout: done(ST_BUSY).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "store_int.h"
#include "kv_pg.h"

enum pg_tx_step { TX_BEGIN = 1, TX_MARKER, TX_RANGE, TX_LOCK, TX_LOCKS,
	TX_UPDATE, TX_WRITE, TX_COMMIT };

enum pg_tx_phase { TP_WAIT, TP_LOCKING, TP_COMMITTING };

#define LOCK_BUCKETS	4096

/* A row (get) or a page of rows fetched FOR UPDATE in this attempt. */
struct pg_lock {
	struct pg_lock	*next;
	struct pg_lock	*also;		/* same bucket (get), next page */
	struct pg_lock	*sibling;	/* the next get of its statement */
	int		 page;
	enum kv_table	 tb;
	uint8_t		*key;
	size_t		 klen;
	int		 sent;
	int		 done;
	struct pg_answer a;
};

/* A write of the body's run, not yet sent. */
struct pg_ov {
	enum kv_table	 tb;
	uint8_t		*k;
	size_t		 klen;
	uint8_t		*v;
	size_t		 vlen;
	int		 del;
};

struct pg_txn {
	struct kv_txn	 h;
	struct pg	*pg;
	store_txn_fn	 fn;
	void		*arg;
	store_done_fn	 done;
	void		*darg;
	uint64_t	 batch;
	uint64_t	 deadline;
	int		 conflicts;
	enum pg_tx_phase phase;
	struct pg_lock	*locks;
	/*
	 * The same locks again, for lookups: gets by key, pages apart.  A
	 * quota counts thousands of rows, read at every run of the body.
	 */
	struct pg_lock	*gets[LOCK_BUCKETS];
	struct pg_lock	*pages;
	size_t		 unsent;	/* locks the last run asked for */
	struct pg_ov	*ov;
	size_t		 nov, ovcap;
	char		 sqlstate[6];	/* the first error of the pipeline */
	int		 settled;	/* the marker says: committed before */
	int		 unknown;	/* a COMMIT sent, its answer lost */
	int		 forged;	/* a marker no COMMIT of ours made */
	int		 lost_update;	/* an UPDATE missed a row */
	uint64_t	 update_want;	/* rows the UPDATEs sent */
	uint64_t	 updated;	/* rows they changed */
};

static void attempt_begin(struct pg_txn *);

static void
locks_free(struct pg_txn *t)
{
	struct pg_lock *l;

	while ((l = t->locks) != NULL) {
		t->locks = l->next;
		pg_answer_free(&l->a);
		free(l->key);
		free(l);
	}
	memset(t->gets, 0, sizeof(t->gets));
	t->pages = NULL;
	t->unsent = 0;
}

/* FNV-1a: the buckets only spread keys, nobody chooses them. */
static size_t
lock_bucket(enum kv_table tb, const uint8_t *k, size_t klen)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)tb;
	size_t i;

	for (i = 0; i < klen; i++)
		h = (h ^ k[i]) * 0x100000001b3ULL;
	return (size_t)(h % LOCK_BUCKETS);
}

static struct pg_lock *
get_lock_find(struct pg_txn *t, enum kv_table tb, const uint8_t *k,
    size_t klen)
{
	struct pg_lock *l;

	for (l = t->gets[lock_bucket(tb, k, klen)]; l != NULL; l = l->also)
		if (l->tb == tb && pg_keycmp(l->key, l->klen, k, klen) == 0)
			return l;
	return NULL;
}

static void
ov_clear(struct pg_txn *t)
{
	size_t i;

	for (i = 0; i < t->nov; i++) {
		free(t->ov[i].k);
		free(t->ov[i].v);
	}
	t->nov = 0;
}

static void
txn_free(struct pg_txn *t)
{
	locks_free(t);
	ov_clear(t);
	free(t->ov);
	free(t);
}

/* The transaction is over: done(status), once. */
static void
finish(struct pg_txn *t, int status)
{
	store_done_fn done = t->done;
	void *darg = t->darg;
	struct pg_conn *pc = &t->pg->wr;
	size_t i;

	/* BEGIN and the marker of a body that failed at once are still out */
	for (i = pc->qhead; i < pc->qlen; i++)
		if (pc->q[i].p == t)
			pc->q[i].p = NULL;
	if (t->pg->txn == t)
		t->pg->txn = NULL;
	txn_free(t);
	done(darg, status);
}

static struct pg_ov *
ov_find(struct pg_txn *t, enum kv_table tb, const uint8_t *k, size_t klen)
{
	size_t i;

	for (i = 0; i < t->nov; i++)
		if (t->ov[i].tb == tb &&
		    pg_keycmp(t->ov[i].k, t->ov[i].klen, k, klen) == 0)
			return &t->ov[i];
	return NULL;
}

/*
 * What the rows fetched in this transaction say of key k: 1 and
 * *found and *v when a get of it or a page spanning it came back, else 0.
 */
static int
lock_peek(struct pg_txn *t, enum kv_table tb, const uint8_t *k, size_t klen,
    int *found, MDB_val *v)
{
	const struct pg_lock *l;
	const struct pg_row *last;
	size_t i;

	if ((l = get_lock_find(t, tb, k, klen)) != NULL && l->done) {
		*found = l->a.found;
		v->mv_data = l->a.row.v;
		v->mv_size = l->a.row.vlen;
		return 1;
	}
	for (l = t->pages; l != NULL; l = l->also) {
		if (!l->done || l->tb != tb)
			continue;
		if (pg_keycmp(l->key, l->klen, k, klen) > 0)
			continue;
		last = l->a.nrows ? &l->a.rows[l->a.nrows - 1] : NULL;
		if (l->a.full && pg_keycmp(k, klen, last->k, last->klen) > 0)
			continue;
		*found = 0;
		for (i = 0; i < l->a.nrows; i++)
			if (pg_keycmp(l->a.rows[i].k, l->a.rows[i].klen, k,
			    klen) == 0) {
				*found = 1;
				v->mv_data = l->a.rows[i].v;
				v->mv_size = l->a.rows[i].vlen;
				break;
			}
		return 1;
	}
	return 0;
}

/* A fetch FOR UPDATE the run needs; sent once the run gave up. */
static int
want(struct pg_txn *t, int page, enum kv_table tb, const uint8_t *k,
    size_t klen)
{
	struct pg_lock *l;
	size_t b = 0;

	if (!page && get_lock_find(t, tb, k, klen) != NULL)
		return KV_AGAIN;
	for (l = page ? t->pages : NULL; l != NULL; l = l->also)
		if (l->tb == tb && pg_keycmp(l->key, l->klen, k, klen) == 0)
			return KV_AGAIN;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->key = malloc(klen + 1)) == NULL) {
		free(l);
		return ENOMEM;
	}
	memcpy(l->key, k, klen);
	l->klen = klen;
	l->page = page;
	l->tb = tb;
	l->next = t->locks;
	t->locks = l;
	if (page) {
		l->also = t->pages;
		t->pages = l;
	} else {
		b = lock_bucket(tb, k, klen);
		l->also = t->gets[b];
		t->gets[b] = l;
	}
	t->unsent++;
	return KV_AGAIN;
}

int
pg_txn_get(struct kv_txn *h, enum kv_table tb, const MDB_val *k, MDB_val *v)
{
	struct pg_txn *t = (struct pg_txn *)h;
	struct pg_ov *o;
	int found;

	if ((o = ov_find(t, tb, k->mv_data, k->mv_size)) != NULL) {
		if (o->del)
			return MDB_NOTFOUND;
		v->mv_data = o->v;
		v->mv_size = o->vlen;
		return 0;
	}
	if (lock_peek(t, tb, k->mv_data, k->mv_size, &found, v))
		return found ? 0 : MDB_NOTFOUND;
	return want(t, 0, tb, k->mv_data, k->mv_size);
}

static struct pg_ov *
ov_add(struct pg_txn *t, enum kv_table tb, const MDB_val *k)
{
	struct pg_ov *o, *ov;
	size_t cap;

	if ((o = ov_find(t, tb, k->mv_data, k->mv_size)) != NULL) {
		free(o->v);
		o->v = NULL;
		o->vlen = 0;
		return o;
	}
	if (t->nov == t->ovcap) {
		cap = t->ovcap ? t->ovcap * 2 : 32;
		if ((ov = reallocarray(t->ov, cap, sizeof(*ov))) == NULL)
			return NULL;
		t->ov = ov;
		t->ovcap = cap;
	}
	o = &t->ov[t->nov];
	memset(o, 0, sizeof(*o));
	if ((o->k = malloc(k->mv_size + 1)) == NULL)
		return NULL;
	memcpy(o->k, k->mv_data, k->mv_size);
	o->klen = k->mv_size;
	o->tb = tb;
	t->nov++;
	return o;
}

int
pg_txn_put(struct kv_txn *h, enum kv_table tb, const MDB_val *k, MDB_val *v,
    unsigned int flags)
{
	struct pg_txn *t = (struct pg_txn *)h;
	struct pg_ov *o;

	if ((o = ov_add(t, tb, k)) == NULL)
		return ENOMEM;
	o->del = 0;
	if ((o->v = malloc(v->mv_size + 1)) == NULL) {
		o->del = 1;
		return ENOMEM;
	}
	o->vlen = v->mv_size;
	if (flags & KV_RESERVE)
		v->mv_data = o->v;
	else
		memcpy(o->v, v->mv_data, v->mv_size);
	return 0;
}

/* LMDB's answer for a key that is not there: MDB_NOTFOUND. */
int
pg_txn_del(struct kv_txn *h, enum kv_table tb, const MDB_val *k)
{
	struct pg_txn *t = (struct pg_txn *)h;
	MDB_val v;
	int rc;

	if ((rc = pg_txn_get(h, tb, k, &v)) != 0)
		return rc;
	if (ov_add(t, tb, k) == NULL)
		return ENOMEM;
	ov_find(t, tb, k->mv_data, k->mv_size)->del = 1;
	return 0;
}

/* The first row in the database >= x, from the pages fetched. */
static int
db_seek(struct pg_txn *t, enum kv_table tb, const uint8_t *x, size_t xlen,
    const struct pg_row **out)
{
	const struct pg_lock *l;
	size_t i;

	for (l = t->pages; l != NULL; l = l->also) {
		if (!l->done || l->tb != tb ||
		    pg_keycmp(l->key, l->klen, x, xlen) > 0)
			continue;
		for (i = 0; i < l->a.nrows; i++)
			if (pg_keycmp(l->a.rows[i].k, l->a.rows[i].klen, x,
			    xlen) >= 0) {
				*out = &l->a.rows[i];
				return 0;
			}
		if (!l->a.full)
			return MDB_NOTFOUND;
	}
	return want(t, 1, tb, x, xlen);
}

/* The key right after k: k and a NUL byte. */
static uint8_t *
key_after(const uint8_t *k, size_t len)
{
	uint8_t *p;

	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(p, k, len);
	p[len] = '\0';
	return p;
}

/* The cursor on the first key >= x, the overlay over the database. */
static int
cursor_seek(struct pg_cursor *c, const uint8_t *x0, size_t x0len,
    MDB_val *k, MDB_val *v)
{
	struct pg_txn *t = (struct pg_txn *)c->h.txn;
	const struct pg_row *d = NULL;
	const struct pg_ov *o = NULL, *od;
	uint8_t *x = NULL, *nx;
	size_t i, xlen = x0len;
	int rc;

	for (;;) {
		rc = db_seek(t, c->tb, x ? x : x0, xlen, &d);
		if (rc == MDB_NOTFOUND)
			d = NULL;
		else if (rc != 0)
			goto out;
		if (d == NULL || (od = ov_find(t, c->tb, d->k, d->klen)) == NULL ||
		    !od->del)
			break;
		/* deleted in this transaction: look past it */
		if ((nx = key_after(d->k, d->klen)) == NULL) {
			rc = ENOMEM;
			goto out;
		}
		free(x);
		x = nx;
		xlen = d->klen + 1;
	}
	for (i = 0; i < t->nov; i++) {
		if (t->ov[i].tb != c->tb || t->ov[i].del ||
		    pg_keycmp(t->ov[i].k, t->ov[i].klen, x0, x0len) < 0)
			continue;
		if (o == NULL || pg_keycmp(t->ov[i].k, t->ov[i].klen, o->k,
		    o->klen) < 0)
			o = &t->ov[i];
	}
	if (d != NULL && o != NULL && pg_keycmp(d->k, d->klen, o->k,
	    o->klen) < 0)
		o = NULL;
	else if (o != NULL)
		d = NULL;
	rc = MDB_NOTFOUND;
	c->on = 0;
	if (d == NULL && o == NULL)
		goto out;
	free(c->cur);
	c->curlen = o ? o->klen : d->klen;
	if ((c->cur = key_after(o ? o->k : d->k, c->curlen)) == NULL) {
		rc = ENOMEM;
		goto out;
	}
	c->on = 1;
	k->mv_data = c->cur;
	k->mv_size = c->curlen;
	v->mv_data = o ? o->v : d->v;
	v->mv_size = o ? o->vlen : d->vlen;
	rc = 0;
out:
	free(x);
	return rc;
}

int
pg_txn_cursor_get(struct kv_cursor *h, MDB_val *k, MDB_val *v, enum kv_op op)
{
	struct pg_cursor *c = (struct pg_cursor *)h;
	uint8_t *x;
	int rc;

	switch (op) {
	case KV_FIRST:
		return cursor_seek(c, (const uint8_t *)"", 0, k, v);
	case KV_SET_RANGE:
		return cursor_seek(c, k->mv_data, k->mv_size, k, v);
	case KV_NEXT:
		if (!c->on)
			return EINVAL;
		if ((x = key_after(c->cur, c->curlen)) == NULL)
			return ENOMEM;
		rc = cursor_seek(c, x, c->curlen + 1, k, v);
		free(x);
		return rc;
	}
	return EINVAL;
}

/* ---- the transaction on the commit connection ---- */

static int
lock_cmp(const void *a, const void *b)
{
	const struct pg_lock *x = *(struct pg_lock *const *)a;
	const struct pg_lock *y = *(struct pg_lock *const *)b;

	if (x->tb != y->tb)
		return x->tb < y->tb ? -1 : 1;
	if (x->page != y->page)
		return x->page < y->page ? -1 : 1;
	return pg_keycmp(x->key, x->klen, y->key, y->klen);
}

/*
 * FOR UPDATE locks the rows a page holds, not the gaps between them:
 * a row another node inserts into a range while this transaction counts
 * it (a user's tokens against a quota) would not be seen.  Every
 * transaction that pages a range from the same key first takes the same
 * transaction-scoped advisory lock, so such transactions take turns, and
 * the later one's page (a statement of its own, READ COMMITTED) sees the
 * earlier one's rows.  The lock's number is the same on every node.
 */
static int
range_lock_send(struct pg_txn *t, const struct pg_lock *l)
{
	static const uint8_t hkey[crypto_shorthash_KEYBYTES] =
	    "secretd ranges.";
	uint8_t h[crypto_shorthash_BYTES], *buf;
	const char *values[1];
	char num[24];
	int64_t id;

	if ((buf = malloc(l->klen + 1)) == NULL)
		return -1;
	buf[0] = (uint8_t)l->tb;
	memcpy(buf + 1, l->key, l->klen);
	crypto_shorthash(h, buf, l->klen + 1, hkey);
	free(buf);
	memcpy(&id, h, sizeof(id));
	snprintf(num, sizeof(num), "%lld", (long long)id);
	values[0] = num;
	return pg_send_sql(t->pg, &t->pg->wr, "range_lock", NULL, 1, values,
	    NULL, NULL, PI_TX, t, TX_RANGE);
}

/*
 * The rows the run missed, locked in table and key order: a table's
 * gets as one statement of an array of keys, then its pages.
 */
static int
locks_send(struct pg_txn *t)
{
	struct pg *pg = t->pg;
	struct pg_lock **v, *l;
	struct pg_wrow *keys = NULL;
	size_t i, j, n = 0, m;
	MDB_val k;
	int rc = -1;

	if ((v = calloc(t->unsent, sizeof(*v))) == NULL ||
	    (keys = calloc(t->unsent, sizeof(*keys))) == NULL)
		goto out;
	for (l = t->locks; l != NULL && n < t->unsent; l = l->next)
		if (!l->sent)
			v[n++] = l;
	qsort(v, n, sizeof(*v), lock_cmp);
	for (i = 0; i < n; i = j) {
		if (v[i]->page) {
			k.mv_data = v[i]->key;
			k.mv_size = v[i]->klen;
			if (range_lock_send(t, v[i]) == -1 || pg_send(pg,
			    &pg->wr, PS_PAGE_LOCK, v[i]->tb, &k, PI_TX, v[i],
			    TX_LOCK) == -1)
				goto out;
			v[i]->sent = 1;
			j = i + 1;
			continue;
		}
		for (j = i, m = 0; j < n && !v[j]->page &&
		    v[j]->tb == v[i]->tb; j++, m++) {
			keys[m] = (struct pg_wrow){ v[j]->key, v[j]->klen,
			    NULL, 0 };
			v[j]->sibling = j + 1 < n && !v[j + 1]->page &&
			    v[j + 1]->tb == v[i]->tb ? v[j + 1] : NULL;
			v[j]->sent = 1;
		}
		if (pg_send_rows(pg, &pg->wr, PS_GET_LOCKS, v[i]->tb, keys, m,
		    PI_TX, v[i], TX_LOCKS) == -1)
			goto out;
	}
	rc = 0;
out:
	free(keys);
	free(v);
	t->unsent = 0;
	return rc;
}

/*
 * The answer to a statement of gets: its rows in key order, matched to
 * the gets, in key order too, that asked for them; a get without its
 * row found the key absent.
 */
static int
locks_fill(struct pg_lock *l, const PGresult *r)
{
	int i = 0, n = PQntuples(r), c = 1, len;

	for (; l != NULL; l = l->sibling) {
		l->done = 1;
		for (; i < n; i++)
			if ((c = pg_keycmp((const uint8_t *)PQgetvalue(r, i, 0),
			    (size_t)PQgetlength(r, i, 0), l->key,
			    l->klen)) >= 0)
				break;
		if (i == n || c != 0)
			continue;
		len = PQgetlength(r, i, 1);
		if ((l->a.row.v = malloc((size_t)len + 1)) == NULL)
			return -1;
		memcpy(l->a.row.v, PQgetvalue(r, i, 1), (size_t)len);
		l->a.row.vlen = (size_t)len;
		l->a.bytes = (size_t)len;
		l->a.found = 1;
		i++;
	}
	return 0;
}

/* An overlay write and the statement that sends it. */
struct pg_out {
	const struct pg_ov *o;
	enum pg_stmt	 s;
};

/* By table, statement, key: each statement's rows in key order, so that
 * two nodes writing the same rows lock them in the same order. */
static int
out_cmp(const void *a, const void *b)
{
	const struct pg_out *x = a, *y = b;

	if (x->o->tb != y->o->tb)
		return x->o->tb < y->o->tb ? -1 : 1;
	if (x->s != y->s)
		return x->s < y->s ? -1 : 1;
	return pg_keycmp(x->o->k, x->o->klen, y->o->k, y->o->klen);
}

/* The overlay as one statement per table and kind, then COMMIT. */
static int
writes_send(struct pg_txn *t)
{
	struct pg *pg = t->pg;
	struct pg_out *out = NULL;
	struct pg_wrow *rows = NULL;
	const struct pg_ov *o;
	MDB_val v;
	size_t i, j, n;
	int found, rc = -1;

	t->update_want = 0;
	if (t->nov > 0 && ((out = calloc(t->nov, sizeof(*out))) == NULL ||
	    (rows = calloc(t->nov, sizeof(*rows))) == NULL))
		goto out;
	for (i = 0; i < t->nov; i++) {
		o = out[i].o = &t->ov[i];
		if (o->del)
			out[i].s = PS_DELETE;
		else if (!lock_peek(t, o->tb, o->k, o->klen, &found, &v))
			out[i].s = PS_UPSERT;
		else
			out[i].s = found ? PS_UPDATE : PS_INSERT;
	}
	if (t->nov > 0)
		qsort(out, t->nov, sizeof(*out), out_cmp);
	for (i = 0; i < t->nov; i = j) {
		for (j = i, n = 0; j < t->nov && out[j].o->tb == out[i].o->tb &&
		    out[j].s == out[i].s; j++, n++)
			rows[n] = (struct pg_wrow){ out[j].o->k, out[j].o->klen,
			    out[j].o->v, out[j].o->vlen };
		if (out[i].s == PS_UPDATE)
			t->update_want += n;
		if (pg_send_rows(pg, &pg->wr, out[i].s, out[i].o->tb, rows, n,
		    PI_TX, t, out[i].s == PS_UPDATE ? TX_UPDATE : TX_WRITE) ==
		    -1)
			goto out;
	}
	rc = pg_send_sql(pg, &pg->wr, "commit", NULL, 0, NULL, NULL, NULL,
	    PI_TX, t, TX_COMMIT);
out:
	free(rows);
	free(out);
	return rc;
}

/*
 * A commit went through: the secrets it added or removed join the
 * metrics' count at once, not at the next query of the database.  A
 * write made without reading the row first (an upsert) could be either:
 * the count is queried again instead.
 */
static void
count_commit(struct pg_txn *t)
{
	struct pg *pg = t->pg;
	const struct pg_ov *o;
	MDB_val v;
	int64_t d = 0;
	size_t i;
	int found;

	for (i = 0; i < t->nov; i++) {
		o = &t->ov[i];
		if (o->tb != KV_SECRETS)
			continue;
		if (!lock_peek(t, o->tb, o->k, o->klen, &found, &v))
			pg->stats_at = 0;
		else if (o->del && found)
			d--;
		else if (!o->del && !found)
			d++;
	}
	pg->count_delta += d;
	pg->count = d < 0 && (uint64_t)-d > pg->count ? 0 :
	    (size_t)((int64_t)pg->count + d);
}

/* Rolls the connection's transaction back; nobody waits for it. */
static int
rollback_send(struct pg *pg)
{
	return pg_send_sql(pg, &pg->wr, "rollback", NULL, 0, NULL, NULL, NULL,
	    PI_IGNORE, NULL, 0) == -1 || pg_sync(&pg->wr, NULL, 0) == -1 ?
	    -1 : 0;
}

static void
lost(struct pg *pg)
{
	pg_conn_drop(pg, &pg->wr, PQerrorMessage(pg->wr.c));
}

static int
status_of(int rc)
{
	if (rc == KV_AGAIN || rc == KV_UNAVAILABLE)
		return ST_BUSY;
	if (rc == ENOMEM)
		return ST_NOMEM;
	return store_mdb_err(rc);
}

/* The body once more, from a fresh overlay; then locks or the commit. */
static void
run_body(struct pg_txn *t)
{
	struct pg *pg = t->pg;
	int rc, err = ST_OK;

	ov_clear(t);
	rc = t->fn(pg->st, &t->h, t->arg, &err);
	if (t->unsent > 0) {
		if (locks_send(t) == -1 || pg_sync(&pg->wr, t, 1) == -1) {
			lost(pg);
			return;
		}
		t->phase = TP_LOCKING;
		return;
	}
	if (err != ST_OK || rc != 0) {
		if (rollback_send(pg) == -1)
			lost(pg);
		finish(t, err != ST_OK ? err : status_of(rc));
		return;
	}
	/* From here a lost connection may have taken a COMMIT that ran. */
	t->phase = TP_COMMITTING;
	if (writes_send(t) == -1 || pg_sync(&pg->wr, t, 1) == -1)
		lost(pg);
}

/* BEGIN and the marker, then the body: the whole batch, from scratch. */
static void
attempt_begin(struct pg_txn *t)
{
	struct pg *pg = t->pg;
	const char *values[2];
	char batch[24];

	locks_free(t);
	ov_clear(t);
	t->sqlstate[0] = '\0';
	t->lost_update = 0;
	t->update_want = t->updated = 0;
	t->phase = TP_WAIT;
	if (pg->wr.state != PC_READY)
		return;
	snprintf(batch, sizeof(batch), "%llu", (unsigned long long)t->batch);
	values[0] = pg->node;
	values[1] = batch;
	if (pg_send_sql(pg, &pg->wr, "begin", NULL, 0, NULL, NULL, NULL,
	    PI_TX, t, TX_BEGIN) == -1 ||
	    pg_send_sql(pg, &pg->wr, "marker", NULL, 2, values, NULL, NULL,
	    PI_TX, t, TX_MARKER) == -1) {
		lost(pg);
		return;
	}
	t->phase = TP_LOCKING;
	/*
	 * A COMMIT's answer was lost: first the marker says whether it
	 * ran.  The body runs only if it did not: a run stopped by a lock
	 * would leave the ops half made, and they are the replies.
	 */
	if (t->unknown) {
		if (pg_sync(&pg->wr, t, 1) == -1)
			lost(pg);
		return;
	}
	run_body(t);
}

void
pg_txn_result(struct pg *pg, struct pg_item *it, const PGresult *r)
{
	struct pg_txn *t = pg->txn;
	struct pg_lock *l;
	char line[512];
	ExecStatusType s = PQresultStatus(r);
	const char *code;

	if (t == NULL || (it->tx != TX_LOCK && it->tx != TX_LOCKS &&
	    it->p != t))
		return;
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		if (s == PGRES_PIPELINE_ABORTED || t->sqlstate[0] != '\0')
			return;
		code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		snprintf(t->sqlstate, sizeof(t->sqlstate), "%s",
		    code ? code : "XX000");
		/*
		 * Only a COMMIT whose answer was lost can have left our
		 * marker; one there before is someone else's word.
		 */
		if (it->tx == TX_UPDATE && strcmp(t->sqlstate, "22012") == 0)
			t->lost_update = 1;	/* see PS_UPDATE */
		else if (it->tx == TX_MARKER &&
		    strcmp(t->sqlstate, "23505") == 0 && t->unknown)
			t->settled = 1;
		else if (it->tx == TX_MARKER &&
		    strcmp(t->sqlstate, "23505") == 0) {
			t->forged = 1;
			log_warnx("postgresql: commit: batch %llu is marked "
			    "committed, yet no COMMIT of it was sent: "
			    "secretd.commits was edited; refused",
			    (unsigned long long)t->batch);
		}
		else if (strcmp(t->sqlstate, "23505") != 0 &&
		    strcmp(t->sqlstate, "40001") != 0 &&
		    strcmp(t->sqlstate, "40P01") != 0)
			log_warnx("postgresql: commit: %s",
			    pg_oneline(PQresultErrorMessage(r), line,
			    sizeof(line)));
		return;
	}
	switch (it->tx) {
	case TX_LOCK:
		l = it->p;
		if (pg_answer_fill(&l->a, r, l->page) == -1)
			snprintf(t->sqlstate, sizeof(t->sqlstate), "53200");
		l->done = 1;
		break;
	case TX_LOCKS:
		if (locks_fill(it->p, r) == -1)
			snprintf(t->sqlstate, sizeof(t->sqlstate), "53200");
		break;
	case TX_UPDATE:
		t->updated += pg_be_int(r);	/* binary results */
		break;
	default:
		break;
	}
}

static int
retryable(const struct pg_txn *t)
{
	return t->lost_update || strcmp(t->sqlstate, "23505") == 0 ||
	    strcmp(t->sqlstate, "40001") == 0 ||
	    strcmp(t->sqlstate, "40P01") == 0;
}

/* The end of a pipeline of the transaction: what comes next. */
void
pg_txn_sync(struct pg *pg, struct pg_item *it)
{
	struct pg_txn *t = pg->txn;
	int failed;

	if (t == NULL || it->p != t)
		return;
	/* rows read as present were locked: a miss is a bug, not a race */
	if (t->phase == TP_COMMITTING && t->sqlstate[0] == '\0' &&
	    t->updated != t->update_want)
		t->lost_update = 1;
	failed = t->sqlstate[0] != '\0' || t->lost_update;
	if (t->settled) {
		/* an earlier attempt's COMMIT went through */
		if (rollback_send(pg) == -1)
			lost(pg);
		pg->st->full = 0;
		pg->stats_at = 0;
		finish(t, ST_OK);
		return;
	}
	if (failed) {
		if (rollback_send(pg) == -1) {
			lost(pg);
			return;
		}
		if (strcmp(t->sqlstate, "53100") == 0) {
			pg->st->full = 1;
			finish(t, ST_FULL);
		} else if (t->forged)
			finish(t, ST_CORRUPT);
		else if (!retryable(t))
			finish(t, ST_IO);
		else if (++t->conflicts > PG_RETRIES || pg_now() >= t->deadline)
			finish(t, ST_BUSY);
		else
			attempt_begin(t);
		return;
	}
	if (t->phase == TP_LOCKING)
		run_body(t);
	else if (t->phase == TP_COMMITTING) {
		pg->st->full = 0;
		count_commit(t);
		finish(t, ST_OK);
	}
}

void
pg_txn_conn_lost(struct pg *pg)
{
	if (pg->txn == NULL)
		return;
	if (pg->txn->phase == TP_COMMITTING)
		pg->txn->unknown = 1;
	pg->txn->phase = TP_WAIT;
}

void
pg_txn_conn_ready(struct pg *pg)
{
	if (pg->txn != NULL && pg->txn->phase == TP_WAIT)
		attempt_begin(pg->txn);
}

/* Past the deadline: ST_BUSY, and the transaction's connection closed,
 * so that the server rolls back whatever it had not committed. */
void
pg_txn_tick(struct pg *pg, uint64_t now)
{
	struct pg_txn *t = pg->txn;

	if (t == NULL || now < t->deadline)
		return;
	pg->txn = NULL;
	if (t->phase != TP_WAIT)
		pg_conn_drop(pg, &pg->wr, "a commit passed its deadline");
	finish(t, ST_BUSY);
}

uint64_t
pg_txn_deadline(struct pg *pg)
{
	return pg->txn != NULL ? pg->txn->deadline : 0;
}

void
pg_txn_abandon(struct pg *pg)
{
	if (pg->txn != NULL) {
		txn_free(pg->txn);
		pg->txn = NULL;
	}
}

int
pg_write_start(struct store *st, store_txn_fn fn, void *arg,
    store_done_fn done, void *darg)
{
	struct pg *pg = pg_of(st);
	struct pg_txn *t;

	if (pg->txn != NULL)
		return ST_BUSY;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return ST_NOMEM;
	t->h.e = &pg_kv;
	t->h.st = st;
	t->h.write = 1;
	t->pg = pg;
	t->fn = fn;
	t->arg = arg;
	t->done = done;
	t->darg = darg;
	t->batch = ++pg->batch;
	t->deadline = pg_now() + (uint64_t)pg->timeout_ms;
	pg->txn = t;
	attempt_begin(t);
	return ST_OK;
}

struct write_wait {
	int	 over;
	int	 status;
};

static void
write_done(void *arg, int status)
{
	struct write_wait *w = arg;

	w->over = 1;
	w->status = status;
}

static int
write_over(struct pg *pg, void *arg)
{
	(void)pg;
	return ((struct write_wait *)arg)->over;
}

/* The blocking write of the offline commands: the same machinery. */
int
pg_write(struct store *st, store_txn_fn fn, void *arg)
{
	struct pg *pg = pg_of(st);
	struct write_wait w = { 0, ST_OK };
	int rc;

	if ((rc = pg_write_start(st, fn, arg, write_done, &w)) != ST_OK)
		return rc;
	(void)pg_loop(pg, write_over, &w, pg_now() +
	    (uint64_t)pg->timeout_ms + 1000);
	if (!w.over) {
		pg_txn_abandon(pg);
		return ST_BUSY;
	}
	return w.status;
}
