/*
 * The state folder's locks.  Two lock files, each held with flock(2) by
 * whoever uses the folder, the holder's pid written inside for the
 * message of whoever is refused:
 *
 *   lock              the daemon, for as long as it runs, and offline
 *                     operations (init; any that rewrites the store
 *                     wholesale), which must never run beside it.
 *   maintenance.lock  online key operations (rotate-key, rewrap), which
 *                     LMDB lets run beside the daemon but not beside
 *                     each other, and offline operations.
 *
 * A lock belongs to its open file description: it survives daemon()'s
 * fork and goes with the last descriptor's close, at the holder's exit
 * however it ends.  The descriptors are close-on-exec, so the front-end
 * and the runner never hold them.  The files are never removed: whoever
 * locked an unlinked file would hold a lock nobody else can see.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <time.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secretd.h"

static int __attribute__((format(printf, 3, 4)))
lerr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int
statelock_path(const char *dir, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The pid the holder wrote, 0 when there is none (yet). */
static long
holder_pid(int fd)
{
	char buf[32], *end;
	ssize_t n;
	long pid;

	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') ||
	    pid <= 0)
		return 0;
	return pid;
}

/*
 * A new holder writes its pid just after it locked: until then the file
 * is empty or names the one before, gone.  Wait a little for a live pid
 * or one written since we found the lock held.
 */
static long
holder_pid_wait(int fd)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	long first, pid;
	int i;

	first = holder_pid(fd);
	for (i = 0; i < 50; i++) {
		pid = i == 0 ? first : holder_pid(fd);
		if (pid > 0 && (pid != first || kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH))
			return pid;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* 0 taken, 1 held by another (*pid its holder, 0 unknown), -1 error. */
static int
lock_one(const char *dir, const char *name, int *fdp, long *pid, char *err,
    size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	*fdp = -1;
	*pid = 0;
	if (statelock_path(dir, name, path, sizeof(path)) == -1)
		return lerr(err, errlen, "state folder %s: path too long", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NOCTTY, 0600)) == -1)
		return lerr(err, errlen, "state folder %s: %s: %s", dir, name,
		    strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return lerr(err, errlen, "state folder %s: %s is not a "
		    "regular file", dir, name);
	}
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK) {
			*pid = holder_pid_wait(fd);
			close(fd);
			return 1;
		}
		lerr(err, errlen, "state folder %s: lock %s: %s", dir, name,
		    strerror(errno));
		close(fd);
		return -1;
	}
	*fdp = fd;
	return 0;
}

static int
busy(char *err, size_t errlen, const char *dir, long pid, const char *what)
{
	if (pid > 0)
		return lerr(err, errlen, "state folder %s is in use by secretd "
		    "pid %ld%s", dir, pid, what);
	return lerr(err, errlen, "state folder %s is in use by another "
	    "secretd process%s", dir, what);
}

int
statelock_take(struct statelock *lk, const char *dir,
    enum statelock_use use, char *err, size_t errlen)
{
	long pid;
	int rv;

	lk->fd = lk->mfd = -1;
	if (use != STATELOCK_ONLINE) {
		rv = lock_one(dir, STATELOCK_FILE, &lk->fd, &pid, err, errlen);
		if (rv == 1)
			return busy(err, errlen, dir, pid, "");
		if (rv == -1)
			return -1;
	}
	if (use != STATELOCK_DAEMON) {
		rv = lock_one(dir, STATELOCK_MAINT_FILE, &lk->mfd, &pid, err,
		    errlen);
		if (rv != 0) {
			if (rv == 1)
				busy(err, errlen, dir, pid,
				    " (rotate-key or rewrap)");
			statelock_release(lk);
			return -1;
		}
	}
	return 0;
}

static void
mark_one(int fd)
{
	char buf[32];
	int n;

	if (fd == -1)
		return;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	/* Only a message depends on it: a failure is not fatal. */
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n)
		return;
}

void
statelock_mark(struct statelock *lk)
{
	mark_one(lk->fd);
	mark_one(lk->mfd);
}

void
statelock_release(struct statelock *lk)
{
	if (lk->fd != -1)
		close(lk->fd);
	if (lk->mfd != -1)
		close(lk->mfd);
	lk->fd = lk->mfd = -1;
}
