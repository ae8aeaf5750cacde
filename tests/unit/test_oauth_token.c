/* oauth/token: POST /token end to end inside one process -- the handler on
 * the HTTP harness, the real seal ring and the in-process replay store, the
 * clock pinned -- so the asynchronous steps (client lookup, claims, family
 * revocation, the rotation outcomes) are tested without sleeping and what
 * is minted can be opened and inspected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "oauth_flow_app.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "config.h"
#include "fixtures.h"
#include "grants.h"
#include "http/router.h"
#include "http_harness.h"
#include "log.h"
#include "metrics.h"
#include "oauth/oauth.h"
#include "revocation/revocation.h"
#include "revocation/set.h"
#include "oauth_mint.h"
#include "store/memory.h"
#include "store/store.h"
#include "wiring/app.h"
#include "worker.h"

#define BASE FIXTURE_BASE
#define RU "http://127.0.0.1:9/cb"
#define NOW FIXTURE_NOW

struct fx {
    struct flow_app fa; /* the OAuth units' one app fixture, plus POST /token */
    char *client;       /* sealed client_id of client "cid-1" */
    char *other;        /* sealed client_id of client "cid-2" */
};

static struct fx F;

static char *
seal_client(const char *id, int64_t exp)
{
    static const char *const uris[] = {RU};
    const struct grant_client g = {
        .id = id, .redirect_uris = uris, .redirect_uri_count = 1, .aud = BASE, .exp = exp};
    struct buf b;
    mint_client(F.fa.oauth.seal, &g, &b);
    return buf_take(&b);
}

static char *
seal_code(const char *tid, const char *fam, const char *cid)
{
    static const char *const grp[] = {"mcp-users", "dev"};
    const struct grant_code g = {
        .token_id = tid,
        .family_id = fam,
        .client_id = cid,
        .redirect_uri = RU,
        .code_challenge = FIXTURE_PKCE_CHALLENGE,
        .sub = "alice",
        .email = "alice@example.com",
        .name = "Alice",
        .groups = grp,
        .group_count = 2,
        .resource = BASE "/mcp",
        .aud = BASE,
        .exp = NOW + 60,
    };
    struct buf b;
    mint_code(F.fa.oauth.seal, &g, &b);
    return buf_take(&b);
}

static char *
seal_refresh(const char *tid, const char *fam, int64_t iat, int64_t fiat)
{
    const struct grant_refresh g = {
        .token_id = tid,
        .family_id = fam,
        .sub = "alice",
        .email = "",
        .client_id = "cid-1",
        .aud = BASE,
        .iat = iat,
        .family_iat = fiat,
        .exp = NOW + 3600,
    };
    struct buf b;
    mint_refresh(F.fa.oauth.seal, &g, &b);
    return buf_take(&b);
}

static void
start(bool with_store, unsigned grace_s)
{
    memset(&F, 0, sizeof(F));
    fixture_pin_clock(0);
    flow_app_init(&F.fa, with_store ? FLOW_STORE_MEMORY : FLOW_STORE_NONE);
    F.fa.cfg.refresh_race_grace_s = grace_s;
    http_router_add(F.fa.router, HTTP_METHODS_POST, "/token", oauth_token_handle, &F.fa.oauth,
                    NULL);
    F.client = seal_client("cid-1", 0);
    F.other = seal_client("cid-2", 0);
    metrics_reset();
    log_set_level(LOG_ERROR); /* the handlers' info lines are not under test */
    /* Every test starts with no revocation: the set is process-wide and a
     * replay in one test revokes its family for good (issue 14). */
    revocation_set_sweep(revocation_set_global(), INT64_MAX / 2);
}

static int
stop(void **state)
{
    (void)state;
    flow_app_cleanup(&F.fa);
    xfree(F.client);
    xfree(F.other);
    fixture_unpin_clock();
    return 0;
}

struct reply {
    int status;
    char head[4096];
    char body[40000];
};

