/*
 * The one encoder and the one decoder of each broker <-> front-end
 * message (msg.h).  An encoder writes the struct's members in order and
 * checks nothing; its decoder reads them in the same order, then holds
 * every field to its rule.  Nothing here copies a secret's bytes.
 */
#include "config.h"

#include <string.h>

#include "msg.h"
#include "tool.h"

static int
is_bool(uint8_t v)
{
	return v <= 1;
}

static int
is_name(const char *s)
{
	return valid_secret_name(s, strlen(s));
}

/* Optional fields: "" means not given. */
static int
opt_id(const char *s)
{
	return s[0] == '\0' || valid_id(s, strlen(s));
}

static int
opt_category(const char *s)
{
	return s[0] == '\0' || valid_category(s);
}

static int
opt_cursor(const char *s, size_t max)
{
	return s[0] == '\0' || valid_printable(s, max);
}

/* A reply's message: printable ASCII, spaces allowed. */
static int
is_text(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < ' ' || *s > '~')
			return 0;
	return 1;
}

void
msg_auth_put(struct ipc_msg *m, const struct msg_auth *a)
{
	ipc_put_u8(m, a->kind);
	if (a->kind == AUTH_TOKEN)
		ipc_put_str(m, a->token);
	ipc_put_u64(m, a->session);
	ipc_put_str(m, a->source);
	ipc_put_str(m, a->request_id);
}

int
msg_auth_get(struct ipc_reader *r, struct msg_auth *a)
{
	size_t n;

	if (ipc_get_u8(r, &a->kind) == -1)
		return -1;
	if (a->kind == AUTH_TOKEN) {
		if (ipc_get_str(r, &a->token, &n) == -1 ||
		    !valid_bearer(a->token, n))
			return -1;
	} else if (a->kind != AUTH_SESSION)
		return -1;
	/* The request id is only bounded here: the broker audits a
	 * malformed one under an id of its own (audit.c). */
	if (ipc_get_u64(r, &a->session) == -1 ||
	    ipc_get_strbuf(r, a->source, sizeof(a->source)) == -1 ||
	    ipc_get_strbuf(r, a->request_id, sizeof(a->request_id)) == -1)
		return -1;
	return valid_printable(a->source, SOURCE_MAX_LEN) ? 0 : -1;
}

static void
meta_put(struct ipc_msg *m, const struct secret_meta *s)
{
	ipc_put_str(m, s->name);
	ipc_put_u8(m, s->scope);
	ipc_put_str(m, s->user_id);
	ipc_put_str(m, s->org_id);
	ipc_put_str(m, s->category);
	ipc_put_str(m, s->description);
	ipc_put_u32(m, s->version);
	ipc_put_u64(m, s->created_at);
	ipc_put_u64(m, s->updated_at);
	ipc_put_str(m, s->created_by);
	ipc_put_str(m, s->updated_by);
	ipc_put_u64(m, s->expires_at);
}

static int
meta_get(struct ipc_reader *r, struct secret_meta *s)
{
	memset(s, 0, sizeof(*s));
	if (ipc_get_strbuf(r, s->name, sizeof(s->name)) == -1 ||
	    ipc_get_u8(r, &s->scope) == -1 ||
	    ipc_get_strbuf(r, s->user_id, sizeof(s->user_id)) == -1 ||
	    ipc_get_strbuf(r, s->org_id, sizeof(s->org_id)) == -1 ||
	    ipc_get_strbuf(r, s->category, sizeof(s->category)) == -1 ||
	    ipc_get_strbuf(r, s->description, sizeof(s->description)) == -1 ||
	    ipc_get_u32(r, &s->version) == -1 ||
	    ipc_get_u64(r, &s->created_at) == -1 ||
	    ipc_get_u64(r, &s->updated_at) == -1 ||
	    ipc_get_strbuf(r, s->created_by, sizeof(s->created_by)) == -1 ||
	    ipc_get_strbuf(r, s->updated_by, sizeof(s->updated_by)) == -1 ||
	    ipc_get_u64(r, &s->expires_at) == -1)
		return -1;
	return valid_secret_meta(s) ? 0 : -1;
}

static void
scopes_put(struct ipc_msg *m, const struct token_scopes *s)
{
	uint8_t i;

	ipc_put_u8(m, s->n);
	for (i = 0; i < s->n && i < TOKEN_SCOPES_MAX; i++)
		ipc_put_str(m, s->tool[i]);
}

