/*
 * secretd migrate --to postgresql | --to lmdb: copies the store from one
 * engine to the other, offline.  --to postgresql reads the LMDB store in
 * state_dir and writes the database the `postgresql` string names; --to
 * lmdb the reverse, into a new data.mdb.  Rows go over byte for byte
 * through the kv interface (sealed records, token records with their
 * MACs, usage counts, the keyring and meta), in batches of one write
 * transaction each, so no record is opened to be copied and both engines
 * are driven the same way.  The copy is then compared with the source
 * row for row, and every current record of the copy must open under the
 * root key.
 *
 * A database's reads come through the broker's kind of runs (store.h):
 * a read that misses is fetched and the read run again
 * (store_read_run), as the daemon does for a request.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "store_engine.h"
#include "store_int.h"
#include "storeconf.h"

#define CMD		"migrate"
#define STORE_FILE	"data.mdb"
#define BATCH_ROWS	512	/* rows in one write transaction */

/* The data tables: a destination holding a row of one is refused.  The
 * keyring and meta of a store just made are replaced by the source's. */
static const struct {
	enum kv_table	 t;
	const char	*name;
	int		 data;
} tables[] = {
	{ KV_META, "meta", 0 },
	{ KV_KEYRING, "keyring", 0 },
	{ KV_SECRETS, "secrets", 1 },
	{ KV_VERSIONS, "versions", 1 },
	{ KV_TOKENS, "tokens", 1 },
	{ KV_TOKEN_IDS, "token_ids", 1 },
	{ KV_TOKEN_OWNERS, "token_owners", 1 },
	{ KV_TOKEN_CHILDREN, "token_children", 1 },
	{ KV_USAGE, "usage", 1 },
};
#define NTABLES	(sizeof(tables) / sizeof(tables[0]))

/* Up to BATCH_ROWS rows of one table, copied out of a read view. */
struct batch {
	enum kv_table	 t;
	MDB_val		 from;		/* the first key wanted */
	int		 after;		/* keys > from, not >= */
	size_t		 max;
	size_t		 n;
	MDB_val		 k[BATCH_ROWS];
	MDB_val		 v[BATCH_ROWS];
	int		 end;		/* the table has no more rows */
};

static void
batch_clear(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->k[i].mv_data);
		free(b->v[i].mv_data);
	}
	b->n = 0;
	b->end = 0;
}

static int
span_dup(MDB_val *to, const MDB_val *from)
{
	/* malloc(0) may be NULL: one byte more */
	if ((to->mv_data = malloc(from->mv_size + 1)) == NULL)
		return ENOMEM;
	memcpy(to->mv_data, from->mv_data, from->mv_size);
	to->mv_size = from->mv_size;
	return 0;
}

static int
span_eq(const MDB_val *a, const MDB_val *b)
{
	return a->mv_size == b->mv_size &&
	    memcmp(a->mv_data, b->mv_data, a->mv_size) == 0;
}

/* One run of a batch read: every run starts the batch afresh. */
static int
batch_read(struct store *st, struct kv_txn *t, void *arg)
{
	struct batch *b = arg;
	struct kv_cursor *c;
	MDB_val k, v;
	int rc;

	batch_clear(b);
	if ((rc = kv_cursor_open(t, b->t, &c)) != 0)
		return rc;
	k = b->from;
	rc = kv_cursor_get(c, &k, &v, b->from.mv_size > 0 ? KV_SET_RANGE :
	    KV_FIRST);
	if (rc == 0 && b->after && span_eq(&k, &b->from))
		rc = kv_cursor_get(c, &k, &v, KV_NEXT);
	while (rc == 0 && b->n < b->max) {
		if ((rc = span_dup(&b->k[b->n], &k)) != 0)
			break;
		if ((rc = span_dup(&b->v[b->n], &v)) != 0) {
			free(b->k[b->n].mv_data);
			break;
		}
		b->n++;
		if (b->n < b->max)
			rc = kv_cursor_get(c, &k, &v, KV_NEXT);
	}
	kv_cursor_close(c);
	if (rc == MDB_NOTFOUND) {
		b->end = 1;
		rc = 0;
	}
	return rc;
}

/* The batch's rows put in the destination; run again as it pleases. */
static int
batch_write(struct store *st, struct kv_txn *t, void *arg, int *err)
{
	struct batch *b = arg;
	MDB_val v;
	size_t i;
	int rc;

	for (i = 0; i < b->n; i++) {
		v = b->v[i];
		if ((rc = kv_put(t, b->t, &b->k[i], &v, 0)) != 0)
			return rc;
	}
	return 0;
}

/* The keys of the batch taken out of the destination (its own meta and
 * keyring, made by its create, before the source's come in). */
