/*
 * secretd audit verify: walks the hash chain of one audit log, or of
 * several in rotation order, and names the first line that was altered,
 * removed, inserted or moved.  It only reads; it may run beside the
 * daemon, which may be adding a line to the last file as it reads.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "broker.h"

/* One file read a line ahead, since a swap or an insertion shows there. */
struct vfile {
	const char	*path;
	FILE		*fp;
	char		*line[2];
	size_t		 cap[2];
	ssize_t		 len[2];	/* -1: none */
	int		 cur;
	unsigned long long lineno;
};

/* What the walk has seen: the chain so far, and the summary's counts. */
struct vwalk {
	const uint8_t	*key;
	int		 have;		/* a line was verified */
	uint8_t		 chain[AUDIT_HASH_LEN];
	uint64_t	 seq;
	unsigned long long lines;
	char		 first[AUDIT_TIME_LEN + 1];
	char		 last[AUDIT_TIME_LEN + 1];
	const char	*prev_path;
};

/* The next line becomes the current one; the one after it is read. */
static void
vfile_advance(struct vfile *f)
{
	f->cur = !f->cur;
	f->len[!f->cur] = getline(&f->line[!f->cur], &f->cap[!f->cur], f->fp);
	f->lineno++;
}

/* A line without its newline; -1 for one cut off at the file's end. */
static int
frame(char *s, ssize_t n, struct audit_line *l)
{
	if (n <= 0 || s[n - 1] != '\n')
		return -1;
	return auditchain_parse(s, (size_t)n - 1, l);
}

