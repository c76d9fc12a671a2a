/*
 * Internals of the PostgreSQL engine, shared by its files: kv_pg.c (the
 * engine's hooks: poll loop, runs, open, create, close), kv_pg_conn.c
 * (the connections), kv_pg_view.c (the wave cache and read views),
 * kv_pg_txn.c (write transactions) and kv_pg_sql.c (the schema and the
 * statements).
 */
#ifndef SECRETD_KV_PG_H
#define SECRETD_KV_PG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <libpq-fe.h>

#include "kv.h"
#include "store_engine.h"

#define PG_PAGE		64	/* rows a cursor fetches at a time */
#define PG_PAGE_BIG	1024	/* a read view's, after a full page */
#define PG_BUCKETS	16384	/* of the wave cache */
#define PG_CACHE_MAX	65536	/* answers kept at most, about */
#define PG_CACHE_BYTES	(64 * 1024 * 1024) /* their rows' bytes, about */
#define PG_SCHEMA	1	/* secretd.schema_version */
#define PG_BACKOFF_MIN	50	/* ms before the first reconnect */
#define PG_BACKOFF_MAX	2000
#define PG_STATS_MS	10000	/* metrics figures refreshed this often */
#define PG_RETRIES	3	/* a conflicting batch is run again */

/*
 * The statements prepared on every connection, one per table each.  The
 * writes take arrays: one statement per table and kind for a commit.
 */
enum pg_stmt {
	PS_GET,		/* v of k */
	PS_PAGE,	/* PG_PAGE rows from k on, in key order */
	PS_GET_LOCK,	/* PS_GET ... FOR UPDATE */
	PS_PAGE_LOCK,
	PS_INSERT,	/* fails with 23505 when a row exists */
	PS_UPDATE,
	PS_UPSERT,
	PS_DELETE,
	PS_PAGE_BIG,	/* PS_PAGE of PG_PAGE_BIG rows */
	PS_GET_LOCKS,	/* k, v of the keys of an array, FOR UPDATE in order */
	PS_NSTMT
};

struct pg_row {
	uint8_t		*k;
	size_t		 klen;
	uint8_t		*v;
	size_t		 vlen;
};

/* A row a statement of arrays sends; v only for PS_INSERT, PS_UPDATE,
 * PS_UPSERT. */
struct pg_wrow {
	const uint8_t	*k;
	size_t		 klen;
	const uint8_t	*v;
	size_t		 vlen;
};

/* The answer to one fetch: a row (get) or a page of rows from a key. */
struct pg_answer {
	int		 found;		/* get */
	struct pg_row	 row;		/* get: v only; page: unused */
	struct pg_row	*rows;		/* page */
	size_t		 nrows;
	int		 full;		/* page: more rows may follow */
	int		 failed;	/* the server refused the query */
	size_t		 bytes;		/* of its keys and values */
};

enum pg_fetch_state { PF_UNSENT, PF_SENT, PF_DONE };

/*
 * What a fetch reads: a row, or a page of rows from a key.  A read view
 * that walks past a full page fetches big pages from then on: a scan of
 * a thousand rows costs a run of the request per page, and a request has
 * few runs.
 */
#define PF_GET		0
#define PF_PAGE		1
#define PF_PAGE_BIG	2

/* A read of the wave cache: what to fetch, then its answer. */
struct pg_fetch {
	struct pg_fetch	*hnext;
	TAILQ_ENTRY(pg_fetch) entry;	/* pg->fetches, oldest first */
	int		 page;		/* PF_* */
	enum kv_table	 tb;
	uint8_t		*key;		/* page: the first key wanted */
	size_t		 klen;
	uint64_t	 hash;
	enum pg_fetch_state state;
	uint64_t	 wave;		/* recorded in; serves runs <= it */
	uint64_t	 lo;		/* the oldest run waiting for it */
	uint64_t	 at;		/* ms, recorded */
	struct pg_answer a;
};
TAILQ_HEAD(pg_fetchq, pg_fetch);

/* What a result read from a connection belongs to. */
enum pg_item_kind {
	PI_PREPARE,
	PI_SYNC,
	PI_FETCH,	/* a cache entry */
	PI_STATS_COUNT,
	PI_STATS_SIZE,
	PI_IGNORE,	/* a result nobody waits for (cleanup) */
	PI_CHECK,	/* open's look at the schema version */
	PI_SCHEMA,	/* create's statements */
	PI_TX		/* a statement of the write transaction */
};

struct pg_item {
	enum pg_item_kind kind;
	void		*p;
	int		 tx;		/* PI_TX: enum pg_tx_step */
	int		 got;		/* a result came; NULL ends it */
};

enum pg_conn_state { PC_DOWN, PC_CONNECTING, PC_SETUP, PC_READY };

struct pg_conn {
	const char	*name;		/* "read", "commit" */
	PGconn		*c;
	enum pg_conn_state state;
	int		 pollwant;	/* PQconnectPoll's: POLLIN/POLLOUT */
	int		 flushing;	/* unsent output */
	uint64_t	 retry_at;	/* ms: PC_DOWN, reconnect then */
	uint64_t	 backoff;
	uint64_t	 down_since;	/* ms; 0: up */
	struct pg_item	*q;		/* results expected, in order */
	size_t		 qhead, qlen, qcap;
	int		 err;		/* an error since the last sync */
	uint64_t	 started;	/* ms: PC_CONNECTING since */
};

struct pg_txn;

