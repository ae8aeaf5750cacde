/* proxy/headers: the header policy of the MCP route in both directions
 * (SPEC.md 4.2, 4.4, 3.0.3, fix 5; proxy_test.go's forwarding cases). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "proxy/headers.h"

#define H(n, v)                                                                                    \
    {                                                                                              \
        .name = SLICE_LIT(n), .value = SLICE_LIT(v)                                                \
    }
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static struct proxy_headers_upstream up;

static int
setup(void **state)
{
    (void)state;
    return proxy_headers_upstream_init(&up, "https://auth.example.com", "Basic dXA6c2VjcmV0") ==
                   PROXY_HEADERS_OK
               ? 0
               : -1;
}

static int
teardown(void **state)
{
    (void)state;
    proxy_headers_upstream_cleanup(&up);
    return 0;
}

static const char *const two_groups[] = {"admin", "dev"};

static struct proxy_headers_identity
identity(void)
{
    return (struct proxy_headers_identity){.sub = "user-1",
                                           .email = "u1@example.com",
                                           .groups = two_groups,
                                           .group_count = 2,
                                           .client_ip = "203.0.113.7"};
}

/* Whether a single inbound field with this name is forwarded. */
static bool
kept_alone(const char *name, const char *value)
{
    struct field h = {.name = slice_from_cstr(name), .value = slice_from_cstr(value)};
    bool keep = true;
    proxy_headers_request_filter(&h, 1, &keep);
    return keep;
}

/* Every dropped name in its canonical, lower, upper and '_' spellings. */
static void
test_request_dropped_names(void **state)
{
    (void)state;
    static const char *const dropped[] = {
        "Connection",
        "Proxy-Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "TE",
        "Te",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Expect",
        "Authorization",
        "Cookie",
        "Forwarded",
        "X-Forwarded-For",
        "X-Forwarded-Host",
        "X-Forwarded-Proto",
        "X-Forwarded-Port",
        "X-Forwarded-Prefix",
        "X-Forwarded-Server",
        "X-Real-IP",
        "True-Client-IP",
        "X-Original-URI",
        "X-Original-Host",
        "X-Request-Id",
        "Host",
        "Content-Length",
        "X-User-Sub",
        "X-User-Email",
        "X-User-Groups",
        "X-User-Admin",
        "X-User-",
        "X_User_Sub",
        "x-user_email",
        "X-USER-ROLE",
        "x_forwarded_for",
        "X_Real_IP",
        "true_client_ip",
        "proxy_authorization",
        "Transfer_Encoding",
        "content_length",
        "X-Forwarded_Host",
        "x_request_id",
        "X-MCP-Identity-Assertion",
        "x_mcp_identity_assertion",
    };
    for (size_t i = 0; i < COUNT_OF(dropped); i++) {
        char lower[64], upper[64];
        size_t n = strlen(dropped[i]);
        for (size_t k = 0; k <= n; k++) {
            char c = dropped[i][k];
            lower[k] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            upper[k] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        }
        if (kept_alone(dropped[i], "x") || kept_alone(lower, "x") || kept_alone(upper, "x")) {
            fail_msg("%s was forwarded", dropped[i]);
        }
    }
}

/* Near misses and ordinary end-to-end fields pass verbatim. */
static void
test_request_kept_names(void **state)
{
    (void)state;
    static const char *const kept[] = {
        "Content-Type",
        "Accept",
        "Accept-Encoding",
        "User-Agent",
        "Mcp-Session-Id",
        "Mcp-Protocol-Version",
        "Last-Event-ID",
        "Cache-Control",
        "X-Custom",
        "X-Users-Admin",
        "X-UserSub",
        "X-User",
        "X-Forwarded",
        "X-Forwardedfor",
        "Hostname",
        "Te-Extra",
        "Cookies",
        "Authorization2",
        "Upgrade-Insecure-Requests",
        "Origin",
    };
    for (size_t i = 0; i < COUNT_OF(kept); i++) {
        if (!kept_alone(kept[i], "v")) {
            fail_msg("%s was dropped", kept[i]);
        }
    }
}

/* Connection names extra hop-by-hop fields, in any of several fields, with
 * OWS and empty list elements; '_' and '-' match each other. */
