/*
 * Redaction: before a result leaves the runner, every credential value
 * is replaced by [REDACTED:slot] wherever it appears in the result and in
 * stderr.  This file owns the list of forms searched for and the search;
 * it never logs and wipes every form it built before freeing it.
 *
 * For each slot two texts are searched: the value, and the slot's
 * rendered form (its template with the value, "Bearer xyz", "api:xyz").
 * Each in these encodings:
 *   - as it is;
 *   - inside a JSON string, as jansson, Python, JavaScript and PHP escape
 *     it (every combination of "\/", \uXXXX for non-ASCII in either hex
 *     case, and DEL escaped or not);
 *   - percent-encoded: upper and lower hex, space as %20 or '+', and
 *     '/' or JavaScript's !'()* left as they are;
 *   - base64 and base64url, with and without padding;
 *   - hex, lower and upper case.
 * Base64 is also searched for at the other two byte alignments, for a
 * value of REDACT_B64_CORE_MIN bytes or more: the characters that depend
 * on the value's bytes alone, so a value base64'd together with other
 * bytes ("user:" + value in basic auth, value + "\n") is found too.  The
 * one or two characters at each end that mix value bits with
 * neighbouring bits stay, which discloses at most 4 bits at each end.
 *
 * What redaction does not cover:
 *   - a tool that transforms a value on purpose: hashes, encrypts,
 *     compresses, reverses, splits, interleaves or truncates it, or
 *     changes its case;
 *   - a value nested in two encodings (the base64 of its JSON-escaped
 *     form, percent-encoding of its base64), or a mixture of the variants
 *     above inside one occurrence (hex in mixed case, some '/' escaped and
 *     others not), or an encoding not listed (base32, quoted-printable,
 *     HTML entities, UTF-16);
 *   - base64 of a value shorter than REDACT_B64_CORE_MIN bytes at another
 *     alignment;
 *   - a value so short or common that it cannot be told from other text:
 *     a one-byte value is redacted everywhere it appears, and inside the
 *     [REDACTED:...] markers it cannot be;
 *   - a response the upstream compressed in a way libcurl does not decode.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "runner.h"

#define REDACT_B64_CORE_MIN	8	/* bytes; below, exact forms only */
#define NEEDLES_MAX	0xfffe		/* fits the per-byte owner map */
#define MARK_OPEN		"[REDACTED:"
#define MARK_CLOSE		"]"

struct needle {
	uint8_t		*p;		/* wiped before it is freed */
	size_t		 len;
	int		 label;		/* index into labels */
	size_t		 order;		/* insertion order: ties */
};

struct redactor {
	char		 labels[TOOL_SLOTS_MAX][TOOL_FIELD_MAX + 1];
	int		 nlabels;
	struct needle	*v;
	size_t		 n;
	size_t		 cap;
	int		 sorted;
};

struct redactor *
redact_new(void)
{
	return calloc(1, sizeof(struct redactor));
}

void
redact_free(struct redactor *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		wfree(r->v[i].p, r->v[i].len + 1);
	free(r->v);
	free(r);
}

size_t
redact_needles(const struct redactor *r)
{
	return r->n;
}

/* Takes p (wmalloc'd).  An empty form or one already listed is dropped. */
static int
add_needle(struct redactor *r, uint8_t *p, size_t len, int label)
{
	struct needle *nv;
	size_t i, ncap;

	if (len == 0) {
		wfree(p, len + 1);
		return 0;
	}
	for (i = 0; i < r->n; i++)
		if (r->v[i].len == len && memcmp(r->v[i].p, p, len) == 0) {
			wfree(p, len + 1);
			return 0;
		}
	if (r->n == NEEDLES_MAX) {
		wfree(p, len + 1);
		errno = E2BIG;
		return -1;
	}
	if (r->n == r->cap) {
		ncap = r->cap == 0 ? 32 : r->cap * 2;
		if ((nv = reallocarray(r->v, ncap, sizeof(*nv))) == NULL) {
			wfree(p, len + 1);
			return -1;
		}
		r->v = nv;
		r->cap = ncap;
	}
	r->v[r->n].p = p;
	r->v[r->n].len = len;
	r->v[r->n].label = label;
	r->v[r->n].order = r->n;
	r->n++;
	r->sorted = 0;
	return 0;
}

enum enc { ENC_PCT, ENC_JSON, ENC_HEX, ENC_B64 };

