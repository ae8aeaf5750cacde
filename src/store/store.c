/* Dispatch to the replay-store back ends, the operation handles, and the
 * delivery of results through the loop (see store.h and store_int.h).
 *
 * Every result, however early a back end knows it, is queued and delivered
 * from one event on the store's loop. That single rule gives three
 * properties at once: callbacks are never re-entrant inside the call that
 * started them; a back end never runs user code from inside its own socket
 * callbacks (so a callback may free the store); and cancellation only has
 * two places to look (the ready queue, or the back end). */
#include "store/store.h"

#include <assert.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strtab.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "store/store_int.h"
#include "worker.h"

enum op_state {
    OP_HELD = 0, /* the back end has it */
    OP_READY,    /* finished; in the store's ready queue */
};

struct store_op {
    TAILQ_ENTRY(store_op) link;
    struct store *store;
    enum store_op_kind kind;
    enum op_state state;
    uint64_t gen; /* delivery pass it was queued in */
    int rc;
    int64_t claimed_ms; /* REFRESH_CLAIM: store_refresh_fn's claimed_ms */
    union {
        store_done_fn done;
        store_refresh_fn refresh;
    } cb;
    void *arg;
    void *backend_ref;
    bool has_error;
    char error[STORE_ERROR_MAX];
};

static const char *const store_rc_names[STORE_RC_COUNT] = {
    [STORE_OK] = "ok",
    [STORE_ERR_ALREADY_USED] = "already_used",
    [STORE_ERR_UNAVAILABLE] = "unavailable",
};

static const char *const store_refresh_names[STORE_REFRESH_COUNT] = {
    [STORE_REFRESH_FRESH] = "fresh",
    [STORE_REFRESH_RACING] = "racing",
    [STORE_REFRESH_REUSED] = "reused",
    [STORE_REFRESH_FAMILY_REVOKED] = "family_revoked",
    [STORE_REFRESH_UNAVAILABLE] = "unavailable",
    [STORE_REFRESH_RETRY] = "retry",
};

const char *
store_rc_str(enum store_rc rc)
{
    return strtab_name(store_rc_names, STORE_RC_COUNT, (size_t)rc, "unknown");
}

const char *
store_refresh_str(enum store_refresh rc)
{
    return strtab_name(store_refresh_names, STORE_REFRESH_COUNT, (size_t)rc, "unknown");
}

/* ---- Back ends ----------------------------------------------------------- */

void
store_backend_init(struct store_backend *b, const struct store_backend_ops *ops, const char *prefix)
{
    b->ops = ops;
    b->prefix = xstrdup(prefix != NULL ? prefix : "");
    b->prefix_len = strlen(b->prefix);
}

void
store_backend_cleanup(struct store_backend *b)
{
    xfree(b->prefix);
    b->prefix = NULL;
    b->prefix_len = 0;
}

const char *
store_backend_name(const struct store_backend *b)
{
    return b->ops->name;
}

void
store_backend_free(struct store_backend *b)
{
    if (b == NULL) {
        return;
    }
    b->ops->backend_free(b);
}

/* ---- Stores and delivery --------------------------------------------------- */

static void
release_store(struct store *s)
{
    event_free(s->deliver_ev);
    xfree(s);
}

/* Runs the callbacks of the operations that were ready when this pass
 * began; those finished by the callbacks themselves wait for the next pass
 * (store_op_finish re-activates the event), so one busy store cannot starve
 * the loop. */
