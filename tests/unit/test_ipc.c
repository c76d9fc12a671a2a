/*
 * IPC framing: every field type round-trips, a measured message counts
 * what a built one holds, and every malformed message (truncated,
 * oversized, leftover bytes, unterminated string, descriptor on the wrong
 * type) is refused with an error, never an exit.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "proto.h"
#include "tap.h"

#define T_PLAIN	100
#define T_FD	101

static int
fd_ok(uint32_t type)
{
	return type == T_FD;
}

static void
build_all(struct ipc_msg *m)
{
	static const uint8_t blob[] = { 0, 1, 2, 0xff, 0 };

	ipc_msg_init(m, T_PLAIN, 42);
	ipc_put_u8(m, 0xab);
	ipc_put_u32(m, 0xdeadbeef);
	ipc_put_u64(m, 0x0123456789abcdefULL);
	ipc_put_str(m, "hello");
	ipc_put_str(m, "");
	ipc_put_bytes(m, blob, sizeof(blob));
	ipc_put_bytes(m, NULL, 0);
}

static void
test_round_trip(void)
{
	struct ipc_msg m;
	struct ipc_reader r;
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;
	const char *s;
	const void *p;
	size_t n;

	build_all(&m);
	ok(ipc_msg_finish(&m) == 0, "finish a message of every field type");
	ok(ipc_parse(m.buf, m.len, &r) == 0, "parse it back");
	ok(r.hdr.type == T_PLAIN && r.hdr.id == 42 && r.hdr.len == m.len,
	    "header carries type, id and length");
	ok(ipc_get_u8(&r, &u8) == 0 && u8 == 0xab, "u8 round trip");
	ok(ipc_get_u32(&r, &u32) == 0 && u32 == 0xdeadbeef, "u32 round trip");
	ok(ipc_get_u64(&r, &u64) == 0 && u64 == 0x0123456789abcdefULL,
	    "u64 round trip");
	ok(ipc_get_str(&r, &s, &n) == 0 && n == 5 && strcmp(s, "hello") == 0,
	    "string round trip");
	ok(ipc_get_str(&r, &s, &n) == 0 && n == 0 && *s == '\0',
	    "empty string round trip");
	ok(ipc_get_bytes(&r, &p, &n) == 0 && n == 5 &&
	    memcmp(p, "\0\1\2\377\0", 5) == 0, "bytes with NULs round trip");
	ok(ipc_get_bytes(&r, &p, &n) == 0 && n == 0, "empty bytes round trip");
	ok(ipc_end(&r) == 0, "nothing left over");
	ok(ipc_get_u8(&r, &u8) == -1, "reading past the end fails");
	ipc_msg_free(&m);
}

/* A measured message counts what the same puts write, and no more fit. */
static void
test_measure(void)
{
	struct ipc_msg m, w;
	static uint8_t big[IPC_MAX_MSG];

	build_all(&w);
	ipc_msg_measure(&m);
	ipc_put_u8(&m, 0xab);
	ipc_put_u32(&m, 0xdeadbeef);
	ipc_put_u64(&m, 0x0123456789abcdefULL);
	ipc_put_str(&m, "hello");
	ipc_put_str(&m, "");
	ipc_put_bytes(&m, "\0\1\2\377\0", 5);
	ipc_put_bytes(&m, NULL, 0);
	ok(!m.err && m.len == w.len && m.buf == NULL,
	    "a measured message has the length of the one built, no buffer");
	ok(ipc_msg_finish(&m) == -1, "a measured message cannot be sent");
	ipc_put_bytes(&m, big, IPC_MAX_MSG - m.len - 4);
	ok(!m.err && m.len == IPC_MAX_MSG, "it may fill a message exactly");
	ipc_put_u8(&m, 0);
	ok(m.err, "one byte more fails, as in a real message");
	ipc_msg_free(&m);
	ipc_msg_free(&w);
}

