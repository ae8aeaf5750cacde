/* The discovery documents (SPEC.md 3.1) built from a loaded configuration,
 * field by field and byte for byte, and the discovery routes of wiring/routes.c
 * (3.0.2) over the HTTP layer: GET/HEAD, 405 with Allow, CORS preflights
 * (SPEC preface fix 10), the JSON 404 carve-outs and a custom mount. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "config.h"
#include "fixtures.h"
#include "http/router.h"
#include "http_harness.h"
#include "oauth/oauth.h"
#include "wiring/app.h"
#include "wiring/routes.h"

/* ---- a configuration from a fake environment ---- */

struct env_pair {
    const char *name;
    const char *value;
};

static struct env_pair env[16];
static size_t env_n;

static const char *
fake_getenv(const char *name)
{
    for (size_t i = 0; i < env_n; i++) {
        if (strcmp(env[i].name, name) == 0) {
            return env[i].value;
        }
    }
    return NULL;
}

static void
env_set(const char *name, const char *value)
{
    for (size_t i = 0; i < env_n; i++) {
        if (strcmp(env[i].name, name) == 0) {
            env[i].value = value;
            return;
        }
    }
    assert_true(env_n < sizeof(env) / sizeof(env[0]));
    env[env_n++] = (struct env_pair){name, value};
}

/* MCP_SCOPES_SUPPORTED for the next load_config; NULL = unset. */
static const char *scopes_env;

/* base and upstream as an operator would write them; name NULL = unset. */
static void
load_config(struct config *c, const char *base, const char *upstream, const char *name)
{
    env_n = 0;
    env_set("OIDC_ISSUER_URL", "https://idp.example.com");
    env_set("OIDC_CLIENT_ID", "proxy");
    env_set("OIDC_CLIENT_SECRET", "s3cret");
    env_set("PROXY_BASE_URL", base);
    env_set("UPSTREAM_MCP_URL", upstream);
    env_set("TOKEN_SIGNING_SECRET", FIXTURE_SECRET);
    env_set("PROD_MODE", "false");
    env_set("REDIS_REQUIRED", "false");
    if (name != NULL) {
        env_set("MCP_RESOURCE_NAME", name);
    }
    if (scopes_env != NULL) {
        env_set("MCP_SCOPES_SUPPORTED", scopes_env);
    }
    bool ok = config_load(fake_getenv, c, NULL, NULL);
    assert_true(ok);
}

static json_t *
parse_doc(struct slice doc)
{
    assert_true(doc.len > 1);
    assert_int_equal(doc.ptr[doc.len - 1], '\n');
    json_error_t e;
    json_t *j = json_loadb(doc.ptr, doc.len, JSON_REJECT_DUPLICATES, &e);
    assert_non_null(j);
    assert_true(json_is_object(j));
    return j;
}

static void
assert_str_member(const json_t *j, const char *key, const char *want)
{
    const json_t *v = json_object_get(j, key);
    assert_non_null(v);
    assert_true(json_is_string(v));
    assert_string_equal(json_string_value(v), want);
}

/* The array member equals the given strings, in order. */
static void
assert_str_array(const json_t *j, const char *key, size_t n, const char *const *want)
{
    const json_t *v = json_object_get(j, key);
    assert_non_null(v);
    assert_true(json_is_array(v));
    assert_int_equal(json_array_size(v), n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(json_string_value(json_array_get(v, i)), want[i]);
    }
}

/* Keys in strictly increasing byte order, as Go's encoder wrote a map. */
static void
assert_keys_sorted(const char *text)
{
    json_error_t e;
    /* JSON_PRESERVE_ORDER is the default since jansson 2.8: iteration is
     * insertion (= text) order. */
    json_t *j = json_loads(text, 0, &e);
    assert_non_null(j);
    const char *prev = "";
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        (void)v;
        assert_true(strcmp(prev, key) < 0);
        prev = key;
    }
    json_decref(j);
}

