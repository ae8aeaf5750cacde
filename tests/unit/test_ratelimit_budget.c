/* ratelimit_budget: the list syntax (client_ids with escapes, CIDRs), which
 * budget applies when several match, the key texts (client hashed, Redis
 * key escaped); and the shared window's Lua script (store/redis_proto.c)
 * run on a real redis-server next to the local limiter on the same inputs
 * (skipped when redis-server is not installed). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/ipaddr.h"
#include "bounds.h"
#include "ratelimit.h"
#include "ratelimit_budget.h"
#include "store/redis_proto.h"

static const unsigned defaults[METRICS_ENDPOINT_COUNT] = {
    [METRICS_ENDPOINT_REGISTER] = 10,  [METRICS_ENDPOINT_AUTHORIZE] = 30,
    [METRICS_ENDPOINT_CONSENT] = 30,   [METRICS_ENDPOINT_CALLBACK] = 30,
    [METRICS_ENDPOINT_TOKEN] = 60,     [METRICS_ENDPOINT_MCP] = 600,
    [METRICS_ENDPOINT_DISCOVERY] = 60, [METRICS_ENDPOINT_REVOKE] = 30,
};

static struct ipaddr
addr(const char *text)
{
    struct ipaddr a;
    assert_true(ipaddr_parse(slice_from_cstr(text), &a));
    return a;
}

static void
test_list_syntax(void **state)
{
    (void)state;
    assert_null(ratelimit_budget_check_clients(slice_from_cstr("")));
    assert_null(ratelimit_budget_check_clients(
        slice_from_cstr("https://claude.ai/oauth/mcp-client.json=600,abc123=120")));
    /* split at the last '=': a URL with a query keeps its '='s */
    assert_null(ratelimit_budget_check_clients(slice_from_cstr("https://a.example/c?x=1=5")));
    assert_null(ratelimit_budget_check_clients(slice_from_cstr(" a%2Cb = 7 , c=1000000")));
    assert_non_null(ratelimit_budget_check_clients(slice_from_cstr("abc")));
    assert_non_null(ratelimit_budget_check_clients(slice_from_cstr("abc=0")));
    assert_non_null(ratelimit_budget_check_clients(slice_from_cstr("abc=1000001")));
    assert_non_null(ratelimit_budget_check_clients(slice_from_cstr("abc=12x")));
    assert_non_null(ratelimit_budget_check_clients(slice_from_cstr("=5")));
    assert_non_null(ratelimit_budget_check_clients(slice_from_cstr("a=1,,b=2")));
    assert_non_null(ratelimit_budget_check_clients(slice_from_cstr("a%2=1")));
    assert_non_null(ratelimit_budget_check_clients(slice_from_cstr("a%zz=1")));
    assert_non_null(ratelimit_budget_check_clients(slice_from_cstr("a%20b=1")));
    assert_non_null(ratelimit_budget_check_clients(slice_from_cstr("a=1,a=2")));
    assert_non_null(ratelimit_budget_check_clients(slice_from_cstr("a%2cb=1,a%2Cb=2")));

    assert_null(ratelimit_budget_check_cidrs(slice_from_cstr("")));
    assert_null(
        ratelimit_budget_check_cidrs(slice_from_cstr("160.79.104.0/21=1200,2001:db8::/32=5")));
    assert_non_null(ratelimit_budget_check_cidrs(slice_from_cstr("160.79.104.0=1200")));
    assert_non_null(ratelimit_budget_check_cidrs(slice_from_cstr("10.0.0.0/33=1")));
    assert_non_null(ratelimit_budget_check_cidrs(slice_from_cstr("10.0.0.0/8")));
    /* 10.1.0.0/8 is 10.0.0.0/8 once masked */
    assert_non_null(ratelimit_budget_check_cidrs(slice_from_cstr("10.0.0.0/8=1,10.1.0.0/8=2")));

    /* the entry cap */
    struct buf b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i <= BOUNDS_RATE_NAMED_BUDGETS_MAX; i++) {
        assert_int_equal(buf_appendf(&b, "%sc%d=1", i ? "," : "", i), 0);
    }
    assert_non_null(ratelimit_budget_check_clients(buf_slice(&b)));
    buf_cleanup(&b);
}

