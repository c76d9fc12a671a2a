/*
 * Fills a stopped daemon's store with N sealed secrets through the store
 * API (broker/store.h), in large group commits, for the scale benchmarks.
 * It goes through store_commit like the broker does; never around it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lat.h"
#include "log.h"
#include "store.h"

#define VALUE_LEN	32

static void	usage(void) __attribute__((noreturn));

static void
fill_op(struct store_op *op, const char *org, const char *owner,
    const char *prefix, size_t i, const uint8_t *value)
{
	memset(op, 0, sizeof(*op));
	op->kind = STORE_PUT_SECRET;
	snprintf(op->meta.name, sizeof(op->meta.name), "%s_%08zu", prefix, i);
	op->meta.scope = SCOPE_USER;
	snprintf(op->meta.user_id, sizeof(op->meta.user_id), "%s", owner);
	snprintf(op->meta.org_id, sizeof(op->meta.org_id), "%s", org);
	snprintf(op->meta.updated_by, sizeof(op->meta.updated_by), "%s",
	    owner);
	op->value = value;
	op->value_len = VALUE_LEN;
}

static void
load(struct store *st, const char *org, const char *owner,
    const char *prefix, size_t start, size_t n, size_t batch)
{
	struct store_op *ops;
	uint8_t value[VALUE_LEN];
	size_t done = 0, k, i;
	int rc;

	memset(value, 'v', sizeof(value));
	if ((ops = calloc(batch, sizeof(*ops))) == NULL)
		fatal("%s: calloc", __func__);
	while (done < n) {
		k = n - done < batch ? n - done : batch;
		for (i = 0; i < k; i++)
			fill_op(&ops[i], org, owner, prefix, start + done + i,
			    value);
		if ((rc = store_commit(st, ops, k)) != ST_OK)
			fatalx("%s: store_commit: %s", __func__,
			    store_strerror(rc));
		for (i = 0; i < k; i++)
			if (ops[i].result != ST_OK)
				fatalx("%s: %s: %s", __func__, ops[i].meta.name,
				    store_strerror(ops[i].result));
		done += k;
	}
	free(ops);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bulkload -d state_dir -k root_key_file "
	    "-o org -u owner -n count [-b batch] [-p name_prefix]\n"
	    "\t[-s first_index]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct store *st;
	uint8_t *key;
	const char *dir = NULL, *keyfile = NULL, *org = NULL, *owner = NULL;
	const char *prefix = "bulk";
	char err[256];
	size_t n = 0, start = 0, batch = 10000;
	uint64_t t;
	int ch, rc;

	while ((ch = getopt(argc, argv, "b:d:k:n:o:p:s:u:")) != -1) {
		switch (ch) {
		case 'b': batch = strtoul(optarg, NULL, 10); break;
		case 'd': dir = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'o': org = optarg; break;
		case 'p': prefix = optarg; break;
		case 's': start = strtoul(optarg, NULL, 10); break;
		case 'u': owner = optarg; break;
		default: usage();
		}
	}
	if (dir == NULL || keyfile == NULL || org == NULL || owner == NULL ||
	    batch == 0)
		usage();
	log_init("bulkload", 1, 0);
	if (rootkey_load(keyfile, &key, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if ((rc = store_open(&st, dir, key)) != ST_OK)
		fatalx("store_open %s: %s", dir, store_strerror(rc));
	t = now_ns();
	load(st, org, owner, prefix, start, n, batch);
	printf("loaded=%zu secs=%.2f total=%zu\n", n,
	    (double)(now_ns() - t) / 1e9, store_count_secrets(st));
	store_close(st);
	rootkey_free(key);
	return 0;
}
