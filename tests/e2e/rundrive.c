/*
 * rundrive: the broker's side of secretd-runner's channel, for
 * tests/e2e/test_runner.sh.  It starts the real runner as the broker
 * will (fork+exec, channel on fd 3, output to a log, a clean environment,
 * already the runner's user with no_new_privs), says READY, sends tools
 * to run and checks every answer, what the upstream (upstream.py)
 * received, the runner's and launcher's confinement, and how the runner
 * ends.  TAP on stdout.  Expected encodings come from libsodium, jansson
 * and a plain encoder here, never from the runner's code.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <sched.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
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

#include "ipc.h"
#include "proto.h"
#include "tool.h"
#include "tap.h"

#define WAIT_MS		15000	/* for any one answer */
#define STASH_MAX	64

/* A header value: '/', '+', space, quotes, backslash, é, &=?#@~. */
#define V_NASTY		"s3cr/t+k \"q\"\\\xc3\xa9&=?#@~x"
#define V_PLAIN		"rtk-Plain-0123456789-abcdefXYZ"
#define V_EXEC		"exec-Key-0123456789"
#define V_EXEC2		"t0ken/Two+\xc3\xa9"
#define V_LONG		"LongValue-0123456789abcdef0123456789abcdef0123456789" \
			"abcdefgh-end"

static struct {
	const char	*runner;
	const char	*user;
	const char	*dir;
	const char	*ca;
	const char	*tools;
	const char	*log;		/* upstream.py's requests */
	int		 port;
	int		 plain_port;
	int		 down_port;
	uint8_t		 debug;		/* -g: READY asks for seccomp debug */
	uid_t		 uid;
	gid_t		 gid;
} o;

struct got {
	uint32_t	 id;
	struct run_result rs;		/* result and stderr_buf: copies */
	long long	 at;		/* ms, monotonic, when it came */
};

struct runner {
	pid_t		 pid;
	struct ipc_chan	 chan;
	char		 log[PATH_MAX];
	struct got	*stash[STASH_MAX];
	int		 nstash;
	int		 dead;
};

static uint32_t next_id = 1;

static long long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void
nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void __attribute__((noreturn))
bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* --- the runner's process ------------------------------------------- */

/* What a test changes in the runner's world. */
struct spawn {
	int		 as_root;	/* skip the drop to the user */
	const char	*hosts;		/* a file bind-mounted on /etc/hosts */
	const char	*env[4];	/* more variables */
};

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
static void
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
static int
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

static void
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
		if (now_ms() >= end || poll(&pfd, 1, (int)(end - now_ms())) <= 0)
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
static int
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

static uint32_t
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

static void
got_free(struct got *g)
{
	if (g == NULL)
		return;
	free((void *)g->rs.result);
	free((void *)g->rs.stderr_buf);
	free(g);
}

/* The answer to id, whatever came before it; NULL after WAIT_MS. */
static struct got *
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

static struct got *
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

static void
exec_tool(struct tool *t, const char *name, const char *script)
{
	tool_base(t, name, TOOL_EXEC);
	snprintf(t->command, sizeof(t->command), "%s/%s", o.tools, script);
}

static void
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

static struct tool_action *
add_action(struct tool *t, const char *name, const char *method,
    const char *path)
{
	struct tool_action *a = &t->actions[t->nactions++];

	snprintf(a->name, sizeof(a->name), "%s", name);
	snprintf(a->method, sizeof(a->method), "%s", method);
	snprintf(a->path, sizeof(a->path), "%s", path);
	return a;
}

static void
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
static void
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

static struct run_request *
request(const struct tool *t, const char *action)
{
	struct run_request *rq = calloc(1, sizeof(*rq));

	if (rq == NULL)
		bail("calloc");
	rq->tool = *t;
	snprintf(rq->action, sizeof(rq->action), "%s", action);
	return rq;
}

static void
param(struct run_request *rq, const char *name, uint8_t type,
    const char *value)
{
	struct run_param *p = &rq->params[rq->nparams++];

	snprintf(p->name, sizeof(p->name), "%s", name);
	p->type = type;
	snprintf(p->value, sizeof(p->value), "%s", value);
}

/* value must outlive the submit. */
static void
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

static char *
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
static const char *
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
static void
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