static void
test_request_connection_named(void **state)
{
    (void)state;
    struct field in[] = {
        H("Connection", "keep-alive, X-Foo ,,x_bar"),
        H("X-Foo", "1"),
        H("X-Bar", "2"),
        H("X-Baz", "3"),
        H("connection", "Content-Type"),
        H("Content-Type", "application/json"),
        H("Accept", "*/*"),
    };
    bool keep[COUNT_OF(in)];
    proxy_headers_request_filter(in, COUNT_OF(in), keep);
    const bool want[] = {false, false, false, true, false, false, true};
    for (size_t i = 0; i < COUNT_OF(in); i++) {
        if (keep[i] != want[i]) {
            fail_msg("header %zu: keep=%d", i, keep[i]);
        }
    }
}

/* The name comparison folds only ASCII letters and '_': for every byte b,
 * "te" spelled with b first is dropped exactly when b is 't' or 'T', and
 * "x_user_id" with b in the place of its first '_' exactly when b is '_'
 * or '-'. */
static void
test_request_fold_every_byte(void **state)
{
    (void)state;
    for (unsigned b = 0; b < 256; b++) {
        char te[2] = {(char)b, 'e'};
        char user[9] = {'x', (char)b, 'u', 's', 'e', 'r', '_', 'i', 'd'};
        struct field in[] = {
            {.name = slice_make(te, sizeof(te)), .value = SLICE_LIT("trailers")},
            {.name = slice_make(user, sizeof(user)), .value = SLICE_LIT("u")},
        };
        bool keep[2];
        proxy_headers_request_filter(in, 2, keep);
        if (keep[0] != !(b == 't' || b == 'T')) {
            fail_msg("byte 0x%02x as the first of \"te\": keep=%d", b, keep[0]);
        }
        if (keep[1] != !(b == '_' || b == '-')) {
            fail_msg("byte 0x%02x in x?user_id: keep=%d", b, keep[1]);
        }
    }
}

/* Every occurrence of a repeated dropped field goes; repeated kept fields
 * stay, in order. */
static void
test_request_duplicates(void **state)
{
    (void)state;
    struct field in[] = {
        H("X-User-Admin", "true"), H("Accept", "a"),         H("x-user-admin", "true"),
        H("Cookie", "a=1"),        H("Cookie", "b=2"),       H("Accept", "b"),
        H("X-User-Sub", "evil"),   H("X_User_Sub", "evil2"), H("Authorization", "Bearer t"),
    };
    struct proxy_headers_identity id = identity();
    id.groups = NULL;
    id.group_count = 0;
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(proxy_headers_request_format(&up, in, COUNT_OF(in), &id, &b),
                     PROXY_HEADERS_OK);
    assert_string_equal(buf_cstr(&b), "Accept: a\r\n"
                                      "Accept: b\r\n"
                                      "X-User-Sub: user-1\r\n"
                                      "X-User-Email: u1@example.com\r\n"
                                      "Authorization: Basic dXA6c2VjcmV0\r\n"
                                      "X-Forwarded-For: 203.0.113.7\r\n"
                                      "X-Forwarded-Proto: https\r\n"
                                      "X-Forwarded-Host: auth.example.com\r\n");
    buf_cleanup(&b);
}

