/* The key ring and the sealed envelope. Layout and rationale: seal.h and
 * docs/internals/seal.md.
 *
 * Key derivation. SPEC.md 2.1 describes the Go project's SHA-256(secret).
 * Our envelope is versioned and carries a key id, so Go tokens never open
 * here anyway (SPEC.md preface: the byte format is not a contract), and we
 * derive with HKDF-SHA256 (RFC 5869) instead, from the same raw secret
 * bytes, with a fixed label per output:
 *   AES key = HKDF(secret, info = "mcp-auth-proxy seal v1 aes-256-gcm key", 32)
 *   key id  = HKDF(secret, info = "mcp-auth-proxy seal v1 key id", 4)
 * Why: labelled outputs are independent, so the key id (which we log) says
 * nothing about the AES key; a later envelope version can change the label
 * and get fresh keys without asking operators for new secrets; and a secret
 * an operator also gave the Go binary does not yield the same AES key here.
 * The secrets are >= 32 bytes of high-entropy text (SPEC.md 1.4), so no
 * password stretching is needed and the salt is empty.
 *
 * Hot path. Opening decodes into the caller's buffer and decrypts in place;
 * the cipher is fetched once per process and each thread keeps one
 * EVP_CIPHER_CTX that is re-keyed per call, so an open allocates nothing. */
#include "seal.h"

#include <assert.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64url.h"
#include "base/hex.h"
#include "base/rand.h"
#include "base/strtab.h"
#include "base/xalloc.h"
#include "log.h"
#include "metrics.h"

_Static_assert((int)SEAL_PURPOSE_CLIENT == (int)METRICS_PURPOSE_CLIENT, "purpose order");
_Static_assert((int)SEAL_PURPOSE_CONSENT == (int)METRICS_PURPOSE_CONSENT, "purpose order");
_Static_assert((int)SEAL_PURPOSE_SESSION == (int)METRICS_PURPOSE_SESSION, "purpose order");
_Static_assert((int)SEAL_PURPOSE_CODE == (int)METRICS_PURPOSE_CODE, "purpose order");
_Static_assert((int)SEAL_PURPOSE_ACCESS == (int)METRICS_PURPOSE_ACCESS, "purpose order");
_Static_assert((int)SEAL_PURPOSE_REFRESH == (int)METRICS_PURPOSE_REFRESH, "purpose order");
_Static_assert((int)SEAL_PURPOSE_COUNT == (int)METRICS_PURPOSE_COUNT, "purpose count");
_Static_assert(SEAL_PLAINTEXT_MAX > 0 && SEAL_PLAINTEXT_MAX < INT_MAX, "plaintext cap");

static const char *const purpose_names[SEAL_PURPOSE_COUNT] = {
    [SEAL_PURPOSE_CLIENT] = "client",   [SEAL_PURPOSE_CONSENT] = "consent",
    [SEAL_PURPOSE_SESSION] = "session", [SEAL_PURPOSE_CODE] = "code",
    [SEAL_PURPOSE_ACCESS] = "access",   [SEAL_PURPOSE_REFRESH] = "refresh",
};

static const char *const rc_names[SEAL_RC_COUNT] = {
    [SEAL_OK] = "ok",
    [SEAL_ERR_MALFORMED] = "malformed",
    [SEAL_ERR_UNKNOWN_KEY] = "unknown_key",
    [SEAL_ERR_FORGED] = "forged",
    [SEAL_ERR_TOO_LARGE] = "too_large",
};

#define LABEL_KEY "mcp-auth-proxy seal v1 aes-256-gcm key"
#define LABEL_KEY_ID "mcp-auth-proxy seal v1 key id"
/* The key of the synthetic nonce (seal_seal_synthetic) and the root of
 * seal_ring_derive: both HKDF outputs of the AES key under their own
 * label, so neither says anything about the AES key or the other. */
#define LABEL_SIV "mcp-auth-proxy seal v1 synthetic nonce key"
#define LABEL_DERIVE "mcp-auth-proxy seal v1 derive: "
/* Longest purpose name ("consent", "session", "refresh"). */
#define PURPOSE_NAME_MAX 7
#define AAD_MAX (1 + SEAL_KEY_ID_LEN + PURPOSE_NAME_MAX)
/* Tokens up to this many raw + text bytes are sealed without allocating. */
#define SEAL_STACK_BYTES 4096