static void
test_which_budget_applies(void **state)
{
    (void)state;
    struct ratelimit_budgets *b = ratelimit_budgets_new(
        defaults, "https://claude.ai/oauth/mcp-client.json=600,abc123=120,a%2Cb=7",
        "160.79.104.0/21=1200,160.79.104.0/24=50,2001:db8::/32=9");
    enum ratelimit_budget_source src;
    struct ipaddr plain = addr("203.0.113.7"), wide = addr("160.79.105.1"),
                  narrow = addr("160.79.104.9"), v6 = addr("2001:db8:1:2::");
    const enum metrics_endpoint tok = METRICS_ENDPOINT_TOKEN, az = METRICS_ENDPOINT_AUTHORIZE;

    /* 3. nothing named: the endpoint's budget */
    assert_int_equal(ratelimit_budget_select(b, tok, SLICE_LIT("other"), &plain, &src), 60);
    assert_int_equal(src, RATELIMIT_BUDGET_ENDPOINT);
    assert_int_equal(ratelimit_budget_select(b, az, SLICE_NULL, NULL, &src), 30);
    /* 1. a named client wins everywhere, over a CIDR too */
    assert_int_equal(ratelimit_budget_select(b, tok, SLICE_LIT("abc123"), &narrow, &src), 120);
    assert_int_equal(src, RATELIMIT_BUDGET_CLIENT);
    assert_int_equal(ratelimit_budget_select(
                         b, az, SLICE_LIT("https://claude.ai/oauth/mcp-client.json"), &plain, &src),
                     600);
    assert_int_equal(ratelimit_budget_select(b, tok, SLICE_LIT("a,b"), &plain, NULL), 7);
    /* byte for byte: no case folding, no prefix match */
    assert_int_equal(ratelimit_budget_select(b, tok, SLICE_LIT("ABC123"), &plain, NULL), 60);
    assert_int_equal(ratelimit_budget_select(b, tok, SLICE_LIT("abc12"), &plain, NULL), 60);
    /* 2. CIDRs, longest prefix first, with or without a client */
    assert_int_equal(ratelimit_budget_select(b, tok, SLICE_LIT("other"), &wide, &src), 1200);
    assert_int_equal(src, RATELIMIT_BUDGET_CIDR);
    assert_int_equal(ratelimit_budget_select(b, tok, SLICE_NULL, &narrow, NULL), 50);
    assert_int_equal(ratelimit_budget_select(b, az, SLICE_NULL, &v6, NULL), 9);
    /* named budgets are for /token and /authorize only */
    assert_int_equal(
        ratelimit_budget_select(b, METRICS_ENDPOINT_REGISTER, SLICE_LIT("abc123"), &wide, &src),
        10);
    assert_int_equal(src, RATELIMIT_BUDGET_ENDPOINT);
    assert_int_equal(ratelimit_budget_select(b, METRICS_ENDPOINT_REVOKE, SLICE_NULL, NULL, NULL),
                     30);
    assert_int_equal(ratelimit_budget_select(b, METRICS_ENDPOINT_COUNT, SLICE_NULL, NULL, NULL), 0);
    ratelimit_budgets_free(b);

    /* equal prefixes cannot both be listed; overlapping ones of any order */
    b = ratelimit_budgets_new(defaults, NULL, "160.79.104.0/24=50,160.79.104.0/21=1200");
    assert_int_equal(ratelimit_budget_select(b, tok, SLICE_NULL, &narrow, NULL), 50);
    assert_int_equal(ratelimit_budget_select(b, tok, SLICE_NULL, &wide, NULL), 1200);
    ratelimit_budgets_free(b);
}

/* Inventing client_ids buys a bounded budget: one address's ceiling over
 * all of them is ten times the largest budget that can apply to it, and
 * its key cannot meet a client key. */
static void
test_address_ceiling(void **state)
{
    (void)state;
    struct ratelimit_budgets *b =
        ratelimit_budgets_new(defaults, "big=600,small=2", "160.79.104.0/21=1200");
    struct ipaddr plain = addr("203.0.113.7"), vendor = addr("160.79.105.1");
    assert_int_equal(ratelimit_budget_ceiling(b, METRICS_ENDPOINT_TOKEN, &plain), 6000);
    assert_int_equal(ratelimit_budget_ceiling(b, METRICS_ENDPOINT_AUTHORIZE, &vendor), 12000);
    assert_int_equal(ratelimit_budget_ceiling(b, METRICS_ENDPOINT_REGISTER, &plain), 0);
    ratelimit_budgets_free(b);
    b = ratelimit_budgets_new(defaults, NULL, NULL);
    assert_int_equal(ratelimit_budget_ceiling(b, METRICS_ENDPOINT_AUTHORIZE, &plain),
                     30 * BOUNDS_RATE_CLIENTS_PER_ADDRESS_FACTOR);
    assert_int_equal(ratelimit_budget_ceiling(b, METRICS_ENDPOINT_TOKEN, NULL),
                     60 * BOUNDS_RATE_CLIENTS_PER_ADDRESS_FACTOR);
    ratelimit_budgets_free(b);

    /* The attack: one address, a fresh client_id per request. Each client
     * key stays under its budget, the ceiling stops the address. */
    struct ratelimit *rl = ratelimit_new(true);
    const int64_t t = 1700000040000;
    char ceiling_key[RATELIMIT_BUDGET_KEY_SIZE], client_key[RATELIMIT_BUDGET_KEY_SIZE];
    ratelimit_budget_ceiling_key("203.0.113.7", ceiling_key);
    assert_string_equal(ceiling_key, "203.0.113.7 *");
    unsigned passed = 0;
    for (unsigned i = 0; i < 1000; i++) {
        char id[16];
        snprintf(id, sizeof(id), "made-up-%u", i);
        ratelimit_budget_key(METRICS_ENDPOINT_AUTHORIZE, "203.0.113.7", slice_from_cstr(id),
                             client_key);
        if (ratelimit_allow_budget(rl, METRICS_ENDPOINT_AUTHORIZE, ceiling_key, 300, t) &&
            ratelimit_allow_budget(rl, METRICS_ENDPOINT_AUTHORIZE, client_key, 30, t)) {
            passed++;
        }
    }
    assert_int_equal(passed, 300);
    ratelimit_free(rl);
}

