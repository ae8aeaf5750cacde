/* store/memory and the store.c machinery it runs on: claim-once, expiry on
 * the pinned clock, the refresh-rotation steps of SPEC.md 5.3 on one record
 * per family, the per-kind shares (a full share fails closed for its kind
 * only, overwrites allowed, expiry frees room), the bytes per record, and
 * the asynchronous contract (never re-entrant, cancel means no callback,
 * free from inside a callback). The event loop is real; nothing is mocked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "base/buf.h"
#include "base/clock.h"
#include "bounds.h"
#include "fixtures.h"
#include "metrics.h"
#include "store/memory.h"
#include "store/store.h"

struct env {
    struct event_base *base;
    struct store_backend *backend;
    struct store *store;
};

/* What one callback saw. */
struct result {
    int calls;
    int rc;
    char error[STORE_ERROR_MAX];
    int64_t claimed_ms;
};

static void
on_done(enum store_rc rc, const char *error, void *arg)
{
    struct result *r = arg;
    r->calls++;
    r->rc = (int)rc;
    snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
}

static void
on_refresh(enum store_refresh rc, int64_t claimed_ms, const char *error, void *arg)
{
    struct result *r = arg;
    r->claimed_ms = claimed_ms;
    r->calls++;
    r->rc = (int)rc;
    snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
}

static int
setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    fixture_pin_clock(0);
    e->base = event_base_new();
    e->backend = store_memory_backend_new("mcp-auth-proxy:");
    e->store = store_new(e->backend, e->base);
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    struct env *e = *state;
    store_free(e->store);
    store_backend_free(e->backend);
    event_base_free(e->base);
    fixture_unpin_clock();
    free(e);
    return 0;
}

/* Runs the loop until nothing is active: every queued callback ran. */
static void
drain(struct env *e)
{
    event_base_dispatch(e->base);
}

static int
claim(struct env *e, const char *key, uint64_t ttl_ms)
{
    struct result r = {0};
    store_claim_once(e->store, slice_from_cstr(key), ttl_ms, on_done, &r);
    assert_int_equal(r.calls, 0);
    drain(e);
    assert_int_equal(r.calls, 1);
    return r.rc;
}

static int
mark(struct env *e, const char *key, uint64_t ttl_ms)
{
    struct result r = {0};
    store_mark(e->store, slice_from_cstr(key), ttl_ms, on_done, &r);
    drain(e);
    assert_int_equal(r.calls, 1);
    return r.rc;
}

/* One rotation check of the token of generation gen in family fam (tid
 * only names the claim key, which the memory store does not keep). */
static int
refresh_gen(struct env *e, const char *fam, const char *tid, uint64_t gen, int64_t now_ms,
            uint64_t grace_ms)
{
    struct buf fk, ck;
    buf_init(&fk, BOUNDS_STORE_KEY_MAX);
    buf_init(&ck, BOUNDS_STORE_KEY_MAX);
    assert_int_equal(store_key_refresh_family_revoked(slice_from_cstr(fam), &fk), 0);
    assert_int_equal(store_key_refresh(slice_from_cstr(tid), &ck), 0);
    struct store_refresh_req req = {
        .family_key = buf_slice(&fk),
        .claim_key = buf_slice(&ck),
        .claim_ttl_ms = 7 * 24 * 3600 * 1000ULL,
        .family_ttl_ms = STORE_FAMILY_REVOKED_TTL_MS,
        .now_ms = now_ms,
        .grace_ms = grace_ms,
        .generation = gen,
    };
    struct result r = {0};
    store_refresh_claim(e->store, &req, on_refresh, &r);
    buf_cleanup(&fk);
    buf_cleanup(&ck);
    assert_int_equal(r.calls, 0);
    drain(e);
    assert_int_equal(r.calls, 1);
    return r.rc;
}

/* The tests below name tokens t1, t2 ... (or tid1 ...): generation n-1. */
static int
refresh(struct env *e, const char *fam, const char *tid, int64_t now_ms, uint64_t grace_ms)
{
    uint64_t n = 0;
    for (const char *p = tid + strcspn(tid, "0123456789"); *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (uint64_t)(*p - '0');
    }
    return refresh_gen(e, fam, tid, n > 0 ? n - 1 : 0, now_ms, grace_ms);
}

static const int64_t T0_MS = (int64_t)FIXTURE_NOW * 1000;

static void
test_claim_once_then_already_used(void **state)
{
    struct env *e = *state;
    assert_int_equal(claim(e, "authz_code:t1", 60000), STORE_OK);
    assert_int_equal(claim(e, "authz_code:t1", 60000), STORE_ERR_ALREADY_USED);
    assert_int_equal(claim(e, "authz_code:t1", 60000), STORE_ERR_ALREADY_USED);
}

