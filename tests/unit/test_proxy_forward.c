/* proxy/forward, proxy/pool and proxy/upstream on one event loop: the HTTP
 * harness plays the client, a scripted loopback upstream on the same loop
 * plays faults a real MCP server cannot produce on demand (a kept-alive
 * connection that dies as it is reused, a head that never comes, a body
 * cut short, a 1xx before the answer). The streaming, redirect and TLS
 * behaviour against real peers is in tests/e2e/proxy.test.mjs. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/scan.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/router.h"
#include "http_harness.h"
#include "proxy/forward.h"
#include "proxy/headers.h"
#include "proxy/pool.h"
#include "worker.h"

/* ---- a scripted upstream on the harness loop ---- */

#define UP_MAX 16
#define UP_CLOSE NULL                 /* close the connection without an answer */
static const char UP_HANG[] = "hang"; /* never answer */

struct up;

struct up_conn {
    struct up *up;
    struct bufferevent *bev;
    struct buf in;
    bool closed;
};

struct up {
    struct evconnlistener *lis;
    unsigned port;
    unsigned accepted;
    unsigned requests;          /* complete requests received */
    unsigned peer_closed;       /* connections the proxy closed */
    const char *script[UP_MAX]; /* answer to request i (0-based) */
    size_t script_len;
    char last_head[4096];
    struct up_conn *conns[UP_MAX];
};

static void
up_conn_close(struct up_conn *c)
{
    if (!c->closed) {
        c->closed = true;
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
}

/* One complete request at the front of in: its length, or 0. */
static size_t
request_len(const struct buf *in)
{
    const char *end = in->ptr != NULL ? strstr(in->ptr, "\r\n\r\n") : NULL;
    if (end == NULL) {
        return 0;
    }
    size_t head = (size_t)(end - in->ptr) + 4;
    size_t body = 0;
    const char *cl = strcasestr(in->ptr, "\r\nContent-Length:");
    if (cl != NULL && cl < end) {
        struct scan sc = scan_init(slice_make(cl + 17, (size_t)(end - cl) - 17));
        scan_ows(&sc);
        uint64_t n = 0;
        assert_true(scan_u64(&sc, 1 << 20, &n));
        body = (size_t)n;
    }
    return in->len >= head + body ? head + body : 0;
}

static void
up_on_read(struct bufferevent *bev, void *arg)
{
    struct up_conn *c = arg;
    struct evbuffer *input = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(input);
    char *tmp = xmalloc(n + 1);
    evbuffer_remove(input, tmp, n);
    assert_int_equal(buf_append(&c->in, tmp, n), 0);
    xfree(tmp);
    size_t len;
    while (!c->closed && (len = request_len(&c->in)) > 0) {
        struct up *u = c->up;
        const char *end = strstr(c->in.ptr, "\r\n\r\n");
        size_t hl = (size_t)(end - c->in.ptr);
        snprintf(u->last_head, sizeof(u->last_head), "%.*s", (int)hl, c->in.ptr);
        memmove(c->in.ptr, c->in.ptr + len, c->in.len - len);
        c->in.len -= len;
        c->in.ptr[c->in.len] = '\0';
        unsigned i = u->requests++;
        const char *answer = i < u->script_len ? u->script[i] : UP_CLOSE;
        if (answer == UP_CLOSE) {
            up_conn_close(c);
        } else if (answer != UP_HANG) {
            bufferevent_write(c->bev, answer, strlen(answer));
        }
    }
}

static void
up_on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct up_conn *c = arg;
    if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) != 0) {
        c->up->peer_closed++;
        up_conn_close(c);
    }
}

