#include "proxy/upstream.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "bounds.h"
#include "store/resolve.h"
#include "worker.h"

enum up_state {
    UP_RESOLVING = 0,
    UP_CONNECTING, /* TCP, then the TLS handshake */
    UP_OPEN,
    UP_CLOSED, /* failed, or the upstream closed; waiting for the owner */
};

struct proxy_upstream {
    struct worker *w;
    const struct proxy_upstream_target *t;
    enum up_state state;
    struct bufferevent *bev;
    struct store_resolve *resolve;
    struct event *connect_timer;
    struct evbuffer *pending;  /* written before the connection was up */
    struct evbuffer *empty_in; /* proxy_upstream_input() before there is a bev */
    proxy_upstream_fn fn;
    void *arg;
    bool paused;
    bool destroyed;
    char error[192];
};

static void __attribute__((format(printf, 2, 3)))
set_error(struct proxy_upstream *u, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->error, sizeof(u->error), fmt, ap);
    va_end(ap);
}

static void
free_upstream(void *arg)
{
    struct proxy_upstream *u = arg;
    if (u->connect_timer != NULL) {
        event_free(u->connect_timer);
    }
    evbuffer_free(u->pending);
    evbuffer_free(u->empty_in);
    xfree(u);
}

/* Tells the owner; the owner may close u from inside. */
static void
notify(struct proxy_upstream *u, enum proxy_upstream_event ev)
{
    if (!u->destroyed && u->fn != NULL) {
        u->fn(u, ev, u->arg);
    }
}

/* The connection is unusable: stop every event, then tell the owner. */
static void
fail(struct proxy_upstream *u)
{
    u->state = UP_CLOSED;
    event_del(u->connect_timer);
    if (u->bev != NULL) {
        bufferevent_disable(u->bev, EV_READ | EV_WRITE);
    }
    notify(u, PROXY_UPSTREAM_FAILED);
}

/* A sentence for a TLS failure: the certificate check, or the handshake. */
static void
describe_tls_failure(struct proxy_upstream *u)
{
    SSL *ssl = bufferevent_openssl_get_ssl(u->bev);
    long verify = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
    unsigned long e;
    unsigned long last = 0;
    while ((e = bufferevent_get_openssl_error(u->bev)) != 0) {
        last = e;
    }
    if (verify != X509_V_OK) {
        set_error(u, "TLS certificate verification failed for %s: %s", u->t->host,
                  X509_verify_cert_error_string(verify));
    } else if (last != 0) {
        const char *why = ERR_reason_error_string(last);
        set_error(u, "TLS handshake with %s failed: %s", u->t->host,
                  why != NULL ? why : "unknown error");
    }
    ERR_clear_error();
}

static void
on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    notify(arg, PROXY_UPSTREAM_READABLE);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
    struct proxy_upstream *u = arg;
    if ((what & BEV_EVENT_CONNECTED) != 0) {
        event_del(u->connect_timer);
        u->state = UP_OPEN;
        int fd = (int)bufferevent_getfd(bev);
        int one = 1;
        /* Requests leave in one write; never let Nagle hold one back. */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (evbuffer_get_length(u->pending) > 0) {
            bufferevent_write_buffer(bev, u->pending);
        }
        if (!u->paused) {
            bufferevent_enable(bev, EV_READ);
        }
        return;
    }
    if ((what & BEV_EVENT_EOF) != 0 && (what & BEV_EVENT_ERROR) == 0 && u->state == UP_OPEN) {
        u->state = UP_CLOSED;
        bufferevent_disable(bev, EV_READ | EV_WRITE);
        notify(u, PROXY_UPSTREAM_CLOSED);
        return;
    }
    if (u->t->ssl_ctx != NULL) {
        describe_tls_failure(u);
    }
    if (u->error[0] == '\0') {
        int err = EVUTIL_SOCKET_ERROR();
        if ((what & BEV_EVENT_EOF) != 0) {
            set_error(u, "connection closed during the TLS handshake");
        } else if (u->state == UP_CONNECTING) {
            set_error(u, "cannot connect to %s:%u: %s", u->t->host, u->t->port,
                      err != 0 ? evutil_socket_error_to_string(err) : "connection failed");
        } else {
            set_error(u, "connection error: %s",
                      err != 0 ? evutil_socket_error_to_string(err) : "socket error");
        }
    }
    fail(u);
}

static void
on_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct proxy_upstream *u = arg;
    store_resolve_cancel(u->resolve);
    u->resolve = NULL;
    /* Also the loop-side report of a failure found while starting, whose
     * reason is already set. */
    if (u->error[0] == '\0') {
        set_error(u, "no connection to %s:%u within %d ms", u->t->host, u->t->port,
                  BOUNDS_UPSTREAM_CONNECT_TIMEOUT_MS);
    }
    fail(u);
}

static SSL *
new_ssl(const struct proxy_upstream_target *t)
{
    SSL *ssl = SSL_new(t->ssl_ctx);
    if (ssl == NULL) {
        abort(); /* only on allocation failure, and ours aborts first */
    }
    if (t->host_is_ip) {
        /* RFC 6066 3: no SNI for an address; check the certificate's IP SANs. */
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t->host);
    } else {
        SSL_set_tlsext_host_name(ssl, t->host);
        SSL_set1_host(ssl, t->host);
    }
    return ssl;
}

