/* store/redis_proto: exact command encodings, the capped reply reader
 * (split input, pipelined replies, refusals), and the reply → result
 * mapping for every decision, without a server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "bounds.h"
#include "store/redis_proto.h"

static void
assert_encoding(struct buf *b, const char *want)
{
    assert_int_equal(b->len, strlen(want));
    assert_memory_equal(b->ptr, want, b->len);
    buf_reset(b);
}

static void
test_command_encodings(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(store_redis_proto_set_nx(&b, SLICE_LIT("p:k"), 1500), 0);
    assert_encoding(&b, "*6\r\n$3\r\nSET\r\n$3\r\np:k\r\n$1\r\n1\r\n$2\r\nNX\r\n$2\r\nPX\r\n"
                        "$4\r\n1500\r\n");
    assert_int_equal(store_redis_proto_set(&b, SLICE_LIT("k"), 604800000), 0);
    assert_encoding(&b, "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n$2\r\nPX\r\n$9\r\n604800000\r\n");
    assert_int_equal(store_redis_proto_exists(&b, SLICE_LIT("p:__readyz_probe__")), 0);
    assert_encoding(&b, "*2\r\n$6\r\nEXISTS\r\n$18\r\np:__readyz_probe__\r\n");
    assert_int_equal(store_redis_proto_ping(&b), 0);
    assert_encoding(&b, "*1\r\n$4\r\nPING\r\n");
    assert_int_equal(store_redis_proto_auth(&b, NULL, "pw"), 0);
    assert_encoding(&b, "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n");
    assert_int_equal(store_redis_proto_auth(&b, "u", "p w\r\n"), 0);
    assert_encoding(&b, "*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$5\r\np w\r\n\r\n");
    assert_int_equal(store_redis_proto_auth(&b, "u", NULL), 0);
    assert_encoding(&b, "*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$0\r\n\r\n");
    assert_int_equal(store_redis_proto_select(&b, 12), 0);
    assert_encoding(&b, "*2\r\n$6\r\nSELECT\r\n$2\r\n12\r\n");
    /* Keys are binary-safe arguments: no injection through a key. */
    assert_int_equal(store_redis_proto_exists(&b, SLICE_LIT("a\r\nFLUSHALL\r\n")), 0);
    assert_encoding(&b, "*2\r\n$6\r\nEXISTS\r\n$13\r\na\r\nFLUSHALL\r\n\r\n");
    buf_cleanup(&b);
}

static void
test_script_calls(void **state)
{
    (void)state;
    char sha[41];
    store_redis_proto_refresh_sha1(sha);
    assert_int_equal(strlen(sha), 40);
    assert_int_equal(strspn(sha, "0123456789abcdef"), 40);
    struct store_redis_refresh_args a = {
        .family_key = SLICE_LIT("f"),
        .claim_key = SLICE_LIT("c"),
        .claim_ttl_ms = 1000,
        .family_ttl_ms = 2000,
        .now_ms = 1780000000123,
        .grace_ms = 0,
        .retry_grace_ms = 60000,
    };
    struct buf b, want;
    buf_init(&b, 8192);
    buf_init(&want, 8192);
    assert_int_equal(store_redis_proto_evalsha(&b, sha, &a), 0);
    assert_int_equal(buf_appendf(&want,
                                 "*10\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n$1\r\n2\r\n$1\r\nf\r\n$1\r\n"
                                 "c\r\n$4\r\n1000\r\n$4\r\n2000\r\n$13\r\n1780000000123\r\n$1\r\n"
                                 "0\r\n$5\r\n60000\r\n",
                                 sha),
                     0);
    assert_encoding(&b, buf_cstr(&want));
    assert_int_equal(store_redis_proto_eval(&b, &a), 0);
    const char *script = store_redis_proto_refresh_script();
    assert_non_null(strstr(b.ptr, script));
    assert_non_null(strstr(b.ptr, "$4\r\nEVAL\r\n"));
    buf_cleanup(&b);
    buf_cleanup(&want);
}

