/* The front shared by POST /token and POST /revoke (token_client.h): the
 * form, then client resolution and RFC 7523 authentication. Moved here
 * from token.c unchanged in behaviour, so /revoke authenticates clients
 * exactly as /token does. */
#include "oauth/token_client.h"

#include <string.h>

#include "base/arena.h"
#include "base/form.h"
#include "bounds.h"
#include "http/request.h"
#include "log.h"
#include "metrics.h"
#include "oauth/client.h"
#include "oauth/client_assertion.h"
#include "oauth/error.h"
#include "oauth/reply.h"
#include "oauth/token_assertion.h"
#include "oauth/token_rules.h"

struct oauth_token_client {
    struct http_request *req;
    const struct oauth *oauth;
    enum oauth_token_client_site site;
    /* The client_assertion as sent (arena); NULL when the form has none. */
    char *assertion;
    const struct oauth_client *client;
    /* At most one asynchronous step is outstanding. */
    struct oauth_client_lookup *lookup;
    struct oauth_token_assertion *assertion_step;
    oauth_token_client_done_fn done;
    void *arg;
};

/* Per site: the refusal of parameters in the URL, of an Authorization
 * header, and the Basic challenge's realm. */
static const struct {
    const char *query;
    const char *header;
    const char *realm;
} site_text[OAUTH_TOKEN_CLIENT_SITE_COUNT] = {
    [OAUTH_TOKEN_CLIENT_SITE_TOKEN] =
        {
            "token endpoint parameters must be in the request body, not the URL query",
            "this token endpoint does not authenticate clients "
            "(token_endpoint_auth_method=none); remove the Authorization header",
            "token",
        },
    [OAUTH_TOKEN_CLIENT_SITE_REVOKE] =
        {
            "revocation endpoint parameters must be in the request body, not the URL query",
            "this revocation endpoint does not take an Authorization header (public clients "
            "send client_id; private_key_jwt clients a client_assertion)",
            "revoke",
        },
};

static void
reply_error(struct oauth_token_client *c, const struct oauth_error *err)
{
    http_request_on_abort(c->req, NULL, NULL);
    oauth_reply_error(c->req, err);
}

static void
reply_simple(struct oauth_token_client *c, int status, enum oauth_error_code code,
             const char *description)
{
    struct oauth_error err;
    oauth_error_set(&err, status, code, description);
    reply_error(c, &err);
}

struct oauth_token_client *
oauth_token_client_new(struct http_request *req, const struct oauth *oauth,
                       enum oauth_token_client_site site)
{
    struct oauth_token_client *c = arena_zalloc(http_request_arena(req), sizeof(*c));
    if (c != NULL) {
        c->req = req;
        c->oauth = oauth;
        c->site = site;
    }
    return c;
}

bool
oauth_token_client_read_form(struct oauth_token_client *c, struct form_params *p)
{
    struct http_request *req = c->req;
    /* Go tests RawQuery != "": a bare '?' is no query. */
    if (http_request_query(req).len > 0) {
        reply_simple(c, 400, OAUTH_ERROR_INVALID_REQUEST, site_text[c->site].query);
        return false;
    }
    struct slice auth;
    if (http_request_header_get(req, "Authorization", &auth) && auth.len > 0) {
        struct oauth_error err;
        oauth_error_set(&err, 401, OAUTH_ERROR_INVALID_CLIENT, site_text[c->site].header);
        http_request_on_abort(req, NULL, NULL);
        oauth_reply_error_basic(req, &err, site_text[c->site].realm);
        return false;
    }
    memset(p, 0, sizeof(*p));
    struct slice ct;
    const char *content_type = NULL;
    if (http_request_header_get(req, "Content-Type", &ct)) {
        content_type = arena_slicedup(http_request_arena(req), ct);
        if (content_type == NULL) {
            reply_simple(c, 500, OAUTH_ERROR_SERVER_ERROR, "internal error");
            return false;
        }
    }
    /* SPEC.md 3.0.7: another media type (or none) is simply an empty form. */
    if (!form_is_content_type(content_type)) {
        return true;
    }
    enum form_rc qrc =
        form_parse(http_request_body_slice(req), FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX, p);
    if (qrc != FORM_OK) {
        /* Past BOUNDS_QUERY_PARAMS_MAX pairs: worded as /consent words it. */
        reply_simple(c, 400, OAUTH_ERROR_INVALID_REQUEST,
                     qrc == FORM_ERR_TOO_MANY ? "too many form parameters" : "malformed form body");
        return false;
    }
    return true;
}

/* The one refusal: 401 invalid_client with the rule's description, one
 * count and one security line. Nothing was consumed: the jti is claimed
 * last, and the code or refresh token only after it. */
