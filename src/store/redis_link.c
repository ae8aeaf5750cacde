/* One connection to one Redis server (see redis_link.h).
 *
 * The records in flight form a FIFO: the handshake's ([AUTH] [SELECT]
 * PING), then SUBSCRIBE in subscribe mode, then the owner's batches. Each
 * record wants a number of replies; when it has them all it leaves the
 * FIFO and its callback runs. Every record has a deadline and one timer
 * watches the oldest. */
#include "store/redis_link.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <string.h>
#include <sys/queue.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/rand.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "net/addr.h"
#include "net/connect.h"
#include "net/resolve.h"
#include "net/sockopt.h"
#include "net/tls.h"
#include "store/redis_url.h"
#include "store/store_int.h"

/* A handshake command with the longest user and password stays far below
 * this; past it the handshake fails closed rather than grow a buffer. */
#define LINK_COMMAND_MAX (16 * 1024)

enum cmd_kind {
    CMD_AUTH = 0,
    CMD_SELECT,
    CMD_HELLO_PING, /* last handshake command: its PONG confirms the connection */
    CMD_SUBSCRIBE,
    CMD_SUB_PING, /* PING in subscribe mode: answered ["pong", ""] */
    CMD_USER,
};

struct store_redis_cmd {
    TAILQ_ENTRY(store_redis_cmd) entry;
    enum cmd_kind kind;
    size_t want;
    size_t got;
    struct store_redis_reply *replies[BOUNDS_REDIS_BATCH_MAX];
    store_redis_link_reply_fn cb; /* NULL once cancelled */
    void *arg;
    uint64_t deadline_ms; /* monotonic */
};

TAILQ_HEAD(cmd_list, store_redis_cmd);

struct store_redis_link {
    struct event_base *base;
    /* The target, owned. */
    char *host;
    unsigned port;
    bool tls;
    char *user;
    char *password;
    unsigned db;
    uint64_t connect_timeout_ms;
    uint64_t command_timeout_ms;
    char where[STORE_ERROR_MAX]; /* redacted, for messages */
    char *auth_name;
    struct ssl_ctx_st *ssl_ctx;
    bool has_keepalive;
    struct net_keepalive keepalive;
    bool once;
    size_t reply_elements_max;
    size_t reply_pending_max;
    store_redis_link_state_fn on_state;
    void *arg;
    /* Subscribe mode. */
    char *channel;
    store_redis_link_push_fn push;
    void *push_arg;
    /* The connection. */
    enum store_redis_link_state state;
    uint64_t generation; /* bumped when a connection is released */
    struct bufferevent *bev;
    struct net_resolver *resolver;
    bool own_resolver;
    struct net_connect *connecting;
    union net_sockaddr last_good; /* the address that last connected: tried first */
    uint64_t deadline_ms;         /* of the connect in progress (monotonic) */
    struct store_redis_reader *reader;
    struct cmd_list inflight;
    size_t inflight_count;
    struct event *connect_timer; /* the TLS handshake's share of the deadline */
    struct event *command_timer;
    struct event *retry_timer;
    uint64_t backoff_ms;
    struct buf last_error; /* why the link is not up */
};

static void connect_start(struct store_redis_link *l);

static struct store_redis_reader *
reader_new(const struct store_redis_link *l)
{
    return store_redis_proto_reader_new_sized(
        l->reply_elements_max != 0 ? l->reply_elements_max : BOUNDS_REDIS_REPLY_ARRAY_MAX,
        l->reply_pending_max != 0 ? l->reply_pending_max : BOUNDS_REDIS_REPLY_PENDING_MAX);
}

/* A reason sentence: at most STORE_ERROR_MAX bytes with its terminator. */
static void
reason_init(struct buf *b)
{
    buf_init(b, STORE_ERROR_MAX - 1);
}

