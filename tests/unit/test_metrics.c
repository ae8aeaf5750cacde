/* metrics: the Prometheus exposition of SPEC.md 7.1 -- unlabelled families
 * at 0 from the start, labelled series once incremented, the per-tool label
 * mapping with its cap, exact counts under concurrent increments. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"
#include "metrics_process.h"

static int
reset(void **state)
{
    (void)state;
    metrics_reset();
    metrics_set_tool_cardinality_cap(256);
    return 0;
}

/* The whole exposition as a C string (caller frees with buf_cleanup). */
static void
expose(struct buf *b)
{
    buf_init(b, 1 << 20);
    assert_int_equal(metrics_format(b), 0);
}

/* Is `line` (without its newline) one of the exposition's lines? */
static bool
has_line(const struct buf *b, const char *line)
{
    size_t n = strlen(line);
    const char *p = buf_cstr(b);
    while ((p = strstr(p, line)) != NULL) {
        bool starts = p == buf_cstr(b) || p[-1] == '\n';
        if (starts && p[n] == '\n') {
            return true;
        }
        p += n;
    }
    return false;
}

/* Number of sample lines (not comments) whose name is `family`. */
static int
count_samples(const struct buf *b, const char *family)
{
    int count = 0;
    size_t n = strlen(family);
    const char *p = buf_cstr(b);
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        if (p[0] != '#' && strncmp(p, family, n) == 0 && (p[n] == ' ' || p[n] == '{')) {
            count++;
        }
        p = nl + 1;
    }
    return count;
}

/* Is there a labelled counter series? (The build info and the empty
 * upstream histogram's buckets always carry labels.) */
static bool
has_labelled_counter(const struct buf *b)
{
    const char *p = buf_cstr(b);
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        if (p[0] != '#' && memchr(p, '{', (size_t)(nl - p)) != NULL &&
            strncmp(p, "mcp_auth_build_info{", 20) != 0 &&
            strncmp(p, "mcp_auth_upstream_ttfb_seconds_bucket{", 38) != 0) {
            return true;
        }
        p = nl + 1;
    }
    return false;
}

static void
test_unlabelled_families_start_at_zero(void **state)
{
    (void)state;
    struct buf b;
    expose(&b);
    static const char *zero[] = {
        "mcp_auth_clients_registered_total 0",          "mcp_auth_idp_exchange_throttled_total 0",
        "mcp_auth_groups_claim_shape_mismatch_total 0", "mcp_auth_rpc_batches_total 0",
        "mcp_auth_rpc_batches_failed_total 0",          "mcp_auth_log_lines_dropped_total 0",
    };
    for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
        if (!has_line(&b, zero[i])) {
            fail_msg("missing line: %s", zero[i]);
        }
    }
    /* Every family of SPEC.md 7.1 is declared as a counter. */
    static const char *families[] = {
        "mcp_auth_tokens_issued_total",
        "mcp_auth_access_denied_total",
        "mcp_auth_replay_detected_total",
        "mcp_auth_clients_registered_total",
        "mcp_auth_rate_limited_total",
        "mcp_auth_idp_exchange_throttled_total",
        "mcp_auth_consent_decisions_total",
        "mcp_auth_authorize_initiated_total",
        "mcp_auth_groups_claim_shape_mismatch_total",
        "mcp_auth_token_seals_total",
        "mcp_auth_rpc_calls_total",
        "mcp_auth_rpc_calls_failed_total",
        "mcp_auth_rpc_request_bytes_total",
        "mcp_auth_rpc_response_bytes_total",
        "mcp_auth_rpc_batches_total",
        "mcp_auth_rpc_batches_failed_total",
        "mcp_auth_rpc_batch_bytes_total",
        "mcp_auth_log_lines_dropped_total",
    };
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        char line[128];
        snprintf(line, sizeof(line), "# TYPE %s counter", families[i]);
        if (!has_line(&b, line)) {
            fail_msg("missing: %s", line);
        }
    }
    /* No labelled series before anything happened. */
    assert_false(has_labelled_counter(&b));
    buf_cleanup(&b);
}

