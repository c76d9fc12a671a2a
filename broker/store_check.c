/*
 * Checks that a store's data file is whole before the broker serves from
 * it, and walks or verifies every record.  LMDB maps data.mdb and trusts
 * it: a file cut short or a damaged page would fault (SIGBUS) on the first
 * read that reaches it, long after start.  So at open:
 *
 * - the two meta pages are read with pread (never through the map) and
 *   checked: magic, format version, page size, page numbers, the database
 *   roots within the used pages, and the two transaction ids one apart;
 *   the file must hold every page the newest meta page names;
 * - every record of every database is walked once in a read transaction
 *   and its header decoded (no value is decrypted), every key and value
 *   lying within the file.
 *
 * A file that shrinks after this check (truncated under a running broker)
 * is not guarded against.
 *
 * The meta page layout (LMDB's data format version 1, 64-bit build) is
 * described here from the format, not from LMDB's code: a 16-byte page
 * header (page number u64, pad u16, flags u16, lower/upper u16 each), then
 * magic u32, version u32, fixed address u64, map size u64, two database
 * records of 48 bytes (the free-page database, whose pad holds the page
 * size, then the main database: pad u32, flags u16, depth u16, branch,
 * leaf and overflow page counts u64, entries u64, root page u64), the last
 * used page u64 and the transaction id u64.  The rest of a meta page is
 * zero.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store_int.h"

#define META_MAGIC	0xBEEFC0DEU
#define META_VERSION	1
#define PG_META		0x08
#define PG_NONE		UINT64_MAX	/* an empty database's root */
#define NUM_METAS	2
#define PSIZE_MIN	512
#define PSIZE_MAX	65536
#define DEPTH_MAX	64

/* Offsets within a meta page. */
#define OFF_PGNO	0
#define OFF_FLAGS	10
#define OFF_MAGIC	16
#define OFF_VERSION	20
#define OFF_DB_FREE	40
#define OFF_DB_MAIN	88
#define DB_PAD		0
#define DB_DEPTH	6
#define DB_ROOT		40
#define OFF_LAST_PG	136
#define OFF_TXNID	144
#define META_END	152

struct meta {
	uint32_t	 psize;
	uint64_t	 last_pg;
	uint64_t	 txnid;
};

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

static uint64_t
le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int
damaged(struct store_report *r, const char *path, const char *why)
{
	if (r != NULL && r->file_why[0] == '\0')
		snprintf(r->file_why, sizeof(r->file_why), "%s", why);
	log_warnx("%s: damaged: %s; restore it from a backup", path, why);
	return ST_DAMAGED;
}

/* One database record of a meta page: its root within the used pages. */
static const char *
db_check(const uint8_t *db, uint64_t last_pg)
{
	uint64_t root = le64(db + DB_ROOT);
	uint16_t depth = le16(db + DB_DEPTH);

	if (root == PG_NONE)
		return depth == 0 ? NULL : "an empty database has a depth";
	if (root < NUM_METAS || root > last_pg)
		return "a database root lies outside the used pages";
	if (depth == 0 || depth > DEPTH_MAX)
		return "a database has an impossible depth";
	return NULL;
}

/* Meta page i, of page size psize (0: its own), into *m. */
static const char *
meta_parse(const uint8_t *pg, unsigned int i, uint32_t psize,
    struct meta *m)
{
	const char *why;
	uint32_t ps;
	size_t j;

	if (le32(pg + OFF_MAGIC) != META_MAGIC)
		return "a meta page has no LMDB magic";
	if (le32(pg + OFF_VERSION) != META_VERSION)
		return "a meta page has an unknown format version";
	if (le64(pg + OFF_PGNO) != i || !(le16(pg + OFF_FLAGS) & PG_META))
		return "a meta page is not marked as one";
	ps = le32(pg + OFF_DB_FREE + DB_PAD);
	if (ps < PSIZE_MIN || ps > PSIZE_MAX || (ps & (ps - 1)) != 0 ||
	    (psize != 0 && ps != psize))
		return "a meta page has a bad page size";
	m->psize = ps;
	m->last_pg = le64(pg + OFF_LAST_PG);
	m->txnid = le64(pg + OFF_TXNID);
	if (m->last_pg < NUM_METAS - 1)
		return "a meta page names too few pages";
	if ((why = db_check(pg + OFF_DB_FREE, m->last_pg)) != NULL ||
	    (why = db_check(pg + OFF_DB_MAIN, m->last_pg)) != NULL)
		return why;
	if (m->txnid != 0 && m->txnid % 2 != i)
		return "a meta page's transaction is in the wrong slot";
	for (j = META_END; j < ps; j++)
		if (pg[j] != 0)
			return "a meta page has bytes past its record";
	return NULL;
}

