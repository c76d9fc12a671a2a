/*
 * The broker's side of the channel: a dispatch table with the state each
 * message is permitted in, exact re-validation of every field, decide(),
 * the store, and group commit of writes.  Anything malformed is fatal to
 * the front-end, never to the broker; a refused request is a reply.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "log.h"

#define PERMIT_NEW	0x1
#define PERMIT_READY	0x2

static struct store_op ops[BATCH_MAX];
static struct pending pend[BATCH_MAX];
static size_t npend;

/*
 * audit_sync = all: replies wait here until the audit lines written this
 * turn are synced, so no one sees a value whose record could be lost.
 */
struct held {
	struct ipc_msg	 m;
	uint32_t	 id;
};
static struct held held[BATCH_MAX];
static size_t nheld;

void
reply_init(struct ipc_msg *m, uint32_t id, int status, const char *msg)
{
	ipc_msg_init(m, IMSG_REPLY, id);
	ipc_put_u32(m, (uint32_t)status);
	ipc_put_str(m, msg);
}

void
chan_send(struct broker *b, struct ipc_msg *m)
{
	struct ipc_msg em;
	struct ipc_hdr h;

	if (!b->chan_open) {
		ipc_msg_free(m);
		return;
	}
	/* The id is read first: a failed send may free the buffer. */
	if (m->buf == NULL || m->len < sizeof(h)) {
		ipc_msg_free(m);
		log_warnx("%s: a reply could not be built (out of memory)",
		    __func__);
		return;
	}
	memcpy(&h, m->buf, sizeof(h));
	if (ipc_chan_send(&b->chan, m) == 0)
		return;
	/* Too large or out of memory: the request still gets an answer. */
	ipc_msg_free(m);
	log_warnx("%s: reply to request %u failed", __func__, h.id);
	reply_init(&em, h.id, RT_INTERNAL, "reply could not be built");
	if (ipc_chan_send(&b->chan, &em) == -1)
		ipc_msg_free(&em);
}

static int
audit_req(struct req *q, int status)
{
	struct audit_rec a = {
		.id = q->id, .source = q->auth.source,
		.user = q->authed ? q->p.user_id : NULL,
		.role = q->authed ? q->p.role : -1, .op = q->op,
		.scope = q->scope, .owner = q->owner, .name = q->name,
		.outcome = rt_status_code(status),
	};

	return audit_log(&a);
}

/*
 * Audit, then answer.  m holds a built success reply or is NULL; a
 * request whose audit line cannot be written fails closed.
 */
void
respond(struct req *q, struct ipc_msg *m, int status, const char *msg)
{
	struct ipc_msg em;

	if (audit_req(q, status) == -1) {
		if (m != NULL)
			ipc_msg_free(m);
		m = NULL;
		status = RT_UNAVAILABLE;
		msg = "audit log unavailable";
	}
	if (m == NULL) {
		reply_init(&em, q->id, status, msg);
		m = &em;
	}
	if (q->b->cfg->audit_sync_all && status != RT_UNAVAILABLE &&
	    nheld < BATCH_MAX) {
		held[nheld].m = *m;
		held[nheld++].id = q->id;
		return;
	}
	chan_send(q->b, m);
}

/* One sync for every audit line of the turn, then the held replies. */
static void
release_held(struct broker *b)
{
	struct ipc_msg em;
	size_t i;
	int ok;

	if (nheld == 0)
		return;
	if (!(ok = audit_sync() == 0))
		log_warnx("%s: audit log sync failed; %zu replies refused",
		    __func__, nheld);
	for (i = 0; i < nheld; i++) {
		if (ok) {
			chan_send(b, &held[i].m);
			continue;
		}
		ipc_msg_free(&held[i].m);
		reply_init(&em, held[i].id, RT_UNAVAILABLE,
		    "audit log unavailable");
		chan_send(b, &em);
	}
	nheld = 0;
}

static int
valid_source(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > SOURCE_MAX_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}

/* The auth block; -1 only when it is malformed. */
int
get_auth(struct req *q)
{
	const char *src;
	size_t n;

	q->auth.token = NULL;
	q->auth.session = 0;
	if (ipc_get_u8(q->r, &q->auth.kind) == -1)
		return -1;
	if (q->auth.kind == AUTH_SESSION) {
		if (ipc_get_u64(q->r, &q->auth.session) == -1)
			return -1;
	} else if (q->auth.kind == AUTH_TOKEN) {
		if (ipc_get_str(q->r, &q->auth.token, NULL) == -1 ||
		    ipc_get_u64(q->r, &q->auth.session) == -1)
			return -1;
	} else
		return -1;
	if (ipc_get_str(q->r, &src, &n) == -1 || !valid_source(src, n))
		return -1;
	memcpy(q->auth.source, src, n + 1);
	return 0;
}

/*
 * A session is the kernel's word; a token is checked against the store.
 * Failed token checks are counted per caller: a unix client by its
 * session's uid (which we read ourselves), a TLS client by its address.
 */
