/*
 * The PostgreSQL engine's reads: the wave cache and the read view of a
 * run (kv.h's get and cursors outside a write transaction).
 *
 * A read whose answer is not in the cache records a fetch and answers
 * KV_AGAIN; at the end of the loop turn every fetch recorded during the
 * turn goes out as one pipeline, a wave, and the wave number advances.
 * An answer serves only runs of requests that arrived before its query
 * went out (wave <= the fetch's), so a row changed on another node
 * before a request arrived is never answered from an older read.  Until
 * the first run_begin (open, create, the offline commands) a read waits
 * for its answer in the engine's own poll loop instead.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store_int.h"
#include "kv_pg.h"

/* ---- answers ---- */

static int
copy_value(const PGresult *r, int row, int col, uint8_t **out, size_t *len)
{
	size_t n = (size_t)PQgetlength(r, row, col);

	if ((*out = malloc(n + 1)) == NULL)
		return -1;
	memcpy(*out, PQgetvalue(r, row, col), n);
	*len = n;
	return 0;
}

void
pg_answer_free(struct pg_answer *a)
{
	size_t i;

	free(a->row.v);
	for (i = 0; i < a->nrows; i++) {
		free(a->rows[i].k);
		free(a->rows[i].v);
	}
	free(a->rows);
	memset(a, 0, sizeof(*a));
}

int
pg_answer_fill(struct pg_answer *a, const PGresult *r, int page)
{
	int i, n = PQntuples(r);

	if (!page) {
		a->found = n > 0;
		if (n == 0)
			return 0;
		if (copy_value(r, 0, 0, &a->row.v, &a->row.vlen) == -1)
			return -1;
		a->bytes = a->row.vlen;
		return 0;
	}
	if (n > 0 && (a->rows = calloc((size_t)n, sizeof(*a->rows))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		a->nrows = (size_t)i + 1;
		if (copy_value(r, i, 0, &a->rows[i].k, &a->rows[i].klen) == -1 ||
		    copy_value(r, i, 1, &a->rows[i].v, &a->rows[i].vlen) == -1)
			return -1;
		a->bytes += a->rows[i].klen + a->rows[i].vlen;
	}
	a->full = n >= (page == PF_PAGE_BIG ? PG_PAGE_BIG : PG_PAGE);
	return 0;
}

/* ---- the wave cache ---- */

static uint64_t
fetch_hash(struct pg *pg, int page, enum kv_table tb, const uint8_t *k,
    size_t klen)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, k, klen, pg->hkey);
	memcpy(&v, h, sizeof(v));
	return v ^ ((uint64_t)tb << 1 | (uint64_t)page);
}

/* The best fetch a run of wave w may use: answered, else on its way. */
static struct pg_fetch *
fetch_find(struct pg *pg, int page, enum kv_table tb, const uint8_t *k,
    size_t klen, uint64_t w)
{
	uint64_t h = fetch_hash(pg, page, tb, k, klen);
	struct pg_fetch *f, *pending = NULL;

	for (f = pg->tab[h % pg->nbucket]; f != NULL; f = f->hnext) {
		if (f->hash != h || f->page != page || f->tb != tb ||
		    f->wave < w || pg_keycmp(f->key, f->klen, k, klen) != 0)
			continue;
		if (f->state == PF_DONE)
			return f;
		pending = f;
	}
	return pending;
}

static struct pg_fetch *
fetch_new(struct pg *pg, int page, enum kv_table tb, const uint8_t *k,
    size_t klen, uint64_t lo)
{
	struct pg_fetch *f;
	size_t b;

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->key = malloc(klen + 1)) == NULL) {
		free(f);
		return NULL;
	}
	memcpy(f->key, k, klen);
	f->klen = klen;
	f->page = page;
	f->tb = tb;
	f->hash = fetch_hash(pg, page, tb, k, klen);
	f->state = PF_UNSENT;
	f->wave = pg->wave;
	f->lo = lo;
	f->at = pg_now();
	b = f->hash % pg->nbucket;
	f->hnext = pg->tab[b];
	pg->tab[b] = f;
	TAILQ_INSERT_TAIL(&pg->fetches, f, entry);
	pg->nfetch++;
	pg->npending++;
	return f;
}

void
pg_fetch_free(struct pg *pg, struct pg_fetch *f)
{
	struct pg_fetch **pp;

	for (pp = &pg->tab[f->hash % pg->nbucket]; *pp != f;
	    pp = &(*pp)->hnext)
		;
	*pp = f->hnext;
	TAILQ_REMOVE(&pg->fetches, f, entry);
	if (f->state != PF_DONE)
		pg->npending--;
	else
		pg->cache_bytes -= f->a.bytes;
	pg->nfetch--;
	pg_answer_free(&f->a);
	free(f->key);
	free(f);
}

/*
 * An answer came.  Older answers to the same read serve only runs this
 * one serves too (waves <= theirs <= its), so they go; a run is never
 * under way here, except offline, where a cursor may still be on one.
 */
