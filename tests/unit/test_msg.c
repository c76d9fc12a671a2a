/*
 * The broker <-> front-end messages (common/msg.c): every message and
 * reply round-trips through its one encoder and decoder, and each decoder
 * refuses the message cut short at any byte, a byte left over, and every
 * field outside its rule (enums and flags out of range, names, ids,
 * cursors, lengths).  Page fitting agrees with what the encoder writes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "msg.h"
#include "proto.h"
#include "tap.h"

#define TOKEN_OK	"rts_0123456789abcdef_" \
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"

/* One message kind: its encoder and decoder behind one signature. */
struct codec {
	const char	*name;
	void		(*put)(struct ipc_msg *, const void *);
	int		(*get)(struct ipc_reader *, void *);
	size_t		 size;			/* of its struct */
};

#define CODEC(n, type)							\
static void								\
put_##n(struct ipc_msg *m, const void *p)				\
{									\
	msg_##n##_put(m, p);						\
}									\
static int								\
get_##n(struct ipc_reader *r, void *p)					\
{									\
	return msg_##n##_get(r, p);					\
}									\
static const struct codec c_##n = { #n, put_##n, get_##n, sizeof(type) }

CODEC(hello, struct msg_hello);
CODEC(config, struct msg_config);
CODEC(reload, struct msg_reload);
CODEC(session, struct msg_session);
CODEC(conn_close, struct msg_conn_close);
CODEC(secret_list, struct msg_secret_list);
CODEC(secret_write, struct msg_secret_write);
CODEC(secret_written, struct msg_secret_written);
CODEC(secret_ref, struct msg_secret_ref);
CODEC(secret_meta, struct secret_meta);
CODEC(secret_value, struct msg_secret_value);
CODEC(secret_deleted, struct msg_secret_deleted);
CODEC(secret_versions, struct msg_secret_versions);
CODEC(token_create, struct msg_token_create);
CODEC(token_created, struct msg_token_created);
CODEC(token_list, struct msg_token_list);
CODEC(token_revoke, struct msg_token_revoke);
CODEC(token_meta, struct token_meta);
CODEC(reply, struct msg_reply);
CODEC(whoami, struct msg_whoami);
CODEC(health, struct msg_health);

/* IMSG_WHOAMI's request is an auth block and nothing after it. */
static void
put_whoami_req(struct ipc_msg *m, const void *p)
{
	msg_auth_put(m, p);
}

static int
get_whoami_req(struct ipc_reader *r, void *p)
{
	return msg_auth_get(r, p) == -1 ? -1 : msg_empty_get(r);
}

static const struct codec c_whoami_req = { "whoami_req", put_whoami_req,
	get_whoami_req, sizeof(struct msg_auth) };

/* IMSG_METRICS's request is an auth block only, as WHOAMI's. */
static const struct codec c_metrics_req = { "metrics_req", put_whoami_req,
	get_whoami_req, sizeof(struct msg_auth) };

/* The metrics reply hands each tool's counts to a callback: kept here. */
static struct msg_tool_count got_tools[4];
static size_t ngot_tools;

static int
keep_tool(void *arg, const struct msg_tool_count *t)
{
	if (ngot_tools < 4)
		got_tools[ngot_tools] = *t;
	ngot_tools++;
	return 0;
}

static void
put_metrics(struct ipc_msg *m, const void *p)
{
	msg_metrics_put(m, p);
}

static int
get_metrics(struct ipc_reader *r, void *p)
{
	struct msg_metrics *x = p;

	ngot_tools = 0;
	if (msg_metrics_get(r, x, keep_tool, NULL) == -1)
		return -1;
	x->tools = got_tools;
	return ngot_tools == x->ntools ? 0 : -1;
}

static const struct codec c_metrics = { "metrics", put_metrics, get_metrics,
	sizeof(struct msg_metrics) };

/* Pages hand their records to a callback; these keep them. */
static struct secret_meta got_metas[4];
static struct token_meta got_tokens[4];
static size_t ngot;

static int
keep_meta(void *arg, const struct secret_meta *s)
{
	if (ngot < 4)
		got_metas[ngot] = *s;
	ngot++;
	return 0;
}

static int
keep_token(void *arg, const struct token_meta *t)
{
	if (ngot < 4)
		got_tokens[ngot] = *t;
	ngot++;
	return 0;
}

static void
put_secret_page(struct ipc_msg *m, const void *p)
{
	msg_secret_page_put(m, p);
}

static int
get_secret_page(struct ipc_reader *r, void *p)
{
	struct msg_secret_page *pg = p;

	ngot = 0;
	if (msg_secret_page_get(r, pg, keep_meta, NULL) == -1)
		return -1;
	pg->metas = got_metas;
	return ngot == pg->n ? 0 : -1;
}

static void
put_token_page(struct ipc_msg *m, const void *p)
{
	msg_token_page_put(m, p);
}

static int
get_token_page(struct ipc_reader *r, void *p)
{
	struct msg_token_page *pg = p;

	ngot = 0;
	if (msg_token_page_get(r, pg, keep_token, NULL) == -1)
		return -1;
	pg->tokens = got_tokens;
	return ngot == pg->n ? 0 : -1;
}

static const struct codec c_secret_page = { "secret_page", put_secret_page,
	get_secret_page, sizeof(struct msg_secret_page) };