static void
test_labelled_series_appear_once_incremented(void **state)
{
    (void)state;
    metrics_inc_rate_limited(METRICS_ENDPOINT_MCP);
    metrics_inc_rate_limited(METRICS_ENDPOINT_MCP);
    metrics_inc_denied(METRICS_DENIED_TOKEN_EXPIRED);
    metrics_inc_replay(METRICS_REPLAY_CALLBACK_STATE);
    metrics_inc_seal(METRICS_PURPOSE_REFRESH);
    metrics_inc_tokens_issued(METRICS_GRANT_REFRESH_TOKEN);
    metrics_inc_consent_decision(true);
    metrics_inc_authorize_initiated(false);
    metrics_inc(METRICS_CLIENTS_REGISTERED);
    struct buf b;
    expose(&b);
    static const char *lines[] = {
        "mcp_auth_rate_limited_total{endpoint=\"mcp\"} 2",
        "mcp_auth_access_denied_total{reason=\"token_expired\"} 1",
        "mcp_auth_replay_detected_total{kind=\"callback_state\"} 1",
        "mcp_auth_token_seals_total{purpose=\"refresh\"} 1",
        "mcp_auth_tokens_issued_total{grant_type=\"refresh_token\"} 1",
        "mcp_auth_consent_decisions_total{decision=\"approved\"} 1",
        "mcp_auth_authorize_initiated_total{path=\"silent\"} 1",
        "mcp_auth_clients_registered_total 1",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!has_line(&b, lines[i])) {
            fail_msg("missing line: %s\n%s", lines[i], buf_cstr(&b));
        }
    }
    /* Only the incremented label values appear. */
    assert_int_equal(count_samples(&b, "mcp_auth_rate_limited_total"), 1);
    assert_int_equal(count_samples(&b, "mcp_auth_access_denied_total"), 1);
    assert_int_equal(count_samples(&b, "mcp_auth_consent_decisions_total"), 1);
    assert_int_equal(count_samples(&b, "mcp_auth_rpc_calls_total"), 0);
    buf_cleanup(&b);

    assert_int_equal(metrics_get_rate_limited(METRICS_ENDPOINT_MCP), 2);
    assert_int_equal(metrics_get_rate_limited(METRICS_ENDPOINT_TOKEN), 0);
    assert_int_equal(metrics_get_consent_decision(true), 1);
    assert_int_equal(metrics_get_consent_decision(false), 0);
    assert_int_equal(metrics_get_authorize_initiated(false), 1);
    assert_int_equal(metrics_get(METRICS_CLIENTS_REGISTERED), 1);

    /* Reset forgets it all. */
    metrics_reset();
    expose(&b);
    assert_false(has_labelled_counter(&b));
    assert_true(has_line(&b, "mcp_auth_clients_registered_total 0"));
    buf_cleanup(&b);
}

