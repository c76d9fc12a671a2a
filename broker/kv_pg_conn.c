/*
 * The PostgreSQL engine's connections: made with PQconnectStartParams
 * and PQconnectPoll, non-blocking, in pipeline mode, with every
 * statement prepared; what is sent is queued with what waits for its
 * result, and results are routed to it as they come (PQconsumeInput,
 * PQisBusy, PQgetResult).  A connection lost fails what it was asked
 * and is made again after a backoff.
 */
#include "config.h"

#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "store_int.h"
#include "kv_pg.h"

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

/* A read of a table: the key its statement starts from. */
int
pg_send(struct pg *pg, struct pg_conn *pc, enum pg_stmt s, enum kv_table tb,
    const MDB_val *k, enum pg_item_kind kind, void *p, int tx)
{
	const char *values[1];
	int lengths[1], formats[1] = { 1 };
	char name[16];

	values[0] = k->mv_size ? k->mv_data : "";
	lengths[0] = (int)k->mv_size;
	return pg_send_sql(pg, pc, pg_stmt_name(s, tb, name, sizeof(name)),
	    NULL, 1, values, lengths, formats, kind, p, tx);
}

#define OID_BYTEA	17
#define OID_TEXT	25

/*
 * A one-dimensional array in PostgreSQL's binary format (array_recv):
 * ndim, has-nulls flag, element type, then length and lower bound, then
 * each element as its length (-1: NULL) and bytes.  Binary, so keys
 * holding NUL, quotes, backslashes or braces need no escaping.
 */
struct pg_array {
	uint8_t		*buf;
	size_t		 len, cap;
};

static int
array_put(struct pg_array *a, const void *p, size_t n)
{
	uint8_t *b;
	size_t cap;

	if (n > SIZE_MAX / 2 - a->len)
		return -1;
	if (a->len + n > a->cap) {
		cap = a->cap ? a->cap : 256;
		while (cap < a->len + n)
			cap *= 2;
		if ((b = realloc(a->buf, cap)) == NULL)
			return -1;
		a->buf = b;
		a->cap = cap;
	}
	if (n > 0)
		memcpy(a->buf + a->len, p, n);
	a->len += n;
	return 0;
}

static int
array_int(struct pg_array *a, uint32_t x)
{
	uint8_t b[4] = { x >> 24, x >> 16, x >> 8, x };

	return array_put(a, b, sizeof(b));
}

static int
array_start(struct pg_array *a, uint32_t oid, size_t n)
{
	if (n > INT32_MAX)
		return -1;
	return array_int(a, 1) == -1 || array_int(a, 0) == -1 ||
	    array_int(a, oid) == -1 || array_int(a, (uint32_t)n) == -1 ||
	    array_int(a, 1) == -1 ? -1 : 0;
}

/* p NULL: a NULL element, and the header's flag says there are some. */
static int
array_elem(struct pg_array *a, const void *p, size_t n)
{
	if (p == NULL) {
		a->buf[7] = 1;
		return array_int(a, UINT32_MAX);
	}
	if (n > INT32_MAX)
		return -1;
	return array_int(a, (uint32_t)n) == -1 || array_put(a, p, n) == -1 ?
	    -1 : 0;
}

/*
 * Many rows of a table in one statement: the keys, their values (for
 * a write but PS_DELETE), and for an insert into secrets or versions
 * the keys' plain columns, each as an array.
 */
int
pg_send_rows(struct pg *pg, struct pg_conn *pc, enum pg_stmt s,
    enum kv_table tb, const struct pg_wrow *rows, size_t n,
    enum pg_item_kind kind, void *p, int tx)
{
	struct pg_array a[6];
	const char *values[6];
	int lengths[6], formats[6] = { 1, 1, 1, 1, 1, 1 }, na = 1, i, named;
	int rc = -1;
	char cols[4][256], name[16];
	MDB_val k;
	size_t r;

