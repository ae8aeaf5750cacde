/* proxy/bearer: the MCP route's bearer check and its 401 (SPEC.md 4.1;
 * middleware/auth_test.go in SPEC.md 9). Tokens are real sealed access
 * grants minted with FIXTURE_SECRET; the clock is the fixed FIXTURE_NOW. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "config.h"
#include "fixtures.h"
#include "grants.h"
#include "proxy/bearer.h"
#include "seal.h"

#define MOUNT "/mcp"
#define RES FIXTURE_BASE MOUNT
#define T0 ((int64_t)FIXTURE_NOW)

static struct seal_ring *ring;
static struct seal_ring *other_ring;

static int
setup(void **state)
{
    (void)state;
    ring = seal_ring_new(FIXTURE_SECRET, strlen(FIXTURE_SECRET), NULL, NULL, 0);
    other_ring = seal_ring_new(FIXTURE_SECRET_2, strlen(FIXTURE_SECRET_2), NULL, NULL, 0);
    fixture_pin_clock(0);
    return ring != NULL && other_ring != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    seal_ring_free(ring);
    seal_ring_free(other_ring);
    fixture_unpin_clock();
    return 0;
}

static struct proxy_bearer_policy
policy(void)
{
    return (struct proxy_bearer_policy){.ring = ring, .audience = FIXTURE_BASE, .resource = RES};
}

static const char *const groups[] = {"admin", "dev"};

static struct grant_access
good_grant(void)
{
    return (struct grant_access){.token_id = "tid-1",
                                 .aud = FIXTURE_BASE,
                                 .resource = RES,
                                 .sub = "user-1",
                                 .email = "u1@example.com",
                                 .groups = groups,
                                 .group_count = 2,
                                 .client_id = "cid-1",
                                 .iat = T0 - 60,
                                 .exp = T0 + 3600};
}

/* "Bearer <token>" for g sealed with r; caller frees. */
static char *
mint(const struct seal_ring *r, const struct grant_access *g, const char *prefix)
{
    struct buf b;
    buf_init(&b, 2 * BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(buf_append_str(&b, prefix), 0);
    assert_int_equal(grants_seal_access(r, g, &b), SEAL_OK);
    return buf_take(&b);
}

static enum proxy_bearer_rc
check_one(const struct proxy_bearer_policy *p, const char *header, struct proxy_bearer_result *r)
{
    struct slice v = slice_from_cstr(header);
    return proxy_bearer_check(p, &v, header != NULL ? 1 : 0, T0, r);
}

static void
test_valid_token(void **state)
{
    (void)state;
    struct grant_access g = good_grant();
    char *h = mint(ring, &g, "Bearer ");
    struct proxy_bearer_policy p = policy();
    struct proxy_bearer_result r;
    assert_int_equal(check_one(&p, h, &r), PROXY_BEARER_OK);
    assert_int_equal(r.rc, PROXY_BEARER_OK);
    assert_false(r.has_reason);
    assert_null(r.log_event);
    assert_string_equal(r.grant.sub, "user-1");
    assert_string_equal(r.grant.email, "u1@example.com");
    assert_int_equal(r.grant.group_count, 2);
    assert_string_equal(r.grant.groups[0], "admin");
    assert_string_equal(r.grant.groups[1], "dev");
    assert_string_equal(r.grant.client_id, "cid-1");
    proxy_bearer_result_cleanup(&r);
    assert_null(r.grant.sub);
    xfree(h);
}

/* Scheme spellings and whitespace around the credential (steps 1-2). */
static void
test_scheme_and_trim(void **state)
{
    (void)state;
    static const struct {
        const char *prefix;
        const char *suffix;
        enum proxy_bearer_rc want;
    } rows[] = {
        {"Bearer ", "", PROXY_BEARER_OK},
        {"bearer ", "", PROXY_BEARER_OK},
        {"BEARER ", "", PROXY_BEARER_OK},
        {"bEaReR ", "", PROXY_BEARER_OK},
        {"Bearer    ", "", PROXY_BEARER_OK},
        {"Bearer \t ", " \t", PROXY_BEARER_OK},
        {"Bearer ", "\r\n", PROXY_BEARER_OK},
        {"Bearer\t", "", PROXY_BEARER_INVALID_REQUEST},
        /* Another scheme (the token glued to "Bearer" is one): RFC 6750
         * 3.1's "no authentication information". */
        {"Bearer", "", PROXY_BEARER_NO_CREDENTIALS},
        {"Bearer:", "", PROXY_BEARER_NO_CREDENTIALS},
        {"Basic ", "", PROXY_BEARER_NO_CREDENTIALS},
        {" Bearer ", "", PROXY_BEARER_NO_CREDENTIALS},
        {"Token ", "", PROXY_BEARER_NO_CREDENTIALS},
        {"Bearer x", "", PROXY_BEARER_INVALID_TOKEN},
        {"Bearer ", " x", PROXY_BEARER_INVALID_TOKEN},
    };
    struct grant_access g = good_grant();
    struct proxy_bearer_policy p = policy();
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *tok = mint(ring, &g, rows[i].prefix);
        struct buf h;
        buf_init(&h, 4 * BOUNDS_SEALED_MAX_CHARS);
        assert_int_equal(buf_appendf(&h, "%s%s", tok, rows[i].suffix), 0);
        struct proxy_bearer_result r;
        enum proxy_bearer_rc rc = check_one(&p, buf_cstr(&h), &r);
        if (rc != rows[i].want) {
            fail_msg("row %zu (%s): got %s", i, rows[i].prefix, proxy_bearer_rc_str(rc));
        }
        assert_int_equal(r.has_reason, rc == PROXY_BEARER_INVALID_TOKEN);
        proxy_bearer_result_cleanup(&r);
        buf_cleanup(&h);
        xfree(tok);
    }
}

