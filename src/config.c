/* The environment-variable table, loading with every problem collected,
 * and the cross-field rules (REDIS_REQUIRED, the PROD_MODE gate, in
 * check_cross_fields(), in the order of SPEC.md 1.5). Value-shape rules
 * and the weak-secret analysis live in config_check.c; what the table
 * reports (--check-config, --help, the start-up lines) in
 * config_report.c; the access-log matcher in log_skip.c. */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/duration.h"
#include "base/rfc3339.h"
#include "base/scan.h"
#include "base/scope.h"
#include "base/url.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "config_check.h"
#include "config_int.h"
#include "identity.h"
#include "log.h"
#include "log_skip.h"
#include "ratelimit_budget.h"

/* WORKERS: event-loop threads (DESIGN.md "one process, WORKERS threads"). */
#define CONFIG_WORKERS_MAX 256

struct config_loader {
    const char *(*getenv_fn)(const char *name);
    struct config *c;
    struct buf problems;
    struct buf warnings;
    struct buf missing;
    unsigned problem_count;
    bool truncated;
    bool base_ok;
    bool upstream_ok;
    bool cidrs_invalid;
};

#define AT(field)                                                                                  \
    .offset = offsetof(struct config, field), .size = sizeof(((struct config *)0)->field)

/* Appends one "config: [NAME: ]..." line to b. A line that does not fit is
 * dropped whole; for problems the report then says some are missing. */
__attribute__((format(printf, 4, 0))) static void
report(struct config_loader *ld, struct buf *b, const char *name, const char *fmt, va_list ap)
{
    size_t mark = b->len;
    int rc = name != NULL ? buf_appendf(b, "config: %s: ", name) : buf_append_str(b, "config: ");
    if (rc != 0 || buf_vappendf(b, fmt, ap) != 0 || buf_append_byte(b, '\n') != 0) {
        ld->truncated = ld->truncated || b == &ld->problems;
        b->len = mark;
        if (b->ptr != NULL) {
            b->ptr[mark] = '\0';
        }
    }
}

/* One problem line: "config: NAME: what is wrong; how to fix it". */
__attribute__((format(printf, 3, 4))) static void
problem(struct config_loader *ld, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(ld, &ld->problems, name, fmt, ap);
    va_end(ap);
    ld->problem_count++;
}

__attribute__((format(printf, 3, 4))) static void
warning(struct config_loader *ld, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(ld, &ld->warnings, name, fmt, ap);
    va_end(ap);
}

static void
add_missing(struct config_loader *ld, const char *name)
{
    if ((ld->missing.len > 0 && buf_append_str(&ld->missing, ", ") != 0) ||
        buf_append_str(&ld->missing, name) != 0) {
        ld->truncated = true;
    }
}

const char *
config_var_default_hint(const struct config_var *v)
{
    return v->def_help ? v->def_help : v->def ? v->def : "";
}

static bool
is_false_word(const char *text)
{
    return text != NULL && strcasecmp(text, "false") == 0;
}

static bool
is_true_word(const char *text)
{
    return text != NULL && strcasecmp(text, "true") == 0;
}

/* ------------------------------------------------------------------ */
/* Generic kinds                                                       */

static void
load_text(struct config_loader *ld, const struct config_var *v, const char *text)
{
    const char *value = text ? text : "";
    if (v->check != NULL) {
        const char *reason = v->check(slice_from_cstr(value));
        if (reason != NULL) {
            problem(ld, v->name, "%s", reason);
            return;
        }
    }
    *CONFIG_FIELD(ld->c, v, char *) = xstrdup(value);
}

static void
store_count(struct config *c, const struct config_var *v, uint64_t value)
{
    if (v->size == sizeof(uint64_t)) {
        *CONFIG_FIELD(c, v, uint64_t) = value;
    } else {
        *CONFIG_FIELD(c, v, unsigned) = (unsigned)value;
    }
}

static void
load_count(struct config_loader *ld, const struct config_var *v, const char *text)
{
    bool negative = false;
    uint64_t value = 0;
    const char *reason = config_check_integer(slice_from_cstr(text), &negative, &value);
    if (reason != NULL) {
        problem(ld, v->name,
                "%s; use a whole number from %llu to %llu, or unset it for the "
                "default (%s)",
                reason, (unsigned long long)v->min, (unsigned long long)v->max,
                config_var_default_hint(v));
        return;
    }
    if (negative || value < v->min) {
        problem(ld, v->name, "must be at least %llu%s; unset it for the default (%s)",
                (unsigned long long)v->min, negative ? " (negative values are refused)" : "",
                config_var_default_hint(v));
        return;
    }
    if (value > v->max) {
        problem(ld, v->name, "must be at most %llu; unset it for the default (%s)",
                (unsigned long long)v->max, config_var_default_hint(v));
        return;
    }
    store_count(ld->c, v, value);
}

static void
load_duration(struct config_loader *ld, const struct config_var *v, const char *text)
{
    int64_t ns = 0;
    char limit[DURATION_TEXT_MAX];
    duration_format(v->max, limit);
    if (!duration_parse_signed(slice_from_cstr(text), &ns)) {
        problem(ld, v->name,
                "must be a Go duration such as 30s, 2m or 1h30m (units ns, us, "
                "ms, s, m, h; there is no d unit); unset it for the default (%s)",
                config_var_default_hint(v));
        return;
    }
    if (ns < 0) {
        problem(ld, v->name, "must not be negative; use a duration up to %s", limit);
        return;
    }
    if ((uint64_t)ns < v->min) {
        if (v->min <= 1) {
            problem(ld, v->name, "must be greater than 0; use a duration up to %s", limit);
        } else {
            char floor[DURATION_TEXT_MAX];
            duration_format(v->min, floor);
            problem(ld, v->name, "must be at least %s; use a duration from %s to %s", floor, floor,
                    limit);
        }
        return;
    }
    if ((uint64_t)ns > v->max) {
        problem(ld, v->name, "must be at most %s (the cap); use a shorter duration", limit);
        return;
    }
    /* Rounded up so that no positive duration becomes 0 ("0.5s" as a TTL
     * in seconds must not turn into "never expires"). */
    *CONFIG_FIELD(ld->c, v, uint64_t) = ((uint64_t)ns + v->unit_ns - 1) / v->unit_ns;
}

/* ------------------------------------------------------------------ */
/* Custom kinds, in table order                                        */

static void
load_listen(struct config_loader *ld, const struct config_var *v, const char *text)
{
    struct config_listen *l = CONFIG_FIELD(ld->c, v, struct config_listen);
    char *host = NULL;
    uint16_t port = 0;
    const char *reason = config_check_listen(text, &host, &port);
    if (reason != NULL) {
        problem(ld, v->name, "%s", reason);
        return;
    }
    l->text = xstrdup(text);
    l->host = host;
    l->port = port;
}

static void
load_log_level(struct config_loader *ld, const struct config_var *v, const char *text)
{
    enum log_level level = LOG_INFO;
    if (!log_level_parse(text, &level)) {
        /* SPEC.md 1.2: an unknown level silently becomes info; we say so. */
        warning(ld, v->name, "unknown level, using info; use debug, info, warn or error");
        level = LOG_INFO;
    }
    *CONFIG_FIELD(ld->c, v, int) = (int)level;
}

static void
load_issuer(struct config_loader *ld, const struct config_var *v, const char *text)
{
    /* Kept verbatim (preface fix 1): the IdP's issuer must equal it. */
    const char *reason = config_check_issuer_url(text, ld->c->oidc_allow_insecure_http);
    if (reason != NULL) {
        problem(ld, v->name, "%s", reason);
        return;
    }
    ld->c->oidc_issuer_url = xstrdup(text);
}

static void
load_base_url(struct config_loader *ld, const struct config_var *v, const char *text)
{
    size_t len = strlen(text);
    while (len > 0 && text[len - 1] == '/') {
        len--;
    }
    if (len == 0) {
        add_missing(ld, v->name); /* "///" is as good as unset */
        return;
    }
    char *base = xstrndup(text, len);
    const char *reason = config_check_base_url(base);
    if (reason != NULL) {
        problem(ld, v->name, "%s", reason);
        xfree(base);
        return;
    }
    ld->c->proxy_base_url = base;
    ld->base_ok = true;
}

/* Inputs longer than this are not echoed in the origin-only hint. */
#define CONFIG_HINT_ECHO_MAX 200

static void
load_upstream(struct config_loader *ld, const struct config_var *v, const char *text)
{
    struct config_upstream u = {0};
    const char *reason = config_check_upstream_url(text, &u);
    if (reason == config_check_reason_origin_only) {
        size_t len = strlen(text);
        while (len > 0 && text[len - 1] == '/') {
            len--;
        }
        if (len > CONFIG_HINT_ECHO_MAX) {
            problem(ld, v->name, "%s; append the path, e.g. <your URL>/mcp", reason);
        } else {
            problem(ld, v->name, "%s; append the path, e.g. %.*s/mcp", reason, (int)len, text);
        }
        return;
    }
    if (reason != NULL) {
        problem(ld, v->name, "%s", reason);
        return;
    }
    ld->c->upstream_mcp_url = u.url;
    ld->c->upstream_origin = u.origin;
    ld->c->mount = u.mount;
    ld->upstream_ok = true;
}

/* Secrets are raw bytes of the variable (no hex/base64 decoding). */
#define CONFIG_SECRET_MIN 32

static void
load_secret(struct config_loader *ld, const struct config_var *v, const char *text)
{
    size_t len = strlen(text);
    if (len < CONFIG_SECRET_MIN) {
        problem(ld, v->name,
                "must be at least 32 bytes; generate one with: openssl rand "
                "-base64 48");
        return;
    }
    ld->c->token_signing_secret = xstrndup(text, len);
    ld->c->token_signing_secret_len = len;
    /* Judged once, here; the PROD_MODE gate, its warning and the start-up
     * log line all read the verdict. */
    char why[CONFIG_CHECK_WEAKNESS_TEXT_MAX];
    config_check_secret_weakness_text(text, len, why, sizeof(why));
    if (why[0] != '\0') {
        ld->c->token_signing_secret_weakness = xstrdup(why);
    }
}

