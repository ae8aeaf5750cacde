/* Fuzz target: the upstream response parser (proxy/response) and the
 * response-side header policy (proxy/headers) on arbitrary bytes.
 *
 * Input: one flag byte, then the bytes an upstream sends. Flag bit 0: the
 * request was HEAD; bit 1: the upstream closes after the last byte (EOF);
 * the byte also picks where the second run splits the input. The response
 * is parsed twice -- whole, and in two pieces -- and both runs must agree
 * on the outcome (done or refused), the status and the body bytes (no rule
 * may depend on how the network splits bytes). Every head handed out must
 * satisfy what the forward relies on: a final status 200-599, token names,
 * no control byte but HTAB in a value, never both a length and chunked, the
 * caps of bounds.h, no body for HEAD/204/304. The head then goes through
 * the relay filter and, for 307/308, the hop decision. Any violation
 * aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/scan.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "proxy/headers.h"
#include "proxy/response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
    enum proxy_response_event end;
    int status;
    uint64_t body;
    bool reusable;
};

static int
count_body(void *arg, const char *data, size_t len)
{
    (void)data;
    struct run *r = arg;
    r->body += len;
    return 0;
}

static void
check_head(const struct proxy_response_head *h, bool is_head)
{
    if (h->status < 200 || h->status > 599 || h->version_minor > 1 ||
        h->header_count > BOUNDS_UPSTREAM_HEADER_COUNT_MAX || h->content_length < -1) {
        abort();
    }
    if (h->content_length >= 0 && h->chunked) {
        abort();
    }
    if ((is_head || h->status == 204 || h->status == 304) && h->has_body) {
        abort();
    }
    for (size_t i = 0; i < h->header_count; i++) {
        struct slice n = h->headers[i].name;
        struct slice v = h->headers[i].value;
        if (n.len == 0 || n.len > BOUNDS_HEADER_NAME_MAX) {
            abort();
        }
        for (size_t k = 0; k < n.len; k++) {
            if (!scan_is_tchar((unsigned char)n.ptr[k])) {
                abort();
            }
        }
        for (size_t k = 0; k < v.len; k++) {
            unsigned char c = (unsigned char)v.ptr[k];
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                abort();
            }
        }
    }
    bool keep[BOUNDS_UPSTREAM_HEADER_COUNT_MAX];
    proxy_headers_response_filter(h->headers, h->header_count, true, keep);
    for (size_t i = 0; i < h->header_count; i++) {
        if (keep[i] && (slice_case_eq_cstr(h->headers[i].name, "connection") ||
                        slice_case_eq_cstr(h->headers[i].name, "transfer-encoding") ||
                        slice_case_eq_cstr(h->headers[i].name, "x-ratelimit-limit"))) {
            abort(); /* hop-by-hop and rate-limit fields never reach the client */
        }
    }
    char *next = NULL;
    enum proxy_response_hop hop = proxy_response_hop_decide(h, "http://127.0.0.1:8081/mcp", 1,
                                                            BOUNDS_UPSTREAM_HOPS_MAX, &next);
    if ((hop == PROXY_HOP_FOLLOW) != (next != NULL) ||
        (hop != PROXY_HOP_RELAY && h->status != 307 && h->status != 308)) {
        abort();
    }
    if (next != NULL && strncmp(next, "http://127.0.0.1:8081/", 22) != 0) {
        abort(); /* followed off the origin */
    }
    xfree(next);
}

static struct run
parse(const uint8_t *data, size_t size, size_t split, bool is_head, bool eof)
{
    struct run r = {.end = PROXY_RESPONSE_MORE};
    struct proxy_response *p = proxy_response_new(is_head);
    const char *in = (const char *)data;
    size_t off = 0;
    size_t avail = split < size ? split : size;
    bool after_head = false;
    for (int guard = 0; guard < 1000000; guard++) {
        size_t used = 0;
        enum proxy_response_event ev = proxy_response_feed(p, in + off, avail - off, &used);
        if (used > avail - off) {
            abort();
        }
        off += used;
        if (ev == PROXY_RESPONSE_HEAD) {
            if (after_head) {
                abort(); /* one final head per response */
            }
            after_head = true;
            const struct proxy_response_head *h = proxy_response_head(p);
            check_head(h, is_head);
            r.status = h->status;
            proxy_response_accept_body(p, count_body, &r);
            continue;
        }
        if (ev == PROXY_RESPONSE_DONE || ev == PROXY_RESPONSE_ERROR) {
            r.end = ev;
            break;
        }
        if (off == avail) {
            if (avail == size) {
                break;
            }
            avail = size;
        }
    }
    if (r.end == PROXY_RESPONSE_MORE && eof) {
        r.end = proxy_response_finish(p);
    }
    r.reusable = proxy_response_is_reusable(p);
    if (r.end == PROXY_RESPONSE_ERROR && proxy_response_error(p)[0] == '\0') {
        abort(); /* every refusal has a reason */
    }
    if (r.end != PROXY_RESPONSE_DONE && r.reusable) {
        abort();
    }
    proxy_response_free(p);
    return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    uint8_t flags = data[0];
    data++;
    size--;
    bool is_head = (flags & 1) != 0;
    bool eof = (flags & 2) != 0;
    struct run whole = parse(data, size, size, is_head, eof);
    size_t split = (size_t)(flags >> 2) * size / 64;
    struct run pieces = parse(data, size, split, is_head, eof);
    if (whole.end != pieces.end || whole.status != pieces.status ||
        whole.reusable != pieces.reusable ||
        (whole.end == PROXY_RESPONSE_DONE && whole.body != pieces.body)) {
        abort();
    }
    return 0;
}