/* Blank and malformed Bearer credentials: invalid_request; no
 * Authorization or another scheme: no_credentials (the bare challenge of
 * RFC 6750 3.1). Never metered. */
static void
test_invalid_request(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        enum proxy_bearer_rc want;
    } rows[] = {
        {"", PROXY_BEARER_NO_CREDENTIALS},
        {"Bearer", PROXY_BEARER_INVALID_REQUEST},
        {"bearer", PROXY_BEARER_INVALID_REQUEST},
        {"Bearer ", PROXY_BEARER_INVALID_REQUEST},
        {"Bearer    ", PROXY_BEARER_INVALID_REQUEST},
        {"Bearer  \t  ", PROXY_BEARER_INVALID_REQUEST},
        {"Bearer \r\n", PROXY_BEARER_INVALID_REQUEST},
        {"Basic dXNlcjpw", PROXY_BEARER_NO_CREDENTIALS},
        {"Bearer\tabc", PROXY_BEARER_INVALID_REQUEST},
        {"Bearerabc", PROXY_BEARER_NO_CREDENTIALS},
        {"Negotiate abc", PROXY_BEARER_NO_CREDENTIALS},
        {"DPoP abc", PROXY_BEARER_NO_CREDENTIALS},
    };
    struct proxy_bearer_policy p = policy();
    struct proxy_bearer_result r;
    assert_int_equal(check_one(&p, NULL, &r), PROXY_BEARER_NO_CREDENTIALS);
    assert_false(r.has_reason);
    assert_null(r.log_event);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (check_one(&p, rows[i].value, &r) != rows[i].want) {
            fail_msg("row %zu: \"%s\" not %s", i, rows[i].value, proxy_bearer_rc_str(rows[i].want));
        }
        assert_false(r.has_reason);
        assert_null(r.grant.sub);
        proxy_bearer_result_cleanup(&r);
    }
}

