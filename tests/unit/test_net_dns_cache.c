/* net/dns_cache: TTLs clamped to [min, max], negative answers kept
 * briefly, case-insensitive names, replacement, and eviction at the cap.
 * Time is passed in, so nothing sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "net/dns_cache.h"

static struct net_addrs
one(const char *ip)
{
    struct net_addrs l = {0};
    union net_sockaddr a;
    assert_true(net_addr_parse_ip(ip, 0, &a));
    assert_true(net_addrs_add(&l, &a));
    return l;
}

static void
test_ttl_clamped(void **state)
{
    (void)state;
    struct net_dns_cache *c = net_dns_cache_new(8);
    struct net_addrs a = one("192.0.2.1");
    struct net_addrs got;
    uint64_t exp = 0;
    /* TTL 0: kept for the minimum, not asked again per connection. */
    assert_int_equal(net_dns_cache_put(c, "zero.test", &a, 0, 1000),
                     1000 + BOUNDS_DNS_TTL_MIN_S * 1000);
    /* A day: kept for the maximum only. */
    assert_int_equal(net_dns_cache_put(c, "day.test", &a, 86400, 1000),
                     1000 + BOUNDS_DNS_TTL_MAX_S * 1000);
    /* In between: as given. */
    assert_int_equal(net_dns_cache_put(c, "mid.test", &a, 60, 1000), 61000);
    assert_int_equal(net_dns_cache_get(c, "MID.test", 60999, &got, &exp, NULL), NET_DNS_CACHE_HIT);
    assert_int_equal(exp, 61000);
    assert_int_equal(got.count, 1);
    assert_int_equal(net_dns_cache_get(c, "mid.test", 61000, &got, NULL, NULL), NET_DNS_CACHE_MISS);
    /* Replaced, not duplicated. */
    struct net_addrs b = one("192.0.2.2");
    (void)net_dns_cache_put(c, "mid.test", &b, 60, 70000);
    assert_int_equal(net_dns_cache_count(c), 3);
    assert_int_equal(net_dns_cache_get(c, "mid.test", 70001, &got, NULL, NULL), NET_DNS_CACHE_HIT);
    assert_true(net_addr_same_ip(&got.addr[0], &b.addr[0]));
    net_dns_cache_free(c);
}

static void
test_negative(void **state)
{
    (void)state;
    static const char why[] = "no such host";
    struct net_dns_cache *c = net_dns_cache_new(8);
    net_dns_cache_put_negative(c, "gone.test", why, 3600, 0); /* SOA minimum of an hour */
    const char *error = NULL;
    assert_int_equal(net_dns_cache_get(c, "gone.test", 1, NULL, NULL, &error),
                     NET_DNS_CACHE_NEGATIVE);
    assert_ptr_equal(error, why);
    assert_int_equal(
        net_dns_cache_get(c, "gone.test", BOUNDS_DNS_NEGATIVE_TTL_MAX_S * 1000, NULL, NULL, &error),
        NET_DNS_CACHE_MISS);
    net_dns_cache_put_negative(c, "blip.test", why, 0, 0); /* at least a second */
    assert_int_equal(net_dns_cache_get(c, "blip.test", 999, NULL, NULL, &error),
                     NET_DNS_CACHE_NEGATIVE);
    net_dns_cache_free(c);
}

static void
test_cap(void **state)
{
    (void)state;
    struct net_dns_cache *c = net_dns_cache_new(3);
    struct net_addrs a = one("192.0.2.1");
    (void)net_dns_cache_put(c, "a.test", &a, 100, 0);
    (void)net_dns_cache_put(c, "b.test", &a, 10, 0);
    (void)net_dns_cache_put(c, "c.test", &a, 200, 0);
    (void)net_dns_cache_put(c, "d.test", &a, 50, 0); /* evicts b, the first to expire */
    assert_int_equal(net_dns_cache_count(c), 3);
    assert_int_equal(net_dns_cache_get(c, "b.test", 1, NULL, NULL, NULL), NET_DNS_CACHE_MISS);
    assert_int_equal(net_dns_cache_get(c, "a.test", 1, NULL, NULL, NULL), NET_DNS_CACHE_HIT);
    assert_int_equal(net_dns_cache_get(c, "d.test", 1, NULL, NULL, NULL), NET_DNS_CACHE_HIT);
    net_dns_cache_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ttl_clamped),
        cmocka_unit_test(test_negative),
        cmocka_unit_test(test_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