static size_t
upstream_count(void)
{
	json_t *all = upstream_requests();
	size_t n = json_array_size(all);

	json_decref(all);
	return n;
}

/* The last request the upstream got (a new reference), or NULL. */
static json_t *
upstream_last(void)
{
	json_t *all = upstream_requests(), *last;
	size_t n = json_array_size(all);

	last = n > 0 ? json_incref(json_array_get(all, n - 1)) : NULL;
	json_decref(all);
	return last;
}

static const char *
req_str(json_t *req, const char *key)
{
	const char *s = json_string_value(json_object_get(req, key));

	return s != NULL ? s : "(none)";
}

static const char *
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

static int
is_result(const struct got *g, uint8_t outcome, int okflag, uint32_t status)
{
	return g != NULL && g->rs.outcome == outcome && g->rs.ok == okflag &&
	    g->rs.status == status;
}

static const char *
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

static void __attribute__((format(printf, 3, 4)))
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

static json_t *
result_json(const struct got *g)
{
	if (g == NULL || !g->rs.result_is_json)
		return NULL;
	return json_loadb((const char *)g->rs.result, g->rs.result_len, 0,
	    NULL);
}

/* --- http tools ----------------------------------------------------- */

static char url_https[128], url_plain[128], url_down[128];

static const char *
jstr(json_t *j, const char *path1, const char *path2)
{
	json_t *v = json_object_get(j, path1);
	const char *s;

	if (path2 != NULL)
		v = json_object_get(v, path2);
	s = json_string_value(v);
	return s != NULL ? s : "(none)";
}

/* Each field of the upstream's "echo" object is one marker. */
static int
echo_all_redacted(json_t *res, const char *marker)
{
	json_t *echo = json_object_get(res, "echo"), *v;
	const char *k;
	int n = 0;

	json_object_foreach(echo, k, v) {
		if (json_string_value(v) == NULL ||
		    strcmp(json_string_value(v), marker) != 0)
			return 0;
		n++;
	}
	return n == 11;
}

static void
http_header_slot(struct runner *r)
{
	static const char *names[] = { "raw", "base64", "base64_nopad",
	    "base64url", "base64url_nopad", "hex", "HEX", "url", "url_lower",
	    "url_plus", "json_slash" };
	char want[1024] = "";
	struct run_request *rq;
	struct tool t;
	struct got *g;
	json_t *req, *res;
	size_t i;

	echo_tool(&t, url_https, SLOT_HEADER);
	rq = request(&t, "get");
	param(rq, "echo", PARAM_STRING, "header:X-Api-Key");
	cred(rq, "apiKey", V_NASTY);
	g = run(r, rq);
	ok(is_result(g, RUN_OK, 1, 200), "http, header slot: the upstream "
	    "answers 200 (%s)", desc(g));
	req = upstream_last();
	is_str(req_header(req, "X-Api-Key"), "Bearer " V_NASTY,
	    "http, header slot: the upstream got X-Api-Key: Bearer <value>");
	ok(g != NULL && g->rs.result_is_json, "http, header slot: the echo "
	    "is still JSON once redacted");
	res = result_json(g);
	is_str(jstr(res, "headers", "X-Api-Key"), "[REDACTED:apiKey]",
	    "http, header slot: the echoed header is one marker");
	ok(echo_all_redacted(res, "[REDACTED:apiKey]"), "http, header slot: "
	    "raw, base64(url) with and without padding, hex, HEX, percent "
	    "(upper, lower, '+') and JSON with \\/ each became a marker");
	ok(g != NULL && g->rs.redactions == 12, "http, header slot: 12 "
	    "redactions, one per echoed copy (%u)", g ? g->rs.redactions : 0);
	if (g != NULL)
		no_leak(g, V_NASTY, "Bearer " V_NASTY, "http, header slot");
	json_decref(req);
	json_decref(res);
	got_free(g);
	free(rq);

	rq = request(&t, "get");
	param(rq, "echo", PARAM_STRING, "header:X-Api-Key");
	param(rq, "fmt", PARAM_STRING, "text");
	cred(rq, "apiKey", V_NASTY);
	g = run(r, rq);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		strcat(want, names[i]);
		strcat(want, ": [REDACTED:apiKey]\n");
	}
	ok(g != NULL && g->rs.outcome == RUN_OK && !g->rs.result_is_json &&
	    strcmp((const char *)g->rs.result, want) == 0,
	    "http, text echo: every line is a marker and the result is text "
	    "(%s)", g ? (const char *)g->rs.result : "no answer");
	ok(g != NULL && g->rs.redactions == 11, "http, text echo: 11 "
	    "redactions (%u)", g ? g->rs.redactions : 0);
	got_free(g);
	free(rq);
}

