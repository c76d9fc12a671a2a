/*
 * GET /v1/metrics on the front-end's side.  The front-end counts its own
 * HTTP replies, by route template, method and status, and their latency
 * by route; those start again at zero when the front-end restarts.  The
 * broker's counters are asked for with the caller's identity (the
 * broker answers admins only) and both are written out together in
 * Prometheus' text format 0.0.4.  Every label comes from the route
 * table or a fixed word, never from a request: no secret's name, token
 * id or user can reach the output.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "frontend.h"

#define METRICS_CTYPE	"text/plain; version=0.0.4; charset=utf-8"
#define CODE_MIN	100
#define CODE_N		500		/* status codes 100 to 599 */

/* Upper bounds of the latency buckets, in seconds. */
static const char *const le_text[] = { "0.0005", "0.001", "0.0025",
	"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
	"5", "10" };
static const uint64_t le_ns[] = { 500000, 1000000, 2500000, 5000000,
	10000000, 25000000, 50000000, 100000000, 250000000, 500000000,
	1000000000, 2500000000, 5000000000, 10000000000 };
#define NLE	(sizeof(le_ns) / sizeof(le_ns[0]))

/* One route's replies; the last row is every request no route matched. */
struct route_counts {
	uint64_t	 codes[CODE_N];
	uint64_t	 le[NLE + 1];		/* per bucket; the last +Inf */
	uint64_t	 count;
	uint64_t	 sum_ns;
};

static struct route_counts *rows;
static size_t nrows;
static uint64_t fe_start_time;

void
metrics_init(void)
{
	nrows = route_count() + 1;
	if ((rows = calloc(nrows, sizeof(*rows))) == NULL)
		fatal("%s: calloc", __func__);
	fe_start_time = (uint64_t)time(NULL);
}

void
metrics_request_start(struct fe_req *fr)
{
	clock_gettime(CLOCK_MONOTONIC, &fr->started);
}