static void
set_where(struct store_redis_link *l)
{
    struct store_redis_url u = {
        .tls = l->tls,
        .host = l->host,
        .host_is_ip = net_addr_is_ip(l->host),
        .port = l->port,
        .db = l->db,
    };
    struct buf w;
    buf_init(&w, sizeof(l->where) - 1);
    if (store_redis_url_format_redacted(&u, &w) != 0) {
        buf_reset(&w);
        buf_appendf_best(&w, "%s://(long host):%u", l->tls ? "rediss" : "redis", l->port);
    }
    memcpy(l->where, buf_cstr(&w), w.len + 1);
    buf_cleanup(&w);
}

/* ---- Records ------------------------------------------------------------------------ */

static struct store_redis_cmd *
cmd_new(enum cmd_kind kind, size_t want)
{
    struct store_redis_cmd *c = xcalloc(1, sizeof(*c));
    c->kind = kind;
    c->want = want;
    return c;
}

static void
cmd_free(struct store_redis_cmd *c)
{
    for (size_t i = 0; i < c->got; i++) {
        store_redis_proto_reply_free(c->replies[i]);
    }
    xfree(c);
}

static void
arm_command_timer(struct store_redis_link *l)
{
    struct store_redis_cmd *head = TAILQ_FIRST(&l->inflight);
    if (head == NULL) {
        event_del(l->command_timer);
        return;
    }
    uint64_t now = clock_mono_ms();
    uint64_t wait = head->deadline_ms > now ? head->deadline_ms - now : 0;
    struct timeval tv = clock_timeval_from_ms(wait);
    event_add(l->command_timer, &tv);
}

/* Writes encoded commands and queues their record. */
static void
write_cmd(struct store_redis_link *l, const struct buf *bytes, struct store_redis_cmd *c,
          uint64_t extra_ms)
{
    bool was_idle = TAILQ_EMPTY(&l->inflight);
    c->deadline_ms = clock_mono_ms() + l->command_timeout_ms + extra_ms;
    TAILQ_INSERT_TAIL(&l->inflight, c, entry);
    l->inflight_count++;
    /* bufferevent_write copies into the output buffer; it fails only for
     * lack of memory, and the command timer then fails the command. */
    (void)bufferevent_write(l->bev, bytes->ptr, bytes->len);
    if (was_idle) {
        arm_command_timer(l);
    }
}

/* ---- Dropping and reconnecting ------------------------------------------------------- */

static void
schedule_retry(struct store_redis_link *l, bool at_once)
{
    /* Full backoff doubles from 100 ms to 5 s; the wait is drawn from its
     * upper half so that workers (and replicas) do not reconnect in step. */
    uint64_t backoff = l->backoff_ms;
    uint32_t r;
    rand_bytes((uint8_t *)&r, sizeof(r));
    uint64_t wait = backoff / 2 + (backoff > 1 ? r % (backoff / 2 + 1) : 0);
    l->backoff_ms =
        backoff * 2 > BOUNDS_REDIS_BACKOFF_MAX_MS ? BOUNDS_REDIS_BACKOFF_MAX_MS : backoff * 2;
    struct timeval tv = clock_timeval_from_ms(at_once ? 0 : wait);
    event_add(l->retry_timer, &tv);
}

/* Releases the connection and everything tied to it, without touching the
 * records in flight. */
static void
release_connection(struct store_redis_link *l)
{
    net_connect_cancel(l->connecting); /* every attempt's socket, the lookup */
    l->connecting = NULL;
    if (l->bev != NULL) {
        bufferevent_free(l->bev);
        l->bev = NULL;
    }
    store_redis_proto_reader_free(l->reader);
    l->reader = reader_new(l);
    event_del(l->connect_timer);
    event_del(l->command_timer);
    l->state = STORE_REDIS_LINK_DOWN;
    l->generation++;
}

/* The connection is gone: every record in flight fails, the reconnect is
 * scheduled (unless once), then the owner hears of it. The retry is
 * scheduled before any callback so that a callback's retarget wins. */
