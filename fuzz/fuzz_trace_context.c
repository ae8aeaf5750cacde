/* Fuzz target: the W3C Trace Context fields a client sends (http/trace.h).
 * The input is split at '\n': every line is tried as a traceparent and as
 * a tracestate, and the lines together as the request's traceparent set.
 *
 * Properties: an accepted traceparent comes out as exactly 55 characters
 * of version 00 with the input's ids and flags, and parses again to
 * itself; a refused one leaves the output untouched; the trace taken from
 * the lines is always a valid traceparent, the client's only when there
 * was exactly one valid line; an accepted tracestate line is within the
 * bounds and holds only printable ASCII. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "http/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINES_MAX 8

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct slice lines[LINES_MAX];
    size_t n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size && n < LINES_MAX; i++) {
        if (i == size || data[i] == '\n') {
            lines[n++] = slice_make((const char *)data + start, i - start);
            start = i + 1;
        }
    }
    size_t valid = 0;
    for (size_t i = 0; i < n; i++) {
        char out[HTTP_TRACEPARENT_LEN + 1] = "x";
        if (http_trace_parse_traceparent(lines[i], out) == NULL) {
            valid++;
            char again[HTTP_TRACEPARENT_LEN + 1];
            if (strlen(out) != HTTP_TRACEPARENT_LEN || out[0] != '0' || out[1] != '0' ||
                memcmp(out + 2, lines[i].ptr + 2, HTTP_TRACEPARENT_LEN - 2) != 0 ||
                http_trace_parse_traceparent(slice_from_cstr(out), again) != NULL ||
                strcmp(again, out) != 0) {
                abort();
            }
        } else if (strcmp(out, "x") != 0) {
            abort();
        }
        size_t members = 0;
        if (http_trace_check_tracestate(lines[i], &members) == NULL) {
            if (lines[i].len > BOUNDS_TRACESTATE_MAX || members > BOUNDS_TRACESTATE_MEMBERS_MAX) {
                abort();
            }
            for (size_t k = 0; k < lines[i].len; k++) {
                unsigned char c = (unsigned char)lines[i].ptr[k];
                if ((c < 0x20 && c != '\t') || c > 0x7e) {
                    abort();
                }
            }
        }
    }
    struct http_trace t;
    http_trace_from_fields(lines, n, &t);
    char check[HTTP_TRACEPARENT_LEN + 1];
    if (http_trace_parse_traceparent(slice_from_cstr(t.traceparent), check) != NULL) {
        abort();
    }
    if (t.incoming && !(n == 1 && valid == 1)) {
        abort();
    }
    return 0;
}