/* Every reply passes here once: a few additions, no allocation. */
void
metrics_request_done(const struct fe_req *fr, int code)
{
	struct route_counts *c;
	struct timespec now;
	uint64_t ns;
	size_t i;

	if (rows == NULL)
		return;
	c = &rows[fr->route != NULL ? route_index(fr->route) : nrows - 1];
	if (code >= CODE_MIN && code < CODE_MIN + CODE_N)
		c->codes[code - CODE_MIN]++;
	if (fr->started.tv_sec == 0 && fr->started.tv_nsec == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (uint64_t)(now.tv_sec - fr->started.tv_sec) * 1000000000 +
	    (uint64_t)now.tv_nsec - (uint64_t)fr->started.tv_nsec;
	for (i = 0; i < NLE && ns > le_ns[i]; i++)
		;
	c->le[i]++;
	c->count++;
	c->sum_ns += ns;
}

static void
line(struct jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
line(struct jw *w, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		w->err = 1;
		return;
	}
	jw_raw(w, buf, (size_t)n);
	jw_raw(w, "\n", 1);
}

static void
family(struct jw *w, const char *name, const char *type, const char *help)
{
	line(w, "# HELP %s %s", name, help);
	line(w, "# TYPE %s %s", name, type);
}

static void
route_labels(size_t i, char *buf, size_t len)
{
	const struct route *r;

	if (i == nrows - 1) {
		snprintf(buf, len, "route=\"unmatched\",method=\"any\"");
		return;
	}
	r = route_at(i);
	snprintf(buf, len, "route=\"%s\",method=\"%s\"", route_template(r),
	    route_method(r));
}

static void
write_http(struct jw *w)
{
	char lab[160];
	uint64_t cum;
	size_t i, k;

	family(w, "secretd_http_requests_total", "counter", "HTTP requests "
	    "answered, by route template, method and status code; counted "
	    "by the front-end since it started.");
	for (i = 0; i < nrows; i++) {
		route_labels(i, lab, sizeof(lab));
		for (k = 0; k < CODE_N; k++)
			if (rows[i].codes[k] != 0)
				line(w, "secretd_http_requests_total{%s,"
				    "code=\"%zu\"} %llu", lab, k + CODE_MIN,
				    (unsigned long long)rows[i].codes[k]);
	}
	family(w, "secretd_http_request_duration_seconds", "histogram",
	    "Time from a request's head to its reply, by route; counted by "
	    "the front-end since it started.");
	for (i = 0; i < nrows; i++) {
		if (rows[i].count == 0)
			continue;
		route_labels(i, lab, sizeof(lab));
		for (k = 0, cum = 0; k < NLE; k++) {
			cum += rows[i].le[k];
			line(w, "secretd_http_request_duration_seconds_bucket"
			    "{%s,le=\"%s\"} %llu", lab, le_text[k],
			    (unsigned long long)cum);
		}
		line(w, "secretd_http_request_duration_seconds_bucket"
		    "{%s,le=\"+Inf\"} %llu", lab,
		    (unsigned long long)rows[i].count);
		line(w, "secretd_http_request_duration_seconds_sum{%s} "
		    "%llu.%09llu", lab,
		    (unsigned long long)(rows[i].sum_ns / 1000000000),
		    (unsigned long long)(rows[i].sum_ns % 1000000000));
		line(w, "secretd_http_request_duration_seconds_count{%s} %llu",
		    lab, (unsigned long long)rows[i].count);
	}
	family(w, "secretd_frontend_start_time_seconds", "gauge",
	    "When the running front-end started, in seconds since the "
	    "epoch; its HTTP counters count from then.");
	line(w, "secretd_frontend_start_time_seconds %llu",
	    (unsigned long long)fe_start_time);
}

static void
counter(struct jw *w, const char *name, const char *help, uint64_t v)
{
	family(w, name, "counter", help);
	line(w, "%s %llu", name, (unsigned long long)v);
}

static void
gauge(struct jw *w, const char *name, const char *help, uint64_t v)
{
	family(w, name, "gauge", help);
	line(w, "%s %llu", name, (unsigned long long)v);
}

static void
write_batches(struct jw *w, const struct msg_metrics *x)
{
	uint64_t cum = 0;
	size_t i;

	counter(w, "secretd_group_commits_total", "Durable store commits, "
	    "each holding every write that arrived together.", x->commits);
	family(w, "secretd_group_commit_writes", "histogram",
	    "Writes per group commit.");
	for (i = 0; i < METRICS_BATCH_BUCKETS; i++) {
		cum += x->batch_buckets[i];
		line(w, "secretd_group_commit_writes_bucket{le=\"%u\"} %llu",
		    1U << i, (unsigned long long)cum);
	}
	line(w, "secretd_group_commit_writes_bucket{le=\"+Inf\"} %llu",
	    (unsigned long long)x->commits);
	line(w, "secretd_group_commit_writes_sum %llu",
	    (unsigned long long)x->batch_writes);
	line(w, "secretd_group_commit_writes_count %llu",
	    (unsigned long long)x->commits);
}

static void
write_broker(struct jw *w, const struct msg_metrics *x)
{
	static const char *const reasons[MAUTH_MAX] = { "bad_token",
		"expired", "rate_limited" };
	size_t i;

	gauge(w, "secretd_start_time_seconds", "When the broker started, in "
	    "seconds since the epoch; its counters count from then.",
	    x->start_time);
	family(w, "secretd_reveals_total", "counter",
	    "Secret values revealed, by the secret's scope.");
	line(w, "secretd_reveals_total{scope=\"user\"} %llu",
	    (unsigned long long)x->reveals[SCOPE_USER]);
	line(w, "secretd_reveals_total{scope=\"org\"} %llu",
	    (unsigned long long)x->reveals[SCOPE_ORG]);
	counter(w, "secretd_policy_denials_total", "Requests the policy "
	    "refused (403 forbidden).", x->denials);
	family(w, "secretd_auth_failures_total", "counter",
	    "Failed bearer token authentications, by reason.");
	for (i = 0; i < MAUTH_MAX; i++)
		line(w, "secretd_auth_failures_total{reason=\"%s\"} %llu",
		    reasons[i], (unsigned long long)x->auth_failures[i]);
	write_batches(w, x);
	gauge(w, "secretd_store_size_bytes", "Size of the store's data "
	    "file.", x->store_bytes);
	gauge(w, "secretd_store_secrets", "Secrets in the store.",
	    x->secrets);
	counter(w, "secretd_frontend_restarts_total", "Times the front-end "
	    "died and was started again.", x->frontend_restarts);
	counter(w, "secretd_runner_restarts_total", "Times the tool runner "
	    "died and was started again.", x->runner_restarts);
	counter(w, "secretd_audit_write_failures_total", "Audit log writes "
	    "and syncs that failed (each failed its requests closed).",
	    x->audit_failures);
	family(w, "secretd_degraded", "gauge", "1 while a part cannot be "
	    "written (/v1/health answers 503 degraded), else 0.");
	line(w, "secretd_degraded{part=\"store\"} %u", x->health.store_full);
	line(w, "secretd_degraded{part=\"audit\"} %u",
	    x->health.audit_failing);
}

static int
tool_each(void *arg, const struct msg_tool_count *t)
{
	static const char *const outcomes[MTOOL_MAX] = { "ok", "failed",
		"timeout", "error" };
	struct jw *w = arg;
	size_t i;

	/* A tool name is letters, digits, - and _: safe in a label. */
	for (i = 0; i < MTOOL_MAX; i++)
		line(w, "secretd_tool_executions_total{tool=\"%s\","
		    "outcome=\"%s\"} %llu", t->tool, outcomes[i],
		    (unsigned long long)t->outcomes[i]);
	return 0;
}

static int
metrics_reply(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	struct msg_metrics x;
	struct jw w, tools;
	char *body;

	if (!reply_ok(fr, st, msg))
		return 0;
	jw_init(&tools, 1024);
	if (msg_metrics_get(r, &x, tool_each, &tools) == -1) {
		jw_discard(&tools);
		return bad_reply(fr);
	}
	jw_init(&w, 16 * 1024);
	write_http(&w);
	write_broker(&w, &x);
	family(&w, "secretd_tool_executions_total", "counter",
	    "Tool executions started, by tool and outcome.");
	if (tools.err)
		w.err = 1;
	else if (tools.len > 0)
		jw_raw(&w, tools.buf, tools.len);
	jw_discard(&tools);
	/* The reply adds the last newline. */
	if (!w.err && w.len > 0)
		w.len--;
	if ((body = jw_finish(&w)) == NULL) {
		http_reply_error(fr, 500, "internal", "out of memory");
		return 0;
	}
	http_reply_typed(fr, 200, METRICS_CTYPE, body);
	return 0;
}

void
metrics_get(struct fe_req *fr)
{
	struct msg_auth a;
	struct ipc_msg m;

	http_auth(fr, &a);
	bc_msg_init(&m, IMSG_METRICS);
	msg_auth_put(&m, &a);
	send_request(fr, &m, metrics_reply);
}