static void
test_label_tables_match_spec(void **state)
{
    (void)state;
    static const char *endpoints[] = {
        "register", "authorize", "consent", "callback", "token", "mcp", "discovery", "revoke",
    };
    assert_int_equal(METRICS_ENDPOINT_COUNT, 8);
    for (int i = 0; i < METRICS_ENDPOINT_COUNT; i++) {
        assert_string_equal(metrics_endpoint_str((enum metrics_endpoint)i), endpoints[i]);
    }
    static const char *reasons[] = {
        "client_id_missing",
        "client_id_invalid",
        "client_typ_mismatch",
        "client_audience_mismatch",
        "client_registration_expired",
        "state_missing",
        "replay_store_unavailable",
        "id_token_verification_failed",
        "subject_missing",
        "claim_invalid",
        "email_unverified",
        "group_invalid",
        "group",
        "refresh_family_revoked",
        "refresh_concurrent_submit",
        "invalid_token",
        "token_expired",
        "audience_mismatch",
        "resource_mismatch",
        "token_revoked_iat_cutoff",
        "subject_concurrency_exceeded",
        "consent_cross_site",
        "consent_browser_mismatch",
        "callback_browser_mismatch",
        "origin_not_allowed",
        "mcp_header_mismatch",
        "client_metadata_invalid",
        "token_revoked_family",
        "token_revoked_subject",
        "revocation_set_full",
        "groups_overage",
        "hosted_domain",
    };
    assert_int_equal(METRICS_DENIED_COUNT, sizeof(reasons) / sizeof(reasons[0]));
    for (int i = 0; i < METRICS_DENIED_COUNT; i++) {
        assert_string_equal(metrics_denied_str((enum metrics_denied)i), reasons[i]);
    }
    static const char *kinds[] = {"code", "refresh", "consent", "callback_state"};
    for (int i = 0; i < METRICS_REPLAY_COUNT; i++) {
        assert_string_equal(metrics_replay_str((enum metrics_replay)i), kinds[i]);
    }
    static const char *purposes[] = {"client", "consent", "session", "code", "access", "refresh"};
    for (int i = 0; i < METRICS_PURPOSE_COUNT; i++) {
        assert_string_equal(metrics_purpose_str((enum metrics_purpose)i), purposes[i]);
    }
    assert_string_equal(metrics_endpoint_str(METRICS_ENDPOINT_COUNT), "unknown");

    /* Every label value reaches the exposition with its own name. */
    for (int i = 0; i < METRICS_DENIED_COUNT; i++) {
        metrics_inc_denied((enum metrics_denied)i);
    }
    struct buf b;
    expose(&b);
    for (int i = 0; i < METRICS_DENIED_COUNT; i++) {
        char line[128];
        snprintf(line, sizeof(line), "mcp_auth_access_denied_total{reason=\"%s\"} 1", reasons[i]);
        assert_true(has_line(&b, line));
    }
    buf_cleanup(&b);

    /* mcp_auth_cimd_fetch_total: every result label, bounded. */
    static const char *results[] = {"ok",       "redirect",        "http_status",
                                    "not_json", "too_large",       "invalid_document",
                                    "timeout",  "address_refused", "network"};
    assert_int_equal(METRICS_CIMD_FETCH_COUNT, sizeof(results) / sizeof(results[0]));
    for (int i = 0; i < METRICS_CIMD_FETCH_COUNT; i++) {
        metrics_inc_cimd_fetch((enum metrics_cimd_fetch)i);
    }
    expose(&b);
    for (int i = 0; i < METRICS_CIMD_FETCH_COUNT; i++) {
        char line[128];
        snprintf(line, sizeof(line), "mcp_auth_cimd_fetch_total{result=\"%s\"} 1", results[i]);
        assert_true(has_line(&b, line));
    }
    buf_cleanup(&b);
}

static void
test_tool_labels(void **state)
{
    (void)state;
    metrics_set_tool_cardinality_cap(2);
    metrics_rpc_call("", false, 0, 0, true);
    metrics_rpc_call(NULL, true, 0, 0, true);
    metrics_rpc_call("alpha", false, 10, 20, true);
    metrics_rpc_call("beta", true, 5, -1, true);
    /* The cap is reached: new names fold into _overflow... */
    metrics_rpc_call("gamma", false, 7, 7, true);
    metrics_rpc_call("delta", true, 0, 0, true);
    /* ...known names keep their own series, and _unknown never counted. */
    metrics_rpc_call("alpha", false, 1, 1, true);
    metrics_rpc_call("", false, 0, 0, true);
    /* Bytes only when asked for and positive. */
    metrics_rpc_call("alpha", false, 100, 100, false);

    assert_int_equal(metrics_get_rpc_calls("_unknown", false), 3);
    assert_int_equal(metrics_get_rpc_calls("_unknown", true), 1);
    assert_int_equal(metrics_get_rpc_calls("alpha", false), 3);
    assert_int_equal(metrics_get_rpc_calls("alpha", true), 0);
    assert_int_equal(metrics_get_rpc_calls("beta", true), 1);
    assert_int_equal(metrics_get_rpc_calls("_overflow", false), 2);
    assert_int_equal(metrics_get_rpc_calls("_overflow", true), 1);
    assert_int_equal(metrics_get_rpc_calls("gamma", false), 0);
    assert_int_equal(metrics_get_rpc_calls("delta", false), 0);

    struct buf b;
    expose(&b);
    static const char *lines[] = {
        "mcp_auth_rpc_calls_total{tool=\"_unknown\"} 3",
        "mcp_auth_rpc_calls_total{tool=\"alpha\"} 3",
        "mcp_auth_rpc_calls_total{tool=\"beta\"} 1",
        "mcp_auth_rpc_calls_total{tool=\"_overflow\"} 2",
        "mcp_auth_rpc_calls_failed_total{tool=\"_unknown\"} 1",
        "mcp_auth_rpc_calls_failed_total{tool=\"beta\"} 1",
        "mcp_auth_rpc_calls_failed_total{tool=\"_overflow\"} 1",
        "mcp_auth_rpc_request_bytes_total{tool=\"alpha\"} 11",
        "mcp_auth_rpc_request_bytes_total{tool=\"beta\"} 5",
        "mcp_auth_rpc_request_bytes_total{tool=\"_overflow\"} 7",
        "mcp_auth_rpc_response_bytes_total{tool=\"alpha\"} 21",
        "mcp_auth_rpc_response_bytes_total{tool=\"_overflow\"} 7",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!has_line(&b, lines[i])) {
            fail_msg("missing line: %s\n%s", lines[i], buf_cstr(&b));
        }
    }
    /* Zero-valued per-tool series stay out. */
    assert_int_equal(count_samples(&b, "mcp_auth_rpc_calls_failed_total"), 3);
    assert_int_equal(count_samples(&b, "mcp_auth_rpc_response_bytes_total"), 2);
    assert_null(strstr(buf_cstr(&b), "gamma"));
    buf_cleanup(&b);
}

