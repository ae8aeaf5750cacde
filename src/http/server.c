#include "http/server.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/ipaddr.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "http/client_ip.h"
#include "http/conn.h"
#include "http/ip_budget.h"
#include "http/limit_log.h"
#include "log.h"
#include "metrics.h"
#include "worker.h"

/* One node per live connection (the server's own list; the connection
 * only holds the node as an opaque handle). Idle connections are also on
 * the idle list, longest idle first. */
struct conn_node {
    struct conn_node *prev;
    struct conn_node *next;
    struct conn_node *idle_prev;
    struct conn_node *idle_next;
    bool idle;
    struct http_conn *conn;
};

struct http_server {
    struct worker *worker;
    struct http_server_opts opts;
    struct http_conn_owner owner; /* what its connections see of it */
    struct evconnlistener *listener;
    struct event *retry_ev; /* re-enables accept after EMFILE */
    uint16_t port;
    struct conn_node *conns;
    size_t conn_count;
    struct conn_node *idle_head; /* longest idle */
    struct conn_node *idle_tail;
    bool draining;
    bool freeing;
    void (*on_empty)(void *arg);
    void *on_empty_arg;
};

static const struct http_conn_owner_ops owner_ops;

struct http_server *
http_server_new(struct worker *w, const struct http_server_opts *opts)
{
    struct http_server *s = xcalloc(1, sizeof(*s));
    s->worker = w;
    s->opts = *opts;
    s->owner = (struct http_conn_owner){.ops = &owner_ops, .arg = s, .worker = w, .opts = &s->opts};
    return s;
}

static void
close_listener(struct http_server *s)
{
    if (s->listener != NULL) {
        evconnlistener_free(s->listener);
        s->listener = NULL;
    }
    if (s->retry_ev != NULL) {
        event_free(s->retry_ev);
        s->retry_ev = NULL;
    }
}

static void
free_server(void *arg)
{
    xfree(arg);
}

void
http_server_free(struct http_server *s)
{
    if (s == NULL) {
        return;
    }
    close_listener(s);
    s->freeing = true;
    http_server_abort_all(s);
    /* Connections unlink themselves now but are freed on the next loop
     * turn; the server goes after them. */
    worker_defer(s->worker, free_server, s);
}

/* "[::1]" -> "::1". */
static void
strip_brackets(const char *host, char *out, size_t cap)
{
    size_t len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    if (len >= cap) {
        len = cap - 1;
    }
    memcpy(out, host, len);
    out[len] = '\0';
}

static int
bind_one(int family, const struct sockaddr *sa, socklen_t len, bool reuse_port, bool dual_stack,
         int *out_errno)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *out_errno = errno;
        return -1;
    }
    int one = 1;
    int zero = 0;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        *out_errno = errno;
        close(fd);
        return -1;
    }
    if (dual_stack) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (bind(fd, sa, len) != 0 || listen(fd, SOMAXCONN) != 0) {
        *out_errno = errno;
        close(fd);
        return -1;
    }
    return fd;
}

int
http_server_bind(const char *host, uint16_t port, bool reuse_port, struct buf *err)
{
    char name[256];
    strip_brackets(host != NULL ? host : "", name, sizeof(name));
    int e = 0;
    if (name[0] == '\0') {
        /* The wildcard: one dual-stack IPv6 socket takes IPv4 too. */
        struct sockaddr_in6 a6 = {
            .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT};
        int fd = bind_one(AF_INET6, (struct sockaddr *)&a6, sizeof(a6), reuse_port, true, &e);
        if (fd >= 0) {
            return fd;
        }
        if (e == EAFNOSUPPORT) {
            struct sockaddr_in a4 = {.sin_family = AF_INET,
                                     .sin_port = htons(port),
                                     .sin_addr.s_addr = htonl(INADDR_ANY)};
            fd = bind_one(AF_INET, (struct sockaddr *)&a4, sizeof(a4), reuse_port, false, &e);
            if (fd >= 0) {
                return fd;
            }
        }
        buf_appendf_best(err, "bind :%u: %s", (unsigned)port, strerror(e));
        return -1;
    }
    char service[8];
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(name, service, &hints, &res);
    if (gai != 0) {
        buf_appendf_best(err, "resolve %s: %s", name, gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = bind_one(ai->ai_family, ai->ai_addr, ai->ai_addrlen, reuse_port, false, &e);
    }
    freeaddrinfo(res);
    if (fd < 0) {
        bool v6 = strchr(name, ':') != NULL;
        buf_appendf_best(err, "bind %s%s%s:%u: %s", v6 ? "[" : "", name, v6 ? "]" : "",
                         (unsigned)port, strerror(e));
    }
    return fd;
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
    (void)l;
    http_server_adopt(arg, fd, sa, (socklen_t)len);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct http_server *s = arg;
    if (s->listener != NULL && !s->draining) {
        evconnlistener_enable(s->listener);
    }
}

/* Stops accepting for BOUNDS_ACCEPT_PAUSE_MS: the pending connections wait
 * in the kernel's backlog instead of being accepted only to be closed. */
static void
pause_accepting(struct http_server *s, enum metrics_accept_paused why)
{
    metrics_inc_accept_paused(why);
    if (s->listener == NULL || s->retry_ev == NULL) {
        return; /* adopted by hand (tests): nothing to pause */
    }
    evconnlistener_disable(s->listener);
    struct timeval tv = clock_timeval_from_ms(BOUNDS_ACCEPT_PAUSE_MS);
    event_add(s->retry_ev, &tv);
}

/* accept() failed: out of descriptors (EMFILE/ENFILE) would spin the loop,
 * so pause accepting for a moment. */
static void
on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    struct http_server *s = arg;
    int e = EVUTIL_SOCKET_ERROR();
    if (http_limit_log_due(HTTP_LIMIT_LOG_ACCEPT_FAILED)) {
        struct log_line line;
        log_begin(&line, LOG_WARN, "accept_failed");
        log_str(&line, "error", strerror(e));
        log_str(&line, "action", "accepting paused for 100ms");
        log_end(&line);
    }
    pause_accepting(s, METRICS_ACCEPT_PAUSED_DESCRIPTORS);
}

