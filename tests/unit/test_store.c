/*
 * The broker's store as its callers see it: create/rotate/delete, prefix
 * scans with category and cursor pages, tokens, group commit with mixed
 * results, and a map that grows when full.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "store_int.h"
#include "tap.h"
#include "testutil.h"

static uint8_t root[ROOT_KEY_LEN];

static int
value_is(struct store *st, int scope, const char *org, const char *owner,
    const char *name, const char *want)
{
	struct secret_value v;
	struct secret_meta m;
	int ok;

	if (store_secret_get(st, org, scope, owner, name, &m, &v) != ST_OK)
		return 0;
	ok = v.len == strlen(want) && memcmp(v.data, want, v.len) == 0;
	store_value_free(&v);
	return ok;
}

static void
test_create(const char *dir)
{
	struct store *st;
	char path[1024];
	struct stat sb;

	ok(store_open(&st, dir, root) == ST_NOTFOUND && st == NULL,
	    "open of a folder without a store says not found");
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	ok(stat(path, &sb) == -1, "a refused open creates no store");
	ok(store_create(dir, root) == ST_OK, "create makes a store");
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	    "store data file has mode 0600");
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	    "store lock file has mode 0600");
	ok(store_create(dir, root) == ST_EXISTS,
	    "create over an existing store is refused");
}

static void
test_put_rotate(struct store *st)
{
	struct store_op op;
	struct secret_meta m, first;

	tu_put_op(&op, SCOPE_USER, "acme", "alice", "GITHUB_TOKEN", "ghp_1",
	    NULL);
	op.has_description = 1;
	snprintf(op.meta.description, sizeof(op.meta.description),
	    "GitHub fallback token");
	ok(store_commit(st, &op, 1) == ST_OK && op.result == ST_OK &&
	    op.created == 1, "put of a new name creates it");
	first = op.meta;
	ok(first.version == 1 && strcmp(first.category, "custom") == 0 &&
	    strcmp(first.created_by, "alice") == 0 && first.created_at > 0 &&
	    first.created_at == first.updated_at,
	    "a new secret is version 1, category custom, created by its "
	    "writer");
	tu_put_op(&op, SCOPE_USER, "acme", "alice", "GITHUB_TOKEN", "ghp_2",
	    NULL);
	snprintf(op.meta.updated_by, sizeof(op.meta.updated_by), "root");
	ok(store_commit(st, &op, 1) == ST_OK && op.result == ST_OK &&
	    op.created == 0 && op.meta.version == 2,
	    "put of an existing name rotates it to version 2");
	ok(strcmp(op.meta.category, "custom") == 0 &&
	    strcmp(op.meta.description, "GitHub fallback token") == 0 &&
	    strcmp(op.meta.created_by, "alice") == 0 &&
	    strcmp(op.meta.updated_by, "root") == 0 &&
	    op.meta.created_at == first.created_at,
	    "rotate keeps category, description and creation");
	ok(value_is(st, SCOPE_USER, "acme", "alice", "GITHUB_TOKEN", "ghp_2"),
	    "reveal after rotate gives the new value");
	tu_put_op(&op, SCOPE_USER, "acme", "alice", "GITHUB_TOKEN", "ghp_3",
	    "tool");
	op.has_description = 1;
	ok(store_commit(st, &op, 1) == ST_OK && op.meta.version == 3 &&
	    strcmp(op.meta.category, "tool") == 0 &&
	    op.meta.description[0] == '\0',
	    "rotate replaces category and description when given");
	ok(store_secret_get(st, "acme", SCOPE_USER, "alice", "GITHUB_TOKEN",
	    &m, NULL) == ST_OK && m.version == 3 &&
	    strcmp(m.category, "tool") == 0, "metadata get sees version 3");
	ok(store_secret_get(st, "acme", SCOPE_USER, "bob", "GITHUB_TOKEN",
	    &m, NULL) == ST_NOTFOUND,
	    "another owner's secret of the same name does not exist");
	ok(store_secret_get(st, "acme", SCOPE_ORG, NULL, "GITHUB_TOKEN",
	    &m, NULL) == ST_NOTFOUND,
	    "the org secret of the same name does not exist");
}

static void
test_invalid(struct store *st)
{
	char big[VALUE_MAX_LEN + 2];
	struct store_op op;

	ok(tu_put1(st, SCOPE_USER, "acme", "alice", "../x", "v", NULL) ==
	    ST_INVALID, "a name with a slash is refused");
	ok(tu_put1(st, SCOPE_USER, "acme", "alice", "1ABC", "v", NULL) ==
	    ST_INVALID, "a name starting with a digit is refused");
	ok(tu_put1(st, SCOPE_USER, "acme", "alice", "OK_NAME", "", NULL) ==
	    ST_INVALID, "an empty value is refused");
	ok(tu_put1(st, SCOPE_USER, "acme", "alice", "OK_NAME", "v", "bogus") ==
	    ST_INVALID, "an unknown category is refused");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ok(tu_put1(st, SCOPE_USER, "acme", "alice", "OK_NAME", big, NULL) ==
	    ST_INVALID, "a value over 64 KiB is refused");
	big[VALUE_MAX_LEN] = '\0';
	ok(tu_put1(st, SCOPE_USER, "acme", "alice", "BIG", big, NULL) ==
	    ST_OK && value_is(st, SCOPE_USER, "acme", "alice", "BIG", big),
	    "a value of exactly 64 KiB round-trips");
	tu_put_op(&op, SCOPE_ORG, "acme", "alice", "ORGX", "v", NULL);
	snprintf(op.meta.user_id, sizeof(op.meta.user_id), "alice");
	ok(store_commit(st, &op, 1) == ST_OK && op.result == ST_INVALID,
	    "an org secret with an owner is refused");
	ok(store_secret_get(st, "acme", SCOPE_USER, "alice", "OK_NAME", NULL,
	    NULL) == ST_NOTFOUND, "refused puts wrote nothing");
}

static void
test_delete_and_group(struct store *st)
{
	struct store_op ops[6];

	tu_put_op(&ops[0], SCOPE_ORG, "acme", "root", "SHARED_CRM_KEY", "crm_1",
	    "tool");
	tu_del_op(&ops[1], SCOPE_USER, "acme", "alice", "MISSING");
	tu_put_op(&ops[2], SCOPE_USER, "acme", "alice", "bad name", "v", NULL);
	tu_put_op(&ops[3], SCOPE_USER, "acme", "alice", "TWICE", "one", NULL);
	tu_put_op(&ops[4], SCOPE_USER, "acme", "alice", "TWICE", "two", NULL);
	tu_del_op(&ops[5], SCOPE_USER, "acme", "alice", "GITHUB_TOKEN");
	ok(store_commit(st, ops, 6) == ST_OK, "a mixed group commits");
	ok(ops[0].result == ST_OK && ops[0].created,
	    "group: the org secret is created");
	ok(ops[1].result == ST_NOTFOUND,
	    "group: deleting a missing record says not found");
	ok(ops[2].result == ST_INVALID, "group: an invalid name is refused");
	ok(ops[3].result == ST_OK && ops[3].meta.version == 1 &&
	    ops[4].result == ST_OK && ops[4].meta.version == 2,
	    "group: two writes of one name give versions 1 and 2");
	ok(ops[5].result == ST_OK && ops[5].meta.version == 3 &&
	    strcmp(ops[5].meta.name, "GITHUB_TOKEN") == 0,
	    "group: delete returns the deleted record's metadata");
	ok(value_is(st, SCOPE_ORG, "acme", NULL, "SHARED_CRM_KEY", "crm_1") &&
	    value_is(st, SCOPE_USER, "acme", "alice", "TWICE", "two"),
	    "group: every accepted write is readable");
	ok(store_secret_get(st, "acme", SCOPE_USER, "alice", "GITHUB_TOKEN",
	    NULL, NULL) == ST_NOTFOUND, "a deleted secret is gone");
	tu_del_op(&ops[0], SCOPE_USER, "acme", "alice", "GITHUB_TOKEN");
	ok(store_commit(st, ops, 1) == ST_OK && ops[0].result == ST_NOTFOUND,
	    "deleting it again says not found");
}

static void
fill_org(struct store *st)
{
	static const char *cats[] = { "provider", "tool", "agent" };
	struct store_op ops[32];
	char names[32][32];
	size_t n = 0;
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(names[n], sizeof(names[n]), "ALICE_%d", i);
		tu_put_op(&ops[n], SCOPE_USER, "acme", "alice", names[n], "a",
		    cats[i % 3]);
		n++;
	}
	for (i = 0; i < 3; i++) {
		snprintf(names[n], sizeof(names[n]), "BOB_%d", i);
		tu_put_op(&ops[n], SCOPE_USER, "acme", "bob", names[n], "b",
		    "tool");
		n++;
	}
	for (i = 0; i < 4; i++) {
		snprintf(names[n], sizeof(names[n]), "ORG_%d", i);
		tu_put_op(&ops[n], SCOPE_ORG, "acme", "root", names[n], "o",
		    cats[i % 3]);
		n++;
	}
	for (i = 0; i < 2; i++) {
		snprintf(names[n], sizeof(names[n]), "ZETA_%d", i);
		tu_put_op(&ops[n], SCOPE_USER, "zeta", "alice", names[n], "z",
		    "tool");
		n++;
	}
	ok(store_commit(st, ops, n) == ST_OK, "scan fixture is written");
}

static int
scan_all(struct store *st, const struct store_scan *sc, size_t page,
    struct secret_meta *all, size_t cap, size_t *total, int *pages)
{
	char cur[CURSOR_MAX_LEN + 1] = "";
	struct store_scan q = *sc;
	size_t n;
	int ret;

	*total = 0;
	*pages = 0;
	do {
		q.cursor = cur;
		if (*total + page > cap)
			return -1;
		ret = store_secret_scan(st, &q, all + *total, page, &n, cur,
		    sizeof(cur));
		if (ret != ST_OK)
			return ret;
		*total += n;
		(*pages)++;
	} while (cur[0] != '\0');
	return ST_OK;
}

static int
count_owner(const struct secret_meta *m, size_t n, const char *owner,
    int scope)
{
	size_t i;
	int c = 0;

	for (i = 0; i < n; i++)
		if (m[i].scope == scope && strcmp(m[i].user_id, owner) == 0)
			c++;
	return c;
}

static int
sorted_unique(const struct secret_meta *m, size_t n)
{
	struct skey a, b;
	size_t i;

	for (i = 1; i < n; i++) {
		skey_of_meta(&a, &m[i - 1]);
		skey_of_meta(&b, &m[i]);
		if (a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0)
			return 0;
	}
	return 1;
}

static void
test_scan(struct store *st)
{
	struct secret_meta all[256];
	struct store_scan sc = { "acme", -1, "alice", NULL, NULL, NULL };
	char cur[CURSOR_MAX_LEN + 1];
	size_t n;
	int pages;

	/* alice (BIG, TWICE, 5 ALICE_*), org (SHARED_CRM_KEY, 4 ORG_*) */
	fill_org(st);
	ok(scan_all(st, &sc, 100, all, 256, &n, &pages) == ST_OK && n == 12 &&
	    count_owner(all, n, "", SCOPE_ORG) == 5 &&
	    count_owner(all, n, "alice", SCOPE_USER) == 7 && pages == 1,
	    "member listing: own and org secrets, nobody else's");
	ok(scan_all(st, &sc, 5, all, 256, &n, &pages) == ST_OK && n == 12 &&
	    pages == 3 && sorted_unique(all, n),
	    "paged by 5: three pages, every record once");
	ok(scan_all(st, &sc, 1, all, 256, &n, &pages) == ST_OK && n == 12 &&
	    pages == 12 && sorted_unique(all, n),
	    "paged by 1: twelve pages, every record once");
	sc.scope = SCOPE_USER;
	ok(scan_all(st, &sc, 100, all, 256, &n, &pages) == ST_OK && n == 7 &&
	    count_owner(all, n, "alice", SCOPE_USER) == 7,
	    "user scope lists only the owner's secrets");
	sc.scope = SCOPE_ORG;
	ok(scan_all(st, &sc, 2, all, 256, &n, &pages) == ST_OK && n == 5 &&
	    count_owner(all, n, "", SCOPE_ORG) == 5,
	    "org scope lists only org secrets");
	sc.scope = -1;
	sc.owner = NULL;
	ok(scan_all(st, &sc, 4, all, 256, &n, &pages) == ST_OK && n == 15 &&
	    count_owner(all, n, "bob", SCOPE_USER) == 3,
	    "whole-org listing has every user and the org, not other orgs");
	sc.owner = "alice";
	sc.category = "tool";
	ok(scan_all(st, &sc, 2, all, 256, &n, &pages) == ST_OK && n == 4 &&
	    strcmp(all[0].category, "tool") == 0 &&
	    strcmp(all[n - 1].category, "tool") == 0,
	    "category filter with pages");
	sc.category = "bogus";
	ok(store_secret_scan(st, &sc, all, 10, &n, cur, sizeof(cur)) ==
	    ST_INVALID, "an unknown category filter is refused");
	sc.category = NULL;
	sc.cursor = "zz";
	ok(store_secret_scan(st, &sc, all, 10, &n, cur, sizeof(cur)) ==
	    ST_INVALID, "a cursor that is not hex is refused");
	sc.cursor = "750";
	ok(store_secret_scan(st, &sc, all, 10, &n, cur, sizeof(cur)) ==
	    ST_INVALID, "a cursor of odd length is refused");
	sc.cursor = "7500626f62004e414d45";	/* u \0 bob \0 NAME */
	ok(store_secret_scan(st, &sc, all, 10, &n, cur, sizeof(cur)) ==
	    ST_INVALID, "a cursor into another user's records is refused");
	sc.cursor = "7500616c69636500";	/* u \0 alice \0 (no name) */
	ok(store_secret_scan(st, &sc, all, 10, &n, cur, sizeof(cur)) ==
	    ST_INVALID, "a cursor that is not a storage key is refused");
}

