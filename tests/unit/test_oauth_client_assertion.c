/* oauth/client_assertion: every rule of RFC 7523 client authentication for
 * CIMD clients, each refusal attacked with a real JWS.
 *
 * Keys are generated with cjose at test time and assertions signed with
 * cjose, so every good assertion is a real RS256/PS256/ES256 JWS; the
 * forged ones (none, HS256 with the public key as secret, a flipped
 * signature byte) are assembled by hand. Times are relative to a fixed
 * NOW passed in the expectation, never the wall clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjose/cjose.h>
#include <jansson.h>

#include "base/b64url.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "jws_mint.h"
#include "metrics.h"
#include "oauth/client_assertion.h"
#include "oidc/jwks.h"

#define CLIENT "https://client.example.com/oauth/client.json"
#define ISSUER "https://auth.example.com"
#define TOKEN_EP "https://auth.example.com/token"
#define NOW ((int64_t)1767225600)

static cjose_jwk_t *rsa1, *rsa_other, *ec1;
static struct oidc_jwks_set *keys;         /* rsa-1, ec-1 */
static struct oidc_jwks_set *keys_rs_only; /* rsa-1 with "alg":"RS256" */

static const struct oauth_client_assertion_expect expect = {
    .client_id = CLIENT,
    .issuer = ISSUER,
    .token_endpoint = TOKEN_EP,
    .now_s = NOW,
};

/* {"keys":[public JWKs...]}, each with extra members merged when given. */
static struct oidc_jwks_set *
set_of(cjose_jwk_t *const *ks, size_t n, const char *alg)
{
    char *text = jws_mint_public_jwks(ks, n, alg);
    struct oidc_jwks_set *s = NULL;
    struct buf err;
    buf_init(&err, 1024);
    assert_int_equal(oidc_jwks_set_parse(slice_from_cstr(text), &s, &err), 0);
    buf_cleanup(&err);
    free(text);
    return s;
}

static json_t *
good_claims(void)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "iss", CLIENT, "sub", CLIENT, "aud", TOKEN_EP,
                     "exp", (json_int_t)NOW + 120, "iat", (json_int_t)NOW, "jti",
                     "jti-0123456789abcdef");
}

/* Checks (and frees) an assertion against s. */
static enum oauth_client_assertion_rc
check_in(const struct oidc_jwks_set *s, char *assertion, struct oauth_client_assertion_claims *out)
{
    struct oauth_client_assertion_claims ignored;
    enum oauth_client_assertion_rc rc = oauth_client_assertion_check(
        s, slice_from_cstr(assertion), &expect, out != NULL ? out : &ignored);
    xfree(assertion);
    return rc;
}

static enum oauth_client_assertion_rc
check(char *assertion)
{
    return check_in(keys, assertion, NULL);
}

/* good_claims with one member replaced (value stolen; NULL deletes). */
static json_t *
claims_with(const char *key, json_t *value)
{
    json_t *c = good_claims();
    if (value == NULL) {
        json_object_del(c, key);
    } else {
        json_object_set_new(c, key, value);
    }
    return c;
}

static void
test_good_rs256_ps256_es256(void **state)
{
    (void)state;
    struct oauth_client_assertion_claims got;
    assert_int_equal(
        check_in(keys, jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, good_claims()), &got),
        OAUTH_CLIENT_ASSERTION_OK);
    assert_string_equal(got.jti, "jti-0123456789abcdef");
    assert_int_equal(got.exp, NOW + 120);
    assert_int_equal(check(jws_mint_sign(rsa1, "PS256", "rsa-1", NULL, good_claims())),
                     OAUTH_CLIENT_ASSERTION_OK);
    assert_int_equal(check(jws_mint_sign(ec1, "ES256", "ec-1", NULL, good_claims())),
                     OAUTH_CLIENT_ASSERTION_OK);
    /* No kid: any key able to do the alg. */
    assert_int_equal(check(jws_mint_sign(ec1, "ES256", NULL, NULL, good_claims())),
                     OAUTH_CLIENT_ASSERTION_OK);
    /* The issuer as audience, and an array of only our names. */
    assert_int_equal(
        check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, claims_with("aud", json_string(ISSUER)))),
        OAUTH_CLIENT_ASSERTION_OK);
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL,
                                         claims_with("aud", json_pack("[s,s]", ISSUER, TOKEN_EP)))),
                     OAUTH_CLIENT_ASSERTION_OK);
}

