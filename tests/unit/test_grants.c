/* grants: typed payloads, their JSON (SPEC.md 2.3) and the one place that
 * checks typ, aud and expiry (SPEC.md 2.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "fixtures.h"
#include "grants.h"
#include "seal.h"

#define RES FIXTURE_BASE "/mcp"
#define T0 ((int64_t)FIXTURE_NOW)

static struct seal_ring *ring;

static int
setup(void **state)
{
    (void)state;
    ring = seal_ring_new(FIXTURE_SECRET, strlen(FIXTURE_SECRET), NULL, NULL, 0);
    fixture_pin_clock(0);
    return ring != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    seal_ring_free(ring);
    fixture_unpin_clock();
    return 0;
}

/* A browser binding hash (oauth/binding.h): 43 base64url characters. */
#define BH "bh0123456789abcdefghijklmnopqrstuvwxyzABCDE"

static const char *const uris[] = {"http://127.0.0.1:3000/cb", "https://app.example/cb"};
static const char *const groups[] = {"eng", "ops"};

/* Fully populated grants, as the handlers would mint them. */
static struct grant_client
full_client(void)
{
    return (struct grant_client){.id = "cid-1",
                                 .redirect_uris = uris,
                                 .redirect_uri_count = 2,
                                 .client_name = "Claude",
                                 .application_type = "native",
                                 .aud = FIXTURE_BASE,
                                 .exp = T0 + 604800};
}

static struct grant_consent
full_consent(void)
{
    return (struct grant_consent){.jti = "jti-1",
                                  .client_id = "cid-1",
                                  .client_name = "Claude",
                                  .redirect_uri = uris[0],
                                  .client_state = "st",
                                  .code_challenge = FIXTURE_PKCE_CHALLENGE,
                                  .server_pkce = true,
                                  .resource = RES,
                                  .binding_hash = BH,
                                  .aud = FIXTURE_BASE,
                                  .exp = T0 + 300};
}

static struct grant_session
full_session(void)
{
    return (struct grant_session){.client_id = "cid-1",
                                  .redirect_uri = uris[0],
                                  .code_challenge = "sch-1",
                                  .client_state = "st",
                                  .nonce = "0123456789abcdef0123456789abcdef",
                                  .upstream_verifier = FIXTURE_PKCE_VERIFIER,
                                  .server_verifier = "sv-1",
                                  .server_challenge = "sch-1",
                                  .session_id = "sid-1",
                                  .binding_hash = BH,
                                  .aud = FIXTURE_BASE,
                                  .resource = RES,
                                  .exp = T0 + 600};
}

static struct grant_code
full_code(void)
{
    return (struct grant_code){.token_id = "tid-1",
                               .family_id = "fam-1",
                               .client_id = "cid-1",
                               .redirect_uri = uris[0],
                               .code_challenge = "cc-1",
                               .sub = "user-1",
                               .email = "u@example.com",
                               .name = "U Ser",
                               .groups = groups,
                               .group_count = 2,
                               .resource = RES,
                               .server_pkce = true,
                               .server_verifier = "sv-1",
                               .aud = FIXTURE_BASE,
                               .exp = T0 + 60};
}

static struct grant_access
full_access(void)
{
    return (struct grant_access){.token_id = "tid-2",
                                 .family_id = "fam-1",
                                 .aud = FIXTURE_BASE,
                                 .resource = RES,
                                 .sub = "user-1",
                                 .email = "u@example.com",
                                 .groups = groups,
                                 .group_count = 2,
                                 .client_id = "cid-1",
                                 .iat = T0,
                                 .exp = T0 + 3600};
}

static struct grant_refresh
full_refresh(void)
{
    return (struct grant_refresh){.token_id = "tid-3",
                                  .family_id = "fam-1",
                                  .sub = "user-1",
                                  .email = "u@example.com",
                                  .groups = groups,
                                  .group_count = 2,
                                  .client_id = "cid-1",
                                  .aud = FIXTURE_BASE,
                                  .resource = RES,
                                  .iat = T0,
                                  .family_iat = T0 - 86400,
                                  .exp = T0 + 604800,
                                  .generation = 7};
}

/* One sealed token per purpose, indexed by enum seal_purpose. */
static char *
seal_any(enum seal_purpose p, const char *aud)
{
    struct buf out;
    buf_init(&out, BOUNDS_SEALED_MAX_CHARS);
    enum seal_rc rc = SEAL_ERR_MALFORMED;
    switch (p) {
    case SEAL_PURPOSE_CLIENT: {
        struct grant_client g = full_client();
        g.aud = aud;
        rc = grants_seal_client(ring, &g, &out);
        break;
    }
    case SEAL_PURPOSE_CONSENT: {
        struct grant_consent g = full_consent();
        g.aud = aud;
        rc = grants_seal_consent(ring, &g, &out);
        break;
    }
    case SEAL_PURPOSE_SESSION: {
        struct grant_session g = full_session();
        g.aud = aud;
        rc = grants_seal_session(ring, &g, &out);
        break;
    }
    case SEAL_PURPOSE_CODE: {
        struct grant_code g = full_code();
        g.aud = aud;
        rc = grants_seal_code(ring, &g, &out);
        break;
    }
    case SEAL_PURPOSE_ACCESS: {
        struct grant_access g = full_access();
        g.aud = aud;
        rc = grants_seal_access(ring, &g, &out);
        break;
    }
    case SEAL_PURPOSE_REFRESH: {
        struct grant_refresh g = full_refresh();
        g.aud = aud;
        rc = grants_seal_refresh(ring, &g, &out);
        break;
    }
    case SEAL_PURPOSE_COUNT:
        break;
    }
    assert_int_equal(rc, SEAL_OK);
    return buf_take(&out);
}

/* Opens token as purpose p through the typed layer; cleans up. */
static enum grants_rc
open_any(const struct seal_ring *r, enum seal_purpose p, struct slice tok, const char *aud,
         int64_t now, enum seal_rc *src)
{
    enum grants_rc rc = GRANTS_RC_COUNT;
    switch (p) {
    case SEAL_PURPOSE_CLIENT: {
        struct grant_client g;
        rc = grants_open_client(r, tok, aud, now, &g, src);
        grants_cleanup_client(&g);
        break;
    }
    case SEAL_PURPOSE_CONSENT: {
        struct grant_consent g;
        rc = grants_open_consent(r, tok, aud, now, &g, src);
        grants_cleanup_consent(&g);
        break;
    }
    case SEAL_PURPOSE_SESSION: {
        struct grant_session g;
        rc = grants_open_session(r, tok, aud, now, &g, src);
        grants_cleanup_session(&g);
        break;
    }
    case SEAL_PURPOSE_CODE: {
        struct grant_code g;
        rc = grants_open_code(r, tok, aud, now, &g, src);
        grants_cleanup_code(&g);
        break;
    }
    case SEAL_PURPOSE_ACCESS: {
        struct grant_access g;
        rc = grants_open_access(r, tok, aud, now, &g, src);
        grants_cleanup_access(&g);
        break;
    }
    case SEAL_PURPOSE_REFRESH: {
        struct grant_refresh g;
        rc = grants_open_refresh(r, tok, aud, now, &g, src);
        grants_cleanup_refresh(&g);
        break;
    }
    case SEAL_PURPOSE_COUNT:
        break;
    }
    return rc;
}

