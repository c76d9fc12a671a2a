/*
 * The load generator's HTTP/1.1 requests and response framing, its address
 * and TLS client setup, and the start-up probe.  Never verifies a server
 * certificate: both servers measured present the same one on loopback.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "loadgen.h"
#include "log.h"

void
build_request(struct lg *lg, struct conn *c)
{
	char auth[256] = "", body[256], name[NAME_LEN];
	const char *host = lg->host;
	int n = -1;

	free(c->req);
	c->req = NULL;
	snprintf(name, sizeof(name), "%s", lg->name);
	if (lg->nkeys > 0) {
		lg->rnd ^= lg->rnd << 13;	/* xorshift32 */
		lg->rnd ^= lg->rnd >> 17;
		lg->rnd ^= lg->rnd << 5;
		snprintf(name, sizeof(name), "%s_%08u", lg->name,
		    lg->rnd % lg->nkeys);
	}

	if (lg->token != NULL)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n",
		    lg->token);
	switch (c->idle ? REQ_HEALTH : lg->kind) {
	case REQ_REVEAL:
		n = asprintf(&c->req, "POST /v1/secrets/%s/reveal HTTP/1.1\r\n"
		    "Host: %s\r\n%sContent-Length: 0\r\n\r\n", name, host,
		    auth);
		break;
	case REQ_CREATE:
		/* Each connection rotates a name of its own. */
		snprintf(body, sizeof(body), "{\"name\":\"%s_%d\",\"value\":"
		    "\"bench-value-0123456789abcdef0123456789\"}", lg->name,
		    c->idx);
		n = asprintf(&c->req, "POST /v1/secrets HTTP/1.1\r\nHost: %s\r\n"
		    "%sContent-Type: application/json\r\nContent-Length: %zu"
		    "\r\n\r\n%s", host, auth, strlen(body), body);
		break;
	case REQ_LIST:
		n = asprintf(&c->req, "GET /v1/secrets?limit=100 HTTP/1.1\r\n"
		    "Host: %s\r\n%s\r\n", host, auth);
		break;
	case REQ_HEALTH:
		n = asprintf(&c->req, "GET /v1/health HTTP/1.1\r\n"
		    "Host: %s\r\n\r\n", host);
		break;
	}
	if (n == -1)
		fatal("%s: asprintf", __func__);
	c->reqlen = (size_t)n;
}

/*
 * A complete response: 1 and its status and whether the server will close,
 * 0 when more bytes are needed, -1 when it is not a response we can frame.
 */
int
parse_response(struct conn *c, int *status, int *closing)
{
	const char *p, *end, *eol;
	size_t hdrlen, clen = 0;
	int have_len = 0;

	if ((end = memmem(c->in, c->inlen, "\r\n\r\n", 4)) == NULL)
		return c->inlen > 65536 ? -1 : 0;
	hdrlen = (size_t)(end - c->in) + 4;
	if (c->inlen < 12 || strncmp(c->in, "HTTP/1.", 7) != 0)
		return -1;
	*status = atoi(c->in + 9);
	*closing = strncmp(c->in, "HTTP/1.0", 8) == 0;
	for (p = c->in; p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		if (strncasecmp(p, "Content-Length:", 15) == 0) {
			clen = strtoul(p + 15, NULL, 10);
			have_len = 1;
		} else if (strncasecmp(p, "Connection:", 11) == 0)
			*closing = strncasecmp(p + 11, " close", 6) == 0;
	}
	if (!have_len)
		return -1;	/* evhttp always sends a length */
	return c->inlen >= hdrlen + clen;
}

void
set_addr(struct lg *lg, const char *upath, const char *hostport)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&lg->addr;
	struct addrinfo hints, *res;
	char host[256], *port;
	int e;

	memset(&lg->addr, 0, sizeof(lg->addr));
	if (upath != NULL) {
		sun->sun_family = AF_UNIX;
		if ((size_t)snprintf(sun->sun_path, sizeof(sun->sun_path), "%s",
		    upath) >= sizeof(sun->sun_path))
			fatalx("%s: socket path too long", __func__);
		lg->addrlen = sizeof(*sun);
		lg->host = "localhost";
		return;
	}
	if ((size_t)snprintf(host, sizeof(host), "%s", hostport) >=
	    sizeof(host) ||
	    (port = strrchr(host, ':')) == NULL)
		fatalx("%s: -t wants host:port", __func__);
	*port++ = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0)
		fatalx("%s: %s: %s", __func__, hostport, gai_strerror(e));
	memcpy(&lg->addr, res->ai_addr, res->ai_addrlen);
	lg->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	lg->host = hostport;
}

SSL_CTX *
client_ctx(void)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
		fatalx("%s: cannot set up TLS 1.3", __func__);
	/* Loopback measurement: both servers present the same certificate. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

void
raise_nofile(int want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("%s: getrlimit", __func__);
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("%s: setrlimit", __func__);
	if (rl.rlim_cur < (rlim_t)want + 32)
		fatalx("%s: RLIMIT_NOFILE %llu is below the %d connections "
		    "asked for", __func__, (unsigned long long)rl.rlim_cur,
		    want);
}

void
read_rss(pid_t pid, long *rss, long *hwm)
{
	char path[64], line[256];
	FILE *fp;

	*rss = *hwm = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss = atol(line + 6);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm = atol(line + 6);
	}
	fclose(fp);
}

/*
 * CPU time (user + system, every thread) a process has used, in
 * microseconds; -1 when it is gone.  Fields 14 and 15 of /proc/PID/stat,
 * counted after the command name, which may hold spaces.
 */
long long
read_cpu_us(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)((ut + st) * 1000000ULL /
	    (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* Running, and not a zombie its parent has yet to reap. */
static int
alive(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	return p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/*
 * -T: poll the unix socket until a request is answered 200, then print
 * the time since T0 (CLOCK_REALTIME ns, taken just before the server was
 * started).  Measures a server's start-up; blocking I/O is enough.
 */
int
wait_ready(struct lg *lg, long long t0, pid_t server)
{
	struct conn c;
	struct timespec ts;
	long long now;
	int status = 0, closing = 0, r;
	ssize_t n;

	memset(&c, 0, sizeof(c));
	c.lg = lg;
	build_request(lg, &c);
	c.incap = 65536;
	if ((c.in = malloc(c.incap)) == NULL)
		fatal("%s: malloc", __func__);
	for (;;) {
		clock_gettime(CLOCK_REALTIME, &ts);
		now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
		if (now - t0 > 120LL * 1000000000LL)
			fatalx("%s: no answer within 120 s", __func__);
		if (server > 0 && !alive(server))
			fatalx("%s: the server (pid %d) exited", __func__,
			    (int)server);
		if ((c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			fatal("%s: socket", __func__);
		r = 0;
		c.inlen = 0;
		if (connect(c.fd, (struct sockaddr *)&lg->addr, lg->addrlen) == 0 &&
		    write(c.fd, c.req, c.reqlen) == (ssize_t)c.reqlen) {
			while ((n = read(c.fd, c.in + c.inlen, c.incap - c.inlen)) > 0) {
				c.inlen += (size_t)n;
				if ((r = parse_response(&c, &status, &closing)) != 0)
					break;
			}
		}
		close(c.fd);
		if (r == 1 && status == 200)
			break;
		usleep(500);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	printf("ready_ms=%.2f\n", (double)(now - t0) / 1e6);
	free(c.in);
	free(c.req);
	return 0;
}
