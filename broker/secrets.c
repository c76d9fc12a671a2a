/*
 * The secret handlers: list, put, get, reveal and delete.  Each reads its
 * whole message, authenticates, re-validates every field the front-end
 * sent and asks decide(); a malformed message is -1 (fatal to the
 * front-end), a refusal is a reply.  Values never reach a log.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "broker.h"
#include "log.h"

static int
decision_status(enum decision d, char *msg, size_t msglen)
{
	if (d == DECIDE_ALLOW)
		return RT_OK;
	if (d == DECIDE_FORBIDDEN) {
		snprintf(msg, msglen, "not permitted by policy");
		return RT_FORBIDDEN;
	}
	snprintf(msg, msglen, "no such secret");
	return RT_NOTFOUND;
}

/* Bytes proto_put_meta will write for m. */
static size_t
meta_wire_len(const struct secret_meta *m)
{
	return 7 * 5 + strlen(m->name) + strlen(m->user_id) +
	    strlen(m->org_id) + strlen(m->category) + strlen(m->description) +
	    strlen(m->created_by) + strlen(m->updated_by) + 1 + 4 + 8 + 8;
}

struct list_args {
	uint8_t		 flags;
	const char	*category;
	const char	*user_id;
	uint32_t	 limit;
	const char	*cursor;
};

/* Turn the request into a scan; the policy decides on its shape. */
static int
list_scan(struct req *q, const struct list_args *a, struct store_scan *s,
    char *msg, size_t msglen)
{
	struct target t = { SCOPE_USER, q->p.org_id, q->p.user_id };
	int su = a->flags & LIST_SCOPE_USER, so = a->flags & LIST_SCOPE_ORG;

	memset(s, 0, sizeof(*s));
	s->org = q->p.org_id;
	s->scope = su && !so ? SCOPE_USER : so && !su ? SCOPE_ORG : -1;
	s->owner = q->p.user_id;
	s->category = a->category[0] ? a->category : NULL;
	s->cursor = a->cursor[0] ? a->cursor : NULL;
	if (a->user_id[0] != '\0') {
		if ((a->flags & LIST_ALL) || s->scope == SCOPE_ORG) {
			snprintf(msg, msglen, "user_id lists one user's "
			    "secrets; it excludes all and secretScope=org");
			return RT_INVALID;
		}
		t.owner = s->owner = a->user_id;
		s->scope = SCOPE_USER;
	} else if (a->flags & LIST_ALL)
		t.owner = s->owner = NULL;
	snprintf(q->owner, sizeof(q->owner), "%s", t.owner ? t.owner : "*");
	q->scope = s->scope;
	if (decide(&q->p, OP_LIST, &t, q->b->cfg->org_reveal_members) !=
	    DECIDE_ALLOW) {
		snprintf(msg, msglen, "listing other users' secrets "
		    "requires an admin");
		return RT_FORBIDDEN;
	}
	return RT_OK;
}

/* How many of the n metas fit in one reply beside a cursor. */
static size_t
list_fit(const struct secret_meta *metas, size_t n)
{
	size_t used = IPC_HDR_LEN + 4 + 5 + 4 + 5 + CURSOR_MAX_LEN, i;

	for (i = 0; i < n; i++) {
		used += meta_wire_len(&metas[i]);
		if (used > IPC_MAX_MSG)
			break;
	}
	return i;
}

