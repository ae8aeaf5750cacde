/* One Redis connection per worker store, on the worker's loop (see
 * redis_conn.h; the back end it belongs to is redis.c).
 *
 * A connection goes DOWN → CONNECTING (net/connect: the store's own
 * resolver, every address raced; then TLS, net/tls; one deadline) →
 * READY. On READY the handshake is written at once -- [AUTH] [SELECT]
 * PING -- and commands may follow it on the same pipe; the PONG confirms
 * the connection (and resets the reconnect backoff). Replies arrive in
 * command order, so a FIFO of pending records matches them; each record
 * has a deadline and one timer watches the oldest. Any failure -- error
 * event, EOF, protocol error, deadline -- drops the connection, fails
 * every pending operation with STORE_ERR_UNAVAILABLE and schedules a
 * reconnect. User callbacks never run from here: results go through
 * store_op_finish(), which defers them to the loop. */
#include "store/redis_conn.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/rand.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "net/connect.h"
#include "net/resolve.h"
#include "net/tls.h"
#include "store/redis_proto.h"
#include "store/redis_url.h"
#include "store/store_int.h"

/* A command with its keys, the script and a long prefix stays far below
 * this; past it the operation fails closed rather than grow a buffer. */
#define REDIS_COMMAND_MAX (64 * 1024)

enum conn_state {
    CONN_DOWN = 0,
    CONN_CONNECTING,
    CONN_READY,
};

enum pending_kind {
    P_AUTH = 0,
    P_SELECT,
    P_HELLO_PING, /* last handshake command: its PONG confirms the connection */
    P_CLAIM,
    P_MARK,
    P_PING,
    P_EVALSHA,
    P_EVAL,
    P_REVOCATION,
};

struct pending {
    TAILQ_ENTRY(pending) link;
    enum pending_kind kind;
    struct store_op *op;  /* NULL for the handshake, or once cancelled */
    uint64_t deadline_ms; /* monotonic */
    /* EVALSHA only: what a NOSCRIPT fallback resends. Kept even when the
     * op is cancelled, so a cancelled rotation still takes effect. */
    char *family_key;
    char *claim_key;
    struct store_redis_refresh_args args;
};

struct redis_store {
    struct store base;
    struct store_redis_shared *be;
    enum conn_state state;
    bool confirmed; /* PONG seen on this connection */
    struct bufferevent *bev;
    struct net_resolver *resolver;  /* this connection's lookups and their cache */
    struct net_connect *connecting; /* lookup and TCP attempts in flight */
    union net_sockaddr last_good;   /* the address that last connected: tried first */
    uint64_t deadline_ms;           /* of the connect in progress (monotonic) */
    struct store_redis_reader *reader;
    TAILQ_HEAD(pending_list, pending) inflight;
    size_t inflight_count;
    struct event *connect_timer; /* the TLS handshake's share of the deadline */
    struct event *command_timer;
    struct event *retry_timer;
    uint64_t backoff_ms;
    struct buf last_error;           /* why the connection is not up */
    struct store_redis_check *check; /* start-up check mode: no reconnect */
};

static void connect_start(struct redis_store *rs);

/* A reason sentence: at most STORE_ERROR_MAX bytes with its terminator,
 * cut past that (a long host name is the usual cause). */
static void
reason_init(struct buf *b)
{
    buf_init(b, STORE_ERROR_MAX - 1);
}

static struct redis_store *
redis_of(struct store *s)
{
    return (struct redis_store *)s;
}

static int
unavailable_rc(enum store_op_kind kind)
{
    return kind == STORE_OP_REFRESH_CLAIM ? (int)STORE_REFRESH_UNAVAILABLE
                                          : (int)STORE_ERR_UNAVAILABLE;
}

/* ---- Pending records -------------------------------------------------------- */

static void
pending_free(struct pending *p)
{
    xfree(p->family_key);
    xfree(p->claim_key);
    xfree(p);
}

static void
arm_command_timer(struct redis_store *rs)
{
    struct pending *head = TAILQ_FIRST(&rs->inflight);
    if (head == NULL) {
        event_del(rs->command_timer);
        return;
    }
    uint64_t now = clock_mono_ms();
    uint64_t wait = head->deadline_ms > now ? head->deadline_ms - now : 0;
    struct timeval tv = clock_timeval_from_ms(wait);
    event_add(rs->command_timer, &tv);
}