static bool
is_space_byte(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

static bool
is_not_space_byte(unsigned char ch)
{
    return !is_space_byte(ch);
}

static void
load_previous(struct config_loader *ld, const struct config_var *v, const char *text)
{
    struct config *c = ld->c;
    if (text == NULL) {
        return;
    }
    /* Split on ASCII whitespace, so a multi-line paste from a secret
     * manager works; each entry is one retired primary. */
    struct scan s = scan_init(slice_from_cstr(text));
    size_t cap = 0;
    size_t index = 0;
    for (;;) {
        (void)scan_while(&s, is_space_byte);
        struct slice entry = scan_while(&s, is_not_space_byte);
        if (entry.len == 0) {
            break;
        }
        if (entry.len < CONFIG_SECRET_MIN) {
            problem(ld, v->name,
                    "entry [%zu] is shorter than 32 bytes: each secret must be at "
                    "least 32 bytes; keep only the full previous TOKEN_SIGNING_SECRET values, "
                    "separated by whitespace",
                    index);
        } else {
            if (c->previous_secret_count == cap) {
                cap = cap ? cap * 2 : 4;
                c->previous_secrets = xrealloc(c->previous_secrets, cap * sizeof(char *));
                c->previous_secret_lens = xrealloc(c->previous_secret_lens, cap * sizeof(size_t));
            }
            c->previous_secrets[c->previous_secret_count] = xstrndup(entry.ptr, entry.len);
            c->previous_secret_lens[c->previous_secret_count] = entry.len;
            c->previous_secret_count++;
        }
        index++;
    }
}

static void
load_revoke_before(struct config_loader *ld, const struct config_var *v, const char *text)
{
    if (text == NULL) {
        return;
    }
    if (!rfc3339_parse(slice_from_cstr(text), &ld->c->revoke_before_s, &ld->c->revoke_before_ns)) {
        problem(ld, v->name,
                "must be an RFC 3339 timestamp with a zone, e.g. "
                "2026-03-28T12:00:00Z; unset it to disable");
        return;
    }
    ld->c->revoke_before_set = true;
}

static void
load_rate(struct config_loader *ld, const struct config_var *v, const char *text)
{
    double rate = 0;
    const char *reason = config_check_decimal(slice_from_cstr(text), &rate);
    if (reason != NULL) {
        problem(ld, v->name, "%s", reason);
        return;
    }
    ld->c->idp_exchange_rate_per_sec = rate;
}

/* Comma list, entries trimmed of ASCII whitespace, empty entries dropped.
 * Each entry goes through accept(); returns the entries kept. */
static char **
split_list(const char *text, size_t *out_count)
{
    char **items = NULL;
    size_t n = 0;
    size_t cap = 0;
    struct scan s = scan_init(slice_from_cstr(text ? text : ""));
    struct slice entry;
    while (scan_list_next(&s, ',', &entry)) {
        entry = slice_trim_space(entry);
        if (entry.len == 0) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            items = xrealloc(items, cap * sizeof(char *));
        }
        items[n++] = xstrndup(entry.ptr, entry.len);
    }
    *out_count = n;
    return items;
}

static void
free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        xfree(items[i]);
    }
    xfree(items);
}

static void
load_groups(struct config_loader *ld, const struct config_var *v, const char *text)
{
    ld->c->allowed_groups = split_list(text, &ld->c->allowed_group_count);
}

/* A DNS name as Google sends it in `hd`: labels of letters, digits and
 * '-', separated by single dots, at least two labels. */
static bool
is_domain_name(const char *d)
{
    size_t label = 0;
    size_t dots = 0;
    for (const char *p = d; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '.') {
            if (label == 0) {
                return false;
            }
            label = 0;
            dots++;
        } else if (isalnum(ch) || ch == '-') {
            label++;
        } else {
            return false;
        }
    }
    return label > 0 && dots > 0;
}

static void
load_hosted_domains(struct config_loader *ld, const struct config_var *v, const char *text)
{
    size_t n = 0;
    char **items = split_list(text, &n);
    bool bad = false;
    for (size_t i = 0; i < n; i++) {
        if (!is_domain_name(items[i])) {
            problem(ld, v->name,
                    "entry [%zu] is not a domain name; list the Google Workspace domains "
                    "whose accounts may sign in, e.g. example.com,example.org",
                    i);
            bad = true;
        }
    }
    if (bad) {
        free_list(items, n);
        return;
    }
    ld->c->allowed_hosted_domains = items;
    ld->c->allowed_hosted_domain_count = n;
    ld->c->allowed_hosted_domains_text = n > 0 ? xstrdup(text) : NULL;
}

static void
load_key_prefix(struct config_loader *ld, const struct config_var *v, const char *text)
{
    size_t offset = 0;
    const char *reason = config_check_redis_key_prefix(slice_from_cstr(text), &offset);
    if (reason != NULL) {
        problem(ld, v->name, "byte 0x%02x at offset %zu %s", (unsigned char)text[offset], offset,
                reason);
        return;
    }
    ld->c->redis_key_prefix = xstrdup(text);
}

/* REDIS_SENTINELS: checked here with the parser the back end uses, kept
 * as written (the back end parses it again into its own addresses). */
static void
load_sentinels(struct config_loader *ld, const struct config_var *v, const char *text)
{
    if (text == NULL || text[0] == '\0') {
        return; /* unset */
    }
    struct config_redis_addr addrs[BOUNDS_REDIS_SENTINELS_MAX];
    size_t count;
    const char *reason = config_check_redis_sentinels(slice_from_cstr(text), addrs, &count);
    if (reason != NULL) {
        problem(ld, v->name, "%s", reason);
        return;
    }
    ld->c->redis_sentinels = xstrdup(text);
}

static void
load_sentinel_master(struct config_loader *ld, const struct config_var *v, const char *text)
{
    if (text == NULL || text[0] == '\0') {
        return; /* unset */
    }
    const char *reason = config_check_redis_sentinel_master(slice_from_cstr(text));
    if (reason != NULL) {
        problem(ld, v->name, "%s", reason);
        return;
    }
    ld->c->redis_sentinel_master = xstrdup(text);
}

/* FORWARD_AUTH_ADDR (docs/forward-auth.md): unset = no forward-auth
 * listener. Its port must differ from LISTEN_ADDR's and METRICS_ADDR's:
 * the public workers bind with SO_REUSEPORT, so a forward-auth socket on
 * the public port would be accepted and the kernel would hand it public
 * connections -- the decision endpoint exposed at random. */
static void
load_forward_auth_listen(struct config_loader *ld, const struct config_var *v, const char *text)
{
    if (text == NULL || text[0] == '\0') {
        return; /* unset: off */
    }
    load_listen(ld, v, text);
    const struct config_listen *l = CONFIG_FIELD(ld->c, v, struct config_listen);
    if (l->text == NULL) {
        return; /* refused above */
    }
    if (l->port != 0 && (l->port == ld->c->listen.port || l->port == ld->c->metrics_listen.port)) {
        problem(ld, v->name, "must use another port than LISTEN_ADDR and METRICS_ADDR");
        return;
    }
    if (l->host[0] == '\0') {
        warning(ld, v->name,
                "listens on every address: the decision endpoint answers anyone who reaches "
                "it, so bind it to loopback or an address only the gateway can reach");
    }
}

/* MCP_SCOPES_SUPPORTED: RFC 6749 3.3 scope tokens separated by spaces or
 * commas (so a token holding a comma cannot be configured), stored joined
 * by single spaces in the order given: the order every granted scope is
 * written in (oauth/scope_rules.h). Unset keeps "" = scopes off. Also
 * derives scopes_resource, the same without offline_access (RFC 9728
 * scopes_supported and the 401's scope, MCP 2026-07-28). */
static void
load_scopes(struct config_loader *ld, const struct config_var *v, const char *text)
{
    struct buf set;
    buf_init(&set, BOUNDS_SCOPE_MAX_BYTES);
    struct slice rest = slice_from_cstr(text);
    struct slice tok;
    size_t n = 0;
    bool ok = true;
    while (ok && scope_next(&rest, " ,", &tok)) {
        n++;
        if (!scope_token_is_valid(tok)) {
            problem(ld, v->name,
                    "scope %zu is not an RFC 6749 3.3 scope-token (printable ASCII without "
                    "space, '\"' or '\\'); separate scopes with spaces or commas",
                    n);
            ok = false;
        } else if (scope_has(buf_cstr(&set), tok)) {
            problem(ld, v->name, "scope %zu (%.*s) is listed twice; list each scope once", n,
                    (int)tok.len, tok.ptr);
            ok = false;
        } else if (n > BOUNDS_SCOPES_SUPPORTED_MAX ||
                   (set.len > 0 && buf_append_byte(&set, ' ') != 0) ||
                   buf_append_slice(&set, tok) != 0) {
            problem(ld, v->name,
                    "lists more than %d scopes or %d bytes; per-tool policy, not scopes, "
                    "is the tool for finer grants",
                    BOUNDS_SCOPES_SUPPORTED_MAX, BOUNDS_SCOPE_MAX_BYTES);
            ok = false;
        }
    }
    struct buf resource;
    buf_init(&resource, BOUNDS_SCOPE_MAX_BYTES);
    if (ok && scope_without_offline_access(buf_cstr(&set), &resource) == 0) {
        ld->c->scopes_supported = xstrdup(buf_cstr(&set));
        ld->c->scopes_resource = xstrdup(buf_cstr(&resource));
    }
    buf_cleanup(&set);
    buf_cleanup(&resource);
}

/* Compiled here only to refuse a bad pattern at start-up; the matcher the
 * access log uses is built by the wiring (log_skip.h). */
