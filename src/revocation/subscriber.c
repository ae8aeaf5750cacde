/* The revocation subscriber (see subscriber.h), on store/redis_link.
 *
 * Two links per process: one in subscribe mode (messages), one ordinary
 * (the resync pages). The pager reads the sorted set page by page on its
 * link; in Cluster mode it follows MOVED (and ASK) to the node owning the
 * set's slot. The start-up fill runs a pager alone on a private loop.
 * Where both links connect comes from one function, subscriber_target(). */
#include "revocation/subscriber.h"

#include <event2/event.h>
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
#include "net/resolve.h"
#include "revocation/set.h"
#include "revocation/wire.h"
#include "store/redis.h"
#include "store/redis_cluster.h"
#include "store/redis_cluster_map.h"
#include "store/redis_conn.h"
#include "store/redis_link.h"
#include "store/redis_proto.h"
#include "store/redis_url.h"
#include "store/store.h"
#include "store/store_int.h"

#define COMMAND_MAX 4096
/* Room for the prefix, the name and a hash tag's braces. */
#define KEY_MAX (BOUNDS_STORE_KEY_MAX * 2 + 8)

static const char asking_cmd[] = "*1\r\n$6\r\nASKING\r\n";

/* The back end's settings the links need (borrowed from it), the set's
 * name, and in Cluster mode the node that last owned its slot. */
struct source {
    struct store_backend *b;
    bool cluster;
    bool sentinel;                    /* the primary may move: follow it */
    struct store_redis_target target; /* credentials, TLS, timeouts; host/port per link */
    struct ssl_ctx_st *ssl_ctx;
    const struct net_resolver_opts *dns;
    const struct net_keepalive *keepalive;
    const struct store_redis_url *url;                  /* single Redis */
    const struct store_redis_cluster_seed *seeds;       /* Cluster */
    size_t seed_count;                                  /* Cluster */
    char owner_host[BOUNDS_REDIS_CLUSTER_HOST_MAX + 1]; /* Cluster: "" until a MOVED */
    unsigned owner_port;
    char key[KEY_MAX]; /* the sorted set, and the channel of the same name */
    /* Single Redis and Sentinel: where the primary is now, refreshed by
     * subscriber_target() from store_redis_backend_primary(). */
    char primary_host[BOUNDS_REDIS_SENTINEL_HOST_MAX + 1];
    unsigned primary_port;
};

static _Atomic uint64_t subscriber_connected;

/* Where the subscriber's links connect -- the ONE place that says it.
 * attempt counts the connections that failed since the last success.
 * Single Redis: REDIS_URL's host. Sentinel: the primary the back end's
 * workers last confirmed (until one has, the last known address; a
 * replica would do too, as Redis replicates PUBLISH to replicas, but the
 * primary is the one address the back end vouches for). Cluster: any node will do for SUBSCRIBE
 * (a PUBLISH reaches every node) and the pager follows MOVED from
 * wherever it starts, so the candidates are the owner of the set's slot
 * (once learned) and then the seeds, walked by attempt. */
static void
subscriber_target(struct source *src, unsigned attempt, const char **host, unsigned *port)
{
    if (!src->cluster) {
        char h[sizeof(src->primary_host)];
        unsigned p;
        if (store_redis_backend_primary(src->b, h, sizeof(h), &p)) {
            memcpy(src->primary_host, h, sizeof(h));
            src->primary_port = p;
        }
        *host = src->primary_host;
        *port = src->primary_port;
        return;
    }
    size_t owner = src->owner_host[0] != '\0' ? 1 : 0;
    size_t pick = attempt % (src->seed_count + owner);
    if (pick < owner) {
        *host = src->owner_host;
        *port = src->owner_port;
        return;
    }
    *host = src->seeds[pick - owner].host;
    *port = src->seeds[pick - owner].port;
}

