/*
 * Sealed records: a value round-trips; the same sealed value moved to
 * another name, owner, scope, org or version, or with any one byte
 * flipped, fails to open, its metadata alone too (record_verify, which
 * checks the tag without opening the value); a wrong root key is refused
 * and touches nothing.  Token records: scopes round-trip, and records of
 * the formats before scopes still load, unscoped.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "store_int.h"
#include "tap.h"
#include "testutil.h"

#define REC_MAX		4096
#define VALUE		"sk-ant-xxx"

static uint8_t root[ROOT_KEY_LEN];

static int
raw_get(struct store *st, const struct skey *k, uint8_t *buf, size_t *len)
{
	MDB_txn *txn;
	MDB_val key = { k->len, (void *)k->buf }, v;
	int rc;

	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
		return rc;
	if ((rc = mdb_get(txn, st->db_secrets, &key, &v)) == 0) {
		if (v.mv_size > REC_MAX)
			rc = -1;
		else {
			memcpy(buf, v.mv_data, v.mv_size);
			*len = v.mv_size;
		}
	}
	mdb_txn_abort(txn);
	return rc;
}

static int
raw_put(struct store *st, const struct skey *k, const uint8_t *buf,
    size_t len)
{
	MDB_txn *txn;
	MDB_val key = { k->len, (void *)k->buf }, v = { len, (void *)buf };
	int rc;

	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return rc;
	if ((rc = mdb_put(txn, st->db_secrets, &key, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

/* Both the value and the metadata alone must be refused. */
static int
refused(struct store *st, const struct secret_meta *m)
{
	struct secret_value v;
	struct secret_meta got;
	int r1, r2;

	r1 = store_secret_get(st, m->org_id, m->scope, m->user_id, m->name,
	    &got, &v);
	r2 = store_secret_get(st, m->org_id, m->scope, m->user_id, m->name,
	    &got, NULL);
	if (r1 == ST_OK)
		store_value_free(&v);
	return r1 == ST_CORRUPT && r2 == ST_CORRUPT;
}

static int
opens(struct store *st, const struct secret_meta *m, const char *want)
{
	struct secret_value v;
	int good;

	if (store_secret_get(st, m->org_id, m->scope, m->user_id, m->name,
	    NULL, &v) != ST_OK)
		return 0;
	good = v.len == strlen(want) && memcmp(v.data, want, v.len) == 0;
	store_value_free(&v);
	return good;
}

/*
 * Rewrites a record with changed metadata but the original key id, nonce
 * and ciphertext, and stores it under the key the new metadata names:
 * what an attacker with write access to the file would try.
 */
static int
forge(struct store *st, const uint8_t *rec, size_t len,
    const struct skey *from, const struct secret_meta *to)
{
	struct record_view rv;
	uint8_t menc[META_ENC_MAX], out[REC_MAX];
	struct skey k;
	size_t mlen;

	if (record_parse(rec, len, from->buf, from->len, &rv) == -1 ||
	    (mlen = meta_encode(to, menc, sizeof(menc))) == 0 ||
	    skey_of_meta(&k, to) == -1 ||
	    record_len(mlen, rv.ct_len - SEAL_TAG_LEN) > sizeof(out))
		return -1;
	record_layout(out, menc, mlen, rv.key_id, rv.nonce, rv.ct, rv.ct_len);
	return raw_put(st, &k, out, record_len(mlen, rv.ct_len - SEAL_TAG_LEN));
}

