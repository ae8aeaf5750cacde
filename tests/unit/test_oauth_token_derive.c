/* oauth/token_derive: the ids and times /token derives, so a retried grant
 * gets the same tokens byte for byte (docs/internals/rotation.md). */
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
#include "fixtures.h"
#include "grants.h"
#include "oauth/token_derive.h"
#include "seal.h"

#define PARENT "5f0c2a7e-3b1d-4c8e-9f6a-0123456789ab"
#define FAMILY "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
#define ISSUED_MS INT64_C(1780000000123)

static struct seal_ring *
ring_of(const char *secret)
{
    struct seal_ring *r = seal_ring_new(secret, strlen(secret), NULL, NULL, 0);
    assert_non_null(r);
    return r;
}

static struct oauth_token_derive_out
derive(const struct seal_ring *ring, enum oauth_token_derive_grant g, const char *parent,
       const char *family, int64_t ms)
{
    const struct oauth_token_derive_in in = {
        .grant = g, .parent_tid = parent, .family_id = family, .issued_ms = ms};
    struct oauth_token_derive_out out;
    memset(&out, 0x55, sizeof(out));
    oauth_token_derive(ring, &in, &out);
    return out;
}

/* 8-4-4-4-12 lowercase hex, version 8, variant 10 (RFC 9562 5.8). */
static void
assert_uuid_v8(const char *s)
{
    assert_int_equal(strlen(s), 36);
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            assert_int_equal(s[i], '-');
        } else {
            assert_non_null(strchr("0123456789abcdef", s[i]));
        }
    }
    assert_int_equal(s[14], '8');
    assert_non_null(strchr("89ab", s[19]));
}

static void
test_same_input_same_output(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET);
    struct seal_ring *again = ring_of(FIXTURE_SECRET); /* another replica */
    struct oauth_token_derive_out a =
        derive(ring, OAUTH_TOKEN_DERIVE_REFRESH, PARENT, FAMILY, ISSUED_MS);
    struct oauth_token_derive_out b =
        derive(again, OAUTH_TOKEN_DERIVE_REFRESH, PARENT, FAMILY, ISSUED_MS);
    assert_string_equal(a.access_tid, b.access_tid);
    assert_string_equal(a.refresh_tid, b.refresh_tid);
    assert_int_equal(a.iat_s, 1780000000);
    assert_int_equal(b.iat_s, a.iat_s);
    assert_uuid_v8(a.access_tid);
    assert_uuid_v8(a.refresh_tid);
    assert_string_not_equal(a.access_tid, a.refresh_tid);
    seal_ring_free(ring);
    seal_ring_free(again);
}

/* Any one bit of any input changed → both ids change. */
static void
test_any_bit_changes_the_ids(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET);
    struct oauth_token_derive_out base =
        derive(ring, OAUTH_TOKEN_DERIVE_REFRESH, PARENT, FAMILY, ISSUED_MS);
    char parent[] = PARENT;
    char family[] = FAMILY;
    char *fields[] = {parent, family};
    for (size_t f = 0; f < 2; f++) {
        for (size_t i = 0; i < strlen(fields[f]); i++) {
            for (int bit = 0; bit < 7; bit++) {
                fields[f][i] ^= (char)(1 << bit);
                struct oauth_token_derive_out d =
                    derive(ring, OAUTH_TOKEN_DERIVE_REFRESH, parent, family, ISSUED_MS);
                assert_string_not_equal(d.access_tid, base.access_tid);
                assert_string_not_equal(d.refresh_tid, base.refresh_tid);
                fields[f][i] ^= (char)(1 << bit);
            }
        }
    }
    for (int bit = 0; bit < 62; bit++) {
        struct oauth_token_derive_out d = derive(ring, OAUTH_TOKEN_DERIVE_REFRESH, PARENT, FAMILY,
                                                 ISSUED_MS ^ (INT64_C(1) << bit));
        assert_string_not_equal(d.access_tid, base.access_tid);
        assert_string_not_equal(d.refresh_tid, base.refresh_tid);
    }
    /* The grant, and field boundaries (length prefixes: "ab"+"c" is not
     * "a"+"bc"). */
    struct oauth_token_derive_out c =
        derive(ring, OAUTH_TOKEN_DERIVE_CODE, PARENT, FAMILY, ISSUED_MS);
    assert_string_not_equal(c.refresh_tid, base.refresh_tid);
    struct oauth_token_derive_out s1 = derive(ring, OAUTH_TOKEN_DERIVE_CODE, "ab", "c", 0);
    struct oauth_token_derive_out s2 = derive(ring, OAUTH_TOKEN_DERIVE_CODE, "a", "bc", 0);
    assert_string_not_equal(s1.refresh_tid, s2.refresh_tid);
    /* Another secret: another proxy's ids. */
    struct seal_ring *other = ring_of(FIXTURE_SECRET_2);
    struct oauth_token_derive_out o =
        derive(other, OAUTH_TOKEN_DERIVE_REFRESH, PARENT, FAMILY, ISSUED_MS);
    assert_string_not_equal(o.refresh_tid, base.refresh_tid);
    seal_ring_free(other);
    seal_ring_free(ring);
}

/* The whole chain /token runs: derived ids and times, sealed with the
 * synthetic nonce, give the same token bytes; one bit of the claim time
 * gives another token (and so another nonce: seal.h). */
static char *
mint_refresh(const struct seal_ring *ring, int64_t issued_ms)
{
    struct oauth_token_derive_out d =
        derive(ring, OAUTH_TOKEN_DERIVE_REFRESH, PARENT, FAMILY, issued_ms);
    const char *groups[] = {"eng"};
    const struct grant_refresh g = {
        .token_id = d.refresh_tid,
        .family_id = FAMILY,
        .sub = "u1",
        .email = "a@b.c",
        .groups = groups,
        .group_count = 1,
        .client_id = "c1",
        .aud = "https://auth.example.com",
        .iat = d.iat_s,
        .family_iat = 1770000000,
        .exp = d.iat_s + 7 * 24 * 3600,
        .generation = 3,
    };
    struct buf out;
    buf_init(&out, BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(grants_seal_refresh_synthetic(ring, &g, &out), SEAL_OK);
    char *s = xstrdup(buf_cstr(&out));
    buf_cleanup(&out);
    return s;
}

static void
test_tokens_byte_identical(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET);
    struct seal_ring *replica = ring_of(FIXTURE_SECRET);
    char *a = mint_refresh(ring, ISSUED_MS);
    char *b = mint_refresh(replica, ISSUED_MS);
    assert_string_equal(a, b);
    char *c = mint_refresh(ring, ISSUED_MS + 1000);
    assert_string_not_equal(a, c);
    /* What was minted opens, with the derived id and time. */
    struct grant_refresh g;
    assert_int_equal(grants_open_refresh(ring, slice_from_cstr(a), "https://auth.example.com",
                                         1780000001, &g, NULL),
                     GRANTS_OK);
    struct oauth_token_derive_out d =
        derive(ring, OAUTH_TOKEN_DERIVE_REFRESH, PARENT, FAMILY, ISSUED_MS);
    assert_string_equal(g.token_id, d.refresh_tid);
    assert_int_equal(g.iat, 1780000000);
    grants_cleanup_refresh(&g);
    xfree(a);
    xfree(b);
    xfree(c);
    seal_ring_free(ring);
    seal_ring_free(replica);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_input_same_output),
        cmocka_unit_test(test_any_bit_changes_the_ids),
        cmocka_unit_test(test_tokens_byte_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
