/*
 * Fuzz target "ipc": one datagram as the broker receives it from a
 * front-end that may be hostile, through ipc_parse() and the decoder of
 * its type (common/msg.c); an IMSG_REPLY goes through the reply header
 * and, chosen by its id, the decoder of one reply the front-end reads.
 * The header's length is also patched to the input's, so that the fields
 * are reached and not only the frame check.  A message that decodes must
 * encode back to exactly its own bytes: the wire has one spelling of
 * each message, and the decoders keep only what the encoders write.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "msg.h"
#include "proto.h"
#include "fuzz.h"

enum reply_kind {
	R_EMPTY, R_SESSION, R_SECRET_PAGE, R_WRITTEN, R_META, R_VALUE,
	R_DELETED, R_TOKEN_CREATED, R_TOKEN_PAGE, R_TOKEN_META, R_WHOAMI,
	R_VERSIONS, R_HEALTH, R_METRICS, R_MAX
};

/* What a page held, kept to encode it back. */
static struct secret_meta metas[LIST_MAX_LIMIT];
static struct token_meta tokens[LIST_MAX_LIMIT];
static size_t nrecords;

static int
keep_meta(void *arg, const struct secret_meta *m)
{
	if (nrecords >= LIST_MAX_LIMIT)
		abort();
	metas[nrecords++] = *m;
	return 0;
}

static struct msg_tool_count tools[METRICS_TOOLS_MAX];

static int
keep_tool(void *arg, const struct msg_tool_count *t)
{
	if (nrecords >= METRICS_TOOLS_MAX)
		abort();
	tools[nrecords++] = *t;
	return 0;
}

static int
keep_token(void *arg, const struct token_meta *t)
{
	if (nrecords >= LIST_MAX_LIMIT)
		abort();
	tokens[nrecords++] = *t;
	return 0;
}

union any {
	struct msg_hello		 hello;
	struct msg_config		 config;
	struct msg_reload		 reload;
	struct msg_session		 session;
	struct msg_conn_close		 close;
	struct msg_secret_list		 list;
	struct msg_secret_page		 page;
	struct msg_secret_write		 write;
	struct msg_secret_written	 written;
	struct msg_secret_ref		 ref;
	struct secret_meta		 meta;
	struct msg_secret_value		 value;
	struct msg_secret_deleted	 deleted;
	struct msg_secret_versions	 versions;
	struct msg_token_create		 tcreate;
	struct msg_token_created	 tcreated;
	struct msg_token_list		 tlist;
	struct msg_token_page		 tpage;
	struct msg_token_revoke		 trevoke;
	struct token_meta		 tmeta;
	struct msg_auth			 auth;
	struct msg_whoami		 whoami;
	struct msg_health		 health;
	struct msg_metrics		 metrics;
};