static void
test_as_metadata_fields(void **state)
{
    (void)state;
    struct config c;
    load_config(&c, FIXTURE_BASE, "http://upstream.internal:8000/mcp", NULL);
    struct oauth_discovery *d = oauth_discovery_new(&c);
    struct slice doc = oauth_discovery_document(d, OAUTH_DISCOVERY_AS_METADATA);
    json_t *j = parse_doc(doc);
    assert_int_equal(json_object_size(j), 16);
    assert_true(json_is_true(json_object_get(j, "client_id_metadata_document_supported")));
    assert_str_member(j, "issuer", FIXTURE_BASE);
    /* The one source of every redirect's iss (RFC 9207). */
    assert_str_member(j, "issuer", oauth_discovery_issuer(&c));
    assert_str_member(j, "authorization_endpoint", FIXTURE_BASE "/authorize");
    assert_str_member(j, "token_endpoint", FIXTURE_BASE "/token");
    assert_str_member(j, "registration_endpoint", FIXTURE_BASE "/register");
    /* RFC 7009 (issue 14): authenticated as /token is, so the same methods. */
    assert_str_member(j, "revocation_endpoint", FIXTURE_BASE "/revoke");
    assert_true(json_is_true(json_object_get(j, "authorization_response_iss_parameter_supported")));
    static const char *const s256[] = {"S256"};
    assert_str_array(j, "code_challenge_methods_supported", 1, s256);
    static const char *const grants[] = {"authorization_code", "refresh_token"};
    assert_str_array(j, "grant_types_supported", 2, grants);
    static const char *const query[] = {"query"};
    assert_str_array(j, "response_modes_supported", 1, query);
    static const char *const code[] = {"code"};
    assert_str_array(j, "response_types_supported", 1, code);
    assert_str_array(j, "scopes_supported", 0, NULL);
    /* "none" first; private_key_jwt for CIMD clients (on by default). */
    static const char *const methods[] = {"none", "private_key_jwt"};
    assert_str_array(j, "token_endpoint_auth_methods_supported", 2, methods);
    static const char *const algs[] = {"RS256", "PS256", "ES256"};
    assert_str_array(j, "token_endpoint_auth_signing_alg_values_supported", 3, algs);
    assert_str_array(j, "revocation_endpoint_auth_methods_supported", 2, methods);
    assert_str_array(j, "revocation_endpoint_auth_signing_alg_values_supported", 3, algs);
    /* Nothing the proxy does not offer. */
    assert_null(json_object_get(j, "jwks_uri"));
    assert_null(json_object_get(j, "introspection_endpoint"));
    assert_null(json_object_get(j, "userinfo_endpoint"));
    json_decref(j);
    /* Byte for byte: compact, sorted keys, one trailing newline. */
    assert_string_equal(
        doc.ptr, "{\"authorization_endpoint\":\"https://auth.example.com/authorize\","
                 "\"authorization_response_iss_parameter_supported\":true,"
                 "\"client_id_metadata_document_supported\":true,"
                 "\"code_challenge_methods_supported\":[\"S256\"],"
                 "\"grant_types_supported\":[\"authorization_code\",\"refresh_token\"],"
                 "\"issuer\":\"https://auth.example.com\","
                 "\"registration_endpoint\":\"https://auth.example.com/register\","
                 "\"response_modes_supported\":[\"query\"],\"response_types_supported\":[\"code\"],"
                 "\"revocation_endpoint\":\"https://auth.example.com/revoke\","
                 "\"revocation_endpoint_auth_methods_supported\":[\"none\",\"private_key_jwt\"],"
                 "\"revocation_endpoint_auth_signing_alg_values_supported\":"
                 "[\"RS256\",\"PS256\",\"ES256\"],"
                 "\"scopes_supported\":[],\"token_endpoint\":\"https://auth.example.com/token\","
                 "\"token_endpoint_auth_methods_supported\":[\"none\",\"private_key_jwt\"],"
                 "\"token_endpoint_auth_signing_alg_values_supported\":"
                 "[\"RS256\",\"PS256\",\"ES256\"]}\n");
    assert_keys_sorted(doc.ptr);
    assert_int_equal(doc.len, strlen(doc.ptr));
    oauth_discovery_free(d);
    config_cleanup(&c);
}

/* CIMD_ENABLED=false drops the CIMD flag, DCR_ENABLED=false drops
 * registration_endpoint; "none" stays (Claude.ai needs it for CIMD). */