static const struct codec c_token_page = { "token_page", put_token_page,
	get_token_page, sizeof(struct msg_token_page) };

static struct secret_meta meta_ok;
static struct token_meta token_ok;
static const struct msg_auth auth_session = { AUTH_SESSION, NULL, 42,
	"unix", "0123456789abcdef" };
static const struct msg_auth auth_token = { AUTH_TOKEN, TOKEN_OK, 0,
	"192.0.2.1", "fedcba9876543210" };

static void
samples_init(void)
{
	memset(&meta_ok, 0, sizeof(meta_ok));
	strcpy(meta_ok.name, "GITHUB_TOKEN");
	meta_ok.scope = SCOPE_USER;
	strcpy(meta_ok.user_id, "alice");
	strcpy(meta_ok.org_id, "acme");
	strcpy(meta_ok.category, "tool");
	strcpy(meta_ok.description, "GitHub fallback token");
	meta_ok.version = 2;
	meta_ok.created_at = 1;
	meta_ok.updated_at = 2;
	strcpy(meta_ok.created_by, "alice");
	strcpy(meta_ok.updated_by, "bob");

	memset(&token_ok, 0, sizeof(token_ok));
	strcpy(token_ok.id, "0123456789abcdef");
	strcpy(token_ok.user_id, "alice");
	strcpy(token_ok.org_id, "acme");
	token_ok.role = ROLE_ADMIN;
	strcpy(token_ok.description, "ci");
	token_ok.created_at = 100;
	token_ok.expires_at = 200;
}

static void
encode(const struct codec *c, const void *p, struct ipc_msg *m)
{
	ipc_msg_init(m, IMSG_REPLY, 7);
	c->put(m, p);
	if (ipc_msg_finish(m) == -1)
		abort();
}

/* A copy of the message's first n bytes, its header saying n. */
static uint8_t *
cut(const struct ipc_msg *m, size_t n, size_t extra)
{
	struct ipc_hdr h;
	uint8_t *b;

	if ((b = calloc(1, n + extra)) == NULL)
		abort();
	memcpy(b, m->buf, n);
	memcpy(&h, b, sizeof(h));
	h.len = (uint32_t)(n + extra);
	memcpy(b, &h, sizeof(h));
	return b;
}

static int
decodes(const struct codec *c, const uint8_t *buf, size_t n, void *out)
{
	struct ipc_reader r;

	return ipc_parse(buf, n, &r) == 0 && c->get(&r, out) == 0;
}

/*
 * The sample decodes to what encodes to the same bytes; no shorter
 * message and no longer one decodes.
 */
static void
round_trip(const struct codec *c, const void *sample, const char *what)
{
	struct ipc_msg m, again;
	void *out;
	uint8_t *b;
	size_t n;
	int shorter = 0, longer;

	if ((out = calloc(1, c->size)) == NULL)
		abort();
	encode(c, sample, &m);
	ok(decodes(c, m.buf, m.len, out), "%s: %s decodes", c->name, what);
	encode(c, out, &again);
	ok(again.len == m.len && memcmp(again.buf, m.buf, m.len) == 0,
	    "%s: %s encodes back to the same bytes", c->name, what);
	for (n = IPC_HDR_LEN; n < m.len; n++) {
		b = cut(&m, n, 0);
		shorter += decodes(c, b, n, out);
		free(b);
	}
	ok(shorter == 0, "%s: %s cut at each of %zu bytes is refused",
	    c->name, what, m.len - IPC_HDR_LEN);
	b = cut(&m, m.len, 1);
	longer = decodes(c, b, m.len + 1, out);
	free(b);
	ok(!longer, "%s: %s with a byte left over is refused", c->name, what);
	ipc_msg_free(&again);
	ipc_msg_free(&m);
	free(out);
}

static void
refused(const struct codec *c, const void *bad, const char *what)
{
	struct ipc_msg m;
	void *out;

	if ((out = calloc(1, c->size)) == NULL)
		abort();
	encode(c, bad, &m);
	ok(!decodes(c, m.buf, m.len, out), "%s: %s is refused", c->name,
	    what);
	ipc_msg_free(&m);
	free(out);
}

static void
test_hello_config(void)
{
	struct msg_hello h = { PROTO_VERSION };
	struct msg_config good, c;

	round_trip(&c_hello, &h, "the version");
	memset(&good, 0, sizeof(good));
	strcpy(good.user, "_secretd");
	strcpy(good.chroot_dir, "/var/lib/secretd/empty");
	good.max_conns = 100;
	good.max_conns_uid = 10;
	good.max_conns_addr = 20;
	good.timeout_s = 10;
	round_trip(&c_config, &good, "a config without TLS");
	c = good;
	c.have_tls = 1;
	c.cert_pem = (const uint8_t *)"CERT";
	c.cert_len = 4;
	c.key_pem = (const uint8_t *)"KEY\0KEY";
	c.key_len = 7;
	c.seccomp_debug = 1;
	round_trip(&c_config, &c, "a config with TLS");

	c = good;
	c.have_tls = 2;
	refused(&c_config, &c, "have_tls 2");
	c.have_tls = 1;
	refused(&c_config, &c, "TLS without a certificate");
	c = good;
	c.cert_pem = (const uint8_t *)"CERT";
	c.cert_len = 4;
	refused(&c_config, &c, "a certificate without TLS");
	c = good;
	c.seccomp_debug = 2;
	refused(&c_config, &c, "seccomp_debug 2");
	c = good;
	c.max_conns_addr = 0;
	refused(&c_config, &c, "a zero connection limit");
	c = good;
	c.timeout_s = 0;
	refused(&c_config, &c, "a zero timeout");
	c = good;
	strcpy(c.user, "-x");
	refused(&c_config, &c, "a user that is no id");
	c = good;
	strcpy(c.chroot_dir, "empty");
	refused(&c_config, &c, "a relative chroot");
}