/* A client assertion's jti (oauth/client_assertion.h) is single-use in
 * the memory store too: a replayed assertion is refused. */
static void
test_client_assertion_jti_single_use(void **state)
{
    struct env *e = *state;
    const char *k = "client_assertion:0123456789abcdefghijABCDEFGHIJ0123456789abc";
    assert_int_equal(claim(e, k, 60000), STORE_OK);
    assert_int_equal(claim(e, k, 60000), STORE_ERR_ALREADY_USED);
    assert_int_equal(claim(e, "client_assertion:other", 60000), STORE_OK);
}

static void
test_keys_are_independent(void **state)
{
    struct env *e = *state;
    assert_int_equal(claim(e, "consent:a", 60000), STORE_OK);
    assert_int_equal(claim(e, "consent:b", 60000), STORE_OK);
    assert_int_equal(claim(e, "callback_state:a", 60000), STORE_OK);
    assert_int_equal(claim(e, "consent:a", 60000), STORE_ERR_ALREADY_USED);
}

static void
test_expiry_allows_reclaim(void **state)
{
    struct env *e = *state;
    assert_int_equal(claim(e, "consent:x", 2000), STORE_OK);
    fixture_pin_clock(1);
    assert_int_equal(claim(e, "consent:x", 2000), STORE_ERR_ALREADY_USED);
    fixture_pin_clock(2); /* exactly at expiry: gone, as with Redis PX */
    assert_int_equal(claim(e, "consent:x", 2000), STORE_OK);
    assert_int_equal(claim(e, "consent:x", 2000), STORE_ERR_ALREADY_USED);
}

static void
test_zero_ttl_is_one_ms(void **state)
{
    struct env *e = *state;
    assert_int_equal(claim(e, "consent:z", 0), STORE_OK);
    assert_int_equal(claim(e, "consent:z", 0), STORE_ERR_ALREADY_USED);
    fixture_pin_clock(1);
    assert_int_equal(claim(e, "consent:z", 0), STORE_OK);
}

static void
test_mark_overwrites_and_blocks_claim(void **state)
{
    struct env *e = *state;
    assert_int_equal(mark(e, "refresh_family_revoked:f", 1000), STORE_OK);
    assert_int_equal(mark(e, "refresh_family_revoked:f", 5000), STORE_OK);
    fixture_pin_clock(2); /* the second mark's TTL counts, not the first's */
    assert_int_equal(claim(e, "refresh_family_revoked:f", 1000), STORE_ERR_ALREADY_USED);
}

static void
test_refresh_strict_sequence(void **state)
{
    struct env *e = *state;
    /* Fresh, then the same token again (grace 0) is reuse and revokes the
     * family; a rotated descendant is then refused without being claimed. */
    assert_int_equal(refresh(e, "fam1", "tid1", T0_MS, 0), STORE_REFRESH_FRESH);
    assert_int_equal(refresh(e, "fam1", "tid1", T0_MS + 10, 0), STORE_REFRESH_REUSED);
    assert_int_equal(refresh(e, "fam1", "tid2", T0_MS + 20, 0), STORE_REFRESH_FAMILY_REVOKED);
    assert_int_equal(refresh(e, "fam1", "tid2", T0_MS + 30, 0), STORE_REFRESH_FAMILY_REVOKED);
    /* Another family is untouched. */
    assert_int_equal(refresh(e, "fam2", "tid3", T0_MS + 30, 0), STORE_REFRESH_FRESH);
}

static void
test_refresh_racing_within_grace_keeps_family(void **state)
{
    struct env *e = *state;
    assert_int_equal(refresh(e, "famr", "t1", T0_MS, 5000), STORE_REFRESH_FRESH);
    assert_int_equal(refresh(e, "famr", "t1", T0_MS + 4999, 5000), STORE_REFRESH_RACING);
    /* Racing wrote nothing: the family still rotates. */
    assert_int_equal(refresh(e, "famr", "t2", T0_MS + 5000, 5000), STORE_REFRESH_FRESH);
    assert_int_equal(claim(e, "refresh_family_revoked:famr", 1000), STORE_OK);
}

static void
test_refresh_past_grace_revokes(void **state)
{
    struct env *e = *state;
    assert_int_equal(refresh(e, "famp", "t1", T0_MS, 5000), STORE_REFRESH_FRESH);
    /* now − claim time == grace is no longer "less than grace". */
    assert_int_equal(refresh(e, "famp", "t1", T0_MS + 5000, 5000), STORE_REFRESH_REUSED);
    assert_int_equal(refresh(e, "famp", "t9", T0_MS + 5001, 5000), STORE_REFRESH_FAMILY_REVOKED);
    assert_int_equal(claim(e, "refresh_family_revoked:famp", 1000), STORE_ERR_ALREADY_USED);
}

