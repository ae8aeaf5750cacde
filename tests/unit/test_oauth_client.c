/* oauth/client: the error shapes of both sites (SPEC.md 3.3 steps 4-7;
 * SPEC preface fix 13 for /token), and the lookup itself on a real loop:
 * the answer never comes from inside the start call, each failure is
 * metered once, cancel means no callback, and the resolved registration
 * stays readable after the callback until the request ends. */
#include "oauth_flow_app.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/form.h"
#include "bounds.h"
#include "grants.h"
#include "http/reply.h"
#include "http/request.h"
#include "oauth/cimd.h"
#include "oauth/client.h"
#include "oauth_mint.h"

static struct flow_app FA;

static int
setup(void **state)
{
    (void)state;
    fixture_pin_clock(0);
    flow_app_init(&FA, FLOW_STORE_NONE);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    flow_app_cleanup(&FA);
    fixture_unpin_clock();
    return 0;
}

/* ---- pure ---- */

struct shape {
    enum oauth_client_rc rc;
    enum oauth_client_site site;
    int status;
    const char *description;
};

static void
test_error_shapes(void **state)
{
    (void)state;
    static const struct shape shapes[] = {
        {OAUTH_CLIENT_ERR_INVALID, OAUTH_CLIENT_SITE_AUTHORIZE, 400, "unknown client_id"},
        {OAUTH_CLIENT_ERR_TYP_MISMATCH, OAUTH_CLIENT_SITE_AUTHORIZE, 400, "unknown client_id"},
        {OAUTH_CLIENT_ERR_AUDIENCE_MISMATCH, OAUTH_CLIENT_SITE_AUTHORIZE, 400,
         "client registered for a different audience"},
        {OAUTH_CLIENT_ERR_EXPIRED, OAUTH_CLIENT_SITE_AUTHORIZE, 400, "client registration expired"},
        {OAUTH_CLIENT_ERR_INVALID, OAUTH_CLIENT_SITE_TOKEN, 401, "invalid client_id"},
        {OAUTH_CLIENT_ERR_TYP_MISMATCH, OAUTH_CLIENT_SITE_TOKEN, 401, "invalid client_id"},
        {OAUTH_CLIENT_ERR_AUDIENCE_MISMATCH, OAUTH_CLIENT_SITE_TOKEN, 401,
         "client registered for a different audience"},
        {OAUTH_CLIENT_ERR_EXPIRED, OAUTH_CLIENT_SITE_TOKEN, 401, "client registration expired"},
        {OAUTH_CLIENT_ERR_METADATA, OAUTH_CLIENT_SITE_AUTHORIZE, 400,
         "client metadata document refused"},
        {OAUTH_CLIENT_ERR_METADATA, OAUTH_CLIENT_SITE_TOKEN, 401,
         "client metadata document refused"},
    };
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        struct oauth_error e;
        oauth_client_error(shapes[i].rc, shapes[i].site, &e);
        assert_int_equal(e.status, shapes[i].status);
        assert_int_equal(e.code, OAUTH_ERROR_INVALID_CLIENT);
        assert_string_equal(e.description, shapes[i].description);
        assert_true(e.error_code == NULL || e.error_code[0] == '\0');
    }
    assert_string_equal(oauth_client_rc_str(OAUTH_CLIENT_OK), "ok");
    assert_string_equal(oauth_client_rc_str(OAUTH_CLIENT_ERR_INVALID), "client_id_invalid");
    assert_string_equal(oauth_client_rc_str(OAUTH_CLIENT_ERR_TYP_MISMATCH), "client_typ_mismatch");
    assert_string_equal(oauth_client_rc_str(OAUTH_CLIENT_ERR_AUDIENCE_MISMATCH),
                        "client_audience_mismatch");
    assert_string_equal(oauth_client_rc_str(OAUTH_CLIENT_ERR_EXPIRED),
                        "client_registration_expired");
    /* The labels are the metric's. */
    for (int rc = OAUTH_CLIENT_ERR_INVALID; rc < OAUTH_CLIENT_RC_COUNT; rc++) {
        bool found = false;
        for (int m = 0; m < METRICS_DENIED_COUNT; m++) {
            found |= strcmp(metrics_denied_str((enum metrics_denied)m),
                            oauth_client_rc_str((enum oauth_client_rc)rc)) == 0;
        }
        assert_true(found);
    }
}

