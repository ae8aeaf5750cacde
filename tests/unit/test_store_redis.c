/* store/redis against a real redis-server (Debian's), started by this test
 * on free loopback ports with persistence off and stopped by PID with
 * bounded waits. Covers claim-once with the prefix applied, TTLs, the four
 * refresh outcomes of SPEC.md 5.3, the NOSCRIPT fallback, ACL and legacy
 * AUTH, SELECT, rediss:// with a CA made at run time, and faults: Redis
 * stopped and restarted, and a server that accepts and never answers.
 *
 * That last one is a fault server (an evconnlistener in this process that
 * accepts and never reads): a real Redis cannot be made to hang on demand.
 * Everything else talks to redis-server. A second, plain hiredis
 * connection checks what actually landed in Redis. If redis-server is not
 * installed, every test fails: a CI image that lost it must not go green
 * by skipping them. A developer without Redis sets MCP_TEST_ALLOW_NO_REDIS=1
 * to skip them with a message instead (scripts/test.sh never sets it). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <hiredis/hiredis.h>

#include "base/buf.h"
#include "base/clock.h"
#include "bounds.h"
#include "metrics.h"
#include "net/resolve.h"
#include "net/sockopt.h"
#include "store/readiness.h"
#include "store/redis.h"
#include "store/redis_cluster.h"
#include "store/redis_link.h"
#include "store/redis_proto.h"
#include "store/store.h"
#include "loop.h"

/* ---- redis-server processes -------------------------------------------------- */

struct server {
    pid_t pid;
    int port;     /* plain port, 0 when TLS only */
    int tls_port; /* 0 when plain only */
    char dir[256];
};

static bool have_redis;
static bool allow_no_redis; /* MCP_TEST_ALLOW_NO_REDIS=1: skip instead of failing */
static char tmp_root[128];
/* Every server still running, so a test that fails half-way (cmocka jumps
 * out of it) does not leave one behind: group teardown stops them. */
static struct server *running[8];

static bool
on_path(const char *name)
{
    const char *path = getenv("PATH");
    char buf[512];
    if (path == NULL) {
        path = "/usr/bin:/bin";
    }
    while (*path != '\0') {
        size_t n = strcspn(path, ":");
        snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
        if (access(buf, X_OK) == 0) {
            return true;
        }
        path += n;
        if (*path == ':') {
            path++;
        }
    }
    return false;
}

static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static bool
port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static void
sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts redis-server with the common arguments plus extra ones (NULL
 * terminated), and waits (at most 5 s) until its port accepts. */
static void
server_start(struct server *srv, bool tls, const char *const *extra)
{
    const char *argv[48];
    char port[16], tls_port[16], log[320];
    int n = 0;
    if (srv->port == 0) {
        srv->port = free_port();
    }
    if (tls && srv->tls_port == 0) {
        srv->tls_port = free_port();
    }
    if (srv->dir[0] == '\0') {
        snprintf(srv->dir, sizeof(srv->dir), "%s/redis-%d", tmp_root, srv->port);
        mkdir(srv->dir, 0700);
    }
    snprintf(port, sizeof(port), "%d", srv->port);
    snprintf(tls_port, sizeof(tls_port), "%d", srv->tls_port);
    snprintf(log, sizeof(log), "%s/redis.log", srv->dir);
    argv[n++] = "redis-server";
    argv[n++] = "--port";
    argv[n++] = port;
    if (srv->tls_port != 0) {
        argv[n++] = "--tls-port";
        argv[n++] = tls_port;
    }
    const char *common[] = {"--bind", "127.0.0.1",   "--save", "",          "--appendonly",
                            "no",     "--daemonize", "no",     "--logfile", log,
                            "--dir",  srv->dir,      NULL};
    for (int i = 0; common[i] != NULL; i++) {
        argv[n++] = common[i];
    }
    for (int i = 0; extra != NULL && extra[i] != NULL; i++) {
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    srv->pid = pid;
    for (size_t i = 0; i < sizeof(running) / sizeof(running[0]); i++) {
        if (running[i] == NULL) {
            running[i] = srv;
            break;
        }
    }
    for (int i = 0;
         i < 500 && !(port_open(srv->port) && (srv->tls_port == 0 || port_open(srv->tls_port)));
         i++) {
        sleep_ms(10);
    }
    assert_true(port_open(srv->port));
}

/* SIGTERM, then at most 5 s for it to exit, then SIGKILL. */
static void
server_stop(struct server *srv)
{
    for (size_t i = 0; i < sizeof(running) / sizeof(running[0]); i++) {
        if (running[i] == srv) {
            running[i] = NULL;
        }
    }
    if (srv->pid <= 0) {
        return;
    }
    kill(srv->pid, SIGTERM);
    int status;
    for (int i = 0; i < 500; i++) {
        if (waitpid(srv->pid, &status, WNOHANG) == srv->pid) {
            srv->pid = 0;
            return;
        }
        sleep_ms(10);
    }
    kill(srv->pid, SIGKILL);
    waitpid(srv->pid, &status, 0);
    srv->pid = 0;
}

/* A plain hiredis connection to look at what landed in Redis. */
static redisContext *
admin(const struct server *srv, const char *password)
{
    redisContext *c = redisConnect("127.0.0.1", srv->port);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    if (password != NULL) {
        redisReply *r = redisCommand(c, "AUTH %s", password);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_STATUS);
        freeReplyObject(r);
    }
    return c;
}

static long long
admin_int(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_INTEGER) {
        fail_msg("expected an integer, got type %d (%s)", r->type, r->str ? r->str : "");
    }
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

/* A string or status reply, copied into out. */
static void
admin_str(redisContext *c, char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS) {
        fail_msg("expected a string, got type %d (%s)", r->type, r->str ? r->str : "");
    }
    snprintf(out, cap, "%s", r->str);
    freeReplyObject(r);
}

/* ---- Driving the loop ------------------------------------------------------------ */

struct result {
    int calls;
    int rc;
    char error[STORE_ERROR_MAX];
    int64_t claimed_ms;
    uint64_t at_ms;
};

static void
on_done(enum store_rc rc, const char *error, void *arg)
{
    struct result *r = arg;
    r->calls++;
    r->rc = (int)rc;
    r->at_ms = clock_mono_ms();
    snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
}

static void
on_refresh(enum store_refresh rc, int64_t claimed_ms, const char *error, void *arg)
{
    struct result *r = arg;
    r->claimed_ms = claimed_ms;
    r->calls++;
    r->rc = (int)rc;
    r->at_ms = clock_mono_ms();
    snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
}

/* Runs until the store has confirmed its connection (at most ms). */
static bool
wait_connected(struct event_base *base, struct store *s, unsigned ms)
{
    uint64_t end = clock_mono_ms() + ms;
    while (!store_is_connected(s) && clock_mono_ms() < end) {
        loop_run_for(base, 10);
    }
    return store_is_connected(s);
}

/* The back end appends its sentence to a struct buf; these tests read it
 * as a C string of at most cap bytes, so the assertions stay as they were. */
