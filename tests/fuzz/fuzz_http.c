/*
 * Fuzz target "http": the front-end's HTTP/1.1 request reader
 * (daemon/httpread.c) as a client feeds it, whole or a few bytes at a
 * time.  Input: one byte giving the size of each piece the input arrives
 * in (0: all at once), then the bytes on the wire.  Requests are read
 * one after another as on a keep-alive connection, each body skipped by
 * its Content-Length.  What the reader accepts must be a head we can
 * route: a path, at most HEADERS_N_MAX headers with names, within the
 * head buffer; a refusal must say why with an error status.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "frontend.h"
#include "fuzz.h"

static void
check_head(const struct http_head *h)
{
	int i;

	if (h->path == NULL || h->path[0] != '/' || h->len > sizeof(h->buf) ||
	    h->nh < 0 || h->nh > HEADERS_N_MAX || (h->minor != 0 &&
	    h->minor != 1) || (h->has_clen && h->chunked))
		abort();
	for (i = 0; i < h->nh; i++)
		if (h->h[i].name == NULL || h->h[i].name[0] == '\0' ||
		    h->h[i].value == NULL ||
		    h->h[i].name < h->buf || h->h[i].name >= h->buf + h->len)
			abort();
}

/* Reads heads from in until it needs more input; -1 once refused. */
static int
drain(struct http_head *h, struct evbuffer *in, uint64_t *skip)
{
	const char *err;
	size_t n;
	int code;

	for (;;) {
		if (*skip > 0) {
			n = evbuffer_get_length(in);
			n = n < *skip ? n : (size_t)*skip;
			evbuffer_drain(in, n);
			*skip -= n;
			if (*skip > 0)
				return 0;
		}
		switch (hr_read(h, in, &code, &err)) {
		case HR_MORE:
			return 0;
		case HR_ERROR:
			if (code < 400 || code > 599 || err == NULL ||
			    err[0] == '\0')
				abort();
			return -1;
		case HR_DONE:
			check_head(h);
			*skip = h->has_clen ? h->clen : 0;
			hr_reset(h);
			break;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_head h;
	struct evbuffer *in;
	uint64_t skip = 0;
	size_t piece, off = 0, n;

	if (size < 1 || (in = evbuffer_new()) == NULL)
		return 0;
	piece = data[0] == 0 ? size : data[0];
	data++;
	size--;
	hr_reset(&h);
	while (off < size) {
		n = size - off < piece ? size - off : piece;
		evbuffer_add(in, data + off, n);
		off += n;
		if (drain(&h, in, &skip) == -1)
			break;
	}
	evbuffer_free(in);
	return 0;
}