static void
on_deliver(evutil_socket_t fd, short what, void *arg)
{
    struct store *s = arg;
    uint64_t pass = s->ready_gen++;
    char error[STORE_ERROR_MAX];

    (void)fd;
    (void)what;
    s->delivering = true;
    for (;;) {
        struct store_op *op = TAILQ_FIRST(&s->ready);
        if (op == NULL || op->gen > pass || s->destroyed) {
            break;
        }
        TAILQ_REMOVE(&s->ready, op, link);
        enum store_op_kind kind = op->kind;
        int rc = op->rc;
        int64_t claimed_ms = op->claimed_ms;
        void *cb_arg = op->arg;
        store_done_fn done = op->cb.done;
        store_refresh_fn refresh = op->cb.refresh;
        const char *err = NULL;
        if (op->has_error) {
            memcpy(error, op->error, sizeof(error));
            err = error;
        }
        /* The handle dies before the callback runs, so the callback may
         * start new operations or free the store but never sees a stale
         * handle of its own. */
        xfree(op);
        if (kind == STORE_OP_REFRESH_CLAIM) {
            refresh((enum store_refresh)rc, claimed_ms, err, cb_arg);
        } else {
            done((enum store_rc)rc, err, cb_arg);
        }
    }
    s->delivering = false;
    if (s->destroyed) {
        release_store(s);
    }
}

void
store_init(struct store *s, struct store_backend *b, struct event_base *base)
{
    s->ops = b->ops;
    s->backend = b;
    s->base = base;
    TAILQ_INIT(&s->ready);
    s->ready_gen = 0;
    s->delivering = false;
    s->destroyed = false;
    s->deliver_ev = store_must(event_new(base, -1, 0, on_deliver, s), "event_new");
}

void *
store_must(void *p, const char *what)
{
    if (p == NULL) {
        /* libevent and OpenSSL constructors fail only when allocation
         * fails: fatal, like every out-of-memory (STYLE.md 3.5). */
        fprintf(stderr, "fatal: %s failed (out of memory)\n", what);
        abort();
    }
    return p;
}

struct store *
store_new(struct store_backend *b, struct event_base *base)
{
    return b->ops->open(b, base);
}

void
store_free(struct store *s)
{
    if (s == NULL) {
        return;
    }
    assert(!s->destroyed);
    s->destroyed = true;
    struct store_op *op;
    while ((op = TAILQ_FIRST(&s->ready)) != NULL) {
        TAILQ_REMOVE(&s->ready, op, link);
        xfree(op);
    }
    s->ops->close(s);
    /* Inside one of our callbacks the delivery loop still walks this
     * store: it releases the memory when the callback returns. */
    if (!s->delivering) {
        release_store(s);
    }
}

static void
close_slot(void *handle)
{
    store_free(handle);
}

void
store_attach_worker(struct worker *w, struct store_backend *b)
{
    worker_slot_set(w, WORKER_SLOT_STORE, store_new(b, w->base), close_slot);
}

struct store *
store_of_worker(const struct worker *w)
{
    return worker_slot_get(w, WORKER_SLOT_STORE);
}

bool
store_is_connected(const struct store *s)
{
    return s->ops->is_connected(s);
}

/* ---- Operation handles ------------------------------------------------------ */

void
store_op_set_backend_ref(struct store_op *op, void *ref)
{
    op->backend_ref = ref;
}

void *
store_op_get_backend_ref(const struct store_op *op)
{
    return op->backend_ref;
}

enum store_op_kind
store_op_kind(const struct store_op *op)
{
    return op->kind;
}

void
store_op_finish(struct store_op *op, int rc, const char *error)
{
    struct store *s = op->store;
    assert(op->state == OP_HELD);
    op->state = OP_READY;
    op->rc = rc;
    op->backend_ref = NULL;
    if (error != NULL) {
        op->has_error = true;
        snprintf(op->error, sizeof(op->error), "%s", error);
    }
    op->gen = s->ready_gen;
    TAILQ_INSERT_TAIL(&s->ready, op, link);
    event_active(s->deliver_ev, EV_TIMEOUT, 0);
}

void
store_op_finish_refresh(struct store_op *op, enum store_refresh rc, int64_t claimed_ms,
                        const char *error)
{
    op->claimed_ms = claimed_ms;
    store_op_finish(op, (int)rc, error);
}

void
store_op_discard(struct store_op *op)
{
    assert(op->state == OP_HELD);
    xfree(op);
}