static void
test_reload(void)
{
	struct msg_reload good, c;

	memset(&good, 0, sizeof(good));
	good.max_conns_uid = 10;
	good.max_conns_addr = 20;
	round_trip(&c_reload, &good, "a reload without TLS");
	c = good;
	c.have_tls = 1;
	c.cert_pem = (const uint8_t *)"CERT";
	c.cert_len = 4;
	c.key_pem = (const uint8_t *)"KEY\0KEY";
	c.key_len = 7;
	round_trip(&c_reload, &c, "a reload with a new certificate");
	c.have_tls = 2;
	refused(&c_reload, &c, "reload: have_tls 2");
	c = good;
	c.have_tls = 1;
	refused(&c_reload, &c, "reload: TLS without a certificate");
	c = good;
	c.key_pem = (const uint8_t *)"KEY";
	c.key_len = 3;
	refused(&c_reload, &c, "reload: a key without TLS");
	c = good;
	c.max_conns_uid = 0;
	refused(&c_reload, &c, "reload: a zero connection limit");
}

static void
test_conn_unix(void)
{
	struct ipc_reader r;
	struct ipc_msg m;
	uint8_t *b;
	int p[2], fd = -1;

	if (pipe(p) == -1)
		abort();
	ipc_msg_init(&m, IMSG_CONN_UNIX, 1);
	msg_conn_unix_put(&m, p[0]);
	ipc_msg_finish(&m);
	ok(m.len == IPC_HDR_LEN && m.fd == p[0],
	    "conn_unix: the descriptor is the whole message");
	ipc_parse(m.buf, m.len, &r);
	r.fd = p[0];
	ok(msg_conn_unix_get(&r, &fd) == 0 && fd == p[0] && r.fd == -1,
	    "conn_unix: the decoder takes the descriptor from the reader");
	ipc_parse(m.buf, m.len, &r);
	ok(msg_conn_unix_get(&r, &fd) == -1, "conn_unix: none is refused");
	b = cut(&m, m.len, 1);
	ipc_parse(b, m.len + 1, &r);
	r.fd = p[0];
	ok(msg_conn_unix_get(&r, &fd) == -1 && r.fd == p[0],
	    "conn_unix: a byte left over is refused, the descriptor kept");
	free(b);
	ipc_msg_free(&m);		/* closes p[0] */
	close(p[1]);
}

static void
test_session(void)
{
	struct msg_session good = { 0x1234567890abcdefULL, "alice",
	    ROLE_ADMIN }, s;
	struct msg_conn_close c = { 0 };

	round_trip(&c_session, &good, "a named session");
	s = good;
	s.user_id[0] = '\0';
	s.role = ROLE_MEMBER;
	round_trip(&c_session, &s, "a session without a name");
	s = good;
	s.session = 0;
	refused(&c_session, &s, "session handle 0");
	s = good;
	s.role = 2;
	refused(&c_session, &s, "role 2");
	s = good;
	strcpy(s.user_id, "a/b");
	refused(&c_session, &s, "a user that is no id");
	round_trip(&c_conn_close, &c, "any handle");
}

/*
 * An auth block's faults, in any request that starts with one: auth
 * points into scratch, which is left as it came.
 */
static void
auth_refusals(const struct codec *c, struct msg_auth *auth, void *scratch)
{
	struct msg_auth keep = *auth;

	auth->kind = 3;
	refused(c, scratch, "auth kind 3");
	*auth = auth_token;
	auth->token = "rts_";
	refused(c, scratch, "a token that is only the prefix");
	auth->token = "xyz_0123";
	refused(c, scratch, "a token without the prefix");
	auth->token = "rts_a b";
	refused(c, scratch, "a token with a space");
	*auth = auth_session;
	auth->source[0] = '\0';
	refused(c, scratch, "an empty source");
	strcpy(auth->source, "a b");
	refused(c, scratch, "a source with a space");
	*auth = keep;
}