static void
drop_ex(struct store_redis_link *l, const char *reason, bool at_once)
{
    bool was_up = l->state == STORE_REDIS_LINK_UP;
    buf_reset(&l->last_error);
    buf_appendf_best(&l->last_error, "%s", reason);
    release_connection(l);
    struct cmd_list failed = TAILQ_HEAD_INITIALIZER(failed);
    TAILQ_CONCAT(&failed, &l->inflight, entry);
    l->inflight_count = 0;
    if (!l->once) {
        schedule_retry(l, at_once);
    }
    /* The reason may live in last_error; callbacks get a copy. */
    char text[STORE_ERROR_MAX];
    memcpy(text, buf_cstr(&l->last_error), l->last_error.len + 1);
    struct store_redis_cmd *c;
    while ((c = TAILQ_FIRST(&failed)) != NULL) {
        TAILQ_REMOVE(&failed, c, entry);
        if (c->cb != NULL) {
            c->cb(c->arg, NULL, 0, text);
        }
        cmd_free(c);
    }
    (void)was_up;
    if (l->on_state != NULL) {
        l->on_state(l->arg, false, text);
    }
}

static void
drop(struct store_redis_link *l, const char *reason)
{
    drop_ex(l, reason, false);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    connect_start(arg);
}

static void
on_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct store_redis_link *l = arg;
    (void)fd;
    (void)what;
    /* Armed only once TCP is up (net/connect reports its own timeouts):
     * TLS is not. A plain server reads a ClientHello as the start of a
     * command and waits for the rest. */
    struct buf reason;
    reason_init(&reason);
    buf_appendf_best(
        &reason, "TLS handshake with %s got no answer within %llu ms (a plain port needs redis://)",
        l->where, (unsigned long long)l->connect_timeout_ms);
    drop(l, buf_cstr(&reason));
    buf_cleanup(&reason);
}

static void
on_command_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct store_redis_link *l = arg;
    (void)fd;
    (void)what;
    struct store_redis_cmd *head = TAILQ_FIRST(&l->inflight);
    if (head == NULL) {
        return;
    }
    if (head->deadline_ms > clock_mono_ms()) {
        arm_command_timer(l);
        return;
    }
    /* The server took the command and did not answer: we cannot know what
     * it did, so the command fails closed and the connection goes. */
    struct buf reason;
    reason_init(&reason);
    buf_appendf_best(&reason, "no reply from %s within %llu ms", l->where,
                     (unsigned long long)l->command_timeout_ms);
    drop(l, buf_cstr(&reason));
    buf_cleanup(&reason);
}

/* ---- Replies ------------------------------------------------------------------------ */

/* A failed handshake reply: say what the operator has to fix. */
static void
handshake_failed(struct store_redis_link *l, enum cmd_kind kind,
                 const struct store_redis_reply *reply)
{
    char text[STORE_ERROR_MAX / 2];
    struct buf reason;
    reason_init(&reason);
    store_redis_proto_describe(reply, text, sizeof(text));
    if (store_redis_proto_is_auth_error(reply)) {
        bool has_secret = l->password != NULL || l->user != NULL;
        if (has_secret) {
            buf_appendf_best(&reason, "authentication failed at %s: %s", l->where, text);
        } else {
            buf_appendf_best(&reason, "authentication required (%s has no password) at %s: %s",
                             l->auth_name, l->where, text);
        }
    } else if (kind == CMD_SELECT) {
        buf_appendf_best(&reason, "SELECT %u failed at %s: %s", l->db, l->where, text);
    } else if (kind == CMD_SUBSCRIBE) {
        buf_appendf_best(&reason, "SUBSCRIBE failed at %s: %s", l->where, text);
    } else {
        buf_appendf_best(&reason, "handshake with %s failed: %s", l->where, text);
    }
    drop(l, buf_cstr(&reason));
    buf_cleanup(&reason);
}

/* The subscription is confirmed by ["subscribe", channel, count]. */
static bool
is_subscribe_ack(const struct store_redis_reply *r)
{
    return r->type == STORE_REDIS_ARRAY && r->count == 3 && r->elems[0] != NULL &&
           r->elems[0]->type == STORE_REDIS_STRING && strcmp(r->elems[0]->str, "subscribe") == 0;
}