static void
connect_addr(struct proxy_upstream *u, const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_error(u, "cannot create a socket: %s", evutil_socket_error_to_string(errno));
        event_active(u->connect_timer, EV_TIMEOUT, 0); /* tell the owner from the loop */
        return;
    }
    int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
    struct event_base *base = u->w->base;
    if (u->t->ssl_ctx != NULL) {
        u->bev = bufferevent_openssl_socket_new(base, fd, new_ssl(u->t), BUFFEREVENT_SSL_CONNECTING,
                                                opts);
    } else {
        u->bev = bufferevent_socket_new(base, fd, opts);
    }
    if (u->bev == NULL) {
        abort(); /* allocation only */
    }
    u->state = UP_CONNECTING;
    bufferevent_setcb(u->bev, on_read, NULL, on_event, u);
    bufferevent_enable(u->bev, EV_WRITE);
    if (bufferevent_socket_connect(u->bev, sa, (int)len) != 0) {
        int err = EVUTIL_SOCKET_ERROR();
        set_error(u, "cannot connect to %s:%u: %s", u->t->host, u->t->port,
                  err != 0 ? evutil_socket_error_to_string(err) : "connect failed");
        event_active(u->connect_timer, EV_TIMEOUT, 0);
    }
}

static void
on_resolved(int gai_error, const struct sockaddr *addr, socklen_t len, void *arg)
{
    struct proxy_upstream *u = arg;
    u->resolve = NULL;
    if (gai_error != 0) {
        set_error(u, "cannot resolve %s: %s", u->t->host, gai_strerror(gai_error));
        fail(u);
        return;
    }
    connect_addr(u, addr, len);
}

struct proxy_upstream *
proxy_upstream_connect(struct worker *w, const struct proxy_upstream_target *t,
                       proxy_upstream_fn fn, void *arg, const char **out_reason)
{
    *out_reason = NULL;
    struct proxy_upstream *u = xcalloc(1, sizeof(*u));
    u->w = w;
    u->t = t;
    u->fn = fn;
    u->arg = arg;
    u->pending = evbuffer_new();
    u->empty_in = evbuffer_new();
    u->connect_timer = evtimer_new(w->base, on_connect_timeout, u);
    if (u->pending == NULL || u->empty_in == NULL || u->connect_timer == NULL) {
        abort(); /* allocation only */
    }
    struct timeval tv = {.tv_sec = BOUNDS_UPSTREAM_CONNECT_TIMEOUT_MS / 1000,
                         .tv_usec = (BOUNDS_UPSTREAM_CONNECT_TIMEOUT_MS % 1000) * 1000};
    event_add(u->connect_timer, &tv);
    if (t->host_is_ip) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        socklen_t len = 0;
        struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
        if (evutil_inet_pton(AF_INET, t->host, &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            v4->sin_port = htons((uint16_t)t->port);
            len = sizeof(*v4);
        } else if (evutil_inet_pton(AF_INET6, t->host, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons((uint16_t)t->port);
            len = sizeof(*v6);
        }
        if (len == 0) {
            set_error(u, "cannot parse the upstream address %s", t->host);
            event_active(u->connect_timer, EV_TIMEOUT, 0);
            return u;
        }
        connect_addr(u, (struct sockaddr *)&ss, len);
        return u;
    }
    u->state = UP_RESOLVING;
    u->resolve = store_resolve_start(w->base, t->host, t->port, on_resolved, u);
    if (u->resolve == NULL) {
        *out_reason = "cannot start the DNS lookup of the upstream host";
        proxy_upstream_close(u);
        return NULL;
    }
    return u;
}

void
proxy_upstream_set_callback(struct proxy_upstream *u, proxy_upstream_fn fn, void *arg)
{
    u->fn = fn;
    u->arg = arg;
}

void
proxy_upstream_close(struct proxy_upstream *u)
{
    if (u == NULL || u->destroyed) {
        return;
    }
    u->destroyed = true;
    u->state = UP_CLOSED;
    u->fn = NULL;
    store_resolve_cancel(u->resolve);
    u->resolve = NULL;
    if (u->bev != NULL) {
        bufferevent_free(u->bev); /* closes the socket; no callback after this */
        u->bev = NULL;
    }
    event_del(u->connect_timer);
    worker_defer(u->w, free_upstream, u);
}

void
proxy_upstream_write(struct proxy_upstream *u, const void *data, size_t len)
{
    if (u->state == UP_OPEN) {
        bufferevent_write(u->bev, data, len);
    } else if (u->state != UP_CLOSED) {
        evbuffer_add(u->pending, data, len);
    }
}

void
proxy_upstream_write_buffer(struct proxy_upstream *u, struct evbuffer *buf)
{
    if (u->state == UP_OPEN) {
        bufferevent_write_buffer(u->bev, buf);
    } else if (u->state != UP_CLOSED) {
        evbuffer_add_buffer(u->pending, buf);
    } else {
        evbuffer_drain(buf, evbuffer_get_length(buf));
    }
}

struct evbuffer *
proxy_upstream_input(struct proxy_upstream *u)
{
    return u->bev != NULL ? bufferevent_get_input(u->bev) : u->empty_in;
}

bool
proxy_upstream_is_flushed(const struct proxy_upstream *u)
{
    return u->state == UP_OPEN && evbuffer_get_length(u->pending) == 0 &&
           evbuffer_get_length(bufferevent_get_output(u->bev)) == 0;
}

bool
proxy_upstream_is_connected(const struct proxy_upstream *u)
{
    return u->state == UP_OPEN;
}

void
proxy_upstream_pause(struct proxy_upstream *u)
{
    u->paused = true;
    if (u->bev != NULL && u->state == UP_OPEN) {
        bufferevent_disable(u->bev, EV_READ);
    }
}

void
proxy_upstream_resume(struct proxy_upstream *u)
{
    u->paused = false;
    if (u->bev != NULL && u->state == UP_OPEN) {
        bufferevent_enable(u->bev, EV_READ);
    }
}

const char *
proxy_upstream_error(const struct proxy_upstream *u)
{
    return u->error;
}