int
authenticate(struct req *q, char *msg, size_t msglen)
{
	char key[SOURCE_MAX_LEN + 8];
	uid_t uid;
	int rv;

	if (q->auth.kind == AUTH_SESSION) {
		rv = session_get(q->auth.session, &q->p, &uid, msg, msglen) ==
		    0 ? RT_OK : RT_UNAUTH;
	} else if (q->auth.session != 0 &&
	    session_get(q->auth.session, NULL, &uid, msg, msglen) == -1)
		rv = RT_UNAUTH;
	else {
		if (q->auth.session != 0) {
			snprintf(key, sizeof(key), "u:%u", (unsigned)uid);
			snprintf(q->auth.source, sizeof(q->auth.source),
			    "uid:%u", (unsigned)uid);
		} else
			snprintf(key, sizeof(key), "a:%s", q->auth.source);
		rv = token_auth(q->b, q->auth.token, key, &q->p, msg, msglen);
	}
	if (rv == RT_OK && q->auth.kind == AUTH_SESSION)
		snprintf(q->auth.source, sizeof(q->auth.source), "uid:%u",
		    (unsigned)uid);
	q->authed = rv == RT_OK;
	return rv;
}

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

int
store_status(int st, char *msg, size_t msglen)
{
	switch (st) {
	case ST_OK:
		return RT_OK;
	case ST_NOTFOUND:
		snprintf(msg, msglen, "no such secret");
		return RT_NOTFOUND;
	case ST_INVALID:
		snprintf(msg, msglen, "the store refused a field");
		return RT_INVALID;
	default:
		log_warnx("store: %s", store_strerror(st));
		snprintf(msg, msglen, "store error");
		return RT_INTERNAL;
	}
}

static int
h_ping(struct req *q)
{
	struct ipc_msg m;

	if (ipc_end(q->r) == -1)
		return -1;
	reply_init(&m, q->id, RT_OK, "");
	chan_send(q->b, &m);
	return 0;
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

static int
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

static int
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

struct pending *
pend_add(struct req *q)
{
	struct pending *pd = &pend[npend];

	memset(pd, 0, sizeof(*pd));
	memset(&ops[npend], 0, sizeof(ops[npend]));
	pd->q = *q;
	pd->q.r = NULL;
	pd->q.auth.token = NULL;
	npend++;
	return pd;
}

struct store_op *
pend_op(struct pending *pd)
{
	return &ops[pd - pend];
}

/* Take back the last pend_add() when its request fails after all. */
void
pend_cancel(void)
{
	npend--;
	sodium_memzero(&pend[npend], sizeof(pend[npend]));
	sodium_memzero(&ops[npend], sizeof(ops[npend]));
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

static int
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

static int
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

static const struct {
	uint32_t	 type;
	int		 permit;
	int		 (*fn)(struct req *);
} handlers[] = {
	{ IMSG_HELLO,		PERMIT_NEW,	h_hello },
	{ IMSG_CONN_UNIX,	PERMIT_READY,	h_conn_unix },
	{ IMSG_CONN_CLOSE,	PERMIT_READY,	h_conn_close },
	{ IMSG_SECRET_LIST,	PERMIT_READY,	h_list },
	{ IMSG_SECRET_PUT,	PERMIT_READY,	h_put },
	{ IMSG_SECRET_GET,	PERMIT_READY,	h_read },
	{ IMSG_SECRET_REVEAL,	PERMIT_READY,	h_read },
	{ IMSG_SECRET_DELETE,	PERMIT_READY,	h_delete },
	{ IMSG_TOKEN_CREATE,	PERMIT_READY,	h_token_create },
	{ IMSG_TOKEN_LIST,	PERMIT_READY,	h_token_list },
	{ IMSG_TOKEN_REVOKE,	PERMIT_READY,	h_token_revoke },
	{ IMSG_PING,		PERMIT_READY,	h_ping },
};

static int
fd_allowed(uint32_t type)
{
	return type == IMSG_CONN_UNIX;
}

static int
dispatch(struct broker *b, struct ipc_reader *r)
{
	struct req q;
	size_t i;
	int permit = b->fe_state == FE_NEW ? PERMIT_NEW : PERMIT_READY;

	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].type == r->hdr.type)
			break;
	if (i == sizeof(handlers) / sizeof(handlers[0])) {
		log_warnx("%s: unknown message type %u", __func__,
		    r->hdr.type);
		return -1;
	}
	if ((handlers[i].permit & permit) == 0) {
		log_warnx("%s: message type %u not permitted now", __func__,
		    r->hdr.type);
		return -1;
	}
	memset(&q, 0, sizeof(q));
	q.b = b;
	q.r = r;
	q.id = r->hdr.id;
	q.type = r->hdr.type;
	q.scope = -1;
	if (handlers[i].fn(&q) == -1) {
		log_warnx("%s: malformed message type %u", __func__,
		    r->hdr.type);
		return -1;
	}
	return 0;
}

