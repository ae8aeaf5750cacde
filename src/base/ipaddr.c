#include "base/ipaddr.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "base/scan.h"

bool
ipaddr_parse(struct slice text, struct ipaddr *out)
{
    char tmp[IPADDR_TEXT_MAX];
    if (text.len == 0 || text.len >= sizeof(tmp) || memchr(text.ptr, '\0', text.len)) {
        return false;
    }
    memcpy(tmp, text.ptr, text.len);
    tmp[text.len] = '\0';
    struct ipaddr a;
    memset(&a, 0, sizeof(a));
    if (inet_pton(AF_INET, tmp, a.bytes) == 1) {
        a.family = AF_INET;
    } else if (inet_pton(AF_INET6, tmp, a.bytes) == 1) {
        a.family = AF_INET6;
    } else {
        return false;
    }
    *out = a;
    return true;
}

struct ipaddr
ipaddr_unmap(struct ipaddr a)
{
    static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (a.family == AF_INET6 && memcmp(a.bytes, mapped_prefix, 12) == 0) {
        struct ipaddr v4;
        memset(&v4, 0, sizeof(v4));
        v4.family = AF_INET;
        memcpy(v4.bytes, a.bytes + 12, 4);
        return v4;
    }
    return a;
}

bool
ipaddr_is_loopback(const struct ipaddr *a)
{
    static const uint8_t v6_loopback[16] = {[15] = 1};
    struct ipaddr u = ipaddr_unmap(*a);
    if (u.family == AF_INET) {
        return u.bytes[0] == 127;
    }
    return memcmp(u.bytes, v6_loopback, 16) == 0;
}

bool
ipaddr_eq(const struct ipaddr *a, const struct ipaddr *b)
{
    size_t n = a->family == AF_INET ? 4 : 16;
    return a->family == b->family && memcmp(a->bytes, b->bytes, n) == 0;
}

struct ipaddr
ipaddr_mask(struct ipaddr a, unsigned bits)
{
    unsigned total = a.family == AF_INET ? 32 : 128;
    for (unsigned i = 0; i < total / 8; i++) {
        unsigned lo = i * 8;
        if (bits >= lo + 8) {
            continue;
        }
        unsigned keep = bits > lo ? bits - lo : 0;
        a.bytes[i] &= (uint8_t)(0xff << (8 - keep));
    }
    return a;
}

void
ipaddr_format(const struct ipaddr *a, char *out)
{
    /* IPv4 by hand: every request's client key formats its peer, and
     * glibc's inet_ntop goes through sprintf (about 1,700 instructions,
     * 2 % of a proxied request); the text is the same. */
    if (a->family == AF_INET) {
        char *p = out;
        for (int i = 0; i < 4; i++) {
            unsigned v = a->bytes[i];
            if (v >= 100) {
                *p++ = (char)('0' + v / 100);
            }
            if (v >= 10) {
                *p++ = (char)('0' + v / 10 % 10);
            }
            *p++ = (char)('0' + v % 10);
            *p++ = i < 3 ? '.' : '\0';
        }
        return;
    }
    if (inet_ntop(a->family, a->bytes, out, IPADDR_TEXT_MAX) == NULL) {
        out[0] = '\0';
    }
}

bool
ipcidr_parse(struct slice text, struct ipcidr *out)
{
    long slash = slice_find_byte(text, '/');
    if (slash < 0) {
        return false;
    }
    struct ipaddr a;
    if (!ipaddr_parse(slice_make(text.ptr, (size_t)slash), &a)) {
        return false;
    }
    struct scan s = scan_init(slice_skip(text, (size_t)slash + 1));
    uint64_t prefix;
    unsigned max = a.family == AF_INET ? 32 : 128;
    /* Canonical prefix: digits only, no leading zero unless "0". */
    if (scan_left(&s) > 1 && scan_peek(&s) == '0') {
        return false;
    }
    if (!scan_u64(&s, max, &prefix) || !scan_eof(&s)) {
        return false;
    }
    out->addr = ipaddr_mask(a, (unsigned)prefix);
    out->prefix = (unsigned)prefix;
    return true;
}