static void
test_truncated(void)
{
	struct ipc_msg m;
	struct ipc_reader r;
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;
	const char *s;
	size_t n, cut;
	int bad = 0;

	build_all(&m);
	ipc_msg_finish(&m);
	ok(ipc_parse(m.buf, IPC_HDR_LEN - 1, &r) == -1, "truncated header");
	ok(ipc_parse(m.buf, m.len - 1, &r) == -1,
	    "length shorter than the header says");

	/* Cut the payload at every offset: some field read must fail. */
	for (cut = IPC_HDR_LEN; cut < m.len; cut++) {
		uint8_t *copy = malloc(cut);
		struct ipc_hdr h;
		const void *p;

		memcpy(copy, m.buf, cut);
		memcpy(&h, copy, sizeof(h));
		h.len = (uint32_t)cut;
		memcpy(copy, &h, sizeof(h));
		if (ipc_parse(copy, cut, &r) == 0 &&
		    ipc_get_u8(&r, &u8) == 0 && ipc_get_u32(&r, &u32) == 0 &&
		    ipc_get_u64(&r, &u64) == 0 &&
		    ipc_get_str(&r, &s, &n) == 0 &&
		    ipc_get_str(&r, &s, &n) == 0 &&
		    ipc_get_bytes(&r, &p, &n) == 0 &&
		    ipc_get_bytes(&r, &p, &n) == 0)
			bad++;
		free(copy);
	}
	ok(bad == 0, "a field cut at any offset is refused");
	ipc_msg_free(&m);
}

static void
test_oversized(void)
{
	struct ipc_msg m;
	struct ipc_reader r;
	struct ipc_hdr h;
	uint8_t *big;
	const void *p;
	size_t n;

	ipc_msg_init(&m, T_PLAIN, 1);
	ipc_put_u32(&m, 1000);		/* a byte string claiming 1000 bytes */
	ipc_put_u8(&m, 'x');
	ipc_msg_finish(&m);
	ok(ipc_parse(m.buf, m.len, &r) == 0 &&
	    ipc_get_bytes(&r, &p, &n) == -1, "field length beyond the message");
	ipc_msg_free(&m);

	big = calloc(1, IPC_MAX_MSG + 1);
	h.type = T_PLAIN;
	h.len = IPC_MAX_MSG + 1;
	h.id = 1;
	h.flags = 0;
	memcpy(big, &h, sizeof(h));
	ok(ipc_parse(big, IPC_MAX_MSG + 1, &r) == -1,
	    "message over the maximum size");
	free(big);

	ipc_msg_init(&m, T_PLAIN, 1);
	big = calloc(1, IPC_MAX_MSG);
	ipc_put_bytes(&m, big, IPC_MAX_MSG - 8);
	ok(ipc_msg_finish(&m) == -1, "building a message over the maximum fails");
	free(big);
	ipc_msg_free(&m);
}

static void
test_leftover_and_strings(void)
{
	struct ipc_msg m;
	struct ipc_reader r;
	uint32_t u32;
	const char *s;
	size_t n;

	ipc_msg_init(&m, T_PLAIN, 1);
	ipc_put_u32(&m, 7);
	ipc_put_u8(&m, 1);
	ipc_msg_finish(&m);
	ok(ipc_parse(m.buf, m.len, &r) == 0 && ipc_get_u32(&r, &u32) == 0 &&
	    ipc_end(&r) == -1, "leftover bytes are an error");
	ipc_msg_free(&m);

	ipc_msg_init(&m, T_PLAIN, 1);
	ipc_put_bytes(&m, "abc", 3);	/* no terminator */
	ipc_msg_finish(&m);
	ok(ipc_parse(m.buf, m.len, &r) == 0 &&
	    ipc_get_str(&r, &s, &n) == -1 && r.off == IPC_HDR_LEN,
	    "string without terminator is refused");
	ipc_msg_free(&m);

	ipc_msg_init(&m, T_PLAIN, 1);
	ipc_put_bytes(&m, "a\0b", 4);	/* embedded NUL */
	ipc_msg_finish(&m);
	ok(ipc_parse(m.buf, m.len, &r) == 0 &&
	    ipc_get_str(&r, &s, &n) == -1, "string with embedded NUL is refused");
	ipc_msg_free(&m);

	ipc_msg_init(&m, T_PLAIN, 1);
	ipc_put_bytes(&m, NULL, 0);	/* zero length: not even the NUL */
	ipc_msg_finish(&m);
	ok(ipc_parse(m.buf, m.len, &r) == 0 &&
	    ipc_get_str(&r, &s, &n) == -1, "zero-length string is refused");
	ipc_msg_free(&m);

	{
		char small[4];

		ipc_msg_init(&m, T_PLAIN, 1);
		ipc_put_str(&m, "toolong");
		ipc_msg_finish(&m);
		ok(ipc_parse(m.buf, m.len, &r) == 0 &&
		    ipc_get_strbuf(&r, small, sizeof(small)) == -1,
		    "string longer than its destination is refused");
		ipc_msg_free(&m);
	}
}

