#include "oidc/claims.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "base/jsonx.h"
#include "base/strtab.h"
#include "base/utf8.h"
#include "base/xalloc.h"

static const char *const rc_names[OIDC_CLAIMS_RC_COUNT] = {
    [OIDC_CLAIMS_OK] = "ok",
    [OIDC_CLAIMS_ERR_MALFORMED] = "malformed",
};

static const char *const invalid_group = "group name contains invalid characters";
static const char *const invalid_sub = "subject claim contains invalid characters";
static const char *const invalid_email = "email claim contains invalid characters";

const char *
oidc_claims_rc_str(enum oidc_claims_rc rc)
{
    return strtab_name(rc_names, OIDC_CLAIMS_RC_COUNT, rc, "unknown");
}

void
oidc_claims_cleanup(struct oidc_claims *c)
{
    xfree(c->sub);
    xfree(c->email);
    xfree(c->name);
    for (size_t i = 0; i < c->group_count; i++) {
        xfree(c->groups[i]);
    }
    xfree(c->groups);
    xfree(c->acr);
    xfree(c->hd);
    memset(c, 0, sizeof(*c));
}

/* A string claim: absent or null reads as "", another type fails. When
 * out_invalid is not NULL it says whether the full value (a NUL included)
 * fails oidc_claims_check_value. */
static bool
get_string(const json_t *claims, const char *key, char **out, bool *out_invalid)
{
    struct slice v = SLICE_LIT("");
    enum jsonx_get g = jsonx_get_str(claims, key, &v);
    if (g == JSONX_WRONG_TYPE) {
        return false;
    }
    if (g != JSONX_FOUND) {
        v.len = 0;
    }
    if (out_invalid != NULL) {
        *out_invalid = oidc_claims_check_value(v) != NULL;
    }
    *out = xstrndup(v.ptr, v.len);
    return true;
}

/* JSON boolean, or the strings "true"/"false" some IdPs send (SPEC
 * preface fix 6). Absent or null: not present. */
static bool
get_email_verified(const json_t *claims, struct oidc_claims *out)
{
    const json_t *v;
    enum jsonx_get g = jsonx_get(claims, "email_verified", &v);
    if (g != JSONX_FOUND) {
        return true;
    }
    if (json_is_boolean(v)) {
        out->email_verified = json_is_true(v);
    } else if (json_is_string(v) && strcmp(json_string_value(v), "true") == 0) {
        out->email_verified = true;
    } else if (json_is_string(v) && strcmp(json_string_value(v), "false") == 0) {
        out->email_verified = false;
    } else {
        return false;
    }
    out->email_verified_present = true;
    return true;
}

const char *
oidc_claims_check_value(struct slice v)
{
    const unsigned char *p = (const unsigned char *)v.ptr;
    for (size_t i = 0; i < v.len;) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            return "claim contains control characters";
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        /* jansson only hands out valid UTF-8; checked anyway, since a
         * value that is not would be refused by the JSON sealing later. */
        size_t n = utf8_seq_len(p + i, v.len - i);
        if (n == 0) {
            return "claim is not valid UTF-8";
        }
        i += n;
    }
    return NULL;
}

const char *
oidc_claims_check_group(struct slice group)
{
    if ((group.len > 0 && memchr(group.ptr, ',', group.len) != NULL) ||
        oidc_claims_check_value(group) != NULL) {
        return invalid_group;
    }
    return NULL;
}

const char *
oidc_claims_check_identity(const struct oidc_claims *c)
{
    if (c->sub_invalid) {
        return invalid_sub;
    }
    return c->email_invalid ? invalid_email : NULL;
}

const char *
oidc_claims_check_groups(const struct oidc_claims *c)
{
    return c->group_invalid ? invalid_group : NULL;
}

static void
get_groups(const json_t *claims, const char *groups_claim, struct oidc_claims *out)
{
    const json_t *v;
    if (jsonx_get(claims, groups_claim, &v) != JSONX_FOUND) {
        return; /* absent or null: no groups, no mismatch */
    }
    if (!json_is_array(v)) {
        out->groups_shape_mismatch = true;
        out->groups_error = "groups claim is not an array";
        return;
    }
    size_t n = json_array_size(v);
    out->groups = n ? xcalloc(n, sizeof(*out->groups)) : NULL;
    size_t i;
    const json_t *g;
    json_array_foreach(v, i, g)
    {
        if (!json_is_string(g)) {
            out->groups_shape_mismatch = true;
            out->groups_error = "groups claim has non-string elements";
            continue;
        }
        struct slice s = slice_make(json_string_value(g), json_string_length(g));
        /* Judged on the full length, before a NUL could shorten the copy. */
        if (oidc_claims_check_group(s) != NULL) {
            out->group_invalid = true;
        }
        out->groups[out->group_count++] = xstrndup(s.ptr, s.len);
    }
}