/* false when b is not a Redis back end (memory: nothing to subscribe to). */
static bool
source_init(struct source *src, struct store_backend *b)
{
    memset(src, 0, sizeof(*src));
    src->b = b;
    struct store_redis_cluster_access ca;
    if (b != NULL && store_redis_cluster_backend_access(b, &ca)) {
        src->cluster = true;
        src->target = *ca.target;
        src->ssl_ctx = ca.ssl_ctx;
        src->dns = ca.dns;
        src->keepalive = ca.keepalive;
        src->seeds = ca.seeds;
        src->seed_count = ca.seed_count;
    } else if (b != NULL && (strcmp(store_backend_name(b), "redis") == 0 ||
                             strcmp(store_backend_name(b), "redis-sentinel") == 0)) {
        const struct store_redis_shared *be = (const struct store_redis_shared *)b;
        src->target = be->target;
        src->ssl_ctx = be->ssl_ctx;
        src->dns = &be->net.dns;
        src->keepalive = store_redis_net_keepalive(&be->net);
        src->url = &be->url;
        src->sentinel = strcmp(store_backend_name(b), "redis-sentinel") == 0;
        (void)snprintf(src->primary_host, sizeof(src->primary_host), "%s", be->url.host);
        src->primary_port = be->url.port;
    } else {
        return false;
    }
    /* The key helpers name it (a hash tag in Cluster mode, if they add one). */
    struct buf k, unused;
    buf_init(&k, sizeof(src->key) - 1);
    buf_init(&unused, 1);
    bool ok = store_key_names(b, STORE_OP_REVOCATION, SLICE_LIT(STORE_KEY_REVOCATIONS), SLICE_NULL,
                              &k, &unused);
    if (ok) {
        memcpy(src->key, k.ptr, k.len);
        src->key[k.len] = '\0';
    }
    buf_cleanup(&k);
    buf_cleanup(&unused);
    return ok;
}

static struct store_redis_link *
source_link(struct source *src, struct event_base *base, struct net_resolver *resolver, bool pages,
            store_redis_link_state_fn on_state, void *arg)
{
    struct store_redis_target t = src->target;
    subscriber_target(src, 0, &t.host, &t.port);
    struct store_redis_link_opts o = {
        .target = &t,
        .ssl_ctx = src->ssl_ctx,
        .resolver = resolver,
        .keepalive = src->keepalive,
        /* A page of the longest members fits (bounds.h). */
        .reply_elements_max = pages ? 2 * BOUNDS_REVOCATION_RESYNC_PAGE : 0,
        .reply_pending_max = pages ? BOUNDS_REVOCATION_READ_PENDING_MAX : 0,
        .on_state = on_state,
        .arg = arg,
    };
    return store_redis_link_new(base, &o);
}

/* The wait before the next candidate is tried: doubling, jittered, capped
 * like the link's own backoff, so that an unreachable cluster is not
 * dialled in a tight loop. */
static uint64_t
rotate_delay_ms(unsigned failures)
{
    uint64_t ms = BOUNDS_REDIS_BACKOFF_MIN_MS;
    for (unsigned i = 1; i < failures && ms < BOUNDS_REDIS_BACKOFF_MAX_MS; i++) {
        ms *= 2;
    }
    if (ms > BOUNDS_REDIS_BACKOFF_MAX_MS) {
        ms = BOUNDS_REDIS_BACKOFF_MAX_MS;
    }
    uint32_t r;
    rand_bytes((uint8_t *)&r, sizeof(r));
    return ms / 2 + r % (ms / 2 + 1);
}

/* Points l at the candidate for attempt when it is not there already. */
static void
follow_target(struct source *src, struct store_redis_link *l, unsigned attempt)
{
    const char *host;
    unsigned port;
    subscriber_target(src, attempt, &host, &port);
    if (store_redis_link_port(l) != port || strcmp(store_redis_link_host(l), host) != 0) {
        store_redis_link_retarget(l, host, port);
    }
}

/* A connection of l failed (failures in a row). Single Redis and Sentinel:
 * l goes to the primary the back end confirmed now, at once -- the link's
 * own backoff paces its retries at the same address, so there is no tight
 * loop. Cluster: to the next candidate after a rotate delay. A pending
 * rotate timer is left alone: the link's own failed retries come about as
 * often as its delay, so re-arming it on each could put the move off for
 * as long as the node stays dead (after a Sentinel failover this kept a
 * subscriber dialling the dead primary, deaf to revocations). */
