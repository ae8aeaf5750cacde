/* The Redis Cluster back end (see redis_cluster.h): the process-wide part,
 * each worker's slot map and links, routing, redirections, map refreshes
 * and the start-up check. Replies are mapped to results with the same
 * redis_proto functions the single-server adapter uses.
 *
 * Links are never freed while the store runs (a link's callbacks may be on
 * the stack, and a link with a shared resolver is cheap to keep): a link
 * whose node left the map is retargeted when a new primary needs one. */
#include "store/redis_cluster.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "log.h"
#include "metrics.h"
#include "net/resolve.h"
#include "net/sockopt.h"
#include "net/tls.h"
#include "store/redis_cluster_map.h"
#include "store/redis_link.h"
#include "store/redis_proto.h"
#include "store/redis_slot.h"
#include "store/redis_url.h"
#include "store/store_int.h"

#define CLUSTER_COMMAND_MAX (64 * 1024)
/* How soon the map is asked for again while some slot has no primary (an
 * election under way) or no node answered: the cost of a failover is the
 * election plus at most this. */
#define CLUSTER_RETRY_MS 200

struct cluster_shared {
    struct store_backend base;
    struct store_redis_cluster_url url;
    struct store_redis_target target; /* auth, TLS, timeouts; host/port per link */
    char where[STORE_ERROR_MAX];
    struct ssl_ctx_st *ssl_ctx;
    struct store_redis_net net; /* resolver files, keep-alive */
    char sha1[41];
    unsigned min_replicas_ack;
    uint64_t replicas_ack_timeout_ms;
};

struct cluster_store;

struct node_link {
    struct cluster_store *cs;
    struct store_redis_link *link;
};

enum pending_kind {
    P_CLAIM = 0,
    P_MARK,
    P_PING,
    P_REFRESH,
    P_RATE_WINDOW, /* a counter, not a claim: never followed by WAIT */
    P_REVOCATION,  /* revocation/revocation.h: ZADD + trim + PUBLISH */
};

struct pending {
    TAILQ_ENTRY(pending) entry;
    struct cluster_store *cs;
    enum pending_kind kind;
    struct store_op *op; /* NULL once cancelled */
    struct node_link *nl;
    struct store_redis_cmd *cmd;
    unsigned slot;
    unsigned redirects;
    bool asking;         /* ASKING goes first in the batch */
    bool eval;           /* the script's text instead of EVALSHA (after NOSCRIPT) */
    bool tried_again;    /* -TRYAGAIN already answered once */
    struct event *later; /* the -TRYAGAIN delay, while it runs */
    bool waits;
    char *key;
    char *claim_key;
    uint64_t ttl_ms;
    uint32_t rate_limit; /* P_RATE_WINDOW: the budget */
    int64_t now_ms;      /* P_RATE_WINDOW: its clock; P_REVOCATION: the trim's */
    char *member;        /* P_REVOCATION: "f:<fam>" or "s:<at_ms>:<sub>" */
    int64_t expires_ms;  /* P_REVOCATION: its score */
    struct store_redis_refresh_args args;
};

struct cluster_check; /* the start-up check's state */

struct cluster_store {
    struct store base;
    struct cluster_shared *be;
    struct net_resolver *resolver;
    struct store_redis_cluster_map *map;
    bool map_loaded;
    bool use_slots; /* CLUSTER SHARDS was refused: a server before 7 */
    struct node_link links[BOUNDS_REDIS_CLUSTER_PRIMARIES_MAX + 1];
    size_t link_count;
    size_t next_seed;
    struct event *refresh_timer;
    struct node_link *refresh_on; /* the link a map request is in flight on */
    struct store_redis_cmd *refresh_cmd;
    TAILQ_HEAD(pending_list, pending) pendings;
    struct cluster_check *check;
};

struct cluster_check {
    bool done;
    bool ok;
    struct buf *error;
};

static const char asking_cmd[] = "*1\r\n$6\r\nASKING\r\n";

