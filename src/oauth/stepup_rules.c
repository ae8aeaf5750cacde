/* Step-up decisions (see stepup_rules.h). */
#include "oauth/stepup_rules.h"

#include <string.h>

#include "base/scope.h"
#include "bounds.h"
#include "grants.h"
#include "policy/policy.h"

/* Appends value to the space-joined set in acr (cap bytes with the NUL)
 * unless already there. -1 when it would not fit. */
static int
add_acr(char *acr, size_t cap, const char *value)
{
    if (scope_has(acr, slice_from_cstr(value))) {
        return 0;
    }
    size_t used = strlen(acr);
    size_t need = (used > 0 ? 1 : 0) + strlen(value);
    if (used + need + 1 > cap) {
        return -1;
    }
    if (used > 0) {
        acr[used++] = ' ';
    }
    memcpy(acr + used, value, strlen(value) + 1);
    return 0;
}

int
oauth_stepup_rules_ask(const struct policy *p, const char *scope, struct oauth_stepup_ask *out)
{
    out->acr_values[0] = '\0';
    out->max_age = -1;
    if (p == NULL) {
        return 0;
    }
    struct slice rest = slice_from_cstr(scope != NULL ? scope : "");
    struct slice tok;
    while (scope_next(&rest, " ", &tok)) {
        const struct policy_step_up *r = policy_step_up_find(p, tok);
        if (r == NULL) {
            continue;
        }
        for (size_t i = 0; i < r->acr_count; i++) {
            if (add_acr(out->acr_values, sizeof(out->acr_values), r->acr_values[i]) != 0) {
                return -1;
            }
        }
        if (r->max_age >= 0 && (out->max_age < 0 || r->max_age < out->max_age)) {
            out->max_age = r->max_age;
        }
    }
    return 0;
}

int64_t
oauth_stepup_rules_auth_time(int64_t auth_time, int64_t now_s)
{
    return auth_time > now_s + BOUNDS_ID_TOKEN_SKEW_S ? 0 : auth_time;
}

/* now - auth_time <= max_age + skew, without overflow for any input. */
static bool
fresh(int64_t auth_time, int64_t max_age, int64_t now_s)
{
    if (auth_time <= 0 || max_age < 0) {
        return false;
    }
    if (auth_time >= now_s) {
        return true;
    }
    int64_t age = now_s - auth_time;
    return max_age > INT64_MAX - BOUNDS_ID_TOKEN_SKEW_S || age <= max_age + BOUNDS_ID_TOKEN_SKEW_S;
}

const char *
oauth_stepup_rules_check_asked(const struct grant_session *s, int64_t auth_time, int64_t now_s)
{
    if (!s->stepup_max_age_set) {
        return NULL;
    }
    if (auth_time <= 0) {
        return "auth_time_missing";
    }
    return fresh(auth_time, s->stepup_max_age, now_s) ? NULL : "auth_time_too_old";
}

bool
oauth_stepup_rules_proven(const struct policy_step_up *r, const char *acr, int64_t auth_time,
                          int64_t now_s)
{
    if (r->acr_count > 0) {
        bool found = false;
        for (size_t i = 0; !found && i < r->acr_count; i++) {
            found = acr != NULL && acr[0] != '\0' && strcmp(acr, r->acr_values[i]) == 0;
        }
        if (!found) {
            return false;
        }
    }
    return r->max_age < 0 || fresh(auth_time, r->max_age, now_s);
}

struct grant_ctx {
    const struct policy *p;
    const char *acr;
    int64_t auth_time;
    bool asked_ok;
    int64_t now_s;
    size_t dropped;
};

/* scope_filter's predicate; arg is the caller's own mutable grant_ctx (the
 * const is scope_filter's, which never looks at it), so it may count. */
static bool
keep_scope(struct slice token, const void *arg)
{
    struct grant_ctx *g = (struct grant_ctx *)arg;
    const struct policy_step_up *r = g->p != NULL ? policy_step_up_find(g->p, token) : NULL;
    if (r == NULL ||
        (g->asked_ok && oauth_stepup_rules_proven(r, g->acr, g->auth_time, g->now_s))) {
        return true;
    }
    g->dropped++;
    return false;
}

int
oauth_stepup_rules_grant(const struct policy *p, const char *scope, const char *acr,
                         int64_t auth_time, bool asked_ok, int64_t now_s, struct buf *out,
                         size_t *out_dropped)
{
    struct grant_ctx g = {
        .p = p, .acr = acr, .auth_time = auth_time, .asked_ok = asked_ok, .now_s = now_s};
    int rc = scope_filter(scope != NULL ? scope : "", keep_scope, &g, out);
    *out_dropped = g.dropped;
    return rc;
}

static bool
not_step_up(struct slice token, const void *arg)
{
    return policy_step_up_find(arg, token) == NULL;
}

int
oauth_stepup_rules_without(const struct policy *p, const char *scope, struct buf *out)
{
    if (p == NULL) {
        return buf_append_str(out, scope != NULL ? scope : "");
    }
    return scope_filter(scope != NULL ? scope : "", not_step_up, p, out);
}
