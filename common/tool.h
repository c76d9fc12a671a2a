/*
 * Operator-defined tools: the definition the broker reads from the tools
 * folder (broker/tooldef.c), and the execution request and result the
 * broker and secretd-runner exchange over their own channel.  Each message
 * has one encoder and one decoder here (common/tool.c), used by both sides;
 * decoders are as strict as ipc.c and re-check every rule, so a runner or
 * broker never trusts the other's bytes.
 */
#ifndef SECRETD_TOOL_H
#define SECRETD_TOOL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc.h"
#include "msg.h"
#include "proto.h"

#define TOOL_DESC_MAX		512
#define TOOL_SLOTS_MAX		8
#define TOOL_ACTIONS_MAX	16
#define TOOL_PARAMS_MAX		16
#define TOOL_ARGS_MAX		16	/* exec: fixed arguments */
#define TOOL_FIELD_MAX		64	/* slot, action, param, env and
					   header names */
#define TOOL_URL_MAX		1024	/* base URL, path template */
#define TOOL_TEMPLATE_MAX	256	/* "Bearer {}" */
#define TOOL_ARG_MAX		256
#define TOOL_PARAM_VALUE_MAX	4096	/* one parameter's value */
#define TOOL_TIMEOUT_DEFAULT_MS	10000
#define TOOL_TIMEOUT_MAX_MS	300000
#define TOOL_RESULT_DEFAULT	(64 * 1024)
#define TOOL_RESULT_MAX		(128 * 1024)	/* fits one IPC message */
#define TOOL_STDERR_MAX		(8 * 1024)
#define TOOLS_MAX		256	/* files in the tools folder */

enum tool_type {
	TOOL_HTTP = 1,
	TOOL_EXEC = 2
};

enum tool_allow {
	TOOL_ALLOW_MEMBERS = 0,		/* every member of the org */
	TOOL_ALLOW_ADMINS = 1
};

/* Where a credential slot's value goes. */
enum slot_place {
	SLOT_HEADER = 1,	/* target: header name; tmpl: "Bearer {}" */
	SLOT_QUERY = 2,		/* target: query parameter; tmpl */
	SLOT_BASIC = 3,		/* HTTP basic auth; tmpl: "user:{}" */
	SLOT_ENV = 4		/* exec tools: target: variable name; tmpl */
};

enum param_type {
	PARAM_STRING = 1,
	PARAM_NUMBER = 2,	/* a JSON number, kept as its text */
	PARAM_BOOL = 3		/* "true" / "false" */
};

/* Where an http action puts a parameter that is not in its path. */
enum param_place {
	PARAM_PATH = 1,		/* a {name} in the path template */
	PARAM_QUERY = 2,
	PARAM_BODY = 3		/* a member of the JSON request body */
};

struct tool_slot {
	char		 name[TOOL_FIELD_MAX + 1];	/* "apiKey" */
	char		 secret[NAME_MAX_LEN + 1];	/* default secret */
	uint8_t		 place;				/* enum slot_place */
	char		 target[TOOL_FIELD_MAX + 1];
	char		 tmpl[TOOL_TEMPLATE_MAX + 1];	/* one "{}" */
};

struct tool_param {
	char		 name[TOOL_FIELD_MAX + 1];
	uint8_t		 type;				/* enum param_type */
	uint8_t		 required;
	uint8_t		 place;				/* enum param_place;
							   exec: PARAM_BODY */
};

struct tool_action {
	char		 name[TOOL_FIELD_MAX + 1];
	char		 description[TOOL_DESC_MAX + 1];
	char		 method[8];			/* http: GET, POST, ... */
	char		 path[TOOL_URL_MAX + 1];	/* http: "/c/{email}" */
	uint32_t	 nparams;
	struct tool_param params[TOOL_PARAMS_MAX];
};