static void
test_tool_cap_zero_is_unlimited(void **state)
{
    (void)state;
    metrics_set_tool_cardinality_cap(0);
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "tool_%d", i);
        metrics_rpc_call(name, false, 0, 0, false);
    }
    assert_int_equal(metrics_get_rpc_calls("tool_0", false), 1);
    assert_int_equal(metrics_get_rpc_calls("tool_999", false), 1);
    assert_int_equal(metrics_get_rpc_calls("_overflow", false), 0);
    struct buf b;
    expose(&b);
    assert_int_equal(count_samples(&b, "mcp_auth_rpc_calls_total"), 1000);
    buf_cleanup(&b);
}

static void
test_tool_cap_counts_distinct_names_only(void **state)
{
    (void)state;
    metrics_set_tool_cardinality_cap(3);
    /* Repeats, _unknown and literal _overflow do not use up the cap. */
    for (int i = 0; i < 10; i++) {
        metrics_rpc_call("a", false, 0, 0, false);
        metrics_rpc_call("", false, 0, 0, false);
    }
    metrics_rpc_call("_overflow", false, 0, 0, false);
    metrics_rpc_call("_unknown", false, 0, 0, false);
    metrics_rpc_call("b", false, 0, 0, false);
    metrics_rpc_call("c", false, 0, 0, false);
    metrics_rpc_call("d", false, 0, 0, false);
    assert_int_equal(metrics_get_rpc_calls("b", false), 1);
    assert_int_equal(metrics_get_rpc_calls("c", false), 1);
    assert_int_equal(metrics_get_rpc_calls("d", false), 0);
    assert_int_equal(metrics_get_rpc_calls("_overflow", false), 2);
    assert_int_equal(metrics_get_rpc_calls("_unknown", false), 11);
}

static void
test_batches(void **state)
{
    (void)state;
    metrics_rpc_batch(false, 100, 200);
    metrics_rpc_batch(true, -1, 0);
    struct buf b;
    expose(&b);
    assert_true(has_line(&b, "mcp_auth_rpc_batches_total 2"));
    assert_true(has_line(&b, "mcp_auth_rpc_batches_failed_total 1"));
    assert_true(has_line(&b, "mcp_auth_rpc_batch_bytes_total{direction=\"request\"} 100"));
    assert_true(has_line(&b, "mcp_auth_rpc_batch_bytes_total{direction=\"response\"} 200"));
    buf_cleanup(&b);
}

static uint64_t
gauge_value(void)
{
    return 7;
}

