/* A struct oauth for driving the authorization-flow handlers (GET /authorize,
 * POST /consent, the client lookup) through the real connection layer of
 * the HTTP harness: SPEC.md 9's fixtures (secret, base URL, IdP endpoints,
 * OIDC client), an optional replay store on the harness worker's loop, and
 * a helper that sends one request and parses the response.
 *
 * Header-only (static inline) so test files include it without a build
 * change; each test file uses the parts it needs. */
#pragma once

#include <assert.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "config.h"
#include "fixtures.h"
#include "http/router.h"
#include "http_harness.h"
#include "metrics.h"
#include "oauth/oauth.h"
#include "oauth/reply.h"
#include "oidc/provider.h"
#include "seal.h"
#include "store/memory.h"
#include "store/redis.h"
#include "store/store.h"
#include "wiring/app.h"
#include "worker.h"

#define FLOW_IDP_ISSUER "https://idp.example.com"
#define FLOW_IDP_AUTHORIZE "https://idp.example.com/authorize"
#define FLOW_OIDC_CLIENT "test-oidc-client"

enum flow_store {
    FLOW_STORE_NONE = 0, /* w->store NULL: no single-use claims */
    FLOW_STORE_MEMORY,   /* the in-process store */
    FLOW_STORE_DOWN,     /* a Redis back end nobody listens for: every op UNAVAILABLE */
};

struct flow_app {
    struct config cfg;
    struct oauth oauth;
    struct http_router *router;
    struct harness h;
    struct store_backend *backend;
};

/* Defaults as SPEC.md 1.2 has them; tests flip cfg fields after init. */
static inline void
flow_app_init(struct flow_app *fa, enum flow_store store)
{
    memset(fa, 0, sizeof(*fa));
    fa->cfg.proxy_base_url = FIXTURE_BASE;
    fa->cfg.mount = "/mcp";
    fa->cfg.canonical_resource = FIXTURE_BASE "/mcp";
    fa->cfg.idp_redirect_uri = FIXTURE_BASE "/callback";
    fa->cfg.oidc_client_id = FLOW_OIDC_CLIENT;
    fa->cfg.oidc_issuer_url = FLOW_IDP_ISSUER;
    fa->cfg.mcp_resource_name = "";
    fa->cfg.pkce_required = true;
    fa->cfg.render_consent_page = true;
    fa->cfg.compat_allow_stateless = false;
    fa->oauth.cfg = &fa->cfg;
    fa->oauth.seal = seal_ring_new(FIXTURE_SECRET, strlen(FIXTURE_SECRET), NULL, NULL, 0);
    assert_non_null(fa->oauth.seal);
    static const char doc[] =
        "{\"issuer\":\"" FLOW_IDP_ISSUER "\",\"authorization_endpoint\":\"" FLOW_IDP_AUTHORIZE
        "\",\"token_endpoint\":\"https://idp.example.com/token\","
        "\"jwks_uri\":\"https://idp.example.com/jwks\"}";
    struct buf err;
    buf_init(&err, 1024);
    assert_int_equal(oidc_provider_parse(FLOW_IDP_ISSUER, slice_make(doc, sizeof(doc) - 1),
                                         &fa->oauth.oidc, &err),
                     0);

    fa->router = http_router_new();
    const struct http_route_opts consent = {.too_large = oauth_reply_too_large};
    http_router_add(fa->router, HTTP_METHODS_GET, "/authorize", oauth_authorize_handle, &fa->oauth,
                    NULL);
    http_router_add(fa->router, HTTP_METHODS_POST, "/consent", oauth_consent_handle, &fa->oauth,
                    &consent);
    harness_init(&fa->h, fa->router, NULL);
    switch (store) {
    case FLOW_STORE_MEMORY:
        fa->backend = store_memory_backend_new("");
        break;
    case FLOW_STORE_DOWN:
        /* Port 1 on loopback: connection refused, so the store is never
         * connected and fails every command at once. */
        fa->backend = store_redis_backend_new("redis://127.0.0.1:1/0", "", NULL, &err);
        assert_non_null(fa->backend);
        break;
    default:
        break;
    }
    buf_cleanup(&err);
    if (fa->backend != NULL) {
        store_attach_worker(fa->h.w, fa->backend);
    }
    metrics_reset();
}

