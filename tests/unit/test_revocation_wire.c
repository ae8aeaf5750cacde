/* revocation/wire: members, messages, resync pages and pub/sub pushes as
 * Redis sends them (RESP bytes through the subscriber's reader), the
 * member round trip, and every malformed shape refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bounds.h"
#include "revocation/set.h"
#include "revocation/wire.h"
#include "store/redis_proto.h"

#define NOW 1700000000000LL

static struct store_redis_reply *
parse(const char *resp)
{
    struct store_redis_reader *rd = store_redis_proto_reader_new_sized(
        2 * BOUNDS_REVOCATION_RESYNC_PAGE, BOUNDS_REVOCATION_READ_PENDING_MAX);
    struct store_redis_reply *r = NULL;
    assert_int_equal(store_redis_proto_feed(rd, resp, strlen(resp)), STORE_REDIS_READ_MORE);
    assert_int_equal(store_redis_proto_next(rd, &r), STORE_REDIS_READ_REPLY);
    store_redis_proto_reader_free(rd);
    return r;
}

static void
test_members(void **state)
{
    (void)state;
    struct revocation_entry e;
    assert_true(revocation_wire_parse_member(SLICE_LIT("f:abc"), 5, &e));
    assert_int_equal(e.kind, REVOCATION_KIND_FAMILY);
    assert_true(slice_eq_cstr(e.id, "abc"));
    assert_int_equal(e.expires_ms, 5);
    /* A subject may hold ':' and spaces: only the first ':' after the time splits. */
    assert_true(revocation_wire_parse_member(SLICE_LIT("s:1700000000123:a b:c"), 9, &e));
    assert_int_equal(e.kind, REVOCATION_KIND_SUBJECT);
    assert_int_equal(e.at_ms, 1700000000123LL);
    assert_true(slice_eq_cstr(e.id, "a b:c"));

    static const char *const bad[] = {
        "",     "f:",        "f",        "x:abc",      "s:abc",
        "s:12", "s:12:",     "s::alice", "s:-1:alice", "s:12345678901234567:alice",
        "fabc", "S:1:alice",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(revocation_wire_parse_member(slice_from_cstr(bad[i]), 1, &e));
    }
}

static void
test_messages_and_round_trip(void **state)
{
    (void)state;
    struct revocation_entry e;
    assert_true(revocation_wire_parse_message(SLICE_LIT("1700604800000 f:fam-1"), &e));
    assert_int_equal(e.expires_ms, 1700604800000LL);
    assert_true(slice_eq_cstr(e.id, "fam-1"));
    assert_false(revocation_wire_parse_message(SLICE_LIT("f:fam-1"), &e));
    assert_false(revocation_wire_parse_message(SLICE_LIT(" f:fam-1"), &e));
    assert_false(revocation_wire_parse_message(SLICE_LIT("1e12 f:fam-1"), &e));
    assert_false(revocation_wire_parse_message(SLICE_LIT("17 "), &e));

    struct revocation_entry in = {.kind = REVOCATION_KIND_SUBJECT,
                                  .id = SLICE_LIT("user@example.com"),
                                  .at_ms = NOW,
                                  .expires_ms = NOW + 1};
    struct buf b;
    buf_init(&b, 512);
    assert_int_equal(revocation_wire_member(&in, &b), 0);
    assert_string_equal(buf_cstr(&b), "s:1700000000000:user@example.com");
    assert_true(revocation_wire_parse_member(buf_slice(&b), NOW + 1, &e));
    assert_int_equal(e.at_ms, NOW);
    assert_true(slice_eq(e.id, in.id));
    buf_reset(&b);
    in.id = SLICE_NULL;
    assert_int_equal(revocation_wire_member(&in, &b), -1);
    buf_cleanup(&b);
}

