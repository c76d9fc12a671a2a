/*
 * The secret handlers: list, put, get, reveal (of a kept version too),
 * delete, versions and rollback.  Each decodes
 * its whole message (which re-checks every field the front-end sent),
 * authenticates and asks decide(); a malformed message is -1 (fatal to
 * the front-end), a refusal is a reply.  Values never reach a log.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Turn the request into a scan; the policy decides on its shape. */
static int
list_scan(struct req *q, const struct msg_secret_list *a,
    struct store_scan *s, char *msg, size_t msglen)
{
	struct target t = { SCOPE_USER, q->p.org_id, q->p.user_id };
	int su = a->flags & LIST_SCOPE_USER, so = a->flags & LIST_SCOPE_ORG;

	memset(s, 0, sizeof(*s));
	s->org = q->p.org_id;
	s->scope = su && !so ? SCOPE_USER : so && !su ? SCOPE_ORG : -1;
	s->owner = q->p.user_id;
	s->category = a->category[0] ? a->category : NULL;
	s->cursor = a->cursor[0] ? a->cursor : NULL;
	s->prefix = a->prefix[0] ? a->prefix : NULL;
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
	if (scope_permits(q, OP_LIST, NULL, msg, msglen) != RT_OK)
		return RT_FORBIDDEN;
	if (decide(&q->p, OP_LIST, &t, q->b->cfg->org_reveal_members) !=
	    DECIDE_ALLOW) {
		snprintf(msg, msglen, "listing other users' secrets "
		    "requires an admin");
		return RT_FORBIDDEN;
	}
	return RT_OK;
}

static int
list_reply(struct req *q, const struct msg_secret_list *a, char *msg,
    size_t len)
{
	struct msg_secret_page pg;
	struct secret_meta *metas;
	struct store_scan s;
	struct ipc_msg m;
	uint32_t limit = a->limit ? a->limit : LIST_DEFAULT_LIMIT;
	size_t n = 0, fit, i, wire = 0;
	int rv;

	if ((rv = list_scan(q, a, &s, msg, len)) != RT_OK)
		return rv;
	/* Not zeroed: the scan fills every slot it returns. */
	if ((metas = reallocarray(NULL, limit, sizeof(*metas))) == NULL)
		return RT_INTERNAL;
	memset(&pg, 0, sizeof(pg));
	rv = store_secret_scan(q->b->store, &s, metas, limit, &n, pg.next,
	    sizeof(pg.next));
	/* A full page that will not fit: stop early, with a cursor there. */
	if (rv == ST_OK && (fit = msg_secret_page_fit(metas, n, &wire)) < n)
		rv = store_secret_scan(q->b->store, &s, metas, fit, &n,
		    pg.next, sizeof(pg.next));
	if (rv != ST_OK) {
		free(metas);
		return store_status(rv, msg, len);
	}
	for (i = 0; i < n; i++) {
		struct target t = { metas[i].scope, metas[i].org_id,
		    metas[i].user_id };

		/* The scan's shape was decided; each record is checked too. */
		if (decide(&q->p, OP_LIST, &t, q->b->cfg->org_reveal_members)
		    != DECIDE_ALLOW)
			fatalx("%s: scan returned a record the policy refuses",
			    __func__);
	}
	pg.n = (uint32_t)n;
	pg.metas = metas;
	reply_init(&m, q->id, RT_OK, "");
	ipc_msg_reserve(&m, wire);
	msg_secret_page_put(&m, &pg);
	free(metas);
	respond(q, &m, RT_OK, "");
	return RT_OK;
}

int
h_list(struct req *q)
{
	struct msg_secret_list a;
	char msg[MSG_LEN] = "";
	int rv;

	q->op = "list";
	if (msg_secret_list_get(q->r, &a) == -1)
		return -1;
	q->auth = a.auth;
	if ((rv = authenticate(q, msg, sizeof(msg))) == RT_OK &&
	    (rv = list_reply(q, &a, msg, sizeof(msg))) == RT_OK)
		return 0;
	respond(q, NULL, rv, msg);
	return 0;
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
	if (scope_permits(q, op, NULL, msg, msglen) != RT_OK)
		return RT_FORBIDDEN;
	return decision_status(decide(&q->p, op, t,
	    q->b->cfg->org_reveal_members), msg, msglen);
}