static void
load_skip_re(struct config_loader *ld, const struct config_var *v, const char *text)
{
    struct slice pattern = slice_trim_space(slice_from_cstr(text));
    if (pattern.len == 0) {
        return; /* whitespace-only is unset (SPEC.md 1.2) */
    }
    char *trimmed = xstrndup(pattern.ptr, pattern.len);
    struct buf why;
    buf_init(&why, CONFIG_REPORT_MAX);
    struct log_skip *skip = log_skip_new(trimmed, &why);
    if (skip == NULL) {
        problem(ld, v->name,
                "is not a valid regular expression (%s); fix the pattern, e.g. ^/healthz$",
                buf_cstr(&why));
        xfree(trimmed);
    } else {
        ld->c->access_log_skip_re_text = trimmed;
    }
    log_skip_free(skip);
    buf_cleanup(&why);
}

/* LOG_FORMAT: the two words, exactly (unset: by stdout's TTY). */
static const char *
check_log_format(struct slice v)
{
    if (v.len == 0 || slice_eq_cstr(v, "console") || slice_eq_cstr(v, "json")) {
        return NULL;
    }
    return "must be console or json";
}

/* RATE_LIMIT_STORE: the two words, exactly. */
static const char *
check_rate_limit_store(struct slice v)
{
    if (slice_eq_cstr(v, "local") || slice_eq_cstr(v, "redis")) {
        return NULL;
    }
    return "must be local or redis";
}

static void
load_cidrs(struct config_loader *ld, const struct config_var *v, const char *text)
{
    size_t n = 0;
    char **items = split_list(text, &n);
    struct ipcidr *cidrs = n ? xcalloc(n, sizeof(*cidrs)) : NULL;
    for (size_t i = 0; i < n; i++) {
        if (!ipcidr_parse(slice_from_cstr(items[i]), &cidrs[i])) {
            problem(ld, v->name,
                    "entry [%zu] is not a CIDR range; write each as address/prefix, "
                    "e.g. 10.0.0.0/8,fd00::/8 (prefix at most 32 for IPv4, 128 for IPv6)",
                    i);
            ld->cidrs_invalid = true;
        }
    }
    free_list(items, n);
    if (ld->cidrs_invalid) {
        xfree(cidrs);
        return;
    }
    ld->c->trusted_proxy_cidrs = cidrs;
    ld->c->trusted_proxy_cidr_count = n;
}

static const char *const proxy_header_names[CONFIG_PROXY_HEADER_COUNT] = {
    [CONFIG_PROXY_HEADER_X_FORWARDED_FOR] = "X-Forwarded-For",
    [CONFIG_PROXY_HEADER_X_REAL_IP] = "X-Real-Ip",
    [CONFIG_PROXY_HEADER_TRUE_CLIENT_IP] = "True-Client-Ip",
};

const char *
config_proxy_header_str(enum config_proxy_header h)
{
    return h < CONFIG_PROXY_HEADER_COUNT ? proxy_header_names[h] : "X-Forwarded-For";
}

static void
load_proxy_header(struct config_loader *ld, const struct config_var *v, const char *text)
{
    struct slice name = slice_trim_space(slice_from_cstr(text));
    ld->c->trusted_proxy_header = CONFIG_PROXY_HEADER_X_FORWARDED_FOR;
    if (name.len == 0) {
        return;
    }
    for (int h = 0; h < CONFIG_PROXY_HEADER_COUNT; h++) {
        if (slice_case_eq_cstr(name, proxy_header_names[h])) {
            ld->c->trusted_proxy_header = (enum config_proxy_header)h;
            return;
        }
    }
    problem(ld, v->name,
            "must be one of X-Forwarded-For, X-Real-IP, True-Client-IP (any case); "
            "use the header your trusted proxy overwrites");
}

static void
load_csp(struct config_loader *ld, const struct config_var *v, const char *text)
{
    if (text == NULL || text[0] == '\0') {
        return;
    }
    ld->c->csp_form_action_extra_set = true;
    size_t n = 0;
    char **items = split_list(text, &n);
    char **sources = n ? xcalloc(n, sizeof(char *)) : NULL;
    bool bad = false;
    for (size_t i = 0; i < n; i++) {
        const char *reason = config_check_csp_source(slice_from_cstr(items[i]), &sources[i]);
        if (reason != NULL) {
            problem(ld, v->name,
                    "entry [%zu] %s (the variable is deprecated and ignored: "
                    "removing it is the simplest fix)",
                    i, reason);
            bad = true;
        }
    }
    free_list(items, n);
    if (bad) {
        free_list(sources, n);
        return;
    }
    ld->c->csp_form_action_extra = sources;
    ld->c->csp_form_action_extra_count = n;
}

/* MCP_ALLOWED_ORIGINS: every entry checked (one problem line each), kept
 * in the form browsers send (config_check_origin). */
static void
load_origins(struct config_loader *ld, const struct config_var *v, const char *text)
{
    size_t n = 0;
    char **items = split_list(text, &n);
    char **origins = n ? xcalloc(n, sizeof(char *)) : NULL;
    bool bad = false;
    for (size_t i = 0; i < n; i++) {
        const char *reason = config_check_origin(slice_from_cstr(items[i]), &origins[i]);
        if (reason != NULL) {
            problem(ld, v->name, "entry [%zu] %s", i, reason);
            bad = true;
        }
    }
    free_list(items, n);
    if (bad) {
        free_list(origins, n);
        return;
    }
    ld->c->mcp_allowed_origins = origins;
    ld->c->mcp_allowed_origin_count = n;
}

/* DNS_RESOLV_CONF, DNS_HOSTS_FILE: unset keeps the system file (the field
 * stays ""); set, it must be a readable regular file now, so a typo is a
 * start-up error and not a resolver that silently asks 127.0.0.1. */
static void
load_dns_file(struct config_loader *ld, const struct config_var *v, const char *text)
{
    char **field = CONFIG_FIELD(ld->c, v, char *);
    if (text == NULL) {
        *field = xstrdup("");
        return;
    }
    struct stat st;
    const char *why = NULL;
    int fd = -1;
    if (stat(text, &st) != 0) {
        why = strerror(errno);
    } else if (!S_ISREG(st.st_mode)) {
        why = "not a regular file";
    } else if ((fd = open(text, O_RDONLY | O_CLOEXEC)) < 0) {
        why = strerror(errno);
    }
    if (why != NULL) {
        problem(ld, v->name,
                "cannot be read (%s); give the path of a readable file, or unset it to use "
                "the system's",
                why);
        return;
    }
    close(fd);
    *field = xstrdup(text);
}

/* Any CA-file variable (REDIS_CA_FILE, CIMD_CA_FILE): the field is the
 * variable's own. */
static void
load_ca_file(struct config_loader *ld, const struct config_var *v, const char *text)
{
    char **field = CONFIG_FIELD(ld->c, v, char *);
    if (text == NULL) {
        *field = xstrdup("");
        return;
    }
    struct stat st;
    if (stat(text, &st) != 0) {
        problem(ld, v->name,
                "cannot be used (%s); give the path of a readable PEM CA bundle, "
                "or unset it to use the system CAs",
                strerror(errno));
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        problem(ld, v->name,
                "is not a regular file; give the path of a PEM CA bundle, or "
                "unset it to use the system CAs");
        return;
    }
    int fd = open(text, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        problem(ld, v->name,
                "cannot be read (%s); make it readable by this process, or unset "
                "it to use the system CAs",
                strerror(errno));
        return;
    }
    close(fd);
    *field = xstrdup(text);
}

/* UPSTREAM_IDENTITY_KEY_FILE: each listed file must hold a P-256 private
 * key now, so a wrong curve or a certificate in its place is a start-up
 * (and --check-config) error naming the file, not a 502 per request. */
static void
load_identity_keys(struct config_loader *ld, const struct config_var *v, const char *text)
{
    if (text == NULL) {
        return;
    }
    size_t n = 0;
    char **paths = split_list(text, &n);
    if (n == 0) {
        problem(ld, v->name,
                "lists no file; give the path of a PEM P-256 private key, or unset it");
    } else if (n > BOUNDS_IDENTITY_KEYS_MAX) {
        problem(ld, v->name, "lists %zu files, more than %d; publish the old and the new key only",
                n, BOUNDS_IDENTITY_KEYS_MAX);
    }
    bool ok = n > 0 && n <= BOUNDS_IDENTITY_KEYS_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        enum identity_rc rc = identity_key_file_check(paths[i]);
        if (rc != IDENTITY_OK) {
            /* The path is the operator's own setting, not a secret. */
            problem(ld, v->name, "%s %s", paths[i], identity_rc_reason(rc));
            ok = false;
        }
    }
    if (ok) {
        /* Duplicates, found by kid once all are read. */
        enum identity_rc rc;
        size_t bad = 0;
        struct identity_keys *keys = identity_keys_load((const char *const *)paths, n, &rc, &bad);
        if (keys == NULL) {
            problem(ld, v->name, "%s %s", paths[bad], identity_rc_reason(rc));
            ok = false;
        }
        identity_keys_free(keys);
    }
    if (!ok) {
        free_list(paths, n);
        return;
    }
    ld->c->upstream_identity_key_files = paths;
    ld->c->upstream_identity_key_file_count = n;
    ld->c->upstream_identity_key_file = xstrdup(text);
}

/* CIMD_ALLOWED_HOSTS: comma-separated "host" or "*.domain" patterns, lower
 * case ASCII letters, digits, '-' and '.'; a '*' only as a whole leading
 * label. Stored lower-cased; empty means any public host. */
static void
load_host_patterns(struct config_loader *ld, const struct config_var *v, const char *text)
{
    size_t count = 0;
    char **list = split_list(text, &count);
    for (size_t i = 0; i < count; i++) {
        char *pat = list[i];
        const char *body = strncmp(pat, "*.", 2) == 0 ? pat + 2 : pat;
        bool ok = body[0] != '\0' && body[0] != '.';
        for (char *p = pat; *p != '\0'; p++) {
            *p = (char)tolower((unsigned char)*p);
        }
        for (const char *p = body; ok && *p != '\0'; p++) {
            ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.';
        }
        if (!ok) {
            problem(ld, v->name,
                    "entry %zu is not a host name or a \"*.domain\" pattern; list host names "
                    "such as claude.ai or *.example.com, separated by commas",
                    i + 1);
        }
    }
    ld->c->cimd_allowed_hosts = list;
    ld->c->cimd_allowed_host_count = count;
}