	memset(a, 0, sizeof(a));
	if (s == PS_INSERT || s == PS_UPDATE || s == PS_UPSERT)
		na = 2;
	if ((s == PS_INSERT || s == PS_UPSERT) && pg_table_named(tb))
		na = 6;
	for (i = 0; i < na; i++)
		if (array_start(&a[i], i < 2 ? OID_BYTEA : OID_TEXT, n) == -1)
			goto out;
	for (r = 0; r < n; r++) {
		if (array_elem(&a[0], rows[r].k, rows[r].klen) == -1 ||
		    (na > 1 && array_elem(&a[1], rows[r].v,
		    rows[r].vlen) == -1))
			goto out;
		if (na < 6)
			continue;
		/* the shared code makes every such key; NULL columns if not */
		k.mv_data = (void *)rows[r].k;
		k.mv_size = rows[r].klen;
		named = pg_key_columns(tb, &k, cols) == 0;
		if (!named)
			log_warnx("%s: a %s key without its four parts",
			    __func__, pg_table_name(tb));
		for (i = 0; i < 4; i++)
			if (array_elem(&a[2 + i], named ? cols[i] : NULL,
			    named ? strlen(cols[i]) : 0) == -1)
				goto out;
	}
	for (i = 0; i < na; i++) {
		if (a[i].len > INT32_MAX)
			goto out;
		values[i] = (const char *)a[i].buf;
		lengths[i] = (int)a[i].len;
	}
	rc = pg_send_sql(pg, pc, pg_stmt_name(s, tb, name, sizeof(name)),
	    NULL, na, values, lengths, formats, kind, p, tx);
out:
	for (i = 0; i < 6; i++)
		free(a[i].buf);
	return rc;
}

/* The first column of the first row: an integer in binary format. */
uint64_t
pg_be_int(const PGresult *r)
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


/* ---- connections ---- */

/*
 * A connection lost: what it was asked fails (a fetch is forgotten, so
 * the requests that wait for it record it again; the commit is run
 * again once a connection is back), and it is made again after a
 * backoff doubling from 50 ms to 2 s.
 */
/*
 * A libpq message on one log line: its lines joined by single spaces,
 * without the trailing newline libpq ends them with.
 */
const char *
pg_oneline(const char *m, char *buf, size_t len)
{
	size_t n = 0;
	int space = 0;

	if (m == NULL || *m == '\0')
		m = "closed";
	for (; *m != '\0' && n + 1 < len; m++) {
		if (*m == '\n' || *m == '\r' || *m == '\t' || *m == ' ') {
			space = n > 0;
			continue;
		}
		if (space && n + 2 < len)
			buf[n++] = ' ';
		space = 0;
		buf[n++] = *m;
	}
	buf[n] = '\0';
	return buf;
}

void
pg_conn_drop(struct pg *pg, struct pg_conn *pc, const char *why)
{
	uint64_t now = pg_now();
	struct pg_item *it;
	char line[512];
	size_t i;

	if (pc->state == PC_READY || pc->down_since == 0)
		log_warnx("postgresql: %s connection lost: %s", pc->name,
		    pg_oneline(why, line, sizeof(line)));
	if (pc->c != NULL)
		PQfinish(pc->c);
	pc->c = NULL;
	pc->state = PC_DOWN;
	pc->flushing = 0;
	pc->err = 0;
	for (i = pc->qhead; i < pc->qlen; i++) {
		it = &pc->q[i];
		if (it->kind == PI_FETCH)
			pg_fetch_free(pg, it->p);
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

void
pg_conn_start(struct pg *pg, struct pg_conn *pc)
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
	struct pg_conn *other;

	if (pc->down_since != 0)
		log_info("postgresql: %s connection up", pc->name);
	pc->state = PC_READY;
	pc->backoff = 0;
	pc->down_since = 0;
	/*
	 * The server is back: the other connection, if it is down and
	 * waiting out its backoff, tries again now rather than answering
	 * 503 for up to two more seconds.
	 */
	other = pc == &pg->wr ? &pg->rd : &pg->wr;
	if (other->state == PC_DOWN && other->c == NULL &&
	    other->retry_at != UINT64_MAX)	/* held back by create */
		other->retry_at = 0;
	if (pc == &pg->wr)
		pg_txn_conn_ready(pg);
	else
		pg_wave_send(pg);
}

/*
 * Whether an error is the query's own (asking again would get it again)
 * rather than the connection's or a neighbour's in the pipeline.
 */
static int
query_refused(struct pg_conn *pc, const PGresult *r)
{
	const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);

	return PQresultStatus(r) == PGRES_FATAL_ERROR &&
	    PQstatus(pc->c) == CONNECTION_OK && code != NULL &&
	    strncmp(code, "08", 2) != 0 && strncmp(code, "57", 2) != 0 &&
	    strncmp(code, "53", 2) != 0;
}