static int
scopes_get(struct ipc_reader *r, struct token_scopes *s)
{
	uint8_t i;

	memset(s, 0, sizeof(*s));
	if (ipc_get_u8(r, &s->n) == -1 || s->n > TOKEN_SCOPES_MAX)
		return -1;
	for (i = 0; i < s->n; i++)
		if (ipc_get_strbuf(r, s->tool[i], sizeof(s->tool[i])) == -1)
			return -1;
	return valid_token_scopes(s) ? 0 : -1;
}

static void
token_put(struct ipc_msg *m, const struct token_meta *t)
{
	ipc_put_str(m, t->id);
	ipc_put_str(m, t->user_id);
	ipc_put_str(m, t->org_id);
	ipc_put_u8(m, t->role);
	ipc_put_str(m, t->description);
	ipc_put_u64(m, t->created_at);
	ipc_put_u64(m, t->expires_at);
	scopes_put(m, &t->scopes);
}

static int
token_get(struct ipc_reader *r, struct token_meta *t)
{
	memset(t, 0, sizeof(*t));
	if (ipc_get_strbuf(r, t->id, sizeof(t->id)) == -1 ||
	    ipc_get_strbuf(r, t->user_id, sizeof(t->user_id)) == -1 ||
	    ipc_get_strbuf(r, t->org_id, sizeof(t->org_id)) == -1 ||
	    ipc_get_u8(r, &t->role) == -1 ||
	    ipc_get_strbuf(r, t->description, sizeof(t->description)) == -1 ||
	    ipc_get_u64(r, &t->created_at) == -1 ||
	    ipc_get_u64(r, &t->expires_at) == -1 ||
	    scopes_get(r, &t->scopes) == -1)
		return -1;
	return valid_token_meta(t) ? 0 : -1;
}

void
msg_hello_put(struct ipc_msg *m, const struct msg_hello *h)
{
	ipc_put_u32(m, h->version);
}

/* Any version decodes: the broker says which one it wanted. */
int
msg_hello_get(struct ipc_reader *r, struct msg_hello *h)
{
	memset(h, 0, sizeof(*h));
	return ipc_get_u32(r, &h->version) == -1 || ipc_end(r) == -1 ? -1 : 0;
}

void
msg_config_put(struct ipc_msg *m, const struct msg_config *c)
{
	ipc_put_str(m, c->user);
	ipc_put_str(m, c->chroot_dir);
	ipc_put_u8(m, c->have_tls);
	ipc_put_bytes(m, c->cert_pem, c->cert_len);
	ipc_put_bytes(m, c->key_pem, c->key_len);
	ipc_put_u32(m, c->max_conns);
	ipc_put_u32(m, c->max_conns_uid);
	ipc_put_u32(m, c->max_conns_addr);
	ipc_put_u32(m, c->timeout_s);
	ipc_put_u8(m, c->seccomp_debug);
	ipc_put_str(m, c->listen);
	ipc_put_str(m, c->mcp_origins);
}

static int
pem_ok(int tls, size_t len)
{
	return tls ? len > 0 && len <= PEM_MAX : len == 0;
}

int
msg_config_get(struct ipc_reader *r, struct msg_config *c)
{
	const void *cert, *key;

	memset(c, 0, sizeof(*c));
	if (ipc_get_strbuf(r, c->user, sizeof(c->user)) == -1 ||
	    ipc_get_strbuf(r, c->chroot_dir, sizeof(c->chroot_dir)) == -1 ||
	    ipc_get_u8(r, &c->have_tls) == -1 ||
	    ipc_get_bytes(r, &cert, &c->cert_len) == -1 ||
	    ipc_get_bytes(r, &key, &c->key_len) == -1 ||
	    ipc_get_u32(r, &c->max_conns) == -1 ||
	    ipc_get_u32(r, &c->max_conns_uid) == -1 ||
	    ipc_get_u32(r, &c->max_conns_addr) == -1 ||
	    ipc_get_u32(r, &c->timeout_s) == -1 ||
	    ipc_get_u8(r, &c->seccomp_debug) == -1 ||
	    ipc_get_strbuf(r, c->listen, sizeof(c->listen)) == -1 ||
	    ipc_get_strbuf(r, c->mcp_origins, sizeof(c->mcp_origins)) == -1 ||
	    ipc_end(r) == -1)
		return -1;
	c->cert_pem = cert;
	c->key_pem = key;
	if (!valid_id(c->user, strlen(c->user)) || c->chroot_dir[0] != '/' ||
	    !is_bool(c->have_tls) || !pem_ok(c->have_tls, c->cert_len) ||
	    !pem_ok(c->have_tls, c->key_len) || c->max_conns == 0 ||
	    c->max_conns_uid == 0 || c->max_conns_addr == 0 ||
	    c->timeout_s == 0 || !is_bool(c->seccomp_debug) ||
	    (c->listen[0] != '\0' && !valid_printable(c->listen,
	    LISTEN_MAX - 1)) || !is_text(c->mcp_origins))
		return -1;
	return 0;
}