/* The whole block for a typical MCP request with spoofing attempts. */
static void
test_request_format_golden(void **state)
{
    (void)state;
    struct field in[] = {
        H("Host", "auth.example.com"),
        H("Content-Type", "application/json"),
        H("Content-Length", "42"),
        H("Authorization", "Bearer client-token"),
        H("X-Forwarded-For", "198.51.100.1"),
        H("X-User-Groups", "root"),
        H("Forwarded", "for=1.2.3.4"),
        H("Accept", "application/json, text/event-stream"),
        H("Mcp-Session-Id", "s-1"),
        H("Expect", "100-continue"),
        H("TE", "trailers"),
        H("Cookie", "sid=1"),
    };
    struct proxy_headers_identity id = identity();
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(buf_append_str(&b, "POST /mcp HTTP/1.1\r\n"), 0);
    assert_int_equal(proxy_headers_request_format(&up, in, COUNT_OF(in), &id, &b),
                     PROXY_HEADERS_OK);
    assert_string_equal(buf_cstr(&b), "POST /mcp HTTP/1.1\r\n"
                                      "Content-Type: application/json\r\n"
                                      "Accept: application/json, text/event-stream\r\n"
                                      "Mcp-Session-Id: s-1\r\n"
                                      "X-User-Sub: user-1\r\n"
                                      "X-User-Email: u1@example.com\r\n"
                                      "X-User-Groups: admin,dev\r\n"
                                      "Authorization: Basic dXA6c2VjcmV0\r\n"
                                      "X-Forwarded-For: 203.0.113.7\r\n"
                                      "X-Forwarded-Proto: https\r\n"
                                      "X-Forwarded-Host: auth.example.com\r\n"
                                      "TE: trailers\r\n");
    /* The zero-copy path agrees with the formatter. */
    bool keep[COUNT_OF(in)];
    proxy_headers_request_filter(in, COUNT_OF(in), keep);
    struct buf z;
    buf_init(&z, 4096);
    assert_int_equal(buf_append_str(&z, "POST /mcp HTTP/1.1\r\n"), 0);
    for (size_t i = 0; i < COUNT_OF(in); i++) {
        if (keep[i]) {
            assert_int_equal(buf_append_slice(&z, in[i].name), 0);
            assert_int_equal(buf_append_str(&z, ": "), 0);
            assert_int_equal(buf_append_slice(&z, in[i].value), 0);
            assert_int_equal(buf_append_str(&z, "\r\n"), 0);
        }
    }
    bool trailers = proxy_headers_request_wants_trailers(in, COUNT_OF(in));
    assert_true(trailers);
    assert_int_equal(proxy_headers_request_append_injected(&up, &id, trailers, &z),
                     PROXY_HEADERS_OK);
    assert_string_equal(buf_cstr(&z), buf_cstr(&b));
    buf_cleanup(&z);
    buf_cleanup(&b);
}

/* W3C Trace Context: the client's traceparent and tracestate never pass
 * as sent; the forward's validated (or fresh) traceparent is appended, and
 * tracestate only beside an incoming one, only when every line is well
 * formed, joined into one field. */
