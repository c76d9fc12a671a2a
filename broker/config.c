/*
 * secretd.conf: turns `key = value` lines into a struct secretd_config and
 * prints the effective result.  It only reads the config file; it never
 * creates or opens what the paths name (init.c and the broker do that).
 */
#include "config.h"

#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#include "secretd.h"

#define DEFAULT_STATE_DIR	SECRETD_STATE_DIR
#define DEFAULT_SOCKET		SECRETD_SOCKET
#define DEFAULT_SOCKET_MODE	0666
#define DEFAULT_ORG		"default"
#define DEFAULT_ADMIN_GROUP	"secretd-admin"
#define LINE_MAX_LEN		(PATH_MAX + 64)
/* Well below the front-end's 16,384 connections, so one caller cannot
 * take them all. */
#define DEFAULT_CONNS_PER_UID	256
#define DEFAULT_CONNS_PER_ADDR	256
#define DEFAULT_TOKENS_PER_USER	100
#define DEFAULT_USER_SECRETS	1000
#define DEFAULT_USER_BYTES	(16ULL << 20)
#define DEFAULT_ORG_SECRETS	10000
#define DEFAULT_ORG_BYTES	(64ULL << 20)
#define DEFAULT_TOOLS_DIR	"tools.d"	/* beside the config file */
#define DEFAULT_TOOL_CONCURRENT	16
#define TOOL_CONCURRENT_LIMIT	256ULL	/* the runner's own bound */
#define DEFAULT_TOOL_PER_USER	4	/* one caller cannot take them all */
#define DEFAULT_VERSIONS_KEPT	10
#define DEFAULT_STORE_TIMEOUT	5000	/* ms */
#define STORE_TIMEOUT_MIN	100
#define STORE_TIMEOUT_MAX	60000
#define COUNT_LIMIT		1000000ULL
#define BYTES_LIMIT		(1ULL << 40)

/* The default socket comes from configure: too long is a build error. */
_Static_assert(sizeof(DEFAULT_SOCKET) <=
    sizeof(((struct secretd_config *)0)->socket_path),
    "runstatedir is too long for a unix socket path");

struct parser;
typedef int (*setter)(struct parser *, struct secretd_config *,
    const char *key, const char *value, size_t off, size_t size);

static int set_path(struct parser *, struct secretd_config *, const char *,
    const char *, size_t, size_t);
static int set_mode(struct parser *, struct secretd_config *, const char *,
    const char *, size_t, size_t);
static int set_listen(struct parser *, struct secretd_config *, const char *,
    const char *, size_t, size_t);
static int set_id(struct parser *, struct secretd_config *, const char *,
    const char *, size_t, size_t);
static int set_reveal(struct parser *, struct secretd_config *, const char *,
    const char *, size_t, size_t);
static int set_sync(struct parser *, struct secretd_config *, const char *,
    const char *, size_t, size_t);
static int set_syslog(struct parser *, struct secretd_config *,
    const char *, const char *, size_t, size_t);
static int set_count(struct parser *, struct secretd_config *, const char *,
    const char *, size_t, size_t);
static int set_bytes(struct parser *, struct secretd_config *, const char *,
    const char *, size_t, size_t);
static int set_concurrent(struct parser *, struct secretd_config *,
    const char *, const char *, size_t, size_t);
static int set_versions(struct parser *, struct secretd_config *,
    const char *, const char *, size_t, size_t);
static int set_origins(struct parser *, struct secretd_config *,
    const char *, const char *, size_t, size_t);
static int set_store(struct parser *, struct secretd_config *,
    const char *, const char *, size_t, size_t);
static int set_conninfo(struct parser *, struct secretd_config *,
    const char *, const char *, size_t, size_t);
static int set_timeout(struct parser *, struct secretd_config *,
    const char *, const char *, size_t, size_t);

#define STR(f)	offsetof(struct secretd_config, f), \
		sizeof(((struct secretd_config *)0)->f)

enum {
	K_STATE_DIR, K_ROOT_KEY_FILE, K_SOCKET, K_SOCKET_MODE, K_LISTEN,
	K_TLS_CERT, K_TLS_KEY, K_ORG, K_ADMIN_GROUP, K_ORG_REVEAL,
	K_FRONTEND_USER, K_AUDIT_LOG, K_AUDIT_SYNC, K_CONNS_PER_UID,
	K_CONNS_PER_ADDR, K_TOKENS_PER_USER, K_USER_SECRETS, K_USER_BYTES,
	K_ORG_SECRETS, K_ORG_BYTES, K_TOOLS_DIR, K_RUNNER_USER,
	K_TOOL_CONCURRENT, K_TOOL_PER_USER, K_AUDIT_SYSLOG, K_VERSIONS_KEPT,
	K_MCP_ORIGINS, K_STORE, K_POSTGRESQL, K_PG_PASSWORD_FILE,
	K_STORE_TIMEOUT,
	K_MAX
};

#define NUM(f)	offsetof(struct secretd_config, f), sizeof(uint64_t)
#define INT(f)	offsetof(struct secretd_config, f), sizeof(int)

