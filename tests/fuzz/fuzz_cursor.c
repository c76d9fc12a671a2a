/*
 * Fuzz target "cursor": the opaque list cursors a caller sends back
 * (?cursor=), decoded by the store itself.  A small store in a temporary
 * folder holds three owners' secrets and tokens; each input is one page
 * request, secrets (store_secret_scan) or tokens (store_token_list), with
 * a fuzzed cursor, then the pages that follow it.  A page must never name
 * a record outside the ranges asked for, and paging must end.
 * Input: one byte choosing the list, scope, owner, category and page
 * size, then the cursor.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "testutil.h"
#include "fuzz.h"

#define ORG		"acme"
#define NSECRETS	12
#define NTOKENS		6

static const char *const owners[] = { NULL, "alice", "bob", "carol" };

static struct store *st;
static char *dir;

static void
cleanup(void)
{
	store_close(st);
	tu_rm_rf(dir);
	free(dir);
}

static void
put_token(struct store_op *op, int i)
{
	char tok[32];

	memset(op, 0, sizeof(*op));
	op->kind = STORE_PUT_TOKEN;
	snprintf(tok, sizeof(tok), "rts_fuzz%d", i);
	store_token_hash(st, tok, op->token_hash);
	snprintf(op->token.id, sizeof(op->token.id), "%016x", 0xa0 + i);
	snprintf(op->token.org_id, sizeof(op->token.org_id), ORG);
	snprintf(op->token.user_id, sizeof(op->token.user_id), "%s",
	    owners[1 + i % 2]);
	op->token.role = ROLE_MEMBER;
	op->token.created_at = 1000;
}

static void
setup(void)
{
	static const uint8_t root[ROOT_KEY_LEN] = { 1, 2, 3 };
	static const char *const cats[] = { "tool", "agent", NULL };
	struct store_op ops[NSECRETS + NTOKENS];
	char name[16];
	int i;

	if ((dir = tu_mkdtemp("secretd-fuzz")) == NULL ||
	    store_create(dir, root) != ST_OK ||
	    store_open(&st, dir, root) != ST_OK) {
		fprintf(stderr, "fuzz_cursor: cannot make a store\n");
		exit(1);
	}
	for (i = 0; i < NSECRETS; i++) {
		snprintf(name, sizeof(name), "S_%d", i);
		tu_put_op(&ops[i], i % 3 == 0 ? SCOPE_ORG : SCOPE_USER, ORG,
		    owners[1 + i % 3], name, "value", cats[i % 3]);
	}
	for (i = 0; i < NTOKENS; i++)
		put_token(&ops[NSECRETS + i], i);
	if (store_commit(st, ops, NSECRETS + NTOKENS) != ST_OK) {
		fprintf(stderr, "fuzz_cursor: cannot fill the store\n");
		exit(1);
	}
	atexit(cleanup);
}

static void
secrets(uint8_t sel, const char *cursor)
{
	static const int scopes[] = { -1, SCOPE_USER, SCOPE_ORG, -1 };
	struct secret_meta out[4];
	struct store_scan sc;
	char next[CURSOR_MAX_LEN + 1], cur[CURSOR_MAX_LEN + 1];
	size_t n, i, max = 1 + ((sel >> 5) & 3);
	int page;

	memset(&sc, 0, sizeof(sc));
	sc.org = ORG;
	sc.scope = scopes[sel & 3];
	sc.owner = owners[(sel >> 2) & 3];
	sc.category = (sel & 0x80) ? "tool" : NULL;
	sc.cursor = cursor;
	for (page = 0; page <= NSECRETS; page++) {
		if (store_secret_scan(st, &sc, out, max, &n, next,
		    sizeof(next)) != ST_OK)
			return;
		for (i = 0; i < n; i++)
			if (strcmp(out[i].org_id, ORG) != 0 ||
			    (sc.scope != -1 && out[i].scope != sc.scope) ||
			    (sc.owner != NULL && out[i].scope == SCOPE_USER &&
			    strcmp(out[i].user_id, sc.owner) != 0))
				abort();
		if (next[0] == '\0')
			return;
		memcpy(cur, next, sizeof(cur));
		sc.cursor = cur;
	}
	abort();
}

static void
tokens(uint8_t sel, const char *cursor)
{
	struct token_meta out[4];
	char next[TOKEN_CURSOR_MAX_LEN + 8], cur[TOKEN_CURSOR_MAX_LEN + 8];
	const char *user = owners[(sel >> 2) & 3];
	size_t n, i, max = 1 + ((sel >> 5) & 3);
	int page;

	for (page = 0; page <= NTOKENS; page++) {
		if (store_token_list(st, ORG, user, cursor, out, max, &n, next,
		    sizeof(next)) != ST_OK)
			return;
		for (i = 0; i < n; i++)
			if (strcmp(out[i].org_id, ORG) != 0 || (user != NULL &&
			    strcmp(out[i].user_id, user) != 0))
				abort();
		if (next[0] == '\0')
			return;
		memcpy(cur, next, sizeof(cur));
		cursor = cur;
	}
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cursor;

	if (size < 1)
		return 0;
	if (st == NULL)
		setup();
	if ((cursor = malloc(size)) == NULL)
		return 0;
	memcpy(cursor, data + 1, size - 1);
	cursor[size - 1] = '\0';
	if (data[0] & 0x10)
		tokens(data[0], cursor);
	else
		secrets(data[0], cursor);
	free(cursor);
	return 0;
}
