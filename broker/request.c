/*
 * One request's life in the broker, below every handler: who its auth
 * block names, the audit line written before any reply, the reply
 * itself, and the writes that wait for this turn's group commit.  A run
 * whose store read missed (the answer comes in a later wave) leaves no
 * trace here: no audit line, no count, no reply.  The handlers call
 * down into this file; it never calls a handler.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "broker.h"
#include "log.h"

/*
 * The writes of one group commit.  While one batch's commit is in
 * flight, the next turns' writes fill the other, which starts when the
 * first is done: the longer a commit takes, the more the next carries.
 */
struct batch {
	struct broker	*b;
	struct store_op	 ops[BATCH_MAX];
	struct pending	 pend[BATCH_MAX];
	size_t		 n;
};
static struct batch batches[2];
static struct batch *filling = &batches[0];
static struct batch *flying;		/* NULL: no commit in flight */

/* A handler is running for a request (not answering a tool's result). */
static int in_run;
static size_t run_npend;		/* filling->n when the run began */

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

	/* The run is thrown away; it runs again with the read answered. */
	if (in_run && store_run_missed(q->b->store)) {
		if (m != NULL)
			ipc_msg_free(m);
		return;
	}
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
		snprintf(msg, msglen, "the store is busy or unreachable; try "
		    "again");
		return RT_UNAVAILABLE;
	default:
		log_warnx("store: %s", store_strerror(st));
		snprintf(msg, msglen, "store error");
		return RT_INTERNAL;
	}
}

/*
 * Around one run of a handler: run_end says whether a read missed, so
 * that the caller parks the request.  A miss after pend_add would
 * commit a write whose request runs again: a handler bug, made loud.
 */
void
run_start(void)
{
	in_run = 1;
	run_npend = filling->n;
}

int
run_end(struct broker *b)
{
	int missed = store_run_missed(b->store);

	in_run = 0;
	if (missed && filling->n != run_npend)
		fatalx("%s: a write was queued by a run whose read missed",
		    __func__);
	return missed;
}

struct pending *
pend_add(struct req *q)
{
	struct pending *pd;

	if (in_run && store_run_missed(q->b->store))
		fatalx("%s: a write after a read that missed", __func__);
	if (filling->n == BATCH_MAX)
		fatalx("%s: more writes than request_room allows", __func__);
	pd = &filling->pend[filling->n];
	memset(pd, 0, sizeof(*pd));
	memset(&filling->ops[filling->n], 0, sizeof(filling->ops[0]));
	pd->q = *q;
	pd->q.r = NULL;
	pd->q.auth.token = NULL;
	filling->b = q->b;
	filling->n++;
	return pd;
}

struct store_op *
pend_op(struct pending *pd)
{
	return &filling->ops[pd - filling->pend];
}

/*
 * Whether the turn may take another message: its batch, the parked
 * requests and the held replies are bounded.
 */
int
request_room(void)
{
	return filling->n + park_count() < BATCH_MAX && nheld < BATCH_MAX;
}

/* Take back the last pend_add() when its request fails after all. */
void
pend_cancel(void)
{
	filling->n--;
	sodium_memzero(&filling->pend[filling->n],
	    sizeof(filling->pend[0]));
	sodium_memzero(&filling->ops[filling->n], sizeof(filling->ops[0]));
}

/* The front-end went away: the writes still commit, unanswered. */
void
pend_orphan(void)
{
	size_t i, j;

	for (i = 0; i < 2; i++)
		for (j = 0; j < batches[i].n; j++)
			batches[i].pend[j].orphan = 1;
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
	if (pd->orphan)
		return;
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
 * The second half of a group commit, once the store says how it ended
 * (rv; -1: not started, the audit log has no room for its lines): each
 * write's status and audit line, one sync, only then the replies.
 */
static void
batch_done(void *arg, int rv)
{
	struct batch *bt = arg;
	int status[BATCH_MAX], created[BATCH_MAX], audit_ok = rv != -1;
	size_t i;

	if (rv != -1 && rv != ST_OK)
		log_warnx("%s: %zu writes: %s", __func__, bt->n,
		    store_strerror(rv));
	else if (rv == ST_OK)
		metrics_commit(bt->n);
	for (i = 0; i < bt->n; i++) {
		status[i] = RT_UNAVAILABLE;
		created[i] = 0;
		if (!audit_ok)
			continue;
		status[i] = commit_status(&bt->ops[i], rv, &created[i]);
		/* a rollback's line names the version copied and the new one */
		if ((bt->ops[i].kind == STORE_PUT_SECRET ||
		    bt->ops[i].kind == STORE_ROLLBACK_SECRET) &&
		    (status[i] == RT_OK || status[i] == RT_CREATED))
			bt->pend[i].q.version = bt->ops[i].meta.version;
		if (bt->ops[i].kind == STORE_ROLLBACK_SECRET)
			bt->pend[i].q.from_version = bt->ops[i].from_version;
		if (audit_req(&bt->pend[i].q, status[i]) == -1)
			audit_ok = 0;
	}
	if (audit_ok && audit_sync() == -1) {
		metrics.audit_failures++;
		audit_ok = 0;
	}
	for (i = 0; i < bt->n; i++) {
		commit_reply(&bt->pend[i], &bt->ops[i], audit_ok ? status[i] :
		    RT_UNAVAILABLE, created[i]);
		if (bt->pend[i].value != NULL) {
			sodium_memzero(bt->pend[i].value,
			    bt->pend[i].value_len);
			free(bt->pend[i].value);
		}
		sodium_memzero(&bt->pend[i], sizeof(bt->pend[i]));
		sodium_memzero(&bt->ops[i], sizeof(bt->ops[i]));
	}
	bt->n = 0;
	if (flying == bt)
		flying = NULL;
}

/*
 * Start one durable commit for every write gathered since the last
 * one; batch_done answers them.  One commit at a time: while one is in
 * flight, the writes wait in the other batch for a later turn.
 */
void
batch_commit(struct broker *b)
{
	struct batch *bt = filling;
	int rv;

	if (flying != NULL || bt->n == 0)
		return;
	filling = bt == &batches[0] ? &batches[1] : &batches[0];
	flying = bt;
	/* No commit whose audit lines have no room to go. */
	if (audit_reserve(bt->n) == -1) {
		log_warnx("%s: audit log full; %zu writes refused", __func__,
		    bt->n);
		metrics.audit_failures++;
		batch_done(bt, -1);
		return;
	}
	rv = store_commit_start(b->store, bt->ops, bt->n, batch_done, bt);
	/* Refused before it started: done was not called. */
	if (rv != ST_OK && flying == bt)
		batch_done(bt, rv);
}

/* Whether a commit waits for the store: the loop runs until it ends. */
int
batch_in_flight(void)
{
	return flying != NULL;
}