/* Decode a request (or CONFIG, RELOAD); encode it again on success. */
static int
request(struct ipc_reader *r, union any *u, struct ipc_msg *m)
{
	int fd;

	switch (r->hdr.type) {
	case IMSG_HELLO:
		if (msg_hello_get(r, &u->hello) == -1)
			return -1;
		msg_hello_put(m, &u->hello);
		return 0;
	case IMSG_CONFIG:
		if (msg_config_get(r, &u->config) == -1)
			return -1;
		msg_config_put(m, &u->config);
		return 0;
	case IMSG_RELOAD:
		if (msg_reload_get(r, &u->reload) == -1)
			return -1;
		msg_reload_put(m, &u->reload);
		return 0;
	case IMSG_CONN_UNIX:
		if (msg_conn_unix_get(r, &fd) == -1)
			return -1;
		if (r->fd != -1 || fd == -1)
			abort();
		return 0;
	case IMSG_CONN_CLOSE:
		if (msg_conn_close_get(r, &u->close) == -1)
			return -1;
		msg_conn_close_put(m, &u->close);
		return 0;
	case IMSG_SECRET_LIST:
		if (msg_secret_list_get(r, &u->list) == -1)
			return -1;
		msg_secret_list_put(m, &u->list);
		return 0;
	case IMSG_SECRET_PUT:
		if (msg_secret_write_get(r, &u->write) == -1)
			return -1;
		msg_secret_write_put(m, &u->write);
		return 0;
	case IMSG_SECRET_GET:
	case IMSG_SECRET_REVEAL:
	case IMSG_SECRET_DELETE:
	case IMSG_SECRET_VERSIONS:
	case IMSG_SECRET_ROLLBACK:
		if (msg_secret_ref_get(r, &u->ref) == -1)
			return -1;
		msg_secret_ref_put(m, &u->ref);
		return 0;
	case IMSG_TOKEN_CREATE:
		if (msg_token_create_get(r, &u->tcreate) == -1)
			return -1;
		msg_token_create_put(m, &u->tcreate);
		return 0;
	case IMSG_TOKEN_LIST:
		if (msg_token_list_get(r, &u->tlist) == -1)
			return -1;
		msg_token_list_put(m, &u->tlist);
		return 0;
	case IMSG_TOKEN_REVOKE:
		if (msg_token_revoke_get(r, &u->trevoke) == -1)
			return -1;
		msg_token_revoke_put(m, &u->trevoke);
		return 0;
	case IMSG_PING:
		return msg_empty_get(r);
	case IMSG_WHOAMI:
	case IMSG_METRICS:
		if (msg_auth_get(r, &u->auth) == -1 || msg_empty_get(r) == -1)
			return -1;
		msg_auth_put(m, &u->auth);
		return 0;
	}
	return -1;
}

/* The fields of a success reply, as the front-end reads kind k. */
static int
reply_fields(struct ipc_reader *r, enum reply_kind k, union any *u,
    struct ipc_msg *m)
{
	nrecords = 0;
	switch (k) {
	case R_EMPTY:
		return msg_empty_get(r);
	case R_SESSION:
		if (msg_session_get(r, &u->session) == -1)
			return -1;
		msg_session_put(m, &u->session);
		return 0;
	case R_SECRET_PAGE:
		if (msg_secret_page_get(r, &u->page, keep_meta, NULL) == -1)
			return -1;
		if (u->page.n != nrecords)
			abort();
		u->page.metas = metas;
		msg_secret_page_put(m, &u->page);
		return 0;
	case R_WRITTEN:
		if (msg_secret_written_get(r, &u->written) == -1)
			return -1;
		msg_secret_written_put(m, &u->written);
		return 0;
	case R_META:
		if (msg_secret_meta_get(r, &u->meta) == -1)
			return -1;
		msg_secret_meta_put(m, &u->meta);
		return 0;
	case R_VALUE:
		if (msg_secret_value_get(r, &u->value) == -1)
			return -1;
		msg_secret_value_put(m, &u->value);
		return 0;
	case R_DELETED:
		if (msg_secret_deleted_get(r, &u->deleted) == -1)
			return -1;
		msg_secret_deleted_put(m, &u->deleted);
		return 0;
	case R_VERSIONS:
		if (msg_secret_versions_get(r, &u->versions) == -1)
			return -1;
		msg_secret_versions_put(m, &u->versions);
		return 0;
	case R_TOKEN_CREATED:
		if (msg_token_created_get(r, &u->tcreated) == -1)
			return -1;
		msg_token_created_put(m, &u->tcreated);
		return 0;
	case R_TOKEN_PAGE:
		if (msg_token_page_get(r, &u->tpage, keep_token, NULL) == -1)
			return -1;
		if (u->tpage.n != nrecords)
			abort();
		u->tpage.tokens = tokens;
		msg_token_page_put(m, &u->tpage);
		return 0;
	case R_TOKEN_META:
		if (msg_token_meta_get(r, &u->tmeta) == -1)
			return -1;
		msg_token_meta_put(m, &u->tmeta);
		return 0;
	case R_WHOAMI:
		if (msg_whoami_get(r, &u->whoami) == -1)
			return -1;
		msg_whoami_put(m, &u->whoami);
		return 0;
	case R_HEALTH:
		if (msg_health_get(r, &u->health) == -1)
			return -1;
		msg_health_put(m, &u->health);
		return 0;
	case R_METRICS:
		if (msg_metrics_get(r, &u->metrics, keep_tool, NULL) == -1)
			return -1;
		if (u->metrics.ntools != nrecords)
			abort();
		u->metrics.tools = tools;
		msg_metrics_put(m, &u->metrics);
		return 0;
	case R_MAX:
		break;
	}
	abort();
}

