/*
 * Internals shared by the store's files: the store handle (with its
 * engine), the in-memory keyring, and the functions the shared record
 * code and the engines call across files.  Only the store's own files,
 * its engines and its unit tests include this.
 */
#ifndef SECRETD_STORE_INT_H
#define SECRETD_STORE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <lmdb.h>

#include "kv.h"
#include "seal.h"
#include "store.h"
#include "store_engine.h"

#define STORE_SCHEMA	4	/* 2: token indexes, usage counts;
				   3: old versions;
				   4: token records, usage counts
				   tagged (store_mac.c) */
#define STORE_MAXDBS	16
#define STORE_MAPSIZE	(64UL * 1024 * 1024)
#define STORE_MAPSIZE_LIMIT (1ULL << 40)

/* One unwrapped data key; the array lives in sodium_malloc memory. */
struct data_key {
	uint32_t	 id;
	uint8_t		 key[DATA_KEY_LEN];
};

struct keyring {
	struct data_key	*keys;		/* read-only except while loading */
	size_t		 n;
	uint32_t	 active;
};

struct store {
	const struct store_engine *eng;
	void		*eng_data;	/* the engine's own state */
	/* LMDB's (kv_lmdb.c); unused on other engines */
	MDB_env		*env;
	MDB_dbi		 db_secrets;
	MDB_dbi		 db_tokens;	/* hash -> token record */
	MDB_dbi		 db_token_ids;	/* id -> hash */
	MDB_dbi		 db_token_owners; /* org \0 user \0 id -> "" */
	MDB_dbi		 db_token_children; /* parent id, id -> "" */
	MDB_dbi		 db_usage;	/* owner prefix -> count, bytes */
	MDB_dbi		 db_versions;	/* storage key \0 be32
					   version -> its record */
	MDB_dbi		 db_keyring;
	MDB_dbi		 db_meta;
	MDB_txn		*rtxn;		/* reset between reads, renewed */
	size_t		 mapsize;
	char		*dir;		/* the store's folder */
	int		 full;		/* the last write found no space */
	uint32_t	 schema;	/* as opened (before an upgrade) */
	uint8_t		*wrap_key;	/* no access except while used */
	uint8_t		*token_key;	/* read-only */
	uint8_t		*mac_key;	/* read-only: of the token key */
	uint8_t		*audit_key;	/* read-only: the audit chain's */
	uint8_t		 keycheck[32];	/* of the root key (not secret) */
	struct keyring	 ring;
	uint8_t		*scratch;	/* a value being re-sealed (keyring) */
	uint8_t		*reveal;	/* the one value lent out by a get */
};

