/*
 * The store's engine seam on LMDB: a store opened from a store_conf,
 * the asynchronous group commit (done before it returns), the run and
 * poll hooks that LMDB answers trivially, an engine that is not built
 * refused without a trace, and the two engine codes kv.h adds mapped to
 * ST_BUSY (503), never to "absent".
 */
#include "config.h"

#include <sys/stat.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store_int.h"
#include "tap.h"
#include "testutil.h"

static uint8_t root[ROOT_KEY_LEN];

struct done_seen {
	int	 calls;
	int	 status;
};

static void
note_done(void *arg, int status)
{
	struct done_seen *d = arg;

	d->calls++;
	d->status = status;
}

static void
test_codes(void)
{
	ok(store_mdb_err(KV_AGAIN) == ST_BUSY,
	    "a read that waits for the engine is ST_BUSY");
	ok(store_mdb_err(KV_UNAVAILABLE) == ST_BUSY,
	    "an engine out of reach is ST_BUSY");
	ok(store_mdb_err(MDB_NOTFOUND) == ST_NOTFOUND,
	    "only a real absence is ST_NOTFOUND");
}

static void
test_unbuilt(const char *dir)
{
	struct store_conf conf;
	struct store stale, *st = &stale;
	char path[1024];
	struct stat sb;

	memset(&conf, 0, sizeof(conf));
	conf.engine = 7;
	conf.dir = dir;
	ok(store_create_conf(&conf, root) == ST_INVALID,
	    "an unknown engine is refused at create");
	ok(store_open_conf(&st, &conf, root) == ST_INVALID && st == NULL,
	    "and at open, with no store handed back");
	conf.engine = STORE_LMDB;
	conf.dir = NULL;
	ok(store_create_conf(&conf, root) == ST_INVALID,
	    "LMDB without a folder is refused");
	conf.dir = dir;
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	ok(stat(path, &sb) == -1, "the refusal leaves no data file");
#ifndef HAVE_LIBPQ
	conf.engine = STORE_POSTGRESQL;
	conf.conninfo = "host=/nonexistent";
	ok(store_create_conf(&conf, root) == ST_INVALID,
	    "postgresql in a build without libpq is refused");
#endif
}

static void
test_conf_open(const char *dir)
{
	struct store_conf conf;
	struct store_op op;
	struct store *st;
	struct done_seen d = { 0, -1 };
	struct secret_value v;
	struct pollfd pfd[4];

	memset(&conf, 0, sizeof(conf));
	conf.engine = STORE_LMDB;
	conf.dir = dir;
	if (!ok(store_create_conf(&conf, root) == ST_OK &&
	    store_open_conf(&st, &conf, root) == ST_OK,
	    "an LMDB store is made and opened from a store_conf")) {
		return;
	}
	ok(store_create_conf(&conf, root) == ST_EXISTS,
	    "a second create is refused");
	ok(strcmp(store_engine_name(st), "lmdb") == 0, "the engine is lmdb");
	ok(store_wave(st) == 0 && store_wave_ready(st, 0) &&
	    !store_run_missed(st), "LMDB has no waves and never misses");
	store_run_begin(st, 0, 1);
	ok(!store_run_missed(st), "a last run misses nothing either");
	ok(store_pollfds(st, pfd, 4) == 0 && store_timeout_ms(st) == -1,
	    "LMDB has nothing to poll and no timer");
	store_io(st, pfd, 0);

	tu_put_op(&op, SCOPE_USER, "acme", "alice", "API_KEY", "v1", NULL);
	ok(store_commit_start(st, &op, 1, note_done, &d) == ST_OK &&
	    d.calls == 1 && d.status == ST_OK,
	    "store_commit_start calls done once, before it returns");
	ok(op.result == ST_OK && op.created && op.meta.version == 1 &&
	    strcmp(op.meta.category, "custom") == 0,
	    "the op's result and metadata are filled");
	ok(store_secret_get(st, "acme", SCOPE_USER, "alice", "API_KEY", NULL,
	    &v) == ST_OK && v.len == 2 && memcmp(v.data, "v1", 2) == 0,
	    "the committed value reads back");
	store_value_free(&v);

	tu_put_op(&op, SCOPE_USER, "acme", "alice", "API_KEY", "v2", NULL);
	op.meta.name[0] = '\0';
	d.calls = 0;
	ok(store_commit_start(st, &op, 1, note_done, &d) == ST_OK &&
	    d.calls == 1 && d.status == ST_OK && op.result == ST_INVALID,
	    "a refused op is its own result; the commit is done");
	ok(store_secret_get(st, "acme", SCOPE_USER, "alice", "API_KEY", NULL,
	    &v) == ST_OK && v.len == 2 && memcmp(v.data, "v1", 2) == 0,
	    "and the stored value is unchanged");
	store_value_free(&v);

	d.calls = 0;
	ok(store_commit_start(st, NULL, 0, note_done, &d) == ST_OK &&
	    d.calls == 1 && d.status == ST_OK,
	    "an empty commit is done at once");
	ok(store_count_secrets(st) == 1 && store_size_bytes(st) > 0,
	    "the figures for metrics come from the engine");
	store_close(st);
}

int
main(void)
{
	char *dir = tu_tmpdir("secretd-engine");

	if (sodium_init() == -1)
		return 1;
	randombytes_buf(root, sizeof(root));
	test_codes();
	test_unbuilt(dir);
	test_conf_open(dir);
	tu_rm_rf(dir);
	free(dir);
	return done_testing();
}