static int
list_reply(struct req *q, const struct list_args *a, char *msg, size_t len)
{
	struct secret_meta *metas;
	struct store_scan s;
	struct ipc_msg m;
	char next[CURSOR_MAX_LEN + 1] = "";
	size_t n = 0, fit, i;
	int rv;

	if ((rv = list_scan(q, a, &s, msg, len)) != RT_OK)
		return rv;
	if ((metas = calloc(a->limit, sizeof(*metas))) == NULL)
		return RT_INTERNAL;
	rv = store_secret_scan(q->b->store, &s, metas, a->limit, &n, next,
	    sizeof(next));
	/* A full page that will not fit: stop early, with a cursor there. */
	if (rv == ST_OK && (fit = list_fit(metas, n)) < n)
		rv = store_secret_scan(q->b->store, &s, metas, fit, &n, next,
		    sizeof(next));
	if (rv != ST_OK) {
		free(metas);
		return store_status(rv, msg, len);
	}
	reply_init(&m, q->id, RT_OK, "");
	ipc_put_u32(&m, (uint32_t)n);
	for (i = 0; i < n; i++) {
		struct target t = { metas[i].scope, metas[i].org_id,
		    metas[i].user_id };

		/* The scan's shape was decided; each record is checked too. */
		if (decide(&q->p, OP_LIST, &t, q->b->cfg->org_reveal_members)
		    != DECIDE_ALLOW)
			fatalx("%s: scan returned a record the policy refuses",
			    __func__);
		proto_put_meta(&m, &metas[i]);
	}
	ipc_put_str(&m, next);
	free(metas);
	respond(q, &m, RT_OK, "");
	return RT_OK;
}

int
h_list(struct req *q)
{
	struct list_args a;
	char msg[MSG_LEN] = "";
	size_t clen;
	int rv;

	q->op = "list";
	if (get_auth(q) == -1 || ipc_get_u8(q->r, &a.flags) == -1 ||
	    ipc_get_str(q->r, &a.category, NULL) == -1 ||
	    ipc_get_str(q->r, &a.user_id, NULL) == -1 ||
	    ipc_get_u32(q->r, &a.limit) == -1 ||
	    ipc_get_str(q->r, &a.cursor, &clen) == -1 ||
	    ipc_end(q->r) == -1 ||
	    (a.flags & ~(LIST_ALL | LIST_SCOPE_USER | LIST_SCOPE_ORG)) != 0)
		return -1;
	if (a.limit == 0)
		a.limit = LIST_DEFAULT_LIMIT;
	if ((rv = authenticate(q, msg, sizeof(msg))) != RT_OK)
		;
	else if (a.category[0] != '\0' && !valid_category(a.category)) {
		snprintf(msg, sizeof(msg), "unknown category");
		rv = RT_INVALID;
	} else if (a.user_id[0] != '\0' &&
	    !valid_id(a.user_id, strlen(a.user_id))) {
		snprintf(msg, sizeof(msg), "invalid user_id");
		rv = RT_INVALID;
	} else if (a.limit > LIST_MAX_LIMIT) {
		snprintf(msg, sizeof(msg), "limit must be 1 to %d",
		    LIST_MAX_LIMIT);
		rv = RT_INVALID;
	} else if (clen > CURSOR_MAX_LEN) {
		snprintf(msg, sizeof(msg), "invalid cursor");
		rv = RT_INVALID;
	} else if ((rv = list_reply(q, &a, msg, sizeof(msg))) == RT_OK)
		return 0;
	respond(q, NULL, rv, msg);
	return 0;
}

/* Name, orgWide and user_id as PUT, GET, REVEAL and DELETE carry them. */
static int
check_target(struct req *q, const char *name, size_t nlen, uint8_t org_wide,
    const char *user, size_t ulen, char *msg, size_t msglen)
{
	if (!valid_secret_name(name, nlen)) {
		snprintf(msg, msglen, "invalid secret name");
		return RT_INVALID;
	}
	memcpy(q->name, name, nlen + 1);
	if (ulen > 0 && !valid_id(user, ulen)) {
		snprintf(msg, msglen, "invalid user_id");
		return RT_INVALID;
	}
	if (ulen > 0 && org_wide) {
		snprintf(msg, msglen, "orgWide and user_id exclude each other");
		return RT_INVALID;
	}
	if (ulen > 0)
		memcpy(q->owner, user, ulen + 1);
	return RT_OK;
}

