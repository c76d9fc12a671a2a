/*
 * The PostgreSQL store engine: two libpq connections (reads; commits),
 * each non-blocking and in pipeline mode, driven by the broker's poll
 * loop through pollfds/io/timeout_ms, never waited for.
 *
 * Reads are answered from the wave cache.  A read whose answer is not
 * there records a fetch and answers KV_AGAIN; at the end of the loop
 * turn (pollfds) every fetch recorded during the turn goes out as one
 * pipeline, a wave, and the wave number advances.  An answer serves only
 * runs of requests that arrived before its query went out (wave <= the
 * fetch's), so a row changed on another node before a request arrived is
 * never answered from an older read.  Until the first run_begin (the
 * offline commands, open, create) a read waits for its answer in a
 * private poll loop instead.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "store_int.h"
#include "kv_pg.h"

#define PG_BUCKETS	16384
#define PG_OFFLINE_MS	5000	/* an offline read or open waits this */

static void conn_start(struct pg *, struct pg_conn *);
static void fetch_free(struct pg *, struct pg_fetch *);

uint64_t
pg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* LMDB's and bytea's order: memcmp, the shorter first on a tie. */
int
pg_keycmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Results expected on a connection, in the order they will come. */
int
pg_queue(struct pg_conn *pc, enum pg_item_kind kind, void *p, int tx)
{
	struct pg_item *q;
	size_t cap;

	if (pc->qlen == pc->qcap) {
		cap = pc->qcap ? pc->qcap * 2 : 64;
		if ((q = reallocarray(pc->q, cap, sizeof(*q))) == NULL)
			return -1;
		pc->q = q;
		pc->qcap = cap;
	}
	pc->q[pc->qlen++] = (struct pg_item){ kind, p, tx, 0 };
	return 0;
}

int
pg_sync(struct pg_conn *pc, void *p, int tx)
{
	if (!PQpipelineSync(pc->c))
		return -1;
	pc->flushing = 1;
	return pg_queue(pc, PI_SYNC, p, tx);
}

int
pg_send_sql(struct pg *pg, struct pg_conn *pc, const char *stmt,
    const char *sql, int nparams, const char *const *values,
    const int *lengths, const int *formats, enum pg_item_kind kind,
    void *p, int tx)
{
	int ok;

	(void)pg;
	if (stmt != NULL)
		ok = PQsendQueryPrepared(pc->c, stmt, nparams, values, lengths,
		    formats, 1);
	else
		ok = PQsendQueryParams(pc->c, sql, nparams, NULL, values,
		    lengths, formats, 1);
	if (!ok)
		return -1;
	pc->flushing = 1;
	return pg_queue(pc, kind, p, tx);
}

/* One statement on a table: k, then v, then the key's plain columns. */
int
pg_send(struct pg *pg, struct pg_conn *pc, enum pg_stmt s, enum kv_table tb,
    const MDB_val *k, const MDB_val *v, enum pg_item_kind kind, void *p,
    int tx)
{
	const char *values[6];
	int lengths[6], formats[6] = { 1, 1, 0, 0, 0, 0 }, n = 1, i;
	char cols[4][256], name[16];

	values[0] = k->mv_size ? k->mv_data : "";
	lengths[0] = (int)k->mv_size;
	if (s == PS_INSERT || s == PS_UPDATE || s == PS_UPSERT) {
		values[1] = v->mv_size ? v->mv_data : "";
		lengths[1] = (int)v->mv_size;
		n = 2;
	}
	if ((s == PS_INSERT || s == PS_UPSERT) && pg_table_named(tb)) {
		if (pg_key_columns(tb, k, cols) == -1)
			log_warnx("%s: a %s key without its four parts",
			    __func__, pg_table_name(tb));
		for (i = 0; i < 4; i++) {
			values[2 + i] = pg_key_columns(tb, k, cols) == -1 ?
			    NULL : cols[i];
			lengths[2 + i] = 0;
		}
		n = 6;
	}
	return pg_send_sql(pg, pc, pg_stmt_name(s, tb, name, sizeof(name)),
	    NULL, n, values, lengths, formats, kind, p, tx);
}

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
		return n > 0 ? copy_value(r, 0, 0, &a->row.v, &a->row.vlen) : 0;
	}
	if (n > 0 && (a->rows = calloc((size_t)n, sizeof(*a->rows))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		a->nrows = (size_t)i + 1;
		if (copy_value(r, i, 0, &a->rows[i].k, &a->rows[i].klen) == -1 ||
		    copy_value(r, i, 1, &a->rows[i].v, &a->rows[i].vlen) == -1)
			return -1;
	}
	a->full = n >= PG_PAGE;
	return 0;
}

