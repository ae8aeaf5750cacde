/* Racing connection attempts over a host's addresses (see connect.h).
 *
 * States: a kick event runs the first step on the loop (so the callback
 * never runs inside net_connect_start); then, if the addresses are not
 * known, a lookup; then attempts. Each attempt is a non-blocking socket
 * with one event that fires when it becomes writable (connected or
 * failed) or when its own timeout passes. The stagger timer starts the
 * next attempt; the deadline timer ends everything. */
#include "net/connect.h"

#include <errno.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "net/resolve.h"

struct attempt {
    struct net_connect *c;
    int fd; /* -1: not running */
    struct event *ev;
    union net_sockaddr addr;
    int err; /* why it failed (ETIMEDOUT for our own timer); 0: did not */
};

struct net_connect {
    struct event_base *base;
    struct net_resolver *resolver;
    struct net_resolve *resolve;
    char host[BOUNDS_DNS_NAME_MAX + 1];
    char label[BOUNDS_DNS_NAME_MAX + 64];
    unsigned port;
    uint64_t deadline_ms; /* monotonic */
    bool has_keepalive;
    struct net_keepalive keepalive;
    bool has_prefer;
    union net_sockaddr prefer;
    struct net_addrs order;
    size_t next;   /* next address of order to try */
    size_t active; /* attempts running */
    struct attempt att[BOUNDS_DNS_ADDRS_MAX];
    struct event *kick;
    struct event *stagger;
    struct event *deadline;
    net_connect_fn cb;
    void *arg;
};

/* ---- ordering ---- */

void
net_connect_order(const struct net_addrs *list, const union net_sockaddr *prefer,
                  struct net_addrs *out)
{
    struct net_addrs in = {0};
    if (prefer != NULL) {
        for (size_t i = 0; i < list->count; i++) {
            if (net_addr_same_ip(&list->addr[i], prefer)) {
                (void)net_addrs_add(&in, &list->addr[i]);
            }
        }
    }
    for (size_t i = 0; i < list->count; i++) {
        (void)net_addrs_add(&in, &list->addr[i]);
    }
    memset(out, 0, sizeof(*out));
    if (in.count == 0) {
        return;
    }
    /* RFC 8305 4: first address family, then the other, alternating. */
    sa_family_t first = in.addr[0].sa.sa_family;
    size_t a = 0;
    size_t b = 0;
    while (out->count < in.count) {
        while (a < in.count && in.addr[a].sa.sa_family != first) {
            a++;
        }
        if (a < in.count) {
            out->addr[out->count++] = in.addr[a++];
        }
        while (b < in.count && in.addr[b].sa.sa_family == first) {
            b++;
        }
        if (b < in.count) {
            out->addr[out->count++] = in.addr[b++];
        }
    }
}

/* ---- ending ---- */

static const char *
short_reason(int err)
{
    switch (err) {
    case ECONNREFUSED:
        return "connection refused";
    case ETIMEDOUT:
        return "timed out";
    case ENETUNREACH:
        return "network unreachable";
    case EHOSTUNREACH:
        return "host unreachable";
    case EADDRNOTAVAIL:
        return "address not available";
    case EAFNOSUPPORT:
        return "address family not supported";
    default:
        return strerror(err);
    }
}

/* "::1 connection refused; 192.0.2.1 timed out", in the order the
 * addresses were tried (not the order they failed, which timers make
 * arbitrary), cut at its cap. */
static void
describe_failures(const struct net_connect *c, struct buf *out)
{
    for (size_t i = 0; i < c->next && i < BOUNDS_DNS_ADDRS_MAX; i++) {
        const struct attempt *a = &c->att[i];
        if (a->err == 0) {
            continue;
        }
        union net_sockaddr addr = a->addr;
        char text[NET_ADDR_TEXT_MAX];
        net_addr_set_port(&addr, 0);
        net_addr_format(&addr, text);
        buf_appendf_best(out, "%s%s %s", out->len > 0 ? "; " : "", text, short_reason(a->err));
    }
}

static void
stop_attempt(struct attempt *a)
{
    if (a->fd < 0) {
        return;
    }
    event_free(a->ev);
    a->ev = NULL;
    close(a->fd);
    a->fd = -1;
    a->c->active--;
}

