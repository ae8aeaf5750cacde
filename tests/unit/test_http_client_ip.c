/* http/client_ip: the rate-limit key of SPEC.md 3.0.4 -- every example
 * there, the cases of Go's TestCIDRAwareKey (SPEC.md 9, main_test.go), the
 * legacy TRUST_PROXY_HEADERS path, and the preface's fix 4 (IPv6 /64 on
 * every path). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "config.h"
#include "http/client_ip.h"
#include "wiring/rate_limit_site.h" /* the wiring builds the policy from the configuration */

static struct ipcidr trusted_v4[1];
static struct ipcidr trusted_mixed[3];

static int
setup(void **state)
{
    (void)state;
    assert_true(ipcidr_parse(SLICE_LIT("10.0.0.0/8"), &trusted_v4[0]));
    assert_true(ipcidr_parse(SLICE_LIT("10.0.0.0/8"), &trusted_mixed[0]));
    assert_true(ipcidr_parse(SLICE_LIT("fd00::/8"), &trusted_mixed[1]));
    assert_true(ipcidr_parse(SLICE_LIT("192.168.0.0/16"), &trusted_mixed[2]));
    return 0;
}

/* The main_test.go fixture: TRUSTED_PROXY_CIDRS=10.0.0.0/8, the default
 * header (X-Forwarded-For). */
static struct client_ip_policy
cidr_policy(enum client_ip_header header)
{
    return (struct client_ip_policy){
        .trusted = trusted_v4, .trusted_count = 1, .header = header, .legacy = false};
}

#define ABSENT ((struct client_ip_field){NULL, 0})

struct row {
    const char *remote_addr;
    const char *xff;
    const char *xrip;
    const char *tcip;
    const char *want;
    enum client_ip_source source;
    const char *why;
};

static void
run_rows(const struct client_ip_policy *p, const struct row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        struct client_ip_peer peer = client_ip_peer_from_text(slice_from_cstr(r->remote_addr));
        struct slice xff = slice_from_cstr(r->xff);
        struct slice xrip = slice_from_cstr(r->xrip);
        struct slice tcip = slice_from_cstr(r->tcip);
        struct client_ip_headers h = {
            .x_forwarded_for = r->xff ? client_ip_field_one(&xff) : ABSENT,
            .x_real_ip = r->xrip ? client_ip_field_one(&xrip) : ABSENT,
            .true_client_ip = r->tcip ? client_ip_field_one(&tcip) : ABSENT,
        };
        char out[CLIENT_IP_KEY_SIZE];
        memset(out, 'Z', sizeof(out));
        enum client_ip_source src = client_ip_key(p, &peer, &h, out);
        if (strcmp(out, r->want) != 0 || src != r->source) {
            fail_msg("row %zu (%s): key \"%s\" source %d, want \"%s\" source %d", i, r->why, out,
                     src, r->want, r->source);
        }
    }
}

#define PEER CLIENT_IP_SOURCE_PEER
#define HDR CLIENT_IP_SOURCE_TRUSTED_HEADER
#define LEGACY CLIENT_IP_SOURCE_LEGACY_HEADER

static void
test_spec_examples(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"10.1.2.3:54321", "203.0.113.99, 10.42.0.7", NULL, NULL, "203.0.113.99", HDR,
         "rightmost untrusted hop"},
        {"10.1.2.3:54321", "evil-spoof, 203.0.113.99, 10.42.0.7", NULL, NULL, "203.0.113.99", HDR,
         "attacker's leftmost entry never reached"},
        {"10.1.2.3:54321", "not-an-ip", NULL, NULL, "10.1.2.3", PEER, "unparseable hop"},
        {"198.51.100.7:1234", "203.0.113.99", NULL, NULL, "198.51.100.7", PEER,
         "untrusted peer: header ignored"},
        {"10.1.2.3:54321", NULL, NULL, "203.0.113.1", "10.1.2.3", PEER,
         "True-Client-IP ignored unless pinned"},
    };
    struct client_ip_policy p = cidr_policy(CLIENT_IP_HEADER_X_FORWARDED_FOR);
    run_rows(&p, rows, sizeof(rows) / sizeof(rows[0]));
}