static void
on_result(struct pg *pg, struct pg_conn *pc, struct pg_item *it,
    const PGresult *r)
{
	ExecStatusType s = PQresultStatus(r);
	int bad = s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK;
	struct pg_fetch *f;
	char line[512];

	if (bad && s != PGRES_PIPELINE_ABORTED && it->kind != PI_CHECK &&
	    it->kind != PI_TX)
		log_warnx("postgresql: %s: %s", pc->name,
		    pg_oneline(PQresultErrorMessage(r), line, sizeof(line)));
	if (bad)
		pc->err = 1;
	switch (it->kind) {
	case PI_FETCH:
		f = it->p;
		if (bad && query_refused(pc, r))
			f->a.failed = 1;
		else if (bad || pg_answer_fill(&f->a, r, f->page) == -1) {
			/* asked again by the runs that need it */
			pg_fetch_free(pg, f);
			break;
		}
		pg_fetch_done(pg, f);
		break;
	case PI_CHECK:
		pg->check_state = bad ? -1 : 1;
		pg->check_version = bad ? 0 : (int)pg_be_int(r);
		break;
	case PI_STATS_COUNT:
		/* commits made while the count was on its way are in it
		 * or not: one refresh later it is exact again */
		if (!bad)
			pg->count = (int64_t)pg_be_int(r) + pg->count_delta > 0 ?
			    (size_t)((int64_t)pg_be_int(r) + pg->count_delta) : 0;
		break;
	case PI_STATS_SIZE:
		if (!bad)
			pg->size = pg_be_int(r);
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

void
pg_conn_flush(struct pg *pg, struct pg_conn *pc)
{
	int rc;

	if (pc->c == NULL || pc->state == PC_CONNECTING || !pc->flushing)
		return;
	if ((rc = PQflush(pc->c)) == -1)
		pg_conn_drop(pg, pc, PQerrorMessage(pc->c));
	else
		pc->flushing = rc == 1;
}

void
pg_conn_io(struct pg *pg, struct pg_conn *pc, short revents)
{
	if (pc->state == PC_CONNECTING) {
		conn_connect_step(pg, pc);
		return;
	}
	if (revents & POLLOUT)
		pg_conn_flush(pg, pc);
	if (pc->c != NULL && (revents & (POLLIN | POLLHUP | POLLERR))) {
		if (!PQconsumeInput(pc->c)) {
			pg_conn_drop(pg, pc, PQerrorMessage(pc->c));
			return;
		}
		conn_drain(pg, pc);
	}
	if (pc->c != NULL && PQstatus(pc->c) == CONNECTION_BAD)
		pg_conn_drop(pg, pc, PQerrorMessage(pc->c));
	pg_conn_flush(pg, pc);
}

/* A connection due for another try, or connecting for too long. */
void
pg_conn_tick(struct pg *pg, struct pg_conn *pc, uint64_t now)
{
	if (pc->state == PC_DOWN && now >= pc->retry_at)
		pg_conn_start(pg, pc);
	else if ((pc->state == PC_CONNECTING || pc->state == PC_SETUP) &&
	    now - pc->started >= (uint64_t)pg->timeout_ms)
		pg_conn_drop(pg, pc, "timed out connecting");
}