/* Writes an encoded command and queues its pending record. */
static void
send_command(struct redis_store *rs, const struct buf *cmd, struct pending *p)
{
    bool was_idle = TAILQ_EMPTY(&rs->inflight);
    p->deadline_ms = clock_mono_ms() + rs->be->url.command_timeout_ms;
    TAILQ_INSERT_TAIL(&rs->inflight, p, link);
    rs->inflight_count++;
    if (p->op != NULL) {
        store_op_set_backend_ref(p->op, p);
    }
    /* bufferevent_write copies into the output buffer; it fails only for
     * lack of memory, and the command timer then fails the command. */
    (void)bufferevent_write(rs->bev, cmd->ptr, cmd->len);
    if (was_idle) {
        arm_command_timer(rs);
    }
}

static struct pending *
pending_new(enum pending_kind kind, struct store_op *op)
{
    struct pending *p = xcalloc(1, sizeof(*p));
    p->kind = kind;
    p->op = op;
    return p;
}

/* ---- Dropping and reconnecting ------------------------------------------------ */

static void
check_finish(struct redis_store *rs, bool ok, const char *error)
{
    struct store_redis_check *c = rs->check;
    if (c->done) {
        return;
    }
    c->done = true;
    c->ok = ok;
    buf_appendf_best(c->error, "%s", error ? error : "");
    event_base_loopbreak(rs->base.base);
}

static void
schedule_retry(struct redis_store *rs)
{
    /* Full backoff doubles from 100 ms to 5 s; the wait is drawn from its
     * upper half so that workers (and replicas) do not reconnect in step. */
    uint64_t backoff = rs->backoff_ms;
    uint32_t r;
    rand_bytes((uint8_t *)&r, sizeof(r));
    uint64_t wait = backoff / 2 + (backoff > 1 ? r % (backoff / 2 + 1) : 0);
    rs->backoff_ms =
        backoff * 2 > BOUNDS_REDIS_BACKOFF_MAX_MS ? BOUNDS_REDIS_BACKOFF_MAX_MS : backoff * 2;
    struct timeval tv = clock_timeval_from_ms(wait);
    event_add(rs->retry_timer, &tv);
}

/* Releases the connection and everything tied to it, without touching the
 * pending operations. */
static void
release_connection(struct redis_store *rs)
{
    net_connect_cancel(rs->connecting); /* every attempt's socket, the lookup */
    rs->connecting = NULL;
    if (rs->bev != NULL) {
        bufferevent_free(rs->bev);
        rs->bev = NULL;
    }
    store_redis_proto_reader_free(rs->reader);
    rs->reader = store_redis_proto_reader_new();
    event_del(rs->connect_timer);
    event_del(rs->command_timer);
    rs->state = CONN_DOWN;
    rs->confirmed = false;
}

/* The connection is gone: every pending operation fails closed, and we
 * come back after the backoff (or, in the start-up check, report). */
static void
drop(struct redis_store *rs, const char *reason)
{
    buf_reset(&rs->last_error);
    buf_appendf_best(&rs->last_error, "%s", reason);
    release_connection(rs);
    struct pending *p;
    while ((p = TAILQ_FIRST(&rs->inflight)) != NULL) {
        TAILQ_REMOVE(&rs->inflight, p, link);
        if (p->op != NULL) {
            store_op_finish(p->op, unavailable_rc(store_op_kind(p->op)), reason);
        }
        pending_free(p);
    }
    rs->inflight_count = 0;
    if (rs->check != NULL) {
        check_finish(rs, false, reason);
        return;
    }
    schedule_retry(rs);
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
    struct redis_store *rs = arg;
    (void)fd;
    (void)what;
    /* Armed only once TCP is up (net/connect reports its own timeouts):
     * TLS is not. A plain server reads a ClientHello as the start of a
     * command and waits for the rest. */
    struct buf reason;
    reason_init(&reason);
    buf_appendf_best(
        &reason, "TLS handshake with %s got no answer within %llu ms (a plain port needs redis://)",
        rs->be->where, (unsigned long long)rs->be->url.connect_timeout_ms);
    drop(rs, buf_cstr(&reason));
    buf_cleanup(&reason);
}

