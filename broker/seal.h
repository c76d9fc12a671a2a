/*
 * The byte formats of the broker's store and the sealing of values: storage
 * keys, record and token encodings, data-key wrapping.  Pure functions over
 * buffers; nothing here touches LMDB, files or logs a value.
 */
#ifndef SECRETD_SEAL_H
#define SECRETD_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "proto.h"

#define DATA_KEY_LEN	crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define SEAL_NONCE_LEN	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_TAG_LEN	crypto_aead_xchacha20poly1305_ietf_ABYTES

/* org \0 scope \0 owner \0 name; the scope byte sorts org before user */
#define SKEY_MAX	(ID_MAX_LEN + 3 + ID_MAX_LEN + 1 + NAME_MAX_LEN)
#define SKEY_SCOPE_ORG	'o'
#define SKEY_SCOPE_USER	'u'

/* Generous upper bound of an encoded secret_meta (1458 bytes today). */
#define META_ENC_MAX	1536
/* 1212 bytes before scopes, then 1 + 32 * (2 + 64) */
#define TOKEN_ENC_MAX	3584

/* format byte, u16 meta length, meta, u32 key id, nonce, ciphertext */
#define RECORD_FORMAT	1
#define RECORD_OVERHEAD	(1 + 2 + 4 + SEAL_NONCE_LEN + SEAL_TAG_LEN)

/* format byte, nonce, sealed key */
#define WRAPPED_KEY_LEN	(1 + SEAL_NONCE_LEN + DATA_KEY_LEN + SEAL_TAG_LEN)

struct skey {
	uint8_t		 buf[SKEY_MAX];
	size_t		 len;
};

/* A record split into its parts; pointers are into the parsed buffer. */
struct record_view {
	const uint8_t	*hdr;		/* format .. key id: bound as AD */
	size_t		 hdr_len;
	const uint8_t	*meta_enc;
	size_t		 meta_len;
	uint32_t	 key_id;
	const uint8_t	*nonce;
	const uint8_t	*ct;
	size_t		 ct_len;
	struct secret_meta meta;
};

/* seal.c */
int	 skey_build(struct skey *, const char *org, int scope,
	    const char *owner, const char *name);
int	 skey_prefix(struct skey *, const char *org, int scope,
	    const char *owner);
int	 skey_parse(const uint8_t *, size_t, struct secret_meta *);
int	 skey_of_meta(struct skey *, const struct secret_meta *);
size_t	 meta_encode(const struct secret_meta *, uint8_t *, size_t);
int	 meta_decode(const uint8_t *, size_t, struct secret_meta *);
size_t	 record_len(size_t meta_len, size_t value_len);
void	 record_layout(uint8_t *, const uint8_t *meta_enc, size_t meta_len,
	    uint32_t key_id, const uint8_t *nonce, const uint8_t *ct,
	    size_t ct_len);
void	 record_seal(uint8_t *, const struct skey *, const uint8_t *meta_enc,
	    size_t meta_len, uint32_t key_id, const uint8_t *key,
	    const uint8_t *value, size_t value_len);
int	 record_parse(const uint8_t *, size_t, const uint8_t *skey,
	    size_t skey_len, struct record_view *);
int	 record_open(const struct record_view *, const uint8_t *skey,
	    size_t skey_len, const uint8_t *key, uint8_t *out);
int	 record_verify(const struct record_view *, const uint8_t *skey,
	    size_t skey_len, const uint8_t *key);
size_t	 token_encode(const struct token_meta *, const char *parent,
	    uint8_t *, size_t);
int	 token_decode(const uint8_t *, size_t, struct token_meta *,
	    char parent[TOKEN_ID_LEN + 1]);
void	 datakey_wrap(uint8_t out[WRAPPED_KEY_LEN], uint32_t id,
	    const uint8_t *wrap_key, const uint8_t *data_key);
int	 datakey_unwrap(uint8_t *data_key, uint32_t id,
	    const uint8_t *wrap_key, const uint8_t *in, size_t len);

#endif