bool
ipcidr_contains(const struct ipcidr *c, const struct ipaddr *a)
{
    struct ipaddr net = ipaddr_unmap(c->addr);
    struct ipaddr addr = ipaddr_unmap(*a);
    unsigned prefix = c->prefix;
    if (c->addr.family == AF_INET6 && net.family == AF_INET) {
        /* A mapped network (::ffff:10.0.0.0/104) is an IPv4 network. */
        prefix = prefix >= 96 ? prefix - 96 : 0;
    }
    if (net.family != addr.family) {
        return false;
    }
    struct ipaddr masked = ipaddr_mask(addr, prefix);
    return ipaddr_eq(&masked, &net);
}

struct special_range {
    uint8_t prefix[4];
    unsigned bits;
    const char *name;
};

/* RFC 6890 table 1 and its successors (RFC 6598 shared space, RFC 5737
 * documentation); 255.255.255.255 falls in 240/4's neighbour check below. */
static const struct special_range v4_ranges[] = {
    {{0, 0, 0, 0}, 8, "reserved"},        {{10, 0, 0, 0}, 8, "private"},
    {{100, 64, 0, 0}, 10, "shared"},      {{127, 0, 0, 0}, 8, "loopback"},
    {{169, 254, 0, 0}, 16, "link_local"}, {{172, 16, 0, 0}, 12, "private"},
    {{192, 0, 0, 0}, 24, "reserved"},     {{192, 0, 2, 0}, 24, "reserved"},
    {{192, 88, 99, 0}, 24, "reserved"},   {{192, 168, 0, 0}, 16, "private"},
    {{198, 18, 0, 0}, 15, "reserved"},    {{198, 51, 100, 0}, 24, "reserved"},
    {{203, 0, 113, 0}, 24, "reserved"},   {{224, 0, 0, 0}, 4, "multicast"},
    {{240, 0, 0, 0}, 4, "reserved"},
};

static bool
prefix_match(const uint8_t *bytes, const uint8_t *prefix, unsigned bits)
{
    for (unsigned i = 0; i < bits; i++) {
        unsigned byte = i / 8;
        uint8_t mask = (uint8_t)(0x80 >> (i % 8));
        if ((bytes[byte] & mask) != (prefix[byte] & mask)) {
            return false;
        }
    }
    return true;
}

static const char *
v4_special(const uint8_t *b)
{
    if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255) {
        return "multicast"; /* limited broadcast */
    }
    for (size_t i = 0; i < sizeof(v4_ranges) / sizeof(v4_ranges[0]); i++) {
        if (prefix_match(b, v4_ranges[i].prefix, v4_ranges[i].bits)) {
            return v4_ranges[i].name;
        }
    }
    return NULL;
}

const char *
ipaddr_special_use(const struct ipaddr *a)
{
    if (a->family == AF_INET) {
        return v4_special(a->bytes);
    }
    const uint8_t *b = a->bytes;
    static const uint8_t zero[16] = {0};
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    /* Full 16-byte prefixes: prefix_match reads up to the bit count. */
    static const uint8_t nat64[16] = {0x00, 0x64, 0xff, 0x9b};
    static const uint8_t nat64_local[16] = {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01};
    static const uint8_t disc[16] = {0x01, 0x00};
    static const uint8_t teredo_etc[16] = {0x20, 0x01};
    static const uint8_t doc[16] = {0x20, 0x01, 0x0d, 0xb8};
    static const uint8_t six_to_four[2] = {0x20, 0x02};
    if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) {
        return b[15] == 0 ? "unspecified" : "loopback";
    }
    /* Embedded IPv4: mapped, compatible (::a.b.c.d, deprecated), NAT64. */
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, zero, 12) == 0 || memcmp(b, nat64, 12) == 0) {
        const char *v4 = v4_special(b + 12);
        if (v4 != NULL || memcmp(b, zero, 12) != 0) {
            return v4;
        }
        return "reserved"; /* ::/96 with a public IPv4: deprecated, never routed */
    }
    if (memcmp(b, six_to_four, 2) == 0) {
        return v4_special(b + 2);
    }
    if (prefix_match(b, nat64_local, 48) || prefix_match(b, disc, 64) ||
        prefix_match(b, teredo_etc, 23) || prefix_match(b, doc, 32)) {
        return "reserved";
    }
    if ((b[0] & 0xfe) == 0xfc) {
        return "private"; /* fc00::/7 unique local */
    }
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
        return "link_local"; /* fe80::/10 */
    }
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) {
        return "link_local"; /* fec0::/10, deprecated site-local */
    }
    if (b[0] == 0xff) {
        return "multicast";
    }
    return NULL;
}
