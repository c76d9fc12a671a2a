/*
 * rundrive's exec cases: the environment, stdin and confinement a tool
 * gets, exit codes and signals, output caps, timeouts and children that
 * outlive the tool, stderr cut inside a value, what a tool may read and
 * signal, and many executions at once.
 */
#include "config.h"

#include <sys/types.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "rundrive.h"

static void
env_tool(struct tool *t)
{
	struct tool_action *a;

	exec_tool(t, "envtool", "env_stdin.py");
	t->nargs = 2;
	strcpy(t->args[0], "--flag");
	strcpy(t->args[1], "two words");
	add_slot(t, "apiKey", SLOT_ENV, "CRM_KEY", "{}");
	add_slot(t, "token", SLOT_ENV, "CRM_AUTH", "Bearer {}");
	a = add_action(t, "lookup", "", "");
	add_param(a, "email", PARAM_STRING, PARAM_BODY, 1);
	add_param(a, "limit", PARAM_NUMBER, PARAM_BODY, 0);
	add_param(a, "verbose", PARAM_BOOL, PARAM_BODY, 0);
	add_param(a, "leak", PARAM_STRING, PARAM_BODY, 0);
}

void
exec_env(struct runner *r)
{
	static const char *env_want = "{\"CRM_KEY\": \"[REDACTED:apiKey]\", "
	    "\"CRM_AUTH\": \"[REDACTED:token]\", \"PATH\": \"/usr/local/bin:"
	    "/usr/bin:/bin\", \"HOME\": \"/nonexistent\", \"LANG\": "
	    "\"C.UTF-8\"}";
	static const char *stdin_want = "{\"action\": \"lookup\", "
	    "\"params\": {\"email\": \"person@example.com\", \"limit\": 5, "
	    "\"verbose\": true, \"leak\": \"CRM_KEY\"}}";
	struct run_request *rq;
	struct tool t;
	struct got *g;
	json_t *res, *want;
	json_int_t pid;

	env_tool(&t);
	rq = request(&t, "lookup");
	param(rq, "email", PARAM_STRING, "person@example.com");
	param(rq, "limit", PARAM_NUMBER, "5");
	param(rq, "verbose", PARAM_BOOL, "true");
	param(rq, "leak", PARAM_STRING, "CRM_KEY");
	cred(rq, "apiKey", V_EXEC);
	cred(rq, "token", V_EXEC2);
	g = run(r, rq);
	ok(is_result(g, RUN_OK, 1, 0) && g->rs.result_is_json, "exec: the "
	    "tool ran and exited 0 with JSON (%s)", desc(g));
	res = result_json(g);
	want = json_loads(env_want, 0, NULL);
	ok(json_equal(json_object_get(res, "env"), want), "exec: the "
	    "environment is the slot variables (redacted) and PATH, HOME, "
	    "LANG, nothing else");
	json_decref(want);
	want = json_loads(stdin_want, 0, NULL);
	ok(json_equal(json_object_get(res, "stdin"), want), "exec: stdin is "
	    "{\"action\", \"params\"} with each parameter's type");
	json_decref(want);
	want = json_loads("[\"--flag\", \"two words\"]", 0, NULL);
	ok(json_equal(json_object_get(res, "argv"), want) &&
	    strcmp(jstr(res, "cwd", NULL), "/") == 0, "exec: the tool's "
	    "arguments, no shell; working directory /");
	json_decref(want);
	pid = json_integer_value(json_object_get(res, "pid"));
	ok(pid > 0 && pid == json_integer_value(json_object_get(res, "pgid"))
	    && pid == json_integer_value(json_object_get(res, "sid")),
	    "exec: the tool leads a session and process group of its own");
	ok(strcmp(jstr(res, "status", "NoNewPrivs"), "1") == 0 &&
	    strcmp(jstr(res, "status", "Seccomp"), "2") == 0 &&
	    strcmp(jstr(res, "status", "CapEff"), "0000000000000000") == 0,
	    "exec: the tool has NoNewPrivs 1, Seccomp 2, CapEff 0");
	is_str(jstr(res, "setsid", NULL), "Operation not permitted",
	    "exec: the tool cannot leave its process group (setsid)");
	is_str(jstr(res, "limits", "Max core file size"), "0",
	    "exec: no core dumps (RLIMIT_CORE 0)");
	is_str(jstr(res, "limits", "Max processes"), "1024",
	    "exec: RLIMIT_NPROC 1024");
	is_str(g ? (const char *)g->rs.stderr_buf : "", "raw [REDACTED:apiKey]"
	    "\nb64 [REDACTED:apiKey]\nhex [REDACTED:apiKey]\n",
	    "exec: stderr is returned with the value redacted raw, base64 "
	    "and hex");
	ok(g != NULL && g->rs.redactions == 5, "exec: 5 redactions, 2 in "
	    "stdout and 3 in stderr (%u)", g ? g->rs.redactions : 0);
	if (g != NULL) {
		no_leak(g, V_EXEC, NULL, "exec, first slot");
		no_leak(g, V_EXEC2, "Bearer " V_EXEC2, "exec, second slot");
	}
	json_decref(res);
	got_free(g);
	free(rq);
}

