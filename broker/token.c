/*
 * Bearer tokens: making them, checking them, finding them for revocation,
 * and the failed-authentication rate limits.  A token's secret part
 * exists only in the reply that shows it once; the store keeps a keyed
 * hash.  Nothing here may log or audit a token string.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "broker.h"
#include "log.h"

#define TOKEN_SECRET	32

#define RL_SLOTS	1024
#define RL_WINDOW_S	60
#define RL_MAX_FAIL	10

/* Failures per key ("s:" source or "p:" token id) within a window. */
struct rl_slot {
	char		 key[SOURCE_MAX_LEN + 3];
	time_t		 start;
	unsigned int	 fails;
};

static struct rl_slot rl[RL_SLOTS];

static struct rl_slot *
rl_find(const char *key, int create, time_t now)
{
	struct rl_slot *victim = NULL;
	size_t i;

	for (i = 0; i < RL_SLOTS; i++) {
		if (rl[i].key[0] != '\0' && strcmp(rl[i].key, key) == 0) {
			if (now - rl[i].start >= RL_WINDOW_S) {
				rl[i].start = now;
				rl[i].fails = 0;
			}
			return &rl[i];
		}
		if (victim == NULL || rl[i].key[0] == '\0' ||
		    (victim->key[0] != '\0' && rl[i].start < victim->start))
			victim = &rl[i];
	}
	if (!create)
		return NULL;
	/* Full: the oldest window is the one least worth keeping. */
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->key, sizeof(victim->key), "%s", key);
	victim->start = now;
	return victim;
}

static int
rl_limited(const char *key, time_t now)
{
	struct rl_slot *s;

	if (key[0] == '\0' || (s = rl_find(key, 0, now)) == NULL)
		return 0;
	return s->fails >= RL_MAX_FAIL;
}

static void
rl_fail(const char *key, time_t now)
{
	struct rl_slot *s;

	if (key[0] != '\0' && (s = rl_find(key, 1, now)) != NULL)
		s->fails++;
}

/* "rts_" 16 hex "_" 43 base64url; the id is copied out when it parses. */
static int
token_parse(const char *tok, char id[TOKEN_ID_LEN + 1])
{
	id[0] = '\0';
	if (!valid_token(tok))
		return -1;
	memcpy(id, tok + sizeof(TOKEN_PREFIX) - 1, TOKEN_ID_LEN);
	id[TOKEN_ID_LEN] = '\0';
	return 0;
}

/*
 * A token that verifies is accepted whatever the failure counts say:
 * 256 random bits make guessing hopeless, and refusing a valid token
 * would let anyone who shares a caller's key lock that caller out.  Only
 * failures are counted (per caller key and per token id), and only
 * failures are answered 429 once either count is over the limit.
 */
int
token_auth(struct broker *b, const char *tok, const char *ratekey,
    struct principal *p, char *msg, size_t msglen)
{
	struct token_meta tm;
	uint8_t hash[TOKEN_HASH_LEN];
	char id[TOKEN_ID_LEN + 1], pkey[TOKEN_ID_LEN + 3] = "";
	time_t now = now_mono().tv_sec;
	int rv, expired = 0;

	if (token_parse(tok, id) == -1)
		goto fail;
	snprintf(pkey, sizeof(pkey), "p:%s", id);
	store_token_hash(b->store, tok, hash);
	rv = store_token_lookup(b->store, hash, &tm);
	sodium_memzero(hash, sizeof(hash));
	if (rv == ST_NOTFOUND)
		goto fail;
	if (rv == ST_BUSY)
		return store_status(rv, msg, msglen);
	/* a record failing its tag was edited: it authenticates no one */
	if (rv == ST_CORRUPT) {
		log_warnx("%s: token %s: its record fails authentication; "
		    "refused: the store was edited, restore it from a backup",
		    __func__, id);
		goto fail;
	}
	if (rv != ST_OK) {
		log_warnx("%s: %s", __func__, store_strerror(rv));
		snprintf(msg, msglen, "token lookup failed");
		return RT_INTERNAL;
	}
	if (strcmp(tm.id, id) != 0 || strcmp(tm.org_id, b->cfg->org) != 0 ||
	    (tm.role != ROLE_MEMBER && tm.role != ROLE_ADMIN))
		goto fail;
	if (tm.expires_at != 0 && (uint64_t)time(NULL) >= tm.expires_at) {
		expired = 1;
		goto fail;
	}
	memset(p, 0, sizeof(*p));
	snprintf(p->user_id, sizeof(p->user_id), "%s", tm.user_id);
	snprintf(p->org_id, sizeof(p->org_id), "%s", tm.org_id);
	p->role = tm.role;
	snprintf(p->token_id, sizeof(p->token_id), "%s", tm.id);
	p->token_expires = tm.expires_at;
	p->scopes = tm.scopes;
	return RT_OK;
fail:
	rv = rl_limited(ratekey, now) || rl_limited(pkey, now);
	rl_fail(ratekey, now);
	rl_fail(pkey, now);
	if (rv) {
		metrics.auth_failures[MAUTH_RATE_LIMITED]++;
		snprintf(msg, msglen, "too many failed authentications; "
		    "try again later");
		return RT_RATELIMIT;
	}
	metrics.auth_failures[expired ? MAUTH_EXPIRED : MAUTH_BAD_TOKEN]++;
	snprintf(msg, msglen, "invalid, expired or revoked token");
	return RT_UNAUTH;
}

