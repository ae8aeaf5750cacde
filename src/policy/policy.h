/* policy: the per-tool authorization policy (docs/policy.md, issue 12).
 *
 * Owns the immutable, refcounted `struct policy` that policy/load builds
 * from the operator's YAML file, decides one JSON-RPC call against it
 * (policy_decide, pure), answers which login a step_up scope demands
 * (policy_step_up_find), and holds the current policy for every worker
 * thread (struct policy_holder: swapped under its own lock on reload,
 * acquire/release around each use). It does no I/O and knows nothing
 * about HTTP, signals or timers: the wiring reloads, the mount answers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

struct policy; /* immutable once loaded; refcounted */

struct policy_caller {       /* all borrowed */
    const char *sub, *email; /* "" when absent */
    const char *const *groups;
    size_t group_count;
    const char *scope; /* the token's granted scope, space-joined, "" = none */
    const char *acr;   /* "" = unknown */
    int64_t auth_time; /* Unix s, 0 = unknown */
};

/* One call: the unsanitised JSON-RPC method and its params.name
 * (tools/call, prompts/get) or params.uri (resources/read); an empty name
 * for methods that carry none. Borrowed. */
struct policy_call {
    struct slice method;
    struct slice name;
};

enum policy_effect { POLICY_ALLOW, POLICY_DENY, POLICY_EFFECT_COUNT };

enum policy_reason {
    POLICY_REASON_RULE,         /* a rule decided: its effect, every require met */
    POLICY_REASON_DEFAULT,      /* nothing matched: the file's default */
    POLICY_REASON_SCOPE,        /* an allow rule's scopes are not all granted */
    POLICY_REASON_STEP_UP,      /* its step_up scope, acr or max_age does not hold */
    POLICY_REASON_GROUP,        /* the caller is in none of its groups */
    POLICY_REASON_EMAIL_DOMAIN, /* the caller's email is in none of its domains */
    POLICY_REASON_UNREADABLE,   /* the mount could not read the call (never from policy_decide) */
    POLICY_REASON_COUNT,
};

struct policy_decision {
    enum policy_effect effect;
    enum policy_reason reason;
    const char *rule;      /* the deciding rule's name ("" = default or unnamed), borrowed from p */
    bool fixable_by_login; /* SCOPE / STEP_UP: a new authorization can fix it */
    const char *required_scope; /* SCOPE / STEP_UP: the rule's scopes + step_up scope,
                                 * space-joined, borrowed from p; "" otherwise */
};

/* Decides one call (docs/policy.md "How a call is decided"): the FIRST rule
 * whose match fits decides; deny -> denied (RULE); allow -> allowed (RULE)
 * when every require holds, else denied with the first unmet condition in
 * the order groups, email_domains, scopes, step_up; nothing matches ->
 * the default (DEFAULT). Methods compare ASCII case-insensitively, names
 * exactly. p must not be NULL (no policy file: the caller does not ask).
 * now_s: Unix seconds, for max_age. Pure and thread-safe; *out borrows p. */
void policy_decide(const struct policy *p, const struct policy_caller *c,
                   const struct policy_call *call, int64_t now_s, struct policy_decision *out);

struct policy_step_up {
    const char *scope;
    const char *const *acr_values; /* any of; acr_count 0 = no acr requirement */
    size_t acr_count;
    int64_t max_age; /* seconds; -1 = none */
};

/* The requirement a step_up scope names, or NULL. Borrowed from p. */
const struct policy_step_up *policy_step_up_find(const struct policy *p, struct slice scope);
/* Every step_up requirement, in file order (for start-up checks). */
size_t policy_step_up_count(const struct policy *p);
const struct policy_step_up *policy_step_up_at(const struct policy *p, size_t i);
size_t policy_rule_count(const struct policy *p);

/* Reference counting (atomic; any thread). policy_ref returns p;
 * policy_release(NULL) is a no-op; the last release frees. */
const struct policy *policy_ref(const struct policy *p);
void policy_release(const struct policy *p);

/* The current policy, swapped atomically on reload; acquire/release around
 * each use. */
struct policy_holder;
/* initial: taken (NULL = no policy file). Never fails. */
struct policy_holder *policy_holder_new(struct policy *initial);
/* Drops the holder's reference; policies still acquired stay valid until
 * released. NULL is fine. */
void policy_holder_free(struct policy_holder *h);
/* A reference to the current policy (release it with policy_release), or
 * NULL when no policy file is set. h NULL is fine (gives NULL). */
const struct policy *policy_holder_acquire(struct policy_holder *h);
/* Replaces the current policy with p (taken); the old one is released and
 * freed once its last user releases it. */
void policy_holder_swap(struct policy_holder *h, struct policy *p);

const char *policy_effect_str(enum policy_effect e);
const char *policy_reason_str(enum policy_reason r);
