/* Host-name resolution that never blocks an event loop.
 *
 * getaddrinfo() runs on a short-lived detached thread; its answer comes
 * back to the caller's loop through a pipe the loop watches, so the
 * callback runs on that loop, never inside store_resolve_start(). The
 * lookup record is shared by the thread and the caller and freed by
 * whichever lets go last: cancelling never waits for the thread (a slow
 * resolver only keeps its own thread busy). libevent's evdns is not used:
 * cancelling one of its lookups leaves a deferred callback that can outlive
 * the resolver it belongs to. */
#pragma once

#include <sys/socket.h>

struct event_base;
struct store_resolve;

/* gai_error is 0 on success (then addr/addr_len are the first address
 * getaddrinfo gave, valid during the call), else a getaddrinfo error code
 * (gai_strerror() names it). */
typedef void (*store_resolve_fn)(int gai_error, const struct sockaddr *addr,
                                 socklen_t addr_len, void *arg);

/* Resolves host (any address family, TCP) with port on a helper thread and
 * answers once through cb on base's loop. Returns NULL, and never calls
 * back, when no pipe or thread could be made or host is too long. */
struct store_resolve *store_resolve_start(struct event_base *base, const char *host,
                                          unsigned port, store_resolve_fn cb, void *arg);
/* After this the callback never runs. Call it on the loop's thread, before
 * the callback. NULL is a no-op. */
void store_resolve_cancel(struct store_resolve *r);
