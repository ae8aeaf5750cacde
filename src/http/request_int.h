/* Private to src/http/ (mod_auth_openidc's *_int.h idea): the definition of
 * struct http_request, shared by the three files that build it -- conn.c
 * (creates, dispatches, finishes), request.c (accessors, access log) and
 * output.c (the response). Nothing outside src/http/ includes this; every
 * other module goes through http/request.h and http/output.h.
 *
 * The request and its response never name the connection under them: the
 * connection installs a struct http_stream (an interface of six calls)
 * when it creates the request. HTTP/1 is http/conn.c's; a later HTTP/2
 * front end would install one per stream, and request.c, output.c and
 * reply.c would not change. (The response head and chunked framing written
 * into the output buffer are HTTP/1's; output.c is where an HTTP/2 front
 * would branch.) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ipaddr.h"
#include "base/slice.h"
#include "http/ip_budget.h"
#include "http/output.h"
#include "http/parser.h"
#include "http/request.h"
#include "http/trace.h"

struct evbuffer;
struct http_route;

/* The connection's side of a request. Every call gets the installed conn
 * pointer; none calls back into the request synchronously except where
 * said. */
struct http_stream_ops {
    /* The client output buffer: response bytes go here (moved in with
     * evbuffer_add_buffer where they already are in one, never copied). */
    struct evbuffer *(*output)(void *conn);
    /* May the connection stay open after this response? (the client asked
     * for keep-alive, the body was read, no error, not draining) */
    bool (*may_keep_alive)(const void *conn, const struct http_request *req);
    /* The connection closes once the current response is out. */
    void (*close_after)(void *conn);
    /* The response ended cleanly (end) or was cut short (abort): the
     * request finishes now (http_request_finish, from inside this call),
     * and the connection moves on (next request, or close) from the loop. */
    void (*end)(void *conn, struct http_request *req);
    void (*abort)(void *conn, struct http_request *req);
    /* A drain callback was registered on the request: call it from the
     * loop once the output is at or below BOUNDS_OUTPUT_LOW_WATER. */
    void (*watch_drain)(void *conn);
};

struct http_stream {
    const struct http_stream_ops *ops;
    void *conn; /* the ops' first argument; NULL once the request is let go */
};

/* A pending response header (arena copies). */
/* A response field: NUL-terminated text (the arena's copies, or static
 * strings of this layer's own) with its lengths, so the head is written
 * without measuring each string again. */
struct http_out_header {
    const char *name;
    const char *value;
    uint32_t name_len; /* both below BOUNDS_HEADER_BYTES_MAX */
    uint32_t value_len;
};

enum http_out_state {
    HTTP_OUT_PENDING = 0, /* nothing sent yet */
    HTTP_OUT_STREAMING,   /* head sent, body going */
    HTTP_OUT_ENDED,       /* ended or aborted */
};

enum http_out_framing {
    HTTP_FRAME_NONE = 0, /* HEAD, 204, 304: no body */
    HTTP_FRAME_LENGTH,   /* Content-Length */
    HTTP_FRAME_CHUNKED,  /* HTTP/1.1, unknown length */
    HTTP_FRAME_CLOSE,    /* HTTP/1.0, unknown length: the close ends the body */
};

struct http_request_finish_hook {
    http_request_finish_fn fn;
    void *arg;
};

struct http_request {
    struct http_stream stream; /* .conn NULL once finished (the connection moved on) */
    struct worker *worker;
    struct arena *arena;
    bool is_public;
    http_request_log_skip_fn log_skip; /* NULL: every public request is logged */
    const void *log_skip_arg;

    char id[HTTP_REQUEST_ID_LEN + 1];
    struct ipaddr peer;
    char client_ip[IPADDR_TEXT_MAX];
    uint64_t start_ns;

    /* The head (arena copies; empty slices until set). */
    bool has_head;
    enum http_method method;
    const char *method_name;
    struct slice path;
    struct slice path_decoded;
    struct slice query;
    bool has_query;
    unsigned version_minor;
    struct field *headers;
    size_t header_count;
    int64_t content_length;
    bool chunked;
    bool keep_alive; /* what the client asked for */
    struct evbuffer *body;
    bool body_pulled;
    /* The body's share of the server's body budget, given back when the
     * request is freed; the key it is counted under (arena, NULL until the
     * first body byte). */
    struct http_ip_budget_hold body_hold;
    const char *client_key;
    const struct http_route *route;
    void *route_state; /* http_request_set_route_state */

    /* The response. */
    int status;
    int status_sent; /* 0 until the head went out */
    struct http_out_header *out;
    size_t out_count;
    size_t out_cap;
    enum http_out_state out_state;
    enum http_out_framing framing;
    uint64_t remaining; /* HTTP_FRAME_LENGTH: bytes still owed */
    uint64_t resp_bytes;
    bool broken; /* more bytes than declared were offered */
    http_output_drain_fn drain_fn;
    void *drain_arg;

    http_request_abort_fn abort_fn;
    void *abort_arg;
    struct http_request_finish_hook finish[HTTP_REQUEST_FINISH_HOOKS_MAX];
    size_t finish_count;

    /* Optional access-log fields (arena copies). */
    const char *log_sub;
    const char *log_email;
    const char *log_rpc_method;
    const char *log_rpc_tool;
    const char *log_rpc_id;

    bool log_skipped;
    bool trace_set; /* trace is filled (http_request_trace) */
    struct http_trace trace;
    bool dispatched; /* the handler was called */
    bool finished;
    bool client_gone;
    bool aborted; /* ended without a clean end */
    /* Finished with an access-log line still to write (http_request_free
     * writes it); end_ns is when it finished, for its "duration". */
    bool log_pending;
    uint64_t end_ns;
};

/* ---- for conn.c ---- */

/* What the connection gives a new request (all borrowed, copied in). */
struct http_request_origin {
    struct worker *worker;
    struct http_stream stream;
    bool is_public; /* security headers, X-Request-Id, access log */
    /* The server's access-log predicate (http/server_opts.h); NULL: none. */
    http_request_log_skip_fn log_skip;
    const void *log_skip_arg;
    const struct ipaddr *peer; /* NULL: unknown */
    const char *client_ip;     /* its text, "" or NULL when unknown */
    uint64_t start_ns;         /* monotonic, the request's first byte */
};

/* A request from o. Public requests get a fresh id and the security
 * headers. Never NULL. */
struct http_request *http_request_new(const struct http_request_origin *o);
/* Copies the parsed head into the arena. -1 when the arena cap is hit. */
int http_request_set_head(struct http_request *req, const struct http_head *h)
    __attribute__((warn_unused_result));
/* For a request refused before its head was complete: what is known of the
 * method and path, for the log line. */
void http_request_set_partial(struct http_request *req, struct slice method, struct slice path);
/* Runs the finish hooks, once, and fixes what the access-log line will
 * say; the line itself is written by http_request_free, which the
 * connection calls once the response's bytes were handed to the socket:
 * formatting it is off the response's latency path. */
void http_request_finish(struct http_request *req);
/* Calls the abort callback once (client gone), then finishes. */
void http_request_client_gone(struct http_request *req);
/* Writes the pending access-log line, then frees the request (arena,
 * body). NULL is a no-op. */
void http_request_free(struct http_request *req);

/* ---- for request.c ---- */

/* Adds the security headers of SPEC.md 3.0.1 item 6 to a new response. */
void http_output_add_security_headers(struct http_request *req);
