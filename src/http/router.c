#include "http/router.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/url.h"
#include "base/xalloc.h"
#include "bounds.h"

struct http_router {
    struct http_route *routes;
    size_t count;
    size_t cap;
    http_rate_limit_fn rate_limit;
    void *rate_limit_arg;
    http_rate_gate_fn gate;
    void *gate_arg;
    uint32_t gate_buckets;
};

struct http_router *
http_router_new(void)
{
    return xcalloc(1, sizeof(struct http_router));
}

void
http_router_free(struct http_router *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->count; i++) {
        xfree(r->routes[i].path);
    }
    xfree(r->routes);
    xfree(r);
}

/* GET implies HEAD (SPEC preface fix 10). */
static unsigned
effective_methods(unsigned methods)
{
    if ((methods & HTTP_METHODS_GET) != 0) {
        methods |= HTTP_METHODS_BIT(HTTP_METHOD_HEAD);
    }
    return methods;
}

static void
add_route(struct http_router *r, unsigned methods, const char *path, bool prefix,
          http_handler_fn handler, void *arg, const struct http_route_opts *opts)
{
    assert(path != NULL && path[0] == '/' && handler != NULL && methods != 0);
    for (size_t i = 0; i < r->count; i++) {
        const struct http_route *o = &r->routes[i];
        /* One handler per (method, path): a second claim is our mistake. */
        assert(!(o->prefix == prefix && strcmp(o->path, path) == 0 && (o->methods & methods) != 0));
    }
    if (r->count == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->routes = xrealloc(r->routes, r->cap * sizeof(r->routes[0]));
    }
    struct http_route *rt = &r->routes[r->count++];
    *rt = (struct http_route){
        .methods = methods,
        .path = xstrdup(path),
        .path_len = strlen(path),
        .prefix = prefix,
        .handler = handler,
        .arg = arg,
    };
    if (opts != NULL) {
        rt->opts = *opts;
    }
    if (rt->opts.body_max == 0) {
        rt->opts.body_max = BOUNDS_OAUTH_BODY_MAX;
    }
}

void
http_router_add(struct http_router *r, unsigned methods, const char *path, http_handler_fn handler,
                void *arg, const struct http_route_opts *opts)
{
    add_route(r, methods, path, false, handler, arg, opts);
}

void
http_router_add_prefix(struct http_router *r, unsigned methods, const char *prefix,
                       http_handler_fn handler, void *arg, const struct http_route_opts *opts)
{
    add_route(r, methods, prefix, true, handler, arg, opts);
}

void
http_router_add_def(struct http_router *r, const struct http_route_def *def, const char *mount,
                    void *arg)
{
    const char *m = mount != NULL ? mount : "";
    const char *a = def->place == HTTP_ROUTE_BEFORE_MOUNT ? m : def->path;
    const char *b = def->place == HTTP_ROUTE_BEFORE_MOUNT  ? def->path
                    : def->place == HTTP_ROUTE_AFTER_MOUNT ? m
                                                           : "";
    /* The mount is a validated environment value: the cap is what the two
     * texts need, so the join cannot fail. */
    struct buf joined;
    buf_init(&joined, strlen(a) + strlen(b) + 1);
    if (url_join(&joined, a, b) != 0) {
        abort();
    }
    /* An empty prefix is the whole origin ("/" matches everything). */
    const char *path = def->prefix && joined.len == 0 ? "/" : buf_cstr(&joined);
    add_route(r, def->methods, path, def->prefix, def->handler, arg, &def->opts);
    if (def->preflight != NULL) {
        /* The value is our constant; the preflight handler only reads it. */
        struct http_route_opts pre = {.metric_route = def->opts.metric_route};
        add_route(r, HTTP_METHODS_BIT(HTTP_METHOD_OPTIONS), path, def->prefix, def->preflight,
                  (void *)def->preflight_arg, &pre);
    }
    buf_cleanup(&joined);
}

void
http_router_set_rate_limiter(struct http_router *r, http_rate_limit_fn fn, void *arg)
{
    r->rate_limit = fn;
    r->rate_limit_arg = arg;
}

bool
http_router_rate_limit_allows(const struct http_router *r, const struct http_route *rt,
                              struct http_request *req)
{
    if (!rt->opts.rate_limited || r->rate_limit == NULL) {
        return true;
    }
    return r->rate_limit(r->rate_limit_arg, rt->opts.bucket, req);
}

