/*
 * The HTTP floor for the benchmarks: one process, libevent evhttp, answering
 * every request with a fixed reveal body, over a unix socket and over TLS
 * set up like the product's.  No auth, no store: it only sets the floor.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"

#define HEALTH_BODY	"{\"status\":\"ok\"}"

struct floor {
	char		*body;
	size_t		 bodylen;
	uint64_t	 served;
};

static void	usage(void) __attribute__((noreturn));

static void
handle(struct evhttp_request *req, void *arg)
{
	struct floor *f = arg;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	const char *uri = evhttp_request_get_uri(req);
	char rid[17];

	/* The product tags each reply with a request id; so does the floor. */
	snprintf(rid, sizeof(rid), "%016llx",
	    (unsigned long long)++f->served);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "X-Request-Id", rid);
	if (strcmp(uri, "/v1/health") == 0)
		evbuffer_add(out, HEALTH_BODY, strlen(HEALTH_BODY));
	else
		evbuffer_add(out, f->body, f->bodylen);
	evhttp_send_reply(req, 200, "OK", NULL);
}

static struct bufferevent *
tls_bev(struct event_base *base, void *arg)
{
	SSL *ssl;

	if ((ssl = SSL_new(arg)) == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

/* The product's TLS 1.2 list; TLS 1.3 keeps OpenSSL's AEAD suites. */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

static const unsigned char session_ctx[] = "floor_http";

/*
 * The same settings as secretd-frontend: TLS 1.2 minimum, ECDHE with AEAD
 * only, server preference, no compression or renegotiation, resumption by
 * tickets and the server-side cache.
 */
static SSL_CTX *
server_ctx(const char *cert, const char *key)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		fatalx("%s: SSL_CTX_new", __func__);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1)
		fatalx("%s: protocol or cipher setup failed", __func__);
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	if (SSL_CTX_set_session_id_context(ctx, session_ctx,
	    sizeof(session_ctx) - 1) != 1)
		fatalx("%s: SSL_CTX_set_session_id_context", __func__);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		fatalx("%s: cannot load %s / %s", __func__, cert, key);
	return ctx;
}

static int
unix_listener(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    sizeof(sun.sun_path))
		fatalx("%s: socket path too long", __func__);
	if (unlink(path) == -1 && errno != ENOENT)
		fatal("%s: unlink %s", __func__, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		fatal("%s: socket", __func__);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("%s: bind %s", __func__, path);
	if (chmod(path, 0666) == -1)
		fatal("%s: chmod %s", __func__, path);
	if (listen(fd, SOMAXCONN) == -1)
		fatal("%s: listen", __func__);
	return fd;
}

static void
read_body(struct floor *f, const char *path)
{
	FILE *fp;
	long n;

	if ((fp = fopen(path, "rb")) == NULL)
		fatal("%s: %s", __func__, path);
	if (fseek(fp, 0, SEEK_END) == -1 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) == -1)
		fatal("%s: %s", __func__, path);
	if ((f->body = malloc((size_t)n + 1)) == NULL)
		fatal("%s: malloc", __func__);
	if (fread(f->body, 1, (size_t)n, fp) != (size_t)n)
		fatalx("%s: short read on %s", __func__, path);
	f->bodylen = (size_t)n;
	fclose(fp);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: floor_http -b body.json [-u socket] "
	    "[-l host:port -c cert.pem -k key.pem]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct floor f;
	struct event_base *base;
	struct evhttp *hu = NULL, *ht = NULL;
	struct event *sigterm, *sigint;
	SSL_CTX *ctx = NULL;
	const char *upath = NULL, *listen_on = NULL, *cert = NULL, *key = NULL;
	const char *body = NULL;
	struct evhttp_bound_socket *bound;
	char host[256], *port;
	int ch, one = 1;

	while ((ch = getopt(argc, argv, "b:c:k:l:u:")) != -1) {
		switch (ch) {
		case 'b': body = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'l': listen_on = optarg; break;
		case 'u': upath = optarg; break;
		default: usage();
		}
	}
	if (body == NULL || (upath == NULL && listen_on == NULL) ||
	    (listen_on != NULL && (cert == NULL || key == NULL)))
		usage();
	log_init("floor_http", 1, 0);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	memset(&f, 0, sizeof(f));
	read_body(&f, body);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (upath != NULL) {
		if ((hu = evhttp_new(base)) == NULL ||
		    evhttp_accept_socket_with_handle(hu,
		    unix_listener(upath)) == NULL)
			fatalx("cannot serve on %s", upath);
		evhttp_set_gencb(hu, handle, &f);
	}
	if (listen_on != NULL) {
		ctx = server_ctx(cert, key);
		if ((size_t)snprintf(host, sizeof(host), "%s", listen_on) >=
		    sizeof(host) || (port = strrchr(host, ':')) == NULL)
			usage();
		*port++ = '\0';
		if ((ht = evhttp_new(base)) == NULL || (bound =
		    evhttp_bind_socket_with_handle(ht, host,
		    (uint16_t)atoi(port))) == NULL)
			fatalx("cannot listen on %s", listen_on);
		/*
		 * Accepted sockets inherit it: a reply written as several TLS
		 * records must not wait for a delayed ACK.
		 */
		if (setsockopt(evhttp_bound_socket_get_fd(bound), IPPROTO_TCP,
		    TCP_NODELAY, &one, sizeof(one)) == -1)
			fatal("setsockopt TCP_NODELAY");
		evhttp_set_bevcb(ht, tls_bev, ctx);
		evhttp_set_gencb(ht, handle, &f);
	}
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	event_base_dispatch(base);
	if (upath != NULL)
		unlink(upath);
	if (hu != NULL)
		evhttp_free(hu);
	if (ht != NULL)
		evhttp_free(ht);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	SSL_CTX_free(ctx);
	free(f.body);
	return 0;
}