void
msg_reload_put(struct ipc_msg *m, const struct msg_reload *c)
{
	ipc_put_u8(m, c->have_tls);
	ipc_put_bytes(m, c->cert_pem, c->cert_len);
	ipc_put_bytes(m, c->key_pem, c->key_len);
	ipc_put_u32(m, c->max_conns_uid);
	ipc_put_u32(m, c->max_conns_addr);
}

int
msg_reload_get(struct ipc_reader *r, struct msg_reload *c)
{
	const void *cert, *key;

	memset(c, 0, sizeof(*c));
	if (ipc_get_u8(r, &c->have_tls) == -1 ||
	    ipc_get_bytes(r, &cert, &c->cert_len) == -1 ||
	    ipc_get_bytes(r, &key, &c->key_len) == -1 ||
	    ipc_get_u32(r, &c->max_conns_uid) == -1 ||
	    ipc_get_u32(r, &c->max_conns_addr) == -1 || ipc_end(r) == -1)
		return -1;
	c->cert_pem = cert;
	c->key_pem = key;
	if (!is_bool(c->have_tls) || !pem_ok(c->have_tls, c->cert_len) ||
	    !pem_ok(c->have_tls, c->key_len) || c->max_conns_uid == 0 ||
	    c->max_conns_addr == 0)
		return -1;
	return 0;
}

void
msg_conn_unix_put(struct ipc_msg *m, int fd)
{
	ipc_msg_set_fd(m, fd);
}

/* The descriptor is the caller's from here on: the reader lets it go. */
int
msg_conn_unix_get(struct ipc_reader *r, int *fd)
{
	if (r->fd == -1 || ipc_end(r) == -1)
		return -1;
	*fd = r->fd;
	r->fd = -1;
	return 0;
}

void
msg_session_put(struct ipc_msg *m, const struct msg_session *s)
{
	ipc_put_u64(m, s->session);
	ipc_put_str(m, s->user_id);
	ipc_put_u8(m, s->role);
}

int
msg_session_get(struct ipc_reader *r, struct msg_session *s)
{
	memset(s, 0, sizeof(*s));
	if (ipc_get_u64(r, &s->session) == -1 ||
	    ipc_get_strbuf(r, s->user_id, sizeof(s->user_id)) == -1 ||
	    ipc_get_u8(r, &s->role) == -1 || ipc_end(r) == -1)
		return -1;
	return s->session != 0 && opt_id(s->user_id) &&
	    (s->role == ROLE_MEMBER || s->role == ROLE_ADMIN) ? 0 : -1;
}

void
msg_conn_close_put(struct ipc_msg *m, const struct msg_conn_close *c)
{
	ipc_put_u64(m, c->session);
}

/* Any handle: one that names no session closes nothing. */
int
msg_conn_close_get(struct ipc_reader *r, struct msg_conn_close *c)
{
	memset(c, 0, sizeof(*c));
	return ipc_get_u64(r, &c->session) == -1 || ipc_end(r) == -1 ? -1 : 0;
}

void
msg_secret_list_put(struct ipc_msg *m, const struct msg_secret_list *l)
{
	msg_auth_put(m, &l->auth);
	ipc_put_u8(m, l->flags);
	ipc_put_str(m, l->category);
	ipc_put_str(m, l->user_id);
	ipc_put_u32(m, l->limit);
	ipc_put_str(m, l->cursor);
	ipc_put_str(m, l->prefix);
}

int
msg_secret_list_get(struct ipc_reader *r, struct msg_secret_list *l)
{
	memset(l, 0, sizeof(*l));
	if (msg_auth_get(r, &l->auth) == -1 || ipc_get_u8(r, &l->flags) == -1 ||
	    ipc_get_strbuf(r, l->category, sizeof(l->category)) == -1 ||
	    ipc_get_strbuf(r, l->user_id, sizeof(l->user_id)) == -1 ||
	    ipc_get_u32(r, &l->limit) == -1 ||
	    ipc_get_strbuf(r, l->cursor, sizeof(l->cursor)) == -1 ||
	    ipc_get_strbuf(r, l->prefix, sizeof(l->prefix)) == -1 ||
	    ipc_end(r) == -1)
		return -1;
	return (l->flags & ~LIST_FLAGS) == 0 && opt_category(l->category) &&
	    opt_id(l->user_id) && l->limit <= LIST_MAX_LIMIT &&
	    opt_cursor(l->cursor, CURSOR_MAX_LEN) &&
	    (l->prefix[0] == '\0' || is_name(l->prefix)) ? 0 : -1;
}

