/* IP address literals and CIDR ranges (IPv4 and IPv6), parsed with
 * inet_pton so only canonical literal forms are accepted. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/slice.h"

#define IPADDR_TEXT_MAX 46 /* INET6_ADDRSTRLEN */

struct ipaddr {
    int family;        /* AF_INET or AF_INET6 */
    uint8_t bytes[16]; /* network order; IPv4 uses the first 4 */
};

struct ipcidr {
    struct ipaddr addr;
    unsigned prefix; /* 0..32 or 0..128 */
};

/* A bare literal ("127.0.0.1", "::1"); no brackets, no port, no zone. */
bool ipaddr_parse(struct slice text, struct ipaddr *out);
/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as plain IPv4; others unchanged. */
struct ipaddr ipaddr_unmap(struct ipaddr a);
/* 127.0.0.0/8, ::1, and IPv4-mapped forms of 127/8. */
bool ipaddr_is_loopback(const struct ipaddr *a);
bool ipaddr_eq(const struct ipaddr *a, const struct ipaddr *b);
/* Keeps the first `bits` bits, zeroing the rest (IPv6 /64 bucketing). */
struct ipaddr ipaddr_mask(struct ipaddr a, unsigned bits);
/* Canonical text into out[IPADDR_TEXT_MAX]. */
void ipaddr_format(const struct ipaddr *a, char *out);

/* "10.0.0.0/8", "2001:db8::/32"; host bits allowed (they are masked off). */
bool ipcidr_parse(struct slice text, struct ipcidr *out);
/* Mapped IPv4 addresses are compared as IPv4. */
bool ipcidr_contains(const struct ipcidr *c, const struct ipaddr *a);

/* RFC 6890 special-use classification (and its successors), for refusing
 * outgoing fetches to places a public URL must not reach (SSRF). Returns
 * NULL for an ordinary public unicast address, else the class, one of the
 * static snake_case names "unspecified", "loopback", "private" (10/8,
 * 172.16/12, 192.168/16, fc00::/7), "link_local" (169.254/16, fe80::/10,
 * fec0::/10), "shared" (CGNAT 100.64/10), "multicast" (224/4, ff00::/8,
 * 255.255.255.255), "reserved" (0/8, 192.0.0/24, 192.0.2/24, 192.88.99/24,
 * 198.18/15, 198.51.100/24, 203.0.113/24, 240/4, 100::/64, 2001::/23,
 * 2001:db8::/32, 64:ff9b:1::/48). IPv4 embedded in IPv6 is judged as the IPv4
 * address it names: v4-mapped ::ffff:0:0/96, v4-compatible ::/96, NAT64
 * 64:ff9b::/96 and 6to4 2002::/16. */
const char *ipaddr_special_use(const struct ipaddr *a);
