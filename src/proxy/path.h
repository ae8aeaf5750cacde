/* proxy/path: which request paths the MCP route forwards (SPEC.md preface
 * fix 3) and which upstream redirects it follows (SPEC.md 4.3).
 *
 * The path is forwarded verbatim (SPEC.md 4.2), so anything an upstream or
 * a server behind it could normalise into another resource is refused
 * here, before the forward: dot segments, raw or percent-encoded,
 * encoded slashes or backslashes inside a segment, and encoded control
 * bytes. The upstream then sees
 * exactly the resource the route was asked for.
 *
 * Pure: no I/O (URL work goes through base/url); thread-safe. */
#pragma once

#include <stdbool.h>

#include "base/slice.h"

/* Checks a request path (the request-target up to, not including, the
 * first '?'; anything from a '?' on is ignored, so the whole target may be
 * passed) against the mount (e.g. "/mcp"; "" = the route owns "/").
 * Returns NULL when it may be forwarded, else a static reason fit for an
 * error_description (the caller answers 400):
 *  - not the mount and not under mount + "/" (e.g. "/mcpx", "/mc");
 *  - a "." or ".." segment, also with dots written as %2e / %2E in any mix
 *    ("/mcp/%2e%2E/x", "/mcp/.%2e"), also before a ';' parameter ("..;x",
 *    which Java servlet containers read as "..");
 *  - %2F / %2f or %5C / %5c in a segment, or a raw '\' anywhere (servers
 *    that decode or treat '\' as '/' would see other segments);
 *  - an encoded control byte, %00-%1F or %7F in either case ("/mcp/%00/x",
 *    "/mcp/..%00/x": a decoded NUL ends the path early in C servers). */
const char *proxy_path_check(struct slice path, struct slice mount);

/* Is a 307/308 Location (absolute or relative, resolved against
 * current_url, the URL of the upstream hop that answered) on the same
 * origin, so the forward may follow it? Same origin means: both http or
 * both https (no https->http and no http->https), host equal ASCII
 * case-insensitively, effective port equal (http 80, https 443 by
 * default), and no userinfo in the Location. NULL, empty, opaque or
 * unparsable Locations are not followed.
 *
 * On true, when out_resolved is not NULL, *out_resolved is the resolved
 * absolute URL (dot segments removed; the caller frees it with xfree) from
 * which the next hop's path and query are taken. On false *out_resolved is
 * NULL. */
bool proxy_path_same_origin(const char *location, const char *current_url, char **out_resolved);
