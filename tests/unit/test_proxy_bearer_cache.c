/* proxy/bearer_cache: the per-worker cache of opened access tokens, driven
 * through proxy_bearer_check_cached as the MCP mount drives it. Every test
 * attacks one claim of bearer_cache.h: a cached token answers exactly as a
 * fresh open would, a forged token never rides on a cached one, expiry and
 * the policy are checked on every use, a new ring forgets everything, and
 * memory stays bounded. Tokens are real sealed access grants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/siphash.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "fixtures.h"
#include "grants.h"
#include "metrics.h"
#include "proxy/bearer.h"
#include "proxy/bearer_cache.h"
#include "seal.h"

#define MOUNT "/mcp"
#define RES FIXTURE_BASE MOUNT
#define T0 ((int64_t)FIXTURE_NOW)

static struct seal_ring *ring;
static struct proxy_bearer_cache *cache;

static int
setup(void **state)
{
    (void)state;
    ring = seal_ring_new(FIXTURE_SECRET, strlen(FIXTURE_SECRET), NULL, NULL, 0);
    cache = proxy_bearer_cache_new();
    metrics_reset();
    return ring != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    proxy_bearer_cache_free(cache);
    seal_ring_free(ring);
    return 0;
}

static struct proxy_bearer_policy
policy_for(const struct seal_ring *r)
{
    return (struct proxy_bearer_policy){.ring = r, .audience = FIXTURE_BASE, .resource = RES};
}

static const char *const groups[] = {"admin", "dev"};

static struct grant_access
good_grant(void)
{
    return (struct grant_access){.token_id = "tid-1",
                                 .family_id = "fam-1",
                                 .aud = FIXTURE_BASE,
                                 .resource = RES,
                                 .scope = "mcp:read",
                                 .sub = "user-1",
                                 .email = "u1@example.com",
                                 .groups = groups,
                                 .group_count = 2,
                                 .client_id = "cid-1",
                                 .iat = T0 - 60,
                                 .exp = T0 + 3600,
                                 .acr = "mfa",
                                 .auth_time = T0 - 120};
}

/* "Bearer <token>" for g sealed with r; caller frees. */
static char *
mint(const struct seal_ring *r, const struct grant_access *g)
{
    struct buf b;
    buf_init(&b, 2 * BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(buf_append_str(&b, "Bearer "), 0);
    assert_int_equal(grants_seal_access(r, g, &b), SEAL_OK);
    return buf_take(&b);
}

static enum proxy_bearer_rc
check_at(const struct proxy_bearer_policy *p, const char *header, int64_t now,
         struct proxy_bearer_result *r)
{
    struct slice v = slice_from_cstr(header);
    return proxy_bearer_check_cached(p, cache, &v, 1, now, r);
}

/* check_at, then the outcome only (the result released). */
static enum proxy_bearer_rc
outcome(const struct proxy_bearer_policy *p, const char *header, int64_t now,
        enum metrics_denied *reason)
{
    struct proxy_bearer_result r;
    enum proxy_bearer_rc rc = check_at(p, header, now, &r);
    if (reason != NULL) {
        *reason = r.reason;
    }
    proxy_bearer_result_cleanup(&r);
    return rc;
}

static void
assert_same_grant(const struct grant_access *a, const struct grant_access *b)
{
    assert_string_equal(a->token_id, b->token_id);
    assert_string_equal(a->family_id, b->family_id);
    assert_string_equal(a->aud, b->aud);
    assert_string_equal(a->resource, b->resource);
    assert_string_equal(a->scope, b->scope);
    assert_string_equal(a->sub, b->sub);
    assert_string_equal(a->email, b->email);
    assert_int_equal(a->group_count, b->group_count);
    for (size_t i = 0; i < a->group_count; i++) {
        assert_string_equal(a->groups[i], b->groups[i]);
    }
    assert_string_equal(a->client_id, b->client_id);
    assert_int_equal(a->iat, b->iat);
    assert_int_equal(a->exp, b->exp);
    assert_string_equal(a->acr, b->acr);
    assert_int_equal(a->auth_time, b->auth_time);
}

/* The second use is a hit and hands back exactly the grant a fresh open
 * gives (the reference: proxy_bearer_check, no cache). */
static void
test_hit_equals_fresh_open(void **state)
{
    (void)state;
    struct grant_access g = good_grant();
    char *h = mint(ring, &g);
    struct proxy_bearer_policy p = policy_for(ring);
    struct slice v = slice_from_cstr(h);

    struct proxy_bearer_result ref;
    assert_int_equal(proxy_bearer_check(&p, &v, 1, T0, &ref), PROXY_BEARER_OK);

    struct proxy_bearer_result first;
    assert_int_equal(check_at(&p, h, T0, &first), PROXY_BEARER_OK);
    assert_same_grant(&first.grant, &ref.grant);
    proxy_bearer_result_cleanup(&first);
    assert_int_equal(metrics_get_bearer_cache(false), 1);
    assert_int_equal(proxy_bearer_cache_count(cache), 1);

    for (int i = 0; i < 3; i++) {
        struct proxy_bearer_result again;
        assert_int_equal(check_at(&p, h, T0 + i, &again), PROXY_BEARER_OK);
        assert_same_grant(&again.grant, &ref.grant);
        assert_int_equal(again.seal_rc, SEAL_OK);
        proxy_bearer_result_cleanup(&again);
        assert_null(again.grant.sub);
    }
    assert_int_equal(metrics_get_bearer_cache(true), 3);
    assert_int_equal(metrics_get_bearer_cache(false), 1);
    proxy_bearer_result_cleanup(&ref);
    xfree(h);
}

static uint64_t
same_hash(const struct siphash_key *key, const void *data, size_t len)
{
    (void)key;
    (void)data;
    (void)len;
    return 42;
}

/* The worst case for the cache: every token gets the same hash, so a
 * forged token shares the slot AND the hash of a cached valid one. It must
 * still be refused (the token bytes decide), and the valid token stays. */
static void
test_forged_token_sharing_slot_and_hash_refused(void **state)
{
    (void)state;
    proxy_bearer_cache_test_set_hash(cache, same_hash);
    struct grant_access g = good_grant();
    char *h = mint(ring, &g);
    struct proxy_bearer_policy p = policy_for(ring);
    assert_int_equal(outcome(&p, h, T0, NULL), PROXY_BEARER_OK);
    assert_int_equal(proxy_bearer_cache_count(cache), 1);

    size_t len = strlen(h);
    /* One character changed at the start, middle and end of the token
     * (same length), and the token cut short and extended. */
    size_t at[] = {7, 7 + (len - 7) / 2, len - 1};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        char *forged = xstrdup(h);
        forged[at[i]] = forged[at[i]] == 'A' ? 'B' : 'A';
        enum metrics_denied reason;
        assert_int_equal(outcome(&p, forged, T0, &reason), PROXY_BEARER_INVALID_TOKEN);
        assert_int_equal(reason, METRICS_DENIED_INVALID_TOKEN);
        xfree(forged);
    }
    char *shorter = xstrndup(h, len - 1);
    assert_int_equal(outcome(&p, shorter, T0, NULL), PROXY_BEARER_INVALID_TOKEN);
    xfree(shorter);
    struct buf longer;
    buf_init(&longer, 2 * BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(buf_append_str(&longer, h), 0);
    assert_int_equal(buf_append_str(&longer, "AA"), 0);
    assert_int_equal(outcome(&p, buf_cstr(&longer), T0, NULL), PROXY_BEARER_INVALID_TOKEN);
    buf_cleanup(&longer);

    /* No forged token was a hit, none was stored, the valid one still is. */
    assert_int_equal(metrics_get_bearer_cache(true), 0);
    assert_int_equal(proxy_bearer_cache_count(cache), 1);
    assert_int_equal(outcome(&p, h, T0, NULL), PROXY_BEARER_OK);
    assert_int_equal(metrics_get_bearer_cache(true), 1);
    xfree(h);
}

/* A cached token past its exp is refused as token_expired, as a fresh
 * open refuses it, and its entry is gone. exp itself is still valid
 * (grants: now > exp expires). */
static void
test_expired_cached_token_refused(void **state)
{
    (void)state;
    struct grant_access g = good_grant();
    g.exp = T0 + 10;
    char *h = mint(ring, &g);
    struct proxy_bearer_policy p = policy_for(ring);
    assert_int_equal(outcome(&p, h, T0, NULL), PROXY_BEARER_OK);
    assert_int_equal(outcome(&p, h, T0 + 10, NULL), PROXY_BEARER_OK);
    assert_int_equal(metrics_get_bearer_cache(true), 1);

    struct proxy_bearer_result r;
    assert_int_equal(check_at(&p, h, T0 + 11, &r), PROXY_BEARER_INVALID_TOKEN);
    assert_true(r.has_reason);
    assert_int_equal(r.reason, METRICS_DENIED_TOKEN_EXPIRED);
    assert_string_equal(r.log_event, "token_validation_failed");
    assert_null(r.grant.sub);
    proxy_bearer_result_cleanup(&r);
    assert_int_equal(proxy_bearer_cache_count(cache), 0);
    assert_int_equal(proxy_bearer_cache_bytes(cache), 0);
    /* And again: still refused, still not stored. */
    assert_int_equal(outcome(&p, h, T0 + 12, NULL), PROXY_BEARER_INVALID_TOKEN);
    assert_int_equal(proxy_bearer_cache_count(cache), 0);
    xfree(h);
}

/* What the policy says is checked on every use of a cached token: another
 * mount's resource, another audience, a REVOKE_BEFORE that now covers it. */
static void
test_policy_rechecked_on_every_hit(void **state)
{
    (void)state;
    struct grant_access g = good_grant();
    char *h = mint(ring, &g);
    struct proxy_bearer_policy p = policy_for(ring);
    assert_int_equal(outcome(&p, h, T0, NULL), PROXY_BEARER_OK);
    assert_int_equal(proxy_bearer_cache_count(cache), 1);

    enum metrics_denied reason;
    struct proxy_bearer_policy other_mount = p;
    other_mount.resource = FIXTURE_BASE "/other";
    assert_int_equal(outcome(&other_mount, h, T0, &reason), PROXY_BEARER_INVALID_TOKEN);
    assert_int_equal(reason, METRICS_DENIED_RESOURCE_MISMATCH);

    struct proxy_bearer_policy other_aud = p;
    other_aud.audience = "https://elsewhere.example";
    assert_int_equal(outcome(&other_aud, h, T0, &reason), PROXY_BEARER_INVALID_TOKEN);
    assert_int_equal(reason, METRICS_DENIED_AUDIENCE_MISMATCH);

    struct proxy_bearer_policy revoked = p;
    revoked.revoke_before_set = true;
    revoked.revoke_before_s = g.iat + 1;
    assert_int_equal(outcome(&revoked, h, T0, &reason), PROXY_BEARER_INVALID_TOKEN);
    assert_int_equal(reason, METRICS_DENIED_TOKEN_REVOKED_IAT_CUTOFF);

    /* All three came from the cache, and the entry still serves its mount. */
    assert_int_equal(metrics_get_bearer_cache(true), 3);
    assert_int_equal(outcome(&p, h, T0, NULL), PROXY_BEARER_OK);
    xfree(h);
}

/* A refused token is never stored: wrong resource, revoked, expired,
 * another ring's, garbage. */
static void
test_refused_token_never_cached(void **state)
{
    (void)state;
    struct proxy_bearer_policy p = policy_for(ring);
    struct grant_access wrong_res = good_grant();
    wrong_res.resource = FIXTURE_BASE "/other";
    struct grant_access expired = good_grant();
    expired.exp = T0 - 1;
    struct seal_ring *foreign =
        seal_ring_new(FIXTURE_SECRET_2, strlen(FIXTURE_SECRET_2), NULL, NULL, 0);
    assert_non_null(foreign);
    struct grant_access g = good_grant();
    char *tokens[] = {mint(ring, &wrong_res), mint(ring, &expired), mint(foreign, &g),
                      xstrdup("Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")};
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        for (int twice = 0; twice < 2; twice++) {
            assert_int_equal(outcome(&p, tokens[i], T0, NULL), PROXY_BEARER_INVALID_TOKEN);
        }
        xfree(tokens[i]);
    }
    struct proxy_bearer_policy revoked = p;
    revoked.revoke_before_set = true;
    revoked.revoke_before_s = T0;
    char *h = mint(ring, &g);
    assert_int_equal(outcome(&revoked, h, T0, NULL), PROXY_BEARER_INVALID_TOKEN);
    xfree(h);

    assert_int_equal(proxy_bearer_cache_count(cache), 0);
    assert_int_equal(metrics_get_bearer_cache(true), 0);
    seal_ring_free(foreign);
}