static int
batch_delete(struct store *st, struct kv_txn *t, void *arg, int *err)
{
	struct batch *b = arg;
	size_t i;
	int rc;

	for (i = 0; i < b->n; i++)
		if ((rc = kv_del(t, b->t, &b->k[i])) != 0 &&
		    rc != MDB_NOTFOUND)
			return rc;
	return 0;
}

/* Moves b on to the rows after its last one. */
static int
batch_next(struct batch *b, MDB_val *last)
{
	free(last->mv_data);
	last->mv_data = NULL;
	last->mv_size = 0;
	if (b->n == 0)
		return 0;
	if (span_dup(last, &b->k[b->n - 1]) != 0)
		return -1;
	b->from = *last;
	b->after = 1;
	return 0;
}

static void
batch_start(struct batch *b, enum kv_table t, size_t max)
{
	batch_clear(b);
	b->t = t;
	b->from.mv_size = 0;
	b->from.mv_data = NULL;
	b->after = 0;
	b->max = max;
}

struct migrate {
	const struct secretd_config *cfg;
	struct store_conf src_conf, dst_conf;
	struct store	*src, *dst;
	struct batch	*b, *b2;
	size_t		 copied[NTABLES];
	int		 timeout_ms;
};

/* Every row of table i of the source put in the destination. */
static int
copy_table(struct migrate *m, size_t i)
{
	MDB_val last = { 0, NULL };
	int rv = ST_OK;

	batch_start(m->b, tables[i].t, BATCH_ROWS);
	for (;;) {
		if ((rv = store_read_run(m->src, batch_read, m->b,
		    m->timeout_ms)) != ST_OK)
			break;
		if (m->b->n > 0 && (rv = store_write(m->dst, batch_write,
		    m->b)) != ST_OK)
			break;
		m->copied[i] += m->b->n;
		if (m->b->end)
			break;
		if (batch_next(m->b, &last) == -1) {
			rv = ST_NOMEM;
			break;
		}
	}
	batch_clear(m->b);
	free(last.mv_data);
	return rv;
}

/* The rows the destination's own create wrote in table i, removed. */
static int
empty_table(struct migrate *m, size_t i)
{
	int rv;

	do {
		batch_start(m->b, tables[i].t, BATCH_ROWS);
		if ((rv = store_read_run(m->dst, batch_read, m->b,
		    m->timeout_ms)) != ST_OK)
			break;
		if (m->b->n > 0)
			rv = store_write(m->dst, batch_delete, m->b);
	} while (rv == ST_OK && m->b->n > 0);
	batch_clear(m->b);
	return rv;
}

/*
 * Table i read side by side from both stores: the same rows, the same
 * bytes.  Every current record of the copy authenticates under its data
 * key, which the copy's keyring holds sealed under the root key.
 */
static int
check_table(struct migrate *m, size_t i, size_t *n, char *why, size_t len)
{
	struct secret_meta meta;
	MDB_val last = { 0, NULL };
	struct kv_txn *t;
	size_t j;
	int rv;

	*n = 0;
	batch_start(m->b, tables[i].t, BATCH_ROWS);
	batch_start(m->b2, tables[i].t, BATCH_ROWS);
	for (;;) {
		if ((rv = store_read_run(m->src, batch_read, m->b,
		    m->timeout_ms)) != ST_OK ||
		    (rv = store_read_run(m->dst, batch_read, m->b2,
		    m->timeout_ms)) != ST_OK)
			break;
		for (j = 0; j < m->b->n && j < m->b2->n; j++)
			if (!span_eq(&m->b->k[j], &m->b2->k[j]) ||
			    !span_eq(&m->b->v[j], &m->b2->v[j]))
				break;
		if (j != m->b->n || j != m->b2->n ||
		    m->b->end != m->b2->end) {
			snprintf(why, len, "table %s: row %zu differs from "
			    "the source", tables[i].name, *n + j + 1);
			rv = ST_CORRUPT;
			break;
		}
		if (tables[i].t == KV_SECRETS) {
			store_run_begin(m->dst, store_wave(m->dst), 1);
			if ((rv = store_rtxn(m->dst, &t)) != ST_OK)
				break;
			for (j = 0; j < m->b2->n && rv == ST_OK; j++)
				rv = store_record_open(m->dst, t, &m->b2->k[j],
				    &m->b2->v[j], &meta, NULL);
			store_rtxn_done(m->dst);
			if (rv != ST_OK) {
				snprintf(why, len, "table secrets: record "
				    "%zu does not open under the root key",
				    *n + j);
				break;
			}
		}
		*n += m->b->n;
		if (m->b->end)
			break;
		if (batch_next(m->b, &last) == -1) {
			rv = ST_NOMEM;
			break;
		}
		m->b2->from = m->b->from;
		m->b2->after = 1;
	}
	batch_clear(m->b);
	batch_clear(m->b2);
	free(last.mv_data);
	return rv;
}