static void
test_channel(void)
{
	struct ipc_chan a, b;
	struct ipc_msg m;
	struct ipc_reader *r;
	int sv[2], pfd[2], rc;
	uint32_t u32;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1 || pipe(pfd) == -1) {
		ok(0, "socketpair: %s", strerror(errno));
		return;
	}
	ipc_chan_init(&a, sv[0]);
	ipc_chan_init(&b, sv[1]);

	ok(ipc_chan_recv(&b, fd_ok, &r) == IPC_AGAIN, "empty channel: again");

	ipc_msg_init(&m, T_PLAIN, 9);
	ipc_put_u32(&m, 77);
	ipc_chan_send(&a, &m);
	ok(ipc_chan_flush(&a) == 1, "flush sends everything");
	rc = ipc_chan_recv(&b, fd_ok, &r);
	ok(rc == IPC_READY && r->hdr.id == 9 && ipc_get_u32(r, &u32) == 0 &&
	    u32 == 77 && ipc_end(r) == 0 && r->fd == -1,
	    "message travels over the channel");

	ipc_msg_init(&m, T_FD, 10);
	ipc_msg_set_fd(&m, dup(pfd[0]));
	ipc_chan_send(&a, &m);
	ipc_chan_flush(&a);
	rc = ipc_chan_recv(&b, fd_ok, &r);
	ok(rc == IPC_READY && r->fd >= 0 &&
	    fcntl(r->fd, F_GETFD) != -1, "descriptor arrives on a type that allows it");

	ipc_msg_init(&m, T_PLAIN, 11);
	ipc_msg_set_fd(&m, dup(pfd[0]));
	ipc_chan_send(&a, &m);
	ipc_chan_flush(&a);
	rc = ipc_chan_recv(&b, fd_ok, &r);
	ok(rc == IPC_ERROR && errno == EPROTO,
	    "descriptor on a type that does not allow one is refused");

	{
		/* A raw datagram with a lying length field. */
		struct ipc_hdr h = { T_PLAIN, 999, 1, 0 };

		send(sv[0], &h, sizeof(h), 0);
		ok(ipc_chan_recv(&b, fd_ok, &r) == IPC_ERROR,
		    "datagram whose header length disagrees is refused");
		h.len = sizeof(h);
		h.flags = IPC_F_FD;
		send(sv[0], &h, sizeof(h), 0);
		ok(ipc_chan_recv(&b, fd_ok, &r) == IPC_ERROR,
		    "flag promising a descriptor that is missing is refused");
		h.flags = 0x80;
		send(sv[0], &h, sizeof(h), 0);
		ok(ipc_chan_recv(&b, fd_ok, &r) == IPC_ERROR,
		    "unknown header flags are refused");
		send(sv[0], &h, 3, 0);
		ok(ipc_chan_recv(&b, fd_ok, &r) == IPC_ERROR,
		    "datagram shorter than a header is refused");
	}

	ipc_chan_close(&a);
	ok(ipc_chan_recv(&b, fd_ok, &r) == IPC_EOF, "peer close reads as EOF");
	ipc_chan_close(&b);
	close(pfd[0]);
	close(pfd[1]);
}

static void
test_validation(void)
{
	char longname[NAME_MAX_LEN + 2];

	memset(longname, 'A', sizeof(longname));
	ok(valid_secret_name("ANTHROPIC_API_KEY", 17), "plain name accepted");
	ok(valid_secret_name("_x9", 3), "leading underscore accepted");
	ok(!valid_secret_name("9x", 2), "leading digit refused");
	ok(!valid_secret_name("../x", 4), "dot-dot refused");
	ok(!valid_secret_name("a/b", 3), "slash refused");
	ok(!valid_secret_name("", 0), "empty refused");
	ok(valid_secret_name(longname, NAME_MAX_LEN), "128 characters accepted");
	ok(!valid_secret_name(longname, NAME_MAX_LEN + 1),
	    "129 characters refused");
	ok(!valid_secret_name("a\0b", 3), "NUL refused");
	ok(!valid_secret_name("caf\xc3\xa9", 5), "non-ASCII refused");
	ok(valid_category("provider") && valid_category("custom") &&
	    !valid_category("other") && !valid_category(""),
	    "categories are the five of the API");
}

int
main(void)
{
	test_round_trip();
	test_measure();
	test_truncated();
	test_oversized();
	test_leftover_and_strings();
	test_channel();
	test_validation();
	return done_testing();
}