static int
unavailable_rc(enum pending_kind kind)
{
    return kind == P_REFRESH ? (int)STORE_REFRESH_UNAVAILABLE : (int)STORE_ERR_UNAVAILABLE;
}

/* ---- Links ------------------------------------------------------------------------ */

static void request_refresh(struct cluster_store *cs, uint64_t delay_ms);

static bool
owns_slots(const struct cluster_store *cs, const struct store_redis_link *l)
{
    if (!cs->map_loaded) {
        return false;
    }
    const char *host = store_redis_link_host(l);
    unsigned port = store_redis_link_port(l);
    for (size_t i = 0; i < cs->map->node_count; i++) {
        if (cs->map->nodes[i].port == port && strcmp(cs->map->nodes[i].host, host) == 0) {
            return true;
        }
    }
    return false;
}

static void
on_link_state(void *arg, bool up, const char *reason)
{
    struct node_link *nl = arg;
    struct cluster_store *cs = nl->cs;
    (void)reason;
    if (up && !cs->map_loaded) {
        request_refresh(cs, 0);
    } else if (!up && owns_slots(cs, nl->link)) {
        /* A primary went away: a failover may be under way. */
        request_refresh(cs, BOUNDS_REDIS_BACKOFF_MIN_MS);
    }
}

static struct node_link *
link_find(struct cluster_store *cs, const char *host, unsigned port)
{
    for (size_t i = 0; i < cs->link_count; i++) {
        struct store_redis_link *l = cs->links[i].link;
        if (store_redis_link_port(l) == port && strcmp(store_redis_link_host(l), host) == 0) {
            return &cs->links[i];
        }
    }
    return NULL;
}

/* The link to host:port, made (or an unused one retargeted) when there is
 * none; NULL when every link serves a primary of the map. */
static struct node_link *
link_get(struct cluster_store *cs, const char *host, unsigned port)
{
    struct node_link *nl = link_find(cs, host, port);
    if (nl != NULL) {
        return nl;
    }
    if (cs->link_count < sizeof(cs->links) / sizeof(cs->links[0])) {
        nl = &cs->links[cs->link_count++];
        struct store_redis_target t = cs->be->target;
        t.host = host;
        t.port = port;
        struct store_redis_link_opts o = {
            .target = &t,
            .ssl_ctx = cs->be->ssl_ctx,
            .resolver = cs->resolver,
            .keepalive = store_redis_net_keepalive(&cs->be->net),
            .on_state = on_link_state,
            .arg = nl,
        };
        nl->cs = cs;
        nl->link = store_redis_link_new(cs->base.base, &o);
        return nl;
    }
    for (size_t i = 0; i < cs->link_count; i++) {
        if (!owns_slots(cs, cs->links[i].link) && &cs->links[i] != cs->refresh_on) {
            store_redis_link_retarget(cs->links[i].link, host, port);
            return &cs->links[i];
        }
    }
    return NULL;
}

/* ---- The slot map ------------------------------------------------------------------ */

static void on_refresh_timer(evutil_socket_t fd, short what, void *arg);

static void
request_refresh(struct cluster_store *cs, uint64_t delay_ms)
{
    if (cs->refresh_on != NULL) {
        return; /* the answer in flight re-arms the timer */
    }
    struct timeval tv = clock_timeval_from_ms(delay_ms);
    if (evtimer_pending(cs->refresh_timer, NULL)) {
        /* Never postpone an earlier refresh. */
        struct timeval when, now;
        evtimer_pending(cs->refresh_timer, &when);
        event_base_gettimeofday_cached(cs->base.base, &now);
        struct timeval want;
        evutil_timeradd(&now, &tv, &want);
        if (evutil_timercmp(&when, &want, <=)) {
            return;
        }
    }
    evtimer_add(cs->refresh_timer, &tv);
}

static void
check_finish(struct cluster_store *cs, bool ok, const char *error)
{
    struct cluster_check *c = cs->check;
    if (c == NULL || c->done) {
        return;
    }
    c->done = true;
    c->ok = ok;
    if (!ok) {
        buf_appendf_best(c->error, "%s", error);
    }
}

