/* base/ipaddr: literal parsing, loopback, CIDR parsing and containment
 * (with IPv4-mapped addresses), masking for /64 bucketing. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "base/ipaddr.h"

static struct ipaddr
ip(const char *text)
{
    struct ipaddr a;
    if (!ipaddr_parse(slice_from_cstr(text), &a)) {
        fail_msg("cannot parse %s", text);
    }
    return a;
}

static const char *
fmt(struct ipaddr a, char out[IPADDR_TEXT_MAX])
{
    ipaddr_format(&a, out);
    return out;
}

static void
test_parse_literals(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int family; /* 0: refused */
        const char *canonical;
    } rows[] = {
        {"127.0.0.1", AF_INET, "127.0.0.1"},
        {"0.0.0.0", AF_INET, "0.0.0.0"},
        {"255.255.255.255", AF_INET, "255.255.255.255"},
        {"::1", AF_INET6, "::1"},
        {"::", AF_INET6, "::"},
        {"2001:DB8:0:0:0:0:0:1", AF_INET6, "2001:db8::1"},
        {"::ffff:10.1.2.3", AF_INET6, "::ffff:10.1.2.3"},
        {"fe80::1", AF_INET6, "fe80::1"},
        {"", 0, NULL},
        {"1.2.3", 0, NULL},
        {"1.2.3.4.5", 0, NULL},
        {"256.1.1.1", 0, NULL},
        {"01.2.3.4", 0, NULL},
        {"0x7f.0.0.1", 0, NULL},
        {"2130706433", 0, NULL},
        {" 1.2.3.4", 0, NULL},
        {"1.2.3.4 ", 0, NULL},
        {"1.2.3.4:80", 0, NULL},
        {"[::1]", 0, NULL},
        {"::1%eth0", 0, NULL},
        {"1::2::3", 0, NULL},
        {"localhost", 0, NULL},
        {"2001:db8:0:0:0:0:0:0:1", 0, NULL},
        {"0000:0000:0000:0000:0000:ffff:255.255.255.255x", 0, NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct ipaddr a;
        memset(&a, 0x77, sizeof(a));
        bool ok = ipaddr_parse(slice_from_cstr(rows[i].text), &a);
        if (ok != (rows[i].family != 0)) {
            fail_msg("row %zu (%s): parse gave %d", i, rows[i].text, ok);
        }
        if (ok) {
            char out[IPADDR_TEXT_MAX];
            assert_int_equal(a.family, rows[i].family);
            assert_string_equal(fmt(a, out), rows[i].canonical);
        }
    }
    /* Embedded NUL, and a slice that ends before the text does. */
    struct ipaddr a;
    assert_false(ipaddr_parse(slice_make("1.2.3.4\0", 8), &a));
    assert_true(ipaddr_parse(slice_make("1.2.3.45", 7), &a));
    char out[IPADDR_TEXT_MAX];
    assert_string_equal(fmt(a, out), "1.2.3.4");
    /* The longest IPv6 text still fits; one byte more is refused. */
    assert_true(ipaddr_parse(SLICE_LIT("0000:0000:0000:0000:0000:ffff:255.255.255.255"), &a));
    assert_false(ipaddr_parse(SLICE_LIT("00000:0000:0000:0000:0000:ffff:255.255.255.255"), &a));
}

static void
test_loopback_table(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool loopback;
    } rows[] = {
        {"127.0.0.1", true},
        {"127.0.0.0", true},
        {"127.255.255.255", true},
        {"127.1.2.3", true},
        {"126.255.255.255", false},
        {"128.0.0.1", false},
        {"0.0.0.0", false},
        {"10.0.0.1", false},
        {"::1", true},
        {"0:0:0:0:0:0:0:1", true},
        {"::0.0.0.1", true}, /* the same 16 bytes as ::1 */
        {"::", false},
        {"::2", false},
        {"::ffff:127.0.0.1", true},
        {"::ffff:127.9.9.9", true},
        {"::ffff:10.0.0.1", false},
        {"::127.0.0.1", false}, /* IPv4-compatible, not mapped */
        {"1::1", false},
        {"fe80::1", false},
        {"::ffff:0:1", false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct ipaddr a = ip(rows[i].text);
        if (ipaddr_is_loopback(&a) != rows[i].loopback) {
            fail_msg("%s: loopback should be %d", rows[i].text, rows[i].loopback);
        }
    }
}

