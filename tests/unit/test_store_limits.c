/*
 * What the store does for the broker's limits: tokens found by id among
 * thousands, listed in pages, revoked with the tokens made from them and
 * capped per user; per-owner usage counts and quotas that store nothing
 * when refused; and a schema-1 store upgraded with its indexes and counts.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store_int.h"
#include "tap.h"
#include "testutil.h"

#define MANY	5000		/* more than one scan of old could reach */

static uint8_t root[ROOT_KEY_LEN];

static void
tok_op(struct store_op *op, struct store *st, unsigned int n,
    const char *user, const char *parent, uint64_t expires)
{
	char token[64];

	memset(op, 0, sizeof(*op));
	op->kind = STORE_PUT_TOKEN;
	snprintf(token, sizeof(token), "rts_test_%u", n);
	store_token_hash(st, token, op->token_hash);
	snprintf(op->token.id, sizeof(op->token.id), "%016x", n);
	snprintf(op->token.org_id, sizeof(op->token.org_id), "acme");
	snprintf(op->token.user_id, sizeof(op->token.user_id), "%s", user);
	op->token.role = ROLE_MEMBER;
	op->token.created_at = 1000;
	op->token.expires_at = expires;
	if (parent != NULL)
		snprintf(op->token_parent, sizeof(op->token_parent), "%s",
		    parent);
}

static int
revoke(struct store *st, const char *id, size_t *revoked)
{
	struct store_op op;

	memset(&op, 0, sizeof(op));
	op.kind = STORE_DELETE_TOKEN;
	snprintf(op.token.id, sizeof(op.token.id), "%s", id);
	snprintf(op.token.org_id, sizeof(op.token.org_id), "acme");
	if (store_commit(st, &op, 1) != ST_OK)
		return -1;
	*revoked = op.revoked;
	return op.result;
}

static int
exists(struct store *st, unsigned int n)
{
	struct token_meta t;
	char id[TOKEN_ID_LEN + 1];

	snprintf(id, sizeof(id), "%016x", n);
	return store_token_find(st, "acme", id, &t) == ST_OK;
}

static void
test_many_tokens(struct store *st)
{
	struct store_op *ops;
	struct token_meta *page;
	char cursor[TOKEN_CURSOR_MAX_LEN + 1] = "", next[sizeof(cursor)];
	size_t i, n, total = 0, pages = 0, revoked;
	int all = 1, sorted = 1;

	if ((ops = calloc(MANY, sizeof(*ops))) == NULL ||
	    (page = calloc(1000, sizeof(*page))) == NULL)
		return;
	for (i = 0; i < MANY; i++)
		tok_op(&ops[i], st, (unsigned)i + 1, i % 2 ? "bob" : "alice",
		    NULL, 0);
	ok(store_commit(st, ops, MANY) == ST_OK, "%d tokens stored", MANY);
	for (i = 0; i < MANY; i++)
		all &= ops[i].result == ST_OK;
	ok(all, "every token accepted");
	ok(exists(st, MANY) && exists(st, 1), "the first and the last token "
	    "are found by id");
	ok(revoke(st, "0000000000001388", &revoked) == ST_OK && revoked == 1 &&
	    !exists(st, MANY), "the %dth token is revoked by id", MANY);
	ok(revoke(st, "0000000000001388", &revoked) == ST_NOTFOUND,
	    "a revoked token is not found again");
	do {
		if (store_token_list(st, "acme", NULL, cursor, page, 1000, &n,
		    next, sizeof(next)) != ST_OK)
			break;
		for (i = 1; i < n; i++)
			if (strcmp(page[i - 1].user_id, page[i].user_id) > 0 ||
			    (strcmp(page[i - 1].user_id, page[i].user_id) ==
			    0 && strcmp(page[i - 1].id, page[i].id) >= 0))
				sorted = 0;
		total += n;
		pages++;
		memcpy(cursor, next, sizeof(cursor));
	} while (cursor[0] != '\0' && pages < 100);
	ok(total == MANY - 1 && pages == 5, "the org's tokens in five pages "
	    "(%zu in %zu)", total, pages);
	ok(sorted, "pages are in user, id order");
	total = 0;
	cursor[0] = '\0';
	do {
		if (store_token_list(st, "acme", "bob", cursor, page, 700, &n,
		    next, sizeof(next)) != ST_OK)
			break;
		for (i = 0; i < n; i++)
			if (strcmp(page[i].user_id, "bob") != 0)
				sorted = 0;
		total += n;
		memcpy(cursor, next, sizeof(cursor));
	} while (cursor[0] != '\0');
	ok(total == MANY / 2 - 1 && sorted, "one user's pages hold only "
	    "theirs (%zu)", total);
	ok(store_token_list(st, "acme", "bob", "alice/0000000000000001", page,
	    10, &n, next, sizeof(next)) == ST_INVALID,
	    "another user's cursor is refused");
	ok(store_token_list(st, "acme", NULL, "nonsense", page, 10, &n, next,
	    sizeof(next)) == ST_INVALID, "a malformed cursor is refused");
	free(page);
	free(ops);
}

