/*
 * Record formats and sealing for the broker's store: storage keys, the
 * encoded metadata, sealed values and wrapped data keys.  Decoding is
 * strict (every length checked, no bytes left over); nothing here ever
 * copies a plaintext value anywhere but the caller's buffer.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "proto.h"
#include "seal.h"

#define AD_MAX		(2 + SKEY_MAX + 3 + META_ENC_MAX + 4)
#define WRAP_AD		"secretd data key"
#define TOKEN_FORMAT_V1	1	/* before tokens knew their parent */
#define TOKEN_FORMAT_V2	2	/* before tokens had scopes */
#define TOKEN_FORMAT	3

struct wbuf {
	uint8_t		*p;
	size_t		 len;
	size_t		 cap;
	int		 err;
};

struct rbuf {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
};

static void
w_bytes(struct wbuf *w, const void *src, size_t n)
{
	if (w->err || n > w->cap - w->len) {
		w->err = 1;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void
w_u8(struct wbuf *w, uint8_t v)
{
	w_bytes(w, &v, 1);
}

static void
w_be(struct wbuf *w, uint64_t v, size_t n)
{
	uint8_t b[8];
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = v >> (8 * (n - 1 - i));
	w_bytes(w, b, n);
}

/* u16 length, then the bytes without a terminator */
static void
w_str(struct wbuf *w, const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max) {
		w->err = 1;
		return;
	}
	w_be(w, n, 2);
	w_bytes(w, s, n);
}

static const uint8_t *
r_bytes(struct rbuf *r, size_t n)
{
	const uint8_t *p;

	if (r->p == NULL || n > r->len - r->off) {
		r->p = NULL;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint64_t
r_be(struct rbuf *r, size_t n)
{
	const uint8_t *b = r_bytes(r, n);
	uint64_t v = 0;
	size_t i;

	for (i = 0; b != NULL && i < n; i++)
		v = (v << 8) | b[i];
	return v;
}

/* Refuses strings longer than max and strings holding a NUL. */
static void
r_str(struct rbuf *r, char *dst, size_t max)
{
	size_t n = r_be(r, 2);
	const uint8_t *b;

	if (r->p != NULL && n > max)
		r->p = NULL;
	if ((b = r_bytes(r, n)) == NULL || memchr(b, '\0', n) != NULL) {
		r->p = NULL;
		dst[0] = '\0';
		return;
	}
	memcpy(dst, b, n);
	dst[n] = '\0';
}

static int
r_done(const struct rbuf *r)
{
	return r->p != NULL && r->off == r->len;
}

static int
valid_owner(int scope, const char *owner)
{
	if (scope == SCOPE_ORG)
		return owner == NULL || owner[0] == '\0';
	return scope == SCOPE_USER && owner != NULL &&
	    valid_id(owner, strlen(owner));
}

int
skey_prefix(struct skey *k, const char *org, int scope, const char *owner)
{
	struct wbuf w = { k->buf, 0, sizeof(k->buf), 0 };

	if (org == NULL || !valid_id(org, strlen(org)))
		return -1;
	w_bytes(&w, org, strlen(org) + 1);
	if (scope != -1) {
		if (scope != SCOPE_USER && scope != SCOPE_ORG)
			return -1;
		w_u8(&w, scope == SCOPE_ORG ? SKEY_SCOPE_ORG :
		    SKEY_SCOPE_USER);
		w_u8(&w, '\0');
		if (owner != NULL || scope == SCOPE_ORG) {
			if (!valid_owner(scope, owner))
				return -1;
			w_bytes(&w, scope == SCOPE_ORG ? "" : owner,
			    scope == SCOPE_ORG ? 1 : strlen(owner) + 1);
		}
	}
	k->len = w.len;
	return w.err ? -1 : 0;
}

int
skey_build(struct skey *k, const char *org, int scope, const char *owner,
    const char *name)
{
	struct wbuf w = { k->buf, 0, sizeof(k->buf), 0 };

	if (scope == -1 || name == NULL ||
	    !valid_secret_name(name, strnlen(name, NAME_MAX_LEN + 1)) ||
	    !valid_owner(scope, owner))
		return -1;
	if (skey_prefix(k, org, scope, scope == SCOPE_ORG ? "" : owner) == -1)
		return -1;
	w.len = k->len;
	w_bytes(&w, name, strlen(name));
	k->len = w.len;
	return w.err ? -1 : 0;
}

int
skey_of_meta(struct skey *k, const struct secret_meta *m)
{
	return skey_build(k, m->org_id, m->scope, m->user_id, m->name);
}

/* Splits a storage key into org, scope, owner and name, all validated. */
int
skey_parse(const uint8_t *p, size_t len, struct secret_meta *m)
{
	char part[4][NAME_MAX_LEN + 1];
	size_t i, start = 0, np = 0;

	for (i = 0; i <= len && np < 4; i++) {
		if (i < len && p[i] != '\0')
			continue;
		if (i - start > NAME_MAX_LEN)
			return -1;
		memcpy(part[np], p + start, i - start);
		part[np++][i - start] = '\0';
		start = i + 1;
	}
	if (np != 4 || i != len + 1 || strlen(part[1]) != 1 ||
	    strlen(part[0]) > ID_MAX_LEN || strlen(part[2]) > ID_MAX_LEN)
		return -1;
	if (part[1][0] == SKEY_SCOPE_ORG)
		m->scope = SCOPE_ORG;
	else if (part[1][0] == SKEY_SCOPE_USER)
		m->scope = SCOPE_USER;
	else
		return -1;
	if (!valid_id(part[0], strlen(part[0])) ||
	    !valid_owner(m->scope, part[2]) ||
	    !valid_secret_name(part[3], strlen(part[3])))
		return -1;
	memcpy(m->org_id, part[0], strlen(part[0]) + 1);
	memcpy(m->user_id, part[2], strlen(part[2]) + 1);
	memcpy(m->name, part[3], strlen(part[3]) + 1);
	return 0;
}

size_t
meta_encode(const struct secret_meta *m, uint8_t *out, size_t cap)
{
	struct wbuf w = { out, 0, cap, 0 };

	w_u8(&w, m->scope);
	w_str(&w, m->name, NAME_MAX_LEN);
	w_str(&w, m->org_id, ID_MAX_LEN);
	w_str(&w, m->user_id, ID_MAX_LEN);
	w_str(&w, m->category, CATEGORY_MAX_LEN);
	w_str(&w, m->description, DESC_MAX_LEN);
	w_be(&w, m->version, 4);
	w_be(&w, m->created_at, 8);
	w_be(&w, m->updated_at, 8);
	w_str(&w, m->created_by, ID_MAX_LEN);
	w_str(&w, m->updated_by, ID_MAX_LEN);
	/* Only when set: a secret without one keeps the older layout. */
	if (m->expires_at != 0)
		w_be(&w, m->expires_at, 8);
	return w.err ? 0 : w.len;
}

int
meta_decode(const uint8_t *p, size_t len, struct secret_meta *m)
{
	struct rbuf r = { p, len, 0 };

	memset(m, 0, sizeof(*m));
	m->scope = r_be(&r, 1);
	r_str(&r, m->name, NAME_MAX_LEN);
	r_str(&r, m->org_id, ID_MAX_LEN);
	r_str(&r, m->user_id, ID_MAX_LEN);
	r_str(&r, m->category, CATEGORY_MAX_LEN);
	r_str(&r, m->description, DESC_MAX_LEN);
	m->version = r_be(&r, 4);
	m->created_at = r_be(&r, 8);
	m->updated_at = r_be(&r, 8);
	r_str(&r, m->created_by, ID_MAX_LEN);
	r_str(&r, m->updated_by, ID_MAX_LEN);
	/* A secret without an expiry ends here; one with it has 8 bytes
	 * more, never 0, so each metadata has exactly one encoding. */
	if (r.off + 8 == r.len && (m->expires_at = r_be(&r, 8)) == 0)
		return -1;
	if (!r_done(&r) || m->expires_at > EXPIRES_MAX || m->version == 0 || !valid_category(m->category) ||
	    !valid_id(m->created_by, strlen(m->created_by)) ||
	    !valid_id(m->updated_by, strlen(m->updated_by)))
		return -1;
	return 0;
}

size_t
record_len(size_t meta_len, size_t value_len)
{
	return RECORD_OVERHEAD + meta_len + value_len;
}

/* Writes the record's parts at their places in out (record_len bytes). */
void
record_layout(uint8_t *out, const uint8_t *meta_enc, size_t meta_len,
    uint32_t key_id, const uint8_t *nonce, const uint8_t *ct, size_t ct_len)
{
	struct wbuf w = { out, 0, record_len(meta_len, ct_len - SEAL_TAG_LEN),
	    0 };

	w_u8(&w, RECORD_FORMAT);
	w_be(&w, meta_len, 2);
	w_bytes(&w, meta_enc, meta_len);
	w_be(&w, key_id, 4);
	w_bytes(&w, nonce, SEAL_NONCE_LEN);
	if (ct != NULL)
		w_bytes(&w, ct, ct_len);
}

/* The additional data: u16 storage key length, storage key, header. */
static size_t
record_ad(uint8_t *ad, const uint8_t *skey, size_t skey_len,
    const uint8_t *hdr, size_t hdr_len)
{
	struct wbuf w = { ad, 0, AD_MAX, 0 };

	w_be(&w, skey_len, 2);
	w_bytes(&w, skey, skey_len);
	w_bytes(&w, hdr, hdr_len);
	return w.err ? 0 : w.len;
}

/* out holds record_len(meta_len, value_len) bytes, e.g. an MDB_RESERVE. */
void
record_seal(uint8_t *out, const struct skey *k, const uint8_t *meta_enc,
    size_t meta_len, uint32_t key_id, const uint8_t *key,
    const uint8_t *value, size_t value_len)
{
	uint8_t nonce[SEAL_NONCE_LEN], ad[AD_MAX];
	size_t hdr_len = 3 + meta_len + 4, ad_len;

	randombytes_buf(nonce, sizeof(nonce));
	record_layout(out, meta_enc, meta_len, key_id, nonce, NULL,
	    value_len + SEAL_TAG_LEN);
	ad_len = record_ad(ad, k->buf, k->len, out, hdr_len);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + hdr_len +
	    SEAL_NONCE_LEN, NULL, value, value_len, ad, ad_len, NULL, nonce,
	    key);
}

/*
 * Splits a stored record and checks that its metadata names the storage
 * key it is stored under.  Nothing is authenticated yet: record_open.
 */
int
record_parse(const uint8_t *p, size_t len, const uint8_t *skey,
    size_t skey_len, struct record_view *v)
{
	struct rbuf r = { p, len, 0 };
	struct skey k;

	if (r_be(&r, 1) != RECORD_FORMAT)
		return -1;
	v->meta_len = r_be(&r, 2);
	if ((v->meta_enc = r_bytes(&r, v->meta_len)) == NULL ||
	    meta_decode(v->meta_enc, v->meta_len, &v->meta) == -1)
		return -1;
	v->key_id = r_be(&r, 4);
	v->hdr = p;
	v->hdr_len = r.off;
	if ((v->nonce = r_bytes(&r, SEAL_NONCE_LEN)) == NULL)
		return -1;
	v->ct = p + r.off;
	v->ct_len = len - r.off;
	if (v->ct_len <= SEAL_TAG_LEN ||
	    v->ct_len > VALUE_MAX_LEN + SEAL_TAG_LEN)
		return -1;
	if (skey_of_meta(&k, &v->meta) == -1 || k.len != skey_len ||
	    memcmp(k.buf, skey, skey_len) != 0)
		return -1;
	return 0;
}

/* Opens into out (ct_len - SEAL_TAG_LEN bytes); -1 if anything moved. */
int
record_open(const struct record_view *v, const uint8_t *skey,
    size_t skey_len, const uint8_t *key, uint8_t *out)
{
	uint8_t ad[AD_MAX];
	size_t ad_len;

	if ((ad_len = record_ad(ad, skey, skey_len, v->hdr, v->hdr_len)) == 0)
		return -1;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL,
	    v->ct, v->ct_len, ad, ad_len, v->nonce, key) == 0 ? 0 : -1;
}

/*
 * Authenticates a record without opening its value: the tag record_open
 * checks, over the same additional data and ciphertext, computed as the
 * XChaCha20-Poly1305 construction does (an HChaCha20 subkey, the Poly1305
 * key from the first ChaCha20 block, the tag over ad, padding,
 * ciphertext, padding and both lengths) but with no plaintext produced.
 * What reads only metadata (a list, a metadata get) uses this.
 */
int
record_verify(const struct record_view *v, const uint8_t *skey,
    size_t skey_len, const uint8_t *key)
{
	static const uint8_t zero[16];
	crypto_onetimeauth_poly1305_state ps;
	uint8_t subkey[crypto_core_hchacha20_OUTPUTBYTES];
	uint8_t npub[crypto_stream_chacha20_ietf_NONCEBYTES];
	uint8_t pkey[crypto_onetimeauth_poly1305_KEYBYTES];
	uint8_t tag[crypto_onetimeauth_poly1305_BYTES], lens[16], klen[2];
	size_t ad_len, clen, i;
	int rc;

	/* the additional data record_ad() lays out, fed in its parts */
	ad_len = 2 + skey_len + v->hdr_len;
	if (v->ct_len < SEAL_TAG_LEN || skey_len > UINT16_MAX ||
	    ad_len > AD_MAX)
		return -1;
	klen[0] = (uint8_t)(skey_len >> 8);
	klen[1] = (uint8_t)skey_len;
	clen = v->ct_len - SEAL_TAG_LEN;
	crypto_core_hchacha20(subkey, v->nonce, key, NULL);
	memset(npub, 0, 4);
	memcpy(npub + 4, v->nonce + crypto_core_hchacha20_INPUTBYTES,
	    sizeof(npub) - 4);
	crypto_stream_chacha20_ietf(pkey, sizeof(pkey), npub, subkey);
	crypto_onetimeauth_poly1305_init(&ps, pkey);
	crypto_onetimeauth_poly1305_update(&ps, klen, sizeof(klen));
	crypto_onetimeauth_poly1305_update(&ps, skey, skey_len);
	crypto_onetimeauth_poly1305_update(&ps, v->hdr, v->hdr_len);
	crypto_onetimeauth_poly1305_update(&ps, zero, (16 - ad_len % 16) % 16);
	crypto_onetimeauth_poly1305_update(&ps, v->ct, clen);
	crypto_onetimeauth_poly1305_update(&ps, zero, (16 - clen % 16) % 16);
	for (i = 0; i < 8; i++) {
		lens[i] = (uint8_t)((uint64_t)ad_len >> (8 * i));
		lens[8 + i] = (uint8_t)((uint64_t)clen >> (8 * i));
	}
	crypto_onetimeauth_poly1305_update(&ps, lens, sizeof(lens));
	crypto_onetimeauth_poly1305_final(&ps, tag);
	rc = crypto_verify_16(tag, v->ct + clen);
	sodium_memzero(subkey, sizeof(subkey));
	sodium_memzero(pkey, sizeof(pkey));
	sodium_memzero(&ps, sizeof(ps));
	return rc == 0 ? 0 : -1;
}

/* A token's parent is the token it was created with; "" for none. */
size_t
token_encode(const struct token_meta *t, const char *parent, uint8_t *out,
    size_t cap)
{
	struct wbuf w = { out, 0, cap, 0 };
	size_t i;

	w_u8(&w, TOKEN_FORMAT);
	w_str(&w, t->id, TOKEN_ID_LEN);
	w_str(&w, t->user_id, ID_MAX_LEN);
	w_str(&w, t->org_id, ID_MAX_LEN);
	w_u8(&w, t->role);
	w_str(&w, t->description, DESC_MAX_LEN);
	w_be(&w, t->created_at, 8);
	w_be(&w, t->expires_at, 8);
	w_str(&w, parent, TOKEN_ID_LEN);
	if (t->scopes.n > TOKEN_SCOPES_MAX)
		return 0;
	w_u8(&w, t->scopes.n);
	for (i = 0; i < t->scopes.n; i++)
		w_str(&w, t->scopes.tool[i], TOOL_NAME_MAX);
	return w.err ? 0 : w.len;
}

int
token_decode(const uint8_t *p, size_t len, struct token_meta *t,
    char parent[TOKEN_ID_LEN + 1])
{
	struct rbuf r = { p, len, 0 };
	uint64_t format;
	size_t plen, i;

	memset(t, 0, sizeof(*t));
	parent[0] = '\0';
	if ((format = r_be(&r, 1)) != TOKEN_FORMAT &&
	    format != TOKEN_FORMAT_V2 && format != TOKEN_FORMAT_V1)
		return -1;
	r_str(&r, t->id, TOKEN_ID_LEN);
	r_str(&r, t->user_id, ID_MAX_LEN);
	r_str(&r, t->org_id, ID_MAX_LEN);
	t->role = r_be(&r, 1);
	r_str(&r, t->description, DESC_MAX_LEN);
	t->created_at = r_be(&r, 8);
	t->expires_at = r_be(&r, 8);
	if (format != TOKEN_FORMAT_V1)
		r_str(&r, parent, TOKEN_ID_LEN);
	if (format == TOKEN_FORMAT) {
		if ((t->scopes.n = r_be(&r, 1)) > TOKEN_SCOPES_MAX)
			return -1;
		for (i = 0; i < t->scopes.n; i++)
			r_str(&r, t->scopes.tool[i], TOOL_NAME_MAX);
	}
	if (!r_done(&r) || !valid_token_meta(t))
		return -1;
	plen = strlen(parent);
	if (plen != 0 && !valid_token_id(parent, plen))
		return -1;
	return 0;
}

static void
wrap_ad(uint8_t ad[sizeof(WRAP_AD) + 4], uint32_t id)
{
	struct wbuf w = { ad, 0, sizeof(WRAP_AD) + 4, 0 };

	w_bytes(&w, WRAP_AD, sizeof(WRAP_AD));
	w_be(&w, id, 4);
}

/* A data key sealed under the wrapping key, bound to its id. */
void
datakey_wrap(uint8_t out[WRAPPED_KEY_LEN], uint32_t id,
    const uint8_t *wrap_key, const uint8_t *data_key)
{
	uint8_t ad[sizeof(WRAP_AD) + 4];

	wrap_ad(ad, id);
	out[0] = RECORD_FORMAT;
	randombytes_buf(out + 1, SEAL_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + SEAL_NONCE_LEN,
	    NULL, data_key, DATA_KEY_LEN, ad, sizeof(ad), NULL, out + 1,
	    wrap_key);
}

int
datakey_unwrap(uint8_t *data_key, uint32_t id, const uint8_t *wrap_key,
    const uint8_t *in, size_t len)
{
	uint8_t ad[sizeof(WRAP_AD) + 4];

	if (len != WRAPPED_KEY_LEN || in[0] != RECORD_FORMAT)
		return -1;
	wrap_ad(ad, id);
	return crypto_aead_xchacha20poly1305_ietf_decrypt(data_key, NULL,
	    NULL, in + 1 + SEAL_NONCE_LEN, len - 1 - SEAL_NONCE_LEN, ad,
	    sizeof(ad), in + 1, wrap_key) == 0 ? 0 : -1;
}