/* Feeds text (in chunks of `step` bytes) and collects every reply. */
static size_t
read_all(const char *text, size_t len, size_t step, struct store_redis_reply **out, size_t max,
         bool *out_error)
{
    struct store_redis_reader *r = store_redis_proto_reader_new();
    size_t n = 0;
    *out_error = false;
    for (size_t off = 0; off < len && !*out_error; off += step) {
        size_t chunk = len - off < step ? len - off : step;
        if (store_redis_proto_feed(r, text + off, chunk) == STORE_REDIS_READ_ERROR) {
            *out_error = true;
            break;
        }
        for (;;) {
            struct store_redis_reply *reply = NULL;
            enum store_redis_read rc = store_redis_proto_next(r, &reply);
            if (rc == STORE_REDIS_READ_ERROR) {
                *out_error = true;
                break;
            }
            if (rc == STORE_REDIS_READ_MORE) {
                break;
            }
            assert_true(n < max);
            out[n++] = reply;
        }
    }
    store_redis_proto_reader_free(r);
    return n;
}

static void
free_all(struct store_redis_reply **r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        store_redis_proto_reply_free(r[i]);
    }
}

static void
test_reader_pipelined_and_split(void **state)
{
    (void)state;
    static const char text[] = "+OK\r\n$-1\r\n:1\r\n*3\r\n:0\r\n:1\r\n:0\r\n-NOSCRIPT No matching "
                               "script.\r\n$13\r\n1780000000000\r\n+PONG\r\n*-1\r\n";
    for (size_t step = 1; step <= sizeof(text); step++) {
        struct store_redis_reply *r[16];
        bool error;
        size_t n = read_all(text, sizeof(text) - 1, step, r, 16, &error);
        assert_false(error);
        assert_int_equal(n, 8);
        assert_int_equal(store_redis_proto_claim_result(r[0]), STORE_OK);
        assert_int_equal(store_redis_proto_claim_result(r[1]), STORE_ERR_ALREADY_USED);
        assert_int_equal(store_redis_proto_exists_result(r[2]), STORE_OK);
        assert_int_equal(store_redis_proto_refresh_result(r[3]), STORE_REFRESH_RACING);
        assert_true(store_redis_proto_is_noscript(r[4]));
        assert_int_equal(r[5]->type, STORE_REDIS_STRING);
        assert_string_equal(r[5]->str, "1780000000000");
        assert_int_equal(store_redis_proto_pong_result(r[6]), STORE_OK);
        assert_int_equal(r[7]->type, STORE_REDIS_NIL);
        free_all(r, n);
    }
}

struct refusal {
    const char *name;
    const char *text;
};

static void
test_reader_refusals(void **state)
{
    (void)state;
    char big_string[BOUNDS_REDIS_REPLY_STRING_MAX + 64];
    int n = snprintf(big_string, sizeof(big_string), "$%d\r\n", BOUNDS_REDIS_REPLY_STRING_MAX + 1);
    memset(big_string + n, 'x', BOUNDS_REDIS_REPLY_STRING_MAX + 1);
    memcpy(big_string + n + BOUNDS_REDIS_REPLY_STRING_MAX + 1, "\r\n", 3);
    const struct refusal cases[] = {
        /* BOUNDS_REDIS_REPLY_DEPTH_MAX (4) arrays deep is the most. */
        {"nested too deep", "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"},
        {"too many elements", "*1025\r\n"},
        {"huge array count", "*2147483648\r\n"},
        {"negative bulk length", "$-5\r\n"},
        {"bad type byte", "!oops\r\n"},
        {"resp3 null", "_\r\n"},
        {"bad integer", ":12a\r\n"},
        {"integer overflow", ":99999999999999999999999\r\n"},
        {"long string", big_string},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct store_redis_reply *r[4];
        bool error;
        size_t got = read_all(cases[i].text, strlen(cases[i].text), 1024, r, 4, &error);
        if (!error) {
            fail_msg("%s accepted", cases[i].name);
        }
        assert_int_equal(got, 0);
    }
}