void
store_cancel(struct store_op *op)
{
    if (op == NULL) {
        return;
    }
    struct store *s = op->store;
    if (op->state == OP_READY) {
        TAILQ_REMOVE(&s->ready, op, link);
    } else {
        s->ops->detach(s, op);
    }
    xfree(op);
}

static struct store_op *
op_new(struct store *s, enum store_op_kind kind, void *arg)
{
    assert(!s->destroyed);
    struct store_op *op = xcalloc(1, sizeof(*op));
    op->store = s;
    op->kind = kind;
    op->state = OP_HELD;
    op->arg = arg;
    return op;
}

/* Appends prefix + key to out. The key cap is ours; the prefix is the
 * operator's and is bounded by config. */
static bool
prefixed(const struct store *s, struct slice key, struct buf *out)
{
    if (key.len == 0 || key.len > BOUNDS_STORE_KEY_MAX) {
        return false;
    }
    return buf_append(out, s->backend->prefix, s->backend->prefix_len) == 0 &&
           buf_append_slice(out, key) == 0;
}

static void
start(struct store *s, struct store_op *op, struct store_req *req, struct slice key,
      struct slice claim_key)
{
    struct buf k1, k2;
    size_t cap = s->backend->prefix_len + BOUNDS_STORE_KEY_MAX;
    buf_init(&k1, cap);
    buf_init(&k2, cap);
    if (!prefixed(s, key, &k1) ||
        (req->kind == STORE_OP_REFRESH_CLAIM && !prefixed(s, claim_key, &k2)) ||
        (req->kind == STORE_OP_REVOCATION &&
         (req->member.len == 0 || req->member.len > BOUNDS_STORE_KEY_MAX))) {
        /* A key we cannot build is a caller bug or a hostile id; either way
         * nothing was decided, so fail closed. */
        store_op_finish(op,
                        req->kind == STORE_OP_REFRESH_CLAIM ? (int)STORE_REFRESH_UNAVAILABLE
                                                            : (int)STORE_ERR_UNAVAILABLE,
                        "invalid key");
        goto out;
    }
    req->key = buf_slice(&k1);
    req->claim_key = buf_slice(&k2);
    s->ops->start(s, op, req);
out:
    buf_cleanup(&k1);
    buf_cleanup(&k2);
}

static uint64_t
at_least_one(uint64_t ttl_ms)
{
    return ttl_ms == 0 ? 1 : ttl_ms;
}

struct store_op *
store_claim_once(struct store *s, struct slice key, uint64_t ttl_ms, store_done_fn cb, void *arg)
{
    struct store_op *op = op_new(s, STORE_OP_CLAIM_ONCE, arg);
    op->cb.done = cb;
    struct store_req req = {.kind = STORE_OP_CLAIM_ONCE, .ttl_ms = at_least_one(ttl_ms)};
    start(s, op, &req, key, SLICE_NULL);
    return op;
}

struct store_op *
store_mark(struct store *s, struct slice key, uint64_t ttl_ms, store_done_fn cb, void *arg)
{
    struct store_op *op = op_new(s, STORE_OP_MARK, arg);
    op->cb.done = cb;
    struct store_req req = {.kind = STORE_OP_MARK, .ttl_ms = at_least_one(ttl_ms)};
    start(s, op, &req, key, SLICE_NULL);
    return op;
}

struct store_op *
store_refresh_claim(struct store *s, const struct store_refresh_req *r, store_refresh_fn cb,
                    void *arg)
{
    struct store_op *op = op_new(s, STORE_OP_REFRESH_CLAIM, arg);
    op->cb.refresh = cb;
    struct store_req req = {
        .kind = STORE_OP_REFRESH_CLAIM,
        .ttl_ms = at_least_one(r->claim_ttl_ms),
        .family_ttl_ms = at_least_one(r->family_ttl_ms),
        .now_ms = r->now_ms,
        .grace_ms = r->grace_ms,
        .retry_grace_ms = r->retry_grace_ms,
        .generation = r->generation,
    };
    start(s, op, &req, r->family_key, r->claim_key);
    return op;
}

