/* net/addr: literals in and out, ports, lengths, and the list's set
 * semantics and cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "net/addr.h"

static void
test_literals(void **state)
{
    (void)state;
    union net_sockaddr a;
    char text[NET_ADDR_TEXT_MAX];
    assert_true(net_addr_parse_ip("127.0.0.1", 8080, &a));
    net_addr_format(&a, text);
    assert_string_equal(text, "127.0.0.1:8080");
    assert_int_equal(net_addr_len(&a), sizeof(struct sockaddr_in));
    assert_true(net_addr_parse_ip("::1", 443, &a));
    net_addr_format(&a, text);
    assert_string_equal(text, "[::1]:443");
    assert_int_equal(net_addr_len(&a), sizeof(struct sockaddr_in6));
    net_addr_set_port(&a, 0);
    net_addr_format(&a, text);
    assert_string_equal(text, "::1");
    /* The longest text fits. */
    assert_true(net_addr_parse_ip("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 65535, &a));
    net_addr_format(&a, text);
    assert_string_equal(text, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
    assert_false(net_addr_is_ip("localhost"));
    assert_false(net_addr_is_ip("[::1]"));
    assert_false(net_addr_is_ip("::1%eth0"));
    assert_false(net_addr_is_ip("1.2.3"));
    assert_true(net_addr_is_ip("2001:db8::1"));
}

static void
test_list(void **state)
{
    (void)state;
    struct net_addrs l = {0};
    union net_sockaddr a;
    union net_sockaddr b;
    assert_true(net_addr_parse_ip("192.0.2.1", 0, &a));
    assert_true(net_addr_parse_ip("192.0.2.1", 80, &b));
    assert_true(net_addrs_add(&l, &a));
    assert_true(net_addrs_add(&l, &a)); /* already there */
    assert_int_equal(l.count, 1);
    assert_true(net_addr_same_ip(&a, &b)); /* ports ignored */
    for (int i = 2; l.count < BOUNDS_DNS_ADDRS_MAX; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "192.0.2.%d", i);
        assert_true(net_addr_parse_ip(ip, 0, &b));
        assert_true(net_addrs_add(&l, &b));
    }
    assert_true(net_addr_parse_ip("198.51.100.1", 0, &b));
    assert_false(net_addrs_add(&l, &b));
    assert_int_equal(l.count, BOUNDS_DNS_ADDRS_MAX);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
