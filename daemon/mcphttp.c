/*
 * /v1/mcp: the Model Context Protocol's Streamable HTTP transport over
 * the tool routes.  One JSON-RPC message a POST, answered with one
 * application/json body (never a stream); the protocol is common/mcp.c.
 * Every message is first vouched for by the broker (IMSG_WHOAMI), and
 * tools/list and tools/call go through the very messages GET /v1/tools
 * and POST .../execute send, so the broker decides and audits them as
 * it does those.  Sessions live here, each bound to the identity the
 * broker named; they hold a protocol revision and a client's name,
 * never anything a caller could not see anyway.
 */
#include "config.h"

#include <sys/random.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend.h"
#include "log.h"
#include "mcp.h"
#include "tool.h"

#define MCP_SESSIONS_MAX	256
#define MCP_SESSION_ID_LEN	32	/* hex of 16 random bytes */
#define MCP_OWNER_MAX		(2 + TOKEN_ID_LEN + 1)

/* A session: who opened it, and what initialize settled. */
struct mcp_sess {
	char		 id[MCP_SESSION_ID_LEN + 1];	/* "": free */
	char		 owner[MCP_OWNER_MAX];	/* "t:" token id, "u:" uid */
	struct mcp_session s;
	struct timespec	 used;
};

/* One request's state across its broker round trips. */
struct mcp_ctx {
	char		 owner[MCP_OWNER_MAX];
	enum mcp_rev	 header_rev;	/* MCP-Protocol-Version; NONE: none */
	struct mcp_session s;		/* a copy: the table may change */
	char		 sess_id[MCP_SESSION_ID_LEN + 1];	/* "": none */
	int		 deleting;	/* DELETE: end the session */
	struct mcp_request req;		/* borrows from fr->body */
	json_t		*tools;		/* {"tools": [...]} so far */
};

static struct mcp_sess sessions[MCP_SESSIONS_MAX];

static const struct mcp_server_info server = { "secretd", PACKAGE_VERSION };

void
mcp_ctx_free(struct mcp_ctx *c)
{
	if (c == NULL)
		return;
	json_decref(c->tools);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

/*
 * DNS rebinding: a page in a browser may reach a listener on this host,
 * and a browser always says where the page came from.  No Origin is a
 * client that is no browser; otherwise only our own address and the
 * configured origins pass.
 */
static int
origin_ok(const char *origin)
{
	const char *p = fe_conf.mcp_origins, *e;
	char own[LISTEN_MAX + 8];
	size_t n = origin != NULL ? strlen(origin) : 0;

	if (origin == NULL)
		return 1;
	if (fe_conf.listen[0] != '\0') {
		snprintf(own, sizeof(own), "https://%s", fe_conf.listen);
		if (strcmp(origin, own) == 0)
			return 1;
	}
	for (; *p != '\0'; p = *e == ' ' ? e + 1 : e) {
		if ((e = strchr(p, ' ')) == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) == n && strncmp(p, origin, n) == 0)
			return 1;
	}
	return 0;
}

static struct mcp_sess *
session_find(const char *id)
{
	size_t i;

	if (id == NULL || strlen(id) != MCP_SESSION_ID_LEN)
		return NULL;
	for (i = 0; i < MCP_SESSIONS_MAX; i++)
		if (sessions[i].id[0] != '\0' &&
		    strcmp(sessions[i].id, id) == 0)
			return &sessions[i];
	return NULL;
}

static int
used_before(const struct mcp_sess *a, const struct mcp_sess *b)
{
	return a->used.tv_sec != b->used.tv_sec ?
	    a->used.tv_sec < b->used.tv_sec :
	    a->used.tv_nsec < b->used.tv_nsec;
}

static size_t
owner_sessions(const char *owner)
{
	size_t i, n = 0;

	for (i = 0; i < MCP_SESSIONS_MAX; i++)
		if (sessions[i].id[0] != '\0' &&
		    strcmp(sessions[i].owner, owner) == 0)
			n++;
	return n;
}

/*
 * A full table gives up a session of the caller holding the most, the
 * one it used longest ago: a caller opening sessions by the hundred
 * pushes out its own, never those of a caller holding fewer.
 */
static struct mcp_sess *
session_victim(void)
{
	struct mcp_sess *v = NULL;
	size_t i, n, most = 0;

	for (i = 0; i < MCP_SESSIONS_MAX; i++) {
		n = owner_sessions(sessions[i].owner);
		if (v == NULL || n > most || (n == most &&
		    used_before(&sessions[i], v))) {
			v = &sessions[i];
			most = n;
		}
	}
	return v;
}

/* A free slot, else a victim's: the table is bounded. */
static struct mcp_sess *
session_new(const char *owner, const struct mcp_session *s)
{
	static const char hex[] = "0123456789abcdef";
	struct mcp_sess *v = NULL;
	uint8_t rnd[MCP_SESSION_ID_LEN / 2];
	size_t i;

	for (i = 0; i < MCP_SESSIONS_MAX && v == NULL; i++)
		if (sessions[i].id[0] == '\0')
			v = &sessions[i];
	if (v == NULL)
		v = session_victim();
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return NULL;
	memset(v, 0, sizeof(*v));
	for (i = 0; i < sizeof(rnd); i++) {
		v->id[2 * i] = hex[rnd[i] >> 4];
		v->id[2 * i + 1] = hex[rnd[i] & 0xf];
	}
	snprintf(v->owner, sizeof(v->owner), "%s", owner);
	v->s = *s;
	clock_gettime(CLOCK_MONOTONIC, &v->used);
	return v;
}

