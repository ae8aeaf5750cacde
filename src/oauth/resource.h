/* RFC 8707 resource indicators (pure): does a client-supplied `resource`
 * identify this authorization server (SPEC.md 3.12, used by /authorize step
 * 11 and /token step 5)? Parses through base/url; no I/O, no logging. */
#pragma once

#include <stdbool.h>

/* SPEC.md 3.12 match(resource, candidate). False when resource is empty or
 * NULL, does not parse as an absolute non-opaque URI with a host, has any
 * '#' (RFC 8707 2 forbids a fragment; Go missed a bare trailing '#') or any
 * '?' (even bare). Otherwise true when scheme and host equal
 * case-insensitively, ports equal after defaulting (https 443, http 80), and
 * the escaped paths equal once every trailing '/' is stripped from both
 * (case-sensitive). Userinfo is not compared, as in Go ("https://u@host"
 * matches "https://host"). candidate is our own configured URL. */
bool oauth_resource_matches(const char *resource, const char *candidate);

/* Whether resource matches base or base followed by mount (the two
 * identifiers SPEC.md 3.0.2's discovery documents advertise). mount may be
 * NULL or "". */
bool oauth_resource_accepted(const char *resource, const char *base, const char *mount);
