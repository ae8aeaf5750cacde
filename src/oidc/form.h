/* A form-encoded token response (SPEC.md 6.3: IdPs that answer text/plain
 * or application/x-www-form-urlencoded) turned into the JSON object the
 * rest of the exchange reads. Decoding is base/form's body mode, the one
 * form parser of the project; encoding the IdP requests uses
 * form_append_encoded (Go's url.QueryEscape rules). Pure: no I/O. */
#pragma once

#include "base/slice.h"

struct json_t;

/* Decodes "a=1&b=two+words" into a new JSON object of strings (caller owns
 * it: json_decref). The first occurrence of a repeated key wins; a pair
 * without '=' has the empty value; empty pairs ("a=1&&b=2") are skipped.
 * Refuses (returns -1, *out untouched) a bad %-escape, a decoded NUL, or
 * text that is not UTF-8 once decoded. */
int oidc_form_to_json(struct slice text, struct json_t **out) __attribute__((warn_unused_result));
