/*
 * Durability: a child writes in a loop (single and batched commits) and
 * reports each acknowledged write over a pipe; the parent SIGKILLs it at
 * random moments, reopens, and checks every acknowledged write is there
 * and every record opens.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "store_int.h"
#include "tap.h"
#include "testutil.h"

#define ROUNDS		60
#define POOL		16		/* names rotated again and again */
#define SEQ_ROUND	100000		/* unique names per round, at most */
#define MAX_COMMITS	3000		/* per child, then it waits */
#define BATCH_MAX	16

static uint8_t root[ROOT_KEY_LEN];
static char *dir;

/* parent's view of what was acknowledged */
static uint32_t pool_acked[POOL];
static uint8_t *uniq;			/* per seq: 0 or one of these */
static uint8_t *present;		/* per seq, from the last scan */
#define ACK_PUT	1			/* must be there */
#define MAY_DEL	2			/* a delete was tried, maybe done */
#define ACK_DEL	3			/* must be gone */

static void
pool_value(char *buf, size_t len, int k, uint32_t version)
{
	snprintf(buf, len, "pool-%d-v%u", k, version);
}

/* The child's state, rebuilt from the store at each start. */
struct writer {
	struct store	*st;
	uint32_t	 pool_ver[POOL];
	uint32_t	 seq, seq_end;
	uint32_t	 live[BATCH_MAX * MAX_COMMITS];
	size_t		 nlive;
	char		 names[BATCH_MAX][32];
	char		 values[BATCH_MAX][32];
	char		 acks[BATCH_MAX * 24];
	char		 intents[BATCH_MAX * 24];
	size_t		 intentl;
};

/* One op of a batch: rotate a pool name, create, or delete a unique. */
static void
pick_op(struct writer *w, struct store_op *op, int j, size_t *ackl)
{
	uint32_t r = randombytes_uniform(10), s;
	int k;

	if (r < 4) {
		k = randombytes_uniform(POOL);
		w->pool_ver[k]++;
		snprintf(w->names[j], sizeof(w->names[j]), "POOL_%d", k);
		pool_value(w->values[j], sizeof(w->values[j]), k,
		    w->pool_ver[k]);
		tu_put_op(op, SCOPE_USER, "acme", "alice", w->names[j],
		    w->values[j], NULL);
		*ackl += snprintf(w->acks + *ackl, sizeof(w->acks) - *ackl,
		    "P %d %u\n", k, w->pool_ver[k]);
	} else if (r < 9 || w->nlive == 0) {
		s = w->seq++;
		snprintf(w->names[j], sizeof(w->names[j]), "U_%u", s);
		snprintf(w->values[j], sizeof(w->values[j]), "u-%u", s);
		tu_put_op(op, SCOPE_USER, "acme", "alice", w->names[j],
		    w->values[j], NULL);
		*ackl += snprintf(w->acks + *ackl, sizeof(w->acks) - *ackl,
		    "U %u\n", s);
		w->live[w->nlive++] = s;
	} else {
		s = w->live[--w->nlive];
		snprintf(w->names[j], sizeof(w->names[j]), "U_%u", s);
		tu_del_op(op, SCOPE_USER, "acme", "alice", w->names[j]);
		w->intentl += snprintf(w->intents + w->intentl,
		    sizeof(w->intents) - w->intentl, "d %u\n", s);
		*ackl += snprintf(w->acks + *ackl, sizeof(w->acks) - *ackl,
		    "D %u\n", s);
	}
}

static void
writer_start(struct writer *w, int round)
{
	struct secret_meta m;
	char name[32];
	int k;

	if (store_open(&w->st, dir, root) != ST_OK)
		_exit(2);
	for (k = 0; k < POOL; k++) {
		snprintf(name, sizeof(name), "POOL_%d", k);
		w->pool_ver[k] = store_secret_get(w->st, "acme", SCOPE_USER,
		    "alice", name, &m, NULL) == ST_OK ? m.version : 0;
	}
	w->seq = round * SEQ_ROUND;
	w->seq_end = w->seq + SEQ_ROUND - BATCH_MAX;
	w->nlive = 0;
}

static void __attribute__((noreturn))
child(int fd, int round)
{
	static struct writer w;
	struct store_op ops[BATCH_MAX];
	size_t ackl, n, j, commits;

	writer_start(&w, round);
	for (commits = 0; commits < MAX_COMMITS && w.seq < w.seq_end;
	    commits++) {
		/* every third commit is a single write, the rest batches */
		n = commits % 3 == 0 ? 1 : 1 + randombytes_uniform(BATCH_MAX);
		ackl = 0;
		w.intentl = 0;
		for (j = 0; j < n; j++)
			pick_op(&w, &ops[j], j, &ackl);
		/* a delete may commit and die unacknowledged: say so first */
		if (w.intentl > 0 && write(fd, w.intents, w.intentl) !=
		    (ssize_t)w.intentl)
			_exit(5);
		if (store_commit(w.st, ops, n) != ST_OK)
			_exit(3);
		for (j = 0; j < n; j++)
			if (ops[j].result != ST_OK)
				_exit(4);
		if (write(fd, w.acks, ackl) != (ssize_t)ackl)
			_exit(5);
	}
	for (;;)
		pause();
}

