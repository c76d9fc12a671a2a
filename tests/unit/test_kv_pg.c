/*
 * The PostgreSQL engine (kv_pg.c) against a real server: run by
 * tests/e2e/test_kv_pg.sh, which starts a throwaway cluster and passes
 * KVPG_CONNINFO, and KVPG_STOP / KVPG_START to stop and start it.
 *
 * Checks that the shared store code sees what it sees on LMDB (key
 * order with prefixes and NUL bytes, empty values, get/put/del/cursor
 * results, keys an array's text form would escape through every kind of
 * write, and the plain columns filled from them), that a run's reads miss, go out as one wave and hit after
 * it, that a write body runs again once the rows it missed are locked,
 * that two stores committing to one key never lose an update, and that
 * a stopped server answers KV_UNAVAILABLE past the deadline and is
 * reached again after it restarts, without reopening.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "store_int.h"
#include "kv_pg.h"
#include "tap.h"
#include "testutil.h"

#define TIMEOUT_MS	800

static struct store_conf conf;
static uint8_t root[32], other_root[32];

static MDB_val
val(const char *s, size_t len)
{
	MDB_val v = { len, (void *)s };

	return v;
}

/* One loop turn over the stores, as the broker's poll loop makes. */
static void
turn(struct store **sts, int n, int wait_ms)
{
	struct pollfd pfd[8];
	int cnt[4], i, j, k = 0, ms, t;

	for (i = 0; i < n; i++) {
		cnt[i] = store_pollfds(sts[i], pfd + k, 2);
		k += cnt[i];
	}
	ms = wait_ms;
	for (i = 0; i < n; i++)
		if ((t = store_timeout_ms(sts[i])) >= 0 && t < ms)
			ms = t;
	if (poll(pfd, (nfds_t)k, ms) == -1)
		return;
	for (i = 0, j = 0; i < n; j += cnt[i], i++)
		store_io(sts[i], pfd + j, cnt[i]);
}

static int
ready_within(struct store *st, uint64_t w, int ms)
{
	uint64_t end = pg_now() + (uint64_t)ms;

	while (!store_wave_ready(st, w)) {
		if (pg_now() >= end)
			return 0;
		turn(&st, 1, 50);
	}
	return 1;
}

/* ---- write bodies ---- */

struct puts {
	enum kv_table	 tb;
	const MDB_val	*k, *v;
	size_t		 n;
	int		 runs;
	int		 fail;		/* then abort with ST_QUOTA */
};

static int
puts_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	struct puts *p = arg;
	MDB_val v;
	size_t i;
	int rc;

	(void)st;
	p->runs++;
	for (i = 0; i < p->n; i++) {
		v = p->v[i];
		if ((rc = kv_put(txn, p->tb, &p->k[i], &v, 0)) != 0)
			return rc;
	}
	if (p->fail)
		*err = ST_QUOTA;
	return 0;
}

/* Reads three rows one after the other, each needing the last. */
struct chain {
	int	 runs;
	char	 seen[64];
};

static int
chain_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	struct chain *c = arg;
	MDB_val k = val("c1", 2), v;
	int rc, i;

	(void)st;
	(void)err;
	c->runs++;
	c->seen[0] = '\0';
	for (i = 0; i < 3; i++) {
		if ((rc = kv_get(txn, KV_META, &k, &v)) != 0)
			return rc;
		strncat(c->seen, v.mv_data, v.mv_size);
		k = v;
	}
	v = val("done", 4);
	k = val("chain", 5);
	return kv_put(txn, KV_META, &k, &v, 0);
}

/* Reads a counter (absent: 0) and writes it plus one. */
static int
incr_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	MDB_val k = val("counter", 7), v;
	char buf[32];
	long n = 0;
	int rc;

	(void)st;
	(void)arg;
	(void)err;
	if ((rc = kv_get(txn, KV_USAGE, &k, &v)) == 0) {
		snprintf(buf, sizeof(buf), "%.*s", (int)v.mv_size,
		    (char *)v.mv_data);
		n = atol(buf);
	} else if (rc != MDB_NOTFOUND)
		return rc;
	snprintf(buf, sizeof(buf), "%ld", n + 1);
	v = val(buf, strlen(buf));
	return kv_put(txn, KV_USAGE, &k, &v, 0);
}

/*
 * A quota over a range: counts the rows under "q/" and adds one when
 * there are fewer than 3, as the token quota counts a user's tokens.
 */
static int
quota_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	struct kv_cursor *c;
	MDB_val k = val("q/", 2), v;
	char name[32];
	int rc, n = 0;

	(void)st;
	(void)err;
	if ((rc = kv_cursor_open(txn, KV_TOKEN_CHILDREN, &c)) != 0)
		return rc;
	for (rc = kv_cursor_get(c, &k, &v, KV_SET_RANGE); rc == 0 &&
	    k.mv_size >= 2 && memcmp(k.mv_data, "q/", 2) == 0;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT))
		n++;
	kv_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (n >= 3)
		return 0;
	snprintf(name, sizeof(name), "q/%s-%d", (char *)arg, n);
	k = val(name, strlen(name));
	v = val("", 0);
	return kv_put(txn, KV_TOKEN_CHILDREN, &k, &v, 0);
}