/* ---- on the loop ---- */

static int callbacks;
static bool start_returned;
static bool answered_inside_start;

struct probe {
    struct http_request *req;
    const struct oauth_client *client;
    struct oauth_client_lookup *lookup;
};

static void
on_abort_probe(struct http_request *req, void *arg)
{
    (void)req;
    struct probe *p = arg;
    oauth_client_resolve_cancel(p->lookup);
    p->lookup = NULL;
}

static void
reply_client_later(void *arg)
{
    /* Runs on a later loop turn: the registration must still be there. */
    struct probe *p = arg;
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(buf_appendf(&b, "ok %s|%s|%zu|%s|%lld", p->client->id, p->client->name,
                                 p->client->redirect_uri_count, p->client->redirect_uris[0],
                                 (long long)p->client->exp),
                     0);
    http_reply_text(p->req, 200, b.ptr, b.len);
    buf_cleanup(&b);
}

static void
on_resolved(enum oauth_client_rc rc, const struct oauth_client *client,
            const struct oauth_error *err, void *arg)
{
    struct probe *p = arg;
    p->lookup = NULL;
    callbacks++;
    answered_inside_start |= !start_returned;
    if (rc != OAUTH_CLIENT_OK) {
        assert_null(client);
        assert_non_null(err);
        oauth_reply_error(p->req, err);
        return;
    }
    assert_null(err);
    p->client = client;
    worker_defer(http_request_worker(p->req), reply_client_later, p);
}

/* GET /resolve?id=<client_id>&site=authorize|token */
static void
h_resolve(struct http_request *req, void *arg)
{
    (void)arg;
    struct form_params q;
    assert_int_equal(
        form_parse(http_request_query(req), FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &q), FORM_OK);
    static struct probe p;
    p = (struct probe){.req = req};
    enum oauth_client_site site = strcmp(form_params_get(&q, "site", NULL), "token") == 0
                                      ? OAUTH_CLIENT_SITE_TOKEN
                                      : OAUTH_CLIENT_SITE_AUTHORIZE;
    start_returned = false;
    p.lookup = oauth_client_resolve_start(
        req, &FA.oauth, slice_from_cstr(form_params_get(&q, "id", NULL)), site, on_resolved, &p);
    assert_non_null(p.lookup);
    start_returned = true;
    http_request_on_abort(req, on_abort_probe, &p);
    form_params_cleanup(&q);
}

/* GET /cancel?id=...: start, cancel, answer 204 ourselves. */
static void
h_cancel(struct http_request *req, void *arg)
{
    (void)arg;
    static struct probe p;
    p = (struct probe){.req = req};
    struct oauth_client_lookup *l = oauth_client_resolve_start(
        req, &FA.oauth, slice_from_cstr("garbage"), OAUTH_CLIENT_SITE_TOKEN, on_resolved, &p);
    oauth_client_resolve_cancel(l);
    oauth_client_resolve_cancel(NULL);
    http_reply_empty(req, 204);
}

static void
make_client(const char *aud, int64_t exp, struct buf *out)
{
    static const char *const uris[] = {"https://app.example.com/cb"};
    struct grant_client c = {
        .id = "11111111-2222-4333-8444-555555555555",
        .redirect_uris = uris,
        .redirect_uri_count = 1,
        .client_name = "Claude",
        .aud = aud,
        .exp = exp,
    };
    mint_client(FA.oauth.seal, &c, out);
}

static void
resolve(const char *id, const char *site, struct harness_response *r)
{
    struct buf t;
    buf_init(&t, 64 * 1024);
    assert_int_equal(buf_appendf(&t, "/resolve?site=%s&id=%s", site, id), 0);
    flow_app_get(&FA, buf_cstr(&t), r);
    buf_cleanup(&t);
}