struct tool {
	char		 name[TOOL_NAME_MAX + 1];
	char		 description[TOOL_DESC_MAX + 1];
	uint8_t		 type;				/* enum tool_type */
	uint8_t		 allow;				/* enum tool_allow */
	uint32_t	 timeout_ms;
	uint32_t	 max_result;			/* bytes */
	/* http */
	char		 base_url[TOOL_URL_MAX + 1];	/* scheme://host[:port][/p] */
	char		 ca_file[PATH_MAX];		/* "" : system CAs */
	uint8_t		 allow_plain_http;		/* loopback only */
	/* exec */
	char		 command[PATH_MAX];		/* absolute */
	uint32_t	 nargs;
	char		 args[TOOL_ARGS_MAX][TOOL_ARG_MAX + 1];
	uint32_t	 nslots;
	struct tool_slot slots[TOOL_SLOTS_MAX];
	uint32_t	 nactions;
	struct tool_action actions[TOOL_ACTIONS_MAX];
};

/* One parameter value as the caller gave it, already type-checked. */
struct run_param {
	char		 name[TOOL_FIELD_MAX + 1];
	uint8_t		 type;				/* enum param_type */
	char		 value[TOOL_PARAM_VALUE_MAX + 1];
};

/*
 * One resolved credential: only the broker and the runner see value.  The
 * decoder points value into the reader's buffer; a holder copies it into
 * its own wiped memory before the next receive.
 */
struct run_cred {
	char		 slot[TOOL_FIELD_MAX + 1];
	const uint8_t	*value;
	size_t		 value_len;
};

/*
 * IMSG_RUN_EXEC (broker -> runner, id = execution id):
 * tool, str action, u32 n, n * param, u32 n, n * (str slot, bytes value).
 */
struct run_request {
	struct tool	 tool;
	char		 action[TOOL_FIELD_MAX + 1];
	uint32_t	 nparams;
	struct run_param params[TOOL_PARAMS_MAX];
	uint32_t	 ncreds;
	struct run_cred	 creds[TOOL_SLOTS_MAX];
};

enum run_outcome {
	RUN_OK = 0,		/* ran; ok tells if upstream/command said so */
	RUN_UPSTREAM = 1,	/* could not reach or talk to upstream: 502 */
	RUN_TIMEOUT = 2,	/* 504 */
	RUN_TOO_LARGE = 3,	/* result over max_result: 502 */
	RUN_REFUSED = 4,	/* e.g. a redirect elsewhere, plain http: 502 */
	RUN_INTERNAL = 5	/* 500 */
};

/*
 * IMSG_RUN_RESULT (runner -> broker, id = execution id):
 * u8 outcome, str message, u8 ok, u32 status (http status or exit code;
 * a signal is 128 + signo), u32 duration_ms, u32 redactions,
 * u8 result_is_json, bytes result, bytes stderr (exec only).
 */
struct run_result {
	uint8_t		 outcome;			/* enum run_outcome */
	char		 message[256];
	uint8_t		 ok;
	uint32_t	 status;
	uint32_t	 duration_ms;
	uint32_t	 redactions;
	uint8_t		 result_is_json;
	const uint8_t	*result;			/* points into the
							   reader's buffer */
	size_t		 result_len;
	const uint8_t	*stderr_buf;
	size_t		 stderr_len;
};

/*
 * What the front-end asks and what it gets.  IMSG_TOOL_LIST: auth,
 * u32 limit, str cursor; reply: n * (u8 1, tool), u8 0, str nextCursor.
 */
struct tool_list_req {
	struct msg_auth	 auth;
	uint32_t	 limit;				/* 0: default */
	char		 cursor[TOOL_NAME_MAX + 1];	/* "": first page */
};

/* IMSG_TOOL_GET: auth, str name; reply: tool. */
struct tool_get_req {
	struct msg_auth	 auth;
	char		 name[TOOL_NAME_MAX + 1];
};

struct tool_override {
	char		 slot[TOOL_FIELD_MAX + 1];
	char		 name[NAME_MAX_LEN + 1];
	uint8_t		 org_wide;			/* the org's, only */
};

