/*
 * SIGHUP: the config file and the tools folder read again.  A new config
 * or tool file with any error is refused whole, every error logged, and
 * the daemon keeps running on what it had.  Otherwise what can change
 * live does (policy, limits, quotas, tools, the TLS certificate), what
 * cannot keeps its old value with a word that it needs a restart, and
 * the audit log is reopened, for log rotation.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "broker.h"
#include "log.h"

#define NAMES_LEN	512

/* Each line the parsers wrote, as its own log line. */
static void
log_errors(char *buf)
{
	char *line, *next;

	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		log_warnx("reload: %s", line);
	}
}

/*
 * Reads the config and the tools it names into next and ts; returns the
 * number of errors, each logged.
 */
static int
reload_read(const char *path, struct secretd_config *next,
    struct toolset *ts)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *errs;
	int nerr;

	if ((errs = open_memstream(&buf, &len)) == NULL) {
		log_warn("%s: open_memstream", __func__);
		return 1;
	}
	nerr = config_parse(path, next, CONFIG_USERS, NULL, 0, errs);
	nerr += tools_load(next->tools_dir, ts, errs);
	fclose(errs);
	log_errors(buf);
	free(buf);
	return nerr;
}

/*
 * The front-end's share: the per-peer caps, and the certificate and key
 * read now, as a front-end started now would get them.  Returns whether
 * a certificate went.
 */
static int
reload_frontend(struct broker *b)
{
	struct msg_reload r;
	struct ipc_msg m;
	uint8_t *cert = NULL, *key = NULL;
	size_t certlen = 0, keylen = 0;
	const char *why;

	if (!b->chan_open || b->fe_state != FE_READY)
		return 0;	/* the next one reads the new files */
	memset(&r, 0, sizeof(r));
	if (b->lis.tls_fd != -1) {
		if (pem_read(b->cfg->tls_cert, &cert, &certlen) == -1 ||
		    pem_read(b->cfg->tls_key, &key, &keylen) == -1)
			log_warn("reload: %s or %s; the front-end keeps its "
			    "certificate", b->cfg->tls_cert, b->cfg->tls_key);
		else if (tls_pair_check(cert, certlen, key, keylen, &why) ==
		    -1)
			log_warnx("reload: %s (%s, %s); the front-end keeps "
			    "its certificate", why, b->cfg->tls_cert,
			    b->cfg->tls_key);
		else {
			r.have_tls = 1;
			r.cert_pem = cert;
			r.cert_len = certlen;
			r.key_pem = key;
			r.key_len = keylen;
		}
	}
	r.max_conns_uid = (uint32_t)b->cfg->max_conns_per_uid;
	r.max_conns_addr = (uint32_t)b->cfg->max_conns_per_address;
	ipc_msg_init(&m, IMSG_RELOAD, 0);
	msg_reload_put(&m, &r);
	if (key != NULL) {
		sodium_memzero(key, keylen);
		free(key);
	}
	free(cert);
	chan_send(b, &m);	/* the channel wipes its buffers */
	return r.have_tls;
}

static void
reload(struct broker *b)
{
	struct secretd_config *next;
	struct toolset *ts;
	char live[NAMES_LEN], restart[NAMES_LEN];
	int nerr, tls, audit;

	if ((next = malloc(sizeof(*next))) == NULL ||
	    (ts = calloc(1, sizeof(*ts))) == NULL) {
		free(next);
		log_warn("reload: refused, still running on the old "
		    "configuration");
		return;
	}
	if ((nerr = reload_read(b->cfg->path, next, ts)) != 0) {
		log_warnx("reload: refused, %d error%s in %s or its tools; "
		    "still running on the old configuration unchanged", nerr,
		    nerr == 1 ? "" : "s", b->cfg->path);
		tools_free(ts);
		free(ts);
		free(next);
		return;
	}
	config_reload_diff(next, b->cfg, live, sizeof(live), restart,
	    sizeof(restart));
	if (restart[0] != '\0')
		log_warnx("reload: %s changed, which takes a restart; the old "
		    "value%s kept until then", restart,
		    strchr(restart, ',') != NULL ? "s are" : " is");
	*b->cfg = *next;
	free(next);
	tools_free(b->tools);
	free(b->tools);
	b->tools = ts;
	tls = reload_frontend(b);
	audit = audit_reopen();
	log_info("reloaded %s: %s%s; %zu tool%s%s; audit log %s",
	    b->cfg->path, live[0] != '\0' ? "changed " : "no setting changed",
	    live, ts->n, ts->n == 1 ? "" : "s",
	    tls ? "; TLS certificate sent to the front-end" : "",
	    audit == 0 ? "reopened" : "not reopened, still the old file");
}

/*
 * The service manager sees the reload begin and end (RELOADING=1 with
 * the monotonic time, as Type=notify-reload wants, then READY=1).
 */
static void
notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	notify_systemd(msg);
}

void
broker_reload(struct broker *b)
{
	notify_reloading();
	reload(b);
	notify_systemd("READY=1");
}