/* A JSON-RPC answer: 200 whatever it says, as the transport asks. */
static void
reply_rpc(struct fe_req *fr, int code, json_t *msg)
{
	if (msg == NULL) {
		http_reply_status(fr, RT_INTERNAL, "out of memory");
		return;
	}
	http_reply_json(fr, code, msg);
}

static void	list_page(struct fe_req *, const char *cursor);
static int	exec_done(void *, enum rt_status, const char *,
		    struct ipc_reader *);

static void
call_tool(struct fe_req *fr)
{
	struct mcp_ctx *c = fr->mcp;
	struct mcp_call call;
	json_t *reply = NULL;
	char err[256];

	memset(&call, 0, sizeof(call));
	if (mcp_call_to_execute(&c->req, c->tools, NULL, NULL, &call,
	    &reply) == -1) {
		reply_rpc(fr, 200, reply);
		return;
	}
	if (tool_exec_send(fr, call.body, call.tool, c->s.client[0] != '\0' ?
	    c->s.client : NULL, exec_done, err, sizeof(err)) == -1)
		reply_rpc(fr, 200, jrpc_error(c->req.id, JRPC_INVALID_PARAMS,
		    err, NULL));
	mcp_call_clear(&call);
}

/*
 * The execute route's answer, success or refusal, as the body it would
 * have sent: a refusal is a tool error the model may read, not a
 * transport failure.
 */
static int
exec_done(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	struct mcp_ctx *c = fr->mcp;
	json_t *o;
	int bad, code = 200;

	fr->pending = NULL;
	if (st == RT_OK) {
		if ((o = exec_result_json(r, &bad)) == NULL && bad)
			return bad_reply(fr);
	} else {
		code = rt_status_http(st);
		o = json_pack("{s:{s:s,s:s}}", "error", "code",
		    rt_status_code(st), "message", msg != NULL ? msg : "");
	}
	reply_rpc(fr, 200, mcp_call_reply(&c->req, code, o));
	json_decref(o);
	return 0;
}

static int
list_done(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	struct mcp_ctx *c = fr->mcp;
	json_t *page, *next;
	int bad;

	if (!reply_ok(fr, st, msg))
		return 0;
	if ((page = tool_page_json(r, &bad)) == NULL && bad)
		return bad_reply(fr);
	if (page == NULL) {
		http_reply_status(fr, RT_INTERNAL, "out of memory");
		return 0;
	}
	if (c->tools == NULL)
		c->tools = json_pack("{s:[]}", "tools");
	json_array_extend(json_object_get(c->tools, "tools"),
	    json_object_get(page, "tools"));
	next = json_object_get(page, "nextCursor");
	if (json_is_string(next))
		list_page(fr, json_string_value(next));
	else if (c->req.name != NULL)
		call_tool(fr);
	else
		reply_rpc(fr, 200, mcp_list_reply(&c->req, c->tools, NULL));
	json_decref(page);
	return 0;
}

/* Every tool the caller may see, a page at a time, as GET /v1/tools. */
static void
list_page(struct fe_req *fr, const char *cursor)
{
	struct tool_list_req lr;
	struct ipc_msg m;

	memset(&lr, 0, sizeof(lr));
	http_auth(fr, &lr.auth);
	snprintf(lr.cursor, sizeof(lr.cursor), "%s", cursor);
	bc_msg_init(&m, IMSG_TOOL_LIST);
	tool_list_req_put(&m, &lr);
	send_request(fr, &m, list_done);
}

/*
 * The session a message names, held to the transport's rules: none
 * needed for initialize or a stateless revision; else missing is 400,
 * and unknown or another caller's is 404, the same answer.  -1 when
 * answered.
 */
static int
session_check(struct fe_req *fr, struct mcp_ctx *c, int initialize)
{
	const char *id = hr_header(fr->head, "Mcp-Session-Id");
	struct mcp_sess *v;

	if (initialize && !c->deleting)
		return 0;
	if (mcp_rev_is_stateless(c->header_rev) && !c->deleting)
		return 0;
	if (id == NULL) {
		http_reply_error(fr, 400, "invalid_request", "Mcp-Session-Id "
		    "is required after initialize");
		return -1;
	}
	if ((v = session_find(id)) == NULL || strcmp(v->owner,
	    c->owner) != 0) {
		http_reply_error(fr, 404, "not_found", "no such MCP session; "
		    "initialize again");
		return -1;
	}
	if (c->header_rev != MCP_REV_NONE && c->header_rev != v->s.rev) {
		http_reply_error(fr, 400, "invalid_request", "MCP-Protocol-"
		    "Version %s is not this session's %s",
		    mcp_rev_name(c->header_rev), mcp_rev_name(v->s.rev));
		return -1;
	}
	memcpy(c->sess_id, v->id, sizeof(c->sess_id));
	c->s = v->s;
	clock_gettime(CLOCK_MONOTONIC, &v->used);
	return 0;
}

