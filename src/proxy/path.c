/* Request-path safety and the same-origin redirect rule of the MCP route.
 *
 * Path format (RFC 9112 3.2.1 origin-form, path part only):
 *   /mcp/tools/list;v=1     segments "mcp", "tools", "list;v=1"
 * Segments are the bytes between '/'; the leading "" before the first '/'
 * is not a segment. */
#include "proxy/path.h"

#include <string.h>
#include <strings.h>

#include "base/url.h"
#include "base/xalloc.h"

static const char reason_outside[] = "request path is not under the MCP mount";
static const char reason_dot[] = "request path contains a dot segment";
static const char reason_encoded_sep[] = "request path contains an encoded slash or backslash";
static const char reason_backslash[] = "request path contains a backslash";
static const char reason_encoded_ctl[] = "request path contains an encoded control byte";

/* Is s[i..i+2] '%' hi lo, lo (a letter) in either case? */
static bool
is_pct(struct slice s, size_t i, char hi, char lo_upper)
{
    return i + 2 < s.len && s.ptr[i] == '%' && s.ptr[i + 1] == hi &&
           (s.ptr[i + 2] == lo_upper || s.ptr[i + 2] == (char)(lo_upper - 'A' + 'a'));
}

/* Is seg, up to its first ';', "." or ".." with each dot written as '.'
 * or %2E (either case)? */
static bool
is_dot_segment(struct slice seg)
{
    size_t dots = 0;
    size_t i = 0;
    while (i < seg.len && seg.ptr[i] != ';') {
        if (seg.ptr[i] == '.') {
            i++;
        } else if (is_pct(seg, i, '2', 'E')) {
            i += 3;
        } else {
            return false;
        }
        dots++;
    }
    return dots == 1 || dots == 2;
}

static bool
has_encoded_separator(struct slice seg)
{
    for (size_t i = 0; i < seg.len; i++) {
        if (is_pct(seg, i, '2', 'F') || is_pct(seg, i, '5', 'C')) {
            return true;
        }
    }
    return false;
}

/* %00-%1F or %7F: a decoded NUL cuts the path short in C servers and some
 * frameworks ("/mcp/..%00/x" becomes "/mcp/.."), and a decoded CR or LF
 * can split a log line or a header on the way. No MCP path needs one. */
static bool
has_encoded_control(struct slice seg)
{
    for (size_t i = 0; i + 2 < seg.len; i++) {
        if (seg.ptr[i] != '%') {
            continue;
        }
        char hi = seg.ptr[i + 1];
        char lo = seg.ptr[i + 2];
        bool hex_lo =
            (lo >= '0' && lo <= '9') || (lo >= 'a' && lo <= 'f') || (lo >= 'A' && lo <= 'F');
        if (((hi == '0' || hi == '1') && hex_lo) || (hi == '7' && (lo == 'F' || lo == 'f'))) {
            return true;
        }
    }
    return false;
}

/* The segment rules over a whole path ('/'-separated). */
static const char *
check_segments(struct slice path)
{
    if (path.len == 0) {
        return NULL;
    }
    if (memchr(path.ptr, '\\', path.len) != NULL) {
        return reason_backslash;
    }
    size_t i = 0;
    while (i < path.len) {
        if (path.ptr[i] == '/') {
            i++;
            continue;
        }
        const char *slash = memchr(path.ptr + i, '/', path.len - i);
        size_t end = slash != NULL ? (size_t)(slash - path.ptr) : path.len;
        struct slice seg = slice_make(path.ptr + i, end - i);
        if (is_dot_segment(seg)) {
            return reason_dot;
        }
        if (has_encoded_separator(seg)) {
            return reason_encoded_sep;
        }
        if (has_encoded_control(seg)) {
            return reason_encoded_ctl;
        }
        i = end;
    }
    return NULL;
}

const char *
proxy_path_check(struct slice path, struct slice mount)
{
    long q = slice_find_byte(path, '?');
    if (q >= 0) {
        path.len = (size_t)q;
    }
    /* Exactly the mount, or the mount followed by '/': "/mcpx" is another
     * route. An empty mount owns every absolute path. */
    bool inside = mount.len == 0 ? path.len > 0 && path.ptr[0] == '/'
                                 : slice_starts_with(path, mount) &&
                                       (path.len == mount.len || path.ptr[mount.len] == '/');
    if (!inside) {
        return reason_outside;
    }
    return check_segments(path);
}

static bool
is_http_scheme(const char *scheme)
{
    return strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0;
}

bool
proxy_path_same_origin(const char *location, const char *current_url, char **out_resolved)
{
    if (out_resolved != NULL) {
        *out_resolved = NULL;
    }
    if (location == NULL || location[0] == '\0' || current_url == NULL) {
        return false;
    }
    char *resolved = NULL;
    struct url cur = {0};
    struct url next = {0};
    bool same = false;
    if (url_resolve(current_url, location, &resolved) != URL_OK ||
        url_parse(current_url, &cur) != URL_OK || url_parse(resolved, &next) != URL_OK) {
        goto out;
    }
    /* url_parse lowercases the scheme; hosts compare case-insensitively
     * (RFC 3986 6.2.2.1), ports after defaulting (SPEC.md 4.3). */
    same = is_http_scheme(cur.scheme) && strcmp(cur.scheme, next.scheme) == 0 &&
           strcasecmp(cur.host, next.host) == 0 &&
           url_effective_port(&cur) == url_effective_port(&next) &&
           url_effective_port(&next) != 0 && !next.has_userinfo;
out:
    url_cleanup(&cur);
    url_cleanup(&next);
    if (same && out_resolved != NULL) {
        *out_resolved = resolved;
    } else {
        xfree(resolved);
    }
    return same;
}
