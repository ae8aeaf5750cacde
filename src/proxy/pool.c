#include "proxy/pool.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/url.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "log.h"
#include "net/addr.h"
#include "net/resolve.h"
#include "net/sockopt.h"
#include "net/tls.h"
#include "proxy/headers.h"
#include "worker.h"

/* One idle connection: in the pool's list, with its expiry timer. A node
 * whose connection was taken goes to the pool's spares with its timer, so
 * a keep-alive round trip allocates neither (one of each per request
 * before). */
struct idle {
    struct proxy_pool *pool;
    struct proxy_upstream *u;
    struct event *timer;
    struct idle *prev;
    struct idle *next;
};

struct proxy_pool {
    struct worker *w;
    char *origin;      /* scheme://host[:port] */
    char *host_header; /* host[:port] */
    char host[256];    /* bare host (no brackets) */
    char *mount;       /* UPSTREAM_MCP_URL's path: redirects stay under it */
    struct proxy_upstream_target target;
    SSL_CTX *ssl_ctx;
    struct net_resolver *resolver;  /* the upstream's lookups: cached, shared */
    struct net_keepalive keepalive; /* TCP_KEEPALIVE_*, TCP_USER_TIMEOUT */
    union net_sockaddr last_good;   /* the address that last connected */
    struct proxy_headers_upstream headers;
    bool headers_ok;     /* false: every request fails closed (502) */
    struct idle *newest; /* most recently released first */
    size_t idle_count;
    struct idle *spare; /* unused nodes, linked by next; timers not pending */
    size_t spare_count;
};

static void
log_setup_problem(const char *msg, const char *why)
{
    struct log_line l;
    log_begin(&l, LOG_ERROR, msg);
    log_str(&l, "error", why);
    log_end(&l);
}

/* A client context for https upstreams (net/tls.h: TLS 1.2+, the peer
 * verified against the system CAs, names checked per connection). */
static SSL_CTX *
new_ssl_ctx(void)
{
    struct buf err;
    buf_init(&err, BOUNDS_NET_ERROR_MAX);
    SSL_CTX *ctx = net_tls_ctx_new(NULL, &err);
    if (err.len > 0) {
        /* Fail closed: the context trusts nothing, every handshake fails. */
        log_setup_problem("upstream_tls_ca_load_failed", buf_cstr(&err));
    }
    buf_cleanup(&err);
    static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    (void)SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn));
    return ctx;
}

struct proxy_pool *
proxy_pool_new(struct worker *w, const struct proxy_pool_opts *o)
{
    struct proxy_pool *p = xcalloc(1, sizeof(*p));
    p->w = w;
    p->origin = xstrdup(o->upstream_origin);
    struct url u;
    if (url_parse(o->upstream_origin, &u) == URL_OK) {
        if (!url_host_bare(&u, p->host, sizeof(p->host))) {
            p->host[0] = '\0';
        }
        p->target.port = url_effective_port(&u);
        if (strcmp(u.scheme, "https") == 0) {
            p->ssl_ctx = new_ssl_ctx();
        }
        url_cleanup(&u);
    } else {
        log_setup_problem("upstream_origin_unparsable", o->upstream_origin);
    }
    p->mount = xstrdup(o->mount != NULL ? o->mount : "");
    p->resolver = net_resolver_new(w->base, &o->dns);
    p->keepalive = o->keepalive;
    p->target.host = p->host;
    p->target.ssl_ctx = p->ssl_ctx;
    p->target.resolver = p->resolver;
    p->target.keepalive = &p->keepalive;
    p->target.last_good = &p->last_good;
    const char *sep = strstr(p->origin, "://");
    p->host_header = xstrdup(sep != NULL ? sep + 3 : p->origin);
    p->headers_ok = proxy_headers_upstream_init(&p->headers, o->proxy_base_url,
                                                o->upstream_authorization) == PROXY_HEADERS_OK;
    if (!p->headers_ok) {
        /* config_load validated both, so this is a bug; fail closed. */
        log_setup_problem("upstream_headers_setup_failed",
                          "PROXY_BASE_URL or UPSTREAM_AUTHORIZATION_HEADER unusable");
    }
    return p;
}

static void
unlink_idle(struct idle *i)
{
    struct proxy_pool *p = i->pool;
    if (i->prev != NULL) {
        i->prev->next = i->next;
    } else {
        p->newest = i->next;
    }
    if (i->next != NULL) {
        i->next->prev = i->prev;
    }
    p->idle_count--;
    event_del(i->timer);
}

static void on_idle_expired(evutil_socket_t fd, short what, void *arg);

/* A node for a connection going idle: a spare one, or a new one. */
static struct idle *
node_get(struct proxy_pool *p)
{
    struct idle *i = p->spare;
    if (i != NULL) {
        p->spare = i->next;
        p->spare_count--;
        return i;
    }
    i = xcalloc(1, sizeof(*i));
    i->pool = p;
    i->timer = evtimer_new(p->w->base, on_idle_expired, i);
    if (i->timer == NULL) {
        abort(); /* allocation only */
    }
    return i;
}

