/*
 * A child's log: the front-end's and the runner's stdout and stderr are
 * pipes the broker reads, so their lines reach the broker's own log
 * (stderr, or syslog when daemonized, where the chrooted front-end has no
 * /dev/log).  A line is made printable and tagged first: the less trusted
 * side cannot forge log output.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"

static void
emit(struct childlog *l)
{
	size_t i;

	if (l->len == 0)
		return;
	for (i = 0; i < l->len; i++)
		if (l->buf[i] < 0x20 || l->buf[i] > 0x7e)
			l->buf[i] = '?';
	l->buf[l->len] = '\0';
	if (l->tag != NULL)
		log_info("%s: %s", l->tag, l->buf);
	else
		log_info("%s", l->buf);
	l->len = 0;
}

void
childlog_close(struct childlog *l)
{
	if (l->fd == -1)
		return;
	childlog_read(l);
	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
	emit(l);
}

/*
 * A new pipe for a new child; returns the end the child writes to.
 * Its writes never block: a busy broker costs log lines, not requests.
 */
int
childlog_open(struct childlog *l)
{
	int p[2];

	childlog_close(l);
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	l->fd = p[0];
	l->len = 0;
	return p[1];
}

/* Whatever is waiting, a line at a time; an over-long line is split. */
void
childlog_read(struct childlog *l)
{
	char buf[4096];
	ssize_t n, i;

	while (l->fd != -1) {
		if ((n = read(l->fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			n = 0;
		}
		if (n == 0) {
			close(l->fd);
			l->fd = -1;
			emit(l);
			return;
		}
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				emit(l);
				continue;
			}
			l->buf[l->len++] = buf[i];
			if (l->len == sizeof(l->buf) - 1)
				emit(l);
		}
	}
}
