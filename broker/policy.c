/*
 * decide(): who may do what to which secret, and decide_scope(): what a
 * tool-scoped token may do at all.  Pure: they must never read the store,
 * the clock or any global, and never allow anything across organisations.
 */
#include "config.h"

#include <string.h>

#include "policy.h"

enum column {
	COL_OWN,		/* the caller's own user secret */
	COL_OTHER,		/* another user's secret, or every user's */
	COL_ORG			/* the organisation's secret */
};

/*
 * The table of DESIGN section 2.  A member asking about another user's
 * secret gets NOTFOUND, the answer for a missing name.  Writing one is
 * FORBIDDEN: that answer is the same whether it exists or not.
 */
static const struct {
	enum decision	member[3];
	enum decision	admin[3];
} table[OP_SECRET_MAX] = {
	/*		   own		  other		   org */
	[OP_LIST] = {
	    { DECIDE_ALLOW, DECIDE_NOTFOUND, DECIDE_ALLOW },
	    { DECIDE_ALLOW, DECIDE_ALLOW, DECIDE_ALLOW } },
	[OP_GET] = {
	    { DECIDE_ALLOW, DECIDE_NOTFOUND, DECIDE_ALLOW },
	    { DECIDE_ALLOW, DECIDE_ALLOW, DECIDE_ALLOW } },
	[OP_PUT] = {
	    { DECIDE_ALLOW, DECIDE_FORBIDDEN, DECIDE_FORBIDDEN },
	    { DECIDE_ALLOW, DECIDE_ALLOW, DECIDE_ALLOW } },
	[OP_REVEAL] = {
	    { DECIDE_ALLOW, DECIDE_NOTFOUND, DECIDE_FORBIDDEN },
	    { DECIDE_ALLOW, DECIDE_FORBIDDEN, DECIDE_ALLOW } },
	[OP_DELETE] = {
	    { DECIDE_ALLOW, DECIDE_NOTFOUND, DECIDE_FORBIDDEN },
	    { DECIDE_ALLOW, DECIDE_ALLOW, DECIDE_ALLOW } },
	[OP_USE] = {
	    { DECIDE_ALLOW, DECIDE_NOTFOUND, DECIDE_ALLOW },
	    { DECIDE_ALLOW, DECIDE_FORBIDDEN, DECIDE_ALLOW } },
};

/*
 * The scope dimension: what a tool-scoped token may do, whoever holds
 * it.  Its tools only (OP_TOOL checks the name), the secrets those tools
 * resolve (OP_USE, reached only from a run of one of them), and who it
 * is; never a secret's metadata or value, never another token, so it
 * cannot widen itself.  An unscoped token or a unix peer is not limited
 * here.
 */
static const enum decision scoped[OP_MAX] = {
	[OP_LIST] = DECIDE_FORBIDDEN, [OP_GET] = DECIDE_FORBIDDEN,
	[OP_PUT] = DECIDE_FORBIDDEN, [OP_REVEAL] = DECIDE_FORBIDDEN,
	[OP_DELETE] = DECIDE_FORBIDDEN, [OP_USE] = DECIDE_ALLOW,
	[OP_TOOL] = DECIDE_ALLOW, [OP_TOKEN] = DECIDE_FORBIDDEN,
	[OP_WHOAMI] = DECIDE_ALLOW, [OP_METRICS] = DECIDE_FORBIDDEN,
};

static const char *op_names[OP_MAX] = {
	[OP_LIST] = "list", [OP_GET] = "get", [OP_PUT] = "put",
	[OP_REVEAL] = "reveal", [OP_DELETE] = "delete", [OP_USE] = "use",
	[OP_TOOL] = "tool", [OP_TOKEN] = "token", [OP_WHOAMI] = "whoami",
	[OP_METRICS] = "metrics",
};

const char *
op_name(enum op op)
{
	return (unsigned)op < OP_MAX ? op_names[op] : "unknown";
}

/* tool: OP_TOOL's tool name; NULL for every other operation. */
enum decision
decide_scope(const struct principal *p, enum op op, const char *tool)
{
	if (p == NULL || (unsigned)op >= OP_MAX || p->scopes.n >
	    TOKEN_SCOPES_MAX)
		return DECIDE_FORBIDDEN;
	if (p->scopes.n == 0)
		return DECIDE_ALLOW;
	if (scoped[op] != DECIDE_ALLOW)
		return scoped[op];
	if (op == OP_TOOL && !token_scopes_allow(&p->scopes, tool))
		return DECIDE_FORBIDDEN;
	return DECIDE_ALLOW;
}

enum decision
decide(const struct principal *p, enum op op, const struct target *t,
    int org_reveal_members)
{
	enum column col;
	int admin;

	if (p == NULL || t == NULL || (unsigned)op >= OP_SECRET_MAX)
		return DECIDE_FORBIDDEN;
	if (decide_scope(p, op, NULL) != DECIDE_ALLOW)
		return DECIDE_FORBIDDEN;
	if (p->user_id[0] == '\0' || p->org_id[0] == '\0' ||
	    (p->role != ROLE_MEMBER && p->role != ROLE_ADMIN))
		return DECIDE_FORBIDDEN;
	/* Another organisation's secrets do not exist for this caller. */
	if (t->org_id == NULL || strcmp(t->org_id, p->org_id) != 0)
		return DECIDE_NOTFOUND;
	if (t->scope == SCOPE_ORG)
		col = COL_ORG;
	else if (t->scope != SCOPE_USER)
		return DECIDE_FORBIDDEN;
	else if (t->owner != NULL && strcmp(t->owner, p->user_id) == 0)
		col = COL_OWN;
	else
		col = COL_OTHER;
	admin = p->role == ROLE_ADMIN;
	if (op == OP_REVEAL && col == COL_ORG && !admin && org_reveal_members)
		return DECIDE_ALLOW;
	return admin ? table[op].admin[col] : table[op].member[col];
}
