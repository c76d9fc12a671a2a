/*
 * What a store engine provides besides its tables (kv.h): opening and
 * closing, read views, write transactions (a blocking one for offline
 * commands, an asynchronous one for the group commit), its part in the
 * broker's poll loop, and the figures metrics report.  One instance per
 * engine: store_lmdb_engine (kv_lmdb.c), store_pg_engine (kv_pg.c).
 */
#ifndef SECRETD_STORE_ENGINE_H
#define SECRETD_STORE_ENGINE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "kv.h"

struct store;

/* Where a store lives; filled from the configuration. */
struct store_conf {
	int		 engine;	/* STORE_LMDB, STORE_POSTGRESQL */
	const char	*dir;		/* LMDB: the state folder */
	const char	*conninfo;	/* PostgreSQL: libpq string */
	const char	*password;	/* PostgreSQL: or NULL */
	int		 timeout_ms;	/* a read or commit past it: 503 */
};

#define STORE_LMDB		0
#define STORE_POSTGRESQL	1

/*
 * Body of a write transaction: returns 0 or an LMDB/errno/KV_ code, and
 * sets *err to a store_err to abort with a store-level error.  It may be
 * run more than once for one commit (LMDB: after growing a full map;
 * PostgreSQL: after a read answered KV_AGAIN, with the rows it needs
 * then locked), so it must have no effect outside the transaction that
 * a second run does not redo.
 */
typedef int (*store_txn_fn)(struct store *, struct kv_txn *, void *,
    int *err);

/* done(arg, status): a store_err, once the commit is durable or failed. */
typedef void (*store_done_fn)(void *arg, int status);

struct store_engine {
	const char	*name;
	const struct kv_engine *kv;

	int	(*create)(struct store *, const struct store_conf *);
	int	(*open)(struct store *, const struct store_conf *);
	void	(*close)(struct store *);

	/* A read view for the current run; done after the run. */
	int	(*rtxn)(struct store *, struct kv_txn **);
	void	(*rtxn_done)(struct store *);

	/* fn in one transaction, committed durably before returning. */
	int	(*write)(struct store *, store_txn_fn, void *);
	/*
	 * The group commit: starts fn's transaction and returns; done runs
	 * when it is durable or failed (LMDB: before write_start returns).
	 * One at a time: the broker starts the next after done.
	 */
	int	(*write_start)(struct store *, store_txn_fn, void *,
		    store_done_fn, void *);

	/*
	 * Runs of a request (request.c): a run made for a request that
	 * arrived when wave() said w may use every answer of waves >= w
	 * and no older one, so that it never sees data read before it
	 * arrived (a token revoked on another node is refused at once).
	 * run_begin(w, last): last means the request's deadline passed,
	 * so a read that is not there answers KV_UNAVAILABLE instead of
	 * KV_AGAIN.  run_missed(): whether a read of the run answered
	 * KV_AGAIN (its answer comes in a later wave; run it again then).
	 * LMDB: wave 0, never missed.
	 */
	uint64_t (*wave)(struct store *);
	void	(*run_begin)(struct store *, uint64_t w, int last);
	int	(*run_missed)(struct store *);
	/* Whether answers are out for the run's wave: the requests that
	 * missed can run again (true until run_missed's fetches come). */
	int	(*wave_ready)(struct store *, uint64_t w);

	/* Poll loop: the engine's descriptors, their events, its timer. */
	int	(*pollfds)(struct store *, struct pollfd *, int max);
	void	(*io)(struct store *, const struct pollfd *, int n);
	int	(*timeout_ms)(struct store *);	/* -1: none */

	/* Figures for metrics: never wait for the database. */
	size_t	(*count_secrets)(struct store *);
	uint64_t (*size_bytes)(struct store *);
};

extern const struct store_engine store_lmdb_engine;
extern const struct store_engine store_pg_engine;

#endif