/* A pub/sub message: ["message", channel, payload] (or pmessage). */
static bool
is_push_message(const struct store_redis_reply *r)
{
    return r->type == STORE_REDIS_ARRAY && r->count >= 3 && r->elems[0] != NULL &&
           r->elems[0]->type == STORE_REDIS_STRING &&
           (strcmp(r->elems[0]->str, "message") == 0 || strcmp(r->elems[0]->str, "pmessage") == 0);
}

/* PING in subscribed mode is answered ["pong", ""]. */
static bool
is_sub_pong(const struct store_redis_reply *r)
{
    return r->type == STORE_REDIS_ARRAY && r->count >= 1 && r->elems[0] != NULL &&
           r->elems[0]->type == STORE_REDIS_STRING && strcmp(r->elems[0]->str, "pong") == 0;
}

/* A handshake record's one reply; false when the link was dropped. */
static bool
handshake_reply(struct store_redis_link *l, enum cmd_kind kind,
                const struct store_redis_reply *reply)
{
    switch (kind) {
    case CMD_AUTH:
    case CMD_SELECT:
        if (store_redis_proto_ok_result(reply) != STORE_OK) {
            handshake_failed(l, kind, reply);
            return false;
        }
        return true;
    case CMD_SUBSCRIBE:
        if (!is_subscribe_ack(reply)) {
            handshake_failed(l, kind, reply);
            return false;
        }
        return true;
    case CMD_SUB_PING:
        if (!is_sub_pong(reply)) {
            drop(l, "unexpected answer to PING in subscribe mode");
            return false;
        }
        return true;
    default:
        if (store_redis_proto_pong_result(reply) != STORE_OK) {
            handshake_failed(l, kind, reply);
            return false;
        }
        l->state = STORE_REDIS_LINK_UP;
        l->backoff_ms = BOUNDS_REDIS_BACKOFF_MIN_MS;
        buf_reset(&l->last_error);
        if (l->on_state != NULL) {
            uint64_t gen = l->generation;
            l->on_state(l->arg, true, NULL);
            return gen == l->generation;
        }
        return true;
    }
}

/* Takes one reply (owned); false when the connection was dropped or
 * replaced meanwhile (stop reading). */
static bool
handle_reply(struct store_redis_link *l, struct store_redis_reply *reply)
{
    struct store_redis_cmd *c = TAILQ_FIRST(&l->inflight);
    if (c == NULL || (c->kind == CMD_SUB_PING && is_push_message(reply))) {
        /* A message may overtake the answer to our PING: it is no answer. */
        if (l->push != NULL && l->state == STORE_REDIS_LINK_UP) {
            uint64_t gen = l->generation;
            l->push(l->push_arg, reply);
            store_redis_proto_reply_free(reply);
            return gen == l->generation;
        }
        store_redis_proto_reply_free(reply);
        drop(l, "reply without a command (protocol out of step)");
        return false;
    }
    if (c->kind != CMD_USER) {
        TAILQ_REMOVE(&l->inflight, c, entry);
        l->inflight_count--;
        bool alive = handshake_reply(l, c->kind, reply);
        store_redis_proto_reply_free(reply);
        cmd_free(c);
        if (alive) {
            arm_command_timer(l);
        }
        return alive;
    }
    c->replies[c->got++] = reply;
    if (c->got < c->want) {
        return true;
    }
    TAILQ_REMOVE(&l->inflight, c, entry);
    l->inflight_count--;
    arm_command_timer(l);
    uint64_t gen = l->generation;
    if (c->cb != NULL) {
        c->cb(c->arg, c->replies, c->got, NULL);
    }
    cmd_free(c);
    return gen == l->generation;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
    struct store_redis_link *l = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char chunk[STORE_REDIS_FEED_MAX];
    while (evbuffer_get_length(in) > 0) {
        int n = evbuffer_remove(in, chunk, sizeof(chunk));
        if (n <= 0 ||
            store_redis_proto_feed(l->reader, chunk, (size_t)n) == STORE_REDIS_READ_ERROR) {
            drop(l, "malformed or oversized reply from Redis");
            return;
        }
        for (;;) {
            struct store_redis_reply *reply = NULL;
            enum store_redis_read rc = store_redis_proto_next(l->reader, &reply);
            if (rc == STORE_REDIS_READ_ERROR) {
                drop(l, "malformed or oversized reply from Redis");
                return;
            }
            if (rc == STORE_REDIS_READ_MORE) {
                break;
            }
            if (!handle_reply(l, reply)) {
                return;
            }
        }
    }
}

