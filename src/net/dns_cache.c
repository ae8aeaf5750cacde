/* The per-resolver answer cache (see dns_cache.h). A flat array: the cap
 * is a few hundred names and a resolver asks for a handful, so a linear
 * scan is both simplest and fast enough. */
#include "net/dns_cache.h"

#include <string.h>
#include <strings.h>

#include "base/xalloc.h"

struct entry {
    char name[BOUNDS_DNS_NAME_MAX + 1];
    uint64_t expires_ms;
    const char *error; /* NULL: positive */
    struct net_addrs addrs;
};

struct net_dns_cache {
    size_t max;
    size_t count;
    struct entry *entries;
};

struct net_dns_cache *
net_dns_cache_new(size_t max_entries)
{
    struct net_dns_cache *c = xcalloc(1, sizeof(*c));
    c->max = max_entries > 0 ? max_entries : 1;
    c->entries = xcalloc(c->max, sizeof(c->entries[0]));
    return c;
}

void
net_dns_cache_free(struct net_dns_cache *c)
{
    if (c == NULL) {
        return;
    }
    xfree(c->entries);
    xfree(c);
}

static struct entry *
find(struct net_dns_cache *c, const char *name)
{
    for (size_t i = 0; i < c->count; i++) {
        if (strcasecmp(c->entries[i].name, name) == 0) {
            return &c->entries[i];
        }
    }
    return NULL;
}

enum net_dns_cache_result
net_dns_cache_get(struct net_dns_cache *c, const char *name, uint64_t now_ms,
                  struct net_addrs *out_addrs, uint64_t *out_expires_ms, const char **out_error)
{
    struct entry *e = find(c, name);
    if (e == NULL || e->expires_ms <= now_ms) {
        return NET_DNS_CACHE_MISS;
    }
    if (e->error != NULL) {
        if (out_error != NULL) {
            *out_error = e->error;
        }
        return NET_DNS_CACHE_NEGATIVE;
    }
    if (out_addrs != NULL) {
        *out_addrs = e->addrs;
    }
    if (out_expires_ms != NULL) {
        *out_expires_ms = e->expires_ms;
    }
    return NET_DNS_CACHE_HIT;
}

/* The entry for name: its own, a free slot, or the one expiring first. */
static struct entry *
slot_for(struct net_dns_cache *c, const char *name)
{
    struct entry *e = find(c, name);
    if (e != NULL) {
        return e;
    }
    if (c->count < c->max) {
        return &c->entries[c->count++];
    }
    struct entry *victim = &c->entries[0];
    for (size_t i = 1; i < c->count; i++) {
        if (c->entries[i].expires_ms < victim->expires_ms) {
            victim = &c->entries[i];
        }
    }
    return victim;
}

static uint64_t
clamp_s(uint32_t ttl_s, uint32_t min_s, uint32_t max_s)
{
    uint32_t t = ttl_s < min_s ? min_s : ttl_s > max_s ? max_s : ttl_s;
    return (uint64_t)t * 1000;
}

static void
store(struct net_dns_cache *c, const char *name, const struct net_addrs *addrs, const char *error,
      uint64_t expires_ms)
{
    if (strlen(name) > BOUNDS_DNS_NAME_MAX) {
        return; /* the resolver refuses such names before asking */
    }
    struct entry *e = slot_for(c, name);
    memset(e, 0, sizeof(*e));
    memcpy(e->name, name, strlen(name) + 1);
    e->expires_ms = expires_ms;
    e->error = error;
    if (addrs != NULL) {
        e->addrs = *addrs;
    }
}

uint64_t
net_dns_cache_put(struct net_dns_cache *c, const char *name, const struct net_addrs *addrs,
                  uint32_t ttl_s, uint64_t now_ms)
{
    uint64_t expires = now_ms + clamp_s(ttl_s, BOUNDS_DNS_TTL_MIN_S, BOUNDS_DNS_TTL_MAX_S);
    store(c, name, addrs, NULL, expires);
    return expires;
}

void
net_dns_cache_put_negative(struct net_dns_cache *c, const char *name, const char *error,
                           uint32_t ttl_s, uint64_t now_ms)
{
    store(c, name, NULL, error, now_ms + clamp_s(ttl_s, 1, BOUNDS_DNS_NEGATIVE_TTL_MAX_S));
}

size_t
net_dns_cache_count(const struct net_dns_cache *c)
{
    return c->count;
}
