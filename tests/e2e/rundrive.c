/*
 * rundrive: the broker's side of secretd-runner's channel, for
 * tests/e2e/test_runner.sh.  It starts the real runner as the broker
 * will (fork+exec, channel on fd 3, output to a log, a clean environment,
 * already the runner's user with no_new_privs), says READY, sends tools
 * to run and checks every answer, what the upstream (upstream.py)
 * received, the runner's and launcher's confinement, and how the runner
 * ends.  TAP on stdout.  Expected encodings come from libsodium, jansson
 * and a plain encoder here, never from the runner's code.  This file is
 * the harness and the cases about the processes; the http and exec cases
 * are in rundrive_http.c and rundrive_exec.c.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "rundrive.h"

struct rundrive_opts o;
char url_https[128], url_plain[128], url_down[128];

static uint32_t next_id = 1;
static int tap_n, tap_failed;

/* TAP, counted across the three files (tests/unit/tap.h is per file). */
int
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

static int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

long long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void
nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

void
bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* --- the runner's process ------------------------------------------- */

/* The sanitizers' settings, and what the test adds. */
static char **
child_env(const struct spawn *x)
{
	static const char *keep[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS",
	    "LSAN_OPTIONS", NULL };
	static char *env[8];
	static char bufs[3][512];
	const char *v;
	int i, n = 0;

	for (i = 0; keep[i] != NULL; i++)
		if ((v = getenv(keep[i])) != NULL) {
			snprintf(bufs[n], sizeof(bufs[n]), "%s=%s", keep[i], v);
			env[n] = bufs[n];
			n++;
		}
	for (i = 0; x != NULL && i < 4 && x->env[i] != NULL; i++)
		env[n++] = (char *)x->env[i];
	env[n] = NULL;
	return env;
}

/* Its own /etc/hosts, in a mount namespace of its own. */
static int
hosts_override(const char *hosts)
{
	return unshare(CLONE_NEWNS) == -1 || mount(NULL, "/", NULL,
	    MS_REC | MS_PRIVATE, NULL) == -1 || mount(hosts, "/etc/hosts",
	    NULL, MS_BIND, NULL) == -1 ? -1 : 0;
}

/* As the broker does it: ids dropped in the child, then exec. */
void
runner_spawn_with(struct runner *r, const struct spawn *x, const char *tag)
{
	char *argv[] = { "secretd-runner", "-v", NULL };
	int sv[2], logfd, fd, lfd;

	memset(r, 0, sizeof(*r));
	snprintf(r->log, sizeof(r->log), "%s/runner-%s.log", o.dir, tag);
	if ((logfd = open(r->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1 || socketpair(AF_UNIX, SOCK_SEQPACKET |
	    SOCK_CLOEXEC, 0, sv) == -1)
		bail("runner_spawn");
	if ((r->pid = fork()) == -1)
		bail("fork");
	if (r->pid == 0) {
		if (x->hosts != NULL && hosts_override(x->hosts) == -1)
			_exit(125);
		if (!x->as_root && (setgroups(0, NULL) == -1 ||
		    setresgid(o.gid, o.gid, o.gid) == -1 ||
		    setresuid(o.uid, o.uid, o.uid) == -1))
			_exit(126);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
		    (fd = fcntl(sv[1], F_DUPFD, 10)) == -1 ||
		    (lfd = fcntl(logfd, F_DUPFD, 10)) == -1 ||
		    dup2(fd, 3) == -1 || dup2(lfd, 1) == -1 ||
		    dup2(lfd, 2) == -1)
			_exit(126);
		close(0);
		closefrom(4);
		execve(o.runner, argv, child_env(x));
		_exit(127);
	}
	close(sv[1]);
	close(logfd);
	if (ipc_chan_init(&r->chan, sv[0]) == -1)
		bail("ipc_chan_init");
}

static void
runner_spawn(struct runner *r, int as_user, const char *tag)
{
	struct spawn x;

	memset(&x, 0, sizeof(x));
	x.as_root = !as_user;
	runner_spawn_with(r, &x, tag);
}

/* The runner's exit status within ms, or -1 while it still runs. */
int
runner_exit_within(struct runner *r, int ms)
{
	long long end = now_ms() + ms;
	int st;

	while (now_ms() < end) {
		if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
			r->dead = 1;
			return WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st);
		}
		nap_ms(20);
	}
	return -1;
}