static void
up_on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int len,
             void *arg)
{
    (void)sa;
    (void)len;
    struct up *u = arg;
    assert_true(u->accepted < UP_MAX);
    struct up_conn *c = xcalloc(1, sizeof(*c));
    c->up = u;
    buf_init(&c->in, 1 << 20);
    c->bev = bufferevent_socket_new(evconnlistener_get_base(lis), fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev, up_on_read, NULL, up_on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    u->conns[u->accepted++] = c;
}

static void
up_start(struct up *u, struct event_base *base)
{
    memset(u, 0, sizeof(*u));
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    u->lis =
        evconnlistener_new_bind(base, up_on_accept, u, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                16, (struct sockaddr *)&sin, sizeof(sin));
    assert_non_null(u->lis);
    struct sockaddr_in bound;
    socklen_t blen = sizeof(bound);
    getsockname(evconnlistener_get_fd(u->lis), (struct sockaddr *)&bound, &blen);
    u->port = ntohs(bound.sin_port);
}

static void
up_stop(struct up *u)
{
    for (unsigned i = 0; i < u->accepted; i++) {
        up_conn_close(u->conns[i]);
        buf_cleanup(&u->conns[i]->in);
        xfree(u->conns[i]);
    }
    if (u->lis != NULL) {
        evconnlistener_free(u->lis);
    }
    memset(u, 0, sizeof(*u));
}

/* ---- the proxy side ---- */

static struct harness H;
static struct http_router *router;
static struct up UP;
static char origin[64];
static uint64_t header_timeout_ms;
/* Set by a setup before start(): the upstream's host name and the hosts
 * file that names it (NULL: 127.0.0.1, the system files). */
static const char *origin_host;
static const char *hosts_file;
static char hosts_path[32];

static void
h_forward(struct http_request *req, void *arg)
{
    (void)arg;
    static const char *const groups[] = {"g1", "g2"};
    const struct proxy_headers_identity id = {
        .sub = "alice",
        .email = "a@example.com",
        .groups = groups,
        .group_count = 2,
        .client_ip = http_request_client_ip(req),
    };
    const struct proxy_forward_opts opts = {
        .header_timeout_ms = header_timeout_ms,
        .rate_limit_enabled = true,
        .max_round_trips = BOUNDS_UPSTREAM_HOPS_MAX,
    };
    proxy_forward_start(req, proxy_pool_of_worker(H.w), &id, &opts);
}

/* The harness, the scripted upstream on its loop, and a pool aimed at it
 * (or at port, when not 0: a port nobody listens on). */
static void
start(uint64_t timeout_ms, unsigned port)
{
    header_timeout_ms = timeout_ms;
    router = http_router_new();
    const struct http_route_opts ro = {.body_max = BOUNDS_MCP_BODY_MAX};
    http_router_add_prefix(router, HTTP_METHODS_ANY, "/mcp", h_forward, NULL, &ro);
    harness_init(&H, router, NULL);
    up_start(&UP, H.w->base);
    snprintf(origin, sizeof(origin), "http://%s:%u",
             origin_host != NULL ? origin_host : "127.0.0.1", port != 0 ? port : UP.port);
    const struct proxy_pool_opts po = {
        .upstream_origin = origin,
        .mount = "/mcp",
        .proxy_base_url = "https://auth.example.com",
        .dns = {.hosts_file = hosts_file},
        /* idle_s is found again on the upstream socket */
        .keepalive = {.idle_s = 77, .interval_s = 5, .count = 3},
    };
    proxy_pool_attach_worker(H.w, &po);
}

static void
stop(void)
{
    worker_slots_close(H.w);
    up_stop(&UP);
    harness_cleanup(&H);
    http_router_free(router);
}

/* ---- fixtures: each test gets a fresh loop, upstream and pool, and
 * teardown frees them even when an assertion fails. A test that runs
 * over several cases takes its case as the cmocka prestate. ---- */

static int
setup(void **state)
{
    (void)state;
    start(5000, 0);
    return 0;
}

static int
setup_header_timeout(void **state)
{
    (void)state;
    start(200, 0);
    return 0;
}

static int
setup_long_timeout(void **state)
{
    (void)state;
    start(30000, 0);
    return 0;
}

/* The pool aims at a port that was free a moment ago. */
static int
setup_refused_port(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t len = sizeof(sin);
    getsockname(s, (struct sockaddr *)&sin, &len);
    close(s);
    start(5000, ntohs(sin.sin_port));
    return 0;
}

/* "dual.test" is ::1 then 127.0.0.1 (hosts-file order, as a dual-stack
 * /etc/hosts lists localhost); the upstream listens on 127.0.0.1 only. */
static int
setup_dual_stack(void **state)
{
    (void)state;
    snprintf(hosts_path, sizeof(hosts_path), "/tmp/fwd-hosts-XXXXXX");
    int fd = mkstemp(hosts_path);
    assert_true(fd >= 0);
    static const char text[] = "::1 dual.test\n127.0.0.1 dual.test\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    origin_host = "dual.test";
    hosts_file = hosts_path;
    start(5000, 0);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    stop();
    return 0;
}

static int
teardown_dual_stack(void **state)
{
    (void)state;
    stop();
    origin_host = NULL;
    hosts_file = NULL;
    unlink(hosts_path);
    return 0;
}

/* Sends raw on a new client connection and waits for one response (or
 * EOF). Returns the parsed response; *out_eof says whether the proxy
 * closed the connection. */
static struct harness_response
exchange(const char *raw, uint64_t ms, bool *out_eof)
{
    int fd = harness_connect(&H);
    harness_send_str(&H, fd, raw);
    struct buf out;
    buf_init(&out, 1 << 20);
    bool eof = harness_wait_responses(&H, fd, &out, 1, ms);
    struct harness_response r = {0};
    if (out.len > 0) {
        (void)harness_parse(out.ptr, out.len, eof, false, &r);
    }
    if (out_eof != NULL) {
        *out_eof = eof;
    }
    close(fd);
    harness_pump(&H, -1, NULL, 20);
    buf_cleanup(&out);
    return r;
}

static const char OK_KEEP[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              "Content-Length: 11\r\n\r\n{\"ok\":true}";

/* ---- tests ---- */

static void
test_keep_alive_reuse(void **state)
{
    (void)state;
    UP.script[0] = OK_KEEP;
    UP.script[1] = OK_KEEP;
    UP.script_len = 2;
    for (int i = 0; i < 2; i++) {
        struct harness_response r =
            exchange("GET /mcp/x?a=1 HTTP/1.1\r\nHost: p\r\n\r\n", 2000, NULL);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "{\"ok\":true}");
        harness_response_free(&r);
    }
    assert_int_equal(UP.requests, 2);
    assert_int_equal(UP.accepted, 1); /* the second request reused the first connection */
    assert_int_equal(proxy_pool_idle_count(proxy_pool_of_worker(H.w)), 1);
    /* TCP_KEEPALIVE_* reached the upstream socket (net/connect applies them). */
    bool keepalive = false;
    for (int fd = 3; fd < 1024 && !keepalive; fd++) {
        int v = 0;
        socklen_t vlen = sizeof(v);
        keepalive = getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &vlen) == 0 && v == 77;
    }
    assert_true(keepalive);
    /* What the upstream was sent. */
    assert_non_null(strstr(UP.last_head, "GET /mcp/x?a=1 HTTP/1.1\r\nHost: 127.0.0.1:"));
    assert_non_null(strstr(UP.last_head, "\r\nX-User-Sub: alice\r\n"));
    assert_non_null(strstr(UP.last_head, "\r\nX-User-Groups: g1,g2\r\n"));
    assert_null(strstr(UP.last_head, "Content-Length")); /* a GET without a body */
}

