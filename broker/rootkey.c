/*
 * secretd rotate-root-key: the keyring sealed under a new root key, and
 * the key files swapped so that an interruption anywhere leaves a state
 * that the next run finishes.  With the key in root_key_file (K):
 *
 *   1. the new key is written to K.new (0400, synced);
 *   2. one store transaction (LMDB, or the database) seals every data
 *      key, the token and audit keys under it: before its
 *      commit only K opens the store, after it only K.new;
 *   3. K is linked aside as K.old-STAMP, then K.new renamed over K.
 *
 * A run that finds K.new looks at which key opens the store: K (step 2
 * never committed: K.new sealed nothing and is removed, and the rotation
 * starts over) or K.new (it committed: step 3 is done, nothing rotated
 * again).  Never runs beside a daemon.  Keys stay in sodium_malloc memory.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "store_engine.h"
#include "storeconf.h"

#define CMD	"rotate-root-key"

/*
 * Where the root key is read from: the systemd credential when there is
 * one (returns 1), else root_key_file (0); -1 when the path is too long.
 */
int
root_key_path(const struct secretd_config *cfg, char *buf, size_t len)
{
	const char *cred;
	int n, from_cred = 0;

	if ((cred = getenv("CREDENTIALS_DIRECTORY")) != NULL && *cred != '\0') {
		n = snprintf(buf, len, "%s/root.key", cred);
		from_cred = 1;
	} else
		n = snprintf(buf, len, "%s", cfg->root_key_file);
	return n < 0 || (size_t)n >= len ? -1 : from_cred;
}

/*
 * Said when the configured key does not open the store at start: a
 * rotation interrupted after its commit left the key that does in K.new.
 */
const char *
rootkey_rotation_hint(const struct secretd_config *cfg)
{
	char key[PATH_MAX], path[PATH_MAX + 4];

	if (root_key_path(cfg, key, sizeof(key)) != 0)
		return "";
	snprintf(path, sizeof(path), "%s.new", key);
	if (access(path, F_OK) == -1)
		return "";
	return "; a rotate-root-key was interrupted after its commit "
	    "(root.key.new exists): run secretd rotate-root-key to finish it";
}

static size_t
report_secrets(const struct store_report *r)
{
	size_t i;

	for (i = 0; i < r->ndb; i++)
		if (strcmp(r->db[i].name, "secrets") == 0)
			return r->db[i].n;
	return 0;
}

/* Step 3: the old key linked aside, the new one renamed over it. */
static int
swap_keys(const char *cur, const char *pending, char *aside, size_t len)
{
	if (link_aside(cur, "old", aside, len) == -1 && errno != ENOENT)
		return -1;
	if (rename(pending, cur) == -1 || sync_dir_of(cur) == -1)
		return -1;
	return 0;
}

static int
finish_swap(const struct store_conf *sc, const char *cur, const char *pending,
    const char *what)
{
	char aside[PATH_MAX + 32];

	if (swap_keys(cur, pending, aside, sizeof(aside)) == -1)
		return cmd_fail(CMD, "%s: %s; the store opens with %s: run "
		    CMD " again", cur, strerror(errno), pending);
	printf("%s: %s now holds the root key that opens the store in %s\n",
	    what, cur, store_conf_where(sc));
	if (aside[0] != '\0')
		printf("the old root key is kept as %s until you delete it: "
		    "backups taken before the rotation open only with it\n",
		    aside);
	return 0;
}

/*
 * K.new left by an interrupted run: *done when it had committed and the
 * swap is now finished; otherwise K.new is gone and the rotation may
 * start over.
 */
