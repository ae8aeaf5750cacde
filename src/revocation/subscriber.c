/* The revocation subscriber (see subscriber.h). One `struct link` is one
 * connection; the subscriber owns a long-lived one (resync, then
 * SUBSCRIBE) and, every BOUNDS_REVOCATION_RESYNC_MS, a short-lived one
 * that only resyncs. The start-up fill runs a short-lived one on a private
 * loop. */
#include "revocation/subscriber.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/rand.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "log.h"
#include "metrics.h"
#include "net/connect.h"
#include "net/resolve.h"
#include "net/tls.h"
#include "revocation/set.h"
#include "revocation/wire.h"
#include "store/redis_conn.h"
#include "store/redis_proto.h"
#include "store/store.h"

#define COMMAND_MAX 4096

enum link_phase {
    PHASE_DOWN = 0,
    PHASE_CONNECTING,
    PHASE_HANDSHAKE, /* AUTH / SELECT replies outstanding */
    PHASE_PAGE,      /* a resync page outstanding */
    PHASE_SUBSCRIBING,
    PHASE_SUBSCRIBED,
};

struct link;
/* A short-lived link's end: ok = the whole set was read. */
typedef void (*link_done_fn)(struct link *l, bool ok, const char *error, void *arg);

struct link {
    struct store_redis_shared *be;
    struct event_base *base;
    bool subscribe; /* long-lived: SUBSCRIBE after the resync, reconnect on loss */
    link_done_fn done;
    void *done_arg;
    enum link_phase phase;
    struct net_resolver *resolver;
    struct net_connect *connecting;
    struct bufferevent *bev;
    struct store_redis_reader *reader;
    unsigned handshake_left;
    uint64_t offset;       /* of the next page */
    uint64_t resync_token; /* revocation_set_resync_begin */
    bool resync_bad;       /* a member did not parse or fit */
    bool awaiting;         /* a reply is due before the timer fires */
    bool connected_logged;
    struct event *timer; /* reply deadline; when subscribed and idle, the next PING */
    struct event *retry;
    uint64_t backoff_ms;
    char channel[STORE_ERROR_MAX]; /* <prefix>revocations */
    size_t channel_len;
};

struct revocation_subscriber {
    struct link *sub;
    struct link *resync; /* the periodic one, while it runs */
    struct event *resync_timer;
    struct event *reap; /* frees a finished periodic link outside its callbacks */
};

static _Atomic uint64_t subscriber_connected;

static void link_connect(struct link *l);

static int64_t
now_ms(void)
{
    return clock_unix_ms();
}

/* ---- Timers and failure --------------------------------------------------------- */

static void
arm(struct link *l, uint64_t ms)
{
    struct timeval tv = clock_timeval_from_ms(ms);
    event_add(l->timer, &tv);
}

static void
expect_reply(struct link *l)
{
    l->awaiting = true;
    arm(l, l->be->url.command_timeout_ms);
}

static void
release(struct link *l)
{
    net_connect_cancel(l->connecting);
    l->connecting = NULL;
    if (l->bev != NULL) {
        bufferevent_free(l->bev);
        l->bev = NULL;
    }
    store_redis_proto_reader_free(l->reader);
    l->reader = NULL;
    event_del(l->timer);
    l->phase = PHASE_DOWN;
    l->awaiting = false;
}

static void
fail(struct link *l, const char *reason)
{
    bool was_subscribed = l->phase == PHASE_SUBSCRIBED;
    release(l);
    if (!l->subscribe) {
        l->done(l, false, reason, l->done_arg);
        return;
    }
    if (was_subscribed) {
        atomic_store(&subscriber_connected, 0);
    }
    if (was_subscribed || !l->connected_logged) {
        struct log_line ll;
        log_begin(&ll, LOG_WARN, "revocation_subscriber_lost");
        log_str(&ll, "url", l->be->where);
        log_str(&ll, "error", reason);
        log_end(&ll);
        l->connected_logged = true; /* one line per outage, not per retry */
    }
    uint64_t backoff = l->backoff_ms;
    uint32_t r;
    rand_bytes((uint8_t *)&r, sizeof(r));
    uint64_t wait = backoff / 2 + (backoff > 1 ? r % (backoff / 2 + 1) : 0);
    l->backoff_ms =
        backoff * 2 > BOUNDS_REDIS_BACKOFF_MAX_MS ? BOUNDS_REDIS_BACKOFF_MAX_MS : backoff * 2;
    struct timeval tv = clock_timeval_from_ms(wait);
    event_add(l->retry, &tv);
}

