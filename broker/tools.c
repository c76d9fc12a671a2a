/*
 * Tools: listing them, and executing one with credentials the caller may
 * use but never sees.  Each slot resolves to a secret name (the caller's
 * override or the tool's default), then to the caller's own user secret
 * of that name, else the org's (policy row "use"); the values go to the
 * runner alone.  An execution is answered when the runner's result comes
 * back, checked once more for a raw value, or when its deadline passes.
 * One audit line per execution names every slot's secret and version,
 * never a value or a parameter.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "broker.h"
#include "log.h"

#define TOOL_LIST_DEFAULT	50
#define TOOL_LIST_MAX		100
#define EXEC_GRACE_MS		2000	/* the runner's own timeout first */
#define VALUE_MIN_LEN		4	/* shorter cannot be redacted */

/* An execution the runner holds. */
struct exec {
	int			 used;
	uint32_t		 id;		/* the runner's execution id */
	struct req		 q;		/* the caller's request */
	struct timespec		 deadline;
	uint32_t		 timeout_ms;
	struct tool_exec_reply	 reply;		/* result filled later */
	uint8_t			*values[TOOL_SLOTS_MAX];
	size_t			 lens[TOOL_SLOTS_MAX];
	struct audit_tool	 audit;
};

static struct exec *execs;
static size_t nexecs;

static int
table_init(struct broker *b)
{
	if (execs != NULL)
		return 0;
	nexecs = (size_t)b->cfg->tool_max_concurrent;
	if ((execs = calloc(nexecs, sizeof(*execs))) == NULL) {
		nexecs = 0;
		return -1;
	}
	return 0;
}

static void
exec_free(struct exec *e)
{
	uint32_t i;

	for (i = 0; i < TOOL_SLOTS_MAX; i++)
		if (e->values[i] != NULL)
			sodium_free(e->values[i]);
	sodium_memzero(e, sizeof(*e));
}

/* The tool, action and credentials resolved so far, then the outcome. */
static void
audit_fields(struct exec *e, const struct run_result *res)
{
	const struct tool_exec_reply *x = &e->reply;

	memset(&e->audit, 0, sizeof(e->audit));
	e->audit.tool = x->tool;
	e->audit.action = x->action;
	e->audit.creds = x->creds;
	e->audit.ncreds = x->ncreds;
	if (res != NULL) {
		e->audit.has_result = 1;
		e->audit.ms = res->duration_ms;
		e->audit.status = res->status;
		e->audit.redactions = res->redactions;
	}
	e->q.tool = &e->audit;
}

static struct exec *
exec_find(uint32_t id)
{
	size_t i;

	for (i = 0; i < nexecs; i++)
		if (execs[i].used && execs[i].id == id)
			return &execs[i];
	return NULL;
}

/* How an execution that was started ended, for its counter. */
static enum metrics_tool_outcome
exec_outcome(int status, const struct run_result *res)
{
	if (status == RT_OK)
		return res != NULL && res->ok ? MTOOL_OK : MTOOL_FAILED;
	return status == RT_TIMEOUT ? MTOOL_TIMEOUT : MTOOL_ERROR;
}

static void
exec_answer(struct broker *b, struct exec *e, struct ipc_msg *m, int status,
    const char *msg, const struct run_result *res)
{
	metrics_tool(e->reply.tool, exec_outcome(status, res));
	audit_fields(e, res);
	e->q.b = b;
	respond(&e->q, m, status, msg);
	b->run.inflight--;
	exec_free(e);
}

#define MARKER		"[REDACTED:"

/* Whether [off, off + n) lies inside a "[REDACTED:slot]" marker. */
static int
in_marker(const uint8_t *buf, size_t len, size_t off, size_t n)
{
	size_t ml = sizeof(MARKER) - 1, start, end;

	start = off > ml + TOOL_FIELD_MAX ? off - ml - TOOL_FIELD_MAX : 0;
	for (; start <= off; start++) {
		if (start + ml > len || memcmp(buf + start, MARKER, ml) != 0)
			continue;
		for (end = start + ml; end < len && end - start <=
		    ml + TOOL_FIELD_MAX && buf[end] != ']'; end++)
			;
		if (end < len && buf[end] == ']' && off + n <= end + 1)
			return 1;
	}
	return 0;
}

/*
 * Whether buf holds a raw value, outside the runner's markers: a short
 * value may be spelled by a marker's own letters.
 */
