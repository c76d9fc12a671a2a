/*
 * Listing secrets: prefix-range scans over the storage keys with a
 * category filter, a page size and an opaque cursor.  A scan only walks
 * the ranges it may return (a member's own and the org's records), never
 * another user's, and returns metadata only of records that open.
 *
 * A name prefix narrows each scope/owner range to the keys that go on
 * with it: appended to a range whose owner is fixed, and, where a range
 * spans owners (an admin's all), by seeking past the names of each owner
 * that sort before or after it.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "log.h"
#include "store_int.h"

struct scan {
	struct skey	 range[2];	/* prefixes, in key order */
	int		 nrange;
	struct skey	 cursor;	/* last key of the previous page */
	size_t		 orglen;	/* org and its NUL start every key */
	const char	*prefix;	/* of the names; NULL: any */
	size_t		 plen;
};

/* Appends the name prefix to a range that ends with its owner's NUL. */
static int
range_narrow(struct skey *k, const struct scan *s)
{
	if (s->prefix == NULL)
		return 0;
	if (k->len + s->plen > sizeof(k->buf))
		return -1;
	memcpy(k->buf + k->len, s->prefix, s->plen);
	k->len += s->plen;
	return 0;
}

static int
scan_ranges(struct scan *s, const struct store_scan *sc)
{
	s->nrange = 1;
	switch (sc->scope) {
	case SCOPE_ORG:
		return skey_prefix(&s->range[0], sc->org, SCOPE_ORG, NULL) ==
		    -1 ? -1 : range_narrow(&s->range[0], s);
	case SCOPE_USER:
		if (skey_prefix(&s->range[0], sc->org, SCOPE_USER,
		    sc->owner) == -1)
			return -1;
		/* without an owner the range spans owners: see name_skip */
		return sc->owner != NULL ? range_narrow(&s->range[0], s) : 0;
	case -1:
		if (sc->owner == NULL)
			return skey_prefix(&s->range[0], sc->org, -1, NULL);
		/* the org's records sort before any user's */
		s->nrange = 2;
		if (skey_prefix(&s->range[0], sc->org, SCOPE_ORG, NULL) == -1 ||
		    range_narrow(&s->range[0], s) == -1)
			return -1;
		return skey_prefix(&s->range[1], sc->org, SCOPE_USER,
		    sc->owner) == -1 ? -1 : range_narrow(&s->range[1], s);
	default:
		return -1;
	}
}

/*
 * With a name prefix, where the key k does not name a secret starting
 * with it: the key to seek to next, past k (the prefix within k's owner
 * when k's name sorts before it, else the next owner), in *to.  0 when
 * k's name starts with the prefix (or there is none), -1 on a key with
 * fewer than four parts.
 */
static int
name_skip(const struct scan *s, const MDB_val *k, struct skey *to)
{
	const uint8_t *p = k->mv_data;
	size_t i, nul = 0, off, nlen;
	int c;

	if (s->prefix == NULL)
		return 0;
	for (i = 0; i < k->mv_size && nul < 3; i++)
		nul += p[i] == '\0';
	if (nul < 3)
		return -1;
	off = i;			/* the name starts here */
	nlen = k->mv_size - off;
	c = memcmp(p + off, s->prefix, nlen < s->plen ? nlen : s->plen);
	if (c == 0 && nlen >= s->plen)
		return 0;
	if (off + s->plen > sizeof(to->buf))
		return -1;
	memcpy(to->buf, p, off);
	if (c < 0 || (c == 0 && nlen < s->plen)) {
		memcpy(to->buf + off, s->prefix, s->plen);
		to->len = off + s->plen;
	} else {
		/* owner "\0" -> owner "\1": past every name of the owner */
		to->buf[off - 1] = 1;
		to->len = off;
	}
	return 1;
}

static int
has_prefix(const uint8_t *k, size_t len, const struct skey *pre)
{
	return len >= pre->len && memcmp(k, pre->buf, pre->len) == 0;
}