/* POSTs body (form-encoded) with extra header lines, waits for the answer. */
static void
post_with(const char *body, const char *extra_headers, struct reply *out)
{
    int fd = harness_connect(&F.fa.h);
    char head[1024];
    snprintf(head, sizeof(head),
             "POST /token HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded"
             "\r\n%sContent-Length: %zu\r\n\r\n",
             extra_headers, strlen(body));
    harness_send_str(&F.fa.h, fd, head);
    harness_send_str(&F.fa.h, fd, body);
    struct buf raw;
    buf_init(&raw, 1 << 20);
    (void)harness_wait_responses(&F.fa.h, fd, &raw, 1, 5000);
    struct harness_response r;
    assert_true(harness_parse(raw.ptr, raw.len, false, false, &r) > 0);
    out->status = r.status;
    snprintf(out->head, sizeof(out->head), "%s", r.head);
    snprintf(out->body, sizeof(out->body), "%.*s", (int)r.body_len, r.body);
    harness_response_free(&r);
    buf_cleanup(&raw);
    close(fd);
}

static void
post(const char *body, struct reply *out)
{
    post_with(body, "", out);
}

static void
code_grant(const char *code, const char *client_id, const char *verifier, struct reply *out)
{
    char body[40000];
    snprintf(body, sizeof(body),
             "grant_type=authorization_code&code=%s&redirect_uri=http%%3A%%2F%%2F127.0.0.1%%3A9"
             "%%2Fcb&client_id=%s&code_verifier=%s",
             code, client_id, verifier);
    post(body, out);
}

static void
refresh_grant(const char *refresh, const char *client_id, struct reply *out)
{
    char body[40000];
    snprintf(body, sizeof(body), "grant_type=refresh_token&refresh_token=%s&client_id=%s", refresh,
             client_id);
    post(body, out);
}

/* The value of a JSON string member in a flat body (tokens are base64url). */
static void
json_str(const char *body, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    const char *p = strstr(body, pat);
    assert_non_null(p);
    p += strlen(pat);
    const char *e = strchr(p, '"');
    assert_non_null(e);
    assert_true((size_t)(e - p) < cap);
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
}

static void
assert_error(const struct reply *r, int status, const char *body)
{
    assert_int_equal(r->status, status);
    assert_string_equal(r->body, body);
    assert_non_null(strstr(r->head, "Access-Control-Allow-Origin: *"));
    assert_null(strstr(r->head, "Cache-Control"));
}

/* ---- authorization_code ------------------------------------------------- */