static void
test_request_trace_context(void **state)
{
    (void)state;
    struct field in[] = {
        H("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        H("Tracestate", "rojo=00f067aa0ba902b7"),
        H("tracestate", "congo=t61rcWkgMzE"),
    };
    assert_false(kept_alone("traceparent", "x"));
    assert_false(kept_alone("TraceState", "a=b"));
    struct proxy_headers_identity id = identity();
    id.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    id.traceparent_incoming = true;
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(proxy_headers_request_format(&up, in, COUNT_OF(in), &id, &b),
                     PROXY_HEADERS_OK);
    const char *tail = "X-Forwarded-Host: auth.example.com\r\n"
                       "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
                       "tracestate: rojo=00f067aa0ba902b7,congo=t61rcWkgMzE\r\n";
    assert_non_null(strstr(buf_cstr(&b), tail));
    assert_int_equal(strlen(strstr(buf_cstr(&b), tail)), strlen(tail));
    buf_reset(&b);
    /* A generated traceparent (the client's was refused): no tracestate. */
    id.traceparent = "00-11111111111111111111111111111111-2222222222222222-01";
    id.traceparent_incoming = false;
    assert_int_equal(proxy_headers_request_format(&up, in, COUNT_OF(in), &id, &b),
                     PROXY_HEADERS_OK);
    assert_non_null(strstr(buf_cstr(&b), "traceparent: 00-1111"));
    assert_null(strstr(buf_cstr(&b), "4bf92f"));
    assert_null(strstr(buf_cstr(&b), "tracestate"));
    buf_reset(&b);
    /* One malformed tracestate line drops them all. */
    in[2].value = slice_from_cstr("Bad Key=1");
    id.traceparent_incoming = true;
    assert_int_equal(proxy_headers_request_format(&up, in, COUNT_OF(in), &id, &b),
                     PROXY_HEADERS_OK);
    assert_null(strstr(buf_cstr(&b), "tracestate"));
    buf_reset(&b);
    /* No traceparent given: none added (the unit tests' default). */
    id.traceparent = NULL;
    assert_int_equal(proxy_headers_request_format(&up, in, COUNT_OF(in), &id, &b),
                     PROXY_HEADERS_OK);
    assert_null(strstr(buf_cstr(&b), "trace"));
    buf_cleanup(&b);
}

/* Identity fields: empty email still sent, groups omitted when none,
 * upstream Authorization only when configured. */
static void
test_request_injected_variants(void **state)
{
    (void)state;
    struct proxy_headers_upstream bare;
    assert_int_equal(proxy_headers_upstream_init(&bare, "http://127.0.0.1:9090", ""),
                     PROXY_HEADERS_OK);
    assert_null(bare.authorization);
    struct proxy_headers_identity id = {.sub = "s", .email = "", .client_ip = "::1"};
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(proxy_headers_request_append_injected(&bare, &id, false, &b),
                     PROXY_HEADERS_OK);
    assert_string_equal(buf_cstr(&b), "X-User-Sub: s\r\n"
                                      "X-User-Email: \r\n"
                                      "X-Forwarded-For: ::1\r\n"
                                      "X-Forwarded-Proto: http\r\n"
                                      "X-Forwarded-Host: 127.0.0.1:9090\r\n");
    buf_reset(&b);
    id.email = NULL;
    static const char *const one[] = {"eng"};
    id.groups = one;
    id.group_count = 1;
    assert_int_equal(proxy_headers_request_append_injected(&bare, &id, false, &b),
                     PROXY_HEADERS_OK);
    assert_non_null(strstr(buf_cstr(&b), "X-User-Email: \r\nX-User-Groups: eng\r\n"));
    assert_null(strstr(buf_cstr(&b), "Authorization"));
    buf_cleanup(&b);
    proxy_headers_upstream_cleanup(&bare);
}

/* The signed identity goes after X-User-Groups and before Authorization,
 * only when the mount set one; a CTL in it is refused like any value. */
static void
test_request_identity_assertion(void **state)
{
    (void)state;
    struct proxy_headers_identity id = identity();
    id.scope = "mcp:read";
    id.client_id = "c1";
    id.acr = "mfa";
    id.auth_time = 1700000000;
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(proxy_headers_request_append_injected(&up, &id, false, &b), PROXY_HEADERS_OK);
    assert_null(strstr(buf_cstr(&b), "X-MCP-Identity-Assertion"));
    /* The claims-only members are never sent as fields of their own. */
    assert_null(strstr(buf_cstr(&b), "mfa"));
    assert_null(strstr(buf_cstr(&b), "mcp:read"));
    buf_reset(&b);
    id.assertion = "aGVhZGVy.cGF5bG9hZA.c2ln";
    assert_int_equal(proxy_headers_request_append_injected(&up, &id, false, &b), PROXY_HEADERS_OK);
    assert_non_null(strstr(buf_cstr(&b), "X-User-Groups: admin,dev\r\n"
                                         "X-MCP-Identity-Assertion: aGVhZGVy.cGF5bG9hZA.c2ln\r\n"
                                         "Authorization: Basic dXA6c2VjcmV0\r\n"));
    buf_reset(&b);
    id.assertion = "a.b\r\nX-User-Sub: admin";
    assert_int_equal(proxy_headers_request_append_injected(&up, &id, false, &b),
                     PROXY_HEADERS_ERR_VALUE);
    assert_int_equal(b.len, 0);
    buf_cleanup(&b);
}

/* A client's own X-MCP-Identity-Assertion never reaches the upstream:
 * only the proxy's, once. */
static void
test_request_client_assertion_replaced(void **state)
{
    (void)state;
    const struct field in[] = {
        H("X-MCP-Identity-Assertion", "forged.by.client"),
        H("x_mcp_identity_assertion", "forged.by.client2"),
        H("Accept", "application/json"),
    };
    struct proxy_headers_identity id = identity();
    id.assertion = "proxy.own.jws";
    struct buf b;
    buf_init(&b, 8192);
    assert_int_equal(proxy_headers_request_format(&up, in, COUNT_OF(in), &id, &b),
                     PROXY_HEADERS_OK);
    assert_null(strstr(buf_cstr(&b), "forged"));
    const char *first = strstr(buf_cstr(&b), "X-MCP-Identity-Assertion: proxy.own.jws\r\n");
    assert_non_null(first);
    assert_null(strstr(first + strlen("X-MCP-Identity-Assertion"), "Identity-Assertion"));
    assert_null(strstr(buf_cstr(&b), "identity_assertion"));
    buf_cleanup(&b);
}

/* "TE: trailers" is re-sent only when the client's TE lists that token. */
static void
test_request_te_trailers(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        bool want;
    } rows[] = {
        {"trailers", true},        {"Trailers", true}, {"deflate, trailers", true},
        {" trailers ,gzip", true}, {"deflate", false}, {"trailersx", false},
        {"trailers;q=1", false},   {"", false},
    };
    for (size_t i = 0; i < COUNT_OF(rows); i++) {
        struct field in[] = {{SLICE_LIT("te"), slice_from_cstr(rows[i].value)}};
        if (proxy_headers_request_wants_trailers(in, 1) != rows[i].want) {
            fail_msg("TE \"%s\"", rows[i].value);
        }
        bool keep = true;
        proxy_headers_request_filter(in, 1, &keep);
        assert_false(keep); /* the client's own TE never passes verbatim */
    }
    struct field other[] = {H("Accept", "trailers")};
    assert_false(proxy_headers_request_wants_trailers(other, 1));
}