static void
test_cidr_aware_key_cases(void **state)
{
    (void)state;
    /* The cases TestCIDRAwareKey lists, plus neighbours. */
    static const struct row rows[] = {
        {"10.1.2.3:1", "198.51.100.1, 203.0.113.99, 10.0.0.2, 10.0.0.1", NULL, NULL, "203.0.113.99",
         HDR, "right-to-left walk over two trusted hops"},
        {"10.1.2.3:1", "1.1.1.1, 2.2.2.2, 3.3.3.3", NULL, NULL, "3.3.3.3", HDR,
         "first untrusted from the right"},
        {"10.1.2.3:1", NULL, NULL, NULL, "10.1.2.3", PEER, "no header"},
        {"10.1.2.3:1", "", NULL, NULL, "10.1.2.3", PEER, "empty header"},
        {"10.1.2.3:1", "10.0.0.9, 10.0.0.8", NULL, NULL, "10.1.2.3", PEER, "all trusted"},
        {"10.1.2.3:1", " , ,", NULL, NULL, "10.1.2.3", PEER, "only empty entries"},
        {"10.1.2.3:1", "203.0.113.99, garbage, 10.0.0.7", NULL, NULL, "10.1.2.3", PEER,
         "malformed hop stops the walk"},
        {"10.1.2.3:1", "203.0.113.99, , 10.0.0.7", NULL, NULL, "203.0.113.99", HDR,
         "empty entry skipped"},
        {"10.1.2.3:1", "  \t203.0.113.99\t ,10.0.0.7  ", NULL, NULL, "203.0.113.99", HDR,
         "entries trimmed"},
        {"10.1.2.3:1", "203.0.113.9:8080", NULL, NULL, "203.0.113.9", HDR, "v4 with port"},
        {"10.1.2.3:1", "1.2.3.4:5:6", NULL, NULL, "10.1.2.3", PEER,
         "two colons: not a port, not an address"},
        {"10.1.2.3:1", "[2001:db8:1:2::99]:443", NULL, NULL, "2001:db8:1:2::", HDR,
         "bracketed v6 with port"},
        {"10.1.2.3:1", "[203.0.113.5]", NULL, NULL, "203.0.113.5", HDR, "bracketed v4"},
        {"10.1.2.3:1", "[2001:db8::1", NULL, NULL, "10.1.2.3", PEER, "unclosed bracket"},
        {"10.1.2.3:1", "::ffff:203.0.113.9", NULL, NULL, "203.0.113.9", HDR,
         "mapped v6 given as dotted v4"},
        {"10.1.2.3:1", "203.0.113.9, ::ffff:10.0.0.7", NULL, NULL, "203.0.113.9", HDR,
         "mapped form of a trusted proxy is trusted"},
        {"10.1.2.3:1", "01.2.3.4", NULL, NULL, "10.1.2.3", PEER, "leading zero is no IPv4"},
        {"10.1.2.3:1", "fe80::1%eth0", NULL, NULL, "10.1.2.3", PEER, "zone id"},
        {"10.1.2.3:1", "203.0.113.99\xc2\xa0", NULL, NULL, "10.1.2.3", PEER,
         "no-break space is not trimmed"},
        {"[::ffff:10.1.2.3]:1", "203.0.113.99", NULL, NULL, "203.0.113.99", HDR,
         "mapped peer inside a v4 CIDR"},
        {"garbage", "203.0.113.99", NULL, NULL, "garbage", PEER,
         "garbage RemoteAddr: used as text, no error"},
        {"garbage:80", "203.0.113.99", NULL, NULL, "garbage", PEER, "non-IP peer host"},
        {"10.1.2.3", "203.0.113.99", NULL, NULL, "203.0.113.99", HDR,
         "peer without port: the unsplit text is still an address"},
    };
    struct client_ip_policy p = cidr_policy(CLIENT_IP_HEADER_X_FORWARDED_FOR);
    run_rows(&p, rows, sizeof(rows) / sizeof(rows[0]));
}

