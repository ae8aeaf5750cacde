/* oidc/jwks: which keys a JWKS yields, snapshots, refresh scheduling, and
 * the HTTP source.
 *
 * The HTTP source is exercised against the loopback fault server (a 404
 * and a served document on demand); the refresh tests inject the source
 * function instead, so they control what a refresh returns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjose/cjose.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>

#include "base/clock.h"
#include "base/xalloc.h"
#include "fault_server.h"
#include "oidc/jwks.h"
#include "oidc/provider.h"
#include "loop.h"

static char *
public_jwk(cjose_jwk_t *k, const char *extra_json)
{
    cjose_err err;
    char *pub = cjose_jwk_to_json(k, false, &err);
    json_t *o = json_loads(pub, 0, NULL);
    free(pub);
    if (extra_json != NULL) {
        json_t *x = json_loads(extra_json, 0, NULL);
        json_object_update(o, x);
        json_decref(x);
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static cjose_jwk_t *rsa2048, *rsa1024, *p256, *p384, *oct;

static int
group_setup(void **state)
{
    (void)state;
    static const uint8_t e[] = {0x01, 0x00, 0x01};
    cjose_err err;
    rsa2048 = cjose_jwk_create_RSA_random(2048, e, sizeof(e), &err);
    rsa1024 = cjose_jwk_create_RSA_random(1024, e, sizeof(e), &err);
    p256 = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
    p384 = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_384, &err);
    oct = cjose_jwk_create_oct_random(32, &err);
    assert_non_null(rsa2048);
    assert_non_null(rsa1024);
    assert_non_null(p256);
    assert_non_null(p384);
    assert_non_null(oct);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    cjose_jwk_release(rsa2048);
    cjose_jwk_release(rsa1024);
    cjose_jwk_release(p256);
    cjose_jwk_release(p384);
    cjose_jwk_release(oct);
    return 0;
}

/* Parses {"keys":[<k1>,<k2>...]} built from JWK texts (each freed). */
static int
parse_keys(struct oidc_jwks_set **out, size_t n, ...)
{
    struct buf doc, err;
    buf_init(&doc, 1 << 20);
    buf_init(&err, 1024);
    assert_int_equal(buf_append_str(&doc, "{\"keys\":["), 0);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        char *k = va_arg(ap, char *);
        assert_int_equal(buf_appendf(&doc, "%s%s", i ? "," : "", k), 0);
        xfree(k);
    }
    va_end(ap);
    assert_int_equal(buf_append_str(&doc, "]}"), 0);
    int rc = oidc_jwks_set_parse(buf_slice(&doc), out, &err);
    buf_cleanup(&doc);
    buf_cleanup(&err);
    return rc;
}

static char *
owned(char *cjose_string)
{
    char *copy = xstrdup(cjose_string);
    free(cjose_string);
    return copy;
}

#define RSA_ALGS                                                                                   \
    (1u << OIDC_ALG_RS256 | 1u << OIDC_ALG_RS384 | 1u << OIDC_ALG_RS512 | 1u << OIDC_ALG_PS256 |   \
     1u << OIDC_ALG_PS384 | 1u << OIDC_ALG_PS512)

static void
test_usable_keys_and_masks(void **state)
{
    (void)state;
    struct oidc_jwks_set *s = NULL;
    assert_int_equal(
        parse_keys(&s, 4, owned(public_jwk(rsa2048, "{\"kid\":\"r\",\"use\":\"sig\"}")),
                   owned(public_jwk(p256, "{\"kid\":\"e\"}")), owned(public_jwk(p384, NULL)),
                   owned(public_jwk(rsa2048, "{\"kid\":\"only-ps\",\"alg\":\"PS256\"}"))),
        0);
    assert_int_equal(oidc_jwks_set_count(s), 4);
    assert_string_equal(oidc_jwks_set_key(s, 0)->kid, "r");
    assert_int_equal(oidc_jwks_set_key(s, 0)->alg_mask, RSA_ALGS);
    assert_int_equal(oidc_jwks_set_key(s, 1)->alg_mask, 1u << OIDC_ALG_ES256);
    assert_null(oidc_jwks_set_key(s, 2)->kid);
    assert_int_equal(oidc_jwks_set_key(s, 2)->alg_mask, 1u << OIDC_ALG_ES384);
    assert_int_equal(oidc_jwks_set_key(s, 3)->alg_mask, 1u << OIDC_ALG_PS256);
    assert_null(oidc_jwks_set_key(s, 4));
    assert_int_equal(oidc_jwks_set_generation(s), 0);
    oidc_jwks_set_unref(s);
}