/* How many rows are under "q/". */
static int
count_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	struct kv_cursor *c;
	MDB_val k = val("q/", 2), v;
	int *n = arg, rc;

	(void)st;
	(void)err;
	*n = 0;
	if ((rc = kv_cursor_open(txn, KV_TOKEN_CHILDREN, &c)) != 0)
		return rc;
	for (rc = kv_cursor_get(c, &k, &v, KV_SET_RANGE); rc == 0 &&
	    k.mv_size >= 2 && memcmp(k.mv_data, "q/", 2) == 0;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT))
		(*n)++;
	kv_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The counter's value, as text. */
static int
read_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	MDB_val k = val("counter", 7), v;
	char *buf = arg;
	int rc;

	(void)st;
	(void)err;
	if ((rc = kv_get(txn, KV_USAGE, &k, &v)) != 0)
		return rc;
	snprintf(buf, 16, "%.*s", (int)v.mv_size, (char *)v.mv_data);
	return 0;
}

/* A cursor in a write transaction sees its own writes and deletes. */
struct walk {
	char	 got[256];
};

static int
walk_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	struct walk *w = arg;
	struct kv_cursor *c;
	MDB_val k = val("w2", 2), v = val("new", 3);
	int rc;

	(void)st;
	(void)err;
	w->got[0] = '\0';
	if ((rc = kv_put(txn, KV_TOKEN_IDS, &k, &v, 0)) != 0)
		return rc;
	k = val("w3", 2);
	if ((rc = kv_del(txn, KV_TOKEN_IDS, &k)) != 0)
		return rc;
	if ((rc = kv_cursor_open(txn, KV_TOKEN_IDS, &c)) != 0)
		return rc;
	for (rc = kv_cursor_get(c, &k, &v, KV_FIRST); rc == 0;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT)) {
		strncat(w->got, k.mv_data, k.mv_size);
		strcat(w->got, "=");
		strncat(w->got, v.mv_data, v.mv_size);
		strcat(w->got, " ");
	}
	kv_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

struct async {
	int	 over, status;
};

static void
async_done(void *arg, int status)
{
	struct async *a = arg;

	a->over = 1;
	a->status = status;
}

/* ---- cases ---- */

static int
bytecmp(const void *a, const void *b)
{
	const MDB_val *x = a, *y = b;

	return pg_keycmp(x->mv_data, x->mv_size, y->mv_data, y->mv_size);
}

static void
test_create_open(void)
{
	struct store *st;

	ok(store_create_conf(&conf, root) == ST_OK, "create makes the schema "
	    "and the store");
	ok(store_create_conf(&conf, root) == ST_EXISTS,
	    "create again: ST_EXISTS, the store is left as it is");
	ok(store_create_conf(&conf, other_root) == ST_BADKEY,
	    "create with another root key: ST_BADKEY");
	ok(store_open_conf(&st, &conf, other_root) == ST_BADKEY,
	    "open with another root key: ST_BADKEY");
	if (!ok(store_open_conf(&st, &conf, root) == ST_OK, "open"))
		return;
	ok(strcmp(store_engine_name(st), "postgresql") == 0,
	    "the engine is postgresql");
	store_close(st);
}

/* Keys with prefixes, NUL bytes and high bytes; one empty value. */
static void
test_order(struct store *st)
{
	static const MDB_val keys[] = {
		{ 1, "a" }, { 2, "a\0" }, { 3, "a\0b" }, { 2, "ab" },
		{ 1, "b" }, { 1, "\0" }, { 2, "\0\0" }, { 1, "\xff" },
		{ 2, "a\xff" }, { 3, "a\0\0" },
	};
	enum { N = sizeof(keys) / sizeof(keys[0]) };
	MDB_val vals[N], sorted[N], k, v;
	struct puts p = { KV_TOKEN_OWNERS, keys, vals, N, 0, 0 };
	struct kv_cursor *c;
	struct kv_txn *txn;
	size_t i, n = 0;
	int rc, inorder = 1;

	for (i = 0; i < N; i++)
		vals[i] = i == 3 ? val("", 0) : keys[i];
	ok(st->eng->write(st, puts_txn, &p) == ST_OK, "ten keys written");
	memcpy(sorted, keys, sizeof(sorted));
	qsort(sorted, N, sizeof(sorted[0]), bytecmp);
	st->eng->rtxn(st, &txn);
	kv_cursor_open(txn, KV_TOKEN_OWNERS, &c);
	for (rc = kv_cursor_get(c, &k, &v, KV_FIRST); rc == 0;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT), n++)
		if (n >= N || bytecmp(&k, &sorted[n]) != 0)
			inorder = 0;
	ok(rc == MDB_NOTFOUND && n == N && inorder,
	    "a cursor walks them in memcmp order, shorter first (%zu)", n);
	k = val("a\0", 2);
	rc = kv_cursor_get(c, &k, &v, KV_SET_RANGE);
	ok(rc == 0 && k.mv_size == 2 && memcmp(k.mv_data, "a\0", 2) == 0,
	    "SET_RANGE lands on the key itself");
	k = val("a\0\1", 3);
	rc = kv_cursor_get(c, &k, &v, KV_SET_RANGE);
	ok(rc == 0 && k.mv_size == 3 && memcmp(k.mv_data, "a\0b", 3) == 0,
	    "SET_RANGE between keys lands on the next");
	k = val("\xff\xff", 2);
	ok(kv_cursor_get(c, &k, &v, KV_SET_RANGE) == MDB_NOTFOUND,
	    "SET_RANGE past the last: MDB_NOTFOUND");
	kv_cursor_close(c);
	k = val("ab", 2);
	rc = kv_get(txn, KV_TOKEN_OWNERS, &k, &v);
	ok(rc == 0 && v.mv_size == 0 && v.mv_data != NULL,
	    "an empty value reads back empty");
	k = val("a\0\1", 3);
	ok(kv_get(txn, KV_TOKEN_OWNERS, &k, &v) == MDB_NOTFOUND,
	    "a missing key: MDB_NOTFOUND");
	st->eng->rtxn_done(st);
}

