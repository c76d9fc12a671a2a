/*
 * rundrive's http cases: where each slot puts its value and what the
 * upstream received, redaction of the echo in every encoding, parameters,
 * refusals, redirects, size and time limits, failures to connect, plain
 * http to loopback, the system resolver and proxy variables.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "rundrive.h"

/* Each field of the upstream's "echo" object is one marker. */
static int
echo_all_redacted(json_t *res, const char *marker)
{
	json_t *echo = json_object_get(res, "echo"), *v;
	const char *k;
	int n = 0;

	json_object_foreach(echo, k, v) {
		if (json_string_value(v) == NULL ||
		    strcmp(json_string_value(v), marker) != 0)
			return 0;
		n++;
	}
	return n == 11;
}

void
http_header_slot(struct runner *r)
{
	static const char *names[] = { "raw", "base64", "base64_nopad",
	    "base64url", "base64url_nopad", "hex", "HEX", "url", "url_lower",
	    "url_plus", "json_slash" };
	char want[1024] = "";
	struct run_request *rq;
	struct tool t;
	struct got *g;
	json_t *req, *res;
	size_t i;

	echo_tool(&t, url_https, SLOT_HEADER);
	rq = request(&t, "get");
	param(rq, "echo", PARAM_STRING, "header:X-Api-Key");
	cred(rq, "apiKey", V_NASTY);
	g = run(r, rq);
	ok(is_result(g, RUN_OK, 1, 200), "http, header slot: the upstream "
	    "answers 200 (%s)", desc(g));
	req = upstream_last();
	is_str(req_header(req, "X-Api-Key"), "Bearer " V_NASTY,
	    "http, header slot: the upstream got X-Api-Key: Bearer <value>");
	ok(g != NULL && g->rs.result_is_json, "http, header slot: the echo "
	    "is still JSON once redacted");
	res = result_json(g);
	is_str(jstr(res, "headers", "X-Api-Key"), "[REDACTED:apiKey]",
	    "http, header slot: the echoed header is one marker");
	ok(echo_all_redacted(res, "[REDACTED:apiKey]"), "http, header slot: "
	    "raw, base64(url) with and without padding, hex, HEX, percent "
	    "(upper, lower, '+') and JSON with \\/ each became a marker");
	ok(g != NULL && g->rs.redactions == 12, "http, header slot: 12 "
	    "redactions, one per echoed copy (%u)", g ? g->rs.redactions : 0);
	if (g != NULL)
		no_leak(g, V_NASTY, "Bearer " V_NASTY, "http, header slot");
	json_decref(req);
	json_decref(res);
	got_free(g);
	free(rq);

	rq = request(&t, "get");
	param(rq, "echo", PARAM_STRING, "header:X-Api-Key");
	param(rq, "fmt", PARAM_STRING, "text");
	cred(rq, "apiKey", V_NASTY);
	g = run(r, rq);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		strcat(want, names[i]);
		strcat(want, ": [REDACTED:apiKey]\n");
	}
	ok(g != NULL && g->rs.outcome == RUN_OK && !g->rs.result_is_json &&
	    strcmp((const char *)g->rs.result, want) == 0,
	    "http, text echo: every line is a marker and the result is text "
	    "(%s)", g ? (const char *)g->rs.result : "no answer");
	ok(g != NULL && g->rs.redactions == 11, "http, text echo: 11 "
	    "redactions (%u)", g ? g->rs.redactions : 0);
	got_free(g);
	free(rq);
}

