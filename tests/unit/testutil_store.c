/*
 * Store operations as the store unit tests write them, and a single put
 * committed on its own.  Never checks a result: the tests assert them.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "store.h"
#include "testutil.h"

/* A put by OWNER; an org secret has no user_id. */
void
tu_put_op(struct store_op *op, int scope, const char *org, const char *owner,
    const char *name, const char *value, const char *category)
{
	memset(op, 0, sizeof(*op));
	op->kind = STORE_PUT_SECRET;
	op->meta.scope = scope;
	snprintf(op->meta.org_id, sizeof(op->meta.org_id), "%s", org);
	snprintf(op->meta.user_id, sizeof(op->meta.user_id), "%s",
	    scope == SCOPE_ORG ? "" : owner);
	snprintf(op->meta.name, sizeof(op->meta.name), "%s", name);
	snprintf(op->meta.updated_by, sizeof(op->meta.updated_by), "%s",
	    owner);
	snprintf(op->meta.category, sizeof(op->meta.category), "%s",
	    category != NULL ? category : "");
	op->value = (const uint8_t *)value;
	op->value_len = strlen(value);
}

void
tu_del_op(struct store_op *op, int scope, const char *org, const char *owner,
    const char *name)
{
	tu_put_op(op, scope, org, owner, name, "", NULL);
	op->kind = STORE_DELETE_SECRET;
}

/* One put in its own commit: -1 if the commit failed, else its result. */
int
tu_put1(struct store *st, int scope, const char *org, const char *owner,
    const char *name, const char *value, const char *category)
{
	struct store_op op;

	tu_put_op(&op, scope, org, owner, name, value, category);
	if (store_commit(st, &op, 1) != ST_OK)
		return -1;
	return op.result;
}