/* Reads each key first when told, then puts its value or deletes it. */
struct rw {
	enum kv_table	 tb;
	const MDB_val	*k, *v;		/* v[i].mv_data NULL: delete */
	size_t		 n;
	int		 read;
};

static int
rw_txn(struct store *st, struct kv_txn *txn, void *arg, int *err)
{
	struct rw *w = arg;
	MDB_val v;
	size_t i;
	int rc;

	(void)st;
	(void)err;
	for (i = 0; i < w->n; i++) {
		if (w->read && (rc = kv_get(txn, w->tb, &w->k[i], &v)) != 0 &&
		    rc != MDB_NOTFOUND)
			return rc;
		v = w->v[i];
		if (v.mv_data == NULL)
			rc = kv_del(txn, w->tb, &w->k[i]);
		else
			rc = kv_put(txn, w->tb, &w->k[i], &v, 0);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* What a view reads of each key: its value, or absent for NULL. */
static int
reads_back(struct store *st, enum kv_table tb, const MDB_val *k,
    const MDB_val *want, size_t n)
{
	struct kv_txn *txn;
	MDB_val v;
	size_t i;
	int rc, good = 1;

	st->eng->rtxn(st, &txn);
	for (i = 0; i < n; i++) {
		rc = kv_get(txn, tb, &k[i], &v);
		if (want[i].mv_data == NULL ? rc != MDB_NOTFOUND : rc != 0 ||
		    bytecmp(&v, &want[i]) != 0)
			good = 0;
	}
	st->eng->rtxn_done(st);
	return good;
}

/* The plain columns of a secrets row, read as text with a blocking query. */
static int
columns_of(const MDB_val *k, const char *want[4])
{
	const char *values[1] = { k->mv_data };
	int lengths[1] = { (int)k->mv_size }, formats[1] = { 1 }, i, good;
	PGconn *c;
	PGresult *r;

	if ((c = PQconnectdb(conf.conninfo)) == NULL)
		return 0;
	r = PQexecParams(c, "SELECT org, scope, owner, name FROM "
	    "secretd.secrets WHERE k = $1", 1, NULL, values, lengths, formats,
	    0);
	good = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	for (i = 0; good && i < 4; i++)
		good = strcmp(PQgetvalue(r, 0, i), want[i]) == 0;
	PQclear(r);
	PQfinish(c);
	return good;
}

/*
 * Keys and values holding the bytes an array's text form would have to
 * escape (NUL, quotes, backslashes, braces, commas, 0xff), written by
 * each of the commit's statements: upsert, update, insert, delete.
 */
static void
test_odd_keys(struct store *st)
{
	static const MDB_val keys[] = {
		{ 1, "\0" }, { 3, "\"a\"" }, { 2, "\\\\" }, { 2, "{}" },
		{ 3, "a,b" }, { 1, "\xff" }, { 4, "NULL" }, { 5, "{\"\\,}" },
		{ 3, "\xff\0\xff" }, { 2, "\0\"" },
	};
	static const MDB_val more[] = {
		{ 2, "}{" }, { 3, "\\\0," }, { 2, "\xff\xff" },
	};
	enum { N = sizeof(keys) / sizeof(keys[0]), M = sizeof(more) /
	    sizeof(more[0]) };
	static const char skey[] = "o\"{,}\\\0s c\0ow'n\0n\\a{m}e,\"x\"";
	static const char *cols[4] = { "o\"{,}\\", "s c", "ow'n",
	    "n\\a{m}e,\"x\"" };
	MDB_val vals[N], vals2[N], all[N + M], allv[N + M], sk, sv;
	struct rw w = { KV_USAGE, keys, vals, N, 0 };
	size_t i;

	for (i = 0; i < N; i++) {
		/* each value another key: the same odd bytes, and one empty */
		vals[i] = i == 4 ? val("", 0) : keys[(i + 1) % N];
		vals2[i] = i % 3 == 0 ? (MDB_val){ 0, NULL } : keys[i];
	}
	ok(st->eng->write(st, rw_txn, &w) == ST_OK &&
	    reads_back(st, KV_USAGE, keys, vals, N),
	    "odd keys written without reading them (upsert) read back");
	w.read = 1;
	ok(st->eng->write(st, rw_txn, &w) == ST_OK &&
	    reads_back(st, KV_USAGE, keys, vals, N),
	    "written again after reading them (update): unchanged");
	w.v = vals2;
	ok(st->eng->write(st, rw_txn, &w) == ST_OK &&
	    reads_back(st, KV_USAGE, keys, vals2, N),
	    "one in three deleted, the others updated, in one commit");
	for (i = 0; i < N + M; i++) {
		all[i] = i < N ? keys[i] : more[i - N];
		allv[i] = i < N ? keys[(i + 2) % N] : more[i - N];
	}
	w.k = all;
	w.v = allv;
	w.n = N + M;
	ok(st->eng->write(st, rw_txn, &w) == ST_OK &&
	    reads_back(st, KV_USAGE, all, allv, N + M),
	    "absent keys inserted beside updates in one commit");
	sk = val(skey, sizeof(skey) - 1);
	sv = val("\"\\{\0}\xff", 6);
	w = (struct rw){ KV_SECRETS, &sk, &sv, 1, 1 };
	ok(st->eng->write(st, rw_txn, &w) == ST_OK &&
	    reads_back(st, KV_SECRETS, &sk, &sv, 1) && columns_of(&sk, cols),
	    "a secret's odd key fills org, scope, owner and name");
	w.read = 0;
	sv = val("again", 5);
	ok(st->eng->write(st, rw_txn, &w) == ST_OK &&
	    reads_back(st, KV_SECRETS, &sk, &sv, 1) && columns_of(&sk, cols),
	    "and an upsert of it keeps them");
	sv = (MDB_val){ 0, NULL };
	w.read = 1;
	ok(st->eng->write(st, rw_txn, &w) == ST_OK &&
	    reads_back(st, KV_SECRETS, &sk, &sv, 1),
	    "and a delete removes it");
}

static void
test_pages(struct store *st)
{
	MDB_val keys[150], vals[150], k, v;
	char kb[150][8];
	struct puts p = { KV_USAGE, keys, vals, 150, 0, 0 };
	struct kv_cursor *c;
	struct kv_txn *txn;
	int i, rc, n = 0, inorder = 1;

	for (i = 0; i < 150; i++) {
		snprintf(kb[i], sizeof(kb[i]), "u%03d", i);
		keys[i] = val(kb[i], 4);
		vals[i] = val(kb[i], 4);
	}
	ok(st->eng->write(st, puts_txn, &p) == ST_OK,
	    "150 rows in one transaction");
	st->eng->rtxn(st, &txn);
	kv_cursor_open(txn, KV_USAGE, &c);
	for (rc = kv_cursor_get(c, &k, &v, KV_FIRST); rc == 0;
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT), n++)
		if (n >= 150 || k.mv_size != 4 || memcmp(k.mv_data, kb[n], 4))
			inorder = 0;
	ok(rc == MDB_NOTFOUND && n == 150 && inorder,
	    "a cursor reads them over three pages, in order (%d)", n);
	kv_cursor_close(c);
	st->eng->rtxn_done(st);
}

static void
test_txn_semantics(struct store *st)
{
	MDB_val keys[3] = { { 2, "w1" }, { 2, "w3" }, { 2, "w4" } };
	MDB_val vals[3] = { { 1, "1" }, { 1, "3" }, { 1, "4" } }, k, v;
	struct puts p = { KV_TOKEN_IDS, keys, vals, 3, 0, 0 };
	struct walk w;
	struct kv_txn *txn;

	st->eng->write(st, puts_txn, &p);
	ok(st->eng->write(st, walk_txn, &w) == ST_OK &&
	    strcmp(w.got, "w1=1 w2=new w4=4 ") == 0,
	    "a write cursor sees its put and not its delete: %s", w.got);
	st->eng->rtxn(st, &txn);
	k = val("w3", 2);
	ok(kv_get(txn, KV_TOKEN_IDS, &k, &v) == MDB_NOTFOUND,
	    "the delete is committed");
	st->eng->rtxn_done(st);

	keys[0] = val("rolled", 6);
	p.n = 1;
	p.fail = 1;
	ok(st->eng->write(st, puts_txn, &p) == ST_QUOTA,
	    "a body's store error comes back as is");
	st->eng->rtxn(st, &txn);
	k = val("rolled", 6);
	ok(kv_get(txn, KV_TOKEN_IDS, &k, &v) == MDB_NOTFOUND,
	    "and nothing it wrote is stored");
	st->eng->rtxn_done(st);
}

static void
test_lock_rerun(struct store *st)
{
	MDB_val keys[3] = { { 2, "c1" }, { 2, "c2" }, { 2, "c3" } };
	MDB_val vals[3] = { { 2, "c2" }, { 2, "c3" }, { 1, "!" } };
	struct puts p = { KV_META, keys, vals, 3, 0, 0 };
	struct chain c = { 0, "" };

	st->eng->write(st, puts_txn, &p);
	ok(st->eng->write(st, chain_txn, &c) == ST_OK &&
	    strcmp(c.seen, "c2c3!") == 0,
	    "a body with three dependent reads commits: %s", c.seen);
	ok(c.runs == 4, "it ran once per row it lacked, then through (%d)",
	    c.runs);
}

/* The shared store code: a secret committed, then read back. */
static void
test_shared(struct store *st)
{
	struct store_op op;
	struct secret_value sv = { 0 };
	struct secret_meta m;
	int rc;

	tu_put_op(&op, SCOPE_USER, "acme", "alice", "DB_PASS", "hunter2", "");
	rc = store_commit(st, &op, 1);
	ok(rc == ST_OK && op.result == ST_OK,
	    "a secret put through the shared commit code (%d, %d)", rc,
	    op.result);
	rc = store_secret_get(st, "acme", SCOPE_USER, "alice", "DB_PASS", &m,
	    &sv);
	ok(rc == ST_OK && sv.len == 7 && memcmp(sv.data, "hunter2", 7) == 0 &&
	    m.version == 1, "and revealed through the shared read code (%d)",
	    rc);
	store_value_free(&sv);
}

static void
test_waves(struct store *st, struct store *other)
{
	MDB_val keys[100], vals[100], k, v;
	char kb[100][8];
	struct puts p = { KV_TOKENS, keys, vals, 100, 0, 0 };
	struct kv_txn *txn;
	uint64_t w, w2, t0;
	int i, rc, again = 0, hit = 0;

	for (i = 0; i < 100; i++) {
		snprintf(kb[i], sizeof(kb[i]), "k%03d", i);
		keys[i] = val(kb[i], 4);
		vals[i] = val(kb[i], 4);
	}
	st->eng->write(st, puts_txn, &p);

	w = store_wave(st);
	store_run_begin(st, w, 0);
	st->eng->rtxn(st, &txn);
	for (i = 0; i < 100; i++)
		again += kv_get(txn, KV_TOKENS, &keys[i], &v) == KV_AGAIN;
	st->eng->rtxn_done(st);
	ok(again == 100 && store_run_missed(st),
	    "a run's reads miss and are recorded (%d)", again);
	ok(!store_wave_ready(st, w), "the wave is not ready before it went out");
	t0 = pg_now();
	turn(&st, 1, 0);
	ok(store_wave(st) == w + 1, "the 100 fetches went out as one wave");
	ok(ready_within(st, w, 3000), "the wave came back");
	printf("# a wave of 100 gets: %llu ms\n",
	    (unsigned long long)(pg_now() - t0));
	ok(store_wave(st) == w + 1, "in one round trip: no other wave");
	store_run_begin(st, w, 0);
	st->eng->rtxn(st, &txn);
	for (i = 0; i < 100; i++)
		hit += kv_get(txn, KV_TOKENS, &keys[i], &v) == 0 &&
		    v.mv_size == 4 && memcmp(v.mv_data, kb[i], 4) == 0;
	st->eng->rtxn_done(st);
	ok(hit == 100 && !store_run_missed(st),
	    "the run made again finds all 100 (%d)", hit);

	/* another node changes k000: a request arriving now sees it */
	p.n = 1;
	vals[0] = val("changed", 7);
	ok(other->eng->write(other, puts_txn, &p) == ST_OK,
	    "another store changes a row");
	w2 = store_wave(st);
	store_run_begin(st, w2, 0);
	st->eng->rtxn(st, &txn);
	rc = kv_get(txn, KV_TOKENS, &keys[0], &v);
	st->eng->rtxn_done(st);
	ok(rc == KV_AGAIN, "a later request does not use the older answer");
	turn(&st, 1, 0);
	ready_within(st, w2, 3000);
	store_run_begin(st, w2, 0);
	st->eng->rtxn(st, &txn);
	rc = kv_get(txn, KV_TOKENS, &keys[0], &v);
	st->eng->rtxn_done(st);
	ok(rc == 0 && v.mv_size == 7 && memcmp(v.mv_data, "changed", 7) == 0,
	    "it reads the other store's write");
	store_run_begin(st, w, 0);
	st->eng->rtxn(st, &txn);
	rc = kv_get(txn, KV_TOKENS, &keys[0], &v);
	st->eng->rtxn_done(st);
	ok(rc == 0, "the older request may still use either answer");

	store_run_begin(st, store_wave(st), 1);
	st->eng->rtxn(st, &txn);
	k = val("nothere", 7);
	ok(kv_get(txn, KV_TOKENS, &k, &v) == KV_UNAVAILABLE,
	    "a last run's miss answers KV_UNAVAILABLE");
	st->eng->rtxn_done(st);
}

static void
test_two_nodes(struct store *a, struct store *b)
{
	struct store *sts[2] = { a, b };
	struct async as[2];
	int started[2] = { 0, 0 }, failed = 0, i, rounds = 25;
	uint64_t t0 = pg_now(), end = t0 + 60000;
	char buf[16] = "";

	for (i = 0; i < 2; i++) {
		as[i].over = 1;
		as[i].status = ST_OK;
	}
	while (pg_now() < end) {
		for (i = 0; i < 2; i++) {
			if (!as[i].over)
				continue;
			if (as[i].status != ST_OK)
				failed++;
			if (started[i] == rounds)
				continue;
			as[i].over = 0;
			started[i]++;
			sts[i]->eng->write_start(sts[i], incr_txn, NULL,
			    async_done, &as[i]);
		}
		if (started[0] == rounds && started[1] == rounds &&
		    as[0].over && as[1].over)
			break;
		turn(sts, 2, 50);
	}
	ok(failed == 0, "%d increments from each of two stores at once all "
	    "commit (%d failed)", rounds, failed);
	printf("# %d contended commits from two stores: %llu ms\n",
	    2 * rounds, (unsigned long long)(pg_now() - t0));
	a->eng->write(a, incr_txn, NULL);
	a->eng->write(a, read_txn, buf);
	ok(atoi(buf) == 2 * rounds + 1, "no update is lost: the counter is "
	    "%s of %d", buf, 2 * rounds + 1);
}

static void
test_outage(struct store *st)
{
	const char *stop = getenv("KVPG_STOP"), *start = getenv("KVPG_START");
	struct async a = { 0, 0 };
	struct kv_txn *txn;
	MDB_val k = val("u001", 4), v;
	uint64_t w, t0, end;
	int rc = KV_AGAIN;

	if (stop == NULL || start == NULL || system(stop) != 0) {
		ok(0, "the server stops (KVPG_STOP)");
		return;
	}
	t0 = pg_now();
	w = store_wave(st);
	store_run_begin(st, w, 0);
	st->eng->rtxn(st, &txn);
	ok(kv_get(txn, KV_USAGE, &k, &v) == KV_AGAIN,
	    "server stopped: a read first waits (KV_AGAIN)");
	st->eng->rtxn_done(st);
	st->eng->write_start(st, incr_txn, NULL, async_done, &a);
	end = t0 + TIMEOUT_MS + 500;
	while (pg_now() < end && (!a.over || !store_wave_ready(st, w)))
		turn(&st, 1, 50);
	ok(a.over && a.status == ST_BUSY,
	    "a commit is answered ST_BUSY within the timeout (%llu ms)",
	    (unsigned long long)(pg_now() - t0));
	while (pg_now() < t0 + TIMEOUT_MS + 100)
		turn(&st, 1, 50);
	store_run_begin(st, w, 0);
	st->eng->rtxn(st, &txn);
	rc = kv_get(txn, KV_USAGE, &k, &v);
	st->eng->rtxn_done(st);
	ok(rc == KV_UNAVAILABLE,
	    "down past the deadline: a read answers KV_UNAVAILABLE");

	if (system(start) != 0) {
		ok(0, "the server starts again (KVPG_START)");
		return;
	}
	/* a request that arrives now, run again whenever its wave is in */
	t0 = pg_now();
	end = t0 + 10000;
	rc = KV_AGAIN;
	w = store_wave(st);
	while (pg_now() < end) {
		if (!store_wave_ready(st, w)) {
			turn(&st, 1, 50);
			continue;
		}
		store_run_begin(st, w, 0);
		st->eng->rtxn(st, &txn);
		rc = kv_get(txn, KV_USAGE, &k, &v);
		st->eng->rtxn_done(st);
		if (rc == 0)
			break;
		turn(&st, 1, 50);
	}
	ok(rc == 0 && v.mv_size == 4 && memcmp(v.mv_data, "u001", 4) == 0,
	    "after a restart the same store reads again (%llu ms)",
	    (unsigned long long)(pg_now() - t0));
	a.over = 0;
	st->eng->write_start(st, incr_txn, NULL, async_done, &a);
	while (pg_now() < end && !a.over)
		turn(&st, 1, 50);
	ok(a.over && a.status == ST_OK, "and commits again");
}

static int
psql(const char *sql)
{
	const char *p = getenv("KVPG_PSQL");
	char cmd[1024];

	if (p == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "%s -c \"%s\" >/dev/null", p, sql);
	return system(cmd);
}

static long
counter_of(struct store *st)
{
	char buf[16] = "";

	st->eng->write(st, read_txn, buf);
	return atol(buf);
}

/*
 * A COMMIT whose connection is lost before its answer: the server holds
 * it waiting for a synchronous standby that does not exist (committed
 * locally), the backend is terminated, and the store, reconnected, must
 * learn from the batch's marker that it went through instead of
 * applying it twice.
 */
static void
test_lost_commit(void)
{
	struct store_conf c = conf;
	struct store *st;
	struct async a = { 0, 0 };
	uint64_t end;
	long before;

	c.timeout_ms = 8000;
	if (store_open_conf(&st, &c, root) != ST_OK) {
		ok(0, "a store with a longer timeout opens");
		return;
	}
	before = counter_of(st);
	if (psql("ALTER SYSTEM SET synchronous_standby_names = 'nobody'") ||
	    psql("SELECT pg_reload_conf()")) {
		ok(0, "the server waits for a standby (KVPG_PSQL)");
		store_close(st);
		return;
	}
	/* backends take the new setting when they see the reload signal */
	usleep(300000);
	st->eng->write_start(st, incr_txn, NULL, async_done, &a);
	end = pg_now() + 500;
	while (pg_now() < end)
		turn(&st, 1, 50);
	ok(!a.over, "the commit waits for the standby");
	psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
	    "WHERE wait_event = 'SyncRep'");
	psql("ALTER SYSTEM RESET synchronous_standby_names");
	psql("SELECT pg_reload_conf()");
	end = pg_now() + 8000;
	while (pg_now() < end && !a.over)
		turn(&st, 1, 50);
	ok(a.over && a.status == ST_OK,
	    "its connection lost, the commit is reported done (%d)", a.status);
	ok(counter_of(st) == before + 1,
	    "and applied once: the marker settled it (%ld -> %ld)", before,
	    counter_of(st));
	store_close(st);
}

