/* RFC 7523 client authentication at POST /token, the asynchronous half:
 * keys, check, jti claim (see token_assertion.h). */
#include "oauth/token_assertion.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/url.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "config.h"
#include "oauth/cimd.h"
#include "oauth/client.h"
#include "oauth/oauth.h"
#include "oidc/jwks.h"
#include "store/store.h"
#include "worker.h"

struct oauth_token_assertion {
    const struct oauth *oauth;
    struct worker *w;
    const struct oauth_client *client;
    const char *assertion;
    oauth_token_assertion_done_fn done;
    void *arg;
    bool keys_refetched; /* the jwks_uri was fetched again for an unknown kid */
    struct oauth_client_assertion_claims claims;
    /* At most one of these is outstanding. */
    struct oauth_cimd_wait *keys_wait;
    struct store_op *op;
    /* An answer known inside oauth_token_assertion_start goes through the
     * loop, so the caller never sees done run inside that call. */
    bool starting;
    struct event *deferred;
    struct oauth_token_assertion_result result;
    char detail[256]; /* result.detail's copy: a reason need not outlive its callback */
};

static void
release(struct oauth_token_assertion *a)
{
    if (a->deferred != NULL) {
        event_free(a->deferred);
    }
    free(a);
}

static void
on_deferred(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct oauth_token_assertion *a = arg;
    oauth_token_assertion_done_fn done = a->done;
    void *done_arg = a->arg;
    char detail[sizeof(a->detail)];
    memcpy(detail, a->detail, sizeof(detail));
    struct oauth_token_assertion_result r = a->result;
    if (r.detail != NULL) {
        r.detail = detail;
    }
    if (r.store_error != NULL) {
        r.store_error = detail;
    }
    release(a);
    done(done_arg, &r);
}

/* The one way out: done with r, now or (inside start) from the loop. */
static void
finish(struct oauth_token_assertion *a, struct oauth_token_assertion_result r)
{
    if (r.detail != NULL) {
        snprintf(a->detail, sizeof(a->detail), "%s", r.detail);
        r.detail = a->detail;
    }
    if (r.store_error != NULL) {
        snprintf(a->detail, sizeof(a->detail), "%s", r.store_error);
        r.store_error = a->detail;
    }
    a->result = r;
    if (a->starting) {
        a->deferred = event_new(a->w->base, -1, 0, on_deferred, a);
        if (a->deferred == NULL) {
            abort(); /* allocation only: OOM is fatal (STYLE.md 3.5) */
        }
        event_active(a->deferred, 0, 0);
        return;
    }
    on_deferred(-1, 0, a);
}

static void
refuse(struct oauth_token_assertion *a, enum oauth_client_assertion_rc rc, const char *detail)
{
    finish(a, (struct oauth_token_assertion_result){.rc = rc, .detail = detail});
}

static void
on_jti_claimed(enum store_rc rc, const char *error, void *arg)
{
    struct oauth_token_assertion *a = arg;
    a->op = NULL;
    if (rc == STORE_ERR_ALREADY_USED) {
        refuse(a, OAUTH_CLIENT_ASSERTION_REPLAYED, NULL);
        return;
    }
    if (rc != STORE_OK) {
        finish(a, (struct oauth_token_assertion_result){.rc = OAUTH_CLIENT_ASSERTION_OK,
                                                        .store_failed = true,
                                                        .store_error =
                                                            error != NULL ? error : "unavailable"});
        return;
    }
    finish(a, (struct oauth_token_assertion_result){.rc = OAUTH_CLIENT_ASSERTION_OK});
}

/* A verified assertion: its jti is spent (RFC 7523 3 item 7, OIDC Core 9)
 * until exp + skew, keyed by a hash of client_id and jti. */
static void
claim_jti(struct oauth_token_assertion *a)
{
    struct store *st = store_of_worker(a->w);
    if (st == NULL) {
        /* SPEC.md 5.4: without a store nothing is single-use (codes
         * neither); the assertion's 5-minute cap bounds a replay. */
        finish(a, (struct oauth_token_assertion_result){.rc = OAUTH_CLIENT_ASSERTION_OK});
        return;
    }
    char id[OAUTH_CLIENT_ASSERTION_REPLAY_ID_LEN + 1];
    oauth_client_assertion_replay_id(a->client->id, a->claims.jti, id);
    struct buf key;
    buf_init(&key, BOUNDS_STORE_KEY_MAX);
    if (store_key_client_assertion(slice_from_cstr(id), &key) != 0) {
        buf_cleanup(&key);
        on_jti_claimed(STORE_ERR_UNAVAILABLE, "assertion id does not fit a store key", a);
        return;
    }
    a->op = store_claim_once(st, buf_slice(&key),
                             oauth_client_assertion_replay_ttl_ms(a->claims.exp, clock_unix_s()),
                             on_jti_claimed, a);
    buf_cleanup(&key);
}

