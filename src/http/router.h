/* The route table: (method set, exact path) -> handler, plus prefix routes
 * (the MCP mount "{mount}" and "{mount}/...", the "{mount}/.well-known/"
 * carve-out), each with per-route options the connection layer applies
 * right after the head: body cap, head check, rate-limit bucket.
 *
 * Built once at start-up, read-only afterwards, shared by every worker.
 * Matching is pure (no I/O): paths are compared literally, byte for byte,
 * as sent (SPEC.md 3.0.2: no dot-segment cleaning, no trailing-slash
 * redirect, no percent-decoding). Exact routes win over prefix routes; the
 * longest prefix wins among prefix routes. A route that allows GET also
 * answers HEAD (SPEC preface fix 10). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "http/parser.h"
#include "metrics.h"

struct buf;
struct http_request;

/* Method sets: OR of HTTP_METHODS_BIT(m). */
#define HTTP_METHODS_BIT(m) (1u << (m))
#define HTTP_METHODS_GET HTTP_METHODS_BIT(HTTP_METHOD_GET)
#define HTTP_METHODS_POST HTTP_METHODS_BIT(HTTP_METHOD_POST)
#define HTTP_METHODS_ANY ((1u << HTTP_METHOD_COUNT) - 1u)

/* A handler owns the response from here on: it ends it (http_output_end,
 * an http_reply_* helper) now or later. A handler that returns before the
 * response has ended must first register an abort callback
 * (http_request_on_abort) so it can cancel its work if the client leaves.
 * arg is the route's. */
typedef void (*http_handler_fn)(struct http_request *req, void *arg);

/* Runs after the head, before one body byte is read (after routing, the
 * method check, the rate limiter and the body cap). Returns true to read
 * the body and call the handler; false after replying itself (e.g. the
 * mount's bearer check answering 401), and the body is then never read. */
typedef bool (*http_head_check_fn)(struct http_request *req, void *arg);

/* Zero-initialised options are the defaults: 1 MiB body cap, no head
 * check, no rate limit, the plain 413 and 429. */
struct http_route_opts {
    uint64_t body_max;             /* 0: BOUNDS_OAUTH_BODY_MAX */
    http_head_check_fn head_check; /* NULL: none */
    bool rate_limited;             /* ask the rate limiter, with bucket: */
    enum metrics_endpoint bucket;  /* SPEC.md 3.0.3 (the mount counts its own, after auth) */
    /* Answers a body over body_max (a Content-Length known from the head,
     * or a chunked body crossing the cap) instead of the plain-text 413;
     * the OAuth endpoints use it for their JSON error (SPEC.md 3.0.7).
     * It must end the response synchronously. NULL: plain 413. */
    http_handler_fn too_large;
    /* Answers a request the rate limiter refused instead of the plain 429
     * (http_reply_rate_limited); the CORS endpoints add their origin
     * header so a browser client can read it. It must end the response
     * synchronously. NULL: the plain 429. */
    http_handler_fn rate_limited_reply;
    /* The route label of the request timing metrics (metrics.h); its
     * preflight gets the same. Zero: "other". */
    enum metrics_route metric_route;
};

struct http_route {
    unsigned methods;
    char *path; /* exact path, or the prefix */
    size_t path_len;
    bool prefix;
    http_handler_fn handler;
    void *arg;
    struct http_route_opts opts; /* body_max already defaulted */
};

/* The rate-limiter call site: true allows. The limiter (ratelimit.c)
 * installs itself with http_router_set_rate_limiter(); until then every
 * request is allowed. Called on
 * the worker's thread for every request whose route has a bucket; it may
 * read the request (peer address, forwarded-for headers) to build the key
 * and may add headers to the response, but must not reply. */
typedef bool (*http_rate_limit_fn)(void *arg, enum metrics_endpoint bucket,
                                   struct http_request *req);