static void
test_as_metadata_cimd_and_dcr_switches(void **state)
{
    (void)state;
    static const struct {
        const char *cimd;
        const char *dcr;
        bool flag;
        bool reg;
    } rows[] = {
        {"false", "true", false, true},
        {"true", "false", true, false},
        {"false", "false", false, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct config c;
        env_n = 0;
        env_set("OIDC_ISSUER_URL", "https://idp.example.com");
        env_set("OIDC_CLIENT_ID", "proxy");
        env_set("OIDC_CLIENT_SECRET", "s3cret");
        env_set("PROXY_BASE_URL", FIXTURE_BASE);
        env_set("UPSTREAM_MCP_URL", "http://upstream.internal:8000/mcp");
        env_set("TOKEN_SIGNING_SECRET", FIXTURE_SECRET);
        env_set("PROD_MODE", "false");
        env_set("REDIS_REQUIRED", "false");
        env_set("CIMD_ENABLED", rows[i].cimd);
        env_set("DCR_ENABLED", rows[i].dcr);
        assert_true(config_load(fake_getenv, &c, NULL, NULL));
        struct oauth_discovery *d = oauth_discovery_new(&c);
        json_t *j = parse_doc(oauth_discovery_document(d, OAUTH_DISCOVERY_AS_METADATA));
        assert_int_equal(json_object_get(j, "client_id_metadata_document_supported") != NULL,
                         rows[i].flag);
        assert_int_equal(json_object_get(j, "registration_endpoint") != NULL, rows[i].reg);
        /* private_key_jwt (and its algs) only with CIMD on. */
        static const char *const methods[] = {"none", "private_key_jwt"};
        assert_str_array(j, "token_endpoint_auth_methods_supported", rows[i].flag ? 2 : 1, methods);
        assert_str_array(j, "revocation_endpoint_auth_methods_supported", rows[i].flag ? 2 : 1,
                         methods);
        assert_int_equal(json_object_get(j, "token_endpoint_auth_signing_alg_values_supported") !=
                             NULL,
                         rows[i].flag);
        assert_keys_sorted(oauth_discovery_document(d, OAUTH_DISCOVERY_AS_METADATA).ptr);
        json_decref(j);
        oauth_discovery_free(d);
        config_cleanup(&c);
    }
}

static void
test_prm_root_and_mount(void **state)
{
    (void)state;
    struct config c;
    /* A trailing slash on the base is stripped by the configuration. */
    load_config(&c, FIXTURE_BASE "/", "http://upstream.internal:8000/mcp/", NULL);
    struct oauth_discovery *d = oauth_discovery_new(&c);
    static const char *const servers[] = {FIXTURE_BASE};
    static const char *const header[] = {"header"};

    struct slice root = oauth_discovery_document(d, OAUTH_DISCOVERY_PRM_ROOT);
    json_t *j = parse_doc(root);
    assert_int_equal(json_object_size(j), 4);
    assert_str_member(j, "resource", FIXTURE_BASE "/");
    assert_str_array(j, "authorization_servers", 1, servers);
    assert_str_array(j, "bearer_methods_supported", 1, header);
    assert_str_array(j, "scopes_supported", 0, NULL);
    assert_null(json_object_get(j, "resource_name"));
    json_decref(j);
    assert_string_equal(root.ptr, "{\"authorization_servers\":[\"https://auth.example.com\"],"
                                  "\"bearer_methods_supported\":[\"header\"],"
                                  "\"resource\":\"https://auth.example.com/\","
                                  "\"scopes_supported\":[]}\n");

    struct slice mount = oauth_discovery_document(d, OAUTH_DISCOVERY_PRM_MOUNT);
    j = parse_doc(mount);
    assert_int_equal(json_object_size(j), 4);
    /* Exactly base + mount: no trailing slash here. */
    assert_str_member(j, "resource", FIXTURE_BASE "/mcp");
    assert_str_array(j, "authorization_servers", 1, servers);
    json_decref(j);
    assert_keys_sorted(mount.ptr);
    oauth_discovery_free(d);
    config_cleanup(&c);
}

/* MCP_SCOPES_SUPPORTED: all of them in the AS metadata, offline_access
 * never in either protected-resource document (MCP 2026-07-28). */
static void
test_scopes_supported(void **state)
{
    (void)state;
    struct config c;
    scopes_env = "mcp:read,offline_access mcp:write";
    load_config(&c, FIXTURE_BASE, "http://upstream.internal:8000/mcp", NULL);
    scopes_env = NULL;
    struct oauth_discovery *d = oauth_discovery_new(&c);
    static const char *const all[] = {"mcp:read", "offline_access", "mcp:write"};
    static const char *const resource[] = {"mcp:read", "mcp:write"};
    json_t *j = parse_doc(oauth_discovery_document(d, OAUTH_DISCOVERY_AS_METADATA));
    assert_str_array(j, "scopes_supported", 3, all);
    json_decref(j);
    assert_keys_sorted(oauth_discovery_document(d, OAUTH_DISCOVERY_AS_METADATA).ptr);
    for (int which = OAUTH_DISCOVERY_PRM_ROOT; which <= OAUTH_DISCOVERY_PRM_MOUNT; which++) {
        struct slice doc = oauth_discovery_document(d, (enum oauth_discovery_doc)which);
        j = parse_doc(doc);
        assert_str_array(j, "scopes_supported", 2, resource);
        json_decref(j);
        assert_null(strstr(doc.ptr, "offline_access"));
        assert_keys_sorted(doc.ptr);
    }
    oauth_discovery_free(d);
    config_cleanup(&c);
    /* Only offline_access: the resource lists none. */
    scopes_env = "offline_access";
    load_config(&c, FIXTURE_BASE, "http://upstream.internal:8000/mcp", NULL);
    scopes_env = NULL;
    d = oauth_discovery_new(&c);
    assert_non_null(strstr(oauth_discovery_document(d, OAUTH_DISCOVERY_PRM_MOUNT).ptr,
                           "\"scopes_supported\":[]}"));
    assert_non_null(strstr(oauth_discovery_document(d, OAUTH_DISCOVERY_AS_METADATA).ptr,
                           "\"scopes_supported\":[\"offline_access\"],"));
    oauth_discovery_free(d);
    config_cleanup(&c);
}

static void
test_resource_name_present_only_when_set(void **state)
{
    (void)state;
    struct config c;
    load_config(&c, FIXTURE_BASE, "https://up.example.com/api/v1/mcp",
                "Acme \"Tools\" <beta> & co \xe2\x80\xa8 \xc3\xa9");
    struct oauth_discovery *d = oauth_discovery_new(&c);
    for (int which = OAUTH_DISCOVERY_PRM_ROOT; which <= OAUTH_DISCOVERY_PRM_MOUNT; which++) {
        struct slice doc = oauth_discovery_document(d, (enum oauth_discovery_doc)which);
        json_t *j = parse_doc(doc);
        assert_int_equal(json_object_size(j), 5);
        assert_str_member(j, "resource_name", "Acme \"Tools\" <beta> & co \xe2\x80\xa8 \xc3\xa9");
        json_decref(j);
        assert_keys_sorted(doc.ptr);
        /* Escaped as Go's encoder does: HTML bytes and U+2028 as \u. */
        assert_non_null(strstr(doc.ptr, "\"resource_name\":\"Acme \\\"Tools\\\" \\u003cbeta\\u003e "
                                        "\\u0026 co \\u2028 \xc3\xa9\""));
    }
    struct slice mount = oauth_discovery_document(d, OAUTH_DISCOVERY_PRM_MOUNT);
    json_t *j = parse_doc(mount);
    assert_str_member(j, "resource", FIXTURE_BASE "/api/v1/mcp");
    json_decref(j);
    /* AS metadata never names the resource. */
    j = parse_doc(oauth_discovery_document(d, OAUTH_DISCOVERY_AS_METADATA));
    assert_null(json_object_get(j, "resource_name"));
    json_decref(j);
    oauth_discovery_free(d);
    config_cleanup(&c);

    /* Set but empty is the same as unset. */
    load_config(&c, FIXTURE_BASE, "https://up.example.com/mcp", "");
    d = oauth_discovery_new(&c);
    j = parse_doc(oauth_discovery_document(d, OAUTH_DISCOVERY_PRM_ROOT));
    assert_null(json_object_get(j, "resource_name"));
    json_decref(j);
    oauth_discovery_free(d);
    config_cleanup(&c);
}

static void
test_loopback_http_base(void **state)
{
    (void)state;
    struct config c;
    load_config(&c, "http://127.0.0.1:8080", "http://127.0.0.1:9000/mcp", NULL);
    struct oauth_discovery *d = oauth_discovery_new(&c);
    json_t *j = parse_doc(oauth_discovery_document(d, OAUTH_DISCOVERY_AS_METADATA));
    assert_str_member(j, "issuer", "http://127.0.0.1:8080");
    assert_str_member(j, "token_endpoint", "http://127.0.0.1:8080/token");
    json_decref(j);
    assert_int_equal(oauth_discovery_document(d, OAUTH_DISCOVERY_DOC_COUNT).len, 0);
    oauth_discovery_free(d);
    oauth_discovery_free(NULL);
    config_cleanup(&c);
}

/* ---- the routes over the HTTP layer ---- */

struct served {
    struct config c;
    struct app *app;
    struct http_router *router;
    struct harness h;
};

static void
serve_start(struct served *s, const char *upstream)
{
    load_config(&s->c, FIXTURE_BASE, upstream, NULL);
    s->app = app_new(&s->c);
    s->router = http_router_new();
    routes_build(s->router, s->app);
    harness_init(&s->h, s->router, NULL);
}

static void
serve_stop(struct served *s)
{
    harness_cleanup(&s->h);
    http_router_free(s->router);
    app_free(s->app);
    config_cleanup(&s->c);
}

/* One request on a fresh connection; the parsed response (free it). */
static struct harness_response
roundtrip(struct served *s, const char *method, const char *path)
{
    char raw[1024];
    snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", method,
             path);
    int fd = harness_connect(&s->h);
    harness_send_str(&s->h, fd, raw);
    struct buf out;
    buf_init(&out, 1 << 20);
    bool head = strcmp(method, "HEAD") == 0;
    /* A HEAD answer has no body to count: wait a little, then parse. */
    bool eof = head ? harness_pump(&s->h, fd, &out, 200)
                    : harness_wait_responses(&s->h, fd, &out, 1, 2000);
    struct harness_response r;
    assert_true(harness_parse(out.ptr, out.len, eof, head, &r) > 0);
    buf_cleanup(&out);
    close(fd);
    return r;
}

