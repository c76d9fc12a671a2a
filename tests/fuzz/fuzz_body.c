/*
 * Fuzz target "body": a request body through the checks a route applies,
 * json_parse_body() with that route's field list, then the route's own
 * handler, which validates the fields and builds the broker request.
 * Input: one byte choosing a route that takes a body, then the body.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "frontend.h"
#include "fuzz.h"

static const struct {
	const char	*path;
	int		 method;
} targets[] = {
	{ "/v1/secrets", EVHTTP_REQ_POST },
	{ "/v1/secrets/GITHUB_TOKEN/reveal", EVHTTP_REQ_POST },
	{ "/v1/tokens", EVHTTP_REQ_POST },
	{ "/v1/tools/crm/execute", EVHTTP_REQ_POST },
};
#define NTARGETS	(sizeof(targets) / sizeof(targets[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fe_req fr;
	const char *allow;
	char err[256];
	int code;

	if (size < 1)
		return 0;
	memset(&fr, 0, sizeof(fr));
	snprintf(fr.id, sizeof(fr.id), "0123456789abcdef");
	fr.route = route_match(targets[data[0] % NTARGETS].path,
	    targets[data[0] % NTARGETS].method, fr.arg, sizeof(fr.arg), &code,
	    &allow, err, sizeof(err));
	if (fr.route == NULL || route_fields(fr.route) == NULL)
		abort();
	route_parse_query(fr.route, NULL, &fr.q, err, sizeof(err));
	fr.body = json_parse_body((const char *)data + 1, size - 1,
	    route_fields(fr.route), err, sizeof(err));
	if (fr.body == NULL)
		return 0;
	route_run(&fr);
	json_decref(fr.body);
	return 0;
}