static bool
all_primaries_up(struct cluster_store *cs)
{
    if (!cs->map_loaded || !store_redis_cluster_map_covered(cs->map)) {
        return false;
    }
    for (size_t i = 0; i < cs->map->node_count; i++) {
        struct node_link *nl = link_find(cs, cs->map->nodes[i].host, cs->map->nodes[i].port);
        if (nl == NULL || !store_redis_link_is_up(nl->link)) {
            return false;
        }
    }
    return true;
}

static void
on_map_reply(void *arg, struct store_redis_reply *const *replies, size_t count, const char *error)
{
    struct cluster_store *cs = arg;
    struct node_link *on = cs->refresh_on;
    cs->refresh_on = NULL;
    cs->refresh_cmd = NULL;
    if (replies == NULL || count == 0) {
        (void)error;
        request_refresh(cs, CLUSTER_RETRY_MS);
        return;
    }
    const char *host = store_redis_link_host(on->link);
    struct store_redis_cluster_map *next = xmalloc(sizeof(*next));
    bool ok = cs->use_slots
                  ? store_redis_cluster_map_from_slots(replies[0], host, next)
                  : store_redis_cluster_map_from_shards(replies[0], cs->be->target.tls, host, next);
    if (!ok && !cs->use_slots && replies[0]->type == STORE_REDIS_ERROR) {
        cs->use_slots = true; /* "unknown subcommand": a server before Redis 7 */
        xfree(next);
        request_refresh(cs, 0);
        return;
    }
    if (!ok) {
        xfree(next);
        request_refresh(cs, CLUSTER_RETRY_MS);
        return;
    }
    xfree(cs->map);
    cs->map = next;
    metrics_inc(METRICS_REDIS_CLUSTER_MAP_REFRESHES);
    bool first = !cs->map_loaded;
    cs->map_loaded = true;
    for (size_t i = 0; i < cs->map->node_count; i++) {
        (void)link_get(cs, cs->map->nodes[i].host, cs->map->nodes[i].port);
    }
    bool covered = store_redis_cluster_map_covered(cs->map);
    if (first || !covered) {
        struct log_line l;
        log_begin(&l, covered ? LOG_DEBUG : LOG_INFO, "redis_cluster_map");
        log_uint(&l, "primaries", cs->map->node_count);
        log_bool(&l, "covered", covered);
        log_end(&l);
    }
    request_refresh(cs, covered && all_primaries_up(cs) ? BOUNDS_REDIS_CLUSTER_REFRESH_MS
                                                        : CLUSTER_RETRY_MS);
}

static void
on_refresh_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct cluster_store *cs = arg;
    if (cs->check != NULL && all_primaries_up(cs)) {
        check_finish(cs, true, NULL);
    }
    if (cs->refresh_on != NULL) {
        return;
    }
    /* Any node that is up can answer: primaries first, as listed. */
    struct node_link *on = NULL;
    for (size_t i = 0; i < cs->link_count && on == NULL; i++) {
        if (store_redis_link_is_up(cs->links[i].link)) {
            on = &cs->links[i];
        }
    }
    if (on == NULL) {
        /* Nobody is up: point the first link at the next seed (the seeds
         * are where the operator said the cluster is) and try again. */
        const struct store_redis_cluster_seed *sd =
            &cs->be->url.seeds[cs->next_seed++ % cs->be->url.seed_count];
        struct node_link *nl = link_find(cs, sd->host, sd->port);
        if (nl == NULL) {
            nl = link_get(cs, sd->host, sd->port);
        }
        request_refresh(cs, cs->map_loaded ? CLUSTER_RETRY_MS : BOUNDS_REDIS_BACKOFF_MIN_MS);
        return;
    }
    struct buf cmd, why;
    buf_init(&cmd, 256);
    buf_init(&why, STORE_ERROR_MAX - 1);
    struct slice argv[] = {SLICE_LIT("CLUSTER"),
                           cs->use_slots ? SLICE_LIT("SLOTS") : SLICE_LIT("SHARDS")};
    if (store_redis_proto_command(&cmd, 2, argv) == 0) {
        cs->refresh_cmd = store_redis_link_send(on->link, &cmd, 1, 0, on_map_reply, cs, &why);
    }
    if (cs->refresh_cmd != NULL) {
        cs->refresh_on = on;
    } else {
        request_refresh(cs, CLUSTER_RETRY_MS);
    }
    buf_cleanup(&cmd);
    buf_cleanup(&why);
}

