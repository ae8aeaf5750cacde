/* net/connect: a TCP connection to host:port, racing its addresses
 * (RFC 8305, "Happy Eyeballs v2").
 *
 * The host is resolved through the owner's resolver (net/resolve.h); a
 * literal, a cached answer or a hosts-file entry needs no wait. The
 * addresses are interleaved by family, starting with the family of the
 * first one (the owner's preferred address, the one that last worked, goes
 * first when it is listed). One attempt starts, the next
 * BOUNDS_NET_CONNECT_STAGGER_MS later or at once when one fails; each gives
 * up after BOUNDS_NET_ATTEMPT_TIMEOUT_MS, and all of it after the owner's
 * timeout. The first to connect wins and every other socket is closed at
 * once. The winner gets TCP_NODELAY and the owner's keep-alive settings
 * (net/sockopt.h).
 *
 * Failure is one sentence naming each address tried:
 *   "cannot connect to mcp.internal:8080: ::1 connection refused;
 *    127.0.0.1 timed out"
 *   "cannot resolve mcp.internal: no such host"
 *
 * Cancelling closes every socket, stops the lookup and frees everything
 * before it returns. No TLS, no protocol: the owner wraps the descriptor
 * (net/tls.h for TLS). One thread: the loop's. */
#pragma once

#include <stdint.h>

#include "net/addr.h"
#include "net/sockopt.h"

struct event_base;
struct net_resolver;
struct net_connect;

struct net_connect_opts {
    const char *host;  /* name or IP literal (no brackets); copied */
    const char *label; /* NULL, or how errors name the target ("redis://h:6379/0");
                        * copied. Default: host:port */
    unsigned port;
    uint64_t timeout_ms;                   /* the whole connect, lookup included; > 0 */
    const struct net_keepalive *keepalive; /* NULL: the kernel's defaults; copied */
    const union net_sockaddr *prefer;      /* NULL, or an address to try first; copied */
};

/* fd >= 0: connected (non-blocking, close-on-exec); the callback owns it,
 * and peer is the address it reached. fd < 0: error is the sentence
 * (valid during the call). The struct net_connect is already freed. Never
 * called from inside net_connect_start(). */
typedef void (*net_connect_fn)(int fd, const union net_sockaddr *peer, const char *error,
                               void *arg);

/* Starts connecting on base, resolving through r. Never NULL. */
struct net_connect *net_connect_start(struct event_base *base, struct net_resolver *r,
                                      const struct net_connect_opts *opts, net_connect_fn cb,
                                      void *arg);
/* The callback never runs; sockets, timers and the lookup are released
 * now. NULL is a no-op. */
void net_connect_cancel(struct net_connect *c);

/* The order attempts take for list: interleaved by family starting with
 * the first address's family, prefer (when listed) first. Pure; exposed
 * for tests. */
void net_connect_order(const struct net_addrs *list, const union net_sockaddr *prefer,
                       struct net_addrs *out);
