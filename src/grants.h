/* grants: the six typed sealed payloads (SPEC.md 2.2, 2.3) and the one
 * place where an opened token's `typ`, `aud` and expiry are checked.
 *
 * A handler never sees a payload that skipped those checks: the only way to
 * get a struct grant_* from a token is grants_open_*, which takes the
 * expected audience and the time and returns one of the outcomes below.
 * `typ` is not a struct member at all; it is written and checked here.
 *
 * JSON keys are the short wire names of SPEC.md 2.3; members are named for
 * what they hold, with the wire key beside each where it differs (a
 * member written once names its key in the first struct that has it; the
 * registered JWT claim names sub, aud, exp, iat, jti, email, name and nonce
 * are both). grants.c's field tables pair each member with its key, in the
 * order the JSON is written (docs/internals/seal.md). Fields marked
 * "omitted when empty" are left out of the JSON when "" / false / no
 * elements; every other field is always written and must be present when
 * opening. Unknown keys are ignored; wrong types, duplicate keys, negative
 * times and a missing required key are refused.
 *
 * Times are int64_t Unix seconds, encoded as JSON integers (0 = the zero
 * time; a client exp of 0 never expires). The Go project wrote RFC 3339
 * strings; the sealed format is ours (SPEC.md preface), and integers are
 * cheaper to parse on the bearer path. See docs/internals/seal.md.
 *
 * Ownership. Strings are `const char *`, NUL-terminated, never NULL in an
 * opened grant ("" when absent).
 *  - Building a grant to seal: point the members at your own strings (NULL
 *    counts as ""); leave `storage` zeroed; nothing is copied or freed.
 *  - An opened grant owns a parsed JSON document and every string points
 *    into it; `storage` holds it. It stays valid until grants_cleanup_*,
 *    which must be called whatever the outcome (it is safe on a zeroed or
 *    built grant, and leaves the struct zeroed).
 *
 * Size. Strings are bounded by the token cap (BOUNDS_SEALED_MAX_CHARS;
 * SEAL_PLAINTEXT_MAX bytes of JSON), checked before decoding, so an opened
 * grant can never hold more than that; sealing a grant whose JSON would not
 * fit fails with SEAL_ERR_TOO_LARGE instead of minting a token that could
 * never be opened. Invalid UTF-8 in a string being sealed is replaced with
 * U+FFFD (as Go's encoder does), so what opens is always valid JSON.
 *
 * Pure: no I/O; thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"
#include "seal.h"

struct json_t;

/* Outcomes of grants_open_* that handlers branch on (SPEC.md 3.3 steps
 * 4-7, 3.5 steps 6-8, 3.7 steps 4-6, 3.8, 4.1 steps 3-4). */
enum grants_rc {
    GRANTS_OK = 0,
    GRANTS_ERR_OPEN,     /* envelope did not open: garbage, too large, unknown key, forged,
                          * or sealed for another purpose (AEAD cannot tell these apart) */
    GRANTS_ERR_PAYLOAD,  /* opened, but not a valid payload of this type; for access also
                          * empty sub, empty aud or zero iat (SPEC.md 2.2) */
    GRANTS_ERR_TYP,      /* opened, but typ is not this purpose */
    GRANTS_ERR_AUDIENCE, /* aud differs from the expected audience (exact compare) */
    GRANTS_ERR_EXPIRED,  /* now > exp (client: exp != 0 and now > exp) */
    GRANTS_RC_COUNT,
};

const char *grants_rc_str(enum grants_rc rc);

/* Filled by grants_open_*; zero in a grant being built. Never touch it. */
struct grants_storage {
    struct json_t *json; /* the parsed payload every string points into */
    const char **strs;   /* the array behind redirect_uris / groups, when non-empty */
};

/* client: inside client_id (POST /register). */
struct grant_client {
    const char *id;                   /* "id": internal client id (UUID) */
    const char *const *redirect_uris; /* "r": registered, verbatim; always written */
    size_t redirect_uri_count;
    const char *client_name; /* "n": always written, may be "" */
    /* "at": "native" or "web" (SEP-837, oauth/register_rules.h); omitted
     * when empty, and "" in a registration sealed before it existed. */
    const char *application_type;
    const char *aud;
    int64_t exp; /* 0 = never expires */
    struct grants_storage storage;
};

/* consent: inside consent_token (GET /authorize consent fork). */
struct grant_consent {
    const char *jti;            /* UUID; omitted when empty */
    const char *client_id;      /* "cid": internal client id */
    const char *client_name;    /* "cn": omitted when empty */
    const char *redirect_uri;   /* "ru": the redirect_uri the client sent */
    const char *client_state;   /* "os": the client's state */
    const char *code_challenge; /* "cc": the client's; omitted when empty */
    bool server_pkce;           /* "spkce": server-side PKCE requested; omitted when false */
    const char *resource;       /* "res": canonical resource; omitted when empty */
    /* "scp": the granted scope (oauth/scope_rules.h), distinct RFC 6749 3.3
     * tokens joined by single spaces; omitted when empty (no scopes
     * configured, or a token minted before scopes: both read ""). The same
     * key and rule in session, code, access and refresh. */
    const char *scope;
    const char *binding_hash; /* "bh": base64url SHA-256 of the consent
                               * cookie's secret (oauth/binding.h); required */
    const char *aud;
    int64_t exp;
    struct grants_storage storage;
};

