/* Typed sealed payloads: one field table per grant type drives both the
 * JSON writer and the reader, so the wire keys, their order and the
 * omit-if-empty rules (SPEC.md 2.3) are written down exactly once. Each entry
 * names the struct member and its JSON key (the short wire name), and each
 * macro checks the member's C type at compile time.
 *
 * Payload example (access, times in Unix seconds; see grants.h):
 *   {"tid":"9f0c...","fam":"5b2e...","typ":"access","aud":"https://auth.example.com",
 *    "res":"https://auth.example.com/mcp","sub":"u1","email":"a@b.c",
 *    "grp":["eng"],"cid":"5d1e...","iat":1780000000,"exp":1780003600}
 * ("scp":"mcp:read mcp:write" after "res" when MCP_SCOPES_SUPPORTED granted
 * any: omitted when empty, so tokens minted before scopes open unchanged). */
#include "grants.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <string.h>

#include "base/utf8.h"
#include "base/b64url.h"
#include "base/jsonx.h"
#include "base/strtab.h"
#include "base/xalloc.h"

static const char *const rc_names[GRANTS_RC_COUNT] = {
    [GRANTS_OK] = "ok",
    [GRANTS_ERR_OPEN] = "open_failed",
    [GRANTS_ERR_PAYLOAD] = "bad_payload",
    [GRANTS_ERR_TYP] = "typ_mismatch",
    [GRANTS_ERR_AUDIENCE] = "audience_mismatch",
    [GRANTS_ERR_EXPIRED] = "expired",
};

const char *
grants_rc_str(enum grants_rc rc)
{
    return strtab_name(rc_names, GRANTS_RC_COUNT, (size_t)rc, "unknown");
}

/* ---- field tables ---------------------------------------------------------- */

enum field_kind {
    KIND_STR = 0, /* const char * */
    KIND_STRS,    /* const char *const * plus its size_t count member */
    KIND_TIME,    /* int64_t >= 0: Unix seconds, or a count (F_COUNT) */
    KIND_BOOL,    /* bool; always omitted when false */
    KIND_TYP,     /* "typ": no member, the grant type's purpose name */
};

struct field {
    const char *key;
    enum field_kind kind;
    bool omit_empty;
    size_t off;
    size_t count_off;
};

#define OMIT true
#define KEEP false
/* Each entry pairs a member with its wire key (the JSON name, SPEC.md 2.3),
 * so members can say what they hold while tokens keep their short keys.
 * _Generic with no default fails to compile when the member has another
 * type; it adds 0 otherwise. */
#define TYPED(T, m, type) (offsetof(struct T, m) + _Generic(((struct T *)0)->m, type : 0))
#define F_STR(T, m, key, omit)                                                                     \
    {                                                                                              \
        key, KIND_STR, omit, TYPED(T, m, const char *), 0                                          \
    }
/* An array of strings and the size_t member that counts it. */
#define F_STRS(T, m, count, key, omit)                                                             \
    {                                                                                              \
        key, KIND_STRS, omit, TYPED(T, m, const char *const *), TYPED(T, count, size_t)            \
    }
#define F_TIME(T, m, key)                                                                          \
    {                                                                                              \
        key, KIND_TIME, KEEP, TYPED(T, m, int64_t), 0                                              \
    }
/* An int64_t >= 0 that is omitted when 0 and reads as 0 when absent, so
 * tokens minted before the field existed still open. */
#define F_COUNT(T, m, key)                                                                         \
    {                                                                                              \
        key, KIND_TIME, OMIT, TYPED(T, m, int64_t), 0                                              \
    }
#define F_BOOL(T, m, key)                                                                          \
    {                                                                                              \
        key, KIND_BOOL, OMIT, TYPED(T, m, bool), 0                                                 \
    }
#define F_TYP                                                                                      \
    {                                                                                              \
        "typ", KIND_TYP, KEEP, 0, 0                                                                \
    }

enum check_order {
    CHECK_AUD_EXP = 0, /* typ, aud, exp (SPEC.md 3.3, 3.5, 3.7, 3.8) */
    CHECK_BEARER,      /* typ, sub/aud/iat claims, exp, aud (SPEC.md 2.2, 4.1) */
};

