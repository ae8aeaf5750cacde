/* Revoking and checking (see revocation.h): the in-process API over the
 * process's set (revocation/set.h) and the store's revocation script. */
#include "revocation/revocation.h"

#include "base/buf.h"
#include "base/clock.h"
#include "bounds.h"
#include "revocation/set.h"
#include "revocation/wire.h"
#include "store/store.h"
#include "worker.h"

static struct store_op *
revoke(struct store *s, const struct revocation_entry *e, store_done_fn cb, void *arg)
{
    int64_t now_ms = clock_unix_ms();
    struct buf member;
    buf_init(&member, BOUNDS_STORE_KEY_MAX);
    /* This replica refuses the token before anything leaves the process;
     * a full set fails closed by itself (set.h). An invalid id gives an
     * empty member, which the store refuses through the loop. */
    if (revocation_wire_member(e, &member) == 0) {
        (void)revocation_set_add(revocation_set_global(), e, now_ms);
    } else {
        buf_reset(&member);
    }
    struct store_revocation_req req = {
        .member = buf_slice(&member),
        .expires_ms = e->expires_ms,
        .now_ms = now_ms,
    };
    struct store_op *op = store_revocation_publish(s, &req, cb, arg);
    buf_cleanup(&member);
    return op;
}

struct store_op *
revocation_revoke_family_on(struct store *s, struct slice family_id, store_done_fn cb, void *arg)
{
    struct revocation_entry e = {
        .kind = REVOCATION_KIND_FAMILY,
        .id = family_id,
        .expires_ms = clock_unix_ms() + (int64_t)REVOCATION_FORGET_AFTER_MS,
    };
    return revoke(s, &e, cb, arg);
}

struct store_op *
revocation_revoke_subject_on(struct store *s, struct slice sub, int64_t at_ms, store_done_fn cb,
                             void *arg)
{
    /* Every token of sub issued at or before at_ms has expired by
     * at_ms + the longest token life. */
    struct revocation_entry e = {
        .kind = REVOCATION_KIND_SUBJECT,
        .id = sub,
        .at_ms = at_ms,
        .expires_ms = at_ms + (int64_t)REVOCATION_FORGET_AFTER_MS,
    };
    return revoke(s, &e, cb, arg);
}

struct store_op *
revocation_revoke_family(struct worker *w, struct slice family_id, store_done_fn cb, void *arg)
{
    return revocation_revoke_family_on(store_of_worker(w), family_id, cb, arg);
}

struct store_op *
revocation_revoke_subject(struct worker *w, struct slice sub, int64_t at_ms, store_done_fn cb,
                          void *arg)
{
    return revocation_revoke_subject_on(store_of_worker(w), sub, at_ms, cb, arg);
}

enum revocation_verdict
revocation_check(struct slice family_id, struct slice sub, int64_t iat_s)
{
    return revocation_set_check(revocation_set_global(), family_id, sub, iat_s);
}

bool
revocation_family_revoked(struct slice family_id)
{
    return revocation_check(family_id, SLICE_NULL, 0) != REVOCATION_CLEAR;
}

bool
revocation_subject_revoked(struct slice sub, int64_t iat_s)
{
    return revocation_check(SLICE_NULL, sub, iat_s) != REVOCATION_CLEAR;
}

const char *
revocation_verdict_str(enum revocation_verdict v)
{
    switch (v) {
    case REVOCATION_CLEAR:
        return "clear";
    case REVOCATION_FAMILY:
        return "family";
    case REVOCATION_SUBJECT:
        return "subject";
    case REVOCATION_OVERFLOW:
        return "overflow";
    }
    return "unknown";
}

enum metrics_denied
revocation_verdict_denied(enum revocation_verdict v)
{
    switch (v) {
    case REVOCATION_FAMILY:
        return METRICS_DENIED_TOKEN_REVOKED_FAMILY;
    case REVOCATION_SUBJECT:
        return METRICS_DENIED_TOKEN_REVOKED_SUBJECT;
    case REVOCATION_OVERFLOW:
        return METRICS_DENIED_REVOCATION_SET_FULL;
    case REVOCATION_CLEAR:
        break;
    }
    return METRICS_DENIED_INVALID_TOKEN;
}