static void
test_page(void **state)
{
    (void)state;
    struct revocation_set *s = revocation_set_new(100);
    size_t members, bad;
    struct store_redis_reply *r = parse("*6\r\n$5\r\nf:one\r\n$13\r\n1700000500000\r\n"
                                        "$18\r\ns:1700000000000:al\r\n$13\r\n1700000600000\r\n"
                                        "$5\r\nq:bad\r\n$13\r\n1700000600000\r\n");
    assert_true(revocation_wire_apply_page(r, s, NOW, &members, &bad));
    assert_int_equal(members, 3);
    assert_int_equal(bad, 1);
    assert_int_equal(revocation_set_check(s, SLICE_LIT("one"), SLICE_NULL, 0), REVOCATION_FAMILY);
    assert_int_equal(revocation_set_check(s, SLICE_NULL, SLICE_LIT("al"), NOW / 1000),
                     REVOCATION_SUBJECT);
    store_redis_proto_reply_free(r);

    /* Odd counts, non-strings, non-arrays: out of step. */
    static const char *const wrong[] = {
        "*1\r\n$5\r\nf:one\r\n",
        "*2\r\n$5\r\nf:one\r\n:17\r\n",
        "+OK\r\n",
        "-ERR no\r\n",
    };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        r = parse(wrong[i]);
        assert_false(revocation_wire_apply_page(r, s, NOW, &members, &bad));
        store_redis_proto_reply_free(r);
    }
    r = parse("*0\r\n");
    assert_true(revocation_wire_apply_page(r, s, NOW, &members, &bad));
    assert_int_equal(members, 0);
    store_redis_proto_reply_free(r);
    revocation_set_free(s);
}

static void
test_pushes(void **state)
{
    (void)state;
    struct slice ch = SLICE_LIT("p:revocations");
    struct slice payload = SLICE_NULL;
    struct store_redis_reply *r = parse("*3\r\n$9\r\nsubscribe\r\n$13\r\np:revocations\r\n:1\r\n");
    assert_int_equal(revocation_wire_classify(r, ch, &payload), REVOCATION_PUSH_SUBSCRIBED);
    store_redis_proto_reply_free(r);
    r = parse("*3\r\n$7\r\nmessage\r\n$13\r\np:revocations\r\n$9\r\n17 f:fam1\r\n");
    assert_int_equal(revocation_wire_classify(r, ch, &payload), REVOCATION_PUSH_MESSAGE);
    assert_true(slice_eq_cstr(payload, "17 f:fam1"));
    store_redis_proto_reply_free(r);
    r = parse("*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_int_equal(revocation_wire_classify(r, ch, &payload), REVOCATION_PUSH_PONG);
    store_redis_proto_reply_free(r);
    static const char *const wrong[] = {
        /* another channel */
        "*3\r\n$7\r\nmessage\r\n$13\r\nq:revocations\r\n$9\r\n17 f:fam1\r\n",
        "*3\r\n$7\r\nmessage\r\n$13\r\np:revocations\r\n:1\r\n",
        "*3\r\n$11\r\nunsubscribe\r\n$13\r\np:revocations\r\n:0\r\n",
        "*1\r\n$4\r\npong\r\n",
        "+PONG\r\n",
        "-ERR wrong\r\n",
    };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        r = parse(wrong[i]);
        assert_int_equal(revocation_wire_classify(r, ch, &payload), REVOCATION_PUSH_INVALID);
        store_redis_proto_reply_free(r);
    }
}

static void
test_script_encoding(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(store_redis_proto_revocation(&b, SLICE_LIT("p:revocations"),
                                                  SLICE_LIT("f:fam"), NOW + 5, NOW),
                     0);
    assert_non_null(strstr(buf_cstr(&b), "ZADD"));
    assert_non_null(strstr(buf_cstr(&b), "PUBLISH"));
    assert_non_null(strstr(buf_cstr(&b), "$13\r\np:revocations\r\n$13\r\n1700000000005\r\n"
                                         "$5\r\nf:fam\r\n$13\r\n1700000000000\r\n"));
    buf_reset(&b);
    assert_int_equal(
        store_redis_proto_revocation_page(&b, SLICE_LIT("p:revocations"), NOW, 500, 500), 0);
    assert_non_null(strstr(buf_cstr(&b), "$14\r\n(1700000000000\r\n$4\r\n+inf\r\n"
                                         "$10\r\nWITHSCORES\r\n$5\r\nLIMIT\r\n$3\r\n500\r\n"));
    buf_cleanup(&b);
    struct store_redis_reply one = {.type = STORE_REDIS_INTEGER, .integer = 2};
    assert_int_equal(store_redis_proto_revocation_result(&one), STORE_OK);
    struct store_redis_reply err = {.type = STORE_REDIS_ERROR, .str = "ERR", .len = 3};
    assert_int_equal(store_redis_proto_revocation_result(&err), STORE_ERR_UNAVAILABLE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members),
        cmocka_unit_test(test_messages_and_round_trip),
        cmocka_unit_test(test_page),
        cmocka_unit_test(test_pushes),
        cmocka_unit_test(test_script_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