static void
test_moves(struct store *st)
{
	struct secret_meta orig, m;
	struct record_view rv;
	uint8_t rec[REC_MAX];
	struct skey k;
	size_t len;

	skey_build(&k, "acme", SCOPE_USER, "alice", "ANTHROPIC_API_KEY");
	ok(raw_get(st, &k, rec, &len) == 0 &&
	    record_parse(rec, len, k.buf, k.len, &rv) == 0,
	    "the stored record parses");
	orig = rv.meta;
	ok(forge(st, rec, len, &k, &orig) == 0 && opens(st, &orig, VALUE),
	    "re-laid out unchanged, the record still opens");

	m = orig;
	snprintf(m.name, sizeof(m.name), "OTHER_NAME");
	ok(forge(st, rec, len, &k, &m) == 0 && refused(st, &m),
	    "moved to another name, it fails to open");
	m = orig;
	snprintf(m.user_id, sizeof(m.user_id), "bob");
	ok(forge(st, rec, len, &k, &m) == 0 && refused(st, &m),
	    "moved to another owner, it fails to open");
	m = orig;
	m.scope = SCOPE_ORG;
	m.user_id[0] = '\0';
	ok(forge(st, rec, len, &k, &m) == 0 && refused(st, &m),
	    "moved to the org scope, it fails to open");
	m = orig;
	snprintf(m.org_id, sizeof(m.org_id), "evilcorp");
	ok(forge(st, rec, len, &k, &m) == 0 && refused(st, &m),
	    "moved to another org, it fails to open");
	m = orig;
	m.version = orig.version + 1;
	ok(forge(st, rec, len, &k, &m) == 0 && refused(st, &m),
	    "given another version, it fails to open");
	m = orig;
	snprintf(m.category, sizeof(m.category), "provider");
	ok(forge(st, rec, len, &k, &m) == 0 && refused(st, &m),
	    "with other metadata (category), it fails to open");
	skey_build(&k, "acme", SCOPE_USER, "alice", "COPIED");
	ok(raw_put(st, &k, rec, len) == 0 && skey_parse(k.buf, k.len, &m) ==
	    0 && refused(st, &m),
	    "copied byte for byte under another name, it fails to open");
	skey_build(&k, "acme", SCOPE_USER, "alice", "ANTHROPIC_API_KEY");
	ok(raw_put(st, &k, rec, len) == 0 && opens(st, &orig, VALUE),
	    "the original record put back opens again");
}

static void
test_flips(struct store *st)
{
	struct secret_meta m;
	uint8_t rec[REC_MAX], bad[REC_MAX];
	struct skey k;
	size_t len, i, refusals = 0, first_bad = (size_t)-1;

	skey_build(&k, "acme", SCOPE_ORG, "", "SHARED_CRM_KEY");
	skey_parse(k.buf, k.len, &m);
	if (!ok(raw_get(st, &k, rec, &len) == 0, "org record read raw"))
		return;
	for (i = 0; i < len; i++) {
		memcpy(bad, rec, len);
		bad[i] ^= 0x01 << (i % 8);
		if (raw_put(st, &k, bad, len) == 0 && refused(st, &m))
			refusals++;
		else if (first_bad == (size_t)-1)
			first_bad = i;
	}
	ok(refusals == len, "one flipped bit at every one of %zu offsets "
	    "fails to open (first accepted: %zd)", len, (ssize_t)first_bad);
	ok(raw_put(st, &k, rec, len - 1) == 0 && refused(st, &m),
	    "a record cut short by one byte fails to open");
	memcpy(bad, rec, len);
	bad[len] = 0;
	ok(raw_put(st, &k, bad, len + 1) == 0 && refused(st, &m),
	    "a record with one byte appended fails to open");
	ok(raw_put(st, &k, rec, len) == 0 && opens(st, &m, "crm_xxx"),
	    "the unflipped record opens");
}

/*
 * record_verify, which checks a record's tag without opening its value,
 * agrees with record_open at every length of additional data and value
 * modulo the 16-byte Poly1305 block, and refuses a wrong key, a flipped
 * tag, ciphertext or header byte, and another storage key.
 */