static void
after_failure(struct source *src, struct store_redis_link *l, struct event *rotate,
              unsigned failures)
{
    if (!src->cluster) {
        follow_target(src, l, 0);
        return;
    }
    if (event_pending(rotate, EV_TIMEOUT, NULL)) {
        return;
    }
    struct timeval tv = clock_timeval_from_ms(rotate_delay_ms(failures));
    event_add(rotate, &tv);
}

/* ---- The pager: one resync, page by page ----------------------------------------- */

struct pager;
/* A run ended: ok = the whole set was read. */
typedef void (*pager_done_fn)(struct pager *p, bool ok, const char *error, void *arg);

struct pager {
    struct source *src;
    struct store_redis_link *link;
    bool fill;    /* the start-up fill: a lost connection ends the run */
    bool wanted;  /* a run is due */
    bool running; /* a run is under way */
    bool moving;  /* our own retarget: its drop is no failure */
    bool asking;  /* ASK: ASKING before each page on this node */
    unsigned redirects;
    unsigned failures; /* connections lost since the last success */
    uint64_t offset;
    uint64_t token; /* revocation_set_resync_begin */
    bool bad;       /* a member did not parse or fit */
    struct store_redis_cmd *cmd;
    struct event *rotate;
    pager_done_fn done;
    void *done_arg;
};

static void pager_send(struct pager *p);

static void
pager_end(struct pager *p, bool ok, const char *error)
{
    p->running = false;
    p->cmd = NULL;
    p->asking = false;
    if (!ok) {
        p->wanted = true; /* again when the link next comes up */
    }
    p->done(p, ok, error, p->done_arg);
}

static void
pager_begin(struct pager *p)
{
    enum store_redis_link_state st = store_redis_link_state(p->link);
    if (p->running || (st != STORE_REDIS_LINK_UP && st != STORE_REDIS_LINK_HANDSHAKE)) {
        return; /* the run in flight, or the link's next "up", takes it */
    }
    p->wanted = false;
    p->running = true;
    p->offset = 0;
    p->bad = false;
    p->redirects = 0;
    p->token = revocation_set_resync_begin(revocation_set_global());
    pager_send(p);
}

static void
pager_want(struct pager *p)
{
    p->wanted = true;
    pager_begin(p);
}

/* Moves the pager's link to host:port; the run resumes when it is up. */
static void
pager_move(struct pager *p, const char *host, unsigned port)
{
    p->moving = true;
    store_redis_link_retarget(p->link, host, port);
    p->moving = false;
}

static void
on_page(void *arg, struct store_redis_reply *const *replies, size_t count, const char *error)
{
    struct pager *p = arg;
    p->cmd = NULL;
    size_t at = p->asking ? 1 : 0;
    if (replies == NULL || count <= at) {
        pager_end(p, false, error != NULL ? error : "no reply");
        return;
    }
    const struct store_redis_reply *r = replies[at];
    struct store_redis_redirect rd;
    if (p->src->cluster && store_redis_cluster_map_redirect(r, store_redis_link_host(p->link),
                                                            &rd) != STORE_REDIS_REDIRECT_NONE) {
        if (p->redirects++ >= BOUNDS_REDIS_CLUSTER_REDIRECTS_MAX) {
            pager_end(p, false, "too many cluster redirections");
            return;
        }
        if (rd.kind == STORE_REDIS_REDIRECT_MOVED) {
            /* The slot's owner: where every later run starts. */
            snprintf(p->src->owner_host, sizeof(p->src->owner_host), "%s", rd.node.host);
            p->src->owner_port = rd.node.port;
        }
        p->asking = rd.kind == STORE_REDIS_REDIRECT_ASK;
        pager_move(p, rd.node.host, rd.node.port);
        return; /* the link's "up" resends this page */
    }
    size_t members = 0;
    size_t bad = 0;
    if (!revocation_wire_apply_page(r, revocation_set_global(), clock_unix_ms(), &members, &bad)) {
        char text[STORE_ERROR_MAX / 2];
        char reason[STORE_ERROR_MAX];
        store_redis_proto_describe(r, text, sizeof(text));
        snprintf(reason, sizeof(reason), "unexpected resync reply: %.100s", text);
        pager_end(p, false, reason);
        return;
    }
    p->bad = p->bad || bad > 0;
    if (members == BOUNDS_REVOCATION_RESYNC_PAGE) {
        p->offset += members;
        p->redirects = 0;
        pager_send(p);
        return;
    }
    revocation_set_resync_end(revocation_set_global(), p->token, !p->bad);
    metrics_inc(METRICS_REVOCATION_RESYNCS);
    pager_end(p, true, NULL);
}

