#include "oauth/resource.h"

#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/slice.h"
#include "base/url.h"
#include "bounds.h"

/* The path without any trailing '/': "/mcp//" and "/mcp" and "" vs "/"
 * compare equal. */
static struct slice
trim_slashes(const char *path)
{
    struct slice s = slice_from_cstr(path);
    while (s.len > 0 && s.ptr[s.len - 1] == '/') {
        s.len--;
    }
    return s;
}

/* Go's Hostname(): the host without IPv6 brackets. */
static struct slice
hostname(const struct url *u)
{
    struct slice h = slice_from_cstr(u->host);
    if (h.len >= 2 && h.ptr[0] == '[' && h.ptr[h.len - 1] == ']') {
        return slice_make(h.ptr + 1, h.len - 2);
    }
    return h;
}

static bool
parts_match(const struct url *r, const struct url *c)
{
    return strcasecmp(r->scheme, c->scheme) == 0 && slice_case_eq(hostname(r), hostname(c)) &&
           url_effective_port(r) == url_effective_port(c) &&
           slice_eq(trim_slashes(r->path), trim_slashes(c->path));
}

bool
oauth_resource_matches(const char *resource, const char *candidate)
{
    if (resource == NULL || resource[0] == '\0' || candidate == NULL) {
        return false;
    }
    struct url r;
    if (url_parse(resource, &r) != URL_OK) {
        return false;
    }
    struct url c;
    if (url_parse(candidate, &c) != URL_OK) {
        url_cleanup(&r);
        return false;
    }
    bool yes = !r.has_fragment && !r.has_query && parts_match(&r, &c);
    url_cleanup(&r);
    url_cleanup(&c);
    return yes;
}

bool
oauth_resource_accepted(const char *resource, const char *base, const char *mount)
{
    if (oauth_resource_matches(resource, base)) {
        return true;
    }
    if (mount == NULL || mount[0] == '\0') {
        return false;
    }
    struct buf with_mount;
    buf_init(&with_mount, BOUNDS_URL_MAX);
    bool yes = buf_append_str(&with_mount, base) == 0 && buf_append_str(&with_mount, mount) == 0 &&
               oauth_resource_matches(resource, buf_cstr(&with_mount));
    buf_cleanup(&with_mount);
    return yes;
}
