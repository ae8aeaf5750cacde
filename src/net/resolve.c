/* Host-name resolution on the loop (see resolve.h).
 *
 * Three records:
 *  - struct net_resolver: the evdns_base, the cache, every lookup record
 *    still known to evdns, and the waiters whose answer is ready;
 *  - struct lookup: one name being asked, AAAA and A at once. It stays in
 *    r->lookups until evdns has called back for both queries, because
 *    evdns always calls back -- with the answer, or with DNS_ERR_CANCEL
 *    from a deferred callback after evdns_cancel_request() -- and that
 *    callback receives the record. Once its waiters are answered (or gone)
 *    the lookup is "finished": it only waits for those callbacks, and the
 *    last one frees it. Nothing else is touched by a late callback;
 *  - struct net_resolve: one caller waiting, on a lookup's list or on the
 *    ready list; freed before its callback runs, or on cancel.
 *
 * evdns_base_resolve_ipv4/ipv6 (not evdns_getaddrinfo) are used because
 * they report the answer's TTL and because their deferred callback does
 * not touch the evdns_base (evdns_getaddrinfo's does, which is how a
 * cancelled lookup could run after its resolver was freed). */
#include "net/resolve.h"

#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/xalloc.h"
#include "net/dns_cache.h"
#include "net/hosts.h"

#define Q_AAAA 0
#define Q_A 1

static const char reason_not_found[] = "no such host";
static const char reason_no_data[] = "the host has no addresses";
static const char reason_timeout[] = "the DNS servers did not answer";
static const char reason_failed[] = "the DNS servers failed";
static const char reason_busy[] = "too many DNS lookups in flight";
static const char reason_invalid[] = "not a valid host name";

struct lookup;

struct net_resolve {
    struct net_resolver *r;
    struct lookup *lk; /* NULL once on the ready list */
    TAILQ_ENTRY(net_resolve) link;
    net_resolve_fn cb;
    void *arg;
    enum net_resolve_result rc;
    const char *error;
    struct net_addrs addrs;
    uint64_t gen; /* r->deliver_gen when it became ready */
};
TAILQ_HEAD(waiter_list, net_resolve);

struct query {
    struct evdns_request *req; /* NULL once evdns called back */
    bool done;
    int err; /* DNS_ERR_* */
    uint32_t ttl;
    struct net_addrs addrs;
};

struct lookup {
    struct net_resolver *r;
    TAILQ_ENTRY(lookup) link; /* r->lookups */
    bool finished;            /* waiters answered or gone; only evdns callbacks remain */
    struct query q[2];
    struct event *delay; /* RFC 8305 3 resolution delay */
    struct waiter_list waiters;
    char name[BOUNDS_DNS_NAME_MAX + 1];
};

struct net_resolver {
    struct event_base *base;
    struct evdns_base *dns;
    struct net_dns_cache *cache;
    char *hosts_file;
    TAILQ_HEAD(lookup_list, lookup) lookups;
    unsigned inflight; /* lookups not finished */
    unsigned records;  /* lookups in the list */
    struct waiter_list ready;
    uint64_t deliver_gen; /* bumped by each delivery pass */
    struct event *deliver;
};

/* ---- delivering answers ---- */

static void
on_deliver(evutil_socket_t fd, short what, void *arg)
{
    struct net_resolver *r = arg;
    (void)fd;
    (void)what;
    /* Only the waiters ready before this pass: a callback may start new
     * lookups (delivered next pass) or cancel other ready waiters (which
     * leave r->ready at once, so the list stays the truth). */
    uint64_t pass = ++r->deliver_gen;
    struct net_resolve *q;
    while ((q = TAILQ_FIRST(&r->ready)) != NULL && q->gen < pass) {
        TAILQ_REMOVE(&r->ready, q, link);
        struct net_addrs addrs = q->addrs;
        enum net_resolve_result rc = q->rc;
        const char *error = q->error;
        net_resolve_fn cb = q->cb;
        void *cb_arg = q->arg;
        xfree(q);
        cb(rc, rc == NET_RESOLVE_OK ? &addrs : NULL, error, cb_arg);
        /* A callback may free the resolver only outside the loop, so r is
         * still valid here. */
    }
}