static void
test_cascade(struct store *st)
{
	struct store_op ops[5];
	size_t revoked;

	/* 9001 <- 9002 <- 9003, 9001 <- 9004; 9005 stands alone */
	tok_op(&ops[0], st, 0x9001, "carol", NULL, 0);
	tok_op(&ops[1], st, 0x9002, "carol", "0000000000009001", 0);
	tok_op(&ops[2], st, 0x9003, "carol", "0000000000009002", 0);
	tok_op(&ops[3], st, 0x9004, "carol", "0000000000009001", 0);
	tok_op(&ops[4], st, 0x9005, "carol", NULL, 0);
	ok(store_commit(st, ops, 5) == ST_OK && ops[2].result == ST_OK &&
	    ops[3].result == ST_OK, "a tree of tokens is stored");
	ok(revoke(st, "0000000000009002", &revoked) == ST_OK && revoked == 2 &&
	    !exists(st, 0x9002) && !exists(st, 0x9003) && exists(st, 0x9001),
	    "revoking a token takes its children, not its parent");
	ok(revoke(st, "0000000000009001", &revoked) == ST_OK && revoked == 2 &&
	    !exists(st, 0x9004) && exists(st, 0x9005),
	    "revoking the root takes what is left of its tree");
	tok_op(&ops[0], st, 0x9006, "carol", "0000000000009001", 0);
	ok(store_commit(st, ops, 1) == ST_OK && ops[0].result == ST_NOTFOUND &&
	    !exists(st, 0x9006), "no token is made from a revoked one");
}

static void
test_token_cap(struct store *st)
{
	struct store_op ops[4];
	size_t i;

	for (i = 0; i < 3; i++) {
		tok_op(&ops[i], st, 0xa001 + (unsigned)i, "dave", NULL, 0);
		ops[i].max_count = 3;
	}
	ok(store_commit(st, ops, 3) == ST_OK && ops[2].result == ST_OK,
	    "three tokens within a cap of three");
	tok_op(&ops[0], st, 0xa004, "dave", NULL, 0);
	ops[0].max_count = 3;
	tok_op(&ops[1], st, 0xa005, "erin", NULL, 0);
	ops[1].max_count = 3;
	ok(store_commit(st, ops, 2) == ST_OK && ops[0].result == ST_QUOTA &&
	    !exists(st, 0xa004) && ops[1].result == ST_OK,
	    "a fourth is refused and stores nothing; another user is not");
	/* an expired token is neither live nor kept */
	tok_op(&ops[0], st, 0xb001, "frank", NULL, 0);
	tok_op(&ops[1], st, 0xb002, "frank", NULL, 0);
	tok_op(&ops[2], st, 0xb003, "frank", NULL, 5);
	ok(store_commit(st, ops, 3) == ST_OK, "two live and one expired");
	tok_op(&ops[0], st, 0xb004, "frank", NULL, 0);
	ops[0].max_count = 3;
	ok(store_commit(st, ops, 1) == ST_OK && ops[0].result == ST_OK &&
	    !exists(st, 0xb003), "expired tokens do not count and are "
	    "removed");
	/* two creates in one batch are counted together */
	tok_op(&ops[0], st, 0xc001, "gina", NULL, 0);
	tok_op(&ops[1], st, 0xc002, "gina", NULL, 0);
	ops[0].max_count = ops[1].max_count = 1;
	ok(store_commit(st, ops, 2) == ST_OK && ops[0].result == ST_OK &&
	    ops[1].result == ST_QUOTA, "a batch cannot pass the cap together");
}