struct pg {
	struct store	*st;
	char		*conninfo;
	char		*password;	/* sodium_malloc, no access when idle */
	size_t		 pwlen;
	int		 timeout_ms;
	struct pg_conn	 rd, wr;

	struct kv_txn	 view;		/* the read view of every run */
	int		 online;	/* runs began: reads never block */
	uint64_t	 wave;		/* of the fetches recorded now */
	uint64_t	 run_wave;
	int		 run_last;
	int		 missed;

	struct pg_fetch	**tab;		/* the wave cache, by hash */
	size_t		 nbucket;
	size_t		 nfetch;
	size_t		 npending;	/* UNSENT or SENT */
	size_t		 cache_bytes;	/* of the DONE answers */
	struct pg_fetchq fetches;
	uint8_t		 hkey[16];	/* SipHash key of the buckets */

	struct pg_txn	*txn;		/* the group commit in progress */
	char		 node[33];	/* this open's id in secretd.commits */
	uint64_t	 batch;

	uint64_t	 stats_at;	/* ms: next refresh */
	int		 stats_busy;
	size_t		 count;
	int64_t		 count_delta;	/* this node's, since the last query */
	uint64_t	 size;

	int		 creating;	/* create: the schema comes first */
	int		 check_state;	/* open: 0 waiting, 1 ok, -1 failed */
	int		 check_version;
};

/* The engine's state hangs on the store (store_int.h: eng_data). */
#define pg_of(st)	((struct pg *)(st)->eng_data)

/* kv_pg.c */
int	 pg_loop(struct pg *, int (*until)(struct pg *, void *), void *,
	    uint64_t deadline);

/* kv_pg_conn.c */
uint64_t pg_now(void);
int	 pg_keycmp(const uint8_t *, size_t, const uint8_t *, size_t);
int	 pg_send(struct pg *, struct pg_conn *, enum pg_stmt, enum kv_table,
	    const MDB_val *k, enum pg_item_kind, void *, int tx);
int	 pg_send_rows(struct pg *, struct pg_conn *, enum pg_stmt,
	    enum kv_table, const struct pg_wrow *, size_t,
	    enum pg_item_kind, void *, int tx);
int	 pg_send_sql(struct pg *, struct pg_conn *, const char *stmt,
	    const char *sql, int nparams, const char *const *values,
	    const int *lengths, const int *formats, enum pg_item_kind,
	    void *, int tx);
int	 pg_queue(struct pg_conn *, enum pg_item_kind, void *, int tx);
int	 pg_sync(struct pg_conn *, void *, int tx);
uint64_t pg_be_int(const PGresult *);
const char *pg_oneline(const char *, char *, size_t);
void	 pg_conn_drop(struct pg *, struct pg_conn *, const char *why);
void	 pg_conn_start(struct pg *, struct pg_conn *);
void	 pg_conn_tick(struct pg *, struct pg_conn *, uint64_t now);
void	 pg_conn_flush(struct pg *, struct pg_conn *);
void	 pg_conn_io(struct pg *, struct pg_conn *, short revents);

/* kv_pg_view.c */
extern const struct kv_engine pg_kv;
int	 pg_answer_fill(struct pg_answer *, const PGresult *, int page);
void	 pg_answer_free(struct pg_answer *);
void	 pg_fetch_free(struct pg *, struct pg_fetch *);
void	 pg_fetch_done(struct pg *, struct pg_fetch *);
void	 pg_fetch_expire(struct pg *, uint64_t now);
void	 pg_wave_send(struct pg *);

/* kv_pg_txn.c */
int	 pg_txn_get(struct kv_txn *, enum kv_table, const MDB_val *,
	    MDB_val *);
int	 pg_txn_put(struct kv_txn *, enum kv_table, const MDB_val *,
	    MDB_val *, unsigned int);
int	 pg_txn_del(struct kv_txn *, enum kv_table, const MDB_val *);
int	 pg_txn_cursor_get(struct kv_cursor *, MDB_val *, MDB_val *,
	    enum kv_op);
int	 pg_write_start(struct store *, store_txn_fn, void *,
	    store_done_fn, void *);
int	 pg_write(struct store *, store_txn_fn, void *);
void	 pg_txn_result(struct pg *, struct pg_item *, const PGresult *);
void	 pg_txn_sync(struct pg *, struct pg_item *);
void	 pg_txn_conn_lost(struct pg *);
void	 pg_txn_abandon(struct pg *);
void	 pg_txn_conn_ready(struct pg *);
void	 pg_txn_tick(struct pg *, uint64_t now);
uint64_t pg_txn_deadline(struct pg *);

/* kv_pg_sql.c */
const char *pg_table_name(enum kv_table);
int	 pg_table_named(enum kv_table);	/* has org/scope/owner/name */
int	 pg_prepare_all(struct pg *, struct pg_conn *);
const char *pg_stmt_name(enum pg_stmt, enum kv_table, char *, size_t);
int	 pg_key_columns(enum kv_table, const MDB_val *, char cols[4][256]);
int	 pg_schema_send(struct pg *, struct pg_conn *);
int	 pg_check_send(struct pg *, struct pg_conn *);
int	 pg_stats_send(struct pg *, struct pg_conn *);

/* The cursor of a read view or of a write transaction. */
struct pg_cursor {
	struct kv_cursor h;
	enum kv_table	 tb;
	struct pg_fetch	*page;		/* view: the page it is on */
	size_t		 i;
	uint8_t		*cur;		/* write: the key it is on */
	size_t		 curlen;
	int		 on;
};

#endif