/* Encodes in with one encoder and adds the result. */
static int
add_encoded(struct redactor *r, int label, const uint8_t *in, size_t n,
    enum enc e, const char *keep, int flags)
{
	size_t len = 0;
	uint8_t *p;

	switch (e) {
	case ENC_PCT:
		len = pct_encode(in, n, NULL, keep, flags);
		break;
	case ENC_JSON:
		len = json_escape(in, n, NULL, flags);
		break;
	case ENC_HEX:
		len = hex_encode(in, n, NULL, flags);
		break;
	case ENC_B64:
		len = b64_encode(in, n, NULL, flags);
		break;
	}
	if ((p = wmalloc(len + 1)) == NULL)
		return -1;
	switch (e) {
	case ENC_PCT:
		pct_encode(in, n, (char *)p, keep, flags);
		break;
	case ENC_JSON:
		json_escape(in, n, (char *)p, flags);
		break;
	case ENC_HEX:
		hex_encode(in, n, (char *)p, flags);
		break;
	case ENC_B64:
		b64_encode(in, n, (char *)p, flags);
		break;
	}
	return add_needle(r, p, len, label);
}

static int
add_copy(struct redactor *r, int label, const uint8_t *in, size_t n)
{
	uint8_t *p;

	if ((p = wmalloc(n + 1)) == NULL)
		return -1;
	memcpy(p, in, n);
	return add_needle(r, p, n, label);
}

static const int b64_variants[] = {
	sodium_base64_VARIANT_ORIGINAL,
	sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
	sodium_base64_VARIANT_URLSAFE,
	sodium_base64_VARIANT_URLSAFE_NO_PADDING
};

/* Every encoding of one text. */
static int
add_form(struct redactor *r, int label, const uint8_t *in, size_t n)
{
	static const char *keeps[] = { NULL, "/", "!'()*" };
	size_t i;
	int f;

	if (add_copy(r, label, in, n) == -1)
		return -1;
	for (f = 0; f < JE_COMBOS; f++)
		if (add_encoded(r, label, in, n, ENC_JSON, NULL, f) == -1)
			return -1;
	for (i = 0; i < sizeof(keeps) / sizeof(keeps[0]); i++)
		for (f = 0; f <= (PCT_LOWER | PCT_PLUS); f++)
			if (add_encoded(r, label, in, n, ENC_PCT, keeps[i],
			    f) == -1)
				return -1;
	for (i = 0; i < sizeof(b64_variants) / sizeof(b64_variants[0]); i++)
		if (add_encoded(r, label, in, n, ENC_B64, NULL,
		    b64_variants[i]) == -1)
			return -1;
	if (add_encoded(r, label, in, n, ENC_HEX, NULL, 0) == -1 ||
	    add_encoded(r, label, in, n, ENC_HEX, NULL, 1) == -1)
		return -1;
	return 0;
}

/*
 * Base64 of the value preceded by shift (0-2) other bytes and followed by
 * anything: the characters whose 6 bits all come from the value.
 */
static int
add_b64_core(struct redactor *r, int label, const uint8_t *v, size_t n,
    int shift, int variant)
{
	size_t tlen = n + (size_t)shift, elen, first, last;
	uint8_t *tmp, *enc, *core;

	first = ((size_t)shift * 8 + 5) / 6;
	last = (tlen * 8) / 6;		/* exclusive */
	if (last <= first)
		return 0;
	if ((tmp = wmalloc(tlen)) == NULL)
		return -1;
	memset(tmp, 0, (size_t)shift);
	memcpy(tmp + shift, v, n);
	elen = b64_encode(tmp, tlen, NULL, variant);
	if ((enc = wmalloc(elen + 1)) == NULL) {
		wfree(tmp, tlen);
		return -1;
	}
	b64_encode(tmp, tlen, (char *)enc, variant);
	wfree(tmp, tlen);
	if ((core = wmalloc(last - first + 1)) == NULL) {
		wfree(enc, elen + 1);
		return -1;
	}
	memcpy(core, enc + first, last - first);
	wfree(enc, elen + 1);
	return add_needle(r, core, last - first, label);
}

/*
 * Adds one slot's value: label names it in markers, tmpl (NULL: none)
 * renders it.  A label given before is the same slot.
 */