/* A session's end, as DELETE asks. */
static void
session_end(struct fe_req *fr, struct mcp_ctx *c)
{
	struct mcp_sess *v = session_find(c->sess_id);

	if (v != NULL)
		explicit_bzero(v, sizeof(*v));
	http_reply_json(fr, 200, json_pack("{s:s,s:b}", "sessionId",
	    c->sess_id, "ended", 1));
}

/* After mcp_step: the session initialize opened, or the one it changed. */
static int
session_keep(struct fe_req *fr, struct mcp_ctx *c, int initialize,
    json_t *reply)
{
	struct mcp_sess *v;

	if (initialize && json_object_get(reply, "result") != NULL) {
		if ((v = session_new(c->owner, &c->s)) == NULL) {
			http_reply_status(fr, RT_INTERNAL, "no randomness for "
			    "a session id");
			return -1;
		}
		snprintf(fr->xheader, sizeof(fr->xheader),
		    "Mcp-Session-Id: %s\r\n", v->id);
	} else if (c->sess_id[0] != '\0' &&
	    (v = session_find(c->sess_id)) != NULL)
		v->s = c->s;
	return 0;
}

static void
dispatch(struct fe_req *fr, struct mcp_ctx *c)
{
	struct jrpc_msg m;
	json_t *reply = NULL;
	int initialize;

	if (fr->body == NULL) {
		reply_rpc(fr, 400, jrpc_error(NULL, JRPC_PARSE_ERROR,
		    "parse error: the body is not JSON", NULL));
		return;
	}
	if (json_is_array(fr->body)) {
		reply_rpc(fr, 400, jrpc_error(NULL, JRPC_INVALID_REQUEST,
		    "invalid request: one message a POST; batches are not "
		    "taken over HTTP", NULL));
		return;
	}
	if (jrpc_classify(fr->body, &m, &reply) == JRPC_INVALID) {
		reply_rpc(fr, 400, reply);
		return;
	}
	initialize = m.kind == JRPC_REQUEST &&
	    strcmp(m.method, "initialize") == 0;
	if (session_check(fr, c, initialize) == -1)
		return;
	switch (mcp_step(&c->s, &server, fr->body, &c->req, &reply)) {
	case MCP_STEP_NONE:
		if (session_keep(fr, c, 0, NULL) == 0)
			http_reply_empty(fr, 202);
		return;
	case MCP_STEP_REPLY:
		if (session_keep(fr, c, initialize, reply) == 0)
			reply_rpc(fr, 200, reply);
		else
			json_decref(reply);
		return;
	case MCP_STEP_LIST:
	case MCP_STEP_CALL:
		list_page(fr, "");
		return;
	}
}

/* Who the broker says the caller is: the owner of its sessions. */
static int
whoami_done(void *arg, enum rt_status st, const char *msg,
    struct ipc_reader *r)
{
	struct fe_req *fr = arg;
	struct mcp_ctx *c = fr->mcp;
	struct msg_whoami w;

	if (!reply_ok(fr, st, msg))
		return 0;
	if (msg_whoami_get(r, &w) == -1)
		return bad_reply(fr);
	if (w.auth == AUTH_TOKEN)
		snprintf(c->owner, sizeof(c->owner), "t:%s", w.token_id);
	else
		snprintf(c->owner, sizeof(c->owner), "u:%u", w.uid);
	if (c->deleting) {
		if (session_check(fr, c, 0) == 0)
			session_end(fr, c);
		return 0;
	}
	dispatch(fr, c);
	return 0;
}

/* Origin and MCP-Protocol-Version, from the head alone; then the broker. */
static void
mcp_start(struct fe_req *fr, int deleting)
{
	const char *v = hr_header(fr->head, "MCP-Protocol-Version");
	struct mcp_ctx *c;
	struct msg_auth a;
	struct ipc_msg m;

	if (!origin_ok(hr_header(fr->head, "Origin"))) {
		http_reply_error(fr, 403, "forbidden", "this Origin may not "
		    "use /v1/mcp (mcp_allowed_origins)");
		return;
	}
	if (v != NULL && mcp_rev_parse(v) == MCP_REV_NONE) {
		http_reply_error(fr, 400, "invalid_request", "unsupported "
		    "MCP-Protocol-Version");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		http_reply_status(fr, RT_INTERNAL, "out of memory");
		return;
	}
	c->header_rev = v != NULL ? mcp_rev_parse(v) : MCP_REV_NONE;
	c->deleting = deleting;
	fr->mcp = c;
	memset(&a, 0, sizeof(a));
	http_auth(fr, &a);
	bc_msg_init(&m, IMSG_WHOAMI);
	msg_auth_put(&m, &a);
	send_request(fr, &m, whoami_done);
}

void
mcp_post(struct fe_req *fr)
{
	mcp_start(fr, 0);
}

void
mcp_delete(struct fe_req *fr)
{
	mcp_start(fr, 1);
}