static void
test_code_success_mints_the_family(void **state)
{
    (void)state;
    start(true, 2);
    char *code = seal_code("tid-1", "fam-1", "cid-1");
    struct reply r;
    code_grant(code, F.client, FIXTURE_PKCE_VERIFIER, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Cache-Control: no-store"));
    assert_non_null(strstr(r.head, "Pragma: no-cache"));
    assert_non_null(strstr(r.head, "Access-Control-Allow-Origin: *"));
    assert_non_null(strstr(r.body, "\",\"expires_in\":3600,\"refresh_token\":\""));
    assert_int_equal(metrics_get_tokens_issued(METRICS_GRANT_AUTHORIZATION_CODE), 1);

    char tok[20000];
    json_str(r.body, "refresh_token", tok, sizeof(tok));
    struct grant_refresh rg;
    assert_int_equal(
        grants_open_refresh(F.fa.oauth.seal, slice_from_cstr(tok), BASE, NOW, &rg, NULL),
        GRANTS_OK);
    assert_string_equal(rg.family_id, "fam-1");
    assert_string_not_equal(rg.token_id, "tid-1");
    assert_string_equal(rg.client_id, "cid-1");
    assert_string_equal(rg.resource, BASE "/mcp");
    assert_int_equal(rg.iat, NOW);
    assert_int_equal(rg.family_iat, NOW);
    assert_int_equal(rg.exp, NOW + 7 * 24 * 3600);
    assert_int_equal(rg.group_count, 2);
    grants_cleanup_refresh(&rg);

    json_str(r.body, "access_token", tok, sizeof(tok));
    struct grant_access ag;
    assert_int_equal(
        grants_open_access(F.fa.oauth.seal, slice_from_cstr(tok), BASE, NOW, &ag, NULL), GRANTS_OK);
    assert_string_equal(ag.sub, "alice");
    assert_string_equal(ag.family_id, "fam-1"); /* the code's family (issue 14) */
    assert_string_equal(ag.email, "alice@example.com");
    assert_string_equal(ag.client_id, "cid-1");
    assert_string_equal(ag.resource, BASE "/mcp");
    assert_int_equal(ag.exp, NOW + 3600);
    grants_cleanup_access(&ag);
    xfree(code);
}

/* The recorded authentication (docs/step-up.md): the code's acr and
 * auth_time reach the access and the refresh token, a retry gets the same
 * bytes with them, and a refresh copies them unchanged -- auth_time keeps
 * the login's time, never the refresh's, so max_age keeps ageing. */
static void
test_authentication_carried_never_upgraded(void **state)
{
    (void)state;
    start(true, 2);
    const struct grant_code g = {
        .token_id = "tid-a",
        .family_id = "fam-a",
        .client_id = "cid-1",
        .redirect_uri = RU,
        .code_challenge = FIXTURE_PKCE_CHALLENGE,
        .sub = "alice",
        .email = "alice@example.com",
        .name = "Alice",
        .aud = BASE,
        .exp = NOW + 60,
        .acr = "urn:mcp-auth-proxy:test:mfa",
        .auth_time = NOW - 40,
    };
    struct buf b;
    mint_code(F.fa.oauth.seal, &g, &b);
    char *code = buf_take(&b);
    struct reply r, again;
    code_grant(code, F.client, FIXTURE_PKCE_VERIFIER, &r);
    assert_int_equal(r.status, 200);
    code_grant(code, F.client, FIXTURE_PKCE_VERIFIER, &again);
    assert_string_equal(again.body, r.body);

    char tok[20000];
    json_str(r.body, "access_token", tok, sizeof(tok));
    struct grant_access ag;
    assert_int_equal(
        grants_open_access(F.fa.oauth.seal, slice_from_cstr(tok), BASE, NOW, &ag, NULL), GRANTS_OK);
    assert_string_equal(ag.acr, "urn:mcp-auth-proxy:test:mfa");
    assert_int_equal(ag.auth_time, NOW - 40);
    grants_cleanup_access(&ag);

    json_str(r.body, "refresh_token", tok, sizeof(tok));
    fixture_pin_clock(500);
    refresh_grant(tok, F.client, &r);
    assert_int_equal(r.status, 200);
    json_str(r.body, "access_token", tok, sizeof(tok));
    assert_int_equal(
        grants_open_access(F.fa.oauth.seal, slice_from_cstr(tok), BASE, NOW + 500, &ag, NULL),
        GRANTS_OK);
    assert_string_equal(ag.acr, "urn:mcp-auth-proxy:test:mfa");
    assert_int_equal(ag.auth_time, NOW - 40);
    assert_int_equal(ag.iat, NOW + 500);
    assert_string_equal(ag.family_id, "fam-a"); /* a refresh keeps the family */
    grants_cleanup_access(&ag);
    json_str(r.body, "refresh_token", tok, sizeof(tok));
    struct grant_refresh rg;
    assert_int_equal(
        grants_open_refresh(F.fa.oauth.seal, slice_from_cstr(tok), BASE, NOW + 500, &rg, NULL),
        GRANTS_OK);
    assert_string_equal(rg.acr, "urn:mcp-auth-proxy:test:mfa");
    assert_int_equal(rg.auth_time, NOW - 40);
    grants_cleanup_refresh(&rg);
    xfree(code);
}

/* A second redemption with the same verifier is a retry (a lost answer, a
 * 503 after the claim ran): the same bytes, and the family lives
 * (docs/internals/rotation.md). */
static void
test_code_retry_gets_the_same_tokens(void **state)
{
    (void)state;
    start(true, 2);
    char *code = seal_code("tid-1", "fam-1", "cid-1");
    struct reply r, again;
    code_grant(code, F.client, FIXTURE_PKCE_VERIFIER, &r);
    assert_int_equal(r.status, 200);
    fixture_pin_clock(30); /* later, inside the code's 60 s */
    code_grant(code, F.client, FIXTURE_PKCE_VERIFIER, &again);
    assert_int_equal(again.status, 200);
    assert_string_equal(again.body, r.body);
    assert_int_equal(metrics_get_replay(METRICS_REPLAY_CODE), 0);
    assert_int_equal(metrics_get_tokens_issued(METRICS_GRANT_AUTHORIZATION_CODE), 1);
    assert_int_equal(metrics_get_token_retries(METRICS_GRANT_AUTHORIZATION_CODE), 1);
    char refresh[20000];
    json_str(r.body, "refresh_token", refresh, sizeof(refresh));
    refresh_grant(refresh, F.client, &r);
    assert_int_equal(r.status, 200);
    /* Another code of the same login is other tokens. */
    char *other = seal_code("tid-2", "fam-1", "cid-1");
    code_grant(other, F.client, FIXTURE_PKCE_VERIFIER, &r);
    assert_int_equal(r.status, 200);
    assert_string_not_equal(again.body, r.body);
    xfree(other);
    xfree(code);
}

/* Without a verifier of the client's own (server-side PKCE) nothing tells
 * a retry from a thief: the second redemption revokes, as before. */
static void
test_code_replay_revokes_family(void **state)
{
    (void)state;
    start(true, 2);
    static const char *const grp[] = {"mcp-users"};
    const struct grant_code g = {
        .token_id = "tid-s",
        .family_id = "fam-s",
        .client_id = "cid-1",
        .redirect_uri = RU,
        .code_challenge = FIXTURE_PKCE_CHALLENGE,
        .server_pkce = true,
        .server_verifier = FIXTURE_PKCE_VERIFIER,
        .sub = "alice",
        .email = "alice@example.com",
        .name = "Alice",
        .groups = grp,
        .group_count = 1,
        .aud = BASE,
        .exp = NOW + 60,
    };
    struct buf b;
    mint_code(F.fa.oauth.seal, &g, &b);
    char *code = buf_take(&b);
    struct reply r;
    code_grant(code, F.client, "", &r);
    assert_int_equal(r.status, 200);
    char refresh[20000];
    json_str(r.body, "refresh_token", refresh, sizeof(refresh));

    code_grant(code, F.client, "", &r);
    assert_error(&r, 400,
                 "{\"error\":\"invalid_grant\",\"error_description\":\"authorization code already "
                 "used\",\"error_code\":\"code_replay\"}\n");
    assert_int_equal(metrics_get_replay(METRICS_REPLAY_CODE), 1);

    /* Issue 14: the family is in the revoked set, so the access token the
     * first redemption got is refused on the MCP mount (proxy/bearer.c),
     * and so is the refresh token, before any store round trip. */
    assert_true(revocation_family_revoked(slice_from_cstr("fam-s")));
    static const char family_revoked[] =
        "{\"error\":\"invalid_grant\",\"error_description\":\"refresh token revoked\","
        "\"error_code\":\"refresh_family_revoked\"}\n";
    refresh_grant(refresh, F.client, &r);
    assert_error(&r, 400, family_revoked);
    /* The store's marker was written as well: a replica that has not heard
     * of the revocation (the set emptied here) refuses the family the
     * same way. */
    revocation_set_sweep(revocation_set_global(), INT64_MAX / 2);
    refresh_grant(refresh, F.client, &r);
    assert_error(&r, 400, family_revoked);
    assert_int_equal(metrics_get_denied(METRICS_DENIED_REFRESH_FAMILY_REVOKED), 2);
    xfree(code);
}

static void
test_failed_checks_do_not_burn_the_code(void **state)
{
    (void)state;
    start(true, 2);
    char *code = seal_code("tid-1", "fam-1", "cid-1");
    struct reply r;
    code_grant(code, F.client, "wBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", &r);
    assert_error(&r, 400,
                 "{\"error\":\"invalid_grant\",\"error_description\":\"PKCE verification "
                 "failed\"}\n");
    code_grant(code, F.other, FIXTURE_PKCE_VERIFIER, &r);
    assert_error(&r, 400,
                 "{\"error\":\"invalid_grant\",\"error_description\":\"client_id mismatch\"}\n");
    code_grant(code, "not-a-client", FIXTURE_PKCE_VERIFIER, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "\"invalid_client\""));
    code_grant(code, F.client, FIXTURE_PKCE_VERIFIER, &r);
    assert_int_equal(r.status, 200);
    xfree(code);
}