/* Keys come only from the client's set: jku/x5u/jwk headers pointing
 * elsewhere change nothing (a key embedded in the header is never used). */
static void
test_header_keys_ignored(void **state)
{
    (void)state;
    cjose_err err;
    char *pub = cjose_jwk_to_json(rsa_other, false, &err);
    json_t *extra = json_pack("{s:s,s:s,s:o}", "jku", "https://evil.example/jwks", "x5u",
                              "https://evil.example/cert", "jwk", json_loads(pub, 0, NULL));
    free(pub);
    /* Signed by the attacker's key, which the header carries. */
    assert_int_equal(check(jws_mint_sign(rsa_other, "RS256", NULL, extra, good_claims())),
                     OAUTH_CLIENT_ASSERTION_BAD_SIGNATURE);
    /* The client's own key with those headers still verifies. */
    json_t *extra2 = json_pack("{s:s}", "jku", "https://evil.example/jwks");
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", extra2, good_claims())),
                     OAUTH_CLIENT_ASSERTION_OK);
}

static void
test_alg_not_allowed(void **state)
{
    (void)state;
    /* RS384 and ES384: real algorithms, not on this allow-list. */
    assert_int_equal(check(jws_mint_sign(rsa1, "RS384", "rsa-1", NULL, good_claims())),
                     OAUTH_CLIENT_ASSERTION_ALG_NOT_ALLOWED);
    json_t *c = good_claims();
    char *payload = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    /* alg none with an empty and a junk signature. */
    assert_int_equal(check(jws_mint_assemble("{\"alg\":\"none\"}", payload, "")),
                     OAUTH_CLIENT_ASSERTION_ALG_NOT_ALLOWED);
    assert_int_equal(
        check(jws_mint_assemble("{\"alg\":\"none\",\"kid\":\"rsa-1\"}", payload, "c2ln")),
        OAUTH_CLIENT_ASSERTION_ALG_NOT_ALLOWED);
    free(payload);
}

/* HS256 keyed with the RSA public key's JSON: the confusion attack. */
static void
test_hs256_refused(void **state)
{
    (void)state;
    assert_int_equal(check(jws_mint_hs256_confused(rsa1, "rsa-1", good_claims())),
                     OAUTH_CLIENT_ASSERTION_ALG_NOT_ALLOWED);
}

static void
test_bad_signature(void **state)
{
    (void)state;
    char *a = jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, good_claims());
    /* Flip one character of the signature (not the last: its low bits may
     * be padding in base64url). */
    char *sig = strrchr(a, '.') + 1;
    sig[5] = sig[5] == 'A' ? 'B' : 'A';
    assert_int_equal(check(a), OAUTH_CLIENT_ASSERTION_BAD_SIGNATURE);
    /* Signed by another key under the client's kid. */
    assert_int_equal(check(jws_mint_sign(rsa_other, "RS256", "rsa-1", NULL, good_claims())),
                     OAUTH_CLIENT_ASSERTION_BAD_SIGNATURE);
    /* The payload swapped for another client's after signing. */
    char *good = jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, good_claims());
    json_t *other = claims_with("iss", json_string("https://evil.example/client.json"));
    char *forged_payload = json_dumps(other, JSON_COMPACT);
    json_decref(other);
    char *dot1 = strchr(good, '.');
    char *dot2 = strchr(dot1 + 1, '.');
    *dot1 = '\0';
    struct buf b;
    buf_init(&b, 1 << 16);
    assert_int_equal(buf_append_str(&b, good), 0);
    assert_int_equal(buf_append_byte(&b, '.'), 0);
    assert_int_equal(b64url_encode_buf((const uint8_t *)forged_payload, strlen(forged_payload), &b),
                     0);
    assert_int_equal(buf_append_str(&b, dot2), 0);
    assert_int_equal(check(buf_take(&b)), OAUTH_CLIENT_ASSERTION_BAD_SIGNATURE);
    xfree(good);
    free(forged_payload);
}

