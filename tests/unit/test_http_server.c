/* Listening sockets: IPv4, IPv6 and the wildcard, SO_REUSEPORT sharing,
 * a clear message when the port is taken, and a request served over real
 * loopback TCP (peer address, accept path). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/router.h"
#include "http/server.h"
#include "http_harness.h"

static uint16_t
port_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    return ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                   : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void
test_bind_families(void **state)
{
    (void)state;
    struct buf err;
    buf_init(&err, 512);
    int v4 = http_server_bind("127.0.0.1", 0, false, &err);
    assert_true(v4 >= 0);
    assert_true(port_of(v4) > 0);
    int v6 = http_server_bind("[::1]", 0, false, &err);
    int v6b = http_server_bind("::1", 0, false, &err);
    int any = http_server_bind("", 0, false, &err);
    assert_true(any >= 0);
    if (v6 >= 0) {
        close(v6);
    }
    if (v6b >= 0) {
        close(v6b);
    }
    close(any);
    close(v4);
    assert_int_equal(err.len, 0);
    buf_cleanup(&err);
}

static void
test_bind_conflict_and_reuseport(void **state)
{
    (void)state;
    struct buf err;
    buf_init(&err, 512);
    int a = http_server_bind("127.0.0.1", 0, true, &err);
    assert_true(a >= 0);
    uint16_t port = port_of(a);
    /* Workers share a port through SO_REUSEPORT ... */
    int b = http_server_bind("127.0.0.1", port, true, &err);
    assert_true(b >= 0);
    close(b);
    /* ... but a listener without it cannot take the port. */
    int c = http_server_bind("127.0.0.1", port, false, &err);
    assert_int_equal(c, -1);
    char want[64];
    snprintf(want, sizeof(want), "bind 127.0.0.1:%u: ", (unsigned)port);
    assert_non_null(strstr(buf_cstr(&err), want));
    assert_non_null(strstr(buf_cstr(&err), strerror(EADDRINUSE)));
    buf_reset(&err);
    assert_int_equal(http_server_bind("no-such-host.invalid", 80, false, &err), -1);
    assert_non_null(strstr(buf_cstr(&err), "resolve no-such-host.invalid"));
    close(a);
    buf_cleanup(&err);
}

static char seen_ip[64];

static void
h_ip(struct http_request *req, void *arg)
{
    (void)arg;
    snprintf(seen_ip, sizeof(seen_ip), "%s", http_request_client_ip(req));
    http_reply_text(req, 200, "tcp", 3);
}

static int empty_calls;

static void
on_empty(void *arg)
{
    (void)arg;
    empty_calls++;
}

static void
test_serve_over_tcp(void **state)
{
    (void)state;
    struct http_router *r = http_router_new();
    http_router_add(r, HTTP_METHODS_GET, "/ip", h_ip, NULL, NULL);
    struct harness H;
    harness_init(&H, r, NULL);
    struct buf err;
    buf_init(&err, 512);
    int lfd = http_server_bind("127.0.0.1", 0, true, &err);
    assert_true(lfd >= 0);
    assert_int_equal(http_server_listen_fd(H.srv, lfd), 0);
    uint16_t port = http_server_port(H.srv);
    assert_true(port > 0);

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    assert_true(rc == 0 || errno == EINPROGRESS);
    harness_pump(&H, -1, NULL, 10); /* accept */
    harness_send_str(&H, fd, "GET /ip HTTP/1.1\r\nHost: a\r\n\r\n");
    struct buf out;
    buf_init(&out, 1 << 20);
    harness_wait_responses(&H, fd, &out, 1, 2000);
    struct harness_response resp;
    assert_true(harness_parse(out.ptr, out.len, false, false, &resp) > 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(seen_ip, "127.0.0.1");
    harness_response_free(&resp);

    /* Drain: no new connections, the idle one closes, on_empty runs. */
    empty_calls = 0;
    http_server_drain(H.srv, on_empty, NULL);
    assert_true(http_server_is_draining(H.srv));
    assert_true(harness_pump(&H, fd, &out, 20));
    assert_int_equal(empty_calls, 1);
    int late = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(late, (struct sockaddr *)&sa, sizeof(sa)), -1);
    assert_int_equal(errno, ECONNREFUSED);
    close(late);
    close(fd);
    buf_cleanup(&out);
    buf_cleanup(&err);
    harness_cleanup(&H);
    http_router_free(r);
}

static void
test_drain_when_empty(void **state)
{
    (void)state;
    struct http_router *r = http_router_new();
    struct harness H;
    harness_init(&H, r, NULL);
    empty_calls = 0;
    http_server_drain(H.srv, on_empty, NULL);
    assert_int_equal(empty_calls, 0); /* never from inside the call */
    harness_pump(&H, -1, NULL, 5);
    assert_int_equal(empty_calls, 1);
    harness_cleanup(&H);
    http_router_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bind_families),
        cmocka_unit_test(test_bind_conflict_and_reuseport),
        cmocka_unit_test(test_serve_over_tcp),
        cmocka_unit_test(test_drain_when_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