/* ---- Operations ---------------------------------------------------------------------- */

static void
pending_free(struct pending *p)
{
    if (p->later != NULL) {
        event_free(p->later);
    }
    xfree(p->key);
    xfree(p->claim_key);
    xfree(p->member);
    xfree(p);
}

static void
fail_op(struct pending *p, const char *reason)
{
    if (p->op != NULL) {
        store_op_finish(p->op, unavailable_rc(p->kind), reason);
        p->op = NULL;
    }
}

static int
encode(const struct pending *p, struct buf *cmd)
{
    const struct cluster_shared *be = p->cs->be;
    struct slice key = slice_from_cstr(p->key);
    if (p->asking && buf_append(cmd, asking_cmd, sizeof(asking_cmd) - 1) != 0) {
        return -1;
    }
    int rc;
    switch (p->kind) {
    case P_CLAIM:
        rc = store_redis_proto_set_nx(cmd, key, p->ttl_ms);
        break;
    case P_MARK:
        rc = store_redis_proto_set(cmd, key, p->ttl_ms);
        break;
    case P_PING:
        rc = store_redis_proto_exists(cmd, key);
        break;
    case P_RATE_WINDOW:
        rc = store_redis_proto_rate_window(cmd, key, p->rate_limit, p->now_ms);
        break;
    case P_REVOCATION:
        rc = store_redis_proto_revocation(cmd, key, slice_from_cstr(p->member), p->expires_ms,
                                          p->now_ms);
        break;
    default:
        rc = p->eval ? store_redis_proto_eval(cmd, &p->args)
                     : store_redis_proto_evalsha(cmd, be->sha1, &p->args);
        break;
    }
    if (rc == 0 && p->waits) {
        rc = store_redis_proto_wait(cmd, be->min_replicas_ack, be->replicas_ack_timeout_ms);
    }
    return rc;
}

static void on_replies(void *arg, struct store_redis_reply *const *replies, size_t count,
                       const char *error);

/* Sends p to the primary of its slot (or to p->nl when a redirection
 * named the node). Fails the operation closed when that cannot be done. */
static void
dispatch(struct pending *p)
{
    struct cluster_store *cs = p->cs;
    char reason[STORE_ERROR_MAX];
    if (p->nl == NULL) {
        const struct store_redis_cluster_node *n =
            cs->map_loaded ? store_redis_cluster_map_owner(cs->map, p->slot) : NULL;
        if (n == NULL) {
            snprintf(reason, sizeof(reason), "cluster slot %u has no reachable primary", p->slot);
            request_refresh(cs, 0);
            goto fail;
        }
        p->nl = link_get(cs, n->host, n->port);
        if (p->nl == NULL) {
            snprintf(reason, sizeof(reason), "too many cluster nodes");
            goto fail;
        }
    }
    p->waits = p->kind != P_PING && p->kind != P_RATE_WINDOW && cs->be->min_replicas_ack > 0;
    struct buf cmd, why;
    buf_init(&cmd, CLUSTER_COMMAND_MAX);
    buf_init(&why, STORE_ERROR_MAX - 1);
    size_t count = 1 + (p->asking ? 1 : 0) + (p->waits ? 1 : 0);
    if (encode(p, &cmd) != 0) {
        buf_appendf_best(&why, "command too large");
    } else {
        p->cmd = store_redis_link_send(p->nl->link, &cmd, count,
                                       p->waits ? cs->be->replicas_ack_timeout_ms : 0, on_replies,
                                       p, &why);
    }
    snprintf(reason, sizeof(reason), "%s", buf_cstr(&why));
    buf_cleanup(&cmd);
    buf_cleanup(&why);
    if (p->cmd == NULL) {
        goto fail;
    }
    TAILQ_INSERT_TAIL(&cs->pendings, p, entry);
    if (p->op != NULL) {
        store_op_set_backend_ref(p->op, p);
    }
    return;
fail:
    fail_op(p, reason);
    pending_free(p);
}

