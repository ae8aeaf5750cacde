/* application/x-www-form-urlencoded for the IdP legs: the authorization
 * URL's query (SPEC.md 6.2), the token request body (6.3), the client
 * credentials of HTTP Basic (RFC 6749 2.3.1), and a form-encoded token
 * response (6.3, for IdPs that answer text/plain or form).
 *
 * Encoding follows Go's url.QueryEscape, which the IdPs already see from
 * the Go proxy: unreserved bytes stay, space becomes '+', every other byte
 * is %XX with upper-case hex. Pure: no I/O. */
#pragma once

#include "base/buf.h"
#include "base/slice.h"

struct json_t;

/* Appends the escaped value. -1 at the buffer's cap. */
int oidc_form_escape(struct buf *b, struct slice value) __attribute__((warn_unused_result));
/* Appends "key=value" (both escaped), preceded by '&' unless b is empty.
 * -1 at the buffer's cap. */
int oidc_form_append(struct buf *b, const char *key, struct slice value)
    __attribute__((warn_unused_result));

/* Decodes "a=1&b=two+words" into a new JSON object of strings (caller owns
 * it: json_decref). The first occurrence of a repeated key wins; a pair
 * without '=' has the empty value; empty pairs ("a=1&&b=2") are skipped.
 * Refuses (returns -1, *out untouched) a bad %-escape, a decoded NUL, or
 * text that is not UTF-8 once decoded. */
int oidc_form_to_json(struct slice text, struct json_t **out) __attribute__((warn_unused_result));