/* fail() with a sentence built from the server's words (cut at the cap). */
static void __attribute__((format(printf, 2, 3))) fail_fmt(struct link *l, const char *fmt, ...)
{
    struct buf reason;
    buf_init(&reason, STORE_ERROR_MAX - 1);
    va_list ap;
    va_start(ap, fmt);
    char text[STORE_ERROR_MAX];
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    buf_appendf_best(&reason, "%s", text);
    fail(l, buf_cstr(&reason));
    buf_cleanup(&reason);
}

static void
send_buf(struct link *l, const struct buf *cmd)
{
    (void)bufferevent_write(l->bev, cmd->ptr, cmd->len);
}

static void
send_ping(struct link *l)
{
    struct buf cmd;
    buf_init(&cmd, COMMAND_MAX);
    if (store_redis_proto_ping(&cmd) == 0) {
        send_buf(l, &cmd);
    }
    buf_cleanup(&cmd);
    expect_reply(l);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct link *l = arg;
    (void)fd;
    (void)what;
    if (l->awaiting) {
        fail(l, "no reply from Redis within the command timeout");
        return;
    }
    if (l->phase == PHASE_SUBSCRIBED) {
        send_ping(l); /* a half-open connection shows itself here */
    }
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    link_connect(arg);
}

/* ---- The conversation ------------------------------------------------------------ */

static void
send_page(struct link *l)
{
    struct buf cmd;
    buf_init(&cmd, COMMAND_MAX);
    if (store_redis_proto_revocation_page(&cmd, slice_make(l->channel, l->channel_len), now_ms(),
                                          l->offset, BOUNDS_REVOCATION_RESYNC_PAGE) != 0) {
        buf_cleanup(&cmd);
        fail(l, "resync command too large");
        return;
    }
    send_buf(l, &cmd);
    buf_cleanup(&cmd);
    l->phase = PHASE_PAGE;
    expect_reply(l);
}

static void
resync_finished(struct link *l)
{
    struct revocation_set *set = revocation_set_global();
    revocation_set_resync_end(set, l->resync_token, !l->resync_bad);
    metrics_inc(METRICS_REVOCATION_RESYNCS);
    if (!l->subscribe) {
        release(l);
        l->done(l, true, NULL, l->done_arg);
        return;
    }
    struct buf cmd;
    buf_init(&cmd, COMMAND_MAX);
    if (store_redis_proto_subscribe(&cmd, slice_make(l->channel, l->channel_len)) != 0) {
        buf_cleanup(&cmd);
        fail(l, "SUBSCRIBE command too large");
        return;
    }
    send_buf(l, &cmd);
    buf_cleanup(&cmd);
    l->phase = PHASE_SUBSCRIBING;
    expect_reply(l);
}

static void
on_page(struct link *l, const struct store_redis_reply *r)
{
    size_t members = 0;
    size_t bad = 0;
    if (!revocation_wire_apply_page(r, revocation_set_global(), now_ms(), &members, &bad)) {
        char text[STORE_ERROR_MAX / 2];
        store_redis_proto_describe(r, text, sizeof(text));
        fail_fmt(l, "unexpected resync reply: %.100s", text);
        return;
    }
    if (bad > 0) {
        l->resync_bad = true;
    }
    if (members == BOUNDS_REVOCATION_RESYNC_PAGE) {
        l->offset += members;
        send_page(l);
        return;
    }
    resync_finished(l);
}

