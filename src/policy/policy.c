#include "policy/policy.h"

#include <pthread.h>
#include <string.h>

#include "base/scope.h"
#include "base/strtab.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "policy/glob.h"
#include "policy/policy_int.h"

static const char *const effect_names[POLICY_EFFECT_COUNT] = {
    [POLICY_ALLOW] = "allow",
    [POLICY_DENY] = "deny",
};

static const char *const reason_names[POLICY_REASON_COUNT] = {
    [POLICY_REASON_RULE] = "rule",
    [POLICY_REASON_DEFAULT] = "default",
    [POLICY_REASON_SCOPE] = "scope",
    [POLICY_REASON_STEP_UP] = "step_up",
    [POLICY_REASON_GROUP] = "group",
    [POLICY_REASON_EMAIL_DOMAIN] = "email_domain",
    [POLICY_REASON_UNREADABLE] = "unreadable",
};

const char *
policy_effect_str(enum policy_effect e)
{
    return strtab_name(effect_names, POLICY_EFFECT_COUNT, (size_t)e, "unknown");
}

const char *
policy_reason_str(enum policy_reason r)
{
    return strtab_name(reason_names, POLICY_REASON_COUNT, (size_t)r, "unknown");
}

static bool
list_has_glob_match(const struct policy_list *l, struct slice s, bool fold_case)
{
    for (size_t i = 0; i < l->count; i++) {
        if (policy_glob_match(slice_from_cstr(l->items[i]), s, fold_case)) {
            return true;
        }
    }
    return false;
}

static bool
rule_matches(const struct policy_rule *r, const struct policy_call *call)
{
    /* Methods fold case: JSON-RPC says they are case-sensitive, but an
     * upstream that dispatched "Tools/Call" as tools/call would otherwise
     * see a call no rule about tools/call looked at. Names stay exact: MCP
     * tool and prompt names are case-sensitive and two of them may differ
     * only in case. */
    if (!list_has_glob_match(&r->methods, call->method, true)) {
        return false;
    }
    return r->names.count == 0 || list_has_glob_match(&r->names, call->name, false);
}

static bool
caller_in_groups(const struct policy_caller *c, const struct policy_list *groups)
{
    for (size_t i = 0; i < c->group_count; i++) {
        for (size_t j = 0; j < groups->count; j++) {
            if (c->groups[i] != NULL && strcmp(c->groups[i], groups->items[j]) == 0) {
                return true;
            }
        }
    }
    return false;
}

/* The part after the last '@', compared ASCII case-insensitively with the
 * rule's (lower-case) domains; exact, so a subdomain is listed on its own. */
static bool
caller_in_domains(const struct policy_caller *c, const struct policy_list *domains)
{
    const char *at = c->email != NULL ? strrchr(c->email, '@') : NULL;
    if (at == NULL || at == c->email || at[1] == '\0') {
        return false;
    }
    struct slice domain = slice_from_cstr(at + 1);
    for (size_t i = 0; i < domains->count; i++) {
        if (slice_case_eq(domain, slice_from_cstr(domains->items[i]))) {
            return true;
        }
    }
    return false;
}

static bool
caller_has_scopes(const struct policy_caller *c, const struct policy_list *scopes)
{
    for (size_t i = 0; i < scopes->count; i++) {
        if (!scope_has(c->scope, slice_from_cstr(scopes->items[i]))) {
            return false;
        }
    }
    return true;
}

/* The step_up scope holds when it was granted (only an id_token that
 * proved it grants it), the recorded acr is one of the listed values, and
 * the login is at most max_age old. An unknown acr or auth_time never
 * satisfies a requirement on it. */
static bool
caller_meets_step_up(const struct policy_caller *c, const struct policy_step_up *s, int64_t now_s)
{
    if (!scope_has(c->scope, slice_from_cstr(s->scope))) {
        return false;
    }
    if (s->acr_count > 0) {
        bool found = false;
        for (size_t i = 0; i < s->acr_count && !found; i++) {
            found = c->acr != NULL && c->acr[0] != '\0' && strcmp(c->acr, s->acr_values[i]) == 0;
        }
        if (!found) {
            return false;
        }
    }
    if (s->max_age >= 0) {
        if (c->auth_time <= 0 || now_s - c->auth_time > s->max_age ||
            c->auth_time > now_s + BOUNDS_POLICY_AUTH_TIME_SKEW_S) {
            return false;
        }
    }
    return true;
}

/* Non-fixable conditions first: when the caller is in the wrong group, a
 * scope challenge would send them through a login that cannot help. */