int
http_server_listen_fd(struct http_server *s, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    s->listener = evconnlistener_new(s->worker->base, on_accept, s,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
    if (s->listener == NULL) {
        close(fd);
        return -1;
    }
    s->retry_ev = evtimer_new(s->worker->base, on_retry, s);
    evconnlistener_set_error_cb(s->listener, on_accept_error);
    return 0;
}

uint16_t
http_server_port(const struct http_server *s)
{
    return s->port;
}

/* The connection cap's key for a peer: family byte + address, IPv6 cut to
 * its /64 (as the rate limiter buckets it); empty for a trusted proxy (its
 * connections carry everyone) and for non-IP peers. */
static struct slice
conn_key(const struct http_server *s, const struct sockaddr *sa, socklen_t len, uint8_t out[1 + 16])
{
    struct ipaddr a = client_ip_peer_from_sockaddr(sa, len).addr;
    if (a.family == 0) {
        return SLICE_NULL;
    }
    for (size_t i = 0; i < s->opts.trusted_peer_count; i++) {
        if (ipcidr_contains(&s->opts.trusted_peers[i], &a)) {
            return SLICE_NULL;
        }
    }
    size_t n = 4;
    if (a.family == AF_INET6) {
        a = ipaddr_mask(a, 64);
        n = 8;
    }
    out[0] = a.family == AF_INET ? 4 : 6;
    memcpy(out + 1, a.bytes, n);
    return slice_make((const char *)out, 1 + n);
}

/* Closes the longest-idle connection of this server. False when none is. */
static bool
evict_idle(struct http_server *s)
{
    struct conn_node *n = s->idle_head;
    if (n == NULL) {
        return false;
    }
    metrics_inc(METRICS_CLIENT_CONNECTIONS_EVICTED);
    http_conn_abort(n->conn); /* idle: no request to abort; unlinks it */
    return true;
}

static void
log_refused(const char *msg, const struct http_ip_budget *b, uint64_t cap)
{
    struct log_line line;
    log_begin(&line, LOG_WARN, msg);
    log_uint(&line, "open", http_ip_budget_in_use(b));
    log_uint(&line, "cap", cap);
    log_end(&line);
}

/* Takes the new connection's place under the caps, closing an idle one
 * for it at the process cap. False: refused (counted, logged). */
static bool
admit(struct http_server *s, const struct sockaddr *peer, socklen_t peer_len,
      struct http_ip_budget_hold *hold)
{
    struct http_ip_budget *b = s->opts.conn_budget;
    uint8_t key_bytes[1 + 16];
    struct slice key = conn_key(s, peer, peer_len, key_bytes);
    enum http_ip_budget_rc rc = http_ip_budget_take(b, key, 1, hold);
    if (rc == HTTP_IP_BUDGET_OVER_TOTAL && evict_idle(s)) {
        rc = http_ip_budget_take(b, key, 1, hold);
    }
    switch (rc) {
    case HTTP_IP_BUDGET_OK:
        return true;
    case HTTP_IP_BUDGET_OVER_KEY:
        metrics_inc_conn_refused(METRICS_CONN_REFUSED_IP_LIMIT);
        if (http_limit_log_due(HTTP_LIMIT_LOG_IP_LIMIT)) {
            log_refused("client_connection_ip_limit", b, http_ip_budget_key_cap(b));
        }
        return false;
    default:
        metrics_inc_conn_refused(METRICS_CONN_REFUSED_PROCESS_LIMIT);
        if (http_limit_log_due(HTTP_LIMIT_LOG_PROCESS_LIMIT)) {
            log_refused("client_connection_limit", b, http_ip_budget_total_cap(b));
        }
        pause_accepting(s, METRICS_ACCEPT_PAUSED_PROCESS_LIMIT);
        return false;
    }
}

void
http_server_adopt(struct http_server *s, int fd, const struct sockaddr *peer, socklen_t peer_len)
{
    if (s->freeing) {
        close(fd);
        return;
    }
    struct http_ip_budget_hold hold = {0};
    if (s->opts.conn_budget != NULL && !admit(s, peer, peer_len, &hold)) {
        close(fd);
        return;
    }
    (void)http_conn_new(&s->owner, fd, peer, peer_len, &hold);
}

static void
run_on_empty(void *arg)
{
    struct http_server *s = arg;
    if (s->conn_count == 0 && s->on_empty != NULL) {
        void (*fn)(void *) = s->on_empty;
        s->on_empty = NULL;
        fn(s->on_empty_arg);
    }
}

void
http_server_drain(struct http_server *s, void (*on_empty)(void *arg), void *arg)
{
    s->draining = true;
    s->on_empty = on_empty;
    s->on_empty_arg = arg;
    close_listener(s);
    for (struct conn_node *n = s->conns, *next; n != NULL; n = next) {
        next = n->next; /* draining may close (unlink) this very connection */
        http_conn_drain(n->conn);
    }
    if (s->conn_count == 0) {
        worker_defer(s->worker, run_on_empty, s);
    }
}

void
http_server_abort_all(struct http_server *s)
{
    while (s->conns != NULL) {
        http_conn_abort(s->conns->conn); /* unlinks it */
    }
}

bool
http_server_is_draining(const struct http_server *s)
{
    return s->draining;
}

size_t
http_server_conn_count(const struct http_server *s)
{
    return s->conn_count;
}

/* ---- the owner its connections report to (struct http_conn_owner) ---- */

static void *
owner_opened(void *arg, struct http_conn *c)
{
    struct http_server *s = arg;
    struct conn_node *n = xcalloc(1, sizeof(*n));
    n->conn = c;
    n->prev = NULL;
    n->next = s->conns;
    if (s->conns != NULL) {
        s->conns->prev = n;
    }
    s->conns = n;
    s->conn_count++;
    return n;
}

/* Idle ones are kept in order, longest idle first, for eviction at the
 * cap. */
static void
owner_idle(void *arg, void *handle, bool idle)
{
    struct http_server *s = arg;
    struct conn_node *n = handle;
    if (n->idle) {
        if (n->idle_prev != NULL) {
            n->idle_prev->idle_next = n->idle_next;
        } else {
            s->idle_head = n->idle_next;
        }
        if (n->idle_next != NULL) {
            n->idle_next->idle_prev = n->idle_prev;
        } else {
            s->idle_tail = n->idle_prev;
        }
        n->idle_prev = NULL;
        n->idle_next = NULL;
        n->idle = false;
    }
    if (idle) {
        /* To the tail: the head stays the connection idle the longest. */
        n->idle = true;
        n->idle_prev = s->idle_tail;
        if (s->idle_tail != NULL) {
            s->idle_tail->idle_next = n;
        } else {
            s->idle_head = n;
        }
        s->idle_tail = n;
    }
}

static void
owner_closed(void *arg, void *handle)
{
    struct http_server *s = arg;
    struct conn_node *n = handle;
    owner_idle(s, n, false);
    if (n->prev != NULL) {
        n->prev->next = n->next;
    } else {
        s->conns = n->next;
    }
    if (n->next != NULL) {
        n->next->prev = n->prev;
    }
    xfree(n);
    s->conn_count--;
    if (s->conn_count == 0 && s->draining && s->on_empty != NULL && !s->freeing) {
        worker_defer(s->worker, run_on_empty, s);
    }
}

static bool
owner_is_draining(const void *arg)
{
    return http_server_is_draining(arg);
}

static const struct http_conn_owner_ops owner_ops = {
    .opened = owner_opened,
    .closed = owner_closed,
    .idle = owner_idle,
    .is_draining = owner_is_draining,
};