static void
on_push(struct link *l, const struct store_redis_reply *r)
{
    struct slice payload;
    struct revocation_entry e;
    switch (revocation_wire_classify(r, slice_make(l->channel, l->channel_len), &payload)) {
    case REVOCATION_PUSH_SUBSCRIBED:
        if (l->phase != PHASE_SUBSCRIBING) {
            fail(l, "unexpected subscribe confirmation");
            return;
        }
        l->phase = PHASE_SUBSCRIBED;
        l->awaiting = false;
        l->backoff_ms = BOUNDS_REDIS_BACKOFF_MIN_MS;
        l->connected_logged = false;
        atomic_store(&subscriber_connected, 1);
        struct log_line ll;
        log_begin(&ll, LOG_INFO, "revocation_subscriber_connected");
        log_str(&ll, "url", l->be->where);
        log_uint(&ll, "entries", revocation_set_count(revocation_set_global()));
        log_end(&ll);
        arm(l, BOUNDS_REVOCATION_PING_MS);
        return;
    case REVOCATION_PUSH_PONG:
        l->awaiting = false;
        arm(l, BOUNDS_REVOCATION_PING_MS);
        return;
    case REVOCATION_PUSH_MESSAGE:
        if (l->phase != PHASE_SUBSCRIBED) {
            fail(l, "message before the subscribe confirmation");
            return;
        }
        if (!revocation_wire_parse_message(payload, &e)) {
            struct log_line bad;
            log_begin(&bad, LOG_WARN, "revocation_message_malformed");
            log_sample(&bad, "payload", payload);
            log_end(&bad);
            return; /* the next resync reads the member from the set itself */
        }
        (void)revocation_set_add(revocation_set_global(), &e, now_ms());
        metrics_inc(METRICS_REVOCATION_MESSAGES_APPLIED);
        return;
    case REVOCATION_PUSH_INVALID:
    default:
        fail(l, "unexpected reply in subscribed mode");
        return;
    }
}

/* One reply; false when the link was dropped (stop reading). */
static bool
on_reply(struct link *l, struct store_redis_reply *r)
{
    enum link_phase before = l->phase;
    if (l->phase == PHASE_HANDSHAKE) {
        if (store_redis_proto_ok_result(r) != STORE_OK) {
            char text[STORE_ERROR_MAX / 2];
            store_redis_proto_describe(r, text, sizeof(text));
            fail_fmt(l, "handshake with %.100s failed: %.100s", l->be->where, text);
            return false;
        }
        if (--l->handshake_left == 0) {
            l->phase = PHASE_PAGE; /* the first page was pipelined behind it */
        }
        return true;
    }
    if (l->phase == PHASE_PAGE) {
        l->awaiting = false;
        event_del(l->timer);
        on_page(l, r);
    } else {
        on_push(l, r);
    }
    (void)before;
    return l->phase != PHASE_DOWN;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
    struct link *l = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char chunk[STORE_REDIS_FEED_MAX];
    while (evbuffer_get_length(in) > 0) {
        int n = evbuffer_remove(in, chunk, sizeof(chunk));
        if (n <= 0 ||
            store_redis_proto_feed(l->reader, chunk, (size_t)n) == STORE_REDIS_READ_ERROR) {
            fail(l, "malformed or oversized reply from Redis");
            return;
        }
        for (;;) {
            struct store_redis_reply *r = NULL;
            enum store_redis_read rc = store_redis_proto_next(l->reader, &r);
            if (rc == STORE_REDIS_READ_ERROR) {
                fail(l, "malformed or oversized reply from Redis");
                return;
            }
            if (rc == STORE_REDIS_READ_MORE) {
                break;
            }
            bool alive = on_reply(l, r);
            store_redis_proto_reply_free(r);
            if (!alive) {
                return;
            }
        }
    }
}