/* Two stores adding rows under one quota never pass it together. */
static void
test_range_quota(struct store *a, struct store *b)
{
	struct store *sts[2] = { a, b };
	const char *names[2] = { "a", "b" };
	struct async as[2];
	int started[2] = { 0, 0 }, failed = 0, i, n = 0, rounds = 6;
	uint64_t end = pg_now() + 30000;

	for (i = 0; i < 2; i++) {
		as[i].over = 1;
		as[i].status = ST_OK;
	}
	while (pg_now() < end) {
		for (i = 0; i < 2; i++) {
			if (!as[i].over)
				continue;
			if (as[i].status != ST_OK)
				failed++;
			if (started[i] == rounds)
				continue;
			as[i].over = 0;
			started[i]++;
			sts[i]->eng->write_start(sts[i], quota_txn,
			    (void *)names[i], async_done, &as[i]);
		}
		if (started[0] == rounds && started[1] == rounds &&
		    as[0].over && as[1].over)
			break;
		turn(sts, 2, 50);
	}
	ok(failed == 0, "%d quota checks from each of two stores commit "
	    "(%d failed)", rounds, failed);
	a->eng->write(a, count_txn, &n);
	ok(n == 3, "the quota of 3 rows holds across the stores (%d)", n);
}

/*
 * Figures, printed as comments: waves of 64 concurrent reads (the
 * requests of one loop turn) and commits of 64 blind writes each.
 */
