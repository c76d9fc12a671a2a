/*
 * Whether the TLS certificate and key files make a pair the front-end can
 * serve.  The broker reads them for every front-end it starts and for a
 * reload; checking here keeps a pair that will not load from reaching a
 * front-end, which would die on it at every start until the broker gave
 * up and the whole daemon exited.
 */
#include "config.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "broker.h"

/* An encrypted key is never prompted for: the daemon has no terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/* 0, or -1 with *why saying what is wrong with the pair. */
int
tls_pair_check(const uint8_t *cert, size_t certlen, const uint8_t *key,
    size_t keylen, const char **why)
{
	BIO *bio;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;

	if ((bio = BIO_new_mem_buf(cert, (int)certlen)) != NULL) {
		x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	if ((bio = BIO_new_mem_buf(key, (int)keylen)) != NULL) {
		k = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	if (x == NULL)
		*why = "no certificate in tls_cert";
	else if (k == NULL)
		*why = "no private key in tls_key";
	else if (X509_check_private_key(x, k) != 1)
		*why = "tls_key does not match tls_cert";
	else
		*why = NULL;
	X509_free(x);
	EVP_PKEY_free(k);
	ERR_clear_error();
	return *why == NULL ? 0 : -1;
}