static void
copy_out(const struct buf *b, char *err, size_t cap)
{
    assert_true(b->len < cap);
    memcpy(err, buf_cstr(b), b->len + 1);
}

static struct store_backend *
new_backend(const char *url, const char *prefix, const char *ca_file, char *err, size_t cap)
{
    struct buf b;
    buf_init(&b, cap - 1);
    struct store_backend *be = store_redis_backend_new(url, prefix, ca_file, &b);
    copy_out(&b, err, cap);
    buf_cleanup(&b);
    return be;
}

static int
check_backend(struct store_backend *be, uint64_t timeout_ms, char *err, size_t cap)
{
    struct buf b;
    buf_init(&b, cap - 1);
    int rc = store_redis_backend_check(be, timeout_ms, &b);
    copy_out(&b, err, cap);
    buf_cleanup(&b);
    return rc;
}

struct env {
    struct server srv;
    struct event_base *base;
    struct store_backend *backend;
    struct store *store;
    redisContext *admin;
};

static struct store_backend *
backend(const char *url, const char *prefix, const char *ca_file)
{
    char err[STORE_ERROR_MAX] = "";
    struct store_backend *b = new_backend(url, prefix, ca_file, err, sizeof(err));
    if (b == NULL) {
        fail_msg("backend refused %s: %s", url, err);
    }
    return b;
}

static struct store_backend *
backend_port(int port, const char *prefix)
{
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
    return backend(url, prefix, NULL);
}

static int
setup(void **state)
{
    if (!have_redis) {
        return 0;
    }
    struct env *e = calloc(1, sizeof(*e));
    server_start(&e->srv, false, NULL);
    e->base = event_base_new();
    e->backend = backend_port(e->srv.port, "test-a:");
    e->store = store_new(e->backend, e->base);
    assert_true(wait_connected(e->base, e->store, 3000));
    e->admin = admin(&e->srv, NULL);
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    struct env *e = *state;
    if (e == NULL) {
        return 0;
    }
    store_free(e->store);
    store_backend_free(e->backend);
    event_base_free(e->base);
    redisFree(e->admin);
    server_stop(&e->srv);
    free(e);
    return 0;
}

#define NEED_REDIS()                                                                               \
    do {                                                                                           \
        if (!have_redis && allow_no_redis) {                                                       \
            print_message("redis-server is not installed: skipping Redis integration tests "       \
                          "(MCP_TEST_ALLOW_NO_REDIS=1)\n");                                        \
            skip();                                                                                \
        }                                                                                          \
        if (!have_redis) {                                                                         \
            fail_msg("redis-server is not on PATH; install it (Debian: redis-server), or set "     \
                     "MCP_TEST_ALLOW_NO_REDIS=1 to skip these tests");                             \
        }                                                                                          \
    } while (0)

static int
claim(struct env *e, struct store *s, const char *key, uint64_t ttl_ms)
{
    struct result r = {0};
    store_claim_once(s, slice_from_cstr(key), ttl_ms, on_done, &r);
    assert_int_equal(r.calls, 0);
    loop_run_until_called(e->base, &r.calls, 2000);
    assert_int_equal(r.calls, 1);
    return r.rc;
}

static int
mark(struct env *e, const char *key, uint64_t ttl_ms)
{
    struct result r = {0};
    store_mark(e->store, slice_from_cstr(key), ttl_ms, on_done, &r);
    loop_run_until_called(e->base, &r.calls, 2000);
    assert_int_equal(r.calls, 1);
    return r.rc;
}

static int
refresh_on(struct env *e, struct store *s, const char *fam, const char *tid, int64_t now_ms,
           uint64_t grace_ms, struct result *out)
{
    struct buf fk, ck;
    buf_init(&fk, BOUNDS_STORE_KEY_MAX);
    buf_init(&ck, BOUNDS_STORE_KEY_MAX);
    assert_int_equal(store_key_refresh_family_revoked(slice_from_cstr(fam), &fk), 0);
    assert_int_equal(store_key_refresh(slice_from_cstr(tid), &ck), 0);
    struct store_refresh_req req = {
        .family_key = buf_slice(&fk),
        .claim_key = buf_slice(&ck),
        .claim_ttl_ms = 3600000,
        .family_ttl_ms = STORE_FAMILY_REVOKED_TTL_MS,
        .now_ms = now_ms,
        .grace_ms = grace_ms,
    };
    struct result r = {0};
    store_refresh_claim(s, &req, on_refresh, &r);
    buf_cleanup(&fk);
    buf_cleanup(&ck);
    loop_run_until_called(e->base, &r.calls, 2000);
    assert_int_equal(r.calls, 1);
    if (out != NULL) {
        *out = r;
    }
    return r.rc;
}

static int
refresh(struct env *e, const char *fam, const char *tid, int64_t now_ms, uint64_t grace_ms)
{
    return refresh_on(e, e->store, fam, tid, now_ms, grace_ms, NULL);
}

static const int64_t NOW_MS = 1780000000000;

/* ---- Claim once, prefix, TTL ---------------------------------------------------------- */

static void
test_claim_once_applies_prefix(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    assert_int_equal(claim(e, e->store, "authz_code:t1", 60000), STORE_OK);
    assert_int_equal(claim(e, e->store, "authz_code:t1", 60000), STORE_ERR_ALREADY_USED);
    assert_int_equal(admin_int(e->admin, "EXISTS %s", "test-a:authz_code:t1"), 1);
    assert_int_equal(admin_int(e->admin, "EXISTS %s", "authz_code:t1"), 0);
    char value[64];
    admin_str(e->admin, value, sizeof(value), "GET %s", "test-a:authz_code:t1");
    assert_string_equal(value, "1");
}

static void
test_different_prefixes_isolate(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    struct store_backend *b = backend_port(e->srv.port, "test-b:");
    struct store *other = store_new(b, e->base);
    assert_true(wait_connected(e->base, other, 3000));
    assert_int_equal(claim(e, e->store, "consent:j", 60000), STORE_OK);
    assert_int_equal(claim(e, other, "consent:j", 60000), STORE_OK);
    assert_int_equal(claim(e, other, "consent:j", 60000), STORE_ERR_ALREADY_USED);
    assert_int_equal(admin_int(e->admin, "EXISTS %s", "test-b:consent:j"), 1);
    store_free(other);
    store_backend_free(b);
}

static void
test_ttl_applied(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    assert_int_equal(claim(e, e->store, "callback_state:s", 60000), STORE_OK);
    long long pttl = admin_int(e->admin, "PTTL %s", "test-a:callback_state:s");
    assert_true(pttl > 59000 && pttl <= 60000);
    assert_int_equal(mark(e, "refresh_family_revoked:f", STORE_FAMILY_REVOKED_TTL_MS), STORE_OK);
    pttl = admin_int(e->admin, "PTTL %s", "test-a:refresh_family_revoked:f");
    assert_true(pttl > 604790000 && pttl <= 604800000);
    /* Mark overwrites unconditionally. */
    assert_int_equal(mark(e, "refresh_family_revoked:f", 5000), STORE_OK);
    pttl = admin_int(e->admin, "PTTL %s", "test-a:refresh_family_revoked:f");
    assert_true(pttl > 4000 && pttl <= 5000);
}