struct grant_type {
    enum seal_purpose purpose;
    const struct field *fields;
    size_t field_count;
    size_t size;
    size_t storage_off;
    size_t aud_off;
    size_t exp_off;
    bool exp_zero_never; /* client registrations (SPEC.md 2.2) */
    enum check_order order;
    size_t sub_off; /* CHECK_BEARER only */
    size_t iat_off; /* CHECK_BEARER only */
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define GRANT_TYPE(T, p, table)                                                                    \
    .purpose = (p), .fields = (table), .field_count = COUNT_OF(table), .size = sizeof(struct T),   \
    .storage_off = TYPED(T, storage, struct grants_storage),                                       \
    .aud_off = TYPED(T, aud, const char *), .exp_off = TYPED(T, exp, int64_t)

static const struct field client_fields[] = {
    F_STR(grant_client, id, "id", KEEP),
    F_STRS(grant_client, redirect_uris, redirect_uri_count, "r", KEEP),
    F_STR(grant_client, client_name, "n", KEEP),
    F_STR(grant_client, application_type, "at", OMIT),
    F_TYP,
    F_STR(grant_client, aud, "aud", KEEP),
    F_TIME(grant_client, exp, "exp"),
};

static const struct field consent_fields[] = {
    F_STR(grant_consent, jti, "jti", OMIT),
    F_STR(grant_consent, client_id, "cid", KEEP),
    F_STR(grant_consent, client_name, "cn", OMIT),
    F_STR(grant_consent, redirect_uri, "ru", KEEP),
    F_STR(grant_consent, client_state, "os", KEEP),
    F_STR(grant_consent, code_challenge, "cc", OMIT),
    F_BOOL(grant_consent, server_pkce, "spkce"),
    F_STR(grant_consent, resource, "res", OMIT),
    F_STR(grant_consent, scope, "scp", OMIT),
    F_STR(grant_consent, binding_hash, "bh", KEEP),
    F_TYP,
    F_STR(grant_consent, aud, "aud", KEEP),
    F_TIME(grant_consent, exp, "exp"),
};

static const struct field session_fields[] = {
    F_STR(grant_session, client_id, "cid", KEEP),
    F_STR(grant_session, redirect_uri, "ru", KEEP),
    F_STR(grant_session, code_challenge, "cc", KEEP),
    F_STR(grant_session, client_state, "os", KEEP),
    F_STR(grant_session, nonce, "nonce", KEEP),
    F_STR(grant_session, upstream_verifier, "pv", KEEP),
    F_STR(grant_session, server_verifier, "sv", OMIT),
    F_STR(grant_session, server_challenge, "sch", OMIT),
    F_STR(grant_session, session_id, "sid", OMIT),
    F_STR(grant_session, binding_hash, "bh", KEEP),
    F_TYP,
    F_STR(grant_session, aud, "aud", KEEP),
    F_STR(grant_session, resource, "res", OMIT),
    F_STR(grant_session, scope, "scp", OMIT),
    F_TIME(grant_session, exp, "exp"),
    F_STR(grant_session, stepup_acr_values, "sav", OMIT),
    F_COUNT(grant_session, stepup_max_age, "sma"),
    F_BOOL(grant_session, stepup_max_age_set, "smas"),
};

static const struct field code_fields[] = {
    F_STR(grant_code, token_id, "tid", KEEP),
    F_STR(grant_code, family_id, "fam", KEEP),
    F_STR(grant_code, client_id, "cid", KEEP),
    F_STR(grant_code, redirect_uri, "ru", KEEP),
    F_STR(grant_code, code_challenge, "cc", KEEP),
    F_STR(grant_code, sub, "sub", KEEP),
    F_STR(grant_code, email, "email", KEEP),
    F_STR(grant_code, name, "name", KEEP),
    F_STRS(grant_code, groups, group_count, "grp", OMIT),
    F_STR(grant_code, resource, "res", OMIT),
    F_STR(grant_code, scope, "scp", OMIT),
    F_BOOL(grant_code, server_pkce, "spkce"),
    F_STR(grant_code, server_verifier, "sv", OMIT),
    F_TYP,
    F_STR(grant_code, aud, "aud", KEEP),
    F_TIME(grant_code, exp, "exp"),
    F_STR(grant_code, acr, "acr", OMIT),
    F_COUNT(grant_code, auth_time, "atm"),
};

static const struct field access_fields[] = {
    F_STR(grant_access, token_id, "tid", KEEP),
    F_STR(grant_access, family_id, "fam", OMIT),
    F_TYP,
    F_STR(grant_access, aud, "aud", KEEP),
    F_STR(grant_access, resource, "res", OMIT),
    F_STR(grant_access, scope, "scp", OMIT),
    F_STR(grant_access, sub, "sub", KEEP),
    F_STR(grant_access, email, "email", KEEP),
    F_STRS(grant_access, groups, group_count, "grp", OMIT),
    F_STR(grant_access, client_id, "cid", KEEP),
    F_TIME(grant_access, iat, "iat"),
    F_TIME(grant_access, exp, "exp"),
    F_STR(grant_access, acr, "acr", OMIT),
    F_COUNT(grant_access, auth_time, "atm"),
};

static const struct field refresh_fields[] = {
    F_STR(grant_refresh, token_id, "tid", KEEP),
    F_STR(grant_refresh, family_id, "fam", KEEP),
    F_STR(grant_refresh, sub, "sub", KEEP),
    F_STR(grant_refresh, email, "email", KEEP),
    F_STRS(grant_refresh, groups, group_count, "grp", OMIT),
    F_STR(grant_refresh, client_id, "cid", KEEP),
    F_TYP,
    F_STR(grant_refresh, aud, "aud", KEEP),
    F_STR(grant_refresh, resource, "res", OMIT),
    F_STR(grant_refresh, scope, "scp", OMIT),
    F_TIME(grant_refresh, iat, "iat"),
    F_TIME(grant_refresh, family_iat, "fiat"),
    F_TIME(grant_refresh, exp, "exp"),
    F_COUNT(grant_refresh, generation, "gen"),
    F_STR(grant_refresh, acr, "acr", OMIT),
    F_COUNT(grant_refresh, auth_time, "atm"),
};

static const struct grant_type client_type = {
    GRANT_TYPE(grant_client, SEAL_PURPOSE_CLIENT, client_fields),
    .exp_zero_never = true,
};
static const struct grant_type consent_type = {
    GRANT_TYPE(grant_consent, SEAL_PURPOSE_CONSENT, consent_fields),
};
static const struct grant_type session_type = {
    GRANT_TYPE(grant_session, SEAL_PURPOSE_SESSION, session_fields),
};
static const struct grant_type code_type = {
    GRANT_TYPE(grant_code, SEAL_PURPOSE_CODE, code_fields),
};
static const struct grant_type access_type = {
    GRANT_TYPE(grant_access, SEAL_PURPOSE_ACCESS, access_fields),
    .order = CHECK_BEARER,
    .sub_off = TYPED(grant_access, sub, const char *),
    .iat_off = TYPED(grant_access, iat, int64_t),
};
static const struct grant_type refresh_type = {
    GRANT_TYPE(grant_refresh, SEAL_PURPOSE_REFRESH, refresh_fields),
};

/* Typed views of a member at a table offset. */
static const char **
str_at(void *g, size_t off)
{
    return (const char **)((char *)g + off);
}

static const char *
str_get(const void *g, size_t off)
{
    const char *s = *(const char *const *)((const char *)g + off);
    return s != NULL ? s : "";
}

static int64_t *
time_at(void *g, size_t off)
{
    return (int64_t *)((char *)g + off);
}

/* ---- writing --------------------------------------------------------------- */

/* Appends s as a JSON string with its quotes (RFC 8259 section 7). Bytes
 * that are not valid UTF-8 become U+FFFD, so the reader (jansson, which
 * refuses invalid UTF-8) can always open what we seal. */
static int
append_string(struct buf *b, const char *s)
{
    static const char hexdig[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    size_t run = 0; /* start of the pending run of bytes copied verbatim */
    int rc = buf_append_byte(b, '"');
    for (size_t i = 0; rc == 0 && i < len;) {
        unsigned char c = p[i];
        size_t n = 1;
        char esc[8] = {0};
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
        } else if (c < 0x20) {
            const char *shorts = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
            if (shorts != NULL) {
                memcpy(esc, shorts, 2);
            } else {
                memcpy(esc, "\\u00", 4);
                esc[4] = hexdig[c >> 4];
                esc[5] = hexdig[c & 15];
            }
        } else if (c >= 0x80 && (n = utf8_seq_len(p + i, len - i)) == 0) {
            memcpy(esc, "\\ufffd", 6);
            n = 1;
        }
        if (esc[0] == '\0') {
            i += n;
            continue;
        }
        rc = buf_append(b, p + run, i - run);
        if (rc == 0) {
            rc = buf_append_str(b, esc);
        }
        i += n;
        run = i;
    }
    if (rc == 0) {
        rc = buf_append(b, p + run, len - run);
    }
    return rc == 0 ? buf_append_byte(b, '"') : rc;
}

static int
append_key(struct buf *b, bool *first, const char *key)
{
    int rc = *first ? 0 : buf_append_byte(b, ',');
    *first = false;
    if (rc == 0) {
        rc = buf_appendf(b, "\"%s\":", key); /* keys are our identifiers: no escaping */
    }
    return rc;
}

/* One field; 1 when skipped by omit-if-empty. -1 at the buffer cap. */
static int
append_field(const struct grant_type *t, const struct field *f, const void *g, struct buf *b,
             bool *first)
{
    const char *base = g;
    switch (f->kind) {
    case KIND_TYP:
        return append_key(b, first, f->key) == 0 ? append_string(b, seal_purpose_str(t->purpose))
                                                 : -1;
    case KIND_STR: {
        const char *s = str_get(g, f->off);
        if (f->omit_empty && s[0] == '\0') {
            return 1;
        }
        return append_key(b, first, f->key) == 0 ? append_string(b, s) : -1;
    }
    case KIND_STRS: {
        const char *const *v = *(const char *const *const *)(base + f->off);
        size_t n = *(const size_t *)(base + f->count_off);
        if (f->omit_empty && n == 0) {
            return 1;
        }
        int rc = append_key(b, first, f->key) == 0 ? buf_append_byte(b, '[') : -1;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            rc = i > 0 ? buf_append_byte(b, ',') : 0;
            if (rc == 0) {
                rc = append_string(b, v[i] != NULL ? v[i] : "");
            }
        }
        return rc == 0 ? buf_append_byte(b, ']') : -1;
    }
    case KIND_TIME: {
        int64_t v = *(const int64_t *)(base + f->off);
        if (f->omit_empty && v == 0) {
            return 1;
        }
        return append_key(b, first, f->key) == 0 ? buf_appendf(b, "%" PRId64, v) : -1;
    }
    case KIND_BOOL: {
        bool v = *(const bool *)(base + f->off);
        if (!v) {
            return 1;
        }
        return append_key(b, first, f->key) == 0 ? buf_append_str(b, "true") : -1;
    }
    }
    return -1;
}