/* Bob's records are damaged: a listing that walked them would fail. */
static void
test_scan_ranges(struct store *st)
{
	struct secret_meta all[256];
	struct store_scan sc = { "acme", -1, "alice", NULL, NULL, NULL };
	struct skey k;
	MDB_txn *txn;
	MDB_val key, v;
	size_t n;
	int pages, rc;

	skey_build(&k, "acme", SCOPE_USER, "bob", "BOB_1");
	key.mv_size = k.len;
	key.mv_data = k.buf;
	rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc == 0 && (rc = mdb_get(txn, st->db_secrets, &key, &v)) == 0 &&
	    (rc = mdb_put(txn, st->db_secrets, &key, &v, MDB_RESERVE)) == 0)
		((uint8_t *)v.mv_data)[v.mv_size - 1] ^= 1;
	ok(rc == 0 && mdb_txn_commit(txn) == 0, "damage one of bob's records");
	ok(scan_all(st, &sc, 3, all, 256, &n, &pages) == ST_OK && n == 12,
	    "alice's listing never reads bob's records");
	sc.owner = NULL;
	ok(scan_all(st, &sc, 100, all, 256, &n, &pages) == ST_CORRUPT,
	    "the whole-org listing reads them and refuses the damage");
	ok(store_secret_get(st, "acme", SCOPE_USER, "bob", "BOB_1", NULL,
	    NULL) == ST_CORRUPT, "damaged metadata is not returned");
}