static void
release(struct net_connect *c)
{
    net_resolve_cancel(c->resolve);
    c->resolve = NULL;
    for (size_t i = 0; i < BOUNDS_DNS_ADDRS_MAX; i++) {
        stop_attempt(&c->att[i]);
    }
    event_free(c->kick);
    event_free(c->stagger);
    event_free(c->deadline);
    xfree(c);
}

/* Frees c, then tells the owner. */
static void
finish(struct net_connect *c, int fd, const union net_sockaddr *peer, const char *error)
{
    net_connect_fn cb = c->cb;
    void *arg = c->arg;
    union net_sockaddr p = {0};
    if (peer != NULL) {
        p = *peer;
    }
    char msg[BOUNDS_NET_ERROR_MAX + 2 * BOUNDS_DNS_NAME_MAX + 128];
    if (error != NULL) {
        snprintf(msg, sizeof(msg), "%s", error);
    }
    release(c);
    cb(fd, fd >= 0 ? &p : NULL, fd >= 0 ? NULL : msg, arg);
}

static void
fail_all(struct net_connect *c)
{
    struct buf errors;
    buf_init(&errors, BOUNDS_NET_ERROR_MAX - 1);
    describe_failures(c, &errors);
    char msg[sizeof(c->label) + BOUNDS_NET_ERROR_MAX + 32];
    snprintf(msg, sizeof(msg), "cannot connect to %s: %s", c->label,
             errors.len > 0 ? buf_cstr(&errors) : "no address to try");
    buf_cleanup(&errors);
    finish(c, -1, NULL, msg);
}

static void
win(struct net_connect *c, struct attempt *a)
{
    int fd = a->fd;
    union net_sockaddr peer = a->addr;
    event_free(a->ev);
    a->ev = NULL;
    a->fd = -1; /* kept: release() closes every other attempt */
    c->active--;
    (void)net_sockopt_nodelay(fd);
    if (c->has_keepalive) {
        /* Best effort: a refused option leaves the kernel's default. */
        (void)net_sockopt_keepalive(fd, &c->keepalive);
    }
    finish(c, fd, &peer, NULL);
}

/* ---- attempts ---- */

static void start_next(struct net_connect *c);

static uint64_t
remaining_ms(const struct net_connect *c)
{
    uint64_t now = clock_mono_ms();
    return c->deadline_ms > now ? c->deadline_ms - now : 0;
}

static void
after_failure(struct net_connect *c)
{
    if (c->next < c->order.count) {
        start_next(c); /* RFC 8305 5: the next attempt starts at once */
    } else if (c->active == 0) {
        fail_all(c);
    }
}

