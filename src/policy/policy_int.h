/* policy internals: the loaded form of a policy file, shared by
 * policy/load (which builds it) and policy/policy (which decides with it
 * and frees it). Nothing outside src/policy/ includes this. */
#pragma once

#include <stdatomic.h>

#include "policy/policy.h"

struct policy_list { /* owned strings, NUL-terminated */
    char **items;
    size_t count;
};

struct policy_rule {
    char *name;                           /* "" when the rule has none */
    unsigned line;                        /* 1-based line of the rule in the file */
    struct policy_list methods;           /* globs; never empty (default tools/call) */
    struct policy_list names;             /* globs; empty = any name */
    struct policy_list groups;            /* any of */
    struct policy_list scopes;            /* all of */
    struct policy_list email_domains;     /* any of, lower case */
    const struct policy_step_up *step_up; /* borrowed from the policy, or NULL */
    enum policy_effect effect;
    char *required_scope; /* scopes + step_up scope, space-joined ("" when none) */
};

struct policy {
    atomic_uint refs;
    enum policy_effect default_effect;
    struct policy_step_up *step_ups; /* scope, acr_values owned */
    size_t step_up_count;
    struct policy_rule *rules;
    size_t rule_count;
};

/* Frees a policy however far it was built (the loader's error path). */
void policy_destroy(struct policy *p);