static void
measure(struct store *st)
{
	MDB_val keys[64], vals[64], v;
	char kb[64][8];
	struct puts p = { KV_USAGE, keys, vals, 64, 0, 0 };
	struct async a;
	struct kv_txn *txn;
	uint64_t w, t0;
	int i, r, hits = 0, rounds = 200, commits = 100, okc = 0;

	for (i = 0; i < 64; i++) {
		snprintf(kb[i], sizeof(kb[i]), "u%03d", i);
		keys[i] = val(kb[i], 4);
		vals[i] = val(kb[i], 4);
	}
	t0 = pg_now();
	for (r = 0; r < rounds; r++) {
		w = store_wave(st);
		store_run_begin(st, w, 0);
		st->eng->rtxn(st, &txn);
		for (i = 0; i < 64; i++)
			(void)kv_get(txn, KV_USAGE, &keys[i], &v);
		st->eng->rtxn_done(st);
		turn(&st, 1, 0);
		ready_within(st, w, 3000);
		store_run_begin(st, w, 0);
		st->eng->rtxn(st, &txn);
		for (i = 0; i < 64; i++)
			hits += kv_get(txn, KV_USAGE, &keys[i], &v) == 0;
		st->eng->rtxn_done(st);
	}
	ok(hits == 64 * rounds, "%d waves of 64 reads all answered", rounds);
	printf("# a wave of 64 reads: %.3f ms (%.0f reads/s)\n",
	    (double)(pg_now() - t0) / rounds,
	    64000.0 * rounds / (double)(pg_now() - t0 + 1));
	t0 = pg_now();
	for (r = 0; r < commits; r++) {
		a.over = 0;
		st->eng->write_start(st, puts_txn, &p, async_done, &a);
		while (!a.over)
			turn(&st, 1, 50);
		okc += a.status == ST_OK;
	}
	ok(okc == commits, "%d commits of 64 writes", commits);
	printf("# a commit of 64 writes (fsync off): %.3f ms (%.0f writes/s)\n",
	    (double)(pg_now() - t0) / commits,
	    64000.0 * commits / (double)(pg_now() - t0 + 1));
}