/* The JSON inside a token (test-side decryption with the public ring). */
static void
peek(enum seal_purpose p, const char *tok, char *out, size_t cap)
{
    static uint8_t work[SEAL_DECODED_MAX];
    struct slice plain;
    assert_int_equal(seal_open(ring, p, slice_from_cstr(tok), work, sizeof(work), &plain), SEAL_OK);
    assert_true(plain.len < cap);
    memcpy(out, plain.ptr, plain.len);
    out[plain.len] = '\0';
}

/* A token whose payload is exactly `json`, sealed for p. */
static char *
seal_raw(enum seal_purpose p, const char *json)
{
    struct buf out;
    buf_init(&out, BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(seal_seal(ring, p, slice_from_cstr(json), &out), SEAL_OK);
    return buf_take(&out);
}

/* ---- round trips ------------------------------------------------------------------ */

static void
test_rc_table(void **state)
{
    (void)state;
    for (int i = 0; i < GRANTS_RC_COUNT; i++) {
        assert_string_not_equal(grants_rc_str((enum grants_rc)i), "unknown");
    }
    assert_string_equal(grants_rc_str(GRANTS_ERR_TYP), "typ_mismatch");
    assert_string_equal(grants_rc_str(GRANTS_RC_COUNT), "unknown");
}

static void
test_round_trip_client(void **state)
{
    (void)state;
    char *tok = seal_any(SEAL_PURPOSE_CLIENT, FIXTURE_BASE);
    struct grant_client g;
    enum seal_rc src = SEAL_RC_COUNT;
    assert_int_equal(grants_open_client(ring, slice_from_cstr(tok), FIXTURE_BASE, T0, &g, &src),
                     GRANTS_OK);
    assert_int_equal(src, SEAL_OK);
    assert_string_equal(g.id, "cid-1");
    assert_int_equal(g.redirect_uri_count, 2);
    assert_string_equal(g.redirect_uris[0], uris[0]);
    assert_string_equal(g.redirect_uris[1], uris[1]);
    assert_string_equal(g.client_name, "Claude");
    assert_string_equal(g.application_type, "native");
    assert_string_equal(g.aud, FIXTURE_BASE);
    assert_int_equal(g.exp, T0 + 604800);
    assert_non_null(g.storage.json);
    grants_cleanup_client(&g);
    assert_null(g.storage.json);
    assert_null(g.id);
    grants_cleanup_client(&g); /* twice is harmless */
    xfree(tok);
}

static void
test_round_trip_consent_session(void **state)
{
    (void)state;
    char *tok = seal_any(SEAL_PURPOSE_CONSENT, FIXTURE_BASE);
    struct grant_consent c;
    assert_int_equal(grants_open_consent(ring, slice_from_cstr(tok), FIXTURE_BASE, T0, &c, NULL),
                     GRANTS_OK);
    assert_string_equal(c.jti, "jti-1");
    assert_string_equal(c.client_id, "cid-1");
    assert_string_equal(c.client_name, "Claude");
    assert_string_equal(c.redirect_uri, uris[0]);
    assert_string_equal(c.client_state, "st");
    assert_string_equal(c.code_challenge, FIXTURE_PKCE_CHALLENGE);
    assert_true(c.server_pkce);
    assert_string_equal(c.resource, RES);
    assert_string_equal(c.binding_hash, BH);
    assert_int_equal(c.exp, T0 + 300);
    grants_cleanup_consent(&c);
    xfree(tok);

    tok = seal_any(SEAL_PURPOSE_SESSION, FIXTURE_BASE);
    struct grant_session s;
    assert_int_equal(grants_open_session(ring, slice_from_cstr(tok), FIXTURE_BASE, T0, &s, NULL),
                     GRANTS_OK);
    assert_string_equal(s.client_id, "cid-1");
    assert_string_equal(s.redirect_uri, uris[0]);
    assert_string_equal(s.code_challenge, "sch-1");
    assert_string_equal(s.client_state, "st");
    assert_string_equal(s.nonce, "0123456789abcdef0123456789abcdef");
    assert_string_equal(s.upstream_verifier, FIXTURE_PKCE_VERIFIER);
    assert_string_equal(s.server_verifier, "sv-1");
    assert_string_equal(s.server_challenge, "sch-1");
    assert_string_equal(s.session_id, "sid-1");
    assert_string_equal(s.aud, FIXTURE_BASE);
    assert_string_equal(s.resource, RES);
    assert_string_equal(s.binding_hash, BH);
    assert_int_equal(s.exp, T0 + 600);
    grants_cleanup_session(&s);
    xfree(tok);
}

static void
test_round_trip_code_access_refresh(void **state)
{
    (void)state;
    char *tok = seal_any(SEAL_PURPOSE_CODE, FIXTURE_BASE);
    struct grant_code c;
    assert_int_equal(grants_open_code(ring, slice_from_cstr(tok), FIXTURE_BASE, T0, &c, NULL),
                     GRANTS_OK);
    assert_string_equal(c.token_id, "tid-1");
    assert_string_equal(c.family_id, "fam-1");
    assert_string_equal(c.client_id, "cid-1");
    assert_string_equal(c.redirect_uri, uris[0]);
    assert_string_equal(c.code_challenge, "cc-1");
    assert_string_equal(c.sub, "user-1");
    assert_string_equal(c.email, "u@example.com");
    assert_string_equal(c.name, "U Ser");
    assert_int_equal(c.group_count, 2);
    assert_string_equal(c.groups[0], "eng");
    assert_string_equal(c.groups[1], "ops");
    assert_string_equal(c.resource, RES);
    assert_true(c.server_pkce);
    assert_string_equal(c.server_verifier, "sv-1");
    assert_int_equal(c.exp, T0 + 60);
    grants_cleanup_code(&c);
    xfree(tok);

    tok = seal_any(SEAL_PURPOSE_ACCESS, FIXTURE_BASE);
    struct grant_access a;
    assert_int_equal(grants_open_access(ring, slice_from_cstr(tok), FIXTURE_BASE, T0, &a, NULL),
                     GRANTS_OK);
    assert_string_equal(a.token_id, "tid-2");
    assert_string_equal(a.family_id, "fam-1");
    assert_string_equal(a.aud, FIXTURE_BASE);
    assert_string_equal(a.resource, RES);
    assert_string_equal(a.sub, "user-1");
    assert_string_equal(a.email, "u@example.com");
    assert_int_equal(a.group_count, 2);
    assert_string_equal(a.groups[1], "ops");
    assert_string_equal(a.client_id, "cid-1");
    assert_int_equal(a.iat, T0);
    assert_int_equal(a.exp, T0 + 3600);
    grants_cleanup_access(&a);
    xfree(tok);

    tok = seal_any(SEAL_PURPOSE_REFRESH, FIXTURE_BASE);
    struct grant_refresh r;
    assert_int_equal(grants_open_refresh(ring, slice_from_cstr(tok), FIXTURE_BASE, T0, &r, NULL),
                     GRANTS_OK);
    assert_string_equal(r.token_id, "tid-3");
    assert_string_equal(r.family_id, "fam-1");
    assert_string_equal(r.sub, "user-1");
    assert_string_equal(r.email, "u@example.com");
    assert_int_equal(r.group_count, 2);
    assert_string_equal(r.groups[0], "eng");
    assert_string_equal(r.client_id, "cid-1");
    assert_string_equal(r.aud, FIXTURE_BASE);
    assert_string_equal(r.resource, RES);
    assert_int_equal(r.iat, T0);
    assert_int_equal(r.family_iat, T0 - 86400);
    assert_int_equal(r.exp, T0 + 604800);
    assert_int_equal(r.generation, 7);
    grants_cleanup_refresh(&r);
    xfree(tok);
}

/* ---- the JSON: keys, order, omission ------------------------------------------------- */

static void
check_json(enum seal_purpose p, const char *tok, const char *want)
{
    char json[4096];
    peek(p, tok, json, sizeof(json));
    assert_string_equal(json, want);
}

static void
test_json_full(void **state)
{
    (void)state;
    const char *want[SEAL_PURPOSE_COUNT] = {
        [SEAL_PURPOSE_CLIENT] =
            "{\"id\":\"cid-1\",\"r\":[\"http://127.0.0.1:3000/cb\",\"https://app.example/cb\"],"
            "\"n\":\"Claude\",\"at\":\"native\",\"typ\":\"client\",\"aud\":\"https://"
            "auth.example.com\","
            "\"exp\":1780604800}",
        [SEAL_PURPOSE_CONSENT] =
            "{\"jti\":\"jti-1\",\"cid\":\"cid-1\",\"cn\":\"Claude\","
            "\"ru\":\"http://127.0.0.1:3000/cb\",\"os\":\"st\","
            "\"cc\":\"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\",\"spkce\":true,"
            "\"res\":\"https://auth.example.com/mcp\",\"bh\":\"" BH "\",\"typ\":\"consent\","
            "\"aud\":\"https://auth.example.com\",\"exp\":1780000300}",
        [SEAL_PURPOSE_SESSION] =
            "{\"cid\":\"cid-1\",\"ru\":\"http://127.0.0.1:3000/cb\",\"cc\":\"sch-1\","
            "\"os\":\"st\",\"nonce\":\"0123456789abcdef0123456789abcdef\","
            "\"pv\":\"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk\",\"sv\":\"sv-1\","
            "\"sch\":\"sch-1\",\"sid\":\"sid-1\",\"bh\":\"" BH "\",\"typ\":\"session\","
            "\"aud\":\"https://auth.example.com\",\"res\":\"https://auth.example.com/mcp\","
            "\"exp\":1780000600}",
        [SEAL_PURPOSE_CODE] =
            "{\"tid\":\"tid-1\",\"fam\":\"fam-1\",\"cid\":\"cid-1\","
            "\"ru\":\"http://127.0.0.1:3000/cb\",\"cc\":\"cc-1\",\"sub\":\"user-1\","
            "\"email\":\"u@example.com\",\"name\":\"U Ser\",\"grp\":[\"eng\",\"ops\"],"
            "\"res\":\"https://auth.example.com/mcp\",\"spkce\":true,\"sv\":\"sv-1\","
            "\"typ\":\"code\",\"aud\":\"https://auth.example.com\",\"exp\":1780000060}",
        [SEAL_PURPOSE_ACCESS] =
            "{\"tid\":\"tid-2\",\"fam\":\"fam-1\",\"typ\":\"access\",\"aud\":\"https://"
            "auth.example.com\","
            "\"res\":\"https://auth.example.com/mcp\",\"sub\":\"user-1\","
            "\"email\":\"u@example.com\",\"grp\":[\"eng\",\"ops\"],\"cid\":\"cid-1\","
            "\"iat\":1780000000,\"exp\":1780003600}",
        [SEAL_PURPOSE_REFRESH] =
            "{\"tid\":\"tid-3\",\"fam\":\"fam-1\",\"sub\":\"user-1\","
            "\"email\":\"u@example.com\",\"grp\":[\"eng\",\"ops\"],\"cid\":\"cid-1\","
            "\"typ\":\"refresh\",\"aud\":\"https://auth.example.com\","
            "\"res\":\"https://auth.example.com/mcp\",\"iat\":1780000000,\"fiat\":1779913600,"
            "\"exp\":1780604800,\"gen\":7}",
    };
    for (int p = 0; p < SEAL_PURPOSE_COUNT; p++) {
        char *tok = seal_any((enum seal_purpose)p, FIXTURE_BASE);
        check_json((enum seal_purpose)p, tok, want[p]);
        xfree(tok);
    }
}

/* Empty optional fields are omitted; required ones are written even when
 * empty or zero (SPEC.md 2.3: times are never omitted). */
static void
test_json_omit_if_empty(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, BOUNDS_SEALED_MAX_CHARS);

    struct grant_client cl = {.id = "i", .aud = "a"};
    assert_int_equal(grants_seal_client(ring, &cl, &out), SEAL_OK);
    check_json(SEAL_PURPOSE_CLIENT, buf_cstr(&out),
               "{\"id\":\"i\",\"r\":[],\"n\":\"\",\"typ\":\"client\",\"aud\":\"a\",\"exp\":0}");

    buf_reset(&out);
    struct grant_consent co = {.client_id = "c", .aud = "a", .exp = 5};
    assert_int_equal(grants_seal_consent(ring, &co, &out), SEAL_OK);
    check_json(SEAL_PURPOSE_CONSENT, buf_cstr(&out),
               "{\"cid\":\"c\",\"ru\":\"\",\"os\":\"\",\"bh\":\"\",\"typ\":\"consent\","
               "\"aud\":\"a\",\"exp\":5}");

    buf_reset(&out);
    struct grant_session se = {.client_id = "c", .aud = "a"};
    assert_int_equal(grants_seal_session(ring, &se, &out), SEAL_OK);
    check_json(SEAL_PURPOSE_SESSION, buf_cstr(&out),
               "{\"cid\":\"c\",\"ru\":\"\",\"cc\":\"\",\"os\":\"\",\"nonce\":\"\",\"pv\":\"\","
               "\"bh\":\"\",\"typ\":\"session\",\"aud\":\"a\",\"exp\":0}");

    buf_reset(&out);
    struct grant_code cd = {.token_id = "t", .aud = "a", .groups = groups, .group_count = 0};
    assert_int_equal(grants_seal_code(ring, &cd, &out), SEAL_OK);
    check_json(SEAL_PURPOSE_CODE, buf_cstr(&out),
               "{\"tid\":\"t\",\"fam\":\"\",\"cid\":\"\",\"ru\":\"\",\"cc\":\"\",\"sub\":\"\","
               "\"email\":\"\",\"name\":\"\",\"typ\":\"code\",\"aud\":\"a\",\"exp\":0}");

    buf_reset(&out);
    struct grant_access ac = {.sub = "s", .aud = "a", .iat = 1, .exp = 2};
    assert_int_equal(grants_seal_access(ring, &ac, &out), SEAL_OK);
    check_json(SEAL_PURPOSE_ACCESS, buf_cstr(&out),
               "{\"tid\":\"\",\"typ\":\"access\",\"aud\":\"a\",\"sub\":\"s\",\"email\":\"\","
               "\"cid\":\"\",\"iat\":1,\"exp\":2}");

    buf_reset(&out);
    struct grant_refresh rf = {.token_id = "t", .family_id = "f", .aud = "a", .iat = 1, .exp = 2};
    assert_int_equal(grants_seal_refresh(ring, &rf, &out), SEAL_OK);
    check_json(SEAL_PURPOSE_REFRESH, buf_cstr(&out),
               "{\"tid\":\"t\",\"fam\":\"f\",\"sub\":\"\",\"email\":\"\",\"cid\":\"\","
               "\"typ\":\"refresh\",\"aud\":\"a\",\"iat\":1,\"fiat\":0,\"exp\":2}");

    /* Omitted fields open as "" / false / no elements. */
    struct grant_code back;
    buf_reset(&out);
    cd.exp = T0;
    assert_int_equal(grants_seal_code(ring, &cd, &out), SEAL_OK);
    assert_int_equal(grants_open_code(ring, buf_slice(&out), "a", T0, &back, NULL), GRANTS_OK);
    assert_string_equal(back.resource, "");
    assert_string_equal(back.server_verifier, "");
    assert_false(back.server_pkce);
    assert_int_equal(back.group_count, 0);
    assert_null(back.groups);
    grants_cleanup_code(&back);
    buf_cleanup(&out);
}