static void
test_pinned_header(void **state)
{
    (void)state;
    static const struct row tcip_rows[] = {
        {"10.1.2.3:1", "198.51.100.1", NULL, "203.0.113.1", "203.0.113.1", HDR,
         "pinned True-Client-IP honoured, X-Forwarded-For ignored"},
        {"10.1.2.3:1", "198.51.100.1", NULL, NULL, "10.1.2.3", PEER,
         "pinned header absent: X-Forwarded-For not consulted"},
        {"10.1.2.3:1", NULL, NULL, "203.0.113.1, 10.0.0.5", "203.0.113.1", HDR,
         "pinned header is split and walked too"},
    };
    struct client_ip_policy p = cidr_policy(CLIENT_IP_HEADER_TRUE_CLIENT_IP);
    run_rows(&p, tcip_rows, sizeof(tcip_rows) / sizeof(tcip_rows[0]));
    static const struct row xrip_rows[] = {
        {"10.1.2.3:1", "198.51.100.1", "203.0.113.2", "203.0.113.1", "203.0.113.2", HDR,
         "pinned X-Real-IP"},
    };
    p = cidr_policy(CLIENT_IP_HEADER_X_REAL_IP);
    run_rows(&p, xrip_rows, 1);
    /* TRUST_PROXY_HEADERS is ignored when CIDRs are set. */
    static const struct row legacy_ignored[] = {
        {"10.1.2.3:1", NULL, "203.0.113.2", "203.0.113.1", "10.1.2.3", PEER,
         "legacy flag ignored with CIDRs"},
        {"198.51.100.7:9", "203.0.113.99", NULL, "203.0.113.1", "198.51.100.7", PEER,
         "legacy flag ignored with CIDRs, untrusted peer"},
    };
    p = cidr_policy(CLIENT_IP_HEADER_X_FORWARDED_FOR);
    p.legacy = true;
    run_rows(&p, legacy_ignored, 2);
}

static void
test_ipv6_is_bucketed_per_64_everywhere(void **state)
{
    (void)state;
    /* Preface fix 4: the same /64 whether the address came from the peer,
     * a trusted header or a legacy header. */
    static const struct row rows[] = {
        {"[2001:db8:1:2:3:4:5:6]:443", NULL, NULL, NULL, "2001:db8:1:2::", PEER, "v6 peer"},
        {"[2001:db8:1:2:ffff::1]:443", NULL, NULL, NULL, "2001:db8:1:2::", PEER,
         "same /64, same key"},
        {"[fd00::1]:5000", "2001:db8:1:2:3:4:5:6", NULL, NULL, "2001:db8:1:2::", HDR,
         "v6 hop behind a v6 proxy"},
        {"[fd00::1]:5000", "2001:db8:1:2::7, fd12::1, 192.168.3.3", NULL, NULL,
         "2001:db8:1:2::", HDR, "v6 hop behind mixed trusted proxies"},
        {"192.168.1.1:80", "2001:db8:aaaa:bbbb:cccc::1", NULL, NULL, "2001:db8:aaaa:bbbb::", HDR,
         "v6 hop behind a v4 proxy"},
        {"[fd00::1]:5000", "203.0.113.8", NULL, NULL, "203.0.113.8", HDR,
         "v4 hop behind a v6 proxy"},
        {"[2001:db8::1]:5000", "203.0.113.8", NULL, NULL, "2001:db8::", PEER, "untrusted v6 peer"},
        {"[::1]:80", NULL, NULL, NULL, "::", PEER, "loopback v6"},
    };
    struct client_ip_policy p = {
        .trusted = trusted_mixed, .trusted_count = 3, .header = CLIENT_IP_HEADER_X_FORWARDED_FOR};
    run_rows(&p, rows, sizeof(rows) / sizeof(rows[0]));
}

static void
test_default_key_from_remote_addr(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"203.0.113.7:4711", NULL, NULL, NULL, "203.0.113.7", PEER, "v4"},
        {"203.0.113.7:", NULL, NULL, NULL, "203.0.113.7", PEER, "empty port splits"},
        {"[2001:db8:1:2:3:4:5:6]:443", NULL, NULL, NULL, "2001:db8:1:2::", PEER, "v6"},
        {"[::ffff:192.0.2.1]:80", NULL, NULL, NULL, "192.0.2.1", PEER, "mapped v4"},
        {"2001:db8::1", NULL, NULL, NULL, "2001:db8::", PEER,
         "unsplittable v6 text is still reduced"},
        {"1.2.3.4", NULL, NULL, NULL, "1.2.3.4", PEER, "no port: raw text"},
        {"[2001:db8::1]", NULL, NULL, NULL, "[2001:db8::1]", PEER, "brackets, no port: raw"},
        {"[::1]:80]", NULL, NULL, NULL, "[::1]:80]", PEER, "stray bracket: raw"},
        {"[::1]x:80", NULL, NULL, NULL, "[::1]x:80", PEER, "junk after bracket: raw"},
        {"a:b:c", NULL, NULL, NULL, "a:b:c", PEER, "too many colons: raw"},
        {"host:80", NULL, NULL, NULL, "host", PEER, "name"},
        {"", NULL, NULL, NULL, "", PEER, "empty"},
        {"@", NULL, NULL, NULL, "@", PEER, "unix-socket style"},
        /* Without CIDRs and without the legacy flag headers never count. */
        {"203.0.113.7:1", "1.1.1.1", "2.2.2.2", "3.3.3.3", "203.0.113.7", PEER, "headers ignored"},
    };
    struct client_ip_policy p = {0};
    run_rows(&p, rows, sizeof(rows) / sizeof(rows[0]));
}

