/*
 * secretd-frontend: start-up and the event loop.  It learns its settings
 * from the broker, builds TLS, drops every privilege it can, and only
 * then serves.  It never holds the root key or opens the store.
 */
#include "config.h"

#include <sys/types.h>

#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "jsonwipe.h"
#include "log.h"
#include "frontend.h"

#define EXIT_DELAY_MS	20	/* for the replies owed when the broker died */

struct fe_config fe_conf;

static struct event_base *base;
static struct event	*ev_exit;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: secretd-frontend [-v]\n"
	    "(started by secretd with its channel on fd %d)\n", FE_IPC_FD);
	exit(2);
}

static void
exit_cb(evutil_socket_t fd, short ev, void *arg)
{
	event_base_loopbreak(base);
}

/*
 * The listeners close at once, so that a restarted broker can take the
 * socket and the port back; replies already owed (503s) get a moment to
 * go out, then the process ends.
 */
void
fe_broker_gone(void)
{
	struct timeval tv = { 0, EXIT_DELAY_MS * 1000 };

	conn_unlisten();
	evtimer_add(ev_exit, &tv);
}

/*
 * What a SIGHUP at the broker changed: the per-peer connection caps,
 * for connections admitted from now on, and the certificate.  The key
 * is wiped from the channel's buffer once OpenSSL holds it.
 */
void
fe_reload(const struct msg_reload *c)
{
	fe_conf.max_conns_uid = c->max_conns_uid;
	fe_conf.max_conns_addr = c->max_conns_addr;
	/*
	 * Without a TLS listener of its own (no usable certificate at its
	 * start) there is nothing to swap, and OpenSSL, never set up before
	 * the sandbox, must not start now: its first use is outside it.
	 */
	if (c->have_tls && !fe_conf.have_tls)
		log_warnx("%s: the TLS listener is not served (this front-end "
		    "started without a usable certificate); the new one is "
		    "taken when the front-end starts again", __func__);
	else if (c->have_tls)
		tls_reload(c->cert_pem, c->cert_len, c->key_pem, c->key_len);
	explicit_bzero((void *)(uintptr_t)c->key_pem, c->key_len);
	log_info("%s: at most %u connections per uid, %u per address",
	    __func__, fe_conf.max_conns_uid, fe_conf.max_conns_addr);
}

/* Looked up before chroot; only the ids are needed afterwards. */
static struct passwd *
lookup_user(const char *name)
{
	static struct passwd pw;
	static char pname[64];
	struct passwd *p;

	if (geteuid() != 0)
		return NULL;
	if ((p = getpwnam(name)) == NULL)
		fatalx("%s: frontend_user %s does not exist", __func__, name);
	snprintf(pname, sizeof(pname), "%s", p->pw_name);
	pw.pw_name = pname;
	pw.pw_uid = p->pw_uid;
	pw.pw_gid = p->pw_gid;
	endpwent();
	return &pw;
}

static struct event_base *
base_new(void)
{
	struct event_config *cfg;
	struct event_base *b;

	if ((cfg = event_config_new()) == NULL ||
	    event_config_set_flag(cfg, EVENT_BASE_FLAG_IGNORE_ENV) == -1 ||
	    (b = event_base_new_with_config(cfg)) == NULL)
		fatalx("%s: cannot create the event base", __func__);
	event_config_free(cfg);
	return b;
}

int
main(int argc, char *argv[])
{
	struct passwd *pw;
	SSL_CTX *ctx = NULL;
	int ch, verbose = 0, tls_fd;

	while ((ch = getopt(argc, argv, "v")) != -1) {
		switch (ch) {
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* stderr is the broker's log: the journal, or its own stderr. */
	log_init("secretd-frontend", LOG_TO_PIPE, verbose);

	tls_fd = sandbox_fds() ? FE_TLS_FD : -1;
	bc_hello(FE_IPC_FD, &fe_conf);
	if (fe_conf.have_tls && tls_fd == -1)
		fatalx("TLS configured but fd %d is not a listener", FE_TLS_FD);
	if (!fe_conf.have_tls && tls_fd != -1) {
		log_warnx("no TLS certificate: the TLS listener is not served");
		close(tls_fd);
		tls_fd = -1;
	}
	if (fe_conf.have_tls && (ctx = tls_ctx_new(&fe_conf)) == NULL) {
		fe_conf.have_tls = 0;
		close(tls_fd);
		tls_fd = -1;
	}
	OPENSSL_cleanse(fe_conf.key_pem, fe_conf.key_len);
	free(fe_conf.key_pem);
	free(fe_conf.cert_pem);
	fe_conf.key_pem = fe_conf.cert_pem = NULL;
	pw = lookup_user(fe_conf.user);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal");
	jsonwipe_init();
	metrics_init();

	sandbox_drop(&fe_conf, pw);
	base = base_new();
	bc_start(base);
	conn_listen(base, ctx, FE_UNIX_FD, tls_fd);
	if ((ev_exit = evtimer_new(base, exit_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	sandbox_seccomp(fe_conf.seccomp_debug);

	log_info("serving%s, at most %u connections (%u per uid, %u per "
	    "address)", ctx != NULL ? " unix and TLS" : " unix",
	    fe_conf.max_conns, fe_conf.max_conns_uid, fe_conf.max_conns_addr);
	event_base_dispatch(base);
	log_info("exiting");
	/* atexit handlers (and the leak checker) would break the filter. */
	_exit(0);
}