static enum oauth_client_assertion_rc
check(struct oauth_token_assertion *a, const struct oidc_jwks_set *keys)
{
    const struct config *cfg = a->oauth->cfg;
    /* The token endpoint exactly as the AS metadata spells it. */
    struct buf endpoint;
    buf_init(&endpoint, BOUNDS_URL_MAX);
    bool joined = url_join(&endpoint, cfg->proxy_base_url, "/token") == 0;
    const struct oauth_client_assertion_expect expect = {
        .client_id = a->client->id,
        .issuer = oauth_discovery_issuer(cfg),
        .token_endpoint = joined ? buf_cstr(&endpoint) : "",
        .now_s = clock_unix_s(),
    };
    enum oauth_client_assertion_rc rc =
        oauth_client_assertion_check(keys, slice_from_cstr(a->assertion), &expect, &a->claims);
    buf_cleanup(&endpoint);
    return rc;
}

static void
on_keys(void *arg, struct oauth_cimd_ref *ref, const char *reason)
{
    struct oauth_token_assertion *a = arg;
    a->keys_wait = NULL;
    if (ref == NULL) {
        refuse(a, OAUTH_CLIENT_ASSERTION_KEYS_UNAVAILABLE, reason);
        return;
    }
    enum oauth_client_assertion_rc rc = check(a, oauth_cimd_ref_keys(ref));
    oauth_cimd_ref_release(ref);
    if (oauth_client_assertion_keys_may_be_stale(rc) && !a->keys_refetched) {
        /* Key rotation: once, and only past the refetch floor (cimd.h). */
        a->keys_refetched = true;
        a->keys_wait = oauth_cimd_keys_start(
            a->oauth->cimd, a->w, slice_from_cstr(a->client->jwks_uri), true, on_keys, a);
        return;
    }
    if (rc != OAUTH_CLIENT_ASSERTION_OK) {
        refuse(a, rc, NULL);
        return;
    }
    claim_jti(a);
}

/* A sealed (DCR) registration has no keys, nor a document naming neither
 * jwks nor jwks_uri: refused, never read as "none" (a present assertion
 * is never downgraded). */
static void
authenticate(struct oauth_token_assertion *a)
{
    const struct oauth_client *c = a->client;
    if (c->jwks != NULL) {
        struct oidc_jwks_set *keys = NULL;
        struct buf err;
        buf_init(&err, 256);
        int prc = oidc_jwks_set_parse(slice_from_cstr(c->jwks), &keys, &err);
        buf_cleanup(&err);
        if (prc != 0) {
            refuse(a, OAUTH_CLIENT_ASSERTION_KEYS_UNAVAILABLE,
                   "the document's jwks holds no usable signing key");
            return;
        }
        enum oauth_client_assertion_rc rc = check(a, keys);
        oidc_jwks_set_unref(keys);
        if (rc != OAUTH_CLIENT_ASSERTION_OK) {
            refuse(a, rc, NULL);
            return;
        }
        claim_jti(a);
        return;
    }
    if (c->jwks_uri != NULL && a->oauth->cimd != NULL) {
        a->keys_wait = oauth_cimd_keys_start(a->oauth->cimd, a->w, slice_from_cstr(c->jwks_uri),
                                             false, on_keys, a);
        return;
    }
    refuse(a, OAUTH_CLIENT_ASSERTION_NO_KEYS, NULL);
}

struct oauth_token_assertion *
oauth_token_assertion_start(const struct oauth *oauth, struct worker *w,
                            const struct oauth_client *client, const char *assertion,
                            oauth_token_assertion_done_fn done, void *arg)
{
    struct oauth_token_assertion *a = xcalloc(1, sizeof(*a));
    a->oauth = oauth;
    a->w = w;
    a->client = client;
    a->assertion = assertion;
    a->done = done;
    a->arg = arg;
    a->starting = true;
    authenticate(a);
    a->starting = false;
    return a;
}

void
oauth_token_assertion_cancel(struct oauth_token_assertion *a)
{
    if (a == NULL) {
        return;
    }
    oauth_cimd_resolve_cancel(a->keys_wait);
    store_cancel(a->op);
    release(a);
}
