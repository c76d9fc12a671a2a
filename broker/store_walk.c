/*
 * The record part of a store walk, written once over the kv interface
 * and run on every engine: at LMDB's open (values left sealed) and by
 * secretd verify (values opened).  Every secret and kept version
 * authenticates under its data key with its additional data, every
 * token record and usage count passes its MAC, token index entries and
 * token records lead to each other, and (verify) every usage count
 * agrees with the secrets it counts.  An engine adds its own checks
 * through struct walk_engine (LMDB: keys within the mapped file, in
 * order, and the databases' own counts, store_check.c).
 *
 * Tables are read in batches, each batch a run of its own: on a
 * database a read that misses is fetched and the batch run again
 * (walk_engine.run), so no run holds more than a batch's answers.  A
 * run that missed goes on past what it could not read, so one wave
 * fetches what the whole batch needs; its findings are thrown away and
 * only those of the run that missed nothing count.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define WALK_BATCH	256	/* rows of one run */

/* The tables, each walked before those whose checks lean on it. */
static const struct {
	enum kv_table	 t;
	const char	*name;
} tables[] = {
	{ KV_SECRETS, "secrets" },
	{ KV_TOKENS, "tokens" },
	{ KV_TOKEN_IDS, "token_ids" },
	{ KV_TOKEN_OWNERS, "token_owners" },
	{ KV_TOKEN_CHILDREN, "token_children" },
	{ KV_USAGE, "usage" },
	{ KV_KEYRING, "keyring" },
	{ KV_META, "meta" },
	{ KV_VERSIONS, "versions" },
};
#define NTABLES	(sizeof(tables) / sizeof(tables[0]))

/* One owner's secrets as the walk of the secrets table counted them. */
struct tally {
	struct skey	 owner;
	struct store_usage u;
	int		 seen;		/* its usage count was found */
};

struct tallies {
	struct tally	*v;
	size_t		 n, cap;
};

/* The first bad record of a batch, kept until its run counts. */
struct finding {
	char		 key[400];
	const char	*why;
};

struct batch {
	struct store	*st;
	const struct walk_engine *we;
	enum kv_table	 t;
	const char	*name;
	int		 open_values;
	uint8_t		 from[SKEY_MAX + 64];	/* the last key walked */
	size_t		 from_len;
	int		 started;
	/* this run's */
	size_t		 n;
	int		 end;
	struct finding	 bad;
	struct tallies	 run_tally;	/* counted by this run */
	uint8_t		 last[SKEY_MAX + 64];
	size_t		 last_len;
	struct tallies	*tally;		/* counted by the runs before */
	char		 why[160];	/* a finding's words, made up */
};

/* The key printable: \xHH for anything else, NUL as "\0". */
void
walk_key_print(char *out, size_t outlen, const uint8_t *p, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 5 < outlen; i++) {
		if (p[i] == '\0')
			o += (size_t)snprintf(out + o, outlen - o, "\\0");
		else if (p[i] < 0x20 || p[i] >= 0x7f || p[i] == '\\')
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x",
			    p[i]);
		else
			out[o++] = (char)p[i];
	}
	if (i < len && o + 4 < outlen)
		o += (size_t)snprintf(out + o, outlen - o, "...");
	out[o] = '\0';
}

/* The report's first bad record: later ones are not kept. */
int
walk_bad(struct store_report *r, const char *table, const char *key,
    const char *why)
{
	if (r->bad_why[0] == '\0') {
		snprintf(r->bad_db, sizeof(r->bad_db), "%s", table);
		snprintf(r->bad_key, sizeof(r->bad_key), "%s", key);
		snprintf(r->bad_why, sizeof(r->bad_why), "%s", why);
	}
	return ST_CORRUPT;
}

/* A sealed value under storage key k: at open its tag is checked, the
   value left sealed; verify opens it. */