static void
test_refresh_grace_zero_every_collision_is_reuse(void **state)
{
    struct env *e = *state;
    assert_int_equal(refresh(e, "famz", "t1", T0_MS, 0), STORE_REFRESH_FRESH);
    assert_int_equal(refresh(e, "famz", "t1", T0_MS, 0), STORE_REFRESH_REUSED);
}

static void
test_refresh_clock_behind_claim_is_racing(void **state)
{
    struct env *e = *state;
    /* A replica whose clock is behind sees a negative age: less than grace,
     * so racing -- what the Lua script does with the same numbers. */
    assert_int_equal(refresh(e, "famc", "t1", T0_MS + 3000, 5000), STORE_REFRESH_FRESH);
    assert_int_equal(refresh(e, "famc", "t1", T0_MS, 5000), STORE_REFRESH_RACING);
}

static void
test_family_marker_after_code_replay(void **state)
{
    struct env *e = *state;
    /* The code-replay path revokes with a plain mark (SPEC.md 3.8 step 11). */
    assert_int_equal(refresh(e, "famm", "t1", T0_MS, 0), STORE_REFRESH_FRESH);
    assert_int_equal(mark(e, "refresh_family_revoked:famm", STORE_FAMILY_REVOKED_TTL_MS), STORE_OK);
    assert_int_equal(refresh(e, "famm", "t2", T0_MS + 1, 0), STORE_REFRESH_FAMILY_REVOKED);
    /* The marker lives 7 days. */
    fixture_pin_clock(7 * 24 * 3600 - 1);
    assert_int_equal(refresh(e, "famm", "t3", T0_MS + 2, 0), STORE_REFRESH_FAMILY_REVOKED);
    fixture_pin_clock(7 * 24 * 3600);
    assert_int_equal(refresh(e, "famm", "t4", T0_MS + 3, 0), STORE_REFRESH_FRESH);
}

/* A long rotation chain: each generation is fresh once; any older one is
 * reuse (judged by the newest claim's time, never earlier than its own). */
static void
test_refresh_generations(void **state)
{
    struct env *e = *state;
    for (uint64_t g = 0; g < 50; g++) {
        assert_int_equal(refresh_gen(e, "chain", "t", g, T0_MS + (int64_t)g * 60000, 5000),
                         STORE_REFRESH_FRESH);
    }
    int64_t last = T0_MS + 49 * 60000;
    /* The token just claimed, and an older one, within grace of the newest
     * claim: racing, family untouched. */
    assert_int_equal(refresh_gen(e, "chain", "t", 49, last + 100, 5000), STORE_REFRESH_RACING);
    assert_int_equal(refresh_gen(e, "chain", "t", 48, last + 100, 5000), STORE_REFRESH_RACING);
    assert_int_equal(refresh_gen(e, "chain", "t", 50, last + 200, 5000), STORE_REFRESH_FRESH);
    /* A stolen older token past grace: reuse, the whole family revoked --
     * the newest token (51, never claimed) included. */
    assert_int_equal(refresh_gen(e, "chain", "t", 3, last + 60000, 5000), STORE_REFRESH_REUSED);
    assert_int_equal(refresh_gen(e, "chain", "t", 51, last + 60001, 5000),
                     STORE_REFRESH_FAMILY_REVOKED);
    assert_int_equal(store_memory_backend_count(e->backend), 1);
}

/* The case: on the old 100 000-entry table the 100 001st refresh of
 * a week was refused (every claim lived 7 days). Here 1 000 users rotate
 * every 100 minutes for a week, 101 000 refreshes, on the default limits:
 * every one is fresh and the store holds one record per family. */
static void
test_refresh_a_week_of_rotations(void **state)
{
    struct env *e = *state;
    char fam[32];
    const int families = 1000;
    const int rounds = 101;
    for (int r = 0; r < rounds; r++) {
        int64_t now_s = (int64_t)r * 100 * 60;
        fixture_pin_clock(now_s);
        for (int f = 0; f < families; f++) {
            snprintf(fam, sizeof(fam), "fam-%d", f);
            struct buf fk;
            buf_init(&fk, BOUNDS_STORE_KEY_MAX);
            assert_int_equal(store_key_refresh_family_revoked(slice_from_cstr(fam), &fk), 0);
            struct store_refresh_req req = {
                .family_key = buf_slice(&fk),
                .claim_key = SLICE_LIT("refresh:x"),
                .claim_ttl_ms = 7 * 24 * 3600 * 1000ULL,
                .family_ttl_ms = STORE_FAMILY_REVOKED_TTL_MS,
                .now_ms = T0_MS + now_s * 1000,
                .grace_ms = 2000,
                .generation = (uint64_t)r,
            };
            static struct result res[1000];
            memset(&res[f], 0, sizeof(res[f]));
            store_refresh_claim(e->store, &req, on_refresh, &res[f]);
            buf_cleanup(&fk);
            if (f == families - 1) {
                drain(e);
                for (int i = 0; i < families; i++) {
                    assert_int_equal(res[i].calls, 1);
                    assert_int_equal(res[i].rc, STORE_REFRESH_FRESH);
                }
            }
        }
    }
    assert_int_equal(store_memory_backend_count(e->backend), families);
    /* 101 000 refreshes in 7 days. */
    assert_true((int64_t)(rounds - 1) * 100 * 60 <= 7 * 24 * 3600);
    assert_true(families * rounds > 100000);
}

