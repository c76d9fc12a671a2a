/*
 * The config parser, bgpd-style: each fixture in tests/unit/config is
 * loaded and its printed config (or its error) must equal NAME.ok, where
 * @DIR@ stands for the fixture folder and @STATE_DIR@ and @SOCKET@ for
 * the defaults configure chose.  Cases that need bytes or lengths a
 * fixture cannot hold are written to a temporary folder.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secretd.h"
#include "tap.h"
#include "testutil.h"

static const char *fixtures[] = {
	"defaults", "full", "relative", "statedir", "listen-v6",
	"hash-in-path", "mcp-origins",
	"err-unknown-key", "err-duplicate", "err-syntax", "err-no-key",
	"err-mode-digit", "err-mode-range", "err-mode-empty",
	"err-port-zero", "err-port-range", "err-port-alpha",
	"err-listen-v6-bare", "err-listen-v6-bad", "err-listen-noport",
	"err-org", "err-reveal", "err-user-empty", "err-path-empty",
	"err-path-escape", "err-socket-long", "err-sync", "err-count-zero",
	"err-bytes-suffix", "err-count-suffix", "err-concurrent-range",
	"err-concurrent-zero", "err-runner-user", "err-syslog",
	"err-versions-range", "err-mcp-origin", "err-store",
	"err-store-timeout",
#ifdef HAVE_LIBPQ	/* without it, store = postgresql is the error */
	"store-pg", "err-store-noconn", "err-pg-password",
#endif
	NULL
};

static char fixdir[PATH_MAX];
static char example[PATH_MAX];
static char *tmpdir;

/*
 * The config or the error, as text, with its machine's paths as names:
 * the folder dir (the config file's) as @DIR@.
 */
static char *
render_in(const char *conf, const char *dir)
{
	const char *from[] = { dir, SECRETD_STATE_DIR, SECRETD_SOCKET };
	const char *to[] = { "@DIR@", "@STATE_DIR@", "@SOCKET@" };
	struct secretd_config cfg;
	char err[1024], *raw = NULL, *s;
	const char *p;
	size_t rawlen = 0, i, n;
	FILE *mem;

	if ((mem = open_memstream(&raw, &rawlen)) == NULL)
		return NULL;
	if (config_load(conf, &cfg, err, sizeof(err)) == 0)
		config_print(&cfg, mem);
	else
		fprintf(mem, "%s\n", err);
	fclose(mem);
	if ((mem = open_memstream(&s, &n)) == NULL) {
		free(raw);
		return NULL;
	}
	for (p = raw; *p != '\0'; ) {
		for (i = 0; i < sizeof(from) / sizeof(from[0]); i++)
			if (*from[i] != '\0' &&
			    strncmp(p, from[i], strlen(from[i])) == 0)
				break;
		if (i < sizeof(from) / sizeof(from[0])) {
			fputs(to[i], mem);
			p += strlen(from[i]);
		} else
			fputc(*p++, mem);
	}
	fclose(mem);
	free(raw);
	return s;
}

static char *
render(const char *conf)
{
	return render_in(conf, fixdir);
}

static void
test_fixtures(void)
{
	char conf[PATH_MAX], okf[PATH_MAX], *got, *want;
	size_t i;

	for (i = 0; fixtures[i] != NULL; i++) {
		snprintf(conf, sizeof(conf), "%s.conf", fixtures[i]);
		snprintf(okf, sizeof(okf), "%s.ok", fixtures[i]);
		got = render(conf);
		want = tu_slurp(okf, NULL);
		if (!ok(got != NULL && want != NULL && strcmp(got, want) == 0,
		    "%s.conf prints as %s.ok", fixtures[i], fixtures[i]))
			fprintf(stderr, "# got:\n%s# want:\n%s", got ? got : "",
			    want ? want : "(no .ok file)\n");
		free(got);
		free(want);
	}
}

/*
 * The shipped example sets nothing: it documents the defaults (its tools
 * folder is the one beside it, as the fixtures' is beside them).
 */
static void
test_example(void)
{
	char dir[PATH_MAX], *got, *want = tu_slurp("defaults.ok", NULL);

	snprintf(dir, sizeof(dir), "%s", example);
	*strrchr(dir, '/') = '\0';
	got = render_in(example, dir);
	ok(got != NULL && want != NULL && strcmp(got, want) == 0,
	    "contrib/secretd.conf loads and states the defaults");
	free(got);
	free(want);
}

