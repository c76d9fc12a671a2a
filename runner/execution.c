/*
 * One execution's life in the runner: its values copied into guarded
 * memory, the tool run, and its result and stderr redacted before they
 * may leave.  Everything that held a value is wiped before it is freed;
 * nothing here logs a value or a parameter.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "log.h"
#include "runner.h"

void
tool_out_set(struct tool_out *o, uint8_t outcome, const char *fmt, ...)
{
	va_list ap;

	o->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(o->message, sizeof(o->message), fmt, ap);
	va_end(ap);
}

const struct run_param *
exec_param(const struct execution *ex, const char *name)
{
	uint32_t i;

	for (i = 0; i < ex->rq->nparams; i++)
		if (strcmp(ex->rq->params[i].name, name) == 0)
			return &ex->rq->params[i];
	return NULL;
}

static uint32_t
ms_since(const struct timespec *t0)
{
	struct timespec t;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &t);
	ms = (long long)(t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

void
execution_free(struct execution *ex)
{
	uint32_t i;

	if (ex == NULL)
		return;
	for (i = 0; i < TOOL_SLOTS_MAX; i++) {
		if (ex->vals[i] != NULL)
			sodium_free(ex->vals[i]);
		if (ex->rendered[i] != NULL)
			sodium_free(ex->rendered[i]);
	}
	if (ex->rq != NULL) {
		sodium_memzero(ex->rq, sizeof(*ex->rq));
		free(ex->rq);
	}
	wfree(ex->out_buf, ex->rs.result_len + 1);
	wfree(ex->err_buf, ex->rs.stderr_len + 1);
	free(ex);
}

/*
 * Copies each value out of the channel's buffer into guarded memory and
 * renders the slot's template with it.
 */
int
execution_take_values(struct execution *ex)
{
	struct run_request *rq = ex->rq;
	const struct tool_slot *s;
	const char *brace;
	size_t pre, post, n;
	uint32_t i;

	for (i = 0; i < rq->ncreds; i++) {
		n = rq->creds[i].value_len;
		if ((ex->vals[i] = sodium_malloc(n + 1)) == NULL)
			return -1;
		memcpy(ex->vals[i], rq->creds[i].value, n);
		ex->vals[i][n] = '\0';
		rq->creds[i].value = ex->vals[i];
		s = tool_slot(&rq->tool, rq->creds[i].slot);
		brace = strstr(s->tmpl, "{}");
		pre = (size_t)(brace - s->tmpl);
		post = strlen(brace + 2);
		ex->rendered_len[i] = pre + n + post;
		if ((ex->rendered[i] = sodium_malloc(ex->rendered_len[i] +
		    1)) == NULL)
			return -1;
		memcpy(ex->rendered[i], s->tmpl, pre);
		memcpy(ex->rendered[i] + pre, ex->vals[i], n);
		memcpy(ex->rendered[i] + pre + n, brace + 2, post + 1);
	}
	return 0;
}

static struct redactor *
redactor_for(const struct execution *ex)
{
	const struct tool_slot *s;
	struct redactor *r;
	uint32_t i;

	if ((r = redact_new()) == NULL)
		return NULL;
	for (i = 0; i < ex->rq->ncreds; i++) {
		s = tool_slot(&ex->rq->tool, ex->rq->creds[i].slot);
		if (redact_add(r, s->name, ex->vals[i],
		    ex->rq->creds[i].value_len, s->tmpl) == -1) {
			redact_free(r);
			return NULL;
		}
	}
	return r;
}

static int
is_json(const uint8_t *p, size_t n)
{
	json_error_t err;
	json_t *j;

	if (n == 0 || (j = json_loadb((const char *)p, n, JSON_DECODE_ANY,
	    &err)) == NULL)
		return 0;
	json_decref(j);
	return 1;
}

#define STDERR_CUT	"\n[stderr truncated]"

/*
 * stderr: redacted, then, when we cut it short, cut again before any
 * start of a form at its end, capped and marked as cut.
 */