static void
test_verify(void)
{
	static uint8_t rec[REC_MAX], out[REC_MAX];
	uint8_t key[DATA_KEY_LEN], other[DATA_KEY_LEN], val[80];
	uint8_t menc[META_ENC_MAX];
	struct secret_meta m;
	struct record_view rv;
	struct skey k, k2;
	size_t d, vl, mlen, len, agree = 0, cases = 0, refusals = 0;

	randombytes_buf(key, sizeof(key));
	memcpy(other, key, sizeof(other));
	other[0] ^= 1;
	randombytes_buf(val, sizeof(val));
	for (d = 0; d < 20; d++)
		for (vl = 1; vl <= 40; vl++) {
			memset(&m, 0, sizeof(m));
			m.scope = SCOPE_USER;
			snprintf(m.name, sizeof(m.name), "N%zu", vl);
			snprintf(m.org_id, sizeof(m.org_id), "acme");
			snprintf(m.user_id, sizeof(m.user_id), "alice");
			snprintf(m.updated_by, sizeof(m.updated_by), "alice");
			snprintf(m.created_by, sizeof(m.created_by), "alice");
			snprintf(m.category, sizeof(m.category), "custom");
			memset(m.description, 'd', d);
			m.version = 1;
			cases++;
			if (skey_of_meta(&k, &m) == -1 ||
			    (mlen = meta_encode(&m, menc, sizeof(menc))) == 0)
				continue;
			len = record_len(mlen, vl);
			record_seal(rec, &k, menc, mlen, 7, key, val, vl);
			if (record_parse(rec, len, k.buf, k.len, &rv) == -1)
				continue;
			if (record_verify(&rv, k.buf, k.len, key) == 0 &&
			    record_open(&rv, k.buf, k.len, key, out) == 0 &&
			    memcmp(out, val, vl) == 0)
				agree++;
			k2 = k;
			k2.buf[k2.len - 1] ^= 1;
			if (record_verify(&rv, k.buf, k.len, other) == -1)
				refusals++;
			if (record_verify(&rv, k2.buf, k2.len, key) == -1)
				refusals++;
			rec[len - 1] ^= 0x80;		/* the tag */
			if (record_verify(&rv, k.buf, k.len, key) == -1)
				refusals++;
			rec[len - 1] ^= 0x80;
			rec[len - SEAL_TAG_LEN - 1] ^= 1; /* the ciphertext */
			if (record_verify(&rv, k.buf, k.len, key) == -1)
				refusals++;
			rec[len - SEAL_TAG_LEN - 1] ^= 1;
			rec[3 + mlen] ^= 1;		/* the key id */
			if (record_verify(&rv, k.buf, k.len, key) == -1)
				refusals++;
		}
	ok(agree == cases, "record_verify accepts what record_open opens, at "
	    "%zu of %zu lengths", agree, cases);
	ok(refusals == 5 * cases, "record_verify refuses a wrong key, another "
	    "storage key, a flipped tag, ciphertext or header byte (%zu of %zu)",
	    refusals, 5 * cases);
}

static uint8_t *
read_file(const char *dir, const char *name, size_t *len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return (uint8_t *)tu_slurp(path, len);
}

static int
count_files(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n++;
	closedir(d);
	return n;
}

static void
test_wrong_key(const char *dir)
{
	static const char *files[] = { "data.mdb", "lock.mdb" };
	uint8_t wrong[ROOT_KEY_LEN], *before[2], *after[2];
	size_t blen[2], alen[2];
	struct store *st = NULL;
	int i, nfiles, same = 1;

	for (i = 0; i < 2; i++)
		if ((before[i] = read_file(dir, files[i], &blen[i])) == NULL)
			same = 0;
	nfiles = count_files(dir);
	memcpy(wrong, root, sizeof(wrong));
	wrong[7] ^= 0x80;
	ok(store_open(&st, dir, wrong) == ST_BADKEY && st == NULL,
	    "a wrong root key is refused at open with ST_BADKEY");
	ok(strcmp(store_strerror(ST_BADKEY),
	    "the root key does not open this store") == 0,
	    "the refusal has a clear message");
	for (i = 0; i < 2; i++) {
		if ((after[i] = read_file(dir, files[i], &alen[i])) == NULL)
			same = 0;
		else if (same && (alen[i] != blen[i] ||
		    memcmp(before[i], after[i], blen[i]) != 0))
			same = 0;
	}
	ok(same, "the store files are byte-identical after the refusal");
	ok(count_files(dir) == nfiles, "no file was created");
	ok(store_open(&st, dir, root) == ST_OK && opens(st,
	    &(struct secret_meta){ .name = "ANTHROPIC_API_KEY",
	    .scope = SCOPE_USER, .user_id = "alice", .org_id = "acme" },
	    VALUE), "the right key still opens the store and its values");
	store_close(st);
	for (i = 0; i < 2; i++) {
		free(before[i]);
		free(after[i]);
	}
}