static int
holds_value(const struct exec *e, const void *p, size_t len)
{
	const uint8_t *buf = p, *hit;
	size_t off;
	uint32_t i;

	for (i = 0; i < e->reply.ncreds; i++) {
		if (e->values[i] == NULL)
			continue;
		for (off = 0; off + e->lens[i] <= len; off = (size_t)(hit -
		    buf) + 1) {
			if ((hit = memmem(buf + off, len - off, e->values[i],
			    e->lens[i])) == NULL)
				break;
			if (!in_marker(buf, len, (size_t)(hit - buf),
			    e->lens[i]))
				return 1;
		}
	}
	return 0;
}

/* The runner's result: checked for a value it failed to redact. */
void
tool_exec_done(struct broker *b, uint32_t id, const struct run_result *res)
{
	struct exec *e;
	struct ipc_msg m;
	const char *msg;

	if ((e = exec_find(id)) == NULL) {
		log_debug("%s: execution %u was already answered", __func__,
		    id);
		return;
	}
	if (holds_value(e, res->result, res->result_len) ||
	    holds_value(e, res->stderr_buf, res->stderr_len) ||
	    holds_value(e, res->message, strlen(res->message))) {
		log_warnx("%s: %s.%s: the result held a credential value; "
		    "withheld", __func__, e->reply.tool, e->reply.action);
		exec_answer(b, e, NULL, RT_UPSTREAM, "the tool's result held "
		    "a credential value and was withheld", res);
		return;
	}
	msg = res->message[0] != '\0' ? res->message : NULL;
	switch (res->outcome) {
	case RUN_OK:
		e->reply.res = *res;
		reply_init(&m, e->q.id, RT_OK, "");
		tool_exec_reply_put(&m, &e->reply);
		exec_answer(b, e, &m, RT_OK, "", res);
		return;
	case RUN_TIMEOUT:
		exec_answer(b, e, NULL, RT_TIMEOUT, msg != NULL ? msg :
		    "the tool did not finish in time", res);
		return;
	case RUN_INTERNAL:
		exec_answer(b, e, NULL, RT_INTERNAL, msg != NULL ? msg :
		    "the tool runner failed", res);
		return;
	default:
		exec_answer(b, e, NULL, RT_UPSTREAM, msg != NULL ? msg :
		    "the tool failed", res);
		return;
	}
}

/*
 * Every execution held fails: the runner died or was killed (status
 * RT_UPSTREAM), or the front-end that asked went away (its request ids
 * mean nothing to the next one, so nothing may be answered to them
 * later; the runner's late results are dropped).
 */
void
tool_exec_abort_all(struct broker *b, int status, const char *why)
{
	size_t i;

	for (i = 0; i < nexecs; i++)
		if (execs[i].used)
			exec_answer(b, &execs[i], NULL, status, why, NULL);
	release_held(b);
	broker_flush(b);
}

/* Past its deadline: 504 now, and the late result is dropped. */
void
tool_exec_expire(struct broker *b)
{
	struct timespec now = now_mono();
	char msg[MSG_LEN];
	size_t i;
	int any = 0;

	for (i = 0; i < nexecs; i++) {
		if (!execs[i].used || ms_between(now, execs[i].deadline) > 0)
			continue;
		snprintf(msg, sizeof(msg), "the tool did not finish in %u ms",
		    execs[i].timeout_ms);
		exec_answer(b, &execs[i], NULL, RT_TIMEOUT, msg, NULL);
		any = 1;
	}
	if (any) {
		release_held(b);
		broker_flush(b);
	}
}