static void
test_ping_ok(void **state)
{
    struct env *e = *state;
    struct result r = {0};
    store_ping(e->store, on_done, &r);
    assert_int_equal(r.calls, 0);
    drain(e);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.rc, STORE_OK);
    assert_true(store_is_connected(e->store));
}

/* Small shares so a test can fill them. */
static struct store_backend *
small_backend(size_t each)
{
    struct store_memory_limits lim = {
        .consent = each,
        .callback_state = each,
        .authz_code = each,
        .refresh_family = each,
    };
    return store_memory_backend_new_limited("mcp-auth-proxy:", &lim);
}

static void
swap_backend(struct env *e, struct store_backend *b)
{
    store_free(e->store);
    store_backend_free(e->backend);
    e->backend = b;
    e->store = store_new(b, e->base);
}

static void
fill(struct env *e, const char *ns, int n, uint64_t ttl_ms)
{
    static struct result results[5000];
    char key[64];
    assert_true(n <= 5000);
    for (int i = 0; i < n; i++) {
        memset(&results[i], 0, sizeof(results[i]));
        snprintf(key, sizeof(key), "%s:%d", ns, i);
        store_claim_once(e->store, slice_from_cstr(key), ttl_ms, on_done, &results[i]);
    }
    drain(e);
    for (int i = 0; i < n; i++) {
        assert_int_equal(results[i].calls, 1);
        assert_int_equal(results[i].rc, STORE_OK);
    }
}

/* A full share fails closed for its own kind; existing keys can still be
 * overwritten and looked up; once entries expire the share has room again. */
static void
test_cap_fails_closed_overwrite_allowed(void **state)
{
    struct env *e = *state;
    swap_backend(e, small_backend(1000));
    fill(e, "consent", 1000, 60000);
    assert_int_equal(store_memory_backend_count(e->backend), 1000);

    uint64_t full0 = metrics_get_store_full(METRICS_STORE_SHARE_CONSENT);
    struct result r = {0};
    store_claim_once(e->store, SLICE_LIT("consent:new"), 60000, on_done, &r);
    drain(e);
    assert_int_equal(r.rc, STORE_ERR_UNAVAILABLE);
    assert_string_equal(r.error, "store full: consent");
    assert_int_equal(metrics_get_store_full(METRICS_STORE_SHARE_CONSENT), full0 + 1);
    assert_int_equal(mark(e, "consent:new2", 1000), STORE_ERR_UNAVAILABLE);
    /* Overwrites and lookups of existing keys still work. */
    assert_int_equal(mark(e, "consent:17", 120000), STORE_OK);
    assert_int_equal(claim(e, "consent:18", 60000), STORE_ERR_ALREADY_USED);
    assert_int_equal(store_memory_backend_count(e->backend), 1000);

    /* All but consent:17 (re-marked for 120 s) expire at t=60 s. */
    fixture_pin_clock(60);
    assert_int_equal(claim(e, "consent:new", 60000), STORE_OK);
    assert_int_equal(store_memory_backend_count(e->backend), 2);
    assert_int_equal(claim(e, "consent:17", 60000), STORE_ERR_ALREADY_USED);
}

/* Anonymous flows fill consent, callback state and code shares; refresh
 * rotation (and every other kind) keeps working. */
