/* oidc/id_token: algorithm allowlist, key selection, signatures, claims,
 * and the one JWKS refresh on an unknown kid.
 *
 * Keys are generated at test time with cjose and tokens signed with cjose,
 * so every good token is a real JWS. The one mock in this file is the JWKS
 * source (a function pointer given to oidc_jwks_new): it stands in for the
 * IdP's jwks_uri so a test can decide which keys a refresh returns and
 * count the refreshes; a real IdP cannot be told to rotate keys on demand.
 * Times are checked against a pinned clock (FIXTURE_NOW). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjose/cjose.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>

#include "base/b64url.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "fixtures.h"
#include "jws_mint.h"
#include "log.h"
#include "oidc/id_token.h"
#include "oidc/jwks.h"
#include "oidc/provider.h"
#include "loop.h"

#define ISS "https://idp.example.com"
#define CLIENT "proxy-client"

static cjose_jwk_t *rsa1, *rsa2, *ec1, *ec384;
static char *jwks_initial; /* rsa-1, ec-1 */
static char *jwks_rotated; /* rsa-1, ec-1, rsa-2 */
static struct oidc_provider *provider;

static json_t *
good_claims(void)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "iss", ISS, "aud", CLIENT, "sub", "alice", "exp",
                     (json_int_t)FIXTURE_NOW + 300, "iat", (json_int_t)FIXTURE_NOW, "nonce",
                     "n-0123456789abcdef");
}

static struct oidc_jwks_set *
parse_set(const char *text)
{
    struct oidc_jwks_set *s = NULL;
    struct buf err;
    buf_init(&err, 1024);
    assert_int_equal(oidc_jwks_set_parse(slice_from_cstr(text), &s, &err), 0);
    buf_cleanup(&err);
    return s;
}

static enum oidc_id_token_rc
check_with(const struct oidc_provider *p, const char *keys_json, char *token, json_t **claims)
{
    struct oidc_jwks_set *s = parse_set(keys_json);
    json_t *c = NULL;
    enum oidc_id_token_rc rc =
        oidc_id_token_check(p, CLIENT, s, slice_from_cstr(token), claims ? claims : &c);
    json_decref(c);
    oidc_jwks_set_unref(s);
    xfree(token);
    return rc;
}

static enum oidc_id_token_rc
check_token(char *token)
{
    return check_with(provider, jwks_initial, token, NULL);
}

static struct oidc_provider *
provider_with_algs(const char *algs_json)
{
    char doc[1024];
    snprintf(doc, sizeof(doc),
             "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS "/a\","
             "\"token_endpoint\":\"" ISS "/t\",\"jwks_uri\":\"" ISS "/j\","
             "\"id_token_signing_alg_values_supported\":%s}",
             algs_json);
    struct oidc_provider *p = NULL;
    struct buf err;
    buf_init(&err, 1024);
    assert_int_equal(oidc_provider_parse(ISS, slice_from_cstr(doc), &p, &err), 0);
    buf_cleanup(&err);
    return p;
}

static int
group_setup(void **state)
{
    (void)state;
    rsa1 = jws_mint_rsa_key("rsa-1");
    rsa2 = jws_mint_rsa_key("rsa-2");
    ec1 = jws_mint_ec_key(CJOSE_JWK_EC_P_256, "ec-1");
    ec384 = jws_mint_ec_key(CJOSE_JWK_EC_P_384, "ec-384");
    cjose_jwk_t *initial[] = {rsa1, ec1};
    cjose_jwk_t *rotated[] = {rsa1, ec1, rsa2};
    jwks_initial = jws_mint_public_jwks(initial, 2, NULL);
    jwks_rotated = jws_mint_public_jwks(rotated, 3, NULL);
    provider = provider_with_algs("[\"RS256\",\"PS256\",\"ES256\",\"ES384\"]");
    fixture_pin_clock(0);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    cjose_jwk_release(rsa1);
    cjose_jwk_release(rsa2);
    cjose_jwk_release(ec1);
    cjose_jwk_release(ec384);
    free(jwks_initial);
    free(jwks_rotated);
    oidc_provider_free(provider);
    fixture_unpin_clock();
    return 0;
}