static int
resume(const struct store_conf *sc, const char *cur, const char *pending,
    const uint8_t *old, int *done)
{
	struct store_report r;
	uint8_t *pend;
	char err[512];
	int ret;

	*done = 0;
	if (rootkey_load(pending, &pend, err, sizeof(err)) != ST_OK)
		return cmd_fail(CMD, "%s (left by an interrupted rotation?); "
		    "move it away if it is not a key", err);
	ret = store_verify_conf(sc, pend, &r);
	rootkey_free(pend);
	if (ret == ST_OK) {
		*done = 1;
		return finish_swap(sc, cur, pending,
		    "finished an interrupted rotation");
	}
	if (old == NULL || store_verify_conf(sc, old, &r) != ST_OK)
		return cmd_fail(CMD, "neither %s nor %s opens the store in "
		    "%s; nothing was changed", cur, pending,
		    store_conf_where(sc));
	if (unlink(pending) == -1 || sync_dir_of(pending) == -1)
		return cmd_fail(CMD, "%s: %s", pending, strerror(errno));
	printf("removed %s, left by a rotation that never committed\n",
	    pending);
	return 0;
}

/* The new key: from new_key_file, checked, or fresh random bytes. */
static int
new_key_get(const char *new_key_file, uint8_t **keyp)
{
	char err[512];

	if (new_key_file != NULL) {
		if (rootkey_load(new_key_file, keyp, err, sizeof(err)) !=
		    ST_OK)
			return cmd_fail(CMD, "--new-key %s; nothing was "
			    "changed", err);
		return 0;
	}
	if ((*keyp = sodium_malloc(ROOT_KEY_LEN)) == NULL)
		return cmd_fail(CMD, "out of memory");
	randombytes_buf(*keyp, ROOT_KEY_LEN);
	sodium_mprotect_readonly(*keyp);
	return 0;
}

/* Step 2: every data key sealed under the new key, one commit. */
static int
rekey(const struct store_conf *sc, const uint8_t *old, const uint8_t *new,
    size_t *n)
{
	struct store *st;
	int ret;

	if ((ret = store_open_conf(&st, sc, old)) != ST_OK)
		return ret;
	ret = store_rekey(st, new, n);
	store_close(st);
	return ret;
}

/* Steps 1 to 3, from a key that opens the store to a new one. */
static int
rotate_steps(const struct store_conf *sc, const char *cur, const char *pending,
    const uint8_t *old, const uint8_t *new)
{
	struct store_report r;
	char err[512];
	size_t n;
	int ret;

	if (rootkey_write(pending, new, err, sizeof(err)) != ST_OK)
		return cmd_fail(CMD, "%s; nothing was changed", err);
	if ((ret = rekey(sc, old, new, &n)) != ST_OK) {
		/* K.new goes only when K is sure to open the store */
		if (store_verify_conf(sc, old, &r) != ST_OK)
			return cmd_fail(CMD, "%s: %s; %s is kept: run " CMD
			    " again", store_conf_where(sc), store_strerror(ret),
			    pending);
		unlink(pending);
		return cmd_fail(CMD, "%s: %s; nothing was changed",
		    store_conf_where(sc), store_strerror(ret));
	}
	printf("%zu data key%s sealed under the new root key\n", n,
	    n == 1 ? "" : "s");
	if (finish_swap(sc, cur, pending, "rotated") != 0)
		return 1;
	if ((ret = store_verify_conf(sc, new, &r)) != ST_OK)
		return cmd_fail(CMD, "%s: %s", store_conf_where(sc),
		    store_strerror(ret));
	printf("every record opens with the new root key (%zu secrets)\n",
	    report_secrets(&r));
	return 0;
}

static int
rotate_file(const struct store_conf *sc, const char *cur,
    const char *new_key_file)
{
	struct store_report r;
	char pending[PATH_MAX], err[512];
	uint8_t *old = NULL, *new = NULL;
	int ret, done, have_pending, status = 1;

	if ((size_t)snprintf(pending, sizeof(pending), "%s.new", cur) >=
	    sizeof(pending))
		return cmd_fail(CMD, "%s: path too long", cur);
	have_pending = access(pending, F_OK) == 0;
	if (rootkey_load(cur, &old, err, sizeof(err)) != ST_OK &&
	    !have_pending)
		return cmd_fail(CMD, "%s", err);
	if (have_pending && ((status = resume(sc, cur, pending, old,
	    &done)) != 0 || done)) {
		rootkey_free(old);
		return status;
	}
	status = 1;
	if ((ret = store_verify_conf(sc, old, &r)) != ST_OK)
		cmd_fail(CMD, "%s: %s; nothing was changed",
		    store_conf_where(sc), ret == ST_BADKEY ? "the root key does not open this store" :
		    store_strerror(ret));
	else if (new_key_get(new_key_file, &new) == 0) {
		if (sodium_memcmp(old, new, ROOT_KEY_LEN) == 0)
			cmd_fail(CMD, "the new key is the current one; nothing "
			    "was changed");
		else
			status = rotate_steps(sc, cur, pending, old, new);
	}
	rootkey_free(old);
	rootkey_free(new);
	return status;
}

