/* The options of an HTTP listener (plain data, no functions): what the
 * wiring sets for the public and the metrics server, and what each of the
 * server's connections reads (timeouts, keep-alive, the body budget and
 * its client key).
 *
 * Its own header because two files read it and neither should include
 * the other for it: http/server.c keeps a copy and applies the connection
 * caps, http/conn.c applies the rest through the pointer its owner gives
 * it (struct http_conn_owner, http/conn.h). In http/server.h, it made
 * conn.c include the server's API and closed the last include circle in
 * http/ (server -> conn -> server). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "http/request.h"
#include "net/sockopt.h"

struct http_ip_budget;
struct http_request;
struct http_router;
struct ipcidr;

/* Bytes of a request's client key, NUL included. */
#define HTTP_SERVER_OPTS_CLIENT_KEY_SIZE (BOUNDS_CLIENT_IP_KEY_MAX + 1)

/* Writes the per-address key of a request (the rate limiter's client IP:
 * a trusted forwarded-for header, else the peer; IPv6 per /64) into out,
 * NUL-terminated. Runs on the worker after the head is parsed. */
typedef void (*http_server_opts_client_key_fn)(void *arg, struct http_request *req,
                                               char out[HTTP_SERVER_OPTS_CLIENT_KEY_SIZE]);

struct http_server_opts {
    const struct http_router *router; /* borrowed; outlives the server */
    bool is_public;                   /* security headers, X-Request-Id, access log */
    /* Public requests whose decoded path this says to skip get no
     * access-log line (ACCESS_LOG_SKIP_RE); NULL: every one is logged.
     * arg is borrowed and outlives the server. */
    http_request_log_skip_fn access_log_skip;
    const void *access_log_skip_arg;
    uint64_t head_timeout_ms; /* first byte to end of head (and a fresh conn's first byte) */
    uint64_t body_timeout_ms; /* end of head to end of body */
    uint64_t idle_timeout_ms; /* keep-alive wait for the next request */
    /* Output queued and nothing drained to the kernel for this long closes
     * the connection (libevent's write timeout, armed only while output
     * waits); 0: none. Public: CLIENT_WRITE_STALL_TIMEOUT. */
    uint64_t write_timeout_ms;
    /* TCP keep-alive and TCP_USER_TIMEOUT for every accepted TCP socket
     * (TCP_KEEPALIVE_*, TCP_USER_TIMEOUT); all zero: keep-alive off. */
    struct net_keepalive keepalive;
    /* Open connections, shared by every worker's server (borrowed); NULL:
     * no caps. The key is the TCP peer (IPv6 per /64); a peer inside
     * trusted_peers (TRUSTED_PROXY_CIDRS) counts toward the total only. */
    struct http_ip_budget *conn_budget;
    const struct ipcidr *trusted_peers;
    size_t trusted_peer_count;
    /* Buffered request bodies (borrowed); NULL: not budgeted. Keyed with
     * client_key (NULL: the peer's text). */
    struct http_ip_budget *body_budget;
    http_server_opts_client_key_fn client_key;
    void *client_key_arg;
};
