/*
 * One request's life in the broker, below every handler: who its auth
 * block names, the audit line written before any reply, the reply
 * itself, and the writes that wait for this turn's group commit.  The
 * handlers call down into this file; it never calls a handler.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "broker.h"
#include "log.h"

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
	struct msg_reply rep = { .status = (uint32_t)status };
	char *p;

	snprintf(rep.message, sizeof(rep.message), "%s", msg != NULL ? msg :
	    "");
	/* The front-end takes printable ASCII only; a tool's upstream may
	 * have written anything into its error. */
	for (p = rep.message; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	ipc_msg_init(m, IMSG_REPLY, id);
	msg_reply_put(m, &rep);
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
		.request_id = q->auth.request_id, .source = q->auth.source,
		.has_uid = q->has_uid, .uid = q->uid,
		.user = q->authed ? q->p.user_id : NULL,
		.token_id = q->authed ? q->p.token_id : NULL,
		.role = q->authed ? q->p.role : -1, .op = q->op,
		.scope = q->scope, .owner = q->owner, .name = q->name,
		.outcome = rt_status_code(status), .version = q->version,
		.from_version = q->from_version,
		.tool = q->tool, .client = q->client,
	};

	if (audit_log(&a) == -1) {
		metrics.audit_failures++;
		return -1;
	}
	metrics_decision(q, status);
	return 0;
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
void
release_held(struct broker *b)
{
	struct ipc_msg em;
	size_t i;
	int ok;

	if (nheld == 0)
		return;
	if (!(ok = audit_sync() == 0)) {
		metrics.audit_failures++;
		log_warnx("%s: audit log sync failed; %zu replies refused",
		    __func__, nheld);
	}
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
		q->has_uid = rv == RT_OK;
	} else if (q->auth.session != 0 &&
	    session_get(q->auth.session, NULL, &uid, msg, msglen) == -1)
		rv = RT_UNAUTH;
	else {
		if (q->auth.session != 0) {
			q->has_uid = 1;
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
	if (q->has_uid)
		q->uid = uid;
	q->authed = rv == RT_OK;
	return rv;
}

/*
 * After authenticate(): whether the caller's token scopes let it ask for
 * op at all (tool: OP_TOOL's tool).  A refusal says why, so the holder
 * of a tool-scoped token knows it is the token, not the policy table.
 */
int
scope_permits(struct req *q, enum op op, const char *tool, char *msg,
    size_t msglen)
{
	if (decide_scope(&q->p, op, tool) == DECIDE_ALLOW)
		return RT_OK;
	if (op == OP_TOOL)
		snprintf(msg, msglen, "this token is scoped to tools and "
		    "its scopes do not include tools:%s", tool);
	else
		snprintf(msg, msglen, "this token is scoped to tools: it may "
		    "list, show and run those tools only");
	return RT_FORBIDDEN;
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
	case ST_FULL:
		snprintf(msg, msglen, "the store is out of space");
		return RT_NOSPACE;
	case ST_NOVERSION:
		snprintf(msg, msglen, "that version of this secret is not "
		    "kept");
		return RT_NOTFOUND;
	case ST_CONFLICT:
		snprintf(msg, msglen, "that version is the current one");
		return RT_CONFLICT;
	case ST_BUSY:
		snprintf(msg, msglen, "the store is busy (every reader slot "
		    "is in use); try again");
		return RT_UNAVAILABLE;
	default:
		log_warnx("store: %s", store_strerror(st));
		snprintf(msg, msglen, "store error");
		return RT_INTERNAL;
	}
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

/* Whether the turn may take another message: its batches are bounded. */
int
request_room(void)
{
	return npend < BATCH_MAX && nheld < BATCH_MAX;
}

/* Take back the last pend_add() when its request fails after all. */
void
pend_cancel(void)
{
	npend--;
	sodium_memzero(&pend[npend], sizeof(pend[npend]));
	sodium_memzero(&ops[npend], sizeof(ops[npend]));
}

static int
commit_status(const struct store_op *op, int rv, int *created)
{
	*created = 0;
	if (rv == ST_FULL)
		return RT_NOSPACE;
	if (rv == ST_BUSY)
		return RT_UNAVAILABLE;
	if (rv != ST_OK)
		return RT_INTERNAL;
	/* A token made with a token revoked in the same batch. */
	if (op->result == ST_NOTFOUND && op->kind == STORE_PUT_TOKEN)
		return RT_UNAUTH;
	if (op->result == ST_NOTFOUND || op->result == ST_NOVERSION)
		return RT_NOTFOUND;
	if (op->result == ST_CONFLICT)
		return RT_CONFLICT;
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

/* A committed write's reply: what it wrote, as its request's reply. */
static void
commit_fields(struct ipc_msg *m, const struct pending *pd,
    const struct store_op *op, int created)
{
	struct msg_secret_written w;
	struct msg_secret_deleted d;
	struct msg_token_created t;

	switch (op->kind) {
	case STORE_PUT_SECRET:
	case STORE_ROLLBACK_SECRET:
		w.created = (uint8_t)created;
		w.meta = op->meta;
		msg_secret_written_put(m, &w);
		break;
	case STORE_DELETE_SECRET:
		memcpy(d.name, op->meta.name, sizeof(d.name));
		d.scope = op->meta.scope;
		msg_secret_deleted_put(m, &d);
		break;
	case STORE_PUT_TOKEN:
		t.token = pd->token;
		t.meta = op->token;
		msg_token_created_put(m, &t);
		break;
	case STORE_DELETE_TOKEN:
		msg_token_meta_put(m, &op->token);
		break;
	}
}

static void
commit_reply(struct pending *pd, const struct store_op *op, int status,
    int created)
{
	struct ipc_msg m;
	const char *msg = "";
	char buf[MSG_LEN];

	if (status == RT_UNAUTH)
		msg = "the token this request came with was revoked";
	else if (status == RT_NOTFOUND && op->result == ST_NOVERSION)
		msg = version_missing(pd->q.b, op->from_version, buf,
		    sizeof(buf));
	else if (status == RT_NOTFOUND)
		msg = op->kind == STORE_DELETE_TOKEN ? "no such token" :
		    "no such secret";
	else if (status == RT_CONFLICT)
		msg = "that version is already the current one; nothing "
		    "to roll back";
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
	else if (status == RT_NOSPACE)
		msg = "the store is out of space";
	else if (status == RT_UNAVAILABLE)
		msg = "audit log unavailable";
	reply_init(&m, pd->q.id, status, msg);
	if (status == RT_OK || status == RT_CREATED)
		commit_fields(&m, pd, op, created);
	chan_send(pd->q.b, &m);
}

/* The answer to a version that is not kept, naming the setting. */
const char *
version_missing(struct broker *b, uint32_t version, char *msg, size_t len)
{
	snprintf(msg, len, "version %u of this secret is not kept (it never "
	    "existed, or is older than the last %llu: versions_kept)",
	    version, (unsigned long long)b->cfg->versions_kept);
	return msg;
}

/*
 * One durable commit for every write of this turn; then their audit
 * lines, synced once; only then the replies.
 */
void
batch_commit(struct broker *b)
{
	int status[BATCH_MAX], created[BATCH_MAX], rv = ST_OK, audit_ok = 1;
	size_t i;

	if (npend == 0)
		return;
	/* No commit whose audit lines have no room to go. */
	if (audit_reserve(npend) == -1) {
		log_warnx("%s: audit log full; %zu writes refused", __func__,
		    npend);
		metrics.audit_failures++;
		audit_ok = 0;
	} else if ((rv = store_commit(b->store, ops, npend)) != ST_OK)
		log_warnx("%s: %zu writes: %s", __func__, npend,
		    store_strerror(rv));
	else
		metrics_commit(npend);
	for (i = 0; i < npend; i++) {
		status[i] = RT_UNAVAILABLE;
		created[i] = 0;
		if (!audit_ok)
			continue;
		status[i] = commit_status(&ops[i], rv, &created[i]);
		/* a rollback's line names the version copied and the new one */
		if ((ops[i].kind == STORE_PUT_SECRET ||
		    ops[i].kind == STORE_ROLLBACK_SECRET) &&
		    (status[i] == RT_OK || status[i] == RT_CREATED))
			pend[i].q.version = ops[i].meta.version;
		if (ops[i].kind == STORE_ROLLBACK_SECRET)
			pend[i].q.from_version = ops[i].from_version;
		if (audit_req(&pend[i].q, status[i]) == -1)
			audit_ok = 0;
	}
	if (audit_ok && audit_sync() == -1) {
		metrics.audit_failures++;
		audit_ok = 0;
	}
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