/* ---- Connecting --------------------------------------------------------------------- */

/* Appends why the connection failed to out (empty on entry). */
static void
describe_failure(struct store_redis_link *l, struct bufferevent *bev, short what, struct buf *out)
{
    int err = EVUTIL_SOCKET_ERROR();
    bool handshaking_tls = l->state == STORE_REDIS_LINK_CONNECTING;
    /* TLS explains a failure only while the handshake runs; after it, a
     * TLS error is just a lost connection. */
    if (l->ssl_ctx != NULL && l->tls) {
        net_tls_describe(bev, handshaking_tls, l->where, out);
        if (out->len > 0) {
            if (handshaking_tls) {
                buf_appendf_best(out, "%s",
                                 strstr(buf_cstr(out), "verification") != NULL
                                     ? " (the server certificate must be signed by a CA in "
                                       "REDIS_CA_FILE or the system store, and name the host)"
                                     : " (is it a TLS port?)");
            }
            return;
        }
    }
    /* Connected but nothing answered yet: the classic cause is a plain
     * client on a TLS port. */
    const char *hint = l->state == STORE_REDIS_LINK_HANDSHAKE
                           ? " before answering (a TLS port needs rediss://)"
                           : "";
    if (what & BEV_EVENT_EOF) {
        buf_appendf_best(out, "%s closed the connection%s", l->where, hint);
        return;
    }
    if (l->state == STORE_REDIS_LINK_CONNECTING) {
        buf_appendf_best(out, "cannot connect to %s: %s", l->where,
                         err != 0 ? evutil_socket_error_to_string(err) : "connection refused");
        return;
    }
    buf_appendf_best(out, "connection to %s failed: %s%s", l->where,
                     err != 0 ? evutil_socket_error_to_string(err) : "unknown error", hint);
}

static void
write_one(struct store_redis_link *l, struct buf *cmd, enum cmd_kind kind)
{
    write_cmd(l, cmd, cmd_new(kind, 1), 0);
    explicit_bzero(cmd->ptr, cmd->len);
    buf_reset(cmd);
}

/* Writes [AUTH] [SELECT] PING [SUBSCRIBE]: they go out before any command. */
static void
send_handshake(struct store_redis_link *l)
{
    struct buf cmd;
    buf_init(&cmd, LINK_COMMAND_MAX);
    /* go-redis: a user name means ACL AUTH (even with an empty password);
     * a password alone means the legacy single-password AUTH. */
    if (l->user != NULL || (l->password != NULL && l->password[0] != '\0')) {
        if (store_redis_proto_auth(&cmd, l->user, l->password) == 0) {
            write_one(l, &cmd, CMD_AUTH);
        }
    }
    if (l->db != 0 && store_redis_proto_select(&cmd, l->db) == 0) {
        write_one(l, &cmd, CMD_SELECT);
    }
    if (store_redis_proto_ping(&cmd) == 0) {
        write_one(l, &cmd, CMD_HELLO_PING);
    }
    if (l->channel != NULL && store_redis_proto_subscribe(&cmd, l->channel) == 0) {
        write_one(l, &cmd, CMD_SUBSCRIBE);
    }
    buf_cleanup(&cmd);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
    struct store_redis_link *l = arg;
    if (what & BEV_EVENT_CONNECTED) {
        event_del(l->connect_timer);
        l->state = STORE_REDIS_LINK_HANDSHAKE;
        send_handshake(l);
        return;
    }
    if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
        struct buf reason;
        reason_init(&reason);
        describe_failure(l, bev, what, &reason);
        drop(l, buf_cstr(&reason));
        buf_cleanup(&reason);
    }
}

