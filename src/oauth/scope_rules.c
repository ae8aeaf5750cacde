/* The scope granting rules (oauth/scope_rules.h), over base/scope sets.
 *
 * Example with MCP_SCOPES_SUPPORTED="mcp:read mcp:write offline_access":
 *   /authorize scope absent                    -> "mcp:read mcp:write"
 *   /authorize scope="offline_access mcp:read" -> "mcp:read offline_access"
 *   /authorize scope="openid mcp:read"         -> "mcp:read" (openid dropped)
 *   /authorize scope="openid"                  -> invalid_scope
 *   refresh of "mcp:read" asking "mcp:write"   -> invalid_scope */
#include "oauth/scope_rules.h"

#include <string.h>

#include "base/buf.h"
#include "base/scope.h"

/* Every token of requested is a scope-token (split on runs of spaces). */
static bool
well_formed(const char *requested)
{
    struct slice rest = slice_from_cstr(requested);
    struct slice t;
    while (scope_next(&rest, " ", &t)) {
        if (!scope_token_is_valid(t)) {
            return false;
        }
    }
    return true;
}

static bool
is_blank(const char *requested)
{
    struct slice rest = slice_from_cstr(requested);
    struct slice t;
    return !scope_next(&rest, " ", &t);
}

/* keep() arguments: a token stays when it is in every non-NULL set. */
struct keep_in {
    const char *a;
    const char *b;
};

static bool
keep_in(struct slice token, const void *arg)
{
    const struct keep_in *k = arg;
    return (k->a == NULL || scope_has(k->a, token)) && (k->b == NULL || scope_has(k->b, token));
}

static bool
not_offline_access(struct slice token, const void *arg)
{
    (void)arg;
    return !slice_eq_cstr(token, SCOPE_OFFLINE_ACCESS);
}

/* set filtered by keep into out; false only when it does not fit, which
 * a subset of a configured set cannot do (config.c caps it). */
static bool
filter_into(const char *set, bool (*keep)(struct slice, const void *), const void *arg,
            char out[OAUTH_SCOPE_RULES_MAX])
{
    struct buf b;
    buf_init(&b, OAUTH_SCOPE_RULES_MAX - 1);
    bool ok = scope_filter(set, keep, arg, &b) == 0;
    if (ok) {
        memcpy(out, buf_cstr(&b), b.len + 1);
    }
    buf_cleanup(&b);
    return ok;
}

static const char *
refuse(const char *why, char out[OAUTH_SCOPE_RULES_MAX])
{
    out[0] = '\0';
    return why;
}

const char *
oauth_scope_rules_grant(const char *supported, const char *requested,
                        char out[OAUTH_SCOPE_RULES_MAX])
{
    out[0] = '\0';
    if (supported == NULL || supported[0] == '\0') {
        return NULL;
    }
    requested = requested != NULL ? requested : "";
    if (is_blank(requested)) {
        return filter_into(supported, not_offline_access, NULL, out)
                   ? NULL
                   : refuse("scope is too long", out);
    }
    if (!well_formed(requested)) {
        return refuse("scope is malformed", out);
    }
    const struct keep_in k = {.a = requested};
    if (!filter_into(supported, keep_in, &k, out)) {
        return refuse("scope is too long", out);
    }
    return out[0] != '\0' ? NULL : refuse("none of the requested scopes is supported", out);
}

/* Is every token of requested in granted? */
static bool
within(const char *requested, const char *granted)
{
    struct slice rest = slice_from_cstr(requested);
    struct slice t;
    while (scope_next(&rest, " ", &t)) {
        if (!scope_has(granted, t)) {
            return false;
        }
    }
    return true;
}

const char *
oauth_scope_rules_refresh(const char *supported, const char *granted, const char *requested,
                          char out[OAUTH_SCOPE_RULES_MAX])
{
    out[0] = '\0';
    if (supported == NULL || supported[0] == '\0') {
        return NULL;
    }
    granted = granted != NULL ? granted : "";
    requested = requested != NULL ? requested : "";
    if (!well_formed(requested)) {
        return refuse("scope is malformed", out);
    }
    if (!within(requested, granted)) {
        return refuse("scope exceeds the scope originally granted", out);
    }
    const struct keep_in k = {.a = supported, .b = is_blank(requested) ? NULL : requested};
    /* granted comes out of a sealed token, whose scope a configured set
     * bounds; one that does not fit was not minted by us. */
    return filter_into(granted, keep_in, &k, out) ? NULL : refuse("scope is too long", out);
}

bool
oauth_scope_rules_refresh_token_allowed(const char *supported, const char *granted)
{
    if (supported == NULL || !scope_has(supported, SLICE_LIT(SCOPE_OFFLINE_ACCESS))) {
        return true;
    }
    return granted != NULL && scope_has(granted, SLICE_LIT(SCOPE_OFFLINE_ACCESS));
}