/*
 * Who asks, then whose secret the request names (by name, orgWide and
 * user_id, as PUT, GET, REVEAL and DELETE carry them) and whether they
 * may: the status to answer.
 */
static int
target_decide(struct req *q, const char *name, uint8_t org_wide,
    const char *user, enum op op, struct target *t, char *msg,
    size_t msglen)
{
	int rv = RT_OK, st;

	snprintf(q->name, sizeof(q->name), "%s", name);
	t->scope = org_wide ? SCOPE_ORG : SCOPE_USER;
	if (org_wide && user[0] != '\0') {
		snprintf(msg, msglen, "orgWide and user_id exclude each other");
		rv = RT_INVALID;
	} else
		snprintf(q->owner, sizeof(q->owner), "%s", user);
	if ((st = authenticate(q, msg, msglen)) != RT_OK)
		rv = st;
	if (rv == RT_OK)
		rv = resolve_target(q, t, op, msg, msglen);
	return rv;
}

/*
 * GET, REVEAL, DELETE, VERSIONS and ROLLBACK: -1 for a malformed message,
 * else the status.  *version is the message's; only REVEAL and ROLLBACK
 * may carry one, and ROLLBACK must.
 */
static int
target_request(struct req *q, struct target *t, enum op op,
    uint32_t *version, char *msg, size_t msglen)
{
	struct msg_secret_ref a;

	if (msg_secret_ref_get(q->r, &a) == -1)
		return -1;
	if (q->type == IMSG_SECRET_ROLLBACK ? a.version == 0 :
	    a.version != 0 && q->type != IMSG_SECRET_REVEAL)
		return -1;
	*version = a.version;
	q->auth = a.auth;
	return target_decide(q, a.name, a.org_wide, a.user_id, op, t, msg,
	    msglen);
}

static int
read_value(struct req *q, const struct target *t, uint32_t version,
    struct secret_meta *meta, struct secret_value *v, char *msg,
    size_t msglen)
{
	int ret;

	if (version == 0)
		return store_status(store_secret_get(q->b->store, t->org_id,
		    t->scope, t->owner, q->name, meta, v), msg, msglen);
	ret = store_secret_version_get(q->b->store, t->org_id, t->scope,
	    t->owner, q->name, version, (uint32_t)q->b->cfg->versions_kept,
	    meta, v);
	if (ret == ST_NOVERSION) {
		version_missing(q->b, version, msg, msglen);
		return RT_NOTFOUND;
	}
	return store_status(ret, msg, msglen);
}

int
h_read(struct req *q)
{
	struct target t;
	struct secret_meta meta;
	struct secret_value v = { NULL, 0 };
	struct msg_secret_value sv;
	struct ipc_msg m;
	char msg[MSG_LEN] = "";
	uint32_t version;
	int reveal = q->type == IMSG_SECRET_REVEAL, rv;

	q->op = reveal ? "reveal" : "get";
	if ((rv = target_request(q, &t, reveal ? OP_REVEAL : OP_GET, &version,
	    msg, sizeof(msg))) == -1)
		return -1;
	q->version = version;
	if (rv == RT_OK && reveal)
		rv = read_value(q, &t, version, &meta, &v, msg, sizeof(msg));
	else if (rv == RT_OK)
		rv = store_status(store_secret_get(q->b->store, t.org_id,
		    t.scope, t.owner, q->name, &meta, NULL), msg, sizeof(msg));
	if (rv != RT_OK) {
		respond(q, NULL, rv, msg);
		return 0;
	}
	q->version = meta.version;
	reply_init(&m, q->id, RT_OK, "");
	if (reveal) {
		sv.meta = meta;
		sv.value = v.data;
		sv.value_len = v.len;
		msg_secret_value_put(&m, &sv);
		store_value_free(&v);
	} else
		msg_secret_meta_put(&m, &meta);
	respond(q, &m, RT_OK, "");
	return 0;
}

