/* store/store: the names keys are stored under. Outside cluster mode they
 * are the prefix and the key, as before; in cluster mode the two keys of
 * the refresh-rotation script carry the family id as a hash tag, so Redis
 * puts them in one slot (checked with the slot function Redis uses), the
 * family marker is named the same by the script and by a mark, and every
 * other key keeps its plain name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "bounds.h"
#include "store/redis_slot.h"
#include "store/store.h"
#include "store/store_int.h"

static struct store_backend
backend(bool hash_tags)
{
    return (struct store_backend){.prefix = "mcp:", .prefix_len = 4, .hash_tags = hash_tags};
}

struct names {
    bool ok;
    char key[1200];
    char claim[1200];
};

static struct names
names_of(bool hash_tags, enum store_op_kind kind, const char *key, const char *claim)
{
    struct store_backend b = backend(hash_tags);
    struct buf k1, k2;
    buf_init(&k1, 1100);
    buf_init(&k2, 1100);
    struct names n = {0};
    n.ok = store_key_names(&b, kind, slice_from_cstr(key), slice_from_cstr(claim), &k1, &k2);
    snprintf(n.key, sizeof(n.key), "%s", k1.len ? buf_cstr(&k1) : "");
    snprintf(n.claim, sizeof(n.claim), "%s", k2.len ? buf_cstr(&k2) : "");
    buf_cleanup(&k1);
    buf_cleanup(&k2);
    return n;
}

static void
test_plain_names_unchanged(void **state)
{
    (void)state;
    struct names n =
        names_of(false, STORE_OP_REFRESH_CLAIM, "refresh_family_revoked:F1", "refresh:T1");
    assert_true(n.ok);
    assert_string_equal(n.key, "mcp:refresh_family_revoked:F1");
    assert_string_equal(n.claim, "mcp:refresh:T1");
    n = names_of(false, STORE_OP_MARK, "refresh_family_revoked:F1", "");
    assert_true(n.ok);
    assert_string_equal(n.key, "mcp:refresh_family_revoked:F1");
    n = names_of(false, STORE_OP_CLAIM_ONCE, "authz_code:C1", "");
    assert_true(n.ok);
    assert_string_equal(n.key, "mcp:authz_code:C1");
    assert_string_equal(n.claim, "");
    /* Outside cluster mode a refresh request is not checked for shape. */
    n = names_of(false, STORE_OP_REFRESH_CLAIM, "consent:x", "refresh:T1");
    assert_true(n.ok);
}

static void
test_cluster_script_keys_share_a_slot(void **state)
{
    (void)state;
    struct names n =
        names_of(true, STORE_OP_REFRESH_CLAIM, "refresh_family_revoked:F1", "refresh:T1");
    assert_true(n.ok);
    assert_string_equal(n.key, "mcp:{F1}refresh_family_revoked:F1");
    assert_string_equal(n.claim, "mcp:{F1}refresh:T1");

    /* Many families: each family's two keys share a slot, the families
     * spread over the slots (so over the primaries), and the marker a
     * code replay writes (store_mark) is the very key the script reads. */
    static bool seen[STORE_REDIS_SLOT_COUNT];
    size_t distinct = 0;
    for (int i = 0; i < 2000; i++) {
        char fam[64], tid[64], fkey[96], ckey[96];
        snprintf(fam, sizeof(fam), "fam-%08x-%d", (unsigned)(i * 2654435761u), i);
        snprintf(tid, sizeof(tid), "tid-%d-%08x", i, (unsigned)(i * 40503u));
        snprintf(fkey, sizeof(fkey), "refresh_family_revoked:%s", fam);
        snprintf(ckey, sizeof(ckey), "refresh:%s", tid);
        n = names_of(true, STORE_OP_REFRESH_CLAIM, fkey, ckey);
        assert_true(n.ok);
        unsigned a = store_redis_slot_of(slice_from_cstr(n.key));
        unsigned b = store_redis_slot_of(slice_from_cstr(n.claim));
        if (a != b) {
            fail_msg("%s (%u) and %s (%u) in different slots", n.key, a, n.claim, b);
        }
        /* Without the tag they would mostly part: the test can fail. */
        struct names plain = names_of(false, STORE_OP_REFRESH_CLAIM, fkey, ckey);
        if (i == 0) {
            assert_int_not_equal(store_redis_slot_of(slice_from_cstr(plain.key)),
                                 store_redis_slot_of(slice_from_cstr(plain.claim)));
        }
        struct names mark = names_of(true, STORE_OP_MARK, fkey, "");
        assert_true(mark.ok);
        assert_string_equal(mark.key, n.key);
        if (!seen[a]) {
            seen[a] = true;
            distinct++;
        }
    }
    assert_true(distinct > 1500);
}

static void
test_cluster_other_keys_untagged(void **state)
{
    (void)state;
    static const char *const keys[] = {
        "authz_code:C1",       "consent:J1", "callback_state:S1",
        "client_assertion:H1", "refresh:T1", STORE_KEY_READYZ_PROBE,
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        struct names n = names_of(true, STORE_OP_CLAIM_ONCE, keys[i], "");
        assert_true(n.ok);
        char want[128];
        snprintf(want, sizeof(want), "mcp:%s", keys[i]);
        assert_string_equal(n.key, want);
    }
}

static void
test_cluster_refusals(void **state)
{
    (void)state;
    /* A script whose keys cannot be given one slot is never sent. */
    assert_false(names_of(true, STORE_OP_REFRESH_CLAIM, "consent:x", "refresh:T1").ok);
    assert_false(names_of(true, STORE_OP_REFRESH_CLAIM, "refresh:T1", "refresh:T2").ok);
    /* A brace in the family id would move the tag Redis reads. */
    assert_false(
        names_of(true, STORE_OP_REFRESH_CLAIM, "refresh_family_revoked:a}b", "refresh:T1").ok);
    assert_false(names_of(true, STORE_OP_MARK, "refresh_family_revoked:a{b", "").ok);
    /* Empty and oversized keys, as outside cluster mode. */
    assert_false(names_of(true, STORE_OP_CLAIM_ONCE, "", "").ok);
    char big[BOUNDS_STORE_KEY_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_false(names_of(true, STORE_OP_CLAIM_ONCE, big, "").ok);
    assert_false(names_of(false, STORE_OP_CLAIM_ONCE, big, "").ok);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_names_unchanged),
        cmocka_unit_test(test_cluster_script_keys_share_a_slot),
        cmocka_unit_test(test_cluster_other_keys_untagged),
        cmocka_unit_test(test_cluster_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