/* A password goes to the server as libpq's password keyword. */
static void
test_password(void)
{
	struct store_conf c = conf;
	struct store *st;

	if ((c.conninfo = getenv("KVPG_PWUSER")) == NULL ||
	    psql("GRANT USAGE ON SCHEMA secretd TO kvpw") ||
	    psql("GRANT ALL ON ALL TABLES IN SCHEMA secretd TO kvpw")) {
		ok(0, "a role with a password (KVPG_PWUSER)");
		return;
	}
	c.password = "wrong";
	ok(store_open_conf(&st, &c, root) == ST_IO,
	    "a wrong password: the store does not open");
	c.password = "kv-pass-1";
	if (ok(store_open_conf(&st, &c, root) == ST_OK,
	    "the right password opens it"))
		store_close(st);
}

/* libpq tries each host of a multi-host string in turn. */
static void
test_multihost(void)
{
	struct store_conf c = conf;
	struct store *st;
	struct kv_txn *txn;
	MDB_val k = val("u002", 4), v;

	if ((c.conninfo = getenv("KVPG_MULTI")) == NULL) {
		ok(0, "KVPG_MULTI names a multi-host string");
		return;
	}
	if (!ok(store_open_conf(&st, &c, root) == ST_OK, "a multi-host "
	    "string whose first host is not there opens the store"))
		return;
	st->eng->rtxn(st, &txn);
	ok(kv_get(txn, KV_USAGE, &k, &v) == 0, "and reads through it");
	st->eng->rtxn_done(st);
	store_close(st);
}

