/* config: loading through a fake environment. Every default, every rule
 * (one row per rule, SPEC.md 1.2-1.4 examples and the section 9
 * config_test list), the PROD_MODE gate, weak secrets, problems reported
 * together, secrets kept out of every report, and the docs drift check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "base/b64url.h"
#include "base/buf.h"
#include "base/hex.h"
#include "base/rand.h"
#include "base/xalloc.h"
#include "config.h"
#include "config_report.h"
#include "fixtures.h"
#include "log.h"
#include "log_skip.h"

/* ------------------------------------------------------------------ */
/* A fake environment: NULL = unset, "" = set but empty.               */

#define ENV_MAX 64

struct env_pair {
    const char *name;
    const char *value;
};

static struct env_pair env[ENV_MAX];
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
    assert_true(env_n < ENV_MAX);
    env[env_n++] = (struct env_pair){name, value};
}

static void
env_unset(const char *name)
{
    for (size_t i = 0; i < env_n; i++) {
        if (strcmp(env[i].name, name) == 0) {
            env[i] = env[--env_n];
            return;
        }
    }
}

#define GOOD_ISSUER "https://idp.example.com/realms/main"
#define GOOD_CLIENT_SECRET "client-secret-QzX81"
#define GOOD_UPSTREAM "http://mcp.internal:3000/mcp"
#define GOOD_REDIS "redis://:redis-pass-W7@redis.internal:6379/0"

/* A valid production environment: the six required variables and Redis. */
static int
env_good(void **state)
{
    (void)state;
    env_n = 0;
    env_set("OIDC_ISSUER_URL", GOOD_ISSUER);
    env_set("OIDC_CLIENT_ID", "mcp-proxy");
    env_set("OIDC_CLIENT_SECRET", GOOD_CLIENT_SECRET);
    env_set("PROXY_BASE_URL", FIXTURE_BASE);
    env_set("UPSTREAM_MCP_URL", GOOD_UPSTREAM);
    env_set("TOKEN_SIGNING_SECRET", FIXTURE_SECRET);
    env_set("REDIS_URL", GOOD_REDIS);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Loading with captured reports                                       */

struct loaded {
    bool ok;
    struct config c;
    char *err;
    char *warn;
};

static void
load(struct loaded *r)
{
    struct buf err;
    struct buf warn;
    buf_init(&err, CONFIG_REPORT_MAX);
    buf_init(&warn, CONFIG_REPORT_MAX);
    r->ok = config_load(fake_getenv, &r->c, &err, &warn);
    r->err = buf_take(&err);
    r->warn = buf_take(&warn);
}

static void
unload(struct loaded *r)
{
    config_cleanup(&r->c);
    xfree(r->err);
    xfree(r->warn);
}

/* Does the loaded ACCESS_LOG_SKIP_RE skip path? The matcher lives with
 * the logger (log_skip.h), built from the text config_load kept, as the
 * wiring builds it. */
static bool
skips(const struct config *c, const char *path, size_t len)
{
    struct log_skip *s = NULL;
    if (c->access_log_skip_re_text != NULL) {
        s = log_skip_new(c->access_log_skip_re_text, NULL);
        assert_non_null(s);
    }
    bool skipped = log_skip_match(s, path, len);
    log_skip_free(s);
    return skipped;
}

static size_t
count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p != '\0'; p++) {
        n += *p == '\n';
    }
    return n;
}

static void
expect_ok(void)
{
    struct loaded r;
    load(&r);
    if (!r.ok) {
        fail_msg("expected success, got:\n%s", r.err);
    }
    assert_string_equal(r.err, "");
    unload(&r);
}

/* Fails with a line "config: <name>: ..." that contains want. */
static void
expect_problem(const char *name, const char *want)
{
    struct loaded r;
    load(&r);
    if (r.ok) {
        fail_msg("expected a problem with %s (%s), but loading succeeded", name, want);
    }
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "config: %s: ", name);
    if (strstr(r.err, prefix) == NULL || strstr(r.err, want) == NULL) {
        fail_msg("expected \"%s...%s\" in:\n%s", prefix, want, r.err);
    }
    /* Nothing is half-built after a failure. */
    assert_null(r.c.oidc_client_id);
    assert_null(r.c.listen.text);
    unload(&r);
}

/* ------------------------------------------------------------------ */
/* Defaults and verbatim values                                        */

static void
defaults(void **state)
{
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    const struct config *c = &r.c;
    assert_string_equal(c->listen.text, ":8080");
    assert_string_equal(c->listen.host, "");
    assert_int_equal(c->listen.port, 8080);
    assert_string_equal(c->metrics_listen.text, "127.0.0.1:9090");
    assert_string_equal(c->metrics_listen.host, "127.0.0.1");
    assert_int_equal(c->metrics_listen.port, 9090);
    assert_int_equal(c->log_level, LOG_INFO);
    assert_string_equal(c->groups_claim, "groups");
    assert_int_equal(c->allowed_group_count, 0);
    assert_null(c->allowed_groups);
    assert_false(c->revoke_before_set);
    assert_true(c->pkce_required);
    assert_int_equal(c->shutdown_timeout_ms, 120000);
    assert_true(c->redis_required);
    assert_string_equal(c->redis_key_prefix, "mcp-auth-proxy:");
    assert_string_equal(c->redis_ca_file, "");
    assert_int_equal(c->refresh_race_grace_s, 2);
    assert_true(c->idp_exchange_rate_per_sec == 0);
    assert_int_equal(c->idp_exchange_burst, 50);
    assert_int_equal(c->client_registration_ttl_s, 168 * 3600);
    assert_true(c->rate_limit_enabled);
    assert_false(c->trust_proxy_headers);
    assert_int_equal(c->trusted_proxy_cidr_count, 0);
    assert_int_equal(c->trusted_proxy_header, CONFIG_PROXY_HEADER_X_FORWARDED_FOR);
    assert_int_equal(c->per_subject_concurrency, 16);
    assert_false(c->compat_allow_stateless);
    assert_false(c->state_required);
    assert_true(c->render_consent_page);
    assert_string_equal(c->mcp_resource_name, "");
    assert_int_equal(c->log_body_max, 65536);
    assert_null(c->access_log_skip_re_text);
    assert_false(skips(c, "/healthz", 8));
    assert_false(c->tool_metrics);
    assert_true(c->policy_filter_lists);
    assert_int_equal(c->tool_metrics_max_cardinality, 256);
    assert_string_equal(c->upstream_authorization_header, "");
    assert_int_equal(c->previous_secret_count, 0);
    assert_true(c->prod_mode);
    assert_false(c->oidc_allow_insecure_http);
    assert_int_equal(c->csp_form_action_extra_count, 0);
    assert_false(c->csp_form_action_extra_set);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(c->workers, cpus < 1 ? 1 : cpus > 256 ? 256 : cpus);
    assert_int_equal(c->upstream_header_timeout_ms, 30000);
    assert_int_equal(c->tcp_keepalive_idle_s, 30);
    assert_int_equal(c->tcp_keepalive_interval_s, 10);
    assert_int_equal(c->tcp_keepalive_count, 3);
    assert_int_equal(c->tcp_user_timeout_ms, 60000);
    assert_int_equal(c->client_write_stall_timeout_ms, 60000);
    assert_int_equal(c->max_client_connections, 0);
    assert_int_equal(c->max_client_connections_per_ip, 256);
    assert_int_equal(c->request_body_buffer_max, 256 * 1024 * 1024);
    assert_int_equal(c->request_body_buffer_per_ip_max, 32 * 1024 * 1024);
    assert_string_equal(r.warn, "");
    unload(&r);
}

static void
all_vars_set_are_loaded_verbatim(void **state)
{
    env_set("OIDC_ISSUER_URL", "https://idp.example.com/realms/main/");
    env_set("OIDC_CLIENT_ID", "client-id-1");
    env_set("MCP_RESOURCE_NAME", "Team MCP");
    env_set("GROUPS_CLAIM", "roles");
    env_set("LISTEN_ADDR", "[::1]:9443");
    env_set("METRICS_ADDR", ":9100");
    env_set("LOG_LEVEL", "DEBUG");
    env_set("UPSTREAM_AUTHORIZATION_HEADER", "Bearer up-token");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    /* Preface fix 1: the issuer keeps its trailing '/'. */
    assert_string_equal(r.c.oidc_issuer_url, "https://idp.example.com/realms/main/");
    assert_string_equal(r.c.oidc_client_id, "client-id-1");
    assert_string_equal(r.c.oidc_client_secret, GOOD_CLIENT_SECRET);
    assert_string_equal(r.c.proxy_base_url, FIXTURE_BASE);
    assert_string_equal(r.c.upstream_mcp_url, GOOD_UPSTREAM);
    assert_string_equal(r.c.upstream_origin, "http://mcp.internal:3000");
    assert_string_equal(r.c.mount, "/mcp");
    assert_memory_equal(r.c.token_signing_secret, FIXTURE_SECRET, sizeof(FIXTURE_SECRET));
    assert_int_equal(r.c.token_signing_secret_len, strlen(FIXTURE_SECRET));
    assert_string_equal(r.c.redis_url, GOOD_REDIS);
    assert_string_equal(r.c.mcp_resource_name, "Team MCP");
    assert_string_equal(r.c.groups_claim, "roles");
    assert_string_equal(r.c.listen.host, "::1");
    assert_int_equal(r.c.listen.port, 9443);
    assert_string_equal(r.c.metrics_listen.host, "");
    assert_int_equal(r.c.metrics_listen.port, 9100);
    assert_int_equal(r.c.log_level, LOG_DEBUG);
    assert_string_equal(r.c.upstream_authorization_header, "Bearer up-token");
    /* SPEC.md 1.8 derived values. */
    assert_string_equal(r.c.canonical_resource, FIXTURE_BASE "/mcp");
    assert_string_equal(r.c.idp_redirect_uri, FIXTURE_BASE "/callback");
    unload(&r);
}

static void
base_url_loses_every_trailing_slash(void **state)
{
    env_set("PROXY_BASE_URL", "https://auth.example.com///");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_string_equal(r.c.proxy_base_url, "https://auth.example.com");
    assert_string_equal(r.c.canonical_resource, "https://auth.example.com/mcp");
    unload(&r);
}