static enum seal_rc
to_json(const struct grant_type *t, const void *g, struct buf *b)
{
    bool first = true;
    if (buf_append_byte(b, '{') != 0) {
        return SEAL_ERR_TOO_LARGE;
    }
    for (size_t i = 0; i < t->field_count; i++) {
        const struct field *f = &t->fields[i];
        if (f->kind == KIND_TIME && *(const int64_t *)((const char *)g + f->off) < 0) {
            return SEAL_ERR_MALFORMED;
        }
        if (append_field(t, f, g, b, &first) < 0) {
            return SEAL_ERR_TOO_LARGE;
        }
    }
    return buf_append_byte(b, '}') == 0 ? SEAL_OK : SEAL_ERR_TOO_LARGE;
}

static enum seal_rc
seal_grant_with(const struct grant_type *t, const struct seal_ring *ring, const void *g,
                bool synthetic, struct buf *out)
{
    struct buf json;
    buf_init(&json, SEAL_PLAINTEXT_MAX);
    enum seal_rc rc = to_json(t, g, &json);
    if (rc == SEAL_OK) {
        rc = synthetic ? seal_seal_synthetic(ring, t->purpose, buf_slice(&json), out)
                       : seal_seal(ring, t->purpose, buf_slice(&json), out);
    }
    /* The JSON holds PKCE verifiers and identities: wipe before freeing. */
    if (json.ptr != NULL) {
        OPENSSL_cleanse(json.ptr, json.alloc);
    }
    buf_cleanup(&json);
    return rc;
}