static void
pager_send(struct pager *p)
{
    struct buf cmd, why;
    buf_init(&cmd, COMMAND_MAX);
    buf_init(&why, STORE_ERROR_MAX - 1);
    if ((p->asking && buf_append(&cmd, asking_cmd, sizeof(asking_cmd) - 1) != 0) ||
        store_redis_proto_revocation_page(&cmd, slice_from_cstr(p->src->key), clock_unix_ms(),
                                          p->offset, BOUNDS_REVOCATION_RESYNC_PAGE) != 0) {
        buf_appendf_best(&why, "resync command too large");
    } else {
        p->cmd = store_redis_link_send(p->link, &cmd, p->asking ? 2 : 1, 0, on_page, p, &why);
    }
    buf_cleanup(&cmd);
    if (p->cmd == NULL) {
        char reason[STORE_ERROR_MAX];
        snprintf(reason, sizeof(reason), "%s", buf_cstr(&why));
        buf_cleanup(&why);
        pager_end(p, false, reason);
        return;
    }
    buf_cleanup(&why);
}

static void
on_pager_rotate(evutil_socket_t fd, short what, void *arg)
{
    struct pager *p = arg;
    (void)fd;
    (void)what;
    if (!store_redis_link_is_up(p->link)) {
        p->moving = true;
        follow_target(p->src, p->link, p->failures);
        p->moving = false;
    }
}

static void
on_pager_state(void *arg, bool up, const char *reason)
{
    struct pager *p = arg;
    if (up) {
        p->failures = 0;
        if (p->running && p->cmd == NULL) {
            pager_send(p); /* resume after a redirection */
        } else if (p->wanted) {
            pager_begin(p);
        }
        return;
    }
    if (p->moving) {
        return;
    }
    /* A page in flight has failed already (its callback ran first); a run
     * waiting for a redirection's node ends here. */
    if (p->running && p->cmd == NULL) {
        pager_end(p, false, reason);
    } else if (p->fill && !p->running && !p->src->cluster) {
        /* One server and it is not there: say so now. (A cluster's fill
         * tries the other seeds until its deadline.) */
        p->done(p, false, reason, p->done_arg);
    }
    p->failures++;
    if (p->src->cluster || !p->fill) {
        /* The node may be gone for good (a failover): try the next one. */
        p->moving = true;
        after_failure(p->src, p->link, p->rotate, p->failures);
        p->moving = false;
    }
}

static void
pager_init(struct pager *p, struct source *src, struct event_base *base,
           struct net_resolver *resolver, bool fill, pager_done_fn done, void *arg)
{
    memset(p, 0, sizeof(*p));
    p->src = src;
    p->fill = fill;
    p->done = done;
    p->done_arg = arg;
    p->rotate = store_must(event_new(base, -1, 0, on_pager_rotate, p), "event_new");
    p->link = source_link(src, base, resolver, true, on_pager_state, p);
}

static void
pager_cleanup(struct pager *p)
{
    store_redis_link_free(p->link); /* no callback runs */
    event_free(p->rotate);
}

/* ---- The subscriber ----------------------------------------------------------------- */

struct revocation_subscriber {
    struct source src;
    struct net_resolver *resolver; /* shared by both links */
    struct store_redis_link *sub;  /* subscribe mode */
    unsigned sub_failures;
    bool sub_up;
    bool lost_logged; /* one line per outage, not per retry */
    struct pager pager;
    struct event *ping_timer;
    struct event *resync_timer;
    struct event *follow_timer; /* Sentinel only */
    struct event *sub_rotate;
};

