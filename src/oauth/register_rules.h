/* POST /register body (RFC 7591) parsed and validated into a typed struct
 * (SPEC.md 3.2 steps 1-8), pure: the handler in oauth/register.c seals the
 * result and writes the reply.
 *
 * The first failing rule wins and is reported as a struct oauth_error with
 * SPEC.md's exact status, error and description. Decoding goes through
 * base/jsonx: unknown keys are ignored, a wrong type is a decode error, a
 * duplicate key is refused as invalid JSON (Go kept the last), and keys are
 * matched exactly (Go also matched them case-insensitively). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"
#include "bounds.h"
#include "oauth/error.h"

/* The accepted metadata. Strings are owned (release with
 * oauth_register_rules_cleanup) and are plain C strings: every rule that
 * passed guarantees they hold no NUL. */
struct oauth_registration {
    char *redirect_uris[BOUNDS_REDIRECT_URIS_MAX]; /* verbatim, in order */
    size_t redirect_uri_count;                     /* 1..BOUNDS_REDIRECT_URIS_MAX */
    char *client_name;                             /* "" when absent or null */
    /* Echoed in the response (RFC 7591 3.2.1), not sealed: */
    bool grant_types_set;      /* grant_types given (it then holds authorization_code) */
    bool refresh_token_grant;  /* ... and refresh_token */
    bool response_types_set;   /* response_types given (it then holds "code") */
    char *scope;               /* NULL when absent or null; "" is kept */
    bool auth_method_replaced; /* a client_secret_* method registered as "none" */
    /* SEP-837, as stored: "native" or "web" (static). Declared "native"
     * stays native. Declared "web" or absent: "web" when every redirect is
     * https on a non-loopback host, else "native" -- Cursor has been seen
     * declaring "web" beside cursor:// and http://localhost, and refusing
     * that would fail its whole registration (docs/conformance.md). */
    const char *application_type;
    bool application_type_coerced; /* declared "web", stored "native" */
};

/* Parses body (counted bytes; need not be NUL-terminated). cap is the body
 * limit in bytes (BOUNDS_OAUTH_BODY_MAX): a longer body is 413. Returns 0
 * and fills *out, or -1 and fills *err (borrowed static strings; *out
 * untouched). application_type must be absent, null, "", "native" or "web"
 * (else 400 invalid_client_metadata, after the redirect URI rules).
 * token_endpoint_auth_method must be absent, "", "none",
 * "client_secret_post" or "client_secret_basic" -- the last two are
 * replaced by "none" (RFC 7591 3.2.1 lets the server replace metadata it
 * will not honour: the proxy has only public clients) -- and is not
 * stored: the reply always says "none". grant_types, when given, must
 * list "authorization_code" (other grants are ignored, not echoed);
 * response_types, when given, must list "code"; scope, when given, is
 * RFC 6749 3.3 scope tokens separated by single spaces, or "". */
int oauth_register_rules_parse(struct slice body, size_t cap, struct oauth_registration *out,
                               struct oauth_error *err) __attribute__((warn_unused_result));
/* The single-value rules of /register, shared with client ID metadata
 * documents (oauth/cimd_rules.h) so both sources accept the same clients.
 * Each returns NULL when the value passes, else the static description
 * /register answers with. A redirect URI (counted bytes, NUL refused):
 * the length cap, then oauth_redirect_uri_check. A client_name: the
 * length cap, then no control bytes or commas. */
const char *oauth_register_rules_check_redirect_uri(struct slice uri);
const char *oauth_register_rules_check_client_name(struct slice name);

/* Frees the strings; NULL-safe; leaves *r empty. */
void oauth_register_rules_cleanup(struct oauth_registration *r);
