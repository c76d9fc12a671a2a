/*
 * The broker's sealed store: LMDB environment, record sealing and the
 * keyring.  Only the broker links this.  Functions return enum store_err;
 * store_strerror() says what it means.
 */
#ifndef SECRETD_STORE_H
#define SECRETD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define ROOT_KEY_LEN	32
#define TOKEN_HASH_LEN	32
#define STORE_AUDIT_KEY_LEN 32

enum store_err {
	ST_OK = 0,
	ST_NOTFOUND,		/* no such record */
	ST_CORRUPT,		/* a record failed to open or decode */
	ST_BADKEY,		/* the root key does not open this store */
	ST_INVALID,		/* a field the store will not accept */
	ST_IO,			/* LMDB or the file system failed */
	ST_NOMEM,
	ST_EXISTS,		/* init over an existing store */
	ST_QUOTA,		/* a per-owner limit would be passed */
	ST_DAMAGED,		/* the data file is damaged: restore it */
	ST_FULL,		/* out of space: disk, quota or map limit */
	ST_BUSY,		/* every LMDB reader slot is held, or the
				   engine's data is not there (yet) */
	ST_NOVERSION,		/* the secret exists, that version is not
				   kept */
	ST_CONFLICT,		/* a rollback to the current version */
};

struct store;

/*
 * A revealed value.  It lies in the store's guarded (sodium_malloc)
 * buffer, valid until the next store call; store_value_free wipes it.
 */
struct secret_value {
	uint8_t		*data;
	size_t		 len;
};

struct store_scan {
	const char	*org;
	int		 scope;		/* SCOPE_USER, SCOPE_ORG, or -1: both */
	const char	*owner;		/* user-scope records of this owner
					   only; NULL: every owner */
	const char	*category;	/* NULL: any */
	const char	*cursor;	/* from the previous page; NULL: first */
	const char	*prefix;	/* names starting with it; NULL: any */
};

enum store_op_kind {
	STORE_PUT_SECRET,	/* create, or rotate when it exists */
	STORE_DELETE_SECRET,
	STORE_PUT_TOKEN,
	STORE_DELETE_TOKEN,	/* by token.id within token.org_id, with
				   every token made with it */
	STORE_ROLLBACK_SECRET,	/* a kept version's value as a new one */
};

/*
 * One write in a group commit.  For STORE_PUT_SECRET the caller fills
 * meta.name, scope, user_id, org_id, updated_by; category ("" keeps the
 * old one, or "custom" when new) and description (used only when
 * has_description) and the value.  The store fills version, timestamps
 * and created_by, and returns the final metadata in meta.
 * The version a put replaces is kept (sealed as it was) while the
 * secret's kept versions, current included, number at most keep (1 to
 * VERSIONS_MAX); older ones are dropped.
 * STORE_DELETE_SECRET returns the deleted record's metadata in meta and
 * drops every kept version.
 * STORE_ROLLBACK_SECRET is a put (same fields, no value) whose value is
 * kept version from_version's, opened and sealed again inside the
 * transaction: ST_NOVERSION when that version is not kept, ST_CONFLICT
 * when it is the current one.
 * A put is refused with ST_QUOTA, and nothing stored, when it would take
 * its owner past max_count secrets or max_bytes of values (0: no limit).
 *
 * STORE_PUT_TOKEN stores token with token_hash; token_parent names the
 * token it was made with ("" for none), which must still exist; it is
 * refused with ST_QUOTA when the user already has max_count live tokens.
 * STORE_DELETE_TOKEN returns the token in token and how many tokens it
 * took with it (itself included) in revoked.
 */
struct store_op {
	enum store_op_kind kind;
	struct secret_meta meta;
	int		 has_description;
	int		 has_expires;	/* 0: keep meta.expires_at's old value */
	const uint8_t	*value;
	size_t		 value_len;
	struct token_meta token;
	uint8_t		 token_hash[TOKEN_HASH_LEN];
	char		 token_parent[TOKEN_ID_LEN + 1];
	uint64_t	 max_count;
	uint64_t	 max_bytes;
	uint32_t	 keep;		/* versions kept, the new one
					   included; 0: as 1 */
	uint32_t	 from_version;	/* ROLLBACK */
	int		 result;	/* enum store_err, per op */
	int		 created;	/* PUT: 1 when the name was new */
	size_t		 revoked;	/* DELETE_TOKEN */
};

/* One owner's share of the store, as quotas count it. */
struct store_usage {
	uint64_t	 count;
	uint64_t	 bytes;
};