static const struct keyword {
	const char	*name;
	setter		 set;
	size_t		 off;
	size_t		 size;
} keywords[K_MAX] = {
	[K_STATE_DIR] =		{ "state_dir", set_path, STR(state_dir) },
	[K_ROOT_KEY_FILE] =	{ "root_key_file", set_path,
				  STR(root_key_file) },
	[K_SOCKET] =		{ "socket", set_path, STR(socket_path) },
	[K_SOCKET_MODE] =	{ "socket_mode", set_mode, 0, 0 },
	[K_LISTEN] =		{ "listen", set_listen, 0, 0 },
	[K_TLS_CERT] =		{ "tls_cert", set_path, STR(tls_cert) },
	[K_TLS_KEY] =		{ "tls_key", set_path, STR(tls_key) },
	[K_ORG] =		{ "org", set_id, STR(org) },
	[K_ADMIN_GROUP] =	{ "admin_group", set_id, STR(admin_group) },
	[K_ORG_REVEAL] =	{ "org_reveal", set_reveal, 0, 0 },
	[K_FRONTEND_USER] =	{ "frontend_user", set_id,
				  STR(frontend_user) },
	[K_AUDIT_LOG] =		{ "audit_log", set_path, STR(audit_log) },
	[K_AUDIT_SYNC] =	{ "audit_sync", set_sync, 0, 0 },
	[K_CONNS_PER_UID] =	{ "max_connections_per_uid", set_count,
				  NUM(max_conns_per_uid) },
	[K_CONNS_PER_ADDR] =	{ "max_connections_per_address", set_count,
				  NUM(max_conns_per_address) },
	[K_TOKENS_PER_USER] =	{ "max_tokens_per_user", set_count,
				  NUM(max_tokens_per_user) },
	[K_USER_SECRETS] =	{ "quota_user_secrets", set_count,
				  NUM(quota_user_secrets) },
	[K_USER_BYTES] =	{ "quota_user_bytes", set_bytes,
				  NUM(quota_user_bytes) },
	[K_ORG_SECRETS] =	{ "quota_org_secrets", set_count,
				  NUM(quota_org_secrets) },
	[K_ORG_BYTES] =		{ "quota_org_bytes", set_bytes,
				  NUM(quota_org_bytes) },
	[K_TOOLS_DIR] =		{ "tools_dir", set_path, STR(tools_dir) },
	[K_RUNNER_USER] =	{ "runner_user", set_id, STR(runner_user) },
	[K_TOOL_CONCURRENT] =	{ "tool_max_concurrent", set_concurrent,
				  NUM(tool_max_concurrent) },
	[K_TOOL_PER_USER] =	{ "tool_max_per_user", set_concurrent,
				  NUM(tool_max_per_user) },
	[K_AUDIT_SYSLOG] =	{ "audit_syslog", set_syslog, 0, 0 },
	[K_VERSIONS_KEPT] =	{ "versions_kept", set_versions,
				  NUM(versions_kept) },
	[K_MCP_ORIGINS] =	{ "mcp_allowed_origins", set_origins, 0, 0 },
	[K_STORE] =		{ "store", set_store, INT(store_pg) },
	[K_POSTGRESQL] =	{ "postgresql", set_conninfo,
				  STR(postgresql) },
	[K_PG_PASSWORD_FILE] =	{ "postgresql_password_file", set_path,
				  STR(pg_password_file) },
	[K_STORE_TIMEOUT] =	{ "store_timeout", set_timeout,
				  INT(store_timeout_ms) },
};

/*
 * What a running daemon cannot take without a restart: the store and its
 * key, the sockets it bound, the identity of its org and of its children,
 * where its audit log is, and the size of its execution table.
 */
static const int restart_only[] = {
	K_STATE_DIR, K_ROOT_KEY_FILE, K_SOCKET, K_SOCKET_MODE, K_LISTEN,
	K_ORG, K_FRONTEND_USER, K_AUDIT_LOG, K_RUNNER_USER, K_TOOL_CONCURRENT,
	K_MCP_ORIGINS, K_STORE, K_POSTGRESQL, K_PG_PASSWORD_FILE,
	K_STORE_TIMEOUT,
};

/* Files that live in state_dir unless the config names them; the tools
 * folder, in the config file's folder (resolve_derived). */
static const struct {
	int		 key;
	const char	*file;
} derived[] = {
	{ K_ROOT_KEY_FILE, "root.key" },
	{ K_TLS_CERT, "tls.crt" },
	{ K_TLS_KEY, "tls.key" },
	{ K_AUDIT_LOG, "audit.log" },
};

struct parser {
	const char	*file;		/* as given: messages quote it */
	char		 dir[PATH_MAX];	/* its folder, resolved */
	size_t		 lineno;
	size_t		 seen[K_MAX];	/* line that set each key; 0: unset */
	char		*err;		/* the first error */
	size_t		 errlen;
	FILE		*errs;		/* every error, a line each; or NULL */
	int		 nerr;
};

static int __attribute__((format(printf, 2, 3)))
perr(struct parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->nerr++ == 0 && p->err != NULL) {
		if (p->lineno > 0)
			snprintf(p->err, p->errlen, "%s:%zu: %s", p->file,
			    p->lineno, msg);
		else
			snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
	}
	if (p->errs != NULL) {
		if (p->lineno > 0)
			fprintf(p->errs, "%s:%zu: %s\n", p->file, p->lineno,
			    msg);
		else
			fprintf(p->errs, "%s: %s\n", p->file, msg);
	}
	return -1;
}