void
http_query_slot(struct runner *r)
{
	struct run_request *rq;
	struct tool t;
	struct got *g;
	json_t *req, *res;

	echo_tool(&t, url_https, SLOT_QUERY);
	rq = request(&t, "get");
	param(rq, "echo", PARAM_STRING, "query:key");
	cred(rq, "apiKey", V_NASTY);
	g = run(r, rq);
	ok(is_result(g, RUN_OK, 1, 200), "http, query slot: 200 (%s)",
	    desc(g));
	req = upstream_last();
	is_str(req_str(req, "query"), "echo=query%3Akey&key=s3cr%2Ft%2Bk%20"
	    "%22q%22%5C%C3%A9%26%3D%3F%23%40~x", "http, query slot: the "
	    "upstream got key=<value percent-encoded> after the parameters");
	res = result_json(g);
	is_str(jstr(res, "query", NULL), "echo=query%3Akey&key=[REDACTED:"
	    "apiKey]", "http, query slot: the echoed query holds a marker");
	is_str(jstr(res, "args", "key"), "[REDACTED:apiKey]",
	    "http, query slot: the decoded echo is a marker");
	ok(echo_all_redacted(res, "[REDACTED:apiKey]") && g->rs.redactions ==
	    13, "http, query slot: every encoding redacted, 13 in all (%u)",
	    g ? g->rs.redactions : 0);
	if (g != NULL)
		no_leak(g, V_NASTY, NULL, "http, query slot");
	json_decref(req);
	json_decref(res);
	got_free(g);
	free(rq);
}

void
http_basic_slot(struct runner *r)
{
	struct run_request *rq;
	struct tool t;
	struct got *g;
	json_t *req, *res;
	char want[256], *enc;

	echo_tool(&t, url_https, SLOT_BASIC);
	rq = request(&t, "get");
	param(rq, "echo", PARAM_STRING, "basic");
	cred(rq, "apiKey", V_NASTY);
	g = run(r, rq);
	ok(is_result(g, RUN_OK, 1, 200), "http, basic slot: 200 (%s)",
	    desc(g));
	req = upstream_last();
	enc = b64("api:" V_NASTY, sodium_base64_VARIANT_ORIGINAL);
	snprintf(want, sizeof(want), "Basic %s", enc);
	free(enc);
	is_str(req_header(req, "Authorization"), want, "http, basic slot: "
	    "the upstream got Basic base64(api:<value>)");
	res = result_json(g);
	is_str(jstr(res, "headers", "Authorization"), "Basic [REDACTED:"
	    "apiKey]", "http, basic slot: the echoed header's base64 is a "
	    "marker");
	ok(echo_all_redacted(res, "[REDACTED:apiKey]") && g->rs.redactions ==
	    12, "http, basic slot: every encoding of the password redacted, "
	    "12 in all (%u)", g ? g->rs.redactions : 0);
	if (g != NULL)
		no_leak(g, V_NASTY, "api:" V_NASTY, "http, basic slot");
	json_decref(req);
	json_decref(res);
	got_free(g);
	free(rq);
}

void
http_params(struct runner *r)
{
	struct run_request *rq;
	struct tool t;
	struct got *g;
	json_t *req;
	size_t before;

	echo_tool(&t, url_https, SLOT_HEADER);
	rq = request(&t, "path");
	param(rq, "id", PARAM_STRING, "a/b?c#d@e f%");
	param(rq, "q", PARAM_STRING, "x&y=z \xc3\xa9");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	req = upstream_last();
	ok(is_result(g, RUN_OK, 1, 200), "http, path: 200 (%s)", desc(g));
	is_str(req_str(req, "path"), "/echo/a%2Fb%3Fc%23d%40e%20f%25",
	    "http, path: {id} percent-encoded, '/', '?', '#', '@' included");
	is_str(req_str(req, "query"), "q=x%26y%3Dz%20%C3%A9",
	    "http, path: a query parameter percent-encoded");
	json_decref(req);
	got_free(g);
	free(rq);

	before = upstream_count();
	rq = request(&t, "path");
	param(rq, "id", PARAM_STRING, "..");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	ok(g != NULL && g->rs.outcome == RUN_REFUSED && upstream_count() ==
	    before, "http, path: '..' as a segment is refused and nothing is "
	    "sent (%s)", desc(g));
	got_free(g);
	free(rq);

	rq = request(&t, "post");
	param(rq, "s", PARAM_STRING, "str \"quoted\" \xc3\xa9");
	param(rq, "n", PARAM_NUMBER, "12.50");
	param(rq, "flag", PARAM_BOOL, "true");
	param(rq, "q", PARAM_STRING, "1");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	req = upstream_last();
	ok(is_result(g, RUN_OK, 1, 200) && strcmp(req_str(req, "method"),
	    "POST") == 0, "http, body: POST answered 200 (%s)", desc(g));
	is_str(req_str(req, "body"), "{\"s\":\"str \\\"quoted\\\" \xc3\xa9\","
	    "\"n\":12.50,\"flag\":true}", "http, body: a JSON object that "
	    "keeps each type and a number's text");
	is_str(req_header(req, "Content-Type"), "application/json",
	    "http, body: Content-Type: application/json");
	is_str(req_str(req, "query"), "q=1", "http, body: query parameters "
	    "stay in the query");
	json_decref(req);
	got_free(g);
	free(rq);
}