/* Printing the effective config gives a file that loads to the same. */
static void
test_round_trip(void)
{
	struct secretd_config a, b;
	char err[1024], path[PATH_MAX];
	const char *names[] = { "full", "listen-v6", "relative", NULL };
	FILE *fp;
	size_t i;
	int same;

	for (i = 0; names[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s.conf", names[i]);
		same = config_load(path, &a, err, sizeof(err)) == 0;
		snprintf(path, sizeof(path), "%s/rt-%s.conf", tmpdir, names[i]);
		if (same && (fp = fopen(path, "w")) != NULL) {
			config_print(&a, fp);
			fclose(fp);
			same = config_load(path, &b, err, sizeof(err)) == 0;
			memset(a.path, 0, sizeof(a.path));
			memset(b.path, 0, sizeof(b.path));
			same = same && memcmp(&a, &b, sizeof(a)) == 0;
		} else
			same = 0;
		ok(same, "printed %s.conf loads back to the same config",
		    names[i]);
	}
}

/* Relative paths follow the config file's folder, not the caller's. */
static void
test_relative_to_config(void)
{
	struct secretd_config cfg;
	char err[1024], want[PATH_MAX * 2];
	int loaded;

	if (chdir("..") == -1)
		return;
	loaded = config_load("config/relative.conf", &cfg, err,
	    sizeof(err)) == 0;
	snprintf(want, sizeof(want), "%s/state", fixdir);
	ok(loaded && strcmp(cfg.state_dir, want) == 0,
	    "state_dir resolves against the config folder from another cwd");
	snprintf(want, sizeof(want), "%s/state/root.key", fixdir);
	ok(loaded && strcmp(cfg.root_key_file, want) == 0,
	    "the root key follows a relative state_dir");
	snprintf(want, sizeof(want), "%s/relative.conf", fixdir);
	ok(loaded && strcmp(cfg.path, want) == 0,
	    "the config path is recorded absolute");
	snprintf(want, sizeof(want), "%s/tools/agents", fixdir);
	ok(loaded && strcmp(cfg.tools_dir, want) == 0,
	    "tools_dir resolves against the config folder from another cwd");
	loaded = config_load("config/defaults.conf", &cfg, err,
	    sizeof(err)) == 0;
	snprintf(want, sizeof(want), "%s/tools.d", fixdir);
	ok(loaded && strcmp(cfg.tools_dir, want) == 0,
	    "the default tools folder is tools.d beside the config file");
}

static int
write_file(const char *name, const char *data, size_t len, mode_t mode,
    char *path, size_t pathlen)
{
	FILE *fp;

	snprintf(path, pathlen, "%s/%s", tmpdir, name);
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	fwrite(data, 1, len, fp);
	fclose(fp);
	return chmod(path, mode);
}

static int
load_error(const char *path, char *err, size_t errlen)
{
	struct secretd_config cfg;

	err[0] = '\0';
	return config_load(path, &cfg, err, errlen) == -1;
}

static int
starts_with(const char *s, const char *path, const char *rest)
{
	char want[PATH_MAX + 256];

	snprintf(want, sizeof(want), "%s%s", path, rest);
	return strncmp(s, want, strlen(want)) == 0;
}

static void
test_generated_errors(void)
{
	static const char nul[] = "org = acme\n# ok\nstate_dir = /x\0y\n";
	char path[PATH_MAX], err[1024], *buf;
	size_t n, at;

	write_file("nul.conf", nul, sizeof(nul) - 1, 0644, path, sizeof(path));
	ok(load_error(path, err, sizeof(err)) &&
	    starts_with(err, path, ":3: NUL byte"),
	    "a NUL byte is refused at its line: %s", err);

	n = PATH_MAX + 64;
	buf = malloc(n);
	at = snprintf(buf, n, "org = acme\n\nstate_dir = /");
	memset(buf + at, 'a', n - at - 1);
	buf[n - 2] = '\n';
	write_file("long.conf", buf, n - 1, 0644, path, sizeof(path));
	ok(load_error(path, err, sizeof(err)) &&
	    starts_with(err, path, ":3: state_dir: path too long"),
	    "a path longer than PATH_MAX is refused at its line");

	/* Fits itself, but not with /root.key added. */
	at = snprintf(buf, n, "# c\nstate_dir = /");
	memset(buf + at, 'b', PATH_MAX - 5);
	at += PATH_MAX - 5;
	at += snprintf(buf + at, n - at, "\norg = acme\n");
	write_file("derived.conf", buf, at, 0644, path, sizeof(path));
	ok(load_error(path, err, sizeof(err)) &&
	    starts_with(err, path, ":2: state_dir: too long to hold"),
	    "a state_dir too long for its derived files names its line");
	free(buf);

	write_file("open.conf", "org = acme\n", 11, 0646, path, sizeof(path));
	ok(load_error(path, err, sizeof(err)) &&
	    starts_with(err, path, ": writable by others"),
	    "a config file others can write is refused");

	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	ok(load_error(path, err, sizeof(err)) &&
	    starts_with(err, path, ": No such file"),
	    "a missing config file is an error naming it");

	ok(load_error(tmpdir, err, sizeof(err)) &&
	    starts_with(err, tmpdir, ": not a regular file"),
	    "a folder is not a config file");
}

static void
test_defaults(void)
{
	struct secretd_config cfg;

	config_defaults(&cfg);
	ok(strcmp(cfg.state_dir, SECRETD_STATE_DIR) == 0 &&
	    strcmp(cfg.root_key_file, SECRETD_STATE_DIR "/root.key") == 0 &&
	    strcmp(cfg.socket_path, SECRETD_SOCKET) == 0 &&
	    cfg.socket_mode == 0666 && cfg.listen[0] == '\0' &&
	    cfg.org_reveal_members == 0 &&
	    strcmp(cfg.frontend_user, "secretd") == 0 &&
	    strcmp(cfg.tools_dir, SECRETD_TOOLS_DIR) == 0 &&
	    strcmp(cfg.runner_user, "secretd-runner") == 0 &&
	    cfg.tool_max_concurrent == 16,
	    "config_defaults gives the documented defaults");
}

static void
test_listen_split(void)
{
	struct secretd_config cfg;
	char err[1024];

	ok(config_load("listen-v6.conf", &cfg, err, sizeof(err)) == 0 &&
	    strcmp(cfg.listen_host, "::1") == 0 &&
	    strcmp(cfg.listen_port, "8443") == 0,
	    "[::1]:8443 splits into host ::1 and port 8443");
	ok(config_load("full.conf", &cfg, err, sizeof(err)) == 0 &&
	    strcmp(cfg.listen_host, "127.0.0.1") == 0 &&
	    strcmp(cfg.listen_port, "8443") == 0 &&
	    cfg.socket_mode == 0660 && cfg.org_reveal_members == 1,
	    "full.conf sets host, port, mode and org_reveal");
}

/* Writes text to NAME in the temporary folder; returns its path. */
static const char *
write_tmp(const char *name, const char *text)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((f = fopen(path, "we")) == NULL)
		return path;
	fputs(text, f);
	fclose(f);
	return path;
}