/*
 * A query the server refuses (its table dropped under the store) is an
 * error at once, not a read asked again until the deadline.
 */
static void
test_refused(struct store *st)
{
	struct kv_txn *txn;
	MDB_val k = val("q/a-0", 5), v;
	uint64_t w, t0;
	int rc;

	if (psql("DROP TABLE secretd.token_children")) {
		ok(0, "a table dropped (KVPG_PSQL)");
		return;
	}
	t0 = pg_now();
	w = store_wave(st);
	store_run_begin(st, w, 0);
	st->eng->rtxn(st, &txn);
	rc = kv_get(txn, KV_TOKEN_CHILDREN, &k, &v);
	st->eng->rtxn_done(st);
	turn(&st, 1, 0);
	ready_within(st, w, 3000);
	store_run_begin(st, w, 0);
	st->eng->rtxn(st, &txn);
	if (rc == KV_AGAIN)
		rc = kv_get(txn, KV_TOKEN_CHILDREN, &k, &v);
	st->eng->rtxn_done(st);
	ok(rc == EIO && !store_run_missed(st),
	    "a refused read answers an error after one wave (%d, %llu ms)", rc,
	    (unsigned long long)(pg_now() - t0));
}

/* Metrics' figures come from the background, never waited for. */
static void
test_figures(void)
{
	struct store *st;
	uint64_t end = pg_now() + 3000;

	if (store_open_conf(&st, &conf, root) != ST_OK) {
		ok(0, "a store opens for its figures");
		return;
	}
	while (pg_now() < end && store_count_secrets(st) != 1)
		turn(&st, 1, 50);
	ok(store_count_secrets(st) == 1, "count_secrets: 1 after a refresh "
	    "(%zu)", store_count_secrets(st));
	ok(store_size_bytes(st) > 0, "size_bytes: %llu",
	    (unsigned long long)store_size_bytes(st));
	store_close(st);
}

