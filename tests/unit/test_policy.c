/*
 * decide() against the policy table of DESIGN section 2: every operation
 * x column x role x org_reveal x same/other organisation is one case;
 * decide_scope() and decide() again for every operation x scoped/unscoped.
 * The expectations are spelled out here again, not taken from policy.c.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "tap.h"

#define A	DECIDE_ALLOW
#define F	DECIDE_FORBIDDEN
#define N	DECIDE_NOTFOUND

enum col { OWN, OTHER, ORG, NCOL };

static const char *col_names[NCOL] = { "own", "other user's", "org" };
static const char *dec_names[] = { "allow", "forbidden", "not found" };

/*
 * One row per operation: member then admin, each with org_reveal=admins
 * and org_reveal=members.  "No one" and "owner only" are F for an admin
 * (who may list the secret) and N for a member (who may not know it).
 * A member writing another user's secret is F whether it exists or not.
 */
static const struct {
	enum op		op;
	enum decision	member[2][NCOL];	/* [org_reveal_members] */
	enum decision	admin[2][NCOL];
} rows[] = {
	{ OP_LIST,	{ { A, N, A }, { A, N, A } },
			{ { A, A, A }, { A, A, A } } },
	{ OP_GET,	{ { A, N, A }, { A, N, A } },
			{ { A, A, A }, { A, A, A } } },
	{ OP_PUT,	{ { A, F, F }, { A, F, F } },
			{ { A, A, A }, { A, A, A } } },
	{ OP_REVEAL,	{ { A, N, F }, { A, N, A } },
			{ { A, F, A }, { A, F, A } } },
	{ OP_DELETE,	{ { A, N, F }, { A, N, F } },
			{ { A, A, A }, { A, A, A } } },
	{ OP_USE,	{ { A, N, A }, { A, N, A } },
			{ { A, F, A }, { A, F, A } } },
};

static struct principal
mk(const char *user, const char *org, int role)
{
	struct principal p;

	memset(&p, 0, sizeof(p));
	snprintf(p.user_id, sizeof(p.user_id), "%s", user);
	snprintf(p.org_id, sizeof(p.org_id), "%s", org);
	p.role = role;
	return p;
}

static struct target
column(enum col c, const char *org)
{
	struct target t = { .scope = SCOPE_USER, .org_id = org };

	if (c == OWN)
		t.owner = "alice";
	else if (c == OTHER)
		t.owner = "bob";
	else {
		t.scope = SCOPE_ORG;
		t.owner = "";
	}
	return t;
}

static void
table_cases(void)
{
	struct principal p;
	struct target t;
	enum decision want, got;
	size_t i;
	int role, rev, c, foreign;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
	for (role = ROLE_MEMBER; role <= ROLE_ADMIN; role++)
	for (rev = 0; rev <= 1; rev++)
	for (c = 0; c < NCOL; c++)
	for (foreign = 0; foreign <= 1; foreign++) {
		p = mk("alice", "acme", role);
		t = column(c, foreign ? "other" : "acme");
		want = role == ROLE_ADMIN ? rows[i].admin[rev][c] :
		    rows[i].member[rev][c];
		/* Nothing crosses organisations, for anyone. */
		if (foreign)
			want = N;
		got = decide(&p, rows[i].op, &t, rev);
		ok(got == want, "%s %s secret as %s, org_reveal=%s, %s org: "
		    "%s (got %s)", op_name(rows[i].op), col_names[c],
		    role == ROLE_ADMIN ? "admin" : "member",
		    rev ? "members" : "admins", foreign ? "other" : "same",
		    dec_names[want], dec_names[got]);
	}
}

/*
 * The scope dimension: every operation as an unscoped caller and as a
 * token scoped to tools:crm.  Spelled out: a scoped token reaches its
 * tools, the secrets a run of them resolves, and whoami; nothing else.
 */
static const struct {
	enum op		op;
	enum decision	unscoped;
	enum decision	scoped;
} scope_rows[] = {
	{ OP_LIST, A, F }, { OP_GET, A, F }, { OP_PUT, A, F },
	{ OP_REVEAL, A, F }, { OP_DELETE, A, F }, { OP_USE, A, A },
	{ OP_TOOL, A, A }, { OP_TOKEN, A, F }, { OP_WHOAMI, A, A },
	{ OP_METRICS, A, F },
};

