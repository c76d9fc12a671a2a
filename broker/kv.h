/*
 * The store's engine: an ordered key-value store of named tables, with
 * read views and write transactions.  The shared store code (records,
 * sealing, keyring, MACs, the ops of a group commit, token trees, kept
 * versions, scans) is written once against this interface; one engine
 * file maps it onto LMDB (kv_lmdb.c), another onto PostgreSQL
 * (kv_pg.c).
 *
 * Keys and values are byte spans.  The shared code has always used
 * LMDB's MDB_val for them, and LMDB is always built, so MDB_val stays
 * the span type on every engine.  Keys sort as bytes (memcmp, shorter
 * first on a tie), on PostgreSQL as on LMDB, so cursors and scans mean
 * the same thing on both.
 *
 * Return codes are LMDB's: 0, MDB_NOTFOUND, an LMDB error or an errno,
 * plus two of our own, below.  store_mdb_err() turns any of them into a
 * store_err.
 */
#ifndef SECRETD_KV_H
#define SECRETD_KV_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

struct store;

enum kv_table {
	KV_SECRETS,		/* storage key -> current record */
	KV_VERSIONS,		/* storage key \0 be32 version -> record */
	KV_TOKENS,		/* keyed hash -> token record + MAC */
	KV_TOKEN_IDS,		/* id -> hash */
	KV_TOKEN_OWNERS,	/* org \0 user \0 id -> "" */
	KV_TOKEN_CHILDREN,	/* parent id \0 id -> "" */
	KV_USAGE,		/* owner prefix -> count, bytes, MAC */
	KV_KEYRING,		/* be32 id -> wrapped data key */
	KV_META,		/* name -> value */
	KV_NTABLES
};

/*
 * KV_AGAIN: the engine does not have the answer yet.  It recorded what
 * to fetch; the caller gives up this run (a handler answers, and
 * request.c throws the answer away and runs the request again once the
 * fetch is back; a write transaction body is run again).  LMDB never
 * answers it.
 * KV_UNAVAILABLE: the engine cannot reach its data (a database lost or
 * past its deadline); the store answers ST_BUSY, clients see 503.
 * Both lie outside LMDB's range of codes (-30799 .. -30780).
 */
#define KV_AGAIN	(-30600)
#define KV_UNAVAILABLE	(-30601)

/* The cursor moves the shared code makes; no backwards walk. */
enum kv_op {
	KV_FIRST,		/* the first key of the table */
	KV_SET_RANGE,		/* the first key >= *k */
	KV_NEXT			/* the key after the current one */
};

/*
 * A transaction handle: a read view (store_rtxn) or a write transaction
 * (the body of store_write).  Engines embed this header first.
 */
struct kv_txn {
	const struct kv_engine	*e;
	struct store		*st;
	int			 write;
};

struct kv_cursor {
	const struct kv_engine	*e;
	struct kv_txn		*txn;
};

/* Put flags: KV_RESERVE returns room for v->mv_size bytes in v->mv_data,
 * to be filled before the next call on the transaction. */
#define KV_RESERVE	0x1

struct kv_engine {
	const char	*name;

	int	(*get)(struct kv_txn *, enum kv_table, const MDB_val *k,
		    MDB_val *v);
	int	(*put)(struct kv_txn *, enum kv_table, const MDB_val *k,
		    MDB_val *v, unsigned int flags);
	int	(*del)(struct kv_txn *, enum kv_table, const MDB_val *k);

	int	(*cursor_open)(struct kv_txn *, enum kv_table,
		    struct kv_cursor **);
	/* KV_SET_RANGE reads *k; every op sets *k and *v to the entry. */
	int	(*cursor_get)(struct kv_cursor *, MDB_val *k, MDB_val *v,
		    enum kv_op);
	/* Replace the value of, or delete, the entry the cursor is on. */
	int	(*cursor_put)(struct kv_cursor *, MDB_val *v,
		    unsigned int flags);
	int	(*cursor_del)(struct kv_cursor *);
	void	(*cursor_close)(struct kv_cursor *);
};

static inline int
kv_get(struct kv_txn *t, enum kv_table tb, const MDB_val *k, MDB_val *v)
{
	return t->e->get(t, tb, k, v);
}

static inline int
kv_put(struct kv_txn *t, enum kv_table tb, const MDB_val *k, MDB_val *v,
    unsigned int flags)
{
	return t->e->put(t, tb, k, v, flags);
}

static inline int
kv_del(struct kv_txn *t, enum kv_table tb, const MDB_val *k)
{
	return t->e->del(t, tb, k);
}

static inline int
kv_cursor_open(struct kv_txn *t, enum kv_table tb, struct kv_cursor **c)
{
	return t->e->cursor_open(t, tb, c);
}

static inline int
kv_cursor_get(struct kv_cursor *c, MDB_val *k, MDB_val *v, enum kv_op op)
{
	return c->e->cursor_get(c, k, v, op);
}

static inline int
kv_cursor_put(struct kv_cursor *c, MDB_val *v, unsigned int flags)
{
	return c->e->cursor_put(c, v, flags);
}

static inline int
kv_cursor_del(struct kv_cursor *c)
{
	return c->e->cursor_del(c);
}

static inline void
kv_cursor_close(struct kv_cursor *c)
{
	if (c != NULL)
		c->e->cursor_close(c);
}

#endif
