/* Deterministic token ids for POST /token (see token_derive.h).
 *
 * HMAC input, every variable field length-prefixed so no two inputs share
 * an encoding:
 *   "mcp-auth-proxy token id v1" | grant (1 byte) | which (1 byte: 'a'
 *   access, 'r' refresh) | u32be len | parent_tid | u32be len | family_id
 *   | i64be issued_ms
 * The first 16 bytes of the MAC become the UUID, with the version (8) and
 * variant (10) bits set as RFC 9562 section 5.8 asks. */
#include "oauth/token_derive.h"

#include <assert.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seal.h"

#define DOMAIN "mcp-auth-proxy token id v1"
#define KEY_LABEL "token ids v1"

static void
fatal(const char *what)
{
    fprintf(stderr, "fatal: %s failed\n", what);
    abort();
}

static void
mac_update_len(EVP_MAC_CTX *ctx, const char *s)
{
    size_t n = strlen(s);
    uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    if (EVP_MAC_update(ctx, len, sizeof(len)) != 1 ||
        EVP_MAC_update(ctx, (const uint8_t *)s, n) != 1) {
        fatal("HMAC-SHA256");
    }
}

static void
format_uuid(const uint8_t b[16], char out[RAND_UUID_LEN + 1])
{
    static const char hexdig[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }
        out[o++] = hexdig[b[i] >> 4];
        out[o++] = hexdig[b[i] & 15];
    }
    out[o] = '\0';
}

static void
derive_id(const uint8_t key[SEAL_KEY_LEN], const struct oauth_token_derive_in *in, char which,
          char out[RAND_UUID_LEN + 1])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    size_t md_len = 0;
    uint8_t head[2] = {(uint8_t)in->grant, (uint8_t)which};
    uint8_t ms[8];
    uint64_t v = (uint64_t)in->issued_ms;
    for (int i = 0; i < 8; i++) {
        ms[i] = (uint8_t)(v >> (56 - 8 * i));
    }
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (ctx == NULL || EVP_MAC_init(ctx, key, SEAL_KEY_LEN, params) != 1 ||
        EVP_MAC_update(ctx, (const uint8_t *)DOMAIN, strlen(DOMAIN)) != 1 ||
        EVP_MAC_update(ctx, head, sizeof(head)) != 1) {
        fatal("HMAC-SHA256");
    }
    mac_update_len(ctx, in->parent_tid != NULL ? in->parent_tid : "");
    mac_update_len(ctx, in->family_id != NULL ? in->family_id : "");
    if (EVP_MAC_update(ctx, ms, sizeof(ms)) != 1 ||
        EVP_MAC_final(ctx, md, &md_len, sizeof(md)) != 1 || md_len < 16) {
        fatal("HMAC-SHA256");
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    md[6] = (uint8_t)((md[6] & 0x0f) | 0x80); /* version 8 */
    md[8] = (uint8_t)((md[8] & 0x3f) | 0x80); /* variant 10 */
    format_uuid(md, out);
    OPENSSL_cleanse(md, sizeof(md));
}

void
oauth_token_derive(const struct seal_ring *ring, const struct oauth_token_derive_in *in,
                   struct oauth_token_derive_out *out)
{
    assert(ring != NULL && in != NULL && out != NULL && in->issued_ms >= 0);
    uint8_t key[SEAL_KEY_LEN];
    seal_ring_derive(ring, KEY_LABEL, key);
    derive_id(key, in, 'a', out->access_tid);
    derive_id(key, in, 'r', out->refresh_tid);
    OPENSSL_cleanse(key, sizeof(key));
    out->iat_s = in->issued_ms / 1000;
}