/* Milliseconds to the next deadline; -1: none. */
int
tool_exec_timeout(struct broker *b)
{
	struct timespec now = now_mono();
	long long ms = -1, t;
	size_t i;

	(void)b;
	for (i = 0; i < nexecs; i++) {
		if (!execs[i].used)
			continue;
		t = ms_between(now, execs[i].deadline);
		if (t < 0)
			t = 0;
		if (ms == -1 || t < ms)
			ms = t;
	}
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/*
 * A tool the caller may see: one outside a scoped token's scopes is
 * refused whether it exists or not, admins-only tools to members.
 */
static int
tool_for(struct req *q, const char *name, const struct tool **t, char *msg,
    size_t len)
{
	*t = NULL;
	if (scope_permits(q, OP_TOOL, name, msg, len) != RT_OK)
		return RT_FORBIDDEN;
	if ((*t = tools_find(q->b->tools, name)) == NULL) {
		snprintf(msg, len, "no tool %s", name);
		return RT_NOTFOUND;
	}
	if ((*t)->allow == TOOL_ALLOW_ADMINS && q->p.role != ROLE_ADMIN) {
		snprintf(msg, len, "tool %s is for admins only", name);
		return RT_FORBIDDEN;
	}
	return RT_OK;
}

int
h_tool_list(struct req *q)
{
	struct tool_list_req lr;
	struct ipc_msg m;
	const struct toolset *ts = q->b->tools;
	char msg[MSG_LEN] = "";
	const char *last = "";
	size_t i, mark, n = 0;
	int rv, more = 0;

	q->op = "tools";
	if (tool_list_req_get(q->r, &lr) == -1)
		return -1;
	q->auth = lr.auth;
	if (lr.limit == 0)
		lr.limit = TOOL_LIST_DEFAULT;
	if ((rv = authenticate(q, msg, sizeof(msg))) == RT_OK &&
	    lr.limit > TOOL_LIST_MAX) {
		snprintf(msg, sizeof(msg), "limit must be 1 to %d",
		    TOOL_LIST_MAX);
		rv = RT_INVALID;
	}
	if (rv != RT_OK) {
		respond(q, NULL, rv, msg);
		return 0;
	}
	reply_init(&m, q->id, RT_OK, "");
	for (i = 0; i < ts->n; i++) {
		const struct tool *t = ts->tools[i];

		if (strcmp(t->name, lr.cursor) <= 0 ||
		    (t->allow == TOOL_ALLOW_ADMINS &&
		    q->p.role != ROLE_ADMIN) ||
		    decide_scope(&q->p, OP_TOOL, t->name) != DECIDE_ALLOW)
			continue;
		if (n == lr.limit) {
			more = 1;
			break;
		}
		/* A tool that does not fit starts the next page. */
		mark = m.len;
		ipc_put_u8(&m, 1);
		tool_put(&m, t);
		if (m.err || m.len > IPC_MAX_MSG - TOOL_NAME_MAX - 64) {
			ipc_msg_rewind(&m, mark);
			if (n == 0) {
				ipc_msg_free(&m);
				respond(q, NULL, RT_INTERNAL,
				    "a tool does not fit in a reply");
				return 0;
			}
			more = 1;
			break;
		}
		n++;
		last = t->name;
	}
	ipc_put_u8(&m, 0);
	ipc_put_str(&m, more ? last : "");
	respond(q, &m, RT_OK, "");
	return 0;
}

int
h_tool_get(struct req *q)
{
	const struct tool *t;
	struct tool_get_req g;
	struct ipc_msg m;
	char msg[MSG_LEN] = "";
	int rv;

	q->op = "tool";
	if (tool_get_req_get(q->r, &g) == -1)
		return -1;
	q->auth = g.auth;
	snprintf(q->name, sizeof(q->name), "%s", g.name);
	if ((rv = authenticate(q, msg, sizeof(msg))) == RT_OK)
		rv = tool_for(q, g.name, &t, msg, sizeof(msg));
	if (rv != RT_OK) {
		respond(q, NULL, rv, msg);
		return 0;
	}
	reply_init(&m, q->id, RT_OK, "");
	tool_put(&m, t);
	respond(q, &m, RT_OK, "");
	return 0;
}

/*
 * One slot: the override or the default name, then the caller's own
 * user secret of that name, else the org's.  Another user's secret is
 * never looked at, so naming one answers as a missing name does.
 */
static int
resolve_slot(struct req *q, const struct tool_slot *s,
    const struct tool_exec_req *x, struct tool_cred_use *use,
    struct secret_value *v, char *msg, size_t len)
{
	struct secret_meta meta;
	struct target t;
	const char *name = s->secret;
	int org_only = 0, scope, rv = ST_NOTFOUND, missed = 0;
	uint32_t i;

	for (i = 0; i < x->noverrides; i++)
		if (strcmp(x->overrides[i].slot, s->name) == 0) {
			name = x->overrides[i].name;
			org_only = x->overrides[i].org_wide;
		}
	for (scope = org_only ? SCOPE_ORG : SCOPE_USER; scope <= SCOPE_ORG;
	    scope++) {
		t.scope = scope;
		t.org_id = q->p.org_id;
		t.owner = scope == SCOPE_USER ? q->p.user_id : "";
		if (decide(&q->p, OP_USE, &t, q->b->cfg->org_reveal_members) !=
		    DECIDE_ALLOW)
			continue;
		rv = store_secret_get(q->b->store, t.org_id, scope, t.owner,
		    name, &meta, v);
		/*
		 * The user's secret is still being fetched: the org's is
		 * asked for in the same wave, the next run needs it when
		 * the user has none.
		 */
		if (rv == ST_BUSY && store_run_missed(q->b->store)) {
			missed = 1;
			continue;
		}
		if (rv != ST_NOTFOUND)
			break;
	}
	if (missed) {
		if (rv == ST_OK)
			store_value_free(v);
		rv = ST_BUSY;
	}
	if (rv == ST_NOTFOUND) {
		snprintf(msg, len, "credential %s: no secret %s", s->name,
		    name);
		return RT_NOTFOUND;
	}
	if (rv != ST_OK)
		return store_status(rv, msg, len);
	if (v->len < VALUE_MIN_LEN) {
		store_value_free(v);
		snprintf(msg, len, "credential %s: secret %s is shorter than "
		    "%d bytes, too short to redact", s->name, name,
		    VALUE_MIN_LEN);
		return RT_INVALID;
	}
	snprintf(use->slot, sizeof(use->slot), "%s", s->name);
	snprintf(use->name, sizeof(use->name), "%s", name);
	use->scope = (uint8_t)scope;
	use->version = meta.version;
	return RT_OK;
}

/* The request against its tool, before any secret is read. */
static int
exec_check(const struct tool *t, const struct tool_exec_req *x,
    struct run_request *rq, char *msg, size_t len)
{
	uint32_t i;

	if (tool_action(t, x->action) == NULL) {
		snprintf(msg, len, "action: %s has no action %s", t->name,
		    x->action);
		return RT_INVALID;
	}
	for (i = 0; i < x->noverrides; i++)
		if (tool_slot(t, x->overrides[i].slot) == NULL) {
			snprintf(msg, len, "credentialOverrides.%s: %s has no "
			    "such credential slot", x->overrides[i].slot,
			    t->name);
			return RT_INVALID;
		}
	rq->tool = *t;
	snprintf(rq->action, sizeof(rq->action), "%s", x->action);
	rq->nparams = x->nparams;
	memcpy(rq->params, x->params, sizeof(rq->params));
	rq->ncreds = t->nslots;
	for (i = 0; i < t->nslots; i++)
		snprintf(rq->creds[i].slot, sizeof(rq->creds[i].slot), "%s",
		    t->slots[i].name);
	if (run_request_check(rq, msg, len) == -1) {
		if (msg[0] == '\0')
			snprintf(msg, len, "invalid parameters");
		return RT_INVALID;
	}
	return RT_OK;
}

/* The executions one caller holds now. */
static uint64_t
user_execs(const struct principal *p)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < nexecs; i++)
		if (execs[i].used &&
		    strcmp(execs[i].q.p.org_id, p->org_id) == 0 &&
		    strcmp(execs[i].q.p.user_id, p->user_id) == 0)
			n++;
	return n;
}