static void
test_json_string_escaping(void **state)
{
    (void)state;
    /* Quote, backslash, control bytes, valid multi-byte UTF-8, and bytes
     * that are not UTF-8 (0xff, a lone continuation, an overlong '/', a
     * surrogate, a truncated sequence at the end). */
    const char *os = "q\"b\\n\n\x01\x1f\x7f caf\xc3\xa9 \xf0\x9f\x94\x91 \xff \x80 \xc0\xaf "
                     "\xed\xa0\x80 \xe2\x82";
    struct grant_consent g = {
        .client_id = "c", .redirect_uri = "r", .client_state = os, .aud = FIXTURE_BASE, .exp = T0};
    struct buf out;
    buf_init(&out, BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(grants_seal_consent(ring, &g, &out), SEAL_OK);
    char json[1024];
    peek(SEAL_PURPOSE_CONSENT, buf_cstr(&out), json, sizeof(json));
    assert_non_null(strstr(json, "\"os\":\"q\\\"b\\\\n\\n\\u0001\\u001f\x7f caf\xc3\xa9 "
                                 "\xf0\x9f\x94\x91 \\ufffd \\ufffd \\ufffd\\ufffd "
                                 "\\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\""));
    struct grant_consent back;
    assert_int_equal(grants_open_consent(ring, buf_slice(&out), FIXTURE_BASE, T0, &back, NULL),
                     GRANTS_OK);
    assert_string_equal(back.client_state, "q\"b\\n\n\x01\x1f\x7f caf\xc3\xa9 \xf0\x9f\x94\x91 "
                                           "\xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
                                           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                                           "\xef\xbf\xbd\xef\xbf\xbd");
    grants_cleanup_consent(&back);
    buf_cleanup(&out);
}

/* ---- the checks: typ, audience, expiry ----------------------------------------------- */

static void
test_purpose_matrix(void **state)
{
    (void)state;
    for (int sealed = 0; sealed < SEAL_PURPOSE_COUNT; sealed++) {
        char *tok = seal_any((enum seal_purpose)sealed, FIXTURE_BASE);
        for (int opened = 0; opened < SEAL_PURPOSE_COUNT; opened++) {
            enum seal_rc src = SEAL_RC_COUNT;
            enum grants_rc rc = open_any(ring, (enum seal_purpose)opened, slice_from_cstr(tok),
                                         FIXTURE_BASE, T0, &src);
            assert_int_equal(rc, sealed == opened ? GRANTS_OK : GRANTS_ERR_OPEN);
            assert_int_equal(src, sealed == opened ? SEAL_OK : SEAL_ERR_FORGED);
        }
        xfree(tok);
    }
}

/* Two deployments sharing a secret but not PROXY_BASE_URL (SPEC.md 2.4). */
static void
test_other_deployment_audience(void **state)
{
    (void)state;
    struct seal_ring *other = seal_ring_new(FIXTURE_SECRET, strlen(FIXTURE_SECRET), NULL, NULL, 0);
    for (int p = 0; p < SEAL_PURPOSE_COUNT; p++) {
        char *mine = seal_any((enum seal_purpose)p, FIXTURE_BASE);
        char *theirs = seal_any((enum seal_purpose)p, FIXTURE_OTHER_BASE);
        enum seal_rc src;
        assert_int_equal(open_any(other, (enum seal_purpose)p, slice_from_cstr(mine),
                                  FIXTURE_OTHER_BASE, T0, &src),
                         GRANTS_ERR_AUDIENCE);
        /* The envelope opened; the payload's failure is the grants_rc. */
        assert_int_equal(src, SEAL_OK);
        assert_int_equal(
            open_any(ring, (enum seal_purpose)p, slice_from_cstr(theirs), FIXTURE_BASE, T0, &src),
            GRANTS_ERR_AUDIENCE);
        assert_int_equal(open_any(other, (enum seal_purpose)p, slice_from_cstr(theirs),
                                  FIXTURE_OTHER_BASE, T0, &src),
                         GRANTS_OK);
        /* Exact compare: a trailing slash or case change is another audience. */
        assert_int_equal(
            open_any(ring, (enum seal_purpose)p, slice_from_cstr(mine), FIXTURE_BASE "/", T0, &src),
            GRANTS_ERR_AUDIENCE);
        assert_int_equal(open_any(ring, (enum seal_purpose)p, slice_from_cstr(mine),
                                  "https://AUTH.example.com", T0, &src),
                         GRANTS_ERR_AUDIENCE);
        xfree(mine);
        xfree(theirs);
    }
    seal_ring_free(other);
}

static void
test_expiry_boundary_every_type(void **state)
{
    (void)state;
    const int64_t ttl[SEAL_PURPOSE_COUNT] = {604800, 300, 600, 60, 3600, 604800};
    for (int p = 0; p < SEAL_PURPOSE_COUNT; p++) {
        char *tok = seal_any((enum seal_purpose)p, FIXTURE_BASE);
        enum seal_rc src;
        fixture_pin_clock(ttl[p]); /* now == exp: still valid */
        assert_int_equal(open_any(ring, (enum seal_purpose)p, slice_from_cstr(tok), FIXTURE_BASE,
                                  clock_unix_s(), &src),
                         GRANTS_OK);
        fixture_pin_clock(ttl[p] + 1);
        assert_int_equal(open_any(ring, (enum seal_purpose)p, slice_from_cstr(tok), FIXTURE_BASE,
                                  clock_unix_s(), &src),
                         GRANTS_ERR_EXPIRED);
        /* The envelope opened; the payload's failure is the grants_rc. */
        assert_int_equal(src, SEAL_OK);
        fixture_pin_clock(0);
        xfree(tok);
    }
}

static void
test_client_zero_exp_never_expires(void **state)
{
    (void)state;
    struct grant_client g = full_client();
    g.exp = 0;
    struct buf out;
    buf_init(&out, BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(grants_seal_client(ring, &g, &out), SEAL_OK);
    fixture_pin_clock(100LL * 365 * 86400);
    struct grant_client back;
    assert_int_equal(
        grants_open_client(ring, buf_slice(&out), FIXTURE_BASE, clock_unix_s(), &back, NULL),
        GRANTS_OK);
    assert_int_equal(back.exp, 0);
    grants_cleanup_client(&back);
    fixture_pin_clock(0);

    /* A zero exp on any other type is the zero time: long expired. */
    buf_reset(&out);
    struct grant_code c = full_code();
    c.exp = 0;
    assert_int_equal(grants_seal_code(ring, &c, &out), SEAL_OK);
    struct grant_code cb;
    assert_int_equal(grants_open_code(ring, buf_slice(&out), FIXTURE_BASE, T0, &cb, NULL),
                     GRANTS_ERR_EXPIRED);
    grants_cleanup_code(&cb);
    buf_cleanup(&out);
}

/* On AUDIENCE and EXPIRED the grant is still filled, so handlers can follow
 * SPEC.md's order (refresh: tid/fam before aud, revocation before expiry). */
static void
test_filled_on_audience_and_expiry(void **state)
{
    (void)state;
    struct grant_refresh r = full_refresh();
    r.aud = FIXTURE_OTHER_BASE;
    r.exp = T0 - 1;
    struct buf out;
    buf_init(&out, BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(grants_seal_refresh(ring, &r, &out), SEAL_OK);
    struct grant_refresh back;
    /* Standard order: audience before expiry (SPEC.md 3.8 refresh 4, 6). */
    assert_int_equal(grants_open_refresh(ring, buf_slice(&out), FIXTURE_BASE, T0, &back, NULL),
                     GRANTS_ERR_AUDIENCE);
    assert_string_equal(back.family_id, "fam-1");
    assert_int_equal(back.family_iat, T0 - 86400);
    grants_cleanup_refresh(&back);
    assert_int_equal(
        grants_open_refresh(ring, buf_slice(&out), FIXTURE_OTHER_BASE, T0, &back, NULL),
        GRANTS_ERR_EXPIRED);
    assert_string_equal(back.token_id, "tid-3");
    assert_int_equal(back.exp, T0 - 1);
    grants_cleanup_refresh(&back);

    /* Other failures leave the struct zeroed. */
    assert_int_equal(grants_open_refresh(ring, SLICE_LIT("junk"), FIXTURE_BASE, T0, &back, NULL),
                     GRANTS_ERR_OPEN);
    assert_null(back.token_id);
    assert_null(back.storage.json);
    grants_cleanup_refresh(&back);
    buf_cleanup(&out);
}

/* SPEC.md 2.2 and 4.1 step 3: access also needs sub, aud and iat, and its
 * expiry is judged before its audience. */
static void
test_access_claims(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, BOUNDS_SEALED_MAX_CHARS);
    struct grant_access back;
    enum seal_rc src;
    for (int i = 0; i < 3; i++) {
        struct grant_access a = full_access();
        if (i == 0) {
            a.sub = "";
        } else if (i == 1) {
            a.aud = "";
        } else {
            a.iat = 0;
        }
        buf_reset(&out);
        assert_int_equal(grants_seal_access(ring, &a, &out), SEAL_OK);
        /* Even with the empty audience expected, an empty aud is refused. */
        assert_int_equal(
            grants_open_access(ring, buf_slice(&out), i == 1 ? "" : FIXTURE_BASE, T0, &back, &src),
            GRANTS_ERR_PAYLOAD);
        /* The envelope opened; the payload's failure is the grants_rc. */
        assert_int_equal(src, SEAL_OK);
        assert_null(back.sub);
        grants_cleanup_access(&back);
    }
    struct grant_access a = full_access();
    a.aud = FIXTURE_OTHER_BASE;
    a.exp = T0 - 1;
    buf_reset(&out);
    assert_int_equal(grants_seal_access(ring, &a, &out), SEAL_OK);
    assert_int_equal(grants_open_access(ring, buf_slice(&out), FIXTURE_BASE, T0, &back, &src),
                     GRANTS_ERR_EXPIRED);
    grants_cleanup_access(&back);
    buf_cleanup(&out);
}

static void
test_typ_mismatch(void **state)
{
    (void)state;
    /* Sealed for access but saying it is a refresh token. */
    char *tok = seal_raw(SEAL_PURPOSE_ACCESS,
                         "{\"tid\":\"t\",\"typ\":\"refresh\",\"aud\":\"" FIXTURE_BASE
                         "\",\"sub\":\"s\",\"email\":\"\",\"cid\":\"c\",\"iat\":1,\"exp\":"
                         "1780000000}");
    enum seal_rc src;
    assert_int_equal(
        open_any(ring, SEAL_PURPOSE_ACCESS, slice_from_cstr(tok), FIXTURE_BASE, T0, &src),
        GRANTS_ERR_TYP);
    /* The envelope opened; the payload's failure is the grants_rc. */
    assert_int_equal(src, SEAL_OK);
    xfree(tok);
}

/* Payloads that open but are not valid for the type. */
static void
test_bad_payloads(void **state)
{
    (void)state;
#define ACCESS_HEAD "\"tid\":\"t\",\"typ\":\"access\",\"aud\":\"" FIXTURE_BASE "\",\"sub\":\"s\","
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "null",
        "\"access\"",
        "{}",
        "{\"typ\":\"access\"}",
        "{\"typ\":1}",
        "{\"typ\":null}",
        /* Duplicate key. */
        "{" ACCESS_HEAD "\"email\":\"\",\"cid\":\"c\",\"iat\":1,\"exp\":2,\"exp\":3}",
        /* Go's RFC 3339 time: refused, times are integers here. */
        "{" ACCESS_HEAD "\"email\":\"\",\"cid\":\"c\",\"iat\":1,"
        "\"exp\":\"2026-05-01T12:00:00Z\"}",
        "{" ACCESS_HEAD "\"email\":\"\",\"cid\":\"c\",\"iat\":1,\"exp\":2.5}",
        "{" ACCESS_HEAD "\"email\":\"\",\"cid\":\"c\",\"iat\":1,\"exp\":-1}",
        "{" ACCESS_HEAD "\"email\":\"\",\"cid\":\"c\",\"iat\":1,\"exp\":99999999999999999999}",
        "{" ACCESS_HEAD "\"email\":\"\",\"cid\":\"c\",\"iat\":1}",
        "{" ACCESS_HEAD "\"email\":\"\",\"cid\":\"c\",\"exp\":2}",
        "{" ACCESS_HEAD "\"cid\":\"c\",\"iat\":1,\"exp\":2}",
        "{" ACCESS_HEAD "\"email\":null,\"cid\":\"c\",\"iat\":1,\"exp\":2}",
        "{" ACCESS_HEAD "\"email\":7,\"cid\":\"c\",\"iat\":1,\"exp\":2}",
        "{" ACCESS_HEAD "\"email\":\"\",\"cid\":\"c\",\"iat\":1,\"exp\":2,\"grp\":\"eng\"}",
        "{" ACCESS_HEAD "\"email\":\"\",\"cid\":\"c\",\"iat\":1,\"exp\":2,\"grp\":[\"a\",1]}",
        "{" ACCESS_HEAD "\"email\":\"\",\"cid\":\"c\",\"iat\":1,\"exp\":2,\"grp\":null}",
        "{" ACCESS_HEAD "\"email\":\"\",\"cid\":\"c\",\"iat\":1,\"exp\":2,\"res\":false}",
        "{" ACCESS_HEAD "\"email\":\"a\\u0000b\",\"cid\":\"c\",\"iat\":1,\"exp\":2}",
        "{" ACCESS_HEAD "\"email\":\"\",\"cid\":\"c\",\"iat\":1,\"exp\":2} trailing",
        "{" ACCESS_HEAD "\"email\":\"\xff\",\"cid\":\"c\",\"iat\":1,\"exp\":2}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *tok = seal_raw(SEAL_PURPOSE_ACCESS, bad[i]);
        enum seal_rc src;
        enum grants_rc rc =
            open_any(ring, SEAL_PURPOSE_ACCESS, slice_from_cstr(tok), FIXTURE_BASE, T0, &src);
        if (rc != GRANTS_ERR_PAYLOAD) {
            fail_msg("payload %zu (%s) gave %s", i, bad[i], grants_rc_str(rc));
        }
        /* The envelope opened; the payload's failure is the grants_rc. */
        assert_int_equal(src, SEAL_OK);
        xfree(tok);
    }
    /* A wrong-typed bool in the types that have one. */
    char *tok =
        seal_raw(SEAL_PURPOSE_CONSENT, "{\"cid\":\"c\",\"ru\":\"r\",\"os\":\"\",\"spkce\":\"true\","
                                       "\"typ\":\"consent\",\"aud\":\"a\",\"exp\":1}");
    assert_int_equal(open_any(ring, SEAL_PURPOSE_CONSENT, slice_from_cstr(tok), "a", 0, NULL),
                     GRANTS_ERR_PAYLOAD);
    xfree(tok);
#undef ACCESS_HEAD
}

/* "fam" in access tokens (issue 14): sealed when set and opened back; a
 * token minted before it existed (no "fam") opens with "" -- checked by
 * subject only -- and a non-string fam does not open. */
static void
test_access_family(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, BOUNDS_SEALED_MAX_CHARS);
    struct grant_access g = full_access();
    assert_int_equal(grants_seal_access(ring, &g, &out), SEAL_OK);
    struct grant_access a;
    assert_int_equal(grants_open_access(ring, buf_slice(&out), FIXTURE_BASE, T0, &a, NULL),
                     GRANTS_OK);
    assert_string_equal(a.family_id, "fam-1");
    grants_cleanup_access(&a);

    buf_reset(&out);
    g.family_id = NULL;
    assert_int_equal(grants_seal_access(ring, &g, &out), SEAL_OK);
    char json[1024];
    peek(SEAL_PURPOSE_ACCESS, buf_cstr(&out), json, sizeof(json));
    assert_null(strstr(json, "\"fam\""));
    buf_cleanup(&out);

    char *tok = seal_raw(SEAL_PURPOSE_ACCESS,
                         "{\"tid\":\"t\",\"typ\":\"access\",\"aud\":\"a\",\"sub\":\"s\","
                         "\"email\":\"\",\"cid\":\"c\",\"iat\":1,\"exp\":2}");
    assert_int_equal(grants_open_access(ring, slice_from_cstr(tok), "a", 1, &a, NULL), GRANTS_OK);
    assert_string_equal(a.family_id, "");
    assert_string_equal(a.sub, "s");
    grants_cleanup_access(&a);
    xfree(tok);

    tok = seal_raw(SEAL_PURPOSE_ACCESS,
                   "{\"tid\":\"t\",\"fam\":7,\"typ\":\"access\",\"aud\":\"a\",\"sub\":\"s\","
                   "\"email\":\"\",\"cid\":\"c\",\"iat\":1,\"exp\":2}");
    assert_int_equal(grants_open_access(ring, slice_from_cstr(tok), "a", 1, &a, NULL),
                     GRANTS_ERR_PAYLOAD);
    grants_cleanup_access(&a);
    xfree(tok);
}