/* CIMD_PINNED_DIR: a directory the process can read. */
static void
load_pinned_dir(struct config_loader *ld, const struct config_var *v, const char *text)
{
    if (text == NULL) {
        return;
    }
    struct stat st;
    if (stat(text, &st) != 0 || !S_ISDIR(st.st_mode) || access(text, R_OK | X_OK) != 0) {
        problem(ld, v->name,
                "is not a readable directory; give the directory holding the pinned client "
                "metadata documents, or unset it");
        return;
    }
    ld->c->cimd_pinned_dir = xstrdup(text);
}

/* MCP_POLICY_FILE: a readable regular file. Only its presence is checked
 * here (floor 1); the wiring and --check-config parse and validate it
 * with policy/load (floor 2), naming the line of any error. */
static void
load_policy_file(struct config_loader *ld, const struct config_var *v, const char *text)
{
    if (text == NULL) {
        return;
    }
    struct stat st;
    if (stat(text, &st) != 0 || !S_ISREG(st.st_mode) || access(text, R_OK) != 0) {
        problem(ld, v->name,
                "is not a readable file; give the path of the policy file (docs/policy.md), "
                "or unset it for no policy");
        return;
    }
    ld->c->policy_file = xstrdup(text);
}

/* ------------------------------------------------------------------ */
/* The table. Order is SPEC.md 1.6's load order (it decides the order of
 * problem lines), then our additions. */

#define NS_MS DURATION_NS_PER_MS
#define NS_S DURATION_NS_PER_S