static void
fail(const struct vfile *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(const struct vfile *f, const char *fmt, ...)
{
	va_list ap;

	printf("%s:%llu: ", f->path, f->lineno);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/*
 * A line that does not follow the one before it: what is most likely
 * wrong, from its sequence number and the line after it.
 */
static void
diagnose(struct vwalk *w, struct vfile *f, const struct audit_line *l)
{
	struct audit_line nx;
	uint64_t want = w->seq + 1;
	int next_ok = f->len[!f->cur] > 0 && frame(f->line[!f->cur],
	    f->len[!f->cur], &nx) == 0;

	if (next_ok && nx.seq == want && l->seq == want + 1 &&
	    auditchain_follows(w->key, w->chain, &nx))
		fail(f, "lines %llu and %llu were swapped (line %llu "
		    "follows line %llu)", f->lineno, f->lineno + 1,
		    f->lineno + 1, f->lineno - 1);
	else if (next_ok && auditchain_follows(w->key, w->chain, &nx))
		fail(f, "line %llu was inserted (line %llu follows line "
		    "%llu)", f->lineno, f->lineno + 1, f->lineno - 1);
	else if (l->seq > want)
		fail(f, "%llu line%s removed before this line (sequence "
		    "number %llu follows %llu)",
		    (unsigned long long)(l->seq - want),
		    l->seq - want == 1 ? " was" : "s were",
		    (unsigned long long)l->seq, (unsigned long long)w->seq);
	else if (l->seq < want)
		fail(f, "out of order: sequence number %llu after %llu",
		    (unsigned long long)l->seq, (unsigned long long)w->seq);
	else
		fail(f, "altered, or not written by secretd: its chain "
		    "value does not match its contents");
}

/* A chain start record: where the chain it begins comes from. */
static int
check_start(struct vwalk *w, struct vfile *f, const struct audit_line *l)
{
	uint8_t prev[AUDIT_HASH_LEN];
	char hexs[2 * AUDIT_HASH_LEN + 1];

	auditchain_start_prev(l, prev);
	if (!auditchain_follows(w->key, prev, l)) {
		fail(f, "altered, or not written by secretd: its chain value "
		    "does not match its contents");
		return -1;
	}
	if (!w->have) {
		/* The first file given: what came before is not here. */
		if (l->has_previous)
			printf("%s:%llu: continues a chain from a file not "
			    "given (not checked)\n", f->path, f->lineno);
		return 0;
	}
	if (!l->has_previous) {
		if (f->lineno == 1)
			fail(f, "starts a new chain, so it does not follow "
			    "%s", w->prev_path);
		else
			fail(f, "a new chain segment starts here: the daemon "
			    "could not verify the line before it");
		return -1;
	}
	if (sodium_memcmp(l->previous, w->chain, AUDIT_HASH_LEN) != 0) {
		sodium_bin2hex(hexs, sizeof(hexs), w->chain, sizeof(w->chain));
		if (f->lineno == 1)
			fail(f, "does not follow %s: its start names another "
			    "chain value than %s's last, %s (a file missing, "
			    "or in the wrong order)", w->prev_path,
			    w->prev_path, hexs);
		else
			fail(f, "a chain start that names another chain "
			    "value than the line before it");
		return -1;
	}
	return 0;
}

static int
check_line(struct vwalk *w, struct vfile *f, char *s, ssize_t n)
{
	struct audit_line l;

	if (frame(s, n, &l) == -1) {
		if (n > 0 && s[n - 1] != '\n')
			fail(f, "an incomplete last line (no newline)");
		else
			fail(f, "not an audit record");
		return -1;
	}
	if (l.is_start) {
		if (check_start(w, f, &l) == -1)
			return -1;
	} else if (f->lineno == 1) {
		fail(f, "the file does not begin with a chain start record "
		    "(lines were removed from its beginning)");
		return -1;
	} else if (!auditchain_follows(w->key, w->chain, &l) ||
	    l.seq != w->seq + 1) {
		diagnose(w, f, &l);
		return -1;
	}
	memcpy(w->chain, l.chain, sizeof(w->chain));
	w->seq = l.seq;
	w->have = 1;
	w->lines++;
	if (w->first[0] == '\0')
		memcpy(w->first, l.time, sizeof(w->first));
	memcpy(w->last, l.time, sizeof(w->last));
	return 0;
}

static int
verify_file(struct vwalk *w, const char *path)
{
	struct vfile f;
	unsigned long long before = w->lines;
	int rv = 0;

	memset(&f, 0, sizeof(f));
	f.path = path;
	if ((f.fp = fopen(path, "re")) == NULL) {
		printf("%s: %s\n", path, strerror(errno));
		return -1;
	}
	f.len[1] = getline(&f.line[1], &f.cap[1], f.fp);
	for (;;) {
		vfile_advance(&f);
		if (f.len[f.cur] == -1)
			break;
		if (check_line(w, &f, f.line[f.cur], f.len[f.cur]) == -1) {
			rv = -1;
			break;
		}
	}
	if (rv == 0 && f.lineno == 1) {
		printf("%s: empty\n", path);
		rv = -1;
	}
	if (ferror(f.fp)) {
		printf("%s: read error\n", path);
		rv = -1;
	}
	if (rv == 0)
		printf("%s: %llu lines intact\n", path, w->lines - before);
	fclose(f.fp);
	free(f.line[0]);
	free(f.line[1]);
	w->prev_path = path;
	return rv;
}

int
audit_verify(const uint8_t *audit_key, char *const files[], int n)
{
	struct vwalk w;
	int i;

	memset(&w, 0, sizeof(w));
	if ((w.key = auditchain_key(audit_key)) == NULL) {
		printf("audit verify: the chain key could not be derived\n");
		return 1;
	}
	for (i = 0; i < n; i++)
		if (verify_file(&w, files[i]) == -1)
			break;
	sodium_free((void *)w.key);
	if (i < n) {
		printf("audit log NOT intact: %llu lines verified before the "
		    "first fault\n", w.lines);
		return 1;
	}
	printf("audit log intact: %d file%s, %llu lines, first %s, last %s\n",
	    n, n == 1 ? "" : "s", w.lines, w.first, w.last);
	return 0;
}