static struct got *
run_script(struct runner *r, const char *script, uint32_t timeout_ms,
    const char *param_name, uint8_t ptype, const char *pvalue)
{
	struct run_request *rq;
	struct tool_action *a;
	struct tool t;
	struct got *g;

	exec_tool(&t, "script", script);
	t.timeout_ms = timeout_ms;
	add_slot(&t, "apiKey", SLOT_ENV, "CRM_KEY", "{}");
	a = add_action(&t, "run", "", "");
	if (param_name != NULL)
		add_param(a, param_name, ptype, PARAM_BODY, 1);
	rq = request(&t, "run");
	if (param_name != NULL)
		param(rq, param_name, ptype, pvalue);
	cred(rq, "apiKey", V_LONG);
	g = run(r, rq);
	free(rq);
	return g;
}

void
exec_outcomes(struct runner *r)
{
	struct got *g;
	json_t *res;
	int a = 0, b = 0;

	g = run_script(r, "exit3.sh", 5000, NULL, 0, NULL);
	ok(is_result(g, RUN_OK, 0, 3) && g->rs.result_is_json,
	    "exec: exit 3 is ok false, status 3, stdout kept (%s)", desc(g));
	is_str(g ? (const char *)g->rs.stderr_buf : "",
	    "oops: something failed\n", "exec: stderr of a failed tool");
	got_free(g);

	g = run_script(r, "selfkill.sh", 5000, NULL, 0, NULL);
	ok(is_result(g, RUN_OK, 0, 128 + SIGTERM), "exec: killed by SIGTERM "
	    "is status 143 (%s)", desc(g));
	got_free(g);

	g = run_script(r, "flood.sh", 20000, NULL, 0, NULL);
	ok(g != NULL && g->rs.outcome == RUN_TOO_LARGE &&
	    g->rs.result_len == 0 && g->rs.duration_ms < 10000, "exec: 10 MiB "
	    "on stdout is RUN_TOO_LARGE, nothing returned, well before the "
	    "timeout (%s)", desc(g));
	got_free(g);

	g = run_script(r, "forker.sh", 20000, NULL, 0, NULL);
	res = result_json(g);
	if (res != NULL) {
		a = (int)json_integer_value(json_object_get(res, "holder"));
		b = (int)json_integer_value(json_object_get(res, "detached"));
	}
	ok(is_result(g, RUN_OK, 1, 0) && g->rs.duration_ms < 3000 && a > 0 &&
	    b > 0, "exec: a tool whose children outlive it, one holding "
	    "stdout, returns once it exits (%s)", desc(g));
	ok(a > 0 && b > 0 && gone_within(a, 3000) && gone_within(b, 3000),
	    "exec: those children are killed with its process group");
	json_decref(res);
	got_free(g);

	g = run_script(r, "sleeper.sh", 1000, NULL, 0, NULL);
	a = b = 0;
	if (g != NULL)
		sscanf((const char *)g->rs.stderr_buf, "pid %d\nchild %d", &a,
		    &b);
	ok(g != NULL && g->rs.outcome == RUN_TIMEOUT &&
	    g->rs.duration_ms >= 1000 && g->rs.duration_ms < 4000,
	    "exec: a tool that never ends is RUN_TIMEOUT at 1000 ms (%s)",
	    desc(g));
	ok(a > 0 && b > 0 && gone_within(a, 3000) && gone_within(b, 3000),
	    "exec: at the timeout its whole process group is killed (%d %d)",
	    a, b);
	got_free(g);

	g = run_script(r, "no-such-tool", 5000, NULL, 0, NULL);
	ok(g != NULL && g->rs.outcome == RUN_UPSTREAM &&
	    strstr(g->rs.message, "cannot execute") != NULL, "exec: a missing "
	    "command is RUN_UPSTREAM (%s)", desc(g));
	got_free(g);
}