/* The asynchronous rate-limit gate (issue 14): for routes whose bucket is
 * in the gate's set, the limiter is asked at dispatch -- after the body
 * was read, so it may key by what the request names (a client_id) -- and
 * may answer later (a shared budget in Redis). It must register an abort
 * callback (http_request_on_abort) while it waits, clear it before it
 * answers, and answer exactly once with http_conn_rate_gate_done(), at
 * once or later, unless the request was aborted first. The head-time
 * limiter above is still asked first about every rate-limited route (it
 * may pass the gate's buckets, or check a coarser budget for them). */
typedef void (*http_rate_gate_fn)(void *arg, enum metrics_endpoint bucket,
                                  struct http_request *req);

/* Where a route definition's path goes: the MCP mount is a run-time value,
 * so a definition names its place relative to it. */
enum http_route_place {
    HTTP_ROUTE_FIXED = 0,    /* path as written */
    HTTP_ROUTE_AFTER_MOUNT,  /* path + mount ("/.well-known/oauth-protected-resource/mcp") */
    HTTP_ROUTE_BEFORE_MOUNT, /* mount + path ("/mcp/.well-known/") */
};

/* One route's whole policy, written beside its handler (tmux's cmd_entry)
 * and registered by the wiring's list with the handler's argument. */
struct http_route_def {
    const char *path;
    enum http_route_place place;
    bool prefix; /* a prefix route (http_router_add_prefix) */
    unsigned methods;
    http_handler_fn handler;
    struct http_route_opts opts; /* body cap, head check, rate-limit bucket, 413 */
    /* CORS: non-NULL registers an OPTIONS route on the same path answered
     * by preflight with preflight_arg; NULL: the path answers no preflight. */
    http_handler_fn preflight;
    const char *preflight_arg;
};

struct http_router;

struct http_router *http_router_new(void);
/* NULL is a no-op. */
void http_router_free(struct http_router *r);

/* Registers methods on an exact path. opts may be NULL (defaults). path is
 * copied. Registering the same path twice adds methods; a method claimed
 * by two routes of one path is a programming error (assert). */
void http_router_add(struct http_router *r, unsigned methods, const char *path,
                     http_handler_fn handler, void *arg, const struct http_route_opts *opts);
/* A prefix route. "/mcp" matches "/mcp" and "/mcp/..." but not "/mcpx";
 * a prefix ending in '/' ("/mcp/.well-known/") matches what starts with it. */
void http_router_add_prefix(struct http_router *r, unsigned methods, const char *prefix,
                            http_handler_fn handler, void *arg, const struct http_route_opts *opts);

/* Registers def (and its preflight) with arg as the handler's argument.
 * mount is joined as def->place says; NULL counts as "". */
void http_router_add_def(struct http_router *r, const struct http_route_def *def, const char *mount,
                         void *arg);

void http_router_set_rate_limiter(struct http_router *r, http_rate_limit_fn fn, void *arg);
/* buckets: a bit (1u << bucket) per bucket the gate takes; 0 removes it. */
void http_router_set_rate_gate(struct http_router *r, http_rate_gate_fn fn, void *arg,
                               uint32_t buckets);
/* Does rt go through the gate? */
bool http_router_gated(const struct http_router *r, const struct http_route *rt);
/* Calls the gate for rt (http_router_gated must be true). */
void http_router_gate_start(const struct http_router *r, const struct http_route *rt,
                            struct http_request *req);
/* Asks the installed limiter about route rt; true (allow) when the route
 * is not rate-limited or no limiter is installed. */
bool http_router_rate_limit_allows(const struct http_router *r, const struct http_route *rt,
                                   struct http_request *req);

/* Finds the route for (method, path). NULL when none: *out_allowed is then
 * 0 for "no such path" (404) or the method set the path accepts (405,
 * HEAD included wherever GET is). */
const struct http_route *http_router_match(const struct http_router *r, enum http_method method,
                                           struct slice path, unsigned *out_allowed);

/* The Allow header value for a method set, e.g. "GET, HEAD", into b.
 * -1 at b's cap. */
int http_router_format_allow(unsigned methods, struct buf *b) __attribute__((warn_unused_result));
