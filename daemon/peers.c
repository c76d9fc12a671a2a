/*
 * Live connections per peer: a unix caller's uid, a TLS client's address.
 * The counts only cap what one peer may hold, so that it cannot take every
 * connection the front-end allows; they never say who anyone is (the
 * broker reads a unix caller's credentials itself).
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "frontend.h"

#define PEER_BUCKETS	1024

struct peer {
	LIST_ENTRY(peer)	 entry;
	struct peer_key		 key;
	uint32_t		 n;		/* live connections */
};
LIST_HEAD(peer_list, peer);

static struct peer_list	 buckets[PEER_BUCKETS];
static uint64_t		 seed;		/* addresses are the client's pick */

void
peers_init(void)
{
	int i;

	for (i = 0; i < PEER_BUCKETS; i++)
		LIST_INIT(&buckets[i]);
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		fatal("%s: getrandom", __func__);
}

/* FNV-1a from a random start, so colliding addresses are hard to pick. */
static struct peer_list *
bucket(const struct peer_key *k)
{
	uint64_t h = seed ^ 0xcbf29ce484222325ULL;
	size_t i;

	h = (h ^ k->kind) * 0x100000001b3ULL;
	for (i = 0; i < k->len; i++)
		h = (h ^ k->b[i]) * 0x100000001b3ULL;
	return &buckets[(h ^ (h >> 32)) % PEER_BUCKETS];
}

static int
key_unix(int fd, struct peer_key *k)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1)
		return -1;
	k->kind = PEER_UID;
	k->len = sizeof(cr.uid);
	memcpy(k->b, &cr.uid, sizeof(cr.uid));
	return 0;
}

/*
 * Who holds an address: an IPv4 client of a dual-stack listener counts as
 * its IPv4 address; an IPv6 client as its /64, which one host or site is
 * usually given whole; and every loopback address (127/8, ::1) as one
 * peer, since any local user may pick among millions of them.
 */
static int
key_inet(int fd, struct peer_key *k)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(ss);
	const uint8_t *v4 = NULL;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		v4 = (const uint8_t *)&sin->sin_addr;
	else if (ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		v4 = &sin6->sin6_addr.s6_addr[12];
	else if (ss.ss_family != AF_INET6) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if ((v4 != NULL && v4[0] == 127) || (v4 == NULL &&
	    IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))) {
		k->kind = PEER_LOOPBACK;
		k->len = 0;
	} else if (v4 != NULL) {
		k->kind = PEER_INET;
		k->len = 4;
		memcpy(k->b, v4, 4);
	} else {
		k->kind = PEER_INET6;
		k->len = 8;
		memcpy(k->b, &sin6->sin6_addr, 8);
	}
	return 0;
}

/* The peer of an accepted connection; -1 (errno set) if it has none. */
int
peer_key_get(int fd, int is_unix, struct peer_key *k)
{
	memset(k, 0, sizeof(*k));
	return is_unix ? key_unix(fd, k) : key_inet(fd, k);
}

/* "uid 1000", "192.0.2.1", "2001:db8::/64" or "loopback", for the log. */
const char *
peer_key_str(const struct peer_key *k, char *buf, size_t len)
{
	uint8_t a6[16] = { 0 };
	uid_t uid;

	switch (k->kind) {
	case PEER_UID:
		memcpy(&uid, k->b, sizeof(uid));
		snprintf(buf, len, "uid %u", (unsigned int)uid);
		return buf;
	case PEER_LOOPBACK:
		snprintf(buf, len, "loopback");
		return buf;
	case PEER_INET:
		if (inet_ntop(AF_INET, k->b, buf, len) != NULL)
			return buf;
		break;
	case PEER_INET6:
		memcpy(a6, k->b, 8);
		if (len > 3 && inet_ntop(AF_INET6, a6, buf, len - 3) != NULL) {
			memcpy(buf + strlen(buf), "/64", 4);
			return buf;
		}
		break;
	}
	snprintf(buf, len, "?");
	return buf;
}

/*
 * One more connection for k, unless it already holds max.  1: held (*pp
 * is what peer_release takes), 0: over the cap, -1: out of memory.
 */
int
peer_hold(const struct peer_key *k, uint32_t max, struct peer **pp)
{
	struct peer_list *l = bucket(k);
	struct peer *p;

	*pp = NULL;
	LIST_FOREACH(p, l, entry)
		if (p->key.kind == k->kind && p->key.len == k->len &&
		    memcmp(p->key.b, k->b, k->len) == 0)
			break;
	if (p != NULL && p->n >= max)
		return 0;
	if (p == NULL) {
		if ((p = calloc(1, sizeof(*p))) == NULL)
			return -1;
		p->key = *k;
		LIST_INSERT_HEAD(l, p, entry);
	}
	p->n++;
	*pp = p;
	return 1;
}

void
peer_release(struct peer *p)
{
	if (p == NULL)
		return;
	if (--p->n == 0) {
		LIST_REMOVE(p, entry);
		free(p);
	}
}
