/*
 * The broker's counters for operators (/v1/metrics) and its health
 * (/v1/health): plain integers bumped where each event happens, with no
 * lock since the broker is one thread, and the handlers that hand them
 * out.  They hold counts, scopes, reasons and operator-defined tool
 * names only: never a secret's name, a user or a value.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker.h"
#include "log.h"

struct msg_metrics metrics;

static struct msg_tool_count *tools;	/* sorted by name */
static size_t ntools, tools_cap;

void
metrics_init(void)
{
	memset(&metrics, 0, sizeof(metrics));
	metrics.start_time = (uint64_t)time(NULL);
}

/* One group commit of n writes (1 to BATCH_MAX). */
void
metrics_commit(size_t n)
{
	size_t i = 0;

	while (i < METRICS_BATCH_BUCKETS - 1 && ((size_t)1 << i) < n)
		i++;
	metrics.commits++;
	metrics.batch_buckets[i]++;
	metrics.batch_writes += n;
}

static struct msg_tool_count *
tool_counts_of(const char *name)
{
	struct msg_tool_count *t;
	size_t lo = 0, hi = ntools, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((c = strcmp(name, tools[mid].tool)) == 0)
			return &tools[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (ntools == METRICS_TOOLS_MAX)
		return NULL;
	if (ntools == tools_cap) {
		tools_cap = tools_cap == 0 ? 16 : tools_cap * 2;
		if ((t = reallocarray(tools, tools_cap, sizeof(*t))) == NULL)
			fatal("%s: reallocarray", __func__);
		tools = t;
	}
	memmove(&tools[lo + 1], &tools[lo], (ntools - lo) * sizeof(*tools));
	ntools++;
	memset(&tools[lo], 0, sizeof(tools[lo]));
	snprintf(tools[lo].tool, sizeof(tools[lo].tool), "%s", name);
	return &tools[lo];
}

/* An execution that ran (or was started) ended so. */
void
metrics_tool(const char *name, enum metrics_tool_outcome o)
{
	struct msg_tool_count *t;

	if ((t = tool_counts_of(name)) != NULL)
		t->outcomes[o]++;
	else
		log_debug("%s: %d tools counted already; %s is not",
		    __func__, METRICS_TOOLS_MAX, name);
}

/* A decision whose audit line was written. */
void
metrics_decision(const struct req *q, int status)
{
	if (status == RT_FORBIDDEN)
		metrics.denials++;
	else if (status == RT_OK && q->type == IMSG_SECRET_REVEAL &&
	    (q->scope == SCOPE_USER || q->scope == SCOPE_ORG))
		metrics.reveals[q->scope]++;
}

void
metrics_health(struct broker *b, struct msg_health *h)
{
	h->store_full = store_full(b->store) ? 1 : 0;
	h->audit_failing = audit_writable() ? 0 : 1;
}

/* Health is public: it says which part fails, and nothing else. */
int
h_ping(struct req *q)
{
	struct msg_health h;
	struct ipc_msg m;

	if (msg_empty_get(q->r) == -1)
		return -1;
	metrics_health(q->b, &h);
	reply_init(&m, q->id, RT_OK, "");
	msg_health_put(&m, &h);
	chan_send(q->b, &m);
	return 0;
}

/* Admins only; the store's figures are read now. */
int
h_metrics(struct req *q)
{
	struct msg_metrics x;
	struct ipc_msg m;
	char msg[MSG_LEN] = "";
	int rv;

	q->op = "metrics";
	if (msg_auth_get(q->r, &q->auth) == -1 || msg_empty_get(q->r) == -1)
		return -1;
	if ((rv = authenticate(q, msg, sizeof(msg))) == RT_OK &&
	    (rv = scope_permits(q, OP_METRICS, NULL, msg, sizeof(msg))) ==
	    RT_OK && q->p.role != ROLE_ADMIN) {
		snprintf(msg, sizeof(msg), "metrics are for admins");
		rv = RT_FORBIDDEN;
	}
	if (rv != RT_OK) {
		respond(q, NULL, rv, msg);
		return 0;
	}
	x = metrics;
	x.store_bytes = store_size_bytes(q->b->store);
	x.secrets = store_count_secrets(q->b->store);
	metrics_health(q->b, &x.health);
	x.ntools = (uint32_t)ntools;
	x.tools = tools;
	reply_init(&m, q->id, RT_OK, "");
	msg_metrics_put(&m, &x);
	respond(q, &m, RT_OK, "");
	return 0;
}