static void
test_full_shares_do_not_starve_others(void **state)
{
    struct env *e = *state;
    swap_backend(e, small_backend(500));
    fill(e, "consent", 500, 300000);
    fill(e, "callback_state", 500, 600000);
    assert_int_equal(claim(e, "consent:x", 1000), STORE_ERR_UNAVAILABLE);
    assert_int_equal(claim(e, "callback_state:x", 1000), STORE_ERR_UNAVAILABLE);
    assert_int_equal(claim(e, "authz_code:x", 1000), STORE_OK);
    assert_int_equal(refresh(e, "famq", "t1", T0_MS, 0), STORE_REFRESH_FRESH);
    assert_int_equal(mark(e, "refresh_family_revoked:code-replayed", 1000), STORE_OK);
    fill(e, "authz_code", 499, 60000); /* authz_code:0..498; x makes 500 */
    assert_int_equal(claim(e, "authz_code:y", 1000), STORE_ERR_UNAVAILABLE);
    assert_int_equal(refresh(e, "famq", "t2", T0_MS + 1, 0), STORE_REFRESH_FRESH);

    /* And the refresh share full: only refreshes of new families fail;
     * families already held rotate on. */
    char fam[32];
    for (int i = 2; i < 500; i++) {
        snprintf(fam, sizeof(fam), "f%d", i);
        assert_int_equal(refresh(e, fam, "t1", T0_MS, 0), STORE_REFRESH_FRESH);
    }
    uint64_t full0 = metrics_get_store_full(METRICS_STORE_SHARE_REFRESH_FAMILY);
    struct result r = {0};
    struct store_refresh_req req = {
        .family_key = SLICE_LIT("refresh_family_revoked:new"),
        .claim_key = SLICE_LIT("refresh:new"),
        .claim_ttl_ms = 1000,
        .family_ttl_ms = 1000,
        .now_ms = T0_MS,
    };
    store_refresh_claim(e->store, &req, on_refresh, &r);
    drain(e);
    assert_int_equal(r.rc, STORE_REFRESH_UNAVAILABLE);
    assert_string_equal(r.error, "store full: refresh_family");
    assert_int_equal(metrics_get_store_full(METRICS_STORE_SHARE_REFRESH_FAMILY), full0 + 1);
    assert_int_equal(refresh(e, "famq", "t3", T0_MS + 2, 0), STORE_REFRESH_FRESH);
    assert_int_equal(claim(e, "consent:x", 1000), STORE_ERR_UNAVAILABLE);
    /* Code-replay revocation of a held family still lands. */
    assert_int_equal(mark(e, "refresh_family_revoked:famq", STORE_FAMILY_REVOKED_TTL_MS), STORE_OK);
    assert_int_equal(refresh(e, "famq", "t4", T0_MS + 3, 0), STORE_REFRESH_FAMILY_REVOKED);
}

/* Keys the memory store keeps no share for fail closed (nothing in the
 * proxy sends them). */
static void
test_unkept_keys_fail_closed(void **state)
{
    struct env *e = *state;
    struct result r = {0};
    store_claim_once(e->store, SLICE_LIT("refresh:tid1"), 1000, on_done, &r);
    drain(e);
    assert_int_equal(r.rc, STORE_ERR_UNAVAILABLE);
    assert_string_equal(r.error, "key kind not kept by the memory store");
    assert_int_equal(mark(e, "other:thing", 1000), STORE_ERR_UNAVAILABLE);
    assert_int_equal(claim(e, "consent", 1000), STORE_ERR_UNAVAILABLE); /* no ':' */
    struct store_refresh_req req = {
        .family_key = SLICE_LIT("consent:f"),
        .claim_key = SLICE_LIT("refresh:x"),
        .claim_ttl_ms = 1000,
        .family_ttl_ms = 1000,
        .now_ms = T0_MS,
    };
    memset(&r, 0, sizeof(r));
    store_refresh_claim(e->store, &req, on_refresh, &r);
    drain(e);
    assert_int_equal(r.rc, STORE_REFRESH_UNAVAILABLE);
}

/* Expired records are reclaimed before a share grows, so a steady flow of
 * short-lived claims does not grow the table without end. */
static void
test_expired_reclaimed_before_growth(void **state)
{
    struct env *e = *state;
    swap_backend(e, small_backend(4000));
    size_t bytes0 = store_memory_backend_bytes(e->backend);
    for (int round = 0; round < 20; round++) {
        fixture_pin_clock(round * 10);
        char key[64];
        for (int i = 0; i < 40; i++) {
            snprintf(key, sizeof(key), "authz_code:%d-%d", round, i);
            assert_int_equal(claim(e, key, 5000), STORE_OK);
        }
    }
    /* 800 claims in all, never more than 40 alive: the table stayed at its
     * first size (64 slots) or one doubling. */
    assert_true(store_memory_backend_bytes(e->backend) <= bytes0 + 64 * 24);
    assert_true(store_memory_backend_count(e->backend) <= 80);
}

/* Bytes per record, measured with the size accessor (slot arrays as
 * allocated): at a full share at most 4/3 slot per record, 24-byte claim
 * slots and 40-byte family slots. */
