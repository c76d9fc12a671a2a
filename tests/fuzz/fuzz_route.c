/*
 * Fuzz target "route": a request's method, path and query string as the
 * front-end gets them from the HTTP reader, through route_match() and
 * route_parse_query().  Input: one byte choosing the method, then the
 * request target ("/v1/secrets/NAME?orgWide=true"); a NUL ends it, as
 * the reader hands over C strings.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "frontend.h"
#include "fuzz.h"

static const int methods[] = {
	EVHTTP_REQ_GET, EVHTTP_REQ_POST, EVHTTP_REQ_DELETE, EVHTTP_REQ_PUT,
	EVHTTP_REQ_HEAD, EVHTTP_REQ_PATCH, EVHTTP_REQ_OPTIONS, 0
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct route *r;
	struct fe_query q;
	char arg[NAME_MAX_LEN + 1], err[256], *target, *query;
	const char *allow = NULL;
	int code = 0, method;

	if (size < 1)
		return 0;
	method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	if ((target = malloc(size)) == NULL)
		return 0;
	memcpy(target, data + 1, size - 1);
	target[size - 1] = '\0';
	if ((query = strchr(target, '?')) != NULL)
		*query++ = '\0';
	r = route_match(target, method, arg, sizeof(arg), &code, &allow, err,
	    sizeof(err));
	if (r != NULL) {
		/* A matched route's argument is a whole valid name or id. */
		if (arg[0] != '\0' && strlen(arg) > NAME_MAX_LEN)
			abort();
		route_parse_query(r, query, &q, err, sizeof(err));
		if (q.limit < 1 || q.limit > LIST_MAX_LIMIT)
			abort();
	} else if (code != 400 && code != 404 && code != 405)
		abort();
	free(target);
	return 0;
}