/* TCP is up (or could not be had): wrap the socket, plain or TLS. */
static void
on_connected(int fd, const union net_sockaddr *peer, const char *error, void *arg)
{
    struct store_redis_link *l = arg;
    l->connecting = NULL;
    if (fd < 0) {
        drop(l, error);
        return;
    }
    l->last_good = *peer;
    int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
    if (!l->tls) {
        l->bev = store_must(bufferevent_socket_new(l->base, fd, opts), "bufferevent_socket_new");
        bufferevent_setcb(l->bev, on_read, NULL, on_event, l);
        bufferevent_enable(l->bev, EV_READ | EV_WRITE);
        on_event(l->bev, BEV_EVENT_CONNECTED, l);
        return;
    }
    l->bev = bufferevent_openssl_socket_new(l->base, fd, net_tls_new(l->ssl_ctx, l->host),
                                            BUFFEREVENT_SSL_CONNECTING, opts);
    store_must(l->bev, "bufferevent_openssl_socket_new");
    bufferevent_setcb(l->bev, on_read, NULL, on_event, l);
    bufferevent_enable(l->bev, EV_READ | EV_WRITE);
    uint64_t now = clock_mono_ms();
    uint64_t left = l->deadline_ms > now ? l->deadline_ms - now : 0;
    struct timeval tv = clock_timeval_from_ms(left);
    event_add(l->connect_timer, &tv);
}

static void
connect_start(struct store_redis_link *l)
{
    l->state = STORE_REDIS_LINK_CONNECTING;
    l->deadline_ms = clock_mono_ms() + l->connect_timeout_ms;
    const struct net_connect_opts o = {
        .host = l->host,
        .label = l->where,
        .port = l->port,
        .timeout_ms = l->connect_timeout_ms,
        .keepalive = l->has_keepalive ? &l->keepalive : NULL,
        .prefer = l->last_good.sa.sa_family != 0 ? &l->last_good : NULL,
    };
    l->connecting = net_connect_start(l->base, l->resolver, &o, on_connected, l);
}

/* ---- The interface ------------------------------------------------------------------ */

static char *
dup_or_null(const char *s)
{
    return s != NULL ? xstrdup(s) : NULL;
}

struct store_redis_link *
store_redis_link_new(struct event_base *base, const struct store_redis_link_opts *o)
{
    const struct store_redis_target *t = o->target;
    struct store_redis_link *l = xcalloc(1, sizeof(*l));
    l->base = base;
    l->host = xstrdup(t->host);
    l->port = t->port;
    l->tls = t->tls;
    l->user = dup_or_null(t->user);
    l->password = dup_or_null(t->password);
    l->db = t->db;
    l->connect_timeout_ms = t->connect_timeout_ms;
    l->command_timeout_ms = t->command_timeout_ms;
    l->auth_name = xstrdup(o->auth_name != NULL ? o->auth_name : "REDIS_URL");
    l->ssl_ctx = o->ssl_ctx;
    l->has_keepalive = o->keepalive != NULL;
    if (o->keepalive != NULL) {
        l->keepalive = *o->keepalive;
    }
    l->once = o->once;
    l->reply_elements_max = o->reply_elements_max;
    l->reply_pending_max = o->reply_pending_max;
    l->on_state = o->on_state;
    l->arg = o->arg;
    set_where(l);
    l->state = STORE_REDIS_LINK_DOWN;
    l->reader = reader_new(l);
    l->own_resolver = o->resolver == NULL;
    l->resolver = o->resolver != NULL ? o->resolver : net_resolver_new(base, o->dns);
    TAILQ_INIT(&l->inflight);
    l->connect_timer = store_must(event_new(base, -1, 0, on_connect_timeout, l), "event_new");
    l->command_timer = store_must(event_new(base, -1, 0, on_command_timeout, l), "event_new");
    l->retry_timer = store_must(event_new(base, -1, 0, on_retry, l), "event_new");
    l->backoff_ms = BOUNDS_REDIS_BACKOFF_MIN_MS;
    reason_init(&l->last_error);
    if (o->idle) {
        buf_appendf_best(&l->last_error, "no server chosen yet");
        return l;
    }
    buf_appendf_best(&l->last_error, "connecting to %s", l->where);
    connect_start(l);
    return l;
}

