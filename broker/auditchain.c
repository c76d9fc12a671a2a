/*
 * The audit log's hash chain: its key, the keyed hash of one line, and
 * the fixed frame every line is written in, which is all that the
 * writer's restart and `secretd audit verify` read back.  The broker
 * parses no JSON: a line's fields between the frame's two ends are
 * authenticated by the chain, never interpreted.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "broker.h"

#define TIME_HEAD	"{\"time\":\""
#define SEQ_HEAD	"\",\"seq\":"
#define START_HEAD	"\"op\":\"chain_start\",\"previous\":"
#define CHAIN_HEAD	",\"chain\":\""
#define CHAIN_TAIL	"\"}"

/*
 * A guarded, read-only copy of the chain key (the store's: see
 * store_audit_key), which the writer and verify keep while they run.
 */
uint8_t *
auditchain_key(const uint8_t *audit_key)
{
	uint8_t *k;

	if ((k = sodium_malloc(AUDIT_KEY_LEN)) == NULL)
		return NULL;
	memcpy(k, audit_key, AUDIT_KEY_LEN);
	sodium_mprotect_readonly(k);
	return k;
}

/*
 * A line's chain value: the keyed hash of the previous line's value and
 * this line as a JSON object without its chain field, so that a line
 * cannot be changed, dropped, added or moved without the key.
 */
void
auditchain_hash(const uint8_t *key, const uint8_t prev[AUDIT_HASH_LEN],
    const char *body, size_t body_len, uint8_t out[AUDIT_HASH_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, AUDIT_KEY_LEN, AUDIT_HASH_LEN);
	crypto_generichash_update(&st, prev, AUDIT_HASH_LEN);
	crypto_generichash_update(&st, (const uint8_t *)body, body_len);
	crypto_generichash_update(&st, (const uint8_t *)"}", 1);
	crypto_generichash_final(&st, out, AUDIT_HASH_LEN);
}

static int
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
hex_value(const char *s, uint8_t out[AUDIT_HASH_LEN])
{
	if (!is_hex(s, 2 * AUDIT_HASH_LEN))
		return -1;
	return sodium_hex2bin(out, AUDIT_HASH_LEN, s, 2 * AUDIT_HASH_LEN,
	    NULL, NULL, NULL);
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" as audit.c writes it. */
static int
is_time(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	for (i = 0; i < AUDIT_TIME_LEN; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' :
		    s[i] != shape[i])
			return 0;
	return 1;
}

/*
 * One line, without its newline, into its frame: the time and sequence
 * number at its start, the chain start's previous value, and the chain
 * value at its end.  -1: the line is not in the frame at all.
 */
int
auditchain_parse(const char *s, size_t n, struct audit_line *l)
{
	const char *p, *end = s + n;
	size_t tail = sizeof(CHAIN_HEAD) - 1 + 2 * AUDIT_HASH_LEN +
	    sizeof(CHAIN_TAIL) - 1;
	uint64_t seq = 0;
	size_t digits = 0;

	memset(l, 0, sizeof(*l));
	if (n < sizeof(TIME_HEAD) - 1 + AUDIT_TIME_LEN + tail ||
	    memcmp(s, TIME_HEAD, sizeof(TIME_HEAD) - 1) != 0)
		return -1;
	p = s + sizeof(TIME_HEAD) - 1;
	if (!is_time(p))
		return -1;
	memcpy(l->time, p, AUDIT_TIME_LEN);
	p += AUDIT_TIME_LEN;
	if ((size_t)(end - p) < sizeof(SEQ_HEAD) - 1 + tail ||
	    memcmp(p, SEQ_HEAD, sizeof(SEQ_HEAD) - 1) != 0)
		return -1;
	for (p += sizeof(SEQ_HEAD) - 1; p < end && *p >= '0' && *p <= '9';
	    p++) {
		if (++digits > 19 || (digits > 1 && seq == 0))
			return -1;
		seq = seq * 10 + (uint64_t)(*p - '0');
	}
	if (digits == 0 || p >= end || *p++ != ',')
		return -1;
	l->seq = seq;
	l->body = s;
	l->body_len = n - tail;
	if (l->body + l->body_len < p ||
	    memcmp(s + l->body_len, CHAIN_HEAD, sizeof(CHAIN_HEAD) - 1) != 0 ||
	    hex_value(s + l->body_len + sizeof(CHAIN_HEAD) - 1, l->chain) ==
	    -1 || memcmp(end - (sizeof(CHAIN_TAIL) - 1), CHAIN_TAIL,
	    sizeof(CHAIN_TAIL) - 1) != 0)
		return -1;
	if ((size_t)(s + l->body_len - p) >= sizeof(START_HEAD) - 1 &&
	    memcmp(p, START_HEAD, sizeof(START_HEAD) - 1) == 0) {
		l->is_start = 1;
		p += sizeof(START_HEAD) - 1;
		if (s + l->body_len - p >= 4 && memcmp(p, "null", 4) == 0)
			return 0;
		if (s + l->body_len - p < 2 + 2 * AUDIT_HASH_LEN ||
		    *p != '"' || p[1 + 2 * AUDIT_HASH_LEN] != '"' ||
		    hex_value(p + 1, l->previous) == -1)
			return -1;
		l->has_previous = 1;
	}
	return 0;
}

/* Whether l follows a line whose chain value is prev. */
int
auditchain_follows(const uint8_t *key, const uint8_t prev[AUDIT_HASH_LEN],
    const struct audit_line *l)
{
	uint8_t h[AUDIT_HASH_LEN];

	auditchain_hash(key, prev, l->body, l->body_len, h);
	return sodium_memcmp(h, l->chain, AUDIT_HASH_LEN) == 0;
}

/* What a chain start record chains from: its previous value, or zeros. */
void
auditchain_start_prev(const struct audit_line *l,
    uint8_t prev[AUDIT_HASH_LEN])
{
	if (l->has_previous)
		memcpy(prev, l->previous, AUDIT_HASH_LEN);
	else
		memset(prev, 0, AUDIT_HASH_LEN);
}
