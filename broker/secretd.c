/*
 * secretd: the privileged broker's entry point.  It loads the config and
 * root key, opens the store, makes the listeners, starts the front-end
 * and runs the event loop; it must never parse HTTP, JSON or TLS, and
 * never let the key or the store reach the front-end.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "log.h"
#include "store_engine.h"
#include "storeconf.h"
#include "tooldef.h"

#define REWRAP_BATCH	256

enum command { CMD_RUN, CMD_CHECK, CMD_INIT, CMD_ROTATE, CMD_REWRAP,
	CMD_VERIFY, CMD_BACKUP, CMD_RESTORE, CMD_ROTATE_ROOT, CMD_AUDIT,
	CMD_MIGRATE };

static void
print_usage(FILE *out)
{
	fprintf(out, "usage: secretd [-fv] [-c file]\n"
	    "       secretd -n [-v] [-c file]\n"
	    "       secretd init | rotate-key | rewrap | verify [-c file]\n"
	    "       secretd backup [-c file] [--force] file\n"
	    "       secretd restore [-c file] file\n"
	    "       secretd rotate-root-key [-c file] [--new-key file]\n"
	    "       secretd migrate [-c file] --to postgresql\n"
	    "       secretd migrate [-c file] --to lmdb [--force]\n"
	    "       secretd [-c file] audit verify file ...\n"
	    "       secretd -h | --help | -V | --version\n");
}

static void __attribute__((noreturn))
usage(void)
{
	print_usage(stderr);
	exit(2);
}

static void __attribute__((noreturn))
help(void)
{
	print_usage(stdout);
	printf("\n"
	    "  -c file    the config file (default %s)\n"
	    "  -f         stay in the foreground, log to stderr\n"
	    "  -n         check the config and the tool files, print every "
	    "error\n"
	    "  -v         more detail (the effective config with -n)\n"
	    "  init       create the state folder, root key, store and TLS "
	    "pair\n"
	    "  rotate-key start sealing new records with a new data key\n"
	    "  rewrap     re-seal older records under the active data key\n"
	    "  verify     check every record of the store, read-only\n"
	    "  migrate    copy the store to the other engine (offline)\n"
	    "\nSIGHUP reloads the config and the tools; see secretd(8).\n",
	    SECRETD_CONF_FILE);
	exit(0);
}

int
pem_read(const char *path, uint8_t **bufp, size_t *lenp)
{
	struct stat st;
	uint8_t *buf = NULL;
	ssize_t n;
	size_t off = 0;
	int fd;

	*bufp = NULL;
	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0 || st.st_size > PEM_MAX ||
	    (buf = malloc((size_t)st.st_size)) == NULL)
		goto fail;
	while (off < (size_t)st.st_size) {
		if ((n = read(fd, buf + off, (size_t)st.st_size - off)) <= 0)
			goto fail;
		off += (size_t)n;
	}
	close(fd);
	*bufp = buf;
	*lenp = off;
	return 0;
fail:
	if (buf != NULL) {
		explicit_bzero(buf, (size_t)st.st_size);
		free(buf);
	}
	close(fd);
	errno = errno ? errno : EINVAL;
	return -1;
}

/*
 * The broker keeps a copy of every unix client connection: allow as
 * many descriptors as the front-end may hold connections, and some.
 * Returns how many connections the front-end may serve: fewer when the
 * hard limit is low, so that a passed connection never finds us out of
 * descriptors.  Raising the hard limit needs CAP_SYS_RESOURCE, which the
 * shipped unit drops: a low one is taken as it is, with a warning, and
 * under 2 * FD_SPARE our own share shrinks towards FD_SPARE_MIN.
 */
static uint32_t
raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)MAX_CONNECTIONS + FD_SPARE, spare;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("%s: getrlimit", __func__);
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			fatal("%s: setrlimit", __func__);
	}
	if (rl.rlim_cur >= want)
		return MAX_CONNECTIONS;
	if (rl.rlim_cur < FD_MIN)
		fatalx("%s: descriptor limit %llu is too low, at least %d are "
		    "needed; raise LimitNOFILE", __func__,
		    (unsigned long long)rl.rlim_cur, FD_MIN);
	spare = rl.rlim_cur / 2;
	if (spare > FD_SPARE)
		spare = FD_SPARE;
	if (spare < FD_SPARE_MIN)
		spare = FD_SPARE_MIN;
	log_warnx("%s: descriptor limit %llu (hard %llu): serving %llu "
	    "connections, not %d; raise LimitNOFILE", __func__,
	    (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
	    (unsigned long long)(rl.rlim_cur - spare), MAX_CONNECTIONS);
	return (uint32_t)(rl.rlim_cur - spare);
}