static int
key_cmp(const struct skey *a, const struct skey *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c;

	if ((c = memcmp(a->buf, b->buf, n)) != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* A cursor is the hex of a storage key without its org: parse it back. */
static int
cursor_decode(struct scan *s, const char *org, const char *hex)
{
	struct secret_meta m;
	size_t hlen = strlen(hex), blen;
	const char *end;
	int i;

	if (hlen == 0 || hlen > CURSOR_MAX_LEN || hlen % 2 != 0)
		return -1;
	memcpy(s->cursor.buf, org, s->orglen);
	if (sodium_hex2bin(s->cursor.buf + s->orglen,
	    sizeof(s->cursor.buf) - s->orglen, hex, hlen, NULL, &blen,
	    &end) != 0 || end != hex + hlen || blen != hlen / 2)
		return -1;
	s->cursor.len = s->orglen + blen;
	if (skey_parse(s->cursor.buf, s->cursor.len, &m) == -1)
		return -1;
	for (i = 0; i < s->nrange; i++)
		if (has_prefix(s->cursor.buf, s->cursor.len, &s->range[i]))
			return 0;
	return -1;
}

static int
cursor_encode(const struct scan *s, const struct skey *last, char *out,
    size_t outlen)
{
	size_t blen = last->len - s->orglen;

	if (2 * blen + 1 > outlen || 2 * blen > CURSOR_MAX_LEN)
		return -1;
	sodium_bin2hex(out, outlen, last->buf + s->orglen, blen);
	return 0;
}

/* Positions c on the first record of range r after the cursor. */
static int
range_seek(struct kv_cursor *c, const struct scan *s, int r, MDB_val *k,
    MDB_val *v)
{
	const struct skey *pre = &s->range[r], *from = pre;
	int rc, after = 0;

	if (s->cursor.len > 0) {
		if (has_prefix(s->cursor.buf, s->cursor.len, pre)) {
			from = &s->cursor;
			after = 1;
		} else if (key_cmp(&s->cursor, pre) > 0)
			return MDB_NOTFOUND;
	}
	k->mv_size = from->len;
	k->mv_data = (void *)from->buf;
	if ((rc = kv_cursor_get(c, k, v, KV_SET_RANGE)) != 0)
		return rc;
	if (after && k->mv_size == from->len &&
	    memcmp(k->mv_data, from->buf, from->len) == 0)
		rc = kv_cursor_get(c, k, v, KV_NEXT);
	return rc;
}

struct page {
	struct secret_meta *out;
	size_t		 max;
	size_t		*n;
	const char	*category;
	struct skey	 last;
	int		 more;
};

static int
scan_range(struct store *st, struct kv_txn *txn, struct kv_cursor *c,
    const struct scan *s, int r, struct page *pg)
{
	struct secret_meta m;
	struct skey to;
	MDB_val k, v;
	int rc, ret, skip;

	for (rc = range_seek(c, s, r, &k, &v); rc == 0 &&
	    has_prefix(k.mv_data, k.mv_size, &s->range[r]);
	    rc = kv_cursor_get(c, &k, &v, KV_NEXT)) {
		if (k.mv_size > SKEY_MAX)
			return ST_CORRUPT;
		while ((skip = name_skip(s, &k, &to)) == 1) {
			k.mv_size = to.len;
			k.mv_data = to.buf;
			if ((rc = kv_cursor_get(c, &k, &v, KV_SET_RANGE)) !=
			    0)
				break;
			if (k.mv_size > SKEY_MAX)
				return ST_CORRUPT;
		}
		if (skip == -1)
			return ST_CORRUPT;
		if (rc != 0 || !has_prefix(k.mv_data, k.mv_size,
		    &s->range[r]))
			break;
		if ((ret = store_record_open(st, txn, &k, &v, &m, NULL)) !=
		    ST_OK)
			return ret;
		if (pg->category != NULL && strcmp(m.category,
		    pg->category) != 0)
			continue;
		if (*pg->n == pg->max) {
			pg->more = 1;
			return ST_OK;
		}
		pg->out[(*pg->n)++] = m;
		memcpy(pg->last.buf, k.mv_data, k.mv_size);
		pg->last.len = k.mv_size;
	}
	return rc == 0 || rc == MDB_NOTFOUND ? ST_OK : store_mdb_err(rc);
}

static int
scan_setup(struct scan *s, const struct store_scan *sc)
{
	memset(s, 0, sizeof(*s));
	if (sc->prefix != NULL) {
		s->plen = strlen(sc->prefix);
		if (!valid_secret_name(sc->prefix, s->plen))
			return -1;
		s->prefix = sc->prefix;
	}
	if (sc->org == NULL || scan_ranges(s, sc) == -1 ||
	    (sc->category != NULL && !valid_category(sc->category)))
		return -1;
	s->orglen = strlen(sc->org) + 1;
	if (sc->cursor != NULL && sc->cursor[0] != '\0' &&
	    cursor_decode(s, sc->org, sc->cursor) == -1)
		return -1;
	return 0;
}

int
store_secret_scan(struct store *st, const struct store_scan *sc,
    struct secret_meta *out, size_t max, size_t *n, char *next_cursor,
    size_t next_cursor_len)
{
	struct page pg = { out, max, n, sc->category, { { 0 }, 0 }, 0 };
	struct scan s;
	struct kv_txn *txn;
	struct kv_cursor *c;
	int r, rc, ret, missed = 0;

	*n = 0;
	if (next_cursor_len < CURSOR_MAX_LEN + 1 || max == 0 ||
	    scan_setup(&s, sc) == -1)
		return ST_INVALID;
	next_cursor[0] = '\0';
	if ((ret = store_rtxn(st, &txn)) != ST_OK)
		return ret;
	if ((rc = kv_cursor_open(txn, KV_SECRETS, &c)) != 0) {
		store_rtxn_done(st);
		return store_mdb_err(rc);
	}
	for (r = 0; r < s.nrange && ret == ST_OK && !pg.more; r++) {
		/*
		 * A range still being fetched: the next one is asked for
		 * in the same wave, not in the run after.
		 */
		if ((ret = scan_range(st, txn, c, &s, r, &pg)) == ST_BUSY &&
		    store_run_missed(st)) {
			missed = 1;
			ret = ST_OK;
		}
	}
	if (ret == ST_OK && missed)
		ret = ST_BUSY;
	kv_cursor_close(c);
	store_rtxn_done(st);
	if (ret == ST_OK && pg.more &&
	    cursor_encode(&s, &pg.last, next_cursor, next_cursor_len) == -1)
		ret = ST_CORRUPT;
	if (ret != ST_OK)
		*n = 0;
	return ret;
}
