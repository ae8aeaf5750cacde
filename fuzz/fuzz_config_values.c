/* Fuzz target: one configuration value at a time. The first byte picks a
 * variable of config.c's table (modulo their number), the rest (up to the
 * first NUL, as an environment string ends there) is its value; every other
 * variable keeps a valid production value. config_load must never crash or
 * leak, must never print another variable's secret in its problem lines,
 * and on success the dump must redact every secret variable. The same bytes also go through the
 * parsers the table relies on: Go durations (format/parse round trip), RFC 3339, CIDRs, URLs and
 * the config_check validators. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/duration.h"
#include "base/ipaddr.h"
#include "base/rfc3339.h"
#include "base/url.h"
#include "base/xalloc.h"
#include "config.h"
#include "config_check.h"
#include "config_report.h"
#include "log_skip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const secrets[] = {
    "fuzz-client-secret-0x5eed",
    "fuzz-token-secret-0123456789abcdefghij",
    "fuzz-previous-secret-0123456789abcdefgh",
    "fuzz-redis-password",
    "fuzz-upstream-token",
};

static const struct {
    const char *name, *value;
} base_env[] = {
    {"OIDC_ISSUER_URL", "https://idp.example.com/realms/fuzz"},
    {"OIDC_CLIENT_ID", "fuzz-client"},
    {"OIDC_CLIENT_SECRET", "fuzz-client-secret-0x5eed"},
    {"PROXY_BASE_URL", "https://auth.example.com"},
    {"UPSTREAM_MCP_URL", "http://mcp.internal:3000/mcp"},
    {"TOKEN_SIGNING_SECRET", "fuzz-token-secret-0123456789abcdefghij"},
    {"TOKEN_SIGNING_SECRETS_PREVIOUS", "fuzz-previous-secret-0123456789abcdefgh"},
    {"REDIS_URL", "redis://:fuzz-redis-password@redis:6379/0"},
    {"UPSTREAM_AUTHORIZATION_HEADER", "Bearer fuzz-upstream-token"},
};

static const char *override_name;
static const char *override_value;

static const char *
fuzz_getenv(const char *name)
{
    if (override_name != NULL && strcmp(name, override_name) == 0) {
        return override_value;
    }
    for (size_t i = 0; i < sizeof(base_env) / sizeof(base_env[0]); i++) {
        if (strcmp(name, base_env[i].name) == 0) {
            return base_env[i].value;
        }
    }
    return NULL;
}

/* Problem lines never show a value, except UPSTREAM_MCP_URL's hint, which
 * echoes the input: a secret may appear there only if the input holds it. */
static void
check_no_secret(const char *text, size_t len, const char *input)
{
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        if (strstr(input, secrets[i]) == NULL &&
            memmem(text, len, secrets[i], strlen(secrets[i])) != NULL) {
            fprintf(stderr, "secret %zu leaked for %s\n", i, override_name);
            abort();
        }
    }
}

/* In the dump, every secret variable's value is "[redacted]..." or
 * "(unset)". (Other lines may show input text, escaped and lower-cased,
 * which could spell a secret by accident, so they are not searched.) */
static void
check_dump_redacts(const char *dump)
{
    static const char *const secret_vars[] = {
        "OIDC_CLIENT_SECRET=", "TOKEN_SIGNING_SECRET=",          "TOKEN_SIGNING_SECRETS_PREVIOUS=",
        "REDIS_URL=",          "UPSTREAM_AUTHORIZATION_HEADER=",
    };
    for (const char *line = dump; *line != '\0';) {
        const char *end = strchr(line, '\n');
        for (size_t i = 0; i < sizeof(secret_vars) / sizeof(secret_vars[0]); i++) {
            size_t n = strlen(secret_vars[i]);
            if (strncmp(line, secret_vars[i], n) == 0 && strncmp(line + n, "[redacted]", 10) != 0 &&
                strncmp(line + n, "(unset)", 7) != 0) {
                fprintf(stderr, "secret variable shown: %.*s\n", (int)n, line);
                abort();
            }
        }
        if (end == NULL) {
            break;
        }
        line = end + 1;
    }
}

static void
run_config(const char *value)
{
    struct buf err;
    buf_init(&err, 2 * CONFIG_REPORT_MAX);
    struct config c;
    bool ok = config_load(fuzz_getenv, &c, &err, &err);
    check_no_secret(buf_cstr(&err), err.len, value);
    buf_cleanup(&err);
    if (!ok) {
        return;
    }
    char *dump = NULL;
    size_t dump_len = 0;
    FILE *f = open_memstream(&dump, &dump_len);
    if (f == NULL) {
        abort();
    }
    config_report_dump(&c, f);
    fclose(f);
    check_dump_redacts(dump);
    free(dump);
    if (c.access_log_skip_re_text != NULL) {
        /* config_load compiled the pattern once already: it must compile again. */
        struct log_skip *skip = log_skip_new(c.access_log_skip_re_text, NULL);
        if (skip == NULL) {
            abort();
        }
        (void)log_skip_match(skip, value, strlen(value));
        log_skip_free(skip);
    }
    config_cleanup(&c);
}

static void
run_parsers(const char *value)
{
    struct slice s = slice_from_cstr(value);
    int64_t ns = 0;
    if (duration_parse_signed(s, &ns) && ns >= 0) {
        char text[DURATION_TEXT_MAX];
        uint64_t back = 0;
        duration_format((uint64_t)ns, text);
        if (!duration_parse(slice_from_cstr(text), &back) || back != (uint64_t)ns) {
            abort(); /* format and parse must agree */
        }
    }
    int64_t unix_s = 0;
    int32_t unix_ns = 0;
    (void)rfc3339_parse(s, &unix_s, &unix_ns);
    struct ipcidr cidr;
    (void)ipcidr_parse(s, &cidr);
    struct url u;
    if (url_parse(value, &u) == URL_OK) {
        url_cleanup(&u);
    }
    char *host = NULL;
    uint16_t port = 0;
    if (config_check_listen(value, &host, &port) == NULL) {
        xfree(host);
    }
    struct config_upstream up = {0};
    if (config_check_upstream_url(value, &up) == NULL) {
        config_check_upstream_cleanup(&up);
    }
    char *source = NULL;
    if (config_check_csp_source(s, &source) == NULL) {
        xfree(source);
    }
    (void)config_check_issuer_url(value, false);
    (void)config_check_base_url(value);
    double rate = 0;
    (void)config_check_decimal(s, &rate);
    size_t detail = 0;
    (void)config_check_secret_weakness(value, s.len, &detail);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    size_t count = config_var_count();
    override_name = config_var_name(data[0] % count);
    /* An environment string ends at its first NUL. */
    const uint8_t *start = data + 1;
    size_t len = size - 1;
    const uint8_t *nul = memchr(start, 0, len);
    if (nul != NULL) {
        len = (size_t)(nul - start);
    }
    char *value = xstrndup((const char *)start, len);
    override_value = value;
    run_config(value);
    run_parsers(value);
    override_name = NULL;
    override_value = NULL;
    xfree(value);
    return 0;
}