/* Applies the complete lines of buf; returns how many bytes it used. */
static size_t
apply_acks(const char *buf, size_t len, size_t *count)
{
	const char *p = buf, *nl;
	unsigned int a, b;
	char kind;

	while ((nl = memchr(p, '\n', len - (p - buf))) != NULL) {
		if (sscanf(p, "%c %u %u", &kind, &a, &b) >= 2) {
			if (kind == 'P' && a < POOL && b > pool_acked[a])
				pool_acked[a] = b;
			else if (kind == 'U')
				uniq[a] = ACK_PUT;
			else if (kind == 'd')
				uniq[a] = MAY_DEL;
			else if (kind == 'D')
				uniq[a] = ACK_DEL;
			(*count) += kind != 'd';
		}
		p = nl + 1;
	}
	return p - buf;
}

struct round {
	size_t		 acks;
	int		 clean_exit;
};

/* Starts a writer, kills it at a random moment, collects its acks. */
static void
run_round(int round, struct round *r)
{
	static char buf[1 << 16];
	size_t have = 0, used;
	ssize_t got;
	pid_t pid;
	int fds[2], status, early = round % 10 == 9;

	memset(r, 0, sizeof(*r));
	if (pipe(fds) == -1 || (pid = fork()) == -1) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], round);
	}
	close(fds[1]);
	/* most rounds wait for a first ack; some kill during open */
	if (!early && (got = read(fds[0], buf, sizeof(buf))) > 0)
		have = got;
	usleep(early ? randombytes_uniform(3000) :
	    randombytes_uniform(25000));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	r->clean_exit = !(WIFSIGNALED(status) &&
	    WTERMSIG(status) == SIGKILL);
	for (;;) {
		used = apply_acks(buf, have, &r->acks);
		memmove(buf, buf + used, have - used);
		have -= used;
		got = read(fds[0], buf + have, sizeof(buf) - have);
		if (got <= 0 && !(got == -1 && errno == EINTR))
			break;
		have += got > 0 ? got : 0;
	}
	close(fds[0]);
}

/* Lists every record (each one opened by the scan) into present[]. */
static int
scan_present(struct store *st, size_t *nrec)
{
	static struct secret_meta page[1000];
	struct store_scan sc = { "acme", -1, NULL, NULL, NULL, NULL };
	char cur[CURSOR_MAX_LEN + 1] = "";
	unsigned int seq;
	size_t n, i;
	int ret;

	memset(present, 0, ROUNDS * SEQ_ROUND);
	*nrec = 0;
	do {
		sc.cursor = cur;
		if ((ret = store_secret_scan(st, &sc, page, 1000, &n, cur,
		    sizeof(cur))) != ST_OK)
			return ret;
		for (i = 0; i < n; i++)
			if (sscanf(page[i].name, "U_%u", &seq) == 1 &&
			    seq < ROUNDS * SEQ_ROUND)
				present[seq] = 1;
		*nrec += n;
	} while (cur[0] != '\0');
	return ST_OK;
}

static int
pool_ok(struct store *st)
{
	struct secret_value v;
	struct secret_meta m;
	char name[32], want[32];
	int k, good = 1;

	for (k = 0; k < POOL && good; k++) {
		if (pool_acked[k] == 0)
			continue;
		snprintf(name, sizeof(name), "POOL_%d", k);
		if (store_secret_get(st, "acme", SCOPE_USER, "alice", name, &m,
		    &v) != ST_OK)
			return 0;
		pool_value(want, sizeof(want), k, m.version);
		good = m.version >= pool_acked[k] && v.len == strlen(want) &&
		    memcmp(v.data, want, v.len) == 0;
		store_value_free(&v);
	}
	return good;
}

static int
verify(int round, size_t *missing)
{
	struct store *st;
	size_t nrec, seq;
	int ret, good;

	*missing = 0;
	if (store_open(&st, dir, root) != ST_OK)
		return 0;
	ret = scan_present(st, &nrec);
	good = ret == ST_OK && nrec == store_count_secrets(st) &&
	    pool_ok(st);
	for (seq = 0; seq < (size_t)(round + 1) * SEQ_ROUND; seq++)
		if ((uniq[seq] == ACK_PUT && !present[seq]) ||
		    (uniq[seq] == ACK_DEL && present[seq]))
			(*missing)++;
	store_close(st);
	return good && *missing == 0;
}

int
main(void)
{
	struct round r;
	size_t total = 0, missing, killed = 0;
	int round, all_good = 1;
	time_t t0 = time(NULL);

	if (sodium_init() == -1)
		return 1;
	dir = tu_tmpdir("secretd-durability");
	randombytes_buf(root, sizeof(root));
	uniq = calloc(ROUNDS, SEQ_ROUND);
	present = calloc(ROUNDS, SEQ_ROUND);
	if (uniq == NULL || present == NULL ||
	    !ok(store_create(dir, root) == ST_OK, "store created"))
		return done_testing();
	for (round = 0; round < ROUNDS; round++) {
		run_round(round, &r);
		total += r.acks;
		killed += !r.clean_exit;
		if (!ok(!r.clean_exit && verify(round, &missing),
		    "kill %d: %zu acknowledged writes, all %zu so far present "
		    "and every record opens", round + 1, r.acks, total))
			all_good = 0;
	}
	ok(killed >= 50 && all_good, "%zu SIGKILLs, %zu acknowledged writes "
	    "survived, in %lld s", killed, total, (long long)(time(NULL) - t0));
	tu_rm_rf(dir);
	free(dir);
	free(uniq);
	free(present);
	return done_testing();
}
