/* Fuzz target: a compact JWS through everything oidc_id_token_check does
 * with untrusted bytes -- segment splitting, strict base64url, header and
 * payload JSON, the alg allowlist, key selection, cjose's signature check
 * and the claims rules -- against a fixed provider and JWKS. Tokens that
 * pass are also fed to the claims extraction and the nonce comparison.
 *
 * The JWKS below holds the public halves of the keys that signed the
 * valid-* seeds in corpus/id_token/; the clock is pinned so their exp and
 * iat stay valid forever. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "oidc/claims.h"
#include "oidc/id_token.h"
#include "oidc/jwks.h"
#include "oidc/provider.h"

#define FUZZ_NOW 1780000000
#define FUZZ_ISSUER "https://idp.example.com"
#define FUZZ_CLIENT "mcp-proxy"

static const char jwks_json[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa-1\",\"e\":\"AQAB\",\"n\":\"o4uMadbZcSD55G3"
    "go0zAgjJ2cdbLAjJa4C6sGfAPDdSStJX7oid4l6hqenfiZnRz38g_XvWlW1oDppj8hsI4xeLB_SVFE6j5eW1"
    "nbOsg5vC3ZLzYRtXpxf-1iIL1DreyreXtB1IXPnFdaBGPFf_84So8Er9n6H5r-FZ_LBxeMOB_XOxZirvoNYx"
    "fJ3-rKIisr0ZBgeYfkdf6tkXFuUzi5RRekcEIgbygKY-6P4uZ1ea4j_xPtYcGxHABkcOCGHuYkKv4DYTlUGA"
    "UpZTKRycr3LkKJxxfnHioJHa-Sv0sBYmJ6XIjkm3ROPKRXCZ3KKGo-bdwSDYkkkNjGrHKg3Qy9w\"},{\"kt"
    "y\":\"EC\",\"kid\":\"ec-1\",\"crv\":\"P-256\",\"x\":\"cT1IKFyqbQvb2CyBFeVnlNqc74xY-s"
    "pvmHlVm6c7qck\",\"y\":\"OCE_2Wl4kXZz2FB3zI0zhe845j_hGMXI_xCZ_9VlJXQ\"}]}";

static const char discovery_json[] =
    "{\"issuer\":\"" FUZZ_ISSUER "\",\"authorization_endpoint\":\"" FUZZ_ISSUER "/auth\","
    "\"token_endpoint\":\"" FUZZ_ISSUER "/token\",\"jwks_uri\":\"" FUZZ_ISSUER "/jwks\","
    "\"id_token_signing_alg_values_supported\":[\"RS256\",\"RS384\",\"RS512\",\"PS256\","
    "\"PS384\",\"PS512\",\"ES256\",\"ES384\",\"ES512\",\"HS256\",\"none\"]}";

static struct oidc_provider *provider;
static struct oidc_jwks_set *keys;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct buf err;
    buf_init(&err, 1024);
    if (oidc_provider_parse(FUZZ_ISSUER, slice_from_cstr(discovery_json), &provider, &err) != 0 ||
        oidc_jwks_set_parse(slice_from_cstr(jwks_json), &keys, &err) != 0 ||
        oidc_jwks_set_count(keys) != 2) {
        abort();
    }
    buf_cleanup(&err);
    clock_set_fixed_unix(FUZZ_NOW);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_t *claims = NULL;
    enum oidc_id_token_rc rc = oidc_id_token_check(provider, FUZZ_CLIENT, keys,
                                                   slice_make((const char *)data, size), &claims);
    if (rc != OIDC_ID_TOKEN_OK) {
        if (claims != NULL) {
            abort(); /* claims are handed out only on success */
        }
        return 0;
    }
    /* A verified token is one these keys signed for this issuer and client. */
    struct slice iss;
    const char *iss_text = json_string_value(json_object_get(claims, "iss"));
    iss = slice_from_cstr(iss_text);
    if (!slice_eq_cstr(iss, FUZZ_ISSUER)) {
        abort();
    }
    struct oidc_claims c;
    const char *why = NULL;
    if (oidc_claims_parse(claims, "groups", "email", &c, &why) == OIDC_CLAIMS_OK) {
        (void)oidc_claims_check_groups(&c);
        (void)oidc_claims_in_allowed_groups(&c, NULL, 0);
    }
    oidc_claims_cleanup(&c);
    (void)oidc_id_token_nonce_matches(claims, SLICE_LIT("0123456789abcdef0123456789abcdef"), &why);
    json_decref(claims);
    return 0;
}