static void
test_unknown_kid_and_key_mismatch(void **state)
{
    (void)state;
    enum oauth_client_assertion_rc rc =
        check(jws_mint_sign(rsa1, "RS256", "nope", NULL, good_claims()));
    assert_int_equal(rc, OAUTH_CLIENT_ASSERTION_UNKNOWN_KID);
    assert_true(oauth_client_assertion_keys_may_be_stale(rc));
    /* ES256 naming the RSA key's kid. */
    assert_int_equal(check(jws_mint_sign(ec1, "ES256", "rsa-1", NULL, good_claims())),
                     OAUTH_CLIENT_ASSERTION_NO_MATCHING_KEY);
    /* A JWK "alg" of RS256 refuses PS256 by the same key (RFC 7517 4.4). */
    assert_int_equal(
        check_in(keys_rs_only, jws_mint_sign(rsa1, "PS256", "rsa-1", NULL, good_claims()), NULL),
        OAUTH_CLIENT_ASSERTION_NO_MATCHING_KEY);
    assert_int_equal(
        check_in(keys_rs_only, jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, good_claims()), NULL),
        OAUTH_CLIENT_ASSERTION_OK);
    /* No key set at all (a client without keys). */
    assert_int_equal(
        check_in(NULL, jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, good_claims()), NULL),
        OAUTH_CLIENT_ASSERTION_NO_KEYS);
    assert_false(oauth_client_assertion_keys_may_be_stale(OAUTH_CLIENT_ASSERTION_BAD_SIGNATURE));
}

static void
test_wrong_iss_sub(void **state)
{
    (void)state;
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL,
                                         claims_with("iss", json_string(CLIENT "x")))),
                     OAUTH_CLIENT_ASSERTION_WRONG_ISSUER);
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, claims_with("iss", NULL))),
                     OAUTH_CLIENT_ASSERTION_WRONG_ISSUER);
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL,
                                         claims_with("sub", json_string("alice")))),
                     OAUTH_CLIENT_ASSERTION_WRONG_SUBJECT);
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, claims_with("sub", NULL))),
                     OAUTH_CLIENT_ASSERTION_WRONG_SUBJECT);
}

static void
test_wrong_audience(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "https://other-as.example.com/token",
        ISSUER "/",                 /* no normalisation */
        "https://AUTH.example.com", /* no case folding */
        ISSUER "/authorize",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL,
                                             claims_with("aud", json_string(bad[i])))),
                         OAUTH_CLIENT_ASSERTION_WRONG_AUDIENCE);
    }
    /* Audience injection: ours plus a foreign one. */
    assert_int_equal(
        check(jws_mint_sign(
            rsa1, "RS256", "rsa-1", NULL,
            claims_with("aud", json_pack("[s,s]", TOKEN_EP, "https://other-as.example.com")))),
        OAUTH_CLIENT_ASSERTION_WRONG_AUDIENCE);
    assert_int_equal(
        check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, claims_with("aud", json_array()))),
        OAUTH_CLIENT_ASSERTION_WRONG_AUDIENCE);
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL,
                                         claims_with("aud", json_pack("[s,i]", TOKEN_EP, 1)))),
                     OAUTH_CLIENT_ASSERTION_WRONG_AUDIENCE);
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, claims_with("aud", NULL))),
                     OAUTH_CLIENT_ASSERTION_WRONG_AUDIENCE);
}

