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