/* A key-ring change: the ring is rebuilt without the key a cached token
 * was sealed with (the secret rotated and the old one retired). Right
 * after, that token is refused as unknown_key -- the cache answers nothing
 * opened under the old ring, even when the new ring sits at the old one's
 * address -- while a ring that still holds the old key as a previous one
 * keeps accepting it. */
static void
test_ring_change_refuses_retired_key(void **state)
{
    (void)state;
    struct grant_access g = good_grant();
    char *h = mint(ring, &g);
    struct proxy_bearer_policy p = policy_for(ring);
    assert_int_equal(outcome(&p, h, T0, NULL), PROXY_BEARER_OK);
    assert_int_equal(outcome(&p, h, T0, NULL), PROXY_BEARER_OK);
    assert_int_equal(metrics_get_bearer_cache(true), 1);

    /* Rotated, old secret kept for opening: still accepted (and opened
     * afresh under the new ring, not answered from the old one's entry). */
    char *previous[] = {(char *)FIXTURE_SECRET};
    size_t previous_lens[] = {strlen(FIXTURE_SECRET)};
    struct seal_ring *rotated =
        seal_ring_new(FIXTURE_SECRET_2, strlen(FIXTURE_SECRET_2), previous, previous_lens, 1);
    assert_non_null(rotated);
    struct proxy_bearer_policy pr = policy_for(rotated);
    assert_int_equal(outcome(&pr, h, T0, NULL), PROXY_BEARER_OK);
    assert_int_equal(metrics_get_bearer_cache(true), 1);
    assert_int_equal(outcome(&pr, h, T0, NULL), PROXY_BEARER_OK);
    assert_int_equal(metrics_get_bearer_cache(true), 2);

    /* Old secret retired: the reload frees the rings and builds one with
     * only the new secret (malloc may well hand it the freed address). */
    seal_ring_free(rotated);
    seal_ring_free(ring);
    ring = seal_ring_new(FIXTURE_SECRET_2, strlen(FIXTURE_SECRET_2), NULL, NULL, 0);
    assert_non_null(ring);
    struct proxy_bearer_policy pn = policy_for(ring);
    struct proxy_bearer_result r;
    assert_int_equal(check_at(&pn, h, T0, &r), PROXY_BEARER_INVALID_TOKEN);
    assert_int_equal(r.reason, METRICS_DENIED_INVALID_TOKEN);
    assert_int_equal(r.seal_rc, SEAL_ERR_UNKNOWN_KEY);
    proxy_bearer_result_cleanup(&r);
    assert_int_equal(metrics_get_bearer_cache(true), 2);
    assert_int_equal(proxy_bearer_cache_count(cache), 0);
    xfree(h);
}