static void
make_ready(struct net_resolve *q, enum net_resolve_result rc, const struct net_addrs *addrs,
           const char *error)
{
    q->lk = NULL;
    q->gen = q->r->deliver_gen;
    q->rc = rc;
    q->error = error;
    if (addrs != NULL) {
        q->addrs = *addrs;
    }
    TAILQ_INSERT_TAIL(&q->r->ready, q, link);
    event_active(q->r->deliver, EV_TIMEOUT, 0);
}

/* ---- lookup records ---- */

static void
maybe_free_lookup(struct lookup *lk)
{
    if (!lk->finished || lk->q[Q_AAAA].req != NULL || lk->q[Q_A].req != NULL) {
        return;
    }
    if (lk->r != NULL) {
        TAILQ_REMOVE(&lk->r->lookups, lk, link);
        lk->r->records--;
    }
    event_free(lk->delay);
    xfree(lk);
}

/* Stops asking: evdns will call back with DNS_ERR_CANCEL later (or with
 * an answer already scheduled), and that frees the record. */
static void
cancel_queries(struct lookup *lk)
{
    for (int i = 0; i < 2; i++) {
        if (lk->q[i].req != NULL && !lk->q[i].done) {
            evdns_cancel_request(lk->r->dns, lk->q[i].req);
        }
    }
}

static void
mark_finished(struct lookup *lk)
{
    lk->finished = true;
    lk->r->inflight--;
    event_del(lk->delay);
}

/* The answer from what the queries said: IPv6 first (RFC 6724's default
 * preference; net/connect interleaves the families). */
static void
finish(struct lookup *lk)
{
    struct net_resolver *r = lk->r;
    struct net_addrs all = {0};
    uint32_t ttl = UINT32_MAX;
    int err = DNS_ERR_NONE;
    for (int i = 0; i < 2; i++) {
        const struct query *q = &lk->q[i];
        for (size_t k = 0; k < q->addrs.count; k++) {
            (void)net_addrs_add(&all, &q->addrs.addr[k]);
        }
        if (q->done && q->addrs.count > 0 && q->ttl < ttl) {
            ttl = q->ttl;
        }
        /* The worst failure names the lookup: a timeout or server failure
         * outranks "no such name", which outranks "no data". */
        if (q->done && q->err != DNS_ERR_NONE && q->err != DNS_ERR_CANCEL &&
            (err == DNS_ERR_NONE || err == DNS_ERR_NODATA ||
             (err == DNS_ERR_NOTEXIST && q->err != DNS_ERR_NODATA))) {
            err = q->err;
        }
    }
    if (all.count == 0) {
        /* A negative answer lives for the smallest SOA minimum seen. */
        for (int i = 0; i < 2; i++) {
            if (lk->q[i].done && lk->q[i].err != DNS_ERR_NONE && lk->q[i].ttl < ttl) {
                ttl = lk->q[i].ttl;
            }
        }
    }
    if (ttl == UINT32_MAX) {
        ttl = 0;
    }
    mark_finished(lk);
    uint64_t now = clock_mono_ms();
    enum net_resolve_result rc = NET_RESOLVE_OK;
    const char *error = NULL;
    if (all.count > 0) {
        (void)net_dns_cache_put(r->cache, lk->name, &all, ttl, now);
    } else {
        rc = err == DNS_ERR_NOTEXIST || err == DNS_ERR_NODATA || err == DNS_ERR_NONE
                 ? NET_RESOLVE_ERR_NOT_FOUND
                 : NET_RESOLVE_ERR_FAILED;
        error = err == DNS_ERR_NOTEXIST        ? reason_not_found
                : err == DNS_ERR_TIMEOUT       ? reason_timeout
                : rc == NET_RESOLVE_ERR_FAILED ? reason_failed
                                               : reason_no_data;
        net_dns_cache_put_negative(r->cache, lk->name, error, ttl, now);
    }
    struct net_resolve *q;
    while ((q = TAILQ_FIRST(&lk->waiters)) != NULL) {
        TAILQ_REMOVE(&lk->waiters, q, link);
        make_ready(q, rc, rc == NET_RESOLVE_OK ? &all : NULL, error);
    }
    cancel_queries(lk);
}

static void
on_delay(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    /* One family answered RESOLUTION_DELAY ago, the other has not: go
     * with what we have rather than wait out a resolver that drops AAAA. */
    finish(arg);
}

