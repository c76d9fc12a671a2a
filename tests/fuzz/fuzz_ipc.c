/*
 * Fuzz target "ipc": one datagram as the broker receives it from a
 * front-end that may be hostile, through ipc_parse() and the typed
 * getters in the field order proto.h gives each message type (and each
 * reply shape the front-end reads).  The header's length is also patched
 * to the input's, so that the fields are reached and not only the frame
 * check.  Every decoded record must encode back to the same record.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "proto.h"
#include "fuzz.h"

/*
 * One letter a field: b u8, w u32, q u64, s str, S str into a name-sized
 * buffer, y bytes, A auth block, M meta, T token meta, N and K a u32
 * count then that many metas or token metas.
 */
static const char *const requests[IMSG_MAX] = {
	[IMSG_HELLO] = "w",
	[IMSG_CONFIG] = "ssbyywwwwb",
	[IMSG_CONN_UNIX] = "",
	[IMSG_CONN_CLOSE] = "q",
	[IMSG_SECRET_LIST] = "AbssSws",
	[IMSG_SECRET_PUT] = "ASysbsbs",
	[IMSG_SECRET_GET] = "ASbs",
	[IMSG_SECRET_REVEAL] = "ASbs",
	[IMSG_SECRET_DELETE] = "ASbs",
	[IMSG_TOKEN_CREATE] = "Absq",
	[IMSG_TOKEN_LIST] = "Aws",
	[IMSG_TOKEN_REVOKE] = "As",
	[IMSG_PING] = "",
};

/* Replies: u32 status, str message, then one of these. */
static const char *const replies[] = {
	"", "qsb", "Ns", "bM", "M", "My", "sb", "sT", "Ks", "T",
	"ssbyywwwwb"
};
#define NREPLIES	(sizeof(replies) / sizeof(replies[0]))

static void
check_meta(const struct secret_meta *m)
{
	struct secret_meta m2;
	struct ipc_msg w;
	struct ipc_reader r;

	ipc_msg_init(&w, IMSG_REPLY, 0);
	proto_put_meta(&w, m);
	if (ipc_msg_finish(&w) == -1 || ipc_parse(w.buf, w.len, &r) == -1 ||
	    proto_get_meta(&r, &m2) == -1 || ipc_end(&r) == -1 ||
	    memcmp(m, &m2, sizeof(m2)) != 0)
		abort();
	ipc_msg_free(&w);
}

static void
check_token(const struct token_meta *t)
{
	struct token_meta t2;
	struct ipc_msg w;
	struct ipc_reader r;

	ipc_msg_init(&w, IMSG_REPLY, 0);
	proto_put_token_meta(&w, t);
	if (ipc_msg_finish(&w) == -1 || ipc_parse(w.buf, w.len, &r) == -1 ||
	    proto_get_token_meta(&r, &t2) == -1 || ipc_end(&r) == -1 ||
	    memcmp(t, &t2, sizeof(t2)) != 0)
		abort();
	ipc_msg_free(&w);
}

static int
get_str(struct ipc_reader *r)
{
	const char *s;
	size_t n;

	if (ipc_get_str(r, &s, &n) == -1)
		return -1;
	if (strlen(s) != n || (const uint8_t *)s + n >= r->buf + r->len)
		abort();
	return 0;
}

static int
get_auth(struct ipc_reader *r)
{
	uint64_t session;
	uint8_t kind;

	if (ipc_get_u8(r, &kind) == -1)
		return -1;
	if (kind == AUTH_TOKEN && get_str(r) == -1)
		return -1;
	if ((kind != AUTH_SESSION && kind != AUTH_TOKEN) ||
	    ipc_get_u64(r, &session) == -1)
		return -1;
	return get_str(r);
}

static int
get_list(struct ipc_reader *r, int tokens)
{
	struct secret_meta m;
	struct token_meta t;
	uint32_t i, n;

	if (ipc_get_u32(r, &n) == -1 || n > LIST_MAX_LIMIT)
		return -1;
	for (i = 0; i < n; i++) {
		if (tokens) {
			if (proto_get_token_meta(r, &t) == -1)
				return -1;
			check_token(&t);
		} else {
			if (proto_get_meta(r, &m) == -1)
				return -1;
			check_meta(&m);
		}
	}
	return 0;
}

static int
get_field(struct ipc_reader *r, char f)
{
	char name[NAME_MAX_LEN + 1];
	struct secret_meta m;
	struct token_meta t;
	const void *p;
	uint64_t q;
	uint32_t w;
	uint8_t b;
	size_t n;

	switch (f) {
	case 'b':
		return ipc_get_u8(r, &b);
	case 'w':
		return ipc_get_u32(r, &w);
	case 'q':
		return ipc_get_u64(r, &q);
	case 's':
		return get_str(r);
	case 'S':
		if (ipc_get_strbuf(r, name, sizeof(name)) == -1)
			return -1;
		if (strlen(name) > NAME_MAX_LEN)
			abort();
		return 0;
	case 'y':
		if (ipc_get_bytes(r, &p, &n) == -1)
			return -1;
		if ((const uint8_t *)p + n > r->buf + r->len)
			abort();
		return 0;
	case 'A':
		return get_auth(r);
	case 'M':
		if (proto_get_meta(r, &m) == -1)
			return -1;
		check_meta(&m);
		return 0;
	case 'T':
		if (proto_get_token_meta(r, &t) == -1)
			return -1;
		check_token(&t);
		return 0;
	case 'N':
	case 'K':
		return get_list(r, f == 'K');
	}
	abort();
}

static void
walk(struct ipc_reader *r, const char *fields)
{
	size_t off;

	for (; *fields != '\0'; fields++) {
		off = r->off;
		if (get_field(r, *fields) == -1) {
			/* A failed getter of a plain field moves nothing. */
			if (strchr("bwqsSy", *fields) != NULL && r->off != off)
				abort();
			return;
		}
		if (r->off > r->len)
			abort();
	}
	ipc_end(r);
}

/* Any order of getters: the id's bits choose them. */
static void
walk_any(struct ipc_reader *r)
{
	static const char getters[8] = "bwqsSyMT";
	uint32_t bits = r->hdr.id;
	int i;

	for (i = 0; i < 10; i++, bits >>= 3)
		if (get_field(r, getters[bits & 7]) == -1)
			break;
	ipc_end(r);
}

static void
one(const uint8_t *buf, size_t size)
{
	struct ipc_reader r;
	uint32_t status;

	if (ipc_parse(buf, size, &r) == -1)
		return;
	if (r.hdr.len != size || r.off != IPC_HDR_LEN)
		abort();
	if (r.hdr.type == IMSG_REPLY) {
		if (ipc_get_u32(&r, &status) == 0 && get_str(&r) == 0)
			walk(&r, replies[r.hdr.id % NREPLIES]);
	} else if (r.hdr.type < IMSG_MAX && requests[r.hdr.type] != NULL)
		walk(&r, requests[r.hdr.type]);
	if (ipc_parse(buf, size, &r) == 0)
		walk_any(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	uint32_t len;

	one(data, size);
	if (size < IPC_HDR_LEN || size > IPC_MAX_MSG ||
	    (copy = malloc(size)) == NULL)
		return 0;
	memcpy(copy, data, size);
	len = (uint32_t)size;
	memcpy(copy + offsetof(struct ipc_hdr, len), &len, sizeof(len));
	one(copy, size);
	free(copy);
	return 0;
}