struct seal_key {
    uint8_t id[SEAL_KEY_ID_LEN];
    uint8_t key[SEAL_KEY_LEN];
    uint8_t siv_key[SEAL_KEY_LEN]; /* HMAC key of the synthetic nonce */
};

struct seal_ring {
    uint64_t serial;        /* process-unique, never reused (seal_ring_serial) */
    size_t count;           /* keys[0] is the primary */
    struct seal_key keys[]; /* count entries */
};

static _Atomic uint64_t seal_total;
static _Atomic uint64_t ring_serials;
static atomic_bool threshold_warned;
static seal_nonce_fn nonce_fn;

const char *
seal_purpose_str(enum seal_purpose purpose)
{
    return strtab_name(purpose_names, SEAL_PURPOSE_COUNT, (size_t)purpose, "unknown");
}

bool
seal_purpose_from_str(struct slice s, enum seal_purpose *out)
{
    long i = strtab_find(purpose_names, SEAL_PURPOSE_COUNT, s);
    if (i < 0) {
        return false;
    }
    *out = (enum seal_purpose)i;
    return true;
}

const char *
seal_rc_str(enum seal_rc rc)
{
    return strtab_name(rc_names, SEAL_RC_COUNT, (size_t)rc, "unknown");
}

/* ---- AES-256-GCM through one EVP path ---------------------------------- */

static EVP_CIPHER *gcm_cipher;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;
static pthread_key_t ctx_key;
static _Thread_local EVP_CIPHER_CTX *thread_ctx;

static void
fatal(const char *what)
{
    /* OpenSSL failing to set up AES-GCM is a broken process, not bad input
     * (like a failing CSPRNG in base/rand). */
    fprintf(stderr, "fatal: OpenSSL %s failed\n", what);
    abort();
}

static void
free_thread_ctx(void *ctx)
{
    EVP_CIPHER_CTX_free(ctx);
}

static void
init_gcm(void)
{
    /* An explicit fetch once, instead of EVP_aes_256_gcm()'s implicit fetch
     * (a method-store lookup under a lock) on every call. */
    gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (gcm_cipher == NULL) {
        fatal("AES-256-GCM fetch");
    }
    if (pthread_key_create(&ctx_key, free_thread_ctx) != 0) {
        fatal("thread key");
    }
}

/* This thread's context, bound to the cipher but not to a key. Each call
 * re-keys it with EVP_*Init_ex2(ctx, NULL, key, iv, NULL), which reuses
 * the provider context instead of allocating one. Freed at thread exit. */
static EVP_CIPHER_CTX *
get_ctx(void)
{
    if (thread_ctx != NULL) {
        return thread_ctx;
    }
    (void)pthread_once(&gcm_once, init_gcm); /* cannot fail with a valid once */
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL || EVP_CipherInit_ex2(ctx, gcm_cipher, NULL, NULL, 1, NULL) != 1) {
        fatal("AES-256-GCM context");
    }
    if (pthread_setspecific(ctx_key, ctx) != 0) {
        fatal("thread context");
    }
    thread_ctx = ctx;
    return ctx;
}

int
seal_aead_encrypt(const uint8_t key[SEAL_KEY_LEN], const uint8_t iv[SEAL_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len, uint8_t *ct,
                  uint8_t tag[SEAL_TAG_LEN])
{
    if (aad_len > INT_MAX || len > INT_MAX) {
        return -1;
    }
    EVP_CIPHER_CTX *ctx = get_ctx();
    int n = 0;
    if (EVP_EncryptInit_ex2(ctx, NULL, key, iv, NULL) != 1) {
        fatal("AES-256-GCM encrypt init");
    }
    if (aad_len > 0 && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) {
        fatal("AES-256-GCM additional data");
    }
    int done = 0;
    if (len > 0 && EVP_EncryptUpdate(ctx, ct, &done, pt, (int)len) != 1) {
        fatal("AES-256-GCM encrypt");
    }
    if (EVP_EncryptFinal_ex(ctx, ct + done, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, SEAL_TAG_LEN, tag) != 1) {
        fatal("AES-256-GCM encrypt final");
    }
    return 0;
}

int
seal_aead_decrypt(const uint8_t key[SEAL_KEY_LEN], const uint8_t iv[SEAL_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
                  const uint8_t tag[SEAL_TAG_LEN], uint8_t *pt)
{
    if (aad_len > INT_MAX || len > INT_MAX) {
        return -1;
    }
    EVP_CIPHER_CTX *ctx = get_ctx();
    int n = 0;
    if (EVP_DecryptInit_ex2(ctx, NULL, key, iv, NULL) != 1) {
        fatal("AES-256-GCM decrypt init");
    }
    if (aad_len > 0 && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) {
        fatal("AES-256-GCM additional data");
    }
    int done = 0;
    if (len > 0 && EVP_DecryptUpdate(ctx, pt, &done, ct, (int)len) != 1) {
        fatal("AES-256-GCM decrypt");
    }
    /* OpenSSL copies the expected tag; the cast only satisfies its prototype. */
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SEAL_TAG_LEN, (void *)tag) != 1) {
        fatal("AES-256-GCM set tag");
    }
    if (EVP_DecryptFinal_ex(ctx, pt + done, &n) != 1) {
        /* GCM decrypts before it verifies: never leave unverified
         * plaintext behind. */
        if (len > 0) {
            OPENSSL_cleanse(pt, len);
        }
        return -1;
    }
    return 0;
}