static void
test_secret_list(void)
{
	struct msg_secret_list good, l;

	memset(&good, 0, sizeof(good));
	good.auth = auth_session;
	round_trip(&c_secret_list, &good, "an empty list request");
	l = good;
	l.auth = auth_token;
	l.flags = LIST_ALL | LIST_SCOPE_ORG;
	strcpy(l.category, "agent");
	strcpy(l.user_id, "bob");
	l.limit = LIST_MAX_LIMIT;
	strcpy(l.cursor, "00ff");
	strcpy(l.prefix, "GH_");
	round_trip(&c_secret_list, &l, "a full list request with a token");
	l = good;
	memset(l.prefix, 'P', NAME_MAX_LEN);
	l.prefix[NAME_MAX_LEN] = '\0';
	round_trip(&c_secret_list, &l, "a prefix of a name's longest length");

	l = good;
	auth_refusals(&c_secret_list, &l.auth, &l);
	l.flags = 0x08;
	refused(&c_secret_list, &l, "an unknown list flag");
	l = good;
	strcpy(l.category, "other");
	refused(&c_secret_list, &l, "an unknown category");
	l = good;
	strcpy(l.user_id, "a b");
	refused(&c_secret_list, &l, "a user_id that is no id");
	l = good;
	l.limit = LIST_MAX_LIMIT + 1;
	refused(&c_secret_list, &l, "a limit over the maximum");
	l = good;
	strcpy(l.cursor, "a\tb");
	refused(&c_secret_list, &l, "a cursor with a control character");
	l = good;
	strcpy(l.prefix, "GH-");
	refused(&c_secret_list, &l, "a prefix with a non-name character");
	l = good;
	strcpy(l.prefix, "9A");
	refused(&c_secret_list, &l, "a prefix starting with a digit");
}

static void
test_secret_page(void)
{
	struct secret_meta two[2];
	struct msg_secret_page good, p;

	two[0] = meta_ok;
	two[1] = meta_ok;
	two[1].scope = SCOPE_ORG;
	memset(two[1].user_id, 0, sizeof(two[1].user_id));
	memset(two[1].name, 0, sizeof(two[1].name));
	strcpy(two[1].name, "ORG_KEY");
	memset(&good, 0, sizeof(good));
	good.n = 2;
	good.metas = two;
	strcpy(good.next, "0a0b");
	round_trip(&c_secret_page, &good, "a page of two");
	ok(ngot == 2 && memcmp(&got_metas[0], &two[0], sizeof(two[0])) == 0 &&
	    memcmp(&got_metas[1], &two[1], sizeof(two[1])) == 0,
	    "secret_page: each record reaches the callback whole");
	memset(&p, 0, sizeof(p));
	round_trip(&c_secret_page, &p, "an empty last page");

	p = good;
	two[1].scope = 2;
	refused(&c_secret_page, &p, "a record of scope 2");
	two[1].scope = SCOPE_ORG;
	strcpy(two[1].user_id, "bob");
	refused(&c_secret_page, &p, "an org record with an owner");
	two[1] = meta_ok;
	two[1].version = 0;
	refused(&c_secret_page, &p, "a record of version 0");
	two[1] = meta_ok;
	strcpy(two[1].name, "9LIVES");
	refused(&c_secret_page, &p, "a record with a bad name");
	two[1] = meta_ok;
	two[1].category[0] = '\0';
	refused(&c_secret_page, &p, "a record without a category");
	two[1] = meta_ok;
	strcpy(two[1].created_by, "");
	refused(&c_secret_page, &p, "a record without its creator");
	two[1] = meta_ok;
	strcpy(p.next, "a b");
	refused(&c_secret_page, &p, "a cursor with a space");
}

static void
test_page_count(void)
{
	struct ipc_reader r;
	struct msg_secret_page p;
	struct msg_token_page t;
	struct ipc_msg m;

	/* No records follow: the count alone must be refused. */
	ipc_msg_init(&m, IMSG_REPLY, 1);
	ipc_put_u32(&m, LIST_MAX_LIMIT + 1);
	ipc_put_str(&m, "");
	ipc_msg_finish(&m);
	ipc_parse(m.buf, m.len, &r);
	ok(msg_secret_page_get(&r, &p, NULL, NULL) == -1,
	    "secret_page: a count over LIST_MAX_LIMIT is refused");
	ipc_parse(m.buf, m.len, &r);
	ok(msg_token_page_get(&r, &t, NULL, NULL) == -1,
	    "token_page: a count over LIST_MAX_LIMIT is refused");
	ipc_msg_free(&m);
}

static void
test_secret_write(void)
{
	struct msg_secret_write good, w;
	static uint8_t big[VALUE_MAX_LEN + 1];

	memset(&good, 0, sizeof(good));
	good.auth = auth_session;
	strcpy(good.name, "GITHUB_TOKEN");
	good.value = (const uint8_t *)"s\0cret";
	good.value_len = 6;
	round_trip(&c_secret_write, &good, "a bare put");
	w = good;
	w.auth = auth_token;
	strcpy(w.category, "provider");
	w.has_description = 1;
	strcpy(w.description, "with \"quotes\" and \xc3\xa9");
	w.org_wide = 1;
	w.value = big;
	w.value_len = VALUE_MAX_LEN;
	round_trip(&c_secret_write, &w, "a full put of the largest value");
	w = good;
	strcpy(w.user_id, "bob");
	round_trip(&c_secret_write, &w, "a put for another user");

	w = good;
	auth_refusals(&c_secret_write, &w.auth, &w);
	strcpy(w.name, "9x");
	refused(&c_secret_write, &w, "a name starting with a digit");
	w = good;
	w.value_len = 0;
	refused(&c_secret_write, &w, "an empty value");
	w.value = big;
	w.value_len = VALUE_MAX_LEN + 1;
	refused(&c_secret_write, &w, "a value over VALUE_MAX_LEN");
	w = good;
	strcpy(w.category, "secret");
	refused(&c_secret_write, &w, "an unknown category");
	w = good;
	w.has_description = 2;
	refused(&c_secret_write, &w, "has_description 2");
	w = good;
	strcpy(w.description, "x");
	refused(&c_secret_write, &w, "a description without has_description");
	w = good;
	w.org_wide = 2;
	refused(&c_secret_write, &w, "orgWide 2");
	w = good;
	strcpy(w.user_id, "x/y");
	refused(&c_secret_write, &w, "a user_id that is no id");
}