void
http_refusals(struct runner *r)
{
	struct run_request *rq;
	struct tool t;
	struct got *g;
	size_t before = upstream_count();

	echo_tool(&t, url_https, SLOT_HEADER);
	rq = request(&t, "get");
	cred(rq, "apiKey", "abc\r\nX-Evil: 1");
	g = run(r, rq);
	ok(g != NULL && g->rs.outcome == RUN_REFUSED && upstream_count() ==
	    before, "http: a header value with CR LF is refused, nothing sent "
	    "(%s)", desc(g));
	ok(g != NULL && g->rs.result_len == 0 && leak_of(g->rs.message,
	    strlen(g->rs.message), "abc\r\nX-Evil: 1") == NULL,
	    "http: the refusal holds no value");
	got_free(g);
	free(rq);

	rq = request(&t, "status");
	param(rq, "code", PARAM_STRING, "404");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	ok(is_result(g, RUN_OK, 0, 404) && g->rs.result_is_json,
	    "http: a 404 is returned with ok false and its body (%s)",
	    desc(g));
	got_free(g);
	free(rq);
}

void
http_redirects(struct runner *r)
{
	static const struct {
		const char	*to;
		int		 refused;
		const char	*what;
	} cases[] = {
		{ "https://other.invalid/x", 1, "another host" },
		{ NULL, 1, "the same host on another port" },
		{ "http://localhost/", 1, "the same host over plain http" },
		{ "/echo", 0, "the same host" },
	};
	char other_port[128];
	struct run_request *rq;
	struct tool t;
	struct got *g;
	size_t i;

	snprintf(other_port, sizeof(other_port), "https://localhost:%d/echo",
	    o.down_port);
	echo_tool(&t, url_https, SLOT_HEADER);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rq = request(&t, "redirect");
		param(rq, "to", PARAM_STRING, cases[i].to != NULL ?
		    cases[i].to : other_port);
		cred(rq, "apiKey", V_PLAIN);
		g = run(r, rq);
		if (cases[i].refused)
			ok(g != NULL && g->rs.outcome == RUN_REFUSED &&
			    strcmp(g->rs.message, "upstream redirected to "
			    "another host") == 0 && g->rs.result_len == 0,
			    "http: a redirect to %s is refused (%s)",
			    cases[i].what, desc(g));
		else
			ok(is_result(g, RUN_OK, 0, 302) &&
			    strcmp((const char *)g->rs.result,
			    "redirecting\n") == 0, "http: a redirect to %s is "
			    "returned, not followed (%s)", cases[i].what,
			    desc(g));
		got_free(g);
		free(rq);
	}
}