/* Key ids and counters are stored big-endian so LMDB orders them. */
static inline uint32_t
be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline void
be32_put(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* store.c */
int	 store_mdb_err(int);
int	 store_write(struct store *, store_txn_fn, void *);
int	 store_rtxn(struct store *, struct kv_txn **);
void	 store_rtxn_done(struct store *);
int	 store_record_open(struct store *, struct kv_txn *, const MDB_val *,
	    const MDB_val *, struct secret_meta *, uint8_t *);
int	 store_seed(struct store *, struct kv_txn *);
int	 store_meta_verify(struct store *, const MDB_val *schema,
	    const MDB_val *keycheck, uint32_t *);
int	 store_read_run(struct store *, int (*)(struct store *,
	    struct kv_txn *, void *), void *, int timeout_ms);
int	 meta_get_u32(struct kv_txn *, const char *, uint32_t *);
int	 meta_put_u32(struct kv_txn *, const char *, uint32_t);

/* kv_lmdb.c: an LMDB transaction as a kv_txn, for LMDB-only code */
struct lmdb_txn {
	struct kv_txn	 h;
	MDB_txn		*txn;
};
void	 kv_lmdb_wrap(struct lmdb_txn *, struct store *, MDB_txn *,
	    int write);
MDB_dbi	 kv_lmdb_dbi(const struct store *, enum kv_table);
void	 store_set_initial_mapsize(size_t);
int	 store_verify_lmdb(struct store *, const char *dir,
	    struct store_report *);

/* store_check.c */
int	 store_file_check(const char *path, struct store_report *,
	    uint64_t *last_pg, uint32_t *psize, off_t *size);
const void *store_map_addr(ino_t);
int	 store_walk(struct store *, MDB_txn *, int open_values,
	    const void *map, off_t size, struct store_report *, int *faulted);

/* store_walk.c: the record part of a walk, on any engine */
typedef int (*store_read_fn)(struct store *, struct kv_txn *, void *);
struct walk_engine {
	/* fn over a read view, run again while a read of it misses */
	int	(*run)(void *arg, store_read_fn fn, void *fnarg);
	/* the engine's checks of a row, before and after the shared ones:
	   NULL or why not */
	const char *(*row)(void *arg, enum kv_table, const MDB_val *k,
		    const MDB_val *v);
	const char *(*after)(void *arg, enum kv_table, const MDB_val *k,
		    const MDB_val *v);
	/* after a table's n rows: NULL or why not */
	const char *(*table_end)(void *arg, enum kv_table, size_t n);
	void	*arg;
};
int	 store_records_walk(struct store *, const struct walk_engine *,
	    int open_values, struct store_report *);
int	 walk_table_of(const char *name, enum kv_table *);
void	 walk_tables_all(struct store_report *);
int	 walk_bad(struct store_report *, const char *table, const char *key,
	    const char *why);
void	 walk_key_print(char *, size_t, const uint8_t *, size_t);

/* store_version.c */
int	 version_keep(struct store *, struct kv_txn *, const struct skey *,
	    const MDB_val *old, uint32_t old_version, uint32_t keep);
int	 version_drop_all(struct store *, struct kv_txn *, const struct skey *);
int	 version_open(struct store *, struct kv_txn *, const struct skey *,
	    uint32_t version, struct secret_meta *, uint8_t *out,
	    size_t *len);
const char *version_record_check(struct kv_txn *, const MDB_val *k,
	    const MDB_val *v, struct record_view *, MDB_val *skey);

/* store_token.c */
int	 token_op_put(struct store *, struct kv_txn *, struct store_op *,
	    uint64_t now);
int	 token_op_delete(struct store *, struct kv_txn *, struct store_op *);
int	 token_index_build(struct store *, struct kv_txn *);
const char *token_record_check(struct store *, const MDB_val *k,
	    const MDB_val *v, struct token_meta *,
	    char parent[TOKEN_ID_LEN + 1]);
int	 token_value_check(const MDB_val *, const MDB_val *);
const char *token_links_check(struct store *, struct kv_txn *, const char *name,
	    const MDB_val *k, const MDB_val *v);

/* store_commit.c */
int	 usage_add(struct store *, struct kv_txn *, const struct secret_meta *,
	    int64_t count, int64_t bytes);
int	 usage_build(struct store *, struct kv_txn *);
int	 usage_read(struct store *, struct kv_txn *, const struct skey *,
	    struct store_usage *);
int	 usage_value_check(const MDB_val *, const MDB_val *);
const char *usage_record_check(struct store *, const MDB_val *k,
	    const MDB_val *v);
int	 usage_of_record(const struct record_view *, struct skey *,
	    uint64_t *bytes);
void	 usage_decode(const MDB_val *, struct store_usage *);

/* store_mac.c */
#define STORE_MAC_LEN	32
int	 store_mac_derive(struct store *);
int	 store_mac_put(struct store *, struct kv_txn *, enum kv_table, const char *name,
	    const MDB_val *k, const uint8_t *value, size_t len);
int	 store_mac_check(struct store *, const char *name, const MDB_val *k,
	    const MDB_val *v, size_t *len);
int	 store_mac_add_all(struct store *, struct kv_txn *, enum kv_table,
	    const char *name, int (*check)(const MDB_val *, const MDB_val *));

/* keyring.c */
int	 keyring_derive(struct store *, const uint8_t *root_key);
int	 keyring_keycheck(const uint8_t *root_key, uint8_t out[32]);
int	 keyring_init(struct store *, struct kv_txn *);
int	 keyring_load(struct store *, struct kv_txn *);
int	 keyring_find(struct store *, struct kv_txn *, uint32_t,
	    const uint8_t **);
const struct data_key *keyring_active(struct store *);
void	 keyring_free(struct store *);

#endif
