/*
 * The audit writer and its chain, driven directly: fields no request can
 * carry today (quotes, newlines, control characters, bytes that are not
 * UTF-8) must still come out as one JSON line each, read back equal by
 * jansson; a malformed request id is replaced; a line too long is refused
 * whole; a restart goes on, a damaged end starts a new segment, and a
 * reopen after a move starts the new file with the old one's end.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "broker.h"
#include "log.h"
#include "tap.h"

#define LINES_MAX	16

static char dir[] = "/tmp/test_audit.XXXXXX";
static char path[PATH_MAX], path1[PATH_MAX];
static uint8_t root_key[32];
static json_t *lines[LINES_MAX];
static size_t nlines;

static void
lines_free(void)
{
	while (nlines > 0)
		json_decref(lines[--nlines]);
}

/* Every line of f as JSON; -1 when one is not a whole JSON object. */
static int
lines_read(const char *f)
{
	char buf[8192];
	json_error_t err;
	FILE *fp;
	int rv = 0;

	lines_free();
	if ((fp = fopen(f, "r")) == NULL)
		return -1;
	while (fgets(buf, sizeof(buf), fp) != NULL && nlines < LINES_MAX) {
		if (strchr(buf, '\n') == NULL ||
		    (lines[nlines] = json_loads(buf, JSON_REJECT_DUPLICATES,
		    &err)) == NULL || !json_is_object(lines[nlines])) {
			rv = -1;
			break;
		}
		nlines++;
	}
	fclose(fp);
	return rv;
}

static const char *
field(size_t i, const char *key)
{
	json_t *v;

	if (i >= nlines || (v = json_object_get(lines[i], key)) == NULL)
		return "(absent)";
	if (json_is_null(v))
		return "(null)";
	return json_is_string(v) ? json_string_value(v) : "(not a string)";
}

static off_t
size_of(const char *f)
{
	struct stat sb;

	return stat(f, &sb) == 0 ? sb.st_size : -1;
}

static int
verify(const char *a, const char *b)
{
	char *files[2] = { (char *)a, (char *)b };

	return audit_verify(root_key, files, b != NULL ? 2 : 1);
}

static struct audit_rec
rec(const char *request_id, const char *name)
{
	struct audit_rec a = {
		.request_id = request_id, .source = "uid:1000", .has_uid = 1,
		.uid = 1000, .user = "alice", .role = ROLE_MEMBER,
		.op = "reveal", .scope = SCOPE_USER, .owner = "alice",
		.name = name, .outcome = "ok", .version = 2,
	};

	return a;
}

static void
test_fields(void)
{
	static const char hostile[] = "a\"b\\c\nd\re\tf\x01g\x7fh \xe2\x80\xa8"
	    "\xc3\x89" "\"},{\"op\":\"forged\"";
	struct tool_cred_use creds[2] = {
		{ "api\"Key", "SHARED_KEY", SCOPE_ORG, 3 },
		{ "second", "OWN_KEY", SCOPE_USER, 1 },
	};
	struct audit_tool t = { "crm", "echo", creds, 2, 1, 12, 200, 3 };
	struct audit_rec a;
	json_t *c;
	int rv;

	a = rec("0123456789abcdef", hostile);
	a.owner = "\xff\xfe" "x";
	ok(audit_log(&a) == 0, "a record with quotes, newlines and control "
	    "characters is written");
	a = rec("NOT-HEX\"\n", "n");
	a.has_uid = 0;
	a.user = NULL;
	a.role = -1;
	a.token_id = "0123456789abcdef";
	a.tool = &t;
	a.op = "exec";
	ok(audit_log(&a) == 0, "an execution with a malformed request id is "
	    "written");
	a = rec("0123456789ABCDEF", "n");
	ok(audit_log(&a) == 0, "a record with an uppercase request id is "
	    "written");

	rv = lines_read(path);
	ok(rv == 0 && nlines == 4, "four lines, each one JSON object (%zu)",
	    nlines);
	ok(strcmp(field(0, "op"), "chain_start") == 0 &&
	    strcmp(field(0, "previous"), "(null)") == 0,
	    "line 1 starts a new chain");
	ok(strcmp(field(1, "name"), hostile) == 0,
	    "the hostile name reads back byte for byte");
	ok(strcmp(field(1, "owner"), "\xef\xbf\xbd\xef\xbf\xbdx") == 0,
	    "bytes that are not UTF-8 become U+FFFD");
	ok(strcmp(field(1, "requestId"), "0123456789abcdef") == 0,
	    "a well-formed request id is kept");
	ok(json_integer_value(json_object_get(lines[1], "uid")) == 1000 &&
	    strcmp(field(1, "user"), "alice") == 0 &&
	    json_object_get(lines[1], "tokenId") == NULL,
	    "a unix caller: uid and user, no tokenId");
	ok(json_integer_value(json_object_get(lines[1], "version")) == 2,
	    "the secret's version");
	ok(strlen(field(2, "requestId")) == 16 &&
	    strspn(field(2, "requestId"), "0123456789abcdef") == 16,
	    "a malformed request id is replaced by 16 hex digits (%s)",
	    field(2, "requestId"));
	ok(strcmp(field(3, "requestId"), "0123456789ABCDEF") != 0 &&
	    strspn(field(3, "requestId"), "0123456789abcdef") == 16,
	    "an uppercase request id is replaced too");
	ok(strcmp(field(2, "tokenId"), "0123456789abcdef") == 0 &&
	    json_object_get(lines[2], "uid") == NULL &&
	    strcmp(field(2, "user"), "(null)") == 0 &&
	    strcmp(field(2, "role"), "(null)") == 0,
	    "a token caller: tokenId, no uid; unauthenticated: user and role "
	    "null");
	c = json_object_get(lines[2], "creds");
	ok(json_array_size(c) == 2 && strcmp(json_string_value(
	    json_object_get(json_array_get(c, 0), "slot")), "api\"Key") == 0 &&
	    strcmp(json_string_value(json_object_get(json_array_get(c, 0),
	    "scope")), "org") == 0 && json_integer_value(json_object_get(
	    json_array_get(c, 1), "version")) == 1,
	    "creds is an array of {slot, name, scope, version}");
	ok(strcmp(field(2, "tool"), "crm") == 0 &&
	    strcmp(field(2, "action"), "echo") == 0 &&
	    json_integer_value(json_object_get(lines[2], "ms")) == 12 &&
	    json_integer_value(json_object_get(lines[2], "status")) == 200 &&
	    json_integer_value(json_object_get(lines[2], "redactions")) == 3,
	    "tool, action, ms, status and redactions are fields of their own");
	ok(verify(path, NULL) == 0, "the log verifies");
}

