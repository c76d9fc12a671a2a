/*
 * The Model Context Protocol over our tools: JSON-RPC 2.0 messages, the
 * protocol revisions, tools/list built from GET /v1/tools and tools/call
 * turned into POST /v1/tools/{tool}/execute and back.  JSON in, JSON
 * out: no I/O here, so runtools (stdio) and the front-end (HTTP) serve
 * the same protocol from one definition.
 */
#ifndef MCP_H
#define MCP_H

#include <stddef.h>

#include <jansson.h>

#include "tool.h"

#define MCP_NAME_MAX		128	/* a tool name, [A-Za-z0-9_.-] */
#define MCP_CLIENT_MAX		64	/* X-RunTools-Client, printable */
#define MCP_LINE_MAX		(1024 * 1024)	/* one stdio message */
#define MCP_PAGE_SIZE		100	/* tools in one tools/list page */
#define MCP_CURSOR_MAX		16

/* JSON-RPC 2.0 error codes, and the one MCP 2026-07-28 adds. */
#define JRPC_PARSE_ERROR	(-32700)
#define JRPC_INVALID_REQUEST	(-32600)
#define JRPC_METHOD_NOT_FOUND	(-32601)
#define JRPC_INVALID_PARAMS	(-32602)
#define JRPC_INTERNAL_ERROR	(-32603)
#define MCP_UNSUPPORTED_VERSION	(-32022)

/* Oldest first; a later revision compares greater. */
enum mcp_rev {
	MCP_REV_NONE = 0,
	MCP_2024_11_05,
	MCP_2025_03_26,		/* batches, tool annotations */
	MCP_2025_06_18,		/* no batches; structuredContent, title */
	MCP_2025_11_25,		/* the last with initialize */
	MCP_2026_07_28		/* stateless: _meta on every request */
};
#define MCP_REV_NEWEST		MCP_2026_07_28
#define MCP_REV_NEWEST_INIT	MCP_2025_11_25

const char	*mcp_rev_name(enum mcp_rev);
enum mcp_rev	 mcp_rev_parse(const char *);	/* MCP_REV_NONE: unknown */
/* What initialize answers: the client's revision when we speak it and it
 * has initialize, else our newest that has. */
enum mcp_rev	 mcp_rev_negotiate(const char *requested);
int		 mcp_rev_has_batches(enum mcp_rev);
int		 mcp_rev_has_structured(enum mcp_rev);
int		 mcp_rev_is_stateless(enum mcp_rev);
json_t		*mcp_rev_list(void);		/* every one we speak */

/* JSON-RPC 2.0: one decoded message. */
enum jrpc_kind {
	JRPC_REQUEST,
	JRPC_NOTIFICATION,
	JRPC_RESPONSE,		/* to us, who never ask: ignored */
	JRPC_BATCH,
	JRPC_INVALID
};

struct jrpc_msg {
	enum jrpc_kind	 kind;
	json_t		*id;		/* borrowed; NULL: notification */
	const char	*method;
	json_t		*params;	/* borrowed object, or NULL */
};

/* Parses one message's text; NULL and *reply the -32700 error if it is
 * not JSON. */
json_t		*jrpc_parse(const char *, size_t, json_t **reply);
/* Classifies a parsed message (a batch's member too); for an invalid
 * one, *reply is the -32600 error to send. */
enum jrpc_kind	 jrpc_classify(json_t *, struct jrpc_msg *, json_t **reply);
json_t		*jrpc_result(json_t *id, json_t *result);	/* steals */
json_t		*jrpc_error(json_t *id, int code, const char *message,
		    json_t *data);				/* steals data */

/* What the server says of itself in initialize and server/discover. */
struct mcp_server_info {
	const char	*name;		/* "secretd" */
	const char	*version;	/* PACKAGE_VERSION */
};

/*
 * One connection's state.  A stdio server has one; an HTTP server,
 * whose 2026-07-28 clients keep no session, may hold a zeroed one per
 * request.
 */
struct mcp_session {
	enum mcp_rev	 rev;		/* negotiated; NONE before initialize */
	int		 initialized;	/* notifications/initialized seen */
	char		 client[MCP_CLIENT_MAX + 1];	/* "mcp:" clientInfo.name */
};

/* What the server must do for a message mcp_step() did not answer. */
enum mcp_step {
	MCP_STEP_NONE,		/* nothing to send (a notification) */
	MCP_STEP_REPLY,		/* send *reply */
	MCP_STEP_LIST,		/* list the tools, then mcp_list_reply() */
	MCP_STEP_CALL		/* mcp_call_to_execute(), execute, then
				   mcp_call_reply() */
};

struct mcp_request {
	json_t		*id;		/* borrowed from the message */
	enum mcp_rev	 rev;		/* the revision this request speaks */
	const char	*cursor;	/* tools/list; NULL: first page */
	const char	*name;		/* tools/call */
	json_t		*arguments;	/* tools/call; borrowed, may be NULL */
};

/*
 * Serves the protocol's own methods (initialize, ping, server/discover,
 * notifications) and checks the others.  msg is one message, not a batch.
 */
enum mcp_step	 mcp_step(struct mcp_session *,
		    const struct mcp_server_info *, json_t *msg,
		    struct mcp_request *, json_t **reply);

/* Which tools to offer: names; none means every tool. */
struct mcp_filter {
	const char *const *tools;
	size_t		 ntools;
};

/*
 * Every MCP tool of a GET /v1/tools body ({"tools": [...]}), one per
 * tool action named TOOL__ACTION, in the list's order.  NULL if the body
 * is not a tool list.
 */
json_t		*mcp_tools_from_list(const json_t *tools_json,
		    const struct mcp_filter *);
/* The names in f that tools_json does not hold: "" when all are there. */
const char	*mcp_filter_missing(const json_t *tools_json,
		    const struct mcp_filter *);
/* The tools/list reply for req: one page of mcp_tools_from_list(). */
json_t		*mcp_list_reply(const struct mcp_request *,
		    const json_t *tools_json, const struct mcp_filter *);

/* A tools/call turned into an execution. */
struct mcp_call {
	char		 tool[TOOL_NAME_MAX + 1];
	char		 action[TOOL_FIELD_MAX + 1];
	json_t		*body;		/* {"action","params",
					   "credentialOverrides"?}; owned */
	long		 timeout_ms;	/* the tool's timeoutMs */
};

/*
 * Finds name among the offered tools and checks arguments against its
 * input schema; overrides ({"slot": "NAME" | {"name","orgWide"}}, may
 * be NULL) are kept for the slots the tool has.  -1 and *reply the
 * -32602 error when the name or the arguments are refused.
 */
int		 mcp_call_to_execute(const struct mcp_request *,
		    const json_t *tools_json, const struct mcp_filter *,
		    const json_t *overrides, struct mcp_call *,
		    json_t **reply);
void		 mcp_call_clear(struct mcp_call *);

/*
 * A CallToolResult from the execute route's answer: its HTTP status and
 * body (the execution, or our error shape; NULL when there was none).
 * A JSON-RPC error only when the answer is no part of the tool call.
 */
json_t		*mcp_result_from_execute(enum mcp_rev, long http_status,
		    const json_t *reply);
json_t		*mcp_call_reply(const struct mcp_request *, long http_status,
		    const json_t *execute_reply);

/* A result object of req's revision (2026-07-28 adds resultType). */
json_t		*mcp_reply(const struct mcp_request *, json_t *result);

#endif