static void
http_query_slot(struct runner *r)
{
	struct run_request *rq;
	struct tool t;
	struct got *g;
	json_t *req, *res;

	echo_tool(&t, url_https, SLOT_QUERY);
	rq = request(&t, "get");
	param(rq, "echo", PARAM_STRING, "query:key");
	cred(rq, "apiKey", V_NASTY);
	g = run(r, rq);
	ok(is_result(g, RUN_OK, 1, 200), "http, query slot: 200 (%s)",
	    desc(g));
	req = upstream_last();
	is_str(req_str(req, "query"), "echo=query%3Akey&key=s3cr%2Ft%2Bk%20"
	    "%22q%22%5C%C3%A9%26%3D%3F%23%40~x", "http, query slot: the "
	    "upstream got key=<value percent-encoded> after the parameters");
	res = result_json(g);
	is_str(jstr(res, "query", NULL), "echo=query%3Akey&key=[REDACTED:"
	    "apiKey]", "http, query slot: the echoed query holds a marker");
	is_str(jstr(res, "args", "key"), "[REDACTED:apiKey]",
	    "http, query slot: the decoded echo is a marker");
	ok(echo_all_redacted(res, "[REDACTED:apiKey]") && g->rs.redactions ==
	    13, "http, query slot: every encoding redacted, 13 in all (%u)",
	    g ? g->rs.redactions : 0);
	if (g != NULL)
		no_leak(g, V_NASTY, NULL, "http, query slot");
	json_decref(req);
	json_decref(res);
	got_free(g);
	free(rq);
}

static void
http_basic_slot(struct runner *r)
{
	struct run_request *rq;
	struct tool t;
	struct got *g;
	json_t *req, *res;
	char want[256], *enc;

	echo_tool(&t, url_https, SLOT_BASIC);
	rq = request(&t, "get");
	param(rq, "echo", PARAM_STRING, "basic");
	cred(rq, "apiKey", V_NASTY);
	g = run(r, rq);
	ok(is_result(g, RUN_OK, 1, 200), "http, basic slot: 200 (%s)",
	    desc(g));
	req = upstream_last();
	enc = b64("api:" V_NASTY, sodium_base64_VARIANT_ORIGINAL);
	snprintf(want, sizeof(want), "Basic %s", enc);
	free(enc);
	is_str(req_header(req, "Authorization"), want, "http, basic slot: "
	    "the upstream got Basic base64(api:<value>)");
	res = result_json(g);
	is_str(jstr(res, "headers", "Authorization"), "Basic [REDACTED:"
	    "apiKey]", "http, basic slot: the echoed header's base64 is a "
	    "marker");
	ok(echo_all_redacted(res, "[REDACTED:apiKey]") && g->rs.redactions ==
	    12, "http, basic slot: every encoding of the password redacted, "
	    "12 in all (%u)", g ? g->rs.redactions : 0);
	if (g != NULL)
		no_leak(g, V_NASTY, "api:" V_NASTY, "http, basic slot");
	json_decref(req);
	json_decref(res);
	got_free(g);
	free(rq);
}