static void
assertion_refuse(struct oauth_token_client *c, enum oauth_client_assertion_rc rc,
                 const char *detail)
{
    metrics_inc_client_assertion((enum metrics_client_assertion)rc);
    struct log_line l;
    http_request_log_begin(&l, c->req, LOG_WARN, "client_assertion_refused");
    log_str(&l, "reason", oauth_client_assertion_rc_str(rc));
    if (c->client != NULL) {
        log_sample(&l, "client_id", slice_from_cstr(c->client->id));
    }
    if (detail != NULL) {
        log_str(&l, "detail", detail);
    }
    log_end(&l);
    reply_simple(c, 401, OAUTH_ERROR_INVALID_CLIENT, oauth_client_assertion_description(rc));
}

/* No assertion: nothing to do, the client is public (a document naming
 * private_key_jwt included: ChatGPT's names it and then sends none). */
bool
oauth_token_client_read_assertion(struct oauth_token_client *c, const struct form_params *p,
                                  const char **client_id)
{
    struct slice type = slice_from_cstr(form_params_get(p, "client_assertion_type", NULL));
    struct slice assertion = slice_from_cstr(form_params_get(p, "client_assertion", NULL));
    if (type.len == 0 && assertion.len == 0) {
        return true;
    }
    char iss[BOUNDS_CIMD_URL_MAX_BYTES + 1];
    enum oauth_client_assertion_rc rc = oauth_client_assertion_front(
        type, assertion, slice_from_cstr(*client_id), iss, sizeof(iss));
    if (rc != OAUTH_CLIENT_ASSERTION_OK) {
        assertion_refuse(c, rc, NULL);
        return false;
    }
    struct arena *a = http_request_arena(c->req);
    c->assertion = arena_slicedup(a, assertion);
    if (iss[0] != '\0') {
        *client_id = arena_strdup(a, iss);
    }
    if (c->assertion == NULL || *client_id == NULL) {
        reply_simple(c, 500, OAUTH_ERROR_SERVER_ERROR, "internal error");
        return false;
    }
    return true;
}

static void
log_store_error(struct oauth_token_client *c, const char *error)
{
    struct log_line l;
    http_request_log_begin(&l, c->req, LOG_ERROR, "replay_store_error");
    log_str(&l, "op", "claim_client_assertion");
    log_str(&l, "error", error != NULL ? error : "unavailable");
    log_end(&l);
}

/* The assertion step's answer (oauth/token_assertion.h): a refusal, a
 * replay-store failure, or a verified assertion whose jti is spent. */
static void
on_assertion(void *arg, const struct oauth_token_assertion_result *r)
{
    struct oauth_token_client *c = arg;
    c->assertion_step = NULL;
    if (r->store_failed) {
        metrics_inc_denied(METRICS_DENIED_REPLAY_STORE_UNAVAILABLE);
        log_store_error(c, r->store_error);
        struct oauth_error err;
        oauth_token_rules_store_unavailable(&err);
        reply_error(c, &err);
        return;
    }
    if (r->rc != OAUTH_CLIENT_ASSERTION_OK) {
        assertion_refuse(c, r->rc, r->detail);
        return;
    }
    metrics_inc_client_assertion(METRICS_CLIENT_ASSERTION_OK);
    c->done(c->arg, c->client);
}

/* SPEC preface fix 13: oauth/client answers every unusable client_id with
 * 401 invalid_client (the answer on which MCP clients register again),
 * already counted and logged. */
static void
on_client(enum oauth_client_rc rc, const struct oauth_client *client, const struct oauth_error *err,
          void *arg)
{
    struct oauth_token_client *c = arg;
    c->lookup = NULL;
    if (rc != OAUTH_CLIENT_OK) {
        reply_error(c, err);
        return;
    }
    c->client = client;
    if (c->assertion != NULL) {
        c->assertion_step = oauth_token_assertion_start(c->oauth, http_request_worker(c->req),
                                                        client, c->assertion, on_assertion, c);
        return;
    }
    c->done(c->arg, client);
}

void
oauth_token_client_start(struct oauth_token_client *c, const char *client_id,
                         oauth_token_client_done_fn done, void *arg)
{
    c->done = done;
    c->arg = arg;
    c->lookup = oauth_client_resolve_start(c->req, c->oauth, slice_from_cstr(client_id),
                                           OAUTH_CLIENT_SITE_TOKEN, on_client, c);
}

void
oauth_token_client_cancel(struct oauth_token_client *c)
{
    if (c == NULL) {
        return;
    }
    oauth_client_resolve_cancel(c->lookup);
    c->lookup = NULL;
    oauth_token_assertion_cancel(c->assertion_step);
    c->assertion_step = NULL;
}