static void
on_command_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct redis_store *rs = arg;
    (void)fd;
    (void)what;
    struct pending *head = TAILQ_FIRST(&rs->inflight);
    if (head == NULL) {
        return;
    }
    if (head->deadline_ms > clock_mono_ms()) {
        arm_command_timer(rs);
        return;
    }
    /* The server took the command and did not answer: we cannot know what
     * it did, so the command fails closed and the connection goes. */
    struct buf reason;
    reason_init(&reason);
    buf_appendf_best(&reason, "no reply from %s within %llu ms", rs->be->where,
                     (unsigned long long)rs->be->url.command_timeout_ms);
    drop(rs, buf_cstr(&reason));
    buf_cleanup(&reason);
}

/* ---- Replies ---------------------------------------------------------------------- */

/* A failed handshake reply: say what the operator has to fix. */
static void
handshake_failed(struct redis_store *rs, const struct pending *p,
                 const struct store_redis_reply *reply)
{
    char text[STORE_ERROR_MAX / 2];
    struct buf reason;
    reason_init(&reason);
    store_redis_proto_describe(reply, text, sizeof(text));
    if (store_redis_proto_is_auth_error(reply)) {
        bool has_secret = rs->be->url.password != NULL || rs->be->url.user != NULL;
        buf_appendf_best(&reason, "%s at %s: %s",
                         has_secret ? "authentication failed"
                                    : "authentication required (REDIS_URL has no password)",
                         rs->be->where, text);
    } else if (p->kind == P_SELECT) {
        buf_appendf_best(&reason, "SELECT %u failed at %s: %s", rs->be->url.db, rs->be->where,
                         text);
    } else {
        buf_appendf_best(&reason, "handshake with %s failed: %s", rs->be->where, text);
    }
    drop(rs, buf_cstr(&reason));
    buf_cleanup(&reason);
}

/* Resends a refresh as EVAL after -NOSCRIPT (a restarted or failed-over
 * server lost its script cache); EVAL also reloads the cache. */
static void
resend_as_eval(struct redis_store *rs, struct pending *old)
{
    struct buf cmd;
    buf_init(&cmd, REDIS_COMMAND_MAX);
    struct pending *p = pending_new(P_EVAL, old->op);
    old->op = NULL;
    /* The claim time a FRESH answer reports; the keys stay with old. */
    p->args.now_ms = old->args.now_ms;
    if (store_redis_proto_eval(&cmd, &old->args) != 0) {
        if (p->op != NULL) {
            store_op_finish(p->op, STORE_REFRESH_UNAVAILABLE, "command too large");
        }
        pending_free(p);
    } else {
        send_command(rs, &cmd, p);
    }
    buf_cleanup(&cmd);
}

/* Finishes the operation of p from its reply. */
static void
answer(struct pending *p, const struct store_redis_reply *reply)
{
    int rc;
    int64_t claimed_ms = 0;
    switch (p->kind) {
    case P_CLAIM:
        rc = store_redis_proto_claim_result(reply);
        break;
    case P_MARK:
        rc = store_redis_proto_ok_result(reply);
        break;
    case P_PING:
        rc = store_redis_proto_exists_result(reply);
        break;
    case P_REVOCATION:
        rc = store_redis_proto_revocation_result(reply);
        break;
    default:
        rc = store_redis_proto_refresh_result(reply);
        claimed_ms = rc == STORE_REFRESH_FRESH   ? p->args.now_ms
                     : rc == STORE_REFRESH_RETRY ? store_redis_proto_refresh_retry_ms(reply)
                                                 : 0;
        break;
    }
    if (p->op == NULL) {
        return;
    }
    char text[STORE_ERROR_MAX];
    bool failed = rc == unavailable_rc(store_op_kind(p->op));
    if (failed) {
        store_redis_proto_describe(reply, text, sizeof(text));
    }
    if (store_op_kind(p->op) == STORE_OP_REFRESH_CLAIM) {
        store_op_finish_refresh(p->op, (enum store_refresh)rc, claimed_ms, failed ? text : NULL);
    } else {
        store_op_finish(p->op, rc, failed ? text : NULL);
    }
    p->op = NULL;
}