static void
http_params(struct runner *r)
{
	struct run_request *rq;
	struct tool t;
	struct got *g;
	json_t *req;
	size_t before;

	echo_tool(&t, url_https, SLOT_HEADER);
	rq = request(&t, "path");
	param(rq, "id", PARAM_STRING, "a/b?c#d@e f%");
	param(rq, "q", PARAM_STRING, "x&y=z \xc3\xa9");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	req = upstream_last();
	ok(is_result(g, RUN_OK, 1, 200), "http, path: 200 (%s)", desc(g));
	is_str(req_str(req, "path"), "/echo/a%2Fb%3Fc%23d%40e%20f%25",
	    "http, path: {id} percent-encoded, '/', '?', '#', '@' included");
	is_str(req_str(req, "query"), "q=x%26y%3Dz%20%C3%A9",
	    "http, path: a query parameter percent-encoded");
	json_decref(req);
	got_free(g);
	free(rq);

	before = upstream_count();
	rq = request(&t, "path");
	param(rq, "id", PARAM_STRING, "..");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	ok(g != NULL && g->rs.outcome == RUN_REFUSED && upstream_count() ==
	    before, "http, path: '..' as a segment is refused and nothing is "
	    "sent (%s)", desc(g));
	got_free(g);
	free(rq);

	rq = request(&t, "post");
	param(rq, "s", PARAM_STRING, "str \"quoted\" \xc3\xa9");
	param(rq, "n", PARAM_NUMBER, "12.50");
	param(rq, "flag", PARAM_BOOL, "true");
	param(rq, "q", PARAM_STRING, "1");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	req = upstream_last();
	ok(is_result(g, RUN_OK, 1, 200) && strcmp(req_str(req, "method"),
	    "POST") == 0, "http, body: POST answered 200 (%s)", desc(g));
	is_str(req_str(req, "body"), "{\"s\":\"str \\\"quoted\\\" \xc3\xa9\","
	    "\"n\":12.50,\"flag\":true}", "http, body: a JSON object that "
	    "keeps each type and a number's text");
	is_str(req_header(req, "Content-Type"), "application/json",
	    "http, body: Content-Type: application/json");
	is_str(req_str(req, "query"), "q=1", "http, body: query parameters "
	    "stay in the query");
	json_decref(req);
	got_free(g);
	free(rq);
}

static void
http_refusals(struct runner *r)
{
	struct run_request *rq;
	struct tool t;
	struct got *g;
	size_t before = upstream_count();

	echo_tool(&t, url_https, SLOT_HEADER);
	rq = request(&t, "get");
	cred(rq, "apiKey", "abc\r\nX-Evil: 1");
	g = run(r, rq);
	ok(g != NULL && g->rs.outcome == RUN_REFUSED && upstream_count() ==
	    before, "http: a header value with CR LF is refused, nothing sent "
	    "(%s)", desc(g));
	ok(g != NULL && g->rs.result_len == 0 && leak_of(g->rs.message,
	    strlen(g->rs.message), "abc\r\nX-Evil: 1") == NULL,
	    "http: the refusal holds no value");
	got_free(g);
	free(rq);

	rq = request(&t, "status");
	param(rq, "code", PARAM_STRING, "404");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	ok(is_result(g, RUN_OK, 0, 404) && g->rs.result_is_json,
	    "http: a 404 is returned with ok false and its body (%s)",
	    desc(g));
	got_free(g);
	free(rq);
}

static void
http_redirects(struct runner *r)
{
	static const struct {
		const char	*to;
		int		 refused;
		const char	*what;
	} cases[] = {
		{ "https://other.invalid/x", 1, "another host" },
		{ NULL, 1, "the same host on another port" },
		{ "http://localhost/", 1, "the same host over plain http" },
		{ "/echo", 0, "the same host" },
	};
	char other_port[128];
	struct run_request *rq;
	struct tool t;
	struct got *g;
	size_t i;

	snprintf(other_port, sizeof(other_port), "https://localhost:%d/echo",
	    o.down_port);
	echo_tool(&t, url_https, SLOT_HEADER);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rq = request(&t, "redirect");
		param(rq, "to", PARAM_STRING, cases[i].to != NULL ?
		    cases[i].to : other_port);
		cred(rq, "apiKey", V_PLAIN);
		g = run(r, rq);
		if (cases[i].refused)
			ok(g != NULL && g->rs.outcome == RUN_REFUSED &&
			    strcmp(g->rs.message, "upstream redirected to "
			    "another host") == 0 && g->rs.result_len == 0,
			    "http: a redirect to %s is refused (%s)",
			    cases[i].what, desc(g));
		else
			ok(is_result(g, RUN_OK, 0, 302) &&
			    strcmp((const char *)g->rs.result,
			    "redirecting\n") == 0, "http: a redirect to %s is "
			    "returned, not followed (%s)", cases[i].what,
			    desc(g));
		got_free(g);
		free(rq);
	}
}