/* ---- good tokens ---- */

static void
test_good_rs256(void **state)
{
    (void)state;
    json_t *claims = NULL;
    assert_int_equal(check_with(provider, jwks_initial,
                                jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, good_claims()),
                                &claims),
                     OIDC_ID_TOKEN_OK);
    assert_string_equal(json_string_value(json_object_get(claims, "sub")), "alice");
    json_decref(claims);
}

static void
test_good_ps256(void **state)
{
    (void)state;
    assert_int_equal(check_token(jws_mint_sign(rsa1, "PS256", "rsa-1", NULL, good_claims())),
                     OIDC_ID_TOKEN_OK);
}

static void
test_good_es256(void **state)
{
    (void)state;
    assert_int_equal(check_token(jws_mint_sign(ec1, "ES256", "ec-1", NULL, good_claims())),
                     OIDC_ID_TOKEN_OK);
}

static void
test_good_without_kid_tries_keys_of_the_type(void **state)
{
    (void)state;
    assert_int_equal(check_with(provider, jwks_rotated,
                                jws_mint_sign(rsa2, "RS256", NULL, NULL, good_claims()), NULL),
                     OIDC_ID_TOKEN_OK);
    assert_int_equal(check_token(jws_mint_sign(ec1, "ES256", NULL, NULL, good_claims())),
                     OIDC_ID_TOKEN_OK);
    /* No kid and no key of the right kind: no match at all. */
    assert_int_equal(check_token(jws_mint_sign(ec384, "ES384", NULL, NULL, good_claims())),
                     OIDC_ID_TOKEN_ERR_NO_MATCHING_KEY);
}

/* ---- algorithms ---- */