static void
test_unknown_keys_and_legacy_omissions(void **state)
{
    (void)state;
    /* Unknown keys are ignored; a consent without jti (legacy) opens. */
    char *tok = seal_raw(SEAL_PURPOSE_CONSENT,
                         "{\"future\":{\"x\":[1,2]},\"cid\":\"c\",\"ru\":\"r\",\"os\":\"s\","
                         "\"bh\":\"h\",\"typ\":\"consent\",\"aud\":\"a\",\"exp\":1,"
                         "\"Cid\":\"other\"}");
    struct grant_consent c;
    assert_int_equal(grants_open_consent(ring, slice_from_cstr(tok), "a", 1, &c, NULL), GRANTS_OK);
    assert_string_equal(c.jti, "");
    assert_string_equal(c.client_id, "c"); /* keys are case-sensitive */
    assert_false(c.server_pkce);
    grants_cleanup_consent(&c);
    xfree(tok);
    /* A client registered before application_type existed (no "at")
     * still opens, with "". */
    tok = seal_raw(SEAL_PURPOSE_CLIENT, "{\"id\":\"i\",\"r\":[\"https://a.example/cb\"],"
                                        "\"n\":\"\",\"typ\":\"client\",\"aud\":\"a\",\"exp\":0}");
    struct grant_client cl;
    assert_int_equal(grants_open_client(ring, slice_from_cstr(tok), "a", 1, &cl, NULL), GRANTS_OK);
    assert_string_equal(cl.application_type, "");
    grants_cleanup_client(&cl);
    xfree(tok);
    /* A refresh token without gen (minted before it existed) opens as
     * generation 0; a negative or non-integer gen does not open. */
    tok = seal_raw(SEAL_PURPOSE_REFRESH,
                   "{\"tid\":\"t\",\"fam\":\"f\",\"sub\":\"s\",\"email\":\"\",\"cid\":\"c\","
                   "\"typ\":\"refresh\",\"aud\":\"a\",\"iat\":1,\"fiat\":1,\"exp\":2}");
    struct grant_refresh r;
    assert_int_equal(grants_open_refresh(ring, slice_from_cstr(tok), "a", 1, &r, NULL), GRANTS_OK);
    assert_int_equal(r.generation, 0);
    grants_cleanup_refresh(&r);
    xfree(tok);
    const char *bad[] = {"-1", "\"3\"", "1.5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char json[256];
        snprintf(json, sizeof(json),
                 "{\"tid\":\"t\",\"fam\":\"f\",\"sub\":\"s\",\"email\":\"\",\"cid\":\"c\","
                 "\"typ\":\"refresh\",\"aud\":\"a\",\"iat\":1,\"fiat\":1,\"exp\":2,\"gen\":%s}",
                 bad[i]);
        tok = seal_raw(SEAL_PURPOSE_REFRESH, json);
        assert_int_not_equal(grants_open_refresh(ring, slice_from_cstr(tok), "a", 1, &r, NULL),
                             GRANTS_OK);
        grants_cleanup_refresh(&r);
        xfree(tok);
    }
}

