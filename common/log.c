/*
 * Log sink for every process.  Messages go to stderr when running in the
 * foreground (systemd, tests), each line stamped with the UTC time, to
 * syslog otherwise, and unstamped to a pipe the broker reads and stamps
 * (the front-end and the runner).  Never logs values.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_procname = "secretd";
static int log_dest = LOG_TO_STDERR;
static int log_verbosity;

void
log_init(const char *procname, int dest, int verbose)
{
	log_procname = procname;
	log_dest = dest;
	log_verbosity = verbose;
	if (dest == LOG_TO_SYSLOG)
		openlog(procname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

void
log_setproc(const char *procname)
{
	log_procname = procname;
}

int
log_verbose(void)
{
	return log_verbosity;
}

/* ISO 8601 in UTC with milliseconds, "2026-01-31T23:59:59.123Z ". */
static void
stamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	buf[0] = '\0';
	if (log_dest != LOG_TO_STDERR)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (gmtime_r(&ts.tv_sec, &tm) == NULL)
		return;
	if ((n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm)) == 0)
		return;
	snprintf(buf + n, len - n, ".%03dZ ", (int)(ts.tv_nsec / 1000000));
}

static void
vlog(int pri, const char *fmt, va_list ap, int with_errno)
{
	char msg[1024], when[32];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_dest != LOG_TO_SYSLOG) {
		stamp(when, sizeof(when));
		if (with_errno)
			fprintf(stderr, "%s%s[%d]: %s: %s\n", when,
			    log_procname, (int)getpid(), msg,
			    strerror(saved));
		else
			fprintf(stderr, "%s%s[%d]: %s\n", when, log_procname,
			    (int)getpid(), msg);
		fflush(stderr);
	} else if (with_errno)
		syslog(pri, "%s: %s", msg, strerror(saved));
	else
		syslog(pri, "%s", msg);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, 1);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbosity < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
