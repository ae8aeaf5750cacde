/* Fuzz target: the policy file (policy/load.h) and the decisions made with
 * whatever it accepts (policy/policy.h).
 *
 * The file is written by an operator, not a client, but a mistake in it
 * must give an error naming a line, never a crash; and a file that loads
 * must decide every call without reading past its own data. Invariants
 * checked (anything else aborts): a refusal has a message that starts with
 * "line "; an accepted file decides a fixed set of calls with a reason
 * that fits its effect, and SCOPE / STEP_UP (and only they) are fixable
 * and carry a required scope. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "policy/load.h"
#include "policy/policy.h"

#define FUZZ_NOW 1780000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const groups[] = {"admins", "users"};

static void
check_decisions(const struct policy *p)
{
    static const struct {
        const char *method, *name;
    } calls[] = {
        {"tools/call", "delete_repo"},     {"tools/call", ""},
        {"TOOLS/CALL", "read_file"},       {"initialize", ""},
        {"resources/read", "file:///a/b"}, {"prompts/get", "p\xc3\xa9"},
    };
    const struct policy_caller callers[] = {
        {.sub = "a",
         .email = "a@example.com",
         .groups = groups,
         .group_count = 2,
         .scope = "mcp:read mcp:mfa",
         .acr = "mfa",
         .auth_time = FUZZ_NOW - 10},
        {.sub = "",
         .email = "",
         .groups = NULL,
         .group_count = 0,
         .scope = "",
         .acr = "",
         .auth_time = 0},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        for (size_t j = 0; j < sizeof(callers) / sizeof(callers[0]); j++) {
            struct policy_call call = {slice_from_cstr(calls[i].method),
                                       slice_from_cstr(calls[i].name)};
            struct policy_decision d;
            policy_decide(p, &callers[j], &call, FUZZ_NOW, &d);
            bool fixable = d.reason == POLICY_REASON_SCOPE || d.reason == POLICY_REASON_STEP_UP;
            if (d.rule == NULL || d.required_scope == NULL || d.fixable_by_login != fixable ||
                (fixable && (d.effect != POLICY_DENY || d.required_scope[0] == '\0')) ||
                (d.reason == POLICY_REASON_GROUP && d.effect != POLICY_DENY) ||
                d.reason == POLICY_REASON_UNREADABLE ||
                (d.reason == POLICY_REASON_DEFAULT && d.rule[0] != '\0')) {
                abort();
            }
        }
    }
    for (size_t i = 0; i < policy_step_up_count(p); i++) {
        const struct policy_step_up *s = policy_step_up_at(p, i);
        if (policy_step_up_find(p, slice_from_cstr(s->scope)) != s) {
            abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf err;
    buf_init(&err, 1024);
    struct policy *p = policy_load_parse(slice_make((const char *)data, size), &err);
    if (p == NULL) {
        /* Every refusal names a line, except the size cap (checked first). */
        if (err.len == 0 || (strncmp(buf_cstr(&err), "line ", 5) != 0 && size <= 256 * 1024)) {
            abort();
        }
    } else {
        if (err.len != 0) {
            abort();
        }
        struct policy_holder *h = policy_holder_new(p);
        const struct policy *held = policy_holder_acquire(h);
        check_decisions(held);
        policy_release(held);
        policy_holder_free(h);
    }
    buf_cleanup(&err);
    return 0;
}