void
msg_secret_page_put(struct ipc_msg *m, const struct msg_secret_page *p)
{
	uint32_t i;

	ipc_put_u32(m, p->n);
	for (i = 0; i < p->n; i++)
		meta_put(m, &p->metas[i]);
	ipc_put_str(m, p->next);
}

int
msg_secret_page_get(struct ipc_reader *r, struct msg_secret_page *p,
    msg_meta_cb each, void *arg)
{
	struct secret_meta s;
	uint32_t i;

	memset(p, 0, sizeof(*p));
	if (ipc_get_u32(r, &p->n) == -1 || p->n > LIST_MAX_LIMIT)
		return -1;
	for (i = 0; i < p->n; i++)
		if (meta_get(r, &s) == -1 ||
		    (each != NULL && each(arg, &s) == -1))
			return -1;
	if (ipc_get_strbuf(r, p->next, sizeof(p->next)) == -1 ||
	    ipc_end(r) == -1)
		return -1;
	return opt_cursor(p->next, CURSOR_MAX_LEN) ? 0 : -1;
}

/* A success reply's header, counted: where every page starts. */
static void
measure_reply(struct ipc_msg *m)
{
	struct msg_reply ok = { RT_OK, "" };

	ipc_msg_measure(m);
	msg_reply_put(m, &ok);
}

/*
 * How many of the n records one reply holds beside the longest cursor,
 * counted by the encoders that will write them; *len, when not NULL, is
 * the size of that reply (the whole message, with the longest cursor).
 */
size_t
msg_secret_page_fit(const struct secret_meta *metas, size_t n, size_t *len)
{
	size_t before;

	struct msg_secret_page p;
	struct ipc_msg m;
	size_t i;

	memset(&p, 0, sizeof(p));
	memset(p.next, 'f', CURSOR_MAX_LEN);
	measure_reply(&m);
	msg_secret_page_put(&m, &p);
	for (i = 0; i < n; i++) {
		before = m.len;
		meta_put(&m, &metas[i]);
		if (m.err) {
			m.len = before;
			break;
		}
	}
	if (len != NULL)
		*len = m.len;
	return i;
}

void
msg_secret_write_put(struct ipc_msg *m, const struct msg_secret_write *w)
{
	msg_auth_put(m, &w->auth);
	ipc_put_str(m, w->name);
	ipc_put_bytes(m, w->value, w->value_len);
	ipc_put_str(m, w->category);
	ipc_put_u8(m, w->has_description);
	ipc_put_str(m, w->description);
	ipc_put_u8(m, w->org_wide);
	ipc_put_str(m, w->user_id);
	ipc_put_u8(m, w->has_expires);
	ipc_put_u64(m, w->expires_at);
}

int
msg_secret_write_get(struct ipc_reader *r, struct msg_secret_write *w)
{
	const void *v;

	memset(w, 0, sizeof(*w));
	if (msg_auth_get(r, &w->auth) == -1 ||
	    ipc_get_strbuf(r, w->name, sizeof(w->name)) == -1 ||
	    ipc_get_bytes(r, &v, &w->value_len) == -1 ||
	    ipc_get_strbuf(r, w->category, sizeof(w->category)) == -1 ||
	    ipc_get_u8(r, &w->has_description) == -1 ||
	    ipc_get_strbuf(r, w->description, sizeof(w->description)) == -1 ||
	    ipc_get_u8(r, &w->org_wide) == -1 ||
	    ipc_get_strbuf(r, w->user_id, sizeof(w->user_id)) == -1 ||
	    ipc_get_u8(r, &w->has_expires) == -1 ||
	    ipc_get_u64(r, &w->expires_at) == -1 ||
	    ipc_end(r) == -1)
		return -1;
	w->value = v;
	return is_name(w->name) && w->value_len >= 1 &&
	    w->value_len <= VALUE_MAX_LEN && opt_category(w->category) &&
	    is_bool(w->has_description) &&
	    (w->has_description || w->description[0] == '\0') &&
	    is_bool(w->org_wide) && opt_id(w->user_id) &&
	    is_bool(w->has_expires) &&
	    (w->has_expires || w->expires_at == 0) &&
	    w->expires_at <= EXPIRES_MAX ? 0 : -1;
}