/* The granted scope ("scp", MCP_SCOPES_SUPPORTED) travels through every
 * grant of the flow: written after "res", read back verbatim. */
static void
test_scope_round_trip(void **state)
{
    (void)state;
    const char *scope = "mcp:read offline_access";
    struct buf out;
    buf_init(&out, BOUNDS_SEALED_MAX_CHARS);
    char json[4096];

    struct grant_consent cg = full_consent();
    cg.scope = scope;
    assert_int_equal(grants_seal_consent(ring, &cg, &out), SEAL_OK);
    peek(SEAL_PURPOSE_CONSENT, buf_cstr(&out), json, sizeof(json));
    assert_non_null(strstr(json, "\"res\":\"" RES "\",\"scp\":\"mcp:read offline_access\","));
    struct grant_consent c;
    assert_int_equal(grants_open_consent(ring, buf_slice(&out), FIXTURE_BASE, T0, &c, NULL),
                     GRANTS_OK);
    assert_string_equal(c.scope, scope);
    grants_cleanup_consent(&c);
    buf_reset(&out);

    struct grant_session sg = full_session();
    sg.scope = scope;
    assert_int_equal(grants_seal_session(ring, &sg, &out), SEAL_OK);
    struct grant_session se;
    assert_int_equal(grants_open_session(ring, buf_slice(&out), FIXTURE_BASE, T0, &se, NULL),
                     GRANTS_OK);
    assert_string_equal(se.scope, scope);
    grants_cleanup_session(&se);
    buf_reset(&out);

    struct grant_code kg = full_code();
    kg.scope = scope;
    assert_int_equal(grants_seal_code(ring, &kg, &out), SEAL_OK);
    struct grant_code k;
    assert_int_equal(grants_open_code(ring, buf_slice(&out), FIXTURE_BASE, T0, &k, NULL),
                     GRANTS_OK);
    assert_string_equal(k.scope, scope);
    grants_cleanup_code(&k);
    buf_reset(&out);

    struct grant_access ag = full_access();
    ag.scope = scope;
    assert_int_equal(grants_seal_access(ring, &ag, &out), SEAL_OK);
    peek(SEAL_PURPOSE_ACCESS, buf_cstr(&out), json, sizeof(json));
    assert_non_null(strstr(json, "\"res\":\"" RES "\",\"scp\":\"mcp:read offline_access\","));
    struct grant_access a;
    assert_int_equal(grants_open_access(ring, buf_slice(&out), FIXTURE_BASE, T0, &a, NULL),
                     GRANTS_OK);
    assert_string_equal(a.scope, scope);
    grants_cleanup_access(&a);
    buf_reset(&out);

    struct grant_refresh rg = full_refresh();
    rg.scope = scope;
    assert_int_equal(grants_seal_refresh(ring, &rg, &out), SEAL_OK);
    struct grant_refresh r;
    assert_int_equal(grants_open_refresh(ring, buf_slice(&out), FIXTURE_BASE, T0, &r, NULL),
                     GRANTS_OK);
    assert_string_equal(r.scope, scope);
    grants_cleanup_refresh(&r);
    buf_cleanup(&out);
}