static char *
field(struct secretd_config *cfg, const struct keyword *kw)
{
	return (char *)cfg + kw->off;
}

void
config_defaults(struct secretd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s",
	    DEFAULT_STATE_DIR);
	snprintf(cfg->socket_path, sizeof(cfg->socket_path), "%s",
	    DEFAULT_SOCKET);
	cfg->socket_mode = DEFAULT_SOCKET_MODE;
	snprintf(cfg->org, sizeof(cfg->org), "%s", DEFAULT_ORG);
	snprintf(cfg->admin_group, sizeof(cfg->admin_group), "%s",
	    DEFAULT_ADMIN_GROUP);
	snprintf(cfg->frontend_user, sizeof(cfg->frontend_user), "%s",
	    SECRETD_USER);
	snprintf(cfg->root_key_file, sizeof(cfg->root_key_file),
	    "%s/root.key", DEFAULT_STATE_DIR);
	snprintf(cfg->tls_cert, sizeof(cfg->tls_cert), "%s/tls.crt",
	    DEFAULT_STATE_DIR);
	snprintf(cfg->tls_key, sizeof(cfg->tls_key), "%s/tls.key",
	    DEFAULT_STATE_DIR);
	snprintf(cfg->audit_log, sizeof(cfg->audit_log), "%s/audit.log",
	    DEFAULT_STATE_DIR);
	cfg->max_conns_per_uid = DEFAULT_CONNS_PER_UID;
	cfg->max_conns_per_address = DEFAULT_CONNS_PER_ADDR;
	cfg->max_tokens_per_user = DEFAULT_TOKENS_PER_USER;
	cfg->quota_user_secrets = DEFAULT_USER_SECRETS;
	cfg->quota_user_bytes = DEFAULT_USER_BYTES;
	cfg->quota_org_secrets = DEFAULT_ORG_SECRETS;
	cfg->quota_org_bytes = DEFAULT_ORG_BYTES;
	snprintf(cfg->tools_dir, sizeof(cfg->tools_dir), "%s",
	    SECRETD_TOOLS_DIR);
	snprintf(cfg->runner_user, sizeof(cfg->runner_user), "%s",
	    RUNNER_USER);
	cfg->tool_max_concurrent = DEFAULT_TOOL_CONCURRENT;
	cfg->tool_max_per_user = DEFAULT_TOOL_PER_USER;
	cfg->versions_kept = DEFAULT_VERSIONS_KEPT;
	cfg->store_timeout_ms = DEFAULT_STORE_TIMEOUT;
}

/*
 * Collapse "//", "." and ".." in an absolute path without touching the
 * file system, so the result does not depend on what exists yet.  A ".."
 * that would climb above "/" means the operator meant something else.
 */
static int
path_clean(char *path)
{
	char out[2 * PATH_MAX];
	const char *s = path, *e;
	size_t o = 0, n;

	while (*s != '\0') {
		while (*s == '/')
			s++;
		if (*s == '\0')
			break;
		if ((e = strchr(s, '/')) == NULL)
			e = s + strlen(s);
		n = e - s;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (o == 0)
				return -1;
			while (out[--o] != '/')
				;
		} else if (n != 1 || s[0] != '.') {
			out[o++] = '/';
			memcpy(out + o, s, n);
			o += n;
		}
		s = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	memcpy(path, out, o + 1);
	return 0;
}

static int
set_path(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, size_t size)
{
	char buf[2 * PATH_MAX];
	int n;

	if (*val == '\0')
		return perr(p, "%s: empty path", key);
	if (val[0] == '/')
		n = snprintf(buf, sizeof(buf), "%s", val);
	else
		n = snprintf(buf, sizeof(buf), "%s/%s", p->dir, val);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return perr(p, "%s: path too long", key);
	if (path_clean(buf) == -1)
		return perr(p, "%s: path \"%s\" cannot be resolved: it climbs "
		    "above /", key, val);
	if (strlen(buf) >= size)
		return perr(p, "%s: path too long (at most %zu bytes)", key,
		    size - 1);
	memcpy((char *)cfg + off, buf, strlen(buf) + 1);
	return 0;
}

static int
set_mode(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, size_t size)
{
	size_t i, n = strlen(val);
	unsigned long mode;

	if (n == 0 || n > 4)
		return perr(p, "%s: bad mode \"%s\": expected octal like "
		    "0666", key, val);
	for (i = 0; i < n; i++)
		if (val[i] < '0' || val[i] > '7')
			return perr(p, "%s: bad mode \"%s\": expected octal "
			    "like 0666", key, val);
	mode = strtoul(val, NULL, 8);
	if (mode > 0777)
		return perr(p, "%s: bad mode \"%s\": only permission bits "
		    "(at most 0777)", key, val);
	cfg->socket_mode = (mode_t)mode;
	return 0;
}

static int
valid_hostname(const char *h)
{
	size_t i;

	if (*h == '\0' || *h == '-' || *h == '.')
		return 0;
	for (i = 0; h[i] != '\0'; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		    (h[i] >= 'A' && h[i] <= 'Z') ||
		    (h[i] >= '0' && h[i] <= '9') || h[i] == '-' ||
		    h[i] == '.'))
			return 0;
	return 1;
}

static int
valid_port(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 5 || s[0] == '0')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return atoi(s) <= 65535;
}

