/* See decimal.h. */
#include "base/decimal.h"

#include <string.h>

size_t
decimal_format_u64(char *out, uint64_t v)
{
    char digits[DECIMAL_U64_MAX];
    size_t n = sizeof(digits);
    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    memcpy(out, digits + n, sizeof(digits) - n);
    return sizeof(digits) - n;
}