static int
usage_is(struct store *st, int scope, const char *owner, uint64_t count,
    uint64_t bytes)
{
	struct store_usage u;

	return store_usage_get(st, "acme", scope, owner, &u) == ST_OK &&
	    u.count == count && u.bytes == bytes;
}

static void
test_quota(struct store *st)
{
	struct store_op op[2];
	struct secret_meta m;

	tu_put_op(&op[0], SCOPE_USER, "acme", "hank", "A", "12345", NULL);
	op[0].max_count = 2;
	op[0].max_bytes = 10;
	ok(store_commit(st, op, 1) == ST_OK && op[0].result == ST_OK &&
	    usage_is(st, SCOPE_USER, "hank", 1, 5), "usage counts a put");
	tu_put_op(&op[0], SCOPE_USER, "acme", "hank", "B", "1234567", NULL);
	op[0].max_count = 2;
	op[0].max_bytes = 10;
	ok(store_commit(st, op, 1) == ST_OK && op[0].result == ST_QUOTA &&
	    store_secret_get(st, "acme", SCOPE_USER, "hank", "B", &m, NULL) ==
	    ST_NOTFOUND && usage_is(st, SCOPE_USER, "hank", 1, 5),
	    "over the byte quota: refused, nothing stored, usage unchanged");
	tu_put_op(&op[0], SCOPE_USER, "acme", "hank", "A", "1234567890",
	    NULL);
	op[0].max_bytes = 10;
	ok(store_commit(st, op, 1) == ST_OK && op[0].result == ST_OK &&
	    usage_is(st, SCOPE_USER, "hank", 1, 10),
	    "a rotation counts the difference");
	tu_put_op(&op[0], SCOPE_USER, "acme", "hank", "C", "x", NULL);
	op[0].max_count = 1;
	ok(store_commit(st, op, 1) == ST_OK && op[0].result == ST_QUOTA,
	    "over the count quota: refused");
	tu_put_op(&op[0], SCOPE_USER, "acme", "hank", "A", "12", NULL);
	op[0].max_bytes = 1;
	ok(store_commit(st, op, 1) == ST_OK && op[0].result == ST_OK &&
	    usage_is(st, SCOPE_USER, "hank", 1, 2),
	    "an owner over a lowered quota may still shrink");
	tu_put_op(&op[0], SCOPE_ORG, "acme", "ivan", "ORG_A", "abc", NULL);
	tu_put_op(&op[1], SCOPE_ORG, "acme", "judy", "ORG_B", "defg", NULL);
	op[1].max_count = 1;
	ok(store_commit(st, op, 2) == ST_OK && op[0].result == ST_OK &&
	    op[1].result == ST_QUOTA && usage_is(st, SCOPE_ORG, NULL, 1, 3) &&
	    usage_is(st, SCOPE_USER, "ivan", 0, 0),
	    "org secrets count against the org, not their writer");
	tu_del_op(&op[0], SCOPE_USER, "acme", "hank", "A");
	ok(store_commit(st, op, 1) == ST_OK && op[0].result == ST_OK &&
	    usage_is(st, SCOPE_USER, "hank", 0, 0), "a delete gives it back");
	tu_put_op(&op[0], SCOPE_USER, "acme", "lena", "D", "x", NULL);
	op[0].has_description = 1;
	memset(op[0].meta.description, 'd', 50);
	op[0].max_bytes = 40;
	ok(store_commit(st, op, 1) == ST_OK && op[0].result == ST_QUOTA,
	    "a description counts against the byte quota");
	tu_put_op(&op[0], SCOPE_USER, "acme", "lena", "D", "x", NULL);
	op[0].has_description = 1;
	memset(op[0].meta.description, 'd', 20);
	op[0].max_bytes = 40;
	ok(store_commit(st, op, 1) == ST_OK && op[0].result == ST_OK &&
	    usage_is(st, SCOPE_USER, "lena", 1, 21), "value and description "
	    "are counted together");
	tu_put_op(&op[0], SCOPE_USER, "acme", "lena", "D", "yy", NULL);
	op[0].max_bytes = 40;
	ok(store_commit(st, op, 1) == ST_OK && op[0].result == ST_OK &&
	    usage_is(st, SCOPE_USER, "lena", 1, 22), "a rotation that keeps "
	    "the description counts it once");
}

