/*
 * decide() against the policy table of DESIGN section 2: every operation
 * x column x role x org_reveal x same/other organisation is one case.
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
	edge_cases();
	return done_testing();
}