static void
test_claim_after_expiry(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    assert_int_equal(claim(e, e->store, "consent:short", 50), STORE_OK);
    /* Redis's own clock expires it; nothing to pin here. */
    loop_run_for(e->base, 120);
    assert_int_equal(claim(e, e->store, "consent:short", 50), STORE_OK);
}

/* ---- Refresh rotation (SPEC.md 5.3) --------------------------------------------------- */

static void
test_refresh_fresh_writes_claim_time(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    assert_int_equal(refresh(e, "fam1", "tid1", NOW_MS, 0), STORE_REFRESH_FRESH);
    char value[64];
    admin_str(e->admin, value, sizeof(value), "GET %s", "test-a:refresh:tid1");
    assert_string_equal(value, "1780000000000");
    long long pttl = admin_int(e->admin, "PTTL %s", "test-a:refresh:tid1");
    assert_true(pttl > 3590000 && pttl <= 3600000);
    assert_int_equal(admin_int(e->admin, "EXISTS %s", "test-a:refresh_family_revoked:fam1"), 0);
}

static void
test_refresh_racing_within_grace_writes_no_marker(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    assert_int_equal(refresh(e, "famr", "t1", NOW_MS, 5000), STORE_REFRESH_FRESH);
    assert_int_equal(refresh(e, "famr", "t1", NOW_MS + 1000, 5000), STORE_REFRESH_RACING);
    assert_int_equal(admin_int(e->admin, "EXISTS %s", "test-a:refresh_family_revoked:famr"), 0);
    assert_int_equal(refresh(e, "famr", "t2", NOW_MS + 1500, 5000), STORE_REFRESH_FRESH);
}

/* REFRESH_RETRY_GRACE through the real script: a retry gets the first
 * claim's time back and writes nothing; past it, reuse. */
static int
refresh_retry(struct env *e, const char *tid, int64_t now_ms, int64_t *claimed)
{
    struct buf fk, ck;
    buf_init(&fk, BOUNDS_STORE_KEY_MAX);
    buf_init(&ck, BOUNDS_STORE_KEY_MAX);
    assert_int_equal(store_key_refresh_family_revoked(slice_from_cstr("famq"), &fk), 0);
    assert_int_equal(store_key_refresh(slice_from_cstr(tid), &ck), 0);
    struct store_refresh_req req = {
        .family_key = buf_slice(&fk),
        .claim_key = buf_slice(&ck),
        .claim_ttl_ms = 3600000,
        .family_ttl_ms = STORE_FAMILY_REVOKED_TTL_MS,
        .now_ms = now_ms,
        .grace_ms = 2000,
        .retry_grace_ms = 60000,
    };
    struct result r = {0};
    store_refresh_claim(e->store, &req, on_refresh, &r);
    buf_cleanup(&fk);
    buf_cleanup(&ck);
    loop_run_until_called(e->base, &r.calls, 2000);
    assert_int_equal(r.calls, 1);
    *claimed = r.claimed_ms;
    return r.rc;
}

static void
test_refresh_retry_within_retry_grace(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    int64_t c = 0;
    assert_int_equal(refresh_retry(e, "q1", NOW_MS, &c), STORE_REFRESH_FRESH);
    assert_int_equal(c, NOW_MS);
    assert_int_equal(refresh_retry(e, "q1", NOW_MS + 500, &c), STORE_REFRESH_RETRY);
    assert_int_equal(c, NOW_MS);
    assert_int_equal(refresh_retry(e, "q1", NOW_MS + 59999, &c), STORE_REFRESH_RETRY);
    assert_int_equal(c, NOW_MS);
    assert_int_equal(admin_int(e->admin, "EXISTS %s", "test-a:refresh_family_revoked:famq"), 0);
    assert_int_equal(refresh_retry(e, "q1", NOW_MS + 60000, &c), STORE_REFRESH_REUSED);
    assert_int_equal(c, 0);
    assert_int_equal(refresh_retry(e, "q2", NOW_MS + 60001, &c), STORE_REFRESH_FAMILY_REVOKED);
}

static void
test_refresh_reuse_past_grace_revokes_for_7_days(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    assert_int_equal(refresh(e, "famp", "t1", NOW_MS, 5000), STORE_REFRESH_FRESH);
    assert_int_equal(refresh(e, "famp", "t1", NOW_MS + 6000, 5000), STORE_REFRESH_REUSED);
    char value[16];
    admin_str(e->admin, value, sizeof(value), "GET %s", "test-a:refresh_family_revoked:famp");
    assert_string_equal(value, "1");
    long long pttl = admin_int(e->admin, "PTTL %s", "test-a:refresh_family_revoked:famp");
    assert_true(pttl > 604790000 && pttl <= 604800000);
}

static void
test_refresh_family_revoked_blocks_without_claiming(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    assert_int_equal(mark(e, "refresh_family_revoked:famx", STORE_FAMILY_REVOKED_TTL_MS), STORE_OK);
    assert_int_equal(refresh(e, "famx", "t9", NOW_MS, 0), STORE_REFRESH_FAMILY_REVOKED);
    assert_int_equal(admin_int(e->admin, "EXISTS %s", "test-a:refresh:t9"), 0);
}

static void
test_refresh_grace_zero_and_legacy_value(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    assert_int_equal(refresh(e, "famz", "t1", NOW_MS, 0), STORE_REFRESH_FRESH);
    assert_int_equal(refresh(e, "famz", "t1", NOW_MS, 0), STORE_REFRESH_REUSED);
    /* A claim written by an older binary holds "1": always stale. */
    redisReply *r = redisCommand(e->admin, "SET %s 1", "test-a:refresh:legacy");
    freeReplyObject(r);
    assert_int_equal(refresh(e, "faml", "legacy", NOW_MS, 3600000), STORE_REFRESH_REUSED);
}

static void
test_refresh_noscript_fallback(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    /* Our SHA-1 is the one Redis computes for the script. */
    char sha[41], server_sha[64];
    store_redis_proto_refresh_sha1(sha);
    admin_str(e->admin, server_sha, sizeof(server_sha), "SCRIPT LOAD %s",
              store_redis_proto_refresh_script());
    assert_string_equal(sha, server_sha);
    /* After a flush (a restart, a failover) EVALSHA gets NOSCRIPT: the store
     * resends with EVAL, which also reloads the cache. */
    redisReply *r = redisCommand(e->admin, "SCRIPT FLUSH");
    freeReplyObject(r);
    assert_int_equal(refresh(e, "famn", "t1", NOW_MS, 0), STORE_REFRESH_FRESH);
    r = redisCommand(e->admin, "SCRIPT EXISTS %s", sha);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[0]->integer, 1);
    freeReplyObject(r);
    assert_int_equal(refresh(e, "famn", "t1", NOW_MS, 0), STORE_REFRESH_REUSED);
    /* The EVAL resend still reports the claim time: its own now for FRESH,
     * the stored one for RETRY. */
    int64_t c = 0;
    freeReplyObject(redisCommand(e->admin, "SCRIPT FLUSH"));
    assert_int_equal(refresh_retry(e, "n1", NOW_MS + 7, &c), STORE_REFRESH_FRESH);
    assert_int_equal(c, NOW_MS + 7);
    freeReplyObject(redisCommand(e->admin, "SCRIPT FLUSH"));
    assert_int_equal(refresh_retry(e, "n1", NOW_MS + 900, &c), STORE_REFRESH_RETRY);
    assert_int_equal(c, NOW_MS + 7);
}