static void
test_legacy_trust_proxy_headers(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"10.1.2.3:1", "1.1.1.1", "2.2.2.2", "3.3.3.3", "3.3.3.3", LEGACY, "True-Client-IP first"},
        {"10.1.2.3:1", "1.1.1.1", "2.2.2.2", "", "2.2.2.2", LEGACY, "then X-Real-IP"},
        {"10.1.2.3:1", "1.1.1.1, 10.0.0.1", NULL, NULL, "1.1.1.1", LEGACY,
         "then X-Forwarded-For before the first \", \""},
        {"10.1.2.3:1", "1.1.1.1,10.0.0.1", NULL, NULL, "1.1.1.1,10.0.0.1", LEGACY,
         "a comma without a space does not cut"},
        {"10.1.2.3:1", ", 1.1.1.1", NULL, NULL, "", LEGACY, "leading \", \": empty key"},
        {"10.1.2.3:1", NULL, NULL, NULL, "10.1.2.3", PEER, "none: the peer"},
        {"10.1.2.3:1", "  ", " ", "\t", "10.1.2.3", PEER, "whitespace-only values are empty"},
        {"10.1.2.3:1", NULL, NULL, "not-an-ip", "not-an-ip", LEGACY, "not validated"},
        {"10.1.2.3:1", NULL, NULL, "1.2.3.4:80", "1.2.3.4:80", LEGACY,
         "'.' before ':' is kept as written"},
        {"10.1.2.3:1", NULL, NULL, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::", LEGACY,
         "IPv6-looking value reduced to /64"},
        {"10.1.2.3:1", NULL, "::ffff:1.2.3.4", NULL, "1.2.3.4", LEGACY, "mapped: IPv4"},
        {"10.1.2.3:1", NULL, NULL, "fe80::1%eth0", "fe80::1%eth0", LEGACY,
         "IPv6-looking but not an address: as written"},
        {"[2001:db8:9:9::1]:1", NULL, NULL, NULL, "2001:db8:9:9::", PEER, "v6 peer"},
    };
    struct client_ip_policy p = {.legacy = true};
    run_rows(&p, rows, sizeof(rows) / sizeof(rows[0]));
}

