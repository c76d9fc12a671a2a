/*
 * The store floor for the benchmarks: bare LMDB on the same disk as the
 * daemon's store, a put + durable commit loop and a get loop with reused
 * read transactions.  No sealing, no policy: it only sets the floor.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "lat.h"
#include "log.h"

#define MAP_SIZE	(8ULL << 30)

static void	usage(void) __attribute__((noreturn));

static void
check(int rc, const char *what)
{
	if (rc != MDB_SUCCESS)
		fatalx("%s: %s", what, mdb_strerror(rc));
}

/* Keys shaped like the store's: org \0 scope \0 owner \0 name. */
static size_t
make_key(char *buf, size_t len, size_t i)
{
	int n;

	n = snprintf(buf, len, "bench%c0%croot%cbulk_%08zu", 0, 0, 0, i);
	if (n < 0 || (size_t)n >= len)
		fatalx("%s: key too long", __func__);
	return (size_t)n;
}

static double
put_loop(MDB_env *env, MDB_dbi dbi, size_t vsize, size_t batch,
    double secs, struct lat *lat)
{
	MDB_txn *txn;
	MDB_val k, v;
	char key[128], *val;
	uint64_t start, t, end;
	size_t i = 0, j;

	if ((val = malloc(vsize)) == NULL)
		fatal("%s: malloc", __func__);
	memset(val, 0xa5, vsize);
	start = now_ns();
	end = start + (uint64_t)(secs * 1e9);
	do {
		t = now_ns();
		check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
		for (j = 0; j < batch; j++, i++) {
			k.mv_size = make_key(key, sizeof(key), i % 4096);
			k.mv_data = key;
			v.mv_size = vsize;
			v.mv_data = val;
			memcpy(val, &i, sizeof(i));	/* a new value each time */
			check(mdb_put(txn, dbi, &k, &v, 0), "mdb_put");
		}
		check(mdb_txn_commit(txn), "mdb_txn_commit");
		t = now_ns() - t;
		for (j = 0; j < batch; j++)
			lat_add(lat, t);
	} while (now_ns() < end);
	free(val);
	return (double)(now_ns() - start) / 1e9;
}

static void
preload(MDB_env *env, MDB_dbi dbi, size_t nkeys, size_t vsize)
{
	MDB_txn *txn;
	MDB_val k, v;
	char key[128], *val;
	size_t i;

	if ((val = calloc(1, vsize)) == NULL)
		fatal("%s: calloc", __func__);
	check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
	for (i = 0; i < nkeys; i++) {
		k.mv_size = make_key(key, sizeof(key), i);
		k.mv_data = key;
		v.mv_size = vsize;
		v.mv_data = val;
		check(mdb_put(txn, dbi, &k, &v, MDB_APPEND), "mdb_put");
	}
	check(mdb_txn_commit(txn), "mdb_txn_commit");
	free(val);
}

static double
get_loop(MDB_env *env, MDB_dbi dbi, size_t nkeys, double secs,
    struct lat *lat)
{
	MDB_txn *txn;
	MDB_val k, v;
	char key[128], copy[4096];
	uint64_t start, t, end;
	uint32_t r = 2463534242U;

	check(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
	mdb_txn_reset(txn);
	start = now_ns();
	end = start + (uint64_t)(secs * 1e9);
	do {
		r ^= r << 13; r ^= r >> 17; r ^= r << 5;	/* xorshift */
		t = now_ns();
		check(mdb_txn_renew(txn), "mdb_txn_renew");
		k.mv_size = make_key(key, sizeof(key), r % nkeys);
		k.mv_data = key;
		check(mdb_get(txn, dbi, &k, &v), "mdb_get");
		memcpy(copy, v.mv_data, v.mv_size < sizeof(copy) ?
		    v.mv_size : sizeof(copy));
		mdb_txn_reset(txn);
		lat_add(lat, now_ns() - t);
	} while (now_ns() < end);
	mdb_txn_abort(txn);
	return (double)(now_ns() - start) / 1e9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: floor_store -d dir -m put|get [-t seconds] "
	    "[-s value_size] [-b puts_per_commit] [-k keys]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	struct lat lat = { NULL, 0, 0 };
	const char *dir = NULL, *mode = NULL;
	size_t vsize = 200, batch = 1, nkeys = 1000;
	double secs = 3, elapsed;
	int ch;

	while ((ch = getopt(argc, argv, "b:d:k:m:s:t:")) != -1) {
		switch (ch) {
		case 'b': batch = strtoul(optarg, NULL, 10); break;
		case 'd': dir = optarg; break;
		case 'k': nkeys = strtoul(optarg, NULL, 10); break;
		case 'm': mode = optarg; break;
		case 's': vsize = strtoul(optarg, NULL, 10); break;
		case 't': secs = atof(optarg); break;
		default: usage();
		}
	}
	if (dir == NULL || mode == NULL || batch == 0 || nkeys == 0 ||
	    vsize < sizeof(size_t) || secs <= 0)
		usage();
	log_init("floor_store", 1, 0);
	if (mkdir(dir, 0700) == -1)
		fatal("mkdir %s (it must not exist yet)", dir);
	check(mdb_env_create(&env), "mdb_env_create");
	check(mdb_env_set_mapsize(env, MAP_SIZE), "mdb_env_set_mapsize");
	check(mdb_env_set_maxdbs(env, 4), "mdb_env_set_maxdbs");
	/* Default flags: every commit is durable, as in the product. */
	check(mdb_env_open(env, dir, 0, 0600), "mdb_env_open");
	check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
	check(mdb_dbi_open(txn, "secrets", MDB_CREATE, &dbi), "mdb_dbi_open");
	check(mdb_txn_commit(txn), "mdb_txn_commit");
	if (strcmp(mode, "put") == 0)
		elapsed = put_loop(env, dbi, vsize, batch, secs, &lat);
	else if (strcmp(mode, "get") == 0) {
		preload(env, dbi, nkeys, vsize);
		elapsed = get_loop(env, dbi, nkeys, secs, &lat);
	} else
		usage();
	lat_print(&lat, elapsed, stdout);
	printf(" batch=%zu keys=%zu\n", batch, nkeys);
	lat_free(&lat);
	mdb_env_close(env);
	return 0;
}
