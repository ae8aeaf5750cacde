/* A loopback HTTP/1.1 fault server for unit tests (mod_auth_openidc's
 * test/http_server.h idea).
 *
 * It exists only for faults a real peer cannot produce on demand: an IdP
 * that answers too slowly, sends an oversize body, answers 503 a set number
 * of times, redirects, or never answers at all. Real protocol behaviour is
 * proven end to end against a real OpenID provider (tests/e2e).
 *
 * One thread accepts on 127.0.0.1:<ephemeral>; each connection gets its own
 * thread, reads one request, asks the test's handler what to send, sends it
 * with Connection: close and closes. fault_server_stop() wakes every
 * waiting connection and joins all threads (bounded: nothing waits for a
 * client). The handler runs on server threads: share state with the test
 * through atomics or the server's own counters. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct fault_server;

struct fault_request {
    const char *method;
    const char *path;    /* request target as sent, query included */
    const char *headers; /* raw header block, CRLF-separated */
    const char *body;
    size_t body_len;
    unsigned seq; /* 1 for the first request the server saw */
};

struct fault_response {
    int status;                /* default 200 */
    const char *content_type;  /* NULL: no Content-Type header */
    const char *body;          /* NULL: empty */
    const char *extra_headers; /* raw "Name: value\r\n" lines, or NULL */
    size_t filler_bytes;       /* > 0: send this many 'x' bytes as the body */
    bool no_content_length;    /* body delimited by closing the connection */
    unsigned delay_ms;         /* wait this long before answering */
    bool hang;                 /* never answer; hold the connection until stop */
};

typedef void (*fault_handler_fn)(void *arg, const struct fault_request *req,
                                 struct fault_response *out);

/* Starts listening; aborts the test run if the socket cannot be set up. */
struct fault_server *fault_server_start(fault_handler_fn handler, void *arg);
/* "http://127.0.0.1:<port>" (borrowed, valid until stop). */
const char *fault_server_url(const struct fault_server *s);
/* Requests received so far. */
unsigned fault_server_hits(const struct fault_server *s);
/* Copy of the raw head (request line and headers) of the last request;
 * caller frees with xfree. "" before any request. */
char *fault_server_last_head(struct fault_server *s);
/* Copy of the body of the last request; caller frees with xfree. */
char *fault_server_last_body(struct fault_server *s);
/* Wakes and joins every thread, closes every socket, frees s. */
void fault_server_stop(struct fault_server *s);