static void
test_long_cursor(struct store *st)
{
	char owner[ID_MAX_LEN + 1], name[NAME_MAX_LEN + 1];
	char cur[CURSOR_MAX_LEN + 1];
	struct store_scan sc = { NULL, SCOPE_USER, owner, NULL, NULL, NULL };
	struct secret_meta m[2];
	size_t n;

	memset(owner, 'u', ID_MAX_LEN);
	owner[ID_MAX_LEN] = '\0';
	memset(name, 'N', NAME_MAX_LEN);
	name[NAME_MAX_LEN] = '\0';
	sc.org = owner;
	tu_put1(st, SCOPE_USER, owner, owner, name, "v", NULL);
	name[0] = 'M';
	tu_put1(st, SCOPE_USER, owner, owner, name, "v", NULL);
	ok(store_secret_scan(st, &sc, m, 1, &n, cur, sizeof(cur)) == ST_OK &&
	    n == 1 && strlen(cur) > 0 && strlen(cur) <= CURSOR_MAX_LEN,
	    "a cursor for the longest ids and names fits CURSOR_MAX_LEN");
	sc.cursor = cur;
	ok(store_secret_scan(st, &sc, m, 1, &n, cur, sizeof(cur)) == ST_OK &&
	    n == 1 && m[0].name[0] == 'N' && cur[0] == '\0',
	    "the last page ends with an empty cursor");
}

