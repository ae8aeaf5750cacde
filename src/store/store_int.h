/* Internal contract between store.c and its back ends (memory.c, redis.c).
 * Not for handlers: they use store.h only.
 *
 * store.c owns the operation objects, the key prefix and the delivery of
 * results through the loop. A back end receives each request with its keys
 * already prefixed, and answers it with store_op_finish() -- at once or
 * later. While a back end holds an operation it must be ready to let go of
 * it in detach() (the caller cancelled) and in close() (the store is being
 * freed); after either it must not touch the operation again. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "store/store.h"

enum store_op_kind {
    STORE_OP_CLAIM_ONCE = 0,
    STORE_OP_MARK,
    STORE_OP_REFRESH_CLAIM,
    STORE_OP_PING,
    STORE_OP_RATE_WINDOW, /* issue 14: store_rate_window() */
    STORE_OP_REVOCATION,  /* store_revocation_publish */
    STORE_OP_KIND_COUNT,
};

/* One request as a back end sees it. Keys are prefixed; the slices are
 * valid only during start(). */
struct store_req {
    enum store_op_kind kind;
    struct slice key;        /* claim/mark/ping key; refresh: family key */
    struct slice claim_key;  /* refresh only */
    uint64_t ttl_ms;         /* claim/mark TTL; refresh: claim TTL (>= 1) */
    uint64_t family_ttl_ms;  /* refresh only (>= 1) */
    int64_t now_ms;          /* refresh only */
    uint64_t grace_ms;       /* refresh only */
    uint64_t retry_grace_ms; /* refresh only */
    uint64_t generation;     /* refresh only: store_refresh_req.generation */
    uint32_t rate_limit;     /* rate window only: the budget (>= 1); now_ms is its clock */
    /* REVOCATION only (key: the sorted set = the channel): */
    struct slice member; /* "f:<fam>" or "s:<at_ms>:<sub>" */
    int64_t expires_ms;  /* its score */
};

struct store_backend_ops {
    const char *name;
    /* Allocates the per-worker store; must call store_init() on it. */
    struct store *(*open)(struct store_backend *b, struct event_base *base);
    void (*backend_free)(struct store_backend *b);
    /* Starts req for op. Either calls store_op_finish(op, ...) before
     * returning or keeps op (and later finishes it exactly once). */
    void (*start)(struct store *s, struct store_op *op, const struct store_req *req);
    /* op was cancelled while held: drop every reference to it. */
    void (*detach)(struct store *s, struct store_op *op);
    /* The store is being freed: drop every held operation (via
     * store_op_discard) and release the back end's per-store resources,
     * but not the struct store itself. */
    void (*close)(struct store *s);
    bool (*is_connected)(const struct store *s);
};

/* Embedded first in every back end's process-wide object. */
struct store_backend {
    const struct store_backend_ops *ops;
    char *prefix; /* REDIS_KEY_PREFIX, owned */
    size_t prefix_len;
    bool hash_tags; /* Redis Cluster: see store_key_names() */
};

/* Embedded first in every back end's per-worker store. */
struct store {
    const struct store_backend_ops *ops;
    struct store_backend *backend;
    struct event_base *base;
    struct event *deliver_ev;                     /* runs finished callbacks on the loop */
    TAILQ_HEAD(store_ready_list, store_op) ready; /* finished, awaiting delivery */
    uint64_t ready_gen;                           /* delivery pass counter */
    bool delivering;
    bool destroyed;
};

/* Sets the back end's prefix (copied). */
void store_backend_init(struct store_backend *b, const struct store_backend_ops *ops,
                        const char *prefix);
void store_backend_cleanup(struct store_backend *b);
/* Prepares the common part of a per-worker store. */
void store_init(struct store *s, struct store_backend *b, struct event_base *base);

/* What the back end's record of a held operation is (opaque to store.c). */
void store_op_set_backend_ref(struct store_op *op, void *ref);
void *store_op_get_backend_ref(const struct store_op *op);
enum store_op_kind store_op_kind(const struct store_op *op);

/* Records the result (rc is an enum store_rc or, for REFRESH_CLAIM, an enum
 * store_refresh) and queues the callback for the next loop turn. `error`
 * (may be NULL) is copied. The back end must not touch op afterwards. */
void store_op_finish(struct store_op *op, int rc, const char *error);
/* The same for a REFRESH_CLAIM, with the claim time its callback gets. */
void store_op_finish_refresh(struct store_op *op, enum store_refresh rc, int64_t claimed_ms,
                             const char *error);
/* Frees an operation without a callback (close() only). */
void store_op_discard(struct store_op *op);

/* The namespace of a key as built by the store_key_* helpers (SPEC.md
 * 5.2), given without the prefix. STORE_NS_OTHER for anything else (the
 * readiness probe, a caller's own key). *out_id is the part after
 * "<namespace>:" (the whole key for OTHER), borrowed from key. The memory
 * back end keeps one share per namespace. */
enum store_key_ns {
    STORE_NS_CONSENT = 0,
    STORE_NS_CALLBACK_STATE,
    STORE_NS_AUTHZ_CODE,
    STORE_NS_REFRESH_FAMILY,   /* refresh_family_revoked:<fam> */
    STORE_NS_REFRESH,          /* refresh:<tid> */
    STORE_NS_CLIENT_ASSERTION, /* client_assertion:<hash of client_id and jti> */
    STORE_NS_OTHER,
    STORE_NS_COUNT,
};
enum store_key_ns store_key_ns(struct slice key, struct slice *out_id);

/* The names a request's keys are stored under, appended to out_key (and,
 * for a REFRESH_CLAIM, out_claim): the prefix, then the key.
 *
 * With hash_tags (Redis Cluster, and only there: single Redis and Sentinel
 * keep their names), every command's keys must share a slot. The
 * refresh-rotation script touches the family marker and the token's claim
 * key, so both are tagged with the family id, taken from the family key:
 *   <prefix>{<fam>}refresh_family_revoked:<fam>
 *   <prefix>{<fam>}refresh:<tid>
 * and the family marker carries the same tag wherever it is written (the
 * code-replay store_mark), so the script reads the key the mark wrote.
 * Every other key is used by one single-key command and keeps its plain
 * name (<prefix>authz_code:<tid> ...): spreading them over the slots is
 * what spreads the load over the primaries. false when a key is empty or
 * too long, or -- cluster mode -- a REFRESH_CLAIM's key is not a family
 * key or the family id holds a brace. */
bool store_key_names(const struct store_backend *b, enum store_op_kind kind, struct slice key,
                     struct slice claim_key, struct buf *out_key, struct buf *out_claim);

/* Returns p; aborts with a line on stderr when p is NULL (a library
 * constructor that only fails for lack of memory). */
void *store_must(void *p, const char *what);
