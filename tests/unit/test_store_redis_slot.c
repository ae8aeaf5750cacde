/* store/redis_slot: CRC16-XMODEM and hash tags exactly as Redis computes a
 * key's slot. The expected slots are what a Redis 7 cluster answers to
 * CLUSTER KEYSLOT (and the cluster specification's examples). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store/redis_slot.h"

static void
test_crc16_vector(void **state)
{
    (void)state;
    /* The check value of CRC-16/XMODEM. */
    assert_int_equal(store_redis_slot_crc16("123456789", 9), 0x31c3);
    assert_int_equal(store_redis_slot_crc16("", 0), 0);
}

struct slot_case {
    const char *key;
    unsigned slot;
};

static void
test_known_slots(void **state)
{
    (void)state;
    /* redis-cli CLUSTER KEYSLOT <key> on redis-server 7.0. */
    static const struct slot_case cases[] = {
        {"foo", 12182},
        {"bar", 5061},
        {"hello", 866},
        {"{x}a", 16287},
        {"x", 16287},
        {"{user1000}.following", 3443},
        {"{user1000}.followers", 3443},
        {"user1000", 3443},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned got = store_redis_slot_of(slice_from_cstr(cases[i].key));
        if (got != cases[i].slot) {
            fail_msg("%s: slot %u, want %u", cases[i].key, got, cases[i].slot);
        }
    }
}

struct tag_case {
    const char *key;
    const char *hashed;
};

static void
test_hash_tags(void **state)
{
    (void)state;
    /* The rules of keyHashSlot: first '{', first '}' after it, an empty
     * tag hashes the whole key. */
    static const struct tag_case cases[] = {
        {"plain", "plain"},
        {"{fam}refresh:abc", "fam"},
        {"mcp:{fam}refresh_family_revoked:fam", "fam"},
        {"foo{bar}{zap}", "bar"},
        {"foo{{bar}}zap", "{bar"},
        {"foo{}{bar}", "foo{}{bar}"},
        {"foo{bar", "foo{bar"},
        {"foo}bar{", "foo}bar{"},
        {"}{a}", "a"},
        {"{}", "{}"},
        {"{a}", "a"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct slice h = store_redis_slot_hashed(slice_from_cstr(cases[i].key));
        if (!slice_eq_cstr(h, cases[i].hashed)) {
            fail_msg("%s: hashed \"%.*s\", want \"%s\"", cases[i].key, (int)h.len, h.ptr,
                     cases[i].hashed);
        }
        assert_int_equal(store_redis_slot_of(slice_from_cstr(cases[i].key)),
                         store_redis_slot_crc16(cases[i].hashed, strlen(cases[i].hashed)) &
                             (STORE_REDIS_SLOT_COUNT - 1));
    }
    /* Bytes past a NUL and high bytes are key bytes like any other. */
    static const char bin[] = {'{', 'a', '\0', '\xff', '}', 'z'};
    struct slice h = store_redis_slot_hashed(slice_make(bin, sizeof(bin)));
    assert_int_equal(h.len, 3);
    assert_ptr_equal(h.ptr, bin + 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16_vector),
        cmocka_unit_test(test_known_slots),
        cmocka_unit_test(test_hash_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