static void
on_attempt(evutil_socket_t fd, short what, void *arg)
{
    struct attempt *a = arg;
    struct net_connect *c = a->c;
    if ((what & EV_TIMEOUT) != 0) {
        a->err = ETIMEDOUT;
        stop_attempt(a);
        after_failure(c);
        return;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt((int)fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        err = errno;
    }
    if (err == 0) {
        win(c, a);
        return;
    }
    a->err = err;
    stop_attempt(a);
    after_failure(c);
}

/* Starts attempts until one is in progress or none is left; an attempt
 * that fails at once is noted and the next starts. */
static void
start_next(struct net_connect *c)
{
    while (c->next < c->order.count) {
        struct attempt *a = &c->att[c->next];
        a->addr = c->order.addr[c->next];
        c->next++;
        net_addr_set_port(&a->addr, c->port);
        int fd = socket(a->addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            a->err = errno;
            continue;
        }
        if (connect(fd, &a->addr.sa, net_addr_len(&a->addr)) != 0 && errno != EINPROGRESS) {
            a->err = errno;
            close(fd);
            continue;
        }
        a->fd = fd;
        a->ev = event_new(c->base, fd, EV_WRITE, on_attempt, a);
        if (a->ev == NULL) {
            abort(); /* allocation only */
        }
        c->active++;
        uint64_t ms = remaining_ms(c);
        if (ms > BOUNDS_NET_ATTEMPT_TIMEOUT_MS) {
            ms = BOUNDS_NET_ATTEMPT_TIMEOUT_MS;
        }
        struct timeval tv = clock_timeval_from_ms(ms);
        event_add(a->ev, &tv);
        if (c->next < c->order.count) {
            struct timeval st = clock_timeval_from_ms(BOUNDS_NET_CONNECT_STAGGER_MS);
            event_add(c->stagger, &st);
        } else {
            event_del(c->stagger);
        }
        return;
    }
    event_del(c->stagger);
    if (c->active == 0) {
        fail_all(c);
    }
}

static void
on_stagger(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_next(arg);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct net_connect *c = arg;
    if (c->resolve != NULL) {
        char msg[BOUNDS_DNS_NAME_MAX + 64];
        snprintf(msg, sizeof(msg), "cannot resolve %s: no answer in time", c->host);
        finish(c, -1, NULL, msg);
        return;
    }
    for (size_t i = 0; i < BOUNDS_DNS_ADDRS_MAX; i++) {
        if (c->att[i].fd >= 0) {
            c->att[i].err = ETIMEDOUT;
        }
    }
    c->next = c->order.count; /* no more attempts */
    for (size_t i = 0; i < BOUNDS_DNS_ADDRS_MAX; i++) {
        stop_attempt(&c->att[i]);
    }
    fail_all(c);
}

static void
begin(struct net_connect *c, const struct net_addrs *addrs)
{
    net_connect_order(addrs, c->has_prefer ? &c->prefer : NULL, &c->order);
    c->next = 0;
    start_next(c);
}

static void
on_resolved(enum net_resolve_result rc, const struct net_addrs *addrs, const char *error, void *arg)
{
    struct net_connect *c = arg;
    c->resolve = NULL;
    if (rc != NET_RESOLVE_OK) {
        char msg[BOUNDS_DNS_NAME_MAX + 96];
        snprintf(msg, sizeof(msg), "cannot resolve %s: %s", c->host, error);
        finish(c, -1, NULL, msg);
        return;
    }
    begin(c, addrs);
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct net_connect *c = arg;
    struct net_addrs known;
    if (net_resolver_peek(c->resolver, c->host, &known)) {
        begin(c, &known);
        return;
    }
    c->resolve = net_resolve_start(c->resolver, c->host, on_resolved, c);
}

/* ---- the API ---- */

struct net_connect *
net_connect_start(struct event_base *base, struct net_resolver *r,
                  const struct net_connect_opts *opts, net_connect_fn cb, void *arg)
{
    struct net_connect *c = xcalloc(1, sizeof(*c));
    c->base = base;
    c->resolver = r;
    c->cb = cb;
    c->arg = arg;
    c->port = opts->port;
    snprintf(c->host, sizeof(c->host), "%s", opts->host);
    bool v6 = strchr(c->host, ':') != NULL;
    if (opts->label != NULL) {
        snprintf(c->label, sizeof(c->label), "%s", opts->label);
    } else {
        snprintf(c->label, sizeof(c->label), "%s%s%s:%u", v6 ? "[" : "", c->host, v6 ? "]" : "",
                 c->port);
    }
    if (opts->keepalive != NULL) {
        c->has_keepalive = true;
        c->keepalive = *opts->keepalive;
    }
    if (opts->prefer != NULL) {
        c->has_prefer = true;
        c->prefer = *opts->prefer;
    }
    for (size_t i = 0; i < BOUNDS_DNS_ADDRS_MAX; i++) {
        c->att[i].c = c;
        c->att[i].fd = -1;
    }
    c->kick = event_new(base, -1, 0, on_kick, c);
    c->stagger = evtimer_new(base, on_stagger, c);
    c->deadline = evtimer_new(base, on_deadline, c);
    if (c->kick == NULL || c->stagger == NULL || c->deadline == NULL) {
        abort(); /* allocation only */
    }
    uint64_t ms = opts->timeout_ms > 0 ? opts->timeout_ms : BOUNDS_NET_ATTEMPT_TIMEOUT_MS;
    c->deadline_ms = clock_mono_ms() + ms;
    struct timeval tv = clock_timeval_from_ms(ms);
    event_add(c->deadline, &tv);
    event_active(c->kick, EV_TIMEOUT, 0);
    return c;
}

void
net_connect_cancel(struct net_connect *c)
{
    if (c != NULL) {
        release(c);
    }
}