static enum policy_reason
first_unmet(const struct policy_rule *r, const struct policy_caller *c, int64_t now_s)
{
    if (r->groups.count > 0 && !caller_in_groups(c, &r->groups)) {
        return POLICY_REASON_GROUP;
    }
    if (r->email_domains.count > 0 && !caller_in_domains(c, &r->email_domains)) {
        return POLICY_REASON_EMAIL_DOMAIN;
    }
    if (!caller_has_scopes(c, &r->scopes)) {
        return POLICY_REASON_SCOPE;
    }
    if (r->step_up != NULL && !caller_meets_step_up(c, r->step_up, now_s)) {
        return POLICY_REASON_STEP_UP;
    }
    return POLICY_REASON_RULE;
}

void
policy_decide(const struct policy *p, const struct policy_caller *c, const struct policy_call *call,
              int64_t now_s, struct policy_decision *out)
{
    *out = (struct policy_decision){
        .effect = p->default_effect,
        .reason = POLICY_REASON_DEFAULT,
        .rule = "",
        .fixable_by_login = false,
        .required_scope = "",
    };
    for (size_t i = 0; i < p->rule_count; i++) {
        const struct policy_rule *r = &p->rules[i];
        if (!rule_matches(r, call)) {
            continue;
        }
        out->rule = r->name;
        out->reason = POLICY_REASON_RULE;
        out->effect = r->effect;
        if (r->effect == POLICY_DENY) {
            return;
        }
        enum policy_reason why = first_unmet(r, c, now_s);
        if (why != POLICY_REASON_RULE) {
            out->effect = POLICY_DENY;
            out->reason = why;
            out->fixable_by_login = why == POLICY_REASON_SCOPE || why == POLICY_REASON_STEP_UP;
            out->required_scope = out->fixable_by_login ? r->required_scope : "";
        }
        return;
    }
}

const struct policy_step_up *
policy_step_up_find(const struct policy *p, struct slice scope)
{
    for (size_t i = 0; p != NULL && i < p->step_up_count; i++) {
        if (slice_eq_cstr(scope, p->step_ups[i].scope)) {
            return &p->step_ups[i];
        }
    }
    return NULL;
}

size_t
policy_step_up_count(const struct policy *p)
{
    return p->step_up_count;
}

const struct policy_step_up *
policy_step_up_at(const struct policy *p, size_t i)
{
    return i < p->step_up_count ? &p->step_ups[i] : NULL;
}

size_t
policy_rule_count(const struct policy *p)
{
    return p->rule_count;
}

static void
list_cleanup(struct policy_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        xfree(l->items[i]);
    }
    xfree(l->items);
}

void
policy_destroy(struct policy *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->rule_count; i++) {
        struct policy_rule *r = &p->rules[i];
        xfree(r->name);
        list_cleanup(&r->methods);
        list_cleanup(&r->names);
        list_cleanup(&r->groups);
        list_cleanup(&r->scopes);
        list_cleanup(&r->email_domains);
        xfree(r->required_scope);
    }
    xfree(p->rules);
    for (size_t i = 0; i < p->step_up_count; i++) {
        xfree((char *)p->step_ups[i].scope);
        for (size_t j = 0; j < p->step_ups[i].acr_count; j++) {
            xfree((char *)p->step_ups[i].acr_values[j]);
        }
        xfree((void *)p->step_ups[i].acr_values);
    }
    xfree(p->step_ups);
    xfree(p);
}

/* The count is the only mutable part of an otherwise immutable policy,
 * hence the casts. */
const struct policy *
policy_ref(const struct policy *p)
{
    if (p != NULL) {
        atomic_fetch_add_explicit(&((struct policy *)p)->refs, 1, memory_order_relaxed);
    }
    return p;
}

void
policy_release(const struct policy *p)
{
    struct policy *m = (struct policy *)p;
    if (m != NULL && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
        policy_destroy(m);
    }
}

/* A mutex, not a bare atomic pointer: acquiring is "load the pointer, then
 * count a reference", and between the two a reload could drop the last
 * reference. The lock makes the pair one step; it is held for a pointer
 * copy and an increment, so workers never wait on a reload's parsing
 * (done before the swap, outside the lock). */
struct policy_holder {
    pthread_mutex_t lock;
    struct policy *current;
};

struct policy_holder *
policy_holder_new(struct policy *initial)
{
    struct policy_holder *h = xcalloc(1, sizeof(*h));
    pthread_mutex_init(&h->lock, NULL);
    h->current = initial;
    return h;
}

void
policy_holder_free(struct policy_holder *h)
{
    if (h == NULL) {
        return;
    }
    policy_release(h->current);
    pthread_mutex_destroy(&h->lock);
    xfree(h);
}

const struct policy *
policy_holder_acquire(struct policy_holder *h)
{
    if (h == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&h->lock);
    const struct policy *p = policy_ref(h->current);
    pthread_mutex_unlock(&h->lock);
    return p;
}

void
policy_holder_swap(struct policy_holder *h, struct policy *p)
{
    pthread_mutex_lock(&h->lock);
    struct policy *old = h->current;
    h->current = p;
    pthread_mutex_unlock(&h->lock);
    policy_release(old);
}