static void
on_periodic_done(struct pager *p, bool ok, const char *error, void *arg)
{
    (void)p;
    (void)arg;
    if (!ok) {
        struct log_line ll;
        log_begin(&ll, LOG_WARN, "revocation_resync_failed");
        log_str(&ll, "error", error != NULL ? error : "");
        log_end(&ll);
    }
}

static void
on_push(void *arg, const struct store_redis_reply *r)
{
    struct revocation_subscriber *s = arg;
    struct slice payload;
    struct revocation_entry e;
    enum revocation_wire_push kind =
        revocation_wire_classify(r, slice_from_cstr(s->src.key), &payload);
    if (kind != REVOCATION_PUSH_MESSAGE) {
        store_redis_link_drop(s->sub, "unexpected reply in subscribed mode");
        return;
    }
    if (!revocation_wire_parse_message(payload, &e)) {
        struct log_line bad;
        log_begin(&bad, LOG_WARN, "revocation_message_malformed");
        log_sample(&bad, "payload", payload);
        log_end(&bad);
        return; /* the next resync reads the member from the set itself */
    }
    (void)revocation_set_add(revocation_set_global(), &e, clock_unix_ms());
    metrics_inc(METRICS_REVOCATION_MESSAGES_APPLIED);
}

static void
on_sub_state(void *arg, bool up, const char *reason)
{
    struct revocation_subscriber *s = arg;
    if (up) {
        /* SUBSCRIBE went out right behind the PING this PONG answered, on
         * the same pipe: from here on a message is not missed, so the
         * resync that follows leaves no gap. */
        s->sub_up = true;
        s->sub_failures = 0;
        s->lost_logged = false;
        atomic_store(&subscriber_connected, 1);
        struct log_line ll;
        log_begin(&ll, LOG_INFO, "revocation_subscriber_connected");
        log_str(&ll, "url", store_redis_link_where(s->sub));
        log_uint(&ll, "entries", revocation_set_count(revocation_set_global()));
        log_end(&ll);
        pager_want(&s->pager);
        return;
    }
    if (s->sub_up || !s->lost_logged) {
        struct log_line ll;
        log_begin(&ll, LOG_WARN, "revocation_subscriber_lost");
        log_str(&ll, "url", store_redis_link_where(s->sub));
        log_str(&ll, "error", reason != NULL ? reason : "");
        log_end(&ll);
        s->lost_logged = true;
    }
    s->sub_up = false;
    atomic_store(&subscriber_connected, 0);
    s->sub_failures++;
    /* As the pager: the server may be gone for good, and the next
     * candidate (Cluster) or the newly confirmed primary (Sentinel) is
     * where to go; waiting for the 30 s resync to move left a replica deaf
     * to revocations for that long after a Sentinel failover. */
    after_failure(&s->src, s->sub, s->sub_rotate, s->sub_failures);
}

static void
on_sub_rotate(evutil_socket_t fd, short what, void *arg)
{
    struct revocation_subscriber *s = arg;
    (void)fd;
    (void)what;
    if (!store_redis_link_is_up(s->sub)) {
        follow_target(&s->src, s->sub, s->sub_failures);
    }
}

static void
on_ping_timer(evutil_socket_t fd, short what, void *arg)
{
    struct revocation_subscriber *s = arg;
    (void)fd;
    (void)what;
    store_redis_link_ping(s->sub); /* a half-open connection shows itself here */
}

static void
on_resync_timer(evutil_socket_t fd, short what, void *arg)
{
    struct revocation_subscriber *s = arg;
    (void)fd;
    (void)what;
    pager_want(&s->pager);
}

/* Sentinel: the primary may have moved without dropping us (a failover
 * leaves the old node up as a replica, or a first candidate that lost the
 * election is not reconfigured yet and hears no PUBLISH): both links go
 * where the back end now confirms. */
static void
on_follow_timer(evutil_socket_t fd, short what, void *arg)
{
    struct revocation_subscriber *s = arg;
    (void)fd;
    (void)what;
    follow_target(&s->src, s->sub, 0);
    s->pager.moving = true;
    follow_target(&s->src, s->pager.link, 0);
    s->pager.moving = false;
}