int
seal_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                 const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    if (ikm_len == 0) {
        return -1;
    }
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    int rc = -1;
    if (kctx == NULL) {
        goto out;
    }
    OSSL_PARAM params[5];
    OSSL_PARAM *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    if (salt_len > 0) {
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    }
    if (info_len > 0) {
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    }
    *p = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(kctx, out, out_len, params) == 1) {
        rc = 0;
    }
out:
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rc;
}

/* ---- the ring ------------------------------------------------------------ */

static int
derive_key(const char *secret, size_t len, struct seal_key *out)
{
    if (len == 0) {
        return -1;
    }
    const uint8_t *ikm = (const uint8_t *)secret;
    if (seal_hkdf_sha256(NULL, 0, ikm, len, (const uint8_t *)LABEL_KEY, strlen(LABEL_KEY), out->key,
                         SEAL_KEY_LEN) != 0 ||
        seal_hkdf_sha256(NULL, 0, ikm, len, (const uint8_t *)LABEL_KEY_ID, strlen(LABEL_KEY_ID),
                         out->id, SEAL_KEY_ID_LEN) != 0 ||
        seal_hkdf_sha256(NULL, 0, out->key, SEAL_KEY_LEN, (const uint8_t *)LABEL_SIV,
                         strlen(LABEL_SIV), out->siv_key, SEAL_KEY_LEN) != 0) {
        fatal("HKDF-SHA256");
    }
    return 0;
}

/* Adds k unless an equal key is present. -1 when a different key already
 * has k's id: ids must select exactly one key. */
static int
add_key(struct seal_ring *ring, const struct seal_key *k)
{
    for (size_t i = 0; i < ring->count; i++) {
        if (memcmp(ring->keys[i].id, k->id, SEAL_KEY_ID_LEN) != 0) {
            continue;
        }
        return CRYPTO_memcmp(ring->keys[i].key, k->key, SEAL_KEY_LEN) == 0 ? 0 : -1;
    }
    ring->keys[ring->count++] = *k;
    return 0;
}

struct seal_ring *
seal_ring_new(const char *primary, size_t primary_len, char *const *previous,
              const size_t *previous_lens, size_t previous_count)
{
    if (primary == NULL || previous_count > SIZE_MAX / sizeof(struct seal_key) - 1) {
        return NULL;
    }
    struct seal_ring *ring =
        xcalloc(1, sizeof(*ring) + (previous_count + 1) * sizeof(struct seal_key));
    ring->serial = atomic_fetch_add_explicit(&ring_serials, 1, memory_order_relaxed) + 1;
    struct seal_key k;
    int rc = derive_key(primary, primary_len, &k);
    if (rc == 0) {
        rc = add_key(ring, &k);
    }
    for (size_t i = 0; rc == 0 && i < previous_count; i++) {
        rc = derive_key(previous[i], previous_lens[i], &k);
        if (rc == 0) {
            rc = add_key(ring, &k);
        }
    }
    OPENSSL_cleanse(&k, sizeof(k));
    if (rc != 0) {
        seal_ring_free(ring);
        return NULL;
    }
    return ring;
}

void
seal_ring_free(struct seal_ring *ring)
{
    if (ring == NULL) {
        return;
    }
    OPENSSL_cleanse(ring->keys, ring->count * sizeof(struct seal_key));
    xfree(ring);
}

