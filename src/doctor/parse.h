/* What a deployment answered, read for the doctor (pure; no I/O): the
 * Bearer challenge in WWW-Authenticate, protected-resource metadata
 * (RFC 9728), authorization-server metadata (RFC 8414), a /register answer
 * (RFC 7591) and comma lists in CORS headers. Every input is untrusted
 * bytes from the network; each parser validates fully, copies what it keeps
 * into bounded fields, and returns NULL or a static reason. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"
#include "bounds.h"

struct doctor_challenge {
    bool bearer;                                   /* a Bearer challenge was found */
    char resource_metadata[BOUNDS_DOCTOR_URL_MAX]; /* "" when absent */
    char scope[BOUNDS_DOCTOR_SCOPE_MAX];           /* "" when absent */
    bool has_scope;
    char error[BOUNDS_DOCTOR_SCOPE_MAX]; /* "" when absent */
};

/* Reads a WWW-Authenticate field value (RFC 9110 11.6.1; RFC 6750 3):
 *   Basic realm="x", Bearer resource_metadata="https://h/.well-known/...", scope="a b"
 * Finds the Bearer challenge among any others and keeps its
 * resource_metadata, scope and error parameters (quoted strings unescaped).
 * NULL on success (out->bearer says whether Bearer was there); otherwise a
 * static reason and *out zeroed. */
const char *doctor_parse_challenge(struct slice value, struct doctor_challenge *out);

struct doctor_prm {
    char resource[BOUNDS_DOCTOR_URL_MAX];
    char authorization_server[BOUNDS_DOCTOR_URL_MAX]; /* the first one listed */
};

/* Reads a protected-resource metadata document and checks `resource`
 * against mount, the URL the clients connect to. The document at the root
 * well-known URL (root true) may instead name a same-origin path prefix of
 * the mount (the MCP SDKs accept that); every other one must equal it
 * byte for byte (RFC 9728 3.3). On a mismatch out->resource still holds
 * what the document said, for the report. */
const char *doctor_parse_prm(struct slice body, const char *mount, bool root,
                             struct doctor_prm *out);

struct doctor_as {
    char issuer[BOUNDS_DOCTOR_URL_MAX];
    char registration_endpoint[BOUNDS_DOCTOR_URL_MAX]; /* "" when absent */
    bool pkce_s256;
    bool auth_none;
    bool iss_parameter;
    bool cimd;
};

/* Reads authorization-server metadata; its issuer must equal `issuer` byte
 * for byte (RFC 8414 3.3). On a mismatch out->issuer holds what was said. */
const char *doctor_parse_as(struct slice body, const char *issuer, struct doctor_as *out);

/* Reads a /register answer: a JSON object with a non-empty client_id and
 * redirect_uris listing `redirect_count` URIs. */
const char *doctor_parse_registration(struct slice body, size_t redirect_count);

/* Whether a comma list (Access-Control-Expose-Headers, -Allow-Headers)
 * names token, ASCII case-insensitively; "*" counts when star_ok. */
bool doctor_parse_list_has(struct slice list, const char *token, bool star_ok);

/* The OAuth error of a refusal ({"error":..,"error_description":..}) as
 * one printable line in out (capacity cap); "" when the body has none. */
void doctor_parse_oauth_error(struct slice body, char *out, size_t cap);