void
http_big(struct runner *r)
{
	struct run_request *rq;
	struct tool t;
	struct got *g;
	int chunked;

	echo_tool(&t, url_https, SLOT_HEADER);
	t.timeout_ms = 20000;
	for (chunked = 0; chunked < 2; chunked++) {
		rq = request(&t, "big");
		param(rq, "n", PARAM_NUMBER, "10485760");
		if (chunked)
			param(rq, "chunked", PARAM_BOOL, "true");
		cred(rq, "apiKey", V_PLAIN);
		g = run(r, rq);
		ok(g != NULL && g->rs.outcome == RUN_TOO_LARGE &&
		    g->rs.result_len == 0, "http: a 10 MiB body%s is "
		    "RUN_TOO_LARGE, none of it returned (%s)", chunked ?
		    " without Content-Length" : "", desc(g));
		got_free(g);
		free(rq);
	}
	rq = request(&t, "big");
	param(rq, "n", PARAM_NUMBER, "65536");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	ok(is_result(g, RUN_OK, 1, 200) && g->rs.result_len == 65536 &&
	    !g->rs.result_is_json, "http: a body of exactly max_result is "
	    "returned whole, as text (%s)", desc(g));
	got_free(g);
	free(rq);
}

/* A slow upstream times out while another execution completes. */
void
http_timeout(struct runner *r)
{
	struct run_request *slow, *fast;
	struct tool ts, tf;
	struct got *gs, *gf;
	uint32_t a, b;

	echo_tool(&ts, url_https, SLOT_HEADER);
	ts.timeout_ms = 1500;
	echo_tool(&tf, url_https, SLOT_HEADER);
	slow = request(&ts, "slow");
	cred(slow, "apiKey", V_PLAIN);
	fast = request(&tf, "get");
	cred(fast, "apiKey", V_PLAIN);
	a = submit(r, slow);
	nap_ms(100);
	b = submit(r, fast);
	gf = wait_for(r, b, WAIT_MS);
	gs = wait_for(r, a, WAIT_MS);
	ok(is_result(gf, RUN_OK, 1, 200) && gs != NULL && gf->at < gs->at,
	    "http: another execution completes while a slow upstream holds "
	    "one (%s)", desc(gf));
	ok(gs != NULL && gs->rs.outcome == RUN_TIMEOUT &&
	    gs->rs.duration_ms >= 1400 && gs->rs.duration_ms < 5000,
	    "http: the slow upstream is RUN_TIMEOUT at the tool's 1500 ms "
	    "(%s)", desc(gs));
	got_free(gs);
	got_free(gf);
	free(slow);
	free(fast);
}

void
http_connect_failures(struct runner *r)
{
	char url[128];
	struct run_request *rq;
	struct tool t;
	struct got *g;

	echo_tool(&t, url_down, SLOT_HEADER);
	rq = request(&t, "get");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	ok(g != NULL && g->rs.outcome == RUN_UPSTREAM &&
	    g->rs.message[0] != '\0', "http: an upstream that is down is "
	    "RUN_UPSTREAM with curl's message (%s)", desc(g));
	got_free(g);
	free(rq);

	echo_tool(&t, url_https, SLOT_HEADER);
	t.ca_file[0] = '\0';
	rq = request(&t, "get");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	ok(g != NULL && g->rs.outcome == RUN_UPSTREAM &&
	    strstr(g->rs.message, "certificate") != NULL, "http: a "
	    "certificate the system CAs do not know is refused (%s)", desc(g));
	got_free(g);
	free(rq);

	snprintf(url, sizeof(url), "https://127.0.0.1:%d", o.port);
	echo_tool(&t, url, SLOT_HEADER);
	rq = request(&t, "get");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	ok(g != NULL && g->rs.outcome == RUN_UPSTREAM, "http: a certificate "
	    "for another name is refused (%s)", desc(g));
	got_free(g);
	free(rq);
}