static void
test_cancelled_refresh_still_takes_effect(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    redisReply *r = redisCommand(e->admin, "SCRIPT FLUSH"); /* through the fallback too */
    freeReplyObject(r);
    struct buf fk, ck;
    buf_init(&fk, 128);
    buf_init(&ck, 128);
    assert_int_equal(store_key_refresh_family_revoked(SLICE_LIT("famc"), &fk), 0);
    assert_int_equal(store_key_refresh(SLICE_LIT("tc"), &ck), 0);
    struct store_refresh_req req = {.family_key = buf_slice(&fk),
                                    .claim_key = buf_slice(&ck),
                                    .claim_ttl_ms = 60000,
                                    .family_ttl_ms = 60000,
                                    .now_ms = NOW_MS,
                                    .grace_ms = 0};
    struct result res = {0};
    struct store_op *op = store_refresh_claim(e->store, &req, on_refresh, &res);
    store_cancel(op);
    buf_cleanup(&fk);
    buf_cleanup(&ck);
    /* A later command on the same connection is answered after it. */
    assert_int_equal(claim(e, e->store, "consent:after", 1000), STORE_OK);
    /* The EVAL resend went out when NOSCRIPT came back, before this PING
     * was written, so the PONG means it ran. */
    struct result p = {0};
    store_ping(e->store, on_done, &p);
    loop_run_until_called(e->base, &p.calls, 2000);
    assert_int_equal(res.calls, 0);
    assert_int_equal(admin_int(e->admin, "EXISTS %s", "test-a:refresh:tc"), 1);
}

static void
test_ping_and_free_with_operations_in_flight(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    struct result p = {0};
    store_ping(e->store, on_done, &p);
    loop_run_until_called(e->base, &p.calls, 2000);
    assert_int_equal(p.rc, STORE_OK);
    /* Freeing a store with commands in flight: no callback, no leak (the
     * connection closes at once; what was not yet written is dropped). */
    struct store *s = store_new(e->backend, e->base);
    assert_true(wait_connected(e->base, s, 3000));
    struct result a = {0}, b = {0};
    store_claim_once(s, SLICE_LIT("consent:inflight"), 1000, on_done, &a);
    store_ping(s, on_done, &b);
    store_free(s);
    loop_run_for(e->base, 100);
    assert_int_equal(a.calls + b.calls, 0);
}

static void
test_select_database(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/3", e->srv.port);
    struct store_backend *b = backend(url, "p:", NULL);
    struct store *s = store_new(b, e->base);
    assert_true(wait_connected(e->base, s, 3000));
    assert_int_equal(claim(e, s, "consent:db3", 10000), STORE_OK);
    assert_int_equal(admin_int(e->admin, "EXISTS %s", "p:consent:db3"), 0);
    redisReply *r = redisCommand(e->admin, "SELECT 3");
    freeReplyObject(r);
    assert_int_equal(admin_int(e->admin, "EXISTS %s", "p:consent:db3"), 1);
    store_free(s);
    store_backend_free(b);
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/99", e->srv.port);
    b = backend(url, "p:", NULL);
    char err[STORE_ERROR_MAX];
    assert_int_equal(check_backend(b, 3000, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "SELECT 99 failed"));
    store_backend_free(b);
}

static void
test_host_name_is_resolved(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    char url[64], err[STORE_ERROR_MAX];
    /* "localhost" comes from the hosts file: no DNS traffic leaves the host. */
    snprintf(url, sizeof(url), "redis://localhost:%d", e->srv.port);
    struct store_backend *b = backend(url, "test-a:", NULL);
    assert_int_equal(check_backend(b, 3000, err, sizeof(err)), 0);
    struct store *s = store_new(b, e->base);
    assert_true(wait_connected(e->base, s, 3000));
    assert_int_equal(claim(e, s, "authz_code:byname", 1000), STORE_OK);
    store_free(s);
    store_backend_free(b);
}

/* ---- Readiness (SPEC.md 5.5) ---------------------------------------------------------- */

static void
test_readiness_probe_is_single_flight(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    redisReply *r = redisCommand(e->admin, "CONFIG RESETSTAT");
    freeReplyObject(r);
    struct store_readiness *rd = store_readiness_new(NULL);
    struct result a[8];
    memset(a, 0, sizeof(a));
    for (int i = 0; i < 8; i++) {
        store_readiness_check(rd, e->store, on_done, &a[i]);
    }
    loop_run_until_called(e->base, &a[7].calls, 2000);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(a[i].calls, 1);
        assert_int_equal(a[i].rc, STORE_OK);
    }
    assert_int_equal(store_readiness_probes(rd), 1);
    /* Redis saw exactly one EXISTS, on the prefixed probe key. */
    char info[4096];
    admin_str(e->admin, info, sizeof(info), "INFO commandstats");
    assert_non_null(strstr(info, "cmdstat_exists:calls=1,"));
    store_readiness_free(rd);
}

/* ---- Authentication ---------------------------------------------------------------------- */

/* The ACL user the docs recommend: exactly these commands, our keys only. */
static const char ACL_RULES[] =
    "on >s3cret ~acl:* resetchannels -@all +set +get +exists +eval +evalsha +ping +select";

static void
acl_user(redisContext *c, const char *name, const char *rules)
{
    /* hiredis %s arguments are single words: split the rules. */
    const char *argv[24];
    size_t lens[24];
    char copy[256];
    int n = 0;
    snprintf(copy, sizeof(copy), "%s", rules);
    argv[n++] = "ACL";
    argv[n++] = "SETUSER";
    argv[n++] = name;
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w != NULL;
         w = strtok_r(NULL, " ", &save)) {
        argv[n++] = w;
    }
    for (int i = 0; i < n; i++) {
        lens[i] = strlen(argv[i]);
    }
    redisReply *r = redisCommandArgv(c, n, argv, lens);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
}

static int
check_url(const char *url, const char *ca_file, char *err, size_t cap)
{
    char build_err[STORE_ERROR_MAX];
    struct store_backend *b = new_backend(url, "acl:", ca_file, build_err, sizeof(build_err));
    assert_non_null(b);
    err[0] = '\0';
    int rc = check_backend(b, 3000, err, cap);
    store_backend_free(b);
    return rc;
}