static void
test_text_is_capped_and_cut_at_nul(void **state)
{
    (void)state;
    char value[400];
    memset(value, 'x', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    struct client_ip_policy p = {.legacy = true};
    struct client_ip_peer peer = client_ip_peer_from_text(SLICE_LIT("10.0.0.1:1"));
    struct slice line = slice_from_cstr(value);
    struct client_ip_headers h = {.true_client_ip = client_ip_field_one(&line)};
    char out[CLIENT_IP_KEY_SIZE + 8];
    memset(out, 'Z', sizeof(out));
    assert_int_equal(client_ip_key(&p, &peer, &h, out), LEGACY);
    assert_int_equal(strlen(out), BOUNDS_CLIENT_IP_KEY_MAX);
    assert_int_equal(out[CLIENT_IP_KEY_SIZE], 'Z'); /* nothing written past */

    /* A NUL ends the text: "2001:db8::1\0junk" is the address before it. */
    line = slice_make("2001:db8::1\0junk", 16);
    client_ip_key(&p, &peer, &h, out);
    assert_string_equal(out, "2001:db8::");
    line = slice_make("ab\0cd", 5);
    client_ip_key(&p, &peer, &h, out);
    assert_string_equal(out, "ab");

    /* A long unsplittable peer is capped too. */
    struct client_ip_policy none = {0};
    peer = client_ip_peer_from_text(slice_from_cstr(value));
    struct client_ip_headers empty = {0};
    client_ip_key(&none, &peer, &empty, out);
    assert_int_equal(strlen(out), BOUNDS_CLIENT_IP_KEY_MAX);

    /* And in CIDR mode a NUL ends the header value. */
    struct client_ip_policy cidr = cidr_policy(CLIENT_IP_HEADER_X_FORWARDED_FOR);
    peer = client_ip_peer_from_text(SLICE_LIT("10.0.0.1:1"));
    line = slice_make("203.0.113.1\0, 9.9.9.9", 21);
    h = (struct client_ip_headers){.x_forwarded_for = client_ip_field_one(&line)};
    assert_int_equal(client_ip_key(&cidr, &peer, &h, out), HDR);
    assert_string_equal(out, "203.0.113.1");
}

static void
test_peer_from_sockaddr(void **state)
{
    (void)state;
    struct client_ip_policy p = {0};
    struct client_ip_headers h = {0};
    char out[CLIENT_IP_KEY_SIZE];

    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(4711);
    assert_int_equal(inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr), 1);
    struct client_ip_peer peer = client_ip_peer_from_sockaddr((struct sockaddr *)&sin, sizeof(sin));
    assert_int_equal(peer.addr.family, AF_INET);
    client_ip_key(&p, &peer, &h, out);
    assert_string_equal(out, "192.0.2.1");

    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:aa:bb:1:2:3:4", &sin6.sin6_addr), 1);
    peer = client_ip_peer_from_sockaddr((struct sockaddr *)&sin6, sizeof(sin6));
    client_ip_key(&p, &peer, &h, out);
    assert_string_equal(out, "2001:db8:aa:bb::");

    /* A dual-stack socket reports IPv4 clients as mapped addresses. */
    assert_int_equal(inet_pton(AF_INET6, "::ffff:198.51.100.4", &sin6.sin6_addr), 1);
    peer = client_ip_peer_from_sockaddr((struct sockaddr *)&sin6, sizeof(sin6));
    assert_int_equal(peer.addr.family, AF_INET);
    client_ip_key(&p, &peer, &h, out);
    assert_string_equal(out, "198.51.100.4");
    /* ...and a mapped peer is trusted by a v4 CIDR. */
    struct client_ip_policy cidr = cidr_policy(CLIENT_IP_HEADER_X_FORWARDED_FOR);
    assert_int_equal(inet_pton(AF_INET6, "::ffff:10.9.8.7", &sin6.sin6_addr), 1);
    peer = client_ip_peer_from_sockaddr((struct sockaddr *)&sin6, sizeof(sin6));
    struct slice xff_line = SLICE_LIT("203.0.113.50");
    struct client_ip_headers xff = {.x_forwarded_for = client_ip_field_one(&xff_line)};
    assert_int_equal(client_ip_key(&cidr, &peer, &xff, out), HDR);
    assert_string_equal(out, "203.0.113.50");

    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    peer = client_ip_peer_from_sockaddr((struct sockaddr *)&sun, sizeof(sun));
    assert_int_equal(peer.addr.family, 0);
    client_ip_key(&p, &peer, &h, out);
    assert_string_equal(out, "unix");
    /* A non-address peer is never trusted. */
    assert_int_equal(client_ip_key(&cidr, &peer, &xff, out), PEER);
    assert_string_equal(out, "unix");

    /* Truncated or missing addresses give an empty key, not a crash. */
    peer = client_ip_peer_from_sockaddr((struct sockaddr *)&sin6, sizeof(struct sockaddr_in));
    client_ip_key(&p, &peer, &h, out);
    assert_string_equal(out, "");
    peer = client_ip_peer_from_sockaddr(NULL, 0);
    client_ip_key(&p, &peer, &h, out);
    assert_string_equal(out, "");
}

/* X-Forwarded-For on several lines (RFC 9110 5.3): read as the lines
 * joined with ", " in the order received, walked from the right across
 * line boundaries; a repeated X-Real-IP or True-Client-IP is ambiguous
 * and never trusted. */