static void
test_alg_not_advertised(void **state)
{
    (void)state;
    struct oidc_provider *rs_only = provider_with_algs("[\"RS256\"]");
    assert_int_equal(check_with(rs_only, jwks_initial,
                                jws_mint_sign(ec1, "ES256", "ec-1", NULL, good_claims()), NULL),
                     OIDC_ID_TOKEN_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(check_with(rs_only, jwks_initial,
                                jws_mint_sign(rsa1, "PS256", "rsa-1", NULL, good_claims()), NULL),
                     OIDC_ID_TOKEN_ERR_ALG_NOT_ALLOWED);
    oidc_provider_free(rs_only);
}

static void
test_alg_none(void **state)
{
    (void)state;
    json_t *c = good_claims();
    char *payload = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    assert_int_equal(check_token(jws_mint_assemble("{\"alg\":\"none\"}", payload, "")),
                     OIDC_ID_TOKEN_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(
        check_token(jws_mint_assemble("{\"alg\":\"none\",\"kid\":\"rsa-1\"}", payload, "c2ln")),
        OIDC_ID_TOKEN_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(check_token(jws_mint_assemble("{\"alg\":\"None\"}", payload, "c2ln")),
                     OIDC_ID_TOKEN_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(check_token(jws_mint_assemble("{\"kid\":\"rsa-1\"}", payload, "c2ln")),
                     OIDC_ID_TOKEN_ERR_MALFORMED);
    free(payload);
}

/* The classic confusion attack: HS256 "signed" with the RSA public key's
 * bytes as the HMAC secret. Refused before any key is touched, even when
 * the IdP lists HS256 (it is filtered out of the advertised set). */
static void
test_alg_hs256_confusion(void **state)
{
    (void)state;
    struct oidc_provider *lists_hs = provider_with_algs("[\"HS256\",\"RS256\"]");
    assert_int_equal(check_with(lists_hs, jwks_initial,
                                jws_mint_hs256_confused(rsa1, "rsa-1", good_claims()), NULL),
                     OIDC_ID_TOKEN_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(check_token(jws_mint_hs256_confused(rsa1, "rsa-1", good_claims())),
                     OIDC_ID_TOKEN_ERR_ALG_NOT_ALLOWED);
    oidc_provider_free(lists_hs);
}

static void
test_alg_key_type_mismatch(void **state)
{
    (void)state;
    /* An RSA alg naming the EC key, and ES384 naming the P-256 key. */
    assert_int_equal(check_token(jws_mint_sign(rsa1, "RS256", "ec-1", NULL, good_claims())),
                     OIDC_ID_TOKEN_ERR_ALG_KEY_MISMATCH);
    assert_int_equal(check_token(jws_mint_sign(ec384, "ES384", "ec-1", NULL, good_claims())),
                     OIDC_ID_TOKEN_ERR_ALG_KEY_MISMATCH);
    /* An ES alg naming the RSA key. */
    assert_int_equal(check_token(jws_mint_sign(ec1, "ES256", "rsa-1", NULL, good_claims())),
                     OIDC_ID_TOKEN_ERR_ALG_KEY_MISMATCH);
}

static void
test_crit_header_refused(void **state)
{
    (void)state;
    json_t *hdr = json_pack("{s:[s]}", "crit", "b64");
    json_object_set_new(hdr, "b64", json_false());
    assert_int_equal(check_token(jws_mint_sign(rsa1, "RS256", "rsa-1", hdr, good_claims())),
                     OIDC_ID_TOKEN_ERR_MALFORMED);
}

/* ---- signatures and shape ---- */

static void
test_bad_signature(void **state)
{
    (void)state;
    char *t = jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, good_claims());
    /* A character in the middle of the signature: still canonical base64url. */
    char *sig = strrchr(t, '.') + 1;
    size_t mid = strlen(sig) / 2;
    sig[mid] = sig[mid] == 'A' ? 'B' : 'A';
    assert_int_equal(check_token(t), OIDC_ID_TOKEN_ERR_BAD_SIGNATURE);
    /* Signed by another RSA key under rsa-1's kid. */
    assert_int_equal(check_token(jws_mint_sign(rsa2, "RS256", "rsa-1", NULL, good_claims())),
                     OIDC_ID_TOKEN_ERR_BAD_SIGNATURE);
    /* The payload swapped after signing. */
    char *good = jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, good_claims());
    json_t *c = good_claims();
    json_object_set_new(c, "sub", json_string("mallory"));
    char *other = jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, c);
    char *d1 = strchr(good, '.'), *d2 = strrchr(good, '.');
    char *o1 = strchr(other, '.'), *o2 = strrchr(other, '.');
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append(&b, good, (size_t)(d1 - good)), 0);
    assert_int_equal(buf_append(&b, o1, (size_t)(o2 - o1)), 0);
    assert_int_equal(buf_append_str(&b, d2), 0);
    assert_int_equal(check_token(buf_take(&b)), OIDC_ID_TOKEN_ERR_BAD_SIGNATURE);
    xfree(good);
    xfree(other);
}

static void
test_malformed_shapes(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "a.b.c.d.e",
        "eyJhbGciOiJSUzI1NiJ9..c2ln",
        "eyJhbGciOiJSUzI1NiJ9.e30.",
        "eyJhbGciOiJSUzI1NiJ9=.e30.c2ln",
        "eyJhbGciOiJSUzI1NiJ9.e30.c2ln!",
        "W10.e30.c2ln", /* header [] */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(check_token(xstrdup(bad[i])), OIDC_ID_TOKEN_ERR_MALFORMED);
    }
    /* Oversize. */
    char *huge = xmalloc(300 * 1024);
    memset(huge, 'A', 300 * 1024 - 1);
    huge[300 * 1024 - 1] = '\0';
    assert_int_equal(check_token(huge), OIDC_ID_TOKEN_ERR_MALFORMED);
    /* Duplicate key in the header. */
    assert_int_equal(
        check_token(jws_mint_assemble("{\"alg\":\"RS256\",\"alg\":\"RS256\"}", "{}", "c2ln")),
        OIDC_ID_TOKEN_ERR_MALFORMED);
    /* kid of the wrong type. */
    assert_int_equal(check_token(jws_mint_assemble("{\"alg\":\"RS256\",\"kid\":7}", "{}", "c2ln")),
                     OIDC_ID_TOKEN_ERR_MALFORMED);
}

