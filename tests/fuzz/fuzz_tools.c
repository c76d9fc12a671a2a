/*
 * Fuzz target "tools": a NAME.tool file's text through tool_parse_buf(),
 * the parser secretd -n and the broker use.  Every error must be one
 * whole line naming the file and a line of the input (or none); a tool
 * it accepts must pass tool_check() and cross IPC unchanged.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tooldef.h"
#include "fuzz.h"

#define FILE_NAME	"/fuzz/tools.d/fuzz.tool"

static struct tool t, u;

/* "FILE: msg" or "FILE:N: msg" with 1 <= N <= lines + 1, n of them. */
static void
check_errors(const char *errs, size_t len, int n, size_t lines)
{
	const char *s = errs, *nl, *p;
	size_t flen = strlen(FILE_NAME), line;
	int count = 0;

	for (; s < errs + len; s = nl + 1, count++) {
		if ((nl = memchr(s, '\n', (size_t)(errs + len - s))) == NULL ||
		    strncmp(s, FILE_NAME ":", flen + 1) != 0)
			abort();
		p = s + flen + 1;
		if (*p != ' ') {
			for (line = 0; *p >= '0' && *p <= '9'; p++)
				line = line * 10 + (size_t)(*p - '0');
			if (*p != ':' || line == 0 || line > lines + 1)
				abort();
			p++;
		}
		if (*p != ' ' || p + 1 >= nl)
			abort();
	}
	if (count != n)
		abort();
}

static void
check_ipc(void)
{
	struct ipc_reader r;
	struct ipc_msg m;
	char err[256];

	if (tool_check(&t, err, sizeof(err)) != 0)
		abort();
	ipc_msg_init(&m, IMSG_RUN_EXEC, 1);
	tool_put(&m, &t);
	if (ipc_msg_finish(&m) == -1 || ipc_parse(m.buf, m.len, &r) == -1 ||
	    tool_get(&r, &u) == -1 || ipc_end(&r) == -1 ||
	    memcmp(&t, &u, sizeof(t)) != 0)
		abort();
	ipc_msg_free(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *errs = NULL;
	size_t len = 0, lines = 0, i;
	FILE *mem;
	int n;

	if ((mem = open_memstream(&errs, &len)) == NULL)
		return 0;
	n = tool_parse_buf(FILE_NAME, (const char *)data, size, &t, mem);
	fclose(mem);
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	check_errors(errs, len, n, lines);
	if (n == 0)
		check_ipc();
	free(errs);
	return 0;
}
