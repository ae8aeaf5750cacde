/* The added cost per request of the access-policy step, for callgrind
 * (bench/policy-cost.sh). Runs what proxy/policy_gate.c does for one POST
 * -- acquire the policy, read the body (proxy/policy_calls.h), decide
 * (policy_decide), count, release -- N times over a 100-byte tools/call,
 * with no policy file (the holder holds NULL: the mount's only cost is
 * the acquire) or with a policy file. Usage:
 *   policy-cost N [policy.yaml]
 * The script runs it at two N and divides the instruction difference, so
 * start-up and the file load cancel out. */
#include <stdio.h>
#include <stdlib.h>

#include "base/buf.h"
#include "metrics.h"
#include "policy/load.h"
#include "policy/policy.h"
#include "proxy/policy_calls.h"

static const char body[] =
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"search\",\"arguments\":{\"q\":\"x\"}}}";

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: policy-cost N [policy.yaml]\n");
        return 2;
    }
    long n = 0;
    for (const char *c = argv[1]; *c >= '0' && *c <= '9'; c++) {
        n = n * 10 + (*c - '0');
    }
    struct policy *loaded = NULL;
    if (argc > 2) {
        struct buf err;
        buf_init(&err, 1024);
        loaded = policy_load_file(argv[2], &err);
        if (loaded == NULL) {
            fprintf(stderr, "%s: %s\n", argv[2], buf_cstr(&err));
            return 1;
        }
        buf_cleanup(&err);
    }
    struct policy_holder *h = policy_holder_new(loaded);
    static const char *const groups[] = {"mcp-users", "dev"};
    const struct policy_caller caller = {.sub = "alice", .email = "alice@example.com", .groups = groups,
                                         .group_count = 2, .scope = "mcp:read mcp:write", .acr = "", .auth_time = 0};
    long allowed = 0;
    for (long i = 0; i < n; i++) {
        const struct policy *p = policy_holder_acquire(h);
        if (p == NULL) {
            continue; /* no policy file: the mount forwards at once */
        }
        struct proxy_policy_calls calls;
        if (proxy_policy_calls_parse(SLICE_LIT("application/json"), slice_make(body, sizeof(body) - 1), &calls) == NULL) {
            for (size_t j = 0; j < calls.count; j++) {
                struct policy_call call = {calls.items[j].method, calls.items[j].name};
                struct policy_decision d;
                policy_decide(p, &caller, &call, 1800000000, &d);
                metrics_inc_policy_decision(d.effect == POLICY_ALLOW, (enum metrics_policy_reason)d.reason);
                allowed += d.effect == POLICY_ALLOW;
            }
        }
        proxy_policy_calls_cleanup(&calls);
        policy_release(p);
    }
    policy_holder_free(h);
    printf("%ld allowed\n", allowed);
    return 0;
}
