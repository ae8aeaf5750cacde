/* Fuzz target: the MCP route's Authorization header check (proxy/bearer.h).
 *
 * The input is split at '\n' into up to 4 header values (a real field value
 * never holds a newline), so one, several and empty headers are all
 * reached. Each set is checked against a fixed policy (REVOKE_BEFORE at
 * FUZZ_CUTOFF) at FUZZ_NOW, and the invariants below must hold; anything
 * else aborts. The 401 renderings are produced for every denial.
 *
 * Differential (issue 13): the same values go through
 * proxy_bearer_check_cached with one cache kept for the whole run, twice
 * (a miss, then a hit when the first passed), at FUZZ_NOW and past a
 * token's hour, for this mount and another one; every outcome must equal
 * the plain check's (the jansson path) field for field. So a cached
 * answer is never anything a fresh open would not give.
 *
 * Seeds in fuzz/corpus/authorization_header/ carry tokens minted with
 * FUZZ_SECRET (the seal_open target's secret) for FUZZ_AUD; valid-* ones
 * pass at FUZZ_NOW. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "grants.h"
#include "proxy/bearer.h"
#include "proxy/bearer_cache.h"
#include "seal.h"

#define FUZZ_SECRET "fuzz-secret-that-is-at-least-32-bytes!!"
#define FUZZ_AUD "https://auth.example.com"
#define FUZZ_RES FUZZ_AUD "/mcp"
#define FUZZ_NOW 1780000000
#define FUZZ_CUTOFF (FUZZ_NOW - 86400)
#define FUZZ_VALUES_MAX 4

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct seal_ring *ring;
static struct proxy_bearer_cache *cache;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ring = seal_ring_new(FUZZ_SECRET, strlen(FUZZ_SECRET), NULL, NULL, 0);
    cache = proxy_bearer_cache_new();
    if (ring == NULL) {
        abort();
    }
    return 0;
}

static void
check_denial_renders(enum proxy_bearer_rc rc)
{
    struct buf b;
    buf_init(&b, 4096);
    if (proxy_bearer_format_body(rc, &b) != 0 || b.ptr[b.len - 1] != '\n') {
        abort();
    }
    buf_reset(&b);
    /* RFC 6750 3.1: no error code when there were no credentials. */
    const char *want =
        rc == PROXY_BEARER_NO_CREDENTIALS ? "Bearer resource_metadata=\"" : "Bearer error=\"";
    if (proxy_bearer_format_challenge(rc, FUZZ_AUD, "/mcp", &b) != 0 ||
        strncmp(buf_cstr(&b), want, strlen(want)) != 0) {
        abort();
    }
    buf_cleanup(&b);
}

static bool
same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
same_result(const struct proxy_bearer_result *a, const struct proxy_bearer_result *b)
{
    if (a->rc != b->rc || a->has_reason != b->has_reason ||
        (a->has_reason && a->reason != b->reason) || !same_str(a->log_event, b->log_event) ||
        a->seal_rc != b->seal_rc) {
        return false;
    }
    const struct grant_access *x = &a->grant;
    const struct grant_access *y = &b->grant;
    if (!same_str(x->token_id, y->token_id) || !same_str(x->aud, y->aud) ||
        !same_str(x->resource, y->resource) || !same_str(x->scope, y->scope) ||
        !same_str(x->sub, y->sub) || !same_str(x->email, y->email) ||
        !same_str(x->client_id, y->client_id) || !same_str(x->acr, y->acr) ||
        x->group_count != y->group_count || x->iat != y->iat || x->exp != y->exp ||
        x->auth_time != y->auth_time) {
        return false;
    }
    for (size_t i = 0; i < x->group_count; i++) {
        if (!same_str(x->groups[i], y->groups[i])) {
            return false;
        }
    }
    return true;
}

/* The cached check, twice, against the plain one for the same inputs. */
static void
check_cache_agrees(const struct proxy_bearer_policy *policy, const struct slice *values,
                   size_t count, int64_t now)
{
    struct proxy_bearer_result ref;
    enum proxy_bearer_rc want = proxy_bearer_check(policy, values, count, now, &ref);
    for (int round = 0; round < 2; round++) {
        struct proxy_bearer_result got;
        enum proxy_bearer_rc rc =
            proxy_bearer_check_cached(policy, cache, values, count, now, &got);
        if (rc != want || !same_result(&ref, &got)) {
            abort();
        }
        proxy_bearer_result_cleanup(&got);
    }
    proxy_bearer_result_cleanup(&ref);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ring == NULL) {
        LLVMFuzzerInitialize(NULL, NULL);
    }
    struct slice values[FUZZ_VALUES_MAX];
    size_t count = 0;
    struct slice rest = slice_make((const char *)data, size);
    while (size > 0 && count < FUZZ_VALUES_MAX) {
        long nl = slice_find_byte(rest, '\n');
        if (nl < 0) {
            values[count++] = rest;
            break;
        }
        values[count++] = slice_make(rest.ptr, (size_t)nl);
        rest = slice_skip(rest, (size_t)nl + 1);
    }

    struct proxy_bearer_policy policy = {
        .ring = ring,
        .audience = FUZZ_AUD,
        .resource = FUZZ_RES,
        .revoke_before_set = true,
        .revoke_before_s = FUZZ_CUTOFF,
        .revoke_before_ns = 0,
    };
    struct proxy_bearer_result r;
    enum proxy_bearer_rc rc = proxy_bearer_check(&policy, values, count, FUZZ_NOW, &r);
    struct slice token;
    bool well_formed = count == 1 && proxy_bearer_credential(values[0], &token);
    bool refused_shape = rc == PROXY_BEARER_INVALID_REQUEST || rc == PROXY_BEARER_NO_CREDENTIALS;
    if (rc != r.rc || refused_shape == well_formed ||
        (rc == PROXY_BEARER_NO_CREDENTIALS && count > 1) ||
        r.has_reason != (rc == PROXY_BEARER_INVALID_TOKEN) ||
        (r.log_event != NULL) != r.has_reason) {
        abort();
    }
    if (well_formed && (token.len == 0 || token.ptr < values[0].ptr ||
                        token.ptr + token.len > values[0].ptr + values[0].len)) {
        abort();
    }
    if (rc == PROXY_BEARER_OK) {
        /* Everything SPEC.md 4.1 promises about a passing token. */
        if (r.grant.sub == NULL || r.grant.sub[0] == '\0' || strcmp(r.grant.aud, FUZZ_AUD) != 0 ||
            (r.grant.resource[0] != '\0' && strcmp(r.grant.resource, FUZZ_RES) != 0) ||
            r.grant.iat < FUZZ_CUTOFF || r.grant.iat == 0 || FUZZ_NOW > r.grant.exp) {
            abort();
        }
    } else {
        if (r.grant.sub != NULL) {
            abort();
        }
        check_denial_renders(rc);
    }
    proxy_bearer_result_cleanup(&r);

    struct proxy_bearer_policy other_mount = policy;
    other_mount.resource = FUZZ_AUD "/other";
    check_cache_agrees(&policy, values, count, FUZZ_NOW);
    check_cache_agrees(&other_mount, values, count, FUZZ_NOW);
    check_cache_agrees(&policy, values, count, FUZZ_NOW + 3601);
    check_cache_agrees(&policy, values, count, FUZZ_NOW);
    return 0;
}