static void
test_format_shape_and_cap(void **state)
{
    (void)state;
    metrics_set_gauge_fn("mcp_auth_test_gauge", "A gauge for the test.", gauge_value);
    metrics_inc_replay(METRICS_REPLAY_CODE);
    struct buf b;
    expose(&b);
    assert_true(has_line(&b, "# TYPE mcp_auth_test_gauge gauge"));
    assert_true(has_line(&b, "mcp_auth_test_gauge 7"));
    /* Every line is a comment or "name[{labels}] value"; every sample's
     * family was declared before it. */
    const char *p = buf_cstr(&b);
    assert_true(b.len > 0 && b.ptr[b.len - 1] == '\n');
    struct buf declared; /* " name1 name2 ... " */
    buf_init(&declared, 1 << 16);
    assert_int_equal(buf_append_byte(&declared, ' '), 0);
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = (size_t)(nl - p);
        if (p[0] == '#') {
            assert_true(strncmp(p, "# HELP ", 7) == 0 || strncmp(p, "# TYPE ", 7) == 0);
            if (strncmp(p, "# TYPE ", 7) == 0) {
                size_t name_len = strcspn(p + 7, " ");
                assert_int_equal(buf_append(&declared, p + 7, name_len), 0);
                assert_int_equal(buf_append_byte(&declared, ' '), 0);
            }
        } else {
            size_t name_len = strcspn(p, "{ ");
            char name[128];
            assert_true(name_len + 3 <= sizeof(name));
            name[0] = ' ';
            memcpy(name + 1, p, name_len);
            name[name_len + 1] = ' ';
            name[name_len + 2] = '\0';
            /* A histogram's samples: family_bucket, _sum, _count. */
            static const char *const suffixes[] = {"_bucket ", "_sum ", "_count "};
            for (size_t s = 0; s < 3 && strstr(buf_cstr(&declared), name) == NULL; s++) {
                size_t sl = strlen(suffixes[s]);
                if (name_len + 2 > sl && strcmp(name + name_len + 2 - sl, suffixes[s]) == 0) {
                    name[name_len + 2 - sl] = ' ';
                    name[name_len + 3 - sl] = '\0';
                }
            }
            assert_non_null(strstr(buf_cstr(&declared), name));
            const char *sp = memchr(p, ' ', len);
            assert_non_null(sp);
            for (const char *d = sp + 1; d < nl; d++) {
                assert_true((*d >= '0' && *d <= '9') || *d == '.');
            }
        }
        p = nl + 1;
    }
    buf_cleanup(&declared);
    size_t full = b.len;
    buf_cleanup(&b);
    /* A buffer one byte short fails instead of emitting a cut exposition. */
    buf_init(&b, full - 1);
    assert_int_equal(metrics_format(&b), -1);
    buf_cleanup(&b);
    buf_init(&b, full);
    assert_int_equal(metrics_format(&b), 0);
    buf_cleanup(&b);
}

enum { THREADS = 8, PER_THREAD = 50000 };

static void *
hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        metrics_inc(METRICS_CLIENTS_REGISTERED);
        metrics_inc_rate_limited(METRICS_ENDPOINT_TOKEN);
        metrics_inc_seal((enum metrics_purpose)(i % METRICS_PURPOSE_COUNT));
        if (i % 10 == 0) {
            char name[16];
            snprintf(name, sizeof(name), "t%d", (i / 10) % 40);
            metrics_rpc_call(name, i % 20 == 0, 1, 2, true);
        }
    }
    return NULL;
}

static void
test_concurrent_increments_are_exact(void **state)
{
    (void)state;
    metrics_set_tool_cardinality_cap(16);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
    }
    /* Expose while the counters move: must not crash or fail. */
    for (int i = 0; i < 20; i++) {
        struct buf b;
        expose(&b);
        buf_cleanup(&b);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(metrics_get(METRICS_CLIENTS_REGISTERED), THREADS * PER_THREAD);
    assert_int_equal(metrics_get_rate_limited(METRICS_ENDPOINT_TOKEN), THREADS * PER_THREAD);
    uint64_t seals = 0;
    for (int i = 0; i < METRICS_PURPOSE_COUNT; i++) {
        seals += metrics_get_seal((enum metrics_purpose)i);
    }
    assert_int_equal(seals, THREADS * PER_THREAD);
    /* 40 names, cap 16: whichever 16 came first got their own series; the
     * total over all series is exact. */
    uint64_t calls = metrics_get_rpc_calls("_overflow", false);
    uint64_t failed = metrics_get_rpc_calls("_overflow", true);
    int own = 0;
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof(name), "t%d", i);
        uint64_t c = metrics_get_rpc_calls(name, false);
        own += c > 0;
        calls += c;
        failed += metrics_get_rpc_calls(name, true);
    }
    assert_int_equal(own, 16);
    assert_int_equal(calls, THREADS * (PER_THREAD / 10));
    assert_int_equal(failed, THREADS * (PER_THREAD / 20));
}