/* host:port, or [v6-address]:port; the host is looked up at startup. */
static int
set_listen(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, size_t size)
{
	char host[sizeof(cfg->listen_host)];
	struct in6_addr a6;
	const char *end, *port;
	size_t hlen;

	if (val[0] == '[') {
		if ((end = strchr(val, ']')) == NULL || end[1] != ':')
			return perr(p, "%s: bad address \"%s\": expected "
			    "[v6-address]:port", key, val);
		hlen = end - (val + 1);
		port = end + 2;
		if (hlen >= sizeof(host))
			return perr(p, "%s: host too long", key);
		memcpy(host, val + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return perr(p, "%s: bad IPv6 address \"%s\"", key,
			    host);
	} else {
		if ((end = strrchr(val, ':')) == NULL)
			return perr(p, "%s: bad address \"%s\": expected "
			    "host:port", key, val);
		hlen = end - val;
		port = end + 1;
		if (hlen >= sizeof(host))
			return perr(p, "%s: host too long", key);
		memcpy(host, val, hlen);
		host[hlen] = '\0';
		if (strchr(host, ':') != NULL)
			return perr(p, "%s: bad address \"%s\": write IPv6 "
			    "addresses as [address]:port", key, val);
		if (!valid_hostname(host))
			return perr(p, "%s: bad host \"%s\"", key, host);
	}
	if (!valid_port(port))
		return perr(p, "%s: bad port \"%s\": expected 1-65535", key,
		    port);
	if (strlen(val) >= sizeof(cfg->listen))
		return perr(p, "%s: value too long", key);
	snprintf(cfg->listen, sizeof(cfg->listen), "%s", val);
	snprintf(cfg->listen_host, sizeof(cfg->listen_host), "%s", host);
	snprintf(cfg->listen_port, sizeof(cfg->listen_port), "%s", port);
	return 0;
}

static int
set_id(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, size_t size)
{
	size_t n = strlen(val);

	if (n >= size || !valid_id(val, n))
		return perr(p, "%s: bad name \"%s\": letters, digits, '_', "
		    "'-', '.', at most %zu characters", key, val, size - 1);
	memcpy((char *)cfg + off, val, n + 1);
	return 0;
}

static int
printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * Origins a browser-borne request to /v1/mcp may come from, besides our
 * own listen address: "scheme://host[:port]", http or https, no path,
 * separated by spaces.  Kept with one space between them.
 */
static int
set_origins(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, size_t size)
{
	char *out = cfg->mcp_allowed_origins;
	const char *s = val, *e, *host;
	size_t n, len = 0;

	out[0] = '\0';
	for (; *s != '\0'; s = e) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		for (e = s; *e != '\0' && *e != ' ' && *e != '\t'; e++)
			;
		n = (size_t)(e - s);
		host = strncmp(s, "https://", 8) == 0 ? s + 8 :
		    strncmp(s, "http://", 7) == 0 ? s + 7 : NULL;
		if (host == NULL || host == e || memchr(host, '/',
		    (size_t)(e - host)) != NULL || !printable(s, n))
			return perr(p, "%s: bad origin \"%.*s\": expected "
			    "http://host[:port] or https://host[:port]", key,
			    (int)(n > 200 ? 200 : n), s);
		if (len + n + 2 > sizeof(cfg->mcp_allowed_origins))
			return perr(p, "%s: over %zu bytes", key,
			    sizeof(cfg->mcp_allowed_origins) - 1);
		if (len > 0)
			out[len++] = ' ';
		memcpy(out + len, s, n);
		len += n;
		out[len] = '\0';
	}
	return 0;
}

static int
set_reveal(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, size_t size)
{
	if (strcmp(val, "admins") == 0)
		cfg->org_reveal_members = 0;
	else if (strcmp(val, "members") == 0)
		cfg->org_reveal_members = 1;
	else
		return perr(p, "%s: bad value \"%s\": expected admins or "
		    "members", key, val);
	return 0;
}

static int
set_sync(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, size_t size)
{
	if (strcmp(val, "writes") == 0)
		cfg->audit_sync_all = 0;
	else if (strcmp(val, "all") == 0)
		cfg->audit_sync_all = 1;
	else
		return perr(p, "%s: bad value \"%s\": expected writes or all",
		    key, val);
	return 0;
}

static int
set_syslog(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, size_t size)
{
	if (strcmp(val, "no") == 0)
		cfg->audit_syslog = 0;
	else if (strcmp(val, "yes") == 0)
		cfg->audit_syslog = 1;
	else
		return perr(p, "%s: bad value \"%s\": expected yes or no",
		    key, val);
	return 0;
}

/* A decimal number from 1 to max, with an optional K, M or G (1024s). */
static int
set_number(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, uint64_t max, int suffix)
{
	unsigned long long n;
	uint64_t v;
	char *end;
	int shift = 0;

	if (*val < '0' || *val > '9')
		goto bad;
	errno = 0;
	n = strtoull(val, &end, 10);
	if (errno != 0)
		goto bad;
	if (suffix && *end != '\0' && end[1] == '\0') {
		if (*end == 'K')
			shift = 10;
		else if (*end == 'M')
			shift = 20;
		else if (*end == 'G')
			shift = 30;
		if (shift != 0)
			end++;
	}
	if (*end != '\0' || n == 0 || n > (max >> shift))
		goto bad;
	v = (uint64_t)n << shift;
	memcpy((char *)cfg + off, &v, sizeof(v));
	return 0;
bad:
	return perr(p, "%s: bad value \"%s\": expected a number from 1 to "
	    "%llu%s", key, val, (unsigned long long)max,
	    suffix ? " (K, M or G may follow)" : "");
}