static struct exec *
exec_slot(void)
{
	size_t i;

	for (i = 0; i < nexecs; i++)
		if (!execs[i].used)
			return &execs[i];
	return NULL;
}

/* Resolve every slot into e, then hand the run to the runner. */
static int
exec_submit(struct req *q, const struct tool *t, struct exec *e,
    struct run_request *rq, const struct tool_exec_req *x, char *msg,
    size_t len)
{
	struct secret_value v;
	struct ipc_msg m;
	uint32_t i, id;
	int rv, missed = RT_OK;

	for (i = 0; i < t->nslots; i++) {
		rv = resolve_slot(q, &t->slots[i], x, &e->reply.creds[i], &v,
		    msg, len);
		/*
		 * A read still on its way: the other slots are resolved all
		 * the same, so that their reads go out in the same wave;
		 * this run is thrown away and made again.
		 */
		if (store_run_missed(q->b->store)) {
			if (rv == RT_OK)
				store_value_free(&v);
			else if (missed == RT_OK)
				missed = rv;
			continue;
		}
		if (rv != RT_OK)
			return rv;
		e->reply.ncreds = i + 1;
		e->values[i] = sodium_malloc(v.len);
		if (e->values[i] != NULL)
			memcpy(e->values[i], v.data, v.len);
		e->lens[i] = v.len;
		store_value_free(&v);
		if (e->values[i] == NULL)
			return RT_INTERNAL;
		rq->creds[i].value = e->values[i];
		rq->creds[i].value_len = e->lens[i];
	}
	if (store_run_missed(q->b->store))
		return missed != RT_OK ? missed : store_status(ST_BUSY, msg,
		    len);
	if (!runner_ready(q->b)) {
		snprintf(msg, len, "the tool runner is not running");
		return RT_UNAVAILABLE;
	}
	id = ++q->b->run.next_id;
	ipc_msg_init(&m, IMSG_RUN_EXEC, id);
	run_request_put(&m, rq);
	if (m.err) {
		ipc_msg_free(&m);
		snprintf(msg, len, "the credentials and parameters are too "
		    "large for one execution");
		return RT_TOOLARGE;
	}
	if (runner_send(q->b, &m) == -1) {
		snprintf(msg, len, "the tool runner is not running");
		return RT_UNAVAILABLE;
	}
	e->id = id;
	return RT_OK;
}