static void
scope_cases(void)
{
	struct principal p;
	struct target own = { SCOPE_USER, "acme", "alice" };
	enum decision want, got;
	size_t i;
	int sc, role, rev, c;

	ok(sizeof(scope_rows) / sizeof(scope_rows[0]) == OP_MAX,
	    "every operation has a scope row");
	for (i = 0; i < sizeof(scope_rows) / sizeof(scope_rows[0]); i++)
	for (sc = 0; sc <= 1; sc++) {
		p = mk("alice", "acme", ROLE_ADMIN);
		if (sc) {
			p.scopes.n = 1;
			snprintf(p.scopes.tool[0], sizeof(p.scopes.tool[0]),
			    "crm");
		}
		want = sc ? scope_rows[i].scoped : scope_rows[i].unscoped;
		got = decide_scope(&p, scope_rows[i].op,
		    scope_rows[i].op == OP_TOOL ? "crm" : NULL);
		ok(got == want, "%s as admin, %s: %s (got %s)",
		    op_name(scope_rows[i].op), sc ? "scoped to tools:crm" :
		    "unscoped", dec_names[want], dec_names[got]);
	}
	/* decide() refuses a scoped token every secret op but use, in every
	 * column, for either role: the table below it never answers. */
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
	for (role = ROLE_MEMBER; role <= ROLE_ADMIN; role++)
	for (rev = 0; rev <= 1; rev++)
	for (c = 0; c < NCOL; c++) {
		struct target t = column(c, "acme");

		p = mk("alice", "acme", role);
		p.scopes.n = 1;
		snprintf(p.scopes.tool[0], sizeof(p.scopes.tool[0]), "crm");
		want = rows[i].op != OP_USE ? F : role == ROLE_ADMIN ?
		    rows[i].admin[rev][c] : rows[i].member[rev][c];
		got = decide(&p, rows[i].op, &t, rev);
		ok(got == want, "%s %s secret as %s scoped to tools:crm, "
		    "org_reveal=%s: %s (got %s)", op_name(rows[i].op),
		    col_names[c], role == ROLE_ADMIN ? "admin" : "member",
		    rev ? "members" : "admins", dec_names[want],
		    dec_names[got]);
	}
	p = mk("alice", "acme", ROLE_MEMBER);
	p.scopes.n = 2;
	snprintf(p.scopes.tool[0], sizeof(p.scopes.tool[0]), "crm");
	snprintf(p.scopes.tool[1], sizeof(p.scopes.tool[1]), "github");
	ok(decide_scope(&p, OP_TOOL, "github") == A,
	    "a token scoped to two tools reaches the second");
	ok(decide_scope(&p, OP_TOOL, "gitlab") == F,
	    "a scoped token is refused a tool outside its scopes");
	ok(decide_scope(&p, OP_TOOL, "cr") == F,
	    "a prefix of a scoped tool is another tool");
	ok(decide_scope(&p, OP_TOOL, NULL) == F,
	    "a scoped token is refused a tool op naming no tool");
	p.scopes.n = 1;
	snprintf(p.scopes.tool[0], sizeof(p.scopes.tool[0]), "*");
	ok(decide_scope(&p, OP_TOOL, "anything") == A,
	    "tools:* reaches every tool");
	ok(decide_scope(&p, OP_REVEAL, NULL) == F &&
	    decide(&p, OP_REVEAL, &own, 1) == F,
	    "tools:* still reveals nothing, not even the caller's own");
	ok(decide_scope(&p, OP_TOKEN, NULL) == F,
	    "tools:* still creates no token");
	p.scopes.n = TOKEN_SCOPES_MAX + 1;
	ok(decide_scope(&p, OP_WHOAMI, NULL) == F,
	    "a principal with too many scopes is refused");
	p.scopes.n = 0;
	ok(decide_scope(&p, OP_MAX, NULL) == F &&
	    decide_scope(NULL, OP_WHOAMI, NULL) == F,
	    "an unknown operation or no principal is refused");
	ok(decide(&p, OP_TOOL, &own, 0) == F,
	    "decide() rules on secret operations only");
}

static void
edge_cases(void)
{
	struct principal p = mk("alice", "acme", ROLE_ADMIN), empty;
	struct target every = { SCOPE_USER, "acme", NULL };
	struct target noorg = { SCOPE_ORG, NULL, "" };
	struct target badscope = { 7, "acme", "alice" };

	ok(decide(&p, OP_LIST, &every, 0) == A,
	    "admin may list every user's secrets");
	p.role = ROLE_MEMBER;
	ok(decide(&p, OP_LIST, &every, 0) == N,
	    "member may not list every user's secrets");
	ok(decide(&p, OP_GET, &noorg, 1) == N,
	    "a target without an org is refused");
	ok(decide(&p, OP_GET, &badscope, 1) == F,
	    "an unknown scope is refused");
	p.role = 5;
	ok(decide(&p, OP_GET, &(struct target){ SCOPE_USER, "acme", "alice" },
	    0) == F, "an unknown role is refused");
	empty = mk("", "acme", ROLE_ADMIN);
	ok(decide(&empty, OP_GET, &(struct target){ SCOPE_ORG, "acme", "" },
	    0) == F, "a principal without a user id is refused");
	empty = mk("alice", "", ROLE_ADMIN);
	ok(decide(&empty, OP_GET, &(struct target){ SCOPE_ORG, "", "" },
	    0) == F, "a principal without an org is refused");
	p = mk("alice", "acme", ROLE_ADMIN);
	ok(decide(&p, OP_MAX, &(struct target){ SCOPE_ORG, "acme", "" },
	    0) == F, "an unknown operation is refused");
	ok(decide(NULL, OP_GET, &(struct target){ SCOPE_ORG, "acme", "" },
	    0) == F, "no principal is refused");
	p = mk("alicex", "acme", ROLE_MEMBER);
	ok(decide(&p, OP_REVEAL, &(struct target){ SCOPE_USER, "acme",
	    "alice" }, 1) == N, "a user id prefix is another user");
}

int
main(void)
{
	table_cases();
	scope_cases();
	edge_cases();
	return done_testing();
}