void
runner_kill(struct runner *r)
{
	if (!r->dead && r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->dead = 1;
	}
	ipc_chan_close(&r->chan);
}

static int
log_has(const struct runner *r, const char *s)
{
	char buf[65536];
	ssize_t n;
	int fd, found;

	if ((fd = open(r->log, O_RDONLY)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	found = strstr(buf, s) != NULL;
	return found;
}

/* --- the channel ---------------------------------------------------- */

static int
chan_recv(struct runner *r, int ms, struct ipc_reader **rd)
{
	long long end = now_ms() + ms;
	struct pollfd pfd;
	int rc;

	for (;;) {
		rc = ipc_chan_recv(&r->chan, NULL, rd);
		if (rc != IPC_AGAIN)
			return rc;
		pfd.fd = r->chan.fd;
		pfd.events = POLLIN;
		if (now_ms() >= end ||
		    poll(&pfd, 1, (int)(end - now_ms())) <= 0)
			return IPC_AGAIN;
	}
}

static void
chan_send(struct runner *r, struct ipc_msg *m)
{
	struct pollfd pfd;

	if (ipc_chan_send(&r->chan, m) == -1)
		bail("ipc_chan_send");
	while (ipc_chan_pending(&r->chan)) {
		if (ipc_chan_flush(&r->chan) == -1)
			return;		/* the runner is gone: tests say so */
		pfd.fd = r->chan.fd;
		pfd.events = POLLOUT;
		poll(&pfd, 1, 1000);
	}
}

/* HELLO with our version, then READY. */
int
handshake(struct runner *r, uint32_t max, uint8_t debug)
{
	struct ipc_reader *rd;
	struct ipc_msg m;
	uint32_t v;

	if (chan_recv(r, WAIT_MS, &rd) != IPC_READY ||
	    rd->hdr.type != IMSG_RUN_HELLO || ipc_get_u32(rd, &v) == -1 ||
	    ipc_end(rd) == -1 || v != PROTO_VERSION)
		return -1;
	ipc_msg_init(&m, IMSG_RUN_READY, 0);
	ipc_put_u32(&m, max);
	ipc_put_u8(&m, debug | o.debug);
	chan_send(r, &m);
	return 0;
}

uint32_t
submit(struct runner *r, const struct run_request *rq)
{
	struct ipc_msg m;
	char err[256];
	uint32_t id = next_id++;

	if (run_request_check(rq, err, sizeof(err)) == -1 ||
	    tool_check(&rq->tool, err, sizeof(err)) == -1) {
		printf("Bail out! a bad request in the test: %s\n", err);
		exit(1);
	}
	ipc_msg_init(&m, IMSG_RUN_EXEC, id);
	run_request_put(&m, rq);
	chan_send(r, &m);
	return id;
}

static void *
dup_bytes(const void *p, size_t n)
{
	char *d = malloc(n + 1);

	if (d == NULL)
		bail("malloc");
	if (n > 0)
		memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

void
got_free(struct got *g)
{
	if (g == NULL)
		return;
	free((void *)g->rs.result);
	free((void *)g->rs.stderr_buf);
	free(g);
}

/* The answer to id, whatever came before it; NULL after WAIT_MS. */
struct got *
wait_for(struct runner *r, uint32_t id, int ms)
{
	struct ipc_reader *rd;
	struct got *g;
	int i;

	for (;;) {
		for (i = 0; i < r->nstash; i++)
			if (r->stash[i]->id == id) {
				g = r->stash[i];
				r->stash[i] = r->stash[--r->nstash];
				return g;
			}
		if (chan_recv(r, ms, &rd) != IPC_READY)
			return NULL;
		if ((g = calloc(1, sizeof(*g))) == NULL)
			bail("calloc");
		if (rd->hdr.type != IMSG_RUN_RESULT ||
		    run_result_get(rd, &g->rs) == -1 ||
		    r->nstash == STASH_MAX) {
			printf("# a malformed message from the runner\n");
			free(g);
			return NULL;
		}
		g->id = rd->hdr.id;
		g->at = now_ms();
		g->rs.result = dup_bytes(g->rs.result, g->rs.result_len);
		g->rs.stderr_buf = dup_bytes(g->rs.stderr_buf,
		    g->rs.stderr_len);
		r->stash[r->nstash++] = g;
	}
}

struct got *
run(struct runner *r, const struct run_request *rq)
{
	return wait_for(r, submit(r, rq), WAIT_MS);
}

/* --- tools and requests --------------------------------------------- */

static void
tool_base(struct tool *t, const char *name, uint8_t type)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->type = type;
	t->timeout_ms = 5000;
	t->max_result = TOOL_RESULT_DEFAULT;
}

static void
http_tool(struct tool *t, const char *name, const char *url, int use_ca)
{
	tool_base(t, name, TOOL_HTTP);
	snprintf(t->base_url, sizeof(t->base_url), "%s", url);
	if (use_ca)
		snprintf(t->ca_file, sizeof(t->ca_file), "%s", o.ca);
}

void
exec_tool(struct tool *t, const char *name, const char *script)
{
	tool_base(t, name, TOOL_EXEC);
	snprintf(t->command, sizeof(t->command), "%s/%s", o.tools, script);
}

void
add_slot(struct tool *t, const char *name, uint8_t place,
    const char *target, const char *tmpl)
{
	struct tool_slot *s = &t->slots[t->nslots++];

	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->secret, sizeof(s->secret), "SECRET_%s", name);
	s->place = place;
	snprintf(s->target, sizeof(s->target), "%s", target);
	snprintf(s->tmpl, sizeof(s->tmpl), "%s", tmpl);
}

struct tool_action *
add_action(struct tool *t, const char *name, const char *method,
    const char *path)
{
	struct tool_action *a = &t->actions[t->nactions++];

	snprintf(a->name, sizeof(a->name), "%s", name);
	snprintf(a->method, sizeof(a->method), "%s", method);
	snprintf(a->path, sizeof(a->path), "%s", path);
	return a;
}

void
add_param(struct tool_action *a, const char *name, uint8_t type,
    uint8_t place, uint8_t required)
{
	struct tool_param *p = &a->params[a->nparams++];

	snprintf(p->name, sizeof(p->name), "%s", name);
	p->type = type;
	p->place = place;
	p->required = required;
}

/* The echo upstream, its slot placed as asked, with every action. */
void
echo_tool(struct tool *t, const char *url, uint8_t place)
{
	struct tool_action *a;

	http_tool(t, "echo", url, 1);
	if (place == SLOT_HEADER)
		add_slot(t, "apiKey", place, "X-Api-Key", "Bearer {}");
	else if (place == SLOT_QUERY)
		add_slot(t, "apiKey", place, "key", "{}");
	else if (place == SLOT_BASIC)
		add_slot(t, "apiKey", place, "", "api:{}");
	a = add_action(t, "get", "GET", "/echo");
	add_param(a, "echo", PARAM_STRING, PARAM_QUERY, 0);
	add_param(a, "fmt", PARAM_STRING, PARAM_QUERY, 0);
	a = add_action(t, "path", "GET", "/echo/{id}");
	add_param(a, "id", PARAM_STRING, PARAM_PATH, 1);
	add_param(a, "q", PARAM_STRING, PARAM_QUERY, 0);
	a = add_action(t, "post", "POST", "/echo");
	add_param(a, "s", PARAM_STRING, PARAM_BODY, 0);
	add_param(a, "n", PARAM_NUMBER, PARAM_BODY, 0);
	add_param(a, "flag", PARAM_BOOL, PARAM_BODY, 0);
	add_param(a, "q", PARAM_STRING, PARAM_QUERY, 0);
	a = add_action(t, "status", "GET", "/status/{code}");
	add_param(a, "code", PARAM_STRING, PARAM_PATH, 1);
	a = add_action(t, "slow", "GET", "/slow");
	a = add_action(t, "redirect", "GET", "/redirect");
	add_param(a, "to", PARAM_STRING, PARAM_QUERY, 1);
	a = add_action(t, "big", "GET", "/big");
	add_param(a, "n", PARAM_NUMBER, PARAM_QUERY, 1);
	add_param(a, "chunked", PARAM_BOOL, PARAM_QUERY, 0);
}

struct run_request *
request(const struct tool *t, const char *action)
{
	struct run_request *rq = calloc(1, sizeof(*rq));

	if (rq == NULL)
		bail("calloc");
	rq->tool = *t;
	snprintf(rq->action, sizeof(rq->action), "%s", action);
	return rq;
}

void
param(struct run_request *rq, const char *name, uint8_t type,
    const char *value)
{
	struct run_param *p = &rq->params[rq->nparams++];

	snprintf(p->name, sizeof(p->name), "%s", name);
	p->type = type;
	snprintf(p->value, sizeof(p->value), "%s", value);
}

/* value must outlive the submit. */
void
cred(struct run_request *rq, const char *slot, const char *value)
{
	struct run_cred *c = &rq->creds[rq->ncreds++];

	snprintf(c->slot, sizeof(c->slot), "%s", slot);
	c->value = (const uint8_t *)value;
	c->value_len = strlen(value);
}

/* --- what the result must not hold ---------------------------------- */

static char *
pct(const char *v, int lower, int plus)
{
	char *out = malloc(strlen(v) * 3 + 1), *q = out;
	const unsigned char *p;

	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (isalnum(*p) || strchr("-._~", *p) != NULL)
			*q++ = (char)*p;
		else if (*p == ' ' && plus)
			*q++ = '+';
		else
			q += sprintf(q, lower ? "%%%02x" : "%%%02X", *p);
	}
	*q = '\0';
	return out;
}

