/*
 * libruntools: GET /v1/whoami, who the server takes the caller to be and
 * how it knows.  Sends no secret but the caller's own bearer token.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "rtclient.h"

static int
whoami_parse(json_t *o, struct rt_whoami *w)
{
	json_t *uid = json_object_get(o, "uid");

	if (!json_is_object(o) || rt_dup_str(o, "userId", &w->user_id) ||
	    rt_dup_str(o, "orgId", &w->org_id) ||
	    rt_dup_str(o, "role", &w->role) ||
	    rt_dup_str(o, "auth", &w->auth) ||
	    rt_dup_str(o, "tokenId", &w->token_id) ||
	    rt_dup_str(o, "tokenExpiresAt", &w->token_expires_at))
		return -1;
	if (w->user_id == NULL || w->org_id == NULL || w->role == NULL ||
	    w->auth == NULL)
		return -1;
	if (json_is_integer(uid) && json_integer_value(uid) >= 0)
		w->uid = (long long)json_integer_value(uid);
	else if (uid == NULL || json_is_null(uid))
		w->uid = -1;
	else
		return -1;
	return 0;
}

enum rt_error
rt_whoami(rt_client *c, struct rt_whoami *w)
{
	json_t *root;
	enum rt_error e;

	memset(w, 0, sizeof(*w));
	if ((e = rt_request(c, "GET", "/v1/whoami", NULL, &root)) != RT_E_OK)
		return e;
	if (whoami_parse(root, w) == -1) {
		rt_whoami_clear(w);
		e = rt_bad_response(c);
	}
	json_decref(root);
	return e;
}

void
rt_whoami_clear(struct rt_whoami *w)
{
	if (w == NULL)
		return;
	free(w->user_id);
	free(w->org_id);
	free(w->role);
	free(w->auth);
	free(w->token_id);
	free(w->token_expires_at);
	memset(w, 0, sizeof(*w));
}