/* session: the IdP `state` parameter. */
struct grant_session {
    const char *client_id;         /* "cid" */
    const char *redirect_uri;      /* "ru" */
    const char *code_challenge;    /* "cc": the effective downstream challenge */
    const char *client_state;      /* "os" */
    const char *nonce;             /* 32 hex chars */
    const char *upstream_verifier; /* "pv": the PKCE verifier toward the IdP */
    const char *server_verifier;   /* "sv": server-side downstream verifier; omitted when empty */
    const char *server_challenge;  /* "sch": its challenge; omitted when empty */
    const char *session_id;        /* "sid": UUID; omitted when empty */
    const char *binding_hash;      /* "bh": browser binding of the callback cookie; required */
    const char *aud;
    const char *resource; /* "res": omitted when empty */
    const char *scope;    /* "scp": omitted when empty */
    int64_t exp;
    /* What /authorize asked the IdP for the step-up scopes in `scope`
     * (docs/step-up.md), checked against the id_token at /callback.
     * "sav": the acr_values sent, space-joined; omitted when empty (none
     * sent). "sma": the max_age sent, "smas": whether one was sent (0 with
     * smas is prompt=login); both omitted when none was. */
    const char *stepup_acr_values;
    int64_t stepup_max_age;
    bool stepup_max_age_set;
    struct grants_storage storage;
};

/* code: the authorization code returned to the client. */
struct grant_code {
    const char *token_id;  /* "tid": UUID */
    const char *family_id; /* "fam": UUID */
    const char *client_id;
    const char *redirect_uri;
    const char *code_challenge;
    const char *sub;
    const char *email;
    const char *name;
    const char *const *groups; /* "grp": omitted when empty */
    size_t group_count;
    const char *resource;        /* omitted when empty */
    const char *scope;           /* "scp": omitted when empty */
    bool server_pkce;            /* omitted when false */
    const char *server_verifier; /* omitted when empty */
    const char *aud;
    int64_t exp;
    /* The recorded authentication (docs/step-up.md), from the IdP's
     * id_token at /callback, carried unchanged through code, access and
     * refresh (a refresh never upgrades it). "acr": the id_token's acr,
     * omitted when empty (unknown). "atm": its auth_time in Unix seconds,
     * omitted when 0 (unknown). Tokens minted before these existed open
     * as unknown. */
    const char *acr;
    int64_t auth_time;
    struct grants_storage storage;
};

/* access: the bearer token. */
struct grant_access {
    const char *token_id;
    /* "fam": the family the code grant started, so a revoked family
     * (/revoke, a replayed code or refresh token) refuses its access tokens
     * too (src/revocation/). Omitted when empty: tokens minted before it
     * existed open with "" and are checked by subject only. */
    const char *family_id;
    const char *aud;
    const char *resource; /* omitted when empty */
    const char *scope;    /* "scp": omitted when empty */
    const char *sub;
    const char *email;         /* always written */
    const char *const *groups; /* omitted when empty */
    size_t group_count;
    const char *client_id;
    int64_t iat;
    int64_t exp;
    const char *acr;   /* "acr": omitted when empty (grant_code) */
    int64_t auth_time; /* "atm": omitted when 0 (grant_code) */
    struct grants_storage storage;
};

/* refresh: the refresh token. */
struct grant_refresh {
    const char *token_id;
    const char *family_id;
    const char *sub;
    const char *email;
    const char *const *groups; /* omitted when empty */
    size_t group_count;
    const char *client_id;
    const char *aud;
    const char *resource; /* omitted when empty */
    const char *scope;    /* "scp": omitted when empty */
    int64_t iat;
    int64_t family_iat; /* "fiat": the family's first iat; 0 on legacy tokens */
    int64_t exp;
    /* "gen": rotation generation, 0 for the token the code grant issued,
     * +1 per rotation (omitted when 0; absent on older tokens reads 0). The
     * memory replay store keeps one record per family and tells a fresh
     * token from a used one by it (store/memory.h). */
    int64_t generation;
    const char *acr;   /* "acr": omitted when empty (grant_code) */
    int64_t auth_time; /* "atm": omitted when 0 (grant_code) */
    struct grants_storage storage;
};

#define GRANTS_WUR __attribute__((warn_unused_result))