/* The common tail of GET, REVEAL and DELETE: name, orgWide, user_id. */
static int
get_target(struct req *q, struct target *t, char *msg, size_t msglen)
{
	const char *name, *user;
	size_t nlen, ulen;
	uint8_t org_wide;

	if (ipc_get_str(q->r, &name, &nlen) == -1 ||
	    ipc_get_u8(q->r, &org_wide) == -1 || org_wide > 1 ||
	    ipc_get_str(q->r, &user, &ulen) == -1)
		return -1;
	t->scope = org_wide ? SCOPE_ORG : SCOPE_USER;
	return check_target(q, name, nlen, org_wide, user, ulen, msg, msglen);
}

/* After authentication: whose secret the request names, and may it. */
static int
resolve_target(struct req *q, struct target *t, enum op op, char *msg,
    size_t msglen)
{
	t->org_id = q->p.org_id;
	if (t->scope == SCOPE_ORG)
		q->owner[0] = '\0';
	else if (q->owner[0] == '\0')
		snprintf(q->owner, sizeof(q->owner), "%s", q->p.user_id);
	t->owner = t->scope == SCOPE_ORG ? "" : q->owner;
	q->scope = t->scope;
	return decision_status(decide(&q->p, op, t,
	    q->b->cfg->org_reveal_members), msg, msglen);
}

/*
 * GET, REVEAL and DELETE: the whole message, then who asks and whether
 * they may.  -1 for a malformed message, else the status to answer.
 */
static int
target_request(struct req *q, struct target *t, enum op op, char *msg,
    size_t msglen)
{
	int rv, st;

	if (get_auth(q) == -1 || (rv = get_target(q, t, msg, msglen)) == -1 ||
	    ipc_end(q->r) == -1)
		return -1;
	if ((st = authenticate(q, msg, msglen)) != RT_OK)
		rv = st;
	if (rv == RT_OK)
		rv = resolve_target(q, t, op, msg, msglen);
	return rv;
}

int
h_read(struct req *q)
{
	struct target t;
	struct secret_meta meta;
	struct secret_value v = { NULL, 0 };
	struct ipc_msg m;
	char msg[MSG_LEN] = "";
	int reveal = q->type == IMSG_SECRET_REVEAL, rv;

	q->op = reveal ? "reveal" : "get";
	if ((rv = target_request(q, &t, reveal ? OP_REVEAL : OP_GET, msg,
	    sizeof(msg))) == -1)
		return -1;
	if (rv == RT_OK)
		rv = store_status(store_secret_get(q->b->store, t.org_id,
		    t.scope, t.owner, q->name, &meta, reveal ? &v : NULL),
		    msg, sizeof(msg));
	if (rv != RT_OK) {
		respond(q, NULL, rv, msg);
		return 0;
	}
	reply_init(&m, q->id, RT_OK, "");
	proto_put_meta(&m, &meta);
	if (reveal) {
		ipc_put_bytes(&m, v.data, v.len);
		store_value_free(&v);
	}
	respond(q, &m, RT_OK, "");
	return 0;
}

static void
fill_meta(struct store_op *op, const struct req *q, int scope)
{
	op->meta.scope = (uint8_t)scope;
	snprintf(op->meta.name, sizeof(op->meta.name), "%s", q->name);
	snprintf(op->meta.user_id, sizeof(op->meta.user_id), "%s",
	    scope == SCOPE_ORG ? "" : q->owner);
	snprintf(op->meta.org_id, sizeof(op->meta.org_id), "%s",
	    q->p.org_id);
	snprintf(op->meta.updated_by, sizeof(op->meta.updated_by), "%s",
	    q->p.user_id);
}