static void
test_too_long(void)
{
	char name[3000];
	struct audit_rec a;
	off_t before = size_of(path);

	memset(name, '"', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	a = rec("0123456789abcdef", name);
	ok(audit_log(&a) == -1 && size_of(path) == before,
	    "a line over the limit is refused whole, the file unchanged");
	ok(audit_writable() == 0, "audit_writable() says 0 after it");
	a = rec("0123456789abcdef", "after");
	ok(audit_log(&a) == 0 && audit_writable() == 1,
	    "the next line is written and audit_writable() says 1 again");
	ok(verify(path, NULL) == 0, "the chain has no gap where the line was "
	    "refused");
}

static void
test_restart(void)
{
	struct audit_rec a = rec("0123456789abcdef", "restarted");
	int fd;

	audit_close();
	ok(audit_open(path) == 0 && audit_start(root_key) == 0,
	    "a restart over the log");
	ok(audit_log(&a) == 0 && lines_read(path) == 0 && nlines == 6 &&
	    strcmp(field(5, "name"), "restarted") == 0,
	    "goes on with no chain start of its own");
	ok(verify(path, NULL) == 0, "and verifies");

	audit_close();
	fd = open(path, O_WRONLY | O_APPEND);
	ok(fd != -1 && write(fd, "{\"time\":\"cut", 12) == 12,
	    "a partial line is left at the log's end");
	if (fd != -1)
		close(fd);
	ok(audit_open(path) == 0 && audit_start(root_key) == 0,
	    "a restart over a damaged last line starts");
	ok(audit_log(&a) == 0 && lines_read(path) == -1 && nlines == 6,
	    "the damaged line stays a line of its own");
	ok(verify(path, NULL) == 1, "and audit verify reports it");
}

static void
test_reopen(void)
{
	struct audit_rec a = rec("0123456789abcdef", "rotated");
	json_t *last;
	char *prev;

	/* A fresh log, so that the pair verifies. */
	audit_close();
	unlink(path);
	ok(audit_open(path) == 0 && audit_start(root_key) == 0 &&
	    audit_log(&a) == 0, "a new log");
	lines_read(path);
	last = json_object_get(lines[nlines - 1], "chain");
	prev = strdup(json_string_value(last));
	ok(rename(path, path1) == 0 && audit_reopen() == 0,
	    "moved, then reopened");
	ok(audit_log(&a) == 0 && lines_read(path) == 0 && nlines == 2 &&
	    strcmp(field(0, "op"), "chain_start") == 0 &&
	    strcmp(field(0, "previous"), prev) == 0,
	    "the new file starts naming the old one's last chain value");
	ok(audit_reopen() == 0 && lines_read(path) == 0 && nlines == 2,
	    "a reopen without a move adds nothing");
	ok(verify(path1, path) == 0, "old then new verifies");
	ok(verify(path, path1) == 1, "new then old does not");
	free(prev);
}

int
main(void)
{
	if (sodium_init() == -1 || mkdtemp(dir) == NULL)
		return 1;
	log_init("test_audit", 1, 0);
	randombytes_buf(root_key, sizeof(root_key));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	snprintf(path1, sizeof(path1), "%s/audit.log.1", dir);
	ok(audit_open(path) == 0 && audit_start(root_key) == 0,
	    "a new log opens");
	test_fields();
	test_too_long();
	test_restart();
	test_reopen();
	audit_close();
	lines_free();
	unlink(path);
	unlink(path1);
	rmdir(dir);
	return done_testing();
}
