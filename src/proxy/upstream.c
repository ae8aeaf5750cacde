#include "proxy/upstream.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "net/connect.h"
#include "net/stream.h"
#include "net/tls.h"
#include "worker.h"

enum up_state {
    UP_CONNECTING = 0, /* net/connect: lookup and racing TCP attempts */
    UP_HANDSHAKING,    /* TLS */
    UP_OPEN,
    UP_CLOSED, /* failed, or the upstream closed; waiting for the owner */
};

struct proxy_upstream {
    struct worker *w;
    const struct proxy_upstream_target *t;
    enum up_state state;
    struct net_stream *s;    /* plaintext: our own socket I/O (net/stream.h) */
    struct bufferevent *bev; /* TLS: the OpenSSL bufferevent */
    struct net_connect *connecting;
    struct event *connect_timer; /* the TLS handshake's share of the connect timeout */
    uint64_t deadline_ms;        /* monotonic: DNS, TCP and TLS together */
    struct evbuffer *pending;    /* written before the connection was up */
    struct evbuffer *empty_in;   /* proxy_upstream_input() before there is a bev */
    proxy_upstream_fn fn;
    void *arg;
    bool paused;
    bool destroyed;
    struct buf error; /* "" until the connection fails */
};

static void
free_upstream(void *arg)
{
    struct proxy_upstream *u = arg;
    if (u->connect_timer != NULL) {
        event_free(u->connect_timer);
    }
    evbuffer_free(u->pending);
    evbuffer_free(u->empty_in);
    buf_cleanup(&u->error);
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
    if (u->s != NULL) {
        net_stream_pause(u->s);
    }
    notify(u, PROXY_UPSTREAM_FAILED);
}

