/* Client resolution: the sealed-registration source, the error table of
 * the two sites, and the deferred answer through the worker's loop.
 *
 * Two allocations per lookup, with different lives:
 *  - struct oauth_client_lookup (the handle): the pending answer and its
 *    event; freed right after the callback has run, or by cancel.
 *  - struct holder: the opened grant and the struct oauth_client view that
 *    points into it; registered on the request's arena so the registration
 *    stays readable until the request is freed, whatever the handler does
 *    after the callback. */
#include "oauth/client.h"
#include "oauth/oauth.h"

#include <assert.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/rfc3339.h"
#include "base/strtab.h"
#include "base/xalloc.h"
#include "config.h"
#include "grants.h"
#include "http/request.h"
#include "log.h"
#include "metrics.h"
#include "oauth/cimd.h"
#include "worker.h"

struct holder {
    struct grant_client grant;
    struct oauth_client view;
};

/* A metadata document's view: the shared document stays counted until the
 * request is freed. */
struct cimd_holder {
    struct oauth_cimd_ref *ref;
    struct oauth_client view;
};

struct oauth_client_lookup {
    struct event *ev;
    struct oauth_cimd_wait *wait; /* the document source, while it runs */
    struct http_request *req;
    enum oauth_client_site site;
    char *client_id; /* the document URL, for the refusal's log line */
    oauth_client_done_fn cb;
    void *arg;
    enum oauth_client_rc rc;
    struct oauth_error err;
    const struct oauth_client *client; /* into the holder; NULL unless OK */
};

static const char *const rc_names[OAUTH_CLIENT_RC_COUNT] = {
    [OAUTH_CLIENT_OK] = "ok",
    [OAUTH_CLIENT_ERR_INVALID] = "client_id_invalid",
    [OAUTH_CLIENT_ERR_TYP_MISMATCH] = "client_typ_mismatch",
    [OAUTH_CLIENT_ERR_AUDIENCE_MISMATCH] = "client_audience_mismatch",
    [OAUTH_CLIENT_ERR_EXPIRED] = "client_registration_expired",
    [OAUTH_CLIENT_ERR_METADATA] = "client_metadata_invalid",
};

/* SPEC.md 7.2: the warn line is access_denied_<reason>. */
static const char *const log_names[OAUTH_CLIENT_RC_COUNT] = {
    [OAUTH_CLIENT_OK] = "client_resolved",
    [OAUTH_CLIENT_ERR_INVALID] = "access_denied_client_id_invalid",
    [OAUTH_CLIENT_ERR_TYP_MISMATCH] = "access_denied_client_typ_mismatch",
    [OAUTH_CLIENT_ERR_AUDIENCE_MISMATCH] = "access_denied_client_audience_mismatch",
    [OAUTH_CLIENT_ERR_EXPIRED] = "access_denied_client_registration_expired",
    [OAUTH_CLIENT_ERR_METADATA] = "access_denied_client_metadata_invalid",
};

static const enum metrics_denied denied_reasons[OAUTH_CLIENT_RC_COUNT] = {
    [OAUTH_CLIENT_ERR_INVALID] = METRICS_DENIED_CLIENT_ID_INVALID,
    [OAUTH_CLIENT_ERR_TYP_MISMATCH] = METRICS_DENIED_CLIENT_TYP_MISMATCH,
    [OAUTH_CLIENT_ERR_AUDIENCE_MISMATCH] = METRICS_DENIED_CLIENT_AUDIENCE_MISMATCH,
    [OAUTH_CLIENT_ERR_EXPIRED] = METRICS_DENIED_CLIENT_REGISTRATION_EXPIRED,
    [OAUTH_CLIENT_ERR_METADATA] = METRICS_DENIED_CLIENT_METADATA_INVALID,
};

const char *
oauth_client_rc_str(enum oauth_client_rc rc)
{
    return strtab_name(rc_names, OAUTH_CLIENT_RC_COUNT, (size_t)rc, "unknown");
}