/* Finishes p from the command's reply (and WAIT's). */
static void
answer(struct pending *p, const struct store_redis_reply *reply,
       const struct store_redis_reply *wait_reply)
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
    case P_RATE_WINDOW:
        rc = store_redis_proto_rate_window_result(reply);
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
    bool failed = rc == unavailable_rc(p->kind);
    char text[STORE_ERROR_MAX];
    text[0] = '\0';
    if (failed) {
        store_redis_proto_describe(reply, text, sizeof(text));
        if (store_redis_proto_is_readonly(reply)) {
            /* The node was demoted: the map is stale. */
            request_refresh(p->cs, 0);
        }
    } else if (p->waits && store_redis_proto_wait_short(wait_reply, p->cs->be->min_replicas_ack,
                                                        p->cs->be->replicas_ack_timeout_ms, text,
                                                        sizeof(text))) {
        /* Written on the primary, but not on enough replicas: a failover
         * now could lose it, so the answer must not count. */
        failed = true;
        rc = unavailable_rc(p->kind);
        claimed_ms = 0;
        metrics_inc(METRICS_REDIS_REPLICA_ACK_SHORT);
    }
    if (p->op == NULL) {
        return;
    }
    if (p->kind == P_REFRESH) {
        store_op_finish_refresh(p->op, (enum store_refresh)rc, claimed_ms, failed ? text : NULL);
    } else {
        store_op_finish(p->op, rc, failed ? text : NULL);
    }
    p->op = NULL;
}

static void
on_later(evutil_socket_t fd, short what, void *arg)
{
    struct pending *p = arg;
    (void)fd;
    (void)what;
    TAILQ_REMOVE(&p->cs->pendings, p, entry);
    dispatch(p);
}

/* Parks p among the pendings (close() frees it there) for the delay. */
static void
retry_later(struct pending *p)
{
    struct cluster_store *cs = p->cs;
    p->later = store_must(event_new(cs->base.base, -1, 0, on_later, p), "event_new");
    TAILQ_INSERT_TAIL(&cs->pendings, p, entry);
    struct timeval tv = clock_timeval_from_ms(BOUNDS_REDIS_CLUSTER_TRYAGAIN_MS);
    event_add(p->later, &tv);
}