/* Not reused: Connection: close, a short Keep-Alive hint, a close-delimited
 * body. The prestate is the upstream's answer. */
static const char *not_reused_answers[] = {
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok",
};

static void
test_not_reused(void **state)
{
    const char *answer = *(const char **)*state;
    UP.script[0] = answer;
    UP.script[1] = answer;
    UP.script_len = 2;
    for (int i = 0; i < 2; i++) {
        struct harness_response r = exchange("GET /mcp HTTP/1.1\r\nHost: p\r\n\r\n", 2000, NULL);
        assert_int_equal(r.status, 200);
        harness_response_free(&r);
    }
    assert_int_equal(UP.accepted, 2);
    assert_int_equal(proxy_pool_idle_count(proxy_pool_of_worker(H.w)), 0);
}

/* A kept-alive connection that dies as it is reused: an idempotent
 * request is sent again on a new connection, a POST never is. */
static void
test_stale_connection(void **state)
{
    (void)state;
    UP.script[0] = OK_KEEP;
    UP.script[1] = UP_CLOSE; /* the reused connection closes on the next request */
    UP.script[2] = OK_KEEP;
    UP.script_len = 3;
    struct harness_response r = exchange("GET /mcp HTTP/1.1\r\nHost: p\r\n\r\n", 2000, NULL);
    assert_int_equal(r.status, 200);
    harness_response_free(&r);
    r = exchange("DELETE /mcp HTTP/1.1\r\nHost: p\r\n\r\n", 2000, NULL);
    assert_int_equal(r.status, 200);
    harness_response_free(&r);
    assert_int_equal(UP.requests, 3);
    assert_int_equal(UP.accepted, 2);
}