static void
on_query(struct lookup *lk, int i, int result, char type, int count, int ttl, void *addresses)
{
    struct query *q = &lk->q[i];
    q->req = NULL; /* evdns frees its handle after this callback */
    q->done = true;
    q->err = result;
    q->ttl = ttl > 0 ? (uint32_t)ttl : 0;
    if (result == DNS_ERR_NONE && type == DNS_IPv6_AAAA && i == Q_AAAA) {
        const struct in6_addr *a = addresses;
        for (int k = 0; k < count; k++) {
            union net_sockaddr sa = {.in6 = {.sin6_family = AF_INET6, .sin6_addr = a[k]}};
            (void)net_addrs_add(&q->addrs, &sa);
        }
    } else if (result == DNS_ERR_NONE && type == DNS_IPv4_A && i == Q_A) {
        const struct in_addr *a = addresses;
        for (int k = 0; k < count; k++) {
            union net_sockaddr sa = {.in = {.sin_family = AF_INET, .sin_addr = a[k]}};
            (void)net_addrs_add(&q->addrs, &sa);
        }
    }
    if (lk->finished) {
        maybe_free_lookup(lk);
        return;
    }
    struct query *other = &lk->q[1 - i];
    if (other->done) {
        finish(lk);
        maybe_free_lookup(lk);
    } else if (q->addrs.count > 0) {
        struct timeval tv = clock_timeval_from_ms(BOUNDS_DNS_RESOLUTION_DELAY_MS);
        event_add(lk->delay, &tv);
    }
}

static void
on_aaaa(int result, char type, int count, int ttl, void *addresses, void *arg)
{
    on_query(arg, Q_AAAA, result, type, count, ttl, addresses);
}

static void
on_a(int result, char type, int count, int ttl, void *addresses, void *arg)
{
    on_query(arg, Q_A, result, type, count, ttl, addresses);
}

/* A new lookup record for name, both queries asked. NULL when evdns
 * refused both at once (a name it cannot encode). */
static struct lookup *
lookup_start(struct net_resolver *r, const char *name)
{
    struct lookup *lk = xcalloc(1, sizeof(*lk));
    lk->r = r;
    TAILQ_INIT(&lk->waiters);
    memcpy(lk->name, name, strlen(name) + 1);
    lk->delay = evtimer_new(r->base, on_delay, lk);
    if (lk->delay == NULL) {
        abort(); /* allocation only */
    }
    TAILQ_INSERT_TAIL(&r->lookups, lk, link);
    r->records++;
    r->inflight++;
    /* evdns never calls back from inside these calls: answers are
     * deferred to the loop. */
    lk->q[Q_AAAA].req = evdns_base_resolve_ipv6(r->dns, name, 0, on_aaaa, lk);
    lk->q[Q_A].req = evdns_base_resolve_ipv4(r->dns, name, 0, on_a, lk);
    for (int i = 0; i < 2; i++) {
        if (lk->q[i].req == NULL) {
            lk->q[i].done = true;
            lk->q[i].err = DNS_ERR_FORMAT;
        }
    }
    if (lk->q[Q_AAAA].req == NULL && lk->q[Q_A].req == NULL) {
        mark_finished(lk);
        maybe_free_lookup(lk);
        return NULL;
    }
    return lk;
}

/* ---- answers known without DNS ---- */

static bool
read_hosts(const char *path, const char *name, struct net_addrs *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    struct stat st;
    bool found = false;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        st.st_size <= BOUNDS_DNS_HOSTS_FILE_MAX) {
        size_t len = (size_t)st.st_size;
        char *text = xmalloc(len);
        size_t got = 0;
        while (got < len) {
            ssize_t n = read(fd, text + got, len - got);
            if (n <= 0) {
                break;
            }
            got += (size_t)n;
        }
        found = net_hosts_lookup(text, got, name, out);
        xfree(text);
    }
    close(fd);
    return found;
}

/* RFC 6761 6.3: "localhost" and names under it are the loopback. */
static bool
is_localhost(const char *name)
{
    size_t n = strlen(name);
    if (n > 0 && name[n - 1] == '.') {
        n--;
    }
    return (n == 9 && strncasecmp(name, "localhost", 9) == 0) ||
           (n > 10 && strncasecmp(name + n - 10, ".localhost", 10) == 0);
}