/* Topology replies nest: four levels are read whole, and the per-reply
 * object cap holds even though every array is within its own cap and the
 * bytes arrive in small chunks (so the pending-bytes cap never trips). */
static void
test_reader_nesting_and_object_cap(void **state)
{
    (void)state;
    static const char nested[] = "*2\r\n*1\r\n*2\r\n*1\r\n:7\r\n$2\r\nab\r\n:9\r\n";
    struct store_redis_reply *r[2];
    bool error;
    size_t n = read_all(nested, sizeof(nested) - 1, 3, r, 2, &error);
    assert_false(error);
    assert_int_equal(n, 1);
    assert_int_equal(r[0]->type, STORE_REDIS_ARRAY);
    assert_int_equal(r[0]->elems[0]->elems[0]->elems[0]->elems[0]->integer, 7);
    assert_string_equal(r[0]->elems[0]->elems[0]->elems[1]->str, "ab");
    assert_int_equal(r[0]->elems[1]->integer, 9);
    free_all(r, n);

    /* 9 arrays of 1000 integers: 9010 objects > BOUNDS_REDIS_REPLY_OBJECTS_MAX. */
    struct buf big;
    buf_init(&big, 128 * 1024);
    assert_int_equal(buf_appendf(&big, "*9\r\n"), 0);
    for (int i = 0; i < 9; i++) {
        assert_int_equal(buf_appendf(&big, "*1000\r\n"), 0);
        for (int j = 0; j < 1000; j++) {
            assert_int_equal(buf_appendf(&big, ":1\r\n"), 0);
        }
    }
    n = read_all(big.ptr, big.len, 4096, r, 2, &error);
    assert_true(error);
    assert_int_equal(n, 0);
    /* The same with 8 arrays (8009 objects) is read, and the count starts
     * again at the next reply. */
    buf_reset(&big);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(buf_appendf(&big, "*8\r\n"), 0);
        for (int i = 0; i < 8; i++) {
            assert_int_equal(buf_appendf(&big, "*1000\r\n"), 0);
            for (int j = 0; j < 1000; j++) {
                assert_int_equal(buf_appendf(&big, ":1\r\n"), 0);
            }
        }
    }
    n = read_all(big.ptr, big.len, 4096, r, 2, &error);
    assert_false(error);
    assert_int_equal(n, 2);
    free_all(r, n);
    buf_cleanup(&big);
}

static void
test_reader_pending_cap(void **state)
{
    (void)state;
    /* A bulk length the server never fills: the reader must not buffer
     * past the cap waiting for it. */
    struct store_redis_reader *r = store_redis_proto_reader_new();
    assert_int_equal(store_redis_proto_feed(r, "$999999999\r\n", 12), STORE_REDIS_READ_MORE);
    static char chunk[STORE_REDIS_FEED_MAX];
    memset(chunk, 'a', sizeof(chunk));
    enum store_redis_read rc = STORE_REDIS_READ_MORE;
    size_t fed = 12;
    while (rc == STORE_REDIS_READ_MORE && fed < 2 * BOUNDS_REDIS_REPLY_PENDING_MAX) {
        struct store_redis_reply *reply = NULL;
        rc = store_redis_proto_next(r, &reply);
        assert_int_equal(rc, STORE_REDIS_READ_MORE);
        rc = store_redis_proto_feed(r, chunk, sizeof(chunk));
        fed += sizeof(chunk);
    }
    assert_int_equal(rc, STORE_REDIS_READ_ERROR);
    assert_true(fed <= BOUNDS_REDIS_REPLY_PENDING_MAX + sizeof(chunk));
    /* Oversized feeds are refused outright. */
    store_redis_proto_reader_free(r);
    r = store_redis_proto_reader_new();
    static char too_big[STORE_REDIS_FEED_MAX + 1];
    assert_int_equal(store_redis_proto_feed(r, too_big, sizeof(too_big)), STORE_REDIS_READ_ERROR);
    store_redis_proto_reader_free(r);
}