static void
test_secret_replies(void)
{
	struct msg_secret_written wr = { 1, meta_ok }, wbad;
	struct msg_secret_value v = { meta_ok, (const uint8_t *)"v", 1 }, vb;
	struct msg_secret_deleted d = { "GITHUB_TOKEN", SCOPE_ORG }, db;
	struct secret_meta mb;

	round_trip(&c_secret_written, &wr, "a created secret");
	wr.created = 0;
	round_trip(&c_secret_written, &wr, "a rotated secret");
	wbad = wr;
	wbad.created = 2;
	refused(&c_secret_written, &wbad, "created 2");
	wbad = wr;
	strcpy(wbad.meta.org_id, "");
	refused(&c_secret_written, &wbad, "a record without an org");

	round_trip(&c_secret_meta, &meta_ok, "a record");
	mb = meta_ok;
	mb.scope = 2;
	refused(&c_secret_meta, &mb, "scope 2");

	round_trip(&c_secret_value, &v, "a record and its value");
	vb = v;
	vb.value_len = 0;
	refused(&c_secret_value, &vb, "an empty value");
	vb = v;
	vb.meta.scope = 7;
	refused(&c_secret_value, &vb, "scope 7");

	round_trip(&c_secret_deleted, &d, "a deleted org secret");
	db = d;
	db.scope = 2;
	refused(&c_secret_deleted, &db, "scope 2");
	db = d;
	strcpy(db.name, "a.b");
	refused(&c_secret_deleted, &db, "a bad name");
}

static void
test_secret_versions(void)
{
	static struct msg_secret_versions l, lb;
	uint32_t i;

	memset(&l, 0, sizeof(l));
	l.meta = meta_ok;
	l.meta.version = 5;
	l.n = 3;
	for (i = 0; i < l.n; i++) {
		l.v[i].version = l.meta.version - i;
		l.v[i].created_at = 1700000000 + i;
		strcpy(l.v[i].created_by, "alice");
	}
	round_trip(&c_secret_versions, &l, "three kept versions");
	lb = l;
	lb.n = 1;
	round_trip(&c_secret_versions, &lb, "the current version alone");
	lb = l;
	lb.n = 0;
	refused(&c_secret_versions, &lb, "no version");
	lb = l;
	lb.v[0].version = l.meta.version + 1;
	refused(&c_secret_versions, &lb, "a first version that is not the "
	    "current one");
	lb = l;
	lb.v[2].version = lb.v[1].version;
	refused(&c_secret_versions, &lb, "versions not in descending order");
	lb = l;
	lb.v[1].created_by[0] = '\0';
	refused(&c_secret_versions, &lb, "a version without its writer");
}

static void
test_secret_ref(void)
{
	struct msg_secret_ref good = { auth_session, "ANTHROPIC_API_KEY", 1,
	    "", 0 }, s;

	round_trip(&c_secret_ref, &good, "an org secret");
	s = good;
	s.version = UINT32_MAX;
	round_trip(&c_secret_ref, &s, "a kept version's number");
	s = good;
	s.auth = auth_token;
	s.org_wide = 0;
	strcpy(s.user_id, "bob");
	round_trip(&c_secret_ref, &s, "another user's secret, by token");

	s = good;
	auth_refusals(&c_secret_ref, &s.auth, &s);
	s.name[0] = '\0';
	refused(&c_secret_ref, &s, "an empty name");
	s = good;
	s.org_wide = 2;
	refused(&c_secret_ref, &s, "orgWide 2");
	s = good;
	strcpy(s.user_id, "-bob");
	refused(&c_secret_ref, &s, "a user_id that is no id");
}