/*
 * Fill a STORE_PUT_TOKEN op and the token string shown once.  Members
 * make member tokens for themselves; only admins make admin tokens.  A
 * token made by a caller who came with a token is that token's child:
 * it expires no later, and goes when its parent is revoked.
 */
int
token_make(struct broker *b, const struct principal *p, uint8_t role,
    const char *desc, uint64_t ttl, const struct token_scopes *scopes,
    struct store_op *op, char *tok, size_t toklen, char *msg, size_t msglen)
{
	uint8_t raw[TOKEN_SECRET], rawid[TOKEN_ID_LEN / 2];
	char b64[TOKEN_B64_LEN + 1], id[TOKEN_ID_LEN + 1];
	uint64_t now = (uint64_t)time(NULL);

	if (role != ROLE_MEMBER && role != ROLE_ADMIN) {
		snprintf(msg, msglen, "role must be member or admin");
		return RT_INVALID;
	}
	if (role == ROLE_ADMIN && p->role != ROLE_ADMIN) {
		snprintf(msg, msglen, "only admins may create admin tokens");
		return RT_FORBIDDEN;
	}
	if (!valid_token_scopes(scopes)) {
		snprintf(msg, msglen, "scopes must be distinct tools:NAME "
		    "or tools:*, at most %d", TOKEN_SCOPES_MAX);
		return RT_INVALID;
	}
	if (ttl > TOKEN_TTL_MAX) {
		snprintf(msg, msglen, "token lifetime is over ten years");
		return RT_INVALID;
	}
	if (toklen < TOKEN_LEN + 1)
		return RT_INTERNAL;
	randombytes_buf(rawid, sizeof(rawid));
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(id, sizeof(id), rawid, sizeof(rawid));
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(tok, toklen, TOKEN_PREFIX "%s_%s", id, b64);
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(b64, sizeof(b64));

	memset(op, 0, sizeof(*op));
	op->kind = STORE_PUT_TOKEN;
	snprintf(op->token.id, sizeof(op->token.id), "%s", id);
	snprintf(op->token.user_id, sizeof(op->token.user_id), "%s",
	    p->user_id);
	snprintf(op->token.org_id, sizeof(op->token.org_id), "%s", p->org_id);
	op->token.role = role;
	snprintf(op->token.description, sizeof(op->token.description), "%s",
	    desc);
	op->token.created_at = now;
	op->token.expires_at = ttl ? now + ttl : 0;
	op->token.scopes = *scopes;
	if (p->token_id[0] != '\0') {
		snprintf(op->token_parent, sizeof(op->token_parent), "%s",
		    p->token_id);
		if (p->token_expires != 0 && (op->token.expires_at == 0 ||
		    op->token.expires_at > p->token_expires))
			op->token.expires_at = p->token_expires;
	}
	op->max_count = b->cfg->max_tokens_per_user;
	store_token_hash(b->store, tok, op->token_hash);
	return RT_OK;
}

/* Admins see their org's tokens; members only their own. */
static int
token_find(struct broker *b, const struct principal *p, const char *id,
    struct token_meta *out)
{
	int rv = store_token_find(b->store, p->org_id, id, out);

	if (rv == ST_NOTFOUND || (rv == ST_OK && p->role != ROLE_ADMIN &&
	    strcmp(out->user_id, p->user_id) != 0))
		return RT_NOTFOUND;
	if (rv == ST_BUSY)
		return RT_UNAVAILABLE;
	if (rv != ST_OK) {
		log_warnx("%s: %s", __func__, store_strerror(rv));
		return RT_INTERNAL;
	}
	return RT_OK;
}