/* The groups are elsewhere (claims.h groups_overage). Only asked when the
 * groups claim itself is absent or null. */
static bool
groups_elsewhere(const json_t *claims, const char *groups_claim)
{
    const json_t *names;
    if (jsonx_get(claims, "_claim_names", &names) == JSONX_FOUND && json_is_object(names) &&
        json_object_get(names, groups_claim) != NULL) {
        return true;
    }
    const json_t *has;
    return jsonx_get(claims, "hasgroups", &has) == JSONX_FOUND && json_is_true(has);
}

/* hd: never a failure; anything unusable reads as "" (no hosted domain). */
static void
get_hosted_domain(const json_t *claims, struct oidc_claims *out)
{
    struct slice v = SLICE_LIT("");
    if (jsonx_get_str(claims, "hd", &v) != JSONX_FOUND || oidc_claims_check_value(v) != NULL) {
        v.len = 0;
    }
    out->hd = xstrndup(v.ptr, v.len);
}

/* acr and auth_time: never a failure; anything unusable reads as unknown
 * (see claims.h). */
static void
get_authentication(const json_t *claims, struct oidc_claims *out)
{
    struct slice v = SLICE_LIT("");
    if (jsonx_get_str(claims, "acr", &v) != JSONX_FOUND || oidc_claims_check_value(v) != NULL) {
        v.len = 0;
    }
    out->acr = xstrndup(v.ptr, v.len);
    const json_t *t;
    double d = 0;
    if (jsonx_get(claims, "auth_time", &t) == JSONX_FOUND && json_is_number(t)) {
        d = json_number_value(t);
    }
    /* NaN fails both comparisons; the range keeps the cast defined. */
    out->auth_time = d >= 1 && d <= (double)OIDC_CLAIMS_AUTH_TIME_MAX ? (int64_t)d : 0;
}

enum oidc_claims_rc
oidc_claims_parse(const struct json_t *claims, const char *groups_claim, const char *email_claim,
                  struct oidc_claims *out, const char **out_reason)
{
    memset(out, 0, sizeof(*out));
    const char *bad = NULL;
    if (!get_string(claims, "sub", &out->sub, &out->sub_invalid)) {
        bad = "sub";
    } else if (!get_string(claims, email_claim, &out->email, &out->email_invalid)) {
        bad = "email";
    } else if (!get_string(claims, "name", &out->name, NULL)) {
        bad = "name";
    } else if (!get_email_verified(claims, out)) {
        bad = "email_verified";
    }
    if (bad != NULL) {
        oidc_claims_cleanup(out);
        if (out_reason != NULL) {
            *out_reason = bad;
        }
        return OIDC_CLAIMS_ERR_MALFORMED;
    }
    get_groups(claims, groups_claim, out);
    const json_t *g;
    if (jsonx_get(claims, groups_claim, &g) != JSONX_FOUND) {
        out->groups_overage = groups_elsewhere(claims, groups_claim);
    }
    get_authentication(claims, out);
    get_hosted_domain(claims, out);
    return OIDC_CLAIMS_OK;
}

bool
oidc_claims_in_hosted_domains(const struct oidc_claims *c, char *const *domains, size_t count)
{
    if (count == 0) {
        return true;
    }
    for (size_t i = 0; c->hd != NULL && c->hd[0] != '\0' && i < count; i++) {
        if (strcasecmp(c->hd, domains[i]) == 0) {
            return true;
        }
    }
    return false;
}

bool
oidc_claims_in_allowed_groups(const struct oidc_claims *c, char *const *allowed,
                              size_t allowed_count)
{
    if (allowed_count == 0) {
        return true;
    }
    for (size_t i = 0; i < c->group_count; i++) {
        for (size_t j = 0; j < allowed_count; j++) {
            if (strcmp(c->groups[i], allowed[j]) == 0) {
                return true;
            }
        }
    }
    return false;
}
