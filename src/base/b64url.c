#include "base/b64url.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
b64url_encoded_len(size_t n)
{
    return (n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t
b64url_decoded_max(size_t len)
{
    return (len / 4) * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
}

void
b64url_encode(const uint8_t *data, size_t n, char *out)
{
    size_t i = 0;
    char *o = out;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        *o++ = alphabet[(v >> 18) & 63];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)data[i] << 16;
        *o++ = alphabet[(v >> 18) & 63];
        *o++ = alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
        *o++ = alphabet[(v >> 18) & 63];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
    }
    *o = '\0';
}

int
b64url_encode_buf(const uint8_t *data, size_t n, struct buf *b)
{
    size_t len = b64url_encoded_len(n);
    char chunk[4 + 1];
    size_t start = b->len;
    /* Encode in groups of 3 input bytes so no temporary of size len is needed. */
    for (size_t i = 0; i < n; i += 3) {
        size_t take = n - i < 3 ? n - i : 3;
        b64url_encode(data + i, take, chunk);
        if (buf_append_str(b, chunk) != 0) {
            b->len = start;
            if (b->ptr != NULL) {
                b->ptr[start] = '\0';
            }
            return -1;
        }
    }
    (void)len;
    return 0;
}

static int
value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

int
b64url_decode(struct slice text, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (text.len % 4 == 1 || b64url_decoded_max(text.len) > out_cap) {
        return -1;
    }
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < text.len; i++) {
        int v = value_of((unsigned char)text.ptr[i]);
        if (v < 0) {
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits (2 or 4) must be zero in a canonical encoding. */
    if (acc != 0) {
        return -1;
    }
    *out_len = o;
    return 0;
}
