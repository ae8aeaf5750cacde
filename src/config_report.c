/* What the configuration table reports: the redacted dump of
 * --check-config, --help, and the start-up log lines of SPEC.md 1.7. It
 * reads the table (config_int.h) and a loaded struct config; it loads and
 * checks nothing. Each shape of value has one show_* function. */
#include "config_report.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/duration.h"
#include "base/ipaddr.h"
#include "base/rfc3339.h"
#include "config_int.h"
#include "log.h"

/* ------------------------------------------------------------------ */
/* Showing one value (a full buffer only shortens the dump)            */

/* Appends text with control bytes and backslashes escaped, so each dump
 * entry stays on one line. */
static void
show_escaped(struct buf *out, const char *text)
{
    for (const char *p = text; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        int rc = (ch < 0x20 || ch == 0x7f || ch == '\\') ? buf_appendf(out, "\\x%02x", ch)
                                                         : buf_append_byte(out, (char)ch);
        if (rc != 0) {
            return;
        }
    }
}

static void
show_unset_or(struct buf *out, bool set, const char *text)
{
    if (!set) {
        buf_appendf_best(out, "%s", "(unset)");
        return;
    }
    show_escaped(out, text);
}

static void
show_text_field(const struct config *c, const struct config_var *v, struct buf *out)
{
    const char *value = *CONFIG_CFIELD(c, v, char *const);
    show_unset_or(out, value != NULL && value[0] != '\0', value ? value : "");
}

static void
show_list(struct buf *out, char *const *items, size_t n)
{
    if (n == 0) {
        buf_appendf_best(out, "%s", "(unset)");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && buf_append_byte(out, ',') != 0) {
            return;
        }
        show_escaped(out, items[i]);
    }
}

static void
show_listen(const struct config *c, const struct config_var *v, struct buf *out)
{
    const struct config_listen *l = CONFIG_CFIELD(c, v, struct config_listen);
    show_unset_or(out, l->text != NULL, l->text);
}

static void
show_log_level(const struct config *c, const struct config_var *v, struct buf *out)
{
    buf_appendf_best(out, "%s", log_level_str((enum log_level) * CONFIG_CFIELD(c, v, int)));
}

static void
show_secret(const struct config *c, const struct config_var *v, struct buf *out)
{
    buf_appendf_best(out, "%s", c->token_signing_secret ? "[redacted]" : "(unset)");
}

static void
show_previous(const struct config *c, const struct config_var *v, struct buf *out)
{
    if (c->previous_secret_count == 0) {
        buf_appendf_best(out, "%s", "(unset)");
        return;
    }
    buf_appendf_best(out, "[redacted] (%zu secret%s)", c->previous_secret_count,
                     c->previous_secret_count == 1 ? "" : "s");
}

static void
show_revoke_before(const struct config *c, const struct config_var *v, struct buf *out)
{
    if (!c->revoke_before_set) {
        buf_appendf_best(out, "%s", "(unset)");
        return;
    }
    char text[RFC3339_MS_LEN + 1];
    rfc3339_format_ms(c->revoke_before_s * 1000 + c->revoke_before_ns / 1000000, text);
    buf_appendf_best(out, "%s", text);
}

static void
show_rate(const struct config *c, const struct config_var *v, struct buf *out)
{
    buf_appendf_best(out, "%.15g", c->idp_exchange_rate_per_sec);
}

static void
show_groups(const struct config *c, const struct config_var *v, struct buf *out)
{
    show_list(out, c->allowed_groups, c->allowed_group_count);
}

static void
show_key_prefix(const struct config *c, const struct config_var *v, struct buf *out)
{
    if (c->redis_key_prefix != NULL && c->redis_key_prefix[0] == '\0') {
        buf_appendf_best(out, "%s", "(empty: no prefix)");
        return;
    }
    show_text_field(c, v, out);
}

static void
show_cidrs(const struct config *c, const struct config_var *v, struct buf *out)
{
    if (c->trusted_proxy_cidr_count == 0) {
        buf_appendf_best(out, "%s", "(unset)");
        return;
    }
    for (size_t i = 0; i < c->trusted_proxy_cidr_count; i++) {
        char addr[IPADDR_TEXT_MAX];
        ipaddr_format(&c->trusted_proxy_cidrs[i].addr, addr);
        if (buf_appendf(out, "%s%s/%u", i ? "," : "", addr, c->trusted_proxy_cidrs[i].prefix)) {
            return;
        }
    }
}