/* Handles one reply; false when the connection was dropped (stop reading). */
static bool
handle_reply(struct redis_store *rs, struct store_redis_reply *reply)
{
    struct pending *p = TAILQ_FIRST(&rs->inflight);
    bool alive = true;
    if (p == NULL) {
        drop(rs, "reply without a command (protocol out of step)");
        store_redis_proto_reply_free(reply);
        return false;
    }
    TAILQ_REMOVE(&rs->inflight, p, link);
    rs->inflight_count--;
    switch (p->kind) {
    case P_AUTH:
    case P_SELECT:
        if (store_redis_proto_ok_result(reply) != STORE_OK) {
            handshake_failed(rs, p, reply);
            alive = false;
        }
        break;
    case P_HELLO_PING:
        if (store_redis_proto_pong_result(reply) != STORE_OK) {
            handshake_failed(rs, p, reply);
            alive = false;
            break;
        }
        rs->confirmed = true;
        rs->backoff_ms = BOUNDS_REDIS_BACKOFF_MIN_MS;
        if (rs->check != NULL) {
            check_finish(rs, true, NULL);
        }
        break;
    case P_EVALSHA:
        if (store_redis_proto_is_noscript(reply)) {
            resend_as_eval(rs, p);
            break;
        }
        answer(p, reply);
        break;
    default:
        answer(p, reply);
        break;
    }
    pending_free(p);
    store_redis_proto_reply_free(reply);
    if (alive) {
        arm_command_timer(rs);
    }
    return alive;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
    struct redis_store *rs = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char chunk[STORE_REDIS_FEED_MAX];
    while (evbuffer_get_length(in) > 0) {
        int n = evbuffer_remove(in, chunk, sizeof(chunk));
        if (n <= 0 ||
            store_redis_proto_feed(rs->reader, chunk, (size_t)n) == STORE_REDIS_READ_ERROR) {
            drop(rs, "malformed or oversized reply from Redis");
            return;
        }
        for (;;) {
            struct store_redis_reply *reply = NULL;
            enum store_redis_read rc = store_redis_proto_next(rs->reader, &reply);
            if (rc == STORE_REDIS_READ_ERROR) {
                drop(rs, "malformed or oversized reply from Redis");
                return;
            }
            if (rc == STORE_REDIS_READ_MORE) {
                break;
            }
            if (!handle_reply(rs, reply)) {
                return;
            }
        }
    }
}

/* ---- Connecting ---------------------------------------------------------------------- */

