/* A test harness for the HTTP connection layer: a worker with its own
 * event loop, an http_server with a given router, and client connections
 * over socketpairs (no TCP ports), driven from the test one loop pass at a
 * time. The test writes raw bytes and reads back raw responses, which a
 * small response reader splits (Content-Length, chunked, close-delimited). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "http/server.h"

struct http_router;
struct http_server;
struct worker;

struct harness {
    struct worker *w;
    struct http_server *srv;
};

struct harness_opts {
    bool is_public;
    uint64_t head_timeout_ms;  /* 0: 10 s */
    uint64_t body_timeout_ms;  /* 0: 30 s */
    uint64_t idle_timeout_ms;  /* 0: 120 s */
    uint64_t write_timeout_ms; /* 0: none */
    /* Passed to the server as is (http/server.h); all borrowed. */
    struct http_ip_budget *conn_budget;
    const struct ipcidr *trusted_peers;
    size_t trusted_peer_count;
    struct http_ip_budget *body_budget;
    http_server_opts_client_key_fn client_key;
    void *client_key_arg;
    http_request_log_skip_fn access_log_skip;
    const void *access_log_skip_arg;
};

/* A worker (app NULL) and a server on router r (borrowed). opts NULL: public,
 * production timeouts. */
void harness_init(struct harness *h, const struct http_router *r, const struct harness_opts *opts);
/* Frees the server and the worker, running the deferred frees. */
void harness_cleanup(struct harness *h);

/* A new client connection; returns the test's end (non-blocking). */
int harness_connect(struct harness *h);
/* The same as if accepted from peer (an AF_INET/AF_INET6 address the
 * socketpair pretends to come from). Returns the test's end; it reads EOF
 * at once when the server refused the connection. */
int harness_connect_from(struct harness *h, const struct sockaddr *peer, socklen_t peer_len);
/* Writes all of data to fd (loop passes run while the socket is full). */
void harness_send(struct harness *h, int fd, const void *data, size_t len);
void harness_send_str(struct harness *h, int fd, const char *s);
/* Runs the loop for about ms milliseconds, reading whatever fd receives
 * into out (fd < 0: just run). Returns true when fd saw EOF. */
bool harness_pump(struct harness *h, int fd, struct buf *out, uint64_t ms);
/* Runs until out holds n complete responses, fd is closed, or ms pass. */
bool harness_wait_responses(struct harness *h, int fd, struct buf *out, int n, uint64_t ms);

/* One parsed response. Slices point into the buffer that was parsed. */
struct harness_response {
    int status;
    const char *head; /* status line and headers, NUL-terminated copy (heap) */
    char *body;       /* de-chunked body (heap) */
    size_t body_len;
    bool chunked;
    bool complete; /* framing complete (last chunk seen, length reached) */
};

/* Parses the response starting at data; eof says the connection closed
 * after data (completes a close-delimited body). Returns the bytes used, 0
 * when incomplete. head_only: a response to HEAD (no body whatever it says). */
size_t harness_parse(const char *data, size_t len, bool eof, bool head_only,
                     struct harness_response *out);
void harness_response_free(struct harness_response *r);
/* One request on a fresh connection: sends raw (len bytes), waits up to 2 s
 * for one response, parses it into out and closes the connection. Returns
 * false when no whole response came. */
bool harness_roundtrip(struct harness *h, const void *raw, size_t len,
                       struct harness_response *out);
/* Counts complete responses in data (responses to non-HEAD requests). */
int harness_count_responses(const char *data, size_t len, bool eof);
/* The first value of header name in r->head ("" when absent; heap copy in
 * a static ring of small buffers, valid for a few calls). */
const char *harness_header(const struct harness_response *r, const char *name);
/* How many times header name appears in r->head. */
int harness_header_count(const struct harness_response *r, const char *name);