int
h_delete(struct req *q)
{
	struct store_op *op;
	struct target t;
	char msg[MSG_LEN] = "";
	int rv;

	q->op = "delete";
	if ((rv = target_request(q, &t, OP_DELETE, msg, sizeof(msg))) == -1)
		return -1;
	if (rv != RT_OK) {
		respond(q, NULL, rv, msg);
		return 0;
	}
	op = pend_op(pend_add(q));
	op->kind = STORE_DELETE_SECRET;
	fill_meta(op, q, t.scope);
	return 0;
}

struct put_args {
	const char	*name;
	size_t		 nlen;
	const void	*value;
	size_t		 vlen;
	const char	*category;
	uint8_t		 has_desc;
	const char	*desc;
	size_t		 dlen;
	uint8_t		 org_wide;
	const char	*user;
	size_t		 ulen;
};

static int
put_check(struct req *q, const struct put_args *a, char *msg, size_t len)
{
	int rv;

	if ((rv = check_target(q, a->name, a->nlen, a->org_wide, a->user,
	    a->ulen, msg, len)) != RT_OK)
		return rv;
	if (a->vlen < 1 || a->vlen > VALUE_MAX_LEN)
		snprintf(msg, len, "value must be 1 to %d bytes",
		    VALUE_MAX_LEN);
	else if (a->category[0] != '\0' && !valid_category(a->category))
		snprintf(msg, len, "unknown category");
	else if (a->has_desc && a->dlen > DESC_MAX_LEN)
		snprintf(msg, len, "description over %d bytes", DESC_MAX_LEN);
	else
		return RT_OK;
	return RT_INVALID;
}

int
h_put(struct req *q)
{
	struct put_args a;
	struct target t;
	struct pending *pd;
	struct store_op *op;
	char msg[MSG_LEN] = "";
	int rv;

	q->op = "put";
	if (get_auth(q) == -1 || ipc_get_str(q->r, &a.name, &a.nlen) == -1 ||
	    ipc_get_bytes(q->r, &a.value, &a.vlen) == -1 ||
	    ipc_get_str(q->r, &a.category, NULL) == -1 ||
	    ipc_get_u8(q->r, &a.has_desc) == -1 || a.has_desc > 1 ||
	    ipc_get_str(q->r, &a.desc, &a.dlen) == -1 ||
	    ipc_get_u8(q->r, &a.org_wide) == -1 || a.org_wide > 1 ||
	    ipc_get_str(q->r, &a.user, &a.ulen) == -1 || ipc_end(q->r) == -1)
		return -1;
	t.scope = a.org_wide ? SCOPE_ORG : SCOPE_USER;
	if ((rv = authenticate(q, msg, sizeof(msg))) == RT_OK &&
	    (rv = put_check(q, &a, msg, sizeof(msg))) == RT_OK)
		rv = resolve_target(q, &t, OP_PUT, msg, sizeof(msg));
	if (rv == RT_OK && (pd = pend_add(q)) != NULL &&
	    (pd->value = malloc(a.vlen)) == NULL) {
		pend_cancel();
		rv = RT_INTERNAL;
	}
	if (rv != RT_OK) {
		respond(q, NULL, rv, msg);
		return 0;
	}
	memcpy(pd->value, a.value, a.vlen);
	pd->value_len = a.vlen;
	op = pend_op(pd);
	op->kind = STORE_PUT_SECRET;
	fill_meta(op, q, t.scope);
	snprintf(op->meta.category, sizeof(op->meta.category), "%s",
	    a.category);
	op->has_description = a.has_desc;
	if (a.has_desc)
		memcpy(op->meta.description, a.desc, a.dlen + 1);
	op->value = pd->value;
	op->value_len = pd->value_len;
	/* An org's secrets count against the org, whoever writes them. */
	op->max_count = t.scope == SCOPE_ORG ? q->b->cfg->quota_org_secrets :
	    q->b->cfg->quota_user_secrets;
	op->max_bytes = t.scope == SCOPE_ORG ? q->b->cfg->quota_org_bytes :
	    q->b->cfg->quota_user_bytes;
	return 0;
}