/* Many distinct valid tokens through one cache: the entry count never
 * passes the slots, the bytes never pass the cap (large entries make the
 * byte cap, not the slots, the binding one), and every token is accepted
 * throughout. A grant too large for one entry is accepted but not kept. */
static void
test_churn_stays_bounded(void **state)
{
    (void)state;
    struct proxy_bearer_policy p = policy_for(ring);
    const char *many[60];
    char names[60][48];
    for (size_t i = 0; i < 60; i++) {
        snprintf(names[i], sizeof(names[i]), "group-with-a-long-name-%02zu", i);
        many[i] = names[i];
    }
    size_t max_count = 0;
    size_t max_bytes = 0;
    for (size_t i = 0; i < 3 * BOUNDS_BEARER_CACHE_SLOTS; i++) {
        char tid[32];
        snprintf(tid, sizeof(tid), "tid-%zu", i);
        struct grant_access g = good_grant();
        g.token_id = tid;
        g.groups = many;
        g.group_count = i % 2 == 0 ? 2 : 30; /* ~1 KiB and ~3 KiB entries */
        char *h = mint(ring, &g);
        assert_int_equal(outcome(&p, h, T0, NULL), PROXY_BEARER_OK);
        xfree(h);
        size_t n = proxy_bearer_cache_count(cache);
        size_t b = proxy_bearer_cache_bytes(cache);
        assert_true(n <= BOUNDS_BEARER_CACHE_SLOTS);
        assert_true(b <= BOUNDS_BEARER_CACHE_BYTES);
        max_count = n > max_count ? n : max_count;
        max_bytes = b > max_bytes ? b : max_bytes;
    }
    /* The byte cap was reached (so eviction ran) and entries were kept. */
    assert_true(max_bytes > BOUNDS_BEARER_CACHE_BYTES - BOUNDS_BEARER_CACHE_ENTRY_MAX_BYTES);
    assert_true(max_count > 16);

    size_t before = proxy_bearer_cache_count(cache);
    struct grant_access big = good_grant();
    big.groups = many;
    big.group_count = 60; /* an entry over BOUNDS_BEARER_CACHE_ENTRY_MAX_BYTES */
    char *h = mint(ring, &big);
    assert_int_equal(outcome(&p, h, T0, NULL), PROXY_BEARER_OK);
    assert_int_equal(outcome(&p, h, T0, NULL), PROXY_BEARER_OK);
    assert_true(proxy_bearer_cache_count(cache) <= before);
    xfree(h);
}