static enum seal_rc
seal_grant(const struct grant_type *t, const struct seal_ring *ring, const void *g, struct buf *out)
{
    return seal_grant_with(t, ring, g, false, out);
}

/* ---- reading --------------------------------------------------------------- */

/* Work buffers up to this size live on the stack: an access token with a
 * handful of groups decodes to well under 1 KiB. */
#define OPEN_STACK_BYTES 4096

/* Opens the envelope and parses the JSON object inside: GRANTS_OK with
 * *out_root (caller owns it), GRANTS_ERR_OPEN, or GRANTS_ERR_PAYLOAD.
 * *src is seal_open's outcome, whatever the payload turns out to be. */
static enum grants_rc
open_json(const struct seal_ring *ring, enum seal_purpose purpose, struct slice token,
          json_t **out_root, enum seal_rc *src)
{
    uint8_t stack[OPEN_STACK_BYTES];
    /* Past the cap seal_open refuses before decoding; size nothing from it. */
    size_t need = token.len <= BOUNDS_SEALED_MAX_CHARS ? b64url_decoded_max(token.len) : 0;
    uint8_t *work = need <= sizeof(stack) ? stack : xmalloc(need);
    size_t cap = work == stack ? sizeof(stack) : need;
    struct slice plain;
    enum grants_rc rc = GRANTS_ERR_OPEN;
    *src = seal_open(ring, purpose, token, work, cap, &plain);
    if (*src == SEAL_OK) {
        json_t *root = NULL;
        if (jsonx_parse(plain, SEAL_PLAINTEXT_MAX, &root) == JSONX_OK && json_is_object(root)) {
            *out_root = root;
            rc = GRANTS_OK;
        } else {
            json_decref(root);
            rc = GRANTS_ERR_PAYLOAD;
        }
        OPENSSL_cleanse((void *)plain.ptr, plain.len);
    }
    if (work != stack) {
        xfree(work);
    }
    return rc;
}

