/*
 * The audit log: one JSON object per line and per decision, written
 * before its reply, so a request whose line cannot be written fails
 * closed.  Each line carries a keyed hash chained to the line before it
 * (auditchain.c).  It records who, what and the outcome; it must never
 * see a secret value or a token.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "b64.h"
#include "broker.h"
#include "log.h"

#define AUDIT_LINE_MAX		4096
#define AUDIT_LINE_RESERVE	1024	/* room reserved for a line */
#define AUDIT_TAIL_MAX		(2 * AUDIT_LINE_MAX + 2)

/* A line being built; once it does not fit, it is refused whole. */
struct jline {
	char		 buf[AUDIT_LINE_MAX];
	size_t		 len;
	int		 over;
};

static int audit_fd = -1;
static char audit_path[PATH_MAX];
static uint8_t *chain_key;		/* sodium_malloc, read-only */
static uint8_t last_chain[AUDIT_HASH_LEN];
static uint64_t next_seq = 1;
static int writable = 1;
static int syslog_fd = -1;		/* audit_syslog = yes */
static unsigned long syslog_dropped;

/*
 * A chain start record not yet written (the log was new, reopened, or
 * its end did not verify): it goes before the next line.
 */
static struct {
	int		 due;
	int		 has_previous;
	uint8_t		 previous[AUDIT_HASH_LEN];
	const char	*reason;
} start;

int
audit_open(const char *path)
{
	snprintf(audit_path, sizeof(audit_path), "%s", path);
	if ((audit_fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		log_warn("%s: open %s", __func__, path);
		return -1;
	}
	return 0;
}

static int
syslog_connect(void)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", _PATH_LOG);
	return connect(syslog_fd, (struct sockaddr *)&sun, sizeof(sun));
}

/*
 * audit_syslog = yes: each line also goes to the local syslog socket,
 * from a descriptor of our own that never blocks, so a slow or absent
 * syslog cannot hold a reply; the file stays the record.
 */