static void
test_resolve_ok(void **state)
{
    (void)state;
    http_router_add(FA.router, HTTP_METHODS_GET, "/resolve", h_resolve, NULL, NULL);
    struct buf cid;
    make_client(FIXTURE_BASE, FIXTURE_NOW + 60, &cid);
    callbacks = 0;
    answered_inside_start = false;
    struct harness_response r;
    resolve(buf_cstr(&cid), "token", &r);
    assert_int_equal(r.status, 200);
    char want[256];
    snprintf(want, sizeof(want),
             "ok 11111111-2222-4333-8444-555555555555|Claude|1|https://app.example.com/cb|%lld",
             (long long)FIXTURE_NOW + 60);
    assert_string_equal(r.body, want);
    assert_int_equal(callbacks, 1);
    assert_false(answered_inside_start);
    for (int m = 0; m < METRICS_DENIED_COUNT; m++) {
        assert_int_equal(metrics_get_denied((enum metrics_denied)m), 0);
    }
    harness_response_free(&r);
    buf_cleanup(&cid);
}

struct failure {
    const char *name;
    const char *aud; /* NULL: not a sealed client */
    int64_t exp;
    const char *raw; /* the client_id when aud is NULL */
    enum metrics_denied metric;
    const char *token_body;
};

static void
test_resolve_failures(void **state)
{
    (void)state;
    http_router_add(FA.router, HTTP_METHODS_GET, "/resolve", h_resolve, NULL, NULL);
    static const struct failure failures[] = {
        {"garbage", NULL, 0, "garbage", METRICS_DENIED_CLIENT_ID_INVALID,
         "{\"error\":\"invalid_client\",\"error_description\":\"invalid client_id\"}\n"},
        {"empty", NULL, 0, "", METRICS_DENIED_CLIENT_ID_INVALID,
         "{\"error\":\"invalid_client\",\"error_description\":\"invalid client_id\"}\n"},
        {"foreign", FIXTURE_OTHER_BASE, 0, NULL, METRICS_DENIED_CLIENT_AUDIENCE_MISMATCH,
         "{\"error\":\"invalid_client\",\"error_description\":\"client registered for a "
         "different audience\"}\n"},
        {"expired", FIXTURE_BASE, FIXTURE_NOW - 1, NULL, METRICS_DENIED_CLIENT_REGISTRATION_EXPIRED,
         "{\"error\":\"invalid_client\",\"error_description\":\"client registration "
         "expired\"}\n"},
    };
    for (size_t i = 0; i < sizeof(failures) / sizeof(failures[0]); i++) {
        const struct failure *f = &failures[i];
        struct buf cid;
        if (f->aud != NULL) {
            make_client(f->aud, f->exp, &cid);
        } else {
            buf_init(&cid, 64);
            assert_int_equal(buf_append_str(&cid, f->raw), 0);
        }
        for (int site = 0; site < 2; site++) {
            metrics_reset();
            callbacks = 0;
            answered_inside_start = false;
            struct harness_response r;
            resolve(buf_cstr(&cid), site ? "token" : "authorize", &r);
            assert_int_equal(r.status, site ? 401 : 400);
            if (site) {
                assert_string_equal(r.body, f->token_body);
            }
            assert_int_equal(callbacks, 1);
            assert_false(answered_inside_start);
            for (int m = 0; m < METRICS_DENIED_COUNT; m++) {
                assert_int_equal(metrics_get_denied((enum metrics_denied)m), m == (int)f->metric);
            }
            harness_response_free(&r);
        }
        buf_cleanup(&cid);
    }
    /* A blob sealed for another purpose is "invalid" (AEAD cannot tell). */
    struct grant_session s = {.client_id = "x", .aud = FIXTURE_BASE, .exp = FIXTURE_NOW + 60};
    struct buf sb;
    mint_session(FA.oauth.seal, &s, &sb);
    metrics_reset();
    struct harness_response r;
    resolve(buf_cstr(&sb), "authorize", &r);
    assert_string_equal(r.body, "{\"error\":\"invalid_client\",\"error_description\":\"unknown "
                                "client_id\"}\n");
    assert_int_equal(metrics_get_denied(METRICS_DENIED_CLIENT_ID_INVALID), 1);
    harness_response_free(&r);
    buf_cleanup(&sb);
}

