/* The Redis replay-store back end (see redis.h): the process-wide part --
 * parsed URL, TLS context, script SHA-1, the sentinels in Sentinel mode --
 * and the start-up check. Each
 * worker's connection lives in redis_conn.c. */
#include "store/redis.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "store/redis_conn.h"
#include "net/tls.h"
#include "store/redis_proto.h"
#include "store/redis_sentinel.h"
#include "store/redis_url.h"
#include "store/store_int.h"

static struct store *
redis_open(struct store_backend *b, struct event_base *base)
{
    return store_redis_conn_open((struct store_redis_shared *)b, base);
}

static void
redis_backend_free(struct store_backend *b)
{
    struct store_redis_shared *be = (struct store_redis_shared *)b;
    store_redis_url_cleanup(&be->url);
    store_redis_sentinel_conf_free(be->sentinel);
    net_tls_ctx_free(be->ssl_ctx);
    store_redis_net_cleanup(&be->net);
    store_backend_cleanup(&be->base);
    xfree(be);
}

static const struct store_backend_ops redis_ops = {
    .name = "redis",
    .open = redis_open,
    .backend_free = redis_backend_free,
    .start = store_redis_conn_start,
    .detach = store_redis_conn_detach,
    .close = store_redis_conn_close,
    .is_connected = store_redis_conn_is_connected,
};

/* Sentinel mode: the same per-worker store; another name, so that code
 * built for a fixed REDIS_URL host (the revocation subscriber) does not
 * take REDIS_URL's placeholder host for the primary
 * (store_redis_backend_primary says where it is). */
static const struct store_backend_ops redis_sentinel_ops = {
    .name = "redis-sentinel",
    .open = redis_open,
    .backend_free = redis_backend_free,
    .start = store_redis_conn_start,
    .detach = store_redis_conn_detach,
    .close = store_redis_conn_close,
    .is_connected = store_redis_conn_is_connected,
};

static bool
is_redis(const struct store_backend *b)
{
    return b != NULL && (b->ops == &redis_ops || b->ops == &redis_sentinel_ops);
}

/* ---- The process-wide back end --------------------------------------------------------- */

static struct store_backend *
backend_new(const struct store_backend_ops *ops, const char *url, const char *key_prefix,
            const char *ca_file, struct buf *err)
{
    struct store_redis_shared *be = xcalloc(1, sizeof(*be));
    store_backend_init(&be->base, ops, key_prefix);
    if (!store_redis_url_parse(url, &be->url, err)) {
        goto fail;
    }
    struct buf where;
    buf_init(&where, sizeof(be->where) - 1);
    if (store_redis_url_format_redacted(&be->url, &where) != 0) {
        buf_cleanup(&where);
        buf_appendf_best(err, "REDIS_URL host is too long");
        goto fail;
    }
    memcpy(be->where, buf_cstr(&where), where.len + 1); /* fits: capped above */
    be->target = (struct store_redis_target){
        .host = be->url.host,
        .port = be->url.port,
        .tls = be->url.tls,
        .user = be->url.user,
        .password = be->url.password,
        .db = be->url.db,
        .connect_timeout_ms = be->url.connect_timeout_ms,
        .command_timeout_ms = be->url.command_timeout_ms,
    };
    buf_cleanup(&where);
    if (!store_redis_link_tls_ctx(be->url.tls, ca_file, "redis", "rediss", &be->ssl_ctx, err)) {
        goto fail;
    }
    store_redis_proto_refresh_sha1(be->sha1);
    return &be->base;
fail:
    redis_backend_free(&be->base);
    return NULL;
}

struct store_backend *
store_redis_backend_new(const char *url, const char *key_prefix, const char *ca_file,
                        struct buf *err)
{
    return backend_new(&redis_ops, url, key_prefix, ca_file, err);
}

struct store_backend *
store_redis_sentinel_backend_new(const struct store_redis_sentinel_spec *spec,
                                 const char *key_prefix, const char *ca_file, struct buf *err)
{
    struct store_backend *b = backend_new(&redis_sentinel_ops, spec->url, key_prefix, ca_file, err);
    if (b == NULL) {
        return NULL;
    }
    struct store_redis_shared *be = (struct store_redis_shared *)b;
    be->sentinel = store_redis_sentinel_conf_new(spec->sentinels, spec->master, spec->user,
                                                 spec->password, &be->target, err);
    if (be->sentinel == NULL) {
        redis_backend_free(b);
        return NULL;
    }
    snprintf(be->where, sizeof(be->where), "%s", store_redis_sentinel_conf_describe(be->sentinel));
    return b;
}

bool
store_redis_backend_primary(const struct store_backend *b, char *host, size_t cap, unsigned *port)
{
    if (!is_redis(b) || cap == 0) {
        return false;
    }
    struct store_redis_shared *be = (struct store_redis_shared *)b;
    if (be->sentinel != NULL) {
        return store_redis_sentinel_conf_primary(be->sentinel, host, cap, port);
    }
    /* A single Redis: REDIS_URL's host, immutable once built. */
    size_t len = strlen(be->url.host);
    if (len >= cap) {
        return false;
    }
    memcpy(host, be->url.host, len + 1);
    *port = be->url.port;
    return true;
}