static bool
is_valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > BOUNDS_DNS_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Literal, cache, hosts file, localhost. NET_RESOLVE_RESULT_COUNT: ask DNS. */
static enum net_resolve_result
known_answer(struct net_resolver *r, const char *host, struct net_addrs *out, const char **error)
{
    union net_sockaddr lit;
    if (net_addr_parse_ip(host, 0, &lit)) {
        out->count = 0;
        (void)net_addrs_add(out, &lit);
        return NET_RESOLVE_OK;
    }
    if (!is_valid_name(host)) {
        *error = reason_invalid;
        return NET_RESOLVE_ERR_INVALID;
    }
    uint64_t now = clock_mono_ms();
    switch (net_dns_cache_get(r->cache, host, now, out, NULL, error)) {
    case NET_DNS_CACHE_HIT:
        return NET_RESOLVE_OK;
    case NET_DNS_CACHE_NEGATIVE:
        return *error == reason_timeout || *error == reason_failed ? NET_RESOLVE_ERR_FAILED
                                                                   : NET_RESOLVE_ERR_NOT_FOUND;
    case NET_DNS_CACHE_MISS:
        break;
    }
    struct net_addrs hosts = {0};
    if (read_hosts(r->hosts_file, host, &hosts) && hosts.count > 0) {
        /* Cached for the minimum TTL: edits to the file show soon. */
        (void)net_dns_cache_put(r->cache, host, &hosts, 0, now);
        *out = hosts;
        return NET_RESOLVE_OK;
    }
    if (is_localhost(host)) {
        union net_sockaddr v6 = {
            .in6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT}};
        union net_sockaddr v4 = {
            .in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)}};
        out->count = 0;
        (void)net_addrs_add(out, &v6);
        (void)net_addrs_add(out, &v4);
        return NET_RESOLVE_OK;
    }
    return NET_RESOLVE_RESULT_COUNT;
}

/* ---- the API ---- */

/* evdns would print "[msg] Nameserver ... has failed" on stderr: the
 * outcome reaches the owner as the lookup's error instead, which it logs
 * as one JSON line. */
static void
quiet_evdns_log(int is_warning, const char *msg)
{
    (void)is_warning;
    (void)msg;
}

static void
silence_evdns(void)
{
    evdns_set_log_fn(quiet_evdns_log);
}

struct net_resolver *
net_resolver_new(struct event_base *base, const struct net_resolver_opts *opts)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    (void)pthread_once(&once, silence_evdns);
    struct net_resolver *r = xcalloc(1, sizeof(*r));
    r->base = base;
    TAILQ_INIT(&r->lookups);
    TAILQ_INIT(&r->ready);
    r->cache = net_dns_cache_new(BOUNDS_DNS_CACHE_ENTRIES_MAX);
    const char *hosts = opts != NULL && opts->hosts_file != NULL && opts->hosts_file[0] != '\0'
                            ? opts->hosts_file
                            : "/etc/hosts";
    const char *conf = opts != NULL && opts->resolv_conf != NULL && opts->resolv_conf[0] != '\0'
                           ? opts->resolv_conf
                           : "/etc/resolv.conf";
    r->hosts_file = xstrdup(hosts);
    /* No nameservers yet, and the UDP sockets do not keep the loop alive
     * while nothing is asked. */
    r->dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    r->deliver = event_new(base, -1, 0, on_deliver, r);
    if (r->dns == NULL || r->deliver == NULL) {
        abort(); /* allocation only */
    }
    /* The hosts file is ours (net/hosts.c); evdns reads only servers,
     * search list and options. A missing file leaves evdns's default, a
     * server on 127.0.0.1. */
    (void)evdns_base_resolv_conf_parse(
        r->dns, DNS_OPTION_NAMESERVERS | DNS_OPTION_SEARCH | DNS_OPTION_MISC, conf);
    /* Ask in the case we were given, as glibc does (evdns would randomise
     * it, which some middleboxes answer wrongly). */
    (void)evdns_base_set_option(r->dns, "randomize-case:", "0");
    return r;
}