/* Every error of a file in one pass, each at its line, in line order. */
static void
test_all_errors(void)
{
	struct secretd_config cfg;
	char err[1024], *out = NULL, want[4096];
	const char *path;
	size_t outlen = 0;
	FILE *mem;
	int n;

	path = write_tmp("many.conf", "state_dir = s\n"
	    "org_reveal = all\n"
	    "nonsense\n"
	    "org = acme\n"
	    "org = other\n"
	    "socket_mode = 8\n"
	    "quota_user_bytes = 1T\n");
	if ((mem = open_memstream(&out, &outlen)) == NULL) {
		ok(0, "open_memstream");
		return;
	}
	n = config_parse(path, &cfg, 0, err, sizeof(err), mem);
	fclose(mem);
	snprintf(want, sizeof(want),
	    "%s:2: org_reveal: bad value \"all\": expected admins or members\n"
	    "%s:3: syntax error: expected key = value\n"
	    "%s:5: duplicate key \"org\" (first set on line 4)\n"
	    "%s:6: socket_mode: bad mode \"8\": expected octal like 0666\n"
	    "%s:7: quota_user_bytes: bad value \"1T\": expected a number "
	    "from 1 to 1099511627776 (K, M or G may follow)\n",
	    path, path, path, path, path);
	ok(n == 5 && out != NULL && strcmp(out, want) == 0,
	    "config_parse: five errors, each FILE:LINE, in one pass");
	if (out != NULL && strcmp(out, want) != 0)
		printf("# got:\n%s", out);
	ok(strncmp(err, want, strchr(want, '\n') - want) == 0 &&
	    err[strchr(want, '\n') - want] == '\0',
	    "config_parse: the first error is the one config_load reports");
	ok(config_load(path, &cfg, err, sizeof(err)) == -1,
	    "config_load: the same file is refused");
	free(out);

	path = write_tmp("users.conf", "admin_group = e2e-none-such\n"
	    "frontend_user = e2e-none-such\n");
	out = NULL;
	if ((mem = open_memstream(&out, &outlen)) == NULL)
		return;
	n = config_parse(path, &cfg, CONFIG_USERS, err, sizeof(err), mem);
	fclose(mem);
	/* The users are looked up only as root, who would switch to them. */
	ok(out != NULL &&
	    strstr(out, ":1: admin_group: no group \"e2e-none-such\"") !=
	    NULL && (geteuid() != 0 ||
	    strstr(out, ":2: frontend_user: no user \"e2e-none-such\"") !=
	    NULL), "CONFIG_USERS: a missing group and user, each at its key's "
	    "line");
	free(out);
	ok(config_parse(path, &cfg, 0, err, sizeof(err), NULL) == 0,
	    "without CONFIG_USERS the same file is valid");
}