static const char *
metas_check(int fd, struct meta *newest, off_t *size)
{
	static uint8_t buf[NUM_METAS * PSIZE_MAX];
	struct meta m[NUM_METAS];
	struct stat sb;
	const char *why;
	ssize_t n;
	uint64_t need;
	int hi;

	if ((n = pread(fd, buf, sizeof(buf), 0)) < 0)
		return "it cannot be read";
	if ((size_t)n < META_END)
		return "it is shorter than a meta page";
	if ((why = meta_parse(buf, 0, 0, &m[0])) != NULL)
		return why;
	if ((size_t)n < NUM_METAS * (size_t)m[0].psize)
		return "it is shorter than its two meta pages";
	if ((why = meta_parse(buf + m[0].psize, 1, m[0].psize, &m[1])) !=
	    NULL)
		return why;
	/* LMDB uses the meta page of the newer transaction */
	hi = m[0].txnid < m[1].txnid;
	if (m[hi].txnid != 0 && m[hi].txnid != m[!hi].txnid + 1)
		return "the meta pages' transactions are not consecutive";
	if (m[!hi].last_pg > m[hi].last_pg)
		return "the older meta page names more pages than the newer";
	/* the size after the metas: the file only grows under a writer */
	if (fstat(fd, &sb) == -1)
		return "it cannot be read";
	need = (m[hi].last_pg + 1) * m[hi].psize;
	if ((uint64_t)sb.st_size < need)
		return "it is shorter than the pages its meta page names "
		    "(truncated)";
	*newest = m[hi];
	*size = sb.st_size;
	return NULL;
}

/*
 * The data file's meta pages and length, before LMDB maps it.  A writer
 * in another process may be between the writes of a commit: a failed
 * check is tried again before it counts.
 */
int
store_file_check(const char *path, struct store_report *r, uint64_t *last_pg,
    uint32_t *psize, off_t *size)
{
	struct meta m;
	const char *why = NULL;
	int fd, i;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		log_warn("%s", path);
		return errno == ENOENT ? ST_NOTFOUND : ST_IO;
	}
	for (i = 0; i < 3; i++) {
		if (i > 0)
			usleep(20000);
		if ((why = metas_check(fd, &m, size)) == NULL)
			break;
	}
	close(fd);
	if (why != NULL)
		return damaged(r, path, why);
	*last_pg = m.last_pg;
	*psize = m.psize;
	return ST_OK;
}

/* --- the walk --- */

static sigjmp_buf walk_jmp;
static volatile sig_atomic_t walking;

static void
walk_fault(int sig)
{
	if (walking)
		siglongjmp(walk_jmp, sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

struct walk {
	struct store	*st;
	MDB_txn		*txn;
	struct lmdb_txn	 kv;		/* txn, for the shared record code */
	struct store_report *r;
	const uint8_t	*lo, *hi;	/* the file, as mapped */
	MDB_val		 prev;		/* the key before, in this table */
	uint64_t	 pages;		/* in the file */
	uint64_t	 counted;	/* the databases say they use */
};

static int
in_file(const struct walk *w, const MDB_val *v)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size == 0 || w->lo == NULL)
		return 1;
	return p >= w->lo && p < w->hi && v->mv_size <=
	    (size_t)(w->hi - p);
}

/* LMDB never misses: one run, in the walk's own transaction. */
static int
lmdb_run(void *arg, store_read_fn fn, void *fnarg)
{
	struct walk *w = arg;

	return store_mdb_err(fn(w->st, &w->kv.h, fnarg));
}

/* Before the shared checks: the row lies within the file. */
static const char *
lmdb_row(void *arg, enum kv_table t, const MDB_val *k, const MDB_val *v)
{
	struct walk *w = arg;

	(void)t;
	if (!in_file(w, k) || !in_file(w, v))
		return "lies outside the file";
	return NULL;
}

/* After them: keys in order, and each found again from the root. */
static const char *
lmdb_order(void *arg, enum kv_table t, const MDB_val *k, const MDB_val *v)
{
	struct walk *w = arg;
	MDB_val k2 = *k, v2;
	size_t n;
	int c;

	if (w->prev.mv_data != NULL) {
		n = w->prev.mv_size < k->mv_size ? w->prev.mv_size :
		    k->mv_size;
		c = memcmp(w->prev.mv_data, k->mv_data, n);
		if (c > 0 || (c == 0 && w->prev.mv_size >= k->mv_size))
			return "is out of order";
	}
	if (mdb_get(w->txn, kv_lmdb_dbi(w->st, t), &k2, &v2) != 0 ||
	    v2.mv_data != v->mv_data || v2.mv_size != v->mv_size)
		return "cannot be found from the root";
	w->prev = *k;
	return NULL;
}

/* The database's own figures: its entries, and no more pages than the
   file holds. */
static const char *
lmdb_table_end(void *arg, enum kv_table t, size_t n)
{
	struct walk *w = arg;
	MDB_stat ms;

	w->prev.mv_data = NULL;
	w->prev.mv_size = 0;
	if (mdb_stat(w->txn, kv_lmdb_dbi(w->st, t), &ms) != 0 ||
	    ms.ms_entries != n)
		return "the database counts other records than it holds";
	if (ms.ms_branch_pages > w->pages || ms.ms_leaf_pages > w->pages ||
	    ms.ms_overflow_pages > w->pages ||
	    (w->counted += ms.ms_branch_pages + ms.ms_leaf_pages +
	    ms.ms_overflow_pages) > w->pages)
		return "the database counts more pages than the file holds";
	return NULL;
}

