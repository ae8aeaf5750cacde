/* store/redis_sentinel_proto: the REDIS_SENTINELS list, the reply to
 * SENTINEL GET-MASTER-ADDR-BY-NAME, ROLE, and the +switch-master message
 * (reply shapes as redis-server 7.0 and its --sentinel mode send them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/redis_proto.h"
#include "store/redis_sentinel_proto.h"

/* One reply from RESP text (the reader the back end uses). */
static struct store_redis_reply *
parse(const char *text)
{
    struct store_redis_reader *r = store_redis_proto_reader_new();
    struct store_redis_reply *reply = NULL;
    assert_int_not_equal(store_redis_proto_feed(r, text, strlen(text)), STORE_REDIS_READ_ERROR);
    assert_int_equal(store_redis_proto_next(r, &reply), STORE_REDIS_READ_REPLY);
    store_redis_proto_reader_free(r);
    return reply;
}

static void
test_list(void **state)
{
    (void)state;
    struct config_redis_addr a[BOUNDS_REDIS_SENTINELS_MAX];
    size_t n = 99;
    assert_null(config_check_redis_sentinels(
        SLICE_LIT("127.0.0.1:26379, [::1]:26380 ,sentinel-2.example:1"), a, &n));
    assert_int_equal(n, 3);
    assert_string_equal(a[0].host, "127.0.0.1");
    assert_true(a[0].host_is_ip);
    assert_int_equal(a[0].port, 26379);
    assert_string_equal(a[1].host, "::1");
    assert_true(a[1].host_is_ip);
    assert_int_equal(a[1].port, 26380);
    assert_string_equal(a[2].host, "sentinel-2.example");
    assert_false(a[2].host_is_ip);
    assert_int_equal(a[2].port, 1);

    static const struct {
        const char *text;
        const char *reason;
    } bad[] = {
        {"", "empty entry"},
        {"a:1,", "empty entry"},
        {" ,a:1", "empty entry"},
        {"host", "without a port"},
        {"host:", "1 to 65535"},
        {"host:0", "1 to 65535"},
        {"host:65536", "1 to 65535"},
        {"host:123456", "1 to 65535"},
        {"host:-1", "1 to 65535"},
        {"host:1x", "1 to 65535"},
        {"::1:26379", "without brackets"},
        {"[::1]", "without a port"},
        {"[::1]x26379", "without a port"},
        {"[::1:1", "unclosed"},
        {"[127.0.0.1]:1", "not an IPv6"},
        {":26379", "malformed host"},
        {"a b:26379", "malformed host"},
        {"h\x01:26379", "malformed host"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = 99;
        const char *why = config_check_redis_sentinels(slice_from_cstr(bad[i].text), a, &n);
        if (why == NULL || strstr(why, bad[i].reason) == NULL) {
            fail_msg("%s: got %s, want %s", bad[i].text, why ? why : "(accepted)", bad[i].reason);
        }
        assert_int_equal(n, 0);
    }
    /* 16 entries are accepted, 17 are not; a 255-byte host is, 256 not. */
    static const char list17[] =
        "s:1,s:1,s:1,s:1,s:1,s:1,s:1,s:1,s:1,s:1,s:1,s:1,s:1,s:1,s:1,s:1,s:1";
    assert_null(config_check_redis_sentinels(slice_make(list17, sizeof(list17) - 1 - 4), a, &n));
    assert_int_equal(n, 16);
    assert_non_null(config_check_redis_sentinels(slice_make(list17, sizeof(list17) - 1), a, &n));
    char host[300];
    memset(host, 'h', 256);
    memcpy(host + 255, ":1", 2);
    assert_null(config_check_redis_sentinels(slice_make(host, 257), a, &n));
    assert_int_equal(strlen(a[0].host), 255);
    memset(host, 'h', 256);
    memcpy(host + 256, ":1", 2);
    assert_non_null(config_check_redis_sentinels(slice_make(host, 258), a, &n));
}

static void
test_master_name(void **state)
{
    (void)state;
    assert_null(config_check_redis_sentinel_master(SLICE_LIT("mymaster")));
    assert_null(config_check_redis_sentinel_master(SLICE_LIT("a.b-c_d{1}")));
    assert_non_null(config_check_redis_sentinel_master(SLICE_LIT("")));
    assert_non_null(config_check_redis_sentinel_master(SLICE_LIT("my master")));
    assert_non_null(config_check_redis_sentinel_master(SLICE_LIT("m\x7f")));
    char name[130];
    memset(name, 'm', 129);
    name[129] = '\0';
    assert_non_null(config_check_redis_sentinel_master(slice_from_cstr(name)));
    name[128] = '\0';
    assert_null(config_check_redis_sentinel_master(slice_from_cstr(name)));
}

static void
test_master_addr(void **state)
{
    (void)state;
    struct config_redis_addr a;
    struct store_redis_reply *r = parse("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n");
    assert_int_equal(store_redis_sentinel_proto_master_addr(r, &a), STORE_REDIS_SENTINEL_ADDR);
    assert_string_equal(a.host, "127.0.0.1");
    assert_true(a.host_is_ip);
    assert_int_equal(a.port, 6380);
    store_redis_proto_reply_free(r);

    r = parse("*2\r\n$3\r\n::1\r\n$4\r\n6380\r\n");
    assert_int_equal(store_redis_sentinel_proto_master_addr(r, &a), STORE_REDIS_SENTINEL_ADDR);
    assert_string_equal(a.host, "::1");
    store_redis_proto_reply_free(r);

    r = parse("*2\r\n$13\r\nredis-0.redis\r\n$4\r\n6379\r\n");
    assert_int_equal(store_redis_sentinel_proto_master_addr(r, &a), STORE_REDIS_SENTINEL_ADDR);
    assert_false(a.host_is_ip);
    store_redis_proto_reply_free(r);

    /* Unknown master: a nil array (RESP2) or a nil string. */
    r = parse("*-1\r\n");
    assert_int_equal(store_redis_sentinel_proto_master_addr(r, &a), STORE_REDIS_SENTINEL_UNKNOWN);
    store_redis_proto_reply_free(r);
    r = parse("$-1\r\n");
    assert_int_equal(store_redis_sentinel_proto_master_addr(r, &a), STORE_REDIS_SENTINEL_UNKNOWN);
    store_redis_proto_reply_free(r);

    static const char *const bad[] = {
        "-NOAUTH Authentication required.\r\n",
        "-ERR unknown command 'sentinel'\r\n",
        "*0\r\n",
        "*1\r\n$9\r\n127.0.0.1\r\n",
        "*3\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n$1\r\nx\r\n",
        "*2\r\n$9\r\n127.0.0.1\r\n:6380\r\n",
        "*2\r\n$9\r\n127.0.0.1\r\n$1\r\n0\r\n",
        "*2\r\n$9\r\n127.0.0.1\r\n$5\r\n65536\r\n",
        "*2\r\n$0\r\n\r\n$4\r\n6380\r\n",
        "*2\r\n$5\r\na/b:c\r\n$4\r\n6380\r\n",
        "*2\r\n*1\r\n$1\r\na\r\n$4\r\n6380\r\n",
        "+OK\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = parse(bad[i]);
        if (store_redis_sentinel_proto_master_addr(r, &a) != STORE_REDIS_SENTINEL_BAD) {
            fail_msg("accepted %s", bad[i]);
        }
        assert_string_equal(a.host, "");
        store_redis_proto_reply_free(r);
    }
    assert_int_equal(store_redis_sentinel_proto_master_addr(NULL, &a), STORE_REDIS_SENTINEL_BAD);
}

static void
test_role(void **state)
{
    (void)state;
    static const struct {
        const char *resp;
        enum store_redis_sentinel_role want;
    } cases[] = {
        {"*3\r\n$6\r\nmaster\r\n:1234\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n6381\r\n$4\r\n1234"
         "\r\n",
         STORE_REDIS_SENTINEL_ROLE_MASTER},
        {"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n", STORE_REDIS_SENTINEL_ROLE_MASTER},
        {"*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:6380\r\n$9\r\nconnected\r\n:1234\r\n",
         STORE_REDIS_SENTINEL_ROLE_REPLICA},
        {"*1\r\n$7\r\nreplica\r\n", STORE_REDIS_SENTINEL_ROLE_REPLICA},
        {"*2\r\n$8\r\nsentinel\r\n*1\r\n$8\r\nmymaster\r\n", STORE_REDIS_SENTINEL_ROLE_OTHER},
        {"*1\r\n$6\r\nMASTER\r\n", STORE_REDIS_SENTINEL_ROLE_OTHER},
        {"*1\r\n$7\r\nmasterx\r\n", STORE_REDIS_SENTINEL_ROLE_OTHER},
        {"*0\r\n", STORE_REDIS_SENTINEL_ROLE_OTHER},
        {"*1\r\n:1\r\n", STORE_REDIS_SENTINEL_ROLE_OTHER},
        {"$6\r\nmaster\r\n", STORE_REDIS_SENTINEL_ROLE_OTHER},
        {"-NOPERM this user has no permissions to run the 'role' command\r\n",
         STORE_REDIS_SENTINEL_ROLE_OTHER},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct store_redis_reply *r = parse(cases[i].resp);
        assert_int_equal(store_redis_sentinel_proto_role(r), cases[i].want);
        store_redis_proto_reply_free(r);
    }
    assert_int_equal(store_redis_sentinel_proto_role(NULL), STORE_REDIS_SENTINEL_ROLE_OTHER);
}

static void
test_switch_master(void **state)
{
    (void)state;
    struct config_redis_addr a;
    assert_int_equal(
        store_redis_sentinel_proto_switch_master(
            SLICE_LIT("mymaster 127.0.0.1 6379 127.0.0.1 6380"), SLICE_LIT("mymaster"), &a),
        STORE_REDIS_SENTINEL_SWITCH_OURS);
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(a.port, 6380);
    assert_int_equal(store_redis_sentinel_proto_switch_master(SLICE_LIT("m ::1 6379 ::1 6381"),
                                                              SLICE_LIT("m"), &a),
                     STORE_REDIS_SENTINEL_SWITCH_OURS);
    assert_string_equal(a.host, "::1");
    assert_true(a.host_is_ip);
    /* Another master's move is not ours; a prefix of the name is another name. */
    assert_int_equal(store_redis_sentinel_proto_switch_master(
                         SLICE_LIT("other 10.0.0.1 6379 10.0.0.2 6379"), SLICE_LIT("mymaster"), &a),
                     STORE_REDIS_SENTINEL_SWITCH_OTHER);
    assert_string_equal(a.host, "");
    assert_int_equal(
        store_redis_sentinel_proto_switch_master(SLICE_LIT("mymaster2 10.0.0.1 6379 10.0.0.2 6379"),
                                                 SLICE_LIT("mymaster"), &a),
        STORE_REDIS_SENTINEL_SWITCH_OTHER);
    static const char *const bad[] = {
        "",
        "mymaster",
        "mymaster 127.0.0.1 6379 127.0.0.1",
        "mymaster 127.0.0.1 6379 127.0.0.1 6380 extra",
        "mymaster 127.0.0.1 6379 127.0.0.1 6380 ",
        "mymaster  127.0.0.1 6379 127.0.0.1 6380",
        "mymaster 127.0.0.1 6379 127.0.0.1 0",
        "mymaster 127.0.0.1 6379 127.0.0.1 65536",
        "mymaster 127.0.0.1 x 127.0.0.1 6380",
        "mymaster 127.0.0.1 6379 a/b 6380",
        "mymaster 127.0.0.1 6379 127.0.0.1\t6380",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (store_redis_sentinel_proto_switch_master(slice_from_cstr(bad[i]), SLICE_LIT("mymaster"),
                                                     &a) != STORE_REDIS_SENTINEL_SWITCH_BAD) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
        assert_string_equal(a.host, "");
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),          cmocka_unit_test(test_master_name),
        cmocka_unit_test(test_master_addr),   cmocka_unit_test(test_role),
        cmocka_unit_test(test_switch_master),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