/* Back to the spares (at most as many as can be idle), else freed. */
static void
node_put(struct proxy_pool *p, struct idle *i)
{
    if (p->spare_count >= BOUNDS_UPSTREAM_POOL_IDLE_MAX) {
        event_free(i->timer);
        xfree(i);
        return;
    }
    i->u = NULL;
    i->prev = NULL;
    i->next = p->spare;
    p->spare = i;
    p->spare_count++;
}

/* The idle connection is gone (expired, closed, or spoke unasked). */
static void
drop_idle(struct idle *i)
{
    struct proxy_upstream *u = i->u;
    unlink_idle(i);
    node_put(i->pool, i);
    proxy_upstream_close(u);
}

static void
on_idle_event(struct proxy_upstream *u, enum proxy_upstream_event ev, void *arg)
{
    (void)u;
    (void)ev;
    /* Readable (bytes nobody asked for), closed or failed: all end it. */
    drop_idle(arg);
}

static void
on_idle_expired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    drop_idle(arg);
}

void
proxy_pool_free(struct proxy_pool *p)
{
    if (p == NULL) {
        return;
    }
    while (p->newest != NULL) {
        drop_idle(p->newest);
    }
    while (p->spare != NULL) {
        struct idle *i = p->spare;
        p->spare = i->next;
        event_free(i->timer);
        xfree(i);
    }
    proxy_headers_upstream_cleanup(&p->headers);
    net_resolver_free(p->resolver); /* the loop is not running (see pool.h) */
    net_tls_ctx_free(p->ssl_ctx);
    xfree(p->mount);
    xfree(p->origin);
    xfree(p->host_header);
    xfree(p);
}

static void
close_slot(void *handle)
{
    proxy_pool_free(handle);
}

void
proxy_pool_attach_worker(struct worker *w, const struct proxy_pool_opts *o)
{
    worker_slot_set(w, WORKER_SLOT_UPSTREAM_POOL, proxy_pool_new(w, o), close_slot);
}

struct proxy_pool *
proxy_pool_of_worker(const struct worker *w)
{
    return worker_slot_get(w, WORKER_SLOT_UPSTREAM_POOL);
}

struct proxy_upstream *
proxy_pool_acquire(struct proxy_pool *p, bool fresh, proxy_upstream_fn fn, void *arg,
                   bool *out_reused, const char **out_reason)
{
    *out_reused = false;
    *out_reason = NULL;
    while (!fresh && p->newest != NULL) {
        struct idle *i = p->newest;
        struct proxy_upstream *u = i->u;
        unlink_idle(i);
        node_put(p, i);
        if (!proxy_upstream_is_quiet(u)) {
            /* Late bytes of an earlier response (a body after HEAD, 204 or
             * 304), or a close the loop has not seen yet: never hand them
             * to another request -- maybe another user's. */
            proxy_upstream_close(u);
            continue;
        }
        proxy_upstream_set_callback(u, fn, arg);
        proxy_upstream_resume(u);
        *out_reused = true;
        return u;
    }
    if (p->host[0] == '\0') {
        *out_reason = "the upstream origin has no usable host";
        return NULL;
    }
    return proxy_upstream_connect(p->w, &p->target, fn, arg, out_reason);
}

void
proxy_pool_release(struct proxy_pool *p, struct proxy_upstream *u, bool reusable,
                   uint64_t keep_alive_hint_ms)
{
    uint64_t idle_ms = BOUNDS_UPSTREAM_IDLE_MS;
    if (keep_alive_hint_ms > 0) {
        /* Close a second before the upstream would, so a reuse never
         * races its close; a hint of 1 s or less means "do not keep". */
        if (keep_alive_hint_ms <= 1000) {
            reusable = false;
        } else if (keep_alive_hint_ms - 1000 < idle_ms) {
            idle_ms = keep_alive_hint_ms - 1000;
        }
    }
    if (!reusable || p->idle_count >= BOUNDS_UPSTREAM_POOL_IDLE_MAX ||
        evbuffer_get_length(proxy_upstream_input(u)) > 0) {
        proxy_upstream_close(u);
        return;
    }
    struct idle *i = node_get(p);
    i->u = u;
    struct timeval tv = clock_timeval_from_ms(idle_ms);
    event_add(i->timer, &tv);
    i->next = p->newest;
    if (p->newest != NULL) {
        p->newest->prev = i;
    }
    p->newest = i;
    p->idle_count++;
    /* Read while idle, so a close (or stray bytes) is seen at once. */
    proxy_upstream_set_callback(u, on_idle_event, i);
    proxy_upstream_resume(u);
}

const char *
proxy_pool_origin(const struct proxy_pool *p)
{
    return p->origin;
}

const char *
proxy_pool_mount(const struct proxy_pool *p)
{
    return p->mount;
}

const char *
proxy_pool_host_header(const struct proxy_pool *p)
{
    return p->host_header;
}

const struct proxy_headers_upstream *
proxy_pool_headers(const struct proxy_pool *p)
{
    return p->headers_ok ? &p->headers : NULL;
}

size_t
proxy_pool_idle_count(const struct proxy_pool *p)
{
    return p->idle_count;
}
