/* net/sockopt: the kernel reports back exactly what was asked, keep-alive
 * turns off again, and a socket that is not TCP is refused, not ignored. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/sockopt.h"

static int
get_int(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);
    assert_int_equal(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

static void
test_keepalive_applied(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct net_keepalive ka = {
        .idle_s = 30, .interval_s = 10, .count = 3, .user_timeout_ms = 60000};
    assert_int_equal(net_sockopt_keepalive(fd, &ka), 0);
    assert_int_equal(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    assert_int_equal(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 30);
    assert_int_equal(get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL), 10);
    assert_int_equal(get_int(fd, IPPROTO_TCP, TCP_KEEPCNT), 3);
    assert_int_equal(get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 60000);

    /* idle 0 switches keep-alive off; user timeout 0 is the kernel default. */
    struct net_keepalive off = {0};
    assert_int_equal(net_sockopt_keepalive(fd, &off), 0);
    assert_int_equal(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
    assert_int_equal(get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 0);

    assert_int_equal(net_sockopt_nodelay(fd), 0);
    assert_int_equal(get_int(fd, IPPROTO_TCP, TCP_NODELAY), 1);
    close(fd);
}

static void
test_not_tcp_is_an_error(void **state)
{
    (void)state;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct net_keepalive ka = {.idle_s = 30, .interval_s = 10, .count = 3};
    errno = 0;
    assert_int_equal(net_sockopt_keepalive(fd, &ka), -1);
    assert_int_not_equal(errno, 0);
    close(fd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive_applied),
        cmocka_unit_test(test_not_tcp_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