void
exec_stderr_cut(struct runner *r)
{
	const char *cut = "\n[stderr truncated]";
	char at[16], prefix[9];
	struct got *g;
	size_t vlen = strlen(V_LONG), n;

	/* The second copy starts 32 bytes before the capture's end. */
	snprintf(at, sizeof(at), "%zu", (size_t)TOOL_STDERR_MAX - vlen - 32);
	g = run_script(r, "stderr_flood.py", 5000, "at", PARAM_NUMBER, at);
	n = g != NULL ? g->rs.stderr_len : 0;
	ok(g != NULL && g->rs.outcome == RUN_OK && n <= TOOL_STDERR_MAX &&
	    n > strlen(cut) && memcmp(g->rs.stderr_buf + n - strlen(cut), cut,
	    strlen(cut)) == 0, "exec: stderr past its cap is cut and says so "
	    "(%zu bytes; %s)", n, desc(g));
	memcpy(prefix, V_LONG, 8);
	prefix[8] = '\0';
	ok(g != NULL && memmem(g->rs.stderr_buf, n, prefix, 8) == NULL &&
	    g->rs.redactions == 1, "exec: a value cut in two by the cap "
	    "leaves none of its bytes; the whole copy is one redaction (%u)",
	    g ? g->rs.redactions : 0);
	if (g != NULL)
		no_leak(g, V_LONG, NULL, "exec, stderr cut");
	got_free(g);
}

void
exec_peek(struct runner *r)
{
	char pid[16];
	struct got *g;
	json_t *res;

	snprintf(pid, sizeof(pid), "%d", (int)r->pid);
	g = run_script(r, "peek.sh", 5000, "pid", PARAM_NUMBER, pid);
	res = result_json(g);
	ok(res != NULL && strcmp(jstr(res, "own_environ", NULL), "open") == 0
	    && strcmp(jstr(res, "environ", NULL), "refused") == 0 &&
	    strcmp(jstr(res, "mem", NULL), "refused") == 0, "exec: a tool "
	    "cannot open the runner's environ or memory, though it runs as "
	    "the same user (%s)", g ? (const char *)g->rs.result : "none");
	json_decref(res);
	got_free(g);
}

/*
 * Tools run as the same user: one may not read another's environment
 * (its credential) or memory, nor signal it, while both run.
 */
void
exec_peek_sibling(struct runner *r)
{
	char pidfile[PATH_MAX], buf[64], pid[16];
	struct run_request *rq;
	struct tool_action *a;
	struct tool t;
	struct got *g;
	json_t *res;
	uint32_t id;
	long long end;
	int fd, tool = 0, child = 0;
	ssize_t n;

	snprintf(pidfile, sizeof(pidfile), "%s/pids/sibling", o.dir);
	unlink(pidfile);
	exec_tool(&t, "sleeper", "sleeper.sh");
	t.timeout_ms = 20000;
	add_slot(&t, "apiKey", SLOT_ENV, "CRM_KEY", "{}");
	a = add_action(&t, "run", "", "");
	add_param(a, "pidfile", PARAM_STRING, PARAM_BODY, 1);
	rq = request(&t, "run");
	param(rq, "pidfile", PARAM_STRING, pidfile);
	cred(rq, "apiKey", "sibling-secret-0123456789");
	id = submit(r, rq);
	free(rq);
	for (end = now_ms() + 5000; now_ms() < end && tool == 0; nap_ms(20))
		if ((fd = open(pidfile, O_RDONLY)) != -1) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = '\0';
			sscanf(buf, "%d %d", &tool, &child);
		}
	snprintf(pid, sizeof(pid), "%d", tool);
	g = run_script(r, "peek.sh", 5000, "pid", PARAM_NUMBER, pid);
	res = result_json(g);
	ok(tool > 0 && res != NULL &&
	    strcmp(jstr(res, "own_environ", NULL), "open") == 0 &&
	    strcmp(jstr(res, "environ", NULL), "refused") == 0 &&
	    strcmp(jstr(res, "mem", NULL), "refused") == 0, "exec: a tool "
	    "cannot open another running tool's environ or memory (%s)",
	    g ? (const char *)g->rs.result : "none");
	ok(res != NULL && strcmp(jstr(res, "signal", NULL), "refused") == 0,
	    "exec: nor signal it (%s)", g ? (const char *)g->rs.result :
	    "none");
	json_decref(res);
	got_free(g);
	if (tool > 0)
		kill(tool, SIGKILL);
	got_free(wait_for(r, id, WAIT_MS));
}