void
pg_fetch_done(struct pg *pg, struct pg_fetch *f)
{
	struct pg_fetch *o, *next;

	f->state = PF_DONE;
	pg->npending--;
	pg->cache_bytes += f->a.bytes;
	if (!pg->online)
		return;
	for (o = pg->tab[f->hash % pg->nbucket]; o != NULL; o = next) {
		next = o->hnext;
		if (o != f && o->state == PF_DONE && o->wave < f->wave &&
		    o->hash == f->hash && o->page == f->page && o->tb == f->tb &&
		    pg_keycmp(o->key, o->klen, f->key, f->klen) == 0)
			pg_fetch_free(pg, o);
	}
}

/*
 * Answers no request can use any more: one recorded before a request
 * arrived never serves it, and no request outlives its deadline.  Past
 * PG_CACHE_MAX answers or PG_CACHE_BYTES of rows the oldest go sooner: a
 * run that wanted one asks again.  A list reads pages of whole records,
 * from cursors its caller chooses: a count alone bounds nothing.  Offline, a cursor may stay on a page for longer: nothing
 * is dropped.
 */
void
pg_fetch_expire(struct pg *pg, uint64_t now)
{
	struct pg_fetch *f, *next;
	uint64_t age = (uint64_t)pg->timeout_ms + 1000;

	if (!pg->online)
		return;
	for (f = TAILQ_FIRST(&pg->fetches); f != NULL; f = next) {
		next = TAILQ_NEXT(f, entry);
		if (f->at + age > now && pg->nfetch <= PG_CACHE_MAX &&
		    pg->cache_bytes <= PG_CACHE_BYTES)
			break;
		if (f->state == PF_DONE)
			pg_fetch_free(pg, f);
	}
}

/*
 * Every fetch recorded since the last wave, as one pipeline.  They are
 * the newest: a wave sends all there are, and a fetch that failed with
 * its connection is forgotten, never made unsent again.
 */
void
pg_wave_send(struct pg *pg)
{
	struct pg_fetch *f;
	MDB_val k;
	int n = 0;

	if (pg->rd.state != PC_READY || pg->npending == 0)
		return;
	TAILQ_FOREACH_REVERSE(f, &pg->fetches, pg_fetchq, entry) {
		if (f->state != PF_UNSENT)
			break;
		k.mv_data = f->key;
		k.mv_size = f->klen;
		if (pg_send(pg, &pg->rd, f->page == PF_GET ? PS_GET :
		    f->page == PF_PAGE ? PS_PAGE : PS_PAGE_BIG, f->tb, &k,
		    PI_FETCH, f, 0) == -1) {
			pg_conn_drop(pg, &pg->rd, PQerrorMessage(pg->rd.c));
			return;
		}
		f->state = PF_SENT;
		n++;
	}
	if (n == 0)
		return;
	if (pg_sync(&pg->rd, NULL, 0) == -1) {
		pg_conn_drop(pg, &pg->rd, PQerrorMessage(pg->rd.c));
		return;
	}
	pg->wave++;
}

static int
none_pending(struct pg *pg, void *arg)
{
	(void)arg;
	return pg->npending == 0;
}

/*
 * The answer to a get (page 0) or a page of rows from k (page 1) for the
 * current run: 0 and *out, KV_AGAIN (recorded), KV_UNAVAILABLE.
 */
static int
view_fetch(struct pg *pg, int page, enum kv_table tb, const uint8_t *k,
    size_t klen, struct pg_fetch **out)
{
	struct pg_fetch *f;
	uint64_t w, deadline, now;

	w = pg->online ? pg->run_wave : pg->wave;
	f = fetch_find(pg, page, tb, k, klen, w);
	if (f != NULL && f->state == PF_DONE) {
		*out = f;
		return f->a.failed ? EIO : 0;
	}
	now = pg_now();
	if (pg->online) {
		if (pg->run_last || (pg->rd.down_since != 0 &&
		    now - pg->rd.down_since >= (uint64_t)pg->timeout_ms))
			return KV_UNAVAILABLE;
		if (f == NULL && (f = fetch_new(pg, page, tb, k, klen, w)) == NULL)
			return ENOMEM;
		if (f->lo > w)
			f->lo = w;
		pg->missed = 1;
		return KV_AGAIN;
	}
	deadline = now + (uint64_t)pg->timeout_ms;
	for (;;) {
		if (f == NULL && (f = fetch_new(pg, page, tb, k, klen,
		    pg->wave)) == NULL)
			return ENOMEM;
		w = f->wave;
		(void)pg_loop(pg, none_pending, NULL, deadline);
		f = fetch_find(pg, page, tb, k, klen, w);
		if (f != NULL && f->state == PF_DONE) {
			*out = f;
			return f->a.failed ? EIO : 0;
		}
		if (pg_now() >= deadline)
			return KV_UNAVAILABLE;
	}
}

/* ---- the read view ---- */