static void
http_big(struct runner *r)
{
	struct run_request *rq;
	struct tool t;
	struct got *g;
	int chunked;

	echo_tool(&t, url_https, SLOT_HEADER);
	t.timeout_ms = 20000;
	for (chunked = 0; chunked < 2; chunked++) {
		rq = request(&t, "big");
		param(rq, "n", PARAM_NUMBER, "10485760");
		if (chunked)
			param(rq, "chunked", PARAM_BOOL, "true");
		cred(rq, "apiKey", V_PLAIN);
		g = run(r, rq);
		ok(g != NULL && g->rs.outcome == RUN_TOO_LARGE &&
		    g->rs.result_len == 0, "http: a 10 MiB body%s is "
		    "RUN_TOO_LARGE, none of it returned (%s)", chunked ?
		    " without Content-Length" : "", desc(g));
		got_free(g);
		free(rq);
	}
	rq = request(&t, "big");
	param(rq, "n", PARAM_NUMBER, "65536");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	ok(is_result(g, RUN_OK, 1, 200) && g->rs.result_len == 65536 &&
	    !g->rs.result_is_json, "http: a body of exactly max_result is "
	    "returned whole, as text (%s)", desc(g));
	got_free(g);
	free(rq);
}

/* A slow upstream times out while another execution completes. */
static void
http_timeout(struct runner *r)
{
	struct run_request *slow, *fast;
	struct tool ts, tf;
	struct got *gs, *gf;
	uint32_t a, b;

	echo_tool(&ts, url_https, SLOT_HEADER);
	ts.timeout_ms = 1500;
	echo_tool(&tf, url_https, SLOT_HEADER);
	slow = request(&ts, "slow");
	cred(slow, "apiKey", V_PLAIN);
	fast = request(&tf, "get");
	cred(fast, "apiKey", V_PLAIN);
	a = submit(r, slow);
	nap_ms(100);
	b = submit(r, fast);
	gf = wait_for(r, b, WAIT_MS);
	gs = wait_for(r, a, WAIT_MS);
	ok(is_result(gf, RUN_OK, 1, 200) && gs != NULL && gf->at < gs->at,
	    "http: another execution completes while a slow upstream holds "
	    "one (%s)", desc(gf));
	ok(gs != NULL && gs->rs.outcome == RUN_TIMEOUT &&
	    gs->rs.duration_ms >= 1400 && gs->rs.duration_ms < 5000,
	    "http: the slow upstream is RUN_TIMEOUT at the tool's 1500 ms "
	    "(%s)", desc(gs));
	got_free(gs);
	got_free(gf);
	free(slow);
	free(fast);
}

static void
http_connect_failures(struct runner *r)
{
	char url[128];
	struct run_request *rq;
	struct tool t;
	struct got *g;

	echo_tool(&t, url_down, SLOT_HEADER);
	rq = request(&t, "get");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	ok(g != NULL && g->rs.outcome == RUN_UPSTREAM &&
	    g->rs.message[0] != '\0', "http: an upstream that is down is "
	    "RUN_UPSTREAM with curl's message (%s)", desc(g));
	got_free(g);
	free(rq);

	echo_tool(&t, url_https, SLOT_HEADER);
	t.ca_file[0] = '\0';
	rq = request(&t, "get");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	ok(g != NULL && g->rs.outcome == RUN_UPSTREAM &&
	    strstr(g->rs.message, "certificate") != NULL, "http: a "
	    "certificate the system CAs do not know is refused (%s)", desc(g));
	got_free(g);
	free(rq);

	snprintf(url, sizeof(url), "https://127.0.0.1:%d", o.port);
	echo_tool(&t, url, SLOT_HEADER);
	rq = request(&t, "get");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	ok(g != NULL && g->rs.outcome == RUN_UPSTREAM, "http: a certificate "
	    "for another name is refused (%s)", desc(g));
	got_free(g);
	free(rq);
}