/* ---- claims ---- */

static enum oidc_id_token_rc
with_claims(json_t *c)
{
    return check_token(jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, c));
}

static void
test_wrong_issuer(void **state)
{
    (void)state;
    json_t *c = good_claims();
    json_object_set_new(c, "iss", json_string(ISS "/"));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_WRONG_ISSUER);
    c = good_claims();
    json_object_set_new(c, "iss", json_string("https://evil.example.com"));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_WRONG_ISSUER);
    c = good_claims();
    json_object_del(c, "iss");
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_WRONG_ISSUER);
}

static void
test_audience(void **state)
{
    (void)state;
    json_t *c = good_claims();
    json_object_set_new(c, "aud", json_string("someone-else"));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_WRONG_AUDIENCE);
    c = good_claims();
    json_object_del(c, "aud");
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_WRONG_AUDIENCE);
    c = good_claims();
    json_object_set_new(c, "aud", json_pack("[s]", CLIENT));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_OK);
    c = good_claims();
    json_object_set_new(c, "aud", json_pack("[s,s]", "a", "b"));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_WRONG_AUDIENCE);
    c = good_claims();
    json_object_set_new(c, "aud", json_pack("[s,i]", CLIENT, 1));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_MALFORMED);
}

static void
test_several_audiences_need_azp(void **state)
{
    (void)state;
    json_t *c = good_claims();
    json_object_set_new(c, "aud", json_pack("[s,s]", CLIENT, "api"));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_AZP_MISMATCH);
    c = good_claims();
    json_object_set_new(c, "aud", json_pack("[s,s]", CLIENT, "api"));
    json_object_set_new(c, "azp", json_string("api"));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_AZP_MISMATCH);
    c = good_claims();
    json_object_set_new(c, "aud", json_pack("[s,s]", CLIENT, "api"));
    json_object_set_new(c, "azp", json_string(CLIENT));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_OK);
    /* A present azp must be us even with one audience. */
    c = good_claims();
    json_object_set_new(c, "azp", json_string("other"));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_AZP_MISMATCH);
}

static void
test_expiry_with_skew(void **state)
{
    (void)state;
    json_t *c = good_claims();
    json_object_set_new(c, "exp", json_integer(FIXTURE_NOW - 61));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_EXPIRED);
    c = good_claims();
    json_object_set_new(c, "exp", json_integer(FIXTURE_NOW - 60));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_EXPIRED);
    c = good_claims();
    json_object_set_new(c, "exp", json_integer(FIXTURE_NOW - 30));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_OK);
    c = good_claims();
    json_object_set_new(c, "exp", json_real(FIXTURE_NOW + 10.5));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_OK);
    c = good_claims();
    json_object_set_new(c, "exp", json_string("tomorrow"));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_MALFORMED);
    /* The same token, later: the pinned clock decides. */
    char *t = jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, good_claims());
    fixture_pin_clock(300 + 60);
    assert_int_equal(check_token(t), OIDC_ID_TOKEN_ERR_EXPIRED);
    fixture_pin_clock(0);
}

static void
test_missing_exp_or_iat(void **state)
{
    (void)state;
    json_t *c = good_claims();
    json_object_del(c, "exp");
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_MISSING_CLAIM);
    c = good_claims();
    json_object_set_new(c, "exp", json_null());
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_MISSING_CLAIM);
    c = good_claims();
    json_object_del(c, "iat");
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_MISSING_CLAIM);
}

static void
test_iat_in_future(void **state)
{
    (void)state;
    json_t *c = good_claims();
    json_object_set_new(c, "iat", json_integer(FIXTURE_NOW + 120));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_ISSUED_IN_FUTURE);
    c = good_claims();
    json_object_set_new(c, "iat", json_integer(FIXTURE_NOW + 60));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_OK);
}

