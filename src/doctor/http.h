/* One synchronous HTTP request for the doctor (libcurl's easy interface):
 * no redirects followed, no credentials of any kind (no netrc, cookies or
 * Authorization), certificates verified against the system store or a
 * given CA file, every request bounded by BOUNDS_DOCTOR_REQUEST_MS and by
 * the run's overall deadline, bodies capped at BOUNDS_DOCTOR_BODY_MAX. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"

enum doctor_http_rc {
    DOCTOR_HTTP_OK = 0,      /* an answer came (any status) */
    DOCTOR_HTTP_UNREACHABLE, /* name did not resolve, or no connection */
    DOCTOR_HTTP_TLS,         /* handshake or certificate verification failed */
    DOCTOR_HTTP_TIMEOUT,     /* the request's or the run's time ran out */
    DOCTOR_HTTP_ERROR,       /* anything else (body past the cap, protocol error) */
    DOCTOR_HTTP_RC_COUNT,
};

struct doctor_http_opts {
    const char *ca_file;  /* NULL: the system CA store */
    uint64_t deadline_ms; /* clock_mono_ms() value past which nothing is sent */
};

struct doctor_http_req {
    const char *method;
    const char *url;
    const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
    const char *body;           /* NULL: none */
    uint64_t timeout_ms;        /* 0: BOUNDS_DOCTOR_REQUEST_MS */
    bool want_certinfo;         /* fill tls_summary (https only) */
};

struct doctor_http_resp {
    enum doctor_http_rc rc;
    long status;     /* 0 when no status line arrived */
    struct buf body; /* capped; complete only when rc is DOCTOR_HTTP_OK */
    uint64_t elapsed_ms;
    char error[256]; /* curl's reason when rc is not OK */
    char tls_summary[512];
    char primary_ip[64]; /* the address connected to; "" when none */
    void *easy;          /* libcurl's handle, kept for the header lookups */
};

/* Sends req; fills *out (release with doctor_http_resp_cleanup, whatever
 * the outcome). Returns out->rc. */
enum doctor_http_rc doctor_http_do(const struct doctor_http_opts *opts,
                                   const struct doctor_http_req *req, struct doctor_http_resp *out);
void doctor_http_resp_cleanup(struct doctor_http_resp *r);

/* The index-th value of header `name` in the answer (borrowed, valid until
 * cleanup); false when there is none. */
bool doctor_http_header(const struct doctor_http_resp *r, const char *name, size_t index,
                        struct slice *out);

/* curl_global_init / curl_global_cleanup, once per run. */
bool doctor_http_global_init(void);
void doctor_http_global_cleanup(void);