static void
test_stale_connection_post(void **state)
{
    (void)state;
    UP.script[0] = OK_KEEP;
    UP.script[1] = UP_CLOSE;
    UP.script[2] = OK_KEEP;
    UP.script_len = 3;
    struct harness_response r = exchange("GET /mcp HTTP/1.1\r\nHost: p\r\n\r\n", 2000, NULL);
    harness_response_free(&r);
    r = exchange("POST /mcp HTTP/1.1\r\nHost: p\r\nContent-Length: 2\r\n\r\n{}", 2000, NULL);
    assert_int_equal(r.status, 502);
    assert_string_equal(
        r.body, "{\"error\":\"bad_gateway\",\"error_description\":\"upstream request failed\"}");
    assert_string_equal(harness_header(&r, "Content-Type"), "application/json");
    harness_response_free(&r);
    assert_int_equal(UP.requests, 2); /* the POST reached the upstream once */
}

/* The pool's header timeout is 200 ms (setup_header_timeout). */
static void
test_header_timeout(void **state)
{
    (void)state;
    UP.script[0] = UP_HANG;
    UP.script_len = 1;
    uint64_t t0 = clock_mono_ms();
    struct harness_response r = exchange("GET /mcp HTTP/1.1\r\nHost: p\r\n\r\n", 3000, NULL);
    uint64_t took = clock_mono_ms() - t0;
    assert_int_equal(r.status, 504);
    assert_string_equal(
        r.body,
        "{\"error\":\"gateway_timeout\",\"error_description\":\"upstream did not send response "
        "headers in time\"}");
    assert_true(took >= 180 && took < 2000);
    harness_response_free(&r);
    harness_pump(&H, -1, NULL, 50);
    assert_int_equal(UP.peer_closed, 1); /* the waiting upstream request was closed */
}

/* The pool aims at a port nobody listens on (setup_refused_port). */
static void
test_connect_refused(void **state)
{
    (void)state;
    struct harness_response r =
        exchange("POST /mcp HTTP/1.1\r\nHost: p\r\nContent-Length: 2\r\n\r\n{}", 3000, NULL);
    assert_int_equal(r.status, 502);
    assert_string_equal(
        r.body, "{\"error\":\"bad_gateway\",\"error_description\":\"upstream request failed\"}");
    harness_response_free(&r);
}

/* An upstream that stops mid-body: the client never sees a clean end.
 * The prestate is the upstream's answer. */
static const char *truncated_answers[] = {
    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n",
};

static void
test_truncated(void **state)
{
    /* The answer, then the connection closes on the "next request" slot:
     * the scripted upstream closes when it reads nothing more, so end
     * it by hand below. */
    UP.script[0] = *(const char **)*state;
    UP.script_len = 1;
    int fd = harness_connect(&H);
    harness_send_str(&H, fd, "GET /mcp HTTP/1.1\r\nHost: p\r\n\r\n");
    struct buf out;
    buf_init(&out, 1 << 16);
    harness_pump(&H, fd, &out, 100);
    up_conn_close(UP.conns[0]);
    bool eof = harness_pump(&H, fd, &out, 200);
    assert_true(eof);
    struct harness_response r;
    (void)harness_parse(out.ptr, out.len, true, false, &r);
    assert_int_equal(r.status, 200);
    assert_false(r.complete);
    harness_response_free(&r);
    buf_cleanup(&out);
    close(fd);
}