/* Request timing: cumulative buckets per route, the status classes, the
 * sum, and nothing for a route that saw no request. */
static void
test_request_histogram_per_route(void **state)
{
    (void)state;
    metrics_observe_request(0, METRICS_ROUTE_TOKEN, 200, 3000000);    /* 3 ms */
    metrics_observe_request(1, METRICS_ROUTE_TOKEN, 400, 40000000);   /* 40 ms */
    metrics_observe_request(2, METRICS_ROUTE_TOKEN, 503, 7000000000); /* 7 s */
    metrics_observe_request(0, METRICS_ROUTE_MCP, 499, 400000000000); /* 400 s: +Inf */
    metrics_observe_request(0, METRICS_ROUTE_COUNT, 0, 1);            /* out of range: other */
    struct buf b;
    expose(&b);
    static const char *lines[] = {
        "# TYPE mcp_auth_http_request_duration_seconds histogram",
        "mcp_auth_http_request_duration_seconds_bucket{route=\"token\",le=\"0.005\"} 1",
        "mcp_auth_http_request_duration_seconds_bucket{route=\"token\",le=\"0.025\"} 1",
        "mcp_auth_http_request_duration_seconds_bucket{route=\"token\",le=\"0.05\"} 2",
        "mcp_auth_http_request_duration_seconds_bucket{route=\"token\",le=\"5\"} 2",
        "mcp_auth_http_request_duration_seconds_bucket{route=\"token\",le=\"10\"} 3",
        "mcp_auth_http_request_duration_seconds_bucket{route=\"token\",le=\"+Inf\"} 3",
        "mcp_auth_http_request_duration_seconds_sum{route=\"token\"} 7.043000000",
        "mcp_auth_http_request_duration_seconds_count{route=\"token\"} 3",
        "mcp_auth_http_request_duration_seconds_bucket{route=\"mcp\",le=\"300\"} 0",
        "mcp_auth_http_request_duration_seconds_bucket{route=\"mcp\",le=\"+Inf\"} 1",
        "mcp_auth_http_requests_total{route=\"token\",code=\"2xx\"} 1",
        "mcp_auth_http_requests_total{route=\"token\",code=\"4xx\"} 1",
        "mcp_auth_http_requests_total{route=\"token\",code=\"5xx\"} 1",
        "mcp_auth_http_requests_total{route=\"mcp\",code=\"4xx\"} 1",
        "mcp_auth_http_requests_total{route=\"other\",code=\"other\"} 1",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!has_line(&b, lines[i])) {
            fail_msg("missing line: %s\n%s", lines[i], buf_cstr(&b));
        }
    }
    assert_null(strstr(buf_cstr(&b), "route=\"register\""));
    assert_int_equal(metrics_get_requests(METRICS_ROUTE_TOKEN), 3);
    assert_int_equal(metrics_get_requests(METRICS_ROUTE_HEALTH), 0);
    buf_cleanup(&b);
    for (int r = 0; r < METRICS_ROUTE_COUNT; r++) {
        assert_string_not_equal(metrics_route_str((enum metrics_route)r), "unknown");
    }
    assert_string_equal(metrics_route_str(METRICS_ROUTE_WELL_KNOWN), "well_known");
}

