/*
 * `secretd init`: creates the state folder, root key, store and a
 * development TLS certificate.  It checks everything before it creates
 * anything, never overwrites a file, and removes what it made on failure.
 * Certificates are built with libcrypto alone: no TLS code in the broker.
 *
 * With store = postgresql the store is the database's schema, shared by
 * every node: init creates it, or finds it made under the same root key
 * (the second node's init), and an existing root key file is used, not
 * refused, since every node holds the same key.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "log.h"
#include "secretd.h"
#include "store.h"
#include "store_engine.h"
#include "storeconf.h"

#define CERT_DAYS	365
#define STORE_FILE	"data.mdb"	/* LMDB's data file in state_dir */

/* What init created, newest last, so a failure can take it back. */
struct undo {
	char		**path;
	int		 *isdir;
	size_t		  n;
};

/* A development certificate and its key, PEM-encoded in memory. */
struct devcert {
	BIO		*cert;
	BIO		*key;		/* secure heap where available */
};

static int __attribute__((format(printf, 3, 4)))
ierr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
undo_add(struct undo *u, const char *path, int isdir)
{
	char **np;
	int *nd;

	if ((np = reallocarray(u->path, u->n + 1, sizeof(*np))) == NULL)
		return -1;
	u->path = np;
	if ((nd = reallocarray(u->isdir, u->n + 1, sizeof(*nd))) == NULL)
		return -1;
	u->isdir = nd;
	if ((u->path[u->n] = strdup(path)) == NULL)
		return -1;
	u->isdir[u->n++] = isdir;
	return 0;
}

static void
undo_run(struct undo *u)
{
	while (u->n > 0) {
		u->n--;
		if ((u->isdir[u->n] ? rmdir(u->path[u->n]) :
		    unlink(u->path[u->n])) == -1)
			log_warn("%s: cannot remove %s", __func__,
			    u->path[u->n]);
		free(u->path[u->n]);
	}
}

static void
undo_forget(struct undo *u)
{
	while (u->n > 0)
		free(u->path[--u->n]);
	free(u->path);
	free(u->isdir);
	u->path = NULL;
	u->isdir = NULL;
}