static void
assert_document(struct served *s, const char *path, enum oauth_discovery_doc which)
{
    struct slice want = oauth_discovery_document(s->app->discovery, which);
    struct harness_response r = roundtrip(s, "GET", path);
    assert_int_equal(r.status, 200);
    assert_string_equal(harness_header(&r, "Content-Type"), "application/json");
    assert_string_equal(harness_header(&r, "Access-Control-Allow-Origin"), "*");
    assert_int_equal(harness_header_count(&r, "Access-Control-Allow-Credentials"), 0);
    assert_int_equal(harness_header_count(&r, "Cache-Control"), 0);
    assert_string_equal(harness_header(&r, "X-Frame-Options"), "DENY");
    assert_int_equal(r.body_len, want.len);
    assert_memory_equal(r.body, want.ptr, want.len);
    harness_response_free(&r);

    r = roundtrip(s, "HEAD", path);
    assert_int_equal(r.status, 200);
    char len[32];
    snprintf(len, sizeof(len), "%zu", want.len);
    assert_string_equal(harness_header(&r, "Content-Length"), len);
    assert_string_equal(harness_header(&r, "Content-Type"), "application/json");
    assert_int_equal(r.body_len, 0);
    harness_response_free(&r);

    r = roundtrip(s, "POST", path);
    assert_int_equal(r.status, 405);
    assert_string_equal(harness_header(&r, "Allow"), "GET, HEAD, OPTIONS");
    assert_int_equal(r.body_len, 0);
    harness_response_free(&r);

    r = roundtrip(s, "OPTIONS", path);
    assert_int_equal(r.status, 204);
    assert_string_equal(harness_header(&r, "Access-Control-Allow-Origin"), "*");
    assert_string_equal(harness_header(&r, "Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
    assert_string_equal(harness_header(&r, "Access-Control-Allow-Headers"),
                        "Authorization, Content-Type, Mcp-Protocol-Version");
    assert_string_equal(harness_header(&r, "Access-Control-Max-Age"), "86400");
    assert_int_equal(r.body_len, 0);
    harness_response_free(&r);
}

static void
assert_json_404(struct served *s, const char *method, const char *path)
{
    struct harness_response r = roundtrip(s, method, path);
    assert_int_equal(r.status, 404);
    assert_string_equal(harness_header(&r, "Content-Type"), "application/json");
    if (strcmp(method, "HEAD") != 0) {
        assert_int_equal(r.body_len, strlen("{\"error\":\"not_found\"}"));
        assert_memory_equal(r.body, "{\"error\":\"not_found\"}", r.body_len);
    }
    harness_response_free(&r);
}

static void
assert_plain_404(struct served *s, const char *path)
{
    struct harness_response r = roundtrip(s, "GET", path);
    assert_int_equal(r.status, 404);
    assert_string_equal(harness_header(&r, "Content-Type"), "text/plain; charset=utf-8");
    harness_response_free(&r);
}

static void
test_routes_default_mount(void **state)
{
    (void)state;
    struct served s;
    serve_start(&s, "http://upstream.internal:8000/mcp");
    assert_document(&s, "/.well-known/oauth-protected-resource", OAUTH_DISCOVERY_PRM_ROOT);
    assert_document(&s, "/.well-known/oauth-protected-resource/mcp", OAUTH_DISCOVERY_PRM_MOUNT);
    assert_document(&s, "/.well-known/oauth-authorization-server", OAUTH_DISCOVERY_AS_METADATA);
    assert_document(&s, "/.well-known/oauth-authorization-server/mcp", OAUTH_DISCOVERY_AS_METADATA);
    static const char *const methods[] = {"GET",    "HEAD",    "POST",    "PUT",
                                          "DELETE", "OPTIONS", "PROPFIND"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        assert_json_404(&s, methods[i], "/.well-known/openid-configuration");
        assert_json_404(&s, methods[i], "/.well-known/openid-configuration/mcp");
        assert_json_404(&s, methods[i], "/mcp/.well-known/oauth-authorization-server");
        assert_json_404(&s, methods[i], "/mcp/.well-known/");
        assert_json_404(&s, methods[i], "/mcp/.well-known/a/b?c=d");
    }
    /* Literal matching: near misses are ordinary 404s. */
    assert_plain_404(&s, "/.well-known/oauth-authorization-server/");
    assert_plain_404(&s, "/.well-known/oauth-protected-resource/mcp/");
    assert_plain_404(&s, "/.well-known/openid-configuration/");
    serve_stop(&s);
}

static void
test_routes_custom_mount(void **state)
{
    (void)state;
    struct served s;
    serve_start(&s, "https://up.example.com/api/v1/mcp");
    assert_document(&s, "/.well-known/oauth-protected-resource", OAUTH_DISCOVERY_PRM_ROOT);
    assert_document(&s, "/.well-known/oauth-protected-resource/api/v1/mcp",
                    OAUTH_DISCOVERY_PRM_MOUNT);
    assert_document(&s, "/.well-known/oauth-authorization-server/api/v1/mcp",
                    OAUTH_DISCOVERY_AS_METADATA);
    assert_json_404(&s, "GET", "/.well-known/openid-configuration/api/v1/mcp");
    assert_json_404(&s, "POST", "/api/v1/mcp/.well-known/oauth-protected-resource");
    /* The default-mount variants are not served. */
    assert_plain_404(&s, "/.well-known/oauth-protected-resource/mcp");
    assert_plain_404(&s, "/.well-known/oauth-authorization-server/mcp");
    assert_plain_404(&s, "/.well-known/openid-configuration/mcp");
    assert_plain_404(&s, "/mcp/.well-known/oauth-authorization-server");
    struct slice prm = oauth_discovery_document(s.app->discovery, OAUTH_DISCOVERY_PRM_MOUNT);
    assert_non_null(strstr(prm.ptr, "\"resource\":\"https://auth.example.com/api/v1/mcp\""));
    serve_stop(&s);
}

static void
test_routes_register_and_token_preflight(void **state)
{
    (void)state;
    struct served s;
    serve_start(&s, "http://upstream.internal:8000/mcp");
    static const char *const paths[] = {"/register", "/token", "/revoke"};
    for (size_t i = 0; i < 3; i++) {
        struct harness_response r = roundtrip(&s, "OPTIONS", paths[i]);
        assert_int_equal(r.status, 204);
        assert_string_equal(harness_header(&r, "Access-Control-Allow-Origin"), "*");
        assert_string_equal(harness_header(&r, "Access-Control-Allow-Methods"), "POST, OPTIONS");
        assert_string_equal(harness_header(&r, "Access-Control-Allow-Headers"),
                            "Authorization, Content-Type, Mcp-Protocol-Version");
        assert_int_equal(harness_header_count(&r, "Access-Control-Allow-Credentials"), 0);
        harness_response_free(&r);
    }
    struct harness_response r = roundtrip(&s, "GET", "/register");
    assert_int_equal(r.status, 405);
    assert_string_equal(harness_header(&r, "Allow"), "POST, OPTIONS");
    harness_response_free(&r);
    serve_stop(&s);
}

/* The limiter refuses everything (the real one's budgets are its own
 * test's business, test_ratelimit.c). */
static bool
deny_all(void *arg, enum metrics_endpoint bucket, struct http_request *req)
{
    (void)arg;
    (void)bucket;
    (void)req;
    return false;
}

/* The 429 of every CORS endpoint carries Access-Control-Allow-Origin like
 * its other answers (issue 11 item 6), so a browser client sees the 429,
 * not "Failed to fetch"; the routes as the wiring registers them. */
static void
test_rate_limited_answers_carry_cors(void **state)
{
    (void)state;
    struct served s;
    serve_start(&s, "http://upstream.internal:8000/mcp");
    http_router_set_rate_limiter(s.router, deny_all, NULL);
    static const struct {
        const char *method, *path;
        bool cors;
    } eps[] = {
        {"POST", "/register", true},
        {"POST", "/token", true},
        {"GET", "/.well-known/oauth-authorization-server", true},
        {"GET", "/.well-known/oauth-authorization-server/mcp", true},
        {"GET", "/.well-known/oauth-protected-resource", true},
        {"GET", "/.well-known/oauth-protected-resource/mcp", true},
        {"GET", "/.well-known/openid-configuration", true},
        /* Navigations, never fetches: no CORS, not even on a 429. */
        {"GET", "/authorize", false},
        {"GET", "/callback", false},
    };
    for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
        struct harness_response r = roundtrip(&s, eps[i].method, eps[i].path);
        if (r.status != 429) {
            fail_msg("%s %s: %d, want 429", eps[i].method, eps[i].path, r.status);
        }
        assert_string_equal(harness_header(&r, "Retry-After"), "60");
        assert_string_equal(r.body, "{\"error\":\"temporarily_unavailable\","
                                    "\"error_description\":\"rate limit exceeded\"}");
        if (eps[i].cors) {
            assert_string_equal(harness_header(&r, "Access-Control-Allow-Origin"), "*");
        } else {
            assert_int_equal(harness_header_count(&r, "Access-Control-Allow-Origin"), 0);
        }
        assert_int_equal(harness_header_count(&r, "Access-Control-Allow-Credentials"), 0);
        harness_response_free(&r);
    }
    serve_stop(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_as_metadata_fields),
        cmocka_unit_test(test_as_metadata_cimd_and_dcr_switches),
        cmocka_unit_test(test_prm_root_and_mount),
        cmocka_unit_test(test_scopes_supported),
        cmocka_unit_test(test_resource_name_present_only_when_set),
        cmocka_unit_test(test_loopback_http_base),
        cmocka_unit_test(test_routes_default_mount),
        cmocka_unit_test(test_routes_custom_mount),
        cmocka_unit_test(test_routes_register_and_token_preflight),
        cmocka_unit_test(test_rate_limited_answers_carry_cors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