static void
test_memory_per_entry_bounded(void **state)
{
    struct env *e = *state;
    const int n = 3000;
    swap_backend(e, small_backend((size_t)n));
    size_t bytes0 = store_memory_backend_bytes(e->backend);
    fill(e, "consent", n, 60000);
    size_t claim_bytes = store_memory_backend_bytes(e->backend) - bytes0;
    assert_true(claim_bytes <= (size_t)n * 33);
    char fam[32];
    size_t before = store_memory_backend_bytes(e->backend);
    for (int i = 0; i < n; i++) {
        snprintf(fam, sizeof(fam), "fam-%d", i);
        assert_int_equal(refresh(e, fam, "t1", T0_MS, 0), STORE_REFRESH_FRESH);
    }
    size_t family_bytes = store_memory_backend_bytes(e->backend) - before;
    assert_true(family_bytes <= (size_t)n * 65);
    /* So the default refresh share, 1 000 000 families, is at most 65 MB,
     * and the three claim shares 3.3 MB each. */
    struct store_memory_limits d = store_memory_default_limits();
    assert_int_equal(d.refresh_family, 1000000);
    assert_int_equal(d.consent, 100000);
    assert_int_equal(d.callback_state, 100000);
    assert_int_equal(d.authz_code, 100000);
}

static void
test_callbacks_never_reentrant_and_in_order(void **state)
{
    struct env *e = *state;
    struct result a = {0}, b = {0};
    store_claim_once(e->store, SLICE_LIT("consent:r"), 1000, on_done, &a);
    store_claim_once(e->store, SLICE_LIT("consent:r"), 1000, on_done, &b);
    /* The memory store decided both at once, but told nobody yet. */
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 0);
    drain(e);
    assert_int_equal(a.rc, STORE_OK);
    assert_int_equal(b.rc, STORE_ERR_ALREADY_USED);
}

static void
test_cancel_means_no_callback_but_effect_stands(void **state)
{
    struct env *e = *state;
    struct result a = {0}, b = {0};
    struct store_op *op = store_claim_once(e->store, SLICE_LIT("consent:c"), 1000, on_done, &a);
    store_claim_once(e->store, SLICE_LIT("consent:d"), 1000, on_done, &b);
    store_cancel(op);
    store_cancel(NULL);
    drain(e);
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 1);
    /* Cancel suppresses the answer, not the claim. */
    assert_int_equal(claim(e, "consent:c", 1000), STORE_ERR_ALREADY_USED);
}

struct chain {
    struct env *e;
    struct result inner;
    int outer_calls;
    bool inner_seen_during_outer;
};

static void
on_outer(enum store_rc rc, const char *error, void *arg)
{
    struct chain *c = arg;
    (void)rc;
    (void)error;
    c->outer_calls++;
    store_claim_once(c->e->store, SLICE_LIT("consent:inner"), 1000, on_done, &c->inner);
    c->inner_seen_during_outer = c->inner.calls != 0;
}

static void
test_operation_started_in_callback_is_deferred(void **state)
{
    struct env *e = *state;
    struct chain c = {.e = e};
    store_claim_once(e->store, SLICE_LIT("consent:outer"), 1000, on_outer, &c);
    drain(e);
    assert_int_equal(c.outer_calls, 1);
    assert_false(c.inner_seen_during_outer);
    assert_int_equal(c.inner.calls, 1);
    assert_int_equal(c.inner.rc, STORE_OK);
}

struct freeing {
    struct store *store;
    int calls;
};

static void
on_free_store(enum store_rc rc, const char *error, void *arg)
{
    struct freeing *f = arg;
    (void)rc;
    (void)error;
    f->calls++;
    store_free(f->store);
}

static void
test_free_store_inside_callback(void **state)
{
    struct env *e = *state;
    struct store *s = store_new(e->backend, e->base);
    struct freeing f = {.store = s};
    struct result later = {0};
    store_claim_once(s, SLICE_LIT("consent:f1"), 1000, on_free_store, &f);
    store_claim_once(s, SLICE_LIT("consent:f2"), 1000, on_done, &later);
    drain(e);
    assert_int_equal(f.calls, 1);
    /* Freeing the store cancelled the second answer (LeakSanitizer checks
     * that its handle was released). */
    assert_int_equal(later.calls, 0);
}

static void
test_stores_share_one_table(void **state)
{
    struct env *e = *state;
    /* Two workers, two loops, one process-wide table. */
    struct event_base *other_base = event_base_new();
    struct store *other = store_new(e->backend, other_base);
    assert_int_equal(claim(e, "authz_code:shared", 1000), STORE_OK);
    struct result r = {0};
    store_claim_once(other, SLICE_LIT("authz_code:shared"), 1000, on_done, &r);
    event_base_dispatch(other_base);
    assert_int_equal(r.rc, STORE_ERR_ALREADY_USED);
    store_free(other);
    event_base_free(other_base);
}

