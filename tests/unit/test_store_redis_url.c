/* store/redis_url: the URL forms go-redis accepts (SPEC.md 1.2, 5.1), the
 * refusals with their messages, and that no message repeats a password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "bounds.h"
#include "store/redis_url.h"

struct accept_case {
    const char *url;
    bool tls;
    const char *host;
    bool host_is_ip;
    unsigned port;
    const char *user;     /* NULL = none */
    const char *password; /* NULL = none */
    unsigned db;
    uint64_t connect_ms;
    uint64_t command_ms;
};

#define CT BOUNDS_REDIS_CONNECT_TIMEOUT_MS
#define CMD BOUNDS_REDIS_COMMAND_TIMEOUT_MS

static const struct accept_case accepted[] = {
    {"redis://127.0.0.1:6379", false, "127.0.0.1", true, 6379, NULL, NULL, 0, CT, CMD},
    {"redis://localhost", false, "localhost", false, 6379, NULL, NULL, 0, CT, CMD},
    {"rediss://redis.internal:6380/2", true, "redis.internal", false, 6380, NULL, NULL, 2, CT, CMD},
    {"REDISS://Host:1/", true, "Host", false, 1, NULL, NULL, 0, CT, CMD},
    {"redis://:s3cret@h:6379/0", false, "h", false, 6379, NULL, "s3cret", 0, CT, CMD},
    {"redis://proxy:pa%40ss%3Aw%2Frd@h:7000/15", false, "h", false, 7000, "proxy", "pa@ss:w/rd", 15,
     CT, CMD},
    /* An unescaped '@' in the password: the last '@' ends the userinfo. */
    {"redis://u:p@ss@h", false, "h", false, 6379, "u", "p@ss", 0, CT, CMD},
    /* A user without a password: ACL AUTH with an empty password (go-redis). */
    {"redis://alice@h", false, "h", false, 6379, "alice", NULL, 0, CT, CMD},
    {"redis://:@h", false, "h", false, 6379, NULL, "", 0, CT, CMD},
    {"redis://[::1]:6390/3", false, "::1", true, 6390, NULL, NULL, 3, CT, CMD},
    {"redis://[::1]", false, "::1", true, 6379, NULL, NULL, 0, CT, CMD},
    {"redis://h/1?db=4", false, "h", false, 6379, NULL, NULL, 4, CT, CMD},
    {"redis://h?dial_timeout=5s&read_timeout=750ms", false, "h", false, 6379, NULL, NULL, 0, 5000,
     750},
    {"redis://h?read_timeout=2&write_timeout=1.5s", false, "h", false, 6379, NULL, NULL, 0, CT,
     2000},
    {"redis://h?write_timeout=1m&read_timeout=1s", false, "h", false, 6379, NULL, NULL, 0, CT,
     60000},
    {"redis://h?dial_timeout=0.25m15s", false, "h", false, 6379, NULL, NULL, 0, 30000, CMD},
    {"redis://h?dial_timeout=1500us", false, "h", false, 6379, NULL, NULL, 0, 2, CMD},
    {"redis://h?dial_timeout=", false, "h", false, 6379, NULL, NULL, 0, CT, CMD},
    {"redis://h?pool_size=20&max_retries=1&min_idle_conns=2&skip_verify=false", false, "h", false,
     6379, NULL, NULL, 0, CT, CMD},
    {"redis://h?read_timeout=1s&read_timeout=2s", false, "h", false, 6379, NULL, NULL, 0, CT, 2000},
    {"redis://h:6379/?&&", false, "h", false, 6379, NULL, NULL, 0, CT, CMD},
};

static void
test_accepted_forms(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        const struct accept_case *c = &accepted[i];
        struct store_redis_url u;
        struct buf err;
        buf_init(&err, 255);
        bool ok = store_redis_url_parse(c->url, &u, &err);
        if (!ok) {
            fail_msg("%s refused: %s", c->url, buf_cstr(&err));
        }
        assert_int_equal(u.tls, c->tls);
        assert_string_equal(u.host, c->host);
        assert_int_equal(u.host_is_ip, c->host_is_ip);
        assert_int_equal(u.port, c->port);
        if (c->user == NULL) {
            assert_null(u.user);
        } else {
            assert_string_equal(u.user, c->user);
        }
        if (c->password == NULL) {
            assert_null(u.password);
        } else {
            assert_string_equal(u.password, c->password);
        }
        assert_int_equal(u.db, c->db);
        assert_int_equal(u.connect_timeout_ms, c->connect_ms);
        assert_int_equal(u.command_timeout_ms, c->command_ms);
        store_redis_url_cleanup(&u);
        buf_cleanup(&err);
    }
}

struct refuse_case {
    const char *url;
    const char *message_part;
};

