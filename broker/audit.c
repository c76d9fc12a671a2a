/*
 * The audit log: one line per decision, written before its reply, so a
 * request whose line cannot be written fails closed.  It records who,
 * what and the outcome; it must never see a secret value or a token.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"

#define AUDIT_LINE_MAX	1024

static int audit_fd = -1;
static int audit_ok = 1;	/* 0 from a failed write, sync or
				   reservation to a good write or sync */

int
audit_open(const char *path)
{
	if ((audit_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		log_warn("%s: open %s", __func__, path);
		return -1;
	}
	return 0;
}

static const char *
dash(const char *s)
{
	return s == NULL || *s == '\0' ? "-" : s;
}

static const char *
role_name(int role)
{
	if (role == ROLE_ADMIN)
		return "admin";
	if (role == ROLE_MEMBER)
		return "member";
	return "-";
}

static const char *
scope_name(int scope)
{
	if (scope == SCOPE_USER)
		return "user";
	if (scope == SCOPE_ORG)
		return "org";
	return "-";
}

/*
 * Every field was validated before it got here (names, ids, the source
 * is printable without spaces), so a line cannot be forged by a caller.
 */
int
audit_log(const struct audit_rec *a)
{
	char line[AUDIT_LINE_MAX], ts[32];
	struct tm tm;
	time_t now;
	off_t end;
	ssize_t w;
	size_t done = 0;
	int n, saved;

	if (audit_fd == -1)
		return -1;
	now = time(NULL);
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	n = snprintf(line, sizeof(line), "%s req=%u source=%s user=%s "
	    "role=%s op=%s scope=%s owner=%s name=%s outcome=%s%s%s\n", ts,
	    a->id, dash(a->source), dash(a->user), role_name(a->role),
	    dash(a->op), scope_name(a->scope), dash(a->owner), dash(a->name),
	    dash(a->outcome), a->extra != NULL ? " " : "",
	    a->extra != NULL ? a->extra : "");
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	/*
	 * The broker is the log's one writer: a line that does not go
	 * in whole is cut off again, so the next one starts a line of its
	 * own once there is room.
	 */
	if ((end = lseek(audit_fd, 0, SEEK_END)) == -1) {
		log_warn("%s: lseek", __func__);
		return -1;
	}
	while (done < (size_t)n) {
		w = write(audit_fd, line + done, (size_t)n - done);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	if (done == (size_t)n) {
		audit_ok = 1;
		return 0;
	}
	audit_ok = 0;
	saved = w == 0 ? ENOSPC : errno;
	if (done > 0 && ftruncate(audit_fd, end) == -1)
		log_warn("%s: a partial line stays at offset %lld", __func__,
		    (long long)end);
	errno = saved;
	log_warn("%s: write", __func__);
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
	    (off_t)(n * AUDIT_LINE_MAX)) == 0)
		return 0;
	if (errno == EOPNOTSUPP || errno == ENOSYS)
		return 0;
#else
	(void)end;
	return 0;
#endif
	log_warn("%s: no room for %zu lines", __func__, n);
	audit_ok = 0;
	return -1;
}

/* Once per group commit: the write lines are durable before replies. */
int
audit_sync(void)
{
	if (audit_fd == -1 || fdatasync(audit_fd) == -1) {
		log_warn("%s: fdatasync", __func__);
		audit_ok = 0;
		return -1;
	}
	audit_ok = 1;
	return 0;
}

/*
 * For /v1/health: 0 after the last audit write or sync failed, or room
 * for a commit's lines could not be reserved; 1 once a line is written.
 */
int
audit_writable(void)
{
	return audit_ok;
}

void
audit_close(void)
{
	if (audit_fd != -1)
		close(audit_fd);
	audit_fd = -1;
}