/* Reads one field into g. false: missing when required, or wrong type. */
static bool
read_field(const struct field *f, const json_t *root, void *g, struct grants_storage *st)
{
    char *base = g;
    switch (f->kind) {
    case KIND_TYP:
        return true; /* checked before the fields */
    case KIND_STR: {
        struct slice s;
        enum jsonx_get r = jsonx_get_str(root, f->key, &s);
        if (r == JSONX_ABSENT && f->omit_empty) {
            return true;
        }
        if (r != JSONX_FOUND) {
            return false;
        }
        *str_at(g, f->off) = s.ptr; /* NUL-terminated: jsonx refuses embedded NUL */
        return true;
    }
    case KIND_STRS: {
        const json_t *arr;
        enum jsonx_get r = jsonx_get_array(root, f->key, &arr);
        if (r == JSONX_ABSENT && f->omit_empty) {
            return true;
        }
        if (r != JSONX_FOUND) {
            return false;
        }
        size_t n = json_array_size(arr);
        if (n == 0) {
            return true;
        }
        assert(st->strs == NULL); /* one array field per grant type */
        st->strs = xmalloc(n * sizeof(*st->strs));
        for (size_t i = 0; i < n; i++) {
            const json_t *v = json_array_get(arr, i);
            if (!json_is_string(v)) {
                return false;
            }
            st->strs[i] = json_string_value(v);
        }
        *(const char *const **)(base + f->off) = st->strs;
        *(size_t *)(base + f->count_off) = n;
        return true;
    }
    case KIND_TIME: {
        int64_t v;
        enum jsonx_get r = jsonx_get_int(root, f->key, &v);
        if (r == JSONX_ABSENT && f->omit_empty) {
            return true; /* zeroed with the grant */
        }
        if (r != JSONX_FOUND || v < 0) {
            return false;
        }
        *time_at(g, f->off) = v;
        return true;
    }
    case KIND_BOOL: {
        bool v;
        enum jsonx_get r = jsonx_get_bool(root, f->key, &v);
        if (r == JSONX_ABSENT) {
            return true;
        }
        if (r != JSONX_FOUND) {
            return false;
        }
        *(bool *)(base + f->off) = v;
        return true;
    }
    }
    return false;
}