/* CR, LF and other CTLs in injected values are refused; out unchanged. */
static void
test_request_injected_ctl(void **state)
{
    (void)state;
    static const char *const bad[] = {"a\r\nX-User-Admin: 1", "a\nb", "a\rb", "a\x01", "a\x7f"};
    for (size_t i = 0; i < COUNT_OF(bad); i++) {
        for (int field = 0; field < 4; field++) {
            struct proxy_headers_identity id = identity();
            const char *grp[] = {"ok", bad[i]};
            switch (field) {
            case 0:
                id.sub = bad[i];
                break;
            case 1:
                id.email = bad[i];
                break;
            case 2:
                id.groups = grp;
                break;
            default:
                id.client_ip = bad[i];
                break;
            }
            struct buf b;
            buf_init(&b, 4096);
            assert_int_equal(buf_append_str(&b, "keep\r\n"), 0);
            if (proxy_headers_request_append_injected(&up, &id, false, &b) !=
                PROXY_HEADERS_ERR_VALUE) {
                fail_msg("value %zu in field %d accepted", i, field);
            }
            assert_string_equal(buf_cstr(&b), "keep\r\n");
            buf_cleanup(&b);
        }
    }
    struct proxy_headers_identity tab = identity();
    tab.email = "a\tb"; /* HTAB is a legal field-value byte */
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(proxy_headers_request_append_injected(&up, &tab, false, &b), PROXY_HEADERS_OK);
    buf_cleanup(&b);
    struct proxy_headers_identity nosub = identity();
    nosub.sub = NULL;
    buf_init(&b, 4096);
    assert_int_equal(proxy_headers_request_append_injected(&up, &nosub, false, &b),
                     PROXY_HEADERS_ERR_VALUE);
    buf_cleanup(&b);
}

static void
test_request_cap(void **state)
{
    (void)state;
    struct field in[] = {H("Accept", "*/*")};
    struct proxy_headers_identity id = identity();
    struct buf b;
    buf_init(&b, 40);
    assert_int_equal(buf_append_str(&b, "x"), 0);
    assert_int_equal(proxy_headers_request_format(&up, in, 1, &id, &b),
                     PROXY_HEADERS_ERR_TOO_LARGE);
    assert_string_equal(buf_cstr(&b), "x");
    assert_int_equal(proxy_headers_request_append_injected(&up, &id, true, &b),
                     PROXY_HEADERS_ERR_TOO_LARGE);
    assert_string_equal(buf_cstr(&b), "x");
    buf_cleanup(&b);
}

static void
test_upstream_init(void **state)
{
    (void)state;
    static const struct {
        const char *base;
        const char *auth;
        enum proxy_headers_rc rc;
        const char *proto;
        const char *host;
    } rows[] = {
        {"https://auth.example.com", NULL, PROXY_HEADERS_OK, "https", "auth.example.com"},
        {"https://auth.example.com:8443", "Bearer x", PROXY_HEADERS_OK, "https",
         "auth.example.com:8443"},
        {"http://[::1]:8080", NULL, PROXY_HEADERS_OK, "http", "[::1]:8080"},
        {"not a url", NULL, PROXY_HEADERS_ERR_BASE_URL, NULL, NULL},
        {"https://auth.example.com", "Bearer x\r\nX-Evil: 1", PROXY_HEADERS_ERR_VALUE, NULL, NULL},
    };
    for (size_t i = 0; i < COUNT_OF(rows); i++) {
        struct proxy_headers_upstream u;
        assert_int_equal(proxy_headers_upstream_init(&u, rows[i].base, rows[i].auth), rows[i].rc);
        if (rows[i].rc == PROXY_HEADERS_OK) {
            assert_string_equal(u.forwarded_proto, rows[i].proto);
            assert_string_equal(u.forwarded_host, rows[i].host);
            if (rows[i].auth != NULL) {
                assert_string_equal(u.authorization, rows[i].auth);
            } else {
                assert_null(u.authorization);
            }
        } else {
            assert_null(u.forwarded_proto);
            assert_null(u.forwarded_host);
            assert_null(u.authorization);
        }
        proxy_headers_upstream_cleanup(&u);
    }
    assert_string_equal(proxy_headers_rc_str(PROXY_HEADERS_ERR_VALUE), "bad_value");
    assert_string_equal(proxy_headers_rc_str(PROXY_HEADERS_RC_COUNT), "unknown");
}

