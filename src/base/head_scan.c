#include "base/head_scan.h"

#include <string.h>

enum head_scan_rc
head_scan_feed(unsigned char *prev, const char *data, size_t n)
{
    const char *cur = data;
    const char *end = data + n;
    if (n > 0 && *prev == '\n' && (data[0] == ' ' || data[0] == '\t')) {
        return HEAD_SCAN_OBS_FOLD;
    }
    while (cur < end) {
        const char *lf = memchr(cur, '\n', (size_t)(end - cur));
        if (lf == NULL) {
            break;
        }
        unsigned char before = lf > data ? (unsigned char)lf[-1] : *prev;
        if (before != '\r') {
            return HEAD_SCAN_BARE_LF;
        }
        if (lf + 1 < end && (lf[1] == ' ' || lf[1] == '\t')) {
            return HEAD_SCAN_OBS_FOLD;
        }
        cur = lf + 1;
    }
    if (n > 0) {
        *prev = (unsigned char)data[n - 1];
    }
    return HEAD_SCAN_OK;
}