/* One entry per variable reads best as a compact table. */
/* clang-format off */
static const struct config_var vars[] = {
    /* 1.6 step 1 */
    { .name = "LISTEN_ADDR", .kind = CONFIG_KIND_CUSTOM, .def = ":8080", AT(listen),
      .load = load_listen, .show = CONFIG_SHOW_LISTEN,
      .help = "Address of the public listener (OAuth endpoints and the MCP mount), host:port." },
    { .name = "METRICS_ADDR", .kind = CONFIG_KIND_CUSTOM, .def = "127.0.0.1:9090", AT(metrics_listen),
      .load = load_listen, .show = CONFIG_SHOW_LISTEN,
      .help = "Address of the metrics listener (/metrics, /readyz); loopback by default so "
              "it is not exposed." },
    { .name = "LOG_LEVEL", .kind = CONFIG_KIND_CUSTOM, .def = "info", AT(log_level),
      .load = load_log_level, .show = CONFIG_SHOW_LOG_LEVEL,
      .help = "Lowest level logged: debug, info, warn or error; unknown values mean info." },
    { .name = "GROUPS_CLAIM", .kind = CONFIG_KIND_TEXT, .def = "groups", AT(groups_claim),
      .help = "Top-level id_token claim that lists the user's groups (no nesting)." },
    { .name = "PROD_MODE", .kind = CONFIG_KIND_BOOL_TRUE, .def = "true", AT(prod_mode),
      .help = "Refuse to start with any setting that weakens security (only \"false\" turns "
              "this off)." },
    { .name = "OIDC_ALLOW_INSECURE_HTTP", .kind = CONFIG_KIND_BOOL_FALSE, .def = "false",
      AT(oidc_allow_insecure_http), .flags = CONFIG_VAR_RELAXATION,
      .help = "Allow an http:// issuer that is not loopback, for a development IdP only." },
    /* 1.6 steps 2-7: required */
    { .name = "OIDC_ISSUER_URL", .kind = CONFIG_KIND_CUSTOM, AT(oidc_issuer_url), .flags = CONFIG_VAR_REQUIRED,
      .load = load_issuer, .show = CONFIG_SHOW_TEXT,
      .help = "Issuer URL of the OIDC provider, exactly as it publishes it (https, or http to "
              "loopback)." },
    { .name = "OIDC_CLIENT_ID", .kind = CONFIG_KIND_TEXT, AT(oidc_client_id), .flags = CONFIG_VAR_REQUIRED,
      .help = "Client id of this proxy at the OIDC provider." },
    { .name = "OIDC_CLIENT_SECRET", .kind = CONFIG_KIND_TEXT, AT(oidc_client_secret),
      .flags = CONFIG_VAR_REQUIRED | CONFIG_VAR_SECRET,
      .help = "Client secret of this proxy at the OIDC provider." },
    { .name = "PROXY_BASE_URL", .kind = CONFIG_KIND_CUSTOM, AT(proxy_base_url), .flags = CONFIG_VAR_REQUIRED,
      .load = load_base_url, .show = CONFIG_SHOW_TEXT,
      .help = "Public origin of this proxy (https://host[:port], no path): issuer, audience "
              "and base of every advertised URL." },
    { .name = "UPSTREAM_MCP_URL", .kind = CONFIG_KIND_CUSTOM, AT(upstream_mcp_url),
      .flags = CONFIG_VAR_REQUIRED, .load = load_upstream, .show = CONFIG_SHOW_TEXT,
      .help = "URL of the upstream MCP server; its path is also the public mount, e.g. "
              "http://mcp:3000/mcp." },
    { .name = "TOKEN_SIGNING_SECRET", .kind = CONFIG_KIND_CUSTOM, AT(token_signing_secret),
      .flags = CONFIG_VAR_REQUIRED | CONFIG_VAR_SECRET, .load = load_secret, .show = CONFIG_SHOW_SECRET,
      .help = "Key material (at least 32 random bytes) that seals every token, code and "
              "registration." },
    { .name = "TOKEN_SIGNING_SECRETS_PREVIOUS", .kind = CONFIG_KIND_CUSTOM, AT(previous_secrets),
      .flags = CONFIG_VAR_SECRET | CONFIG_VAR_ENDS_REQUIRED, .load = load_previous, .show = CONFIG_SHOW_PREVIOUS,
      .help = "Retired signing secrets, whitespace-separated, still accepted for opening "
              "during a key rotation." },
    /* 1.6 step 9 */
    { .name = "PKCE_REQUIRED", .kind = CONFIG_KIND_BOOL_TRUE, .def = "true", AT(pkce_required),
      .flags = CONFIG_VAR_RELAXATION,
      .help = "Require PKCE (S256) on /authorize; \"false\" is for legacy clients only." },
    { .name = "SHUTDOWN_TIMEOUT", .kind = CONFIG_KIND_DURATION, .def = "120s", AT(shutdown_timeout_ms),
      .min = 1, .max = 15 * DURATION_NS_PER_M, .unit_ns = NS_MS,
      .help = "How long a shutdown waits for in-flight requests and streams, up to 15m." },
    { .name = "REVOKE_BEFORE", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset: disabled)",
      AT(revoke_before_s), .load = load_revoke_before, .show = CONFIG_SHOW_REVOKE_BEFORE,
      .help = "RFC 3339 time: every token issued before it is refused (emergency "
              "revocation)." },
    { .name = "REFRESH_RACE_GRACE_SEC", .kind = CONFIG_KIND_NUMBER, .def = "2",
      AT(refresh_race_grace_s), .min = 0, .max = 10,
      .help = "Seconds in which a reused refresh token counts as a concurrent submit, not "
              "theft; 0 disables." },
    { .name = "REFRESH_RETRY_GRACE", .kind = CONFIG_KIND_DURATION, .def = "60s",
      AT(refresh_retry_grace_ms), .min = 0,
      .max = BOUNDS_REFRESH_RETRY_GRACE_MAX_S * DURATION_NS_PER_S, .unit_ns = NS_MS,
      .help = "How long a retried refresh token gets the same successor tokens again instead "
              "of counting as reuse, up to 5m; 0 disables." },
    { .name = "IDP_EXCHANGE_RATE_PER_SEC", .kind = CONFIG_KIND_CUSTOM, .def = "0",
      AT(idp_exchange_rate_per_sec), .load = load_rate, .show = CONFIG_SHOW_RATE,
      .help = "Cap on code exchanges with the IdP per second (token bucket); 0 disables." },
    { .name = "IDP_EXCHANGE_BURST", .kind = CONFIG_KIND_NUMBER, .def = "50", AT(idp_exchange_burst),
      .min = 1, .max = UINT_MAX,
      .help = "Burst size of the IdP exchange bucket (validated even when the rate is 0)." },
    { .name = "CLIENT_REGISTRATION_TTL", .kind = CONFIG_KIND_DURATION, .def = "168h",
      AT(client_registration_ttl_s), .min = 0, .max = 2160 * DURATION_NS_PER_H,
      .unit_ns = NS_S,
      .help = "Lifetime of a dynamically registered client_id, up to 2160h; 0 means never "
              "expires." },
    { .name = "ALLOWED_GROUPS", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset: every user)",
      AT(allowed_groups), .load = load_groups, .show = CONFIG_SHOW_GROUPS,
      .help = "Comma-separated groups allowed to sign in (exact match); empty allows every "
              "authenticated user." },
    { .name = "REDIS_URL", .kind = CONFIG_KIND_TEXT, .def_help = "(unset)", AT(redis_url),
      .flags = CONFIG_VAR_SECRET,
      .help = "Redis for the replay store (redis:// or rediss://); may carry a "
              "password, so it is never printed." },
    { .name = "REDIS_KEY_PREFIX", .kind = CONFIG_KIND_CUSTOM, .def = "mcp-auth-proxy:",
      AT(redis_key_prefix), .flags = CONFIG_VAR_EMPTY_IS_VALUE, .load = load_key_prefix,
      .show = CONFIG_SHOW_KEY_PREFIX,
      .help = "Prefix of every Redis key (printable ASCII, no braces); set it empty for no "
              "prefix." },
    { .name = "RATE_LIMIT_ENABLED", .kind = CONFIG_KIND_BOOL_TRUE, .def = "true",
      AT(rate_limit_enabled),
      .help = "Per-IP rate limits on the public endpoints; only \"false\" turns them off." },
    { .name = "REDIS_REQUIRED", .kind = CONFIG_KIND_BOOL_TRUE, .def = "true", AT(redis_required),
      .flags = CONFIG_VAR_RELAXATION,
      .help = "Refuse to start without REDIS_URL; \"false\" uses the in-process store (single "
              "replica only)." },
    { .name = "COMPAT_ALLOW_STATELESS", .kind = CONFIG_KIND_BOOL_FALSE, .def = "false",
      AT(compat_allow_stateless), .flags = CONFIG_VAR_RELAXATION,
      .help = "Accept /authorize requests without state, for legacy clients only." },
    { .name = "STATE_REQUIRED", .kind = CONFIG_KIND_BOOL_FALSE, .def = "false",
      AT(state_required),
      .help = "Require state at /authorize even when an S256 code_challenge is present "
              "(OAuth 2.1 lets PKCE carry the CSRF protection)." },
    { .name = "RENDER_CONSENT_PAGE", .kind = CONFIG_KIND_BOOL_TRUE, .def = "true",
      AT(render_consent_page),
      .help = "Show the proxy's consent page before the IdP login; only \"false\" skips it." },
    { .name = "MCP_RESOURCE_NAME", .kind = CONFIG_KIND_TEXT, .def_help = "(unset)",
      AT(mcp_resource_name),
      .help = "Human-readable name of the MCP server, shown on the consent page and in "
              "metadata." },
    { .name = "MCP_LOG_BODY_MAX", .kind = CONFIG_KIND_NUMBER, .def = "65536", AT(log_body_max),
      .min = 0, .max = INT64_MAX,
      .help = "Bytes of each MCP request body read to log the JSON-RPC method; 0 disables." },
    { .name = "ACCESS_LOG_SKIP_RE", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset)",
      AT(access_log_skip_re_text), .load = load_skip_re, .show = CONFIG_SHOW_TEXT,
      .help = "Regular expression; request paths it matches (unanchored) get no access-log "
              "line." },
    { .name = "MCP_TOOL_METRICS", .kind = CONFIG_KIND_BOOL_FALSE, .def = "false", AT(tool_metrics),
      .help = "Count MCP tool calls per tool name in the metrics; only \"true\" turns it on." },
    { .name = "MCP_TOOL_METRICS_MAX_CARDINALITY", .kind = CONFIG_KIND_NUMBER, .def = "256",
      AT(tool_metrics_max_cardinality), .min = 0, .max = UINT_MAX,
      .help = "Distinct tool names counted before the rest share one label; 0 means no cap." },
    { .name = "TRUST_PROXY_HEADERS", .kind = CONFIG_KIND_BOOL_FALSE, .def = "false",
      AT(trust_proxy_headers), .flags = CONFIG_VAR_RELAXATION,
      .help = "Legacy: trust forwarded-for headers from every peer; prefer "
              "TRUSTED_PROXY_CIDRS." },
    { .name = "TRUSTED_PROXY_CIDRS", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset)",
      AT(trusted_proxy_cidrs), .load = load_cidrs, .show = CONFIG_SHOW_CIDRS,
      .help = "Comma-separated CIDR ranges of proxies whose forwarded-for header gives the "
              "client IP." },
    { .name = "TRUSTED_PROXY_HEADER", .kind = CONFIG_KIND_CUSTOM, .def_help = "X-Forwarded-For",
      AT(trusted_proxy_header), .load = load_proxy_header, .show = CONFIG_SHOW_PROXY_HEADER,
      .help = "Which header trusted proxies set: X-Forwarded-For, X-Real-IP or "
              "True-Client-IP." },
    { .name = "UPSTREAM_AUTHORIZATION_HEADER", .kind = CONFIG_KIND_TEXT, .def_help = "(unset)",
      AT(upstream_authorization_header), .flags = CONFIG_VAR_SECRET,
      .check = config_check_header_value,
      .help = "Authorization header value sent to the upstream on every request, e.g. "
              "\"Bearer <token>\"." },
    { .name = "CSP_FORM_ACTION_EXTRA", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset)",
      AT(csp_form_action_extra), .load = load_csp, .show = CONFIG_SHOW_CSP,
      .help = "Deprecated and ignored (still validated): extra scheme://host[:port] origins." },
    { .name = "MCP_PER_SUBJECT_CONCURRENCY", .kind = CONFIG_KIND_NUMBER, .def = "16",
      AT(per_subject_concurrency), .min = 0, .max = UINT_MAX,
      .help = "In-flight MCP requests allowed per signed-in user; 0 disables the limit." },
    { .name = "MCP_ALLOWED_ORIGINS", .kind = CONFIG_KIND_CUSTOM,
      .def_help = "(unset: only PROXY_BASE_URL's origin)", AT(mcp_allowed_origins),
      .flags = CONFIG_VAR_ADDITION, .load = load_origins, .show = CONFIG_SHOW_ORIGINS,
      .help = "Comma-separated browser origins (scheme://host[:port]) allowed to call the MCP "
              "mount, besides PROXY_BASE_URL's own; no '*'." },
    /* Additions (not read by the Go binary). */
    { .name = "WORKERS", .kind = CONFIG_KIND_NUMBER, .def_help = "number of online CPUs",
      AT(workers), .min = 1, .max = CONFIG_WORKERS_MAX,
      .flags = CONFIG_VAR_ADDITION | CONFIG_VAR_DEFAULT_CPUS,
      .help = "Event-loop threads serving requests, 1 to 256." },
    { .name = "REDIS_CA_FILE", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset: system CAs)",
      AT(redis_ca_file), .flags = CONFIG_VAR_ADDITION, .load = load_ca_file, .show = CONFIG_SHOW_TEXT,
      .help = "PEM CA bundle that verifies the Redis server for rediss:// URLs." },
    { .name = "UPSTREAM_RESPONSE_HEADER_TIMEOUT", .kind = CONFIG_KIND_DURATION, .def = "30s",
      AT(upstream_header_timeout_ms), .min = 1, .max = 10 * DURATION_NS_PER_M,
      .unit_ns = NS_MS, .flags = CONFIG_VAR_ADDITION,
      .help = "How long to wait for the upstream's response headers, up to 10m." },
    { .name = "DNS_RESOLV_CONF", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset: /etc/resolv.conf)",
      AT(dns_resolv_conf), .flags = CONFIG_VAR_ADDITION, .load = load_dns_file, .show = CONFIG_SHOW_TEXT,
      .help = "resolv.conf-style file naming the DNS servers for upstream and Redis host names "
              "(tests and special deployments)." },
    { .name = "DNS_HOSTS_FILE", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset: /etc/hosts)",
      AT(dns_hosts_file), .flags = CONFIG_VAR_ADDITION, .load = load_dns_file, .show = CONFIG_SHOW_TEXT,
      .help = "hosts-style file consulted before DNS for upstream and Redis host names "
              "(tests and special deployments)." },
    { .name = "TCP_KEEPALIVE_IDLE", .kind = CONFIG_KIND_DURATION, .def = "30s",
      AT(tcp_keepalive_idle_s), .min = 0, .max = 2 * DURATION_NS_PER_H, .unit_ns = NS_S,
      .flags = CONFIG_VAR_ADDITION,
      .help = "Silence on a connection (client, upstream or Redis) before TCP keep-alive "
              "probes start; 0 turns keep-alive off." },
    { .name = "TCP_KEEPALIVE_INTERVAL", .kind = CONFIG_KIND_DURATION, .def = "10s",
      AT(tcp_keepalive_interval_s), .min = DURATION_NS_PER_S,
      .max = 10 * DURATION_NS_PER_M, .unit_ns = NS_S, .flags = CONFIG_VAR_ADDITION,
      .help = "Time between TCP keep-alive probes." },
    { .name = "TCP_KEEPALIVE_COUNT", .kind = CONFIG_KIND_NUMBER, .def = "3", AT(tcp_keepalive_count),
      .min = 1, .max = 127, .flags = CONFIG_VAR_ADDITION,
      .help = "Unanswered keep-alive probes after which a peer is declared dead." },
    { .name = "TCP_USER_TIMEOUT", .kind = CONFIG_KIND_DURATION, .def = "60s",
      AT(tcp_user_timeout_ms), .min = 0, .max = 10 * DURATION_NS_PER_M, .unit_ns = NS_MS,
      .flags = CONFIG_VAR_ADDITION,
      .help = "How long sent data may stay unacknowledged before the connection is dropped; "
              "0 keeps the kernel's default." },
    { .name = "CLIENT_WRITE_STALL_TIMEOUT", .kind = CONFIG_KIND_DURATION, .def = "60s",
      AT(client_write_stall_timeout_ms), .min = 0, .max = DURATION_NS_PER_H, .unit_ns = NS_MS,
      .flags = CONFIG_VAR_ADDITION,
      .help = "A client connection whose queued response output drains not one byte for this "
              "long is closed; a quiet stream with nothing queued is never cut; 0 turns it off." },
    { .name = "MAX_CLIENT_CONNECTIONS", .kind = CONFIG_KIND_NUMBER, .def = "0",
      .def_help = "0 (from RLIMIT_NOFILE)", AT(max_client_connections), .min = 0,
      .max = 10000000, .flags = CONFIG_VAR_ADDITION,
      .help = "Open client connections per process; at the cap the oldest idle keep-alive "
              "connection is closed, else the new one; 0 sizes it from the descriptor limit." },
    { .name = "MAX_CLIENT_CONNECTIONS_PER_IP", .kind = CONFIG_KIND_NUMBER, .def = "256",
      AT(max_client_connections_per_ip), .min = 0, .max = 10000000, .flags = CONFIG_VAR_ADDITION,
      .help = "Open client connections per client address (IPv6 per /64; trusted proxies "
              "exempt); 0 turns the cap off." },
    { .name = "REQUEST_BODY_BUFFER_MAX", .kind = CONFIG_KIND_NUMBER, .def = "268435456",
      .def_help = "268435456 (256 MiB)", AT(request_body_buffer_max),
      .min = BOUNDS_BODY_BUFFER_MIN, .max = (uint64_t)1 << 40, .flags = CONFIG_VAR_ADDITION,
      .help = "Bytes of request bodies the process buffers at once; a body past it gets 503 "
              "with Retry-After." },
    { .name = "CIMD_ENABLED", .kind = CONFIG_KIND_BOOL_TRUE, .def = "true", AT(cimd_enabled),
      .flags = CONFIG_VAR_ADDITION,
      .help = "Accept https client_id URLs resolved through their client ID metadata document; "
              "only \"false\" turns it off." },
    { .name = "CIMD_ALLOWED_HOSTS", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset: any public host)",
      AT(cimd_allowed_hosts), .flags = CONFIG_VAR_ADDITION, .load = load_host_patterns,
      .show = CONFIG_SHOW_HOSTS,
      .help = "Comma-separated hosts (or *.domain patterns) whose metadata documents are "
              "fetched; empty allows any public host." },
    { .name = "CIMD_ALLOW_PRIVATE_ADDRESSES", .kind = CONFIG_KIND_BOOL_FALSE, .def = "false",
      AT(cimd_allow_private_addresses), .flags = CONFIG_VAR_ADDITION | CONFIG_VAR_RELAXATION,
      .help = "Fetch metadata documents from loopback and private addresses (tests and private "
              "deployments; PROD_MODE refuses it)." },
    { .name = "CIMD_CA_FILE", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset: system CAs)",
      AT(cimd_ca_file), .flags = CONFIG_VAR_ADDITION, .load = load_ca_file, .show = CONFIG_SHOW_TEXT,
      .help = "PEM CA bundle that verifies metadata document servers instead of the system CAs." },
    { .name = "CIMD_PINNED_DIR", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset)",
      AT(cimd_pinned_dir), .flags = CONFIG_VAR_ADDITION, .load = load_pinned_dir,
      .show = CONFIG_SHOW_TEXT,
      .help = "Directory of operator-pinned metadata documents (*.json), used without fetching." },
    { .name = "CIMD_CACHE_TTL_MIN", .kind = CONFIG_KIND_DURATION, .def = "5m",
      AT(cimd_cache_ttl_min_s), .min = 0, .max = 24 * DURATION_NS_PER_H, .unit_ns = NS_S,
      .flags = CONFIG_VAR_ADDITION,
      .help = "Shortest time a fetched metadata document is kept, whatever its Cache-Control "
              "says, up to 24h." },
    { .name = "CIMD_CACHE_TTL_MAX", .kind = CONFIG_KIND_DURATION, .def = "24h",
      AT(cimd_cache_ttl_max_s), .min = DURATION_NS_PER_S, .max = 168 * DURATION_NS_PER_H,
      .unit_ns = NS_S, .flags = CONFIG_VAR_ADDITION,
      .help = "Longest time a fetched metadata document is kept before it is fetched again, up "
              "to 168h." },
    { .name = "DCR_ENABLED", .kind = CONFIG_KIND_BOOL_TRUE, .def = "true", AT(dcr_enabled),
      .flags = CONFIG_VAR_ADDITION,
      .help = "Dynamic client registration at /register; only \"false\" turns it off." },
    { .name = "MCP_POLICY_FILTER_LISTS", .kind = CONFIG_KIND_BOOL_TRUE, .def = "true",
      AT(policy_filter_lists), .flags = CONFIG_VAR_ADDITION,
      .help = "With a policy file, tools/prompts/resources listings show only what the caller "
              "may use; only \"false\" turns it off." },
    { .name = "REQUEST_BODY_BUFFER_PER_IP_MAX", .kind = CONFIG_KIND_NUMBER, .def = "33554432",
      .def_help = "33554432 (32 MiB)", AT(request_body_buffer_per_ip_max),
      .min = BOUNDS_BODY_BUFFER_MIN, .max = (uint64_t)1 << 40, .flags = CONFIG_VAR_ADDITION,
      .help = "Bytes of request bodies buffered at once for one client address (IPv6 per "
              "/64); at least one maximal 16 MiB MCP body." },
    { .name = "MCP_SCOPES_SUPPORTED", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset: no scopes)",
      AT(scopes_supported), .flags = CONFIG_VAR_ADDITION, .load = load_scopes,
      .show = CONFIG_SHOW_TEXT,
      .help = "OAuth scopes clients may be granted, separated by spaces or commas; "
              "offline_access among them makes refresh tokens opt-in." },
    { .name = "MCP_POLICY_FILE", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset: no policy)",
      AT(policy_file), .flags = CONFIG_VAR_ADDITION, .load = load_policy_file,
      .show = CONFIG_SHOW_TEXT,
      .help = "YAML policy file deciding which callers may call which tools, prompts and "
              "resources; reloaded on SIGHUP and when it changes." },
    { .name = "UPSTREAM_IDENTITY_ASSERTION", .kind = CONFIG_KIND_BOOL_FALSE, .def = "false",
      AT(upstream_identity_assertion), .flags = CONFIG_VAR_ADDITION,
      .help = "Send the upstream a signed, short-lived ES256 identity assertion "
              "(X-MCP-Identity-Assertion) and publish its keys at /.well-known/jwks.json." },
    { .name = "UPSTREAM_IDENTITY_KEY_FILE", .kind = CONFIG_KIND_CUSTOM,
      .def_help = "(unset: a key generated at start-up)", AT(upstream_identity_key_file),
      .flags = CONFIG_VAR_ADDITION, .load = load_identity_keys, .show = CONFIG_SHOW_TEXT,
      .help = "Comma-separated PEM files of P-256 private keys for the identity assertion; the "
              "first signs, all are published (rotation)." },
    { .name = "REDIS_MIN_REPLICAS_ACK", .kind = CONFIG_KIND_NUMBER, .def = "0",
      AT(redis_min_replicas_ack), .min = 0, .max = BOUNDS_REDIS_MIN_REPLICAS_ACK_MAX,
      .flags = CONFIG_VAR_ADDITION,
      .help = "Replicas that must acknowledge every replay-store write (WAIT) before it counts; "
              "fewer answer 503. 0 turns it off." },
    { .name = "REDIS_REPLICAS_ACK_TIMEOUT", .kind = CONFIG_KIND_DURATION, .def = "100ms",
      AT(redis_replicas_ack_timeout_ms), .min = NS_MS,
      .max = BOUNDS_REDIS_REPLICAS_ACK_TIMEOUT_MAX_MS * NS_MS, .unit_ns = NS_MS,
      .flags = CONFIG_VAR_ADDITION,
      .help = "How long a write waits for REDIS_MIN_REPLICAS_ACK replicas, 1ms to 2s." },
    { .name = "REDIS_CLUSTER", .kind = CONFIG_KIND_BOOL_FALSE, .def = "false", AT(redis_cluster),
      .flags = CONFIG_VAR_ADDITION,
      .help = "Treat REDIS_URL as a seed of a Redis Cluster (the same as a redis+cluster:// "
              "URL); only \"true\" turns it on." },
    { .name = "RATE_LIMIT_REGISTER_PER_MIN", .kind = CONFIG_KIND_NUMBER, .def = "10",
      AT(rate_limit_register_per_min), .min = 1, .max = BOUNDS_RATE_PER_WINDOW_MAX,
      .flags = CONFIG_VAR_ADDITION,
      .help = "Requests per client key per minute at /register, 1 to 1000000." },
    { .name = "RATE_LIMIT_AUTHORIZE_PER_MIN", .kind = CONFIG_KIND_NUMBER, .def = "30",
      AT(rate_limit_authorize_per_min), .min = 1, .max = BOUNDS_RATE_PER_WINDOW_MAX,
      .flags = CONFIG_VAR_ADDITION,
      .help = "Requests per client key per minute at /authorize (per client and address), 1 to 1000000." },
    { .name = "RATE_LIMIT_CONSENT_PER_MIN", .kind = CONFIG_KIND_NUMBER, .def = "30",
      AT(rate_limit_consent_per_min), .min = 1, .max = BOUNDS_RATE_PER_WINDOW_MAX,
      .flags = CONFIG_VAR_ADDITION,
      .help = "Requests per client key per minute at /consent, 1 to 1000000." },
    { .name = "RATE_LIMIT_CALLBACK_PER_MIN", .kind = CONFIG_KIND_NUMBER, .def = "30",
      AT(rate_limit_callback_per_min), .min = 1, .max = BOUNDS_RATE_PER_WINDOW_MAX,
      .flags = CONFIG_VAR_ADDITION,
      .help = "Requests per client key per minute at /callback, 1 to 1000000." },
    { .name = "RATE_LIMIT_TOKEN_PER_MIN", .kind = CONFIG_KIND_NUMBER, .def = "60",
      AT(rate_limit_token_per_min), .min = 1, .max = BOUNDS_RATE_PER_WINDOW_MAX,
      .flags = CONFIG_VAR_ADDITION,
      .help = "Requests per client key per minute at /token (per client and address), 1 to 1000000." },
    { .name = "RATE_LIMIT_DISCOVERY_PER_MIN", .kind = CONFIG_KIND_NUMBER, .def = "60",
      AT(rate_limit_discovery_per_min), .min = 1, .max = BOUNDS_RATE_PER_WINDOW_MAX,
      .flags = CONFIG_VAR_ADDITION,
      .help = "Requests per client key per minute at the discovery documents (one budget for all), 1 to 1000000." },
    { .name = "RATE_LIMIT_MCP_PER_MIN", .kind = CONFIG_KIND_NUMBER, .def = "600",
      AT(rate_limit_mcp_per_min), .min = 1, .max = BOUNDS_RATE_PER_WINDOW_MAX,
      .flags = CONFIG_VAR_ADDITION,
      .help = "Requests per client key per minute at the MCP mount (always per replica), 1 to 1000000." },
    { .name = "RATE_LIMIT_REVOKE_PER_MIN", .kind = CONFIG_KIND_NUMBER, .def = "30",
      AT(rate_limit_revoke_per_min), .min = 1, .max = BOUNDS_RATE_PER_WINDOW_MAX,
      .flags = CONFIG_VAR_ADDITION,
      .help = "Requests per client key per minute at /revoke, 1 to 1000000." },
    { .name = "RATE_LIMIT_CLIENT_BUDGETS", .kind = CONFIG_KIND_TEXT, .def_help = "(unset)",
      AT(rate_limit_client_budgets), .flags = CONFIG_VAR_ADDITION,
      .check = ratelimit_budget_check_clients,
      .help = "Comma-separated client_id=budget pairs: these clients' /token and /authorize "
              "budget per address per minute; %2C writes a comma, %25 a percent sign." },
    { .name = "RATE_LIMIT_CIDR_BUDGETS", .kind = CONFIG_KIND_TEXT, .def_help = "(unset)",
      AT(rate_limit_cidr_budgets), .flags = CONFIG_VAR_ADDITION,
      .check = ratelimit_budget_check_cidrs,
      .help = "Comma-separated address/prefix=budget pairs: the /token and /authorize budget of "
              "clients in these ranges (longest prefix wins; a named client_id wins over it)." },
    { .name = "RATE_LIMIT_STORE", .kind = CONFIG_KIND_TEXT, .def = "local", AT(rate_limit_store),
      .flags = CONFIG_VAR_ADDITION, .check = check_rate_limit_store,
      .help = "Where the per-endpoint budgets are counted: local (per replica) or redis (shared "
              "by every replica through REDIS_URL; the MCP mount stays local)." },
    { .name = "REDIS_SENTINELS", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset)",
      AT(redis_sentinels), .flags = CONFIG_VAR_ADDITION, .load = load_sentinels,
      .show = CONFIG_SHOW_TEXT,
      .help = "Comma-separated Redis Sentinels (host:port, [v6]:port) that name the primary; "
              "REDIS_URL then gives only credentials, database and TLS (its host is ignored)." },
    { .name = "REDIS_SENTINEL_MASTER", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset)",
      AT(redis_sentinel_master), .flags = CONFIG_VAR_ADDITION, .load = load_sentinel_master,
      .show = CONFIG_SHOW_TEXT,
      .help = "The master name the sentinels monitor (sentinel monitor <name> ...); required "
              "with REDIS_SENTINELS." },
    { .name = "REDIS_SENTINEL_USERNAME", .kind = CONFIG_KIND_TEXT, .def_help = "(unset)",
      AT(redis_sentinel_username), .flags = CONFIG_VAR_ADDITION,
      .help = "ACL user for the sentinels (AUTH user password); unset uses the legacy "
              "password-only AUTH, or none." },
    { .name = "REDIS_SENTINEL_PASSWORD", .kind = CONFIG_KIND_TEXT, .def_help = "(unset)",
      AT(redis_sentinel_password), .flags = CONFIG_VAR_ADDITION | CONFIG_VAR_SECRET,
      .help = "Password for the sentinels (requirepass or the ACL user's); never printed." },
    /* IdP quirks (docs/idps.md) */
    { .name = "EMAIL_CLAIM", .kind = CONFIG_KIND_TEXT, .def = "email", AT(email_claim),
      .flags = CONFIG_VAR_ADDITION,
      .help = "Top-level id_token claim read as the user's email (X-User-Email); Entra ID "
              "sends none by default: preferred_username or upn." },
    { .name = "ALLOWED_HOSTED_DOMAINS", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset: no check)",
      AT(allowed_hosted_domains_text), .load = load_hosted_domains, .show = CONFIG_SHOW_TEXT,
      .flags = CONFIG_VAR_ADDITION,
      .help = "Comma-separated Google Workspace domains: the id_token's hd claim must be one "
              "of them (a personal account has none and is refused)." },
    { .name = "FORWARD_AUTH_ADDR", .kind = CONFIG_KIND_CUSTOM, .def_help = "(unset: off)",
      AT(forward_auth_listen), .flags = CONFIG_VAR_ADDITION, .load = load_forward_auth_listen,
      .show = CONFIG_SHOW_LISTEN,
      .help = "Address of the forward-auth listener (nginx auth_request, Traefik ForwardAuth, "
              "Envoy ext_authz) serving /auth; only the gateway may reach it." },
    { .name = "LOG_FORMAT", .kind = CONFIG_KIND_TEXT, .def_help = "(console on a terminal, else json)",
      AT(log_format), .flags = CONFIG_VAR_ADDITION, .check = check_log_format,
      .help = "How log lines are written: json (one object per line) or console (one readable "
              "line); unset: console when stdout is a terminal, json otherwise." },
};
/* clang-format on */