/* Whether any data table of st holds a row. */
static int
holds_data(struct migrate *m, struct store *st, const char **which)
{
	size_t i;
	int rv;

	for (i = 0; i < NTABLES; i++) {
		if (!tables[i].data)
			continue;
		batch_start(m->b, tables[i].t, 1);
		rv = store_read_run(st, batch_read, m->b, m->timeout_ms);
		if (rv == ST_OK && m->b->n > 0)
			*which = tables[i].name;
		batch_clear(m->b);
		if (rv != ST_OK)
			return -1;
		if (*which != NULL)
			return 1;
	}
	return 0;
}

static const char *
engine_name(int engine)
{
	return engine == STORE_POSTGRESQL ? "postgresql" : "lmdb";
}

/* An LMDB destination: a new data.mdb, the old one kept aside with
 * --force, else refused. */
static int
lmdb_dest_free(const struct secretd_config *cfg, int force)
{
	char data[PATH_MAX], aside[PATH_MAX + 64];
	struct stat sb;
	int n;

	n = snprintf(data, sizeof(data), "%s/%s", cfg->state_dir, STORE_FILE);
	if (n < 0 || (size_t)n >= sizeof(data))
		return cmd_fail(CMD, "%s: path too long", cfg->state_dir);
	if (stat(data, &sb) == -1) {
		if (errno == ENOENT)
			return 0;
		return cmd_fail(CMD, "%s: %s", data, strerror(errno));
	}
	if (!force)
		return cmd_fail(CMD, "%s exists; refusing to replace it "
		    "(--force keeps it aside and makes a new one)", data);
	if (link_aside(data, "migrate", aside, sizeof(aside)) == -1 ||
	    unlink(data) == -1)
		return cmd_fail(CMD, "%s: %s", data, strerror(errno));
	printf("the LMDB store that was in %s is kept as %s\n", data, aside);
	return 0;
}

static int
source_present(const struct secretd_config *cfg, int engine)
{
	char data[PATH_MAX];
	int n;

	if (engine != STORE_LMDB)
		return 0;
	n = snprintf(data, sizeof(data), "%s/%s", cfg->state_dir, STORE_FILE);
	if (n < 0 || (size_t)n >= sizeof(data) || access(data, F_OK) == -1)
		return cmd_fail(CMD, "no LMDB store in %s: nothing to migrate",
		    cfg->state_dir);
	return 0;
}

/*
 * Opens the destination under the root key, made first when it is not
 * there: create refuses a store of another root key and keeps one of
 * this key as it is, which must then be empty.
 */
static int
open_dest(struct migrate *m, const uint8_t *key)
{
	const char *which = NULL;
	int rv;

	rv = store_create_conf(&m->dst_conf, key);
	if (rv != ST_OK && rv != ST_EXISTS) {
		if (rv == ST_BADKEY)
			return cmd_fail(CMD, "%s holds a store sealed under "
			    "another root key; nothing was copied",
			    store_conf_where(&m->dst_conf));
		return cmd_fail(CMD, "%s: %s", store_conf_where(&m->dst_conf),
		    store_strerror(rv));
	}
	if ((rv = store_open_conf(&m->dst, &m->dst_conf, key)) != ST_OK)
		return cmd_fail(CMD, "%s: %s%s", store_conf_where(&m->dst_conf),
		    store_strerror(rv), rv == ST_BADKEY ? ": it holds a store "
		    "sealed under another root key; nothing was copied" : "");
	switch (holds_data(m, m->dst, &which)) {
	case -1:
		return cmd_fail(CMD, "%s: cannot read it",
		    store_conf_where(&m->dst_conf));
	case 1:
		return cmd_fail(CMD, "%s is not empty (table %s holds "
		    "records); refusing to copy over it; nothing was copied",
		    store_conf_where(&m->dst_conf), which);
	}
	return 0;
}

static int
migrate_copy(struct migrate *m)
{
	size_t i;
	int rv;

	/* Meta and keyring first: a copy cut short is still a store that
	 * opens, and that a second run refuses as not empty. */
	for (i = 0; i < NTABLES; i++) {
		if (!tables[i].data &&
		    (rv = empty_table(m, i)) != ST_OK)
			return cmd_fail(CMD, "%s: emptying %s: %s",
			    store_conf_where(&m->dst_conf), tables[i].name,
			    store_strerror(rv));
		if ((rv = copy_table(m, i)) != ST_OK)
			return cmd_fail(CMD, "copying %s after %zu rows: %s; "
			    "the copy in %s is incomplete: empty it before "
			    "running again", tables[i].name, m->copied[i],
			    store_strerror(rv), store_conf_where(&m->dst_conf));
		printf("%-16s %zu rows copied\n", tables[i].name,
		    m->copied[i]);
		fflush(stdout);
	}
	return 0;
}