static void
test_without_store_codes_are_reusable(void **state)
{
    (void)state;
    start(false, 2);
    char *code = seal_code("tid-1", "fam-1", "cid-1");
    struct reply r;
    code_grant(code, F.client, FIXTURE_PKCE_VERIFIER, &r);
    assert_int_equal(r.status, 200);
    code_grant(code, F.client, FIXTURE_PKCE_VERIFIER, &r);
    assert_int_equal(r.status, 200);
    xfree(code);
}

static void
test_expired_client_is_401(void **state)
{
    (void)state;
    start(true, 2);
    char *expired = seal_client("cid-1", NOW - 1);
    char *code = seal_code("tid-1", "fam-1", "cid-1");
    struct reply r;
    code_grant(code, expired, FIXTURE_PKCE_VERIFIER, &r);
    assert_error(&r, 401,
                 "{\"error\":\"invalid_client\",\"error_description\":\"client registration "
                 "expired\"}\n");
    assert_int_equal(metrics_get_denied(METRICS_DENIED_CLIENT_REGISTRATION_EXPIRED), 1);
    xfree(expired);
    xfree(code);
}

static void
test_authorization_header_is_refused(void **state)
{
    (void)state;
    start(true, 2);
    struct reply r;
    post_with("grant_type=refresh_token", "Authorization: Basic YTpi\r\n", &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.head, "WWW-Authenticate: Basic realm=\"token\", "
                                   "error=\"invalid_client\", error_description=\"this token "
                                   "endpoint does not authenticate clients"));
}