void
msg_secret_written_put(struct ipc_msg *m, const struct msg_secret_written *w)
{
	ipc_put_u8(m, w->created);
	meta_put(m, &w->meta);
}

int
msg_secret_written_get(struct ipc_reader *r, struct msg_secret_written *w)
{
	memset(w, 0, sizeof(*w));
	if (ipc_get_u8(r, &w->created) == -1 || meta_get(r, &w->meta) == -1 ||
	    ipc_end(r) == -1)
		return -1;
	return is_bool(w->created) ? 0 : -1;
}

void
msg_secret_ref_put(struct ipc_msg *m, const struct msg_secret_ref *s)
{
	msg_auth_put(m, &s->auth);
	ipc_put_str(m, s->name);
	ipc_put_u8(m, s->org_wide);
	ipc_put_str(m, s->user_id);
	ipc_put_u32(m, s->version);
}

int
msg_secret_ref_get(struct ipc_reader *r, struct msg_secret_ref *s)
{
	memset(s, 0, sizeof(*s));
	if (msg_auth_get(r, &s->auth) == -1 ||
	    ipc_get_strbuf(r, s->name, sizeof(s->name)) == -1 ||
	    ipc_get_u8(r, &s->org_wide) == -1 ||
	    ipc_get_strbuf(r, s->user_id, sizeof(s->user_id)) == -1 ||
	    ipc_get_u32(r, &s->version) == -1 || ipc_end(r) == -1)
		return -1;
	return is_name(s->name) && is_bool(s->org_wide) &&
	    opt_id(s->user_id) ? 0 : -1;
}

void
msg_secret_versions_put(struct ipc_msg *m, const struct msg_secret_versions *l)
{
	uint32_t i;

	meta_put(m, &l->meta);
	ipc_put_u32(m, l->n);
	for (i = 0; i < l->n && i < VERSIONS_MAX; i++) {
		ipc_put_u32(m, l->v[i].version);
		ipc_put_u64(m, l->v[i].created_at);
		ipc_put_str(m, l->v[i].created_by);
	}
}

/* Newest first, each older than the one before, the first the current. */
int
msg_secret_versions_get(struct ipc_reader *r, struct msg_secret_versions *l)
{
	struct secret_version *v;
	uint32_t i;

	memset(l, 0, sizeof(*l));
	if (meta_get(r, &l->meta) == -1 || ipc_get_u32(r, &l->n) == -1 ||
	    l->n < 1 || l->n > VERSIONS_MAX)
		return -1;
	for (i = 0; i < l->n; i++) {
		v = &l->v[i];
		if (ipc_get_u32(r, &v->version) == -1 ||
		    ipc_get_u64(r, &v->created_at) == -1 ||
		    ipc_get_strbuf(r, v->created_by,
		    sizeof(v->created_by)) == -1 ||
		    !valid_id(v->created_by, strlen(v->created_by)) ||
		    v->version == 0 || (i == 0 ? v->version !=
		    l->meta.version : v->version >= l->v[i - 1].version))
			return -1;
	}
	return ipc_end(r);
}

void
msg_secret_meta_put(struct ipc_msg *m, const struct secret_meta *s)
{
	meta_put(m, s);
}

int
msg_secret_meta_get(struct ipc_reader *r, struct secret_meta *s)
{
	return meta_get(r, s) == -1 || ipc_end(r) == -1 ? -1 : 0;
}

void
msg_secret_value_put(struct ipc_msg *m, const struct msg_secret_value *v)
{
	meta_put(m, &v->meta);
	ipc_put_bytes(m, v->value, v->value_len);
}

int
msg_secret_value_get(struct ipc_reader *r, struct msg_secret_value *v)
{
	const void *p;

	memset(v, 0, sizeof(*v));
	if (meta_get(r, &v->meta) == -1 ||
	    ipc_get_bytes(r, &p, &v->value_len) == -1 || ipc_end(r) == -1)
		return -1;
	v->value = p;
	return v->value_len >= 1 && v->value_len <= VALUE_MAX_LEN ? 0 : -1;
}

void
msg_secret_deleted_put(struct ipc_msg *m, const struct msg_secret_deleted *d)
{
	ipc_put_str(m, d->name);
	ipc_put_u8(m, d->scope);
}

