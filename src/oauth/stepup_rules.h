/* oauth/stepup_rules: step-up to a stronger or fresher login through the
 * IdP (docs/step-up.md, issue 12 item 4) -- the decisions of /authorize and
 * /callback that need no I/O.
 *
 * A step-up scope (policy.h's step_up map, e.g. "mcp:mfa") names a
 * requirement: acr any-of a list, and/or max_age seconds since auth_time.
 *  - /authorize (oauth/flow.c): when the granted scope holds step-up
 *    scopes, the IdP request carries acr_values (the space-joined union of
 *    their acr lists) and max_age (the smallest), or prompt=login when that
 *    is 0; the session seals what was asked.
 *  - /callback: a step-up scope stays in the grant only when the verified
 *    id_token proves its requirement as the policy states it then; an
 *    unproven one is dropped from the grant, not an error (docs/step-up.md
 *    says why). The refresh grant can only narrow the scope (RFC 6749 6),
 *    so it never adds one; acr and auth_time travel unchanged from the
 *    login through every token of the family.
 *
 * Pure: no I/O, no logging; the policy is borrowed (NULL = no policy file:
 * nothing is a step-up scope). Thread-safe. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "bounds.h"

struct grant_session;
struct policy;
struct policy_step_up;

/* What /authorize asks the IdP for. */
struct oauth_stepup_ask {
    /* acr_values: distinct values in the order first met, space-joined;
     * "" = none asked. */
    char acr_values[BOUNDS_STEPUP_ACR_VALUES_MAX + 1];
    int64_t max_age; /* the smallest of the scopes' max_age; -1 = none */
};

/* Fills *out from the step-up scopes of scope (space-joined). 0, or -1
 * when the union of acr values does not fit BOUNDS_STEPUP_ACR_VALUES_MAX
 * (the policy loader keeps files far below it; the caller fails the
 * request rather than ask for less). */
int oauth_stepup_rules_ask(const struct policy *p, const char *scope, struct oauth_stepup_ask *out)
    __attribute__((warn_unused_result));

/* The id_token's auth_time as the grants record it: 0 (unknown) when it
 * lies more than BOUNDS_ID_TOKEN_SKEW_S in the future, so a bad IdP clock
 * or a forged value can never stretch a max_age window. */
int64_t oauth_stepup_rules_auth_time(int64_t auth_time, int64_t now_s);

/* OIDC Core 3.1.2.1 / 3.1.3.7 against what the session asked: NULL, or a
 * static reason -- "auth_time_missing" (max_age or prompt=login was sent
 * and the id_token has no usable auth_time) or "auth_time_too_old" (now -
 * auth_time > max_age + BOUNDS_ID_TOKEN_SKEW_S: the IdP did not
 * authenticate afresh). Either way the login stands and no step-up scope
 * is granted. acr is not judged here but per scope (the union sent cannot
 * tell which scope a value satisfies). */
const char *oauth_stepup_rules_check_asked(const struct grant_session *s, int64_t auth_time,
                                           int64_t now_s);

/* Does a login with acr and auth_time (0 = unknown) prove r at now_s? acr
 * in r's list (when it has one, exact compare) and, when r has a max_age,
 * auth_time known and now - auth_time <= max_age + BOUNDS_ID_TOKEN_SKEW_S. */
bool oauth_stepup_rules_proven(const struct policy_step_up *r, const char *acr, int64_t auth_time,
                               int64_t now_s);

/* Appends to out the scope /callback grants: scope without every step-up
 * scope the login does not prove (all of them when asked_ok is false).
 * *out_dropped counts those left out. 0, or -1 at out's cap. */
int oauth_stepup_rules_grant(const struct policy *p, const char *scope, const char *acr,
                             int64_t auth_time, bool asked_ok, int64_t now_s, struct buf *out,
                             size_t *out_dropped) __attribute__((warn_unused_result));

/* Appends scope without any step-up scope: the scope a client gets when it
 * names none at /authorize, and the 401's scope= -- a first login asks the
 * IdP for no second factor; the 403 challenge of the call that needs one
 * names it (docs/step-up.md). 0, or -1 at out's cap. */
int oauth_stepup_rules_without(const struct policy *p, const char *scope, struct buf *out)
    __attribute__((warn_unused_result));