static void
test_tokens(void)
{
	struct msg_token_create tc = { auth_session, ROLE_MEMBER, "ci", 0,
	    { 0, { "" } } }, t;
	struct msg_token_created cr = { TOKEN_OK, token_ok }, crb;
	struct msg_token_list tl = { auth_token, 0, "" }, tlb;
	struct msg_token_revoke rv = { auth_session, "0123456789abcdef" }, rb;
	struct token_meta two[2], tm;
	struct msg_token_page pg, pb;

	round_trip(&c_token_create, &tc, "a member token");
	t = tc;
	t.role = ROLE_ADMIN;
	t.ttl = TOKEN_TTL_MAX;
	round_trip(&c_token_create, &t, "an admin token of the longest life");
	auth_refusals(&c_token_create, &t.auth, &t);
	t.role = 2;
	refused(&c_token_create, &t, "role 2");
	t = tc;
	t.ttl = TOKEN_TTL_MAX + 1;
	refused(&c_token_create, &t, "a life over TOKEN_TTL_MAX");
	t = tc;
	t.scopes.n = 2;
	strcpy(t.scopes.tool[0], "custom-crm");
	strcpy(t.scopes.tool[1], "*");
	round_trip(&c_token_create, &t, "a token scoped to two tools");
	t.scopes.n = TOKEN_SCOPES_MAX + 1;
	refused(&c_token_create, &t, "more scopes than TOKEN_SCOPES_MAX");
	t.scopes.n = 2;
	strcpy(t.scopes.tool[1], "custom-crm");
	refused(&c_token_create, &t, "a scope given twice");
	strcpy(t.scopes.tool[1], "-crm");
	refused(&c_token_create, &t, "a scope that is no tool name");

	round_trip(&c_token_created, &cr, "a new token");
	crb = cr;
	crb.token = "rts_0123456789abcdef_short";
	refused(&c_token_created, &crb, "a token not of our making");
	crb = cr;
	strcpy(crb.meta.id, "fedcba9876543210");
	refused(&c_token_created, &crb, "a token whose id is not its record's");
	crb = cr;
	crb.meta.role = 2;
	refused(&c_token_created, &crb, "a record of role 2");

	round_trip(&c_token_list, &tl, "a first page");
	tlb = tl;
	tlb.limit = LIST_MAX_LIMIT;
	strcpy(tlb.cursor, "alice/0123456789abcdef");
	round_trip(&c_token_list, &tlb, "a later page");
	tlb = tl;
	auth_refusals(&c_token_list, &tlb.auth, &tlb);
	tlb.limit = LIST_MAX_LIMIT + 1;
	refused(&c_token_list, &tlb, "a limit over the maximum");
	tlb = tl;
	strcpy(tlb.cursor, "al ice");
	refused(&c_token_list, &tlb, "a cursor with a space");

	two[0] = token_ok;
	two[1] = token_ok;
	strcpy(two[1].id, "00000000000000ff");
	two[1].role = ROLE_MEMBER;
	two[1].expires_at = 0;
	memset(&pg, 0, sizeof(pg));
	pg.n = 2;
	pg.tokens = two;
	strcpy(pg.next, "alice/00000000000000ff");
	two[0].scopes.n = 1;
	strcpy(two[0].scopes.tool[0], "github");
	round_trip(&c_token_page, &pg, "a page of two, one scoped");
	ok(ngot == 2 && memcmp(&got_tokens[1], &two[1], sizeof(two[1])) == 0,
	    "token_page: each record reaches the callback whole");
	pb = pg;
	strcpy(two[1].id, "00000000000000FF");
	refused(&c_token_page, &pb, "a record with an upper-case id");
	two[1] = token_ok;
	strcpy(two[1].org_id, "");
	refused(&c_token_page, &pb, "a record without an org");
	two[1] = token_ok;
	strcpy(pb.next, "alice/\x7f");
	refused(&c_token_page, &pb, "a cursor with DEL");

	round_trip(&c_token_revoke, &rv, "a revocation");
	rb = rv;
	auth_refusals(&c_token_revoke, &rb.auth, &rb);
	strcpy(rb.id, "0123456789abcdeg");
	refused(&c_token_revoke, &rb, "an id that is not hex");
	strcpy(rb.id, "0123");
	refused(&c_token_revoke, &rb, "a short id");

	round_trip(&c_token_meta, &token_ok, "a revoked token");
	tm = token_ok;
	tm.role = 2;
	refused(&c_token_meta, &tm, "role 2");
}

static void
test_reply(void)
{
	struct msg_reply okr = { RT_OK, "" }, no = { RT_NOTFOUND,
	    "no such secret" }, b;
	struct ipc_reader r;
	struct ipc_msg m;

	/* A success's fields follow it: the header alone is not the end. */
	ipc_msg_init(&m, IMSG_REPLY, 1);
	msg_reply_put(&m, &okr);
	ipc_put_u8(&m, 1);
	ipc_msg_finish(&m);
	ipc_parse(m.buf, m.len, &r);
	ok(msg_reply_get(&r, &b) == 0 && b.status == RT_OK &&
	    msg_empty_get(&r) == -1,
	    "reply: a success leaves its fields to the request's decoder");
	ipc_msg_free(&m);

	round_trip(&c_reply, &no, "a refusal");
	b = no;
	b.status = RT_MAX;
	refused(&c_reply, &b, "status RT_MAX");
	b = okr;
	strcpy(b.message, "fine");
	refused(&c_reply, &b, "a success with a message");
	b = no;
	strcpy(b.message, "line\nbreak");
	refused(&c_reply, &b, "a message with a newline");
	b = no;
	strcpy(b.message, "caf\xc3\xa9");
	refused(&c_reply, &b, "a message with 8-bit bytes");

	ipc_msg_init(&m, IMSG_PING, 1);
	ipc_msg_finish(&m);
	ipc_parse(m.buf, m.len, &r);
	ok(msg_empty_get(&r) == 0, "ping: nothing is all it holds");
	ipc_msg_free(&m);
}

/* Every record as long as its fields allow. */
static void
longest(struct secret_meta *s, struct token_meta *t)
{
	*s = meta_ok;
	memset(s->name, 'N', NAME_MAX_LEN);
	memset(s->user_id, 'u', ID_MAX_LEN);
	memset(s->org_id, 'o', ID_MAX_LEN);
	strcpy(s->category, "workflow");
	memset(s->description, 'd', DESC_MAX_LEN);
	memset(s->created_by, 'c', ID_MAX_LEN);
	memset(s->updated_by, 'u', ID_MAX_LEN);
	*t = token_ok;
	memset(t->user_id, 'u', ID_MAX_LEN);
	memset(t->org_id, 'o', ID_MAX_LEN);
	memset(t->description, 'd', DESC_MAX_LEN);
}