int
msg_secret_deleted_get(struct ipc_reader *r, struct msg_secret_deleted *d)
{
	memset(d, 0, sizeof(*d));
	if (ipc_get_strbuf(r, d->name, sizeof(d->name)) == -1 ||
	    ipc_get_u8(r, &d->scope) == -1 || ipc_end(r) == -1)
		return -1;
	return is_name(d->name) &&
	    (d->scope == SCOPE_USER || d->scope == SCOPE_ORG) ? 0 : -1;
}

void
msg_token_create_put(struct ipc_msg *m, const struct msg_token_create *t)
{
	msg_auth_put(m, &t->auth);
	ipc_put_u8(m, t->role);
	ipc_put_str(m, t->description);
	ipc_put_u64(m, t->ttl);
	scopes_put(m, &t->scopes);
}

int
msg_token_create_get(struct ipc_reader *r, struct msg_token_create *t)
{
	memset(t, 0, sizeof(*t));
	if (msg_auth_get(r, &t->auth) == -1 || ipc_get_u8(r, &t->role) == -1 ||
	    ipc_get_strbuf(r, t->description, sizeof(t->description)) == -1 ||
	    ipc_get_u64(r, &t->ttl) == -1 || scopes_get(r, &t->scopes) == -1 ||
	    ipc_end(r) == -1)
		return -1;
	return (t->role == ROLE_MEMBER || t->role == ROLE_ADMIN) &&
	    t->ttl <= TOKEN_TTL_MAX ? 0 : -1;
}

void
msg_token_created_put(struct ipc_msg *m, const struct msg_token_created *t)
{
	ipc_put_str(m, t->token);
	token_put(m, &t->meta);
}

int
msg_token_created_get(struct ipc_reader *r, struct msg_token_created *t)
{
	memset(t, 0, sizeof(*t));
	if (ipc_get_str(r, &t->token, NULL) == -1 ||
	    token_get(r, &t->meta) == -1 || ipc_end(r) == -1)
		return -1;
	return valid_token(t->token) && memcmp(t->token +
	    sizeof(TOKEN_PREFIX) - 1, t->meta.id, TOKEN_ID_LEN) == 0 ? 0 : -1;
}

void
msg_token_list_put(struct ipc_msg *m, const struct msg_token_list *l)
{
	msg_auth_put(m, &l->auth);
	ipc_put_u32(m, l->limit);
	ipc_put_str(m, l->cursor);
}

int
msg_token_list_get(struct ipc_reader *r, struct msg_token_list *l)
{
	memset(l, 0, sizeof(*l));
	if (msg_auth_get(r, &l->auth) == -1 || ipc_get_u32(r, &l->limit) == -1 ||
	    ipc_get_strbuf(r, l->cursor, sizeof(l->cursor)) == -1 ||
	    ipc_end(r) == -1)
		return -1;
	return l->limit <= LIST_MAX_LIMIT &&
	    opt_cursor(l->cursor, TOKEN_CURSOR_MAX_LEN) ? 0 : -1;
}

void
msg_token_page_put(struct ipc_msg *m, const struct msg_token_page *p)
{
	uint32_t i;

	ipc_put_u32(m, p->n);
	for (i = 0; i < p->n; i++)
		token_put(m, &p->tokens[i]);
	ipc_put_str(m, p->next);
}

int
msg_token_page_get(struct ipc_reader *r, struct msg_token_page *p,
    msg_token_cb each, void *arg)
{
	struct token_meta t;
	uint32_t i;

	memset(p, 0, sizeof(*p));
	if (ipc_get_u32(r, &p->n) == -1 || p->n > LIST_MAX_LIMIT)
		return -1;
	for (i = 0; i < p->n; i++)
		if (token_get(r, &t) == -1 ||
		    (each != NULL && each(arg, &t) == -1))
			return -1;
	if (ipc_get_strbuf(r, p->next, sizeof(p->next)) == -1 ||
	    ipc_end(r) == -1)
		return -1;
	return opt_cursor(p->next, TOKEN_CURSOR_MAX_LEN) ? 0 : -1;
}

size_t
msg_token_page_fit(const struct token_meta *tokens, size_t n)
{
	struct msg_token_page p;
	struct ipc_msg m;
	size_t i;

	memset(&p, 0, sizeof(p));
	memset(p.next, 'f', TOKEN_CURSOR_MAX_LEN);
	measure_reply(&m);
	msg_token_page_put(&m, &p);
	for (i = 0; i < n; i++) {
		token_put(&m, &tokens[i]);
		if (m.err)
			break;
	}
	return i;
}