struct store_op *
store_ping(struct store *s, store_done_fn cb, void *arg)
{
    struct store_op *op = op_new(s, STORE_OP_PING, arg);
    op->cb.done = cb;
    struct store_req req = {.kind = STORE_OP_PING};
    start(s, op, &req, SLICE_LIT(STORE_KEY_READYZ_PROBE), SLICE_NULL);
    return op;
}

struct store_op *
store_revocation_publish(struct store *s, const struct store_revocation_req *r, store_done_fn cb,
                         void *arg)
{
    struct store_op *op = op_new(s, STORE_OP_REVOCATION, arg);
    op->cb.done = cb;
    struct store_req req = {
        .kind = STORE_OP_REVOCATION,
        .member = r->member,
        .expires_ms = r->expires_ms,
        .now_ms = r->now_ms,
    };
    start(s, op, &req, SLICE_LIT(STORE_KEY_REVOCATIONS), SLICE_NULL);
    return op;
}

/* ---- Key names ---------------------------------------------------------------- */

/* The namespaces of SPEC.md 5.2, indexed by enum store_key_ns. */
static const char *const ns_names[STORE_NS_COUNT] = {
    [STORE_NS_CONSENT] = "consent",       [STORE_NS_CALLBACK_STATE] = "callback_state",
    [STORE_NS_AUTHZ_CODE] = "authz_code", [STORE_NS_REFRESH_FAMILY] = "refresh_family_revoked",
    [STORE_NS_REFRESH] = "refresh",       [STORE_NS_CLIENT_ASSERTION] = "client_assertion",
};

static int
key_append(enum store_key_ns ns, struct slice id, struct buf *out)
{
    size_t ns_len = strlen(ns_names[ns]);
    if (id.len == 0 || id.len > BOUNDS_STORE_KEY_MAX - ns_len - 1) {
        return -1;
    }
    return buf_appendf(out, "%s:%.*s", ns_names[ns], (int)id.len, id.ptr);
}

enum store_key_ns
store_key_ns(struct slice key, struct slice *out_id)
{
    for (int ns = 0; ns < STORE_NS_OTHER; ns++) {
        size_t n = strlen(ns_names[ns]);
        if (key.len > n + 1 && memcmp(key.ptr, ns_names[ns], n) == 0 && key.ptr[n] == ':') {
            *out_id = slice_make(key.ptr + n + 1, key.len - n - 1);
            return (enum store_key_ns)ns;
        }
    }
    *out_id = key;
    return STORE_NS_OTHER;
}

int
store_key_authz_code(struct slice code_tid, struct buf *out)
{
    return key_append(STORE_NS_AUTHZ_CODE, code_tid, out);
}

int
store_key_refresh_family_revoked(struct slice family_id, struct buf *out)
{
    return key_append(STORE_NS_REFRESH_FAMILY, family_id, out);
}

int
store_key_refresh(struct slice refresh_tid, struct buf *out)
{
    return key_append(STORE_NS_REFRESH, refresh_tid, out);
}

int
store_key_consent(struct slice jti, struct buf *out)
{
    return key_append(STORE_NS_CONSENT, jti, out);
}

int
store_key_client_assertion(struct slice id, struct buf *out)
{
    return key_append(STORE_NS_CLIENT_ASSERTION, id, out);
}

int
store_key_callback_state(struct slice sid, struct buf *out)
{
    return key_append(STORE_NS_CALLBACK_STATE, sid, out);
}

uint64_t
store_ttl_ms_until(int64_t exp_unix_s, int64_t now_unix_s)
{
    if (exp_unix_s <= now_unix_s || exp_unix_s - now_unix_s < 1) {
        return 1000;
    }
    uint64_t d = (uint64_t)exp_unix_s - (uint64_t)now_unix_s;
    if (d > UINT64_MAX / 1000) {
        d = UINT64_MAX / 1000;
    }
    return d * 1000;
}