/* Tokens minted before scopes (no "scp") open with ""; a "scp" that is
 * not a string is a bad payload, not an empty scope. */
static void
test_scope_legacy_and_bad(void **state)
{
    (void)state;
    char *tok = seal_raw(SEAL_PURPOSE_ACCESS,
                         "{\"tid\":\"t\",\"typ\":\"access\",\"aud\":\"a\",\"sub\":\"s\","
                         "\"email\":\"\",\"cid\":\"c\",\"iat\":1,\"exp\":2}");
    struct grant_access a;
    assert_int_equal(grants_open_access(ring, slice_from_cstr(tok), "a", 1, &a, NULL), GRANTS_OK);
    assert_string_equal(a.scope, "");
    grants_cleanup_access(&a);
    xfree(tok);
    tok = seal_raw(SEAL_PURPOSE_REFRESH,
                   "{\"tid\":\"t\",\"fam\":\"f\",\"sub\":\"s\",\"email\":\"\",\"cid\":\"c\","
                   "\"typ\":\"refresh\",\"aud\":\"a\",\"iat\":1,\"fiat\":1,\"exp\":2}");
    struct grant_refresh r;
    assert_int_equal(grants_open_refresh(ring, slice_from_cstr(tok), "a", 1, &r, NULL), GRANTS_OK);
    assert_string_equal(r.scope, "");
    grants_cleanup_refresh(&r);
    xfree(tok);
    tok = seal_raw(SEAL_PURPOSE_REFRESH,
                   "{\"tid\":\"t\",\"fam\":\"f\",\"sub\":\"s\",\"email\":\"\",\"cid\":\"c\","
                   "\"typ\":\"refresh\",\"aud\":\"a\",\"scp\":[\"x\"],\"iat\":1,\"fiat\":1,"
                   "\"exp\":2}");
    assert_int_equal(grants_open_refresh(ring, slice_from_cstr(tok), "a", 1, &r, NULL),
                     GRANTS_ERR_PAYLOAD);
    grants_cleanup_refresh(&r);
    xfree(tok);
}

