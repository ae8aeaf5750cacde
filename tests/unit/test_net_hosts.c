/* net/hosts: file order kept, aliases, case, trailing dots, comments,
 * lines that are not entries, and the answer's cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "net/hosts.h"

static const char *
text_of(const union net_sockaddr *a)
{
    static char buf[NET_ADDR_TEXT_MAX];
    net_addr_format(a, buf);
    return buf;
}

static bool
lookup(const char *file, const char *name, struct net_addrs *out)
{
    memset(out, 0, sizeof(*out));
    return net_hosts_lookup(file, strlen(file), name, out);
}

static void
test_entries(void **state)
{
    (void)state;
    static const char file[] = "# The Debian default\n"
                               "127.0.0.1\tlocalhost\n"
                               "::1     localhost ip6-localhost ip6-loopback\n"
                               "10.0.0.7 mcp.internal mcp # pinned\n"
                               "10.0.0.8 MCP.Internal.\n"
                               "not-an-address mcp.internal\n"
                               "10.0.0.9 #mcp.internal\n";
    struct net_addrs a;
    assert_true(lookup(file, "localhost", &a));
    assert_int_equal(a.count, 2);
    assert_string_equal(text_of(&a.addr[0]), "127.0.0.1");
    assert_string_equal(text_of(&a.addr[1]), "::1");
    assert_true(lookup(file, "mcp.internal.", &a));
    assert_int_equal(a.count, 2);
    assert_string_equal(text_of(&a.addr[0]), "10.0.0.7");
    assert_string_equal(text_of(&a.addr[1]), "10.0.0.8");
    assert_true(lookup(file, "MCP", &a));
    assert_int_equal(a.count, 1);
    assert_true(lookup(file, "ip6-loopback", &a));
    assert_false(lookup(file, "mcp.internal.example", &a));
    assert_false(lookup(file, "pinned", &a)); /* inside a comment */
    assert_false(lookup(file, "", &a));
    assert_false(lookup(file, ".", &a));
    assert_int_equal(a.count, 0);
}

static void
test_cap_and_duplicates(void **state)
{
    (void)state;
    char file[4096];
    size_t len = 0;
    for (int i = 0; i < 40; i++) {
        len += (size_t)snprintf(file + len, sizeof(file) - len, "10.0.0.%d many\n10.0.0.%d many\n",
                                i, i);
    }
    struct net_addrs a;
    assert_true(lookup(file, "many", &a));
    assert_int_equal(a.count, BOUNDS_DNS_ADDRS_MAX); /* the first ones, no duplicates */
    assert_string_equal(text_of(&a.addr[1]), "10.0.0.1");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entries),
        cmocka_unit_test(test_cap_and_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