/* The upstream as error messages name it: "mcp.internal:8443". */
static void
describe_where(const struct proxy_upstream *u, char *out, size_t cap)
{
    bool v6 = strchr(u->t->host, ':') != NULL;
    snprintf(out, cap, "%s%s%s:%u", v6 ? "[" : "", u->t->host, v6 ? "]" : "", u->t->port);
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
        if (evbuffer_get_length(u->pending) > 0) {
            bufferevent_write_buffer(bev, u->pending);
        }
        if (!u->paused) {
            bufferevent_enable(bev, EV_READ);
        }
        return;
    }
    /* A TLS peer that closes without close_notify also arrives here as a
     * plain EOF (net/tls.h): the forward's framing decides whether the
     * response was whole. */
    if ((what & BEV_EVENT_EOF) != 0 && (what & BEV_EVENT_ERROR) == 0 && u->state == UP_OPEN) {
        u->state = UP_CLOSED;
        bufferevent_disable(bev, EV_READ | EV_WRITE);
        notify(u, PROXY_UPSTREAM_CLOSED);
        return;
    }
    char where[BOUNDS_DNS_NAME_MAX + 16];
    describe_where(u, where, sizeof(where));
    bool handshaking = u->state == UP_HANDSHAKING;
    if (u->t->ssl_ctx != NULL) {
        net_tls_describe(bev, handshaking, where, &u->error);
    }
    if (u->error.len == 0) {
        int err = EVUTIL_SOCKET_ERROR();
        if (handshaking) {
            buf_appendf_best(&u->error, "%s closed the connection during the TLS handshake%s%s",
                             where, err != 0 ? ": " : "",
                             err != 0 ? evutil_socket_error_to_string(err) : "");
        } else {
            buf_appendf_best(&u->error, "connection to %s failed: %s", where,
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
    /* Also the loop-side report of a failure found while starting, whose
     * reason is already set. */
    if (u->error.len == 0) {
        char where[BOUNDS_DNS_NAME_MAX + 16];
        describe_where(u, where, sizeof(where));
        buf_appendf_best(&u->error, "no TLS handshake with %s within %d ms", where,
                         BOUNDS_UPSTREAM_CONNECT_TIMEOUT_MS);
    }
    fail(u);
}

/* ---- plaintext: net/stream ---- */

static void
on_stream_readable(void *arg)
{
    notify(arg, PROXY_UPSTREAM_READABLE);
}

static void
on_stream_event(void *arg, enum net_stream_event ev, int err)
{
    struct proxy_upstream *u = arg;
    if (ev == NET_STREAM_EOF && u->state == UP_OPEN) {
        u->state = UP_CLOSED;
        notify(u, PROXY_UPSTREAM_CLOSED);
        return;
    }
    char where[BOUNDS_DNS_NAME_MAX + 16];
    describe_where(u, where, sizeof(where));
    buf_appendf_best(&u->error, "connection to %s failed: %s", where,
                     err != 0 ? evutil_socket_error_to_string(err) : "socket error");
    fail(u);
}

static const struct net_stream_ops stream_ops = {
    .readable = on_stream_readable,
    .event = on_stream_event,
};

/* TCP is up on fd: wrap it (TLS: start the handshake within what is left
 * of the connect timeout). */
static void
on_connected(int fd, const union net_sockaddr *peer, const char *error, void *arg)
{
    struct proxy_upstream *u = arg;
    u->connecting = NULL;
    if (fd < 0) {
        buf_reset(&u->error);
        buf_appendf_best(&u->error, "%s", error);
        fail(u);
        return;
    }
    if (u->t->last_good != NULL) {
        *u->t->last_good = *peer; /* tried first next time (RFC 8305 4) */
    }
    struct event_base *base = u->w->base;
    if (u->t->ssl_ctx == NULL) {
        /* The request written before the connection was up leaves from the
         * loop in this turn; reading starts unless the owner paused. */
        u->s = net_stream_new(base, fd, &stream_ops, u, 0);
        u->state = UP_OPEN;
        if (u->paused) {
            net_stream_pause(u->s);
        }
        evbuffer_add_buffer(net_stream_output(u->s), u->pending);
        return;
    }
    int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
    u->bev = bufferevent_openssl_socket_new(base, fd, net_tls_new(u->t->ssl_ctx, u->t->host),
                                            BUFFEREVENT_SSL_CONNECTING, opts);
    if (u->bev == NULL) {
        abort(); /* allocation only */
    }
    u->state = UP_HANDSHAKING;
    bufferevent_setcb(u->bev, on_read, NULL, on_event, u);
    bufferevent_enable(u->bev, EV_WRITE);
    uint64_t now = clock_mono_ms();
    uint64_t left = u->deadline_ms > now ? u->deadline_ms - now : 0;
    struct timeval tv = clock_timeval_from_ms(left);
    event_add(u->connect_timer, &tv);
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
    buf_init(&u->error, BOUNDS_UPSTREAM_ERROR_MAX);
    u->pending = evbuffer_new();
    u->empty_in = evbuffer_new();
    u->connect_timer = evtimer_new(w->base, on_connect_timeout, u);
    if (u->pending == NULL || u->empty_in == NULL || u->connect_timer == NULL) {
        abort(); /* allocation only */
    }
    u->state = UP_CONNECTING;
    u->deadline_ms = clock_mono_ms() + BOUNDS_UPSTREAM_CONNECT_TIMEOUT_MS;
    const struct net_connect_opts o = {
        .host = t->host,
        .port = t->port,
        .timeout_ms = BOUNDS_UPSTREAM_CONNECT_TIMEOUT_MS,
        .keepalive = t->keepalive,
        .prefer = t->last_good != NULL && t->last_good->sa.sa_family != 0 ? t->last_good : NULL,
    };
    u->connecting = net_connect_start(w->base, t->resolver, &o, on_connected, u);
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
    net_connect_cancel(u->connecting); /* every attempt's socket, the lookup */
    u->connecting = NULL;
    if (u->bev != NULL) {
        bufferevent_free(u->bev); /* closes the socket; no callback after this */
        u->bev = NULL;
    }
    net_stream_free(u->s); /* the same */
    u->s = NULL;
    event_del(u->connect_timer);
    worker_defer(u->w, free_upstream, u);
}

void
proxy_upstream_write_buffer(struct proxy_upstream *u, struct evbuffer *buf)
{
    if (u->state == UP_OPEN && u->s != NULL) {
        evbuffer_add_buffer(net_stream_output(u->s), buf); /* sent from the loop, this turn */
    } else if (u->state == UP_OPEN) {
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
    if (u->s != NULL) {
        return net_stream_input(u->s);
    }
    return u->bev != NULL ? bufferevent_get_input(u->bev) : u->empty_in;
}

bool
proxy_upstream_is_flushed(const struct proxy_upstream *u)
{
    if (u->state != UP_OPEN || evbuffer_get_length(u->pending) > 0) {
        return false;
    }
    struct evbuffer *out = u->s != NULL ? net_stream_output(u->s) : bufferevent_get_output(u->bev);
    return evbuffer_get_length(out) == 0;
}

void
proxy_upstream_pause(struct proxy_upstream *u)
{
    u->paused = true;
    if (u->s != NULL) {
        net_stream_pause(u->s);
    } else if (u->bev != NULL && u->state == UP_OPEN) {
        bufferevent_disable(u->bev, EV_READ);
    }
}

void
proxy_upstream_resume(struct proxy_upstream *u)
{
    u->paused = false;
    if (u->s != NULL && u->state == UP_OPEN) {
        net_stream_resume(u->s);
    } else if (u->bev != NULL && u->state == UP_OPEN) {
        bufferevent_enable(u->bev, EV_READ);
    }
}

bool
proxy_upstream_is_quiet(const struct proxy_upstream *u)
{
    if (u->state != UP_OPEN) {
        return false;
    }
    struct evbuffer *in = u->s != NULL ? net_stream_input(u->s) : bufferevent_get_input(u->bev);
    if (evbuffer_get_length(in) > 0) {
        return false;
    }
    if (u->t->ssl_ctx != NULL) {
        SSL *ssl = bufferevent_openssl_get_ssl(u->bev);
        if (ssl != NULL && SSL_pending(ssl) > 0) {
            return false;
        }
    }
    /* Bytes (or a FIN) the kernel holds but the loop has not read yet:
     * for TLS maybe only a session ticket, but a spare connection is
     * cheaper than a response read as another request's. */
    char byte;
    int fd = u->s != NULL ? net_stream_fd(u->s) : (int)bufferevent_getfd(u->bev);
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

const char *
proxy_upstream_error(const struct proxy_upstream *u)
{
    return buf_cstr(&u->error);
}