/* ---- refresh_token ------------------------------------------------------ */

static void
test_rotation_keeps_family_and_fiat(void **state)
{
    (void)state;
    start(true, 2);
    /* A legacy token (fiat 0): the family issue time becomes its iat. */
    char *old = seal_refresh("r-1", "fam-9", NOW - 100, 0);
    struct reply r;
    refresh_grant(old, F.client, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(metrics_get_tokens_issued(METRICS_GRANT_REFRESH_TOKEN), 1);
    char tok[20000];
    json_str(r.body, "refresh_token", tok, sizeof(tok));
    struct grant_refresh g;
    assert_int_equal(
        grants_open_refresh(F.fa.oauth.seal, slice_from_cstr(tok), BASE, NOW, &g, NULL), GRANTS_OK);
    assert_string_equal(g.family_id, "fam-9");
    assert_string_not_equal(g.token_id, "r-1");
    assert_int_equal(g.iat, NOW);
    assert_int_equal(g.family_iat, NOW - 100);
    grants_cleanup_refresh(&g);
    xfree(old);
}

static void
test_reuse_after_grace_revokes(void **state)
{
    (void)state;
    start(true, 0);
    char *old = seal_refresh("r-1", "fam-1", NOW - 10, NOW - 10);
    struct reply r;
    refresh_grant(old, F.client, &r);
    assert_int_equal(r.status, 200);
    char sibling[20000];
    json_str(r.body, "refresh_token", sibling, sizeof(sibling));
    refresh_grant(old, F.client, &r);
    assert_error(&r, 400,
                 "{\"error\":\"invalid_grant\",\"error_description\":\"refresh token reuse "
                 "detected  family revoked\",\"error_code\":\"refresh_reuse_detected\"}\n");
    assert_int_equal(metrics_get_replay(METRICS_REPLAY_REFRESH), 1);
    /* Issue 14: the reuse revoked the family's access tokens too. */
    assert_true(revocation_family_revoked(slice_from_cstr("fam-1")));
    refresh_grant(sibling, F.client, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "refresh_family_revoked"));
    revocation_set_sweep(revocation_set_global(), INT64_MAX / 2);
    refresh_grant(sibling, F.client, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "refresh_family_revoked"));
    xfree(old);
}

static void
test_racing_inside_grace(void **state)
{
    (void)state;
    start(true, 5);
    char *old = seal_refresh("r-1", "fam-1", NOW - 10, NOW - 10);
    struct reply r;
    refresh_grant(old, F.client, &r);
    assert_int_equal(r.status, 200);
    char fresh[20000];
    json_str(r.body, "refresh_token", fresh, sizeof(fresh));
    /* Same pinned millisecond: inside the 5 s grace. */
    refresh_grant(old, F.client, &r);
    assert_int_equal(r.status, 429);
    assert_non_null(strstr(r.head, "Retry-After: 2\r\n"));
    assert_non_null(strstr(r.body, "\"error_code\":\"refresh_concurrent_submit\""));
    assert_int_equal(metrics_get_denied(METRICS_DENIED_REFRESH_CONCURRENT_SUBMIT), 1);
    /* The family was left alone. */
    refresh_grant(fresh, F.client, &r);
    assert_int_equal(r.status, 200);
    xfree(old);
}

/* REFRESH_RETRY_GRACE: the same token again, 10 s later, gets the same
 * bytes and the family lives; past the grace it is reuse. */