static void
on_replies(void *arg, struct store_redis_reply *const *replies, size_t count, const char *error)
{
    struct pending *p = arg;
    struct cluster_store *cs = p->cs;
    TAILQ_REMOVE(&cs->pendings, p, entry);
    p->cmd = NULL;
    size_t at = p->asking ? 1 : 0;
    if (replies == NULL || count <= at) {
        fail_op(p, error != NULL ? error : "no reply");
        pending_free(p);
        return;
    }
    const struct store_redis_reply *reply = replies[at];
    struct store_redis_redirect rd;
    enum store_redis_redirect_kind k =
        store_redis_cluster_map_redirect(reply, store_redis_link_host(p->nl->link), &rd);
    if (k != STORE_REDIS_REDIRECT_NONE) {
        metrics_inc_cluster_redirect(k == STORE_REDIS_REDIRECT_MOVED
                                         ? METRICS_CLUSTER_REDIRECT_MOVED
                                         : METRICS_CLUSTER_REDIRECT_ASK);
        if (k == STORE_REDIS_REDIRECT_MOVED) {
            /* The slot moved for good: note it at once, ask for the whole
             * map (more slots probably moved with it). */
            (void)store_redis_cluster_map_assign(cs->map, rd.slot, &rd.node);
            request_refresh(cs, 0);
        }
        if (p->redirects >= BOUNDS_REDIS_CLUSTER_REDIRECTS_MAX) {
            fail_op(p, "too many cluster redirections");
            pending_free(p);
            return;
        }
        p->redirects++;
        p->asking = k == STORE_REDIS_REDIRECT_ASK;
        p->nl = link_get(cs, rd.node.host, rd.node.port);
        if (p->nl == NULL) {
            fail_op(p, "too many cluster nodes");
            pending_free(p);
            return;
        }
        dispatch(p);
        return;
    }
    enum store_redis_resend again =
        store_redis_proto_resend(reply, p->kind == P_REFRESH && !p->eval);
    if (again == STORE_REDIS_RESEND_EVAL) {
        /* This node lost (or never had) the script. An ASK target needs
         * ASKING again before the resent command. */
        p->eval = true;
        dispatch(p);
        return;
    }
    if (again == STORE_REDIS_RESEND_TRYAGAIN && !p->tried_again) {
        /* The slot is mid-migration and the keys are split for a moment:
         * once more after a short delay, then the answer stands (503). */
        p->tried_again = true;
        retry_later(p);
        return;
    }
    answer(p, reply, p->waits && count > at + 1 ? replies[at + 1] : NULL);
    pending_free(p);
}

/* ---- The store vtable ------------------------------------------------------------------ */

static void
cluster_start(struct store *s, struct store_op *op, const struct store_req *req)
{
    struct cluster_store *cs = (struct cluster_store *)s;
    struct pending *p = xcalloc(1, sizeof(*p));
    p->cs = cs;
    p->op = op;
    p->key = xstrndup(req->key.ptr, req->key.len);
    p->ttl_ms = req->ttl_ms;
    p->slot = store_redis_slot_of(req->key);
    switch (req->kind) {
    case STORE_OP_CLAIM_ONCE:
        p->kind = P_CLAIM;
        break;
    case STORE_OP_MARK:
        p->kind = P_MARK;
        break;
    case STORE_OP_PING:
        p->kind = P_PING;
        if (!all_primaries_up(cs)) {
            /* Readiness is the whole cluster: a replica that cannot reach
             * some slot's primary would fail the requests that land there. */
            fail_op(p, "not every cluster slot has a reachable primary");
            pending_free(p);
            return;
        }
        break;
    case STORE_OP_RATE_WINDOW:
        p->kind = P_RATE_WINDOW;
        p->rate_limit = req->rate_limit;
        p->now_ms = req->now_ms;
        break;
    case STORE_OP_REVOCATION:
        p->kind = P_REVOCATION;
        p->member = xstrndup(req->member.ptr, req->member.len);
        p->expires_ms = req->expires_ms;
        p->now_ms = req->now_ms;
        break;
    default:
        p->kind = P_REFRESH;
        /* store_key_names tagged both keys by family: one slot. */
        p->claim_key = xstrndup(req->claim_key.ptr, req->claim_key.len);
        p->args = (struct store_redis_refresh_args){
            .family_key = slice_make(p->key, req->key.len),
            .claim_key = slice_make(p->claim_key, req->claim_key.len),
            .claim_ttl_ms = req->ttl_ms,
            .family_ttl_ms = req->family_ttl_ms,
            .now_ms = req->now_ms,
            .grace_ms = req->grace_ms,
            .retry_grace_ms = req->retry_grace_ms,
        };
        break;
    }
    dispatch(p);
}

static void
cluster_detach(struct store *s, struct store_op *op)
{
    (void)s;
    struct pending *p = store_op_get_backend_ref(op);
    p->op = NULL; /* the reply is still read (and a redirection still followed) */
}