int
h_tool_exec(struct req *q)
{
	struct tool_exec_req *x;
	struct run_request *rq = NULL;
	const struct tool *t = NULL;
	struct exec *e = NULL;
	char msg[MSG_LEN] = "";
	int rv;

	q->op = "exec";
	if ((x = calloc(1, sizeof(*x))) == NULL)
		fatal("%s: calloc", __func__);
	if (tool_exec_req_get(q->r, x) == -1) {
		sodium_memzero(x, sizeof(*x));
		free(x);
		return -1;
	}
	q->auth = x->auth;
	snprintf(q->name, sizeof(q->name), "%s", x->tool);
	snprintf(q->client, sizeof(q->client), "%s", x->client);
	if ((rv = authenticate(q, msg, sizeof(msg))) != RT_OK)
		goto done;
	if ((rv = tool_for(q, x->tool, &t, msg, sizeof(msg))) != RT_OK)
		goto done;
	/*
	 * A tool-scoped token reaches the secrets its tools' slots name;
	 * an override would let it send any other secret of its user to
	 * the tool's upstream.
	 */
	if (x->noverrides > 0 && q->p.scopes.n > 0) {
		snprintf(msg, sizeof(msg), "this token is scoped to tools: "
		    "credentialOverrides are not allowed");
		rv = RT_FORBIDDEN;
		goto done;
	}
	if (table_init(q->b) == -1 || (rq = calloc(1, sizeof(*rq))) == NULL) {
		rv = RT_INTERNAL;
		goto done;
	}
	if ((rv = exec_check(t, x, rq, msg, sizeof(msg))) != RT_OK)
		goto done;
	if (user_execs(&q->p) >= q->b->cfg->tool_max_per_user) {
		snprintf(msg, sizeof(msg), "you have %llu tool executions "
		    "running, the most one user may; try again",
		    (unsigned long long)q->b->cfg->tool_max_per_user);
		rv = RT_RATELIMIT;
		goto done;
	}
	if ((e = exec_slot()) == NULL) {
		snprintf(msg, sizeof(msg), "%zu tool executions are running, "
		    "the most allowed; try again", nexecs);
		rv = RT_UNAVAILABLE;
		goto done;
	}
	memset(e, 0, sizeof(*e));
	snprintf(e->reply.tool, sizeof(e->reply.tool), "%s", t->name);
	snprintf(e->reply.action, sizeof(e->reply.action), "%s", x->action);
	e->reply.type = t->type;
	if ((rv = exec_submit(q, t, e, rq, x, msg, sizeof(msg))) != RT_OK)
		goto done;
	e->used = 1;
	e->q = *q;
	e->q.r = NULL;
	e->q.auth.token = NULL;
	e->timeout_ms = t->timeout_ms;
	e->deadline = now_mono();
	e->deadline.tv_sec += (t->timeout_ms + EXEC_GRACE_MS) / 1000;
	e->deadline.tv_nsec += (long)((t->timeout_ms + EXEC_GRACE_MS) %
	    1000) * 1000000;
	if (e->deadline.tv_nsec >= 1000000000) {
		e->deadline.tv_sec++;
		e->deadline.tv_nsec -= 1000000000;
	}
	q->b->run.inflight++;
	e = NULL;
done:
	if (rq != NULL) {
		sodium_memzero(rq, sizeof(*rq));
		free(rq);
	}
	sodium_memzero(x, sizeof(*x));
	free(x);
	if (rv != RT_OK) {
		if (e != NULL) {
			/* The audit line names what was resolved so far. */
			audit_fields(e, NULL);
			q->tool = &e->audit;
			respond(q, NULL, rv, msg);
			exec_free(e);
		} else {
			struct audit_tool at = { .tool = t != NULL ?
			    t->name : NULL };

			if (t != NULL)
				q->tool = &at;
			respond(q, NULL, rv, msg);
		}
	}
	return 0;
}
