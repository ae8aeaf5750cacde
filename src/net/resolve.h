/* net/resolve: host names to addresses on an event loop, without threads.
 *
 * One resolver per owner (a worker's upstream pool, a worker's Redis
 * connection), on that owner's loop: libevent's evdns asks the DNS servers
 * of resolv.conf (search, ndots, timeout and attempts honoured) for AAAA
 * and A at once, over one UDP socket per server that lives as long as the
 * resolver. Before DNS come IP literals, the cache (net/dns_cache.h: TTLs
 * honoured within bounds, failures kept briefly), the hosts file
 * (net/hosts.h, read on each cache miss) and RFC 6761's "localhost".
 * Lookups of one name share one query; at most
 * BOUNDS_DNS_LOOKUPS_INFLIGHT_MAX names are asked at once, a further name
 * fails at once ("too many DNS lookups in flight"). No other NSS source
 * (LDAP, mDNS) is consulted.
 *
 * Lifetimes: a struct net_resolve (one caller's wait) is freed when its
 * callback runs or when it is cancelled. The shared lookup behind it goes
 * when its last waiter does; evdns answers a cancelled query with a
 * deferred DNS_ERR_CANCEL callback, and that callback frees the lookup's
 * record, which touches nothing else -- so no callback can outlive what it
 * uses (docs/internals/net.md).
 *
 * Knows nothing of HTTP or Redis; logs nothing. One thread: the loop's. */
#pragma once

#include <stdbool.h>

#include "net/addr.h"

struct event_base;
struct net_resolver;
struct net_resolve;

/* Where names come from. NULL or "": the system files. */
struct net_resolver_opts {
    const char *resolv_conf; /* DNS_RESOLV_CONF; "nameserver 127.0.0.1:5353" may name a port */
    const char *hosts_file;  /* DNS_HOSTS_FILE */
};

enum net_resolve_result {
    NET_RESOLVE_OK = 0,
    NET_RESOLVE_ERR_NOT_FOUND, /* no such name, or no addresses */
    NET_RESOLVE_ERR_FAILED,    /* the DNS servers failed or did not answer */
    NET_RESOLVE_ERR_BUSY,      /* too many lookups in flight */
    NET_RESOLVE_ERR_INVALID,   /* not a host name */
    NET_RESOLVE_RESULT_COUNT,
};

/* rc: the outcome; addrs (ports 0) on NET_RESOLVE_OK, else NULL; error: a
 * static reason on failure ("no such host"), else NULL. Called on the loop,
 * never from inside net_resolve_start(); the struct net_resolve is already
 * freed. */
typedef void (*net_resolve_fn)(enum net_resolve_result rc, const struct net_addrs *addrs,
                               const char *error, void *arg);

/* A resolver on base, configured from opts (copied; NULL = the system
 * files). Never NULL: an unreadable resolv.conf leaves libevent's default
 * (a server on 127.0.0.1), which fails visibly on the first lookup. */
struct net_resolver *net_resolver_new(struct event_base *base,
                                      const struct net_resolver_opts *opts);
/* Cancels every lookup (no callback runs), then runs base's loop for one
 * non-blocking pass so that evdns's deferred cancel callbacks free their
 * records, and frees the resolver. Call only while base's loop is not
 * running (teardown). NULL is a no-op. */
void net_resolver_free(struct net_resolver *r);

/* An answer already known (literal, cache, hosts file, localhost), without
 * waiting: true and *out filled, else false. */
bool net_resolver_peek(struct net_resolver *r, const char *host, struct net_addrs *out);
/* Starts resolving host; cb(arg) runs exactly once unless cancelled first.
 * Never NULL. */
struct net_resolve *net_resolve_start(struct net_resolver *r, const char *host, net_resolve_fn cb,
                                      void *arg);
/* The callback never runs; everything of this wait is freed now. NULL is a
 * no-op. */
void net_resolve_cancel(struct net_resolve *q);

/* Names looked up right now (distinct, waiting for DNS), and records still
 * waiting for evdns's cancel callbacks (tests). */
unsigned net_resolver_inflight(const struct net_resolver *r);
unsigned net_resolver_records(const struct net_resolver *r);