static void
tok(struct store_op *op, struct store *st, const char *token,
    const char *id, const char *org, const char *user)
{
	memset(op, 0, sizeof(*op));
	op->kind = STORE_PUT_TOKEN;
	store_token_hash(st, token, op->token_hash);
	snprintf(op->token.id, sizeof(op->token.id), "%s", id);
	snprintf(op->token.org_id, sizeof(op->token.org_id), "%s", org);
	snprintf(op->token.user_id, sizeof(op->token.user_id), "%s", user);
	snprintf(op->token.description, sizeof(op->token.description), "ci");
	op->token.role = ROLE_MEMBER;
	op->token.created_at = 1000;
	op->token.expires_at = 2000;
}

static void
test_tokens(struct store *st)
{
	struct store_op ops[4];
	struct token_meta t, list[8];
	uint8_t h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	char next[TOKEN_CURSOR_MAX_LEN + 1];
	size_t n;

	store_token_hash(st, "rts_one", h1);
	store_token_hash(st, "rts_one", h2);
	ok(memcmp(h1, h2, sizeof(h1)) == 0, "token hash is deterministic");
	store_token_hash(st, "rts_two", h2);
	ok(memcmp(h1, h2, sizeof(h1)) != 0, "different tokens hash apart");
	tok(&ops[0], st, "rts_one", "00112233445566aa", "acme", "alice");
	tok(&ops[1], st, "rts_two", "00112233445566bb", "acme", "bob");
	tok(&ops[2], st, "rts_three", "00112233445566cc", "zeta", "alice");
	tok(&ops[3], st, "rts_four", "NOT-HEX", "acme", "alice");
	ok(store_commit(st, ops, 4) == ST_OK && ops[0].result == ST_OK &&
	    ops[1].result == ST_OK && ops[2].result == ST_OK &&
	    ops[3].result == ST_INVALID, "tokens are stored, a bad id refused");
	ok(store_token_lookup(st, h1, &t) == ST_OK &&
	    strcmp(t.id, "00112233445566aa") == 0 &&
	    strcmp(t.user_id, "alice") == 0 && t.expires_at == 2000 &&
	    strcmp(t.description, "ci") == 0, "lookup by hash finds a token");
	store_token_hash(st, "rts_unknown", h2);
	ok(store_token_lookup(st, h2, &t) == ST_NOTFOUND,
	    "an unknown token is not found");
	ok(store_token_list(st, "acme", NULL, NULL, list, 8, &n, next,
	    sizeof(next)) == ST_OK && n == 2 && next[0] == '\0',
	    "token list by org");
	ok(store_token_list(st, "acme", "alice", NULL, list, 8, &n, next,
	    sizeof(next)) == ST_OK && n == 1 &&
	    strcmp(list[0].id, "00112233445566aa") == 0,
	    "token list by org and user");
	tok(&ops[0], st, "rts_one", "00112233445566dd", "acme", "alice");
	ok(store_commit(st, ops, 1) == ST_OK && ops[0].result == ST_EXISTS,
	    "a token hash is stored only once");
	memset(&ops[0], 0, sizeof(ops[0]));
	ops[0].kind = STORE_DELETE_TOKEN;
	snprintf(ops[0].token.id, sizeof(ops[0].token.id), "00112233445566aa");
	snprintf(ops[0].token.org_id, sizeof(ops[0].token.org_id), "zeta");
	ok(store_commit(st, ops, 1) == ST_OK && ops[0].result == ST_NOTFOUND,
	    "a token cannot be revoked from another org");
	snprintf(ops[0].token.org_id, sizeof(ops[0].token.org_id), "acme");
	ok(store_commit(st, ops, 1) == ST_OK && ops[0].result == ST_OK &&
	    strcmp(ops[0].token.user_id, "alice") == 0,
	    "revoke returns the token's metadata");
	ok(store_token_lookup(st, h1, &t) == ST_NOTFOUND,
	    "a revoked token is gone");
}