#define CONFIG_VAR_TOTAL (sizeof(vars) / sizeof(vars[0]))

/* ------------------------------------------------------------------ */
/* Loading                                                             */

/* SPEC.md 1.1: set-but-empty is unset, except where empty is a value. */
static const char *
read_var(const struct config_loader *ld, const struct config_var *v)
{
    const char *raw = ld->getenv_fn(v->name);
    if (raw == NULL || (raw[0] == '\0' && !(v->flags & CONFIG_VAR_EMPTY_IS_VALUE))) {
        return NULL;
    }
    return raw;
}

static unsigned
online_cpus(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1) {
        return 1;
    }
    return cpus > CONFIG_WORKERS_MAX ? CONFIG_WORKERS_MAX : (unsigned)cpus;
}

static void
load_var(struct config_loader *ld, const struct config_var *v)
{
    const char *text = read_var(ld, v);
    if (text == NULL && (v->flags & CONFIG_VAR_REQUIRED)) {
        add_missing(ld, v->name);
        return;
    }
    if (text == NULL) {
        text = v->def;
    }
    switch (v->kind) {
    case CONFIG_KIND_TEXT:
        load_text(ld, v, text);
        break;
    case CONFIG_KIND_BOOL_TRUE:
        *CONFIG_FIELD(ld->c, v, bool) = !is_false_word(text);
        break;
    case CONFIG_KIND_BOOL_FALSE:
        *CONFIG_FIELD(ld->c, v, bool) = is_true_word(text);
        break;
    case CONFIG_KIND_NUMBER:
        if (text == NULL && (v->flags & CONFIG_VAR_DEFAULT_CPUS)) {
            store_count(ld->c, v, online_cpus());
        } else {
            load_count(ld, v, text);
        }
        break;
    case CONFIG_KIND_DURATION:
        load_duration(ld, v, text);
        break;
    case CONFIG_KIND_CUSTOM:
        v->load(ld, v, text);
        break;
    case CONFIG_KIND_COUNT:
        assert(false); /* not a kind */
        break;
    }
}