static void
cluster_close(struct store *s)
{
    struct cluster_store *cs = (struct cluster_store *)s;
    for (size_t i = 0; i < cs->link_count; i++) {
        store_redis_link_free(cs->links[i].link); /* no callback runs */
    }
    cs->link_count = 0;
    struct pending *p;
    while ((p = TAILQ_FIRST(&cs->pendings)) != NULL) {
        TAILQ_REMOVE(&cs->pendings, p, entry);
        if (p->op != NULL) {
            store_op_discard(p->op);
        }
        pending_free(p);
    }
    event_free(cs->refresh_timer);
    net_resolver_free(cs->resolver);
    xfree(cs->map);
}

static bool
cluster_is_connected(const struct store *s)
{
    return all_primaries_up((struct cluster_store *)s);
}

static struct store *
cluster_open_ex(struct cluster_shared *be, struct event_base *base, struct cluster_check *check)
{
    struct cluster_store *cs = xcalloc(1, sizeof(*cs));
    store_init(&cs->base, &be->base, base);
    cs->be = be;
    cs->check = check;
    TAILQ_INIT(&cs->pendings);
    cs->map = xmalloc(sizeof(*cs->map));
    cs->resolver = net_resolver_new(base, &be->net.dns);
    cs->refresh_timer = store_must(event_new(base, -1, 0, on_refresh_timer, cs), "event_new");
    /* Every seed gets a link; the first that comes up is asked for the map. */
    for (size_t i = 0; i < be->url.seed_count; i++) {
        (void)link_get(cs, be->url.seeds[i].host, be->url.seeds[i].port);
    }
    request_refresh(cs, BOUNDS_REDIS_CONNECT_TIMEOUT_MS);
    return &cs->base;
}

static struct store *
cluster_open(struct store_backend *b, struct event_base *base)
{
    return cluster_open_ex((struct cluster_shared *)b, base, NULL);
}

static void
cluster_backend_free(struct store_backend *b)
{
    struct cluster_shared *be = (struct cluster_shared *)b;
    store_redis_url_cleanup_cluster(&be->url);
    net_tls_ctx_free(be->ssl_ctx);
    store_redis_net_cleanup(&be->net);
    store_backend_cleanup(&be->base);
    xfree(be);
}

static const struct store_backend_ops cluster_ops = {
    .name = "redis-cluster",
    .open = cluster_open,
    .backend_free = cluster_backend_free,
    .start = cluster_start,
    .detach = cluster_detach,
    .close = cluster_close,
    .is_connected = cluster_is_connected,
};

/* ---- The process-wide back end ------------------------------------------------------------ */

struct store_backend *
store_redis_cluster_backend_new(const char *url, const char *key_prefix, const char *ca_file,
                                struct buf *err)
{
    struct cluster_shared *be = xcalloc(1, sizeof(*be));
    store_backend_init(&be->base, &cluster_ops, key_prefix);
    be->base.hash_tags = true;
    if (!store_redis_url_parse_cluster(url, &be->url, err)) {
        goto fail;
    }
    const struct store_redis_url *u = &be->url.base;
    be->target = (struct store_redis_target){
        .host = be->url.seeds[0].host,
        .port = be->url.seeds[0].port,
        .tls = u->tls,
        .user = u->user,
        .password = u->password,
        .db = 0,
        .connect_timeout_ms = u->connect_timeout_ms,
        .command_timeout_ms = u->command_timeout_ms,
    };
    bool v6 = strchr(be->url.seeds[0].host, ':') != NULL;
    snprintf(be->where, sizeof(be->where), "%s://%s%s%s:%u (%zu seed%s)",
             u->tls ? "rediss+cluster" : "redis+cluster", v6 ? "[" : "", be->url.seeds[0].host,
             v6 ? "]" : "", be->url.seeds[0].port, be->url.seed_count,
             be->url.seed_count == 1 ? "" : "s");
    if (!store_redis_link_tls_ctx(u->tls, ca_file, "redis+cluster", "rediss+cluster", &be->ssl_ctx,
                                  err)) {
        goto fail;
    }
    store_redis_proto_refresh_sha1(be->sha1);
    return &be->base;
fail:
    cluster_backend_free(&be->base);
    return NULL;
}