static void
no_core_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("%s: setrlimit", __func__);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("%s: prctl", __func__);
}

/* The key from a systemd credential when there is one, else the file. */
static uint8_t *
load_root_key(const struct secretd_config *cfg)
{
	char path[PATH_MAX], err[256];
	uint8_t *key;

	if (root_key_path(cfg, path, sizeof(path)) == -1)
		fatalx("%s: root key path too long", __func__);
	if (rootkey_load(path, &key, err, sizeof(err)) != ST_OK)
		fatalx("%s", err);
	unsetenv("CREDENTIALS_DIRECTORY");
	return key;
}

/*
 * The store the config names, under the root key.  The store conf comes
 * first: its password may be a credential, which load_root_key hides
 * from the children.  The store keeps only keys derived from the root
 * key and no password.
 */
static struct store *
open_store(const struct secretd_config *cfg)
{
	struct store_conf sc;
	struct store *st;
	char err[512];
	uint8_t *key;
	int rv;

	if (store_conf_make(cfg, store_conf_engine(cfg), &sc, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	key = load_root_key(cfg);
	rv = store_open_conf(&st, &sc, key);
	rootkey_free(key);
	if (rv == ST_DAMAGED && sc.engine == STORE_LMDB)
		fatalx("%s/data.mdb: %s", cfg->state_dir, store_strerror(rv));
	if (rv != ST_OK)
		fatalx("%s: %s: %s%s", __func__, store_conf_where(&sc),
		    store_strerror(rv), rv == ST_BADKEY ?
		    rootkey_rotation_hint(cfg) : "");
	store_conf_clear(&sc);
	return st;
}

static int
block_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("%s: sigprocmask", __func__);
	if ((fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		fatal("%s: signalfd", __func__);
	signal(SIGPIPE, SIG_IGN);
	return fd;
}

static void
handle_signals(struct broker *b, int sigfd)
{
	struct signalfd_siginfo si;

	while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			if (!b->stopping) {
				log_info("%s: stopping", __func__);
				notify_systemd("STOPPING=1");
				fe_stop(b);
				runner_stop(b);
			}
			break;
		case SIGCHLD:
			fe_reap(b);
			break;
		case SIGHUP:
			if (!b->stopping)
				broker_reload(b);
			break;
		}
	}
}

/*
 * One poll(2) loop: signals, the channel, and the front-end's restart
 * timer.  On stop it keeps serving until the front-end has finished.
 */
static int
min_timeout(int a, int b)
{
	if (a == -1)
		return b;
	if (b == -1)
		return a;
	return a < b ? a : b;
}

#define LOOP_FDS	6	/* the loop's own descriptors */
#define STORE_FDS_MAX	4	/* the store engine's connections */

/* A channel's poll events: replies wait when its peer does not read. */
static short
chan_events(struct ipc_chan *c, int open)
{
	short ev = 0;

	if (!open)
		return 0;
	if (c->queued < CHAN_QUEUE_MAX)
		ev |= POLLIN;
	if (ipc_chan_pending(c))
		ev |= POLLOUT;
	return ev;
}

/*
 * One poll(2) loop: signals, the two channels and the two children's
 * logs, the store engine's connections, and the timers of restarts,
 * tool executions, the engine and parked requests.  On stop it keeps
 * serving until the front-end has finished and the last commit ended.
 */
static void
event_loop(struct broker *b, int sigfd)
{
	struct pollfd pfd[LOOP_FDS + STORE_FDS_MAX];
	int n, i, nst, chan_fd, run_fd, timeout;

	while (!b->stopping || b->fe_pid != -1 || b->run.pid != -1 ||
	    batch_in_flight()) {
		fe_tick(b);
		runner_tick(b);
		chan_fd = b->chan_open ? b->chan.fd : -1;
		run_fd = b->run.chan_open ? b->run.chan.fd : -1;
		pfd[0].fd = sigfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = chan_fd;
		pfd[1].events = chan_events(&b->chan, b->chan_open);
		/* Parked requests may fill the room for turns on end: the
		 * channel waits without waking us. */
		if (!request_room())
			pfd[1].events &= ~POLLIN;
		pfd[2].fd = b->felog.fd;
		pfd[2].events = POLLIN;
		pfd[3].fd = session_watch_fd();
		pfd[3].events = POLLIN;
		pfd[4].fd = run_fd;
		pfd[4].events = chan_events(&b->run.chan, b->run.chan_open);
		pfd[5].fd = b->run.log.fd;
		pfd[5].events = POLLIN;
		/* The engine sends the turn's fetches here, as one wave. */
		nst = store_pollfds(b->store, pfd + LOOP_FDS, STORE_FDS_MAX);
		for (i = 0; i < LOOP_FDS + nst; i++)
			pfd[i].revents = 0;
		timeout = min_timeout(min_timeout(fe_poll_timeout(b),
		    runner_poll_timeout(b)), min_timeout(
		    store_timeout_ms(b->store), broker_poll_timeout()));
		if ((n = poll(pfd, LOOP_FDS + nst, timeout)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("%s: poll", __func__);
		}
		store_io(b->store, pfd + LOOP_FDS, nst);
		tool_exec_expire(b);
		broker_replay(b);
		/* Requests already sent for a client that hung up still
		 * get their answers: hang-ups are read after the channel. */
		if (pfd[1].revents && chan_fd != -1 && b->chan_open &&
		    b->chan.fd == chan_fd) {
			if (pfd[1].revents & POLLOUT)
				broker_flush(b);
			if (b->chan_open &&
			    (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
				broker_read(b);
		}
		broker_turn_end(b);
		if (pfd[4].revents && run_fd != -1 && b->run.chan_open &&
		    b->run.chan.fd == run_fd) {
			if (pfd[4].revents & POLLOUT)
				runner_flush(b);
			if (b->run.chan_open &&
			    (pfd[4].revents & (POLLIN | POLLHUP | POLLERR)))
				runner_read(b);
		}
		if (pfd[2].revents && pfd[2].fd == b->felog.fd)
			childlog_read(&b->felog);
		if (pfd[5].revents && pfd[5].fd == b->run.log.fd)
			childlog_read(&b->run.log);
		if (pfd[3].revents)
			session_hangups();
		if (pfd[0].revents & POLLIN)
			handle_signals(b, sigfd);
	}
	childlog_close(&b->felog);
	childlog_close(&b->run.log);
}

static void
check_tls_files(const struct secretd_config *cfg)
{
	uint8_t *cert, *key;
	size_t certlen, keylen;
	const char *why;
	int bad;

	if (pem_read(cfg->tls_cert, &cert, &certlen) == -1)
		fatal("%s: %s", __func__, cfg->tls_cert);
	if (pem_read(cfg->tls_key, &key, &keylen) == -1)
		fatal("%s: %s", __func__, cfg->tls_key);
	bad = tls_pair_check(cert, certlen, key, keylen, &why) == -1;
	sodium_memzero(key, keylen);
	free(key);
	free(cert);
	if (bad)
		fatalx("%s: %s (%s, %s)", __func__, why, cfg->tls_cert,
		    cfg->tls_key);
}

/* A daemon without a store has nothing to serve: say how to make one. */
static void
need_store(const struct secretd_config *cfg)
{
	char path[PATH_MAX + 16];
	struct stat st;
	int def = strcmp(cfg->path, SECRETD_CONF_FILE) == 0;

	/* A database's store is found, or not, when it is opened. */
	if (cfg->store_pg)
		return;
	snprintf(path, sizeof(path), "%s/data.mdb", cfg->state_dir);
	if (stat(path, &st) == -1 && errno == ENOENT)
		fatalx("no store in %s: run \"secretd init%s%s\" first",
		    cfg->state_dir, def ? "" : " -c ", def ? "" : cfg->path);
}

static int
run(struct secretd_config *cfg, int foreground, int verbose)
{
	struct broker b;
	struct statelock lk;
	char err[512];
	int sigfd;

	memset(&b, 0, sizeof(b));
	b.cfg = cfg;
	b.verbose = verbose;
	b.fe_pid = -1;
	b.felog.fd = -1;
	no_core_dumps();
	b.max_conns = raise_nofile();
	sigfd = block_signals();
	need_store(cfg);
	/* Before anything in the state folder, and before daemon(): a
	 * second daemon on it exits non-zero where it was started. */
	if (statelock_take(&lk, cfg->state_dir, STATELOCK_DAEMON, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	statelock_mark(&lk);
	exe_resolve_path(SECRETD_FRONTEND_NAME, "SECRETD_FRONTEND", b.frontend_path,
	    sizeof(b.frontend_path));
	runner_init(&b);
	fe_prepare_chroot(cfg->state_dir, b.chroot_dir, sizeof(b.chroot_dir));
	listen_setup(cfg, &b.lis);
	if (b.lis.tls_fd != -1)
		check_tls_files(cfg);
	if ((b.tools = calloc(1, sizeof(*b.tools))) == NULL)
		fatal("%s: calloc", __func__);
	if (tools_load(cfg->tools_dir, b.tools, stderr) != 0)
		fatalx("the tools in %s have errors (listed above)",
		    cfg->tools_dir);
	if (audit_open(cfg->audit_log) == -1)
		fatalx("cannot open the audit log %s", cfg->audit_log);
	if (cfg->audit_syslog)
		audit_syslog_open();
	/* Before the store: an LMDB environment must not cross a fork. */
	if (!foreground) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init("secretd", LOG_TO_SYSLOG, verbose);
		/* The child shares the locked file description. */
		statelock_mark(&lk);
	}
	b.store = open_store(cfg);
	if (audit_start(store_audit_key(b.store)) == -1)
		fatalx("cannot start the audit log's chain");
	metrics_init();
	fe_start(&b);
	runner_start(&b);
	notify_systemd("READY=1");
	log_info("ready: socket %s%s%s, front-end %s", b.lis.unix_path,
	    b.lis.tls_fd != -1 ? ", TLS on " : "",
	    b.lis.tls_fd == -1 ? "" : cfg->listen[0] != '\0' ? cfg->listen :
	    "the socket systemd passed", b.frontend_path);
	event_loop(&b, sigfd);
	store_close(b.store);
	tools_free(b.tools);
	free(b.tools);
	audit_close();
	listen_close(&b.lis);
	session_clear();
	close(sigfd);
	statelock_release(&lk);
	if (b.exit_status != 0) {
		log_warnx("stopped: gave up");
		return b.exit_status;
	}
	log_info("stopped");
	return 0;
}

/*
 * secretd -n: every error of the config (its users and group looked up
 * on this system too), then of every tool file, each on its own line as
 * FILE:LINE: message; with -v the effective config and one line a tool.
 */
static int
do_check(const char *conf, int verbose)
{
	struct secretd_config cfg;
	struct toolset ts;
	int cerr, terr;

	if ((cerr = config_parse(conf, &cfg, CONFIG_USERS | CONFIG_FILES,
	    NULL, 0, stderr)) != 0)
		fprintf(stderr, "secretd: %s: %d error%s\n", conf, cerr,
		    cerr == 1 ? "" : "s");
	/* A bad tools_dir line leaves the default one, checked all the same. */
	if ((terr = tools_load(cfg.tools_dir, &ts, stderr)) != 0)
		fprintf(stderr, "secretd: %s: %d error%s\n", cfg.tools_dir,
		    terr, terr == 1 ? "" : "s");
	if (cerr != 0 || terr != 0) {
		tools_free(&ts);
		return 1;
	}
	if (verbose) {
		config_print(&cfg, stdout);
		tools_print(&ts, stdout);
	} else
		fprintf(stderr, "configuration OK, %zu tool%s\n", ts.n,
		    ts.n == 1 ? "" : "s");
	tools_free(&ts);
	return 0;
}

/* secretd_init() logs each thing it creates. */
static int
do_init(const struct secretd_config *cfg)
{
	char err[512];

	if (secretd_init(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "secretd: init: %s\n", err);
		return 1;
	}
	return 0;
}

/*
 * rotate-key and rewrap: LMDB lets them run beside the daemon, but only
 * one at a time, under the maintenance lock.
 */
static int
do_keys(const struct secretd_config *cfg, enum command cmd)
{
	struct statelock lk;
	struct store *st;
	char err[512];
	uint32_t id;
	size_t n = 0;
	int rv;

	no_core_dumps();
	if (statelock_take(&lk, cfg->state_dir, STATELOCK_ONLINE, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "secretd: %s: %s\n",
		    cmd == CMD_ROTATE ? "rotate-key" : "rewrap", err);
		return 1;
	}
	statelock_mark(&lk);
	st = open_store(cfg);
	if (cmd == CMD_ROTATE) {
		if ((rv = store_rotate_data_key(st, &id)) == ST_OK)
			printf("data key %u is now active; run secretd rewrap "
			    "to re-seal older records\n", id);
	} else if ((rv = store_rewrap(st, REWRAP_BATCH, &n)) == ST_OK)
		printf("%zu records re-sealed under data key %u\n", n,
		    store_active_key_id(st));
	store_close(st);
	statelock_release(&lk);
	if (rv != ST_OK) {
		fprintf(stderr, "secretd: %s\n", store_strerror(rv));
		return 1;
	}
	return 0;
}

/*
 * secretd verify: every record of every table, every value opened;
 * read-only, so it may run beside the daemon.  Exits 0 only when clean.
 */
static int
do_verify(const struct secretd_config *cfg)
{
	struct store_report r;
	struct store_conf sc;
	char err[512];
	uint8_t *key;
	size_t i;
	int rv;

	no_core_dumps();
	if (store_conf_make(cfg, store_conf_engine(cfg), &sc, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "secretd: verify: %s\n", err);
		return 1;
	}
	key = load_root_key(cfg);
	rv = store_verify_conf(&sc, key, &r);
	rootkey_free(key);
	for (i = 0; i < r.ndb; i++)
		printf("%-16s %zu records\n", r.db[i].name, r.db[i].n);
	if (r.schema != 0)
		printf("schema %u, %zu data key%s, data key %u active\n",
		    r.schema, r.nkeys, r.nkeys == 1 ? "" : "s", r.active_key);
	if (r.file_why[0] != '\0')
		printf("damaged: %s/data.mdb: %s\n", cfg->state_dir,
		    r.file_why);
	if (r.bad_why[0] != '\0')
		printf("first bad record: table %s, key \"%s\": %s\n",
		    r.bad_db, r.bad_key, r.bad_why);
	if (rv != ST_OK) {
		fprintf(stderr, "secretd: verify: %s: %s\n",
		    store_conf_where(&sc), store_strerror(rv));
		store_conf_clear(&sc);
		return 1;
	}
	if (r.schema < STORE_SCHEMA_MAC)
		printf("schema %u: the daemon upgrades it at its next start\n",
		    r.schema);
	printf("store %s is intact\n", store_conf_where(&sc));
	store_conf_clear(&sc);
	return 0;
}

/*
 * secretd audit verify FILE...: the chain key comes from the root key,
 * as the daemon's does.  Exits 0 only when every line verifies.
 */
static int
do_audit(const struct secretd_config *cfg, int argc, char *argv[])
{
	struct store_conf sc;
	struct store *st;
	char err[512];
	uint8_t *key, *ak = NULL;
	int rv, opened;

	if (argc < 2 || strcmp(argv[0], "verify") != 0)
		usage();
	no_core_dumps();
	if (store_conf_make(cfg, store_conf_engine(cfg), &sc, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "secretd: audit verify: %s\n", err);
		return 1;
	}
	key = load_root_key(cfg);
	opened = store_open_conf(&st, &sc, key) == ST_OK;
	/*
	 * The chain key is the store's, kept across root key rotations;
	 * logs checked where there is no store get the one derived from the
	 * root key, which is that key until the first rotation.
	 */
	if (opened) {
		rv = audit_verify(store_audit_key(st), argv + 1, argc - 1);
		store_close(st);
	} else if ((ak = sodium_malloc(STORE_AUDIT_KEY_LEN)) != NULL &&
	    keyring_audit_key(key, ak) == 0) {
		fprintf(stderr, "secretd: audit verify: no store opens at %s: "
		    "the chain key is derived from the root key, as it was "
		    "before any root key rotation\n", store_conf_where(&sc));
		rv = audit_verify(ak, argv + 1, argc - 1);
	} else
		rv = 1;
	sodium_free(ak);
	rootkey_free(key);
	store_conf_clear(&sc);
	return rv;
}

/*
 * backup and restore copy or replace LMDB's file itself: a database is
 * backed up and restored with PostgreSQL's own tools.
 */
static int
lmdb_only(const struct secretd_config *cfg, enum command cmd)
{
	if (!cfg->store_pg || (cmd != CMD_BACKUP && cmd != CMD_RESTORE))
		return 0;
	return cmd_fail(cmd == CMD_BACKUP ? "backup" : "restore", "works on "
	    "an LMDB store; with store = postgresql back up the database "
	    "with pg_dump or pg_basebackup (it holds only sealed records, "
	    "which open with the root key alone: keep that key apart from "
	    "the dump) and restore it with pg_restore or from the base "
	    "backup; see secretd(8)");
}

static enum command
subcommand(int *argc, char ***argv)
{
	static const struct {
		const char	*name;
		enum command	 cmd;
	} cmds[] = {
		{ "init", CMD_INIT }, { "rotate-key", CMD_ROTATE },
		{ "rewrap", CMD_REWRAP }, { "verify", CMD_VERIFY },
		{ "backup", CMD_BACKUP }, { "restore", CMD_RESTORE },
		{ "rotate-root-key", CMD_ROTATE_ROOT }, { "audit", CMD_AUDIT },
		{ "migrate", CMD_MIGRATE },
	};
	char **av = *argv;
	size_t i;
	int at = 1;

	/* "secretd -c FILE command ...": the config may come first */
	if (*argc > 3 && strcmp(av[1], "-c") == 0)
		at = 3;
	if (*argc <= at || av[at][0] == '-')
		return CMD_RUN;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(av[at], cmds[i].name) == 0) {
			/* the command's word out, what came before it kept */
			memmove(av + 2, av + 1, (size_t)(at - 1) * sizeof(*av));
			av[1] = av[0];
			(*argc)--;
			(*argv)++;
			return cmds[i].cmd;
		}
	usage();
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'F' },
		{ "new-key", required_argument, NULL, 'K' },
		{ "to", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct secretd_config cfg;
	const char *conf = SECRETD_CONF_FILE, *new_key = NULL, *file = NULL;
	const char *to = NULL;
	enum command cmd = subcommand(&argc, &argv);
	char err[512];
	int ch, foreground = 0, verbose = 0, force = 0;

	while ((ch = getopt_long(argc, argv, "c:fhnvV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			help();
		case 'V':
			printf("secretd %s\n", PACKAGE_VERSION);
			return 0;
		case 'c':
			conf = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'n':
			if (cmd != CMD_RUN)
				usage();
			cmd = CMD_CHECK;
			break;
		case 'v':
			verbose++;
			break;
		case 'F':
			force = 1;
			break;
		case 'K':
			new_key = optarg;
			break;
		case 'T':
			to = optarg;
			break;
		default:
			usage();
		}
	}
	if ((cmd == CMD_BACKUP || cmd == CMD_RESTORE) && optind < argc)
		file = argv[optind++];
	if ((cmd != CMD_AUDIT && optind != argc) ||
	    (cmd != CMD_RUN && foreground) ||
	    ((cmd == CMD_BACKUP || cmd == CMD_RESTORE) && file == NULL) ||
	    (force && cmd != CMD_BACKUP && cmd != CMD_MIGRATE) ||
	    (new_key != NULL && cmd != CMD_ROTATE_ROOT) ||
	    ((to != NULL) != (cmd == CMD_MIGRATE)))
		usage();
	log_init("secretd", LOG_TO_STDERR, verbose);
	if (sodium_init() == -1)
		fatalx("libsodium failed to initialise");
	if (cmd == CMD_CHECK)
		return do_check(conf, verbose);
	if (config_load(conf, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (lmdb_only(&cfg, cmd) != 0)
		return 1;
	switch (cmd) {
	case CMD_INIT:
		return do_init(&cfg);
	case CMD_ROTATE:
	case CMD_REWRAP:
		return do_keys(&cfg, cmd);
	case CMD_VERIFY:
		return do_verify(&cfg);
	case CMD_BACKUP:
		return backup_run(&cfg, file, force);
	case CMD_RESTORE:
		no_core_dumps();
		return backup_restore(&cfg, file);
	case CMD_ROTATE_ROOT:
		no_core_dumps();
		return rootkey_rotate(&cfg, new_key);
	case CMD_AUDIT:
		return do_audit(&cfg, argc - optind, argv + optind);
	case CMD_MIGRATE:
		no_core_dumps();
		return migrate(&cfg, to, force);
	default:
		return run(&cfg, foreground, verbose);
	}
}