/* The PROD_MODE violations are joined into one problem line with "; ".
 * The buffer is sized for every violation at once. */
static const char *
sep(const struct buf *b)
{
    return b->len > 0 ? "; " : "";
}

static void
add_weak_secret_violations(const struct config *c, struct buf *b)
{
    if (c->token_signing_secret_weakness != NULL) {
        buf_appendf_best(b,
                         "%sTOKEN_SIGNING_SECRET %s (use a random secret: openssl rand -base64 48)",
                         sep(b), c->token_signing_secret_weakness);
    }
    for (size_t i = 0; i < c->previous_secret_count; i++) {
        char why[CONFIG_CHECK_WEAKNESS_TEXT_MAX];
        config_check_secret_weakness_text(c->previous_secrets[i], c->previous_secret_lens[i], why,
                                          sizeof(why));
        if (why[0] != '\0') {
            buf_appendf_best(b, "%sTOKEN_SIGNING_SECRETS_PREVIOUS[%zu] %s", sep(b), i, why);
        }
    }
}

/* UPSTREAM_IDENTITY_*: a key file nobody uses, and a generated key where
 * several replicas are likely. */
static void
check_identity(struct config_loader *ld, bool no_redis)
{
    const struct config *c = ld->c;
    if (c->upstream_identity_key_file != NULL && !c->upstream_identity_assertion) {
        warning(ld, "UPSTREAM_IDENTITY_KEY_FILE",
                "is set but UPSTREAM_IDENTITY_ASSERTION is not true, so no assertion is "
                "signed; set UPSTREAM_IDENTITY_ASSERTION=true or unset the key file");
    }
    if (c->upstream_identity_assertion && c->upstream_identity_key_file == NULL && !no_redis) {
        /* REDIS_URL is how replicas share state: its presence is the one
         * sign of several replicas this process can see. */
        warning(ld, "UPSTREAM_IDENTITY_KEY_FILE",
                "is unset, so this replica signs with a key of its own made at start-up, and "
                "REDIS_URL suggests several replicas: an upstream must then fetch every "
                "replica's JWKS; give all replicas the same key file instead");
    }
}

/* Sentinel mode takes both names; REDIS_URL gives the data nodes'
 * credentials, database and TLS (its host is ignored), so it is required
 * too; Cluster and Sentinel are two different deployments. */
static void
check_sentinels(struct config_loader *ld, bool no_redis)
{
    const struct config *c = ld->c;
    bool sentinels = c->redis_sentinels != NULL;
    bool master = c->redis_sentinel_master != NULL;
    if (sentinels && !master) {
        problem(ld, "REDIS_SENTINELS",
                "is set but REDIS_SENTINEL_MASTER is not; set it to the name the sentinels "
                "monitor (sentinel monitor <name> ...)");
    }
    if (master && !sentinels) {
        problem(ld, "REDIS_SENTINEL_MASTER",
                "is set but REDIS_SENTINELS is not; list the sentinels (host:port,host:port)");
    }
    if (!sentinels && !master) {
        if ((c->redis_sentinel_username != NULL && c->redis_sentinel_username[0] != '\0') ||
            (c->redis_sentinel_password != NULL && c->redis_sentinel_password[0] != '\0')) {
            warning(ld, "REDIS_SENTINEL_PASSWORD",
                    "or REDIS_SENTINEL_USERNAME is set but REDIS_SENTINELS is not, so it is "
                    "unused");
        }
        return;
    }
    if (no_redis) {
        problem(ld, "REDIS_SENTINELS",
                "is set but REDIS_URL is empty; set REDIS_URL for the data nodes' credentials, "
                "database and TLS (its host is ignored), e.g. redis://:password@primary/0");
    } else if (c->redis_cluster || strncasecmp(c->redis_url, "redis+cluster://", 16) == 0 ||
               strncasecmp(c->redis_url, "rediss+cluster://", 17) == 0) {
        problem(ld, "REDIS_SENTINELS",
                "is set together with Redis Cluster (REDIS_CLUSTER or redis+cluster://); "
                "use one or the other");
    }
}