static void
test_nbf(void **state)
{
    (void)state;
    json_t *c = good_claims();
    json_object_set_new(c, "nbf", json_integer(FIXTURE_NOW + 120));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_NOT_YET_VALID);
    c = good_claims();
    json_object_set_new(c, "nbf", json_integer(FIXTURE_NOW + 30));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_OK);
    c = good_claims();
    json_object_set_new(c, "nbf", json_true());
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_MALFORMED);
}

static void
test_distributed_claims(void **state)
{
    (void)state;
    json_t *c = good_claims();
    json_object_set_new(c, "_claim_names", json_pack("{s:s}", "groups", "src1"));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_DISTRIBUTED_CLAIMS);
    c = good_claims();
    json_object_set_new(c, "_claim_names", json_pack("{s:s}", "groups", "src1"));
    json_object_set_new(c, "_claim_sources", json_pack("{s:{s:s}}", "src2", "endpoint", "x"));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_ERR_DISTRIBUTED_CLAIMS);
    c = good_claims();
    json_object_set_new(c, "_claim_names", json_pack("{s:s}", "groups", "src1"));
    json_object_set_new(c, "_claim_sources",
                        json_pack("{s:{s:s}}", "src1", "endpoint", "https://x"));
    assert_int_equal(with_claims(c), OIDC_ID_TOKEN_OK);
}

static void
test_nonce(void **state)
{
    (void)state;
    json_t *c = good_claims();
    const char *why = "unset";
    assert_true(oidc_id_token_nonce_matches(c, SLICE_LIT("n-0123456789abcdef"), &why));
    assert_null(why);
    assert_false(oidc_id_token_nonce_matches(c, SLICE_LIT("n-0123456789abcdeF"), &why));
    assert_string_equal(why, "nonce_mismatch");
    assert_false(oidc_id_token_nonce_matches(c, SLICE_LIT("n-0123456789abcde"), &why));
    assert_string_equal(why, "nonce_mismatch");
    assert_false(oidc_id_token_nonce_matches(c, SLICE_LIT(""), &why));
    assert_string_equal(why, "nonce_mismatch");
    json_object_del(c, "nonce");
    assert_false(oidc_id_token_nonce_matches(c, SLICE_LIT("n-0123456789abcdef"), &why));
    assert_string_equal(why, "nonce_missing");
    json_object_set_new(c, "nonce", json_integer(5));
    assert_false(oidc_id_token_nonce_matches(c, SLICE_LIT("5"), &why));
    assert_string_equal(why, "nonce_missing");
    json_decref(c);
}

static void
test_rc_names_complete(void **state)
{
    (void)state;
    for (int i = 0; i < OIDC_ID_TOKEN_RC_COUNT; i++) {
        assert_string_not_equal(oidc_id_token_rc_str((enum oidc_id_token_rc)i), "unknown");
    }
}

/* ---- asynchronous verification and the one refresh ---- */

/* THE MOCK: the JWKS source. First call (start-up) returns `initial`,
 * later calls `later` (or fail when later is NULL). */
struct source {
    atomic_uint calls;
    const char *initial;
    const char *later;
};

static int
mock_source(void *arg, const atomic_bool *stop, struct buf *out, struct buf *err)
{
    (void)stop;
    struct source *s = arg;
    unsigned n = atomic_fetch_add(&s->calls, 1);
    const char *doc = n == 0 ? s->initial : s->later;
    if (doc == NULL) {
        assert_int_equal(buf_append_str(err, "connect: refused"), 0);
        return -1;
    }
    return buf_append_str(out, doc);
}

struct result {
    bool done;
    enum oidc_id_token_rc rc;
    char sub[64];
};

static void
on_verified(void *arg, enum oidc_id_token_rc rc, struct json_t *claims)
{
    struct result *r = arg;
    r->done = true;
    r->rc = rc;
    if (claims != NULL) {
        snprintf(r->sub, sizeof(r->sub), "%s", json_string_value(json_object_get(claims, "sub")));
        json_decref(claims);
    }
}

struct async_env {
    struct event_base *base;
    struct source src;
    struct oidc_jwks *jwks;
};