static int
set_count(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, size_t size)
{
	return set_number(p, cfg, key, val, off, COUNT_LIMIT, 0);
}

static int
set_bytes(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, size_t size)
{
	return set_number(p, cfg, key, val, off, BYTES_LIMIT, 1);
}

static int
set_concurrent(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, size_t size)
{
	return set_number(p, cfg, key, val, off, TOOL_CONCURRENT_LIMIT, 0);
}

static int
set_versions(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, size_t size)
{
	return set_number(p, cfg, key, val, off, VERSIONS_MAX, 0);
}

static int
set_store(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, size_t size)
{
	if (strcmp(val, "lmdb") == 0)
		cfg->store_pg = 0;
	else if (strcmp(val, "postgresql") == 0) {
#ifndef HAVE_LIBPQ
		return perr(p, "%s: this secretd was built without libpq, so "
		    "without the PostgreSQL store (configure "
		    "--with-postgresql)", key);
#endif
		cfg->store_pg = 1;
	} else
		return perr(p, "%s: bad value \"%s\": expected lmdb or "
		    "postgresql", key, val);
	return 0;
}

#ifdef HAVE_LIBPQ
/* Said with -n only; the config stays valid. */
static void __attribute__((format(printf, 2, 3)))
pwarn(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->errs == NULL)
		return;
	fprintf(p->errs, "%s:%zu: warning: ", p->file, p->lineno);
	va_start(ap, fmt);
	vfprintf(p->errs, fmt, ap);
	va_end(ap);
	fputc('\n', p->errs);
}

/* A unix socket folder (or an abstract one) or an IP address. */
static int
pg_host_is_address(const char *h, size_t n)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (n == 0 || h[0] == '/' || h[0] == '@')
		return 1;
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, h, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, &a) == 1 ||
	    inet_pton(AF_INET6, buf, &a) == 1;
}

/*
 * libpq parses the string as it will when connecting.  The password
 * comes from its own file, never from a config others may read (nor
 * does the client key's sslpassword, which -v would print); a host
 * name is looked up by a blocking getaddrinfo in the broker's loop.
 */
static int
check_conninfo(struct parser *p, const char *key, const char *val)
{
	PQconninfoOption *opts, *o;
	const char *host = NULL, *sslmode = "", *h, *e;
	char *why = NULL;
	int hostaddr = 0, tcp = 0, rv = 0;

	if ((opts = PQconninfoParse(val, &why)) == NULL) {
		if (why != NULL)
			why[strcspn(why, "\n")] = '\0';
		rv = perr(p, "%s: %s", key, why != NULL ? why :
		    "out of memory");
		PQfreemem(why);
		return rv;
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "password") == 0)
			rv = perr(p, "%s: holds a password; put it in "
			    "postgresql_password_file (mode 0600) or the "
			    "credential %s instead", key, PG_PASSWORD_FILE);
		else if (strcmp(o->keyword, "sslpassword") == 0)
			rv = perr(p, "%s: holds sslpassword, the password of "
			    "the client key; keep the key unencrypted and "
			    "readable by the broker only", key);
		else if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = tcp = 1;
		else if (strcmp(o->keyword, "sslmode") == 0)
			sslmode = o->val;
	}
	for (h = host; h != NULL; h = *e == ',' ? e + 1 : NULL) {
		e = h + strcspn(h, ",");
		if (*h != '/' && *h != '@')
			tcp = 1;
		if (!hostaddr && !pg_host_is_address(h, (size_t)(e - h)))
			pwarn(p, "%s: host \"%.*s\" is a name: libpq looks it "
			    "up with a blocking getaddrinfo, which stalls the "
			    "broker; give an address, a socket folder or "
			    "hostaddr=", key, (int)(e - h), h);
	}
	/* libpq's default, prefer, takes whoever answers, unencrypted too:
	 * a machine in the path could ask for the password in clear. */
	if (tcp && strcmp(sslmode, "verify-full") != 0 &&
	    strcmp(sslmode, "verify-ca") != 0)
		pwarn(p, "%s: over TCP without sslmode=verify-full, a machine "
		    "in the path can pose as the database and be sent the "
		    "password", key);
	PQconninfoFree(opts);
	return rv;
}
#endif

static int
set_conninfo(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, size_t size)
{
	if (*val == '\0')
		return perr(p, "%s: empty connection string", key);
	if (strlen(val) >= size)
		return perr(p, "%s: longer than %zu bytes", key, size - 1);
#ifdef HAVE_LIBPQ
	if (check_conninfo(p, key, val) == -1)
		return -1;
#endif
	memcpy((char *)cfg + off, val, strlen(val) + 1);
	return 0;
}