static void
show_proxy_header(const struct config *c, const struct config_var *v, struct buf *out)
{
    buf_appendf_best(out, "%s", config_proxy_header_str(c->trusted_proxy_header));
}

static void
show_csp(const struct config *c, const struct config_var *v, struct buf *out)
{
    show_list(out, c->csp_form_action_extra, c->csp_form_action_extra_count);
}

static void
show_origins(const struct config *c, const struct config_var *v, struct buf *out)
{
    show_list(out, c->mcp_allowed_origins, c->mcp_allowed_origin_count);
}

typedef void show_fn(const struct config *c, const struct config_var *v, struct buf *out);

static show_fn *const show_custom[CONFIG_SHOW_COUNT] = {
    [CONFIG_SHOW_BY_KIND] = NULL, /* CUSTOM rows name a shape */
    [CONFIG_SHOW_TEXT] = show_text_field,
    [CONFIG_SHOW_LISTEN] = show_listen,
    [CONFIG_SHOW_LOG_LEVEL] = show_log_level,
    [CONFIG_SHOW_SECRET] = show_secret,
    [CONFIG_SHOW_PREVIOUS] = show_previous,
    [CONFIG_SHOW_REVOKE_BEFORE] = show_revoke_before,
    [CONFIG_SHOW_RATE] = show_rate,
    [CONFIG_SHOW_GROUPS] = show_groups,
    [CONFIG_SHOW_KEY_PREFIX] = show_key_prefix,
    [CONFIG_SHOW_CIDRS] = show_cidrs,
    [CONFIG_SHOW_PROXY_HEADER] = show_proxy_header,
    [CONFIG_SHOW_CSP] = show_csp,
    [CONFIG_SHOW_ORIGINS] = show_origins,
};

