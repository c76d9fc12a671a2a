/*
 * Kept versions in the store: the newest `keep` values of a secret are
 * listed and revealed, older ones dropped; a rollback copies a kept value
 * into a new version; a delete drops every version; a version moved to
 * another version's or another name's key fails to open and is damage to
 * verify; a schema-2 store is upgraded; rewrap re-seals old versions too.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store_int.h"
#include "tap.h"
#include "testutil.h"

#define NOVERSION	"err: that version is not kept"
#define NOTFOUND	"err: no such record"
#define CORRUPT		"err: a record failed to open or decode"

static uint8_t root[ROOT_KEY_LEN];

/* put NAME=VALUE for alice, keeping keep versions: its result */
static int
put(struct store *st, const char *name, const char *value, uint32_t keep)
{
	struct store_op op;

	tu_put_op(&op, SCOPE_USER, "acme", "alice", name, value, NULL);
	op.keep = keep;
	if (store_commit(st, &op, 1) != ST_OK)
		return -1;
	return op.result;
}

static int
rollback(struct store *st, const char *name, uint32_t from, uint32_t keep,
    uint64_t max_bytes, struct secret_meta *out)
{
	struct store_op op;

	tu_put_op(&op, SCOPE_USER, "acme", "alice", name, "", NULL);
	op.kind = STORE_ROLLBACK_SECRET;
	op.value = NULL;
	op.value_len = 0;
	op.from_version = from;
	op.keep = keep;
	op.max_bytes = max_bytes;
	if (store_commit(st, &op, 1) != ST_OK)
		return -1;
	if (out != NULL)
		*out = op.meta;
	return op.result;
}

static int
is_str(const char *got, const char *want, const char *name)
{
	int r = ok(strcmp(got, want) == 0, "%s", name);

	if (!r)
		printf("#   got:  %s\n#   want: %s\n", got, want);
	return r;
}

/* The listed versions as "6 5 4", or "err: " and the error. */
static const char *
listed(struct store *st, const char *name, size_t keep)
{
	static char buf[256];
	struct secret_version v[VERSIONS_MAX];
	struct secret_meta cur;
	size_t n, i, off = 0;
	int ret;

	if ((ret = store_secret_versions(st, "acme", SCOPE_USER, "alice", name,
	    &cur, v, keep, &n)) != ST_OK) {
		snprintf(buf, sizeof(buf), "err: %s", store_strerror(ret));
		return buf;
	}
	buf[0] = '\0';
	for (i = 0; i < n && off < sizeof(buf); i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%u",
		    i ? " " : "", v[i].version);
	return buf;
}

/* Kept version VERSION's value, or "err: " and the error. */
static const char *
revealed(struct store *st, const char *name, uint32_t version, uint32_t keep)
{
	static char buf[256];
	struct secret_value val;
	struct secret_meta m;
	int ret;

	if ((ret = store_secret_version_get(st, "acme", SCOPE_USER, "alice",
	    name, version, keep, &m, &val)) != ST_OK) {
		snprintf(buf, sizeof(buf), "err: %s", store_strerror(ret));
		return buf;
	}
	snprintf(buf, sizeof(buf), "%.*s", (int)val.len, (char *)val.data);
	if (m.version != version)
		snprintf(buf, sizeof(buf), "wrong version %u", m.version);
	store_value_free(&val);
	return buf;
}

/* Records in the versions database. */
static size_t
nversions(struct store *st)
{
	MDB_txn *txn;
	MDB_stat ms;
	size_t n = (size_t)-1;

	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) != 0)
		return n;
	if (mdb_stat(txn, st->db_versions, &ms) == 0)
		n = ms.ms_entries;
	mdb_txn_abort(txn);
	return n;
}

static void
vkey(const char *name, uint32_t version, uint8_t *out, size_t *len)
{
	struct skey sk;

	skey_build(&sk, "acme", SCOPE_USER, "alice", name);
	memcpy(out, sk.buf, sk.len);
	out[sk.len] = '\0';
	be32_put(out + sk.len + 1, version);
	*len = sk.len + 5;
}

