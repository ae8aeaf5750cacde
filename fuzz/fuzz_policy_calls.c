/* Fuzz target: what the access policy reads from a request body
 * (proxy/policy_calls.h), the MCP route's untrusted input.
 *
 * Invariants (anything else aborts): a body is either refused with a
 * reason, or gives at least one entry; every entry is a response or has a
 * method; names are within BOUNDS_POLICY_CALL_NAME_MAX and every slice
 * lies inside a string the parse owns (ASan checks the reads); ids render
 * as JSON text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "proxy/policy_calls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proxy_policy_calls calls;
    const char *why = proxy_policy_calls_parse(SLICE_LIT("application/json; charset=utf-8"),
                                               slice_make((const char *)data, size), &calls);
    if (why == NULL) {
        if (calls.count == 0 || calls.items == NULL) {
            abort();
        }
        for (size_t i = 0; i < calls.count; i++) {
            const struct proxy_policy_call *c = &calls.items[i];
            if (c->id_json == NULL || c->id_json[0] == '\0') {
                abort();
            }
            if (c->is_response) {
                continue;
            }
            if (c->method.ptr == NULL || c->name.len > BOUNDS_POLICY_CALL_NAME_MAX ||
                (c->name.len > 0 && c->name.ptr == NULL)) {
                abort();
            }
            /* Touch every byte, so ASan sees a slice that outlived its string. */
            volatile unsigned sum = 0;
            for (size_t j = 0; j < c->method.len; j++) {
                sum += (unsigned char)c->method.ptr[j];
            }
            for (size_t j = 0; j < c->name.len; j++) {
                sum += (unsigned char)c->name.ptr[j];
            }
            (void)sum;
        }
    } else if (why[0] == '\0') {
        abort();
    }
    proxy_policy_calls_cleanup(&calls);
    return 0;
}
