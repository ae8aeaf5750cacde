#include "base/rand.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/hex.h"

void
rand_bytes(uint8_t *out, size_t n)
{
    while (n > 0) {
        int chunk = n > 1 << 20 ? 1 << 20 : (int)n;
        if (RAND_bytes(out, chunk) != 1) {
            fprintf(stderr, "fatal: the system random number generator failed\n");
            abort();
        }
        out += chunk;
        n -= (size_t)chunk;
    }
}

void
rand_uuid(char out[RAND_UUID_LEN + 1])
{
    uint8_t b[16];
    rand_bytes(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    char hex[33];
    hex_encode(b, sizeof(b), hex);
    /* 8-4-4-4-12 */
    size_t o = 0;
    for (size_t i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20) {
            out[o++] = '-';
        }
        out[o++] = hex[i];
    }
    out[o] = '\0';
}

void
rand_hex32(char out[RAND_HEX32_LEN + 1])
{
    uint8_t b[16];
    rand_bytes(b, sizeof(b));
    hex_encode(b, sizeof(b), out);
}
