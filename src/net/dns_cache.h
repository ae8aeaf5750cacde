/* net/dns_cache: answers of recent lookups, by name, for one resolver.
 *
 * Holds at most a fixed number of entries (the oldest-expiring goes first
 * when full). A positive answer lives for its DNS TTL clamped to
 * [BOUNDS_DNS_TTL_MIN_S, BOUNDS_DNS_TTL_MAX_S]: a TTL of 0 must not turn
 * into a lookup per connection, a day-long one must not outlive a
 * migration. A negative answer (no such name, no addresses, the servers
 * failed) lives for its TTL (the SOA minimum) clamped to
 * [1, BOUNDS_DNS_NEGATIVE_TTL_MAX_S], so a storm of requests for a broken
 * name costs one lookup a few seconds, and a fixed name works soon after.
 *
 * Pure: the caller passes the time (monotonic ms); one thread at a time. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"

struct net_dns_cache;

enum net_dns_cache_result {
    NET_DNS_CACHE_MISS = 0,
    NET_DNS_CACHE_HIT,      /* *out_addrs holds the answer */
    NET_DNS_CACHE_NEGATIVE, /* *out_error holds the cached failure (a static reason) */
};

/* max_entries >= 1. Never NULL. */
struct net_dns_cache *net_dns_cache_new(size_t max_entries);
void net_dns_cache_free(struct net_dns_cache *c);

/* name is compared ASCII case-insensitively. Outputs are written only on
 * HIT (out_addrs, out_expires_ms) or NEGATIVE (out_error); either may be
 * NULL. */
enum net_dns_cache_result net_dns_cache_get(struct net_dns_cache *c, const char *name,
                                            uint64_t now_ms, struct net_addrs *out_addrs,
                                            uint64_t *out_expires_ms, const char **out_error);
/* Stores a positive answer (addrs->count > 0) for ttl_s, clamped. Returns
 * the expiry it got (monotonic ms). */
uint64_t net_dns_cache_put(struct net_dns_cache *c, const char *name, const struct net_addrs *addrs,
                           uint32_t ttl_s, uint64_t now_ms);
/* Stores a failure; error is a static reason, kept by pointer. */
void net_dns_cache_put_negative(struct net_dns_cache *c, const char *name, const char *error,
                                uint32_t ttl_s, uint64_t now_ms);
/* Live and expired entries held (tests). */
size_t net_dns_cache_count(const struct net_dns_cache *c);