void
store_redis_cluster_backend_set_net(struct store_backend *b, const struct net_resolver_opts *dns,
                                    const struct net_keepalive *keepalive)
{
    struct cluster_shared *be = (struct cluster_shared *)b;
    store_redis_net_set(&be->net, dns, keepalive);
}

void
store_redis_cluster_backend_set_replicas_ack(struct store_backend *b, unsigned n,
                                             uint64_t timeout_ms)
{
    struct cluster_shared *be = (struct cluster_shared *)b;
    be->min_replicas_ack = n;
    be->replicas_ack_timeout_ms = timeout_ms;
}

const char *
store_redis_cluster_backend_describe(const struct store_backend *b)
{
    return ((const struct cluster_shared *)b)->where;
}

bool
store_redis_cluster_backend_access(const struct store_backend *b,
                                   struct store_redis_cluster_access *out)
{
    if (b == NULL || b->ops != &cluster_ops) {
        return false;
    }
    const struct cluster_shared *be = (const struct cluster_shared *)b;
    *out = (struct store_redis_cluster_access){
        .target = &be->target,
        .ssl_ctx = be->ssl_ctx,
        .dns = &be->net.dns,
        .keepalive = store_redis_net_keepalive(&be->net),
        .where = be->where,
        .seed_count = be->url.seed_count,
        .seeds = be->url.seeds,
    };
    return true;
}

static void
on_check_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct cluster_store *cs = arg;
    char reason[STORE_ERROR_MAX * 2];
    if (!cs->map_loaded) {
        const char *why = cs->link_count > 0 ? store_redis_link_last_error(cs->links[0].link) : "";
        snprintf(reason, sizeof(reason), "no slot map from %s within the start-up check (%s)",
                 cs->be->where, why);
    } else if (!store_redis_cluster_map_covered(cs->map)) {
        snprintf(reason, sizeof(reason),
                 "the cluster at %s does not cover all 16384 slots with a reachable primary",
                 cs->be->where);
    } else {
        const char *why = "";
        for (size_t i = 0; i < cs->link_count; i++) {
            if (!store_redis_link_is_up(cs->links[i].link) && owns_slots(cs, cs->links[i].link)) {
                why = store_redis_link_last_error(cs->links[i].link);
                break;
            }
        }
        snprintf(reason, sizeof(reason), "a primary of %s is not reachable: %s", cs->be->where,
                 why);
    }
    check_finish(cs, false, reason);
}

static void
on_check_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct cluster_store *cs = arg;
    if (all_primaries_up(cs)) {
        check_finish(cs, true, NULL);
    }
    for (size_t i = 0; i < cs->link_count; i++) {
        const char *e = store_redis_link_last_error(cs->links[i].link);
        if (strstr(e, "authentication") != NULL || strstr(e, "TLS") != NULL) {
            /* Wrong credentials or certificates will not get better. */
            check_finish(cs, false, e);
        }
    }
}

int
store_redis_cluster_backend_check(struct store_backend *b, uint64_t timeout_ms, struct buf *err)
{
    struct cluster_shared *be = (struct cluster_shared *)b;
    struct cluster_check check = {.error = err};
    struct event_base *base = store_must(event_base_new(), "event_base_new");
    struct store *s = cluster_open_ex(be, base, &check);
    struct event *deadline = store_must(event_new(base, -1, 0, on_check_deadline, s), "event_new");
    struct event *poll = store_must(event_new(base, -1, EV_PERSIST, on_check_poll, s), "event_new");
    struct timeval tv = clock_timeval_from_ms(timeout_ms);
    struct timeval every = clock_timeval_from_ms(20);
    event_add(deadline, &tv);
    event_add(poll, &every);
    while (!check.done) {
        if (event_base_loop(base, EVLOOP_ONCE) != 0) {
            break;
        }
    }
    event_free(deadline);
    event_free(poll);
    store_free(s);
    event_base_free(base);
    if (!check.done) {
        buf_appendf_best(err, "the start-up check of %s ended without an answer", be->where);
        return -1;
    }
    return check.ok ? 0 : -1;
}
