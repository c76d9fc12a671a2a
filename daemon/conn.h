/*
 * One client connection, shared by conn.c (accepting it, the caps, its
 * bufferevent, its deadline, closing it) and http.c (its requests and
 * replies).  No other file includes this.
 */
#ifndef SECRETD_CONN_H
#define SECRETD_CONN_H

#include <stdint.h>

#include "frontend.h"

#define LINGER_MAX	(1024 * 1024)	/* body bytes read after a refusal */

struct bufferevent;
struct event;
struct listener;

enum session_state {
	SESS_NONE,		/* not asked yet */
	SESS_PENDING,		/* IMSG_CONN_UNIX in flight */
	SESS_READY
};

/*
 * A connection reads one request at a time: a head, then its body, then
 * nothing until the reply is out; what the client pipelined waits in the
 * input buffer meanwhile.
 */
enum conn_state {
	C_HEAD,			/* reading a request head */
	C_BODY,			/* reading Content-Length bytes */
	C_ACTIVE,		/* the request is being served */
	C_CLOSE			/* the last reply is going out */
};

struct conn {
	struct bufferevent	*bev;
	int			 fd;
	struct listener		*l;
	struct event		*deadline;
	enum conn_state		 state;
	int			 busy;		/* in http_input */
	int			 eof;		/* the client sends no more */
	uint64_t		 linger;	/* body bytes to drop, then close */
	enum session_state	 sess;
	uint64_t		 session;
	struct bc_pending	*auth;		/* IMSG_CONN_UNIX in flight */
	struct peer		*peer;		/* its count in peers.c */
	int			 refused;	/* over its uid's cap: a 429 */
	char			 source[64];
	struct fe_req		 req;
	struct http_head	*head;		/* only while a request is read
					   or served; NULL when idle */
};

/* conn.c */
int	 conn_unix(const struct conn *);
void	 conn_shutdown(struct conn *);
void	 conn_deadline(struct conn *);
void	 conn_linger(struct conn *, uint64_t declared);
void	 conn_maybe_close(struct conn *);

/* http.c */
void	 http_input(struct conn *);
void	 http_timeout(struct conn *);
void	 http_conn_end(struct conn *);

#endif