static void
test_token_formats(void)
{
	struct token_meta t = { .id = "0123456789abcdef", .user_id = "alice",
	    .org_id = "acme", .role = ROLE_MEMBER, .description = "agent",
	    .created_at = 1, .expires_at = 0 }, got;
	uint8_t enc[TOKEN_ENC_MAX], old[TOKEN_ENC_MAX];
	char parent[TOKEN_ID_LEN + 1];
	size_t n, i;

	t.scopes.n = 2;
	strcpy(t.scopes.tool[0], "custom-crm");
	strcpy(t.scopes.tool[1], "*");
	n = token_encode(&t, "fedcba9876543210", enc, sizeof(enc));
	ok(n > 0 && token_decode(enc, n, &got, parent) == 0 &&
	    memcmp(&got, &t, sizeof(t)) == 0 &&
	    strcmp(parent, "fedcba9876543210") == 0,
	    "token record: scopes and parent round-trip");
	t.scopes.n = TOKEN_SCOPES_MAX;
	for (i = 0; i < TOKEN_SCOPES_MAX; i++) {
		/* distinct names of TOOL_NAME_MAX characters */
		memset(t.scopes.tool[i], 'a' + (int)(i % 26), TOOL_NAME_MAX);
		t.scopes.tool[i][TOOL_NAME_MAX - 1] = (char)('0' + i / 26);
		t.scopes.tool[i][TOOL_NAME_MAX] = '\0';
	}
	n = token_encode(&t, "", enc, sizeof(enc));
	ok(n > 0 && token_decode(enc, n, &got, parent) == 0 &&
	    got.scopes.n == TOKEN_SCOPES_MAX,
	    "token record: the most scopes of the longest names fit");
	t.scopes.n = 0;
	n = token_encode(&t, "fedcba9876543210", enc, sizeof(enc));
	/* format 2: the same bytes without the scope count */
	memcpy(old, enc, n - 1);
	old[0] = 2;
	ok(token_decode(old, n - 1, &got, parent) == 0 && got.scopes.n == 0 &&
	    strcmp(parent, "fedcba9876543210") == 0,
	    "a format 2 token record (no scopes) loads, unscoped");
	/* format 1: nor the parent either */
	old[0] = 1;
	ok(token_decode(old, n - 1 - 2 - TOKEN_ID_LEN, &got, parent) == 0 &&
	    got.scopes.n == 0 && parent[0] == '\0',
	    "a format 1 token record (no parent) loads, unscoped");
	t.scopes.n = 1;
	strcpy(t.scopes.tool[0], "-bad");
	ok(token_encode(&t, "", enc, sizeof(enc)) > 0 &&
	    token_decode(enc, token_encode(&t, "", enc, sizeof(enc)), &got,
	    parent) == -1, "a record whose scope is no tool name is refused");
	strcpy(t.scopes.tool[0], "crm");
	n = token_encode(&t, "", enc, sizeof(enc));
	enc[n - 2 - 3 - 1] = TOKEN_SCOPES_MAX + 1;
	ok(token_decode(enc, n, &got, parent) == -1,
	    "a record with more than TOKEN_SCOPES_MAX scopes is refused");
}

int
main(void)
{
	struct store *st;
	struct secret_meta m = { .name = "ANTHROPIC_API_KEY",
	    .scope = SCOPE_USER, .user_id = "alice", .org_id = "acme" };
	char *dir = tu_tmpdir("secretd-seal");

	if (sodium_init() == -1)
		return 1;
	randombytes_buf(root, sizeof(root));
	if (!ok(store_create(dir, root) == ST_OK &&
	    store_open(&st, dir, root) == ST_OK, "store created and opened"))
		return done_testing();
	ok(tu_put1(st, SCOPE_USER, "acme", "alice", "ANTHROPIC_API_KEY",
	    VALUE, NULL) == ST_OK && tu_put1(st, SCOPE_ORG, "acme", "alice",
	    "SHARED_CRM_KEY", "crm_xxx", NULL) == ST_OK, "two secrets sealed");
	ok(opens(st, &m, VALUE), "round trip: the value opens unchanged");
	test_moves(st);
	test_flips(st);
	test_verify();
	test_token_formats();
	store_close(st);
	/* The forged records left behind are damage the open-time walk finds. */
	st = NULL;
	ok(store_open(&st, dir, root) == ST_DAMAGED && st == NULL,
	    "a store holding the forged records is refused at open");
	tu_rm_rf(dir);
	free(dir);
	dir = tu_tmpdir("secretd-seal");
	if (!ok(store_create(dir, root) == ST_OK &&
	    store_open(&st, dir, root) == ST_OK &&
	    tu_put1(st, SCOPE_USER, "acme", "alice", "ANTHROPIC_API_KEY",
	    VALUE, NULL) == ST_OK, "a fresh store with one secret"))
		return done_testing();
	store_close(st);
	test_wrong_key(dir);
	tu_rm_rf(dir);
	free(dir);
	return done_testing();
}
