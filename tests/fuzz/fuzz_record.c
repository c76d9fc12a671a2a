/*
 * Fuzz target "record": the broker's stored bytes read back from the
 * store, which an attacker with write access to the state folder could
 * have shaped: storage keys (skey_parse), secret metadata (meta_decode),
 * whole records (record_parse, against the storage key they claim) and
 * token records (token_decode).  Input: one byte choosing the decoder,
 * then its bytes; for a record, a length byte and the storage key come
 * first.  Whatever decodes must encode back to the same bytes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "seal.h"
#include "fuzz.h"

static void
fuzz_skey(const uint8_t *p, size_t n)
{
	struct secret_meta m;
	struct skey k;

	memset(&m, 0, sizeof(m));
	if (skey_parse(p, n, &m) == -1)
		return;
	if (skey_of_meta(&k, &m) == -1 || k.len != n ||
	    memcmp(k.buf, p, n) != 0)
		abort();
}

static void
fuzz_meta(const uint8_t *p, size_t n)
{
	uint8_t enc[META_ENC_MAX];
	struct secret_meta m;
	size_t len;

	if (meta_decode(p, n, &m) == -1)
		return;
	if ((len = meta_encode(&m, enc, sizeof(enc))) != n ||
	    memcmp(enc, p, n) != 0)
		abort();
}

static void
fuzz_record(const uint8_t *p, size_t n)
{
	static const uint8_t key[DATA_KEY_LEN];
	struct record_view v;
	uint8_t *out;
	size_t klen;

	if (n < 1 || (klen = p[0]) > n - 1)
		return;
	if (record_parse(p + 1 + klen, n - 1 - klen, p + 1, klen, &v) == -1)
		return;
	if (v.ct_len <= SEAL_TAG_LEN || v.meta_len > n ||
	    v.ct + v.ct_len != p + n)
		abort();
	/* A forged record must not open under a key it was not sealed with. */
	if ((out = malloc(v.ct_len - SEAL_TAG_LEN)) == NULL)
		return;
	/* Checking the tag alone agrees with opening the value. */
	if ((record_open(&v, p + 1, klen, key, out) == 0) !=
	    (record_verify(&v, p + 1, klen, key) == 0))
		abort();
	free(out);
}

static void
fuzz_token(const uint8_t *p, size_t n)
{
	char parent[TOKEN_ID_LEN + 1];
	uint8_t enc[TOKEN_ENC_MAX];
	struct token_meta t;
	size_t len;

	if (token_decode(p, n, &t, parent) == -1)
		return;
	if (!valid_token_meta(&t) || strlen(parent) > TOKEN_ID_LEN)
		abort();
	if ((len = token_encode(&t, parent, enc, sizeof(enc))) == 0)
		abort();
	/* An old-format record is rewritten in the new format. */
	if (p[0] == enc[0] && (len != n || memcmp(enc, p, n) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_skey(data + 1, size - 1);
		break;
	case 1:
		fuzz_meta(data + 1, size - 1);
		break;
	case 2:
		fuzz_record(data + 1, size - 1);
		break;
	case 3:
		fuzz_token(data + 1, size - 1);
		break;
	}
	return 0;
}