static void
test_auth_acl_and_legacy(void **state)
{
    NEED_REDIS();
    (void)state;
    static struct server srv; /* static: group teardown may stop it */
    memset(&srv, 0, sizeof(srv));
    const char *extra[] = {"--requirepass", "adminpw", NULL};
    server_start(&srv, false, extra);
    redisContext *c = admin(&srv, "adminpw");
    acl_user(c, "proxy", ACL_RULES);
    /* The same without GET: the refresh script needs it (ACLs apply to the
     * commands a script calls). */
    acl_user(c, "noget",
             "on >s3cret ~acl:* resetchannels -@all +set +exists +eval +evalsha "
             "+ping +select");
    char url[128], err[STORE_ERROR_MAX];

    snprintf(url, sizeof(url), "redis://proxy:s3cret@127.0.0.1:%d/2", srv.port);
    assert_int_equal(check_url(url, NULL, err, sizeof(err)), 0);
    snprintf(url, sizeof(url), "redis://:adminpw@127.0.0.1:%d", srv.port);
    assert_int_equal(check_url(url, NULL, err, sizeof(err)), 0);

    snprintf(url, sizeof(url), "redis://proxy:wrong@127.0.0.1:%d", srv.port);
    assert_int_equal(check_url(url, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "authentication failed"));
    assert_null(strstr(err, "wrong"));
    snprintf(url, sizeof(url), "redis://:wrong@127.0.0.1:%d", srv.port);
    assert_int_equal(check_url(url, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "authentication failed"));
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", srv.port);
    assert_int_equal(check_url(url, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "authentication required"));

    /* Every operation works with the minimal ACL, the NOSCRIPT fallback
     * included. */
    struct env e = {.srv = srv};
    e.base = event_base_new();
    snprintf(url, sizeof(url), "redis://proxy:s3cret@127.0.0.1:%d", srv.port);
    struct store_backend *b = backend(url, "acl:", NULL);
    struct store *s = store_new(b, e.base);
    assert_true(wait_connected(e.base, s, 3000));
    e.store = s;
    assert_int_equal(claim(&e, s, "consent:a", 10000), STORE_OK);
    assert_int_equal(claim(&e, s, "consent:a", 10000), STORE_ERR_ALREADY_USED);
    assert_int_equal(mark(&e, "refresh_family_revoked:m", 10000), STORE_OK);
    redisReply *r = redisCommand(c, "SCRIPT FLUSH");
    freeReplyObject(r);
    assert_int_equal(refresh_on(&e, s, "f", "t", NOW_MS, 5000, NULL), STORE_REFRESH_FRESH);
    assert_int_equal(refresh_on(&e, s, "f", "t", NOW_MS + 10, 5000, NULL), STORE_REFRESH_RACING);
    struct result p = {0};
    store_ping(s, on_done, &p);
    loop_run_until_called(e.base, &p.calls, 2000);
    assert_int_equal(p.rc, STORE_OK);
    store_free(s);
    store_backend_free(b);

    /* Without +get the racing check fails closed with the server's word. */
    snprintf(url, sizeof(url), "redis://noget:s3cret@127.0.0.1:%d", srv.port);
    b = backend(url, "acl:", NULL);
    s = store_new(b, e.base);
    assert_true(wait_connected(e.base, s, 3000));
    struct result res;
    assert_int_equal(refresh_on(&e, s, "g", "t2", NOW_MS, 5000, &res), STORE_REFRESH_FRESH);
    assert_int_equal(refresh_on(&e, s, "g", "t2", NOW_MS + 10, 5000, &res),
                     STORE_REFRESH_UNAVAILABLE);
    assert_non_null(strstr(res.error, "can't run this command"));
    store_free(s);
    store_backend_free(b);

    event_base_free(e.base);
    redisFree(c);
    server_stop(&srv);
}

/* ---- TLS ----------------------------------------------------------------------------------- */

static char tls_dir[256];

/* A CA and server certificates made with the openssl CLI at run time: the
 * server's names 127.0.0.1 and localhost; a second CA the server does not
 * use; and a certificate for a name we never connect to. */
static bool
make_certs(void)
{
    snprintf(tls_dir, sizeof(tls_dir), "%s/tls", tmp_root);
    mkdir(tls_dir, 0700);
    char cmd[4096];
    const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && exec >/dev/null 2>&1 && "
             "openssl req -x509 %s -keyout ca.key -out ca.crt -days 2 -subj /CN=store-test-ca && "
             "openssl req -x509 %s -keyout other-ca.key -out other-ca.crt -days 2 "
             "-subj /CN=other-ca && "
             "openssl req %s -keyout server.key -out server.csr -subj /CN=localhost && "
             "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext && "
             "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out server.crt -days 2 -extfile server.ext && "
             "openssl req %s -keyout wrong.key -out wrong.csr -subj /CN=wrong.example && "
             "printf 'subjectAltName=DNS:wrong.example\\n' > wrong.ext && "
             "openssl x509 -req -in wrong.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out wrong.crt -days 2 -extfile wrong.ext",
             tls_dir, ec, ec, ec, ec);
    return system(cmd) == 0;
}

static void
tls_server(struct server *srv, const char *cert, const char *key)
{
    char cert_path[320], key_path[320], ca_path[320];
    snprintf(cert_path, sizeof(cert_path), "%s/%s", tls_dir, cert);
    snprintf(key_path, sizeof(key_path), "%s/%s", tls_dir, key);
    snprintf(ca_path, sizeof(ca_path), "%s/ca.crt", tls_dir);
    const char *extra[] = {"--tls-cert-file",
                           cert_path,
                           "--tls-key-file",
                           key_path,
                           "--tls-ca-cert-file",
                           ca_path,
                           "--tls-auth-clients",
                           "no",
                           NULL};
    server_start(srv, true, extra);
}

static void
test_tls(void **state)
{
    NEED_REDIS();
    (void)state;
    assert_true(make_certs());
    static struct server srv; /* static: group teardown may stop it */
    memset(&srv, 0, sizeof(srv));
    tls_server(&srv, "server.crt", "server.key");
    char url[128], ca[320], other_ca[320], err[STORE_ERROR_MAX];
    snprintf(ca, sizeof(ca), "%s/ca.crt", tls_dir);
    snprintf(other_ca, sizeof(other_ca), "%s/other-ca.crt", tls_dir);

    /* IP literal (verified against the IP SAN) and host name (SNI and the
     * DNS SAN). */
    snprintf(url, sizeof(url), "rediss://127.0.0.1:%d", srv.tls_port);
    assert_int_equal(check_url(url, ca, err, sizeof(err)), 0);
    snprintf(url, sizeof(url), "rediss://localhost:%d/1", srv.tls_port);
    assert_int_equal(check_url(url, ca, err, sizeof(err)), 0);

    /* Operations over TLS land in Redis. */
    struct env e = {.srv = srv};
    e.base = event_base_new();
    struct store_backend *b = backend(url, "tls:", ca);
    struct store *s = store_new(b, e.base);
    assert_true(wait_connected(e.base, s, 3000));
    assert_int_equal(claim(&e, s, "consent:overtls", 10000), STORE_OK);
    assert_int_equal(refresh_on(&e, s, "f", "t", NOW_MS, 0, NULL), STORE_REFRESH_FRESH);
    redisContext *c = admin(&srv, NULL);
    redisReply *r = redisCommand(c, "SELECT 1");
    freeReplyObject(r);
    assert_int_equal(admin_int(c, "EXISTS %s", "tls:consent:overtls"), 1);
    redisFree(c);
    store_free(s);
    store_backend_free(b);
    event_base_free(e.base);

    /* A CA that did not sign the server, or the system store: refused. */
    snprintf(url, sizeof(url), "rediss://127.0.0.1:%d", srv.tls_port);
    assert_int_equal(check_url(url, other_ca, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "TLS certificate verification failed"));
    assert_int_equal(check_url(url, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "TLS certificate verification failed"));

    /* Plain to a TLS port, TLS to a plain port. */
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", srv.tls_port);
    assert_int_equal(check_url(url, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "a TLS port needs rediss://"));
    snprintf(url, sizeof(url), "rediss://127.0.0.1:%d", srv.port);
    assert_int_equal(check_url(url, ca, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "TLS handshake"));
    server_stop(&srv);

    /* A certificate for another name: hostname and IP checks refuse it. */
    static struct server wrong;
    memset(&wrong, 0, sizeof(wrong));
    tls_server(&wrong, "wrong.crt", "wrong.key");
    snprintf(url, sizeof(url), "rediss://127.0.0.1:%d", wrong.tls_port);
    assert_int_equal(check_url(url, ca, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "IP address mismatch"));
    snprintf(url, sizeof(url), "rediss://localhost:%d", wrong.tls_port);
    assert_int_equal(check_url(url, ca, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "hostname mismatch"));
    server_stop(&wrong);
}