/* Writes [AUTH] [SELECT] and the first resync page, pipelined. */
static void
start_conversation(struct link *l)
{
    const struct store_redis_url *u = &l->be->url;
    struct buf cmd;
    buf_init(&cmd, COMMAND_MAX);
    l->handshake_left = 0;
    if (u->user != NULL || (u->password != NULL && u->password[0] != '\0')) {
        if (store_redis_proto_auth(&cmd, u->user, u->password) == 0) {
            send_buf(l, &cmd);
            l->handshake_left++;
        }
        explicit_bzero(cmd.ptr, cmd.len);
        buf_reset(&cmd);
    }
    if (u->db != 0 && store_redis_proto_select(&cmd, u->db) == 0) {
        send_buf(l, &cmd);
        l->handshake_left++;
    }
    buf_cleanup(&cmd);
    l->offset = 0;
    l->resync_bad = false;
    l->resync_token = revocation_set_resync_begin(revocation_set_global());
    send_page(l);
    if (l->phase != PHASE_DOWN && l->handshake_left > 0) {
        l->phase = PHASE_HANDSHAKE;
    }
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
    struct link *l = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        start_conversation(l);
        return;
    }
    if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
        fail_fmt(l, "%.200s %s", l->be->where,
                 (what & BEV_EVENT_EOF) ? "closed the connection" : "connection failed");
    }
}

static void
on_connected(int fd, const union net_sockaddr *peer, const char *error, void *arg)
{
    struct link *l = arg;
    (void)peer;
    l->connecting = NULL;
    if (fd < 0) {
        fail(l, error);
        return;
    }
    int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
    l->reader = store_redis_proto_reader_new_sized(2 * BOUNDS_REVOCATION_RESYNC_PAGE,
                                                   BOUNDS_REVOCATION_READ_PENDING_MAX);
    if (l->be->ssl_ctx == NULL) {
        l->bev = store_must(bufferevent_socket_new(l->base, fd, opts), "bufferevent_socket_new");
        bufferevent_setcb(l->bev, on_read, NULL, on_event, l);
        bufferevent_enable(l->bev, EV_READ | EV_WRITE);
        on_event(l->bev, BEV_EVENT_CONNECTED, l);
        return;
    }
    l->bev = store_must(bufferevent_openssl_socket_new(l->base, fd,
                                                       net_tls_new(l->be->ssl_ctx, l->be->url.host),
                                                       BUFFEREVENT_SSL_CONNECTING, opts),
                        "bufferevent_openssl_socket_new");
    bufferevent_setcb(l->bev, on_read, NULL, on_event, l);
    bufferevent_enable(l->bev, EV_READ | EV_WRITE);
    /* The TLS handshake shares the connect deadline. */
    l->awaiting = true;
    arm(l, l->be->url.connect_timeout_ms);
}

static void
link_connect(struct link *l)
{
    const struct store_redis_url *u = &l->be->url;
    l->phase = PHASE_CONNECTING;
    const struct net_connect_opts o = {
        .host = u->host,
        .label = l->be->where,
        .port = u->port,
        .timeout_ms = u->connect_timeout_ms,
        .keepalive = l->be->has_keepalive ? &l->be->keepalive : NULL,
    };
    l->connecting = net_connect_start(l->base, l->resolver, &o, on_connected, l);
}

static struct link *
link_new(struct store_redis_shared *be, struct event_base *base, bool subscribe, link_done_fn done,
         void *arg)
{
    struct link *l = xcalloc(1, sizeof(*l));
    l->be = be;
    l->base = base;
    l->subscribe = subscribe;
    l->done = done;
    l->done_arg = arg;
    l->resolver = net_resolver_new(base, &be->dns);
    l->timer = store_must(event_new(base, -1, 0, on_timer, l), "event_new");
    l->retry = store_must(event_new(base, -1, 0, on_retry, l), "event_new");
    l->backoff_ms = BOUNDS_REDIS_BACKOFF_MIN_MS;
    int n =
        snprintf(l->channel, sizeof(l->channel), "%s%s", be->base.prefix, STORE_KEY_REVOCATIONS);
    l->channel_len = n > 0 && (size_t)n < sizeof(l->channel) ? (size_t)n : 0;
    link_connect(l);
    return l;
}

static void
link_free(struct link *l)
{
    if (l == NULL) {
        return;
    }
    release(l);
    net_resolver_free(l->resolver);
    event_free(l->timer);
    event_free(l->retry);
    xfree(l);
}

static struct store_redis_shared *
redis_of(struct store_backend *b)
{
    if (b == NULL || strcmp(store_backend_name(b), "redis") != 0) {
        return NULL;
    }
    return (struct store_redis_shared *)b;
}

/* ---- The subscriber ----------------------------------------------------------------- */