static struct store_redis_reply *
one(const char *text)
{
    struct store_redis_reply *r[2];
    bool error;
    size_t n = read_all(text, strlen(text), 4096, r, 2, &error);
    assert_false(error);
    assert_int_equal(n, 1);
    return r[0];
}

struct refresh_case {
    const char *text;
    enum store_refresh want;
};

static void
test_refresh_mapping(void **state)
{
    (void)state;
    const struct refresh_case cases[] = {
        {"*3\r\n:1\r\n:0\r\n:0\r\n", STORE_REFRESH_FAMILY_REVOKED},
        {"*3\r\n:0\r\n:0\r\n:0\r\n", STORE_REFRESH_FRESH},
        {"*3\r\n:0\r\n:1\r\n:0\r\n", STORE_REFRESH_RACING},
        {"*3\r\n:0\r\n:0\r\n:1\r\n", STORE_REFRESH_REUSED},
        {"*3\r\n:1\r\n:1\r\n:0\r\n", STORE_REFRESH_UNAVAILABLE},
        {"*3\r\n:0\r\n:0\r\n:2\r\n", STORE_REFRESH_UNAVAILABLE},
        {"*3\r\n:0\r\n$1\r\n0\r\n:0\r\n", STORE_REFRESH_UNAVAILABLE},
        {"*2\r\n:0\r\n:0\r\n", STORE_REFRESH_UNAVAILABLE},
        {"*4\r\n:0\r\n:0\r\n:0\r\n:0\r\n", STORE_REFRESH_FRESH},
        {"*4\r\n:1\r\n:0\r\n:0\r\n:0\r\n", STORE_REFRESH_FAMILY_REVOKED},
        {"*4\r\n:0\r\n:1\r\n:0\r\n:0\r\n", STORE_REFRESH_RACING},
        {"*4\r\n:0\r\n:0\r\n:1\r\n:0\r\n", STORE_REFRESH_REUSED},
        {"*4\r\n:0\r\n:0\r\n:0\r\n:1780000000123\r\n", STORE_REFRESH_RETRY},
        {"*4\r\n:0\r\n:0\r\n:1\r\n:1780000000123\r\n", STORE_REFRESH_UNAVAILABLE},
        {"*4\r\n:1\r\n:0\r\n:0\r\n:5\r\n", STORE_REFRESH_UNAVAILABLE},
        {"*4\r\n:0\r\n:0\r\n:0\r\n:-5\r\n", STORE_REFRESH_UNAVAILABLE},
        {"*4\r\n:0\r\n:0\r\n:0\r\n$1\r\n5\r\n", STORE_REFRESH_UNAVAILABLE},
        {"*5\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n", STORE_REFRESH_UNAVAILABLE},
        {"*0\r\n", STORE_REFRESH_UNAVAILABLE},
        {"*-1\r\n", STORE_REFRESH_UNAVAILABLE},
        {"-ERR script error\r\n", STORE_REFRESH_UNAVAILABLE},
        {"-NOSCRIPT No matching script.\r\n", STORE_REFRESH_UNAVAILABLE},
        {"+OK\r\n", STORE_REFRESH_UNAVAILABLE},
        {":0\r\n", STORE_REFRESH_UNAVAILABLE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct store_redis_reply *r = one(cases[i].text);
        assert_int_equal(store_redis_proto_refresh_result(r), cases[i].want);
        /* Only a RETRY carries a claim time. */
        assert_int_equal(store_redis_proto_refresh_retry_ms(r) != 0,
                         cases[i].want == STORE_REFRESH_RETRY);
        store_redis_proto_reply_free(r);
    }
    struct store_redis_reply *retry = one("*4\r\n:0\r\n:0\r\n:0\r\n:1780000000123\r\n");
    assert_int_equal(store_redis_proto_refresh_retry_ms(retry), 1780000000123);
    store_redis_proto_reply_free(retry);
    assert_int_equal(store_redis_proto_refresh_result(NULL), STORE_REFRESH_UNAVAILABLE);
}

struct rc_case {
    const char *text;
    enum store_rc claim, ok, exists, pong;
};

static void
test_simple_mappings(void **state)
{
    (void)state;
    const enum store_rc O = STORE_OK, A = STORE_ERR_ALREADY_USED, U = STORE_ERR_UNAVAILABLE;
    const struct rc_case cases[] = {
        {"+OK\r\n", O, O, U, U},
        {"$-1\r\n", A, U, U, U},
        {"*-1\r\n", A, U, U, U},
        {":0\r\n", U, U, O, U},
        {":1\r\n", U, U, O, U},
        {"+PONG\r\n", U, U, U, O},
        {"$2\r\nOK\r\n", U, U, U, U},
        {"-READONLY You can't write against a read only replica.\r\n", U, U, U, U},
        {"-NOAUTH Authentication required.\r\n", U, U, U, U},
        {"-OOM command not allowed\r\n", U, U, U, U},
        {"*1\r\n+OK\r\n", U, U, U, U},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct store_redis_reply *r = one(cases[i].text);
        assert_int_equal(store_redis_proto_claim_result(r), cases[i].claim);
        assert_int_equal(store_redis_proto_ok_result(r), cases[i].ok);
        assert_int_equal(store_redis_proto_exists_result(r), cases[i].exists);
        assert_int_equal(store_redis_proto_pong_result(r), cases[i].pong);
        store_redis_proto_reply_free(r);
    }
    assert_int_equal(store_redis_proto_claim_result(NULL), U);
}

/* WAIT N t is encoded as three bulk strings; its reply counts only when
 * it is an integer of at least N (an error, a nil, a string: fail closed). */
static void
test_wait_encoding_and_result(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 256);
    assert_int_equal(store_redis_proto_wait(&b, 2, 100), 0);
    assert_string_equal(buf_cstr(&b), "*3\r\n$4\r\nWAIT\r\n$1\r\n2\r\n$3\r\n100\r\n");
    buf_reset(&b);
    assert_int_equal(store_redis_proto_subscribe(&b, "__sentinel__:hello"), 0);
    assert_string_equal(buf_cstr(&b), "*2\r\n$9\r\nSUBSCRIBE\r\n$18\r\n__sentinel__:hello\r\n");
    buf_cleanup(&b);
    const struct {
        const char *text;
        unsigned n;
        enum store_rc rc;
    } cases[] = {
        {":1\r\n", 1, STORE_OK},
        {":2\r\n", 1, STORE_OK},
        {":0\r\n", 1, STORE_ERR_UNAVAILABLE},
        {":1\r\n", 2, STORE_ERR_UNAVAILABLE},
        {":-1\r\n", 0, STORE_ERR_UNAVAILABLE},
        {"$1\r\n1\r\n", 1, STORE_ERR_UNAVAILABLE},
        {"-ERR WAIT cannot be used with replica instances\r\n", 1, STORE_ERR_UNAVAILABLE},
        {"$-1\r\n", 0, STORE_ERR_UNAVAILABLE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct store_redis_reply *r = one(cases[i].text);
        assert_int_equal(store_redis_proto_wait_result(r, cases[i].n), cases[i].rc);
        store_redis_proto_reply_free(r);
    }
    assert_int_equal(store_redis_proto_wait_result(NULL, 0), STORE_ERR_UNAVAILABLE);
    struct store_redis_reply *ro =
        one("-READONLY You can't write against a read only replica.\r\n");
    assert_true(store_redis_proto_is_readonly(ro));
    store_redis_proto_reply_free(ro);
    struct store_redis_reply *err = one("-ERR READONLY\r\n");
    assert_false(store_redis_proto_is_readonly(err));
    store_redis_proto_reply_free(err);
}

static void
test_error_classes_and_description(void **state)
{
    (void)state;
    struct store_redis_reply *r = one("-WRONGPASS invalid username-password pair\r\n");
    assert_true(store_redis_proto_is_auth_error(r));
    assert_false(store_redis_proto_is_noscript(r));
    char text[32];
    store_redis_proto_describe(r, text, sizeof(text));
    assert_string_equal(text, "WRONGPASS invalid username-pass"); /* 31 bytes */
    store_redis_proto_reply_free(r);

    r = one("-ERR AUTH <password> called without any password configured\r\n");
    assert_true(store_redis_proto_is_auth_error(r));
    store_redis_proto_reply_free(r);
    r = one("-NOAUTH Authentication required.\r\n");
    assert_true(store_redis_proto_is_auth_error(r));
    store_redis_proto_reply_free(r);
    r = one("-ERR DB index is out of range\r\n");
    assert_false(store_redis_proto_is_auth_error(r));
    store_redis_proto_reply_free(r);
    r = one("+OK\r\n");
    assert_false(store_redis_proto_is_auth_error(r));
    store_redis_proto_reply_free(r);

    r = one("-ERR bad\x01\x7f byte\r\n");
    store_redis_proto_describe(r, text, sizeof(text));
    assert_string_equal(text, "ERR bad?? byte");
    store_redis_proto_reply_free(r);
    r = one(":5\r\n");
    store_redis_proto_describe(r, text, sizeof(text));
    assert_string_equal(text, "unexpected integer reply");
    store_redis_proto_reply_free(r);
}

/* The one helper both Redis back ends use after a write: NOSCRIPT only
 * matters to an EVALSHA, TRYAGAIN always; a short WAIT says how short. */
static void
test_shared_write_reply_handling(void **state)
{
    (void)state;
    struct store_redis_reply *noscript = one("-NOSCRIPT No matching script.\r\n");
    struct store_redis_reply *tryagain =
        one("-TRYAGAIN Multiple keys request during rehashing of slot\r\n");
    struct store_redis_reply *ok = one("+OK\r\n");
    assert_int_equal(store_redis_proto_resend(noscript, true), STORE_REDIS_RESEND_EVAL);
    assert_int_equal(store_redis_proto_resend(noscript, false), STORE_REDIS_RESEND_NONE);
    assert_int_equal(store_redis_proto_resend(tryagain, true), STORE_REDIS_RESEND_TRYAGAIN);
    assert_int_equal(store_redis_proto_resend(tryagain, false), STORE_REDIS_RESEND_TRYAGAIN);
    assert_int_equal(store_redis_proto_resend(ok, true), STORE_REDIS_RESEND_NONE);
    char text[STORE_ERROR_MAX];
    struct store_redis_reply *zero = one(":0\r\n");
    struct store_redis_reply *two = one(":2\r\n");
    struct store_redis_reply *err = one("-ERR WAIT cannot be used with replica instances\r\n");
    assert_false(store_redis_proto_wait_short(two, 1, 500, text, sizeof(text)));
    assert_true(store_redis_proto_wait_short(zero, 1, 500, text, sizeof(text)));
    assert_string_equal(text, "WAIT: 0 of 1 replicas acknowledged within 500 ms");
    assert_true(store_redis_proto_wait_short(err, 1, 500, text, sizeof(text)));
    assert_non_null(strstr(text, "WAIT failed: "));
    assert_true(store_redis_proto_wait_short(NULL, 1, 500, text, sizeof(text)));
    assert_string_equal(text, "WAIT: no reply");
    for (struct store_redis_reply *r[] = {noscript, tryagain, ok, zero, two, err}, **p = r;
         p < r + 6; p++) {
        store_redis_proto_reply_free(*p);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_encodings),
        cmocka_unit_test(test_script_calls),
        cmocka_unit_test(test_reader_pipelined_and_split),
        cmocka_unit_test(test_reader_nesting_and_object_cap),
        cmocka_unit_test(test_reader_refusals),
        cmocka_unit_test(test_reader_pending_cap),
        cmocka_unit_test(test_refresh_mapping),
        cmocka_unit_test(test_simple_mappings),
        cmocka_unit_test(test_wait_encoding_and_result),
        cmocka_unit_test(test_shared_write_reply_handling),
        cmocka_unit_test(test_error_classes_and_description),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
