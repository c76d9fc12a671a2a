/*
 * Log sink for both processes.  Messages go to stderr when running in the
 * foreground (systemd, tests) and to syslog otherwise.  Never logs values.
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
static int log_foreground = 1;
static int log_verbosity;

void
log_init(const char *procname, int foreground, int verbose)
{
	log_procname = procname;
	log_foreground = foreground;
	log_verbosity = verbose;
	if (!foreground)
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

static void
vlog(int pri, const char *fmt, va_list ap, int with_errno)
{
	char msg[1024];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_foreground) {
		if (with_errno)
			fprintf(stderr, "%s[%d]: %s: %s\n", log_procname,
			    (int)getpid(), msg, strerror(saved));
		else
			fprintf(stderr, "%s[%d]: %s\n", log_procname,
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