void
store_redis_link_free(struct store_redis_link *l)
{
    if (l == NULL) {
        return;
    }
    release_connection(l);
    struct store_redis_cmd *c;
    while ((c = TAILQ_FIRST(&l->inflight)) != NULL) {
        TAILQ_REMOVE(&l->inflight, c, entry);
        cmd_free(c);
    }
    store_redis_proto_reader_free(l->reader);
    if (l->own_resolver) {
        net_resolver_free(l->resolver);
    }
    event_free(l->connect_timer);
    event_free(l->command_timer);
    event_free(l->retry_timer);
    buf_cleanup(&l->last_error);
    xfree(l->host);
    xfree(l->user);
    if (l->password != NULL) {
        explicit_bzero(l->password, strlen(l->password));
        xfree(l->password);
    }
    xfree(l->auth_name);
    xfree(l->channel);
    xfree(l);
}

struct store_redis_cmd *
store_redis_link_send(struct store_redis_link *l, const struct buf *batch, size_t count,
                      uint64_t extra_ms, store_redis_link_reply_fn cb, void *arg, struct buf *why)
{
    const char *refusal = NULL;
    if (l->state != STORE_REDIS_LINK_UP && l->state != STORE_REDIS_LINK_HANDSHAKE) {
        /* No queue: a request must not wait on a Redis that is not there. */
        if (why != NULL) {
            buf_appendf_best(why, "not connected: %s", buf_cstr(&l->last_error));
        }
        return NULL;
    }
    if (l->channel != NULL) {
        refusal = "the link is in subscribe mode";
    } else if (count == 0 || count > BOUNDS_REDIS_BATCH_MAX) {
        refusal = "batch too large";
    } else if (l->inflight_count >= BOUNDS_REDIS_INFLIGHT_MAX) {
        refusal = "too many commands in flight";
    }
    if (refusal != NULL) {
        if (why != NULL) {
            buf_appendf_best(why, "%s", refusal);
        }
        return NULL;
    }
    struct store_redis_cmd *c = cmd_new(CMD_USER, count);
    c->cb = cb;
    c->arg = arg;
    write_cmd(l, batch, c, extra_ms);
    return c;
}

void
store_redis_link_cancel(struct store_redis_link *l, struct store_redis_cmd *cmd)
{
    (void)l;
    /* The commands are on the wire: their replies are still read and dropped. */
    cmd->cb = NULL;
}

void
store_redis_link_retarget(struct store_redis_link *l, const char *host, unsigned port)
{
    char *old = l->host;
    l->host = xstrdup(host);
    xfree(old);
    l->port = port;
    memset(&l->last_good, 0, sizeof(l->last_good));
    set_where(l);
    l->backoff_ms = BOUNDS_REDIS_BACKOFF_MIN_MS;
    struct buf reason;
    reason_init(&reason);
    buf_appendf_best(&reason, "moving to %s", l->where);
    if (l->state == STORE_REDIS_LINK_DOWN) {
        buf_reset(&l->last_error);
        buf_appendf_best(&l->last_error, "%s", buf_cstr(&reason));
        event_del(l->retry_timer);
        if (!l->once) {
            schedule_retry(l, true);
        }
    } else {
        drop_ex(l, buf_cstr(&reason), true);
    }
    buf_cleanup(&reason);
}

