/* The Redis store adapter: one worker's store on its loop (see
 * redis_conn.h). It maps store operations to command batches, sends them
 * over the worker's link to the primary (store/redis_link.h) and maps the
 * replies back to results. The link does the connection work; results go
 * through store_op_finish(), which defers them to the loop, so no user
 * callback ever runs from here.
 *
 * With REDIS_MIN_REPLICAS_ACK = N > 0 every write (claim, mark, refresh
 * script) is followed by WAIT N timeout in the same batch: one write, one
 * round trip plus the replication wait, and the answer only counts when
 * N replicas acknowledged it (docs/redis.md, "WAIT"). In Sentinel mode the
 * same holds; a Sentinel client (redis_sentinel.h) points the link at the
 * primary and operations fail at once while none is confirmed. */
#include "store/redis_conn.h"

#include <stdio.h>
#include <string.h>
#include <sys/queue.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "log.h"
#include "metrics.h"
#include "store/redis_link.h"
#include "store/redis_proto.h"
#include "store/redis_sentinel.h"
#include "store/store_int.h"

/* A command with its keys, the script and a long prefix stays far below
 * this; past it the operation fails closed rather than grow a buffer. */
#define REDIS_COMMAND_MAX (64 * 1024)

enum pending_kind {
    P_CLAIM = 0,
    P_MARK,
    P_PING,
    P_EVALSHA,
    P_EVAL,
    P_RATE_WINDOW, /* issue 14: store_rate_window */
    P_REVOCATION,
};

struct pending {
    TAILQ_ENTRY(pending) entry;
    struct redis_store *rs;
    enum pending_kind kind;
    struct store_op *op;         /* NULL once cancelled */
    struct store_redis_cmd *cmd; /* the batch on the link */
    bool waits;                  /* a WAIT follows the command */
    /* EVALSHA only: what a NOSCRIPT fallback resends. Kept even when the
     * op is cancelled, so a cancelled rotation still takes effect. */
    char *family_key;
    char *claim_key;
    struct store_redis_refresh_args args;
};

struct redis_store {
    struct store base;
    struct store_redis_shared *be;
    struct store_redis_link *link; /* to the primary */
    /* Sentinel mode: steers link; operations wait for nothing and fail
     * at once while it has no confirmed primary. NULL: a single Redis. */
    struct store_redis_sentinel *sentinel;
    TAILQ_HEAD(pending_list, pending) pendings;
};

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

static struct pending *
pending_new(struct redis_store *rs, enum pending_kind kind, struct store_op *op)
{
    struct pending *p = xcalloc(1, sizeof(*p));
    p->rs = rs;
    p->kind = kind;
    p->op = op;
    return p;
}

static void
pending_free(struct pending *p)
{
    xfree(p->family_key);
    xfree(p->claim_key);
    xfree(p);
}

/* The operation fails closed with reason (no-op once cancelled). */
static void
fail_op(struct pending *p, const char *reason)
{
    if (p->op != NULL) {
        store_op_finish(p->op, unavailable_rc(store_op_kind(p->op)), reason);
        p->op = NULL;
    }
}

static void on_replies(void *arg, struct store_redis_reply *const *replies, size_t count,
                       const char *error);

/* Appends WAIT when p writes and N > 0, then sends the batch. On refusal
 * the operation fails at once (through the loop) and p is freed. */
static void
send_pending(struct redis_store *rs, struct pending *p, struct buf *cmd)
{
    const struct store_redis_shared *be = rs->be;
    size_t count = 1;
    uint64_t extra_ms = 0;
    struct buf why;
    buf_init(&why, STORE_ERROR_MAX - 1);
    /* A rate window is a counter, not a claim: losing it in a failover
     * costs a little budget, so it never waits for replicas. */
    p->waits = p->kind != P_PING && p->kind != P_RATE_WINDOW && be->min_replicas_ack > 0;
    if (p->waits) {
        if (store_redis_proto_wait(cmd, be->min_replicas_ack, be->replicas_ack_timeout_ms) != 0) {
            buf_appendf_best(&why, "command too large");
            goto refused;
        }
        count = 2;
        extra_ms = be->replicas_ack_timeout_ms;
    }
    if (rs->sentinel != NULL && !store_redis_sentinel_confirmed(rs->sentinel)) {
        buf_appendf_best(&why, "no confirmed primary: %s", store_redis_sentinel_why(rs->sentinel));
        goto refused;
    }
    p->cmd = store_redis_link_send(rs->link, cmd, count, extra_ms, on_replies, p, &why);
    if (p->cmd == NULL) {
        goto refused;
    }
    TAILQ_INSERT_TAIL(&rs->pendings, p, entry);
    if (p->op != NULL) {
        store_op_set_backend_ref(p->op, p);
    }
    buf_cleanup(&why);
    return;
refused:
    fail_op(p, buf_cstr(&why));
    pending_free(p);
    buf_cleanup(&why);
}