/*
 * Twelve executions at once, http and exec mixed, four at a time: each
 * answer is its own request's, and holds no value of any of them.
 */
void
many_at_once(struct runner *r)
{
	char vals[12][40], id[16], want[32];
	struct run_request *rq;
	struct tool th, te;
	struct got *g;
	uint32_t ids[12];
	json_t *res;
	int i, j, good = 0, clean = 0;

	echo_tool(&th, url_https, SLOT_HEADER);
	env_tool(&te);
	for (i = 0; i < 12; i++) {
		snprintf(vals[i], sizeof(vals[i]), "many-%02d-%08x", i,
		    (unsigned)randombytes_random());
		if (i % 3 == 2) {
			rq = request(&te, "lookup");
			param(rq, "email", PARAM_STRING, "x@example.com");
			cred(rq, "apiKey", vals[i]);
			cred(rq, "token", vals[i]);
		} else {
			rq = request(&th, "path");
			snprintf(id, sizeof(id), "n%d", i);
			param(rq, "id", PARAM_STRING, id);
			cred(rq, "apiKey", vals[i]);
		}
		ids[i] = submit(r, rq);
		free(rq);
	}
	for (i = 11; i >= 0; i--) {
		g = wait_for(r, ids[i], WAIT_MS);
		res = result_json(g);
		snprintf(want, sizeof(want), "/echo/n%d", i);
		if (i % 3 == 2 ? is_result(g, RUN_OK, 1, 0) &&
		    strcmp(jstr(res, "env", "CRM_KEY"), "[REDACTED:apiKey]") ==
		    0 : is_result(g, RUN_OK, 1, 200) &&
		    strcmp(jstr(res, "path", NULL), want) == 0)
			good++;
		for (j = 0; j < 12 && g != NULL; j++)
			if (leak_of(g->rs.result, g->rs.result_len, vals[j]) !=
			    NULL)
				break;
		clean += j == 12;
		json_decref(res);
		got_free(g);
	}
	ok(good == 12, "twelve executions at once, four at a time: each "
	    "answer is its own request's (%d of 12)", good);
	ok(clean == 12, "and none holds a value of any of them (%d of 12)",
	    clean);
}

/* Same user, but it may signal only its own. */
void
exec_signals(struct runner *r)
{
	static const char *want = "{\"supervisor\": \"refused\", \"runner\": "
	    "\"refused\", \"launcher\": \"refused\", \"everyone\": "
	    "\"refused\", \"runner_group\": \"refused\", \"own_child\": "
	    "\"allowed\", \"own_group\": \"allowed\"}";
	struct run_request *rq;
	struct tool_action *a;
	struct tool t;
	struct got *g;
	json_t *res, *w;
	char num[3][16];

	snprintf(num[0], sizeof(num[0]), "%d", (int)r->pid);
	snprintf(num[1], sizeof(num[1]), "%d", (int)child_of(r->pid));
	snprintf(num[2], sizeof(num[2]), "%d", (int)getpgid(r->pid));
	exec_tool(&t, "killer", "killer.py");
	a = add_action(&t, "run", "", "");
	add_param(a, "runner", PARAM_NUMBER, PARAM_BODY, 1);
	add_param(a, "launcher", PARAM_NUMBER, PARAM_BODY, 1);
	add_param(a, "runner_group", PARAM_NUMBER, PARAM_BODY, 1);
	rq = request(&t, "run");
	param(rq, "runner", PARAM_NUMBER, num[0]);
	param(rq, "launcher", PARAM_NUMBER, num[1]);
	param(rq, "runner_group", PARAM_NUMBER, num[2]);
	g = run(r, rq);
	res = result_json(g);
	w = json_loads(want, 0, NULL);
	ok(res != NULL && json_equal(res, w), "exec: a tool may not signal its "
	    "supervisor, the runner, the launcher, their group or every "
	    "process of its user; its own children, yes (%s)",
	    g ? (const char *)g->rs.result : "no answer");
	json_decref(w);
	json_decref(res);
	got_free(g);
	free(rq);
}