static void
test_response_keep(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        bool keep_rl_on;
        bool keep_rl_off;
    } rows[] = {
        {"Content-Type", true, true},
        {"Cache-Control", true, true},
        {"Mcp-Session-Id", true, true},
        {"X-Accel-Buffering", true, true},
        {"Content-Length", true, true},
        {"Set-Cookie", true, true},
        {"WWW-Authenticate", true, true},
        {"Content-Security-Policy-Report-Only", true, true},
        {"X-RateLimit-Policy", true, true},
        {"Connection", false, false},
        {"Keep-Alive", false, false},
        {"Proxy-Connection", false, false},
        {"Proxy-Authenticate", false, false},
        {"Proxy-Authorization", false, false},
        {"TE", false, false},
        {"Trailer", false, false},
        {"transfer-encoding", false, false},
        {"Upgrade", false, false},
        {"Strict-Transport-Security", false, false},
        {"x-content-type-options", false, false},
        {"X-Frame-Options", false, false},
        {"Referrer-Policy", false, false},
        {"CONTENT-SECURITY-POLICY", false, false},
        {"X-Request-Id", false, false},
        {"X-RateLimit-Limit", false, true},
        {"x-ratelimit-remaining", false, true},
        {"X-RateLimit-Reset", false, true},
    };
    for (size_t i = 0; i < COUNT_OF(rows); i++) {
        struct slice n = slice_from_cstr(rows[i].name);
        if (proxy_headers_response_keep(n, true) != rows[i].keep_rl_on ||
            proxy_headers_response_keep(n, false) != rows[i].keep_rl_off) {
            fail_msg("%s", rows[i].name);
        }
    }
}

static void
test_response_filter(void **state)
{
    (void)state;
    struct field in[] = {
        H("Content-Type", "text/event-stream"),
        H("Connection", "close, X-Hop"),
        H("X-Hop", "1"),
        H("Strict-Transport-Security", "max-age=1"),
        H("X-RateLimit-Remaining", "3"),
        H("Mcp-Session-Id", "s"),
        H("Transfer-Encoding", "chunked"),
    };
    bool keep[COUNT_OF(in)];
    proxy_headers_response_filter(in, COUNT_OF(in), true, keep);
    const bool want_on[] = {true, false, false, false, false, true, false};
    proxy_headers_response_filter(in, COUNT_OF(in), false, keep);
    const bool want_off[] = {true, false, false, false, true, true, false};
    for (size_t i = 0; i < COUNT_OF(in); i++) {
        assert_int_equal(keep[i], want_off[i]);
    }
    proxy_headers_response_filter(in, COUNT_OF(in), true, keep);
    for (size_t i = 0; i < COUNT_OF(in); i++) {
        assert_int_equal(keep[i], want_on[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_dropped_names),
        cmocka_unit_test(test_request_kept_names),
        cmocka_unit_test(test_request_connection_named),
        cmocka_unit_test(test_request_fold_every_byte),
        cmocka_unit_test(test_request_duplicates),
        cmocka_unit_test(test_request_format_golden),
        cmocka_unit_test(test_request_injected_variants),
        cmocka_unit_test(test_request_identity_assertion),
        cmocka_unit_test(test_request_client_assertion_replaced),
        cmocka_unit_test(test_request_te_trailers),
        cmocka_unit_test(test_request_injected_ctl),
        cmocka_unit_test(test_request_cap),
        cmocka_unit_test(test_request_trace_context),
        cmocka_unit_test(test_upstream_init),
        cmocka_unit_test(test_response_keep),
        cmocka_unit_test(test_response_filter),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
