/* placeholder until the tools folder parser lands */
#ifndef SECRETD_TOOLDEF_H
#define SECRETD_TOOLDEF_H
#include <stdio.h>
#include "tool.h"
struct toolset {
	struct tool	**tools;
	size_t		  n;
};
int	 tools_load(const char *dir, struct toolset *, FILE *errs);
const struct tool *tools_find(const struct toolset *, const char *name);
void	 tools_free(struct toolset *);
#endif