struct revocation_subscriber *
revocation_subscriber_new(struct store_backend *b, struct event_base *base)
{
    struct source src;
    if (!source_init(&src, b)) {
        return NULL;
    }
    struct revocation_subscriber *s = xcalloc(1, sizeof(*s));
    s->src = src;
    s->resolver = net_resolver_new(base, s->src.dns);
    pager_init(&s->pager, &s->src, base, s->resolver, false, on_periodic_done, s);
    s->sub = source_link(&s->src, base, s->resolver, false, on_sub_state, s);
    store_redis_link_subscribe(s->sub, s->src.key, on_push, s);
    s->sub_rotate = store_must(event_new(base, -1, 0, on_sub_rotate, s), "event_new");
    s->ping_timer = store_must(event_new(base, -1, EV_PERSIST, on_ping_timer, s), "event_new");
    s->resync_timer = store_must(event_new(base, -1, EV_PERSIST, on_resync_timer, s), "event_new");
    struct timeval ping = clock_timeval_from_ms(BOUNDS_REVOCATION_PING_MS);
    struct timeval resync = clock_timeval_from_ms(BOUNDS_REVOCATION_RESYNC_MS);
    event_add(s->ping_timer, &ping);
    event_add(s->resync_timer, &resync);
    if (s->src.sentinel) {
        s->follow_timer =
            store_must(event_new(base, -1, EV_PERSIST, on_follow_timer, s), "event_new");
        struct timeval follow = clock_timeval_from_ms(BOUNDS_REVOCATION_FOLLOW_MS);
        event_add(s->follow_timer, &follow);
    }
    return s;
}

void
revocation_subscriber_free(struct revocation_subscriber *s)
{
    if (s == NULL) {
        return;
    }
    store_redis_link_free(s->sub);
    pager_cleanup(&s->pager);
    net_resolver_free(s->resolver);
    event_free(s->sub_rotate);
    event_free(s->ping_timer);
    event_free(s->resync_timer);
    if (s->follow_timer != NULL) {
        event_free(s->follow_timer);
    }
    atomic_store(&subscriber_connected, 0);
    xfree(s);
}

/* ---- The start-up fill ------------------------------------------------------------- */

struct fill {
    struct event_base *base;
    bool done;
    bool ok;
    struct buf *err;
    const char *where;
};

static void
on_fill_done(struct pager *p, bool ok, const char *error, void *arg)
{
    struct fill *f = arg;
    if (f->done) {
        return;
    }
    f->done = true;
    f->ok = ok;
    if (!ok) {
        buf_appendf_best(f->err, "revocation resync from %s failed: %s",
                         store_redis_link_where(p->link), error != NULL ? error : "unknown error");
    }
    event_base_loopbreak(f->base);
}

static void
on_fill_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pager *p = arg;
    char reason[STORE_ERROR_MAX * 2];
    const char *last = store_redis_link_last_error(p->link);
    snprintf(reason, sizeof(reason), "the start-up resync did not finish in time%s%s%s",
             last[0] != '\0' ? " (" : "", last, last[0] != '\0' ? ")" : "");
    on_fill_done(p, false, reason, p->done_arg);
}

int
revocation_subscriber_fill(struct store_backend *b, uint64_t timeout_ms, struct buf *err)
{
    struct source src;
    if (!source_init(&src, b)) {
        return 0;
    }
    struct event_base *base = store_must(event_base_new(), "event_base_new");
    struct net_resolver *resolver = net_resolver_new(base, src.dns);
    struct fill f = {.base = base, .err = err};
    struct pager p;
    pager_init(&p, &src, base, resolver, true, on_fill_done, &f);
    pager_want(&p);
    struct event *deadline = store_must(event_new(base, -1, 0, on_fill_timeout, &p), "event_new");
    struct timeval tv = clock_timeval_from_ms(timeout_ms);
    event_add(deadline, &tv);
    while (!f.done) {
        if (event_base_loop(base, EVLOOP_ONCE) != 0) {
            break;
        }
    }
    event_free(deadline);
    pager_cleanup(&p);
    net_resolver_free(resolver);
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