/* Cross-field rules, after every variable is parsed: REDIS_REQUIRED
 * without REDIS_URL, then the PROD_MODE gate in SPEC.md 1.5's order. */
static void
check_cross_fields(struct config_loader *ld)
{
    const struct config *c = ld->c;
    bool no_redis = c->redis_url == NULL || c->redis_url[0] == '\0';
    if (c->redis_ca_file != NULL && c->redis_ca_file[0] != '\0' &&
        (no_redis || (strncmp(c->redis_url, "rediss://", 9) != 0 &&
                      strncmp(c->redis_url, "rediss+cluster://", 17) != 0))) {
        warning(ld, "REDIS_CA_FILE",
                "is set but REDIS_URL does not use rediss://, so the CA "
                "bundle is unused; use rediss:// or unset REDIS_CA_FILE");
    }
    check_identity(ld, no_redis);
    if (c->redis_cluster && no_redis) {
        problem(ld, "REDIS_CLUSTER",
                "is true but REDIS_URL is empty; set REDIS_URL to a cluster node "
                "(redis://host:port) or use redis+cluster://host:port,host:port");
    }
    if (c->rate_limit_store != NULL && strcmp(c->rate_limit_store, "redis") == 0 && no_redis) {
        problem(ld, "RATE_LIMIT_STORE",
                "is redis but REDIS_URL is empty; set REDIS_URL (the budgets are shared through "
                "it) or RATE_LIMIT_STORE=local (each replica counts its own)");
    }
    check_sentinels(ld, no_redis);
    if (c->cimd_cache_ttl_min_s > c->cimd_cache_ttl_max_s) {
        problem(ld, "CIMD_CACHE_TTL_MAX",
                "is shorter than CIMD_CACHE_TTL_MIN; make the ceiling at least the floor");
    }
    if (!c->prod_mode) {
        /* SPEC.md 1.6: fatal after discovery in Go; we say it at once. */
        if (c->redis_required && no_redis) {
            problem(ld, "REDIS_REQUIRED",
                    "is true (the default) but REDIS_URL is empty; set "
                    "REDIS_URL (e.g. redis://127.0.0.1:6379/0), or set REDIS_REQUIRED=false to "
                    "use the in-process replay store (single replica only)");
        }
        if (c->token_signing_secret_weakness != NULL) {
            warning(ld, "TOKEN_SIGNING_SECRET",
                    "%s; use a random secret: openssl rand "
                    "-base64 48 (PROD_MODE=true refuses this one)",
                    c->token_signing_secret_weakness);
        }
        return;
    }
    struct buf v;
    buf_init(&v, 8192);
    if (!c->pkce_required) {
        buf_appendf_best(&v, "%sPKCE_REQUIRED=false (PKCE downgrade risk)", sep(&v));
    }
    if (c->compat_allow_stateless) {
        buf_appendf_best(&v, "%sCOMPAT_ALLOW_STATELESS=true (hides client-side CSRF bugs)",
                         sep(&v));
    }
    if (!c->redis_required) {
        buf_appendf_best(&v,
                         "%sREDIS_REQUIRED=false (authorization codes and refresh tokens become "
                         "replayable within their lifetime)",
                         sep(&v));
    }
    if (no_redis) {
        buf_appendf_best(&v,
                         "%sREDIS_URL unset (no replay store: no single-use codes, no "
                         "refresh-reuse detection)",
                         sep(&v));
    }
    if (c->trust_proxy_headers && c->trusted_proxy_cidr_count == 0 && !ld->cidrs_invalid) {
        buf_appendf_best(&v,
                         "%sTRUST_PROXY_HEADERS=true without TRUSTED_PROXY_CIDRS "
                         "(forwarded-header spoofing can bypass per-IP limits)",
                         sep(&v));
    }
    if (c->cimd_allow_private_addresses) {
        buf_appendf_best(&v,
                         "%sCIMD_ALLOW_PRIVATE_ADDRESSES=true (client metadata fetches may reach "
                         "internal addresses: SSRF)",
                         sep(&v));
    }
    if (c->oidc_allow_insecure_http) {
        buf_appendf_best(&v,
                         "%sOIDC_ALLOW_INSECURE_HTTP=true (cleartext OIDC exposes the client "
                         "secret)",
                         sep(&v));
    }
    add_weak_secret_violations(c, &v);
    if (v.len > 0) {
        problem(ld, "PROD_MODE",
                "PROD_MODE=true rejects unsafe settings: %s; fix each one, or "
                "set PROD_MODE=false for a development setup",
                buf_cstr(&v));
    }
    buf_cleanup(&v);
}

/* A derived URL: base + path (url_join), in its own allocation. */
static char *
join_url(const char *base, const char *path)
{
    struct buf b;
    buf_init(&b, strlen(base) + strlen(path));
    if (url_join(&b, base, path) != 0) {
        abort(); /* sized exactly above */
    }
    return buf_take(&b);
}

static void
hand_over(struct buf *to, const struct buf *lines)
{
    if (to != NULL && lines->len > 0) {
        buf_appendf_best(to, "%s", buf_cstr(lines));
    }
}

bool
config_load(const char *(*getenv_fn)(const char *name), struct config *out, struct buf *err,
            struct buf *warn)
{
    struct config_loader ld = {.getenv_fn = getenv_fn, .c = out};
    memset(out, 0, sizeof(*out));
    buf_init(&ld.problems, CONFIG_REPORT_MAX);
    buf_init(&ld.warnings, CONFIG_REPORT_MAX);
    buf_init(&ld.missing, CONFIG_REPORT_MAX);
    for (size_t i = 0; i < CONFIG_VAR_TOTAL; i++) {
        load_var(&ld, &vars[i]);
        if ((vars[i].flags & CONFIG_VAR_ENDS_REQUIRED) && ld.missing.len > 0) {
            problem(&ld, NULL,
                    "missing required env vars: %s; set each of them "
                    "(docs/configuration.md explains every variable)",
                    buf_cstr(&ld.missing));
        }
    }
    check_cross_fields(&ld);
    if (ld.base_ok && ld.upstream_ok) {
        out->canonical_resource = join_url(out->proxy_base_url, out->mount);
        out->idp_redirect_uri = join_url(out->proxy_base_url, "/callback");
    }
    if (ld.truncated) {
        problem(&ld, NULL, "(more problems than fit in this report)");
    }
    hand_over(warn, &ld.warnings);
    bool ok = ld.problem_count == 0;
    if (!ok) {
        hand_over(err, &ld.problems);
        config_cleanup(out);
    }
    buf_cleanup(&ld.problems);
    buf_cleanup(&ld.warnings);
    buf_cleanup(&ld.missing);
    return ok;
}

/* Wipes then frees key material (STYLE.md 3.5). */
static void
free_secret(char *s, size_t len)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, len);
        xfree(s);
    }
}

static void
free_secret_str(char *s)
{
    free_secret(s, s ? strlen(s) : 0);
}

static void
free_listen(struct config_listen *l)
{
    xfree(l->text);
    xfree(l->host);
}

void
config_cleanup(struct config *c)
{
    xfree(c->oidc_issuer_url);
    xfree(c->oidc_client_id);
    free_secret_str(c->oidc_client_secret);
    xfree(c->proxy_base_url);
    xfree(c->upstream_mcp_url);
    xfree(c->upstream_origin);
    xfree(c->mount);
    free_secret(c->token_signing_secret, c->token_signing_secret_len);
    xfree(c->token_signing_secret_weakness);
    for (size_t i = 0; i < c->previous_secret_count; i++) {
        free_secret(c->previous_secrets[i], c->previous_secret_lens[i]);
    }
    xfree(c->previous_secrets);
    xfree(c->previous_secret_lens);
    free_listen(&c->listen);
    free_listen(&c->metrics_listen);
    free_listen(&c->forward_auth_listen);
    xfree(c->groups_claim);
    free_list(c->allowed_groups, c->allowed_group_count);
    xfree(c->email_claim);
    xfree(c->log_format);
    xfree(c->allowed_hosted_domains_text);
    free_list(c->allowed_hosted_domains, c->allowed_hosted_domain_count);
    xfree(c->mcp_resource_name);
    free_secret_str(c->redis_url);
    xfree(c->redis_sentinels);
    xfree(c->redis_sentinel_master);
    xfree(c->redis_sentinel_username);
    free_secret_str(c->redis_sentinel_password);
    xfree(c->redis_key_prefix);
    xfree(c->redis_ca_file);
    xfree(c->dns_resolv_conf);
    xfree(c->dns_hosts_file);
    xfree(c->trusted_proxy_cidrs);
    free_secret_str(c->upstream_authorization_header);
    xfree(c->access_log_skip_re_text);
    free_list(c->csp_form_action_extra, c->csp_form_action_extra_count);
    free_list(c->mcp_allowed_origins, c->mcp_allowed_origin_count);
    free_list(c->cimd_allowed_hosts, c->cimd_allowed_host_count);
    xfree(c->cimd_ca_file);
    xfree(c->cimd_pinned_dir);
    xfree(c->policy_file);
    xfree(c->upstream_identity_key_file);
    free_list(c->upstream_identity_key_files, c->upstream_identity_key_file_count);
    xfree(c->canonical_resource);
    xfree(c->scopes_supported);
    xfree(c->scopes_resource);
    xfree(c->idp_redirect_uri);
    xfree(c->rate_limit_client_budgets);
    xfree(c->rate_limit_cidr_budgets);
    xfree(c->rate_limit_store);
    memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------------ */
/* The table for config_report.c and the drift tests                   */

size_t
config_var_count(void)
{
    return CONFIG_VAR_TOTAL;
}

const char *
config_var_name(size_t i)
{
    return i < CONFIG_VAR_TOTAL ? vars[i].name : NULL;
}

const struct config_var *
config_var_get(size_t i)
{
    return i < CONFIG_VAR_TOTAL ? &vars[i] : NULL;
}
