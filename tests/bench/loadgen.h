/*
 * The load generator's state, shared by its event machine (loadgen.c) and
 * its request, response and setup helpers (lg_http.c).  Bench-only code.
 */
#ifndef BENCH_LOADGEN_H
#define BENCH_LOADGEN_H

#include <sys/types.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/ssl.h>

#include "lat.h"

#define IN_MAX		(4 * 1024 * 1024)	/* largest response accepted */
#define NAME_LEN	160
#define IDLE_INFLIGHT	128	/* idle connections being opened at once */
#define SETUP_TIMEOUT_S	120
#define IDLE_STALL_S	3	/* no idle connection answered: give up */
#define CPU_PIDS	16	/* processes whose CPU time -P sums: a server and
				   a PostgreSQL cluster */

enum req_kind { REQ_REVEAL, REQ_CREATE, REQ_LIST, REQ_HEALTH };
enum phase { PH_SETUP, PH_RUN, PH_DONE };
enum cstate { CS_CLOSED, CS_CONNECT, CS_HANDSHAKE, CS_PARKED, CS_WRITE,
	CS_READ, CS_IDLE };

struct lg;

struct conn {
	struct lg	*lg;
	int		 idx;
	int		 idle;		/* held open, never measured */
	int		 fd;
	SSL		*ssl;
	SSL_SESSION	*sess;		/* offered on the next connection */
	struct event	 ev;
	int		 evset;
	enum cstate	 state;
	char		*req;
	size_t		 reqlen;
	size_t		 reqoff;
	char		*in;
	size_t		 inlen;
	size_t		 incap;
	uint64_t	 t0;
};

struct lg {
	struct event_base *base;
	SSL_CTX		*ctx;
	struct sockaddr_storage addr;
	socklen_t	 addrlen;
	const char	*host;
	enum req_kind	 kind;
	const char	*name;
	unsigned	 nkeys;		/* >0: reveal name_%08u, random */
	uint32_t	 rnd;
	const char	*token;
	int		 nconns;
	int		 nidle;
	int		 per_conn;
	int		 resume;
	double		 duration;
	double		 warmup;
	struct conn	*conns;		/* nconns measured, then nidle idle */
	enum phase	 phase;
	int		 nready;
	int		 idle_next;	/* next idle connection to open */
	int		 idle_inflight;
	int		 idle_open;
	int		 idle_failed;
	uint64_t	 idle_progress;	/* last idle connection settled */
	uint64_t	 t_measure;
	uint64_t	 t_end;
	struct lat	 lat;
	uint64_t	 nerr;
	uint64_t	 nhandshakes;
	uint64_t	 nresumed;
	struct event	*timer;
	struct event	*tick;
	struct event	*mark;		/* end of warm-up: CPU read */
	pid_t		 cpu_pid[CPU_PIDS];
	int		 ncpu_pid;
	long long	 cpu_start;	/* their CPU us at t_measure */
	long long	 cpu_end;
};

/* lg_http.c */
void	 build_request(struct lg *, struct conn *);
int	 parse_response(struct conn *, int *status, int *closing);
void	 set_addr(struct lg *, const char *upath, const char *hostport);
SSL_CTX	*client_ctx(void);
void	 raise_nofile(int want);
void	 read_rss(pid_t, long *rss, long *hwm);
long long read_cpu_us(pid_t);
int	 wait_ready(struct lg *, long long t0_ns, pid_t server);

#endif