void
http_plain(struct runner *r)
{
	char want[64];
	struct run_request *rq;
	struct tool t;
	struct got *g;
	json_t *res;

	echo_tool(&t, url_plain, SLOT_HEADER);
	t.allow_plain_http = 1;
	t.ca_file[0] = '\0';
	rq = request(&t, "get");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	res = result_json(g);
	snprintf(want, sizeof(want), "127.0.0.1:%d", o.plain_port);
	ok(is_result(g, RUN_OK, 1, 200) && strcmp(jstr(res, "headers",
	    "Host"), want) == 0, "http: plain http to loopback when the tool "
	    "allows it (%s)", desc(g));
	is_str(jstr(res, "headers", "X-Api-Key"), "[REDACTED:apiKey]",
	    "http: plain http results are redacted too");
	json_decref(res);
	got_free(g);
	free(rq);

	snprintf(t.base_url, sizeof(t.base_url), "http://localhost:%d",
	    o.plain_port);
	rq = request(&t, "get");
	cred(rq, "apiKey", V_PLAIN);
	g = run(r, rq);
	ok(is_result(g, RUN_OK, 1, 200), "http: plain http to localhost, "
	    "which resolves to loopback (%s)", desc(g));
	got_free(g);
	free(rq);
}

/*
 * A name the resolver must look up (curl answers "localhost" itself):
 * /etc/hosts, in a mount namespace of the runner's own, gives it an IPv6
 * and an IPv4 address, so glibc also asks netlink how to sort them.
 */
void
http_resolver(void)
{
	char hosts[PATH_MAX], url[128];
	struct run_request *rq;
	struct runner r;
	struct spawn x;
	struct tool t;
	struct got *g;
	FILE *f;
	int rc;

	snprintf(hosts, sizeof(hosts), "%s/hosts", o.dir);
	if ((f = fopen(hosts, "w")) == NULL)
		bail(hosts);
	fprintf(f, "127.0.0.1 localhost\n::1 upstream.test\n"
	    "127.0.0.1 upstream.test\n");
	fclose(f);
	chmod(hosts, 0644);
	memset(&x, 0, sizeof(x));
	x.hosts = hosts;
	runner_spawn_with(&r, &x, "resolver");
	if (handshake(&r, 2, 0) == -1)
		bail("handshake");
	snprintf(url, sizeof(url), "https://upstream.test:%d", o.port);
	echo_tool(&t, url, SLOT_HEADER);
	rq = request(&t, "get");
	cred(rq, "apiKey", V_PLAIN);
	g = run(&r, rq);
	ok(is_result(g, RUN_OK, 1, 200), "http: a name looked up through the "
	    "system's resolver, inside the runner's filter (%s)", desc(g));
	got_free(g);
	free(rq);
	close(r.chan.fd);
	r.chan.fd = -1;
	rc = runner_exit_within(&r, 5000);
	ok(rc == 0, "and the runner lived through it: exit 0 when the channel "
	    "closes (%d)", rc);
	runner_kill(&r);
}

/* Proxy variables in the environment change nothing. */
void
http_no_proxy(void)
{
	char proxy[3][128];
	struct run_request *rq;
	struct runner r;
	struct spawn x;
	struct tool t;
	struct got *g;

	memset(&x, 0, sizeof(x));
	snprintf(proxy[0], sizeof(proxy[0]), "https_proxy=http://127.0.0.1:%d",
	    o.down_port);
	snprintf(proxy[1], sizeof(proxy[1]), "HTTPS_PROXY=http://127.0.0.1:%d",
	    o.down_port);
	snprintf(proxy[2], sizeof(proxy[2]), "ALL_PROXY=http://127.0.0.1:%d",
	    o.down_port);
	x.env[0] = proxy[0];
	x.env[1] = proxy[1];
	x.env[2] = proxy[2];
	runner_spawn_with(&r, &x, "proxy");
	if (handshake(&r, 2, 0) == -1)
		bail("handshake");
	echo_tool(&t, url_https, SLOT_HEADER);
	rq = request(&t, "get");
	cred(rq, "apiKey", V_PLAIN);
	g = run(&r, rq);
	ok(is_result(g, RUN_OK, 1, 200), "http: proxy variables are ignored; "
	    "the request goes straight to the upstream (%s)", desc(g));
	got_free(g);
	free(rq);
	runner_kill(&r);
}