/* grants_seal_<type>: serialises g (typ added here) and appends the token
 * to out. SEAL_OK; SEAL_ERR_TOO_LARGE when the JSON exceeds
 * SEAL_PLAINTEXT_MAX or out's cap (out unchanged); SEAL_ERR_MALFORMED
 * when a time is negative (a caller bug). Counts the seal (seal.h).
 *
 * grants_open_<type>: opens `token` and checks it, in SPEC.md's order:
 * typ, then aud == expected_aud, then now_s > exp (access: typ, the
 * SPEC.md 2.2 claims, expiry, then audience, as SPEC.md 4.1 orders them).
 * *out is overwritten (it must not hold an opened grant). It is filled on
 * GRANTS_OK and also on GRANTS_ERR_AUDIENCE and GRANTS_ERR_EXPIRED, so a
 * handler can still follow its own check order (e.g. refresh: missing
 * token_id/family_id before audience, revocation before expiry) and log
 * the expiry; on the other outcomes it is zeroed. Always call
 * grants_cleanup_<type>. out_seal_rc, when not NULL, receives the
 * envelope's outcome from seal_open, for debug logs that tell a retired key
 * from a forgery: SEAL_OK whenever the envelope opened (every outcome but
 * GRANTS_ERR_OPEN), whatever the payload then said. */
enum seal_rc grants_seal_client(const struct seal_ring *ring, const struct grant_client *g,
                                struct buf *out) GRANTS_WUR;
enum grants_rc grants_open_client(const struct seal_ring *ring, struct slice token,
                                  const char *expected_aud, int64_t now_s, struct grant_client *out,
                                  enum seal_rc *out_seal_rc) GRANTS_WUR;
void grants_cleanup_client(struct grant_client *g);

enum seal_rc grants_seal_consent(const struct seal_ring *ring, const struct grant_consent *g,
                                 struct buf *out) GRANTS_WUR;
enum grants_rc grants_open_consent(const struct seal_ring *ring, struct slice token,
                                   const char *expected_aud, int64_t now_s,
                                   struct grant_consent *out, enum seal_rc *out_seal_rc) GRANTS_WUR;
void grants_cleanup_consent(struct grant_consent *g);

enum seal_rc grants_seal_session(const struct seal_ring *ring, const struct grant_session *g,
                                 struct buf *out) GRANTS_WUR;
enum grants_rc grants_open_session(const struct seal_ring *ring, struct slice token,
                                   const char *expected_aud, int64_t now_s,
                                   struct grant_session *out, enum seal_rc *out_seal_rc) GRANTS_WUR;
void grants_cleanup_session(struct grant_session *g);

enum seal_rc grants_seal_code(const struct seal_ring *ring, const struct grant_code *g,
                              struct buf *out) GRANTS_WUR;
enum grants_rc grants_open_code(const struct seal_ring *ring, struct slice token,
                                const char *expected_aud, int64_t now_s, struct grant_code *out,
                                enum seal_rc *out_seal_rc) GRANTS_WUR;
void grants_cleanup_code(struct grant_code *g);

enum seal_rc grants_seal_access(const struct seal_ring *ring, const struct grant_access *g,
                                struct buf *out) GRANTS_WUR;
enum grants_rc grants_open_access(const struct seal_ring *ring, struct slice token,
                                  const char *expected_aud, int64_t now_s, struct grant_access *out,
                                  enum seal_rc *out_seal_rc) GRANTS_WUR;
void grants_cleanup_access(struct grant_access *g);
/* The checks grants_open_access runs once the payload has been read (the
 * SPEC.md 2.2 claims, expiry, then audience), on a grant it opened before:
 * what can change over a token's life is checked again, in the same order
 * with the same outcomes (GRANTS_OK, _PAYLOAD, _EXPIRED, _AUDIENCE). For
 * proxy/bearer_cache.h, which keeps opened grants. */
enum grants_rc grants_check_access(const struct grant_access *g, const char *expected_aud,
                                   int64_t now_s) GRANTS_WUR;

enum seal_rc grants_seal_refresh(const struct seal_ring *ring, const struct grant_refresh *g,
                                 struct buf *out) GRANTS_WUR;
enum grants_rc grants_open_refresh(const struct seal_ring *ring, struct slice token,
                                   const char *expected_aud, int64_t now_s,
                                   struct grant_refresh *out, enum seal_rc *out_seal_rc) GRANTS_WUR;
void grants_cleanup_refresh(struct grant_refresh *g);

/* grants_seal_access / grants_seal_refresh with a synthetic nonce
 * (seal.h seal_seal_synthetic): equal grants seal to equal tokens. Only
 * for grants whose ids and times are derived (oauth/token_derive.h), so
 * grants meant to differ never share a plaintext. */
enum seal_rc grants_seal_access_synthetic(const struct seal_ring *ring,
                                          const struct grant_access *g, struct buf *out) GRANTS_WUR;
enum seal_rc grants_seal_refresh_synthetic(const struct seal_ring *ring,
                                           const struct grant_refresh *g,
                                           struct buf *out) GRANTS_WUR;
