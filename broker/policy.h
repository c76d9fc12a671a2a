/*
 * The access policy of DESIGN section 2 as one pure function.  It looks
 * only at its arguments: no store, no clock, no global state, so every
 * decision can be tested row by row.
 */
#ifndef SECRETD_POLICY_H
#define SECRETD_POLICY_H

#include "proto.h"

/* Who asks: built by the broker from kernel credentials or a token. */
struct principal {
	char		 user_id[ID_MAX_LEN + 1];
	char		 org_id[ID_MAX_LEN + 1];
	int		 role;			/* enum rt_role */
	char		 token_id[TOKEN_ID_LEN + 1];	/* "" unless a
							   token */
	uint64_t	 token_expires;		/* that token's; 0: never */
	struct token_scopes scopes;		/* that token's; n == 0:
						   unscoped */
};

/* What is asked about. */
struct target {
	int		 scope;			/* SCOPE_USER or SCOPE_ORG */
	const char	*org_id;
	const char	*owner;			/* user scope: the owner;
						   NULL: every user */
};

/*
 * The secret operations decide() rules on, then the other requests, which
 * only a tool-scoped token limits (decide_scope()).
 */
enum op {
	OP_LIST,		/* list metadata */
	OP_GET,			/* get metadata */
	OP_PUT,			/* create or rotate */
	OP_REVEAL,
	OP_DELETE,
	OP_USE,			/* resolve for a tool run */
	OP_SECRET_MAX,
	OP_TOOL = OP_SECRET_MAX,	/* list, show or run one tool */
	OP_TOKEN,		/* create, list or revoke tokens */
	OP_WHOAMI,
	OP_METRICS,
	OP_MAX
};

enum decision {
	DECIDE_ALLOW = 0,
	DECIDE_FORBIDDEN,	/* 403: the caller may know it exists */
	DECIDE_NOTFOUND		/* 404: indistinguishable from missing */
};

enum decision	 decide(const struct principal *, enum op,
		    const struct target *, int org_reveal_members);
enum decision	 decide_scope(const struct principal *, enum op,
		    const char *tool);
const char	*op_name(enum op);

#endif
