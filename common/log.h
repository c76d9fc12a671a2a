/*
 * Logging shared by every secretd process: to stderr in the foreground,
 * to syslog when daemonized, to the broker's pipe from its children.  Callers prefix messages with __func__.
 * fatal() and fatalx() exit; nothing else here does.
 */
#ifndef SECRETD_LOG_H
#define SECRETD_LOG_H

#include <stdarg.h>

/* Where log_init sends the lines. */
#define LOG_TO_SYSLOG	0
#define LOG_TO_STDERR	1	/* stamped with the time */
#define LOG_TO_PIPE	2	/* unstamped: the broker reads and stamps */

void	log_init(const char *procname, int dest, int verbose);
void	log_setproc(const char *procname);
int	log_verbose(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
