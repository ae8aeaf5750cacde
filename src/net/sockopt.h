/* net/sockopt: the TCP options every long-lived connection gets, client
 * side (accepted sockets) and server side (upstream, Redis) alike.
 *
 * Keep-alive probes notice a peer that vanished without a FIN (a laptop
 * that slept, a NAT entry that expired): after idle_s of silence the kernel
 * probes every interval_s and gives up after count unanswered probes.
 * TCP_USER_TIMEOUT bounds how long sent data may stay unacknowledged, which
 * keep-alive alone does not cover while output is queued (RFC 5482).
 *
 * Pure system calls on a socket the caller owns; no state, no logging. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct net_keepalive {
    uint32_t idle_s;          /* 0: keep-alive off (then interval and count are ignored) */
    uint32_t interval_s;      /* between probes, >= 1 */
    uint32_t count;           /* unanswered probes before the connection is dropped, >= 1 */
    uint32_t user_timeout_ms; /* 0: the kernel's default (about 15 minutes of retries) */
};

/* Applies ka to the TCP socket fd. Returns 0, or -1 with errno from the
 * first option the kernel refused (a non-TCP socket: ENOPROTOOPT or
 * EOPNOTSUPP); options already set stay set. */
int net_sockopt_keepalive(int fd, const struct net_keepalive *ka);

/* Turns Nagle off: responses and stream chunks leave as written. Returns 0
 * or -1 (errno). */
int net_sockopt_nodelay(int fd);