/* Copies version `from` of name fname over version `to` of tname. */
static int
raw_move(struct store *st, const char *fname, uint32_t from,
    const char *tname, uint32_t to)
{
	uint8_t fk[SKEY_MAX + 5], tk[SKEY_MAX + 5], *copy;
	MDB_val k, v;
	MDB_txn *txn;
	size_t fl, tl;
	int rc;

	vkey(fname, from, fk, &fl);
	vkey(tname, to, tk, &tl);
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return rc;
	k.mv_size = fl;
	k.mv_data = fk;
	if ((rc = mdb_get(txn, st->db_versions, &k, &v)) != 0 ||
	    (copy = malloc(v.mv_size)) == NULL) {
		mdb_txn_abort(txn);
		return -1;
	}
	memcpy(copy, v.mv_data, v.mv_size);
	v.mv_data = copy;
	k.mv_size = tl;
	k.mv_data = tk;
	rc = mdb_put(txn, st->db_versions, &k, &v, 0);
	free(copy);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

/*
 * More versions kept than a listing asks for: the newest come, newest
 * first, whatever way the engine walks the versions table.
 */
static void
test_list_window(struct store *st)
{
	char v[16];
	int i, okall = 1;

	for (i = 1; i <= 7; i++) {
		snprintf(v, sizeof(v), "win-%d", i);
		okall &= put(st, "WIN", v, 10) == ST_OK;
	}
	ok(okall, "seven writes of WIN keeping 10");
	is_str(listed(st, "WIN", 10), "7 6 5 4 3 2 1",
	    "every kept version listed, newest first");
	is_str(listed(st, "WIN", 3), "7 6 5",
	    "a listing of 3 names the newest 3");
	is_str(listed(st, "WIN", 1), "7", "a listing of 1 is the current");
	is_str(listed(st, "WI", 10), NOTFOUND,
	    "a name that prefixes another is not found");
	okall = 1;
	for (i = 8; i <= 12; i++) {
		snprintf(v, sizeof(v), "win-%d", i);
		okall &= put(st, "WIN", v, 4) == ST_OK;
	}
	ok(okall, "five more keeping 4");
	is_str(listed(st, "WIN", 10), "12 11 10 9",
	    "after the drop only the 4 newest are listed");
	is_str(listed(st, "WIN", 2), "12 11", "and 2 of them on asking");
}

static void
test_keep(struct store *st)
{
	char v[16];
	int i, okall = 1;

	for (i = 1; i <= 6; i++) {
		snprintf(v, sizeof(v), "val-%d", i);
		okall &= put(st, "DB", v, 3) == ST_OK;
	}
	ok(okall, "six writes of DB keeping 3");
	is_str(listed(st, "DB", 3), "6 5 4",
	    "the newest 3 listed, newest first");
	ok(nversions(st) == 2, "the versions database holds the 2 old ones");
	is_str(revealed(st, "DB", 6, 3), "val-6",
	    "version 6 (current) reveals");
	is_str(revealed(st, "DB", 4, 3), "val-4",
	    "version 4 reveals its value");
	is_str(revealed(st, "DB", 3, 3), NOVERSION, "version 3 is dropped: "
	    "ST_NOVERSION");
	is_str(revealed(st, "DB", 7, 3), NOVERSION, "version 7 never was");
	is_str(revealed(st, "NONE", 1, 3), NOTFOUND, "no such secret: "
	    "ST_NOTFOUND");
	is_str(listed(st, "NONE", 3), NOTFOUND, "listing a missing secret: "
	    "ST_NOTFOUND");
	is_str(listed(st, "DB", 2), "6 5",
	    "keep lowered to 2: 2 listed at once");
	is_str(revealed(st, "DB", 4, 2), NOVERSION, "... and version 4 hidden");
	ok(put(st, "DB", "val-7", 2) == ST_OK && nversions(st) == 1,
	    "the next write with keep 2 drops the older one");
	ok(put(st, "DB", "val-8", 1) == ST_OK && nversions(st) == 0 &&
	    strcmp(listed(st, "DB", 1), "8") == 0, "keep 1: only the current");
	ok(put(st, "DB0", "other-1", 10) == ST_OK &&
	    put(st, "DB0", "other-2", 10) == ST_OK &&
	    put(st, "DB", "val-9", 10) == ST_OK &&
	    put(st, "D", "d-1", 10) == ST_OK && put(st, "D", "d-2", 10) ==
	    ST_OK, "DB0 and D beside DB, each rotated");
	is_str(listed(st, "DB", 10), "9 8", "DB lists its own versions only");
	is_str(listed(st, "DB0", 10), "2 1", "DB0 lists its own");
	is_str(listed(st, "D", 10), "2 1", "D lists its own");
}

static void
test_rollback(struct store *st)
{
	struct secret_meta m;
	int i;

	for (i = 1; i <= 3; i++)
		put(st, "RB", i == 1 ? "one" : i == 2 ? "two" : "three", 5);
	ok(rollback(st, "RB", 1, 5, 0, &m) == ST_OK && m.version == 4 &&
	    strcmp(m.updated_by, "alice") == 0, "rollback to 1: version 4");
	is_str(revealed(st, "RB", 4, 5), "one", "version 4 holds version 1's "
	    "value");
	is_str(listed(st, "RB", 5), "4 3 2 1", "every version kept");
	ok(rollback(st, "RB", 4, 5, 0, NULL) == ST_CONFLICT,
	    "rollback to the current version: ST_CONFLICT");
	ok(rollback(st, "RB", 9, 5, 0, NULL) == ST_NOVERSION,
	    "rollback to a version never made: ST_NOVERSION");
	ok(rollback(st, "RB", 1, 3, 0, NULL) == ST_NOVERSION,
	    "rollback past keep: ST_NOVERSION");
	ok(rollback(st, "NONE", 1, 5, 0, NULL) == ST_NOTFOUND,
	    "rollback of a missing secret: ST_NOTFOUND");
	ok(rollback(st, "RB", 3, 5, 1, NULL) == ST_QUOTA,
	    "a rollback over the byte quota: ST_QUOTA");
	is_str(listed(st, "RB", 5), "4 3 2 1", "refused rollbacks changed "
	    "nothing");
	ok(rollback(st, "RB", 0, 5, 0, NULL) == ST_INVALID,
	    "rollback from version 0: ST_INVALID");
}

static void
test_delete(struct store *st)
{
	struct store_op op;

	tu_del_op(&op, SCOPE_USER, "acme", "alice", "RB");
	ok(store_commit(st, &op, 1) == ST_OK && op.result == ST_OK,
	    "delete RB");
	is_str(revealed(st, "RB", 2, 5), NOTFOUND, "its old versions are gone");
	ok(put(st, "RB", "again", 5) == ST_OK, "RB re-created");
	is_str(listed(st, "RB", 5), "1", "re-created: version 1 alone");
	is_str(revealed(st, "RB", 1, 5), "again", "version 1 is the new value");
}

/* On a store of its own: verify runs on a closed store, as it is
   another process's in use. */
static void
test_binding(void)
{
	struct store_report r;
	struct store *st;
	char *dir = tu_tmpdir("secretd-versions-bind");

	if (store_create(dir, root) != ST_OK ||
	    store_open(&st, dir, root) != ST_OK) {
		ok(0, "store for the binding opens");
		return;
	}
	put(st, "BIND", "b-1", 5);
	put(st, "BIND", "b-2", 5);
	put(st, "BIND", "b-3", 5);
	put(st, "OTHER", "o-1", 5);
	put(st, "OTHER", "o-2", 5);
	ok(raw_move(st, "BIND", 1, "BIND", 2) == 0, "version 1's record "
	    "copied over version 2's key");
	is_str(revealed(st, "BIND", 2, 5), CORRUPT, "it does not open");
	ok(raw_move(st, "OTHER", 1, "BIND", 1) == 0, "another name's version "
	    "copied over version 1's key");
	is_str(revealed(st, "BIND", 1, 5), CORRUPT, "it does not open either");
	store_close(st);
	ok(store_verify(dir, root, &r) == ST_DAMAGED &&
	    strcmp(r.bad_db, "versions") == 0, "verify finds the damage in "
	    "the versions database");
	ok(store_open(&st, dir, root) == ST_DAMAGED, "and the store is "
	    "refused at open");
	store_close(st);
	tu_rm_rf(dir);
	free(dir);
}

/* Turns the store at dir into schema 2: no versions database, no tags. */
static int
downgrade(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi db;
	int rc;

	if ((rc = mdb_env_create(&env)) != 0)
		return -1;
	mdb_env_set_maxdbs(env, STORE_MAXDBS);
	if ((rc = mdb_env_open(env, dir, MDB_NOTLS, 0600)) == 0 &&
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0) {
		if ((rc = tu_untag(txn, "tokens")) == 0 &&
		    (rc = tu_untag(txn, "usage")) == 0 &&
		    (rc = mdb_dbi_open(txn, "versions", 0, &db)) == 0)
			rc = mdb_drop(txn, db, 1);
		if (rc == 0 && (rc = mdb_dbi_open(txn, "meta", 0, &db)) == 0)
			rc = tu_schema_put(txn, db, 2);
		rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
	}
	mdb_env_close(env);
	return rc == 0 ? 0 : -1;
}

static void
test_upgrade(void)
{
	struct store_report r;
	struct store *st;
	char *dir = tu_tmpdir("secretd-versions-up");

	if (store_create(dir, root) != ST_OK ||
	    store_open(&st, dir, root) != ST_OK) {
		ok(0, "store for the upgrade opens");
		return;
	}
	put(st, "UP", "u-1", 5);
	store_close(st);
	ok(downgrade(dir) == 0, "store turned into schema 2");
	ok(store_verify(dir, root, &r) == ST_OK && r.schema == 2,
	    "verify reads a schema-2 store");
	ok(store_open(&st, dir, root) == ST_OK, "a schema-2 store opens");
	if (st == NULL)
		return;
	ok(put(st, "UP", "u-2", 5) == ST_OK &&
	    strcmp(revealed(st, "UP", 1, 5), "u-1") == 0,
	    "after the upgrade a rotation keeps the old value");
	store_close(st);
	ok(store_verify(dir, root, &r) == ST_OK && r.schema == STORE_SCHEMA,
	    "verify: the current schema, clean");
	tu_rm_rf(dir);
	free(dir);
}

static void
test_rewrap(struct store *st)
{
	uint32_t old = store_active_key_id(st), id;
	size_t n, left = (size_t)-1;

	ok(store_rotate_data_key(st, &id) == ST_OK && id != old,
	    "a new data key");
	ok(store_rewrap(st, 3, &n) == ST_OK && n > nversions(st),
	    "rewrap re-seals current records and old versions");
	ok(store_count_by_key(st, old, &left) == ST_OK && left == 0,
	    "nothing is left under the old key, old versions included");
	is_str(revealed(st, "DB", 8, 10), "val-8", "an old version still "
	    "opens after rewrap");
}

int
main(void)
{
	struct store_report r;
	struct store *st;
	char *dir = tu_tmpdir("secretd-versions");

	if (sodium_init() == -1)
		return 1;
	randombytes_buf(root, sizeof(root));
	if (!ok(store_create(dir, root) == ST_OK &&
	    store_open(&st, dir, root) == ST_OK, "store opens")) {
		tu_rm_rf(dir);
		return done_testing();
	}
	test_keep(st);
	test_rollback(st);
	test_delete(st);
	test_rewrap(st);
	test_list_window(st);
	store_close(st);
	ok(store_verify(dir, root, &r) == ST_OK && r.schema == STORE_SCHEMA,
	    "verify is clean with versions kept");
	ok(store_open(&st, dir, root) == ST_OK &&
	    strcmp(listed(st, "DB", 10), "9 8") == 0,
	    "the versions survive a reopen");
	store_close(st);
	test_binding();
	test_upgrade();
	tu_rm_rf(dir);
	free(dir);
	return done_testing();
}
