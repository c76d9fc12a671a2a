/*
 * holdreaders DIR: opens the LMDB environment in DIR and takes every
 * free reader slot with a read transaction, prints how many, then holds
 * them until killed (or until stdin closes, when they are released).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <lmdb.h>

int
main(int argc, char *argv[])
{
	MDB_env *env;
	MDB_txn *txn;
	char c;
	int rc, n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: holdreaders dir\n");
		return 2;
	}
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, 16)) != 0 ||
	    (rc = mdb_env_open(env, argv[1], MDB_RDONLY | MDB_NOTLS, 0600))
	    != 0) {
		fprintf(stderr, "holdreaders: %s: %s\n", argv[1],
		    mdb_strerror(rc));
		return 1;
	}
	/* MDB_NOTLS: each transaction takes a slot of its own */
	while ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) == 0)
		n++;
	if (rc != MDB_READERS_FULL) {
		fprintf(stderr, "holdreaders: %s\n", mdb_strerror(rc));
		return 1;
	}
	printf("%d\n", n);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	mdb_env_close(env);
	return 0;
}