static void
http_plain(struct runner *r)
{
	char want[64];
	struct run_request *rq;
	struct tool t;
	struct got *g;
	json_t *res;

	echo_tool(&t, url_plain, SLOT_HEADER);
	t.allow_plain_http = 1;
	t.ca_file[0] = '\0';
	rq = request(&t, "get");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	res = result_json(g);
	snprintf(want, sizeof(want), "127.0.0.1:%d", o.plain_port);
	ok(is_result(g, RUN_OK, 1, 200) && strcmp(jstr(res, "headers",
	    "Host"), want) == 0, "http: plain http to loopback when the tool "
	    "allows it (%s)", desc(g));
	is_str(jstr(res, "headers", "X-Api-Key"), "[REDACTED:apiKey]",
	    "http: plain http results are redacted too");
	json_decref(res);
	got_free(g);
	free(rq);

	snprintf(t.base_url, sizeof(t.base_url), "http://localhost:%d",
	    o.plain_port);
	rq = request(&t, "get");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	ok(is_result(g, RUN_OK, 1, 200), "http: plain http to localhost, "
	    "which resolves to loopback (%s)", desc(g));
	got_free(g);
	free(rq);
}

/*
 * A name the resolver must look up (curl answers "localhost" itself):
 * /etc/hosts, in a mount namespace of the runner's own, gives it an IPv6
 * and an IPv4 address, so glibc also asks netlink how to sort them.
 */
static void
http_resolver(void)
{
	char hosts[PATH_MAX], url[128];
	struct run_request *rq;
	struct runner r;
	struct spawn x;
	struct tool t;
	struct got *g;
	FILE *f;
	int rc;

	snprintf(hosts, sizeof(hosts), "%s/hosts", o.dir);
	if ((f = fopen(hosts, "w")) == NULL)
		bail(hosts);
	fprintf(f, "127.0.0.1 localhost\n::1 upstream.test\n"
	    "127.0.0.1 upstream.test\n");
	fclose(f);
	chmod(hosts, 0644);
	memset(&x, 0, sizeof(x));
	x.hosts = hosts;
	runner_spawn_with(&r, &x, "resolver");
	if (handshake(&r, 2, 0) == -1)
		bail("handshake");
	snprintf(url, sizeof(url), "https://upstream.test:%d", o.port);
	echo_tool(&t, url, SLOT_HEADER);
	rq = request(&t, "get");
	cred(rq, "apiKey", V_PLAIN);
	g = run(&r, rq);
	ok(is_result(g, RUN_OK, 1, 200), "http: a name looked up through the "
	    "system's resolver, inside the runner's filter (%s)", desc(g));
	got_free(g);
	free(rq);
	close(r.chan.fd);
	r.chan.fd = -1;
	rc = runner_exit_within(&r, 5000);
	ok(rc == 0, "and the runner lived through it: exit 0 when the channel "
	    "closes (%d)", rc);
	runner_kill(&r);
}

/* Proxy variables in the environment change nothing. */
static void
http_no_proxy(void)
{
	char proxy[3][128];
	struct run_request *rq;
	struct runner r;
	struct spawn x;
	struct tool t;
	struct got *g;

	memset(&x, 0, sizeof(x));
	snprintf(proxy[0], sizeof(proxy[0]), "https_proxy=http://127.0.0.1:%d",
	    o.down_port);
	snprintf(proxy[1], sizeof(proxy[1]), "HTTPS_PROXY=http://127.0.0.1:%d",
	    o.down_port);
	snprintf(proxy[2], sizeof(proxy[2]), "ALL_PROXY=http://127.0.0.1:%d",
	    o.down_port);
	x.env[0] = proxy[0];
	x.env[1] = proxy[1];
	x.env[2] = proxy[2];
	runner_spawn_with(&r, &x, "proxy");
	if (handshake(&r, 2, 0) == -1)
		bail("handshake");
	echo_tool(&t, url_https, SLOT_HEADER);
	rq = request(&t, "get");
	cred(rq, "apiKey", V_PLAIN);
	g = run(&r, rq);
	ok(is_result(g, RUN_OK, 1, 200), "http: proxy variables are ignored; "
	    "the request goes straight to the upstream (%s)", desc(g));
	got_free(g);
	free(rq);
	runner_kill(&r);
}

/* --- exec tools ----------------------------------------------------- */

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

static void
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

/* Whether pid is gone (or a zombie) within ms. */
static int
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

static void
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

static void
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

static void
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
 * Twelve executions at once, http and exec mixed, four at a time: each
 * answer is its own request's, and holds no value of any of them.
 */
static void
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

static pid_t child_of(pid_t);

/* Same user, but it may signal only its own. */
static void
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

static pid_t
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
