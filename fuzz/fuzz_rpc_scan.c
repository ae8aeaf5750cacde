/* Fuzz target: proxy/rpc_scan, differentially. The input is a request
 * body; the scan must give the same answer as the jansson reference for
 * the body's validity, the peek (plain and call-keeping) and the policy's
 * reading of it (fuzz/rpc_scan_diff.h). Any difference aborts, printing
 * which field differed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "rpc_scan_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *diff = rpc_scan_diff(slice_make((const char *)data, size));
    if (diff != NULL) {
        fprintf(stderr, "rpc_scan differs from jansson: %s\n", diff);
        abort();
    }
    return 0;
}
