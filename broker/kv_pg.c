/*
 * The PostgreSQL store engine: two libpq connections (reads; commits)
 * driven by the broker's poll loop through pollfds/io/timeout_ms, never
 * waited for; the runs of a request (wave, run_begin, run_missed,
 * wave_ready); open, create and close.  Reads are kv_pg_view.c's, write
 * transactions kv_pg_txn.c's, connections kv_pg_conn.c's, SQL
 * kv_pg_sql.c's.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "store_int.h"
#include "kv_pg.h"

#define PG_OFFLINE_MS	5000	/* open waits at least this */

/* ---- the poll loop ---- */

static int
kv_pg_pollfds(struct store *st, struct pollfd *pfd, int max)
{
	struct pg *pg = pg_of(st);
	struct pg_conn *pcs[2] = { &pg->rd, &pg->wr };
	uint64_t now = pg_now();
	int i, n = 0;

	pg_conn_tick(pg, &pg->rd, now);
	pg_conn_tick(pg, &pg->wr, now);
	pg_txn_tick(pg, now);
	pg_wave_send(pg);
	if (pg->rd.state == PC_READY && !pg->stats_busy && now >= pg->stats_at) {
		if (pg_stats_send(pg, &pg->rd) == -1)
			pg_conn_drop(pg, &pg->rd, PQerrorMessage(pg->rd.c));
		else
			pg->stats_busy = 1;
		pg->stats_at = now + PG_STATS_MS;
	}
	pg_fetch_expire(pg, now);
	for (i = 0; i < 2; i++) {
		pg_conn_flush(pg, pcs[i]);
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
				pg_conn_io(pg, pcs[j], pfd[i].revents);
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
		pg_conn_start(pg, &pg->wr);
	if (pg->rd.state == PC_DOWN && pg->rd.c == NULL)
		pg_conn_start(pg, &pg->rd);
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
	if (pg->check_version < PG_SCHEMA) {
		log_warnx("postgresql: the schema's layout is version %d, this "
		    "secretd needs %d: stop every node and run secretd init "
		    "on one to bring it up to date", pg->check_version,
		    PG_SCHEMA);
		return ST_INVALID;
	}
	if (pg->check_version > PG_SCHEMA) {
		log_warnx("postgresql: the schema's layout is version %d, "
		    "newer than this secretd's %d: upgrade secretd on this "
		    "node", pg->check_version, PG_SCHEMA);
		return ST_INVALID;
	}
	pg->stats_at = pg_now();
	return ST_OK;
}

/* The store's schema and the root key's check, as stored in meta. */
static int
meta_check(struct store *st)
{
	MDB_val sk = { 6, "schema" }, k = { 8, "keycheck" }, sv, v;
	uint32_t schema;
	int rc, ret;

	if ((rc = kv_get(&pg_of(st)->view, KV_META, &sk, &sv)) != 0 ||
	    (rc = kv_get(&pg_of(st)->view, KV_META, &k, &v)) != 0) {
		if (rc == MDB_NOTFOUND)
			log_warnx("postgresql: the database holds no store "
			    "(run secretd init)");
		return rc == MDB_NOTFOUND ? ST_NOTFOUND : store_mdb_err(rc);
	}
	if ((ret = store_meta_verify(st, &sv, &v, &schema)) != ST_OK)
		return ret;
	if (schema != STORE_SCHEMA) {
		log_warnx("postgresql: store schema %u, this secretd writes %d",
		    schema, STORE_SCHEMA);
		return ST_CORRUPT;
	}
	st->schema = schema;
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
	    (rc = keyring_load(st, &pg_of(st)->view)) != ST_OK)
		kv_pg_close(st);
	return rc;
}

/*
 * The store's first rows: its schema, the root key's check, the
 * keyring.  A database that holds a store already is left as it is:
 * ST_EXISTS for this root key's, ST_BADKEY for another's.
 */
static int
create_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	MDB_val k = { 8, "keycheck" }, old;
	int rc;

	(void)arg;
	if ((rc = kv_get(txn, KV_META, &k, &old)) == 0) {
		*err = old.mv_size == sizeof(st->keycheck) &&
		    sodium_memcmp(old.mv_data, st->keycheck,
		    sizeof(st->keycheck)) == 0 ? ST_EXISTS : ST_BADKEY;
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return rc;
	return store_seed(st, txn);
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
	pg_conn_start(pg, &pg->wr);
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
		pg_fetch_free(pg, f);
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