/* Two Authorization fields are refused even when both are valid. */
static void
test_several_headers(void **state)
{
    (void)state;
    struct grant_access g = good_grant();
    char *h = mint(ring, &g, "Bearer ");
    struct slice vals[2] = {slice_from_cstr(h), slice_from_cstr(h)};
    struct proxy_bearer_policy p = policy();
    struct proxy_bearer_result r;
    assert_int_equal(proxy_bearer_check(&p, vals, 2, T0, &r), PROXY_BEARER_INVALID_REQUEST);
    assert_false(r.has_reason);
    assert_null(r.grant.sub);
    proxy_bearer_result_cleanup(&r);
    assert_int_equal(proxy_bearer_check(&p, vals, 1, T0, &r), PROXY_BEARER_OK);
    proxy_bearer_result_cleanup(&r);
    xfree(h);
}

enum mutation {
    M_NONE = 0,
    M_EXPIRED,
    M_EXP_EQUALS_NOW,
    M_OTHER_AUD,
    M_EXPIRED_OTHER_AUD,
    M_EMPTY_SUB,
    M_ZERO_IAT,
    M_OTHER_SECRET,
    M_TAMPERED,
    M_RES_EMPTY,
    M_RES_OTHER_MOUNT,
    M_RES_OTHER_ORIGIN,
    M_RES_TRAILING_SLASH,
    M_REFRESH_TOKEN,
    M_CONSENT_TOKEN,
    M_GARBAGE,
    M_OVERSIZE,
};

/* The token to present for a mutation of the good grant. */
static char *
mutated_header(enum mutation m)
{
    struct grant_access g = good_grant();
    switch (m) {
    case M_EXPIRED:
        g.exp = T0 - 1;
        break;
    case M_EXP_EQUALS_NOW:
        g.exp = T0; /* now > exp is expired; now == exp is not */
        break;
    case M_OTHER_AUD:
        g.aud = FIXTURE_OTHER_BASE;
        break;
    case M_EXPIRED_OTHER_AUD:
        g.aud = FIXTURE_OTHER_BASE;
        g.exp = T0 - 1;
        break;
    case M_EMPTY_SUB:
        g.sub = "";
        break;
    case M_ZERO_IAT:
        g.iat = 0;
        break;
    case M_OTHER_SECRET:
        return mint(other_ring, &g, "Bearer ");
    case M_TAMPERED: {
        char *h = mint(ring, &g, "Bearer ");
        size_t n = strlen(h);
        h[n - 5] = h[n - 5] == 'A' ? 'B' : 'A';
        return h;
    }
    case M_RES_EMPTY:
        g.resource = "";
        break;
    case M_RES_OTHER_MOUNT:
        g.resource = FIXTURE_BASE "/other";
        break;
    case M_RES_OTHER_ORIGIN:
        g.resource = FIXTURE_OTHER_BASE MOUNT;
        break;
    case M_RES_TRAILING_SLASH:
        g.resource = RES "/";
        break;
    case M_REFRESH_TOKEN: {
        struct grant_refresh rf = {.token_id = "t",
                                   .family_id = "f",
                                   .sub = "user-1",
                                   .email = "",
                                   .client_id = "c",
                                   .aud = FIXTURE_BASE,
                                   .resource = RES,
                                   .iat = T0 - 60,
                                   .family_iat = T0 - 60,
                                   .exp = T0 + 3600};
        struct buf b;
        buf_init(&b, 2 * BOUNDS_SEALED_MAX_CHARS);
        assert_int_equal(buf_append_str(&b, "Bearer "), 0);
        assert_int_equal(grants_seal_refresh(ring, &rf, &b), SEAL_OK);
        return buf_take(&b);
    }
    case M_CONSENT_TOKEN: {
        struct grant_consent c = {.client_id = "c",
                                  .redirect_uri = "https://app/cb",
                                  .client_state = "s",
                                  .aud = FIXTURE_BASE,
                                  .exp = T0 + 300};
        struct buf b;
        buf_init(&b, 2 * BOUNDS_SEALED_MAX_CHARS);
        assert_int_equal(buf_append_str(&b, "Bearer "), 0);
        assert_int_equal(grants_seal_consent(ring, &c, &b), SEAL_OK);
        return buf_take(&b);
    }
    case M_GARBAGE:
        return xstrdup("Bearer not-a-sealed-token");
    case M_OVERSIZE: {
        char *h = xmalloc(8 + BOUNDS_SEALED_MAX_CHARS + 2);
        memcpy(h, "Bearer ", 7);
        memset(h + 7, 'A', BOUNDS_SEALED_MAX_CHARS + 1);
        h[7 + BOUNDS_SEALED_MAX_CHARS + 1] = '\0';
        return h;
    }
    case M_NONE:
        break;
    }
    return mint(ring, &g, "Bearer ");
}