void
oauth_client_error(enum oauth_client_rc rc, enum oauth_client_site site, struct oauth_error *out)
{
    assert(rc != OAUTH_CLIENT_OK);
    bool token = site == OAUTH_CLIENT_SITE_TOKEN;
    /* SPEC preface fix 13: /token answers 401 for every client failure. */
    int status = token ? 401 : 400;
    const char *description;
    switch (rc) {
    case OAUTH_CLIENT_ERR_AUDIENCE_MISMATCH:
        description = "client registered for a different audience";
        break;
    case OAUTH_CLIENT_ERR_EXPIRED:
        description = "client registration expired";
        break;
    case OAUTH_CLIENT_ERR_METADATA:
        description = "client metadata document refused";
        break;
    default:
        /* INVALID and TYP_MISMATCH read the same to the client: telling them
         * apart would only help someone probing the sealing. */
        description = token ? "invalid client_id" : "unknown client_id";
        break;
    }
    oauth_error_set(out, status, OAUTH_ERROR_INVALID_CLIENT, description);
}

static enum oauth_client_rc
rc_from_grants(enum grants_rc grc)
{
    switch (grc) {
    case GRANTS_OK:
        return OAUTH_CLIENT_OK;
    case GRANTS_ERR_TYP:
        return OAUTH_CLIENT_ERR_TYP_MISMATCH;
    case GRANTS_ERR_AUDIENCE:
        return OAUTH_CLIENT_ERR_AUDIENCE_MISMATCH;
    case GRANTS_ERR_EXPIRED:
        return OAUTH_CLIENT_ERR_EXPIRED;
    default:
        return OAUTH_CLIENT_ERR_INVALID;
    }
}

static void
free_holder(void *ptr)
{
    struct holder *h = ptr;
    grants_cleanup_client(&h->grant);
    xfree(h);
}

/* Meter and log a denial once, with what the grant revealed (SPEC.md 3.3
 * step 7: internal_id and expired_at). Never the client_id itself: it is a
 * sealed blob. */
static void
record_denial(struct http_request *req, enum oauth_client_rc rc, const struct grant_client *g,
              enum grants_rc grc, enum seal_rc seal_rc)
{
    metrics_inc_denied(denied_reasons[rc]);
    struct log_line l;
    http_request_log_begin(&l, req, LOG_WARN, log_names[rc]);
    switch (rc) {
    case OAUTH_CLIENT_ERR_INVALID:
    case OAUTH_CLIENT_ERR_TYP_MISMATCH:
        /* The envelope's reason when it did not open (a retired key reads
         * differently from a forgery), else what the payload failed. */
        log_str(&l, "error", grc == GRANTS_ERR_OPEN ? seal_rc_str(seal_rc) : grants_rc_str(grc));
        break;
    case OAUTH_CLIENT_ERR_AUDIENCE_MISMATCH:
        log_str(&l, "internal_id", g->id != NULL ? g->id : "");
        break;
    case OAUTH_CLIENT_ERR_EXPIRED: {
        char at[32];
        rfc3339_format_s(g->exp, at);
        log_str(&l, "internal_id", g->id != NULL ? g->id : "");
        log_str(&l, "expired_at", at);
        break;
    }
    default:
        break;
    }
    log_end(&l);
}

/* The sealed source: opens the registration now (pure CPU) and returns
 * the outcome; *out_client is set on OK. */
static enum oauth_client_rc
resolve_sealed(struct http_request *req, const struct oauth *oauth, struct slice client_id,
               const struct oauth_client **out_client)
{
    struct holder *h = xcalloc(1, sizeof(*h));
    arena_on_free(http_request_arena(req), free_holder, h);

    enum seal_rc seal_rc = SEAL_OK;
    enum grants_rc grc = GRANTS_ERR_OPEN;
    if (client_id.len > 0) {
        grc = grants_open_client(oauth->seal, client_id, oauth->cfg->proxy_base_url, clock_unix_s(),
                                 &h->grant, &seal_rc);
    }
    enum oauth_client_rc rc = rc_from_grants(grc);
    if (rc != OAUTH_CLIENT_OK) {
        record_denial(req, rc, &h->grant, grc, seal_rc);
        return rc;
    }
    h->view = (struct oauth_client){
        .id = h->grant.id,
        .name = h->grant.client_name,
        .redirect_uris = h->grant.redirect_uris,
        .redirect_uri_count = h->grant.redirect_uri_count,
        .exp = h->grant.exp,
    };
    *out_client = &h->view;
    return OAUTH_CLIENT_OK;
}

static void lookup_free(struct oauth_client_lookup *l);