static char *
jansson_inner(const char *v, size_t flags, int lower)
{
	json_t *s = json_string(v);
	char *d = json_dumps(s, JSON_ENCODE_ANY | flags), *in, *p;

	in = strndup(d + 1, strlen(d) - 2);
	free(d);
	json_decref(s);
	if (lower)	/* as Python writes \u escapes */
		for (p = in; (p = strstr(p, "\\u")) != NULL; p += 2) {
			p[2] = (char)tolower((unsigned char)p[2]);
			p[3] = (char)tolower((unsigned char)p[3]);
			p[4] = (char)tolower((unsigned char)p[4]);
			p[5] = (char)tolower((unsigned char)p[5]);
		}
	return in;
}

char *
b64(const char *v, int variant)
{
	size_t n = sodium_base64_ENCODED_LEN(strlen(v), variant);
	char *out = malloc(n);

	sodium_bin2base64(out, n, (const unsigned char *)v, strlen(v),
	    variant);
	return out;
}

static char *
hex(const char *v, int upper)
{
	char *out = malloc(strlen(v) * 2 + 1), *p;

	sodium_bin2hex(out, strlen(v) * 2 + 1, (const unsigned char *)v,
	    strlen(v));
	if (upper)
		for (p = out; *p != '\0'; p++)
			*p = (char)toupper((unsigned char)*p);
	return out;
}

