/*
 * Keys: the root key file is generated 0400 and refused when loose or
 * the wrong size; the data key rotates, rewrap moves every record to the
 * active key, and a rotation by another process is picked up.  The root
 * key rotates: the old key no longer opens the store, the new one opens
 * every record, and tokens hash as before.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "store_int.h"
#include "tap.h"
#include "testutil.h"

static char *dir;

static const char *
path(const char *name)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static void
write_key(const char *name, size_t len, mode_t mode)
{
	uint8_t buf[64];
	int fd;

	randombytes_buf(buf, sizeof(buf));
	if ((fd = open(path(name), O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    write(fd, buf, len) != (ssize_t)len || fchmod(fd, mode) == -1) {
		perror(name);
		exit(1);
	}
	close(fd);
}

static int
load_refused(const char *name, const char *why)
{
	uint8_t *key = (uint8_t *)1;
	char err[512] = "";
	int ret;

	ret = rootkey_load(path(name), &key, err, sizeof(err));
	if (ret == ST_OK)
		rootkey_free(key);
	return ret != ST_OK && key == NULL && strstr(err, why) != NULL;
}

static void
test_rootkey(void)
{
	uint8_t *key = NULL, file[ROOT_KEY_LEN];
	char err[512];
	struct stat sb;
	FILE *f;

	ok(rootkey_generate(path("root.key"), err, sizeof(err)) == ST_OK &&
	    stat(path("root.key"), &sb) == 0 && (sb.st_mode & 07777) == 0400 &&
	    sb.st_size == ROOT_KEY_LEN, "generated root key is 32 bytes, 0400");
	ok(rootkey_generate(path("root.key"), err, sizeof(err)) == ST_EXISTS &&
	    stat(path("root.key"), &sb) == 0 && (sb.st_mode & 07777) == 0400,
	    "generating over an existing key is refused");
	ok(rootkey_load(path("root.key"), &key, err, sizeof(err)) == ST_OK &&
	    key != NULL && (f = fopen(path("root.key"), "rb")) != NULL &&
	    fread(file, 1, sizeof(file), f) == sizeof(file) && fclose(f) == 0 &&
	    memcmp(file, key, sizeof(file)) == 0,
	    "a 0400 key loads with the file's bytes");
	rootkey_free(key);
	write_key("rw.key", 32, 0600);
	ok(rootkey_load(path("rw.key"), &key, err, sizeof(err)) == ST_OK,
	    "a 0600 key loads");
	rootkey_free(key);
	write_key("group.key", 32, 0440);
	ok(load_refused("group.key", "group or others"),
	    "a 0440 key (group-readable) is refused");
	write_key("world.key", 32, 0644);
	ok(load_refused("world.key", "group or others"),
	    "a 0644 key (world-readable) is refused");
	write_key("gw.key", 32, 0620);
	ok(load_refused("gw.key", "group or others"),
	    "a 0620 key (group-writable) is refused");
	write_key("short.key", 31, 0400);
	ok(load_refused("short.key", "exactly 32 bytes"),
	    "a 31-byte key is refused");
	write_key("long.key", 33, 0400);
	ok(load_refused("long.key", "exactly 32 bytes"),
	    "a 33-byte key is refused");
	mkdir(path("dir.key"), 0700);
	ok(load_refused("dir.key", "not a regular file"),
	    "a directory is refused");
	ok(symlink("rw.key", path("link.key")) == 0 &&
	    load_refused("link.key", "link.key"), "a symbolic link is refused");
	ok(load_refused("missing.key", "No such file"),
	    "a missing key is refused");
}

static char names[64][32], values[64][32];

/* Writes names[from..to) with values tagged by the round. */
static int
write_range(struct store *st, int from, int to, const char *tag)
{
	struct store_op ops[64];
	int i, n = 0;

	for (i = from; i < to; i++, n++) {
		snprintf(names[i], sizeof(names[i]), "KEY_%d", i);
		snprintf(values[i], sizeof(values[i]), "value-%d-%s", i, tag);
		tu_put_op(&ops[n], SCOPE_USER, "acme", "alice", names[i],
		    values[i], NULL);
	}
	if (store_commit(st, ops, n) != ST_OK)
		return -1;
	for (i = 0; i < n; i++)
		if (ops[i].result != ST_OK)
			return -1;
	return 0;
}

static int
all_open(struct store *st, int n)
{
	struct secret_value v;
	int i, good = 1;

	for (i = 0; i < n && good; i++) {
		if (store_secret_get(st, "acme", SCOPE_USER, "alice", names[i],
		    NULL, &v) != ST_OK)
			return 0;
		good = v.len == strlen(values[i]) &&
		    memcmp(v.data, values[i], v.len) == 0;
		store_value_free(&v);
	}
	return good;
}

static size_t
count_key(struct store *st, uint32_t id)
{
	size_t n;

	return store_count_by_key(st, id, &n) == ST_OK ? n : (size_t)-1;
}

/* Another process rotates, writes under the new key and rewraps. */
static void
rotate_elsewhere(const uint8_t *root)
{
	struct store *st;
	uint32_t id;
	size_t n;
	pid_t pid;
	int status;

	if ((pid = fork()) == 0) {
		if (store_open(&st, path("store"), root) != ST_OK ||
		    store_rotate_data_key(st, &id) != ST_OK || id != 3 ||
		    write_range(st, 40, 45, "child") == -1 ||
		    store_rewrap(st, 100, &n) != ST_OK)
			_exit(1);
		store_close(st);
		_exit(0);
	}
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "another process rotated to key 3");
	for (n = 40; n < 45; n++) {
		snprintf(names[n], sizeof(names[n]), "KEY_%zu", n);
		snprintf(values[n], sizeof(values[n]), "value-%zu-child", n);
	}
}

