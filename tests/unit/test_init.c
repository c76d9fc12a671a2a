/*
 * `secretd init`: what it creates and with which modes, the development
 * certificate it writes, and that it refuses (changing nothing) whenever
 * a root key, a store or a stray TLS key is already there.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "secretd.h"
#include "store.h"
#include "tap.h"
#include "testutil.h"

static char *base;

/* Writes a config into base and loads it. */
static int
load(const char *name, const char *text, struct secretd_config *cfg)
{
	char path[PATH_MAX], err[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", base, name);
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, fp);
	fclose(fp);
	if (config_load(path, cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "# %s\n", err);
		return -1;
	}
	return 0;
}

static int
mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return -1;
	return st.st_mode & 07777;
}

static int
is_absent(const char *path)
{
	struct stat st;

	return lstat(path, &st) == -1 && errno == ENOENT;
}

/* A fingerprint of every file under base: name, mode, size, mtime, data. */
static char *snap;
static size_t snaplen;
static FILE *snapfp;

static int
snap_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	unsigned char h[16], buf[4096];
	crypto_generichash_state gs;
	ssize_t n;
	size_t i;
	int fd;

	fprintf(snapfp, "%s %o %lld %lld.%09ld", path, st->st_mode,
	    (long long)st->st_size, (long long)st->st_mtim.tv_sec,
	    st->st_mtim.tv_nsec);
	if (S_ISREG(st->st_mode) && (fd = open(path, O_RDONLY)) != -1) {
		crypto_generichash_init(&gs, NULL, 0, sizeof(h));
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			crypto_generichash_update(&gs, buf, n);
		crypto_generichash_final(&gs, h, sizeof(h));
		close(fd);
		fputc(' ', snapfp);
		for (i = 0; i < sizeof(h); i++)
			fprintf(snapfp, "%02x", h[i]);
	}
	fputc('\n', snapfp);
	return 0;
}

static char *
snapshot(void)
{
	snap = NULL;
	if ((snapfp = open_memstream(&snap, &snaplen)) == NULL)
		return NULL;
	nftw(base, snap_one, 16, FTW_PHYS);
	fclose(snapfp);
	return snap;
}

static int
san_has(GENERAL_NAMES *gens, int type, const void *want, size_t len)
{
	const GENERAL_NAME *g;
	const ASN1_STRING *s;
	int i;

	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != type)
			continue;
		s = type == GEN_DNS ? g->d.dNSName : g->d.iPAddress;
		if ((size_t)ASN1_STRING_length(s) == len &&
		    memcmp(ASN1_STRING_get0_data(s), want, len) == 0)
			return 1;
	}
	return 0;
}