static uint64_t
be_int(const PGresult *r)
{
	const uint8_t *p;
	uint64_t v = 0;
	int i, n;

	if (PQntuples(r) < 1 || PQgetisnull(r, 0, 0))
		return 0;
	p = (const uint8_t *)PQgetvalue(r, 0, 0);
	n = PQgetlength(r, 0, 0);
	for (i = 0; i < n && i < 8; i++)
		v = v << 8 | p[i];
	return v;
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

static void
fetch_free(struct pg *pg, struct pg_fetch *f)
{
	struct pg_fetch **pp;

	for (pp = &pg->tab[f->hash % pg->nbucket]; *pp != f;
	    pp = &(*pp)->hnext)
		;
	*pp = f->hnext;
	TAILQ_REMOVE(&pg->fetches, f, entry);
	if (f->state != PF_DONE)
		pg->npending--;
	pg->nfetch--;
	pg_answer_free(&f->a);
	free(f->key);
	free(f);
}

/*
 * Answers no request can use any more: one recorded before a request
 * arrived never serves it, and no request outlives its deadline.
 */
static void
fetch_expire(struct pg *pg, uint64_t now)
{
	struct pg_fetch *f, *next;
	uint64_t age = (uint64_t)pg->timeout_ms + 1000;

	for (f = TAILQ_FIRST(&pg->fetches); f != NULL; f = next) {
		next = TAILQ_NEXT(f, entry);
		if (f->at + age > now)
			break;
		if (f->state == PF_DONE)
			fetch_free(pg, f);
	}
}

/* Every fetch recorded since the last wave, as one pipeline. */
static void
wave_send(struct pg *pg)
{
	struct pg_fetch *f;
	MDB_val k;
	int n = 0;

	if (pg->rd.state != PC_READY || pg->npending == 0)
		return;
	TAILQ_FOREACH_REVERSE(f, &pg->fetches, pg_fetchq, entry) {
		if (f->state != PF_UNSENT)
			continue;
		k.mv_data = f->key;
		k.mv_size = f->klen;
		if (pg_send(pg, &pg->rd, f->page ? PS_PAGE : PS_GET, f->tb, &k,
		    NULL, PI_FETCH, f, 0) == -1) {
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
		return 0;
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
			return 0;
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

	if ((rc = view_fetch(pg, 0, tb, k->mv_data, k->mv_size, &f)) != 0)
		return rc;
	if (!f->a.found)
		return MDB_NOTFOUND;
	v->mv_data = f->a.row.v;
	v->mv_size = f->a.row.vlen;
	return 0;
}

static int
view_page(struct pg_cursor *c, const uint8_t *from, size_t len)
{
	struct pg *pg = pg_of(c->h.txn->st);
	int rc;

	c->on = 0;
	if ((rc = view_fetch(pg, 1, c->tb, from, len, &c->page)) != 0)
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
		rc = view_page(c, (const uint8_t *)"", 0);
		break;
	case KV_SET_RANGE:
		rc = view_page(c, k->mv_data, k->mv_size);
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
		rc = view_page(c, from, last->klen + 1);
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

/* ---- connections ---- */

/*
 * A connection lost: what it was asked fails (a fetch is forgotten, so
 * the requests that wait for it record it again; the commit is run
 * again once a connection is back), and it is made again after a
 * backoff doubling from 50 ms to 2 s.
 */
void
pg_conn_drop(struct pg *pg, struct pg_conn *pc, const char *why)
{
	uint64_t now = pg_now();
	struct pg_item *it;
	size_t i;

	if (pc->state == PC_READY || pc->down_since == 0)
		log_warnx("postgresql: %s connection lost: %s", pc->name,
		    why != NULL && *why != '\0' ? why : "closed");
	if (pc->c != NULL)
		PQfinish(pc->c);
	pc->c = NULL;
	pc->state = PC_DOWN;
	pc->flushing = 0;
	pc->err = 0;
	for (i = pc->qhead; i < pc->qlen; i++) {
		it = &pc->q[i];
		if (it->kind == PI_FETCH)
			fetch_free(pg, it->p);
		else if (it->kind == PI_SYNC && it->p == &pg->stats_busy)
			pg->stats_busy = 0;
	}
	pc->qhead = pc->qlen = 0;
	pc->backoff = pc->backoff == 0 ? PG_BACKOFF_MIN :
	    pc->backoff * 2 > PG_BACKOFF_MAX ? PG_BACKOFF_MAX : pc->backoff * 2;
	pc->retry_at = now + pc->backoff;
	if (pc->down_since == 0)
		pc->down_since = now;
	if (pc == &pg->wr)
		pg_txn_conn_lost(pg);
}

/* The server's notices (a schema that exists already) are not news. */
static void
notice_drop(void *arg, const char *msg)
{
	(void)arg;
	log_debug("postgresql: %s", msg);
}

static void
conn_start(struct pg *pg, struct pg_conn *pc)
{
	const char *keys[] = { "dbname", "password",
	    "fallback_application_name", NULL };
	const char *values[] = { pg->conninfo, NULL, "secretd", NULL };

	if (pg->password != NULL) {
		sodium_mprotect_readonly(pg->password);
		values[1] = pg->password;
	}
	pc->c = PQconnectStartParams(keys, values, 1);
	if (pg->password != NULL)
		sodium_mprotect_noaccess(pg->password);
	pc->started = pg_now();
	if (pc->c == NULL || PQstatus(pc->c) == CONNECTION_BAD) {
		pg_conn_drop(pg, pc, pc->c ? PQerrorMessage(pc->c) : "no memory");
		return;
	}
	PQsetNoticeProcessor(pc->c, notice_drop, NULL);
	pc->state = PC_CONNECTING;
	pc->pollwant = POLLOUT;
}

/* Connected: pipeline mode, the schema's check, every statement. */
static void
conn_setup(struct pg *pg, struct pg_conn *pc)
{
	if (PQsetnonblocking(pc->c, 1) != 0 || !PQenterPipelineMode(pc->c) ||
	    (pg->creating && pc == &pg->wr && pg_schema_send(pg, pc) == -1) ||
	    pg_check_send(pg, pc) == -1 || pg_prepare_all(pg, pc) == -1 ||
	    pg_sync(pc, NULL, 0) == -1) {
		pg_conn_drop(pg, pc, PQerrorMessage(pc->c));
		return;
	}
	pc->state = PC_SETUP;
}

static void
conn_connect_step(struct pg *pg, struct pg_conn *pc)
{
	switch (PQconnectPoll(pc->c)) {
	case PGRES_POLLING_READING:
		pc->pollwant = POLLIN;
		break;
	case PGRES_POLLING_WRITING:
		pc->pollwant = POLLOUT;
		break;
	case PGRES_POLLING_OK:
		conn_setup(pg, pc);
		break;
	default:
		pg_conn_drop(pg, pc, PQerrorMessage(pc->c));
		break;
	}
}

static void
conn_ready(struct pg *pg, struct pg_conn *pc)
{
	if (pc->down_since != 0)
		log_info("postgresql: %s connection up", pc->name);
	pc->state = PC_READY;
	pc->backoff = 0;
	pc->down_since = 0;
	if (pc == &pg->wr)
		pg_txn_conn_ready(pg);
	else
		wave_send(pg);
}

static void
on_result(struct pg *pg, struct pg_conn *pc, struct pg_item *it,
    const PGresult *r)
{
	ExecStatusType s = PQresultStatus(r);
	int bad = s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK;
	struct pg_fetch *f;

	if (bad && s != PGRES_PIPELINE_ABORTED && it->kind != PI_CHECK &&
	    it->kind != PI_TX)
		log_warnx("postgresql: %s: %s", pc->name,
		    PQresultErrorMessage(r));
	if (bad)
		pc->err = 1;
	switch (it->kind) {
	case PI_FETCH:
		f = it->p;
		if (bad || pg_answer_fill(&f->a, r, f->page) == -1) {
			fetch_free(pg, f);
			break;
		}
		f->state = PF_DONE;
		pg->npending--;
		break;
	case PI_CHECK:
		pg->check_state = bad ? -1 : 1;
		pg->check_version = bad ? 0 : (int)be_int(r);
		break;
	case PI_STATS_COUNT:
		if (!bad)
			pg->count = (size_t)be_int(r);
		break;
	case PI_STATS_SIZE:
		if (!bad)
			pg->size = be_int(r);
		break;
	case PI_TX:
		pg_txn_result(pg, it, r);
		break;
	default:
		break;
	}
}

static void
on_sync(struct pg *pg, struct pg_conn *pc, struct pg_item *it)
{
	int err = pc->err;

	pc->err = 0;
	if (pc->state == PC_SETUP) {
		if (err)
			pg_conn_drop(pg, pc, "setting up the connection failed");
		else
			conn_ready(pg, pc);
		return;
	}
	if (it->p == &pg->stats_busy)
		pg->stats_busy = 0;
	else if (it->tx)
		pg_txn_sync(pg, it);
}

/* Every result that came in, to what waits for it. */
static void
conn_drain(struct pg *pg, struct pg_conn *pc)
{
	struct pg_item it;
	PGresult *r;

	while (pc->c != NULL && pc->qhead < pc->qlen) {
		if (PQisBusy(pc->c))
			break;
		r = PQgetResult(pc->c);
		if (r == NULL) {
			if (!pc->q[pc->qhead].got)
				break;
			pc->qhead++;
			continue;
		}
		pc->q[pc->qhead].got = 1;
		it = pc->q[pc->qhead];
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			pc->qhead++;
			PQclear(r);
			on_sync(pg, pc, &it);
			continue;
		}
		on_result(pg, pc, &it, r);
		PQclear(r);
	}
	if (pc->qhead == pc->qlen)
		pc->qhead = pc->qlen = 0;
}

static void
conn_flush(struct pg *pg, struct pg_conn *pc)
{
	int rc;

	if (pc->c == NULL || pc->state == PC_CONNECTING || !pc->flushing)
		return;
	if ((rc = PQflush(pc->c)) == -1)
		pg_conn_drop(pg, pc, PQerrorMessage(pc->c));
	else
		pc->flushing = rc == 1;
}

static void
conn_io(struct pg *pg, struct pg_conn *pc, short revents)
{
	if (pc->state == PC_CONNECTING) {
		conn_connect_step(pg, pc);
		return;
	}
	if (revents & POLLOUT)
		conn_flush(pg, pc);
	if (pc->c != NULL && (revents & (POLLIN | POLLHUP | POLLERR))) {
		if (!PQconsumeInput(pc->c)) {
			pg_conn_drop(pg, pc, PQerrorMessage(pc->c));
			return;
		}
		conn_drain(pg, pc);
	}
	if (pc->c != NULL && PQstatus(pc->c) == CONNECTION_BAD)
		pg_conn_drop(pg, pc, PQerrorMessage(pc->c));
	conn_flush(pg, pc);
}

/* A connection due for another try, or connecting for too long. */
static void
conn_tick(struct pg *pg, struct pg_conn *pc, uint64_t now)
{
	if (pc->state == PC_DOWN && now >= pc->retry_at)
		conn_start(pg, pc);
	else if ((pc->state == PC_CONNECTING || pc->state == PC_SETUP) &&
	    now - pc->started >= (uint64_t)pg->timeout_ms)
		pg_conn_drop(pg, pc, "timed out connecting");
}

/* ---- the poll loop ---- */

static int
kv_pg_pollfds(struct store *st, struct pollfd *pfd, int max)
{
	struct pg *pg = pg_of(st);
	struct pg_conn *pcs[2] = { &pg->rd, &pg->wr };
	uint64_t now = pg_now();
	int i, n = 0;

	conn_tick(pg, &pg->rd, now);
	conn_tick(pg, &pg->wr, now);
	pg_txn_tick(pg, now);
	wave_send(pg);
	if (pg->rd.state == PC_READY && !pg->stats_busy && now >= pg->stats_at) {
		if (pg_stats_send(pg, &pg->rd) == -1)
			pg_conn_drop(pg, &pg->rd, PQerrorMessage(pg->rd.c));
		else
			pg->stats_busy = 1;
		pg->stats_at = now + PG_STATS_MS;
	}
	fetch_expire(pg, now);
	for (i = 0; i < 2; i++) {
		conn_flush(pg, pcs[i]);
		if (pcs[i]->c == NULL || n >= max)
			continue;
		pfd[n].fd = PQsocket(pcs[i]->c);
		pfd[n].events = pcs[i]->state == PC_CONNECTING ?
		    pcs[i]->pollwant : POLLIN | (pcs[i]->flushing ? POLLOUT : 0);
		pfd[n].revents = 0;
		if (pfd[n].fd >= 0)
			n++;
	}
	return n;
}

static void
kv_pg_io(struct store *st, const struct pollfd *pfd, int n)
{
	struct pg *pg = pg_of(st);
	struct pg_conn *pcs[2] = { &pg->rd, &pg->wr };
	int i, j;

	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		for (j = 0; j < 2; j++)
			if (pcs[j]->c != NULL && PQsocket(pcs[j]->c) == pfd[i].fd)
				conn_io(pg, pcs[j], pfd[i].revents);
	}
}

static int
until_ms(uint64_t at, uint64_t now, int cur)
{
	int ms = at <= now ? 0 : at - now > 60000 ? 60000 : (int)(at - now);

	return cur == -1 || ms < cur ? ms : cur;
}

static int
kv_pg_timeout_ms(struct store *st)
{
	struct pg *pg = pg_of(st);
	struct pg_conn *pcs[2] = { &pg->rd, &pg->wr };
	uint64_t now = pg_now(), at;
	int i, ms = -1;

	for (i = 0; i < 2; i++) {
		if (pcs[i]->state == PC_DOWN)
			ms = until_ms(pcs[i]->retry_at, now, ms);
		else if (pcs[i]->state != PC_READY)
			ms = until_ms(pcs[i]->started +
			    (uint64_t)pg->timeout_ms, now, ms);
	}
	if ((at = pg_txn_deadline(pg)) != 0)
		ms = until_ms(at, now, ms);
	if (pg->rd.state == PC_READY)
		ms = until_ms(pg->stats_at, now, ms);
	return ms;
}

/*
 * The engine's own loop, for what may wait (open, create, the offline
 * commands): until until() holds or the deadline passes.
 */
int
pg_loop(struct pg *pg, int (*until)(struct pg *, void *), void *arg,
    uint64_t deadline)
{
	struct pollfd pfd[2];
	uint64_t now;
	int n, ms;

	for (;;) {
		n = kv_pg_pollfds(pg->st, pfd, 2);
		if (until(pg, arg))
			return 0;
		if ((now = pg_now()) >= deadline)
			return -1;
		ms = until_ms(deadline, now, kv_pg_timeout_ms(pg->st));
		if (poll(pfd, (nfds_t)n, ms) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		kv_pg_io(pg->st, pfd, n);
	}
}

/* ---- runs of a request ---- */

static uint64_t
kv_pg_wave(struct store *st)
{
	return pg_of(st)->wave;
}

static void
kv_pg_run_begin(struct store *st, uint64_t w, int last)
{
	struct pg *pg = pg_of(st);

	pg->online = 1;
	pg->run_wave = w;
	pg->run_last = last;
	pg->missed = 0;
}

static int
kv_pg_run_missed(struct store *st)
{
	return pg_of(st)->missed;
}

/*
 * Whether a request of wave w may run again: no fetch it may wait for
 * (recorded by or for a run of a wave <= w, serving wave w) is out.
 */
static int
kv_pg_wave_ready(struct store *st, uint64_t w)
{
	struct pg *pg = pg_of(st);
	struct pg_fetch *f;

	if (pg->npending == 0)
		return 1;
	TAILQ_FOREACH_REVERSE(f, &pg->fetches, pg_fetchq, entry) {
		if (f->wave < w)
			break;
		if (f->state != PF_DONE && f->lo <= w)
			return 0;
	}
	return 1;
}

static int
kv_pg_rtxn(struct store *st, struct kv_txn **out)
{
	struct pg *pg = pg_of(st);

	*out = &pg->view;
	return 0;
}

static void
kv_pg_rtxn_done(struct store *st)
{
	(void)st;
}

static size_t
kv_pg_count_secrets(struct store *st)
{
	return pg_of(st)->count;
}

static uint64_t
kv_pg_size_bytes(struct store *st)
{
	return pg_of(st)->size;
}

/* ---- open, create, close ---- */

static int
both_ready(struct pg *pg, void *arg)
{
	(void)arg;
	return pg->check_state == -1 || (pg->rd.state == PC_READY &&
	    pg->wr.state == PC_READY);
}

static int
commit_ready(struct pg *pg, void *arg)
{
	(void)arg;
	return pg->wr.state == PC_READY;
}

static void kv_pg_close(struct store *);

static int
pg_new(struct store *st, const struct store_conf *conf)
{
	struct pg *pg;
	uint8_t id[16];

	if (conf->conninfo == NULL)
		return ST_INVALID;
	if ((pg = calloc(1, sizeof(*pg))) == NULL ||
	    (pg->tab = calloc(PG_BUCKETS, sizeof(*pg->tab))) == NULL ||
	    (pg->conninfo = strdup(conf->conninfo)) == NULL) {
		if (pg != NULL)
			free(pg->tab);
		free(pg);
		return ST_NOMEM;
	}
	st->eng_data = pg;
	pg->st = st;
	pg->nbucket = PG_BUCKETS;
	TAILQ_INIT(&pg->fetches);
	randombytes_buf(pg->hkey, sizeof(pg->hkey));
	randombytes_buf(id, sizeof(id));
	sodium_bin2hex(pg->node, sizeof(pg->node), id, sizeof(id));
	pg->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : 5000;
	pg->view.e = &pg_kv;
	pg->view.st = st;
	pg->view.write = 0;
	pg->wave = 1;
	pg->rd.name = "read";
	pg->wr.name = "commit";
	if (conf->password != NULL) {
		pg->pwlen = strlen(conf->password) + 1;
		if ((pg->password = sodium_malloc(pg->pwlen)) == NULL) {
			kv_pg_close(st);
			return ST_NOMEM;
		}
		memcpy(pg->password, conf->password, pg->pwlen);
		sodium_mprotect_noaccess(pg->password);
	}
	return ST_OK;
}

/* Both connections up and the layout checked, within the deadline. */
static int
pg_connect(struct pg *pg)
{
	uint64_t deadline = pg_now() + (pg->timeout_ms > PG_OFFLINE_MS ?
	    (uint64_t)pg->timeout_ms : PG_OFFLINE_MS);

	if (pg->wr.state == PC_DOWN && pg->wr.c == NULL)
		conn_start(pg, &pg->wr);
	if (pg->rd.state == PC_DOWN && pg->rd.c == NULL)
		conn_start(pg, &pg->rd);
	pg->rd.retry_at = 0;
	if (pg_loop(pg, both_ready, NULL, deadline) == -1) {
		log_warnx("postgresql: no connection to the database");
		return ST_IO;
	}
	if (pg->check_state == -1) {
		log_warnx("postgresql: the database has no secretd schema "
		    "(run secretd init)");
		return ST_NOTFOUND;
	}
	if (pg->check_version != PG_SCHEMA) {
		log_warnx("postgresql: the schema is version %d, this secretd "
		    "knows %d", pg->check_version, PG_SCHEMA);
		return ST_INVALID;
	}
	pg->stats_at = pg_now();
	return ST_OK;
}

/* The record format's schema and the root key's check, in meta. */
static int
meta_check(struct store *st)
{
	MDB_val k = { 8, "keycheck" }, v;
	uint32_t schema;
	int rc;

	if ((rc = meta_get_u32(&pg_of(st)->view, "schema", &schema)) != 0 ||
	    (rc = kv_get(&pg_of(st)->view, KV_META, &k, &v)) != 0) {
		if (rc == MDB_NOTFOUND)
			log_warnx("postgresql: the database holds no store "
			    "(run secretd init)");
		return rc == MDB_NOTFOUND ? ST_NOTFOUND : store_mdb_err(rc);
	}
	if (schema != STORE_SCHEMA) {
		log_warnx("postgresql: store schema %u, this secretd knows %d",
		    schema, STORE_SCHEMA);
		return ST_CORRUPT;
	}
	if (v.mv_size != 32 || sodium_memcmp(v.mv_data, st->keycheck, 32) != 0) {
		log_warnx("postgresql: the root key does not open this store");
		return ST_BADKEY;
	}
	return ST_OK;
}

static int
kv_pg_open(struct store *st, const struct store_conf *conf)
{
	int rc;

	if ((rc = pg_new(st, conf)) != ST_OK)
		return rc;
	if ((rc = pg_connect(pg_of(st))) != ST_OK ||
	    (rc = meta_check(st)) != ST_OK ||
	    (rc = keyring_load(st, &pg_of(st)->view)) != ST_OK) {
		kv_pg_close(st);
		return rc;
	}
	st->schema = STORE_SCHEMA;
	return ST_OK;
}

/*
 * The store's first rows: its schema, the root key's check, the
 * keyring.  A database that holds a store already is left as it is:
 * ST_EXISTS for this root key's, ST_BADKEY for another's.
 */
static int
create_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	MDB_val k = { 8, "keycheck" }, v = { 32, st->keycheck }, old;
	int rc;

	(void)arg;
	if ((rc = kv_get(txn, KV_META, &k, &old)) == 0) {
		*err = old.mv_size == 32 &&
		    sodium_memcmp(old.mv_data, st->keycheck, 32) == 0 ?
		    ST_EXISTS : ST_BADKEY;
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return rc;
	if ((rc = meta_put_u32(txn, "schema", STORE_SCHEMA)) != 0 ||
	    (rc = kv_put(txn, KV_META, &k, &v, 0)) != 0)
		return rc;
	return keyring_init(st, txn);
}

/* The SQL schema (idempotent), then the store's first rows. */
static int
kv_pg_create(struct store *st, const struct store_conf *conf)
{
	struct pg *pg;
	int rc;

	if ((rc = pg_new(st, conf)) != ST_OK)
		return rc;
	pg = pg_of(st);
	pg->creating = 1;
	pg->rd.retry_at = UINT64_MAX;
	conn_start(pg, &pg->wr);
	/* the read connection's statements need the tables */
	if (pg_loop(pg, commit_ready, NULL, pg_now() + PG_OFFLINE_MS) == -1)
		rc = ST_IO;
	else
		rc = pg_connect(pg);
	pg->creating = 0;
	if (rc == ST_OK)
		rc = pg_write(st, create_txn, NULL);
	if (rc == ST_BADKEY)
		log_warnx("postgresql: the database holds the store of "
		    "another root key");
	if (rc != ST_OK)
		kv_pg_close(st);
	return rc;
}

static void
kv_pg_close(struct store *st)
{
	struct pg *pg = pg_of(st);
	struct pg_fetch *f;

	if (pg == NULL)
		return;
	if (pg->rd.c != NULL)
		PQfinish(pg->rd.c);
	if (pg->wr.c != NULL)
		PQfinish(pg->wr.c);
	pg->rd.c = pg->wr.c = NULL;
	pg->rd.qlen = pg->wr.qlen = 0;
	while ((f = TAILQ_FIRST(&pg->fetches)) != NULL)
		fetch_free(pg, f);
	pg_txn_abandon(pg);
	free(pg->rd.q);
	free(pg->wr.q);
	free(pg->tab);
	free(pg->conninfo);
	if (pg->password != NULL)
		sodium_free(pg->password);	/* wipes it */
	free(pg);
	st->eng_data = NULL;
}

const struct store_engine store_pg_engine = {
	.name = "postgresql",
	.kv = &pg_kv,
	.create = kv_pg_create,
	.open = kv_pg_open,
	.close = kv_pg_close,
	.rtxn = kv_pg_rtxn,
	.rtxn_done = kv_pg_rtxn_done,
	.write = pg_write,
	.write_start = pg_write_start,
	.wave = kv_pg_wave,
	.run_begin = kv_pg_run_begin,
	.run_missed = kv_pg_run_missed,
	.wave_ready = kv_pg_wave_ready,
	.pollfds = kv_pg_pollfds,
	.io = kv_pg_io,
	.timeout_ms = kv_pg_timeout_ms,
	.count_secrets = kv_pg_count_secrets,
	.size_bytes = kv_pg_size_bytes,
};