static void
test_keys(void **state)
{
    (void)state;
    char k1[RATELIMIT_BUDGET_KEY_SIZE], k2[RATELIMIT_BUDGET_KEY_SIZE];
    ratelimit_budget_key(METRICS_ENDPOINT_TOKEN, "203.0.113.7", SLICE_NULL, k1);
    assert_string_equal(k1, "203.0.113.7");
    ratelimit_budget_key(METRICS_ENDPOINT_TOKEN, "203.0.113.7", SLICE_LIT("abc"), k1);
    ratelimit_budget_key(METRICS_ENDPOINT_TOKEN, "203.0.113.7", SLICE_LIT("abd"), k2);
    /* sha256("abc") = ba7816bf8f01cfea414140de5dae2223... */
    assert_string_equal(k1, "203.0.113.7 ba7816bf8f01cfea414140de5dae2223");
    assert_string_not_equal(k1, k2);
    /* a client only keys the client-aware buckets */
    ratelimit_budget_key(METRICS_ENDPOINT_REGISTER, "203.0.113.7", SLICE_LIT("abc"), k2);
    assert_string_equal(k2, "203.0.113.7");

    struct buf s;
    buf_init(&s, BOUNDS_STORE_KEY_MAX);
    assert_int_equal(ratelimit_budget_store_key(METRICS_ENDPOINT_TOKEN, k1, &s), 0);
    assert_string_equal(buf_cstr(&s),
                        "ratelimit:token:203.0.113.7%20ba7816bf8f01cfea414140de5dae2223");
    buf_reset(&s);
    /* raw peer text: no braces, spaces or control bytes reach a key name */
    assert_int_equal(ratelimit_budget_store_key(METRICS_ENDPOINT_DISCOVERY, "{x} \r\n%", &s), 0);
    assert_string_equal(buf_cstr(&s), "ratelimit:discovery:%7Bx%7D%20%0D%0A%25");
    buf_reset(&s);
    /* the longest key text fits the store's key cap */
    char longest[RATELIMIT_BUDGET_KEY_SIZE];
    memset(longest, '{', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    assert_int_equal(ratelimit_budget_store_key(METRICS_ENDPOINT_AUTHORIZE, longest, &s), 0);
    assert_true(s.len <= BOUNDS_STORE_KEY_MAX);
    buf_cleanup(&s);
}

/* ---- The script on a real server ---------------------------------------- */

static pid_t redis_pid;
static int redis_fd = -1;

static bool
start_redis(void)
{
    if (access("/usr/bin/redis-server", X_OK) != 0) {
        return false;
    }
    /* A free port: bind 0, read it back, close, hand it to redis. */
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(probe, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(probe, (struct sockaddr *)&sa, &len), 0);
    close(probe);
    char port[16];
    snprintf(port, sizeof(port), "%u", ntohs(sa.sin_port));
    redis_pid = fork();
    assert_true(redis_pid >= 0);
    if (redis_pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl("/usr/bin/redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
              "--save", "", "--appendonly", "no", "--loglevel", "warning", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) { /* up to 5 s */
        redis_fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(redis_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            return true;
        }
        close(redis_fd);
        redis_fd = -1;
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    fail_msg("redis-server did not listen");
    return false;
}

static void
stop_redis(void)
{
    if (redis_fd >= 0) {
        close(redis_fd);
        redis_fd = -1;
    }
    if (redis_pid > 0) {
        kill(redis_pid, SIGTERM);
        waitpid(redis_pid, NULL, 0);
        redis_pid = 0;
    }
}

/* One request through the shipped encoder, script and reply mapping. */
static enum store_rc
script_allow(const char *key, unsigned limit, int64_t now_ms)
{
    struct buf cmd;
    buf_init(&cmd, 64 * 1024);
    assert_int_equal(store_redis_proto_rate_window(&cmd, slice_from_cstr(key), limit, now_ms), 0);
    assert_int_equal(write(redis_fd, cmd.ptr, cmd.len), (ssize_t)cmd.len);
    buf_cleanup(&cmd);
    struct store_redis_reader *r = store_redis_proto_reader_new();
    struct store_redis_reply *reply = NULL;
    while (store_redis_proto_next(r, &reply) != STORE_REDIS_READ_REPLY) {
        char chunk[512];
        ssize_t n = read(redis_fd, chunk, sizeof(chunk));
        assert_true(n > 0);
        assert_int_equal(store_redis_proto_feed(r, chunk, (size_t)n), STORE_REDIS_READ_MORE);
    }
    enum store_rc rc = store_redis_proto_rate_window_result(reply);
    store_redis_proto_reply_free(reply);
    store_redis_proto_reader_free(r);
    return rc;
}

/* The script and the local limiter see the same requests at the same
 * times and must decide every one the same way: fills of the previous
 * window, probes at many offsets into the next (rounding halves, the
 * window edges, a skipped window, a clock stepping back). */
static void
test_script_matches_local_limiter(void **state)
{
    (void)state;
    if (!start_redis()) {
        skip();
    }
    /* A UTC-minute-aligned base far from now: keys never collide with a
     * real window and TTLs are irrelevant to the arithmetic. */
    const int64_t base = 1700000040000; /* a multiple of 60000 */
    const unsigned limits[] = {1, 3, 7, 60};
    const unsigned prevs[] = {0, 1, 2, 5, 7, 59, 60};
    const int64_t offsets[] = {0, 1, 4999, 15000, 29999, 30000, 30001, 45000, 59999};
    int key_no = 0;
    for (size_t li = 0; li < sizeof(limits) / sizeof(limits[0]); li++) {
        for (size_t pi = 0; pi < sizeof(prevs) / sizeof(prevs[0]); pi++) {
            for (size_t oi = 0; oi < sizeof(offsets) / sizeof(offsets[0]); oi++) {
                struct ratelimit *rl = ratelimit_new(true);
                char key[32];
                snprintf(key, sizeof(key), "k%d", key_no++);
                unsigned limit = limits[li];
                for (unsigned i = 0; i < prevs[pi]; i++) {
                    int64_t t = base + (int64_t)i * 100;
                    bool local = ratelimit_allow_budget(rl, METRICS_ENDPOINT_TOKEN, key, limit, t);
                    assert_int_equal(script_allow(key, limit, t) == STORE_OK, local);
                }
                /* a burst in the next window, past the budget */
                for (unsigned i = 0; i < limit + 2; i++) {
                    int64_t t = base + 60000 + offsets[oi];
                    bool local = ratelimit_allow_budget(rl, METRICS_ENDPOINT_TOKEN, key, limit, t);
                    enum store_rc rc = script_allow(key, limit, t);
                    assert_int_not_equal(rc, STORE_ERR_UNAVAILABLE);
                    if ((rc == STORE_OK) != local) {
                        fail_msg("limit %u prev %u offset %lld request %u: script %d local %d",
                                 limit, prevs[pi], (long long)offsets[oi], i, rc == STORE_OK,
                                 local);
                    }
                }
                /* the clock steps back a window: judged at the key's window */
                bool local = ratelimit_allow_budget(rl, METRICS_ENDPOINT_TOKEN, key, limit, base);
                assert_int_equal(script_allow(key, limit, base) == STORE_OK, local);
                /* two windows later everything is forgotten */
                local =
                    ratelimit_allow_budget(rl, METRICS_ENDPOINT_TOKEN, key, limit, base + 180000);
                assert_true(local);
                assert_int_equal(script_allow(key, limit, base + 180000), STORE_OK);
                ratelimit_free(rl);
            }
        }
    }
    /* the estimate itself: halves round up */
    assert_int_equal(ratelimit_estimate(1, 0, 30000), 1);
    assert_int_equal(ratelimit_estimate(1, 0, 30001), 0);
    assert_int_equal(ratelimit_estimate(3, 2, 40000), 3);
    stop_redis();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_syntax),
        cmocka_unit_test(test_which_budget_applies),
        cmocka_unit_test(test_address_ceiling),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_script_matches_local_limiter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