/*
 * What a write that makes a new version must respect: the versions
 * kept, and the quota of the owner.  An org's secrets count against the
 * org, whoever writes them.
 */
static void
fill_limits(struct store_op *op, const struct secretd_config *cfg, int scope)
{
	op->keep = (uint32_t)cfg->versions_kept;
	op->max_count = scope == SCOPE_ORG ? cfg->quota_org_secrets :
	    cfg->quota_user_secrets;
	op->max_bytes = scope == SCOPE_ORG ? cfg->quota_org_bytes :
	    cfg->quota_user_bytes;
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

/* Policy: whoever may read the secret's metadata may list its versions. */
int
h_versions(struct req *q)
{
	struct msg_secret_versions *l;
	struct target t;
	struct ipc_msg m;
	char msg[MSG_LEN] = "";
	uint32_t version;
	size_t n = 0;
	int rv;

	q->op = "versions";
	if ((rv = target_request(q, &t, OP_GET, &version, msg,
	    sizeof(msg))) == -1)
		return -1;
	if (rv == RT_OK && (l = calloc(1, sizeof(*l))) == NULL)
		rv = RT_INTERNAL;
	if (rv == RT_OK) {
		rv = store_status(store_secret_versions(q->b->store, t.org_id,
		    t.scope, t.owner, q->name, &l->meta, l->v,
		    (size_t)q->b->cfg->versions_kept, &n), msg, sizeof(msg));
		if (rv == RT_OK) {
			l->n = (uint32_t)n;
			reply_init(&m, q->id, RT_OK, "");
			msg_secret_versions_put(&m, l);
		}
		free(l);
	}
	respond(q, rv == RT_OK ? &m : NULL, rv, msg);
	return 0;
}

/* Policy: as rotate; the value is copied inside the store's commit. */
int
h_rollback(struct req *q)
{
	struct store_op *op;
	struct target t;
	char msg[MSG_LEN] = "";
	uint32_t version;
	int rv;

	q->op = "rollback";
	if ((rv = target_request(q, &t, OP_PUT, &version, msg,
	    sizeof(msg))) == -1)
		return -1;
	if (rv != RT_OK) {
		q->from_version = version;
		respond(q, NULL, rv, msg);
		return 0;
	}
	op = pend_op(pend_add(q));
	op->kind = STORE_ROLLBACK_SECRET;
	fill_meta(op, q, t.scope);
	op->from_version = version;
	fill_limits(op, q->b->cfg, t.scope);
	return 0;
}

int
h_delete(struct req *q)
{
	struct store_op *op;
	struct target t;
	char msg[MSG_LEN] = "";
	uint32_t version;
	int rv;

	q->op = "delete";
	if ((rv = target_request(q, &t, OP_DELETE, &version, msg,
	    sizeof(msg))) == -1)
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

int
h_put(struct req *q)
{
	struct msg_secret_write a;
	struct target t;
	struct pending *pd;
	struct store_op *op;
	char msg[MSG_LEN] = "";
	int rv;

	q->op = "put";
	if (msg_secret_write_get(q->r, &a) == -1)
		return -1;
	q->auth = a.auth;
	rv = target_decide(q, a.name, a.org_wide, a.user_id, OP_PUT, &t, msg,
	    sizeof(msg));
	if (rv == RT_OK && (pd = pend_add(q)) != NULL &&
	    (pd->value = malloc(a.value_len)) == NULL) {
		pend_cancel();
		rv = RT_INTERNAL;
	}
	if (rv != RT_OK) {
		respond(q, NULL, rv, msg);
		return 0;
	}
	memcpy(pd->value, a.value, a.value_len);
	pd->value_len = a.value_len;
	op = pend_op(pd);
	op->kind = STORE_PUT_SECRET;
	fill_meta(op, q, t.scope);
	memcpy(op->meta.category, a.category, sizeof(op->meta.category));
	op->has_description = a.has_description;
	op->has_expires = a.has_expires;
	op->meta.expires_at = a.expires_at;
	memcpy(op->meta.description, a.description,
	    sizeof(op->meta.description));
	op->value = pd->value;
	op->value_len = pd->value_len;
	fill_limits(op, q->b->cfg, t.scope);
	return 0;
}