static void
test_unusable_keys_skipped(void **state)
{
    (void)state;
    struct oidc_jwks_set *s = NULL;
    assert_int_equal(
        parse_keys(&s, 8, owned(public_jwk(rsa2048, "{\"kid\":\"enc\",\"use\":\"enc\"}")),
                   owned(public_jwk(rsa2048, "{\"kid\":\"oaep\",\"alg\":\"RSA-OAEP\"}")),
                   owned(public_jwk(rsa2048, "{\"kid\":\"hs\",\"alg\":\"HS256\"}")),
                   owned(public_jwk(rsa1024, "{\"kid\":\"short\"}")),
                   owned(cjose_jwk_to_json(oct, true, &(cjose_err){0})),
                   owned(public_jwk(p256, "{\"kid\":\"es384-on-p256\",\"alg\":\"ES384\"}")),
                   xstrdup("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7h"
                           "cvPapiMlrwIaaPcHURo\"}"),
                   owned(public_jwk(p256, "{\"kid\":\"keep\"}"))),
        0);
    assert_int_equal(oidc_jwks_set_count(s), 1);
    assert_string_equal(oidc_jwks_set_key(s, 0)->kid, "keep");
    oidc_jwks_set_unref(s);
}

static void
test_bad_documents(void **state)
{
    (void)state;
    struct oidc_jwks_set *s = NULL;
    struct buf err;
    buf_init(&err, 1024);
    const char *bad[] = {"",
                         "[]",
                         "{}",
                         "{\"keys\":{}}",
                         "{\"keys\":[]}",
                         "{\"keys\":[1,\"x\"]}",
                         "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\"}]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        buf_reset(&err);
        assert_int_equal(oidc_jwks_set_parse(slice_from_cstr(bad[i]), &s, &err), -1);
        assert_true(err.len > 0);
    }
    /* More keys than the cap. */
    struct buf doc;
    buf_init(&doc, 1 << 20);
    char *k = public_jwk(p256, NULL);
    assert_int_equal(buf_append_str(&doc, "{\"keys\":["), 0);
    for (int i = 0; i < 101; i++) {
        assert_int_equal(buf_appendf(&doc, "%s%s", i ? "," : "", k), 0);
    }
    assert_int_equal(buf_append_str(&doc, "]}"), 0);
    buf_reset(&err);
    assert_int_equal(oidc_jwks_set_parse(buf_slice(&doc), &s, &err), -1);
    assert_non_null(strstr(buf_cstr(&err), "101 keys"));
    assert_null(s);
    free(k);
    buf_cleanup(&doc);
    buf_cleanup(&err);
}

static void
test_refcount(void **state)
{
    (void)state;
    struct oidc_jwks_set *s = NULL;
    assert_int_equal(parse_keys(&s, 1, owned(public_jwk(p256, NULL))), 0);
    struct oidc_jwks_set *t = oidc_jwks_set_ref(s);
    assert_ptr_equal(s, t);
    assert_null(oidc_jwks_set_unref(s));
    /* Still alive through t (ASan would flag a use after free). */
    assert_int_equal(oidc_jwks_set_count(t), 1);
    assert_null(oidc_jwks_set_unref(t));
    assert_null(oidc_jwks_set_unref(NULL));
}

/* ---- the manager, with an injected source ---- */

struct source {
    atomic_uint calls;
    char *doc;
    bool fail;
};

static int
mock_source(void *arg, const atomic_bool *stop, struct buf *out, struct buf *err)
{
    (void)stop;
    struct source *s = arg;
    atomic_fetch_add(&s->calls, 1);
    if (s->fail) {
        assert_int_equal(buf_append_str(err, "unreachable"), 0);
        return -1;
    }
    return buf_append_str(out, s->doc);
}

static char *
one_key_doc(void)
{
    char *k = public_jwk(p256, "{\"kid\":\"k\"}");
    struct buf b;
    buf_init(&b, 1 << 16);
    assert_int_equal(buf_appendf(&b, "{\"keys\":[%s]}", k), 0);
    free(k);
    return buf_take(&b);
}

static void
test_new_fails_closed(void **state)
{
    (void)state;
    struct source src = {.fail = true};
    struct oidc_jwks_options opt = {.source = mock_source, .source_arg = &src};
    struct oidc_jwks *j = NULL;
    struct buf err;
    buf_init(&err, 1024);
    assert_int_equal(oidc_jwks_new(&opt, NULL, &j, &err), -1);
    assert_string_equal(buf_cstr(&err), "unreachable");
    src.fail = false;
    src.doc = "{\"keys\":[]}";
    buf_reset(&err);
    assert_int_equal(oidc_jwks_new(&opt, NULL, &j, &err), -1);
    assert_null(j);
    buf_cleanup(&err);
}

