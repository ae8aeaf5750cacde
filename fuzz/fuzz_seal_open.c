/* Fuzz target: sealed tokens (seal.h, grants.h).
 *
 * Each input is used twice:
 *  1. as a token: opened as every purpose with seal_open and with every
 *     grants_open_*, against a fixed two-key ring;
 *  2. as a payload: sealed for every purpose (if it fits) and opened back
 *     through the typed layer, so the JSON reader and the typ / aud / expiry
 *     checks see arbitrary JSON even though the fuzzer cannot forge tags.
 * Whenever a grant opens (or opens but is refused for audience or expiry),
 * it is sealed again and reopened: the outcome must repeat and the JSON
 * must be stable (writer and reader agree). Anything else aborts.
 *
 * Seeds in fuzz/corpus/seal_open/ were minted with FUZZ_SECRET and
 * FUZZ_SECRET_OLD; valid-* tokens open at FUZZ_NOW for FUZZ_AUD. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "grants.h"
#include "seal.h"

#define FUZZ_SECRET "fuzz-secret-that-is-at-least-32-bytes!!"
#define FUZZ_SECRET_OLD "fuzz-previous-secret-at-least-32-bytes!"
#define FUZZ_AUD "https://auth.example.com"
#define FUZZ_NOW 1780000000

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct seal_ring *ring;

static void
fixed_nonce(uint8_t *out, size_t len)
{
    /* Deterministic seals keep libFuzzer's coverage stable. */
    memset(out, 0x17, len);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char *previous[1] = {(char *)FUZZ_SECRET_OLD};
    size_t lens[1] = {strlen(FUZZ_SECRET_OLD)};
    ring = seal_ring_new(FUZZ_SECRET, strlen(FUZZ_SECRET), previous, lens, 1);
    if (ring == NULL) {
        abort();
    }
    seal_test_set_nonce_fn(fixed_nonce);
    return 0;
}

/* The payload inside a token we just sealed (must open). */
static void
payload_of(enum seal_purpose p, struct slice tok, struct buf *out)
{
    static uint8_t work[SEAL_DECODED_MAX];
    struct slice plain;
    if (seal_open(ring, p, tok, work, sizeof(work), &plain) != SEAL_OK ||
        buf_append_slice(out, plain) != 0) {
        abort();
    }
}

static bool
is_filled(enum grants_rc rc)
{
    return rc == GRANTS_OK || rc == GRANTS_ERR_AUDIENCE || rc == GRANTS_ERR_EXPIRED;
}

/* Opens tok as one grant type; when it opens, seal it again, reopen, and
 * insist on the same outcome and identical JSON. A statement macro so the
 * six types share one body without casts. */
#define CHECK_TYPE(name, purpose, tok)                                                             \
    do {                                                                                           \
        struct grant_##name g1, g2;                                                                \
        enum seal_rc src = SEAL_OK;                                                                \
        enum grants_rc rc1 = grants_open_##name(ring, (tok), FUZZ_AUD, FUZZ_NOW, &g1, &src);       \
        if ((rc1 == GRANTS_ERR_OPEN) != (src != SEAL_OK)) {                                        \
            abort();                                                                               \
        }                                                                                          \
        if (is_filled(rc1)) {                                                                      \
            struct buf t1, t2, j1, j2;                                                             \
            buf_init(&t1, BOUNDS_SEALED_MAX_CHARS);                                                \
            buf_init(&t2, BOUNDS_SEALED_MAX_CHARS);                                                \
            buf_init(&j1, SEAL_PLAINTEXT_MAX);                                                     \
            buf_init(&j2, SEAL_PLAINTEXT_MAX);                                                     \
            /* Re-sealing may exceed the cap (U+FFFD cannot appear, but                            \
             * escapes can grow); only a successful re-seal is compared. */                        \
            if (grants_seal_##name(ring, &g1, &t1) == SEAL_OK) {                                   \
                enum grants_rc rc2 =                                                               \
                    grants_open_##name(ring, buf_slice(&t1), FUZZ_AUD, FUZZ_NOW, &g2, NULL);       \
                if (rc2 != rc1 || grants_seal_##name(ring, &g2, &t2) != SEAL_OK) {                 \
                    abort();                                                                       \
                }                                                                                  \
                payload_of((purpose), buf_slice(&t1), &j1);                                        \
                payload_of((purpose), buf_slice(&t2), &j2);                                        \
                if (!slice_eq(buf_slice(&j1), buf_slice(&j2))) {                                   \
                    abort();                                                                       \
                }                                                                                  \
                grants_cleanup_##name(&g2);                                                        \
            }                                                                                      \
            buf_cleanup(&t1);                                                                      \
            buf_cleanup(&t2);                                                                      \
            buf_cleanup(&j1);                                                                      \
            buf_cleanup(&j2);                                                                      \
        }                                                                                          \
        grants_cleanup_##name(&g1);                                                                \
    } while (0)

