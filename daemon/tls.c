/*
 * The TLS server context, built from the PEMs the broker sent, before the
 * privilege drop.  The key PEM is wiped as soon as OpenSSL holds the key;
 * no weaker protocol or cipher than below is ever enabled.
 */
#include "config.h"

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

static void
tls_fatal(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	fatalx("tls: %s: %s", what, e ? buf : "unknown error");
}

/* The leaf first, then any chain certificates, as in a usual PEM file. */
static void
load_certs(SSL_CTX *ctx, const uint8_t *pem, size_t len)
{
	BIO *bio;
	X509 *x;

	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		tls_fatal("BIO_new_mem_buf");
	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
		tls_fatal("no certificate in tls_cert");
	if (SSL_CTX_use_certificate(ctx, x) != 1)
		tls_fatal("SSL_CTX_use_certificate");
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1)
			tls_fatal("SSL_CTX_add0_chain_cert");
	ERR_clear_error();	/* the end of the PEM ends the loop */
	BIO_free(bio);
}

static void
load_key(SSL_CTX *ctx, const uint8_t *pem, size_t len)
{
	BIO *bio;
	EVP_PKEY *k;

	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		tls_fatal("BIO_new_mem_buf");
	if ((k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL)
		tls_fatal("no private key in tls_key");
	BIO_free(bio);
	if (SSL_CTX_use_PrivateKey(ctx, k) != 1)
		tls_fatal("SSL_CTX_use_PrivateKey");
	EVP_PKEY_free(k);
	if (SSL_CTX_check_private_key(ctx) != 1)
		tls_fatal("tls_key does not match tls_cert");
}

SSL_CTX *
tls_ctx_new(struct fe_config *conf)
{
	SSL_CTX *ctx;
	unsigned char seed[1];

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		tls_fatal("SSL_CTX_new");
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		tls_fatal("SSL_CTX_set_min_proto_version");
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1)
		tls_fatal("SSL_CTX_set_cipher_list");
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	/* Resumption: tickets (on by default) and the server-side cache. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	if (SSL_CTX_set_session_id_context(ctx, session_ctx,
	    sizeof(session_ctx) - 1) != 1)
		tls_fatal("SSL_CTX_set_session_id_context");
	load_certs(ctx, conf->cert_pem, conf->cert_len);
	load_key(ctx, conf->key_pem, conf->key_len);
	OPENSSL_cleanse(conf->key_pem, conf->key_len);
	free(conf->key_pem);
	conf->key_pem = NULL;
	conf->key_len = 0;
	/* Seed the generator while files and every syscall are still there. */
	if (RAND_bytes(seed, sizeof(seed)) != 1)
		tls_fatal("RAND_bytes");
	return ctx;
}