void
http_router_set_rate_gate(struct http_router *r, http_rate_gate_fn fn, void *arg, uint32_t buckets)
{
    r->gate = buckets != 0 ? fn : NULL;
    r->gate_arg = arg;
    r->gate_buckets = fn != NULL ? buckets : 0;
}

bool
http_router_gated(const struct http_router *r, const struct http_route *rt)
{
    return rt->opts.rate_limited && r->gate != NULL && (unsigned)rt->opts.bucket < 32 &&
           (r->gate_buckets & (UINT32_C(1) << rt->opts.bucket)) != 0;
}

void
http_router_gate_start(const struct http_router *r, const struct http_route *rt,
                       struct http_request *req)
{
    r->gate(r->gate_arg, rt->opts.bucket, req);
}

static bool
prefix_matches(const struct http_route *rt, struct slice path)
{
    struct slice pre = slice_make(rt->path, rt->path_len);
    if (!slice_starts_with(path, pre)) {
        return false;
    }
    if (rt->path[rt->path_len - 1] == '/') {
        return true;
    }
    return path.len == pre.len || path.ptr[pre.len] == '/';
}

const struct http_route *
http_router_match(const struct http_router *r, enum http_method method, struct slice path,
                  unsigned *out_allowed)
{
    unsigned bit = HTTP_METHODS_BIT(method);
    unsigned allowed = 0;
    bool exact_found = false;
    for (size_t i = 0; i < r->count; i++) {
        const struct http_route *rt = &r->routes[i];
        if (rt->prefix || !slice_eq(path, slice_make(rt->path, rt->path_len))) {
            continue;
        }
        exact_found = true;
        unsigned m = effective_methods(rt->methods);
        if ((rt->methods & bit) != 0) {
            *out_allowed = m;
            return rt; /* an explicit claim beats GET's implied HEAD */
        }
        allowed |= m;
    }
    if (exact_found) {
        /* HEAD via GET, unless a route of this path claims HEAD itself. */
        if (method == HTTP_METHOD_HEAD && (allowed & HTTP_METHODS_GET) != 0) {
            for (size_t i = 0; i < r->count; i++) {
                const struct http_route *rt = &r->routes[i];
                if (!rt->prefix && (rt->methods & HTTP_METHODS_GET) != 0 &&
                    slice_eq(path, slice_make(rt->path, rt->path_len))) {
                    *out_allowed = allowed;
                    return rt;
                }
            }
        }
        *out_allowed = allowed;
        return NULL;
    }
    const struct http_route *best = NULL;
    for (size_t i = 0; i < r->count; i++) {
        const struct http_route *rt = &r->routes[i];
        if (rt->prefix && prefix_matches(rt, path) &&
            (best == NULL || rt->path_len > best->path_len)) {
            best = rt;
        }
    }
    if (best == NULL) {
        *out_allowed = 0;
        return NULL;
    }
    /* Every route of the winning prefix shares its methods. */
    allowed = 0;
    const struct http_route *hit = NULL;
    const struct http_route *get_route = NULL;
    for (size_t i = 0; i < r->count; i++) {
        const struct http_route *rt = &r->routes[i];
        if (!rt->prefix || strcmp(rt->path, best->path) != 0) {
            continue;
        }
        allowed |= effective_methods(rt->methods);
        if ((rt->methods & bit) != 0) {
            hit = rt;
        }
        if ((rt->methods & HTTP_METHODS_GET) != 0) {
            get_route = rt;
        }
    }
    *out_allowed = allowed;
    if (hit == NULL && method == HTTP_METHOD_HEAD) {
        hit = get_route;
    }
    return hit;
}

int
http_router_format_allow(unsigned methods, struct buf *b)
{
    methods = effective_methods(methods);
    bool first = true;
    for (unsigned m = 0; m < HTTP_METHOD_COUNT; m++) {
        if (m == HTTP_METHOD_OTHER || (methods & HTTP_METHODS_BIT(m)) == 0) {
            continue;
        }
        if ((!first && buf_append_str(b, ", ") != 0) ||
            buf_append_str(b, http_method_str((enum http_method)m)) != 0) {
            return -1;
        }
        first = false;
    }
    return 0;
}