/* The metadata document source behind the same call: a pinned document
 * resolves (no network), a URL outside CIMD_ALLOWED_HOSTS or against the
 * URL rules is refused with its reason at both sites, metered once as
 * client_metadata_invalid and never answered inside the start call; with
 * CIMD off (no cache) an https client_id is just unknown. */
static void
test_resolve_metadata_documents(void **state)
{
    (void)state;
    http_router_add(FA.router, HTTP_METHODS_GET, "/resolve", h_resolve, NULL, NULL);
    char dir[] = "/tmp/test-cimd-pinned-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/claude.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"client_id\":\"https://claude.ai/oauth/mcp-oauth-client-metadata\","
          "\"client_name\":\"Claude\",\"redirect_uris\":[\"https://claude.ai/api/mcp/"
          "auth_callback\"],\"grant_types\":[\"authorization_code\",\"refresh_token\","
          "\"urn:ietf:params:oauth:grant-type:jwt-bearer\"]}",
          f);
    fclose(f);
    static char *allowed[] = {"claude.ai"};
    FA.cfg.cimd_enabled = true;
    FA.cfg.cimd_pinned_dir = dir;
    FA.cfg.cimd_allowed_hosts = allowed;
    FA.cfg.cimd_allowed_host_count = 1;
    const char *why = NULL;
    FA.oauth.cimd = oauth_cimd_new(&FA.cfg, &why);
    assert_non_null(FA.oauth.cimd);
    assert_null(why);

    struct harness_response r;
    resolve("https://claude.ai/oauth/mcp-oauth-client-metadata", "token", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok https://claude.ai/oauth/mcp-oauth-client-metadata|Claude|1|"
                                "https://claude.ai/api/mcp/auth_callback|0");
    harness_response_free(&r);

    static const struct {
        const char *id;
        const char *description;
    } refused[] = {
        {"https://evil.example/c", "client_id URL host is not in CIMD_ALLOWED_HOSTS"},
        {"https://claude.ai/", "client_id URL must have a path"},
        {"https://claude.ai/a/../b", "client_id URL must not contain dot segments"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        for (int site = 0; site < 2; site++) {
            metrics_reset();
            callbacks = 0;
            answered_inside_start = false;
            resolve(refused[i].id, site ? "token" : "authorize", &r);
            assert_int_equal(r.status, site ? 401 : 400);
            char want[256];
            snprintf(want, sizeof(want),
                     "{\"error\":\"invalid_client\",\"error_description\":\"%s\"}\n",
                     refused[i].description);
            assert_string_equal(r.body, want);
            assert_int_equal(callbacks, 1);
            assert_false(answered_inside_start);
            assert_int_equal(metrics_get_denied(METRICS_DENIED_CLIENT_METADATA_INVALID), 1);
            assert_int_equal(metrics_get_cimd_fetch(METRICS_CIMD_FETCH_OK), 0);
            harness_response_free(&r);
        }
    }
    oauth_cimd_free(FA.oauth.cimd);
    FA.oauth.cimd = NULL;
    metrics_reset();
    resolve("https://claude.ai/oauth/mcp-oauth-client-metadata", "authorize", &r);
    assert_int_equal(r.status, 400);
    assert_int_equal(metrics_get_denied(METRICS_DENIED_CLIENT_ID_INVALID), 1);
    harness_response_free(&r);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void
test_cancel_means_no_callback(void **state)
{
    (void)state;
    http_router_add(FA.router, HTTP_METHODS_GET, "/cancel", h_cancel, NULL, NULL);
    callbacks = 0;
    struct harness_response r;
    flow_app_get(&FA, "/cancel", &r);
    assert_int_equal(r.status, 204);
    harness_pump(&FA.h, -1, NULL, 30);
    assert_int_equal(callbacks, 0);
    harness_response_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_shapes),
        cmocka_unit_test_setup_teardown(test_resolve_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_means_no_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_metadata_documents, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