int
redact_add(struct redactor *r, const char *label, const uint8_t *v,
    size_t n, const char *tmpl)
{
	const char *brace;
	uint8_t *rendered;
	size_t pre, post, rlen;
	int l, shift, rc;

	if (n == 0)
		return 0;
	for (l = 0; l < r->nlabels; l++)
		if (strcmp(r->labels[l], label) == 0)
			break;
	if (l == r->nlabels) {
		if (r->nlabels == TOOL_SLOTS_MAX ||
		    strlen(label) > TOOL_FIELD_MAX) {
			errno = E2BIG;
			return -1;
		}
		strcpy(r->labels[l], label);
		r->nlabels++;
	}
	if (add_form(r, l, v, n) == -1)
		return -1;
	if (n >= REDACT_B64_CORE_MIN)
		for (shift = 0; shift < 3; shift++)
			if (add_b64_core(r, l, v, n, shift,
			    sodium_base64_VARIANT_ORIGINAL) == -1 ||
			    add_b64_core(r, l, v, n, shift,
			    sodium_base64_VARIANT_URLSAFE) == -1)
				return -1;
	if (tmpl == NULL || (brace = strstr(tmpl, "{}")) == NULL ||
	    strcmp(tmpl, "{}") == 0)
		return 0;
	pre = (size_t)(brace - tmpl);
	post = strlen(brace + 2);
	rlen = pre + n + post;
	if ((rendered = wmalloc(rlen)) == NULL)
		return -1;
	memcpy(rendered, tmpl, pre);
	memcpy(rendered + pre, v, n);
	memcpy(rendered + pre + n, brace + 2, post);
	rc = add_form(r, l, rendered, rlen);
	wfree(rendered, rlen);
	return rc;
}

