/* Fuzz target: the list-answer filter (proxy/list_filter.h), the SSE
 * re-framer (proxy/sse_filter.h) and their composition
 * (proxy/list_response.h).
 *
 * Input: byte 0 picks the kind (bits 0-1), JSON or SSE (bit 2) and a split
 * point (the rest of the byte, scaled); the rest is the upstream's body.
 * The request's id is 1. The predicate hides names of odd length.
 * Checks, each an abort when broken:
 *  - the body fed whole, fed split at the chosen point, and fed one byte
 *    at a time gives the same output and the same result;
 *  - the output never exceeds what the cap allows;
 *  - a message the filter rewrote, filtered again, hides nothing (no
 *    hidden entry survives a rewrite);
 *  - in JSON mode the output is the input, a rewrite, or the error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "proxy/list_filter.h"
#include "proxy/list_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small, so the overflow paths are reached by small inputs too. */
#define FUZZ_CAP 4096

static bool
visible(void *arg, enum proxy_list_filter_kind kind, struct slice name)
{
    (void)arg;
    (void)kind;
    return name.len % 2 == 0;
}

static int
collect(void *arg, const char *data, size_t len)
{
    return buf_append(arg, data, len);
}

struct outcome {
    struct buf out;
    enum proxy_list_response_result result;
};

/* step 0: whole; SIZE_MAX: one byte at a time; else split at step. */
static void
run(const struct proxy_list_filter *f, bool sse, const char *body, size_t n, size_t step,
    struct outcome *o)
{
    buf_init(&o->out, 8 * FUZZ_CAP + 1024);
    struct proxy_list_response *r = proxy_list_response_new(f, FUZZ_CAP, collect, &o->out);
    struct slice ct = sse ? SLICE_LIT("text/event-stream") : SLICE_LIT("application/json");
    if (!proxy_list_response_begin(r, 200, ct, SLICE_NULL)) {
        abort();
    }
    int rc = 0;
    if (step == SIZE_MAX) {
        for (size_t i = 0; i < n; i++) {
            rc |= proxy_list_response_body(r, body + i, 1);
        }
    } else if (step > 0 && step < n) {
        rc |= proxy_list_response_body(r, body, step);
        rc |= proxy_list_response_body(r, body + step, n - step);
    } else {
        rc |= proxy_list_response_body(r, body, n);
    }
    rc |= proxy_list_response_end(r);
    if (rc != 0) {
        abort(); /* the output buffer is sized for any outcome */
    }
    o->result = proxy_list_response_result(r);
    proxy_list_response_free(r);
}

static void
check_same(const struct outcome *a, const struct outcome *b)
{
    if (a->result != b->result || a->out.len != b->out.len ||
        (a->out.len > 0 && memcmp(a->out.ptr, b->out.ptr, a->out.len) != 0)) {
        abort();
    }
}

/* A rewrite, filtered again, hides nothing. */
static void
check_message(const struct proxy_list_filter *f, const char *body, size_t n)
{
    struct buf out;
    buf_init(&out, 2 * FUZZ_CAP + 64);
    size_t hidden = 0;
    if (proxy_list_filter_message(f, slice_make(body, n), FUZZ_CAP, &out, &hidden) ==
        PROXY_LIST_FILTER_REWRITTEN) {
        struct buf again;
        buf_init(&again, 2 * FUZZ_CAP + 64);
        size_t hidden2 = 0;
        if (hidden == 0 ||
            proxy_list_filter_message(f, buf_slice(&out), 2 * FUZZ_CAP + 64, &again, &hidden2) !=
                PROXY_LIST_FILTER_PASS ||
            hidden2 != 0) {
            abort();
        }
        buf_cleanup(&again);
    }
    buf_cleanup(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    enum proxy_list_filter_kind kind = (enum proxy_list_filter_kind)(data[0] & 3);
    bool sse = (data[0] & 4) != 0;
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    size_t split = n * (size_t)(data[0] >> 3) / 31;
    struct proxy_list_filter f;
    if (proxy_list_filter_init(&f, kind, SLICE_LIT("1"), visible, NULL) != 0) {
        abort();
    }
    struct outcome whole, cut, bytes;
    run(&f, sse, body, n, 0, &whole);
    run(&f, sse, body, n, split, &cut);
    run(&f, sse, body, n, SIZE_MAX, &bytes);
    check_same(&whole, &cut);
    check_same(&whole, &bytes);
    if (!sse && whole.result == PROXY_LIST_RESPONSE_UNCHANGED &&
        (whole.out.len != n || (n > 0 && memcmp(whole.out.ptr, body, n) != 0))) {
        abort();
    }
    check_message(&f, body, n);
    buf_cleanup(&whole.out);
    buf_cleanup(&cut.out);
    buf_cleanup(&bytes.out);
    proxy_list_filter_cleanup(&f);
    return 0;
}