/* 1 when path exists, 0 when it does not, -1 when we cannot tell. */
static int
exists(const char *path, struct stat *st)
{
	if (lstat(path, st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

static int
check_absent(const char *what, const char *path, char *err, size_t errlen)
{
	struct stat st;

	switch (exists(path, &st)) {
	case 1:
		return ierr(err, errlen, "%s %s already exists; refusing to "
		    "overwrite it", what, path);
	case -1:
		return ierr(err, errlen, "%s %s: %s", what, path,
		    strerror(errno));
	}
	return 0;
}

/*
 * Everything that could make init refuse, checked before anything is
 * created.  *want_tls says whether a certificate must be made.
 */
static int
init_check(const struct secretd_config *cfg, int *want_tls, char *err,
    size_t errlen)
{
	char store[PATH_MAX];
	struct stat st;
	int n;

	if (!cfg->store_pg &&
	    check_absent("root key", cfg->root_key_file, err, errlen) == -1)
		return -1;
	switch (exists(cfg->state_dir, &st)) {
	case -1:
		return ierr(err, errlen, "state_dir %s: %s", cfg->state_dir,
		    strerror(errno));
	case 1:
		if (!S_ISDIR(st.st_mode))
			return ierr(err, errlen, "state_dir %s is not a "
			    "directory", cfg->state_dir);
		/* Never loosen or tighten a folder an operator made. */
		if (st.st_mode & 077)
			return ierr(err, errlen, "state_dir %s is open to "
			    "group or others (mode %04o); it must be 0700",
			    cfg->state_dir, (unsigned)(st.st_mode & 07777));
		n = snprintf(store, sizeof(store), "%s/%s", cfg->state_dir,
		    STORE_FILE);
		if (n < 0 || (size_t)n >= sizeof(store))
			return ierr(err, errlen, "state_dir %s: path too long",
			    cfg->state_dir);
		if (!cfg->store_pg &&
		    check_absent("store", store, err, errlen) == -1)
			return -1;
	}
	if ((n = exists(cfg->tls_cert, &st)) == -1)
		return ierr(err, errlen, "tls_cert %s: %s", cfg->tls_cert,
		    strerror(errno));
	/* A key without its certificate is someone's: keep it. */
	if ((*want_tls = !n) &&
	    check_absent("tls_key", cfg->tls_key, err, errlen) == -1)
		return -1;
	return 0;
}

/* Like mkdir -p, each new folder 0700. */
static int
mkdir_p(const char *path, struct undo *u, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	struct stat st;
	char *s;
	int last;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return ierr(err, errlen, "%s: path too long", path);
	for (s = buf + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		last = *s == '\0';
		*s = '\0';
		if (mkdir(buf, 0700) == 0) {
			log_info("created folder %s", buf);
			if (undo_add(u, buf, 1) == -1)
				return ierr(err, errlen, "out of memory");
		} else if (errno != EEXIST || stat(buf, &st) == -1 ||
		    !S_ISDIR(st.st_mode))
			return ierr(err, errlen, "mkdir %s: %s", buf,
			    errno == EEXIST ? "not a directory" :
			    strerror(errno));
		if (last)
			return 0;
		*s = '/';
	}
}

static int
mkdir_parent(const char *path, struct undo *u, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	return mkdir_p(dir, u, err, errlen);
}

static int
write_new(const char *path, BIO *bio, mode_t mode, struct undo *u,
    char *err, size_t errlen)
{
	char *data;
	long len;
	ssize_t w;
	int fd;

	if ((len = BIO_get_mem_data(bio, &data)) <= 0)
		return ierr(err, errlen, "%s: nothing to write", path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1)
		return ierr(err, errlen, "create %s: %s", path,
		    strerror(errno));
	if (undo_add(u, path, 0) == -1) {
		close(fd);
		unlink(path);
		return ierr(err, errlen, "out of memory");
	}
	if (fchmod(fd, mode) == -1)
		goto fail;
	while (len > 0) {
		if ((w = write(fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		data += w;
		len -= w;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1)
		return ierr(err, errlen, "close %s: %s", path,
		    strerror(errno));
	if (sync_dir_of(path) == -1)
		log_warn("%s: fsync folder of %s", __func__, path);
	log_info("created %s", path);
	return 0;
 fail:
	ierr(err, errlen, "write %s: %s", path, strerror(errno));
	close(fd);
	return -1;
}

static EVP_PKEY *
devcert_keygen(void)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;

	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL)) == NULL)
		return NULL;
	if (EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx,
	    NID_X9_62_prime256v1) <= 0 ||
	    EVP_PKEY_keygen(ctx, &pkey) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static int
devcert_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int rv;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	rv = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rv;
}

/* A random positive 127-bit serial, as RFC 5280 asks. */
static int
devcert_serial(X509 *x)
{
	BIGNUM *bn;
	int rv = -1;

	if ((bn = BN_new()) == NULL)
		return -1;
	if (BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		rv = 0;
	BN_free(bn);
	return rv;
}

/*
 * Self-signed, for localhost only: a client trusts it by naming it as
 * its CA file, never by turning verification off.
 */
static X509 *
devcert_build(EVP_PKEY *pkey)
{
	X509 *x;
	X509_NAME *name;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (X509_set_version(x, 2) != 1 || devcert_serial(x) == -1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)CERT_DAYS * 24 * 3600) == NULL ||
	    X509_set_pubkey(x, pkey) != 1)
		goto fail;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"secretd development", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto fail;
	if (devcert_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
	    devcert_ext(x, NID_key_usage, "critical,digitalSignature") ||
	    devcert_ext(x, NID_ext_key_usage, "serverAuth") ||
	    devcert_ext(x, NID_subject_alt_name,
	    "DNS:localhost,IP:127.0.0.1,IP:::1") ||
	    devcert_ext(x, NID_subject_key_identifier, "hash") ||
	    devcert_ext(x, NID_authority_key_identifier, "keyid:always"))
		goto fail;
	if (X509_sign(x, pkey, EVP_sha256()) <= 0)
		goto fail;
	return x;
 fail:
	X509_free(x);
	return NULL;
}

static void
devcert_free(struct devcert *dc)
{
	BIO_free(dc->cert);
	BIO_free(dc->key);
	dc->cert = dc->key = NULL;
}

static int
devcert_make(struct devcert *dc, char *err, size_t errlen)
{
	EVP_PKEY *pkey;
	X509 *x = NULL;
	int rv = -1;

	memset(dc, 0, sizeof(*dc));
	if ((pkey = devcert_keygen()) == NULL ||
	    (x = devcert_build(pkey)) == NULL) {
		ierr(err, errlen, "cannot build the TLS certificate");
		goto fail;
	}
	if ((dc->cert = BIO_new(BIO_s_mem())) == NULL ||
	    (dc->key = BIO_new(BIO_s_secmem())) == NULL ||
	    PEM_write_bio_X509(dc->cert, x) != 1 ||
	    PEM_write_bio_PrivateKey(dc->key, pkey, NULL, NULL, 0, NULL,
	    NULL) != 1) {
		ierr(err, errlen, "cannot encode the TLS certificate");
		goto fail;
	}
	rv = 0;
 fail:
	if (rv == -1)
		devcert_free(dc);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rv;
}

/*
 * The key a database's store is made or found under: the systemd
 * credential when one is passed (a second node's init run with it),
 * else root_key_file, made when it is not there.
 */
static int
shared_key_path(const struct secretd_config *cfg, char *path, size_t len)
{
	const char *cred;
	struct stat st;
	int n;

	n = snprintf(path, len, "%s", cfg->root_key_file);
	if ((cred = getenv("CREDENTIALS_DIRECTORY")) != NULL && *cred != '\0') {
		n = snprintf(path, len, "%s/root.key", cred);
		if (n >= 0 && (size_t)n < len && exists(path, &st) != 1)
			n = snprintf(path, len, "%s", cfg->root_key_file);
	}
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* rootkey_generate makes it 0400 with O_EXCL and syncs its folder. */
static int
make_root_key(const struct secretd_config *cfg, struct undo *u, char *err,
    size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;

	/* Every node holds the same key: one already here is the store's. */
	if (cfg->store_pg && shared_key_path(cfg, path, sizeof(path)) == -1)
		return ierr(err, errlen, "root key path too long");
	if (cfg->store_pg && exists(path, &st) == 1) {
		log_info("using root key %s", path);
		return 0;
	}
	if (mkdir_parent(cfg->root_key_file, u, err, errlen) == -1)
		return -1;
	if (rootkey_generate(cfg->root_key_file, err, errlen) != 0)
		return -1;
	if (undo_add(u, cfg->root_key_file, 0) == -1)
		return ierr(err, errlen, "out of memory");
	log_info("created root key %s", cfg->root_key_file);
	return 0;
}

static int
make_store(const struct secretd_config *cfg, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct store_conf sc;
	uint8_t *key = NULL;
	int rv;

	if (store_conf_make(cfg, store_conf_engine(cfg), &sc, err,
	    errlen) == -1)
		return -1;
	if (!cfg->store_pg)
		snprintf(path, sizeof(path), "%s", cfg->root_key_file);
	else if (shared_key_path(cfg, path, sizeof(path)) == -1) {
		store_conf_clear(&sc);
		return ierr(err, errlen, "root key path too long");
	}
	if (rootkey_load(path, &key, err, errlen) != 0) {
		store_conf_clear(&sc);
		return -1;
	}
	rv = store_create_conf(&sc, key);
	rootkey_free(key);
	/* A database's store made by another node's init, or this one's. */
	if (rv == ST_EXISTS && sc.engine == STORE_POSTGRESQL) {
		log_info("%s already holds the store of this root key",
		    store_conf_where(&sc));
		rv = ST_OK;
	} else if (rv == ST_BADKEY)
		ierr(err, errlen, "%s already holds a store sealed under "
		    "another root key; refusing it", store_conf_where(&sc));
	else if (rv != ST_OK)
		ierr(err, errlen, "store in %s: %s", store_conf_where(&sc),
		    store_strerror(rv));
	else
		log_info("created store in %s", store_conf_where(&sc));
	store_conf_clear(&sc);
	return rv == ST_OK ? 0 : -1;
}

static int
make_devcert(const struct secretd_config *cfg, struct devcert *dc,
    struct undo *u, char *err, size_t errlen)
{
	if (mkdir_parent(cfg->tls_key, u, err, errlen) == -1 ||
	    write_new(cfg->tls_key, dc->key, 0600, u, err, errlen) == -1 ||
	    mkdir_parent(cfg->tls_cert, u, err, errlen) == -1 ||
	    write_new(cfg->tls_cert, dc->cert, 0644, u, err, errlen) == -1)
		return -1;
	return 0;
}

/*
 * A state folder without lock files is locked once it passed the checks
 * and exists, the lock files undone with what else init made; one with
 * them was locked before anything was checked.
 */
static int
lock_new_folder(const struct secretd_config *cfg, struct statelock *lk,
    struct undo *u, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (lk->fd != -1)
		return 0;
	if (statelock_take(lk, cfg->state_dir, STATELOCK_OFFLINE, err,
	    errlen) == -1)
		return -1;
	if (statelock_path(cfg->state_dir, STATELOCK_FILE, path,
	    sizeof(path)) == -1 || undo_add(u, path, 0) == -1 ||
	    statelock_path(cfg->state_dir, STATELOCK_MAINT_FILE, path,
	    sizeof(path)) == -1 || undo_add(u, path, 0) == -1)
		return ierr(err, errlen, "state_dir %s: out of memory",
		    cfg->state_dir);
	return 0;
}

int
secretd_init(const struct secretd_config *cfg, char *err, size_t errlen)
{
	struct statelock lk = { -1, -1 };
	char path[PATH_MAX];
	struct devcert dc;
	struct undo u;
	struct stat st;
	mode_t omask;
	int want_tls = 0, rv = -1;

	memset(&u, 0, sizeof(u));
	memset(&dc, 0, sizeof(dc));
	if (sodium_init() == -1)
		return ierr(err, errlen, "libsodium failed to initialise");
	omask = umask(077);
	/* A folder in use is refused first, with the holder's pid; one
	 * never locked gets its lock files only once it passed the checks. */
	if (statelock_path(cfg->state_dir, STATELOCK_FILE, path,
	    sizeof(path)) == 0 && lstat(path, &st) == 0 &&
	    statelock_take(&lk, cfg->state_dir, STATELOCK_OFFLINE, err,
	    errlen) == -1)
		goto out;
	if (init_check(cfg, &want_tls, err, errlen) == -1)
		goto out;
	/* Built before anything touches the disk: it can fail cleanly. */
	if (want_tls && devcert_make(&dc, err, errlen) == -1)
		goto out;
	if (mkdir_p(cfg->state_dir, &u, err, errlen) == -1 ||
	    lock_new_folder(cfg, &lk, &u, err, errlen) == -1) {
		undo_run(&u);
		goto out;
	}
	statelock_mark(&lk);
	if ((want_tls && make_devcert(cfg, &dc, &u, err, errlen) == -1) ||
	    make_root_key(cfg, &u, err, errlen) == -1 ||
	    make_store(cfg, err, errlen) == -1) {
		undo_run(&u);
		goto out;
	}
	rv = 0;
 out:
	statelock_release(&lk);
	undo_forget(&u);
	devcert_free(&dc);
	umask(omask);
	return rv;
}