/* Resends a refresh as EVAL after -NOSCRIPT (a restarted or failed-over
 * server lost its script cache); EVAL also reloads the cache. */
static void
resend_as_eval(struct redis_store *rs, struct pending *old)
{
    struct buf cmd;
    buf_init(&cmd, REDIS_COMMAND_MAX);
    struct pending *p = pending_new(rs, P_EVAL, old->op);
    old->op = NULL;
    /* The claim time a FRESH answer reports; the keys stay with old. */
    p->args.now_ms = old->args.now_ms;
    if (store_redis_proto_eval(&cmd, &old->args) != 0) {
        fail_op(p, "command too large");
        pending_free(p);
    } else {
        send_pending(rs, p, &cmd);
    }
    buf_cleanup(&cmd);
}

/* The command's own result from its reply. */
static int
command_result(const struct pending *p, const struct store_redis_reply *reply, int64_t *claimed_ms)
{
    int rc;
    switch (p->kind) {
    case P_CLAIM:
        return store_redis_proto_claim_result(reply);
    case P_MARK:
        return store_redis_proto_ok_result(reply);
    case P_PING:
        return store_redis_proto_exists_result(reply);
    case P_RATE_WINDOW:
        return store_redis_proto_rate_window_result(reply);
    case P_REVOCATION:
        return store_redis_proto_revocation_result(reply);
    default:
        rc = store_redis_proto_refresh_result(reply);
        *claimed_ms = rc == STORE_REFRESH_FRESH   ? p->args.now_ms
                      : rc == STORE_REFRESH_RETRY ? store_redis_proto_refresh_retry_ms(reply)
                                                  : 0;
        return rc;
    }
}

/* Finishes the operation of p from its replies. */
static void
answer(struct pending *p, struct store_redis_reply *const *replies)
{
    int64_t claimed_ms = 0;
    int rc = command_result(p, replies[0], &claimed_ms);
    const struct store_redis_reply *blame = replies[0];
    bool failed =
        rc == unavailable_rc(p->kind == P_EVALSHA || p->kind == P_EVAL ? STORE_OP_REFRESH_CLAIM
                                                                       : STORE_OP_CLAIM_ONCE);
    char text[STORE_ERROR_MAX];
    text[0] = '\0';
    if (!failed && p->waits &&
        store_redis_proto_wait_short(replies[1], p->rs->be->min_replicas_ack,
                                     p->rs->be->replicas_ack_timeout_ms, text, sizeof(text))) {
        /* The write stands on the primary, but fewer replicas than asked
         * have it: a failover now could lose it, so the answer must not
         * count (fail closed). */
        failed = true;
        rc = unavailable_rc(p->kind == P_EVALSHA || p->kind == P_EVAL ? STORE_OP_REFRESH_CLAIM
                                                                      : STORE_OP_CLAIM_ONCE);
        claimed_ms = 0;
        blame = NULL;
        metrics_inc(METRICS_REDIS_REPLICA_ACK_SHORT);
        struct log_line l;
        log_begin(&l, LOG_DEBUG, "redis_replica_ack_short");
        log_str(&l, "reason", text);
        log_end(&l);
    }
    if (failed && blame != NULL) {
        store_redis_proto_describe(blame, text, sizeof(text));
        if (store_redis_proto_is_readonly(blame)) {
            /* Our primary was demoted: reconnect (and find the new one). */
            store_redis_link_drop(p->rs->link, "READONLY reply: the server is a replica");
        }
    }
    if (p->op == NULL) {
        return;
    }
    if (store_op_kind(p->op) == STORE_OP_REFRESH_CLAIM) {
        store_op_finish_refresh(p->op, (enum store_refresh)rc, claimed_ms, failed ? text : NULL);
    } else {
        store_op_finish(p->op, rc, failed ? text : NULL);
    }
    p->op = NULL;
}