static const char *
seal_check(struct batch *b, struct kv_txn *t, const MDB_val *k,
    const struct record_view *rv)
{
	const uint8_t *key;
	int ret;

	if ((ret = keyring_find(b->st, t, rv->key_id, &key)) == ST_NOTFOUND)
		return "is sealed with a data key not in the keyring";
	if (ret != ST_OK)
		return "could not be checked: the keyring does not load";
	if ((b->open_values ? record_open(rv, k->mv_data, k->mv_size, key,
	    b->st->scratch) : record_verify(rv, k->mv_data, k->mv_size,
	    key)) == -1)
		return "does not authenticate with its data key";
	return NULL;
}

static struct tally *
tally_find(struct tallies *ts, const struct skey *owner)
{
	size_t lo = 0, hi = ts->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = memcmp(ts->v[mid].owner.buf, owner->buf,
		    ts->v[mid].owner.len < owner->len ?
		    ts->v[mid].owner.len : owner->len);
		if (c == 0 && ts->v[mid].owner.len != owner->len)
			c = ts->v[mid].owner.len < owner->len ? -1 : 1;
		if (c == 0)
			return &ts->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * count secrets of bytes added to owner's tally.  Secrets come in key
 * order, which keeps each owner's together and the owners in order, so
 * a new owner goes last and tally_find may search.
 */
static int
tally_add(struct tallies *ts, const struct skey *owner, uint64_t count,
    uint64_t bytes)
{
	struct tally *t, *nv;
	size_t cap;

	t = ts->n > 0 ? &ts->v[ts->n - 1] : NULL;
	if (t == NULL || t->owner.len != owner->len ||
	    memcmp(t->owner.buf, owner->buf, owner->len) != 0) {
		if (ts->n == ts->cap) {
			cap = ts->cap == 0 ? 64 : ts->cap * 2;
			if ((nv = reallocarray(ts->v, cap, sizeof(*nv))) ==
			    NULL)
				return -1;
			ts->v = nv;
			ts->cap = cap;
		}
		t = &ts->v[ts->n++];
		memset(t, 0, sizeof(*t));
		t->owner = *owner;
	}
	t->u.count += count;
	t->u.bytes += bytes;
	return 0;
}

/* A run's counts added to those of the runs before it. */
static int
tally_merge(struct tallies *to, const struct tallies *from)
{
	size_t i;

	for (i = 0; i < from->n; i++)
		if (tally_add(to, &from->v[i].owner, from->v[i].u.count,
		    from->v[i].u.bytes) == -1)
			return -1;
	return 0;
}

/* A usage count (its MAC checked) against the secrets counted. */
static const char *
usage_agrees(struct batch *b, const MDB_val *k, const MDB_val *v)
{
	char *why = b->why;
	struct store_usage u;
	struct tally *t;
	struct skey owner;

	if (k->mv_size > sizeof(owner.buf))
		return "has a bad length";
	memcpy(owner.buf, k->mv_data, k->mv_size);
	owner.len = k->mv_size;
	usage_decode(v, &u);
	if ((t = tally_find(b->tally, &owner)) == NULL) {
		snprintf(why, sizeof(b->why), "counts %llu secrets of an owner "
		    "who has none", (unsigned long long)u.count);
		return why;
	}
	t->seen = 1;
	if (t->u.count != u.count || t->u.bytes != u.bytes) {
		snprintf(why, sizeof(b->why), "counts %llu secrets, %llu bytes; "
		    "the secrets table holds %llu, %llu bytes",
		    (unsigned long long)u.count, (unsigned long long)u.bytes,
		    (unsigned long long)t->u.count,
		    (unsigned long long)t->u.bytes);
		return why;
	}
	return NULL;
}

/* One row: NULL when it checks, else why not. */
static const char *
row_check(struct batch *b, struct kv_txn *t, const MDB_val *k,
    const MDB_val *v)
{
	struct store *st = b->st;
	struct record_view rv;
	struct skey owner;
	const char *why;
	uint64_t bytes;
	MDB_val sk;

	switch (b->t) {
	case KV_SECRETS:
		if (record_parse(v->mv_data, v->mv_size, k->mv_data,
		    k->mv_size, &rv) == -1)
			return "does not decode";
		if ((why = seal_check(b, t, k, &rv)) != NULL)
			return why;
		if (b->tally != NULL && (usage_of_record(&rv, &owner,
		    &bytes) == -1 || tally_add(&b->run_tally, &owner,
		    1, bytes) == -1))
			return "could not be counted for its owner";
		return NULL;
	case KV_VERSIONS:
		if ((why = version_record_check(t, k, v, &rv, &sk)) != NULL)
			return why;
		return seal_check(b, t, &sk, &rv);
	case KV_KEYRING:
		return k->mv_size != 4 || v->mv_size != WRAPPED_KEY_LEN ?
		    "has a bad length" : NULL;
	case KV_META:
		return NULL;
	default:
		break;
	}
	/* tagged token records and the indexes leading to them agree */
	if (st->schema >= STORE_SCHEMA_MAC && b->t == KV_USAGE) {
		if ((why = usage_record_check(st, k, v)) != NULL)
			return why;
		return b->tally != NULL ? usage_agrees(b, k, v) : NULL;
	}
	if (st->schema >= STORE_SCHEMA_MAC)
		return token_links_check(st, t, b->name, k, v);
	/* a store before schema 4, not yet upgraded: nothing is tagged */
	switch (b->t) {
	case KV_TOKENS:
		return token_value_check(k, v) == -1 ? "does not decode" :
		    NULL;
	case KV_TOKEN_IDS:
		return k->mv_size != TOKEN_ID_LEN ||
		    v->mv_size != TOKEN_HASH_LEN ? "has a bad length" : NULL;
	case KV_TOKEN_OWNERS:
		return v->mv_size != 0 ? "has a bad length" : NULL;
	case KV_TOKEN_CHILDREN:
		return k->mv_size != 2 * TOKEN_ID_LEN || v->mv_size != 0 ?
		    "has a bad length" : NULL;
	case KV_USAGE:
		if (usage_value_check(k, v) == -1)
			return "has a bad length";
		return b->tally != NULL ? usage_agrees(b, k, v) : NULL;
	default:
		return "is in an unknown table";
	}
}

static void
finding_set(struct batch *b, const MDB_val *k, const char *why)
{
	if (b->bad.why != NULL)
		return;
	b->bad.why = why;
	if (k != NULL)
		walk_key_print(b->bad.key, sizeof(b->bad.key), k->mv_data,
		    k->mv_size);
}

/*
 * One run of a batch: up to WALK_BATCH rows after the last one walked.
 * A row that fails while the run has missed a read is not yet a
 * finding: the run goes on, to be run again with every answer in.
 */
static int
batch_run(struct store *st, struct kv_txn *t, void *arg)
{
	struct batch *b = arg;
	struct kv_cursor *c;
	MDB_val k, v;
	const char *why;
	int rc;

	b->n = 0;
	b->end = 0;
	memset(&b->bad, 0, sizeof(b->bad));
	b->run_tally.n = 0;
	if ((rc = kv_cursor_open(t, b->t, &c)) != 0)
		return rc;
	if (b->started) {
		k.mv_size = b->from_len;
		k.mv_data = b->from;
		rc = kv_cursor_get(c, &k, &v, KV_SET_RANGE);
		if (rc == 0 && k.mv_size == b->from_len &&
		    memcmp(k.mv_data, b->from, b->from_len) == 0)
			rc = kv_cursor_get(c, &k, &v, KV_NEXT);
	} else
		rc = kv_cursor_get(c, &k, &v, KV_FIRST);
	for (; rc == 0; rc = kv_cursor_get(c, &k, &v, KV_NEXT)) {
		if (k.mv_size > sizeof(b->last)) {
			finding_set(b, NULL, "has a key too long");
			break;
		}
		why = NULL;
		if (b->we->row != NULL)
			why = b->we->row(b->we->arg, b->t, &k, &v);
		if (why == NULL)
			why = row_check(b, t, &k, &v);
		if (why == NULL && b->we->after != NULL)
			why = b->we->after(b->we->arg, b->t, &k, &v);
		if (why != NULL && !store_run_missed(st)) {
			finding_set(b, &k, why);
			break;
		}
		memcpy(b->last, k.mv_data, k.mv_size);
		b->last_len = k.mv_size;
		if (++b->n == WALK_BATCH)
			break;
	}
	kv_cursor_close(c);
	if (rc == MDB_NOTFOUND) {
		b->end = 1;
		rc = 0;
	}
	return rc;
}

/* Every row of table i, batch after batch; its count into *n. */
static int
walk_table(struct store *st, const struct walk_engine *we, size_t i,
    int open_values, struct tallies *tally, struct store_report *r,
    size_t *n)
{
	struct batch *b;
	const char *why;
	int ret = ST_OK;

	*n = 0;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return ST_NOMEM;
	b->st = st;
	b->we = we;
	b->t = tables[i].t;
	b->name = tables[i].name;
	b->open_values = open_values;
	b->tally = tally;
	for (;;) {
		if ((ret = we->run(we->arg, batch_run, b)) != ST_OK) {
			if (r->bad_why[0] == '\0' && ret == ST_CORRUPT)
				walk_bad(r, b->name, "", store_strerror(ret));
			break;
		}
		if (b->bad.why != NULL) {
			ret = walk_bad(r, b->name, b->bad.key, b->bad.why);
			break;
		}
		if (tally != NULL && tally_merge(tally, &b->run_tally) == -1) {
			ret = ST_NOMEM;
			break;
		}
		*n += b->n;
		if (b->end)
			break;
		memcpy(b->from, b->last, b->last_len);
		b->from_len = b->last_len;
		b->started = 1;
	}
	if (ret == ST_OK && we->table_end != NULL &&
	    (why = we->table_end(we->arg, b->t, *n)) != NULL)
		ret = walk_bad(r, b->name, "", why);
	free(b->run_tally.v);
	free(b);
	return ret;
}

/* Owners with secrets and no usage count. */
static int
tally_unseen(const struct tallies *ts, struct store_report *r)
{
	char key[400], why[160];
	size_t i;

	for (i = 0; i < ts->n; i++)
		if (!ts->v[i].seen) {
			walk_key_print(key, sizeof(key), ts->v[i].owner.buf,
			    ts->v[i].owner.len);
			snprintf(why, sizeof(why), "is missing: the secrets "
			    "table holds %llu secrets of this owner",
			    (unsigned long long)ts->v[i].u.count);
			return walk_bad(r, "usage", key, why);
		}
	return ST_OK;
}

/* Whether table name is one of the store's, and which. */
int
walk_table_of(const char *name, enum kv_table *t)
{
	size_t i;

	for (i = 0; i < NTABLES; i++)
		if (strcmp(tables[i].name, name) == 0) {
			*t = tables[i].t;
			return 0;
		}
	return -1;
}

/* Every table of the store into r->db, for an engine that has them all. */
void
walk_tables_all(struct store_report *r)
{
	size_t i;

	for (i = 0; i < NTABLES; i++)
		snprintf(r->db[i].name, sizeof(r->db[i].name), "%s",
		    tables[i].name);
	r->ndb = NTABLES;
}

/*
 * Every record of the tables named in r->db (each one of the store's),
 * in the order above, their counts into r->db.  Values are opened, and
 * usage counts compared with the secrets, when open_values.
 */
int
store_records_walk(struct store *st, const struct walk_engine *we,
    int open_values, struct store_report *r)
{
	struct tallies tally = { NULL, 0, 0 };
	size_t i, j;
	int ret = ST_OK, usage = 0;

	for (i = 0; ret == ST_OK && i < NTABLES; i++)
		for (j = 0; ret == ST_OK && j < r->ndb; j++) {
			if (strcmp(r->db[j].name, tables[i].name) != 0)
				continue;
			if (tables[i].t == KV_USAGE)
				usage = 1;
			ret = walk_table(st, we, i, open_values,
			    open_values ? &tally : NULL, r, &r->db[j].n);
		}
	if (ret == ST_OK && open_values && usage)
		ret = tally_unseen(&tally, r);
	free(tally.v);
	return ret;
}