/* What a reload may take live, and what keeps its value until restart. */
static void
test_reload_diff(void)
{
	struct secretd_config cur, next;
	char live[512], restart[512];

	config_defaults(&cur);
	next = cur;
	config_reload_diff(&next, &cur, live, sizeof(live), restart,
	    sizeof(restart));
	ok(live[0] == '\0' && restart[0] == '\0',
	    "reload diff: nothing changed, nothing named");

	next = cur;
	next.org_reveal_members = 1;
	snprintf(next.admin_group, sizeof(next.admin_group), "ops");
	next.quota_org_bytes = 5;
	next.max_conns_per_address = 7;
	snprintf(next.tls_cert, sizeof(next.tls_cert), "/etc/new.crt");
	snprintf(next.state_dir, sizeof(next.state_dir), "/elsewhere");
	snprintf(next.listen, sizeof(next.listen), "127.0.0.1:1");
	snprintf(next.listen_port, sizeof(next.listen_port), "1");
	next.socket_mode = 0600;
	next.tool_max_concurrent = 3;
	snprintf(next.runner_user, sizeof(next.runner_user), "other");
	config_reload_diff(&next, &cur, live, sizeof(live), restart,
	    sizeof(restart));
	ok(strcmp(live, "tls_cert, admin_group, org_reveal, "
	    "max_connections_per_address, quota_org_bytes") == 0,
	    "reload diff: the live keys that changed, in the keys' order: %s",
	    live);
	ok(strcmp(restart, "state_dir, socket_mode, listen, runner_user, "
	    "tool_max_concurrent") == 0,
	    "reload diff: the restart-only keys that changed: %s", restart);
	ok(strcmp(next.state_dir, cur.state_dir) == 0 &&
	    strcmp(next.listen, cur.listen) == 0 &&
	    strcmp(next.listen_port, cur.listen_port) == 0 &&
	    next.socket_mode == cur.socket_mode &&
	    next.tool_max_concurrent == cur.tool_max_concurrent &&
	    strcmp(next.runner_user, cur.runner_user) == 0,
	    "reload diff: restart-only keys keep their old values");
	ok(next.org_reveal_members == 1 &&
	    strcmp(next.admin_group, "ops") == 0 &&
	    next.quota_org_bytes == 5 && next.max_conns_per_address == 7 &&
	    strcmp(next.tls_cert, "/etc/new.crt") == 0,
	    "reload diff: live keys keep their new values");

	/* A moved state_dir, its files at their defaults beside it. */
	next = cur;
	snprintf(next.state_dir, sizeof(next.state_dir), "/elsewhere");
	snprintf(next.tls_cert, sizeof(next.tls_cert), "/elsewhere/tls.crt");
	snprintf(next.tls_key, sizeof(next.tls_key), "/elsewhere/tls.key");
	snprintf(next.root_key_file, sizeof(next.root_key_file),
	    "/elsewhere/root.key");
	snprintf(next.audit_log, sizeof(next.audit_log),
	    "/elsewhere/audit.log");
	config_reload_diff(&next, &cur, live, sizeof(live), restart,
	    sizeof(restart));
	ok(strcmp(restart, "state_dir") == 0 && live[0] == '\0' &&
	    strcmp(next.tls_cert, cur.tls_cert) == 0 &&
	    strcmp(next.tls_key, cur.tls_key) == 0 &&
	    strcmp(next.audit_log, cur.audit_log) == 0,
	    "reload diff: files derived from a state_dir that waits for a "
	    "restart stay in the old one (restart: %s; live: %s)", restart,
	    live);
}

int
main(void)
{
	const char *top = getenv("top_srcdir");
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/contrib/secretd.conf.in",
	    top != NULL ? top : ".");
	if (realpath(dir, example) == NULL)
		snprintf(example, sizeof(example), "%s", dir);
	snprintf(dir, sizeof(dir), "%s/tests/unit/config",
	    top != NULL ? top : ".");
	if (realpath(dir, fixdir) == NULL || chdir(fixdir) == -1) {
		ok(0, "fixture folder %s: %s", dir, strerror(errno));
		return done_testing();
	}
	if ((tmpdir = tu_mkdtemp("test_config")) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return done_testing();
	}

	test_defaults();
	test_fixtures();
	test_example();
	test_round_trip();
	test_listen_split();
	test_all_errors();
	test_reload_diff();
	test_generated_errors();
	test_relative_to_config();

	tu_rm_rf(tmpdir);
	free(tmpdir);
	return done_testing();
}