static struct async_env *
async_env_new(const char *later, uint64_t gap_ms)
{
    struct async_env *e = xcalloc(1, sizeof(*e));
    e->base = event_base_new();
    e->src.initial = jwks_initial;
    e->src.later = later;
    struct oidc_jwks_options opt = {
        .source = mock_source,
        .source_arg = &e->src,
        .refresh_interval_ms = 0,
        .min_refresh_gap_ms = gap_ms,
    };
    struct buf err;
    buf_init(&err, 1024);
    assert_int_equal(oidc_jwks_new(&opt, NULL, &e->jwks, &err), 0);
    buf_cleanup(&err);
    return e;
}

static void
async_env_free(struct async_env *e)
{
    oidc_jwks_free(e->jwks);
    event_base_free(e->base);
    xfree(e);
}

static struct oidc_id_token_verify *
start(struct async_env *e, char *token, struct result *r)
{
    struct oidc_id_token_verify *v = oidc_id_token_verify_start(
        provider, CLIENT, e->jwks, e->base, slice_from_cstr(token), on_verified, r);
    xfree(token);
    assert_non_null(v);
    return v;
}

static void
test_async_known_kid_no_refresh(void **state)
{
    (void)state;
    struct async_env *e = async_env_new(jwks_rotated, 30000);
    struct result r = {0};
    (void)start(e, jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, good_claims()), &r);
    assert_false(r.done); /* never called back from inside start */
    loop_run_until(e->base, &r.done, 5000);
    assert_int_equal(r.rc, OIDC_ID_TOKEN_OK);
    assert_string_equal(r.sub, "alice");
    assert_int_equal(atomic_load(&e->src.calls), 1);
    async_env_free(e);
}

static void
test_async_unknown_kid_one_refresh_then_ok(void **state)
{
    (void)state;
    struct async_env *e = async_env_new(jwks_rotated, 30000);
    struct result r = {0};
    (void)start(e, jws_mint_sign(rsa2, "RS256", "rsa-2", NULL, good_claims()), &r);
    loop_run_until(e->base, &r.done, 5000);
    assert_int_equal(r.rc, OIDC_ID_TOKEN_OK);
    assert_int_equal(atomic_load(&e->src.calls), 2);
    assert_int_equal(oidc_jwks_refresh_count(e->jwks), 1);
    /* The rotated key is now in the shared snapshot: no further refresh. */
    struct result again = {0};
    (void)start(e, jws_mint_sign(rsa2, "RS256", "rsa-2", NULL, good_claims()), &again);
    loop_run_until(e->base, &again.done, 5000);
    assert_int_equal(again.rc, OIDC_ID_TOKEN_OK);
    assert_int_equal(atomic_load(&e->src.calls), 2);
    async_env_free(e);
}

static void
test_async_unknown_kid_after_refresh_fails(void **state)
{
    (void)state;
    struct async_env *e = async_env_new(jwks_rotated, 30000);
    struct result r = {0};
    (void)start(e, jws_mint_sign(rsa2, "RS256", "nobody", NULL, good_claims()), &r);
    loop_run_until(e->base, &r.done, 5000);
    assert_int_equal(r.rc, OIDC_ID_TOKEN_ERR_UNKNOWN_KID);
    assert_int_equal(atomic_load(&e->src.calls), 2); /* exactly one refresh */
    /* Within 30 s another unknown kid may not refresh again: fail closed. */
    struct result r2 = {0};
    (void)start(e, jws_mint_sign(rsa2, "RS256", "someone-else", NULL, good_claims()), &r2);
    loop_run_until(e->base, &r2.done, 5000);
    assert_int_equal(r2.rc, OIDC_ID_TOKEN_ERR_UNKNOWN_KID);
    assert_int_equal(atomic_load(&e->src.calls), 2);
    async_env_free(e);
}