uint64_t
seal_ring_serial(const struct seal_ring *ring)
{
    return ring->serial;
}

size_t
seal_ring_key_count(const struct seal_ring *ring)
{
    return ring->count;
}

void
seal_ring_key_id_hex(const struct seal_ring *ring, size_t i, char out[SEAL_KEY_ID_HEX_LEN + 1])
{
    assert(i < ring->count);
    hex_encode(ring->keys[i].id, SEAL_KEY_ID_LEN, out);
}

static const struct seal_key *
find_key(const struct seal_ring *ring, const uint8_t id[SEAL_KEY_ID_LEN])
{
    for (size_t i = 0; i < ring->count; i++) {
        if (memcmp(ring->keys[i].id, id, SEAL_KEY_ID_LEN) == 0) {
            return &ring->keys[i];
        }
    }
    return NULL;
}

/* ---- seal and open --------------------------------------------------------- */

/* Additional data: version | key id | purpose name. The header bytes are
 * bound too, so a token cannot be relabelled with another id or version. */
static size_t
build_aad(const uint8_t *header, enum seal_purpose purpose, uint8_t aad[AAD_MAX])
{
    const char *name = purpose_names[purpose];
    size_t name_len = strlen(name);
    memcpy(aad, header, 1 + SEAL_KEY_ID_LEN);
    memcpy(aad + 1 + SEAL_KEY_ID_LEN, name, name_len);
    return 1 + SEAL_KEY_ID_LEN + name_len;
}

static void
count_seal(enum seal_purpose purpose)
{
    metrics_inc_seal((enum metrics_purpose)purpose);
    uint64_t n = atomic_fetch_add_explicit(&seal_total, 1, memory_order_relaxed) + 1;
    if (n < SEAL_COUNT_WARN_THRESHOLD || atomic_exchange(&threshold_warned, true)) {
        return;
    }
    /* SPEC.md 2.6. Random 96-bit GCM nonces stay safe for about 2^32
     * messages per key (NIST SP 800-38D 8.3); 2^28 leaves room to rotate. */
    struct log_line l;
    log_begin(&l, LOG_WARN, "token_seal_rotation_threshold");
    log_uint(&l, "seal_count", n);
    log_uint(&l, "threshold", SEAL_COUNT_WARN_THRESHOLD);
    log_str(&l, "hint",
            "rotate TOKEN_SIGNING_SECRET: set a new secret and move the current one to "
            "TOKEN_SIGNING_SECRETS_PREVIOUS (docs/internals/seal.md)");
    log_end(&l);
}

/* nonce = the first 12 bytes of HMAC-SHA256(siv_key, aad | plaintext).
 * See seal.h (seal_seal_synthetic) for why this is safe with GCM. */
static void
synthetic_nonce(const struct seal_key *k, const uint8_t *aad, size_t aad_len,
                struct slice plaintext, uint8_t nonce[SEAL_NONCE_LEN])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    size_t md_len = 0;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (ctx == NULL || EVP_MAC_init(ctx, k->siv_key, SEAL_KEY_LEN, params) != 1 ||
        EVP_MAC_update(ctx, aad, aad_len) != 1 ||
        EVP_MAC_update(ctx, (const uint8_t *)plaintext.ptr, plaintext.len) != 1 ||
        EVP_MAC_final(ctx, md, &md_len, sizeof(md)) != 1 || md_len < SEAL_NONCE_LEN) {
        fatal("HMAC-SHA256");
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    memcpy(nonce, md, SEAL_NONCE_LEN);
    OPENSSL_cleanse(md, sizeof(md));
}

