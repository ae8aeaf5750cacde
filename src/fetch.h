/* Outbound control-plane HTTP: IdP discovery, JWKS, code exchange.
 *
 * libcurl's multi-socket API driven by one event loop: a struct fetch
 * belongs to one event_base (one per worker) and is used only on that
 * loop's thread. Requests are one-shot (GET or POST, whole response
 * collected, capped), never follow redirects, verify TLS against the
 * system CA bundle, and honour HTTPS_PROXY / NO_PROXY the way curl does
 * (curl reads them itself). Whoever starts a request owns its handle and
 * may cancel it; after fetch_cancel the callback never runs. This module
 * never logs: the caller decides what a failure means.
 *
 * curl's headers stay inside fetch.c. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

#include "base/buf.h"

struct event_base;
struct fetch;
struct fetch_request;
struct worker;

enum fetch_rc {
    FETCH_OK = 0,        /* a complete HTTP response arrived (any status) */
    FETCH_ERR_TIMEOUT,   /* the request's deadline passed */
    FETCH_ERR_CONNECT,   /* DNS, proxy or TCP connect failed */
    FETCH_ERR_TLS,       /* handshake or certificate verification failed */
    FETCH_ERR_TOO_LARGE, /* the body passed max_response_bytes */
    FETCH_ERR_BAD_URL,   /* not an absolute http(s) URL */
    FETCH_ERR_NETWORK,   /* connection reset, truncated or malformed response */
    FETCH_ERR_STOPPED,   /* fetch_blocking only: the stop flag was raised */
    FETCH_ERR_INTERNAL,  /* anything else curl reported */
    FETCH_ERR_ADDRESS,   /* check_addr refused every address it was shown */
    FETCH_RC_COUNT,
};

/* Stable snake_case name for logs ("timeout", "too_large", ...). */
const char *fetch_rc_str(enum fetch_rc rc);

enum fetch_method {
    FETCH_GET = 0,
    FETCH_POST,
};

/* Judges an address curl is about to connect to (port included); false
 * refuses it. Runs on the loop's thread, inside curl. */
typedef bool (*fetch_addr_check_fn)(void *arg, const struct sockaddr *addr);

struct fetch_options {
    enum fetch_method method;
    const char *url; /* absolute http or https URL */
    /* Extra request headers as "Name: value", NULL-terminated; may be NULL.
     * Content-Type of a POST body goes here. */
    const char *const *headers;
    const char *body; /* POST body, copied at start; may be NULL */
    size_t body_len;
    uint64_t timeout_ms;       /* whole request, connect included; > 0 */
    size_t max_response_bytes; /* 0 means BOUNDS_FETCH_RESPONSE_MAX */
    /* For fetching URLs an untrusted party chose (client metadata
     * documents); all optional. */
    bool https_only;             /* refuse every scheme but https */
    const char *ca_file;         /* PEM bundle replacing the system CAs; NULL or "" = system */
    uint64_t connect_timeout_ms; /* TCP + TLS connect; 0 = timeout_ms */
    /* Called with every address curl is about to connect to (after its own
     * name resolution, so what is checked is exactly what is connected to:
     * no DNS rebinding between check and use); false refuses it and the
     * request ends FETCH_ERR_ADDRESS. With a check the request also goes
     * direct (no HTTPS_PROXY: a proxy would connect, for us, to an address
     * the check never sees), never reuses a pooled connection (one opened
     * without this check) and closes its own afterwards. check_arg must
     * outlive the request. */
    fetch_addr_check_fn check_addr;
    void *check_arg;
};

/* What came back. Owns everything it points to; fetch_response_cleanup
 * releases it. On failure only rc and detail are meaningful. */
struct fetch_response {
    enum fetch_rc rc;
    long status;         /* HTTP status, 0 when rc != FETCH_OK */
    char *content_type;  /* the Content-Type value as sent, NULL when absent */
    char *cache_control; /* the last Cache-Control header, NULL when absent */
    char *expires;       /* the last Expires header, NULL when absent */
    struct buf body;     /* the body, NUL-terminated; take it with buf_take() */
    char *detail;        /* curl's one-line explanation of a failure, or NULL;
                          * for logs only (never shown to clients) */
};

void fetch_response_cleanup(struct fetch_response *r);

/* Called once per request on the loop's thread, unless the request was
 * cancelled first. resp is owned by the fetch and valid only during the
 * call; the callee may take resp->body or resp->content_type (set the
 * pointer to NULL after taking the latter). The request handle is already
 * gone when this runs: never cancel it from here. */
typedef void (*fetch_done_fn)(void *arg, struct fetch_response *resp);

/* One fetch per event loop. Never NULL (allocation failure is fatal); the
 * first call also initialises libcurl process-wide. */
struct fetch *fetch_new(struct event_base *base);
/* Cancels every outstanding request (no callback runs) and frees the fetch.
 * NULL is a no-op. Must not be called from inside one of its callbacks. */
void fetch_free(struct fetch *f);

/* Opens w's fetch (fetch_new on its loop) in its WORKER_SLOT_FETCH, closed
 * with the worker's slots (worker.h). */
void fetch_attach_worker(struct worker *w);
/* w's fetch, or NULL when none is attached. Borrowed. */
struct fetch *fetch_of_worker(const struct worker *w);

/* Starts a request. Everything in opt is copied; the caller may release it
 * at once. Returns the handle (owned by the fetch until the callback runs
 * or fetch_cancel is called), or NULL when the request could not even be
 * set up (bad options): then no callback will run. */
struct fetch_request *fetch_start(struct fetch *f, const struct fetch_options *opt,
                                  fetch_done_fn cb, void *arg) __attribute__((warn_unused_result));
/* Stops the request and frees it; its callback never runs. NULL is a no-op.
 * Only for a request whose callback has not started. */
void fetch_cancel(struct fetch_request *req);

/* Number of requests in flight (tests and shutdown checks). */
size_t fetch_pending(const struct fetch *f);

/* Start-up convenience: runs one request to completion on a private event
 * loop on the calling thread and fills *out (always; release it with
 * fetch_response_cleanup). stop, when not NULL, is polled every 100 ms; once
 * it reads true the request is abandoned and out->rc is FETCH_ERR_STOPPED.
 * A signal handler may set it (atomic_bool is lock-free here). Returns
 * out->rc. */
enum fetch_rc fetch_blocking(const struct fetch_options *opt, const atomic_bool *stop,
                             struct fetch_response *out);