/* What one typical entry costs (docs/internals/bearer-cache.md quotes it):
 * the token bytes plus the grant's strings plus a fixed header, well under
 * the per-entry cap. */
static void
test_entry_size_is_token_plus_strings(void **state)
{
    (void)state;
    struct grant_access g = good_grant();
    char *h = mint(ring, &g);
    struct proxy_bearer_policy p = policy_for(ring);
    assert_int_equal(outcome(&p, h, T0, NULL), PROXY_BEARER_OK);
    size_t token_len = strlen(h) - strlen("Bearer ");
    size_t strings = strlen("tid-1") + strlen(FIXTURE_BASE) + strlen(RES) + strlen("mcp:read") +
                     strlen("user-1") + strlen("u1@example.com") + strlen("cid-1") + strlen("mfa") +
                     strlen("admin") + strlen("dev") + 10;
    size_t bytes = proxy_bearer_cache_bytes(cache);
    assert_true(bytes >= token_len + strings + sizeof(struct grant_access));
    assert_true(bytes <=
                token_len + strings + sizeof(struct grant_access) + 64 + 2 * sizeof(char *));
    xfree(h);
}

/* Without a cache (the control loop) nothing is counted or kept. */
static void
test_null_cache_is_plain_check(void **state)
{
    (void)state;
    struct grant_access g = good_grant();
    char *h = mint(ring, &g);
    struct proxy_bearer_policy p = policy_for(ring);
    struct slice v = slice_from_cstr(h);
    for (int i = 0; i < 2; i++) {
        struct proxy_bearer_result r;
        assert_int_equal(proxy_bearer_check_cached(&p, NULL, &v, 1, T0, &r), PROXY_BEARER_OK);
        proxy_bearer_result_cleanup(&r);
    }
    assert_int_equal(metrics_get_bearer_cache(true) + metrics_get_bearer_cache(false), 0);
    xfree(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hit_equals_fresh_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_token_sharing_slot_and_hash_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_expired_cached_token_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_rechecked_on_every_hit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_token_never_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_change_refuses_retired_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_churn_stays_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_size_is_token_plus_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_cache_is_plain_check, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