static void
test_unmap_and_eq(void **state)
{
    (void)state;
    struct ipaddr m = ipaddr_unmap(ip("::ffff:192.0.2.7"));
    struct ipaddr v4 = ip("192.0.2.7");
    assert_int_equal(m.family, AF_INET);
    assert_true(ipaddr_eq(&m, &v4));
    /* Only the mapped prefix unmaps. */
    struct ipaddr compat = ipaddr_unmap(ip("::192.0.2.7"));
    assert_int_equal(compat.family, AF_INET6);
    struct ipaddr plain = ipaddr_unmap(ip("2001:db8::1"));
    assert_int_equal(plain.family, AF_INET6);
    /* Different families never compare equal, even with equal leading bytes. */
    struct ipaddr a = ip("0.0.0.0");
    struct ipaddr b = ip("::");
    assert_false(ipaddr_eq(&a, &b));
    struct ipaddr c = ip("2001:db8::1");
    struct ipaddr d = ip("2001:db8::2");
    assert_false(ipaddr_eq(&c, &d));
    struct ipaddr e = ip("2001:0db8::1");
    assert_true(ipaddr_eq(&c, &e));
}

static void
test_mask(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned bits;
        const char *want;
    } rows[] = {
        {"2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::"},
        {"2001:db8:1:2::", 64, "2001:db8:1:2::"},
        {"2001:db8:1:2:ffff:ffff:ffff:ffff", 64, "2001:db8:1:2::"},
        {"2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6"},
        {"2001:db8:1:2:3:4:5:6", 200, "2001:db8:1:2:3:4:5:6"},
        {"2001:db8:1:2:3:4:5:6", 0, "::"},
        {"2001:db8:1:ffff::", 60, "2001:db8:1:fff0::"},
        {"2001:db8:1:ffff::", 49, "2001:db8:1:8000::"},
        {"ffff:ffff::", 1, "8000::"},
        {"10.1.2.3", 24, "10.1.2.0"},
        {"10.1.2.255", 25, "10.1.2.128"},
        {"10.1.2.3", 8, "10.0.0.0"},
        {"10.1.2.3", 0, "0.0.0.0"},
        {"10.1.2.3", 32, "10.1.2.3"},
        {"10.1.2.3", 64, "10.1.2.3"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[IPADDR_TEXT_MAX];
        struct ipaddr m = ipaddr_mask(ip(rows[i].text), rows[i].bits);
        if (strcmp(fmt(m, out), rows[i].want) != 0) {
            fail_msg("%s/%u: got %s, want %s", rows[i].text, rows[i].bits, out, rows[i].want);
        }
    }
}

static void
test_cidr_parse(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool ok;
        const char *net;
        unsigned prefix;
    } rows[] = {
        {"10.0.0.0/8", true, "10.0.0.0", 8},
        {"10.1.2.3/8", true, "10.0.0.0", 8}, /* host bits masked */
        {"192.168.1.77/24", true, "192.168.1.0", 24},
        {"1.2.3.4/32", true, "1.2.3.4", 32},
        {"1.2.3.4/0", true, "0.0.0.0", 0},
        {"2001:db8::/32", true, "2001:db8::", 32},
        {"2001:db8:1:2:3:4:5:6/64", true, "2001:db8:1:2::", 64},
        {"::1/128", true, "::1", 128},
        {"::/0", true, "::", 0},
        {"::ffff:10.0.0.0/104", true, "::ffff:10.0.0.0", 104},
        {"10.0.0.0/80", false, NULL, 0},
        {"10.0.0.0/33", false, NULL, 0},
        {"::/129", false, NULL, 0},
        {"10.0.0.0/08", false, NULL, 0},
        {"10.0.0.0/00", false, NULL, 0},
        {"10.0.0.0/", false, NULL, 0},
        {"10.0.0.0", false, NULL, 0},
        {"/8", false, NULL, 0},
        {"10.0.0.0/8x", false, NULL, 0},
        {"10.0.0.0/8/8", false, NULL, 0},
        {"10.0.0.0/-8", false, NULL, 0},
        {"10.0.0.0/+8", false, NULL, 0},
        {"10.0.0.0/ 8", false, NULL, 0},
        {"10.0.0.0 /8", false, NULL, 0},
        {"10.0.0/8", false, NULL, 0},
        {"[::1]/128", false, NULL, 0},
        {"10.0.0.0/99999999999999999999999", false, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct ipcidr c;
        bool ok = ipcidr_parse(slice_from_cstr(rows[i].text), &c);
        if (ok != rows[i].ok) {
            fail_msg("row %zu (%s): parse gave %d", i, rows[i].text, ok);
        }
        if (ok) {
            char out[IPADDR_TEXT_MAX];
            assert_string_equal(fmt(c.addr, out), rows[i].net);
            assert_int_equal(c.prefix, rows[i].prefix);
        }
    }
}