/* 100ms to 60s, with its unit: ms or s. */
static int
set_timeout(struct parser *p, struct secretd_config *cfg, const char *key,
    const char *val, size_t off, size_t size)
{
	unsigned long long n;
	char *end;

	if (*val < '0' || *val > '9')
		goto bad;
	errno = 0;
	n = strtoull(val, &end, 10);
	if (errno != 0 || n > STORE_TIMEOUT_MAX)
		goto bad;
	if (strcmp(end, "s") == 0)
		n *= 1000;
	else if (strcmp(end, "ms") != 0)
		goto bad;
	if (n < STORE_TIMEOUT_MIN || n > STORE_TIMEOUT_MAX)
		goto bad;
	cfg->store_timeout_ms = (int)n;
	return 0;
bad:
	return perr(p, "%s: bad value \"%s\": expected a time from 100ms "
	    "to 60s, with its unit (ms or s)", key, val);
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * One line, already checked for NUL bytes.  A '#' at the start or after
 * white space begins a comment, so a path may still contain '#'.
 */
static int
parse_line(struct parser *p, struct secretd_config *cfg, char *line)
{
	char *key, *val, *s, *e;
	size_t i;

	for (s = line; *s != '\0'; s++)
		if (*s == '#' && (s == line || is_space(s[-1]))) {
			*s = '\0';
			break;
		}
	for (e = line + strlen(line); e > line && is_space(e[-1]); e--)
		;
	*e = '\0';
	for (key = line; is_space(*key); key++)
		;
	if (*key == '\0')
		return 0;
	if ((val = strchr(key, '=')) == NULL)
		return perr(p, "syntax error: expected key = value");
	for (e = val; e > key && is_space(e[-1]); e--)
		;
	*e = '\0';
	for (val++; is_space(*val); val++)
		;
	if (*key == '\0')
		return perr(p, "syntax error: missing key before '='");

	for (i = 0; i < K_MAX; i++)
		if (strcmp(key, keywords[i].name) == 0)
			break;
	if (i == K_MAX)
		return perr(p, "unknown key \"%s\"", key);
	if (p->seen[i] != 0)
		return perr(p, "duplicate key \"%s\" (first set on line %zu)",
		    key, p->seen[i]);
	p->seen[i] = p->lineno;
	return keywords[i].set(p, cfg, key, val, keywords[i].off,
	    keywords[i].size);
}

/* The path of derived file i in state_dir dir; -1 when too long. */
static int
derive(const char *dir, size_t i, char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir,
	    derived[i].file);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Files left at their defaults follow state_dir wherever it was moved. */
static int
resolve_derived(struct parser *p, struct secretd_config *cfg)
{
	const struct keyword *kw;
	size_t i;

	for (i = 0; i < sizeof(derived) / sizeof(derived[0]); i++) {
		if (p->seen[derived[i].key] != 0)
			continue;
		kw = &keywords[derived[i].key];
		if (derive(cfg->state_dir, i, field(cfg, kw), kw->size) == -1) {
			p->lineno = p->seen[K_STATE_DIR];
			return perr(p, "state_dir: too long to hold %s",
			    derived[i].file);
		}
	}
	if (p->seen[K_TOOLS_DIR] == 0) {
		p->lineno = 0;
		return set_path(p, cfg, "tools_dir", DEFAULT_TOOLS_DIR,
		    STR(tools_dir));
	}
	return 0;
}

static int
open_config(struct parser *p, struct secretd_config *cfg, FILE **fp)
{
	struct stat st;
	char *slash;

	if ((*fp = fopen(p->file, "re")) == NULL)
		return perr(p, "%s", strerror(errno));
	if (fstat(fileno(*fp), &st) == -1)
		return perr(p, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return perr(p, "not a regular file");
	/* The privileged broker obeys this file: nobody else may edit it. */
	if (st.st_mode & S_IWOTH)
		return perr(p, "writable by others; refusing it");
	if (realpath(p->file, cfg->path) == NULL)
		return perr(p, "cannot resolve its path: %s", strerror(errno));
	snprintf(p->dir, sizeof(p->dir), "%s", cfg->path);
	if ((slash = strrchr(p->dir, '/')) == p->dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return 0;
}

/*
 * The users and the group the config names must exist on this system;
 * each error names its key, at the line that set it (none: the default).
 * The children switch users only when the daemon runs as root, so only
 * then must theirs exist.
 */
static void
check_users(struct parser *p, const struct secretd_config *cfg)
{
	static const struct {
		int		 key;
		int		 group;
	} names[] = {
		{ K_ADMIN_GROUP, 1 }, { K_FRONTEND_USER, 0 },
		{ K_RUNNER_USER, 0 },
	};
	const struct keyword *kw;
	const char *name;
	struct passwd *pw;
	size_t i, n = sizeof(names) / sizeof(names[0]);
	int found;

	if (geteuid() != 0)
		n = 1;
	for (i = 0; i < n; i++) {
		kw = &keywords[names[i].key];
		name = (const char *)cfg + kw->off;
		errno = 0;
		found = names[i].group ? getgrnam(name) != NULL :
		    getpwnam(name) != NULL;
		if (found)
			continue;
		p->lineno = p->seen[names[i].key];
		perr(p, "%s: no %s \"%s\" on this system%s", kw->name,
		    names[i].group ? "group" : "user", name,
		    p->lineno == 0 ? " (the default)" : "");
	}
	/* The runner holds credential values: never root's ids. */
	if (geteuid() == 0 && (pw = getpwnam(cfg->runner_user)) != NULL &&
	    (pw->pw_uid == 0 || pw->pw_gid == 0)) {
		p->lineno = p->seen[K_RUNNER_USER];
		perr(p, "runner_user: \"%s\" must not be root",
		    cfg->runner_user);
	}
	if (geteuid() == 0 &&
	    strcmp(cfg->runner_user, cfg->frontend_user) == 0) {
		p->lineno = p->seen[K_RUNNER_USER];
		perr(p, "runner_user: must differ from frontend_user");
	}
	endpwent();
	endgrent();
}

/*
 * The store's keys together: PostgreSQL needs its string; the password
 * file, when -n looks at files, must be there and readable by its owner
 * alone, as the root key must.
 */
static void
check_store(struct parser *p, const struct secretd_config *cfg, int flags)
{
	struct stat st;

	if (cfg->store_pg && cfg->postgresql[0] == '\0') {
		p->lineno = p->seen[K_STORE];
		perr(p, "store: postgresql needs the connection string: "
		    "postgresql = host=... dbname=...");
	}
	if (!(flags & CONFIG_FILES) || cfg->pg_password_file[0] == '\0')
		return;
	p->lineno = p->seen[K_PG_PASSWORD_FILE];
	if (stat(cfg->pg_password_file, &st) == -1)
		perr(p, "postgresql_password_file: %s: %s",
		    cfg->pg_password_file, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		perr(p, "postgresql_password_file: %s: not a regular file",
		    cfg->pg_password_file);
	else if (st.st_mode & 077)
		perr(p, "postgresql_password_file: %s: mode %04o lets others "
		    "read it; it must be 0600 or stricter",
		    cfg->pg_password_file, (unsigned)(st.st_mode & 07777));
}

/*
 * Reads the whole file even past an error, so that every error is found
 * in one pass; returns how many there were (0: cfg is valid).  The first
 * goes to err, each goes to errs as a FILE:LINE: line.
 */
int
config_parse(const char *path, struct secretd_config *cfg, int flags,
    char *err, size_t errlen, FILE *errs)
{
	struct parser p;
	FILE *fp = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	memset(&p, 0, sizeof(p));
	p.file = path != NULL ? path : SECRETD_CONF_FILE;
	p.err = err;
	p.errlen = errlen;
	p.errs = errs;
	config_defaults(cfg);
	if (open_config(&p, cfg, &fp) == -1)
		goto done;
	errno = 0;
	while ((len = getline(&line, &cap, fp)) != -1) {
		p.lineno++;
		if ((size_t)len != strlen(line))
			perr(&p, "NUL byte in line");
		else if (len > LINE_MAX_LEN)
			perr(&p, "line too long");
		else
			parse_line(&p, cfg, line);
	}
	if (ferror(fp)) {
		p.lineno = 0;
		perr(&p, "read: %s", strerror(errno));
		goto done;
	}
	resolve_derived(&p, cfg);
	check_store(&p, cfg, flags);
	if (flags & CONFIG_USERS)
		check_users(&p, cfg);
 done:
	free(line);
	if (fp != NULL)
		fclose(fp);
	return p.nerr;
}

int
config_load(const char *path, struct secretd_config *cfg, char *err,
    size_t errlen)
{
	return config_parse(path, cfg, 0, err, errlen, NULL) == 0 ? 0 : -1;
}

static int
key_differs(int k, const struct secretd_config *a,
    const struct secretd_config *b)
{
	const struct keyword *kw = &keywords[k];

	switch (k) {
	case K_SOCKET_MODE:
		return a->socket_mode != b->socket_mode;
	case K_LISTEN:
		return strcmp(a->listen, b->listen) != 0;
	case K_ORG_REVEAL:
		return a->org_reveal_members != b->org_reveal_members;
	case K_AUDIT_SYNC:
		return a->audit_sync_all != b->audit_sync_all;
	}
	if (kw->set == set_path || kw->set == set_id)
		return strcmp(field((struct secretd_config *)a, kw),
		    field((struct secretd_config *)b, kw)) != 0;
	return memcmp(field((struct secretd_config *)a, kw),
	    field((struct secretd_config *)b, kw), kw->size) != 0;
}

/* next takes cur's value of key k. */
static void
key_keep(int k, struct secretd_config *next, const struct secretd_config *cur)
{
	const struct keyword *kw = &keywords[k];

	switch (k) {
	case K_SOCKET_MODE:
		next->socket_mode = cur->socket_mode;
		return;
	case K_LISTEN:
		memcpy(next->listen, cur->listen, sizeof(next->listen));
		memcpy(next->listen_host, cur->listen_host,
		    sizeof(next->listen_host));
		memcpy(next->listen_port, cur->listen_port,
		    sizeof(next->listen_port));
		return;
	}
	memcpy(field(next, kw), field((struct secretd_config *)cur, kw),
	    kw->size);
}

static void
name_add(char *list, size_t len, const char *name)
{
	size_t n = strlen(list);

	snprintf(list + n, len - n, "%s%s", n > 0 ? ", " : "", name);
}

/*
 * A state_dir that keeps its old value until a restart keeps the files
 * derived from it where they were, rather than have them read from a
 * folder not yet in use.
 */
static void
follow_state_dir(struct secretd_config *next, const struct secretd_config *cur)
{
	const struct keyword *kw;
	char path[PATH_MAX];
	size_t i;

	if (!key_differs(K_STATE_DIR, next, cur))
		return;
	for (i = 0; i < sizeof(derived) / sizeof(derived[0]); i++) {
		kw = &keywords[derived[i].key];
		if (derive(next->state_dir, i, path, sizeof(path)) == 0 &&
		    strcmp(path, field(next, kw)) == 0)
			derive(cur->state_dir, i, field(next, kw), kw->size);
	}
}

/*
 * A reload from cur to next: the keys that may change live and did are
 * named in live; those that may not and did are named in restart and
 * keep cur's values in next.
 */
void
config_reload_diff(struct secretd_config *next,
    const struct secretd_config *cur, char *live, size_t livelen,
    char *restart, size_t restartlen)
{
	size_t j;
	int k, fixed;

	live[0] = restart[0] = '\0';
	follow_state_dir(next, cur);
	for (k = 0; k < K_MAX; k++) {
		if (!key_differs(k, next, cur))
			continue;
		fixed = 0;
		for (j = 0; j < sizeof(restart_only) / sizeof(restart_only[0]);
		    j++)
			if (restart_only[j] == k)
				fixed = 1;
		if (fixed) {
			name_add(restart, restartlen, keywords[k].name);
			key_keep(k, next, cur);
		} else
			name_add(live, livelen, keywords[k].name);
	}
}

void
config_print(const struct secretd_config *cfg, FILE *out)
{
	fprintf(out, "state_dir = %s\n", cfg->state_dir);
	fprintf(out, "root_key_file = %s\n", cfg->root_key_file);
	fprintf(out, "socket = %s\n", cfg->socket_path);
	fprintf(out, "socket_mode = %04o\n", (unsigned)cfg->socket_mode);
	if (cfg->listen[0] != '\0')
		fprintf(out, "listen = %s\n", cfg->listen);
	else
		fprintf(out, "# listen: none, no TLS listener\n");
	fprintf(out, "tls_cert = %s\n", cfg->tls_cert);
	fprintf(out, "tls_key = %s\n", cfg->tls_key);
	fprintf(out, "org = %s\n", cfg->org);
	fprintf(out, "admin_group = %s\n", cfg->admin_group);
	fprintf(out, "org_reveal = %s\n",
	    cfg->org_reveal_members ? "members" : "admins");
	fprintf(out, "frontend_user = %s\n", cfg->frontend_user);
	fprintf(out, "audit_log = %s\n", cfg->audit_log);
	fprintf(out, "audit_sync = %s\n", cfg->audit_sync_all ? "all" :
	    "writes");
	fprintf(out, "audit_syslog = %s\n", cfg->audit_syslog ? "yes" : "no");
	fprintf(out, "max_connections_per_uid = %llu\n",
	    (unsigned long long)cfg->max_conns_per_uid);
	fprintf(out, "max_connections_per_address = %llu\n",
	    (unsigned long long)cfg->max_conns_per_address);
	fprintf(out, "max_tokens_per_user = %llu\n",
	    (unsigned long long)cfg->max_tokens_per_user);
	fprintf(out, "quota_user_secrets = %llu\n",
	    (unsigned long long)cfg->quota_user_secrets);
	fprintf(out, "quota_user_bytes = %llu\n",
	    (unsigned long long)cfg->quota_user_bytes);
	fprintf(out, "quota_org_secrets = %llu\n",
	    (unsigned long long)cfg->quota_org_secrets);
	fprintf(out, "quota_org_bytes = %llu\n",
	    (unsigned long long)cfg->quota_org_bytes);
	fprintf(out, "tools_dir = %s\n", cfg->tools_dir);
	fprintf(out, "runner_user = %s\n", cfg->runner_user);
	fprintf(out, "tool_max_concurrent = %llu\n",
	    (unsigned long long)cfg->tool_max_concurrent);
	fprintf(out, "tool_max_per_user = %llu\n",
	    (unsigned long long)cfg->tool_max_per_user);
	fprintf(out, "versions_kept = %llu\n",
	    (unsigned long long)cfg->versions_kept);
	if (cfg->mcp_allowed_origins[0] == '\0')
		fprintf(out, "# mcp_allowed_origins: none, the listen "
		    "address only\n");
	else
		fprintf(out, "mcp_allowed_origins = %s\n",
		    cfg->mcp_allowed_origins);
	fprintf(out, "store = %s\n", cfg->store_pg ? "postgresql" : "lmdb");
	/* Never a password: the parser refuses one in the string. */
	if (cfg->postgresql[0] != '\0')
		fprintf(out, "postgresql = %s\n", cfg->postgresql);
	if (cfg->pg_password_file[0] != '\0')
		fprintf(out, "postgresql_password_file = %s\n",
		    cfg->pg_password_file);
	else if (cfg->store_pg)
		fprintf(out, "# postgresql_password_file: none; "
		    "$CREDENTIALS_DIRECTORY/%s when there is one\n",
		    PG_PASSWORD_FILE);
	if (cfg->store_timeout_ms % 1000 == 0)
		fprintf(out, "store_timeout = %ds\n",
		    cfg->store_timeout_ms / 1000);
	else
		fprintf(out, "store_timeout = %dms\n", cfg->store_timeout_ms);
}