void
store_redis_backend_set_net(struct store_backend *b, const struct net_resolver_opts *dns,
                            const struct net_keepalive *keepalive)
{
    struct store_redis_shared *be = (struct store_redis_shared *)b;
    store_redis_net_set(&be->net, dns, keepalive);
}

const char *
store_redis_backend_describe(const struct store_backend *b)
{
    return ((const struct store_redis_shared *)b)->where;
}

/* The start-up check: one link, one attempt, no reconnect. */
struct check {
    struct event_base *base;
    struct store_redis_link *link;
    struct store_redis_sentinel *sentinel; /* Sentinel mode */
    bool done;
    bool ok;
    struct buf *error;
};

static void
check_finish(struct check *c, bool ok, const char *error)
{
    if (c->done) {
        return;
    }
    c->done = true;
    c->ok = ok;
    buf_appendf_best(c->error, "%s", error != NULL ? error : "");
    event_base_loopbreak(c->base);
}

static void
on_check_state(void *arg, bool up, const char *reason)
{
    check_finish(arg, up, reason);
}

static void
on_check_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct check *c = arg;
    (void)fd;
    (void)what;
    struct buf reason;
    buf_init(&reason, STORE_ERROR_MAX - 1);
    buf_appendf_best(&reason, "no answer from %s within the start-up check (%s)",
                     store_redis_link_where(c->link),
                     store_redis_link_state(c->link) == STORE_REDIS_LINK_HANDSHAKE
                         ? "connected, waiting for PING"
                         : store_redis_link_last_error(c->link));
    check_finish(c, false, buf_cstr(&reason));
    buf_cleanup(&reason);
}

static void
on_check_outcome(void *arg, bool ok, const char *sentence)
{
    check_finish(arg, ok, sentence);
}

/* Sentinel mode: one discovery pass. The data link reconnects (it is
 * steered), so the pass, not the link, says when it is over. */
static void
on_sentinel_check_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct check *c = arg;
    (void)fd;
    (void)what;
    struct buf reason;
    buf_init(&reason, STORE_ERROR_MAX - 1);
    buf_appendf_best(&reason, "no confirmed primary within the start-up check: %s",
                     store_redis_sentinel_why(c->sentinel));
    check_finish(c, false, buf_cstr(&reason));
    buf_cleanup(&reason);
}

int
store_redis_backend_check(struct store_backend *b, uint64_t timeout_ms, struct buf *err)
{
    struct store_redis_shared *be = (struct store_redis_shared *)b;
    struct check check = {.error = err};
    check.base = store_must(event_base_new(), "event_base_new");
    struct store_redis_link_opts o = {
        .target = &be->target,
        .ssl_ctx = be->ssl_ctx,
        .dns = &be->net.dns,
        .keepalive = store_redis_net_keepalive(&be->net),
        .once = true,
        .on_state = on_check_state,
        .arg = &check,
    };
    event_callback_fn on_timeout = on_check_timeout;
    if (be->sentinel != NULL) {
        struct store_redis_sentinel_opts so = {
            .conf = be->sentinel,
            .ssl_ctx = be->ssl_ctx,
            .dns = &be->net.dns,
            .keepalive = o.keepalive,
            .check = true,
            .outcome = on_check_outcome,
            .arg = &check,
        };
        check.sentinel = store_redis_sentinel_new(check.base, &so);
        o.once = false;
        o.idle = true;
        o.on_state = store_redis_sentinel_data_state;
        o.arg = check.sentinel;
        on_timeout = on_sentinel_check_timeout;
    }
    check.link = store_redis_link_new(check.base, &o);
    if (check.sentinel != NULL) {
        store_redis_sentinel_attach(check.sentinel, check.link);
    }
    struct event *deadline =
        store_must(event_new(check.base, -1, 0, on_timeout, &check), "event_new");
    struct timeval tv = clock_timeval_from_ms(timeout_ms);
    event_add(deadline, &tv);
    /* A failure found before the loop starts has already been recorded
     * (and a loopbreak before the loop runs would be lost). */
    while (!check.done) {
        if (event_base_loop(check.base, EVLOOP_ONCE) != 0) {
            break;
        }
    }
    event_free(deadline);
    store_redis_sentinel_free(check.sentinel); /* before the link it steers */
    store_redis_link_free(check.link);
    event_base_free(check.base);
    if (!check.done) {
        buf_appendf_best(err, "the start-up check of %s ended without an answer", be->where);
        return -1;
    }
    return check.ok ? 0 : -1; /* a failed check appended its reason to err */
}

void
store_redis_backend_set_replicas_ack(struct store_backend *b, unsigned n, uint64_t timeout_ms)
{
    struct store_redis_shared *be = (struct store_redis_shared *)b;
    be->min_replicas_ack = n;
    be->replicas_ack_timeout_ms = timeout_ms;
}