/*
 * What a walk of the store found (store_verify): records per database and
 * the first damage, file_why for the file itself, bad_* for a record.
 */
/* The first schema whose token records and usage counts carry a MAC. */
#define STORE_SCHEMA_MAC	4

struct store_report {
	uint32_t	 schema;
	uint32_t	 active_key;
	size_t		 nkeys;
	struct {
		char	 name[32];
		size_t	 n;
	}		 db[16];
	size_t		 ndb;
	char		 file_why[160];
	char		 bad_db[32];
	char		 bad_key[400];	/* printable */
	char		 bad_why[160];
};

/* store.c */
int	 store_create(const char *dir, const uint8_t *root_key);
int	 store_open(struct store **, const char *dir, const uint8_t *root_key);
void	 store_close(struct store *);
int	 store_verify(const char *dir, const uint8_t *root_key,
	    struct store_report *);
int	 store_full(struct store *);
const char *store_strerror(int);
int	 store_secret_get(struct store *, const char *org, int scope,
	    const char *owner, const char *name, struct secret_meta *,
	    struct secret_value *);	/* value NULL: metadata only */
int	 store_secret_scan(struct store *, const struct store_scan *,
	    struct secret_meta *out, size_t max, size_t *n,
	    char *next_cursor, size_t next_cursor_len);
int	 store_commit(struct store *, struct store_op *, size_t);
size_t	 store_count_secrets(struct store *);
uint64_t store_size_bytes(struct store *);
int	 store_usage_get(struct store *, const char *org, int scope,
	    const char *owner, struct store_usage *);
void	 store_value_free(struct secret_value *);

/*
 * Engines other than LMDB (store_engine.h): open from a store_conf, the
 * asynchronous group commit, the poll loop, and the runs of a request
 * whose reads wait for the database.  On LMDB store_commit_start calls
 * done before it returns, store_wave is 0 and no run ever misses.
 */
struct store_conf;
struct pollfd;
int	 store_create_conf(const struct store_conf *, const uint8_t *root_key);
int	 store_open_conf(struct store **, const struct store_conf *,
	    const uint8_t *root_key);
int	 store_verify_conf(const struct store_conf *, const uint8_t *root_key,
	    struct store_report *);
int	 store_commit_start(struct store *, struct store_op *, size_t,
	    void (*done)(void *, int), void *);
int	 store_pollfds(struct store *, struct pollfd *, int max);
void	 store_io(struct store *, const struct pollfd *, int n);
int	 store_timeout_ms(struct store *);
uint64_t store_wave(struct store *);
void	 store_run_begin(struct store *, uint64_t wave, int last);
int	 store_run_missed(struct store *);
int	 store_wave_ready(struct store *, uint64_t wave);
const char *store_engine_name(struct store *);

/* store_version.c */
int	 store_secret_versions(struct store *, const char *org, int scope,
	    const char *owner, const char *name, struct secret_meta *cur,
	    struct secret_version *out, size_t max, size_t *n);
int	 store_secret_version_get(struct store *, const char *org, int scope,
	    const char *owner, const char *name, uint32_t version,
	    uint32_t keep, struct secret_meta *, struct secret_value *);

/* store_token.c */
int	 store_token_lookup(struct store *, const uint8_t *hash,
	    struct token_meta *);
int	 store_token_find(struct store *, const char *org, const char *id,
	    struct token_meta *);
int	 store_token_list(struct store *, const char *org, const char *user,
	    const char *cursor, struct token_meta *out, size_t max, size_t *n,
	    char *next_cursor, size_t next_cursor_len);

/* keyring.c */
int	 rootkey_load(const char *path, uint8_t **key, char *err, size_t);
int	 rootkey_generate(const char *path, char *err, size_t);
int	 rootkey_write(const char *path, const uint8_t *key, char *err,
	    size_t);
void	 rootkey_free(uint8_t *);
int	 sync_dir_of(const char *path);
int	 store_rotate_data_key(struct store *, uint32_t *new_id);
int	 store_rewrap(struct store *, size_t batch, size_t *rewrapped);
int	 store_rekey(struct store *, const uint8_t *new_root_key, size_t *n);
int	 store_count_by_key(struct store *, uint32_t key_id, size_t *n);
uint32_t store_active_key_id(struct store *);
const uint8_t *store_audit_key(struct store *);
int	 keyring_audit_key(const uint8_t *root_key,
	    uint8_t out[STORE_AUDIT_KEY_LEN]);
void	 store_token_hash(struct store *, const char *token,
	    uint8_t out[TOKEN_HASH_LEN]);

#endif