/* 1xx heads are dropped; only the final answer reaches the client. */
static void
test_interim(void **state)
{
    (void)state;
    UP.script[0] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
                   "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    UP.script_len = 1;
    struct harness_response r =
        exchange("POST /mcp HTTP/1.1\r\nHost: p\r\nContent-Length: 2\r\n\r\n{}", 2000, NULL);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "ok");
    assert_null(strstr(r.head, "Link:"));
    harness_response_free(&r);
    assert_non_null(strstr(UP.last_head, "\r\nContent-Length: 2"));
}

/* Redirects on the same origin: followed, body replayed, 10 round trips. */
static const char redirect_307[] =
    "HTTP/1.1 307 Temporary Redirect\r\nLocation: /mcp/next\r\nContent-Length: 0\r\n\r\n";

static void
test_redirects(void **state)
{
    (void)state;
    UP.script[0] = redirect_307;
    UP.script[1] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone";
    UP.script_len = 2;
    struct harness_response r =
        exchange("POST /mcp HTTP/1.1\r\nHost: p\r\nContent-Length: 5\r\n\r\nhello", 2000, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "done");
    harness_response_free(&r);
    assert_int_equal(UP.requests, 2);
    assert_non_null(strstr(UP.last_head, "POST /mcp/next HTTP/1.1\r\n"));
    assert_non_null(strstr(UP.last_head, "\r\nContent-Length: 5"));
}

static void
test_redirects_capped(void **state)
{
    (void)state;
    for (size_t i = 0; i < UP_MAX; i++) {
        UP.script[i] = redirect_307;
    }
    UP.script_len = UP_MAX;
    struct harness_response r = exchange("GET /mcp HTTP/1.1\r\nHost: p\r\n\r\n", 3000, NULL);
    assert_int_equal(r.status, 502);
    assert_string_equal(
        r.body,
        "{\"error\":\"bad_gateway\",\"error_description\":\"too many upstream redirects\"}");
    assert_string_equal(harness_header(&r, "Location"), "");
    harness_response_free(&r);
    assert_int_equal(UP.requests, BOUNDS_UPSTREAM_HOPS_MAX);
}

/* The client leaves before the first response byte: the upstream
 * connection is closed at once (the header timeout, 30 s, never fires). */
static void
test_client_gone(void **state)
{
    (void)state;
    UP.script[0] = UP_HANG;
    UP.script_len = 1;
    int fd = harness_connect(&H);
    harness_send_str(&H, fd, "POST /mcp HTTP/1.1\r\nHost: p\r\nContent-Length: 2\r\n\r\n{}");
    harness_pump(&H, fd, NULL, 100);
    assert_int_equal(UP.requests, 1);
    assert_int_equal(UP.peer_closed, 0);
    close(fd);
    harness_pump(&H, -1, NULL, 100);
    assert_int_equal(UP.peer_closed, 1);
    assert_int_equal(proxy_pool_idle_count(proxy_pool_of_worker(H.w)), 0);
}