static void
on_periodic_done(struct link *l, bool ok, const char *error, void *arg)
{
    struct revocation_subscriber *s = arg;
    (void)l;
    if (!ok) {
        struct log_line ll;
        log_begin(&ll, LOG_WARN, "revocation_resync_failed");
        log_str(&ll, "error", error != NULL ? error : "");
        log_end(&ll);
    }
    event_active(s->reap, EV_TIMEOUT, 0);
}

static void
on_reap(evutil_socket_t fd, short what, void *arg)
{
    struct revocation_subscriber *s = arg;
    (void)fd;
    (void)what;
    link_free(s->resync);
    s->resync = NULL;
}

static void
on_resync_timer(evutil_socket_t fd, short what, void *arg)
{
    struct revocation_subscriber *s = arg;
    (void)fd;
    (void)what;
    if (s->resync == NULL) {
        s->resync = link_new(s->sub->be, s->sub->base, false, on_periodic_done, s);
    }
}

struct revocation_subscriber *
revocation_subscriber_new(struct store_backend *b, struct event_base *base)
{
    struct store_redis_shared *be = redis_of(b);
    if (be == NULL) {
        return NULL;
    }
    struct revocation_subscriber *s = xcalloc(1, sizeof(*s));
    s->sub = link_new(be, base, true, NULL, NULL);
    s->reap = store_must(event_new(base, -1, 0, on_reap, s), "event_new");
    s->resync_timer = store_must(event_new(base, -1, EV_PERSIST, on_resync_timer, s), "event_new");
    struct timeval tv = clock_timeval_from_ms(BOUNDS_REVOCATION_RESYNC_MS);
    event_add(s->resync_timer, &tv);
    return s;
}

void
revocation_subscriber_free(struct revocation_subscriber *s)
{
    if (s == NULL) {
        return;
    }
    link_free(s->sub);
    link_free(s->resync);
    event_free(s->reap);
    event_free(s->resync_timer);
    atomic_store(&subscriber_connected, 0);
    xfree(s);
}

/* ---- The start-up fill ------------------------------------------------------------- */

struct fill {
    bool done;
    bool ok;
    struct buf *err;
};

static void
on_fill_done(struct link *l, bool ok, const char *error, void *arg)
{
    struct fill *f = arg;
    f->done = true;
    f->ok = ok;
    if (!ok) {
        buf_appendf_best(f->err, "revocation resync from %s failed: %s", l->be->where,
                         error != NULL ? error : "unknown error");
    }
    event_base_loopbreak(l->base);
}

static void
on_fill_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct link *l = arg;
    fail(l, "the start-up resync did not finish in time");
}

int
revocation_subscriber_fill(struct store_backend *b, uint64_t timeout_ms, struct buf *err)
{
    struct store_redis_shared *be = redis_of(b);
    if (be == NULL) {
        return 0;
    }
    struct fill f = {.err = err};
    struct event_base *base = store_must(event_base_new(), "event_base_new");
    struct link *l = link_new(be, base, false, on_fill_done, &f);
    struct event *deadline = store_must(event_new(base, -1, 0, on_fill_timeout, l), "event_new");
    struct timeval tv = clock_timeval_from_ms(timeout_ms);
    event_add(deadline, &tv);
    while (!f.done) {
        if (event_base_loop(base, EVLOOP_ONCE) != 0) {
            break;
        }
    }
    event_free(deadline);
    link_free(l);
    event_base_free(base);
    if (!f.done) {
        buf_appendf_best(err, "the revocation resync ended without an answer");
        return -1;
    }
    return f.ok ? 0 : -1;
}

static uint64_t
entries_gauge(void)
{
    return revocation_set_count(revocation_set_global());
}

static uint64_t
connected_gauge(void)
{
    return atomic_load(&subscriber_connected);
}

void
revocation_subscriber_register_metrics(void)
{
    metrics_set_gauge_fn("mcp_auth_revocation_entries",
                         "Revoked families and subjects held in this process's set.",
                         entries_gauge);
    metrics_set_gauge_fn("mcp_auth_revocation_subscriber_connected",
                         "1 while the revocation subscriber is subscribed to Redis, else 0.",
                         connected_gauge);
}