/*
 * What fits is what the encoder can write: a page of the fitted count
 * with the longest cursor is one message, one record more is not.
 */
static void
test_fit(void)
{
	static struct secret_meta metas[LIST_MAX_LIMIT];
	static struct token_meta tokens[LIST_MAX_LIMIT];
	struct msg_secret_page sp;
	struct msg_token_page tp;
	struct msg_reply okr = { RT_OK, "" };
	struct ipc_msg m;
	size_t i, fit, len;

	for (i = 0; i < LIST_MAX_LIMIT; i++)
		longest(&metas[i], &tokens[i]);
	memset(&sp, 0, sizeof(sp));
	memset(sp.next, 'f', CURSOR_MAX_LEN);
	sp.metas = metas;
	fit = msg_secret_page_fit(metas, LIST_MAX_LIMIT, &len);
	ok(fit > 0 && fit < LIST_MAX_LIMIT, "secret_page: %zu of the longest "
	    "records fit", fit);
	ipc_msg_init(&m, IMSG_REPLY, 1);
	msg_reply_put(&m, &okr);
	sp.n = (uint32_t)fit;
	msg_secret_page_put(&m, &sp);
	ok(ipc_msg_finish(&m) == 0, "secret_page: that many make one reply");
	ok(m.len == len, "secret_page: its size is the one counted (%zu, %zu)",
	    m.len, len);
	ipc_msg_free(&m);
	ipc_msg_init(&m, IMSG_REPLY, 1);
	msg_reply_put(&m, &okr);
	sp.n = (uint32_t)fit + 1;
	msg_secret_page_put(&m, &sp);
	ok(ipc_msg_finish(&m) == -1, "secret_page: one more does not");
	ipc_msg_free(&m);
	ok(msg_secret_page_fit(&meta_ok, 1, NULL) == 1 &&
	    msg_secret_page_fit(metas, 0, NULL) == 0,
	    "secret_page: a short page fits whole");

	memset(&tp, 0, sizeof(tp));
	memset(tp.next, 'f', TOKEN_CURSOR_MAX_LEN);
	tp.tokens = tokens;
	fit = msg_token_page_fit(tokens, LIST_MAX_LIMIT);
	ok(fit > 0 && fit < LIST_MAX_LIMIT, "token_page: %zu of the longest "
	    "records fit", fit);
	ipc_msg_init(&m, IMSG_REPLY, 1);
	msg_reply_put(&m, &okr);
	tp.n = (uint32_t)fit;
	msg_token_page_put(&m, &tp);
	ok(ipc_msg_finish(&m) == 0, "token_page: that many make one reply");
	ipc_msg_free(&m);
	ipc_msg_init(&m, IMSG_REPLY, 1);
	msg_reply_put(&m, &okr);
	tp.n = (uint32_t)fit + 1;
	msg_token_page_put(&m, &tp);
	ok(ipc_msg_finish(&m) == -1, "token_page: one more does not");
	ipc_msg_free(&m);
}

static void
test_whoami(void)
{
	struct msg_whoami peer = { "alice", "acme", ROLE_ADMIN, AUTH_SESSION,
	    1000, "", 0, { 0, { "" } } }, tok = { "bob", "acme", ROLE_MEMBER,
	    AUTH_TOKEN, 0, "0123456789abcdef", 200, { 0, { "" } } }, w;
	struct msg_auth a = auth_session;

	round_trip(&c_whoami_req, &auth_session, "a session's request");
	round_trip(&c_whoami_req, &auth_token, "a token's request");
	/* The broker, not the decoder, replaces an id that is no hex. */
	strcpy(a.request_id, "NOT-HEX \"\\\x01");
	round_trip(&c_whoami_req, &a, "a request id that is not hex");
	a = auth_session;
	auth_refusals(&c_whoami_req, &a, &a);

	round_trip(&c_whoami, &peer, "a unix peer");
	w = peer;
	w.uid = 0;
	round_trip(&c_whoami, &w, "root over the socket");
	round_trip(&c_whoami, &tok, "a token");
	w = tok;
	w.token_expires = 0;
	round_trip(&c_whoami, &w, "a token that never expires");
	w.scopes.n = 1;
	strcpy(w.scopes.tool[0], "github");
	round_trip(&c_whoami, &w, "a scoped token");
	w = peer;
	w.scopes.n = 1;
	strcpy(w.scopes.tool[0], "github");
	refused(&c_whoami, &w, "a unix peer with scopes");
	w = peer;
	w.role = 2;
	refused(&c_whoami, &w, "role 2");
	w = peer;
	w.auth = 3;
	refused(&c_whoami, &w, "auth kind 3");
	w = peer;
	w.user_id[0] = '\0';
	refused(&c_whoami, &w, "no user");
	w = peer;
	strcpy(w.org_id, "a/b");
	refused(&c_whoami, &w, "an org that is no id");
	w = peer;
	strcpy(w.token_id, "0123456789abcdef");
	refused(&c_whoami, &w, "a unix peer with a token id");
	w = peer;
	w.token_expires = 5;
	refused(&c_whoami, &w, "a unix peer with a token expiry");
	w = tok;
	w.uid = 1000;
	refused(&c_whoami, &w, "a token with a uid");
	w = tok;
	strcpy(w.token_id, "0123");
	refused(&c_whoami, &w, "a token id too short");
}