static void
check_all_types(struct slice tok)
{
    CHECK_TYPE(client, SEAL_PURPOSE_CLIENT, tok);
    CHECK_TYPE(consent, SEAL_PURPOSE_CONSENT, tok);
    CHECK_TYPE(session, SEAL_PURPOSE_SESSION, tok);
    CHECK_TYPE(code, SEAL_PURPOSE_CODE, tok);
    CHECK_TYPE(access, SEAL_PURPOSE_ACCESS, tok);
    CHECK_TYPE(refresh, SEAL_PURPOSE_REFRESH, tok);
}

static void
check_one_type(enum seal_purpose p, struct slice tok)
{
    switch (p) {
    case SEAL_PURPOSE_CLIENT:
        CHECK_TYPE(client, SEAL_PURPOSE_CLIENT, tok);
        break;
    case SEAL_PURPOSE_CONSENT:
        CHECK_TYPE(consent, SEAL_PURPOSE_CONSENT, tok);
        break;
    case SEAL_PURPOSE_SESSION:
        CHECK_TYPE(session, SEAL_PURPOSE_SESSION, tok);
        break;
    case SEAL_PURPOSE_CODE:
        CHECK_TYPE(code, SEAL_PURPOSE_CODE, tok);
        break;
    case SEAL_PURPOSE_ACCESS:
        CHECK_TYPE(access, SEAL_PURPOSE_ACCESS, tok);
        break;
    case SEAL_PURPOSE_REFRESH:
        CHECK_TYPE(refresh, SEAL_PURPOSE_REFRESH, tok);
        break;
    case SEAL_PURPOSE_COUNT:
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ring == NULL) {
        LLVMFuzzerInitialize(NULL, NULL);
    }
    struct slice input = slice_make((const char *)data, size);

    /* 1. The input as a token. */
    static uint8_t work[SEAL_DECODED_MAX];
    for (int p = 0; p < SEAL_PURPOSE_COUNT; p++) {
        struct slice plain;
        enum seal_rc rc = seal_open(ring, (enum seal_purpose)p, input, work, sizeof(work), &plain);
        if (rc == SEAL_OK && (plain.ptr < (const char *)work ||
                              plain.ptr + plain.len > (const char *)work + sizeof(work))) {
            abort();
        }
        if (size > BOUNDS_SEALED_MAX_CHARS && rc != SEAL_ERR_TOO_LARGE) {
            abort();
        }
    }
    check_all_types(input);

    /* 2. The input as a payload, sealed for each purpose and opened as it. */
    for (int p = 0; p < SEAL_PURPOSE_COUNT; p++) {
        struct buf tok;
        buf_init(&tok, BOUNDS_SEALED_MAX_CHARS);
        enum seal_rc rc = seal_seal(ring, (enum seal_purpose)p, input, &tok);
        if (rc == SEAL_OK) {
            check_one_type((enum seal_purpose)p, buf_slice(&tok));
        } else if (rc != SEAL_ERR_TOO_LARGE || size <= SEAL_PLAINTEXT_MAX) {
            abort();
        }
        buf_cleanup(&tok);
    }
    return 0;
}