static int
reply(struct ipc_reader *r, union any *u, struct ipc_msg *m)
{
	struct msg_reply rep;

	if (msg_reply_get(r, &rep) == -1)
		return -1;
	if (rep.status >= RT_MAX || strlen(rep.message) >= MSG_LEN)
		abort();
	msg_reply_put(m, &rep);
	if (rep.status != RT_OK && rep.status != RT_CREATED)
		return 0;
	return reply_fields(r, (enum reply_kind)(r->hdr.id % R_MAX), u, m);
}

/* Any order of the plain getters: the id's bits choose them. */
static void
walk_any(struct ipc_reader *r)
{
	char name[NAME_MAX_LEN + 1];
	uint32_t bits = r->hdr.id, w;
	const void *p;
	const char *s;
	size_t off, n;
	uint64_t q;
	uint8_t b;
	int i, rv = 0;

	for (i = 0; i < 10 && rv == 0; i++, bits /= 6) {
		off = r->off;
		switch (bits % 6) {
		case 0:
			rv = ipc_get_u8(r, &b);
			break;
		case 1:
			rv = ipc_get_u32(r, &w);
			break;
		case 2:
			rv = ipc_get_u64(r, &q);
			break;
		case 3:
			if ((rv = ipc_get_str(r, &s, &n)) == 0 &&
			    (strlen(s) != n || (const uint8_t *)s + n >=
			    r->buf + r->len))
				abort();
			break;
		case 4:
			if ((rv = ipc_get_strbuf(r, name, sizeof(name))) == 0 &&
			    strlen(name) > NAME_MAX_LEN)
				abort();
			break;
		default:
			if ((rv = ipc_get_bytes(r, &p, &n)) == 0 &&
			    (const uint8_t *)p + n > r->buf + r->len)
				abort();
			break;
		}
		/* A failed getter moves nothing; none reads past the end. */
		if ((rv == -1 && r->off != off) || r->off > r->len)
			abort();
	}
	ipc_end(r);
}

/* What was decoded, encoded again, is the message it came from. */
static int
same_bytes(struct ipc_msg *m, const uint8_t *buf, size_t size)
{
	return ipc_msg_finish(m) == 0 && m->len == size &&
	    memcmp(m->buf + IPC_HDR_LEN, buf + IPC_HDR_LEN,
	    size - IPC_HDR_LEN) == 0;
}

static void
one(const uint8_t *buf, size_t size)
{
	static union any u;
	struct ipc_reader r;
	struct ipc_msg m;
	int rv;

	if (ipc_parse(buf, size, &r) == -1)
		return;
	if (r.hdr.len != size || r.off != IPC_HDR_LEN)
		abort();
	/* As ipc_chan_recv: a descriptor exactly when the flag says so. */
	if (r.hdr.flags & IPC_F_FD)
		r.fd = INT_MAX;
	ipc_msg_init(&m, r.hdr.type, r.hdr.id);
	if (r.hdr.type == IMSG_REPLY)
		rv = reply(&r, &u, &m);
	else
		rv = request(&r, &u, &m);
	if (rv == 0 && (r.off != r.len || !same_bytes(&m, buf, size)))
		abort();
	ipc_msg_free(&m);
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