/*
 * IMSG_TOOL_EXEC: auth, str tool, str action, u32 n, n * param, u32 n,
 * n * (str slot, str name, u8 org_wide).
 */
/* X-RunTools-Client, or an MCP client's name: who the agent says it is. */
#define TOOL_CLIENT_MAX	64

struct tool_exec_req {
	struct msg_auth	 auth;
	char		 client[TOOL_CLIENT_MAX + 1];	/* "": not given;
							   valid_client() */
	char		 tool[TOOL_NAME_MAX + 1];
	char		 action[TOOL_FIELD_MAX + 1];
	uint32_t	 nparams;
	struct run_param params[TOOL_PARAMS_MAX];
	uint32_t	 noverrides;
	struct tool_override overrides[TOOL_SLOTS_MAX];
};

/* Which secret a slot used: never its value. */
struct tool_cred_use {
	char		 slot[TOOL_FIELD_MAX + 1];
	char		 name[NAME_MAX_LEN + 1];
	uint8_t		 scope;				/* enum rt_scope */
	uint32_t	 version;
};

/*
 * IMSG_TOOL_EXEC's reply: str tool, str action, u8 type, the run result
 * (as IMSG_RUN_RESULT, outcome RUN_OK), u32 n, n * (str slot, str name,
 * u8 scope, u32 version).
 */
struct tool_exec_reply {
	char		 tool[TOOL_NAME_MAX + 1];
	char		 action[TOOL_FIELD_MAX + 1];
	uint8_t		 type;				/* enum tool_type */
	struct run_result res;
	uint32_t	 ncreds;
	struct tool_cred_use creds[TOOL_SLOTS_MAX];
};

enum runner_imsg {
	IMSG_RUN_HELLO = 100,	/* runner -> broker: u32 PROTO_VERSION */
	IMSG_RUN_READY,		/* broker -> runner: u32 max_concurrent,
				   u8 seccomp_debug */
	IMSG_RUN_EXEC,
	IMSG_RUN_RESULT
};

void	 tool_list_req_put(struct ipc_msg *, const struct tool_list_req *);
int	 tool_list_req_get(struct ipc_reader *, struct tool_list_req *);
void	 tool_get_req_put(struct ipc_msg *, const struct tool_get_req *);
int	 tool_get_req_get(struct ipc_reader *, struct tool_get_req *);
void	 tool_exec_req_put(struct ipc_msg *, const struct tool_exec_req *);
int	 tool_exec_req_get(struct ipc_reader *, struct tool_exec_req *);
void	 tool_exec_reply_put(struct ipc_msg *,
	    const struct tool_exec_reply *);
int	 tool_exec_reply_get(struct ipc_reader *, struct tool_exec_reply *);

int	 valid_tool_name(const char *, size_t);
int	 valid_field_name(const char *, size_t);	/* [A-Za-z_][A-Za-z0-9_]* */
int	 valid_client(const char *, size_t);	/* printable ASCII, spaces
						   too, 1 to TOOL_CLIENT_MAX */

int	 tool_check(const struct tool *, char *err, size_t);
int	 tool_check_head(const struct tool *, char *err, size_t);
int	 tool_check_slot(const struct tool *, const struct tool_slot *,
	    char *err, size_t);
int	 tool_check_action(const struct tool *, const struct tool_action *,
	    char *err, size_t);
void	 tool_put(struct ipc_msg *, const struct tool *);
int	 tool_get(struct ipc_reader *, struct tool *);
const struct tool_action *tool_action(const struct tool *, const char *);
const struct tool_slot *tool_slot(const struct tool *, const char *);
const struct tool_param *action_param(const struct tool_action *,
	    const char *);

int	 run_request_check(const struct run_request *, char *err, size_t);
void	 run_request_put(struct ipc_msg *, const struct run_request *);
int	 run_request_get(struct ipc_reader *, struct run_request *);
void	 run_result_put(struct ipc_msg *, const struct run_result *);
int	 run_result_get(struct ipc_reader *, struct run_result *);

#endif