static void
test_repeated_header_lines(void **state)
{
    (void)state;
    struct client_ip_policy p = cidr_policy(CLIENT_IP_HEADER_X_FORWARDED_FOR);
    struct client_ip_peer peer = client_ip_peer_from_text(SLICE_LIT("10.1.2.3:5000"));
    static const struct {
        const char *lines[4];
        const char *want;
        enum client_ip_source source;
        const char *why;
    } rows[] = {
        {{"203.0.113.99", "10.42.0.7"},
         "203.0.113.99",
         HDR,
         "the client's line first, the proxy's appended line second"},
        {{"evil-spoof", "203.0.113.99, 10.1.1.1"},
         "203.0.113.99",
         HDR,
         "the rightmost untrusted hop is in the last line"},
        {{"198.51.100.1", "10.0.0.9", "10.0.0.8"},
         "198.51.100.1",
         HDR,
         "trusted hops on every later line are passed"},
        {{"203.0.113.5", ""}, "203.0.113.5", HDR, "an empty last line is an empty element"},
        {{"198.51.100.7", "203.0.113.8"},
         "203.0.113.8",
         HDR,
         "only the last line counts when it has an untrusted hop (the first line alone said .7)"},
        {{"not-an-ip", "10.0.0.4"},
         "10.1.2.3",
         PEER,
         "a malformed hop in an earlier line ends the walk"},
        {{"10.0.0.1", "10.0.0.2"}, "10.1.2.3", PEER, "all trusted across lines"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct slice lines[4];
        size_t n = 0;
        while (n < 4 && rows[i].lines[n] != NULL) {
            lines[n] = slice_from_cstr(rows[i].lines[n]);
            n++;
        }
        struct client_ip_headers h = {.x_forwarded_for = {lines, n}};
        char out[CLIENT_IP_KEY_SIZE];
        enum client_ip_source src = client_ip_key(&p, &peer, &h, out);
        if (strcmp(out, rows[i].want) != 0 || src != rows[i].source) {
            fail_msg("row %zu (%s): key \"%s\" source %d", i, rows[i].why, out, src);
        }
    }

    /* A pinned singleton header sent twice: the peer, whatever the lines. */
    struct slice two[2] = {SLICE_LIT("203.0.113.1"), SLICE_LIT("203.0.113.2")};
    struct slice one = SLICE_LIT("203.0.113.3");
    char out[CLIENT_IP_KEY_SIZE];
    for (int pinned = 0; pinned < 2; pinned++) {
        struct client_ip_policy sp =
            cidr_policy(pinned == 0 ? CLIENT_IP_HEADER_X_REAL_IP : CLIENT_IP_HEADER_TRUE_CLIENT_IP);
        struct client_ip_headers h = {0};
        struct client_ip_field *f = pinned == 0 ? &h.x_real_ip : &h.true_client_ip;
        *f = (struct client_ip_field){two, 2};
        assert_int_equal(client_ip_key(&sp, &peer, &h, out), PEER);
        assert_string_equal(out, "10.1.2.3");
        *f = client_ip_field_one(&one);
        assert_int_equal(client_ip_key(&sp, &peer, &h, out), HDR);
        assert_string_equal(out, "203.0.113.3");
    }

    /* Legacy mode reads the first line, as Go's Header.Get did. */
    struct client_ip_policy legacy = {.legacy = true};
    struct client_ip_headers h = {.x_real_ip = {two, 2}};
    assert_int_equal(client_ip_key(&legacy, &peer, &h, out), LEGACY);
    assert_string_equal(out, "203.0.113.1");
}

static void
test_policy_from_config(void **state)
{
    (void)state;
    struct config c;
    memset(&c, 0, sizeof(c));
    c.trusted_proxy_cidrs = trusted_mixed;
    c.trusted_proxy_cidr_count = 3;
    c.trusted_proxy_header = CONFIG_PROXY_HEADER_TRUE_CLIENT_IP;
    c.trust_proxy_headers = true;
    struct client_ip_policy p = rate_limit_site_ip_policy(&c);
    assert_ptr_equal(p.trusted, trusted_mixed);
    assert_int_equal(p.trusted_count, 3);
    assert_int_equal(p.header, CLIENT_IP_HEADER_TRUE_CLIENT_IP);
    assert_true(p.legacy);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_examples),
        cmocka_unit_test(test_cidr_aware_key_cases),
        cmocka_unit_test(test_pinned_header),
        cmocka_unit_test(test_ipv6_is_bucketed_per_64_everywhere),
        cmocka_unit_test(test_default_key_from_remote_addr),
        cmocka_unit_test(test_legacy_trust_proxy_headers),
        cmocka_unit_test(test_repeated_header_lines),
        cmocka_unit_test(test_text_is_capped_and_cut_at_nul),
        cmocka_unit_test(test_peer_from_sockaddr),
        cmocka_unit_test(test_policy_from_config),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
