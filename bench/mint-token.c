/* mint-token: prints one access token for the benchmark (bench/run.sh).
 *
 *   BENCH_SECRET=<TOKEN_SIGNING_SECRET> mint-token <PROXY_BASE_URL> <mount>
 *
 * The token is sealed by the project's own code (grants_seal_access, the
 * function /token uses), with the secret the benchmarked proxy is started
 * with, for audience <PROXY_BASE_URL> and resource <PROXY_BASE_URL><mount>,
 * valid for one hour. So the proxy's bearer check does its full work on
 * every benchmark request (base64url decode, AES-256-GCM open, JSON parse,
 * typ/aud/res/expiry checks) without driving the browser flow thousands of
 * times. The secret comes from the environment, not argv, so it does not
 * show in `ps`.
 *
 * Exit status: 0 and the token on stdout; 1 on a bad secret or a seal
 * failure; 2 on usage. Bench tool only: not part of the product. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/rand.h"
#include "bounds.h"
#include "grants.h"
#include "seal.h"

#define MINT_TTL_S 3600

int
main(int argc, char **argv)
{
    if (argc != 3) {
        fputs("usage: BENCH_SECRET=<secret> mint-token <base URL> <mount>\n", stderr);
        return 2;
    }
    const char *secret = getenv("BENCH_SECRET");
    if (secret == NULL || strlen(secret) < 32) {
        fputs("mint-token: BENCH_SECRET must hold the proxy's TOKEN_SIGNING_SECRET (32+ bytes)\n",
              stderr);
        return 1;
    }
    struct seal_ring *ring = seal_ring_new(secret, strlen(secret), NULL, NULL, 0);
    if (ring == NULL) {
        fputs("mint-token: could not build the key ring\n", stderr);
        return 1;
    }

    struct buf resource;
    buf_init(&resource, 4096);
    char tid[RAND_UUID_LEN + 1];
    rand_uuid(tid);
    const char *groups[] = {"bench"};
    int64_t now = (int64_t)time(NULL);
    struct buf token;
    buf_init(&token, BOUNDS_SEALED_MAX_CHARS + 1);

    int rc = 1;
    if (buf_append_str(&resource, argv[1]) == 0 && buf_append_str(&resource, argv[2]) == 0) {
        struct grant_access g = {
            .token_id = tid,
            .aud = argv[1],
            .resource = buf_cstr(&resource),
            .sub = "bench-user",
            .email = "bench@example.com",
            .groups = groups,
            .group_count = 1,
            .client_id = "bench-client",
            .iat = now,
            .exp = now + MINT_TTL_S,
        };
        enum seal_rc src = grants_seal_access(ring, &g, &token);
        if (src == SEAL_OK) {
            printf("%s\n", buf_cstr(&token));
            rc = 0;
        } else {
            fprintf(stderr, "mint-token: sealing failed: %s\n", seal_rc_str(src));
        }
    }
    buf_cleanup(&token);
    buf_cleanup(&resource);
    seal_ring_free(ring);
    return rc;
}