/* The first encoding of v that buf holds, or NULL. */
const char *
leak_of(const void *buf, size_t n, const char *v)
{
	static const char *names[] = { "raw", "JSON", "JSON ASCII",
	    "JSON \\/", "JSON Python", "percent", "percent lower",
	    "form-encoded", "base64", "base64 unpadded", "base64url",
	    "base64url unpadded", "hex", "HEX" };
	char *enc[14];
	const char *found = NULL;
	size_t i;

	enc[0] = strdup(v);
	enc[1] = jansson_inner(v, 0, 0);
	enc[2] = jansson_inner(v, JSON_ENSURE_ASCII, 0);
	enc[3] = jansson_inner(v, JSON_ESCAPE_SLASH | JSON_ENSURE_ASCII, 0);
	enc[4] = jansson_inner(v, JSON_ENSURE_ASCII, 1);
	enc[5] = pct(v, 0, 0);
	enc[6] = pct(v, 1, 0);
	enc[7] = pct(v, 0, 1);
	enc[8] = b64(v, sodium_base64_VARIANT_ORIGINAL);
	enc[9] = b64(v, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	enc[10] = b64(v, sodium_base64_VARIANT_URLSAFE);
	enc[11] = b64(v, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	enc[12] = hex(v, 0);
	enc[13] = hex(v, 1);
	for (i = 0; i < 14; i++) {
		if (found == NULL && memmem(buf, n, enc[i], strlen(enc[i])) !=
		    NULL)
			found = names[i];
		free(enc[i]);
	}
	return found;
}

/* Neither the value nor its rendered form, in any encoding. */
void
no_leak(const struct got *g, const char *v, const char *rendered,
    const char *what)
{
	const char *l1 = leak_of(g->rs.result, g->rs.result_len, v);
	const char *l2 = leak_of(g->rs.stderr_buf, g->rs.stderr_len, v);
	const char *l3 = rendered == NULL ? NULL : leak_of(g->rs.result,
	    g->rs.result_len, rendered);

	ok(l1 == NULL && l2 == NULL && l3 == NULL, "%s: no encoding of the "
	    "value or its rendered form is left (%s)", what,
	    l1 ? l1 : l2 ? l2 : l3 ? l3 : "none");
}

/* --- the upstream's record ------------------------------------------ */

static json_t *
upstream_requests(void)
{
	json_t *all = json_array(), *j;
	char line[262144];
	FILE *f;

	if ((f = fopen(o.log, "r")) == NULL)
		return all;
	while (fgets(line, sizeof(line), f) != NULL)
		if ((j = json_loads(line, 0, NULL)) != NULL)
			json_array_append_new(all, j);
	fclose(f);
	return all;
}

size_t
upstream_count(void)
{
	json_t *all = upstream_requests();
	size_t n = json_array_size(all);

	json_decref(all);
	return n;
}

/* The last request the upstream got (a new reference), or NULL. */
json_t *
upstream_last(void)
{
	json_t *all = upstream_requests(), *last;
	size_t n = json_array_size(all);

	last = n > 0 ? json_incref(json_array_get(all, n - 1)) : NULL;
	json_decref(all);
	return last;
}

const char *
req_str(json_t *req, const char *key)
{
	const char *s = json_string_value(json_object_get(req, key));

	return s != NULL ? s : "(none)";
}

const char *
req_header(json_t *req, const char *name)
{
	json_t *h = json_object_get(req, "headers"), *kv;
	size_t i;

	json_array_foreach(h, i, kv)
		if (strcasecmp(json_string_value(json_array_get(kv, 0)),
		    name) == 0)
			return json_string_value(json_array_get(kv, 1));
	return "(none)";
}

int
is_result(const struct got *g, uint8_t outcome, int okflag, uint32_t status)
{
	return g != NULL && g->rs.outcome == outcome && g->rs.ok == okflag &&
	    g->rs.status == status;
}

const char *
desc(const struct got *g)
{
	static char buf[512];

	if (g == NULL)
		return "no answer";
	snprintf(buf, sizeof(buf), "outcome %u, ok %u, status %u, %u ms, %u "
	    "redactions, message \"%s\"", g->rs.outcome, g->rs.ok,
	    g->rs.status, g->rs.duration_ms, g->rs.redactions,
	    g->rs.message);
	return buf;
}

void
is_str(const char *got, const char *want, const char *fmt, ...)
{
	char name[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (!ok(got != NULL && strcmp(got, want) == 0, "%s", name))
		printf("#   got:  %s\n#   want: %s\n", got ? got : "(null)",
		    want);
}

json_t *
result_json(const struct got *g)
{
	if (g == NULL || !g->rs.result_is_json)
		return NULL;
	return json_loadb((const char *)g->rs.result, g->rs.result_len, 0,
	    NULL);
}

const char *
jstr(json_t *j, const char *path1, const char *path2)
{
	json_t *v = json_object_get(j, path1);
	const char *s;

	if (path2 != NULL)
		v = json_object_get(v, path2);
	s = json_string_value(v);
	return s != NULL ? s : "(none)";
}


/* Whether pid is gone (or a zombie) within ms. */
int
gone_within(pid_t pid, int ms)
{
	long long end = now_ms() + ms;
	char path[64], buf[256];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	while (now_ms() < end) {
		if ((fd = open(path, O_RDONLY)) == -1)
			return 1;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		if (strstr(buf, ") Z ") != NULL)
			return 1;
		nap_ms(20);
	}
	return 0;
}

/* --- the processes -------------------------------------------------- */

static const char *
status_field(pid_t pid, const char *field)
{
	static char val[256];
	char path[64], line[512];
	size_t n = strlen(field);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	strcpy(val, "(none)");
	if ((f = fopen(path, "r")) == NULL)
		return val;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			char *p = line + n + 1, *q = val;

			while (*p == '\t' || *p == ' ')
				p++;
			for (; *p != '\0' && *p != '\n'; p++)
				*q++ = *p == '\t' ? ' ' : *p;
			*q = '\0';
			break;
		}
	fclose(f);
	return val;
}

/* Both load their filters after start-up: give them a moment. */
static void
wait_field(pid_t pid, const char *field, const char *want, int ms)
{
	long long end = now_ms() + ms;

	while (now_ms() < end && strcmp(status_field(pid, field), want) != 0)
		nap_ms(20);
}

pid_t
child_of(pid_t parent)
{
	struct dirent *de;
	char want[32];
	pid_t found = -1;
	DIR *d;

	snprintf(want, sizeof(want), "%d", (int)parent);
	if ((d = opendir("/proc")) == NULL)
		return -1;
	while (found == -1 && (de = readdir(d)) != NULL)
		if (isdigit((unsigned char)de->d_name[0]) &&
		    strcmp(status_field(atoi(de->d_name), "PPid"), want) == 0)
			found = atoi(de->d_name);
	closedir(d);
	return found;
}

/*
 * Counts descriptors; *bad: one that is neither a socket, a pipe,
 * /dev/null or the log it was given as stdout and stderr (the broker
 * gives a pipe; here it is a file).
 */
static int
fds_of(pid_t pid, const char *log, int *bad)
{
	char path[64], link[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	ssize_t n;
	int count = 0;
	DIR *d;

	*bad = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		count++;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		if ((n = readlink(link, target, sizeof(target) - 1)) < 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, "socket:", 7) != 0 &&
		    strncmp(target, "pipe:", 5) != 0 &&
		    strcmp(target, "/dev/null") != 0 &&
		    strcmp(target, log) != 0)
			(*bad)++;
	}
	closedir(d);
	return count;
}

static void
confinement(const char *who, pid_t pid)
{
	char ids[64];

	snprintf(ids, sizeof(ids), "%u %u %u %u", (unsigned)o.uid,
	    (unsigned)o.uid, (unsigned)o.uid, (unsigned)o.uid);
	is_str(status_field(pid, "Uid"), ids, "%s: every uid is the runner "
	    "user's (non-zero)", who);
	snprintf(ids, sizeof(ids), "%u %u %u %u", (unsigned)o.gid,
	    (unsigned)o.gid, (unsigned)o.gid, (unsigned)o.gid);
	is_str(status_field(pid, "Gid"), ids, "%s: every gid is the runner "
	    "user's group", who);
	is_str(status_field(pid, "CapEff"), "0000000000000000",
	    "%s: CapEff 0", who);
	is_str(status_field(pid, "CapPrm"), "0000000000000000",
	    "%s: CapPrm 0", who);
	is_str(status_field(pid, "NoNewPrivs"), "1", "%s: NoNewPrivs 1", who);
	is_str(status_field(pid, "Seccomp"), "2", "%s: Seccomp 2", who);
}

static void
processes(struct runner *r)
{
	pid_t launcher;
	int n, bad;

	wait_field(r->pid, "Seccomp", "2", 5000);
	launcher = child_of(r->pid);
	wait_field(launcher, "Seccomp", "2", 5000);
	confinement("runner", r->pid);
	ok(launcher > 0, "the runner has one child, the launcher (%d)",
	    (int)launcher);
	confinement("launcher", launcher);
	n = fds_of(r->pid, r->log, &bad);
	ok(n == 7 && bad == 0, "runner: stdio, the channel, the launcher's "
	    "socket and its wake-up pipe, no file (%d descriptors, %d other)",
	    n, bad);
	n = fds_of(launcher, r->log, &bad);
	ok(n == 4 && bad == 0, "launcher: stdio and its socket to the runner "
	    "only, not the broker channel (%d descriptors)", n);
}

/* --- how it starts and ends ----------------------------------------- */

static void
refuses_root(void)
{
	struct runner r;
	int rc;

	runner_spawn(&r, 0, "root");
	rc = runner_exit_within(&r, 5000);
	ok(rc == 1 && log_has(&r, "must not run as root"), "started as root, "
	    "the runner refuses and exits 1 (%d)", rc);
	runner_kill(&r);
}

static void
fatal_message(const char *what, uint32_t type, const void *payload,
    size_t len, int before_ready)
{
	struct runner r;
	struct ipc_msg m;
	int rc = -2;

	runner_spawn(&r, 1, "fatal");
	if (before_ready) {
		struct ipc_reader *rd;

		if (chan_recv(&r, WAIT_MS, &rd) != IPC_READY)
			goto done;
	} else if (handshake(&r, 2, 0) == -1)
		goto done;
	ipc_msg_init(&m, type, 7);
	ipc_put_bytes(&m, payload, len);
	chan_send(&r, &m);
	rc = runner_exit_within(&r, 5000);
done:
	ok(rc == 1, "%s: the runner logs it and exits 1 (%d)", what, rc);
	runner_kill(&r);
}

static void
ready_max_zero(void)
{
	struct runner r;
	int rc = -2;

	runner_spawn(&r, 1, "ready0");
	if (handshake(&r, 0, 0) == 0)
		rc = runner_exit_within(&r, 5000);
	ok(rc == 1, "READY with max_concurrent 0: the runner exits 1 (%d)",
	    rc);
	runner_kill(&r);
}

/* The bound: with max_concurrent 1, a second execution waits. */
static void
bounded(void)
{
	struct run_request *slow, *fast;
	struct runner r;
	struct tool t;
	struct got *gs, *gf;
	uint32_t a, b;

	runner_spawn(&r, 1, "bounded");
	if (handshake(&r, 1, 0) == -1)
		bail("handshake");
	echo_tool(&t, url_https, SLOT_HEADER);
	t.timeout_ms = 1000;
	slow = request(&t, "slow");
	cred(slow, "apiKey", V_PLAIN);
	fast = request(&t, "get");
	cred(fast, "apiKey", V_PLAIN);
	a = submit(&r, slow);
	b = submit(&r, fast);
	gs = wait_for(&r, a, WAIT_MS);
	gf = wait_for(&r, b, WAIT_MS);
	ok(gs != NULL && gf != NULL && gs->rs.outcome == RUN_TIMEOUT &&
	    gf->rs.outcome == RUN_OK && gf->at >= gs->at &&
	    gf->rs.duration_ms < 1000, "max_concurrent 1: the second waits "
	    "for the first, then runs (%s)", desc(gf));
	got_free(gs);
	got_free(gf);
	free(slow);
	free(fast);
	runner_kill(&r);
}

/* Killed mid-execution: the launcher, supervisor and tool go too. */
static void
killed_mid_exec(void)
{
	char pidfile[PATH_MAX], buf[64];
	struct run_request *rq;
	struct tool_action *a;
	struct runner r;
	struct tool t;
	pid_t launcher;
	long long end;
	int fd, tool = 0, child = 0;
	ssize_t n;

	snprintf(pidfile, sizeof(pidfile), "%s/pids/sleeper", o.dir);
	unlink(pidfile);
	runner_spawn(&r, 1, "killed");
	if (handshake(&r, 2, 0) == -1)
		bail("handshake");
	exec_tool(&t, "sleeper", "sleeper.sh");
	t.timeout_ms = 60000;
	a = add_action(&t, "run", "", "");
	add_param(a, "pidfile", PARAM_STRING, PARAM_BODY, 1);
	rq = request(&t, "run");
	param(rq, "pidfile", PARAM_STRING, pidfile);
	submit(&r, rq);
	free(rq);
	for (end = now_ms() + 5000; now_ms() < end && tool == 0; nap_ms(20))
		if ((fd = open(pidfile, O_RDONLY)) != -1) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = '\0';
			sscanf(buf, "%d %d", &tool, &child);
		}
	launcher = child_of(r.pid);
	runner_kill(&r);
	ok(tool > 0 && child > 0 && gone_within(tool, 3000) &&
	    gone_within(child, 3000), "the runner killed mid-execution: the "
	    "tool's process group goes too (%d %d)", tool, child);
	ok(launcher > 0 && gone_within(launcher, 3000), "the runner killed: "
	    "the launcher goes too");
}