/* Hop-by-hop and X-RateLimit-* fields stay behind; ours win over theirs. */
static void
test_response_headers(void **state)
{
    (void)state;
    UP.script[0] =
        "HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: s\r\nX-RateLimit-Limit: 5\r\n"
        "X-Frame-Options: SAMEORIGIN\r\nX-Request-Id: theirs\r\nMcp-Session-Id: abc\r\n"
        "Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\ndata:\r\n0\r\n\r\n";
    UP.script_len = 1;
    struct harness_response r = exchange("GET /mcp HTTP/1.1\r\nHost: p\r\n\r\n", 2000, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "data:");
    assert_string_equal(harness_header(&r, "Mcp-Session-Id"), "abc");
    assert_string_equal(harness_header(&r, "Content-Type"), "text/event-stream");
    assert_int_equal(harness_header_count(&r, "X-Secret"), 0);
    assert_int_equal(harness_header_count(&r, "X-RateLimit-Limit"), 0);
    assert_int_equal(harness_header_count(&r, "X-Frame-Options"), 1);
    assert_string_equal(harness_header(&r, "X-Frame-Options"), "DENY");
    assert_int_equal(harness_header_count(&r, "X-Request-Id"), 1);
    assert_string_not_equal(harness_header(&r, "X-Request-Id"), "theirs");
    harness_response_free(&r);
}

/* HEAD: the announced length is relayed, no body; with a chunked
 * upstream, neither a length nor chunked framing. The connection is kept. */
static void
test_head(void **state)
{
    (void)state;
    UP.script[0] = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
    UP.script[1] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    UP.script_len = 2;
    for (int i = 0; i < 2; i++) {
        int fd = harness_connect(&H);
        harness_send_str(&H, fd, "HEAD /mcp HTTP/1.1\r\nHost: p\r\n\r\n");
        struct buf out;
        buf_init(&out, 1 << 16);
        harness_pump(&H, fd, &out, 100);
        struct harness_response r;
        assert_true(harness_parse(out.ptr, out.len, false, true, &r) == out.len);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, 0);
        if (i == 0) {
            assert_string_equal(harness_header(&r, "Content-Length"), "1234");
        } else {
            assert_int_equal(harness_header_count(&r, "Content-Length"), 0);
            assert_int_equal(harness_header_count(&r, "Transfer-Encoding"), 0);
        }
        harness_response_free(&r);
        buf_cleanup(&out);
        close(fd);
    }
    assert_int_equal(UP.accepted, 1);
    assert_non_null(strstr(UP.last_head, "HEAD /mcp HTTP/1.1"));
}

/* A dual-stack name whose first address refuses (setup_dual_stack: the
 * hosts file lists ::1 first; the upstream listens on 127.0.0.1 only).
 * Every request gets its answer; it used to be a 502 each time (first
 * address only). */
static void
test_dual_stack_upstream(void **state)
{
    (void)state;
    static const char close_answer[] =
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
    UP.script[0] = close_answer;
    UP.script[1] = close_answer;
    UP.script_len = 2;
    for (int i = 0; i < 2; i++) {
        struct harness_response r = exchange("GET /mcp HTTP/1.1\r\nHost: p\r\n\r\n", 3000, NULL);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "ok");
        harness_response_free(&r);
    }
    assert_int_equal(UP.accepted, 2);
    assert_non_null(strstr(UP.last_head, "\r\nHost: dual.test:"));
}

/* Bytes that arrive on an idle pooled connection after a bodiless
 * response (here: a whole smuggled response after a HEAD) must never be
 * read as the next request's answer. The bytes are written straight into
 * the upstream's socket and the pool is asked for a connection before the
 * loop has read them, so only the check at reuse can catch them. */