/* The recorded authentication (docs/step-up.md) travels through code,
 * access and refresh as "acr" / "atm", written last; the session carries
 * what /authorize asked ("sav", "sma", "smas"). Empty and 0 are omitted,
 * so tokens minted before them open as unknown; wrong types do not open. */
static void
test_authentication_round_trip(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, BOUNDS_SEALED_MAX_CHARS);
    char json[4096];

    struct grant_code kg = full_code();
    kg.acr = "urn:mcp-auth-proxy:test:mfa";
    kg.auth_time = T0 - 5;
    assert_int_equal(grants_seal_code(ring, &kg, &out), SEAL_OK);
    peek(SEAL_PURPOSE_CODE, buf_cstr(&out), json, sizeof(json));
    assert_non_null(strstr(json, ",\"acr\":\"urn:mcp-auth-proxy:test:mfa\",\"atm\":"));
    struct grant_code k;
    assert_int_equal(grants_open_code(ring, buf_slice(&out), FIXTURE_BASE, T0, &k, NULL),
                     GRANTS_OK);
    assert_string_equal(k.acr, "urn:mcp-auth-proxy:test:mfa");
    assert_int_equal(k.auth_time, T0 - 5);
    grants_cleanup_code(&k);
    buf_reset(&out);

    struct grant_access ag = full_access();
    ag.acr = "mfa";
    ag.auth_time = T0 - 7;
    assert_int_equal(grants_seal_access(ring, &ag, &out), SEAL_OK);
    struct grant_access a;
    assert_int_equal(grants_open_access(ring, buf_slice(&out), FIXTURE_BASE, T0, &a, NULL),
                     GRANTS_OK);
    assert_string_equal(a.acr, "mfa");
    assert_int_equal(a.auth_time, T0 - 7);
    grants_cleanup_access(&a);
    buf_reset(&out);

    struct grant_refresh rg = full_refresh();
    rg.acr = "mfa";
    rg.auth_time = T0 - 9;
    assert_int_equal(grants_seal_refresh(ring, &rg, &out), SEAL_OK);
    struct grant_refresh r;
    assert_int_equal(grants_open_refresh(ring, buf_slice(&out), FIXTURE_BASE, T0, &r, NULL),
                     GRANTS_OK);
    assert_string_equal(r.acr, "mfa");
    assert_int_equal(r.auth_time, T0 - 9);
    grants_cleanup_refresh(&r);
    buf_reset(&out);

    /* Unknown authentication: neither key is written. */
    ag = full_access();
    assert_int_equal(grants_seal_access(ring, &ag, &out), SEAL_OK);
    peek(SEAL_PURPOSE_ACCESS, buf_cstr(&out), json, sizeof(json));
    assert_null(strstr(json, "\"acr\""));
    assert_null(strstr(json, "\"atm\""));
    assert_int_equal(grants_open_access(ring, buf_slice(&out), FIXTURE_BASE, T0, &a, NULL),
                     GRANTS_OK);
    assert_string_equal(a.acr, "");
    assert_int_equal(a.auth_time, 0);
    grants_cleanup_access(&a);
    buf_reset(&out);

    /* The session: acr_values and max_age asked; max_age 0 (prompt=login)
     * is told from "none asked" by "smas". */
    struct grant_session sg = full_session();
    sg.stepup_acr_values = "mfa hwk";
    sg.stepup_max_age = 300;
    sg.stepup_max_age_set = true;
    assert_int_equal(grants_seal_session(ring, &sg, &out), SEAL_OK);
    struct grant_session se;
    assert_int_equal(grants_open_session(ring, buf_slice(&out), FIXTURE_BASE, T0, &se, NULL),
                     GRANTS_OK);
    assert_string_equal(se.stepup_acr_values, "mfa hwk");
    assert_int_equal(se.stepup_max_age, 300);
    assert_true(se.stepup_max_age_set);
    grants_cleanup_session(&se);
    buf_reset(&out);
    sg = full_session();
    sg.stepup_max_age_set = true;
    assert_int_equal(grants_seal_session(ring, &sg, &out), SEAL_OK);
    peek(SEAL_PURPOSE_SESSION, buf_cstr(&out), json, sizeof(json));
    assert_null(strstr(json, "\"sma\":"));
    assert_non_null(strstr(json, "\"smas\":true"));
    assert_int_equal(grants_open_session(ring, buf_slice(&out), FIXTURE_BASE, T0, &se, NULL),
                     GRANTS_OK);
    assert_int_equal(se.stepup_max_age, 0);
    assert_true(se.stepup_max_age_set);
    assert_string_equal(se.stepup_acr_values, "");
    grants_cleanup_session(&se);
    buf_cleanup(&out);

    /* A forged type or a negative time never opens. */
    static const char *const bad[] = {"\"acr\":1", "\"acr\":null", "\"atm\":-1", "\"atm\":\"1\"",
                                      "\"atm\":1.5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char payload[512];
        snprintf(payload, sizeof(payload),
                 "{\"tid\":\"t\",\"typ\":\"access\",\"aud\":\"a\",\"sub\":\"s\","
                 "\"email\":\"\",\"cid\":\"c\",\"iat\":1,\"exp\":2,%s}",
                 bad[i]);
        char *tok = seal_raw(SEAL_PURPOSE_ACCESS, payload);
        assert_int_equal(grants_open_access(ring, slice_from_cstr(tok), "a", 1, &a, NULL),
                         GRANTS_ERR_PAYLOAD);
        grants_cleanup_access(&a);
        xfree(tok);
    }
}