static void
cleanup_grant(const struct grant_type *t, void *g)
{
    if (g == NULL) {
        return;
    }
    struct grants_storage *st = (struct grants_storage *)((char *)g + t->storage_off);
    json_decref(st->json);
    xfree(st->strs);
    memset(g, 0, t->size);
}

/* The SPEC.md 2.2 checks, in the order SPEC.md gives for this type. */
static enum grants_rc
check_grant(const struct grant_type *t, const void *g, const char *expected_aud, int64_t now_s)
{
    const char *aud = str_get(g, t->aud_off);
    int64_t exp = *(const int64_t *)((const char *)g + t->exp_off);
    bool aud_ok = strcmp(aud, expected_aud) == 0;
    bool expired = !(t->exp_zero_never && exp == 0) && now_s > exp;
    if (t->order == CHECK_BEARER) {
        if (str_get(g, t->sub_off)[0] == '\0' || aud[0] == '\0' ||
            *(const int64_t *)((const char *)g + t->iat_off) == 0) {
            return GRANTS_ERR_PAYLOAD;
        }
        if (expired) {
            return GRANTS_ERR_EXPIRED;
        }
    }
    if (!aud_ok) {
        return GRANTS_ERR_AUDIENCE;
    }
    if (expired) {
        return GRANTS_ERR_EXPIRED;
    }
    return GRANTS_OK;
}

static enum grants_rc
open_grant(const struct grant_type *t, const struct seal_ring *ring, struct slice token,
           const char *expected_aud, int64_t now_s, void *out, enum seal_rc *out_seal_rc)
{
    assert(ring != NULL && expected_aud != NULL && out != NULL);
    enum seal_rc src_local;
    enum seal_rc *src = out_seal_rc != NULL ? out_seal_rc : &src_local;
    memset(out, 0, t->size);
    json_t *root = NULL;
    enum grants_rc rc = open_json(ring, t->purpose, token, &root, src);
    if (rc != GRANTS_OK) {
        return rc;
    }
    struct grants_storage *st = (struct grants_storage *)((char *)out + t->storage_off);
    st->json = root;

    /* typ first: a payload of another type would also fail the schema, and
     * "typ mismatch" is the outcome SPEC.md names for it. */
    struct slice typ;
    if (jsonx_get_str(root, "typ", &typ) != JSONX_FOUND) {
        rc = GRANTS_ERR_PAYLOAD;
    } else if (!slice_eq_cstr(typ, seal_purpose_str(t->purpose))) {
        rc = GRANTS_ERR_TYP;
    }
    for (size_t i = 0; rc == GRANTS_OK && i < t->field_count; i++) {
        const struct field *f = &t->fields[i];
        if (f->kind == KIND_STR) {
            *str_at(out, f->off) = ""; /* absent optional strings read as "" */
        }
        if (!read_field(f, root, out, st)) {
            rc = GRANTS_ERR_PAYLOAD;
        }
    }
    if (rc == GRANTS_OK) {
        rc = check_grant(t, out, expected_aud, now_s);
    }
    if (rc != GRANTS_OK && rc != GRANTS_ERR_AUDIENCE && rc != GRANTS_ERR_EXPIRED) {
        cleanup_grant(t, out);
    }
    return rc;
}

/* ---- the typed entry points ------------------------------------------------ */

enum seal_rc
grants_seal_client(const struct seal_ring *ring, const struct grant_client *g, struct buf *out)
{
    return seal_grant(&client_type, ring, g, out);
}