static bool
contains(const char *cidr, const char *addr)
{
    struct ipcidr c;
    if (!ipcidr_parse(slice_from_cstr(cidr), &c)) {
        fail_msg("cannot parse %s", cidr);
    }
    struct ipaddr a = ip(addr);
    return ipcidr_contains(&c, &a);
}

static void
test_cidr_contains(void **state)
{
    (void)state;
    static const struct {
        const char *cidr;
        const char *addr;
        bool in;
    } rows[] = {
        {"10.0.0.0/8", "10.42.0.7", true},
        {"10.0.0.0/8", "10.255.255.255", true},
        {"10.0.0.0/8", "11.0.0.0", false},
        {"10.0.0.0/8", "9.255.255.255", false},
        {"10.1.2.3/8", "10.200.0.1", true},
        {"192.168.1.0/24", "192.168.1.255", true},
        {"192.168.1.0/24", "192.168.2.0", false},
        {"192.168.1.128/25", "192.168.1.127", false},
        {"192.168.1.128/25", "192.168.1.128", true},
        {"1.2.3.4/32", "1.2.3.4", true},
        {"1.2.3.4/32", "1.2.3.5", false},
        {"0.0.0.0/0", "203.0.113.9", true},
        /* Mapped addresses are compared as IPv4, both ways. */
        {"10.0.0.0/8", "::ffff:10.1.2.3", true},
        {"10.0.0.0/8", "::ffff:11.1.2.3", false},
        {"::ffff:10.0.0.0/104", "10.1.2.3", true},
        {"::ffff:10.0.0.0/104", "::ffff:10.1.2.3", true},
        {"::ffff:10.0.0.0/104", "11.1.2.3", false},
        {"::ffff:10.0.0.0/104", "::ffff:11.1.2.3", false},
        /* An IPv4-compatible address is IPv6, not IPv4. */
        {"10.0.0.0/8", "::10.1.2.3", false},
        /* Families never mix otherwise. */
        {"0.0.0.0/0", "::1", false},
        {"::/0", "10.0.0.1", false},
        {"::/0", "::ffff:10.0.0.1", false},
        {"::/0", "2001:db8::1", true},
        {"2001:db8::/32", "2001:db8:ffff::1", true},
        {"2001:db8::/32", "2001:db9::1", false},
        {"2001:db8:1:2::/64", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", true},
        {"2001:db8:1:2::/64", "2001:db8:1:3::", false},
        {"::1/128", "::1", true},
        {"::1/128", "::2", false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (contains(rows[i].cidr, rows[i].addr) != rows[i].in) {
            fail_msg("%s contains %s should be %d", rows[i].cidr, rows[i].addr, rows[i].in);
        }
    }
}

/* RFC 6890 classes, one row per range edge, including the IPv4 embedded in
 * IPv6 forms an SSRF attacker would reach for. NULL = public. */
static void
test_special_use_table(void **state)
{
    (void)state;
    static const struct {
        const char *addr;
        const char *want;
    } rows[] = {
        {"8.8.8.8", NULL},
        {"1.1.1.1", NULL},
        {"0.0.0.0", "reserved"},
        {"0.255.255.255", "reserved"},
        {"10.0.0.1", "private"},
        {"9.255.255.255", NULL},
        {"11.0.0.0", NULL},
        {"100.64.0.1", "shared"},
        {"100.127.255.255", "shared"},
        {"100.128.0.0", NULL},
        {"100.63.255.255", NULL},
        {"127.0.0.1", "loopback"},
        {"127.255.255.254", "loopback"},
        {"169.254.169.254", "link_local"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"172.32.0.0", NULL},
        {"172.15.255.255", NULL},
        {"192.0.0.8", "reserved"},
        {"192.0.2.1", "reserved"},
        {"192.88.99.1", "reserved"},
        {"192.168.1.1", "private"},
        {"192.169.0.1", NULL},
        {"198.18.0.1", "reserved"},
        {"198.19.255.255", "reserved"},
        {"198.20.0.0", NULL},
        {"198.51.100.7", "reserved"},
        {"203.0.113.9", "reserved"},
        {"224.0.0.1", "multicast"},
        {"239.255.255.255", "multicast"},
        {"240.0.0.1", "reserved"},
        {"255.255.255.255", "multicast"},
        {"2606:4700::1111", NULL},
        {"::", "unspecified"},
        {"::1", "loopback"},
        {"::ffff:127.0.0.1", "loopback"},
        {"::ffff:10.1.2.3", "private"},
        {"::ffff:169.254.169.254", "link_local"},
        {"::ffff:8.8.8.8", NULL},
        {"::127.0.0.1", "loopback"},
        {"::8.8.8.8", "reserved"},
        {"64:ff9b::7f00:1", "loopback"},
        {"64:ff9b::a9fe:a9fe", "link_local"},
        {"64:ff9b::808:808", NULL},
        {"64:ff9b:1::1", "reserved"},
        {"2002:7f00:1::", "loopback"},
        {"2002:c0a8:101::1", "private"},
        {"2002:808:808::1", NULL},
        {"100::1", "reserved"},
        {"2001::1", "reserved"},
        {"2001:1ff:ffff::1", "reserved"},
        {"2001:200::1", NULL},
        {"2001:db8::1", "reserved"},
        {"fc00::1", "private"},
        {"fdff:ffff::1", "private"},
        {"fe80::1", "link_local"},
        {"febf::1", "link_local"},
        {"fec0::1", "link_local"},
        {"ff02::1", "multicast"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct ipaddr a;
        if (!ipaddr_parse(slice_from_cstr(rows[i].addr), &a)) {
            fail_msg("%s does not parse", rows[i].addr);
        }
        const char *got = ipaddr_special_use(&a);
        bool same = got == NULL ? rows[i].want == NULL
                                : rows[i].want != NULL && strcmp(got, rows[i].want) == 0;
        if (!same) {
            fail_msg("%s: got %s, want %s", rows[i].addr, got ? got : "public",
                     rows[i].want ? rows[i].want : "public");
        }
    }
}

/* The hand-written IPv4 formatter writes what inet_ntop writes: every
 * value of each octet in each position, the rest fixed. */
static void
test_format_ipv4_matches_inet_ntop(void **state)
{
    (void)state;
    static const uint8_t fill[] = {0, 1, 9, 10, 99, 100, 199, 200, 255};
    for (int pos = 0; pos < 4; pos++) {
        for (size_t f = 0; f < sizeof(fill); f++) {
            for (unsigned v = 0; v < 256; v++) {
                struct ipaddr a = {.family = AF_INET};
                memset(a.bytes, fill[f], 4);
                a.bytes[pos] = (uint8_t)v;
                char got[IPADDR_TEXT_MAX];
                char want[INET_ADDRSTRLEN];
                ipaddr_format(&a, got);
                assert_non_null(inet_ntop(AF_INET, a.bytes, want, sizeof(want)));
                assert_string_equal(got, want);
            }
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_literals),
        cmocka_unit_test(test_loopback_table),
        cmocka_unit_test(test_unmap_and_eq),
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_cidr_parse),
        cmocka_unit_test(test_cidr_contains),
        cmocka_unit_test(test_special_use_table),
        cmocka_unit_test(test_format_ipv4_matches_inet_ntop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