static void
test_times(void **state)
{
    (void)state;
    const int64_t skew = BOUNDS_CLIENT_ASSERTION_SKEW_S;
    const int64_t life = BOUNDS_CLIENT_ASSERTION_LIFETIME_MAX_S;
    /* exp missing, past, and just inside the skew. */
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, claims_with("exp", NULL))),
                     OAUTH_CLIENT_ASSERTION_EXPIRED);
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL,
                                         claims_with("exp", json_integer(NOW - skew)))),
                     OAUTH_CLIENT_ASSERTION_EXPIRED);
    json_t *c = claims_with("exp", json_integer(NOW - skew + 1));
    json_object_set_new(c, "iat", json_integer(NOW - 10));
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, c)),
                     OAUTH_CLIENT_ASSERTION_OK);
    assert_int_equal(
        check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, claims_with("exp", json_string("soon")))),
        OAUTH_CLIENT_ASSERTION_MALFORMED);
    /* Lifetime: exp too far ahead; exp - iat too long. */
    c = claims_with("exp", json_integer(NOW + life + skew + 1));
    json_object_del(c, "iat");
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, c)),
                     OAUTH_CLIENT_ASSERTION_LIFETIME_TOO_LONG);
    c = claims_with("exp", json_integer(NOW + 3600));
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, c)),
                     OAUTH_CLIENT_ASSERTION_LIFETIME_TOO_LONG);
    c = claims_with("iat", json_integer(NOW - life));
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, c)),
                     OAUTH_CLIENT_ASSERTION_LIFETIME_TOO_LONG);
    /* nbf and iat in the future beyond the skew. */
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL,
                                         claims_with("nbf", json_integer(NOW + skew + 1)))),
                     OAUTH_CLIENT_ASSERTION_NOT_YET_VALID);
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL,
                                         claims_with("nbf", json_integer(NOW + skew)))),
                     OAUTH_CLIENT_ASSERTION_OK);
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL,
                                         claims_with("iat", json_integer(NOW + skew + 1)))),
                     OAUTH_CLIENT_ASSERTION_NOT_YET_VALID);
}

static void
test_jti(void **state)
{
    (void)state;
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, claims_with("jti", NULL))),
                     OAUTH_CLIENT_ASSERTION_MISSING_JTI);
    assert_int_equal(
        check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, claims_with("jti", json_string("")))),
        OAUTH_CLIENT_ASSERTION_MISSING_JTI);
    assert_int_equal(
        check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, claims_with("jti", json_integer(7)))),
        OAUTH_CLIENT_ASSERTION_MISSING_JTI);
    char long_jti[BOUNDS_CLIENT_ASSERTION_JTI_MAX + 2];
    memset(long_jti, 'j', sizeof(long_jti) - 1);
    long_jti[sizeof(long_jti) - 1] = '\0';
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL,
                                         claims_with("jti", json_string(long_jti)))),
                     OAUTH_CLIENT_ASSERTION_MISSING_JTI);
    /* The replay id: per client and per jti, fixed length, store-safe. */
    char a[OAUTH_CLIENT_ASSERTION_REPLAY_ID_LEN + 1], b[sizeof(a)], c[sizeof(a)], d[sizeof(a)];
    oauth_client_assertion_replay_id(CLIENT, "j1", a);
    oauth_client_assertion_replay_id(CLIENT, "j1", b);
    oauth_client_assertion_replay_id(CLIENT, "j2", c);
    oauth_client_assertion_replay_id("https://other.example/c.json", "j1", d);
    assert_int_equal(strlen(a), OAUTH_CLIENT_ASSERTION_REPLAY_ID_LEN);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    /* Remembered until exp + skew. */
    assert_int_equal(oauth_client_assertion_replay_ttl_ms(NOW + 100, NOW),
                     (uint64_t)(100 + BOUNDS_CLIENT_ASSERTION_SKEW_S) * 1000);
    assert_int_equal(oauth_client_assertion_replay_ttl_ms(NOW - 1000, NOW), 1);
}

static void
test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "abc", "a.b", "a.b.c.d.e", "eyJhbGciOiJSUzI1NiJ9..", "....",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(check(xstrdup(bad[i])), OAUTH_CLIENT_ASSERTION_MALFORMED);
    }
    /* crit is refused; an oversized assertion too. */
    json_t *crit = json_pack("{s:[s]}", "crit", "exp");
    assert_int_equal(check(jws_mint_sign(rsa1, "RS256", "rsa-1", crit, good_claims())),
                     OAUTH_CLIENT_ASSERTION_MALFORMED);
    char *big = xmalloc(BOUNDS_CLIENT_ASSERTION_MAX_BYTES + 2);
    memset(big, 'a', BOUNDS_CLIENT_ASSERTION_MAX_BYTES + 1);
    big[BOUNDS_CLIENT_ASSERTION_MAX_BYTES + 1] = '\0';
    assert_int_equal(check(big), OAUTH_CLIENT_ASSERTION_MALFORMED);
}