static int
redact_stderr(struct execution *ex, struct redactor *r, struct tool_out *o)
{
	size_t outlen, len;
	uint32_t count;
	uint8_t *out, *capped;

	if (o->err_len == 0)
		return 0;
	if (redact_apply(r, o->err, o->err_len, &out, &outlen, &count) == -1)
		return -1;
	ex->rs.redactions += count;
	if (o->err_truncated || outlen > TOOL_STDERR_MAX) {
		len = TOOL_STDERR_MAX - strlen(STDERR_CUT);
		if (outlen < len)
			len = outlen;
		len = redact_tail(r, out, len);
		if ((capped = wmalloc(len + strlen(STDERR_CUT) + 1)) == NULL) {
			wfree(out, outlen + 1);
			return -1;
		}
		memcpy(capped, out, len);
		memcpy(capped + len, STDERR_CUT, strlen(STDERR_CUT));
		wfree(out, outlen + 1);
		out = capped;
		outlen = len + strlen(STDERR_CUT);
	}
	ex->err_buf = out;
	ex->rs.stderr_buf = out;
	ex->rs.stderr_len = outlen;
	return 0;
}

static void
finish(struct execution *ex, struct tool_out *o)
{
	struct run_result *rs = &ex->rs;
	struct redactor *r;
	uint8_t *out;
	size_t outlen;
	uint32_t count;

	rs->outcome = o->outcome;
	rs->ok = o->ok;
	rs->status = o->status;
	if ((r = redactor_for(ex)) == NULL) {
		tool_out_set(o, RUN_INTERNAL, "out of memory");
		goto fail;
	}
	if (redact_holds(r, (const uint8_t *)o->message, strlen(o->message),
	    strlen(o->message) == sizeof(o->message) - 1))
		snprintf(o->message, sizeof(o->message), "%s",
		    o->outcome == RUN_UPSTREAM ? "upstream failed; its "
		    "message held a credential and is withheld" :
		    "message withheld: it held a credential");
	snprintf(rs->message, sizeof(rs->message), "%s", o->message);
	if (o->outcome == RUN_OK && o->out_len > 0) {
		if (redact_apply(r, o->out, o->out_len, &out, &outlen,
		    &count) == -1)
			goto unredactable;
		ex->out_buf = out;
		rs->result = out;
		rs->result_len = outlen;
		rs->redactions = count;
		if (outlen > TOOL_RESULT_MAX) {
			o->outcome = RUN_TOO_LARGE;
			snprintf(o->message, sizeof(o->message), "the result "
			    "is over %d bytes once redacted", TOOL_RESULT_MAX);
			goto fail;
		}
		rs->result_is_json = is_json(out, outlen);
	}
	if (redact_stderr(ex, r, o) == -1)
		goto unredactable;
	redact_free(r);
	return;
unredactable:
	o->outcome = RUN_INTERNAL;
	snprintf(o->message, sizeof(o->message), "the result could not be "
	    "redacted and is withheld");
fail:
	redact_free(r);
	rs->outcome = o->outcome;
	snprintf(rs->message, sizeof(rs->message), "%s", o->message);
	rs->ok = 0;
	rs->status = 0;
	wfree(ex->out_buf, rs->result_len + 1);
	wfree(ex->err_buf, rs->stderr_len + 1);
	ex->out_buf = ex->err_buf = NULL;
	rs->result = rs->stderr_buf = NULL;
	rs->result_len = rs->stderr_len = 0;
	rs->redactions = 0;
	rs->result_is_json = 0;
}

static const char *
outcome_name(uint8_t o)
{
	static const char *names[] = { "ok", "upstream", "timeout",
	    "too large", "refused", "internal" };

	return o <= RUN_INTERNAL ? names[o] : "?";
}

/* Runs it, redacts what it gave, and fills ex->rs; on its own thread. */
void
execution_run(struct execution *ex)
{
	struct tool_out o;
	struct timespec t0;

	memset(&o, 0, sizeof(o));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (ex->rq->tool.type == TOOL_HTTP)
		http_run(ex, &o);
	else
		exec_run(ex, &o);
	finish(ex, &o);
	wfree(o.out, o.out_cap);
	wfree(o.err, o.err_cap);
	ex->rs.duration_ms = ms_since(&t0);
	log_debug("execution %u: %s %s: %s, status %u, %u ms, %u "
	    "redactions", ex->id, ex->rq->tool.name, ex->rq->action,
	    outcome_name(ex->rs.outcome), ex->rs.status, ex->rs.duration_ms,
	    ex->rs.redactions);
}