/* Step 3-5: every refusal with its metric reason and debug event. */
static void
test_token_refusals(void **state)
{
    (void)state;
    static const struct {
        enum mutation m;
        enum proxy_bearer_rc want;
        enum metrics_denied reason;
        const char *event;
    } rows[] = {
        {M_NONE, PROXY_BEARER_OK, 0, NULL},
        {M_EXPIRED, PROXY_BEARER_INVALID_TOKEN, METRICS_DENIED_TOKEN_EXPIRED,
         "token_validation_failed"},
        {M_EXP_EQUALS_NOW, PROXY_BEARER_OK, 0, NULL},
        {M_OTHER_AUD, PROXY_BEARER_INVALID_TOKEN, METRICS_DENIED_AUDIENCE_MISMATCH,
         "token_audience_mismatch"},
        /* SPEC.md 4.1 checks expiry (step 3) before audience (step 4). */
        {M_EXPIRED_OTHER_AUD, PROXY_BEARER_INVALID_TOKEN, METRICS_DENIED_TOKEN_EXPIRED,
         "token_validation_failed"},
        {M_EMPTY_SUB, PROXY_BEARER_INVALID_TOKEN, METRICS_DENIED_INVALID_TOKEN,
         "token_validation_failed"},
        {M_ZERO_IAT, PROXY_BEARER_INVALID_TOKEN, METRICS_DENIED_INVALID_TOKEN,
         "token_validation_failed"},
        {M_OTHER_SECRET, PROXY_BEARER_INVALID_TOKEN, METRICS_DENIED_INVALID_TOKEN,
         "token_validation_failed"},
        {M_TAMPERED, PROXY_BEARER_INVALID_TOKEN, METRICS_DENIED_INVALID_TOKEN,
         "token_validation_failed"},
        {M_RES_EMPTY, PROXY_BEARER_OK, 0, NULL},
        {M_RES_OTHER_MOUNT, PROXY_BEARER_INVALID_TOKEN, METRICS_DENIED_RESOURCE_MISMATCH,
         "token_resource_mismatch"},
        {M_RES_OTHER_ORIGIN, PROXY_BEARER_INVALID_TOKEN, METRICS_DENIED_RESOURCE_MISMATCH,
         "token_resource_mismatch"},
        {M_RES_TRAILING_SLASH, PROXY_BEARER_INVALID_TOKEN, METRICS_DENIED_RESOURCE_MISMATCH,
         "token_resource_mismatch"},
        {M_REFRESH_TOKEN, PROXY_BEARER_INVALID_TOKEN, METRICS_DENIED_INVALID_TOKEN,
         "token_validation_failed"},
        {M_CONSENT_TOKEN, PROXY_BEARER_INVALID_TOKEN, METRICS_DENIED_INVALID_TOKEN,
         "token_validation_failed"},
        {M_GARBAGE, PROXY_BEARER_INVALID_TOKEN, METRICS_DENIED_INVALID_TOKEN,
         "token_validation_failed"},
        {M_OVERSIZE, PROXY_BEARER_INVALID_TOKEN, METRICS_DENIED_INVALID_TOKEN,
         "token_validation_failed"},
    };
    struct proxy_bearer_policy p = policy();
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *h = mutated_header(rows[i].m);
        struct proxy_bearer_result r;
        enum proxy_bearer_rc rc = check_one(&p, h, &r);
        if (rc != rows[i].want) {
            fail_msg("row %zu: got %s", i, proxy_bearer_rc_str(rc));
        }
        if (rc == PROXY_BEARER_OK) {
            assert_false(r.has_reason);
            assert_string_equal(r.grant.sub, "user-1");
        } else {
            assert_true(r.has_reason);
            if (r.reason != rows[i].reason) {
                fail_msg("row %zu: reason %s", i, metrics_denied_str(r.reason));
            }
            assert_string_equal(r.log_event, rows[i].event);
            assert_null(r.grant.sub); /* nothing of a refused token is handed out */
        }
        proxy_bearer_result_cleanup(&r);
        xfree(h);
    }
}