static void
upstream_mount_is_normalised(void **state)
{
    static const struct {
        const char *in, *url, *origin, *mount;
    } cases[] = {
        {"http://mcp:3000/mcp/", "http://mcp:3000/mcp", "http://mcp:3000", "/mcp"},
        {"https://up.example/api/v1//", "https://up.example/api/v1", "https://up.example",
         "/api/v1"},
        {"https://[::1]:8443/m", "https://[::1]:8443/m", "https://[::1]:8443", "/m"},
        {"http://up/Token", "http://up/Token", "http://up", "/Token"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        env_set("UPSTREAM_MCP_URL", cases[i].in);
        struct loaded r;
        load(&r);
        assert_true(r.ok);
        assert_string_equal(r.c.upstream_mcp_url, cases[i].url);
        assert_string_equal(r.c.upstream_origin, cases[i].origin);
        assert_string_equal(r.c.mount, cases[i].mount);
        unload(&r);
    }
}

static void
origin_only_upstream_error_suggests_the_path(void **state)
{
    env_set("UPSTREAM_MCP_URL", "http://mcp.internal:3000/");
    struct loaded r;
    load(&r);
    assert_false(r.ok);
    assert_non_null(strstr(r.err, "http://mcp.internal:3000/mcp"));
    assert_null(strstr(r.err, "3000//mcp"));
    unload(&r);
}

static void
lists_and_enumerations_are_parsed(void **state)
{
    env_set("ALLOWED_GROUPS", " admin , editors , ");
    env_set("TRUSTED_PROXY_CIDRS", " 10.0.0.0/8, 192.168.1.7/16 ,fd00::1/8,, ");
    env_set("TRUSTED_PROXY_HEADER", " x-real-ip ");
    env_set("TOKEN_SIGNING_SECRETS_PREVIOUS",
            "\n  " FIXTURE_SECRET_2 "\t\r\n" FIXTURE_SECRET " \n");
    env_set("CSP_FORM_ACTION_EXTRA", " HTTPS://Login.Example.COM:8443 , http://[::1]:9000,,");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_int_equal(r.c.allowed_group_count, 2);
    assert_string_equal(r.c.allowed_groups[0], "admin");
    assert_string_equal(r.c.allowed_groups[1], "editors");
    assert_int_equal(r.c.trusted_proxy_cidr_count, 3);
    assert_int_equal(r.c.trusted_proxy_cidrs[0].prefix, 8);
    assert_int_equal(r.c.trusted_proxy_cidrs[1].prefix, 16);
    assert_int_equal(r.c.trusted_proxy_cidrs[2].prefix, 8);
    assert_int_equal(r.c.trusted_proxy_header, CONFIG_PROXY_HEADER_X_REAL_IP);
    assert_string_equal(config_proxy_header_str(r.c.trusted_proxy_header), "X-Real-Ip");
    assert_int_equal(r.c.previous_secret_count, 2);
    assert_string_equal(r.c.previous_secrets[0], FIXTURE_SECRET_2);
    assert_int_equal(r.c.previous_secret_lens[0], strlen(FIXTURE_SECRET_2));
    assert_string_equal(r.c.previous_secrets[1], FIXTURE_SECRET);
    assert_int_equal(r.c.csp_form_action_extra_count, 2);
    assert_string_equal(r.c.csp_form_action_extra[0], "https://login.example.com:8443");
    assert_string_equal(r.c.csp_form_action_extra[1], "http://[::1]:9000");
    assert_true(r.c.csp_form_action_extra_set);
    unload(&r);

    env_set("TRUSTED_PROXY_HEADER", "TRUE-CLIENT-IP");
    env_set("CSP_FORM_ACTION_EXTRA", ",,,");
    env_set("ALLOWED_GROUPS", " , ,");
    load(&r);
    assert_true(r.ok);
    assert_string_equal(config_proxy_header_str(r.c.trusted_proxy_header), "True-Client-Ip");
    assert_int_equal(r.c.csp_form_action_extra_count, 0);
    assert_true(r.c.csp_form_action_extra_set); /* still warned about */
    assert_int_equal(r.c.allowed_group_count, 0);
    unload(&r);
}

static void
numbers_and_durations_are_parsed(void **state)
{
    env_set("SHUTDOWN_TIMEOUT", "1m30s");
    env_set("CLIENT_REGISTRATION_TTL", "720h");
    env_set("REFRESH_RACE_GRACE_SEC", "+7");
    env_set("IDP_EXCHANGE_RATE_PER_SEC", "20");
    env_set("IDP_EXCHANGE_BURST", "100");
    env_set("MCP_LOG_BODY_MAX", "0");
    env_set("MCP_TOOL_METRICS", "TRUE");
    env_set("MCP_TOOL_METRICS_MAX_CARDINALITY", "32");
    env_set("MCP_POLICY_FILTER_LISTS", "False");
    env_set("MCP_PER_SUBJECT_CONCURRENCY", "0");
    env_set("WORKERS", "3");
    env_set("UPSTREAM_RESPONSE_HEADER_TIMEOUT", "2.5s");
    env_set("REVOKE_BEFORE", "2026-03-28T12:00:00.5+02:00");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_int_equal(r.c.shutdown_timeout_ms, 90000);
    assert_false(r.c.policy_filter_lists);
    assert_int_equal(r.c.client_registration_ttl_s, 720 * 3600);
    assert_int_equal(r.c.refresh_race_grace_s, 7);
    assert_true(r.c.idp_exchange_rate_per_sec == 20.0);
    assert_int_equal(r.c.idp_exchange_burst, 100);
    assert_int_equal(r.c.log_body_max, 0);
    assert_true(r.c.tool_metrics);
    assert_int_equal(r.c.tool_metrics_max_cardinality, 32);
    assert_int_equal(r.c.per_subject_concurrency, 0);
    assert_int_equal(r.c.workers, 3);
    assert_int_equal(r.c.upstream_header_timeout_ms, 2500);
    assert_true(r.c.revoke_before_set);
    assert_int_equal(r.c.revoke_before_s, 1774692000); /* 2026-03-28T10:00:00Z */
    assert_int_equal(r.c.revoke_before_ns, 500000000);
    unload(&r);

    /* Durations round up to the field's unit: a positive TTL never
     * becomes 0 ("never expires"). */
    env_set("CLIENT_REGISTRATION_TTL", "1.5s");
    env_set("SHUTDOWN_TIMEOUT", "1ns");
    env_set("IDP_EXCHANGE_RATE_PER_SEC", "0.25");
    load(&r);
    assert_true(r.ok);
    assert_int_equal(r.c.client_registration_ttl_s, 2);
    assert_int_equal(r.c.shutdown_timeout_ms, 1);
    assert_true(r.c.idp_exchange_rate_per_sec == 0.25);
    unload(&r);

    /* SPEC.md 9: 0 and 0s mean "registrations never expire". */
    env_set("CLIENT_REGISTRATION_TTL", "0s");
    load(&r);
    assert_true(r.ok);
    assert_int_equal(r.c.client_registration_ttl_s, 0);
    unload(&r);
    env_set("CLIENT_REGISTRATION_TTL", "0");
    load(&r);
    assert_true(r.ok);
    assert_int_equal(r.c.client_registration_ttl_s, 0);
    unload(&r);
}

static void
redis_key_prefix_explicit_empty_is_kept(void **state)
{
    env_set("REDIS_KEY_PREFIX", "");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_string_equal(r.c.redis_key_prefix, "");
    unload(&r);
    env_set("REDIS_KEY_PREFIX", "tenant-a: ~!");
    load(&r);
    assert_true(r.ok);
    assert_string_equal(r.c.redis_key_prefix, "tenant-a: ~!");
    unload(&r);
}

/* docs/idps.md: EMAIL_CLAIM defaults to email; ALLOWED_HOSTED_DOMAINS is
 * split into its entries, unset means no check. */
static void
idp_quirk_settings_load(void **state)
{
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_string_equal(r.c.email_claim, "email");
    assert_int_equal(r.c.allowed_hosted_domain_count, 0);
    assert_null(r.c.allowed_hosted_domains_text);
    unload(&r);
    env_set("EMAIL_CLAIM", "preferred_username");
    env_set("ALLOWED_HOSTED_DOMAINS", " example.com , example.org,");
    load(&r);
    assert_true(r.ok);
    assert_string_equal(r.c.email_claim, "preferred_username");
    assert_int_equal(r.c.allowed_hosted_domain_count, 2);
    assert_string_equal(r.c.allowed_hosted_domains[0], "example.com");
    assert_string_equal(r.c.allowed_hosted_domains[1], "example.org");
    unload(&r);
    env_set("ALLOWED_HOSTED_DOMAINS", " , ");
    load(&r);
    assert_true(r.ok);
    assert_int_equal(r.c.allowed_hosted_domain_count, 0);
    unload(&r);
}

static void
empty_means_unset(void **state)
{
    /* SPEC.md 1.1: set-but-empty is the default, for every kind. */
    static const char *const names[] = {
        "LISTEN_ADDR",
        "METRICS_ADDR",
        "LOG_LEVEL",
        "GROUPS_CLAIM",
        "SHUTDOWN_TIMEOUT",
        "REFRESH_RACE_GRACE_SEC",
        "IDP_EXCHANGE_BURST",
        "CLIENT_REGISTRATION_TTL",
        "MCP_LOG_BODY_MAX",
        "WORKERS",
        "TRUSTED_PROXY_HEADER",
        "PKCE_REQUIRED",
        "PROD_MODE",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        env_set(names[i], "");
    }
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_string_equal(r.c.listen.text, ":8080");
    assert_string_equal(r.c.groups_claim, "groups");
    assert_int_equal(r.c.shutdown_timeout_ms, 120000);
    assert_int_equal(r.c.refresh_race_grace_s, 2);
    assert_int_equal(r.c.idp_exchange_burst, 50);
    assert_true(r.c.pkce_required);
    assert_true(r.c.prod_mode);
    unload(&r);
    /* ... and a required variable set to "" is missing. */
    env_set("OIDC_CLIENT_ID", "");
    load(&r);
    assert_false(r.ok);
    assert_non_null(strstr(r.err, "config: missing required env vars: OIDC_CLIENT_ID;"));
    unload(&r);
}

/* ------------------------------------------------------------------ */
/* Booleans (SPEC.md 1.1)                                              */

static bool
load_bool(const char *name, const char *value, size_t offset)
{
    env_set("PROD_MODE", "false"); /* relaxations are tested here, not the gate */
    if (value == NULL) {
        env_unset(name);
    } else {
        env_set(name, value);
    }
    struct loaded r;
    load(&r);
    if (!r.ok) {
        fail_msg("%s=%s failed:\n%s", name, value ? value : "(unset)", r.err);
    }
    bool v = *(bool *)((char *)&r.c + offset);
    unload(&r);
    return v;
}

static void
default_true_booleans(void **state)
{
    static const struct {
        const char *name;
        size_t offset;
    } vars[] = {
        {"PKCE_REQUIRED", offsetof(struct config, pkce_required)},
        {"REDIS_REQUIRED", offsetof(struct config, redis_required)},
        {"RATE_LIMIT_ENABLED", offsetof(struct config, rate_limit_enabled)},
        {"RENDER_CONSENT_PAGE", offsetof(struct config, render_consent_page)},
        {"CIMD_ENABLED", offsetof(struct config, cimd_enabled)},
        {"DCR_ENABLED", offsetof(struct config, dcr_enabled)},
    };
    static const char *const off[] = {"false", "FALSE", "False", "fAlSe"};
    static const char *const on[] = {NULL,     "",       "true",    "0", "no", "off",
                                     "False ", " false", "garbage", "n", "f"};
    for (size_t v = 0; v < sizeof(vars) / sizeof(vars[0]); v++) {
        for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
            assert_false(load_bool(vars[v].name, off[i], vars[v].offset));
        }
        for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
            assert_true(load_bool(vars[v].name, on[i], vars[v].offset));
        }
        env_unset(vars[v].name);
    }
    /* PROD_MODE itself: "False " (trailing space) keeps it on. */
    env_set("PROD_MODE", "False ");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_true(r.c.prod_mode);
    unload(&r);
    env_set("PROD_MODE", "FALSE");
    load(&r);
    assert_true(r.ok);
    assert_false(r.c.prod_mode);
    unload(&r);
}

static void
default_false_booleans(void **state)
{
    static const struct {
        const char *name;
        size_t offset;
    } vars[] = {
        {"COMPAT_ALLOW_STATELESS", offsetof(struct config, compat_allow_stateless)},
        {"STATE_REQUIRED", offsetof(struct config, state_required)},
        {"TRUST_PROXY_HEADERS", offsetof(struct config, trust_proxy_headers)},
        {"MCP_TOOL_METRICS", offsetof(struct config, tool_metrics)},
        {"OIDC_ALLOW_INSECURE_HTTP", offsetof(struct config, oidc_allow_insecure_http)},
        {"CIMD_ALLOW_PRIVATE_ADDRESSES", offsetof(struct config, cimd_allow_private_addresses)},
        {"REDIS_CLUSTER", offsetof(struct config, redis_cluster)},
    };
    static const char *const on[] = {"true", "TRUE", "True", "tRuE"};
    static const char *const off[] = {NULL, "",      "false", "1", "yes",
                                      "on", "true ", " true", "y", "t"};
    for (size_t v = 0; v < sizeof(vars) / sizeof(vars[0]); v++) {
        for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
            assert_true(load_bool(vars[v].name, on[i], vars[v].offset));
        }
        for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
            assert_false(load_bool(vars[v].name, off[i], vars[v].offset));
        }
        env_unset(vars[v].name);
    }
}

/* ------------------------------------------------------------------ */
/* One row per rule                                                    */

struct rule_case {
    const char *var;
    const char *value;
    const char *problem; /* NULL: accepted; else a phrase the line must contain */
};

#define OK(var, value)                                                                             \
    {                                                                                              \
        var, value, NULL                                                                           \
    }
#define BAD(var, value, phrase)                                                                    \
    {                                                                                              \
        var, value, phrase                                                                         \
    }