static void
test_prefix_isolates_backends(void **state)
{
    struct env *e = *state;
    /* Separate back ends are separate tables whatever the prefix. */
    assert_int_equal(claim(e, "consent:p", 1000), STORE_OK);
    struct store_backend *b2 = store_memory_backend_new("");
    struct store *s2 = store_new(b2, e->base);
    struct result r = {0};
    store_claim_once(s2, SLICE_LIT("consent:p"), 1000, on_done, &r);
    drain(e);
    assert_int_equal(r.rc, STORE_OK);
    store_free(s2);
    store_backend_free(b2);
    assert_string_equal(store_backend_name(e->backend), "memory");
}

static void
test_invalid_keys_fail_closed(void **state)
{
    struct env *e = *state;
    struct result r = {0};
    store_claim_once(e->store, SLICE_NULL, 1000, on_done, &r);
    drain(e);
    assert_int_equal(r.rc, STORE_ERR_UNAVAILABLE);
    assert_string_equal(r.error, "invalid key");
    char big[BOUNDS_STORE_KEY_MAX + 2];
    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memset(&r, 0, sizeof(r));
    store_mark(e->store, slice_from_cstr(big), 1000, on_done, &r);
    drain(e);
    assert_int_equal(r.rc, STORE_ERR_UNAVAILABLE);
}

static void
test_key_builders(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, BOUNDS_STORE_KEY_MAX);
    assert_int_equal(store_key_authz_code(SLICE_LIT("t1"), &b), 0);
    assert_string_equal(buf_cstr(&b), "authz_code:t1");
    buf_reset(&b);
    assert_int_equal(store_key_refresh_family_revoked(SLICE_LIT("f1"), &b), 0);
    assert_string_equal(buf_cstr(&b), "refresh_family_revoked:f1");
    buf_reset(&b);
    assert_int_equal(store_key_refresh(SLICE_LIT("r1"), &b), 0);
    assert_string_equal(buf_cstr(&b), "refresh:r1");
    buf_reset(&b);
    assert_int_equal(store_key_consent(SLICE_LIT("j1"), &b), 0);
    assert_string_equal(buf_cstr(&b), "consent:j1");
    buf_reset(&b);
    assert_int_equal(store_key_callback_state(SLICE_LIT("s1"), &b), 0);
    assert_string_equal(buf_cstr(&b), "callback_state:s1");
    buf_reset(&b);
    assert_int_equal(store_key_client_assertion(SLICE_LIT("h1"), &b), 0);
    assert_string_equal(buf_cstr(&b), "client_assertion:h1");
    buf_reset(&b);
    assert_int_equal(store_key_consent(SLICE_NULL, &b), -1);
    char big[BOUNDS_STORE_KEY_MAX];
    memset(big, 'x', sizeof(big));
    /* "consent:" is 8 bytes: 504 more fill the cap exactly; 505 pass it. */
    assert_int_equal(store_key_consent(slice_make(big, sizeof(big) - 7), &b), -1);
    assert_int_equal(b.len, 0);
    assert_int_equal(store_key_consent(slice_make(big, sizeof(big) - 8), &b), 0);
    assert_int_equal(b.len, BOUNDS_STORE_KEY_MAX);
    buf_cleanup(&b);
    assert_string_equal(STORE_KEY_READYZ_PROBE, "__readyz_probe__");
}

static void
test_ttl_until(void **state)
{
    (void)state;
    assert_int_equal(store_ttl_ms_until(1060, 1000), 60000);
    assert_int_equal(store_ttl_ms_until(1001, 1000), 1000);
    assert_int_equal(store_ttl_ms_until(1000, 1000), 1000);
    assert_int_equal(store_ttl_ms_until(900, 1000), 1000);
    assert_int_equal(STORE_FAMILY_REVOKED_TTL_MS, 604800000ULL);
}

static void
test_string_tables(void **state)
{
    (void)state;
    assert_string_equal(store_rc_str(STORE_OK), "ok");
    assert_string_equal(store_rc_str(STORE_ERR_ALREADY_USED), "already_used");
    assert_string_equal(store_rc_str(STORE_ERR_UNAVAILABLE), "unavailable");
    assert_string_equal(store_rc_str(STORE_RC_COUNT), "unknown");
    const char *want[] = {"fresh", "racing", "reused", "family_revoked", "unavailable", "retry"};
    for (int i = 0; i < STORE_REFRESH_COUNT; i++) {
        assert_string_equal(store_refresh_str((enum store_refresh)i), want[i]);
    }
}

/* A claim with REFRESH_RETRY_GRACE (and a race grace of 2 s): the outcome,
 * and in *claimed the claim time the callback reported. */