static const struct refuse_case refused[] = {
    {"", "must start with redis:// or rediss://"},
    {"http://h:6379", "must start with redis:// or rediss://"},
    {"redis:/h", "must start with redis:// or rediss://"},
    {"h:6379", "must start with redis:// or rediss://"},
    {"unix:///var/run/redis.sock", "unix:// sockets are not supported"},
    {"redis://", "has no host"},
    {"redis://:pw@", "has no host"},
    {"redis://:pw@:6379", "has no host"},
    {"redis://h:0", "port must be a number from 1 to 65535"},
    {"redis://h:65536", "port must be a number from 1 to 65535"},
    {"redis://h:", "port must be a number from 1 to 65535"},
    {"redis://h:63x", "host contains a character that is not allowed"},
    {"redis://h st", "host contains a character that is not allowed"},
    {"redis://h%41", "host contains a character that is not allowed"},
    {"redis://[::1", "unclosed '['"},
    {"redis://[127.0.0.1]", "not an IPv6 address"},
    {"redis://[fe80::1%25eth0]", "not an IPv6 address"},
    {"redis://h/abc", "path must be a database number"},
    {"redis://h/1/2", "path must be a database number"},
    {"redis://h/-1", "path must be a database number"},
    {"redis://h/99999999999", "path must be a database number"},
    {"redis://h#frag", "must not have a #fragment"},
    {"redis://u:p%zz@h", "password has a bad %-escape"},
    {"redis://u:p%00@h", "password has a bad %-escape"},
    {"redis://u:p%4@h", "password has a bad %-escape"},
    {"redis://u%@h", "user name has a bad %-escape"},
    {"redis://u:p\x01@h", "password has a bad %-escape or a control byte"},
    {"redis://h?foo=1", "unexpected option: foo"},
    {"redis://h?db=x", "option db must be a database number"},
    {"redis://h?skip_verify=true", "skip_verify is not supported"},
    {"redis://h?read_timeout=0", "must be positive"},
    {"redis://h?read_timeout=-1", "must be positive"},
    {"redis://h?dial_timeout=-2s", "must be positive"},
    {"redis://h?dial_timeout=0s", "must be positive"},
    {"redis://h?dial_timeout=5x", "is not a duration"},
    {"redis://h?dial_timeout=s", "is not a duration"},
    {"redis://h?dial_timeout=1.", "is not a duration"},
    {"redis://h?dial_timeout=+", "is not a duration"},
    {"redis://h?dial_timeout=61s", "longer than the 60000 ms maximum"},
    {"redis://h?dial_timeout=2h", "longer than the 60000 ms maximum"},
    {"redis://h?b@d=1", "malformed query option"},
};

static void
test_refusals_say_why(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        const struct refuse_case *c = &refused[i];
        struct store_redis_url u;
        struct buf err;
        buf_init(&err, 255);
        if (store_redis_url_parse(c->url, &u, &err)) {
            fail_msg("%s accepted", c->url);
        }
        if (strstr(buf_cstr(&err), c->message_part) == NULL) {
            fail_msg("%s: got \"%s\", want \"%s\"", c->url, buf_cstr(&err), c->message_part);
        }
        /* Outputs are untouched (zeroed) on failure. */
        assert_null(u.host);
        assert_null(u.password);
        buf_cleanup(&err);
    }
}

static void
test_too_long_refused(void **state)
{
    (void)state;
    char url[BOUNDS_REDIS_URL_MAX + 32];
    memset(url, 'a', sizeof(url) - 1);
    url[sizeof(url) - 1] = '\0';
    memcpy(url, "redis://", 8);
    struct store_redis_url u;
    struct buf err;
    buf_init(&err, 255);
    assert_false(store_redis_url_parse(url, &u, &err));
    assert_non_null(strstr(buf_cstr(&err), "longer than"));
    buf_cleanup(&err);
}

static void
test_errors_never_show_password(void **state)
{
    (void)state;
    const char *urls[] = {
        "redis://user:topsecret@h:99999",
        "redis://user:topsecret@h/notadb",
        "redis://user:topsecret@h?nope=1",
        "redis://user:topsecret@",
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        struct store_redis_url u;
        struct buf err;
        buf_init(&err, 255);
        assert_false(store_redis_url_parse(urls[i], &u, &err));
        assert_null(strstr(buf_cstr(&err), "topsecret"));
        buf_cleanup(&err);
    }
}

static void
test_redacted_format(void **state)
{
    (void)state;
    struct store_redis_url u;
    struct buf err;
    buf_init(&err, 255);
    struct buf b;
    buf_init(&b, 512);
    assert_true(store_redis_url_parse("rediss://u:topsecret@[::1]:6380/2", &u, &err));
    assert_int_equal(store_redis_url_format_redacted(&u, &b), 0);
    assert_string_equal(buf_cstr(&b), "rediss://[::1]:6380/2");
    store_redis_url_cleanup(&u);
    buf_reset(&b);
    assert_true(store_redis_url_parse("redis://:pw@cache", &u, &err));
    assert_int_equal(store_redis_url_format_redacted(&u, &b), 0);
    assert_string_equal(buf_cstr(&b), "redis://cache:6379/0");
    store_redis_url_cleanup(&u);
    buf_cleanup(&b);
    buf_cleanup(&err);
}