static int
view_get(struct pg *pg, enum kv_table tb, const MDB_val *k, MDB_val *v)
{
	struct pg_fetch *f;
	int rc;

	if ((rc = view_fetch(pg, PF_GET, tb, k->mv_data, k->mv_size, &f)) != 0)
		return rc;
	if (!f->a.found)
		return MDB_NOTFOUND;
	v->mv_data = f->a.row.v;
	v->mv_size = f->a.row.vlen;
	return 0;
}

static int
view_page(struct pg_cursor *c, int kind, const uint8_t *from, size_t len)
{
	struct pg *pg = pg_of(c->h.txn->st);
	int rc;

	c->on = 0;
	if ((rc = view_fetch(pg, kind, c->tb, from, len, &c->page)) != 0)
		return rc;
	c->i = 0;
	c->on = 1;
	return 0;
}

static int
view_cursor_get(struct pg_cursor *c, MDB_val *k, MDB_val *v, enum kv_op op)
{
	const struct pg_row *last;
	uint8_t *from;
	int rc;

	switch (op) {
	case KV_FIRST:
		rc = view_page(c, PF_PAGE, (const uint8_t *)"", 0);
		break;
	case KV_SET_RANGE:
		rc = view_page(c, PF_PAGE, k->mv_data, k->mv_size);
		break;
	case KV_NEXT:
		if (!c->on)
			return EINVAL;
		if (c->i + 1 < c->page->a.nrows) {
			c->i++;
			rc = 0;
			break;
		}
		if (!c->page->a.full)
			return MDB_NOTFOUND;
		/* the key right after the last: the same bytes and a NUL */
		last = &c->page->a.rows[c->page->a.nrows - 1];
		if ((from = malloc(last->klen + 1)) == NULL)
			return ENOMEM;
		memcpy(from, last->k, last->klen);
		from[last->klen] = '\0';
		rc = view_page(c, PF_PAGE_BIG, from, last->klen + 1);
		free(from);
		break;
	default:
		return EINVAL;
	}
	if (rc != 0)
		return rc;
	if (c->i >= c->page->a.nrows)
		return MDB_NOTFOUND;
	k->mv_data = c->page->a.rows[c->i].k;
	k->mv_size = c->page->a.rows[c->i].klen;
	v->mv_data = c->page->a.rows[c->i].v;
	v->mv_size = c->page->a.rows[c->i].vlen;
	return 0;
}

/* ---- kv.h, for both kinds of transaction ---- */

static int
kv_pg_get(struct kv_txn *t, enum kv_table tb, const MDB_val *k, MDB_val *v)
{
	if (t->write)
		return pg_txn_get(t, tb, k, v);
	return view_get(pg_of(t->st), tb, k, v);
}

static int
kv_pg_put(struct kv_txn *t, enum kv_table tb, const MDB_val *k, MDB_val *v,
    unsigned int flags)
{
	return t->write ? pg_txn_put(t, tb, k, v, flags) : EACCES;
}

static int
kv_pg_del(struct kv_txn *t, enum kv_table tb, const MDB_val *k)
{
	return t->write ? pg_txn_del(t, tb, k) : EACCES;
}

static int
kv_pg_cursor_open(struct kv_txn *t, enum kv_table tb, struct kv_cursor **out)
{
	struct pg_cursor *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ENOMEM;
	c->h.e = &pg_kv;
	c->h.txn = t;
	c->tb = tb;
	*out = &c->h;
	return 0;
}

static int
kv_pg_cursor_get(struct kv_cursor *h, MDB_val *k, MDB_val *v, enum kv_op op)
{
	struct pg_cursor *c = (struct pg_cursor *)h;

	if (h->txn->write)
		return pg_txn_cursor_get(h, k, v, op);
	return view_cursor_get(c, k, v, op);
}

static int
kv_pg_cursor_put(struct kv_cursor *h, MDB_val *v, unsigned int flags)
{
	struct pg_cursor *c = (struct pg_cursor *)h;
	MDB_val k = { c->curlen, c->cur };

	if (!h->txn->write)
		return EACCES;
	if (!c->on)
		return EINVAL;
	return pg_txn_put(h->txn, c->tb, &k, v, flags);
}

static int
kv_pg_cursor_del(struct kv_cursor *h)
{
	struct pg_cursor *c = (struct pg_cursor *)h;
	MDB_val k = { c->curlen, c->cur };

	if (!h->txn->write)
		return EACCES;
	if (!c->on)
		return EINVAL;
	return pg_txn_del(h->txn, c->tb, &k);
}

static void
kv_pg_cursor_close(struct kv_cursor *h)
{
	struct pg_cursor *c = (struct pg_cursor *)h;

	free(c->cur);
	free(c);
}

const struct kv_engine pg_kv = {
	.name = "postgresql",
	.get = kv_pg_get,
	.put = kv_pg_put,
	.del = kv_pg_del,
	.cursor_open = kv_pg_cursor_open,
	.cursor_get = kv_pg_cursor_get,
	.cursor_put = kv_pg_cursor_put,
	.cursor_del = kv_pg_cursor_del,
	.cursor_close = kv_pg_cursor_close,
};