void
audit_syslog_open(void)
{
	if ((syslog_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		log_warn("audit: syslog socket");
		return;
	}
	if (syslog_connect() == -1)
		log_warn("audit: %s (audit lines go to syslog once it is "
		    "there)", _PATH_LOG);
}

/* A syslog daemon restarted leaves us unconnected: connect once more. */
static void
syslog_send(const char *line, size_t len)
{
	char msg[AUDIT_LINE_MAX + 64];
	int n;

	n = snprintf(msg, sizeof(msg), "<%d>secretd-audit[%ld]: %.*s",
	    LOG_AUTHPRIV | LOG_INFO, (long)getpid(), (int)len, line);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	if (send(syslog_fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == n)
		return;
	if ((errno == ENOTCONN || errno == ECONNREFUSED ||
	    errno == EDESTADDRREQ) && syslog_connect() == 0 &&
	    send(syslog_fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == n)
		return;
	/* Counted, and said at 1, 2, 4, 8... so a flood is not doubled. */
	syslog_dropped++;
	if ((syslog_dropped & (syslog_dropped - 1)) == 0)
		log_warn("audit: %lu lines not sent to syslog",
		    syslog_dropped);
}

static void
j_raw(struct jline *j, const char *s, size_t n)
{
	if (j->over || n > sizeof(j->buf) - j->len) {
		j->over = 1;
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

static void
j_lit(struct jline *j, const char *s)
{
	j_raw(j, s, strlen(s));
}

/*
 * A JSON string.  Quotes, backslashes and control characters are
 * escaped; a string that is not UTF-8 has each byte past ASCII replaced,
 * so no caller's name can end a string or a line.
 */
static void
j_string(struct jline *j, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	int utf8 = valid_utf8_text(s, strlen(s));
	unsigned char c;
	char esc[7];

	j_lit(j, "\"");
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			j_raw(j, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			j_raw(j, esc, 6);
		} else if (c >= 0x80 && !utf8)
			j_lit(j, "\\ufffd");
		else
			j_raw(j, (const char *)&c, 1);
	}
	j_lit(j, "\"");
}

/* ,"key":"value" or ,"key":null; keys are our own literals. */
static void
j_str(struct jline *j, const char *key, const char *val)
{
	j_lit(j, ",\"");
	j_lit(j, key);
	j_lit(j, "\":");
	if (val == NULL || *val == '\0')
		j_lit(j, "null");
	else
		j_string(j, val);
}

static void
j_uint(struct jline *j, const char *key, unsigned long long v)
{
	char num[24];

	j_lit(j, ",\"");
	j_lit(j, key);
	j_lit(j, "\":");
	snprintf(num, sizeof(num), "%llu", v);
	j_lit(j, num);
}

static const char *
role_name(int role)
{
	if (role == ROLE_ADMIN)
		return "admin";
	if (role == ROLE_MEMBER)
		return "member";
	return NULL;
}

static const char *
scope_name(int scope)
{
	if (scope == SCOPE_USER)
		return "user";
	if (scope == SCOPE_ORG)
		return "org";
	return NULL;
}

/* "time" with milliseconds and "seq": the frame every line starts with. */
static int
j_begin(struct jline *j)
{
	char ts[AUDIT_TIME_LEN + 8];
	struct timespec now;
	struct tm tm;

	if (clock_gettime(CLOCK_REALTIME, &now) == -1 ||
	    gmtime_r(&now.tv_sec, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return -1;
	snprintf(ts + 19, sizeof(ts) - 19, ".%03uZ",
	    (unsigned)(now.tv_nsec / 1000000) % 1000);
	j->len = 0;
	j->over = 0;
	j_lit(j, "{\"time\":\"");
	j_lit(j, ts);
	j_lit(j, "\",\"seq\":");
	snprintf(ts, sizeof(ts), "%llu", (unsigned long long)next_seq);
	j_lit(j, ts);
	return 0;
}

/*
 * The chain field closes the line, then the line goes in whole or not
 * at all: the broker is the log's one writer, and a line that does not
 * go in whole is cut off again, so the next one starts a line of its
 * own once there is room.  The chain moves on only past a written line.
 */
static int
j_write(struct jline *j)
{
	uint8_t h[AUDIT_HASH_LEN];
	char hexs[2 * AUDIT_HASH_LEN + 1];
	off_t end;
	ssize_t w = 0;
	size_t done = 0;
	int saved;

	auditchain_hash(chain_key, last_chain, j->buf, j->len, h);
	sodium_bin2hex(hexs, sizeof(hexs), h, sizeof(h));
	j_lit(j, ",\"chain\":\"");
	j_lit(j, hexs);
	j_lit(j, "\"}\n");
	if (j->over) {
		log_warnx("audit: a line over %d bytes was refused",
		    AUDIT_LINE_MAX);
		return -1;
	}
	if ((end = lseek(audit_fd, 0, SEEK_END)) == -1) {
		log_warn("audit: lseek");
		return -1;
	}
	while (done < j->len) {
		w = write(audit_fd, j->buf + done, j->len - done);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	if (done == j->len) {
		memcpy(last_chain, h, sizeof(h));
		next_seq++;
		if (syslog_fd != -1)
			syslog_send(j->buf, j->len - 1);
		return 0;
	}
	saved = w == 0 ? ENOSPC : errno;
	if (done > 0 && ftruncate(audit_fd, end) == -1)
		log_warn("audit: a partial line stays at offset %lld",
		    (long long)end);
	errno = saved;
	log_warn("audit: write");
	return -1;
}

static int
write_start(void)
{
	struct jline j;
	char hexs[2 * AUDIT_HASH_LEN + 1];

	if (j_begin(&j) == -1)
		return -1;
	j_lit(&j, ",\"op\":\"chain_start\",\"previous\":");
	if (start.has_previous) {
		sodium_bin2hex(hexs, sizeof(hexs), start.previous,
		    sizeof(start.previous));
		j_string(&j, hexs);
	} else
		j_lit(&j, "null");
	j_str(&j, "reason", start.reason);
	/* A start record chains from the value it names (zeros: none). */
	memcpy(last_chain, start.previous, sizeof(last_chain));
	if (j_write(&j) == -1)
		return -1;
	start.due = 0;
	return 0;
}

static void
start_due(const uint8_t *previous, const char *reason)
{
	start.due = 1;
	start.has_previous = previous != NULL;
	if (previous != NULL)
		memcpy(start.previous, previous, sizeof(start.previous));
	else
		memset(start.previous, 0, sizeof(start.previous));
	start.reason = reason;
}

/*
 * The log's last line into l, checked against the line before it (or,
 * for a chain start record, against the value it names).  Returns
 * 1 for a line that verifies, 0 for an empty log, -1 for a damaged end.
 */
static int
read_tail(struct audit_line *l)
{
	static char buf[AUDIT_TAIL_MAX];
	struct audit_line before;
	uint8_t prev[AUDIT_HASH_LEN];
	struct stat sb;
	off_t from;
	ssize_t n;
	char *last, *p;

	if (fstat(audit_fd, &sb) == -1)
		return -1;
	if (sb.st_size == 0)
		return 0;
	from = sb.st_size > AUDIT_TAIL_MAX ? sb.st_size - AUDIT_TAIL_MAX : 0;
	if ((n = pread(audit_fd, buf, (size_t)(sb.st_size - from), from)) !=
	    sb.st_size - from || buf[n - 1] != '\n')
		return -1;
	/* The last line starts after the newline before its own. */
	for (last = buf + n - 1; last > buf && last[-1] != '\n'; last--)
		;
	if ((last == buf && from != 0) ||
	    auditchain_parse(last, (size_t)(buf + n - 1 - last), l) == -1)
		return -1;
	if (l->is_start) {
		auditchain_start_prev(l, prev);
		return auditchain_follows(chain_key, prev, l) ? 1 : -1;
	}
	if (last == buf)
		return -1;
	for (p = last - 1; p > buf && p[-1] != '\n'; p--)
		;
	if ((p == buf && from != 0) ||
	    auditchain_parse(p, (size_t)(last - 1 - p), &before) == -1)
		return -1;
	return auditchain_follows(chain_key, before.chain, l) ? 1 : -1;
}

static int
ends_line(void)
{
	struct stat sb;
	char c;

	return fstat(audit_fd, &sb) == 0 && (sb.st_size == 0 ||
	    (pread(audit_fd, &c, 1, sb.st_size - 1) == 1 && c == '\n'));
}

/*
 * With the chain's key (store_audit_key), where the chain goes on.
 * A log whose last line does not verify is never a reason not to start:
 * a new chain segment says so in the log, and loudly in ours.
 */
int
audit_start(const uint8_t *audit_key)
{
	struct audit_line l;
	int rv;

	if (audit_fd == -1 || (chain_key = auditchain_key(audit_key)) == NULL)
		return -1;
	if ((rv = read_tail(&l)) == 1) {
		memcpy(last_chain, l.chain, sizeof(last_chain));
		next_seq = l.seq + 1;
		return 0;
	}
	if (rv == 0)
		start_due(NULL, "a new log");
	else {
		log_warnx("AUDIT LOG DAMAGED: the last line of %s does not "
		    "verify; a new chain segment starts after it (run "
		    "secretd audit verify)", audit_path);
		/* A partial last line stays a line of its own. */
		if (!ends_line() && write(audit_fd, "\n", 1) != 1)
			log_warn("%s: write", __func__);
		start_due(NULL, "the log's last line did not verify");
	}
	next_seq = 1;
	if (write_start() == -1)
		log_warnx("%s: the chain start record waits for room",
		    __func__);
	return 0;
}

/*
 * After logrotate moved the file: the same path again, starting with a
 * record that names the moved file's last chain value.  The same file
 * (a SIGHUP without a rotation) just goes on.
 */
int
audit_reopen(void)
{
	struct stat was, now;
	int fd;

	if (audit_fd == -1)
		return -1;
	if ((fd = open(audit_path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		log_warn("%s: open %s; still writing the old file", __func__,
		    audit_path);
		return -1;
	}
	if (fstat(fd, &now) == -1 || fstat(audit_fd, &was) == -1) {
		log_warn("%s: fstat", __func__);
		close(fd);
		return -1;
	}
	if (now.st_dev == was.st_dev && now.st_ino == was.st_ino) {
		close(fd);
		return 0;
	}
	if (fdatasync(audit_fd) == -1)
		log_warn("%s: fdatasync of the old file", __func__);
	close(audit_fd);
	audit_fd = fd;
	if (!start.due)
		start_due(last_chain, "reopened after rotation");
	if (write_start() == -1)
		log_warnx("%s: the chain start record waits for room",
		    __func__);
	log_info("audit log %s reopened", audit_path);
	return 0;
}

/* Checked here, as everything from the front-end: else one of ours. */
static void
j_request_id(struct jline *j, const char *id)
{
	static const char hex[] = "0123456789abcdef";
	char own[REQUEST_ID_LEN + 1];
	uint8_t rnd[REQUEST_ID_LEN / 2];
	size_t i;

	if (id == NULL || !valid_request_id(id)) {
		randombytes_buf(rnd, sizeof(rnd));
		for (i = 0; i < sizeof(rnd); i++) {
			own[2 * i] = hex[rnd[i] >> 4];
			own[2 * i + 1] = hex[rnd[i] & 0xf];
		}
		own[REQUEST_ID_LEN] = '\0';
		if (id != NULL && *id != '\0')
			log_warnx("audit: a malformed request id was "
			    "replaced by %s", own);
		id = own;
	}
	j_str(j, "requestId", id);
}

static void
j_tool(struct jline *j, const struct audit_tool *t)
{
	uint32_t i;

	j_str(j, "tool", t->tool);
	j_str(j, "action", t->action);
	j_lit(j, ",\"creds\":[");
	for (i = 0; i < t->ncreds; i++) {
		j_lit(j, "{\"slot\":");
		j_string(j, t->creds[i].slot);
		j_str(j, "name", t->creds[i].name);
		j_str(j, "scope", scope_name(t->creds[i].scope));
		j_uint(j, "version", t->creds[i].version);
		j_lit(j, i + 1 < t->ncreds ? "}," : "}");
	}
	j_lit(j, "]");
	if (t->has_result) {
		j_uint(j, "ms", t->ms);
		j_uint(j, "status", t->status);
		j_uint(j, "redactions", t->redactions);
	}
}

int
audit_log(const struct audit_rec *a)
{
	struct jline j;

	if (audit_fd == -1 || chain_key == NULL)
		return -1;
	if (start.due && write_start() == -1)
		goto fail;
	if (j_begin(&j) == -1)
		goto fail;
	j_request_id(&j, a->request_id);
	j_str(&j, "source", a->source);
	if (a->has_uid)
		j_uint(&j, "uid", a->uid);
	j_str(&j, "user", a->user);
	if (a->token_id != NULL && *a->token_id != '\0')
		j_str(&j, "tokenId", a->token_id);
	j_str(&j, "role", role_name(a->role));
	j_str(&j, "op", a->op);
	j_str(&j, "scope", scope_name(a->scope));
	j_str(&j, "owner", a->owner);
	j_str(&j, "name", a->name);
	j_str(&j, "outcome", a->outcome);
	if (a->version != 0)
		j_uint(&j, "version", a->version);
	if (a->from_version != 0)
		j_uint(&j, "fromVersion", a->from_version);
	if (a->tool != NULL)
		j_tool(&j, a->tool);
	if (a->client != NULL && *a->client != '\0')
		j_str(&j, "client", a->client);
	if (j_write(&j) == -1)
		goto fail;
	writable = 1;
	return 0;
fail:
	writable = 0;
	return -1;
}

/*
 * Before a group commit: room for n lines past the log's end, so that a
 * commit is not made whose lines could not be written for lack of space
 * (the space stays the log's; it is used by the next lines).  A file
 * system that cannot reserve (EOPNOTSUPP) is left to the write itself.
 */
int
audit_reserve(size_t n)
{
	off_t end;

	if (audit_fd == -1)
		return -1;
	if ((end = lseek(audit_fd, 0, SEEK_END)) == -1) {
		log_warn("%s: lseek", __func__);
		return -1;
	}
#ifdef FALLOC_FL_KEEP_SIZE
	if (fallocate(audit_fd, FALLOC_FL_KEEP_SIZE, end,
	    (off_t)((n + start.due) * AUDIT_LINE_RESERVE)) == 0)
		return 0;
	if (errno == EOPNOTSUPP || errno == ENOSYS)
		return 0;
#else
	(void)end;
	return 0;
#endif
	log_warn("%s: no room for %zu lines", __func__, n);
	writable = 0;
	return -1;
}

/* Once per group commit: the write lines are durable before replies. */
int
audit_sync(void)
{
	if (audit_fd == -1 || fdatasync(audit_fd) == -1) {
		log_warn("%s: fdatasync", __func__);
		writable = 0;
		return -1;
	}
	writable = 1;
	return 0;
}

/* 0 after the last write or sync failed; 1 once one succeeds again. */
int
audit_writable(void)
{
	return writable;
}

void
audit_close(void)
{
	if (audit_fd != -1)
		close(audit_fd);
	audit_fd = -1;
	if (chain_key != NULL)
		sodium_free(chain_key);
	chain_key = NULL;
	if (syslog_fd != -1)
		close(syslog_fd);
	syslog_fd = -1;
}