static void
test_tls_configuration_refusals(void **state)
{
    (void)state;
    char err[STORE_ERROR_MAX];
    assert_null(new_backend("rediss://h:1", "", "/nonexistent/ca.pem", err, sizeof(err)));
    assert_non_null(strstr(err, "REDIS_CA_FILE /nonexistent/ca.pem cannot be loaded"));
    assert_null(new_backend("redis://h:1", "", "/etc/ssl/certs/ca.pem", err, sizeof(err)));
    assert_non_null(strstr(err, "use rediss://"));
    /* The cluster back end shares the rule (store_redis_link_tls_ctx). */
    struct buf cerr;
    buf_init(&cerr, STORE_ERROR_MAX - 1);
    assert_null(store_redis_cluster_backend_new("redis+cluster://h:1", "", "/etc/hosts", &cerr));
    assert_non_null(strstr(buf_cstr(&cerr), "plain redis+cluster://; use rediss+cluster://"));
    buf_reset(&cerr);
    assert_null(
        store_redis_cluster_backend_new("rediss+cluster://h:1", "", "/nonexistent/ca.pem", &cerr));
    assert_non_null(strstr(buf_cstr(&cerr), "REDIS_CA_FILE /nonexistent/ca.pem cannot be loaded"));
    buf_cleanup(&cerr);
    assert_null(new_backend("http://h:1", "", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "redis://"));
    struct store_backend *b = new_backend("rediss://u:pw@h:7/2", "", NULL, err, sizeof(err));
    assert_non_null(b);
    assert_string_equal(store_backend_name(b), "redis");
    assert_string_equal(store_redis_backend_describe(b), "rediss://h:7/2");
    store_backend_free(b);
}

/* ---- Faults -------------------------------------------------------------------------------- */