static void
test_upstream_ttfb_and_streams(void **state)
{
    (void)state;
    struct buf b;
    expose(&b);
    /* Unlabelled: present, at zero, before the first observation. */
    assert_true(has_line(&b, "mcp_auth_upstream_ttfb_seconds_bucket{le=\"+Inf\"} 0"));
    assert_true(has_line(&b, "mcp_auth_upstream_ttfb_seconds_count 0"));
    assert_true(has_line(&b, "mcp_auth_streams_open 0"));
    buf_cleanup(&b);
    metrics_observe_upstream_ttfb(3, 2000000); /* 2 ms */
    metrics_stream_open(3);
    metrics_stream_open(4);
    metrics_stream_open(metrics_shard_of(0xffffffffu));
    metrics_stream_close(5); /* a close counted on another shard still nets out */
    expose(&b);
    assert_true(has_line(&b, "mcp_auth_upstream_ttfb_seconds_bucket{le=\"0.005\"} 1"));
    assert_true(has_line(&b, "mcp_auth_upstream_ttfb_seconds_count 1"));
    assert_true(has_line(&b, "mcp_auth_upstream_ttfb_seconds_sum 0.002000000"));
    assert_true(has_line(&b, "mcp_auth_streams_open 2"));
    buf_cleanup(&b);
    assert_int_equal(metrics_get_upstream_ttfb_count(), 1);
    assert_int_equal(metrics_get_streams_open(), 2);
    assert_int_equal(metrics_shard_of(0xffffffffu), metrics_shard_of(100000));
    assert_true(metrics_shard_of(255) != metrics_shard_of(0xffffffffu));
}

/* Each worker writes its own shard without a lock; the scrape's sum is
 * exact while they run. */
static void *
observe_shard(void *arg)
{
    unsigned shard = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        metrics_observe_request(shard, METRICS_ROUTE_MCP, 200, (uint64_t)i * 1000);
        metrics_observe_upstream_ttfb(shard, 1000);
        metrics_stream_open(shard);
        metrics_stream_close(shard);
    }
    return NULL;
}

static void
test_sharded_observations_are_exact(void **state)
{
    (void)state;
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, observe_shard, (void *)(uintptr_t)i), 0);
    }
    for (int i = 0; i < 5; i++) {
        struct buf b;
        expose(&b);
        buf_cleanup(&b);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(metrics_get_requests(METRICS_ROUTE_MCP), THREADS * PER_THREAD);
    assert_int_equal(metrics_get_upstream_ttfb_count(), THREADS * PER_THREAD);
    assert_int_equal(metrics_get_streams_open(), 0);
}

/* The process families and the build info, read from /proc/self. */
static void
test_process_and_build_info(void **state)
{
    (void)state;
    struct metrics_process p;
    assert_true(metrics_process_read(&p));
    assert_true(p.resident_bytes > 0);
    assert_true(p.virtual_bytes >= p.resident_bytes);
    assert_true(p.open_fds >= 3); /* stdin, stdout, stderr at least */
    assert_true(p.max_fds >= p.open_fds);
    assert_true(p.start_time_seconds > 1.6e9); /* after 2020 */
    assert_true(p.cpu_seconds >= 0);
    /* One more descriptor is seen as one more. */
    FILE *f = fopen("/proc/self/stat", "r");
    assert_non_null(f);
    struct metrics_process q;
    assert_true(metrics_process_read(&q));
    assert_int_equal(q.open_fds, p.open_fds + 1);
    fclose(f);
    struct buf b;
    expose(&b);
    static const char *types[] = {
        "# TYPE process_cpu_seconds_total counter",
        "# TYPE process_resident_memory_bytes gauge",
        "# TYPE process_virtual_memory_bytes gauge",
        "# TYPE process_open_fds gauge",
        "# TYPE process_max_fds gauge",
        "# TYPE process_start_time_seconds gauge",
        "# TYPE mcp_auth_build_info gauge",
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (!has_line(&b, types[i])) {
            fail_msg("missing line: %s", types[i]);
        }
    }
    assert_non_null(
        strstr(buf_cstr(&b), "\nmcp_auth_build_info{version=\"" MAP_VERSION "\",commit=\""));
    buf_cleanup(&b);
}

#define T(f) cmocka_unit_test_setup(f, reset)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_unlabelled_families_start_at_zero),
        T(test_labelled_series_appear_once_incremented),
        T(test_label_tables_match_spec),
        T(test_tool_labels),
        T(test_tool_cap_zero_is_unlimited),
        T(test_tool_cap_counts_distinct_names_only),
        T(test_batches),
        T(test_format_shape_and_cap),
        T(test_concurrent_increments_are_exact),
        T(test_request_histogram_per_route),
        T(test_upstream_ttfb_and_streams),
        T(test_sharded_observations_are_exact),
        T(test_process_and_build_info),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    metrics_reset();
    return rc;
}
