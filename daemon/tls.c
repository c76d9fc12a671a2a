/*
 * The TLS server context, built from the PEMs the broker sent, before the
 * privilege drop, and again from new ones after a reload.  The key PEM is
 * wiped as soon as OpenSSL holds the key; no weaker protocol or cipher
 * than below is ever enabled.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "frontend.h"

/* TLS 1.2: forward secrecy and AEAD only.  TLS 1.3 suites are all AEAD. */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

static const unsigned char session_ctx[] = "secretd";

/* The reason OpenSSL gave, after what failed. */
static SSL_CTX *
tls_error(SSL_CTX *ctx, const char *what, char *err, size_t errlen)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s: %s", what, e ? buf : "unknown error");
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

/* The leaf first, then any chain certificates, as in a usual PEM file. */
static int
load_certs(SSL_CTX *ctx, const uint8_t *pem, size_t len, const char **what)
{
	BIO *bio;
	X509 *x;
	int rv = -1;

	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		*what = "BIO_new_mem_buf";
		return -1;
	}
	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		*what = "no certificate in tls_cert";
		goto done;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		*what = "SSL_CTX_use_certificate";
		X509_free(x);
		goto done;
	}
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			*what = "SSL_CTX_add0_chain_cert";
			X509_free(x);
			goto done;
		}
	ERR_clear_error();	/* the end of the PEM ends the loop */
	rv = 0;
done:
	BIO_free(bio);
	return rv;
}

static int
load_key(SSL_CTX *ctx, const uint8_t *pem, size_t len, const char **what)
{
	BIO *bio;
	EVP_PKEY *k;
	int rv;

	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		*what = "BIO_new_mem_buf";
		return -1;
	}
	k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (k == NULL) {
		*what = "no private key in tls_key";
		return -1;
	}
	rv = SSL_CTX_use_PrivateKey(ctx, k);
	EVP_PKEY_free(k);
	if (rv != 1) {
		*what = "SSL_CTX_use_PrivateKey";
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*what = "tls_key does not match tls_cert";
		return -1;
	}
	return 0;
}

/*
 * A server context for one certificate and key; NULL with the reason in
 * err.  The caller wipes the key PEM.
 */
static SSL_CTX *
tls_ctx_build(const uint8_t *cert, size_t certlen, const uint8_t *key,
    size_t keylen, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	const char *what = NULL;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return tls_error(NULL, "SSL_CTX_new", err, errlen);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		return tls_error(ctx, "SSL_CTX_set_min_proto_version", err,
		    errlen);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1)
		return tls_error(ctx, "SSL_CTX_set_cipher_list", err, errlen);
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	/* Resumption: tickets (on by default) and the server-side cache. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	if (SSL_CTX_set_session_id_context(ctx, session_ctx,
	    sizeof(session_ctx) - 1) != 1)
		return tls_error(ctx, "SSL_CTX_set_session_id_context", err,
		    errlen);
	if (load_certs(ctx, cert, certlen, &what) == -1 ||
	    load_key(ctx, key, keylen, &what) == -1)
		return tls_error(ctx, what, err, errlen);
	return ctx;
}

/*
 * NULL for a pair OpenSSL refuses (its security level, say): the daemon
 * then serves its socket without TLS, rather than a front-end dying at
 * every start over files that changed on disk since the daemon's start.
 */
SSL_CTX *
tls_ctx_new(struct fe_config *conf)
{
	SSL_CTX *ctx;
	unsigned char seed[1];
	char err[320];

	ctx = tls_ctx_build(conf->cert_pem, conf->cert_len, conf->key_pem,
	    conf->key_len, err, sizeof(err));
	OPENSSL_cleanse(conf->key_pem, conf->key_len);
	free(conf->key_pem);
	conf->key_pem = NULL;
	conf->key_len = 0;
	if (ctx == NULL) {
		log_warnx("tls: %s; the TLS listener is not served", err);
		return NULL;
	}
	/* Seed the generator while files and every syscall are still there. */
	if (RAND_bytes(seed, sizeof(seed)) != 1)
		fatalx("tls: RAND_bytes failed");
	return ctx;
}

/*
 * A new certificate and key after a reload, for new handshakes only:
 * connections already open keep the context they started with (each
 * holds a reference).  A pair that does not load leaves the old one.
 */
void
tls_reload(const uint8_t *cert, size_t certlen, const uint8_t *key,
    size_t keylen)
{
	SSL_CTX *ctx;
	char err[320];

	if ((ctx = tls_ctx_build(cert, certlen, key, keylen, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s: the new certificate was not taken, the old "
		    "one is still served: %s", __func__, err);
		return;
	}
	if (conn_tls_swap(ctx) == -1) {
		SSL_CTX_free(ctx);
		return;
	}
	log_info("%s: new TLS handshakes present the new certificate",
	    __func__);
}
