/*
 * The front-end's log: its stdout and stderr are a pipe the broker reads,
 * so its lines reach the broker's own log (stderr, or syslog when
 * daemonized, where the chrooted front-end has no /dev/log).  A line is
 * made printable first: the less trusted side cannot forge log output.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"

static void
emit(struct broker *b)
{
	size_t i;

	if (b->felog_len == 0)
		return;
	for (i = 0; i < b->felog_len; i++)
		if (b->felog_buf[i] < 0x20 || b->felog_buf[i] > 0x7e)
			b->felog_buf[i] = '?';
	b->felog_buf[b->felog_len] = '\0';
	log_info("%s", b->felog_buf);
	b->felog_len = 0;
}

void
felog_close(struct broker *b)
{
	if (b->felog_fd == -1)
		return;
	felog_read(b);
	if (b->felog_fd != -1)
		close(b->felog_fd);
	b->felog_fd = -1;
	emit(b);
}

/*
 * A new pipe for a new front-end; returns the end the child writes to.
 * Its writes never block: a busy broker costs log lines, not requests.
 */
int
felog_open(struct broker *b)
{
	int p[2];

	felog_close(b);
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	b->felog_fd = p[0];
	b->felog_len = 0;
	return p[1];
}

/* Whatever is waiting, a line at a time; an over-long line is split. */
void
felog_read(struct broker *b)
{
	char buf[4096];
	ssize_t n, i;

	while (b->felog_fd != -1) {
		if ((n = read(b->felog_fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			n = 0;
		}
		if (n == 0) {
			close(b->felog_fd);
			b->felog_fd = -1;
			emit(b);
			return;
		}
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				emit(b);
				continue;
			}
			b->felog_buf[b->felog_len++] = buf[i];
			if (b->felog_len == sizeof(b->felog_buf) - 1)
				emit(b);
		}
	}
}