/* Longest first, so an overlap is named after the longer form. */
static int
needle_cmp(const void *a, const void *b)
{
	const struct needle *x = a, *y = b;

	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void
sort_needles(struct redactor *r)
{
	if (!r->sorted && r->n > 1)
		qsort(r->v, r->n, sizeof(r->v[0]), needle_cmp);
	r->sorted = 1;
}

static size_t
marker_len(const struct redactor *r, int label)
{
	return strlen(MARK_OPEN) + strlen(r->labels[label]) +
	    strlen(MARK_CLOSE);
}

/*
 * Marks every byte an occurrence covers: own[i] is the longest needle
 * over byte i (index + 1), span[i] says one occurrence covers both i - 1
 * and i.  A needle's occurrences are found left to right without
 * overlapping each other; one that overlaps the previous still loses
 * bytes, so none survives whole.
 */
static void
mark(const struct redactor *r, const uint8_t *in, size_t n, uint16_t *own,
    uint8_t *span)
{
	const uint8_t *hit;
	size_t k, off, pos, i;

	for (k = 0; k < r->n; k++) {
		const struct needle *nd = &r->v[k];

		off = 0;
		while (off + nd->len <= n && (hit = memmem(in + off, n - off,
		    nd->p, nd->len)) != NULL) {
			pos = (size_t)(hit - in);
			for (i = pos; i < pos + nd->len; i++) {
				if (own[i] == 0)
					own[i] = (uint16_t)(k + 1);
				if (i > pos)
					span[i] = 1;
			}
			off = pos + nd->len;
		}
	}
}

/*
 * Each run of covered bytes (one occurrence, or overlapping ones) becomes
 * one marker.  With out NULL, measures.  Marker positions go to inmark
 * when given (out's length, 1 inside a marker).
 */
static size_t
rewrite(const struct redactor *r, const uint8_t *in, size_t n,
    const uint16_t *own, const uint8_t *span, uint8_t *out, uint8_t *inmark,
    uint32_t *count)
{
	size_t i = 0, j, o = 0, ml;
	uint16_t best;
	int label;

	*count = 0;
	while (i < n) {
		if (own[i] == 0) {
			if (out != NULL) {
				out[o] = in[i];
				inmark[o] = 0;
			}
			o++;
			i++;
			continue;
		}
		best = own[i];
		for (j = i + 1; j < n && own[j] != 0 && span[j]; j++)
			if (own[j] < best)
				best = own[j];
		label = r->v[best - 1].label;
		ml = marker_len(r, label);
		if (out != NULL) {
			memcpy(out + o, MARK_OPEN, strlen(MARK_OPEN));
			memcpy(out + o + strlen(MARK_OPEN), r->labels[label],
			    strlen(r->labels[label]));
			out[o + ml - 1] = MARK_CLOSE[0];
			memset(inmark + o, 1, ml);
		}
		o += ml;
		(*count)++;
		i = j;
	}
	return o;
}

/* Whether a form survives outside the markers (only a marker's text). */
static int
leftover(const struct redactor *r, const uint8_t *out, size_t n,
    const uint8_t *inmark)
{
	const uint8_t *hit;
	size_t k, off, pos, i;

	for (k = 0; k < r->n; k++) {
		off = 0;
		while (off + r->v[k].len <= n && (hit = memmem(out + off,
		    n - off, r->v[k].p, r->v[k].len)) != NULL) {
			pos = (size_t)(hit - out);
			for (i = pos; i < pos + r->v[k].len; i++)
				if (!inmark[i])
					return 1;
			off = pos + 1;
		}
	}
	return 0;
}

/*
 * Writes in with every form replaced into *out (malloc'd; wfree it) and
 * counts the markers.  -1 (EIO) if a form could still be read in the
 * result, which happens only when a marker and the text around it spell
 * one: the caller must then return nothing.
 */
int
redact_apply(struct redactor *r, const uint8_t *in, size_t n,
    uint8_t **outp, size_t *outlenp, uint32_t *countp)
{
	uint16_t *own = NULL;
	uint8_t *span = NULL, *out = NULL, *inmark = NULL;
	size_t outlen;
	uint32_t count;
	int rc = -1;

	*outp = NULL;
	*outlenp = 0;
	*countp = 0;
	sort_needles(r);
	if ((own = calloc(n + 1, sizeof(*own))) == NULL ||
	    (span = calloc(n + 1, 1)) == NULL)
		goto done;
	mark(r, in, n, own, span);
	outlen = rewrite(r, in, n, own, span, NULL, NULL, &count);
	if ((out = wmalloc(outlen + 1)) == NULL ||
	    (inmark = malloc(outlen + 1)) == NULL)
		goto done;
	rewrite(r, in, n, own, span, out, inmark, &count);
	if (leftover(r, out, outlen, inmark)) {
		errno = EIO;
		goto done;
	}
	*outp = out;
	*outlenp = outlen;
	*countp = count;
	out = NULL;
	rc = 0;
done:
	if (out != NULL)
		wfree(out, outlen + 1);
	free(own);
	free(span);
	free(inmark);
	return rc;
}

/* The longest proper prefix of nd that ends buf (KMP over buf's tail). */
static size_t
tail_prefix(const struct needle *nd, const uint8_t *buf, size_t n)
{
	const uint8_t *p = nd->p;
	size_t m = nd->len, *fail, i, q, start;

	if (m < 2 || n == 0)
		return 0;
	if ((fail = calloc(m, sizeof(*fail))) == NULL)
		return m - 1 < n ? m - 1 : n;	/* the most it could be */
	for (i = 1, q = 0; i < m; i++) {
		while (q > 0 && p[i] != p[q])
			q = fail[q - 1];
		if (p[i] == p[q])
			q++;
		fail[i] = q;
	}
	start = n > m - 1 ? n - (m - 1) : 0;
	for (i = start, q = 0; i < n; i++) {
		while (q > 0 && buf[i] != p[q])
			q = fail[q - 1];
		if (buf[i] == p[q])
			q++;
		if (q == m)
			q = fail[m - 1];
	}
	free(fail);
	return q;
}

/*
 * For text we cut short (stderr over its cap): the length to keep so
 * that it does not end in the first bytes of a form.  Given redacted
 * text, so whole occurrences are markers already and only a start cut in
 * two remains.  Repeated until nothing more goes, since a cut may leave
 * the start of another form.
 */
size_t
redact_tail(struct redactor *r, const uint8_t *buf, size_t n)
{
	size_t k, q, cut;

	sort_needles(r);
	do {
		cut = 0;
		for (k = 0; k < r->n; k++)
			if ((q = tail_prefix(&r->v[k], buf, n)) > cut)
				cut = q;
		n -= cut;
	} while (cut > 0 && n > 0);
	return n;
}

/* Whether buf holds any form; with cut (it may have been cut short),
 * or ends in the start of one. */
int
redact_holds(struct redactor *r, const uint8_t *buf, size_t n, int cut)
{
	size_t k;

	for (k = 0; k < r->n; k++)
		if (r->v[k].len <= n && memmem(buf, n, r->v[k].p,
		    r->v[k].len) != NULL)
			return 1;
	return cut && redact_tail(r, buf, n) != n;
}