static void
test_keyring(const uint8_t *root)
{
	struct store *st;
	uint32_t id = 0;
	size_t n;

	if (!ok(store_create(path("store"), root) == ST_OK &&
	    store_open(&st, path("store"), root) == ST_OK,
	    "store created under the loaded root key"))
		return;
	ok(store_active_key_id(st) == 1, "a new store's active data key is 1");
	ok(write_range(st, 0, 20, "old") == 0 && count_key(st, 1) == 20,
	    "20 records sealed under key 1");
	ok(store_rotate_data_key(st, &id) == ST_OK && id == 2 &&
	    store_active_key_id(st) == 2, "rotation makes key 2 active");
	ok(write_range(st, 20, 40, "new") == 0 &&
	    write_range(st, 0, 5, "rotated") == 0,
	    "20 new records and 5 rotated ones written");
	ok(count_key(st, 1) == 15 && count_key(st, 2) == 25,
	    "new writes use the new key, untouched records keep the old");
	ok(all_open(st, 40), "before rewrap every old and new value opens");
	ok(store_rewrap(st, 4, &n) == ST_OK && n == 15,
	    "rewrap in batches of 4 re-seals the 15 old records");
	ok(count_key(st, 1) == 0 && count_key(st, 2) == 40,
	    "after rewrap no record references the old key");
	ok(all_open(st, 40), "after rewrap every value opens unchanged");
	ok(store_rewrap(st, 4, &n) == ST_OK && n == 0,
	    "a second rewrap has nothing to do");
	rotate_elsewhere(root);
	ok(write_range(st, 40, 45, "parent") == 0 &&
	    store_active_key_id(st) == 3 && count_key(st, 3) == 45,
	    "rotating records sealed under a key made elsewhere reloads the "
	    "keyring and seals under it");
	ok(all_open(st, 45),
	    "every record opens after the keyring was reloaded");
	ok(count_key(st, 2) == 0 && count_key(st, 3) == 45,
	    "the other process's rewrap is seen here");
	store_close(st);
	ok(store_open(&st, path("store"), root) == ST_OK &&
	    store_active_key_id(st) == 3 && all_open(st, 45),
	    "after reopening, key 3 is active and every value opens");
	store_close(st);
}

static uint8_t *
fresh_key(void)
{
	uint8_t *k = sodium_malloc(ROOT_KEY_LEN);

	if (k != NULL)
		randombytes_buf(k, ROOT_KEY_LEN);
	return k;
}

/* Two rotations in a row: the second must carry the kept token key. */
static void
test_rekey(const uint8_t *root)
{
	struct store_report r;
	struct store *st;
	uint8_t *k1 = fresh_key(), *k2 = fresh_key();
	uint8_t h0[TOKEN_HASH_LEN], h[TOKEN_HASH_LEN];
	size_t n = 0;

	if (!ok(k1 != NULL && k2 != NULL &&
	    store_open(&st, path("store"), root) == ST_OK, "store opens"))
		return;
	store_token_hash(st, "rts_example", h0);
	ok(store_rekey(st, k1, &n) == ST_OK && n == 3,
	    "the root key rotates: 3 data keys sealed again");
	ok(all_open(st, 45), "the open store reads on, every value the same");
	store_close(st);
	ok(store_open(&st, path("store"), root) == ST_BADKEY &&
	    store_verify(path("store"), root, &r) == ST_BADKEY,
	    "the old root key no longer opens the store");
	if (!ok(store_open(&st, path("store"), k1) == ST_OK && all_open(st, 45),
	    "the new root key opens it and every value"))
		return;
	store_token_hash(st, "rts_example", h);
	ok(memcmp(h, h0, sizeof(h)) == 0, "tokens hash as before the rotation");
	ok(store_rekey(st, k2, &n) == ST_OK && n == 3, "a second rotation");
	store_close(st);
	ok(store_open(&st, path("store"), k1) == ST_BADKEY,
	    "the first new key no longer opens it");
	if (!ok(store_open(&st, path("store"), k2) == ST_OK && all_open(st, 45),
	    "the second one opens every value"))
		return;
	store_token_hash(st, "rts_example", h);
	ok(memcmp(h, h0, sizeof(h)) == 0, "tokens still hash as at first");
	ok(write_range(st, 45, 50, "after") == 0 && all_open(st, 50),
	    "records written after it open too");
	store_close(st);
	ok(store_verify(path("store"), k2, &r) == ST_OK, "verify is clean");
	sodium_free(k1);
	sodium_free(k2);
}

int
main(void)
{
	char err[512];
	uint8_t *root;

	if (sodium_init() == -1)
		return 1;
	dir = tu_tmpdir("secretd-keyring");
	test_rootkey();
	if (rootkey_load(path("root.key"), &root, err, sizeof(err)) == ST_OK) {
		test_keyring(root);
		test_rekey(root);
		rootkey_free(root);
	} else
		ok(0, "root key loads: %s", err);
	tu_rm_rf(dir);
	free(dir);
	return done_testing();
}