static void
free_cimd_holder(void *ptr)
{
    struct cimd_holder *h = ptr;
    oauth_cimd_ref_release(h->ref);
    xfree(h);
}

/* The document source's answer, on the request's loop. A refusal is
 * metered and logged here once, with the document's host and the static
 * reason (the URL is the client's text: sampled). */
static void
on_cimd(void *arg, struct oauth_cimd_ref *ref, const char *reason)
{
    struct oauth_client_lookup *l = arg;
    l->wait = NULL;
    if (ref == NULL) {
        l->rc = OAUTH_CLIENT_ERR_METADATA;
        metrics_inc_denied(denied_reasons[l->rc]);
        struct log_line line;
        http_request_log_begin(&line, l->req, LOG_WARN, log_names[l->rc]);
        log_sample(&line, "client_id", slice_from_cstr(l->client_id));
        log_str(&line, "reason", reason);
        log_end(&line);
        oauth_error_set(&l->err, l->site == OAUTH_CLIENT_SITE_TOKEN ? 401 : 400,
                        OAUTH_ERROR_INVALID_CLIENT, reason);
        xfree(l->client_id);
        l->client_id = NULL;
        l->cb(l->rc, NULL, &l->err, l->arg);
        lookup_free(l);
        return;
    }
    struct cimd_holder *h = xcalloc(1, sizeof(*h));
    h->ref = ref;
    arena_on_free(http_request_arena(l->req), free_cimd_holder, h);
    const struct oauth_cimd_doc *d = oauth_cimd_ref_doc(ref);
    h->view = (struct oauth_client){
        .id = d->client_id,
        .name = d->client_name,
        .redirect_uris = (const char *const *)d->redirect_uris,
        .redirect_uri_count = d->redirect_uri_count,
        .exp = 0,
        .jwks = d->jwks,
        .jwks_uri = d->jwks_uri,
    };
    xfree(l->client_id);
    l->client_id = NULL;
    l->cb(OAUTH_CLIENT_OK, &h->view, NULL, l->arg);
    lookup_free(l);
}

static void
lookup_free(struct oauth_client_lookup *l)
{
    if (l->ev != NULL) {
        event_free(l->ev);
    }
    xfree(l->client_id);
    xfree(l);
}

static void
on_answer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct oauth_client_lookup *l = arg;
    /* The handle is gone from the caller's point of view once the callback
     * starts (see client.h); free it after the call returns, never before,
     * because err lives inside it. */
    l->cb(l->rc, l->client, l->rc == OAUTH_CLIENT_OK ? NULL : &l->err, l->arg);
    lookup_free(l);
}

struct oauth_client_lookup *
oauth_client_resolve_start(struct http_request *req, const struct oauth *oauth,
                           struct slice client_id, enum oauth_client_site site,
                           oauth_client_done_fn cb, void *arg)
{
    struct worker *w = http_request_worker(req);
    assert(w != NULL && oauth != NULL && oauth->seal != NULL && cb != NULL);
    struct oauth_client_lookup *l = xcalloc(1, sizeof(*l));
    l->cb = cb;
    l->arg = arg;
    l->req = req;
    l->site = site;

    /* An https client_id is a metadata document URL (the sealed ones never
     * start so); its source answers through its own wait. */
    if (oauth->cimd != NULL && oauth_cimd_rules_is_document_url(client_id)) {
        l->client_id = xstrndup(client_id.ptr, client_id.len);
        l->wait = oauth_cimd_resolve_start(oauth->cimd, w, client_id, on_cimd, l);
        return l;
    }
    l->rc = resolve_sealed(req, oauth, client_id, &l->client);
    if (l->rc != OAUTH_CLIENT_OK) {
        oauth_client_error(l->rc, site, &l->err);
    }

    /* The answer goes through the loop even though it is known now, so the
     * caller never sees its callback run inside this call. */
    l->ev = event_new(w->base, -1, 0, on_answer, l);
    if (l->ev == NULL) {
        abort(); /* allocation only: OOM is fatal (STYLE.md 3.5) */
    }
    event_active(l->ev, 0, 0);
    return l;
}

void
oauth_client_resolve_cancel(struct oauth_client_lookup *lookup)
{
    if (lookup == NULL) {
        return;
    }
    oauth_cimd_resolve_cancel(lookup->wait);
    lookup_free(lookup);
}