/* The copy reopened from scratch, so its keyring is the one copied. */
static int
migrate_check(struct migrate *m, const uint8_t *key)
{
	char why[256];
	size_t i, n;
	int rv;

	store_close(m->dst);
	m->dst = NULL;
	if ((rv = store_open_conf(&m->dst, &m->dst_conf, key)) != ST_OK)
		return cmd_fail(CMD, "the copy in %s does not open under the "
		    "root key: %s", store_conf_where(&m->dst_conf),
		    store_strerror(rv));
	for (i = 0; i < NTABLES; i++) {
		why[0] = '\0';
		if ((rv = check_table(m, i, &n, why, sizeof(why))) != ST_OK)
			return cmd_fail(CMD, "the copy in %s: %s",
			    store_conf_where(&m->dst_conf), why[0] != '\0' ?
			    why : store_strerror(rv));
		if (n != m->copied[i])
			return cmd_fail(CMD, "the copy in %s: table %s holds "
			    "%zu rows, %zu were copied",
			    store_conf_where(&m->dst_conf), tables[i].name, n,
			    m->copied[i]);
	}
	return 0;
}

static int
migrate_run(struct migrate *m, int to, int force)
{
	char err[512], path[PATH_MAX];
	uint8_t *key = NULL;
	size_t i;
	int rv, from = to == STORE_POSTGRESQL ? STORE_LMDB : STORE_POSTGRESQL;

	/* Before the key: a credential may be the password. */
	if (store_conf_make(m->cfg, from, &m->src_conf, err,
	    sizeof(err)) == -1 ||
	    store_conf_make(m->cfg, to, &m->dst_conf, err, sizeof(err)) == -1)
		return cmd_fail(CMD, "%s", err);
	if (root_key_path(m->cfg, path, sizeof(path)) == -1)
		return cmd_fail(CMD, "the root key's path is too long");
	if (rootkey_load(path, &key, err, sizeof(err)) != ST_OK)
		return cmd_fail(CMD, "%s", err);
	if ((rv = store_open_conf(&m->src, &m->src_conf, key)) != ST_OK) {
		rootkey_free(key);
		return cmd_fail(CMD, "the %s store in %s: %s", engine_name(from),
		    store_conf_where(&m->src_conf), store_strerror(rv));
	}
	if ((to == STORE_LMDB && lmdb_dest_free(m->cfg, force) != 0) ||
	    open_dest(m, key) != 0 || migrate_copy(m) != 0 ||
	    migrate_check(m, key) != 0) {
		rootkey_free(key);
		return 1;
	}
	rootkey_free(key);
	for (i = 0; tables[i].t != KV_SECRETS; i++)
		;
	printf("migrated %zu secrets from %s (%s) to %s (%s); every row is "
	    "the source's and every secret opens under the root key\n",
	    m->copied[i], engine_name(from), store_conf_where(&m->src_conf),
	    engine_name(to), store_conf_where(&m->dst_conf));
	if (store_conf_engine(m->cfg) != to)
		printf("set store = %s in %s before starting secretd\n",
		    engine_name(to), m->cfg->path);
	return 0;
}

int
migrate(const struct secretd_config *cfg, const char *to, int force)
{
	struct migrate m;
	struct statelock lk;
	char err[512];
	int engine, status;

	if (strcmp(to, "postgresql") == 0)
		engine = STORE_POSTGRESQL;
	else if (strcmp(to, "lmdb") == 0)
		engine = STORE_LMDB;
	else
		return cmd_fail(CMD, "--to %s: expected postgresql or lmdb",
		    to);
	if (force && engine != STORE_LMDB)
		return cmd_fail(CMD, "--force replaces an LMDB store only; "
		    "a database is emptied by its operator");
	if (source_present(cfg, engine == STORE_LMDB ? STORE_POSTGRESQL :
	    STORE_LMDB) != 0)
		return 1;
	if (statelock_take(&lk, cfg->state_dir, STATELOCK_OFFLINE, err,
	    sizeof(err)) == -1)
		return cmd_fail(CMD, "%s; stop it first", err);
	statelock_mark(&lk);
	memset(&m, 0, sizeof(m));
	m.cfg = cfg;
	m.timeout_ms = cfg->store_timeout_ms;
	if ((m.b = calloc(1, sizeof(*m.b))) == NULL ||
	    (m.b2 = calloc(1, sizeof(*m.b2))) == NULL)
		status = cmd_fail(CMD, "out of memory");
	else
		status = migrate_run(&m, engine, force);
	if (m.dst != NULL)
		store_close(m.dst);
	if (m.src != NULL)
		store_close(m.src);
	store_conf_clear(&m.src_conf);
	store_conf_clear(&m.dst_conf);
	free(m.b);
	free(m.b2);
	statelock_release(&lk);
	return status;
}