static void
test_unreachable_is_reported(void **state)
{
    (void)state;
    char url[64], err[STORE_ERROR_MAX];
    int port = free_port(); /* nothing listens there */
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
    struct store_backend *b = backend(url, "", NULL);
    assert_int_equal(check_backend(b, 3000, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot connect to redis://127.0.0.1:"));
    assert_non_null(strstr(err, "127.0.0.1 connection refused"));
    store_backend_free(b);
}

/* A dual-stack Redis host whose first address refuses: "dual.test" is ::1
 * then 127.0.0.1 (hosts-file order) and redis-server listens on 127.0.0.1
 * only. The start-up check and a worker's store both connect on the
 * second address, and the socket carries the configured keep-alive. */
static void
test_dual_stack_host(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    char path[] = "/tmp/redis-hosts-XXXXXX";
    int fd = mkstemp(path);
    static const char text[] = "::1 dual.test\n127.0.0.1 dual.test\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    char url[64], err[STORE_ERROR_MAX];
    snprintf(url, sizeof(url), "redis://dual.test:%d", e->srv.port);
    struct store_backend *b = backend(url, "dual:", NULL);
    const struct net_resolver_opts dns = {.hosts_file = path};
    const struct net_keepalive ka = {.idle_s = 31, .interval_s = 5, .count = 2};
    store_redis_backend_set_net(b, &dns, &ka);
    assert_int_equal(check_backend(b, 3000, err, sizeof(err)), 0);
    struct store *s = store_new(b, e->base);
    assert_true(wait_connected(e->base, s, 3000));
    assert_int_equal(claim(e, s, "consent:dual", 10000), STORE_OK);
    assert_int_equal(admin_int(e->admin, "EXISTS %s", "dual:consent:dual"), 1);
    /* Keep-alive on the store's socket: find it among the server's clients
     * by asking the kernel about every descriptor we hold. */
    bool found = false;
    for (int i = 3; i < 1024 && !found; i++) {
        int v = 0;
        socklen_t len = sizeof(v);
        found = getsockopt(i, IPPROTO_TCP, TCP_KEEPIDLE, &v, &len) == 0 && v == 31;
    }
    assert_true(found);
    store_free(s);
    store_backend_free(b);
    unlink(path);
}

static void
test_redis_stopped_then_restarted(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    assert_int_equal(claim(e, e->store, "consent:before", 60000), STORE_OK);
    redisFree(e->admin);
    e->admin = NULL;
    server_stop(&e->srv);
    uint64_t end = clock_mono_ms() + 2000;
    while (store_is_connected(e->store) && clock_mono_ms() < end) {
        loop_run_for(e->base, 10);
    }
    assert_false(store_is_connected(e->store));

    /* Disconnected: answers come at once (next loop turn), never queued. */
    struct result r = {0};
    uint64_t t0 = clock_mono_ms();
    store_claim_once(e->store, SLICE_LIT("consent:during"), 1000, on_done, &r);
    assert_int_equal(r.calls, 0);
    loop_run_until_called(e->base, &r.calls, 1000);
    assert_int_equal(r.rc, STORE_ERR_UNAVAILABLE);
    assert_true(r.at_ms - t0 < 50);
    assert_non_null(strstr(r.error, "not connected"));
    struct result p = {0};
    store_ping(e->store, on_done, &p);
    loop_run_until_called(e->base, &p.calls, 1000);
    assert_int_equal(p.rc, STORE_ERR_UNAVAILABLE);
    struct result rf = {0};
    refresh_on(e, e->store, "f", "t", NOW_MS, 0, &rf);
    assert_int_equal(rf.rc, STORE_REFRESH_UNAVAILABLE);

    /* Back on the same port: the store reconnects by itself (backoff is at
     * most 5 s). */
    server_start(&e->srv, false, NULL);
    assert_true(wait_connected(e->base, e->store, 8000));
    e->admin = admin(&e->srv, NULL);
    assert_int_equal(claim(e, e->store, "consent:after", 60000), STORE_OK);
    /* The restarted server lost the script cache: NOSCRIPT fallback. */
    assert_int_equal(refresh(e, "f", "t", NOW_MS, 0), STORE_REFRESH_FRESH);
}

/* The fault server: accepts connections and never reads or answers. */
struct black_hole {
    struct evconnlistener *listener;
    int fds[16];
    int accepted;
    int port;
};

static void
on_black_hole_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                     void *arg)
{
    struct black_hole *bh = arg;
    (void)l;
    (void)sa;
    (void)len;
    if (bh->accepted < 16) {
        bh->fds[bh->accepted] = fd;
    } else {
        close(fd);
    }
    bh->accepted++;
}

static void
black_hole_open(struct black_hole *bh, struct event_base *base)
{
    memset(bh, 0, sizeof(*bh));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bh->listener = evconnlistener_new_bind(base, on_black_hole_accept, bh,
                                           LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                           (struct sockaddr *)&sa, sizeof(sa));
    assert_non_null(bh->listener);
    socklen_t len = sizeof(sa);
    getsockname(evconnlistener_get_fd(bh->listener), (struct sockaddr *)&sa, &len);
    bh->port = ntohs(sa.sin_port);
}

static void
black_hole_close(struct black_hole *bh)
{
    for (int i = 0; i < bh->accepted && i < 16; i++) {
        close(bh->fds[i]);
    }
    evconnlistener_free(bh->listener);
}

static void
black_hole_case(const char *options, uint64_t min_ms, uint64_t max_ms)
{
    struct event_base *base = event_base_new();
    struct black_hole bh;
    black_hole_open(&bh, base);
    char url[128];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d%s", bh.port, options);
    struct store_backend *b = backend(url, "", NULL);
    struct store *s = store_new(b, base);
    loop_run_until_called(base, &bh.accepted, 2000);
    assert_int_equal(bh.accepted, 1);
    loop_run_for(base, 20);              /* let the store see its connection established */
    assert_false(store_is_connected(s)); /* the handshake PING is unanswered */

    struct result r = {0};
    uint64_t t0 = clock_mono_ms();
    store_claim_once(s, SLICE_LIT("consent:hang"), 1000, on_done, &r);
    loop_run_until_called(base, &r.calls, 3000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.rc, STORE_ERR_UNAVAILABLE);
    assert_non_null(strstr(r.error, "no reply from"));
    uint64_t took = r.at_ms - t0;
    if (took < min_ms || took > max_ms) {
        fail_msg("command timeout fired after %llu ms, want %llu..%llu", (unsigned long long)took,
                 (unsigned long long)min_ms, (unsigned long long)max_ms);
    }
    /* The connection was dropped and the store reconnects on its own. */
    int before = bh.accepted;
    uint64_t end = clock_mono_ms() + 2000;
    while (bh.accepted == before && clock_mono_ms() < end) {
        loop_run_for(base, 10);
    }
    assert_true(bh.accepted > before);
    store_free(s);
    store_backend_free(b);
    black_hole_close(&bh);
    event_base_free(base);
}

static void
test_server_that_never_answers(void **state)
{
    (void)state;
    /* Default 500 ms command timeout: the op fails closed within ~0.5-1 s. */
    black_hole_case("", 300, 1000);
    /* read_timeout from REDIS_URL is honoured. */
    black_hole_case("?read_timeout=150ms", 50, 400);
}

static void
test_startup_check_against_silent_server(void **state)
{
    (void)state;
    /* The check runs its own private loop, so this fault server is a bare
     * listening socket: the kernel completes the TCP handshake from the
     * backlog and nothing ever reads or answers. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 16), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    char url[64], err[STORE_ERROR_MAX];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", ntohs(sa.sin_port));
    struct store_backend *b = backend(url, "", NULL);
    uint64_t t0 = clock_mono_ms();
    assert_int_equal(check_backend(b, 3000, err, sizeof(err)), -1);
    uint64_t took = clock_mono_ms() - t0;
    assert_non_null(strstr(err, "no reply from"));
    assert_true(took < 1500);
    store_backend_free(b);
    close(fd);
}

/* ---- main ----------------------------------------------------------------------------------- */

static int
group_setup(void **state)
{
    (void)state;
    have_redis = on_path("redis-server");
    const char *allow = getenv("MCP_TEST_ALLOW_NO_REDIS");
    allow_no_redis = allow != NULL && strcmp(allow, "1") == 0;
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_root, sizeof(tmp_root), "%s/store-redis-XXXXXX", tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(tmp_root));
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(running) / sizeof(running[0]); i++) {
        if (running[i] != NULL) {
            server_stop(running[i]);
        }
    }
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) {
        print_message("could not remove %s\n", tmp_root);
    }
    return 0;
}

/* ---- REDIS_MIN_REPLICAS_ACK: WAIT after every write ----------------------------------- */

/* Without a replica WAIT 1 answers 0: the claim landed on the primary but
 * must not count (fail closed, counted, the reason says so). With a
 * replica attached every write is acknowledged and answers as before. */
static void
test_min_replicas_ack(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    store_redis_backend_set_replicas_ack(e->backend, 1, 50);
    uint64_t short_before = metrics_get(METRICS_REDIS_REPLICA_ACK_SHORT);
    struct result r = {0};
    store_claim_once(e->store, slice_from_cstr("authz_code:w1"), 60000, on_done, &r);
    loop_run_until_called(e->base, &r.calls, 3000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.rc, STORE_ERR_UNAVAILABLE);
    assert_non_null(strstr(r.error, "WAIT: 0 of 1 replicas acknowledged within 50 ms"));
    assert_int_equal(metrics_get(METRICS_REDIS_REPLICA_ACK_SHORT), short_before + 1);
    assert_int_equal(admin_int(e->admin, "EXISTS %s", "test-a:authz_code:w1"), 1);
    /* The refresh script is a write too. */
    assert_int_equal(refresh(e, "famw", "tw0", NOW_MS, 0), STORE_REFRESH_UNAVAILABLE);
    assert_int_equal(metrics_get(METRICS_REDIS_REPLICA_ACK_SHORT), short_before + 2);
    /* The readiness probe reads only: no WAIT. */
    struct result p = {0};
    store_ping(e->store, on_done, &p);
    loop_run_until_called(e->base, &p.calls, 3000);
    assert_int_equal(p.rc, STORE_OK);

    /* A replica of the primary: writes are acknowledged. */
    struct server replica = {0};
    char primary_port[16];
    snprintf(primary_port, sizeof(primary_port), "%d", e->srv.port);
    const char *extra[] = {"--replicaof", "127.0.0.1", primary_port, NULL};
    server_start(&replica, false, extra);
    uint64_t end = clock_mono_ms() + 10000;
    while (admin_int(e->admin, "WAIT %d %d", 1, 100) < 1 && clock_mono_ms() < end) {
    }
    assert_true(admin_int(e->admin, "WAIT %d %d", 1, 1000) >= 1);
    store_redis_backend_set_replicas_ack(e->backend, 1, 1000);
    assert_int_equal(claim(e, e->store, "authz_code:w2", 60000), STORE_OK);
    assert_int_equal(claim(e, e->store, "authz_code:w2", 60000), STORE_ERR_ALREADY_USED);
    assert_int_equal(mark(e, "refresh_family_revoked:famw", 60000), STORE_OK);
    assert_int_equal(refresh(e, "famw2", "tw1", NOW_MS, 0), STORE_REFRESH_FRESH);
    assert_int_equal(metrics_get(METRICS_REDIS_REPLICA_ACK_SHORT), short_before + 2);
    redisContext *rc = admin(&replica, NULL);
    assert_int_equal(admin_int(rc, "EXISTS %s", "test-a:authz_code:w2"), 1);
    redisFree(rc);
    store_redis_backend_set_replicas_ack(e->backend, 0, 0);
    server_stop(&replica);
}