static void
test_certificate(const struct secretd_config *cfg)
{
	unsigned char v4[4], v6[16];
	GENERAL_NAMES *gens = NULL;
	EVP_PKEY *key = NULL, *pub;
	X509 *x = NULL;
	FILE *fp;
	int days = 0, secs = 0;

	if ((fp = fopen(cfg->tls_cert, "r")) != NULL) {
		x = PEM_read_X509(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	if ((fp = fopen(cfg->tls_key, "r")) != NULL) {
		key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	ok(x != NULL && key != NULL, "certificate and key are PEM");
	if (x == NULL || key == NULL)
		goto out;
	pub = X509_get0_pubkey(x);
	ok(EVP_PKEY_base_id(pub) == EVP_PKEY_EC && EVP_PKEY_bits(pub) == 256,
	    "the certificate key is ECDSA P-256");
	ok(X509_check_private_key(x, key) == 1,
	    "the key file matches the certificate");
	ok(X509_verify(x, pub) == 1, "the certificate is self-signed");
	ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
	    X509_get0_notAfter(x));
	ok(days == 365 && secs == 0, "the certificate is valid for one year");
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	inet_pton(AF_INET, "127.0.0.1", v4);
	inet_pton(AF_INET6, "::1", v6);
	ok(gens != NULL && san_has(gens, GEN_DNS, "localhost", 9) &&
	    san_has(gens, GEN_IPADD, v4, 4) && san_has(gens, GEN_IPADD, v6, 16),
	    "subjectAltName holds localhost, 127.0.0.1 and ::1");
	ok(X509_check_host(x, "localhost", 0, 0, NULL) == 1 &&
	    X509_check_ip_asc(x, "::1", 0) == 1 &&
	    X509_check_host(x, "example.org", 0, 0, NULL) != 1,
	    "the certificate matches localhost and nothing else");
 out:
	GENERAL_NAMES_free(gens);
	EVP_PKEY_free(key);
	X509_free(x);
}

/* Every file the store made is private to the broker. */
static int
store_files_private(const char *dir, int *count)
{
	char path[PATH_MAX * 2];
	static const char *names[] = { "data.mdb", "lock.mdb", NULL };
	int i;

	*count = 0;
	for (i = 0; names[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (is_absent(path))
			continue;
		(*count)++;
		if (mode_of(path) != 0600)
			return 0;
	}
	return *count > 0;
}

static void
test_fresh(void)
{
	struct secretd_config cfg;
	char err[1024], *before, *after;
	struct store *st = NULL;
	uint8_t *key = NULL;
	int n, private;

	if (load("fresh.conf", "state_dir = deep/er/state\n", &cfg) == -1) {
		ok(0, "load fresh.conf");
		return;
	}
	ok(secretd_init(&cfg, err, sizeof(err)) == 0,
	    "init on a fresh folder succeeds: %s", err);
	ok(mode_of(cfg.state_dir) == 0700, "state_dir is 0700");
	ok(mode_of(cfg.root_key_file) == 0400, "root key is 0400");
	private = store_files_private(cfg.state_dir, &n);
	ok(private, "store files are 0600 (%d found)", n);
	ok(mode_of(cfg.tls_key) == 0600, "TLS key is 0600");
	ok(mode_of(cfg.tls_cert) == 0644, "TLS certificate is 0644");
	test_certificate(&cfg);

	ok(rootkey_load(cfg.root_key_file, &key, err, sizeof(err)) == 0 &&
	    store_open(&st, cfg.state_dir, key) == ST_OK,
	    "the new store opens with the new root key");
	if (st != NULL)
		store_close(st);
	rootkey_free(key);

	before = snapshot();
	err[0] = '\0';
	ok(secretd_init(&cfg, err, sizeof(err)) == -1 &&
	    strstr(err, "already exists") != NULL,
	    "init twice refuses: %s", err);
	after = snapshot();
	ok(before != NULL && after != NULL && strcmp(before, after) == 0,
	    "init twice changes nothing (names, modes, mtimes, contents)");
	free(before);
	free(after);
}

/* The store is there but the config names a new root key: refuse. */
static void
test_store_exists(void)
{
	struct secretd_config cfg;
	char err[1024], *before, *after;

	load("store.conf", "state_dir = deep/er/state\n"
	    "root_key_file = other.key\n", &cfg);
	before = snapshot();
	err[0] = '\0';
	ok(secretd_init(&cfg, err, sizeof(err)) == -1 &&
	    strstr(err, "store") != NULL,
	    "an existing store is refused: %s", err);
	after = snapshot();
	ok(is_absent(cfg.root_key_file) && strcmp(before, after) == 0,
	    "refusing an existing store writes no key and changes nothing");
	free(before);
	free(after);
}

static void
test_tls_kept(void)
{
	struct secretd_config cfg;
	char err[1024], *before, *after;
	FILE *fp;

	load("kept.conf", "state_dir = kept\ntls_cert = kept.crt\n", &cfg);
	if ((fp = fopen(cfg.tls_cert, "w")) != NULL) {
		fputs("existing certificate\n", fp);
		fclose(fp);
	}
	ok(secretd_init(&cfg, err, sizeof(err)) == 0 &&
	    is_absent(cfg.tls_key) && mode_of(cfg.root_key_file) == 0400,
	    "an existing tls_cert is kept and no key is made for it");

	load("stray.conf", "state_dir = stray\n"
	    "tls_cert = stray.crt\ntls_key = kept.crt\n", &cfg);
	before = snapshot();
	err[0] = '\0';
	ok(secretd_init(&cfg, err, sizeof(err)) == -1 &&
	    strstr(err, "tls_key") != NULL,
	    "a tls_key without its certificate is refused: %s", err);
	after = snapshot();
	ok(is_absent(cfg.state_dir) && strcmp(before, after) == 0,
	    "refusing a stray tls_key creates nothing");
	free(before);
	free(after);
}

static void
test_loose_state_dir(void)
{
	struct secretd_config cfg;
	char err[1024];

	load("loose.conf", "state_dir = loose\n", &cfg);
	mkdir(cfg.state_dir, 0755);
	chmod(cfg.state_dir, 0755);
	err[0] = '\0';
	ok(secretd_init(&cfg, err, sizeof(err)) == -1 &&
	    mode_of(cfg.state_dir) == 0755 && is_absent(cfg.root_key_file),
	    "a state_dir open to others is refused and left alone: %s", err);
}

/*
 * A failure after init began (the root key's folder is a dangling
 * symlink) takes back the folders and certificate it had made.
 */
static void
test_rollback(void)
{
	struct secretd_config cfg;
	char err[1024], link[PATH_MAX];

	load("undo.conf", "state_dir = undo/state\n"
	    "root_key_file = dangling/root.key\n", &cfg);
	snprintf(link, sizeof(link), "%s/dangling", base);
	if (symlink("nowhere", link) == -1)
		ok(0, "symlink: %s", strerror(errno));
	err[0] = '\0';
	ok(secretd_init(&cfg, err, sizeof(err)) == -1,
	    "init fails when the root key cannot be written: %s", err);
	snprintf(link, sizeof(link), "%s/undo", base);
	ok(is_absent(link) && is_absent(cfg.tls_cert) &&
	    is_absent(cfg.tls_key),
	    "a failed init removes the folders and files it made");
}

int
main(void)
{
	if (sodium_init() == -1)
		return 1;
	if ((base = tu_mkdtemp("test_init")) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return done_testing();
	}
	test_fresh();
	test_store_exists();
	test_tls_kept();
	test_loose_state_dir();
	test_rollback();
	tu_rm_rf(base);
	free(base);
	return done_testing();
}