static void
channel_close(struct runner *r)
{
	pid_t launcher = child_of(r->pid);
	int rc;

	close(r->chan.fd);
	r->chan.fd = -1;
	rc = runner_exit_within(r, 5000);
	ok(rc == 0, "the broker closes the channel: the runner exits 0 (%d)",
	    rc);
	ok(launcher > 0 && gone_within(launcher, 3000), "and its launcher "
	    "exits with it");
	ok(!log_has(r, "seccomp refused") && !log_has(r, "Sanitizer") &&
	    !log_has(r, "runtime error"), "the runner logged no refused "
	    "syscall and no sanitizer report");
	runner_kill(r);
}

static void
run_cases(void)
{
	struct runner r;

	snprintf(url_https, sizeof(url_https), "https://localhost:%d",
	    o.port);
	snprintf(url_plain, sizeof(url_plain), "http://127.0.0.1:%d",
	    o.plain_port);
	snprintf(url_down, sizeof(url_down), "https://localhost:%d",
	    o.down_port);
	runner_spawn(&r, 1, "main");
	ok(handshake(&r, 4, 0) == 0, "the runner says HELLO with protocol "
	    "version %d and takes READY", PROTO_VERSION);
	processes(&r);
	http_header_slot(&r);
	http_query_slot(&r);
	http_basic_slot(&r);
	http_params(&r);
	http_refusals(&r);
	http_redirects(&r);
	http_big(&r);
	http_timeout(&r);
	http_connect_failures(&r);
	http_plain(&r);
	exec_env(&r);
	exec_outcomes(&r);
	exec_stderr_cut(&r);
	exec_peek(&r);
	exec_peek_sibling(&r);
	exec_signals(&r);
	many_at_once(&r);
	processes(&r);
	channel_close(&r);

	bounded();
	http_resolver();
	http_no_proxy();
	killed_mid_exec();
	refuses_root();
	ready_max_zero();
	fatal_message("a malformed EXEC", IMSG_RUN_EXEC, "garbage", 7, 0);
	fatal_message("a message of an unknown type", 999, "", 0, 0);
	fatal_message("EXEC before READY", IMSG_RUN_EXEC, "", 0, 1);
}