void
msg_token_revoke_put(struct ipc_msg *m, const struct msg_token_revoke *t)
{
	msg_auth_put(m, &t->auth);
	ipc_put_str(m, t->id);
}

int
msg_token_revoke_get(struct ipc_reader *r, struct msg_token_revoke *t)
{
	memset(t, 0, sizeof(*t));
	if (msg_auth_get(r, &t->auth) == -1 ||
	    ipc_get_strbuf(r, t->id, sizeof(t->id)) == -1 || ipc_end(r) == -1)
		return -1;
	return valid_token_id(t->id, strlen(t->id)) ? 0 : -1;
}

void
msg_token_meta_put(struct ipc_msg *m, const struct token_meta *t)
{
	token_put(m, t);
}

int
msg_token_meta_get(struct ipc_reader *r, struct token_meta *t)
{
	return token_get(r, t) == -1 || ipc_end(r) == -1 ? -1 : 0;
}

void
msg_whoami_put(struct ipc_msg *m, const struct msg_whoami *w)
{
	ipc_put_str(m, w->user_id);
	ipc_put_str(m, w->org_id);
	ipc_put_u8(m, w->role);
	ipc_put_u8(m, w->auth);
	ipc_put_u32(m, w->uid);
	ipc_put_str(m, w->token_id);
	ipc_put_u64(m, w->token_expires);
	scopes_put(m, &w->scopes);
}

/* Each way in has its own fields, and the other way's stay zero. */
static int
whoami_auth_ok(const struct msg_whoami *w)
{
	if (w->auth == AUTH_SESSION)
		return w->token_id[0] == '\0' && w->token_expires == 0 &&
		    w->scopes.n == 0;
	return w->auth == AUTH_TOKEN && w->uid == 0 &&
	    valid_token_id(w->token_id, strlen(w->token_id));
}

int
msg_whoami_get(struct ipc_reader *r, struct msg_whoami *w)
{
	memset(w, 0, sizeof(*w));
	if (ipc_get_strbuf(r, w->user_id, sizeof(w->user_id)) == -1 ||
	    ipc_get_strbuf(r, w->org_id, sizeof(w->org_id)) == -1 ||
	    ipc_get_u8(r, &w->role) == -1 || ipc_get_u8(r, &w->auth) == -1 ||
	    ipc_get_u32(r, &w->uid) == -1 ||
	    ipc_get_strbuf(r, w->token_id, sizeof(w->token_id)) == -1 ||
	    ipc_get_u64(r, &w->token_expires) == -1 ||
	    scopes_get(r, &w->scopes) == -1 || ipc_end(r) == -1)
		return -1;
	return valid_id(w->user_id, strlen(w->user_id)) &&
	    valid_id(w->org_id, strlen(w->org_id)) &&
	    (w->role == ROLE_MEMBER || w->role == ROLE_ADMIN) &&
	    whoami_auth_ok(w) ? 0 : -1;
}

void
msg_health_put(struct ipc_msg *m, const struct msg_health *h)
{
	ipc_put_u8(m, h->store_full);
	ipc_put_u8(m, h->audit_failing);
}

static int
health_get(struct ipc_reader *r, struct msg_health *h)
{
	if (ipc_get_u8(r, &h->store_full) == -1 ||
	    ipc_get_u8(r, &h->audit_failing) == -1)
		return -1;
	return is_bool(h->store_full) && is_bool(h->audit_failing) ? 0 : -1;
}

int
msg_health_get(struct ipc_reader *r, struct msg_health *h)
{
	memset(h, 0, sizeof(*h));
	return health_get(r, h) == -1 || ipc_end(r) == -1 ? -1 : 0;
}

static void
put_u64s(struct ipc_msg *m, const uint64_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ipc_put_u64(m, v[i]);
}

static int
get_u64s(struct ipc_reader *r, uint64_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ipc_get_u64(r, &v[i]) == -1)
			return -1;
	return 0;
}

