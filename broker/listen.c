/*
 * The listening sockets the front-end will accept on: the unix API socket
 * and the TLS port, made here or taken from systemd socket activation,
 * and the sd_notify messages.  The broker never accepts a connection
 * itself; it only hands these to the front-end.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"

#define SD_LISTEN_FDS_START	3

static void
set_cloexec(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1 ||
	    fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1)
		fatal("%s: fcntl", __func__);
}

/*
 * The front-end accepts in an event loop until EAGAIN; a blocking
 * listener would stall it.  The flag is shared with its copy.
 */
static void
set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("%s: fcntl", __func__);
}

/* A socket file nobody answers on is stale; a live one is another us. */
static void
unlink_stale(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return;
		fatal("%s: %s", __func__, path);
	}
	if (!S_ISSOCK(st.st_mode))
		fatalx("%s: %s exists and is not a socket", __func__, path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("%s: socket", __func__);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		fatalx("%s: %s is in use by a running daemon", __func__, path);
	close(fd);
	if (unlink(path) == -1)
		fatal("%s: unlink %s", __func__, path);
}

static int
unix_listen(const char *path, mode_t mode)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("%s: socket path too long: %s", __func__, path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	unlink_stale(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("%s: socket", __func__);
	/* No window in which the socket is more open than configured. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("%s: bind %s", __func__, path);
	umask(old);
	if (chmod(path, mode) == -1)
		fatal("%s: chmod %s", __func__, path);
	if (listen(fd, SOMAXCONN) == -1)
		fatal("%s: listen %s", __func__, path);
	return fd;
}

/*
 * Small replies must not wait for the client's delayed ACK (40 ms a
 * request): accepted connections inherit TCP_NODELAY from the listener.
 */
static void
set_nodelay(int fd)
{
	int on = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		fatal("%s: TCP_NODELAY", __func__);
}

static int
tcp_listen(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, on = 1, error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((error = getaddrinfo(host[0] == '\0' || strcmp(host, "*") == 0 ?
	    NULL : host, port, &hints, &res)) != 0)
		fatalx("%s: %s:%s: %s", __func__, host, port,
		    gai_strerror(error));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) == -1)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SOMAXCONN) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		fatal("%s: cannot listen on %s:%s", __func__, host, port);
	set_nodelay(fd);
	return fd;
}

/* Sockets systemd passed: one unix stream socket, at most one TCP one. */
static int
from_systemd(struct listeners *l)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *e, *pid;
	char *ep;
	long n, i;
	int fd;

	if ((e = getenv("LISTEN_FDS")) == NULL ||
	    (pid = getenv("LISTEN_PID")) == NULL ||
	    strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	errno = 0;
	n = strtol(e, &ep, 10);
	if (errno != 0 || *ep != '\0' || n < 1 || n > 2)
		fatalx("%s: LISTEN_FDS=%s: expected 1 or 2 sockets",
		    __func__, e);
	for (i = 0; i < n; i++) {
		fd = SD_LISTEN_FDS_START + (int)i;
		len = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
			fatal("%s: fd %d", __func__, fd);
		set_cloexec(fd);
		if (ss.ss_family == AF_UNIX && l->unix_fd == -1) {
			l->unix_fd = fd;
			memcpy(l->unix_path, ((struct sockaddr_un *)&ss)->
			    sun_path, sizeof(l->unix_path) - 1);
		} else if ((ss.ss_family == AF_INET ||
		    ss.ss_family == AF_INET6) && l->tls_fd == -1) {
			l->tls_fd = fd;
			set_nodelay(fd);
		} else
			fatalx("%s: fd %d: unexpected socket", __func__, fd);
	}
	if (l->unix_fd == -1)
		fatalx("%s: systemd passed no unix socket", __func__);
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	log_info("%s: using %ld socket(s) from systemd", __func__, n);
	return 1;
}

void
listen_setup(const struct secretd_config *cfg, struct listeners *l)
{
	l->unix_fd = l->tls_fd = -1;
	l->unix_owned = 0;
	if (!from_systemd(l)) {
		l->unix_fd = unix_listen(cfg->socket_path, cfg->socket_mode);
		snprintf(l->unix_path, sizeof(l->unix_path), "%s",
		    cfg->socket_path);
		l->unix_owned = 1;
		if (cfg->listen[0] != '\0')
			l->tls_fd = tcp_listen(cfg->listen_host,
			    cfg->listen_port);
	}
	set_nonblock(l->unix_fd);
	if (l->tls_fd != -1)
		set_nonblock(l->tls_fd);
}

void
listen_close(struct listeners *l)
{
	if (l->unix_fd != -1)
		close(l->unix_fd);
	if (l->tls_fd != -1)
		close(l->tls_fd);
	if (l->unix_owned)
		unlink(l->unix_path);
	l->unix_fd = l->tls_fd = -1;
	l->unix_owned = 0;
}

/* The sd_notify protocol: one datagram to $NOTIFY_SOCKET. */
void
notify_systemd(const char *state)
{
	struct sockaddr_un sun;
	const char *path;
	socklen_t len;
	size_t plen;
	int fd;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL ||
	    (plen = strlen(path)) < 2 || plen >= sizeof(sun.sun_path) ||
	    (path[0] != '/' && path[0] != '@'))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';		/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("%s: socket", __func__);
		return;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		log_warn("%s: sendto %s", __func__, path);
	close(fd);
}