/* Whether a store of st's schema has table t (schema 2 added the token
 * indexes and usage counts, schema 3 the kept versions). */
static int
schema_has(const struct store *st, enum kv_table t)
{
	switch (t) {
	case KV_TOKEN_IDS:
	case KV_TOKEN_OWNERS:
	case KV_TOKEN_CHILDREN:
	case KV_USAGE:
		return st->schema >= 2;
	case KV_VERSIONS:
		return st->schema >= 3;
	default:
		return 1;
	}
}

/* The main database: names of the databases, each one the store makes;
   then their records. */
static int
walk_main(struct walk *w, int open_values)
{
	const struct walk_engine we = {
		lmdb_run, lmdb_row, lmdb_order, lmdb_table_end, w
	};
	struct store_report *r = w->r;
	enum kv_table t;
	MDB_dbi dbi;
	MDB_cursor *c;
	MDB_val k, v;
	char key[400], name[32];
	int rc, ret = ST_OK;

	if ((rc = mdb_dbi_open(w->txn, NULL, 0, &dbi)) != 0 ||
	    (rc = mdb_cursor_open(w->txn, dbi, &c)) != 0)
		return store_mdb_err(rc);
	r->ndb = 0;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (!in_file(w, &k)) {
			ret = walk_bad(r, "(main)", "",
			    "names no database of the store");
			break;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(k.mv_size <
		    sizeof(name) ? k.mv_size : sizeof(name) - 1),
		    (const char *)k.mv_data);
		if (k.mv_size >= sizeof(name) || memchr(k.mv_data, '\0',
		    k.mv_size) != NULL || walk_table_of(name, &t) == -1 ||
		    r->ndb == STORE_MAXDBS) {
			walk_key_print(key, sizeof(key), k.mv_data, k.mv_size);
			ret = walk_bad(r, "(main)", key,
			    "names no database of the store");
			break;
		}
		/* a table its schema does not have yet is the upgrade's:
		   its handle is not open before then */
		if (!schema_has(w->st, t))
			continue;
		snprintf(r->db[r->ndb].name, sizeof(r->db[r->ndb].name), "%s",
		    name);
		r->ndb++;
	}
	mdb_cursor_close(c);
	if (ret == ST_OK && rc != MDB_NOTFOUND)
		ret = walk_bad(r, "(main)", "", mdb_strerror(rc));
	if (ret == ST_OK)
		ret = store_records_walk(w->st, &we, open_values, r);
	return ret;
}

/*
 * Where LMDB mapped the data file (inode ino): LMDB does not say, so
 * from /proc/self/maps.  NULL when not found (values are then not
 * bounds-checked, only guarded by the fault handler).
 */
const void *
store_map_addr(ino_t ino)
{
	char line[512];
	unsigned long start, end, off, inode;
	const void *addr = NULL;
	FILE *f;

	if ((f = fopen("/proc/self/maps", "re")) == NULL)
		return NULL;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%lx-%lx %*s %lx %*s %lu", &start, &end,
		    &off, &inode) == 4 && inode == (unsigned long)ino &&
		    off == 0) {
			addr = (const void *)start;
			break;
		}
	fclose(f);
	return addr;
}

/*
 * Walks every record of every database in txn (values opened when
 * open_values), the file mapped at map for size bytes.  A fault while
 * LMDB follows a damaged page is caught here, at start, and reported:
 * the transaction is then unusable and *faulted is set.
 */
int
store_walk(struct store *st, MDB_txn *txn, int open_values,
    const void *map, off_t size, struct store_report *r, int *faulted)
{
	struct sigaction sa, obus, osegv;
	struct walk w;
	MDB_stat ms;
	volatile int ret = ST_OK;
	int sig;

	memset(&w, 0, sizeof(w));
	w.st = st;
	w.txn = txn;
	kv_lmdb_wrap(&w.kv, st, txn, 0);
	w.r = r;
	w.lo = map;
	w.hi = map != NULL ? w.lo + size : NULL;
	if (mdb_env_stat(mdb_txn_env(txn), &ms) == 0 && ms.ms_psize > 0)
		w.pages = (uint64_t)size / ms.ms_psize;
	*faulted = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = walk_fault;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &obus);
	sigaction(SIGSEGV, &sa, &osegv);
	if ((sig = sigsetjmp(walk_jmp, 1)) == 0) {
		walking = 1;
		ret = walk_main(&w, open_values);
	} else {
		*faulted = 1;
		if (r->bad_why[0] == '\0')
			snprintf(r->bad_why, sizeof(r->bad_why),
			    "a page fault (%s) reading a damaged page",
			    sig == SIGBUS ? "SIGBUS" : "SIGSEGV");
		ret = ST_CORRUPT;
	}
	walking = 0;
	sigaction(SIGBUS, &obus, NULL);
	sigaction(SIGSEGV, &osegv, NULL);
	return ret;
}
