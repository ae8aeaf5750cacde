/* Fuzz target: strict base64url decoding must never read or write out of
 * bounds, and whatever decodes must re-encode to the same text (canonical
 * encoding means exactly one text per byte string). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64url.h"
#include "base/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct slice text = slice_make((const char *)data, size);
    size_t cap = b64url_decoded_max(size) + 1;
    uint8_t *out = xmalloc(cap);
    size_t len = 0;
    if (b64url_decode(text, out, cap, &len) == 0) {
        char *again = xmalloc(b64url_encoded_len(len) + 1);
        b64url_encode(out, len, again);
        if (strlen(again) != size || memcmp(again, data, size) != 0) {
            abort();
        }
        xfree(again);
    }
    xfree(out);
    return 0;
}