static int
commit_status(const struct store_op *op, int rv, int *created)
{
	*created = 0;
	if (rv != ST_OK)
		return RT_INTERNAL;
	/* A token made with a token revoked in the same batch. */
	if (op->result == ST_NOTFOUND && op->kind == STORE_PUT_TOKEN)
		return RT_UNAUTH;
	if (op->result == ST_NOTFOUND)
		return RT_NOTFOUND;
	if (op->result == ST_INVALID)
		return RT_INVALID;
	if (op->result == ST_QUOTA)
		return RT_QUOTA;
	if (op->result != ST_OK)
		return RT_INTERNAL;
	*created = op->kind == STORE_PUT_TOKEN ||
	    (op->kind == STORE_PUT_SECRET && op->created);
	return *created ? RT_CREATED : RT_OK;
}

static void
commit_reply(struct pending *pd, const struct store_op *op, int status,
    int created)
{
	struct ipc_msg m;
	const char *msg = "";

	if (status == RT_UNAUTH)
		msg = "the token this request came with was revoked";
	else if (status == RT_NOTFOUND)
		msg = op->kind == STORE_DELETE_TOKEN ? "no such token" :
		    "no such secret";
	else if (status == RT_QUOTA)
		msg = op->kind == STORE_PUT_TOKEN ? "too many live tokens "
		    "for this user (max_tokens_per_user)" :
		    op->meta.scope == SCOPE_ORG ? "the org's secrets quota "
		    "is reached (quota_org_secrets, quota_org_bytes)" :
		    "this user's secrets quota is reached "
		    "(quota_user_secrets, quota_user_bytes)";
	else if (status == RT_INVALID)
		msg = "the store refused a field";
	else if (status == RT_INTERNAL)
		msg = "store commit failed";
	else if (status == RT_UNAVAILABLE)
		msg = "audit log unavailable";
	reply_init(&m, pd->q.id, status, msg);
	if (status != RT_OK && status != RT_CREATED)
		;
	else if (op->kind == STORE_PUT_SECRET) {
		ipc_put_u8(&m, (uint8_t)created);
		proto_put_meta(&m, &op->meta);
	} else if (op->kind == STORE_DELETE_SECRET) {
		ipc_put_str(&m, op->meta.name);
		ipc_put_u8(&m, op->meta.scope);
	} else if (op->kind == STORE_PUT_TOKEN) {
		ipc_put_str(&m, pd->token);
		proto_put_token_meta(&m, &op->token);
	} else
		proto_put_token_meta(&m, &op->token);
	chan_send(pd->q.b, &m);
}

/*
 * One durable commit for every write of this turn; then their audit
 * lines, synced once; only then the replies.
 */
static void
batch_commit(struct broker *b)
{
	int status[BATCH_MAX], created[BATCH_MAX], rv, audit_ok = 1;
	size_t i;

	if (npend == 0)
		return;
	if ((rv = store_commit(b->store, ops, npend)) != ST_OK)
		log_warnx("%s: %zu writes: %s", __func__, npend,
		    store_strerror(rv));
	for (i = 0; i < npend; i++) {
		status[i] = commit_status(&ops[i], rv, &created[i]);
		if (audit_req(&pend[i].q, status[i]) == -1)
			audit_ok = 0;
	}
	if (audit_ok && audit_sync() == -1)
		audit_ok = 0;
	for (i = 0; i < npend; i++) {
		commit_reply(&pend[i], &ops[i], audit_ok ? status[i] :
		    RT_UNAVAILABLE, created[i]);
		if (pend[i].value != NULL) {
			sodium_memzero(pend[i].value, pend[i].value_len);
			free(pend[i].value);
		}
		sodium_memzero(&pend[i], sizeof(pend[i]));
		sodium_memzero(&ops[i], sizeof(ops[i]));
	}
	npend = 0;
}

/*
 * Drain what the front-end sent: reads are answered as they come, writes
 * wait for one group commit at the end of the turn.
 */
void
broker_read(struct broker *b)
{
	struct ipc_reader *r;
	int rv;

	while (b->chan_open && npend < BATCH_MAX && nheld < BATCH_MAX) {
		rv = ipc_chan_recv(&b->chan, fd_allowed, &r);
		if (rv == IPC_AGAIN)
			break;
		if (rv == IPC_EOF) {
			fe_kill(b, b->stopping ? "stopped" :
			    "closed the channel");
			break;
		}
		if (rv == IPC_ERROR) {
			fe_kill(b, errno == EPROTO ? "malformed message" :
			    "channel error");
			break;
		}
		if (dispatch(b, r) == -1) {
			fe_kill(b, "protocol violation");
			break;
		}
	}
	release_held(b);
	broker_flush(b);
	batch_commit(b);
	broker_flush(b);
}

void
broker_flush(struct broker *b)
{
	if (b->chan_open && ipc_chan_flush(&b->chan) == -1)
		fe_kill(b, "channel write failed");
}