static inline void
flow_app_cleanup(struct flow_app *fa)
{
    worker_slots_close(fa->h.w);
    harness_cleanup(&fa->h);
    store_backend_free(fa->backend);
    http_router_free(fa->router);
    oidc_provider_free(fa->oauth.oidc);
    seal_ring_free(fa->oauth.seal);
}

/* Sends raw (a whole request) on a new connection and parses the one
 * response into *out (free with harness_response_free). head: the request
 * is a HEAD. */
static inline void
flow_app_send(struct flow_app *fa, const char *raw, bool head, struct harness_response *out)
{
    int fd = harness_connect(&fa->h);
    harness_send(&fa->h, fd, raw, strlen(raw));
    struct buf in;
    buf_init(&in, 4 * 1024 * 1024);
    /* Responses to HEAD carry no body; waiting for "one complete response"
     * would not see it, so pump until the head is in. */
    if (head) {
        for (int i = 0; i < 100 && strstr(buf_cstr(&in), "\r\n\r\n") == NULL; i++) {
            harness_pump(&fa->h, fd, &in, 20);
        }
    } else {
        harness_wait_responses(&fa->h, fd, &in, 1, 5000);
    }
    memset(out, 0, sizeof(*out));
    size_t used = harness_parse(in.ptr, in.len, false, head, out);
    if (used == 0) {
        fail_msg("no complete response to: %.200s\n-- got %zu bytes: %.300s", raw, in.len,
                 buf_cstr(&in));
    }
    close(fd);
    buf_cleanup(&in);
}

/* GET <target> as HTTP/1.1 with Connection: close. */
static inline void
flow_app_get(struct flow_app *fa, const char *target, struct harness_response *out)
{
    struct buf raw;
    buf_init(&raw, 1024 * 1024);
    assert_int_equal(
        buf_appendf(&raw, "GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", target), 0);
    flow_app_send(fa, buf_cstr(&raw), false, out);
    buf_cleanup(&raw);
}

/* POST /consent with body as a form; extra_headers ("Name: v\r\n"...) may
 * be "" and replaces the form Content-Type when it names one. */
static inline void
flow_app_post(struct flow_app *fa, const char *target, const char *extra_headers, const char *body,
              struct harness_response *out)
{
    struct buf raw;
    buf_init(&raw, 4 * 1024 * 1024);
    bool has_ct = strstr(extra_headers, "Content-Type:") != NULL;
    assert_int_equal(
        buf_appendf(&raw,
                    "POST %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n%s%s"
                    "Content-Length: %zu\r\n\r\n%s",
                    target, has_ct ? "" : "Content-Type: application/x-www-form-urlencoded\r\n",
                    extra_headers, strlen(body), body),
        0);
    flow_app_send(fa, buf_cstr(&raw), false, out);
    buf_cleanup(&raw);
}

/* The first value of header name in r->head, whole (harness_header() cuts
 * at 512 bytes; a Location carrying a sealed session is longer). Fails the
 * test when absent or longer than cap. */
static inline void
flow_header(const struct harness_response *r, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    for (const char *line = strstr(r->head, "\r\n"); line != NULL;
         line = strstr(line + 2, "\r\n")) {
        const char *p = line + 2;
        if (strncasecmp(p, name, nlen) != 0 || p[nlen] != ':') {
            continue;
        }
        p += nlen + 1;
        while (*p == ' ') {
            p++;
        }
        const char *e = strstr(p, "\r\n");
        assert_non_null(e);
        assert_true((size_t)(e - p) < cap);
        memcpy(out, p, (size_t)(e - p));
        out[e - p] = '\0';
        return;
    }
    fail_msg("no %s header in %.300s", name, r->head);
}
