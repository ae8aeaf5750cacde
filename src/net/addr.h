/* net/addr: socket addresses as plain values -- one address, a list of
 * them (what a lookup answers and a connect tries), IP-literal parsing and
 * the short text used in error messages.
 *
 * Pure: no I/O, no state; values are copied, never shared. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "bounds.h"

union net_sockaddr {
    struct sockaddr sa;
    struct sockaddr_in in;   /* sa.sa_family == AF_INET */
    struct sockaddr_in6 in6; /* sa.sa_family == AF_INET6 */
};

/* An answer: at most BOUNDS_DNS_ADDRS_MAX addresses, in the order they are
 * to be preferred. Ports are whatever the producer set (lookups: 0). */
struct net_addrs {
    size_t count;
    union net_sockaddr addr[BOUNDS_DNS_ADDRS_MAX];
};

/* "[::1]:8080" or "127.0.0.1:8080" (port 0: no port) -- the longest fits
 * in NET_ADDR_TEXT_MAX. */
#define NET_ADDR_TEXT_MAX 56

/* Parses an IPv4 or IPv6 literal (no brackets, no zone) with port into
 * *out. Returns false, leaving *out untouched, for anything else. */
bool net_addr_parse_ip(const char *host, unsigned port, union net_sockaddr *out);
/* Is host an IPv4 or IPv6 literal? */
bool net_addr_is_ip(const char *host);
/* The length to pass to connect()/bind() for a. */
socklen_t net_addr_len(const union net_sockaddr *a);
void net_addr_set_port(union net_sockaddr *a, unsigned port);
/* Writes a's text into out (NET_ADDR_TEXT_MAX bytes). */
void net_addr_format(const union net_sockaddr *a, char out[NET_ADDR_TEXT_MAX]);
/* Same family and IP (ports ignored)? */
bool net_addr_same_ip(const union net_sockaddr *x, const union net_sockaddr *y);
/* Appends a to list when there is room and it is not there yet. Returns
 * false when the list was full. */
bool net_addrs_add(struct net_addrs *list, const union net_sockaddr *a);
