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
