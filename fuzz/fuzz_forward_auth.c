/* Fuzz target: the forward-auth description (proxy/forward_auth.h), the
 * headers a gateway -- or a client through it -- sends to the decision
 * endpoint.
 *
 * Input: one flag byte, then '\n'-separated parts: the decision request's
 * own method and path, then up to two values for each description field
 * in enum order (X-Original-Method, X-Forwarded-Method, X-Original-URI,
 * X-Forwarded-Uri). Flag bit 2f+k says whether value k of field f is
 * present (absent values still consume their part).
 *
 * Checked: no out-of-bounds access; the same input gives the same answer;
 * an accepted description has a method that is the own method or an HTTP
 * token from a method field, and a path that starts with '/', holds no
 * '?', and lies inside the input; a field sent twice is always refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/field.h"
#include "proxy/forward_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PARTS (2 + PROXY_FORWARD_AUTH_FIELD_COUNT * PROXY_FORWARD_AUTH_FIELD_VALUES)

static bool
inside(struct slice s, const uint8_t *data, size_t size)
{
    return s.len == 0 ||
           ((const uint8_t *)s.ptr >= data && (const uint8_t *)s.ptr + s.len <= data + size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    unsigned flags = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    struct slice parts[PARTS];
    size_t n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len && n < PARTS; i++) {
        if (i == len || text[i] == '\n') {
            parts[n++] = slice_make(text + start, i - start);
            start = i + 1;
        }
    }
    while (n < PARTS) {
        parts[n++] = slice_make(text + len, 0);
    }
    struct proxy_forward_auth_input in;
    memset(&in, 0, sizeof(in));
    in.own_method = parts[0];
    in.own_path = parts[1];
    bool twice = false;
    for (int f = 0; f < PROXY_FORWARD_AUTH_FIELD_COUNT; f++) {
        for (int k = 0; k < PROXY_FORWARD_AUTH_FIELD_VALUES; k++) {
            if (flags & (1u << (2 * f + k))) {
                in.values[f][in.counts[f]++] = parts[2 + 2 * f + k];
            }
        }
        twice |= in.counts[f] > 1;
    }
    struct proxy_forward_auth_target t;
    struct proxy_forward_auth_target t2;
    const char *why = proxy_forward_auth_describe(&in, &t);
    const char *why2 = proxy_forward_auth_describe(&in, &t2);
    if ((why == NULL) != (why2 == NULL)) {
        abort();
    }
    if (why != NULL) {
        return 0;
    }
    if (twice || !slice_eq(t.method, t2.method) || !slice_eq(t.path, t2.path)) {
        abort();
    }
    if (!inside(t.method, data, size) || !inside(t.path, data, size)) {
        abort();
    }
    if (!slice_eq(t.method, in.own_method) && !field_name_is_token(t.method)) {
        abort();
    }
    if (t.path.len == 0 || t.path.ptr[0] != '/' || memchr(t.path.ptr, '?', t.path.len) != NULL) {
        abort();
    }
    (void)proxy_forward_auth_body_required(t.method);
    return 0;
}