/* Appends why the connection failed to out (empty on entry). */
static void
describe_failure(struct redis_store *rs, struct bufferevent *bev, short what, struct buf *out)
{
    int err = EVUTIL_SOCKET_ERROR();
    /* TLS explains a failure only while the handshake runs; after it, a
     * TLS error is just a lost connection. */
    if (rs->be->ssl_ctx != NULL) {
        net_tls_describe(bev, rs->state == CONN_CONNECTING, rs->be->where, out);
        if (out->len > 0) {
            if (rs->state == CONN_CONNECTING) {
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
    const char *hint = rs->state == CONN_READY && !rs->confirmed
                           ? " before answering (a TLS port needs rediss://)"
                           : "";
    if (what & BEV_EVENT_EOF) {
        buf_appendf_best(out, "%s closed the connection%s", rs->be->where, hint);
        return;
    }
    if (rs->state == CONN_CONNECTING) {
        buf_appendf_best(out, "cannot connect to %s: %s", rs->be->where,
                         err != 0 ? evutil_socket_error_to_string(err) : "connection refused");
        return;
    }
    buf_appendf_best(out, "connection to %s failed: %s%s", rs->be->where,
                     err != 0 ? evutil_socket_error_to_string(err) : "unknown error", hint);
}

/* Writes [AUTH] [SELECT] PING: they go out before any command. */
static void
send_handshake(struct redis_store *rs)
{
    const struct store_redis_url *u = &rs->be->url;
    struct buf cmd;
    buf_init(&cmd, REDIS_COMMAND_MAX);
    /* go-redis: a user name means ACL AUTH (even with an empty password);
     * a password alone means the legacy single-password AUTH. */
    if (u->user != NULL || (u->password != NULL && u->password[0] != '\0')) {
        if (store_redis_proto_auth(&cmd, u->user, u->password) == 0) {
            send_command(rs, &cmd, pending_new(P_AUTH, NULL));
        }
        explicit_bzero(cmd.ptr, cmd.len);
        buf_reset(&cmd);
    }
    if (u->db != 0 && store_redis_proto_select(&cmd, u->db) == 0) {
        send_command(rs, &cmd, pending_new(P_SELECT, NULL));
        buf_reset(&cmd);
    }
    if (store_redis_proto_ping(&cmd) == 0) {
        send_command(rs, &cmd, pending_new(P_HELLO_PING, NULL));
    }
    buf_cleanup(&cmd);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
    struct redis_store *rs = arg;
    if (what & BEV_EVENT_CONNECTED) {
        event_del(rs->connect_timer);
        rs->state = CONN_READY;
        send_handshake(rs);
        return;
    }
    if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
        struct buf reason;
        reason_init(&reason);
        describe_failure(rs, bev, what, &reason);
        drop(rs, buf_cstr(&reason));
        buf_cleanup(&reason);
    }
}

/* TCP is up (or could not be had): wrap the socket, plain or TLS. */
static void
on_connected(int fd, const union net_sockaddr *peer, const char *error, void *arg)
{
    struct redis_store *rs = arg;
    rs->connecting = NULL;
    if (fd < 0) {
        drop(rs, error);
        return;
    }
    rs->last_good = *peer;
    int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
    if (rs->be->ssl_ctx == NULL) {
        rs->bev =
            store_must(bufferevent_socket_new(rs->base.base, fd, opts), "bufferevent_socket_new");
        bufferevent_setcb(rs->bev, on_read, NULL, on_event, rs);
        bufferevent_enable(rs->bev, EV_READ | EV_WRITE);
        on_event(rs->bev, BEV_EVENT_CONNECTED, rs);
        return;
    }
    rs->bev = bufferevent_openssl_socket_new(rs->base.base, fd,
                                             net_tls_new(rs->be->ssl_ctx, rs->be->url.host),
                                             BUFFEREVENT_SSL_CONNECTING, opts);
    store_must(rs->bev, "bufferevent_openssl_socket_new");
    bufferevent_setcb(rs->bev, on_read, NULL, on_event, rs);
    bufferevent_enable(rs->bev, EV_READ | EV_WRITE);
    uint64_t now = clock_mono_ms();
    uint64_t left = rs->deadline_ms > now ? rs->deadline_ms - now : 0;
    struct timeval tv = clock_timeval_from_ms(left);
    event_add(rs->connect_timer, &tv);
}

static void
connect_start(struct redis_store *rs)
{
    const struct store_redis_url *u = &rs->be->url;
    rs->state = CONN_CONNECTING;
    rs->confirmed = false;
    rs->deadline_ms = clock_mono_ms() + u->connect_timeout_ms;
    const struct net_connect_opts o = {
        .host = u->host,
        .label = rs->be->where,
        .port = u->port,
        .timeout_ms = u->connect_timeout_ms,
        .keepalive = rs->be->has_keepalive ? &rs->be->keepalive : NULL,
        .prefer = rs->last_good.sa.sa_family != 0 ? &rs->last_good : NULL,
    };
    rs->connecting = net_connect_start(rs->base.base, rs->resolver, &o, on_connected, rs);
}

/* ---- The store vtable entries ---------------------------------------------------------------- */

static int
encode_request(struct redis_store *rs, const struct store_req *req, struct buf *cmd,
               struct pending *p)
{
    switch (req->kind) {
    case STORE_OP_CLAIM_ONCE:
        return store_redis_proto_set_nx(cmd, req->key, req->ttl_ms);
    case STORE_OP_MARK:
        return store_redis_proto_set(cmd, req->key, req->ttl_ms);
    case STORE_OP_PING:
        return store_redis_proto_exists(cmd, req->key);
    case STORE_OP_REVOCATION:
        return store_redis_proto_revocation(cmd, req->key, req->member, req->expires_ms,
                                            req->now_ms);
    case STORE_OP_REFRESH_CLAIM:
    case STORE_OP_KIND_COUNT:
        break;
    }
    /* Keep the arguments: a NOSCRIPT answer resends them as EVAL. */
    p->family_key = xstrndup(req->key.ptr, req->key.len);
    p->claim_key = xstrndup(req->claim_key.ptr, req->claim_key.len);
    p->args = (struct store_redis_refresh_args){
        .family_key = slice_make(p->family_key, req->key.len),
        .claim_key = slice_make(p->claim_key, req->claim_key.len),
        .claim_ttl_ms = req->ttl_ms,
        .family_ttl_ms = req->family_ttl_ms,
        .now_ms = req->now_ms,
        .grace_ms = req->grace_ms,
        .retry_grace_ms = req->retry_grace_ms,
    };
    return store_redis_proto_evalsha(cmd, rs->be->sha1, &p->args);
}

void
store_redis_conn_start(struct store *s, struct store_op *op, const struct store_req *req)
{
    struct redis_store *rs = redis_of(s);
    static const enum pending_kind kinds[STORE_OP_KIND_COUNT] = {
        [STORE_OP_CLAIM_ONCE] = P_CLAIM,      [STORE_OP_MARK] = P_MARK,
        [STORE_OP_REFRESH_CLAIM] = P_EVALSHA, [STORE_OP_PING] = P_PING,
        [STORE_OP_REVOCATION] = P_REVOCATION,
    };
    if (rs->state != CONN_READY) {
        /* No queue: a request must not wait on a Redis that is not there. */
        struct buf reason;
        reason_init(&reason);
        buf_appendf_best(&reason, "not connected: %s", buf_cstr(&rs->last_error));
        store_op_finish(op, unavailable_rc(req->kind), buf_cstr(&reason));
        buf_cleanup(&reason);
        return;
    }
    if (rs->inflight_count >= BOUNDS_REDIS_INFLIGHT_MAX) {
        store_op_finish(op, unavailable_rc(req->kind), "too many commands in flight");
        return;
    }
    struct pending *p = pending_new(kinds[req->kind], op);
    struct buf cmd;
    buf_init(&cmd, REDIS_COMMAND_MAX);
    if (encode_request(rs, req, &cmd, p) != 0) {
        pending_free(p);
        store_op_finish(op, unavailable_rc(req->kind), "command too large");
    } else {
        send_command(rs, &cmd, p);
    }
    buf_cleanup(&cmd);
}

void
store_redis_conn_detach(struct store *s, struct store_op *op)
{
    (void)s;
    struct pending *p = store_op_get_backend_ref(op);
    /* The command is on the wire: its reply is still read and dropped. */
    p->op = NULL;
}

void
store_redis_conn_close(struct store *s)
{
    struct redis_store *rs = redis_of(s);
    release_connection(rs);
    struct pending *p;
    while ((p = TAILQ_FIRST(&rs->inflight)) != NULL) {
        TAILQ_REMOVE(&rs->inflight, p, link);
        if (p->op != NULL) {
            store_op_discard(p->op);
        }
        pending_free(p);
    }
    rs->inflight_count = 0;
    store_redis_proto_reader_free(rs->reader);
    rs->reader = NULL;
    net_resolver_free(rs->resolver); /* the loop is not running (store_free) */
    rs->resolver = NULL;
    event_free(rs->connect_timer);
    event_free(rs->command_timer);
    event_free(rs->retry_timer);
    buf_cleanup(&rs->last_error);
}

bool
store_redis_conn_is_connected(const struct store *s)
{
    const struct redis_store *rs = (const struct redis_store *)s;
    return rs->state == CONN_READY && rs->confirmed;
}

struct store *
store_redis_conn_open(struct store_redis_shared *be, struct event_base *base,
                      struct store_redis_check *check)
{
    struct redis_store *rs = xcalloc(1, sizeof(*rs));
    store_init(&rs->base, &be->base, base);
    rs->be = be;
    rs->state = CONN_DOWN;
    rs->reader = store_redis_proto_reader_new();
    rs->resolver = net_resolver_new(base, &be->dns);
    TAILQ_INIT(&rs->inflight);
    rs->connect_timer = store_must(event_new(base, -1, 0, on_connect_timeout, rs), "event_new");
    rs->command_timer = store_must(event_new(base, -1, 0, on_command_timeout, rs), "event_new");
    rs->retry_timer = store_must(event_new(base, -1, 0, on_retry, rs), "event_new");
    rs->backoff_ms = BOUNDS_REDIS_BACKOFF_MIN_MS;
    rs->check = check;
    reason_init(&rs->last_error);
    buf_appendf_best(&rs->last_error, "connecting to %s", be->where);
    connect_start(rs);
    return &rs->base;
}

void
store_redis_conn_check_expired(struct store *s)
{
    struct redis_store *rs = redis_of(s);
    struct buf reason;
    reason_init(&reason);
    buf_appendf_best(&reason, "no answer from %s within the start-up check (%s)", rs->be->where,
                     rs->state == CONN_READY ? "connected, waiting for PING"
                                             : buf_cstr(&rs->last_error));
    check_finish(rs, false, buf_cstr(&reason));
    buf_cleanup(&reason);
}