static void
test_retry_inside_retry_grace(void **state)
{
    (void)state;
    start(true, 2);
    F.fa.cfg.refresh_retry_grace_ms = 60000;
    char *old = seal_refresh("r-1", "fam-1", NOW - 10, NOW - 10);
    struct reply r, again;
    refresh_grant(old, F.client, &r);
    assert_int_equal(r.status, 200);
    fixture_pin_clock(1); /* inside the 2 s racing window too: retry wins */
    refresh_grant(old, F.client, &again);
    assert_int_equal(again.status, 200);
    assert_string_equal(again.body, r.body);
    fixture_pin_clock(10);
    refresh_grant(old, F.client, &again);
    assert_int_equal(again.status, 200);
    assert_string_equal(again.body, r.body);
    assert_int_equal(metrics_get_replay(METRICS_REPLAY_REFRESH), 0);
    assert_int_equal(metrics_get_denied(METRICS_DENIED_REFRESH_CONCURRENT_SUBMIT), 0);
    assert_int_equal(metrics_get_tokens_issued(METRICS_GRANT_REFRESH_TOKEN), 1);
    assert_int_equal(metrics_get_token_retries(METRICS_GRANT_REFRESH_TOKEN), 2);
    /* The successor works, and its own successor differs. */
    char next[20000];
    json_str(r.body, "refresh_token", next, sizeof(next));
    refresh_grant(next, F.client, &again);
    assert_int_equal(again.status, 200);
    assert_string_not_equal(again.body, r.body);
    /* Past the grace the first token is reuse: the family dies. */
    fixture_pin_clock(61);
    refresh_grant(old, F.client, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "refresh_reuse_detected"));
    assert_int_equal(metrics_get_replay(METRICS_REPLAY_REFRESH), 1);
    refresh_grant(next, F.client, &r);
    assert_int_equal(r.status, 400);
    /* Refused by the revoked set first (issue 14), by the store's marker
     * on a replica without it: the same answer. */
    assert_non_null(strstr(r.body, "refresh_family_revoked"));
    revocation_set_sweep(revocation_set_global(), INT64_MAX / 2);
    refresh_grant(next, F.client, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "refresh_family_revoked"));
    xfree(old);
}

static void
test_revoke_before_is_not_metered(void **state)
{
    (void)state;
    start(true, 2);
    F.fa.cfg.revoke_before_set = true;
    F.fa.cfg.revoke_before_s = NOW - 50;
    /* Rotated yesterday (iat recent) but the family predates the cut-off. */
    char *old = seal_refresh("r-1", "fam-1", NOW - 10, NOW - 100);
    char *young = seal_refresh("r-2", "fam-2", NOW - 10, NOW - 10);
    struct reply r;
    refresh_grant(old, F.client, &r);
    assert_error(&r, 400,
                 "{\"error\":\"invalid_grant\",\"error_description\":\"refresh token "
                 "revoked\"}\n");
    for (int i = 0; i < METRICS_DENIED_COUNT; i++) {
        assert_int_equal(metrics_get_denied((enum metrics_denied)i), 0);
    }
    refresh_grant(young, F.client, &r);
    assert_int_equal(r.status, 200);
    xfree(old);
    xfree(young);
}

static void
test_refresh_for_another_client(void **state)
{
    (void)state;
    start(true, 2);
    char *old = seal_refresh("r-1", "fam-1", NOW - 10, NOW - 10);
    struct reply r;
    refresh_grant(old, F.other, &r);
    assert_error(&r, 400,
                 "{\"error\":\"invalid_grant\",\"error_description\":\"client_id mismatch\"}\n");
    /* Nothing was claimed: the right client still rotates it. */
    refresh_grant(old, F.client, &r);
    assert_int_equal(r.status, 200);
    xfree(old);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_code_success_mints_the_family, stop),
        cmocka_unit_test_teardown(test_code_retry_gets_the_same_tokens, stop),
        cmocka_unit_test_teardown(test_authentication_carried_never_upgraded, stop),
        cmocka_unit_test_teardown(test_code_replay_revokes_family, stop),
        cmocka_unit_test_teardown(test_failed_checks_do_not_burn_the_code, stop),
        cmocka_unit_test_teardown(test_without_store_codes_are_reusable, stop),
        cmocka_unit_test_teardown(test_expired_client_is_401, stop),
        cmocka_unit_test_teardown(test_authorization_header_is_refused, stop),
        cmocka_unit_test_teardown(test_rotation_keeps_family_and_fiat, stop),
        cmocka_unit_test_teardown(test_reuse_after_grace_revokes, stop),
        cmocka_unit_test_teardown(test_racing_inside_grace, stop),
        cmocka_unit_test_teardown(test_retry_inside_retry_grace, stop),
        cmocka_unit_test_teardown(test_revoke_before_is_not_metered, stop),
        cmocka_unit_test_teardown(test_refresh_for_another_client, stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