enum grants_rc
grants_open_client(const struct seal_ring *ring, struct slice token, const char *expected_aud,
                   int64_t now_s, struct grant_client *out, enum seal_rc *out_seal_rc)
{
    return open_grant(&client_type, ring, token, expected_aud, now_s, out, out_seal_rc);
}

void
grants_cleanup_client(struct grant_client *g)
{
    cleanup_grant(&client_type, g);
}

enum seal_rc
grants_seal_consent(const struct seal_ring *ring, const struct grant_consent *g, struct buf *out)
{
    return seal_grant(&consent_type, ring, g, out);
}

enum grants_rc
grants_open_consent(const struct seal_ring *ring, struct slice token, const char *expected_aud,
                    int64_t now_s, struct grant_consent *out, enum seal_rc *out_seal_rc)
{
    return open_grant(&consent_type, ring, token, expected_aud, now_s, out, out_seal_rc);
}

void
grants_cleanup_consent(struct grant_consent *g)
{
    cleanup_grant(&consent_type, g);
}

enum seal_rc
grants_seal_session(const struct seal_ring *ring, const struct grant_session *g, struct buf *out)
{
    return seal_grant(&session_type, ring, g, out);
}

enum grants_rc
grants_open_session(const struct seal_ring *ring, struct slice token, const char *expected_aud,
                    int64_t now_s, struct grant_session *out, enum seal_rc *out_seal_rc)
{
    return open_grant(&session_type, ring, token, expected_aud, now_s, out, out_seal_rc);
}

void
grants_cleanup_session(struct grant_session *g)
{
    cleanup_grant(&session_type, g);
}

enum seal_rc
grants_seal_code(const struct seal_ring *ring, const struct grant_code *g, struct buf *out)
{
    return seal_grant(&code_type, ring, g, out);
}

enum grants_rc
grants_open_code(const struct seal_ring *ring, struct slice token, const char *expected_aud,
                 int64_t now_s, struct grant_code *out, enum seal_rc *out_seal_rc)
{
    return open_grant(&code_type, ring, token, expected_aud, now_s, out, out_seal_rc);
}

void
grants_cleanup_code(struct grant_code *g)
{
    cleanup_grant(&code_type, g);
}

enum seal_rc
grants_seal_access(const struct seal_ring *ring, const struct grant_access *g, struct buf *out)
{
    return seal_grant(&access_type, ring, g, out);
}

enum grants_rc
grants_open_access(const struct seal_ring *ring, struct slice token, const char *expected_aud,
                   int64_t now_s, struct grant_access *out, enum seal_rc *out_seal_rc)
{
    return open_grant(&access_type, ring, token, expected_aud, now_s, out, out_seal_rc);
}

enum grants_rc
grants_check_access(const struct grant_access *g, const char *expected_aud, int64_t now_s)
{
    return check_grant(&access_type, g, expected_aud, now_s);
}

void
grants_cleanup_access(struct grant_access *g)
{
    cleanup_grant(&access_type, g);
}

enum seal_rc
grants_seal_refresh(const struct seal_ring *ring, const struct grant_refresh *g, struct buf *out)
{
    return seal_grant(&refresh_type, ring, g, out);
}

enum grants_rc
grants_open_refresh(const struct seal_ring *ring, struct slice token, const char *expected_aud,
                    int64_t now_s, struct grant_refresh *out, enum seal_rc *out_seal_rc)
{
    return open_grant(&refresh_type, ring, token, expected_aud, now_s, out, out_seal_rc);
}

void
grants_cleanup_refresh(struct grant_refresh *g)
{
    cleanup_grant(&refresh_type, g);
}

/* Deterministic twins (seal_seal_synthetic): the JSON is a pure function
 * of the grant (fixed key order, fixed escaping), so equal grants give
 * equal tokens. */
enum seal_rc
grants_seal_access_synthetic(const struct seal_ring *ring, const struct grant_access *g,
                             struct buf *out)
{
    return seal_grant_with(&access_type, ring, g, true, out);
}

enum seal_rc
grants_seal_refresh_synthetic(const struct seal_ring *ring, const struct grant_refresh *g,
                              struct buf *out)
{
    return seal_grant_with(&refresh_type, ring, g, true, out);
}
