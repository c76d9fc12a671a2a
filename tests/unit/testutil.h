/*
 * Fixtures the unit tests share: private temporary folders, whole-file
 * reads and store operations.  Test code only; no program links it.
 */
#ifndef SECRETD_TESTUTIL_H
#define SECRETD_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct store_op;
struct MDB_txn;

/* testutil.c */
char	*tu_mkdtemp(const char *);
char	*tu_tmpdir(const char *);
void	 tu_rm_rf(const char *);
char	*tu_slurp(const char *, size_t *);

/* testutil_store.c */
void	 tu_put_op(struct store_op *, int, const char *, const char *,
	    const char *, const char *, const char *);
void	 tu_del_op(struct store_op *, int, const char *, const char *,
	    const char *);
int	 tu_untag(struct MDB_txn *, const char *db);
int	 tu_schema_put(struct MDB_txn *, unsigned int, uint32_t);
int	 tu_put1(struct store *, int, const char *, const char *,
	    const char *, const char *, const char *);

#endif