static void
usage(void)
{
	fprintf(stderr, "usage: rundrive [-g] -r runner -u user -d dir -c ca "
	    "-t tools -l log -p port -P plain_port -D down_port\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct passwd *pw;
	int ch;

	while ((ch = getopt(argc, argv, "gr:u:d:c:t:l:p:P:D:")) != -1) {
		switch (ch) {
		case 'r': o.runner = optarg; break;
		case 'u': o.user = optarg; break;
		case 'd': o.dir = optarg; break;
		case 'c': o.ca = optarg; break;
		case 't': o.tools = optarg; break;
		case 'l': o.log = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'P': o.plain_port = atoi(optarg); break;
		case 'D': o.down_port = atoi(optarg); break;
		case 'g': o.debug = 1; break;
		default: usage();
		}
	}
	if (o.runner == NULL || o.user == NULL || o.dir == NULL ||
	    o.ca == NULL || o.tools == NULL || o.log == NULL || o.port == 0 ||
	    o.plain_port == 0 || o.down_port == 0)
		usage();
	if ((pw = getpwnam(o.user)) == NULL || pw->pw_uid == 0)
		bail("the runner's user");
	o.uid = pw->pw_uid;
	o.gid = pw->pw_gid;
	if (sodium_init() < 0)
		bail("sodium_init");
	signal(SIGPIPE, SIG_IGN);
	run_cases();
	return done_testing();
}