static void
test_periodic_refresh(void **state)
{
    (void)state;
    struct source src = {.doc = one_key_doc()};
    struct oidc_jwks_options opt = {
        .source = mock_source, .source_arg = &src, .refresh_interval_ms = 20};
    struct oidc_jwks *j = NULL;
    struct buf err;
    buf_init(&err, 1024);
    assert_int_equal(oidc_jwks_new(&opt, NULL, &j, &err), 0);
    uint64_t end = clock_mono_ms() + 5000;
    while (oidc_jwks_refresh_count(j) < 3 && clock_mono_ms() < end) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 5000000};
        nanosleep(&ts, NULL);
    }
    assert_true(oidc_jwks_refresh_count(j) >= 3);
    struct oidc_jwks_set *s = oidc_jwks_get(j);
    assert_true(oidc_jwks_set_generation(s) >= 3);
    oidc_jwks_set_unref(s);
    oidc_jwks_free(j);
    xfree(src.doc);
    buf_cleanup(&err);
}

struct delivered {
    bool done;
    uint64_t generation;
};

static void
on_refreshed(void *arg, struct oidc_jwks_set *set)
{
    struct delivered *d = arg;
    d->done = true;
    d->generation = oidc_jwks_set_generation(set);
}

static void
test_refresh_start_rules(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct source src = {.doc = one_key_doc()};
    struct oidc_jwks_options opt = {
        .source = mock_source, .source_arg = &src, .min_refresh_gap_ms = 30000};
    struct oidc_jwks *j = NULL;
    struct buf err;
    buf_init(&err, 1024);
    assert_int_equal(oidc_jwks_new(&opt, NULL, &j, &err), 0);

    /* First miss: a refresh runs and delivers generation 1. */
    struct delivered d1 = {0};
    assert_non_null(oidc_jwks_refresh_start(j, base, 0, on_refreshed, &d1));
    loop_run_until(base, &d1.done, 5000);
    assert_int_equal(d1.generation, 1);
    assert_int_equal(atomic_load(&src.calls), 2);

    /* Someone who saw generation 0 gets generation 1 without a fetch. */
    struct delivered d2 = {0};
    assert_non_null(oidc_jwks_refresh_start(j, base, 0, on_refreshed, &d2));
    assert_false(d2.done);
    loop_run_until(base, &d2.done, 5000);
    assert_int_equal(d2.generation, 1);
    assert_int_equal(atomic_load(&src.calls), 2);

    /* Someone who saw generation 1, within the gap: refused. */
    assert_null(oidc_jwks_refresh_start(j, base, 1, on_refreshed, &d2));
    assert_int_equal(atomic_load(&src.calls), 2);

    /* A cancelled wait is never delivered. */
    struct delivered d3 = {0};
    struct oidc_jwks_wait *w = oidc_jwks_refresh_start(j, base, 0, on_refreshed, &d3);
    oidc_jwks_refresh_cancel(w);
    loop_run_for(base, 100);
    assert_false(d3.done);

    oidc_jwks_free(j);
    event_base_free(base);
    xfree(src.doc);
    buf_cleanup(&err);
}

/* ---- the HTTP source, against the fault server ---- */

static char *served_doc;

static void
jwks_handler(void *arg, const struct fault_request *req, struct fault_response *out)
{
    (void)arg;
    if (strcmp(req->path, "/jwks") == 0) {
        out->content_type = "application/jwk-set+json";
        out->body = served_doc;
    } else {
        out->status = 404;
    }
}

static void
test_http_source(void **state)
{
    (void)state;
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    served_doc = one_key_doc();
    struct fault_server *srv = fault_server_start(jwks_handler, NULL);
    char uri[256];
    snprintf(uri, sizeof(uri), "%s/jwks", fault_server_url(srv));
    struct oidc_jwks *j = NULL;
    struct buf err;
    buf_init(&err, 1024);
    assert_int_equal(oidc_jwks_new_http(uri, NULL, &j, &err), 0);
    struct oidc_jwks_set *s = oidc_jwks_get(j);
    assert_int_equal(oidc_jwks_set_count(s), 1);
    assert_string_equal(oidc_jwks_set_key(s, 0)->kid, "k");
    oidc_jwks_set_unref(s);
    oidc_jwks_free(j);
    j = NULL;

    snprintf(uri, sizeof(uri), "%s/missing", fault_server_url(srv));
    assert_int_equal(oidc_jwks_new_http(uri, NULL, &j, &err), -1);
    assert_non_null(strstr(buf_cstr(&err), "HTTP status 404"));
    assert_null(j);
    fault_server_stop(srv);
    xfree(served_doc);
    buf_cleanup(&err);
}

int
main(void)
{
    evthread_use_pthreads();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usable_keys_and_masks), cmocka_unit_test(test_unusable_keys_skipped),
        cmocka_unit_test(test_bad_documents),         cmocka_unit_test(test_refcount),
        cmocka_unit_test(test_new_fails_closed),      cmocka_unit_test(test_periodic_refresh),
        cmocka_unit_test(test_refresh_start_rules),   cmocka_unit_test(test_http_source),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