void
net_resolver_free(struct net_resolver *r)
{
    if (r == NULL) {
        return;
    }
    struct net_resolve *q;
    while ((q = TAILQ_FIRST(&r->ready)) != NULL) {
        TAILQ_REMOVE(&r->ready, q, link);
        xfree(q);
    }
    struct lookup *lk;
    TAILQ_FOREACH(lk, &r->lookups, link)
    {
        while ((q = TAILQ_FIRST(&lk->waiters)) != NULL) {
            TAILQ_REMOVE(&lk->waiters, q, link);
            xfree(q);
        }
        if (!lk->finished) {
            mark_finished(lk);
        }
        cancel_queries(lk);
    }
    /* evdns's cancel callbacks are deferred to the loop: run it until each
     * has freed its record (one pass does it; the bound is a safety net). */
    for (int pass = 0; pass < 8 && !TAILQ_EMPTY(&r->lookups); pass++) {
        if (event_base_loop(r->base, EVLOOP_NONBLOCK) < 0) {
            break; /* called from inside the loop after all: no pass possible */
        }
    }
    /* fail_requests 0: nothing of ours is left to call back, and evdns's
     * own probe requests are dropped silently. */
    evdns_base_free(r->dns, 0);
    /* Records still listed wait for a callback evdns has scheduled but the
     * loop has not run: they no longer know the resolver and free
     * themselves when it comes (or are lost with the loop). */
    while ((lk = TAILQ_FIRST(&r->lookups)) != NULL) {
        TAILQ_REMOVE(&r->lookups, lk, link);
        lk->r = NULL;
    }
    event_free(r->deliver);
    net_dns_cache_free(r->cache);
    xfree(r->hosts_file);
    xfree(r);
}

bool
net_resolver_peek(struct net_resolver *r, const char *host, struct net_addrs *out)
{
    const char *error = NULL;
    struct net_addrs a = {0};
    if (known_answer(r, host, &a, &error) != NET_RESOLVE_OK) {
        return false;
    }
    *out = a;
    return true;
}

static struct lookup *
find_lookup(struct net_resolver *r, const char *name)
{
    struct lookup *lk;
    TAILQ_FOREACH(lk, &r->lookups, link)
    {
        if (!lk->finished && strcasecmp(lk->name, name) == 0) {
            return lk;
        }
    }
    return NULL;
}

struct net_resolve *
net_resolve_start(struct net_resolver *r, const char *host, net_resolve_fn cb, void *arg)
{
    struct net_resolve *q = xcalloc(1, sizeof(*q));
    q->r = r;
    q->cb = cb;
    q->arg = arg;
    struct net_addrs addrs = {0};
    const char *error = NULL;
    enum net_resolve_result rc = known_answer(r, host, &addrs, &error);
    if (rc != NET_RESOLVE_RESULT_COUNT) {
        make_ready(q, rc, &addrs, error);
        return q;
    }
    struct lookup *lk = find_lookup(r, host);
    if (lk == NULL && r->inflight >= BOUNDS_DNS_LOOKUPS_INFLIGHT_MAX) {
        make_ready(q, NET_RESOLVE_ERR_BUSY, NULL, reason_busy);
        return q;
    }
    if (lk == NULL) {
        lk = lookup_start(r, host);
    }
    if (lk == NULL) {
        make_ready(q, NET_RESOLVE_ERR_INVALID, NULL, reason_invalid);
        return q;
    }
    q->lk = lk;
    TAILQ_INSERT_TAIL(&lk->waiters, q, link);
    return q;
}

void
net_resolve_cancel(struct net_resolve *q)
{
    if (q == NULL) {
        return;
    }
    struct lookup *lk = q->lk;
    if (lk == NULL) {
        TAILQ_REMOVE(&q->r->ready, q, link);
        xfree(q);
        return;
    }
    TAILQ_REMOVE(&lk->waiters, q, link);
    xfree(q);
    if (TAILQ_EMPTY(&lk->waiters)) {
        /* Nobody waits any more: stop asking now. The record goes when
         * evdns's cancel callbacks run (maybe_free_lookup). */
        mark_finished(lk);
        cancel_queries(lk);
    }
}

unsigned
net_resolver_inflight(const struct net_resolver *r)
{
    return r->inflight;
}

unsigned
net_resolver_records(const struct net_resolver *r)
{
    return r->records;
}