int
main(void)
{
	const char *ci = getenv("KVPG_CONNINFO");
	struct store *st, *other;

	if (ci == NULL) {
		printf("1..0 # SKIP KVPG_CONNINFO is not set (run by "
		    "tests/e2e/test_kv_pg.sh)\n");
		return 0;
	}
	log_init("test_kv_pg", LOG_TO_STDERR, 0);
	if (sodium_init() == -1)
		return 1;
	randombytes_buf(root, sizeof(root));
	randombytes_buf(other_root, sizeof(other_root));
	conf.engine = STORE_POSTGRESQL;
	conf.conninfo = ci;
	conf.timeout_ms = TIMEOUT_MS;

	test_create_open();
	if (store_open_conf(&st, &conf, root) != ST_OK ||
	    store_open_conf(&other, &conf, root) != ST_OK) {
		ok(0, "two stores open on the database");
		return done_testing();
	}
	test_order(st);
	test_pages(st);
	test_odd_keys(st);
	test_txn_semantics(st);
	test_lock_rerun(st);
	test_shared(st);
	test_figures();
	test_multihost();
	test_password();
	test_waves(st, other);
	test_two_nodes(st, other);
	test_range_quota(st, other);
	measure(st);
	test_outage(st);
	test_lost_commit();
	test_refused(st);
	store_close(other);
	store_close(st);
	return done_testing();
}