static void
show_generic(const struct config *c, const struct config_var *v, struct buf *out)
{
    char text[DURATION_TEXT_MAX];
    switch (v->kind) {
    case CONFIG_KIND_TEXT: {
        const char *value = *CONFIG_CFIELD(c, v, char *const);
        bool set = value != NULL && value[0] != '\0';
        if (v->flags & CONFIG_VAR_SECRET) {
            buf_appendf_best(out, "%s", set ? "[redacted]" : "(unset)");
        } else {
            show_unset_or(out, set, value);
        }
        break;
    }
    case CONFIG_KIND_BOOL_TRUE:
    case CONFIG_KIND_BOOL_FALSE:
        buf_appendf_best(out, "%s", *CONFIG_CFIELD(c, v, bool) ? "true" : "false");
        break;
    case CONFIG_KIND_NUMBER:
        buf_appendf_best(out, "%llu",
                         (unsigned long long)(v->size == sizeof(uint64_t)
                                                  ? *CONFIG_CFIELD(c, v, uint64_t)
                                                  : *CONFIG_CFIELD(c, v, unsigned)));
        break;
    case CONFIG_KIND_DURATION:
        duration_format(*CONFIG_CFIELD(c, v, uint64_t) * v->unit_ns, text);
        buf_appendf_best(out, "%s", text);
        break;
    case CONFIG_KIND_CUSTOM:
        assert(v->show > CONFIG_SHOW_BY_KIND && v->show < CONFIG_SHOW_COUNT);
        show_custom[v->show](c, v, out);
        break;
    case CONFIG_KIND_COUNT:
        assert(false); /* not a kind */
        break;
    }
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */

void
config_report_dump(const struct config *c, FILE *out)
{
    struct buf b;
    buf_init(&b, CONFIG_REPORT_MAX);
    for (size_t i = 0; i < config_var_count(); i++) {
        const struct config_var *v = config_var_get(i);
        if (buf_appendf(&b, "%s=", v->name) != 0) {
            break;
        }
        show_generic(c, v, &b);
        if (buf_append_byte(&b, '\n') != 0) {
            break;
        }
    }
    if (c->canonical_resource != NULL &&
        buf_appendf(&b,
                    "# derived: mount=%s upstream_origin=%s canonical_resource=%s "
                    "idp_redirect_uri=%s\n",
                    c->mount, c->upstream_origin, c->canonical_resource,
                    c->idp_redirect_uri) != 0) {
        /* A full buffer only shortens the dump. */
    }
    if (b.len > 0) {
        (void)fwrite(b.ptr, 1, b.len, out);
        (void)fflush(out);
    }
    buf_cleanup(&b);
}

void
config_report_help(FILE *out)
{
    for (size_t i = 0; i < config_var_count(); i++) {
        const struct config_var *v = config_var_get(i);
        const char *def = config_var_default_hint(v);
        fprintf(out, "  %s\n      %s\n      ", v->name, v->help);
        if (v->flags & CONFIG_VAR_REQUIRED) {
            fprintf(out, "required");
        } else {
            fprintf(out, "default: %s", def[0] ? def : "(empty)");
        }
        if (v->flags & CONFIG_VAR_SECRET) {
            fprintf(out, "; secret (never printed)");
        }
        if (v->flags & CONFIG_VAR_RELAXATION) {
            fprintf(out, "; its relaxed value is refused when PROD_MODE=true");
        }
        if (v->flags & CONFIG_VAR_ADDITION) {
            fprintf(out, "; new in this implementation");
        }
        fprintf(out, "\n");
    }
}

void
config_report_log_startup(const struct config *c)
{
    struct log_line l;
    if (c->csp_form_action_extra_set) {
        log_begin(&l, LOG_WARN, "csp_form_action_extra_deprecated");
        log_str(&l, "hint", "CSP_FORM_ACTION_EXTRA is ignored; remove it");
        log_end(&l);
    }
    log_begin(&l, LOG_INFO, "startup_config");
    log_bool(&l, "prod_mode", c->prod_mode);
    log_bool(&l, "pkce_required", c->pkce_required);
    log_bool(&l, "redis_required", c->redis_required);
    log_bool(&l, "rate_limit_enabled", c->rate_limit_enabled);
    log_bool(&l, "trust_proxy_headers", c->trust_proxy_headers);
    log_bool(&l, "compat_allow_stateless", c->compat_allow_stateless);
    log_bool(&l, "render_consent_page", c->render_consent_page);
    log_uint(&l, "per_subject_concurrency", c->per_subject_concurrency);
    log_str(&l, "groups_claim", c->groups_claim ? c->groups_claim : "");
    log_bool(&l, "allowed_groups_set", c->allowed_group_count > 0);
    log_bool(&l, "revoke_before_set", c->revoke_before_set);
    log_bool(&l, "upstream_authorization_set",
             c->upstream_authorization_header != NULL &&
                 c->upstream_authorization_header[0] != '\0');
    log_str(&l, "access_log_skip_re", c->access_log_skip_re_text ? c->access_log_skip_re_text : "");
    log_bool(&l, "tool_metrics_enabled", c->tool_metrics);
    log_uint(&l, "tool_metrics_max_cardinality", c->tool_metrics_max_cardinality);
    log_uint(&l, "workers", c->workers);
    log_end(&l);
    if (c->token_signing_secret_weakness != NULL) {
        struct buf reason;
        buf_init(&reason, 128);
        if (buf_appendf(&reason, "TOKEN_SIGNING_SECRET %s", c->token_signing_secret_weakness) ==
            0) {
            log_begin(&l, LOG_WARN, "token_signing_secret_weak");
            log_str(&l, "reason", buf_cstr(&reason));
            log_end(&l);
        }
        buf_cleanup(&reason);
    }
    if (c->previous_secret_count > 0) {
        log_begin(&l, LOG_INFO, "token_signing_rotation_in_progress");
        log_uint(&l, "previous_keys", c->previous_secret_count);
        log_str(&l, "hint",
                "remove TOKEN_SIGNING_SECRETS_PREVIOUS once every token sealed "
                "with the old secrets has expired (refresh tokens live 7 days)");
        log_end(&l);
    }
    if (c->revoke_before_set && c->revoke_before_s > clock_unix_s()) {
        /* A cut-off in the future refuses every token issued until then,
         * new ones included: almost always a typo in the date. */
        log_begin(&l, LOG_WARN, "revoke_before_in_future");
        log_int(&l, "revoke_before_unix", c->revoke_before_s);
        log_str(&l, "hint", "tokens issued before this time are refused, including new ones");
        log_end(&l);
    }
    if (c->trust_proxy_headers && c->trusted_proxy_cidr_count > 0) {
        log_event(LOG_WARN, "trust_proxy_headers_superseded_by_cidrs");
    } else if (c->trust_proxy_headers) {
        log_event(LOG_WARN, "trust_proxy_headers_deprecated");
    }
}