/* The expired split is decided by the clock passed in, not the wall clock. */
static void
test_expiry_uses_now(void **state)
{
    (void)state;
    struct grant_access g = good_grant();
    char *h = mint(ring, &g, "Bearer ");
    struct slice v = slice_from_cstr(h);
    struct proxy_bearer_policy p = policy();
    struct proxy_bearer_result r;
    assert_int_equal(proxy_bearer_check(&p, &v, 1, g.exp, &r), PROXY_BEARER_OK);
    proxy_bearer_result_cleanup(&r);
    assert_int_equal(proxy_bearer_check(&p, &v, 1, g.exp + 1, &r), PROXY_BEARER_INVALID_TOKEN);
    assert_int_equal(r.reason, METRICS_DENIED_TOKEN_EXPIRED);
    proxy_bearer_result_cleanup(&r);
    xfree(h);
}

/* Step 6: REVOKE_BEFORE, both sides and the sub-second edge. */
static void
test_revoke_before(void **state)
{
    (void)state;
    static const struct {
        int64_t iat;
        int64_t cut_s;
        int32_t cut_ns;
        bool revoked;
    } rows[] = {
        {T0 - 100, T0 - 50, 0, true}, /* issued before the cutoff */
        {T0 - 10, T0 - 50, 0, false}, /* issued after */
        {T0 - 50, T0 - 50, 0, false}, /* at the cutoff: not before it */
        {T0 - 50, T0 - 50, 1, true},  /* the cutoff is 1 ns later */
        {T0 - 50, T0 - 50, 999999999, true}, {T0 - 49, T0 - 50, 999999999, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct grant_access g = good_grant();
        g.iat = rows[i].iat;
        char *h = mint(ring, &g, "Bearer ");
        struct proxy_bearer_policy p = policy();
        p.revoke_before_set = true;
        p.revoke_before_s = rows[i].cut_s;
        p.revoke_before_ns = rows[i].cut_ns;
        struct proxy_bearer_result r;
        enum proxy_bearer_rc rc = check_one(&p, h, &r);
        if (rows[i].revoked) {
            assert_int_equal(rc, PROXY_BEARER_INVALID_TOKEN);
            assert_int_equal(r.reason, METRICS_DENIED_TOKEN_REVOKED_IAT_CUTOFF);
            assert_string_equal(r.log_event, "token_revoked_iat_cutoff");
        } else if (rc != PROXY_BEARER_OK) {
            fail_msg("row %zu refused", i);
        }
        proxy_bearer_result_cleanup(&r);
        /* Unset, the same token always passes. */
        p.revoke_before_set = false;
        assert_int_equal(check_one(&p, h, &r), PROXY_BEARER_OK);
        proxy_bearer_result_cleanup(&r);
        xfree(h);
    }
}

static void
test_policy_from_config(void **state)
{
    (void)state;
    struct config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.proxy_base_url = (char *)FIXTURE_BASE;
    cfg.canonical_resource = (char *)RES;
    cfg.revoke_before_set = true;
    cfg.revoke_before_s = 5;
    cfg.revoke_before_ns = 6;
    struct proxy_bearer_policy p;
    proxy_bearer_policy_init(&p, &cfg, ring);
    assert_ptr_equal(p.ring, ring);
    assert_string_equal(p.audience, FIXTURE_BASE);
    assert_string_equal(p.resource, RES);
    assert_true(p.revoke_before_set);
    assert_int_equal(p.revoke_before_s, 5);
    assert_int_equal(p.revoke_before_ns, 6);
}

static void
test_body(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(proxy_bearer_format_body(PROXY_BEARER_INVALID_REQUEST, &b), 0);
    assert_string_equal(buf_cstr(&b), "{\"error\":\"invalid_request\",\"error_description\":"
                                      "\"bearer credential is missing or malformed\"}\n");
    buf_reset(&b);
    assert_int_equal(proxy_bearer_format_body(PROXY_BEARER_INVALID_TOKEN, &b), 0);
    assert_string_equal(buf_cstr(&b),
                        "{\"error\":\"invalid_token\",\"error_description\":\"bearer token is "
                        "invalid, expired, or not intended for this resource\"}\n");
    buf_reset(&b);
    assert_int_equal(proxy_bearer_format_body(PROXY_BEARER_NO_CREDENTIALS, &b), 0);
    assert_string_equal(buf_cstr(&b), "{\"error\":\"unauthorized\",\"error_description\":"
                                      "\"a bearer token is required; see WWW-Authenticate\"}\n");
    buf_reset(&b);
    assert_int_equal(proxy_bearer_format_body(PROXY_BEARER_OK, &b), -1);
    assert_int_equal(b.len, 0);
    buf_cleanup(&b);
    struct buf small;
    buf_init(&small, 10);
    assert_int_equal(proxy_bearer_format_body(PROXY_BEARER_INVALID_TOKEN, &small), -1);
    assert_int_equal(small.len, 0);
    buf_cleanup(&small);
}

/* The exact challenge, and the path-scoped metadata URL per mount. */
static void
test_challenge(void **state)
{
    (void)state;
    static const struct {
        enum proxy_bearer_rc rc;
        const char *mount;
        const char *want;
    } rows[] = {
        {PROXY_BEARER_INVALID_TOKEN, "/mcp",
         "Bearer error=\"invalid_token\", error_description=\"bearer token is invalid, "
         "expired, or not intended for this resource\", resource_metadata=\"https://"
         "auth.example.com/.well-known/oauth-protected-resource/mcp\""},
        {PROXY_BEARER_INVALID_REQUEST, "/mcp",
         "Bearer error=\"invalid_request\", error_description=\"bearer credential is "
         "missing or malformed\", resource_metadata=\"https://auth.example.com/"
         ".well-known/oauth-protected-resource/mcp\""},
        {PROXY_BEARER_INVALID_TOKEN, "/api/v1/mcp",
         "Bearer error=\"invalid_token\", error_description=\"bearer token is invalid, "
         "expired, or not intended for this resource\", resource_metadata=\"https://"
         "auth.example.com/.well-known/oauth-protected-resource/api/v1/mcp\""},
        {PROXY_BEARER_INVALID_REQUEST, "",
         "Bearer error=\"invalid_request\", error_description=\"bearer credential is "
         "missing or malformed\", resource_metadata=\"https://auth.example.com/"
         ".well-known/oauth-protected-resource\""},
        /* RFC 6750 3.1: no error code when the request had no credentials. */
        {PROXY_BEARER_NO_CREDENTIALS, "/mcp",
         "Bearer resource_metadata=\"https://auth.example.com/"
         ".well-known/oauth-protected-resource/mcp\""},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct buf b;
        buf_init(&b, 1024);
        assert_int_equal(proxy_bearer_format_challenge(rows[i].rc, FIXTURE_BASE, rows[i].mount, &b),
                         0);
        assert_string_equal(buf_cstr(&b), rows[i].want);
        buf_cleanup(&b);
    }
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(proxy_bearer_format_challenge(PROXY_BEARER_OK, FIXTURE_BASE, "/mcp", &b), -1);
    /* Quoted-string escaping of whatever the URL holds. */
    assert_int_equal(
        proxy_bearer_format_challenge(PROXY_BEARER_INVALID_TOKEN, "https://a\"b\\c", "/m", &b), 0);
    assert_non_null(strstr(buf_cstr(&b), "resource_metadata=\"https://a\\\"b\\\\c/.well-known/"
                                         "oauth-protected-resource/m\""));
    buf_cleanup(&b);
    /* At the cap, out is left as it was. */
    struct buf small;
    buf_init(&small, 60);
    assert_int_equal(buf_append_str(&small, "keep"), 0);
    assert_int_equal(
        proxy_bearer_format_challenge(PROXY_BEARER_INVALID_TOKEN, FIXTURE_BASE, "/mcp", &small),
        -1);
    assert_string_equal(buf_cstr(&small), "keep");
    buf_cleanup(&small);
}

/* The 401's scope (MCP_SCOPES_SUPPORTED without offline_access, chosen by
 * the caller): appended quoted, nothing when there is none. */
static void
test_challenge_scope(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(
        proxy_bearer_format_challenge(PROXY_BEARER_INVALID_TOKEN, FIXTURE_BASE, "/mcp", &b), 0);
    size_t plain = b.len;
    assert_int_equal(proxy_bearer_append_challenge_scope("", &b), 0);
    assert_int_equal(proxy_bearer_append_challenge_scope(NULL, &b), 0);
    assert_int_equal(b.len, plain);
    assert_int_equal(proxy_bearer_append_challenge_scope("mcp:read mcp:write", &b), 0);
    assert_string_equal(buf_cstr(&b) + plain, ", scope=\"mcp:read mcp:write\"");
    buf_cleanup(&b);
    /* At the cap: out as it was. */
    struct buf small;
    buf_init(&small, 12);
    assert_int_equal(buf_append_str(&small, "keep"), 0);
    assert_int_equal(proxy_bearer_append_challenge_scope("mcp:read", &small), -1);
    assert_string_equal(buf_cstr(&small), "keep");
    buf_cleanup(&small);
}

static void
test_strings(void **state)
{
    (void)state;
    assert_string_equal(proxy_bearer_rc_str(PROXY_BEARER_OK), "ok");
    assert_string_equal(proxy_bearer_rc_str(PROXY_BEARER_INVALID_REQUEST), "invalid_request");
    assert_string_equal(proxy_bearer_rc_str(PROXY_BEARER_INVALID_TOKEN), "invalid_token");
    assert_string_equal(proxy_bearer_rc_str(PROXY_BEARER_RC_COUNT), "unknown");
    assert_null(proxy_bearer_description(PROXY_BEARER_OK));
    assert_null(proxy_bearer_description(PROXY_BEARER_RC_COUNT));
    assert_string_equal(proxy_bearer_description(PROXY_BEARER_INVALID_REQUEST),
                        "bearer credential is missing or malformed");
}

static void
test_credential(void **state)
{
    (void)state;
    struct slice tok;
    assert_true(proxy_bearer_credential(SLICE_LIT("Bearer  abc \t"), &tok));
    assert_true(slice_eq_cstr(tok, "abc"));
    assert_true(proxy_bearer_credential(SLICE_LIT("bearer a b"), &tok));
    assert_true(slice_eq_cstr(tok, "a b"));
    assert_false(proxy_bearer_credential(SLICE_LIT("Bearer "), &tok));
    assert_false(proxy_bearer_credential(SLICE_NULL, &tok));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_token),
        cmocka_unit_test(test_scheme_and_trim),
        cmocka_unit_test(test_invalid_request),
        cmocka_unit_test(test_several_headers),
        cmocka_unit_test(test_token_refusals),
        cmocka_unit_test(test_expiry_uses_now),
        cmocka_unit_test(test_revoke_before),
        cmocka_unit_test(test_policy_from_config),
        cmocka_unit_test(test_body),
        cmocka_unit_test(test_challenge),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_challenge_scope),
        cmocka_unit_test(test_credential),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