static int
refresh_retry(struct env *e, const char *fam, uint64_t gen, int64_t now_ms, uint64_t retry_ms,
              int64_t *claimed)
{
    struct buf fk, ck;
    buf_init(&fk, BOUNDS_STORE_KEY_MAX);
    buf_init(&ck, BOUNDS_STORE_KEY_MAX);
    assert_int_equal(store_key_refresh_family_revoked(slice_from_cstr(fam), &fk), 0);
    assert_int_equal(store_key_refresh(slice_from_cstr("t"), &ck), 0);
    struct store_refresh_req req = {
        .family_key = buf_slice(&fk),
        .claim_key = buf_slice(&ck),
        .claim_ttl_ms = 7 * 24 * 3600 * 1000ULL,
        .family_ttl_ms = STORE_FAMILY_REVOKED_TTL_MS,
        .now_ms = now_ms,
        .grace_ms = 2000,
        .retry_grace_ms = retry_ms,
        .generation = gen,
    };
    struct result r = {0};
    store_refresh_claim(e->store, &req, on_refresh, &r);
    buf_cleanup(&fk);
    buf_cleanup(&ck);
    drain(e);
    assert_int_equal(r.calls, 1);
    *claimed = r.claimed_ms;
    return r.rc;
}

/* docs/internals/rotation.md: a retry of either of the newest two tokens
 * inside the retry grace answers RETRY with that token's own claim time
 * (what Redis's per-token key gives); past it, or for an older token, the
 * old outcomes. */
static void
test_refresh_retry_reports_own_claim_time(void **state)
{
    struct env *e = *state;
    int64_t c = 0;
    assert_int_equal(refresh_retry(e, "fr", 0, T0_MS, 60000, &c), STORE_REFRESH_FRESH);
    assert_int_equal(c, T0_MS);
    assert_int_equal(refresh_retry(e, "fr", 0, T0_MS + 500, 60000, &c), STORE_REFRESH_RETRY);
    assert_int_equal(c, T0_MS);
    assert_int_equal(refresh_retry(e, "fr", 0, T0_MS + 10000, 60000, &c), STORE_REFRESH_RETRY);
    assert_int_equal(c, T0_MS);
    /* The successor rotates; the first token's retry still gets its own time. */
    assert_int_equal(refresh_retry(e, "fr", 1, T0_MS + 20000, 60000, &c), STORE_REFRESH_FRESH);
    assert_int_equal(c, T0_MS + 20000);
    assert_int_equal(refresh_retry(e, "fr", 0, T0_MS + 30000, 60000, &c), STORE_REFRESH_RETRY);
    assert_int_equal(c, T0_MS);
    assert_int_equal(refresh_retry(e, "fr", 1, T0_MS + 30000, 60000, &c), STORE_REFRESH_RETRY);
    assert_int_equal(c, T0_MS + 20000);
    /* Retry grace 0: the 2 s race window and reuse, as before. */
    assert_int_equal(refresh_retry(e, "fr", 1, T0_MS + 21000, 0, &c), STORE_REFRESH_RACING);
    /* Past the grace: reuse revokes the family. */
    assert_int_equal(refresh_retry(e, "fr", 0, T0_MS + 60000, 60000, &c), STORE_REFRESH_REUSED);
    assert_int_equal(refresh_retry(e, "fr", 1, T0_MS + 60001, 60000, &c),
                     STORE_REFRESH_FAMILY_REVOKED);
    /* Two generations back is never a retry. */
    assert_int_equal(refresh_retry(e, "g", 0, T0_MS, 60000, &c), STORE_REFRESH_FRESH);
    assert_int_equal(refresh_retry(e, "g", 1, T0_MS + 1, 60000, &c), STORE_REFRESH_FRESH);
    assert_int_equal(refresh_retry(e, "g", 2, T0_MS + 2, 60000, &c), STORE_REFRESH_FRESH);
    assert_int_equal(refresh_retry(e, "g", 0, T0_MS + 5000, 60000, &c), STORE_REFRESH_REUSED);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_claim_once_then_already_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_assertion_jti_single_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_are_independent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_allows_reclaim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_ttl_is_one_ms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mark_overwrites_and_blocks_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_strict_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_racing_within_grace_keeps_family, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refresh_past_grace_revokes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_grace_zero_every_collision_is_reuse, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refresh_clock_behind_claim_is_racing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_family_marker_after_code_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cap_fails_closed_overwrite_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_shares_do_not_starve_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unkept_keys_fail_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_reclaimed_before_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_per_entry_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_generations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_a_week_of_rotations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callbacks_never_reentrant_and_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cancel_means_no_callback_but_effect_stands, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_operation_started_in_callback_is_deferred, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_free_store_inside_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stores_share_one_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefix_isolates_backends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_keys_fail_closed, setup, teardown),
        cmocka_unit_test(test_key_builders),
        cmocka_unit_test(test_ttl_until),
        cmocka_unit_test(test_string_tables),
        cmocka_unit_test_setup_teardown(test_refresh_retry_reports_own_claim_time, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