/* ---- store/redis_link on its own: batches, retarget, state, subscribe ------------------ */

struct link_probe {
    int ups;
    int downs;
    int replies;
    size_t count;
    char first[64];
    char second[64];
    int pushes;
    char payload[64];
};

static void
on_link_state(void *arg, bool up, const char *reason)
{
    struct link_probe *p = arg;
    (void)reason;
    if (up) {
        p->ups++;
    } else {
        p->downs++;
    }
}

static void
on_link_replies(void *arg, struct store_redis_reply *const *replies, size_t count,
                const char *error)
{
    struct link_probe *p = arg;
    assert_null(error);
    p->replies++;
    p->count = count;
    snprintf(p->first, sizeof(p->first), "%s", replies[0]->str ? replies[0]->str : "");
    snprintf(p->second, sizeof(p->second), "%s", replies[1]->str ? replies[1]->str : "");
}

static void
on_link_push(void *arg, const struct store_redis_reply *msg)
{
    struct link_probe *p = arg;
    if (msg->type == STORE_REDIS_ARRAY && msg->count == 3 && msg->elems[2]->str != NULL) {
        p->pushes++;
        snprintf(p->payload, sizeof(p->payload), "%s", msg->elems[2]->str);
    }
}

static void
run_until(struct event_base *base, const int *counter, int want, unsigned ms)
{
    uint64_t end = clock_mono_ms() + ms;
    while (*counter < want && clock_mono_ms() < end) {
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void
test_link_batch_retarget_subscribe(void **state)
{
    NEED_REDIS();
    struct env *e = *state;
    struct store_redis_target t = {
        .host = "127.0.0.1",
        .port = (unsigned)e->srv.port,
        .connect_timeout_ms = 2000,
        .command_timeout_ms = 500,
    };
    struct link_probe p = {0};
    struct store_redis_link_opts o = {.target = &t, .on_state = on_link_state, .arg = &p};
    struct store_redis_link *l = store_redis_link_new(e->base, &o);
    run_until(e->base, &p.ups, 1, 3000);
    assert_true(store_redis_link_is_up(l));
    /* One batch of two commands, one callback with both replies. */
    struct buf b;
    buf_init(&b, 1024);
    struct slice set[] = {SLICE_LIT("SET"), SLICE_LIT("link:k"), SLICE_LIT("v1")};
    struct slice get[] = {SLICE_LIT("GET"), SLICE_LIT("link:k")};
    assert_int_equal(store_redis_proto_command(&b, 3, set), 0);
    assert_int_equal(store_redis_proto_command(&b, 2, get), 0);
    assert_non_null(store_redis_link_send(l, &b, 2, 0, on_link_replies, &p, NULL));
    run_until(e->base, &p.replies, 1, 3000);
    assert_int_equal(p.count, 2);
    assert_string_equal(p.first, "OK");
    assert_string_equal(p.second, "v1");

    /* Retarget to another server: dropped, then up there; the key is not there. */
    struct server other = {0};
    server_start(&other, false, NULL);
    store_redis_link_retarget(l, "127.0.0.1", (unsigned)other.port);
    run_until(e->base, &p.ups, 2, 3000);
    assert_int_equal(p.downs, 1);
    assert_int_equal(store_redis_link_port(l), (unsigned)other.port);
    assert_int_equal(store_redis_link_send(l, &b, 2, 0, on_link_replies, &p, NULL) != NULL, 1);
    run_until(e->base, &p.replies, 2, 3000);
    assert_string_equal(p.first, "OK");
    server_stop(&other);
    run_until(e->base, &p.downs, 2, 3000);
    /* Down: refused at once with the reason, no callback. */
    struct buf why;
    buf_init(&why, STORE_ERROR_MAX - 1);
    assert_null(store_redis_link_send(l, &b, 2, 0, on_link_replies, &p, &why));
    assert_non_null(strstr(buf_cstr(&why), "not connected"));
    buf_cleanup(&why);
    buf_cleanup(&b);
    store_redis_link_free(l);

    /* Subscribe mode: a message published on the channel reaches push. */
    struct link_probe q = {0};
    t.port = (unsigned)e->srv.port;
    o.arg = &q;
    struct store_redis_link *sub = store_redis_link_new(e->base, &o);
    store_redis_link_subscribe(sub, "link-test", on_link_push, &q);
    run_until(e->base, &q.ups, 1, 3000);
    uint64_t end = clock_mono_ms() + 3000;
    while (q.pushes == 0 && clock_mono_ms() < end) {
        admin_int(e->admin, "PUBLISH %s %s", "link-test", "hello");
        run_until(e->base, &q.pushes, 1, 100);
    }
    assert_true(q.pushes >= 1);
    assert_string_equal(q.payload, "hello");
    store_redis_link_free(sub);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    /* Readiness waiters on other loops are woken with event_active(). */
    evthread_use_pthreads();
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        T(test_claim_once_applies_prefix),
        T(test_different_prefixes_isolate),
        T(test_ttl_applied),
        T(test_claim_after_expiry),
        T(test_refresh_fresh_writes_claim_time),
        T(test_refresh_racing_within_grace_writes_no_marker),
        T(test_refresh_retry_within_retry_grace),
        T(test_refresh_reuse_past_grace_revokes_for_7_days),
        T(test_refresh_family_revoked_blocks_without_claiming),
        T(test_refresh_grace_zero_and_legacy_value),
        T(test_refresh_noscript_fallback),
        T(test_cancelled_refresh_still_takes_effect),
        T(test_ping_and_free_with_operations_in_flight),
        T(test_select_database),
        T(test_readiness_probe_is_single_flight),
        T(test_host_name_is_resolved),
        T(test_min_replicas_ack),
        T(test_link_batch_retarget_subscribe),
        cmocka_unit_test(test_auth_acl_and_legacy),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_tls_configuration_refusals),
        cmocka_unit_test(test_unreachable_is_reported),
        T(test_redis_stopped_then_restarted),
        T(test_dual_stack_host),
        cmocka_unit_test(test_server_that_never_answers),
        cmocka_unit_test(test_startup_check_against_silent_server),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