static enum seal_rc
seal_with(const struct seal_ring *ring, enum seal_purpose purpose, struct slice plaintext,
          bool synthetic, struct buf *out)
{
    assert(ring != NULL && ring->count > 0 && (unsigned)purpose < SEAL_PURPOSE_COUNT);
    if (plaintext.len > SEAL_PLAINTEXT_MAX) {
        return SEAL_ERR_TOO_LARGE;
    }
    size_t raw_len = SEAL_OVERHEAD + plaintext.len;
    size_t text_len = b64url_encoded_len(raw_len);
    uint8_t stack[SEAL_STACK_BYTES];
    size_t need = raw_len + text_len + 1;
    uint8_t *raw = need <= sizeof(stack) ? stack : xmalloc(need);
    char *text = (char *)raw + raw_len;
    const struct seal_key *k = &ring->keys[0];
    enum seal_rc rc = SEAL_OK;

    raw[0] = SEAL_VERSION;
    memcpy(raw + 1, k->id, SEAL_KEY_ID_LEN);
    uint8_t *nonce = raw + 1 + SEAL_KEY_ID_LEN;
    uint8_t aad[AAD_MAX];
    size_t aad_len = build_aad(raw, purpose, aad);
    if (synthetic) {
        synthetic_nonce(k, aad, aad_len, plaintext, nonce);
    } else if (nonce_fn != NULL) {
        nonce_fn(nonce, SEAL_NONCE_LEN);
    } else {
        rand_bytes(nonce, SEAL_NONCE_LEN);
    }
    uint8_t *ct = raw + SEAL_HEADER_LEN;
    if (seal_aead_encrypt(k->key, nonce, aad, aad_len, (const uint8_t *)plaintext.ptr,
                          plaintext.len, ct, ct + plaintext.len) != 0) {
        rc = SEAL_ERR_TOO_LARGE;
        goto out;
    }
    b64url_encode(raw, raw_len, text);
    if (buf_append(out, text, text_len) != 0) {
        rc = SEAL_ERR_TOO_LARGE;
        goto out;
    }
    count_seal(purpose);
out:
    if (raw != stack) {
        xfree(raw);
    }
    return rc;
}

enum seal_rc
seal_seal(const struct seal_ring *ring, enum seal_purpose purpose, struct slice plaintext,
          struct buf *out)
{
    return seal_with(ring, purpose, plaintext, false, out);
}

enum seal_rc
seal_seal_synthetic(const struct seal_ring *ring, enum seal_purpose purpose, struct slice plaintext,
                    struct buf *out)
{
    return seal_with(ring, purpose, plaintext, true, out);
}

void
seal_ring_derive(const struct seal_ring *ring, const char *label, uint8_t out[SEAL_KEY_LEN])
{
    assert(ring != NULL && ring->count > 0 && label != NULL);
    char info[128];
    int n = snprintf(info, sizeof(info), "%s%s", LABEL_DERIVE, label);
    assert(n > 0 && (size_t)n < sizeof(info));
    if (seal_hkdf_sha256(NULL, 0, ring->keys[0].key, SEAL_KEY_LEN, (const uint8_t *)info, (size_t)n,
                         out, SEAL_KEY_LEN) != 0) {
        fatal("HKDF-SHA256");
    }
}

enum seal_rc
seal_open(const struct seal_ring *ring, enum seal_purpose purpose, struct slice token,
          uint8_t *work, size_t work_cap, struct slice *out_plaintext)
{
    assert(ring != NULL && (unsigned)purpose < SEAL_PURPOSE_COUNT);
    /* SPEC.md 2.1: the length is checked before any decoding. */
    if (token.len > BOUNDS_SEALED_MAX_CHARS || b64url_decoded_max(token.len) > work_cap) {
        return SEAL_ERR_TOO_LARGE;
    }
    size_t n = 0;
    if (b64url_decode(token, work, work_cap, &n) != 0 || n < SEAL_OVERHEAD ||
        work[0] != SEAL_VERSION) {
        return SEAL_ERR_MALFORMED;
    }
    const struct seal_key *k = find_key(ring, work + 1);
    if (k == NULL) {
        return SEAL_ERR_UNKNOWN_KEY;
    }
    uint8_t aad[AAD_MAX];
    size_t aad_len = build_aad(work, purpose, aad);
    uint8_t *ct = work + SEAL_HEADER_LEN;
    size_t ct_len = n - SEAL_OVERHEAD;
    if (seal_aead_decrypt(k->key, work + 1 + SEAL_KEY_ID_LEN, aad, aad_len, ct, ct_len, ct + ct_len,
                          ct) != 0) {
        return SEAL_ERR_FORGED;
    }
    *out_plaintext = slice_make((const char *)ct, ct_len);
    return SEAL_OK;
}

uint64_t
seal_count(void)
{
    return atomic_load(&seal_total);
}

void
seal_test_set_nonce_fn(seal_nonce_fn fn)
{
    nonce_fn = fn;
}

void
seal_test_set_count(uint64_t count)
{
    atomic_store(&seal_total, count);
    atomic_store(&threshold_warned, false);
}
