/*
 * Framing of the messages between secretd (broker) and secretd-frontend.
 * One message is one SOCK_SEQPACKET datagram: a fixed header, then typed
 * fields.  Readers are strict: exact lengths, NUL-terminated
 * length-prefixed strings, no bytes left over, descriptors only on message
 * types that declare them.  Nothing here exits on bad input; every check
 * returns -1 and the caller decides.
 */
#ifndef SECRETD_IPC_H
#define SECRETD_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#define IPC_HDR_LEN	16
#define IPC_MAX_MSG	(192 * 1024)	/* header included */
#define IPC_F_FD	0x1		/* one descriptor travels with it */

struct ipc_hdr {
	uint32_t	type;
	uint32_t	len;		/* whole message, header included */
	uint32_t	id;		/* request id, echoed in the reply */
	uint32_t	flags;
};

/* A message being built.  Its buffer may hold secrets: freed wiped. */
struct ipc_msg {
	TAILQ_ENTRY(ipc_msg) entry;
	uint8_t		*buf;
	size_t		 len;
	size_t		 cap;
	int		 fd;		/* sent with the message, then closed */
	int		 err;		/* set once a put overflowed */
	int		 measure;	/* no buffer: puts only count */
};

/* A received message; pointers stay valid until the next receive. */
struct ipc_reader {
	struct ipc_hdr	 hdr;
	const uint8_t	*buf;
	size_t		 len;
	size_t		 off;
	int		 fd;		/* -1 unless the message carried one */
};

void	 ipc_msg_init(struct ipc_msg *, uint32_t type, uint32_t id);
void	 ipc_msg_measure(struct ipc_msg *);
void	 ipc_msg_free(struct ipc_msg *);
void	 ipc_msg_set_fd(struct ipc_msg *, int fd);
void	 ipc_put_u8(struct ipc_msg *, uint8_t);
void	 ipc_put_u32(struct ipc_msg *, uint32_t);
void	 ipc_put_u64(struct ipc_msg *, uint64_t);
void	 ipc_put_str(struct ipc_msg *, const char *);	/* NULL is "" */
void	 ipc_put_bytes(struct ipc_msg *, const void *, size_t);
int	 ipc_msg_finish(struct ipc_msg *);		/* -1 if too large */
void	 ipc_msg_rewind(struct ipc_msg *, size_t len);
void	 ipc_msg_reserve(struct ipc_msg *, size_t len);

int	 ipc_parse(const void *, size_t, struct ipc_reader *);
int	 ipc_get_u8(struct ipc_reader *, uint8_t *);
int	 ipc_get_u32(struct ipc_reader *, uint32_t *);
int	 ipc_get_u64(struct ipc_reader *, uint64_t *);
int	 ipc_get_str(struct ipc_reader *, const char **, size_t *);
int	 ipc_get_strbuf(struct ipc_reader *, char *, size_t);
int	 ipc_get_bytes(struct ipc_reader *, const void **, size_t *);
int	 ipc_end(struct ipc_reader *);

/* A non-blocking channel over a SOCK_SEQPACKET socket. */
TAILQ_HEAD(ipc_queue, ipc_msg);
struct ipc_chan {
	int		 fd;
	struct ipc_queue out;
	size_t		 queued;
	uint8_t		*rbuf;
	struct ipc_reader cur;
};

#define IPC_AGAIN	0
#define IPC_READY	1
#define IPC_EOF		(-2)
#define IPC_ERROR	(-1)

typedef int (*ipc_fd_allowed_cb)(uint32_t type);

int	 ipc_chan_init(struct ipc_chan *, int fd);
void	 ipc_chan_close(struct ipc_chan *);
int	 ipc_chan_send(struct ipc_chan *, struct ipc_msg *);
int	 ipc_chan_flush(struct ipc_chan *);
int	 ipc_chan_pending(struct ipc_chan *);
int	 ipc_chan_recv(struct ipc_chan *, ipc_fd_allowed_cb,
	    struct ipc_reader **);

#endif