void
store_redis_link_drop(struct store_redis_link *l, const char *reason)
{
    if (l->state == STORE_REDIS_LINK_DOWN) {
        return;
    }
    drop(l, reason);
}

void
store_redis_link_subscribe(struct store_redis_link *l, const char *channel,
                           store_redis_link_push_fn push, void *arg)
{
    l->channel = xstrdup(channel);
    l->push = push;
    l->push_arg = arg;
    if (l->state == STORE_REDIS_LINK_HANDSHAKE || l->state == STORE_REDIS_LINK_UP) {
        struct buf cmd;
        buf_init(&cmd, LINK_COMMAND_MAX);
        if (store_redis_proto_subscribe(&cmd, channel) == 0) {
            write_one(l, &cmd, CMD_SUBSCRIBE);
        }
        buf_cleanup(&cmd);
    }
}

void
store_redis_link_ping(struct store_redis_link *l)
{
    if (l->channel == NULL || l->state != STORE_REDIS_LINK_UP) {
        return;
    }
    struct buf cmd;
    buf_init(&cmd, LINK_COMMAND_MAX);
    if (store_redis_proto_ping(&cmd) == 0) {
        write_one(l, &cmd, CMD_SUB_PING);
    }
    buf_cleanup(&cmd);
}

enum store_redis_link_state
store_redis_link_state(const struct store_redis_link *l)
{
    return l->state;
}

bool
store_redis_link_is_up(const struct store_redis_link *l)
{
    return l->state == STORE_REDIS_LINK_UP;
}

const char *
store_redis_link_last_error(const struct store_redis_link *l)
{
    return buf_cstr(&l->last_error);
}

const char *
store_redis_link_where(const struct store_redis_link *l)
{
    return l->where;
}

const char *
store_redis_link_host(const struct store_redis_link *l)
{
    return l->host;
}

unsigned
store_redis_link_port(const struct store_redis_link *l)
{
    return l->port;
}

bool
store_redis_link_tls_ctx(bool tls, const char *ca_file, const char *scheme, const char *tls_scheme,
                         struct ssl_ctx_st **out, struct buf *err)
{
    bool custom = ca_file != NULL && ca_file[0] != '\0';
    *out = NULL;
    if (!tls) {
        if (custom) {
            buf_appendf_best(err,
                             "REDIS_CA_FILE is set but REDIS_URL is plain %s://; use %s:// for TLS",
                             scheme, tls_scheme);
            return false;
        }
        return true;
    }
    struct buf why;
    buf_init(&why, STORE_ERROR_MAX - 1);
    *out = net_tls_ctx_new(ca_file, &why);
    bool ok = why.len == 0;
    if (!ok) {
        buf_appendf_best(err, "%s%s", custom ? "REDIS_CA_FILE " : "", buf_cstr(&why));
    }
    buf_cleanup(&why);
    return ok;
}

void
store_redis_net_set(struct store_redis_net *n, const struct net_resolver_opts *dns,
                    const struct net_keepalive *keepalive)
{
    store_redis_net_cleanup(n);
    n->dns.resolv_conf = dns != NULL && dns->resolv_conf != NULL ? xstrdup(dns->resolv_conf) : NULL;
    n->dns.hosts_file = dns != NULL && dns->hosts_file != NULL ? xstrdup(dns->hosts_file) : NULL;
    n->has_keepalive = keepalive != NULL;
    if (keepalive != NULL) {
        n->keepalive = *keepalive;
    }
}

void
store_redis_net_cleanup(struct store_redis_net *n)
{
    xfree((char *)n->dns.resolv_conf);
    xfree((char *)n->dns.hosts_file);
    n->dns.resolv_conf = NULL;
    n->dns.hosts_file = NULL;
}

const struct net_keepalive *
store_redis_net_keepalive(const struct store_redis_net *n)
{
    return n->has_keepalive ? &n->keepalive : NULL;
}