static void
test_front(void **state)
{
    (void)state;
    char id[600];
    char *a = jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, good_claims());
    struct slice type = SLICE_LIT(OAUTH_CLIENT_ASSERTION_TYPE);
    /* The form's client_id stands when it equals iss. */
    assert_int_equal(
        oauth_client_assertion_front(type, slice_from_cstr(a), SLICE_LIT(CLIENT), id, sizeof(id)),
        OAUTH_CLIENT_ASSERTION_OK);
    assert_string_equal(id, "");
    /* No client_id: iss is the one to resolve (RFC 7521 4.2). */
    assert_int_equal(
        oauth_client_assertion_front(type, slice_from_cstr(a), SLICE_LIT(""), id, sizeof(id)),
        OAUTH_CLIENT_ASSERTION_OK);
    assert_string_equal(id, CLIENT);
    /* client_id naming another client. */
    assert_int_equal(oauth_client_assertion_front(type, slice_from_cstr(a),
                                                  SLICE_LIT("https://other.example/c.json"), id,
                                                  sizeof(id)),
                     OAUTH_CLIENT_ASSERTION_CLIENT_ID_MISMATCH);
    /* Wrong or missing type; a type without an assertion. */
    assert_int_equal(oauth_client_assertion_front(SLICE_LIT("urn:ietf:params:oauth:client-"
                                                            "assertion-type:saml2-bearer"),
                                                  slice_from_cstr(a), SLICE_LIT(CLIENT), id,
                                                  sizeof(id)),
                     OAUTH_CLIENT_ASSERTION_BAD_TYPE);
    assert_int_equal(oauth_client_assertion_front(SLICE_LIT(""), slice_from_cstr(a),
                                                  SLICE_LIT(CLIENT), id, sizeof(id)),
                     OAUTH_CLIENT_ASSERTION_BAD_TYPE);
    assert_int_equal(
        oauth_client_assertion_front(type, SLICE_LIT(""), SLICE_LIT(CLIENT), id, sizeof(id)),
        OAUTH_CLIENT_ASSERTION_BAD_TYPE);
    /* Junk and no client_id: nothing to resolve. */
    assert_int_equal(
        oauth_client_assertion_front(type, SLICE_LIT("junk"), SLICE_LIT(""), id, sizeof(id)),
        OAUTH_CLIENT_ASSERTION_MALFORMED);
    xfree(a);
}

/* Labels, descriptions and the metrics enum agree, member for member. */
static void
test_names(void **state)
{
    (void)state;
    assert_int_equal(OAUTH_CLIENT_ASSERTION_RC_COUNT, METRICS_CLIENT_ASSERTION_COUNT);
    for (int i = 0; i < OAUTH_CLIENT_ASSERTION_RC_COUNT; i++) {
        assert_string_equal(oauth_client_assertion_rc_str((enum oauth_client_assertion_rc)i),
                            metrics_client_assertion_str((enum metrics_client_assertion)i));
        assert_string_not_equal(
            oauth_client_assertion_description((enum oauth_client_assertion_rc)i),
            "client_assertion refused");
    }
}

static int
group_setup(void **state)
{
    (void)state;
    rsa1 = jws_mint_rsa_key("rsa-1");
    rsa_other = jws_mint_rsa_key("rsa-1"); /* same kid, other key */
    ec1 = jws_mint_ec_key(CJOSE_JWK_EC_P_256, "ec-1");
    cjose_jwk_t *both[] = {rsa1, ec1};
    keys = set_of(both, 2, NULL);
    keys_rs_only = set_of(&rsa1, 1, "RS256");
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    oidc_jwks_set_unref(keys);
    oidc_jwks_set_unref(keys_rs_only);
    cjose_jwk_release(rsa1);
    cjose_jwk_release(rsa_other);
    cjose_jwk_release(ec1);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_rs256_ps256_es256),
        cmocka_unit_test(test_header_keys_ignored),
        cmocka_unit_test(test_alg_not_allowed),
        cmocka_unit_test(test_hs256_refused),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_unknown_kid_and_key_mismatch),
        cmocka_unit_test(test_wrong_iss_sub),
        cmocka_unit_test(test_wrong_audience),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_jti),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_front),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