static void
test_health_metrics(void)
{
	struct msg_health ok_h = { 0, 0 }, both = { 1, 1 }, h;
	struct msg_tool_count tools[3] = {
		{ "crm", { 5, 1, 0, 2 } },
		{ "custom-crm", { 0, 0, 1, 0 } },
		{ "github", { 1, 0, 0, 0 } },
	}, t2[2];
	struct msg_metrics x, y;
	struct msg_auth a = auth_session;
	struct msg_tool_count *many;
	struct ipc_msg m;
	size_t i;

	round_trip(&c_health, &ok_h, "all writable");
	round_trip(&c_health, &both, "store full and audit failing");
	h = ok_h;
	h.store_full = 2;
	refused(&c_health, &h, "store_full 2");
	h = ok_h;
	h.audit_failing = 7;
	refused(&c_health, &h, "audit_failing 7");

	round_trip(&c_metrics_req, &auth_session, "a session's request");
	round_trip(&c_metrics_req, &auth_token, "a token's request");
	auth_refusals(&c_metrics_req, &a, &a);

	memset(&x, 0, sizeof(x));
	round_trip(&c_metrics, &x, "a broker that did nothing yet");
	x.start_time = 1764270000;
	x.reveals[SCOPE_USER] = 3;
	x.reveals[SCOPE_ORG] = 2;
	x.denials = 1;
	x.auth_failures[MAUTH_BAD_TOKEN] = 11;
	x.auth_failures[MAUTH_EXPIRED] = 1;
	x.auth_failures[MAUTH_RATE_LIMITED] = 2;
	x.commits = 4;
	x.batch_buckets[0] = 2;			/* 1 write each */
	x.batch_buckets[3] = 1;			/* 5 to 8 */
	x.batch_buckets[METRICS_BATCH_BUCKETS - 1] = 1;	/* 129 to 256 */
	x.batch_writes = 2 + 6 + 200;
	x.store_bytes = 1 << 20;
	x.secrets = 2;
	x.frontend_restarts = 1;
	x.runner_restarts = 1;
	x.audit_failures = 3;
	x.health = both;
	x.ntools = 3;
	x.tools = tools;
	round_trip(&c_metrics, &x, "counters and three tools");

	y = x;
	y.batch_buckets[0] = 3;
	refused(&c_metrics, &y, "buckets adding up to more than the commits");
	y = x;
	y.batch_buckets[0] = 1;
	refused(&c_metrics, &y, "buckets adding up to fewer");
	y = x;
	y.batch_writes = 3;
	refused(&c_metrics, &y, "fewer writes than commits");
	y = x;
	y.batch_writes = 4 * 256 + 1;
	refused(&c_metrics, &y, "more writes than the commits can hold");
	y = x;
	y.health.store_full = 2;
	refused(&c_metrics, &y, "a health flag of 2");
	y = x;
	y.ntools = 2;
	t2[0] = tools[1];
	t2[1] = tools[0];
	y.tools = t2;
	refused(&c_metrics, &y, "tools out of order");
	t2[1] = tools[1];
	refused(&c_metrics, &y, "a tool named twice");
	t2[0] = tools[0];
	strcpy(t2[1].tool, "-x");
	refused(&c_metrics, &y, "a tool name that is no tool name");
	t2[1].tool[0] = '\0';
	refused(&c_metrics, &y, "an empty tool name");
	/* As many tools as one reply may hold, and one more. */
	if ((many = calloc(METRICS_TOOLS_MAX + 1, sizeof(*many))) == NULL)
		abort();
	for (i = 0; i <= METRICS_TOOLS_MAX; i++)
		snprintf(many[i].tool, sizeof(many[i].tool), "t%04zu", i);
	memset(&y, 0, sizeof(y));
	y.tools = many;
	y.ntools = METRICS_TOOLS_MAX;
	ngot_tools = 0;
	encode(&c_metrics, &y, &m);
	ok(decodes(&c_metrics, m.buf, m.len, &x) &&
	    ngot_tools == METRICS_TOOLS_MAX, "metrics: %d tools decode",
	    METRICS_TOOLS_MAX);
	ipc_msg_free(&m);
	y.ntools = METRICS_TOOLS_MAX + 1;
	refused(&c_metrics, &y, "one tool more than METRICS_TOOLS_MAX");
	free(many);
}

static void
test_rules(void)
{
	ok(valid_bearer(TOKEN_OK, strlen(TOKEN_OK)) &&
	    valid_bearer("rts_x", 5) && !valid_bearer("rts_", 4) &&
	    !valid_bearer("rts_a.b", 7) && !valid_bearer("RTS_ab", 6),
	    "a bearer token is rts_ and token characters");
	ok(valid_secret_meta(&meta_ok) && valid_token_meta(&token_ok),
	    "the sample records are valid");
}

int
main(void)
{
	samples_init();
	test_rules();
	test_hello_config();
	test_reload();
	test_conn_unix();
	test_session();
	test_secret_list();
	test_secret_page();
	test_page_count();
	test_secret_write();
	test_secret_replies();
	test_secret_ref();
	test_secret_versions();
	test_tokens();
	test_reply();
	test_fit();
	test_whoami();
	test_health_metrics();
	return done_testing();
}