/* The browser binding is required: a consent token or IdP session sealed
 * before it existed (no bh), or with a bh that is not a string, does not
 * open -- there is no legacy path around the binding. */
static void
test_binding_required(void **state)
{
    (void)state;
    static const char *const consent[] = {
        "{\"jti\":\"j\",\"cid\":\"c\",\"ru\":\"r\",\"os\":\"s\",\"typ\":\"consent\","
        "\"aud\":\"a\",\"exp\":1}",
        "{\"jti\":\"j\",\"cid\":\"c\",\"ru\":\"r\",\"os\":\"s\",\"bh\":null,"
        "\"typ\":\"consent\",\"aud\":\"a\",\"exp\":1}",
        "{\"jti\":\"j\",\"cid\":\"c\",\"ru\":\"r\",\"os\":\"s\",\"bh\":7,"
        "\"typ\":\"consent\",\"aud\":\"a\",\"exp\":1}",
    };
    for (size_t i = 0; i < sizeof(consent) / sizeof(consent[0]); i++) {
        char *tok = seal_raw(SEAL_PURPOSE_CONSENT, consent[i]);
        assert_int_equal(open_any(ring, SEAL_PURPOSE_CONSENT, slice_from_cstr(tok), "a", 1, NULL),
                         GRANTS_ERR_PAYLOAD);
        xfree(tok);
    }
    char *tok = seal_raw(SEAL_PURPOSE_SESSION,
                         "{\"cid\":\"c\",\"ru\":\"r\",\"cc\":\"\",\"os\":\"s\",\"nonce\":\"n\","
                         "\"pv\":\"p\",\"sid\":\"x\",\"typ\":\"session\",\"aud\":\"a\",\"exp\":1}");
    assert_int_equal(open_any(ring, SEAL_PURPOSE_SESSION, slice_from_cstr(tok), "a", 1, NULL),
                     GRANTS_ERR_PAYLOAD);
    xfree(tok);
}

static void
test_seal_limits(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, BOUNDS_SEALED_MAX_CHARS);
    struct grant_access a = full_access();
    a.iat = -1;
    assert_int_equal(grants_seal_access(ring, &a, &out), SEAL_ERR_MALFORMED);
    assert_int_equal(out.len, 0);

    /* More groups than a token can carry: refused instead of minting a
     * token that could never open. */
    enum { N = 2000 };
    const char **many = xmalloc(N * sizeof(*many));
    for (size_t i = 0; i < N; i++) {
        many[i] = "group-name";
    }
    a = full_access();
    a.groups = many;
    a.group_count = N;
    assert_int_equal(grants_seal_access(ring, &a, &out), SEAL_ERR_TOO_LARGE);
    assert_int_equal(out.len, 0);

    /* A large but fitting token opens (decoded on the heap, not the stack). */
    a.group_count = 600;
    assert_int_equal(grants_seal_access(ring, &a, &out), SEAL_OK);
    assert_true(out.len > 4096);
    struct grant_access back;
    assert_int_equal(grants_open_access(ring, buf_slice(&out), FIXTURE_BASE, T0, &back, NULL),
                     GRANTS_OK);
    assert_int_equal(back.group_count, 600);
    assert_string_equal(back.groups[599], "group-name");
    grants_cleanup_access(&back);
    xfree(many);

    /* An output buffer at its cap. */
    struct buf tiny;
    buf_init(&tiny, 16);
    struct grant_code c = full_code();
    assert_int_equal(grants_seal_code(ring, &c, &tiny), SEAL_ERR_TOO_LARGE);
    assert_int_equal(tiny.len, 0);
    buf_cleanup(&tiny);
    buf_cleanup(&out);
}

static void
test_garbage_tokens(void **state)
{
    (void)state;
    char *tok = seal_any(SEAL_PURPOSE_ACCESS, FIXTURE_BASE);
    size_t len = strlen(tok);
    enum seal_rc src;
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_equal(
            open_any(ring, SEAL_PURPOSE_ACCESS, slice_make(tok, cut), FIXTURE_BASE, T0, NULL),
            GRANTS_ERR_OPEN);
    }
    char *big = xmalloc(BOUNDS_SEALED_MAX_CHARS + 1);
    memset(big, 'A', BOUNDS_SEALED_MAX_CHARS + 1);
    assert_int_equal(open_any(ring, SEAL_PURPOSE_ACCESS,
                              slice_make(big, BOUNDS_SEALED_MAX_CHARS + 1), FIXTURE_BASE, T0, &src),
                     GRANTS_ERR_OPEN);
    assert_int_equal(src, SEAL_ERR_TOO_LARGE);
    xfree(big);
    struct seal_ring *stranger =
        seal_ring_new(FIXTURE_SECRET_2, strlen(FIXTURE_SECRET_2), NULL, NULL, 0);
    assert_int_equal(
        open_any(stranger, SEAL_PURPOSE_ACCESS, slice_from_cstr(tok), FIXTURE_BASE, T0, &src),
        GRANTS_ERR_OPEN);
    assert_int_equal(src, SEAL_ERR_UNKNOWN_KEY);
    seal_ring_free(stranger);
    xfree(tok);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rc_table),
        cmocka_unit_test(test_round_trip_client),
        cmocka_unit_test(test_round_trip_consent_session),
        cmocka_unit_test(test_round_trip_code_access_refresh),
        cmocka_unit_test(test_scope_round_trip),
        cmocka_unit_test(test_scope_legacy_and_bad),
        cmocka_unit_test(test_authentication_round_trip),
        cmocka_unit_test(test_json_full),
        cmocka_unit_test(test_json_omit_if_empty),
        cmocka_unit_test(test_json_string_escaping),
        cmocka_unit_test(test_purpose_matrix),
        cmocka_unit_test(test_other_deployment_audience),
        cmocka_unit_test(test_expiry_boundary_every_type),
        cmocka_unit_test(test_client_zero_exp_never_expires),
        cmocka_unit_test(test_filled_on_audience_and_expiry),
        cmocka_unit_test(test_access_claims),
        cmocka_unit_test(test_typ_mismatch),
        cmocka_unit_test(test_bad_payloads),
        cmocka_unit_test(test_unknown_keys_and_legacy_omissions),
        cmocka_unit_test(test_access_family),
        cmocka_unit_test(test_binding_required),
        cmocka_unit_test(test_seal_limits),
        cmocka_unit_test(test_garbage_tokens),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