static const struct rule_case rules[] = {
    /* LISTEN_ADDR / METRICS_ADDR */
    OK("LISTEN_ADDR", ":8080"),
    OK("LISTEN_ADDR", "0.0.0.0:8080"),
    OK("LISTEN_ADDR", "[::]:8080"),
    OK("LISTEN_ADDR", "localhost:1"),
    BAD("LISTEN_ADDR", "8080", "no port"),
    BAD("LISTEN_ADDR", ":", "port"),
    BAD("LISTEN_ADDR", ":0", "port"),
    BAD("LISTEN_ADDR", ":65536", "port"),
    BAD("LISTEN_ADDR", ":http", "port"),
    BAD("LISTEN_ADDR", ":-1", "port"),
    BAD("LISTEN_ADDR", "::1:8080", "brackets"),
    BAD("LISTEN_ADDR", "[::1]", "no port"),
    BAD("LISTEN_ADDR", "[::1:8080", "']'"),
    BAD("LISTEN_ADDR", "[127.0.0.1]:80", "IPv6"),
    BAD("LISTEN_ADDR", "a b:80", "host"),
    OK("METRICS_ADDR", ":9090"),
    BAD("METRICS_ADDR", "127.0.0.1", "no port"),
    /* LOG_LEVEL: anything unparseable is info (warned, not refused). */
    OK("LOG_LEVEL", "warn"),
    OK("LOG_LEVEL", "verbose"),
    /* OIDC_ISSUER_URL (SPEC.md 1.2, section 9 RejectsCleartextAndHostless) */
    OK("OIDC_ISSUER_URL", "https://idp.example.com"),
    OK("OIDC_ISSUER_URL", "https://idp.example.com/realms/a/"),
    OK("OIDC_ISSUER_URL", "http://localhost:8180/realms/a"),
    OK("OIDC_ISSUER_URL", "http://localhost.:8180"),
    OK("OIDC_ISSUER_URL", "http://LOCALHOST:8180"),
    OK("OIDC_ISSUER_URL", "http://127.0.0.1:9400"),
    OK("OIDC_ISSUER_URL", "http://127.9.8.7"),
    OK("OIDC_ISSUER_URL", "http://[::1]:9400"),
    OK("OIDC_ISSUER_URL", "http://[::ffff:127.0.0.1]:9400"),
    BAD("OIDC_ISSUER_URL", "http://idp.example.com", "not loopback"),
    BAD("OIDC_ISSUER_URL", "http://10.0.0.1", "not loopback"),
    BAD("OIDC_ISSUER_URL", "http://localhostx", "not loopback"),
    BAD("OIDC_ISSUER_URL", "ftp://idp.example.com", "https://"),
    BAD("OIDC_ISSUER_URL", "https:idp.example.com", "opaque"),
    BAD("OIDC_ISSUER_URL", "https:///realms", "host"),
    BAD("OIDC_ISSUER_URL", "not a url at all %%%", "not a valid"),
    BAD("OIDC_ISSUER_URL", "1https:/idp.example.com/", "not a valid"), /* no "//" at all */
    /* PROXY_BASE_URL (SPEC.md 1.3) */
    OK("PROXY_BASE_URL", "https://auth.example.com"),
    OK("PROXY_BASE_URL", "https://auth.example.com/"),
    OK("PROXY_BASE_URL", "https://auth.example.com:8443"),
    OK("PROXY_BASE_URL", "http://127.0.0.1:9090"),
    OK("PROXY_BASE_URL", "http://[::1]:8080"),
    OK("PROXY_BASE_URL", "http://localhost:8080"),
    BAD("PROXY_BASE_URL", "http://example.com", "not loopback"),
    BAD("PROXY_BASE_URL", "ftp://example.com", "https://"),
    BAD("PROXY_BASE_URL", "https://user:pw@example.com", "userinfo"),
    BAD("PROXY_BASE_URL", "https://@example.com", "userinfo"),
    BAD("PROXY_BASE_URL", "https://example.com/#frag", "fragment"),
    BAD("PROXY_BASE_URL", "https://example.com/base", "path"),
    BAD("PROXY_BASE_URL", "https://example.com/base/", "path"),
    BAD("PROXY_BASE_URL", "https:foo", "opaque"),
    BAD("PROXY_BASE_URL", "https:///callback", "host"),
    BAD("PROXY_BASE_URL", "https://example.com/?y=1", "query"),
    BAD("PROXY_BASE_URL", "https://proxy.example/?", "query"),
    BAD("PROXY_BASE_URL", "///", "missing required env vars"),
    /* UPSTREAM_MCP_URL (SPEC.md 1.3, preface fixes 2 and 3) */
    OK("UPSTREAM_MCP_URL", "http://mcp:3000/mcp"),
    OK("UPSTREAM_MCP_URL", "https://mcp.internal/api/v1/mcp"),
    OK("UPSTREAM_MCP_URL", "http://mcp/mcp/"),
    OK("UPSTREAM_MCP_URL", "http://mcp/a-b_c.d~e/F9"),
    OK("UPSTREAM_MCP_URL", "http://mcp/healthzfoo"),
    OK("UPSTREAM_MCP_URL", "http://mcp/registerx"),
    OK("UPSTREAM_MCP_URL", "http://mcp/tokenize"),
    OK("UPSTREAM_MCP_URL", "http://mcp/callbacks"),
    OK("UPSTREAM_MCP_URL", "http://mcp/consents"),
    OK("UPSTREAM_MCP_URL", "http://mcp/TOKEN"),
    OK("UPSTREAM_MCP_URL", "http://mcp/mcp/.hidden/..x"),
    BAD("UPSTREAM_MCP_URL", "http://mcp:3000", "explicit path"),
    BAD("UPSTREAM_MCP_URL", "http://mcp:3000/", "explicit path"),
    BAD("UPSTREAM_MCP_URL", "http://mcp:3000//", "explicit path"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/token", "collides"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/token/", "collides"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/.well-known/foo", "collides"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/healthz", "collides"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/register/x", "collides"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/authorize", "collides"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/callback/a/b", "collides"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/consent", "collides"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/consent/x", "collides"),
    BAD("UPSTREAM_MCP_URL", "ftp://mcp/mcp", "http://"),
    BAD("UPSTREAM_MCP_URL", "http:mcp/mcp", "opaque"),
    BAD("UPSTREAM_MCP_URL", "http:///mcp", "host"),
    BAD("UPSTREAM_MCP_URL", "9http:/mcp/mcp", "not a valid"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/mcp?x=1", "query"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/mcp?", "query"),
    BAD("UPSTREAM_MCP_URL", "http://u:p@mcp/mcp", "userinfo"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/mcp#f", "fragment"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/a//b", "empty path segment"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/a:b", "unreserved characters"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/a*", "unreserved characters"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/{id}", "unreserved characters"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/a@b", "unreserved characters"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/a+b", "unreserved characters"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/m%63p", "unreserved characters"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/mcp/./x", "'..'"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/mcp/../x", "'..'"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/..", "'..'"),
    BAD("UPSTREAM_MCP_URL", "http://mcp/mcp/.", "'..'"),
    /* Secrets (SPEC.md 1.2) */
    BAD("TOKEN_SIGNING_SECRET", "0123456789abcdefghijklmnopqrstu", "at least 32 bytes"),
    OK("TOKEN_SIGNING_SECRET", "0123456789abcdefghijklmnopqrstuv"),
    BAD("TOKEN_SIGNING_SECRETS_PREVIOUS", FIXTURE_SECRET " short", "at least 32 bytes"),
    OK("TOKEN_SIGNING_SECRETS_PREVIOUS", "   \n\t "),
    /* SHUTDOWN_TIMEOUT: (0, 15m] */
    OK("SHUTDOWN_TIMEOUT", "15m"),
    OK("SHUTDOWN_TIMEOUT", "2.5s"),
    OK("SHUTDOWN_TIMEOUT", "14m59.999s"),
    BAD("SHUTDOWN_TIMEOUT", "16m", "15m"),
    BAD("SHUTDOWN_TIMEOUT", "15m0.001s", "15m"),
    BAD("SHUTDOWN_TIMEOUT", "1h", "15m"),
    BAD("SHUTDOWN_TIMEOUT", "0", "greater than 0"),
    BAD("SHUTDOWN_TIMEOUT", "0s", "greater than 0"),
    BAD("SHUTDOWN_TIMEOUT", "-5s", "negative"),
    BAD("SHUTDOWN_TIMEOUT", "abc", "Go duration"),
    BAD("SHUTDOWN_TIMEOUT", "30", "Go duration"),
    /* REVOKE_BEFORE */
    OK("REVOKE_BEFORE", "2026-03-28T12:00:00Z"),
    BAD("REVOKE_BEFORE", "2026-03-28", "RFC 3339"),
    BAD("REVOKE_BEFORE", "2026-03-28T12:00:00", "RFC 3339"),
    BAD("REVOKE_BEFORE", "yesterday", "RFC 3339"),
    /* REFRESH_RACE_GRACE_SEC: 0..10 */
    OK("REFRESH_RACE_GRACE_SEC", "0"),
    OK("REFRESH_RACE_GRACE_SEC", "10"),
    OK("REFRESH_RACE_GRACE_SEC", "-0"),
    OK("REFRESH_RACE_GRACE_SEC", "007"),
    BAD("REFRESH_RACE_GRACE_SEC", "11", "at most 10"),
    BAD("REFRESH_RACE_GRACE_SEC", "-1", "negative"),
    BAD("REFRESH_RACE_GRACE_SEC", "two", "whole number"),
    BAD("REFRESH_RACE_GRACE_SEC", "1.5", "whole number"),
    BAD("REFRESH_RACE_GRACE_SEC", " 2", "whole number"),
    BAD("REFRESH_RACE_GRACE_SEC", "99999999999999999999999", "out of range"),
    /* REFRESH_RETRY_GRACE: [0, 5m] */
    OK("REFRESH_RETRY_GRACE", "0"),
    OK("REFRESH_RETRY_GRACE", "60s"),
    OK("REFRESH_RETRY_GRACE", "5m"),
    OK("REFRESH_RETRY_GRACE", "3s"),
    BAD("REFRESH_RETRY_GRACE", "5m1s", "5m"),
    BAD("REFRESH_RETRY_GRACE", "-1s", "negative"),
    BAD("REFRESH_RETRY_GRACE", "60", "duration"),
    /* IDP_EXCHANGE_RATE_PER_SEC: float >= 0, written without strtod */
    OK("IDP_EXCHANGE_RATE_PER_SEC", "0"),
    OK("IDP_EXCHANGE_RATE_PER_SEC", "+1.5"),
    OK("IDP_EXCHANGE_RATE_PER_SEC", ".5"),
    OK("IDP_EXCHANGE_RATE_PER_SEC", "5."),
    BAD("IDP_EXCHANGE_RATE_PER_SEC", "-1", "negative"),
    BAD("IDP_EXCHANGE_RATE_PER_SEC", "-0", "negative"),
    BAD("IDP_EXCHANGE_RATE_PER_SEC", "fast", "decimal"),
    BAD("IDP_EXCHANGE_RATE_PER_SEC", "1e3", "exponent"),
    BAD("IDP_EXCHANGE_RATE_PER_SEC", "1.2.3", "decimal"),
    BAD("IDP_EXCHANGE_RATE_PER_SEC", ".", "decimal"),
    BAD("IDP_EXCHANGE_RATE_PER_SEC", "inf", "decimal"),
    BAD("IDP_EXCHANGE_RATE_PER_SEC", "NaN", "decimal"),
    BAD("IDP_EXCHANGE_RATE_PER_SEC", "++1", "decimal"),
    /* IDP_EXCHANGE_BURST: >= 1, validated even when the rate is 0 */
    OK("IDP_EXCHANGE_BURST", "1"),
    BAD("IDP_EXCHANGE_BURST", "0", "at least 1"),
    BAD("IDP_EXCHANGE_BURST", "-5", "at least 1"),
    BAD("IDP_EXCHANGE_BURST", "many", "whole number"),
    BAD("IDP_EXCHANGE_BURST", "4294967296", "at most 4294967295"),
    /* CLIENT_REGISTRATION_TTL: [0, 2160h] */
    OK("CLIENT_REGISTRATION_TTL", "2160h"),
    OK("CLIENT_REGISTRATION_TTL", "1h30m"),
    BAD("CLIENT_REGISTRATION_TTL", "2400h", "2160h"),
    BAD("CLIENT_REGISTRATION_TTL", "2160h0.1s", "2160h"),
    BAD("CLIENT_REGISTRATION_TTL", "-1h", "negative"),
    BAD("CLIENT_REGISTRATION_TTL", "7d", "no d unit"),
    /* REDIS_KEY_PREFIX: 0x20..0x7E without braces */
    BAD("REDIS_KEY_PREFIX", "a{b", "0x7b"),
    BAD("REDIS_KEY_PREFIX", "a}", "0x7d"),
    BAD("REDIS_KEY_PREFIX", "a\rb", "0x0d"),
    BAD("REDIS_KEY_PREFIX", "a\n", "0x0a"),
    BAD("REDIS_KEY_PREFIX", "\tx", "0x09"),
    BAD("REDIS_KEY_PREFIX", "x\x7f", "0x7f"),
    BAD("REDIS_KEY_PREFIX", "caf\xc3\xa9:", "0xc3"),
    /* MCP_LOG_BODY_MAX, MCP_TOOL_METRICS_MAX_CARDINALITY,
     * MCP_PER_SUBJECT_CONCURRENCY: integers >= 0 */
    OK("MCP_LOG_BODY_MAX", "1048576"),
    BAD("MCP_LOG_BODY_MAX", "-1", "negative"),
    BAD("MCP_LOG_BODY_MAX", "64k", "whole number"),
    OK("MCP_TOOL_METRICS_MAX_CARDINALITY", "0"),
    BAD("MCP_TOOL_METRICS_MAX_CARDINALITY", "-1", "negative"),
    BAD("MCP_TOOL_METRICS_MAX_CARDINALITY", "lots", "whole number"),
    OK("STATE_REQUIRED", "true"),
    OK("STATE_REQUIRED", "no"), /* default-false: anything but "true" is false */
    OK("MCP_PER_SUBJECT_CONCURRENCY", "64"),
    BAD("MCP_PER_SUBJECT_CONCURRENCY", "-1", "negative"),
    BAD("MCP_PER_SUBJECT_CONCURRENCY", "x", "whole number"),
    /* ACCESS_LOG_SKIP_RE */
    OK("ACCESS_LOG_SKIP_RE", "^/healthz$|^/readyz$"),
    OK("ACCESS_LOG_SKIP_RE", " \t\n "),
    BAD("ACCESS_LOG_SKIP_RE", "(", "regular expression"),
    BAD("ACCESS_LOG_SKIP_RE", "a{2,1}", "regular expression"),
    /* TRUSTED_PROXY_CIDRS */
    OK("TRUSTED_PROXY_CIDRS", "10.0.0.0/8"),
    OK("TRUSTED_PROXY_CIDRS", ","),
    BAD("TRUSTED_PROXY_CIDRS", "10.0.0.0/80", "CIDR"),
    BAD("TRUSTED_PROXY_CIDRS", "10.0.0.0/8,10.0.0.1", "entry [1]"),
    BAD("TRUSTED_PROXY_CIDRS", "fd00::/129", "CIDR"),
    BAD("TRUSTED_PROXY_CIDRS", "example.com/8", "CIDR"),
    /* TRUSTED_PROXY_HEADER */
    OK("TRUSTED_PROXY_HEADER", "X-Forwarded-For"),
    BAD("TRUSTED_PROXY_HEADER", "Forwarded", "must be one of"),
    BAD("TRUSTED_PROXY_HEADER", "X-Forwarded-For,X-Real-IP", "must be one of"),
    /* UPSTREAM_AUTHORIZATION_HEADER: verbatim, but must be a header value */
    OK("UPSTREAM_AUTHORIZATION_HEADER", "Basic dXNlcjpwYXNz"),
    OK("UPSTREAM_AUTHORIZATION_HEADER", "Bearer a\tb"),
    BAD("UPSTREAM_AUTHORIZATION_HEADER", "Bearer a\r\nX-Evil: 1", "control character"),
    /* CSP_FORM_ACTION_EXTRA (section 9 CSPFormActionExtra) */
    OK("CSP_FORM_ACTION_EXTRA", "https://login.example.com"),
    OK("CSP_FORM_ACTION_EXTRA", "https://a.example.com:443, http://b.example:8080"),
    OK("CSP_FORM_ACTION_EXTRA", "https://[2001:db8::1]:8443"),
    BAD("CSP_FORM_ACTION_EXTRA", "https://a.example.com/path", "path"),
    BAD("CSP_FORM_ACTION_EXTRA", "https://a.example.com/", "path"),
    BAD("CSP_FORM_ACTION_EXTRA", "https://a.example.com?x=1", "query"),
    BAD("CSP_FORM_ACTION_EXTRA", "https://a.example.com#f", "fragment"),
    BAD("CSP_FORM_ACTION_EXTRA", "https://u@a.example.com", "userinfo"),
    BAD("CSP_FORM_ACTION_EXTRA", "a.example.com", "scheme://host"),
    BAD("CSP_FORM_ACTION_EXTRA", "a.example.com/x", "://"),
    BAD("CSP_FORM_ACTION_EXTRA", "*", "wildcard"),
    BAD("CSP_FORM_ACTION_EXTRA", "https://*.example.com", "wildcard"),
    BAD("CSP_FORM_ACTION_EXTRA", "https://", "no host"),
    BAD("CSP_FORM_ACTION_EXTRA", "https://a;b", "letters, digits"),
    BAD("CSP_FORM_ACTION_EXTRA", "https://a&b", "letters, digits"),
    BAD("CSP_FORM_ACTION_EXTRA", "https://a,b", "entry [1]"), /* "b" alone */
    BAD("CSP_FORM_ACTION_EXTRA", "https://a_b", "letters, digits"),
    BAD("CSP_FORM_ACTION_EXTRA", "https://a b", "letters, digits"),
    BAD("CSP_FORM_ACTION_EXTRA", "https://a:99999", "port"),
    BAD("CSP_FORM_ACTION_EXTRA", "https://[zz]", "IPv6"),
    /* MCP_ALLOWED_ORIGINS */
    OK("MCP_ALLOWED_ORIGINS", "https://inspector.example"),
    OK("MCP_ALLOWED_ORIGINS", " http://localhost:6274 , https://[2001:db8::1]:8443,,"),
    OK("MCP_ALLOWED_ORIGINS", ","),
    BAD("MCP_ALLOWED_ORIGINS", "*", "DNS rebinding"),
    BAD("MCP_ALLOWED_ORIGINS", "null", "opaque origin"),
    BAD("MCP_ALLOWED_ORIGINS", "https://*.example.com", "wildcard"),
    BAD("MCP_ALLOWED_ORIGINS", "https://a.example/", "path"),
    BAD("MCP_ALLOWED_ORIGINS", "https://a.example,ftp://b.example", "entry [1] must be an http"),
    BAD("MCP_ALLOWED_ORIGINS", "a.example", "scheme://host"),
    BAD("MCP_ALLOWED_ORIGINS", "https://a.example:0", "port"),
    /* Additions */
    OK("WORKERS", "1"),
    OK("WORKERS", "256"),
    BAD("WORKERS", "0", "at least 1"),
    BAD("WORKERS", "257", "at most 256"),
    BAD("WORKERS", "auto", "whole number"),
    BAD("REDIS_CA_FILE", "/nonexistent/ca.pem", "cannot be used"),
    BAD("REDIS_CA_FILE", "/", "regular file"),
    OK("UPSTREAM_RESPONSE_HEADER_TIMEOUT", "10m"),
    BAD("UPSTREAM_RESPONSE_HEADER_TIMEOUT", "10m1s", "10m"),
    BAD("UPSTREAM_RESPONSE_HEADER_TIMEOUT", "0", "greater than 0"),
    BAD("UPSTREAM_RESPONSE_HEADER_TIMEOUT", "-1s", "negative"),
    BAD("UPSTREAM_RESPONSE_HEADER_TIMEOUT", "1d", "Go duration"),
    OK("DNS_RESOLV_CONF", "/etc/hosts"),
    BAD("DNS_RESOLV_CONF", "/nonexistent/resolv.conf", "cannot be read"),
    BAD("DNS_RESOLV_CONF", "/etc", "not a regular file"),
    OK("DNS_HOSTS_FILE", "/etc/hosts"),
    BAD("DNS_HOSTS_FILE", "/nonexistent/hosts", "cannot be read"),
    /* Client ID Metadata Documents and DCR */
    OK("CIMD_ENABLED", "false"),
    OK("DCR_ENABLED", "false"),
    OK("CIMD_ALLOW_PRIVATE_ADDRESSES", "false"),
    OK("CIMD_ALLOWED_HOSTS", "claude.ai, chatgpt.com,*.Example.com"),
    OK("CIMD_ALLOWED_HOSTS", " , "),
    BAD("CIMD_ALLOWED_HOSTS", "claude.ai,https://x.example", "entry 2 is not a host name"),
    BAD("CIMD_ALLOWED_HOSTS", "a.*.example.com", "entry 1"),
    BAD("CIMD_ALLOWED_HOSTS", "*.", "entry 1"),
    BAD("CIMD_ALLOWED_HOSTS", ".example.com", "entry 1"),
    OK("CIMD_CA_FILE", "/etc/hosts"),
    BAD("CIMD_CA_FILE", "/nonexistent/ca.pem", "cannot be used"),
    BAD("CIMD_CA_FILE", "/", "regular file"),
    OK("CIMD_PINNED_DIR", "/"),
    BAD("CIMD_PINNED_DIR", "/nonexistent/pins", "not a readable directory"),
    BAD("CIMD_PINNED_DIR", "/etc/hosts", "not a readable directory"),
    OK("MCP_POLICY_FILE", "/etc/hosts"),
    BAD("MCP_POLICY_FILE", "/nonexistent/policy.yaml", "not a readable file"),
    BAD("MCP_POLICY_FILE", "/etc", "not a readable file"),
    OK("CIMD_CACHE_TTL_MIN", "0s"),
    OK("CIMD_CACHE_TTL_MIN", "1h"),
    BAD("CIMD_CACHE_TTL_MIN", "25h", "24h"),
    BAD("CIMD_CACHE_TTL_MIN", "-1s", "negative"),
    OK("CIMD_CACHE_TTL_MAX", "168h"),
    BAD("CIMD_CACHE_TTL_MAX", "169h", "168h"),
    BAD("CIMD_CACHE_TTL_MAX", "0s", "1s"),
    BAD("CIMD_CACHE_TTL_MAX", "1m", "shorter than CIMD_CACHE_TTL_MIN"),
    OK("TCP_KEEPALIVE_IDLE", "0"),
    OK("TCP_KEEPALIVE_IDLE", "2h"),
    BAD("TCP_KEEPALIVE_IDLE", "2h1s", "2h"),
    OK("TCP_KEEPALIVE_INTERVAL", "1s"),
    BAD("TCP_KEEPALIVE_INTERVAL", "500ms", "1s"),
    BAD("TCP_KEEPALIVE_INTERVAL", "11m", "10m"),
    OK("TCP_KEEPALIVE_COUNT", "127"),
    BAD("TCP_KEEPALIVE_COUNT", "0", "at least 1"),
    BAD("TCP_KEEPALIVE_COUNT", "128", "at most 127"),
    OK("TCP_USER_TIMEOUT", "0"),
    BAD("TCP_USER_TIMEOUT", "10m1s", "10m"),
    OK("CLIENT_WRITE_STALL_TIMEOUT", "0"),
    OK("CLIENT_WRITE_STALL_TIMEOUT", "1h"),
    BAD("CLIENT_WRITE_STALL_TIMEOUT", "1h1s", "1h"),
    BAD("CLIENT_WRITE_STALL_TIMEOUT", "-5s", "negative"),
    OK("MAX_CLIENT_CONNECTIONS", "0"),
    OK("MAX_CLIENT_CONNECTIONS", "10000000"),
    BAD("MAX_CLIENT_CONNECTIONS", "10000001", "at most 10000000"),
    BAD("MAX_CLIENT_CONNECTIONS", "many", "whole number"),
    OK("MAX_CLIENT_CONNECTIONS_PER_IP", "0"),
    BAD("MAX_CLIENT_CONNECTIONS_PER_IP", "-1", "negative"),
    OK("REQUEST_BODY_BUFFER_MAX", "16777216"),
    BAD("REQUEST_BODY_BUFFER_MAX", "16777215", "at least 16777216"),
    BAD("REQUEST_BODY_BUFFER_MAX", "256MiB", "whole number"),
    OK("RATE_LIMIT_REGISTER_PER_MIN", "1"),
    OK("RATE_LIMIT_REGISTER_PER_MIN", "1000000"),
    BAD("RATE_LIMIT_REGISTER_PER_MIN", "0", "at least 1"),
    BAD("RATE_LIMIT_REGISTER_PER_MIN", "1000001", "at most 1000000"),
    OK("RATE_LIMIT_AUTHORIZE_PER_MIN", "1"),
    OK("RATE_LIMIT_AUTHORIZE_PER_MIN", "1000000"),
    BAD("RATE_LIMIT_AUTHORIZE_PER_MIN", "0", "at least 1"),
    BAD("RATE_LIMIT_AUTHORIZE_PER_MIN", "1000001", "at most 1000000"),
    OK("RATE_LIMIT_CONSENT_PER_MIN", "1"),
    OK("RATE_LIMIT_CONSENT_PER_MIN", "1000000"),
    BAD("RATE_LIMIT_CONSENT_PER_MIN", "0", "at least 1"),
    BAD("RATE_LIMIT_CONSENT_PER_MIN", "1000001", "at most 1000000"),
    OK("RATE_LIMIT_CALLBACK_PER_MIN", "1"),
    OK("RATE_LIMIT_CALLBACK_PER_MIN", "1000000"),
    BAD("RATE_LIMIT_CALLBACK_PER_MIN", "0", "at least 1"),
    BAD("RATE_LIMIT_CALLBACK_PER_MIN", "1000001", "at most 1000000"),
    OK("RATE_LIMIT_TOKEN_PER_MIN", "1"),
    OK("RATE_LIMIT_TOKEN_PER_MIN", "1000000"),
    BAD("RATE_LIMIT_TOKEN_PER_MIN", "0", "at least 1"),
    BAD("RATE_LIMIT_TOKEN_PER_MIN", "1000001", "at most 1000000"),
    OK("RATE_LIMIT_DISCOVERY_PER_MIN", "1"),
    OK("RATE_LIMIT_DISCOVERY_PER_MIN", "1000000"),
    BAD("RATE_LIMIT_DISCOVERY_PER_MIN", "0", "at least 1"),
    BAD("RATE_LIMIT_DISCOVERY_PER_MIN", "1000001", "at most 1000000"),
    OK("RATE_LIMIT_MCP_PER_MIN", "1"),
    OK("RATE_LIMIT_MCP_PER_MIN", "1000000"),
    BAD("RATE_LIMIT_MCP_PER_MIN", "0", "at least 1"),
    BAD("RATE_LIMIT_MCP_PER_MIN", "1000001", "at most 1000000"),
    OK("RATE_LIMIT_REVOKE_PER_MIN", "1"),
    OK("RATE_LIMIT_REVOKE_PER_MIN", "1000000"),
    BAD("RATE_LIMIT_REVOKE_PER_MIN", "0", "at least 1"),
    BAD("RATE_LIMIT_REVOKE_PER_MIN", "1000001", "at most 1000000"),
    BAD("RATE_LIMIT_TOKEN_PER_MIN", "-5", "negative"),
    BAD("RATE_LIMIT_TOKEN_PER_MIN", "ten", "whole number"),
    OK("RATE_LIMIT_CLIENT_BUDGETS", ""),
    OK("RATE_LIMIT_CLIENT_BUDGETS", "https://claude.ai/oauth/mcp-client.json=600,abc123=120"),
    OK("RATE_LIMIT_CLIENT_BUDGETS", "https://a.example/c?x=1=5,a%2Cb=7"),
    BAD("RATE_LIMIT_CLIENT_BUDGETS", "abc123", "without"),
    BAD("RATE_LIMIT_CLIENT_BUDGETS", "abc123=0", "from 1 to 1000000"),
    BAD("RATE_LIMIT_CLIENT_BUDGETS", "a=1,a=2", "twice"),
    BAD("RATE_LIMIT_CLIENT_BUDGETS", "a%zz=1", "two hex digits"),
    BAD("RATE_LIMIT_CLIENT_BUDGETS", "a b=1", "space or control"),
    OK("RATE_LIMIT_CIDR_BUDGETS", "160.79.104.0/21=1200"),
    OK("RATE_LIMIT_CIDR_BUDGETS", "160.79.104.0/21=1200, 2001:db8::/32=5"),
    BAD("RATE_LIMIT_CIDR_BUDGETS", "160.79.104.0=1200", "address/prefix"),
    BAD("RATE_LIMIT_CIDR_BUDGETS", "10.0.0.0/8=1,10.9.0.0/8=2", "twice"),
    BAD("RATE_LIMIT_CIDR_BUDGETS", "10.0.0.0/8=x", "from 1 to 1000000"),
    OK("RATE_LIMIT_STORE", "local"),
    OK("RATE_LIMIT_STORE", "redis"),
    BAD("RATE_LIMIT_STORE", "Redis", "local or redis"),
    BAD("RATE_LIMIT_STORE", "memory", "local or redis"),
    OK("LOG_FORMAT", "console"),
    OK("LOG_FORMAT", "json"),
    BAD("LOG_FORMAT", "text", "console or json"),
    BAD("LOG_FORMAT", "JSON", "console or json"),
    OK("REQUEST_BODY_BUFFER_PER_IP_MAX", "16777216"),
    BAD("REQUEST_BODY_BUFFER_PER_IP_MAX", "0", "at least 16777216"),
    BAD("REQUEST_BODY_BUFFER_PER_IP_MAX", "1099511627777", "at most 1099511627776"),
    OK("MCP_SCOPES_SUPPORTED", "mcp:read mcp:write offline_access"),
    OK("MCP_SCOPES_SUPPORTED", " mcp:read,,mcp:write , "),
    OK("MCP_SCOPES_SUPPORTED", "https://api.example.com/read!#$%&'()*+-./:;<=>?@[]^_`{|}~"),
    OK("MCP_SCOPES_SUPPORTED", " , "), /* only separators: no scopes */
    BAD("MCP_SCOPES_SUPPORTED", "mcp:read \"quoted\"",
        "scope 2 is not an RFC 6749 3.3 scope-token"),
    BAD("MCP_SCOPES_SUPPORTED", "a\\b", "scope 1 is not an RFC 6749 3.3 scope-token"),
    BAD("MCP_SCOPES_SUPPORTED", "read\twrite", "scope 1 is not an RFC 6749 3.3 scope-token"),
    BAD("MCP_SCOPES_SUPPORTED", "caf\xc3\xa9", "scope 1 is not an RFC 6749 3.3 scope-token"),
    BAD("MCP_SCOPES_SUPPORTED", "read write,read", "scope 3 (read) is listed twice"),
    /* default-true: only "false" turns it off, anything else keeps it on */
    OK("MCP_POLICY_FILTER_LISTS", "false"),
    OK("MCP_POLICY_FILTER_LISTS", "0"),
    OK("UPSTREAM_IDENTITY_ASSERTION", "true"),
    OK("UPSTREAM_IDENTITY_ASSERTION", "false"),
    BAD("UPSTREAM_IDENTITY_KEY_FILE", "/nonexistent/identity.pem", "cannot be read"),
    BAD("UPSTREAM_IDENTITY_KEY_FILE", "/", "cannot be read"),
    BAD("UPSTREAM_IDENTITY_KEY_FILE", "/etc/hosts", "no unencrypted PEM private key"),
    BAD("UPSTREAM_IDENTITY_KEY_FILE", " , ", "lists no file"),
    BAD("UPSTREAM_IDENTITY_KEY_FILE", "a,b,c,d,e,f,g,h,i", "more than 8"),
    OK("REDIS_MIN_REPLICAS_ACK", "0"),
    OK("REDIS_MIN_REPLICAS_ACK", "16"),
    BAD("REDIS_MIN_REPLICAS_ACK", "17", "at most 16"),
    BAD("REDIS_MIN_REPLICAS_ACK", "-1", "negative values are refused"),
    BAD("REDIS_MIN_REPLICAS_ACK", "one", "whole number"),
    OK("REDIS_REPLICAS_ACK_TIMEOUT", "1ms"),
    OK("REDIS_REPLICAS_ACK_TIMEOUT", "2s"),
    BAD("REDIS_REPLICAS_ACK_TIMEOUT", "2001ms", "2s"),
    BAD("REDIS_REPLICAS_ACK_TIMEOUT", "0", "at least 1ms"),
    /* Sentinel: each name alone is refused (sentinel_mode_rules has the
     * accepted pairs); the list's syntax. */
    BAD("REDIS_SENTINELS", "127.0.0.1:26379", "REDIS_SENTINEL_MASTER is not"),
    BAD("REDIS_SENTINEL_MASTER", "mymaster", "REDIS_SENTINELS is not"),
    BAD("REDIS_SENTINELS", "127.0.0.1", "without a port"),
    BAD("REDIS_SENTINELS", "a:1,,b:2", "empty entry"),
    BAD("REDIS_SENTINELS", "::1:26379", "without brackets"),
    BAD("REDIS_SENTINELS", "[10.0.0.1]:26379", "not an IPv6 address"),
    BAD("REDIS_SENTINELS", "[::1:26379", "unclosed"),
    BAD("REDIS_SENTINELS", "s1:0", "1 to 65535"),
    BAD("REDIS_SENTINELS", "s1:65536", "1 to 65535"),
    BAD("REDIS_SENTINELS", "s1:+1", "1 to 65535"),
    BAD("REDIS_SENTINELS", "s/1:26379", "malformed host"),
    BAD("REDIS_SENTINELS", "a:1,b:1,c:1,d:1,e:1,f:1,g:1,h:1,i:1,j:1,k:1,l:1,m:1,n:1,o:1,p:1,q:1",
        "more than 16"),
    BAD("REDIS_SENTINEL_MASTER", "my master", "space"),
    BAD("REDIS_SENTINEL_MASTER", "caf\xc3\xa9", "non-ASCII"),
    /* Sentinel auth alone is only unused (a warning). */
    OK("REDIS_SENTINEL_USERNAME", "proxy"),
    OK("REDIS_SENTINEL_PASSWORD", "sentinel-pass"),
    /* IdP quirks (docs/idps.md) */
    OK("EMAIL_CLAIM", "preferred_username"),
    OK("EMAIL_CLAIM", "upn"),
    OK("GROUPS_CLAIM", "https://example.com/groups"),
    OK("ALLOWED_HOSTED_DOMAINS", "example.com"),
    OK("ALLOWED_HOSTED_DOMAINS", " example.com , Example.ORG ,"),
    OK("ALLOWED_HOSTED_DOMAINS", "a-b.c.example"),
    BAD("ALLOWED_HOSTED_DOMAINS", "example", "not a domain name"),
    BAD("ALLOWED_HOSTED_DOMAINS", "example.com,@example.org", "entry [1] is not a domain name"),
    BAD("ALLOWED_HOSTED_DOMAINS", ".example.com", "not a domain name"),
    BAD("ALLOWED_HOSTED_DOMAINS", "example..com", "not a domain name"),
    BAD("ALLOWED_HOSTED_DOMAINS", "example.com.", "not a domain name"),
    BAD("ALLOWED_HOSTED_DOMAINS", "*.example.com", "not a domain name"),
    BAD("ALLOWED_HOSTED_DOMAINS", "https://example.com", "not a domain name"),
    /* FORWARD_AUTH_ADDR: a listen address on its own port; the wildcard
     * loads with a warning. */
    OK("FORWARD_AUTH_ADDR", "127.0.0.1:9092"),
    OK("FORWARD_AUTH_ADDR", "[::1]:9092"),
    OK("FORWARD_AUTH_ADDR", ":9092"),
    BAD("FORWARD_AUTH_ADDR", "9092", "no port"),
    BAD("FORWARD_AUTH_ADDR", "127.0.0.1:8080", "another port than LISTEN_ADDR"),
    BAD("FORWARD_AUTH_ADDR", "127.0.0.1:9090", "another port than LISTEN_ADDR"),
};

/* MCP_SCOPES_SUPPORTED is kept as single-space-joined tokens in the order
 * given, and the resource's set drops offline_access (MCP 2026-07-28). */
static void
scopes_are_normalised(void **state)
{
    (void)state;
    env_set("MCP_SCOPES_SUPPORTED", " offline_access,mcp:read  mcp:write,");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_string_equal(r.c.scopes_supported, "offline_access mcp:read mcp:write");
    assert_string_equal(r.c.scopes_resource, "mcp:read mcp:write");
    unload(&r);
}

static void
scopes_default_to_none(void **state)
{
    (void)state;
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_string_equal(r.c.scopes_supported, "");
    assert_string_equal(r.c.scopes_resource, "");
    unload(&r);
}

/* 64 scopes load; a 65th, or 1024 bytes passed, is refused. */
static void
scopes_are_capped(void **state)
{
    (void)state;
    char text[64 * 4 + 16] = "";
    size_t len = 0;
    for (int i = 0; i < 64; i++) {
        len += (size_t)snprintf(text + len, sizeof(text) - len, "s%02d ", i);
    }
    env_set("MCP_SCOPES_SUPPORTED", text);
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    unload(&r);
    snprintf(text + len, sizeof(text) - len, "s64");
    env_set("MCP_SCOPES_SUPPORTED", text);
    expect_problem("MCP_SCOPES_SUPPORTED", "more than 64 scopes");
    char big[1100];
    memset(big, 'a', 1025);
    big[1025] = '\0';
    env_set("MCP_SCOPES_SUPPORTED", big);
    expect_problem("MCP_SCOPES_SUPPORTED", "1024 bytes");
}

/* Writes a fresh private key of the given kind ("P-256", "P-384", "RSA")
 * to dir/name as PEM; with public_only, only its public half. Returns the
 * path (static storage, overwritten by the next call's). */
static const char *
write_key(const char *dir, const char *name, const char *kind, bool public_only)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    EVP_PKEY *pkey = strcmp(kind, "RSA") == 0 ? EVP_RSA_gen(2048) : EVP_EC_gen(kind);
    assert_non_null(pkey);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    int ok = public_only ? PEM_write_PUBKEY(f, pkey)
                         : PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
    assert_int_equal(ok, 1);
    fclose(f);
    EVP_PKEY_free(pkey);
    return path;
}

/* UPSTREAM_IDENTITY_KEY_FILE: each listed file is read at load, and
 * --check-config names the file and what is wrong with it. */
static void
identity_key_files_are_checked(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_config_identity_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char good[512], good2[512], list[1100];
    snprintf(good, sizeof(good), "%s", write_key(dir, "a.pem", "P-256", false));
    snprintf(good2, sizeof(good2), "%s", write_key(dir, "b.pem", "P-256", false));
    snprintf(list, sizeof(list), "%s, %s", good2, good);

    env_set("UPSTREAM_IDENTITY_ASSERTION", "true");
    env_set("UPSTREAM_IDENTITY_KEY_FILE", list);
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_int_equal(r.c.upstream_identity_key_file_count, 2);
    assert_string_equal(r.c.upstream_identity_key_files[0], good2);
    assert_string_equal(r.c.upstream_identity_key_files[1], good);
    unload(&r);

    env_set("UPSTREAM_IDENTITY_KEY_FILE", write_key(dir, "c.pem", "P-384", false));
    expect_problem("UPSTREAM_IDENTITY_KEY_FILE", "c.pem holds an EC key on another curve");
    env_set("UPSTREAM_IDENTITY_KEY_FILE", write_key(dir, "d.pem", "RSA", false));
    expect_problem("UPSTREAM_IDENTITY_KEY_FILE", "d.pem holds a private key that is not an EC");
    env_set("UPSTREAM_IDENTITY_KEY_FILE", write_key(dir, "e.pem", "P-256", true));
    expect_problem("UPSTREAM_IDENTITY_KEY_FILE", "e.pem holds no unencrypted PEM private key");
    snprintf(list, sizeof(list), "%s,%s", good, good);
    env_set("UPSTREAM_IDENTITY_KEY_FILE", list);
    expect_problem("UPSTREAM_IDENTITY_KEY_FILE", "lists the same key twice");

    /* Set without the switch: loads, with a warning that it is unused. */
    env_set("UPSTREAM_IDENTITY_ASSERTION", "false");
    env_set("UPSTREAM_IDENTITY_KEY_FILE", good);
    load(&r);
    assert_true(r.ok);
    assert_non_null(strstr(r.warn, "UPSTREAM_IDENTITY_KEY_FILE: is set but"));
    unload(&r);
    /* A generated key with REDIS_URL set: the replicas warning. */
    env_set("UPSTREAM_IDENTITY_ASSERTION", "true");
    env_set("UPSTREAM_IDENTITY_KEY_FILE", NULL);
    env_set("REDIS_URL", "redis://127.0.0.1:6379/0");
    load(&r);
    assert_true(r.ok);
    assert_non_null(strstr(r.warn, "several replicas"));
    unload(&r);

    const char *names[] = {"a.pem", "b.pem", "c.pem", "d.pem", "e.pem"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char p[600];
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

static void
one_row_per_rule(void **state)
{
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        env_good(state);
        env_set(rules[i].var, rules[i].value);
        if (rules[i].problem == NULL) {
            expect_ok();
        } else if (strcmp(rules[i].problem, "missing required env vars") == 0) {
            struct loaded r;
            load(&r);
            assert_false(r.ok);
            assert_non_null(strstr(r.err, "config: missing required env vars: "));
            assert_non_null(strstr(r.err, rules[i].var));
            unload(&r);
        } else {
            expect_problem(rules[i].var, rules[i].problem);
        }
    }
}

static void
insecure_issuer_allowed_only_by_its_flag(void **state)
{
    env_set("OIDC_ISSUER_URL", "http://keycloak:8080/realms/demo");
    expect_problem("OIDC_ISSUER_URL", "OIDC_ALLOW_INSECURE_HTTP");
    /* The flag is a relaxation: with PROD_MODE=true it is refused ... */
    env_set("OIDC_ALLOW_INSECURE_HTTP", "true");
    expect_problem("PROD_MODE", "OIDC_ALLOW_INSECURE_HTTP=true");
    /* ... and accepted for development. */
    env_set("PROD_MODE", "false");
    expect_ok();
}

static void
missing_required_vars_are_listed_together_in_order(void **state)
{
    static const char *const required[] = {
        "OIDC_ISSUER_URL", "OIDC_CLIENT_ID",   "OIDC_CLIENT_SECRET",
        "PROXY_BASE_URL",  "UPSTREAM_MCP_URL", "TOKEN_SIGNING_SECRET",
    };
    for (size_t i = 0; i < 6; i++) {
        env_good(state);
        env_unset(required[i]);
        struct loaded r;
        load(&r);
        assert_false(r.ok);
        char want[128];
        snprintf(want, sizeof(want), "config: missing required env vars: %s;", required[i]);
        if (strstr(r.err, want) == NULL) {
            fail_msg("want \"%s\" in:\n%s", want, r.err);
        }
        unload(&r);
    }
    env_n = 0;
    env_set("REDIS_URL", GOOD_REDIS);
    struct loaded r;
    load(&r);
    assert_false(r.ok);
    assert_non_null(strstr(r.err, "config: missing required env vars: OIDC_ISSUER_URL, "
                                  "OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, PROXY_BASE_URL, "
                                  "UPSTREAM_MCP_URL, TOKEN_SIGNING_SECRET;"));
    assert_int_equal(count_lines(r.err), 1);
    unload(&r);
}

static void
all_problems_are_reported_together(void **state)
{
    env_unset("OIDC_CLIENT_ID");
    env_set("PROXY_BASE_URL", "http://example.com");
    env_set("SHUTDOWN_TIMEOUT", "16m");
    env_set("REFRESH_RACE_GRACE_SEC", "11");
    env_set("TRUSTED_PROXY_HEADER", "Forwarded");
    env_set("WORKERS", "0");
    env_set("PKCE_REQUIRED", "false");
    struct loaded r;
    load(&r);
    assert_false(r.ok);
    static const char *const in_order[] = {
        "config: PROXY_BASE_URL: ",
        "config: missing required env vars: OIDC_CLIENT_ID;",
        "config: SHUTDOWN_TIMEOUT: ",
        "config: REFRESH_RACE_GRACE_SEC: ",
        "config: TRUSTED_PROXY_HEADER: ",
        "config: WORKERS: ",
        "config: PROD_MODE: PROD_MODE=true rejects unsafe settings: PKCE_REQUIRED=false",
    };
    const char *at = r.err;
    for (size_t i = 0; i < sizeof(in_order) / sizeof(in_order[0]); i++) {
        const char *hit = strstr(at, in_order[i]);
        if (hit == NULL) {
            fail_msg("missing or out of order: \"%s\" in:\n%s", in_order[i], r.err);
        }
        at = hit;
    }
    assert_int_equal(count_lines(r.err), 7);
    unload(&r);
}

/* ------------------------------------------------------------------ */
/* PROD_MODE gate (SPEC.md 1.5)                                        */

static void
prod_mode_refuses_each_unsafe_setting(void **state)
{
    static const struct {
        const char *name, *value, *violation;
    } unsafe[] = {
        {"PKCE_REQUIRED", "false", "PKCE_REQUIRED=false"},
        {"COMPAT_ALLOW_STATELESS", "true", "COMPAT_ALLOW_STATELESS=true"},
        {"REDIS_REQUIRED", "false", "REDIS_REQUIRED=false"},
        {"REDIS_URL", "", "REDIS_URL unset"},
        {"TRUST_PROXY_HEADERS", "true", "TRUST_PROXY_HEADERS=true without TRUSTED_PROXY_CIDRS"},
        {"OIDC_ALLOW_INSECURE_HTTP", "true", "OIDC_ALLOW_INSECURE_HTTP=true"},
        {"CIMD_ALLOW_PRIVATE_ADDRESSES", "true", "CIMD_ALLOW_PRIVATE_ADDRESSES=true"},
        {"TOKEN_SIGNING_SECRET", "abcabcabcabcabcabcabcabcabcabcabc",
         "TOKEN_SIGNING_SECRET repeats with period 3"},
    };
    for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
        env_good(state);
        env_set(unsafe[i].name, unsafe[i].value);
        expect_problem("PROD_MODE", "PROD_MODE=true rejects unsafe settings: ");
        expect_problem("PROD_MODE", unsafe[i].violation);
        /* Development mode accepts it (REDIS_URL unset then needs
         * REDIS_REQUIRED=false, checked separately). */
        env_set("PROD_MODE", "false");
        if (strcmp(unsafe[i].name, "REDIS_URL") == 0) {
            env_set("REDIS_REQUIRED", "false");
        }
        expect_ok();
    }
}

static void
prod_mode_lists_every_violation_in_spec_order(void **state)
{
    env_set("PKCE_REQUIRED", "false");
    env_set("COMPAT_ALLOW_STATELESS", "true");
    env_set("REDIS_REQUIRED", "false");
    env_unset("REDIS_URL");
    env_set("TRUST_PROXY_HEADERS", "true");
    env_set("OIDC_ALLOW_INSECURE_HTTP", "true");
    env_set("TOKEN_SIGNING_SECRET", "0123456789abcdef0123456789abcdef");
    env_set("TOKEN_SIGNING_SECRETS_PREVIOUS",
            FIXTURE_SECRET " bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    struct loaded r;
    load(&r);
    assert_false(r.ok);
    assert_int_equal(count_lines(r.err), 1);
    static const char *const in_order[] = {
        "config: PROD_MODE: PROD_MODE=true rejects unsafe settings: PKCE_REQUIRED=false",
        "; COMPAT_ALLOW_STATELESS=true",
        "; REDIS_REQUIRED=false",
        "; REDIS_URL unset",
        "; TRUST_PROXY_HEADERS=true without TRUSTED_PROXY_CIDRS",
        "; OIDC_ALLOW_INSECURE_HTTP=true",
        "; TOKEN_SIGNING_SECRET repeats with period 16",
        "; TOKEN_SIGNING_SECRETS_PREVIOUS[1] is 40 copies of a single byte",
    };
    const char *at = r.err;
    for (size_t i = 0; i < sizeof(in_order) / sizeof(in_order[0]); i++) {
        const char *hit = strstr(at, in_order[i]);
        if (hit == NULL) {
            fail_msg("missing or out of order: \"%s\" in:\n%s", in_order[i], r.err);
        }
        at = hit;
    }
    unload(&r);
}

static void
prod_mode_allows_trust_proxy_headers_with_cidrs(void **state)
{
    env_set("TRUST_PROXY_HEADERS", "true");
    env_set("TRUSTED_PROXY_CIDRS", "10.0.0.0/8");
    expect_ok();
    /* A bad CIDR list is its own problem, not also a gate violation. */
    env_set("TRUSTED_PROXY_CIDRS", "10.0.0.0/80");
    struct loaded r;
    load(&r);
    assert_false(r.ok);
    assert_null(strstr(r.err, "PROD_MODE"));
    assert_non_null(strstr(r.err, "config: TRUSTED_PROXY_CIDRS: "));
    unload(&r);
}

static void
prod_mode_passes_with_safe_defaults(void **state)
{
    /* RENDER_CONSENT_PAGE=false and RATE_LIMIT_ENABLED=false are not
     * refused by the gate (SPEC.md 1.5). */
    env_set("RENDER_CONSENT_PAGE", "false");
    env_set("RATE_LIMIT_ENABLED", "false");
    expect_ok();
}

static void
weak_secret_refused_in_prod_warned_in_dev(void **state)
{
    env_set("TOKEN_SIGNING_SECRET", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    expect_problem("PROD_MODE", "TOKEN_SIGNING_SECRET is 32 copies of a single byte");
    env_set("PROD_MODE", "false");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_non_null(strstr(r.warn, "config: TOKEN_SIGNING_SECRET: is 32 copies of a single byte"));
    unload(&r);
}

static void
weak_previous_secret_refused_in_prod_silent_in_dev(void **state)
{
    env_set("TOKEN_SIGNING_SECRETS_PREVIOUS",
            FIXTURE_SECRET_2 " xyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyz");
    expect_problem("PROD_MODE", "TOKEN_SIGNING_SECRETS_PREVIOUS[1] repeats with period 3");
    env_set("PROD_MODE", "false");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_string_equal(r.warn, "");
    unload(&r);
}

static void
sentinel_mode_rules(void **state)
{
    env_set("REDIS_SENTINELS", "127.0.0.1:26379, [::1]:26380,sentinel-2.example:26379");
    env_set("REDIS_SENTINEL_MASTER", "mymaster");
    env_set("REDIS_SENTINEL_PASSWORD", "sentinel-pass");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_string_equal(r.c.redis_sentinel_master, "mymaster");
    assert_string_equal(r.c.redis_sentinel_password, "sentinel-pass");
    /* A secret is never in a report. */
    assert_null(strstr(r.warn, "sentinel-pass"));
    unload(&r);
    /* REDIS_URL still gives the data nodes' credentials and TLS. */
    env_set("PROD_MODE", "false");
    env_set("REDIS_REQUIRED", "false");
    env_unset("REDIS_URL");
    expect_problem("REDIS_SENTINELS", "REDIS_URL is empty");
    env_set("REDIS_URL", "redis+cluster://127.0.0.1:7001");
    expect_problem("REDIS_SENTINELS", "use one or the other");
    env_set("REDIS_URL", "redis://127.0.0.1:6379");
    env_set("REDIS_CLUSTER", "true");
    expect_problem("REDIS_SENTINELS", "use one or the other");
    env_unset("REDIS_CLUSTER");
    expect_ok();
    env_unset("REDIS_SENTINELS");
    env_unset("REDIS_SENTINEL_MASTER");
    env_unset("REDIS_SENTINEL_PASSWORD");
}

static void
redis_required_without_url_fails_in_dev_too(void **state)
{
    env_set("PROD_MODE", "false");
    env_unset("REDIS_URL");
    expect_problem("REDIS_REQUIRED", "REDIS_URL is empty");
    env_set("REDIS_REQUIRED", "false");
    expect_ok();
    /* REDIS_CLUSTER names nothing by itself. */
    env_set("REDIS_CLUSTER", "true");
    expect_problem("REDIS_CLUSTER", "REDIS_URL is empty");
    env_set("REDIS_URL", "redis://127.0.0.1:7001");
    expect_ok();
    env_unset("REDIS_CLUSTER");
    env_unset("REDIS_URL");
}

/* ------------------------------------------------------------------ */
/* Secrets never leave                                                 */

#define S_CLIENT "client-SECRET-do-not-print-77"
#define S_TOKEN "token-SECRET-do-not-print-0123456789-abc"
#define S_PREV1 "prev1-SECRET-do-not-print-0123456789-xyz"
#define S_PREV2 "prev2-SECRET-do-not-print-0123456789-uvw"
#define S_REDIS_PASS "redisPASS-do-not-print"
#define S_UPSTREAM "upstreamTOKEN-do-not-print"

static void
expect_no_secret(const char *text)
{
    static const char *const secrets[] = {S_CLIENT,     S_TOKEN,    S_PREV1,       S_PREV2,
                                          S_REDIS_PASS, S_UPSTREAM, "do-not-print"};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        if (strstr(text, secrets[i]) != NULL) {
            fail_msg("secret \"%s\" printed in:\n%s", secrets[i], text);
        }
    }
}

static void
set_distinctive_secrets(void)
{
    env_set("OIDC_CLIENT_SECRET", S_CLIENT);
    env_set("TOKEN_SIGNING_SECRET", S_TOKEN);
    env_set("TOKEN_SIGNING_SECRETS_PREVIOUS", S_PREV1 "\n" S_PREV2);
    env_set("REDIS_URL", "redis://default:" S_REDIS_PASS "@redis:6379/0");
    env_set("UPSTREAM_AUTHORIZATION_HEADER", "Bearer " S_UPSTREAM);
}

static void
secrets_never_appear_in_reports(void **state)
{
    set_distinctive_secrets();
    /* Valid: the dump redacts every secret. */
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    char *dump = NULL;
    size_t dump_len = 0;
    FILE *f = open_memstream(&dump, &dump_len);
    config_report_dump(&r.c, f);
    fclose(f);
    expect_no_secret(dump);
    assert_non_null(strstr(dump, "\nOIDC_CLIENT_SECRET=[redacted]\n"));
    assert_non_null(strstr(dump, "\nTOKEN_SIGNING_SECRET=[redacted]\n"));
    assert_non_null(strstr(dump, "\nTOKEN_SIGNING_SECRETS_PREVIOUS=[redacted] (2 secrets)\n"));
    assert_non_null(strstr(dump, "\nREDIS_URL=[redacted]\n"));
    assert_non_null(strstr(dump, "\nUPSTREAM_AUTHORIZATION_HEADER=[redacted]\n"));
    free(dump);
    unload(&r);

    /* Invalid everywhere else: the problem lines name, never show. */
    env_set("SHUTDOWN_TIMEOUT", "forever");
    env_set("PKCE_REQUIRED", "false");
    env_set("UPSTREAM_AUTHORIZATION_HEADER", "Bearer " S_UPSTREAM "\r\n");
    load(&r);
    assert_false(r.ok);
    expect_no_secret(r.err);
    expect_no_secret(r.warn);
    assert_non_null(strstr(r.err, "config: UPSTREAM_AUTHORIZATION_HEADER: "));
    unload(&r);

    /* Secrets that are themselves the problem. */
    env_set("TOKEN_SIGNING_SECRET", "short-do-not-print");
    env_set("TOKEN_SIGNING_SECRETS_PREVIOUS", S_PREV1 " short2-do-not-print");
    load(&r);
    assert_false(r.ok);
    expect_no_secret(r.err);
    unload(&r);

    /* Weak secrets are described, not shown. */
    env_good(state);
    env_set("TOKEN_SIGNING_SECRET", "do-not-print-do-not-print-do-not-print");
    env_set("PROD_MODE", "false");
    load(&r);
    assert_true(r.ok);
    assert_non_null(strstr(r.warn, "repeats with period 13"));
    expect_no_secret(r.warn);
    unload(&r);
    env_set("PROD_MODE", "true");
    load(&r);
    assert_false(r.ok);
    expect_no_secret(r.err);
    unload(&r);
}

static void
dump_shows_effective_values(void **state)
{
    env_set("SHUTDOWN_TIMEOUT", "90s");
    env_set("TRUSTED_PROXY_HEADER", "x-real-ip");
    env_set("TRUSTED_PROXY_CIDRS", "10.1.2.3/8");
    env_set("MCP_RESOURCE_NAME", "line1\nline2");
    env_set("REDIS_KEY_PREFIX", "");
    env_set("REVOKE_BEFORE", "2026-03-28T12:00:00.250Z");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    char *dump = NULL;
    size_t dump_len = 0;
    FILE *f = open_memstream(&dump, &dump_len);
    config_report_dump(&r.c, f);
    fclose(f);
    assert_non_null(strstr(dump, "\nSHUTDOWN_TIMEOUT=1m30s\n"));
    assert_non_null(strstr(dump, "\nTRUSTED_PROXY_HEADER=X-Real-Ip\n"));
    assert_non_null(strstr(dump, "\nTRUSTED_PROXY_CIDRS=10.0.0.0/8\n"));
    assert_non_null(strstr(dump, "\nMCP_RESOURCE_NAME=line1\\x0aline2\n"));
    assert_non_null(strstr(dump, "\nREDIS_KEY_PREFIX=(empty: no prefix)\n"));
    assert_non_null(strstr(dump, "\nREVOKE_BEFORE=2026-03-28T12:00:00.250Z\n"));
    assert_non_null(strstr(dump, "\nALLOWED_GROUPS=(unset)\n"));
    assert_non_null(strstr(dump, "canonical_resource=" FIXTURE_BASE "/mcp"));
    /* One line per variable, plus the derived line. */
    assert_int_equal(count_lines(dump), config_var_count() + 1);
    for (size_t i = 0; i < config_var_count(); i++) {
        char want[128];
        snprintf(want, sizeof(want), "%s%s=", i ? "\n" : "", config_var_name(i));
        assert_non_null(strstr(dump, want));
    }
    free(dump);
    unload(&r);
}

/* ------------------------------------------------------------------ */
/* ACCESS_LOG_SKIP_RE                                                  */

static void
access_log_skip_re_matches_unanchored(void **state)
{
    env_set("ACCESS_LOG_SKIP_RE", "  ^/healthz$|^/readyz$ \n");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_string_equal(r.c.access_log_skip_re_text, "^/healthz$|^/readyz$");
    assert_true(skips(&r.c, "/healthz", 8));
    assert_true(skips(&r.c, "/readyz", 7));
    assert_false(skips(&r.c, "/healthz/x", 10));
    assert_false(skips(&r.c, "/mcp", 4));
    /* The length counts, not the NUL. */
    assert_true(skips(&r.c, "/healthzXYZ", 8));
    unload(&r);

    env_set("ACCESS_LOG_SKIP_RE", "probe");
    load(&r);
    assert_true(r.ok);
    assert_true(skips(&r.c, "/x/probe/y", 10)); /* unanchored */
    assert_false(skips(&r.c, "/x/prob", 7));
    assert_false(skips(&r.c, NULL, 0));
    unload(&r);
}

static void
access_log_skip_re_backtracking_is_bounded(void **state)
{
    env_set("ACCESS_LOG_SKIP_RE", "^(a+)+$");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    char path[4096];
    memset(path, 'a', sizeof(path));
    path[sizeof(path) - 1] = '!';
    clock_t start = clock();
    for (int i = 0; i < 20; i++) {
        assert_false(skips(&r.c, path, sizeof(path)));
    }
    assert_true((double)(clock() - start) / CLOCKS_PER_SEC < 5.0);
    assert_true(skips(&r.c, path, sizeof(path) - 1));
    unload(&r);
}

static void
redis_ca_file_must_be_readable(void **state)
{
    char path[] = "/tmp/test_config_ca_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "-----BEGIN CERTIFICATE-----\n", 28), 28);
    close(fd);
    env_set("REDIS_CA_FILE", path);
    env_set("REDIS_URL", "rediss://redis.internal:6380/0");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_string_equal(r.c.redis_ca_file, path);
    assert_string_equal(r.warn, "");
    unload(&r);
    /* With a plain redis:// URL the bundle is unused: a warning. */
    env_set("REDIS_URL", "redis://redis.internal:6379/0");
    load(&r);
    assert_true(r.ok);
    assert_non_null(strstr(r.warn, "config: REDIS_CA_FILE: "));
    unload(&r);
    /* Unreadable (unless we are root, who reads everything). */
    assert_int_equal(chmod(path, 0), 0);
    if (geteuid() != 0) {
        expect_problem("REDIS_CA_FILE", "cannot be read");
    }
    unlink(path);
    expect_problem("REDIS_CA_FILE", "cannot be used");
}

/* RATE_LIMIT_STORE=redis shares budgets through REDIS_URL: without it the
 * configuration is refused with a sentence naming both ways out. */
static void
rate_limit_store_redis_needs_redis_url(void **state)
{
    env_set("RATE_LIMIT_STORE", "redis");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_string_equal(r.c.rate_limit_store, "redis");
    assert_int_equal(r.c.rate_limit_token_per_min, 60);
    assert_int_equal(r.c.rate_limit_revoke_per_min, 30);
    unload(&r);
    env_set("REDIS_URL", "");
    env_set("REDIS_REQUIRED", "false");
    env_set("PROD_MODE", "false");
    expect_problem("RATE_LIMIT_STORE", "REDIS_URL is empty");
    env_set("RATE_LIMIT_STORE", "local");
    expect_ok();
}

static void
log_level_unknown_is_info_with_a_warning(void **state)
{
    env_set("LOG_LEVEL", "verbose");
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    assert_int_equal(r.c.log_level, LOG_INFO);
    assert_non_null(strstr(r.warn, "config: LOG_LEVEL: "));
    unload(&r);
    env_set("LOG_LEVEL", "Fatal");
    load(&r);
    assert_true(r.ok);
    assert_int_equal(r.c.log_level, LOG_ERROR);
    unload(&r);
}

/* ------------------------------------------------------------------ */
/* Start-up log lines (SPEC.md 1.7)                                    */

/* Runs config_report_log_startup() on the loaded configuration and returns what
 * it logged (JSON lines). */
static char *
startup_log(void)
{
    struct loaded r;
    load(&r);
    assert_true(r.ok);
    char path[] = "/tmp/test_config_log_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    log_set_level(LOG_DEBUG);
    log_set_fd(fd);
    config_report_log_startup(&r.c);
    log_set_fd(1);
    log_set_level(LOG_INFO);
    unload(&r);
    off_t len = lseek(fd, 0, SEEK_END);
    assert_true(len > 0);
    char *text = xcalloc(1, (size_t)len + 1);
    assert_int_equal(pread(fd, text, (size_t)len, 0), len);
    close(fd);
    return text;
}

static void
startup_log_lines(void **state)
{
    char *log = startup_log();
    assert_non_null(strstr(log, "\"msg\":\"startup_config\""));
    static const char *const fields[] = {
        "\"prod_mode\":true",
        "\"pkce_required\":true",
        "\"redis_required\":true",
        "\"rate_limit_enabled\":true",
        "\"trust_proxy_headers\":false",
        "\"compat_allow_stateless\":false",
        "\"render_consent_page\":true",
        "\"per_subject_concurrency\":16",
        "\"groups_claim\":\"groups\"",
        "\"allowed_groups_set\":false",
        "\"revoke_before_set\":false",
        "\"upstream_authorization_set\":false",
        "\"access_log_skip_re\":\"\"",
        "\"tool_metrics_enabled\":false",
        "\"tool_metrics_max_cardinality\":256",
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strstr(log, fields[i]) == NULL) {
            fail_msg("startup_config lacks %s:\n%s", fields[i], log);
        }
    }
    assert_int_equal(count_lines(log), 1); /* nothing else to say */
    xfree(log);

    env_set("PROD_MODE", "false");
    env_set("TOKEN_SIGNING_SECRET", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    env_set("TOKEN_SIGNING_SECRETS_PREVIOUS", FIXTURE_SECRET " " FIXTURE_SECRET_2);
    env_set("CSP_FORM_ACTION_EXTRA", ",");
    env_set("TRUST_PROXY_HEADERS", "true");
    env_set("ALLOWED_GROUPS", "admins");
    env_set("UPSTREAM_AUTHORIZATION_HEADER", "Bearer x-do-not-log");
    env_set("ACCESS_LOG_SKIP_RE", "^/healthz$");
    log = startup_log();
    assert_non_null(strstr(log, "\"level\":\"warn\",\"msg\":\"csp_form_action_extra_deprecated\""));
    assert_non_null(strstr(log, "\"msg\":\"token_signing_secret_weak\""));
    assert_non_null(
        strstr(log, "\"reason\":\"TOKEN_SIGNING_SECRET is 36 copies of a single byte\""));
    assert_non_null(strstr(log, "\"msg\":\"token_signing_rotation_in_progress\""));
    assert_non_null(strstr(log, "\"previous_keys\":2"));
    assert_non_null(strstr(log, "\"level\":\"warn\",\"msg\":\"trust_proxy_headers_deprecated\""));
    assert_non_null(strstr(log, "\"allowed_groups_set\":true"));
    assert_non_null(strstr(log, "\"upstream_authorization_set\":true"));
    assert_non_null(strstr(log, "\"access_log_skip_re\":\"^/healthz$\""));
    assert_null(strstr(log, "do-not-log"));
    assert_null(strstr(log, "aaaaaaaa"));
    assert_null(strstr(log, FIXTURE_SECRET));
    xfree(log);

    env_set("TRUSTED_PROXY_CIDRS", "10.0.0.0/8");
    log = startup_log();
    assert_non_null(strstr(log, "\"msg\":\"trust_proxy_headers_superseded_by_cidrs\""));
    assert_null(strstr(log, "trust_proxy_headers_deprecated"));
    xfree(log);
}

/* ------------------------------------------------------------------ */
/* The table: names, --help, the docs                                  */

static void
table_names_are_unique_and_in_help(void **state)
{
    (void)state;
    char *help = NULL;
    size_t help_len = 0;
    FILE *f = open_memstream(&help, &help_len);
    config_report_help(f);
    fclose(f);
    assert_true(config_var_count() >= 41);
    for (size_t i = 0; i < config_var_count(); i++) {
        const char *name = config_var_name(i);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(name, config_var_name(j));
        }
        char want[128];
        snprintf(want, sizeof(want), "  %s\n      ", name);
        if (strstr(help, want) == NULL) {
            fail_msg("%s is not in --help", name);
        }
    }
    assert_null(config_var_name(config_var_count()));
    assert_non_null(strstr(help, "  OIDC_CLIENT_SECRET\n"));
    assert_non_null(strstr(help, "required; secret"));
    assert_non_null(strstr(help, "default: 120s"));
    free(help);
}

/* docs/configuration.md: one "### NAME" heading per variable. The source
 * root is two levels above TEST_DATA_DIR (tests/data). */
static char *
read_docs(void)
{
    const char *data = getenv("TEST_DATA_DIR");
    assert_non_null(data);
    char path[4096];
    size_t len = strlen(data);
    while (len > 0 && data[len - 1] == '/') {
        len--;
    }
    const char *suffix = "/tests/data";
    assert_true(len > strlen(suffix));
    assert_memory_equal(data + len - strlen(suffix), suffix, strlen(suffix));
    snprintf(path, sizeof(path), "%.*s/docs/configuration.md", (int)(len - strlen(suffix)), data);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    char *text = NULL;
    size_t text_len = 0;
    FILE *out = open_memstream(&text, &text_len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        fwrite(chunk, 1, n, out);
    }
    fclose(f);
    fclose(out);
    return text;
}

static bool
table_has(const char *name, size_t len)
{
    for (size_t i = 0; i < config_var_count(); i++) {
        if (strlen(config_var_name(i)) == len && memcmp(config_var_name(i), name, len) == 0) {
            return true;
        }
    }
    return false;
}

static void
docs_list_exactly_the_table(void **state)
{
    (void)state;
    char *docs = read_docs();
    size_t found = 0;
    bool drift = false;
    for (const char *line = docs; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 4 && memcmp(line, "### ", 4) == 0) {
            const char *name = line + 4;
            size_t name_len = len - 4;
            if (!table_has(name, name_len)) {
                print_error("docs/configuration.md documents %.*s, which config.c does not "
                            "read\n",
                            (int)name_len, name);
                drift = true;
            }
            found++;
        }
        line = end ? end + 1 : NULL;
    }
    for (size_t i = 0; i < config_var_count(); i++) {
        char want[128];
        snprintf(want, sizeof(want), "\n### %s\n", config_var_name(i));
        if (strstr(docs, want) == NULL) {
            print_error("%s is missing from docs/configuration.md\n", config_var_name(i));
            drift = true;
        }
    }
    assert_false(drift);
    assert_int_equal(found, config_var_count());
    free(docs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(defaults, env_good),
        cmocka_unit_test_setup(scopes_are_normalised, env_good),
        cmocka_unit_test_setup(scopes_default_to_none, env_good),
        cmocka_unit_test_setup(scopes_are_capped, env_good),
        cmocka_unit_test_setup(all_vars_set_are_loaded_verbatim, env_good),
        cmocka_unit_test_setup(base_url_loses_every_trailing_slash, env_good),
        cmocka_unit_test_setup(upstream_mount_is_normalised, env_good),
        cmocka_unit_test_setup(origin_only_upstream_error_suggests_the_path, env_good),
        cmocka_unit_test_setup(lists_and_enumerations_are_parsed, env_good),
        cmocka_unit_test_setup(numbers_and_durations_are_parsed, env_good),
        cmocka_unit_test_setup(redis_key_prefix_explicit_empty_is_kept, env_good),
        cmocka_unit_test_setup(empty_means_unset, env_good),
        cmocka_unit_test_setup(idp_quirk_settings_load, env_good),
        cmocka_unit_test_setup(default_true_booleans, env_good),
        cmocka_unit_test_setup(default_false_booleans, env_good),
        cmocka_unit_test_setup(one_row_per_rule, env_good),
        cmocka_unit_test_setup(identity_key_files_are_checked, env_good),
        cmocka_unit_test_setup(insecure_issuer_allowed_only_by_its_flag, env_good),
        cmocka_unit_test_setup(missing_required_vars_are_listed_together_in_order, env_good),
        cmocka_unit_test_setup(all_problems_are_reported_together, env_good),
        cmocka_unit_test_setup(prod_mode_refuses_each_unsafe_setting, env_good),
        cmocka_unit_test_setup(prod_mode_lists_every_violation_in_spec_order, env_good),
        cmocka_unit_test_setup(prod_mode_allows_trust_proxy_headers_with_cidrs, env_good),
        cmocka_unit_test_setup(prod_mode_passes_with_safe_defaults, env_good),
        cmocka_unit_test_setup(weak_secret_refused_in_prod_warned_in_dev, env_good),
        cmocka_unit_test_setup(weak_previous_secret_refused_in_prod_silent_in_dev, env_good),
        cmocka_unit_test_setup(redis_required_without_url_fails_in_dev_too, env_good),
        cmocka_unit_test_setup(sentinel_mode_rules, env_good),
        cmocka_unit_test_setup(secrets_never_appear_in_reports, env_good),
        cmocka_unit_test_setup(dump_shows_effective_values, env_good),
        cmocka_unit_test_setup(access_log_skip_re_matches_unanchored, env_good),
        cmocka_unit_test_setup(access_log_skip_re_backtracking_is_bounded, env_good),
        cmocka_unit_test_setup(redis_ca_file_must_be_readable, env_good),
        cmocka_unit_test_setup(rate_limit_store_redis_needs_redis_url, env_good),
        cmocka_unit_test_setup(log_level_unknown_is_info_with_a_warning, env_good),
        cmocka_unit_test_setup(startup_log_lines, env_good),
        cmocka_unit_test(table_names_are_unique_and_in_help),
        cmocka_unit_test(docs_list_exactly_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