static void
test_map_growth(void)
{
	struct store_op *ops;
	struct store *st;
	char *dir = tu_tmpdir("secretd-store"), value[2048];
	char names[500][32];
	size_t start, i, b;
	int all_ok = 1;

	store_set_initial_mapsize(256 * 1024);
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	ops = calloc(500, sizeof(*ops));
	if (ops == NULL || store_create(dir, root) != ST_OK ||
	    store_open(&st, dir, root) != ST_OK) {
		ok(0, "tiny-map store opens");
		return;
	}
	start = st->mapsize;
	for (b = 0; b < 4; b++) {
		for (i = 0; i < 500; i++) {
			snprintf(names[i], sizeof(names[i]), "S_%zu_%zu", b, i);
			tu_put_op(&ops[i], SCOPE_USER, "acme", "alice",
			    names[i], value, NULL);
		}
		if (store_commit(st, ops, 500) != ST_OK)
			all_ok = 0;
		for (i = 0; i < 500; i++)
			all_ok &= ops[i].result == ST_OK;
	}
	ok(all_ok, "2000 records of 2 KiB commit into a 256 KiB map");
	ok(st->mapsize > start && st->mapsize >= 4 * 1024 * 1024,
	    "the map grew (%zu KiB to %zu KiB)", start >> 10,
	    st->mapsize >> 10);
	ok(store_count_secrets(st) == 2000 &&
	    value_is(st, SCOPE_USER, "acme", "alice", "S_3_499", value),
	    "every record is there after growth");
	store_close(st);
	ok(store_open(&st, dir, root) == ST_OK &&
	    value_is(st, SCOPE_USER, "acme", "alice", "S_0_0", value),
	    "the grown store reopens");
	store_close(st);
	store_set_initial_mapsize(STORE_MAPSIZE);
	free(ops);
	tu_rm_rf(dir);
	free(dir);
}

int
main(void)
{
	struct store *st;
	char *dir = tu_tmpdir("secretd-store");

	if (sodium_init() == -1)
		return 1;
	randombytes_buf(root, sizeof(root));
	test_create(dir);
	if (!ok(store_open(&st, dir, root) == ST_OK, "store opens")) {
		tu_rm_rf(dir);
		return done_testing();
	}
	test_put_rotate(st);
	test_invalid(st);
	test_delete_and_group(st);
	test_scan(st);
	test_scan_ranges(st);
	test_long_cursor(st);
	test_tokens(st);
	ok(store_count_secrets(st) == 19, "secret count");
	store_close(st);
	test_map_growth();
	tu_rm_rf(dir);
	free(dir);
	return done_testing();
}
