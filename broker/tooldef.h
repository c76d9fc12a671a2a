/*
 * The operator's tool definitions: the tools folder, one NAME.tool file a
 * tool, read into a set sorted by name (broker/tooldef.c).  The format is
 * secretd.tools(5).
 */
#ifndef SECRETD_TOOLDEF_H
#define SECRETD_TOOLDEF_H

#include <stddef.h>
#include <stdio.h>

#include "tool.h"

#define TOOL_FILE_MAX	(256 * 1024)	/* bytes in one NAME.tool */
#define TOOL_SUFFIX	".tool"

struct toolset {
	struct tool	**tools;	/* sorted by name, each on the heap */
	size_t		  n;
};

/*
 * Reads every NAME.tool in dir.  Each error is one line on errs (when
 * not NULL), "FILE:LINE: message", or "FILE: message" for what is about
 * the file as a whole; returns how many there were.  A tool with an
 * error is left out of the set; a missing folder is an empty set.
 */
int	 tools_load(const char *dir, struct toolset *, FILE *errs);
const struct tool *tools_find(const struct toolset *, const char *name);
void	 tools_free(struct toolset *);
void	 tools_print(const struct toolset *, FILE *);

/*
 * One tool file's text.  file names it in messages and gives the tool
 * its name (the last component, less ".tool"); a relative command or
 * ca_file is taken from the folder file is in, which must be absolute.
 * Touches no file.  Returns the number of errors; with none, *t passed
 * tool_check().
 */
int	 tool_parse_buf(const char *file, const char *buf, size_t len,
	    struct tool *t, FILE *errs);

#endif