static void
on_replies(void *arg, struct store_redis_reply *const *replies, size_t count, const char *error)
{
    struct pending *p = arg;
    struct redis_store *rs = p->rs;
    TAILQ_REMOVE(&rs->pendings, p, entry);
    if (replies == NULL || count == 0) {
        fail_op(p, error != NULL ? error : "no reply");
    } else if (store_redis_proto_resend(replies[0], p->kind == P_EVALSHA) ==
               STORE_REDIS_RESEND_EVAL) {
        resend_as_eval(rs, p);
    } else {
        answer(p, replies);
    }
    pending_free(p);
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
    case STORE_OP_RATE_WINDOW:
        return store_redis_proto_rate_window(cmd, req->key, req->rate_limit, req->now_ms);
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
    /* issue 14's op beside the table, so it moves as one block at merge */
    enum pending_kind kind = req->kind == STORE_OP_RATE_WINDOW ? P_RATE_WINDOW : kinds[req->kind];
    struct pending *p = pending_new(rs, kind, op);
    struct buf cmd;
    buf_init(&cmd, REDIS_COMMAND_MAX);
    if (encode_request(rs, req, &cmd, p) != 0) {
        fail_op(p, "command too large");
        pending_free(p);
    } else {
        send_pending(rs, p, &cmd);
    }
    buf_cleanup(&cmd);
}

void
store_redis_conn_detach(struct store *s, struct store_op *op)
{
    (void)s;
    struct pending *p = store_op_get_backend_ref(op);
    /* The command is on the wire: its reply is still read and dropped (and
     * a NOSCRIPT still resends the rotation). */
    p->op = NULL;
}

void
store_redis_conn_close(struct store *s)
{
    struct redis_store *rs = redis_of(s);
    store_redis_sentinel_free(rs->sentinel); /* before the link it steers */
    rs->sentinel = NULL;
    store_redis_link_free(rs->link); /* no callback runs */
    rs->link = NULL;
    struct pending *p;
    while ((p = TAILQ_FIRST(&rs->pendings)) != NULL) {
        TAILQ_REMOVE(&rs->pendings, p, entry);
        if (p->op != NULL) {
            store_op_discard(p->op);
        }
        pending_free(p);
    }
}

bool
store_redis_conn_is_connected(const struct store *s)
{
    const struct redis_store *rs = (const struct redis_store *)s;
    return store_redis_link_is_up(rs->link) &&
           (rs->sentinel == NULL || store_redis_sentinel_confirmed(rs->sentinel));
}

struct store *
store_redis_conn_open(struct store_redis_shared *be, struct event_base *base)
{
    struct redis_store *rs = xcalloc(1, sizeof(*rs));
    store_init(&rs->base, &be->base, base);
    rs->be = be;
    TAILQ_INIT(&rs->pendings);
    struct store_redis_link_opts o = {
        .target = &be->target,
        .ssl_ctx = be->ssl_ctx,
        .dns = &be->net.dns,
        .keepalive = store_redis_net_keepalive(&be->net),
    };
    if (be->sentinel != NULL) {
        /* The link waits (idle) for the first primary discovery confirms. */
        struct store_redis_sentinel_opts so = {
            .conf = be->sentinel,
            .ssl_ctx = be->ssl_ctx,
            .dns = &be->net.dns,
            .keepalive = o.keepalive,
        };
        rs->sentinel = store_redis_sentinel_new(base, &so);
        o.idle = true;
        o.on_state = store_redis_sentinel_data_state;
        o.arg = rs->sentinel;
    }
    rs->link = store_redis_link_new(base, &o);
    if (rs->sentinel != NULL) {
        store_redis_sentinel_attach(rs->sentinel, rs->link);
    }
    return &rs->base;
}