/* Turn a new store back into schema 1: no indexes, no counts, no tags. */
static int
downgrade(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi db;
	const char *v2[] = { "token_ids", "token_owners", "token_children",
	    "usage" };
	size_t i;
	int rc;

	if ((rc = mdb_env_create(&env)) != 0)
		return -1;
	mdb_env_set_maxdbs(env, STORE_MAXDBS);
	if ((rc = mdb_env_open(env, dir, MDB_NOTLS, 0600)) == 0 &&
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0) {
		rc = tu_untag(txn, "tokens");
		for (i = 0; rc == 0 && i < 4; i++)
			if ((rc = mdb_dbi_open(txn, v2[i], 0, &db)) == 0)
				rc = mdb_drop(txn, db, 1);
		if (rc == 0 && (rc = mdb_dbi_open(txn, "meta", 0, &db)) == 0)
			rc = tu_schema_put(txn, db, 1);
		rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
	}
	mdb_env_close(env);
	return rc == 0 ? 0 : -1;
}

static void
test_upgrade(void)
{
	struct store_op ops[3];
	struct store *st;
	char *dir = tu_tmpdir("secretd-upgrade");
	size_t revoked;

	if (store_create(dir, root) != ST_OK ||
	    store_open(&st, dir, root) != ST_OK) {
		ok(0, "store for the upgrade opens");
		return;
	}
	tok_op(&ops[0], st, 0xd001, "kim", NULL, 0);
	tu_put_op(&ops[1], SCOPE_USER, "acme", "kim", "K1", "abcd", NULL);
	tu_put_op(&ops[2], SCOPE_ORG, "acme", "kim", "K2", "ef", NULL);
	store_commit(st, ops, 3);
	store_close(st);
	ok(downgrade(dir) == 0, "store turned into schema 1");
	ok(store_open(&st, dir, root) == ST_OK, "a schema-1 store opens");
	if (st == NULL)
		return;
	ok(exists(st, 0xd001) && usage_is(st, SCOPE_USER, "kim", 1, 4) &&
	    usage_is(st, SCOPE_ORG, NULL, 1, 2),
	    "its tokens are indexed and its usage counted");
	ok(revoke(st, "000000000000d001", &revoked) == ST_OK && revoked == 1,
	    "an upgraded token is revoked by id");
	store_close(st);
	ok(store_open(&st, dir, root) == ST_OK && usage_is(st, SCOPE_USER,
	    "kim", 1, 4), "the upgrade is kept");
	store_close(st);
	tu_rm_rf(dir);
	free(dir);
}

int
main(void)
{
	struct store *st;
	char *dir = tu_tmpdir("secretd-limits");

	if (sodium_init() == -1)
		return 1;
	randombytes_buf(root, sizeof(root));
	if (!ok(store_create(dir, root) == ST_OK &&
	    store_open(&st, dir, root) == ST_OK, "store opens")) {
		tu_rm_rf(dir);
		return done_testing();
	}
	test_many_tokens(st);
	test_cascade(st);
	test_token_cap(st);
	test_quota(st);
	store_close(st);
	test_upgrade();
	tu_rm_rf(dir);
	free(dir);
	return done_testing();
}