/* IMSG_TOKEN_CREATE: the token string is in the reply and nowhere else. */
int
h_token_create(struct req *q)
{
	struct msg_token_create a;
	struct pending *pd;
	char msg[MSG_LEN] = "";
	int rv;

	q->op = "token_create";
	if (msg_token_create_get(q->r, &a) == -1)
		return -1;
	q->auth = a.auth;
	if ((rv = authenticate(q, msg, sizeof(msg))) != RT_OK ||
	    (rv = scope_permits(q, OP_TOKEN, NULL, msg, sizeof(msg))) !=
	    RT_OK) {
		respond(q, NULL, rv, msg);
		return 0;
	}
	snprintf(q->owner, sizeof(q->owner), "%s", q->p.user_id);
	pd = pend_add(q);
	if ((rv = token_make(q->b, &q->p, a.role, a.description, a.ttl,
	    &a.scopes, pend_op(pd), pd->token, sizeof(pd->token), msg,
	    sizeof(msg))) != RT_OK) {
		pend_cancel();
		respond(q, NULL, rv, msg);
		return 0;
	}
	snprintf(pd->q.name, sizeof(pd->q.name), "%s", pend_op(pd)->token.id);
	return 0;
}

static int
token_page(struct req *q, const struct msg_token_list *a, char *msg,
    size_t msglen)
{
	struct msg_token_page pg;
	struct token_meta *list;
	struct ipc_msg m;
	const char *user = q->p.role == ROLE_ADMIN ? NULL : q->p.user_id;
	uint32_t limit = a->limit ? a->limit : LIST_DEFAULT_LIMIT;
	size_t n = 0, fit;
	int rv;

	if ((list = calloc(limit, sizeof(*list))) == NULL)
		return RT_INTERNAL;
	memset(&pg, 0, sizeof(pg));
	rv = store_token_list(q->b->store, q->p.org_id, user, a->cursor, list,
	    limit, &n, pg.next, sizeof(pg.next));
	/* A full page that will not fit: stop early, with a cursor there. */
	if (rv == ST_OK && (fit = msg_token_page_fit(list, n)) < n)
		rv = store_token_list(q->b->store, q->p.org_id, user,
		    a->cursor, list, fit, &n, pg.next, sizeof(pg.next));
	if (rv == ST_INVALID) {
		free(list);
		snprintf(msg, msglen, "invalid cursor");
		return RT_INVALID;
	}
	if (rv != ST_OK) {
		free(list);
		return store_status(rv, msg, msglen);
	}
	pg.n = (uint32_t)n;
	pg.tokens = list;
	reply_init(&m, q->id, RT_OK, "");
	msg_token_page_put(&m, &pg);
	free(list);
	respond(q, &m, RT_OK, "");
	return RT_OK;
}

int
h_token_list(struct req *q)
{
	struct msg_token_list a;
	char msg[MSG_LEN] = "";
	int rv;

	q->op = "token_list";
	if (msg_token_list_get(q->r, &a) == -1)
		return -1;
	q->auth = a.auth;
	if ((rv = authenticate(q, msg, sizeof(msg))) == RT_OK &&
	    (rv = scope_permits(q, OP_TOKEN, NULL, msg, sizeof(msg))) ==
	    RT_OK) {
		snprintf(q->owner, sizeof(q->owner), "%s",
		    q->p.role == ROLE_ADMIN ? "*" : q->p.user_id);
		if ((rv = token_page(q, &a, msg, sizeof(msg))) == RT_OK)
			return 0;
	}
	respond(q, NULL, rv, msg);
	return 0;
}

int
h_token_revoke(struct req *q)
{
	struct msg_token_revoke a;
	struct token_meta tm;
	struct store_op *op;
	char msg[MSG_LEN] = "";
	int rv;

	q->op = "token_revoke";
	if (msg_token_revoke_get(q->r, &a) == -1)
		return -1;
	q->auth = a.auth;
	if ((rv = authenticate(q, msg, sizeof(msg))) == RT_OK &&
	    (rv = scope_permits(q, OP_TOKEN, NULL, msg, sizeof(msg))) ==
	    RT_OK) {
		snprintf(q->name, sizeof(q->name), "%s", a.id);
		if ((rv = token_find(q->b, &q->p, a.id, &tm)) == RT_NOTFOUND)
			snprintf(msg, sizeof(msg), "no such token");
	}
	if (rv != RT_OK) {
		respond(q, NULL, rv, msg);
		return 0;
	}
	snprintf(q->owner, sizeof(q->owner), "%s", tm.user_id);
	op = pend_op(pend_add(q));
	op->kind = STORE_DELETE_TOKEN;
	op->token = tm;
	return 0;
}