/* ---- redis+cluster:// ---- */

static void
test_cluster_forms(void **state)
{
    (void)state;
    struct store_redis_cluster_url u;
    struct buf err;
    buf_init(&err, 512);

    assert_true(store_redis_url_is_cluster("redis+cluster://a:1"));
    assert_true(store_redis_url_is_cluster("REDISS+CLUSTER://a:1"));
    assert_false(store_redis_url_is_cluster("redis://a:1"));
    assert_false(store_redis_url_is_cluster(NULL));

    assert_true(store_redis_url_parse_cluster(
        "redis+cluster://proxy:p%40ss@10.0.0.1:7001,[::1]:7002,redis-0.svc/0?dial_timeout=3s", &u,
        &err));
    assert_false(u.base.tls);
    assert_int_equal(u.seed_count, 3);
    assert_string_equal(u.seeds[0].host, "10.0.0.1");
    assert_true(u.seeds[0].host_is_ip);
    assert_int_equal(u.seeds[0].port, 7001);
    assert_string_equal(u.seeds[1].host, "::1");
    assert_true(u.seeds[1].host_is_ip);
    assert_int_equal(u.seeds[1].port, 7002);
    assert_string_equal(u.seeds[2].host, "redis-0.svc");
    assert_false(u.seeds[2].host_is_ip);
    assert_int_equal(u.seeds[2].port, 6379);
    assert_string_equal(u.base.user, "proxy");
    assert_string_equal(u.base.password, "p@ss");
    assert_string_equal(u.base.host, "10.0.0.1");
    assert_int_equal(u.base.connect_timeout_ms, 3000);
    store_redis_url_cleanup_cluster(&u);

    assert_true(store_redis_url_parse_cluster("rediss+cluster://:pw@h:7000", &u, &err));
    assert_true(u.base.tls);
    assert_null(u.base.user);
    assert_string_equal(u.base.password, "pw");
    assert_int_equal(u.seed_count, 1);
    store_redis_url_cleanup_cluster(&u);

    /* REDIS_CLUSTER=true with an ordinary REDIS_URL: one seed. */
    assert_true(store_redis_url_parse_cluster("rediss://h:7000/0", &u, &err));
    assert_true(u.base.tls);
    assert_int_equal(u.seed_count, 1);
    store_redis_url_cleanup_cluster(&u);
    assert_int_equal(err.len, 0);
    buf_cleanup(&err);
}

static void
test_cluster_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        const char *why;
    } cases[] = {
        {"redis+cluster://a:1/2", "Redis Cluster has only database 0; drop the /2"},
        {"redis+cluster://a:1?db=3", "Redis Cluster has only database 0"},
        {"redis+cluster://a:1,,b:2", "empty host in its list of cluster nodes"},
        {"redis+cluster://a:1,", "empty host"},
        {"redis+cluster://", "empty host"},
        {"redis+cluster://a:1,b:99999", "port"},
        {"redis+cluster://a:1,[::1", "unclosed '['"},
        {"redis+cluster://a:1?skip_verify=true", "skip_verify"},
        {"redis+sentinel://a:1", "must start with redis+cluster://"},
        {"http://a:1", "must start with redis+cluster://"},
        {"", "empty"},
        {"redis+cluster://1:1,2:2,3:3,4:4,5:5,6:6,7:7,8:8,9:9,a:1,b:1,c:1,d:1,e:1,f:1,g:1,h:1",
         "more than 16 cluster nodes"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct store_redis_cluster_url u;
        struct buf err;
        buf_init(&err, 512);
        if (store_redis_url_parse_cluster(cases[i].url, &u, &err)) {
            fail_msg("%s accepted", cases[i].url);
        }
        if (strstr(buf_cstr(&err), cases[i].why) == NULL) {
            fail_msg("%s: \"%s\" does not say \"%s\"", cases[i].url, buf_cstr(&err), cases[i].why);
        }
        assert_int_equal(u.seed_count, 0);
        buf_cleanup(&err);
    }
    /* The single-server parser points a cluster URL elsewhere, and no
     * message repeats the password. */
    struct store_redis_url one;
    struct buf err;
    buf_init(&err, 512);
    assert_false(store_redis_url_parse("redis+cluster://u:hunter2@a:1", &one, &err));
    assert_non_null(strstr(buf_cstr(&err), "Redis Cluster URL"));
    assert_null(strstr(buf_cstr(&err), "hunter2"));
    buf_reset(&err);
    struct store_redis_cluster_url u;
    assert_false(store_redis_url_parse_cluster("redis+cluster://u:hunter2@a:1,b:2/5", &u, &err));
    assert_null(strstr(buf_cstr(&err), "hunter2"));
    buf_cleanup(&err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_forms),   cmocka_unit_test(test_refusals_say_why),
        cmocka_unit_test(test_too_long_refused), cmocka_unit_test(test_errors_never_show_password),
        cmocka_unit_test(test_redacted_format),  cmocka_unit_test(test_cluster_forms),
        cmocka_unit_test(test_cluster_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