static void
test_async_concurrent_misses_coalesce(void **state)
{
    (void)state;
    struct async_env *e = async_env_new(jwks_rotated, 30000);
    struct result r[4] = {0};
    for (int i = 0; i < 4; i++) {
        (void)start(e, jws_mint_sign(rsa2, "RS256", "rsa-2", NULL, good_claims()), &r[i]);
    }
    for (int i = 0; i < 4; i++) {
        loop_run_until(e->base, &r[i].done, 5000);
        assert_int_equal(r[i].rc, OIDC_ID_TOKEN_OK);
    }
    assert_int_equal(atomic_load(&e->src.calls), 2);
    async_env_free(e);
}

static void
test_async_failed_refresh_keeps_keys(void **state)
{
    (void)state;
    char path[] = "/tmp/test_oidc_id_token.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    log_set_fd(fd);
    struct async_env *e = async_env_new(NULL, 0);
    struct result r = {0};
    (void)start(e, jws_mint_sign(rsa2, "RS256", "rsa-2", NULL, good_claims()), &r);
    loop_run_until(e->base, &r.done, 5000);
    assert_int_equal(r.rc, OIDC_ID_TOKEN_ERR_UNKNOWN_KID);
    assert_int_equal(atomic_load(&e->src.calls), 2);
    /* The previous keys still verify. */
    struct result ok = {0};
    (void)start(e, jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, good_claims()), &ok);
    loop_run_until(e->base, &ok.done, 5000);
    assert_int_equal(ok.rc, OIDC_ID_TOKEN_OK);
    async_env_free(e);
    log_set_fd(1);
    char text[4096] = "";
    assert_true(pread(fd, text, sizeof(text) - 1, 0) > 0);
    assert_non_null(strstr(text, "\"msg\":\"jwks_refresh_failed\""));
    assert_non_null(strstr(text, "\"action\":\"keeping previous keys\""));
    close(fd);
    unlink(path);
}

static void
test_async_cancel_never_calls_back(void **state)
{
    (void)state;
    struct async_env *e = async_env_new(jwks_rotated, 30000);
    struct result waiting = {0}, immediate = {0};
    struct oidc_id_token_verify *a =
        start(e, jws_mint_sign(rsa2, "RS256", "rsa-2", NULL, good_claims()), &waiting);
    struct oidc_id_token_verify *b =
        start(e, jws_mint_sign(rsa1, "RS256", "rsa-1", NULL, good_claims()), &immediate);
    oidc_id_token_verify_cancel(a);
    oidc_id_token_verify_cancel(b);
    loop_run_for(e->base, 300);
    assert_false(waiting.done);
    assert_false(immediate.done);
    async_env_free(e);
}

int
main(void)
{
    /* Refresh answers cross threads into our loop (oidc/jwks.h). */
    evthread_use_pthreads();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_rs256),
        cmocka_unit_test(test_good_ps256),
        cmocka_unit_test(test_good_es256),
        cmocka_unit_test(test_good_without_kid_tries_keys_of_the_type),
        cmocka_unit_test(test_alg_not_advertised),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_alg_hs256_confusion),
        cmocka_unit_test(test_alg_key_type_mismatch),
        cmocka_unit_test(test_crit_header_refused),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_malformed_shapes),
        cmocka_unit_test(test_wrong_issuer),
        cmocka_unit_test(test_audience),
        cmocka_unit_test(test_several_audiences_need_azp),
        cmocka_unit_test(test_expiry_with_skew),
        cmocka_unit_test(test_missing_exp_or_iat),
        cmocka_unit_test(test_iat_in_future),
        cmocka_unit_test(test_nbf),
        cmocka_unit_test(test_distributed_claims),
        cmocka_unit_test(test_nonce),
        cmocka_unit_test(test_rc_names_complete),
        cmocka_unit_test(test_async_known_kid_no_refresh),
        cmocka_unit_test(test_async_unknown_kid_one_refresh_then_ok),
        cmocka_unit_test(test_async_unknown_kid_after_refresh_fails),
        cmocka_unit_test(test_async_concurrent_misses_coalesce),
        cmocka_unit_test(test_async_failed_refresh_keeps_keys),
        cmocka_unit_test(test_async_cancel_never_calls_back),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