void
msg_metrics_put(struct ipc_msg *m, const struct msg_metrics *x)
{
	uint32_t i;

	ipc_put_u64(m, x->start_time);
	put_u64s(m, x->reveals, 2);
	ipc_put_u64(m, x->denials);
	put_u64s(m, x->auth_failures, MAUTH_MAX);
	ipc_put_u64(m, x->commits);
	put_u64s(m, x->batch_buckets, METRICS_BATCH_BUCKETS);
	ipc_put_u64(m, x->batch_writes);
	ipc_put_u64(m, x->store_bytes);
	ipc_put_u64(m, x->secrets);
	ipc_put_u64(m, x->frontend_restarts);
	ipc_put_u64(m, x->runner_restarts);
	ipc_put_u64(m, x->audit_failures);
	msg_health_put(m, &x->health);
	ipc_put_u32(m, x->ntools);
	for (i = 0; i < x->ntools; i++) {
		ipc_put_str(m, x->tools[i].tool);
		put_u64s(m, x->tools[i].outcomes, MTOOL_MAX);
	}
}

/*
 * The buckets add up to the commits, and every commit holds one write
 * and at most as many as the last bucket's bound.
 */
static int
batches_ok(const struct msg_metrics *x)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < METRICS_BATCH_BUCKETS; i++) {
		if (x->batch_buckets[i] > x->commits - sum)
			return 0;
		sum += x->batch_buckets[i];
	}
	return sum == x->commits && x->batch_writes >= x->commits &&
	    x->commits <= UINT64_MAX >> (METRICS_BATCH_BUCKETS - 1) &&
	    x->batch_writes <= x->commits << (METRICS_BATCH_BUCKETS - 1);
}

/* Each tool is named once, in order, so no two series collide. */
static int
tool_counts_get(struct ipc_reader *r, uint32_t n, msg_tool_count_cb each,
    void *arg)
{
	struct msg_tool_count t;
	char prev[TOOL_NAME_MAX + 1] = "";
	uint32_t i;

	for (i = 0; i < n; i++) {
		memset(&t, 0, sizeof(t));
		if (ipc_get_strbuf(r, t.tool, sizeof(t.tool)) == -1 ||
		    get_u64s(r, t.outcomes, MTOOL_MAX) == -1 ||
		    !valid_tool_name(t.tool, strlen(t.tool)) ||
		    (i > 0 && strcmp(prev, t.tool) >= 0) ||
		    (each != NULL && each(arg, &t) == -1))
			return -1;
		memcpy(prev, t.tool, sizeof(prev));
	}
	return 0;
}

int
msg_metrics_get(struct ipc_reader *r, struct msg_metrics *x,
    msg_tool_count_cb each, void *arg)
{
	memset(x, 0, sizeof(*x));
	if (ipc_get_u64(r, &x->start_time) == -1 ||
	    get_u64s(r, x->reveals, 2) == -1 ||
	    ipc_get_u64(r, &x->denials) == -1 ||
	    get_u64s(r, x->auth_failures, MAUTH_MAX) == -1 ||
	    ipc_get_u64(r, &x->commits) == -1 ||
	    get_u64s(r, x->batch_buckets, METRICS_BATCH_BUCKETS) == -1 ||
	    ipc_get_u64(r, &x->batch_writes) == -1 ||
	    ipc_get_u64(r, &x->store_bytes) == -1 ||
	    ipc_get_u64(r, &x->secrets) == -1 ||
	    ipc_get_u64(r, &x->frontend_restarts) == -1 ||
	    ipc_get_u64(r, &x->runner_restarts) == -1 ||
	    ipc_get_u64(r, &x->audit_failures) == -1 ||
	    health_get(r, &x->health) == -1 ||
	    ipc_get_u32(r, &x->ntools) == -1 ||
	    x->ntools > METRICS_TOOLS_MAX || !batches_ok(x) ||
	    tool_counts_get(r, x->ntools, each, arg) == -1)
		return -1;
	return ipc_end(r);
}

int
msg_empty_get(struct ipc_reader *r)
{
	return ipc_end(r);
}

void
msg_reply_put(struct ipc_msg *m, const struct msg_reply *p)
{
	ipc_put_u32(m, p->status);
	ipc_put_str(m, p->message);
}

/* A refusal ends here; a success's fields are its request's to read. */
int
msg_reply_get(struct ipc_reader *r, struct msg_reply *p)
{
	int ok;

	memset(p, 0, sizeof(*p));
	if (ipc_get_u32(r, &p->status) == -1 || p->status >= RT_MAX ||
	    ipc_get_strbuf(r, p->message, sizeof(p->message)) == -1 ||
	    !is_text(p->message))
		return -1;
	ok = p->status == RT_OK || p->status == RT_CREATED;
	if (ok && p->message[0] != '\0')
		return -1;
	return ok || ipc_end(r) == 0 ? 0 : -1;
}