/*
 * With a systemd credential the key files are the operator's: the new
 * key comes from new_key_file and stays there, to be encrypted into the
 * credential that replaces the old one.
 */
static int
rotate_credential(const struct store_conf *sc, const char *cur,
    const char *new_key_file)
{
	struct store_report r;
	char err[512];
	uint8_t *old = NULL, *new = NULL;
	size_t n;
	int ret, status = 1;

	if (new_key_file == NULL)
		return cmd_fail(CMD, "the root key is a systemd credential "
		    "(%s): give the new one with --new-key FILE; see "
		    "secretd(8)", cur);
	if (rootkey_load(cur, &old, err, sizeof(err)) != ST_OK) {
		cmd_fail(CMD, "%s", err);
		goto out;
	}
	if (new_key_get(new_key_file, &new) != 0)
		goto out;
	if (sodium_memcmp(old, new, ROOT_KEY_LEN) == 0) {
		cmd_fail(CMD, "the new key is the current one; nothing was "
		    "changed");
		goto out;
	}
	if ((ret = store_verify_conf(sc, old, &r)) == ST_BADKEY &&
	    store_verify_conf(sc, new, &r) == ST_OK) {
		printf("the store already opens with %s only: replace the "
		    "credential with it\n", new_key_file);
		status = 0;
		goto out;
	}
	if (ret != ST_OK || (ret = rekey(sc, old, new, &n)) != ST_OK) {
		cmd_fail(CMD, "%s: %s; nothing was changed",
		    store_conf_where(sc), store_strerror(ret));
		goto out;
	}
	printf("%zu data key%s sealed under the key in %s: the store opens "
	    "only with it now; encrypt it into the credential "
	    "(systemd-creds encrypt --name=root.key %s ...), replace the "
	    "LoadCredentialEncrypted= file, start secretd%s\n", n,
	    n == 1 ? "" : "s", new_key_file, new_key_file,
	    sc->engine == STORE_POSTGRESQL ? " (on every node, each given "
	    "the new credential first)" : "");
	status = 0;
out:
	rootkey_free(old);
	rootkey_free(new);
	return status;
}

int
rootkey_rotate(const struct secretd_config *cfg, const char *new_key_file)
{
	struct statelock lk;
	struct store_conf sc;
	char cur[PATH_MAX], err[512];
	int from_cred, status;

	if (statelock_take(&lk, cfg->state_dir, STATELOCK_OFFLINE, err,
	    sizeof(err)) == -1)
		return cmd_fail(CMD, "%s; stop it first", err);
	statelock_mark(&lk);
	/* Before the key: a credential may be the password. */
	if (store_conf_make(cfg, store_conf_engine(cfg), &sc, err,
	    sizeof(err)) == -1) {
		statelock_release(&lk);
		return cmd_fail(CMD, "%s", err);
	}
	/* The lock holds this node only; the others share the database. */
	if (sc.engine == STORE_POSTGRESQL)
		printf("the store is a database: secretd must be stopped on "
		    "every node that uses it (see secretd(8))\n");
	if ((from_cred = root_key_path(cfg, cur, sizeof(cur))) == -1)
		status = cmd_fail(CMD, "root key path too long");
	else if (from_cred)
		status = rotate_credential(&sc, cur, new_key_file);
	else
		status = rotate_file(&sc, cur, new_key_file);
	store_conf_clear(&sc);
	statelock_release(&lk);
	return status;
}
