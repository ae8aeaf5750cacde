/* Fuzz target: llhttp's SSE4.2 build (http/llhttp_exec.h) against its
 * baseline build on arbitrary bytes.
 *
 * Input: a flag byte (bit 0: parse as a response, else as a request), a
 * byte that picks where the input splits into two reads (as a share of
 * its length), then the bytes. Both builds must report the same callbacks
 * with the same bytes, the same errno and the same error position; any
 * difference aborts. Where the CPU has no SSE4.2 the baseline is all that
 * ever runs, and the target only exercises it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "llhttp_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || !llhttp_diff_available()) {
        return 0;
    }
    llhttp_type_t type = (data[0] & 1) != 0 ? HTTP_RESPONSE : HTTP_REQUEST;
    const char *bytes = (const char *)data + 2;
    size_t len = size - 2;
    size_t split = len * data[1] / 255;
    char why[160];
    llhttp_errno_t err;
    if (!llhttp_diff_agree(bytes, len, type, split, &err, why, sizeof(why))) {
        fprintf(stderr, "llhttp builds disagree: %s\n", why);
        abort();
    }
    return 0;
}
