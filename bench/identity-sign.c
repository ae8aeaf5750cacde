/* Instructions added per MCP request by UPSTREAM_IDENTITY_ASSERTION, for
 * bench/identity-sign.sh: signs N assertions with a typical claim set (the
 * e2e tests' alice: two groups, two scopes, a CIMD client_id) and appends
 * the header the forward sends. Run under callgrind with N = 1 and
 * N = 1001, with and without the assertion ("off": the same header block
 * without signing); (on(1001) - on(1)) - (off(1001) - off(1)), over 1000,
 * is what the feature adds per request, one-time parts (key generation,
 * OpenSSL's first algorithm fetch) cancelled out.
 *
 *   identity-sign N [off] */
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "bounds.h"
#include "identity.h"
#include "proxy/headers.h"

int
main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1;
    bool on = !(argc > 2 && strcmp(argv[2], "off") == 0);
    struct identity_keys *keys = identity_keys_generate();
    static const char *const groups[] = {"mcp-users", "dev"};
    const struct identity_claims c = {
        .iss = "https://auth.example.com",
        .aud = "http://mcp.internal:3000",
        .sub = "248289761001",
        .email = "alice@example.com",
        .groups = groups,
        .group_count = 2,
        .scope = "mcp:read mcp:write",
        .client_id = "https://client.example.com/oauth/metadata.json",
    };
    struct proxy_headers_upstream up;
    if (proxy_headers_upstream_init(&up, "https://auth.example.com", NULL) != PROXY_HEADERS_OK) {
        return 1;
    }
    size_t total = 0;
    for (long i = 0; i < n; i++) {
        struct buf jws;
        buf_init(&jws, BOUNDS_IDENTITY_ASSERTION_MAX_BYTES);
        if (on && identity_sign(keys, &c, clock_unix_s(), &jws) != IDENTITY_OK) {
            return 1;
        }
        /* The field itself, as headers.c appends it into the forward's block. */
        struct proxy_headers_identity id = {.sub = c.sub,
                                            .email = c.email,
                                            .groups = groups,
                                            .group_count = 2,
                                            .client_ip = "203.0.113.7",
                                            .assertion = on ? buf_cstr(&jws) : NULL};
        struct buf block;
        buf_init(&block, 65536);
        if (proxy_headers_request_append_injected(&up, &id, false, &block) != PROXY_HEADERS_OK) {
            return 1;
        }
        total += jws.len;
        buf_cleanup(&block);
        buf_cleanup(&jws);
    }
    printf("signed %ld, %zu bytes each\n", n, n > 0 ? total / (size_t)n : 0);
    proxy_headers_upstream_cleanup(&up);
    identity_keys_free(keys);
    return 0;
}