static void
test_late_bytes_not_reused(void **state)
{
    (void)state;
    UP.script[0] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n";
    UP.script_len = 1;
    int cfd = harness_connect(&H);
    harness_send_str(&H, cfd, "HEAD /mcp HTTP/1.1\r\nHost: p\r\n\r\n");
    struct buf out;
    buf_init(&out, 1 << 16);
    harness_pump(&H, cfd, &out, 100);
    assert_non_null(strstr(out.ptr, "HTTP/1.1 200"));
    buf_cleanup(&out);
    close(cfd);
    harness_pump(&H, -1, NULL, 20);
    assert_int_equal(proxy_pool_idle_count(proxy_pool_of_worker(H.w)), 1);
    static const char evil[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil";
    int ufd = (int)bufferevent_getfd(UP.conns[0]->bev);
    assert_int_equal(send(ufd, evil, sizeof(evil) - 1, 0), (ssize_t)(sizeof(evil) - 1));
    usleep(20000); /* loopback delivers at once; the loop does not run */
    bool reused = true;
    const char *reason = NULL;
    struct proxy_upstream *u =
        proxy_pool_acquire(proxy_pool_of_worker(H.w), false, NULL, NULL, &reused, &reason);
    assert_non_null(u);
    assert_false(reused);
    assert_int_equal(proxy_pool_idle_count(proxy_pool_of_worker(H.w)), 0);
    proxy_upstream_close(u);
    harness_pump(&H, -1, NULL, 50);
}

/* A 307/308 to the upstream's own origin but outside the mount is not
 * followed (it would reach a resource the route does not expose); it is
 * relayed as it is. Inside the mount it is followed. */
static void
test_redirect_outside_mount(void **state)
{
    (void)state;
    UP.script[0] = "HTTP/1.1 307 Temporary Redirect\r\nLocation: /__evil/requests\r\n"
                   "Content-Length: 0\r\n\r\n";
    UP.script[1] = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret";
    UP.script_len = 2;
    struct harness_response r = exchange("GET /mcp HTTP/1.1\r\nHost: p\r\n\r\n", 2000, NULL);
    assert_int_equal(r.status, 307);
    assert_string_equal(harness_header(&r, "Location"), "/__evil/requests");
    harness_response_free(&r);
    assert_int_equal(UP.requests, 1);
}

/* The same with a 308 and a body, for each Location outside the mount
 * (the prestate); "/other" is sent absolute, with the upstream's own
 * origin. */
static const char *outside_mount[] = {"/mcpx/a", "/", "/other", "/mcp/%2e%2e/admin"};

static void
test_redirect_outside_mount_308(void **state)
{
    const char **where = *state;
    char head[256];
    char loc[64];
    snprintf(loc, sizeof(loc), "%s%s", where == &outside_mount[2] ? origin : "", *where);
    snprintf(head, sizeof(head),
             "HTTP/1.1 308 Permanent Redirect\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n", loc);
    UP.script[0] = head;
    UP.script[1] = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret";
    UP.script_len = 2;
    struct harness_response r =
        exchange("POST /mcp HTTP/1.1\r\nHost: p\r\nContent-Length: 2\r\n\r\n{}", 2000, NULL);
    assert_int_equal(r.status, 308);
    harness_response_free(&r);
    assert_int_equal(UP.requests, 1);
}

#define FWD_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define FWD_CASE(f, c) cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, (void *)&(c))

int
main(void)
{
    const struct CMUnitTest tests[] = {
        FWD_TEST(test_keep_alive_reuse),
        FWD_CASE(test_not_reused, not_reused_answers[0]),
        FWD_CASE(test_not_reused, not_reused_answers[1]),
        FWD_TEST(test_stale_connection),
        FWD_TEST(test_stale_connection_post),
        cmocka_unit_test_setup_teardown(test_header_timeout, setup_header_timeout, teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused, setup_refused_port, teardown),
        FWD_CASE(test_truncated, truncated_answers[0]),
        FWD_CASE(test_truncated, truncated_answers[1]),
        FWD_CASE(test_truncated, truncated_answers[2]),
        FWD_TEST(test_interim),
        FWD_TEST(test_redirects),
        FWD_TEST(test_redirects_capped),
        cmocka_unit_test_setup_teardown(test_client_gone, setup_long_timeout, teardown),
        FWD_TEST(test_response_headers),
        FWD_TEST(test_head),
        cmocka_unit_test_setup_teardown(test_dual_stack_upstream, setup_dual_stack,
                                        teardown_dual_stack),
        FWD_TEST(test_late_bytes_not_reused),
        FWD_TEST(test_redirect_outside_mount),
        FWD_CASE(test_redirect_outside_mount_308, outside_mount[0]),
        FWD_CASE(test_redirect_outside_mount_308, outside_mount[1]),
        FWD_CASE(test_redirect_outside_mount_308, outside_mount[2]),
        FWD_CASE(test_redirect_outside_mount_308, outside_mount[3]),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
