/* store/memory and the store.c machinery it runs on: claim-once, expiry on
 * the pinned clock, the refresh-rotation steps of SPEC.md 5.3, the 100 000
 * entry cap (fail closed, overwrites allowed), and the asynchronous contract
 * (never re-entrant, cancel means no callback, free from inside a callback).
 * The event loop is real; nothing is mocked. */
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
on_refresh(enum store_refresh rc, const char *error, void *arg)
{
    struct result *r = arg;
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
    struct result r = { 0 };
    store_claim_once(e->store, slice_from_cstr(key), ttl_ms, on_done, &r);
    assert_int_equal(r.calls, 0);
    drain(e);
    assert_int_equal(r.calls, 1);
    return r.rc;
}

static int
mark(struct env *e, const char *key, uint64_t ttl_ms)
{
    struct result r = { 0 };
    store_mark(e->store, slice_from_cstr(key), ttl_ms, on_done, &r);
    drain(e);
    assert_int_equal(r.calls, 1);
    return r.rc;
}

static int
refresh(struct env *e, const char *fam, const char *tid, int64_t now_ms, uint64_t grace_ms)
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
    };
    struct result r = { 0 };
    store_refresh_claim(e->store, &req, on_refresh, &r);
    buf_cleanup(&fk);
    buf_cleanup(&ck);
    assert_int_equal(r.calls, 0);
    drain(e);
    assert_int_equal(r.calls, 1);
    return r.rc;
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
    /* tid2 was not claimed by the refused call. */
    assert_int_equal(claim(e, "refresh:tid2", 1000), STORE_OK);
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
    assert_int_equal(refresh(e, "famp", "t9", T0_MS + 5001, 5000),
                     STORE_REFRESH_FAMILY_REVOKED);
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
    assert_int_equal(mark(e, "refresh_family_revoked:famm", STORE_FAMILY_REVOKED_TTL_MS),
                     STORE_OK);
    assert_int_equal(refresh(e, "famm", "t2", T0_MS + 1, 0), STORE_REFRESH_FAMILY_REVOKED);
    /* The marker lives 7 days. */
    fixture_pin_clock(7 * 24 * 3600 - 1);
    assert_int_equal(refresh(e, "famm", "t3", T0_MS + 2, 0), STORE_REFRESH_FAMILY_REVOKED);
    fixture_pin_clock(7 * 24 * 3600);
    assert_int_equal(refresh(e, "famm", "t4", T0_MS + 3, 0), STORE_REFRESH_FRESH);
}

static void
test_ping_ok(void **state)
{
    struct env *e = *state;
    struct result r = { 0 };
    store_ping(e->store, on_done, &r);
    assert_int_equal(r.calls, 0);
    drain(e);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.rc, STORE_OK);
    assert_true(store_is_connected(e->store));
}

/* The cap: 100 000 live entries; new keys then fail closed, existing keys
 * can still be overwritten, and once entries expire one sweep frees room. */
static void
test_cap_fails_closed_overwrite_allowed(void **state)
{
    struct env *e = *state;
    static struct result results[BOUNDS_MEMORY_STORE_ENTRIES_MAX];
    char key[64];
    memset(results, 0, sizeof(results));
    for (int i = 0; i < BOUNDS_MEMORY_STORE_ENTRIES_MAX; i++) {
        snprintf(key, sizeof(key), "consent:%d", i);
        store_claim_once(e->store, slice_from_cstr(key), 60000, on_done, &results[i]);
    }
    drain(e);
    for (int i = 0; i < BOUNDS_MEMORY_STORE_ENTRIES_MAX; i++) {
        assert_int_equal(results[i].calls, 1);
        assert_int_equal(results[i].rc, STORE_OK);
    }
    assert_int_equal(store_memory_backend_count(e->backend), BOUNDS_MEMORY_STORE_ENTRIES_MAX);

    struct result r = { 0 };
    store_claim_once(e->store, SLICE_LIT("consent:new"), 60000, on_done, &r);
    drain(e);
    assert_int_equal(r.rc, STORE_ERR_UNAVAILABLE);
    assert_string_equal(r.error, "store full");
    assert_int_equal(mark(e, "refresh_family_revoked:new", 1000), STORE_ERR_UNAVAILABLE);
    assert_int_equal(refresh(e, "famx", "tx", T0_MS, 0), STORE_REFRESH_UNAVAILABLE);
    /* Overwrites and lookups of existing keys still work. */
    assert_int_equal(mark(e, "consent:17", 120000), STORE_OK);
    assert_int_equal(claim(e, "consent:18", 60000), STORE_ERR_ALREADY_USED);
    assert_int_equal(store_memory_backend_count(e->backend), BOUNDS_MEMORY_STORE_ENTRIES_MAX);

    /* All but consent:17 (re-marked for 120 s) expire at t=60 s. */
    fixture_pin_clock(60);
    assert_int_equal(claim(e, "consent:new", 60000), STORE_OK);
    assert_int_equal(store_memory_backend_count(e->backend), 2);
}

static void
test_periodic_sweep_on_insert(void **state)
{
    struct env *e = *state;
    assert_int_equal(claim(e, "consent:a", 1000), STORE_OK);
    assert_int_equal(claim(e, "consent:b", 1000), STORE_OK);
    fixture_pin_clock(10);
    /* Expired but not yet swept (the last sweep was under 30 s ago). */
    assert_int_equal(claim(e, "consent:c", 100000), STORE_OK);
    assert_int_equal(store_memory_backend_count(e->backend), 3);
    fixture_pin_clock(31);
    assert_int_equal(claim(e, "consent:d", 100000), STORE_OK);
    assert_int_equal(store_memory_backend_count(e->backend), 2);
}

static void
test_callbacks_never_reentrant_and_in_order(void **state)
{
    struct env *e = *state;
    struct result a = { 0 }, b = { 0 };
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
    struct result a = { 0 }, b = { 0 };
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
    struct chain c = { .e = e };
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
    struct freeing f = { .store = s };
    struct result later = { 0 };
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
    struct result r = { 0 };
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
    struct result r = { 0 };
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
    struct result r = { 0 };
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
    const char *want[] = { "fresh", "racing", "reused", "family_revoked", "unavailable" };
    for (int i = 0; i < STORE_REFRESH_COUNT; i++) {
        assert_string_equal(store_refresh_str((enum store_refresh)i), want[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_claim_once_then_already_used, setup, teardown),
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
        cmocka_unit_test_setup_teardown(test_refresh_clock_behind_claim_is_racing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_family_marker_after_code_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cap_fails_closed_overwrite_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_periodic_sweep_on_insert, setup, teardown),
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
